/*
 * check_autoreply.c - unit tests of the pure parts of the auto-replies
 * (src/autoreply.c, src/outbox.c; doc/autoreply.md): commands, reply
 * addresses, the classification line, the rate table, the reply and
 * complaint mails byte by byte, the remailer-conf text, the settings'
 * checks, and the outbox entry format. The hook and the flusher are
 * tested end to end in tests/autoreply.sh.
 */
#include <config.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <check.h>

#include "autoreply.h"
#include "bytes.h"
#include "conf.h"
#include "mem.h"
#include "nodeconf.h"
#include "outbox.h"
#include "testutil.h"

#define T0	INT64_C(1700000000)	/* 2023-11-14 22:13:20 UTC */
#define HOUR	3600
#define DAY	86400
#define ID	"0123456789abcdef0123456789abcdef"
#define BND	"fedcba9876543210fedcba9876543210"

static char tmproot[1024];

/* ---- commands and addresses ------------------------------------------------------- */

static const struct { const char *s; enum ar_cmd c; } cmds[] = {
	{ "remailer-key", AR_KEY }, { "REMAILER-KEY", AR_KEY }, { "  remailer-Conf\t", AR_CONF },
	{ "remailer-stats\r\n", AR_STATS }, { "remailer-help", AR_HELP },
	{ "remailer-adminkey", AR_ADMINKEY }, { "remailer-admin-key", AR_NONE },
	{ "Re: remailer-key", AR_NONE }, { "remailer-key x", AR_NONE }, { "remailer-", AR_NONE },
	{ "", AR_NONE }, { "   ", AR_NONE }, { "remailer-keys", AR_NONE }, { "none", AR_NONE },
};

START_TEST(test_cmd_find)
{
	ck_assert_int_eq(autoreply_cmd_find(cmds[_i].s, strlen(cmds[_i].s)), cmds[_i].c);
}
END_TEST

START_TEST(test_cmd_find_counted)
{
	/* only len bytes are looked at: no NUL needed, nothing past them read */
	const char s[] = { 'r', 'e', 'm', 'a', 'i', 'l', 'e', 'r', '-', 'k', 'e', 'y', 'X' };

	ck_assert_int_eq(autoreply_cmd_find(s, 12), AR_KEY);
	ck_assert_int_eq(autoreply_cmd_find(s, 13), AR_NONE);
	ck_assert_str_eq(autoreply_cmd_name(AR_ADMINKEY), "remailer-adminkey");
	ck_assert_str_eq(autoreply_cmd_name((enum ar_cmd)99), "none");
}
END_TEST

static const struct { const char *a; int ok; } addrs[] = {
	{ "alice@example.org", 1 }, { "a.b+c_d-e@mail.example.org", 1 }, { "x@localhost", 1 },
	{ "o'neil@example.org", 1 }, { "", 0 }, { "alice", 0 }, { "@example.org", 0 },
	{ "alice@", 0 }, { "alice@@example.org", 0 }, { ".alice@example.org", 0 },
	{ "alice.@example.org", 0 }, { "al..ice@example.org", 0 }, { "al ice@example.org", 0 },
	{ "alice@exa mple.org", 0 }, { "alice@example..org", 0 }, { "alice@.example.org", 0 },
	{ "alice@example.org.", 0 }, { "<alice@example.org>", 0 }, { "alice@[127.0.0.1]", 0 },
	{ "\"a b\"@example.org", 0 }, { "alice@exa_mple.org", 0 }, { "al\nice@example.org", 0 },
	{ "al\x7fice@example.org", 0 }, { "al\xc3\xa9@example.org", 0 }, { "a,b@example.org", 0 },
};

START_TEST(test_addr_valid)
{
	ck_assert_int_eq(autoreply_addr_valid(addrs[_i].a, strlen(addrs[_i].a)), addrs[_i].ok);
}
END_TEST

