/*
 * bench-packet - how fast one core builds and unwraps native packets.
 *
 * Usage: bench/bench-packet [-n] [-t seconds]      (--help explains)
 *
 * Measures, at the real packet size (PKT_SIZE), on one thread:
 *   - pkt_unwrap() for a forward hop (hop 3 of a 5-hop path) and for the
 *     exit hop (deliver), with one key and with a ring of 3 keys whose
 *     right key is the last (trial decryption while keys overlap);
 *   - pkt_build() for 1, 5 and 16 hops;
 *   - the parts that justify the design: one X25519, the HBSH payload
 *     cipher (sprp_decrypt) against a Lioness-shaped alternative written
 *     here with the same mcrypto calls, the header MAC, the header stream,
 *     and the pieces of the HBSH cipher itself.
 * It then prints a few lines computed from those measurements only (the
 * cost of per-hop blinding, ratios, the target check).
 *
 * Method: every measurement gets a warm-up run, then RUNS timed runs of
 * seconds / RUNS each, taken in RUNS passes over all the measurements so
 * that a slow spell of a shared machine hits one run of each rather than
 * every run of one. The table shows the median run (and the spread of all
 * runs, so that the noise is visible). A run calls the operation in
 * batches of about BATCH_SECONDS until its time is up or MAX_OPS_PER_RUN
 * calls are done, whichever comes first. The process is not pinned to a
 * CPU.
 *
 * doc/PERFORMANCE.md records the results and reads them.
 */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "benchutil.h"
#include "log.h"
#include "mcrypto.h"
#include "pkt.h"
#include "sprp.h"

#define RUNS		5		/* timed runs per measurement; median shown */
#define MAX_OPS_PER_RUN	100000000UL	/* a run always ends, even if the clock stalls */
#define BATCH_SECONDS	50e-6		/* calls between two clock readings */
#define DEFAULT_SECONDS	1.0
#define QUICK_SECONDS	0.05		/* -n: a smoke test, numbers not meaningful */
#define TARGET_UNWRAP	12000.0		/* packets/s on one core (project target) */
#define HDR_STREAM_LEN	3400		/* beta plus one routing block */
#define PATH_HOPS	5
#define RING_KEYS	3
#define NODES		PKT_MAX_HOPS

/* Everything the operations work on, set up once. */
static struct pkt_key *node;		/* NODES node keys (secret memory) */
static struct pkt_key *ring_fwd;	/* RING_KEYS keys, the right one last */
static struct pkt_key *ring_exit;
static struct pkt_hop hops[NODES];
static char addrs[NODES][32];
static uint8_t pkt_mid[PKT_SIZE];	/* as it reaches hop 3 of 5 */
static uint8_t pkt_exit[PKT_SIZE];	/* as it reaches hop 5 of 5 */
static uint8_t out[PKT_SIZE];
static uint8_t body[PKT_BODY_MAX];
static uint8_t payload[PKT_PAYLOAD_SIZE];
static uint8_t header[PKT_HEADER_SIZE];
static uint8_t stream_buf[HDR_STREAM_LEN];
static uint8_t sym_key[4][32];
static uint8_t xnonce[MCRYPTO_XNONCE_BYTES];
static uint8_t digest[32];
static uint8_t shared[32];
static struct sprp_key sprp_k;

static void
check_unwrap(const uint8_t *in, const struct pkt_key *keys, size_t nkeys,
    enum pkt_cmd want, size_t want_index)
{
	struct pkt_result res;
	enum pkt_err err;

	err = pkt_unwrap(in, PKT_SIZE, keys, nkeys, &res, out);
	if (err != PKT_OK)
		msg_panic("pkt_unwrap: %s", pkt_strerror(err));
	if (res.cmd != want || res.key_index != want_index)
		msg_panic("pkt_unwrap: %s with key %zu, expected %s with key %zu",
		    pkt_cmd_name(res.cmd), res.key_index, pkt_cmd_name(want), want_index);
	if (want == PKT_CMD_DELIVER && res.out_len != sizeof body)
		msg_panic("pkt_unwrap: delivered %zu bytes, sent %zu", res.out_len, sizeof body);
}

static void
build(size_t nhops)
{
	enum pkt_err err;

	err = pkt_build(out, hops, nhops, PKT_CMD_DELIVER, body, sizeof body, NULL);
	if (err != PKT_OK)
		msg_panic("pkt_build: %s", pkt_strerror(err));
}

