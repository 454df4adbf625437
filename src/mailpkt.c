/*
 * mailpkt.c - find the armored packet in a whole e-mail message (mailpkt.h).
 *
 * GMime parses the mail from a copy in memory. The MIME tree is walked
 * depth first in the order of the parts: a multipart's children, the
 * message inside a message/rfc822 part, and every leaf part whatever its
 * content type. A leaf's content is decoded from its transfer encoding
 * (base64, quoted-printable, uuencode) by reading it through a GMime filter
 * stream in small steps, so that decoding stops as soon as it passes
 * MAILPKT_MAX_DECODED; such a part is skipped, not searched. Each decoded
 * leaf is searched with armor_decode(), and after a bad armor the search
 * goes on behind its BEGIN line. The first armor that decodes wins.
 *
 * Bounds: containers nest at most MAILPKT_MAX_DEPTH deep (deeper subtrees
 * are skipped), at most MAILPKT_MAX_PARTS leaves are searched (the walk
 * stops at the next one), and one decode buffer of at most
 * MAILPKT_MAX_DECODED + 1 bytes is held. GMime itself refuses to nest
 * deeper than 1024 levels while parsing.
 *
 * When the walk finds no packet and hit no bound, the raw mail is searched
 * as it is, as a last resort: this finds an armor that GMime shows in no
 * leaf, such as text with no header block at all (a bare armor piped in by
 * hand), an armor in a multipart's preamble, or one whose first lines a
 * missing empty line after the headers made into header lines. An encoded
 * armor never decodes there, so this cannot find what the walk rejected.
 *
 * The mail's bytes are untrusted; every GMime result may be NULL. Nothing
 * of the mail is logged.
 *
 * Functions: mailpkt_init(), mailpkt_extract(), mailpkt_strerror().
 */
#include <config.h>

#include <string.h>

#include <gmime/gmime.h>

#include "armor.h"
#include "mailpkt.h"
#include "mem.h"

#define READ_STEP	4096		/* decoded bytes asked for at a time */
#define BUF_START	65536		/* first size of the decode buffer */

struct walk {
	uint8_t *pkt;		/* the caller's packet buffer */
	char *buf;		/* decoded content of the current leaf */
	size_t cap;		/* bytes allocated in buf */
	size_t len;		/* bytes in buf */
	unsigned parts;		/* leaves searched so far */
	int found;		/* a packet was decoded into pkt */
	int stop;		/* MAILPKT_MAX_PARTS reached: stop walking */
	int limit;		/* some bound was hit */
	int armor;		/* an armor was seen that did not decode */
};

static int initialised;

void
mailpkt_init(void)
{
	if (!initialised) {
		g_mime_init();
		initialised = 1;
	}
}

/* search - look for armors in text[0..len) until one decodes */
static void
search(struct walk *w, const char *text, size_t len)
{
	switch (armor_search(text, len, w->pkt)) {
	case ARMOR_OK:
		w->found = 1;
		break;
	case ARMOR_ERR_NONE:
		break;
	default:
		w->armor = 1;
		break;
	}
}

/* grow - make room for READ_STEP more bytes; -1 past the decoded limit */
static int
grow(struct walk *w)
{
	size_t want;

	if (w->cap - w->len >= READ_STEP)
		return 0;
	if (w->cap > MAILPKT_MAX_DECODED)
		return w->len < w->cap ? 0 : -1;
	want = w->cap == 0 ? BUF_START : w->cap * 2;
	if (want > MAILPKT_MAX_DECODED + 1)
		want = MAILPKT_MAX_DECODED + 1;
	w->buf = mem_realloc(w->buf, want);
	w->cap = want;
	return 0;
}

/*
 * decode - the decoded content of part into w->buf and w->len; -1 if it
 * is longer than MAILPKT_MAX_DECODED.
 */
