/*
 * check_fragment.c - the erasure code (src/fec.c) and the body format
 * (src/fragment.c, doc/body-format.md).
 *
 * The field: every product and inverse against a bitwise multiplication,
 * the field axioms on all elements. The code: a known-answer vector, the
 * parity of many (k, n) against the generator matrix evaluated directly
 * with the bitwise arithmetic, decoding after random losses of up to n - k
 * shards (always recovered) and of more (always FEC_ERR_TOO_FEW, data
 * untouched), repeated and out-of-range indices. The format: the plan's
 * table, split and assemble round trips at the edges (empty, one byte,
 * one body exactly, one body + 1, the maximum; the maximum + 1 refused),
 * losses, duplicates, parts of different messages, every parse rejection
 * rule, inconsistent parts, and the fuzz seeds as golden files.
 *
 * Random choices come from a seeded generator: every run is the same.
 */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "bytes.h"
#include "fec.h"
#include "fragment.h"
#include "mcrypto.h"
#include "mem.h"
#include "pkt.h"
#include "testutil.h"

static struct mcrypto_rng rng;

static void
setup(void)
{
	uint8_t seed[32] = { 'f', 'r', 'a', 'g' };

	tu_init();
	mcrypto_rng_seed(&rng, seed);
}

/* rnd - a number below bound from the test generator (bias does not matter here) */
static unsigned
rnd(unsigned bound)
{
	uint32_t v;

	mcrypto_random(&rng, &v, sizeof v);
	return v % bound;
}

/* shuffle - a random permutation of a[0..len) */
static void
shuffle(unsigned *a, size_t len)
{
	size_t i, j;
	unsigned t;

	for (i = len; i > 1; i--) {
		j = rnd((unsigned)i);
		t = a[i - 1], a[i - 1] = a[j], a[j] = t;
	}
}

/* ---- the field, by the book ------------------------------------------------- */

/* slow_mul - carry-less multiplication, reduced by x^8 + x^4 + x^3 + x^2 + 1 bit by bit */
static uint8_t
slow_mul(uint8_t a, uint8_t b)
{
	unsigned r = 0, x = a;

	while (b != 0) {
		if (b & 1)
			r ^= x;
		b >>= 1;
		x <<= 1;
		if (x & 0x100)
			x ^= 0x11d;
	}
	return (uint8_t)r;
}

/* slow_inv - by search */
static uint8_t
slow_inv(uint8_t a)
{
	unsigned x;

	for (x = 1; x < 256; x++)
		if (slow_mul(a, (uint8_t)x) == 1)
			return (uint8_t)x;
	return 0;
}

/*
 * Check reports every passing assertion to its parent, so the loops over
 * all pairs and triples count failures and assert once.
 */
START_TEST(test_gf_tables)
{
	unsigned a, b, bad_mul = 0, bad_inv = 0;

	for (a = 0; a < 256; a++) {
		for (b = 0; b < 256; b++)
			bad_mul += fec_gf_mul((uint8_t)a, (uint8_t)b) != slow_mul((uint8_t)a, (uint8_t)b);
		bad_inv += fec_gf_inv((uint8_t)a) != slow_inv((uint8_t)a);
	}
	ck_assert_msg(bad_mul == 0, "%u wrong products", bad_mul);
	ck_assert_msg(bad_inv == 0, "%u wrong inverses", bad_inv);
	ck_assert_uint_eq(fec_gf_inv(0), 0);
}
END_TEST

/* The field axioms on all elements, pairs and triples */
START_TEST(test_gf_axioms)
{
	unsigned a, b, c, ones, bad_unit = 0, bad_inv = 0, bad_comm = 0, bad_assoc = 0,
	    bad_dist = 0;
	uint8_t ab;

	for (a = 0; a < 256; a++) {
		bad_unit += fec_gf_mul((uint8_t)a, 1) != a || fec_gf_mul((uint8_t)a, 0) != 0;
		if (a != 0)
			bad_inv += fec_gf_mul((uint8_t)a, fec_gf_inv((uint8_t)a)) != 1;
		ones = 0;
		for (b = 0; b < 256; b++) {
			ab = fec_gf_mul((uint8_t)a, (uint8_t)b);
			bad_comm += ab != fec_gf_mul((uint8_t)b, (uint8_t)a);
			ones += ab == 1;
			for (c = 0; c < 256; c++) {
				bad_assoc += fec_gf_mul(ab, (uint8_t)c) !=
				    fec_gf_mul((uint8_t)a, fec_gf_mul((uint8_t)b, (uint8_t)c));
				bad_dist += fec_gf_mul((uint8_t)a, (uint8_t)(b ^ c)) !=
				    (ab ^ fec_gf_mul((uint8_t)a, (uint8_t)c));
			}
		}
		/* no zero divisors, and each nonzero a has exactly one inverse */
		bad_inv += ones != (a == 0 ? 0u : 1u);
	}
	ck_assert_msg(bad_unit == 0, "1 or 0 wrong for %u elements", bad_unit);
	ck_assert_msg(bad_inv == 0, "%u elements without one inverse", bad_inv);
	ck_assert_msg(bad_comm == 0, "%u pairs not commutative", bad_comm);
	ck_assert_msg(bad_assoc == 0, "%u triples not associative", bad_assoc);
	ck_assert_msg(bad_dist == 0, "%u triples not distributive", bad_dist);
}
END_TEST

/* ---- the code --------------------------------------------------------------- */

/* The known-answer vector of doc/body-format.md section 5 */
START_TEST(test_fec_kat)
{
	static const uint8_t d0[] = "mixm", d1[] = "ail ", d2[] = "body";
	static const uint8_t want3[4] = { 0x0c, 0xf2, 0x7a, 0xb9 };
	static const uint8_t want4[4] = { 0xf4, 0xdc, 0xe7, 0x6b };
	const uint8_t *data[3] = { d0, d1, d2 };
	uint8_t p3[4], p4[4], *parity[2] = { p3, p4 };

	ck_assert_int_eq(fec_encode(3, 5, data, parity, 4), FEC_OK);
	ck_assert_mem_eq(p3, want3, 4);
	ck_assert_mem_eq(p4, want4, 4);
}
END_TEST

/* (k, n) pairs the code is tried on */
static const unsigned dims[][2] = {
	{ 1, 1 }, { 1, 2 }, { 1, 5 }, { 2, 2 }, { 2, 3 }, { 3, 4 }, { 3, 7 }, { 4, 6 },
	{ 5, 7 }, { 8, 11 }, { 10, 20 }, { 16, 22 }, { 17, 23 }, { 32, 43 }, { 64, 86 },
	{ 64, 192 }, { 100, 255 }, { 128, 255 }, { 200, 255 }, { 254, 255 }, { 255, 255 }
};
#define NDIMS	(sizeof dims / sizeof dims[0])
static const size_t lens[] = { 0, 1, 2, 7, 33 };
#define NLENS	(sizeof lens / sizeof lens[0])

