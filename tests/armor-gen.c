/*
 * armor-gen.c - writes the golden files of check_armor and check_mailpkt
 * and the seeds of fuzz/fuzz-armor.
 *
 * Usage (from a build directory, after "make"; "make golden" does this):
 *
 *   tests/armor-gen $top_srcdir
 *
 * The directories must exist. It writes
 *   tests/armor/NAME.in, NAME.ref   armored text and the expected
 *                                   transcript of armor_decode (below);
 *   tests/mail/NAME.eml, NAME.ref   whole mails and the expected result of
 *                                   mailpkt_extract;
 *   fuzz/corpus/armor/NAME          a few small seeds for fuzz-armor.
 *
 * The packets are built with pkt_build for the fixed path of
 * tests/testutil.c (tu_path) and a seeded generator, so every run writes
 * the same bytes. The expected results come from how each input is built
 * (which packet went in, where its lines were put), never from running the
 * decoders; only the error texts are taken from armor_strerror() and
 * mailpkt_strerror(). The armor and mail encodings (line ends, white space,
 * quoted-printable, base64) are written here by hand, independently of
 * armor_encode() and of GMime.
 *
 * An armor .ref is the transcript of calling armor_decode on the input from
 * offset 0, then again from each returned end, until it says "no armor
 * found"; one line per call, end as an absolute offset:
 *
 *   ok <BLAKE2b-256 hex of the packet> end=<offset>
 *   error: <armor_strerror text> end=<offset>
 *
 * A mail .ref is one line: "ok <hex>" or "error: <mailpkt_strerror text>".
 *
 * A new variant needs its name added to the list in check_armor.c or
 * check_mailpkt.c as well.
 */
#include <config.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "armor.h"
#include "mailpkt.h"
#include "mcrypto.h"
#include "pkt.h"
#include "testutil.h"

static const char *top;

/* Packets: A and B are real packets; SHORT and LONG are wrong lengths */
enum data { D_A, D_B, D_SHORT, D_LONG };
static uint8_t pkt_a[PKT_SIZE], pkt_b[PKT_SIZE], pkt_long[PKT_SIZE + 3];

/* --- a growing buffer ----------------------------------------------------- */

struct buf {
	char *p;
	size_t len, cap;
};

static void
put(struct buf *b, const void *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		if ((b->p = realloc(b->p, b->cap)) == NULL) {
			perror("realloc");
			exit(1);
		}
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void
puts_(struct buf *b, const char *s)
{
	put(b, s, strlen(s));
}

static void __attribute__((format(printf, 2, 3)))
bprintf(struct buf *b, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof tmp) {
		fprintf(stderr, "armor-gen: bprintf overflow\n");
		exit(1);
	}
	put(b, tmp, (size_t)n);
}

static void
reset(struct buf *b)
{
	b->len = 0;
	if (b->p != NULL)
		b->p[0] = '\0';
}

static void
write_file(const char *rel, const struct buf *b)
{
	char path[4096];
	FILE *fp;

	snprintf(path, sizeof path, "%s/%s", top, rel);
	if ((fp = fopen(path, "wb")) == NULL || fwrite(b->p, 1, b->len, fp) != b->len ||
	    fclose(fp) != 0) {
		perror(path);
		exit(1);
	}
}

static void
data_of(enum data d, const uint8_t **p, size_t *n)
{
	*p = pkt_a;
	*n = PKT_SIZE;
	switch (d) {
	case D_A:	break;
	case D_B:	*p = pkt_b; break;
	case D_SHORT:	*n = PKT_SIZE - 3; break;
	case D_LONG:	*p = pkt_long; *n = PKT_SIZE + 3; break;
	}
}

static void
hash_hex(char hex[2 * MCRYPTO_HASH_BYTES + 1], const uint8_t *pkt)
{
	uint8_t h[MCRYPTO_HASH_BYTES];

	mcrypto_hash(h, sizeof h, NULL, 0, pkt, PKT_SIZE);
	mcrypto_hex(hex, h, sizeof h);
}

/* --- armor with variations -------------------------------------------------- */

