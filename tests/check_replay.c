/*
 * check_replay.c - the replay cache: insert and lookup, persistence across
 * reopen, many processes inserting the same tags at once (exactly one wins
 * each), a corrupt header refused and left untouched, torn slots and a torn
 * count record, a full table, a busy lock, deletion.
 *
 * Every test works in its own files under one temporary directory
 * ($TMPDIR or /tmp), made before the tests and removed after them.
 * Only the lock-timeout test measures time, with generous bounds.
 */
#include <config.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <check.h>

#include "mcrypto.h"
#include "replay.h"
#include "testutil.h"

#define NCHILD		12	/* concurrent inserters */
#define NSHARED		400	/* tags they all insert */
#define LONG_WAIT_MS	60000	/* "forever" for a lock in a test */

static char tmproot[1024];	/* short enough for tmp_path() */

/* ---- helpers ------------------------------------------------------------ */


/* Unchecked fixtures: run once in the parent, so cleanup survives failures */
static void
make_root(void)
{
	tu_make_tmpdir(tmproot, sizeof tmproot, "check_replay");
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

/* tmp_path - a file name under the test directory (static buffer) */
static const char *
tmp_path(const char *name)
{
	static char path[PATH_MAX];

	snprintf(path, sizeof path, "%s/%s", tmproot, name);
	return path;
}

/* make_tag - deterministic tag number i of family fam */
static void
make_tag(uint8_t tag[REPLAY_TAG_SIZE], uint32_t fam, uint32_t i)
{
	uint8_t in[8];
	int k;

	for (k = 0; k < 4; k++) {
		in[k] = (uint8_t)(fam >> (8 * k));
		in[4 + k] = (uint8_t)(i >> (8 * k));
	}
	mcrypto_hash(tag, REPLAY_TAG_SIZE, NULL, 0, in, sizeof in);
}

static struct replay *
open_ok(const char *path, uint64_t capacity, unsigned flags)
{
	enum replay_status err = REPLAY_OK;
	struct replay *rc = replay_open(path, capacity, flags, &err);

	ck_assert_msg(rc != NULL, "replay_open %s: %s (%s)", path, replay_strerror(err),
	    strerror(errno));
	ck_assert_int_eq(err, REPLAY_OK);
	return rc;
}

static uint8_t *
read_all(const char *path, size_t *len)
{
	return tu_read_file(path, len);
}

static void
write_at(const char *path, const void *buf, size_t len, off_t off)
{
	int fd = open(path, O_WRONLY);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pwrite(fd, buf, len, off), (ssize_t)len);
	ck_assert_int_eq(close(fd), 0);
}

static uint64_t
le64(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/*
 * spec_home - a tag's home slot and fingerprint computed from the file as
 * doc/replay-cache-format.md specifies (an independent check of the spec)
 */
static uint64_t
spec_home(const uint8_t *file, const uint8_t tag[REPLAY_TAG_SIZE], uint8_t fp[REPLAY_FP_SIZE])
{
	uint8_t h[20];
	uint64_t nslots = le64(file + 24);

	mcrypto_hash(h, sizeof h, file + 48, 32, tag, REPLAY_TAG_SIZE);
	memcpy(fp, h + 8, REPLAY_FP_SIZE);
	return le64(h) & (nslots - 1);
}

static int
slot_is_empty(const uint8_t *file, uint64_t pos)
{
	static const uint8_t zero[REPLAY_SLOT_SIZE];

	return memcmp(file + REPLAY_HEADER_SIZE + pos * REPLAY_SLOT_SIZE, zero, REPLAY_SLOT_SIZE) == 0;
}

static double
now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1000.0 + (double)t.tv_nsec / 1e6;
}

/* ---- tests ---------------------------------------------------------------- */

