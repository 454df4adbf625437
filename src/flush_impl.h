/*
 * flush_impl.h - what src/flush.c (the run and its states) and
 * src/flush_out.c (setup, the mails, dummies, the exit) share.
 */
#ifndef MIX_FLUSH_IMPL_H
#define MIX_FLUSH_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "descriptor.h"
#include "keys.h"
#include "message.h"
#include "mixing.h"
#include "mixnode.h"
#include "pkt.h"
#include "pool.h"
#include "poolflush.h"
#include "reasm.h"
#include "relay.h"
#include "replay.h"
#include "stats.h"

#define FLUSH_BATCH	400	/* entries per batch (about 20 MB in memory) */

/* What happens to a batch item */
enum action {
	A_NONE = 0,	/* nothing (unreadable, or settled already) */
	A_SEND,		/* hand to the relay */
	A_DONE,		/* sent or deliberately dropped: unlink */
	A_DEFER,	/* refused for now: defer/ */
	A_RETURN	/* not handled this run (transient trouble): back to pool/ */
};

struct item {
	char name[POOL_NAME_LEN + 1];	/* "" for a direct dummy */
	enum fpool_dir where;		/* where the entry is now */
	uint8_t *buf;			/* the entry's bytes */
	struct pool_entry e;		/* decoded; data points into buf */
	enum action action;
	enum stats_counter out_kind;	/* counted when the relay says 250 */
	/* a mail to one address (forward, dummy, re-wrap) ... */
	char to[PKT_ADDR_MAX + 1];
	const char *rcpt1[1];
	uint8_t *mail;
	size_t mail_len;
	/* ... or a final-hop mail */
	struct exit_mail xm;
};

/* A dummy built this round to leave at once */
struct dummy {
	char to[PKT_ADDR_MAX + 1];
	uint8_t *mail;
	size_t mail_len;
};

struct flusher {
	struct node *n;
	struct keyring *kr;
	struct fpool *fp;
	struct replay *rc[KEYS_MAX_MIX];	/* the live keys' caches */
	size_t nrc;
	struct relay relay;
	char relay_name[RELAY_PATH_MAX + 16];
	struct mixing_params mp;
	const char *address;			/* this node's address: envelope sender, From */
	int exit;				/* exit = yes */
	/* other nodes, and this node's own descriptor (dummies through itself) */
	struct descriptor *nodes;		/* nodedb_load + self at the end */
	size_t nnodes;
	/* the exit */
	struct exit_policy pol;
	char **block, **header_block;		/* the policy files' patterns */
	size_t nblock, nheader_block;
	struct reasm *ra;
	int64_t frag_expire;
	int64_t retry_max_age;
	/* the state file */
	int64_t last_round;
	uint64_t inbound_at_round;
	uint64_t count[STATS_NCOUNTERS];
};

/* flush.c */
void fl_count(struct flusher *f, enum stats_counter c, uint64_t k);
int64_t fl_backoff(uint32_t retry);
int64_t fl_waited(uint32_t retry);

/* flush_out.c */
int fl_setup(struct flusher *f);		/* exit status: 0, 75, 78 */
void fl_teardown(struct flusher *f);
void fl_prepare(struct flusher *f, struct item *it);
int fl_dummies(struct flusher *f, uint64_t inbound, struct dummy **out, size_t *n);
int fl_exit_open(struct flusher *f);
int fl_exit_deliver_ready(struct flusher *f);
int fl_write_file(const char *tmp, const char *path, const void *data, size_t len);
int fl_outbox(struct flusher *f);		/* the outbox: 0, or -1 (retry next run) */

#endif
