/*
 * flush.c - one run of the flusher (flush.h).
 *
 * The order of the steps is doc/INTERNALS.md section 4's (F1-F8):
 *
 *   F1  picked by mixing_select, under flush.lock
 *   F2  tag recorded in every live replay cache (synced), then renamed
 *       pool/ -> out/, out/ and pool/ synced
 *   F3  handed to the relay; a final-hop mail first moves out/ ->
 *       sending/ (synced): a crash while it is there sends it to failed/
 *       ("uncertain"), so a human recipient never gets it twice
 *   F5  250: unlinked
 *   F6  4xx or no answer: rewritten into defer/ with retry + 1 and a
 *       not-before, then unlinked from out/ (a due deferred entry goes
 *       back to out/ in a later run, without mixing again)
 *   F7  5xx, or retried longer than retry_max_age: kept in failed/
 *
 * Everything a run does not finish, the next run finishes: entries left
 * in out/ go back to pool/ (fpool_recover).
 *
 * Mails out of this node (forward, dummy, re-wrap) all have one shape:
 * From and To, Date, a random Message-ID, text/plain, the armored packet
 * (flush_out.c). Nothing in them or in the log names the time a packet
 * arrived, a tag or an entry name.
 */
#include <config.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "flush.h"
#include "flush_impl.h"
#include "log.h"
#include "mem.h"
#include "mixing.h"
#include "stats.h"

#define RETRY_BASE	900		/* first backoff after a 4xx: 15 minutes */
#define RETRY_CAP	(4 * 3600)	/* longest backoff */
#define TMP_MAX_AGE	86400		/* strays in tmp/ older than this go */

/* ---- counting ------------------------------------------------------------ */

void
fl_count(struct flusher *f, enum stats_counter c, uint64_t k)
{
	f->count[c] += k;
}

static void
count_flush(struct flusher *f)
{
	int c;

	for (c = 0; c < STATS_NCOUNTERS; c++)
		if (f->count[c] != 0 && stats_add(f->n->spool, (enum stats_counter)c,
		    f->count[c], f->n->now, f->n->lock_ms) != 0)
			msg_warn("statistics not updated (%s): %s",
			    stats_name((enum stats_counter)c), strerror(errno));
}

/* ---- the state file: last round, inbound total at that round ------------- */

#define STATE_FILE	"flush.state"
#define STATE_MAGIC	"mixflush 1"

static void
state_read(struct flusher *f)
{
	char path[4096], buf[128];
	long long last, in;
	FILE *fp;

	f->last_round = 0;
	f->inbound_at_round = 0;
	(void)snprintf(path, sizeof path, "%s/%s", f->n->spool, STATE_FILE);
	if ((fp = fopen(path, "re")) == NULL)
		return;
	if (fgets(buf, sizeof buf, fp) != NULL &&
	    sscanf(buf, STATE_MAGIC " %lld %lld", &last, &in) == 2 && last >= 0 && in >= 0) {
		f->last_round = last;
		f->inbound_at_round = (uint64_t)in;
	} else
		msg_warn("%s: damaged; taken as no round yet", STATE_FILE);
	(void)fclose(fp);
}

static int
state_write(struct flusher *f)
{
	char path[4096], tmp[4200], buf[128];
	int len;

	(void)snprintf(path, sizeof path, "%s/%s", f->n->spool, STATE_FILE);
	(void)snprintf(tmp, sizeof tmp, "%s.tmp", path);
	len = snprintf(buf, sizeof buf, STATE_MAGIC " %lld %llu\n", (long long)f->last_round,
	    (unsigned long long)f->inbound_at_round);
	return fl_write_file(tmp, path, buf, (size_t)len);
}

static uint64_t
inbound_total(struct flusher *f)
{
	struct stats_snapshot *s = mem_alloc(sizeof *s);
	uint64_t v = 0;

	if (stats_read(f->n->spool, f->n->now, s) == 0)
		v = s->total[STATS_IN_FORWARD] + s->total[STATS_IN_DELIVER];
	mem_free(s);
	return v;
}

/* ---- retries --------------------------------------------------------------- */

/* fl_backoff - the wait after the retry-th refusal (retry from 1) */
int64_t
fl_backoff(uint32_t retry)
{
	int64_t d = RETRY_BASE;

	while (retry-- > 1 && d < RETRY_CAP)
		d *= 2;
	return d < RETRY_CAP ? d : RETRY_CAP;
}

