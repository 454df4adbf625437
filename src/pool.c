/*
 * pool.c - the node's pool of packets waiting to be mixed (pool.h).
 *
 * doc/INTERNALS.md is the contract: the entry format is section 2, the
 * commit is steps 4-10 of section 3, and every state the commit passes
 * through is a row of section 4's table. In short, pool_commit():
 *
 *   tmp/t.<random>   written, times set to 0, fsync'd        (R2)
 *   replay lock      bounded wait; a recorded tag: drop      (R3)
 *   link into pool/<name>, EEXIST is an earlier attempt      (R4)
 *   fsync(pool/)                                             (R5)
 *   replay_insert    durable, or left to write-back when the
 *                    caller opened rc with REPLAY_NO_SYNC    (R6)
 *   unlock, unlink the tmp file                              -> COMMITTED
 *
 * Once the entry is linked into pool/ no error path removes it again: a
 * flush may already have picked it and recorded its tag (state F2), and
 * removing it then would lose the packet. The entry is complete (its bytes
 * were synced before the link), so a failure after the link leaves state
 * R4 or R5, which the MTA's retry finishes with EEXIST.
 *
 * The entry's access and modification times are set to 0 on the tmp file,
 * before the link, so that no entry is ever visible in pool/ with its
 * arrival time (a link or unlink changes only the inode's ctime, which no
 * process can set).
 *
 * All names are resolved against directory descriptors opened once by
 * pool_open(), so the spool's path is looked up only there.
 *
 * Functions: pool_entry_encode(), pool_entry_decode(), pool_open(),
 * pool_close(), pool_name(), pool_commit(), pool_list(), pool_list_free(),
 * pool_read(), pool_quarantine(), pool_list_at(), pool_read_at(),
 * pool_keep_at(), pool_name_valid(), pool_strerror().
 *
 * Diagnostics: none; every failure is a result (errno kept for
 * POOL_ERR_IO). Nothing here logs a name, a tag or an address.
 */
#define _GNU_SOURCE		/* O_NOATIME */
#include <config.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bytes.h"
#include "fdio.h"
#include "mcrypto.h"
#include "mem.h"
#include "pkt.h"
#include "pool.h"
#include "replay.h"

/* Entry fields (doc/INTERNALS.md section 2), big-endian */
#define E_MAGIC		0	/* 8 */
#define E_KIND		8	/* 1 */
#define E_RESERVED	9	/* 3, zero */
#define E_TAG		12	/* 32 */
#define E_DUE		44	/* 8 */
#define E_RETRY		52	/* 4 */
#define E_NOT_BEFORE	56	/* 8 */
#define E_ADDR_LEN	64	/* 1 */
#define E_ADDR		65	/* a; then data length (4), data (d), sum (32) */
#define E_DLEN_SIZE	4
#define E_MIN		(POOL_HEAD_SIZE + E_DLEN_SIZE + POOL_SUM_SIZE)	/* 101 */

_Static_assert(E_ADDR == POOL_HEAD_SIZE, "the head ends where the address starts");
_Static_assert(sizeof POOL_MAGIC - 1 == 8, "the magic is 8 bytes");
_Static_assert(PKT_ADDR_MAX <= 255, "the address length is one byte");
_Static_assert(PKT_BODY_MAX < PKT_SIZE, "a deliver entry is never larger than a forward one");

#define NAMES_KEY_SIZE	32
#define TMP_PREFIX	"t."
#define TMP_RANDOM	16	/* bytes of randomness in a tmp name */
#define TMP_NAME_SIZE	POOL_TMP_NAME_SIZE
_Static_assert(sizeof TMP_PREFIX - 1 + 2 * TMP_RANDOM + 1 == POOL_TMP_NAME_SIZE, "tmp names");
#define ALT_RANDOM	4	/* quarantine: suffix when corrupt/<name> exists */
#define ALT_TRIES	8

struct pool {
	int tmp_fd;		/* SPOOL/tmp */
	int pool_fd;		/* SPOOL/pool */
	int corrupt_fd;		/* SPOOL/corrupt */
	uint8_t *names_key;	/* k_names, in secret memory */
};

/* ---- the entry format ----------------------------------------------------- */

