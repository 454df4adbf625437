/*
 * relay.c - the node's outbound hand-off (relay.h): a batch of mails to
 * the local MTA through libESMTP, or into a Maildir.
 *
 * SMTP: the messages of a batch are added to libESMTP sessions, one for a
 * small batch and up to RELAY_SESSIONS_MAX run in parallel threads for a
 * large one (smtp_batch); libESMTP keeps its error state per thread and a
 * session belongs to one thread. libESMTP reads each
 * message through msg_read(), which hands out the message in chunks of
 * CHUNK bytes with every line end made CR LF (libESMTP splits lines only
 * at CR LF; a bare LF would silently merge the whole message into one
 * header line). After the session each message's verdict is read from
 * libESMTP's status codes: MAIL FROM, each RCPT TO, then the message
 * (relay.h gives the order). A status code 0 means no answer: the
 * connection failed, dropped or timed out; that is always TEMP.
 *
 * Maildir: tmp/NAME written (O_EXCL, 0600), fsync'd, closed, renamed to
 * new/NAME; one fsync of new/ for the batch. The relay answers only after
 * that fsync, so SENT is durable.
 *
 * libESMTP facts this relies on (version 1.1.0, read in its source):
 * the message callback is called with len == NULL to rewind, then until it
 * returns a length of 0; a callback that returns NULL with errno set would
 * make libESMTP drop the connection (this one never fails). BDAT chunks
 * are what the callback returns, hence the large CHUNK. Timeouts are in
 * milliseconds with a floor of 1000 even with
 * Timeout_OVERRIDE_RFC2822_MINIMUM. With a host name that resolves to
 * several addresses, libESMTP tries each until one greets it.
 *
 * Under AddressSanitizer with strict_string_checks=1 (the build's
 * default), libESMTP's header table lookup reports a heap overflow in
 * strncasecmp for headers such as MIME-Version: a false positive (it
 * compares a longer name with a shorter string, which stops at the NUL).
 * The suppression "interceptor_via_lib:libesmtp.so" silences only that.
 *
 * Functions: relay_parse(), relay_set_helo(), relay_send(),
 * relay_result_name(), relay_describe().
 *
 * Diagnostics: none logged; one line of error text for the caller, with
 * the relay's name, counts and reasons only (relay.h, Privacy).
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libesmtp.h>

#include "fdio.h"
#include "log.h"
#include "mcrypto.h"
#include "mem.h"
#include "relay.h"

#define CHUNK		65536	/* bytes per callback read (and BDAT chunk) */
#define RELAY_SESSIONS_MAX	6	/* SMTP sessions at once for one batch */
#define RELAY_SESSION_MIN	64	/* fewest messages that get a session of their own */
#define NAME_RANDOM	(RELAY_NAME_LEN / 2)	/* random bytes in a name */
#define NAME_TRIES	4	/* tmp/NAME exists (never, in practice) */
#define LABEL_MAX	63
#define PORT_MAX	65535

/* ---- parsing -------------------------------------------------------------- */

static int
fail(char *err, size_t errlen, const char *why)
{
	if (errlen > 0)
		snprintf(err, errlen, "%s", why);
	return -1;
}

