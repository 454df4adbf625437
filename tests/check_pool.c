/*
 * check_pool.c - the pool: the entry format (round trips for each kind,
 * every truncation and every single-bit flip refused, each field rule
 * checked with a valid checksum), entry names, and the commit protocol of
 * doc/INTERNALS.md sections 3 and 4 on real directories: a new entry, a
 * replay, state R5 finished by a retry, a busy lock, a missing pool/,
 * replay cache failures, many processes committing at once; listing,
 * reading damaged entries and quarantine.
 *
 * Every test works in a spool of its own under one temporary directory
 * ($TMPDIR or /tmp), made before the tests and removed after them.
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
#include <unistd.h>

#include <check.h>

#include "mcrypto.h"
#include "pkt.h"
#include "pool.h"
#include "replay.h"
#include "testutil.h"

#define NCHILD		20		/* concurrent committers */
#define LONG_WAIT_MS	60000		/* "forever" for a lock in a test */
#define CACHE_CAP	1000

static char tmproot[1024];
static const uint8_t names_key[32] = {
	0x6e, 0x61, 0x6d, 0x65, 0x73, 0x2d, 0x6b, 0x65, 0x79, 0x2d, 0x66, 0x6f, 0x72, 0x2d, 0x74, 0x65,
	0x73, 0x74, 0x73, 0x2d, 0x6f, 0x6e, 0x6c, 0x79, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x21
};
static uint8_t packet[PKT_SIZE];		/* forward data */
static uint8_t body[PKT_BODY_MAX];		/* deliver data */
static uint8_t enc[POOL_ENTRY_MAX], enc2[POOL_ENTRY_MAX];

/* ---- fixtures and helpers ---------------------------------------------------- */


static void
make_root(void)
{
	tu_make_tmpdir(tmproot, sizeof tmproot, "check_pool");
}

static void
remove_root(void)
{
	tu_rm_tree(tmproot);
}

static void
setup(void)
{
	struct mcrypto_rng rng;
	uint8_t seed[32] = { 'p', 'o', 'o', 'l' };

	tu_init();
	mcrypto_rng_seed(&rng, seed);
	mcrypto_random(&rng, packet, sizeof packet);
	mcrypto_random(&rng, body, sizeof body);
}

/* path - root/a[/b] (static buffer; one at a time) */
static const char *
path2(const char *a, const char *b)
{
	static char p[PATH_MAX];

	if (b != NULL)
		snprintf(p, sizeof p, "%s/%s/%s", tmproot, a, b);
	else
		snprintf(p, sizeof p, "%s/%s", tmproot, a);
	return p;
}

/* make_spool - root/name with tmp/, pool/ and corrupt/ */
static const char *
make_spool(const char *name)
{
	static char spool[PATH_MAX];
	static const char *const sub[] = { "tmp", "pool", "corrupt" };
	size_t i;

	snprintf(spool, sizeof spool, "%s/%s", tmproot, name);
	ck_assert_int_eq(mkdir(spool, 0700), 0);
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(mkdir(path2(name, sub[i]), 0700), 0);
	return spool;
}

static struct pool *
open_pool(const char *spool)
{
	struct pool *p = NULL;

	ck_assert_int_eq(pool_open(&p, spool, names_key), POOL_OK);
	ck_assert_ptr_nonnull(p);
	return p;
}

static struct replay *
open_cache(const char *spool, uint64_t capacity)
{
	char path[PATH_MAX];
	enum replay_status err;
	struct replay *rc;

	snprintf(path, sizeof path, "%s/replay", spool);
	rc = replay_open(path, capacity, REPLAY_CREATE, &err);
	ck_assert_msg(rc != NULL, "replay_open: %s", replay_strerror(err));
	return rc;
}

/* count_dir - entries in spool/sub, . and .. aside */
static int
count_dir(const char *spool, const char *sub)
{
	char path[PATH_MAX];
	struct dirent *e;
	DIR *d;
	int n = 0;

	snprintf(path, sizeof path, "%s/%s", spool, sub);
	d = opendir(path);
	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static void
make_tag(uint8_t tag[PKT_REPLAY_TAG_SIZE], uint32_t i)
{
	uint8_t in[4] = { (uint8_t)i, (uint8_t)(i >> 8), (uint8_t)(i >> 16), (uint8_t)(i >> 24) };

	mcrypto_hash(tag, PKT_REPLAY_TAG_SIZE, NULL, 0, in, sizeof in);
}

/* make_entry - a valid entry of kind with tag number i */
static void
make_entry(struct pool_entry *e, enum pool_kind kind, uint32_t i)
{
	memset(e, 0, sizeof *e);
	e->kind = kind;
	make_tag(e->tag, i);
	switch (kind) {
	case POOL_FORWARD:
		snprintf(e->addr, sizeof e->addr, "next%u@mix.example", (unsigned)i);
		e->data = packet;
		e->data_len = PKT_SIZE;
		e->due = 1700000000 + (int64_t)i;
		e->retry = 3;
		e->not_before = 1700000600;
		break;
	case POOL_DELIVER:
		e->data = body;
		e->data_len = 1000 + i % 100;
		break;
	case POOL_DUMMY:	/* made by a flush, sent like a forward entry */
		snprintf(e->addr, sizeof e->addr, "dummy%u@mix.example", (unsigned)i);
		e->data = packet;
		e->data_len = PKT_SIZE;
		break;
	}
}

static void
assert_same_entry(const struct pool_entry *a, const struct pool_entry *b)
{
	ck_assert_int_eq(a->kind, b->kind);
	ck_assert_mem_eq(a->tag, b->tag, PKT_REPLAY_TAG_SIZE);
	ck_assert_int_eq(a->due, b->due);
	ck_assert_uint_eq(a->retry, b->retry);
	ck_assert_int_eq(a->not_before, b->not_before);
	ck_assert_str_eq(a->addr, b->addr);
	ck_assert_uint_eq(a->data_len, b->data_len);
	if (a->data_len > 0)
		ck_assert_mem_eq(a->data, b->data, a->data_len);
}

/* decode_copy - decode len bytes from a heap copy of exactly that size */
static enum pool_err
decode_copy(const uint8_t *buf, size_t len, struct pool_entry *e)
{
	uint8_t *copy = malloc(len ? len : 1);
	enum pool_err err;

	ck_assert_ptr_nonnull(copy);
	if (len > 0)
		memcpy(copy, buf, len);
	err = pool_entry_decode(copy, len, e);
	free(copy);
	return err;
}

/* reseal - recompute the checksum of an entry of len bytes */
static void
reseal(uint8_t *buf, size_t len)
{
	mcrypto_hash(buf + len - POOL_SUM_SIZE, POOL_SUM_SIZE, NULL, 0, buf, len - POOL_SUM_SIZE);
}

/* write_file - spool/sub/name with len bytes */
static void
write_file(const char *spool, const char *sub, const char *name, const void *buf, size_t len)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof path, "%s/%s/%s", spool, sub, name);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, buf, len), (ssize_t)len);
	ck_assert_int_eq(close(fd), 0);
}

