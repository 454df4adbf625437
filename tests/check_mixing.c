/*
 * check_mixing.c - the mixing strategies: names and parameter checks; the
 * exact rules of threshold, timed, threshold-timed, continuous and
 * mixmaster at their boundaries (n = N-1, N, N+1, the rate's rounding, the
 * edges of an interval); and statistical tests of the random strategies
 * over many rounds: mixmaster's count is exact every round and its subsets
 * are uniform (per position and as whole subsets); binomial counts follow
 * the exact (capped) binomial law, with the right mean and variance; a
 * binomial round's coins are independent of position and of each other;
 * pools of 100,000 entries.
 *
 * The statistical bounds are fixed and generous: a chi-square statistic is
 * compared with the Wilson-Hilferty quantile at z = 6, which lies above the
 * exact p = 1e-9 quantile for every degree of freedom (checked for 1 to
 * 200), with every cell expecting at least MIN_EXPECT; single statistics
 * use 6 to 7 standard deviations. A correct mixing.c fails none of them
 * by chance in practice; a biased one fails them all at once.
 *
 * Positions stand for arrival order: the flusher may list the pool sorted
 * by anything, so "uniform over positions" is "independent of arrival
 * order". The random strategies never read the entries, which the tests
 * show by passing entries whose due times follow their position.
 */
#include <config.h>

#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "mcrypto.h"
#include "mixing.h"
#include "testutil.h"

#define MIN_EXPECT	100.0	/* smallest expected count of a chi-square cell */
#define Z_CHI2		6.0	/* Wilson-Hilferty z: p < 1e-9 for df 1..200 */
#define BIG_N		100000
#define INTERVAL	900
#define SLOT0		((int64_t)1700000100)	/* 1700000100 = 900 * 1888889 */

static const char *const names[] = {
	"threshold", "timed", "threshold-timed", "mixmaster", "binomial", "continuous"
};

/* ---- helpers ------------------------------------------------------------------ */

static void
setup(void)
{
	tu_init();
}

static struct mixing_params
params(enum mixing_strategy s, uint32_t threshold, int64_t interval, uint32_t min_pool,
    uint32_t rate)
{
	struct mixing_params p;

	mixing_params_default(&p);
	p.strategy = s;
	p.threshold = threshold;
	p.interval = interval;
	p.min_pool = min_pool;
	p.rate_permille = rate;
	return p;
}

/*
 * run - one round over a leave[] full of garbage: every byte must come
 * back 0 or 1 and the result must be their sum. (One assertion per round:
 * each of Check's assertions costs a system call.)
 */
static size_t
run(const struct mixing_params *p, const struct mixing_entry *e, size_t n, int64_t now,
    int64_t last_round, uint8_t *leave)
{
	size_t i, k, sum = 0, bad = 0;

	memset(leave, 0xa5, n);
	k = mixing_select(p, e, n, now, last_round, leave);
	for (i = 0; i < n; i++) {
		bad += leave[i] > 1;
		sum += leave[i];
	}
	if (bad != 0 || k != sum)
		ck_abort_msg("%zu bytes of leave[] not 0 or 1; %zu returned, %zu marked",
		    bad, k, sum);
	return k;
}

/* mixmaster_k - Mixmaster 3's count, written out again */
static size_t
mixmaster_k(size_t n, uint32_t min_pool, uint32_t rate)
{
	size_t most = (size_t)((uint64_t)n * rate / 1000);

	if (n <= min_pool)
		return 0;
	return n - min_pool < most ? n - min_pool : most;
}

/* binomial_p - the coin's probability, as doc/mixing.md states it */
static double
binomial_p(size_t n, uint32_t min_pool, uint32_t rate)
{
	double f = rate / 1000.0;

	if (n <= min_pool)
		return 0.0;
	if ((double)(n - min_pool) / (double)n < f)
		f = (double)(n - min_pool) / (double)n;
	return f;
}

/* binom - the binomial probability of k of n with probability p */
static double
binom(size_t n, size_t k, double p)
{
	if (p <= 0.0)
		return k == 0;
	if (p >= 1.0)
		return k == n;
	return exp(lgamma(n + 1.0) - lgamma(k + 1.0) - lgamma(n - k + 1.0) +
	    (double)k * log(p) + (double)(n - k) * log1p(-p));
}

static double
choose(size_t n, size_t k)
{
	return exp(lgamma(n + 1.0) - lgamma(k + 1.0) - lgamma(n - k + 1.0));
}

/* count_pmf - the law of the binomial count capped at cap: min(Bin(n, p), cap) */
static void
count_pmf(size_t n, double p, size_t cap, double *pmf)
{
	size_t k;

	for (k = 0; k <= n; k++)
		pmf[k] = 0.0;
	for (k = 0; k <= n; k++)
		pmf[k < cap ? k : cap] += binom(n, k, p);
}

/* chi2_limit - Wilson-Hilferty quantile of chi-square(df) at Z_CHI2 */
static double
chi2_limit(int df)
{
	double c = 2.0 / (9.0 * df);
	double t = 1.0 - c + Z_CHI2 * sqrt(c);

	return df * t * t * t;
}

