/*
 * outbox.c - the durable mail stores of the auto-replies (outbox.h):
 * SPOOL/outbox/, mails the node sends itself, and SPOOL/operator/, the
 * operator's bounded Maildir. doc/autoreply.md, sections 3 and 6, has the
 * entry format byte by byte; doc/INTERNALS.md section 1 the spool.
 *
 * An entry is a few header lines ("mixoutbox 1", kind, hour, envelope),
 * an empty line, then the mail. Every field is checked when read: an
 * entry is untrusted input like any other file a crash may have cut.
 *
 * Diagnostics: nothing is logged here; callers get errno or a result.
 */
#include <config.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fdio.h"
#include "mcrypto.h"
#include "mem.h"
#include "outbox.h"

#define MAGIC_LINE	"mixoutbox 1"
#define HOUR		3600
#define NAP_US		2000
#define MAILDIR_SCAN_MAX	100000	/* files looked at when measuring operator/ */

/* ---- small helpers ---------------------------------------------------------- */

static char *
join(const char *a, const char *b, const char *c)
{
	size_t len = strlen(a) + 1 + strlen(b) + (c ? 1 + strlen(c) : 0) + 1;
	char *p = mem_alloc(len);

	if (c != NULL)
		(void)snprintf(p, len, "%s/%s/%s", a, b, c);
	else
		(void)snprintf(p, len, "%s/%s", a, b);
	return p;
}

int
outbox_name_valid(const char *name)
{
	size_t i;

	for (i = 0; i < OUTBOX_NAME_LEN; i++)
		if (!((name[i] >= '0' && name[i] <= '9') || (name[i] >= 'a' && name[i] <= 'f')))
			return 0;
	return name[i] == '\0';
}

static void
new_name(char name[OUTBOX_NAME_LEN + 1])
{
	uint8_t rnd[OUTBOX_NAME_LEN / 2];

	mcrypto_random(NULL, rnd, sizeof rnd);
	mcrypto_hex(name, rnd, sizeof rnd);
}

int
outbox_fsync_dir(const char *path)
{
	int fd, r, saved;

	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	r = fd_fsync(fd);
	saved = errno;
	(void)close(fd);
	errno = saved;
	return r;
}

/* mkdir_synced - make dir (0700) if missing, syncing its parent; 0 or -1 */
static int
mkdir_synced(const char *parent, const char *dir)
{
	if (mkdir(dir, 0700) == 0)
		return outbox_fsync_dir(parent);
	return errno == EEXIST ? 0 : -1;
}

int
outbox_flock(int fd, int op, unsigned timeout_ms)
{
	struct timespec nap = { 0, NAP_US * 1000L };
	unsigned long waited_us = 0;

	for (;;) {
		if (flock(fd, op | LOCK_NB) == 0)
			return 0;
		if (errno == EINTR)
			continue;
		if (errno != EWOULDBLOCK)
			return -1;
		if (waited_us >= (unsigned long)timeout_ms * 1000) {
			errno = ETIMEDOUT;
			return -1;
		}
		(void)nanosleep(&nap, NULL);
		waited_us += NAP_US;
	}
}

/*
 * put_durably - data into dir/NAME through tmpdir/NAME: O_EXCL, 0600,
 * written, synced, renamed, dir synced. With zero_times the file's times
 * are set to the epoch. 0, or -1 (errno) with nothing left.
 */
static int
put_durably(const char *tmpdir, const char *dir, const char *name, const void *head,
    size_t hlen, const void *data, size_t len, int zero_times)
{
	struct timespec times[2] = { { 0, 0 }, { 0, 0 } };
	char *tmp = join(tmpdir, name, NULL), *dst = join(dir, name, NULL);
	int fd, ok = 0, saved;

	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		goto out;
	ok = fd_write_all(fd, head, hlen) == 0 && fd_write_all(fd, data, len) == 0 &&
	    (!zero_times || futimens(fd, times) == 0) && fd_fsync(fd) == 0;
	saved = errno;
	if (close(fd) != 0 && ok) {
		ok = 0;
		saved = errno;
	}
	if (ok && rename(tmp, dst) != 0) {
		ok = 0;
		saved = errno;
	}
	if (!ok) {
		(void)unlink(tmp);
		errno = saved;
		goto out;
	}
	if (outbox_fsync_dir(dir) != 0) {
		/* not durable: take it back, so that the caller's 75 leaves nothing */
		saved = errno;
		(void)unlink(dst);
		errno = saved;
		ok = 0;
	}
out:
	saved = errno;
	mem_free(tmp);
	mem_free(dst);
	errno = saved;
	return ok ? 0 : -1;
}

