/*
 * stats.c - the node's operational counters in SPOOL/stats (stats.h).
 *
 * doc/INTERNALS.md section 7 has the file byte by byte. In short: 106
 * records of 512 bytes, little-endian: a header (magic, version, shape), the
 * running totals, 24 hourly and 80 daily buckets. A record holds a start
 * time and up to 63 counters; a bucket's slot is its hour (day) number
 * modulo 24 (80), and a bucket whose start is not the current hour (day)
 * is zeroed and restarted when it is next counted in. A 512-byte record
 * never straddles a 512-byte sector, so a write cut short by a crash can
 * lose increments but never pairs a bucket's start with another period's
 * counts.
 *
 * Version 1 files (256-byte records, at most 31 counters) are still read:
 * stats_read converts them in memory, and stats_add replaces one, under
 * its lock, by the same counts in the version 2 layout (written and synced
 * under a temporary name, then renamed over it) before it counts.
 *
 * stats_add opens the file (creating it, through a temporary file and
 * link(2), if missing), takes flock(LOCK_EX) with a bounded wait, reads the
 * whole file, adds, writes it back with one pwrite and closes (which
 * unlocks). No fsync: a crash may lose the increments of the moment. A
 * file of the wrong size or with a bad header is renamed to
 * SPOOL/stats.damaged (replacing an earlier one) and counting starts afresh:
 * losing counts is better than a hook that fails for ever.
 *
 * Functions: stats_add(), stats_read(), stats_name(), stats_find().
 *
 * Diagnostics: msg_warn() when a damaged file is moved aside; nothing else
 * is logged and nothing exits.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
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
#include "stats.h"

#define STATS_FILE	"stats"
#define DAMAGED_FILE	"stats.damaged"
#define STATS_MAGIC	"MIXSTAT1"
#define STATS_VERSION	2

#define REC_SIZE	512
#define REC_SLOTS	((REC_SIZE - 8) / 8)		/* 63 counters fit a record */
#define REC_HEADER	0
#define REC_TOTAL	1
#define REC_HOUR0	2
#define REC_DAY0	(REC_HOUR0 + STATS_HOURS)
#define NRECS		(REC_DAY0 + STATS_DAYS)		/* 106 */
#define FILE_SIZE	(NRECS * REC_SIZE)		/* 54272 */
/* version 1: the same records, 256 bytes each */
#define V1_VERSION	1
#define V1_REC_SIZE	256
#define V1_REC_SLOTS	((V1_REC_SIZE - 8) / 8)		/* 31 */
#define V1_FILE_SIZE	(NRECS * V1_REC_SIZE)		/* 27136 */

/* Header record fields */
#define H_MAGIC		0	/* 8: STATS_MAGIC */
#define H_VERSION	8	/* 4: STATS_VERSION */
#define H_RECSIZE	12	/* 4: REC_SIZE */
#define H_NCOUNTERS	16	/* 4: counters in use, 1..REC_SLOTS */
#define H_HOURS		20	/* 4: STATS_HOURS */
#define H_DAYS		24	/* 4: STATS_DAYS */

#define HOUR		3600
#define DAY		86400

#define MAX_ATTEMPTS	4	/* reopen after a concurrent replacement */
#define READ_WAIT_MS	5000	/* stats_read's bound on the shared lock */
#define NAP_MIN_US	50
#define NAP_MAX_US	1000

_Static_assert(STATS_NCOUNTERS <= REC_SLOTS, "the counters fit a record");
_Static_assert(REC_SIZE <= 512 && 512 % REC_SIZE == 0, "a record never straddles a sector");

