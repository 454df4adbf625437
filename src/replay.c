/*
 * replay.c - the replay cache: a fixed-size hash file of self-checking
 * slots, one per mix key, shared by concurrent processes under flock(2).
 *
 * The file (doc/replay-cache-format.md has it byte by byte):
 *
 *   [0, 4096)        header page: magic, version, parameters, the 32-byte
 *                    hash key and a BLAKE2b checksum; written once, at
 *                    creation, and never again (so never torn later)
 *   [4096, 8192)     count page: the tag count with its own check, a hint
 *                    rewritten by every insert
 *   [8192, ...)      nslots slots of 16 bytes: a 12-byte fingerprint and a
 *                    4-byte check over fingerprint and position
 *
 * A tag's home slot and fingerprint come from BLAKE2b keyed with the file's
 * random hash key, so senders, who know their packets' tags, cannot aim
 * tags at one cluster. Collisions are resolved by linear probing. A slot is
 * empty (all zero), valid (its check holds) or torn (neither: a write that
 * a crash cut short). Lookups pass over torn slots and stop at the first
 * empty one; an insert reuses the first torn or empty slot on its path.
 * Slots are never rewritten once valid and there is no deletion: the cache
 * lives and dies with its key.
 *
 * All I/O is pread/pwrite, so that a full disk or a read error is a
 * returned error, never a SIGBUS as with a shared mapping.
 *
 * Functions: replay_open(), replay_close(), replay_lock(), replay_unlock(),
 * replay_contains(), replay_insert(), replay_sync(), replay_check_insert(),
 * replay_count(), replay_capacity(), replay_scan(), replay_unlink(),
 * replay_file_size(), replay_strerror().
 *
 * Diagnostics: msg_warn() says why a header was rejected; nothing else is
 * logged (the caller reports results), and nothing here exits.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bytes.h"
#include "log.h"
#include "mcrypto.h"
#include "mem.h"
#include "replay.h"

/* Header fields (page 0), little-endian */
#define H_MAGIC		0	/* 8: REPLAY_MAGIC */
#define H_VERSION	8	/* 4: REPLAY_VERSION */
#define H_HDRSIZE	12	/* 4: REPLAY_HEADER_SIZE */
#define H_SLOTSIZE	16	/* 4: REPLAY_SLOT_SIZE */
#define H_FPSIZE	20	/* 4: REPLAY_FP_SIZE */
#define H_NSLOTS	24	/* 8: power of two */
#define H_CAPACITY	32	/* 8: nslots * 3 / 4 */
#define H_HASHALG	40	/* 4: HASH_ALG_BLAKE2B */
#define H_RESERVED	44	/* 4: zero */
#define H_HASHKEY	48	/* 32: random, per file */
#define H_SUM		80	/* 32: BLAKE2b-256 of bytes [0, 80) */
#define H_END		112	/* bytes [112, 4096) are zero */
#define PAGE		4096
/* The count record (page 1) */
#define C_OFF		4096	/* 8: tags inserted */
#define C_CHECK		4104	/* 8: count_check(count) */
#define C_LEN		16

#define HASH_ALG_BLAKE2B 1
#define HASH_KEY_SIZE	32
#define HASH_OUT_SIZE	20	/* 8 bytes for the home slot, 12 for the fingerprint */

#define BUF_SIZE	65536	/* scans, creation, and probe windows */
#define WINDOW_SLOTS	32	/* one probe read: 512 bytes */
#define LOCK_NAP_MIN_US	50	/* lock polling: first nap ... */
#define LOCK_NAP_MAX_US	1000	/* ... doubling up to this */

/* Constants of the slot and count checks (arbitrary odd numbers) */
#define CHECK_SALT	0x6d69786d61696c31ULL	/* "mixmail1" */
#define COUNT_SALT	0x636f756e74726563ULL	/* "countrec" */