/* ---- the outbox ------------------------------------------------------------- */

static int
addr_ok(const char *a, int may_be_empty)
{
	size_t i, n = strlen(a);

	if (n == 0)
		return may_be_empty;
	if (n > OUTBOX_ADDR_MAX || strchr(a, '@') == NULL)
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)a[i] <= 0x20 || (unsigned char)a[i] >= 0x7f ||
		    strchr("<>\"(),;\\", a[i]) != NULL)
			return 0;
	return 1;
}

int
outbox_commit(const char *spool, const struct outbox_entry *e, char name[OUTBOX_NAME_LEN + 1])
{
	char head[OUTBOX_HEAD_MAX], *dir, *tmpdir;
	int h, r = -1, tries;

	name[0] = '\0';
	if ((e->kind != OUTBOX_REPLY && e->kind != OUTBOX_COMPLAINT) || e->created < 0 ||
	    !addr_ok(e->sender, 1) || !addr_ok(e->rcpt, 0) || e->len == 0 ||
	    e->len > OUTBOX_MAIL_MAX) {
		errno = EINVAL;
		return -1;
	}
	h = snprintf(head, sizeof head, "%s\nkind %s\ncreated %" PRId64 "\nsender %s\n"
	    "rcpt %s\nsize %zu\n\n", MAGIC_LINE, e->kind == OUTBOX_REPLY ? "reply" : "complaint",
	    e->created / HOUR * HOUR, e->sender, e->rcpt, e->len);
	if (h < 0 || (size_t)h >= sizeof head) {
		errno = EINVAL;
		return -1;
	}
	dir = join(spool, OUTBOX_DIR, NULL);
	tmpdir = join(spool, OUTBOX_TMP, NULL);
	if (mkdir_synced(spool, dir) != 0 || mkdir_synced(dir, tmpdir) != 0)
		goto out;
	for (tries = 0; tries < 4; tries++) {
		new_name(name);
		r = put_durably(tmpdir, dir, name, head, (size_t)h, e->data, e->len, 1);
		if (r == 0 || errno != EEXIST)
			break;
	}
	if (r != 0)
		name[0] = '\0';
out:
	{
		int saved = errno;

		mem_free(dir);
		mem_free(tmpdir);
		errno = saved;
	}
	return r;
}

int
outbox_list(const char *spool, char ***names, size_t *n)
{
	char *dir = join(spool, OUTBOX_DIR, NULL);
	struct dirent *de;
	size_t cap = 0;
	DIR *d;

	*names = NULL;
	*n = 0;
	d = opendir(dir);
	mem_free(dir);
	if (d == NULL)
		return errno == ENOENT ? 0 : -1;
	while ((errno = 0, de = readdir(d)) != NULL) {
		if (!outbox_name_valid(de->d_name))
			continue;
		if (*n == cap) {
			cap = cap ? 2 * cap : 16;
			*names = mem_realloc(*names, cap * sizeof **names);
		}
		(*names)[(*n)++] = mem_strdup(de->d_name);
	}
	if (errno != 0) {
		int saved = errno;

		(void)closedir(d);
		outbox_list_free(*names, *n);
		*names = NULL;
		*n = 0;
		errno = saved;
		return -1;
	}
	(void)closedir(d);
	return 0;
}

void
outbox_list_free(char **names, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		mem_free(names[i]);
	mem_free(names);
}

