/*
 * check_sprp.c - the wide-block cipher: round trips at many lengths, every
 * single-bit change garbles the whole output, wrong keys, bad lengths.
 */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "mcrypto.h"
#include "pkt.h"
#include "sprp.h"
#include "testutil.h"

static void
setup(void)
{
	tu_init();
}

static void
random_key(struct sprp_key *k)
{
	mcrypto_random(NULL, k, sizeof *k);
}

START_TEST(test_roundtrip_lengths)
{
	static const size_t lens[] = { 32, 33, 47, 48, 63, 64, 65, 1000, 4096,
		PKT_PAYLOAD_SIZE };
	struct sprp_key k;
	size_t len = lens[_i];
	uint8_t *p = malloc(len), *c = malloc(len);

	random_key(&k);
	mcrypto_random(NULL, p, len);
	memcpy(c, p, len);
	ck_assert_int_eq(sprp_encrypt(c, len, &k), 0);
	ck_assert(memcmp(c, p, len) != 0);
	ck_assert_int_eq(sprp_decrypt(c, len, &k), 0);
	ck_assert_mem_eq(c, p, len);
	/* decrypt is a permutation too: encrypt undoes it */
	ck_assert_int_eq(sprp_decrypt(c, len, &k), 0);
	ck_assert_int_eq(sprp_encrypt(c, len, &k), 0);
	ck_assert_mem_eq(c, p, len);
	free(p);
	free(c);
}
END_TEST

/* count_diff - number of differing bytes */
static size_t
count_diff(const uint8_t *a, const uint8_t *b, size_t len)
{
	size_t i, n = 0;

	for (i = 0; i < len; i++)
		n += a[i] != b[i];
	return n;
}

/*
 * Flip one bit anywhere in the ciphertext: the decryption differs from the
 * original plaintext in almost every byte (about 255/256 of them), in the
 * left part and in the 16-byte block alike. A stream cipher would differ in
 * one byte only.
 */
START_TEST(test_bit_flip_garbles_all)
{
	enum { LEN = PKT_PAYLOAD_SIZE };
	struct sprp_key k;
	uint8_t *p = malloc(LEN), *c = malloc(LEN), *d = malloc(LEN);
	size_t positions[] = { 0, 1, 100, LEN / 2, LEN - 17, LEN - 16, LEN - 1 };
	size_t i;

	random_key(&k);
	memset(p, 0, LEN);
	memcpy(c, p, LEN);
	ck_assert_int_eq(sprp_encrypt(c, LEN, &k), 0);
	for (i = 0; i < sizeof positions / sizeof *positions; i++) {
		memcpy(d, c, LEN);
		d[positions[i]] ^= 0x10;
		ck_assert_int_eq(sprp_decrypt(d, LEN, &k), 0);
		ck_assert_msg(count_diff(d, p, LEN) > LEN * 95 / 100,
		    "flip at %zu changed only %zu bytes", positions[i], count_diff(d, p, LEN));
		ck_assert_msg(count_diff(d + LEN - 16, p + LEN - 16, 16) >= 8,
		    "flip at %zu left the block part nearly intact", positions[i]);
	}
	/* and the same for plaintext changes under encryption */
	for (i = 0; i < sizeof positions / sizeof *positions; i++) {
		memcpy(d, p, LEN);
		d[positions[i]] ^= 0x01;
		ck_assert_int_eq(sprp_encrypt(d, LEN, &k), 0);
		ck_assert(count_diff(d, c, LEN) > LEN * 95 / 100);
	}
	free(p);
	free(c);
	free(d);
}
END_TEST

START_TEST(test_key_parts_matter)
{
	enum { LEN = 4096 };
	struct sprp_key k, k2;
	uint8_t *p = malloc(LEN), *c = malloc(LEN);
	size_t part;

	random_key(&k);
	mcrypto_random(NULL, p, LEN);
	/* change one bit of each key part in turn: decryption must fail */
	for (part = 0; part < 3; part++) {
		k2 = k;
		if (part == 0)
			k2.stream[5] ^= 1;
		else if (part == 1)
			k2.hash[3] ^= 1;
		else
			k2.block[31] ^= 0x80;
		memcpy(c, p, LEN);
		ck_assert_int_eq(sprp_encrypt(c, LEN, &k), 0);
		ck_assert_int_eq(sprp_decrypt(c, LEN, &k2), 0);
		/*
		 * The stream and hash keys garble everything. The block key only
		 * garbles the 16-byte block under a wrong-key decryption (the
		 * stream nonce is C_M, computed without it); the parts are always
		 * derived together, so that is all the construction needs.
		 */
		if (part < 2)
			ck_assert_msg(count_diff(c, p, LEN) > LEN * 95 / 100,
			    "key part %zu ignored", part);
		else
			ck_assert_msg(count_diff(c + LEN - 16, p + LEN - 16, 16) >= 8,
			    "block key ignored");
	}
	free(p);
	free(c);
}
END_TEST