static int
is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static int
is_alnum(int c)
{
	return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* ipv4_valid - exactly four decimal parts 0..255, no leading zeros */
static int
ipv4_valid(const char *s, size_t n)
{
	size_t i = 0, parts = 0, digits;
	unsigned v;

	while (i < n) {
		for (digits = 0, v = 0; i < n && is_digit(s[i]); i++, digits++)
			v = v * 10 + (unsigned)(s[i] - '0');
		if (digits == 0 || digits > 3 || v > 255 || (digits > 1 && s[i - digits] == '0'))
			return 0;
		parts++;
		if (i < n && s[i++] != '.')
			return 0;
		if (i == n && s[n - 1] == '.')
			return 0;
	}
	return parts == 4;
}

/*
 * name_valid - a DNS name (labels of letters, digits and inner hyphens,
 * 1..63 bytes, no empty label, no final dot) whose last label is not all
 * digits, or else a dotted IPv4 address. The IPv4 rule stops the
 * resolver's other readings of numbers ("2130706433", "127.1", "0x7f.1").
 */
static int
name_valid(const char *s, size_t n, size_t max)
{
	size_t i, label = 0;
	int digits_only = 1;

	if (n == 0 || n > max)
		return 0;
	for (i = 0; i < n; i++) {
		if (s[i] == '.') {
			if (label == 0 || s[i - 1] == '-')
				return 0;
			label = 0;
			digits_only = 1;
			continue;
		}
		if (!is_alnum(s[i]) && s[i] != '-')
			return 0;
		if (s[i] == '-' && label == 0)
			return 0;
		if (!is_digit(s[i]))
			digits_only = 0;
		if (++label > LABEL_MAX)
			return 0;
	}
	if (label == 0 || s[n - 1] == '-')
		return 0;
	return digits_only ? ipv4_valid(s, n) : 1;
}

static int
parse_smtp(const char *t, struct relay *r, char *err, size_t errlen)
{
	const char *colon;
	size_t hlen, i, plen;
	unsigned long port = 0;

	if (t[0] == '[')
		return fail(err, errlen, "IPv6 address literals are not supported "
		    "(libESMTP cannot connect to them); use a host name");
	colon = strrchr(t, ':');
	if (colon == NULL)
		return fail(err, errlen, "smtp relay needs HOST:PORT (the port is required)");
	hlen = (size_t)(colon - t);
	if (memchr(t, ':', hlen) != NULL)
		return fail(err, errlen, "IPv6 addresses are not supported; use a host name");
	if (!name_valid(t, hlen, RELAY_HOST_MAX))
		return fail(err, errlen, "invalid relay host (a DNS name or a dotted IPv4 address)");
	plen = strlen(colon + 1);
	if (plen == 0 || plen > 5 || colon[1] == '0')
		return fail(err, errlen, "invalid relay port (1-65535)");
	for (i = 0; i < plen; i++) {
		if (!is_digit(colon[1 + i]))
			return fail(err, errlen, "invalid relay port (1-65535)");
		port = port * 10 + (unsigned long)(colon[1 + i] - '0');
	}
	if (port < 1 || port > PORT_MAX)
		return fail(err, errlen, "invalid relay port (1-65535)");
	r->kind = RELAY_SMTP;
	memcpy(r->host, t, hlen);
	r->host[hlen] = '\0';
	r->port = (unsigned)port;
	return 0;
}

static int
parse_maildir(const char *t, struct relay *r, char *err, size_t errlen)
{
	size_t n = strlen(t), i;

	if (t[0] != '/')
		return fail(err, errlen, "maildir relay needs an absolute path");
	while (n > 1 && t[n - 1] == '/')
		n--;
	if (n == 1)
		return fail(err, errlen, "the maildir cannot be /");
	if (n > RELAY_PATH_MAX)
		return fail(err, errlen, "maildir path too long");
	for (i = 0; i < n; i++)
		if ((unsigned char)t[i] < 0x20 || (unsigned char)t[i] >= 0x7f)
			return fail(err, errlen, "maildir path holds a control or non-ASCII byte");
	for (i = 0; i < n; i++)
		if (t[i] == '/' && i + 2 < n && t[i + 1] == '.' && t[i + 2] == '.' &&
		    (i + 3 == n || t[i + 3] == '/'))
			return fail(err, errlen, "maildir path contains \"..\"");
	r->kind = RELAY_MAILDIR;
	memcpy(r->path, t, n);
	r->path[n] = '\0';
	return 0;
}

int
relay_parse(const char *spec, struct relay *r, char *err, size_t errlen)
{
	memset(r, 0, sizeof *r);
	snprintf(r->helo, sizeof r->helo, "%s", RELAY_HELO_DEFAULT);
	r->timeout = RELAY_TIMEOUT_DEFAULT;
	if (errlen > 0)
		err[0] = '\0';
	if (spec == NULL)
		return fail(err, errlen, "no relay given");
	if (strncmp(spec, "smtp://", 7) == 0)
		return parse_smtp(spec + 7, r, err, errlen);
	if (strncmp(spec, "maildir:", 8) == 0)
		return parse_maildir(spec + 8, r, err, errlen);
	return fail(err, errlen, "the relay is neither smtp://HOST:PORT nor maildir:/PATH");
}

int
relay_set_helo(struct relay *r, const char *name, char *err, size_t errlen)
{
	size_t n;

	if (name == NULL || (n = strlen(name)) == 0 || n > RELAY_HELO_MAX)
		return fail(err, errlen, "invalid EHLO name (empty or too long)");
	/* A host name in form; a final all-digit label must make an IPv4 address */
	if (!name_valid(name, n, RELAY_HELO_MAX))
		return fail(err, errlen, "invalid EHLO name (letters, digits, '.' and '-')");
	memcpy(r->helo, name, n + 1);
	return 0;
}

const char *
relay_result_name(enum relay_result res)
{
	switch (res) {
	case RELAY_SENT:
		return "SENT";
	case RELAY_TEMP:
		return "TEMP";
	case RELAY_PERM:
		return "PERM";
	}
	return "?";
}

void
relay_describe(const struct relay *r, char *buf, size_t size)
{
	if (size == 0)
		return;
	if (r->kind == RELAY_SMTP)
		snprintf(buf, size, "smtp://%s:%u", r->host, r->port);
	else if (r->kind == RELAY_MAILDIR)
		snprintf(buf, size, "maildir:%s", r->path);
	else
		snprintf(buf, size, "(no relay)");
}

/* ---- messages ------------------------------------------------------------- */

/*
 * addr_valid - an envelope address that cannot break out of "<...>": no
 * space, control or 8-bit byte, none of <>"(),;\ and an '@' with
 * something on both sides. Quoted local parts are not supported.
 */
static int
addr_valid(const char *a)
{
	size_t n = strnlen(a, RELAY_ADDR_MAX + 1), i;
	const char *at;

	if (n == 0 || n > RELAY_ADDR_MAX)
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)a[i];

		if (c <= 0x20 || c >= 0x7f || strchr("<>\"(),;\\", c) != NULL)
			return 0;
	}
	at = strrchr(a, '@');
	return at != NULL && at != a && at[1] != '\0';
}

