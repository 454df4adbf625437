/*
 * check_chain.c - the node directory (nodedb.c) and chain selection
 * (chain.c).
 *
 * nodedb: descriptors are made and signed here (desc_format), imported
 * into a directory under one temporary root, loaded and forgotten; every
 * refusal of nodedb.h is provoked at its boundary (expired keys, keys
 * valid too late, published in the future, older, same time but other
 * content, another identity, damaged stored file); files placed by hand
 * (tampered, renamed, symbolic links, FIFOs, too large, too many,
 * leftovers) are skipped or refused at load; modes and the atomic
 * replacement are checked.
 *
 * chain: networks of descriptors made in memory; thousands of random
 * chains per test, each checked against every rule of chain.h; exits and
 * middle hops tested for uniformity with a chi-square bound at p = 1e-9
 * (a correct implementation fails by chance less than once in a billion
 * runs); the small-network search, copies, delays (mean within 6 sigma,
 * the inverse CDF against libm), explicit hops that break each rule.
 *
 * Time is injected; nothing depends on the wall clock or on timing.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <check.h>

#include "chain.h"
#include "descriptor.h"
#include "mcrypto.h"
#include "nodedb.h"
#include "testutil.h"

#define DAY		INT64_C(86400)
#define NOW		INT64_C(1795219200)	/* 2026-11-21T00:00:00Z */
#define MAXN		32			/* nodes in a test network */
#define DRAWS		6000

static char tmproot[PATH_MAX - 128];

/* ---- helpers ---------------------------------------------------------------- */

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

static void
make_root(void)
{
	tu_make_tmpdir(tmproot, sizeof tmproot, "check_chain");
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

/* newdir - a fresh path under the root for one test's directory (not made) */
static void
newdir(char *out, size_t size, const char *name)
{
	str(out, size, "%s/%s", tmproot, name);
	tu_rm_tree(out);
}

/* a node's identity and its descriptor */
struct node {
	struct descriptor d;
	uint8_t sk[64];
};

/*
 * node_new - a valid descriptor for name with a fresh identity key and
 * one mix key valid from `from` to `until`, published at `published`.
 */
static void
node_new(struct node *n, const char *name, int64_t published, int64_t from, int64_t until)
{
	uint8_t sk[32];

	memset(n, 0, sizeof *n);
	mcrypto_sign_keypair(n->d.identity, n->sk);
	str(n->d.name, sizeof n->d.name, "%s", name);
	str(n->d.address, sizeof n->d.address, "mix@%s.test", name);
	n->d.published = published;
	str(n->d.software, sizeof n->d.software, "mixmail 0.1.0");
	n->d.exit = 1;
	n->d.max_size = 131072;
	str(n->d.mixing, sizeof n->d.mixing, "mixmaster");
	n->d.pkt_versions = 1u << 1;
	str(n->d.exit_policy, sizeof n->d.exit_policy, "accept *");
	n->d.nkeys = 1;
	mcrypto_random(NULL, sk, sizeof sk);
	mcrypto_x25519_base(n->d.keys[0].pk, sk);
	n->d.keys[0].valid_from = from;
	n->d.keys[0].valid_until = until;
}

/* node_text - the signed text of n, malloc'd to exactly its length */
static char *
node_text(const struct node *n, size_t *len)
{
	char *text, *exact;

	ck_assert_int_eq(desc_format(&n->d, n->sk, &text, len), DESC_OK);
	exact = malloc(*len);
	ck_assert_ptr_nonnull(exact);
	memcpy(exact, text, *len);
	free(text);
	return exact;
}

/* find - the offset of word in text[0..len), which must hold it */
static size_t
find(const char *text, size_t len, const char *word)
{
	size_t i, n = strlen(word);

	for (i = 0; i + n <= len; i++)
		if (memcmp(text + i, word, n) == 0)
			return i;
	ck_abort_msg("\"%s\" not found", word);
	return 0;
}

/* import - import n's text into dir at now; err receives the reason */
static enum nodedb_err
import(const char *dir, const struct node *n, int64_t now, enum nodedb_result *res,
    char err[NODEDB_ERR_MAX])
{
	enum nodedb_err e;
	size_t len;
	char *text = node_text(n, &len);

	*res = (enum nodedb_result)-1;
	e = nodedb_import(dir, text, len, now, res, NULL, err, NODEDB_ERR_MAX);
	free(text);
	return e;
}

static void
import_ok(const char *dir, const struct node *n, int64_t now, enum nodedb_result want)
{
	char err[NODEDB_ERR_MAX];
	enum nodedb_result res;
	enum nodedb_err e = import(dir, n, now, &res, err);

	ck_assert_msg(e == NODEDB_OK, "import %s: %s", n->d.name, err);
	ck_assert_int_eq(res, want);
}

/* refused - import must fail with e, err naming the node and holding word */
static void
refused(const char *dir, const struct node *n, int64_t now, enum nodedb_err want,
    const char *word)
{
	char err[NODEDB_ERR_MAX];
	enum nodedb_result res;
	enum nodedb_err e = import(dir, n, now, &res, err);

	ck_assert_msg(e == want, "import %s: %d (%s), wanted %d", n->d.name, e, err, want);
	ck_assert_msg(strstr(err, n->d.name) != NULL, "no node name in: %s", err);
	ck_assert_msg(strstr(err, word) != NULL, "no \"%s\" in: %s", word, err);
	ck_assert_str_ne(nodedb_strerror(e), nodedb_strerror(NODEDB_OK));
}

/* skipped files, as nodedb_load reports them (in directory order) */
struct skips {
	size_t n;
	char file[8][64];
	char why[8][NODEDB_ERR_MAX];
};

static void
on_skip(void *arg, const char *file, const char *reason)
{
	struct skips *sk = arg;

	if (sk->n < 8) {
		str(sk->file[sk->n], sizeof sk->file[sk->n], "%s", file);
		str(sk->why[sk->n], sizeof sk->why[sk->n], "%s", reason);
	}
	sk->n++;
}

/* skipped - whether file was reported with a reason holding word */
static int
skipped(const struct skips *sk, const char *file, const char *word)
{
	size_t i;

	for (i = 0; i < sk->n && i < 8; i++)
		if (strcmp(sk->file[i], file) == 0)
			return strstr(sk->why[i], word) != NULL;
	return 0;
}

/* load - every node in dir at now; *count of them */
static struct descriptor *
load(const char *dir, int64_t now, size_t *count, struct skips *sk)
{
	struct descriptor *nodes;
	char err[NODEDB_ERR_MAX];
	enum nodedb_err e;

	memset(sk, 0, sizeof *sk);
	e = nodedb_load(dir, now, &nodes, count, on_skip, sk, err, sizeof err);
	ck_assert_msg(e == NODEDB_OK, "load: %s", err);
	return nodes;
}

static void
write_file(const char *path, const void *buf, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fchmod(fd, mode), 0);
	ck_assert_int_eq(write(fd, buf, len), (ssize_t)len);
	close(fd);
}

static int
same_desc(const struct descriptor *a, const struct descriptor *b)
{
	return strcmp(a->name, b->name) == 0 && a->published == b->published &&
	    memcmp(a->identity, b->identity, 32) == 0 && a->nkeys == b->nkeys &&
	    memcmp(a->keys, b->keys, a->nkeys * sizeof a->keys[0]) == 0;
}

/* ---- nodedb: round trips ------------------------------------------------------- */