START_TEST(test_addr_bounds)
{
	char a[400];

	/* local part 64 ok, 65 not; whole address 254 ok, 255 not; a label of 64 not */
	memset(a, 'l', 64);
	strcpy(a + 64, "@example.org");
	ck_assert_int_eq(autoreply_addr_valid(a, strlen(a)), 1);
	memset(a, 'l', 65);
	strcpy(a + 65, "@example.org");
	ck_assert_int_eq(autoreply_addr_valid(a, strlen(a)), 0);
	memset(a, 'l', 10);
	a[10] = '@';
	memset(a + 11, 'd', 63);
	a[74] = '.';
	memset(a + 75, 'e', 63);
	a[138] = '.';
	memset(a + 139, 'f', 63);
	a[202] = '.';
	memset(a + 203, 'g', 51);
	a[254] = '\0';
	ck_assert_uint_eq(strlen(a), 254);
	ck_assert_int_eq(autoreply_addr_valid(a, 254), 1);
	a[254] = 'g';
	a[255] = '\0';
	ck_assert_int_eq(autoreply_addr_valid(a, 255), 0);
	memset(a, 'l', 10);
	a[10] = '@';
	memset(a + 11, 'd', 64);
	strcpy(a + 75, ".org");
	ck_assert_int_eq(autoreply_addr_valid(a, strlen(a)), 0);
	/* an embedded NUL inside len */
	ck_assert_int_eq(autoreply_addr_valid("a@b\0c", 5), 0);
}
END_TEST

START_TEST(test_local_loop)
{
	ck_assert_int_eq(autoreply_local_loop("MAILER-DAEMON@example.org"), 1);
	ck_assert_int_eq(autoreply_local_loop("postmaster@example.org"), 1);
	ck_assert_int_eq(autoreply_local_loop("NoReply@example.org"), 1);
	ck_assert_int_eq(autoreply_local_loop("no-reply@example.org"), 1);
	ck_assert_int_eq(autoreply_local_loop("do-not-reply@example.org"), 1);
	ck_assert_int_eq(autoreply_local_loop("noreplyx@example.org"), 0);
	ck_assert_int_eq(autoreply_local_loop("alice@noreply.org"), 0);
	ck_assert_int_eq(autoreply_addr_equal("Mix@Node.Example", "mix@node.example"), 1);
	ck_assert_int_eq(autoreply_addr_equal("mix@node.example", "mix@node.exampl"), 0);
	ck_assert_int_eq(autoreply_addr_equal("mix@node.exampl", "mix@node.example"), 0);
}
END_TEST

/* ---- the classification line ------------------------------------------------------ */

START_TEST(test_class_roundtrip)
{
	struct ar_class c, d;
	char line[AR_CLASS_MAX + 1];

	memset(&c, 0, sizeof c);
	c.cmd = AR_STATS;
	c.loop = AR_LOOP_AUTO | AR_LOOP_LIST;
	strcpy(c.addr, "alice@example.org");
	ck_assert_int_eq(autoreply_class_format(&c, line), 0);
	ck_assert_str_eq(line, "mixnode-class 1 remailer-stats 05 alice@example.org\n");
	ck_assert_int_eq(autoreply_class_parse(line, strlen(line), &d), 0);
	ck_assert_int_eq(d.cmd, AR_STATS);
	ck_assert_uint_eq(d.loop, 5);
	ck_assert_str_eq(d.addr, "alice@example.org");

	memset(&c, 0, sizeof c);
	ck_assert_int_eq(autoreply_class_format(&c, line), 0);
	ck_assert_str_eq(line, "mixnode-class 1 none 00 -\n");
	ck_assert_int_eq(autoreply_class_parse(line, strlen(line), &d), 0);
	ck_assert_int_eq(d.cmd, AR_NONE);
	ck_assert_str_eq(d.addr, "");

	/* what the helper may not say */
	c.loop = AR_LOOP_SELF;
	ck_assert_int_eq(autoreply_class_format(&c, line), -1);
	c.loop = 0;
	strcpy(c.addr, "not an address");
	ck_assert_int_eq(autoreply_class_format(&c, line), -1);
}
END_TEST

static const char *const bad_lines[] = {
	"", "\n", "mixnode-class 1 none 00 -", "mixnode-class 2 none 00 -\n",
	"mixnode-class 1 none 00 -\nx", "mixnode-class 1 nothing 00 -\n",
	"mixnode-class 1 remailer-key 0 -\n", "mixnode-class 1 remailer-key 0g -\n",
	"mixnode-class 1 remailer-key 10 -\n", "mixnode-class 1 remailer-key 00 \n",
	"mixnode-class 1 remailer-key 00 a b@example.org\n",
	"mixnode-class 1 remailer-key 00 alice@example.org \n",
	"mixnode-class 1 remailer-key 00 -x\n", "mixnode-class 1 REMAILER-KEY 00 -\n",
	"mixnode-class 1 remailer-key 0A -\n", "mixnode-class 1 remailer-key  00 -\n",
	"mixnode-class 1 remailer-key 00 alice@example.org\n\n",
};

