/*
 * check_reasm.c - the exit's fragment store (src/reasm.c, doc/INTERNALS.md
 * section 8): the fragments of a k = 3, n = 4 message added in all 24
 * orders, duplicates, a set ready with exactly k, the assembled bytes;
 * late fragments after done and after expiry; mixed sets and garbage;
 * deferral, not-before and the skip list; an in-flight set found by the
 * next open (uncertain); fail; expiry; limits; damaged files on disk;
 * the crash states between the steps of done and give-up; names and times
 * on disk; and a child killed with SIGKILL at random instants, 200 times.
 *
 * Every test works in a store of its own under one temporary directory
 * ($TMPDIR or /tmp), made before the tests and removed after them.
 */
#include <config.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <check.h>

#include "fragment.h"
#include "mcrypto.h"
#include "mem.h"
#include "reasm.h"
#include "testutil.h"

#define NOW		1700000000	/* a plausible "now" for the tests */
#define LONG_LEN	40000		/* k = 3, n = 4 */
#define CRASH_ROUNDS	200

/* not in reasm.h: the test's way to make the store's limits small */
void reasm_set_limits_for_tests(struct reasm *r, size_t max_sets, uint64_t max_bytes);

static char tmproot[1024];
static const uint8_t names_key[32] = {
	'r', 'e', 'a', 's', 'm', '-', 'n', 'a', 'm', 'e', 's', '-', 'k', 'e', 'y', '-',
	'f', 'o', 'r', '-', 't', 'e', 's', 't', 's', '-', 'o', 'n', 'l', 'y', '.', '!'
};

/* A split message: msg, and count bodies of blen bytes */
struct split {
	uint8_t id[FRAG_ID_SIZE];
	uint8_t *msg;
	size_t len;
	uint8_t *bodies;
	size_t blen, count;
	char name[REASM_NAME_LEN + 1];	/* the set's name, by section 8.1 */
};

/* ---- fixtures and helpers ---------------------------------------------------- */

static void
make_root(void)
{
	tu_make_tmpdir(tmproot, sizeof tmproot, "check_reasm");
}

static void
remove_root(void)
{
	tu_rm_tree(tmproot);
}

static void
setup(void)
{
	tu_init();
}

/* path - root/a[/b[/c]] in one of four static buffers */
static const char *
path(const char *a, const char *b, const char *c)
{
	static char buf[4][PATH_MAX];
	static int next;
	char *p = buf[next++ % 4];

	snprintf(p, PATH_MAX, "%s/%s%s%s%s%s", tmproot, a, b ? "/" : "", b ? b : "",
	    c ? "/" : "", c ? c : "");
	return p;
}

/* open_store - root/test/store with root/test/failed; *uncertain if wanted */
static struct reasm *
open_store(const char *test, size_t *uncertain)
{
	struct reasm *r = NULL;
	size_t u;
	char dir[PATH_MAX], failed[PATH_MAX];

	mkdir(path(test, NULL, NULL), 0700);
	snprintf(dir, sizeof dir, "%s", path(test, "store", NULL));
	snprintf(failed, sizeof failed, "%s", path(test, "failed", NULL));
	ck_assert_int_eq(reasm_open(&r, dir, failed, names_key, &u), REASM_OK);
	ck_assert_ptr_nonnull(r);
	if (uncertain != NULL)
		*uncertain = u;
	else
		ck_assert_uint_eq(u, 0);
	return r;
}

/* expected_name - hex(BLAKE2b-256(key = names_key, "mixmail-reasm-set" || id))[0..32) */
static void
expected_name(const uint8_t id[FRAG_ID_SIZE], char name[REASM_NAME_LEN + 1])
{
	uint8_t in[17 + FRAG_ID_SIZE], mac[32];

	memcpy(in, "mixmail-reasm-set", 17);
	memcpy(in + 17, id, FRAG_ID_SIZE);
	mcrypto_hash(mac, sizeof mac, names_key, sizeof names_key, in, sizeof in);
	mcrypto_hex(name, mac, REASM_NAME_LEN / 2);
}

/* make_split - message number num of len bytes, sent with copies */
static void
make_split(struct split *s, unsigned num, size_t len, unsigned copies)
{
	struct mcrypto_rng rng;
	uint8_t seed[32] = { 'r', 'e', 'a', 's', 'm' };

	seed[31] = (uint8_t)num;
	seed[30] = (uint8_t)(num >> 8);
	mcrypto_rng_seed(&rng, seed);
	mcrypto_random(&rng, s->id, sizeof s->id);
	s->len = len;
	s->msg = malloc(len ? len : 1);
	ck_assert_ptr_nonnull(s->msg);
	mcrypto_random(&rng, s->msg, len);
	if (len > 0)
		s->msg[0] = (uint8_t)num;
	ck_assert_int_eq(fragment_split(s->msg, len, copies, s->id, &s->bodies, &s->blen,
	    &s->count), FRAG_OK);
	ck_assert_uint_gt(s->count, 1);
	expected_name(s->id, s->name);
}

static void
free_split(struct split *s)
{
	free(s->msg);
	mem_free(s->bodies);
}

static const uint8_t *
body(const struct split *s, size_t i)
{
	return s->bodies + i * s->blen;
}

static enum reasm_err
add(struct reasm *r, const struct split *s, size_t i)
{
	return reasm_add(r, body(s, i), s->blen, NOW);
}

/* next_msg - reasm_next must give s's message now */
static void
next_msg(struct reasm *r, const struct split *s, int64_t now, struct reasm_ready *rd)
{
	ck_assert_int_eq(reasm_next(r, now, NULL, 0, rd), REASM_OK);
	ck_assert_str_eq(rd->name, s->name);
	ck_assert_uint_eq(rd->msg_len, s->len);
	ck_assert_mem_eq(rd->msg, s->msg, s->len);
}

static void
assert_count(struct reasm *r, size_t waiting, size_t ready)
{
	size_t w, d;

	ck_assert_int_eq(reasm_count(r, &w, &d), REASM_OK);
	ck_assert_uint_eq(w, waiting);
	ck_assert_uint_eq(d, ready);
}