/* The operations under test: one call each. */
static void
op_unwrap_fwd(void)
{
	check_unwrap(pkt_mid, &node[2], 1, PKT_CMD_FORWARD, 0);
}

static void
op_unwrap_exit(void)
{
	check_unwrap(pkt_exit, &node[4], 1, PKT_CMD_DELIVER, 0);
}

static void
op_unwrap_fwd_ring(void)
{
	check_unwrap(pkt_mid, ring_fwd, RING_KEYS, PKT_CMD_FORWARD, 2);
}

static void
op_unwrap_exit_ring(void)
{
	check_unwrap(pkt_exit, ring_exit, RING_KEYS, PKT_CMD_DELIVER, 2);
}

static void
op_build1(void)
{
	build(1);
}

static void
op_build5(void)
{
	build(PATH_HOPS);
}

static void
op_build16(void)
{
	build(PKT_MAX_HOPS);
}

static void
op_x25519(void)
{
	if (mcrypto_x25519(shared, node[0].sk, node[1].pk) != 0)
		msg_panic("mcrypto_x25519 failed");
}

static void
op_x25519_base(void)
{
	mcrypto_x25519_base(shared, node[2].sk);
}

static void
op_sprp(void)
{
	if (sprp_decrypt(payload, sizeof payload, &sprp_k) != 0)
		msg_panic("sprp_decrypt failed");
}

/*
 * lioness_style - the cost shape of Lioness over the payload: L is 32
 * bytes, R the rest; R ^= S(k1 ^ L), L ^= H_k2(R), R ^= S(k3 ^ L),
 * L ^= H_k4(R), with XChaCha20 as S and keyed BLAKE2b-256 as H. Two stream
 * passes and two hash passes over R; not a specified cipher, a yardstick.
 */
static void
lioness_style(uint8_t *buf, size_t len, const uint8_t k[4][32])
{
	uint8_t *l = buf, *r = buf + 32, t[32];
	size_t rlen = len - 32, round, i;

	for (round = 0; round < 4; round += 2) {
		for (i = 0; i < 32; i++)
			t[i] = k[round][i] ^ l[i];
		mcrypto_xchacha20_xor(r, r, rlen, xnonce, t);
		mcrypto_hash(t, 32, k[round + 1], 32, r, rlen);
		for (i = 0; i < 32; i++)
			l[i] ^= t[i];
	}
	mcrypto_wipe(t, sizeof t);
}

static void
op_lioness(void)
{
	lioness_style(payload, sizeof payload, (const uint8_t (*)[32])sym_key);
}

static void
op_header_mac(void)
{
	mcrypto_hash(digest, PKT_MAC_SIZE, sym_key[0], 32, header, PKT_OFF_GAMMA);
}

static void
op_hdr_stream(void)
{
	mcrypto_chacha20_xor(stream_buf, stream_buf, sizeof stream_buf, sym_key[1]);
}

/* The HBSH cipher's own pieces, over the same lengths sprp.c uses. */
static void
op_poly1305(void)
{
	static const uint8_t lenblock[16];

	mcrypto_poly1305_hash(digest, sym_key[2], lenblock, sizeof lenblock, payload,
	    sizeof payload - 16);
}

static void
op_xchacha(void)
{
	mcrypto_xchacha20_xor(payload, payload, sizeof payload - 16, xnonce, sym_key[3]);
}

static void
op_aes(void)
{
	if (mcrypto_aes256_block(digest, digest, sym_key[0], 0) != 0)
		msg_panic("mcrypto_aes256_block failed");
}

static void
op_blake2b_payload(void)
{
	mcrypto_hash(digest, 32, sym_key[1], 32, payload + 32, sizeof payload - 32);
}

struct bench {
	const char *name;
	void (*op)(void);
	size_t bytes;		/* bytes processed per call, for MB/s; 0: not shown */
	double median, min, max;	/* calls per second */
};

enum { B_FWD, B_EXIT, B_FWD_RING, B_EXIT_RING, B_BUILD1, B_BUILD5, B_BUILD16,
	B_X25519, B_X25519_BASE, B_SPRP, B_LIONESS, B_MAC, B_HSTREAM, B_POLY, B_XCHACHA, B_AES,
	B_BLAKE, B_COUNT };

