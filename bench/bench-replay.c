/*
 * bench-replay - how the replay cache performs at ten million tags.
 *
 * Usage: bench/bench-replay [-n] [-k] [-d dir] [-N entries] [-t seconds]
 *        (--help explains)
 *
 * Creates a cache in dir (by default $TMPDIR or /tmp: run it on the file
 * system that holds the node's spool, since the durable numbers are the
 * file system's fsync), fills it with N random tags (10,000,000 by
 * default) and reports the fill rate, the file size and the table's shape.
 * Then, at that size, it measures:
 *   - check-and-insert of new tags, durable: lock, probe, write, fdatasync,
 *     unlock per operation (the real per-mail cost); also with the open
 *     and close a `mixnode receive` process does around it;
 *   - the same without the sync (the lookup and write cost alone);
 *   - lookups of tags already present (lock per operation, and under one
 *     lock), and of absent tags;
 *   - lookups of present tags with the file evicted from the page cache
 *     (posix_fadvise DONTNEED), i.e. a disk read per lookup;
 *   - 2 and 20 processes doing durable inserts at once, as an MTA running
 *     20 hooks does: the aggregate rate, with the fdatasync under the lock
 *     (lock, insert, unlock) and after it (replay_check_insert).
 * Every lookup of a present tag must say SEEN and every new tag NEW; the
 * program counts and prints any that do not (false positives).
 *
 * Method: each measurement runs RUNS times for seconds/RUNS each (or until
 * its operation cap: every loop is bounded); the median run is shown with
 * the spread of the runs. The fill is measured once. Not pinned to a CPU.
 * doc/replay-cache-format.md records results and reads them.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/utsname.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "benchutil.h"
#include "log.h"
#include "mcrypto.h"
#include "replay.h"

#define RUNS		3
#define DEFAULT_N	10000000ULL
#define QUICK_N		200000ULL
#define DEFAULT_SECONDS	3.0
#define QUICK_SECONDS	0.3
#define FILL_REPORT	8		/* fill progress lines */
#define CAP_SYNC	20000UL		/* operation caps per run, by cost */
#define CAP_FAST	2000000UL
#define CAP_NOSYNC	100000UL	/* keeps the table near its filled size */
#define CAP_COLD	5000UL
#define MAX_PROCS	20
#define LOCK_WAIT_MS	30000
#define TARGET_RATE	500.0		/* receive target, packets/s (issue 3) */

static char path[4096];
static uint8_t fill_key[32];	/* tag i of the fill: BLAKE2b(fill_key, i) */
static uint8_t new_key[32];	/* new tags, never in the fill */
static uint64_t nfill;
static uint64_t new_next;	/* next unused new tag number */
static uint64_t inserted;	/* new tags inserted after the fill */
static unsigned long false_pos;	/* a new tag reported SEEN */
static unsigned long false_neg;	/* a filled tag reported NEW */

enum kind {
	K_INSERT_SYNC,		/* lock + insert + fdatasync + unlock */
	K_OPEN_INSERT_SYNC,	/* open + the above + close */
	K_INSERT_NOSYNC,	/* lock + insert + unlock, deferred sync */
	K_LOOKUP_LOCKED_EACH,	/* lock + contains(present) + unlock */
	K_LOOKUP_PRESENT,	/* contains(present) under one lock */
	K_LOOKUP_ABSENT,	/* contains(absent) under one lock */
	K_LOOKUP_COLD		/* contains(present), file evicted from the cache first */
};

static void
make_tag(uint8_t tag[REPLAY_TAG_SIZE], const uint8_t key[32], uint64_t i)
{
	uint8_t in[8];
	int k;

	for (k = 0; k < 8; k++)
		in[k] = (uint8_t)(i >> (8 * k));
	mcrypto_hash(tag, REPLAY_TAG_SIZE, key, 32, in, sizeof in);
}

static struct replay *
open_or_die(unsigned flags)
{
	enum replay_status err;
	struct replay *rc = replay_open(path, REPLAY_DEFAULT_CAPACITY, flags, &err);

	if (rc == NULL)
		msg_fatal("open %s: %s: %s", path, replay_strerror(err), strerror(errno));
	return rc;
}

static void
check(enum replay_status st, const char *what)
{
	if (st != REPLAY_OK)
		msg_fatal("%s: %s: %s", what, replay_strerror(st), strerror(errno));
}

