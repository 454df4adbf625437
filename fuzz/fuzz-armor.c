/*
 * fuzz-armor.c - libFuzzer harness for armor_decode() (src/armor.c) and
 * mailpkt_extract() (src/mailpkt.c).
 *
 * The input, copied to a buffer of exactly its size (so that
 * AddressSanitizer sees any read past len), is
 *
 *   - searched with armor_decode from offset 0 and again from every end it
 *     returns, as mailpkt.c does, until no armor is left;
 *   - given whole to mailpkt_extract as a mail.
 *
 * The harness aborts (msg_panic) if
 *   - armor_decode returns an end past the text, or fails to move on after
 *     a bad armor (the caller would loop for ever);
 *   - a decoded packet does not survive armor_encode and armor_decode
 *     unchanged, or armor_encode writes other than ARMOR_SIZE - 1 bytes;
 *   - pkt is written although armor_decode or mailpkt_extract failed.
 *
 * Seeds live in fuzz/corpus/armor/ (written by tests/armor-gen.c): a
 * canonical armor, a short one with CR LF, and three small mails (plain,
 * base64 attachment, quoted-printable inside message/rfc822). "make
 * fuzz-smoke" runs this harness briefly over a copy.
 */
#include <config.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "armor.h"
#include "log.h"
#include "mailpkt.h"
#include "mcrypto.h"
#include "pkt.h"

#define FILL	0xa5	/* pkt before a call; must stay on failure */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t pkt[PKT_SIZE], again[PKT_SIZE];
static char enc[ARMOR_SIZE];

static void
init_once(void)
{
	static int done;

	if (done)
		return;
	if (mcrypto_init() != 0)
		msg_panic("fuzz-armor: mcrypto_init failed");
	mailpkt_init();
	done = 1;
}

static int
untouched(void)
{
	size_t i;

	for (i = 0; i < PKT_SIZE; i++)
		if (pkt[i] != FILL)
			return 0;
	return 1;
}

/* roundtrip - pkt must come back unchanged through encode and decode */
static void
roundtrip(void)
{
	size_t n, end;

	n = armor_encode(enc, sizeof enc, pkt);
	if (n != ARMOR_SIZE - 1)
		msg_panic("fuzz-armor: armor_encode wrote %zu bytes", n);
	if (armor_decode(enc, n, again, &end) != ARMOR_OK || end != n ||
	    memcmp(again, pkt, PKT_SIZE) != 0)
		msg_panic("fuzz-armor: packet does not survive re-armoring");
}

static void
fuzz_armor(const char *text, size_t len)
{
	size_t off = 0, end;
	enum armor_err err;

	for (;;) {
		memset(pkt, FILL, sizeof pkt);
		end = (size_t)-1;
		err = armor_decode(text + off, len - off, pkt, &end);
		if (end > len - off)
			msg_panic("fuzz-armor: end %zu past the %zu bytes left", end, len - off);
		if (err == ARMOR_OK)
			roundtrip();
		else if (!untouched())
			msg_panic("fuzz-armor: pkt written on %s", armor_strerror(err));
		if (err == ARMOR_ERR_NONE)
			break;
		if (end == 0)
			msg_panic("fuzz-armor: no progress after %s", armor_strerror(err));
		off += end;
	}
}

static void
fuzz_mail(const uint8_t *mail, size_t len)
{
	enum mailpkt_err err;

	memset(pkt, FILL, sizeof pkt);
	err = mailpkt_extract(mail, len, pkt);
	if (err == MAILPKT_OK)
		roundtrip();
	else if (!untouched())
		msg_panic("fuzz-armor: pkt written on %s", mailpkt_strerror(err));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy;

	init_once();
	/* malloc(0) may return NULL; one spare byte keeps the pointer valid. */
	if ((copy = malloc(size ? size : 1)) == NULL)
		msg_panic("fuzz-armor: out of memory");
	if (size > 0)
		memcpy(copy, data, size);
	fuzz_armor((const char *)copy, size);
	fuzz_mail(copy, size);
	free(copy);
	return 0;
}
