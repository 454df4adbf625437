/*
 * pktmail.h - the mail around a packet, one shape for every sender.
 *
 * Whoever mails a packet to a node (mixmail to the first hop, a node to
 * the next hop, a dummy, a middleman's re-wrap) writes exactly this, with
 * LF line ends (doc/packet-format.md, section 9.3):
 *
 *   From: FROM
 *   To: TO
 *   Date: Sat, 21 Nov 2026 17:00:00 +0000      always UTC
 *   Message-ID: <32 random hex digits@DOMAIN-OF-FROM>
 *   MIME-Version: 1.0
 *   Content-Type: text/plain; charset=us-ascii
 *   Content-Transfer-Encoding: 7bit
 *   <empty line>
 *   the armor (armor.h)
 *
 * No Subject, no X-Mailer, no User-Agent, nothing about the host or the
 * process: on the wire a sender's first-hop mail, a forwarded packet and
 * a dummy look alike.
 *
 * Functions: pktmail_build(), pktmail_date().
 */
#ifndef MIX_PKTMAIL_H
#define MIX_PKTMAIL_H

#include <stddef.h>
#include <stdint.h>

#include "pkt.h"

#define PKTMAIL_DATE_MAX	40	/* "Sat, 21 Nov 2026 17:00:00 +0000" and NUL */
#define PKTMAIL_ADDR_MAX	254	/* longest From or To accepted */
#define PKTMAIL_DOMAIN_NONE	"localhost.invalid"	/* Message-ID domain of an address without one */

/*
 * pktmail_date - t as an RFC 5322 date in UTC with C-locale names; a time
 * gmtime cannot show is written as the epoch.
 */
void pktmail_date(int64_t t, char buf[PKTMAIL_DATE_MAX]);

/*
 * pktmail_build - the mail carrying pkt from `from` to `to`, dated now,
 * in a buffer from mem_alloc (*mail, *len bytes, NUL-terminated). -1 if
 * from or to is empty, longer than PKTMAIL_ADDR_MAX or holds a control
 * character (a header could be injected); 0 otherwise.
 */
int pktmail_build(const char *from, const char *to, int64_t now, const uint8_t pkt[PKT_SIZE],
    char **mail, size_t *len);

#endif