START_TEST(test_import_load_forget)
{
	static const char *names[] = { "mixc", "mixa", "mixb" };
	struct node n[3], newer;
	struct descriptor *got;
	char dir[PATH_MAX], path[PATH_MAX], err[NODEDB_ERR_MAX];
	struct skips sk;
	struct stat sb, sb2;
	size_t count, i;

	newdir(dir, sizeof dir, "roundtrip");
	for (i = 0; i < 3; i++) {
		node_new(&n[i], names[i], NOW - DAY, NOW - DAY, NOW + 30 * DAY);
		import_ok(dir, &n[i], NOW, NODEDB_NEW);
	}
	/* The directory is made 0700, the files are 0600. */
	ck_assert_int_eq(stat(dir, &sb), 0);
	ck_assert_uint_eq(sb.st_mode & 07777, 0700);
	str(path, sizeof path, "%s/mixa.desc", dir);
	ck_assert_int_eq(lstat(path, &sb), 0);
	ck_assert(S_ISREG(sb.st_mode));
	ck_assert_uint_eq(sb.st_mode & 07777, 0600);

	/* Loaded sorted by name, equal to what was imported. */
	got = load(dir, NOW, &count, &sk);
	ck_assert_uint_eq(count, 3);
	ck_assert_uint_eq(sk.n, 0);
	ck_assert_str_eq(got[0].name, "mixa");
	ck_assert_str_eq(got[1].name, "mixb");
	ck_assert_str_eq(got[2].name, "mixc");
	ck_assert(same_desc(&got[0], &n[1].d));
	ck_assert(same_desc(&got[1], &n[2].d));
	ck_assert(same_desc(&got[2], &n[0].d));
	nodedb_free(got);

	/* The same text again writes nothing. */
	import_ok(dir, &n[1], NOW, NODEDB_UNCHANGED);
	ck_assert_int_eq(lstat(path, &sb2), 0);
	ck_assert_uint_eq(sb.st_ino, sb2.st_ino);

	/* A newer descriptor of the same node (same identity) replaces it by rename. */
	newer = n[1];
	newer.d.published = NOW;
	newer.d.keys[0].valid_until = NOW + 40 * DAY;
	import_ok(dir, &newer, NOW, NODEDB_UPDATED);
	ck_assert_int_eq(lstat(path, &sb2), 0);
	ck_assert_uint_ne(sb.st_ino, sb2.st_ino);
	ck_assert_uint_eq(sb2.st_mode & 07777, 0600);
	got = load(dir, NOW, &count, &sk);
	ck_assert_uint_eq(count, 3);
	ck_assert(same_desc(&got[0], &newer.d));
	nodedb_free(got);

	/* Forget. */
	ck_assert_int_eq(nodedb_forget(dir, "mixb", err, sizeof err), NODEDB_OK);
	got = load(dir, NOW, &count, &sk);
	ck_assert_uint_eq(count, 2);
	ck_assert_str_eq(got[0].name, "mixa");
	ck_assert_str_eq(got[1].name, "mixc");
	nodedb_free(got);
	ck_assert_int_eq(nodedb_forget(dir, "mixb", err, sizeof err), NODEDB_ERR_UNKNOWN);
	ck_assert_ptr_nonnull(strstr(err, "mixb"));
	ck_assert_int_eq(nodedb_forget(dir, "../x", err, sizeof err), NODEDB_ERR_NAME);
	ck_assert_int_eq(nodedb_forget(dir, "", err, sizeof err), NODEDB_ERR_NAME);
	ck_assert_int_eq(nodedb_forget(dir, "Mixa", err, sizeof err), NODEDB_ERR_NAME);
	ck_assert_int_eq(nodedb_forget(dir, "a23456789012345678901234567890123", err,
	    sizeof err), NODEDB_ERR_NAME);
	/* The name rule itself */
	ck_assert(nodedb_name_valid("a23456789012345678901234567890-2"));
	ck_assert(!nodedb_name_valid("a.b"));
	ck_assert_str_eq(nodedb_result_name(NODEDB_UPDATED), "updated");
}
END_TEST

START_TEST(test_missing_dir)
{
	char dir[PATH_MAX], err[NODEDB_ERR_MAX];
	struct descriptor *got;
	struct skips sk;
	size_t count;

	newdir(dir, sizeof dir, "missing");
	got = load(dir, NOW, &count, &sk);
	ck_assert_uint_eq(count, 0);
	nodedb_free(got);
	ck_assert_int_eq(nodedb_forget(dir, "mixa", err, sizeof err), NODEDB_ERR_UNKNOWN);
	/* Only the last component is made: a missing parent is an error. */
	str(dir, sizeof dir, "%s/missing/nodes", tmproot);
	{
		struct node n;
		enum nodedb_result res;

		node_new(&n, "mixa", NOW, NOW, NOW + DAY);
		ck_assert_int_eq(import(dir, &n, NOW, &res, err), NODEDB_ERR_IO);
		ck_assert_ptr_nonnull(strstr(err, "missing/nodes"));
	}
}
END_TEST

/* ---- nodedb: refusals ----------------------------------------------------------- */

START_TEST(test_refuse_times)
{
	char dir[PATH_MAX];
	struct node n;

	newdir(dir, sizeof dir, "times");
	/* Every key expired: valid_until <= now. */
	node_new(&n, "old", NOW - 40 * DAY, NOW - 40 * DAY, NOW);
	refused(dir, &n, NOW, NODEDB_ERR_EXPIRED, "expired");
	ck_assert_int_ne(access(dir, F_OK), 0);	/* refused before the disk */
	node_new(&n, "old", NOW - 40 * DAY, NOW - 40 * DAY, NOW + 1);
	import_ok(dir, &n, NOW, NODEDB_NEW);

	/* No key valid now, the first valid later than NODEDB_SKEW from now */
	node_new(&n, "early", NOW, NOW + NODEDB_SKEW + 1, NOW + 30 * DAY);
	refused(dir, &n, NOW, NODEDB_ERR_NOTYET, "valid");
	node_new(&n, "early", NOW, NOW + NODEDB_SKEW, NOW + 30 * DAY);
	import_ok(dir, &n, NOW, NODEDB_NEW);

	/* A gap: the old key expired, the next one starts in two days. */
	node_new(&n, "gap", NOW - 40 * DAY, NOW - 40 * DAY, NOW - DAY);
	n.d.nkeys = 2;
	mcrypto_random(NULL, n.d.keys[1].pk, 32);
	n.d.keys[1].valid_from = NOW + 2 * DAY;
	n.d.keys[1].valid_until = NOW + 30 * DAY;
	refused(dir, &n, NOW, NODEDB_ERR_NOTYET, "next");

	/* Published in the future */
	node_new(&n, "ahead", NOW + NODEDB_SKEW + 1, NOW, NOW + 30 * DAY);
	refused(dir, &n, NOW, NODEDB_ERR_FUTURE, "published");
	node_new(&n, "ahead", NOW + NODEDB_SKEW, NOW, NOW + 30 * DAY);
	import_ok(dir, &n, NOW, NODEDB_NEW);
}
END_TEST

START_TEST(test_refuse_older_and_identity)
{
	char dir[PATH_MAX], err[NODEDB_ERR_MAX];
	struct node n, other;
	struct descriptor *got;
	struct skips sk;
	size_t count;

	newdir(dir, sizeof dir, "older");
	node_new(&n, "mixa", NOW, NOW, NOW + 30 * DAY);
	import_ok(dir, &n, NOW, NODEDB_NEW);

	/* Older */
	n.d.published = NOW - 1;
	refused(dir, &n, NOW, NODEDB_ERR_OLDER, "before the stored one");
	/* Same time, other content */
	n.d.published = NOW;
	str(n.d.software, sizeof n.d.software, "mixmail 0.1.1");
	refused(dir, &n, NOW, NODEDB_ERR_OLDER, "same publication time");

	/* The same name with another identity key, even newer */
	node_new(&other, "mixa", NOW + 100, NOW, NOW + 30 * DAY);
	refused(dir, &other, NOW + 200, NODEDB_ERR_IDENTITY, "forget node mixa");
	got = load(dir, NOW, &count, &sk);
	ck_assert_uint_eq(count, 1);
	ck_assert_int_eq(memcmp(got[0].identity, n.d.identity, 32), 0);
	ck_assert_int_eq(got[0].published, NOW);
	nodedb_free(got);

	/* Replacing deliberately: forget, then import. */
	ck_assert_int_eq(nodedb_forget(dir, "mixa", err, sizeof err), NODEDB_OK);
	import_ok(dir, &other, NOW + 200, NODEDB_NEW);
	got = load(dir, NOW, &count, &sk);
	ck_assert_uint_eq(count, 1);
	ck_assert_int_eq(memcmp(got[0].identity, other.d.identity, 32), 0);
	nodedb_free(got);
}
END_TEST