/* codeword - random data shards and the whole code word, shard i at buf + i * len */
static uint8_t *
codeword(unsigned k, unsigned n, size_t len)
{
	uint8_t *buf = mem_alloc((size_t)n * len), *par[FEC_N_MAX];
	const uint8_t *data[FEC_N_MAX];
	unsigned i;

	mcrypto_random(&rng, buf, (size_t)k * len);
	for (i = 0; i < n; i++) {
		if (i < k)
			data[i] = buf + i * len;
		else
			par[i - k] = buf + i * len;
	}
	ck_assert_int_eq(fec_encode(k, n, data, par, len), FEC_OK);
	return buf;
}

/* Parity against the generator matrix, evaluated with slow_mul and slow_inv */
START_TEST(test_fec_reference)
{
	unsigned k = dims[_i][0], n = dims[_i][1], i, j, bad = 0;
	size_t len = 19, b;
	uint8_t *w = codeword(k, n, len), g[FEC_N_MAX], v, one[FEC_N_MAX], inv[256];
	const uint8_t *data[FEC_N_MAX];

	for (i = 0; i < 256; i++)
		inv[i] = slow_inv((uint8_t)i);
	for (i = k; i < n; i++) {
		for (j = 0; j < k; j++)
			g[j] = inv[i ^ j];			/* 1 / (x_i + y_j) */
		for (b = 0; b < len; b++) {
			v = 0;
			for (j = 0; j < k; j++)
				v ^= slow_mul(g[j], w[j * len + b]);
			bad += w[i * len + b] != v;
		}
	}
	ck_assert_msg(bad == 0, "k=%u n=%u: %u parity bytes wrong", k, n, bad);
	/* fec_shard gives the same, data shards included */
	for (j = 0; j < k; j++)
		data[j] = w + j * len;
	for (i = 0; i < n; i++) {
		ck_assert_int_eq(fec_shard(k, n, i, data, one, len), FEC_OK);
		ck_assert_mem_eq(one, w + i * len, len);
	}
	mem_free(w);
}
END_TEST

/*
 * try_decode - give count shards of w (the indices in idx) to fec_decode;
 * FEC_OK must return exactly the data shards, anything else must leave
 * the output untouched.
 */
static enum fec_err
try_decode(unsigned k, unsigned n, size_t len, const uint8_t *w, const unsigned *idx,
    size_t count)
{
	const uint8_t *shards[2 * FEC_N_MAX];
	uint8_t *out = mem_alloc((size_t)k * len), *data[FEC_N_MAX];
	enum fec_err err;
	size_t i;
	unsigned j;

	for (i = 0; i < count; i++)
		shards[i] = w + (idx[i] % n) * len;
	memset(out, 0xa5, (size_t)k * len);
	for (j = 0; j < k; j++)
		data[j] = out + j * len;
	err = fec_decode(k, n, shards, idx, count, data, len);
	if (err == FEC_OK) {
		if (len > 0)
			ck_assert_mem_eq(out, w, (size_t)k * len);
	} else {
		for (i = 0; i < (size_t)k * len && out[i] == 0xa5; i++)
			;
		ck_assert_msg(i == (size_t)k * len, "output changed on error");
	}
	mem_free(out);
	return err;
}

/* Any k or more distinct shards, in any order, give the data back */
START_TEST(test_fec_losses)
{
	unsigned k = dims[_i][0], n = dims[_i][1], idx[FEC_N_MAX], trial, keep;
	size_t l;
	uint8_t *w;

	for (l = 0; l < NLENS; l++) {
		w = codeword(k, n, lens[l]);
		for (trial = 0; trial < 12; trial++) {
			for (keep = 0; keep < n; keep++)
				idx[keep] = keep;
			shuffle(idx, n);
			/* trial 1: exactly k; the others k or more */
			keep = trial == 1 ? k : k + rnd(n - k + 1);
			ck_assert_int_eq(try_decode(k, n, lens[l], w, idx, keep), FEC_OK);
		}
		/* the data shards lost first: as much parity as possible */
		for (keep = 0; keep < n; keep++)
			idx[keep] = n - 1 - keep;
		ck_assert_int_eq(try_decode(k, n, lens[l], w, idx, k), FEC_OK);
		mem_free(w);
	}
}
END_TEST

/* More than n - k lost: a clean FEC_ERR_TOO_FEW, every time */
START_TEST(test_fec_too_few)
{
	unsigned k = dims[_i][0], n = dims[_i][1], idx[FEC_N_MAX], trial, keep, refused = 0;
	uint8_t *w = codeword(k, n, 9);

	for (trial = 0; trial < 20; trial++) {
		for (keep = 0; keep < n; keep++)
			idx[keep] = keep;
		shuffle(idx, n);
		keep = rnd(k);
		refused += try_decode(k, n, 9, w, idx, keep) == FEC_ERR_TOO_FEW;
	}
	ck_assert_uint_eq(refused, 20);
	mem_free(w);
}
END_TEST

START_TEST(test_fec_args)
{
	unsigned idx[8] = { 0, 1, 1, 2, 3, 4, 5, 6 };
	uint8_t *w = codeword(4, 7, 5), out[5];
	const uint8_t *data[4] = { w, w + 5, w + 10, w + 15 };
	uint8_t *par[4] = { out, out, out, out };

	/* a repeat is refused even when enough others are given */
	ck_assert_int_eq(try_decode(4, 7, 5, w, idx, 8), FEC_ERR_DUPLICATE);
	ck_assert_int_eq(try_decode(4, 7, 5, w, idx, 3), FEC_ERR_DUPLICATE);
	ck_assert_int_eq(try_decode(4, 7, 5, w, idx + 2, 5), FEC_OK);
	idx[7] = 7;		/* out of range (try_decode reads shard 7 % 7) */
	ck_assert_int_eq(try_decode(4, 7, 5, w, idx + 3, 5), FEC_ERR_ARG);
	ck_assert_int_eq(try_decode(4, 7, 5, w, idx + 3, 0), FEC_ERR_TOO_FEW);

	ck_assert_int_eq(fec_encode(0, 1, data, par, 5), FEC_ERR_ARG);
	ck_assert_int_eq(fec_encode(5, 4, data, par, 5), FEC_ERR_ARG);
	ck_assert_int_eq(fec_encode(4, 256, data, par, 5), FEC_ERR_ARG);
	ck_assert_int_eq(fec_encode(4, 7, NULL, par, 5), FEC_ERR_ARG);
	ck_assert_int_eq(fec_encode(4, 7, data, NULL, 5), FEC_ERR_ARG);
	ck_assert_int_eq(fec_shard(4, 7, 7, data, out, 5), FEC_ERR_ARG);
	ck_assert_int_eq(fec_shard(4, 7, 6, data, NULL, 5), FEC_ERR_ARG);
	ck_assert_int_eq(fec_decode(4, 7, NULL, idx, 4, par, 5), FEC_ERR_ARG);
	ck_assert_str_eq(fec_strerror(FEC_ERR_TOO_FEW), "fewer shards than data shards");
	ck_assert_str_eq(fec_strerror(FEC_ERR_DUPLICATE), "a shard given twice");
	mem_free(w);
}
END_TEST

