/*
 * check_keys.c - the key store: init makes the right files with the right
 * modes and is idempotent; open/close round trip; rotation stepped across
 * 400 simulated days with every invariant of keys.h checked at each step;
 * downtime; the grace boundary to the second; orphan replay caches; corrupt,
 * misplaced and open-to-others files refused with the right error naming
 * the file; stray tmp files wiped; two rotations at once make one
 * successor; a keyring reopened after rotation equals the one in memory.
 *
 * Key files made here by hand follow doc/key-files.md with an encoder of
 * the test's own, so that the documented layout is checked too.
 *
 * Every test works in its own spool under one temporary directory
 * ($TMPDIR or /tmp), made before the tests and removed after them.
 * Time is injected; nothing here depends on the wall clock.
 */
#include <config.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <check.h>

#include "keys.h"
#include "mcrypto.h"
#include "replay.h"
#include "testutil.h"

#define DAY		INT64_C(86400)
#define T0		INT64_C(1700000000)	/* 2023-11-14, a day boundary is irrelevant */
#define MIXFILE_LEN	144
#define IDFILE_LEN	112
#define NAMESFILE_LEN	80
#define TIME_MAX	INT64_C(253402300799)
#define NCHILD		4

static const struct keys_policy POL = { 30 * DAY, 7 * DAY, 7 * DAY, 0 };
/* The same, and each new key gets its replay cache (64 tags) before it */
static const struct keys_policy POLC = { 30 * DAY, 7 * DAY, 7 * DAY, 64 };
static char tmproot[PATH_MAX - 128];

/* ---- fixtures and file helpers ------------------------------------------ */

/* str - snprintf that fails the test on truncation */
static void str(char *out, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
str(char *out, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(out, size, fmt, ap);
	va_end(ap);
	ck_assert(n >= 0 && (size_t)n < size);
}


/* Unchecked fixtures: run once in the parent, so cleanup survives failures */
static void
make_root(void)
{
	tu_make_tmpdir(tmproot, sizeof tmproot, "check_keys");
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

/* new_spool - a fresh, empty spool directory (mode 0700) */
static void
new_spool(char out[PATH_MAX])
{
	str(out, PATH_MAX, "%s/spool.XXXXXX", tmproot);
	ck_assert_ptr_nonnull(mkdtemp(out));
	ck_assert_int_eq(chmod(out, 0700), 0);
}

/* p - spool/sub/name (one of two rotating static buffers) */
static const char *
p(const char *spool, const char *sub, const char *name)
{
	static char buf[2][PATH_MAX];
	static int which;

	which ^= 1;
	if (name != NULL)
		str(buf[which], PATH_MAX, "%s/%s/%s", spool, sub, name);
	else
		str(buf[which], PATH_MAX, "%s/%s", spool, sub);
	return buf[which];
}

static int
exists(const char *path)
{
	struct stat sb;

	return lstat(path, &sb) == 0;
}

static unsigned
mode_of(const char *path)
{
	struct stat sb;

	ck_assert_int_eq(lstat(path, &sb), 0);
	return (unsigned)(sb.st_mode & 07777);
}

/* count - entries of spool/sub whose name starts with prefix */
static size_t
count(const char *spool, const char *sub, const char *prefix)
{
	DIR *d = opendir(p(spool, sub, NULL));
	struct dirent *e;
	size_t n = 0;

	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d)) != NULL)
		if (strncmp(e->d_name, prefix, strlen(prefix)) == 0 &&
		    strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static size_t
read_file(const char *path, uint8_t *buf, size_t cap)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	ck_assert_int_ge(fd, 0);
	n = read(fd, buf, cap);
	ck_assert_int_ge(n, 0);
	close(fd);
	return (size_t)n;
}

static void
write_file(const char *path, const uint8_t *buf, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fchmod(fd, mode), 0);
	ck_assert_int_eq(write(fd, buf, len), (ssize_t)len);
	close(fd);
}

/* ---- an independent encoder of doc/key-files.md ---------------------------- */

static void
le32(uint8_t *b, uint32_t v)
{
	int i;

	for (i = 0; i < 4; i++)
		b[i] = (uint8_t)(v >> (8 * i));
}

static void
le64(uint8_t *b, uint64_t v)
{
	int i;

	for (i = 0; i < 8; i++)
		b[i] = (uint8_t)(v >> (8 * i));
}

/* reseal - recompute the checksum over everything before it */
static void
reseal(uint8_t *buf, size_t len)
{
	mcrypto_hash(buf + len - 32, 32, NULL, 0, buf, len - 32);
}

static void
doc_key_id(uint8_t id[KEYS_ID_BYTES], const uint8_t pk[32])
{
	uint8_t h[32];

	mcrypto_hash(h, 32, NULL, 0, pk, 32);
	memcpy(id, h, KEYS_ID_BYTES);
}

static void
mixfile_build(uint8_t buf[MIXFILE_LEN], const uint8_t sk[32], int64_t cr, int64_t fr,
    int64_t un, int64_t gr)
{
	memcpy(buf, "MIXKEYS1", 8);
	le32(buf + 8, 1);
	le32(buf + 12, 3);
	memcpy(buf + 16, sk, 32);
	mcrypto_x25519_base(buf + 48, sk);
	le64(buf + 80, (uint64_t)cr);
	le64(buf + 88, (uint64_t)fr);
	le64(buf + 96, (uint64_t)un);
	le64(buf + 104, (uint64_t)gr);
	reseal(buf, MIXFILE_LEN);
}

/* mixfile_name - "mix-<hex of the first 8 bytes of BLAKE2b-256(pk)>.key" */
static void
mixfile_name(char out[64], const uint8_t *buf)
{
	uint8_t id[KEYS_ID_BYTES];
	char hex[KEYS_ID_HEX];

	doc_key_id(id, buf + 48);
	mcrypto_hex(hex, id, sizeof id);
	str(out, 64, "mix-%s.key", hex);
}

