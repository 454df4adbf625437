/*
 * check_descriptor.c - unit tests of the node descriptor (descriptor.c,
 * doc/descriptor-format.md): the golden files in tests/desc/, every
 * single-byte change and every truncation of the golden descriptor,
 * round trips of fixed and random descriptors, what desc_format refuses,
 * desc_key_usable at the edges of key windows.
 *
 * Every input goes to desc_parse in a malloc'd buffer of exactly its
 * length, not NUL terminated, so that AddressSanitizer sees any read past
 * len.
 *
 * The golden files are written by this program from the table below:
 *
 *   DESC_WRITE_GOLDEN=1 top_srcdir=/path/to/src tests/check_descriptor
 *
 * writes tests/desc/good.desc (desc_format of golden(): the test checks
 * that desc_format still writes it byte for byte), the variants
 * tests/desc/ok-*.desc and bad-*.desc (the golden text edited line by
 * line, then signed again unless the variant is about the signature), and
 * the seeds in fuzz/corpus/descriptor/. The expected results are in the
 * table, never taken from the parser. A new variant needs only a row.
 */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <check.h>

#include "descriptor.h"
#include "mcrypto.h"
#include "pkt.h"
#include "testutil.h"

#define T_PUBLISHED	INT64_C(1795219200)	/* 2026-11-21T00:00:00Z */
#define T_KEY1		INT64_C(1797811200)	/* 2026-12-21T00:00:00Z */
#define T_KEY_END	INT64_C(1800403200)	/* 2027-01-20T00:00:00Z */
#define T_MAX		INT64_C(253402300799)	/* 9999-12-31T23:59:59Z */
#define FILL		0xa5			/* *d before a parse that must fail */

static const char prefix[] = "mixmail descriptor v1";	/* signed with its NUL */

/* golden - the descriptor of tests/desc/good.desc and its identity key */
static void
golden(struct descriptor *d, uint8_t sk[64])
{
	static const char label[] = "mixmail test descriptor identity";
	uint8_t seed[32];
	struct pkt_key k;
	size_t i;

	memset(d, 0, sizeof *d);
	mcrypto_hash(seed, sizeof seed, NULL, 0, (const uint8_t *)label, sizeof label - 1);
	mcrypto_sign_seed_keypair(d->identity, sk, seed);
	snprintf(d->name, sizeof d->name, "mixa");
	snprintf(d->address, sizeof d->address, "node0@mix0.test");
	d->published = T_PUBLISHED;
	snprintf(d->software, sizeof d->software, "mixmail 0.1.0");
	d->exit = 1;
	d->max_size = 131072;
	snprintf(d->mixing, sizeof d->mixing, "mixmaster");
	d->pkt_versions = 1u << 1;
	snprintf(d->exit_policy, sizeof d->exit_policy, "any recipient; text only, 64 KiB at most");
	d->nkeys = 2;
	for (i = 0; i < 2; i++) {
		tu_node_key(&k, (unsigned)i);	/* tests/testutil.c: node i's mix key */
		memcpy(d->keys[i].pk, k.pk, 32);
	}
	d->keys[0].valid_from = T_PUBLISHED;
	d->keys[0].valid_until = T_KEY1;
	d->keys[1].valid_from = T_KEY1;
	d->keys[1].valid_until = T_KEY_END;
}

/* exact - a malloc'd copy of p[0..len) with no byte to spare */
static char *
exact(const void *p, size_t len)
{
	char *c = malloc(len ? len : 1);

	ck_assert_ptr_nonnull(c);
	if (len > 0)
		memcpy(c, p, len);
	return c;
}

static int
same(const struct descriptor *a, const struct descriptor *b)
{
	size_t i;

	if (strcmp(a->name, b->name) != 0 || strcmp(a->address, b->address) != 0 ||
	    memcmp(a->identity, b->identity, 32) != 0 || a->published != b->published ||
	    strcmp(a->software, b->software) != 0 || a->exit != b->exit ||
	    a->max_size != b->max_size || strcmp(a->mixing, b->mixing) != 0 ||
	    a->pkt_versions != b->pkt_versions || strcmp(a->exit_policy, b->exit_policy) != 0 ||
	    a->nkeys != b->nkeys)
		return 0;
	for (i = 0; i < a->nkeys; i++)
		if (memcmp(a->keys[i].pk, b->keys[i].pk, 32) != 0 ||
		    a->keys[i].valid_from != b->keys[i].valid_from ||
		    a->keys[i].valid_until != b->keys[i].valid_until)
			return 0;
	return 1;
}

/* parse - desc_parse of text in an exact buffer; *d is FILL-ed first */
static enum desc_err
parse(const char *text, size_t len, struct descriptor *d, unsigned *line)
{
	char *c = exact(text, len);
	enum desc_err err;

	memset(d, FILL, sizeof *d);
	err = desc_parse(c, len, d, line);
	free(c);
	return err;
}

static int
untouched(const struct descriptor *d)
{
	const unsigned char *p = (const unsigned char *)d;
	size_t i;

	for (i = 0; i < sizeof *d; i++)
		if (p[i] != FILL)
			return 0;
	return 1;
}

/* --- the variants of the golden text ----------------------------------------- */

/*
 * The golden text, by line:
 *   1 mixmail-descriptor 1     6 software         11 exit-policy
 *   2 name                     7 capabilities     12 mix-key (node key 0)
 *   3 address                  8 max-size         13 mix-key (node key 1)
 *   4 identity                 9 mixing           14 signature
 *   5 published               10 packet-versions
 *
 * In the text of an edit, {id} is the identity in hex, {ID} the same in
 * upper case, {kN} node key N's public key in hex (N one digit), {aN} N
 * letters "a"; "\n" separates lines.
 */
enum op { OP_NONE, OP_REPLACE, OP_INSERT, OP_DELETE, OP_SWAP };
enum sig { SIG_GOLDEN, SIG_KEEP, SIG_NONE, SIG_OTHER_KEY, SIG_NO_PREFIX, SIG_NO_NUL };
enum post { POST_NONE, POST_EMPTY, POST_CRLF, POST_NO_FINAL_LF, POST_APPEND, POST_BYTE,
	POST_SIG_UPPER };

struct variant {
	const char *name;	/* tests/desc/NAME.desc */
	enum op op;
	unsigned line;		/* the edit's line (OP_SWAP: with the next one) */
	const char *text;	/* OP_REPLACE, OP_INSERT (before line), POST_APPEND */
	enum sig sig;		/* how the edited text is signed */
	enum post post;		/* done to the signed text */
	unsigned n;		/* OP_DELETE: lines (0: 1); POST_BYTE: offset in the line */
	int byte;		/* POST_BYTE: the new byte */
	enum desc_err err;	/* the expected result ... */
	unsigned eline;		/* ... and line */
};

