/*
 * armor.c - ASCII armor for packets in mail bodies (armor.h,
 * doc/packet-format.md section 9).
 *
 * The encoder writes the canonical form: BEGIN line, "Packet-Type:
 * mixmail-1", an empty line, the base64 of the packet at ARMOR_COLUMNS
 * characters a line, END line, every line ended by LF.
 *
 * The decoder reads text as lines. A line ends at LF or at the end of the
 * text; SP, HTAB and CR are stripped from both ends of every line before it
 * is looked at, so CR LF, LF, a mix of both, trailing white space and
 * indentation all read alike. Then:
 *
 *   armor   = BEGIN-line *header-line [empty-line] body END-line
 *   BEGIN-line  = "-----BEGIN MIXMAIL PACKET-----" (the whole line)
 *   header-line = name ":" *WSP value, name = 1*(VCHAR except ":")
 *   body    = *(empty-line / base64-line)
 *   base64-line = 1*(ALPHA / DIGIT / "+" / "/" / "=")
 *   END-line    = "-----END MIXMAIL PACKET-----" (the whole line)
 *
 * The header block ends at the first line that is not a header line. A
 * base64 line can never contain ":", so the empty line after the headers
 * may be missing without ambiguity. Exactly one header must be named
 * Packet-Type (any case) with the value mixmail-1 (exact); other headers
 * are ignored. The base64 characters of all body lines are joined and must
 * be padded base64 of exactly PKT_SIZE bytes; no more than ARMOR_B64_LEN
 * of them are ever kept. Text before BEGIN and after END is ignored. A
 * second BEGIN line before END means the first armor was cut off.
 *
 * Functions: armor_encode(), armor_decode(), armor_strerror().
 */
#include <config.h>

#include <string.h>

#include "armor.h"
#include "mcrypto.h"
#include "mem.h"

/* Packet bytes on one base64 line of the canonical form */
#define LINE_BYTES	(ARMOR_COLUMNS / 4 * 3)
/* Most bytes ARMOR_B64_LEN base64 characters can decode to (20481) */
#define DEC_MAX		(ARMOR_B64_LEN / 4 * 3)

_Static_assert(ARMOR_COLUMNS % 4 == 0, "a canonical base64 line holds whole quanta");
_Static_assert(ARMOR_SIZE == (sizeof ARMOR_BEGIN - 1) + 1
    + (sizeof ARMOR_TYPE_KEY - 1) + 2 + (sizeof ARMOR_TYPE - 1) + 1
    + 1
    + ARMOR_B64_LEN + (PKT_SIZE + LINE_BYTES - 1) / LINE_BYTES
    + (sizeof ARMOR_END - 1) + 1
    + 1, "ARMOR_SIZE is the exact output of armor_encode plus the NUL");

/* One line of the text, trimmed */
struct line {
	const char *p;
	size_t len;
	size_t next;		/* offset of the following line */
};

