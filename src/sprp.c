/*
 * sprp.c - HBSH wide-block cipher (HPolyC shape, XChaCha20, no tweak).
 *
 * The buffer is split into L = buf[0, n-16) and R = buf[n-16, n).
 *
 *   encrypt:  M  = R + H(L)            (addition modulo 2^128, little-endian)
 *             C_M = AES-256-Enc(M)
 *             L' = L ^ XChaCha20(nonce = C_M || 01 || 00*7)
 *             R' = C_M - H(L')
 *   decrypt:  the same steps in reverse.
 *
 *   H(X) = Poly1305 with r = hash key, s = 0, over LE64(8 * |X|) || 0^8 || X.
 *
 * Functions: sprp_encrypt(), sprp_decrypt().
 */
#include <config.h>

#include <string.h>

#include "mcrypto.h"
#include "sprp.h"

/* add16, sub16 - little-endian 128-bit addition and subtraction in place */
static void
add16(uint8_t a[16], const uint8_t b[16])
{
	unsigned carry = 0;
	int i;

	for (i = 0; i < 16; i++) {
		unsigned s = (unsigned)a[i] + b[i] + carry;

		a[i] = (uint8_t)s;
		carry = s >> 8;
	}
}

static void
sub16(uint8_t a[16], const uint8_t b[16])
{
	unsigned borrow = 0;
	int i;

	for (i = 0; i < 16; i++) {
		unsigned d = (unsigned)a[i] - b[i] - borrow;

		a[i] = (uint8_t)d;
		borrow = (d >> 8) & 1;
	}
}

/* hash - H(X) of the construction's left part */
static void
hash(uint8_t out[16], const uint8_t key[16], const uint8_t *x, size_t len)
{
	uint8_t lenblock[16];
	uint64_t bits = (uint64_t)len * 8;
	int i;

	memset(lenblock, 0, sizeof lenblock);
	for (i = 0; i < 8; i++)
		lenblock[i] = (uint8_t)(bits >> (8 * i));
	mcrypto_poly1305_hash(out, key, lenblock, sizeof lenblock, x, len);
}

static void
stream(uint8_t *x, size_t len, const uint8_t cm[16], const uint8_t key[32])
{
	uint8_t nonce[MCRYPTO_XNONCE_BYTES];

	memcpy(nonce, cm, 16);
	nonce[16] = 1;
	memset(nonce + 17, 0, sizeof nonce - 17);
	mcrypto_xchacha20_xor(x, x, len, nonce, key);
}

int
sprp_encrypt(uint8_t *buf, size_t len, const struct sprp_key *key)
{
	uint8_t h[16], m[16];
	uint8_t *left = buf, *right;
	size_t llen;

	if (len < SPRP_MIN_LEN)
		return -1;
	llen = len - 16;
	right = buf + llen;

	hash(h, key->hash, left, llen);
	memcpy(m, right, 16);
	add16(m, h);
	if (mcrypto_aes256_block(m, m, key->block, 1) != 0)
		return -1;
	stream(left, llen, m, key->stream);
	hash(h, key->hash, left, llen);
	sub16(m, h);
	memcpy(right, m, 16);
	mcrypto_wipe(m, sizeof m);
	mcrypto_wipe(h, sizeof h);
	return 0;
}

int
sprp_decrypt(uint8_t *buf, size_t len, const struct sprp_key *key)
{
	uint8_t h[16], m[16];
	uint8_t *left = buf, *right;
	size_t llen;

	if (len < SPRP_MIN_LEN)
		return -1;
	llen = len - 16;
	right = buf + llen;

	hash(h, key->hash, left, llen);
	memcpy(m, right, 16);
	add16(m, h);
	stream(left, llen, m, key->stream);
	if (mcrypto_aes256_block(m, m, key->block, 0) != 0)
		return -1;
	hash(h, key->hash, left, llen);
	sub16(m, h);
	memcpy(right, m, 16);
	mcrypto_wipe(m, sizeof m);
	mcrypto_wipe(h, sizeof h);
	return 0;
}