struct style {
	const char *const *eol;		/* line ends, used in turn (default LF) */
	const char *const *trail;	/* white space after lines, in turn */
	const char *lead;		/* before every line of the armor */
	const char *lead_b64;		/* before every base64 line */
	const char *headers;		/* header lines, each ending "\n" */
	unsigned cols;			/* base64 per line; 0: ARMOR_COLUMNS */
	int one_line;			/* all base64 on one line */
	int no_blank;			/* no empty line after the headers */
	int no_end;			/* no END line */
	int no_final_eol;		/* END line without a line end */
	char corrupt;			/* put this in the middle of the base64 */
	int strip_padding;		/* drop the final "=" */
	enum data data;
};

static const char *const eol_lf[] = { "\n", NULL };
static const char *const eol_crlf[] = { "\r\n", NULL };
static const char *const eol_mixed[] = { "\n", "\r\n", "\r\n", "\n", "\r\r\n", NULL };
static const char *const ws_trail[] = { " ", "\t", "", " \t  ", "\t\t", NULL };

static size_t
count(const char *const *v)
{
	size_t n = 0;

	while (v[n] != NULL)
		n++;
	return n;
}

/* aline - one line of an armor: lead, [lead_b64,] text, trail, line end */
static void
aline(struct buf *b, const struct style *st, unsigned *k, const char *text, size_t n,
    int b64, int last)
{
	const char *const *eol = st->eol != NULL ? st->eol : eol_lf;

	if (st->lead != NULL)
		puts_(b, st->lead);
	if (b64 && st->lead_b64 != NULL)
		puts_(b, st->lead_b64);
	put(b, text, n);
	if (st->trail != NULL)
		puts_(b, st->trail[*k % count(st->trail)]);
	if (!(last && st->no_final_eol))
		puts_(b, eol[*k % count(eol)]);
	(*k)++;
}

/* armor - append an armor; offsets just past its BEGIN and END lines */
static void
armor(struct buf *b, const struct style *st, size_t *after_begin, size_t *after_end)
{
	static const char def_headers[] = ARMOR_TYPE_KEY ": " ARMOR_TYPE "\n";
	const char *h, *nl;
	const uint8_t *bin;
	size_t nbin, n64, i, w;
	unsigned k = 0;
	char *b64;

	data_of(st->data, &bin, &nbin);
	n64 = mcrypto_base64_len(nbin);
	if ((b64 = malloc(n64)) == NULL)
		exit(1);
	mcrypto_base64(b64, n64, bin, nbin);
	n64--;
	if (st->strip_padding)
		while (n64 > 0 && b64[n64 - 1] == '=')
			n64--;
	if (st->corrupt)
		b64[n64 / 2] = st->corrupt;

	aline(b, st, &k, ARMOR_BEGIN, strlen(ARMOR_BEGIN), 0, 0);
	*after_begin = b->len;
	for (h = st->headers != NULL ? st->headers : def_headers; *h; h = nl + 1) {
		nl = strchr(h, '\n');
		aline(b, st, &k, h, (size_t)(nl - h), 0, 0);
	}
	if (!st->no_blank)
		aline(b, st, &k, "", 0, 0, 0);
	w = st->one_line ? n64 : st->cols ? st->cols : ARMOR_COLUMNS;
	for (i = 0; i < n64; i += w)
		aline(b, st, &k, b64 + i, n64 - i < w ? n64 - i : w, 1, 0);
	if (!st->no_end)
		aline(b, st, &k, ARMOR_END, strlen(ARMOR_END), 0, 1);
	*after_end = b->len;
	free(b64);
}

/* An armor test: text, up to two armors with text between, text */
struct avariant {
	const char *name;
	const char *before, *between, *after;
	int narmor;
	struct style st[2];
	enum armor_err expect[2];
};

