/*
 * check_mailpkt.c - unit tests of packet extraction from whole mails: the
 * golden mails in tests/mail/ (written by tests/armor-gen.c), the depth,
 * part and size bounds at and past their limits, nesting deeper than GMime
 * parses, and damaged mails.
 *
 * Every mail goes to mailpkt_extract in a malloc'd buffer of exactly its
 * length, so that AddressSanitizer sees any read past len.
 */
#include <config.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "armor.h"
#include "mailpkt.h"
#include "mcrypto.h"
#include "mem.h"
#include "pkt.h"
#include "pktmail.h"
#include "testutil.h"

/* The golden mails: tests/mail/NAME.eml with NAME.ref (see armor-gen.c) */
static const char *const golden[] = {
	"plain", "return-path", "mbox-from", "headerless", "multipart", "crlf", "qp",
	"qp-crlf", "qp-long-line", "base64", "rfc822", "none", "bad-armor", "bad-then-good",
	"depth-max", "depth-over", "parts-max", "parts-over", "empty", "garbage",
	"binary-body", "preamble", "no-separator",
};
#define NGOLDEN ((int)(sizeof golden / sizeof *golden))

static const char head[] =
    "From: a@example.org\n"
    "To: b@example.org\n"
    "Subject: test\n"
    "MIME-Version: 1.0\n";

static void
setup(void)
{
	tu_init();
	mailpkt_init();
}

/* A growing text buffer for mails built in memory */
struct text {
	char *p;
	size_t len;
};

static void
add(struct text *t, const void *s, size_t n)
{
	t->p = realloc(t->p, t->len + n + 1);
	ck_assert_ptr_nonnull(t->p);
	memcpy(t->p + t->len, s, n);
	t->len += n;
	t->p[t->len] = '\0';
}

static void
adds(struct text *t, const char *s)
{
	add(t, s, strlen(s));
}

/* add_armor - the armor of pkt */
static void
add_armor(struct text *t, const uint8_t *pkt)
{
	char *a = malloc(ARMOR_SIZE);

	add(t, a, armor_encode(a, ARMOR_SIZE, pkt));
	free(a);
}

/* extract - mailpkt_extract on an exact-size copy */
static enum mailpkt_err
extract(const void *mail, size_t len, uint8_t *pkt)
{
	uint8_t *copy = malloc(len ? len : 1);
	enum mailpkt_err err;

	ck_assert_ptr_nonnull(copy);
	if (len > 0)
		memcpy(copy, mail, len);
	err = mailpkt_extract(copy, len, pkt);
	free(copy);
	return err;
}

START_TEST(test_golden)
{
	char rel[256], got[256], hex[2 * MCRYPTO_HASH_BYTES + 1], *ref;
	uint8_t *mail, *pkt = malloc(PKT_SIZE), h[MCRYPTO_HASH_BYTES];
	size_t len, ref_len;
	enum mailpkt_err err;

	snprintf(rel, sizeof rel, "mail/%s.eml", golden[_i]);
	mail = tu_read_file(tu_srcpath(rel), &len);
	snprintf(rel, sizeof rel, "mail/%s.ref", golden[_i]);
	ref = (char *)tu_read_file(tu_srcpath(rel), &ref_len);
	err = extract(mail, len, pkt);
	if (err == MAILPKT_OK) {
		mcrypto_hash(h, sizeof h, NULL, 0, pkt, PKT_SIZE);
		mcrypto_hex(hex, h, sizeof h);
		snprintf(got, sizeof got, "ok %s\n", hex);
	} else
		snprintf(got, sizeof got, "error: %s\n", mailpkt_strerror(err));
	ck_assert_msg(strcmp(got, ref) == 0, "%s: got %s want %s", golden[_i], got, ref);
	free(mail);
	free(ref);
	free(pkt);
}
END_TEST

/*
 * Nesting far past MAILPKT_MAX_DEPTH, also past what GMime itself parses
 * (1024 levels): a limit, not a crash, and no packet from below the limit.
 */