static int
msg_valid(const struct relay_msg *m)
{
	size_t i;

	if (m->sender == NULL || (m->sender[0] != '\0' && !addr_valid(m->sender)))
		return 0;
	if (m->nrcpt == 0 || m->rcpt == NULL || m->data == NULL || m->len == 0)
		return 0;
	for (i = 0; i < m->nrcpt; i++)
		if (m->rcpt[i] == NULL || !addr_valid(m->rcpt[i]))
			return 0;
	return 1;
}

/*
 * norm_fill - the next bytes of in[0..len) into out[0..size), with every
 * line end (LF, CR LF, a CR alone) written as eol, and eol added after a
 * last line that has none. *pos is the state: 0 at the start. Returns the
 * number of bytes written; 0 at the end. size >= eol_len.
 */
static size_t
norm_fill(const uint8_t *in, size_t len, size_t *pos, uint8_t *out, size_t size,
    const char *eol, size_t eol_len)
{
	size_t i = *pos, o = 0, run;

	while (i < len && size - o >= eol_len) {
		if (in[i] == '\r' || in[i] == '\n') {
			memcpy(out + o, eol, eol_len);
			o += eol_len;
			i += (in[i] == '\r' && i + 1 < len && in[i + 1] == '\n') ? 2 : 1;
			continue;
		}
		for (run = 0; i + run < len && run < size - o; run++)
			if (in[i + run] == '\r' || in[i + run] == '\n')
				break;
		memcpy(out + o, in + i, run);
		o += run;
		i += run;
	}
	if (i == len && len > 0 && in[len - 1] != '\r' && in[len - 1] != '\n' &&
	    size - o >= eol_len) {
		memcpy(out + o, eol, eol_len);
		o += eol_len;
		i = len + 1;
	}
	*pos = i;
	return o;
}

/* ---- SMTP ----------------------------------------------------------------- */

struct job {
	struct relay_msg *m;
	size_t pos;			/* norm_fill state */
	uint8_t *buf;			/* CHUNK bytes, shared by the jobs of a session */
	smtp_message_t msg;		/* NULL: not in the session */
	smtp_recipient_t *rcpt;		/* m->nrcpt handles */
};

/* msg_read - libESMTP's message callback: rewind, or the next chunk */
static const char *
msg_read(void **ctx, int *len, void *arg)
{
	struct job *j = arg;
	size_t n;

	(void)ctx;
	if (len == NULL) {
		j->pos = 0;
		return NULL;
	}
	n = norm_fill(j->m->data, j->m->len, &j->pos, j->buf, CHUNK, "\r\n", 2);
	*len = (int)n;
	return n > 0 ? (const char *)j->buf : NULL;
}