/* mixfile_add - write a new random mix key with these times into spool/keys */
static void
mixfile_add(const char *spool, int64_t cr, int64_t fr, int64_t un, int64_t gr)
{
	uint8_t sk[32], buf[MIXFILE_LEN];
	char name[64];

	mcrypto_random(NULL, sk, sizeof sk);
	mixfile_build(buf, sk, cr, fr, un, gr);
	mixfile_name(name, buf);
	write_file(p(spool, "keys", name), buf, sizeof buf, 0600);
}

/* ---- keyring helpers ---------------------------------------------------- */

static void
init_ok(const char *spool, int64_t now, const struct keys_policy *pol, struct keys_report *rep)
{
	char err[KEYS_ERR_MAX] = "";

	ck_assert_msg(keys_init(spool, (time_t)now, pol, rep, err, sizeof err) == KEYS_OK,
	    "keys_init: %s", err);
}

static struct keyring *
open_ok(const char *spool)
{
	char err[KEYS_ERR_MAX] = "";
	struct keyring *kr = NULL;

	ck_assert_msg(keys_open(&kr, spool, err, sizeof err) == KEYS_OK, "keys_open: %s", err);
	ck_assert_ptr_nonnull(kr);
	return kr;
}

static void
rotate_ok(struct keyring *kr, int64_t now, struct keys_report *rep)
{
	char err[KEYS_ERR_MAX] = "";

	ck_assert_msg(keys_rotate(kr, (time_t)now, &POL, rep, err, sizeof err) == KEYS_OK,
	    "keys_rotate: %s", err);
}

/* assert_same - two keyrings hold the same keys, secrets included, in the same order */
static void
assert_same(const struct keyring *a, const struct keyring *b)
{
	ck_assert_mem_eq(a->id_pk, b->id_pk, MCRYPTO_SIGN_PK_BYTES);
	ck_assert_mem_eq(a->id_sk, b->id_sk, MCRYPTO_SIGN_SK_BYTES);
	ck_assert_mem_eq(a->names_key, b->names_key, 32);
	ck_assert_uint_eq(a->nmix, b->nmix);
	ck_assert_mem_eq(a->mixinfo, b->mixinfo, a->nmix * sizeof a->mixinfo[0]);
	ck_assert_mem_eq(a->mix, b->mix, a->nmix * sizeof a->mix[0]);
}

/* assert_reopen_same - the disk holds exactly what kr holds */
static void
assert_reopen_same(const struct keyring *kr)
{
	struct keyring *again = open_ok(kr->spool);

	assert_same(kr, again);
	keys_close(again);
}

static void
mix_file_name(char out[64], const struct keys_mixinfo *info)
{
	char hex[KEYS_ID_HEX];

	keys_id_hex(hex, info->id);
	str(out, 64, "mix-%s.key", hex);
}

static const char *
rpl_name(const uint8_t id[KEYS_ID_BYTES])
{
	static char name[64];
	char hex[KEYS_ID_HEX];

	keys_id_hex(hex, id);
	str(name, sizeof name, "%s.rpl", hex);
	return name;
}

/* make_cache - a small replay cache for key id, as receive would */
static void
make_cache(const char *spool, const uint8_t id[KEYS_ID_BYTES])
{
	char *path = keys_replay_path(spool, id);
	enum replay_status st;
	struct replay *rc = replay_open(path, 16, REPLAY_CREATE, &st);

	ck_assert_msg(rc != NULL, "replay_open: %s", replay_strerror(st));
	ck_assert_int_eq(replay_close(rc), REPLAY_OK);
	free(path);
}

/*
 * assert_invariants - keys.h's promises after a rotation at now (no
 * downtime, default policy): one key valid for senders, a successor more
 * than publish_ahead ahead, no key past its grace, newest first with
 * contiguous validity, each key's file on disk and nothing else, keys_live
 * giving every key in the same order, pk = X25519(sk).
 */
static void
assert_invariants(const struct keyring *kr, int64_t now)
{
	const struct pkt_key *live[KEYS_MAX_MIX];
	const struct keys_mixinfo *info[KEYS_MAX_MIX];
	const struct keys_mixinfo *m = kr->mixinfo;
	int64_t last = 0;
	size_t i, valid = 0, n;
	uint8_t pk[32];
	char name[64];

	ck_assert_uint_ge(kr->nmix, 1);
	ck_assert_uint_le(kr->nmix, 3);		/* grace + current + successor */
	for (i = 0; i < kr->nmix; i++) {
		if (m[i].valid_from <= now && now < m[i].valid_until)
			valid++;
		if (m[i].valid_until > last)
			last = m[i].valid_until;
		ck_assert(m[i].created <= now);
		ck_assert(m[i].grace_end > now);
		ck_assert(m[i].created <= m[i].valid_from);
		ck_assert(m[i].valid_from - m[i].created <= POL.publish_ahead);
		ck_assert(m[i].valid_until == m[i].valid_from + POL.lifetime);
		ck_assert(m[i].grace_end == m[i].valid_until + POL.grace);
		if (i > 0)	/* newest first, and each key follows on from the last */
			ck_assert(m[i - 1].valid_from == m[i].valid_until);
		mcrypto_x25519_base(pk, kr->mix[i].sk);
		ck_assert_mem_eq(pk, kr->mix[i].pk, 32);
		ck_assert_mem_eq(pk, m[i].pk, 32);
		mix_file_name(name, &m[i]);
		ck_assert_msg(exists(p(kr->spool, "keys", name)), "%s missing", name);
	}
	ck_assert_uint_eq(valid, 1);	/* handovers are seamless: [from, until) */
	ck_assert(last - now > POL.publish_ahead);
	ck_assert_uint_eq(count(kr->spool, "keys", "mix-"), kr->nmix);
	ck_assert_uint_eq(count(kr->spool, "keys", "tmp-"), 0);
	n = keys_live(kr, (time_t)now, live, info);
	ck_assert_uint_eq(n, kr->nmix);
	for (i = 0; i < n; i++) {
		ck_assert_ptr_eq(info[i], &kr->mixinfo[i]);
		ck_assert_ptr_eq(live[i], &kr->mix[i]);
	}
}