struct replay {
	int fd;
	unsigned flags;
	int locked;		/* this handle holds the flock */
	int pending;		/* writes since the last fdatasync */
	int count_dirty;	/* count not yet written to the file */
	uint64_t nslots;
	uint64_t mask;		/* nslots - 1 */
	uint64_t capacity;
	uint64_t count;		/* valid while locked */
	uint8_t hkey[HASH_KEY_SIZE];
	uint8_t buf[BUF_SIZE];
};

enum slot_state {
	SLOT_EMPTY,
	SLOT_VALID,
	SLOT_TORN
};

/* ---- checks -------------------------------------------------------------- */

/* mix64 - the SplitMix64 finaliser: a bijection that spreads every bit */
static uint64_t
mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

/*
 * slot_check - the 4-byte check of a slot holding fp at position pos. It
 * only has to catch torn writes (not an adversary: the fingerprint is
 * already a keyed hash), so a fast mix will do; pos makes a slot written
 * to the wrong place fail too.
 */
static uint32_t
slot_check(const uint8_t fp[REPLAY_FP_SIZE], uint64_t pos)
{
	uint64_t x = mix64(get_le64(fp) ^ CHECK_SALT);

	x = mix64(x ^ get_le32(fp + 8) ^ (pos << 32));
	return (uint32_t)(x >> 32);
}

static uint64_t
count_check(uint64_t count)
{
	return mix64(count ^ COUNT_SALT);
}

static enum slot_state
slot_state(const uint8_t *s, uint64_t pos)
{
	if (get_le64(s) == 0 && get_le64(s + 8) == 0)
		return SLOT_EMPTY;
	if (get_le32(s + REPLAY_FP_SIZE) == slot_check(s, pos))
		return SLOT_VALID;
	return SLOT_TORN;
}

/* ---- I/O that retries EINTR and short transfers --------------------------- */

static uint64_t
slot_off(uint64_t pos)
{
	return REPLAY_HEADER_SIZE + pos * REPLAY_SLOT_SIZE;
}

