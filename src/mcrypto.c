/*
 * mcrypto.c - thin, checked wrappers around libsodium and OpenSSL.
 *
 * libsodium provides X25519, BLAKE2b, ChaCha20, XChaCha20, Poly1305, the
 * CSPRNG and guarded memory. OpenSSL provides one primitive libsodium lacks:
 * the AES-256 block cipher on a single block, used by the wide-block cipher
 * (src/sprp.c). The AES cipher object is fetched once at initialisation.
 */
#include <config.h>

#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <sodium.h>

#include "log.h"
#include "mcrypto.h"

static EVP_CIPHER *aes256ecb, *chacha20;
static EVP_MAC *poly1305;

int
mcrypto_init(void)
{
	if (sodium_init() < 0)
		return -1;
	/*
	 * The system's openssl.cnf is not read: nothing outside this module
	 * may change which implementations run, and reading it costs about
	 * 0.4 ms, which the MTA hook pays once per mail.
	 */
	if (OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG, NULL) != 1)
		return -1;
	if (aes256ecb == NULL)
		aes256ecb = EVP_CIPHER_fetch(NULL, "AES-256-ECB", NULL);
	if (chacha20 == NULL)
		chacha20 = EVP_CIPHER_fetch(NULL, "ChaCha20", NULL);
	if (poly1305 == NULL)
		poly1305 = EVP_MAC_fetch(NULL, "POLY1305", NULL);
	return aes256ecb != NULL && chacha20 != NULL && poly1305 != NULL ? 0 : -1;
}

/*
 * chacha_xor - out = in ^ ChaCha20 key stream, by OpenSSL, which runs about
 * three times faster than libsodium 1.0.18 on AVX2/AVX-512 machines
 * (doc/PERFORMANCE.md). iv is OpenSSL's 16 bytes: block counter (LE32) ||
 * 96-bit nonce. The streams are bit-identical to libsodium's; the
 * known-answer vectors check it.
 */
static void
chacha_xor(uint8_t *out, const uint8_t *in, size_t len, const uint8_t iv[16],
    const uint8_t key[32])
{
	EVP_CIPHER_CTX *ctx;
	int n;

	if (chacha20 == NULL)
		msg_panic("mcrypto stream cipher used before mcrypto_init");
	if ((ctx = EVP_CIPHER_CTX_new()) == NULL)
		msg_fatal("out of memory for a cipher context");
	if (EVP_EncryptInit_ex2(ctx, chacha20, key, iv, NULL) != 1)
		msg_panic("ChaCha20 initialisation failed");
	while (len > 0) {
		int chunk = len > (1u << 30) ? 1 << 30 : (int)len;

		if (EVP_EncryptUpdate(ctx, out, &n, in, chunk) != 1 || n != chunk)
			msg_panic("ChaCha20 failed");
		out += chunk;
		in += chunk;
		len -= (size_t)chunk;
	}
	EVP_CIPHER_CTX_free(ctx);	/* cleanses the key */
}

void
mcrypto_versions(const char **sodium, const char **openssl)
{
	*sodium = sodium_version_string();
	*openssl = OpenSSL_version(OPENSSL_VERSION);
}

void
mcrypto_rng_seed(struct mcrypto_rng *rng, const uint8_t seed[32])
{
	memcpy(rng->seed, seed, sizeof rng->seed);
	rng->pos = 0;
}

void
mcrypto_random(struct mcrypto_rng *rng, void *buf, size_t len)
{
	static const uint8_t nonce[crypto_stream_chacha20_ietf_NONCEBYTES];
	uint8_t block[64];
	uint8_t *out = buf;

	if (rng == NULL) {
		randombytes_buf(buf, len);
		return;
	}
	/* Key stream of the seed, continued from byte rng->pos. */
	while (len > 0) {
		uint64_t blockno = rng->pos / 64;
		size_t off = (size_t)(rng->pos % 64);
		size_t n = 64 - off;

		if (blockno > UINT32_MAX)
			msg_panic("mcrypto_random: deterministic stream exhausted");
		if (n > len)
			n = len;
		memset(block, 0, sizeof block);
		crypto_stream_chacha20_ietf_xor_ic(block, block, sizeof block, nonce,
		    (uint32_t)blockno, rng->seed);
		memcpy(out, block + off, n);
		out += n;
		len -= n;
		rng->pos += n;
	}
	sodium_memzero(block, sizeof block);
}