/* ---- tests --------------------------------------------------------------- */

START_TEST(test_init_files)
{
	static const char *const names[] = { "identity.key", "names.key" };
	uint8_t before[2][IDFILE_LEN], after[MIXFILE_LEN];
	char spool[PATH_MAX], name[64];
	struct keys_report rep;
	struct keyring *kr, *kr2;
	size_t i, len[2];
	mode_t old = umask(0277);	/* modes must not depend on the umask */

	new_spool(spool);
	init_ok(spool, T0, &POL, &rep);
	umask(old);
	ck_assert_int_eq(rep.created_dirs, 2);
	ck_assert_int_eq(rep.created_identity, 1);
	ck_assert_int_eq(rep.created_names, 1);
	ck_assert_uint_eq(rep.created_mix, 1);
	ck_assert_uint_eq(rep.retired_mix, 0);
	ck_assert_uint_eq(rep.removed_orphans, 0);
	ck_assert_uint_eq(mode_of(p(spool, "keys", NULL)), 0700);
	ck_assert_uint_eq(mode_of(p(spool, "replay", NULL)), 0700);
	ck_assert_uint_eq(mode_of(p(spool, "keys", "identity.key")), 0600);
	ck_assert_uint_eq(mode_of(p(spool, "keys", "names.key")), 0600);
	ck_assert_uint_eq(count(spool, "keys", ""), 3);

	kr = open_ok(spool);
	ck_assert_uint_eq(kr->nmix, 1);
	mix_file_name(name, &kr->mixinfo[0]);
	ck_assert_uint_eq(mode_of(p(spool, "keys", name)), 0600);
	ck_assert_uint_eq(read_file(p(spool, "keys", name), after, sizeof after), MIXFILE_LEN);
	for (i = 0; i < 2; i++)
		len[i] = read_file(p(spool, "keys", names[i]), before[i], sizeof before[i]);
	ck_assert_uint_eq(len[0], IDFILE_LEN);
	ck_assert_uint_eq(len[1], NAMESFILE_LEN);

	/* a second init, even a day later, makes nothing and changes nothing */
	init_ok(spool, T0 + DAY, &POL, &rep);
	ck_assert_int_eq(rep.created_dirs, 0);
	ck_assert_int_eq(rep.created_identity, 0);
	ck_assert_int_eq(rep.created_names, 0);
	ck_assert_uint_eq(rep.created_mix, 0);
	ck_assert_uint_eq(count(spool, "keys", ""), 3);
	for (i = 0; i < 2; i++) {
		ck_assert_uint_eq(read_file(p(spool, "keys", names[i]), after, sizeof after), len[i]);
		ck_assert_mem_eq(after, before[i], len[i]);
	}
	kr2 = open_ok(spool);
	assert_same(kr, kr2);
	keys_close(kr2);
	keys_close(kr);
}
END_TEST

START_TEST(test_open_roundtrip)
{
	uint8_t pk[32], id[KEYS_ID_BYTES], sig[64], msg[3] = { 1, 2, 3 };
	char spool[PATH_MAX], err[KEYS_ERR_MAX] = "", hex[KEYS_ID_HEX], *rpl, want[PATH_MAX];
	struct keyring *kr, *kr2 = NULL;
	const struct keys_mixinfo *m;

	new_spool(spool);
	ck_assert_int_eq(keys_open(&kr2, spool, err, sizeof err), KEYS_ERR_MISSING);
	ck_assert_ptr_null(kr2);
	ck_assert_ptr_nonnull(strstr(err, "keys"));
	init_ok(spool, T0, &POL, NULL);
	kr = open_ok(spool);
	ck_assert_str_eq(kr->spool, spool);

	/* identity: libsodium's sk is seed || pk, and it signs */
	ck_assert_mem_eq(kr->id_sk + 32, kr->id_pk, 32);
	mcrypto_sign(sig, msg, sizeof msg, kr->id_sk);
	ck_assert_int_eq(mcrypto_sign_verify(sig, msg, sizeof msg, kr->id_pk), 0);
	ck_assert(!mcrypto_is_zero(kr->names_key, 32));

	/* the one mix key: times, pk, id, its names */
	ck_assert_uint_eq(kr->nmix, 1);
	m = &kr->mixinfo[0];
	ck_assert(m->created == T0 && m->valid_from == T0);
	ck_assert(m->valid_until == T0 + 30 * DAY && m->grace_end == T0 + 37 * DAY);
	mcrypto_x25519_base(pk, kr->mix[0].sk);
	ck_assert_mem_eq(pk, kr->mix[0].pk, 32);
	ck_assert_mem_eq(pk, m->pk, 32);
	doc_key_id(id, pk);
	ck_assert_mem_eq(id, m->id, KEYS_ID_BYTES);
	keys_id_hex(hex, id);
	ck_assert_uint_eq(strlen(hex), 16);
	rpl = keys_replay_path(spool, id);
	str(want, sizeof want, "%s/replay/%s.rpl", spool, hex);
	ck_assert_str_eq(rpl, want);
	free(rpl);

	kr2 = open_ok(spool);
	assert_same(kr, kr2);
	keys_close(kr2);
	keys_close(kr);
	keys_close(NULL);
}
END_TEST

/* The example of doc/key-files.md, section 4, loads as documented */
START_TEST(test_doc_vector)
{
	static const uint8_t names_file[NAMESFILE_LEN] = {
		0x4d, 0x49, 0x58, 0x4b, 0x45, 0x59, 0x53, 0x31, 0x01, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00,
		0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
		0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f,
		0x48, 0x03, 0x10, 0x95, 0x17, 0x60, 0x41, 0x49, 0xdf, 0xd9, 0xcc, 0x4b, 0x2a, 0xcc, 0x5a, 0xbe,
		0xc2, 0xc2, 0xaf, 0x97, 0x7e, 0x85, 0x99, 0xdc, 0xdb, 0x34, 0x91, 0xfd, 0x47, 0xba, 0x76, 0xa9
	};
	uint8_t want[32];
	char spool[PATH_MAX];
	struct keyring *kr;
	size_t i;

	for (i = 0; i < sizeof want; i++)
		want[i] = (uint8_t)i;
	new_spool(spool);
	init_ok(spool, T0, &POL, NULL);
	write_file(p(spool, "keys", "names.key"), names_file, sizeof names_file, 0600);
	kr = open_ok(spool);
	ck_assert_mem_eq(kr->names_key, want, sizeof want);
	keys_close(kr);
}
END_TEST

