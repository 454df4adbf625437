/*
 * bench-receive - `mixnode receive` as an MTA runs it: one process per
 * mail, from concurrent feeders. Reports packets committed per second
 * (every commit is durable: the hook fsyncs the entry, the pool directory
 * and the replay cache before it exits 0).
 *
 * Usage: bench/bench-receive -c CONF [-n packets] [-j feeders]
 *        [-m mixnode] [-k forward|deliver] [-v]        (--help explains)
 *
 * The node must exist (mixnode init, mixnode publish). The benchmark reads
 * its descriptor (SPOOL/descriptor), builds n packets for it in memory
 * (forward packets by default: the node is the first of two hops; or
 * 1-hop deliver packets), armors each in a plain mail, then starts the
 * feeders. Each feeder, like Postfix's pipe(8), runs one
 * `mixnode -c CONF receive` per mail with the mail on a pipe to its
 * standard input and waits for it before the next. Mail i goes to feeder
 * i mod j. The rate is the number of new pool entries divided by the time
 * from the first fork to the last exit. At the end pool/ must hold exactly
 * n entries more than at the start, every hook must have exited 0, and
 * the statistics must show n commits; otherwise the benchmark fails
 * (exit 1).
 *
 * mixnode refuses to run as root, and so does this program: run both as
 * the node's user. As root, for example:
 *     useradd --system --user-group --shell /usr/sbin/nologin mixtest
 *     install -d -o mixtest -m 0700 /var/tmp/bn
 *     printf 'name = bench\naddress = bench@mix.test\nspool_dir = %s\n' \
 *         /var/tmp/bn/spool > /var/tmp/bn/mixnode.conf
 *     setpriv --reuid=mixtest --regid=mixtest --init-groups -- \
 *         src/mixnode -c /var/tmp/bn/mixnode.conf init
 *     setpriv ... src/mixnode -c /var/tmp/bn/mixnode.conf publish
 *     setpriv ... bench/bench-receive -c /var/tmp/bn/mixnode.conf
 * (runuser -u mixtest -- works too.) Put the spool on the file system
 * the node will use: the durable rate is that file system's fsync rate.
 *
 * doc/PERFORMANCE.md records the results.
 */
#include <config.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#include "armor.h"
#include "benchutil.h"
#include "conf.h"
#include "descriptor.h"
#include "log.h"
#include "mcrypto.h"
#include "mem.h"
#include "nodeconf.h"
#include "pkt.h"
#include "stats.h"

#define DEFAULT_N	2000
#define MAX_N		20000		/* mails are held in memory: 28 KB each */
#define DEFAULT_J	2
#define MAX_J		64
#define TARGET_RATE	500.0		/* packets/s, two feeders (issue 3) */
#define NEXT_ADDR	"next-hop@bench.invalid"
#define MAIL_HEAD_MAX	256

static const char body[] = "bench-receive: a message for the exit.\n";

/* What one hook run gave: filled in by the feeder, read by the parent */
struct run {
	int status;		/* waitpid status; -1: never started */
	double seconds;		/* fork to exit */
};

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: bench-receive -c CONF [-n packets] [-j feeders] [-m mixnode]\n"
	    "                     [-k forward|deliver] [-v]\n"
	    "\n"
	    "Runs `mixnode -c CONF receive` once per mail, with the mail on its\n"
	    "standard input, from j concurrent feeders (as an MTA does), and\n"
	    "reports the packets committed per second.\n"
	    "\n"
	    "  -c CONF     the node's configuration (the node must be initialised\n"
	    "              and its descriptor published)\n"
	    "  -n packets  how many mails (default %d, at most %d)\n"
	    "  -j feeders  concurrent feeders (default %d, at most %d)\n"
	    "  -m mixnode  the program to run (default src/mixnode)\n"
	    "  -k kind     forward (default: the node is hop 1 of 2) or deliver\n"
	    "              (a 1-hop packet)\n"
	    "  -v          keep the hooks' standard error (default: discarded)\n"
	    "\n"
	    "Run it as the node's user, never as root (mixnode refuses root).\n",
	    DEFAULT_N, MAX_N, DEFAULT_J, MAX_J);
}