/* code_class - 2, 4 or 5 for a reply code; 0 for none or anything else */
static int
code_class(int code)
{
	int c = code / 100;

	return (c == 2 || c == 4 || c == 5) ? c : 0;
}

/* verdict - the result of one message after the session (relay.h) */
static void
verdict(struct job *j)
{
	struct relay_msg *m = j->m;
	const smtp_status_t *st;
	int mail, c, first_temp = -1, first_perm = 0;
	size_t i, perm = 0;

	st = smtp_reverse_path_status(j->msg);
	mail = st != NULL ? st->code : 0;
	m->code = mail;
	if (code_class(mail) != 2) {
		m->result = code_class(mail) == 5 ? RELAY_PERM : RELAY_TEMP;
		return;
	}
	for (i = 0; i < m->nrcpt; i++) {
		st = smtp_recipient_status(j->rcpt[i]);
		c = st != NULL ? st->code : 0;
		if (code_class(c) == 5) {
			if (perm++ == 0)
				first_perm = c;
		} else if (code_class(c) != 2 && first_temp < 0) {
			first_temp = c;
		}
	}
	if (first_temp >= 0) {
		m->result = RELAY_TEMP;
		m->code = first_temp;
		return;
	}
	if (perm == m->nrcpt) {
		m->result = RELAY_PERM;
		m->code = first_perm;
		return;
	}
	st = smtp_message_transfer_status(j->msg);
	c = st != NULL ? st->code : 0;
	m->code = c;
	switch (code_class(c)) {
	case 2:
		if (perm > 0) {
			m->result = RELAY_PERM;
			m->code = first_perm;
		} else {
			m->result = RELAY_SENT;
		}
		break;
	case 5:
		m->result = RELAY_PERM;
		break;
	default:
		m->result = RELAY_TEMP;
	}
}

/* message_id - a fresh "HEX@helo" for libESMTP's Message-Id default */
static void
message_id(char *buf, size_t size, const char *helo)
{
	uint8_t rnd[NAME_RANDOM];
	char hex[RELAY_NAME_LEN + 1];

	mcrypto_random(NULL, rnd, sizeof rnd);
	mcrypto_hex(hex, rnd, sizeof rnd);
	snprintf(buf, size, "%s@%s", hex, helo);
}

/* session_add - put job j into the session; 0, or -1 (out of memory) */
static int
session_add(smtp_session_t s, struct job *j, const char *helo)
{
	char id[RELAY_NAME_LEN + 1 + RELAY_HELO_MAX + 1];
	size_t i;

	if ((j->msg = smtp_add_message(s)) == NULL)
		return -1;
	message_id(id, sizeof id, helo);
	if (!smtp_set_reverse_path(j->msg, j->m->sender) ||
	    !smtp_set_messagecb(j->msg, msg_read, j) ||
	    !smtp_set_header(j->msg, "Message-Id", id))
		return -1;
	j->rcpt = mem_calloc(j->m->nrcpt, sizeof *j->rcpt);
	for (i = 0; i < j->m->nrcpt; i++)
		if ((j->rcpt[i] = smtp_add_recipient(j->msg, j->m->rcpt[i])) == NULL)
			return -1;
	return 0;
}

/* set_timeouts - r->timeout per step, twice that for the final reply */
static int
set_timeouts(smtp_session_t s, unsigned timeout)
{
	static const int steps[] = { Timeout_GREETING, Timeout_ENVELOPE, Timeout_DATA,
	    Timeout_TRANSFER };
	long ms = (long)timeout * 1000;
	size_t i;

	for (i = 0; i < sizeof steps / sizeof *steps; i++)
		if (smtp_set_timeout(s, steps[i] | Timeout_OVERRIDE_RFC2822_MINIMUM, ms) == 0)
			return -1;
	if (smtp_set_timeout(s, Timeout_DATA2 | Timeout_OVERRIDE_RFC2822_MINIMUM, 2 * ms) == 0)
		return -1;
	return 0;
}

/* esmtp_reason - libESMTP's reason for the calling thread's last failure */
static void
esmtp_reason(char *buf, size_t size)
{
	int e = smtp_errno();

	if (e == 0)
		snprintf(buf, size, "no reason given");
	else if (smtp_strerror(e, buf, size) == NULL)
		snprintf(buf, size, "libESMTP error %d", e);
}