/* fl_waited - the time an entry has been refused for, after retry refusals */
int64_t
fl_waited(uint32_t retry)
{
	int64_t sum = 0;
	uint32_t r;

	for (r = 1; r <= retry && sum < INT32_MAX; r++)
		sum += fl_backoff(r);
	return sum;
}

/* ---- one batch ------------------------------------------------------------- */

static void
item_free(struct item *it)
{
	if (it->buf != NULL) {
		mcrypto_wipe(it->buf, POOL_ENTRY_MAX);
		mem_free(it->buf);
	}
	if (it->mail != NULL) {
		mcrypto_wipe(it->mail, it->mail_len);
		mem_free(it->mail);
	}
	exit_mail_free(&it->xm);
	memset(it, 0, sizeof *it);
}

/*
 * record_tags - F2's first half: every tag of the batch into every live
 * replay cache, synced. A tag belongs to one key's cache, but an entry
 * does not say which; a foreign tag in another cache costs one slot.
 */
static int
record_tags(struct flusher *f, struct item *items, size_t n)
{
	enum replay_status st;
	size_t r, i;

	for (r = 0; r < f->nrc; r++) {
		if ((st = replay_lock(f->rc[r], f->n->lock_ms)) != REPLAY_OK) {
			msg_warn("replay cache: %s", replay_strerror(st));
			return -1;
		}
		for (i = 0; i < n; i++) {
			if (items[i].action == A_NONE)
				continue;
			st = replay_insert(f->rc[r], items[i].e.tag);
			if (st != REPLAY_NEW && st != REPLAY_SEEN) {
				(void)replay_unlock(f->rc[r]);
				msg_warn("replay cache: %s", st == REPLAY_ERR_IO ?
				    strerror(errno) : replay_strerror(st));
				return -1;
			}
		}
		(void)replay_unlock(f->rc[r]);
		if (replay_sync(f->rc[r]) != REPLAY_OK) {
			msg_warn("replay cache: sync: %s", strerror(errno));
			return -1;
		}
	}
	return 0;
}

static int
sync_dirs(struct flusher *f, const int *dirty)
{
	int d;

	for (d = 0; d < FP_NDIRS; d++)
		if (dirty[d] && fpool_sync(f->fp, (enum fpool_dir)d) != POOL_OK) {
			msg_warn("sync %s/: %s", fpool_dir_name((enum fpool_dir)d),
			    strerror(errno));
			return -1;
		}
	return 0;
}

/* defer_item - F6: back to defer/ with retry + 1, or failed/ when too old */
static int
defer_item(struct flusher *f, struct item *it, int *dirty)
{
	struct pool_entry e = it->e;

	e.retry++;
	if (fl_waited(e.retry) > f->retry_max_age) {
		fl_count(f, STATS_OUT_FAILED, 1);
		dirty[it->where] = 1;
		return fpool_keep(f->fp, it->where, FP_FAILED, it->name) == POOL_OK ? 0 : -1;
	}
	e.not_before = f->n->now + fl_backoff(e.retry);
	fl_count(f, STATS_OUT_TEMP, 1);
	if (fpool_write(f->fp, FP_DEFER, it->name, &e) != POOL_OK)
		return -1;
	dirty[FP_DEFER] = 1;
	/* defer/ must hold it before out/ lets go */
	if (fpool_sync(f->fp, FP_DEFER) != POOL_OK)
		return -1;
	dirty[it->where] = 1;
	return fpool_unlink(f->fp, it->where, it->name) == POOL_OK ? 0 : -1;
}

/*
 * batch - load names[0..n) from src (FP_POOL: picked by this round, or
 * FP_DEFER: due again), take them out (F2), build, send and settle them.
 * Direct dummies ride along. 0, or -1: stop the run (75); whatever is in
 * out/ returns to pool/ in the next run.
 */
static int
batch(struct flusher *f, enum fpool_dir src, char *const *names, size_t n,
    struct dummy *dummies, size_t ndummies)
{
	struct item *items = mem_calloc(n + ndummies, sizeof *items);
	struct relay_msg *msgs = mem_calloc(n + ndummies, sizeof *msgs);
	size_t *who = mem_calloc(n + ndummies, sizeof *who);
	int dirty[FP_NDIRS] = { 0 }, rc = -1;
	char err[256];
	size_t i, nm = 0, len;
	enum pool_err pe;