static int
decode(struct walk *w, GMimePart *part)
{
	GMimeDataWrapper *content;
	GMimeStream *src, *fstream;
	GMimeFilter *filter;
	GMimeContentEncoding enc;
	gint64 before;
	ssize_t n;
	size_t step;
	int ret = 0;

	w->len = 0;
	content = g_mime_part_get_content(part);
	if (content == NULL)
		return 0;
	src = g_mime_data_wrapper_get_stream(content);
	if (src == NULL || g_mime_stream_reset(src) == -1)
		return 0;
	fstream = g_mime_stream_filter_new(src);
	if (fstream == NULL)
		return 0;
	enc = g_mime_data_wrapper_get_encoding(content);
	if (enc == GMIME_CONTENT_ENCODING_BASE64 ||
	    enc == GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE ||
	    enc == GMIME_CONTENT_ENCODING_UUENCODE) {
		filter = g_mime_filter_basic_new(enc, FALSE);
		if (filter != NULL) {
			g_mime_stream_filter_add(GMIME_STREAM_FILTER(fstream), filter);
			g_object_unref(filter);
		}
	}
	/*
	 * A read may give 0 bytes before the end (the decoder swallowed a
	 * step of white space, or the last read flushed nothing), so the end
	 * is the filter stream's eos. A read that gives nothing while its
	 * source neither moves nor ends would loop for ever: stop there.
	 */
	while (!g_mime_stream_eos(fstream)) {
		if (grow(w) == -1) {
			ret = -1;
			break;
		}
		step = w->cap - w->len < READ_STEP ? w->cap - w->len : READ_STEP;
		before = g_mime_stream_tell(src);
		n = g_mime_stream_read(fstream, w->buf + w->len, step);
		if (n < 0)
			break;
		w->len += (size_t)n;
		if (w->len > MAILPKT_MAX_DECODED) {
			ret = -1;
			break;
		}
		if (n == 0 && g_mime_stream_tell(src) == before && !g_mime_stream_eos(src))
			break;
	}
	g_object_unref(fstream);
	return ret;
}

/* walk - search obj and what it contains, depth containers down */
static void
walk(struct walk *w, GMimeObject *obj, unsigned depth)
{
	GMimeMultipart *mp;
	GMimeMessage *msg;
	int i, n;

	if (obj == NULL || w->found || w->stop)
		return;
	if (GMIME_IS_MULTIPART(obj)) {
		if (depth >= MAILPKT_MAX_DEPTH) {
			w->limit = 1;
			return;
		}
		mp = GMIME_MULTIPART(obj);
		n = g_mime_multipart_get_count(mp);
		for (i = 0; i < n && !w->found && !w->stop; i++)
			walk(w, g_mime_multipart_get_part(mp, i), depth + 1);
	} else if (GMIME_IS_MESSAGE_PART(obj)) {
		if (depth >= MAILPKT_MAX_DEPTH) {
			w->limit = 1;
			return;
		}
		msg = g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj));
		if (msg != NULL)
			walk(w, g_mime_message_get_mime_part(msg), depth + 1);
	} else if (GMIME_IS_PART(obj)) {
		if (w->parts >= MAILPKT_MAX_PARTS) {
			w->limit = 1;
			w->stop = 1;
			return;
		}
		w->parts++;
		if (decode(w, GMIME_PART(obj)) == -1) {
			w->limit = 1;
			return;
		}
		search(w, w->buf, w->len);
	}
}

enum mailpkt_err
mailpkt_extract(const uint8_t *mail, size_t len, uint8_t pkt[PKT_SIZE])
{
	GMimeStream *stream;
	GMimeParser *parser;
	GMimeMessage *msg;
	struct walk w;
	enum mailpkt_err err;
	int parsed;

	if (mail == NULL || len == 0)
		return MAILPKT_ERR_PARSE;
	/* GMime's parse time grows with hostile structure; bound it by size. */
	if (len > MAILPKT_MAX_MAIL)
		return MAILPKT_ERR_LIMIT;
	mailpkt_init();
	memset(&w, 0, sizeof w);
	w.pkt = pkt;

	stream = g_mime_stream_mem_new_with_buffer((const char *)mail, len);
	if (stream == NULL)
		return MAILPKT_ERR_PARSE;
	parser = g_mime_parser_new_with_stream(stream);
	g_object_unref(stream);
	if (parser == NULL)
		return MAILPKT_ERR_PARSE;
	msg = g_mime_parser_construct_message(parser, NULL);
	g_object_unref(parser);

	parsed = msg != NULL;
	if (parsed) {
		walk(&w, g_mime_message_get_mime_part(msg), 0);
		g_object_unref(msg);
	}
	if (w.buf != NULL)
		mem_free(w.buf);
	/* Last resort: the raw bytes, unless a bound stopped the walk */
	if (!w.found && !w.limit)
		search(&w, (const char *)mail, len);

	if (w.found)
		err = MAILPKT_OK;
	else if (!parsed)
		err = MAILPKT_ERR_PARSE;
	else if (w.limit)
		err = MAILPKT_ERR_LIMIT;
	else if (w.armor)
		err = MAILPKT_ERR_ARMOR;
	else
		err = MAILPKT_ERR_NONE;
	return err;
}

const char *
mailpkt_strerror(enum mailpkt_err err)
{
	switch (err) {
	case MAILPKT_OK:	return "ok";
	case MAILPKT_ERR_PARSE:	return "not parseable as a mail message";
	case MAILPKT_ERR_NONE:	return "no packet armor in the mail";
	case MAILPKT_ERR_ARMOR:	return "packet armor found but none decoded";
	case MAILPKT_ERR_LIMIT:	return "mail exceeds a size or nesting limit";
	}
	return "unknown error";
}
