/*
 * mixing.c - the mixing strategies (mixing.h, doc/mixing.md).
 *
 * One round, for n entries in the pool (dummies included):
 *
 *   threshold        n >= N: all leave
 *   timed            all leave (rounds come once per interval)
 *   threshold-timed  n >= N: all leave (rounds come once per interval)
 *   mixmaster        n > min: a uniformly random k-subset leaves,
 *                    k = min(n - min, floor(n * rate / 1000))
 *   binomial         n > min: each entry leaves on its own coin of
 *                    probability min(n - min, n * rate / 1000) / n,
 *                    never taking the pool below min
 *   continuous       the entries whose due time has come leave
 *
 * The random choices are exact. All randomness is drawn from
 * mcrypto_random() in batches and reduced to a uniform integer below a
 * bound by rejection, with no modulo bias. A k-subset is drawn with
 * Floyd's algorithm, using leave[] itself as the set, so the selection
 * needs no memory of its own and cannot fail. A coin of probability a/b
 * (a rational, no floating point) is "a uniform integer below b is below
 * a". Positions in the caller's array enter only as labels: every
 * k-subset (every pattern of coins) has the same probability whatever the
 * order of the array.
 *
 * Functions: mixing_strategy_from_name(), mixing_strategy_name(),
 * mixing_params_default(), mixing_params_check(), mixing_due(),
 * mixing_select().
 *
 * Diagnostics: msg_panic() on invalid parameters or too many entries (the
 * caller checks its settings first); nothing else is logged.
 */
#include <config.h>

#include <stdint.h>
#include <string.h>

#include "log.h"
#include "mcrypto.h"
#include "mixing.h"

#define RAND_BATCH	64	/* 64-bit words fetched per mcrypto_random() */

const char *const mixing_strategy_choices[] = {
	[MIXING_THRESHOLD] = "threshold",
	[MIXING_TIMED] = "timed",
	[MIXING_THRESHOLD_TIMED] = "threshold-timed",
	[MIXING_MIXMASTER] = "mixmaster",
	[MIXING_BINOMIAL] = "binomial",
	[MIXING_CONTINUOUS] = "continuous",
	[MIXING_NSTRATEGIES] = NULL
};

_Static_assert(MIXING_NSTRATEGIES == 6, "every strategy has a name");
_Static_assert((uint64_t)MIXING_MAX_ENTRIES * MIXING_RATE_MAX < UINT64_MAX / 2,
    "the coin's fraction fits 64 bits");

/* ---- names and parameters ------------------------------------------------- */

int
mixing_strategy_from_name(const char *name, enum mixing_strategy *out)
{
	int i;

	if (name == NULL)
		return -1;
	for (i = 0; i < MIXING_NSTRATEGIES; i++) {
		if (strcmp(name, mixing_strategy_choices[i]) == 0) {
			*out = (enum mixing_strategy)i;
			return 0;
		}
	}
	return -1;
}

const char *
mixing_strategy_name(enum mixing_strategy s)
{
	if ((unsigned)s >= MIXING_NSTRATEGIES)
		return NULL;
	return mixing_strategy_choices[s];
}

void
mixing_params_default(struct mixing_params *p)
{
	memset(p, 0, sizeof *p);
	p->strategy = MIXING_DEFAULT_STRATEGY;
	p->threshold = MIXING_DEFAULT_THRESHOLD;
	p->interval = MIXING_DEFAULT_INTERVAL;
	p->min_pool = MIXING_DEFAULT_MIN_POOL;
	p->rate_permille = MIXING_DEFAULT_RATE;
}

/* timed - whether the strategy's rounds come once per interval */
static int
timed(enum mixing_strategy s)
{
	return s == MIXING_TIMED || s == MIXING_THRESHOLD_TIMED || s == MIXING_MIXMASTER ||
	    s == MIXING_BINOMIAL;
}

const char *
mixing_params_check(const struct mixing_params *p)
{
	enum mixing_strategy s = p->strategy;

	/* The texts name the settings of doc/mixing.md, for the config's errors. */
	if ((unsigned)s >= MIXING_NSTRATEGIES)
		return "mixing must be threshold, timed, threshold-timed, mixmaster, "
		    "binomial or continuous";
	if ((s == MIXING_THRESHOLD || s == MIXING_THRESHOLD_TIMED) &&
	    (p->threshold < 1 || p->threshold > MIXING_THRESHOLD_MAX))
		return "mix_threshold must be 1 to 1000000";
	if (timed(s) && (p->interval < 1 || p->interval > MIXING_INTERVAL_MAX))
		return "mix_interval must be 1s to 7d";
	if ((s == MIXING_MIXMASTER || s == MIXING_BINOMIAL) && p->min_pool > MIXING_MIN_POOL_MAX)
		return "mix_min_pool must be 0 to 1000000";
	if ((s == MIXING_MIXMASTER || s == MIXING_BINOMIAL) &&
	    (p->rate_permille < 1 || p->rate_permille > MIXING_RATE_MAX))
		return "mix_rate_permille must be 1 to 1000";
	return NULL;
}

/* ---- rounds ------------------------------------------------------------------ */

/* slot - the interval-long period of time t falls in (floor division) */
static int64_t
slot(int64_t t, int64_t interval)
{
	int64_t q = t / interval;

	return (t % interval < 0) ? q - 1 : q;
}

int
mixing_due(const struct mixing_params *p, int64_t now, int64_t last_round)
{
	const char *why;

	if ((why = mixing_params_check(p)) != NULL)
		msg_panic("mixing_due: %s", why);
	if (!timed(p->strategy))
		return 1;
	/* A clock that went back must not hold the pool until it catches up. */
	if (last_round <= 0 || now < last_round)
		return 1;
	return slot(now, p->interval) > slot(last_round, p->interval);
}

