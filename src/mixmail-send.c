/*
 * mixmail-send.c - one message from the command line or a complete mail
 * to the relay (mixmail-send.h says how copies, fragments and chains
 * combine).
 *
 * The plaintext lives in memory only: the input, the message and the
 * bodies are wiped before they are freed (buffers given up while reading
 * too), and core dumps are switched off for the run. GMime's own copies
 * while it parses are beyond reach; they are freed with the process.
 *
 * Diagnostics: on stderr, never a byte of the message, a header value or
 * an address: positions, counts, node names and the rules that failed.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "chain.h"
#include "fragment.h"
#include "log.h"
#include "mcrypto.h"
#include "mem.h"
#include "message.h"
#include "mixmail-home.h"
#include "mixmail-nodes.h"
#include "mixmail-out.h"
#include "mixmail-send.h"
#include "nodedb.h"
#include "pkt.h"
#include "relay.h"

/* A complete mail may be larger than the message made of it (dropped fields) */
#define MAIL_READ_MAX	(2 * (size_t)FRAG_MSG_MAX)

/* One send in progress */
struct job {
	const struct mm_home *h;
	const struct mmsend_opts *o;
	uint8_t *msg;			/* the message: secret */
	size_t msg_len;
	char **rcpt;			/* its destinations */
	size_t nrcpt;
	unsigned copies, k, n;
	struct mm_chainspec cs;
	struct descriptor *nodes;
	size_t nnodes;
	struct chain *chains;		/* n: one per body */
	struct mm_mail *mails;		/* n: in the order they are handed over */
};

/* wipe_free - wipe len bytes of p, then free it */
static void
wipe_free(void *p, size_t len)
{
	if (p == NULL)
		return;
	mcrypto_wipe(p, len);
	mem_free(p);
}

/* read_input - the body (compose) or the whole mail (-m) */
static int
read_input(const struct mmsend_opts *o, uint8_t **buf, size_t *len)
{
	const char *file = o->whole_mail ? o->mail_file : NULL;
	size_t max = o->whole_mail ? MAIL_READ_MAX : FRAG_MSG_MAX;
	int fd = STDIN_FILENO, rd;

	if (file != NULL && strcmp(file, "-") != 0 &&
	    (fd = open(file, O_RDONLY | O_NOCTTY | O_CLOEXEC)) < 0) {
		fprintf(stderr, "mixmail: %s: %s\n", file, strerror(errno));
		return MM_EX_NOINPUT;
	}
	rd = mmhome_read(fd, max, buf, len);
	if (rd < 0)
		fprintf(stderr, "mixmail: cannot read the %s: %s\n",
		    o->whole_mail ? "mail" : "message body", strerror(errno));
	if (fd != STDIN_FILENO)
		(void)close(fd);
	if (rd < 0)
		return MM_EX_NOINPUT;
	if (rd > 0) {
		fprintf(stderr, "mixmail: the %s is too large: more than %zu bytes (a message "
		    "may have at most %d)\n", o->whole_mail ? "mail" : "message body", max,
		    FRAG_MSG_MAX);
		return MM_EX_TOOBIG;
	}
	return MM_EX_OK;
}

/* msg_status - the exit code of a message.c failure, after saying what failed */
static int
msg_status(const char *what, enum msg_err e, const char *err)
{
	if (e == MSG_ERR_SIZE) {
		fprintf(stderr, "mixmail: the message is too large: more than %d bytes\n",
		    FRAG_MSG_MAX);
		return MM_EX_TOOBIG;
	}
	fprintf(stderr, "mixmail: %s: %s%s%s\n", what, message_strerror(e),
	    err[0] != '\0' ? ": " : "", err);
	return e == MSG_ERR_NOMEM ? MM_EX_TEMPFAIL : MM_EX_DATAERR;
}

