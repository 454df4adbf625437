/*
 * mcrypto.h - the one module that calls libsodium and OpenSSL's libcrypto.
 *
 * Shaped like libsodium: caller-owned output buffers, explicit lengths,
 * size constants here, results that must be checked. Everything above this
 * module (the packet format, the wide-block cipher, later the keys and the
 * pool) is written against these functions only.
 *
 * Randomness comes from the operating system's CSPRNG. For known-answer
 * vectors and reproducible tests a caller may pass a seeded generator
 * (struct mcrypto_rng); production code passes NULL.
 */
#ifndef MIX_MCRYPTO_H
#define MIX_MCRYPTO_H

#include <stddef.h>
#include <stdint.h>

#define MIX_WUR __attribute__((warn_unused_result))

#define MCRYPTO_X25519_BYTES	32	/* X25519 keys and shared secrets */
#define MCRYPTO_HASH_BYTES	32	/* BLAKE2b-256 output, MAC output */
#define MCRYPTO_KEY_BYTES	32	/* symmetric keys */
#define MCRYPTO_POLY_KEY_BYTES	16	/* Poly1305 r half (s is zero) */
#define MCRYPTO_POLY_BYTES	16	/* Poly1305 output */
#define MCRYPTO_XNONCE_BYTES	24	/* XChaCha20 nonce */
#define MCRYPTO_BLOCK_BYTES	16	/* AES block */
#define MCRYPTO_KDF_CTX_BYTES	8	/* crypto_kdf context */

/*
 * Deterministic generator for tests and vectors: the ChaCha20 (IETF) key
 * stream of a 32-byte seed with an all-zero nonce, consumed in order.
 */
struct mcrypto_rng {
	uint8_t seed[32];
	uint64_t pos;
};

/*
 * mcrypto_init - initialise, with ChaCha20 and Poly1305 from OpenSSL (the
 * fastest here, for programs that process many packets); 0 on success, -1
 * on failure. mcrypto_init_flags(0): libsodium only, for short-lived
 * processes (the MTA hook); OpenSSL is loaded only when the CPU lacks AES
 * instructions. May be called again to change the flags (tests).
 */
#define MCRYPTO_OPENSSL_STREAM	0x1	/* ChaCha20, Poly1305 from OpenSSL */
#define MCRYPTO_NO_AESNI	0x2	/* AES from OpenSSL even with AES-NI (tests) */
int mcrypto_init(void) MIX_WUR;
int mcrypto_init_flags(unsigned flags) MIX_WUR;
/* mcrypto_implementation - which code runs, e.g. "sodium+aesni" */
const char *mcrypto_implementation(void);
/* mcrypto_versions - run-time version strings of libsodium and libcrypto */
void mcrypto_versions(const char **sodium, const char **openssl);

void mcrypto_rng_seed(struct mcrypto_rng *rng, const uint8_t seed[32]);
/* mcrypto_random - fill buf from rng, or from the OS CSPRNG if rng is NULL */
void mcrypto_random(struct mcrypto_rng *rng, void *buf, size_t len);
/* mcrypto_uniform - uniform integer in [0, bound) from the OS CSPRNG */
uint32_t mcrypto_uniform(uint32_t bound);

/* X25519: shared secret; -1 if the result is all zero (low-order point) */
int mcrypto_x25519(uint8_t out[32], const uint8_t sk[32], const uint8_t pk[32]) MIX_WUR;
void mcrypto_x25519_base(uint8_t pk[32], const uint8_t sk[32]);

/*
 * Ed25519 (node identity keys and descriptor signatures). sk is the 64-byte
 * libsodium form (seed || pk); keep it in mcrypto_secret_alloc memory.
 */
#define MCRYPTO_SIGN_PK_BYTES	32
#define MCRYPTO_SIGN_SK_BYTES	64
#define MCRYPTO_SIGN_SEED_BYTES	32
#define MCRYPTO_SIGN_BYTES	64
void mcrypto_sign_keypair(uint8_t pk[32], uint8_t sk[64]);
void mcrypto_sign_seed_keypair(uint8_t pk[32], uint8_t sk[64], const uint8_t seed[32]);
void mcrypto_sign(uint8_t sig[64], const uint8_t *msg, size_t len, const uint8_t sk[64]);
/* mcrypto_sign_verify - 0 if sig is pk's signature of msg, -1 otherwise */
int mcrypto_sign_verify(const uint8_t sig[64], const uint8_t *msg, size_t len,
    const uint8_t pk[32]) MIX_WUR;

/* BLAKE2b: out_len 16..64, key NULL or 16..64 bytes */
void mcrypto_hash(uint8_t *out, size_t out_len, const uint8_t *key, size_t key_len,
    const uint8_t *in, size_t in_len);
/* crypto_kdf (BLAKE2b with salt = LE64(id) || 0^8, personal = ctx || 0^8) */
void mcrypto_kdf(uint8_t *out, size_t out_len, uint64_t id,
    const char ctx[MCRYPTO_KDF_CTX_BYTES], const uint8_t key[32]);

/* ChaCha20 (RFC 8439 variant), all-zero nonce, counter 0: out = in ^ stream */
void mcrypto_chacha20_xor(uint8_t *out, const uint8_t *in, size_t len, const uint8_t key[32]);
/* XChaCha20, counter 0: out = in ^ stream (in place allowed) */
void mcrypto_xchacha20_xor(uint8_t *out, const uint8_t *in, size_t len,
    const uint8_t nonce[24], const uint8_t key[32]);
/* Poly1305 as a hash: r = key (clamped), s = 0, over a || b */
void mcrypto_poly1305_hash(uint8_t out[16], const uint8_t key[16],
    const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len);
/* AES-256 on one block; encrypt != 0 encrypts. 0 on success, -1 on failure */
int mcrypto_aes256_block(uint8_t out[16], const uint8_t in[16], const uint8_t key[32],
    int encrypt) MIX_WUR;

/* Constant-time helpers */
int mcrypto_equal(const uint8_t *a, const uint8_t *b, size_t len);	/* 1 if equal */
int mcrypto_is_zero(const uint8_t *p, size_t len);			/* 1 if all zero */
void mcrypto_wipe(void *p, size_t len);

/* Guarded, locked memory for secret keys; wiped and released by _free */
void *mcrypto_secret_alloc(size_t len);
void mcrypto_secret_free(void *p);

/* Lower-case hex; out must hold 2 * len + 1 bytes */
void mcrypto_hex(char *out, const uint8_t *in, size_t len);
/* Parse exactly out_len bytes of hex; 0 on success, -1 otherwise */
int mcrypto_unhex(uint8_t *out, size_t out_len, const char *hex, size_t hex_len) MIX_WUR;

/* Base64 (RFC 4648, with padding), used by the mail armor */
size_t mcrypto_base64_len(size_t bin_len);	/* encoded length including NUL */
void mcrypto_base64(char *out, size_t out_size, const uint8_t *in, size_t len);
/* Decode; whitespace in in is ignored. 0 and *out_len set, or -1 */
int mcrypto_unbase64(uint8_t *out, size_t out_size, size_t *out_len,
    const char *in, size_t in_len) MIX_WUR;

#endif