/* A data shard may be decoded in place: data[j] is the buffer given as shard j */
START_TEST(test_fec_in_place)
{
	uint8_t *w = codeword(5, 8, 11), *copy = mem_alloc(8 * 11);
	const uint8_t *shards[5];
	uint8_t *data[5];
	unsigned idx[5] = { 0, 2, 4, 5, 7 }, j;

	memcpy(copy, w, 8 * 11);
	for (j = 0; j < 5; j++) {
		shards[j] = copy + idx[j] * 11;
		data[j] = copy + j * 11;	/* 0, 2, 4 coincide; 1, 3 overwrite shards not given */
	}
	ck_assert_int_eq(fec_decode(5, 8, shards, idx, 5, data, 11), FEC_OK);
	ck_assert_mem_eq(copy, w, 5 * 11);
	mem_free(copy);
	mem_free(w);
}
END_TEST

/* ---- the body format ------------------------------------------------------- */

static const uint8_t test_id[FRAG_ID_SIZE] = {
	0x69, 0x64, 0x2d, 0x6f, 0x66, 0x2d, 0x61, 0x2d, 0x74, 0x65, 0x73, 0x74, 0x2d, 0x6d, 0x73, 0x67
};
static const uint8_t other_id[FRAG_ID_SIZE] = {
	0x6f, 0x74, 0x68, 0x65, 0x72, 0x2d, 0x74, 0x65, 0x73, 0x74, 0x2d, 0x6d, 0x73, 0x67, 0x21, 0x21
};

START_TEST(test_plan)
{
	static const struct {
		size_t len;
		unsigned copies;
		enum frag_err err;
		unsigned k, n;
	} t[] = {
		{ 0, 1, FRAG_OK, 1, 1 },
		{ 1, 1, FRAG_OK, 1, 1 },
		{ FRAG_WHOLE_MAX, 1, FRAG_OK, 1, 1 },
		{ FRAG_WHOLE_MAX + 1, 1, FRAG_OK, 2, 3 },
		{ 2 * FRAG_SHARD_MAX, 1, FRAG_OK, 2, 3 },
		{ 2 * FRAG_SHARD_MAX + 1, 1, FRAG_OK, 3, 4 },
		{ 3 * FRAG_SHARD_MAX + 1, 1, FRAG_OK, 4, 6 },
		{ 16 * FRAG_SHARD_MAX, 1, FRAG_OK, 16, 22 },
		{ FRAG_MSG_MAX, 1, FRAG_OK, 64, 86 },
		{ FRAG_MSG_MAX + 1, 1, FRAG_ERR_TOO_LONG, 0, 0 },
		{ 0, 2, FRAG_OK, 1, 2 },
		{ 100, 3, FRAG_OK, 1, 3 },
		{ FRAG_SHARD_MAX + 1, 2, FRAG_OK, 2, 4 },
		{ 3 * FRAG_SHARD_MAX, 2, FRAG_OK, 3, 6 },
		{ FRAG_MSG_MAX, 3, FRAG_OK, 64, 192 },
		{ FRAG_MSG_MAX + 1, 3, FRAG_ERR_TOO_LONG, 0, 0 },
		{ 100, 0, FRAG_ERR_ARG, 0, 0 },
		{ 100, FRAG_COPIES_MAX + 1, FRAG_ERR_ARG, 0, 0 },
		{ SIZE_MAX, 1, FRAG_ERR_TOO_LONG, 0, 0 },
	};
	size_t i;
	unsigned k, n;

	ck_assert_uint_eq(FRAG_WHOLE_MAX, 17179);
	ck_assert_uint_eq(FRAG_SHARD_MAX, 17156);
	ck_assert_uint_eq(FRAG_MSG_MAX, 1097984);
	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		ck_assert_msg(fragment_plan(t[i].len, t[i].copies, &k, &n) == t[i].err, "row %zu", i);
		ck_assert_msg(k == t[i].k && n == t[i].n, "row %zu: k=%u n=%u", i, k, n);
	}
	ck_assert_int_eq(fragment_plan(1, 1, NULL, &n), FRAG_ERR_ARG);
	ck_assert_int_eq(fragment_plan(1, 1, &k, NULL), FRAG_ERR_ARG);
}
END_TEST

/* Message lengths of the round trips */
static const size_t msg_lens[] = {
	0, 1, 1000, FRAG_SHARD_MAX, FRAG_WHOLE_MAX, FRAG_WHOLE_MAX + 1,
	2 * FRAG_SHARD_MAX, 2 * FRAG_SHARD_MAX + 1, 5 * FRAG_SHARD_MAX - 3,
	FRAG_MSG_MAX - 1, FRAG_MSG_MAX
};
#define NMSG	(sizeof msg_lens / sizeof msg_lens[0])

/* split_ok - split and check the shape; the bodies in one buffer */
static uint8_t *
split_ok(const uint8_t *msg, size_t len, unsigned copies, const uint8_t *id, size_t *blen,
    size_t *count, unsigned *k)
{
	unsigned n;
	uint8_t *bodies;

	ck_assert_int_eq(fragment_plan(len, copies, k, &n), FRAG_OK);
	ck_assert_int_eq(fragment_split(msg, len, copies, id, &bodies, blen, count), FRAG_OK);
	ck_assert_uint_eq(*count, n);
	ck_assert_uint_le(*blen, PKT_BODY_MAX);
	return bodies;
}

