/*
 * check_pkt.c - unit tests of the packet format: round trips for every path
 * length, tampering in every region before every hop, wrong keys, bad
 * sizes and garbage, routing-block validation.
 */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "mcrypto.h"
#include "pkt.h"
#include "testutil.h"

static uint8_t body[PKT_BODY_MAX];

static void
setup(void)
{
	size_t i;

	tu_init();
	for (i = 0; i < sizeof body; i++)
		body[i] = (uint8_t)(i * 7 + 3);
}

/* walk - unwrap pkt through hops; returns the result of the last unwrap */
static enum pkt_err
walk(uint8_t *pkt, const struct pkt_hop *hops, const struct pkt_key *keys, size_t n,
    struct pkt_result *res, uint8_t *out, size_t *fail_hop)
{
	enum pkt_err err = PKT_OK;
	size_t i;

	for (i = 0; i < n; i++) {
		err = pkt_unwrap(pkt, PKT_SIZE, &keys[i], 1, res, out);
		if (err != PKT_OK) {
			*fail_hop = i;
			return err;
		}
		if (i + 1 < n) {
			ck_assert_int_eq(res->cmd, PKT_CMD_FORWARD);
			ck_assert_str_eq(res->next_addr, hops[i + 1].addr);
			ck_assert_uint_eq(res->out_len, PKT_SIZE);
			memcpy(pkt, out, PKT_SIZE);
		}
		ck_assert_uint_eq(res->delay, hops[i].delay);
	}
	*fail_hop = n;
	return err;
}

START_TEST(test_roundtrip_every_length)
{
	struct pkt_hop hops[PKT_MAX_HOPS];
	struct pkt_key keys[PKT_MAX_HOPS];
	struct pkt_result res;
	uint8_t *pkt = malloc(PKT_SIZE), *out = malloc(PKT_SIZE);
	size_t n = (size_t)_i, fail, blen = (n * 1013) % (PKT_BODY_MAX + 1);

	tu_path(hops, keys, n);
	ck_assert_int_eq(pkt_build(pkt, hops, n, PKT_CMD_DELIVER, body, blen, NULL), PKT_OK);
	ck_assert_int_eq(pkt[0], PKT_VERSION);
	ck_assert_int_eq(walk(pkt, hops, keys, n, &res, out, &fail), PKT_OK);
	ck_assert_int_eq(res.cmd, PKT_CMD_DELIVER);
	ck_assert_uint_eq(res.out_len, blen);
	ck_assert_mem_eq(out, body, blen);
	free(pkt);
	free(out);
}
END_TEST

START_TEST(test_body_sizes)
{
	static const size_t sizes[] = { 0, 1, 16, 17, 1000, PKT_BODY_MAX - 1, PKT_BODY_MAX };
	struct pkt_hop hops[3];
	struct pkt_key keys[3];
	struct pkt_result res;
	uint8_t *pkt = malloc(PKT_SIZE), *out = malloc(PKT_SIZE);
	size_t fail, blen = sizes[_i];

	tu_path(hops, keys, 3);
	ck_assert_int_eq(pkt_build(pkt, hops, 3, PKT_CMD_DELIVER, body, blen, NULL), PKT_OK);
	ck_assert_int_eq(walk(pkt, hops, keys, 3, &res, out, &fail), PKT_OK);
	ck_assert_uint_eq(res.out_len, blen);
	ck_assert_mem_eq(out, body, blen);
	free(pkt);
	free(out);
}
END_TEST

START_TEST(test_drop)
{
	struct pkt_hop hops[4];
	struct pkt_key keys[4];
	struct pkt_result res;
	uint8_t *pkt = malloc(PKT_SIZE), *out = malloc(PKT_SIZE);
	size_t fail;

	tu_path(hops, keys, 4);
	ck_assert_int_eq(pkt_build(pkt, hops, 4, PKT_CMD_DROP, NULL, 0, NULL), PKT_OK);
	ck_assert_int_eq(walk(pkt, hops, keys, 4, &res, out, &fail), PKT_OK);
	ck_assert_int_eq(res.cmd, PKT_CMD_DROP);
	ck_assert_uint_eq(res.out_len, 0);
	free(pkt);
	free(out);
}
END_TEST

