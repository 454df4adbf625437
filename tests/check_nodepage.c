/*
 * check_nodepage.c - the node's web page (src/nodepage.c): golden files in
 * tests/nodepage/ for a fixed snapshot and an empty one, through both
 * entry points; every page well-formed (a small XML checker: tags closed
 * in order, attributes quoted, entities known); no script, no external
 * resource, the CSP and viewport metas; six charts with title and desc;
 * the key fingerprints and ids; exact bar geometry and pool means;
 * hostile strings escaped; saturated counters; short buffers, bad
 * arguments, a failing write.
 *
 * Regenerate the golden files (after a deliberate change of the page,
 * with doc/node-page.md updated alike), from the build directory:
 *     MIX_REGEN_GOLDEN=1 top_srcdir=$(top_srcdir) tests/check_nodepage
 * then review the difference.
 */
#include <config.h>

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "descriptor.h"
#include "keys.h"
#include "mcrypto.h"
#include "nodepage.h"
#include "stats.h"
#include "testutil.h"

#define HOUR		INT64_C(3600)
#define DAY		INT64_C(86400)
/* 2023-11-14 22:13:20 UTC: inside an hour and a day */
#define T0		INT64_C(1700000000)
#define T0_HOUR		(T0 / HOUR * HOUR)
#define T0_DAY		(T0 / DAY * DAY)
#define PAGE_MAX	(1024 * 1024)
#define DEPTH_MAX	32

/* ---- fixtures ------------------------------------------------------------------ */

static struct stats_snapshot snap;
static struct descriptor desc;
static struct nodepage_info info;
static const struct nodepage_setting settings[] = {
	{ "mix_interval", "15m" },
	{ "mix_min_pool", "45" },
	{ "mix_rate_permille", "650" },
	{ "exit_max_size", "1M" },
};

static void
setup(void)
{
	tu_init();
}

static void
fill_bucket(uint64_t *v, uint64_t base, uint64_t rounds, uint64_t pool)
{
	int c;

	for (c = 0; c < STATS_NCOUNTERS; c++)
		v[c] = base + (uint64_t)c;
	v[STATS_ROUNDS] = rounds;
	v[STATS_POOL_SIZE] = pool;
}

/* A descriptor as node_descriptor makes it: two keys, an exit */
static void
make_desc(struct descriptor *d)
{
	size_t i, j;

	memset(d, 0, sizeof *d);
	strcpy(d->name, "testnode");
	strcpy(d->address, "mix@testnode.example");
	for (i = 0; i < sizeof d->identity; i++)
		d->identity[i] = (uint8_t)(0xa0 + i);
	d->published = T0;
	strcpy(d->software, "mixmail 0.1.0");
	d->exit = 1;
	d->max_size = 131072;
	strcpy(d->mixing, "binomial");
	d->pkt_versions = 1u << 1;
	strcpy(d->exit_policy, "accept *");
	d->nkeys = 2;
	for (j = 0; j < 2; j++) {
		for (i = 0; i < 32; i++)
			d->keys[j].pk[i] = (uint8_t)(0x10 * (j + 1) + i);
		d->keys[j].valid_from = T0 - 10 * DAY + (int64_t)j * 23 * DAY;
		d->keys[j].valid_until = d->keys[j].valid_from + 30 * DAY;
	}
}