static int
exists(const char *p)
{
	struct stat sb;

	return lstat(p, &sb) == 0;
}

/* count_dir - entries in p, . and .. aside */
static int
count_dir(const char *p)
{
	struct dirent *e;
	DIR *d = opendir(p);
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static void
write_bytes(const char *p, const void *buf, size_t len)
{
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, buf, len), (ssize_t)len);
	ck_assert_int_eq(close(fd), 0);
}

/* ---- adding and assembling ------------------------------------------------------ */

/* All 24 orders of the four fragments; the set is ready after the third */
START_TEST(test_orders)
{
	static const unsigned perm[24][4] = {
		{0,1,2,3}, {0,1,3,2}, {0,2,1,3}, {0,2,3,1}, {0,3,1,2}, {0,3,2,1},
		{1,0,2,3}, {1,0,3,2}, {1,2,0,3}, {1,2,3,0}, {1,3,0,2}, {1,3,2,0},
		{2,0,1,3}, {2,0,3,1}, {2,1,0,3}, {2,1,3,0}, {2,3,0,1}, {2,3,1,0},
		{3,0,1,2}, {3,0,2,1}, {3,1,0,2}, {3,1,2,0}, {3,2,0,1}, {3,2,1,0}
	};
	const unsigned *p = perm[_i];
	struct reasm_ready rd;
	struct split s;
	struct reasm *r;
	char test[32];

	snprintf(test, sizeof test, "orders%d", _i);
	make_split(&s, 1, LONG_LEN, 1);
	ck_assert_uint_eq(s.count, 4);
	r = open_store(test, NULL);
	ck_assert_int_eq(add(r, &s, p[0]), REASM_STORED);
	ck_assert_int_eq(add(r, &s, p[0]), REASM_DUPLICATE);
	ck_assert_int_eq(add(r, &s, p[1]), REASM_STORED);
	ck_assert_int_eq(reasm_next(r, NOW, NULL, 0, &rd), REASM_NONE);
	assert_count(r, 1, 0);
	if (_i % 2 == 1) {		/* what is stored survives a reopen */
		reasm_close(r);
		r = open_store(test, NULL);
		assert_count(r, 1, 0);
	}
	ck_assert_int_eq(add(r, &s, p[1]), REASM_DUPLICATE);
	ck_assert_int_eq(add(r, &s, p[2]), REASM_STORED);
	assert_count(r, 0, 1);
	if (_i % 4 == 0) {		/* the fourth adds nothing but a check */
		ck_assert_int_eq(add(r, &s, p[3]), REASM_STORED);
		assert_count(r, 0, 1);
	}
	next_msg(r, &s, NOW + 5, &rd);
	ck_assert_uint_eq(rd.retry, 0);
	ck_assert_int_eq(rd.first_ready, NOW + 5);
	ck_assert_int_eq(reasm_begin(r, rd.name), REASM_OK);
	ck_assert_int_eq(reasm_done(r, rd.name, NOW + 6), REASM_OK);
	reasm_ready_free(&rd);
	ck_assert_ptr_null(rd.msg);
	assert_count(r, 0, 0);
	ck_assert_int_eq(reasm_next(r, NOW + 7, NULL, 0, &rd), REASM_NONE);
	/* late fragments are dropped, before and after a reopen */
	ck_assert_int_eq(add(r, &s, p[3]), REASM_LATE);
	ck_assert_int_eq(add(r, &s, p[0]), REASM_LATE);
	reasm_close(r);
	r = open_store(test, NULL);
	ck_assert_int_eq(add(r, &s, p[3]), REASM_LATE);
	assert_count(r, 0, 0);
	ck_assert_int_eq(count_dir(path(test, "store", "tmp")), 0);
	reasm_close(r);
	free_split(&s);
}
END_TEST

/* k = 1 sent with copies 2 and an empty message; first_ready is kept */
START_TEST(test_small_sets)
{
	struct reasm_ready rd;
	struct split a, b;
	struct reasm *r;

	make_split(&a, 2, 0, 2);	/* k = 1, n = 2, 25-byte bodies */
	make_split(&b, 3, 100, 3);	/* k = 1, n = 3 */
	r = open_store("small", NULL);
	ck_assert_int_eq(add(r, &a, 1), REASM_STORED);
	next_msg(r, &a, NOW, &rd);
	ck_assert_int_eq(reasm_begin(r, rd.name), REASM_OK);
	ck_assert_int_eq(reasm_done(r, rd.name, NOW), REASM_OK);
	reasm_ready_free(&rd);
	ck_assert_int_eq(add(r, &a, 0), REASM_LATE);
	/* the first ready time is written once, and survives a reopen */
	ck_assert_int_eq(add(r, &b, 2), REASM_STORED);
	next_msg(r, &b, NOW + 10, &rd);
	ck_assert_int_eq(rd.first_ready, NOW + 10);
	reasm_ready_free(&rd);
	reasm_close(r);
	r = open_store("small", NULL);
	ck_assert_int_eq(add(r, &b, 0), REASM_STORED);
	next_msg(r, &b, NOW + 20, &rd);
	ck_assert_int_eq(rd.first_ready, NOW + 10);
	reasm_ready_free(&rd);
	reasm_close(r);
	free_split(&a);
	free_split(&b);
}
END_TEST

