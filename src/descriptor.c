/*
 * descriptor.c - a node's signed descriptor (descriptor.h; the format is
 * specified byte by byte in doc/descriptor-format.md).
 *
 * The text is one "keyword SP value LF" line per field, in this order:
 *
 *   mixmail-descriptor 1
 *   name, address, identity, published, software, capabilities,
 *   max-size, mixing, packet-versions, exit-policy,
 *   mix-key (1 to DESC_MAX_KEYS lines), signature
 *
 * The signature is Ed25519 by the identity key over the prefix
 * "mixmail descriptor v1" NUL followed by every byte before the signature
 * line.
 *
 * The parser reads the lines forwards and stops at the first problem; it
 * never reads past len and needs no NUL. Every value has exactly one
 * spelling (lower-case hex, fixed-width UTC times, decimal numbers without
 * leading zeros, single spaces), so a signed descriptor cannot be
 * re-spelled into another accepted text: any changed byte makes it fail.
 * desc_format writes that one spelling, then parses its own output and
 * compares it with its input, so that writer and parser cannot disagree
 * and no field can smuggle in a line of its own.
 *
 * Functions: desc_format(), desc_parse(), desc_key_usable(),
 * desc_strerror().
 */
#include <config.h>

#include <stdio.h>
#include <string.h>

#include "descriptor.h"
#include "mcrypto.h"
#include "mem.h"
#include "pkt.h"

/*
 * Signed in front of the text. The NUL is part of it: no descriptor
 * signature can be mistaken for the signature of another kind of object.
 */
static const char sig_prefix[] = "mixmail descriptor v1";
#define PREFIX_LEN	sizeof sig_prefix	/* 22 bytes, with the NUL */

#define MAGIC		"mixmail-descriptor"
#define TIME_LEN	20			/* YYYY-MM-DDTHH:MM:SSZ */
#define TIME_MIN_YEAR	1970
#define TIME_MAX	INT64_C(253402300799)	/* 9999-12-31T23:59:59Z */
#define MAX_SIZE_MIN	32768			/* an armored packet must fit */
#define MAX_SIZE_MAX	1073741824		/* 1 GiB: a sanity bound */
#define PKT_VERSION_MAX	31			/* highest bit of pkt_versions */
#define KEY_HEX		64			/* 32 bytes in hex */
#define SIG_HEX		(2 * MCRYPTO_SIGN_BYTES)

enum field {
	F_NAME, F_ADDRESS, F_IDENTITY, F_PUBLISHED, F_SOFTWARE, F_CAPABILITIES,
	F_MAX_SIZE, F_MIXING, F_PKT_VERSIONS, F_EXIT_POLICY, F_MIX_KEY, F_SIGNATURE,
	NFIELDS
};

static const char *const keywords[NFIELDS] = {
	"name", "address", "identity", "published", "software", "capabilities",
	"max-size", "mixing", "packet-versions", "exit-policy", "mix-key", "signature"
};

/* A counted piece of the input */
struct span {
	const char *p;
	size_t len;
};

static int
span_is(const struct span *s, const char *str)
{
	size_t n = strlen(str);

	return s->len == n && memcmp(s->p, str, n) == 0;
}

/* span_split - cut s at its first space: head before, s after; 0 if none */
static int
span_split(struct span *s, struct span *head)
{
	const char *sp = memchr(s->p, ' ', s->len);

	if (sp == NULL)
		return 0;
	head->p = s->p;
	head->len = (size_t)(sp - s->p);
	s->len -= head->len + 1;
	s->p = sp + 1;
	return 1;
}

static int
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* --- times: YYYY-MM-DDTHH:MM:SSZ, UTC, 1970 to 9999 ------------------------- */

static int
is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int64_t
month_days(int64_t y, unsigned m)
{
	static const unsigned char days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	return days[m - 1] + (m == 2 && is_leap(y));
}

/* days_before_year - days from 1970-01-01 to y-01-01, y >= 1970 */
static int64_t
days_before_year(int64_t y)
{
	int64_t p = y - 1, q = TIME_MIN_YEAR - 1;

	return (y - TIME_MIN_YEAR) * 365 + (p / 4 - p / 100 + p / 400) - (q / 4 - q / 100 + q / 400);
}

/* set_digits - v (0 <= v < 10^n) as n decimal digits at p */
static void
set_digits(char *p, size_t n, int64_t v)
{
	while (n-- > 0) {
		p[n] = (char)('0' + v % 10);
		v /= 10;
	}
}