static const struct avariant avariants[] = {
	{ .name = "plain", .narmor = 1 },
	{ .name = "crlf", .narmor = 1, .st = { { .eol = eol_crlf } } },
	{ .name = "mixed-eol", .narmor = 1, .st = { { .eol = eol_mixed } },
	    .before = "Line ends of\r\nevery kind.\n\n" },
	{ .name = "trailing-ws", .narmor = 1, .st = { { .trail = ws_trail } } },
	{ .name = "trailing-ws-crlf", .narmor = 1, .st = { { .trail = ws_trail, .eol = eol_crlf } } },
	{ .name = "leading-ws", .narmor = 1, .st = { { .lead_b64 = "  \t" } } },
	{ .name = "indented", .narmor = 1, .st = { { .lead = "    ", .trail = ws_trail } } },
	{ .name = "text-around", .narmor = 1,
	    .before = "Hello,\n\nthe packet follows; its -----BEGIN MIXMAIL PACKET----- line\n"
		"starts it:\n",
	    .after = "\nRegards,\n-- \nA sender\n-----END MIXMAIL PACKET-----\n" },
	{ .name = "no-final-eol", .narmor = 1, .st = { { .no_final_eol = 1 } },
	    .before = "x\n" },
	{ .name = "cols76", .narmor = 1, .st = { { .cols = 76 } } },
	{ .name = "cols40", .narmor = 1, .st = { { .cols = 40 } } },
	{ .name = "cols63", .narmor = 1, .st = { { .cols = 63 } } },
	{ .name = "one-line", .narmor = 1, .st = { { .one_line = 1 } } },
	{ .name = "extra-headers", .narmor = 1, .st = { { .headers =
	    "Comment: made by armor-gen\n" ARMOR_TYPE_KEY ":" ARMOR_TYPE "\nX-Other:\n" } } },
	{ .name = "type-key-case", .narmor = 1, .st = { { .headers = "pACKET-tYPE: mixmail-1\n" } } },
	{ .name = "no-blank", .narmor = 1, .st = { { .no_blank = 1 } } },
	{ .name = "no-headers-no-blank", .narmor = 1, .st = { { .no_blank = 1, .headers = "" } },
	    .expect = { ARMOR_ERR_TYPE } },
	{ .name = "missing-type", .narmor = 1, .st = { { .headers = "Comment: x\n" } },
	    .expect = { ARMOR_ERR_TYPE } },
	{ .name = "wrong-type", .narmor = 1, .st = { { .headers = "Packet-Type: mixmail-2\n" } },
	    .expect = { ARMOR_ERR_TYPE } },
	{ .name = "type-value-case", .narmor = 1, .st = { { .headers = "Packet-Type: MIXMAIL-1\n" } },
	    .expect = { ARMOR_ERR_TYPE } },
	{ .name = "duplicate-type", .narmor = 1, .st = { { .headers =
	    "Packet-Type: mixmail-1\nPacket-Type: mixmail-1\n" } },
	    .expect = { ARMOR_ERR_TYPE } },
	{ .name = "truncated", .narmor = 1, .st = { { .no_end = 1 } },
	    .expect = { ARMOR_ERR_TRUNCATED } },
	{ .name = "truncated-then-good", .narmor = 2, .st = { { .no_end = 1 }, { .data = D_B } },
	    .between = "\n", .expect = { ARMOR_ERR_TRUNCATED, ARMOR_OK } },
	{ .name = "bad-char", .narmor = 1, .st = { { .corrupt = '*' } },
	    .expect = { ARMOR_ERR_BASE64 } },
	{ .name = "inner-space", .narmor = 1, .st = { { .corrupt = ' ' } },
	    .expect = { ARMOR_ERR_BASE64 } },
	{ .name = "mid-padding", .narmor = 1, .st = { { .corrupt = '=' } },
	    .expect = { ARMOR_ERR_BASE64 } },
	{ .name = "no-padding", .narmor = 1, .st = { { .strip_padding = 1 } },
	    .expect = { ARMOR_ERR_BASE64 } },
	{ .name = "too-short", .narmor = 1, .st = { { .data = D_SHORT } },
	    .expect = { ARMOR_ERR_LENGTH } },
	{ .name = "too-long", .narmor = 1, .st = { { .data = D_LONG } },
	    .expect = { ARMOR_ERR_LENGTH } },
	{ .name = "two-first-bad", .narmor = 2, .st = { { .corrupt = '!' }, { .data = D_B } },
	    .before = "first try:\n", .between = "\nsecond try:\n",
	    .expect = { ARMOR_ERR_BASE64, ARMOR_OK } },
	{ .name = "two-good", .narmor = 2, .st = { { .data = D_A }, { .data = D_B, .eol = eol_crlf } },
	    .between = "\n", .expect = { ARMOR_OK, ARMOR_OK } },
	{ .name = "dash-escaped", .narmor = 1, .st = { { .lead = "- " } },
	    .expect = { ARMOR_ERR_NONE } },
	{ .name = "empty", .narmor = 0 },
	{ .name = "no-armor", .narmor = 0, .before = "Just a mail.\n-----END MIXMAIL PACKET-----\n" },
	{ .name = "begin-only", .narmor = 0, .before = ARMOR_BEGIN "\n" },
	{ .name = "begin-only-no-eol", .narmor = 0, .before = ARMOR_BEGIN },
	{ .name = "begin-header-only", .narmor = 0, .before = ARMOR_BEGIN "\nPacket-Type: mixmail-1\n" },
	{ .name = "begin-header-then-good", .narmor = 1,
	    .before = ARMOR_BEGIN "\nPacket-Type: mixmail-1\n", .expect = { ARMOR_OK } },
};

