/*
 * stats.h - the node's operational counters.
 *
 * One file, SPOOL/stats, holds running totals and coarse buckets (one per
 * hour for the last 24 hours, one per day for the last 80 days) of each
 * counter below, in the format of doc/INTERNALS.md section 7. Many hooks
 * count at once: each increment is done under an flock(2) of the file with
 * a bounded wait. Counting is best effort by design: a failure to count is
 * reported to the caller, which logs it and goes on; it never makes a
 * packet be lost or retried. A crash may lose the increments of the
 * moment (no fsync per increment); it never leaves the file unreadable.
 *
 * Counters record only what happened and in which hour: no address,
 * no tag, no per-message time.
 *
 * Functions: stats_add(), stats_read(), stats_name(), stats_find().
 */
#ifndef MIX_STATS_H
#define MIX_STATS_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "mcrypto.h"

/* The counters; the order is part of the file format: append only */
enum stats_counter {
	STATS_IN_FORWARD = 0,	/* committed: a packet to forward */
	STATS_IN_DELIVER,	/* committed: a final-hop message */
	STATS_IN_DUMMY,		/* a dummy that ends here (counted, not kept) */
	STATS_DROP_NOPACKET,	/* no armored packet in the mail */
	STATS_DROP_ARMOR,	/* an armor that did not decode to a packet */
	STATS_DROP_PARSE,	/* not parseable as mail */
	STATS_DROP_OVERSIZE,	/* larger than max_message_size */
	STATS_DROP_LIMIT,	/* MIME structure beyond the parser's bounds */
	STATS_DROP_VERSION,	/* unknown packet version */
	STATS_DROP_KEY,		/* no live key opened it (tampered header, not ours, expired key) */
	STATS_DROP_ROUTING,	/* authenticated but malformed routing */
	STATS_DROP_UNSUPPORTED,	/* a command this node does not handle */
	STATS_DROP_TAMPERED,	/* exit: payload tag wrong */
	STATS_DROP_BODY,	/* exit: body malformed */
	STATS_DROP_REPLAY,	/* replay tag already recorded */
	STATS_TEMPFAIL,		/* exit 75 given to the MTA */
	/* the flusher (mixnode flush) */
	STATS_OUT_FORWARD,	/* handed to the relay: a packet for the next hop */
	STATS_OUT_DELIVER,	/* handed to the relay: a final-hop mail */
	STATS_OUT_DUMMY,	/* handed to the relay: a dummy made here */
	STATS_OUT_TEMP,		/* refused for now (4xx, no answer): kept, retried later */
	STATS_OUT_FAILED,	/* refused for good (5xx) or waited too long: moved to failed/ */
	STATS_OUT_UNCERTAIN,	/* a crash during a final-hop hand-off: moved to failed/ */
	STATS_REFUSE_SIZE,	/* exit policy: message too large */
	STATS_REFUSE_RCPTS,	/* exit policy: too many recipients */
	STATS_REFUSE_BLOCKED,	/* exit policy: a destination is blocked */
	STATS_REFUSE_HEADER,	/* exit policy: a header matched the filter */
	STATS_FRAG_STORED,	/* exit: a fragment stored for reassembly */
	STATS_FRAG_EXPIRED,	/* exit: an incomplete message expired */
	STATS_CORRUPT,		/* a damaged entry moved to corrupt/ */
	STATS_ROUNDS,		/* mixing rounds */
	STATS_POOL_SIZE,	/* the pool's size at each round, summed (divide by rounds) */
	/* mail that holds no packet (doc/autoreply.md); statistics file version 2 */
	STATS_REPLY_QUEUED,	/* an auto-reply committed to outbox/ */
	STATS_REPLY_RATE,	/* an auto-reply refused by a rate limit */
	STATS_REPLY_LOOP,	/* an auto-reply refused by loop protection (or no reply address) */
	STATS_OUTBOX_SENT,	/* an outbox/ mail handed to the relay */
	STATS_OUTBOX_FAILED,	/* an outbox/ mail refused for good (5xx) or too old: removed */
	STATS_OTHER_KEPT,	/* other mail kept in the operator's Maildir */
	STATS_OTHER_FORWARDED,	/* a complaint committed to outbox/ for the operator */
	STATS_OTHER_FULL,	/* other mail not kept: the operator's Maildir is full */
	STATS_NCOUNTERS
};

#define STATS_HOURS	24
#define STATS_DAYS	80

/* A snapshot of the file */
struct stats_snapshot {
	uint64_t total[STATS_NCOUNTERS];
	/* hour[0] is the current hour, hour[i] the hour i hours before (days alike) */
	int64_t hour_start[STATS_HOURS];	/* bucket i covers [start, start+3600); 0: empty */
	uint64_t hour[STATS_HOURS][STATS_NCOUNTERS];
	int64_t day_start[STATS_DAYS];
	uint64_t day[STATS_DAYS][STATS_NCOUNTERS];
};

/*
 * stats_add - add n to counter c at time now (creating the file, mode 0600,
 * if missing). 0 on success, -1 on failure (errno set; ETIMEDOUT if the
 * lock was not obtained within timeout_ms).
 */
int stats_add(const char *spool, enum stats_counter c, uint64_t n, time_t now,
    unsigned timeout_ms) MIX_WUR;

/*
 * stats_read - the counters at now (buckets older than 24 hours or 80 days
 * read as empty). A missing file reads as all zero. 0 or -1 (errno;
 * EINVAL for a damaged file).
 */
int stats_read(const char *spool, time_t now, struct stats_snapshot *s) MIX_WUR;

/*
 * The rows of a report made at a time now: row i of hour is the hour i
 * hours before now's hour, row i of day the day i days before today
 * (UTC), each with its start and the counters of the snapshot's bucket
 * that starts there, or all zeros when none does. The pointers point
 * into the snapshot (or a static zero bucket).
 */
struct stats_rows {
	int64_t hour_start[STATS_HOURS];
	const uint64_t *hour[STATS_HOURS];
	int64_t day_start[STATS_DAYS];
	const uint64_t *day[STATS_DAYS];
};

/* stats_rows_fill - the rows of s at now (0 or later) */
void stats_rows_fill(struct stats_rows *r, const struct stats_snapshot *s, int64_t now);

/* stats_name - the counter's name as printed, e.g. "drop_replay" */
const char *stats_name(enum stats_counter c);

/* stats_find - the counter called name, or -1 */
int stats_find(const char *name);

#endif