/* time_text - t (0 <= t <= TIME_MAX) in the fixed form, NUL-terminated */
static void
time_text(char out[TIME_LEN + 1], int64_t t)
{
	int64_t days = t / 86400, secs = t % 86400, y;
	unsigned m = 1;

	/* No year is longer than 366 days: start below and count up. */
	for (y = TIME_MIN_YEAR + days / 366; days_before_year(y + 1) <= days; y++)
		;
	days -= days_before_year(y);
	for (; days >= month_days(y, m); m++)
		days -= month_days(y, m);
	memcpy(out, "0000-00-00T00:00:00Z", TIME_LEN + 1);
	set_digits(out, 4, y);
	set_digits(out + 5, 2, m);
	set_digits(out + 8, 2, days + 1);
	set_digits(out + 11, 2, secs / 3600);
	set_digits(out + 14, 2, secs / 60 % 60);
	set_digits(out + 17, 2, secs % 60);
}

/* digits - the value of the n decimal digits at p (checked by the caller) */
static int64_t
digits(const char *p, size_t n)
{
	int64_t v = 0;

	while (n-- > 0)
		v = v * 10 + (*p++ - '0');
	return v;
}

static enum desc_err
parse_time(const struct span *v, int64_t *t)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:ddZ";
	int64_t y, mo, d, h, mi, s, days;
	size_t i;

	if (v->len != TIME_LEN)
		return DESC_ERR_SYNTAX;
	for (i = 0; i < TIME_LEN; i++)
		if (shape[i] == 'd' ? !is_digit(v->p[i]) : v->p[i] != shape[i])
			return DESC_ERR_SYNTAX;
	y = digits(v->p, 4);
	mo = digits(v->p + 5, 2);
	d = digits(v->p + 8, 2);
	h = digits(v->p + 11, 2);
	mi = digits(v->p + 14, 2);
	s = digits(v->p + 17, 2);
	if (y < TIME_MIN_YEAR || mo < 1 || mo > 12 || d < 1 || d > month_days(y, (unsigned)mo) ||
	    h > 23 || mi > 59 || s > 59)
		return DESC_ERR_VALUE;
	days = days_before_year(y) + d - 1;
	for (i = 1; i < (size_t)mo; i++)
		days += month_days(y, (unsigned)i);
	*t = days * 86400 + h * 3600 + mi * 60 + s;
	return DESC_OK;
}

/* --- values ------------------------------------------------------------------- */

/*
 * parse_uint - a decimal number without sign or leading zero: SYNTAX if
 * it is not one, VALUE if it is above max.
 */
static enum desc_err
parse_uint(const struct span *v, uint64_t max, uint64_t *out)
{
	uint64_t n = 0, dig;
	int over = 0;
	size_t i;

	if (v->len == 0 || (v->p[0] == '0' && v->len > 1))
		return DESC_ERR_SYNTAX;
	for (i = 0; i < v->len; i++) {
		if (!is_digit(v->p[i]))
			return DESC_ERR_SYNTAX;
		dig = (uint64_t)(v->p[i] - '0');
		if (over || n > (max - dig) / 10)
			over = 1;
		else
			n = n * 10 + dig;
	}
	if (over)
		return DESC_ERR_VALUE;
	*out = n;
	return DESC_OK;
}

/* parse_hex - exactly 2 * n lower-case hex digits */
static enum desc_err
parse_hex(const struct span *v, uint8_t *out, size_t n)
{
	size_t i;

	if (v->len != 2 * n)
		return DESC_ERR_SYNTAX;
	for (i = 0; i < v->len; i++)
		if (!is_digit(v->p[i]) && !(v->p[i] >= 'a' && v->p[i] <= 'f'))
			return DESC_ERR_SYNTAX;
	return mcrypto_unhex(out, n, v->p, v->len) == 0 ? DESC_OK : DESC_ERR_SYNTAX;
}

/* parse_word - 1..max of [a-z0-9-] (name, mixing) */
static enum desc_err
parse_word(const struct span *v, char *out, size_t max)
{
	size_t i;
	char c;

	if (v->len == 0 || v->len > max)
		return DESC_ERR_VALUE;
	for (i = 0; i < v->len; i++) {
		c = v->p[i];
		if (!is_digit(c) && !(c >= 'a' && c <= 'z') && c != '-')
			return DESC_ERR_VALUE;
	}
	memcpy(out, v->p, v->len);
	out[v->len] = '\0';
	return DESC_OK;
}