static struct bench benches[B_COUNT] = {
	[B_FWD] = { "pkt_unwrap forward (hop 3 of 5), 1 key", op_unwrap_fwd, 0, 0, 0, 0 },
	[B_EXIT] = { "pkt_unwrap exit (deliver), 1 key", op_unwrap_exit, 0, 0, 0, 0 },
	[B_FWD_RING] = { "pkt_unwrap forward, 3 keys, right last", op_unwrap_fwd_ring, 0, 0, 0, 0 },
	[B_EXIT_RING] = { "pkt_unwrap exit, 3 keys, right last", op_unwrap_exit_ring, 0, 0, 0, 0 },
	[B_BUILD1] = { "pkt_build 1 hop", op_build1, 0, 0, 0, 0 },
	[B_BUILD5] = { "pkt_build 5 hops", op_build5, 0, 0, 0, 0 },
	[B_BUILD16] = { "pkt_build 16 hops", op_build16, 0, 0, 0, 0 },
	[B_X25519] = { "x25519 scalar multiplication", op_x25519, 0, 0, 0, 0 },
	[B_X25519_BASE] = { "x25519 base point (sender, per hop)", op_x25519_base, 0, 0, 0, 0 },
	[B_SPRP] = { "sprp_decrypt (HBSH), payload", op_sprp, PKT_PAYLOAD_SIZE, 0, 0, 0 },
	[B_LIONESS] = { "lioness-style (2 XChaCha20 + 2 BLAKE2b)", op_lioness,
		PKT_PAYLOAD_SIZE, 0, 0, 0 },
	[B_MAC] = { "header MAC, BLAKE2b-256 keyed", op_header_mac, PKT_OFF_GAMMA, 0, 0, 0 },
	[B_HSTREAM] = { "header stream, ChaCha20", op_hdr_stream, HDR_STREAM_LEN, 0, 0, 0 },
	[B_POLY] = { "  HBSH part: Poly1305 over payload", op_poly1305,
		PKT_PAYLOAD_SIZE - 16, 0, 0, 0 },
	[B_XCHACHA] = { "  HBSH part: XChaCha20 over payload", op_xchacha,
		PKT_PAYLOAD_SIZE - 16, 0, 0, 0 },
	[B_AES] = { "  HBSH part: AES-256 1 block + key setup", op_aes, 0, 0, 0, 0 },
	[B_BLAKE] = { "  Lioness part: BLAKE2b over payload", op_blake2b_payload,
		PKT_PAYLOAD_SIZE - 32, 0, 0, 0 },
};

/*
 * run_for - call op in batches of batch calls until secs seconds have
 * passed (at most MAX_OPS_PER_RUN calls); returns calls per second. The
 * clock is read once a batch so that it costs nothing next to short ops.
 */
static double
run_for(void (*op)(void), double secs, unsigned long batch)
{
	double t0 = bench_now(), t = t0;
	unsigned long n = 0, i;

	while (n < MAX_OPS_PER_RUN) {
		for (i = 0; i < batch; i++)
			op();
		n += batch;
		t = bench_now();
		if (t - t0 >= secs)
			break;
	}
	return (double)n / (t - t0);
}

/*
 * measure_all - a warm-up pass over every measurement (it also sizes each
 * batch: about BATCH_SECONDS of calls), then RUNS passes of one timed run
 * each. Interleaving spreads a slow spell of a shared machine over all
 * measurements instead of spoiling one of them; the median run of each
 * measurement is kept, with its fastest and slowest.
 */
static void
measure_all(double secs)
{
	static double rate[B_COUNT][RUNS];
	static unsigned long batch[B_COUNT];
	double warm;
	size_t i, r;

	for (i = 0; i < B_COUNT; i++) {
		warm = run_for(benches[i].op, secs / RUNS, 1);
		batch[i] = warm * BATCH_SECONDS >= 2 ? (unsigned long)(warm * BATCH_SECONDS) : 1;
	}
	for (r = 0; r < RUNS; r++)
		for (i = 0; i < B_COUNT; i++)
			rate[i][r] = run_for(benches[i].op, secs / RUNS, batch[i]);
	for (i = 0; i < B_COUNT; i++) {
		qsort(rate[i], RUNS, sizeof rate[i][0], bench_cmp_double);
		benches[i].median = rate[i][RUNS / 2];
		benches[i].min = rate[i][0];
		benches[i].max = rate[i][RUNS - 1];
	}
}