/* expect_line - one transcript line for an armor with result e */
static void
expect_line(struct buf *ref, enum armor_err e, enum data d, size_t after_begin,
    size_t after_end)
{
	char hex[2 * MCRYPTO_HASH_BYTES + 1];
	const uint8_t *bin;
	size_t n;

	if (e == ARMOR_ERR_NONE)
		return;
	if (e == ARMOR_OK) {
		data_of(d, &bin, &n);
		hash_hex(hex, bin);
		bprintf(ref, "ok %s end=%zu\n", hex, after_end);
	} else
		bprintf(ref, "error: %s end=%zu\n", armor_strerror(e), after_begin);
}

static void
gen_armor(const struct avariant *v)
{
	struct buf in = { 0 }, ref = { 0 };
	size_t ab, ae;
	char name[256];
	int i;

	put(&in, "", 0);
	put(&ref, "", 0);
	if (v->before != NULL)
		puts_(&in, v->before);
	/* a BEGIN line (and a header) alone before the armors, by hand */
	if (strncmp(v->name, "begin-", 6) == 0)
		bprintf(&ref, "error: %s end=%zu\n", armor_strerror(ARMOR_ERR_TRUNCATED),
		    strcspn(v->before, "\n") + (strchr(v->before, '\n') != NULL));
	for (i = 0; i < v->narmor; i++) {
		if (i > 0 && v->between != NULL)
			puts_(&in, v->between);
		armor(&in, &v->st[i], &ab, &ae);
		expect_line(&ref, v->expect[i], v->st[i].data, ab, ae);
	}
	if (v->after != NULL)
		puts_(&in, v->after);
	bprintf(&ref, "error: %s end=%zu\n", armor_strerror(ARMOR_ERR_NONE), in.len);

	snprintf(name, sizeof name, "tests/armor/%s.in", v->name);
	write_file(name, &in);
	snprintf(name, sizeof name, "tests/armor/%s.ref", v->name);
	write_file(name, &ref);
	free(in.p);
	free(ref.p);
}

/* --- mails ------------------------------------------------------------------- */

static const char mail_head[] =
    "From: Sender <sender@example.org>\n"
    "To: node0@mix0.test\n"
    "Subject: mixmail packet\n"
    "Date: Thu, 01 Jan 2026 00:00:00 +0000\n"
    "Message-ID: <armor-gen@example.org>\n";

/* armor_text - a canonical armor of d (LF line ends) */
static void
armor_text(struct buf *b, enum data d, const struct style *st)
{
	struct style s = { .data = d };
	size_t ab, ae;

	if (st != NULL) {
		s = *st;
		s.data = d;
	}
	armor(b, &s, &ab, &ae);
}

