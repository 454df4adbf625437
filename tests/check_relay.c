/*
 * check_relay.c - the outbound hand-off (relay.c): relay_parse() over
 * tables of good and bad specs, EHLO names; Maildir delivery (files only
 * in new/, exact contents with LF line ends, modes, tmp/ left empty,
 * unique names, a write that fails half way, unusable directories,
 * invalid messages); SMTP against a scripted server forked here (the
 * verdict rules of relay.h for every reply class, one connection per
 * batch, the bytes on the wire, the Message-Id default, the EHLO name,
 * error text that names no address and no reply text), a refused
 * connection, a server that never greets (the timeout) and one that
 * hangs up at once; SIGPIPE's handler is restored.
 *
 * tests/relay.sh does the same against a real Postfix.
 *
 * Every test works under one temporary directory ($TMPDIR or /tmp).
 */
#include <config.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <check.h>

#include "log.h"
#include "mcrypto.h"
#include "relay.h"
#include "testutil.h"

#define MAXFILES	512
#define BIG_LEN		(300 * 1024)
#define HELO		"relay-check.invalid"

static char tmproot[PATH_MAX];
static unsigned serial;

/* ---- fixtures and helpers ------------------------------------------------ */

static void
make_root(void)
{
	tu_make_tmpdir(tmproot, sizeof tmproot, "check_relay");
}

static void
remove_root(void)
{
	tu_rm_tree(tmproot);
}

static void
setup(void)
{
	tu_init();
}

/* pathf - a path made with printf; it must fit */
static void MIX_PRINTF(3, 4)
pathf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	ck_assert(n >= 0 && (size_t)n < size);
}

/* fresh - a new path under the root (not created) */
static const char *
fresh(char *buf, size_t size, const char *what)
{
	pathf(buf, size, "%s/%s.%u.%ld", tmproot, what, serial++, (long)getpid());
	return buf;
}

/* has - needle in data[0..len) */
static int
has(const char *data, size_t len, const char *needle)
{
	size_t n = strlen(needle), i;

	for (i = 0; i + n <= len; i++)
		if (memcmp(data + i, needle, n) == 0)
			return 1;
	return 0;
}

static void
mkdir_ok(const char *path, mode_t mode)
{
	ck_assert_msg(mkdir(path, mode) == 0, "mkdir %s: %s", path, strerror(errno));
}

static void
touch_ok(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	ck_assert_int_ge(fd, 0);
	close(fd);
}

/* list - the names in dir (not . and ..), sorted; returns the count */
static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static size_t
list(const char *dir, char **names, size_t max)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0;

	ck_assert_msg(d != NULL, "opendir %s: %s", dir, strerror(errno));
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		ck_assert_uint_lt(n, max);
		names[n++] = strdup(e->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof *names, cmp_str);
	return n;
}

static void
free_names(char **names, size_t n)
{
	while (n > 0)
		free(names[--n]);
}

static size_t
count(const char *dir)
{
	char *names[MAXFILES];
	size_t n = list(dir, names, MAXFILES);

	free_names(names, n);
	return n;
}

static const char *
sub(const char *dir, const char *name)
{
	static char p[PATH_MAX];

	pathf(p, sizeof p, "%s/%s", dir, name);
	return p;
}

static int
is_hex_name(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return i == RELAY_NAME_LEN;
}

/*
 * normalize - the reference for relay.h's line-end rule, written apart
 * from relay.c: LF, CR LF and a lone CR each become eol; a missing last
 * line end is added. Returns a malloc'd buffer.
 */
static uint8_t *
normalize(const uint8_t *in, size_t len, const char *eol, size_t *out_len)
{
	size_t el = strlen(eol), i, o = 0;
	uint8_t *out = malloc(len * 2 + 2);

	ck_assert_ptr_nonnull(out);
	for (i = 0; i < len; i++) {
		if (in[i] == '\r' && i + 1 < len && in[i + 1] == '\n')
			continue;	/* the LF that follows writes the line end */
		if (in[i] == '\r' || in[i] == '\n') {
			memcpy(out + o, eol, el);
			o += el;
		} else {
			out[o++] = in[i];
		}
	}
	if (len > 0 && in[len - 1] != '\n' && in[len - 1] != '\r') {
		memcpy(out + o, eol, el);
		o += el;
	}
	*out_len = o;
	return out;
}

/* big_message - headers and BIG_LEN-ish bytes of lines with mixed line ends */
static uint8_t *
big_message(size_t *len)
{
	static const char head[] = "From: big@relay.test\nTo: r@relay.test\n"
	    "Date: Thu, 1 Jan 1970 00:00:00 +0000\nMessage-ID: <big@relay.test>\n\n";
	static const char *const eols[] = { "\n", "\r\n", "\r" };
	struct mcrypto_rng rng;
	uint8_t seed[32] = { 'b', 'i', 'g' }, r[2];
	uint8_t *m = malloc(BIG_LEN + 1024);
	size_t n, k, ll;

	ck_assert_ptr_nonnull(m);
	mcrypto_rng_seed(&rng, seed);
	memcpy(m, head, sizeof head - 1);
	n = sizeof head - 1;
	while (n < BIG_LEN) {
		mcrypto_random(&rng, r, sizeof r);
		ll = r[0] % 200;
		for (k = 0; k < ll; k++)
			m[n++] = (uint8_t)('a' + (k * 7 + r[1]) % 26);
		if (ll > 0 && r[1] % 5 == 0)
			m[n - ll] = '.';	/* dot-stuffing on the way */
		memcpy(m + n, eols[r[1] % 3], strlen(eols[r[1] % 3]));
		n += strlen(eols[r[1] % 3]);
	}
	*len = n;
	return m;
}

static void
msg_init(struct relay_msg *m, const char *sender, const char *const *rcpt, size_t nrcpt,
    const char *text)
{
	memset(m, 0, sizeof *m);
	m->sender = sender;
	m->rcpt = rcpt;
	m->nrcpt = nrcpt;
	m->data = (const uint8_t *)text;
	m->len = strlen(text);
	m->result = RELAY_SENT;		/* relay_send must overwrite it */
	m->code = -1;
}