/* assemble_some - parse the bodies listed in which[] and assemble them */
static enum frag_err
assemble_some(const uint8_t *bodies, size_t blen, const unsigned *which, size_t m,
    uint8_t **msg, size_t *msg_len)
{
	struct fragment *f = mem_calloc(m ? m : 1, sizeof *f);
	const struct fragment **fp = mem_calloc(m ? m : 1, sizeof *fp);
	enum frag_err err;
	size_t i;

	for (i = 0; i < m; i++) {
		ck_assert_int_eq(fragment_parse(bodies + which[i] * blen, blen, &f[i]), FRAG_OK);
		fp[i] = &f[i];
	}
	err = fragment_assemble(fp, m, msg, msg_len);
	if (err != FRAG_OK)
		ck_assert_ptr_null(*msg);
	mem_free(fp);
	mem_free(f);
	return err;
}

static void
expect_message(enum frag_err err, uint8_t *got, size_t got_len, const uint8_t *msg, size_t len)
{
	ck_assert_int_eq(err, FRAG_OK);
	ck_assert_uint_eq(got_len, len);
	if (len > 0)
		ck_assert_mem_eq(got, msg, len);
	mem_free(got);
}

/* Split, parse every body, rebuild from all, from k, from k with repeats */
START_TEST(test_roundtrip)
{
	size_t len = msg_lens[_i % NMSG], blen, count, i, got_len;
	unsigned copies = 1 + (unsigned)_i / NMSG, k, which[2 * FRAG_N_MAX];
	uint8_t *msg = mem_alloc(len), *bodies, *got;
	struct fragment f;
	enum frag_err err;

	mcrypto_random(&rng, msg, len);
	bodies = split_ok(msg, len, copies, test_id, &blen, &count, &k);
	for (i = 0; i < count; i++) {
		ck_assert_int_eq(fragment_parse(bodies + i * blen, blen, &f), FRAG_OK);
		ck_assert_uint_eq(f.msg_len, len);
		if (count == 1) {
			ck_assert_int_eq(f.type, FRAG_TYPE_WHOLE);
			ck_assert_uint_eq(blen, FRAG_WHOLE_HEAD + len);
			ck_assert_uint_eq(f.data_len, len);
			if (len > 0)
				ck_assert_mem_eq(f.data, msg, len);
			continue;
		}
		ck_assert_int_eq(f.type, FRAG_TYPE_FRAGMENT);
		ck_assert_mem_eq(f.id, test_id, FRAG_ID_SIZE);
		ck_assert_uint_eq(f.k, k);
		ck_assert_uint_eq(f.n, count);
		ck_assert_uint_eq(f.index, i);
		ck_assert_uint_eq(f.data_len, blen - FRAG_HEAD);
		/* systematic: data shard i is the message's bytes from i * S */
		if (i < k && i * f.data_len < len)
			ck_assert_mem_eq(f.data, msg + i * f.data_len,
			    len - i * f.data_len < f.data_len ? len - i * f.data_len : f.data_len);
	}
	if (count == 1)
		goto done;

	for (i = 0; i < count; i++)
		which[i] = (unsigned)i;
	err = assemble_some(bodies, blen, which, count, &got, &got_len);
	expect_message(err, got, got_len, msg, len);
	/* k random parts in random order; then the same with every part twice */
	shuffle(which, count);
	err = assemble_some(bodies, blen, which, k, &got, &got_len);
	expect_message(err, got, got_len, msg, len);
	memcpy(which + k, which, k * sizeof which[0]);
	shuffle(which, 2 * (size_t)k);
	err = assemble_some(bodies, blen, which, 2 * (size_t)k, &got, &got_len);
	expect_message(err, got, got_len, msg, len);
done:
	mem_free(bodies);
	mem_free(msg);
}
END_TEST

START_TEST(test_too_long)
{
	uint8_t *msg = mem_calloc(FRAG_MSG_MAX + 1, 1), *bodies = (uint8_t *)1;
	size_t blen = 1, count = 1;

	ck_assert_int_eq(fragment_split(msg, FRAG_MSG_MAX + 1, 1, test_id, &bodies, &blen, &count),
	    FRAG_ERR_TOO_LONG);
	ck_assert_ptr_null(bodies);
	ck_assert_uint_eq(blen, 0);
	ck_assert_uint_eq(count, 0);
	ck_assert_int_eq(fragment_split(NULL, 1, 1, test_id, &bodies, &blen, &count), FRAG_ERR_ARG);
	ck_assert_int_eq(fragment_split(msg, 1, 0, test_id, &bodies, &blen, &count), FRAG_ERR_ARG);
	ck_assert_int_eq(fragment_split(msg, 1, 1, test_id, NULL, &blen, &count), FRAG_ERR_ARG);
	mem_free(msg);
}
END_TEST

/* The id: drawn fresh for every message when none is given */
START_TEST(test_random_id)
{
	uint8_t msg[100] = { 0 }, *a, *b;
	size_t blen, count;
	unsigned k;
	struct fragment fa, fb;

	a = split_ok(msg, sizeof msg, 2, NULL, &blen, &count, &k);
	b = split_ok(msg, sizeof msg, 2, NULL, &blen, &count, &k);
	ck_assert_int_eq(fragment_parse(a, blen, &fa), FRAG_OK);
	ck_assert_int_eq(fragment_parse(b, blen, &fb), FRAG_OK);
	ck_assert_mem_ne(fa.id, fb.id, FRAG_ID_SIZE);
	ck_assert_int_eq(fragment_parse(a + blen, blen, &fb), FRAG_OK);
	ck_assert_mem_eq(fa.id, fb.id, FRAG_ID_SIZE);	/* one id per message */
	mem_free(a);
	mem_free(b);
}
END_TEST

/* Losses beyond n - k: "not enough parts", counted, every time; k - 1 with repeats too */
START_TEST(test_too_few)
{
	size_t len = 4 * FRAG_SHARD_MAX + 17, blen, count, got_len = 1, m, i;
	unsigned k, which[2 * FRAG_N_MAX], trial, refused = 0;
	uint8_t *msg = mem_alloc(len), *bodies, *got = (uint8_t *)1;

	mcrypto_random(&rng, msg, len);
	bodies = split_ok(msg, len, 1, test_id, &blen, &count, &k);
	ck_assert_uint_eq(k, 5);
	ck_assert_uint_eq(count, 7);
	for (trial = 0; trial < 30; trial++) {
		for (i = 0; i < count; i++)
			which[i] = (unsigned)i;
		shuffle(which, count);
		m = rnd(k);			/* 0 .. k-1 distinct */
		for (i = 0; i < m; i++)		/* and each maybe again */
			if (rnd(2))
				which[m + i] = which[i];
			else
				which[m + i] = which[0];
		refused += assemble_some(bodies, blen, which, m == 0 ? 0 : 2 * m, &got,
		    &got_len) == FRAG_ERR_TOO_FEW;
		ck_assert_ptr_null(got);
		ck_assert_uint_eq(got_len, 0);
	}
	ck_assert_uint_eq(refused, 30);
	ck_assert_str_eq(fragment_strerror(FRAG_ERR_TOO_FEW), "not enough parts");
	mem_free(bodies);
	mem_free(msg);
}
END_TEST