static int
tag_recorded(struct replay *rc, const uint8_t tag[PKT_REPLAY_TAG_SIZE])
{
	enum replay_status st;

	ck_assert_int_eq(replay_lock(rc, LONG_WAIT_MS), REPLAY_OK);
	st = replay_contains(rc, tag);
	ck_assert_int_eq(replay_unlock(rc), REPLAY_OK);
	ck_assert(st == REPLAY_SEEN || st == REPLAY_NEW);
	return st == REPLAY_SEEN;
}

/* ---- the entry format ------------------------------------------------------------ */

/* Round trips: kind by _i, with the extremes of each */
START_TEST(test_roundtrip)
{
	struct pool_entry e, d;
	size_t len, len2, want;

	switch (_i) {
	case 0:
		make_entry(&e, POOL_FORWARD, 1);
		break;
	case 1:		/* longest address, largest times */
		make_entry(&e, POOL_FORWARD, 2);
		memset(e.addr, 'a', PKT_ADDR_MAX);
		memcpy(e.addr + PKT_ADDR_MAX - 8, "@mix.org", 8);
		e.addr[PKT_ADDR_MAX] = '\0';
		e.due = INT64_MAX;
		e.not_before = INT64_MAX;
		e.retry = UINT32_MAX;
		break;
	case 2:
		make_entry(&e, POOL_DELIVER, 3);
		break;
	case 3:		/* empty body */
		make_entry(&e, POOL_DELIVER, 4);
		e.data_len = 0;
		e.data = NULL;
		break;
	case 4:		/* largest body */
		make_entry(&e, POOL_DELIVER, 5);
		e.data_len = PKT_BODY_MAX;
		break;
	default:
		make_entry(&e, POOL_DUMMY, 6);
		break;
	}
	ck_assert_int_eq(pool_entry_encode(&e, enc, &len), POOL_OK);
	want = POOL_HEAD_SIZE + strlen(e.addr) + 4 + e.data_len + POOL_SUM_SIZE;
	ck_assert_uint_eq(len, want);
	ck_assert_uint_le(len, POOL_ENTRY_MAX);
	/* the layout of section 2, field by field */
	ck_assert_mem_eq(enc, POOL_MAGIC, 8);
	ck_assert_int_eq(enc[8], (int)e.kind);
	ck_assert_int_eq(enc[9] | enc[10] | enc[11], 0);
	ck_assert_mem_eq(enc + 12, e.tag, 32);
	ck_assert_int_eq(enc[64], (int)strlen(e.addr));
	ck_assert_uint_eq((uint32_t)enc[65 + enc[64]] << 24 | (uint32_t)enc[66 + enc[64]] << 16 |
	    (uint32_t)enc[67 + enc[64]] << 8 | enc[68 + enc[64]], e.data_len);
	if (e.kind == POOL_FORWARD && _i == 0) {
		ck_assert_int_eq(enc[44 + 7], (int)(e.due & 0xff));	/* big-endian */
		ck_assert_int_eq(enc[52 + 3], 3);
	}
	{
		uint8_t sum[32];

		mcrypto_hash(sum, 32, NULL, 0, enc, len - 32);
		ck_assert_mem_eq(enc + len - 32, sum, 32);
	}

	ck_assert_int_eq(decode_copy(enc, len, &d), POOL_OK);
	ck_assert_int_eq(pool_entry_decode(enc, len, &d), POOL_OK);
	ck_assert_ptr_eq(d.data, enc + len - POOL_SUM_SIZE - e.data_len);
	assert_same_entry(&e, &d);
	ck_assert_int_eq(pool_entry_encode(&d, enc2, &len2), POOL_OK);
	ck_assert_uint_eq(len2, len);
	ck_assert_mem_eq(enc2, enc, len);
}
END_TEST