uint32_t
mcrypto_uniform(uint32_t bound)
{
	return randombytes_uniform(bound);
}

void
mcrypto_sign_keypair(uint8_t pk[32], uint8_t sk[64])
{
	if (crypto_sign_keypair(pk, sk) != 0)
		msg_panic("crypto_sign_keypair failed");
}

void
mcrypto_sign_seed_keypair(uint8_t pk[32], uint8_t sk[64], const uint8_t seed[32])
{
	if (crypto_sign_seed_keypair(pk, sk, seed) != 0)
		msg_panic("crypto_sign_seed_keypair failed");
}

void
mcrypto_sign(uint8_t sig[64], const uint8_t *msg, size_t len, const uint8_t sk[64])
{
	if (crypto_sign_detached(sig, NULL, msg, len, sk) != 0)
		msg_panic("crypto_sign_detached failed");
}

int
mcrypto_sign_verify(const uint8_t sig[64], const uint8_t *msg, size_t len,
    const uint8_t pk[32])
{
	return crypto_sign_verify_detached(sig, msg, len, pk) == 0 ? 0 : -1;
}

int
mcrypto_x25519(uint8_t out[32], const uint8_t sk[32], const uint8_t pk[32])
{
	return crypto_scalarmult(out, sk, pk) == 0 ? 0 : -1;
}

void
mcrypto_x25519_base(uint8_t pk[32], const uint8_t sk[32])
{
	if (crypto_scalarmult_base(pk, sk) != 0)
		msg_panic("crypto_scalarmult_base failed");
}

void
mcrypto_hash(uint8_t *out, size_t out_len, const uint8_t *key, size_t key_len,
    const uint8_t *in, size_t in_len)
{
	if (crypto_generichash(out, out_len, in, in_len, key, key_len) != 0)
		msg_panic("crypto_generichash: bad lengths %zu/%zu", out_len, key_len);
}

void
mcrypto_kdf(uint8_t *out, size_t out_len, uint64_t id,
    const char ctx[MCRYPTO_KDF_CTX_BYTES], const uint8_t key[32])
{
	if (crypto_kdf_derive_from_key(out, out_len, id, ctx, key) != 0)
		msg_panic("crypto_kdf_derive_from_key: bad length %zu", out_len);
}

void
mcrypto_chacha20_xor(uint8_t *out, const uint8_t *in, size_t len, const uint8_t key[32])
{
	static const uint8_t iv[16];	/* counter 0, nonce 0^12 */

	if (len > 64ULL << 32)
		msg_panic("mcrypto_chacha20_xor: stream too long");
	chacha_xor(out, in, len, iv, key);
}

/*
 * XChaCha20 = ChaCha20 (original 64-bit-nonce form) keyed by
 * HChaCha20(key, nonce[0..16)) with nonce[16..24), counter 0. Under 2^32
 * blocks OpenSSL's counter || nonce IV 0^4 || 0^4 || nonce[16..24) gives the
 * same state words.
 */
void
mcrypto_xchacha20_xor(uint8_t *out, const uint8_t *in, size_t len,
    const uint8_t nonce[24], const uint8_t key[32])
{
	uint8_t subkey[32], iv[16];

	if (len > 64ULL << 32)
		msg_panic("mcrypto_xchacha20_xor: stream too long");
	crypto_core_hchacha20(subkey, nonce, key, NULL);
	memset(iv, 0, 8);
	memcpy(iv + 8, nonce + 16, 8);
	chacha_xor(out, in, len, iv, subkey);
	sodium_memzero(subkey, sizeof subkey);
}

