/*
 * flush_out.c - the flusher's setup and what it sends: the mail around a
 * packet, dummies, the exit's final-hop mail under its policy, long
 * messages from the fragment store, and a middleman's re-wrap of a
 * final-hop packet for an exit (flush_impl.h), and the outbox: the
 * node's own auto-replies and forwarded complaints (doc/autoreply.md).
 *
 * Every mail this node sends to another node has one shape (pkt_mail):
 * From (this node), To (the next hop), Date, a random Message-ID, MIME
 * text/plain, the armored packet. A dummy, a forwarded packet and a
 * re-wrap are the same on the wire.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "armor.h"
#include "chain.h"
#include "fdio.h"
#include "flush_impl.h"
#include "fragment.h"
#include "log.h"
#include "mem.h"
#include "nodedb.h"
#include "outbox.h"
#include "pktmail.h"

#define PATTERNS_MAX	10000	/* lines of a policy file */
#define PATTERN_LEN	254
#define DUMMIES_MAX	1000	/* per round */
#define INBOUND_MAX	100000	/* inbound packets weighed for dummies */
#define READY_MAX	1000	/* long messages delivered per run */
#define OUTBOX_BATCH	32	/* outbox entries per relay batch */
#define OUTBOX_RUN_MAX	10000	/* outbox entries looked at per run */
#define OUTBOX_TMP_AGE	86400	/* strays in outbox/tmp/ older than this go */

/* ---- small things --------------------------------------------------------- */

