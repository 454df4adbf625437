/*
 * tamper.c - the adversary's hands for tests/adversary.sh: takes the
 * packet out of a mail, alters it, and puts it back in a mail.
 *
 * usage: tamper -l
 *        tamper [-F OFF[:MASK]]... [-S OFF:VALUE]... [-w COLS] [-a FORM]
 *               [-t TO] [-o RAWOUT] [-i RAWIN | MAIL]
 *        tamper -A DIR [-t TO] MAIL
 *        tamper -P DIR -n COUNT DESC_FILE...
 *
 *   -l          list the packet's regions (doc/packet-format.md, sections
 *               3, 6, 7.1 and 8), derived from the constants of src/pkt.h,
 *               and the test points in each: lines "region NAME FIRST END"
 *               (bytes [FIRST, END) of the packet as a hop receives it) and
 *               "point NAME OFFSET MASK" (MASK in hex). Every region gets
 *               its first byte (mask 01), its middle byte (10) and its last
 *               byte (80); a one-byte region gets 01 and 80.
 *   MAIL        the mail holding the packet (found as a node finds it:
 *               mailpkt_extract, every envelope); "-" or none: stdin
 *   -i RAWIN    take the PKT_SIZE raw bytes of RAWIN instead of a mail
 *   -F OFF[:MASK]  XOR byte OFF with MASK (hex, default 01); repeatable
 *   -S OFF:VALUE   set byte OFF to VALUE (hex); repeatable
 *   -w COLS     base64 characters per armor line (1 to 40000; default 64,
 *               which with -a std is exactly armor_encode's output)
 *   -a FORM     std: the armor as written by nodes; loose: everything a
 *               reader must tolerate at once (CR LF line ends, indented
 *               lines with trailing blanks, an extra armor header and no
 *               empty line after the headers, empty lines among the base64
 *               lines, text before and after the armor); noncanon: std,
 *               but the unused low bits of the last base64 character
 *               before the padding are set (same bytes if accepted)
 *   -t TO       the To: header (default mixnode@localhost.invalid)
 *   -o RAWOUT   also write the altered raw packet there
 *   -A DIR      write one mail per test point of -l into DIR, named
 *               NNN.eml (NNN from 000, in the order of -l), each the
 *               packet of MAIL with that one bit flipped, std armor; print
 *               "NNN NAME OFFSET MASK" for each
 *   -P DIR      build COUNT fresh packets for the path DESC_FILE... (as
 *               tests/mkpacket does with no options: keys usable now, delay
 *               0, mkpacket's default body) and write each, std armor, To:
 *               the first address, as DIR/NNNN.eml (from 0000). One run
 *               instead of COUNT: the n-1 test floods with hundreds.
 *
 * The mail written is the plain envelope: To:, Subject:, an empty line,
 * the armor. Other envelopes: give the raw packet (-o) to tests/mkpacket
 * -r. Exit 0 on success, 1 with a message on stderr on any error. Links
 * libmix and libmixmail (for mailpkt_extract).
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
#include "mailpkt.h"
#include "mcrypto.h"
#include "pkt.h"

#define MAX_EDITS	256
#define MAIL_MAX	(4 * 1024 * 1024)
#define DEFAULT_TO	"mixnode@localhost.invalid"
#define COLS_MAX	40000
/* The payload cipher's 16-byte block R (doc/packet-format.md section 6) */
#define SPRP_R_SIZE	16
/* Routing block fields (doc/packet-format.md section 7.1) */
#define RB_OFF_CMD	0
#define RB_OFF_RESERVED	1
#define RB_OFF_DELAY	4
#define RB_OFF_ALPHA	8
#define RB_OFF_GAMMA	40
#define RB_OFF_ALEN	72
#define RB_OFF_ADDR	73
/* The exit's plaintext (section 8): zero tag, 2-byte length, body */
#define PL_OFF_LENGTH	PKT_ZERO_TAG_SIZE
#define PL_OFF_BODY	(PKT_ZERO_TAG_SIZE + 2)

struct region {
	char name[32];
	size_t first, end;
};

#define NREGIONS	(2 + 7 + (PKT_MAX_HOPS - 1) + 1 + 4)
static struct region regions[NREGIONS];
static size_t nregions;

struct point {
	size_t region, off;
	uint8_t mask;
};

static struct point points[NREGIONS * 3];
static size_t npoints;