/* make_message - the message and its destinations into j */
static int
make_message(struct job *j)
{
	const struct mmsend_opts *o = j->o;
	struct msg_compose c;
	char err[MESSAGE_ERR_MAX] = "";
	uint8_t *in = NULL;
	size_t in_len = 0, dropped = 0;
	enum msg_err e;
	int status;

	if ((status = read_input(o, &in, &in_len)) != MM_EX_OK)
		return status;
	if (o->whole_mail) {
		e = message_from_mail(in, in_len, FRAG_MSG_MAX, &j->msg, &j->msg_len, &dropped,
		    err, sizeof err);
	} else {
		memset(&c, 0, sizeof c);
		c.to = o->to;
		c.nto = o->nto;
		c.cc = o->cc;
		c.ncc = o->ncc;
		c.subject = o->subject;
		c.headers = o->headers;
		c.nheaders = o->nheaders;
		c.body = in;
		c.body_len = in_len;
		e = message_compose(&c, &j->msg, &j->msg_len, err, sizeof err);
	}
	wipe_free(in, in_len);
	if (e != MSG_OK) {
		j->msg = NULL;
		return msg_status(o->whole_mail ? "the mail cannot be sent" :
		    "the message cannot be composed", e, err);
	}
	if (dropped > 0)
		fprintf(stderr, "mixmail: %zu header field%s of the mail removed: only the "
		    "fields listed in mixmail(1) travel\n", dropped, dropped == 1 ? "" : "s");
	if (j->msg_len > FRAG_MSG_MAX)
		return msg_status("", MSG_ERR_SIZE, "");
	err[0] = '\0';
	if ((e = message_recipients(j->msg, j->msg_len, &j->rcpt, &j->nrcpt, err,
	    sizeof err)) != MSG_OK) {
		j->rcpt = NULL;
		j->nrcpt = 0;
		return msg_status("the message's destinations", e, err);
	}
	return MM_EX_OK;
}

/* settings - the chain spec and the copies, from the options or mixmail.conf */
static int
settings(struct job *j)
{
	const char *conf_chain = conf_get(&j->h->conf, "chain");
	char err[MM_ERR_MAX];
	size_t i;

	j->copies = j->o->copies != 0 ? j->o->copies :
	    (unsigned)conf_get_num(&j->h->conf, "copies");
	if (j->o->chain != NULL) {
		if (mmhome_chain_parse(j->o->chain, &j->cs, err, sizeof err) != 0) {
			fprintf(stderr, "mixmail: -l: %s\n", err);
			return MM_EX_USAGE;
		}
	} else if (conf_chain[0] != '\0') {
		if (mmhome_chain_parse(conf_chain, &j->cs, err, sizeof err) != 0) {
			fprintf(stderr, "mixmail: %s: setting chain: %s\n", j->h->conf_path, err);
			return MM_EX_CONFIG;
		}
	} else {
		memset(&j->cs, 0, sizeof j->cs);
		j->cs.nhops = (size_t)conf_get_num(&j->h->conf, "hops");
		for (i = 0; i < j->cs.nhops; i++) {
			(void)snprintf(j->cs.name[i], sizeof j->cs.name[i], "%s", CHAIN_RANDOM);
			j->cs.spec[i] = j->cs.name[i];
		}
	}
	return MM_EX_OK;
}

/* chain_failed - say why no chain was found; too large or no chain */
static int
chain_failed(const struct job *j, const struct chain_req *req, enum chain_err e,
    const struct chain_error *cerr)
{
	struct chain_req sizeless = *req;
	struct chain probe;
	int toobig = e == CHAIN_ERR_RULE && cerr->rule == CHAIN_RULE_SIZE;

	/* No exit at all, or none for this size? Ask again for a tiny message. */
	if (e == CHAIN_ERR_NOEXIT) {
		sizeless.size = 0;
		toobig = chain_select(j->nodes, j->nnodes, &sizeless, &probe, NULL) == CHAIN_OK;
	}
	if (toobig) {
		fprintf(stderr, "mixmail: the message (%zu bytes) is too large for %s: %s\n",
		    j->msg_len, e == CHAIN_ERR_NOEXIT ? "every usable exit" : "the exit named",
		    cerr->msg);
		return MM_EX_TOOBIG;
	}
	fprintf(stderr, "mixmail: no usable chain: %s\n",
	    cerr->msg[0] != '\0' ? cerr->msg : chain_strerror(e));
	return MM_EX_CHAIN;
}