static const char *const names[STATS_NCOUNTERS] = {
	[STATS_IN_FORWARD] = "in_forward",
	[STATS_IN_DELIVER] = "in_deliver",
	[STATS_IN_DUMMY] = "in_dummy",
	[STATS_DROP_NOPACKET] = "drop_nopacket",
	[STATS_DROP_ARMOR] = "drop_armor",
	[STATS_DROP_PARSE] = "drop_parse",
	[STATS_DROP_OVERSIZE] = "drop_oversize",
	[STATS_DROP_LIMIT] = "drop_limit",
	[STATS_DROP_VERSION] = "drop_version",
	[STATS_DROP_KEY] = "drop_key",
	[STATS_DROP_ROUTING] = "drop_routing",
	[STATS_DROP_UNSUPPORTED] = "drop_unsupported",
	[STATS_DROP_TAMPERED] = "drop_tampered",
	[STATS_DROP_BODY] = "drop_body",
	[STATS_DROP_REPLAY] = "drop_replay",
	[STATS_TEMPFAIL] = "tempfail",
	[STATS_OUT_FORWARD] = "out_forward",
	[STATS_OUT_DELIVER] = "out_deliver",
	[STATS_OUT_DUMMY] = "out_dummy",
	[STATS_OUT_TEMP] = "out_temp",
	[STATS_OUT_FAILED] = "out_failed",
	[STATS_OUT_UNCERTAIN] = "out_uncertain",
	[STATS_REFUSE_SIZE] = "refuse_size",
	[STATS_REFUSE_RCPTS] = "refuse_rcpts",
	[STATS_REFUSE_BLOCKED] = "refuse_blocked",
	[STATS_REFUSE_HEADER] = "refuse_header",
	[STATS_FRAG_STORED] = "frag_stored",
	[STATS_FRAG_EXPIRED] = "frag_expired",
	[STATS_CORRUPT] = "corrupt",
	[STATS_ROUNDS] = "rounds",
	[STATS_POOL_SIZE] = "pool_size",
	[STATS_REPLY_QUEUED] = "reply_queued",
	[STATS_REPLY_RATE] = "reply_rate",
	[STATS_REPLY_LOOP] = "reply_loop",
	[STATS_OUTBOX_SENT] = "outbox_sent",
	[STATS_OUTBOX_FAILED] = "outbox_failed",
	[STATS_OTHER_KEPT] = "other_kept",
	[STATS_OTHER_FORWARDED] = "other_forwarded",
	[STATS_OTHER_FULL] = "other_full",
};

/* ---- records ------------------------------------------------------------------ */

static uint8_t *
rec(uint8_t *file, size_t r)
{
	return file + r * REC_SIZE;
}

static int64_t
rec_start(const uint8_t *r)
{
	return (int64_t)get_le64(r);
}

static uint64_t
rec_get(const uint8_t *r, size_t k)
{
	return get_le64(r + 8 + 8 * k);
}

/* rec_add - add n to counter k, saturating: a count never wraps to small */
static void
rec_add(uint8_t *r, size_t k, uint64_t n)
{
	uint64_t v = rec_get(r, k);

	put_le64(r + 8 + 8 * k, v > UINT64_MAX - n ? UINT64_MAX : v + n);
}

/*
 * rec_roll - make r the bucket that starts at start: if it holds another
 * period (older, or later after the clock went back), zero all its
 * counters, those this program does not know included, and restart it.
 */
static void
rec_roll(uint8_t *r, int64_t start)
{
	if (rec_start(r) == start)
		return;
	memset(r, 0, REC_SIZE);
	put_le64(r, (uint64_t)start);
}

static void
file_init(uint8_t *file, int64_t hour_start)
{
	memset(file, 0, FILE_SIZE);
	memcpy(file + H_MAGIC, STATS_MAGIC, 8);
	put_le32(file + H_VERSION, STATS_VERSION);
	put_le32(file + H_RECSIZE, REC_SIZE);
	put_le32(file + H_NCOUNTERS, STATS_NCOUNTERS);
	put_le32(file + H_HOURS, STATS_HOURS);
	put_le32(file + H_DAYS, STATS_DAYS);
	put_le64(rec(file, REC_TOTAL), (uint64_t)hour_start);	/* counting since */
}

/* file_ncounters - the counters the file holds; 0 if its header is bad */
static uint32_t
file_ncounters(const uint8_t *file)
{
	uint32_t nc = get_le32(file + H_NCOUNTERS);

	if (memcmp(file + H_MAGIC, STATS_MAGIC, 8) != 0 ||
	    get_le32(file + H_VERSION) != STATS_VERSION ||
	    get_le32(file + H_RECSIZE) != REC_SIZE ||
	    get_le32(file + H_HOURS) != STATS_HOURS ||
	    get_le32(file + H_DAYS) != STATS_DAYS ||
	    nc == 0 || nc > REC_SLOTS)
		return 0;
	return nc;
}

/* ---- I/O ----------------------------------------------------------------------- */

static char *
spool_path(const char *spool, const char *name)
{
	size_t len = strlen(spool) + 1 + strlen(name) + 1;
	char *p = mem_alloc(len);

	(void)snprintf(p, len, "%s/%s", spool, name);
	return p;
}

static int
write_full(int fd, const uint8_t *p, size_t len, off_t off)
{
	ssize_t n;

	while (len > 0) {
		n = pwrite(fd, p, len, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0) {
			errno = EIO;
			return -1;
		}
		p += n;
		len -= (size_t)n;
		off += n;
	}
	return 0;
}

/*
 * v1_convert - the version 1 file raw (V1_FILE_SIZE bytes) in the version 2
 * layout into file; 0, or -1 if its header is not a valid version 1 header
 */