START_TEST(test_refuse_invalid)
{
	char dir[PATH_MAX], err[NODEDB_ERR_MAX], *text;
	struct descriptor d;
	enum nodedb_result res;
	struct node n;
	size_t len, i;

	newdir(dir, sizeof dir, "invalid");
	node_new(&n, "mixa", NOW, NOW, NOW + 30 * DAY);
	text = node_text(&n, &len);
	/* A flipped bit anywhere: the software line (signature), the name (value) */
	for (i = 0; i < len; i += 37) {
		text[i] ^= 0x01;
		ck_assert_int_eq(nodedb_import(dir, text, len, NOW, &res, NULL, err, sizeof err),
		    NODEDB_ERR_INVALID);
		ck_assert_ptr_nonnull(strstr(err, "not a valid descriptor"));
		text[i] ^= 0x01;
	}
	ck_assert_int_eq(nodedb_import(dir, text, len - 1, NOW, &res, NULL, err, sizeof err),
	    NODEDB_ERR_INVALID);
	ck_assert_int_ne(access(dir, F_OK), 0);
	/* A refusal after the parse still gives the descriptor to name the node. */
	memset(&d, 0, sizeof d);
	ck_assert_int_eq(nodedb_import(dir, text, len, NOW + 31 * DAY, &res, &d, err, sizeof err),
	    NODEDB_ERR_EXPIRED);
	ck_assert_str_eq(d.name, "mixa");
	free(text);
	/* Longer than a descriptor may be */
	text = malloc(DESC_MAX_SIZE + 1);
	ck_assert_ptr_nonnull(text);
	memset(text, 'a', DESC_MAX_SIZE + 1);
	ck_assert_int_eq(nodedb_import(dir, text, DESC_MAX_SIZE + 1, NOW, &res, NULL, err,
	    sizeof err), NODEDB_ERR_INVALID);
	free(text);
}
END_TEST

/* ---- nodedb: what is found on disk ---------------------------------------------- */

START_TEST(test_load_distrusts_disk)
{
	char dir[PATH_MAX], path[PATH_MAX], other[PATH_MAX], err[NODEDB_ERR_MAX];
	char *text, big[DESC_MAX_SIZE + 1];
	struct node a, b, c;
	struct descriptor *got;
	struct skips sk;
	size_t count, len;

	newdir(dir, sizeof dir, "disk");
	node_new(&a, "mixa", NOW, NOW, NOW + 30 * DAY);
	node_new(&b, "mixb", NOW, NOW, NOW + 30 * DAY);
	node_new(&c, "mixc", NOW, NOW, NOW + 30 * DAY);
	import_ok(dir, &a, NOW, NODEDB_NEW);
	import_ok(dir, &b, NOW, NODEDB_NEW);

	/* Tampered on disk: one byte of mixb's software line */
	text = node_text(&b, &len);
	text[find(text, len, "software mixmail 0.1.0") + 17] = 'X';	/* "mixmail X.1.0" */
	str(path, sizeof path, "%s/mixb.desc", dir);
	write_file(path, text, len, 0600);
	free(text);
	/* mixa's descriptor under the name mixc */
	text = node_text(&a, &len);
	str(path, sizeof path, "%s/mixc.desc", dir);
	write_file(path, text, len, 0600);
	free(text);
	/* Files that are not nodes are ignored. */
	str(path, sizeof path, "%s/README", dir);
	write_file(path, "x", 1, 0600);
	str(path, sizeof path, "%s/Mixd.desc", dir);
	write_file(path, "x", 1, 0600);
	str(path, sizeof path, "%s/tmp-0123456789abcdef", dir);
	write_file(path, "x", 1, 0600);

	got = load(dir, NOW, &count, &sk);
	ck_assert_uint_eq(count, 1);
	ck_assert_str_eq(got[0].name, "mixa");
	nodedb_free(got);
	ck_assert_uint_eq(sk.n, 2);
	ck_assert(skipped(&sk, "mixb.desc", "not a valid descriptor"));
	ck_assert(skipped(&sk, "mixc.desc", "holds node mixa"));

	/* Import over a damaged stored file is refused, with the way out. */
	refused(dir, &b, NOW, NODEDB_ERR_DAMAGED, "forget node mixb");
	refused(dir, &c, NOW, NODEDB_ERR_DAMAGED, "holds node mixa");

	/* A symbolic link is never followed, even to a valid descriptor. */
	ck_assert_int_eq(nodedb_forget(dir, "mixc", err, sizeof err), NODEDB_OK);
	ck_assert_int_eq(nodedb_forget(dir, "mixb", err, sizeof err), NODEDB_OK);
	str(other, sizeof other, "%s/elsewhere-mixc.desc", tmproot);
	text = node_text(&c, &len);
	write_file(other, text, len, 0600);
	free(text);
	str(path, sizeof path, "%s/mixc.desc", dir);
	ck_assert_int_eq(symlink(other, path), 0);
	/* A FIFO (opening it must not hang), a directory, a file too large */
	str(path, sizeof path, "%s/fifo.desc", dir);
	ck_assert_int_eq(mkfifo(path, 0600), 0);
	str(path, sizeof path, "%s/sub.desc", dir);
	ck_assert_int_eq(mkdir(path, 0700), 0);
	memset(big, 'a', sizeof big);
	str(path, sizeof path, "%s/big.desc", dir);
	write_file(path, big, sizeof big, 0600);
	got = load(dir, NOW, &count, &sk);
	ck_assert_uint_eq(count, 1);
	nodedb_free(got);
	ck_assert_uint_eq(sk.n, 4);
	ck_assert(skipped(&sk, "mixc.desc", "symbolic link"));
	ck_assert(skipped(&sk, "fifo.desc", "not a regular file"));
	ck_assert(skipped(&sk, "sub.desc", "not a regular file"));
	ck_assert(skipped(&sk, "big.desc", "8193 bytes"));
	refused(dir, &c, NOW, NODEDB_ERR_DAMAGED, "symbolic link");
	/* forget removes the link, not what it points to */
	ck_assert_int_eq(nodedb_forget(dir, "mixc", err, sizeof err), NODEDB_OK);
	ck_assert_int_eq(access(other, F_OK), 0);
	import_ok(dir, &c, NOW, NODEDB_NEW);
	str(path, sizeof path, "%s/mixc.desc", dir);
	{
		struct stat sb;

		ck_assert_int_eq(lstat(path, &sb), 0);
		ck_assert(S_ISREG(sb.st_mode));
	}
	/* The import removed the tmp leftover (under its exclusive lock). */
	str(path, sizeof path, "%s/tmp-0123456789abcdef", dir);
	ck_assert_int_ne(access(path, F_OK), 0);

	/* A file others may write is skipped. */
	str(path, sizeof path, "%s/mixc.desc", dir);
	ck_assert_int_eq(chmod(path, 0620), 0);
	got = load(dir, NOW, &count, &sk);
	ck_assert_uint_eq(count, 1);
	nodedb_free(got);
	ck_assert_uint_eq(sk.n, 4);
	ck_assert(skipped(&sk, "mixc.desc", "mode 0620"));

	/* A stored file dated more than NODEDB_SKEW after the loader's clock */
	ck_assert_int_eq(chmod(path, 0600), 0);
	got = load(dir, NOW - NODEDB_SKEW - 1, &count, &sk);
	ck_assert_uint_eq(count, 0);
	ck_assert_uint_eq(sk.n, 5);
	nodedb_free(got);
}
END_TEST