/* Same id with another k, n or length: REASM_ERR_MIXED; nothing changes */
START_TEST(test_mixed)
{
	struct split s, other;
	struct reasm *r;
	struct fragment f;
	uint8_t *copy;

	make_split(&s, 4, LONG_LEN, 1);
	r = open_store("mixed", NULL);
	ck_assert_int_eq(add(r, &s, 0), REASM_STORED);

	/* the same id: 3 bytes longer (k, n equal), copies 2 (n = 6), shorter (k = 2) */
	make_split(&other, 4, LONG_LEN + 3, 1);
	ck_assert_int_eq(add(r, &other, 1), REASM_ERR_MIXED);
	free_split(&other);
	make_split(&other, 4, LONG_LEN, 2);
	ck_assert_uint_eq(other.count, 6);
	ck_assert_int_eq(add(r, &other, 1), REASM_ERR_MIXED);
	ck_assert_int_eq(add(r, &other, 5), REASM_ERR_MIXED);
	free_split(&other);
	make_split(&other, 4, 20000, 1);
	ck_assert_int_eq(add(r, &other, 1), REASM_ERR_MIXED);
	free_split(&other);

	/* only n differs: a hand-made body (n = 5), still valid for fragment_parse */
	copy = malloc(s.blen);
	ck_assert_ptr_nonnull(copy);
	memcpy(copy, body(&s, 1), s.blen);
	copy[19] = 5;
	ck_assert_int_eq(fragment_parse(copy, s.blen, &f), FRAG_OK);
	ck_assert_int_eq(reasm_add(r, copy, s.blen, NOW), REASM_ERR_MIXED);
	free(copy);

	assert_count(r, 1, 0);
	ck_assert_int_eq(add(r, &s, 1), REASM_STORED);
	ck_assert_int_eq(add(r, &s, 3), REASM_STORED);
	assert_count(r, 0, 1);
	reasm_close(r);
	free_split(&s);
}
END_TEST

/* Anything fragment_parse refuses, and whole bodies: REASM_ERR_FORMAT */
START_TEST(test_format)
{
	static const uint8_t whole[] = { 1, 1, 'h', 'i' };
	uint8_t junk[300], *bad;
	struct split s;
	struct reasm *r;
	struct mcrypto_rng rng;
	uint8_t seed[32] = { 'j', 'u', 'n', 'k' };
	int i;

	make_split(&s, 5, LONG_LEN, 1);
	r = open_store("format", NULL);
	ck_assert_int_eq(reasm_add(r, whole, sizeof whole, NOW), REASM_ERR_FORMAT);
	ck_assert_int_eq(reasm_add(r, whole, 0, NOW), REASM_ERR_FORMAT);
	ck_assert_int_eq(reasm_add(r, NULL, 0, NOW), REASM_ERR_FORMAT);
	mcrypto_rng_seed(&rng, seed);
	for (i = 0; i < 50; i++) {
		mcrypto_random(&rng, junk, sizeof junk);
		junk[0] = (uint8_t)(i % 3);		/* version 0, 1, 2 */
		ck_assert_int_eq(reasm_add(r, junk, (size_t)(i * 6), NOW), REASM_ERR_FORMAT);
	}
	bad = malloc(s.blen);
	ck_assert_ptr_nonnull(bad);
	memcpy(bad, body(&s, 0), s.blen);
	ck_assert_int_eq(reasm_add(r, bad, s.blen - 1, NOW), REASM_ERR_FORMAT);
	bad[20] = 4;					/* index >= n */
	ck_assert_int_eq(reasm_add(r, bad, s.blen, NOW), REASM_ERR_FORMAT);
	free(bad);
	assert_count(r, 0, 0);
	ck_assert_int_eq(count_dir(path("format", "store", NULL)), 2);	/* tmp, done */
	/* a bad time is refused */
	ck_assert_int_eq(reasm_add(r, body(&s, 0), s.blen, -1), REASM_ERR_IO);
	ck_assert_int_eq(errno, EINVAL);
	reasm_close(r);
	free_split(&s);
}
END_TEST

/* ---- delivery: defer, skip, uncertain, fail -------------------------------------- */

START_TEST(test_defer_skip)
{
	struct reasm_ready rd, rd2;
	struct split a, b;
	struct reasm *r;
	const char *skip[2];

	make_split(&a, 6, 100, 2);
	make_split(&b, 7, 100, 2);
	r = open_store("defer", NULL);
	ck_assert_int_eq(add(r, &a, 0), REASM_STORED);
	next_msg(r, &a, NOW, &rd);
	ck_assert_int_eq(reasm_begin(r, rd.name), REASM_OK);
	/* in flight: not offered again */
	ck_assert_int_eq(reasm_next(r, NOW, NULL, 0, &rd2), REASM_NONE);
	ck_assert_int_eq(reasm_defer(r, rd.name, NOW + 100), REASM_OK);
	ck_assert_int_eq(reasm_next(r, NOW + 99, NULL, 0, &rd2), REASM_NONE);
	next_msg(r, &a, NOW + 100, &rd2);
	ck_assert_uint_eq(rd2.retry, 1);
	ck_assert_int_eq(rd2.first_ready, NOW);
	reasm_ready_free(&rd2);
	/* the retry count and not_before survive a reopen */
	ck_assert_int_eq(reasm_begin(r, rd.name), REASM_OK);
	ck_assert_int_eq(reasm_defer(r, rd.name, NOW + 500), REASM_OK);
	reasm_close(r);
	r = open_store("defer", NULL);
	ck_assert_int_eq(reasm_next(r, NOW + 499, NULL, 0, &rd2), REASM_NONE);
	next_msg(r, &a, NOW + 500, &rd2);
	ck_assert_uint_eq(rd2.retry, 2);
	ck_assert_int_eq(rd2.first_ready, NOW);
	reasm_ready_free(&rd2);

	/* the skip list */
	ck_assert_int_eq(add(r, &b, 1), REASM_STORED);
	skip[0] = a.name;
	skip[1] = b.name;
	ck_assert_int_eq(reasm_next(r, NOW + 500, skip, 1, &rd2), REASM_OK);
	ck_assert_str_eq(rd2.name, b.name);
	reasm_ready_free(&rd2);
	ck_assert_int_eq(reasm_next(r, NOW + 500, skip + 1, 1, &rd2), REASM_OK);
	ck_assert_str_eq(rd2.name, a.name);
	reasm_ready_free(&rd2);
	ck_assert_int_eq(reasm_next(r, NOW + 500, skip, 2, &rd2), REASM_NONE);
	reasm_ready_free(&rd);
	reasm_close(r);
	free_split(&a);
	free_split(&b);
}
END_TEST