/* One SMTP session over a slice of the batch (one thread each) */
struct slice {
	const struct relay *r;
	struct job *jobs;
	size_t n;
	size_t added, sent, t4, t0, p5;
	int ok;			/* smtp_start_session said yes */
	int setup;		/* 0, or the session could not be made or set up */
	char reason[128];
};

static void *
session_run(void *arg)
{
	struct slice *sl = arg;
	const struct relay *r = sl->r;
	char server[RELAY_HOST_MAX + 8];
	smtp_session_t s;
	uint8_t *buf = mem_alloc(CHUNK);
	size_t i;

	snprintf(server, sizeof server, "%s:%u", r->host, r->port);
	if ((s = smtp_create_session()) == NULL) {
		sl->setup = 1;
		esmtp_reason(sl->reason, sizeof sl->reason);
		goto done;
	}
	if (!smtp_set_server(s, server) || !smtp_set_hostname(s, r->helo) ||
	    set_timeouts(s, r->timeout) != 0)
		goto setup_failed;
	/* The default; says so. Fails only in a libESMTP without TLS. */
	(void)smtp_starttls_enable(s, Starttls_DISABLED);
	for (i = 0; i < sl->n; i++) {
		if (sl->jobs[i].m->result != RELAY_TEMP)
			continue;	/* invalid, not sent */
		sl->jobs[i].buf = buf;
		if (session_add(s, &sl->jobs[i], r->helo) != 0)
			goto setup_failed;
		sl->added++;
	}
	if (sl->added == 0)
		goto done;
	sl->ok = smtp_start_session(s);
	if (!sl->ok)
		esmtp_reason(sl->reason, sizeof sl->reason);
	for (i = 0; i < sl->n; i++) {
		if (sl->jobs[i].msg == NULL)
			continue;
		verdict(&sl->jobs[i]);
		switch (sl->jobs[i].m->result) {
		case RELAY_SENT:
			sl->sent++;
			break;
		case RELAY_TEMP:
			if (code_class(sl->jobs[i].m->code) == 4)
				sl->t4++;
			else
				sl->t0++;
			break;
		case RELAY_PERM:
			sl->p5++;
			break;
		}
	}
	if (sl->ok && sl->t0 > 0)
		esmtp_reason(sl->reason, sizeof sl->reason);
	goto done;

setup_failed:
	/* Nothing is sent (no session was started); every result stays TEMP */
	sl->setup = 1;
	esmtp_reason(sl->reason, sizeof sl->reason);
	for (i = 0; i < sl->n; i++)
		sl->jobs[i].msg = NULL;
done:
	if (s != NULL)
		smtp_destroy_session(s);
	mem_free(buf);
	return NULL;
}

/*
 * smtp_batch - the batch in RELAY_SESSIONS_MAX sessions at most, run at
 * once (one thread each, the first in the caller's), each with at least
 * RELAY_SESSION_MIN messages: a session waits for the server's reply to
 * every message before it sends the next, so parallel sessions keep the
 * MTA's processes busy. SIGPIPE is ignored for the whole batch (it is a
 * process-wide setting) and restored after every thread is done.
 */