/* struct seen - every key the rotation test has met, and its cache */
struct seen {
	uint8_t id[KEYS_ID_BYTES];
	int64_t grace_end;
};

START_TEST(test_rotation_400_days)
{
	struct seen seen[64];
	size_t nseen = 0, i, j, made = 0, retired = 0;
	struct keys_report rep;
	struct keyring *kr;
	char spool[PATH_MAX], name[64];
	int64_t now;
	int step;

	new_spool(spool);
	init_ok(spool, T0, &POL, NULL);
	kr = open_ok(spool);
	for (step = 0; step <= 800; step++) {	/* half-day steps over 400 days */
		now = T0 + step * (DAY / 2);
		rotate_ok(kr, now, &rep);
		made += rep.created_mix;
		retired += rep.retired_mix;
		ck_assert_uint_eq(rep.removed_orphans, 0);
		assert_invariants(kr, now);
		for (i = 0; i < kr->nmix; i++) {	/* new keys get a cache, as in use */
			for (j = 0; j < nseen; j++)
				if (memcmp(seen[j].id, kr->mixinfo[i].id, KEYS_ID_BYTES) == 0)
					break;
			if (j < nseen)
				continue;
			ck_assert_uint_lt(nseen, 64);
			if (step > 0) {		/* a successor, made just in time */
				ck_assert(kr->mixinfo[i].created == now);
				ck_assert(kr->mixinfo[i].valid_from - now <= POL.publish_ahead);
				ck_assert(kr->mixinfo[i].valid_from - now > POL.publish_ahead - DAY / 2);
			}
			memcpy(seen[nseen].id, kr->mixinfo[i].id, KEYS_ID_BYTES);
			seen[nseen++].grace_end = kr->mixinfo[i].grace_end;
			make_cache(spool, kr->mixinfo[i].id);
		}
		/* a key and its cache exist exactly until grace_end */
		for (j = 0; j < nseen; j++) {
			int alive = now < seen[j].grace_end;
			char hex[KEYS_ID_HEX];

			keys_id_hex(hex, seen[j].id);
			str(name, sizeof name, "mix-%s.key", hex);
			ck_assert_int_eq(exists(p(spool, "keys", name)), alive);
			ck_assert_int_eq(exists(p(spool, "replay", rpl_name(seen[j].id))), alive);
		}
		ck_assert_uint_eq(count(spool, "replay", ""), kr->nmix);
		assert_reopen_same(kr);
	}
	/* 400 days of 30-day keys: 14 keys; all but the last 2 or 3 retired */
	ck_assert_uint_eq(nseen, 14);
	ck_assert_uint_eq(made, 13);
	ck_assert_uint_eq(retired, nseen - kr->nmix);
	keys_close(kr);
}
END_TEST

START_TEST(test_grace_boundary)
{
	const struct pkt_key *live[KEYS_MAX_MIX];
	const struct keys_mixinfo *info[KEYS_MAX_MIX];
	uint8_t id[KEYS_ID_BYTES], buf[MIXFILE_LEN];
	char spool[PATH_MAX], name[64];
	struct keys_report rep;
	struct keyring *kr;
	int64_t ge;
	int fd;

	new_spool(spool);
	init_ok(spool, T0, &POL, NULL);
	kr = open_ok(spool);
	memcpy(id, kr->mixinfo[0].id, sizeof id);
	ge = kr->mixinfo[0].grace_end;
	mix_file_name(name, &kr->mixinfo[0]);
	make_cache(spool, id);
	rotate_ok(kr, T0 + 23 * DAY, &rep);	/* the successor, exactly at publish_ahead */
	ck_assert_uint_eq(rep.created_mix, 1);
	ck_assert_uint_eq(kr->nmix, 2);
	rotate_ok(kr, T0 + 23 * DAY - 1 + DAY, &rep);
	ck_assert_uint_eq(rep.created_mix, 0);

	/* one second before grace_end: still live, newest first */
	ck_assert_uint_eq(keys_live(kr, (time_t)(ge - 1), live, info), 2);
	ck_assert_mem_eq(info[1]->id, id, sizeof id);
	ck_assert(info[0]->valid_from > info[1]->valid_from);
	rotate_ok(kr, ge - 1, &rep);
	ck_assert_uint_eq(rep.retired_mix, 0);
	ck_assert(exists(p(spool, "keys", name)));
	ck_assert(exists(p(spool, "replay", rpl_name(id))));

	/* at grace_end: not live, and a rotation wipes and deletes it and its cache */
	ck_assert_uint_eq(keys_live(kr, (time_t)ge, live, info), 1);
	ck_assert_int_ne(memcmp(info[0]->id, id, sizeof id), 0);
	fd = open(p(spool, "keys", name), O_RDONLY);
	ck_assert_int_ge(fd, 0);
	rotate_ok(kr, ge, &rep);
	ck_assert_uint_eq(rep.retired_mix, 1);
	ck_assert_uint_eq(rep.removed_orphans, 0);
	ck_assert_uint_eq(kr->nmix, 1);
	ck_assert(!exists(p(spool, "keys", name)));
	ck_assert(!exists(p(spool, "replay", rpl_name(id))));
	ck_assert_int_eq(pread(fd, buf, sizeof buf, 0), (ssize_t)sizeof buf);
	ck_assert(mcrypto_is_zero(buf, sizeof buf));	/* wiped before unlinking */
	close(fd);
	assert_reopen_same(kr);
	keys_close(kr);
}
END_TEST

