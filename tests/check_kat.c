/*
 * check_kat.c - known-answer vectors (tests/vectors/pkt-v1.kat).
 *
 * For every wide-block cipher vector: encrypt gives the stored ciphertext
 * and decrypt gives the plaintext back. For every packet vector: building
 * from the stored keys and sender seed gives the stored packet bytes
 * exactly, and unwrapping the stored bytes hop by hop gives the stored
 * commands, delays, addresses, replay tags, next packets and body. An
 * unintended change to the format cannot pass.
 */
#include <config.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "mcrypto.h"
#include "pkt.h"
#include "sprp.h"
#include "testutil.h"

#define MAX_RECORDS	32
#define MAX_FIELDS	512

struct record {
	char kind[16];
	size_t n;
	const char *name[MAX_FIELDS];
	const char *value[MAX_FIELDS];
};

static struct record records[MAX_RECORDS];
static size_t nrecords;
static uint8_t *file;

static void
load_fail(const char *why)
{
	fprintf(stderr, "check_kat: %s: %s\n", tu_srcpath("vectors/pkt-v1.kat"), why);
	exit(EXIT_FAILURE);
}

/* load - split the vector file into records of name = value fields */
static void
load(void)
{
	size_t len;
	char *line, *next, *eq;
	struct record *r = NULL;

	file = tu_read_file(tu_srcpath("vectors/pkt-v1.kat"), &len);
	for (line = (char *)file; line != NULL && *line != '\0'; line = next) {
		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		if (*line == '#' || *line == '\0')
			continue;
		if (*line == '[') {
			if (nrecords == MAX_RECORDS)
				load_fail("too many records");
			r = &records[nrecords++];
			snprintf(r->kind, sizeof r->kind, "%.*s", (int)strcspn(line + 1, "]"), line + 1);
			continue;
		}
		eq = strstr(line, " = ");
		if (r == NULL || eq == NULL)
			load_fail("line outside a record or without \" = \"");
		if (r->n == MAX_FIELDS)
			load_fail("too many fields in a record");
		*eq = '\0';
		r->name[r->n] = line;
		r->value[r->n] = eq + 3;
		r->n++;
	}
}

static const char *
field(const struct record *r, const char *name)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		if (strcmp(r->name[i], name) == 0)
			return r->value[i];
	return NULL;
}