/*
 * fields_valid - the rules of section 2 that do not depend on the bytes:
 * forward and dummy (made here, to be sent like a forward): a valid
 * next-hop address and one whole packet; deliver: no address, a body of
 * at most PKT_BODY_MAX bytes; times not before the epoch.
 */
static int
fields_valid(enum pool_kind kind, const char *addr, size_t addr_len, const uint8_t *data,
    size_t data_len, int64_t due, int64_t not_before)
{
	if (due < 0 || not_before < 0)
		return 0;
	if (data_len > 0 && data == NULL)
		return 0;
	switch (kind) {
	case POOL_FORWARD:
	case POOL_DUMMY:
		return pkt_addr_valid(addr, addr_len) && data_len == PKT_SIZE;
	case POOL_DELIVER:
		return addr_len == 0 && data_len <= PKT_BODY_MAX;
	}
	return 0;
}

enum pool_err
pool_entry_encode(const struct pool_entry *e, uint8_t *out, size_t *len)
{
	size_t a, off;

	a = strnlen(e->addr, sizeof e->addr);
	if (a > PKT_ADDR_MAX ||
	    !fields_valid(e->kind, e->addr, a, e->data, e->data_len, e->due, e->not_before))
		return POOL_ERR_ARG;
	memcpy(out + E_MAGIC, POOL_MAGIC, 8);
	out[E_KIND] = (uint8_t)e->kind;
	memset(out + E_RESERVED, 0, 3);
	memcpy(out + E_TAG, e->tag, PKT_REPLAY_TAG_SIZE);
	put_be64(out + E_DUE, (uint64_t)e->due);
	put_be32(out + E_RETRY, e->retry);
	put_be64(out + E_NOT_BEFORE, (uint64_t)e->not_before);
	out[E_ADDR_LEN] = (uint8_t)a;
	memcpy(out + E_ADDR, e->addr, a);
	off = E_ADDR + a;
	put_be32(out + off, (uint32_t)e->data_len);
	off += E_DLEN_SIZE;
	if (e->data_len > 0)
		memcpy(out + off, e->data, e->data_len);
	off += e->data_len;
	mcrypto_hash(out + off, POOL_SUM_SIZE, NULL, 0, out, off);
	*len = off + POOL_SUM_SIZE;
	return POOL_OK;
}

/*
 * pool_entry_decode - the lengths first (each checked before it is used
 * in an offset), then the checksum over everything before it, then the
 * fields. Nothing is read at or past len.
 */
enum pool_err
pool_entry_decode(const uint8_t *buf, size_t len, struct pool_entry *e)
{
	uint8_t sum[POOL_SUM_SIZE];
	uint64_t due, not_before;
	size_t a, d, body;
	int kind;

	memset(e, 0, sizeof *e);
	if (len < E_MIN || memcmp(buf + E_MAGIC, POOL_MAGIC, 8) != 0)
		return POOL_ERR_FORMAT;
	a = buf[E_ADDR_LEN];
	if (a > PKT_ADDR_MAX || len < E_MIN + a)
		return POOL_ERR_FORMAT;
	d = get_be32(buf + E_ADDR + a);
	if (d > PKT_SIZE || len != E_MIN + a + d)
		return POOL_ERR_FORMAT;
	body = E_ADDR + a + E_DLEN_SIZE + d;		/* = len - POOL_SUM_SIZE */
	mcrypto_hash(sum, sizeof sum, NULL, 0, buf, body);
	if (!mcrypto_equal(sum, buf + body, sizeof sum))
		return POOL_ERR_FORMAT;

	kind = buf[E_KIND];
	if (kind < POOL_FORWARD || kind > POOL_DUMMY ||
	    buf[E_RESERVED] != 0 || buf[E_RESERVED + 1] != 0 || buf[E_RESERVED + 2] != 0)
		return POOL_ERR_FORMAT;
	due = get_be64(buf + E_DUE);
	not_before = get_be64(buf + E_NOT_BEFORE);
	if (due > INT64_MAX || not_before > INT64_MAX)
		return POOL_ERR_FORMAT;
	/* a NUL inside the address is refused by pkt_addr_valid, or a is 0 */
	if (!fields_valid((enum pool_kind)kind, (const char *)buf + E_ADDR, a,
	    buf + E_ADDR + a + E_DLEN_SIZE, d, (int64_t)due, (int64_t)not_before))
		return POOL_ERR_FORMAT;

	e->kind = (enum pool_kind)kind;
	memcpy(e->tag, buf + E_TAG, PKT_REPLAY_TAG_SIZE);
	e->due = (int64_t)due;
	e->retry = get_be32(buf + E_RETRY);
	e->not_before = (int64_t)not_before;
	memcpy(e->addr, buf + E_ADDR, a);
	e->addr[a] = '\0';
	e->data = buf + E_ADDR + a + E_DLEN_SIZE;
	e->data_len = d;
	return POOL_OK;
}