#define OK		DESC_OK, 0
#define SYNTAX(l)	DESC_ERR_SYNTAX, (l)
#define VALUE(l)	DESC_ERR_VALUE, (l)
#define KEY2		"mix-key {k2} 2027-01-20T00:00:00Z 2027-02-19T00:00:00Z"

static const struct variant variants[] = {
	{ "good", OP_NONE, 0, NULL, SIG_KEEP, POST_NONE, 0, 0, OK },
	/* accepted edge cases */
	{ "ok-name-max", OP_REPLACE, 2, "name {a30}-9", SIG_GOLDEN, POST_NONE, 0, 0, OK },
	{ "ok-name-digits", OP_REPLACE, 2, "name 0-", SIG_GOLDEN, POST_NONE, 0, 0, OK },
	{ "ok-address-max", OP_REPLACE, 3, "address {a117}@mix0.test", SIG_GOLDEN, POST_NONE, 0, 0, OK },
	{ "ok-epoch", OP_REPLACE, 5, "published 1970-01-01T00:00:00Z", SIG_GOLDEN, POST_NONE, 0, 0, OK },
	{ "ok-leap-day", OP_REPLACE, 5, "published 2028-02-29T23:59:59Z", SIG_GOLDEN, POST_NONE, 0, 0, OK },
	{ "ok-year-2000", OP_REPLACE, 5, "published 2000-02-29T00:00:00Z", SIG_GOLDEN, POST_NONE, 0, 0, OK },
	{ "ok-last-second", OP_REPLACE, 5, "published 9999-12-31T23:59:59Z", SIG_GOLDEN, POST_NONE, 0, 0, OK },
	{ "ok-software-max", OP_REPLACE, 6, "software {a62} ~", SIG_GOLDEN, POST_NONE, 0, 0, OK },
	{ "ok-middleman", OP_REPLACE, 7, "capabilities middleman", SIG_GOLDEN, POST_NONE, 0, 0, OK },
	{ "ok-max-size-min", OP_REPLACE, 8, "max-size 32768", SIG_GOLDEN, POST_NONE, 0, 0, OK },
	{ "ok-max-size-max", OP_REPLACE, 8, "max-size 1073741824", SIG_GOLDEN, POST_NONE, 0, 0, OK },
	{ "ok-versions", OP_REPLACE, 10, "packet-versions 1 2 31", SIG_GOLDEN, POST_NONE, 0, 0, OK },
	{ "ok-policy-max", OP_REPLACE, 11, "exit-policy {a255}!", SIG_GOLDEN, POST_NONE, 0, 0, OK },
	{ "ok-policy-punct", OP_REPLACE, 11, "exit-policy !\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~",
	    SIG_GOLDEN, POST_NONE, 0, 0, OK },
	{ "ok-one-key", OP_DELETE, 13, NULL, SIG_GOLDEN, POST_NONE, 0, 0, OK },
	{ "ok-keys-overlap", OP_REPLACE, 13, "mix-key {k1} 2026-12-20T23:59:59Z 2027-01-20T00:00:00Z",
	    SIG_GOLDEN, POST_NONE, 0, 0, OK },
	{ "ok-keys-max", OP_INSERT, 14, KEY2 "\n"
	    "mix-key {k3} 2027-02-19T00:00:00Z 2027-03-21T00:00:00Z\n"
	    "mix-key {k4} 2027-03-21T00:00:00Z 2027-04-20T00:00:00Z\n"
	    "mix-key {k5} 2027-04-20T00:00:00Z 2027-05-20T00:00:00Z\n"
	    "mix-key {k6} 2027-05-20T00:00:00Z 2027-06-19T00:00:00Z\n"
	    "mix-key {k7} 2027-06-19T00:00:00Z 9999-12-31T23:59:59Z",
	    SIG_GOLDEN, POST_NONE, 0, 0, OK },
	/* size and bytes */
	{ "bad-empty", OP_NONE, 0, NULL, SIG_KEEP, POST_EMPTY, 0, 0, DESC_ERR_SIZE, 0 },
	{ "bad-crlf", OP_NONE, 0, NULL, SIG_GOLDEN, POST_CRLF, 0, 0, SYNTAX(1) },
	{ "bad-no-final-lf", OP_NONE, 0, NULL, SIG_GOLDEN, POST_NO_FINAL_LF, 0, 0, SYNTAX(14) },
	{ "bad-nul", OP_NONE, 6, NULL, SIG_GOLDEN, POST_BYTE, 12, 0x00, SYNTAX(6) },
	{ "bad-tab", OP_NONE, 6, NULL, SIG_GOLDEN, POST_BYTE, 8, '\t', SYNTAX(6) },
	{ "bad-cr", OP_NONE, 11, NULL, SIG_GOLDEN, POST_BYTE, 14, '\r', SYNTAX(11) },
	{ "bad-del", OP_NONE, 9, NULL, SIG_GOLDEN, POST_BYTE, 9, 0x7f, SYNTAX(9) },
	{ "bad-non-ascii", OP_REPLACE, 6, "software mixmail 0.1.0 caf\xc3\xa9", SIG_GOLDEN, POST_NONE, 0, 0,
	    SYNTAX(6) },
	{ "bad-high-bit", OP_NONE, 2, NULL, SIG_GOLDEN, POST_BYTE, 5, 'm' | 0x80, SYNTAX(2) },
	{ "bad-blank-line", OP_INSERT, 6, "", SIG_GOLDEN, POST_NONE, 0, 0, SYNTAX(6) },
	{ "bad-trailing-space", OP_REPLACE, 2, "name mixa ", SIG_GOLDEN, POST_NONE, 0, 0, SYNTAX(2) },
	{ "bad-leading-space", OP_REPLACE, 3, " address node0@mix0.test", SIG_GOLDEN, POST_NONE, 0, 0,
	    SYNTAX(3) },
	{ "bad-double-space", OP_REPLACE, 6, "software mixmail  0.1.0", SIG_GOLDEN, POST_NONE, 0, 0,
	    SYNTAX(6) },
	{ "bad-keyword-only", OP_REPLACE, 7, "capabilities", SIG_GOLDEN, POST_NONE, 0, 0, SYNTAX(7) },
	/* the version line */
	{ "bad-version-2", OP_REPLACE, 1, "mixmail-descriptor 2", SIG_GOLDEN, POST_NONE, 0, 0,
	    DESC_ERR_VERSION, 1 },
	{ "bad-version-huge", OP_REPLACE, 1, "mixmail-descriptor 18446744073709551617", SIG_GOLDEN,
	    POST_NONE, 0, 0, DESC_ERR_VERSION, 1 },
	{ "bad-version-01", OP_REPLACE, 1, "mixmail-descriptor 01", SIG_GOLDEN, POST_NONE, 0, 0,
	    SYNTAX(1) },
	{ "bad-version-word", OP_REPLACE, 1, "mixmail-descriptor one", SIG_GOLDEN, POST_NONE, 0, 0,
	    SYNTAX(1) },
	{ "bad-magic", OP_REPLACE, 1, "mixmail-descriptors 1", SIG_GOLDEN, POST_NONE, 0, 0, SYNTAX(1) },
	{ "bad-no-version-line", OP_DELETE, 1, NULL, SIG_GOLDEN, POST_NONE, 0, 0, SYNTAX(1) },
	/* keywords */
	{ "bad-unknown-keyword", OP_INSERT, 3, "contact admin@mix0.test", SIG_GOLDEN, POST_NONE, 0, 0,
	    SYNTAX(3) },
	{ "bad-duplicate", OP_INSERT, 3, "name mixa", SIG_GOLDEN, POST_NONE, 0, 0, SYNTAX(3) },
	{ "bad-reordered", OP_SWAP, 2, NULL, SIG_GOLDEN, POST_NONE, 0, 0, SYNTAX(2) },
	{ "bad-missing", OP_DELETE, 9, NULL, SIG_GOLDEN, POST_NONE, 0, 0, SYNTAX(9) },
	{ "bad-keyword-case", OP_REPLACE, 2, "Name mixa", SIG_GOLDEN, POST_NONE, 0, 0, SYNTAX(2) },
	{ "bad-no-keys", OP_DELETE, 12, NULL, SIG_GOLDEN, POST_NONE, 2, 0, SYNTAX(12) },
	{ "bad-key-after-policy", OP_SWAP, 11, NULL, SIG_GOLDEN, POST_NONE, 0, 0, SYNTAX(11) },
	{ "bad-no-signature", OP_NONE, 0, NULL, SIG_NONE, POST_NONE, 0, 0, SYNTAX(14) },
	{ "bad-after-signature", OP_NONE, 0, KEY2 "\n", SIG_GOLDEN, POST_APPEND, 0, 0, SYNTAX(15) },
	{ "bad-two-signatures", OP_NONE, 0, "signature {id}{id}\n", SIG_GOLDEN, POST_APPEND, 0, 0,
	    SYNTAX(15) },
	{ "bad-trailing-lf", OP_NONE, 0, "\n", SIG_GOLDEN, POST_APPEND, 0, 0, SYNTAX(15) },
	/* values */
	{ "bad-name-upper", OP_REPLACE, 2, "name Mixa", SIG_GOLDEN, POST_NONE, 0, 0, VALUE(2) },
	{ "bad-name-long", OP_REPLACE, 2, "name {a33}", SIG_GOLDEN, POST_NONE, 0, 0, VALUE(2) },
	{ "bad-name-underscore", OP_REPLACE, 2, "name mix_a", SIG_GOLDEN, POST_NONE, 0, 0, VALUE(2) },
	{ "bad-name-space", OP_REPLACE, 2, "name mix a", SIG_GOLDEN, POST_NONE, 0, 0, VALUE(2) },
	{ "bad-address", OP_REPLACE, 3, "address node0@@mix0.test", SIG_GOLDEN, POST_NONE, 0, 0, VALUE(3) },
	{ "bad-address-long", OP_REPLACE, 3, "address {a118}@mix0.test", SIG_GOLDEN, POST_NONE, 0, 0,
	    VALUE(3) },
	{ "bad-address-angle", OP_REPLACE, 3, "address <node0@mix0.test>", SIG_GOLDEN, POST_NONE, 0, 0,
	    VALUE(3) },
	{ "bad-identity-upper", OP_REPLACE, 4, "identity {ID}", SIG_GOLDEN, POST_NONE, 0, 0, SYNTAX(4) },
	{ "bad-identity-short", OP_REPLACE, 4, "identity {a63}", SIG_GOLDEN, POST_NONE, 0, 0, SYNTAX(4) },
	{ "bad-identity-other", OP_REPLACE, 4, "identity {k0}", SIG_GOLDEN, POST_NONE, 0, 0,
	    DESC_ERR_SIGNATURE, 14 },
	{ "bad-published-epoch", OP_REPLACE, 5, "published 1795219200", SIG_GOLDEN, POST_NONE, 0, 0,
	    SYNTAX(5) },
	{ "bad-published-offset", OP_REPLACE, 5, "published 2026-11-21T00:00:00+00:00", SIG_GOLDEN,
	    POST_NONE, 0, 0, SYNTAX(5) },
	{ "bad-published-lower-t", OP_REPLACE, 5, "published 2026-11-21t00:00:00Z", SIG_GOLDEN,
	    POST_NONE, 0, 0, SYNTAX(5) },
	{ "bad-published-feb29", OP_REPLACE, 5, "published 2026-02-29T00:00:00Z", SIG_GOLDEN,
	    POST_NONE, 0, 0, VALUE(5) },
	{ "bad-published-2100-feb29", OP_REPLACE, 5, "published 2100-02-29T00:00:00Z", SIG_GOLDEN,
	    POST_NONE, 0, 0, VALUE(5) },
	{ "bad-published-1969", OP_REPLACE, 5, "published 1969-12-31T23:59:59Z", SIG_GOLDEN,
	    POST_NONE, 0, 0, VALUE(5) },
	{ "bad-published-leap-second", OP_REPLACE, 5, "published 2026-06-30T23:59:60Z", SIG_GOLDEN,
	    POST_NONE, 0, 0, VALUE(5) },
	{ "bad-published-hour-24", OP_REPLACE, 5, "published 2026-11-21T24:00:00Z", SIG_GOLDEN,
	    POST_NONE, 0, 0, VALUE(5) },
	{ "bad-published-month-0", OP_REPLACE, 5, "published 2026-00-21T00:00:00Z", SIG_GOLDEN,
	    POST_NONE, 0, 0, VALUE(5) },
	{ "bad-software-long", OP_REPLACE, 6, "software {a65}", SIG_GOLDEN, POST_NONE, 0, 0, VALUE(6) },
	{ "bad-capabilities-both", OP_REPLACE, 7, "capabilities exit middleman", SIG_GOLDEN, POST_NONE,
	    0, 0, VALUE(7) },
	{ "bad-capabilities-case", OP_REPLACE, 7, "capabilities Exit", SIG_GOLDEN, POST_NONE, 0, 0,
	    VALUE(7) },
	{ "bad-max-size-zero", OP_REPLACE, 8, "max-size 0131072", SIG_GOLDEN, POST_NONE, 0, 0, SYNTAX(8) },
	{ "bad-max-size-sign", OP_REPLACE, 8, "max-size +131072", SIG_GOLDEN, POST_NONE, 0, 0, SYNTAX(8) },
	{ "bad-max-size-hex", OP_REPLACE, 8, "max-size 0x20000", SIG_GOLDEN, POST_NONE, 0, 0, SYNTAX(8) },
	{ "bad-max-size-unit", OP_REPLACE, 8, "max-size 128k", SIG_GOLDEN, POST_NONE, 0, 0, SYNTAX(8) },
	{ "bad-max-size-small", OP_REPLACE, 8, "max-size 32767", SIG_GOLDEN, POST_NONE, 0, 0, VALUE(8) },
	{ "bad-max-size-large", OP_REPLACE, 8, "max-size 1073741825", SIG_GOLDEN, POST_NONE, 0, 0,
	    VALUE(8) },
	{ "bad-max-size-huge", OP_REPLACE, 8, "max-size 18446744073709551617", SIG_GOLDEN, POST_NONE,
	    0, 0, VALUE(8) },
	{ "bad-mixing-upper", OP_REPLACE, 9, "mixing Mixmaster", SIG_GOLDEN, POST_NONE, 0, 0, VALUE(9) },
	{ "bad-mixing-long", OP_REPLACE, 9, "mixing {a33}", SIG_GOLDEN, POST_NONE, 0, 0, VALUE(9) },
	{ "bad-versions-zero", OP_REPLACE, 10, "packet-versions 0", SIG_GOLDEN, POST_NONE, 0, 0, VALUE(10) },
	{ "bad-versions-order", OP_REPLACE, 10, "packet-versions 2 1", SIG_GOLDEN, POST_NONE, 0, 0,
	    VALUE(10) },
	{ "bad-versions-repeat", OP_REPLACE, 10, "packet-versions 1 1", SIG_GOLDEN, POST_NONE, 0, 0,
	    VALUE(10) },
	{ "bad-versions-32", OP_REPLACE, 10, "packet-versions 1 32", SIG_GOLDEN, POST_NONE, 0, 0,
	    VALUE(10) },
	{ "bad-versions-comma", OP_REPLACE, 10, "packet-versions 1,2", SIG_GOLDEN, POST_NONE, 0, 0,
	    SYNTAX(10) },
	{ "bad-policy-long", OP_REPLACE, 11, "exit-policy {a257}", SIG_GOLDEN, POST_NONE, 0, 0, VALUE(11) },
	{ "bad-key-window", OP_REPLACE, 12, "mix-key {k0} 2026-11-21T00:00:00Z 2026-11-21T00:00:00Z",
	    SIG_GOLDEN, POST_NONE, 0, 0, VALUE(12) },
	{ "bad-key-backwards", OP_REPLACE, 12, "mix-key {k0} 2026-12-21T00:00:00Z 2026-11-21T00:00:00Z",
	    SIG_GOLDEN, POST_NONE, 0, 0, VALUE(12) },
	{ "bad-key-order", OP_SWAP, 12, NULL, SIG_GOLDEN, POST_NONE, 0, 0, VALUE(13) },
	{ "bad-key-same-from", OP_REPLACE, 13, "mix-key {k1} 2026-11-21T00:00:00Z 2027-01-20T00:00:00Z",
	    SIG_GOLDEN, POST_NONE, 0, 0, VALUE(13) },
	{ "bad-key-repeated", OP_REPLACE, 13, "mix-key {k0} 2026-12-21T00:00:00Z 2027-01-20T00:00:00Z",
	    SIG_GOLDEN, POST_NONE, 0, 0, VALUE(13) },
	{ "bad-key-zero", OP_REPLACE, 12, "mix-key 00000000000000000000000000000000"
	    "00000000000000000000000000000000 2026-11-21T00:00:00Z 2026-12-21T00:00:00Z",
	    SIG_GOLDEN, POST_NONE, 0, 0, VALUE(12) },
	{ "bad-key-two-fields", OP_REPLACE, 12, "mix-key {k0} 2026-11-21T00:00:00Z",
	    SIG_GOLDEN, POST_NONE, 0, 0, SYNTAX(12) },
	{ "bad-key-four-fields", OP_REPLACE, 12,
	    "mix-key {k0} 2026-11-21T00:00:00Z 2026-12-21T00:00:00Z 2026-12-21T00:00:00Z",
	    SIG_GOLDEN, POST_NONE, 0, 0, SYNTAX(12) },
	{ "bad-key-epoch", OP_REPLACE, 12, "mix-key {k0} 1795219200 1797811200",
	    SIG_GOLDEN, POST_NONE, 0, 0, SYNTAX(12) },
	{ "bad-too-many-keys", OP_INSERT, 14, KEY2 "\n"
	    "mix-key {k3} 2027-02-19T00:00:00Z 2027-03-21T00:00:00Z\n"
	    "mix-key {k4} 2027-03-21T00:00:00Z 2027-04-20T00:00:00Z\n"
	    "mix-key {k5} 2027-04-20T00:00:00Z 2027-05-20T00:00:00Z\n"
	    "mix-key {k6} 2027-05-20T00:00:00Z 2027-06-19T00:00:00Z\n"
	    "mix-key {k7} 2027-06-19T00:00:00Z 2027-07-19T00:00:00Z\n"
	    "mix-key {k8} 2027-07-19T00:00:00Z 2027-08-18T00:00:00Z",
	    SIG_GOLDEN, POST_NONE, 0, 0, VALUE(20) },
	/* the signature */
	{ "bad-signature-upper", OP_NONE, 0, NULL, SIG_GOLDEN, POST_SIG_UPPER, 0, 0, SYNTAX(14) },
	{ "bad-signature-short", OP_NONE, 14, NULL, SIG_GOLDEN, POST_BYTE, 10 + 127, '\n', SYNTAX(14) },
	{ "bad-signature-changed", OP_REPLACE, 9, "mixing continuous", SIG_KEEP, POST_NONE, 0, 0,
	    DESC_ERR_SIGNATURE, 14 },
	{ "bad-signature-other-key", OP_NONE, 0, NULL, SIG_OTHER_KEY, POST_NONE, 0, 0,
	    DESC_ERR_SIGNATURE, 14 },
	{ "bad-signature-no-prefix", OP_NONE, 0, NULL, SIG_NO_PREFIX, POST_NONE, 0, 0,
	    DESC_ERR_SIGNATURE, 14 },
	{ "bad-signature-no-nul", OP_NONE, 0, NULL, SIG_NO_NUL, POST_NONE, 0, 0,
	    DESC_ERR_SIGNATURE, 14 },
};
#define NVARIANTS ((int)(sizeof variants / sizeof *variants))