/* parse_text - 1..max printable characters (checked by next_line) */
static enum desc_err
parse_text(const struct span *v, char *out, size_t max)
{
	if (v->len == 0 || v->len > max)
		return DESC_ERR_VALUE;
	memcpy(out, v->p, v->len);
	out[v->len] = '\0';
	return DESC_OK;
}

/* parse_versions - "1 2 5": 1..PKT_VERSION_MAX, strictly increasing */
static enum desc_err
parse_versions(struct span v, uint32_t *out)
{
	struct span tok;
	uint64_t n, prev = 0;
	uint32_t set = 0;
	enum desc_err err;
	int more;

	do {
		more = span_split(&v, &tok);
		if (!more)
			tok = v;
		if ((err = parse_uint(&tok, PKT_VERSION_MAX, &n)) != DESC_OK)
			return err;
		if (n <= prev)
			return DESC_ERR_VALUE;	/* 0, repeated or out of order */
		set |= UINT32_C(1) << n;
		prev = n;
	} while (more);
	*out = set;
	return DESC_OK;
}

/*
 * parse_key - "HEX SP FROM SP UNTIL" for key number i; keys[0..i) are
 * already parsed. from < until, the pk is not zero and not repeated,
 * valid_from strictly above the previous key's.
 */
static enum desc_err
parse_key(struct span v, struct desc_mixkey *keys, size_t i)
{
	struct span hex, from;
	struct desc_mixkey *k = &keys[i];
	enum desc_err err;
	size_t j;

	if (!span_split(&v, &hex) || !span_split(&v, &from) || memchr(v.p, ' ', v.len) != NULL)
		return DESC_ERR_SYNTAX;
	if ((err = parse_hex(&hex, k->pk, sizeof k->pk)) != DESC_OK ||
	    (err = parse_time(&from, &k->valid_from)) != DESC_OK ||
	    (err = parse_time(&v, &k->valid_until)) != DESC_OK)
		return err;
	if (k->valid_from >= k->valid_until || mcrypto_is_zero(k->pk, sizeof k->pk))
		return DESC_ERR_VALUE;
	if (i > 0 && k->valid_from <= keys[i - 1].valid_from)
		return DESC_ERR_VALUE;
	for (j = 0; j < i; j++)
		if (memcmp(keys[j].pk, k->pk, sizeof k->pk) == 0)
			return DESC_ERR_VALUE;
	return DESC_OK;
}

/* --- lines -------------------------------------------------------------------- */

struct reader {
	const char *buf;
	size_t len;
	size_t off;		/* where the next line starts */
	size_t start;		/* where the line last read starts */
	unsigned line;		/* its number, from 1 */
	struct span kw, val;	/* its keyword and value */
};

/*
 * next_line - read the next line into r->kw and r->val. SYNTAX unless it
 * ends in LF, holds only printable ASCII (0x20..0x7e) and is "keyword SP
 * value" with no space at either end and never two spaces in a row. The
 * text ending before the line is SYNTAX too: a line is missing.
 */
static enum desc_err
next_line(struct reader *r)
{
	const char *p = r->buf + r->off, *nl;
	size_t n, i;
	unsigned char c;

	r->line++;
	r->start = r->off;
	if (r->off == r->len)
		return DESC_ERR_SYNTAX;
	if ((nl = memchr(p, '\n', r->len - r->off)) == NULL)
		return DESC_ERR_SYNTAX;
	n = (size_t)(nl - p);
	r->off += n + 1;
	for (i = 0; i < n; i++) {
		c = (unsigned char)p[i];
		if (c < 0x20 || c > 0x7e)
			return DESC_ERR_SYNTAX;
		if (c == ' ' && (i == 0 || i == n - 1 || p[i - 1] == ' '))
			return DESC_ERR_SYNTAX;
	}
	r->val.p = p;
	r->val.len = n;
	return span_split(&r->val, &r->kw) ? DESC_OK : DESC_ERR_SYNTAX;
}

/* expect - the next line, which must carry field f */
static enum desc_err
expect(struct reader *r, enum field f)
{
	enum desc_err err;

	if ((err = next_line(r)) != DESC_OK)
		return err;
	return span_is(&r->kw, keywords[f]) ? DESC_OK : DESC_ERR_SYNTAX;
}