/* full - some hours and days used (as in check_statsreport), the others empty */
static void
full(void)
{
	static const size_t hours[] = { 0, 1, 2, 5, 23 };
	static const size_t days[] = { 0, 1, 6, 30, 79 };
	static const uint64_t hour_rp[][2] = { { 4, 50 }, { 3, 2 }, { 2000, 1999 }, { 0, 7 },
	    { 1, 45 } };
	static const uint64_t day_rp[][2] = { { 96, 4800 }, { 96, 4000 }, { 0, 0 }, { 7, 100 },
	    { 1, 1 } };
	size_t i;

	memset(&snap, 0, sizeof snap);
	fill_bucket(snap.total, 100000, 123456, 6543210);
	for (i = 0; i < sizeof hours / sizeof *hours; i++) {
		snap.hour_start[hours[i]] = T0_HOUR - (int64_t)hours[i] * HOUR;
		fill_bucket(snap.hour[hours[i]], 10 * (hours[i] + 1), hour_rp[i][0], hour_rp[i][1]);
	}
	for (i = 0; i < sizeof days / sizeof *days; i++) {
		snap.day_start[days[i]] = T0_DAY - (int64_t)days[i] * DAY;
		fill_bucket(snap.day[days[i]], 1000 * (days[i] + 1), day_rp[i][0], day_rp[i][1]);
	}
	make_desc(&desc);
	info.desc = &desc;
	info.settings = settings;
	info.nsettings = sizeof settings / sizeof *settings;
	info.now = T0;
}

/* empty - a new middleman: nothing counted yet, one key */
static void
empty(void)
{
	memset(&snap, 0, sizeof snap);
	make_desc(&desc);
	desc.exit = 0;
	strcpy(desc.exit_policy, "middleman: reject *");
	desc.nkeys = 1;
	info.desc = &desc;
	info.settings = settings;
	info.nsettings = 3;
	info.now = T0;
}

static const struct golden {
	const char *file;
	void (*make)(void);
} goldens[] = {
	{ "full.html", full },
	{ "empty.html", empty },
};
#define NGOLDEN ((int)(sizeof goldens / sizeof *goldens))

/* ---- helpers ---------------------------------------------------------------------- */

/* render - the page of the current fixture, malloc'ed */
static char *
render(size_t *len)
{
	char *buf = malloc(PAGE_MAX);
	size_t need;

	ck_assert_ptr_nonnull(buf);
	ck_assert_int_eq(nodepage_format(buf, PAGE_MAX, &need, &info, &snap), 0);
	ck_assert_uint_eq(strlen(buf), need);
	if (len != NULL)
		*len = need;
	return buf;
}

static size_t
occurrences(const char *hay, const char *needle)
{
	size_t n = 0;
	const char *p = hay;

	while ((p = strstr(p, needle)) != NULL) {
		n++;
		p += strlen(needle);
	}
	return n;
}

/* entity - length of a known entity at p ("&amp;", "&#39;", "&#x1F;"), or 0 */
static size_t
entity(const char *p)
{
	static const char *const named[] = { "&amp;", "&lt;", "&gt;", "&quot;" };
	size_t i;

	for (i = 0; i < sizeof named / sizeof *named; i++)
		if (strncmp(p, named[i], strlen(named[i])) == 0)
			return strlen(named[i]);
	if (p[1] == '#') {
		i = 2;
		while (isdigit((unsigned char)p[i]) && i < 10)
			i++;
		if (i > 2 && p[i] == ';')
			return i + 1;
	}
	return 0;
}

/* Elements that may be written <x ... />: HTML's voids we use, SVG shapes */
static int
may_self_close(const char *name)
{
	static const char *const ok[] = { "meta", "line", "rect" };
	size_t i;

	for (i = 0; i < sizeof ok / sizeof *ok; i++)
		if (strcmp(name, ok[i]) == 0)
			return 1;
	return 0;
}

/*
 * wellformed - NULL if page is well-formed XML (after its doctype): every
 * element closed in order, attributes double-quoted, no raw < > or stray
 * & in text or values, only printable ASCII and LF; else why not
 */