/* choose_chains - one chain per body, every one ending at the same exit */
static int
choose_chains(struct job *j)
{
	const char *spec[CHAIN_MAX_HOPS];
	struct chain_error cerr;
	struct chain_req req;
	size_t done, batch, last = j->cs.nhops - 1, i;
	enum chain_err e;

	for (i = 0; i < j->cs.nhops; i++)
		spec[i] = j->cs.spec[i];
	memset(&req, 0, sizeof req);
	req.spec = spec;
	req.nhops = j->cs.nhops;
	req.dest = (const char *const *)j->rcpt;
	req.ndest = j->nrcpt;
	req.size = j->msg_len;
	req.now = j->h->now;
	req.delay_mean = (uint32_t)conf_get_num(&j->h->conf, "delay_mean");
	j->chains = mem_calloc(j->n, sizeof *j->chains);
	for (done = 0; done < j->n; done += batch) {
		batch = j->n - done < CHAIN_MAX_COPIES ? j->n - done : CHAIN_MAX_COPIES;
		e = chain_select_copies(j->nodes, j->nnodes, &req, batch, &j->chains[done], &cerr);
		if (e != CHAIN_OK)
			return chain_failed(j, &req, e, &cerr);
		/* Later groups: the first group's exit, named */
		spec[last] = j->nodes[j->chains[0].node[last]].name;
	}
	return MM_EX_OK;
}

/* make_mails - split, wrap each body in its chain's packet, shuffle */
static int
make_mails(struct job *j)
{
	uint8_t *bodies = NULL, *pkt = mem_alloc(PKT_SIZE);
	size_t body_len = 0, count = 0, i, r;
	struct mm_mail tmp;
	enum frag_err fe;
	enum pkt_err pe;
	int status = MM_EX_OK;

	fe = fragment_split(j->msg, j->msg_len, j->copies, NULL, &bodies, &body_len, &count);
	if (fe != FRAG_OK || count != j->n)
		msg_panic("mixmail: fragment_split: %s (%zu bodies, planned %u)",
		    fragment_strerror(fe), count, j->n);
	j->mails = mem_calloc(j->n, sizeof *j->mails);
	for (i = 0; i < j->n; i++) {
		pe = pkt_build(pkt, j->chains[i].hop, j->chains[i].nhops, PKT_CMD_DELIVER,
		    bodies + i * body_len, body_len, NULL);
		if (pe != PKT_OK) {
			fprintf(stderr, "mixmail: cannot build packet %zu: %s\n", i + 1,
			    pkt_strerror(pe));
			status = pe == PKT_ERR_CRYPTO ? MM_EX_TEMPFAIL : MM_EX_CHAIN;
			break;
		}
		mmout_mail(&j->mails[i], conf_get(&j->h->conf, "from"), j->chains[i].hop[0].addr,
		    j->nodes[j->chains[i].node[0]].name, j->h->now, pkt);
	}
	wipe_free(bodies, count * body_len);
	mem_free(pkt);
	if (status != MM_EX_OK)
		return status;
	/* Hand-off order must not follow the fragment order (Fisher-Yates) */
	for (i = j->n; i > 1; i--) {
		r = mcrypto_uniform((uint32_t)i);
		tmp = j->mails[i - 1];
		j->mails[i - 1] = j->mails[r];
		j->mails[r] = tmp;
	}
	return MM_EX_OK;
}

/* verbose_plan - -v: what is about to be sent */
static void
verbose_plan(const struct job *j)
{
	size_t i, h, last = j->cs.nhops - 1;

	fprintf(stderr, "mixmail: a message of %zu bytes as %u packet%s (any %u rebuild it), "
	    "%zu hop%s each, exit %s\n", j->msg_len, j->n, j->n == 1 ? "" : "s", j->k,
	    j->cs.nhops, j->cs.nhops == 1 ? "" : "s", j->nodes[j->chains[0].node[last]].name);
	for (i = 0; i < j->n; i++) {
		fprintf(stderr, "mixmail: packet %zu: chain ", i + 1);
		for (h = 0; h < j->chains[i].nhops; h++)
			fprintf(stderr, "%s%s", h > 0 ? "," : "", j->nodes[j->chains[i].node[h]].name);
		fprintf(stderr, "%s\n", j->chains[i].shared ? " (shares middle nodes)" : "");
	}
}