/* Parts of two messages never assemble */
START_TEST(test_mixed)
{
	size_t len = FRAG_WHOLE_MAX + 100, blen, count, blen_c, blen2, count2, got_len;
	unsigned k, k2;
	uint8_t *msg = mem_alloc(len), *a, *b, *c, *w, *got;
	struct fragment f[4], whole;
	const struct fragment *fp[4] = { &f[0], &f[1], &f[2], &f[3] };

	mcrypto_random(&rng, msg, len);
	a = split_ok(msg, len, 1, test_id, &blen, &count, &k);
	b = split_ok(msg, len, 1, other_id, &blen2, &count2, &k2);	/* same text, other id */
	c = split_ok(msg, len - 1, 1, test_id, &blen_c, &count2, &k2);	/* same id, other length */
	w = split_ok(msg, 10, 1, test_id, &blen2, &count2, &k2);	/* a whole body */
	ck_assert_uint_eq(k, 2);
	ck_assert_int_eq(fragment_parse(a, blen, &f[0]), FRAG_OK);
	ck_assert_int_eq(fragment_parse(b + blen, blen, &f[1]), FRAG_OK);
	ck_assert_int_eq(fragment_assemble(fp, 2, &got, &got_len), FRAG_ERR_MIXED);
	ck_assert_int_eq(fragment_parse(c + blen_c, blen_c, &f[1]), FRAG_OK);
	ck_assert_int_eq(fragment_assemble(fp, 2, &got, &got_len), FRAG_ERR_MIXED);
	ck_assert_int_eq(fragment_parse(w, FRAG_WHOLE_HEAD + 10, &whole), FRAG_OK);
	fp[1] = &whole;
	ck_assert_int_eq(fragment_assemble(fp, 2, &got, &got_len), FRAG_ERR_MIXED);
	fp[0] = &whole;
	ck_assert_int_eq(fragment_assemble(fp, 1, &got, &got_len), FRAG_ERR_MIXED);
	/* another k, n or shard length in the same id: a hand-made struct */
	fp[0] = &f[0];
	fp[1] = &f[1];
	f[1] = f[0];
	f[1].index = 1;
	f[1].n = 4;
	ck_assert_int_eq(fragment_assemble(fp, 2, &got, &got_len), FRAG_ERR_MIXED);
	f[1].n = f[0].n;
	f[1].data_len--;
	ck_assert_int_eq(fragment_assemble(fp, 2, &got, &got_len), FRAG_ERR_ARG);
	f[1].data_len++;
	f[1].index = f[1].n;
	ck_assert_int_eq(fragment_assemble(fp, 2, &got, &got_len), FRAG_ERR_ARG);
	ck_assert_int_eq(fragment_assemble(NULL, 2, &got, &got_len), FRAG_ERR_ARG);
	ck_assert_int_eq(fragment_assemble(fp, 0, &got, &got_len), FRAG_ERR_TOO_FEW);
	ck_assert_ptr_null(got);
	mem_free(w);
	mem_free(c);
	mem_free(b);
	mem_free(a);
	mem_free(msg);
}
END_TEST

/*
 * Parts that do not form one code word: a repeated index with another
 * shard, a decoded padding that is not zero, an extra shard that does not
 * match. The same id and length with other text is such a case.
 */
START_TEST(test_inconsistent)
{
	size_t len = 2 * FRAG_SHARD_MAX - 1, blen, count, got_len;	/* k 2, n 3, 1 byte of padding */
	unsigned k;
	uint8_t *msg = mem_alloc(len), *a, *b, *got;
	struct fragment f[3];
	const struct fragment *fp[3] = { &f[0], &f[1], &f[2] };

	mcrypto_random(&rng, msg, len);
	a = split_ok(msg, len, 1, test_id, &blen, &count, &k);
	msg[5]++;
	b = split_ok(msg, len, 1, test_id, &blen, &count, &k);
	ck_assert_uint_eq(k, 2);
	ck_assert_uint_eq(count, 3);

	/* index 0 from a and from b: a conflicting repeat */
	ck_assert_int_eq(fragment_parse(a, blen, &f[0]), FRAG_OK);
	ck_assert_int_eq(fragment_parse(b, blen, &f[1]), FRAG_OK);
	ck_assert_int_eq(fragment_parse(a + blen, blen, &f[2]), FRAG_OK);
	ck_assert_int_eq(fragment_assemble(fp, 3, &got, &got_len), FRAG_ERR_INCONSISTENT);
	ck_assert_ptr_null(got);
	/* shards 0, 1 of a with shard 2 of b: decodes from 0, 1; 2 does not match */
	ck_assert_int_eq(fragment_parse(a + blen, blen, &f[1]), FRAG_OK);
	ck_assert_int_eq(fragment_parse(b + 2 * blen, blen, &f[2]), FRAG_OK);
	ck_assert_int_eq(fragment_assemble(fp, 3, &got, &got_len), FRAG_ERR_INCONSISTENT);
	/* shard 0 of a, shard 2 of b: undetectable with exactly k, as section 6 says */
	fp[1] = &f[2];
	ck_assert_int_eq(fragment_assemble(fp, 2, &got, &got_len), FRAG_OK);
	ck_assert_mem_ne(got, msg, len);
	mem_free(got);
	/* a parity shard whose last byte changed: the decoded padding is not zero */
	a[2 * blen + blen - 1] ^= 0x40;
	ck_assert_int_eq(fragment_parse(a + 2 * blen, blen, &f[2]), FRAG_OK);
	ck_assert_int_eq(fragment_assemble(fp, 2, &got, &got_len), FRAG_ERR_INCONSISTENT);
	ck_assert_ptr_null(got);
	mem_free(b);
	mem_free(a);
	mem_free(msg);
}
END_TEST

/* ---- parse rules -------------------------------------------------------------- */

static uint8_t *pbodies;	/* the bodies of a message of PLEN bytes, k 3, n 4 */
static size_t pblen;
#define PLEN	(3 * FRAG_SHARD_MAX - 2)	/* S = FRAG_SHARD_MAX, 2 bytes of padding */

/* one rejection rule: a change to a copy of body 'body' and the error it must give */
struct reject {
	const char *what;
	unsigned body;		/* 0..3 fragments (2 = k - 1); 4 the whole body "hello" */
	long dlen;		/* change of the length */
	int off;		/* byte to set (-1: none; counted from the end if < -1) */
	uint8_t val;
	enum frag_err err;
};