static void
print_row(const char *name, double per_sec, size_t bytes, double best, const char *spread)
{
	char mbs[32], bst[32];

	if (bytes > 0)
		snprintf(mbs, sizeof mbs, "%.0f", per_sec * (double)bytes / 1e6);
	else
		snprintf(mbs, sizeof mbs, "-");
	if (best > 0)
		snprintf(bst, sizeof bst, "%.0f", best);
	else
		snprintf(bst, sizeof bst, "-");
	printf("%-42s %9.0f %9.2f %6s %9s %6s\n", name, per_sec, 1e6 / per_sec, mbs, bst, spread);
}

static void
print_bench(const struct bench *b)
{
	char spread[16];

	snprintf(spread, sizeof spread, "%.0f%%", 100.0 * (b->max - b->min) / b->median);
	print_row(b->name, b->median, b->bytes, b->max, spread);
}

/* us - microseconds per call of measurement i (its median run) */
static double
us(size_t i)
{
	return 1e6 / benches[i].median;
}

static void
print_environment(double secs)
{
	bench_print_machine("bench-packet");
	printf("method:    1 thread, not pinned; per line a %.2f s warm-up, then %d runs"
	    " of %.2f s,\n", secs / RUNS, RUNS, secs / RUNS);
	printf("           taken in %d passes over all lines; ops/s, us/op and MB/s are from\n"
	    "           the median run; best = fastest run (ops/s);\n"
	    "           spread = (fastest - slowest) / median of the %d runs\n", RUNS, RUNS);
	printf("packet:    %d bytes (header %d, payload %d); body %d bytes;"
	    " ring keys tried in order\n", PKT_SIZE, PKT_HEADER_SIZE, PKT_PAYLOAD_SIZE,
	    PKT_BODY_MAX);
	printf("\n");
}

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: bench-packet [-n] [-t seconds]\n"
	    "\n"
	    "Measure, on one thread, how fast this machine builds and unwraps\n"
	    "mixmail packets (%d bytes) and the primitives behind them. Prints the\n"
	    "machine, library versions and date, then one line per measurement:\n"
	    "name, operations per second, microseconds per operation, MB/s where\n"
	    "the operation runs over a buffer (these three from the median run),\n"
	    "the fastest run in operations per second, and the spread between runs.\n"
	    "\n"
	    "Each measurement: one warm-up run, then %d timed runs of seconds/%d\n"
	    "each, taken in %d passes over all measurements (so that a slow spell\n"
	    "of a shared machine hits one run of each, not all runs of one); the\n"
	    "median run is reported. Lines marked 'computed' are sums of\n"
	    "measured medians, not measurements. The process is not pinned to a\n"
	    "CPU; run it on an idle machine (or under taskset) for stable numbers.\n"
	    "\n"
	    "  -t seconds  timed seconds per measurement, 0.01 to 60 (default %.0f)\n"
	    "  -n          quick smoke run (-t %.2f): checks that everything works,\n"
	    "              the numbers are not meaningful\n"
	    "  -h, --help  this text\n",
	    PKT_SIZE, RUNS, RUNS, RUNS, DEFAULT_SECONDS, QUICK_SECONDS);
}

/* setup - node keys, the two packets under test, buffers */
static void
setup(void)
{
	size_t i;

	node = mcrypto_secret_alloc(NODES * sizeof *node);
	ring_fwd = mcrypto_secret_alloc(RING_KEYS * sizeof *ring_fwd);
	ring_exit = mcrypto_secret_alloc(RING_KEYS * sizeof *ring_exit);
	for (i = 0; i < NODES; i++) {
		mcrypto_random(NULL, node[i].sk, sizeof node[i].sk);
		mcrypto_x25519_base(node[i].pk, node[i].sk);
		snprintf(addrs[i], sizeof addrs[i], "mix%zu@node%zu.example", i, i);
		memcpy(hops[i].pk, node[i].pk, 32);
		hops[i].addr = addrs[i];
		hops[i].delay = 600;
	}
	mcrypto_random(NULL, body, sizeof body);

	/* A 5-hop packet, unwrapped up to hop 3 and up to the exit. */
	build(PATH_HOPS);
	for (i = 0; i < PATH_HOPS - 1; i++) {
		if (i == 2)
			memcpy(pkt_mid, out, PKT_SIZE);	/* out is what hop 3 receives */
		memcpy(pkt_exit, out, PKT_SIZE);
		check_unwrap(pkt_exit, &node[i], 1, PKT_CMD_FORWARD, 0);
	}
	memcpy(pkt_exit, out, PKT_SIZE);
	check_unwrap(pkt_exit, &node[4], 1, PKT_CMD_DELIVER, 0);
	if (memcmp(out, body, sizeof body) != 0)
		msg_panic("pkt_unwrap: delivered body differs from the one sent");

	/* Rings: two live keys of other nodes first, the right one last. */
	ring_fwd[0] = node[10];
	ring_fwd[1] = node[11];
	ring_fwd[2] = node[2];
	ring_exit[0] = node[12];
	ring_exit[1] = node[13];
	ring_exit[2] = node[4];

	mcrypto_random(NULL, payload, sizeof payload);
	mcrypto_random(NULL, header, sizeof header);
	mcrypto_random(NULL, stream_buf, sizeof stream_buf);
	mcrypto_random(NULL, sym_key, sizeof sym_key);
	mcrypto_random(NULL, xnonce, sizeof xnonce);
	mcrypto_random(NULL, &sprp_k, sizeof sprp_k);
}