static void
smtp_batch(const struct relay *r, struct job *jobs, size_t n, const char *name,
    char *err, size_t errlen)
{
	struct slice sl[RELAY_SESSIONS_MAX];
	pthread_t tid[RELAY_SESSIONS_MAX];
	int started[RELAY_SESSIONS_MAX];
	struct sigaction ign, old;
	size_t valid = 0, nsess, i, k, at, take, seen;
	size_t added = 0, sent = 0, t4 = 0, t0 = 0, p5 = 0;
	const struct slice *why = NULL;

	memset(&ign, 0, sizeof ign);
	ign.sa_handler = SIG_IGN;
	sigemptyset(&ign.sa_mask);
	if (sigaction(SIGPIPE, &ign, &old) != 0)
		msg_panic("relay: sigaction: %s", strerror(errno));
	for (i = 0; i < n; i++)
		valid += jobs[i].m->result == RELAY_TEMP;
	nsess = valid / RELAY_SESSION_MIN;
	if (nsess < 1)
		nsess = 1;
	if (nsess > RELAY_SESSIONS_MAX)
		nsess = RELAY_SESSIONS_MAX;
	/* consecutive slices with (nearly) equal numbers of valid messages */
	memset(sl, 0, sizeof sl);
	for (k = 0, at = 0; k < nsess; k++) {
		take = valid / nsess + (k < valid % nsess);
		sl[k].r = r;
		sl[k].jobs = jobs + at;
		for (seen = 0; at < n && (seen < take || k == nsess - 1); at++)
			seen += jobs[at].m->result == RELAY_TEMP;
		sl[k].n = (size_t)(jobs + at - sl[k].jobs);
	}
	for (k = 1; k < nsess; k++)
		started[k] = pthread_create(&tid[k], NULL, session_run, &sl[k]) == 0;
	(void)session_run(&sl[0]);
	for (k = 1; k < nsess; k++) {
		if (started[k])
			(void)pthread_join(tid[k], NULL);
		else
			(void)session_run(&sl[k]);	/* no thread: in turn */
	}
	for (k = 0; k < nsess; k++) {
		added += sl[k].added;
		sent += sl[k].sent;
		t4 += sl[k].t4;
		t0 += sl[k].t0;
		p5 += sl[k].p5;
		if (why == NULL && (sl[k].setup || !sl[k].ok || sl[k].t0 > 0) &&
		    sl[k].reason[0] != '\0')
			why = &sl[k];
	}
	if (why != NULL && why->setup && sent == 0)
		snprintf(err, errlen, "%s: cannot set up the SMTP session: %s", name, why->reason);
	else if (sent < added || (why != NULL && why->setup)) {
		if (sent == 0 && why != NULL && !why->ok)
			snprintf(err, errlen, "%s: no session: %s", name, why->reason);
		else if (t0 > 0 || why != NULL)
			snprintf(err, errlen, "%s: %zu sent, %zu refused (5xx), "
			    "%zu deferred (4xx), %zu unanswered: %s", name, sent, p5, t4, t0,
			    why != NULL ? why->reason : "no reason given");
		else
			snprintf(err, errlen, "%s: %zu sent, %zu refused (5xx), %zu deferred (4xx)",
			    name, sent, p5, t4);
	}
	if (sigaction(SIGPIPE, &old, NULL) != 0)
		msg_panic("relay: sigaction: %s", strerror(errno));
}

/* ---- Maildir -------------------------------------------------------------- */