START_TEST(test_deep_nesting)
{
	static const int depths[] = { 100, 1100, 5000 };
	uint8_t *pkt = malloc(PKT_SIZE), *orig = malloc(PKT_SIZE);
	struct text t = { NULL, 0 };
	char line[128];
	int i, depth = depths[_i];

	mcrypto_random(NULL, orig, PKT_SIZE);
	adds(&t, head);
	for (i = 0; i < depth; i++) {
		snprintf(line, sizeof line,
		    "Content-Type: multipart/mixed; boundary=\"d%05d\"\n\n--d%05d\n", i, i);
		adds(&t, line);
	}
	adds(&t, "Content-Type: text/plain\n\n");
	add_armor(&t, orig);
	for (i = depth - 1; i >= 0; i--) {
		snprintf(line, sizeof line, "\n--d%05d--\n", i);
		adds(&t, line);
	}
	ck_assert_int_eq(extract(t.p, t.len, pkt), MAILPKT_ERR_LIMIT);
	free(t.p);
	free(pkt);
	free(orig);
}
END_TEST

/* message/rfc822 counts as a level like a multipart */
START_TEST(test_rfc822_depth)
{
	uint8_t *pkt = malloc(PKT_SIZE), *orig = malloc(PKT_SIZE);
	struct text t = { NULL, 0 };
	int i, levels = MAILPKT_MAX_DEPTH + _i;	/* _i = 0: at the limit, 1: past it */

	mcrypto_random(NULL, orig, PKT_SIZE);
	adds(&t, head);
	for (i = 0; i < levels; i++)
		adds(&t, "Content-Type: message/rfc822\n\nFrom: x@example.org\nSubject: in\n");
	adds(&t, "\n");
	add_armor(&t, orig);
	memset(pkt, 0, PKT_SIZE);
	if (_i == 0) {
		ck_assert_int_eq(extract(t.p, t.len, pkt), MAILPKT_OK);
		ck_assert_mem_eq(pkt, orig, PKT_SIZE);
	} else
		ck_assert_int_eq(extract(t.p, t.len, pkt), MAILPKT_ERR_LIMIT);
	free(t.p);
	free(pkt);
	free(orig);
}
END_TEST

/*
 * Decoded size: a part of exactly MAILPKT_MAX_DECODED bytes is searched,
 * one byte more is skipped (LIMIT). The bound is on decoded bytes: a
 * base64 part longer than the bound that decodes to less is searched.
 */
START_TEST(test_decoded_limit)
{
	uint8_t *pkt = malloc(PKT_SIZE), *orig = malloc(PKT_SIZE);
	char *a = malloc(ARMOR_SIZE), *body, b64line[80];
	size_t alen, blen, i, n;
	struct text t = { NULL, 0 };

	mcrypto_random(NULL, orig, PKT_SIZE);
	alen = ARMOR_SIZE - 1;
	ck_assert_uint_eq(armor_encode(a, ARMOR_SIZE, orig), alen);
	/* body: filler lines, then the armor, total blen bytes */
	blen = MAILPKT_MAX_DECODED + (_i == 1);
	if (_i == 2)
		blen = MAILPKT_MAX_DECODED * 3 / 4;	/* base64 of it is larger */
	body = malloc(blen);
	for (i = 0; i < blen - alen; i++)
		body[i] = i % 70 == 69 ? '\n' : 'x';
	body[blen - alen - 1] = '\n';
	memcpy(body + blen - alen, a, alen);

	adds(&t, head);
	if (_i == 2) {
		adds(&t, "Content-Type: text/plain\nContent-Transfer-Encoding: base64\n\n");
		for (i = 0; i < blen; i += n) {
			n = blen - i < 57 ? blen - i : 57;
			mcrypto_base64(b64line, sizeof b64line, (uint8_t *)body + i, n);
			adds(&t, b64line);
			adds(&t, "\n");
		}
		ck_assert_uint_gt(t.len, MAILPKT_MAX_DECODED);
	} else {
		adds(&t, "Content-Type: text/plain\n\n");
		add(&t, body, blen);
	}
	memset(pkt, 0, PKT_SIZE);
	if (_i == 1)
		ck_assert_int_eq(extract(t.p, t.len, pkt), MAILPKT_ERR_LIMIT);
	else {
		ck_assert_int_eq(extract(t.p, t.len, pkt), MAILPKT_OK);
		ck_assert_mem_eq(pkt, orig, PKT_SIZE);
	}
	free(t.p);
	free(body);
	free(a);
	free(pkt);
	free(orig);
}
END_TEST