/* Fuzz seeds: these variants go to fuzz/corpus/descriptor/ as well */
static const char *const seeds[] = {
	"good", "ok-keys-max", "ok-middleman", "bad-crlf", "bad-version-2", "bad-key-order",
	"bad-signature-changed", "bad-too-many-keys",
};

/* --- writing the variants ------------------------------------------------------- */

struct buf {
	char *p;
	size_t len;
};

static void
put(struct buf *b, const void *s, size_t n)
{
	if ((b->p = realloc(b->p, b->len + n + 1)) == NULL)
		abort();
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void
put_hex(struct buf *b, const uint8_t *p, size_t n, int upper)
{
	char hex[129];
	size_t i;

	mcrypto_hex(hex, p, n);
	for (i = 0; upper && hex[i]; i++)
		if (hex[i] >= 'a' && hex[i] <= 'f')
			hex[i] = (char)(hex[i] - 'a' + 'A');
	put(b, hex, 2 * n);
}

static int
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* need - a check that works outside a Check test too (DESC_WRITE_GOLDEN) */
static void
need(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "check_descriptor: %s\n", what);
		abort();
	}
}

/* expand - s with {id}, {ID}, {kN} and {aN} replaced */
static void
expand(struct buf *b, const char *s, const struct descriptor *g)
{
	struct pkt_key k;
	const char *e;
	unsigned long n;

	for (; *s; s++) {
		e = *s == '{' ? strchr(s, '}') : NULL;
		if (e != NULL && (strncmp(s, "{id}", 4) == 0 || strncmp(s, "{ID}", 4) == 0))
			put_hex(b, g->identity, 32, s[1] == 'I');
		else if (e == s + 3 && s[1] == 'k' && is_digit(s[2])) {
			tu_node_key(&k, (unsigned)(s[2] - '0'));
			put_hex(b, k.pk, 32, 0);
		} else if (e != NULL && s[1] == 'a' && is_digit(s[2])) {
			for (n = strtoul(s + 2, NULL, 10); n > 0; n--)
				put(b, "a", 1);
		} else {
			put(b, s, 1);	/* a literal "{" */
			continue;
		}
		s = e;
	}
}