static char *
read_text(const char *path, size_t *len)
{
	return (char *)tu_read_file(path, len);
}

/* ---- relay_parse ----------------------------------------------------------- */

static const struct {
	const char *spec;
	enum relay_kind kind;
	const char *where;	/* host or path */
	unsigned port;
} good_specs[] = {
	{ "smtp://127.0.0.1:25", RELAY_SMTP, "127.0.0.1", 25 },
	{ "smtp://localhost:2525", RELAY_SMTP, "localhost", 2525 },
	{ "smtp://mail.example.org:587", RELAY_SMTP, "mail.example.org", 587 },
	{ "smtp://a-b.c9:65535", RELAY_SMTP, "a-b.c9", 65535 },
	{ "smtp://x:1", RELAY_SMTP, "x", 1 },
	{ "smtp://10.0.0.255:10025", RELAY_SMTP, "10.0.0.255", 10025 },
	{ "smtp://0.0.0.0:25", RELAY_SMTP, "0.0.0.0", 25 },
	{ "smtp://3com.example:25", RELAY_SMTP, "3com.example", 25 },
	{ "smtp://MX.Example.ORG:25", RELAY_SMTP, "MX.Example.ORG", 25 },
	{ "maildir:/var/mail/mix", RELAY_MAILDIR, "/var/mail/mix", 0 },
	{ "maildir:/var/mail/mix/", RELAY_MAILDIR, "/var/mail/mix", 0 },
	{ "maildir:/var/mail/mix//", RELAY_MAILDIR, "/var/mail/mix", 0 },
	{ "maildir:/a..b/c", RELAY_MAILDIR, "/a..b/c", 0 },
	{ "maildir:/x/.../y", RELAY_MAILDIR, "/x/.../y", 0 },
	{ "maildir:/with space/Maildir", RELAY_MAILDIR, "/with space/Maildir", 0 },
	{ "maildir:/m", RELAY_MAILDIR, "/m", 0 },
};

static const char *const bad_specs[] = {
	"", "smtp://", "smtp://host", "smtp://host:", "smtp://:25", "smtp://host:0",
	"smtp://host:65536", "smtp://host:99999", "smtp://host:123456", "smtp://host:025",
	"smtp://host:25x", "smtp://host:+25", "smtp://host:-1", "smtp://host: 25",
	"smtp://[::1]:25", "smtp://::1:25", "smtp://[::1]", "smtp://ho_st:25",
	"smtp://-host:25", "smtp://host-:25", "smtp://a..b:25", "smtp://host.:25",
	"smtp://.host:25", "smtp://user@host:25", "smtp://host:25/", "smtp://host/:25",
	"smtp://256.1.1.1:25", "smtp://1.2.3:25", "smtp://1.2.3.4.5:25", "smtp://01.2.3.4:25",
	"smtp://2130706433:25", "smtp://0x7f.1:25", "smtp://127.1:25", "smtp://1.2.3.4.:25",
	"SMTP://host:25", "smtps://host:465", "smtp:host:25", " smtp://host:25",
	"smtp://host:25 ", "smtp://h\rst:25", "smtp://h\xc3\xa9:25",
	"maildir:", "maildir:relative", "maildir:/", "maildir://", "maildir:/a/../b",
	"maildir:/a/..", "maildir:/../a", "maildir:/a\nb", "maildir:/a\x7f", "maildir:~/Maildir",
	"mbox:/var/mail/x", "lmtp://host:24", "host:25",
};

START_TEST(test_parse_good)
{
	struct relay r;
	char err[256];

	ck_assert_int_eq(relay_parse(good_specs[_i].spec, &r, err, sizeof err), 0);
	ck_assert_str_eq(err, "");
	ck_assert_int_eq(r.kind, good_specs[_i].kind);
	if (r.kind == RELAY_SMTP) {
		ck_assert_str_eq(r.host, good_specs[_i].where);
		ck_assert_uint_eq(r.port, good_specs[_i].port);
	} else {
		ck_assert_str_eq(r.path, good_specs[_i].where);
	}
	ck_assert_str_eq(r.helo, RELAY_HELO_DEFAULT);
	ck_assert_uint_eq(r.timeout, RELAY_TIMEOUT_DEFAULT);
}
END_TEST

START_TEST(test_parse_bad)
{
	struct relay r;
	char err[256];

	ck_assert_msg(relay_parse(bad_specs[_i], &r, err, sizeof err) == -1,
	    "accepted bad spec #%d", _i);
	ck_assert_msg(err[0] != '\0', "no reason for bad spec #%d", _i);
}
END_TEST

START_TEST(test_parse_limits)
{
	struct relay r;
	char spec[2 * PATH_MAX], label[70], err[256];

	/* a 63-byte label is fine, 64 is not */
	memset(label, 'a', 63);
	label[63] = '\0';
	snprintf(spec, sizeof spec, "smtp://%s.example:25", label);
	ck_assert_int_eq(relay_parse(spec, &r, err, sizeof err), 0);
	snprintf(spec, sizeof spec, "smtp://%sa.example:25", label);
	ck_assert_int_eq(relay_parse(spec, &r, err, sizeof err), -1);
	/* a 253-byte name is fine, 254 is not */
	snprintf(spec, sizeof spec, "smtp://%s.%s.%s.%.61s:25", label, label, label, label);
	ck_assert_uint_eq(strlen(spec) - strlen("smtp://:25"), 253);
	ck_assert_int_eq(relay_parse(spec, &r, err, sizeof err), 0);
	snprintf(spec, sizeof spec, "smtp://%s.%s.%s.%.62sb:25", label, label, label, label);
	ck_assert_int_eq(relay_parse(spec, &r, err, sizeof err), -1);
	/* a path longer than RELAY_PATH_MAX */
	memcpy(spec, "maildir:/", 9);
	memset(spec + 9, 'p', RELAY_PATH_MAX);
	spec[9 + RELAY_PATH_MAX] = '\0';
	ck_assert_int_eq(relay_parse(spec, &r, err, sizeof err), -1);
	spec[9 + RELAY_PATH_MAX - 1] = '\0';
	ck_assert_int_eq(relay_parse(spec, &r, err, sizeof err), 0);
	/* no spec; a short error buffer is not overrun */
	ck_assert_int_eq(relay_parse(NULL, &r, err, sizeof err), -1);
	err[4] = 'X';
	ck_assert_int_eq(relay_parse("smtp://host", &r, err, 4), -1);
	ck_assert_int_eq(err[3], '\0');
	ck_assert_int_eq(err[4], 'X');
	/* the reason does not repeat the spec */
	ck_assert_int_eq(relay_parse("smtp://secret-host.example:0", &r, err, sizeof err), -1);
	ck_assert_ptr_null(strstr(err, "secret"));
}
END_TEST