/* An over-long part is skipped, but a later part is still searched */
START_TEST(test_big_part_then_packet)
{
	uint8_t *pkt = malloc(PKT_SIZE), *orig = malloc(PKT_SIZE);
	struct text t = { NULL, 0 };
	char *filler = malloc(MAILPKT_MAX_DECODED + 2);

	mcrypto_random(NULL, orig, PKT_SIZE);
	memset(filler, 'y', MAILPKT_MAX_DECODED + 2);
	adds(&t, head);
	adds(&t, "Content-Type: multipart/mixed; boundary=\"big\"\n\n--big\n"
	    "Content-Type: application/octet-stream\n\n");
	add(&t, filler, MAILPKT_MAX_DECODED + 2);
	adds(&t, "\n--big\nContent-Type: text/plain\n\n");
	add_armor(&t, orig);
	adds(&t, "\n--big--\n");
	ck_assert_int_eq(extract(t.p, t.len, pkt), MAILPKT_OK);
	ck_assert_mem_eq(pkt, orig, PKT_SIZE);
	free(t.p);
	free(filler);
	free(pkt);
	free(orig);
}
END_TEST

/* A mail over MAILPKT_MAX_MAIL is refused unparsed, even with a packet */
START_TEST(test_whole_mail_limit)
{
	uint8_t *pkt = malloc(PKT_SIZE), *orig = malloc(PKT_SIZE);
	struct text t = { NULL, 0 };
	char *filler = malloc(MAILPKT_MAX_MAIL);

	mcrypto_random(NULL, orig, PKT_SIZE);
	memset(filler, 'z', MAILPKT_MAX_MAIL);
	adds(&t, head);
	adds(&t, "Content-Type: multipart/mixed; boundary=\"b\"\n\n--b\n"
	    "Content-Type: text/plain\n\n");
	add_armor(&t, orig);
	adds(&t, "\n--b\nContent-Type: application/octet-stream\n\n");
	ck_assert_int_eq(extract(t.p, t.len, pkt), MAILPKT_OK);
	/* a big second part (skipped: over the per-part bound) up to the limit */
	add(&t, filler, MAILPKT_MAX_MAIL - t.len);
	ck_assert_uint_eq(t.len, MAILPKT_MAX_MAIL);
	ck_assert_int_eq(extract(t.p, t.len, pkt), MAILPKT_OK);
	adds(&t, "z");
	ck_assert_int_eq(extract(t.p, t.len, pkt), MAILPKT_ERR_LIMIT);
	free(t.p);
	free(filler);
	free(pkt);
	free(orig);
}
END_TEST

/* On failure pkt is left alone; no bytes at all are a parse error */
START_TEST(test_pkt_untouched_on_failure)
{
	uint8_t *pkt = malloc(PKT_SIZE), *orig = malloc(PKT_SIZE);
	struct text t = { NULL, 0 };
	size_t i;

	mcrypto_random(NULL, orig, PKT_SIZE);
	adds(&t, head);
	adds(&t, "\n");
	add_armor(&t, orig);
	t.p[t.len / 2] = '*';
	memset(pkt, 0x77, PKT_SIZE);
	ck_assert_int_eq(extract(t.p, t.len, pkt), MAILPKT_ERR_ARMOR);
	for (i = 0; i < PKT_SIZE; i++)
		ck_assert_uint_eq(pkt[i], 0x77);
	ck_assert_int_eq(extract(t.p, 0, pkt), MAILPKT_ERR_PARSE);
	ck_assert_int_eq(mailpkt_extract(NULL, 0, pkt), MAILPKT_ERR_PARSE);
	free(t.p);
	free(pkt);
	free(orig);
}
END_TEST