/* qp - quoted-printable of text (LF lines), soft-wrapped at 76 columns */
static void
qp(struct buf *b, const char *text, size_t len)
{
	static const char hexd[] = "0123456789ABCDEF";
	size_t i, col = 0, tn;
	char tok[4];
	unsigned char c;

	for (i = 0; i < len; i++) {
		c = (unsigned char)text[i];
		if (c == '\n') {
			puts_(b, "\n");
			col = 0;
			continue;
		}
		if ((c >= 33 && c <= 126 && c != '=') ||
		    ((c == ' ' || c == '\t') && i + 1 < len && text[i + 1] != '\n')) {
			tok[0] = (char)c;
			tn = 1;
		} else {
			tok[0] = '=';
			tok[1] = hexd[c >> 4];
			tok[2] = hexd[c & 15];
			tn = 3;
		}
		if (col + tn > 75) {
			puts_(b, "=\n");
			col = 0;
		}
		put(b, tok, tn);
		col += tn;
	}
}

/* b64 - base64 of text at 76 columns */
static void
b64(struct buf *b, const char *text, size_t len)
{
	char line[77 + 1];
	size_t i, n;

	for (i = 0; i < len; i += n) {
		n = len - i < 57 ? len - i : 57;
		mcrypto_base64(line, sizeof line, (const uint8_t *)text + i, n);
		puts_(b, line);
		puts_(b, "\n");
	}
}

static void
lf_to_crlf(struct buf *b)
{
	struct buf o = { 0 };
	size_t i;

	put(&o, "", 0);
	for (i = 0; i < b->len; i++) {
		if (b->p[i] == '\n')
			put(&o, "\r", 1);
		put(&o, b->p + i, 1);
	}
	free(b->p);
	*b = o;
}

static void
write_mail(const char *name, const struct buf *mail, enum mailpkt_err e, enum data d)
{
	struct buf ref = { 0 };
	char path[256], hex[2 * MCRYPTO_HASH_BYTES + 1];
	const uint8_t *bin;
	size_t n;

	put(&ref, "", 0);
	if (e == MAILPKT_OK) {
		data_of(d, &bin, &n);
		hash_hex(hex, bin);
		bprintf(&ref, "ok %s\n", hex);
	} else
		bprintf(&ref, "error: %s\n", mailpkt_strerror(e));
	snprintf(path, sizeof path, "tests/mail/%s.eml", name);
	write_file(path, mail);
	snprintf(path, sizeof path, "tests/mail/%s.ref", name);
	write_file(path, &ref);
	free(ref.p);
}

/* plain_mail - headers and the armor of d as the whole body */
static void
plain_mail(struct buf *m, const char *pre, enum data d, const struct style *st)
{
	put(m, "", 0);
	if (pre != NULL)
		puts_(m, pre);
	puts_(m, mail_head);
	puts_(m, "\nHello,\n\n");
	armor_text(m, d, st);
}

/* multipart_mail - text part, armor part, small base64 attachment */
static void
multipart_mail(struct buf *m)
{
	static const uint8_t att[40] = { 0, 1, 2, 3, 0xff, 0xfe, '\n', '\r', '=', '-' };

	put(m, "", 0);
	puts_(m, mail_head);
	puts_(m, "MIME-Version: 1.0\n"
	    "Content-Type: multipart/mixed; boundary=\"=-gen-1\"\n"
	    "\n"
	    "This is a multi-part message in MIME format.\n"
	    "\n--=-gen-1\n"
	    "Content-Type: text/plain; charset=utf-8\n"
	    "Content-Transfer-Encoding: 8bit\n"
	    "\n"
	    "Hello, the packet is in the next part.\n"
	    "\n--=-gen-1\n"
	    "Content-Type: text/plain; charset=us-ascii\n"
	    "Content-Transfer-Encoding: 7bit\n"
	    "Content-Disposition: inline\n"
	    "\n");
	armor_text(m, D_A, NULL);
	puts_(m, "\n--=-gen-1\n"
	    "Content-Type: application/octet-stream; name=\"x.bin\"\n"
	    "Content-Transfer-Encoding: base64\n"
	    "Content-Disposition: attachment; filename=\"x.bin\"\n"
	    "\n");
	b64(m, (const char *)att, sizeof att);
	puts_(m, "\n--=-gen-1--\n");
}