START_TEST(test_basic)
{
	const char *path = tmp_path("basic");
	struct replay *rc = open_ok(path, 1000, REPLAY_CREATE);
	uint8_t tag[REPLAY_TAG_SIZE];
	uint64_t n;
	struct stat sb;
	uint32_t i;

	ck_assert_int_eq(stat(path, &sb), 0);
	ck_assert_int_eq(sb.st_mode & 07777, 0600);
	ck_assert_uint_eq((uint64_t)sb.st_size, replay_file_size(1000));
	ck_assert_uint_ge(replay_capacity(rc), 1000);

	make_tag(tag, 1, 0);
	ck_assert_int_eq(replay_contains(rc, tag), REPLAY_ERR_ARG);	/* no lock */
	ck_assert_int_eq(replay_insert(rc, tag), REPLAY_ERR_ARG);
	ck_assert_int_eq(replay_count(rc, &n), REPLAY_ERR_ARG);
	ck_assert_int_eq(replay_unlock(rc), REPLAY_ERR_ARG);

	ck_assert_int_eq(replay_lock(rc, 0), REPLAY_OK);
	ck_assert_int_eq(replay_lock(rc, 0), REPLAY_ERR_ARG);		/* already held */
	ck_assert_int_eq(replay_contains(rc, tag), REPLAY_NEW);
	ck_assert_int_eq(replay_insert(rc, tag), REPLAY_NEW);
	ck_assert_int_eq(replay_contains(rc, tag), REPLAY_SEEN);
	ck_assert_int_eq(replay_insert(rc, tag), REPLAY_SEEN);
	ck_assert_int_eq(replay_count(rc, &n), REPLAY_OK);
	ck_assert_uint_eq(n, 1);
	for (i = 1; i < 700; i++) {
		make_tag(tag, 1, i);
		ck_assert_int_eq(replay_insert(rc, tag), REPLAY_NEW);
	}
	for (i = 0; i < 700; i++) {
		make_tag(tag, 1, i);
		ck_assert_int_eq(replay_contains(rc, tag), REPLAY_SEEN);
		make_tag(tag, 2, i);
		ck_assert_int_eq(replay_contains(rc, tag), REPLAY_NEW);
	}
	ck_assert_int_eq(replay_count(rc, &n), REPLAY_OK);
	ck_assert_uint_eq(n, 700);
	ck_assert_int_eq(replay_unlock(rc), REPLAY_OK);

	make_tag(tag, 1, 5);
	ck_assert_int_eq(replay_check_insert(rc, tag, 0), REPLAY_SEEN);
	make_tag(tag, 3, 5);
	ck_assert_int_eq(replay_check_insert(rc, tag, 0), REPLAY_NEW);
	ck_assert_int_eq(replay_check_insert(rc, tag, 0), REPLAY_SEEN);
	ck_assert_int_eq(replay_close(rc), REPLAY_OK);
}
END_TEST

START_TEST(test_sizes_and_args)
{
	enum replay_status err;
	DIR *d;
	struct dirent *e;
	int files = 0;

	ck_assert_uint_eq(replay_file_size(REPLAY_DEFAULT_CAPACITY), 268443648ULL);
	ck_assert_uint_eq(replay_file_size(12), REPLAY_HEADER_SIZE + 16 * REPLAY_SLOT_SIZE);
	ck_assert_uint_eq(replay_file_size(13), REPLAY_HEADER_SIZE + 32 * REPLAY_SLOT_SIZE);
	ck_assert_uint_eq(replay_file_size(0), 0);
	ck_assert_uint_eq(replay_file_size(REPLAY_CAPACITY_MAX + 1), 0);

	/* missing without REPLAY_CREATE: an error, and nothing created */
	errno = 0;
	ck_assert_ptr_null(replay_open(tmp_path("args-missing"), 100, 0, &err));
	ck_assert_int_eq(err, REPLAY_ERR_IO);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_int_ne(access(tmp_path("args-missing"), F_OK), 0);
	ck_assert_ptr_null(replay_open(tmp_path("args-zero"), 0, REPLAY_CREATE, &err));
	ck_assert_int_eq(err, REPLAY_ERR_ARG);
	ck_assert_ptr_null(replay_open(tmp_path("args-flags"), 10, 0x100, &err));
	ck_assert_int_eq(err, REPLAY_ERR_ARG);

	/* creation leaves no temporary file behind */
	mkdir(tmp_path("args-dir"), 0700);
	ck_assert_int_eq(replay_close(open_ok(tmp_path("args-dir/c"), 10, REPLAY_CREATE)), REPLAY_OK);
	d = opendir(tmp_path("args-dir"));
	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.') {
			ck_assert_str_eq(e->d_name, "c");
			files++;
		}
	closedir(d);
	ck_assert_int_eq(files, 1);
}
END_TEST

