/*
 * nodedb.c - the local directory of known nodes (nodedb.h): one verified
 * descriptor per node in DIR/NAME.desc.
 *
 * Import parses and checks the text before it touches the disk, then,
 * under an exclusive flock of the directory, reads what is stored under
 * the node's name, applies the pinning and freshness rules, and writes the
 * new text durably: tmp-<random> (O_CREAT|O_EXCL, 0600), fsync, rename
 * over NAME.desc, fsync of the directory. Load re-reads and re-verifies
 * every NAME.desc under a shared lock and trusts nothing it read before.
 * Every file is opened with O_NOFOLLOW and read to at most DESC_MAX_SIZE
 * bytes.
 *
 * Functions: nodedb_import(), nodedb_load(), nodedb_free(),
 * nodedb_forget(), nodedb_name_valid(), nodedb_strerror(),
 * nodedb_result_name().
 *
 * Diagnostics: none logged; results and one-line reasons in err. A clock
 * outside 1970..9999 is a caller bug: msg_panic.
 */
#include <config.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "descriptor.h"
#include "fdio.h"
#include "log.h"
#include "mcrypto.h"
#include "mem.h"
#include "nodedb.h"

#define SUFFIX_LEN	(sizeof NODEDB_SUFFIX - 1)
#define FILE_MAX	(DESC_NAME_MAX + SUFFIX_LEN + 1)	/* NAME.desc and NUL */
#define TMP_PREFIX	"tmp-"
#define TMP_HEX		16
#define TMP_NAME_LEN		(sizeof TMP_PREFIX + TMP_HEX)		/* with the NUL */
#define TIME_MAX	INT64_C(253402300799)			/* 9999-12-31T23:59:59Z */
#define TIME_TEXT	21					/* YYYY-MM-DDTHH:MM:SSZ */
#define WHY_MAX		160
#define LOCK_NAP_MS	10

/* An open node directory */
struct db {
	const char *dir;
	int fd;
	char *err;
	size_t errlen;
};

/* What reading one stored file gave */
enum rf {
	RF_OK,
	RF_MISSING,	/* no such file */
	RF_BAD,		/* not a regular file, a link, too large, open to others */
	RF_IO		/* open or read failed */
};

/* ---- errors and names -------------------------------------------------------- */

static enum nodedb_err fail(struct db *db, enum nodedb_err e, const char *fmt, ...)
    MIX_PRINTF(3, 4);

/* fail - the reason into the caller's err buffer; returns e */
static enum nodedb_err
fail(struct db *db, enum nodedb_err e, const char *fmt, ...)
{
	va_list ap;

	if (db->err != NULL && db->errlen > 0) {
		va_start(ap, fmt);
		(void)vsnprintf(db->err, db->errlen, fmt, ap);
		va_end(ap);
	}
	return e;
}