/* line_span - where line l (from 1) of text starts, and its length without LF */
static const char *
line_span(const char *text, unsigned l, size_t *len)
{
	const char *p = text, *nl;

	while (--l > 0) {
		nl = strchr(p, '\n');
		need(nl != NULL, "line_span: no such line");
		p = nl + 1;
	}
	nl = strchr(p, '\n');
	*len = nl != NULL ? (size_t)(nl - p) : strlen(p);
	return p;
}

/* edit - the golden body (lines 1..13) with v's edit applied */
static void
edit(struct buf *out, const char *body, const struct variant *v, const struct descriptor *g)
{
	const char *p, *p2;
	size_t len, len2;
	unsigned l, nlines = 0, del = v->n ? v->n : 1;

	for (p = body; *p; p++)
		nlines += *p == '\n';
	for (l = 1; l <= nlines; l++) {
		p = line_span(body, l, &len);
		if (v->op == OP_INSERT && l == v->line) {
			expand(out, v->text, g);
			put(out, "\n", 1);
		}
		if (v->op == OP_REPLACE && l == v->line) {
			expand(out, v->text, g);
			put(out, "\n", 1);
		} else if (v->op == OP_DELETE && l >= v->line && l < v->line + del) {
			continue;
		} else if (v->op == OP_SWAP && l == v->line) {
			p2 = line_span(body, l + 1, &len2);
			put(out, p2, len2 + 1);
			put(out, p, len + 1);
			l++;
		} else
			put(out, p, len + 1);
	}
	if (v->op == OP_INSERT && v->line == nlines + 1) {
		expand(out, v->text, g);
		put(out, "\n", 1);
	}
}