START_TEST(test_helo_and_names)
{
	struct relay r;
	char err[256], buf[PATH_MAX + 32];

	ck_assert_int_eq(relay_parse("smtp://127.0.0.1:25", &r, err, sizeof err), 0);
	ck_assert_int_eq(relay_set_helo(&r, "mix.example.org", err, sizeof err), 0);
	ck_assert_str_eq(r.helo, "mix.example.org");
	ck_assert_int_eq(relay_set_helo(&r, "localhost", err, sizeof err), 0);
	ck_assert_int_eq(relay_set_helo(&r, "", err, sizeof err), -1);
	ck_assert_int_eq(relay_set_helo(&r, NULL, err, sizeof err), -1);
	ck_assert_int_eq(relay_set_helo(&r, "a b", err, sizeof err), -1);
	ck_assert_int_eq(relay_set_helo(&r, "x_y", err, sizeof err), -1);
	ck_assert_int_eq(relay_set_helo(&r, "h\r\nMAIL FROM:<x@y>", err, sizeof err), -1);
	ck_assert_int_eq(relay_set_helo(&r, "[127.0.0.1]", err, sizeof err), -1);
	ck_assert_str_eq(r.helo, "localhost");		/* a refused name changes nothing */

	relay_describe(&r, buf, sizeof buf);
	ck_assert_str_eq(buf, "smtp://127.0.0.1:25");
	ck_assert_int_eq(relay_parse("maildir:/var/x/", &r, err, sizeof err), 0);
	relay_describe(&r, buf, sizeof buf);
	ck_assert_str_eq(buf, "maildir:/var/x");
	ck_assert_str_eq(relay_result_name(RELAY_SENT), "SENT");
	ck_assert_str_eq(relay_result_name(RELAY_TEMP), "TEMP");
	ck_assert_str_eq(relay_result_name(RELAY_PERM), "PERM");
}
END_TEST

/* ---- Maildir ---------------------------------------------------------------- */

static const char *const rcpt1[] = { "next-hop@mix.test" };
static const char sender[] = "node@mix.test";

static void
maildir_relay(struct relay *r, const char *dir)
{
	char spec[PATH_MAX + 16], err[256];

	pathf(spec, sizeof spec, "maildir:%s", dir);
	ck_assert_int_eq(relay_parse(spec, r, err, sizeof err), 0);
}

START_TEST(test_maildir_deliver)
{
	static const char *const texts[] = {
		"From: a@relay.test\nSubject: one\n\nplain LF body\n",
		"From: a@relay.test\r\nSubject: two\r\n\r\nCRLF body\r\n.\r\n",
		"From: a@relay.test\nSubject: three\n\nmixed\r\nbare CR\rlast line, no end",
		"\n",
	};
	enum { N = sizeof texts / sizeof texts[0] };
	struct relay_msg m[N];
	struct relay r;
	struct stat sb;
	char dir[PATH_MAX], err[512], *names[MAXFILES], *got;
	uint8_t *want[N];
	size_t wlen[N], glen, i, k, n, matched[N];

	fresh(dir, sizeof dir, "md");		/* does not exist: relay makes it */
	maildir_relay(&r, dir);
	for (i = 0; i < N; i++) {
		msg_init(&m[i], sender, rcpt1, 1, texts[i]);
		want[i] = normalize(m[i].data, m[i].len, "\n", &wlen[i]);
		matched[i] = 0;
	}
	ck_assert_uint_eq(relay_send(&r, m, N, err, sizeof err), N);
	ck_assert_str_eq(err, "");
	for (i = 0; i < N; i++) {
		ck_assert_int_eq(m[i].result, RELAY_SENT);
		ck_assert_int_eq(m[i].code, 0);
	}
	/* the directories, 0700 */
	ck_assert_int_eq(stat(dir, &sb), 0);
	ck_assert_uint_eq(sb.st_mode & 07777, 0700);
	ck_assert_int_eq(stat(sub(dir, "cur"), &sb), 0);
	ck_assert_uint_eq(sb.st_mode & 07777, 0700);
	ck_assert_uint_eq(count(sub(dir, "cur")), 0);
	ck_assert_uint_eq(count(sub(dir, "tmp")), 0);
	/* new/ holds N files, 0600, hex names, each exactly one of the texts */
	n = list(sub(dir, "new"), names, MAXFILES);
	ck_assert_uint_eq(n, N);
	for (k = 0; k < n; k++) {
		char p[PATH_MAX];

		ck_assert_msg(is_hex_name(names[k]), "bad name %s", names[k]);
		pathf(p, sizeof p, "%s/new/%s", dir, names[k]);
		ck_assert_int_eq(stat(p, &sb), 0);
		ck_assert(S_ISREG(sb.st_mode));
		ck_assert_uint_eq(sb.st_mode & 07777, 0600);
		got = read_text(p, &glen);
		for (i = 0; i < N; i++)
			if (glen == wlen[i] && memcmp(got, want[i], glen) == 0)
				matched[i]++;
		free(got);
	}
	for (i = 0; i < N; i++) {
		ck_assert_msg(matched[i] == 1, "text %zu found %zu times", i, matched[i]);
		free(want[i]);
	}
	free_names(names, n);
	/* the third text's exact form, spelled out */
	{
		static const char third[] = "From: a@relay.test\nSubject: three\n\nmixed\n"
		    "bare CR\nlast line, no end\n";
		size_t l;
		uint8_t *w = normalize(m[2].data, m[2].len, "\n", &l);

		ck_assert_uint_eq(l, sizeof third - 1);
		ck_assert_int_eq(memcmp(w, third, l), 0);
		free(w);
	}
}
END_TEST