/*
 * chi2_check - Pearson's test of obs[0..m) (R trials) against prob[]:
 * neighbouring outcomes are merged until each cell expects MIN_EXPECT or
 * more (the remainder joins the last cell). Outcomes of probability zero
 * must not occur.
 */
static void
chi2_check(const char *what, const uint64_t *obs, const double *prob, size_t m, uint64_t R)
{
	double x2 = 0.0, o = 0.0, e = 0.0, last_o = 0.0, last_e = 0.0;
	int cells = 0;
	size_t i;

	for (i = 0; i < m; i++) {
		if (prob[i] == 0.0)
			ck_assert_msg(obs[i] == 0, "%s: outcome %zu of probability 0 seen",
			    what, i);
		o += (double)obs[i];
		e += prob[i] * (double)R;
		if (e >= MIN_EXPECT) {
			if (cells > 0)
				x2 += (last_o - last_e) * (last_o - last_e) / last_e;
			last_o = o;
			last_e = e;
			cells++;
			o = e = 0.0;
		}
	}
	ck_assert_msg(cells >= 2, "%s: too few cells", what);
	last_o += o;		/* the remainder joins the last cell */
	last_e += e;
	x2 += (last_o - last_e) * (last_o - last_e) / last_e;
	ck_assert_msg(x2 <= chi2_limit(cells - 1), "%s: chi-square %.1f > %.1f (df %d)",
	    what, x2, chi2_limit(cells - 1), cells - 1);
}

/* within - |x - mean| <= z * sd */
static void
within(const char *what, double x, double mean, double sd, double z)
{
	ck_assert_msg(fabs(x - mean) <= z * sd, "%s: %.3f, expected %.3f +- %.1f x %.3f",
	    what, x, mean, z, sd);
}

/* ---- names and parameters ---------------------------------------------------- */

START_TEST(test_names)
{
	static const char *const bad[] = {
		"", "Threshold", "threshold ", " timed", "thresholdtimed", "threshold_timed",
		"mix", "binomial\n", "continuous-", "pool"
	};
	enum mixing_strategy s;
	size_t i;

	for (i = 0; i < sizeof names / sizeof names[0]; i++) {
		ck_assert_int_eq(mixing_strategy_from_name(names[i], &s), 0);
		ck_assert_int_eq(s, (int)i);
		ck_assert_str_eq(mixing_strategy_name(s), names[i]);
		ck_assert_str_eq(mixing_strategy_choices[i], names[i]);
	}
	ck_assert_int_eq(MIXING_NSTRATEGIES, sizeof names / sizeof names[0]);
	ck_assert_ptr_null(mixing_strategy_choices[MIXING_NSTRATEGIES]);
	ck_assert_ptr_null(mixing_strategy_name(MIXING_NSTRATEGIES));
	ck_assert_ptr_null(mixing_strategy_name((enum mixing_strategy)-1));
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		s = MIXING_TIMED;
		ck_assert_int_eq(mixing_strategy_from_name(bad[i], &s), -1);
		ck_assert_int_eq(s, MIXING_TIMED);
	}
	ck_assert_int_eq(mixing_strategy_from_name(NULL, &s), -1);
}
END_TEST

START_TEST(test_defaults)
{
	struct mixing_params p;
	int s;

	mixing_params_default(&p);
	ck_assert_int_eq(p.strategy, MIXING_BINOMIAL);
	ck_assert_uint_eq(p.threshold, 50);
	ck_assert_int_eq(p.interval, 900);
	ck_assert_uint_eq(p.min_pool, 45);
	ck_assert_uint_eq(p.rate_permille, 650);
	for (s = 0; s < MIXING_NSTRATEGIES; s++) {
		p.strategy = (enum mixing_strategy)s;
		ck_assert_ptr_null(mixing_params_check(&p));
	}
}
END_TEST