/* evict - drop the cache file's pages from the page cache */
static void
evict(void)
{
	int fd = open(path, O_RDONLY);

	if (fd < 0 || fdatasync(fd) != 0 || posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED) != 0)
		msg_fatal("evict %s: %s", path, strerror(errno));
	close(fd);
}

/* run - one timed run of kind k for at most secs and cap operations; ops/s */
static double
run(enum kind k, double secs, unsigned long cap)
{
	uint8_t tag[REPLAY_TAG_SIZE];
	struct replay *rc = NULL;
	enum replay_status st;
	unsigned long n;
	double t0, t;
	unsigned flags = k == K_INSERT_NOSYNC ? REPLAY_DEFER_SYNC : 0;

	if (k == K_LOOKUP_COLD)
		evict();
	if (k != K_OPEN_INSERT_SYNC)
		rc = open_or_die(flags);
	if (k == K_LOOKUP_PRESENT || k == K_LOOKUP_ABSENT || k == K_LOOKUP_COLD)
		check(replay_lock(rc, LOCK_WAIT_MS), "lock");
	t0 = t = bench_now();
	for (n = 0; n < cap && t - t0 < secs; n++) {
		switch (k) {
		case K_INSERT_SYNC:
		case K_INSERT_NOSYNC:
			make_tag(tag, new_key, new_next++);
			st = replay_check_insert(rc, tag, LOCK_WAIT_MS);
			if (st == REPLAY_SEEN)
				false_pos++;
			else if (st != REPLAY_NEW)
				check(st, "check_insert");
			inserted++;
			break;
		case K_OPEN_INSERT_SYNC:
			make_tag(tag, new_key, new_next++);
			rc = open_or_die(0);
			st = replay_check_insert(rc, tag, LOCK_WAIT_MS);
			if (st == REPLAY_SEEN)
				false_pos++;
			else if (st != REPLAY_NEW)
				check(st, "check_insert");
			check(replay_close(rc), "close");
			rc = NULL;
			inserted++;
			break;
		case K_LOOKUP_LOCKED_EACH:
			make_tag(tag, fill_key, mcrypto_uniform((uint32_t)nfill));
			check(replay_lock(rc, LOCK_WAIT_MS), "lock");
			if (replay_contains(rc, tag) != REPLAY_SEEN)
				false_neg++;
			check(replay_unlock(rc), "unlock");
			break;
		case K_LOOKUP_PRESENT:
		case K_LOOKUP_COLD:
			make_tag(tag, fill_key, mcrypto_uniform((uint32_t)nfill));
			if (replay_contains(rc, tag) != REPLAY_SEEN)
				false_neg++;
			break;
		case K_LOOKUP_ABSENT:
			/* numbers far beyond any insert of this run */
			make_tag(tag, new_key, (1ULL << 62) + mcrypto_uniform(UINT32_MAX));
			if (replay_contains(rc, tag) != REPLAY_NEW)
				false_pos++;
			break;
		}
		t = bench_now();
	}
	if (rc != NULL) {
		if (k == K_INSERT_NOSYNC)
			check(replay_sync(rc), "sync");
		check(replay_close(rc), "close");
	}
	return (double)n / (t - t0);
}

/*
 * child_inserter - one of several processes inserting new tags until the
 * deadline (CLOCK_MONOTONIC is one clock for all processes). under_lock:
 * lock, insert (fdatasync inside), unlock, the protocol that holds the
 * lock across the sync; otherwise replay_check_insert, which syncs after
 * unlocking so that concurrent syncs overlap.
 */
static void
child_inserter(uint64_t first, int under_lock, int go_fd, int out_fd)
{
	uint8_t tag[REPLAY_TAG_SIZE];
	struct replay *rc = open_or_die(0);
	unsigned long n, bad = 0;
	double deadline, t;
	char line[64];
	enum replay_status st;
	int len;

	if (read(go_fd, &deadline, sizeof deadline) != (ssize_t)sizeof deadline)
		_exit(1);
	for (n = 0, t = bench_now(); n < CAP_SYNC && t < deadline; n++) {
		make_tag(tag, new_key, first + n);
		if (under_lock) {
			check(replay_lock(rc, LOCK_WAIT_MS), "lock");
			st = replay_insert(rc, tag);
			check(replay_unlock(rc), "unlock");
		} else
			st = replay_check_insert(rc, tag, LOCK_WAIT_MS);
		if (st != REPLAY_NEW)
			bad++;
		t = bench_now();
	}
	replay_close(rc);
	len = snprintf(line, sizeof line, "%lu %lu %.9f\n", n, bad, t);
	_exit(write(out_fd, line, (size_t)len) == len ? 0 : 1);
}