START_TEST(test_maildir_big_and_unique)
{
	enum { N = 200 };
	struct relay_msg m[N + 1];
	struct relay r;
	char dir[PATH_MAX], err[512], *names[MAXFILES], text[N][64], p[PATH_MAX], *got;
	uint8_t *big, *want;
	size_t blen, wlen, glen, i, n, bigs = 0;

	fresh(dir, sizeof dir, "md");
	mkdir_ok(dir, 0755);	/* an existing Maildir keeps its mode */
	maildir_relay(&r, dir);
	for (i = 0; i < N; i++) {
		snprintf(text[i], sizeof text[i], "Subject: %zu\n\nsame body\n", i % 3);
		msg_init(&m[i], sender, rcpt1, 1, text[i]);
	}
	big = big_message(&blen);
	msg_init(&m[N], sender, rcpt1, 1, "");
	m[N].data = big;
	m[N].len = blen;
	ck_assert_uint_eq(relay_send(&r, m, N + 1, err, sizeof err), N + 1);
	ck_assert_str_eq(err, "");
	n = list(sub(dir, "new"), names, MAXFILES);
	ck_assert_uint_eq(n, N + 1);
	want = normalize(big, blen, "\n", &wlen);
	for (i = 0; i < n; i++) {
		ck_assert(is_hex_name(names[i]));
		if (i > 0)	/* sorted: a repeat would sit next to its twin */
			ck_assert_str_ne(names[i], names[i - 1]);
		pathf(p, sizeof p, "%s/new/%s", dir, names[i]);
		got = read_text(p, &glen);
		if (glen == wlen && memcmp(got, want, wlen) == 0)
			bigs++;
		free(got);
	}
	ck_assert_uint_eq(bigs, 1);
	ck_assert_uint_eq(count(sub(dir, "tmp")), 0);
	free_names(names, n);
	free(want);
	free(big);
}
END_TEST

/* A write that fails half way (the file size limit, like a full disk) */
START_TEST(test_maildir_write_fails)
{
	struct relay_msg m[3];
	struct relay r;
	struct rlimit old, lim;
	struct sigaction ign, oldsa;
	char dir[PATH_MAX], err[512], *names[MAXFILES], p[PATH_MAX], *got;
	uint8_t *big;
	size_t blen, glen, n;

	fresh(dir, sizeof dir, "md");
	maildir_relay(&r, dir);
	big = big_message(&blen);
	msg_init(&m[0], sender, rcpt1, 1, "Subject: small\n\nfits\n");
	msg_init(&m[1], sender, rcpt1, 1, "");
	m[1].data = big;
	m[1].len = blen;
	msg_init(&m[2], sender, rcpt1, 1, "Subject: small too\n\nfits\n");

	memset(&ign, 0, sizeof ign);
	ign.sa_handler = SIG_IGN;
	ck_assert_int_eq(sigaction(SIGXFSZ, &ign, &oldsa), 0);
	ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = 8192;
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
	n = relay_send(&r, m, 3, err, sizeof err);
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &old), 0);
	ck_assert_int_eq(sigaction(SIGXFSZ, &oldsa, NULL), 0);

	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(m[0].result, RELAY_SENT);
	ck_assert_int_eq(m[1].result, RELAY_TEMP);
	ck_assert_int_eq(m[2].result, RELAY_SENT);
	ck_assert_msg(strstr(err, "write") != NULL, "err: %s", err);
	ck_assert_ptr_null(strstr(err, "@"));
	/* only the small ones are in new/, whole; nothing is left in tmp/ */
	ck_assert_uint_eq(count(sub(dir, "tmp")), 0);
	n = list(sub(dir, "new"), names, MAXFILES);
	ck_assert_uint_eq(n, 2);
	for (size_t i = 0; i < n; i++) {
		pathf(p, sizeof p, "%s/new/%s", dir, names[i]);
		got = read_text(p, &glen);
		ck_assert(strcmp(got, "Subject: small\n\nfits\n") == 0 ||
		    strcmp(got, "Subject: small too\n\nfits\n") == 0);
		free(got);
	}
	free_names(names, n);
	free(big);
}
END_TEST

START_TEST(test_maildir_unusable)
{
	struct relay_msg m[2];
	struct relay r;
	char dir[PATH_MAX], err[512];

	msg_init(&m[0], sender, rcpt1, 1, "Subject: a\n\nb\n");
	msg_init(&m[1], sender, rcpt1, 1, "Subject: c\n\nd\n");

	/* tmp is a file */
	fresh(dir, sizeof dir, "md");
	mkdir_ok(dir, 0700);
	touch_ok(sub(dir, "tmp"));
	maildir_relay(&r, dir);
	ck_assert_uint_eq(relay_send(&r, m, 2, err, sizeof err), 0);
	ck_assert_int_eq(m[0].result, RELAY_TEMP);
	ck_assert_int_eq(m[1].result, RELAY_TEMP);
	ck_assert_msg(strstr(err, "tmp") != NULL, "err: %s", err);

	/* new is a file: the rename fails, the tmp file goes */
	fresh(dir, sizeof dir, "md");
	mkdir_ok(dir, 0700);
	touch_ok(sub(dir, "new"));
	maildir_relay(&r, dir);
	ck_assert_uint_eq(relay_send(&r, m, 2, err, sizeof err), 0);
	ck_assert_int_eq(m[0].result, RELAY_TEMP);
	ck_assert_int_eq(m[1].result, RELAY_TEMP);
	ck_assert_uint_eq(count(sub(dir, "tmp")), 0);

	/* the parent does not exist */
	fresh(dir, sizeof dir, "nowhere");
	strcat(dir, "/md");
	maildir_relay(&r, dir);
	ck_assert_uint_eq(relay_send(&r, m, 2, err, sizeof err), 0);
	ck_assert_int_eq(m[0].result, RELAY_TEMP);
	ck_assert(err[0] != '\0');

	/* tmp/ not writable (root writes anyway: only for other users) */
	if (geteuid() != 0) {
		fresh(dir, sizeof dir, "md");
		mkdir_ok(dir, 0700);
		mkdir_ok(sub(dir, "tmp"), 0500);
		maildir_relay(&r, dir);
		ck_assert_uint_eq(relay_send(&r, m, 2, err, sizeof err), 0);
		ck_assert_int_eq(m[0].result, RELAY_TEMP);
		ck_assert_uint_eq(count(sub(dir, "new")), 0);
		chmod(sub(dir, "tmp"), 0700);
	}
}
END_TEST