static const char *
wellformed(const char *page)
{
	static char why[160];
	char stack[DEPTH_MAX][16], name[16];
	const char *p = page;
	size_t depth = 0, n, e;

	if (strncmp(p, "<!DOCTYPE html>\n", 16) != 0)
		return "no doctype";
	for (p += 16; *p != '\0';) {
		if ((unsigned char)*p > 0x7e || ((unsigned char)*p < 0x20 && *p != '\n'))
			return "a byte outside printable ASCII";
		if (*p == '&') {
			if ((e = entity(p)) == 0)
				return "a stray &";
			p += e;
			continue;
		}
		if (*p == '>')
			return "a raw > in text";
		if (*p != '<') {
			p++;
			continue;
		}
		if (p[1] == '/') {
			for (p += 2, n = 0; isalnum((unsigned char)*p) && n < sizeof name - 1; p++)
				name[n++] = *p;
			name[n] = '\0';
			if (*p != '>')
				return "a malformed end tag";
			p++;
			if (depth == 0 || strcmp(stack[depth - 1], name) != 0) {
				snprintf(why, sizeof why, "</%s> closes <%s>", name,
				    depth > 0 ? stack[depth - 1] : "(nothing)");
				return why;
			}
			depth--;
			continue;
		}
		for (p++, n = 0; (isalnum((unsigned char)*p)) && n < sizeof name - 1; p++)
			name[n++] = *p;
		name[n] = '\0';
		if (n == 0)
			return "a < that starts no tag";
		for (;;) {
			while (*p == ' ' || *p == '\n')
				p++;
			if (p[0] == '/' && p[1] == '>') {
				if (!may_self_close(name)) {
					snprintf(why, sizeof why, "<%s /> self-closed", name);
					return why;
				}
				p += 2;
				break;
			}
			if (*p == '>') {
				if (strcmp(name, "meta") == 0)
					return "<meta> not self-closed";
				if (depth == DEPTH_MAX)
					return "nested too deep";
				strcpy(stack[depth++], name);
				p++;
				break;
			}
			if (!isalpha((unsigned char)*p))
				return "a malformed attribute";
			while (isalnum((unsigned char)*p) || *p == '-')
				p++;
			if (p[0] != '=' || p[1] != '"')
				return "an attribute without a double-quoted value";
			for (p += 2; *p != '"'; ) {
				if (*p == '\0' || *p == '<' || *p == '>' || *p == '\n')
					return "a bad attribute value";
				if (*p == '&') {
					if ((e = entity(p)) == 0)
						return "a stray & in an attribute";
					p += e;
				} else
					p++;
			}
			p++;
		}
	}
	if (depth != 0) {
		snprintf(why, sizeof why, "<%s> never closed", stack[depth - 1]);
		return why;
	}
	return NULL;
}

/* safe - no script, no resource from elsewhere; CSP and viewport present */
static void
check_safe(const char *page)
{
	char *low = strdup(page);
	size_t i;

	ck_assert_ptr_nonnull(low);
	for (i = 0; low[i] != '\0'; i++)
		low[i] = (char)tolower((unsigned char)low[i]);
	ck_assert_ptr_null(strstr(low, "<script"));
	ck_assert_ptr_null(strstr(low, "javascript:"));
	for (i = 0; low[i] != '\0'; i++)	/* no event handler attribute: on...=" */
		if (strncmp(low + i, " on", 3) == 0) {
			size_t j = i + 3;

			while (low[j] >= 'a' && low[j] <= 'z')
				j++;
			ck_assert_msg(low[j] != '=', "an event handler attribute");
		}
	ck_assert_ptr_null(strstr(low, "src="));
	ck_assert_ptr_null(strstr(low, "url("));
	ck_assert_ptr_null(strstr(low, "@import"));
	ck_assert_ptr_null(strstr(low, "http:"));
	ck_assert_ptr_null(strstr(low, "https:"));
	ck_assert_ptr_null(strstr(low, "<link"));
	free(low);
	ck_assert_ptr_nonnull(strstr(page, "<meta http-equiv=\"Content-Security-Policy\" "
	    "content=\"default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; "
	    "form-action 'none'\" />"));
	ck_assert_ptr_nonnull(strstr(page, "<meta name=\"viewport\" "
	    "content=\"width=device-width, initial-scale=1\" />"));
}

/* ---- tests ---------------------------------------------------------------------- */