	for (i = 0; i < n; i++) {
		struct item *it = &items[i];

		(void)snprintf(it->name, sizeof it->name, "%s", names[i]);
		it->buf = mem_alloc(POOL_ENTRY_MAX);
		pe = fpool_read(f->fp, src, it->name, it->buf, &len, &it->e);
		if (pe == POOL_ERR_FORMAT) {
			fl_count(f, STATS_CORRUPT, 1);
			dirty[src] = 1;
			if (fpool_keep(f->fp, src, FP_CORRUPT, it->name) != POOL_OK)
				goto out;
			continue;
		}
		if (pe != POOL_OK) {
			if (errno == ENOENT)
				continue;	/* gone (a concurrent check quarantined it) */
			msg_warn("read %s/ entry: %s", fpool_dir_name(src), strerror(errno));
			goto out;
		}
		it->action = A_SEND;
	}
	/* F2 */
	if (src == FP_POOL && record_tags(f, items, n) != 0)
		goto out;
	for (i = 0; i < n; i++) {
		if (items[i].action == A_NONE)
			continue;
		if (fpool_move(f->fp, src, FP_OUT, items[i].name) != POOL_OK) {
			msg_warn("move to out/: %s", strerror(errno));
			goto out;
		}
		items[i].where = FP_OUT;
	}
	dirty[src] = dirty[FP_OUT] = 1;
	if (sync_dirs(f, dirty) != 0)
		goto out;
	memset(dirty, 0, sizeof dirty);

	/* build each mail; final-hop mails move to sending/ */
	for (i = 0; i < n; i++)
		if (items[i].action == A_SEND)
			fl_prepare(f, &items[i]);
	for (i = 0; i < n; i++) {
		if (items[i].action != A_SEND || items[i].out_kind != STATS_OUT_DELIVER)
			continue;
		if (fpool_move(f->fp, FP_OUT, FP_SENDING, items[i].name) != POOL_OK)
			goto out;
		items[i].where = FP_SENDING;
		dirty[FP_OUT] = dirty[FP_SENDING] = 1;
	}
	if (sync_dirs(f, dirty) != 0)
		goto out;
	memset(dirty, 0, sizeof dirty);
	for (i = 0; i < ndummies; i++) {
		struct item *it = &items[n + i];

		it->action = A_SEND;
		it->out_kind = STATS_OUT_DUMMY;
		it->mail = dummies[i].mail;
		it->mail_len = dummies[i].mail_len;
		(void)snprintf(it->to, sizeof it->to, "%s", dummies[i].to);
		dummies[i].mail = NULL;
	}
	for (i = 0; i < n + ndummies; i++) {
		struct item *it = &items[i];

		if (it->action != A_SEND)
			continue;
		if (it->xm.data != NULL) {
			msgs[nm].rcpt = (const char *const *)it->xm.rcpt;
			msgs[nm].nrcpt = it->xm.nrcpt;
			msgs[nm].data = it->xm.data;
			msgs[nm].len = it->xm.len;
		} else {
			it->rcpt1[0] = it->to;
			msgs[nm].rcpt = it->rcpt1;
			msgs[nm].nrcpt = 1;
			msgs[nm].data = it->mail;
			msgs[nm].len = it->mail_len;
		}
		msgs[nm].sender = f->address;
		who[nm++] = i;
	}
	if (nm > 0 && relay_send(&f->relay, msgs, nm, err, sizeof err) < nm)
		msg_warn("relay %s: %s", f->relay_name, err);
	for (i = 0; i < nm; i++) {
		struct item *it = &items[who[i]];

		if (it->name[0] == 0) {		/* a direct dummy: nothing to keep */
			if (msgs[i].result == RELAY_SENT)
				fl_count(f, STATS_OUT_DUMMY, 1);
			continue;
		}
		switch (msgs[i].result) {
		case RELAY_SENT:
			fl_count(f, it->out_kind, 1);
			it->action = A_DONE;
			break;
		case RELAY_TEMP:
			it->action = A_DEFER;
			break;
		case RELAY_PERM:
			fl_count(f, STATS_OUT_FAILED, 1);
			dirty[it->where] = 1;
			if (fpool_keep(f->fp, it->where, FP_FAILED, it->name) != POOL_OK)
				goto out;
			it->action = A_NONE;
			break;
		}
	}
	/* settle: done entries go, deferred ones wait in defer/ */
	for (i = 0; i < n; i++) {
		struct item *it = &items[i];

		if (it->action == A_DONE) {
			dirty[it->where] = 1;
			if (fpool_unlink(f->fp, it->where, it->name) != POOL_OK)
				goto out;
		} else if (it->action == A_DEFER) {
			if (defer_item(f, it, dirty) != 0)
				goto out;
		} else if (it->action == A_RETURN) {
			dirty[it->where] = dirty[FP_POOL] = 1;
			if (fpool_move(f->fp, it->where, FP_POOL, it->name) != POOL_OK)
				goto out;
		}
	}
	if (sync_dirs(f, dirty) != 0)
		goto out;
	rc = 0;
out:
	if (rc != 0)
		msg_warn("batch stopped: %s", strerror(errno));
	for (i = 0; i < n + ndummies; i++)
		item_free(&items[i]);
	mem_free(items);
	mem_free(msgs);
	mem_free(who);
	return rc;
}