START_TEST(test_invalid_messages)
{
	static const char *const none[] = { NULL };
	static const char *const crlf[] = { "a@b.test\r\nRSET" };
	static const char *const angle[] = { "a@b.test> NOTIFY=NEVER" };
	static const char *const space[] = { "a @b.test" };
	static const char *const noat[] = { "postmaster" };
	static const char *const atend[] = { "a@" };
	static const char *const eight[] = { "\xc3\xa9@b.test" };
	static const char *const two[] = { "ok@b.test", "bad@b.test\n" };
	enum { N = 11 };
	struct relay_msg m[N];
	struct relay r;
	char dir[PATH_MAX], err[512];
	size_t i;

	fresh(dir, sizeof dir, "md");
	maildir_relay(&r, dir);
	msg_init(&m[0], sender, rcpt1, 0, "Subject: no rcpt\n\nx\n");
	msg_init(&m[1], sender, none, 1, "Subject: NULL rcpt\n\nx\n");
	msg_init(&m[2], sender, crlf, 1, "Subject: crlf\n\nx\n");
	msg_init(&m[3], sender, angle, 1, "Subject: angle\n\nx\n");
	msg_init(&m[4], sender, space, 1, "Subject: space\n\nx\n");
	msg_init(&m[5], sender, noat, 1, "Subject: no at\n\nx\n");
	msg_init(&m[6], sender, atend, 1, "Subject: at end\n\nx\n");
	msg_init(&m[7], sender, eight, 1, "Subject: 8bit\n\nx\n");
	msg_init(&m[8], "bad sender@x.test", rcpt1, 1, "Subject: sender\n\nx\n");
	msg_init(&m[9], sender, two, 2, "Subject: second bad\n\nx\n");
	msg_init(&m[10], sender, rcpt1, 1, "");		/* empty */
	ck_assert_uint_eq(relay_send(&r, m, N, err, sizeof err), 0);
	for (i = 0; i < N; i++) {
		ck_assert_msg(m[i].result == RELAY_PERM, "message %zu not PERM", i);
		ck_assert_int_eq(m[i].code, 0);
	}
	ck_assert_msg(strstr(err, "11 invalid") != NULL, "err: %s", err);
	ck_assert_ptr_null(strstr(err, "@"));
	/* nothing written; the Maildir was not even made */
	ck_assert_int_eq(access(dir, F_OK), -1);

	/* a valid one among invalid ones; the null sender is valid */
	msg_init(&m[0], "", rcpt1, 1, "Subject: ok\n\nx\n");
	msg_init(&m[1], sender, crlf, 1, "Subject: crlf\n\nx\n");
	ck_assert_uint_eq(relay_send(&r, m, 2, err, sizeof err), 1);
	ck_assert_int_eq(m[0].result, RELAY_SENT);
	ck_assert_int_eq(m[1].result, RELAY_PERM);
	ck_assert_uint_eq(count(sub(dir, "new")), 1);
	ck_assert_msg(strstr(err, "1 invalid") != NULL, "err: %s", err);
	/* an empty batch */
	ck_assert_uint_eq(relay_send(&r, m, 0, err, sizeof err), 0);
	ck_assert_str_eq(err, "");
}
END_TEST

/* ---- a scripted SMTP server ------------------------------------------------- */

/*
 * The server speaks plain SMTP without PIPELINING or CHUNKING (so
 * libESMTP uses DATA and waits for each reply) and answers by what it
 * sees: a sender containing "mail451"/"mail553", a recipient containing
 * "rcpt450"/"rcpt550" get those codes; a message holding
 * "X-Test-Final: 452" or "554" gets that code after the dot, one holding
 * "X-Test-Final: drop" gets no answer (the connection is closed). DATA
 * with no accepted recipient gets 554. Every reply text holds the word
 * "secret-reply", which must never reach relay_send's error text.
 *
 * It writes into its directory: "conns" (one line per connection),
 * "ehlo" (the EHLO names) and msg.N (each message's bytes, dots
 * unstuffed, CR LF as received), before it replies to the final dot.
 */
enum fake_mode { FAKE_SMTP, FAKE_MUTE, FAKE_CLOSE };

struct fake {
	pid_t pid;
	unsigned port;
	char dir[PATH_MAX];
};

static void
fake_say(int fd, const char *s)
{
	size_t n = strlen(s);

	if (write(fd, s, n) != (ssize_t)n)
		_exit(3);
}

static void
fake_append(const char *dir, const char *file, const char *text, size_t len)
{
	char p[PATH_MAX];
	int fd;

	pathf(p, sizeof p, "%s/%s", dir, file);
	fd = open(p, O_WRONLY | O_CREAT | O_APPEND, 0600);
	if (fd < 0 || write(fd, text, len) != (ssize_t)len)
		_exit(3);
	close(fd);
}

