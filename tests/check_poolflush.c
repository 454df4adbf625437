/*
 * check_poolflush.c - the flusher's side of the spool (poolflush.c) on
 * real directories: the directories made on open (0700), writes into
 * pool/ (never replacing) and defer/ (replacing) with times 0, reads
 * (O_NOATIME, damaged files, symbolic links, FIFOs), moves, keeping
 * entries in failed/ without replacing an earlier one (and finishing an
 * interrupted keep), recovery of out/ and sending/, cleaning of tmp/, the
 * flush lock, and listing that skips junk.
 *
 * Every test works in a spool of its own under one temporary directory.
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
#include "pkt.h"
#include "pool.h"
#include "poolflush.h"
#include "testutil.h"

static char tmproot[1024];
static uint8_t packet[PKT_SIZE];

static const char *const NAME_A = "0123456789abcdef0123456789abcdef";
static const char *const NAME_B = "fedcba9876543210fedcba9876543210";

static void
make_root(void)
{
	tu_make_tmpdir(tmproot, sizeof tmproot, "check_poolflush");
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
	uint8_t seed[32] = { 'f', 'l', 'u', 's', 'h' };

	tu_init();
	mcrypto_rng_seed(&rng, seed);
	mcrypto_random(&rng, packet, sizeof packet);
}

/* new_spool - a fresh, empty spool directory; its path in buf */
static void
new_spool(char *buf, size_t size)
{
	ck_assert_int_lt(snprintf(buf, size, "%s/sXXXXXX", tmproot), (int)size);
	ck_assert_ptr_nonnull(mkdtemp(buf));
}

/* sp - spool/dir[/name] in a static buffer (one at a time) */
static const char *
sp(const char *spool, const char *dir, const char *name)
{
	static char p[PATH_MAX];
	int n;

	n = name != NULL ? snprintf(p, sizeof p, "%s/%s/%s", spool, dir, name) :
	    snprintf(p, sizeof p, "%s/%s", spool, dir);
	ck_assert(n > 0 && (size_t)n < sizeof p);
	return p;
}

static void
entry(struct pool_entry *e, enum pool_kind kind, uint32_t retry)
{
	memset(e, 0, sizeof *e);
	e->kind = kind;
	memset(e->tag, 0x5a, sizeof e->tag);
	e->retry = retry;
	(void)snprintf(e->addr, sizeof e->addr, "next@example.org");
	e->data = packet;
	e->data_len = PKT_SIZE;
}

static int
exists(const char *spool, const char *dir, const char *name)
{
	struct stat sb;

	return lstat(sp(spool, dir, name), &sb) == 0;
}

/* count - regular files in spool/dir */
static size_t
count(const char *spool, const char *dir)
{
	struct dirent *de;
	size_t n = 0;
	DIR *d;

	ck_assert_ptr_nonnull(d = opendir(sp(spool, dir, NULL)));
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	(void)closedir(d);
	return n;
}

static void
write_raw(const char *spool, const char *dir, const char *name, const void *data, size_t len)
{
	int fd;

	ck_assert_int_ge(fd = open(sp(spool, dir, name), O_WRONLY | O_CREAT | O_TRUNC, 0600), 0);
	ck_assert_int_eq(write(fd, data, len), (ssize_t)len);
	ck_assert_int_eq(close(fd), 0);
}

START_TEST(test_open_makes_dirs)
{
	static const char *const dirs[] = { "tmp", "pool", "out", "sending", "defer",
		"failed", "corrupt" };
	char spool[PATH_MAX], p[PATH_MAX];
	struct fpool *fp;
	struct stat sb;
	size_t i;

	new_spool(spool, sizeof spool);
	ck_assert_int_eq(fpool_open(&fp, spool), POOL_OK);
	for (i = 0; i < sizeof dirs / sizeof *dirs; i++) {
		(void)snprintf(p, sizeof p, "%s", sp(spool, dirs[i], NULL));
		ck_assert_int_eq(stat(p, &sb), 0);
		ck_assert(S_ISDIR(sb.st_mode));
		ck_assert_int_eq(sb.st_mode & 0777, 0700);
		ck_assert_str_eq(fpool_dir_name((enum fpool_dir)i), dirs[i]);
	}
	fpool_close(fp);
	/* again: existing directories are fine */
	ck_assert_int_eq(fpool_open(&fp, spool), POOL_OK);
	fpool_close(fp);
	ck_assert_int_eq(fpool_open(&fp, "/nonexistent/spool"), POOL_ERR_IO);
	ck_assert_ptr_null(fp);
}
END_TEST