START_TEST(test_persistence)
{
	const char *path = tmp_path("persist");
	struct replay *rc = open_ok(path, 5000, REPLAY_CREATE);
	uint8_t tag[REPLAY_TAG_SIZE], *page0, *f;
	uint64_t cap = replay_capacity(rc), n;
	size_t len;
	uint32_t i;
	enum replay_status err;

	page0 = read_all(path, &len);
	for (i = 0; i < 2000; i++) {
		make_tag(tag, 10, i);
		ck_assert_int_eq(replay_check_insert(rc, tag, LONG_WAIT_MS), REPLAY_NEW);
	}
	ck_assert_int_eq(replay_close(rc), REPLAY_OK);
	/* the header page is written once, at creation, never again */
	f = read_all(path, &len);
	ck_assert_mem_eq(f, page0, 4096);
	ck_assert_uint_eq(le64(f + 4096), 2000);
	free(f);
	free(page0);

	/* reopened: everything there; the capacity argument no longer matters */
	rc = open_ok(path, 1, 0);
	ck_assert_uint_eq(replay_capacity(rc), cap);
	ck_assert_int_eq(replay_lock(rc, LONG_WAIT_MS), REPLAY_OK);
	for (i = 0; i < 2000; i++) {
		make_tag(tag, 10, i);
		ck_assert_int_eq(replay_contains(rc, tag), REPLAY_SEEN);
		make_tag(tag, 11, i);
		ck_assert_int_eq(replay_contains(rc, tag), REPLAY_NEW);
	}
	ck_assert_int_eq(replay_count(rc, &n), REPLAY_OK);
	ck_assert_uint_eq(n, 2000);
	ck_assert_int_eq(replay_unlock(rc), REPLAY_OK);
	ck_assert_int_eq(replay_close(rc), REPLAY_OK);

	/* deferred sync: durable at replay_sync, visible after close */
	rc = open_ok(path, 0, REPLAY_DEFER_SYNC);
	ck_assert_int_eq(replay_lock(rc, LONG_WAIT_MS), REPLAY_OK);
	for (i = 0; i < 100; i++) {
		make_tag(tag, 12, i);
		ck_assert_int_eq(replay_insert(rc, tag), REPLAY_NEW);
	}
	ck_assert_int_eq(replay_sync(rc), REPLAY_OK);
	ck_assert_int_eq(replay_unlock(rc), REPLAY_OK);
	ck_assert_int_eq(replay_close(rc), REPLAY_OK);
	rc = open_ok(path, 0, 0);
	ck_assert_int_eq(replay_lock(rc, LONG_WAIT_MS), REPLAY_OK);
	ck_assert_int_eq(replay_count(rc, &n), REPLAY_OK);
	ck_assert_uint_eq(n, 2100);
	make_tag(tag, 12, 99);
	ck_assert_int_eq(replay_contains(rc, tag), REPLAY_SEEN);
	ck_assert_int_eq(replay_close(rc), REPLAY_OK);		/* also unlocks */

	/* no sync (the receive hook): the records are there for every reader */
	rc = open_ok(path, 0, REPLAY_NO_SYNC);
	ck_assert_int_eq(replay_lock(rc, LONG_WAIT_MS), REPLAY_OK);
	for (i = 0; i < 50; i++) {
		make_tag(tag, 13, i);
		ck_assert_int_eq(replay_insert(rc, tag), REPLAY_NEW);
	}
	make_tag(tag, 13, 0);
	ck_assert_int_eq(replay_insert(rc, tag), REPLAY_SEEN);
	ck_assert_int_eq(replay_unlock(rc), REPLAY_OK);
	make_tag(tag, 13, 50);
	ck_assert_int_eq(replay_check_insert(rc, tag, LONG_WAIT_MS), REPLAY_NEW);
	ck_assert_int_eq(replay_close(rc), REPLAY_OK);
	rc = open_ok(path, 0, 0);
	ck_assert_int_eq(replay_lock(rc, LONG_WAIT_MS), REPLAY_OK);
	ck_assert_int_eq(replay_count(rc, &n), REPLAY_OK);
	ck_assert_uint_eq(n, 2151);
	for (i = 0; i <= 50; i++) {
		make_tag(tag, 13, i);
		ck_assert_int_eq(replay_contains(rc, tag), REPLAY_SEEN);
	}
	ck_assert_int_eq(replay_close(rc), REPLAY_OK);
	/* an unknown flag is refused */
	ck_assert_ptr_null(replay_open(path, 0, 0x8, &err));
	ck_assert_int_eq(err, REPLAY_ERR_ARG);
}
END_TEST

