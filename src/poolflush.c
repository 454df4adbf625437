/*
 * poolflush.c - the flusher's side of the spool (poolflush.h).
 *
 * doc/INTERNALS.md section 4 is the contract; this file only moves,
 * writes, reads and removes entries, and leaves the order of the steps
 * (and so the crash states) to the flusher (src/flush.c).
 *
 * Diagnostics: none; every failure is a result with errno kept.
 */
#define _GNU_SOURCE		/* O_NOATIME */
#include <config.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fdio.h"
#include "mcrypto.h"
#include "mem.h"
#include "poolflush.h"

#define TMP_PREFIX	"f."	/* the flusher's tmp files; receive uses "t." */
#define TMP_RANDOM	16
#define TMP_NAME_SIZE	(sizeof TMP_PREFIX - 1 + 2 * TMP_RANDOM + 1)
#define ALT_RANDOM	4	/* fpool_keep: suffix when to/<name> exists */
#define ALT_TRIES	8
#define LOCK_STEP_MS	50

static const char *const dir_names[FP_NDIRS] = {
	"tmp", "pool", "out", "sending", "defer", "failed", "corrupt"
};

struct fpool {
	int fd[FP_NDIRS];
};

const char *
fpool_dir_name(enum fpool_dir dir)
{
	return (unsigned)dir < FP_NDIRS ? dir_names[dir] : "?";
}

static int
fsync_fd(int fd)
{
	while (fsync(fd) != 0)
		if (errno != EINTR)
			return -1;
	return 0;
}

