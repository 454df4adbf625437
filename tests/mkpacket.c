/*
 * mkpacket.c - builds a packet for a path of nodes and writes it as a mail
 * on stdout, for the shell tests that feed "mixnode receive".
 *
 * usage: mkpacket [-n NOW] [-d] [-B BODYFILE] [-r RAWIN] [-o RAWOUT]
 *                 [-F OFFSET]... [-e STYLE] [DESC_FILE...]
 *
 *   DESC_FILE   signed node descriptors (doc/descriptor-format.md), the
 *               path in order; each must parse and verify (desc_parse).
 *               Hop i uses the key of descriptor i that is usable at NOW
 *               (desc_key_usable) and the address of descriptor i; every
 *               hop's delay is 0. The mail goes To: the first address.
 *   -n NOW      the time for picking keys, seconds since the epoch
 *               (default: the current time)
 *   -d          the last hop drops the packet (a dummy) instead of
 *               delivering the body
 *   -B BODYFILE the body to deliver (at most PKT_BODY_MAX bytes); default
 *               a fixed short text
 *   -r RAWIN    do not build: armor the PKT_SIZE bytes of RAWIN instead
 *               (a replay in a new envelope). Descriptors are then
 *               optional and only give the To: address.
 *   -o RAWOUT   also write the raw packet, exactly as armored (after -F)
 *   -F OFFSET   flip the low bit of byte OFFSET of the packet before it is
 *               armored; may be repeated
 *   -e STYLE    the envelope: plain (default: To:, Subject:, empty line,
 *               armor), crlf (the same with CR LF line ends), mime-base64
 *               (multipart/mixed, the armor as a base64 attachment),
 *               mime-qp (the armor quoted-printable in text/plain), nested
 *               (the armor in a message/rfc822 part of a multipart)
 *
 * The packet's randomness comes from the operating system: two runs make
 * different packets. Exit 0 on success, 1 with a message on stderr on any
 * error. Links only the core library.
 */
#include <config.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "armor.h"
#include "descriptor.h"
#include "mcrypto.h"
#include "pkt.h"

#define MAX_FLIPS	256
#define DEFAULT_TO	"mixnode@localhost.invalid"
#define QP_WIDTH	60	/* shorter than the 76 allowed: soft breaks do occur */
#define B64_WIDTH	76

static const char default_body[] = "This is a test message from mkpacket.\n";

enum style { ST_PLAIN, ST_CRLF, ST_MIME_BASE64, ST_MIME_QP, ST_NESTED };

static const char *const style_names[] = {
	"plain", "crlf", "mime-base64", "mime-qp", "nested"
};

static void __attribute__((noreturn, format(printf, 1, 2)))
die(const char *fmt, ...)
{
	va_list ap;

	fputs("mkpacket: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static void __attribute__((noreturn))
usage(void)
{
	fputs("usage: mkpacket [-n NOW] [-d] [-B BODYFILE] [-r RAWIN] [-o RAWOUT] "
	    "[-F OFFSET]...\n"
	    "                [-e plain|crlf|mime-base64|mime-qp|nested] [DESC_FILE...]\n",
	    stderr);
	exit(1);
}

/* read_file - at most max bytes of path (more is an error), malloc'ed */
static uint8_t *
read_file(const char *path, size_t max, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	uint8_t *buf;
	size_t n;

	if (fp == NULL)
		die("%s: %s", path, strerror(errno));
	if ((buf = malloc(max + 1)) == NULL)
		die("out of memory");
	n = fread(buf, 1, max + 1, fp);
	if (ferror(fp))
		die("%s: read error", path);
	fclose(fp);
	if (n > max)
		die("%s: longer than %zu bytes", path, max);
	*len = n;
	return buf;
}

static void
write_file(const char *path, const uint8_t *p, size_t len)
{
	FILE *fp = fopen(path, "wb");

	if (fp == NULL || fwrite(p, 1, len, fp) != len || fclose(fp) != 0)
		die("%s: cannot write", path);
}

/* number - a decimal argument in [min, max] */
static long long
number(const char *opt, const char *s, long long min, long long max)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
		die("%s: not a number from %lld to %lld: %s", opt, min, max, s);
	return v;
}

/* --- the envelope -------------------------------------------------------- */

static int crlf;	/* -e crlf: every LF written becomes CR LF */

/* out - text to stdout */
static void
out(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (crlf && s[i] == '\n')
			putchar('\r');
		putchar(s[i]);
	}
}