/* field - the line at *p (within end) that starts with key and a space, into out */
static int
field(const uint8_t **p, const uint8_t *end, const char *key, char *out, size_t size)
{
	size_t kl = strlen(key), n;
	const uint8_t *nl = memchr(*p, '\n', (size_t)(end - *p));

	if (nl == NULL || (size_t)(nl - *p) < kl + 1 || memcmp(*p, key, kl) != 0 ||
	    (*p)[kl] != ' ')
		return -1;
	n = (size_t)(nl - *p) - kl - 1;
	if (n >= size || memchr(*p + kl + 1, '\0', n) != NULL)
		return -1;
	memcpy(out, *p + kl + 1, n);
	out[n] = '\0';
	*p = nl + 1;
	return 0;
}

/* number - a decimal without sign or leading zeros (but "0"), at most max */
static int
number(const char *s, uint64_t max, uint64_t *v)
{
	uint64_t x = 0;

	if (s[0] == '\0' || (s[0] == '0' && s[1] != '\0'))
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || x > (max - (uint64_t)(*s - '0')) / 10)
			return -1;
		x = x * 10 + (uint64_t)(*s - '0');
	}
	*v = x;
	return 0;
}

enum outbox_err
outbox_read(const char *spool, const char *name, struct outbox_entry *e)
{
	char *path, val[OUTBOX_ADDR_MAX + 1];
	uint8_t *buf = NULL;
	const uint8_t *p, *end;
	struct stat sb;
	uint64_t v, size;
	size_t got = 0;
	ssize_t r;
	int fd, saved;
	enum outbox_err ret = OUTBOX_ERR_FORMAT;

	memset(e, 0, sizeof *e);
	if (!outbox_name_valid(name))
		return OUTBOX_ERR_FORMAT;
	path = join(spool, OUTBOX_DIR, name);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	mem_free(path);
	if (fd < 0)
		return OUTBOX_ERR_IO;
	if (fstat(fd, &sb) != 0) {
		ret = OUTBOX_ERR_IO;
		goto out;
	}
	if (!S_ISREG(sb.st_mode) || sb.st_size <= 0 ||
	    (uint64_t)sb.st_size > OUTBOX_MAIL_MAX + OUTBOX_HEAD_MAX)
		goto out;
	buf = mem_alloc((size_t)sb.st_size);
	while (got < (size_t)sb.st_size) {
		r = read(fd, buf + got, (size_t)sb.st_size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			ret = OUTBOX_ERR_IO;
			goto out;
		}
		if (r == 0)
			goto out;	/* shorter than it was: not ours */
		got += (size_t)r;
	}
	p = buf;
	end = buf + got;
	if ((size_t)(end - p) < sizeof MAGIC_LINE || memcmp(p, MAGIC_LINE "\n", sizeof MAGIC_LINE) != 0)
		goto out;
	p += sizeof MAGIC_LINE;
	if (field(&p, end, "kind", val, sizeof val) != 0)
		goto out;
	if (strcmp(val, "reply") == 0)
		e->kind = OUTBOX_REPLY;
	else if (strcmp(val, "complaint") == 0)
		e->kind = OUTBOX_COMPLAINT;
	else
		goto out;
	/* the writer gives the start of an hour: anything else is not ours */
	if (field(&p, end, "created", val, sizeof val) != 0 || number(val, INT64_MAX, &v) != 0 ||
	    v % HOUR != 0)
		goto out;
	e->created = (int64_t)v;
	if (field(&p, end, "sender", e->sender, sizeof e->sender) != 0 || !addr_ok(e->sender, 1) ||
	    field(&p, end, "rcpt", e->rcpt, sizeof e->rcpt) != 0 || !addr_ok(e->rcpt, 0) ||
	    field(&p, end, "size", val, sizeof val) != 0 || number(val, OUTBOX_MAIL_MAX, &size) != 0)
		goto out;
	if (p >= end || *p != '\n' || (uint64_t)(end - p - 1) != size || size == 0)
		goto out;
	p++;
	e->data = mem_alloc((size_t)size);
	memcpy(e->data, p, (size_t)size);
	e->len = (size_t)size;
	ret = OUTBOX_OK;
out:
	saved = errno;
	(void)close(fd);
	if (buf != NULL) {
		mcrypto_wipe(buf, got);
		mem_free(buf);
	}
	errno = saved;
	return ret;
}