/* make_variant - the text of v, from the golden text */
static void
make_variant(struct buf *out, const struct variant *v, const char *good, size_t good_len)
{
	struct descriptor g;
	uint8_t sk[64], other_pk[32], other_sk[64], seed[32], sig[64];
	struct buf body = { 0 }, msg = { 0 }, tmp = { 0 };
	const char *sigline = strstr(good, "\nsignature ") + 1;
	size_t i, len;
	char *p;

	golden(&g, sk);
	put(&tmp, good, (size_t)(sigline - good));
	edit(&body, tmp.p, v, &g);
	switch (v->sig) {
	case SIG_KEEP:
		put(&body, sigline, good_len - (size_t)(sigline - good));
		break;
	case SIG_NONE:
		break;
	case SIG_GOLDEN:
	case SIG_OTHER_KEY:
	case SIG_NO_PREFIX:
	case SIG_NO_NUL:
		if (v->sig != SIG_NO_PREFIX)
			put(&msg, prefix, v->sig == SIG_NO_NUL ? sizeof prefix - 1 : sizeof prefix);
		put(&msg, body.p, body.len);
		if (v->sig == SIG_OTHER_KEY) {
			memset(seed, 0x42, sizeof seed);
			mcrypto_sign_seed_keypair(other_pk, other_sk, seed);
			mcrypto_sign(sig, (const uint8_t *)msg.p, msg.len, other_sk);
		} else
			mcrypto_sign(sig, (const uint8_t *)msg.p, msg.len, sk);
		put(&body, "signature ", 10);
		put_hex(&body, sig, sizeof sig, 0);
		put(&body, "\n", 1);
		break;
	}
	out->len = 0;
	switch (v->post) {
	case POST_NONE:
		put(out, body.p, body.len);
		break;
	case POST_EMPTY:
		put(out, "", 0);
		break;
	case POST_CRLF:
		for (i = 0; i < body.len; i++)
			put(out, body.p[i] == '\n' ? "\r\n" : &body.p[i], body.p[i] == '\n' ? 2 : 1);
		break;
	case POST_NO_FINAL_LF:
		put(out, body.p, body.len - 1);
		break;
	case POST_APPEND:
		put(out, body.p, body.len);
		expand(out, v->text, &g);
		break;
	case POST_BYTE:
		put(out, body.p, body.len);
		p = (char *)line_span(out->p, v->line, &len);
		need(v->n < len, "POST_BYTE past the line");
		p[v->n] = (char)v->byte;
		break;
	case POST_SIG_UPPER:
		put(out, body.p, body.len);
		for (p = strstr(out->p, "\nsignature ") + 11; *p; p++)
			if (*p >= 'a' && *p <= 'f')
				*p = (char)(*p - 'a' + 'A');
		break;
	}
	free(body.p);
	free(msg.p);
	free(tmp.p);
}

static void
write_file(const char *path, const char *p, size_t len)
{
	FILE *fp = fopen(path, "wb");

	if (fp == NULL || fwrite(p, 1, len, fp) != len || fclose(fp) != 0) {
		perror(path);
		exit(EXIT_FAILURE);
	}
}