START_TEST(test_class_bad)
{
	struct ar_class c;

	ck_assert_int_eq(autoreply_class_parse(bad_lines[_i], strlen(bad_lines[_i]), &c), -1);
}
END_TEST

START_TEST(test_class_long)
{
	char line[1024];
	struct ar_class c;

	/* a packet-sized output read as a line, and an address too long */
	memset(line, 'x', sizeof line);
	ck_assert_int_eq(autoreply_class_parse(line, sizeof line, &c), -1);
	strcpy(line, "mixnode-class 1 remailer-key 00 ");
	memset(line + strlen(line), 'a', 300);
	strcpy(line + 32 + 300, "@example.org\n");
	ck_assert_int_eq(autoreply_class_parse(line, strlen(line), &c), -1);
}
END_TEST

/* ---- the rate table ----------------------------------------------------------------- */

static void
key_of(uint8_t k[AR_HASH_BYTES], unsigned i)
{
	static const uint8_t secret[32] = { 1, 2, 3 };
	char a[64];

	snprintf(a, sizeof a, "requester-%u@example.org", i);
	autoreply_requester_hash(secret, a, k);
}

START_TEST(test_rate_requester)
{
	uint8_t *img = malloc(AR_RATE_SIZE), a[AR_HASH_BYTES], b[AR_HASH_BYTES];
	size_t off;

	ck_assert_ptr_nonnull(img);
	autoreply_rate_init(img);
	ck_assert_int_eq(autoreply_rate_valid(img), 1);
	key_of(a, 1);
	key_of(b, 2);
	ck_assert_int_eq(autoreply_rate_check(img, a, T0, 2, 100), AR_RATE_OK);
	autoreply_rate_take(img, a, T0, &off);
	ck_assert_uint_eq(off, AR_RATE_HEAD);
	autoreply_rate_take(img, a, T0 + 10, &off);
	ck_assert_uint_eq(off, AR_RATE_HEAD);
	ck_assert_int_eq(autoreply_rate_check(img, a, T0 + 20, 2, 100), AR_RATE_REQUESTER);
	ck_assert_int_eq(autoreply_rate_check(img, b, T0 + 20, 2, 100), AR_RATE_OK);
	autoreply_rate_take(img, b, T0 + 20, &off);
	ck_assert_uint_eq(off, AR_RATE_HEAD + AR_RATE_SLOT);
	/* the same UTC day: still refused; the next day: allowed again */
	ck_assert_int_eq(autoreply_rate_check(img, a, T0 / DAY * DAY + DAY - 1, 2, 100),
	    AR_RATE_REQUESTER);
	ck_assert_int_eq(autoreply_rate_check(img, a, T0 / DAY * DAY + DAY, 2, 100), AR_RATE_OK);
	autoreply_rate_take(img, a, T0 / DAY * DAY + DAY, &off);
	ck_assert_uint_eq(off, AR_RATE_HEAD);
	ck_assert_uint_eq(get_le32(img + off + 24), 1);
	ck_assert_uint_eq(get_le64(img + off + 16), (uint64_t)(T0 / DAY * DAY + DAY));
	/* per_requester 0: nobody is answered */
	ck_assert_int_eq(autoreply_rate_check(img, b, T0, 0, 100), AR_RATE_REQUESTER);
	free(img);
}
END_TEST