static const struct reject rejects[] = {
	{ "fragment intact", 1, 0, -1, 0, FRAG_OK },
	{ "whole intact", 4, 0, -1, 0, FRAG_OK },
	{ "empty body", 4, -7, -1, 0, FRAG_ERR_SHORT },
	{ "one byte", 4, -6, -1, 0, FRAG_ERR_SHORT },
	{ "version 0", 4, 0, 0, 0, FRAG_ERR_VERSION },
	{ "version 2", 1, 0, 0, 2, FRAG_ERR_VERSION },
	{ "version 255 in a 1-byte body", 4, -6, 0, 255, FRAG_ERR_SHORT },
	{ "type 0", 4, 0, 1, 0, FRAG_ERR_TYPE },
	{ "type 3", 1, 0, 1, 3, FRAG_ERR_TYPE },
	{ "type 255", 4, 0, 1, 255, FRAG_ERR_TYPE },
	{ "whole body over PKT_BODY_MAX", 4, PKT_BODY_MAX - 6, -1, 0, FRAG_ERR_LENGTH },
	{ "whole body of PKT_BODY_MAX", 4, PKT_BODY_MAX - 7, -1, 0, FRAG_OK },
	{ "fragment of 2 bytes", 1, -(long)(FRAG_SHARD_MAX + 23), -1, 0, FRAG_ERR_SHORT },
	{ "fragment header less 1", 1, -(long)(FRAG_SHARD_MAX + 1), -1, 0, FRAG_ERR_SHORT },
	{ "fragment header only", 1, -(long)FRAG_SHARD_MAX, -1, 0, FRAG_ERR_LENGTH },
	{ "whole type on a fragment", 1, 0, 1, FRAG_TYPE_WHOLE, FRAG_OK },
	{ "k 0", 1, 0, 18, 0, FRAG_ERR_FIELD },
	{ "k 65", 1, 0, 18, 65, FRAG_ERR_FIELD },
	{ "k > n", 1, 0, 18, 5, FRAG_ERR_FIELD },
	{ "n < k", 1, 0, 19, 2, FRAG_ERR_FIELD },
	{ "n 0", 1, 0, 19, 0, FRAG_ERR_FIELD },
	{ "index = n", 1, 0, 20, 4, FRAG_ERR_FIELD },
	{ "index 255", 1, 0, 20, 255, FRAG_ERR_FIELD },
	{ "n 255", 1, 0, 19, 255, FRAG_OK },
	{ "k 4 (the length needs 3)", 1, 0, 18, 4, FRAG_ERR_LENGTH },
	{ "k 1 (the length needs 3)", 1, 0, 18, 1, FRAG_ERR_LENGTH },
	{ "length over 2^31", 1, 0, 21, 0xff, FRAG_ERR_LENGTH },
	{ "length over FRAG_MSG_MAX", 1, 0, 22, 0x20, FRAG_ERR_LENGTH },
	{ "length 10 with k 3", 1, 0, 23, 0, FRAG_ERR_LENGTH },
	{ "shard 1 byte short", 1, -1, -1, 0, FRAG_ERR_LENGTH },
	{ "shard 1 byte long", 1, 1, -1, 0, FRAG_ERR_LENGTH },
	{ "shard over FRAG_SHARD_MAX", 1, 2, -1, 0, FRAG_ERR_LENGTH },
	{ "padding: last byte of shard k-1", 2, 0, -2, 1, FRAG_ERR_PADDING },
	{ "padding: first padding byte", 2, 0, -3, 0x80, FRAG_ERR_PADDING },
	{ "not padding: byte before it", 2, 0, -4, 0xff, FRAG_OK },
	{ "not padding: last byte of shard 0", 0, 0, -2, 1, FRAG_OK },
	{ "not padding: last byte of parity", 3, 0, -2, 1, FRAG_OK },
};
#define NREJECTS	(sizeof rejects / sizeof rejects[0])

static void
make_pbodies(void)
{
	uint8_t *msg = mem_alloc(PLEN);
	size_t count;
	unsigned k;

	setup();
	memset(msg, 'm', PLEN);
	mem_free(pbodies);	/* a test may make them again (CK_FORK=no: one process) */
	pbodies = split_ok(msg, PLEN, 1, test_id, &pblen, &count, &k);
	ck_assert_uint_eq(pblen, PKT_BODY_MAX);
	ck_assert_uint_eq(count, 4);
	mem_free(msg);
}

START_TEST(test_parse_rules)
{
	const struct reject *r = &rejects[_i];
	size_t base, len, i;
	uint8_t *b;
	struct fragment f;
	enum frag_err err;

	if (pbodies == NULL)
		make_pbodies();
	base = r->body == 4 ? 7 : pblen;
	len = (size_t)((long)base + r->dlen);
	b = mem_calloc(len ? len : 1, 1);
	if (r->body == 4)
		memcpy(b, "\x01\x01hello", len < 7 ? len : 7);
	else
		memcpy(b, pbodies + r->body * pblen, len < pblen ? len : pblen);
	if (r->off >= 0)
		b[r->off] = r->val;
	else if (r->off < -1)
		b[len - (size_t)(-r->off - 1)] = r->val;	/* -2: the last byte */
	/* the exact length: ASan sees any read past it */
	err = fragment_parse(b, len, &f);
	ck_assert_msg(err == r->err, "%s: %s", r->what, fragment_strerror(err));
	if (err != FRAG_OK) {
		for (i = 0; i < sizeof f && ((const uint8_t *)&f)[i] == 0; i++)
			;
		ck_assert_msg(i == sizeof f, "%s: output not cleared", r->what);
	} else if (f.type == FRAG_TYPE_FRAGMENT) {
		ck_assert_ptr_eq(f.data, b + FRAG_HEAD);
		ck_assert_uint_eq(f.data_len, len - FRAG_HEAD);
	} else {
		ck_assert_ptr_eq(f.data, b + FRAG_WHOLE_HEAD);
		ck_assert_uint_eq(f.data_len, len - FRAG_WHOLE_HEAD);
	}
	mem_free(b);
}
END_TEST