/* qp_mail - single text part in quoted-printable */
static void
qp_mail(struct buf *m, const struct style *st)
{
	struct buf t = { 0 };

	put(&t, "", 0);
	puts_(&t, "Hello,   \nthis line is long enough that any quoted-printable encoder has to "
	    "wrap it with a soft line break, and it says: caf\xc3\xa9 = coffee.\n\n");
	armor_text(&t, D_A, st);
	puts_(&t, "\nBye\t\n");
	put(m, "", 0);
	puts_(m, mail_head);
	puts_(m, "MIME-Version: 1.0\n"
	    "Content-Type: text/plain; charset=utf-8\n"
	    "Content-Transfer-Encoding: quoted-printable\n"
	    "\n");
	qp(m, t.p, t.len);
	free(t.p);
}

/*
 * qp_armor - the armor of d in quoted-printable. Its raw text does not
 * decode (the padding is "=3D"), so only the MIME walk can find it, not
 * mailpkt's search of the raw mail.
 */
static void
qp_armor(struct buf *m, enum data d)
{
	struct buf t = { 0 };

	put(&t, "", 0);
	armor_text(&t, d, NULL);
	qp(m, t.p, t.len);
	free(t.p);
}

/* base64_mail - the armor (CR LF) in a base64 attachment */
static void
base64_mail(struct buf *m)
{
	struct buf t = { 0 };
	struct style st = { .eol = eol_crlf };

	put(&t, "", 0);
	armor_text(&t, D_A, &st);
	put(m, "", 0);
	puts_(m, mail_head);
	puts_(m, "MIME-Version: 1.0\n"
	    "Content-Type: multipart/mixed; boundary=\"b64-boundary\"\n"
	    "\n--b64-boundary\n"
	    "Content-Type: text/plain\n"
	    "\n"
	    "See the attachment.\n"
	    "\n--b64-boundary\n"
	    "Content-Type: application/octet-stream; name=\"packet.asc\"\n"
	    "Content-Transfer-Encoding: base64\n"
	    "Content-Disposition: attachment; filename=\"packet.asc\"\n"
	    "\n");
	b64(m, t.p, t.len);
	puts_(m, "--b64-boundary--\n");
	free(t.p);
}

/* rfc822_mail - the armor inside an attached message, quoted-printable */
static void
rfc822_mail(struct buf *m)
{
	put(m, "", 0);
	puts_(m, mail_head);
	puts_(m, "MIME-Version: 1.0\n"
	    "Content-Type: multipart/mixed; boundary=\"outer\"\n"
	    "\n--outer\n"
	    "Content-Type: text/plain\n"
	    "\n"
	    "Forwarded message attached.\n"
	    "\n--outer\n"
	    "Content-Type: message/rfc822\n"
	    "Content-Disposition: attachment\n"
	    "\n"
	    "From: inner@example.org\n"
	    "To: someone@example.org\n"
	    "Subject: the packet\n"
	    "MIME-Version: 1.0\n"
	    "Content-Type: text/plain; charset=us-ascii\n"
	    "Content-Transfer-Encoding: quoted-printable\n"
	    "\n");
	qp_armor(m, D_A);
	puts_(m, "\n--outer--\n");
}

/* nested_mail - the armor inside depth nested multiparts */
static void
nested_mail(struct buf *m, int depth)
{
	int i;

	put(m, "", 0);
	puts_(m, mail_head);
	puts_(m, "MIME-Version: 1.0\n");
	for (i = 1; i <= depth; i++)
		bprintf(m, "Content-Type: multipart/mixed; boundary=\"level-%02d\"\n\n"
		    "--level-%02d\n", i, i);
	puts_(m, "Content-Type: text/plain\nContent-Transfer-Encoding: quoted-printable\n\n");
	qp_armor(m, D_A);
	for (i = depth; i >= 1; i--)
		bprintf(m, "\n--level-%02d--\n", i);
}