/* parse_version - the first line, "mixmail-descriptor 1" */
static enum desc_err
parse_version(struct reader *r)
{
	enum desc_err err;
	uint64_t v;

	if ((err = next_line(r)) != DESC_OK)
		return err;
	if (!span_is(&r->kw, MAGIC))
		return DESC_ERR_SYNTAX;
	err = parse_uint(&r->val, UINT64_MAX, &v);
	if (err == DESC_ERR_SYNTAX)
		return err;
	return err == DESC_OK && v == DESC_VERSION ? DESC_OK : DESC_ERR_VERSION;
}

/* parse_field - the value of the line just read, which carries field f */
static enum desc_err
parse_field(const struct reader *r, enum field f, struct descriptor *d)
{
	const struct span *v = &r->val;
	enum desc_err err;

	switch (f) {
	case F_NAME:
		return parse_word(v, d->name, DESC_NAME_MAX);
	case F_ADDRESS:
		if (!pkt_addr_valid(v->p, v->len))
			return DESC_ERR_VALUE;
		return parse_text(v, d->address, PKT_ADDR_MAX);
	case F_IDENTITY:
		return parse_hex(v, d->identity, sizeof d->identity);
	case F_PUBLISHED:
		return parse_time(v, &d->published);
	case F_SOFTWARE:
		return parse_text(v, d->software, DESC_SOFTWARE_MAX);
	case F_CAPABILITIES:
		if (span_is(v, "exit"))
			d->exit = 1;
		else if (span_is(v, "middleman"))
			d->exit = 0;
		else
			return DESC_ERR_VALUE;
		return DESC_OK;
	case F_MAX_SIZE:
		if ((err = parse_uint(v, MAX_SIZE_MAX, &d->max_size)) != DESC_OK)
			return err;
		return d->max_size >= MAX_SIZE_MIN ? DESC_OK : DESC_ERR_VALUE;
	case F_MIXING:
		return parse_word(v, d->mixing, DESC_MIXING_MAX);
	case F_PKT_VERSIONS:
		return parse_versions(*v, &d->pkt_versions);
	case F_EXIT_POLICY:
		return parse_text(v, d->exit_policy, DESC_POLICY_MAX);
	case F_MIX_KEY:
	case F_SIGNATURE:
	case NFIELDS:
		break;
	}
	return DESC_ERR_SYNTAX;		/* not reached: the caller's loop stops before */
}

/* verify - the signature sig of buf[0..len) with the prefix, by pk */
static int
verify(const uint8_t sig[MCRYPTO_SIGN_BYTES], const char *buf, size_t len,
    const uint8_t pk[MCRYPTO_SIGN_PK_BYTES])
{
	uint8_t msg[PREFIX_LEN + DESC_MAX_SIZE];

	if (len > DESC_MAX_SIZE)
		return 0;
	memcpy(msg, sig_prefix, PREFIX_LEN);
	memcpy(msg + PREFIX_LEN, buf, len);
	return mcrypto_sign_verify(sig, msg, PREFIX_LEN + len, pk) == 0;
}

/* parse_all - every line, in order, into d; r->line is where it stopped */
static enum desc_err
parse_all(struct reader *r, struct descriptor *d)
{
	uint8_t sig[MCRYPTO_SIGN_BYTES];
	enum desc_err err;
	enum field f;

	if ((err = parse_version(r)) != DESC_OK)
		return err;
	for (f = F_NAME; f < F_MIX_KEY; f++)
		if ((err = expect(r, f)) != DESC_OK || (err = parse_field(r, f, d)) != DESC_OK)
			return err;
	for (;;) {
		if ((err = next_line(r)) != DESC_OK)
			return err;
		if (!span_is(&r->kw, keywords[F_MIX_KEY]))
			break;
		if (d->nkeys == DESC_MAX_KEYS)
			return DESC_ERR_VALUE;
		if ((err = parse_key(r->val, d->keys, d->nkeys)) != DESC_OK)
			return err;
		d->nkeys++;
	}
	if (d->nkeys == 0 || !span_is(&r->kw, keywords[F_SIGNATURE]))
		return DESC_ERR_SYNTAX;
	if ((err = parse_hex(&r->val, sig, sizeof sig)) != DESC_OK)
		return err;
	if (r->off != r->len) {
		r->line++;		/* the signature line must be the last */
		return DESC_ERR_SYNTAX;
	}
	return verify(sig, r->buf, r->start, d->identity) ? DESC_OK : DESC_ERR_SIGNATURE;
}

