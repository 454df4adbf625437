/*
 * check_armor.c - unit tests of the mail armor: encode/decode round trips,
 * the golden inputs in tests/armor/ (written by tests/armor-gen.c), the
 * size bound, truncation at every point, bounded work on hostile input.
 *
 * Every input goes to armor_decode in a malloc'd buffer of exactly its
 * length, not NUL terminated, so that AddressSanitizer sees any read past
 * len.
 */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "armor.h"
#include "mcrypto.h"
#include "pkt.h"
#include "testutil.h"

/* The golden inputs: tests/armor/NAME.in with NAME.ref (see armor-gen.c) */
static const char *const golden[] = {
	"plain", "crlf", "mixed-eol", "trailing-ws", "trailing-ws-crlf", "leading-ws",
	"indented", "text-around", "no-final-eol", "cols76", "cols40", "cols63",
	"one-line", "extra-headers", "type-key-case", "no-blank", "no-headers-no-blank",
	"missing-type", "wrong-type", "type-value-case", "duplicate-type", "truncated",
	"truncated-then-good", "bad-char", "inner-space", "mid-padding", "no-padding",
	"too-short", "too-long", "two-first-bad", "two-good", "dash-escaped", "empty",
	"no-armor", "begin-only", "begin-only-no-eol", "begin-header-only",
	"begin-header-then-good",
};
#define NGOLDEN ((int)(sizeof golden / sizeof *golden))

static void
setup(void)
{
	tu_init();
}

/* exact - a malloc'd copy of p[0..len) with no byte to spare */
static char *
exact(const void *p, size_t len)
{
	char *c = malloc(len ? len : 1);

	ck_assert_ptr_nonnull(c);
	if (len > 0)
		memcpy(c, p, len);
	return c;
}

/* read_exact - a file under tests/ in an exact-size buffer */
static char *
read_exact(const char *rel, size_t *len)
{
	uint8_t *buf = tu_read_file(tu_srcpath(rel), len);
	char *c = exact(buf, *len);

	free(buf);
	return c;
}

static void
hash_hex(char hex[2 * MCRYPTO_HASH_BYTES + 1], const uint8_t *pkt)
{
	uint8_t h[MCRYPTO_HASH_BYTES];

	mcrypto_hash(h, sizeof h, NULL, 0, pkt, PKT_SIZE);
	mcrypto_hex(hex, h, sizeof h);
}

/*
 * transcript - armor_decode from offset 0, then from each end, until no
 * armor is left; the lines armor-gen.c writes to NAME.ref.
 */
static char *
transcript(const char *text, size_t len)
{
	char *out = NULL, line[256], hex[2 * MCRYPTO_HASH_BYTES + 1];
	size_t off = 0, end, olen = 0, n;
	uint8_t *pkt = malloc(PKT_SIZE);
	enum armor_err err;

	do {
		end = (size_t)-1;
		err = armor_decode(text + off, len - off, pkt, &end);
		ck_assert_uint_le(end, len - off);
		if (err == ARMOR_OK) {
			hash_hex(hex, pkt);
			snprintf(line, sizeof line, "ok %s end=%zu\n", hex, off + end);
		} else
			snprintf(line, sizeof line, "error: %s end=%zu\n", armor_strerror(err),
			    off + end);
		/* every call but the last moves on */
		ck_assert(err == ARMOR_ERR_NONE || end > 0);
		n = strlen(line);
		out = realloc(out, olen + n + 1);
		memcpy(out + olen, line, n + 1);
		olen += n;
		off += end;
	} while (err != ARMOR_ERR_NONE);
	free(pkt);
	return out;
}

START_TEST(test_golden)
{
	char rel[256], *in, *ref, *got;
	size_t in_len, ref_len;

	snprintf(rel, sizeof rel, "armor/%s.in", golden[_i]);
	in = read_exact(rel, &in_len);
	snprintf(rel, sizeof rel, "armor/%s.ref", golden[_i]);
	ref = (char *)tu_read_file(tu_srcpath(rel), &ref_len);	/* NUL terminated */
	got = transcript(in, in_len);
	ck_assert_msg(strcmp(got, ref) == 0, "%s:\n got:\n%s want:\n%s", golden[_i], got, ref);
	free(in);
	free(ref);
	free(got);
}
END_TEST