/* One parameter changed from the defaults; the setting blamed, or NULL */
static const struct {
	int strategy;
	char field;		/* t threshold, i interval, m min_pool, r rate */
	int64_t value;
	const char *blame;
} check_cases[] = {
	{ MIXING_THRESHOLD, 't', 0, "mix_threshold" },
	{ MIXING_THRESHOLD, 't', 1, NULL },
	{ MIXING_THRESHOLD, 't', 1000000, NULL },
	{ MIXING_THRESHOLD, 't', 1000001, "mix_threshold" },
	{ MIXING_THRESHOLD_TIMED, 't', 0, "mix_threshold" },
	{ MIXING_THRESHOLD_TIMED, 't', 1000001, "mix_threshold" },
	{ MIXING_TIMED, 't', 0, NULL },			/* not used */
	{ MIXING_MIXMASTER, 't', 0, NULL },
	{ MIXING_TIMED, 'i', 0, "mix_interval" },
	{ MIXING_TIMED, 'i', -900, "mix_interval" },
	{ MIXING_TIMED, 'i', 1, NULL },
	{ MIXING_TIMED, 'i', 7 * 86400, NULL },
	{ MIXING_TIMED, 'i', 7 * 86400 + 1, "mix_interval" },
	{ MIXING_THRESHOLD_TIMED, 'i', 0, "mix_interval" },
	{ MIXING_MIXMASTER, 'i', 0, "mix_interval" },
	{ MIXING_BINOMIAL, 'i', INT64_MAX, "mix_interval" },
	{ MIXING_THRESHOLD, 'i', 0, NULL },		/* not used */
	{ MIXING_CONTINUOUS, 'i', -1, NULL },
	{ MIXING_MIXMASTER, 'm', 0, NULL },
	{ MIXING_MIXMASTER, 'm', 1000000, NULL },
	{ MIXING_MIXMASTER, 'm', 1000001, "mix_min_pool" },
	{ MIXING_BINOMIAL, 'm', 1000001, "mix_min_pool" },
	{ MIXING_TIMED, 'm', 1000001, NULL },
	{ MIXING_MIXMASTER, 'r', 0, "mix_rate_permille" },
	{ MIXING_MIXMASTER, 'r', 1, NULL },
	{ MIXING_MIXMASTER, 'r', 1000, NULL },
	{ MIXING_MIXMASTER, 'r', 1001, "mix_rate_permille" },
	{ MIXING_BINOMIAL, 'r', 0, "mix_rate_permille" },
	{ MIXING_BINOMIAL, 'r', 1001, "mix_rate_permille" },
	{ MIXING_CONTINUOUS, 'r', 0, NULL },
	{ MIXING_NSTRATEGIES, 'r', 650, "mixing" },
	{ -1, 'r', 650, "mixing" },
};
#define NCHECK (sizeof check_cases / sizeof check_cases[0])

START_TEST(test_params_check)
{
	struct mixing_params p;
	const char *why;

	mixing_params_default(&p);
	p.strategy = (enum mixing_strategy)check_cases[_i].strategy;
	switch (check_cases[_i].field) {
	case 't':
		p.threshold = (uint32_t)check_cases[_i].value;
		break;
	case 'i':
		p.interval = check_cases[_i].value;
		break;
	case 'm':
		p.min_pool = (uint32_t)check_cases[_i].value;
		break;
	case 'r':
		p.rate_permille = (uint32_t)check_cases[_i].value;
		break;
	}
	why = mixing_params_check(&p);
	if (check_cases[_i].blame == NULL) {
		ck_assert_msg(why == NULL, "case %d: %s", _i, why);
	} else {
		size_t len = strlen(check_cases[_i].blame);

		ck_assert_msg(why != NULL, "case %d accepted", _i);
		ck_assert_msg(strncmp(why, check_cases[_i].blame, len) == 0 && why[len] == ' ',
		    "case %d: \"%s\" does not name %s", _i, why, check_cases[_i].blame);
	}
}
END_TEST

/* ---- rounds ------------------------------------------------------------------ */

START_TEST(test_due)
{
	static const int timed_ones[] = {
		MIXING_TIMED, MIXING_THRESHOLD_TIMED, MIXING_MIXMASTER, MIXING_BINOMIAL
	};
	static const struct {
		int64_t interval, last_round, now;
		int due;
	} cases[] = {
		{ INTERVAL, 0, SLOT0, 1 },			/* never a round */
		{ INTERVAL, SLOT0, SLOT0, 0 },
		{ INTERVAL, SLOT0, SLOT0 + INTERVAL - 1, 0 },	/* the same slot */
		{ INTERVAL, SLOT0, SLOT0 + INTERVAL, 1 },	/* the next slot */
		{ INTERVAL, SLOT0 + 1, SLOT0 + INTERVAL, 1 },	/* late last time */
		{ INTERVAL, SLOT0 + INTERVAL - 1, SLOT0 + INTERVAL, 1 },
		{ INTERVAL, SLOT0 - 1, SLOT0, 1 },
		{ INTERVAL, SLOT0 - 1, SLOT0 - 1, 0 },
		{ INTERVAL, SLOT0 + 10, SLOT0 + 5, 1 },		/* the clock went back */
		{ INTERVAL, SLOT0, SLOT0 + 100 * INTERVAL, 1 },	/* long down */
		{ 1, SLOT0, SLOT0, 0 },
		{ 1, SLOT0, SLOT0 + 1, 1 },
		{ 7 * 86400, SLOT0, SLOT0 + 86400, 0 },		/* weeks since the epoch */
		{ 7 * 86400, SLOT0, SLOT0 + 7 * 86400, 1 },
		{ 3600, 7200, 10799, 0 },
		{ 3600, 7200, 10800, 1 },
		{ 3600, 7199, 7200, 1 },
	};
	struct mixing_params p;
	size_t i, j;

	for (j = 0; j < sizeof timed_ones / sizeof timed_ones[0]; j++) {
		for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
			p = params((enum mixing_strategy)timed_ones[j], 10, cases[i].interval,
			    0, 1000);
			ck_assert_msg(mixing_due(&p, cases[i].now, cases[i].last_round) ==
			    cases[i].due, "%s case %zu", names[timed_ones[j]], i);
		}
	}
	/* Threshold and continuous mixing: every flush is a round. */
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		p = params(MIXING_THRESHOLD, 10, cases[i].interval, 0, 1000);
		ck_assert_int_eq(mixing_due(&p, cases[i].now, cases[i].last_round), 1);
		p.strategy = MIXING_CONTINUOUS;
		ck_assert_int_eq(mixing_due(&p, cases[i].now, cases[i].last_round), 1);
	}
}
END_TEST