/* The fields of a parsed fragment, one by one */
START_TEST(test_parse_fields)
{
	struct fragment f;

	make_pbodies();
	ck_assert_int_eq(fragment_parse(pbodies + 2 * pblen, pblen, &f), FRAG_OK);
	ck_assert_int_eq(f.type, FRAG_TYPE_FRAGMENT);
	ck_assert_mem_eq(f.id, test_id, FRAG_ID_SIZE);
	ck_assert_uint_eq(f.k, 3);
	ck_assert_uint_eq(f.n, 4);
	ck_assert_uint_eq(f.index, 2);
	ck_assert_uint_eq(f.data_len, FRAG_SHARD_MAX);
	ck_assert_uint_eq(f.msg_len, PLEN);
	ck_assert_uint_eq(get_be32(pbodies + 2 * pblen + 21), PLEN);
	ck_assert_uint_eq(pbodies[2 * pblen], FRAG_VERSION);
	ck_assert_uint_eq(pbodies[2 * pblen + 1], FRAG_TYPE_FRAGMENT);
	ck_assert_int_eq(fragment_parse(NULL, 5, &f), FRAG_ERR_ARG);
	ck_assert_int_eq(fragment_parse(pbodies, pblen, NULL), FRAG_ERR_ARG);
	ck_assert_str_eq(fragment_strerror(FRAG_ERR_PADDING), "nonzero padding");
	mem_free(pbodies);
	pbodies = NULL;
}
END_TEST

/* One shape per length: S = ceil(L / k) is not enough, k must be the smallest that fits */
START_TEST(test_parse_shape)
{
	uint8_t b[FRAG_HEAD + 100];
	struct fragment f;

	memset(b, 0, sizeof b);
	b[0] = FRAG_VERSION;
	b[1] = FRAG_TYPE_FRAGMENT;
	memcpy(b + 2, test_id, FRAG_ID_SIZE);
	b[18] = 1;
	b[19] = 3;
	b[20] = 2;
	put_be32(b + 21, 100);
	ck_assert_int_eq(fragment_parse(b, FRAG_HEAD + 100, &f), FRAG_OK);
	b[18] = 2;		/* 100 bytes in two shards of 50 */
	ck_assert_int_eq(fragment_parse(b, FRAG_HEAD + 50, &f), FRAG_ERR_LENGTH);
	b[18] = 3;		/* in three of 34 */
	ck_assert_int_eq(fragment_parse(b, FRAG_HEAD + 34, &f), FRAG_ERR_LENGTH);
	b[18] = 1;		/* the empty message: one empty shard */
	put_be32(b + 21, 0);
	ck_assert_int_eq(fragment_parse(b, FRAG_HEAD, &f), FRAG_OK);
	ck_assert_uint_eq(f.data_len, 0);
	ck_assert_int_eq(fragment_parse(b, FRAG_HEAD + 1, &f), FRAG_ERR_LENGTH);
}
END_TEST

/* Every truncation and every single-byte header change of a fragment: no crash, a sane answer */
START_TEST(test_parse_mutations)
{
	uint8_t msg[40], *bodies, *b;
	size_t blen, count, len, i;
	unsigned k, v;
	struct fragment f;
	enum frag_err err;

	memset(msg, 'x', sizeof msg);
	bodies = split_ok(msg, sizeof msg, 3, test_id, &blen, &count, &k);
	ck_assert_uint_eq(blen, FRAG_HEAD + sizeof msg);
	for (len = 0; len < blen; len++) {
		b = mem_alloc(len);
		memcpy(b, bodies, len);
		ck_assert_int_ne(fragment_parse(b, len, &f), FRAG_OK);
		mem_free(b);
	}
	b = mem_alloc(blen);
	for (i = 0; i < FRAG_HEAD; i++) {
		for (v = 0; v < 256; v++) {
			memcpy(b, bodies + blen, blen);
			b[i] = (uint8_t)v;
			err = fragment_parse(b, blen, &f);
			if (err != FRAG_OK)
				continue;
			/* accepted: either the same fragment or a sound other one */
			if (f.type == FRAG_TYPE_WHOLE) {
				ck_assert_uint_eq(f.msg_len, blen - FRAG_WHOLE_HEAD);
			} else {
				ck_assert_uint_le(f.k, f.n);
				ck_assert_uint_lt(f.index, f.n);
				ck_assert_uint_ge((size_t)f.k * f.data_len, f.msg_len);
			}
		}
	}
	mem_free(b);
	mem_free(bodies);
}
END_TEST

/* ---- fuzz seeds as golden files --------------------------------------------- */

/*
 * The seeds in fuzz/corpus/fragment/: single bodies (what fuzz-fragment
 * parses as one body) and sets (records of a 2-byte big-endian length and
 * a body, what it assembles). MIX_WRITE_SEEDS=1 rewrites them (from a
 * build directory: top_srcdir=... tests/check_fragment).
 */
static const struct seed {
	const char *name;
	enum frag_err err;	/* parse for a body, assemble for a set */
} seeds[] = {
	{ "whole-empty", FRAG_OK },
	{ "whole-short", FRAG_OK },
	{ "whole-max", FRAG_OK },
	{ "frag-copies", FRAG_OK },
	{ "frag-k2-last", FRAG_OK },
	{ "frag-k2-parity", FRAG_OK },
	{ "bad-version", FRAG_ERR_VERSION },
	{ "bad-type", FRAG_ERR_TYPE },
	{ "bad-k-over-n", FRAG_ERR_FIELD },
	{ "bad-length", FRAG_ERR_LENGTH },
	{ "bad-padding", FRAG_ERR_PADDING },
	{ "set-copies", FRAG_OK },
	{ "set-k2-decode", FRAG_OK },
	{ "set-k2-too-few", FRAG_ERR_TOO_FEW },
	{ "set-mixed", FRAG_ERR_MIXED },
};
#define NSEEDS	(sizeof seeds / sizeof seeds[0])
#define SEED_TEXT	"To: someone@example.org\nSubject: seed\n\nhello\n"

/* add_record - append a record (BE16 length, body) to buf at *len */
static void
add_record(uint8_t *buf, size_t *len, const uint8_t *body, size_t blen)
{
	buf[*len] = (uint8_t)(blen >> 8);
	buf[*len + 1] = (uint8_t)blen;
	memcpy(buf + *len + 2, body, blen);
	*len += 2 + blen;
}