/* count_dir - entries of dir other than . and .., or -1 */
static long
count_dir(const char *dir)
{
	struct dirent *de;
	long n = 0;
	DIR *d;

	if ((d = opendir(dir)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

/* read_file - the whole of a small file, NUL-terminated */
static char *
read_file(const char *path, size_t max, size_t *len)
{
	char *buf = mem_alloc(max + 1);
	size_t n = 0;
	ssize_t got;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		msg_fatal("open %s: %s", path, strerror(errno));
	while (n < max && (got = read(fd, buf + n, max - n)) != 0) {
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			msg_fatal("read %s: %s", path, strerror(errno));
		n += (size_t)got;
	}
	close(fd);
	buf[n] = '\0';
	*len = n;
	return buf;
}

static const char *
fs_name(long type)
{
	switch ((unsigned long)type) {
	case 0xef53UL: return "ext2/3/4";
	case 0x58465342UL: return "xfs";
	case 0x9123683eUL: return "btrfs";
	case 0x01021994UL: return "tmpfs";
	case 0x794c7630UL: return "overlayfs";
	case 0x2fc12fc1UL: return "zfs";
	default: return "other";
	}
}

/*
 * feed_one - one hook run with mail on its stdin; returns its wait status.
 * posix_spawn (a vfork-style clone) starts the hook: this benchmark holds
 * every mail in memory, and a plain fork() would copy its page tables for
 * each mail, a cost Postfix's small pipe(8) process does not have.
 */
static int
feed_one(const char *mixnode, const char *conf, const char *mail, size_t len, int verbose)
{
	posix_spawn_file_actions_t fa;
	char *argv[5];
	pid_t pid;
	int p[2], st, err;
	size_t off = 0;
	ssize_t w;

	if (pipe(p) != 0)
		msg_fatal("pipe: %s", strerror(errno));
	if (posix_spawn_file_actions_init(&fa) != 0 ||
	    posix_spawn_file_actions_adddup2(&fa, p[0], STDIN_FILENO) != 0 ||
	    posix_spawn_file_actions_addclose(&fa, p[1]) != 0 ||
	    posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null",
		O_WRONLY, 0) != 0 ||
	    (!verbose && posix_spawn_file_actions_addopen(&fa, STDERR_FILENO,
		"/dev/null", O_WRONLY, 0) != 0))
		msg_fatal("posix_spawn_file_actions: out of memory");
	argv[0] = (char *)mixnode;
	argv[1] = (char *)"-c";
	argv[2] = (char *)conf;
	argv[3] = (char *)"receive";
	argv[4] = NULL;
	if ((err = posix_spawn(&pid, mixnode, &fa, NULL, argv, environ)) != 0)
		msg_fatal("posix_spawn %s: %s", mixnode, strerror(err));
	posix_spawn_file_actions_destroy(&fa);
	close(p[0]);
	while (off < len) {
		w = write(p[1], mail + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			break;	/* EPIPE: the hook stopped reading; its status says why */
		off += (size_t)w;
	}
	close(p[1]);
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			msg_fatal("waitpid: %s", strerror(errno));
	return st;
}

int
main(int argc, char **argv)
{
	const char *conf_path = NULL, *mixnode = "src/mixnode", *spool;
	char err[CONF_ERR_MAX], path[4096], head[MAIL_HEAD_MAX];
	struct stats_snapshot *s0, *s1;
	struct descriptor desc;
	const struct desc_mixkey *key;
	struct pkt_hop hops[2];
	struct run *runs;
	struct statfs fs;
	struct conf conf;
	char *dtext, *mails;
	uint8_t pkt[PKT_SIZE], next_sk[32];
	size_t dlen, hlen, mail_len, max_size, nhops;
	long pool0, pool1, n = DEFAULT_N, j = DEFAULT_J, i, k, ok = 0, tempfail = 0, other = 0,
	    signalled = 0, notrun = 0;
	double t0, t1, build, rate, *lat;
	int c, verbose = 0, forward = 1, failed = 0;
	unsigned line;
	char *end;
	pid_t *feeders;

	msg_set_progname("bench-receive");
	for (i = 1; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return 0;
		}
	while ((c = getopt(argc, argv, "c:hj:k:m:n:v")) != -1) {
		switch (c) {
		case 'c':
			conf_path = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'j':
			errno = 0;
			j = strtol(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || j < 1 || j > MAX_J) {
				usage(stderr);
				return 2;
			}
			break;
		case 'k':
			if (strcmp(optarg, "forward") == 0)
				forward = 1;
			else if (strcmp(optarg, "deliver") == 0)
				forward = 0;
			else {
				usage(stderr);
				return 2;
			}
			break;
		case 'm':
			mixnode = optarg;
			break;
		case 'n':
			errno = 0;
			n = strtol(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || n < 1 || n > MAX_N) {
				usage(stderr);
				return 2;
			}
			break;
		case 'v':
			verbose = 1;
			break;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc || conf_path == NULL) {
		usage(stderr);
		return 2;
	}
	if (getuid() == 0 || geteuid() == 0) {
		fprintf(stderr, "bench-receive: refusing to run as root (mixnode receive would "
		    "refuse too);\nrun it as the node's user, e.g. setpriv --reuid=USER "
		    "--regid=USER --init-groups -- %s ...\n", argv[0]);
		return 77;
	}
	if (access(mixnode, X_OK) != 0)
		msg_fatal("%s: %s (give the program with -m)", mixnode, strerror(errno));
	if (mcrypto_init() != 0)
		msg_fatal("cannot initialise the crypto libraries");
	nodeconf_init(&conf);
	if (conf_load(&conf, conf_path, err, sizeof err) != 0)
		msg_fatal("%s", err);
	spool = conf_get(&conf, "spool_dir");
	max_size = (size_t)conf_get_num(&conf, "max_message_size");

	/* The packets, made before the clock starts */
	snprintf(path, sizeof path, "%s/descriptor", spool);
	dtext = read_file(path, DESC_MAX_SIZE, &dlen);
	if (desc_parse(dtext, dlen, &desc, &line) != DESC_OK)
		msg_fatal("%s: not a valid descriptor (line %u); run mixnode publish", path, line);
	if ((key = desc_key_usable(&desc, (int64_t)time(NULL))) == NULL)
		msg_fatal("%s: no key usable now; run mixnode keys and publish", path);
	memcpy(hops[0].pk, key->pk, sizeof hops[0].pk);
	hops[0].addr = desc.address;
	hops[0].delay = 0;
	nhops = 1;
	if (forward) {
		mcrypto_random(NULL, next_sk, sizeof next_sk);
		mcrypto_x25519_base(hops[1].pk, next_sk);
		mcrypto_wipe(next_sk, sizeof next_sk);
		hops[1].addr = NEXT_ADDR;
		hops[1].delay = 0;
		nhops = 2;
	}
	hlen = (size_t)snprintf(head, sizeof head,
	    "From: bench <bench@sender.invalid>\nTo: %s\nSubject: bench\n\n", desc.address);
	mail_len = hlen + ARMOR_SIZE - 1;
	if (mail_len > max_size)
		msg_fatal("a mail (%zu bytes) exceeds max_message_size (%zu)", mail_len, max_size);
	mails = mem_alloc((size_t)n * mail_len);
	t0 = bench_now();
	for (i = 0; i < n; i++) {
		char *m = mails + (size_t)i * mail_len;
		char arm[ARMOR_SIZE];

		if (pkt_build(pkt, hops, nhops, PKT_CMD_DELIVER, (const uint8_t *)body,
		    sizeof body - 1, NULL) != PKT_OK)
			msg_fatal("pkt_build failed");
		if (armor_encode(arm, sizeof arm, pkt) != ARMOR_SIZE - 1)
			msg_fatal("armor_encode failed");
		memcpy(m, head, hlen);
		memcpy(m + hlen, arm, ARMOR_SIZE - 1);
	}
	build = bench_now() - t0;

	bench_print_machine("bench-receive");
	printf("command:   ");
	for (i = 0; i < argc; i++)
		printf("%s%s", i ? " " : "", argv[i]);
	printf("\n");
	if (statfs(spool, &fs) == 0)
		printf("spool:     %s on %s (f_type 0x%lx)\n", spool, fs_name((long)fs.f_type),
		    (unsigned long)fs.f_type);
	printf("mails:     %ld %s packets (%zu hops) in %zu-byte mails, built in %.2f s\n",
	    n, forward ? "forward" : "deliver", nhops, mail_len, build);
	printf("method:    %ld feeder(s), each runs `%s -c %s receive` once per mail,\n"
	    "           mail on a pipe to stdin, and waits for it; rate = new pool\n"
	    "           entries / time from the first fork to the last exit\n\n",
	    j, mixnode, conf_path);
	fflush(stdout);

	snprintf(path, sizeof path, "%s/pool", spool);
	if ((pool0 = count_dir(path)) < 0)
		msg_fatal("%s: %s", path, strerror(errno));
	s0 = mem_alloc(sizeof *s0);
	s1 = mem_alloc(sizeof *s1);
	if (stats_read(spool, time(NULL), s0) != 0)
		msg_fatal("%s/stats: %s", spool, strerror(errno));
	runs = mmap(NULL, (size_t)n * sizeof *runs, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (runs == MAP_FAILED)
		msg_fatal("mmap: %s", strerror(errno));
	for (i = 0; i < n; i++)
		runs[i].status = -1;
	(void)signal(SIGPIPE, SIG_IGN);
	feeders = mem_alloc((size_t)j * sizeof *feeders);

	t0 = bench_now();
	for (k = 0; k < j; k++) {
		if ((feeders[k] = fork()) < 0)
			msg_fatal("fork: %s", strerror(errno));
		if (feeders[k] == 0) {
			for (i = k; i < n; i += j) {
				double a = bench_now();

				runs[i].status = feed_one(mixnode, conf_path,
				    mails + (size_t)i * mail_len, mail_len, verbose);
				runs[i].seconds = bench_now() - a;
			}
			_exit(0);
		}
	}
	for (k = 0; k < j; k++) {
		int st;

		while (waitpid(feeders[k], &st, 0) < 0)
			if (errno != EINTR)
				msg_fatal("waitpid: %s", strerror(errno));
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			msg_fatal("feeder %ld failed", k);
	}
	t1 = bench_now();

	if ((pool1 = count_dir(path)) < 0)
		msg_fatal("%s: %s", path, strerror(errno));
	if (stats_read(spool, time(NULL), s1) != 0)
		msg_fatal("%s/stats: %s", spool, strerror(errno));
	lat = mem_alloc((size_t)n * sizeof *lat);
	for (i = 0; i < n; i++) {
		int st = runs[i].status;

		lat[i] = runs[i].seconds;
		if (st == -1)
			notrun++;
		else if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
			ok++;
		else if (WIFEXITED(st) && WEXITSTATUS(st) == 75)
			tempfail++;
		else if (WIFSIGNALED(st))
			signalled++;
		else
			other++;
	}
	qsort(lat, (size_t)n, sizeof *lat, bench_cmp_double);
	rate = (double)(pool1 - pool0) / (t1 - t0);

	printf("hooks:     %ld exited 0, %ld exited 75, %ld other status, %ld killed by a "
	    "signal, %ld not run\n", ok, tempfail, other, signalled, notrun);
	printf("latency:   per hook (fork to exit): median %.1f ms, 90%% %.1f ms, 99%% %.1f ms, "
	    "max %.1f ms\n", lat[n / 2] * 1e3, lat[n * 9 / 10] * 1e3, lat[n * 99 / 100] * 1e3,
	    lat[n - 1] * 1e3);
	printf("counters:  ");
	for (c = 0; c < STATS_NCOUNTERS; c++)
		if (s1->total[c] != s0->total[c])
			printf("%s +%llu  ", stats_name((enum stats_counter)c),
			    (unsigned long long)(s1->total[c] - s0->total[c]));
	printf("\n");
	printf("pool:      %ld entries before, %ld after (+%ld, expected +%ld)\n",
	    pool0, pool1, pool1 - pool0, n);
	printf("elapsed:   %.2f s\n", t1 - t0);
	printf("rate:      %.0f packets/s committed, durable (%ld feeder%s)\n", rate, j,
	    j == 1 ? "" : "s");
	if (pool1 - pool0 != n) {
		printf("FAIL: the pool gained %ld entries, not %ld\n", pool1 - pool0, n);
		failed = 1;
	}
	if (ok != n) {
		printf("FAIL: %ld hooks did not exit 0\n", n - ok);
		failed = 1;
	}
	if (s1->total[forward ? STATS_IN_FORWARD : STATS_IN_DELIVER] -
	    s0->total[forward ? STATS_IN_FORWARD : STATS_IN_DELIVER] != (uint64_t)n) {
		printf("FAIL: the statistics do not count %ld commits\n", n);
		failed = 1;
	}
	printf("target:    %.0f packets/s with 2 feeders: %s\n", TARGET_RATE,
	    j != 2 ? "not measured (run with -j 2)" : rate >= TARGET_RATE ? "met" : "NOT met");

	munmap(runs, (size_t)n * sizeof *runs);
	mem_free(lat);
	mem_free(feeders);
	mem_free(s0);
	mem_free(s1);
	mem_free(mails);
	mem_free(dtext);
	conf_free(&conf);
	return failed;
}