START_TEST(test_dir_perm)
{
	char dir[PATH_MAX], err[NODEDB_ERR_MAX];
	struct descriptor *nodes;
	enum nodedb_result res;
	struct node n;
	size_t count;

	newdir(dir, sizeof dir, "perm");
	node_new(&n, "mixa", NOW, NOW, NOW + 30 * DAY);
	import_ok(dir, &n, NOW, NODEDB_NEW);
	ck_assert_int_eq(chmod(dir, 0770), 0);
	ck_assert_int_eq(nodedb_load(dir, NOW, &nodes, &count, NULL, NULL, err, sizeof err),
	    NODEDB_ERR_PERM);
	ck_assert_ptr_nonnull(strstr(err, "0770"));
	n.d.published++;
	ck_assert_int_eq(import(dir, &n, NOW, &res, err), NODEDB_ERR_PERM);
	ck_assert_ptr_nonnull(strstr(err, "lets group or others write"));
	ck_assert_int_eq(nodedb_forget(dir, "mixa", err, sizeof err), NODEDB_ERR_PERM);
	ck_assert_int_eq(chmod(dir, 0750), 0);	/* readable by the group is fine */
	ck_assert_int_eq(nodedb_load(dir, NOW, &nodes, &count, NULL, NULL, err, sizeof err),
	    NODEDB_OK);
	ck_assert_uint_eq(count, 1);
	nodedb_free(nodes);
}
END_TEST

START_TEST(test_toomany)
{
	char dir[PATH_MAX], path[PATH_MAX], err[NODEDB_ERR_MAX];
	struct descriptor *nodes;
	struct skips sk;
	struct node n;
	size_t count, i;

	newdir(dir, sizeof dir, "toomany");
	ck_assert_int_eq(mkdir(dir, 0700), 0);
	for (i = 0; i < NODEDB_MAX_NODES; i++) {
		str(path, sizeof path, "%s/m%zu.desc", dir, i);
		write_file(path, "x", 1, 0600);
	}
	node_new(&n, "mixa", NOW, NOW, NOW + 30 * DAY);
	refused(dir, &n, NOW, NODEDB_ERR_TOOMANY, "1000");
	nodes = load(dir, NOW, &count, &sk);
	ck_assert_uint_eq(count, 0);
	ck_assert_uint_eq(sk.n, NODEDB_MAX_NODES);
	nodedb_free(nodes);
	/* Replacing a node already stored is not adding one. */
	str(path, sizeof path, "%s/m0.desc", dir);
	ck_assert_int_eq(unlink(path), 0);
	import_ok(dir, &n, NOW, NODEDB_NEW);
	n.d.published++;
	import_ok(dir, &n, NOW, NODEDB_UPDATED);
	write_file(path, "x", 1, 0600);
	ck_assert_int_eq(nodedb_load(dir, NOW, &nodes, &count, NULL, NULL, err, sizeof err),
	    NODEDB_ERR_TOOMANY);
	ck_assert_ptr_null(nodes);
}
END_TEST

/* ---- chain: test networks ---------------------------------------------------------- */

/*
 * net_node - node i of a test network: an exit taking any destination,
 * mixmaster mixing, one key valid around NOW. Identity and key random.
 */
static void
net_node(struct descriptor *d, unsigned i)
{
	memset(d, 0, sizeof *d);
	str(d->name, sizeof d->name, "n%02u", i);
	str(d->address, sizeof d->address, "mix%u@node%u.test", i, i);
	mcrypto_random(NULL, d->identity, sizeof d->identity);
	d->published = NOW - DAY;
	str(d->software, sizeof d->software, "mixmail 0.1.0");
	d->exit = 1;
	d->max_size = 131072;
	str(d->mixing, sizeof d->mixing, "mixmaster");
	d->pkt_versions = 1u << 1;
	str(d->exit_policy, sizeof d->exit_policy, "accept *");
	d->nkeys = 1;
	mcrypto_random(NULL, d->keys[0].pk, 32);
	d->keys[0].valid_from = NOW - DAY;
	d->keys[0].valid_until = NOW + 30 * DAY;
}

static void
net(struct descriptor *nodes, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		net_node(&nodes[i], (unsigned)i);
}

static const char *const DEST[] = { "alice@example.org" };

static void
req_init(struct chain_req *r, size_t nhops)
{
	memset(r, 0, sizeof *r);
	r->nhops = nhops;
	r->dest = DEST;
	r->ndest = 1;
	r->size = 20000;
	r->now = NOW;
}

/* check_chain - every rule of chain.h holds for c; allowed[] per node and role */
static void
check_chain(const struct descriptor *nodes, const struct chain_req *r, const struct chain *c,
    const int *mid_ok, const int *exit_ok)
{
	const struct desc_mixkey *k;
	size_t i, j, v;

	ck_assert_uint_eq(c->nhops, r->nhops);
	for (i = 0; i < c->nhops; i++) {
		v = c->node[i];
		if (r->spec == NULL || strcmp(r->spec[i], "*") == 0)
			ck_assert_msg(i + 1 == c->nhops ? exit_ok[v] : mid_ok[v],
			    "hop %zu: node %s not allowed", i + 1, nodes[v].name);
		k = desc_key_usable(&nodes[v], r->now);
		ck_assert_ptr_nonnull(k);
		ck_assert_int_eq(memcmp(c->hop[i].pk, k->pk, 32), 0);
		ck_assert_ptr_eq(c->hop[i].addr, nodes[v].address);
		if (strcmp(nodes[v].mixing, "continuous") != 0)
			ck_assert_uint_eq(c->hop[i].delay, 0);
		for (j = i + 1; j < c->nhops && j <= i + 2; j++)
			ck_assert_msg(memcmp(nodes[c->node[j]].identity, nodes[v].identity, 32) != 0
			    && strcmp(nodes[c->node[j]].address, nodes[v].address) != 0,
			    "hops %zu and %zu: the same node", i + 1, j + 1);
	}
}

/* chi-square quantiles at p = 1e-9 for 1..20 degrees of freedom */
static const double CHI2_1E9[21] = { 0, 37.32, 41.45, 44.84, 47.88, 50.69, 53.34, 55.87,
	58.31, 60.66, 62.95, 65.17, 67.35, 69.48, 71.57, 73.63, 75.65, 77.65, 79.62, 81.56,
	83.48 };

/* chi2_uniform - counts[0..k) against the uniform distribution, at p = 1e-9 */
static void
chi2_uniform(const unsigned *counts, size_t k, const char *what)
{
	double total = 0, expect, x = 0;
	size_t i;

	ck_assert(k >= 2 && k - 1 < sizeof CHI2_1E9 / sizeof CHI2_1E9[0]);
	for (i = 0; i < k; i++)
		total += counts[i];
	expect = total / (double)k;
	for (i = 0; i < k; i++)
		x += (counts[i] - expect) * (counts[i] - expect) / expect;
	ck_assert_msg(x < CHI2_1E9[k - 1], "%s: chi-square %.1f over %zu categories (bound %.2f)",
	    what, x, k, CHI2_1E9[k - 1]);
}

/* ---- chain: rules over random draws ---------------------------------------------------- */