static void __attribute__((noreturn, format(printf, 1, 2)))
die(const char *fmt, ...)
{
	va_list ap;

	fputs("tamper: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static void __attribute__((noreturn))
usage(void)
{
	fputs("usage: tamper -l\n"
	    "       tamper [-F OFF[:MASK]]... [-S OFF:VALUE]... [-w COLS] [-a std|loose|noncanon]\n"
	    "              [-t TO] [-o RAWOUT] [-i RAWIN | MAIL]\n"
	    "       tamper -A DIR [-t TO] MAIL\n"
	    "       tamper -P DIR -n COUNT DESC_FILE...\n", stderr);
	exit(1);
}

/* --- regions ------------------------------------------------------------- */

static void
region(const char *name, size_t first, size_t end)
{
	struct region *r = &regions[nregions];

	if (nregions == NREGIONS || first >= end || end > PKT_SIZE)
		die("internal: bad region table");
	(void)snprintf(r->name, sizeof r->name, "%s", name);
	r->first = first;
	r->end = end;
	nregions++;
}

static void
point(size_t reg, size_t off, uint8_t mask)
{
	points[npoints].region = reg;
	points[npoints].off = off;
	points[npoints].mask = mask;
	npoints++;
}

/* build_regions - the packet's regions and the test points in them */
static void
build_regions(void)
{
	static const struct {
		const char *name;
		size_t first, end;
	} rb0[] = {
		{ "beta.rb0.command", RB_OFF_CMD, RB_OFF_RESERVED },
		{ "beta.rb0.reserved", RB_OFF_RESERVED, RB_OFF_DELAY },
		{ "beta.rb0.delay", RB_OFF_DELAY, RB_OFF_ALPHA },
		{ "beta.rb0.next-alpha", RB_OFF_ALPHA, RB_OFF_GAMMA },
		{ "beta.rb0.next-gamma", RB_OFF_GAMMA, RB_OFF_ALEN },
		{ "beta.rb0.addr-len", RB_OFF_ALEN, RB_OFF_ADDR },
		{ "beta.rb0.addr", RB_OFF_ADDR, PKT_RB_SIZE },
	};
	char name[32];
	size_t i, len;

	region("version", PKT_OFF_VERSION, PKT_OFF_ALPHA);
	region("alpha", PKT_OFF_ALPHA, PKT_OFF_ALPHA + PKT_ALPHA_SIZE);
	/* β as the hop receives it: block 0 is its own routing block */
	for (i = 0; i < sizeof rb0 / sizeof *rb0; i++)
		region(rb0[i].name, PKT_OFF_BETA + rb0[i].first, PKT_OFF_BETA + rb0[i].end);
	for (i = 1; i < PKT_MAX_HOPS; i++) {
		(void)snprintf(name, sizeof name, "beta.rb%zu", i);
		region(name, PKT_OFF_BETA + i * PKT_RB_SIZE, PKT_OFF_BETA + (i + 1) * PKT_RB_SIZE);
	}
	region("gamma", PKT_OFF_GAMMA, PKT_OFF_GAMMA + PKT_MAC_SIZE);
	/* the payload, named by what its bytes are in the exit's plaintext */
	region("payload.zero-tag", PKT_OFF_PAYLOAD, PKT_OFF_PAYLOAD + PL_OFF_LENGTH);
	region("payload.length", PKT_OFF_PAYLOAD + PL_OFF_LENGTH, PKT_OFF_PAYLOAD + PL_OFF_BODY);
	region("payload.body", PKT_OFF_PAYLOAD + PL_OFF_BODY, PKT_SIZE - SPRP_R_SIZE);
	region("payload.sprp-block", PKT_SIZE - SPRP_R_SIZE, PKT_SIZE);
	if (nregions != NREGIONS || regions[nregions - 1].end != PKT_SIZE)
		die("internal: the regions do not cover the packet");
	/* every byte in exactly one region */
	for (i = 1; i < nregions; i++)
		if (regions[i].first != regions[i - 1].end)
			die("internal: regions %zu and %zu do not meet", i - 1, i);

	for (i = 0; i < nregions; i++) {
		len = regions[i].end - regions[i].first;
		if (len == 1) {
			point(i, regions[i].first, 0x01);
			point(i, regions[i].first, 0x80);
			continue;
		}
		point(i, regions[i].first, 0x01);
		point(i, regions[i].first + len / 2, 0x10);
		point(i, regions[i].end - 1, 0x80);
	}
}

/* --- input ---------------------------------------------------------------- */

static uint8_t *
read_all(const char *path, size_t max, size_t *len)
{
	FILE *fp = (path == NULL || strcmp(path, "-") == 0) ? stdin : fopen(path, "rb");
	uint8_t *buf;
	size_t n;

	if (fp == NULL)
		die("%s: %s", path, strerror(errno));
	if ((buf = malloc(max + 1)) == NULL)
		die("out of memory");
	n = fread(buf, 1, max + 1, fp);
	if (ferror(fp))
		die("%s: read error", path ? path : "stdin");
	if (fp != stdin)
		fclose(fp);
	if (n > max)
		die("%s: longer than %zu bytes", path ? path : "stdin", max);
	*len = n;
	return buf;
}

static void
write_file(const char *path, const void *p, size_t len)
{
	FILE *fp = fopen(path, "wb");

	if (fp == NULL || fwrite(p, 1, len, fp) != len || fclose(fp) != 0)
		die("%s: cannot write", path);
}

/* number - an unsigned number in base (10 or 16), at most max */
static size_t
number(const char *s, size_t len, int base, size_t max)
{
	char tmp[32], *end;
	unsigned long long v;

	if (len == 0 || len >= sizeof tmp)
		die("not a number: %.*s", (int)(len < 32 ? len : 32), s);
	memcpy(tmp, s, len);
	tmp[len] = 0;
	errno = 0;
	v = strtoull(tmp, &end, base);
	if (errno != 0 || *end != 0 || tmp[0] == '-' || v > max)
		die("not a number from 0 to %zu: %s", max, tmp);
	return (size_t)v;
}

/* --- output ----------------------------------------------------------------- */

enum form { FORM_STD, FORM_LOOSE, FORM_NONCANON };

struct out {
	FILE *fp;
	int crlf;
};

static void
put(struct out *o, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (o->crlf && s[i] == '\n')
			putc('\r', o->fp);
		putc(s[i], o->fp);
	}
}

static void
puts_(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

/*
 * write_mail - the plain envelope around an armor of pkt in the given form
 * with cols base64 characters a line.
 */
static void
write_mail(FILE *fp, const char *to, const uint8_t *pkt, size_t cols, enum form form)
{
	struct out o = { fp, form == FORM_LOOSE };
	size_t b64_size = mcrypto_base64_len(PKT_SIZE), len, i, n, line = 0;
	char *b64 = malloc(b64_size), *eq;
	const char *ind = form == FORM_LOOSE ? "\t " : "";
	const char *trail = form == FORM_LOOSE ? "  \t" : "";

	if (b64 == NULL)
		die("out of memory");
	mcrypto_base64(b64, b64_size, pkt, PKT_SIZE);
	len = strlen(b64);
	if (len != ARMOR_B64_LEN)
		die("internal: base64 of a packet is %zu characters", len);
	if (form == FORM_NONCANON) {
		/*
		 * PKT_SIZE mod 3 is 2: the last quantum holds 16 bits in 3
		 * characters (18 bits) and one "=". Setting the unused 2 bits
		 * of the third character changes the text, not the bytes.
		 */
		static const char alphabet[] =
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
		const char *c;

		if ((eq = strchr(b64, '=')) == NULL || eq != b64 + len - 1 ||
		    (c = strchr(alphabet, eq[-1])) == NULL || ((c - alphabet) & 3) != 0)
			die("internal: unexpected base64 padding");
		eq[-1] = alphabet[(c - alphabet) | 3];
	}
	puts_(&o, "To: ");
	puts_(&o, to);
	puts_(&o, "\nSubject: test\n\n");
	if (form == FORM_LOOSE)
		puts_(&o, "Some text before the packet.\n\n");
	puts_(&o, ind);
	puts_(&o, ARMOR_BEGIN);
	puts_(&o, trail);
	puts_(&o, "\n");
	puts_(&o, ind);
	if (form == FORM_LOOSE)
		puts_(&o, "packet-type:");	/* name in any case, no blank after ':' */
	else
		puts_(&o, ARMOR_TYPE_KEY ": ");
	puts_(&o, ARMOR_TYPE);
	puts_(&o, trail);
	puts_(&o, "\n");
	if (form == FORM_LOOSE)
		puts_(&o, "Comment: headers other than Packet-Type are ignored\n");
	else
		puts_(&o, "\n");
	for (i = 0; i < len; i += n) {
		n = len - i < cols ? len - i : cols;
		puts_(&o, ind);
		put(&o, b64 + i, n);
		puts_(&o, trail);
		puts_(&o, "\n");
		if (form == FORM_LOOSE && ++line % 100 == 0)
			puts_(&o, "\n");
	}
	puts_(&o, ind);
	puts_(&o, ARMOR_END);
	puts_(&o, trail);
	puts_(&o, "\n");
	if (form == FORM_LOOSE)
		puts_(&o, "\nSome text after the packet.\n");
	free(b64);
	if (fflush(fp) != 0 || ferror(fp))
		die("cannot write the mail: %s", strerror(errno));
}

/* write_std - exactly the armor a node writes, in the plain envelope */
static void
write_std(FILE *fp, const char *to, const uint8_t *pkt)
{
	char *armor = malloc(ARMOR_SIZE);

	if (armor == NULL)
		die("out of memory");
	if (armor_encode(armor, ARMOR_SIZE, pkt) != ARMOR_SIZE - 1)
		die("armor_encode failed");
	fprintf(fp, "To: %s\nSubject: test\n\n", to);
	if (fwrite(armor, 1, ARMOR_SIZE - 1, fp) != ARMOR_SIZE - 1 || fflush(fp) != 0)
		die("cannot write the mail: %s", strerror(errno));
	free(armor);
}

/* build_many - count packets for the path of descriptor files into dir */
static void
build_many(const char *dir, size_t count, char **files, size_t nfiles)
{
	static const char body[] = "This is a test message from mkpacket.\n";
	struct descriptor *descs;
	struct pkt_hop hops[PKT_MAX_HOPS];
	const struct desc_mixkey *key;
	int64_t now = (int64_t)time(NULL);
	enum desc_err err;
	uint8_t *pkt, *buf;
	char path[4096];
	size_t i, len;
	unsigned line;
	FILE *fp;

	if (nfiles == 0 || nfiles > PKT_MAX_HOPS)
		die("-P: 1 to %d descriptors", PKT_MAX_HOPS);
	if ((descs = calloc(nfiles, sizeof *descs)) == NULL || (pkt = malloc(PKT_SIZE)) == NULL)
		die("out of memory");
	for (i = 0; i < nfiles; i++) {
		buf = read_all(files[i], DESC_MAX_SIZE, &len);
		if ((err = desc_parse((const char *)buf, len, &descs[i], &line)) != DESC_OK)
			die("%s: line %u: %s", files[i], line, desc_strerror(err));
		free(buf);
		if ((key = desc_key_usable(&descs[i], now)) == NULL)
			die("%s: no usable mix key", files[i]);
		memcpy(hops[i].pk, key->pk, sizeof hops[i].pk);
		hops[i].addr = descs[i].address;
		hops[i].delay = 0;
	}
	for (i = 0; i < count; i++) {
		if (pkt_build(pkt, hops, nfiles, PKT_CMD_DELIVER, (const uint8_t *)body,
		    sizeof body - 1, NULL) != PKT_OK)
			die("pkt_build failed");
		if ((size_t)snprintf(path, sizeof path, "%s/%04zu.eml", dir, i) >= sizeof path)
			die("%s: path too long", dir);
		if ((fp = fopen(path, "wb")) == NULL)
			die("%s: %s", path, strerror(errno));
		write_std(fp, descs[0].address, pkt);
		if (fclose(fp) != 0)
			die("%s: cannot write", path);
	}
	free(pkt);
	free(descs);
}

/* --- main ---------------------------------------------------------------------- */

static void
list(void)
{
	size_t i;

	for (i = 0; i < nregions; i++)
		printf("region %s %zu %zu\n", regions[i].name, regions[i].first, regions[i].end);
	for (i = 0; i < npoints; i++)
		printf("point %s %zu %02x\n", regions[points[i].region].name, points[i].off,
		    points[i].mask);
}

/* all_points - one mail per test point into dir */
static void
all_points(const char *dir, const char *to, const uint8_t *pkt)
{
	uint8_t *p = malloc(PKT_SIZE);
	char path[4096];
	size_t i;
	FILE *fp;

	if (p == NULL)
		die("out of memory");
	for (i = 0; i < npoints; i++) {
		memcpy(p, pkt, PKT_SIZE);
		p[points[i].off] ^= points[i].mask;
		if ((size_t)snprintf(path, sizeof path, "%s/%03zu.eml", dir, i) >= sizeof path)
			die("%s: path too long", dir);
		if ((fp = fopen(path, "wb")) == NULL)
			die("%s: %s", path, strerror(errno));
		write_std(fp, to, p);
		if (fclose(fp) != 0)
			die("%s: cannot write", path);
		printf("%03zu %s %zu %02x\n", i, regions[points[i].region].name, points[i].off,
		    points[i].mask);
	}
	free(p);
}

int
main(int argc, char **argv)
{
	struct {
		size_t off;
		uint8_t v;
		int set;
	} edits[MAX_EDITS];
	const char *raw_in = NULL, *raw_out = NULL, *to = DEFAULT_TO, *dir = NULL, *colon;
	const char *build_dir = NULL;
	size_t nedits = 0, cols = ARMOR_COLUMNS, len, i, count = 0;
	enum form form = FORM_STD;
	enum mailpkt_err merr;
	uint8_t *pkt, *in;
	int c, do_list = 0;

	while ((c = getopt(argc, argv, "lF:S:w:a:t:o:i:A:P:n:")) != -1) {
		switch (c) {
		case 'l':
			do_list = 1;
			break;
		case 'F':
		case 'S':
			if (nedits == MAX_EDITS)
				die("more than %d edits", MAX_EDITS);
			colon = strchr(optarg, ':');
			if (c == 'S' && colon == NULL)
				die("-S OFF:VALUE");
			edits[nedits].off = number(optarg, colon ? (size_t)(colon - optarg) :
			    strlen(optarg), 10, PKT_SIZE - 1);
			edits[nedits].v = colon ? (uint8_t)number(colon + 1, strlen(colon + 1), 16,
			    255) : 1;
			edits[nedits].set = c == 'S';
			nedits++;
			break;
		case 'w':
			cols = number(optarg, strlen(optarg), 10, COLS_MAX);
			if (cols == 0)
				die("-w: at least 1");
			break;
		case 'a':
			if (strcmp(optarg, "std") == 0)
				form = FORM_STD;
			else if (strcmp(optarg, "loose") == 0)
				form = FORM_LOOSE;
			else if (strcmp(optarg, "noncanon") == 0)
				form = FORM_NONCANON;
			else
				die("-a: std, loose or noncanon");
			break;
		case 't':
			if (strpbrk(optarg, "\r\n") != NULL)
				die("-t: no line ends");
			to = optarg;
			break;
		case 'o':
			raw_out = optarg;
			break;
		case 'i':
			raw_in = optarg;
			break;
		case 'A':
			dir = optarg;
			break;
		case 'P':
			build_dir = optarg;
			break;
		case 'n':
			count = number(optarg, strlen(optarg), 10, 100000);
			break;
		default:
			usage();
		}
	}
	build_regions();
	if (do_list) {
		if (optind != argc)
			usage();
		list();
		return fflush(stdout) == 0 ? 0 : 1;
	}
	if (build_dir != NULL) {
		if (mcrypto_init() != 0)
			die("cannot initialise the crypto libraries");
		build_many(build_dir, count, argv + optind, (size_t)(argc - optind));
		return 0;
	}
	if (argc - optind > 1 || (raw_in != NULL && optind != argc))
		usage();
	if (dir != NULL && (raw_in != NULL || nedits > 0 || raw_out != NULL))
		die("-A writes the test points of one mail: no -i, -F, -S or -o");
	if (mcrypto_init_flags(0) != 0)
		die("cannot initialise the crypto libraries");
	mailpkt_init();

	if ((pkt = malloc(PKT_SIZE)) == NULL)
		die("out of memory");
	if (raw_in != NULL) {
		in = read_all(raw_in, PKT_SIZE, &len);
		if (len != PKT_SIZE)
			die("%s: %zu bytes, not a packet of %d", raw_in, len, PKT_SIZE);
		memcpy(pkt, in, PKT_SIZE);
	} else {
		in = read_all(optind < argc ? argv[optind] : NULL, MAIL_MAX, &len);
		if ((merr = mailpkt_extract(in, len, pkt)) != MAILPKT_OK)
			die("no packet in the mail: %s", mailpkt_strerror(merr));
	}
	free(in);

	if (dir != NULL) {
		all_points(dir, to, pkt);
		free(pkt);
		return fflush(stdout) == 0 ? 0 : 1;
	}
	for (i = 0; i < nedits; i++) {
		if (edits[i].set)
			pkt[edits[i].off] = edits[i].v;
		else
			pkt[edits[i].off] ^= edits[i].v;
	}
	if (raw_out != NULL)
		write_file(raw_out, pkt, PKT_SIZE);
	if (form == FORM_STD && cols == ARMOR_COLUMNS)
		write_std(stdout, to, pkt);
	else
		write_mail(stdout, to, pkt, cols, form);
	free(pkt);
	return 0;
}