/* The deterministic rules: (strategy, n, N, now, last_round) -> all or none */
static const struct {
	int strategy;
	size_t n;
	uint32_t threshold;
	int64_t now, last_round;
	int all;
} rule_cases[] = {
	{ MIXING_THRESHOLD, 49, 50, SLOT0, SLOT0, 0 },
	{ MIXING_THRESHOLD, 50, 50, SLOT0, SLOT0, 1 },
	{ MIXING_THRESHOLD, 51, 50, SLOT0, SLOT0, 1 },
	{ MIXING_THRESHOLD, 0, 1, SLOT0, 0, 0 },
	{ MIXING_THRESHOLD, 1, 1, SLOT0, 0, 1 },
	{ MIXING_THRESHOLD, 1, 2, SLOT0, 0, 0 },
	{ MIXING_THRESHOLD, 5000, 5000, SLOT0, SLOT0, 1 },
	{ MIXING_TIMED, 1, 50, SLOT0 + INTERVAL, SLOT0, 1 },
	{ MIXING_TIMED, 300, 50, SLOT0 + INTERVAL, SLOT0, 1 },
	{ MIXING_TIMED, 300, 50, SLOT0 + INTERVAL - 1, SLOT0, 0 },
	{ MIXING_TIMED, 300, 50, SLOT0, 0, 1 },
	{ MIXING_THRESHOLD_TIMED, 49, 50, SLOT0 + INTERVAL, SLOT0, 0 },
	{ MIXING_THRESHOLD_TIMED, 50, 50, SLOT0 + INTERVAL, SLOT0, 1 },
	{ MIXING_THRESHOLD_TIMED, 51, 50, SLOT0 + INTERVAL, SLOT0, 1 },
	{ MIXING_THRESHOLD_TIMED, 49, 50, SLOT0 + INTERVAL - 1, SLOT0, 0 },
	{ MIXING_THRESHOLD_TIMED, 50, 50, SLOT0 + INTERVAL - 1, SLOT0, 0 },
	{ MIXING_THRESHOLD_TIMED, 5000, 50, SLOT0 + INTERVAL - 1, SLOT0, 0 },
	{ MIXING_THRESHOLD_TIMED, 1, 1, SLOT0, 0, 1 },
	{ MIXING_MIXMASTER, 300, 50, SLOT0 + INTERVAL - 1, SLOT0, 0 },	/* not a round */
	{ MIXING_BINOMIAL, 300, 50, SLOT0 + INTERVAL - 1, SLOT0, 0 },
};
#define NRULE (sizeof rule_cases / sizeof rule_cases[0])

START_TEST(test_rules)
{
	struct mixing_params p;
	uint8_t *leave;
	size_t n = rule_cases[_i].n, k;

	p = params((enum mixing_strategy)rule_cases[_i].strategy, rule_cases[_i].threshold,
	    INTERVAL, 0, 1000);
	leave = malloc(n + 1);
	ck_assert_ptr_nonnull(leave);
	leave[n] = 0x5a;
	k = run(&p, NULL, n, rule_cases[_i].now, rule_cases[_i].last_round, leave);
	ck_assert_msg(k == (rule_cases[_i].all ? n : 0), "case %d: %zu of %zu", _i, k, n);
	ck_assert_uint_eq(leave[n], 0x5a);			/* nothing past n written */
	free(leave);
}
END_TEST

START_TEST(test_empty)
{
	struct mixing_params p;
	uint8_t leave[1] = { 0x5a };
	int s;

	for (s = 0; s < MIXING_NSTRATEGIES; s++) {
		p = params((enum mixing_strategy)s, 1, INTERVAL, 0, 1000);
		ck_assert_uint_eq(mixing_select(&p, NULL, 0, SLOT0, 0, NULL), 0);
		ck_assert_uint_eq(mixing_select(&p, NULL, 0, SLOT0, 0, leave), 0);
		ck_assert_uint_eq(leave[0], 0x5a);
	}
}
END_TEST

/* ---- continuous ----------------------------------------------------------------- */