/* fake_session - one connection; returns when it ends */
static void
fake_session(int fd, const char *dir, unsigned *msgno)
{
	FILE *in = fdopen(dup(fd), "r");
	char line[4096], name[32];
	char *data = NULL;
	size_t dlen = 0, cap = 0, n;
	int valid = 0;

	if (in == NULL)
		_exit(3);
	fake_say(fd, "220 fake.test ESMTP secret-reply\r\n");
	while (fgets(line, sizeof line, in) != NULL) {
		if (strncmp(line, "EHLO ", 5) == 0) {
			fake_append(dir, "ehlo", line + 5, strcspn(line + 5, "\r\n"));
			fake_append(dir, "ehlo", "\n", 1);
			fake_say(fd, "250 fake.test secret-reply\r\n");
		} else if (strncmp(line, "MAIL FROM:", 10) == 0) {
			valid = 0;
			if (strstr(line, "mail451") != NULL)
				fake_say(fd, "451 4.3.0 secret-reply\r\n");
			else if (strstr(line, "mail553") != NULL)
				fake_say(fd, "553 5.7.1 secret-reply\r\n");
			else
				fake_say(fd, "250 2.1.0 secret-reply\r\n");
		} else if (strncmp(line, "RCPT TO:", 8) == 0) {
			if (strstr(line, "rcpt450") != NULL) {
				fake_say(fd, "450 4.2.0 secret-reply\r\n");
			} else if (strstr(line, "rcpt550") != NULL) {
				fake_say(fd, "550 5.1.1 secret-reply\r\n");
			} else {
				valid++;
				fake_say(fd, "250 2.1.5 secret-reply\r\n");
			}
		} else if (strcmp(line, "DATA\r\n") == 0) {
			if (valid == 0) {
				fake_say(fd, "554 5.5.1 no valid recipients secret-reply\r\n");
				continue;
			}
			fake_say(fd, "354 go ahead secret-reply\r\n");
			dlen = 0;
			while (fgets(line, sizeof line, in) != NULL && strcmp(line, ".\r\n") != 0) {
				const char *l = line[0] == '.' ? line + 1 : line;

				n = strlen(l);
				if (dlen + n > cap) {
					cap = (dlen + n) * 2;
					if ((data = realloc(data, cap)) == NULL)
						_exit(3);
				}
				memcpy(data + dlen, l, n);
				dlen += n;
			}
			snprintf(name, sizeof name, "msg.%u", (*msgno)++);
			fake_append(dir, name, data != NULL ? data : "", dlen);
			if (has(data, dlen, "X-Test-Final: drop"))
				break;
			if (has(data, dlen, "X-Test-Final: 452"))
				fake_say(fd, "452 4.3.1 secret-reply\r\n");
			else if (has(data, dlen, "X-Test-Final: 554"))
				fake_say(fd, "554 5.6.0 secret-reply\r\n");
			else
				fake_say(fd, "250 2.0.0 queued secret-reply\r\n");
		} else if (strcmp(line, "RSET\r\n") == 0 || strcmp(line, "NOOP\r\n") == 0) {
			fake_say(fd, "250 2.0.0 secret-reply\r\n");
		} else if (strcmp(line, "QUIT\r\n") == 0) {
			fake_say(fd, "221 2.0.0 bye\r\n");
			break;
		} else {
			fake_say(fd, "500 5.5.2 secret-reply\r\n");
		}
	}
	free(data);
	fclose(in);
}

static void
fake_serve(int lfd, enum fake_mode mode, const char *dir)
{
	unsigned msgno = 0;
	int c;

	alarm(60);		/* an orphan of a failed test ends by itself */
	signal(SIGPIPE, SIG_IGN);
	for (;;) {
		if ((c = accept(lfd, NULL, NULL)) < 0)
			_exit(3);
		fake_append(dir, "conns", "c\n", 2);
		if (mode == FAKE_MUTE) {
			for (;;)
				pause();
		}
		if (mode == FAKE_SMTP)
			fake_session(c, dir, &msgno);
		close(c);
	}
}

static void
fake_start(struct fake *f, enum fake_mode mode)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof sa;
	int lfd;

	fresh(f->dir, sizeof f->dir, "fake");
	mkdir_ok(f->dir, 0700);
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(lfd, 0);
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = 0;
	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sa, sizeof sa), 0);
	ck_assert_int_eq(listen(lfd, 8), 0);
	ck_assert_int_eq(getsockname(lfd, (struct sockaddr *)&sa, &sl), 0);
	f->port = ntohs(sa.sin_port);
	f->pid = fork();
	ck_assert_int_ge(f->pid, 0);
	if (f->pid == 0)
		fake_serve(lfd, mode, f->dir);
	close(lfd);
}

static void
fake_stop(struct fake *f)
{
	kill(f->pid, SIGKILL);
	waitpid(f->pid, NULL, 0);
}

static void
smtp_relay(struct relay *r, unsigned port)
{
	char spec[64], err[256];

	snprintf(spec, sizeof spec, "smtp://127.0.0.1:%u", port);
	ck_assert_int_eq(relay_parse(spec, r, err, sizeof err), 0);
	ck_assert_int_eq(relay_set_helo(r, HELO, err, sizeof err), 0);
	r->timeout = 10;
}

static size_t
fake_count(const struct fake *f, const char *prefix)
{
	char *names[MAXFILES];
	size_t n = list(f->dir, names, MAXFILES), i, k = 0;

	for (i = 0; i < n; i++)
		if (strncmp(names[i], prefix, strlen(prefix)) == 0)
			k++;
	free_names(names, n);
	return k;
}

#define HEAD(x) "From: node@mix.test\nTo: r@x.test\nDate: Thu, 1 Jan 1970 00:00:00 +0000\n" \
	"Message-ID: <" x "@relay.test>\n"