START_TEST(test_rules_hold)
{
	struct descriptor nodes[14];
	int mid_ok[14], exit_ok[14];
	unsigned used_exit[14] = { 0 }, used_mid[14] = { 0 };
	struct chain_error err;
	struct chain_req r;
	struct chain c;
	size_t i, t;

	net(nodes, 14);
	for (i = 0; i < 14; i++)
		mid_ok[i] = exit_ok[i] = 1;
	nodes[0].exit = 0;				/* middlemen */
	str(nodes[0].exit_policy, sizeof nodes[0].exit_policy, "middleman: reject *");
	nodes[1].exit = 0;
	exit_ok[0] = exit_ok[1] = 0;
	nodes[2].keys[0].valid_until = NOW;		/* expired */
	nodes[3].keys[0].valid_from = NOW + 1;		/* not yet */
	nodes[4].pkt_versions = 1u << 2;		/* another packet version */
	for (i = 2; i <= 4; i++)
		mid_ok[i] = exit_ok[i] = 0;
	str(nodes[5].exit_policy, sizeof nodes[5].exit_policy, "any recipient");
	str(nodes[6].exit_policy, sizeof nodes[6].exit_policy, "accept *@example.net");
	str(nodes[7].exit_policy, sizeof nodes[7].exit_policy, "accept *@EXAMPLE.org");
	nodes[8].max_size = 19999;			/* too small for 20000 */
	exit_ok[5] = exit_ok[6] = exit_ok[8] = 0;
	/* Two keys: the newer usable one must be taken. */
	nodes[9].nkeys = 2;
	nodes[9].keys[0].valid_until = NOW + DAY;
	mcrypto_random(NULL, nodes[9].keys[1].pk, 32);
	nodes[9].keys[1].valid_from = NOW - 10;
	nodes[9].keys[1].valid_until = NOW + 30 * DAY;
	/* The same operator twice: one identity, another name and address */
	memcpy(nodes[11].identity, nodes[10].identity, 32);
	/* ... and one address under two identities (case differs) */
	str(nodes[13].address, sizeof nodes[13].address, "MIX12@node12.test");

	req_init(&r, 5);
	for (t = 0; t < DRAWS; t++) {
		ck_assert_msg(chain_select(nodes, 14, &r, &c, &err) == CHAIN_OK, "%s", err.msg);
		check_chain(nodes, &r, &c, mid_ok, exit_ok);
		for (i = 0; i + 1 < c.nhops; i++)
			used_mid[c.node[i]]++;
		used_exit[c.node[c.nhops - 1]]++;
		/* the same entity within two hops, by identity or by address */
		for (i = 0; i < c.nhops; i++) {
			size_t j, a = c.node[i], b;

			for (j = i + 1; j < c.nhops && j <= i + 2; j++) {
				b = c.node[j];
				ck_assert(!((a == 10 || a == 11) && (b == 10 || b == 11)));
				ck_assert(!((a == 12 || a == 13) && (b == 12 || b == 13)));
			}
		}
	}
	/* Everything allowed is used in its roles. */
	for (i = 0; i < 14; i++) {
		ck_assert_msg((used_mid[i] > 0) == (mid_ok[i] != 0), "node %zu middle %u", i,
		    used_mid[i]);
		ck_assert_msg((used_exit[i] > 0) == (exit_ok[i] != 0), "node %zu exit %u", i,
		    used_exit[i]);
	}
}
END_TEST

START_TEST(test_exit_uniform)
{
	struct descriptor nodes[12];
	unsigned counts[12] = { 0 }, k = 0, idx[12];
	struct chain_req r;
	struct chain c;
	size_t i, t;

	net(nodes, 12);
	/* 9 exits of 12: three middlemen never count */
	for (i = 0; i < 3; i++)
		nodes[i * 4].exit = 0;
	for (i = 0; i < 12; i++)
		idx[i] = nodes[i].exit ? k++ : 99;
	req_init(&r, 3);
	for (t = 0; t < 4 * DRAWS; t++) {
		ck_assert_int_eq(chain_select(nodes, 12, &r, &c, NULL), CHAIN_OK);
		ck_assert_uint_ne(idx[c.node[2]], 99);
		counts[idx[c.node[2]]]++;
	}
	chi2_uniform(counts, k, "exits");
}
END_TEST

START_TEST(test_middle_uniform)
{
	enum { N = 8 };
	struct descriptor nodes[N];
	unsigned off[N] = { 0 }, rank[N] = { 0 };
	struct chain_req r;
	struct chain c;
	size_t t, v, e, h2, h1, rk;

	net(nodes, N);
	req_init(&r, 3);
	for (t = 0; t < 4 * DRAWS; t++) {
		ck_assert_int_eq(chain_select(nodes, N, &r, &c, NULL), CHAIN_OK);
		e = c.node[2];
		h2 = c.node[1];
		h1 = c.node[0];
		/* hop 2 given the exit: uniform over the N - 1 others */
		off[(h2 + N - e) % N]++;
		/* hop 1 given hops 2 and 3: uniform over the N - 2 others */
		for (rk = 0, v = 0; v < h1; v++)
			rk += v != e && v != h2;
		rank[rk]++;
	}
	ck_assert_uint_eq(off[0], 0);
	chi2_uniform(off + 1, N - 1, "hop 2 given the exit");
	ck_assert_uint_eq(rank[N - 2] + rank[N - 1], 0);
	chi2_uniform(rank, N - 2, "hop 1 given hops 2 and 3");
}
END_TEST

/*
 * Three nodes, hop 1 fixed to node 0, four hops. Hop-by-hop choice
 * without looking ahead would pick exit 1 or 2 two times in three and then
 * find no node for hop 2; the only complete chains are 0,1,2,0 and
 * 0,2,1,0.
 */
START_TEST(test_small_network)
{
	static const char *const spec[] = { "n00", "*", "*", "*" };
	struct descriptor nodes[4];
	unsigned seen[3] = { 0 }, exits[3] = { 0 };
	struct chain_error err;
	struct chain_req r;
	struct chain c;
	size_t t;

	net(nodes, 4);
	req_init(&r, 4);
	r.spec = spec;
	for (t = 0; t < 600; t++) {
		ck_assert_msg(chain_select(nodes, 3, &r, &c, &err) == CHAIN_OK, "%s", err.msg);
		ck_assert_uint_eq(c.node[0], 0);
		ck_assert_uint_eq(c.node[3], 0);
		ck_assert_uint_ne(c.node[1], c.node[2]);
		seen[c.node[1]]++;
	}
	ck_assert_uint_eq(seen[0], 0);
	ck_assert_uint_gt(seen[1], 200);
	ck_assert_uint_gt(seen[2], 200);

	/* All random over three nodes: each window of three holds all three. */
	r.spec = NULL;
	r.nhops = 7;
	for (t = 0; t < 600; t++) {
		size_t i;

		ck_assert_int_eq(chain_select(nodes, 3, &r, &c, NULL), CHAIN_OK);
		for (i = 0; i + 3 < c.nhops; i++)
			ck_assert_uint_eq(c.node[i], c.node[i + 3]);
		exits[c.node[6]]++;
	}
	ck_assert_uint_gt(exits[0], 120);
	ck_assert_uint_gt(exits[1], 120);
	ck_assert_uint_gt(exits[2], 120);

	/* Four nodes, one of them the only exit, fixed next to it */
	nodes[1].exit = nodes[2].exit = nodes[3].exit = 0;
	r.nhops = 5;
	for (t = 0; t < 300; t++) {
		int mid_ok[4] = { 1, 1, 1, 1 }, exit_ok[4] = { 1, 0, 0, 0 };

		ck_assert_int_eq(chain_select(nodes, 4, &r, &c, NULL), CHAIN_OK);
		check_chain(nodes, &r, &c, mid_ok, exit_ok);
	}
	/* Two nodes cannot make a chain of five hops. */
	ck_assert_int_eq(chain_select(nodes, 2, &r, &c, &err), CHAIN_ERR_NODES);
	ck_assert_ptr_nonnull(strstr(err.msg, "not enough nodes"));
}
END_TEST