START_TEST(test_continuous)
{
	static const int64_t dues[] = {
		0, 1, SLOT0 - 3600, SLOT0 - 1, SLOT0,
		SLOT0 + 1, SLOT0 + 60, SLOT0 + 86400, INT64_MAX
	};
	enum { N = sizeof dues / sizeof dues[0] };
	struct mixing_params p = params(MIXING_CONTINUOUS, 0, 0, 0, 0);
	struct mixing_entry e[N], tmp;
	uint8_t leave[N];
	size_t i, j, round, k;

	for (i = 0; i < N; i++)
		e[i].due = dues[i];
	/* Due at or before now leaves, later stays; last_round plays no part. */
	for (round = 0; round < 200; round++) {
		/* a random order each time: the result follows the entries */
		for (i = N - 1; i > 0; i--) {
			j = mcrypto_uniform((uint32_t)i + 1);
			tmp = e[i];
			e[i] = e[j];
			e[j] = tmp;
		}
		k = run(&p, e, N, SLOT0, round % 2 ? SLOT0 : 0, leave);
		ck_assert_uint_eq(k, 5);
		for (i = 0; i < N; i++)
			ck_assert_msg(leave[i] == (e[i].due <= SLOT0), "due %lld",
			    (long long)e[i].due);
	}
	ck_assert_uint_eq(run(&p, e, N, 0, 0, leave), 1);		/* only due 0 */
	ck_assert_uint_eq(run(&p, e, N, INT64_MAX, 0, leave), N);
}
END_TEST

/* ---- mixmaster ------------------------------------------------------------------ */

START_TEST(test_mixmaster_counts)
{
	/* (n, min_pool, rate per mille, k); the first ones are Mixmaster's own */
	static const struct {
		size_t n;
		uint32_t min_pool, rate;
		size_t k;
	} cases[] = {
		{ 200, 45, 650, 130 },	/* 200 -> 70 -> 45 -> 45, measured with 3.0.2d */
		{ 70, 45, 650, 25 },
		{ 45, 45, 650, 0 },
		{ 44, 45, 650, 0 },
		{ 46, 45, 650, 1 },
		{ 54, 45, 650, 9 },
		{ 129, 45, 650, 83 },	/* 83.85 rounds down; 129 - 45 = 84 */
		{ 1, 0, 650, 0 },	/* Mixmaster's lone message never leaves */
		{ 2, 0, 650, 1 },
		{ 100, 0, 1000, 100 },
		{ 99, 0, 333, 32 },	/* 32.967 */
		{ 3, 0, 334, 1 },	/* 1.002 */
		{ 3, 0, 333, 0 },	/* 0.999 */
		{ 999, 0, 1, 0 },
		{ 1000, 0, 1, 1 },
		{ 100, 99, 1000, 1 },
		{ 100, 100, 1000, 0 },
		{ 101, 100, 1000, 1 },
		{ 1000000, 1000000, 1000, 0 },
		{ 1000001, 1000000, 1000, 1 },
	};
	struct mixing_params p;
	uint8_t *leave = malloc(1000001);
	size_t i;

	ck_assert_ptr_nonnull(leave);
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		p = params(MIXING_MIXMASTER, 0, INTERVAL, cases[i].min_pool, cases[i].rate);
		ck_assert_msg(run(&p, NULL, cases[i].n, SLOT0, 0, leave) == cases[i].k,
		    "case %zu", i);
		ck_assert_uint_eq(mixmaster_k(cases[i].n, cases[i].min_pool, cases[i].rate),
		    cases[i].k);
	}
	free(leave);
}
END_TEST

START_TEST(test_mixmaster_every_round)
{
	struct mixing_params p;
	uint8_t leave[600];
	size_t round, n;

	for (round = 0; round < 5000; round++) {
		n = mcrypto_uniform(600);
		p = params(MIXING_MIXMASTER, 0, INTERVAL, mcrypto_uniform(150),
		    1 + mcrypto_uniform(1000));
		ck_assert_uint_eq(run(&p, NULL, n, SLOT0, 0, leave),
		    mixmaster_k(n, p.min_pool, p.rate_permille));
	}
}
END_TEST

/*
 * Every position equally likely: each round picks exactly k of n, so a
 * position's count has variance R k (n-k) / (n (n-1)) and the counts sum
 * to R k; the statistic below is then chi-square with n - 1 degrees.
 */
START_TEST(test_mixmaster_positions)
{
	enum { N = 50, MIN = 10, RATE = 500, R = 20000 };
	struct mixing_params p = params(MIXING_MIXMASTER, 0, INTERVAL, MIN, RATE);
	struct mixing_entry e[N];
	uint8_t leave[N];
	uint64_t count[N] = { 0 };
	double k = (double)mixmaster_k(N, MIN, RATE), expect, var, x2 = 0.0;
	size_t i, round;

	ck_assert(k == 25.0);
	for (i = 0; i < N; i++)
		e[i].due = SLOT0 - 100000 + (int64_t)i;	/* arrival order; ignored */
	for (round = 0; round < R; round++) {
		ck_assert_uint_eq(run(&p, e, N, SLOT0, 0, leave), 25);
		for (i = 0; i < N; i++)
			count[i] += leave[i];
	}
	expect = R * k / N;
	var = R * k * (N - k) / ((double)N * (N - 1));
	for (i = 0; i < N; i++)
		x2 += (count[i] - expect) * (count[i] - expect) / var;
	ck_assert_msg(x2 <= chi2_limit(N - 1), "chi-square %.1f > %.1f", x2, chi2_limit(N - 1));
}
END_TEST

