/*
 * message.h - the message a packet carries to its exit, and the mail the
 * exit makes of it.
 *
 * doc/message-format.md specifies the format byte by byte. In short: the
 * message (what doc/body-format.md calls "the message", whole or
 * reassembled from fragments) is an RFC 5322 message with LF line ends
 * whose header block holds only fields from the allowlist (To, Cc,
 * Subject, Reply-To, In-Reply-To, References, Keywords,
 * MIME-Version and the Content-* fields of RFC 2045/2183/3282), and
 * whose body is the body as sent, MIME structure and attachments
 * included. Nothing in it names the sender: no From, Date, Message-ID,
 * Received, X-Mailer, User-Agent.
 *
 * Three users, one code (GMime parses and writes every byte):
 *   - mixmail composes a message from arguments and a body
 *     (message_compose) or cleans a complete mail (message_from_mail:
 *     every header outside the allowlist is dropped, the MIME structure is
 *     kept), and reads its destinations (message_recipients) for chain
 *     selection and the exit's policy;
 *   - the exit re-checks everything (it cannot trust the sender) and
 *     builds the outgoing mail under its policy (message_exit_build): the
 *     allowlisted fields, its own From, Date and Message-ID, an abuse
 *     contact header, the body unchanged.
 *
 * No function logs; error texts name the rule that failed and never
 * contain an address, a header value or a message byte.
 *
 * Call g_mime_init() (mailpkt_init()) before any of these.
 *
 * Functions: message_compose(), message_from_mail(), message_recipients(),
 * message_exit_build(), exit_mail_free(), message_strerror(),
 * exit_verdict_name().
 */
#ifndef MIX_MESSAGE_H
#define MIX_MESSAGE_H

#include <stddef.h>
#include <stdint.h>

#include "mcrypto.h"		/* MIX_WUR */

#define MESSAGE_RCPT_MAX	100	/* most destinations a message may have */
#define MESSAGE_ERR_MAX		256

enum msg_err {
	MSG_OK = 0,
	MSG_ERR_PARSE,		/* not a parseable message */
	MSG_ERR_HEADER,		/* a header field is malformed, or forbidden where it must not be */
	MSG_ERR_ADDR,		/* a destination address is malformed */
	MSG_ERR_NORCPT,		/* no destination */
	MSG_ERR_RCPTS,		/* more than MESSAGE_RCPT_MAX destinations */
	MSG_ERR_SIZE,		/* larger than the limit given */
	MSG_ERR_NOMEM
};

/* What mixmail composes from its arguments (mail(1)-shaped) */
struct msg_compose {
	const char *const *to;		/* nto addresses */
	size_t nto;
	const char *const *cc;		/* ncc addresses */
	size_t ncc;
	const char *subject;		/* NULL: none; UTF-8 */
	const char *const *headers;	/* "Name: value", allowlisted names only */
	size_t nheaders;
	const uint8_t *body;		/* text/plain; charset utf-8 (or us-ascii) */
	size_t body_len;
};

/*
 * message_compose - the message for c into *out (malloc'ed, *len bytes).
 * A header of c->headers outside the allowlist, or one that could only
 * come from the program (To, Cc, Subject, MIME fields), is MSG_ERR_HEADER
 * with err naming the field name (not its value).
 */
enum msg_err message_compose(const struct msg_compose *c, uint8_t **out, size_t *len,
    char *err, size_t errlen) MIX_WUR;

/*
 * message_from_mail - the message for a complete RFC 5322 mail (mixmail
 * -m): the allowlisted header fields and the body with its MIME structure
 * as sent; every other field (From, Sender, Received, Bcc,
 * Message-ID, Date, X-*, ...) is dropped. *dropped receives how many
 * fields were dropped (mixmail reports the count). max is the largest
 * message accepted (MSG_ERR_SIZE beyond it).
 */
enum msg_err message_from_mail(const uint8_t *mail, size_t len, size_t max, uint8_t **out,
    size_t *outlen, size_t *dropped, char *err, size_t errlen) MIX_WUR;

/*
 * message_recipients - the destinations of a message (To and Cc, in that
 * order, duplicates removed, ASCII case of the domain ignored) as a
 * malloc'ed array of malloc'ed addr-spec strings ("user@domain", no
 * display name, no angle brackets); free with message_recipients_free.
 * Strict: the message must pass every check message_exit_build makes of
 * its form (not of a policy).
 */
enum msg_err message_recipients(const uint8_t *msg, size_t len, char ***rcpt, size_t *n,
    char *err, size_t errlen) MIX_WUR;
void message_recipients_free(char **rcpt, size_t n);

/* The exit's policy (mixnode.conf(5), exit_*) and identity */
struct exit_policy {
	const char *from;		/* From: header, e.g. "Anonymous <nobody@example.org>" */
	const char *abuse;		/* the abuse contact (an address or a URL), for a header */
	const char *msgid_domain;	/* Message-ID: <32 random hex digits @ this> */
	const char *const *block;	/* destination blocklist patterns (doc) */
	size_t nblock;
	const char *const *header_block;	/* header filter patterns (doc) */
	size_t nheader_block;
	size_t max_size;		/* largest message delivered (bytes of the message) */
	unsigned max_rcpt;		/* most destinations, 1..MESSAGE_RCPT_MAX */
	int64_t now;			/* for Date: */
};

/* Verdicts; the order is the order of the checks */
enum exit_verdict {
	EXIT_OK = 0,
	EXIT_BAD_MESSAGE,	/* not a valid message (format, header, address) */
	EXIT_REFUSE_SIZE,	/* larger than max_size */
	EXIT_REFUSE_RCPTS,	/* more than max_rcpt destinations */
	EXIT_REFUSE_BLOCKED,	/* a destination matches the blocklist */
	EXIT_REFUSE_HEADER,	/* a header matches the header filter */
	EXIT_NOMEM
};

/* The mail an exit hands to its relay */
struct exit_mail {
	char **rcpt;		/* envelope recipients (addr-spec), malloc'ed */
	size_t nrcpt;
	uint8_t *data;		/* the whole mail, LF line ends, malloc'ed */
	size_t len;
};

/*
 * message_exit_build - check msg against p and, for EXIT_OK, build the
 * outgoing mail into *out (free with exit_mail_free). On any other verdict
 * *out is empty.
 */
enum exit_verdict message_exit_build(const uint8_t *msg, size_t len,
    const struct exit_policy *p, struct exit_mail *out) MIX_WUR;
void exit_mail_free(struct exit_mail *m);

const char *message_strerror(enum msg_err e);

/* exit_verdict_name - "ok", "bad_message", "refuse_size", ... (for counters) */
const char *exit_verdict_name(enum exit_verdict v);

#endif