START_TEST(test_downtime)
{
	const struct pkt_key *live[KEYS_MAX_MIX];
	const struct keys_mixinfo *info[KEYS_MAX_MIX];
	char spool[PATH_MAX];
	struct keys_report rep;
	struct keyring *kr;
	int64_t now;

	/* down from day 1 to day 45: the only key is past its grace */
	new_spool(spool);
	init_ok(spool, T0, &POL, NULL);
	kr = open_ok(spool);
	make_cache(spool, kr->mixinfo[0].id);
	now = T0 + 45 * DAY;
	rotate_ok(kr, now, &rep);
	ck_assert_uint_eq(rep.retired_mix, 1);
	ck_assert_uint_eq(rep.created_mix, 1);
	ck_assert_uint_eq(kr->nmix, 1);
	ck_assert(kr->mixinfo[0].created == now && kr->mixinfo[0].valid_from == now);
	ck_assert_uint_eq(count(spool, "replay", ""), 0);
	assert_invariants(kr, now);
	keys_close(kr);

	/* down from day 23 (successor made) to day 64: successor in grace, new key */
	new_spool(spool);
	init_ok(spool, T0, &POL, NULL);
	init_ok(spool, T0 + 23 * DAY, &POL, &rep);
	ck_assert_uint_eq(rep.created_mix, 1);
	kr = open_ok(spool);
	now = T0 + 64 * DAY;
	rotate_ok(kr, now, &rep);
	ck_assert_uint_eq(rep.retired_mix, 1);
	ck_assert_uint_eq(rep.created_mix, 1);
	ck_assert_uint_eq(kr->nmix, 2);
	ck_assert_uint_eq(keys_live(kr, (time_t)now, live, info), 2);
	ck_assert(info[0]->valid_from == now);
	ck_assert(info[1]->valid_until == T0 + 60 * DAY && info[1]->grace_end > now);
	assert_reopen_same(kr);
	keys_close(kr);
}
END_TEST

START_TEST(test_live_order)
{
	const struct pkt_key *live[KEYS_MAX_MIX];
	const struct keys_mixinfo *info[KEYS_MAX_MIX];
	char spool[PATH_MAX];
	struct keys_report rep;
	struct keyring *kr;
	size_t i;
	int64_t t = T0;

	new_spool(spool);
	init_ok(spool, t, &POL, NULL);				/* K: from t */
	mixfile_add(spool, t + 100, t + 30 * DAY, t + 60 * DAY, t + 67 * DAY);	/* future */
	mixfile_add(spool, t - 40 * DAY, t - 40 * DAY, t - 10 * DAY, t);	/* grace over */
	mixfile_add(spool, t - 5 * DAY, t - 5 * DAY, t + DAY, t + 8 * DAY);	/* G */
	kr = open_ok(spool);
	ck_assert_uint_eq(kr->nmix, 4);
	for (i = 1; i < kr->nmix; i++)
		ck_assert(kr->mixinfo[i - 1].valid_from > kr->mixinfo[i].valid_from);
	ck_assert_uint_eq(keys_live(kr, (time_t)t, live, info), 2);
	ck_assert(info[0]->valid_from == t && info[1]->valid_from == t - 5 * DAY);
	ck_assert_ptr_eq(live[0], &kr->mix[1]);
	ck_assert_ptr_eq(live[1], &kr->mix[2]);
	ck_assert_mem_eq(live[0]->pk, info[0]->pk, 32);
	/* the key made in the future (clock set back) becomes live when its time comes */
	ck_assert_uint_eq(keys_live(kr, (time_t)(t + 100), live, info), 3);
	ck_assert(info[0]->valid_from == t + 30 * DAY);
	rotate_ok(kr, t, &rep);
	ck_assert_uint_eq(rep.retired_mix, 1);
	ck_assert_uint_eq(kr->nmix, 3);
	assert_reopen_same(kr);
	keys_close(kr);
}
END_TEST

START_TEST(test_orphan_cache)
{
	uint8_t fake[KEYS_ID_BYTES] = { 1, 2, 3, 4, 5, 6, 7, 8 }, junk[4] = { 0 };
	char spool[PATH_MAX], other[64];
	struct keys_report rep;
	struct keyring *kr;

	new_spool(spool);
	init_ok(spool, T0, &POL, NULL);
	kr = open_ok(spool);
	make_cache(spool, kr->mixinfo[0].id);
	make_cache(spool, fake);
	write_file(p(spool, "replay", "notes.txt"), junk, sizeof junk, 0600);
	str(other, sizeof other, "%s.tmp.0011223344556677", rpl_name(fake));
	write_file(p(spool, "replay", other), junk, sizeof junk, 0600);
	rotate_ok(kr, T0 + DAY, &rep);
	ck_assert_uint_eq(rep.removed_orphans, 1);
	ck_assert(!exists(p(spool, "replay", rpl_name(fake))));
	ck_assert(exists(p(spool, "replay", rpl_name(kr->mixinfo[0].id))));
	ck_assert(exists(p(spool, "replay", "notes.txt")));	/* not ours to judge */
	ck_assert(exists(p(spool, "replay", other)));
	rotate_ok(kr, T0 + DAY, &rep);
	ck_assert_uint_eq(rep.removed_orphans, 0);

	/* keys_init deletes orphans too */
	make_cache(spool, fake);
	init_ok(spool, T0 + DAY, &POL, &rep);
	ck_assert_uint_eq(rep.removed_orphans, 1);
	keys_close(kr);
}
END_TEST

/*
 * With a replay capacity, every new key's cache is made with it; a cache
 * that goes missing later is never made again (that would accept replays)
 */