/* write_golden - the files of this test and the fuzz seeds */
static int
write_golden(void)
{
	struct descriptor d;
	uint8_t sk[64];
	struct buf text = { 0 };
	char *good, path[4096];
	const char *top = getenv("top_srcdir");
	size_t good_len, i;
	int k;

	if (mcrypto_init() != 0)
		return EXIT_FAILURE;
	golden(&d, sk);
	if (desc_format(&d, sk, &good, &good_len) != DESC_OK) {
		fprintf(stderr, "desc_format of the golden descriptor failed\n");
		return EXIT_FAILURE;
	}
	for (k = 0; k < NVARIANTS; k++) {
		make_variant(&text, &variants[k], good, good_len);
		snprintf(path, sizeof path, "%s/tests/desc/%s.desc", top ? top : ".", variants[k].name);
		write_file(path, text.p, text.len);
		for (i = 0; i < sizeof seeds / sizeof *seeds; i++)
			if (strcmp(seeds[i], variants[k].name) == 0) {
				snprintf(path, sizeof path, "%s/fuzz/corpus/descriptor/%s",
				    top ? top : ".", variants[k].name);
				write_file(path, text.p, text.len);
			}
	}
	free(text.p);
	free(good);
	return EXIT_SUCCESS;
}

/* --- tests ------------------------------------------------------------------------ */

static void
setup(void)
{
	tu_init();
}

/* read_desc - tests/desc/NAME.desc in an exact buffer */
static char *
read_desc(const char *name, size_t *len)
{
	char rel[256], *c;
	uint8_t *buf;

	snprintf(rel, sizeof rel, "desc/%s.desc", name);
	buf = tu_read_file(tu_srcpath(rel), len);
	c = exact(buf, *len);
	free(buf);
	return c;
}

/* The golden descriptor: desc_format writes the file byte for byte */
START_TEST(test_golden_format)
{
	struct descriptor g, d;
	uint8_t sk[64];
	char *out, *file;
	size_t out_len, file_len;
	unsigned line = 99;

	golden(&g, sk);
	ck_assert_int_eq(desc_format(&g, sk, &out, &out_len), DESC_OK);
	ck_assert_uint_eq(strlen(out), out_len);
	file = read_desc("good", &file_len);
	ck_assert_msg(out_len == file_len && memcmp(out, file, out_len) == 0,
	    "desc_format output differs from tests/desc/good.desc:\n%s", out);
	ck_assert_int_eq(parse(file, file_len, &d, &line), DESC_OK);
	ck_assert_uint_eq(line, 0);
	ck_assert(same(&d, &g));
	/* the literal times of the file are the golden struct's epoch seconds */
	ck_assert_ptr_nonnull(strstr(out, "\npublished 2026-11-21T00:00:00Z\n"));
	ck_assert_ptr_nonnull(strstr(out, " 2026-12-21T00:00:00Z 2027-01-20T00:00:00Z\n"));
	ck_assert_int_eq(strncmp(out, "mixmail-descriptor 1\nname mixa\n", 31), 0);
	/* line may be NULL */
	ck_assert_int_eq(desc_parse(file, file_len, &d, NULL), DESC_OK);
	free(out);
	free(file);
}
END_TEST

/* Each variant file gives its expected result, and *d only on DESC_OK */
START_TEST(test_variants)
{
	const struct variant *v = &variants[_i];
	struct descriptor d;
	enum desc_err err;
	unsigned line = 99;
	size_t len;
	char *text = read_desc(v->name, &len);

	err = parse(text, len, &d, &line);
	ck_assert_msg(err == v->err && line == v->eline, "%s: got %s at line %u, want %s at line %u",
	    v->name, desc_strerror(err), line, desc_strerror(v->err), v->eline);
	if (err == DESC_OK) {
		ck_assert_uint_ge(d.nkeys, 1);
		ck_assert_uint_le(d.nkeys, DESC_MAX_KEYS);
	} else
		ck_assert_msg(untouched(&d), "%s: *d written on error", v->name);
	free(text);
}
END_TEST

/* The files are what the table says: regenerating changes nothing */
START_TEST(test_variants_current)
{
	struct descriptor g;
	uint8_t sk[64];
	struct buf text = { 0 };
	char *good, *file;
	size_t good_len, len;

	golden(&g, sk);
	ck_assert_int_eq(desc_format(&g, sk, &good, &good_len), DESC_OK);
	make_variant(&text, &variants[_i], good, good_len);
	file = read_desc(variants[_i].name, &len);
	ck_assert_msg(len == text.len && memcmp(file, text.p, len) == 0,
	    "tests/desc/%s.desc is stale: run DESC_WRITE_GOLDEN=1 tests/check_descriptor",
	    variants[_i].name);
	free(file);
	free(text.p);
	free(good);
}
END_TEST

/* Every single-bit change of every byte fails: syntax or signature */
START_TEST(test_bit_flips)
{
	struct descriptor d;
	size_t len, i;
	char *text = read_desc("good", &len);
	unsigned bit, line, sigs = 0;
	enum desc_err err;

	for (i = 0; i < len; i++)
		for (bit = 0; bit < 8; bit++) {
			text[i] ^= (char)(1u << bit);
			memset(&d, FILL, sizeof d);
			err = desc_parse(text, len, &d, &line);
			ck_assert_msg(err != DESC_OK, "flip of bit %u of byte %zu accepted", bit, i);
			ck_assert(untouched(&d));
			sigs += err == DESC_ERR_SIGNATURE;
			text[i] ^= (char)(1u << bit);
		}
	/* the signature check was reached, not only the syntax checks */
	ck_assert_uint_gt(sigs, 100);
	ck_assert_int_eq(desc_parse(text, len, &d, &line), DESC_OK);
	free(text);
}
END_TEST

/* Every truncation fails as a missing line or a line without LF */
START_TEST(test_truncations)
{
	struct descriptor d;
	size_t len, cut;
	char *text = read_desc("good", &len), *c;
	unsigned line;

	for (cut = 0; cut < len; cut++) {
		c = exact(text, cut);
		memset(&d, FILL, sizeof d);
		ck_assert_int_eq(desc_parse(c, cut, &d, &line),
		    cut == 0 ? DESC_ERR_SIZE : DESC_ERR_SYNTAX);
		ck_assert(untouched(&d));
		free(c);
	}
	free(text);
}
END_TEST

START_TEST(test_size)
{
	struct descriptor d;
	size_t len;
	char *text = read_desc("good", &len), *big = malloc(DESC_MAX_SIZE + 1);
	unsigned line = 99;

	ck_assert_int_eq(desc_parse(NULL, 0, &d, &line), DESC_ERR_SIZE);
	ck_assert_uint_eq(line, 0);
	/* the good text, then junk lines up to the limit and one byte over */
	memcpy(big, text, len);
	memset(big + len, 'x', DESC_MAX_SIZE + 1 - len);
	big[DESC_MAX_SIZE - 1] = '\n';
	ck_assert_int_eq(parse(big, DESC_MAX_SIZE, &d, &line), DESC_ERR_SYNTAX);
	ck_assert_uint_eq(line, 15);
	ck_assert_int_eq(parse(big, DESC_MAX_SIZE + 1, &d, &line), DESC_ERR_SIZE);
	ck_assert_uint_eq(line, 0);
	ck_assert(untouched(&d));
	free(big);
	free(text);
}
END_TEST