/*
 * child_inserter - one of NCHILD processes: wait for the start signal, open
 * (creating if need be: all race to create too), insert all NSHARED tags
 * in an order of its own, and write one result byte per tag to out:
 * 'N' new, 'S' seen, 'E' anything else.
 */
static void
child_inserter(int c, int start_fd, int out_fd, const char *path)
{
	uint8_t tag[REPLAY_TAG_SIZE];
	char res[NSHARED];
	enum replay_status err, st;
	struct replay *rc;
	char go;
	int i, k;

	if (read(start_fd, &go, 1) != 1)
		_exit(2);
	rc = replay_open(path, 1000, REPLAY_CREATE, &err);
	memset(res, 'E', sizeof res);
	for (k = 0; rc != NULL && k < NSHARED; k++) {
		/* half the children go forward, half backward, from different starts */
		i = (c % 2 == 0) ? (k + c * 37) % NSHARED : (NSHARED - 1 - k + c * 53) % NSHARED;
		make_tag(tag, 20, (uint32_t)i);
		st = replay_check_insert(rc, tag, LONG_WAIT_MS);
		res[i] = st == REPLAY_NEW ? 'N' : st == REPLAY_SEEN ? 'S' : 'E';
	}
	if (rc != NULL && replay_close(rc) != REPLAY_OK)
		res[0] = 'E';
	if (write(out_fd, res, sizeof res) != (ssize_t)sizeof res)
		_exit(3);
	_exit(0);
}

