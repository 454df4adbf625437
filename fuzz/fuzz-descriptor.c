/*
 * fuzz-descriptor.c - libFuzzer harness for desc_parse() (src/descriptor.c).
 *
 * The input, copied to a buffer of exactly its size (so that
 * AddressSanitizer sees any read past len), is parsed twice:
 *
 *   1. as it is;
 *   2. re-signed: the input up to its first line that starts with
 *      "signature " (all of it if there is none) gets a fresh signature
 *      line, made with the identity key of the golden descriptor
 *      (tests/check_descriptor.c), and is parsed again. The seeds carry
 *      that key's identity, so mutations get past the signature check and
 *      reach DESC_OK, not only the syntax checks.
 *
 * The harness aborts (msg_panic) if
 *   - *d is written although desc_parse failed, or the reported line is
 *     past the last line of the input plus one;
 *   - an accepted descriptor breaks what descriptor.h promises (terminated
 *     strings, 1..DESC_MAX_KEYS keys sorted by valid_from, each window
 *     non-empty, a version bit set, exit 0 or 1);
 *   - an accepted re-signed text is not exactly what desc_format writes
 *     for the descriptor it parsed to: every descriptor has one spelling.
 *
 * Seeds live in fuzz/corpus/descriptor/ (written with the golden files,
 * see tests/check_descriptor.c). "make fuzz-smoke" runs this harness
 * briefly over a copy.
 */
#include <config.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "descriptor.h"
#include "log.h"
#include "mcrypto.h"

#define FILL	0xa5	/* *d before a call; must stay on failure */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char prefix[] = "mixmail descriptor v1";	/* signed with its NUL */
static uint8_t id_pk[MCRYPTO_SIGN_PK_BYTES], id_sk[MCRYPTO_SIGN_SK_BYTES];

static void
init_once(void)
{
	static const char label[] = "mixmail test descriptor identity";
	static int done;
	uint8_t seed[32];

	if (done)
		return;
	if (mcrypto_init() != 0)
		msg_panic("fuzz-descriptor: mcrypto_init failed");
	mcrypto_hash(seed, sizeof seed, NULL, 0, (const uint8_t *)label, sizeof label - 1);
	mcrypto_sign_seed_keypair(id_pk, id_sk, seed);
	done = 1;
}

static int
untouched(const struct descriptor *d)
{
	const uint8_t *p = (const uint8_t *)d;
	size_t i;

	for (i = 0; i < sizeof *d; i++)
		if (p[i] != FILL)
			return 0;
	return 1;
}

static int
terminated(const char *s, size_t size)
{
	return memchr(s, '\0', size) != NULL;
}

/* check_accepted - what descriptor.h promises about a parsed descriptor */
static void
check_accepted(const struct descriptor *d)
{
	size_t i;

	if (!terminated(d->name, sizeof d->name) || !terminated(d->address, sizeof d->address) ||
	    !terminated(d->software, sizeof d->software) ||
	    !terminated(d->mixing, sizeof d->mixing) ||
	    !terminated(d->exit_policy, sizeof d->exit_policy))
		msg_panic("fuzz-descriptor: unterminated string");
	if (d->name[0] == '\0' || !pkt_addr_valid(d->address, strlen(d->address)))
		msg_panic("fuzz-descriptor: empty name or invalid address accepted");
	if ((d->exit != 0 && d->exit != 1) || d->pkt_versions == 0 || (d->pkt_versions & 1))
		msg_panic("fuzz-descriptor: bad exit flag or packet versions");
	if (d->nkeys < 1 || d->nkeys > DESC_MAX_KEYS)
		msg_panic("fuzz-descriptor: %zu keys", d->nkeys);
	for (i = 0; i < d->nkeys; i++) {
		if (d->keys[i].valid_from >= d->keys[i].valid_until)
			msg_panic("fuzz-descriptor: empty key window");
		if (i > 0 && d->keys[i].valid_from <= d->keys[i - 1].valid_from)
			msg_panic("fuzz-descriptor: keys not sorted");
		if (desc_key_usable(d, d->keys[i].valid_from) == NULL)
			msg_panic("fuzz-descriptor: no key usable where a window starts");
	}
}