/* encode refuses entries that break section 2's rules */
START_TEST(test_encode_rejects)
{
	struct pool_entry e;
	size_t len = 12345;
	int k;

	for (k = 0; k < 14; k++) {
		switch (k) {
		case 0:	make_entry(&e, POOL_FORWARD, 1); e.addr[0] = '\0'; break;
		case 1:	make_entry(&e, POOL_FORWARD, 1); strcpy(e.addr, "no at sign"); break;
		case 2:	make_entry(&e, POOL_FORWARD, 1); e.data_len = PKT_SIZE - 1; break;
		case 3:	make_entry(&e, POOL_FORWARD, 1); memset(e.addr, 'a', sizeof e.addr); break;
		case 4:	make_entry(&e, POOL_FORWARD, 1); e.data = NULL; break;
		case 5:	make_entry(&e, POOL_DELIVER, 1); strcpy(e.addr, "a@b.c"); break;
		case 6:	make_entry(&e, POOL_DELIVER, 1); e.data_len = PKT_BODY_MAX + 1; break;
		case 7:	make_entry(&e, POOL_DUMMY, 1); e.data_len = 1; break;
		case 8:	make_entry(&e, POOL_DUMMY, 1); e.addr[0] = '\0'; e.data_len = 0; break;
		case 9:	make_entry(&e, POOL_DUMMY, 1); e.kind = (enum pool_kind)0; break;
		case 10: make_entry(&e, POOL_DUMMY, 1); e.kind = (enum pool_kind)4; break;
		case 11: make_entry(&e, POOL_FORWARD, 1); e.due = -1; break;
		case 12: make_entry(&e, POOL_FORWARD, 1); e.not_before = INT64_MIN; break;
		default: make_entry(&e, POOL_DELIVER, 1); e.data = NULL; break;
		}
		ck_assert_msg(pool_entry_encode(&e, enc, &len) == POOL_ERR_ARG, "case %d accepted", k);
		ck_assert_uint_eq(len, 12345);
	}
}
END_TEST

/* every proper prefix, and one byte more, is refused; no read past len */
START_TEST(test_decode_truncations)
{
	struct pool_entry e, d;
	size_t len, n;

	make_entry(&e, _i == 0 ? POOL_FORWARD : _i == 1 ? POOL_DELIVER : POOL_DUMMY, 7);
	ck_assert_int_eq(pool_entry_encode(&e, enc, &len), POOL_OK);
	for (n = 0; n < len; n++)
		ck_assert_msg(decode_copy(enc, n, &d) == POOL_ERR_FORMAT, "prefix %zu accepted", n);
	enc[len] = 0;
	ck_assert_int_eq(decode_copy(enc, len + 1, &d), POOL_ERR_FORMAT);
	ck_assert_int_eq(decode_copy(enc, len, &d), POOL_OK);
}
END_TEST

/*
 * every single-bit flip anywhere is refused (forward and deliver; a dummy
 * has the forward entry's shape and differs only in the kind byte)
 */