static void
outs(const char *s)
{
	out(s, strlen(s));
}

static void
headers(const char *to)
{
	outs("To: ");
	outs(to);
	outs("\nSubject: test\n");
}

/* base64_lines - the base64 of p, B64_WIDTH characters a line */
static void
base64_lines(const char *p, size_t n)
{
	size_t len = mcrypto_base64_len(n), i;
	char *b64 = malloc(len);

	if (b64 == NULL)
		die("out of memory");
	mcrypto_base64(b64, len, (const uint8_t *)p, n);
	len = strlen(b64);
	for (i = 0; i < len; i += B64_WIDTH) {
		out(b64 + i, len - i < B64_WIDTH ? len - i : B64_WIDTH);
		outs("\n");
	}
	free(b64);
}

/*
 * qp_lines - quoted-printable (RFC 2045) of LF-separated text: "=" and
 * anything outside printable ASCII as =XX, a space or tab before a line
 * end as =XX, soft line breaks to keep lines within QP_WIDTH.
 */
static void
qp_lines(const char *p, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i, col = 0, tn;
	unsigned char c;
	char tok[3];

	for (i = 0; i < n; i++) {
		c = (unsigned char)p[i];
		if (c == '\n') {
			outs("\n");
			col = 0;
			continue;
		}
		if (c == '=' || c < 0x20 || c > 0x7e ||
		    ((c == ' ' || c == '\t') && (i + 1 == n || p[i + 1] == '\n'))) {
			tok[0] = '=';
			tok[1] = hex[c >> 4];
			tok[2] = hex[c & 15];
			tn = 3;
		} else {
			tok[0] = (char)c;
			tn = 1;
		}
		if (col + tn > QP_WIDTH - 1) {
			outs("=\n");
			col = 0;
		}
		out(tok, tn);
		col += tn;
	}
}

static void
write_mail(enum style st, const char *to, const char *armor, size_t alen)
{
	switch (st) {
	case ST_PLAIN:
	case ST_CRLF:
		crlf = st == ST_CRLF;
		headers(to);
		outs("\n");
		out(armor, alen);
		break;
	case ST_MIME_BASE64:
		headers(to);
		outs("MIME-Version: 1.0\n"
		    "Content-Type: multipart/mixed; boundary=\"mkpacket-b64\"\n\n"
		    "--mkpacket-b64\n"
		    "Content-Type: text/plain; charset=us-ascii\n\n"
		    "The packet is attached.\n\n"
		    "--mkpacket-b64\n"
		    "Content-Type: application/octet-stream; name=\"packet.txt\"\n"
		    "Content-Transfer-Encoding: base64\n"
		    "Content-Disposition: attachment; filename=\"packet.txt\"\n\n");
		base64_lines(armor, alen);
		outs("--mkpacket-b64--\n");
		break;
	case ST_MIME_QP:
		headers(to);
		outs("MIME-Version: 1.0\n"
		    "Content-Type: text/plain; charset=us-ascii\n"
		    "Content-Transfer-Encoding: quoted-printable\n\n");
		qp_lines(armor, alen);
		break;
	case ST_NESTED:
		headers(to);
		outs("MIME-Version: 1.0\n"
		    "Content-Type: multipart/mixed; boundary=\"mkpacket-outer\"\n\n"
		    "--mkpacket-outer\n"
		    "Content-Type: text/plain; charset=us-ascii\n\n"
		    "Forwarded message attached.\n\n"
		    "--mkpacket-outer\n"
		    "Content-Type: message/rfc822\n"
		    "Content-Disposition: attachment\n\n");
		headers(to);
		outs("MIME-Version: 1.0\n"
		    "Content-Type: text/plain; charset=us-ascii\n\n");
		out(armor, alen);
		outs("\n--mkpacket-outer--\n");
		break;
	}
}

/* --- the packet ----------------------------------------------------------- */

/* load - descriptor file path, parsed and verified */
static void
load(const char *path, struct descriptor *d)
{
	enum desc_err err;
	unsigned line;
	uint8_t *buf;
	size_t len;

	buf = read_file(path, DESC_MAX_SIZE, &len);
	if ((err = desc_parse((const char *)buf, len, d, &line)) != DESC_OK) {
		if (line > 0)
			die("%s: line %u: %s", path, line, desc_strerror(err));
		die("%s: %s", path, desc_strerror(err));
	}
	free(buf);
}