START_TEST(test_rate_total)
{
	uint8_t *img = malloc(AR_RATE_SIZE), k[AR_HASH_BYTES];
	size_t off;
	unsigned i;

	ck_assert_ptr_nonnull(img);
	autoreply_rate_init(img);
	for (i = 0; i < 5; i++) {
		key_of(k, i);
		ck_assert_int_eq(autoreply_rate_check(img, k, T0, 3, 5), AR_RATE_OK);
		autoreply_rate_take(img, i == 4 ? NULL : k, T0, &off);
		ck_assert_uint_eq(off, i == 4 ? 0 : AR_RATE_HEAD + i * AR_RATE_SLOT);
	}
	key_of(k, 9);
	ck_assert_int_eq(autoreply_rate_check(img, k, T0, 3, 5), AR_RATE_TOTAL);
	ck_assert_int_eq(autoreply_rate_check(img, NULL, T0, 3, 5), AR_RATE_TOTAL);
	ck_assert_uint_eq(get_le32(img + 24), 5);
	/* the next hour starts at zero */
	ck_assert_int_eq(autoreply_rate_check(img, k, T0 / HOUR * HOUR + HOUR, 3, 5), AR_RATE_OK);
	autoreply_rate_take(img, k, T0 / HOUR * HOUR + HOUR, &off);
	ck_assert_uint_eq(get_le32(img + 24), 1);
	ck_assert_uint_eq(get_le64(img + 16), (uint64_t)(T0 / HOUR * HOUR + HOUR));
	ck_assert_int_eq(autoreply_rate_check(img, NULL, T0, 3, 0), AR_RATE_TOTAL);
	free(img);
}
END_TEST

START_TEST(test_rate_evict)
{
	uint8_t *img = malloc(AR_RATE_SIZE), k[AR_HASH_BYTES];
	size_t off;
	unsigned i;

	ck_assert_ptr_nonnull(img);
	autoreply_rate_init(img);
	/* fill the table over two days; slot 7 is the one oldest entry */
	for (i = 0; i < AR_RATE_SLOTS; i++) {
		key_of(k, i);
		autoreply_rate_take(img, k, i == 7 ? T0 - DAY : T0, &off);
		ck_assert_uint_eq(off, AR_RATE_HEAD + (size_t)i * AR_RATE_SLOT);
	}
	key_of(k, 100000);
	autoreply_rate_take(img, k, T0, &off);
	ck_assert_uint_eq(off, AR_RATE_HEAD + 7 * AR_RATE_SLOT);
	ck_assert_mem_eq(img + off, k, AR_HASH_BYTES);
	ck_assert_uint_eq(get_le32(img + off + 24), 1);
	/* the next new key evicts the first of the equally old */
	key_of(k, 100001);
	autoreply_rate_take(img, k, T0, &off);
	ck_assert_uint_eq(off, AR_RATE_HEAD);
	free(img);
}
END_TEST

START_TEST(test_requester_key)
{
	static const uint8_t s1[32] = { 1 }, s2[32] = { 2 };
	uint8_t a[AR_HASH_BYTES], b[AR_HASH_BYTES], c[AR_HASH_BYTES];
	char spool[1100];
	struct stat sb;

	autoreply_requester_hash(s1, "Alice@Example.ORG", a);
	autoreply_requester_hash(s1, "alice@example.org", b);
	ck_assert_mem_eq(a, b, sizeof a);
	autoreply_requester_hash(s2, "alice@example.org", c);
	ck_assert_int_ne(memcmp(a, c, sizeof a), 0);
	autoreply_requester_hash(s1, "bob@example.org", c);
	ck_assert_int_ne(memcmp(a, c, sizeof a), 0);

	snprintf(spool, sizeof spool, "%s/key", tmproot);
	ck_assert_int_eq(mkdir(spool, 0700), 0);
	ck_assert_int_eq(autoreply_requester_key(spool, "alice@example.org", a), 0);
	ck_assert_int_eq(autoreply_requester_key(spool, "ALICE@example.org", b), 0);
	ck_assert_mem_eq(a, b, sizeof a);
	snprintf(spool + strlen(spool), sizeof spool - strlen(spool), "/%s", AR_KEY_FILE);
	ck_assert_int_eq(stat(spool, &sb), 0);
	ck_assert_int_eq(sb.st_mode & 07777, 0600);
	ck_assert_int_eq(sb.st_size, 32);
}
END_TEST