static int
is_wsp(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

static int
is_b64(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '+' || c == '/' || c == '=';
}

/* get_line - the line starting at off (off < len), white space stripped */
static void
get_line(const char *text, size_t len, size_t off, struct line *l)
{
	const char *s = text + off, *e, *nl;

	nl = memchr(s, '\n', len - off);
	e = nl != NULL ? nl : text + len;
	l->next = nl != NULL ? (size_t)(nl - text) + 1 : len;
	while (s < e && is_wsp(*s))
		s++;
	while (e > s && is_wsp(e[-1]))
		e--;
	l->p = s;
	l->len = (size_t)(e - s);
}

static int
line_is(const struct line *l, const char *s)
{
	size_t n = strlen(s);

	return l->len == n && memcmp(l->p, s, n) == 0;
}

/* ascii_caseeq - 1 if p[0..n) equals s ignoring ASCII case */
static int
ascii_caseeq(const char *p, size_t n, const char *s)
{
	size_t i;
	char a, b;

	if (strlen(s) != n)
		return 0;
	for (i = 0; i < n; i++) {
		a = p[i] >= 'A' && p[i] <= 'Z' ? (char)(p[i] - 'A' + 'a') : p[i];
		b = s[i] >= 'A' && s[i] <= 'Z' ? (char)(s[i] - 'A' + 'a') : s[i];
		if (a != b)
			return 0;
	}
	return 1;
}

/*
 * header_line - 1 if l is "name: value"; sets name (the first name_len
 * bytes of l) and value (the rest after ":" and white space).
 */
static int
header_line(const struct line *l, size_t *name_len, struct line *value)
{
	size_t i;

	for (i = 0; i < l->len && l->p[i] != ':'; i++)
		if ((unsigned char)l->p[i] <= ' ' || (unsigned char)l->p[i] > '~')
			return 0;
	if (i == 0 || i == l->len)
		return 0;
	*name_len = i;
	for (i++; i < l->len && (l->p[i] == ' ' || l->p[i] == '\t'); i++)
		;
	value->p = l->p + i;
	value->len = l->len - i;
	return 1;
}

size_t
armor_encode(char *out, size_t out_size, const uint8_t pkt[PKT_SIZE])
{
	static const char head[] = ARMOR_BEGIN "\n" ARMOR_TYPE_KEY ": " ARMOR_TYPE "\n\n";
	static const char tail[] = ARMOR_END "\n";
	size_t n, i, chunk;

	if (out_size < ARMOR_SIZE) {
		if (out_size > 0)
			out[0] = '\0';
		return 0;
	}
	memcpy(out, head, sizeof head - 1);
	n = sizeof head - 1;
	/* whole 3-byte groups per line: line by line equals the whole encoded */
	for (i = 0; i < PKT_SIZE; i += chunk) {
		chunk = PKT_SIZE - i < LINE_BYTES ? PKT_SIZE - i : LINE_BYTES;
		mcrypto_base64(out + n, out_size - n, pkt + i, chunk);
		n += mcrypto_base64_len(chunk) - 1;
		out[n++] = '\n';
	}
	memcpy(out + n, tail, sizeof tail);
	return n + sizeof tail - 1;
}

enum armor_err
armor_decode(const char *text, size_t len, uint8_t pkt[PKT_SIZE], size_t *end)
{
	struct line l, value;
	enum armor_err err;
	size_t off = 0, resume, name_len, nb64 = 0, dec_len, i;
	unsigned ntype = 0, type_ok = 0;
	char *b64 = NULL;
	uint8_t *dec;

	/* The BEGIN line */
	for (;;) {
		if (off >= len) {
			if (end != NULL)
				*end = len;
			return ARMOR_ERR_NONE;
		}
		get_line(text, len, off, &l);
		off = l.next;
		if (line_is(&l, ARMOR_BEGIN))
			break;
	}
	resume = off;		/* a bad armor: go on after its BEGIN line */

	/* Header lines, up to the first line that is not one */
	err = ARMOR_ERR_TRUNCATED;
	for (;;) {
		if (off >= len)
			goto out;
		get_line(text, len, off, &l);
		off = l.next;
		if (!header_line(&l, &name_len, &value))
			break;
		if (ascii_caseeq(l.p, name_len, ARMOR_TYPE_KEY)) {
			ntype++;
			type_ok = value.len == strlen(ARMOR_TYPE) &&
			    memcmp(value.p, ARMOR_TYPE, value.len) == 0;
		}
	}
	if (line_is(&l, ARMOR_BEGIN))
		goto out;		/* still ARMOR_ERR_TRUNCATED */
	if (ntype != 1 || !type_ok) {
		err = ARMOR_ERR_TYPE;
		goto out;
	}

	/* Body lines up to END; l is the first line after the headers */
	b64 = mem_alloc(ARMOR_B64_LEN + DEC_MAX);
	dec = (uint8_t *)b64 + ARMOR_B64_LEN;
	for (;;) {
		if (line_is(&l, ARMOR_END))
			break;
		if (line_is(&l, ARMOR_BEGIN)) {
			err = ARMOR_ERR_TRUNCATED;
			goto out;
		}
		for (i = 0; i < l.len; i++)
			if (!is_b64(l.p[i])) {
				err = ARMOR_ERR_BASE64;
				goto out;
			}
		if (l.len > ARMOR_B64_LEN - nb64) {
			err = ARMOR_ERR_LENGTH;
			goto out;
		}
		memcpy(b64 + nb64, l.p, l.len);
		nb64 += l.len;
		if (off >= len) {
			err = ARMOR_ERR_TRUNCATED;
			goto out;
		}
		get_line(text, len, off, &l);
		off = l.next;
	}

	if (mcrypto_unbase64(dec, DEC_MAX, &dec_len, b64, nb64) != 0) {
		err = ARMOR_ERR_BASE64;
		goto out;
	}
	if (dec_len != PKT_SIZE) {
		err = ARMOR_ERR_LENGTH;
		goto out;
	}
	memcpy(pkt, dec, PKT_SIZE);
	err = ARMOR_OK;
	resume = off;

out:
	if (b64 != NULL)
		mem_free(b64);
	if (end != NULL)
		*end = resume;
	return err;
}

enum armor_err
armor_search(const char *text, size_t len, uint8_t pkt[PKT_SIZE])
{
	enum armor_err err, last = ARMOR_ERR_NONE;
	size_t off = 0, end;

	while (off < len) {
		err = armor_decode(text + off, len - off, pkt, &end);
		if (err == ARMOR_OK)
			return ARMOR_OK;
		if (err == ARMOR_ERR_NONE || end == 0)
			break;
		last = err;
		off += end;
	}
	return last;
}

const char *
armor_strerror(enum armor_err err)
{
	switch (err) {
	case ARMOR_OK:		return "ok";
	case ARMOR_ERR_NONE:	return "no armor found";
	case ARMOR_ERR_TRUNCATED: return "armor has no END line";
	case ARMOR_ERR_TYPE:	return "missing or unknown Packet-Type";
	case ARMOR_ERR_BASE64:	return "invalid base64 in armor";
	case ARMOR_ERR_LENGTH:	return "armor does not decode to one packet";
	}
	return "unknown error";
}
