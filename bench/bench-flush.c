/*
 * bench-flush - the flusher's speed: a whole `mixnode flush` of a full
 * pool, and the selection over a very large pool.
 *
 * usage: bench-flush -c CONF -m MIXNODE [-n N]     (flush mode)
 *        bench-flush -S N -d DIR                   (selection mode)
 *
 * Flush mode fills the node's pool/ with N forward entries (default
 * 10,000; each a random 20,480-byte packet for bench@sink.test, written
 * as the flusher writes entries: tmp, fsync, link), then runs
 * `MIXNODE -c CONF flush` once and reports entries handed over per
 * second of that run, checking that the pool is empty afterwards. The
 * node's settings decide the rest: bench/run-flush.sh makes a node with
 * mixing = threshold, mix_threshold = 1 and a private Postfix on
 * 127.0.0.1 as its relay, so that every entry leaves in the one round.
 * Run it as the node's user (mixnode refuses root).
 *
 * Selection mode makes N empty files with entry names in DIR/pool (made
 * once and kept, so that a second run measures a warm directory) and
 * times what a mixing round does before it reads any entry: list pool/
 * (fpool_list) and decide who leaves (mixing_select) under the binomial
 * and the mixmaster rule with the default settings.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "benchutil.h"
#include "conf.h"
#include "log.h"
#include "mcrypto.h"
#include "mem.h"
#include "mixing.h"
#include "nodeconf.h"
#include "pkt.h"
#include "pool.h"
#include "poolflush.h"

extern char **environ;

static void
usage(void)
{
	fprintf(stderr, "usage: bench-flush -c CONF -m MIXNODE [-n N]\n"
	    "       bench-flush -S N -d DIR\n");
	exit(64);
}

static size_t
count_pool(struct fpool *fp)
{
	char **names;
	size_t n;

	if (fpool_list(fp, FP_POOL, &names, &n) != POOL_OK)
		msg_fatal("list pool/: %s", strerror(errno));
	pool_list_free(names, n);
	return n;
}

static void
fill(const char *spool, size_t n)
{
	uint8_t rnd[16], *pkt = mem_alloc(PKT_SIZE);
	char name[POOL_NAME_LEN + 1];
	struct pool_entry e;
	struct fpool *fp;
	size_t i;

	if (fpool_open(&fp, spool) != POOL_OK)
		msg_fatal("spool %s: %s", spool, strerror(errno));
	for (i = 0; i < n; i++) {
		memset(&e, 0, sizeof e);
		e.kind = POOL_FORWARD;
		mcrypto_random(NULL, e.tag, sizeof e.tag);
		(void)snprintf(e.addr, sizeof e.addr, "bench@sink.test");
		mcrypto_random(NULL, pkt, PKT_SIZE);
		e.data = pkt;
		e.data_len = PKT_SIZE;
		mcrypto_random(NULL, rnd, sizeof rnd);
		mcrypto_hex(name, rnd, sizeof rnd);
		if (fpool_write(fp, FP_POOL, name, &e) != POOL_OK)
			msg_fatal("write entry: %s", strerror(errno));
	}
	if (fpool_sync(fp, FP_POOL) != POOL_OK)
		msg_fatal("sync pool/: %s", strerror(errno));
	fpool_close(fp);
	mem_free(pkt);
}

static int
run_flush(const char *mixnode, const char *conf)
{
	char *argv[5];
	pid_t pid;
	int st, err;

	argv[0] = (char *)mixnode;
	argv[1] = (char *)"-c";
	argv[2] = (char *)conf;
	argv[3] = (char *)"flush";
	argv[4] = NULL;
	if ((err = posix_spawn(&pid, mixnode, NULL, NULL, argv, environ)) != 0)
		msg_fatal("posix_spawn %s: %s", mixnode, strerror(err));
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			msg_fatal("waitpid: %s", strerror(errno));
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void
flush_mode(const char *conf_path, const char *mixnode, size_t n)
{
	char err[1024];
	struct conf c;
	struct fpool *fp;
	const char *spool;
	double t0, t1, t2;
	size_t left;
	int st;

	nodeconf_init(&c);
	if (conf_load(&c, conf_path, err, sizeof err) != 0)
		msg_fatal("%s", err);
	spool = conf_get(&c, "spool_dir");
	t0 = bench_now();
	fill(spool, n);
	t1 = bench_now();
	printf("filled:    %zu entries in %.2f s\n", n, t1 - t0);
	st = run_flush(mixnode, conf_path);
	t2 = bench_now();
	if (fpool_open(&fp, spool) != POOL_OK)
		msg_fatal("spool %s: %s", spool, strerror(errno));
	left = count_pool(fp);
	fpool_close(fp);
	printf("flush:     exit %d, %.2f s, %zu left in pool/\n", st, t2 - t1, left);
	printf("rate:      %.0f entries/s handed to the relay (%s)\n",
	    (double)(n - left) / (t2 - t1), conf_get(&c, "relay"));
	printf("target:    1000/s %s\n", st == 0 && left == 0 &&
	    (double)n / (t2 - t1) >= 1000 ? "met" : "NOT met");
	conf_free(&c);
}

static void
select_mode(const char *dir, size_t n)
{
	struct mixing_params mp;
	char path[4096], name[POOL_NAME_LEN + 1], **names;
	struct fpool *fp;
	uint8_t rnd[16], *leave;
	size_t have, k, picked, got;
	double t0, t1, t2;
	int fd, pass;

	(void)mkdir(dir, 0700);
	if (fpool_open(&fp, dir) != POOL_OK)
		msg_fatal("%s: %s", dir, strerror(errno));
	have = count_pool(fp);
	for (k = have; k < n; k++) {
		mcrypto_random(NULL, rnd, sizeof rnd);
		mcrypto_hex(name, rnd, sizeof rnd);
		(void)snprintf(path, sizeof path, "%s/pool/%s", dir, name);
		if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600)) < 0)
			msg_fatal("%s: %s", path, strerror(errno));
		(void)close(fd);
	}
	for (pass = 0; pass < 2; pass++) {
		mixing_params_default(&mp);
		mp.strategy = pass == 0 ? MIXING_BINOMIAL : MIXING_MIXMASTER;
		t0 = bench_now();
		if (fpool_list(fp, FP_POOL, &names, &got) != POOL_OK)
			msg_fatal("list: %s", strerror(errno));
		t1 = bench_now();
		leave = mem_calloc(got + 1, 1);
		picked = mixing_select(&mp, NULL, got, 1800000000, 0, leave);
		t2 = bench_now();
		printf("select %-9s pool %zu: list %.3f s, select %.3f s, total %.3f s "
		    "(%zu leave)  target 2 s %s\n", mixing_strategy_name(mp.strategy), got,
		    t1 - t0, t2 - t1, t2 - t0, picked, t2 - t0 < 2.0 ? "met" : "NOT met");
		mem_free(leave);
		pool_list_free(names, got);
	}
	fpool_close(fp);
}

int
main(int argc, char **argv)
{
	const char *conf = NULL, *mixnode = NULL, *dir = NULL;
	size_t n = 10000, sel = 0;
	int ch;

	msg_set_progname("bench-flush");
	while ((ch = getopt(argc, argv, "c:m:n:S:d:")) != -1) {
		switch (ch) {
		case 'c': conf = optarg; break;
		case 'm': mixnode = optarg; break;
		case 'n': n = (size_t)strtoul(optarg, NULL, 10); break;
		case 'S': sel = (size_t)strtoul(optarg, NULL, 10); break;
		case 'd': dir = optarg; break;
		default: usage();
		}
	}
	if (mcrypto_init_flags(0) != 0)
		msg_fatal("crypto init");
	bench_print_machine("bench-flush");
	if (sel > 0 && dir != NULL)
		select_mode(dir, sel);
	else if (conf != NULL && mixnode != NULL && n > 0)
		flush_mode(conf, mixnode, n);
	else
		usage();
	return 0;
}