/* The checker itself finds what it must */
START_TEST(test_checker)
{
	static const char *const bad[] = {
		"<!DOCTYPE html>\n<p>x</b>",
		"<!DOCTYPE html>\n<p>x",
		"<!DOCTYPE html>\n<p>a < b</p>",
		"<!DOCTYPE html>\n<p>a & b</p>",
		"<!DOCTYPE html>\n<p class=x>a</p>",
		"<!DOCTYPE html>\n<p title=\"<\">a</p>",
		"<!DOCTYPE html>\n<span />",
		"<!DOCTYPE html>\n<meta charset=\"utf-8\">",
		"<!DOCTYPE html>\n<p>\x01</p>",
		"<html></html>",
	};
	size_t i;

	ck_assert_ptr_null(wellformed("<!DOCTYPE html>\n<p a=\"&amp;&#39;\">x &lt; y"
	    "<rect x=\"1\" /></p>\n"));
	for (i = 0; i < sizeof bad / sizeof *bad; i++)
		ck_assert_msg(wellformed(bad[i]) != NULL, "accepted: %s", bad[i]);
}
END_TEST

/* Both entry points give exactly the golden file (or write it when asked) */
START_TEST(test_golden)
{
	const struct golden *g = &goldens[_i];
	const char *regen = getenv("MIX_REGEN_GOLDEN");
	char *page, path[PATH_MAX], *fbuf;
	uint8_t *want;
	size_t len, wlen, flen;
	FILE *fp;

	g->make();
	page = render(&len);
	snprintf(path, sizeof path, "%s", tu_srcpath("nodepage/"));
	strncat(path, g->file, sizeof path - strlen(path) - 1);
	if (regen != NULL && strcmp(regen, "1") == 0) {
		fp = fopen(path, "w");
		ck_assert_msg(fp != NULL, "%s: %s", path, strerror(errno));
		ck_assert_uint_eq(fwrite(page, 1, len, fp), len);
		ck_assert_int_eq(fclose(fp), 0);
		fprintf(stderr, "check_nodepage: wrote %s\n", path);
	}
	want = tu_read_file(path, &wlen);
	ck_assert_msg(wlen == len && memcmp(want, page, len) == 0,
	    "%s differs from the page (regenerate with MIX_REGEN_GOLDEN=1 only if the "
	    "change is deliberate)", path);
	fp = open_memstream(&fbuf, &flen);
	ck_assert_ptr_nonnull(fp);
	ck_assert_int_eq(nodepage_write(fp, &info, &snap), 0);
	ck_assert_int_eq(fclose(fp), 0);
	ck_assert_uint_eq(flen, len);
	ck_assert_int_eq(memcmp(fbuf, page, len), 0);
	free(fbuf);
	free(want);
	free(page);
}
END_TEST

/* Every page is well-formed and safe */
START_TEST(test_wellformed)
{
	const char *why;
	char *page;

	goldens[_i].make();
	page = render(NULL);
	why = wellformed(page);
	ck_assert_msg(why == NULL, "%s: not well-formed: %s", goldens[_i].file, why);
	check_safe(page);
	free(page);
}
END_TEST