/* hand_over - to the relay or the dump directory; the report and exit code */
static int
hand_over(struct job *j)
{
	char err[MM_ERR_MAX] = "", where[PATH_MAX + 16];
	struct relay r;
	size_t sent, i;

	if (j->o->dump != NULL) {
		(void)snprintf(where, sizeof where, "--dump %s", j->o->dump);
		sent = mmout_dump(j->o->dump, j->mails, j->n, err, sizeof err);
	} else {
		if (relay_parse(conf_get(&j->h->conf, "relay"), &r, err, sizeof err) != 0) {
			fprintf(stderr, "mixmail: %s: setting relay: %s\n", j->h->conf_path, err);
			return MM_EX_CONFIG;
		}
		r.timeout = (unsigned)conf_get_num(&j->h->conf, "relay_timeout");
		relay_describe(&r, where, sizeof where);
		sent = mmout_relay(&r, conf_get(&j->h->conf, "from"), j->mails, j->n, err,
		    sizeof err);
	}
	if (sent == j->n) {
		if (j->o->verbose)
			fprintf(stderr, "mixmail: %zu mail%s handed to %s\n", sent,
			    sent == 1 ? "" : "s", where);
		return MM_EX_OK;
	}
	fprintf(stderr, "mixmail: only %zu of %zu mail%s handed to %s%s%s\n", sent, (size_t)j->n,
	    j->n == 1 ? "" : "s", where, err[0] != '\0' ? ": " : "", err);
	for (i = 0; i < j->n; i++)
		fprintf(stderr, "mixmail: mail %zu of %u (first hop %s): %s%s\n", i + 1, j->n,
		    j->mails[i].hop, j->mails[i].sent ? "handed over" : "NOT handed over: ",
		    j->mails[i].sent ? "" : j->mails[i].why);
	if (sent == 0)
		fprintf(stderr, "mixmail: nothing was sent; the message may be sent again\n");
	else if (sent >= j->k)
		fprintf(stderr, "mixmail: the message can still arrive: its exit needs any %u of "
		    "the %u mails; sending it again may deliver it twice\n", j->k, j->n);
	else
		fprintf(stderr, "mixmail: the message cannot arrive: its exit needs any %u of the "
		    "%u mails; send it again\n", j->k, j->n);
	return MM_EX_RELAY;
}

int
mmsend_run(const struct mm_home *h, const struct mmsend_opts *o)
{
	struct rlimit nocore = { 0, 0 };
	struct job j;
	enum frag_err fe;
	size_t i;
	int status;

	memset(&j, 0, sizeof j);
	j.h = h;
	j.o = o;
	/* A core dump would put the plaintext on disk */
	if (setrlimit(RLIMIT_CORE, &nocore) != 0)
		msg_fatal("cannot switch core dumps off: %s", strerror(errno));
	if ((status = settings(&j)) != MM_EX_OK || (status = make_message(&j)) != MM_EX_OK)
		goto out;
	if ((fe = fragment_plan(j.msg_len, j.copies, &j.k, &j.n)) != FRAG_OK) {
		status = fe == FRAG_ERR_TOO_LONG ? msg_status("", MSG_ERR_SIZE, "") : MM_EX_USAGE;
		goto out;
	}
	if ((status = mmnodes_load(h, &j.nodes, &j.nnodes)) != MM_EX_OK)
		goto out;
	if (j.nnodes == 0) {
		fprintf(stderr, "mixmail: no usable chain: no nodes known (import their "
		    "descriptors: mixmail import FILE...)\n");
		status = MM_EX_CHAIN;
		goto out;
	}
	if ((status = choose_chains(&j)) != MM_EX_OK || (status = make_mails(&j)) != MM_EX_OK)
		goto out;
	wipe_free(j.msg, j.msg_len);
	j.msg = NULL;
	if (o->verbose)
		verbose_plan(&j);
	status = hand_over(&j);
out:
	wipe_free(j.msg, j.msg_len);
	if (j.rcpt != NULL) {
		for (i = 0; i < j.nrcpt; i++)
			mcrypto_wipe(j.rcpt[i], strlen(j.rcpt[i]));
		message_recipients_free(j.rcpt, j.nrcpt);
	}
	mem_free(j.chains);
	mmout_free(j.mails, j.n);
	if (j.nodes != NULL)
		nodedb_free(j.nodes);
	return status;
}
