/*
 * check_stats.c - the statistics file: names, the layout of
 * doc/INTERNALS.md section 7 checked byte by byte, bucket rolling at hour
 * and day boundaries with injected times, the 24-hour and 80-day windows,
 * a clock going back, many processes counting at once (no increment lost),
 * a busy lock, a damaged file moved aside, files of older and newer
 * programs (fewer or more counters).
 *
 * Every test works in a spool of its own under one temporary directory
 * ($TMPDIR or /tmp), made before the tests and removed after them.
 */
#include <config.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <check.h>

#include "stats.h"
#include "testutil.h"

#define NCHILD		20
#define NADD		200
#define LONG_WAIT_MS	60000
#define HOUR		3600
#define DAY		86400
/* 2023-11-14 22:13:20 UTC: inside an hour and a day */
#define T0		((time_t)1700000000)

/* Section 7, written out independently of stats.c */
#define F_SIZE		54272
#define F_REC		512
/* version 1 (still read, converted when counted into) */
#define V1_SIZE		27136
#define V1_REC		256
#define F_TOTAL		(1 * F_REC)
#define F_HOUR(s)	((2 + (s)) * F_REC)
#define F_DAY(s)	((26 + (s)) * F_REC)

static char tmproot[1024];

/* ---- fixtures and helpers ---------------------------------------------------- */


static void
make_root(void)
{
	tu_make_tmpdir(tmproot, sizeof tmproot, "check_stats");
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

static const char *
make_spool(const char *name)
{
	static char spool[PATH_MAX];

	snprintf(spool, sizeof spool, "%s/%s", tmproot, name);
	ck_assert_int_eq(mkdir(spool, 0700), 0);
	return spool;
}

static const char *
file_path(const char *spool, const char *name)
{
	static char path[PATH_MAX];

	snprintf(path, sizeof path, "%s/%s", spool, name);
	return path;
}

static void
add_ok(const char *spool, enum stats_counter c, uint64_t n, time_t now)
{
	ck_assert_msg(stats_add(spool, c, n, now, LONG_WAIT_MS) == 0, "stats_add: %s",
	    strerror(errno));
}

static void
read_ok(const char *spool, time_t now, struct stats_snapshot *s)
{
	ck_assert_msg(stats_read(spool, now, s) == 0, "stats_read: %s", strerror(errno));
}

static uint64_t
le(const uint8_t *p, int n)
{
	uint64_t v = 0;

	while (n-- > 0)
		v = v << 8 | p[n];
	return v;
}

static void
put_le(uint8_t *p, uint64_t v, int n)
{
	int i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint8_t *
read_stats(const char *spool, size_t *len)
{
	return tu_read_file(file_path(spool, "stats"), len);
}

static void
write_stats(const char *spool, const char *name, const uint8_t *buf, size_t len)
{
	int fd = open(file_path(spool, name), O_WRONLY | O_CREAT | O_TRUNC, 0600);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, buf, len), (ssize_t)len);
	ck_assert_int_eq(close(fd), 0);
}

static int
snapshot_is_zero(const struct stats_snapshot *s)
{
	static const struct stats_snapshot zero;

	return memcmp(s, &zero, sizeof zero) == 0;
}

/* ---- tests ---------------------------------------------------------------------- */

START_TEST(test_names)
{
	const char *a, *b;
	int c, d;
	size_t i;

	for (c = 0; c < STATS_NCOUNTERS; c++) {
		a = stats_name((enum stats_counter)c);
		ck_assert_ptr_nonnull(a);
		ck_assert_uint_gt(strlen(a), 0);
		for (i = 0; a[i] != '\0'; i++)
			ck_assert(islower((unsigned char)a[i]) || a[i] == '_');
		ck_assert_int_eq(stats_find(a), c);
		for (d = 0; d < c; d++) {
			b = stats_name((enum stats_counter)d);
			ck_assert_str_ne(a, b);
		}
	}
	ck_assert_str_eq(stats_name(STATS_IN_FORWARD), "in_forward");
	ck_assert_str_eq(stats_name(STATS_DROP_NOPACKET), "drop_nopacket");
	ck_assert_str_eq(stats_name(STATS_DROP_KEY), "drop_key");
	ck_assert_str_eq(stats_name(STATS_DROP_REPLAY), "drop_replay");
	ck_assert_str_eq(stats_name(STATS_TEMPFAIL), "tempfail");
	ck_assert_str_eq(stats_name(STATS_NCOUNTERS), "unknown");
	ck_assert_int_eq(stats_find("unknown"), -1);
	ck_assert_int_eq(stats_find("drop_replay "), -1);
	ck_assert_int_eq(stats_find(""), -1);
	ck_assert_int_eq(stats_find(NULL), -1);
}
END_TEST

