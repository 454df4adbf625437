/*
 * mailpkt.h - find the armored packet in a whole e-mail message.
 *
 * The mail is parsed with GMime. Every leaf part (also inside multipart
 * and message/rfc822 parts) is decoded from its transfer encoding
 * (quoted-printable, base64) and searched for an armor; the first armor
 * that decodes to a packet wins. Depth, part count and decoded size are
 * bounded so that no mail can make this use unbounded time or memory. If
 * the walk finds nothing and hits no bound, the raw bytes are searched as
 * a last resort (a bare armor with no header block, an armor in a
 * multipart preamble).
 *
 * Functions: mailpkt_init(), mailpkt_extract(), mailpkt_strerror().
 */
#ifndef MIX_MAILPKT_H
#define MIX_MAILPKT_H

#include <stddef.h>
#include <stdint.h>

#include "pkt.h"

/*
 * A leaf inside up to MAILPKT_MAX_DEPTH containers (multipart or
 * message/rfc822) is searched, deeper ones are not; the first
 * MAILPKT_MAX_PARTS leaves are searched; a leaf that decodes to more than
 * MAILPKT_MAX_DECODED bytes is skipped. Each sets MAILPKT_ERR_LIMIT if no
 * packet is found.
 */
#define MAILPKT_MAX_DEPTH	8		/* nesting of multiparts */
#define MAILPKT_MAX_PARTS	64		/* leaf parts searched */
#define MAILPKT_MAX_DECODED	(1024 * 1024)	/* decoded bytes per part */
#define MAILPKT_MAX_MAIL	(10 * 1024 * 1024)	/* whole mail; larger: LIMIT unparsed */

enum mailpkt_err {
	MAILPKT_OK = 0,
	MAILPKT_ERR_PARSE,	/* not parseable as a mail message */
	MAILPKT_ERR_NONE,	/* no armor anywhere */
	MAILPKT_ERR_ARMOR,	/* an armor was found but none decoded */
	MAILPKT_ERR_LIMIT	/* a bound was hit before an armor was found */
};

/* mailpkt_init - call once before mailpkt_extract (initialises GMime) */
void mailpkt_init(void);

/*
 * mailpkt_extract - the first valid packet in mail[0..len); pkt is written
 * only on MAILPKT_OK. MAILPKT_ERR_PARSE also for len 0.
 */
enum mailpkt_err mailpkt_extract(const uint8_t *mail, size_t len, uint8_t pkt[PKT_SIZE]);

const char *mailpkt_strerror(enum mailpkt_err err);

#endif