START_TEST(test_stats_limits)
{
	enum { N = 10 };
	struct descriptor nodes[N];
	struct chain_stats st[N];
	struct chain_limits lim = { 90, 98, 3600 };
	int mid_ok[N], exit_ok[N];
	unsigned used[N] = { 0 }, exited[N] = { 0 };
	struct chain_req r;
	struct chain c;
	size_t i, t;

	net(nodes, N);
	memset(st, 0, sizeof st);
	for (i = 0; i < N; i++) {
		st[i].known = 1;
		st[i].reliability = 100;
		st[i].latency = 600;
		mid_ok[i] = exit_ok[i] = 1;
	}
	st[0].reliability = 89;		/* below every limit */
	mid_ok[0] = exit_ok[0] = 0;
	st[1].reliability = 95;		/* a middle hop, never the exit */
	exit_ok[1] = 0;
	st[2].latency = 3601;		/* too slow */
	mid_ok[2] = exit_ok[2] = 0;
	st[3].latency = 3600;		/* just in time */
	st[4].known = 0;		/* unknown: allowed */
	st[4].reliability = 0;
	st[4].latency = UINT32_MAX;
	req_init(&r, 4);
	r.stats = st;
	r.limits = &lim;
	for (t = 0; t < DRAWS; t++) {
		ck_assert_int_eq(chain_select(nodes, N, &r, &c, NULL), CHAIN_OK);
		check_chain(nodes, &r, &c, mid_ok, exit_ok);
		for (i = 0; i < c.nhops; i++)
			used[c.node[i]]++;
		exited[c.node[3]]++;
	}
	ck_assert_uint_eq(used[0] + used[2], 0);
	ck_assert_uint_gt(used[1], 0);
	ck_assert_uint_eq(exited[1], 0);
	ck_assert_uint_gt(used[3], 0);
	ck_assert_uint_gt(exited[4], 0);
	/* No limits given: statistics do not matter. */
	r.limits = NULL;
	memset(used, 0, sizeof used);
	for (t = 0; t < 1000; t++) {
		ck_assert_int_eq(chain_select(nodes, N, &r, &c, NULL), CHAIN_OK);
		used[c.node[3]]++;
	}
	ck_assert_uint_gt(used[0], 0);
}
END_TEST

START_TEST(test_dummy)
{
	enum { N = 6 };
	struct descriptor nodes[N];
	unsigned last[N] = { 0 };
	int ok[N] = { 1, 1, 1, 1, 1, 1 };
	struct chain_req r;
	struct chain c;
	size_t i, t;

	net(nodes, N);
	for (i = 0; i < N; i++) {
		nodes[i].exit = 0;		/* middlemen only */
		str(nodes[i].exit_policy, sizeof nodes[i].exit_policy, "reject *");
	}
	req_init(&r, 3);
	ck_assert_int_eq(chain_select(nodes, N, &r, &c, NULL), CHAIN_ERR_NOEXIT);
	r.ndest = 0;			/* a dummy ends anywhere */
	r.dest = NULL;
	for (t = 0; t < 3000; t++) {
		ck_assert_int_eq(chain_select(nodes, N, &r, &c, NULL), CHAIN_OK);
		check_chain(nodes, &r, &c, ok, ok);
		last[c.node[2]]++;
	}
	chi2_uniform(last, N, "dummy last hops");
}
END_TEST

/* ---- chain: copies ------------------------------------------------------------------ */

START_TEST(test_copies)
{
	enum { N = 12, COPIES = 3 };
	struct descriptor nodes[N];
	struct chain out[CHAIN_MAX_COPIES];
	int ok[N];
	struct chain_error err;
	struct chain_req r;
	size_t i, j, k, t;

	net(nodes, N);
	for (i = 0; i < N; i++)
		ok[i] = 1;
	req_init(&r, 4);
	for (t = 0; t < 1000; t++) {
		unsigned used[N] = { 0 };

		ck_assert_msg(chain_select_copies(nodes, N, &r, COPIES, out, &err) == CHAIN_OK,
		    "%s", err.msg);
		for (k = 0; k < COPIES; k++) {
			check_chain(nodes, &r, &out[k], ok, ok);
			ck_assert_uint_eq(out[k].node[3], out[0].node[3]);
			ck_assert_int_eq(out[k].shared, 0);
			for (i = 0; i < 3; i++)
				used[out[k].node[i]]++;
		}
		for (i = 0; i < N; i++)
			ck_assert_uint_le(used[i], 1);	/* copies' middle hops differ */
	}

	/* Six nodes: the third copy cannot avoid the others (3 + 3 of 5 non-exits). */
	for (t = 0; t < 300; t++) {
		ck_assert_int_eq(chain_select_copies(nodes, 6, &r, COPIES, out, NULL), CHAIN_OK);
		ck_assert_int_eq(out[0].shared, 0);
		for (k = 0; k < COPIES; k++) {
			check_chain(nodes, &r, &out[k], ok, ok);
			ck_assert_uint_eq(out[k].node[3], out[0].node[3]);
		}
		/*
		 * Copy 1 has the three nodes copy 0 left, enough for hops 1-3
		 * (the exit, if among them, at hop 1); copy 2 has none left.
		 */
		ck_assert_int_eq(out[1].shared, 0);
		for (k = 1; k < COPIES; k++)
			if (!out[k].shared)
				for (j = 0; j < k; j++)
					for (i = 0; i < 3; i++) {
						size_t m;

						for (m = 0; m < 3; m++)
							ck_assert_uint_ne(out[k].node[i],
							    out[j].node[m]);
					}
		ck_assert_int_eq(out[2].shared, 1);
	}

	/* Explicit hops are the same in every copy. */
	{
		static const char *const spec[] = { "n03", "*", "*", "n07" };

		r.spec = spec;
		ck_assert_int_eq(chain_select_copies(nodes, N, &r, COPIES, out, NULL), CHAIN_OK);
		for (k = 0; k < COPIES; k++) {
			ck_assert_uint_eq(out[k].node[0], 3);
			ck_assert_uint_eq(out[k].node[3], 7);
		}
		r.spec = NULL;
	}
	ck_assert_int_eq(chain_select_copies(nodes, N, &r, 0, out, NULL), CHAIN_ERR_ARG);
	ck_assert_int_eq(chain_select_copies(nodes, N, &r, CHAIN_MAX_COPIES + 1, out, NULL),
	    CHAIN_ERR_ARG);
}
END_TEST

/* ---- chain: delays ---------------------------------------------------------------- */

START_TEST(test_delay_function)
{
	uint64_t rnd, k;
	double u, want;
	uint32_t got, mean;
	size_t i;

	ck_assert_uint_eq(chain_delay(600, 0), 0);
	ck_assert_uint_eq(chain_delay(600, UINT64_MAX), 6000);
	ck_assert_uint_eq(chain_delay(600, UINT64_C(1) << 63), 416);	/* 600 ln 2 = 415.9 */
	ck_assert_uint_eq(chain_delay(0, UINT64_C(1) << 63), 0);
	ck_assert_uint_eq(chain_delay(UINT32_MAX, UINT64_MAX),
	    CHAIN_DELAY_MEAN_MAX * CHAIN_DELAY_CAP);
	/* Against libm over random inputs and every binade */
	for (i = 0; i < 200000; i++) {
		mcrypto_random(NULL, &rnd, sizeof rnd);
		if (i < 64)
			rnd = ~UINT64_C(0) << i;	/* 1 - u = 2^-53 ... small powers */
		mean = i % 2 ? CHAIN_DELAY_MEAN_MAX : 600;
		k = rnd >> 11;
		u = (double)k / 9007199254740992.0;
		want = -(double)mean * log1p(-u);
		got = chain_delay(mean, rnd);
		if (want >= 10.0 * mean)
			ck_assert_uint_eq(got, 10 * mean);
		else
			ck_assert_msg(fabs((double)got - want) <= 0.5 + 1e-6,
			    "r %llu: %u, libm %.6f", (unsigned long long)rnd, got, want);
	}
}
END_TEST