/* Random damage to a golden mail: any result but a crash or overread */
START_TEST(test_damaged)
{
	static const char *const names[] = { "multipart", "qp", "base64", "rfc822" };
	char rel[64];
	uint8_t *mail, *copy, *pkt = malloc(PKT_SIZE);
	size_t len, t, k, pos;

	snprintf(rel, sizeof rel, "mail/%s.eml", names[_i]);
	mail = tu_read_file(tu_srcpath(rel), &len);
	copy = malloc(len);
	for (t = 0; t < 40; t++) {
		memcpy(copy, mail, len);
		for (k = 0; k < 1 + t % 8; k++) {
			pos = mcrypto_uniform((uint32_t)len);
			copy[pos] = (uint8_t)mcrypto_uniform(256);
		}
		/* and a random cut */
		(void)extract(copy, t % 2 ? len : mcrypto_uniform((uint32_t)len), pkt);
	}
	free(copy);
	free(mail);
	free(pkt);
}
END_TEST

START_TEST(test_strerror)
{
	enum mailpkt_err e, f;

	for (e = MAILPKT_OK; e <= MAILPKT_ERR_LIMIT; e++) {
		ck_assert_ptr_nonnull(mailpkt_strerror(e));
		for (f = MAILPKT_OK; f < e; f++)
			ck_assert_str_ne(mailpkt_strerror(e), mailpkt_strerror(f));
	}
	ck_assert_str_eq(mailpkt_strerror((enum mailpkt_err)99), "unknown error");
	mailpkt_init();		/* a second call is harmless */
}
END_TEST

/* The mail around a packet (pktmail.h): its exact header, and it reads back */
START_TEST(test_pktmail_shape)
{
	static const char *const want[] = {
		"From: Anonymous <nobody@mix-n3.test>",
		"To: n2@mix-n2.test",
		"Date: Sat, 21 Nov 2026 17:00:00 +0000",
		NULL,	/* Message-ID, checked apart */
		"MIME-Version: 1.0",
		"Content-Type: text/plain; charset=us-ascii",
		"Content-Transfer-Encoding: 7bit",
		"",
		"-----BEGIN MIXMAIL PACKET-----",
	};
	uint8_t *pkt = malloc(PKT_SIZE), *back = malloc(PKT_SIZE);
	char *mail, *other, *line, *next;
	size_t len, olen, i, k;

	mcrypto_random(NULL, pkt, PKT_SIZE);
	ck_assert_int_eq(pktmail_build("Anonymous <nobody@mix-n3.test>", "n2@mix-n2.test",
	    1795280400, pkt, &mail, &len), 0);
	ck_assert_uint_eq(strlen(mail), len);
	ck_assert_ptr_null(strchr(mail, '\r'));
	line = mail;
	for (i = 0; i < sizeof want / sizeof want[0]; i++) {
		next = strchr(line, '\n');
		ck_assert_ptr_nonnull(next);
		*next = '\0';
		if (want[i] != NULL) {
			ck_assert_str_eq(line, want[i]);
		} else {
			ck_assert_uint_eq(strlen(line), strlen("Message-ID: <@mix-n3.test>") + 32);
			ck_assert(strncmp(line, "Message-ID: <", 13) == 0);
			for (k = 13; k < 13 + 32; k++)
				ck_assert(strchr("0123456789abcdef", line[k]) != NULL);
			ck_assert_str_eq(line + 13 + 32, "@mix-n3.test>");
		}
		*next = '\n';
		line = next + 1;
	}
	ck_assert_uint_eq(len, (size_t)(line - mail) - strlen(want[8]) - 1 + ARMOR_SIZE - 1);
	ck_assert_int_eq(extract(mail, len, back), MAILPKT_OK);
	ck_assert(memcmp(back, pkt, PKT_SIZE) == 0);
	/* a new Message-ID every time, nothing else changes */
	ck_assert_int_eq(pktmail_build("Anonymous <nobody@mix-n3.test>", "n2@mix-n2.test",
	    1795280400, pkt, &other, &olen), 0);
	ck_assert_uint_eq(olen, len);
	ck_assert(memcmp(mail, other, len) != 0);
	k = strstr(mail, "Message-ID: <") - mail + 13;
	ck_assert(memcmp(mail, other, k) == 0);
	ck_assert(memcmp(mail + k + 32, other + k + 32, len - k - 32) == 0);
	mem_free(other);
	mem_free(mail);
	free(back);
	free(pkt);
}
END_TEST