START_TEST(test_write_read)
{
	char spool[PATH_MAX], p[PATH_MAX];
	uint8_t buf[POOL_ENTRY_MAX];
	struct pool_entry e, got;
	struct fpool *fp;
	struct stat sb;
	size_t len;

	new_spool(spool, sizeof spool);
	ck_assert_int_eq(fpool_open(&fp, spool), POOL_OK);
	entry(&e, POOL_DUMMY, 0);
	ck_assert_int_eq(fpool_write(fp, FP_POOL, NAME_A, &e), POOL_OK);
	/* pool/: never replaced */
	entry(&e, POOL_FORWARD, 3);
	ck_assert_int_eq(fpool_write(fp, FP_POOL, NAME_A, &e), POOL_ERR_IO);
	ck_assert_int_eq(errno, EEXIST);
	ck_assert_int_eq(fpool_read(fp, FP_POOL, NAME_A, buf, &len, &got), POOL_OK);
	ck_assert_int_eq(got.kind, POOL_DUMMY);
	ck_assert_int_eq(got.retry, 0);
	ck_assert_int_eq(memcmp(got.data, packet, PKT_SIZE), 0);
	ck_assert_str_eq(got.addr, "next@example.org");
	/* times 0, mode 0600, nothing left in tmp/ */
	(void)snprintf(p, sizeof p, "%s", sp(spool, "pool", NAME_A));
	ck_assert_int_eq(stat(p, &sb), 0);
	ck_assert_int_eq(sb.st_mtime, 0);
	ck_assert_int_eq(sb.st_atime, 0);	/* the read above did not set it */
	ck_assert_int_eq(sb.st_mode & 0777, 0600);
	ck_assert_uint_eq(count(spool, "tmp"), 0);
	/* defer/: replaced */
	entry(&e, POOL_FORWARD, 1);
	e.not_before = 1234;
	ck_assert_int_eq(fpool_write(fp, FP_DEFER, NAME_B, &e), POOL_OK);
	entry(&e, POOL_FORWARD, 2);
	e.not_before = 5678;
	ck_assert_int_eq(fpool_write(fp, FP_DEFER, NAME_B, &e), POOL_OK);
	ck_assert_int_eq(fpool_read(fp, FP_DEFER, NAME_B, buf, &len, &got), POOL_OK);
	ck_assert_int_eq(got.retry, 2);
	ck_assert_int_eq(got.not_before, 5678);
	ck_assert_uint_eq(count(spool, "tmp"), 0);
	/* other directories and bad names are refused */
	ck_assert_int_eq(fpool_write(fp, FP_OUT, NAME_A, &e), POOL_ERR_ARG);
	ck_assert_int_eq(fpool_write(fp, FP_DEFER, "../x", &e), POOL_ERR_ARG);
	ck_assert_int_eq(fpool_read(fp, FP_POOL, "0123", buf, &len, &got), POOL_ERR_ARG);
	/* an invalid entry is not written */
	e.data_len = 5;
	ck_assert_int_eq(fpool_write(fp, FP_DEFER, NAME_A, &e), POOL_ERR_ARG);
	ck_assert(!exists(spool, "defer", NAME_A));
	fpool_close(fp);
}
END_TEST

START_TEST(test_read_damaged)
{
	char spool[PATH_MAX], p[PATH_MAX], q[PATH_MAX];
	uint8_t buf[POOL_ENTRY_MAX], enc[POOL_ENTRY_MAX];
	struct pool_entry e, got;
	struct fpool *fp;
	size_t len;

	new_spool(spool, sizeof spool);
	ck_assert_int_eq(fpool_open(&fp, spool), POOL_OK);
	entry(&e, POOL_FORWARD, 0);
	ck_assert_int_eq(pool_entry_encode(&e, enc, &len), POOL_OK);
	/* one flipped byte */
	enc[100] ^= 1;
	write_raw(spool, "pool", NAME_A, enc, len);
	ck_assert_int_eq(fpool_read(fp, FP_POOL, NAME_A, buf, &len, &got), POOL_ERR_FORMAT);
	/* too long */
	memset(enc, 0, sizeof enc);
	write_raw(spool, "pool", NAME_B, enc, sizeof enc);
	write_raw(spool, "pool", NAME_B, enc, sizeof enc);
	(void)snprintf(p, sizeof p, "%s", sp(spool, "pool", NAME_B));
	ck_assert_int_eq(truncate(p, POOL_ENTRY_MAX + 1), 0);
	ck_assert_int_eq(fpool_read(fp, FP_POOL, NAME_B, buf, &len, &got), POOL_ERR_FORMAT);
	/* a symbolic link and a FIFO are not entries (and the FIFO does not hang) */
	ck_assert_int_eq(unlink(p), 0);
	(void)snprintf(q, sizeof q, "%s", sp(spool, "tmp", "target"));
	ck_assert_int_eq(symlink(q, p), 0);
	ck_assert_int_eq(fpool_read(fp, FP_POOL, NAME_B, buf, &len, &got), POOL_ERR_FORMAT);
	ck_assert_int_eq(unlink(p), 0);
	ck_assert_int_eq(mkfifo(p, 0600), 0);
	ck_assert_int_eq(fpool_read(fp, FP_POOL, NAME_B, buf, &len, &got), POOL_ERR_FORMAT);
	/* missing: an I/O error with ENOENT */
	ck_assert_int_eq(unlink(p), 0);
	ck_assert_int_eq(fpool_read(fp, FP_POOL, NAME_B, buf, &len, &got), POOL_ERR_IO);
	ck_assert_int_eq(errno, ENOENT);
	/* kept in corrupt/ */
	ck_assert_int_eq(fpool_keep(fp, FP_POOL, FP_CORRUPT, NAME_A), POOL_OK);
	ck_assert(exists(spool, "corrupt", NAME_A));
	ck_assert(!exists(spool, "pool", NAME_A));
	fpool_close(fp);
}
END_TEST