START_TEST(test_delays)
{
	enum { N = 8 };
	struct descriptor nodes[N];
	struct chain_req r;
	struct chain c;
	double sum = 0, sumsq = 0, mean, sd, want;
	uint32_t max = 0;
	size_t i, t, n = 0;

	net(nodes, N);
	for (i = 0; i < N; i += 2)
		str(nodes[i].mixing, sizeof nodes[i].mixing, "continuous");
	req_init(&r, 4);
	r.delay_mean = 600;
	for (t = 0; t < 2 * DRAWS; t++) {
		ck_assert_int_eq(chain_select(nodes, N, &r, &c, NULL), CHAIN_OK);
		for (i = 0; i < c.nhops; i++) {
			if (c.node[i] % 2 != 0) {
				ck_assert_uint_eq(c.hop[i].delay, 0);
				continue;
			}
			sum += c.hop[i].delay;
			sumsq += (double)c.hop[i].delay * c.hop[i].delay;
			if (c.hop[i].delay > max)
				max = c.hop[i].delay;
			n++;
		}
	}
	ck_assert_uint_gt(n, 10000);
	ck_assert_uint_le(max, 6000);
	mean = sum / (double)n;
	sd = sqrt(sumsq / (double)n - mean * mean);
	want = 600 * (1 - exp(-10.0));
	/* The exponential's sd is its mean: 6 sigma of the sample mean */
	ck_assert_msg(fabs(mean - want) < 6 * 600 / sqrt((double)n), "mean delay %.2f, want %.2f",
	    mean, want);
	ck_assert_msg(fabs(sd - 600) < 60, "sd %.2f", sd);
	/* Without a mean, no delay; a mean beyond the bound is refused. */
	r.delay_mean = 0;
	ck_assert_int_eq(chain_select(nodes, N, &r, &c, NULL), CHAIN_OK);
	for (i = 0; i < c.nhops; i++)
		ck_assert_uint_eq(c.hop[i].delay, 0);
	r.delay_mean = CHAIN_DELAY_MEAN_MAX + 1;
	ck_assert_int_eq(chain_select(nodes, N, &r, &c, NULL), CHAIN_ERR_ARG);
}
END_TEST

/* ---- chain: explicit hops and errors ---------------------------------------------------- */

static const struct explicit_case {
	const char *spec;		/* hops separated by commas */
	enum chain_err err;
	enum chain_rule rule;
	size_t hop;
	const char *word;		/* in the message */
} explicit_cases[] = {
	{ "n01,*,n02", CHAIN_OK, CHAIN_RULE_NONE, 0, "" },
	{ "n01,nosuch,*", CHAIN_ERR_UNKNOWN, CHAIN_RULE_NONE, 2, "nosuch" },
	{ "n01,N02,*", CHAIN_ERR_UNKNOWN, CHAIN_RULE_NONE, 2, "not a node name" },
	{ "n01,,*", CHAIN_ERR_UNKNOWN, CHAIN_RULE_NONE, 2, "not a node name" },
	{ "*,n09,*", CHAIN_ERR_RULE, CHAIN_RULE_KEY, 2, "no mix key usable" },
	{ "n10,*,*", CHAIN_ERR_RULE, CHAIN_RULE_VERSION, 1, "packet version" },
	{ "*,*,n00", CHAIN_ERR_RULE, CHAIN_RULE_MIDDLEMAN, 3, "middleman" },
	{ "n00,*,*", CHAIN_OK, CHAIN_RULE_NONE, 0, "" },
	{ "*,*,n11", CHAIN_ERR_RULE, CHAIN_RULE_POLICY, 3, "exit policy" },
	{ "n11,*,*", CHAIN_OK, CHAIN_RULE_NONE, 0, "" },
	{ "*,*,n12", CHAIN_ERR_RULE, CHAIN_RULE_SIZE, 3, "20000" },
	{ "n01,n01,*", CHAIN_ERR_RULE, CHAIN_RULE_REPEAT, 2, "hop 1 (n01)" },
	{ "n01,*,n01", CHAIN_ERR_RULE, CHAIN_RULE_REPEAT, 3, "hop 1 (n01)" },
	{ "n01,*,*,n01", CHAIN_OK, CHAIN_RULE_NONE, 0, "" },
	{ "n03,*,n04", CHAIN_ERR_RULE, CHAIN_RULE_REPEAT, 3, "identity key or address" },
	{ "*,n05,*", CHAIN_ERR_RULE, CHAIN_RULE_RELIABILITY, 2, "below the limit of 90%" },
	{ "*,*,n06", CHAIN_ERR_RULE, CHAIN_RULE_RELIABILITY, 3, "below the limit of 99%" },
	{ "*,n06,*", CHAIN_OK, CHAIN_RULE_NONE, 0, "" },
	{ "*,n07,*", CHAIN_ERR_RULE, CHAIN_RULE_LATENCY, 2, "latency 7201 s" },
	{ "n08,*,*", CHAIN_OK, CHAIN_RULE_NONE, 0, "" },
};
#define NEXPLICIT (sizeof explicit_cases / sizeof explicit_cases[0])

/* explicit_net - the network of explicit_cases[] and who is allowed where */
static void
explicit_net(struct descriptor *nodes, struct chain_stats *st, int *mid_ok, int *exit_ok)
{
	size_t i;

	net(nodes, 16);
	memset(st, 0, 16 * sizeof *st);
	nodes[0].exit = 0;
	nodes[9].keys[0].valid_until = NOW;
	nodes[10].pkt_versions = 1u << 3;
	str(nodes[11].exit_policy, sizeof nodes[11].exit_policy, "accept *@example.net");
	nodes[12].max_size = 19999;
	memcpy(nodes[4].identity, nodes[3].identity, 32);
	st[5].known = st[6].known = st[7].known = 1;
	st[5].reliability = 89;
	st[6].reliability = 95;
	st[7].reliability = 100;
	st[7].latency = 7201;
	st[8].known = 0;
	st[8].reliability = 1;
	for (i = 0; i < 16; i++)
		mid_ok[i] = exit_ok[i] = 1;
	mid_ok[5] = mid_ok[7] = mid_ok[9] = mid_ok[10] = 0;
	for (i = 0; i < 16; i++)
		exit_ok[i] = mid_ok[i];
	exit_ok[0] = exit_ok[6] = exit_ok[11] = exit_ok[12] = 0;
}

/* explicit_one - one case of explicit_cases[] (random hops drawn 200 times) */
static void
explicit_one(const struct explicit_case *ec, const struct descriptor *nodes,
    const struct chain_stats *st, const int *mid_ok, const int *exit_ok)
{
	static const struct chain_limits lim = { 90, 99, 7200 };
	const char *spec[CHAIN_MAX_HOPS];
	char buf[128], *p, *save = NULL;
	struct chain_error err;
	struct chain_req r;
	struct chain c;
	enum chain_err e;
	size_t n = 0, i, t;

	str(buf, sizeof buf, "%s", ec->spec);
	/* split at commas, keeping empty fields */
	for (p = buf; n < CHAIN_MAX_HOPS; p = save + 1) {
		spec[n++] = p;
		if ((save = strchr(p, ',')) == NULL)
			break;
		*save = '\0';
	}
	req_init(&r, n);
	r.spec = spec;
	r.stats = st;
	r.limits = &lim;
	for (t = 0; t < 200; t++) {
		memset(&err, 0x5a, sizeof err);
		e = chain_select(nodes, 16, &r, &c, &err);
		ck_assert_msg(e == ec->err, "%s: %d (%s), wanted %d", ec->spec, e,
		    e == CHAIN_OK ? "" : err.msg, ec->err);
		if (e != CHAIN_OK)
			break;
		check_chain(nodes, &r, &c, mid_ok, exit_ok);
		for (i = 0; i < n; i++)
			if (strcmp(spec[i], "*") != 0)
				ck_assert_str_eq(nodes[c.node[i]].name, spec[i]);
	}
	if (e == CHAIN_OK)
		return;
	ck_assert_msg(err.rule == ec->rule, "%s: rule %d, wanted %d", ec->spec, err.rule,
	    ec->rule);
	ck_assert_msg(err.hop == ec->hop, "%s: hop %zu, wanted %zu", ec->spec, err.hop, ec->hop);
	ck_assert_msg(strstr(err.msg, ec->word) != NULL, "%s: \"%s\" not in: %s", ec->spec,
	    ec->word, err.msg);
	str(buf, sizeof buf, "hop %zu", ec->hop);
	ck_assert_msg(strstr(err.msg, buf) != NULL, "%s: no \"%s\" in: %s", ec->spec, buf,
	    err.msg);
	ck_assert_str_ne(chain_strerror(e), chain_strerror(CHAIN_OK));
	if (e == CHAIN_ERR_RULE)
		ck_assert_str_ne(chain_rule_name(err.rule), chain_rule_name(CHAIN_RULE_NONE));
}