static int
v1_convert(const uint8_t *raw, uint8_t *file)
{
	uint32_t nc = get_le32(raw + H_NCOUNTERS);
	size_t r;

	if (memcmp(raw + H_MAGIC, STATS_MAGIC, 8) != 0 ||
	    get_le32(raw + H_VERSION) != V1_VERSION ||
	    get_le32(raw + H_RECSIZE) != V1_REC_SIZE ||
	    get_le32(raw + H_HOURS) != STATS_HOURS ||
	    get_le32(raw + H_DAYS) != STATS_DAYS ||
	    nc == 0 || nc > V1_REC_SLOTS)
		return -1;
	memset(file, 0, FILE_SIZE);
	for (r = 1; r < NRECS; r++)
		memcpy(rec(file, r), raw + r * V1_REC_SIZE, V1_REC_SIZE);
	memcpy(file + H_MAGIC, STATS_MAGIC, 8);
	put_le32(file + H_VERSION, STATS_VERSION);
	put_le32(file + H_RECSIZE, REC_SIZE);
	put_le32(file + H_NCOUNTERS, nc);
	put_le32(file + H_HOURS, STATS_HOURS);
	put_le32(file + H_DAYS, STATS_DAYS);
	return 0;
}

/* read_all - exactly len bytes from offset 0; 1, 0 (short), -1 (error) */
static int
read_all(int fd, uint8_t *buf, size_t len)
{
	size_t got = 0;
	ssize_t n;

	while (got < len) {
		n = pread(fd, buf + got, len - got, (off_t)got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			return 0;
		got += (size_t)n;
	}
	return 1;
}

/*
 * read_file - the whole file into file (version 2 layout); 1: read, 2: read
 * from a version 1 file (converted), 0: damaged (size or v1 header), -1: error
 */
static int
read_file(int fd, uint8_t *file)
{
	struct stat sb;
	uint8_t *raw;
	int got;

	if (fstat(fd, &sb) != 0)
		return -1;
	if (!S_ISREG(sb.st_mode)) {
		errno = EINVAL;		/* not ours to move aside */
		return -1;
	}
	if (sb.st_size == V1_FILE_SIZE) {
		raw = mem_alloc(V1_FILE_SIZE);
		got = read_all(fd, raw, V1_FILE_SIZE);
		if (got == 1)
			got = v1_convert(raw, file) == 0 ? 2 : 0;
		mem_free(raw);
		return got;
	}
	if (sb.st_size != FILE_SIZE)
		return 0;
	return read_all(fd, file, FILE_SIZE);
}

static int64_t
mono_us(void)
{
	struct timespec t;

	if (clock_gettime(CLOCK_MONOTONIC, &t) != 0)
		return -1;
	return (int64_t)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

/* lock_until - flock(op) polled with growing naps until deadline_us (monotonic) */
static int
lock_until(int fd, int op, int64_t deadline_us)
{
	struct timespec nap;
	int64_t now, nap_us = NAP_MIN_US;

	for (;;) {
		if (flock(fd, op | LOCK_NB) == 0)
			return 0;
		if (errno == EINTR)
			continue;
		if (errno != EWOULDBLOCK)
			return -1;
		if ((now = mono_us()) < 0)
			return -1;
		if (now >= deadline_us) {
			errno = ETIMEDOUT;
			return -1;
		}
		if (nap_us > deadline_us - now)
			nap_us = deadline_us - now;
		nap.tv_sec = (time_t)(nap_us / 1000000);
		nap.tv_nsec = (long)(nap_us % 1000000) * 1000;
		(void)nanosleep(&nap, NULL);
		nap_us = nap_us * 2 > NAP_MAX_US ? NAP_MAX_US : nap_us * 2;
	}
}

/*
 * create_file - a fresh file at path: written and synced under a temporary
 * name, then linked into place. link(2) never replaces: if another process
 * made the file first, its file is used. With replace set, file already
 * holds the contents, and they are renamed over path (the caller holds the
 * lock of the file path names).
 */
static int
create_file(const char *path, time_t now, uint8_t *file, int replace)
{
	uint8_t rnd[8];
	char *tmp;
	size_t len;
	int fd, ok, saved;

	mcrypto_random(NULL, rnd, sizeof rnd);
	len = strlen(path) + sizeof ".tmp." + 2 * sizeof rnd;
	tmp = mem_alloc(len);
	(void)snprintf(tmp, len, "%s.tmp.", path);
	mcrypto_hex(tmp + strlen(tmp), rnd, sizeof rnd);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		mem_free(tmp);
		return -1;
	}
	if (!replace)
		file_init(file, (int64_t)now / HOUR * HOUR);
	ok = fchmod(fd, 0600) == 0 && write_full(fd, file, FILE_SIZE, 0) == 0 &&
	    fsync(fd) == 0 && (replace ? rename(tmp, path) == 0 :
	    (link(tmp, path) == 0 || errno == EEXIST));
	saved = errno;
	(void)unlink(tmp);
	if (close(fd) != 0 && ok) {
		ok = 0;
		saved = errno;
	}
	mem_free(tmp);
	errno = saved;
	return ok ? 0 : -1;
}

/*
 * open_locked - open the file at path (creating it if missing) and lock it;
 * 1 if fd is the file path names now, 0 if path was replaced meanwhile
 * (fd closed: try again), -1 on error.
 */
static int
open_locked(const char *path, time_t now, uint8_t *file, int64_t deadline_us, int *fdp)
{
	struct stat a, b;
	int fd, saved;

	*fdp = -1;
	fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0 && errno == ENOENT) {
		if (create_file(path, now, file, 0) != 0)
			return -1;
		fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	}
	if (fd < 0)
		return errno == ENOENT ? 0 : -1;	/* moved aside at once: again */
	if (lock_until(fd, LOCK_EX, deadline_us) != 0)
		goto fail;
	if (fstat(fd, &a) != 0)
		goto fail;
	if (stat(path, &b) != 0) {
		if (errno != ENOENT)
			goto fail;
		(void)close(fd);
		return 0;
	}
	if (a.st_dev != b.st_dev || a.st_ino != b.st_ino) {
		(void)close(fd);
		return 0;
	}
	*fdp = fd;
	return 1;
fail:
	saved = errno;
	(void)close(fd);
	errno = saved;
	return -1;
}

