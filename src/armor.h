/*
 * armor.h - how a packet travels in the body of an e-mail.
 *
 *   -----BEGIN MIXMAIL PACKET-----
 *   Packet-Type: mixmail-1
 *   <empty line>
 *   <base64 of PKT_SIZE bytes, 64 characters a line>
 *   -----END MIXMAIL PACKET-----
 *
 * The decoder is tolerant of what mail transport does to text: CR LF or LF
 * line ends, trailing white space, leading white space on base64 lines,
 * text before and after the armor. (Quoted-printable or base64 transfer
 * encodings of the whole body are undone by mailpkt.c before the text gets
 * here.) doc/packet-format.md section 9 is the specification.
 *
 * Functions: armor_encode(), armor_decode(), armor_strerror().
 */
#ifndef MIX_ARMOR_H
#define MIX_ARMOR_H

#include <stddef.h>
#include <stdint.h>

#include "pkt.h"

#define ARMOR_BEGIN	"-----BEGIN MIXMAIL PACKET-----"
#define ARMOR_END	"-----END MIXMAIL PACKET-----"
#define ARMOR_TYPE_KEY	"Packet-Type"
#define ARMOR_TYPE	"mixmail-1"
#define ARMOR_COLUMNS	64
/* Base64 characters of one packet (with padding): 27308 */
#define ARMOR_B64_LEN	((PKT_SIZE + 2) / 3 * 4)
/*
 * Bytes armor_encode() writes for one packet, including the final NUL
 * (27820). Each sizeof counts its string plus one byte for the line end;
 * the key adds ": ", the empty line one LF, every base64 line one LF.
 */
#define ARMOR_SIZE	(sizeof ARMOR_BEGIN + (sizeof ARMOR_TYPE_KEY - 1) + 2 + sizeof ARMOR_TYPE \
	+ 1 + ARMOR_B64_LEN + (ARMOR_B64_LEN + ARMOR_COLUMNS - 1) / ARMOR_COLUMNS \
	+ sizeof ARMOR_END + 1)

enum armor_err {
	ARMOR_OK = 0,
	ARMOR_ERR_NONE,		/* no BEGIN line in the text */
	ARMOR_ERR_TRUNCATED,	/* BEGIN without END */
	ARMOR_ERR_TYPE,		/* missing or unknown Packet-Type */
	ARMOR_ERR_BASE64,	/* invalid base64 */
	ARMOR_ERR_LENGTH	/* decodes to other than PKT_SIZE bytes */
};

/*
 * armor_encode - LF line ends; returns the length written (without NUL),
 * which is always ARMOR_SIZE - 1, or 0 if out_size < ARMOR_SIZE.
 */
size_t armor_encode(char *out, size_t out_size, const uint8_t pkt[PKT_SIZE]);

/*
 * armor_decode - find the first armor in text[0..len) and decode it into
 * pkt. *end (if not NULL) is set to the offset just past the armor's END
 * line, or past the BEGIN line when the armor is bad, so that a caller can
 * look for another armor after it; with ARMOR_ERR_NONE it is len. pkt is
 * written only on ARMOR_OK. Never reads past len; text need not be NUL
 * terminated. Memory use is bounded (one buffer of about 48 KiB while an
 * armor is decoded), whatever len is.
 */
enum armor_err armor_decode(const char *text, size_t len, uint8_t pkt[PKT_SIZE], size_t *end);

/*
 * armor_search - the first armor in text[0..len) that decodes: after a bad
 * armor the search goes on behind its BEGIN line. ARMOR_OK (pkt written),
 * ARMOR_ERR_NONE when there is no BEGIN line at all, else the error of the
 * last bad armor. Bounded like armor_decode; linear in len.
 */
enum armor_err armor_search(const char *text, size_t len, uint8_t pkt[PKT_SIZE]);

const char *armor_strerror(enum armor_err err);

#endif