/*
 * contend - procs processes at once, all started by one message and
 * stopped by one deadline; aggregate durable inserts per second, from the
 * start to the last process's last insert
 */
static double
contend(int procs, int under_lock, double secs)
{
	pid_t pid[MAX_PROCS];
	int go[2], fds[MAX_PROCS][2], i, status;
	unsigned long n, bad, total = 0;
	double start, deadline, end, last = 0;
	char line[64];
	ssize_t r;

	if (pipe(go) != 0)
		msg_fatal("pipe: %s", strerror(errno));
	for (i = 0; i < procs; i++) {
		if (pipe(fds[i]) != 0 || (pid[i] = fork()) < 0)
			msg_fatal("fork: %s", strerror(errno));
		if (pid[i] == 0) {
			close(go[1]);
			close(fds[i][0]);
			child_inserter(new_next + (uint64_t)i * CAP_SYNC, under_lock, go[0], fds[i][1]);
		}
		close(fds[i][1]);
	}
	close(go[0]);
	new_next += (uint64_t)procs * CAP_SYNC;
	usleep(100000);		/* let them all open the cache */
	start = bench_now();
	deadline = start + secs;
	for (i = 0; i < procs; i++)
		if (write(go[1], &deadline, sizeof deadline) != (ssize_t)sizeof deadline)
			msg_fatal("write: %s", strerror(errno));
	close(go[1]);
	for (i = 0; i < procs; i++) {
		r = read(fds[i][0], line, sizeof line - 1);
		close(fds[i][0]);
		if (waitpid(pid[i], &status, 0) != pid[i] || !WIFEXITED(status) ||
		    WEXITSTATUS(status) != 0 || r <= 0)
			msg_fatal("inserter %d failed", i);
		line[r] = '\0';
		if (sscanf(line, "%lu %lu %lf", &n, &bad, &end) != 3)
			msg_fatal("inserter %d: bad report", i);
		total += n;
		inserted += n;
		false_pos += bad;
		if (end > last)
			last = end;
	}
	return (double)total / (last - start);
}

static void
print_row(const char *name, double rate[RUNS])
{
	qsort(rate, RUNS, sizeof rate[0], bench_cmp_double);
	printf("%-50s %11.0f %10.2f %6.1f%%\n", name, rate[RUNS / 2], 1e6 / rate[RUNS / 2],
	    100.0 * (rate[RUNS - 1] - rate[0]) / rate[RUNS / 2]);
	fflush(stdout);
}

static double
measure(const char *name, enum kind k, double secs, unsigned long cap)
{
	double rate[RUNS], median;
	int i;

	for (i = 0; i < RUNS; i++)
		rate[i] = run(k, secs / RUNS, cap);
	print_row(name, rate);
	median = rate[RUNS / 2];
	return median;
}

static const char *
fs_name(long type)
{
	switch (type) {
	case 0xEF53:
		return "ext2/3/4";
	case 0x58465342:
		return "xfs";
	case 0x9123683E:
		return "btrfs";
	case 0x01021994:
		return "tmpfs";
	case 0x794c7630:
		return "overlayfs";
	case 0x2fc12fc1:
		return "zfs";
	}
	return "other";
}