START_TEST(test_cache_with_key)
{
	char spool[PATH_MAX], err[KEYS_ERR_MAX] = "";
	struct keys_report rep;
	struct keyring *kr;
	size_t i;

	new_spool(spool);
	init_ok(spool, T0, &POLC, &rep);
	ck_assert_uint_eq(rep.created_mix, 1);
	kr = open_ok(spool);
	ck_assert_uint_eq(kr->nmix, 1);
	ck_assert(exists(p(spool, "replay", rpl_name(kr->mixinfo[0].id))));
	/* lost: rotations and init leave it missing */
	ck_assert_int_eq(unlink(p(spool, "replay", rpl_name(kr->mixinfo[0].id))), 0);
	ck_assert(keys_rotate(kr, T0 + DAY, &POLC, &rep, err, sizeof err) == KEYS_OK);
	ck_assert(!exists(p(spool, "replay", rpl_name(kr->mixinfo[0].id))));
	init_ok(spool, T0 + DAY, &POLC, &rep);
	ck_assert(!exists(p(spool, "replay", rpl_name(kr->mixinfo[0].id))));
	/* the successor (made 7 days before the first expires) comes with its own */
	ck_assert(keys_rotate(kr, T0 + 24 * DAY, &POLC, &rep, err, sizeof err) == KEYS_OK);
	ck_assert_uint_eq(rep.created_mix, 1);
	ck_assert_uint_eq(kr->nmix, 2);
	for (i = 0; i < kr->nmix; i++)
		ck_assert_int_eq(exists(p(spool, "replay", rpl_name(kr->mixinfo[i].id))),
		    kr->mixinfo[i].created == T0 + 24 * DAY);
	keys_close(kr);
}
END_TEST

START_TEST(test_stray_tmp)
{
	uint8_t junk[MIXFILE_LEN], before[MIXFILE_LEN], after[MIXFILE_LEN];
	char spool[PATH_MAX], name[64], linked[PATH_MAX];
	struct keyring *kr, *kr2;
	struct keys_report rep;
	int fd;

	new_spool(spool);
	init_ok(spool, T0, &POL, NULL);
	kr = open_ok(spool);
	mix_file_name(name, &kr->mixinfo[0]);
	read_file(p(spool, "keys", name), before, sizeof before);

	/* a crash mid-write, a crash between link() and unlink(), and others' files */
	memset(junk, 0xa5, sizeof junk);
	write_file(p(spool, "keys", "tmp-0123456789abcdef"), junk, sizeof junk, 0600);
	str(linked, sizeof linked, "%s", p(spool, "keys", "tmp-fedcba9876543210"));
	ck_assert_int_eq(link(p(spool, "keys", name), linked), 0);
	write_file(p(spool, "keys", "README"), junk, 4, 0600);
	write_file(p(spool, "keys", "tmp-short"), junk, 4, 0600);
	write_file(p(spool, "keys", "mix-0123.key"), junk, 4, 0600);
	fd = open(p(spool, "keys", "tmp-0123456789abcdef"), O_RDONLY);
	ck_assert_int_ge(fd, 0);

	kr2 = open_ok(spool);		/* loading ignores them all */
	assert_same(kr, kr2);
	keys_close(kr2);
	rotate_ok(kr, T0 + DAY, &rep);
	ck_assert(!exists(p(spool, "keys", "tmp-0123456789abcdef")));
	ck_assert(!exists(linked));
	ck_assert(exists(p(spool, "keys", "README")));
	ck_assert(exists(p(spool, "keys", "tmp-short")));
	ck_assert(exists(p(spool, "keys", "mix-0123.key")));
	ck_assert_int_eq(pread(fd, after, sizeof after, 0), (ssize_t)sizeof after);
	ck_assert(mcrypto_is_zero(after, sizeof after));	/* the stray secret is wiped */
	close(fd);
	/* the live key behind the second link is untouched */
	ck_assert_uint_eq(read_file(p(spool, "keys", name), after, sizeof after), MIXFILE_LEN);
	ck_assert_mem_eq(after, before, MIXFILE_LEN);
	assert_reopen_same(kr);

	/* keys_init cleans up too */
	write_file(p(spool, "keys", "tmp-00000000000000ff"), junk, sizeof junk, 0600);
	init_ok(spool, T0 + DAY, &POL, NULL);
	ck_assert(!exists(p(spool, "keys", "tmp-00000000000000ff")));
	keys_close(kr);
}
END_TEST

/* The corruptions: each returns the error expected and names the file blamed */
enum {
	C_TRUNC, C_LONG, C_EMPTY, C_FLIP_SK, C_FLIP_SUM, C_MAGIC, C_VERSION, C_KIND,
	C_PK, C_UNTIL, C_GRACE, C_CREATED, C_YEAR, C_RENAMED, C_MODE, C_SYMLINK, C_DIR,
	C_ID_FLIP, C_ID_PK, C_ID_MODE, C_ID_MISSING, C_NAMES_ZERO, C_NAMES_TRUNC,
	C_NAMES_MISSING, C_DIR_MODE, C_TOOMANY, NCORRUPT
};