START_TEST(test_build_rejects)
{
	struct pkt_hop hops[PKT_MAX_HOPS + 1];
	struct pkt_key keys[PKT_MAX_HOPS];
	uint8_t *pkt = malloc(PKT_SIZE);

	tu_path(hops, keys, PKT_MAX_HOPS);
	hops[PKT_MAX_HOPS] = hops[0];
	ck_assert_int_eq(pkt_build(pkt, hops, 0, PKT_CMD_DELIVER, body, 1, NULL), PKT_ERR_ARG);
	ck_assert_int_eq(pkt_build(pkt, hops, PKT_MAX_HOPS + 1, PKT_CMD_DELIVER, body, 1, NULL),
	    PKT_ERR_ARG);
	ck_assert_int_eq(pkt_build(pkt, hops, 2, PKT_CMD_DELIVER, body, PKT_BODY_MAX + 1, NULL),
	    PKT_ERR_ARG);
	ck_assert_int_eq(pkt_build(pkt, hops, 2, PKT_CMD_FORWARD, body, 1, NULL), PKT_ERR_ARG);
	ck_assert_int_eq(pkt_build(pkt, hops, 2, PKT_CMD_SURB, body, 1, NULL), PKT_ERR_ARG);
	hops[1].addr = "no-at-sign";
	ck_assert_int_eq(pkt_build(pkt, hops, 2, PKT_CMD_DELIVER, body, 1, NULL), PKT_ERR_ARG);
	hops[1].addr = NULL;
	ck_assert_int_eq(pkt_build(pkt, hops, 2, PKT_CMD_DELIVER, body, 1, NULL), PKT_ERR_ARG);
	/* hop 0's address is never carried, so it may be absent */
	tu_path(hops, keys, 2);
	hops[0].addr = NULL;
	ck_assert_int_eq(pkt_build(pkt, hops, 2, PKT_CMD_DELIVER, body, 1, NULL), PKT_OK);
	/* an all-zero (low-order) node key cannot be used */
	memset(hops[1].pk, 0, 32);
	ck_assert_int_eq(pkt_build(pkt, hops, 2, PKT_CMD_DELIVER, body, 1, NULL), PKT_ERR_POINT);
	free(pkt);
}
END_TEST

START_TEST(test_addr_valid)
{
	static const char *good[] = { "a@b", "node1@mix.example.org", "x.y+z@h-1.test",
		"!#$%&'*+-/=?^_`{|}~@x.y" };
	static const char *bad[] = { "", "a", "ab", "@b.c", "a@", "a@@b", "a@b@c", ".a@b",
		"a.@b", "a..b@c", "a@b..c", "a@.b", "a@b.", "a b@c", "a@b c", "a\n@b", "<a@b>",
		"a@b_c", "\"a\"@b", "a@b\x7f", "a@b\x80" };
	char longaddr[PKT_ADDR_MAX + 2];
	size_t i;

	for (i = 0; i < sizeof good / sizeof *good; i++)
		ck_assert_msg(pkt_addr_valid(good[i], strlen(good[i])), "good: %s", good[i]);
	for (i = 0; i < sizeof bad / sizeof *bad; i++)
		ck_assert_msg(!pkt_addr_valid(bad[i], strlen(bad[i])), "bad: %s", bad[i]);
	ck_assert(!pkt_addr_valid("a\0@b", 4));
	memset(longaddr, 'a', sizeof longaddr);
	longaddr[1] = '@';
	ck_assert(pkt_addr_valid(longaddr, PKT_ADDR_MAX));
	ck_assert(!pkt_addr_valid(longaddr, PKT_ADDR_MAX + 1));
}
END_TEST

/* Regions of a packet to tamper with, as (offset, length) */
static const struct { const char *name; size_t off, len; } regions[] = {
	{ "version", PKT_OFF_VERSION, 1 },
	{ "alpha", PKT_OFF_ALPHA, PKT_ALPHA_SIZE },
	{ "beta start", PKT_OFF_BETA, PKT_RB_SIZE },
	{ "beta middle", PKT_OFF_BETA + PKT_RB_SIZE, PKT_ROUTING_SIZE - 2 * PKT_RB_SIZE },
	{ "beta end", PKT_OFF_GAMMA - PKT_RB_SIZE, PKT_RB_SIZE },
	{ "gamma", PKT_OFF_GAMMA, PKT_MAC_SIZE },
	{ "payload start", PKT_OFF_PAYLOAD, 64 },
	{ "payload middle", PKT_OFF_PAYLOAD + 64, PKT_PAYLOAD_SIZE - 128 },
	{ "payload end", PKT_SIZE - 64, 64 },
};
#define NREGIONS (sizeof regions / sizeof *regions)

/*
 * Flip one random bit of one region before hop h of a 5-hop path, many
 * times: the packet must fail at that hop (header) or by the exit
 * (payload), and never deliver a body other than the one sent.
 */
