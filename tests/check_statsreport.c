/*
 * check_statsreport.c - the statistics report (src/statsreport.c): golden
 * files in tests/stats/ for a fixed snapshot and an empty one, in both
 * forms, written to a FILE and into a buffer; the JSON checked by a small
 * validator of RFC 8259 syntax; hostile node names escaped; the rows in
 * order (row 0 is the report's hour and day) from a real statistics file;
 * buckets matched to rows by their start; buffers too small; bad
 * arguments; a failing write.
 *
 * Regenerate the golden files (after a deliberate format change, with
 * doc/stats-format.md updated alike):
 *     tests/check_statsreport --golden $(top_srcdir)/tests/stats
 */
#include <config.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <check.h>

#include "stats.h"
#include "statsreport.h"
#include "testutil.h"

#define HOUR		INT64_C(3600)
#define DAY		INT64_C(86400)
/* 2023-11-14 22:13:20 UTC: inside an hour and a day */
#define T0		INT64_C(1700000000)
#define T0_HOUR		(T0 / HOUR * HOUR)	/* 2023-11-14 22:00 */
#define T0_DAY		(T0 / DAY * DAY)	/* 2023-11-14 00:00 */
#define JSON_DEPTH	16

static char tmproot[1024];

/* ---- fixtures ------------------------------------------------------------------ */

static void
make_root(void)
{
	tu_make_tmpdir(tmproot, sizeof tmproot, "check_statsreport");
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

/* A bucket's counters: base + counter index, then its own rounds and pool */
static void
fill_bucket(uint64_t *v, uint64_t base, uint64_t rounds, uint64_t pool)
{
	int c;

	for (c = 0; c < STATS_NCOUNTERS; c++)
		v[c] = base + (uint64_t)c;
	v[STATS_ROUNDS] = rounds;
	v[STATS_POOL_SIZE] = pool;
}

/*
 * full_snapshot - as stats_read would return it at T0: some hours and days
 * used, the others empty; pool means that round half up (12.5), round up
 * (0.7), carry into the units (1.0) and have no rounds (-); a total at
 * 2^64 - 1, so that the drop sum saturates.
 */
static void
full_snapshot(struct stats_snapshot *s, struct statsreport_info *info)
{
	static const size_t hours[] = { 0, 1, 2, 5, 23 };
	static const size_t days[] = { 0, 1, 6, 30, 79 };
	static const uint64_t hour_rp[][2] = { { 4, 50 }, { 3, 2 }, { 2000, 1999 }, { 0, 7 },
	    { 1, 45 } };
	static const uint64_t day_rp[][2] = { { 96, 4800 }, { 96, 4000 }, { 0, 0 }, { 7, 100 },
	    { 1, 1 } };
	size_t i;

	memset(s, 0, sizeof *s);
	fill_bucket(s->total, 100000, 123456, 6543210);
	s->total[STATS_DROP_REPLAY] = UINT64_MAX;
	for (i = 0; i < sizeof hours / sizeof *hours; i++) {
		s->hour_start[hours[i]] = T0_HOUR - (int64_t)hours[i] * HOUR;
		fill_bucket(s->hour[hours[i]], 10 * (hours[i] + 1), hour_rp[i][0], hour_rp[i][1]);
	}
	for (i = 0; i < sizeof days / sizeof *days; i++) {
		s->day_start[days[i]] = T0_DAY - (int64_t)days[i] * DAY;
		fill_bucket(s->day[days[i]], 1000 * (days[i] + 1), day_rp[i][0], day_rp[i][1]);
	}
	info->node = "testnode";
	info->now = T0;
	info->mixing = "binomial";
	info->exit = 1;
}

static void
empty_snapshot(struct stats_snapshot *s, struct statsreport_info *info)
{
	memset(s, 0, sizeof *s);
	info->node = "mixnode";
	info->now = T0;
	info->mixing = NULL;
	info->exit = 0;
}

/* The golden cases: file name, snapshot, form */
static const struct golden {
	const char *file;
	void (*make)(struct stats_snapshot *, struct statsreport_info *);
	enum statsreport_form form;
} goldens[] = {
	{ "full.report", full_snapshot, STATSREPORT_TEXT },
	{ "full.json", full_snapshot, STATSREPORT_JSON },
	{ "empty.report", empty_snapshot, STATSREPORT_TEXT },
	{ "empty.json", empty_snapshot, STATSREPORT_JSON },
};
#define NGOLDEN ((int)(sizeof goldens / sizeof *goldens))

/* ---- helpers ---------------------------------------------------------------------- */

/* render - the report through statsreport_write (malloc'ed, NUL-terminated) */
static char *
render(enum statsreport_form form, const struct stats_snapshot *s,
    const struct statsreport_info *info, size_t *lenp)
{
	char *p = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&p, &len);

	ck_assert_ptr_nonnull(fp);
	ck_assert_int_eq(statsreport_write(fp, form, s, info), 0);
	ck_assert_int_eq(fclose(fp), 0);
	ck_assert_uint_eq(strlen(p), len);
	if (lenp != NULL)
		*lenp = len;
	return p;
}