/* corrupt - damage spool's keys as case c says; *blamed gets the name err must show */
static enum keys_err
corrupt(int c, const char *spool, const char *mixname, char blamed[64])
{
	uint8_t buf[MIXFILE_LEN + 1], other[32];
	char mix[PATH_MAX], file[PATH_MAX];
	size_t len = MIXFILE_LEN;
	int i;

	str(blamed, 64, "%s", mixname);
	if (c >= C_ID_FLIP && c <= C_ID_MISSING) {
		str(blamed, 64, "identity.key");
		len = IDFILE_LEN;
	} else if (c >= C_NAMES_ZERO && c <= C_NAMES_MISSING) {
		str(blamed, 64, "names.key");
		len = NAMESFILE_LEN;
	}
	str(mix, sizeof mix, "%s", p(spool, "keys", mixname));
	str(file, sizeof file, "%s", p(spool, "keys", blamed));
	ck_assert_uint_eq(read_file(file, buf, sizeof buf), len);
	switch (c) {
	case C_TRUNC: case C_NAMES_TRUNC:
		ck_assert_int_eq(truncate(file, (off_t)len - 1), 0);
		return KEYS_ERR_CORRUPT;
	case C_LONG:
		buf[len] = 0;
		write_file(file, buf, len + 1, 0600);
		return KEYS_ERR_CORRUPT;
	case C_EMPTY:
		ck_assert_int_eq(truncate(file, 0), 0);
		return KEYS_ERR_CORRUPT;
	case C_FLIP_SK: case C_ID_FLIP:
		buf[20] ^= 0x10;
		break;
	case C_FLIP_SUM:
		buf[len - 1] ^= 0x01;
		break;
	case C_MAGIC:
		buf[3] = 'X';
		reseal(buf, len);
		break;
	case C_VERSION:
		le32(buf + 8, 2);
		reseal(buf, len);
		break;
	case C_KIND:
		le32(buf + 12, 1);
		reseal(buf, len);
		break;
	case C_PK: case C_ID_PK:
		mcrypto_random(NULL, other, sizeof other);
		mcrypto_x25519_base(buf + 48, other);
		reseal(buf, len);
		break;
	case C_UNTIL:		/* valid_until = valid_from */
		memcpy(buf + 96, buf + 88, 8);
		reseal(buf, len);
		break;
	case C_GRACE:		/* grace_end before valid_until */
		memcpy(buf + 104, buf + 88, 8);
		reseal(buf, len);
		break;
	case C_CREATED:		/* created after valid_from */
		memcpy(buf + 80, buf + 96, 8);
		reseal(buf, len);
		break;
	case C_YEAR:		/* grace_end in the year 10000 */
		le64(buf + 104, (uint64_t)TIME_MAX + 1);
		reseal(buf, len);
		break;
	case C_RENAMED:		/* a valid file under another key's name */
		str(blamed, 64, "mix-0011223344556677.key");
		ck_assert_int_eq(rename(mix, p(spool, "keys", blamed)), 0);
		return KEYS_ERR_CORRUPT;
	case C_MODE:
		ck_assert_int_eq(chmod(file, 0644), 0);
		return KEYS_ERR_PERM;
	case C_ID_MODE:
		ck_assert_int_eq(chmod(file, 0640), 0);
		return KEYS_ERR_PERM;
	case C_SYMLINK:
		write_file(p(spool, "keys", "elsewhere"), buf, len, 0600);
		ck_assert_int_eq(unlink(file), 0);
		ck_assert_int_eq(symlink("elsewhere", file), 0);
		return KEYS_ERR_CORRUPT;
	case C_DIR:
		ck_assert_int_eq(unlink(file), 0);
		ck_assert_int_eq(mkdir(file, 0700), 0);
		return KEYS_ERR_CORRUPT;
	case C_ID_MISSING: case C_NAMES_MISSING:
		ck_assert_int_eq(unlink(file), 0);
		return KEYS_ERR_MISSING;
	case C_NAMES_ZERO:
		memset(buf + 16, 0, 32);
		reseal(buf, len);
		break;
	case C_DIR_MODE:
		str(blamed, 64, "/keys:");
		ck_assert_int_eq(chmod(p(spool, "keys", NULL), 0750), 0);
		return KEYS_ERR_PERM;
	case C_TOOMANY:
		str(blamed, 64, "/keys:");
		for (i = 0; i < KEYS_MAX_MIX; i++)	/* 17 in all */
			mixfile_add(spool, T0, T0, T0 + DAY, T0 + 2 * DAY);
		return KEYS_ERR_TOOMANY;
	default:
		ck_abort_msg("no corruption %d", c);
	}
	write_file(file, buf, len, 0600);
	return KEYS_ERR_CORRUPT;
}

START_TEST(test_corrupt)
{
	uint8_t skbytes[MIXFILE_LEN], after[MIXFILE_LEN + 1];
	char spool[PATH_MAX], err[KEYS_ERR_MAX], mixname[64], blamed[64], skhex[17];
	struct keyring *kr, *before, *out = NULL;
	enum keys_err want;
	size_t len;

	new_spool(spool);
	init_ok(spool, T0, &POL, NULL);
	kr = open_ok(spool);
	before = open_ok(spool);
	mix_file_name(mixname, &kr->mixinfo[0]);
	mcrypto_hex(skhex, kr->mix[0].sk, 8);
	want = corrupt(_i, spool, mixname, blamed);

	err[0] = '\0';
	ck_assert_int_eq(keys_open(&out, spool, err, sizeof err), want);
	ck_assert_ptr_null(out);
	ck_assert_msg(strstr(err, blamed) != NULL, "case %d: \"%s\" does not name %s", _i, err, blamed);
	ck_assert_msg(strstr(err, skhex) == NULL, "case %d: key bytes in \"%s\"", _i, err);
	ck_assert_ptr_nonnull(keys_strerror(want));

	/* a rotation re-reads the mix keys: same refusal, keyring and files unchanged */
	if (_i < C_ID_FLIP || _i >= C_DIR_MODE) {
		err[0] = '\0';
		ck_assert_int_eq(keys_rotate(kr, (time_t)(T0 + 40 * DAY), &POL, NULL, err, sizeof err),
		    want);
		ck_assert_msg(strstr(err, blamed) != NULL, "case %d: \"%s\"", _i, err);
		assert_same(kr, before);
		ck_assert_uint_eq(count(spool, "keys", "mix-"), _i == C_TOOMANY ? 17 : 1);
	}
	/* keys_init never replaces a damaged key */
	if (want != KEYS_ERR_MISSING) {
		len = read_file(p(spool, "keys", "identity.key"), skbytes, sizeof skbytes);
		ck_assert_int_eq(keys_init(spool, (time_t)T0, &POL, NULL, err, sizeof err), want);
		ck_assert_uint_eq(read_file(p(spool, "keys", "identity.key"), after, sizeof after),
		    len);
		ck_assert_mem_eq(after, skbytes, len);
	}
	keys_close(before);
	keys_close(kr);
}
END_TEST

