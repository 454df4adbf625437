/*
 * mcrypto_ossl.c - OpenSSL's libcrypto, loaded with dlopen when first
 * needed (src/mcrypto.c says when and why).
 *
 * The function pointers take their types from OpenSSL's own headers
 * (__typeof__), so a mismatch is a compile error, not a crash. The library
 * is opened with RTLD_NOW and never closed; the system's openssl.cnf is not
 * read (nothing outside this module may change which implementations run).
 * A missing library or symbol is reported once, and mcrypto_init fails:
 * every program then stops before touching a packet.
 */
#include <config.h>

#include <dlfcn.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "log.h"
#include "mcrypto_impl.h"

#ifndef MCRYPTO_LIBCRYPTO
#define MCRYPTO_LIBCRYPTO	"libcrypto.so.3"	/* the OpenSSL 3 ABI */
#endif

#define FN(name) static __typeof__(name) *p_##name
FN(OPENSSL_init_crypto);
FN(OpenSSL_version);
FN(EVP_CIPHER_fetch);
FN(EVP_MAC_fetch);
FN(EVP_CIPHER_CTX_new);
FN(EVP_CIPHER_CTX_free);
FN(EVP_CIPHER_CTX_set_padding);
FN(EVP_CipherInit_ex2);
FN(EVP_CipherUpdate);
FN(EVP_MAC_CTX_new);
FN(EVP_MAC_CTX_free);
FN(EVP_MAC_init);
FN(EVP_MAC_update);
FN(EVP_MAC_final);
#undef FN

static int state;		/* 0 not tried, 1 loaded, -1 failed */
static EVP_CIPHER *aes256ecb, *chacha20;
static EVP_MAC *poly1305;

/* sym - one symbol; NULL if missing (dlsym's result is converted safely) */
static void *
sym(void *lib, const char *name)
{
	void *p = dlsym(lib, name);

	if (p == NULL)
		msg_warn("%s: symbol %s missing", MCRYPTO_LIBCRYPTO, name);
	return p;
}

#define LOAD(name) \
	((*(void **)(void *)&p_##name = sym(lib, #name)) != NULL)

int
mcrypto_ossl_load(void)
{
	void *lib;

	if (state != 0)
		return state == 1 ? 0 : -1;
	state = -1;
	if ((lib = dlopen(MCRYPTO_LIBCRYPTO, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		msg_warn("cannot load OpenSSL: %s", dlerror());
		return -1;
	}
	if (!(LOAD(OPENSSL_init_crypto) && LOAD(OpenSSL_version) &&
	    LOAD(EVP_CIPHER_fetch) && LOAD(EVP_MAC_fetch) &&
	    LOAD(EVP_CIPHER_CTX_new) && LOAD(EVP_CIPHER_CTX_free) &&
	    LOAD(EVP_CIPHER_CTX_set_padding) && LOAD(EVP_CipherInit_ex2) &&
	    LOAD(EVP_CipherUpdate) && LOAD(EVP_MAC_CTX_new) &&
	    LOAD(EVP_MAC_CTX_free) && LOAD(EVP_MAC_init) &&
	    LOAD(EVP_MAC_update) && LOAD(EVP_MAC_final)))
		return -1;
	if (p_OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG, NULL) != 1) {
		msg_warn("OpenSSL initialisation failed");
		return -1;
	}
	aes256ecb = p_EVP_CIPHER_fetch(NULL, "AES-256-ECB", NULL);
	chacha20 = p_EVP_CIPHER_fetch(NULL, "ChaCha20", NULL);
	poly1305 = p_EVP_MAC_fetch(NULL, "POLY1305", NULL);
	if (aes256ecb == NULL || chacha20 == NULL || poly1305 == NULL) {
		msg_warn("OpenSSL lacks AES-256-ECB, ChaCha20 or POLY1305");
		return -1;
	}
	state = 1;
	return 0;
}

const char *
mcrypto_ossl_version(void)
{
	return state == 1 ? p_OpenSSL_version(OPENSSL_VERSION) : "not loaded";
}

void
mcrypto_ossl_chacha20(uint8_t *out, const uint8_t *in, size_t len,
    const uint8_t iv[16], const uint8_t key[32])
{
	EVP_CIPHER_CTX *ctx;
	int n;

	if (state != 1)
		msg_panic("OpenSSL ChaCha20 used before it was loaded");
	if ((ctx = p_EVP_CIPHER_CTX_new()) == NULL)
		msg_fatal("out of memory for a cipher context");
	if (p_EVP_CipherInit_ex2(ctx, chacha20, key, iv, 1, NULL) != 1)
		msg_panic("ChaCha20 initialisation failed");
	while (len > 0) {
		int chunk = len > (1u << 30) ? 1 << 30 : (int)len;

		if (p_EVP_CipherUpdate(ctx, out, &n, in, chunk) != 1 || n != chunk)
			msg_panic("ChaCha20 failed");
		out += chunk;
		in += chunk;
		len -= (size_t)chunk;
	}
	p_EVP_CIPHER_CTX_free(ctx);	/* cleanses the key */
}

void
mcrypto_ossl_poly1305(uint8_t out[16], const uint8_t key[32],
    const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len)
{
	EVP_MAC_CTX *ctx;
	size_t n = 0;

	if (state != 1)
		msg_panic("OpenSSL Poly1305 used before it was loaded");
	if ((ctx = p_EVP_MAC_CTX_new(poly1305)) == NULL)
		msg_fatal("out of memory for a MAC context");
	if (p_EVP_MAC_init(ctx, key, 32, NULL) != 1 ||
	    p_EVP_MAC_update(ctx, a, a_len) != 1 ||
	    p_EVP_MAC_update(ctx, b, b_len) != 1 ||
	    p_EVP_MAC_final(ctx, out, &n, 16) != 1 || n != 16)
		msg_panic("Poly1305 failed");
	p_EVP_MAC_CTX_free(ctx);	/* cleanses the key */
}

int
mcrypto_ossl_aes256_block(uint8_t out[16], const uint8_t in[16],
    const uint8_t key[32], int encrypt)
{
	EVP_CIPHER_CTX *ctx;
	int n = 0, ok;

	if (state != 1)
		msg_panic("OpenSSL AES used before it was loaded");
	if ((ctx = p_EVP_CIPHER_CTX_new()) == NULL)
		return -1;
	ok = p_EVP_CipherInit_ex2(ctx, aes256ecb, key, NULL, encrypt ? 1 : 0, NULL) == 1
	    && p_EVP_CIPHER_CTX_set_padding(ctx, 0) == 1
	    && p_EVP_CipherUpdate(ctx, out, &n, in, 16) == 1
	    && n == 16;
	p_EVP_CIPHER_CTX_free(ctx);	/* cleanses the key schedule */
	return ok ? 0 : -1;
}