/* reasm_next picks among the ready sets at random, not always the same one */
START_TEST(test_random_pick)
{
	struct reasm_ready rd;
	struct split s[3];
	struct reasm *r;
	int seen[3] = { 0, 0, 0 }, i, j;

	r = open_store("pick", NULL);
	for (i = 0; i < 3; i++) {
		make_split(&s[i], 20 + (unsigned)i, 50, 2);
		ck_assert_int_eq(add(r, &s[i], 0), REASM_STORED);
	}
	for (i = 0; i < 60; i++) {
		ck_assert_int_eq(reasm_next(r, NOW, NULL, 0, &rd), REASM_OK);
		for (j = 0; j < 3; j++)
			if (strcmp(rd.name, s[j].name) == 0)
				seen[j]++;
		reasm_ready_free(&rd);
	}
	/* each has probability (2/3)^60 < 1e-10 of never coming */
	for (j = 0; j < 3; j++)
		ck_assert_int_gt(seen[j], 0);
	ck_assert_int_eq(seen[0] + seen[1] + seen[2], 60);
	reasm_close(r);
	for (i = 0; i < 3; i++)
		free_split(&s[i]);
}
END_TEST

/* A set in flight when the process ends goes to failed/ at the next open */
START_TEST(test_uncertain)
{
	struct reasm_ready rd;
	struct split s;
	struct reasm *r;
	size_t u;

	make_split(&s, 8, LONG_LEN, 1);
	r = open_store("uncertain", NULL);
	ck_assert_int_eq(add(r, &s, 3), REASM_STORED);
	ck_assert_int_eq(add(r, &s, 1), REASM_STORED);
	ck_assert_int_eq(add(r, &s, 2), REASM_STORED);
	next_msg(r, &s, NOW, &rd);
	ck_assert_int_eq(reasm_begin(r, rd.name), REASM_OK);
	ck_assert_int_eq(reasm_begin(r, rd.name), REASM_OK);	/* again: harmless */
	reasm_ready_free(&rd);
	reasm_close(r);		/* "crash": no done, defer or fail */

	r = open_store("uncertain", &u);
	ck_assert_uint_eq(u, 1);
	assert_count(r, 0, 0);
	ck_assert_int_eq(reasm_next(r, NOW, NULL, 0, &rd), REASM_NONE);
	{
		char set[64];

		snprintf(set, sizeof set, "set-%s", s.name);
		ck_assert(exists(path("uncertain", "failed", set)));
		ck_assert_int_eq(count_dir(path("uncertain", "failed", set)), 5);	/* state, 3, flight */
	}
	ck_assert(!exists(path("uncertain", "store", s.name)));
	/* given up: late fragments are dropped */
	ck_assert_int_eq(add(r, &s, 0), REASM_LATE);
	reasm_close(r);
	r = open_store("uncertain", NULL);
	ck_assert_int_eq(add(r, &s, 3), REASM_LATE);
	reasm_close(r);
	free_split(&s);
}
END_TEST

START_TEST(test_fail)
{
	struct reasm_ready rd;
	struct split s, t;
	struct reasm *r;
	char msgname[64];
	uint8_t *got;
	size_t len;

	make_split(&s, 9, LONG_LEN, 1);
	make_split(&t, 10, 10, 2);
	r = open_store("fail", NULL);
	ck_assert_int_eq(add(r, &s, 0), REASM_STORED);
	ck_assert_int_eq(add(r, &s, 1), REASM_STORED);
	/* an incomplete set cannot be begun, done, deferred or failed */
	ck_assert_int_eq(reasm_begin(r, s.name), REASM_ERR_IO);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_int_eq(reasm_fail(r, s.name, s.msg, s.len, NOW), REASM_ERR_IO);
	ck_assert_int_eq(reasm_done(r, "0123", NOW), REASM_ERR_IO);
	ck_assert_int_eq(reasm_defer(r, "../x", NOW), REASM_ERR_IO);
	ck_assert_int_eq(add(r, &s, 2), REASM_STORED);
	next_msg(r, &s, NOW, &rd);
	ck_assert_int_eq(reasm_begin(r, rd.name), REASM_OK);
	ck_assert_int_eq(reasm_fail(r, rd.name, rd.msg, rd.msg_len, NOW), REASM_OK);
	snprintf(msgname, sizeof msgname, "msg-%s", s.name);
	got = tu_read_file(path("fail", "failed", msgname), &len);
	ck_assert_uint_eq(len, s.len);
	ck_assert_mem_eq(got, s.msg, len);
	free(got);
	reasm_ready_free(&rd);
	assert_count(r, 0, 0);
	ck_assert_int_eq(add(r, &s, 3), REASM_LATE);
	ck_assert_int_eq(count_dir(path("fail", "failed", NULL)), 1);
	ck_assert_int_eq(count_dir(path("fail", "store", "tmp")), 0);

	/* a name already taken in failed/ is kept; the new one gets a suffix */
	snprintf(msgname, sizeof msgname, "msg-%s", t.name);
	write_bytes(path("fail", "failed", msgname), "older", 5);
	ck_assert_int_eq(add(r, &t, 0), REASM_STORED);
	next_msg(r, &t, NOW, &rd);
	ck_assert_int_eq(reasm_fail(r, rd.name, rd.msg, rd.msg_len, NOW), REASM_OK);
	reasm_ready_free(&rd);
	got = tu_read_file(path("fail", "failed", msgname), &len);
	ck_assert_uint_eq(len, 5);
	free(got);
	ck_assert_int_eq(count_dir(path("fail", "failed", NULL)), 3);
	ck_assert_int_eq(add(r, &t, 1), REASM_LATE);
	reasm_close(r);
	free_split(&s);
	free_split(&t);
}
END_TEST

/* ---- upkeep ---------------------------------------------------------------------- */