START_TEST(test_rate_file)
{
	char spool[1100], path[1200];
	struct ar_rate *r;
	uint8_t k[AR_HASH_BYTES], *f;
	size_t len;
	FILE *fp;

	snprintf(spool, sizeof spool, "%s/rate", tmproot);
	ck_assert_int_eq(mkdir(spool, 0700), 0);
	key_of(k, 1);
	ck_assert_int_eq(autoreply_rate_open(spool, 1000, &r), 0);
	ck_assert_int_eq(autoreply_rate_file_check(r, k, T0, 1, 10), AR_RATE_OK);
	ck_assert_int_eq(autoreply_rate_commit(r, k, T0), 0);
	autoreply_rate_close(r);
	ck_assert_int_eq(autoreply_rate_open(spool, 1000, &r), 0);
	ck_assert_int_eq(autoreply_rate_file_check(r, k, T0, 1, 10), AR_RATE_REQUESTER);
	autoreply_rate_close(r);
	snprintf(path, sizeof path, "%s/%s", spool, AR_RATE_FILE);
	f = tu_read_file(path, &len);
	ck_assert_uint_eq(len, AR_RATE_SIZE);
	ck_assert_mem_eq(f, "MIXRATE1", 8);
	ck_assert_mem_eq(f + AR_RATE_HEAD, k, AR_HASH_BYTES);
	free(f);
	/* a damaged table starts afresh */
	ck_assert_ptr_nonnull(fp = fopen(path, "w"));
	fputs("garbage", fp);
	fclose(fp);
	ck_assert_int_eq(autoreply_rate_open(spool, 1000, &r), 0);
	ck_assert_int_eq(autoreply_rate_file_check(r, k, T0, 1, 10), AR_RATE_OK);
	autoreply_rate_close(r);
}
END_TEST

/* ---- the mails -------------------------------------------------------------------- */

START_TEST(test_compose)
{
	static const char want[] =
	    "From: mix@node.example\n"
	    "To: alice@example.org\n"
	    "Subject: Re: remailer-help\n"
	    "Date: Tue, 14 Nov 2023 22:13:20 +0000\n"
	    "Message-ID: <" ID "@node.example>\n"
	    "Auto-Submitted: auto-replied\n"
	    "MIME-Version: 1.0\n"
	    "Content-Type: text/plain; charset=utf-8\n"
	    "Content-Transfer-Encoding: 8bit\n"
	    "\n"
	    "Help.\n";
	uint8_t *m;
	size_t len;

	ck_assert_int_eq(autoreply_compose("mix@node.example", "alice@example.org", AR_HELP, T0,
	    ID, "Help.", 5, &m, &len), 0);
	ck_assert_uint_eq(len, sizeof want - 1);
	ck_assert_mem_eq(m, want, len);
	mem_free(m);
	/* a body ending in LF gets no second one */
	ck_assert_int_eq(autoreply_compose("mix@node.example", "alice@example.org", AR_HELP, T0,
	    ID, "Help.\n", 6, &m, &len), 0);
	ck_assert_uint_eq(len, sizeof want - 1);
	mem_free(m);
	/* refused: header injection, no command, a bad id */
	ck_assert_int_eq(autoreply_compose("mix@node.example", "a@b.example\nBcc: x@y.example",
	    AR_HELP, T0, ID, "x", 1, &m, &len), -1);
	ck_assert_ptr_null(m);
	ck_assert_int_eq(autoreply_compose("mix@node.example", "alice@example.org", AR_NONE, T0,
	    ID, "x", 1, &m, &len), -1);
	ck_assert_int_eq(autoreply_compose("mix@node.example", "alice@example.org", AR_KEY, T0,
	    "0123", "x", 1, &m, &len), -1);
}
END_TEST

START_TEST(test_complaint)
{
	static const char orig[] = "From: v@example.org\nSubject: spam\n\nStop it.";
	static const char want[] =
	    "From: mix@node.example\n"
	    "To: op@example.net\n"
	    "Subject: mixnode n1: a mail to the complaints address\n"
	    "Date: Tue, 14 Nov 2023 22:13:20 +0000\n"
	    "Message-ID: <" ID "@node.example>\n"
	    "Auto-Submitted: auto-generated\n"
	    "MIME-Version: 1.0\n"
	    "Content-Type: multipart/mixed; boundary=\"=_mixnode_" BND "\"\n"
	    "\n"
	    "This is a message in MIME format.\n"
	    "\n"
	    "--=_mixnode_" BND "\n"
	    "Content-Type: text/plain; charset=us-ascii\n"
	    "\n"
	    "A mail came to the complaints address of the mixmail node n1.\n"
	    "It is attached as it arrived (43 bytes).\n"
	    "\n"
	    "--=_mixnode_" BND "\n"
	    "Content-Type: message/rfc822\n"
	    "Content-Disposition: attachment\n"
	    "Content-Transfer-Encoding: 8bit\n"
	    "\n"
	    "From: v@example.org\nSubject: spam\n\nStop it.\n"
	    "--=_mixnode_" BND "--\n";
	char clash[200];
	uint8_t *m;
	size_t len;

	ck_assert_int_eq(autoreply_complaint("mix@node.example", "op@example.net", "n1", T0, ID, BND,
	    (const uint8_t *)orig, strlen(orig), &m, &len), 0);
	ck_assert_uint_eq(len, sizeof want - 1);
	ck_assert_mem_eq(m, want, len);
	mem_free(m);
	/* an original that holds the boundary is refused (the caller draws another) */
	snprintf(clash, sizeof clash, "x\n--=_mixnode_%s\n", BND);
	ck_assert_int_eq(autoreply_complaint("mix@node.example", "op@example.net", "n1", T0, ID, BND,
	    (const uint8_t *)clash, strlen(clash), &m, &len), -1);
	ck_assert_ptr_null(m);
}
END_TEST