int
main(int argc, char **argv)
{
	double secs = DEFAULT_SECONDS, blinded_us, parts_us;
	char *end;
	size_t i;
	int c;

	msg_set_progname("bench-packet");
	for (i = 1; i < (size_t)argc; i++)
		if (strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return 0;
		}
	while ((c = getopt(argc, argv, "hnt:")) != -1) {
		switch (c) {
		case 'h':
			usage(stdout);
			return 0;
		case 'n':
			secs = QUICK_SECONDS;
			break;
		case 't':
			secs = strtod(optarg, &end);
			if (end == optarg || *end != '\0' || !(secs >= 0.01 && secs <= 60)) {
				fprintf(stderr, "bench-packet: -t wants seconds from 0.01 to 60\n");
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
	if (mcrypto_init() != 0)
		msg_fatal("cannot initialise the crypto libraries");

	setup();
	print_environment(secs);
	fflush(stdout);
	measure_all(secs);
	printf("%-42s %9s %9s %6s %9s %6s\n", "measurement", "ops/s", "us/op", "MB/s", "best", "spread");
	for (i = 0; i < B_COUNT; i++)
		print_bench(&benches[i]);

	/* Computed from the medians above; nothing new is measured. */
	blinded_us = us(B_FWD) + us(B_X25519);
	parts_us = us(B_X25519) + us(B_MAC) + us(B_HSTREAM) + us(B_SPRP);
	print_row("blinded Sphinx estimate (computed)", 1e6 / blinded_us, 0, 0, "-");
	printf("\ncomputed from the medians above:\n");
	printf("  blinded Sphinx estimate = unwrap forward + one x25519 = %.2f + %.2f = %.2f us\n",
	    us(B_FWD), us(B_X25519), blinded_us);
	printf("  unwrap forward, parts measured alone: x25519 %.1f%%, sprp_decrypt %.1f%%,"
	    " header MAC %.1f%%, header stream %.1f%%\n",
	    100 * us(B_X25519) / us(B_FWD), 100 * us(B_SPRP) / us(B_FWD),
	    100 * us(B_MAC) / us(B_FWD), 100 * us(B_HSTREAM) / us(B_FWD));
	printf("  (together %.2f of %.2f us; the rest is key derivation, copies and parsing,\n"
	    "  and the run-to-run noise of the medians)\n", parts_us, us(B_FWD));
	printf("  lioness-style / sprp_decrypt = %.2f x the time\n",
	    us(B_LIONESS) / us(B_SPRP));
	printf("  3-key ring / 1 key: forward %.2f x, exit %.2f x the time\n",
	    us(B_FWD_RING) / us(B_FWD), us(B_EXIT_RING) / us(B_EXIT));
	printf("  target: pkt_unwrap forward >= %.0f/s on one core: %s (median %.0f/s,"
	    " fastest run %.0f/s)\n", TARGET_UNWRAP,
	    benches[B_FWD].median >= TARGET_UNWRAP ? "met" : "NOT met",
	    benches[B_FWD].median, benches[B_FWD].max);
	if (secs < 0.1)
		printf("  (quick run: too short for meaningful numbers)\n");

	mcrypto_secret_free(node);
	mcrypto_secret_free(ring_fwd);
	mcrypto_secret_free(ring_exit);
	return 0;
}