/* The canonical form is exactly what armor_encode writes */
START_TEST(test_golden_encode)
{
	size_t len, end;
	char *in = read_exact("armor/plain.in", &len), *out = malloc(ARMOR_SIZE);
	uint8_t *pkt = malloc(PKT_SIZE);

	ck_assert_int_eq(armor_decode(in, len, pkt, &end), ARMOR_OK);
	ck_assert_uint_eq(armor_encode(out, ARMOR_SIZE, pkt), len);
	ck_assert_mem_eq(out, in, len);
	free(in);
	free(out);
	free(pkt);
}
END_TEST

START_TEST(test_roundtrip)
{
	uint8_t *pkt = malloc(PKT_SIZE), *back = malloc(PKT_SIZE);
	char *out = malloc(ARMOR_SIZE), *text;
	size_t n, end, i, col;

	mcrypto_random(NULL, pkt, PKT_SIZE);
	if (_i == 1)
		memset(pkt, 0, PKT_SIZE);
	else if (_i == 2)
		memset(pkt, 0xff, PKT_SIZE);
	n = armor_encode(out, ARMOR_SIZE, pkt);
	/* ARMOR_SIZE is exact: the text and its NUL fill the buffer */
	ck_assert_uint_eq(n, ARMOR_SIZE - 1);
	ck_assert_uint_eq(strlen(out), n);
	ck_assert(strncmp(out, ARMOR_BEGIN "\n" ARMOR_TYPE_KEY ": " ARMOR_TYPE "\n\n",
	    strlen(ARMOR_BEGIN) + strlen(ARMOR_TYPE_KEY) + strlen(ARMOR_TYPE) + 5) == 0);
	ck_assert_str_eq(out + n - strlen(ARMOR_END) - 1, ARMOR_END "\n");
	for (i = 0, col = 0; i < n; i++) {
		ck_assert_int_ne(out[i], '\r');
		col = out[i] == '\n' ? 0 : col + 1;
		ck_assert_uint_le(col, ARMOR_COLUMNS);
	}
	text = exact(out, n);
	memset(back, 0, PKT_SIZE);
	ck_assert_int_eq(armor_decode(text, n, back, &end), ARMOR_OK);
	ck_assert_uint_eq(end, n);
	ck_assert_mem_eq(back, pkt, PKT_SIZE);
	/* end may be NULL */
	ck_assert_int_eq(armor_decode(text, n, back, NULL), ARMOR_OK);
	free(text);
	free(out);
	free(pkt);
	free(back);
}
END_TEST

START_TEST(test_encode_small_buffer)
{
	uint8_t *pkt = calloc(1, PKT_SIZE);
	char *out = malloc(ARMOR_SIZE);

	out[0] = 'x';
	ck_assert_uint_eq(armor_encode(out, ARMOR_SIZE - 1, pkt), 0);
	ck_assert_int_eq(out[0], '\0');
	ck_assert_uint_eq(armor_encode(out, 0, pkt), 0);
	free(pkt);
	free(out);
}
END_TEST

/*
 * Every prefix of an armor (a message cut off in transit) fails, never
 * reads past its end, and leaves pkt alone; the whole armor without its
 * final LF still decodes.
 */
START_TEST(test_prefixes)
{
	uint8_t *pkt = malloc(PKT_SIZE), *orig = malloc(PKT_SIZE);
	char *out = malloc(ARMOR_SIZE), *text;
	size_t n, cut, end, step;
	enum armor_err err;

	mcrypto_random(NULL, orig, PKT_SIZE);
	n = armor_encode(out, ARMOR_SIZE, orig);
	for (cut = 0; cut < n; cut += step) {
		/* every byte near the ends, sparser in the middle */
		step = cut < 200 || cut > n - 200 ? 1 : 61;
		text = exact(out, cut);
		memset(pkt, 0x5a, PKT_SIZE);
		err = armor_decode(text, cut, pkt, &end);
		ck_assert_uint_le(end, cut);
		if (cut >= n - 1) {
			ck_assert_int_eq(err, ARMOR_OK);
			ck_assert_mem_eq(pkt, orig, PKT_SIZE);
		} else {
			ck_assert_msg(err != ARMOR_OK, "prefix of %zu bytes decoded", cut);
			ck_assert_uint_eq(pkt[0], 0x5a);
			ck_assert_uint_eq(pkt[PKT_SIZE - 1], 0x5a);
			if (cut < strlen(ARMOR_BEGIN))
				ck_assert_int_eq(err, ARMOR_ERR_NONE);
		}
		free(text);
	}
	free(pkt);
	free(orig);
	free(out);
}
END_TEST