START_TEST(test_concurrent_exactly_one)
{
	const char *path = tmp_path("concurrent");
	int start[2], out[NCHILD][2], c, i, status, nnew;
	char res[NCHILD][NSHARED];
	pid_t pid[NCHILD];
	struct replay_stats stats;
	struct replay *rc;
	uint64_t n;
	size_t got;
	ssize_t r;

	ck_assert_int_eq(pipe(start), 0);
	for (c = 0; c < NCHILD; c++) {
		ck_assert_int_eq(pipe(out[c]), 0);
		pid[c] = fork();
		ck_assert_int_ge(pid[c], 0);
		if (pid[c] == 0) {
			close(start[1]);
			close(out[c][0]);
			child_inserter(c, start[0], out[c][1], path);
		}
		close(out[c][1]);
	}
	close(start[0]);
	/* release them all at once: one byte each */
	for (c = 0; c < NCHILD; c++)
		ck_assert_int_eq(write(start[1], "g", 1), 1);
	close(start[1]);
	for (c = 0; c < NCHILD; c++) {
		for (got = 0; got < NSHARED; got += (size_t)r) {
			r = read(out[c][0], res[c] + got, NSHARED - got);
			ck_assert_int_gt(r, 0);
		}
		close(out[c][0]);
		ck_assert_int_eq(waitpid(pid[c], &status, 0), pid[c]);
		ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	for (i = 0; i < NSHARED; i++) {
		nnew = 0;
		for (c = 0; c < NCHILD; c++) {
			ck_assert_msg(res[c][i] == 'N' || res[c][i] == 'S',
			    "child %d, tag %d: error", c, i);
			nnew += res[c][i] == 'N';
		}
		ck_assert_msg(nnew == 1, "tag %d reported new by %d processes", i, nnew);
	}
	rc = open_ok(path, 0, 0);
	ck_assert_int_eq(replay_lock(rc, LONG_WAIT_MS), REPLAY_OK);
	ck_assert_int_eq(replay_count(rc, &n), REPLAY_OK);
	ck_assert_uint_eq(n, NSHARED);
	ck_assert_int_eq(replay_scan(rc, &stats), REPLAY_OK);
	ck_assert_uint_eq(stats.valid, NSHARED);
	ck_assert_uint_eq(stats.torn, 0);
	ck_assert_int_eq(replay_close(rc), REPLAY_OK);
}
END_TEST

/* Ways to damage a header; each must be refused and the file left alone */
enum corruption {
	C_MAGIC, C_VERSION, C_VERSION_RESUMMED, C_NSLOTS, C_NSLOTS_RESUMMED, C_SIZE_RESUMMED,
	C_HASHKEY, C_SUM, C_RESERVED, C_TRUNCATED, C_EXTENDED, C_EMPTY, C_SHORT_HEADER,
	C_GARBAGE, NCORRUPTIONS
};

START_TEST(test_corrupt_header)
{
	char name[64];
	const char *path;
	struct replay *rc;
	enum replay_status err;
	uint8_t tag[REPLAY_TAG_SIZE], *before, *after, b;
	size_t blen, alen;
	struct stat s1, s2;
	uint32_t i;
	int fd;

	snprintf(name, sizeof name, "corrupt-%d", _i);
	path = tmp_path(name);
	rc = open_ok(path, 100, REPLAY_CREATE);
	for (i = 0; i < 50; i++) {
		make_tag(tag, 30, i);
		ck_assert_int_eq(replay_check_insert(rc, tag, LONG_WAIT_MS), REPLAY_NEW);
	}
	ck_assert_int_eq(replay_close(rc), REPLAY_OK);

	switch ((enum corruption)_i) {
	case C_MAGIC:
		write_at(path, "X", 1, 3);
		break;
	case C_VERSION:
		write_at(path, "\x02", 1, 8);
		break;
	case C_VERSION_RESUMMED: {
		/* a future version with a valid checksum: refused by version */
		uint8_t *f = read_all(path, &blen);

		f[8] = 2;
		mcrypto_hash(f + 80, 32, NULL, 0, f, 80);
		write_at(path, f, 112, 0);
		free(f);
		break;
	}
	case C_NSLOTS:
		write_at(path, "\x01", 1, 24 + 7);
		break;
	case C_NSLOTS_RESUMMED:		/* not a power of two, checksum valid */
	case C_SIZE_RESUMMED: {		/* twice the slots the file has */
		uint8_t *f = read_all(path, &blen);

		if (_i == C_NSLOTS_RESUMMED)
			f[24] |= 1;
		else {
			ck_assert_uint_eq(le64(f + 24), 256);
			f[24 + 1] = 0x02;	/* 512 slots ... */
			f[32] = 0x80;		/* ... capacity 384 */
			f[32 + 1] = 0x01;
		}
		mcrypto_hash(f + 80, 32, NULL, 0, f, 80);
		write_at(path, f, 112, 0);
		free(f);
		break;
	}
	case C_HASHKEY:
		b = 0x5a;
		write_at(path, &b, 1, 60);
		break;
	case C_SUM:
		b = 0xa5;
		write_at(path, &b, 1, 100);
		break;
	case C_RESERVED:
		write_at(path, "r", 1, 300);
		break;
	case C_TRUNCATED:
		ck_assert_int_eq(truncate(path, (off_t)replay_file_size(100) - REPLAY_SLOT_SIZE), 0);
		break;
	case C_EXTENDED:
		ck_assert_int_eq(truncate(path, (off_t)replay_file_size(100) + REPLAY_SLOT_SIZE), 0);
		break;
	case C_EMPTY:
		ck_assert_int_eq(truncate(path, 0), 0);
		break;
	case C_SHORT_HEADER:
		ck_assert_int_eq(truncate(path, 100), 0);
		break;
	case C_GARBAGE: {
		uint8_t junk[8192];

		unlink(path);
		mcrypto_random(NULL, junk, sizeof junk);
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
		ck_assert_int_ge(fd, 0);
		ck_assert_int_eq(write(fd, junk, sizeof junk), (ssize_t)sizeof junk);
		close(fd);
		break;
	}
	case NCORRUPTIONS:
		break;
	}
	ck_assert_int_eq(stat(path, &s1), 0);
	before = read_all(path, &blen);
	rc = replay_open(path, 100, REPLAY_CREATE, &err);
	ck_assert_ptr_null(rc);
	ck_assert_int_eq(err, REPLAY_ERR_CORRUPT);
	rc = replay_open(path, 0, REPLAY_DEFER_SYNC, &err);
	ck_assert_ptr_null(rc);
	ck_assert_int_eq(err, REPLAY_ERR_CORRUPT);
	/* untouched: same bytes, same size, same modification time */
	ck_assert_int_eq(stat(path, &s2), 0);
	after = read_all(path, &alen);
	ck_assert_uint_eq(blen, alen);
	ck_assert(blen == 0 || memcmp(before, after, blen) == 0);
	ck_assert(s1.st_mtim.tv_sec == s2.st_mtim.tv_sec && s1.st_mtim.tv_nsec == s2.st_mtim.tv_nsec);
	ck_assert(s1.st_ino == s2.st_ino);
	free(before);
	free(after);
	/* and it can still be deleted with its key */
	ck_assert_int_eq(replay_unlink(path, LONG_WAIT_MS), REPLAY_OK);
	ck_assert_int_ne(access(path, F_OK), 0);
}
END_TEST

/*
 * A half-written slot: written into an empty slot it reads as absent and
 * is reused; written over a record in the middle of a cluster it loses
 * only that record, and every tag whose probe passes it is still found.
 */
START_TEST(test_torn_slot)
{
	const char *path = tmp_path("torn");
	struct replay *rc = open_ok(path, 48, REPLAY_CREATE);	/* 64 slots */
	uint8_t tag[REPLAY_TAG_SIZE], fp[REPLAY_FP_SIZE], *f;
	uint64_t nslots, home, pos, victim = 0, n;
	struct replay_stats stats;
	size_t flen;
	uint32_t i, t, victim_tag = 0;
	int found;

	ck_assert_uint_eq(replay_capacity(rc), 48);
	ck_assert_int_eq(replay_lock(rc, LONG_WAIT_MS), REPLAY_OK);
	for (i = 0; i < 40; i++) {
		make_tag(tag, 40, i);
		ck_assert_int_eq(replay_insert(rc, tag), REPLAY_NEW);
	}
	ck_assert_int_eq(replay_unlock(rc), REPLAY_OK);
	f = read_all(path, &flen);
	nslots = le64(f + 24);
	ck_assert_uint_eq(nslots, 64);

	/*
	 * Victim: a recorded tag that sits exactly at its home slot, followed
	 * by a tag that was displaced past it (so its probe crosses the victim).
	 */
	found = 0;
	for (i = 0; i < 40 && !found; i++) {
		make_tag(tag, 40, i);
		home = spec_home(f, tag, fp);
		if (memcmp(f + REPLAY_HEADER_SIZE + home * REPLAY_SLOT_SIZE, fp, REPLAY_FP_SIZE) != 0)
			continue;
		for (t = 0; t < 40 && !found; t++) {
			uint8_t tag2[REPLAY_TAG_SIZE], fp2[REPLAY_FP_SIZE];
			uint64_t p;

			if (t == i)
				continue;
			make_tag(tag2, 40, t);
			/* walk t's probe: does it cross the victim before reaching t? */
			for (p = spec_home(f, tag2, fp2); !slot_is_empty(f, p); p = (p + 1) % nslots) {
				if (memcmp(f + REPLAY_HEADER_SIZE + p * REPLAY_SLOT_SIZE, fp2,
				    REPLAY_FP_SIZE) == 0)
					break;
				if (p == home) {
					found = 1;
					victim = home;
					victim_tag = i;
				}
			}
		}
	}
	ck_assert_msg(found, "no cluster of 40 tags in 64 slots: the hash is not spreading");

	/* 1. tear the victim: its first half overwritten by a new half slot */
	{
		uint8_t half[REPLAY_SLOT_SIZE / 2];

		mcrypto_random(NULL, half, sizeof half);
		write_at(path, half, sizeof half, (off_t)(REPLAY_HEADER_SIZE + victim * REPLAY_SLOT_SIZE));
	}
	/* 2. a half-written insert into an empty slot: the first 8 bytes only */
	for (t = 0;; t++) {
		make_tag(tag, 41, t);
		pos = spec_home(f, tag, fp);
		if (slot_is_empty(f, pos) && slot_is_empty(f, (pos + 1) % nslots))
			break;
	}
	write_at(path, fp, 8, (off_t)(REPLAY_HEADER_SIZE + pos * REPLAY_SLOT_SIZE));
	free(f);

	ck_assert_int_eq(replay_lock(rc, LONG_WAIT_MS), REPLAY_OK);
	for (i = 0; i < 40; i++) {
		enum replay_status want = i == victim_tag ? REPLAY_NEW : REPLAY_SEEN;

		make_tag(tag, 40, i);
		ck_assert_int_eq(replay_contains(rc, tag), want);
	}
	make_tag(tag, 41, t);
	ck_assert_int_eq(replay_contains(rc, tag), REPLAY_NEW);	/* the half insert */
	ck_assert_int_eq(replay_scan(rc, &stats), REPLAY_OK);
	ck_assert_uint_eq(stats.valid, 39);
	ck_assert_uint_eq(stats.torn, 2);
	ck_assert_int_eq(replay_count(rc, &n), REPLAY_OK);	/* repaired by the scan */
	ck_assert_uint_eq(n, 39);

	/* both torn slots are reused by the inserts that land there */
	ck_assert_int_eq(replay_insert(rc, tag), REPLAY_NEW);
	make_tag(tag, 40, victim_tag);
	ck_assert_int_eq(replay_insert(rc, tag), REPLAY_NEW);
	ck_assert_int_eq(replay_scan(rc, &stats), REPLAY_OK);
	ck_assert_uint_eq(stats.valid, 41);
	ck_assert_uint_eq(stats.torn, 0);
	for (i = 0; i < 40; i++) {
		make_tag(tag, 40, i);
		ck_assert_int_eq(replay_contains(rc, tag), REPLAY_SEEN);
	}
	ck_assert_int_eq(replay_close(rc), REPLAY_OK);
}
END_TEST

/* A torn count record (page 1) is recounted, not trusted and not fatal */
START_TEST(test_torn_count)
{
	const char *path = tmp_path("torncount");
	struct replay *rc = open_ok(path, 100, REPLAY_CREATE);
	uint8_t tag[REPLAY_TAG_SIZE], junk[16], *f;
	size_t flen;
	uint64_t n;
	uint32_t i;

	for (i = 0; i < 30; i++) {
		make_tag(tag, 50, i);
		ck_assert_int_eq(replay_check_insert(rc, tag, LONG_WAIT_MS), REPLAY_NEW);
	}
	ck_assert_int_eq(replay_close(rc), REPLAY_OK);
	memset(junk, 0x77, sizeof junk);
	write_at(path, junk, 8, 4096);	/* the count record */

	rc = open_ok(path, 0, 0);
	ck_assert_int_eq(replay_lock(rc, LONG_WAIT_MS), REPLAY_OK);
	ck_assert_int_eq(replay_count(rc, &n), REPLAY_OK);
	ck_assert_uint_eq(n, 30);
	ck_assert_int_eq(replay_unlock(rc), REPLAY_OK);
	ck_assert_int_eq(replay_close(rc), REPLAY_OK);
	f = read_all(path, &flen);
	ck_assert_uint_eq(le64(f + 4096), 30);		/* rewritten */
	free(f);
}
END_TEST

START_TEST(test_full)
{
	const char *path = tmp_path("full");
	struct replay *rc = open_ok(path, 12, REPLAY_CREATE);	/* 16 slots, 12 tags */
	uint8_t tag[REPLAY_TAG_SIZE];
	uint64_t n;
	uint32_t i;

	ck_assert_uint_eq(replay_capacity(rc), 12);
	for (i = 0; i < 12; i++) {
		make_tag(tag, 60, i);
		ck_assert_int_eq(replay_check_insert(rc, tag, LONG_WAIT_MS), REPLAY_NEW);
	}
	make_tag(tag, 61, 0);
	ck_assert_int_eq(replay_check_insert(rc, tag, LONG_WAIT_MS), REPLAY_FULL);
	ck_assert_int_eq(replay_lock(rc, LONG_WAIT_MS), REPLAY_OK);
	ck_assert_int_eq(replay_insert(rc, tag), REPLAY_FULL);
	ck_assert_int_eq(replay_contains(rc, tag), REPLAY_NEW);
	make_tag(tag, 60, 7);
	ck_assert_int_eq(replay_insert(rc, tag), REPLAY_SEEN);	/* idempotent when full */
	ck_assert_int_eq(replay_count(rc, &n), REPLAY_OK);
	ck_assert_uint_eq(n, 12);
	ck_assert_int_eq(replay_close(rc), REPLAY_OK);

	rc = open_ok(path, 1000, REPLAY_CREATE);	/* an existing file keeps its size */
	make_tag(tag, 61, 1);
	ck_assert_int_eq(replay_check_insert(rc, tag, LONG_WAIT_MS), REPLAY_FULL);
	ck_assert_int_eq(replay_close(rc), REPLAY_OK);
}
END_TEST

START_TEST(test_lock_busy)
{
	const char *path = tmp_path("busy");
	struct replay *rc = open_ok(path, 100, REPLAY_CREATE);
	uint8_t tag[REPLAY_TAG_SIZE];
	int held[2], release[2], status;
	double t0, elapsed;
	pid_t pid;
	char c;

	ck_assert_int_eq(pipe(held), 0);
	ck_assert_int_eq(pipe(release), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		enum replay_status err;
		struct replay *mine = replay_open(path, 0, 0, &err);

		if (mine == NULL || replay_lock(mine, LONG_WAIT_MS) != REPLAY_OK)
			_exit(2);
		if (write(held[1], "L", 1) != 1 || read(release[0], &c, 1) != 1)
			_exit(3);
		_exit(replay_close(mine) == REPLAY_OK ? 0 : 4);
	}
	ck_assert_int_eq(read(held[0], &c, 1), 1);	/* the child holds the lock */

	make_tag(tag, 70, 0);
	t0 = now_ms();
	ck_assert_int_eq(replay_lock(rc, 300), REPLAY_BUSY);
	elapsed = now_ms() - t0;
	ck_assert_msg(elapsed >= 299.0 && elapsed < 60000.0, "waited %.1f ms for 300", elapsed);
	ck_assert_int_eq(replay_check_insert(rc, tag, 0), REPLAY_BUSY);
	ck_assert_int_eq(replay_check_insert(rc, tag, 50), REPLAY_BUSY);
	ck_assert_int_eq(replay_unlink(path, 50), REPLAY_BUSY);
	ck_assert_int_eq(access(path, F_OK), 0);

	ck_assert_int_eq(write(release[1], "u", 1), 1);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ck_assert_int_eq(replay_check_insert(rc, tag, LONG_WAIT_MS), REPLAY_NEW);
	ck_assert_int_eq(replay_close(rc), REPLAY_OK);
}
END_TEST

START_TEST(test_unlink)
{
	const char *path = tmp_path("unlink");
	struct replay *rc = open_ok(path, 100, REPLAY_CREATE), *again;
	uint8_t tag[REPLAY_TAG_SIZE];

	make_tag(tag, 80, 0);
	ck_assert_int_eq(replay_check_insert(rc, tag, LONG_WAIT_MS), REPLAY_NEW);
	ck_assert_int_eq(replay_unlink(path, LONG_WAIT_MS), REPLAY_OK);
	ck_assert_int_ne(access(path, F_OK), 0);
	/* a process that still has it open is told at its next lock */
	ck_assert_int_eq(replay_lock(rc, LONG_WAIT_MS), REPLAY_GONE);
	ck_assert_int_eq(replay_check_insert(rc, tag, LONG_WAIT_MS), REPLAY_GONE);
	ck_assert_int_eq(replay_close(rc), REPLAY_OK);
	ck_assert_int_eq(replay_unlink(path, LONG_WAIT_MS), REPLAY_OK);	/* idempotent */
	/* a new cache under the same name starts empty */
	again = open_ok(path, 100, REPLAY_CREATE);
	ck_assert_int_eq(replay_check_insert(again, tag, LONG_WAIT_MS), REPLAY_NEW);
	ck_assert_int_eq(replay_close(again), REPLAY_OK);
}
END_TEST

static Suite *
replay_suite(void)
{
	Suite *s = suite_create("replay");
	TCase *tc = tcase_create("core");

	tcase_add_unchecked_fixture(tc, make_root, remove_root);
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_basic);
	tcase_add_test(tc, test_sizes_and_args);
	tcase_add_test(tc, test_persistence);
	tcase_add_test(tc, test_concurrent_exactly_one);
	tcase_add_loop_test(tc, test_corrupt_header, 0, NCORRUPTIONS);
	tcase_add_test(tc, test_torn_slot);
	tcase_add_test(tc, test_torn_count);
	tcase_add_test(tc, test_full);
	tcase_add_test(tc, test_lock_busy);
	tcase_add_test(tc, test_unlink);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(replay_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