START_TEST(test_expire)
{
	struct split a, b, c, d, e;
	struct reasm *r;
	char mark[PATH_MAX];
	size_t n;

	make_split(&a, 11, LONG_LEN, 1);	/* incomplete, old */
	make_split(&b, 12, LONG_LEN, 1);	/* incomplete, young */
	make_split(&c, 13, 100, 2);		/* ready, old */
	make_split(&d, 14, 100, 2);		/* done long ago */
	make_split(&e, 15, 100, 2);		/* done lately */
	r = open_store("expire", NULL);
	ck_assert_int_eq(reasm_add(r, body(&a, 0), a.blen, 1000), REASM_STORED);
	ck_assert_int_eq(reasm_add(r, body(&a, 1), a.blen, 4400), REASM_STORED);
	ck_assert_int_eq(reasm_add(r, body(&b, 0), b.blen, 4000), REASM_STORED);
	ck_assert_int_eq(reasm_add(r, body(&c, 0), c.blen, 1000), REASM_STORED);
	ck_assert_int_eq(reasm_add(r, body(&d, 0), d.blen, 1000), REASM_STORED);
	ck_assert_int_eq(reasm_add(r, body(&e, 0), e.blen, 1000), REASM_STORED);
	ck_assert_int_eq(reasm_done(r, d.name, 1000), REASM_OK);
	ck_assert_int_eq(reasm_done(r, e.name, 4000), REASM_OK);
	assert_count(r, 2, 1);

	/* max_age 3000 at 4500: a (first 1000) and d's mark (1000) go */
	ck_assert_int_eq(reasm_expire(r, 4000, 3000, &n), REASM_OK);	/* exactly 3000: kept */
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(reasm_expire(r, 4500, 3000, &n), REASM_OK);
	ck_assert_uint_eq(n, 1);
	assert_count(r, 1, 1);
	ck_assert(!exists(path("expire", "store", a.name)));
	ck_assert(exists(path("expire", "store", b.name)));
	ck_assert(exists(path("expire", "store", c.name)));
	snprintf(mark, sizeof mark, "%s/%s", path("expire", "store", "done"), d.name);
	ck_assert(!exists(mark));
	ck_assert_int_eq(count_dir(path("expire", "store", "done")), 1);
	ck_assert_int_eq(reasm_add(r, body(&d, 1), d.blen, 4500), REASM_STORED);	/* again */
	ck_assert_int_eq(reasm_add(r, body(&e, 1), e.blen, 4500), REASM_LATE);
	ck_assert_int_eq(reasm_add(r, body(&a, 2), a.blen, 4500), REASM_STORED);	/* new set */
	assert_count(r, 2, 2);
	/* a damaged mark is removed */
	write_bytes(path("expire", "store", "done/00000000000000000000000000000000"), "x", 1);
	write_bytes(path("expire", "store", "done/junk"), "x", 1);
	ck_assert_int_eq(reasm_expire(r, 4500, 3000, &n), REASM_OK);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(count_dir(path("expire", "store", "done")), 2);	/* e's, junk */
	ck_assert_int_eq(reasm_expire(r, 100000, 3000, &n), REASM_OK);
	ck_assert_uint_eq(n, 2);	/* b, and a's new set; c is ready, d's set too */
	assert_count(r, 0, 2);
	ck_assert_int_eq(count_dir(path("expire", "store", "done")), 1);
	ck_assert_int_eq(reasm_expire(r, -1, 3000, &n), REASM_ERR_IO);
	reasm_close(r);
	free_split(&a);
	free_split(&b);
	free_split(&c);
	free_split(&d);
	free_split(&e);
}
END_TEST

START_TEST(test_limits)
{
	struct split s[4];
	struct reasm *r;
	size_t i;

	r = open_store("limits", NULL);
	for (i = 0; i < 4; i++)
		make_split(&s[i], 30 + (unsigned)i, 1000, 3);	/* bodies of 1025 bytes */
	reasm_set_limits_for_tests(r, 2, 4 * (1025 + 40));
	ck_assert_int_eq(add(r, &s[0], 0), REASM_STORED);
	ck_assert_int_eq(add(r, &s[1], 0), REASM_STORED);
	ck_assert_int_eq(add(r, &s[2], 0), REASM_ERR_IO);	/* a third set */
	ck_assert_int_eq(errno, ENOSPC);
	ck_assert_int_eq(add(r, &s[0], 1), REASM_STORED);
	ck_assert_int_eq(add(r, &s[1], 1), REASM_STORED);
	ck_assert_int_eq(add(r, &s[1], 2), REASM_ERR_IO);	/* bytes */
	ck_assert_int_eq(errno, ENOSPC);
	ck_assert_int_eq(add(r, &s[1], 1), REASM_DUPLICATE);	/* checked first */
	reasm_close(r);
	/* the reopened store counts what is on disk */
	r = open_store("limits", NULL);
	reasm_set_limits_for_tests(r, 3, 5 * (1025 + 40));
	ck_assert_int_eq(add(r, &s[2], 0), REASM_STORED);
	ck_assert_int_eq(add(r, &s[3], 0), REASM_ERR_IO);
	ck_assert_int_eq(errno, ENOSPC);
	ck_assert_int_eq(add(r, &s[1], 2), REASM_ERR_IO);
	ck_assert_int_eq(errno, ENOSPC);
	reasm_close(r);
	for (i = 0; i < 4; i++)
		free_split(&s[i]);
}
END_TEST

/* ---- damage on disk ------------------------------------------------------------ */

