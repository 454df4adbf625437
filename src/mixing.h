/*
 * mixing.h - the mixing strategies: which pooled packets leave in a round.
 *
 * Pure decision logic, no file I/O. The flusher loads the pool, asks
 * mixing_due() whether this run is a mixing round, inserts its dummies,
 * calls mixing_select() and sends what was picked. doc/mixing.md gives
 * each strategy's exact rule, its settings and its latency and anonymity
 * trade-offs.
 *
 * Every random choice comes from mcrypto_random() (the OS CSPRNG) through
 * exact rejection sampling. Which entries leave depends only on the
 * strategy, the count n, the round's time and, for continuous mixing, each
 * entry's due time: never on the order of the caller's array, so the
 * flusher may list the pool in any order it likes.
 *
 * Functions: mixing_strategy_from_name(), mixing_strategy_name(),
 * mixing_params_default(), mixing_params_check(), mixing_due(),
 * mixing_select().
 */
#ifndef MIX_MIXING_H
#define MIX_MIXING_H

#include <stddef.h>
#include <stdint.h>

#include "mcrypto.h"		/* MIX_WUR */

/* The configuration names (mixing = NAME) are in mixing_strategy_choices */
enum mixing_strategy {
	MIXING_THRESHOLD = 0,	/* "threshold": all leave once n >= threshold */
	MIXING_TIMED,		/* "timed": all leave every interval */
	MIXING_THRESHOLD_TIMED,	/* "threshold-timed": every interval, all if n >= threshold */
	MIXING_MIXMASTER,	/* "mixmaster": Mixmaster 3's timed dynamic pool */
	MIXING_BINOMIAL,	/* "binomial": one coin per entry, every interval */
	MIXING_CONTINUOUS,	/* "continuous": each entry leaves when due */
	MIXING_NSTRATEGIES
};

/* Ranges checked by mixing_params_check() */
#define MIXING_MAX_ENTRIES	UINT32_MAX	/* n per round */
#define MIXING_THRESHOLD_MAX	1000000
#define MIXING_MIN_POOL_MAX	1000000
#define MIXING_RATE_MAX		1000		/* per mille: all of the pool */
#define MIXING_INTERVAL_MAX	(7 * 86400)	/* seconds */

/* Defaults (doc/mixing.md; Mixmaster's recommended 15m / 45 / 65 %) */
#define MIXING_DEFAULT_STRATEGY		MIXING_BINOMIAL
#define MIXING_DEFAULT_THRESHOLD	50
#define MIXING_DEFAULT_INTERVAL		(15 * 60)
#define MIXING_DEFAULT_MIN_POOL		45
#define MIXING_DEFAULT_RATE		650

struct mixing_params {
	enum mixing_strategy strategy;
	uint32_t threshold;	/* threshold, threshold-timed: N entries */
	int64_t interval;	/* timed, threshold-timed, mixmaster, binomial: seconds */
	uint32_t min_pool;	/* mixmaster, binomial: entries always kept */
	uint32_t rate_permille;	/* mixmaster, binomial: most that leave, per mille of n */
};

struct mixing_entry {
	int64_t due;		/* continuous: earliest send time (0: none); else ignored */
};

/* The names, in enum order, NULL-terminated (a CONF_ENUM's choices) */
extern const char *const mixing_strategy_choices[];

/* mixing_strategy_from_name - 0 and *out set, or -1 for an unknown name */
int mixing_strategy_from_name(const char *name, enum mixing_strategy *out) MIX_WUR;

/* mixing_strategy_name - "threshold", ...; NULL for a value out of range */
const char *mixing_strategy_name(enum mixing_strategy s);

/* mixing_params_default - the defaults above */
void mixing_params_default(struct mixing_params *p);

/*
 * mixing_params_check - NULL if p is valid for its strategy, else a fixed
 * text naming the bad setting, e.g. "mix_rate_permille must be 1 to 1000".
 * Only the fields the strategy uses are checked.
 */
const char *mixing_params_check(const struct mixing_params *p);

/*
 * mixing_due - 1 if a flush at now is a mixing round, 0 if it is not.
 * last_round is the time of the last round (any run this function called
 * due, whether or not it sent anything; 0: never). The flusher records now
 * as the new last_round after a round, and inserts its dummies only in
 * rounds. Timed strategies have one round per interval-long slot of time
 * since the epoch: due if the slot of now is later than that of
 * last_round, or if the clock went back (now < last_round). Threshold and
 * continuous mixing: every flush is a round. Invalid params are a bug
 * (panic).
 */
int mixing_due(const struct mixing_params *p, int64_t now, int64_t last_round);

/*
 * mixing_select - decide one round: set leave[i] to 1 for each entry that
 * leaves and to 0 for the others; return how many leave. Nothing leaves if
 * mixing_due() says the run is not a round. e is read by continuous mixing
 * only (may be NULL otherwise); n is at most MIXING_MAX_ENTRIES. Invalid
 * params are a bug (panic). Time O(n), memory O(1).
 */
size_t mixing_select(const struct mixing_params *p, const struct mixing_entry *e, size_t n,
    int64_t now, int64_t last_round, uint8_t *leave);

#endif
