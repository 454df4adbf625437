/*
 * mcrypto_impl.h - the implementations behind src/mcrypto.c; nothing else
 * includes this.
 *
 * mcrypto_aesni.c: AES-256 on one block with the x86-64 AES instructions.
 * mcrypto_ossl.c: OpenSSL's libcrypto, loaded with dlopen at first use.
 */
#ifndef MIX_MCRYPTO_IMPL_H
#define MIX_MCRYPTO_IMPL_H

#include <stddef.h>
#include <stdint.h>

/* 1 if this CPU has AES-NI (and this build can use it), else 0 */
int mcrypto_aesni_available(void);
/* one block; only when mcrypto_aesni_available() */
void mcrypto_aesni_block(uint8_t out[16], const uint8_t in[16], const uint8_t key[32],
    int encrypt);

/* load libcrypto and fetch the algorithms; 0, or -1 with a warning logged */
int mcrypto_ossl_load(void);
/* "OpenSSL 3.0.x ..." once loaded, else "not loaded" */
const char *mcrypto_ossl_version(void);
/* iv: OpenSSL's 16 bytes, block counter (LE32) || 96-bit nonce */
void mcrypto_ossl_chacha20(uint8_t *out, const uint8_t *in, size_t len,
    const uint8_t iv[16], const uint8_t key[32]);
/* Poly1305 with the 32-byte key r || s of a || b */
void mcrypto_ossl_poly1305(uint8_t out[16], const uint8_t key[32],
    const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len);
int mcrypto_ossl_aes256_block(uint8_t out[16], const uint8_t in[16],
    const uint8_t key[32], int encrypt);

#endif
