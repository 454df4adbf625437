/*
 * node_receive.c - `mixnode receive`, the pipe hook the MTA runs for every
 * mail addressed to the node.
 *
 * It reads one mail, finds the packet, peels one layer, and commits the
 * result to the pool (doc/INTERNALS.md, sections 3 and 4). It exits 0 when
 * the packet is committed and when the mail is deliberately dropped, and
 * 75 (EX_TEMPFAIL) when anything transient goes wrong, so that the MTA
 * keeps the mail and tries again. No other status, ever: the MTA bounces
 * those, and a bounce tells the sender's side what happened here.
 *
 * Every drop is counted by reason (src/stats.h) and logged with the reason
 * and a random local ID; commits are counted, not logged.
 *
 * Mail that holds no packet (doc/autoreply.md): a request (Subject
 * remailer-key and the like, as mixnode-mime classifies it) is answered
 * through SPOOL/outbox/, within the rate limits and unless a loop signal
 * forbids it; a mail the MTA passed for complaints_address is forwarded
 * to operator_address the same way; anything else is kept in the bounded
 * SPOOL/operator/ Maildir or dropped, as other_mail says. Each of these
 * is committed durably before the hook exits 0, and any transient trouble
 * exits 75 with nothing changed.
 */
#include <config.h>

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "armor.h"
#include "autoreply.h"
#include "fdio.h"
#include "keys.h"
#include "log.h"
#include "mcrypto.h"
#include "mem.h"
#include "mixnode.h"
#include "outbox.h"
#include "pkt.h"
#include "pool.h"
#include "replay.h"
#include "stats.h"

#define STATS_WAIT_MS	1000	/* counting is best effort: wait at most this */
#define MIME_CPU_SECONDS 20	/* CPU limit of one mixnode-mime run */
#define MIME_HELPER	"mixnode-mime"

/* What the search for a packet found (extract) */
enum found {
	FOUND_PACKET,		/* pkt holds a packet */
	FOUND_NOTHING,		/* no armor anywhere: drop_nopacket */
	FOUND_BAD_ARMOR,	/* armors, none decoded: drop_armor */
	FOUND_LIMIT,		/* a size or nesting bound was hit: drop_limit */
	FOUND_UNPARSEABLE,	/* not a mail message: drop_parse */
	FOUND_TEMPFAIL		/* the MIME helper could not run: exit 75 */
};

/* The envelope the MTA passed, and the auto-reply settings */
struct envelope {
	const char *sender;	/* NULL: not given */
	const char *recipient;	/* NULL: not given */
	struct ar_settings set;
};

/* One mail in memory, bounded by max_message_size */
struct inmail {
	uint8_t *buf;
	size_t len;
	int oversize;		/* more than the bound arrived: buf holds nothing useful */
};

/*
 * read_mail - read standard input to its end. At most max bytes are kept;
 * past that the rest is read and discarded (the MTA wants the whole mail
 * consumed), and the mail is marked oversize. -1 on a read error.
 */
static int
read_mail(struct inmail *m, size_t max)
{
	uint8_t sink[8192];
	ssize_t got;

	m->buf = mem_alloc(max + 1);
	m->len = 0;
	m->oversize = 0;
	for (;;) {
		if (!m->oversize)
			got = read(STDIN_FILENO, m->buf + m->len, max + 1 - m->len);
		else
			got = read(STDIN_FILENO, sink, sizeof sink);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return -1;
		if (got == 0)
			return 0;
		if (!m->oversize) {
			m->len += (size_t)got;
			if (m->len > max) {
				m->oversize = 1;
				m->len = 0;
			}
		}
	}
}

/* count - add one to counter c; a failure is logged, never fatal */
static void
count(const struct node *n, enum stats_counter c)
{
	if (stats_add(n->spool, c, 1, n->now, STATS_WAIT_MS) != 0)
		msg_warn("statistics not updated (%s): %s", stats_name(c), strerror(errno));
}

/* drop - count and log a deliberate drop; the hook then exits 0 */
static int
drop(const struct node *n, enum stats_counter c, const char *why)
{
	uint8_t id[6];
	char hex[2 * sizeof id + 1];

	mcrypto_random(NULL, id, sizeof id);
	mcrypto_hex(hex, id, sizeof id);
	count(n, c);
	msg_info("dropped mail %s: %s", hex, why);
	return EX_OK_;
}

/*
 * tempfail - count and log transient trouble; the MTA keeps the mail.
 * what must not contain message data (it is a fixed text or an errno text).
 */