/* Poly1305 by OpenSSL: about four times libsodium 1.0.18's speed here */
void
mcrypto_poly1305_hash(uint8_t out[16], const uint8_t key[16],
    const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len)
{
	EVP_MAC_CTX *ctx;
	uint8_t k[32];
	size_t n = 0;

	if (poly1305 == NULL)
		msg_panic("mcrypto_poly1305_hash before mcrypto_init");
	memcpy(k, key, 16);
	memset(k + 16, 0, 16);		/* s = 0: the bare polynomial hash */
	if ((ctx = EVP_MAC_CTX_new(poly1305)) == NULL)
		msg_fatal("out of memory for a MAC context");
	if (EVP_MAC_init(ctx, k, sizeof k, NULL) != 1 ||
	    EVP_MAC_update(ctx, a, a_len) != 1 ||
	    EVP_MAC_update(ctx, b, b_len) != 1 ||
	    EVP_MAC_final(ctx, out, &n, 16) != 1 || n != 16)
		msg_panic("Poly1305 failed");
	EVP_MAC_CTX_free(ctx);		/* cleanses the key */
	sodium_memzero(k, sizeof k);
}

int
mcrypto_aes256_block(uint8_t out[16], const uint8_t in[16], const uint8_t key[32],
    int encrypt)
{
	EVP_CIPHER_CTX *ctx;
	int n = 0, ok;

	if (aes256ecb == NULL)
		msg_panic("mcrypto_aes256_block before mcrypto_init");
	if ((ctx = EVP_CIPHER_CTX_new()) == NULL)
		return -1;
	ok = EVP_CipherInit_ex2(ctx, aes256ecb, key, NULL, encrypt ? 1 : 0, NULL) == 1
	    && EVP_CIPHER_CTX_set_padding(ctx, 0) == 1
	    && EVP_CipherUpdate(ctx, out, &n, in, 16) == 1
	    && n == 16;
	EVP_CIPHER_CTX_free(ctx);	/* cleanses the key schedule */
	return ok ? 0 : -1;
}

int
mcrypto_equal(const uint8_t *a, const uint8_t *b, size_t len)
{
	return sodium_memcmp(a, b, len) == 0;
}

int
mcrypto_is_zero(const uint8_t *p, size_t len)
{
	return sodium_is_zero(p, len);
}

void
mcrypto_wipe(void *p, size_t len)
{
	sodium_memzero(p, len);
}

void *
mcrypto_secret_alloc(size_t len)
{
	void *p = sodium_malloc(len);

	if (p == NULL)
		msg_fatal("cannot allocate %zu bytes of protected memory", len);
	return p;
}

void
mcrypto_secret_free(void *p)
{
	sodium_free(p);		/* wipes before releasing */
}

void
mcrypto_hex(char *out, const uint8_t *in, size_t len)
{
	sodium_bin2hex(out, 2 * len + 1, in, len);
}

int
mcrypto_unhex(uint8_t *out, size_t out_len, const char *hex, size_t hex_len)
{
	size_t got = 0;
	const char *end = NULL;

	if (hex_len != 2 * out_len)
		return -1;
	if (sodium_hex2bin(out, out_len, hex, hex_len, NULL, &got, &end) != 0)
		return -1;
	return got == out_len && end == hex + hex_len ? 0 : -1;
}

size_t
mcrypto_base64_len(size_t bin_len)
{
	return sodium_base64_ENCODED_LEN(bin_len, sodium_base64_VARIANT_ORIGINAL);
}

void
mcrypto_base64(char *out, size_t out_size, const uint8_t *in, size_t len)
{
	if (out_size < mcrypto_base64_len(len))
		msg_panic("mcrypto_base64: output buffer too small");
	sodium_bin2base64(out, out_size, in, len, sodium_base64_VARIANT_ORIGINAL);
}

int
mcrypto_unbase64(uint8_t *out, size_t out_size, size_t *out_len,
    const char *in, size_t in_len)
{
	const char *end = NULL;

	*out_len = 0;
	if (sodium_base642bin(out, out_size, in, in_len, " \t\r\n", out_len, &end,
	    sodium_base64_VARIANT_ORIGINAL) != 0)
		return -1;
	return end == in + in_len ? 0 : -1;
}