/* conf_with - the node settings with extra lines, loaded from a file */
static void
conf_with(struct conf *c, const char *text)
{
	char path[1100], err[CONF_ERR_MAX];
	FILE *fp;

	snprintf(path, sizeof path, "%s/conf-%u", tmproot, (unsigned)rand());
	ck_assert_ptr_nonnull(fp = fopen(path, "w"));
	fputs(text, fp);
	fclose(fp);
	nodeconf_init(c);
	ck_assert_msg(conf_load(c, path, err, sizeof err) == 0, "%s", err);
}

START_TEST(test_conf_text)
{
	static const char want[] =
	    "mixmail node configuration\n"
	    "name:                   n1\n"
	    "address:                mix@node.example\n"
	    "exit:                   no\n"
	    "mixing:                 threshold-timed\n"
	    "  mix_threshold:        20 packets\n"
	    "  mix_interval:         600 seconds\n"
	    "  dummies per round:    1 to 2, the first sent at once\n"
	    "max_message_size:       131072 bytes\n"
	    "exit policy:            middleman: delivers nothing, forwards to other nodes\n"
	    "long messages:          forwarded (reassembled by the exit node)\n"
	    "packet versions:        1\n"
	    "packet size:            20480 bytes\n"
	    "auto-replies:           remailer-key remailer-conf remailer-stats remailer-help remailer-adminkey\n"
	    "reply limits:           3 per requester a day, 60 an hour in all\n";
	struct ar_settings s;
	struct conf c;
	char err[CONF_ERR_MAX], *t;
	size_t len;

	conf_with(&c, "name = n1\naddress = mix@node.example\nmixing = threshold-timed\n"
	    "mix_threshold = 20\nmix_interval = 10m\n");
	ck_assert_msg(autoreply_settings(&c, &s, err, sizeof err) == 0, "%s", err);
	t = autoreply_conf_text(&c, &s, &len);
	ck_assert_str_eq(t, want);
	ck_assert_uint_eq(len, strlen(want));
	mem_free(t);
	conf_free(&c);

	/* an exit with a blocklist says it has one, never what is in it */
	conf_with(&c, "exit = yes\nexit_blocklist = /nonexistent/blocked\nmixing = continuous\n");
	ck_assert_int_eq(autoreply_settings(&c, &s, err, sizeof err), 0);
	t = autoreply_conf_text(&c, &s, &len);
	ck_assert_ptr_nonnull(strstr(t, "exit policy:            delivers to any destination "
	    "not on the operator's blocklist\n"));
	ck_assert_ptr_nonnull(strstr(t, "  delays:               chosen by each packet's sender\n"));
	ck_assert_ptr_null(strstr(t, "/nonexistent"));
	mem_free(t);
	conf_free(&c);
}
END_TEST

static const struct { const char *text, *want; } bad_settings[] = {
	{ "complaints_address = abuse@node.example\n", "setting operator_address: must be set" },
	{ "complaints_address = abuse\noperator_address = op@example.net\n",
	    "setting complaints_address: not a valid mail address" },
	{ "complaints_address = a@node.example\noperator_address = A@Node.Example\n",
	    "setting complaints_address: must differ" },
	{ "address = mix@node.example\ncomplaints_address = mix@node.example\n"
	    "operator_address = op@example.net\n", "setting complaints_address: must differ" },
	{ "address = mix@node.example\noperator_address = mix@node.example\n",
	    "setting operator_address: must differ" },
	{ "help_file = help.txt\n", "setting help_file: not an absolute path" },
	{ "admin_key_file = key.asc\n", ":1: setting admin_key_file: not an absolute path" },
};