/* Six charts, each an accessible SVG with a viewBox, axes and a legend */
START_TEST(test_charts)
{
	static const char *const ids[] = { "traffic-hours", "traffic-days", "pool-hours",
	    "pool-days", "drops-hours", "drops-days" };
	char *page, want[256];
	size_t i;

	full();
	page = render(NULL);
	ck_assert_uint_eq(occurrences(page, "<svg class=\"chart\" viewBox=\"0 0 400 220\" "
	    "role=\"img\""), 6);
	for (i = 0; i < 6; i++) {
		snprintf(want, sizeof want, "aria-labelledby=\"%s-t %s-d\">\n<title id=\"%s-t\">",
		    ids[i], ids[i], ids[i]);
		ck_assert_msg(strstr(page, want) != NULL, "chart %s: no title", ids[i]);
		snprintf(want, sizeof want, "<desc id=\"%s-d\">", ids[i]);
		ck_assert_msg(strstr(page, want) != NULL, "chart %s: no desc", ids[i]);
	}
	ck_assert_uint_eq(occurrences(page, "<ul class=\"legend\">"), 6);
	ck_assert_uint_eq(occurrences(page, "hour starting (UTC)</text>"), 3);
	ck_assert_uint_eq(occurrences(page, "day (UTC)</text>"), 3);
	ck_assert_uint_eq(occurrences(page, "no data yet"), 0);
	/* hour labels at 00, 06, 12, 18 UTC; day labels at the first of a month */
	ck_assert_ptr_nonnull(strstr(page, ">00:00</text>"));
	ck_assert_ptr_nonnull(strstr(page, ">18:00</text>"));
	ck_assert_ptr_nonnull(strstr(page, ">2023-11</text>"));
	ck_assert_ptr_nonnull(strstr(page, ">2023-09</text>"));
	/* all twelve drop reasons in the legend */
	ck_assert_ptr_nonnull(strstr(page, "<li><span class=\"sw d11\"></span>replay</li>"));
	/* statistics only per hour: T0's minutes appear in no chart (key windows are exact) */
	ck_assert_ptr_nonnull(strstr(page, "<section id=\"totals\">"));
	ck_assert_ptr_null(strstr(strstr(page, "<section id=\"totals\">"), "22:13"));
	free(page);
}
END_TEST

/* The fingerprints (full keys in hex) and ids of all keys, and their windows */
START_TEST(test_fingerprints)
{
	char hex[65], id[KEYS_ID_HEX], want[160];
	uint8_t h[MCRYPTO_HASH_BYTES];
	char *page;
	size_t i;

	full();
	page = render(NULL);
	mcrypto_hex(hex, desc.identity, 32);
	snprintf(want, sizeof want, "<code class=\"fp\" id=\"identity\">%s</code>", hex);
	ck_assert_ptr_nonnull(strstr(page, want));
	for (i = 0; i < desc.nkeys; i++) {
		mcrypto_hex(hex, desc.keys[i].pk, 32);
		snprintf(want, sizeof want, "<code class=\"fp mixkey\">%s</code>", hex);
		ck_assert_ptr_nonnull(strstr(page, want));
		mcrypto_hash(h, sizeof h, NULL, 0, desc.keys[i].pk, 32);
		keys_id_hex(id, h);
		snprintf(want, sizeof want, "<strong>Key <code>%s</code></strong>: %s", id,
		    i == 0 ? "in use now" : "next");
		ck_assert_ptr_nonnull(strstr(page, want));
	}
	/* key 0: T0 - 10 days to T0 + 20 days */
	ck_assert_ptr_nonnull(strstr(page, "Valid from 2023-11-04 22:13:20 until "
	    "2023-12-04 22:13:20"));
	ck_assert_ptr_nonnull(strstr(page, "<dt>Role</dt><dd>exit: delivers final mail</dd>"));
	ck_assert_ptr_nonnull(strstr(page, "<dd>131072 bytes (128 KiB)</dd>"));
	ck_assert_ptr_nonnull(strstr(page, "<dt>Packet versions</dt><dd>1</dd>"));
	ck_assert_ptr_nonnull(strstr(page, "<dt><code>mix_interval</code></dt><dd>15m</dd>"));
	free(page);
}
END_TEST

/* A new node: every chart says so, the totals too */
START_TEST(test_empty)
{
	char *page;

	empty();
	page = render(NULL);
	ck_assert_uint_eq(occurrences(page, ">no data yet</text>"), 6);
	ck_assert_uint_eq(occurrences(page, "No data yet.</desc>"), 6);
	ck_assert_ptr_nonnull(strstr(page, "No data yet: nothing has been counted."));
	ck_assert_ptr_null(strstr(page, "<rect"));
	ck_assert_ptr_nonnull(strstr(page, "middleman: forwards only"));
	ck_assert_ptr_null(strstr(page, "exit_max_size"));
	free(page);
}
END_TEST