/* Addresses that could inject a header, or none at all, are refused */
START_TEST(test_pktmail_refuses)
{
	static const char *const bad[] = { "", "a@b\nBcc: x@y", "a@b\r", "a@b\tc\x7f",
		"a\x01@b" };
	uint8_t *pkt = calloc(1, PKT_SIZE);
	char long_addr[PKTMAIL_ADDR_MAX + 2], *mail = (char *)1;
	size_t len = 1, i;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		ck_assert_int_eq(pktmail_build(bad[i], "n@x.test", 0, pkt, &mail, &len), -1);
		ck_assert_ptr_null(mail);
		ck_assert_uint_eq(len, 0);
		ck_assert_int_eq(pktmail_build("n@x.test", bad[i], 0, pkt, &mail, &len), -1);
	}
	memset(long_addr, 'a', sizeof long_addr - 1);
	long_addr[sizeof long_addr - 1] = '\0';
	long_addr[5] = '@';
	ck_assert_int_eq(pktmail_build(long_addr, "n@x.test", 0, pkt, &mail, &len), -1);
	long_addr[PKTMAIL_ADDR_MAX] = '\0';
	ck_assert_int_eq(pktmail_build(long_addr, "n@x.test", 0, pkt, &mail, &len), 0);
	ck_assert(strstr(mail, "@aaaa") != NULL);
	mem_free(mail);
	/* no domain: the Message-ID's is localhost.invalid */
	ck_assert_int_eq(pktmail_build("nobody", "n@x.test", 0, pkt, &mail, &len), 0);
	ck_assert(strstr(mail, "@" PKTMAIL_DOMAIN_NONE ">\n") != NULL);
	mem_free(mail);
	free(pkt);
}
END_TEST

START_TEST(test_pktmail_date)
{
	char d[PKTMAIL_DATE_MAX];

	pktmail_date(0, d);
	ck_assert_str_eq(d, "Thu, 01 Jan 1970 00:00:00 +0000");
	pktmail_date(951782400, d);	/* a leap day */
	ck_assert_str_eq(d, "Tue, 29 Feb 2000 00:00:00 +0000");
	pktmail_date(1795280400 + 86399, d);
	ck_assert_str_eq(d, "Sun, 22 Nov 2026 16:59:59 +0000");
	/* beyond what four digits of year can show: the epoch, never garbage */
	pktmail_date(INT64_MAX, d);
	ck_assert_str_eq(d, "Thu, 01 Jan 1970 00:00:00 +0000");
	pktmail_date(-62167219201LL, d);
	ck_assert_str_eq(d, "Thu, 01 Jan 1970 00:00:00 +0000");
}
END_TEST

static Suite *
mailpkt_suite(void)
{
	Suite *s = suite_create("mailpkt");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, test_golden, 0, NGOLDEN);
	tcase_add_loop_test(tc, test_deep_nesting, 0, 3);
	tcase_add_loop_test(tc, test_rfc822_depth, 0, 2);
	tcase_add_loop_test(tc, test_decoded_limit, 0, 3);
	tcase_add_test(tc, test_big_part_then_packet);
	tcase_add_test(tc, test_whole_mail_limit);
	tcase_add_test(tc, test_pkt_untouched_on_failure);
	tcase_add_loop_test(tc, test_damaged, 0, 4);
	tcase_add_test(tc, test_strerror);
	tcase_add_test(tc, test_pktmail_shape);
	tcase_add_test(tc, test_pktmail_refuses);
	tcase_add_test(tc, test_pktmail_date);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(mailpkt_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