/* move_aside - rename the damaged file at path (locked by us) out of the way */
static int
move_aside(const char *spool, const char *path)
{
	char *damaged = spool_path(spool, DAMAGED_FILE);
	int ret = rename(path, damaged);

	if (ret == 0)
		msg_warn("statistics file %s was damaged: moved to %s, counting starts again",
		    path, damaged);
	mem_free(damaged);
	return ret;
}

/* ---- the interface -------------------------------------------------------------- */

int
stats_add(const char *spool, enum stats_counter c, uint64_t n, time_t now,
    unsigned timeout_ms)
{
	struct timespec times[2];
	int64_t hour, day, t0;
	uint8_t *file;
	char *path;
	int attempt, fd = -1, got, ret = -1, saved;

	if ((int)c < 0 || c >= STATS_NCOUNTERS || now < 0) {
		errno = EINVAL;
		return -1;
	}
	if ((t0 = mono_us()) < 0)
		return -1;
	path = spool_path(spool, STATS_FILE);
	file = mem_alloc(FILE_SIZE);
	errno = EAGAIN;		/* if every attempt found the file replaced */
	for (attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
		got = open_locked(path, now, file, t0 + (int64_t)timeout_ms * 1000, &fd);
		if (got < 0)
			goto out;
		if (got == 0)
			continue;
		if ((got = read_file(fd, file)) < 0)
			goto out;
		if (got == 1 && file_ncounters(file) != 0)
			break;
		if (got == 2) {
			/* version 1: the same counts, as version 2, then again */
			if (create_file(path, now, file, 1) != 0)
				goto out;
			(void)close(fd);
			fd = -1;
			continue;
		}
		/* damaged: still ours (checked under the lock), so move it aside */
		if (move_aside(spool, path) != 0)
			goto out;
		(void)close(fd);
		fd = -1;
	}
	if (attempt == MAX_ATTEMPTS)
		goto out;

	hour = (int64_t)now / HOUR;
	day = (int64_t)now / DAY;
	rec_add(rec(file, REC_TOTAL), (size_t)c, n);
	rec_roll(rec(file, REC_HOUR0 + (size_t)(hour % STATS_HOURS)), hour * HOUR);
	rec_add(rec(file, REC_HOUR0 + (size_t)(hour % STATS_HOURS)), (size_t)c, n);
	rec_roll(rec(file, REC_DAY0 + (size_t)(day % STATS_DAYS)), day * DAY);
	rec_add(rec(file, REC_DAY0 + (size_t)(day % STATS_DAYS)), (size_t)c, n);
	/* a file of an older program: our extra counters read zero, now in use */
	if (file_ncounters(file) < STATS_NCOUNTERS)
		put_le32(file + H_NCOUNTERS, STATS_NCOUNTERS);
	if (write_full(fd, file, FILE_SIZE, 0) != 0)
		goto out;
	/* the file's times say no more than the hour (the ctime cannot be set) */
	times[0].tv_sec = times[1].tv_sec = (time_t)(hour * HOUR);
	times[0].tv_nsec = times[1].tv_nsec = 0;
	(void)futimens(fd, times);
	ret = 0;
out:
	saved = errno;
	if (fd >= 0 && close(fd) != 0 && ret == 0) {
		ret = -1;
		saved = errno;
	}
	mem_free(file);
	mem_free(path);
	errno = saved;
	return ret;
}