enum desc_err
desc_parse(const char *buf, size_t len, struct descriptor *d, unsigned *line)
{
	struct reader r;
	struct descriptor tmp;
	enum desc_err err;

	memset(&r, 0, sizeof r);
	memset(&tmp, 0, sizeof tmp);
	r.buf = buf;
	r.len = len;
	if (len == 0 || len > DESC_MAX_SIZE)
		err = DESC_ERR_SIZE;
	else if ((err = parse_all(&r, &tmp)) == DESC_OK)
		*d = tmp;
	if (line != NULL)
		*line = err == DESC_OK || err == DESC_ERR_SIZE ? 0 : r.line;
	return err;
}

/* --- writing -------------------------------------------------------------------- */

struct writer {
	char *buf;
	size_t len, cap;
	int overflow;
};

static void
put(struct writer *w, const char *s, size_t n)
{
	if (w->overflow || n > w->cap - w->len) {
		w->overflow = 1;
		return;
	}
	memcpy(w->buf + w->len, s, n);
	w->len += n;
}

static void
put_str(struct writer *w, const char *s)
{
	put(w, s, strlen(s));
}

static void
put_uint(struct writer *w, uint64_t v)
{
	char tmp[24];

	snprintf(tmp, sizeof tmp, "%llu", (unsigned long long)v);
	put_str(w, tmp);
}

static void
put_hex(struct writer *w, const uint8_t *p, size_t n)
{
	char tmp[SIG_HEX + 1];

	if (2 * n > SIG_HEX) {		/* not reached: keys and signatures fit */
		w->overflow = 1;
		return;
	}
	mcrypto_hex(tmp, p, n);
	put(w, tmp, 2 * n);
}

static void
put_time(struct writer *w, int64_t t)
{
	char tmp[TIME_LEN + 1];

	time_text(tmp, t);
	put(w, tmp, TIME_LEN);
}

/* key_line - a keyword and its space; the caller writes the value and LF */
static void
key_line(struct writer *w, enum field f)
{
	put_str(w, keywords[f]);
	put(w, " ", 1);
}

static void
text_line(struct writer *w, enum field f, const char *value)
{
	key_line(w, f);
	put_str(w, value);
	put(w, "\n", 1);
}

static int
time_ok(int64_t t)
{
	return t >= 0 && t <= TIME_MAX;
}

/*
 * writable - what the writer itself relies on: terminated strings, times
 * it can spell, a key count within the array. Everything else is checked
 * by parsing the result.
 */
static int
writable(const struct descriptor *d)
{
	size_t i;

	if (strnlen(d->name, sizeof d->name) == sizeof d->name ||
	    strnlen(d->address, sizeof d->address) == sizeof d->address ||
	    strnlen(d->software, sizeof d->software) == sizeof d->software ||
	    strnlen(d->mixing, sizeof d->mixing) == sizeof d->mixing ||
	    strnlen(d->exit_policy, sizeof d->exit_policy) == sizeof d->exit_policy)
		return 0;
	if ((d->exit != 0 && d->exit != 1) || !time_ok(d->published) ||
	    d->nkeys == 0 || d->nkeys > DESC_MAX_KEYS)
		return 0;
	for (i = 0; i < d->nkeys; i++)
		if (!time_ok(d->keys[i].valid_from) || !time_ok(d->keys[i].valid_until))
			return 0;
	return 1;
}

/* same - 1 if the parsed b says exactly what a says */
static int
same(const struct descriptor *a, const struct descriptor *b)
{
	size_t i;

	if (strcmp(a->name, b->name) != 0 || strcmp(a->address, b->address) != 0 ||
	    memcmp(a->identity, b->identity, sizeof a->identity) != 0 ||
	    a->published != b->published || strcmp(a->software, b->software) != 0 ||
	    a->exit != b->exit || a->max_size != b->max_size ||
	    strcmp(a->mixing, b->mixing) != 0 || a->pkt_versions != b->pkt_versions ||
	    strcmp(a->exit_policy, b->exit_policy) != 0 || a->nkeys != b->nkeys)
		return 0;
	for (i = 0; i < a->nkeys; i++)
		if (memcmp(a->keys[i].pk, b->keys[i].pk, sizeof a->keys[i].pk) != 0 ||
		    a->keys[i].valid_from != b->keys[i].valid_from ||
		    a->keys[i].valid_until != b->keys[i].valid_until)
			return 0;
	return 1;
}