START_TEST(test_tamper)
{
	enum { N = 5, TRIALS = 6 };
	struct pkt_hop hops[N];
	struct pkt_key keys[N];
	struct pkt_result res;
	uint8_t *orig = malloc(PKT_SIZE), *pkt = malloc(PKT_SIZE), *out = malloc(PKT_SIZE);
	size_t r = (size_t)_i % NREGIONS, h = (size_t)_i / NREGIONS, t, i;

	tu_path(hops, keys, N);
	ck_assert_int_eq(pkt_build(orig, hops, N, PKT_CMD_DELIVER, body, 5000, NULL), PKT_OK);
	for (t = 0; t < TRIALS; t++) {
		enum pkt_err err = PKT_OK;
		size_t bit = mcrypto_uniform((uint32_t)(regions[r].len * 8));

		memcpy(pkt, orig, PKT_SIZE);
		/* bring the packet to hop h honestly */
		for (i = 0; i < h; i++) {
			ck_assert_int_eq(pkt_unwrap(pkt, PKT_SIZE, &keys[i], 1, &res, out), PKT_OK);
			memcpy(pkt, out, PKT_SIZE);
		}
		pkt[regions[r].off + bit / 8] ^= (uint8_t)(1u << (bit % 8));
		for (i = h; i < N; i++) {
			err = pkt_unwrap(pkt, PKT_SIZE, &keys[i], 1, &res, out);
			if (err != PKT_OK)
				break;
			if (res.cmd == PKT_CMD_FORWARD)
				memcpy(pkt, out, PKT_SIZE);
		}
		ck_assert_msg(err != PKT_OK, "%s flipped before hop %zu was delivered",
		    regions[r].name, h);
		if (regions[r].off < PKT_OFF_PAYLOAD)
			ck_assert_msg(i == h, "header tamper (%s) passed hop %zu", regions[r].name, h);
		else
			ck_assert_msg(i == N - 1 && err == PKT_ERR_TAG,
			    "payload tamper (%s) not caught by the exit tag (%s at hop %zu)",
			    regions[r].name, pkt_strerror(err), i);
	}
	free(orig);
	free(pkt);
	free(out);
}
END_TEST

START_TEST(test_wrong_key_and_multikey)
{
	struct pkt_hop hops[3];
	struct pkt_key keys[3], ring[3];
	struct pkt_result res;
	uint8_t *pkt = malloc(PKT_SIZE), *out = malloc(PKT_SIZE);

	tu_path(hops, keys, 3);
	ck_assert_int_eq(pkt_build(pkt, hops, 3, PKT_CMD_DELIVER, body, 100, NULL), PKT_OK);
	ck_assert_int_eq(pkt_unwrap(pkt, PKT_SIZE, &keys[1], 1, &res, out), PKT_ERR_MAC);
	/* a node with several live keys: the right one is found wherever it is */
	tu_node_key(&ring[0], 100);
	tu_node_key(&ring[1], 101);
	ring[2] = keys[0];
	ck_assert_int_eq(pkt_unwrap(pkt, PKT_SIZE, ring, 3, &res, out), PKT_OK);
	ck_assert_uint_eq(res.key_index, 2);
	ck_assert_int_eq(pkt_unwrap(pkt, PKT_SIZE, ring, 2, &res, out), PKT_ERR_MAC);
	ck_assert_int_eq(pkt_unwrap(pkt, PKT_SIZE, ring, 0, &res, out), PKT_ERR_MAC);
	free(pkt);
	free(out);
}
END_TEST

START_TEST(test_replay_tag)
{
	struct pkt_hop hops[2];
	struct pkt_key keys[2];
	struct pkt_result r1, r2;
	uint8_t *p1 = malloc(PKT_SIZE), *p2 = malloc(PKT_SIZE), *out = malloc(PKT_SIZE);

	tu_path(hops, keys, 2);
	ck_assert_int_eq(pkt_build(p1, hops, 2, PKT_CMD_DELIVER, body, 10, NULL), PKT_OK);
	ck_assert_int_eq(pkt_build(p2, hops, 2, PKT_CMD_DELIVER, body, 10, NULL), PKT_OK);
	ck_assert_int_eq(pkt_unwrap(p1, PKT_SIZE, &keys[0], 1, &r1, out), PKT_OK);
	ck_assert_int_eq(pkt_unwrap(p1, PKT_SIZE, &keys[0], 1, &r2, out), PKT_OK);
	ck_assert_mem_eq(r1.replay_tag, r2.replay_tag, PKT_REPLAY_TAG_SIZE);
	/* a variant with a changed payload keeps the tag: a replay cache drops it */
	p1[PKT_SIZE - 1] ^= 1;
	ck_assert_int_eq(pkt_unwrap(p1, PKT_SIZE, &keys[0], 1, &r2, out), PKT_OK);
	ck_assert_mem_eq(r1.replay_tag, r2.replay_tag, PKT_REPLAY_TAG_SIZE);
	/* another packet for the same path has another tag */
	ck_assert_int_eq(pkt_unwrap(p2, PKT_SIZE, &keys[0], 1, &r2, out), PKT_OK);
	ck_assert(memcmp(r1.replay_tag, r2.replay_tag, PKT_REPLAY_TAG_SIZE) != 0);
	free(p1);
	free(p2);
	free(out);
}
END_TEST