static void
print_environment(int argc, char **argv, double secs, uint64_t capacity)
{
	char dir[4096];
	const char *slash;
	struct statfs fs;
	int i;

	bench_copy_str(dir, sizeof dir, path);
	if ((slash = strrchr(dir, '/')) != NULL)
		dir[slash - dir] = '\0';

	bench_print_machine("bench-replay");
	printf("command:   ");
	for (i = 0; i < argc; i++)
		printf("%s%s", i ? " " : "", argv[i]);
	printf("\n");
	if (statfs(dir, &fs) == 0)
		printf("file:      %s on %s (f_type 0x%lx)\n", path, fs_name((long)fs.f_type),
		    (unsigned long)fs.f_type);
	printf("cache:     capacity %llu tags, file %llu bytes; filled with %llu tags\n",
	    (unsigned long long)capacity, (unsigned long long)replay_file_size(capacity),
	    (unsigned long long)nfill);
	printf("method:    %d runs of %.2f s (or an operation cap) per line; median shown;\n"
	    "           spread = (max - min) / median; not pinned to a CPU\n", RUNS, secs / RUNS);
	printf("\n");
}

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: bench-replay [-n] [-k] [-d dir] [-N entries] [-t seconds]\n"
	    "\n"
	    "Fill a replay cache with N random tags (default %llu), then measure\n"
	    "check-and-insert (durable and not), lookups (warm and cold) and\n"
	    "concurrent inserters at that size. Prints the machine, the date,\n"
	    "the command, the fill rate and file size, then one line per\n"
	    "measurement: operations per second, microseconds per operation and\n"
	    "the spread between runs.\n"
	    "\n"
	    "  -d dir      where the cache file goes (default $TMPDIR or /tmp); put\n"
	    "              it on the spool's file system: durable numbers are its fsync\n"
	    "  -N entries  tags to fill in, 1000 to 100000000 (default %llu)\n"
	    "  -t seconds  timed seconds per measurement, 0.1 to 600 (default %.0f)\n"
	    "  -k          keep the cache file (its name is printed)\n"
	    "  -n          quick smoke run (-N %llu -t %.1f): the numbers are not\n"
	    "              meaningful\n"
	    "  -h, --help  this text\n",
	    (unsigned long long)DEFAULT_N, (unsigned long long)DEFAULT_N, DEFAULT_SECONDS,
	    (unsigned long long)QUICK_N, QUICK_SECONDS);
}

static void
fill(uint64_t n)
{
	uint8_t tag[REPLAY_TAG_SIZE];
	struct replay *rc = open_or_die(REPLAY_DEFER_SYNC);
	uint64_t i, step = n / FILL_REPORT ? n / FILL_REPORT : 1;
	double t0, tlast, t;
	enum replay_status st;

	printf("fill (one process, one lock, sync at the end):\n");
	printf("  %12s %14s %12s\n", "tags", "inserts/s", "us/insert");
	check(replay_lock(rc, LOCK_WAIT_MS), "lock");
	t0 = tlast = bench_now();
	for (i = 0; i < n; i++) {
		make_tag(tag, fill_key, i);
		if ((st = replay_insert(rc, tag)) == REPLAY_SEEN)
			false_pos++;
		else if (st != REPLAY_NEW)
			check(st, "insert");
		if ((i + 1) % step == 0 || i + 1 == n) {
			t = bench_now();
			/* the rate of the last step: flat if inserts are O(1) */
			printf("  %12llu %14.0f %12.2f\n", (unsigned long long)(i + 1),
			    (double)((i % step) + 1) / (t - tlast),
			    (t - tlast) * 1e6 / (double)((i % step) + 1));
			fflush(stdout);
			tlast = t;
		}
	}
	check(replay_sync(rc), "sync");
	t = bench_now();
	check(replay_unlock(rc), "unlock");
	check(replay_close(rc), "close");
	printf("  total: %llu tags in %.1f s = %.0f inserts/s (sync included)\n",
	    (unsigned long long)n, t - t0, (double)n / (t - t0));
}