/* io_read - exactly len bytes at off; end of file is corruption (truncated) */
static enum replay_status
io_read(int fd, void *buf, size_t len, uint64_t off)
{
	uint8_t *p = buf;
	ssize_t n;

	while (len > 0) {
		n = pread(fd, p, len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return REPLAY_ERR_IO;
		if (n == 0)
			return REPLAY_ERR_CORRUPT;
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return REPLAY_OK;
}

static enum replay_status
io_write(int fd, const void *buf, size_t len, uint64_t off)
{
	const uint8_t *p = buf;
	ssize_t n;

	while (len > 0) {
		n = pwrite(fd, p, len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return REPLAY_ERR_IO;
		if (n == 0) {
			errno = EIO;
			return REPLAY_ERR_IO;
		}
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return REPLAY_OK;
}

/* fsync_dir - sync the directory that holds path (after link or unlink) */
static enum replay_status
fsync_dir(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir;
	int fd, ret, saved;

	if (slash == NULL)
		dir = mem_strdup(".");
	else if (slash == path)
		dir = mem_strdup("/");
	else {
		dir = mem_alloc((size_t)(slash - path) + 1);
		memcpy(dir, path, (size_t)(slash - path));
		dir[slash - path] = '\0';
	}
	fd = open(dir, O_RDONLY | O_CLOEXEC);
	mem_free(dir);
	if (fd < 0)
		return REPLAY_ERR_IO;
	ret = fsync(fd);
	saved = errno;
	(void)close(fd);
	errno = saved;
	return ret == 0 ? REPLAY_OK : REPLAY_ERR_IO;
}

/* lock_fd - flock(LOCK_EX) with a deadline, polling with growing naps */
static enum replay_status
lock_fd(int fd, unsigned timeout_ms)
{
	struct timespec t0, t, nap;
	int64_t waited_us, limit_us = (int64_t)timeout_ms * 1000, nap_us = LOCK_NAP_MIN_US;

	if (clock_gettime(CLOCK_MONOTONIC, &t0) != 0)
		return REPLAY_ERR_IO;
	for (;;) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return REPLAY_OK;
		if (errno == EINTR)
			continue;
		if (errno != EWOULDBLOCK)
			return REPLAY_ERR_IO;
		if (clock_gettime(CLOCK_MONOTONIC, &t) != 0)
			return REPLAY_ERR_IO;
		waited_us = (int64_t)(t.tv_sec - t0.tv_sec) * 1000000 +
		    (int64_t)(t.tv_nsec - t0.tv_nsec) / 1000;
		if (waited_us >= limit_us)
			return REPLAY_BUSY;
		if (nap_us > limit_us - waited_us)
			nap_us = limit_us - waited_us;
		nap.tv_sec = (time_t)(nap_us / 1000000);
		nap.tv_nsec = (long)(nap_us % 1000000) * 1000;
		(void)nanosleep(&nap, NULL);	/* EINTR: just try again */
		nap_us = nap_us * 2 > LOCK_NAP_MAX_US ? LOCK_NAP_MAX_US : nap_us * 2;
	}
}

/* ---- sizes ------------------------------------------------------------- */

/* slots_for - the table size for capacity tags; 0 if out of range */
static uint64_t
slots_for(uint64_t capacity)
{
	uint64_t n = REPLAY_MIN_SLOTS;

	if (capacity == 0 || capacity > REPLAY_CAPACITY_MAX)
		return 0;
	while (n / REPLAY_LOAD_DEN * REPLAY_LOAD_NUM < capacity)
		n <<= 1;
	return n;
}

uint64_t
replay_file_size(uint64_t capacity)
{
	uint64_t n = slots_for(capacity);

	return n ? REPLAY_HEADER_SIZE + n * REPLAY_SLOT_SIZE : 0;
}

/* fits_off_t - whether size can be an offset on this platform */
static int
fits_off_t(uint64_t size)
{
	if (sizeof(off_t) >= 8)
		return size <= (uint64_t)INT64_MAX;
	return size <= (uint64_t)INT32_MAX;
}

/* ---- creating and checking the header ------------------------------------ */

static void
header_build(uint8_t hdr[REPLAY_HEADER_SIZE], uint64_t nslots, const uint8_t hkey[HASH_KEY_SIZE])
{
	memset(hdr, 0, REPLAY_HEADER_SIZE);
	memcpy(hdr + H_MAGIC, REPLAY_MAGIC, 8);
	put_le32(hdr + H_VERSION, REPLAY_VERSION);
	put_le32(hdr + H_HDRSIZE, REPLAY_HEADER_SIZE);
	put_le32(hdr + H_SLOTSIZE, REPLAY_SLOT_SIZE);
	put_le32(hdr + H_FPSIZE, REPLAY_FP_SIZE);
	put_le64(hdr + H_NSLOTS, nslots);
	put_le64(hdr + H_CAPACITY, nslots / REPLAY_LOAD_DEN * REPLAY_LOAD_NUM);
	put_le32(hdr + H_HASHALG, HASH_ALG_BLAKE2B);
	memcpy(hdr + H_HASHKEY, hkey, HASH_KEY_SIZE);
	mcrypto_hash(hdr + H_SUM, 32, NULL, 0, hdr, H_SUM);
	put_le64(hdr + C_OFF, 0);
	put_le64(hdr + C_CHECK, count_check(0));
}

/*
 * create_file - make a new cache at path: build it under a temporary name
 * in the same directory, sync it, link() it into place (which never
 * replaces: if another process won the race, its file is used), sync the
 * directory. The slot area is written with zeros rather than left sparse,
 * so that later inserts overwrite allocated blocks: no block allocation,
 * hence no ENOSPC and no metadata journalling at insert time.
 */
static enum replay_status
create_file(struct replay *rc, const char *path, uint64_t capacity)
{
	uint64_t nslots = slots_for(capacity), size, off;
	uint8_t rnd[8], hkey[HASH_KEY_SIZE];
	char *tmp;
	size_t tlen, chunk;
	enum replay_status st;
	int fd, saved;

	if (nslots == 0 || !fits_off_t(size = REPLAY_HEADER_SIZE + nslots * REPLAY_SLOT_SIZE)) {
		errno = EFBIG;
		return REPLAY_ERR_ARG;
	}
	mcrypto_random(NULL, rnd, sizeof rnd);
	tlen = strlen(path) + sizeof ".tmp." + 2 * sizeof rnd;
	tmp = mem_alloc(tlen);
	(void)snprintf(tmp, tlen, "%s.tmp.", path);
	mcrypto_hex(tmp + strlen(tmp), rnd, sizeof rnd);

	fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		mem_free(tmp);
		return REPLAY_ERR_IO;
	}
	mcrypto_random(NULL, hkey, sizeof hkey);
	header_build(rc->buf, nslots, hkey);
	mcrypto_wipe(hkey, sizeof hkey);
	st = fchmod(fd, 0600) == 0 ? REPLAY_OK : REPLAY_ERR_IO;	/* whatever the umask */
	if (st == REPLAY_OK)
		st = io_write(fd, rc->buf, REPLAY_HEADER_SIZE, 0);
	memset(rc->buf, 0, sizeof rc->buf);
	for (off = REPLAY_HEADER_SIZE; st == REPLAY_OK && off < size; off += chunk) {
		chunk = size - off < sizeof rc->buf ? (size_t)(size - off) : sizeof rc->buf;
		st = io_write(fd, rc->buf, chunk, off);
	}
	if (st == REPLAY_OK && fsync(fd) != 0)
		st = REPLAY_ERR_IO;
	if (st == REPLAY_OK && link(tmp, path) != 0 && errno != EEXIST)
		st = REPLAY_ERR_IO;
	saved = errno;
	(void)unlink(tmp);
	(void)close(fd);
	mem_free(tmp);
	errno = saved;
	if (st == REPLAY_OK)
		st = fsync_dir(path);
	return st;
}

/* header_check - validate the header and file size; fill rc's parameters */
static enum replay_status
header_check(struct replay *rc, const char *path)
{
	uint8_t *hdr = rc->buf, sum[32];
	struct stat sb;
	enum replay_status st;
	uint64_t nslots, size;
	uint32_t version;
	size_t i;

	if (fstat(rc->fd, &sb) != 0)
		return REPLAY_ERR_IO;
	if (!S_ISREG(sb.st_mode)) {
		msg_warn("replay cache %s: not a regular file", path);
		return REPLAY_ERR_CORRUPT;
	}
	if (sb.st_size < REPLAY_HEADER_SIZE) {
		msg_warn("replay cache %s: shorter than its header", path);
		return REPLAY_ERR_CORRUPT;
	}
	if ((st = io_read(rc->fd, hdr, PAGE, 0)) != REPLAY_OK)
		return st;
	if (memcmp(hdr + H_MAGIC, REPLAY_MAGIC, 8) != 0) {
		msg_warn("replay cache %s: not a replay cache (bad magic)", path);
		return REPLAY_ERR_CORRUPT;
	}
	version = get_le32(hdr + H_VERSION);
	if (version != REPLAY_VERSION) {
		msg_warn("replay cache %s: format version %" PRIu32 ", this program reads %d",
		    path, version, REPLAY_VERSION);
		return REPLAY_ERR_CORRUPT;
	}
	mcrypto_hash(sum, sizeof sum, NULL, 0, hdr, H_SUM);
	if (!mcrypto_equal(sum, hdr + H_SUM, sizeof sum)) {
		msg_warn("replay cache %s: header checksum mismatch", path);
		return REPLAY_ERR_CORRUPT;
	}
	nslots = get_le64(hdr + H_NSLOTS);
	for (i = H_END; i < PAGE && hdr[i] == 0; i++)
		;
	if (get_le32(hdr + H_HDRSIZE) != REPLAY_HEADER_SIZE ||
	    get_le32(hdr + H_SLOTSIZE) != REPLAY_SLOT_SIZE ||
	    get_le32(hdr + H_FPSIZE) != REPLAY_FP_SIZE ||
	    get_le32(hdr + H_HASHALG) != HASH_ALG_BLAKE2B ||
	    get_le32(hdr + H_RESERVED) != 0 || i != PAGE ||
	    nslots < REPLAY_MIN_SLOTS || nslots > REPLAY_MAX_SLOTS ||
	    (nslots & (nslots - 1)) != 0 ||
	    get_le64(hdr + H_CAPACITY) != nslots / REPLAY_LOAD_DEN * REPLAY_LOAD_NUM) {
		msg_warn("replay cache %s: header parameters out of range", path);
		return REPLAY_ERR_CORRUPT;
	}
	size = REPLAY_HEADER_SIZE + nslots * REPLAY_SLOT_SIZE;
	if (!fits_off_t(size) || (uint64_t)sb.st_size != size) {
		msg_warn("replay cache %s: file size %jd, header says %" PRIu64,
		    path, (intmax_t)sb.st_size, size);
		return REPLAY_ERR_CORRUPT;
	}
	rc->nslots = nslots;
	rc->mask = nslots - 1;
	rc->capacity = get_le64(hdr + H_CAPACITY);
	memcpy(rc->hkey, hdr + H_HASHKEY, HASH_KEY_SIZE);
	mcrypto_wipe(hdr, PAGE);
	return REPLAY_OK;
}

/* ---- open, close, lock ------------------------------------------------- */

struct replay *
replay_open(const char *path, uint64_t capacity, unsigned flags, enum replay_status *err)
{
	struct replay *rc;
	enum replay_status st = REPLAY_OK;
	int saved;

	if (path == NULL || (flags & ~(unsigned)(REPLAY_CREATE | REPLAY_DEFER_SYNC | REPLAY_NO_SYNC)) != 0) {
		*err = REPLAY_ERR_ARG;
		return NULL;
	}
	rc = mem_calloc(1, sizeof *rc);
	rc->flags = flags;
	rc->fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (rc->fd < 0 && errno == ENOENT && (flags & REPLAY_CREATE)) {
		st = create_file(rc, path, capacity);
		if (st == REPLAY_OK)
			rc->fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	}
	if (st == REPLAY_OK && rc->fd < 0)
		st = REPLAY_ERR_IO;
	if (st == REPLAY_OK)
		st = header_check(rc, path);
	if (st != REPLAY_OK) {
		saved = errno;
		if (rc->fd >= 0)
			(void)close(rc->fd);
		mcrypto_wipe(rc, sizeof *rc);
		mem_free(rc);
		errno = saved;
		*err = st;
		return NULL;
	}
	*err = REPLAY_OK;
	return rc;
}

/* scan_table - one pass over every slot; see replay_scan */
static enum replay_status
scan_table(struct replay *rc, struct replay_stats *st)
{
	const uint64_t per = BUF_SIZE / REPLAY_SLOT_SIZE;
	uint64_t pos, i, n, run = 0, first = 0;
	int in_first = 1;
	enum replay_status ret;
	enum slot_state ss;

	memset(st, 0, sizeof *st);
	st->slots = rc->nslots;
	st->capacity = rc->capacity;
	for (pos = 0; pos < rc->nslots; pos += n) {
		n = rc->nslots - pos < per ? rc->nslots - pos : per;
		if ((ret = io_read(rc->fd, rc->buf, (size_t)n * REPLAY_SLOT_SIZE, slot_off(pos))) != REPLAY_OK)
			return ret;
		for (i = 0; i < n; i++) {
			ss = slot_state(rc->buf + i * REPLAY_SLOT_SIZE, pos + i);
			if (ss == SLOT_EMPTY) {
				if (in_first)
					first = run;
				in_first = 0;
				run = 0;
				continue;
			}
			if (ss == SLOT_VALID)
				st->valid++;
			else
				st->torn++;
			if (++run > st->longest_run)
				st->longest_run = run;
		}
	}
	if (in_first)
		st->longest_run = rc->nslots;		/* not one empty slot */
	else if (run + first > st->longest_run)
		st->longest_run = run + first;		/* the run wraps around */
	return REPLAY_OK;
}

enum replay_status
replay_lock(struct replay *rc, unsigned timeout_ms)
{
	uint8_t rec[C_LEN];
	struct replay_stats stats;
	struct stat sb;
	enum replay_status st;
	int saved;

	if (rc->locked)
		return REPLAY_ERR_ARG;
	if ((st = lock_fd(rc->fd, timeout_ms)) != REPLAY_OK)
		return st;
	if (fstat(rc->fd, &sb) != 0)
		st = REPLAY_ERR_IO;
	else if (sb.st_nlink == 0)
		st = REPLAY_GONE;
	else if ((st = io_read(rc->fd, rec, sizeof rec, C_OFF)) == REPLAY_OK) {
		rc->count = get_le64(rec);
		if (get_le64(rec + 8) != count_check(rc->count)) {
			/* a torn count record: count the table again */
			if ((st = scan_table(rc, &stats)) == REPLAY_OK) {
				rc->count = stats.valid;
				rc->count_dirty = 1;
			}
		}
	}
	if (st != REPLAY_OK) {
		saved = errno;
		(void)flock(rc->fd, LOCK_UN);
		errno = saved;
		return st;
	}
	rc->locked = 1;
	return REPLAY_OK;
}

/* write_count - store the count record (only under the lock) */
static enum replay_status
write_count(struct replay *rc)
{
	uint8_t rec[C_LEN];
	enum replay_status st;

	put_le64(rec, rc->count);
	put_le64(rec + 8, count_check(rc->count));
	if ((st = io_write(rc->fd, rec, sizeof rec, C_OFF)) == REPLAY_OK) {
		rc->count_dirty = 0;
		rc->pending = 1;
	}
	return st;
}

enum replay_status
replay_unlock(struct replay *rc)
{
	enum replay_status st = REPLAY_OK;
	int saved;

	if (!rc->locked)
		return REPLAY_ERR_ARG;
	if (rc->count_dirty)
		st = write_count(rc);
	rc->count_dirty = 0;	/* a hint: if it failed, the next insert rewrites it */
	saved = errno;
	if (flock(rc->fd, LOCK_UN) != 0)
		st = REPLAY_ERR_IO;
	else
		errno = saved;
	rc->locked = 0;
	return st;
}

enum replay_status
replay_sync(struct replay *rc)
{
	enum replay_status st;

	if (rc->locked && rc->count_dirty && (st = write_count(rc)) != REPLAY_OK)
		return st;
	if (!rc->pending)
		return REPLAY_OK;
	while (fdatasync(rc->fd) != 0) {
		if (errno != EINTR)
			return REPLAY_ERR_IO;
	}
	rc->pending = 0;
	return REPLAY_OK;
}

enum replay_status
replay_close(struct replay *rc)
{
	enum replay_status st = REPLAY_OK, st2;
	int saved;

	if (rc == NULL)
		return REPLAY_OK;
	if (rc->locked && (rc->flags & REPLAY_DEFER_SYNC))
		st = replay_sync(rc);
	if (rc->locked && (st2 = replay_unlock(rc)) != REPLAY_OK && st == REPLAY_OK)
		st = st2;
	if (!(rc->flags & REPLAY_NO_SYNC) && (st2 = replay_sync(rc)) != REPLAY_OK &&
	    st == REPLAY_OK)
		st = st2;
	saved = errno;
	if (close(rc->fd) != 0 && st == REPLAY_OK)
		st = REPLAY_ERR_IO;
	else
		errno = saved;
	mcrypto_wipe(rc, sizeof *rc);
	mem_free(rc);
	return st;
}

/* ---- lookup and insert --------------------------------------------------- */

/* tag_hash - the tag's home slot and fingerprint under the file's key */
static void
tag_hash(const struct replay *rc, const uint8_t tag[REPLAY_TAG_SIZE], uint64_t *home,
    uint8_t fp[REPLAY_FP_SIZE])
{
	uint8_t h[HASH_OUT_SIZE];

	mcrypto_hash(h, sizeof h, rc->hkey, sizeof rc->hkey, tag, REPLAY_TAG_SIZE);
	*home = get_le64(h) & rc->mask;
	memcpy(fp, h + 8, REPLAY_FP_SIZE);
}

/*
 * probe - walk from home to the first empty slot (at most the whole table),
 * WINDOW_SLOTS per read. *found: a valid slot holds fp. Otherwise *free_pos
 * is the first torn or empty slot on the way (*have_free 0: none at all).
 */
static enum replay_status
probe(struct replay *rc, uint64_t home, const uint8_t fp[REPLAY_FP_SIZE], int *found,
    uint64_t *free_pos, int *have_free)
{
	uint64_t pos = home, done = 0, n, i;
	const uint8_t *s;
	enum replay_status st;

	*found = 0;
	*have_free = 0;
	while (done < rc->nslots) {
		n = WINDOW_SLOTS;
		if (n > rc->nslots - pos)
			n = rc->nslots - pos;
		if (n > rc->nslots - done)
			n = rc->nslots - done;
		if ((st = io_read(rc->fd, rc->buf, (size_t)n * REPLAY_SLOT_SIZE, slot_off(pos))) != REPLAY_OK)
			return st;
		for (i = 0; i < n; i++) {
			s = rc->buf + i * REPLAY_SLOT_SIZE;
			switch (slot_state(s, pos + i)) {
			case SLOT_EMPTY:
				if (!*have_free) {
					*free_pos = pos + i;
					*have_free = 1;
				}
				return REPLAY_OK;
			case SLOT_TORN:
				if (!*have_free) {
					*free_pos = pos + i;
					*have_free = 1;
				}
				break;
			case SLOT_VALID:
				if (memcmp(s, fp, REPLAY_FP_SIZE) == 0) {
					*found = 1;
					return REPLAY_OK;
				}
				break;
			}
		}
		done += n;
		pos = (pos + n) & rc->mask;
	}
	return REPLAY_OK;
}

enum replay_status
replay_contains(struct replay *rc, const uint8_t tag[REPLAY_TAG_SIZE])
{
	uint8_t fp[REPLAY_FP_SIZE];
	uint64_t home, free_pos;
	int found, have_free;
	enum replay_status st;

	if (!rc->locked)
		return REPLAY_ERR_ARG;
	tag_hash(rc, tag, &home, fp);
	if ((st = probe(rc, home, fp, &found, &free_pos, &have_free)) != REPLAY_OK)
		return st;
	return found ? REPLAY_SEEN : REPLAY_NEW;
}

/* insert_nosync - replay_insert without the sync; the count is left dirty */
static enum replay_status
insert_nosync(struct replay *rc, const uint8_t tag[REPLAY_TAG_SIZE])
{
	uint8_t fp[REPLAY_FP_SIZE], slot[REPLAY_SLOT_SIZE];
	uint64_t home, pos = 0;
	int found, have_free;
	enum replay_status st;

	tag_hash(rc, tag, &home, fp);
	if ((st = probe(rc, home, fp, &found, &pos, &have_free)) != REPLAY_OK)
		return st;
	if (found)
		return REPLAY_SEEN;
	if (!have_free || rc->count >= rc->capacity)
		return REPLAY_FULL;
	memcpy(slot, fp, REPLAY_FP_SIZE);
	put_le32(slot + REPLAY_FP_SIZE, slot_check(fp, pos));
	/* One 16-byte pwrite inside one sector: see "Crash analysis" in the doc */
	if ((st = io_write(rc->fd, slot, sizeof slot, slot_off(pos))) != REPLAY_OK)
		return st;
	rc->pending = 1;
	rc->count++;
	rc->count_dirty = 1;
	return REPLAY_NEW;
}

enum replay_status
replay_insert(struct replay *rc, const uint8_t tag[REPLAY_TAG_SIZE])
{
	enum replay_status st;

	if (!rc->locked)
		return REPLAY_ERR_ARG;
	st = insert_nosync(rc, tag);
	if (st != REPLAY_NEW || (rc->flags & (REPLAY_DEFER_SYNC | REPLAY_NO_SYNC)))
		return st;
	if ((st = write_count(rc)) != REPLAY_OK || (st = replay_sync(rc)) != REPLAY_OK)
		return st;
	return REPLAY_NEW;
}

/*
 * replay_check_insert syncs after it unlocks, so that concurrent callers'
 * fdatasyncs overlap (the kernel writes their pages in one go) instead of
 * queueing behind the lock. Safe because every sync flushes every dirty
 * page of the file: a record that another process sees and relies on (or
 * probes past) is durable no later than that process's own sync. The one
 * difference: another process may see the tag (SEEN) a moment before it
 * is durable; see "Durability" in doc/replay-cache-format.md.
 */
enum replay_status
replay_check_insert(struct replay *rc, const uint8_t tag[REPLAY_TAG_SIZE], unsigned timeout_ms)
{
	enum replay_status st;

	if ((st = replay_lock(rc, timeout_ms)) != REPLAY_OK)
		return st;
	st = insert_nosync(rc, tag);
	/* writes the count record; a failure there only costs the count hint */
	(void)replay_unlock(rc);
	if (st != REPLAY_NEW || (rc->flags & (REPLAY_DEFER_SYNC | REPLAY_NO_SYNC)))
		return st;
	return replay_sync(rc) == REPLAY_OK ? REPLAY_NEW : REPLAY_ERR_IO;
}

/* ---- counting, scanning, deleting ------------------------------------------ */

enum replay_status
replay_count(struct replay *rc, uint64_t *count)
{
	if (!rc->locked)
		return REPLAY_ERR_ARG;
	*count = rc->count;
	return REPLAY_OK;
}

uint64_t
replay_capacity(const struct replay *rc)
{
	return rc->capacity;
}

enum replay_status
replay_scan(struct replay *rc, struct replay_stats *stats)
{
	enum replay_status st;

	if (!rc->locked)
		return REPLAY_ERR_ARG;
	if ((st = scan_table(rc, stats)) != REPLAY_OK)
		return st;
	if (rc->count != stats->valid) {
		rc->count = stats->valid;
		rc->count_dirty = 1;
	}
	return REPLAY_OK;
}

enum replay_status
replay_unlink(const char *path, unsigned timeout_ms)
{
	struct stat a, b;
	enum replay_status st;
	int fd, saved;

	fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno == ENOENT ? REPLAY_OK : REPLAY_ERR_IO;
	st = lock_fd(fd, timeout_ms);
	/* Under the lock no insert is half-way; unlink only the file we locked */
	if (st == REPLAY_OK && fstat(fd, &a) == 0 && stat(path, &b) == 0 &&
	    a.st_dev == b.st_dev && a.st_ino == b.st_ino) {
		if (unlink(path) != 0 && errno != ENOENT)
			st = REPLAY_ERR_IO;
		else
			st = fsync_dir(path);
	}
	saved = errno;
	(void)close(fd);		/* releases the lock */
	errno = saved;
	return st;
}

const char *
replay_strerror(enum replay_status st)
{
	switch (st) {
	case REPLAY_OK:
		return "success";
	case REPLAY_NEW:
		return "tag not seen before";
	case REPLAY_SEEN:
		return "tag already recorded (replay)";
	case REPLAY_BUSY:
		return "replay cache lock not obtained in time";
	case REPLAY_FULL:
		return "replay cache is full";
	case REPLAY_GONE:
		return "replay cache was deleted (key retired)";
	case REPLAY_ERR_IO:
		return "replay cache I/O error";
	case REPLAY_ERR_CORRUPT:
		return "replay cache file is corrupt";
	case REPLAY_ERR_ARG:
		return "replay cache misused (bad argument or lock not held)";
	}
	return "unknown replay cache status";
}