START_TEST(test_retire_cache_failure)
{
	uint8_t id[KEYS_ID_BYTES];
	char spool[PATH_MAX], err[KEYS_ERR_MAX] = "";
	struct keys_report rep;
	struct keyring *kr;

	/* a cache that cannot be deleted (a directory in its place) */
	new_spool(spool);
	init_ok(spool, T0, &POL, NULL);
	kr = open_ok(spool);
	memcpy(id, kr->mixinfo[0].id, sizeof id);
	ck_assert_int_eq(mkdir(p(spool, "replay", rpl_name(id)), 0700), 0);
	ck_assert_int_eq(keys_rotate(kr, (time_t)(T0 + 40 * DAY), &POL, &rep, err, sizeof err),
	    KEYS_ERR_IO);
	ck_assert_ptr_nonnull(strstr(err, "replay"));
	/* the key is retired all the same, and the node still got its new key */
	ck_assert_uint_eq(rep.retired_mix, 1);
	ck_assert_uint_eq(rep.created_mix, 1);
	ck_assert_uint_eq(kr->nmix, 1);
	ck_assert_int_ne(memcmp(kr->mixinfo[0].id, id, sizeof id), 0);
	ck_assert_uint_eq(count(spool, "keys", "mix-"), 1);
	assert_reopen_same(kr);
	/* once the obstacle is a file, it goes as an orphan */
	ck_assert_int_eq(rmdir(p(spool, "replay", rpl_name(id))), 0);
	make_cache(spool, id);
	rotate_ok(kr, T0 + 40 * DAY, &rep);
	ck_assert_uint_eq(rep.removed_orphans, 1);
	keys_close(kr);
}
END_TEST

START_TEST(test_toomany)
{
	static const struct keys_policy tight = { DAY, 30 * DAY, DAY, 0 };
	char spool[PATH_MAX], err[KEYS_ERR_MAX] = "";
	struct keys_report rep;
	struct keyring *kr;

	/* 30 days ahead in 1-day keys needs 31: stop at 16, memory and disk agreeing */
	new_spool(spool);
	ck_assert_int_eq(keys_init(spool, (time_t)T0, &tight, &rep, err, sizeof err),
	    KEYS_ERR_TOOMANY);
	ck_assert_uint_eq(rep.created_mix, KEYS_MAX_MIX);
	ck_assert_uint_eq(count(spool, "keys", "mix-"), KEYS_MAX_MIX);
	kr = open_ok(spool);
	ck_assert_uint_eq(kr->nmix, KEYS_MAX_MIX);
	ck_assert_int_eq(keys_rotate(kr, (time_t)T0, &tight, &rep, err, sizeof err),
	    KEYS_ERR_TOOMANY);
	ck_assert_uint_eq(rep.created_mix, 0);
	assert_reopen_same(kr);
	keys_close(kr);
}
END_TEST

START_TEST(test_concurrent_rotate)
{
	char spool[PATH_MAX];
	struct keyring *kr, *stale;
	struct keys_report rep;
	pid_t pid[NCHILD];
	int i, status;

	new_spool(spool);
	init_ok(spool, T0, &POL, NULL);
	/* NCHILD processes, each with the one-key ring, rotate at once */
	for (i = 0; i < NCHILD; i++) {
		pid[i] = fork();
		ck_assert_int_ge(pid[i], 0);
		if (pid[i] == 0) {
			char err[KEYS_ERR_MAX];
			struct keyring *k = NULL;
			int ok = keys_open(&k, spool, err, sizeof err) == KEYS_OK &&
			    keys_rotate(k, (time_t)(T0 + 23 * DAY), &POL, NULL, err, sizeof err) ==
			    KEYS_OK && k->nmix == 2;

			keys_close(k);
			_exit(ok ? 0 : 1);
		}
	}
	for (i = 0; i < NCHILD; i++) {
		ck_assert_int_eq(waitpid(pid[i], &status, 0), pid[i]);
		ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	kr = open_ok(spool);
	ck_assert_uint_eq(kr->nmix, 2);
	ck_assert_uint_eq(count(spool, "keys", "mix-"), 2);

	/* a stale keyring learns the disk's keys at its next rotation */
	stale = open_ok(spool);
	rotate_ok(kr, T0 + 53 * DAY, &rep);
	ck_assert_uint_eq(rep.created_mix, 1);
	rotate_ok(stale, T0 + 53 * DAY, &rep);
	ck_assert_uint_eq(rep.created_mix, 0);
	assert_same(kr, stale);
	keys_close(stale);
	keys_close(kr);
}
END_TEST

START_TEST(test_missing_spool)
{
	char spool[PATH_MAX], err[KEYS_ERR_MAX] = "";
	const char *strs[6];
	int i, j;

	str(spool, sizeof spool, "%s/no-such-spool", tmproot);
	ck_assert_int_eq(keys_init(spool, (time_t)T0, &POL, NULL, err, sizeof err), KEYS_ERR_IO);
	ck_assert_ptr_nonnull(strstr(err, "no-such-spool"));
	for (i = 0; i < 6; i++) {
		strs[i] = keys_strerror((enum keys_err)i);
		for (j = 0; j < i; j++)
			ck_assert_str_ne(strs[i], strs[j]);
	}
}
END_TEST

static Suite *
keys_suite(void)
{
	Suite *s = suite_create("keys");
	TCase *tc = tcase_create("core");

	tcase_add_unchecked_fixture(tc, make_root, remove_root);
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_init_files);
	tcase_add_test(tc, test_open_roundtrip);
	tcase_add_test(tc, test_doc_vector);
	tcase_add_test(tc, test_rotation_400_days);
	tcase_add_test(tc, test_grace_boundary);
	tcase_add_test(tc, test_downtime);
	tcase_add_test(tc, test_live_order);
	tcase_add_test(tc, test_orphan_cache);
	tcase_add_test(tc, test_cache_with_key);
	tcase_add_test(tc, test_stray_tmp);
	tcase_add_loop_test(tc, test_corrupt, 0, NCORRUPT);
	tcase_add_test(tc, test_retire_cache_failure);
	tcase_add_test(tc, test_toomany);
	tcase_add_test(tc, test_concurrent_rotate);
	tcase_add_test(tc, test_missing_spool);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(keys_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
