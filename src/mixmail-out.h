/*
 * mixmail-out.h - the first-hop mails of mixmail and their hand-off: to
 * the relay (src/relay.h: the local MTA over SMTP, or a Maildir), or, with
 * --dump DIR, as one file per mail.
 *
 * A first-hop mail has the one shape of every mail that carries a packet
 * (src/pktmail.h, doc/packet-format.md section 9.3): From is the `from`
 * setting (default nobody@localhost.invalid), never the user; no Subject,
 * no X-Mailer or User-Agent. A first hop cannot tell a sender's mail from
 * a node's by its form; it sees the sender's MTA anyway, and nothing in
 * the mail adds to that.
 *
 * --dump DIR: each mail becomes DIR/NAME.eml, NAME 32 random hex digits
 * (no order, time or count in the names), mode 0600: written to
 * DIR/.tmp-NAME (O_CREAT|O_EXCL, no symbolic link followed), fsync'd,
 * renamed; DIR is fsync'd once after the last rename. A mail counts as
 * handed over only after that.
 *
 * Functions: mmout_mail(), mmout_relay(), mmout_dump(), mmout_free().
 */
#ifndef MIX_MIXMAIL_OUT_H
#define MIX_MIXMAIL_OUT_H

#include <stddef.h>
#include <stdint.h>

#include "pkt.h"
#include "relay.h"

#define MMOUT_SUFFIX		".eml"
#define MMOUT_TMP_PREFIX	".tmp-"
#define MMOUT_WHY_MAX		96

/* One first-hop mail */
struct mm_mail {
	char *data;		/* the whole mail, LF line ends (mem_alloc'ed) */
	size_t len;
	const char *to;		/* the first hop's address */
	const char *hop;	/* the first hop's node name (for messages) */
	int sent;		/* 1: handed over */
	char why[MMOUT_WHY_MAX];	/* when not: the reason */
};

/* mmout_mail - fill m with the first-hop mail carrying pkt to `to` */
void mmout_mail(struct mm_mail *m, const char *from, const char *to, const char *hop,
    int64_t now, const uint8_t pkt[PKT_SIZE]);

/*
 * mmout_relay - hand mails[0..n) to r in one batch, envelope sender from;
 * sets each mail's sent and why. Returns how many were handed over; err
 * gets relay_send's line when any was not.
 */
size_t mmout_relay(const struct relay *r, const char *from, struct mm_mail *mails, size_t n,
    char *err, size_t errlen);

/* mmout_dump - write mails[0..n) into dir (above); like mmout_relay */
size_t mmout_dump(const char *dir, struct mm_mail *mails, size_t n, char *err,
    size_t errlen);

void mmout_free(struct mm_mail *mails, size_t n);

#endif
