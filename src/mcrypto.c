/*
 * mcrypto.c - thin, checked wrappers around libsodium (and, for speed or
 * where libsodium lacks a primitive, OpenSSL's libcrypto).
 *
 * libsodium provides X25519, Ed25519, BLAKE2b, ChaCha20, XChaCha20,
 * Poly1305, the CSPRNG and guarded memory. One primitive libsodium lacks is
 * the AES-256 block cipher on a single block, used by the wide-block cipher
 * (src/sprp.c): it comes from the CPU's AES instructions when it has them
 * (src/mcrypto_aesni.c), else from OpenSSL.
 *
 * OpenSSL is not linked: it is loaded with dlopen (src/mcrypto_ossl.c) when
 * first needed. Loading and initialising it costs about 1.6 ms, more than
 * the rest of one `mixnode receive` run, which starts once per mail
 * (doc/PERFORMANCE.md, section 3). So:
 *   mcrypto_init()          also loads OpenSSL and takes ChaCha20 and
 *                           Poly1305 from it, 3-4 times faster than
 *                           libsodium 1.0.18 here: for programs that
 *                           process many packets;
 *   mcrypto_init_flags(0)   libsodium only (OpenSSL is loaded only if the
 *                           CPU lacks AES instructions): for short runs.
 * Every combination gives bit-identical results; tests/check_kat.c runs the
 * known-answer vectors in each.
 */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "log.h"
#include "mcrypto.h"
#include "mcrypto_impl.h"

static int ossl_stream;		/* ChaCha20 and Poly1305 from OpenSSL */
static int aes_ossl;		/* AES from OpenSSL (no AES-NI, or forced) */

int
mcrypto_init_flags(unsigned flags)
{
	if (sodium_init() < 0)
		return -1;
	ossl_stream = (flags & MCRYPTO_OPENSSL_STREAM) != 0;
	aes_ossl = (flags & MCRYPTO_NO_AESNI) != 0 || !mcrypto_aesni_available();
	if ((ossl_stream || aes_ossl) && mcrypto_ossl_load() != 0)
		return -1;
	return 0;
}

int
mcrypto_init(void)
{
	return mcrypto_init_flags(MCRYPTO_OPENSSL_STREAM);
}

const char *
mcrypto_implementation(void)
{
	if (ossl_stream)
		return aes_ossl ? "openssl" : "openssl+aesni";
	return aes_ossl ? "sodium+openssl-aes" : "sodium+aesni";
}

void
mcrypto_versions(const char **sodium, const char **openssl)
{
	*sodium = sodium_version_string();
	*openssl = mcrypto_ossl_version();
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
	if (ossl_stream)
		mcrypto_ossl_chacha20(out, in, len, iv, key);
	else if (crypto_stream_chacha20_ietf_xor_ic(out, in, len, iv + 4, 0, key) != 0)
		msg_panic("ChaCha20 failed");
}

/*
 * XChaCha20 = ChaCha20 (original 64-bit-nonce form) keyed by
 * HChaCha20(key, nonce[0..16)) with nonce[16..24), counter 0: libsodium's
 * crypto_stream_xchacha20. Under 2^32 blocks OpenSSL's counter || nonce IV
 * 0^4 || 0^4 || nonce[16..24) gives the same state words.
 */
void
mcrypto_xchacha20_xor(uint8_t *out, const uint8_t *in, size_t len,
    const uint8_t nonce[24], const uint8_t key[32])
{
	uint8_t subkey[32], iv[16];

	if (len > 64ULL << 32)
		msg_panic("mcrypto_xchacha20_xor: stream too long");
	if (!ossl_stream) {
		if (crypto_stream_xchacha20_xor(out, in, len, nonce, key) != 0)
			msg_panic("XChaCha20 failed");
		return;
	}
	crypto_core_hchacha20(subkey, nonce, key, NULL);
	memset(iv, 0, 8);
	memcpy(iv + 8, nonce + 16, 8);
	mcrypto_ossl_chacha20(out, in, len, iv, subkey);
	sodium_memzero(subkey, sizeof subkey);
}

/* Poly1305 with s = 0: the bare polynomial hash of a || b */
void
mcrypto_poly1305_hash(uint8_t out[16], const uint8_t key[16],
    const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len)
{
	crypto_onetimeauth_poly1305_state st;
	uint8_t k[32];

	memcpy(k, key, 16);
	memset(k + 16, 0, 16);
	if (ossl_stream)
		mcrypto_ossl_poly1305(out, k, a, a_len, b, b_len);
	else {
		if (crypto_onetimeauth_poly1305_init(&st, k) != 0 ||
		    crypto_onetimeauth_poly1305_update(&st, a, a_len) != 0 ||
		    crypto_onetimeauth_poly1305_update(&st, b, b_len) != 0 ||
		    crypto_onetimeauth_poly1305_final(&st, out) != 0)
			msg_panic("Poly1305 failed");
		sodium_memzero(&st, sizeof st);
	}
	sodium_memzero(k, sizeof k);
}

int
mcrypto_aes256_block(uint8_t out[16], const uint8_t in[16], const uint8_t key[32],
    int encrypt)
{
	if (aes_ossl)
		return mcrypto_ossl_aes256_block(out, in, key, encrypt);
	mcrypto_aesni_block(out, in, key, encrypt);
	return 0;
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
