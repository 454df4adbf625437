/*
 * relay.h - the node's outbound hand-off: a batch of mails to the local
 * MTA over SMTP (libESMTP), or into a Maildir.
 *
 * The relay is named by one setting (doc/mixnode.conf.5, "relay"):
 *
 *   smtp://HOST:PORT	HOST a DNS name or a dotted IPv4 address; PORT is
 *			required (1-65535): libESMTP would otherwise pick
 *			587, and a node should say where its mail goes.
 *			IPv6 literals are refused: libESMTP cannot connect
 *			to one (it splits host and port at the first ':');
 *			use a name that resolves to the address.
 *   maildir:/PATH	an absolute path; DIR, DIR/tmp, DIR/new and
 *			DIR/cur are made (0700) when missing.
 *
 * relay_send() hands over a whole batch and reports, per message, what
 * happened, so that the flusher can delete the entry (RELAY_SENT), keep it
 * for a later round (RELAY_TEMP) or move it to failed/ (RELAY_PERM):
 * doc/INTERNALS.md, states F4, F6 and F7.
 *
 * SMTP: one connection for a batch of fewer than 128 messages; a larger
 * batch is cut into up to 6 consecutive slices of at least 64 messages,
 * each sent over a connection of its own, all at once (one thread each):
 * a session waits for the reply to each message before the next, so
 * parallel sessions keep the MTA busy (doc/PERFORMANCE.md section 6).
 * Each message is one MAIL transaction. The verdict of a message, in this order:
 *   - MAIL FROM not answered (no connection, a drop, a timeout, libESMTP
 *     status 0) or answered 4xx: TEMP; answered 5xx: PERM;
 *   - any recipient not answered or answered 4xx: TEMP (the whole message
 *     is retried later, so a recipient that said 2xx may get it twice;
 *     mixnode's mails have exactly one recipient);
 *   - every recipient answered 5xx: PERM;
 *   - the message (after the final dot or the last BDAT) not answered or
 *     answered 4xx: TEMP; 5xx: PERM;
 *   - answered 2xx: SENT if every recipient said 2xx; PERM if some said
 *     5xx (the others have it: no retry, kept for the operator).
 * So SENT means: every recipient 2xx and the message 2xx.
 *
 * Maildir: each message is written to DIR/tmp/NAME (0600), fsync'd and
 * renamed to DIR/new/NAME; DIR/new is fsync'd once after the batch, before
 * relay_send() returns. NAME is 32 hex digits from the OS CSPRNG (no host,
 * pid or time). Any failure is TEMP and leaves nothing in new/ (the tmp
 * file is removed); a failed fsync of new/ makes every message of the
 * batch that was renamed TEMP (the file may stay: a duplicate, never a
 * loss). Maildir never answers PERM except for a message that is invalid.
 *
 * Messages: the whole RFC 5322 message (header block, empty line, body),
 * in memory with LF line ends. A line end is LF, CR LF, or a CR alone;
 * each is sent as CR LF over SMTP (libESMTP needs CR LF) and written as LF
 * to a Maildir. A message that does not end in a line end gets one. NUL
 * and 8-bit bytes are passed unchanged (no BODY=8BITMIME is declared).
 * libESMTP edits the header block: it drops Return-Path: and
 * Original-Recipient:, keeps only the first of a repeated Date:, From:,
 * Sender:, To:, Cc:, Bcc:, Reply-To: or Message-Id:, and adds Date: (now)
 * and From: (the envelope sender) when they are missing. It would add a
 * Message-Id made of the time, the pid and the EHLO name: relay_send()
 * gives it a random one (32 hex digits "@" the EHLO name) instead, used
 * only when the message has none. Callers should write their own Date:,
 * From: and Message-ID:.
 *
 * An invalid message (no recipient, an empty message, an envelope address
 * that is empty, too long, or holds a space, a control or 8-bit byte, '<',
 * '>', '"', '(', ')', ',', ';' or '\\', or has no '@' inside) is never
 * sent: RELAY_PERM with code 0. The envelope sender may be "" (MAIL
 * FROM:<>); mixnode passes its own address.
 *
 * SMTP details: EHLO with a neutral name (RELAY_HELO_DEFAULT unless
 * relay_set_helo()), which reveals neither host nor time. No STARTTLS,
 * even if offered: the relay is the local MTA on loopback. No AUTH, no
 * DSN parameters. Each protocol step has a bound of r->timeout seconds
 * (default RELAY_TIMEOUT_DEFAULT, 60: the greeting, each envelope reply,
 * the wait for 354, each read or write while the message is transferred)
 * and twice that (120 s) for the reply after the message; libESMTP cannot
 * bound connect() itself, which the kernel ends (at once on loopback).
 * SIGPIPE is ignored during the session and restored afterwards.
 *
 * Random names and Message-Ids come from mcrypto_random(): call
 * mcrypto_init() first.
 *
 * Privacy: nothing here logs. The error text relay_send() writes names
 * the relay (relay_describe()), counts, the class of the SMTP replies and
 * the library's or the system's reason; never an address, a header, a
 * message byte, a server reply's text or a file name.
 *
 * Functions: relay_parse(), relay_set_helo(), relay_send(),
 * relay_result_name(), relay_describe().
 */