/*
 * Every k-subset equally likely (not only every position): all C(n, k)
 * subsets counted, for k below and above n/2.
 */
static const struct {
	size_t n;
	uint32_t min_pool, rate;
	size_t k;
} subset_cases[] = {
	{ 8, 5, 500, 3 },	/* min(3, 4) */
	{ 7, 1, 900, 6 },	/* min(6, 6) */
	{ 6, 2, 700, 4 },	/* min(4, 4) */
	{ 9, 0, 112, 1 },	/* min(9, 1) */
};
#define NSUBSET (sizeof subset_cases / sizeof subset_cases[0])

START_TEST(test_mixmaster_subsets)
{
	size_t n = subset_cases[_i].n, k = subset_cases[_i].k, i, round, nsub = 0, R;
	struct mixing_params p = params(MIXING_MIXMASTER, 0, INTERVAL, subset_cases[_i].min_pool,
	    subset_cases[_i].rate);
	uint64_t obs[512] = { 0 };
	double prob[512];
	uint8_t leave[9];
	unsigned mask;
	char what[64];

	ck_assert_uint_eq(mixmaster_k(n, p.min_pool, p.rate_permille), k);
	for (mask = 0; mask < (1u << n); mask++) {
		prob[mask] = __builtin_popcount(mask) == (int)k ? 1.0 / choose(n, k) : 0.0;
		nsub += __builtin_popcount(mask) == (int)k;
	}
	R = nsub * 1000;
	for (round = 0; round < R; round++) {
		ck_assert_uint_eq(run(&p, NULL, n, SLOT0, 0, leave), k);
		for (mask = 0, i = 0; i < n; i++)
			mask |= (unsigned)leave[i] << i;
		obs[mask]++;
	}
	snprintf(what, sizeof what, "%zu-subsets of %zu", k, n);
	chi2_check(what, obs, prob, (size_t)1 << n, R);
}
END_TEST

/* ---- binomial ------------------------------------------------------------------- */

/*
 * The count of a round follows min(Bin(n, p), n - min_pool) exactly: the
 * whole law by chi-square, its mean and its variance by their standard
 * errors (the variance's from the fourth central moment).
 */
static const struct {
	size_t n;
	uint32_t min_pool, rate;
	size_t rounds;
} count_cases[] = {
	{ 1000, 0, 300, 3000 },		/* p = 0.3, no cap */
	{ 200, 45, 650, 3000 },		/* p = 0.65 (the rate caps) */
	{ 50, 45, 650, 20000 },		/* p = 0.1, capped at 5 */
	{ 46, 45, 650, 20000 },		/* p = 1/46, capped at 1 */
	{ 1, 0, 650, 20000 },		/* a lone entry leaves with p = 0.65 */
	{ 10, 0, 1, 100000 },		/* p = 0.001 */
	{ 10, 0, 1000, 1000 },		/* p = 1: all */
};
#define NCOUNT (sizeof count_cases / sizeof count_cases[0])

START_TEST(test_binomial_counts)
{
	size_t n = count_cases[_i].n, R = count_cases[_i].rounds, round, k, cap;
	struct mixing_params p = params(MIXING_BINOMIAL, 0, INTERVAL, count_cases[_i].min_pool,
	    count_cases[_i].rate);
	double pc = binomial_p(n, p.min_pool, p.rate_permille);
	double *pmf = calloc(n + 1, sizeof *pmf);
	uint64_t *obs = calloc(n + 1, sizeof *obs);
	uint8_t *leave = malloc(n);
	double mu = 0.0, var = 0.0, m4 = 0.0, sum = 0.0, sum2 = 0.0, mean, s2, d;
	char what[64];

	ck_assert(pmf != NULL && obs != NULL && leave != NULL);
	cap = n - p.min_pool;
	count_pmf(n, pc, cap, pmf);
	for (round = 0; round < R; round++) {
		k = run(&p, NULL, n, SLOT0, 0, leave);
		ck_assert_msg(k <= cap, "%zu leave, the pool keeps %u", k, p.min_pool);
		obs[k]++;
		sum += (double)k;
		sum2 += (double)k * (double)k;
	}
	for (k = 0; k <= n; k++)
		mu += (double)k * pmf[k];
	for (k = 0; k <= n; k++) {
		d = (double)k - mu;
		var += d * d * pmf[k];
		m4 += d * d * d * d * pmf[k];
	}
	mean = sum / (double)R;
	s2 = (sum2 - sum * mean) / (double)(R - 1);
	snprintf(what, sizeof what, "n %zu, p %.4f: mean", n, pc);
	within(what, mean, mu, sqrt(var / (double)R), 6.0);
	snprintf(what, sizeof what, "n %zu, p %.4f: variance", n, pc);
	/* 7 deviations: the sample variance is skewed */
	within(what, s2, var, sqrt((m4 - var * var * (R - 3.0) / (R - 1.0)) / (double)R), 7.0);
	if (var > 0.0) {
		snprintf(what, sizeof what, "n %zu, p %.4f: law of the count", n, pc);
		chi2_check(what, obs, pmf, n + 1, R);
	} else {
		ck_assert_uint_eq(obs[(size_t)mu], R);
	}
	free(pmf);
	free(obs);
	free(leave);
}
END_TEST