/* parse - desc_parse with the checks that hold for any input */
static enum desc_err
parse(const char *text, size_t len, struct descriptor *d)
{
	enum desc_err err;
	unsigned line = 12345, lines = 0;
	size_t i;

	for (i = 0; i < len; i++)
		lines += text[i] == '\n';
	memset(d, FILL, sizeof *d);
	err = desc_parse(text, len, d, &line);
	if (desc_strerror(err) == NULL)
		msg_panic("fuzz-descriptor: no text for error %d", (int)err);
	if (err == DESC_OK) {
		if (line != 0)
			msg_panic("fuzz-descriptor: line %u on success", line);
		check_accepted(d);
	} else {
		if (!untouched(d))
			msg_panic("fuzz-descriptor: *d written on %s", desc_strerror(err));
		if (line > lines + 1)
			msg_panic("fuzz-descriptor: line %u of %u", line, lines);
	}
	return err;
}

/* body_len - the length of text before its first "signature " line */
static size_t
body_len(const char *text, size_t len)
{
	static const char key[] = "signature ";
	size_t off = 0;
	const char *nl;

	while (off < len) {
		if (len - off >= sizeof key - 1 && memcmp(text + off, key, sizeof key - 1) == 0)
			return off;
		if ((nl = memchr(text + off, '\n', len - off)) == NULL)
			break;
		off = (size_t)(nl - text) + 1;
	}
	return len;
}

/* resign - text's body with a signature line by the golden key, then parse */
static void
resign(const char *text, size_t len)
{
	struct descriptor d;
	uint8_t sig[MCRYPTO_SIGN_BYTES], *msg;
	size_t body = body_len(text, len), n, out_len;
	char *signed_text, *out;

	if (body > DESC_MAX_SIZE)
		return;
	/* prefix || body to sign; then body || "signature " hex LF to parse */
	if ((msg = malloc(sizeof prefix + body)) == NULL ||
	    (signed_text = malloc(body + 10 + 2 * sizeof sig + 1)) == NULL)
		msg_panic("fuzz-descriptor: out of memory");
	memcpy(msg, prefix, sizeof prefix);
	memcpy(msg + sizeof prefix, text, body);
	mcrypto_sign(sig, msg, sizeof prefix + body, id_sk);
	memcpy(signed_text, text, body);
	memcpy(signed_text + body, "signature ", 10);
	/* mcrypto_hex writes a NUL, which the LF then replaces */
	mcrypto_hex(signed_text + body + 10, sig, sizeof sig);
	n = body + 10 + 2 * sizeof sig;
	signed_text[n++] = '\n';
	if (parse(signed_text, n, &d) == DESC_OK) {
		if (memcmp(d.identity, id_pk, sizeof id_pk) != 0)
			msg_panic("fuzz-descriptor: accepted under another identity");
		if (desc_format(&d, id_sk, &out, &out_len) != DESC_OK)
			msg_panic("fuzz-descriptor: desc_format refuses a parsed descriptor");
		if (out_len != n || memcmp(out, signed_text, n) != 0)
			msg_panic("fuzz-descriptor: accepted text is not desc_format's spelling");
		free(out);
	}
	free(msg);
	free(signed_text);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct descriptor d;
	char *copy;

	init_once();
	/* malloc(0) may return NULL; one spare byte keeps the pointer valid. */
	if ((copy = malloc(size ? size : 1)) == NULL)
		msg_panic("fuzz-descriptor: out of memory");
	if (size > 0)
		memcpy(copy, data, size);
	(void)parse(copy, size, &d);
	resign(copy, size);
	free(copy);
	return 0;
}