static const char *fieldf(const struct record *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static const char *
fieldf(const struct record *r, const char *fmt, ...)
{
	char name[64];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(name, sizeof name, fmt, ap);
	va_end(ap);
	return field(r, name);
}

/* hex_field - decode a hex field of exactly len bytes into a new buffer */
static uint8_t *
hex_field(const char *value, size_t len)
{
	uint8_t *p = malloc(len ? len : 1);

	ck_assert_ptr_nonnull(value);
	ck_assert_int_eq(mcrypto_unhex(p, len, value, strlen(value)), 0);
	return p;
}

static void
check_digest(const uint8_t *p, size_t len, const char *hex)
{
	uint8_t d[32], *want = hex_field(hex, 32);

	mcrypto_hash(d, sizeof d, NULL, 0, p, len);
	ck_assert_mem_eq(d, want, 32);
	free(want);
}

static void
run_sprp(const struct record *r)
{
	struct sprp_key k;
	size_t len = strtoul(field(r, "length"), NULL, 10);
	uint8_t *key = hex_field(field(r, "key"), 80), *pt, *buf;

	memcpy(k.stream, key, 32);
	memcpy(k.hash, key + 32, 16);
	memcpy(k.block, key + 48, 32);
	if (field(r, "plaintext") != NULL) {
		pt = hex_field(field(r, "plaintext"), len);
	} else {
		struct mcrypto_rng rng;
		uint8_t *seed = hex_field(field(r, "plaintext.seed"), 32), skip[80];

		/* the generator's stream gave the key first, then the plaintext */
		pt = malloc(len);
		mcrypto_rng_seed(&rng, seed);
		mcrypto_random(&rng, skip, sizeof skip);
		ck_assert_mem_eq(skip, key, 80);
		mcrypto_random(&rng, pt, len);
		free(seed);
	}
	buf = malloc(len);
	memcpy(buf, pt, len);
	ck_assert_int_eq(sprp_encrypt(buf, len, &k), 0);
	if (field(r, "ciphertext") != NULL) {
		uint8_t *ct = hex_field(field(r, "ciphertext"), len);

		ck_assert_mem_eq(buf, ct, len);
		free(ct);
	} else {
		check_digest(buf, len, field(r, "ciphertext.blake2b"));
	}
	ck_assert_int_eq(sprp_decrypt(buf, len, &k), 0);
	ck_assert_mem_eq(buf, pt, len);
	free(key);
	free(pt);
	free(buf);
}

static void
run_packet(const struct record *r)
{
	struct pkt_hop hops[PKT_MAX_HOPS];
	struct pkt_key keys[PKT_MAX_HOPS];
	struct pkt_result res;
	struct mcrypto_rng rng;
	size_t n = strtoul(field(r, "hops"), NULL, 10), i, blen;
	enum pkt_cmd final = strcmp(field(r, "final"), "drop") == 0 ? PKT_CMD_DROP :
	    PKT_CMD_DELIVER;
	const char *bhex = field(r, "body");
	uint8_t *body, *seed, *stored, *pkt = malloc(PKT_SIZE), *out = malloc(PKT_SIZE);

	ck_assert(n >= 1 && n <= PKT_MAX_HOPS);
	for (i = 0; i < n; i++) {
		uint8_t *sk = hex_field(fieldf(r, "hop.%zu.sk", i), 32);
		uint8_t *pk = hex_field(fieldf(r, "hop.%zu.pk", i), 32);

		memcpy(keys[i].sk, sk, 32);
		mcrypto_x25519_base(keys[i].pk, keys[i].sk);
		ck_assert_mem_eq(keys[i].pk, pk, 32);
		memcpy(hops[i].pk, pk, 32);
		hops[i].addr = fieldf(r, "hop.%zu.addr", i);
		hops[i].delay = (uint32_t)strtoul(fieldf(r, "hop.%zu.delay", i), NULL, 10);
		free(sk);
		free(pk);
	}
	blen = strlen(bhex) / 2;
	body = hex_field(bhex, blen);
	seed = hex_field(field(r, "rng.seed"), 32);
	stored = hex_field(field(r, "packet"), PKT_SIZE);

	/* building from the same seeds gives the same bytes */
	mcrypto_rng_seed(&rng, seed);
	ck_assert_int_eq(pkt_build(pkt, hops, n, final, body, blen, &rng), PKT_OK);
	ck_assert_mem_eq(pkt, stored, PKT_SIZE);

	/* unwrapping the stored bytes gives the stored results */
	memcpy(pkt, stored, PKT_SIZE);
	for (i = 0; i < n; i++) {
		const char *cmd = fieldf(r, "unwrap.%zu.cmd", i), *v;
		uint8_t *tag = hex_field(fieldf(r, "unwrap.%zu.replay", i), 32);

		ck_assert_int_eq(pkt_unwrap(pkt, PKT_SIZE, &keys[i], 1, &res, out), PKT_OK);
		ck_assert_str_eq(pkt_cmd_name(res.cmd), cmd);
		ck_assert_uint_eq(res.delay, strtoul(fieldf(r, "unwrap.%zu.delay", i), NULL, 10));
		ck_assert_mem_eq(res.replay_tag, tag, 32);
		free(tag);
		if (res.cmd == PKT_CMD_FORWARD) {
			ck_assert_str_eq(res.next_addr, fieldf(r, "unwrap.%zu.next", i));
			if ((v = fieldf(r, "unwrap.%zu.out", i)) != NULL) {
				uint8_t *next = hex_field(v, PKT_SIZE);

				ck_assert_mem_eq(out, next, PKT_SIZE);
				free(next);
			} else {
				check_digest(out, PKT_SIZE, fieldf(r, "unwrap.%zu.out.blake2b", i));
			}
			memcpy(pkt, out, PKT_SIZE);
		} else if (res.cmd == PKT_CMD_DELIVER) {
			ck_assert_uint_eq(i, n - 1);
			ck_assert_uint_eq(res.out_len,
			    strtoul(fieldf(r, "unwrap.%zu.body_length", i), NULL, 10));
			ck_assert_uint_eq(res.out_len, blen);
			ck_assert_mem_eq(out, body, blen);
		} else {
			ck_assert_uint_eq(i, n - 1);
			ck_assert_int_eq(final, PKT_CMD_DROP);
		}
	}
	free(body);
	free(seed);
	free(stored);
	free(pkt);
	free(out);
}

/*
 * Every vector runs under each implementation mcrypto can choose
 * (src/mcrypto.c): OpenSSL's ChaCha20 and Poly1305, libsodium's, and AES
 * from OpenSSL instead of the CPU's instructions.
 */
static const unsigned modes[] = {
	MCRYPTO_OPENSSL_STREAM, 0, MCRYPTO_NO_AESNI, MCRYPTO_OPENSSL_STREAM | MCRYPTO_NO_AESNI
};
#define NMODES (sizeof modes / sizeof modes[0])

START_TEST(test_vector)
{
	const struct record *r = &records[(size_t)_i / NMODES];

	ck_assert_int_eq(mcrypto_init_flags(modes[(size_t)_i % NMODES]), 0);
	if (strcmp(r->kind, "sprp") == 0)
		run_sprp(r);
	else if (strcmp(r->kind, "packet") == 0)
		run_packet(r);
	else
		ck_abort_msg("unknown record kind %s", r->kind);
}
END_TEST

START_TEST(test_coverage)
{
	size_t i, sprp = 0, packets = 0;

	for (i = 0; i < nrecords; i++) {
		sprp += strcmp(records[i].kind, "sprp") == 0;
		packets += strcmp(records[i].kind, "packet") == 0;
	}
	ck_assert_uint_ge(sprp, 3);
	ck_assert_uint_ge(packets, 4);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("kat");
	TCase *tc = tcase_create("vectors");
	SRunner *sr;
	int failed;

	load();
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_coverage);
	tcase_add_loop_test(tc, test_vector, 0, (int)(nrecords * NMODES));
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	free(file);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