/* make_seed - seed number s into buf (room for 4 full bodies and records); its length */
static size_t
make_seed(size_t s, uint8_t *buf)
{
	static uint8_t text[FRAG_WHOLE_MAX + 2];
	uint8_t *b1, *b2;
	size_t l1, l2, c, len = 0;
	unsigned k;

	for (c = 0; c < sizeof text; c++)
		text[c] = (uint8_t)("seed text "[c % 10]);
	/* a short message with 3 copies; a message of FRAG_WHOLE_MAX + 2 bytes, k 2 */
	b1 = split_ok((const uint8_t *)SEED_TEXT, sizeof SEED_TEXT - 1, 3, test_id, &l1, &c, &k);
	b2 = split_ok(text, sizeof text, 1, other_id, &l2, &c, &k);
	ck_assert_uint_eq(k, 2);
	switch (s) {
	case 0:
		memcpy(buf, "\x01\x01", 2);
		len = 2;
		break;
	case 1:
		memcpy(buf, "\x01\x01" SEED_TEXT, 2 + sizeof SEED_TEXT - 1);
		len = 2 + sizeof SEED_TEXT - 1;
		break;
	case 2:
		buf[0] = FRAG_VERSION;
		buf[1] = FRAG_TYPE_WHOLE;
		memcpy(buf + 2, text, FRAG_WHOLE_MAX);
		len = PKT_BODY_MAX;
		break;
	case 3:
		memcpy(buf, b1 + l1, l1);
		len = l1;
		break;
	case 4:
	case 10:
		memcpy(buf, b2 + l2, l2);	/* index 1 = k - 1: carries the padding */
		len = l2;
		if (s == 10)
			buf[len - 1] = '!';
		break;
	case 5:
		memcpy(buf, b2 + 2 * l2, l2);
		len = l2;
		break;
	case 6:
	case 7:
	case 8:
	case 9:
		memcpy(buf, b1, l1);
		len = l1;
		if (s == 6)
			buf[0] = 2;
		else if (s == 7)
			buf[1] = 7;
		else if (s == 8)
			buf[18] = 4;
		else
			len--;
		break;
	case 11:
		add_record(buf, &len, b1 + 2 * l1, l1);
		add_record(buf, &len, b1, l1);
		add_record(buf, &len, b1 + l1, l1);
		break;
	case 12:
		add_record(buf, &len, b2 + 2 * l2, l2);
		add_record(buf, &len, b2, l2);
		add_record(buf, &len, b2 + 2 * l2, l2);
		break;
	case 13:
		add_record(buf, &len, b2 + l2, l2);
		add_record(buf, &len, b2 + l2, l2);
		break;
	case 14:
		add_record(buf, &len, b1, l1);
		add_record(buf, &len, b2 + l2, l2);
		break;
	}
	mem_free(b1);
	mem_free(b2);
	return len;
}

/* seed_result - parse a body, or parse and assemble a set of records */
static enum frag_err
seed_result(size_t s, const uint8_t *buf, size_t len)
{
	struct fragment f[8];
	const struct fragment *fp[8];
	size_t m = 0, off = 0, l, got_len;
	uint8_t *got;
	enum frag_err err;

	if (strncmp(seeds[s].name, "set-", 4) != 0)
		return fragment_parse(buf, len, &f[0]);
	while (off < len) {
		l = (size_t)buf[off] << 8 | buf[off + 1];
		ck_assert_int_eq(fragment_parse(buf + off + 2, l, &f[m]), FRAG_OK);
		fp[m] = &f[m];
		m++;
		off += 2 + l;
	}
	err = fragment_assemble(fp, m, &got, &got_len);
	if (err == FRAG_OK) {
		ck_assert(got_len == sizeof SEED_TEXT - 1 || got_len == FRAG_WHOLE_MAX + 2);
		if (got_len == sizeof SEED_TEXT - 1)
			ck_assert_mem_eq(got, SEED_TEXT, got_len);
		else
			ck_assert_mem_eq(got, "seed text seed", 14);
		mem_free(got);
	}
	return err;
}

START_TEST(test_seeds)
{
	const char *w = getenv("MIX_WRITE_SEEDS"), *path;
	uint8_t *buf = mem_alloc(4 * (PKT_BODY_MAX + 2)), *file;
	size_t len, flen;
	char rel[256];
	FILE *fp;

	len = make_seed((size_t)_i, buf);
	ck_assert_int_eq(seed_result((size_t)_i, buf, len), seeds[_i].err);
	snprintf(rel, sizeof rel, "../fuzz/corpus/fragment/%s", seeds[_i].name);
	path = tu_srcpath(rel);
	if (w != NULL && strcmp(w, "1") == 0) {
		fp = fopen(path, "wb");
		ck_assert_msg(fp != NULL, "cannot write %s", path);
		ck_assert_uint_eq(fwrite(buf, 1, len, fp), len);
		ck_assert_int_eq(fclose(fp), 0);
	}
	file = tu_read_file(path, &flen);
	ck_assert_uint_eq(flen, len);
	ck_assert_mem_eq(file, buf, len);
	free(file);
	mem_free(buf);
}
END_TEST

START_TEST(test_strerror)
{
	int e;

	for (e = FRAG_OK; e <= FRAG_ERR_INCONSISTENT; e++)
		ck_assert_str_ne(fragment_strerror((enum frag_err)e), "unknown error");
	for (e = FEC_OK; e <= FEC_ERR_DUPLICATE; e++)
		ck_assert_str_ne(fec_strerror((enum fec_err)e), "unknown error");
}
END_TEST

static Suite *
fragment_suite(void)
{
	Suite *s = suite_create("fragment");
	TCase *tg = tcase_create("field"), *tc = tcase_create("code"),
	    *tf = tcase_create("format");

	tcase_add_checked_fixture(tg, setup, NULL);
	tcase_add_test(tg, test_gf_tables);
	tcase_add_test(tg, test_gf_axioms);
	suite_add_tcase(s, tg);

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_fec_kat);
	tcase_add_loop_test(tc, test_fec_reference, 0, NDIMS);
	tcase_add_loop_test(tc, test_fec_losses, 0, NDIMS);
	tcase_add_loop_test(tc, test_fec_too_few, 0, NDIMS);
	tcase_add_test(tc, test_fec_args);
	tcase_add_test(tc, test_fec_in_place);
	suite_add_tcase(s, tc);

	tcase_add_checked_fixture(tf, setup, NULL);
	tcase_add_test(tf, test_plan);
	tcase_add_loop_test(tf, test_roundtrip, 0, 2 * NMSG);
	tcase_add_test(tf, test_too_long);
	tcase_add_test(tf, test_random_id);
	tcase_add_test(tf, test_too_few);
	tcase_add_test(tf, test_mixed);
	tcase_add_test(tf, test_inconsistent);
	tcase_add_loop_test(tf, test_parse_rules, 0, NREJECTS);
	tcase_add_test(tf, test_parse_fields);
	tcase_add_test(tf, test_parse_shape);
	tcase_add_test(tf, test_parse_mutations);
	tcase_add_loop_test(tf, test_seeds, 0, NSEEDS);
	tcase_add_test(tf, test_strerror);
	suite_add_tcase(s, tf);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(fragment_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