void
outbox_entry_free(struct outbox_entry *e)
{
	if (e->data != NULL) {
		mcrypto_wipe(e->data, e->len);
		mem_free(e->data);
	}
	memset(e, 0, sizeof *e);
}

int
outbox_remove(const char *spool, const char *name)
{
	char *dir = join(spool, OUTBOX_DIR, NULL), *path = join(spool, OUTBOX_DIR, name);
	int r;

	r = unlink(path) == 0 || errno == ENOENT ? outbox_fsync_dir(dir) : -1;
	{
		int saved = errno;

		mem_free(dir);
		mem_free(path);
		errno = saved;
	}
	return r;
}

size_t
outbox_clean_tmp(const char *spool, time_t now, int64_t max_age)
{
	char *dir = join(spool, OUTBOX_TMP, NULL), *path;
	struct dirent *de;
	struct stat sb;
	size_t removed = 0;
	DIR *d;

	if ((d = opendir(dir)) == NULL) {
		mem_free(dir);
		return 0;
	}
	while ((de = readdir(d)) != NULL) {
		if (!outbox_name_valid(de->d_name))
			continue;
		path = join(dir, de->d_name, NULL);
		/* the times are zeroed only at the end: use the change time */
		if (lstat(path, &sb) == 0 && S_ISREG(sb.st_mode) &&
		    (int64_t)now - (int64_t)sb.st_ctime > max_age && unlink(path) == 0)
			removed++;
		mem_free(path);
	}
	(void)closedir(d);
	mem_free(dir);
	return removed;
}

/* ---- the operator's Maildir -------------------------------------------------- */

/* measure - add the regular files of dir to *count and *bytes; 0 or -1 */
static int
measure(const char *dir, uint64_t *count, uint64_t *bytes)
{
	struct dirent *de;
	struct stat sb;
	size_t seen = 0;
	DIR *d;
	int dfd;

	if ((d = opendir(dir)) == NULL)
		return -1;
	dfd = dirfd(d);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (++seen > MAILDIR_SCAN_MAX) {
			/* far beyond any bound: count it as full */
			*count = UINT64_MAX;
			break;
		}
		if (fstatat(dfd, de->d_name, &sb, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(sb.st_mode))
			continue;
		(*count)++;
		*bytes += (uint64_t)sb.st_size;
	}
	(void)closedir(d);
	return 0;
}

enum outbox_keep
outbox_maildir_deliver(const char *spool, const uint8_t *mail, size_t len,
    uint64_t max_count, uint64_t max_bytes, unsigned timeout_ms)
{
	char *dir = join(spool, OUTBOX_OPERATOR, NULL);
	char *tmp = join(dir, "tmp", NULL), *nw = join(dir, "new", NULL), *cur = join(dir, "cur", NULL);
	char name[OUTBOX_NAME_LEN + 1];
	uint64_t count = 0, bytes = 0;
	enum outbox_keep ret = OUTBOX_KEEP_ERR;
	int fd = -1, saved;

	if (mkdir_synced(spool, dir) != 0 || mkdir_synced(dir, tmp) != 0 ||
	    mkdir_synced(dir, nw) != 0 || mkdir_synced(dir, cur) != 0)
		goto out;
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
	    outbox_flock(fd, LOCK_EX, timeout_ms) != 0)
		goto out;
	if (measure(nw, &count, &bytes) != 0 || measure(cur, &count, &bytes) != 0)
		goto out;
	if (count >= max_count || bytes > max_bytes || len > max_bytes - bytes) {
		ret = OUTBOX_FULL;
		goto out;
	}
	new_name(name);
	if (put_durably(tmp, nw, name, "", 0, mail, len, 0) == 0)
		ret = OUTBOX_KEPT;
out:
	saved = errno;
	if (fd >= 0)
		(void)close(fd);
	mem_free(dir);
	mem_free(tmp);
	mem_free(nw);
	mem_free(cur);
	errno = saved;
	return ret;
}