/* One test for the whole table: a forked child per row is slow under ASan. */
START_TEST(test_explicit)
{
	struct descriptor nodes[16];
	struct chain_stats st[16];
	int mid_ok[16], exit_ok[16];
	size_t i;

	explicit_net(nodes, st, mid_ok, exit_ok);
	for (i = 0; i < NEXPLICIT; i++)
		explicit_one(&explicit_cases[i], nodes, st, mid_ok, exit_ok);
}
END_TEST

START_TEST(test_errors)
{
	static const char *const two[] = { "alice@example.org", "bob@example.net" };
	enum { N = 5 };
	struct descriptor nodes[N];
	struct chain_error err;
	struct chain_req r;
	struct chain c;
	size_t i;

	net(nodes, N);
	req_init(&r, 0);
	ck_assert_int_eq(chain_select(nodes, N, &r, &c, &err), CHAIN_ERR_ARG);
	r.nhops = CHAIN_MAX_HOPS + 1;
	ck_assert_int_eq(chain_select(nodes, N, &r, &c, &err), CHAIN_ERR_ARG);
	r.nhops = CHAIN_MAX_HOPS;
	ck_assert_int_eq(chain_select(nodes, N, &r, &c, &err), CHAIN_OK);
	ck_assert_int_eq(chain_select(nodes, 0, &r, &c, &err), CHAIN_ERR_NODES);
	r.nhops = 3;
	/* No exit for the destination */
	for (i = 0; i < N; i++)
		str(nodes[i].exit_policy, sizeof nodes[i].exit_policy, "accept *@example.org");
	r.dest = two;
	r.ndest = 2;
	ck_assert_int_eq(chain_select(nodes, N, &r, &c, &err), CHAIN_ERR_NOEXIT);
	ck_assert_ptr_nonnull(strstr(err.msg, "no usable exit"));
	ck_assert_uint_eq(err.hop, 3);
	r.ndest = 1;
	ck_assert_int_eq(chain_select(nodes, N, &r, &c, &err), CHAIN_OK);
	/* Too large for every exit */
	r.size = 131073;
	ck_assert_int_eq(chain_select(nodes, N, &r, &c, &err), CHAIN_ERR_NOEXIT);
	ck_assert_ptr_nonnull(strstr(err.msg, "131073"));
	r.size = 131072;
	ck_assert_int_eq(chain_select(nodes, N, &r, &c, &err), CHAIN_OK);
	/* The only exits are fixed next to the exit position */
	{
		static const char *const spec[] = { "*", "n00", "n01", "*" };

		for (i = 2; i < N; i++)
			nodes[i].exit = 0;
		r.spec = spec;
		r.nhops = 4;
		ck_assert_int_eq(chain_select(nodes, N, &r, &c, &err), CHAIN_ERR_NODES);
		ck_assert_uint_eq(err.hop, 4);
	}
}
END_TEST

/* ---- chain: exit policies ------------------------------------------------------------ */

static const struct policy_case {
	const char *policy, *dest;
	int allows;
} policy_cases[] = {
	{ "accept *", "a@b.test", 1 },
	{ "accept *", "no-at-sign", 1 },
	{ "accept *@example.org", "x@example.org", 1 },
	{ "accept *@example.org", "x@EXAMPLE.Org", 1 },
	{ "accept *@Example.ORG", "x@example.org", 1 },
	{ "accept *@example.org", "x@sub.example.org", 0 },
	{ "accept *@example.org", "x@example.org.evil", 0 },
	{ "accept *@example.org", "x@example.or", 0 },
	{ "accept *@example.org", "x@", 0 },
	{ "accept *@example.org", "example.org", 0 },
	{ "accept *@example.org", "x@y@example.org", 1 },
	{ "accept *@example.org", "x@example.org@y", 0 },
	{ "accept *@a.org *@b.org", "x@b.org", 1 },
	{ "accept *@a.org *@b.org", "x@c.org", 0 },
	{ "accept *@a.org *", "x@c.org", 1 },
	{ "accept *@a.org bogus", "x@a.org", 0 },
	{ "accept * bogus", "x@a.org", 0 },
	{ "accept  *", "x@a.org", 0 },
	{ "accept * ", "x@a.org", 0 },
	{ "accept", "x@a.org", 0 },
	{ "accept ", "x@a.org", 0 },
	{ "Accept *", "x@a.org", 0 },
	{ "accept *@", "x@a.org", 0 },
	{ "accept *@a_b.org", "x@a_b.org", 0 },
	{ "accept @a.org", "x@a.org", 0 },
	{ "accept x@a.org", "x@a.org", 0 },
	{ "reject *", "x@a.org", 0 },
	{ "middleman: reject *", "x@a.org", 0 },
	{ "any recipient; text only, 64 KiB at most", "x@a.org", 0 },
};
#define NPOLICY (sizeof policy_cases / sizeof policy_cases[0])

START_TEST(test_policy)
{
	const struct policy_case *pc;
	size_t i;

	for (i = 0; i < NPOLICY; i++) {
		pc = &policy_cases[i];
		ck_assert_msg(chain_policy_allows(pc->policy, pc->dest) == pc->allows,
		    "\"%s\" for %s: wanted %d", pc->policy, pc->dest, pc->allows);
	}
}
END_TEST

static Suite *
chain_suite(void)
{
	Suite *s = suite_create("chain");
	TCase *db = tcase_create("nodedb"), *ch = tcase_create("chain");

	tcase_add_unchecked_fixture(db, make_root, remove_root);
	tcase_add_checked_fixture(db, setup, NULL);
	tcase_set_timeout(db, 60);
	tcase_add_test(db, test_import_load_forget);
	tcase_add_test(db, test_missing_dir);
	tcase_add_test(db, test_refuse_times);
	tcase_add_test(db, test_refuse_older_and_identity);
	tcase_add_test(db, test_refuse_invalid);
	tcase_add_test(db, test_load_distrusts_disk);
	tcase_add_test(db, test_dir_perm);
	tcase_add_test(db, test_toomany);
	suite_add_tcase(s, db);

	tcase_add_checked_fixture(ch, setup, NULL);
	tcase_set_timeout(ch, 60);
	tcase_add_test(ch, test_rules_hold);
	tcase_add_test(ch, test_exit_uniform);
	tcase_add_test(ch, test_middle_uniform);
	tcase_add_test(ch, test_small_network);
	tcase_add_test(ch, test_stats_limits);
	tcase_add_test(ch, test_dummy);
	tcase_add_test(ch, test_copies);
	tcase_add_test(ch, test_delay_function);
	tcase_add_test(ch, test_delays);
	tcase_add_test(ch, test_explicit);
	tcase_add_test(ch, test_errors);
	tcase_add_test(ch, test_policy);
	suite_add_tcase(s, ch);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(chain_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