/* ---- exact randomness ----------------------------------------------------- */

struct rnd {
	uint64_t word[RAND_BATCH];
	size_t left;
};

static uint64_t
rnd_word(struct rnd *r)
{
	if (r->left == 0) {
		mcrypto_random(NULL, r->word, sizeof r->word);
		r->left = RAND_BATCH;
	}
	return r->word[--r->left];
}

/*
 * rnd_below - a uniform integer in [0, bound), bound >= 1. The 2^64 mod
 * bound smallest words are rejected, which leaves a whole number of copies
 * of [0, bound) to reduce modulo bound. At most bound / 2^64 of the draws
 * are rejected (below 2^-20 here).
 */
static uint64_t
rnd_below(struct rnd *r, uint64_t bound)
{
	uint64_t min = (0 - bound) % bound;	/* 2^64 mod bound */
	uint64_t x;

	do
		x = rnd_word(r);
	while (x < min);
	return x % bound;
}

static void
rnd_wipe(struct rnd *r)
{
	mcrypto_wipe(r, sizeof *r);
}

/* ---- the strategies --------------------------------------------------------- */

static size_t
all(size_t n, uint8_t *leave)
{
	memset(leave, 1, n);
	return n;
}

/*
 * subset - mark a uniformly random k-subset of [0, n) (leave[] is all zero
 * on entry). Floyd's algorithm: for j = n-k .. n-1, draw t uniform in
 * [0, j]; add t, or j if t is already in. By induction the set after the
 * step for j is a uniform m-subset of [0, j]: a given m-subset T holding j
 * comes from T - {j} and any of the m draws t in T (t = j included); one
 * without j comes from one of the m sets T - {x} and the draw t = x. Either
 * way m equally likely paths of probability 1 / (j + 1) each. O(k) draws,
 * no memory of its own.
 */
static void
subset(uint8_t *leave, size_t n, size_t k)
{
	struct rnd r = { .left = 0 };
	size_t j, t;

	for (j = n - k; j < n; j++) {
		t = (size_t)rnd_below(&r, (uint64_t)j + 1);
		if (leave[t])
			leave[j] = 1;
		else
			leave[t] = 1;
	}
	rnd_wipe(&r);
}

/* Mixmaster 3's pool_send(): nothing unless n > min; then k as above */
static size_t
select_mixmaster(const struct mixing_params *p, size_t n, uint8_t *leave)
{
	uint64_t k, most;

	if (n <= p->min_pool)
		return 0;
	k = n - p->min_pool;
	most = (uint64_t)n * p->rate_permille / 1000;
	if (most < k)
		k = most;
	subset(leave, n, (size_t)k);
	return (size_t)k;
}

/*
 * select_binomial - every entry flips its own coin of probability
 * a/b = min((n - min) * 1000, n * rate) / (n * 1000); the expected count
 * is Mixmaster's k without its rounding. Should the heads exceed n - min,
 * a uniformly random (n - min)-subset of them leaves (selection sampling:
 * walk the heads, keep each with probability still-to-keep / heads-left),
 * so that the pool never drops below min: every entry still has the same
 * chance, and the set that leaves is uniform given its size.
 */
static size_t
select_binomial(const struct mixing_params *p, size_t n, uint8_t *leave)
{
	struct rnd r = { .left = 0 };
	uint64_t a, b, cap, heads = 0, keep;
	size_t i;

	if (n <= p->min_pool)
		return 0;
	cap = n - p->min_pool;
	b = (uint64_t)n * 1000;
	a = (uint64_t)n * p->rate_permille;
	if (cap * 1000 < a)
		a = cap * 1000;
	for (i = 0; i < n; i++) {
		leave[i] = rnd_below(&r, b) < a;
		heads += leave[i];
	}
	if (heads > cap) {
		keep = cap;
		for (i = 0; i < n && heads > 0; i++) {
			if (!leave[i])
				continue;
			if (rnd_below(&r, heads) < keep)
				keep--;
			else
				leave[i] = 0;
			heads--;
		}
		heads = cap;
	}
	rnd_wipe(&r);
	return (size_t)heads;
}

static size_t
select_continuous(const struct mixing_entry *e, size_t n, int64_t now, uint8_t *leave)
{
	size_t i, k = 0;

	for (i = 0; i < n; i++) {
		leave[i] = e[i].due <= now;
		k += leave[i];
	}
	return k;
}

size_t
mixing_select(const struct mixing_params *p, const struct mixing_entry *e, size_t n,
    int64_t now, int64_t last_round, uint8_t *leave)
{
	const char *why;

	if ((why = mixing_params_check(p)) != NULL)
		msg_panic("mixing_select: %s", why);
	if ((uint64_t)n > MIXING_MAX_ENTRIES)
		msg_panic("mixing_select: %zu entries", n);
	if (n == 0)
		return 0;
	if (leave == NULL || (p->strategy == MIXING_CONTINUOUS && e == NULL))
		msg_panic("mixing_select: no array");
	memset(leave, 0, n);
	if (!mixing_due(p, now, last_round))
		return 0;

	switch (p->strategy) {
	case MIXING_THRESHOLD:
	case MIXING_THRESHOLD_TIMED:
		return n >= p->threshold ? all(n, leave) : 0;
	case MIXING_TIMED:
		return all(n, leave);
	case MIXING_MIXMASTER:
		return select_mixmaster(p, n, leave);
	case MIXING_BINOMIAL:
		return select_binomial(p, n, leave);
	case MIXING_CONTINUOUS:
		return select_continuous(e, n, now, leave);
	case MIXING_NSTRATEGIES:
		break;
	}
	msg_panic("mixing_select: strategy %d", (int)p->strategy);
}
