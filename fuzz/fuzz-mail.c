/*
 * fuzz-mail.c - libFuzzer harness for the parsers of whole mails and
 * messages, all GMime based:
 *
 *   mailpkt_extract (src/mailpkt.c)      what mixnode-mime does with the
 *                                        mail an MTA hands the receive
 *                                        hook: find the armored packet;
 *   message_exit_build (src/message.c)   the exit's parse of a delivered
 *                                        message under its policy;
 *   message_recipients (src/message.c)   the destinations of a message
 *                                        (the exit, mixmail);
 *   message_from_mail (src/message.c)    mixmail -m: a complete mail
 *                                        cleaned to a message.
 *
 * Every input, copied to a buffer of exactly its size (so that
 * AddressSanitizer sees any read past len), goes through all four. The
 * harness aborts (msg_panic) if
 *   - mailpkt_extract writes the packet buffer without finding a packet,
 *     or returns a code mailpkt_strerror has no text for;
 *   - message_recipients accepts a message with no destination, more than
 *     MESSAGE_RCPT_MAX, or one that is not a bare addr-spec of printable
 *     ASCII with one '@';
 *   - message_exit_build, under a policy that refuses nothing, and
 *     message_recipients disagree on whether the message is valid or on
 *     its destinations; or an accepted mail's header holds a field that
 *     names a path or a sender (Received, Return-Path, Sender, X-...), a
 *     byte outside printable ASCII, or does not start with the exit's
 *     From;
 *   - message_from_mail accepts a mail whose cleaned message the exit
 *     would refuse, or whose cleaned message, cleaned again, drops a
 *     field or changes its destinations or body.
 *
 * Seeds live in fuzz/corpus/mail/: the golden mails of tests/mail/, mails
 * with packets in every envelope tests/mkpacket makes (plain, CRLF,
 * base64, quoted-printable, nested), and messages as doc/message-format.md
 * describes them. "make fuzz-smoke" runs this harness briefly over a copy.
 */
#include <config.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "mailpkt.h"
#include "mcrypto.h"
#include "mem.h"
#include "message.h"
#include "pkt.h"

#define FILL	0xa5	/* the packet buffer before a call */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char from[] = "Anonymous <nobody@exit.test>";

static void
init_once(void)
{
	static int done;

	if (done)
		return;
	if (mcrypto_init() != 0)
		msg_panic("fuzz-mail: mcrypto_init failed");
	mailpkt_init();
	done = 1;
}

/* fuzz_extract - the receive side */
static void
fuzz_extract(const uint8_t *mail, size_t len)
{
	static uint8_t pkt[PKT_SIZE];
	enum mailpkt_err e;
	size_t i;

	memset(pkt, FILL, sizeof pkt);
	e = mailpkt_extract(mail, len, pkt);
	if (mailpkt_strerror(e) == NULL)
		msg_panic("fuzz-mail: no text for mailpkt error %d", (int)e);
	if (e == MAILPKT_OK)
		return;
	for (i = 0; i < sizeof pkt; i++)
		if (pkt[i] != FILL)
			msg_panic("fuzz-mail: packet written on %s", mailpkt_strerror(e));
}

/* addr_spec - a bare user@domain of printable ASCII */
static int
addr_spec(const char *a)
{
	const char *at = strchr(a, '@');
	size_t i;

	if (at == NULL || at == a || at[1] == '\0' || strchr(at + 1, '@') != NULL)
		return 0;
	for (i = 0; a[i] != '\0'; i++)
		if ((unsigned char)a[i] <= 0x20 || (unsigned char)a[i] > 0x7e ||
		    a[i] == '<' || a[i] == '>')
			return 0;
	return 1;
}

/* header_ok - an exit mail's header: printable, ours first, nothing naming a path */
static int
header_ok(const uint8_t *m, size_t len)
{
	static const char *const bad[] = { "received:", "return-path:", "sender:", "x-",
	    "resent-", "bcc:", "delivered-to:", "user-agent:" };
	size_t off = 0, i, n;
	const uint8_t *nl;

	if (len < sizeof "From: " - 1 + strlen(from) ||
	    memcmp(m, "From: ", 6) != 0 || memcmp(m + 6, from, strlen(from)) != 0)
		return 0;
	while (off < len) {
		if ((nl = memchr(m + off, '\n', len - off)) == NULL)
			return 0;	/* the header ends with an empty line */
		n = (size_t)(nl - (m + off));
		if (n == 0)
			return 1;
		for (i = 0; i < n; i++)
			if (m[off + i] != '\t' && (m[off + i] < 0x20 || m[off + i] > 0x7e))
				return 0;
		for (i = 0; i < sizeof bad / sizeof *bad; i++)
			if (n >= strlen(bad[i]) &&
			    strncasecmp((const char *)m + off, bad[i], strlen(bad[i])) == 0)
				return 0;
		off += n + 1;
	}
	return 0;
}