/* Bar geometry: one full-height bar in the newest hour, stacked layers */
START_TEST(test_bars)
{
	char *page;

	empty();
	snap.hour_start[0] = T0_HOUR;
	snap.hour[0][STATS_IN_FORWARD] = 3;
	snap.hour[0][STATS_IN_DUMMY] = 1;	/* stacked: 4, the grid's top */
	snap.hour[0][STATS_ROUNDS] = 4;
	snap.hour[0][STATS_POOL_SIZE] = 50;
	snap.hour[0][STATS_DROP_REPLAY] = 2;
	page = render(NULL);
	/* slot 23 of 24: x = 52 + 23 * 14 + 1.7; 3 of 4 is 120 of 160 units high */
	ck_assert_ptr_nonnull(strstr(page, "<title>2023-11-14 22:00 UTC: 3 intermediate, "
	    "1 dummies</title><rect class=\"s-fwd\" x=\"375.7\" y=\"64\" width=\"10.5\" "
	    "height=\"120\" /><rect class=\"s-dum\" x=\"375.7\" y=\"24\" width=\"10.5\" "
	    "height=\"40\" /></g>"));
	ck_assert_ptr_nonnull(strstr(page, "<title>2023-11-14 22:00 UTC: mean 12.5 entries "
	    "over 4 rounds</title>"));
	ck_assert_ptr_nonnull(strstr(page, "<title>2023-11-14 22:00 UTC: 2 replay</title>"));
	/* the same counts in the newest day's bar: slot 79 of 80 */
	ck_assert_ptr_null(strstr(page, "<title>2023-11-14 UTC:"));
	/* the grid of the traffic chart: 0 to 4 in steps of 1 */
	ck_assert_ptr_nonnull(strstr(page, "text-anchor=\"end\">4</text>"));
	ck_assert_uint_eq(occurrences(page, ">no data yet</text>"), 3);	/* the day charts */
	free(page);
}
END_TEST

/* Big numbers: saturated counters, shortened grid labels */
START_TEST(test_saturated)
{
	const char *why;
	char *page;
	size_t i;

	empty();
	for (i = 0; i < STATS_HOURS; i++) {
		snap.hour_start[i] = T0_HOUR - (int64_t)i * HOUR;
		snap.hour[i][STATS_IN_FORWARD] = UINT64_MAX;
		snap.hour[i][STATS_IN_DELIVER] = UINT64_MAX;
		snap.hour[i][STATS_ROUNDS] = 1;
		snap.hour[i][STATS_POOL_SIZE] = UINT64_MAX;
	}
	snap.day_start[0] = T0_DAY;
	snap.day[0][STATS_IN_FORWARD] = 20000;	/* grid step 5k: 5k 10k 15k 20k */
	page = render(NULL);
	why = wellformed(page);
	ck_assert_msg(why == NULL, "not well-formed: %s", why);
	ck_assert_ptr_nonnull(strstr(page, "18446744073709551615 intermediate"));
	ck_assert_ptr_nonnull(strstr(page, "text-anchor=\"end\">15k</text>"));
	ck_assert_ptr_nonnull(strstr(page, "text-anchor=\"end\">20k</text>"));
	free(page);
}
END_TEST

/* Hostile strings in every field are escaped, never markup */
START_TEST(test_escape)
{
	static const char evil[] = "<script>alert(1)</script>&\"'\x01\xff";
	struct nodepage_setting bad[1] = { { evil, evil } };
	char want[sizeof desc.address * 4 + 64];
	const char *why;
	char *page;
	size_t i;

	empty();
	memcpy(desc.name, evil, sizeof evil < sizeof desc.name ? sizeof evil : sizeof desc.name);
	memset(desc.address, '<', sizeof desc.address);	/* not even NUL-terminated */
	snprintf(desc.mixing, sizeof desc.mixing, "%s", evil);
	snprintf(desc.software, sizeof desc.software, "%s", evil);
	snprintf(desc.exit_policy, sizeof desc.exit_policy, "%s", evil);
	info.settings = bad;
	info.nsettings = 1;
	page = render(NULL);
	why = wellformed(page);
	ck_assert_msg(why == NULL, "not well-formed: %s", why);
	check_safe(page);
	ck_assert_ptr_nonnull(strstr(page, "<title>mixmail node &lt;script&gt;alert(1)&lt;"
	    "/script&gt;&amp;&quot;&#39;?" "?</title>"));
	/* the name twice, mixing, software, policy, the setting's name and value */
	ck_assert_uint_eq(occurrences(page, "&lt;script&gt;alert(1)"), 7);
	strcpy(want, "<code id=\"node-address\">");
	for (i = 0; i < sizeof desc.address; i++)
		strcat(want, "&lt;");
	strcat(want, "</code>");
	ck_assert_ptr_nonnull(strstr(page, want));
	free(page);
}
END_TEST