/* many_parts_mail - n text parts, the armor in the last */
static void
many_parts_mail(struct buf *m, int n)
{
	int i;

	put(m, "", 0);
	puts_(m, mail_head);
	puts_(m, "MIME-Version: 1.0\n"
	    "Content-Type: multipart/mixed; boundary=\"many\"\n");
	for (i = 1; i < n; i++)
		bprintf(m, "\n--many\nContent-Type: text/plain\n\npart %d\n", i);
	puts_(m, "\n--many\nContent-Type: text/plain\n"
	    "Content-Transfer-Encoding: quoted-printable\n\n");
	qp_armor(m, D_A);
	puts_(m, "\n--many--\n");
}

static void
gen_mails(void)
{
	struct buf m = { 0 };
	struct style one_line = { .one_line = 1, .trail = ws_trail };
	struct style bad = { .corrupt = '*' };
	struct style wrong = { .headers = "Packet-Type: other\n" };
	struct mcrypto_rng rng;
	uint8_t seed[32], garbage[4096];

	plain_mail(&m, NULL, D_A, NULL);
	write_mail("plain", &m, MAILPKT_OK, D_A);
	reset(&m);
	plain_mail(&m, "Return-Path: <sender@example.org>\nDelivered-To: node0@mix0.test\n",
	    D_A, NULL);
	write_mail("return-path", &m, MAILPKT_OK, D_A);
	reset(&m);
	plain_mail(&m, "From sender@example.org Thu Jan  1 00:00:00 2026\n"
	    "Return-Path: <sender@example.org>\n", D_A, NULL);
	write_mail("mbox-from", &m, MAILPKT_OK, D_A);
	reset(&m);
	puts_(&m, "No headers at all, only text.\n\n");
	armor_text(&m, D_A, NULL);
	write_mail("headerless", &m, MAILPKT_OK, D_A);
	reset(&m);

	/* armors GMime shows in no leaf: found by the raw search */
	puts_(&m, mail_head);
	puts_(&m, "MIME-Version: 1.0\n"
	    "Content-Type: multipart/mixed; boundary=\"pre\"\n\n");
	armor_text(&m, D_A, NULL);
	puts_(&m, "\n--pre\nContent-Type: text/plain\n\nNot here.\n\n--pre--\n");
	write_mail("preamble", &m, MAILPKT_OK, D_A);
	reset(&m);
	puts_(&m, mail_head);
	armor_text(&m, D_A, NULL);
	write_mail("no-separator", &m, MAILPKT_OK, D_A);
	reset(&m);

	multipart_mail(&m);
	write_mail("multipart", &m, MAILPKT_OK, D_A);
	lf_to_crlf(&m);
	write_mail("crlf", &m, MAILPKT_OK, D_A);
	reset(&m);
	qp_mail(&m, NULL);
	write_mail("qp", &m, MAILPKT_OK, D_A);
	lf_to_crlf(&m);
	write_mail("qp-crlf", &m, MAILPKT_OK, D_A);
	reset(&m);
	qp_mail(&m, &one_line);
	write_mail("qp-long-line", &m, MAILPKT_OK, D_A);
	reset(&m);
	base64_mail(&m);
	write_mail("base64", &m, MAILPKT_OK, D_A);
	reset(&m);
	rfc822_mail(&m);
	write_mail("rfc822", &m, MAILPKT_OK, D_A);
	reset(&m);

	put(&m, "", 0);
	puts_(&m, mail_head);
	puts_(&m, "\nHello, there is no packet here.\n-----END MIXMAIL PACKET-----\n");
	write_mail("none", &m, MAILPKT_ERR_NONE, D_A);
	reset(&m);
	plain_mail(&m, NULL, D_A, &bad);
	write_mail("bad-armor", &m, MAILPKT_ERR_ARMOR, D_A);
	reset(&m);
	plain_mail(&m, NULL, D_A, &wrong);
	puts_(&m, "\nAgain:\n\n");
	armor_text(&m, D_B, NULL);
	write_mail("bad-then-good", &m, MAILPKT_OK, D_B);
	reset(&m);

	nested_mail(&m, MAILPKT_MAX_DEPTH);
	write_mail("depth-max", &m, MAILPKT_OK, D_A);
	reset(&m);
	nested_mail(&m, MAILPKT_MAX_DEPTH + 1);
	write_mail("depth-over", &m, MAILPKT_ERR_LIMIT, D_A);
	reset(&m);
	many_parts_mail(&m, MAILPKT_MAX_PARTS);
	write_mail("parts-max", &m, MAILPKT_OK, D_A);
	reset(&m);
	many_parts_mail(&m, MAILPKT_MAX_PARTS + 1);
	write_mail("parts-over", &m, MAILPKT_ERR_LIMIT, D_A);
	reset(&m);

	put(&m, "", 0);
	write_mail("empty", &m, MAILPKT_ERR_PARSE, D_A);
	memset(seed, 0, sizeof seed);
	seed[0] = 0x67;
	mcrypto_rng_seed(&rng, seed);
	mcrypto_random(&rng, garbage, sizeof garbage);
	garbage[0] = 0x80;	/* not a header line */
	put(&m, garbage, sizeof garbage);
	write_mail("garbage", &m, MAILPKT_ERR_PARSE, D_A);
	reset(&m);
	puts_(&m, mail_head);
	puts_(&m, "\n");
	put(&m, garbage, sizeof garbage);
	write_mail("binary-body", &m, MAILPKT_ERR_NONE, D_A);
	free(m.p);
}