/*
 * The whole pattern of a round: each of the 2^n outcomes has its exact
 * probability. Uncapped, p^m (1-p)^(n-m) for m heads: the coins are
 * independent and equal. Capped at c = n - min_pool, a pattern of c
 * entries also collects every K > c heads trimmed to it:
 * sum over K of C(n-c, K-c) p^K (1-p)^(n-K) / C(K, c).
 */
static const struct {
	size_t n;
	uint32_t min_pool, rate;
} pattern_cases[] = {
	{ 4, 0, 300 },		/* p = 0.3 */
	{ 6, 0, 500 },		/* p = 0.5 */
	{ 5, 2, 1000 },		/* p = 0.6, at most 3 leave */
	{ 6, 3, 700 },		/* p = 0.5, at most 3 leave */
};
#define NPATTERN (sizeof pattern_cases / sizeof pattern_cases[0])

START_TEST(test_binomial_patterns)
{
	size_t n = pattern_cases[_i].n, cap, m, K, i, round, R = 40000;
	struct mixing_params p = params(MIXING_BINOMIAL, 0, INTERVAL, pattern_cases[_i].min_pool,
	    pattern_cases[_i].rate);
	double pc = binomial_p(n, p.min_pool, p.rate_permille), prob[64], total = 0.0;
	uint64_t obs[64] = { 0 };
	uint8_t leave[6];
	unsigned mask;
	char what[64];

	cap = n - p.min_pool;
	for (mask = 0; mask < (1u << n); mask++) {
		m = (size_t)__builtin_popcount(mask);
		prob[mask] = 0.0;
		if (m < cap) {
			prob[mask] = pow(pc, (double)m) * pow(1.0 - pc, (double)(n - m));
		} else if (m == cap) {
			for (K = cap; K <= n; K++)
				prob[mask] += choose(n - cap, K - cap) * pow(pc, (double)K) *
				    pow(1.0 - pc, (double)(n - K)) / choose(K, cap);
		}
		total += prob[mask];
	}
	ck_assert_msg(fabs(total - 1.0) < 1e-9, "the pattern law sums to %.12f", total);
	for (round = 0; round < R; round++) {
		run(&p, NULL, n, SLOT0, 0, leave);
		for (mask = 0, i = 0; i < n; i++)
			mask |= (unsigned)leave[i] << i;
		obs[mask]++;
	}
	snprintf(what, sizeof what, "patterns of %zu, p %.2f, cap %zu", n, pc, cap);
	chi2_check(what, obs, prob, (size_t)1 << n, R);
}
END_TEST

/*
 * A larger pool, uncapped: every position leaves with probability p
 * (independent counts, chi-square with n degrees), and neighbours are
 * independent (the number of adjacent pairs that both leave has mean
 * (n-1) p^2 per round and a known variance).
 */
START_TEST(test_binomial_positions)
{
	enum { N = 40, R = 20000 };
	struct mixing_params p = params(MIXING_BINOMIAL, 0, INTERVAL, 0, 250);
	struct mixing_entry e[N];
	uint8_t leave[N];
	uint64_t count[N] = { 0 }, pairs = 0;
	double pc = 0.25, x2 = 0.0, d, var;
	size_t i, round;

	for (i = 0; i < N; i++)
		e[i].due = SLOT0 - 100000 + (int64_t)i;	/* arrival order; ignored */
	for (round = 0; round < R; round++) {
		run(&p, e, N, SLOT0, 0, leave);
		for (i = 0; i < N; i++) {
			count[i] += leave[i];
			if (i + 1 < N)
				pairs += leave[i] & leave[i + 1];
		}
	}
	for (i = 0; i < N; i++) {
		d = (double)count[i] - R * pc;
		x2 += d * d / (R * pc * (1.0 - pc));
	}
	ck_assert_msg(x2 <= chi2_limit(N), "positions: chi-square %.1f > %.1f", x2, chi2_limit(N));
	var = (N - 1) * pc * pc * (1.0 - pc * pc) +
	    2.0 * (N - 2) * (pc * pc * pc - pc * pc * pc * pc);
	within("adjacent pairs", (double)pairs, (double)R * (N - 1) * pc * pc, sqrt(R * var), 6.0);
}
END_TEST

/*
 * Capped: the trimming keeps every position equally likely. Each position's
 * count is Bin(R, q) with q = E[min(K, cap)] / n; every one within 6.5
 * deviations (20 positions: a false alarm below 2e-9).
 */