START_TEST(test_settings_bad)
{
	struct ar_settings s;
	struct conf c;
	char err[CONF_ERR_MAX];

	conf_with(&c, bad_settings[_i].text);
	ck_assert_int_eq(autoreply_settings(&c, &s, err, sizeof err), -1);
	ck_assert_msg(strstr(err, bad_settings[_i].want) != NULL, "%s", err);
	conf_free(&c);
}
END_TEST

/* ---- the outbox -------------------------------------------------------------------- */

START_TEST(test_outbox_roundtrip)
{
	static const char mail[] = "From: a@b.example\n\nbody\n";
	struct outbox_entry e, r;
	char spool[1100], name[OUTBOX_NAME_LEN + 1], path[1300], **names;
	uint8_t *f;
	size_t n, len;
	struct stat sb;

	snprintf(spool, sizeof spool, "%s/outbox", tmproot);
	ck_assert_int_eq(mkdir(spool, 0700), 0);
	ck_assert_int_eq(outbox_list(spool, &names, &n), 0);	/* no outbox/ yet */
	ck_assert_uint_eq(n, 0);
	memset(&e, 0, sizeof e);
	e.kind = OUTBOX_REPLY;
	e.created = T0;
	strcpy(e.rcpt, "alice@example.org");
	e.data = (uint8_t *)mail;
	e.len = strlen(mail);
	ck_assert_int_eq(outbox_commit(spool, &e, name), 0);
	ck_assert_int_eq(outbox_name_valid(name), 1);
	snprintf(path, sizeof path, "%s/outbox/%s", spool, name);
	ck_assert_int_eq(stat(path, &sb), 0);
	ck_assert_int_eq(sb.st_mode & 07777, 0600);
	ck_assert_int_eq(sb.st_mtime, 0);
	f = tu_read_file(path, &len);
	ck_assert_uint_eq(len, 82 + strlen(mail));
	ck_assert_mem_eq(f, "mixoutbox 1\nkind reply\ncreated 1699999200\nsender \n"
	    "rcpt alice@example.org\nsize 24\n\nFrom: a@b.example\n\nbody\n", len);
	free(f);
	ck_assert_int_eq(outbox_read(spool, name, &r), OUTBOX_OK);
	ck_assert_int_eq(r.kind, OUTBOX_REPLY);
	ck_assert_int_eq(r.created, T0 / HOUR * HOUR);
	ck_assert_str_eq(r.sender, "");
	ck_assert_str_eq(r.rcpt, "alice@example.org");
	ck_assert_uint_eq(r.len, strlen(mail));
	ck_assert_mem_eq(r.data, mail, r.len);
	outbox_entry_free(&r);
	ck_assert_int_eq(outbox_list(spool, &names, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(names[0], name);
	outbox_list_free(names, n);
	ck_assert_int_eq(outbox_remove(spool, name), 0);
	ck_assert_int_eq(outbox_list(spool, &names, &n), 0);
	ck_assert_uint_eq(n, 0);
	/* refused: an address that would inject a header or break the envelope */
	strcpy(e.rcpt, "a b@example.org");
	ck_assert_int_eq(outbox_commit(spool, &e, name), -1);
	ck_assert_int_eq(errno, EINVAL);
}
END_TEST

static const char *const bad_entries[] = {
	"", "mixoutbox 2\nkind reply\ncreated 0\nsender \nrcpt a@b.c\nsize 1\n\nx",
	"mixoutbox 1\nkind other\ncreated 0\nsender \nrcpt a@b.c\nsize 1\n\nx",
	"mixoutbox 1\nkind reply\ncreated -1\nsender \nrcpt a@b.c\nsize 1\n\nx",
	"mixoutbox 1\nkind reply\ncreated 0\nsender \nrcpt a@b.c\nsize 2\n\nx",
	"mixoutbox 1\nkind reply\ncreated 0\nsender \nrcpt a@b.c\nsize 0\n\n",
	"mixoutbox 1\nkind reply\ncreated 0\nsender \nrcpt \nsize 1\n\nx",
	"mixoutbox 1\nkind reply\ncreated 0\nsender \nrcpt a b@c.d\nsize 1\n\nx",
	"mixoutbox 1\nkind reply\ncreated 0\nrcpt a@b.c\nsize 1\n\nx",
	"mixoutbox 1\nkind reply\ncreated 01\nsender \nrcpt a@b.c\nsize 1\n\nx",
	"mixoutbox 1\nkind reply\ncreated 0\nsender \nrcpt a@b.c\nsize 1\nx",
	"mixoutbox 1\nkind reply\ncreated 99999999999999999999\nsender \nrcpt a@b.c\nsize 1\n\nx",
	/* not the start of an hour: the writer never gives it (one encoding) */
	"mixoutbox 1\nkind reply\ncreated 3601\nsender \nrcpt a@b.c\nsize 1\n\nx",
};

START_TEST(test_outbox_bad)
{
	char spool[1100], path[1300];
	const char *name = "00112233445566778899aabbccddeeff";
	struct outbox_entry e;
	FILE *fp;

	snprintf(spool, sizeof spool, "%s/bad-%d", tmproot, _i);
	ck_assert_int_eq(mkdir(spool, 0700), 0);
	snprintf(path, sizeof path, "%s/outbox", spool);
	ck_assert_int_eq(mkdir(path, 0700), 0);
	snprintf(path, sizeof path, "%s/outbox/%s", spool, name);
	ck_assert_ptr_nonnull(fp = fopen(path, "w"));
	fputs(bad_entries[_i], fp);
	fclose(fp);
	ck_assert_int_eq(outbox_read(spool, name, &e), OUTBOX_ERR_FORMAT);
	ck_assert_ptr_null(e.data);
	ck_assert_int_eq(outbox_read(spool, "../outbox/x", &e), OUTBOX_ERR_FORMAT);
}
END_TEST

START_TEST(test_maildir)
{
	char spool[1100];
	static const uint8_t mail[] = "Subject: x\n\n0123456789\n";

	snprintf(spool, sizeof spool, "%s/maildir", tmproot);
	ck_assert_int_eq(mkdir(spool, 0700), 0);
	ck_assert_int_eq(outbox_maildir_deliver(spool, mail, sizeof mail - 1, 2, 1000, 1000), OUTBOX_KEPT);
	ck_assert_int_eq(outbox_maildir_deliver(spool, mail, sizeof mail - 1, 2, 1000, 1000), OUTBOX_KEPT);
	ck_assert_int_eq(outbox_maildir_deliver(spool, mail, sizeof mail - 1, 2, 1000, 1000), OUTBOX_FULL);
	ck_assert_int_eq(outbox_maildir_deliver(spool, mail, sizeof mail - 1, 10, 68, 1000), OUTBOX_FULL);
	ck_assert_int_eq(outbox_maildir_deliver(spool, mail, sizeof mail - 1, 10, 69, 1000), OUTBOX_KEPT);
}
END_TEST

static void
setup(void)
{
	tu_init();
	tu_make_tmpdir(tmproot, sizeof tmproot, "check_autoreply");
}

static void
teardown(void)
{
	tu_rm_tree(tmproot);
}

int
main(void)
{
	Suite *s = suite_create("autoreply");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, test_cmd_find, 0, sizeof cmds / sizeof *cmds);
	tcase_add_test(tc, test_cmd_find_counted);
	tcase_add_loop_test(tc, test_addr_valid, 0, sizeof addrs / sizeof *addrs);
	tcase_add_test(tc, test_addr_bounds);
	tcase_add_test(tc, test_local_loop);
	tcase_add_test(tc, test_class_roundtrip);
	tcase_add_loop_test(tc, test_class_bad, 0, sizeof bad_lines / sizeof *bad_lines);
	tcase_add_test(tc, test_class_long);
	tcase_add_test(tc, test_rate_requester);
	tcase_add_test(tc, test_rate_total);
	tcase_add_test(tc, test_rate_evict);
	tcase_add_test(tc, test_requester_key);
	tcase_add_test(tc, test_rate_file);
	tcase_add_test(tc, test_compose);
	tcase_add_test(tc, test_complaint);
	tcase_add_test(tc, test_conf_text);
	tcase_add_loop_test(tc, test_settings_bad, 0, sizeof bad_settings / sizeof *bad_settings);
	tcase_add_test(tc, test_outbox_roundtrip);
	tcase_add_loop_test(tc, test_outbox_bad, 0, sizeof bad_entries / sizeof *bad_entries);
	tcase_add_test(tc, test_maildir);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