#ifndef MIX_RELAY_H
#define MIX_RELAY_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "mcrypto.h"		/* MIX_WUR */

#define RELAY_HOST_MAX		253	/* a DNS name */
#define RELAY_HELO_MAX		253
#define RELAY_HELO_DEFAULT	"localhost"
#define RELAY_ADDR_MAX		254	/* an envelope address (RFC 5321 path - 2) */
#define RELAY_PATH_MAX		(PATH_MAX - 64)	/* room for "/new/" + NAME */
#define RELAY_TIMEOUT_DEFAULT	60	/* seconds per SMTP step */
#define RELAY_TIMEOUT_MIN	1	/* libESMTP's floor */
#define RELAY_TIMEOUT_MAX	3600
#define RELAY_NAME_LEN		32	/* hex digits of a Maildir file name */

enum relay_kind {
	RELAY_SMTP = 1,
	RELAY_MAILDIR = 2
};

struct relay {
	enum relay_kind kind;
	char host[RELAY_HOST_MAX + 1];	/* SMTP */
	unsigned port;			/* SMTP, 1..65535 */
	char path[RELAY_PATH_MAX + 1];	/* Maildir, no trailing '/' */
	char helo[RELAY_HELO_MAX + 1];	/* EHLO name */
	unsigned timeout;		/* seconds, RELAY_TIMEOUT_MIN..MAX */
};

enum relay_result {
	RELAY_SENT = 0,		/* the relay has it: delete the entry */
	RELAY_TEMP,		/* keep it and try again later */
	RELAY_PERM		/* refused for good: move it to failed/ */
};

struct relay_msg {
	/* in */
	const char *sender;		/* envelope sender; "" for <> */
	const char *const *rcpt;	/* nrcpt envelope recipients */
	size_t nrcpt;
	const uint8_t *data;		/* the message, LF line ends */
	size_t len;
	/* out, set by relay_send() */
	enum relay_result result;
	int code;			/* the SMTP reply that decided, 0: none */
};

/*
 * relay_parse - read spec into *r (helo and timeout get their defaults).
 * 0 on success; -1 with a reason in err (never the spec itself).
 */
int relay_parse(const char *spec, struct relay *r, char *err, size_t errlen) MIX_WUR;

/* relay_set_helo - the EHLO name: letters, digits, '.', '-'; 0 or -1 */
int relay_set_helo(struct relay *r, const char *name, char *err, size_t errlen) MIX_WUR;

/*
 * relay_send - hand msgs[0..n) to the relay as one batch (one SMTP
 * session, or one Maildir pass) and set each message's result and code.
 * Returns how many are RELAY_SENT. When any message is not SENT, err gets
 * one line for the operator (see Privacy above); otherwise err is "".
 */
size_t relay_send(const struct relay *r, struct relay_msg *msgs, size_t n,
    char *err, size_t errlen);

/* relay_result_name - "SENT", "TEMP" or "PERM" */
const char *relay_result_name(enum relay_result res);

/* relay_describe - "smtp://HOST:PORT" or "maildir:PATH" (for logs) */
void relay_describe(const struct relay *r, char *buf, size_t size);

#endif