enum pool_err
fpool_open(struct fpool **out, const char *spool)
{
	struct fpool *p;
	int spool_fd, saved, i;

	*out = NULL;
	if ((spool_fd = open(spool, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return POOL_ERR_IO;
	p = mem_alloc(sizeof *p);
	for (i = 0; i < FP_NDIRS; i++)
		p->fd[i] = -1;
	for (i = 0; i < FP_NDIRS; i++) {
		if (mkdirat(spool_fd, dir_names[i], 0700) != 0 && errno != EEXIST)
			break;
		p->fd[i] = openat(spool_fd, dir_names[i], O_RDONLY | O_DIRECTORY |
		    O_CLOEXEC | O_NOFOLLOW);
		if (p->fd[i] < 0)
			break;
	}
	/* a directory made here must survive a crash before anything enters it */
	if (i == FP_NDIRS && fsync_fd(spool_fd) != 0)
		i = 0;
	saved = errno;
	(void)close(spool_fd);
	if (i < FP_NDIRS) {
		fpool_close(p);
		errno = saved;
		return POOL_ERR_IO;
	}
	*out = p;
	return POOL_OK;
}

void
fpool_close(struct fpool *p)
{
	int i;

	if (p == NULL)
		return;
	for (i = 0; i < FP_NDIRS; i++)
		if (p->fd[i] >= 0)
			(void)close(p->fd[i]);
	mem_free(p);
}

int
fpool_lock(const char *spool, unsigned timeout_ms)
{
	struct timespec step = { 0, LOCK_STEP_MS * 1000000L };
	char path[4096];
	unsigned waited = 0;
	int fd, saved;

	if ((size_t)snprintf(path, sizeof path, "%s/flush.lock", spool) >= sizeof path) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -1;
	for (;;) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return fd;
		if (errno != EWOULDBLOCK && errno != EINTR)
			break;
		if (waited >= timeout_ms) {
			errno = EWOULDBLOCK;
			break;
		}
		(void)nanosleep(&step, NULL);
		waited += LOCK_STEP_MS;
	}
	saved = errno;
	(void)close(fd);
	errno = saved;
	return -1;
}

enum pool_err
fpool_list(struct fpool *p, enum fpool_dir dir, char ***names, size_t *n)
{
	struct dirent *de;
	char **v;
	size_t cap = 64, k = 0;
	DIR *d;
	int fd, saved;

	*names = NULL;
	*n = 0;
	if ((fd = openat(p->fd[dir], ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return POOL_ERR_IO;
	if ((d = fdopendir(fd)) == NULL) {
		saved = errno;
		(void)close(fd);
		errno = saved;
		return POOL_ERR_IO;
	}
	v = mem_alloc(cap * sizeof *v);
	for (;;) {
		errno = 0;
		if ((de = readdir(d)) == NULL)
			break;
		if (!pool_name_valid(de->d_name))
			continue;
		if (k == cap) {
			cap *= 2;
			v = mem_realloc(v, cap * sizeof *v);
		}
		v[k++] = mem_strdup(de->d_name);
	}
	saved = errno;
	(void)closedir(d);
	if (saved != 0) {
		pool_list_free(v, k);
		errno = saved;
		return POOL_ERR_IO;
	}
	*names = v;
	*n = k;
	return POOL_OK;
}

/*
 * open_noatime - O_NOATIME needs the file's owner: the node's user owns
 * its spool, but fall back to a plain open (EPERM) rather than fail.
 */
static int
open_noatime(int dfd, const char *name)
{
	int flags = O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, fd;

	fd = openat(dfd, name, flags | O_NOATIME);
	if (fd < 0 && errno == EPERM)
		fd = openat(dfd, name, flags);
	return fd;
}

enum pool_err
fpool_read(struct fpool *p, enum fpool_dir dir, const char *name, uint8_t *buf,
    size_t *len, struct pool_entry *e)
{
	struct stat sb;
	enum pool_err err = POOL_OK;
	size_t got = 0;
	ssize_t r;
	int fd, saved;

	*len = 0;
	if (!pool_name_valid(name)) {
		errno = EINVAL;
		return POOL_ERR_ARG;
	}
	if ((fd = open_noatime(p->fd[dir], name)) < 0)
		return errno == ELOOP ? POOL_ERR_FORMAT : POOL_ERR_IO;
	if (fstat(fd, &sb) != 0)
		err = POOL_ERR_IO;
	else if (!S_ISREG(sb.st_mode) || sb.st_size > (off_t)POOL_ENTRY_MAX)
		err = POOL_ERR_FORMAT;
	while (err == POOL_OK && got < POOL_ENTRY_MAX) {
		r = read(fd, buf + got, POOL_ENTRY_MAX - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			err = POOL_ERR_IO;
		else if (r == 0)
			break;
		else
			got += (size_t)r;
	}
	saved = errno;
	(void)close(fd);
	errno = saved;
	if (err != POOL_OK)
		return err;
	/* a file that grew to the buffer's size is not an entry either */
	if (got == POOL_ENTRY_MAX && (off_t)got != sb.st_size)
		return POOL_ERR_FORMAT;
	*len = got;
	return pool_entry_decode(buf, got, e);
}

enum pool_err
fpool_move(struct fpool *p, enum fpool_dir from, enum fpool_dir to, const char *name)
{
	if (!pool_name_valid(name)) {
		errno = EINVAL;
		return POOL_ERR_ARG;
	}
	return renameat(p->fd[from], name, p->fd[to], name) == 0 ? POOL_OK : POOL_ERR_IO;
}

static int
same_file(int dfd1, const char *n1, int dfd2, const char *n2)
{
	struct stat a, b;

	return fstatat(dfd1, n1, &a, AT_SYMLINK_NOFOLLOW) == 0 &&
	    fstatat(dfd2, n2, &b, AT_SYMLINK_NOFOLLOW) == 0 &&
	    a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

enum pool_err
fpool_keep(struct fpool *p, enum fpool_dir from, enum fpool_dir to, const char *name)
{
	char alt[POOL_NAME_LEN + 1 + 2 * ALT_RANDOM + 1];
	uint8_t rnd[ALT_RANDOM];
	const char *dst = name;
	int tries = 0;

	if (!pool_name_valid(name)) {
		errno = EINVAL;
		return POOL_ERR_ARG;
	}
	while (linkat(p->fd[from], name, p->fd[to], dst, 0) != 0) {
		if (errno != EEXIST || ++tries > ALT_TRIES)
			return POOL_ERR_IO;
		if (same_file(p->fd[from], name, p->fd[to], dst))
			break;
		mcrypto_random(NULL, rnd, sizeof rnd);
		memcpy(alt, name, POOL_NAME_LEN);
		alt[POOL_NAME_LEN] = '.';
		mcrypto_hex(alt + POOL_NAME_LEN + 1, rnd, sizeof rnd);
		dst = alt;
	}
	if (fsync_fd(p->fd[to]) != 0)
		return POOL_ERR_IO;
	if (unlinkat(p->fd[from], name, 0) != 0 && errno != ENOENT)
		return POOL_ERR_IO;
	return POOL_OK;
}

enum pool_err
fpool_unlink(struct fpool *p, enum fpool_dir dir, const char *name)
{
	if (!pool_name_valid(name)) {
		errno = EINVAL;
		return POOL_ERR_ARG;
	}
	if (unlinkat(p->fd[dir], name, 0) != 0 && errno != ENOENT)
		return POOL_ERR_IO;
	return POOL_OK;
}

enum pool_err
fpool_sync(struct fpool *p, enum fpool_dir dir)
{
	return fsync_fd(p->fd[dir]) == 0 ? POOL_OK : POOL_ERR_IO;
}

enum pool_err
fpool_write(struct fpool *p, enum fpool_dir dir, const char *name, const struct pool_entry *e)
{
	static const struct timespec epoch[2] = { { 0, 0 }, { 0, 0 } };
	char tmp[TMP_NAME_SIZE];
	uint8_t rnd[TMP_RANDOM], *buf;
	enum pool_err err;
	size_t len;
	int fd, ok, saved;

	if (!pool_name_valid(name) || (dir != FP_POOL && dir != FP_DEFER)) {
		errno = EINVAL;
		return POOL_ERR_ARG;
	}
	buf = mem_alloc(POOL_ENTRY_MAX);
	if ((err = pool_entry_encode(e, buf, &len)) != POOL_OK) {
		mem_free(buf);
		return err;
	}
	mcrypto_random(NULL, rnd, sizeof rnd);
	memcpy(tmp, TMP_PREFIX, sizeof TMP_PREFIX - 1);
	mcrypto_hex(tmp + sizeof TMP_PREFIX - 1, rnd, sizeof rnd);
	fd = openat(p->fd[FP_TMP], tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
	    0600);
	if (fd < 0) {
		mcrypto_wipe(buf, len);
		mem_free(buf);
		return POOL_ERR_IO;
	}
	ok = fchmod(fd, 0600) == 0 && fd_write_all(fd, buf, len) == 0;
	if (ok)
		(void)futimens(fd, epoch);
	ok = ok && fsync_fd(fd) == 0;
	saved = errno;
	if (close(fd) != 0 && ok) {
		ok = 0;
		saved = errno;
	}
	mcrypto_wipe(buf, len);
	mem_free(buf);
	if (ok) {
		if (dir == FP_DEFER)
			ok = renameat(p->fd[FP_TMP], tmp, p->fd[dir], name) == 0;
		else
			ok = linkat(p->fd[FP_TMP], tmp, p->fd[dir], name, 0) == 0;
		saved = errno;
	}
	(void)unlinkat(p->fd[FP_TMP], tmp, 0);
	errno = saved;
	return ok ? POOL_OK : POOL_ERR_IO;
}

/* move_all - every entry of from/ to to/ (keep: never replacing); counted */
static enum pool_err
move_all(struct fpool *p, enum fpool_dir from, enum fpool_dir to, int keep, size_t *moved)
{
	char **names;
	enum pool_err err;
	size_t n, i;

	*moved = 0;
	if ((err = fpool_list(p, from, &names, &n)) != POOL_OK)
		return err;
	for (i = 0; i < n && err == POOL_OK; i++) {
		err = keep ? fpool_keep(p, from, to, names[i]) : fpool_move(p, from, to, names[i]);
		if (err == POOL_OK)
			(*moved)++;
	}
	pool_list_free(names, n);
	if (err == POOL_OK && *moved > 0 && (err = fpool_sync(p, to)) == POOL_OK)
		err = fpool_sync(p, from);
	return err;
}

enum pool_err
fpool_recover(struct fpool *p, size_t *returned, size_t *uncertain)
{
	enum pool_err err;

	*returned = *uncertain = 0;
	if ((err = move_all(p, FP_SENDING, FP_FAILED, 1, uncertain)) != POOL_OK)
		return err;
	return move_all(p, FP_OUT, FP_POOL, 0, returned);
}

enum pool_err
fpool_clean_tmp(struct fpool *p, int64_t now, int64_t max_age, size_t *removed)
{
	struct dirent *de;
	struct stat sb;
	DIR *d;
	int fd, saved;

	*removed = 0;
	if ((fd = openat(p->fd[FP_TMP], ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return POOL_ERR_IO;
	if ((d = fdopendir(fd)) == NULL) {
		saved = errno;
		(void)close(fd);
		errno = saved;
		return POOL_ERR_IO;
	}
	for (;;) {
		errno = 0;
		if ((de = readdir(d)) == NULL)
			break;
		if (de->d_name[0] == '.')
			continue;
		if (fstatat(fd, de->d_name, &sb, AT_SYMLINK_NOFOLLOW) != 0)
			continue;
		if ((int64_t)sb.st_ctime > now - max_age || S_ISDIR(sb.st_mode))
			continue;
		if (unlinkat(fd, de->d_name, 0) == 0)
			(*removed)++;
	}
	saved = errno;
	(void)closedir(d);
	if (saved != 0) {
		errno = saved;
		return POOL_ERR_IO;
	}
	return POOL_OK;
}