START_TEST(test_bad_lengths)
{
	struct sprp_key k;
	uint8_t buf[SPRP_MIN_LEN];
	size_t len;

	random_key(&k);
	memset(buf, 7, sizeof buf);
	for (len = 0; len < SPRP_MIN_LEN; len++) {
		ck_assert_int_eq(sprp_encrypt(buf, len, &k), -1);
		ck_assert_int_eq(sprp_decrypt(buf, len, &k), -1);
	}
	for (len = 0; len < sizeof buf; len++)
		ck_assert_int_eq(buf[len], 7);	/* rejected input is left alone */
}
END_TEST

/* FIPS-197 appendix C.3: AES-256 */
START_TEST(test_aes_fips197)
{
	static const unsigned modes[] = { 0, MCRYPTO_NO_AESNI };
	uint8_t key[32], pt[16], ct[16], out[16];
	size_t i;

	for (i = 0; i < 32; i++)
		key[i] = (uint8_t)i;
	for (i = 0; i < 16; i++)
		pt[i] = (uint8_t)(i * 0x11);
	ck_assert_int_eq(mcrypto_unhex(ct, sizeof ct, "8ea2b7ca516745bfeafc49904b496089", 32), 0);
	for (i = 0; i < 2; i++) {
		ck_assert_int_eq(mcrypto_init_flags(modes[i]), 0);
		ck_assert_int_eq(mcrypto_aes256_block(out, pt, key, 1), 0);
		ck_assert_mem_eq(out, ct, 16);
		ck_assert_int_eq(mcrypto_aes256_block(out, ct, key, 0), 0);
		ck_assert_mem_eq(out, pt, 16);
	}
}
END_TEST

/*
 * The CPU's AES instructions (src/mcrypto_aesni.c) against OpenSSL, and
 * libsodium's ChaCha20, XChaCha20 and Poly1305 against OpenSSL's, on
 * random keys and inputs.
 */
START_TEST(test_implementations_agree)
{
	uint8_t key[32], nonce[24], in[16], a[16], b[16];
	uint8_t *buf, *x, *y;
	size_t i, len, split;

	ck_assert_msg(strstr(mcrypto_implementation(), "aesni") != NULL ||
	    getenv("MIX_TEST_NO_AESNI") != NULL,
	    "this CPU has no AES-NI: set MIX_TEST_NO_AESNI=1 to accept that");
	for (i = 0; i < 20000; i++) {
		mcrypto_random(NULL, key, sizeof key);
		mcrypto_random(NULL, in, sizeof in);
		ck_assert_int_eq(mcrypto_init_flags(0), 0);
		ck_assert_int_eq(mcrypto_aes256_block(a, in, key, (int)(i & 1)), 0);
		ck_assert_int_eq(mcrypto_init_flags(MCRYPTO_NO_AESNI), 0);
		ck_assert_int_eq(mcrypto_aes256_block(b, in, key, (int)(i & 1)), 0);
		ck_assert_mem_eq(a, b, 16);
	}
	buf = malloc(5000);
	x = malloc(5000);
	y = malloc(5000);
	ck_assert(buf != NULL && x != NULL && y != NULL);
	for (i = 0; i < 300; i++) {
		len = mcrypto_uniform(5000);
		split = len == 0 ? 0 : mcrypto_uniform((uint32_t)len + 1);
		mcrypto_random(NULL, key, sizeof key);
		mcrypto_random(NULL, nonce, sizeof nonce);
		mcrypto_random(NULL, buf, len);
		ck_assert_int_eq(mcrypto_init_flags(0), 0);
		mcrypto_chacha20_xor(x, buf, len, key);
		mcrypto_xchacha20_xor(x + len / 2, x + len / 2, len - len / 2, nonce, key);
		mcrypto_poly1305_hash(a, key, buf, split, buf + split, len - split);
		ck_assert_int_eq(mcrypto_init_flags(MCRYPTO_OPENSSL_STREAM), 0);
		mcrypto_chacha20_xor(y, buf, len, key);
		mcrypto_xchacha20_xor(y + len / 2, y + len / 2, len - len / 2, nonce, key);
		mcrypto_poly1305_hash(b, key, buf, split, buf + split, len - split);
		ck_assert_mem_eq(x, y, len);
		ck_assert_mem_eq(a, b, 16);
	}
	free(buf);
	free(x);
	free(y);
}
END_TEST

static Suite *
sprp_suite(void)
{
	Suite *s = suite_create("sprp");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_loop_test(tc, test_roundtrip_lengths, 0, 10);
	tcase_add_test(tc, test_bit_flip_garbles_all);
	tcase_add_test(tc, test_key_parts_matter);
	tcase_add_test(tc, test_bad_lengths);
	tcase_add_test(tc, test_aes_fips197);
	tcase_add_test(tc, test_implementations_agree);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(sprp_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