START_TEST(test_keep_never_replaces)
{
	char spool[PATH_MAX], p[PATH_MAX], q[PATH_MAX];
	struct pool_entry e;
	struct fpool *fp;
	struct stat a, b;

	new_spool(spool, sizeof spool);
	ck_assert_int_eq(fpool_open(&fp, spool), POOL_OK);
	entry(&e, POOL_FORWARD, 0);
	ck_assert_int_eq(fpool_write(fp, FP_POOL, NAME_A, &e), POOL_OK);
	ck_assert_int_eq(fpool_move(fp, FP_POOL, FP_OUT, NAME_A), POOL_OK);
	ck_assert_int_eq(fpool_keep(fp, FP_OUT, FP_FAILED, NAME_A), POOL_OK);
	ck_assert_uint_eq(count(spool, "failed"), 1);
	ck_assert_uint_eq(count(spool, "out"), 0);
	/* the same name again: the earlier one stays, this one gets a suffix */
	ck_assert_int_eq(fpool_write(fp, FP_POOL, NAME_A, &e), POOL_OK);
	ck_assert_int_eq(fpool_keep(fp, FP_POOL, FP_FAILED, NAME_A), POOL_OK);
	ck_assert_uint_eq(count(spool, "failed"), 2);
	ck_assert(exists(spool, "failed", NAME_A));
	/* an interrupted keep (both links) is finished without a third copy */
	ck_assert_int_eq(fpool_write(fp, FP_POOL, NAME_B, &e), POOL_OK);
	(void)snprintf(p, sizeof p, "%s", sp(spool, "pool", NAME_B));
	(void)snprintf(q, sizeof q, "%s", sp(spool, "failed", NAME_B));
	ck_assert_int_eq(link(p, q), 0);
	ck_assert_int_eq(fpool_keep(fp, FP_POOL, FP_FAILED, NAME_B), POOL_OK);
	ck_assert_uint_eq(count(spool, "failed"), 3);
	ck_assert(!exists(spool, "pool", NAME_B));
	ck_assert_int_eq(stat(q, &a), 0);
	ck_assert_int_eq(a.st_nlink, 1);
	(void)b;
	/* a missing source is an error, and nothing is made */
	ck_assert_int_eq(fpool_keep(fp, FP_POOL, FP_FAILED, NAME_B), POOL_ERR_IO);
	ck_assert_uint_eq(count(spool, "failed"), 3);
	fpool_close(fp);
}
END_TEST