int
nodedb_name_valid(const char *name)
{
	size_t i;
	char c;

	for (i = 0; name[i] != '\0'; i++) {
		c = name[i];
		if (i == DESC_NAME_MAX ||
		    !((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
			return 0;
	}
	return i > 0;
}

/* file_node - 1 if file is NAME.desc with a valid NAME, which goes to name */
static int
file_node(const char *file, char name[DESC_NAME_MAX + 1])
{
	size_t len = strlen(file);

	if (len <= SUFFIX_LEN || len - SUFFIX_LEN > DESC_NAME_MAX ||
	    strcmp(file + len - SUFFIX_LEN, NODEDB_SUFFIX) != 0)
		return 0;
	memcpy(name, file, len - SUFFIX_LEN);
	name[len - SUFFIX_LEN] = '\0';
	return nodedb_name_valid(name);
}

static void
node_file(char out[FILE_MAX], const char *name)
{
	(void)snprintf(out, FILE_MAX, "%s%s", name, NODEDB_SUFFIX);
}

/* is_tmp - 1 if file is a name write_desc gives its tmp files */
static int
is_tmp(const char *file)
{
	size_t i, plen = sizeof TMP_PREFIX - 1;

	if (strlen(file) != plen + TMP_HEX || strncmp(file, TMP_PREFIX, plen) != 0)
		return 0;
	for (i = plen; i < plen + TMP_HEX; i++)
		if (!((file[i] >= '0' && file[i] <= '9') || (file[i] >= 'a' && file[i] <= 'f')))
			return 0;
	return 1;
}

/* utc - t as YYYY-MM-DDTHH:MM:SSZ, for messages */
static const char *
utc(int64_t t, char out[TIME_TEXT])
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL || strftime(out, TIME_TEXT, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		(void)snprintf(out, TIME_TEXT, "%lld", (long long)t);
	return out;
}

static void
check_now(int64_t now)
{
	if (now < 0 || now > TIME_MAX)
		msg_panic("nodedb: clock out of range");
}

/* ---- the directory ------------------------------------------------------------ */

/* sync_parent - fsync the directory that holds path */
static int
sync_parent(const char *path)
{
	size_t len = strlen(path);
	char *parent;
	int fd, r;

	while (len > 1 && path[len - 1] == '/')
		len--;
	while (len > 0 && path[len - 1] != '/')
		len--;
	while (len > 1 && path[len - 1] == '/')
		len--;
	if (len == 0)
		parent = mem_strdup(".");
	else {
		parent = mem_alloc(len + 1);
		memcpy(parent, path, len);
		parent[len] = '\0';
	}
	fd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	mem_free(parent);
	if (fd < 0)
		return -1;
	r = fsync(fd);
	(void)close(fd);
	return r;
}

/* dir_lock - flock op on the directory, waiting at most NODEDB_LOCK_MS */
static enum nodedb_err
dir_lock(struct db *db, int op)
{
	struct timespec nap = { 0, LOCK_NAP_MS * 1000L * 1000L };
	unsigned waited = 0;

	for (;;) {
		if (flock(db->fd, op | LOCK_NB) == 0)
			return NODEDB_OK;
		if (errno == EINTR)
			continue;
		if (errno != EWOULDBLOCK)
			return fail(db, NODEDB_ERR_IO, "%s: cannot lock: %s", db->dir,
			    strerror(errno));
		if (waited >= NODEDB_LOCK_MS)
			return fail(db, NODEDB_ERR_IO, "%s: locked by another process for %u ms",
			    db->dir, waited);
		(void)nanosleep(&nap, NULL);
		waited += LOCK_NAP_MS;
	}
}

/*
 * dir_open - open db->dir (made 0700 first if create), check that it is
 * ours and closed to writers, lock it with op. NODEDB_ERR_UNKNOWN, with
 * nothing in err, when it does not exist.
 */
static enum nodedb_err
dir_open(struct db *db, int create, int op)
{
	struct stat sb;
	enum nodedb_err e;

	if (create) {
		if (mkdir(db->dir, 0700) == 0) {
			if (chmod(db->dir, 0700) != 0)	/* whatever the umask */
				return fail(db, NODEDB_ERR_IO, "%s: cannot chmod: %s", db->dir,
				    strerror(errno));
			if (sync_parent(db->dir) != 0)
				return fail(db, NODEDB_ERR_IO, "%s: cannot sync its parent: %s",
				    db->dir, strerror(errno));
		} else if (errno != EEXIST)
			return fail(db, NODEDB_ERR_IO, "%s: cannot create: %s", db->dir,
			    strerror(errno));
	}
	if ((db->fd = open(db->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return errno == ENOENT ? NODEDB_ERR_UNKNOWN :
		    fail(db, NODEDB_ERR_IO, "%s: cannot open: %s", db->dir, strerror(errno));
	if (fstat(db->fd, &sb) != 0)
		e = fail(db, NODEDB_ERR_IO, "%s: cannot stat: %s", db->dir, strerror(errno));
	else if (sb.st_uid != geteuid())
		e = fail(db, NODEDB_ERR_PERM, "%s: owned by uid %lu, not by this user", db->dir,
		    (unsigned long)sb.st_uid);
	else if ((sb.st_mode & 022) != 0)
		e = fail(db, NODEDB_ERR_PERM, "%s: mode %04o lets group or others write it "
		    "(must be 0700)", db->dir, (unsigned)(sb.st_mode & 07777));
	else
		e = dir_lock(db, op);
	if (e != NODEDB_OK) {
		(void)close(db->fd);
		db->fd = -1;
	}
	return e;
}

static void
dir_close(struct db *db)
{
	if (db->fd >= 0)
		(void)close(db->fd);	/* and with it the lock */
	db->fd = -1;
}

/*
 * list_nodes - the node names in the directory, at most NODEDB_MAX_NODES
 * (*over set if there are more). With clean, tmp leftovers are removed:
 * only under the exclusive lock, where no other import can be writing one.
 */
static enum nodedb_err
list_nodes(struct db *db, int clean, char (**names)[DESC_NAME_MAX + 1], size_t *n, int *over)
{
	char name[DESC_NAME_MAX + 1];
	enum nodedb_err e = NODEDB_OK;
	struct dirent *de;
	DIR *d;
	int fd;

	*names = mem_calloc(NODEDB_MAX_NODES, sizeof **names);
	*n = 0;
	*over = 0;
	if ((fd = openat(db->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
	    (d = fdopendir(fd)) == NULL) {
		e = fail(db, NODEDB_ERR_IO, "%s: cannot list: %s", db->dir, strerror(errno));
		if (fd >= 0)
			(void)close(fd);
		return e;
	}
	for (;;) {
		errno = 0;
		if ((de = readdir(d)) == NULL) {
			if (errno != 0)
				e = fail(db, NODEDB_ERR_IO, "%s: cannot list: %s", db->dir,
				    strerror(errno));
			break;
		}
		if (file_node(de->d_name, name)) {
			if (*n == NODEDB_MAX_NODES)
				*over = 1;
			else
				memcpy((*names)[(*n)++], name, sizeof name);
		} else if (clean && is_tmp(de->d_name) &&
		    unlinkat(db->fd, de->d_name, 0) != 0 && errno != ENOENT) {
			e = fail(db, NODEDB_ERR_IO, "%s/%s: cannot remove a leftover: %s",
			    db->dir, de->d_name, strerror(errno));
			break;
		}
	}
	(void)closedir(d);
	return e;
}

/* ---- one file ---------------------------------------------------------------- */

/*
 * read_desc - the file into buf (DESC_MAX_SIZE + 1 bytes), never following
 * a link; a regular file of at most DESC_MAX_SIZE bytes that group and
 * others cannot write. why receives the reason of RF_BAD and RF_IO.
 */
static enum rf
read_desc(int dfd, const char *file, char *buf, size_t *len, char why[WHY_MAX])
{
	enum rf r = RF_OK;
	struct stat sb;
	size_t got = 0;
	ssize_t n;
	int fd;

	*len = 0;
	if ((fd = openat(dfd, file, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)) < 0) {
		if (errno == ENOENT)
			return RF_MISSING;
		if (errno == ELOOP) {
			(void)snprintf(why, WHY_MAX, "is a symbolic link (never followed)");
			return RF_BAD;
		}
		(void)snprintf(why, WHY_MAX, "cannot open: %s", strerror(errno));
		return RF_IO;
	}
	if (fstat(fd, &sb) != 0) {
		(void)snprintf(why, WHY_MAX, "cannot stat: %s", strerror(errno));
		r = RF_IO;
	} else if (!S_ISREG(sb.st_mode)) {
		(void)snprintf(why, WHY_MAX, "not a regular file");
		r = RF_BAD;
	} else if ((sb.st_mode & 022) != 0) {
		(void)snprintf(why, WHY_MAX, "mode %04o lets group or others write it",
		    (unsigned)(sb.st_mode & 07777));
		r = RF_BAD;
	} else if (sb.st_size > DESC_MAX_SIZE) {
		(void)snprintf(why, WHY_MAX, "%jd bytes, more than a descriptor may have (%d)",
		    (intmax_t)sb.st_size, DESC_MAX_SIZE);
		r = RF_BAD;
	}
	/* Read one byte more than allowed: the file may grow after fstat. */
	while (r == RF_OK && got <= DESC_MAX_SIZE) {
		n = read(fd, buf + got, DESC_MAX_SIZE + 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			(void)snprintf(why, WHY_MAX, "cannot read: %s", strerror(errno));
			r = RF_IO;
		} else if (n == 0)
			break;
		else
			got += (size_t)n;
	}
	if (r == RF_OK && got > DESC_MAX_SIZE) {
		(void)snprintf(why, WHY_MAX, "more than a descriptor may have (%d bytes)",
		    DESC_MAX_SIZE);
		r = RF_BAD;
	}
	(void)close(fd);
	*len = got;
	return r;
}

/* write_desc - text durably under file: tmp, fsync, rename, fsync dir */
static enum nodedb_err
write_desc(struct db *db, const char *file, const char *text, size_t len)
{
	uint8_t rnd[TMP_HEX / 2];
	char hex[TMP_HEX + 1], tmp[TMP_NAME_LEN];
	int fd, saved;

	mcrypto_random(NULL, rnd, sizeof rnd);
	mcrypto_hex(hex, rnd, sizeof rnd);
	(void)snprintf(tmp, sizeof tmp, "%s%s", TMP_PREFIX, hex);
	fd = openat(db->fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return fail(db, NODEDB_ERR_IO, "%s/%s: cannot create: %s", db->dir, tmp,
		    strerror(errno));
	if (fchmod(fd, 0600) != 0 || fd_write_all(fd, text, len) != 0 || fsync(fd) != 0) {
		saved = errno;
		(void)close(fd);
		(void)unlinkat(db->fd, tmp, 0);
		return fail(db, NODEDB_ERR_IO, "%s/%s: cannot write: %s", db->dir, tmp,
		    strerror(saved));
	}
	if (close(fd) != 0 || renameat(db->fd, tmp, db->fd, file) != 0) {
		saved = errno;
		(void)unlinkat(db->fd, tmp, 0);
		return fail(db, NODEDB_ERR_IO, "%s/%s: cannot put in place: %s", db->dir, file,
		    strerror(saved));
	}
	if (fsync(db->fd) != 0)
		return fail(db, NODEDB_ERR_IO, "%s: cannot sync: %s", db->dir, strerror(errno));
	return NODEDB_OK;
}

/* ---- import ------------------------------------------------------------------ */

/* check_times - the rules on published and the key windows (nodedb.h) */
static enum nodedb_err
check_times(struct db *db, const struct descriptor *d, int64_t now)
{
	char a[TIME_TEXT], b[TIME_TEXT];
	int64_t last_until = 0, next_from = TIME_MAX;
	size_t i;

	if (d->published > now && d->published - now > NODEDB_SKEW)
		return fail(db, NODEDB_ERR_FUTURE, "node %s: published %s, more than a day after "
		    "now (%s): is a clock wrong?", d->name, utc(d->published, a), utc(now, b));
	for (i = 0; i < d->nkeys; i++) {
		if (d->keys[i].valid_until > last_until)
			last_until = d->keys[i].valid_until;
		if (d->keys[i].valid_from > now && d->keys[i].valid_from < next_from)
			next_from = d->keys[i].valid_from;
	}
	if (last_until <= now)
		return fail(db, NODEDB_ERR_EXPIRED, "node %s: every mix key has expired (the "
		    "last at %s)", d->name, utc(last_until, a));
	if (desc_key_usable(d, now) == NULL && next_from - now > NODEDB_SKEW)
		return fail(db, NODEDB_ERR_NOTYET, "node %s: no mix key is valid now and the "
		    "next becomes valid at %s, more than a day from now", d->name,
		    utc(next_from, a));
	return NODEDB_OK;
}

/* damaged - the refusal when the stored file of d's node cannot be trusted */
static enum nodedb_err
damaged(struct db *db, const struct descriptor *d, const char *file, const char *why)
{
	return fail(db, NODEDB_ERR_DAMAGED, "node %s: the stored %s/%s %s; to replace it, "
	    "forget node %s and import again", d->name, db->dir, file, why, d->name);
}

/* compare - d (text) against the stored descriptor buf of the same name */
static enum nodedb_err
compare(struct db *db, const struct descriptor *d, const char *text, size_t len,
    const char *file, const char *buf, size_t blen, enum nodedb_result *result)
{
	char why[WHY_MAX], a[TIME_TEXT], b[TIME_TEXT];
	char hex_old[2 * MCRYPTO_SIGN_PK_BYTES + 1], hex_new[2 * MCRYPTO_SIGN_PK_BYTES + 1];
	struct descriptor old;
	enum desc_err de;
	enum nodedb_err e;
	unsigned line;

	if ((de = desc_parse(buf, blen, &old, &line)) != DESC_OK) {
		(void)snprintf(why, sizeof why, "is not a valid descriptor (%s, line %u)",
		    desc_strerror(de), line);
		return damaged(db, d, file, why);
	}
	if (strcmp(old.name, d->name) != 0) {
		(void)snprintf(why, sizeof why, "holds node %s", old.name);
		return damaged(db, d, file, why);
	}
	if (memcmp(old.identity, d->identity, sizeof old.identity) != 0) {
		mcrypto_hex(hex_old, old.identity, sizeof old.identity);
		mcrypto_hex(hex_new, d->identity, sizeof d->identity);
		return fail(db, NODEDB_ERR_IDENTITY, "node %s: stored with identity key %s, this "
		    "descriptor has identity key %s; refused. If the node really has a new key, "
		    "forget node %s and import again", d->name, hex_old, hex_new, d->name);
	}
	if (blen == len && memcmp(buf, text, len) == 0) {
		*result = NODEDB_UNCHANGED;
		return NODEDB_OK;
	}
	if (d->published < old.published)
		return fail(db, NODEDB_ERR_OLDER, "node %s: this descriptor was published %s, "
		    "before the stored one (%s); keeping the stored one", d->name,
		    utc(d->published, a), utc(old.published, b));
	if (d->published == old.published)
		return fail(db, NODEDB_ERR_OLDER, "node %s: this descriptor differs from the "
		    "stored one but has the same publication time (%s); keeping the stored one",
		    d->name, utc(d->published, a));
	if ((e = write_desc(db, file, text, len)) == NODEDB_OK)
		*result = NODEDB_UPDATED;
	return e;
}

/* add_new - store d, a node not stored yet, unless the directory is full */
static enum nodedb_err
add_new(struct db *db, const struct descriptor *d, const char *text, size_t len,
    const char *file, enum nodedb_result *result)
{
	char (*names)[DESC_NAME_MAX + 1];
	enum nodedb_err e;
	size_t n;
	int over;

	e = list_nodes(db, 1, &names, &n, &over);
	mem_free(names);
	if (e != NODEDB_OK)
		return e;
	if (over || n >= NODEDB_MAX_NODES)
		return fail(db, NODEDB_ERR_TOOMANY, "node %s: %s already holds %d nodes, the most "
		    "it may hold", d->name, db->dir, NODEDB_MAX_NODES);
	if ((e = write_desc(db, file, text, len)) == NODEDB_OK)
		*result = NODEDB_NEW;
	return e;
}

enum nodedb_err
nodedb_import(const char *dir, const char *text, size_t len, int64_t now,
    enum nodedb_result *result, struct descriptor *out, char *err, size_t errlen)
{
	struct db db = { dir, -1, err, errlen };
	char file[FILE_MAX], why[WHY_MAX], *buf;
	struct descriptor d;
	enum nodedb_err e;
	enum desc_err de;
	unsigned line;
	size_t blen;

	check_now(now);
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if ((de = desc_parse(text, len, &d, &line)) != DESC_OK) {
		if (line > 0)
			return fail(&db, NODEDB_ERR_INVALID, "not a valid descriptor: %s (line %u)",
			    desc_strerror(de), line);
		return fail(&db, NODEDB_ERR_INVALID, "not a valid descriptor: %s",
		    desc_strerror(de));
	}
	if (out != NULL)
		*out = d;
	if ((e = check_times(&db, &d, now)) != NODEDB_OK)
		return e;
	if ((e = dir_open(&db, 1, LOCK_EX)) != NODEDB_OK)
		return e == NODEDB_ERR_UNKNOWN ? fail(&db, NODEDB_ERR_IO,
		    "%s: vanished after it was made", dir) : e;
	node_file(file, d.name);
	buf = mem_alloc(DESC_MAX_SIZE + 1);
	switch (read_desc(db.fd, file, buf, &blen, why)) {
	case RF_OK:
		e = compare(&db, &d, text, len, file, buf, blen, result);
		break;
	case RF_MISSING:
		e = add_new(&db, &d, text, len, file, result);
		break;
	case RF_BAD:
		e = damaged(&db, &d, file, why);
		break;
	case RF_IO:
	default:
		e = fail(&db, NODEDB_ERR_IO, "node %s: %s/%s: %s", d.name, dir, file, why);
		break;
	}
	mem_free(buf);
	dir_close(&db);
	return e;
}

/* ---- load and forget --------------------------------------------------------- */

static int
by_name(const void *a, const void *b)
{
	return strcmp(((const struct descriptor *)a)->name, ((const struct descriptor *)b)->name);
}

/* load_one - the stored node name into *d; 0, or -1 with the reason in why */
static int
load_one(struct db *db, const char *name, int64_t now, char *buf, struct descriptor *d,
    char why[WHY_MAX])
{
	char file[FILE_MAX], a[TIME_TEXT];
	enum desc_err de;
	unsigned line;
	size_t blen;

	node_file(file, name);
	switch (read_desc(db->fd, file, buf, &blen, why)) {
	case RF_OK:
		break;
	case RF_MISSING:
		(void)snprintf(why, WHY_MAX, "vanished while loading");
		return -1;
	case RF_BAD:
	case RF_IO:
	default:
		return -1;
	}
	if ((de = desc_parse(buf, blen, d, &line)) != DESC_OK) {
		(void)snprintf(why, WHY_MAX, "not a valid descriptor: %s (line %u)",
		    desc_strerror(de), line);
		return -1;
	}
	if (strcmp(d->name, name) != 0) {
		(void)snprintf(why, WHY_MAX, "holds node %s, not %s", d->name, name);
		return -1;
	}
	if (d->published > now && d->published - now > NODEDB_SKEW) {
		(void)snprintf(why, WHY_MAX, "published %s, more than a day after now: is the "
		    "clock right?", utc(d->published, a));
		return -1;
	}
	return 0;
}

enum nodedb_err
nodedb_load(const char *dir, int64_t now, struct descriptor **nodes, size_t *count,
    nodedb_skip_fn *skip, void *arg, char *err, size_t errlen)
{
	struct db db = { dir, -1, err, errlen };
	char (*names)[DESC_NAME_MAX + 1] = NULL;
	char file[FILE_MAX], why[WHY_MAX], *buf;
	struct descriptor *out;
	enum nodedb_err e;
	size_t n, i, k = 0;
	int over;

	check_now(now);
	*nodes = NULL;
	*count = 0;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if ((e = dir_open(&db, 0, LOCK_SH)) != NODEDB_OK)
		return e == NODEDB_ERR_UNKNOWN ? NODEDB_OK : e;	/* nothing imported yet */
	if ((e = list_nodes(&db, 0, &names, &n, &over)) == NODEDB_OK && over)
		e = fail(&db, NODEDB_ERR_TOOMANY, "%s: more than %d node files", dir,
		    NODEDB_MAX_NODES);
	if (e != NODEDB_OK) {
		mem_free(names);
		dir_close(&db);
		return e;
	}
	out = mem_calloc(n > 0 ? n : 1, sizeof *out);
	buf = mem_alloc(DESC_MAX_SIZE + 1);
	for (i = 0; i < n; i++) {
		if (load_one(&db, names[i], now, buf, &out[k], why) == 0)
			k++;
		else if (skip != NULL) {
			node_file(file, names[i]);
			skip(arg, file, why);
		}
	}
	dir_close(&db);
	mem_free(buf);
	mem_free(names);
	qsort(out, k, sizeof *out, by_name);
	*nodes = out;
	*count = k;
	return NODEDB_OK;
}

void
nodedb_free(struct descriptor *nodes)
{
	mem_free(nodes);
}

enum nodedb_err
nodedb_forget(const char *dir, const char *name, char *err, size_t errlen)
{
	struct db db = { dir, -1, err, errlen };
	char file[FILE_MAX];
	enum nodedb_err e = NODEDB_OK;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (!nodedb_name_valid(name))
		return fail(&db, NODEDB_ERR_NAME, "not a node name (1 to %d of a-z, 0-9 and -)",
		    DESC_NAME_MAX);
	if ((e = dir_open(&db, 0, LOCK_EX)) != NODEDB_OK)
		return e == NODEDB_ERR_UNKNOWN ? fail(&db, NODEDB_ERR_UNKNOWN,
		    "no node %s is stored (%s does not exist)", name, dir) : e;
	node_file(file, name);
	if (unlinkat(db.fd, file, 0) != 0)
		e = errno == ENOENT ?
		    fail(&db, NODEDB_ERR_UNKNOWN, "no node %s is stored in %s", name, dir) :
		    fail(&db, NODEDB_ERR_IO, "%s/%s: cannot remove: %s", dir, file,
		    strerror(errno));
	else if (fsync(db.fd) != 0)
		e = fail(&db, NODEDB_ERR_IO, "%s: cannot sync: %s", dir, strerror(errno));
	dir_close(&db);
	return e;
}

const char *
nodedb_strerror(enum nodedb_err e)
{
	switch (e) {
	case NODEDB_OK:			return "ok";
	case NODEDB_ERR_IO:		return "node directory not readable or writable";
	case NODEDB_ERR_PERM:		return "node directory not ours or open to writers";
	case NODEDB_ERR_INVALID:	return "not a valid signed descriptor";
	case NODEDB_ERR_FUTURE:		return "descriptor published in the future";
	case NODEDB_ERR_EXPIRED:	return "every mix key has expired";
	case NODEDB_ERR_NOTYET:		return "no mix key valid now or soon";
	case NODEDB_ERR_OLDER:		return "not newer than the stored descriptor";
	case NODEDB_ERR_IDENTITY:	return "node stored with another identity key";
	case NODEDB_ERR_DAMAGED:	return "stored descriptor damaged";
	case NODEDB_ERR_TOOMANY:	return "too many nodes";
	case NODEDB_ERR_NAME:		return "not a node name";
	case NODEDB_ERR_UNKNOWN:	return "no such node";
	}
	return "unknown error";
}

const char *
nodedb_result_name(enum nodedb_result r)
{
	switch (r) {
	case NODEDB_NEW:	return "new";
	case NODEDB_UPDATED:	return "updated";
	case NODEDB_UNCHANGED:	return "unchanged";
	}
	return "unknown";
}