/* ---- small helpers --------------------------------------------------------- */

/* name_valid - exactly POOL_NAME_LEN lower-case hex digits */
int
pool_name_valid(const char *s)
{
	size_t i;

	for (i = 0; i < POOL_NAME_LEN; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return s[POOL_NAME_LEN] == '\0';
}

static enum pool_err
replay_to_pool(enum replay_status st)
{
	switch (st) {
	case REPLAY_BUSY:
		return POOL_ERR_LOCK;
	case REPLAY_ERR_IO:
		return POOL_ERR_IO;
	default:
		return POOL_ERR_REPLAY;
	}
}

/* ---- open, close, names ------------------------------------------------------ */

static int
open_dir(int at, const char *name)
{
	return openat(at, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

enum pool_err
pool_open(struct pool **out, const char *spool, const uint8_t names_key[32])
{
	struct pool *p;
	int spool_fd, saved;

	*out = NULL;
	if ((spool_fd = open(spool, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return POOL_ERR_IO;
	p = mem_alloc(sizeof *p);
	p->tmp_fd = open_dir(spool_fd, "tmp");
	p->pool_fd = p->tmp_fd < 0 ? -1 : open_dir(spool_fd, "pool");
	p->corrupt_fd = p->pool_fd < 0 ? -1 : open_dir(spool_fd, "corrupt");
	saved = errno;
	(void)close(spool_fd);
	if (p->corrupt_fd < 0) {
		if (p->pool_fd >= 0)
			(void)close(p->pool_fd);
		if (p->tmp_fd >= 0)
			(void)close(p->tmp_fd);
		mem_free(p);
		errno = saved;
		return POOL_ERR_IO;
	}
	p->names_key = mcrypto_secret_alloc(NAMES_KEY_SIZE);
	memcpy(p->names_key, names_key, NAMES_KEY_SIZE);
	*out = p;
	return POOL_OK;
}

void
pool_close(struct pool *p)
{
	if (p == NULL)
		return;
	(void)close(p->tmp_fd);
	(void)close(p->pool_fd);
	(void)close(p->corrupt_fd);
	mcrypto_secret_free(p->names_key);
	mem_free(p);
}

void
pool_name(const struct pool *p, const uint8_t tag[PKT_REPLAY_TAG_SIZE],
    char name[POOL_NAME_LEN + 1])
{
	uint8_t mac[MCRYPTO_HASH_BYTES];

	mcrypto_hash(mac, sizeof mac, p->names_key, NAMES_KEY_SIZE, tag, PKT_REPLAY_TAG_SIZE);
	mcrypto_hex(name, mac, POOL_NAME_LEN / 2);
	mcrypto_wipe(mac, sizeof mac);
}

/* ---- commit -------------------------------------------------------------------- */

/* write_tmp - step 4: tmp/t.<random> (pool_tmp_at) */
static enum pool_err
write_tmp(struct pool *p, const uint8_t *buf, size_t len, char name[TMP_NAME_SIZE])
{
	return pool_tmp_at(p->tmp_fd, TMP_PREFIX, buf, len, name);
}

enum pool_err
pool_tmp_at(int tmp_fd, const char *prefix, const uint8_t *buf, size_t len,
    char name[POOL_TMP_NAME_SIZE])
{
	static const struct timespec epoch[2] = { { 0, 0 }, { 0, 0 } };
	uint8_t rnd[TMP_RANDOM];
	int fd, ok, saved;

	if (strlen(prefix) != 2) {
		errno = EINVAL;
		return POOL_ERR_ARG;
	}
	mcrypto_random(NULL, rnd, sizeof rnd);
	memcpy(name, prefix, 2);
	mcrypto_hex(name + 2, rnd, sizeof rnd);
	fd = openat(tmp_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return POOL_ERR_IO;
	/* fchmod: 0600 whatever the umask */
	ok = fchmod(fd, 0600) == 0 && fd_write_all(fd, buf, len) == 0;
	/* times 0 (section 1.1); a failure here costs privacy, not the packet */
	if (ok)
		(void)futimens(fd, epoch);
	ok = ok && fd_fsync(fd) == 0;
	saved = errno;
	if (close(fd) != 0 && ok) {
		ok = 0;
		saved = errno;
	}
	if (!ok) {
		(void)unlinkat(tmp_fd, name, 0);
		errno = saved;
		return POOL_ERR_IO;
	}
	return POOL_OK;
}

enum pool_err
pool_commit(struct pool *p, const struct pool_entry *e, struct replay *rc,
    unsigned lock_timeout_ms)
{
	char tmp[TMP_NAME_SIZE], name[POOL_NAME_LEN + 1];
	enum replay_status st;
	enum pool_err err;
	uint8_t *buf;
	size_t len;
	int have_tmp = 0, locked = 0, saved;

	buf = mem_alloc(POOL_ENTRY_MAX);
	if ((err = pool_entry_encode(e, buf, &len)) != POOL_OK)
		goto out;
	/* step 4 (R2) */
	if ((err = write_tmp(p, buf, len, tmp)) != POOL_OK)
		goto out;
	have_tmp = 1;
	/* step 5 (R3) */
	if ((st = replay_lock(rc, lock_timeout_ms)) != REPLAY_OK) {
		err = replay_to_pool(st);
		goto out;
	}
	locked = 1;
	/* step 6 */
	st = replay_contains(rc, e->tag);
	if (st != REPLAY_NEW) {
		err = st == REPLAY_SEEN ? POOL_REPLAY : replay_to_pool(st);
		goto out;
	}
	/* step 7 (R4): EEXIST is this packet, linked by an attempt that crashed */
	pool_name(p, e->tag, name);
	if (linkat(p->tmp_fd, tmp, p->pool_fd, name, 0) != 0 && errno != EEXIST) {
		err = POOL_ERR_IO;
		goto out;
	}
	/* step 8 (R5); from here on the entry stays in pool/ whatever happens */
	if (fd_fsync(p->pool_fd) != 0) {
		err = POOL_ERR_IO;
		goto out;
	}
	/*
	 * Step 9 (R6): SEEN cannot happen under the lock, but would be as
	 * good. The hook opens rc with REPLAY_NO_SYNC: a record lost to a
	 * power failure is R5 again, which the entry's name already covers
	 * (doc/INTERNALS.md, section 3, step 9).
	 */
	st = replay_insert(rc, e->tag);
	if (st != REPLAY_NEW && st != REPLAY_SEEN) {
		err = replay_to_pool(st);
		goto out;
	}
	err = POOL_COMMITTED;
out:
	/*
	 * Step 10. After a successful insert the commit is durable whatever
	 * the unlock or the unlink says: a stray tmp file is removed by a
	 * later flush (R2), and replay_unlock only rewrites the count hint.
	 */
	saved = errno;
	if (locked)
		(void)replay_unlock(rc);
	if (have_tmp)
		(void)unlinkat(p->tmp_fd, tmp, 0);
	mcrypto_wipe(buf, POOL_ENTRY_MAX);
	mem_free(buf);
	errno = saved;
	return err;
}

/* ---- listing, reading, quarantine -------------------------------------------- */

void
pool_list_free(char **names, size_t n)
{
	size_t i;

	if (names == NULL)
		return;
	for (i = 0; i < n; i++)
		mem_free(names[i]);
	mem_free(names);
}

enum pool_err
pool_list(struct pool *p, char ***names, size_t *n)
{
	return pool_list_at(p->pool_fd, names, n);
}

enum pool_err
pool_list_at(int dfd, char ***names, size_t *n)
{
	struct dirent *de;
	char **v;
	size_t cap = 16, k = 0;
	DIR *d;
	int fd, saved;

	*names = NULL;
	*n = 0;
	/* a descriptor of its own: fdopendir takes it, and reads from the start */
	if ((fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
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
 * pool_read - anything under a well-formed name that is not a regular file
 * of at most POOL_ENTRY_MAX bytes holding a valid entry is POOL_ERR_FORMAT,
 * for the caller to quarantine. O_NONBLOCK: a FIFO must not hang the flush.
 */
enum pool_err
pool_read(struct pool *p, const char *name, uint8_t *buf, size_t *len,
    struct pool_entry *e)
{
	return pool_read_at(p->pool_fd, name, buf, len, e);
}

/*
 * open_noatime - a read must not set the entry's access time (section
 * 1.1); O_NOATIME needs the file's owner, which the node's user is: fall
 * back to a plain open (EPERM) rather than fail.
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
pool_read_at(int dfd, const char *name, uint8_t *buf, size_t *len, struct pool_entry *e)
{
	struct stat sb;
	enum pool_err err = POOL_OK;
	size_t got = 0;
	uint8_t extra;
	ssize_t r;
	int fd, saved;

	*len = 0;
	if (!pool_name_valid(name)) {
		errno = EINVAL;
		return POOL_ERR_ARG;
	}
	if ((fd = open_noatime(dfd, name)) < 0)
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
	/* the file may have grown since fstat: one byte more is too long */
	while (err == POOL_OK && got == POOL_ENTRY_MAX) {
		r = read(fd, &extra, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			err = POOL_ERR_IO;
		else if (r > 0)
			err = POOL_ERR_FORMAT;
		break;
	}
	saved = errno;
	(void)close(fd);
	errno = saved;
	if (err != POOL_OK)
		return err;
	*len = got;
	return pool_entry_decode(buf, got, e);
}

/* same_file - whether two names (dirfd, name) are links of one inode */
static int
same_file(int dfd1, const char *n1, int dfd2, const char *n2)
{
	struct stat a, b;

	return fstatat(dfd1, n1, &a, AT_SYMLINK_NOFOLLOW) == 0 &&
	    fstatat(dfd2, n2, &b, AT_SYMLINK_NOFOLLOW) == 0 &&
	    a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/*
 * pool_keep_at - link from/<name> into to/ (link(2) never replaces, so an
 * earlier file of the same name there is kept: this one then gets a
 * random suffix), sync to/, unlink from/<name>. A crash between the steps
 * leaves the entry in both directories; the next call finds the same
 * inode and only unlinks. The caller syncs from/.
 */
enum pool_err
pool_keep_at(int from, int to, const char *name)
{
	char alt[POOL_NAME_LEN + 1 + 2 * ALT_RANDOM + 1];
	uint8_t rnd[ALT_RANDOM];
	const char *dst = name;
	int tries = 0;

	if (!pool_name_valid(name)) {
		errno = EINVAL;
		return POOL_ERR_ARG;
	}
	while (linkat(from, name, to, dst, 0) != 0) {
		if (errno != EEXIST || ++tries > ALT_TRIES)
			return POOL_ERR_IO;
		if (same_file(from, name, to, dst))
			break;
		mcrypto_random(NULL, rnd, sizeof rnd);
		memcpy(alt, name, POOL_NAME_LEN);
		alt[POOL_NAME_LEN] = '.';
		mcrypto_hex(alt + POOL_NAME_LEN + 1, rnd, sizeof rnd);
		dst = alt;
	}
	if (fd_fsync(to) != 0)
		return POOL_ERR_IO;
	if (unlinkat(from, name, 0) != 0 && errno != ENOENT)
		return POOL_ERR_IO;
	return POOL_OK;
}

/* pool_quarantine - pool/<name> kept in corrupt/ (C1), both synced */
enum pool_err
pool_quarantine(struct pool *p, const char *name)
{
	enum pool_err err = pool_keep_at(p->pool_fd, p->corrupt_fd, name);

	if (err == POOL_OK && fd_fsync(p->pool_fd) != 0)
		return POOL_ERR_IO;
	return err;
}

const char *
pool_strerror(enum pool_err e)
{
	switch (e) {
	case POOL_OK:		return "ok";
	case POOL_COMMITTED:	return "committed to the pool";
	case POOL_REPLAY:	return "replay tag already recorded";
	case POOL_ERR_FORMAT:	return "not a valid pool entry";
	case POOL_ERR_ARG:	return "invalid pool entry or argument";
	case POOL_ERR_IO:	return "pool I/O error";
	case POOL_ERR_LOCK:	return "replay cache lock not obtained in time";
	case POOL_ERR_REPLAY:	return "replay cache failed";
	}
	return "unknown pool error";
}