/* fuzz_message - the exit's view, checked against message_recipients */
static enum exit_verdict
fuzz_message(const uint8_t *msg, size_t len)
{
	struct exit_policy p;
	struct exit_mail out;
	char **rcpt = NULL, err[MESSAGE_ERR_MAX];
	size_t n = 0, i;
	enum msg_err e;
	enum exit_verdict v;

	e = message_recipients(msg, len, &rcpt, &n, err, sizeof err);
	if (message_strerror(e) == NULL)
		msg_panic("fuzz-mail: no text for message error %d", (int)e);
	if (e == MSG_OK) {
		if (n == 0 || n > MESSAGE_RCPT_MAX)
			msg_panic("fuzz-mail: %zu destinations accepted", n);
		for (i = 0; i < n; i++)
			if (!addr_spec(rcpt[i]))
				msg_panic("fuzz-mail: destination %zu is not an addr-spec", i);
	}

	memset(&p, 0, sizeof p);
	p.from = from;
	p.abuse = "abuse@exit.test";
	p.msgid_domain = "exit.test";
	p.max_size = (size_t)-1;
	p.max_rcpt = MESSAGE_RCPT_MAX;
	p.now = 1700000000;
	v = message_exit_build(msg, len, &p, &out);
	if (exit_verdict_name(v) == NULL)
		msg_panic("fuzz-mail: no name for verdict %d", (int)v);
	if ((v == EXIT_OK) != (e == MSG_OK))
		msg_panic("fuzz-mail: exit says %s, recipients say %s", exit_verdict_name(v),
		    message_strerror(e));
	if (v == EXIT_OK) {
		if (out.nrcpt != n)
			msg_panic("fuzz-mail: exit has %zu destinations, recipients %zu",
			    out.nrcpt, n);
		for (i = 0; i < n; i++)
			if (strcmp(out.rcpt[i], rcpt[i]) != 0)
				msg_panic("fuzz-mail: destination %zu differs", i);
		if (!header_ok(out.data, out.len))
			msg_panic("fuzz-mail: the exit's header is not clean");
		exit_mail_free(&out);
	} else if (out.data != NULL || out.rcpt != NULL || out.nrcpt != 0 || out.len != 0) {
		msg_panic("fuzz-mail: output left on %s", exit_verdict_name(v));
	}
	if (e == MSG_OK)
		message_recipients_free(rcpt, n);
	return v;
}

/* body_of - the offset of the body: after the first empty line */
static size_t
body_of(const uint8_t *m, size_t len)
{
	size_t i;

	for (i = 0; i + 1 < len; i++)
		if (m[i] == '\n' && m[i + 1] == '\n')
			return i + 2;
	return len;
}

/*
 * same_meaning - two cleanings of one message: the same destinations and
 * the same body. (Not the same bytes: GMime may spell a display name as an
 * encoded word the first time and as a quoted string the second; seed
 * regress-display-name-specials.)
 */
static void
same_meaning(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	char **ra, **rb, err[MESSAGE_ERR_MAX];
	size_t na, nb, i, ba = body_of(a, alen), bb = body_of(b, blen);

	if (message_recipients(a, alen, &ra, &na, err, sizeof err) != MSG_OK ||
	    message_recipients(b, blen, &rb, &nb, err, sizeof err) != MSG_OK)
		msg_panic("fuzz-mail: a cleaned message without valid destinations");
	if (na != nb)
		msg_panic("fuzz-mail: cleaning again changes the destinations");
	for (i = 0; i < na; i++)
		if (strcmp(ra[i], rb[i]) != 0)
			msg_panic("fuzz-mail: cleaning again changes destination %zu", i);
	if (alen - ba != blen - bb || memcmp(a + ba, b + bb, alen - ba) != 0)
		msg_panic("fuzz-mail: cleaning again changes the body");
	message_recipients_free(ra, na);
	message_recipients_free(rb, nb);
}

/* fuzz_from_mail - mixmail -m: cleaned twice, the same message */
static void
fuzz_from_mail(const uint8_t *mail, size_t len)
{
	uint8_t *out = NULL, *again = NULL;
	size_t outlen = 0, againlen = 0, dropped = 0;
	char err[MESSAGE_ERR_MAX];

	if (message_from_mail(mail, len, (size_t)-1, &out, &outlen, &dropped, err,
	    sizeof err) != MSG_OK)
		return;
	if (fuzz_message(out, outlen) != EXIT_OK)
		msg_panic("fuzz-mail: a cleaned message the exit refuses");
	dropped = 0;
	if (message_from_mail(out, outlen, (size_t)-1, &again, &againlen, &dropped, err,
	    sizeof err) != MSG_OK)
		msg_panic("fuzz-mail: a cleaned message does not clean again: %s", err);
	if (dropped != 0)
		msg_panic("fuzz-mail: cleaning a cleaned message drops a field");
	same_meaning(out, outlen, again, againlen);
	mem_free(again);
	mem_free(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy;

	init_once();
	if (size > MAILPKT_MAX_MAIL)
		return 0;
	/* malloc(0) may return NULL; one spare byte keeps the pointer valid. */
	if ((copy = malloc(size ? size : 1)) == NULL)
		msg_panic("fuzz-mail: out of memory");
	if (size > 0)
		memcpy(copy, data, size);
	fuzz_extract(copy, size);
	(void)fuzz_message(copy, size);
	fuzz_from_mail(copy, size);
	free(copy);
	return 0;
}
