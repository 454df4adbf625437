/*
 * poolflush.c - the flusher's side of the spool (poolflush.h).
 *
 * doc/INTERNALS.md section 4 is the contract; this file only moves,
 * writes, reads and removes entries, and leaves the order of the steps
 * (and so the crash states) to the flusher (src/flush.c).
 *
 * Diagnostics: none; every failure is a result with errno kept.
 */
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
	if (i == FP_NDIRS && fd_fsync(spool_fd) != 0)
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
	return pool_list_at(p->fd[dir], names, n);
}

enum pool_err
fpool_read(struct fpool *p, enum fpool_dir dir, const char *name, uint8_t *buf,
    size_t *len, struct pool_entry *e)
{
	return pool_read_at(p->fd[dir], name, buf, len, e);
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

enum pool_err
fpool_keep(struct fpool *p, enum fpool_dir from, enum fpool_dir to, const char *name)
{
	return pool_keep_at(p->fd[from], p->fd[to], name);
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
	return fd_fsync(p->fd[dir]) == 0 ? POOL_OK : POOL_ERR_IO;
}

enum pool_err
fpool_write(struct fpool *p, enum fpool_dir dir, const char *name, const struct pool_entry *e)
{
	char tmp[POOL_TMP_NAME_SIZE];
	uint8_t *buf;
	enum pool_err err;
	size_t len;
	int ok, saved;

	if (!pool_name_valid(name) || (dir != FP_POOL && dir != FP_DEFER)) {
		errno = EINVAL;
		return POOL_ERR_ARG;
	}
	buf = mem_alloc(POOL_ENTRY_MAX);
	if ((err = pool_entry_encode(e, buf, &len)) == POOL_OK)
		err = pool_tmp_at(p->fd[FP_TMP], TMP_PREFIX, buf, len, tmp);
	saved = errno;
	mcrypto_wipe(buf, POOL_ENTRY_MAX);
	mem_free(buf);
	if (err != POOL_OK) {
		errno = saved;
		return err;
	}
	if (dir == FP_DEFER)
		ok = renameat(p->fd[FP_TMP], tmp, p->fd[dir], name) == 0;
	else
		ok = linkat(p->fd[FP_TMP], tmp, p->fd[dir], name, 0) == 0;
	saved = errno;
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