/* time_ok - the published line of text is gmtime's spelling of t */
static void
check_time(const char *text, int64_t t)
{
	char want[32];
	const char *p = strstr(text, "\npublished ");
	time_t tt = (time_t)t;
	struct tm tm;

	ck_assert_ptr_nonnull(gmtime_r(&tt, &tm));
	ck_assert_uint_eq(strftime(want, sizeof want, "%Y-%m-%dT%H:%M:%SZ", &tm), 20);
	ck_assert_ptr_nonnull(p);
	ck_assert_msg(strncmp(p + 11, want, 20) == 0 && p[31] == '\n',
	    "time %lld: got %.20s, want %s", (long long)t, p + 11, want);
}

/* random_text - n printable characters, single spaces inside only */
static void
random_text(struct mcrypto_rng *rng, char *out, size_t n, const char *alphabet)
{
	uint8_t r;
	size_t i;

	for (i = 0; i < n; i++) {
		mcrypto_random(rng, &r, 1);
		if (alphabet != NULL)
			out[i] = alphabet[r % strlen(alphabet)];
		else if (r < 40 && i > 0 && i < n - 1 && out[i - 1] != ' ')
			out[i] = ' ';
		else
			out[i] = (char)(0x21 + r % 94);
	}
	out[n] = '\0';
}

static uint64_t
random_below(struct mcrypto_rng *rng, uint64_t bound)
{
	uint64_t r;

	mcrypto_random(rng, &r, sizeof r);
	return r % bound;
}

/* random_desc - a valid descriptor from rng, and its identity key */
static void
random_desc(struct mcrypto_rng *rng, struct descriptor *d, uint8_t sk[64])
{
	static const char word[] = "abcdefghijklmnopqrstuvwxyz0123456789-";
	static const char atext[] = "abcxyzABCXYZ0189!#$%&'*+-/=?^_`{|}~";
	uint8_t seed[32];
	size_t i, local, dom;
	int64_t t;

	memset(d, 0, sizeof *d);
	mcrypto_random(rng, seed, sizeof seed);
	mcrypto_sign_seed_keypair(d->identity, sk, seed);
	random_text(rng, d->name, 1 + random_below(rng, DESC_NAME_MAX), word);
	local = 1 + random_below(rng, 60);
	dom = 1 + random_below(rng, PKT_ADDR_MAX - local - 1);
	random_text(rng, d->address, local, atext);
	d->address[local] = '@';
	random_text(rng, d->address + local + 1, dom, "abcdefghijklmnopqrstuvwxyz0123456789-");
	d->published = (int64_t)random_below(rng, (uint64_t)T_MAX + 1);
	random_text(rng, d->software, 1 + random_below(rng, DESC_SOFTWARE_MAX), NULL);
	d->exit = (int)random_below(rng, 2);
	d->max_size = 32768 + random_below(rng, 1073741824 - 32768 + 1);
	random_text(rng, d->mixing, 1 + random_below(rng, DESC_MIXING_MAX), word);
	do
		d->pkt_versions = (uint32_t)random_below(rng, UINT64_C(1) << 32) & ~UINT32_C(1);
	while (d->pkt_versions == 0);
	random_text(rng, d->exit_policy, 1 + random_below(rng, DESC_POLICY_MAX), NULL);
	d->nkeys = 1 + random_below(rng, DESC_MAX_KEYS);
	for (i = 0, t = 0; i < d->nkeys; i++) {
		mcrypto_random(rng, d->keys[i].pk, 32);
		t += 1 + (int64_t)random_below(rng, (uint64_t)T_MAX / 10);
		d->keys[i].valid_from = t;
		d->keys[i].valid_until = t + 1 + (int64_t)random_below(rng, (uint64_t)T_MAX / 10);
	}
}

/* format, parse, same struct; format again, same bytes */
static void
roundtrip(const struct descriptor *d, const uint8_t sk[64])
{
	struct descriptor back;
	char *out, *again;
	size_t len, len2;
	unsigned line;

	ck_assert_int_eq(desc_format(d, sk, &out, &len), DESC_OK);
	ck_assert_uint_le(len, DESC_MAX_SIZE);
	ck_assert_int_eq(parse(out, len, &back, &line), DESC_OK);
	ck_assert(same(d, &back));
	ck_assert_int_eq(desc_format(&back, sk, &again, &len2), DESC_OK);
	ck_assert_uint_eq(len, len2);
	ck_assert_mem_eq(out, again, len);
	check_time(out, d->published);
	free(out);
	free(again);
}

START_TEST(test_roundtrip_random)
{
	struct mcrypto_rng rng;
	struct descriptor d;
	uint8_t seed[32] = { 'r', 't' }, sk[64];
	int i;

	mcrypto_rng_seed(&rng, seed);
	for (i = 0; i < 300; i++) {
		random_desc(&rng, &d, sk);
		roundtrip(&d, sk);
	}
}
END_TEST

/* The largest descriptor and the extreme values */
START_TEST(test_roundtrip_extremes)
{
	struct descriptor d;
	uint8_t sk[64];
	struct pkt_key k;
	char *out;
	size_t i, len;
	static const int64_t times[] = { 0, 1, 59, 86399, 86400, 951782399, 951782400,
		4107542399, 4107542400, T_MAX - 1, T_MAX };

	golden(&d, sk);
	memset(d.name, 'z', DESC_NAME_MAX);
	d.name[DESC_NAME_MAX] = '\0';
	memset(d.address, 'a', PKT_ADDR_MAX);
	memcpy(d.address + PKT_ADDR_MAX - 6, "@b.org", 7);
	memset(d.software, '~', DESC_SOFTWARE_MAX);
	d.software[DESC_SOFTWARE_MAX] = '\0';
	memset(d.mixing, '-', DESC_MIXING_MAX);
	d.mixing[DESC_MIXING_MAX] = '\0';
	memset(d.exit_policy, '!', DESC_POLICY_MAX);
	d.exit_policy[DESC_POLICY_MAX] = '\0';
	d.pkt_versions = ~UINT32_C(1);
	d.max_size = 1073741824;
	d.exit = 0;
	d.nkeys = DESC_MAX_KEYS;
	for (i = 0; i < DESC_MAX_KEYS; i++) {
		tu_node_key(&k, (unsigned)i);
		memcpy(d.keys[i].pk, k.pk, 32);
		d.keys[i].valid_from = (int64_t)i;
		d.keys[i].valid_until = T_MAX;
	}
	roundtrip(&d, sk);
	ck_assert_int_eq(desc_format(&d, sk, &out, &len), DESC_OK);
	ck_assert_uint_eq(len, 1885);	/* the longest descriptor, doc/descriptor-format.md */
	ck_assert_ptr_nonnull(strstr(out, "\npacket-versions 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 "
	    "17 18 19 20 21 22 23 24 25 26 27 28 29 30 31\n"));
	ck_assert_ptr_nonnull(strstr(out, "\ncapabilities middleman\n"));
	ck_assert_ptr_nonnull(strstr(out, " 1970-01-01T00:00:07Z 9999-12-31T23:59:59Z\nsignature "));
	free(out);
	for (i = 0; i < sizeof times / sizeof *times; i++) {
		d.published = times[i];
		roundtrip(&d, sk);
	}
}
END_TEST

