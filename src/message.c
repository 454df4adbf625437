/*
 * message.c - the message a packet carries to its exit, and the mail the
 * exit makes of it (message.h, doc/message-format.md).
 *
 * One strict reader, parse(), serves every user: it splits the header
 * block at the first empty line, accepts only allowlisted fields of
 * printable ASCII, each at most once, checks each value by its kind
 * (address lists are read twice, here and by GMime, and the readings
 * must agree) and collects the destinations. One writer, emit(), prints the fields in a
 * fixed order with one folding rule, so that a message looks the same
 * whatever program wrote it. message_compose and message_from_mail build
 * a draft, read it back with parse() and print the result, so that what
 * they return has passed every check the exit makes.
 *
 * The body is never changed: parse() bounds its MIME structure (depth,
 * parts) through GMime and keeps its bytes.
 *
 * Nothing here logs. Error texts never hold a message byte, except the
 * name of an extra header the caller gave message_compose.
 *
 * Functions: message_compose(), message_from_mail(), message_recipients(),
 * message_recipients_free(), message_exit_build(), exit_mail_free(),
 * message_strerror(), exit_verdict_name().
 */
#include <config.h>

#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <gmime/gmime.h>

#include "fragment.h"		/* FRAG_MSG_MAX */
#include "mailpkt.h"		/* mailpkt_init, MAILPKT_MAX_MAIL */
#include "mcrypto.h"
#include "mem.h"
#include "message.h"
#include "pktmail.h"		/* pktmail_date */

#define LINE_MAX_LEN	998	/* RFC 5322 line limit, LF not counted */
#define FOLD_AT		78	/* fold header lines longer than this */
#define MIME_MAX_DEPTH	16	/* nested multipart and message/rfc822 */
#define MIME_MAX_PARTS	256	/* MIME entities in a message */
#define ADDR_MAX	254
#define LOCAL_MAX	64
#define LABEL_MAX	63

/* Value kinds; the allowlist in its output order */
enum kind { K_DEST, K_ADDR, K_TEXT, K_IDS, K_ID, K_VERSION, K_TYPE, K_CTE, K_DISP, K_LANG };

static const struct field {
	const char *name;
	enum kind kind;
	int mime;		/* printed after the exit's own fields */
	int extra;		/* message_compose takes it from c->headers */
} allow[] = {
	{ "To", K_DEST, 0, 0 },
	{ "Cc", K_DEST, 0, 0 },
	{ "Subject", K_TEXT, 0, 0 },
	{ "Reply-To", K_ADDR, 0, 1 },
	{ "In-Reply-To", K_IDS, 0, 1 },
	{ "References", K_IDS, 0, 1 },
	{ "Keywords", K_TEXT, 0, 1 },
	{ "MIME-Version", K_VERSION, 1, 0 },
	{ "Content-Type", K_TYPE, 1, 0 },
	{ "Content-Transfer-Encoding", K_CTE, 1, 0 },
	{ "Content-Disposition", K_DISP, 1, 0 },
	{ "Content-ID", K_ID, 1, 0 },
	{ "Content-Description", K_TEXT, 1, 0 },
	{ "Content-Language", K_LANG, 1, 0 },
};
#define NFIELDS	((int)(sizeof allow / sizeof *allow))

/* A message as parse() read it */
struct parsed {
	char *val[NFIELDS];	/* unfolded value, blanks trimmed; NULL: absent */
	char *out[NFIELDS];	/* address fields: the value as printed */
	char **rcpt;		/* To then Cc, duplicates removed */
	size_t nrcpt;
	size_t body;		/* offset of the body */
};

/* A growing byte buffer */
struct buf {
	uint8_t *p;
	size_t len, cap;
};