/* fill - the snapshot at now from a valid file holding nc counters */
static void
fill(struct stats_snapshot *s, uint8_t *file, uint32_t nc, time_t now)
{
	int64_t hour = (int64_t)now / HOUR, day = (int64_t)now / DAY, h, d;
	const uint8_t *r;
	size_t i, k;

	if (nc > STATS_NCOUNTERS)
		nc = STATS_NCOUNTERS;	/* a newer program's counters: not ours to show */
	for (k = 0; k < nc; k++)
		s->total[k] = rec_get(rec(file, REC_TOTAL), k);
	/* newest first: hour[i] is i hours before now's hour */
	for (i = 0; i < STATS_HOURS && (int64_t)i <= hour; i++) {
		h = hour - (int64_t)i;
		r = rec(file, REC_HOUR0 + (size_t)(h % STATS_HOURS));
		if (rec_start(r) != h * HOUR)
			continue;	/* older, later (clock went back) or never used */
		s->hour_start[i] = h * HOUR;
		for (k = 0; k < nc; k++)
			s->hour[i][k] = rec_get(r, k);
	}
	for (i = 0; i < STATS_DAYS && (int64_t)i <= day; i++) {
		d = day - (int64_t)i;
		r = rec(file, REC_DAY0 + (size_t)(d % STATS_DAYS));
		if (rec_start(r) != d * DAY)
			continue;
		s->day_start[i] = d * DAY;
		for (k = 0; k < nc; k++)
			s->day[i][k] = rec_get(r, k);
	}
}

int
stats_read(const char *spool, time_t now, struct stats_snapshot *s)
{
	uint8_t *file;
	char *path;
	uint32_t nc;
	int fd, got, saved, ret = -1;

	memset(s, 0, sizeof *s);
	if (now < 0) {
		errno = EINVAL;
		return -1;
	}
	path = spool_path(spool, STATS_FILE);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	mem_free(path);
	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	file = mem_alloc(FILE_SIZE);
	if (lock_until(fd, LOCK_SH, mono_us() + (int64_t)READ_WAIT_MS * 1000) != 0 ||
	    (got = read_file(fd, file)) < 0)
		goto out;
	if (got == 0 || (nc = file_ncounters(file)) == 0) {	/* v1: converted */
		errno = EINVAL;
		goto out;
	}
	fill(s, file, nc, now);
	ret = 0;
out:
	saved = errno;
	(void)close(fd);
	mem_free(file);
	errno = saved;
	return ret;
}

const char *
stats_name(enum stats_counter c)
{
	if ((int)c < 0 || c >= STATS_NCOUNTERS)
		return "unknown";
	return names[c];
}

int
stats_find(const char *name)
{
	int c;

	if (name == NULL)
		return -1;
	for (c = 0; c < STATS_NCOUNTERS; c++)
		if (strcmp(names[c], name) == 0)
			return c;
	return -1;
}

/* ---- report rows ----------------------------------------------------------------- */

static const uint64_t zero_bucket[STATS_NCOUNTERS];

/* match - the counters of the bucket that starts at want: index i first */
static const uint64_t *
match(const int64_t *start, const uint64_t (*cnt)[STATS_NCOUNTERS], size_t n, size_t i,
    int64_t want)
{
	size_t j;

	if (start[i] == want)
		return cnt[i];
	for (j = 0; j < n; j++)
		if (start[j] == want)
			return cnt[j];
	return zero_bucket;
}

void
stats_rows_fill(struct stats_rows *r, const struct stats_snapshot *s, int64_t now)
{
	const int64_t hour = 3600, day = 86400;
	int64_t hour0 = now / hour * hour, day0 = now / day * day;
	size_t i;

	for (i = 0; i < STATS_HOURS; i++) {
		r->hour_start[i] = hour0 - (int64_t)i * hour;
		r->hour[i] = match(s->hour_start, s->hour, STATS_HOURS, i, r->hour_start[i]);
	}
	for (i = 0; i < STATS_DAYS; i++) {
		r->day_start[i] = day0 - (int64_t)i * day;
		r->day[i] = match(s->day_start, s->day, STATS_DAYS, i, r->day_start[i]);
	}
}
