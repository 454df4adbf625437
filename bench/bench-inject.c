/*
 * bench-inject.c - injects prepared mails into an MTA over SMTP in a few
 * parallel sessions and times how long until the MTA has accepted them
 * all, and optionally until a node's pool holds a given number of entries.
 * The driver is bench/run-e2e.sh (doc/PERFORMANCE.md, section 5).
 *
 * usage: bench-inject [-r RELAY -t RCPT [-s SENDER] [-j SESSIONS] [-b BATCH]]
 *                     [-p POOLDIR -n COUNT] [-W SECONDS] < LIST
 *
 *   -r RELAY    smtp://127.0.0.1:PORT (relay_parse); without -r nothing is
 *               sent and only the pool is watched (LIST is not read)
 *   -t RCPT     the envelope recipient of every mail
 *   -s SENDER   the envelope sender (default bench-inject@localhost.invalid)
 *   -j SESSIONS parallel SMTP sessions, one thread each (default 4, 1-16)
 *   -b BATCH    mails per session (default 100, 1-127: relay_send sends a
 *               batch under 128 over one connection, so each thread holds
 *               exactly one session at a time)
 *   -p POOLDIR  a node's pool/ directory to watch (needs read access)
 *   -n COUNT    stop watching when POOLDIR holds COUNT entries or more
 *   -W SECONDS  give up watching after this long (default 600)
 *
 * LIST: one file name per line, each file a whole mail. Every file is read
 * into memory before the clock starts. The threads take batches from one
 * shared counter, so a slow session does not hold back the others.
 *
 * Output (stdout): the machine header (bench_print_machine), then
 * "key=value" lines for run-e2e.sh:
 *   sent=N accepted=N smtp_s=T smtp_rate=R     (accepted: SMTP 2xx)
 *   pool_s=T pool_rate=R pool_at_smtp_end=K     (with -p)
 * T in seconds from the first connection (or, without -r, from the
 * start); pool_at_smtp_end is how many entries the pool held when the
 * last SMTP session ended. Exit 0 when every mail was accepted and the
 * pool (if watched) reached COUNT; 1 otherwise; 2 on a usage error.
 *
 * Privacy: prints counts and times only, never an address or a file name.
 */
#include <config.h>

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "benchutil.h"
#include "log.h"
#include "mcrypto.h"
#include "mem.h"
#include "relay.h"

#define LIST_LINE_MAX	4096
#define MAIL_MAX	(4 * 1024 * 1024)
#define SESSIONS_MAX	16
#define BATCH_MAX	127
#define POLL_NS		20000000L	/* 20 ms between pool counts */

struct mail {
	uint8_t *data;
	size_t len;
};

static struct relay relay;
static struct mail *mails;
static size_t nmails;
static size_t batch = 100;
static const char *sender = "bench-inject@localhost.invalid";
static const char *rcpt;
static atomic_size_t next_mail;
static atomic_size_t accepted;

static void
usage(void)
{
	fputs("usage: bench-inject [-r RELAY -t RCPT [-s SENDER] [-j SESSIONS] [-b BATCH]]\n"
	    "                    [-p POOLDIR -n COUNT] [-W SECONDS] < LIST\n", stderr);
	exit(2);
}

/* number - a decimal in [lo, hi] or a usage error */
static unsigned long
number(const char *s, unsigned long lo, unsigned long hi)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
		usage();
	return v;
}

/* slurp - a whole file into memory; exits 1 on error */
static void
slurp(const char *path, struct mail *m)
{
	FILE *fp = fopen(path, "rb");
	size_t cap = 0, n = 0, r;
	uint8_t *buf = NULL;

	if (fp == NULL) {
		fprintf(stderr, "bench-inject: cannot open a mail file: %s\n", strerror(errno));
		exit(1);
	}
	do {
		if (n == cap) {
			if (cap >= MAIL_MAX) {
				fputs("bench-inject: a mail file is too large\n", stderr);
				exit(1);
			}
			cap = cap ? cap * 2 : 65536;
			buf = mem_realloc(buf, cap);
		}
		r = fread(buf + n, 1, cap - n, fp);
		n += r;
	} while (r > 0);
	if (ferror(fp) || n == 0) {
		fputs("bench-inject: cannot read a mail file (or it is empty)\n", stderr);
		exit(1);
	}
	fclose(fp);
	m->data = buf;
	m->len = n;
}

/* read_list - every file named on stdin into mails[] */
static void
read_list(void)
{
	char line[LIST_LINE_MAX];
	size_t cap = 0, len;

	while (fgets(line, sizeof line, stdin) != NULL) {
		len = strlen(line);
		if (len > 0 && line[len - 1] == '\n')
			line[--len] = '\0';
		else if (!feof(stdin)) {
			fputs("bench-inject: a list line is too long\n", stderr);
			exit(2);
		}
		if (len == 0)
			continue;
		if (nmails == cap) {
			cap = cap ? cap * 2 : 1024;
			mails = mem_realloc(mails, cap * sizeof *mails);
		}
		slurp(line, &mails[nmails++]);
	}
	if (nmails == 0) {
		fputs("bench-inject: the list names no mail\n", stderr);
		exit(2);
	}
}