int
fl_write_file(const char *tmp, const char *path, const void *data, size_t len)
{
	char dir[4096];
	int fd, ok, saved;

	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -1;
	ok = fd_write_all(fd, data, len) == 0 && fsync(fd) == 0;
	saved = errno;
	if (close(fd) != 0 && ok) {
		ok = 0;
		saved = errno;
	}
	if (ok && rename(tmp, path) != 0) {
		ok = 0;
		saved = errno;
	}
	if (!ok) {
		(void)unlink(tmp);
		errno = saved;
		return -1;
	}
	(void)snprintf(dir, sizeof dir, "%s", path);
	if ((fd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -1;
	ok = fsync(fd) == 0;
	saved = errno;
	(void)close(fd);
	errno = saved;
	return ok ? 0 : -1;
}

static const char *
domain_of(const char *addr)
{
	const char *at = strrchr(addr, '@');

	return at != NULL && at[1] != '\0' ? at + 1 : "localhost.invalid";
}

/* pkt_mail - the mail carrying pkt to the node at to (pktmail.h) */
static void
pkt_mail(struct flusher *f, const char *to, const uint8_t pkt[PKT_SIZE], uint8_t **mail,
    size_t *len)
{
	char *m;

	/* The address is checked by the configuration, to by the descriptor parser */
	if (pktmail_build(f->address, to, f->n->now, pkt, &m, len) != 0)
		msg_panic("pkt_mail: an address the configuration or descriptor parser let pass");
	*mail = (uint8_t *)m;
}

/* ---- setup ------------------------------------------------------------------ */

/* load_patterns - a policy file: one pattern per line, '#' comments */
static int
load_patterns(const char *path, char ***out, size_t *n)
{
	char line[1024], *p, *e;
	unsigned lineno = 0;
	FILE *fp;

	*out = NULL;
	*n = 0;
	if (*path == '\0')
		return 0;
	if (*path != '/') {
		msg_warn("%s: a policy file must be an absolute path", path);
		return -1;
	}
	if ((fp = fopen(path, "re")) == NULL) {
		msg_warn("%s: %s", path, strerror(errno));
		return -1;
	}
	*out = mem_calloc(1, sizeof **out);
	while (fgets(line, sizeof line, fp) != NULL) {
		lineno++;
		if (strchr(line, '\n') == NULL && !feof(fp)) {
			msg_warn("%s:%u: line too long", path, lineno);
			goto bad;
		}
		if ((p = strchr(line, '#')) != NULL)
			*p = '\0';
		for (p = line; *p == ' ' || *p == '\t'; p++)
			;
		for (e = p + strlen(p); e > p && (e[-1] == '\n' || e[-1] == ' ' ||
		    e[-1] == '\t' || e[-1] == '\r'); e--)
			;
		*e = '\0';
		if (*p == '\0')
			continue;
		if (strlen(p) > PATTERN_LEN || *n == PATTERNS_MAX) {
			msg_warn("%s:%u: pattern too long or too many patterns", path, lineno);
			goto bad;
		}
		for (e = p; *e != '\0'; e++)
			if ((unsigned char)*e < 0x20 || (unsigned char)*e > 0x7e) {
				msg_warn("%s:%u: control or non-ASCII character", path, lineno);
				goto bad;
			}
		*out = mem_realloc(*out, (*n + 1) * sizeof **out);
		(*out)[(*n)++] = mem_strdup(p);
	}
	(void)fclose(fp);
	return 0;
bad:
	(void)fclose(fp);
	return -1;
}

static void
free_patterns(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		mem_free(v[i]);
	mem_free(v);
}

static int
open_caches(struct flusher *f)
{
	const struct pkt_key *live[KEYS_MAX_MIX];
	const struct keys_mixinfo *info[KEYS_MAX_MIX];
	size_t i, nlive = keys_live(f->kr, f->n->now, live, info);
	enum replay_status st;
	char *path;

	for (i = 0; i < nlive; i++) {
		path = keys_replay_path(f->n->spool, info[i]->id);
		f->rc[f->nrc] = replay_open(path, 0, REPLAY_DEFER_SYNC, &st);
		mem_free(path);
		if (f->rc[f->nrc] == NULL) {
			msg_warn("replay cache of a live key: %s (run \"mixnode keys\")",
			    st == REPLAY_ERR_IO ? strerror(errno) : replay_strerror(st));
			return -1;
		}
		f->nrc++;
	}
	return 0;
}

static void
skipped(void *arg, const char *file, const char *reason)
{
	(void)arg;
	msg_warn("nodes: %s skipped: %s", file, reason);
}

/* load_nodes - the known nodes, or this node's own descriptor if none */
static int
load_nodes(struct flusher *f)
{
	char dir[4096], err[NODEDB_ERR_MAX];
	struct descriptor *v;
	size_t n = 0;

	(void)snprintf(dir, sizeof dir, "%s/nodes", f->n->spool);
	if (nodedb_load(dir, f->n->now, &v, &n, skipped, NULL, err, sizeof err) != NODEDB_OK) {
		msg_warn("nodes: %s", err);
		return -1;
	}
	f->nodes = mem_calloc(n + 1, sizeof *f->nodes);
	if (n > 0)
		memcpy(f->nodes, v, n * sizeof *v);
	nodedb_free(v);
	f->nnodes = n;
	/* knowing nobody, it sends its dummies through itself */
	if (n == 0 && node_descriptor(f->n, f->kr, &f->nodes[0]) == 0)
		f->nnodes = 1;
	return 0;
}

/* from_valid - exit_from names exactly one address, as a To: field would */
static int
from_valid(const char *from)
{
	char *text, **rcpt = NULL, err[MESSAGE_ERR_MAX];
	size_t n = 0, len;
	int ok;

	len = strlen(from) + 16;
	text = mem_alloc(len);
	(void)snprintf(text, len, "To: %s\n\nx\n", from);
	ok = message_recipients((const uint8_t *)text, strlen(text), &rcpt, &n, err,
	    sizeof err) == MSG_OK && n == 1;
	message_recipients_free(rcpt, n);
	mem_free(text);
	return ok;
}

/*
 * probe_policy - the exit's own settings (exit_from, abuse_contact, the
 * address's domain) must make a valid mail: otherwise every message would
 * be refused as bad, counted but never delivered. Tried on a tiny message
 * before anything leaves the pool.
 */
static int
probe_policy(struct flusher *f)
{
	static const char probe[] = "To: probe@example.org\nSubject: probe\n\nprobe\n";
	struct exit_policy pol = f->pol;
	struct exit_mail xm;
	enum exit_verdict v;

	pol.nblock = pol.nheader_block = 0;
	pol.max_size = sizeof probe;
	pol.max_rcpt = 1;
	memset(&xm, 0, sizeof xm);
	v = message_exit_build((const uint8_t *)probe, sizeof probe - 1, &pol, &xm);
	exit_mail_free(&xm);
	if (v == EXIT_OK && from_valid(f->pol.from))
		return 0;
	msg_warn("%s: settings exit_from, abuse_contact or address do not make a valid "
	    "mail header (%s)", f->n->conf_path, exit_verdict_name(v));
	return -1;
}

int
fl_setup(struct flusher *f)
{
	const struct conf *c = &f->n->conf;
	char err[256], kerr[KEYS_ERR_MAX];

	f->address = conf_get(c, "address");
	f->exit = conf_get_bool(c, "exit");
	if (relay_parse(conf_get(c, "relay"), &f->relay, err, sizeof err) != 0) {
		msg_warn("%s: setting relay: %s", f->n->conf_path, err);
		return 78;
	}
	relay_describe(&f->relay, f->relay_name, sizeof f->relay_name);
	mixing_params_default(&f->mp);
	if (mixing_strategy_from_name(conf_get(c, "mixing"), &f->mp.strategy) != 0)
		msg_panic("fl_setup: mixing strategy");
	f->mp.threshold = (uint32_t)conf_get_num(c, "mix_threshold");
	f->mp.interval = conf_get_num(c, "mix_interval");
	f->mp.min_pool = (uint32_t)conf_get_num(c, "mix_min_pool");
	f->mp.rate_permille = (uint32_t)conf_get_num(c, "mix_rate_permille");
	if (mixing_params_check(&f->mp) != NULL) {
		msg_warn("%s: %s", f->n->conf_path, mixing_params_check(&f->mp));
		return 78;
	}
	f->frag_expire = conf_get_num(c, "fragment_expire");
	if (f->exit) {
		if (load_patterns(conf_get(c, "exit_blocklist"), &f->block, &f->nblock) != 0 ||
		    load_patterns(conf_get(c, "exit_header_filter"), &f->header_block,
		    &f->nheader_block) != 0)
			return 78;
		f->pol.from = conf_get(c, "exit_from");
		f->pol.abuse = conf_get(c, "abuse_contact");
		f->pol.msgid_domain = domain_of(f->address);
		f->pol.block = (const char *const *)f->block;
		f->pol.nblock = f->nblock;
		f->pol.header_block = (const char *const *)f->header_block;
		f->pol.nheader_block = f->nheader_block;
		f->pol.max_size = (size_t)conf_get_num(c, "exit_max_size");
		f->pol.max_rcpt = (unsigned)conf_get_num(c, "exit_max_recipients");
		f->pol.now = f->n->now;
		if (probe_policy(f) != 0)
			return 78;
	}
	if (keys_open(&f->kr, f->n->spool, kerr, sizeof kerr) != KEYS_OK) {
		msg_warn("%s", kerr);
		return 75;
	}
	if (open_caches(f) != 0 || load_nodes(f) != 0)
		return 75;
	if (fpool_open(&f->fp, f->n->spool) != POOL_OK) {
		msg_warn("spool %s: %s", f->n->spool, strerror(errno));
		return 75;
	}
	return 0;
}

void
fl_teardown(struct flusher *f)
{
	size_t i;

	for (i = 0; i < f->nrc; i++)
		if (replay_close(f->rc[i]) != REPLAY_OK)
			msg_warn("replay cache: close: %s", strerror(errno));
	reasm_close(f->ra);
	fpool_close(f->fp);
	keys_close(f->kr);
	mem_free(f->nodes);
	free_patterns(f->block, f->nblock);
	free_patterns(f->header_block, f->nheader_block);
}

/* ---- dummies ------------------------------------------------------------------ */

static int
coin(uint32_t permille)
{
	return mcrypto_uniform(1000) < permille;
}

/* dummy_packet - a dummy through a random chain; -1 when no chain exists */
static int
dummy_packet(struct flusher *f, uint8_t pkt[PKT_SIZE], char to[PKT_ADDR_MAX + 1])
{
	struct chain_req req;
	struct chain ch;
	size_t hops = (size_t)conf_get_num(&f->n->conf, "dummy_hops");

	for (; hops >= 1; hops--) {
		memset(&req, 0, sizeof req);
		req.nhops = hops;
		req.now = f->n->now;
		if (chain_select(f->nodes, f->nnodes, &req, &ch, NULL) != CHAIN_OK)
			continue;
		if (pkt_build(pkt, ch.hop, ch.nhops, PKT_CMD_DROP, NULL, 0, NULL) != PKT_OK)
			return -1;
		(void)snprintf(to, PKT_ADDR_MAX + 1, "%s", f->nodes[ch.node[0]].address);
		return 0;
	}
	return -1;
}

int
fl_dummies(struct flusher *f, uint64_t inbound, struct dummy **out, size_t *n)
{
	const struct conf *c = &f->n->conf;
	uint32_t mean = (uint32_t)conf_get_num(c, "dummy_per_round");
	uint32_t per_in = (uint32_t)conf_get_num(c, "dummy_per_inbound_permille");
	uint32_t pool_pm = (uint32_t)conf_get_num(c, "dummy_pool_permille");
	uint8_t *pkt = mem_alloc(PKT_SIZE), rnd[16];
	char name[POOL_NAME_LEN + 1];
	struct pool_entry e;
	size_t want, i, pooled = 0;
	uint64_t k;
	int dirty = 0;

	*out = NULL;
	*n = 0;
	/*
	 * From 1 to 2 * mean, and the first one always leaves in this round:
	 * then no round releases only what an n-1 attacker put in (the
	 * target never leaves alone; doc/SECURITY.md, section 2.4).
	 */
	want = mean > 0 ? 1 + mcrypto_uniform(2 * mean) : 0;
	for (k = 0; k < inbound && k < INBOUND_MAX; k++)
		want += (size_t)coin(per_in);
	if (want > DUMMIES_MAX)
		want = DUMMIES_MAX;
	*out = mem_calloc(want + 1, sizeof **out);
	for (i = 0; i < want; i++) {
		struct dummy *d = &(*out)[*n];

		if (dummy_packet(f, pkt, d->to) != 0) {
			msg_warn("no chain for dummies: %zu known node%s", f->nnodes,
			    f->nnodes == 1 ? "" : "s");
			break;
		}
		if ((i == 0 && mean > 0) || !coin(pool_pm)) {
			pkt_mail(f, d->to, pkt, &d->mail, &d->mail_len);
			(*n)++;
			continue;
		}
		/* pooled: it leaves by the mixing rule like any entry */
		memset(&e, 0, sizeof e);
		e.kind = POOL_DUMMY;
		mcrypto_random(NULL, e.tag, sizeof e.tag);
		(void)snprintf(e.addr, sizeof e.addr, "%s", d->to);
		e.data = pkt;
		e.data_len = PKT_SIZE;
		mcrypto_random(NULL, rnd, sizeof rnd);
		mcrypto_hex(name, rnd, sizeof rnd);
		if (fpool_write(f->fp, FP_POOL, name, &e) != POOL_OK) {
			msg_warn("dummy into pool/: %s", strerror(errno));
			mem_free(pkt);
			return -1;
		}
		dirty = 1;
		pooled++;
	}
	mem_free(pkt);
	if (dirty && fpool_sync(f->fp, FP_POOL) != POOL_OK)
		return -1;
	return 0;
}

/* ---- final-hop packets -------------------------------------------------------- */

static void
count_verdict(struct flusher *f, enum exit_verdict v)
{
	static const enum stats_counter map[] = {
		[EXIT_BAD_MESSAGE] = STATS_DROP_BODY,
		[EXIT_REFUSE_SIZE] = STATS_REFUSE_SIZE,
		[EXIT_REFUSE_RCPTS] = STATS_REFUSE_RCPTS,
		[EXIT_REFUSE_BLOCKED] = STATS_REFUSE_BLOCKED,
		[EXIT_REFUSE_HEADER] = STATS_REFUSE_HEADER,
	};

	if (v > EXIT_OK && v < EXIT_NOMEM)
		fl_count(f, map[v], 1);
}

/* exit_prepare - a final-hop body at the exit: a mail, a stored part, or a refusal */
static void
exit_prepare(struct flusher *f, struct item *it)
{
	struct fragment fr;
	enum exit_verdict v;

	if (fragment_parse(it->e.data, it->e.data_len, &fr) != FRAG_OK) {
		fl_count(f, STATS_DROP_BODY, 1);
		it->action = A_DONE;
		return;
	}
	if (fr.type == FRAG_TYPE_FRAGMENT) {
		switch (reasm_add(f->ra, it->e.data, it->e.data_len, f->n->now)) {
		case REASM_STORED:
			fl_count(f, STATS_FRAG_STORED, 1);
			it->action = A_DONE;
			return;
		case REASM_DUPLICATE:
		case REASM_LATE:
			it->action = A_DONE;
			return;
		case REASM_ERR_FORMAT:
		case REASM_ERR_MIXED:
			fl_count(f, STATS_DROP_BODY, 1);
			it->action = A_DONE;
			return;
		default:
			msg_warn("fragment store: %s", strerror(errno));
			it->action = A_RETURN;
			return;
		}
	}
	v = message_exit_build(fr.data, fr.data_len, &f->pol, &it->xm);
	if (v == EXIT_OK) {
		it->out_kind = STATS_OUT_DELIVER;
		return;
	}
	if (v == EXIT_NOMEM) {
		it->action = A_RETURN;
		return;
	}
	count_verdict(f, v);
	it->action = A_DONE;
}

/* open_exit - an exit that takes every destination, with a usable key */
static int
open_exit(const struct flusher *f, const struct descriptor *d)
{
	return d->exit && strcmp(d->exit_policy, "accept *") == 0 &&
	    desc_key_usable(d, f->n->now) != NULL;
}

/*
 * rewrap - a middleman never delivers: a final-hop body goes on to an exit
 * in a new one-hop packet. A whole message goes to a random exit whose
 * policy allows its destinations; all fragments of one message must meet
 * at one exit, so a fragment's exit is picked by a keyed hash of its
 * message id among the exits that accept every destination.
 */
static void
rewrap(struct flusher *f, struct item *it)
{
	struct fragment fr;
	struct chain_req req;
	struct chain ch;
	char **rcpt = NULL;
	size_t nrcpt = 0, i, nexit = 0, pick;
	uint8_t *pkt, mac[8];
	struct pkt_hop hop;
	const struct desc_mixkey *k;
	int found = 0;
	char err[MESSAGE_ERR_MAX];

	if (fragment_parse(it->e.data, it->e.data_len, &fr) != FRAG_OK) {
		fl_count(f, STATS_DROP_BODY, 1);
		it->action = A_DONE;
		return;
	}
	memset(&hop, 0, sizeof hop);
	if (fr.type == FRAG_TYPE_WHOLE) {
		if (message_recipients(fr.data, fr.data_len, &rcpt, &nrcpt, err, sizeof err)
		    != MSG_OK) {
			fl_count(f, STATS_DROP_BODY, 1);
			it->action = A_DONE;
			return;
		}
		memset(&req, 0, sizeof req);
		req.nhops = 1;
		req.dest = (const char *const *)rcpt;
		req.ndest = nrcpt;
		req.size = fr.data_len;
		req.now = f->n->now;
		if (chain_select(f->nodes, f->nnodes, &req, &ch, NULL) == CHAIN_OK) {
			hop = ch.hop[0];
			found = 1;
		}
		message_recipients_free(rcpt, nrcpt);
	} else {
		for (i = 0; i < f->nnodes; i++)
			nexit += open_exit(f, &f->nodes[i]);
		if (nexit > 0) {
			mcrypto_hash(mac, sizeof mac, f->kr->names_key, 32, fr.id, sizeof fr.id);
			pick = (size_t)(((uint32_t)mac[0] << 24 | (uint32_t)mac[1] << 16 |
			    (uint32_t)mac[2] << 8 | mac[3]) % nexit);
			for (i = 0; i < f->nnodes && !found; i++) {
				if (!open_exit(f, &f->nodes[i]) || pick-- > 0)
					continue;
				k = desc_key_usable(&f->nodes[i], f->n->now);
				memcpy(hop.pk, k->pk, sizeof hop.pk);
				hop.addr = f->nodes[i].address;
				found = 1;
			}
		}
	}
	if (!found) {
		/* no exit known now: wait for one (retried, then failed/) */
		it->action = A_DEFER;
		return;
	}
	pkt = mem_alloc(PKT_SIZE);
	if (pkt_build(pkt, &hop, 1, PKT_CMD_DELIVER, it->e.data, it->e.data_len, NULL) != PKT_OK) {
		mem_free(pkt);
		fl_count(f, STATS_DROP_BODY, 1);
		it->action = A_DONE;
		return;
	}
	(void)snprintf(it->to, sizeof it->to, "%s", hop.addr);
	pkt_mail(f, it->to, pkt, &it->mail, &it->mail_len);
	mem_free(pkt);
	it->out_kind = STATS_OUT_FORWARD;
}

void
fl_prepare(struct flusher *f, struct item *it)
{
	switch (it->e.kind) {
	case POOL_FORWARD:
	case POOL_DUMMY:
		(void)snprintf(it->to, sizeof it->to, "%s", it->e.addr);
		pkt_mail(f, it->to, it->e.data, &it->mail, &it->mail_len);
		it->out_kind = it->e.kind == POOL_DUMMY ? STATS_OUT_DUMMY : STATS_OUT_FORWARD;
		return;
	case POOL_DELIVER:
		if (f->exit)
			exit_prepare(f, it);
		else
			rewrap(f, it);
		return;
	}
	msg_panic("fl_prepare: entry kind");
}

/* ---- long messages -------------------------------------------------------------- */

int
fl_exit_open(struct flusher *f)
{
	char dir[4096], failed[4096];
	size_t uncertain = 0, expired = 0;
	enum reasm_err e;

	if (!f->exit)
		return 0;
	(void)snprintf(dir, sizeof dir, "%s/frag", f->n->spool);
	(void)snprintf(failed, sizeof failed, "%s/failed", f->n->spool);
	if ((e = reasm_open(&f->ra, dir, failed, f->kr->names_key, &uncertain)) != REASM_OK) {
		msg_warn("fragment store: %s", e == REASM_ERR_IO ? strerror(errno) :
		    reasm_strerror(e));
		return -1;
	}
	if (uncertain > 0) {
		msg_warn("%zu long message%s interrupted during hand-off moved to failed/",
		    uncertain, uncertain == 1 ? "" : "s");
		fl_count(f, STATS_OUT_UNCERTAIN, uncertain);
	}
	if (reasm_expire(f->ra, f->n->now, f->frag_expire, &expired) != REASM_OK)
		msg_warn("fragment store: expiry: %s", strerror(errno));
	fl_count(f, STATS_FRAG_EXPIRED, expired);
	return 0;
}

/* deliver_one - one assembled message: build, mark in flight, send, settle */
static int
deliver_one(struct flusher *f, struct reasm_ready *rd)
{
	struct exit_mail xm;
	struct relay_msg m;
	enum exit_verdict v;
	enum reasm_err e;
	char err[256];

	memset(&xm, 0, sizeof xm);
	v = message_exit_build(rd->msg, rd->msg_len, &f->pol, &xm);
	if (v == EXIT_NOMEM)
		return 0;	/* stays ready */
	if (v != EXIT_OK) {
		count_verdict(f, v);
		return reasm_done(f->ra, rd->name, f->n->now) == REASM_OK ? 0 : -1;
	}
	if (reasm_begin(f->ra, rd->name) != REASM_OK) {
		exit_mail_free(&xm);
		return -1;
	}
	memset(&m, 0, sizeof m);
	m.sender = f->address;
	m.rcpt = (const char *const *)xm.rcpt;
	m.nrcpt = xm.nrcpt;
	m.data = xm.data;
	m.len = xm.len;
	if (relay_send(&f->relay, &m, 1, err, sizeof err) != 1)
		msg_warn("relay %s: %s", f->relay_name, err);
	exit_mail_free(&xm);
	switch (m.result) {
	case RELAY_SENT:
		fl_count(f, STATS_OUT_DELIVER, 1);
		e = reasm_done(f->ra, rd->name, f->n->now);
		break;
	case RELAY_TEMP:
		if (fl_waited(rd->retry + 1) > f->retry_max_age) {
			fl_count(f, STATS_OUT_FAILED, 1);
			e = reasm_fail(f->ra, rd->name, rd->msg, rd->msg_len, f->n->now);
		} else {
			fl_count(f, STATS_OUT_TEMP, 1);
			e = reasm_defer(f->ra, rd->name, f->n->now + fl_backoff(rd->retry + 1));
		}
		break;
	default:
		fl_count(f, STATS_OUT_FAILED, 1);
		e = reasm_fail(f->ra, rd->name, rd->msg, rd->msg_len, f->n->now);
		break;
	}
	return e == REASM_OK ? 0 : -1;
}

int
fl_exit_deliver_ready(struct flusher *f)
{
	char *skip[READY_MAX];
	struct reasm_ready rd;
	size_t nskip = 0, i;
	enum reasm_err e;
	int rc = 0;

	if (f->ra == NULL)
		return 0;
	while (nskip < READY_MAX) {
		memset(&rd, 0, sizeof rd);
		e = reasm_next(f->ra, f->n->now, (const char *const *)skip, nskip, &rd);
		if (e == REASM_NONE)
			break;
		if (e == REASM_ERR_ASSEMBLE) {
			fl_count(f, STATS_DROP_BODY, 1);
			continue;
		}
		if (e != REASM_OK) {
			msg_warn("fragment store: %s", e == REASM_ERR_IO ? strerror(errno) :
			    reasm_strerror(e));
			rc = -1;
			break;
		}
		skip[nskip++] = mem_strdup(rd.name);
		rc = deliver_one(f, &rd);
		reasm_ready_free(&rd);
		if (rc != 0)
			break;
	}
	for (i = 0; i < nskip; i++)
		mem_free(skip[i]);
	return rc;
}

/* ---- the outbox ------------------------------------------------------------- */

/* outbox_gone - an entry leaves the outbox for good (sent, refused, too old, damaged) */
static int
outbox_gone(struct flusher *f, const char *name, enum stats_counter c)
{
	if (outbox_remove(f->n->spool, name) != 0) {
		msg_warn("outbox: an entry could not be removed: %s", strerror(errno));
		return -1;
	}
	fl_count(f, c, 1);
	return 0;
}

/* outbox_batch - send names[0..n) (at most OUTBOX_BATCH) and settle each */
static int
outbox_batch(struct flusher *f, char *const *names, size_t n)
{
	struct outbox_entry e[OUTBOX_BATCH];
	struct relay_msg m[OUTBOX_BATCH];
	const char *rcpt[OUTBOX_BATCH][1];
	size_t idx[OUTBOX_BATCH], nm = 0, i;
	enum outbox_err oe;
	char err[256];
	int rc = 0;

	for (i = 0; i < n; i++) {
		oe = outbox_read(f->n->spool, names[i], &e[nm]);
		if (oe == OUTBOX_ERR_IO) {
			if (errno == ENOENT)
				continue;	/* gone meanwhile */
			msg_warn("outbox: an entry could not be read: %s", strerror(errno));
			rc = -1;
			continue;
		}
		if (oe == OUTBOX_ERR_FORMAT) {
			msg_warn("outbox: a damaged entry removed");
			if (outbox_gone(f, names[i], STATS_OUTBOX_FAILED) != 0)
				rc = -1;
			continue;
		}
		idx[nm] = i;
		memset(&m[nm], 0, sizeof m[nm]);
		rcpt[nm][0] = e[nm].rcpt;
		m[nm].sender = e[nm].sender;
		m[nm].rcpt = rcpt[nm];
		m[nm].nrcpt = 1;
		m[nm].data = e[nm].data;
		m[nm].len = e[nm].len;
		nm++;
	}
	if (nm > 0 && relay_send(&f->relay, m, nm, err, sizeof err) < nm)
		msg_warn("relay %s (outbox): %s", f->relay_name, err);
	for (i = 0; i < nm; i++) {
		const char *name = names[idx[i]];

		if (m[i].result == RELAY_SENT) {
			if (outbox_gone(f, name, STATS_OUTBOX_SENT) != 0)
				rc = -1;
		} else if (m[i].result == RELAY_PERM ||
		    (int64_t)f->n->now - e[i].created > f->retry_max_age) {
			if (outbox_gone(f, name, STATS_OUTBOX_FAILED) != 0)
				rc = -1;
		}
		/* RELAY_TEMP within retry_max_age: stays for the next flush */
		outbox_entry_free(&e[i]);
	}
	return rc;
}

int
fl_outbox(struct flusher *f)
{
	char **names = NULL;
	size_t total = 0, n, i, k, removed;
	int rc = 0;

	removed = outbox_clean_tmp(f->n->spool, f->n->now, OUTBOX_TMP_AGE);
	if (removed > 0)
		msg_info("removed %zu stray file%s from outbox/tmp/", removed, removed == 1 ? "" : "s");
	if (outbox_list(f->n->spool, &names, &total) != 0) {
		msg_warn("outbox: %s", strerror(errno));
		return -1;
	}
	n = total < OUTBOX_RUN_MAX ? total : OUTBOX_RUN_MAX;	/* the rest: next run */
	for (i = 0; i < n; i += k) {
		k = n - i < OUTBOX_BATCH ? n - i : OUTBOX_BATCH;
		if (outbox_batch(f, names + i, k) != 0)
			rc = -1;
	}
	outbox_list_free(names, total);
	return rc;
}