START_TEST(test_smtp_verdicts)
{
	static const char *const good[] = { "good@x.test" };
	static const char *const r450[] = { "rcpt450-addr@x.test" };
	static const char *const r550[] = { "rcpt550-addr@x.test" };
	static const char *const g550[] = { "good@x.test", "rcpt550-addr@x.test" };
	static const char *const g450[] = { "good@x.test", "rcpt450-addr@x.test" };
	static const char *const b550[] = { "rcpt550-addr@x.test", "rcpt550-b@x.test" };
	static const char *const m450[] = { "rcpt450-addr@x.test", "rcpt550-addr@x.test" };
	static const char *const inj[] = { "good@x.test>\r\nRSET" };
	static const struct {
		const char *sender;
		const char *const *rcpt;
		size_t nrcpt;
		const char *text;
		enum relay_result result;
		int code;
	} t[] = {
		{ sender, good, 1, HEAD("0") "\nok\n", RELAY_SENT, 250 },
		{ sender, r450, 1, HEAD("1") "\nx\n", RELAY_TEMP, 450 },
		{ sender, r550, 1, HEAD("2") "\nx\n", RELAY_PERM, 550 },
		{ "mail451@mix.test", good, 1, HEAD("3") "\nx\n", RELAY_TEMP, 451 },
		{ "mail553@mix.test", good, 1, HEAD("4") "\nx\n", RELAY_PERM, 553 },
		{ sender, good, 1, HEAD("5") "X-Test-Final: 452\n\nx\n", RELAY_TEMP, 452 },
		{ sender, good, 1, HEAD("6") "X-Test-Final: 554\n\nx\n", RELAY_PERM, 554 },
		{ sender, g550, 2, HEAD("7") "\nx\n", RELAY_PERM, 550 },
		{ sender, g450, 2, HEAD("8") "\nx\n", RELAY_TEMP, 450 },
		{ sender, b550, 2, HEAD("9") "\nx\n", RELAY_PERM, 550 },
		{ sender, m450, 2, HEAD("10") "\nx\n", RELAY_TEMP, 450 },
		{ sender, inj, 1, HEAD("11") "\nx\n", RELAY_PERM, 0 },
		{ "", good, 1, HEAD("12") "\nnull sender\n", RELAY_SENT, 250 },
		{ sender, good, 1, HEAD("13") "X-Test-Final: drop\n\nx\n", RELAY_TEMP, 0 },
		{ sender, good, 1, HEAD("14") "\nafter the drop\n", RELAY_TEMP, 0 },
	};
	enum { N = sizeof t / sizeof t[0] };
	struct relay_msg m[N];
	struct relay r;
	struct fake f;
	char err[512], *ehlo;
	size_t i, len;

	fake_start(&f, FAKE_SMTP);
	smtp_relay(&r, f.port);
	for (i = 0; i < N; i++)
		msg_init(&m[i], t[i].sender, t[i].rcpt, t[i].nrcpt, t[i].text);
	ck_assert_uint_eq(relay_send(&r, m, N, err, sizeof err), 2);
	fake_stop(&f);
	for (i = 0; i < N; i++) {
		ck_assert_msg(m[i].result == t[i].result, "message %zu: %s, wanted %s", i,
		    relay_result_name(m[i].result), relay_result_name(t[i].result));
		ck_assert_msg(m[i].code == t[i].code, "message %zu: code %d, wanted %d", i,
		    m[i].code, t[i].code);
	}
	/* one connection; the messages that reached the dot: 0 5 6 7 8 12 13 */
	ck_assert_uint_eq(fake_count(&f, "conns"), 1);
	{
		size_t l;
		char *c = read_text(sub(f.dir, "conns"), &l);

		ck_assert_str_eq(c, "c\n");
		free(c);
	}
	ck_assert_uint_eq(fake_count(&f, "msg."), 7);
	ehlo = read_text(sub(f.dir, "ehlo"), &len);
	ck_assert_str_eq(ehlo, HELO "\n");
	free(ehlo);
	/* the error text: counts and reasons, no address, no reply text */
	ck_assert_msg(strstr(err, "2 sent") != NULL, "err: %s", err);
	ck_assert_ptr_null(strstr(err, "@"));
	ck_assert_ptr_null(strstr(err, "secret"));
	ck_assert_ptr_null(strstr(err, "addr"));
}
END_TEST

/* The bytes on the wire: CR LF, dots, the Message-Id default */
START_TEST(test_smtp_wire)
{
	static const char one[] = HEAD("wire") "Subject: wire\n\nline one\n.leading dot\n.\n"
	    "..two dots\nCRLF line\r\nbare CR\rend without newline";
	static const char two[] = "From: node@mix.test\nDate: Thu, 1 Jan 1970 00:00:00 +0000\n"
	    "\nno message id\n";
	static const char id_head[] = "From: node@mix.test\r\n"
	    "Date: Thu, 1 Jan 1970 00:00:00 +0000\r\nMessage-Id: <";
	static const char *const good[] = { "good@x.test" };
	struct relay_msg m[3];
	struct relay r;
	struct fake f;
	char err[512], *got, *id, *at;
	uint8_t *big, *want;
	size_t blen, wlen, glen, i;

	fake_start(&f, FAKE_SMTP);
	smtp_relay(&r, f.port);
	msg_init(&m[0], sender, good, 1, one);
	msg_init(&m[1], sender, good, 1, two);
	big = big_message(&blen);
	msg_init(&m[2], sender, good, 1, "");
	m[2].data = big;
	m[2].len = blen;
	ck_assert_uint_eq(relay_send(&r, m, 3, err, sizeof err), 3);
	fake_stop(&f);
	ck_assert_str_eq(err, "");

	/* exactly the message with CR LF line ends */
	want = normalize(m[0].data, m[0].len, "\r\n", &wlen);
	got = read_text(sub(f.dir, "msg.0"), &glen);
	ck_assert_uint_eq(glen, wlen);
	ck_assert_int_eq(memcmp(got, want, wlen), 0);
	ck_assert(strstr(got, "\r\n.leading dot\r\n.\r\n..two dots\r\nCRLF line\r\nbare CR\r\n"
	    "end without newline\r\n") != NULL);
	free(got);
	free(want);

	/* no Message-ID of its own: a random one at the EHLO name, nothing else */
	got = read_text(sub(f.dir, "msg.1"), &glen);
	ck_assert_msg(strncmp(got, id_head, strlen(id_head)) == 0, "got: %s", got);
	id = got + strlen(id_head);
	at = strchr(id, '@');
	ck_assert_ptr_nonnull(at);
	*at = '\0';
	ck_assert_msg(is_hex_name(id), "message id %s", id);
	ck_assert_str_eq(at + 1, HELO ">\r\n\r\nno message id\r\n");
	free(got);

	/* 300 KB of mixed line ends, through many callback chunks */
	want = normalize(big, blen, "\r\n", &wlen);
	got = read_text(sub(f.dir, "msg.2"), &glen);
	ck_assert_uint_eq(glen, wlen);
	ck_assert_int_eq(memcmp(got, want, wlen), 0);
	for (i = 0; i < glen; i++) {		/* no bare CR or LF left */
		if (got[i] == '\r')
			ck_assert(i + 1 < glen && got[i + 1] == '\n');
		if (got[i] == '\n')
			ck_assert(i > 0 && got[i - 1] == '\r');
	}
	free(got);
	free(want);
	free(big);
}
END_TEST