static void
buf_add(struct buf *b, const void *s, size_t n)
{
	if (b->cap - b->len < n + 1) {
		b->cap = (b->len + n + 1) * 2;
		b->p = mem_realloc(b->p, b->cap);
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void
buf_str(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

static void seterr(char *, size_t, const char *, ...) __attribute__((format(printf, 3, 4)));

static void
seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static int
wsp(int c)
{
	return c == ' ' || c == '\t';
}

static int
alnum(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* atext of RFC 5322 */
static int
atext(int c)
{
	return alnum(c) || (c != 0 && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

/* token of RFC 2045: printable ASCII but blank and tspecials */
static int
tchar(int c)
{
	return c > ' ' && c < 127 && strchr("()<>@,;:\\\"/[]?=", c) == NULL;
}

static int
field_index(const char *name, size_t n)
{
	int i;

	for (i = 0; i < NFIELDS; i++)
		if (strlen(allow[i].name) == n && g_ascii_strncasecmp(allow[i].name, name, n) == 0)
			return i;
	return -1;
}

/* ---- addresses ---------------------------------------------------------- */

/* addr_ok - s is a strict addr-spec (doc/message-format.md) */
static int
addr_ok(const char *s)
{
	const char *at = strchr(s, '@'), *p, *label;
	size_t n = strlen(s);

	if (at == NULL || strchr(at + 1, '@') != NULL || n > ADDR_MAX)
		return 0;
	if (at == s || (size_t)(at - s) > LOCAL_MAX || *s == '.' || at[-1] == '.')
		return 0;
	for (p = s; p < at; p++)
		if (!(atext(*p) || (*p == '.' && p[1] != '.')))
			return 0;
	/* Domain: at least two labels of letters, digits and inner hyphens */
	label = at + 1;
	for (p = label;; p++) {
		if (*p == '.' || *p == '\0') {
			if (p == label || p - label > LABEL_MAX || *label == '-' || p[-1] == '-')
				return 0;
			if (*p == '\0')
				break;
			label = p + 1;
		} else if (!alnum(*p) && *p != '-')
			return 0;
	}
	if (strchr(at, '.') == NULL)
		return 0;
	/* A last label of digits would make a dotted IP address */
	for (p = label; *p != '\0' && *p >= '0' && *p <= '9'; p++)
		;
	return *p != '\0';
}

/* same_addr - local parts equal, domains equal ignoring ASCII case */
static int
same_addr(const char *a, const char *b)
{
	const char *x = strchr(a, '@'), *y = strchr(b, '@');

	return x - a == y - b && memcmp(a, b, (size_t)(x - a)) == 0 &&
	    g_ascii_strcasecmp(x, y) == 0;
}

/*
 * list_addrs - the addr-spec of each element of the address list v as
 * this reader sees it: what the angle brackets hold, or the whole element
 * less comments. -1 for group syntax, an empty element, text after the
 * brackets, a blank inside a bare addr-spec, or unbalanced quotes,
 * comments or brackets. GMime reads the list too; the two readings must
 * agree, since GMime skips what it cannot read.
 */
static long
list_addrs(const char *v, char ***out)
{
	struct buf a = { 0 };
	long n = 0;
	int quote = 0, comment = 0, angle = 0, content = 0, blank = 0;

	*out = NULL;
	for (;; v++) {
		if (comment || quote) {
			if (*v == '\0')
				goto bad;
			if (*v == '\\' && v[1] != '\0')
				v++;
			else if (comment)
				comment += *v == '(' ? 1 : *v == ')' ? -1 : 0;
			else if (*v == '"')
				quote = 0;
			if (quote && angle != 1)
				buf_add(&a, v, 1);
			continue;
		}
		if (*v == ',' || *v == '\0') {
			if (!content || angle == 1 || (angle == 0 && blank == 2))
				goto bad;
			*out = mem_realloc(*out, (size_t)(n + 1) * sizeof **out);
			(*out)[n++] = a.p != NULL ? (char *)a.p : mem_strdup("");
			memset(&a, 0, sizeof a);
			if (*v == '\0')
				return n;
			content = angle = blank = 0;
			continue;
		}
		if (*v == '(') {
			comment = 1;
			continue;
		}
		if (wsp(*v)) {
			if (content && angle == 0 && blank == 0)
				blank = 1;
			continue;
		}
		if (*v == ':' || *v == ';' || angle == 2 || (*v == '>' && angle != 1) ||
		    (*v == '<' && angle != 0))
			goto bad;
		if (blank == 1)
			blank = 2;	/* text after a blank */
		content = 1;
		if (*v == '<' && a.p != NULL)
			a.p[a.len = 0] = '\0';	/* the display name is GMime's */
		if (*v == '<' || *v == '>') {
			angle++;
			continue;
		}
		quote = *v == '"';
		buf_add(&a, v, 1);
	}
bad:
	mem_free(a.p);
	while (n > 0)
		mem_free((*out)[--n]);
	mem_free(*out);
	*out = NULL;
	return -1;
}

/* name_ok - a decoded display name: UTF-8 without control characters */
static int
name_ok(const char *s)
{
	const unsigned char *p;

	if (!g_utf8_validate(s, -1, NULL))
		return 0;
	for (p = (const unsigned char *)s; *p != '\0'; p++)
		if (*p < ' ' || *p == 127)
			return 0;
	return 1;
}

/*
 * addresses - read the address list v: every element a mailbox with a
 * strict addr-spec; destinations go to pm->rcpt. *printed receives the
 * list as emit() prints it (GMime encodes display names).
 */
static enum msg_err
addresses(struct parsed *pm, const char *v, int dest, char **printed)
{
	InternetAddressList *list;
	InternetAddress *a;
	const char *addr, *name;
	struct buf b = { 0 };
	char *enc, **mine;
	long n = list_addrs(v, &mine);
	int i, len;
	size_t j;
	enum msg_err e = MSG_ERR_HEADER;

	list = n > 0 ? internet_address_list_parse(NULL, v) : NULL;
	len = list != NULL ? internet_address_list_length(list) : -1;
	if (n <= 0 || len != n)
		goto out;
	for (i = 0; i < len; i++) {
		a = internet_address_list_get_address(list, i);
		if (!INTERNET_ADDRESS_IS_MAILBOX(a))
			goto out;
		addr = internet_address_mailbox_get_idn_addr(INTERNET_ADDRESS_MAILBOX(a));
		name = internet_address_get_name(a);
		if (addr == NULL || strcmp(addr, mine[i]) != 0)
			goto out;
		if (!addr_ok(addr)) {
			e = MSG_ERR_ADDR;
			goto out;
		}
		if (i > 0)
			buf_str(&b, ", ");
		if (name != NULL && *name != '\0') {
			if (!name_ok(name))
				goto out;
			if ((enc = g_mime_utils_header_encode_phrase(NULL, name, "utf-8")) == NULL)
				goto out;
			buf_str(&b, enc);
			g_free(enc);
			buf_str(&b, " <");
			buf_str(&b, addr);
			buf_str(&b, ">");
		} else
			buf_str(&b, addr);
		if (!dest)
			continue;
		for (j = 0; j < pm->nrcpt && !same_addr(pm->rcpt[j], addr); j++)
			;
		if (j < pm->nrcpt)
			continue;
		if (pm->nrcpt == MESSAGE_RCPT_MAX) {
			e = MSG_ERR_RCPTS;
			goto out;
		}
		pm->rcpt = mem_realloc(pm->rcpt, (pm->nrcpt + 1) * sizeof *pm->rcpt);
		pm->rcpt[pm->nrcpt++] = mem_strdup(addr);
	}
	*printed = (char *)b.p;
	b.p = NULL;
	e = MSG_OK;
out:
	mem_free(b.p);
	if (list != NULL)
		g_object_unref(list);
	for (i = 0; i < n; i++)
		mem_free(mine[i]);
	mem_free(mine);
	return e;
}

/* ---- field values ------------------------------------------------------- */

/* msgids - one or more (or exactly one) <left@right>, blank-separated */
static int
msgids(const char *v, int one)
{
	int n = 0, at;

	while (*v != '\0') {
		if (*v++ != '<')
			return 0;
		for (at = 0; *v != '>'; v++) {
			if (*v == '@' && !at && v[-1] != '<' && v[1] != '>')
				at = 1;
			else if (!atext(*v) && *v != '.')
				return 0;
		}
		if (!at)
			return 0;
		v++;
		n++;
		if (*v != '\0' && !wsp(*v))
			return 0;
		while (wsp(*v))
			v++;
	}
	return one ? n == 1 : n >= 1;
}

/* token - past the RFC 2045 token at v */
static const char *
token(const char *v)
{
	while (tchar(*v))
		v++;
	return v;
}

/* params - nothing, or "; attribute=value" (a token or a quoted string) repeated */
static int
params(const char *p)
{
	const char *q;

	for (;;) {
		while (wsp(*p))
			p++;
		if (*p == '\0')
			return 1;
		if (*p++ != ';')
			return 0;
		while (wsp(*p))
			p++;
		if (*p == '\0')
			return 1;	/* a trailing ';', as some programs write */
		q = token(p);
		if (q == p || *q != '=')
			return 0;
		p = q + 1;
		if (*p == '"') {
			for (p++; *p != '"'; p++)
				if (*p == '\0' || (*p == '\\' && *++p == '\0'))
					return 0;
			p++;
		} else if ((q = token(p)) == p)
			return 0;
		else
			p = q;
	}
}

/* value_ok - the value of field i is well formed (addresses: addresses()) */
static int
value_ok(struct parsed *pm, int i)
{
	const char *v = pm->val[i], *p;

	switch (allow[i].kind) {
	case K_DEST:
	case K_ADDR:
	case K_TEXT:
		return 1;
	case K_IDS:
		return msgids(v, 0);
	case K_ID:
		return msgids(v, 1);
	case K_VERSION:
		return strcmp(v, "1.0") == 0;
	case K_TYPE:
		p = token(v);
		return p != v && *p == '/' && token(p + 1) != p + 1 && params(token(p + 1));
	case K_CTE:
		return g_ascii_strcasecmp(v, "7bit") == 0 || g_ascii_strcasecmp(v, "8bit") == 0 ||
		    g_ascii_strcasecmp(v, "binary") == 0 || g_ascii_strcasecmp(v, "base64") == 0 ||
		    g_ascii_strcasecmp(v, "quoted-printable") == 0;
	case K_DISP:
		p = token(v);
		return p != v && params(p);
	case K_LANG:
		for (p = v; *p != '\0'; p++)
			if (!alnum(*p) && *p != '-' && *p != ',' && !wsp(*p))
				return 0;
		return 1;
	}
	return 0;
}

/* ---- reading and writing ------------------------------------------------ */

/* mime_ok - the MIME tree below o stays within depth and part bounds */
static int
mime_ok(GMimeObject *o, unsigned depth, unsigned *parts)
{
	GMimeMessage *inner;
	int i, n;

	if (o == NULL)
		return 1;
	if (++*parts > MIME_MAX_PARTS)
		return 0;
	if (GMIME_IS_MULTIPART(o)) {
		if (depth >= MIME_MAX_DEPTH)
			return 0;
		n = g_mime_multipart_get_count(GMIME_MULTIPART(o));
		for (i = 0; i < n; i++)
			if (!mime_ok(g_mime_multipart_get_part(GMIME_MULTIPART(o), i), depth + 1, parts))
				return 0;
	} else if (GMIME_IS_MESSAGE_PART(o)) {
		if (depth >= MIME_MAX_DEPTH)
			return 0;
		inner = g_mime_message_part_get_message(GMIME_MESSAGE_PART(o));
		if (inner != NULL)
			return mime_ok(g_mime_message_get_mime_part(inner), depth + 1, parts);
	}
	return 1;
}

/* find_blank - the first "\n\n" in m[0..len), NULL if none */
static const uint8_t *
find_blank(const uint8_t *m, size_t len)
{
	const uint8_t *p = m;

	while ((p = memchr(p, '\n', len - (size_t)(p - m))) != NULL && p + 1 < m + len) {
		if (p[1] == '\n')
			return p;
		p++;
	}
	return NULL;
}

/* gmime_message - GMime's reading of m[0..len); NULL if none */
static GMimeMessage *
gmime_message(const uint8_t *m, size_t len)
{
	GMimeStream *s;
	GMimeParser *parser;
	GMimeMessage *msg;

	mailpkt_init();
	s = g_mime_stream_mem_new_with_buffer((const char *)m, len);
	parser = g_mime_parser_new_with_stream(s);
	g_object_unref(s);
	msg = g_mime_parser_construct_message(parser, NULL);
	g_object_unref(parser);
	return msg;
}

static void
parsed_free(struct parsed *pm)
{
	int i;

	for (i = 0; i < NFIELDS; i++) {
		mem_free(pm->val[i]);
		mem_free(pm->out[i]);
	}
	message_recipients_free(pm->rcpt, pm->nrcpt);
	memset(pm, 0, sizeof *pm);
}

/* header - read the header block h[0..n) (LF-terminated lines) into pm */
static enum msg_err
header(struct parsed *pm, const uint8_t *h, size_t n, char *err, size_t errlen)
{
	struct buf v = { 0 };
	const uint8_t *line, *end, *p, *colon;
	int cur = -1, i;

	for (line = h; line < h + n; line = end + 1) {
		end = memchr(line, '\n', (size_t)(h + n - line));
		if ((size_t)(end - line) > LINE_MAX_LEN) {
			seterr(err, errlen, "header line longer than %d bytes", LINE_MAX_LEN);
			goto bad;
		}
		for (p = line; p < end; p++)
			if (!wsp(*p) && (*p < 33 || *p > 126)) {
				seterr(err, errlen, "control or 8-bit byte in the header");
				goto bad;
			}
		if (wsp(*line)) {
			for (p = line; p < end && wsp(*p); p++)
				;
			if (cur < 0 || p == end) {
				seterr(err, errlen, "misplaced or blank continuation line");
				goto bad;
			}
			buf_add(&v, line, (size_t)(end - line));
			continue;
		}
		if (cur >= 0)
			pm->val[cur] = (char *)v.p;
		v.p = NULL;
		v.len = v.cap = 0;
		colon = memchr(line, ':', (size_t)(end - line));
		if (colon == NULL || colon == line) {
			seterr(err, errlen, "malformed header field");
			goto bad;
		}
		cur = field_index((const char *)line, (size_t)(colon - line));
		if (cur < 0) {
			seterr(err, errlen, "header field not in the allowlist");
			goto bad;
		}
		if (pm->val[cur] != NULL) {
			seterr(err, errlen, "%s field more than once", allow[cur].name);
			goto bad;
		}
		buf_add(&v, colon + 1, (size_t)(end - colon - 1));
	}
	if (cur >= 0)
		pm->val[cur] = v.p != NULL ? (char *)v.p : mem_strdup("");
	v.p = NULL;
	/* Trim, then check every value by its kind */
	for (i = 0; i < NFIELDS; i++) {
		char *s = pm->val[i], *a, *z;
		enum msg_err e;

		if (s == NULL)
			continue;
		for (a = s; wsp(*a); a++)
			;
		for (z = a + strlen(a); z > a && wsp(z[-1]); z--)
			;
		memmove(s, a, (size_t)(z - a));
		s[z - a] = '\0';
		if (allow[i].kind == K_DEST || allow[i].kind == K_ADDR) {
			e = addresses(pm, s, allow[i].kind == K_DEST, &pm->out[i]);
			if (e == MSG_ERR_RCPTS)
				seterr(err, errlen, "more than %d destinations", MESSAGE_RCPT_MAX);
			else if (e == MSG_ERR_ADDR)
				seterr(err, errlen, "malformed address in the %s field", allow[i].name);
			else if (e != MSG_OK)
				seterr(err, errlen, "malformed %s field", allow[i].name);
			if (e != MSG_OK)
				return e;
		} else if (!value_ok(pm, i)) {	/* addresses() checked above */
			seterr(err, errlen, "malformed %s field", allow[i].name);
			return MSG_ERR_HEADER;
		}
	}
	return MSG_OK;
bad:
	mem_free(v.p);
	return MSG_ERR_HEADER;
}

/*
 * parse - read m[0..len) strictly (doc/message-format.md) into pm; on
 * failure pm holds nothing.
 */
static enum msg_err
parse(const uint8_t *m, size_t len, struct parsed *pm, char *err, size_t errlen)
{
	const uint8_t *sep;
	GMimeMessage *msg;
	unsigned parts = 0;
	enum msg_err e;
	int ok;

	memset(pm, 0, sizeof *pm);
	if (len == 0) {
		seterr(err, errlen, "empty message");
		return MSG_ERR_PARSE;
	}
	if (len > FRAG_MSG_MAX) {
		seterr(err, errlen, "message longer than %u bytes", (unsigned)FRAG_MSG_MAX);
		return MSG_ERR_SIZE;
	}
	if (memchr(m, '\0', len) != NULL || memchr(m, '\r', len) != NULL) {
		seterr(err, errlen, "NUL or CR byte in the message");
		return MSG_ERR_PARSE;
	}
	/* An empty header block is read, to say "no destination" */
	sep = m[0] == '\n' ? m : find_blank(m, len);
	if (sep == NULL) {
		seterr(err, errlen, "no header block ended by an empty line");
		return MSG_ERR_PARSE;
	}
	pm->body = sep == m ? 1 : (size_t)(sep - m) + 2;
	e = header(pm, m, pm->body - 1, err, errlen);
	if (e == MSG_OK && pm->nrcpt == 0) {
		seterr(err, errlen, "no destination");
		e = MSG_ERR_NORCPT;
	}
	if (e == MSG_OK) {
		msg = gmime_message(m, len);
		ok = msg != NULL && mime_ok(g_mime_message_get_mime_part(msg), 0, &parts);
		if (msg != NULL)
			g_object_unref(msg);
		if (!ok) {
			seterr(err, errlen, "MIME structure unreadable or beyond %d levels or %d parts",
			    MIME_MAX_DEPTH, MIME_MAX_PARTS);
			e = MSG_ERR_PARSE;
		}
	}
	if (e != MSG_OK)
		parsed_free(pm);
	return e;
}

/* fold - "Name: value" with lines broken before blanks near FOLD_AT */
static void
fold(struct buf *b, const char *name, const char *v)
{
	size_t n = strlen(v), start = 0, col = strlen(name) + 2, i, brk;

	buf_str(b, name);
	buf_str(b, n > 0 ? ": " : ":");
	while (col + n - start > FOLD_AT) {
		/* Break before the start of a blank run, as late as fits */
		for (brk = 0, i = start + 1; i < n; i++) {
			if (!wsp(v[i]) || wsp(v[i - 1]))
				continue;
			if (col + i - start <= FOLD_AT || brk == 0)
				brk = i;
			if (col + i - start > FOLD_AT)
				break;
		}
		if (brk == 0)
			break;
		buf_add(b, v + start, brk - start);
		buf_str(b, "\n");
		start = brk;
		col = 0;
	}
	buf_add(b, v + start, n - start);
	buf_str(b, "\n");
}

/* emit - the fields of pm, the MIME ones (mime) or the others */
static void
emit(struct buf *b, const struct parsed *pm, int mime)
{
	int i;

	for (i = 0; i < NFIELDS; i++)
		if (pm->val[i] != NULL && allow[i].mime == mime)
			fold(b, allow[i].name, pm->out[i] != NULL ? pm->out[i] : pm->val[i]);
}

/* canonical - the message m as emit() prints it, into *out */
static enum msg_err
canonical(const uint8_t *m, size_t len, size_t max, uint8_t **out, size_t *outlen,
    char *err, size_t errlen)
{
	struct parsed pm;
	struct buf b = { 0 };
	enum msg_err e;

	e = parse(m, len, &pm, err, errlen);
	if (e != MSG_OK)
		return e;
	emit(&b, &pm, 0);
	emit(&b, &pm, 1);
	buf_str(&b, "\n");
	buf_add(&b, m + pm.body, len - pm.body);
	parsed_free(&pm);
	if (b.len > max || b.len > FRAG_MSG_MAX) {
		mem_free(b.p);
		seterr(err, errlen, "message longer than %zu bytes", max < FRAG_MSG_MAX ? max : (size_t)FRAG_MSG_MAX);
		return MSG_ERR_SIZE;
	}
	*out = b.p;
	*outlen = b.len;
	return MSG_OK;
}

/* ---- message_compose ---------------------------------------------------- */

/* lf - a copy of p[0..n) with CRLF made LF (NUL added) */
static uint8_t *
lf(const uint8_t *p, size_t n, size_t *len)
{
	uint8_t *o = mem_alloc(n + 1);
	size_t i, j = 0;

	for (i = 0; i < n; i++)
		if (!(p[i] == '\r' && i + 1 < n && p[i + 1] == '\n'))
			o[j++] = p[i];
	o[j] = '\0';
	*len = j;
	return o;
}

/* text_ok - UTF-8 with no control character but tab */
static int
text_ok(const char *s)
{
	const unsigned char *p;

	for (p = (const unsigned char *)s; *p != '\0'; p++)
		if ((*p < ' ' && *p != '\t') || *p == 127)
			return 0;
	return g_utf8_validate(s, -1, NULL);
}

static int
ascii(const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] > 127)
			return 0;
	return 1;
}

enum msg_err
message_compose(const struct msg_compose *c, uint8_t **out, size_t *len, char *err, size_t errlen)
{
	GMimeMessage *msg = NULL;
	GMimeTextPart *part;
	GMimeStream *s;
	GMimeDataWrapper *w;
	GByteArray *ba;
	InternetAddressList *list;
	InternetAddress *ia;
	GMimeContentEncoding cte;
	struct buf body = { 0 };
	const char *h, *colon;
	size_t i, n;
	enum msg_err e;
	int k;

	*out = NULL;
	*len = 0;
	for (i = 0; i < c->nto + c->ncc; i++)
		if (!addr_ok(i < c->nto ? c->to[i] : c->cc[i - c->nto])) {
			seterr(err, errlen, "malformed destination address (%s %zu)",
			    i < c->nto ? "To" : "Cc", i < c->nto ? i + 1 : i - c->nto + 1);
			return MSG_ERR_ADDR;
		}
	if (c->subject != NULL && !text_ok(c->subject)) {
		seterr(err, errlen, "Subject: control character or invalid UTF-8");
		return MSG_ERR_HEADER;
	}
	for (i = 0; i < c->nheaders; i++) {
		h = c->headers[i];
		colon = strchr(h, ':');
		k = colon != NULL ? field_index(h, (size_t)(colon - h)) : -1;
		if (k < 0 || !allow[k].extra) {
			/* Name it: the caller's own argument, printable bytes only */
			for (n = 0; h[n] != '\0' && h[n] != ':' && n < 64; n++)
				if (h[n] <= ' ' || h[n] > 126)
					break;
			seterr(err, errlen, "header field %.*s not allowed", (int)n, h);
			return MSG_ERR_HEADER;
		}
		if (!text_ok(colon + 1)) {
			seterr(err, errlen, "%s: control character or invalid UTF-8", allow[k].name);
			return MSG_ERR_HEADER;
		}
	}
	/* Body: CRLF to LF; no NUL, no lone CR; UTF-8 */
	body.p = lf(c->body, c->body_len, &body.len);
	if (memchr(body.p, '\0', body.len) != NULL || memchr(body.p, '\r', body.len) != NULL) {
		mem_free(body.p);
		seterr(err, errlen, "NUL byte or lone CR in the body");
		return MSG_ERR_PARSE;
	}
	if (!g_utf8_validate((const char *)body.p, (gssize)body.len, NULL)) {
		mem_free(body.p);
		seterr(err, errlen, "body is not UTF-8");
		return MSG_ERR_PARSE;
	}

	mailpkt_init();
	msg = g_mime_message_new(FALSE);
	for (i = 0; i < c->nto + c->ncc; i++) {
		list = g_mime_message_get_addresses(msg, i < c->nto ? GMIME_ADDRESS_TYPE_TO :
		    GMIME_ADDRESS_TYPE_CC);
		ia = internet_address_mailbox_new(NULL, i < c->nto ? c->to[i] : c->cc[i - c->nto]);
		internet_address_list_add(list, ia);	/* takes its own reference */
		g_object_unref(ia);
	}
	if (c->subject != NULL && *c->subject != '\0')
		g_mime_message_set_subject(msg, c->subject, "utf-8");
	for (i = 0; i < c->nheaders; i++) {
		h = c->headers[i];
		colon = strchr(h, ':');
		k = field_index(h, (size_t)(colon - h));
		for (colon++; wsp(*colon); colon++)
			;
		g_mime_object_append_header(GMIME_OBJECT(msg), allow[k].name, colon, "utf-8");
	}
	part = g_mime_text_part_new_with_subtype("plain");
	s = g_mime_stream_mem_new_with_buffer((const char *)body.p, body.len);
	w = g_mime_data_wrapper_new_with_stream(s, GMIME_CONTENT_ENCODING_DEFAULT);
	g_object_unref(s);
	g_mime_part_set_content(GMIME_PART(part), w);
	g_object_unref(w);
	g_mime_object_set_content_type_parameter(GMIME_OBJECT(part), "charset",
	    ascii(body.p, body.len) ? "us-ascii" : "utf-8");
	/* 7bit for short-lined ASCII; GMime picks quoted-printable or base64 */
	cte = g_mime_part_get_best_content_encoding(GMIME_PART(part), GMIME_ENCODING_CONSTRAINT_7BIT);
	g_mime_part_set_content_encoding(GMIME_PART(part),
	    cte == GMIME_CONTENT_ENCODING_DEFAULT ? GMIME_CONTENT_ENCODING_7BIT : cte);
	g_mime_message_set_mime_part(msg, GMIME_OBJECT(part));
	g_object_unref(part);

	s = g_mime_stream_mem_new();
	if (g_mime_object_write_to_stream(GMIME_OBJECT(msg), NULL, s) < 0) {
		e = MSG_ERR_PARSE;
		seterr(err, errlen, "cannot write the message");
	} else {
		ba = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(s));
		/* Read back strictly: what leaves here passes the exit's checks */
		e = canonical(ba->data, ba->len, FRAG_MSG_MAX, out, len, err, errlen);
	}
	g_object_unref(s);
	g_object_unref(msg);
	mem_free(body.p);
	return e;
}

/* ---- message_from_mail -------------------------------------------------- */

/*
 * keep - the allowlisted fields of hl into d, unfolded and refolded; the
 * others counted in *dropped. 8-bit text is given RFC 2047 words, 8-bit
 * display names are re-encoded; parse() judges the result.
 */
static void
keep(struct buf *d, GMimeHeaderList *hl, size_t *dropped)
{
	InternetAddressList *list;
	GMimeHeader *hd;
	const char *name, *raw;
	char *v, *p, *enc;
	int i, k, n = g_mime_header_list_get_count(hl);

	for (i = 0; i < n; i++) {
		hd = g_mime_header_list_get_header_at(hl, i);
		name = g_mime_header_get_name(hd);
		raw = g_mime_header_get_raw_value(hd);
		k = name != NULL && raw != NULL ? field_index(name, strlen(name)) : -1;
		if (k < 0) {
			(*dropped)++;
			continue;
		}
		v = mem_strdup(raw);
		for (p = v; *raw != '\0'; raw++)
			if (*raw != '\n' && *raw != '\r')
				*p++ = *raw;
		*p = '\0';
		g_strstrip(v);
		enc = NULL;
		if (!ascii((const uint8_t *)v, strlen(v)) && g_utf8_validate(v, -1, NULL)) {
			if (allow[k].kind == K_TEXT)
				enc = g_mime_utils_header_encode_text(NULL, v, "utf-8");
			else if ((allow[k].kind == K_DEST || allow[k].kind == K_ADDR) &&
			    (list = internet_address_list_parse(NULL, v)) != NULL) {
				enc = internet_address_list_to_string(list, NULL, TRUE);
				g_object_unref(list);
			}
		}
		fold(d, allow[k].name, enc != NULL ? enc : v);
		g_free(enc);
		mem_free(v);
	}
}

enum msg_err
message_from_mail(const uint8_t *mail, size_t len, size_t max, uint8_t **out,
    size_t *outlen, size_t *dropped, char *err, size_t errlen)
{
	struct buf m = { 0 }, d = { 0 };
	GMimeMessage *msg = NULL;
	const uint8_t *sep;
	size_t i, hlen, body;
	enum msg_err e = MSG_ERR_PARSE;

	*out = NULL;
	*outlen = 0;
	*dropped = 0;
	if (len == 0) {
		seterr(err, errlen, "empty mail");
		return MSG_ERR_PARSE;
	}
	if (len > MAILPKT_MAX_MAIL) {
		seterr(err, errlen, "mail longer than %u bytes", (unsigned)MAILPKT_MAX_MAIL);
		return MSG_ERR_SIZE;
	}
	/* CRLF to LF; an mbox "From " line is no field */
	m.p = lf(mail, len, &m.len);
	i = 0;
	if (m.len >= 5 && memcmp(m.p, "From ", 5) == 0) {
		sep = memchr(m.p, '\n', m.len);
		i = sep != NULL ? (size_t)(sep - m.p) + 1 : m.len;
		(*dropped)++;
	}
	if (i < m.len && m.p[i] == '\n') {
		hlen = 0;
		body = i + 1;
	} else if ((sep = find_blank(m.p + i, m.len - i)) != NULL) {
		hlen = (size_t)(sep - m.p) + 1 - i;
		body = hlen + i + 1;
	} else {
		hlen = m.len - i;
		body = m.len;
	}

	/* GMime reads the header block alone: the split above is ours */
	buf_add(&d, m.p + i, hlen);
	buf_str(&d, "\n");
	msg = gmime_message(d.p, d.len);
	d.len = 0;
	if (msg == NULL) {
		seterr(err, errlen, "header block unreadable");
		goto out;
	}
	/* GMime files the Content-* fields under the message's MIME part */
	keep(&d, g_mime_object_get_header_list(GMIME_OBJECT(msg)), dropped);
	if (g_mime_message_get_mime_part(msg) != NULL)
		keep(&d, g_mime_object_get_header_list(g_mime_message_get_mime_part(msg)), dropped);
	buf_str(&d, "\n");
	buf_add(&d, m.p + body, m.len - body);
	e = canonical(d.p, d.len, max, out, outlen, err, errlen);
out:
	if (msg != NULL)
		g_object_unref(msg);
	mem_free(m.p);
	mem_free(d.p);
	return e;
}

/* ---- message_recipients ------------------------------------------------- */

enum msg_err
message_recipients(const uint8_t *msg, size_t len, char ***rcpt, size_t *n,
    char *err, size_t errlen)
{
	struct parsed pm;
	enum msg_err e;

	*rcpt = NULL;
	*n = 0;
	e = parse(msg, len, &pm, err, errlen);
	if (e != MSG_OK)
		return e;
	*rcpt = pm.rcpt;
	*n = pm.nrcpt;
	pm.rcpt = NULL;
	pm.nrcpt = 0;
	parsed_free(&pm);
	return MSG_OK;
}

void
message_recipients_free(char **rcpt, size_t n)
{
	size_t i;

	if (rcpt == NULL)
		return;
	for (i = 0; i < n; i++)
		mem_free(rcpt[i]);
	mem_free(rcpt);
}

/* ---- message_exit_build ------------------------------------------------- */

/* match - fnmatch(3) of pattern on s (no flags), both in ASCII lower case */
static int
match(const char *pattern, const char *s)
{
	char *lp = g_ascii_strdown(pattern, -1), *ls = g_ascii_strdown(s, -1);
	int r = fnmatch(lp, ls, 0) == 0;

	g_free(lp);
	g_free(ls);
	return r;
}

/* blocked - the destination a matches pattern (a domain or an address glob) */
static int
blocked(const char *pattern, const char *a)
{
	const char *d = strchr(a, '@');

	if (strchr(pattern, '@') != NULL)
		return match(pattern, a);
	/* A domain: itself and every domain below it */
	for (; d != NULL; d = strchr(d + 1, '.'))
		if (match(pattern, d + 1))
			return 1;
	return 0;
}

/* header_blocked - a field of pm matches a header filter pattern */
static int
header_blocked(const struct parsed *pm, const struct exit_policy *p)
{
	char *line, *dec;
	size_t i;
	int f, hit = 0;

	for (f = 0; f < NFIELDS && !hit; f++) {
		if (pm->val[f] == NULL)
			continue;
		line = g_strdup_printf("%s: %s", allow[f].name, pm->val[f]);
		dec = NULL;
		if (allow[f].kind == K_TEXT && strstr(pm->val[f], "=?") != NULL) {
			char *t = g_mime_utils_header_decode_text(NULL, pm->val[f]);

			dec = t != NULL ? g_strdup_printf("%s: %s", allow[f].name, t) : NULL;
			g_free(t);
		}
		for (i = 0; i < p->nheader_block && !hit; i++)
			hit = match(p->header_block[i], line) ||
			    (dec != NULL && match(p->header_block[i], dec));
		g_free(line);
		g_free(dec);
	}
	return hit;
}

/*
 * block_ok - the exit's header block h[0..n) holds only lines of printable
 * ASCII and blanks, at most LINE_MAX_LEN long, each a continuation with
 * text or a field of the allowlist or the exit's own, each field once. A
 * last net: no value, not even from the configuration, can add a field.
 */
static int
block_ok(const uint8_t *h, size_t n)
{
	static const char *const own[] = { "From", "Date", "Message-ID", "Comments" };
	const uint8_t *line, *end, *p, *colon;
	unsigned seen = 0, bit;
	int i, blank;

	for (line = h; line < h + n; line = end + 1) {
		end = memchr(line, '\n', (size_t)(h + n - line));
		if (end == NULL || end - line > LINE_MAX_LEN)
			return 0;
		for (p = line, blank = 1; p < end; p++) {
			if (!wsp(*p) && (*p < 33 || *p > 126))
				return 0;
			blank &= wsp(*p);
		}
		if (blank)
			return 0;
		if (wsp(*line))
			continue;
		if ((colon = memchr(line, ':', (size_t)(end - line))) == NULL)
			return 0;
		i = field_index((const char *)line, (size_t)(colon - line));
		for (bit = 0; i < 0 && bit < 4; bit++)
			if (strlen(own[bit]) == (size_t)(colon - line) &&
			    memcmp(own[bit], line, (size_t)(colon - line)) == 0)
				i = NFIELDS + (int)bit;
		if (i < 0 || (seen & (1u << i)) != 0)
			return 0;
		seen |= 1u << i;
	}
	return 1;
}

enum exit_verdict
message_exit_build(const uint8_t *msg, size_t len, const struct exit_policy *p,
    struct exit_mail *out)
{
	struct parsed pm;
	struct buf b = { 0 };
	uint8_t id[16];
	char hex[33], date_text[PKTMAIL_DATE_MAX], *text;
	size_t i, j;
	enum exit_verdict v = EXIT_OK;

	memset(out, 0, sizeof *out);
	if (parse(msg, len, &pm, NULL, 0) != MSG_OK)
		return EXIT_BAD_MESSAGE;
	if (len > p->max_size)
		v = EXIT_REFUSE_SIZE;
	else if (pm.nrcpt > p->max_rcpt)
		v = EXIT_REFUSE_RCPTS;
	for (i = 0; v == EXIT_OK && i < pm.nrcpt; i++)
		for (j = 0; v == EXIT_OK && j < p->nblock; j++)
			if (blocked(p->block[j], pm.rcpt[i]))
				v = EXIT_REFUSE_BLOCKED;
	if (v == EXIT_OK && header_blocked(&pm, p))
		v = EXIT_REFUSE_HEADER;
	if (v != EXIT_OK) {
		parsed_free(&pm);
		return v;
	}

	if (p->from != NULL && *p->from != '\0')
		fold(&b, "From", p->from);
	emit(&b, &pm, 0);
	pktmail_date(p->now, date_text);
	fold(&b, "Date", date_text);
	if (p->msgid_domain != NULL && *p->msgid_domain != '\0') {
		mcrypto_random(NULL, id, sizeof id);
		mcrypto_hex(hex, id, sizeof id);
		text = g_strdup_printf("<%s@%s>", hex, p->msgid_domain);
		fold(&b, "Message-ID", text);
		g_free(text);
	}
	if (p->abuse != NULL && *p->abuse != '\0') {
		text = g_strdup_printf("This message was sent through an anonymous remailer. "
		    "Its operator cannot identify the sender. Abuse contact: %s", p->abuse);
		fold(&b, "Comments", text);
		g_free(text);
	}
	emit(&b, &pm, 1);
	/* The exit's own fields come from its configuration: check them too */
	if (!block_ok(b.p, b.len))
		v = EXIT_BAD_MESSAGE;
	buf_str(&b, "\n");
	buf_add(&b, msg + pm.body, len - pm.body);
	if (v != EXIT_OK) {
		mem_free(b.p);
		parsed_free(&pm);
		return v;
	}
	out->data = b.p;
	out->len = b.len;
	out->rcpt = pm.rcpt;
	out->nrcpt = pm.nrcpt;
	pm.rcpt = NULL;
	pm.nrcpt = 0;
	parsed_free(&pm);
	return EXIT_OK;
}

void
exit_mail_free(struct exit_mail *m)
{
	if (m == NULL)
		return;
	message_recipients_free(m->rcpt, m->nrcpt);
	mem_free(m->data);
	memset(m, 0, sizeof *m);
}

const char *
message_strerror(enum msg_err e)
{
	static const char *const text[] = { "ok", "not a parseable message",
		"malformed or forbidden header field", "malformed destination address",
		"no destination", "too many destinations", "message too large", "out of memory" };

	return (unsigned)e < sizeof text / sizeof *text ? text[e] : "unknown error";
}

const char *
exit_verdict_name(enum exit_verdict v)
{
	static const char *const name[] = { "ok", "bad_message", "refuse_size", "refuse_rcpts",
		"refuse_blocked", "refuse_header", "nomem" };

	return (unsigned)v < sizeof name / sizeof *name ? name[v] : "unknown";
}