/* --- fuzz seeds -------------------------------------------------------------- */

static void
gen_seeds(void)
{
	struct buf b = { 0 };
	size_t ab, ae;
	struct style st = { .data = D_A };

	put(&b, "", 0);
	armor(&b, &st, &ab, &ae);
	write_file("fuzz/corpus/armor/armor-plain", &b);
	reset(&b);
	puts_(&b, ARMOR_BEGIN "\r\npacket-type: mixmail-1\r\n\r\nAAAA\r\n" ARMOR_END "\r\n");
	write_file("fuzz/corpus/armor/armor-short", &b);
	reset(&b);
	plain_mail(&b, "Return-Path: <sender@example.org>\n", D_A, NULL);
	write_file("fuzz/corpus/armor/mail-plain", &b);
	reset(&b);
	base64_mail(&b);
	write_file("fuzz/corpus/armor/mail-base64", &b);
	reset(&b);
	rfc822_mail(&b);
	write_file("fuzz/corpus/armor/mail-rfc822-qp", &b);
	free(b.p);
}

int
main(int argc, char **argv)
{
	static const uint8_t body[] = "armor-gen: a fixed message for the golden files\n";
	struct pkt_hop hops[3];
	struct pkt_key keys[3];
	struct mcrypto_rng rng;
	uint8_t seed[32];
	size_t i;

	if (argc != 2) {
		fprintf(stderr, "usage: armor-gen top_srcdir\n");
		return 2;
	}
	top = argv[1];
	/* not tu_init(): Check's assertions only work inside a test */
	if (mcrypto_init() != 0) {
		fprintf(stderr, "armor-gen: mcrypto_init failed\n");
		return 1;
	}
	tu_path(hops, keys, 3);
	memset(seed, 0, sizeof seed);
	seed[0] = 0x61;
	mcrypto_rng_seed(&rng, seed);
	if (pkt_build(pkt_a, hops, 3, PKT_CMD_DELIVER, body, sizeof body - 1, &rng) != PKT_OK ||
	    pkt_build(pkt_b, hops, 2, PKT_CMD_DELIVER, body, sizeof body - 1, &rng) != PKT_OK) {
		fprintf(stderr, "armor-gen: pkt_build failed\n");
		return 1;
	}
	memcpy(pkt_long, pkt_a, PKT_SIZE);
	memcpy(pkt_long + PKT_SIZE, "xyz", 3);

	for (i = 0; i < sizeof avariants / sizeof *avariants; i++)
		gen_armor(&avariants[i]);
	gen_mails();
	gen_seeds();
	return 0;
}