/* Damage by _i: flip, truncate, grow, remove, replace by a directory or symlink */
START_TEST(test_damaged)
{
	struct reasm_ready rd;
	struct split s;
	struct reasm *r;
	char test[32], set[64], file[PATH_MAX];
	uint8_t *buf;
	size_t len, u;

	snprintf(test, sizeof test, "damaged%d", _i);
	/* no padding (3 divides the length): only the store's checks see damage */
	make_split(&s, 40 + (unsigned)_i, LONG_LEN + 2, 1);
	r = open_store(test, NULL);
	ck_assert_int_eq(add(r, &s, 0), REASM_STORED);
	ck_assert_int_eq(add(r, &s, 1), REASM_STORED);
	ck_assert_int_eq(add(r, &s, 3), REASM_STORED);
	reasm_close(r);
	snprintf(file, sizeof file, "%s", path(test, "store", s.name));
	snprintf(file + strlen(file), sizeof file - strlen(file), "/%s",
	    _i == 6 || _i == 7 ? "state" : "i.01");
	buf = tu_read_file(file, &len);
	switch (_i) {
	case 0:		/* a shard byte: only the checksum sees it */
		buf[8 + 25 + 100] ^= 0x01;
		write_bytes(file, buf, len);
		break;
	case 1:		/* truncated */
		write_bytes(file, buf, len - 1);
		break;
	case 2:		/* one byte too many */
		buf = realloc(buf, len + 1);
		buf[len] = 0;
		write_bytes(file, buf, len + 1);
		break;
	case 3:		/* gone while the store is open (at open it is just not there) */
		break;
	case 4:		/* a directory */
		ck_assert_int_eq(unlink(file), 0);
		ck_assert_int_eq(mkdir(file, 0700), 0);
		break;
	case 5:		/* a symlink to a good file */
		ck_assert_int_eq(rename(file, path(test, "elsewhere", NULL)), 0);
		ck_assert_int_eq(symlink(path(test, "elsewhere", NULL), file), 0);
		break;
	case 6:		/* the state file flipped */
		buf[12] ^= 0x80;
		write_bytes(file, buf, len);
		break;
	case 7:		/* the state file gone */
		ck_assert_int_eq(unlink(file), 0);
		break;
	case 8:		/* a fragment file of another set (same k, n, length) */
	case 9:		/* another set's directory under this set's name */
		{
			struct split o;
			char odir[PATH_MAX], ofile[PATH_MAX + 8];

			make_split(&o, 99, LONG_LEN + 2, 1);
			r = open_store(test, NULL);
			ck_assert_int_eq(add(r, &o, 0), REASM_STORED);
			ck_assert_int_eq(add(r, &o, 1), REASM_STORED);
			ck_assert_int_eq(add(r, &o, 3), REASM_STORED);
			reasm_close(r);
			snprintf(odir, sizeof odir, "%s", path(test, "store", o.name));
			snprintf(ofile, sizeof ofile, "%s/i.01", odir);
			if (_i == 8) {
				ck_assert_int_eq(rename(ofile, file), 0);
			} else {
				tu_rm_tree(path(test, "store", s.name));
				ck_assert_int_eq(rename(odir, path(test, "store", s.name)), 0);
			}
			free_split(&o);
		}
		break;
	case 10:	/* an index the set cannot have (n = 4) */
		snprintf(file + strlen(file) - 2, 3, "05");
		write_bytes(file, buf, len);
		break;
	}
	free(buf);
	r = open_store(test, &u);
	ck_assert_uint_eq(u, 0);
	if (_i == 3)
		ck_assert_int_eq(unlink(file), 0);
	ck_assert_int_eq(reasm_next(r, NOW, NULL, 0, &rd), REASM_ERR_ASSEMBLE);
	ck_assert_ptr_null(rd.msg);
	ck_assert_int_eq(reasm_next(r, NOW, NULL, 0, &rd), REASM_NONE);
	snprintf(set, sizeof set, "set-%s", s.name);
	ck_assert(exists(path(test, "failed", set)));
	ck_assert(!exists(path(test, "store", s.name)));
	ck_assert_int_eq(add(r, &s, 2), REASM_LATE);
	reasm_close(r);
	free_split(&s);
}
END_TEST

/* A damaged set that gets a fragment is given up at once */
START_TEST(test_damaged_add)
{
	struct split s;
	struct reasm *r;

	make_split(&s, 50, LONG_LEN, 1);
	r = open_store("damadd", NULL);
	ck_assert_int_eq(add(r, &s, 0), REASM_STORED);
	reasm_close(r);
	{
		char st[PATH_MAX];

		snprintf(st, sizeof st, "%s/state", path("damadd", "store", s.name));
		write_bytes(st, "bad", 3);
	}
	r = open_store("damadd", NULL);
	assert_count(r, 0, 0);
	ck_assert_int_eq(add(r, &s, 1), REASM_LATE);
	ck_assert(!exists(path("damadd", "store", s.name)));
	reasm_close(r);
	free_split(&s);
}
END_TEST

/*
 * The crash states of section 8.4 made by hand: a done mark beside its set
 * (done crashed before the removal), a give-up mark beside its set, a
 * damaged mark beside its set, stray files in tmp/, junk in the store.
 */
START_TEST(test_crash_states)
{
	struct split s[3];
	struct reasm *r;
	char set[64], from[sizeof tmproot + 128], to[sizeof tmproot + 128];
	size_t i, u;

	r = open_store("states", NULL);
	for (i = 0; i < 3; i++) {
		make_split(&s[i], 60 + (unsigned)i, 100, 2);
		ck_assert_int_eq(add(r, &s[i], 0), REASM_STORED);
	}
	reasm_close(r);
	/* keep copies of the sets' directories under other names */
	for (i = 0; i < 3; i++) {
		snprintf(from, sizeof from, "%s/states/store/%s", tmproot, s[i].name);
		snprintf(to, sizeof to, "%s/states/store/%s.keep", tmproot, s[i].name);
		ck_assert_int_eq(rename(from, to), 0);
		ck_assert_int_eq(mkdir(from, 0700), 0);
		snprintf(from, sizeof from, "%s/states/store/%s/state", tmproot, s[i].name);
		snprintf(to, sizeof to, "%s/states/store/%s.keep/state", tmproot, s[i].name);
		ck_assert_int_eq(link(to, from), 0);
		snprintf(from, sizeof from, "%s/states/store/%s/i.00", tmproot, s[i].name);
		snprintf(to, sizeof to, "%s/states/store/%s.keep/i.00", tmproot, s[i].name);
		ck_assert_int_eq(link(to, from), 0);
	}
	r = open_store("states", NULL);
	ck_assert_int_eq(reasm_begin(r, s[0].name), REASM_OK);
	ck_assert_int_eq(reasm_done(r, s[0].name, NOW), REASM_OK);
	ck_assert_int_eq(reasm_begin(r, s[1].name), REASM_OK);
	reasm_close(r);
	r = open_store("states", &u);		/* s[1] given up */
	ck_assert_uint_eq(u, 1);
	reasm_close(r);
	/* put the sets back: now each has a mark (s[2]'s damaged) */
	snprintf(from, sizeof from, "%s/done/%s", path("states", "store", NULL), s[2].name);
	write_bytes(from, "garbage", 7);
	for (i = 0; i < 2; i++) {		/* s[2] is still there */
		snprintf(from, sizeof from, "%s/states/store/%s.keep", tmproot, s[i].name);
		ck_assert_int_eq(rename(from, path("states", "store", s[i].name)), 0);
	}
	/* and junk: tmp files and a tmp directory, a stray file in the store */
	write_bytes(path("states", "store", "tmp/t.0123"), "x", 1);
	ck_assert_int_eq(mkdir(path("states", "store", "tmp/s.4567"), 0700), 0);
	write_bytes(path("states", "store", "tmp/s.4567/state"), "x", 1);
	write_bytes(path("states", "store", "README"), "x", 1);
	r = open_store("states", &u);
	ck_assert_uint_eq(u, 0);
	assert_count(r, 0, 0);
	ck_assert_int_eq(count_dir(path("states", "store", "tmp")), 0);
	ck_assert(!exists(path("states", "store", s[0].name)));	/* removed */
	ck_assert(!exists(path("states", "store", s[1].name)));	/* to failed */
	ck_assert(!exists(path("states", "store", s[2].name)));	/* to failed */
	ck_assert(exists(path("states", "store", "README")));
	snprintf(set, sizeof set, "set-%s", s[1].name);
	ck_assert(exists(path("states", "failed", set)));
	ck_assert_int_eq(count_dir(path("states", "failed", NULL)), 3);	/* s[1] twice, s[2] */
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(add(r, &s[i], 1), REASM_LATE);
	reasm_close(r);
	for (i = 0; i < 3; i++)
		free_split(&s[i]);
}
END_TEST