START_TEST(test_missing_reads_zero)
{
	const char *spool = make_spool("missing");
	struct stats_snapshot s;

	memset(&s, 0xff, sizeof s);
	read_ok(spool, T0, &s);
	ck_assert(snapshot_is_zero(&s));
	ck_assert_int_ne(access(file_path(spool, "stats"), F_OK), 0);	/* reading creates nothing */
}
END_TEST

START_TEST(test_args)
{
	const char *spool = make_spool("args");

	errno = 0;
	ck_assert_int_eq(stats_add(spool, STATS_NCOUNTERS, 1, T0, 100), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(stats_add(spool, (enum stats_counter)-1, 1, T0, 100), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(stats_add(spool, STATS_TEMPFAIL, 1, -1, 100), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(stats_add(file_path(spool, "no-such-dir"), STATS_TEMPFAIL, 1, T0, 100), -1);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_int_ne(access(file_path(spool, "stats"), F_OK), 0);
}
END_TEST

/* The file's layout, byte by byte as section 7 gives it */
START_TEST(test_layout)
{
	const char *spool = make_spool("layout");
	int64_t hour = (int64_t)T0 / HOUR, day = (int64_t)T0 / DAY;
	struct stats_snapshot s;
	struct stat sb;
	uint8_t *f, *want;
	size_t len, i;

	add_ok(spool, STATS_DROP_KEY, 5, T0);
	add_ok(spool, STATS_IN_FORWARD, 1, T0 + 10);
	ck_assert_int_eq(stat(file_path(spool, "stats"), &sb), 0);
	ck_assert_int_eq(sb.st_mode & 07777, 0600);
	ck_assert_int_eq(sb.st_size, F_SIZE);
	ck_assert_int_eq(sb.st_mtime, hour * HOUR);	/* no finer time than the hour */

	f = read_stats(spool, &len);
	ck_assert_uint_eq(len, F_SIZE);
	/* everything else is zero */
	want = calloc(1, F_SIZE);
	ck_assert_ptr_nonnull(want);
	memcpy(want, "MIXSTAT1", 8);
	put_le(want + 8, 2, 4);				/* version */
	put_le(want + 12, 512, 4);			/* record size */
	put_le(want + 16, STATS_NCOUNTERS, 4);
	put_le(want + 20, 24, 4);
	put_le(want + 24, 80, 4);
	put_le(want + F_TOTAL, (uint64_t)(hour * HOUR), 8);	/* counting since */
	put_le(want + F_TOTAL + 8 + 8 * STATS_DROP_KEY, 5, 8);
	put_le(want + F_TOTAL + 8 + 8 * STATS_IN_FORWARD, 1, 8);
	put_le(want + F_HOUR(hour % 24), (uint64_t)(hour * HOUR), 8);
	put_le(want + F_HOUR(hour % 24) + 8 + 8 * STATS_DROP_KEY, 5, 8);
	put_le(want + F_HOUR(hour % 24) + 8 + 8 * STATS_IN_FORWARD, 1, 8);
	put_le(want + F_DAY(day % 80), (uint64_t)(day * DAY), 8);
	put_le(want + F_DAY(day % 80) + 8 + 8 * STATS_DROP_KEY, 5, 8);
	put_le(want + F_DAY(day % 80) + 8 + 8 * STATS_IN_FORWARD, 1, 8);
	for (i = 0; i < F_SIZE; i++)
		ck_assert_msg(f[i] == want[i], "byte %zu is %d, not %d", i, f[i], want[i]);
	free(want);
	free(f);

	read_ok(spool, T0 + 20, &s);
	ck_assert_uint_eq(s.total[STATS_DROP_KEY], 5);
	ck_assert_uint_eq(s.total[STATS_IN_FORWARD], 1);
	ck_assert_int_eq(s.hour_start[0], hour * HOUR);
	ck_assert_uint_eq(s.hour[0][STATS_DROP_KEY], 5);
	ck_assert_int_eq(s.day_start[0], day * DAY);
	ck_assert_uint_eq(s.day[0][STATS_IN_FORWARD], 1);
	for (i = 1; i < STATS_HOURS; i++)
		ck_assert_int_eq(s.hour_start[i], 0);
	for (i = 1; i < STATS_DAYS; i++)
		ck_assert_int_eq(s.day_start[i], 0);
}
END_TEST

/* Hour buckets: boundaries, the 24-hour window, a slot reused a day later */
START_TEST(test_hours)
{
	const char *spool = make_spool("hours");
	time_t h0 = T0 / HOUR * HOUR;		/* start of T0's hour */
	struct stats_snapshot s;
	int i;

	add_ok(spool, STATS_DROP_REPLAY, 1, h0 + HOUR - 1);	/* last second of the hour */
	add_ok(spool, STATS_DROP_REPLAY, 2, h0 + HOUR);		/* first of the next */
	read_ok(spool, h0 + HOUR, &s);
	ck_assert_int_eq(s.hour_start[0], h0 + HOUR);
	ck_assert_uint_eq(s.hour[0][STATS_DROP_REPLAY], 2);
	ck_assert_int_eq(s.hour_start[1], h0);
	ck_assert_uint_eq(s.hour[1][STATS_DROP_REPLAY], 1);

	/* 23 hours later the first hour is still in the window, 24 hours later not */
	read_ok(spool, h0 + 23 * HOUR, &s);
	ck_assert_int_eq(s.hour_start[23], h0);
	ck_assert_uint_eq(s.hour[23][STATS_DROP_REPLAY], 1);
	ck_assert_int_eq(s.hour_start[22], h0 + HOUR);
	read_ok(spool, h0 + 24 * HOUR, &s);
	for (i = 0; i < 23; i++)
		ck_assert_int_eq(s.hour_start[i], 0);
	ck_assert_int_eq(s.hour_start[23], h0 + HOUR);
	ck_assert_uint_eq(s.hour[23][STATS_DROP_REPLAY], 2);

	/* counting 24 hours later reuses the first hour's slot: restarted */
	add_ok(spool, STATS_DROP_REPLAY, 7, h0 + 24 * HOUR + 5);
	read_ok(spool, h0 + 24 * HOUR + 5, &s);
	ck_assert_int_eq(s.hour_start[0], h0 + 24 * HOUR);
	ck_assert_uint_eq(s.hour[0][STATS_DROP_REPLAY], 7);
	ck_assert_uint_eq(s.total[STATS_DROP_REPLAY], 10);
	/* T0 is 22:13 UTC: the first two hours were one day, the third the next */
	ck_assert_int_eq(s.day_start[0], (h0 + 24 * HOUR) / DAY * DAY);
	ck_assert_uint_eq(s.day[0][STATS_DROP_REPLAY], 7);
	ck_assert_int_eq(s.day_start[1], h0 / DAY * DAY);
	ck_assert_uint_eq(s.day[1][STATS_DROP_REPLAY], 3);
}
END_TEST

/* Day buckets: boundaries, the 80-day window, a slot reused 80 days later */
START_TEST(test_days)
{
	const char *spool = make_spool("days");
	time_t d0 = T0 / DAY * DAY;
	struct stats_snapshot s;
	int i;

	add_ok(spool, STATS_IN_DELIVER, 1, d0 + DAY - 1);
	add_ok(spool, STATS_IN_DELIVER, 2, d0 + DAY);
	read_ok(spool, d0 + DAY + 1, &s);
	ck_assert_int_eq(s.day_start[0], d0 + DAY);
	ck_assert_uint_eq(s.day[0][STATS_IN_DELIVER], 2);
	ck_assert_int_eq(s.day_start[1], d0);
	ck_assert_uint_eq(s.day[1][STATS_IN_DELIVER], 1);
	ck_assert_int_eq(s.hour_start[1], d0 + DAY - HOUR);	/* the hours too */

	read_ok(spool, d0 + 79 * (time_t)DAY, &s);
	ck_assert_int_eq(s.day_start[79], d0);
	ck_assert_uint_eq(s.day[79][STATS_IN_DELIVER], 1);
	for (i = 0; i < STATS_HOURS; i++)
		ck_assert_int_eq(s.hour_start[i], 0);
	read_ok(spool, d0 + 80 * (time_t)DAY, &s);
	ck_assert_int_eq(s.day_start[79], d0 + DAY);
	for (i = 0; i < 79; i++)
		ck_assert_int_eq(s.day_start[i], 0);
	ck_assert_uint_eq(s.total[STATS_IN_DELIVER], 3);

	add_ok(spool, STATS_IN_DELIVER, 4, d0 + 80 * (time_t)DAY);
	read_ok(spool, d0 + 80 * (time_t)DAY, &s);
	ck_assert_int_eq(s.day_start[0], d0 + 80 * (time_t)DAY);
	ck_assert_uint_eq(s.day[0][STATS_IN_DELIVER], 4);
	ck_assert_int_eq(s.day_start[79], d0 + DAY);
	ck_assert_uint_eq(s.total[STATS_IN_DELIVER], 7);
}
END_TEST

/*
 * The clock goes back: a bucket of a later hour is kept (it reads as
 * empty until that hour comes round again), unless its slot is needed for
 * the current hour; totals only grow.
 */
START_TEST(test_clock_back)
{
	const char *spool = make_spool("back");
	time_t h0 = T0 / HOUR * HOUR;
	struct stats_snapshot s;

	add_ok(spool, STATS_DROP_ARMOR, 3, h0 + 10);
	add_ok(spool, STATS_DROP_ARMOR, 1, h0 - 2 * HOUR);	/* back two hours */
	read_ok(spool, h0 - 2 * HOUR, &s);
	ck_assert_int_eq(s.hour_start[0], h0 - 2 * HOUR);
	ck_assert_uint_eq(s.hour[0][STATS_DROP_ARMOR], 1);
	ck_assert_uint_eq(s.total[STATS_DROP_ARMOR], 4);
	/* the clock right again: both hours are there */
	read_ok(spool, h0 + 20, &s);
	ck_assert_int_eq(s.hour_start[0], h0);
	ck_assert_uint_eq(s.hour[0][STATS_DROP_ARMOR], 3);
	ck_assert_int_eq(s.hour_start[2], h0 - 2 * HOUR);
	ck_assert_uint_eq(s.hour[2][STATS_DROP_ARMOR], 1);

	/* back a whole day: h0's slot is needed, so it restarts */
	add_ok(spool, STATS_DROP_ARMOR, 5, h0 - DAY + 30);
	read_ok(spool, h0 - DAY + 30, &s);
	ck_assert_int_eq(s.hour_start[0], h0 - DAY);
	ck_assert_uint_eq(s.hour[0][STATS_DROP_ARMOR], 5);
	read_ok(spool, h0 + 20, &s);
	ck_assert_int_eq(s.hour_start[0], 0);
	ck_assert_uint_eq(s.hour[0][STATS_DROP_ARMOR], 0);
	ck_assert_uint_eq(s.total[STATS_DROP_ARMOR], 9);

	/* a bucket far in the future (clock was wrong) never shows */
	add_ok(spool, STATS_DROP_PARSE, 1, h0 + 400 * (time_t)DAY);
	read_ok(spool, h0 + 20, &s);
	ck_assert_uint_eq(s.total[STATS_DROP_PARSE], 1);
	ck_assert_uint_eq(s.hour[0][STATS_DROP_PARSE], 0);
	ck_assert_uint_eq(s.day[0][STATS_DROP_PARSE], 0);
}
END_TEST

START_TEST(test_saturates)
{
	const char *spool = make_spool("saturate");
	struct stats_snapshot s;

	add_ok(spool, STATS_DROP_BODY, UINT64_MAX - 1, T0);
	add_ok(spool, STATS_DROP_BODY, 5, T0);
	read_ok(spool, T0, &s);
	ck_assert_uint_eq(s.total[STATS_DROP_BODY], UINT64_MAX);
	ck_assert_uint_eq(s.hour[0][STATS_DROP_BODY], UINT64_MAX);
}
END_TEST

/* NCHILD processes count NADD times each, all at once, racing to create */
START_TEST(test_concurrent)
{
	const char *spool = make_spool("concurrent");
	int start[2], c, k, status;
	pid_t pid[NCHILD];
	struct stats_snapshot s;
	char go;

	ck_assert_int_eq(pipe(start), 0);
	for (c = 0; c < NCHILD; c++) {
		pid[c] = fork();
		ck_assert_int_ge(pid[c], 0);
		if (pid[c] == 0) {
			close(start[1]);
			if (read(start[0], &go, 1) != 1)
				_exit(2);
			for (k = 0; k < NADD; k++)
				if (stats_add(spool, (enum stats_counter)(c % 2 ? STATS_IN_FORWARD : STATS_TEMPFAIL),
				    1, T0 + k, LONG_WAIT_MS) != 0)
					_exit(3);
			_exit(0);
		}
	}
	close(start[0]);
	for (c = 0; c < NCHILD; c++)
		ck_assert_int_eq(write(start[1], "g", 1), 1);
	close(start[1]);
	for (c = 0; c < NCHILD; c++) {
		ck_assert_int_eq(waitpid(pid[c], &status, 0), pid[c]);
		ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child %d failed", c);
	}
	read_ok(spool, T0 + NADD, &s);
	ck_assert_uint_eq(s.total[STATS_IN_FORWARD], NCHILD / 2 * NADD);
	ck_assert_uint_eq(s.total[STATS_TEMPFAIL], NCHILD / 2 * NADD);
	ck_assert_uint_eq(s.hour[0][STATS_IN_FORWARD] + s.hour[1][STATS_IN_FORWARD], NCHILD / 2 * NADD);
	ck_assert_uint_eq(s.day[0][STATS_TEMPFAIL] + s.day[1][STATS_TEMPFAIL], NCHILD / 2 * NADD);
	ck_assert_int_ne(access(file_path(spool, "stats.damaged"), F_OK), 0);
}
END_TEST

/* The lock is held elsewhere: ETIMEDOUT, nothing counted */
START_TEST(test_lock_busy)
{
	const char *spool = make_spool("busy");
	int held[2], release[2], status;
	struct stats_snapshot s;
	pid_t pid;
	char c;

	add_ok(spool, STATS_DROP_VERSION, 1, T0);
	ck_assert_int_eq(pipe(held), 0);
	ck_assert_int_eq(pipe(release), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int fd = open(file_path(spool, "stats"), O_RDWR);

		if (fd < 0 || flock(fd, LOCK_EX) != 0)
			_exit(2);
		if (write(held[1], "L", 1) != 1 || read(release[0], &c, 1) != 1)
			_exit(3);
		_exit(0);
	}
	ck_assert_int_eq(read(held[0], &c, 1), 1);
	errno = 0;
	ck_assert_int_eq(stats_add(spool, STATS_DROP_VERSION, 1, T0, 100), -1);
	ck_assert_int_eq(errno, ETIMEDOUT);
	ck_assert_int_eq(stats_add(spool, STATS_DROP_VERSION, 1, T0, 0), -1);
	ck_assert_int_eq(errno, ETIMEDOUT);
	ck_assert_int_eq(write(release[1], "u", 1), 1);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	add_ok(spool, STATS_DROP_VERSION, 1, T0);
	read_ok(spool, T0, &s);
	ck_assert_uint_eq(s.total[STATS_DROP_VERSION], 2);
}
END_TEST

/*
 * Damaged files (by _i): stats_read says EINVAL; stats_add moves the file
 * to stats.damaged, unchanged, and counts in a fresh one.
 */
enum damage { D_SHORT, D_LONG, D_EMPTY, D_MAGIC, D_VERSION, D_RECSIZE, D_HOURS, D_DAYS,
	D_NC_ZERO, D_NC_BIG, NDAMAGE };

START_TEST(test_damaged)
{
	char name[32];
	const char *spool;
	struct stats_snapshot s;
	uint8_t *f, *g;
	size_t len, glen;

	snprintf(name, sizeof name, "damaged-%d", _i);
	spool = make_spool(name);
	add_ok(spool, STATS_DROP_LIMIT, 100, T0);
	f = read_stats(spool, &len);
	switch ((enum damage)_i) {
	case D_SHORT:	len -= 1; break;
	case D_LONG:	f = realloc(f, len + 1); f[len++] = 0; break;
	case D_EMPTY:	len = 0; break;
	case D_MAGIC:	f[7] = '2'; break;
	case D_VERSION:	f[8] = 3; break;
	case D_RECSIZE:	f[13] = 1; break;
	case D_HOURS:	f[20] = 25; break;
	case D_DAYS:	f[24] = 81; break;
	case D_NC_ZERO:	put_le(f + 16, 0, 4); break;
	case D_NC_BIG:	put_le(f + 16, 64, 4); break;
	case NDAMAGE:	break;
	}
	ck_assert_ptr_nonnull(f);
	write_stats(spool, "stats", f, len);

	errno = 0;
	ck_assert_int_eq(stats_read(spool, T0, &s), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert(snapshot_is_zero(&s));

	add_ok(spool, STATS_DROP_LIMIT, 1, T0);
	read_ok(spool, T0, &s);
	ck_assert_uint_eq(s.total[STATS_DROP_LIMIT], 1);
	ck_assert_uint_eq(s.hour[0][STATS_DROP_LIMIT], 1);
	g = tu_read_file(file_path(spool, "stats.damaged"), &glen);
	ck_assert_uint_eq(glen, len);
	if (len > 0)
		ck_assert_mem_eq(g, f, len);
	free(g);
	free(f);
}
END_TEST

/* Not a regular file: an error, left alone */
START_TEST(test_not_regular)
{
	const char *spool = make_spool("notreg");
	struct stats_snapshot s;

	ck_assert_int_eq(mkfifo(file_path(spool, "stats"), 0600), 0);
	ck_assert_int_eq(stats_add(spool, STATS_DROP_LIMIT, 1, T0, 100), -1);
	ck_assert_int_eq(stats_read(spool, T0, &s), -1);
	ck_assert_int_ne(access(file_path(spool, "stats.damaged"), F_OK), 0);
}
END_TEST

/*
 * Files of other versions of the program with the same layout: an older
 * one kept fewer counters (ours read zero, and counting extends the file's
 * count), a newer one more (kept as they are, not shown).
 */
START_TEST(test_counter_growth)
{
	const char *spool = make_spool("growth");
	int64_t hour = (int64_t)T0 / HOUR;
	struct stats_snapshot s;
	uint8_t *f;
	size_t len;

	add_ok(spool, STATS_IN_FORWARD, 3, T0);
	add_ok(spool, STATS_TEMPFAIL, 4, T0);
	f = read_stats(spool, &len);
	/* an older program that knew 5 counters: tempfail's bytes were zero */
	put_le(f + 16, 5, 4);
	put_le(f + F_TOTAL + 8 + 8 * STATS_TEMPFAIL, 0, 8);
	put_le(f + F_HOUR(hour % 24) + 8 + 8 * STATS_TEMPFAIL, 0, 8);
	write_stats(spool, "stats", f, len);
	free(f);
	read_ok(spool, T0, &s);
	ck_assert_uint_eq(s.total[STATS_IN_FORWARD], 3);
	ck_assert_uint_eq(s.total[STATS_TEMPFAIL], 0);
	add_ok(spool, STATS_TEMPFAIL, 1, T0);
	f = read_stats(spool, &len);
	ck_assert_uint_eq(le(f + 16, 4), STATS_NCOUNTERS);
	free(f);
	read_ok(spool, T0, &s);
	ck_assert_uint_eq(s.total[STATS_TEMPFAIL], 1);
	ck_assert_uint_eq(s.hour[0][STATS_TEMPFAIL], 1);

	/* a newer program's 63rd counter survives our increments */
	f = read_stats(spool, &len);
	put_le(f + 16, 63, 4);
	put_le(f + F_TOTAL + 8 + 8 * 62, 42, 8);
	write_stats(spool, "stats", f, len);
	free(f);
	add_ok(spool, STATS_IN_FORWARD, 1, T0);
	read_ok(spool, T0, &s);
	ck_assert_uint_eq(s.total[STATS_IN_FORWARD], 4);
	f = read_stats(spool, &len);
	ck_assert_uint_eq(le(f + 16, 4), 63);
	ck_assert_uint_eq(le(f + F_TOTAL + 8 + 8 * 62, 8), 42);
	/* ... and is zeroed with the rest when its bucket restarts */
	put_le(f + F_HOUR(hour % 24) + 8 + 8 * 62, 43, 8);
	write_stats(spool, "stats", f, len);
	free(f);
	add_ok(spool, STATS_IN_FORWARD, 1, T0 + DAY);		/* same hour slot, a day on */
	f = read_stats(spool, &len);
	ck_assert_uint_eq(le(f + F_HOUR(hour % 24), 8), (uint64_t)((hour + 24) * HOUR));
	ck_assert_uint_eq(le(f + F_HOUR(hour % 24) + 8 + 8 * STATS_IN_FORWARD, 8), 1);
	ck_assert_uint_eq(le(f + F_HOUR(hour % 24) + 8 + 8 * 62, 8), 0);
	ck_assert_uint_eq(le(f + F_TOTAL + 8 + 8 * 62, 8), 42);
	free(f);
}
END_TEST

/*
 * A version 1 file (256-byte records, 31 counters) is read as it is, and
 * replaced by the same counts in version 2 when counted into.
 */
START_TEST(test_v1_migration)
{
	const char *spool = make_spool("v1");
	int64_t hour = (int64_t)T0 / HOUR, day = (int64_t)T0 / DAY;
	struct stats_snapshot s;
	uint8_t *v1, *f;
	size_t len;
	struct stat sb;

	v1 = calloc(1, V1_SIZE);
	ck_assert_ptr_nonnull(v1);
	memcpy(v1, "MIXSTAT1", 8);
	put_le(v1 + 8, 1, 4);
	put_le(v1 + 12, V1_REC, 4);
	put_le(v1 + 16, 31, 4);
	put_le(v1 + 20, 24, 4);
	put_le(v1 + 24, 80, 4);
	put_le(v1 + 1 * V1_REC, (uint64_t)((hour - 5) * HOUR), 8);
	put_le(v1 + 1 * V1_REC + 8 + 8 * STATS_IN_FORWARD, 7, 8);
	put_le(v1 + 1 * V1_REC + 8 + 8 * STATS_POOL_SIZE, 99, 8);
	put_le(v1 + (2 + hour % 24) * V1_REC, (uint64_t)(hour * HOUR), 8);
	put_le(v1 + (2 + hour % 24) * V1_REC + 8 + 8 * STATS_IN_FORWARD, 3, 8);
	put_le(v1 + (26 + day % 80) * V1_REC, (uint64_t)(day * DAY), 8);
	put_le(v1 + (26 + day % 80) * V1_REC + 8 + 8 * STATS_POOL_SIZE, 99, 8);
	write_stats(spool, "stats", v1, V1_SIZE);

	read_ok(spool, T0, &s);
	ck_assert_uint_eq(s.total[STATS_IN_FORWARD], 7);
	ck_assert_uint_eq(s.total[STATS_POOL_SIZE], 99);
	ck_assert_uint_eq(s.total[STATS_REPLY_QUEUED], 0);
	ck_assert_uint_eq(s.hour[0][STATS_IN_FORWARD], 3);
	ck_assert_uint_eq(s.day[0][STATS_POOL_SIZE], 99);
	ck_assert_int_eq(stat(file_path(spool, "stats"), &sb), 0);
	ck_assert_int_eq(sb.st_size, V1_SIZE);		/* reading changes nothing */

	add_ok(spool, STATS_REPLY_QUEUED, 2, T0);
	ck_assert_int_eq(stat(file_path(spool, "stats"), &sb), 0);
	ck_assert_int_eq(sb.st_size, F_SIZE);
	ck_assert_int_eq(sb.st_mode & 07777, 0600);
	ck_assert_int_ne(access(file_path(spool, "stats.damaged"), F_OK), 0);
	f = read_stats(spool, &len);
	ck_assert_uint_eq(le(f + 8, 4), 2);
	ck_assert_uint_eq(le(f + 12, 4), 512);
	ck_assert_uint_eq(le(f + 16, 4), STATS_NCOUNTERS);
	ck_assert_uint_eq(le(f + F_TOTAL, 8), (uint64_t)((hour - 5) * HOUR));	/* counting since */
	ck_assert_uint_eq(le(f + F_TOTAL + 8 + 8 * STATS_IN_FORWARD, 8), 7);
	ck_assert_uint_eq(le(f + F_TOTAL + 8 + 8 * STATS_REPLY_QUEUED, 8), 2);
	free(f);
	read_ok(spool, T0, &s);
	ck_assert_uint_eq(s.total[STATS_IN_FORWARD], 7);
	ck_assert_uint_eq(s.total[STATS_REPLY_QUEUED], 2);
	ck_assert_uint_eq(s.hour[0][STATS_IN_FORWARD], 3);
	ck_assert_uint_eq(s.hour[0][STATS_REPLY_QUEUED], 2);
	ck_assert_uint_eq(s.day[0][STATS_POOL_SIZE], 99);
	ck_assert_uint_eq(s.day[0][STATS_REPLY_QUEUED], 2);

	/* a damaged version 1 file is moved aside like any other */
	put_le(v1 + 16, 32, 4);
	write_stats(spool, "stats", v1, V1_SIZE);
	errno = 0;
	ck_assert_int_eq(stats_read(spool, T0, &s), -1);
	ck_assert_int_eq(errno, EINVAL);
	add_ok(spool, STATS_IN_DUMMY, 1, T0);
	read_ok(spool, T0, &s);
	ck_assert_uint_eq(s.total[STATS_IN_FORWARD], 0);
	ck_assert_uint_eq(s.total[STATS_IN_DUMMY], 1);
	free(v1);
}
END_TEST

/* fd_of - whether process pid has a descriptor open on inode ino */
static int
fd_of(pid_t pid, ino_t ino)
{
	char dir[64], path[PATH_MAX];
	struct dirent *e;
	struct stat sb;
	int found = 0;
	DIR *d;

	snprintf(dir, sizeof dir, "/proc/%ld/fd", (long)pid);
	if ((d = opendir(dir)) == NULL)
		return -1;
	while (!found && (e = readdir(d)) != NULL) {
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		found = stat(path, &sb) == 0 && sb.st_ino == ino;
	}
	closedir(d);
	return found;
}

/*
 * The file is replaced while a process waits for its lock (as when another
 * process moves a damaged file aside): the waiter must count in the file
 * the name now gives, not in the one it opened.
 */
START_TEST(test_replaced_while_waiting)
{
	const char *spool = make_spool("replaced");
	int held[2], release[2], status, k, r;
	struct stats_snapshot s;
	char old[PATH_MAX], c;
	pid_t holder, waiter;
	struct stat sb;

	add_ok(spool, STATS_DROP_ROUTING, 1, T0);
	ck_assert_int_eq(stat(file_path(spool, "stats"), &sb), 0);
	ck_assert_int_eq(pipe(held), 0);
	ck_assert_int_eq(pipe(release), 0);
	holder = fork();
	ck_assert_int_ge(holder, 0);
	if (holder == 0) {
		int fd = open(file_path(spool, "stats"), O_RDWR);

		if (fd < 0 || flock(fd, LOCK_EX) != 0)
			_exit(2);
		if (write(held[1], "L", 1) != 1 || read(release[0], &c, 1) != 1)
			_exit(3);
		_exit(0);
	}
	ck_assert_int_eq(read(held[0], &c, 1), 1);
	waiter = fork();
	ck_assert_int_ge(waiter, 0);
	if (waiter == 0)
		_exit(stats_add(spool, STATS_DROP_ROUTING, 1, T0, LONG_WAIT_MS) == 0 ? 0 : 1);
	/* once the waiter has the old file open (without /proc: a pause) ... */
	for (k = 0; k < 1000 && (r = fd_of(waiter, sb.st_ino)) == 0; k++)
		usleep(10000);
	if (r < 0)
		usleep(200000);
	/* ... the file is replaced, then the lock released */
	snprintf(old, sizeof old, "%s", file_path(spool, "stats.old"));
	ck_assert_int_eq(rename(file_path(spool, "stats"), old), 0);
	add_ok(spool, STATS_DROP_ROUTING, 10, T0);		/* a new file under the name */
	ck_assert_int_eq(write(release[1], "u", 1), 1);
	ck_assert_int_eq(waitpid(holder, &status, 0), holder);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ck_assert_int_eq(waitpid(waiter, &status, 0), waiter);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	read_ok(spool, T0, &s);
	ck_assert_uint_eq(s.total[STATS_DROP_ROUTING], 11);	/* counted in the new file */
	ck_assert_int_eq(rename(old, file_path(spool, "stats")), 0);
	read_ok(spool, T0, &s);
	ck_assert_uint_eq(s.total[STATS_DROP_ROUTING], 1);	/* the old one untouched */
}
END_TEST

static Suite *
stats_suite(void)
{
	Suite *s = suite_create("stats");
	TCase *tc = tcase_create("core");

	tcase_add_unchecked_fixture(tc, make_root, remove_root);
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_names);
	tcase_add_test(tc, test_missing_reads_zero);
	tcase_add_test(tc, test_args);
	tcase_add_test(tc, test_layout);
	tcase_add_test(tc, test_hours);
	tcase_add_test(tc, test_days);
	tcase_add_test(tc, test_clock_back);
	tcase_add_test(tc, test_saturates);
	tcase_add_test(tc, test_concurrent);
	tcase_add_test(tc, test_lock_busy);
	tcase_add_loop_test(tc, test_damaged, 0, NDAMAGE);
	tcase_add_test(tc, test_not_regular);
	tcase_add_test(tc, test_counter_growth);
	tcase_add_test(tc, test_v1_migration);
	tcase_add_test(tc, test_replaced_while_waiting);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(stats_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