int
main(int argc, char **argv)
{
	const char *dir = NULL;
	double secs = DEFAULT_SECONDS, t0, rate[RUNS], single, two, twenty, two_after, twenty_after;
	uint64_t capacity;
	struct replay_stats stats;
	struct replay *rc;
	enum replay_status err;
	struct stat sb;
	int c, i, keep = 0, quick = 0;
	char *end;

	msg_set_progname("bench-replay");
	for (i = 1; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return 0;
		}
	nfill = DEFAULT_N;
	while ((c = getopt(argc, argv, "d:hknN:t:")) != -1) {
		switch (c) {
		case 'd':
			dir = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'k':
			keep = 1;
			break;
		case 'n':
			quick = 1;
			break;
		case 'N':
			errno = 0;
			nfill = strtoull(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || nfill < 1000 || nfill > 100000000ULL) {
				usage(stderr);
				return 2;
			}
			break;
		case 't':
			secs = strtod(optarg, &end);
			if (*end != '\0' || !(secs >= 0.1 && secs <= 600)) {
				usage(stderr);
				return 2;
			}
			break;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (quick) {
		nfill = QUICK_N;
		secs = QUICK_SECONDS;
	}
	if (dir == NULL)
		dir = getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	if (mcrypto_init() != 0)
		msg_fatal("cannot initialise the crypto libraries");
	mcrypto_random(NULL, fill_key, sizeof fill_key);
	mcrypto_random(NULL, new_key, sizeof new_key);
	snprintf(path, sizeof path, "%s/bench-replay.%ld.cache", dir, (long)getpid());
	capacity = nfill > REPLAY_DEFAULT_CAPACITY ? nfill + nfill / 10 : REPLAY_DEFAULT_CAPACITY;

	print_environment(argc, argv, secs, capacity);

	t0 = bench_now();
	rc = replay_open(path, capacity, REPLAY_CREATE, &err);
	if (rc == NULL)
		msg_fatal("create %s: %s: %s", path, replay_strerror(err), strerror(errno));
	printf("create:    %.2f s (header, zero-filled slots, fsync, link, directory fsync)\n",
	    bench_now() - t0);
	check(replay_close(rc), "close");
	if (stat(path, &sb) != 0)
		msg_fatal("stat %s: %s", path, strerror(errno));
	printf("file size: %lld bytes (%.1f MiB), %lld blocks of 512 allocated\n\n",
	    (long long)sb.st_size, (double)sb.st_size / 1048576.0, (long long)sb.st_blocks);

	fill(nfill);

	rc = open_or_die(0);
	check(replay_lock(rc, LOCK_WAIT_MS), "lock");
	t0 = bench_now();
	check(replay_scan(rc, &stats), "scan");
	printf("  table: %llu slots, %llu valid (load %.3f), %llu torn, longest cluster %llu slots"
	    " (scan %.2f s)\n\n", (unsigned long long)stats.slots,
	    (unsigned long long)stats.valid, (double)stats.valid / (double)stats.slots,
	    (unsigned long long)stats.torn, (unsigned long long)stats.longest_run, bench_now() - t0);
	check(replay_close(rc), "close");

	printf("%-50s %11s %10s %7s\n", "at this size", "ops/s", "us/op", "spread");
	single = measure("check_insert new, durable (lock+fdatasync each)", K_INSERT_SYNC, secs, CAP_SYNC);
	measure("open+check_insert new, durable+close", K_OPEN_INSERT_SYNC, secs, CAP_SYNC);
	measure("check_insert new, no sync (lock each)", K_INSERT_NOSYNC, secs, CAP_NOSYNC);
	measure("contains present (lock each)", K_LOOKUP_LOCKED_EACH, secs, CAP_FAST);
	measure("contains present (one lock)", K_LOOKUP_PRESENT, secs, CAP_FAST);
	measure("contains absent (one lock)", K_LOOKUP_ABSENT, secs, CAP_FAST);
	measure("contains present, file evicted from page cache", K_LOOKUP_COLD, secs, CAP_COLD);
	for (i = 0; i < RUNS; i++)
		rate[i] = contend(2, 1, secs / RUNS);
	print_row("2 procs, lock+insert(sync)+unlock (aggregate)", rate);
	two = rate[RUNS / 2];
	for (i = 0; i < RUNS; i++)
		rate[i] = contend(MAX_PROCS, 1, secs / RUNS);
	print_row("20 procs, lock+insert(sync)+unlock (aggregate)", rate);
	twenty = rate[RUNS / 2];
	for (i = 0; i < RUNS; i++)
		rate[i] = contend(2, 0, secs / RUNS);
	print_row("2 procs, check_insert: sync after unlock (aggr.)", rate);
	two_after = rate[RUNS / 2];
	for (i = 0; i < RUNS; i++)
		rate[i] = contend(MAX_PROCS, 0, secs / RUNS);
	print_row("20 procs, check_insert: sync after unlock (aggr.)", rate);
	twenty_after = rate[RUNS / 2];

	printf("\nread from the medians above:\n");
	printf("  durable insert: %.0f/s in one process; with the sync under the lock\n"
	    "  %.0f/s from 2 processes and %.0f/s from 20 (the lock queues the syncs);\n"
	    "  syncing after the unlock (replay_check_insert) %.0f/s and %.0f/s\n",
	    single, two, twenty, two_after, twenty_after);
	printf("  receive target %.0f packets/s vs the cache's share at 20 processes: %s\n",
	    TARGET_RATE, twenty_after >= TARGET_RATE ? "above" : "BELOW");
	printf("  false positives (new tag SEEN): %lu; false negatives (present tag NEW): %lu\n",
	    false_pos, false_neg);
	printf("  tags inserted after the fill: %llu (the table grew by that much meanwhile)\n",
	    (unsigned long long)inserted);
	if (quick)
		printf("  (quick run: too short for meaningful numbers)\n");

	if (keep)
		printf("\nkept %s\n", path);
	else if (unlink(path) != 0)
		msg_warn("unlink %s: %s", path, strerror(errno));
	return false_pos || false_neg ? 1 : 0;
}