/* open_sub - dir/name as a directory, made (0700) if missing; -1 and errno */
static int
open_sub(int at, const char *name, int *made)
{
	int fd;

	fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0 || errno != ENOENT)
		return fd;
	if (mkdirat(at, name, 0700) != 0 && errno != EEXIST)
		return -1;
	*made = 1;
	return openat(at, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

/* open_maildir - DIR (made if missing), then tmp/, new/, cur/ */
static const char *
open_maildir(const char *path, int *dfd, int *tmpfd, int *newfd)
{
	char parent[RELAY_PATH_MAX + 1];
	const char *slash = strrchr(path, '/');
	int pfd, made = 0, curfd, e;

	*dfd = *tmpfd = *newfd = -1;
	if (slash == path) {
		memcpy(parent, "/", 2);
	} else {
		memcpy(parent, path, (size_t)(slash - path));
		parent[slash - path] = '\0';
	}
	if ((pfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return "open the maildir's parent";
	*dfd = open_sub(pfd, slash + 1, &made);
	e = errno;
	if (*dfd >= 0 && made && fsync(pfd) != 0) {
		e = errno;
		close(pfd);
		errno = e;
		return "fsync the maildir's parent";
	}
	close(pfd);
	errno = e;
	if (*dfd < 0)
		return "open the maildir";
	made = 0;
	if ((*tmpfd = open_sub(*dfd, "tmp", &made)) < 0)
		return "open tmp/";
	if ((*newfd = open_sub(*dfd, "new", &made)) < 0)
		return "open new/";
	if ((curfd = open_sub(*dfd, "cur", &made)) < 0)
		return "open cur/";
	close(curfd);
	if (made && fsync(*dfd) != 0)
		return "fsync the maildir";
	return NULL;
}

/*
 * maildir_one - m into tmp/NAME and then new/NAME; NULL, or the step that
 * failed (errno set). The tmp file is gone on every failure.
 */
static const char *
maildir_one(int tmpfd, int newfd, const struct relay_msg *m, uint8_t *buf)
{
	uint8_t rnd[NAME_RANDOM];
	char name[RELAY_NAME_LEN + 1];
	const char *step = NULL;
	size_t pos = 0, k;
	int fd = -1, tries, e;

	for (tries = 0; tries < NAME_TRIES && fd < 0; tries++) {
		mcrypto_random(NULL, rnd, sizeof rnd);
		mcrypto_hex(name, rnd, sizeof rnd);
		fd = openat(tmpfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		    0600);
		if (fd < 0 && errno != EEXIST)
			return "create in tmp/";
	}
	if (fd < 0)
		return "create in tmp/";
	while ((k = norm_fill(m->data, m->len, &pos, buf, CHUNK, "\n", 1)) > 0)
		if (fd_write_all(fd, buf, k) != 0) {
			step = "write";
			goto fail;
		}
	if (fsync(fd) != 0) {
		step = "fsync";
		goto fail;
	}
	e = close(fd);
	fd = -1;
	if (e != 0) {
		step = "close";
		goto fail;
	}
	if (renameat(tmpfd, name, newfd, name) != 0) {
		step = "rename into new/";
		goto fail;
	}
	return NULL;

fail:
	e = errno;
	if (fd >= 0)
		close(fd);
	(void)unlinkat(tmpfd, name, 0);
	errno = e;
	return step;
}

static void
maildir_batch(const struct relay *r, struct job *jobs, size_t n, const char *name,
    char *err, size_t errlen)
{
	const char *step, *first = NULL;
	uint8_t *buf = NULL;
	size_t i, done = 0, failed = 0;
	int dfd, tmpfd, newfd, first_errno = 0;

	if ((step = open_maildir(r->path, &dfd, &tmpfd, &newfd)) != NULL) {
		snprintf(err, errlen, "%s: %s: %s", name, step, strerror(errno));
		goto out;
	}
	buf = mem_alloc(CHUNK);
	for (i = 0; i < n; i++) {
		if (jobs[i].m->result != RELAY_TEMP)
			continue;	/* invalid */
		if ((step = maildir_one(tmpfd, newfd, jobs[i].m, buf)) != NULL) {
			if (first == NULL) {
				first = step;
				first_errno = errno;
			}
			failed++;
			continue;
		}
		jobs[i].m->result = RELAY_SENT;
		done++;
	}
	if (done > 0 && fsync(newfd) != 0) {
		snprintf(err, errlen, "%s: fsync new/: %s", name, strerror(errno));
		for (i = 0; i < n; i++)
			if (jobs[i].m->result == RELAY_SENT)
				jobs[i].m->result = RELAY_TEMP;
		goto out;
	}
	if (failed > 0)
		snprintf(err, errlen, "%s: %zu written, %zu failed: %s: %s", name, done, failed,
		    first, strerror(first_errno));
out:
	mem_free(buf);
	if (dfd >= 0)
		close(dfd);
	if (tmpfd >= 0)
		close(tmpfd);
	if (newfd >= 0)
		close(newfd);
}

/* ---- the batch ------------------------------------------------------------ */

size_t
relay_send(const struct relay *r, struct relay_msg *msgs, size_t n, char *err, size_t errlen)
{
	char name[RELAY_PATH_MAX + 16];
	struct job *jobs;
	size_t i, sent = 0, invalid = 0, used;

	if (errlen > 0)
		err[0] = '\0';
	if (r->kind != RELAY_SMTP && r->kind != RELAY_MAILDIR)
		msg_panic("relay_send: the relay was not parsed");
	if (n == 0)
		return 0;
	relay_describe(r, name, sizeof name);
	jobs = mem_calloc(n, sizeof *jobs);
	for (i = 0; i < n; i++) {
		jobs[i].m = &msgs[i];
		msgs[i].code = 0;
		if (msg_valid(&msgs[i])) {
			msgs[i].result = RELAY_TEMP;
		} else {
			msgs[i].result = RELAY_PERM;
			invalid++;
		}
	}
	if (invalid < n) {
		if (r->kind == RELAY_SMTP)
			smtp_batch(r, jobs, n, name, err, errlen);
		else
			maildir_batch(r, jobs, n, name, err, errlen);
	}
	for (i = 0; i < n; i++) {
		mem_free(jobs[i].rcpt);
		if (msgs[i].result == RELAY_SENT)
			sent++;
	}
	mem_free(jobs);
	if (invalid > 0 && errlen > 0) {
		used = strlen(err);
		if (used == 0)
			snprintf(err, errlen, "%s: %zu invalid, not sent", name, invalid);
		else
			snprintf(err + used, errlen - used, "; %zu invalid, not sent", invalid);
	}
	return sent;
}