/* ---- privacy of names and times -------------------------------------------------- */

/* check_tree - no name under dir holds a needle or NOW; times 0 (the first look) */
static void
check_tree(const char *dir, char needles[][2 * FRAG_ID_SIZE + 1], size_t nn, int depth)
{
	char p[PATH_MAX], now_dec[32], now_hex[32];
	struct dirent *e;
	struct stat sb;
	size_t i;
	DIR *d;

	snprintf(now_dec, sizeof now_dec, "%d", NOW);
	snprintf(now_hex, sizeof now_hex, "%x", NOW);
	d = opendir(dir);
	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		for (i = 0; i < nn; i++)
			ck_assert_ptr_null(strstr(e->d_name, needles[i]));
		ck_assert_ptr_null(strstr(e->d_name, now_dec));
		ck_assert_ptr_null(strstr(e->d_name, now_hex));
		snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
		ck_assert_int_eq(lstat(p, &sb), 0);
		/* sets, their files, marks: all but the store's tmp/ and done/ */
		if (depth > 0 || (strcmp(e->d_name, "tmp") != 0 && strcmp(e->d_name, "done") != 0)) {
			ck_assert_msg(sb.st_mtime == 0 && sb.st_atime == 0, "times of %s", p);
		}
		if (S_ISDIR(sb.st_mode))
			check_tree(p, needles, nn, depth + 1);
	}
	closedir(d);
}

START_TEST(test_names_times)
{
	struct reasm_ready rd;
	struct split s, t, u;
	struct reasm *r;
	const char *skip[1];
	char idhex[5][2 * FRAG_ID_SIZE + 1];
	size_t n;

	make_split(&s, 70, LONG_LEN, 1);
	make_split(&t, 71, 100, 2);
	make_split(&u, 72, 100, 2);
	r = open_store("names", NULL);
	ck_assert_int_eq(add(r, &s, 0), REASM_STORED);
	ck_assert_int_eq(add(r, &s, 2), REASM_STORED);
	ck_assert_int_eq(add(r, &t, 1), REASM_STORED);
	next_msg(r, &t, NOW, &rd);
	ck_assert_int_eq(reasm_begin(r, rd.name), REASM_OK);
	ck_assert_int_eq(reasm_defer(r, rd.name, NOW + 60), REASM_OK);
	reasm_ready_free(&rd);
	ck_assert_int_eq(reasm_next(r, NOW + 60, NULL, 0, &rd), REASM_OK);
	ck_assert_int_eq(reasm_begin(r, rd.name), REASM_OK);
	ck_assert_int_eq(reasm_done(r, rd.name, NOW + 61), REASM_OK);
	reasm_ready_free(&rd);
	ck_assert_int_eq(add(r, &u, 0), REASM_STORED);
	reasm_close(r);
	/* reading (open, next, expire) leaves the access times at 0 */
	r = open_store("names", NULL);
	next_msg(r, &u, NOW, &rd);
	reasm_ready_free(&rd);
	skip[0] = u.name;
	ck_assert_int_eq(reasm_next(r, NOW, skip, 1, &rd), REASM_NONE);
	ck_assert_int_eq(reasm_expire(r, NOW, 1000, &n), REASM_OK);
	ck_assert_uint_eq(n, 0);
	reasm_close(r);
	/* the directory names the MAC, never the id */
	ck_assert(exists(path("names", "store", s.name)));
	mcrypto_hex(idhex[0], s.id, FRAG_ID_SIZE);
	mcrypto_hex(idhex[1], s.id, FRAG_ID_SIZE);
	idhex[1][8] = '\0';
	mcrypto_hex(idhex[2], t.id, FRAG_ID_SIZE);
	idhex[2][8] = '\0';
	mcrypto_hex(idhex[3], u.id, FRAG_ID_SIZE);
	idhex[3][8] = '\0';
	mcrypto_hex(idhex[4], s.id + 8, 8);	/* the id's second half */
	check_tree(path("names", "store", NULL), idhex, 5, 0);
	free_split(&s);
	free_split(&t);
	free_split(&u);
}
END_TEST

/* ---- crashes ---------------------------------------------------------------------- */

/*
 * child - open the store, add the three fragments of message i (k = 1,
 * n = 3), then deliver every ready set (begin, done). Reports on fd:
 * 'S' j when fragment j is stored, 'B' m when message m is begun, 'X' when
 * a message came out wrong.
 */