START_TEST(test_recover)
{
	char spool[PATH_MAX], name[POOL_NAME_LEN + 1];
	struct pool_entry e;
	struct fpool *fp;
	size_t returned, uncertain, i;
	uint8_t rnd[16];

	new_spool(spool, sizeof spool);
	ck_assert_int_eq(fpool_open(&fp, spool), POOL_OK);
	entry(&e, POOL_FORWARD, 0);
	for (i = 0; i < 7; i++) {
		mcrypto_random(NULL, rnd, sizeof rnd);
		mcrypto_hex(name, rnd, sizeof rnd);
		ck_assert_int_eq(fpool_write(fp, FP_POOL, name, &e), POOL_OK);
		ck_assert_int_eq(fpool_move(fp, FP_POOL, i < 5 ? FP_OUT : FP_SENDING, name),
		    POOL_OK);
	}
	/* junk in out/ is not an entry name and stays where it is */
	write_raw(spool, "out", "junk", "x", 1);
	ck_assert_int_eq(fpool_recover(fp, &returned, &uncertain), POOL_OK);
	ck_assert_uint_eq(returned, 5);
	ck_assert_uint_eq(uncertain, 2);
	ck_assert_uint_eq(count(spool, "pool"), 5);
	ck_assert_uint_eq(count(spool, "failed"), 2);
	ck_assert_uint_eq(count(spool, "sending"), 0);
	ck_assert_uint_eq(count(spool, "out"), 1);
	/* nothing left: nothing to do */
	ck_assert_int_eq(fpool_recover(fp, &returned, &uncertain), POOL_OK);
	ck_assert_uint_eq(returned + uncertain, 0);
	fpool_close(fp);
}
END_TEST

START_TEST(test_list)
{
	char spool[PATH_MAX], **names;
	struct pool_entry e;
	struct fpool *fp;
	size_t n;

	new_spool(spool, sizeof spool);
	ck_assert_int_eq(fpool_open(&fp, spool), POOL_OK);
	entry(&e, POOL_FORWARD, 0);
	ck_assert_int_eq(fpool_write(fp, FP_POOL, NAME_A, &e), POOL_OK);
	ck_assert_int_eq(fpool_write(fp, FP_POOL, NAME_B, &e), POOL_OK);
	write_raw(spool, "pool", "t.0123", "x", 1);
	write_raw(spool, "pool", "0123456789ABCDEF0123456789abcdef", "x", 1);
	write_raw(spool, "pool", "0123456789abcdef0123456789abcdef0", "x", 1);
	ck_assert_int_eq(fpool_list(fp, FP_POOL, &names, &n), POOL_OK);
	ck_assert_uint_eq(n, 2);
	ck_assert(strcmp(names[0], NAME_A) == 0 || strcmp(names[1], NAME_A) == 0);
	pool_list_free(names, n);
	ck_assert_int_eq(fpool_list(fp, FP_DEFER, &names, &n), POOL_OK);
	ck_assert_uint_eq(n, 0);
	pool_list_free(names, n);
	fpool_close(fp);
}
END_TEST

START_TEST(test_clean_tmp)
{
	char spool[PATH_MAX];
	struct fpool *fp;
	size_t removed;
	int64_t now = (int64_t)time(NULL);

	new_spool(spool, sizeof spool);
	ck_assert_int_eq(fpool_open(&fp, spool), POOL_OK);
	write_raw(spool, "tmp", "t.aaaa", "x", 1);
	write_raw(spool, "tmp", "f.bbbb", "x", 1);
	/* fresh files stay */
	ck_assert_int_eq(fpool_clean_tmp(fp, now, 86400, &removed), POOL_OK);
	ck_assert_uint_eq(removed, 0);
	ck_assert_uint_eq(count(spool, "tmp"), 2);
	/* a day and a minute later they go */
	ck_assert_int_eq(fpool_clean_tmp(fp, now + 86460, 86400, &removed), POOL_OK);
	ck_assert_uint_eq(removed, 2);
	ck_assert_uint_eq(count(spool, "tmp"), 0);
	fpool_close(fp);
}
END_TEST

START_TEST(test_lock)
{
	char spool[PATH_MAX];
	int a, b, st;
	pid_t pid;

	new_spool(spool, sizeof spool);
	ck_assert_int_ge(a = fpool_lock(spool, 0), 0);
	/* another process cannot have it, within its bound */
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		b = fpool_lock(spool, 200);
		_exit(b < 0 && errno == EWOULDBLOCK ? 0 : 1);
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	/* released on close: another process gets it */
	ck_assert_int_eq(close(a), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		b = fpool_lock(spool, 200);
		_exit(b >= 0 ? 0 : 1);
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	ck_assert_int_eq(fpool_lock("/nonexistent/spool", 0), -1);
}
END_TEST

static Suite *
poolflush_suite(void)
{
	Suite *s = suite_create("poolflush");
	TCase *tc = tcase_create("spool");

	tcase_add_unchecked_fixture(tc, make_root, remove_root);
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_open_makes_dirs);
	tcase_add_test(tc, test_write_read);
	tcase_add_test(tc, test_read_damaged);
	tcase_add_test(tc, test_keep_never_replaces);
	tcase_add_test(tc, test_recover);
	tcase_add_test(tc, test_list);
	tcase_add_test(tc, test_clean_tmp);
	tcase_add_test(tc, test_lock);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(poolflush_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