static int
tempfail(const struct node *n, const char *what)
{
	if (n != NULL && n->spool != NULL)
		count(n, STATS_TEMPFAIL);
	msg_warn("temporary failure, the MTA will retry: %s", what);
	return EX_TEMPFAIL_;
}

/*
 * mime_extract - run mixnode-mime with the mail on its standard input and
 * read the packet it writes. The helper reads the whole mail before it
 * writes, so writing everything first and then reading cannot deadlock.
 * Its exit status says what it found (src/mixnode-mime.c). A helper that
 * cannot start, or fails for a transient reason, makes the hook exit 75;
 * one killed by a signal (its CPU limit, or a crash on this input) would
 * fail the same way on every retry, so the mail is dropped as a limit.
 */
static enum found
mime_extract(const uint8_t *mail, size_t len, uint8_t pkt[PKT_SIZE], struct ar_class *cls,
    const char **why)
{
	char path[4096];
	int in[2], out[2], st;
	pid_t pid;
	size_t got = 0;
	ssize_t r;
	void (*old_pipe)(int);

	node_libexec(path, sizeof path, MIME_HELPER);
	if (path[0] == 0) {
		*why = "MIME helper path too long";
		return FOUND_TEMPFAIL;
	}
	if (pipe(in) != 0 || pipe(out) != 0) {
		*why = "pipe failed";
		return FOUND_TEMPFAIL;
	}
	if ((pid = fork()) < 0) {
		close(in[0]); close(in[1]); close(out[0]); close(out[1]);
		*why = "fork failed";
		return FOUND_TEMPFAIL;
	}
	if (pid == 0) {
		struct rlimit cpu = { MIME_CPU_SECONDS, MIME_CPU_SECONDS };

		if (dup2(in[0], STDIN_FILENO) < 0 || dup2(out[1], STDOUT_FILENO) < 0)
			_exit(EX_TEMPFAIL_);
		close(in[0]); close(in[1]); close(out[0]); close(out[1]);
		(void)setrlimit(RLIMIT_CPU, &cpu);
		execl(path, MIME_HELPER, (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	/* The helper may exit before reading everything: no SIGPIPE for that. */
	old_pipe = signal(SIGPIPE, SIG_IGN);
	(void)fd_write_all(in[1], mail, len);
	close(in[1]);
	for (;;) {
		r = read(out[0], pkt + got, PKT_SIZE - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
		if (got == PKT_SIZE)
			break;
	}
	close(out[0]);
	(void)signal(SIGPIPE, old_pipe);
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR) {
			*why = "waitpid failed";
			return FOUND_TEMPFAIL;
		}
	if (WIFSIGNALED(st)) {
		msg_warn("%s killed by signal %d; the mail is dropped", MIME_HELPER,
		    WTERMSIG(st));
		*why = "MIME structure too costly to parse";
		return FOUND_LIMIT;
	}
	switch (WEXITSTATUS(st)) {
	case 0:
		if (got == PKT_SIZE) {
			*why = "packet found";
			return FOUND_PACKET;
		}
		*why = "MIME helper wrote a short packet";
		return FOUND_TEMPFAIL;
	case 2:
		*why = "not parseable as a mail message";
		return FOUND_UNPARSEABLE;
	case 3:
		/* the classification line; anything else classifies as nothing */
		if (autoreply_class_parse((const char *)pkt, got, cls) != 0)
			memset(cls, 0, sizeof *cls);
		mcrypto_wipe(pkt, got);
		*why = "no packet armor in the mail";
		return FOUND_NOTHING;
	case 4:
		*why = "packet armor found but none decoded";
		return FOUND_BAD_ARMOR;
	case 5:
		*why = "mail exceeds a size or nesting limit";
		return FOUND_LIMIT;
	case 126:
	case 127:
		*why = "cannot run " MIME_HELPER " (run mixnode check)";
		return FOUND_TEMPFAIL;
	default:
		*why = MIME_HELPER " failed";
		return FOUND_TEMPFAIL;
	}
}

/*
 * extract - find the packet. The raw mail is searched first: that is how
 * mixmail sends it, and how most MTAs pass it on. Only when that finds no
 * packet is the MIME structure parsed, by mixnode-mime.
 */
static enum found
extract(const uint8_t *mail, size_t len, uint8_t pkt[PKT_SIZE], struct ar_class *cls,
    const char **why)
{
	memset(cls, 0, sizeof *cls);
	if (armor_search((const char *)mail, len, pkt) == ARMOR_OK) {
		*why = "packet found";
		return FOUND_PACKET;
	}
	return mime_extract(mail, len, pkt, cls, why);
}

/* found_drop - the counter for a mail without a usable packet */
static enum stats_counter
found_drop(enum found f)
{
	switch (f) {
	case FOUND_NOTHING:
		return STATS_DROP_NOPACKET;
	case FOUND_BAD_ARMOR:
		return STATS_DROP_ARMOR;
	case FOUND_LIMIT:
		return STATS_DROP_LIMIT;
	case FOUND_UNPARSEABLE:
	default:
		return STATS_DROP_PARSE;
	}
}

/* unwrap_drop - the counter for a packet pkt_unwrap refused */
static enum stats_counter
unwrap_drop(enum pkt_err e)
{
	switch (e) {
	case PKT_ERR_VERSION:
		return STATS_DROP_VERSION;
	case PKT_ERR_ROUTING:
		return STATS_DROP_ROUTING;
	case PKT_ERR_UNSUPPORTED:
		return STATS_DROP_UNSUPPORTED;
	case PKT_ERR_TAG:
		return STATS_DROP_TAMPERED;
	case PKT_ERR_BODY:
		return STATS_DROP_BODY;
	case PKT_ERR_POINT:
	case PKT_ERR_MAC:
	default:
		return STATS_DROP_KEY;
	}
}

/* ---- mail without a packet (doc/autoreply.md) ------------------------------ */

/* local_id - a random ID for one log line */
static void
local_id(char hex[13])
{
	uint8_t id[6];

	mcrypto_random(NULL, id, sizeof id);
	mcrypto_hex(hex, id, sizeof id);
}

/*
 * other - a mail that is neither a packet nor a request: kept in the
 * operator's Maildir or dropped (other_mail). Counted as drop_nopacket
 * either way, and as other_kept or other_full.
 */
static int
other(const struct node *n, const struct envelope *env, const struct inmail *m, const char *why)
{
	char hex[13];

	if (env->set.other != AR_OTHER_KEEP)
		return drop(n, STATS_DROP_NOPACKET, why);
	switch (outbox_maildir_deliver(n->spool, m->buf, m->len, env->set.other_max_count,
	    env->set.other_max_bytes, n->lock_ms)) {
	case OUTBOX_KEPT:
		local_id(hex);
		count(n, STATS_DROP_NOPACKET);
		count(n, STATS_OTHER_KEPT);
		msg_info("mail %s without a packet kept for the operator", hex);
		return EX_OK_;
	case OUTBOX_FULL:
		count(n, STATS_OTHER_FULL);
		return drop(n, STATS_DROP_NOPACKET, "no packet; the operator's mailbox is full");
	default:
		return tempfail(n, strerror(errno));
	}
}

/*
 * queue - commit mail for rcpt to the outbox, then count it against the
 * rate limits (key NULL: only the hourly total) in the locked table r.
 * If the count cannot be written, the entry is taken back: 75 leaves
 * nothing. Returns the exit status.
 */
static int
queue(const struct node *n, struct ar_rate *r, const uint8_t *key, enum outbox_kind kind,
    const char *rcpt, uint8_t *mail, size_t len)
{
	struct outbox_entry e;
	char name[OUTBOX_NAME_LEN + 1];
	int saved;

	memset(&e, 0, sizeof e);
	e.kind = kind;
	e.created = (int64_t)n->now;
	(void)snprintf(e.rcpt, sizeof e.rcpt, "%s", rcpt);	/* sender "": <> (RFC 3834) */
	e.data = mail;
	e.len = len;
	if (outbox_commit(n->spool, &e, name) != 0)
		return tempfail(n, strerror(errno));
	if (autoreply_rate_commit(r, key, (int64_t)n->now) != 0) {
		saved = errno;
		if (outbox_remove(n->spool, name) != 0)
			msg_warn("an outbox entry could not be taken back: %s", strerror(errno));
		return tempfail(n, strerror(saved));
	}
	mcrypto_wipe(&e, sizeof e);
	return EX_OK_;
}

/* loop_reason - the first loop signal in bits, for the log */
static const char *
loop_reason(unsigned bits, const char *addr)
{
	if (addr[0] == '\0')
		return "no valid reply address";
	if (bits & AR_LOOP_NULL_SENDER)
		return "empty envelope sender";
	if (bits & AR_LOOP_AUTO)
		return "Auto-Submitted";
	if (bits & AR_LOOP_PRECEDENCE)
		return "Precedence";
	if (bits & AR_LOOP_LIST)
		return "list mail";
	if (bits & AR_LOOP_DAEMON)
		return "a daemon's or no-reply address";
	return "the node's own address";
}

/* request - answer a request (a classified command) or refuse it */
static int
request(const struct node *n, const struct envelope *env, const struct ar_class *cls)
{
	const char *addr = conf_get(&n->conf, "address");
	struct ar_node an = { &n->conf, &env->set, n->spool, (int64_t)n->now };
	struct ar_rate *r = NULL;
	enum ar_rate_verdict v;
	uint8_t key[AR_HASH_BYTES], *mail = NULL;
	char hex[13], id[AR_ID_HEX + 1], *body = NULL;
	size_t blen = 0, mlen = 0;
	unsigned loop = cls->loop;
	int status;

	if (env->sender != NULL && (env->sender[0] == '\0' || strcmp(env->sender, "<>") == 0))
		loop |= AR_LOOP_NULL_SENDER;
	if (cls->addr[0] != '\0' && autoreply_addr_equal(cls->addr, addr))
		loop |= AR_LOOP_SELF;
	local_id(hex);
	if (loop != 0 || cls->addr[0] == '\0') {
		count(n, STATS_REPLY_LOOP);
		msg_info("request %s not answered: loop protection (%s)", hex,
		    loop_reason(loop, cls->addr));
		return EX_OK_;
	}
	if (autoreply_requester_key(n->spool, cls->addr, key) != 0)
		return tempfail(n, strerror(errno));
	if (autoreply_body(&an, cls->cmd, &body, &blen) != 0) {
		status = tempfail(n, strerror(errno));
		goto out;
	}
	autoreply_random_hex(id);
	if (autoreply_compose(addr, cls->addr, cls->cmd, (int64_t)n->now, id, body, blen,
	    &mail, &mlen) != 0) {
		/* the addresses were checked: this is a bug */
		msg_panic("autoreply_compose refused checked addresses");
	}
	if (autoreply_rate_open(n->spool, n->lock_ms, &r) != 0) {
		status = tempfail(n, strerror(errno));
		goto out;
	}
	v = autoreply_rate_file_check(r, key, (int64_t)n->now, env->set.per_requester,
	    env->set.per_hour);
	if (v != AR_RATE_OK) {
		count(n, STATS_REPLY_RATE);
		msg_info("request %s not answered: %s", hex, v == AR_RATE_TOTAL ?
		    "the hourly limit of replies is reached" : "this requester's daily limit is reached");
		status = EX_OK_;
		goto out;
	}
	status = queue(n, r, key, OUTBOX_REPLY, cls->addr, mail, mlen);
	if (status == EX_OK_)
		count(n, STATS_REPLY_QUEUED);
out:
	autoreply_rate_close(r);
	mcrypto_wipe(key, sizeof key);
	if (mail != NULL) {
		mcrypto_wipe(mail, mlen);
		mem_free(mail);
	}
	mem_free(body);
	return status;
}

/*
 * complaint - a mail the MTA passed for complaints_address: forwarded to
 * operator_address as an attachment, within the hourly total; beyond it,
 * treated as other mail.
 */
static int
complaint(const struct node *n, const struct envelope *env, const struct inmail *m)
{
	struct ar_rate *r = NULL;
	uint8_t *mail = NULL;
	char id[AR_ID_HEX + 1], boundary[AR_ID_HEX + 1], hex[13];
	size_t mlen = 0;
	int status, tries;

	if (autoreply_rate_open(n->spool, n->lock_ms, &r) != 0)
		return tempfail(n, strerror(errno));
	if (autoreply_rate_file_check(r, NULL, (int64_t)n->now, 0, env->set.per_hour) != AR_RATE_OK) {
		autoreply_rate_close(r);
		local_id(hex);
		msg_info("complaint %s not forwarded: the hourly limit is reached", hex);
		return other(n, env, m, "complaint over the hourly limit");
	}
	autoreply_random_hex(id);
	for (tries = 0; tries < 8; tries++) {
		autoreply_random_hex(boundary);
		if (autoreply_complaint(conf_get(&n->conf, "address"), env->set.operator_addr,
		    conf_get(&n->conf, "name"), (int64_t)n->now, id, boundary, m->buf, m->len,
		    &mail, &mlen) == 0)
			break;
	}
	if (mail == NULL) {
		autoreply_rate_close(r);
		return other(n, env, m, "complaint not composed");
	}
	status = queue(n, r, NULL, OUTBOX_COMPLAINT, env->set.operator_addr, mail, mlen);
	autoreply_rate_close(r);
	mcrypto_wipe(mail, mlen);
	mem_free(mail);
	if (status == EX_OK_)
		count(n, STATS_OTHER_FORWARDED);
	return status;
}

/* nopacket - a mail in which no packet armor was found */
static int
nopacket(const struct node *n, const struct envelope *env, const struct inmail *m,
    const struct ar_class *cls, const char *why)
{
	if (env->set.enabled && cls->cmd != AR_NONE)
		return request(n, env, cls);
	return other(n, env, m, why);
}

/*
 * commit - steps 4-10 of the receive protocol for an unwrapped packet.
 * Returns the exit status.
 */
static int
commit(const struct node *n, const struct keyring *kr, const struct keys_mixinfo *ki,
    const struct pkt_result *res, const uint8_t *out)
{
	struct pool_entry e;
	struct replay *rc;
	struct pool *pool;
	enum replay_status rst;
	enum pool_err pst;
	char *path;
	int status;

	memset(&e, 0, sizeof e);
	memcpy(e.tag, res->replay_tag, sizeof e.tag);
	e.due = res->delay > 0 ? (int64_t)n->now + res->delay : 0;
	e.data = out;
	e.data_len = res->out_len;
	if (res->cmd == PKT_CMD_FORWARD) {
		e.kind = POOL_FORWARD;
		memcpy(e.addr, res->next_addr, sizeof e.addr);
	} else
		e.kind = POOL_DELIVER;

	/*
	 * The key's replay cache is made by init and keys (and rotation);
	 * if it is missing now, making an empty one would forget every tag
	 * recorded so far, so the mail waits for the operator instead.
	 */
	path = keys_replay_path(n->spool, ki->id);
	/*
	 * No sync of the tag record (step 9): the synced entry's name refuses
	 * a second copy while it is pooled, and a flush records the tag
	 * durably before the entry leaves pool/ (F2). doc/INTERNALS.md 3.
	 */
	rc = replay_open(path, 0, REPLAY_NO_SYNC, &rst);
	mem_free(path);
	if (rc == NULL) {
		if (rst == REPLAY_ERR_IO && errno == ENOENT)
			return tempfail(n, "the replay cache of a live key is missing (lost: retire the key, see mixnode(8))");
		return tempfail(n, rst == REPLAY_ERR_IO ? strerror(errno) : replay_strerror(rst));
	}
	if ((pst = pool_open(&pool, n->spool, kr->names_key)) != POOL_OK) {
		status = tempfail(n, pst == POOL_ERR_IO ? strerror(errno) : pool_strerror(pst));
		(void)replay_close(rc);
		return status;
	}
	pst = pool_commit(pool, &e, rc, n->lock_ms);
	if (pst == POOL_ERR_IO)
		status = tempfail(n, strerror(errno));
	else if (pst != POOL_COMMITTED && pst != POOL_REPLAY)
		status = tempfail(n, pool_strerror(pst));
	else
		status = EX_OK_;
	pool_close(pool);
	if (replay_close(rc) != REPLAY_OK && status == EX_OK_ && pst == POOL_COMMITTED)
		msg_warn("closing the replay cache: %s", strerror(errno));
	if (pst == POOL_REPLAY)
		return drop(n, STATS_DROP_REPLAY, "replayed packet");
	if (pst == POOL_COMMITTED)
		count(n, e.kind == POOL_FORWARD ? STATS_IN_FORWARD : STATS_IN_DELIVER);
	return status;
}

/*
 * process - everything after the settings are loaded; the exit status.
 * Order matters for privacy as much as for safety: nothing about the mail
 * is logged, and the keys are opened before the mail is judged, so that a
 * node with a key problem defers mail instead of dropping it.
 */
static int
process(const struct node *n, const struct envelope *env)
{
	const struct pkt_key *live[KEYS_MAX_MIX];
	const struct keys_mixinfo *info[KEYS_MAX_MIX];
	struct keyring *kr = NULL;
	struct pkt_result res;
	struct inmail m;
	struct ar_class cls;
	enum found found;
	enum pkt_err pe;
	enum keys_err ke;
	uint8_t *pkt = NULL, *out = NULL;
	char err[KEYS_ERR_MAX];
	const char *why;
	size_t nlive;
	int status;

	if (read_mail(&m, n->max_size) != 0) {
		status = tempfail(n, strerror(errno));
		goto done;
	}
	if ((ke = keys_open(&kr, n->spool, err, sizeof err)) != KEYS_OK) {
		status = tempfail(n, err);
		goto done;
	}
	nlive = keys_live(kr, n->now, live, info);
	if (nlive == 0) {
		status = tempfail(n, "no live mix key (run mixnode keys)");
		goto done;
	}
	if (m.oversize) {
		status = drop(n, STATS_DROP_OVERSIZE, "larger than max_message_size");
		goto done;
	}
	if (m.len == 0) {
		status = drop(n, STATS_DROP_NOPACKET, "empty mail");
		goto done;
	}
	if (env->recipient != NULL && env->set.complaints[0] != '\0' &&
	    autoreply_addr_equal(env->recipient, env->set.complaints)) {
		status = complaint(n, env, &m);
		goto done;
	}
	pkt = mem_alloc(PKT_SIZE);
	found = extract(m.buf, m.len, pkt, &cls, &why);
	if (found == FOUND_TEMPFAIL) {
		status = tempfail(n, why);
		goto done;
	}
	if (found == FOUND_NOTHING) {
		status = nopacket(n, env, &m, &cls, why);
		mcrypto_wipe(&cls, sizeof cls);
		goto done;
	}
	if (found != FOUND_PACKET) {
		status = drop(n, found_drop(found), why);
		goto done;
	}
	out = mcrypto_secret_alloc(PKT_SIZE);
	{
		/* pkt_unwrap wants an array of keys, not of pointers */
		struct pkt_key *keys = mcrypto_secret_alloc(nlive * sizeof *keys);
		size_t i;

		for (i = 0; i < nlive; i++)
			keys[i] = *live[i];
		pe = pkt_unwrap(pkt, PKT_SIZE, keys, nlive, &res, out);
		mcrypto_secret_free(keys);
	}
	if (pe == PKT_ERR_CRYPTO) {
		status = tempfail(n, pkt_strerror(pe));
		goto done;
	}
	if (pe != PKT_OK) {
		status = drop(n, unwrap_drop(pe), pkt_strerror(pe));
		goto done;
	}
	switch (res.cmd) {
	case PKT_CMD_FORWARD:
	case PKT_CMD_DELIVER:
		status = commit(n, kr, info[res.key_index], &res, out);
		break;
	case PKT_CMD_DROP:
		/* A dummy ends here: counted, nothing kept, nothing to replay. */
		count(n, STATS_IN_DUMMY);
		status = EX_OK_;
		break;
	default:
		status = drop(n, STATS_DROP_UNSUPPORTED, "unsupported command");
		break;
	}
done:
	if (out != NULL)
		mcrypto_secret_free(out);
	mem_free(pkt);
	if (m.buf != NULL) {
		mcrypto_wipe(m.buf, m.len);
		mem_free(m.buf);
	}
	keys_close(kr);
	return status;
}

/*
 * cmd_receive - mixnode receive [SENDER [RECIPIENT]]. The envelope is
 * used for two things only, and never logged or stored: RECIPIENT tells a
 * mail for complaints_address, and an empty SENDER ("" or "<>") forbids an
 * auto-reply. SENDER "-" means not given. Where the arguments are
 * missing, Exim's pipe transport environment (SENDER, RECIPIENT; readable
 * by the hook's user only) is used (doc/autoreply.md section 1).
 */
int
cmd_receive(const char *conf_path, int argc, char **argv)
{
	char err[CONF_ERR_MAX];
	struct envelope env;
	struct node n;
	int status;

	memset(&env, 0, sizeof env);
	env.sender = argc >= 1 && strcmp(argv[0], "-") != 0 ? argv[0] : getenv("SENDER");
	env.recipient = argc >= 2 && strcmp(argv[1], "-") != 0 ? argv[1] : getenv("RECIPIENT");
	if (node_load(&n, conf_path, err, sizeof err) != 0) {
		msg_warn("%s", err);
		return tempfail(NULL, "configuration error");
	}
	if (autoreply_settings(&n.conf, &env.set, err, sizeof err) != 0) {
		msg_warn("%s", err);
		status = tempfail(NULL, "configuration error");
		node_free(&n);
		return status;
	}
	status = process(&n, &env);
	node_free(&n);
	return status;
}