static void
child(const struct split *m, unsigned i, int fd)
{
	struct reasm_ready rd;
	struct reasm *r;
	size_t u, j;
	char dir[PATH_MAX], failed[PATH_MAX];
	uint8_t rep[2];

	snprintf(dir, sizeof dir, "%s", path("crash", "store", NULL));
	snprintf(failed, sizeof failed, "%s", path("crash", "failed", NULL));
	if (reasm_open(&r, dir, failed, names_key, &u) != REASM_OK)
		_exit(2);
	for (j = 0; j < m[i].count; j++) {
		if (add(r, &m[i], j) == REASM_STORED) {
			rep[0] = 'S';
			rep[1] = (uint8_t)j;
			if (write(fd, rep, 2) != 2)
				_exit(3);
		}
	}
	while (reasm_next(r, NOW, NULL, 0, &rd) == REASM_OK) {
		if (rd.msg_len != m[rd.msg[0]].len || memcmp(rd.msg, m[rd.msg[0]].msg, rd.msg_len) != 0)
			rep[0] = 'X';
		else if (reasm_begin(r, rd.name) != REASM_OK)
			_exit(4);
		else
			rep[0] = 'B';
		rep[1] = rd.msg[0];
		if (write(fd, rep, 2) != 2)
			_exit(3);
		if (rep[0] == 'X' || reasm_done(r, rd.name, NOW) != REASM_OK)
			_exit(5);
		reasm_ready_free(&rd);
	}
	reasm_close(r);
	_exit(0);
}

START_TEST(test_crash)
{
	static struct split m[CRASH_ROUNDS];
	unsigned begun[CRASH_ROUNDS], stored[CRASH_ROUNDS], seed = 12345, i, j, killed = 0;
	struct reasm_ready rd;
	struct reasm *r;
	uint8_t rep[2];
	int fds[2], status;
	size_t u, total_u = 0;
	pid_t pid;

	memset(begun, 0, sizeof begun);
	for (i = 0; i < CRASH_ROUNDS; i++)
		make_split(&m[i], i, 64 + i, 3);
	r = open_store("crash", NULL);
	reasm_close(r);
	for (i = 0; i < CRASH_ROUNDS; i++) {
		ck_assert_int_eq(pipe(fds), 0);
		pid = fork();
		ck_assert_int_ge(pid, 0);
		if (pid == 0) {
			(void)close(fds[0]);
			child(m, i, fds[1]);
		}
		(void)close(fds[1]);
		/* a random instant in the child's life, which lasts a few ms */
		usleep((useconds_t)(rand_r(&seed) % 12000));
		(void)kill(pid, SIGKILL);
		ck_assert_int_eq(waitpid(pid, &status, 0), pid);
		if (WIFSIGNALED(status))
			killed++;
		else
			ck_assert_int_eq(WEXITSTATUS(status), 0);
		stored[i] = 0;
		while (read(fds[0], rep, 2) == 2) {
			ck_assert_int_ne(rep[0], 'X');
			if (rep[0] == 'S')
				stored[i] |= 1u << rep[1];
			if (rep[0] == 'B') {
				/* never handed on twice */
				ck_assert_uint_eq(begun[rep[1]], 0);
				begun[rep[1]] = 1;
			}
		}
		(void)close(fds[0]);
		/* recovery: no tmp leftovers; every reported fragment is there */
		r = open_store("crash", &u);
		total_u += u;
		ck_assert_int_eq(count_dir(path("crash", "store", "tmp")), 0);
		for (j = 0; j < 3; j++) {
			enum reasm_err e = add(r, &m[i], j);

			if (stored[i] & (1u << j))
				ck_assert(e == REASM_DUPLICATE || e == REASM_LATE);
			/* the parent's add may store it: the next child delivers it */
		}
		reasm_close(r);
	}
	/* finally: nothing damaged, every message delivered, given up or ready */
	r = open_store("crash", &u);
	total_u += u;
	while (reasm_next(r, NOW, NULL, 0, &rd) == REASM_OK) {
		ck_assert_uint_eq(begun[rd.msg[0]], 0);
		ck_assert_mem_eq(rd.msg, m[rd.msg[0]].msg, rd.msg_len);
		ck_assert_int_eq(reasm_done(r, rd.name, NOW), REASM_OK);
		begun[rd.msg[0]] = 1;
		reasm_ready_free(&rd);
	}
	ck_assert_int_eq(reasm_next(r, NOW, NULL, 0, &rd), REASM_NONE);
	for (i = 0; i < CRASH_ROUNDS; i++)
		ck_assert_int_eq(add(r, &m[i], 0), REASM_LATE);
	reasm_close(r);
	/* every set given up by the parent's opens is in failed/ */
	ck_assert_int_ge(count_dir(path("crash", "failed", NULL)), (int)total_u);
	for (i = 0; i < CRASH_ROUNDS; i++)
		free_split(&m[i]);
}
END_TEST

START_TEST(test_strerror)
{
	int e, f;

	for (e = REASM_OK; e <= REASM_ERR_NOMEM; e++) {
		ck_assert_ptr_nonnull(reasm_strerror((enum reasm_err)e));
		for (f = REASM_OK; f < e; f++)
			ck_assert_str_ne(reasm_strerror((enum reasm_err)e),
			    reasm_strerror((enum reasm_err)f));
	}
	ck_assert_str_eq(reasm_strerror((enum reasm_err)99), "unknown fragment store error");
}
END_TEST

static Suite *
reasm_suite(void)
{
	Suite *s = suite_create("reasm");
	TCase *tc = tcase_create("store");

	tcase_add_unchecked_fixture(tc, make_root, remove_root);
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, test_orders, 0, 24);
	tcase_add_test(tc, test_small_sets);
	tcase_add_test(tc, test_mixed);
	tcase_add_test(tc, test_format);
	tcase_add_test(tc, test_defer_skip);
	tcase_add_test(tc, test_random_pick);
	tcase_add_test(tc, test_uncertain);
	tcase_add_test(tc, test_fail);
	tcase_add_test(tc, test_expire);
	tcase_add_test(tc, test_limits);
	tcase_add_loop_test(tc, test_damaged, 0, 11);
	tcase_add_test(tc, test_damaged_add);
	tcase_add_test(tc, test_crash_states);
	tcase_add_test(tc, test_names_times);
	tcase_add_test(tc, test_crash);
	tcase_add_test(tc, test_strerror);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(reasm_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