/* in_batches - names[0..n) from src in batches of FLUSH_BATCH */
static int
in_batches(struct flusher *f, enum fpool_dir src, char **names, size_t n,
    struct dummy *dummies, size_t ndummies)
{
	size_t i = 0, k;

	do {
		k = n - i < FLUSH_BATCH ? n - i : FLUSH_BATCH;
		if (batch(f, src, names + i, k, i == 0 ? dummies : NULL, i == 0 ? ndummies : 0))
			return -1;
		i += k;
	} while (i < n);
	return 0;
}

/* ---- the run --------------------------------------------------------------- */

/* due_deferred - the names in defer/ whose not-before has come */
static int
due_deferred(struct flusher *f, char ***due, size_t *ndue)
{
	uint8_t *buf = mem_alloc(POOL_ENTRY_MAX);
	struct pool_entry e;
	char **names;
	size_t n, i, len;
	enum pool_err pe;
	int dirty[FP_NDIRS] = { 0 };

	*due = mem_calloc(1, sizeof **due);
	*ndue = 0;
	if (fpool_list(f->fp, FP_DEFER, &names, &n) != POOL_OK) {
		mem_free(buf);
		return -1;
	}
	*due = mem_realloc(*due, (n + 1) * sizeof **due);
	for (i = 0; i < n; i++) {
		pe = fpool_read(f->fp, FP_DEFER, names[i], buf, &len, &e);
		if (pe == POOL_ERR_FORMAT) {
			fl_count(f, STATS_CORRUPT, 1);
			dirty[FP_DEFER] = 1;
			if (fpool_keep(f->fp, FP_DEFER, FP_CORRUPT, names[i]) != POOL_OK)
				msg_warn("move to corrupt/: %s", strerror(errno));
		} else if (pe == POOL_OK && e.not_before <= f->n->now)
			(*due)[(*ndue)++] = mem_strdup(names[i]);
	}
	(void)sync_dirs(f, dirty);
	pool_list_free(names, n);
	mcrypto_wipe(buf, POOL_ENTRY_MAX);
	mem_free(buf);
	return 0;
}

/* select_round - a round: pool size counted, dummies pooled, the picks */
static int
select_round(struct flusher *f, char ***picked, size_t *npicked)
{
	struct mixing_entry *me = NULL;
	uint8_t *leave, *buf;
	struct pool_entry e;
	char **names;
	size_t n, i, len;

	*picked = NULL;
	*npicked = 0;
	if (fpool_list(f->fp, FP_POOL, &names, &n) != POOL_OK)
		return -1;
	fl_count(f, STATS_ROUNDS, 1);
	fl_count(f, STATS_POOL_SIZE, n);
	if (f->mp.strategy == MIXING_CONTINUOUS) {
		me = mem_calloc(n + 1, sizeof *me);
		buf = mem_alloc(POOL_ENTRY_MAX);
		for (i = 0; i < n; i++)
			if (fpool_read(f->fp, FP_POOL, names[i], buf, &len, &e) == POOL_OK)
				me[i].due = e.due;
			else
				me[i].due = INT64_MAX;	/* unreadable: the batch quarantines it */
		mcrypto_wipe(buf, POOL_ENTRY_MAX);
		mem_free(buf);
	}
	leave = mem_calloc(n + 1, 1);
	(void)mixing_select(&f->mp, me, n, f->n->now, f->last_round, leave);
	*picked = mem_calloc(n + 1, sizeof **picked);
	for (i = 0; i < n; i++)
		if (leave[i])
			(*picked)[(*npicked)++] = mem_strdup(names[i]);
	mem_free(leave);
	mem_free(me);
	pool_list_free(names, n);
	return 0;
}