START_TEST(test_smtp_no_server)
{
	static const char *const good[] = { "good@x.test" };
	struct sockaddr_in sa;
	socklen_t sl = sizeof sa;
	struct relay_msg m[2];
	struct relay r;
	struct sigaction mine, now;
	char err[512];
	int fd;
	unsigned port;

	/* a port nothing listens on: bound, never listened, closed */
	fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(fd, 0);
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	port = ntohs(sa.sin_port);
	close(fd);

	/* SIGPIPE: ignored during the session, the caller's handler after */
	memset(&mine, 0, sizeof mine);
	mine.sa_handler = SIG_DFL;
	ck_assert_int_eq(sigaction(SIGPIPE, &mine, NULL), 0);

	smtp_relay(&r, port);
	msg_init(&m[0], sender, good, 1, HEAD("a") "\nx\n");
	msg_init(&m[1], sender, good, 1, HEAD("b") "\ny\n");
	ck_assert_uint_eq(relay_send(&r, m, 2, err, sizeof err), 0);
	ck_assert_int_eq(m[0].result, RELAY_TEMP);
	ck_assert_int_eq(m[0].code, 0);
	ck_assert_int_eq(m[1].result, RELAY_TEMP);
	ck_assert_msg(strstr(err, "refused") != NULL, "err: %s", err);
	ck_assert_ptr_nonnull(strstr(err, "127.0.0.1"));
	ck_assert_int_eq(sigaction(SIGPIPE, NULL, &now), 0);
	ck_assert(now.sa_handler == SIG_DFL);
}
END_TEST

/* A server that accepts and never greets: the timeout ends the session */
START_TEST(test_smtp_mute_and_close)
{
	static const char *const good[] = { "good@x.test" };
	struct relay_msg m[1];
	struct relay r;
	struct fake f;
	char err[512];
	time_t t0;

	fake_start(&f, FAKE_MUTE);
	smtp_relay(&r, f.port);
	r.timeout = 1;
	msg_init(&m[0], sender, good, 1, HEAD("m") "\nx\n");
	t0 = time(NULL);
	ck_assert_uint_eq(relay_send(&r, m, 1, err, sizeof err), 0);
	/* 1 s asked; a generous bound that only a lost timeout can miss */
	ck_assert_int_lt(time(NULL) - t0, 30);
	fake_stop(&f);
	ck_assert_int_eq(m[0].result, RELAY_TEMP);
	ck_assert_int_eq(m[0].code, 0);
	ck_assert(err[0] != '\0');

	fake_start(&f, FAKE_CLOSE);
	smtp_relay(&r, f.port);
	msg_init(&m[0], sender, good, 1, HEAD("c") "\nx\n");
	ck_assert_uint_eq(relay_send(&r, m, 1, err, sizeof err), 0);
	fake_stop(&f);
	ck_assert_int_eq(m[0].result, RELAY_TEMP);
	ck_assert_int_eq(m[0].code, 0);
	ck_assert(err[0] != '\0');
}
END_TEST

static Suite *
relay_suite(void)
{
	Suite *s = suite_create("relay");
	TCase *tp = tcase_create("parse"), *tm = tcase_create("maildir"),
	    *ts = tcase_create("smtp");

	tcase_add_checked_fixture(tp, setup, NULL);
	tcase_add_loop_test(tp, test_parse_good, 0, sizeof good_specs / sizeof good_specs[0]);
	tcase_add_loop_test(tp, test_parse_bad, 0, sizeof bad_specs / sizeof bad_specs[0]);
	tcase_add_test(tp, test_parse_limits);
	tcase_add_test(tp, test_helo_and_names);
	suite_add_tcase(s, tp);

	tcase_add_unchecked_fixture(tm, make_root, remove_root);
	tcase_add_checked_fixture(tm, setup, NULL);
	tcase_set_timeout(tm, 120);
	tcase_add_test(tm, test_maildir_deliver);
	tcase_add_test(tm, test_maildir_big_and_unique);
	tcase_add_test(tm, test_maildir_write_fails);
	tcase_add_test(tm, test_maildir_unusable);
	tcase_add_test(tm, test_invalid_messages);
	suite_add_tcase(s, tm);

	tcase_add_unchecked_fixture(ts, make_root, remove_root);
	tcase_add_checked_fixture(ts, setup, NULL);
	tcase_set_timeout(ts, 120);
	tcase_add_test(ts, test_smtp_verdicts);
	tcase_add_test(ts, test_smtp_wire);
	tcase_add_test(ts, test_smtp_no_server);
	tcase_add_test(ts, test_smtp_mute_and_close);
	suite_add_tcase(s, ts);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(relay_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