/* What desc_format refuses: each row changes one thing in the golden struct */
static void
arg_case(struct descriptor *d, uint8_t sk[64], int i)
{
	uint8_t seed[32], pk[32];

	switch (i) {
	case 0: d->name[0] = '\0'; break;
	case 1: d->name[0] = 'M'; break;
	case 2: memset(d->name, 'a', sizeof d->name); break;	/* no NUL */
	case 3: snprintf(d->address, sizeof d->address, "nobody"); break;
	case 4: memset(d->address, 'a', sizeof d->address); break;
	case 5: d->software[0] = '\0'; break;
	case 6: snprintf(d->software, sizeof d->software, " mixmail"); break;
	case 7: snprintf(d->software, sizeof d->software, "mixmail\ncapabilities exit"); break;
	case 8: snprintf(d->software, sizeof d->software, "mix\tmail"); break;
	case 9: d->exit = 2; break;
	case 10: d->max_size = 32767; break;
	case 11: d->mixing[0] = '\0'; break;
	case 12: d->pkt_versions = 0; break;
	case 13: d->pkt_versions = 3; break;	/* version 0 */
	case 14: snprintf(d->exit_policy, sizeof d->exit_policy, "any "); break;
	case 15: d->nkeys = 0; break;
	case 16: d->nkeys = DESC_MAX_KEYS + 1; break;
	case 17: d->keys[1].valid_from = d->keys[0].valid_from; break;
	case 18: d->keys[0].valid_until = d->keys[0].valid_from; break;
	case 19: d->keys[1].valid_until = T_MAX + 1; break;
	case 20: d->published = -1; break;
	case 21: memset(d->keys[0].pk, 0, 32); break;
	case 22: memcpy(d->keys[1].pk, d->keys[0].pk, 32); break;
	case 23: sk[10] ^= 1; break;			/* its seed half is wrong */
	case 24: d->identity[0] ^= 1; break;
	case 25: snprintf(d->exit_policy, sizeof d->exit_policy, "caf\xc3\xa9"); break;
	case 26:					/* another key pair altogether */
		memset(seed, 7, sizeof seed);
		mcrypto_sign_seed_keypair(pk, sk, seed);
		break;
	default: ck_abort();
	}
}
#define NARG_CASES 27

START_TEST(test_format_refuses)
{
	struct descriptor d;
	uint8_t sk[64];
	char *out = (char *)1;
	size_t len = 1;

	golden(&d, sk);
	arg_case(&d, sk, _i);
	ck_assert_int_eq(desc_format(&d, sk, &out, &len), DESC_ERR_ARG);
	ck_assert_ptr_null(out);
	ck_assert_uint_eq(len, 0);
}
END_TEST

START_TEST(test_key_usable)
{
	struct descriptor d;
	uint8_t sk[64];

	golden(&d, sk);
	ck_assert_ptr_null(desc_key_usable(&d, INT64_MIN));
	ck_assert_ptr_null(desc_key_usable(&d, T_PUBLISHED - 1));
	ck_assert_ptr_eq(desc_key_usable(&d, T_PUBLISHED), &d.keys[0]);
	ck_assert_ptr_eq(desc_key_usable(&d, T_KEY1 - 1), &d.keys[0]);
	ck_assert_ptr_eq(desc_key_usable(&d, T_KEY1), &d.keys[1]);
	ck_assert_ptr_eq(desc_key_usable(&d, T_KEY_END - 1), &d.keys[1]);
	ck_assert_ptr_null(desc_key_usable(&d, T_KEY_END));
	ck_assert_ptr_null(desc_key_usable(&d, INT64_MAX));
	/* overlapping windows: the newest usable key */
	d.keys[0].valid_from = 0;
	d.keys[0].valid_until = 100;
	d.keys[1].valid_from = 50;
	d.keys[1].valid_until = 200;
	ck_assert_ptr_eq(desc_key_usable(&d, 49), &d.keys[0]);
	ck_assert_ptr_eq(desc_key_usable(&d, 50), &d.keys[1]);
	ck_assert_ptr_eq(desc_key_usable(&d, 99), &d.keys[1]);
	ck_assert_ptr_eq(desc_key_usable(&d, 199), &d.keys[1]);
	ck_assert_ptr_null(desc_key_usable(&d, 200));
	/* a gap between windows */
	d.keys[1].valid_from = 150;
	ck_assert_ptr_eq(desc_key_usable(&d, 99), &d.keys[0]);
	ck_assert_ptr_null(desc_key_usable(&d, 100));
	ck_assert_ptr_null(desc_key_usable(&d, 149));
	ck_assert_ptr_eq(desc_key_usable(&d, 150), &d.keys[1]);
	d.nkeys = 0;
	ck_assert_ptr_null(desc_key_usable(&d, 60));
}
END_TEST

START_TEST(test_strerror)
{
	enum desc_err e, f;

	for (e = DESC_OK; e <= DESC_ERR_SIGNATURE; e++) {
		ck_assert_ptr_nonnull(desc_strerror(e));
		for (f = DESC_OK; f < e; f++)
			ck_assert_str_ne(desc_strerror(e), desc_strerror(f));
	}
	ck_assert_str_eq(desc_strerror((enum desc_err)99), "unknown error");
}
END_TEST

static Suite *
descriptor_suite(void)
{
	Suite *s = suite_create("descriptor");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_golden_format);
	tcase_add_loop_test(tc, test_variants, 0, NVARIANTS);
	tcase_add_loop_test(tc, test_variants_current, 0, NVARIANTS);
	tcase_add_test(tc, test_bit_flips);
	tcase_add_test(tc, test_truncations);
	tcase_add_test(tc, test_size);
	tcase_add_test(tc, test_roundtrip_random);
	tcase_add_test(tc, test_roundtrip_extremes);
	tcase_add_loop_test(tc, test_format_refuses, 0, NARG_CASES);
	tcase_add_test(tc, test_key_usable);
	tcase_add_test(tc, test_strerror);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	if (getenv("DESC_WRITE_GOLDEN") != NULL)
		return write_golden();
	sr = srunner_create(descriptor_suite());
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