/* Short buffers, bad arguments, a failing write */
START_TEST(test_args)
{
	char *page, small[100];
	size_t len, need;
	FILE *fp;

	full();
	page = render(&len);
	errno = 0;
	ck_assert_int_eq(nodepage_format(small, sizeof small, &need, &info, &snap), -1);
	ck_assert_int_eq(errno, ERANGE);
	ck_assert_uint_eq(need, len);
	ck_assert_uint_eq(strlen(small), sizeof small - 1);
	ck_assert_int_eq(memcmp(small, page, sizeof small - 1), 0);
	ck_assert_int_eq(nodepage_format(NULL, 0, &need, &info, &snap), -1);
	ck_assert_uint_eq(need, len);
	ck_assert_int_eq(nodepage_format(small, sizeof small, NULL, &info, &snap), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(nodepage_format(small, sizeof small, &need, NULL, &snap), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_uint_eq(need, 0);
	ck_assert_int_eq(nodepage_format(small, sizeof small, &need, &info, NULL), -1);
	info.now = -1;
	ck_assert_int_eq(nodepage_format(small, sizeof small, &need, &info, &snap), -1);
	ck_assert_int_eq(errno, EINVAL);
	info.now = NODEPAGE_TIME_MAX + 1;
	ck_assert_int_eq(nodepage_format(small, sizeof small, &need, &info, &snap), -1);
	info.now = T0;
	desc.nkeys = DESC_MAX_KEYS + 1;
	ck_assert_int_eq(nodepage_format(small, sizeof small, &need, &info, &snap), -1);
	ck_assert_int_eq(errno, EINVAL);
	desc.nkeys = 2;
	info.nsettings = NODEPAGE_SETTINGS_MAX + 1;
	ck_assert_int_eq(nodepage_format(small, sizeof small, &need, &info, &snap), -1);
	info.nsettings = 1;
	info.settings = (const struct nodepage_setting[]){ { "x", NULL } };
	ck_assert_int_eq(nodepage_format(small, sizeof small, &need, &info, &snap), -1);
	ck_assert_int_eq(errno, EINVAL);
	info.settings = settings;
	ck_assert_int_eq(nodepage_write(NULL, &info, &snap), -1);
	ck_assert_int_eq(errno, EINVAL);
	if ((fp = fopen("/dev/full", "w")) != NULL) {
		setvbuf(fp, NULL, _IONBF, 0);
		errno = 0;
		ck_assert_int_eq(nodepage_write(fp, &info, &snap), -1);
		ck_assert_int_eq(errno, ENOSPC);
		fclose(fp);
	}
	free(page);
}
END_TEST

static Suite *
nodepage_suite(void)
{
	Suite *s = suite_create("nodepage");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_checker);
	tcase_add_loop_test(tc, test_golden, 0, NGOLDEN);
	tcase_add_loop_test(tc, test_wellformed, 0, NGOLDEN);
	tcase_add_test(tc, test_charts);
	tcase_add_test(tc, test_fingerprints);
	tcase_add_test(tc, test_empty);
	tcase_add_test(tc, test_bars);
	tcase_add_test(tc, test_saturated);
	tcase_add_test(tc, test_escape);
	tcase_add_test(tc, test_args);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(nodepage_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