START_TEST(test_binomial_positions_capped)
{
	enum { N = 20, MIN = 15, R = 20000 };
	struct mixing_params p = params(MIXING_BINOMIAL, 0, INTERVAL, MIN, 650);
	uint8_t leave[N];
	uint64_t count[N] = { 0 };
	double pmf[N + 1], q = 0.0;
	size_t i, round, k;
	char what[32];

	count_pmf(N, binomial_p(N, MIN, 650), N - MIN, pmf);
	for (k = 0; k <= N; k++)
		q += (double)k * pmf[k];
	q /= N;
	for (round = 0; round < R; round++) {
		ck_assert_uint_le(run(&p, NULL, N, SLOT0, 0, leave), N - MIN);
		for (i = 0; i < N; i++)
			count[i] += leave[i];
	}
	for (i = 0; i < N; i++) {
		snprintf(what, sizeof what, "position %zu", i);
		within(what, (double)count[i], R * q, sqrt(R * q * (1.0 - q)), 6.5);
	}
}
END_TEST

/* ---- large pools and misuse ------------------------------------------------------- */

START_TEST(test_large_pool)
{
	struct mixing_params p;
	struct mixing_entry *e = malloc(BIG_N * sizeof *e);
	uint8_t *leave = malloc(BIG_N);
	size_t i, k, first;
	double sd;

	ck_assert(e != NULL && leave != NULL);
	/* mixmaster: exactly 65,000; each half a hypergeometric share */
	mixing_params_default(&p);
	p.strategy = MIXING_MIXMASTER;
	ck_assert_uint_eq(run(&p, NULL, BIG_N, SLOT0, 0, leave), 65000);
	for (first = 0, i = 0; i < BIG_N / 2; i++)
		first += leave[i];
	sd = sqrt(50000.0 * 0.65 * 0.35 * 50000.0 / (BIG_N - 1));
	within("mixmaster, first half", (double)first, 32500.0, sd, 6.0);

	/* binomial: p = 0.65 */
	p.strategy = MIXING_BINOMIAL;
	k = run(&p, NULL, BIG_N, SLOT0, 0, leave);
	within("binomial, count", (double)k, 65000.0, sqrt(BIG_N * 0.65 * 0.35), 6.0);
	for (first = 0, i = 0; i < BIG_N / 2; i++)
		first += leave[i];
	within("binomial, first half", (double)first, 32500.0, sqrt(50000 * 0.65 * 0.35), 6.0);

	/* continuous: every other entry due */
	for (i = 0; i < BIG_N; i++)
		e[i].due = i % 2 ? SLOT0 + 1 : SLOT0;
	p.strategy = MIXING_CONTINUOUS;
	ck_assert_uint_eq(run(&p, e, BIG_N, SLOT0, 0, leave), BIG_N / 2);
	free(e);
	free(leave);
}
END_TEST

/* Misuse is a bug in the caller: mixing_select panics (abort) */
START_TEST(test_misuse)
{
	struct mixing_params p;
	uint8_t leave[4];

	mixing_params_default(&p);
	switch (_i) {
	case 0:
		p.rate_permille = 0;
		break;
	case 1:
		p.strategy = MIXING_NSTRATEGIES;
		break;
	case 2:
		mixing_select(&p, NULL, 4, SLOT0, 0, NULL);
		return;
	case 3:
		p.strategy = MIXING_CONTINUOUS;
		break;
	case 4:
		mixing_select(&p, NULL, (size_t)UINT32_MAX + 1, SLOT0, 0, leave);
		return;
	}
	mixing_select(&p, NULL, 4, SLOT0, 0, leave);
}
END_TEST

static Suite *
mixing_suite(void)
{
	Suite *s = suite_create("mixing");
	TCase *tc = tcase_create("rules");
	TCase *ts = tcase_create("statistics");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_names);
	tcase_add_test(tc, test_defaults);
	tcase_add_loop_test(tc, test_params_check, 0, NCHECK);
	tcase_add_test(tc, test_due);
	tcase_add_loop_test(tc, test_rules, 0, NRULE);
	tcase_add_test(tc, test_empty);
	tcase_add_test(tc, test_continuous);
	tcase_add_test(tc, test_mixmaster_counts);
	tcase_add_test(tc, test_mixmaster_every_round);
	tcase_add_loop_test_raise_signal(tc, test_misuse, SIGABRT, 0, 5);
	suite_add_tcase(s, tc);

	tcase_add_checked_fixture(ts, setup, NULL);
	tcase_set_timeout(ts, 120);
	tcase_add_test(ts, test_mixmaster_positions);
	tcase_add_loop_test(ts, test_mixmaster_subsets, 0, NSUBSET);
	tcase_add_loop_test(ts, test_binomial_counts, 0, NCOUNT);
	tcase_add_loop_test(ts, test_binomial_patterns, 0, NPATTERN);
	tcase_add_test(ts, test_binomial_positions);
	tcase_add_test(ts, test_binomial_positions_capped);
	tcase_add_test(ts, test_large_pool);
	suite_add_tcase(s, ts);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(mixing_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