/* session - one thread: batches of up to `batch` mails, one SMTP session each */
static void *
session(void *arg)
{
	struct relay_msg msgs[BATCH_MAX];
	const char *const rc[1] = { rcpt };
	char err[512];
	size_t first, n, i, ok;

	(void)arg;
	for (;;) {
		first = atomic_fetch_add(&next_mail, batch);
		if (first >= nmails)
			break;
		n = nmails - first < batch ? nmails - first : batch;
		memset(msgs, 0, sizeof msgs);
		for (i = 0; i < n; i++) {
			msgs[i].sender = sender;
			msgs[i].rcpt = rc;
			msgs[i].nrcpt = 1;
			msgs[i].data = mails[first + i].data;
			msgs[i].len = mails[first + i].len;
		}
		ok = relay_send(&relay, msgs, n, err, sizeof err);
		atomic_fetch_add(&accepted, ok);
		if (ok != n)
			fprintf(stderr, "bench-inject: %zu of %zu not accepted: %s\n", n - ok, n, err);
	}
	return NULL;
}

/* pool_count - entries (names not starting with '.') in dir; -1 on error */
static long
pool_count(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	long n = 0;

	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

struct watch {
	const char *dir;
	long want;
	double t0, limit;
	double reached;		/* seconds after t0; < 0: not reached */
	atomic_int stop;
};

/* watcher - counts the pool every POLL_NS until it holds `want` */
static void *
watcher(void *arg)
{
	struct watch *w = arg;
	const struct timespec ts = { 0, POLL_NS };
	long c;

	w->reached = -1;
	while (!atomic_load(&w->stop)) {
		c = pool_count(w->dir);
		if (c < 0) {
			fprintf(stderr, "bench-inject: cannot read the pool directory: %s\n",
			    strerror(errno));
			return NULL;
		}
		if (c >= w->want) {
			w->reached = bench_now() - w->t0;
			return NULL;
		}
		if (bench_now() - w->t0 > w->limit)
			return NULL;
		nanosleep(&ts, NULL);
	}
	return NULL;
}

int
main(int argc, char **argv)
{
	const char *spec = NULL;
	char err[256];
	unsigned long sessions = 4;
	struct watch w = { .dir = NULL, .want = -1, .limit = 600 };
	pthread_t tid[SESSIONS_MAX], wt;
	unsigned long k, started = 0;
	double t0, t_smtp = 0;
	long at_end = -1;
	int c, rc = 0, watching = 0;

	while ((c = getopt(argc, argv, "r:t:s:j:b:p:n:W:")) != -1) {
		switch (c) {
		case 'r': spec = optarg; break;
		case 't': rcpt = optarg; break;
		case 's': sender = optarg; break;
		case 'j': sessions = number(optarg, 1, SESSIONS_MAX); break;
		case 'b': batch = number(optarg, 1, BATCH_MAX); break;
		case 'p': w.dir = optarg; break;
		case 'n': w.want = (long)number(optarg, 1, 100000000); break;
		case 'W': w.limit = (double)number(optarg, 1, 86400); break;
		default: usage();
		}
	}
	if (optind != argc || (spec != NULL && rcpt == NULL) || (spec == NULL && w.dir == NULL) ||
	    ((w.dir == NULL) != (w.want < 0)))
		usage();
	if (mcrypto_init() != 0) {
		fputs("bench-inject: mcrypto_init failed\n", stderr);
		return 1;
	}
	if (spec != NULL) {
		if (relay_parse(spec, &relay, err, sizeof err) != 0) {
			fprintf(stderr, "bench-inject: -r: %s\n", err);
			return 2;
		}
		read_list();
	}
	bench_print_machine("bench-inject");
	if (w.dir != NULL && pool_count(w.dir) < 0) {
		fprintf(stderr, "bench-inject: cannot read the pool directory: %s\n", strerror(errno));
		return 1;
	}

	t0 = bench_now();
	w.t0 = t0;
	atomic_init(&w.stop, 0);
	if (w.dir != NULL) {
		if (pthread_create(&wt, NULL, watcher, &w) != 0) {
			fputs("bench-inject: cannot start the pool watcher\n", stderr);
			return 1;
		}
		watching = 1;
	}
	if (spec != NULL) {
		for (k = 0; k < sessions; k++) {
			if (pthread_create(&tid[k], NULL, session, NULL) != 0)
				break;
			started++;
		}
		if (started == 0) {
			fputs("bench-inject: cannot start a session thread\n", stderr);
			atomic_store(&w.stop, 1);
			rc = 1;
		}
		for (k = 0; k < started; k++)
			(void)pthread_join(tid[k], NULL);
		t_smtp = bench_now() - t0;
		if (w.dir != NULL)
			at_end = pool_count(w.dir);
		printf("sent=%zu accepted=%zu sessions=%lu batch=%zu smtp_s=%.3f smtp_rate=%.1f\n",
		    nmails, (size_t)atomic_load(&accepted), started, batch, t_smtp,
		    (double)atomic_load(&accepted) / t_smtp);
		if (atomic_load(&accepted) != nmails) {
			/* the pool cannot reach COUNT: no use waiting for it */
			atomic_store(&w.stop, 1);
			rc = 1;
		}
	}
	if (watching) {
		(void)pthread_join(wt, NULL);
		if (w.reached < 0) {
			printf("pool_s=none pool_count=%ld want=%ld\n", pool_count(w.dir), w.want);
			rc = 1;
		} else {
			printf("pool_s=%.3f pool_rate=%.1f pool_at_smtp_end=%ld\n", w.reached,
			    (double)w.want / w.reached, at_end);
		}
	}
	fflush(stdout);
	return rc;
}