/* write_body - every line before the signature line */
static void
write_body(struct writer *w, const struct descriptor *d)
{
	const char *sep = "";
	unsigned v;
	size_t i;

	put_str(w, MAGIC " ");
	put_uint(w, DESC_VERSION);
	put(w, "\n", 1);
	text_line(w, F_NAME, d->name);
	text_line(w, F_ADDRESS, d->address);
	key_line(w, F_IDENTITY);
	put_hex(w, d->identity, sizeof d->identity);
	put(w, "\n", 1);
	key_line(w, F_PUBLISHED);
	put_time(w, d->published);
	put(w, "\n", 1);
	text_line(w, F_SOFTWARE, d->software);
	text_line(w, F_CAPABILITIES, d->exit ? "exit" : "middleman");
	key_line(w, F_MAX_SIZE);
	put_uint(w, d->max_size);
	put(w, "\n", 1);
	text_line(w, F_MIXING, d->mixing);
	key_line(w, F_PKT_VERSIONS);
	for (v = 0; v <= PKT_VERSION_MAX; v++)
		if (d->pkt_versions & (UINT32_C(1) << v)) {
			put_str(w, sep);
			put_uint(w, v);
			sep = " ";
		}
	put(w, "\n", 1);
	text_line(w, F_EXIT_POLICY, d->exit_policy);
	for (i = 0; i < d->nkeys; i++) {
		key_line(w, F_MIX_KEY);
		put_hex(w, d->keys[i].pk, sizeof d->keys[i].pk);
		put(w, " ", 1);
		put_time(w, d->keys[i].valid_from);
		put(w, " ", 1);
		put_time(w, d->keys[i].valid_until);
		put(w, "\n", 1);
	}
}

enum desc_err
desc_format(const struct descriptor *d, const uint8_t id_sk[64], char **out,
    size_t *out_len)
{
	struct writer w;
	struct descriptor back;
	uint8_t sig[MCRYPTO_SIGN_BYTES];
	enum desc_err err;
	size_t text_len;

	*out = NULL;
	*out_len = 0;
	if (!writable(d))
		return DESC_ERR_ARG;
	/* The prefix goes first in the buffer, so the signed bytes are contiguous. */
	w.cap = PREFIX_LEN + DESC_MAX_SIZE;
	w.buf = mem_alloc(w.cap + 1);
	w.len = 0;
	w.overflow = 0;
	put(&w, sig_prefix, PREFIX_LEN);
	write_body(&w, d);
	if (w.overflow) {
		err = DESC_ERR_SIZE;
		goto out;
	}
	mcrypto_sign(sig, (const uint8_t *)w.buf, w.len, id_sk);
	key_line(&w, F_SIGNATURE);
	put_hex(&w, sig, sizeof sig);
	put(&w, "\n", 1);
	if (w.overflow) {
		err = DESC_ERR_SIZE;
		goto out;
	}
	text_len = w.len - PREFIX_LEN;
	/* A wrong field, or an id_sk that is not d->identity's, fails here. */
	err = desc_parse(w.buf + PREFIX_LEN, text_len, &back, NULL);
	if (err == DESC_ERR_SIZE)
		goto out;
	if (err != DESC_OK || !same(d, &back)) {
		err = DESC_ERR_ARG;
		goto out;
	}
	memmove(w.buf, w.buf + PREFIX_LEN, text_len);
	w.buf[text_len] = '\0';
	*out = w.buf;
	*out_len = text_len;
	return DESC_OK;
out:
	mem_free(w.buf);
	return err;
}

const struct desc_mixkey *
desc_key_usable(const struct descriptor *d, int64_t now)
{
	const struct desc_mixkey *best = NULL;
	size_t i;

	/* Sorted by valid_from: the last usable key is the newest. */
	for (i = 0; i < d->nkeys && i < DESC_MAX_KEYS; i++)
		if (d->keys[i].valid_from <= now && now < d->keys[i].valid_until)
			best = &d->keys[i];
	return best;
}

const char *
desc_strerror(enum desc_err e)
{
	switch (e) {
	case DESC_OK:		return "ok";
	case DESC_ERR_ARG:	return "invalid descriptor fields or key";
	case DESC_ERR_SIZE:	return "descriptor empty or too long";
	case DESC_ERR_SYNTAX:	return "malformed, missing, repeated or misplaced line";
	case DESC_ERR_VERSION:	return "unknown descriptor version";
	case DESC_ERR_VALUE:	return "field value not allowed";
	case DESC_ERR_SIGNATURE: return "bad descriptor signature";
	}
	return "unknown error";
}