static char *
render_json(const struct stats_snapshot *s, const struct statsreport_info *info)
{
	return render(STATSREPORT_JSON, s, info, NULL);
}

/* starts - s begins with prefix */
static int
starts(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* count - occurrences of needle in hay */
static size_t
count(const char *hay, const char *needle)
{
	size_t n = 0;

	while ((hay = strstr(hay, needle)) != NULL) {
		n++;
		hay += strlen(needle);
	}
	return n;
}

/*
 * json_bucket - a copy of line i of the "hours" or "days" array (one bucket
 * per line, doc/stats-format.md); the caller frees it
 */
static char *
json_bucket(const char *json, const char *key, size_t i)
{
	char head[32];
	const char *p, *end;
	char *line;

	snprintf(head, sizeof head, "\n  \"%s\": [\n", key);
	p = strstr(json, head);
	ck_assert_msg(p != NULL, "no %s array", key);
	p += strlen(head);
	while (i-- > 0) {
		ck_assert(strncmp(p, "    {\"start\": ", 14) == 0);
		p = strchr(p, '\n');
		ck_assert_ptr_nonnull(p);
		p++;
	}
	ck_assert_msg(strncmp(p, "    {\"start\": ", 14) == 0, "not a bucket line: %.40s", p);
	end = strchr(p, '\n');
	ck_assert_ptr_nonnull(end);
	line = strndup(p, (size_t)(end - p));
	ck_assert_ptr_nonnull(line);
	return line;
}

/* has - line contains "name": value followed by a comma or a brace */
static int
has(const char *line, const char *name, unsigned long long value)
{
	char a[96], b[96];

	snprintf(a, sizeof a, "\"%s\": %llu,", name, value);
	snprintf(b, sizeof b, "\"%s\": %llu}", name, value);
	return strstr(line, a) != NULL || strstr(line, b) != NULL;
}

/* text_row - a copy of the text report's line "  label ...", without the indent */
static char *
text_row(const char *text, const char *label)
{
	char head[64];
	const char *p, *end;
	char *line;

	snprintf(head, sizeof head, "\n  %s ", label);
	p = strstr(text, head);
	ck_assert_msg(p != NULL, "no row %s", label);
	ck_assert_msg(strstr(p + 1, head) == NULL, "row %s twice", label);
	p += 3;		/* the row without its indent */
	end = strchr(p, '\n');
	line = strndup(p, (size_t)(end - p));
	ck_assert_ptr_nonnull(line);
	return line;
}

/* ---- a JSON syntax validator (RFC 8259), for the tests only ------------------------- */

static int json_value(const char **pp, int depth);

static void
json_ws(const char **pp)
{
	while (**pp == ' ' || **pp == '\t' || **pp == '\n' || **pp == '\r')
		(*pp)++;
}

static int
json_lit(const char **pp, const char *lit)
{
	size_t n = strlen(lit);

	if (strncmp(*pp, lit, n) != 0)
		return 0;
	*pp += n;
	return 1;
}

/* json_utf8 - one well-formed UTF-8 sequence of 2 to 4 bytes */
static int
json_utf8(const char **pp)
{
	const unsigned char *p = (const unsigned char *)*pp;
	unsigned lo = 0x80, hi = 0xbf, n, i;

	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		n = 3;
		lo = p[0] == 0xe0 ? 0xa0 : 0x80;
		hi = p[0] == 0xed ? 0x9f : 0xbf;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		n = 4;
		lo = p[0] == 0xf0 ? 0x90 : 0x80;
		hi = p[0] == 0xf4 ? 0x8f : 0xbf;
	} else
		return 0;
	if (p[1] < lo || p[1] > hi)
		return 0;
	for (i = 2; i < n; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	*pp += n;
	return 1;
}

static int
json_str(const char **pp)
{
	const char *p = *pp;
	int i;

	if (*p++ != '"')
		return 0;
	for (;;) {
		unsigned char c = (unsigned char)*p;

		if (c == '"')
			break;
		if (c < 0x20)
			return 0;	/* a raw control character, or the end */
		if (c == '\\') {
			p++;
			if (*p == 'u') {
				for (i = 1; i <= 4; i++)
					if (strchr("0123456789abcdefABCDEF", p[i]) == NULL ||
					    p[i] == '\0')
						return 0;
				p += 5;
			} else if (*p != '\0' && strchr("\"\\/bfnrt", *p) != NULL)
				p++;
			else
				return 0;
		} else if (c >= 0x80) {
			if (!json_utf8(&p))
				return 0;
		} else
			p++;
	}
	*pp = p + 1;
	return 1;
}

static int
json_num(const char **pp)
{
	const char *p = *pp;

	if (*p == '-')
		p++;
	if (*p == '0')
		p++;
	else if (*p >= '1' && *p <= '9')
		while (*p >= '0' && *p <= '9')
			p++;
	else
		return 0;
	if (*p == '.') {
		if (*++p < '0' || *p > '9')
			return 0;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '+' || *p == '-')
			p++;
		if (*p < '0' || *p > '9')
			return 0;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	*pp = p;
	return 1;
}

/* json_seq - the members of an object (obj) or the elements of an array */
static int
json_seq(const char **pp, int depth, int obj)
{
	char close = obj ? '}' : ']';

	(*pp)++;
	json_ws(pp);
	if (**pp == close) {
		(*pp)++;
		return 1;
	}
	for (;;) {
		if (obj) {
			if (!json_str(pp))
				return 0;
			json_ws(pp);
			if (*(*pp)++ != ':')
				return 0;
		}
		if (!json_value(pp, depth + 1))
			return 0;
		json_ws(pp);
		if (**pp == close) {
			(*pp)++;
			return 1;
		}
		if (*(*pp)++ != ',')
			return 0;
		json_ws(pp);
	}
}

static int
json_value(const char **pp, int depth)
{
	if (depth > JSON_DEPTH)
		return 0;
	json_ws(pp);
	switch (**pp) {
	case '{':
		return json_seq(pp, depth, 1);
	case '[':
		return json_seq(pp, depth, 0);
	case '"':
		return json_str(pp);
	case 't':
		return json_lit(pp, "true");
	case 'f':
		return json_lit(pp, "false");
	case 'n':
		return json_lit(pp, "null");
	default:
		return json_num(pp);
	}
}

/* json_valid - text is exactly one JSON value, with surrounding white space */
static int
json_valid(const char *text)
{
	const char *p = text;

	if (!json_value(&p, 0))
		return 0;
	json_ws(&p);
	return *p == '\0';
}

/* ---- tests ---------------------------------------------------------------------- */

START_TEST(test_validator)
{
	/* the validator itself: it must refuse what is not JSON */
	ck_assert(json_valid("{\"a\": [1, -2.5e3, true, false, null, \"x\\u00e9\\n\"]}\n"));
	ck_assert(json_valid("\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\""));
	ck_assert(!json_valid("{\"a\": 1,}"));
	ck_assert(!json_valid("{\"a\" 1}"));
	ck_assert(!json_valid("[1 2]"));
	ck_assert(!json_valid("\"a\nb\""));
	ck_assert(!json_valid("\"a\\xb\""));
	ck_assert(!json_valid("\"a\\u12\""));
	ck_assert(!json_valid("\"\xff\""));
	ck_assert(!json_valid("\"\xed\xa0\x80\""));
	ck_assert(!json_valid("\"abc"));
	ck_assert(!json_valid("{\"a\": 1} x"));
	ck_assert(!json_valid("01"));
	ck_assert(!json_valid("[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]"));
}
END_TEST

/* Both entry points give exactly the golden file */
START_TEST(test_golden)
{
	const struct golden *g = &goldens[_i];
	struct statsreport_info info;
	struct stats_snapshot s;
	char rel[64], *out, *buf;
	uint8_t *ref;
	size_t len, reflen, need;

	g->make(&s, &info);
	snprintf(rel, sizeof rel, "stats/%s", g->file);
	ref = tu_read_file(tu_srcpath(rel), &reflen);

	out = render(g->form, &s, &info, &len);
	ck_assert_msg(len == reflen && memcmp(out, ref, len) == 0,
	    "%s differs from the report (regenerate with --golden only if the format "
	    "change is deliberate)", rel);

	buf = malloc(reflen + 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert_int_eq(statsreport_format(buf, reflen + 1, &need, g->form, &s, &info), 0);
	ck_assert_uint_eq(need, reflen);
	ck_assert_mem_eq(buf, ref, reflen);
	ck_assert_int_eq(buf[reflen], '\0');
	if (g->form == STATSREPORT_JSON)
		ck_assert_msg(json_valid(out), "%s is not valid JSON", rel);
	free(buf);
	free(out);
	free(ref);
}
END_TEST

/* Targeted checks of the full report, beside the golden comparison */
START_TEST(test_full_text)
{
	struct statsreport_info info;
	struct stats_snapshot s;
	char *out, *row;

	full_snapshot(&s, &info);
	out = render(STATSREPORT_TEXT, &s, &info, NULL);
	ck_assert(starts(out, "mixmail node statistics\nnode:         testnode\n"
	    "report time:  2023-11-14 22:00 UTC\nmixing:       binomial\nrole:         exit\n\n"
	    "Totals since counting began\n"));
	ck_assert_uint_eq(count(out, "\n  2023-11-1"), 24 + 5);	/* 24 hours, days 14 to 10 */
	/* hour 0: in_forward 10, in_deliver 11, in_dummy 12, drops 13..24 = 222 */
	row = text_row(out, "2023-11-14 22:00");
	ck_assert_str_eq(row, "2023-11-14 22:00       10       11       12      222       12.5");
	free(row);
	row = text_row(out, "2023-11-14 21:00");
	ck_assert(strstr(row, " 0.7") != NULL);			/* 2 / 3 */
	free(row);
	row = text_row(out, "2023-11-14 20:00");
	ck_assert(strstr(row, " 1.0") != NULL);			/* 1999 / 2000 */
	free(row);
	row = text_row(out, "2023-11-14 17:00");		/* hour 5: no rounds */
	ck_assert_str_eq(row, "2023-11-14 17:00       60       61       62      822          -");
	free(row);
	row = text_row(out, "2023-11-14 19:00");		/* empty */
	ck_assert_str_eq(row, "2023-11-14 19:00        0        0        0        0          -");
	free(row);
	row = text_row(out, "2023-11-13 23:00");		/* hour 23, the last */
	ck_assert(strstr(row, "      240 ") != NULL && strstr(row, " 45.0") != NULL);
	free(row);
	row = text_row(out, "2023-08-27      ");		/* day 79, the last */
	ck_assert(strncmp(row, "2023-08-27          80000    80001    80002", 43) == 0);
	free(row);
	/* drops: 24-hour sum of drop_key (counter 9) over hours 0,1,2,5,23 */
	row = text_row(out, "drop_key");
	ck_assert_str_eq(row, "drop_key                    405       121045               100009");
	free(row);
	row = text_row(out, "dropped (drop_*)");			/* saturated */
	ck_assert(strstr(row, " 18446744073709551615") != NULL);
	free(row);
	row = text_row(out, "mean pool size (pool_size/rounds)");
	ck_assert(strstr(row, " 53.0") != NULL);	/* 6543210 / 123456 = 53.0014 */
	free(row);
	free(out);
}
END_TEST

START_TEST(test_full_json)
{
	struct statsreport_info info;
	struct stats_snapshot s;
	char *out, *line;

	full_snapshot(&s, &info);
	out = render_json(&s, &info);
	ck_assert(json_valid(out));
	ck_assert(starts(out, "{\n  \"version\": 1,\n  \"node\": \"testnode\",\n"
	    "  \"generated\": \"2023-11-14T22:00:00Z\",\n  \"mixing\": \"binomial\",\n"
	    "  \"exit\": true,\n  \"totals\": {\"in_forward\": 100000, "));
	ck_assert_uint_eq(count(out, "\"start\": "), STATS_HOURS + STATS_DAYS);
	/* every start is an hour's, the report's time no finer than its hour */
	ck_assert_uint_eq(count(out, ":00:00Z\""), STATS_HOURS + STATS_DAYS + 1);
	ck_assert_uint_eq(count(out, "T00:00:00Z\""), STATS_DAYS + 1);	/* + the hour 00:00 */
	ck_assert_uint_eq(count(out, "\"drop_replay\": "), 1 + STATS_HOURS + STATS_DAYS);
	ck_assert(strstr(out, "\"drop_replay\": 18446744073709551615,") != NULL);
	line = json_bucket(out, "hours", 0);
	ck_assert(starts(line, "    {\"start\": \"2023-11-14T22:00:00Z\", \"in_forward\": 10, "));
	ck_assert(has(line, "pool_size", 50) && has(line, "rounds", 4));
	free(line);
	line = json_bucket(out, "hours", 3);
	ck_assert(strstr(line, "\"2023-11-14T19:00:00Z\"") != NULL && has(line, "in_forward", 0));
	free(line);
	line = json_bucket(out, "hours", 22);
	ck_assert(line[strlen(line) - 1] == ',');
	free(line);
	line = json_bucket(out, "hours", 23);
	ck_assert(strstr(line, "\"2023-11-13T23:00:00Z\"") != NULL && has(line, "in_forward", 240));
	ck_assert(line[strlen(line) - 1] == '}');	/* the last: no comma */
	free(line);
	line = json_bucket(out, "days", 79);
	ck_assert(strstr(line, "\"2023-08-27T00:00:00Z\"") != NULL && has(line, "pool_size", 1));
	free(line);
	/* the key order is the counters' */
	ck_assert(strstr(out, "\"tempfail\"") < strstr(out, "\"out_forward\""));
	ck_assert(strstr(out, "\"rounds\"") < strstr(out, "\"pool_size\""));
	ck_assert_str_eq(out + strlen(out) - 8, "}\n  ]\n}\n");
	free(out);
}
END_TEST

START_TEST(test_empty)
{
	struct statsreport_info info;
	struct stats_snapshot s;
	char *out;

	empty_snapshot(&s, &info);
	out = render_json(&s, &info);
	ck_assert(json_valid(out));
	ck_assert(strstr(out, "\"mixing\": null,\n  \"exit\": false,") != NULL);
	ck_assert_uint_eq(count(out, ": 0,") + count(out, ": 0}"),
	    STATS_NCOUNTERS * (1 + STATS_HOURS + STATS_DAYS));
	free(out);
	out = render(STATSREPORT_TEXT, &s, &info, NULL);
	ck_assert(strstr(out, "\nmixing:       -\nrole:         middleman\n") != NULL);
	ck_assert_uint_eq(count(out, "        0        0        0        0          -\n"),
	    STATS_HOURS + STATS_DAYS);
	free(out);
}
END_TEST

/* The rows come from a real statistics file: row 0 is the current hour and day */
START_TEST(test_order_from_file)
{
	struct statsreport_info info = { .node = "n", .mixing = "timed", .exit = 0 };
	struct stats_snapshot s;
	char spool[PATH_MAX], *out, *line;

	snprintf(spool, sizeof spool, "%s/order", tmproot);
	ck_assert_int_eq(mkdir(spool, 0700), 0);
	/* in time order, as a node counts (an hour's slot is reused after 24 hours) */
	ck_assert_int_eq(stats_add(spool, STATS_DROP_KEY, 2, (time_t)(T0 - 2 * DAY), 60000), 0);
	ck_assert_int_eq(stats_add(spool, STATS_DROP_KEY, 1, (time_t)(T0 - 30 * HOUR), 60000), 0);
	ck_assert_int_eq(stats_add(spool, STATS_IN_DELIVER, 3, (time_t)(T0 - 23 * HOUR), 60000), 0);
	ck_assert_int_eq(stats_add(spool, STATS_IN_FORWARD, 7, (time_t)(T0 - HOUR), 60000), 0);
	ck_assert_int_eq(stats_add(spool, STATS_IN_FORWARD, 5, (time_t)T0, 60000), 0);
	ck_assert_int_eq(stats_read(spool, (time_t)T0, &s), 0);
	info.now = T0;
	out = render_json(&s, &info);
	line = json_bucket(out, "hours", 0);
	ck_assert(strstr(line, "\"2023-11-14T22:00:00Z\"") && has(line, "in_forward", 5));
	free(line);
	line = json_bucket(out, "hours", 1);
	ck_assert(strstr(line, "\"2023-11-14T21:00:00Z\"") && has(line, "in_forward", 7));
	free(line);
	line = json_bucket(out, "hours", 23);
	ck_assert(strstr(line, "\"2023-11-13T23:00:00Z\"") && has(line, "in_deliver", 3));
	free(line);
	line = json_bucket(out, "days", 0);
	ck_assert(strstr(line, "\"2023-11-14T00:00:00Z\"") && has(line, "in_forward", 12) &&
	    has(line, "drop_key", 0));
	free(line);
	line = json_bucket(out, "days", 1);
	ck_assert(has(line, "in_deliver", 3) && has(line, "drop_key", 1));
	free(line);
	line = json_bucket(out, "days", 2);
	ck_assert(strstr(line, "\"2023-11-12T00:00:00Z\"") && has(line, "drop_key", 2));
	free(line);
	free(out);
	out = render(STATSREPORT_TEXT, &s, &info, NULL);
	line = text_row(out, "2023-11-14 22:00");
	ck_assert_str_eq(line, "2023-11-14 22:00        5        0        0        0          -");
	free(line);
	line = text_row(out, "2023-11-13      ");
	ck_assert_str_eq(line, "2023-11-13              0        3        0        1          -");
	free(line);
	line = text_row(out, "drop_key");	/* 30 hours ago: a day, not an hour */
	ck_assert_str_eq(line, "drop_key                      0            3                    3");
	free(line);
	free(out);
}
END_TEST

/* A report an hour after the snapshot: the rows move, the buckets follow their starts */
START_TEST(test_report_later)
{
	struct statsreport_info info = { .node = "n", .mixing = NULL, .exit = 0 };
	struct stats_snapshot s;
	char *out, *line;

	full_snapshot(&s, &info);
	info.now = T0 + HOUR;		/* 23:13, the same day */
	out = render_json(&s, &info);
	ck_assert(strstr(out, "\"generated\": \"2023-11-14T23:00:00Z\"") != NULL);
	line = json_bucket(out, "hours", 0);
	ck_assert(strstr(line, "\"2023-11-14T23:00:00Z\"") && has(line, "in_forward", 0));
	free(line);
	line = json_bucket(out, "hours", 1);
	ck_assert(strstr(line, "\"2023-11-14T22:00:00Z\"") && has(line, "in_forward", 10));
	free(line);
	line = json_bucket(out, "hours", 23);		/* 00:00: none */
	ck_assert(strstr(line, "\"2023-11-14T00:00:00Z\"") && has(line, "in_forward", 0));
	free(line);
	ck_assert(strstr(out, "\"2023-11-13T23:00:00Z\"") == NULL);	/* out of the window */
	line = json_bucket(out, "days", 0);
	ck_assert(has(line, "in_forward", 1000));
	free(line);
	free(out);
}
END_TEST

/* A bucket is shown in the row of its start, whatever its index; others not at all */
START_TEST(test_bucket_by_start)
{
	struct statsreport_info info = { .node = "n", .now = T0, .mixing = NULL, .exit = 0 };
	struct stats_snapshot s;
	char *out, *line;
	size_t i;

	memset(&s, 0, sizeof s);
	s.hour_start[3] = T0_HOUR - 5 * HOUR;		/* row 5's bucket at index 3 */
	s.hour[3][STATS_IN_DUMMY] = 33;
	s.hour_start[4] = T0_HOUR + HOUR;		/* a later hour: no row */
	s.hour[4][STATS_IN_DUMMY] = 44;
	s.hour_start[6] = T0_HOUR - 6 * HOUR + 1;	/* not an hour's start: no row */
	s.hour[6][STATS_IN_DUMMY] = 66;
	s.day_start[0] = T0_DAY - 80 * DAY;		/* older than the window */
	s.day[0][STATS_IN_DUMMY] = 80;
	s.total[STATS_IN_DUMMY] = 1;
	out = render_json(&s, &info);
	for (i = 0; i < STATS_HOURS; i++) {
		line = json_bucket(out, "hours", i);
		ck_assert_msg(has(line, "in_dummy", i == 5 ? 33 : 0), "hour %zu: %s", i, line);
		free(line);
	}
	ck_assert_uint_eq(count(out, "\"in_dummy\": 0"), STATS_HOURS - 1 + STATS_DAYS);
	ck_assert(strstr(out, "\"totals\": {\"in_forward\": 0, \"in_deliver\": 0, "
	    "\"in_dummy\": 1,") != NULL);
	free(out);
}
END_TEST

/* A hostile name: every byte escaped or replaced, the JSON still valid */
START_TEST(test_escape)
{
	static const char name[] =
	    "a\"b\\c\n\r\t\b\f\x01\x1f\x7f/<\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"
	    "\xff\xc0\xaf\xed\xa0\x80" "z\xe2\x82";
	static const char json[] =
	    "\"node\": \"a\\\"b\\\\c\\n\\r\\t\\b\\f\\u0001\\u001f\\u007f/<\xc3\xa9\xe2\x82\xac"
	    "\xf0\x9f\x98\x80\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\\ufffdz\\ufffd\\ufffd\",\n";
	struct statsreport_info info = { .node = name, .now = T0, .mixing = "x\"\n", .exit = 0 };
	struct stats_snapshot s;
	char *out;

	memset(&s, 0, sizeof s);
	out = render_json(&s, &info);
	ck_assert_msg(strstr(out, json) != NULL, "%.200s", out);
	ck_assert(strstr(out, "\"mixing\": \"x\\\"\\n\",") != NULL);
	ck_assert(json_valid(out));
	free(out);
	out = render(STATSREPORT_TEXT, &s, &info, NULL);
	ck_assert(strstr(out, "\nnode:         a\"b\\c????????" "/<???????????????z??\n") != NULL);
	ck_assert(strstr(out, "\nmixing:       x\"?\n") != NULL);
	free(out);
}
END_TEST

/* A long name is cut at STATSREPORT_NODE_MAX bytes, never inside a character */
START_TEST(test_name_cut)
{
	struct statsreport_info info = { .now = T0, .mixing = NULL, .exit = 0 };
	struct stats_snapshot s;
	char name[200], want[200], *out;

	memset(&s, 0, sizeof s);
	memset(name, 'a', sizeof name - 1);
	name[sizeof name - 1] = '\0';
	info.node = name;
	out = render_json(&s, &info);
	snprintf(want, sizeof want, "\"node\": \"%.*s\",", STATSREPORT_NODE_MAX, name);
	ck_assert(strstr(out, want) != NULL);
	free(out);
	out = render(STATSREPORT_TEXT, &s, &info, NULL);
	snprintf(want, sizeof want, "node:         %.*s\n", STATSREPORT_NODE_MAX, name);
	ck_assert(strstr(out, want) != NULL);
	free(out);
	/* 63 bytes, then a two-byte character that would end at 65 */
	memcpy(name + STATSREPORT_NODE_MAX - 1, "\xc3\xa9", 3);
	out = render_json(&s, &info);
	snprintf(want, sizeof want, "\"node\": \"%.*s\",", STATSREPORT_NODE_MAX - 1, name);
	ck_assert(strstr(out, want) != NULL);
	ck_assert(json_valid(out));
	free(out);
}
END_TEST

/* Buffers too small: ERANGE, the length needed, a cut NUL-terminated report */
START_TEST(test_buffer)
{
	const struct golden *g = &goldens[_i];
	struct statsreport_info info;
	struct stats_snapshot s;
	size_t len, need = 1, sizes[4], k;
	char *full, *buf;

	g->make(&s, &info);
	full = render(g->form, &s, &info, &len);
	errno = 0;
	ck_assert_int_eq(statsreport_format(NULL, 0, &need, g->form, &s, &info), -1);
	ck_assert_int_eq(errno, ERANGE);
	ck_assert_uint_eq(need, len);
	sizes[0] = 1;
	sizes[1] = 100;
	sizes[2] = len;		/* one short: the NUL does not fit */
	sizes[3] = len + 1;
	buf = malloc(len + 2);
	ck_assert_ptr_nonnull(buf);
	for (k = 0; k < 4; k++) {
		memset(buf, 'X', len + 2);
		need = 0;
		errno = 0;
		ck_assert_int_eq(statsreport_format(buf, sizes[k], &need, g->form, &s, &info),
		    k == 3 ? 0 : -1);
		if (k < 3)
			ck_assert_int_eq(errno, ERANGE);
		ck_assert_uint_eq(need, len);
		ck_assert_uint_eq(strlen(buf), sizes[k] - 1);
		ck_assert(memcmp(buf, full, sizes[k] - 1) == 0);
		ck_assert_int_eq(buf[sizes[k]], 'X');		/* nothing past size */
	}
	free(buf);
	free(full);
}
END_TEST

START_TEST(test_args)
{
	struct statsreport_info info = { .node = "n", .now = T0, .mixing = NULL, .exit = 0 };
	struct stats_snapshot s;
	char buf[64];
	size_t need = 5;
	FILE *fp;

	memset(&s, 0, sizeof s);
	memset(buf, 'X', sizeof buf);
	errno = 0;
	ck_assert_int_eq(statsreport_format(buf, sizeof buf, &need, STATSREPORT_JSON, NULL, &info),
	    -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_uint_eq(need, 0);
	ck_assert_int_eq(buf[0], '\0');
	ck_assert_int_eq(statsreport_format(buf, sizeof buf, &need, STATSREPORT_JSON, &s, NULL), -1);
	ck_assert_int_eq(statsreport_format(buf, sizeof buf, NULL, STATSREPORT_JSON, &s, &info), -1);
	ck_assert_int_eq(statsreport_format(NULL, 10, &need, STATSREPORT_JSON, &s, &info), -1);
	ck_assert_int_eq(statsreport_format(buf, sizeof buf, &need, (enum statsreport_form)2, &s,
	    &info), -1);
	ck_assert_int_eq(errno, EINVAL);
	info.now = -1;
	ck_assert_int_eq(statsreport_format(buf, sizeof buf, &need, STATSREPORT_TEXT, &s, &info), -1);
	ck_assert_int_eq(errno, EINVAL);
	info.now = STATSREPORT_TIME_MAX + 1;
	ck_assert_int_eq(statsreport_format(buf, sizeof buf, &need, STATSREPORT_TEXT, &s, &info), -1);
	ck_assert_int_eq(errno, EINVAL);
	info.now = STATSREPORT_TIME_MAX;	/* the last second still renders */
	ck_assert_int_eq(statsreport_format(NULL, 0, &need, STATSREPORT_JSON, &s, &info), -1);
	ck_assert_int_eq(errno, ERANGE);
	info.now = 0;				/* so does the first (rows before it: 1969) */
	ck_assert_int_eq(statsreport_format(NULL, 0, &need, STATSREPORT_TEXT, &s, &info), -1);
	ck_assert_int_eq(errno, ERANGE);
	info.node = NULL;
	ck_assert_int_eq(statsreport_format(buf, sizeof buf, &need, STATSREPORT_TEXT, &s, &info), -1);
	ck_assert_int_eq(errno, EINVAL);
	info.node = "n";
	errno = 0;
	ck_assert_int_eq(statsreport_write(NULL, STATSREPORT_TEXT, &s, &info), -1);
	ck_assert_int_eq(errno, EINVAL);
	/* a failing write is reported with its errno */
	if ((fp = fopen("/dev/full", "w")) != NULL) {
		ck_assert_int_eq(setvbuf(fp, NULL, _IONBF, 0), 0);
		errno = 0;
		ck_assert_int_eq(statsreport_write(fp, STATSREPORT_JSON, &s, &info), -1);
		ck_assert_int_eq(errno, ENOSPC);
		fclose(fp);
	}
}
END_TEST

static Suite *
statsreport_suite(void)
{
	Suite *s = suite_create("statsreport");
	TCase *tc = tcase_create("core");

	tcase_add_unchecked_fixture(tc, make_root, remove_root);
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_validator);
	tcase_add_loop_test(tc, test_golden, 0, NGOLDEN);
	tcase_add_test(tc, test_full_text);
	tcase_add_test(tc, test_full_json);
	tcase_add_test(tc, test_empty);
	tcase_add_test(tc, test_order_from_file);
	tcase_add_test(tc, test_report_later);
	tcase_add_test(tc, test_bucket_by_start);
	tcase_add_test(tc, test_escape);
	tcase_add_test(tc, test_name_cut);
	tcase_add_loop_test(tc, test_buffer, 0, NGOLDEN);
	tcase_add_test(tc, test_args);
	suite_add_tcase(s, tc);
	return s;
}

/* write_golden - the golden files into dir (tests/stats of the source tree) */
static int
write_golden(const char *dir)
{
	struct statsreport_info info;
	struct stats_snapshot s;
	char path[PATH_MAX];
	FILE *fp;
	int i;

	for (i = 0; i < NGOLDEN; i++) {
		goldens[i].make(&s, &info);
		snprintf(path, sizeof path, "%s/%s", dir, goldens[i].file);
		if ((fp = fopen(path, "w")) == NULL ||
		    statsreport_write(fp, goldens[i].form, &s, &info) != 0 || fclose(fp) != 0) {
			fprintf(stderr, "check_statsreport: %s: %s\n", path, strerror(errno));
			return EXIT_FAILURE;
		}
		printf("wrote %s\n", path);
	}
	return EXIT_SUCCESS;
}

int
main(int argc, char **argv)
{
	SRunner *sr;
	int failed;

	if (argc == 3 && strcmp(argv[1], "--golden") == 0)
		return write_golden(argv[2]);
	sr = srunner_create(statsreport_suite());
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