static int
run(struct flusher *f)
{
	char **due = NULL, **picked = NULL;
	size_t ndue = 0, npicked = 0, returned, uncertain, removed, i;
	struct dummy *dummies = NULL;
	size_t ndummies = 0;
	uint64_t in_now;
	int round, rc = -1;

	if (fpool_recover(f->fp, &returned, &uncertain) != POOL_OK) {
		msg_warn("recovery: %s", strerror(errno));
		return -1;
	}
	if (returned > 0)
		msg_info("recovered %zu entr%s left in out/ by an interrupted flush",
		    returned, returned == 1 ? "y" : "ies");
	if (uncertain > 0) {
		msg_warn("%zu final-hop mail%s interrupted during hand-off moved to failed/ "
		    "(the relay may have %s)", uncertain, uncertain == 1 ? "" : "s",
		    uncertain == 1 ? "it" : "them");
		fl_count(f, STATS_OUT_UNCERTAIN, uncertain);
	}
	if (fpool_clean_tmp(f->fp, f->n->now, TMP_MAX_AGE, &removed) == POOL_OK && removed)
		msg_info("removed %zu stray file%s from tmp/", removed, removed == 1 ? "" : "s");
	if (fl_exit_open(f) != 0)
		return -1;

	/* deferred entries whose time has come: they were mixed already */
	if (due_deferred(f, &due, &ndue) != 0)
		goto out;
	if (ndue > 0 && in_batches(f, FP_DEFER, due, ndue, NULL, 0) != 0)
		goto out;

	state_read(f);
	round = mixing_due(&f->mp, f->n->now, f->last_round);
	if (round) {
		in_now = inbound_total(f);
		if (fl_dummies(f, in_now > f->inbound_at_round ? in_now - f->inbound_at_round : 0,
		    &dummies, &ndummies) != 0)
			goto out;
		if (select_round(f, &picked, &npicked) != 0)
			goto out;
		if (in_batches(f, FP_POOL, picked, npicked, dummies, ndummies) != 0)
			goto out;
		f->last_round = f->n->now;
		f->inbound_at_round = in_now;
		if (state_write(f) != 0)
			msg_warn("%s not written: %s", STATE_FILE, strerror(errno));
	}
	if (fl_exit_deliver_ready(f) != 0)
		goto out;
	/* the node's own mail: auto-replies and complaints (not mixed: no user data) */
	if (fl_outbox(f) != 0)
		goto out;
	rc = 0;
out:
	pool_list_free(due, ndue);
	pool_list_free(picked, npicked);
	for (i = 0; i < ndummies; i++)
		mem_free(dummies[i].mail);
	mem_free(dummies);
	return rc;
}

static void
summary(const struct flusher *f)
{
	const uint64_t *c = f->count;

	msg_info("flush: pool %llu, sent %llu (forward %llu, deliver %llu, dummy %llu), "
	    "deferred %llu, failed %llu, refused %llu, fragments stored %llu, "
	    "outbox sent %llu, outbox failed %llu",
	    (unsigned long long)c[STATS_POOL_SIZE],
	    (unsigned long long)(c[STATS_OUT_FORWARD] + c[STATS_OUT_DELIVER] + c[STATS_OUT_DUMMY]),
	    (unsigned long long)c[STATS_OUT_FORWARD], (unsigned long long)c[STATS_OUT_DELIVER],
	    (unsigned long long)c[STATS_OUT_DUMMY], (unsigned long long)c[STATS_OUT_TEMP],
	    (unsigned long long)c[STATS_OUT_FAILED],
	    (unsigned long long)(c[STATS_REFUSE_SIZE] + c[STATS_REFUSE_RCPTS] +
	    c[STATS_REFUSE_BLOCKED] + c[STATS_REFUSE_HEADER] + c[STATS_DROP_BODY]),
	    (unsigned long long)c[STATS_FRAG_STORED],
	    (unsigned long long)c[STATS_OUTBOX_SENT], (unsigned long long)c[STATS_OUTBOX_FAILED]);
}

int
flush_run(struct node *n)
{
	struct flusher *f = mem_calloc(1, sizeof *f);
	int lock, status;

	f->n = n;
	if ((status = fl_setup(f)) != 0)
		goto out;
	/* doc/INTERNALS.md section 5: never wait behind another flush */
	if ((lock = fpool_lock(n->spool, 0)) < 0) {
		if (errno == EWOULDBLOCK) {
			msg_info("another flush is running; nothing done");
			status = 0;
		} else {
			msg_warn("flush.lock: %s", strerror(errno));
			status = 75;
		}
		goto out;
	}
	f->retry_max_age = conf_get_num(&n->conf, "retry_max_age");
	status = run(f) == 0 ? 0 : 75;
	count_flush(f);
	summary(f);
	(void)close(lock);
out:
	fl_teardown(f);
	mem_free(f);
	return status;
}