/* A body far longer than a packet is rejected as soon as it is too long */
START_TEST(test_huge_body)
{
	static const char head[] = ARMOR_BEGIN "\n" ARMOR_TYPE_KEY ": " ARMOR_TYPE "\n\n";
	size_t len = 4 * 1024 * 1024, i, end;
	char *text = malloc(len);
	uint8_t *pkt = malloc(PKT_SIZE);

	memcpy(text, head, sizeof head - 1);
	for (i = sizeof head - 1; i < len; i++)
		text[i] = (i % 65 == 64) ? '\n' : 'A';
	ck_assert_int_eq(armor_decode(text, len, pkt, &end), ARMOR_ERR_LENGTH);
	ck_assert_uint_eq(end, strlen(ARMOR_BEGIN) + 1);
	free(text);
	free(pkt);
}
END_TEST

/* Many BEGIN lines: each call moves one line on; the whole is linear */
START_TEST(test_many_begins)
{
	enum { N = 20000 };
	size_t line = strlen(ARMOR_BEGIN) + 1, len = N * line, off = 0, end, calls = 0;
	char *text = malloc(len);
	uint8_t *pkt = malloc(PKT_SIZE);
	enum armor_err err;
	size_t i;

	for (i = 0; i < N; i++) {
		memcpy(text + i * line, ARMOR_BEGIN, line - 1);
		text[i * line + line - 1] = '\n';
	}
	for (;;) {
		err = armor_decode(text + off, len - off, pkt, &end);
		if (err == ARMOR_ERR_NONE)
			break;
		ck_assert_int_eq(err, ARMOR_ERR_TRUNCATED);
		ck_assert_uint_eq(end, line);
		off += end;
		calls++;
	}
	ck_assert_uint_eq(calls, N);
	free(text);
	free(pkt);
}
END_TEST

/* NUL bytes and bytes above 0x7f: text around is fine, inside is not */
START_TEST(test_binary_bytes)
{
	uint8_t *pkt = malloc(PKT_SIZE), *orig = malloc(PKT_SIZE);
	char *out = malloc(ARMOR_SIZE), *text;
	size_t n, end;

	mcrypto_random(NULL, orig, PKT_SIZE);
	n = armor_encode(out, ARMOR_SIZE, orig);
	text = malloc(n + 4);
	memcpy(text, "\0\xff\n", 3);
	memcpy(text + 3, out, n);
	text[n + 3] = '\0';
	ck_assert_int_eq(armor_decode(text, n + 4, pkt, &end), ARMOR_OK);
	ck_assert_mem_eq(pkt, orig, PKT_SIZE);
	ck_assert_uint_eq(end, n + 3);
	text[3 + 200] = '\0';	/* on the first base64 line */
	ck_assert_int_eq(armor_decode(text, n + 4, pkt, &end), ARMOR_ERR_BASE64);
	text[3 + 200] = (char)0xc3;
	ck_assert_int_eq(armor_decode(text, n + 4, pkt, &end), ARMOR_ERR_BASE64);
	free(text);
	free(out);
	free(pkt);
	free(orig);
}
END_TEST

START_TEST(test_strerror)
{
	enum armor_err e, f;

	for (e = ARMOR_OK; e <= ARMOR_ERR_LENGTH; e++) {
		ck_assert_ptr_nonnull(armor_strerror(e));
		for (f = ARMOR_OK; f < e; f++)
			ck_assert_str_ne(armor_strerror(e), armor_strerror(f));
	}
	ck_assert_str_eq(armor_strerror((enum armor_err)99), "unknown error");
}
END_TEST

static Suite *
armor_suite(void)
{
	Suite *s = suite_create("armor");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, test_golden, 0, NGOLDEN);
	tcase_add_test(tc, test_golden_encode);
	tcase_add_loop_test(tc, test_roundtrip, 0, 8);
	tcase_add_test(tc, test_encode_small_buffer);
	tcase_add_test(tc, test_prefixes);
	tcase_add_test(tc, test_huge_body);
	tcase_add_test(tc, test_many_begins);
	tcase_add_test(tc, test_binary_bytes);
	tcase_add_test(tc, test_strerror);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(armor_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