START_TEST(test_decode_bitflips)
{
	struct pool_entry e, d;
	size_t len, bit;

	make_entry(&e, _i == 0 ? POOL_FORWARD : POOL_DELIVER, 8);
	ck_assert_int_eq(pool_entry_encode(&e, enc, &len), POOL_OK);
	for (bit = 0; bit < 8 * len; bit++) {
		enc[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		ck_assert_msg(pool_entry_decode(enc, len, &d) == POOL_ERR_FORMAT,
		    "flip of bit %zu accepted", bit);
		enc[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	ck_assert_int_eq(pool_entry_decode(enc, len, &d), POOL_OK);
}
END_TEST

/*
 * Each field rule on its own, with the checksum made valid again, so that
 * the checksum is not what refuses them. _i picks the damage.
 */
START_TEST(test_decode_fields)
{
	struct pool_entry e, d;
	size_t len;

	make_entry(&e, _i == 9 || _i == 10 ? POOL_DELIVER : POOL_FORWARD, 9);
	ck_assert_int_eq(pool_entry_encode(&e, enc, &len), POOL_OK);
	switch (_i) {
	case 0: enc[0] = 'X'; break;				/* magic */
	case 1: enc[8] = 0; break;				/* kind */
	case 2: enc[8] = 4; break;
	case 3: enc[8] = POOL_DELIVER; break;			/* deliver with an address */
	case 4: enc[9] = 1; break;				/* reserved, each byte */
	case 11: enc[10] = 0x10; break;
	case 12: enc[11] = 0x80; break;
	case 5: enc[44] = 0x80; break;				/* due before the epoch */
	case 6: enc[56] = 0xff; break;				/* not-before likewise */
	case 7: enc[65 + 4] = ' '; break;			/* address character */
	case 8: enc[65 + 2] = '\0'; break;			/* NUL in the address */
	case 9: enc[8] = POOL_FORWARD; break;			/* forward without address */
	case 10: enc[8] = POOL_DUMMY; break;			/* dummy without address */
	}
	reseal(enc, len);
	ck_assert_msg(pool_entry_decode(enc, len, &d) == POOL_ERR_FORMAT, "case %d accepted", _i);
}
END_TEST

/* a length field that disagrees with the entry's size, checksum valid */
START_TEST(test_decode_lengths)
{
	struct pool_entry e, d;
	size_t len;
	uint8_t *p;

	/* a deliver entry claiming one byte more data: its size no longer adds up */
	make_entry(&e, POOL_DELIVER, 10);
	ck_assert_int_eq(pool_entry_encode(&e, enc, &len), POOL_OK);
	p = enc + 65 + 3;
	(*p)++;
	reseal(enc, len);
	ck_assert_int_eq(pool_entry_decode(enc, len, &d), POOL_ERR_FORMAT);

	/* the address length beyond PKT_ADDR_MAX */
	make_entry(&e, POOL_FORWARD, 10);
	ck_assert_int_eq(pool_entry_encode(&e, enc, &len), POOL_OK);
	enc[64] = PKT_ADDR_MAX + 1;
	reseal(enc, len);
	ck_assert_int_eq(pool_entry_decode(enc, len, &d), POOL_ERR_FORMAT);

	/* a huge data length must not overflow the size sum */
	make_entry(&e, POOL_DELIVER, 10);
	e.data_len = 0;
	ck_assert_int_eq(pool_entry_encode(&e, enc, &len), POOL_OK);
	memset(enc + 65, 0xff, 4);
	reseal(enc, len);
	ck_assert_int_eq(pool_entry_decode(enc, len, &d), POOL_ERR_FORMAT);

	/* a deliver body of PKT_BODY_MAX + 1 bytes, consistently framed */
	make_entry(&e, POOL_DELIVER, 10);
	e.data_len = PKT_BODY_MAX;
	ck_assert_int_eq(pool_entry_encode(&e, enc, &len), POOL_OK);
	memmove(enc + 69 + PKT_BODY_MAX + 1, enc + 69 + PKT_BODY_MAX, 32);
	enc[69 + PKT_BODY_MAX] = 0;
	enc[68] = (uint8_t)(enc[68] + 1);	/* 17181 = 0x431d: no carry */
	len++;
	reseal(enc, len);
	ck_assert_int_eq(pool_entry_decode(enc, len, &d), POOL_ERR_FORMAT);
}
END_TEST

/*
 * The fuzz seeds in fuzz/corpus/poolentry/ are golden files of the format:
 * one valid entry of each kind and shape. MIX_WRITE_SEEDS=1 rewrites them
 * (from a build directory: top_srcdir=... tests/check_pool).
 */
static const char *const seed_names[] = {
	"forward", "forward-retry", "deliver-empty", "deliver-short", "deliver-max", "dummy"
};
#define NSEEDS	(sizeof seed_names / sizeof seed_names[0])

static void
seed_entry(struct pool_entry *e, size_t k)
{
	static const char text[] = "To: someone@example.org\nSubject: test\n\nhello\n";

	switch (k) {
	case 0:
		make_entry(e, POOL_FORWARD, 200);
		strcpy(e->addr, "a@b");
		e->due = e->not_before = 0;
		e->retry = 0;
		break;
	case 1:
		make_entry(e, POOL_FORWARD, 201);
		break;
	case 2:
		make_entry(e, POOL_DELIVER, 202);
		e->data = NULL;
		e->data_len = 0;
		break;
	case 3:
		make_entry(e, POOL_DELIVER, 203);
		e->data = (const uint8_t *)text;
		e->data_len = sizeof text - 1;
		break;
	case 4:
		make_entry(e, POOL_DELIVER, 204);
		e->data_len = PKT_BODY_MAX;
		break;
	default:
		make_entry(e, POOL_DUMMY, 205);
		break;
	}
}

START_TEST(test_seeds)
{
	char rel[256];
	const char *path;
	struct pool_entry e, d;
	const char *w = getenv("MIX_WRITE_SEEDS");
	uint8_t *file;
	size_t len, flen;
	FILE *fp;

	seed_entry(&e, (size_t)_i);
	ck_assert_int_eq(pool_entry_encode(&e, enc, &len), POOL_OK);
	snprintf(rel, sizeof rel, "../fuzz/corpus/poolentry/%s", seed_names[_i]);
	path = tu_srcpath(rel);
	if (w != NULL && strcmp(w, "1") == 0) {
		fp = fopen(path, "wb");
		ck_assert_msg(fp != NULL, "cannot write %s", path);
		ck_assert_uint_eq(fwrite(enc, 1, len, fp), len);
		ck_assert_int_eq(fclose(fp), 0);
	}
	file = tu_read_file(path, &flen);
	ck_assert_uint_eq(flen, len);
	ck_assert_mem_eq(file, enc, len);
	ck_assert_int_eq(pool_entry_decode(file, flen, &d), POOL_OK);
	assert_same_entry(&e, &d);
	free(file);
}
END_TEST

/* ---- names ----------------------------------------------------------------------- */

START_TEST(test_names)
{
	const char *spool = make_spool("names");
	struct pool *p = open_pool(spool), *q;
	uint8_t tag[32], mac[32], other_key[32];
	char n1[POOL_NAME_LEN + 1], n2[POOL_NAME_LEN + 1], want[2 * 32 + 1];
	size_t i;

	make_tag(tag, 1);
	memset(n1, 'x', sizeof n1);
	pool_name(p, tag, n1);
	ck_assert_uint_eq(strlen(n1), POOL_NAME_LEN);
	for (i = 0; i < POOL_NAME_LEN; i++)
		ck_assert(strchr("0123456789abcdef", n1[i]) != NULL);
	/* section 1.1: hex(MAC(k_names, tag))[0..32), computed independently */
	mcrypto_hash(mac, 32, names_key, 32, tag, 32);
	mcrypto_hex(want, mac, 32);
	want[POOL_NAME_LEN] = '\0';
	ck_assert_str_eq(n1, want);
	pool_name(p, tag, n2);
	ck_assert_str_eq(n1, n2);
	make_tag(tag, 2);
	pool_name(p, tag, n2);
	ck_assert_str_ne(n1, n2);
	/* another node key gives another name for the same tag */
	memcpy(other_key, names_key, 32);
	other_key[0] ^= 1;
	ck_assert_int_eq(pool_open(&q, spool, other_key), POOL_OK);
	make_tag(tag, 1);
	pool_name(q, tag, n2);
	ck_assert_str_ne(n1, n2);
	pool_close(q);
	pool_close(p);
	pool_close(NULL);
}
END_TEST

START_TEST(test_strerror)
{
	int e;

	for (e = POOL_OK; e <= POOL_ERR_REPLAY; e++)
		ck_assert_str_ne(pool_strerror((enum pool_err)e), "unknown pool error");
	ck_assert_str_eq(pool_strerror((enum pool_err)99), "unknown pool error");
}
END_TEST

/* ---- commit ------------------------------------------------------------------------ */

/* A new entry, then the same packet again (a replay) */
START_TEST(test_commit_new_and_replay)
{
	const char *spool = make_spool("commit");
	struct pool *p = open_pool(spool);
	struct replay *rc = open_cache(spool, CACHE_CAP);
	struct pool_entry e, d;
	char name[POOL_NAME_LEN + 1], **names;
	uint8_t buf[POOL_ENTRY_MAX];
	struct stat s1, s2;
	size_t n, len, elen;

	make_entry(&e, POOL_FORWARD, 20);
	ck_assert_int_eq(pool_commit(p, &e, rc, LONG_WAIT_MS), POOL_COMMITTED);
	ck_assert_int_eq(count_dir(spool, "pool"), 1);
	ck_assert_int_eq(count_dir(spool, "tmp"), 0);
	ck_assert(tag_recorded(rc, e.tag));
	pool_name(p, e.tag, name);
	ck_assert_int_eq(stat(path2("commit/pool", name), &s1), 0);
	ck_assert(S_ISREG(s1.st_mode));
	ck_assert_int_eq(s1.st_mode & 07777, 0600);
	ck_assert_int_eq(s1.st_nlink, 1);
	ck_assert_int_eq(s1.st_mtime, 0);
	ck_assert_int_eq(s1.st_atime, 0);
	ck_assert_int_eq(pool_entry_encode(&e, enc, &elen), POOL_OK);
	ck_assert_int_eq((size_t)s1.st_size, elen);

	ck_assert_int_eq(pool_list(p, &names, &n), POOL_OK);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(names[0], name);
	pool_list_free(names, n);
	ck_assert_int_eq(pool_read(p, name, buf, &len, &d), POOL_OK);
	ck_assert_uint_eq(len, elen);
	assert_same_entry(&e, &d);

	/* the same packet again: a replay, nothing kept, the entry untouched */
	ck_assert_int_eq(pool_commit(p, &e, rc, LONG_WAIT_MS), POOL_REPLAY);
	ck_assert_int_eq(count_dir(spool, "pool"), 1);
	ck_assert_int_eq(count_dir(spool, "tmp"), 0);
	ck_assert_int_eq(stat(path2("commit/pool", name), &s2), 0);
	ck_assert_int_eq(s2.st_ino, s1.st_ino);
	ck_assert_int_eq(s2.st_nlink, 1);

	/* the other kinds commit too */
	make_entry(&e, POOL_DELIVER, 21);
	ck_assert_int_eq(pool_commit(p, &e, rc, LONG_WAIT_MS), POOL_COMMITTED);
	make_entry(&e, POOL_DUMMY, 22);
	ck_assert_int_eq(pool_commit(p, &e, rc, LONG_WAIT_MS), POOL_COMMITTED);
	ck_assert_int_eq(count_dir(spool, "pool"), 3);
	ck_assert_int_eq(count_dir(spool, "tmp"), 0);

	/* an invalid entry: refused before anything is written */
	make_entry(&e, POOL_DUMMY, 23);
	e.data_len = 5;
	e.data = body;
	ck_assert_int_eq(pool_commit(p, &e, rc, LONG_WAIT_MS), POOL_ERR_ARG);
	ck_assert_int_eq(count_dir(spool, "pool"), 3);
	ck_assert_int_eq(count_dir(spool, "tmp"), 0);
	ck_assert(!tag_recorded(rc, e.tag));

	ck_assert_int_eq(replay_close(rc), REPLAY_OK);
	pool_close(p);
}
END_TEST

/*
 * State R5 (and R4 whose link survived): the entry is in pool/ under its
 * name, its tag unrecorded. The MTA's retry finishes the commit: EEXIST,
 * the tag recorded, still one entry, the old one.
 */
START_TEST(test_commit_r5)
{
	const char *spool = make_spool("r5");
	struct pool *p = open_pool(spool);
	struct replay *rc = open_cache(spool, CACHE_CAP);
	char name[POOL_NAME_LEN + 1];
	struct pool_entry e;
	struct stat s1, s2;
	size_t len;

	make_entry(&e, POOL_DELIVER, 30);
	ck_assert_int_eq(pool_entry_encode(&e, enc, &len), POOL_OK);
	pool_name(p, e.tag, name);
	write_file(spool, "pool", name, enc, len);
	ck_assert_int_eq(stat(path2("r5/pool", name), &s1), 0);
	ck_assert(!tag_recorded(rc, e.tag));

	ck_assert_int_eq(pool_commit(p, &e, rc, LONG_WAIT_MS), POOL_COMMITTED);
	ck_assert_int_eq(count_dir(spool, "pool"), 1);
	ck_assert_int_eq(count_dir(spool, "tmp"), 0);
	ck_assert(tag_recorded(rc, e.tag));
	ck_assert_int_eq(stat(path2("r5/pool", name), &s2), 0);
	ck_assert_int_eq(s2.st_ino, s1.st_ino);

	/* and the retry after that is a replay */
	ck_assert_int_eq(pool_commit(p, &e, rc, LONG_WAIT_MS), POOL_REPLAY);
	ck_assert_int_eq(count_dir(spool, "pool"), 1);
	ck_assert_int_eq(replay_close(rc), REPLAY_OK);
	pool_close(p);
}
END_TEST

/* Another process holds the replay lock: a transient error, nothing left */
START_TEST(test_commit_lock_busy)
{
	const char *spool = make_spool("busy");
	struct pool *p = open_pool(spool);
	struct replay *rc = open_cache(spool, CACHE_CAP);
	int held[2], release[2], status;
	struct pool_entry e;
	pid_t pid;
	char c;

	ck_assert_int_eq(pipe(held), 0);
	ck_assert_int_eq(pipe(release), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		char path[PATH_MAX];
		enum replay_status err;
		struct replay *mine;

		snprintf(path, sizeof path, "%s/replay", spool);
		mine = replay_open(path, 0, 0, &err);
		if (mine == NULL || replay_lock(mine, LONG_WAIT_MS) != REPLAY_OK)
			_exit(2);
		if (write(held[1], "L", 1) != 1 || read(release[0], &c, 1) != 1)
			_exit(3);
		_exit(replay_close(mine) == REPLAY_OK ? 0 : 4);
	}
	ck_assert_int_eq(read(held[0], &c, 1), 1);

	make_entry(&e, POOL_FORWARD, 40);
	ck_assert_int_eq(pool_commit(p, &e, rc, 100), POOL_ERR_LOCK);
	ck_assert_int_eq(pool_commit(p, &e, rc, 0), POOL_ERR_LOCK);
	ck_assert_int_eq(count_dir(spool, "pool"), 0);
	ck_assert_int_eq(count_dir(spool, "tmp"), 0);

	ck_assert_int_eq(write(release[1], "u", 1), 1);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* the lock is free again: the retry commits, and the lock was released */
	ck_assert_int_eq(pool_commit(p, &e, rc, LONG_WAIT_MS), POOL_COMMITTED);
	ck_assert(tag_recorded(rc, e.tag));
	ck_assert_int_eq(count_dir(spool, "pool"), 1);
	ck_assert_int_eq(replay_close(rc), REPLAY_OK);
	pool_close(p);
}
END_TEST

/* A spool without pool/ cannot be opened; pool/ gone later: a transient error */
START_TEST(test_commit_missing_dir)
{
	const char *spool = make_spool("missing");
	struct pool *p = NULL;
	struct replay *rc;
	struct pool_entry e;

	ck_assert_int_eq(rmdir(path2("missing", "pool")), 0);
	errno = 0;
	ck_assert_int_eq(pool_open(&p, spool, names_key), POOL_ERR_IO);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_ptr_null(p);
	errno = 0;
	ck_assert_int_eq(pool_open(&p, path2("no-such-spool", NULL), names_key), POOL_ERR_IO);
	ck_assert_int_eq(errno, ENOENT);

	ck_assert_int_eq(mkdir(path2("missing", "pool"), 0700), 0);
	p = open_pool(spool);
	rc = open_cache(spool, CACHE_CAP);
	ck_assert_int_eq(rmdir(path2("missing", "pool")), 0);
	make_entry(&e, POOL_FORWARD, 50);
	errno = 0;
	ck_assert_int_eq(pool_commit(p, &e, rc, LONG_WAIT_MS), POOL_ERR_IO);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_int_eq(count_dir(spool, "tmp"), 0);
	ck_assert(!tag_recorded(rc, e.tag));

	/* tmp/ gone: the tmp file cannot be made */
	ck_assert_int_eq(rmdir(path2("missing", "tmp")), 0);
	ck_assert_int_eq(pool_commit(p, &e, rc, LONG_WAIT_MS), POOL_ERR_IO);
	ck_assert(!tag_recorded(rc, e.tag));
	ck_assert_int_eq(replay_close(rc), REPLAY_OK);
	pool_close(p);
}
END_TEST

/*
 * The replay cache fails after the link (full): the entry stays in pool/,
 * complete, its tag unrecorded (state R5) and nothing in tmp/. A cache
 * deleted while open (its key retired) fails before anything is linked.
 */
START_TEST(test_commit_replay_fails)
{
	const char *spool = make_spool("rfail");
	struct pool *p = open_pool(spool);
	struct replay *rc = open_cache(spool, 1);
	uint8_t tag[32], buf[POOL_ENTRY_MAX];
	char name[POOL_NAME_LEN + 1], path[PATH_MAX];
	struct pool_entry e, d;
	uint32_t i;
	size_t len;

	for (i = 0; i < replay_capacity(rc); i++) {
		make_tag(tag, 1000 + i);
		ck_assert_int_eq(replay_check_insert(rc, tag, LONG_WAIT_MS), REPLAY_NEW);
	}
	make_entry(&e, POOL_DELIVER, 60);
	ck_assert_int_eq(pool_commit(p, &e, rc, LONG_WAIT_MS), POOL_ERR_REPLAY);
	ck_assert_int_eq(count_dir(spool, "tmp"), 0);
	ck_assert_int_eq(count_dir(spool, "pool"), 1);
	pool_name(p, e.tag, name);
	ck_assert_int_eq(pool_read(p, name, buf, &len, &d), POOL_OK);
	assert_same_entry(&e, &d);
	/* the lock was released */
	ck_assert_int_eq(replay_lock(rc, 0), REPLAY_OK);
	ck_assert_int_eq(replay_unlock(rc), REPLAY_OK);

	snprintf(path, sizeof path, "%s/replay", spool);
	ck_assert_int_eq(replay_unlink(path, LONG_WAIT_MS), REPLAY_OK);
	make_entry(&e, POOL_DELIVER, 61);
	ck_assert_int_eq(pool_commit(p, &e, rc, LONG_WAIT_MS), POOL_ERR_REPLAY);
	ck_assert_int_eq(count_dir(spool, "tmp"), 0);
	ck_assert_int_eq(count_dir(spool, "pool"), 1);
	ck_assert_int_eq(replay_close(rc), REPLAY_OK);
	pool_close(p);
}
END_TEST

/*
 * child_commit - one of NCHILD processes: wait for the start byte, open
 * the pool and the cache of its own, commit the entry with tag number
 * tagno and report the result as one byte.
 */
static void
child_commit(const char *spool, int start_fd, int out_fd, uint32_t tagno)
{
	enum replay_status rerr;
	struct pool_entry e;
	struct replay *rc;
	struct pool *p;
	char path[PATH_MAX], go, res;

	if (read(start_fd, &go, 1) != 1)
		_exit(2);
	snprintf(path, sizeof path, "%s/replay", spool);
	if (pool_open(&p, spool, names_key) != POOL_OK ||
	    (rc = replay_open(path, 0, 0, &rerr)) == NULL)
		_exit(3);
	make_entry(&e, POOL_FORWARD, tagno);
	res = (char)pool_commit(p, &e, rc, LONG_WAIT_MS);
	if (replay_close(rc) != REPLAY_OK)
		_exit(4);
	pool_close(p);
	_exit(write(out_fd, &res, 1) == 1 ? 0 : 5);
}

/* run_children - NCHILD committers released at once; their results in res */
static void
run_children(const char *spool, int same, char res[NCHILD])
{
	int start[2], out[NCHILD][2], c, status;
	pid_t pid[NCHILD];

	ck_assert_int_eq(pipe(start), 0);
	for (c = 0; c < NCHILD; c++) {
		ck_assert_int_eq(pipe(out[c]), 0);
		pid[c] = fork();
		ck_assert_int_ge(pid[c], 0);
		if (pid[c] == 0) {
			close(start[1]);
			close(out[c][0]);
			child_commit(spool, start[0], out[c][1], same ? 70 : 100 + (uint32_t)c);
		}
		close(out[c][1]);
	}
	close(start[0]);
	for (c = 0; c < NCHILD; c++)
		ck_assert_int_eq(write(start[1], "g", 1), 1);
	close(start[1]);
	for (c = 0; c < NCHILD; c++) {
		ck_assert_int_eq(read(out[c][0], &res[c], 1), 1);
		close(out[c][0]);
		ck_assert_int_eq(waitpid(pid[c], &status, 0), pid[c]);
		ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
}

/* Many processes commit the same packet at once: exactly one keeps it */
START_TEST(test_concurrent_same)
{
	const char *spool = make_spool("same");
	struct replay *rc = open_cache(spool, CACHE_CAP);
	char res[NCHILD];
	int c, committed = 0;

	run_children(spool, 1, res);
	for (c = 0; c < NCHILD; c++) {
		ck_assert_msg(res[c] == POOL_COMMITTED || res[c] == POOL_REPLAY,
		    "child %d: %s", c, pool_strerror((enum pool_err)res[c]));
		committed += res[c] == POOL_COMMITTED;
	}
	ck_assert_int_eq(committed, 1);
	ck_assert_int_eq(count_dir(spool, "pool"), 1);
	ck_assert_int_eq(count_dir(spool, "tmp"), 0);
	ck_assert_int_eq(replay_close(rc), REPLAY_OK);
}
END_TEST

/* Many processes commit different packets at once: all kept */
START_TEST(test_concurrent_different)
{
	const char *spool = make_spool("different");
	struct replay *rc = open_cache(spool, CACHE_CAP);
	struct pool_entry e;
	char res[NCHILD];
	int c;

	run_children(spool, 0, res);
	for (c = 0; c < NCHILD; c++) {
		ck_assert_msg(res[c] == POOL_COMMITTED, "child %d: %s", c,
		    pool_strerror((enum pool_err)res[c]));
		make_entry(&e, POOL_FORWARD, 100 + (uint32_t)c);
		ck_assert(tag_recorded(rc, e.tag));
	}
	ck_assert_int_eq(count_dir(spool, "pool"), NCHILD);
	ck_assert_int_eq(count_dir(spool, "tmp"), 0);
	ck_assert_int_eq(replay_close(rc), REPLAY_OK);
}
END_TEST

/* ---- list, read, quarantine ---------------------------------------------------------- */

START_TEST(test_list_skips_junk)
{
	static const char *const junk[] = {
		"0123456789ABCDEF0123456789abcdef",	/* upper case */
		"0123456789abcdef0123456789abcde",	/* 31 */
		"0123456789abcdef0123456789abcdef0",	/* 33 */
		"0123456789abcdef0123456789abcdeg",	/* not hex */
		"t.0123456789abcdef0123456789abcdef",
		".0123456789abcdef0123456789abcde",
		"0123456789abcdef 123456789abcdef",
	};
	const char *spool = make_spool("list");
	struct pool *p = open_pool(spool);
	char good[3][POOL_NAME_LEN + 1], **names;
	uint8_t tag[32];
	size_t n, i, k;
	int found;

	for (i = 0; i < sizeof junk / sizeof junk[0]; i++)
		write_file(spool, "pool", junk[i], "x", 1);
	ck_assert_int_eq(pool_list(p, &names, &n), POOL_OK);
	ck_assert_uint_eq(n, 0);
	pool_list_free(names, n);
	for (i = 0; i < 3; i++) {
		make_tag(tag, 80 + (uint32_t)i);
		pool_name(p, tag, good[i]);
		write_file(spool, "pool", good[i], "x", 1);
	}
	ck_assert_int_eq(mkdir(path2("list/pool", "sub"), 0700), 0);
	ck_assert_int_eq(pool_list(p, &names, &n), POOL_OK);
	ck_assert_uint_eq(n, 3);
	for (i = 0; i < 3; i++) {
		found = 0;
		for (k = 0; k < n; k++)
			found += strcmp(names[k], good[i]) == 0;
		ck_assert_int_eq(found, 1);
	}
	pool_list_free(names, n);
	pool_close(p);
}
END_TEST

/* What a flush may find in pool/: each damaged thing reads as FORMAT */
START_TEST(test_read_damaged)
{
	const char *spool = make_spool("damaged");
	struct pool *p = open_pool(spool);
	char name[6][POOL_NAME_LEN + 1], path[PATH_MAX];
	uint8_t tag[32], buf[POOL_ENTRY_MAX], *big;
	struct pool_entry e, d;
	size_t len, i;

	for (i = 0; i < 6; i++) {
		make_tag(tag, 90 + (uint32_t)i);
		pool_name(p, tag, name[i]);
	}
	make_entry(&e, POOL_FORWARD, 90);
	ck_assert_int_eq(pool_entry_encode(&e, enc, &len), POOL_OK);
	write_file(spool, "pool", name[0], enc, len - 1);		/* truncated */
	big = calloc(1, POOL_ENTRY_MAX + 1);
	ck_assert_ptr_nonnull(big);
	write_file(spool, "pool", name[1], big, POOL_ENTRY_MAX + 1);	/* too long */
	free(big);
	snprintf(path, sizeof path, "%s/pool/%s", spool, name[2]);
	ck_assert_int_eq(symlink("/etc/passwd", path), 0);		/* a symlink */
	snprintf(path, sizeof path, "%s/pool/%s", spool, name[3]);
	ck_assert_int_eq(mkdir(path, 0700), 0);				/* a directory */
	snprintf(path, sizeof path, "%s/pool/%s", spool, name[4]);
	ck_assert_int_eq(mkfifo(path, 0600), 0);			/* a FIFO: no hang */
	for (i = 0; i < 5; i++)
		ck_assert_msg(pool_read(p, name[i], buf, &len, &d) == POOL_ERR_FORMAT, "case %zu", i);
	/* missing: I/O (ENOENT), not damage */
	errno = 0;
	ck_assert_int_eq(pool_read(p, name[5], buf, &len, &d), POOL_ERR_IO);
	ck_assert_int_eq(errno, ENOENT);
	/* not a well-formed name */
	ck_assert_int_eq(pool_read(p, "../pool/x", buf, &len, &d), POOL_ERR_ARG);
	ck_assert_int_eq(pool_read(p, "", buf, &len, &d), POOL_ERR_ARG);
	pool_close(p);
}
END_TEST

START_TEST(test_quarantine)
{
	const char *spool = make_spool("quar");
	struct pool *p = open_pool(spool);
	char name[2][POOL_NAME_LEN + 1], src[PATH_MAX], dst[PATH_MAX];
	uint8_t tag[32];
	struct stat sb;
	size_t i;

	for (i = 0; i < 2; i++) {
		make_tag(tag, 95 + (uint32_t)i);
		pool_name(p, tag, name[i]);
	}
	write_file(spool, "pool", name[0], "bad", 3);
	ck_assert_int_eq(pool_quarantine(p, name[0]), POOL_OK);
	ck_assert_int_eq(count_dir(spool, "pool"), 0);
	ck_assert_int_eq(count_dir(spool, "corrupt"), 1);
	ck_assert_int_eq(stat(path2("quar/corrupt", name[0]), &sb), 0);
	ck_assert_int_eq(sb.st_size, 3);

	/* the same name again: the earlier file is kept, this one goes beside it */
	write_file(spool, "pool", name[0], "worse", 5);
	ck_assert_int_eq(pool_quarantine(p, name[0]), POOL_OK);
	ck_assert_int_eq(count_dir(spool, "pool"), 0);
	ck_assert_int_eq(count_dir(spool, "corrupt"), 2);
	ck_assert_int_eq(stat(path2("quar/corrupt", name[0]), &sb), 0);
	ck_assert_int_eq(sb.st_size, 3);

	/* a crash between link and unlink: the second try only unlinks */
	write_file(spool, "pool", name[1], "torn", 4);
	snprintf(src, sizeof src, "%s/pool/%s", spool, name[1]);
	snprintf(dst, sizeof dst, "%s/corrupt/%s", spool, name[1]);
	ck_assert_int_eq(link(src, dst), 0);
	ck_assert_int_eq(pool_quarantine(p, name[1]), POOL_OK);
	ck_assert_int_eq(count_dir(spool, "pool"), 0);
	ck_assert_int_eq(count_dir(spool, "corrupt"), 3);
	ck_assert_int_eq(stat(dst, &sb), 0);
	ck_assert_int_eq(sb.st_nlink, 1);

	/* nothing to move; not a name */
	ck_assert_int_eq(pool_quarantine(p, name[1]), POOL_ERR_IO);
	ck_assert_int_eq(pool_quarantine(p, "../tmp/x"), POOL_ERR_ARG);
	pool_close(p);
}
END_TEST

static Suite *
pool_suite(void)
{
	Suite *s = suite_create("pool");
	TCase *tf = tcase_create("format"), *tc = tcase_create("spool");

	tcase_add_checked_fixture(tf, setup, NULL);
	tcase_set_timeout(tf, 120);
	tcase_add_loop_test(tf, test_roundtrip, 0, 6);
	tcase_add_test(tf, test_encode_rejects);
	tcase_add_loop_test(tf, test_decode_truncations, 0, 3);
	tcase_add_loop_test(tf, test_decode_bitflips, 0, 2);
	tcase_add_loop_test(tf, test_decode_fields, 0, 13);
	tcase_add_test(tf, test_decode_lengths);
	tcase_add_loop_test(tf, test_seeds, 0, NSEEDS);
	tcase_add_test(tf, test_strerror);
	suite_add_tcase(s, tf);

	tcase_add_unchecked_fixture(tc, make_root, remove_root);
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_names);
	tcase_add_test(tc, test_commit_new_and_replay);
	tcase_add_test(tc, test_commit_r5);
	tcase_add_test(tc, test_commit_lock_busy);
	tcase_add_test(tc, test_commit_missing_dir);
	tcase_add_test(tc, test_commit_replay_fails);
	tcase_add_test(tc, test_concurrent_same);
	tcase_add_test(tc, test_concurrent_different);
	tcase_add_test(tc, test_list_skips_junk);
	tcase_add_test(tc, test_read_damaged);
	tcase_add_test(tc, test_quarantine);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(pool_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