int
main(int argc, char **argv)
{
	struct descriptor *descs = NULL;
	struct pkt_hop hops[PKT_MAX_HOPS];
	const struct desc_mixkey *key;
	const char *body_file = NULL, *raw_in = NULL, *raw_out = NULL, *to = DEFAULT_TO;
	long long now = (long long)time(NULL);
	size_t flips[MAX_FLIPS], nflips = 0, ndesc, i, body_len, raw_len;
	enum style st = ST_PLAIN;
	enum pkt_cmd final = PKT_CMD_DELIVER;
	enum pkt_err perr;
	uint8_t *pkt, *body = NULL;
	char *armor;
	int c, found, drop = 0;

	while ((c = getopt(argc, argv, "n:dB:r:o:F:e:")) != -1) {
		switch (c) {
		case 'n':
			now = number("-n", optarg, INT64_MIN, INT64_MAX);
			break;
		case 'd':
			drop = 1;
			final = PKT_CMD_DROP;
			break;
		case 'B':
			body_file = optarg;
			break;
		case 'r':
			raw_in = optarg;
			break;
		case 'o':
			raw_out = optarg;
			break;
		case 'F':
			if (nflips == MAX_FLIPS)
				die("more than %d -F options", MAX_FLIPS);
			flips[nflips++] = (size_t)number("-F", optarg, 0, PKT_SIZE - 1);
			break;
		case 'e':
			for (i = 0, found = 0; i < sizeof style_names / sizeof *style_names; i++)
				if (strcmp(optarg, style_names[i]) == 0) {
					st = (enum style)i;
					found = 1;
				}
			if (!found)
				die("-e: unknown envelope style: %s", optarg);
			break;
		default:
			usage();
		}
	}
	ndesc = (size_t)(argc - optind);
	if (raw_in != NULL && (body_file != NULL || drop))
		die("-r armors an existing packet: -B and -d do not apply");
	if (drop && body_file != NULL)
		die("-d makes a dummy, which carries no body: -B does not apply");
	if (raw_in == NULL && ndesc == 0)
		usage();
	if (ndesc > PKT_MAX_HOPS)
		die("at most %d descriptors (hops)", PKT_MAX_HOPS);
	if (mcrypto_init() != 0)
		die("cannot initialise the crypto libraries");

	if ((descs = calloc(ndesc ? ndesc : 1, sizeof *descs)) == NULL ||
	    (pkt = malloc(PKT_SIZE)) == NULL || (armor = malloc(ARMOR_SIZE)) == NULL)
		die("out of memory");
	for (i = 0; i < ndesc; i++)
		load(argv[optind + (int)i], &descs[i]);
	if (ndesc > 0)
		to = descs[0].address;

	if (raw_in != NULL) {
		free(pkt);
		pkt = read_file(raw_in, PKT_SIZE, &raw_len);
		if (raw_len != PKT_SIZE)
			die("%s: %zu bytes, not a packet of %d", raw_in, raw_len, PKT_SIZE);
	} else {
		for (i = 0; i < ndesc; i++) {
			if ((key = desc_key_usable(&descs[i], now)) == NULL)
				die("%s: no mix key usable at %lld", argv[optind + (int)i], now);
			memcpy(hops[i].pk, key->pk, sizeof hops[i].pk);
			hops[i].addr = descs[i].address;
			hops[i].delay = 0;
		}
		if (body_file != NULL)
			body = read_file(body_file, PKT_BODY_MAX, &body_len);
		else
			body_len = drop ? 0 : sizeof default_body - 1;
		perr = pkt_build(pkt, hops, ndesc, final,
		    body != NULL ? body : (const uint8_t *)default_body, body_len, NULL);
		if (perr != PKT_OK)
			die("pkt_build: %s", pkt_strerror(perr));
	}

	for (i = 0; i < nflips; i++)
		pkt[flips[i]] ^= 1;
	if (raw_out != NULL)
		write_file(raw_out, pkt, PKT_SIZE);
	if (armor_encode(armor, ARMOR_SIZE, pkt) != ARMOR_SIZE - 1)
		die("armor_encode failed");
	write_mail(st, to, armor, ARMOR_SIZE - 1);
	if (fflush(stdout) != 0 || ferror(stdout))
		die("cannot write the mail: %s", strerror(errno));
	free(descs);
	free(body);
	free(pkt);
	free(armor);
	return 0;
}