/* Inputs of the wrong size are rejected without reading past their end. */
START_TEST(test_sizes_and_garbage)
{
	static const size_t lens[] = { 0, 1, PKT_HEADER_SIZE, PKT_SIZE - 1, PKT_SIZE + 1 };
	struct pkt_key key;
	struct pkt_result res;
	uint8_t *out = malloc(PKT_SIZE), *g;
	size_t i, t;

	tu_node_key(&key, 0);
	for (i = 0; i < sizeof lens / sizeof *lens; i++) {
		g = malloc(lens[i] ? lens[i] : 1);	/* exact size: ASan sees overreads */
		memset(g, 1, lens[i]);
		if (lens[i] > 0)
			g[0] = PKT_VERSION;
		ck_assert_int_eq(pkt_unwrap(g, lens[i], &key, 1, &res, out), PKT_ERR_SIZE);
		free(g);
	}
	g = malloc(PKT_SIZE);
	for (t = 0; t < 50; t++) {
		mcrypto_random(NULL, g, PKT_SIZE);
		g[0] = PKT_VERSION;
		ck_assert_int_ne(pkt_unwrap(g, PKT_SIZE, &key, 1, &res, out), PKT_OK);
	}
	memset(g, 0, PKT_SIZE);
	g[0] = PKT_VERSION;		/* alpha all zero: a low-order point */
	ck_assert_int_eq(pkt_unwrap(g, PKT_SIZE, &key, 1, &res, out), PKT_ERR_POINT);
	g[0] = 2;
	ck_assert_int_eq(pkt_unwrap(g, PKT_SIZE, &key, 1, &res, out), PKT_ERR_VERSION);
	ck_assert_int_eq(pkt_unwrap(NULL, PKT_SIZE, &key, 1, &res, out), PKT_ERR_ARG);
	free(g);
	free(out);
}
END_TEST

/* Nothing about a packet's position shows on the wire: two packets with
 * paths of 1 and 16 hops look alike (no long runs of equal bytes). */
START_TEST(test_no_visible_padding)
{
	struct pkt_hop hops[PKT_MAX_HOPS];
	struct pkt_key keys[PKT_MAX_HOPS];
	uint8_t *pkt = malloc(PKT_SIZE);
	size_t n, i, run, maxrun;

	tu_path(hops, keys, PKT_MAX_HOPS);
	for (n = 1; n <= PKT_MAX_HOPS; n += PKT_MAX_HOPS - 1) {
		ck_assert_int_eq(pkt_build(pkt, hops, n, PKT_CMD_DELIVER, body, 0, NULL), PKT_OK);
		for (i = 2, run = 1, maxrun = 1; i < PKT_SIZE; i++) {
			run = pkt[i] == pkt[i - 1] ? run + 1 : 1;
			if (run > maxrun)
				maxrun = run;
		}
		ck_assert_msg(maxrun < 6, "run of %zu equal bytes in a %zu-hop packet", maxrun, n);
	}
	free(pkt);
}
END_TEST

static Suite *
pkt_suite(void)
{
	Suite *s = suite_create("pkt");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, test_roundtrip_every_length, 1, PKT_MAX_HOPS + 1);
	tcase_add_loop_test(tc, test_body_sizes, 0, 7);
	tcase_add_test(tc, test_drop);
	tcase_add_test(tc, test_build_rejects);
	tcase_add_test(tc, test_addr_valid);
	tcase_add_loop_test(tc, test_tamper, 0, (int)(NREGIONS * 5));
	tcase_add_test(tc, test_wrong_key_and_multikey);
	tcase_add_test(tc, test_replay_tag);
	tcase_add_test(tc, test_sizes_and_garbage);
	tcase_add_test(tc, test_no_visible_padding);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(pkt_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
