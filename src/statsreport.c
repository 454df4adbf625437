/*
 * statsreport.c - the statistics snapshot as a text report or as JSON
 * (statsreport.h; the layouts are in doc/stats-format.md).
 *
 * Both forms show the same rows: the 24 hours that end with the report's
 * hour and the 80 days that end with its day, newest first. A row takes
 * the snapshot's bucket whose start is the row's start (the bucket of the
 * same index first, then any other); a row without one shows zeros, and a
 * bucket that belongs to no row (another period, a damaged start) is not
 * shown. With a snapshot read at the report's time, row i is bucket i.
 *
 * Output goes through a sink, which writes either to a FILE or into the
 * caller's buffer (counting what did not fit), so both entry points run
 * the same code.
 *
 * Functions: statsreport_write(), statsreport_format().
 *
 * Diagnostics: msg_panic() if a line outgrows its fixed buffer (a bug);
 * nothing else is logged.
 */
#include <config.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "stats.h"
#include "textsink.h"
#include "statsreport.h"

#define TIME_BUF	32

/* Text columns (doc/stats-format.md, section 3) */
#define T_LABEL		36	/* totals: label */
#define T_VALUE		20	/* totals: value (UINT64_MAX has 20 digits) */
#define R_WHEN		16	/* rows: "YYYY-MM-DD HH:MM" */
#define R_COUNT		8	/* rows: each count */
#define R_MEAN		10	/* rows: the pool's mean size */
#define D_REASON	18	/* drops: counter name */
#define D_WINDOW	12	/* drops: 24-hour and 80-day sums */

/* ---- values ---------------------------------------------------------------------- */

static uint64_t
sat_add(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* sum - counters first..last (inclusive) of one bucket, saturating */
static uint64_t
sum(const uint64_t *v, enum stats_counter first, enum stats_counter last)
{
	uint64_t t = 0;
	int c;

	for (c = (int)first; c <= (int)last; c++)
		t = sat_add(t, v[c]);
	return t;
}

static uint64_t
dropped(const uint64_t *v)
{
	return sum(v, STATS_DROP_NOPACKET, STATS_DROP_REPLAY);
}

static uint64_t
refused(const uint64_t *v)
{
	return sum(v, STATS_REFUSE_SIZE, STATS_REFUSE_HEADER);
}

/*
 * pool_mean - pool_size / rounds to one decimal, rounded half up, in
 * integers only (the same digits on every platform); "-" without rounds.
 */
static const char *
pool_mean(const uint64_t *v, char out[32])
{
	uint64_t pool = v[STATS_POOL_SIZE], rounds = v[STATS_ROUNDS], q, r, tenths;

	if (rounds == 0)
		return "-";
	q = pool / rounds;
	r = pool % rounds;		/* r < rounds */
	if (rounds <= (UINT64_MAX - rounds) / 10)
		tenths = (r * 10 + rounds / 2) / rounds;
	else
		tenths = (r / (rounds / 20) + 1) / 2;	/* huge rounds: off by a tenth at most */
	if (tenths >= 10) {
		q++;
		tenths = 0;
	}
	(void)snprintf(out, 32, "%llu.%llu", (unsigned long long)q, (unsigned long long)tenths);
	return out;
}

/* when - t as UTC text: "YYYY-MM-DD HH:MM", "YYYY-MM-DD" or ISO 8601 "...Z" */
enum when_form { WHEN_HOUR, WHEN_DAY, WHEN_ISO };

static const char *
when(struct textsink *k, int64_t t, enum when_form form, char out[TIME_BUF])
{
	time_t tt = (time_t)t;
	struct tm tm;
	size_t n = 0;

	if ((int64_t)tt == t && gmtime_r(&tt, &tm) != NULL) {
		/* literal formats, so that the compiler checks them */
		if (form == WHEN_HOUR)
			n = strftime(out, TIME_BUF, "%Y-%m-%d %H:%M", &tm);
		else if (form == WHEN_DAY)
			n = strftime(out, TIME_BUF, "%Y-%m-%d", &tm);
		else
			n = strftime(out, TIME_BUF, "%Y-%m-%dT%H:%M:%SZ", &tm);
	}
	if (n == 0) {
		if (k->err == 0)
			k->err = EINVAL;
		return "?";
	}
	return out;
}

/* ---- the node's name ------------------------------------------------------------- */

/* utf8_len - length of the well-formed UTF-8 sequence at p (RFC 3629), or 0 */
static size_t
utf8_len(const unsigned char *p, size_t n)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t len, i;

	if (n == 0)
		return 0;
	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		len = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		len = 3;
		if (p[0] == 0xe0)
			lo = 0xa0;	/* no overlong forms */
		else if (p[0] == 0xed)
			hi = 0x9f;	/* no surrogates */
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		len = 4;
		if (p[0] == 0xf0)
			lo = 0x90;
		else if (p[0] == 0xf4)
			hi = 0x8f;	/* nothing above U+10FFFF */
	} else
		return 0;
	if (n < len || p[1] < lo || p[1] > hi)
		return 0;
	for (i = 2; i < len; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return len;
}

/* node_text - the name with anything but printable ASCII as '?' */
static void
node_text(struct textsink *k, const char *name)
{
	size_t i, n = strnlen(name, STATSREPORT_NODE_MAX);
	char c;

	for (i = 0; i < n; i++) {
		c = name[i] >= 0x20 && name[i] <= 0x7e ? name[i] : '?';
		textsink_put(k, &c, 1);
	}
}

/*
 * json_string - s as a JSON string (RFC 8259): quote and backslash
 * escaped, control characters and DEL as \uXXXX (or their short forms),
 * well-formed UTF-8 kept, any other byte replaced by U+FFFD. At most
 * max bytes of s are used, never half a character.
 */
static void
json_string(struct textsink *k, const char *s, size_t max)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strnlen(s, max + 4), i = 0, len;	/* + 4: see a cut character whole */

	textsink_put(k, "\"", 1);
	while (i < n && i < max) {
		switch (p[i]) {
		case '"':
			textsink_str(k, "\\\"");
			break;
		case '\\':
			textsink_str(k, "\\\\");
			break;
		case '\b':
			textsink_str(k, "\\b");
			break;
		case '\f':
			textsink_str(k, "\\f");
			break;
		case '\n':
			textsink_str(k, "\\n");
			break;
		case '\r':
			textsink_str(k, "\\r");
			break;
		case '\t':
			textsink_str(k, "\\t");
			break;
		default:
			if (p[i] < 0x20 || p[i] == 0x7f) {
				textsink_printf(k, "\\u%04x", (unsigned)p[i]);
				break;
			}
			if ((len = utf8_len(p + i, n - i)) == 0) {
				textsink_str(k, "\\ufffd");
				break;
			}
			if (i + len > max)
				goto out;	/* the character would end past max */
			textsink_put(k, s + i, len);
			i += len;
			continue;
		}
		i++;
	}
out:
	textsink_put(k, "\"", 1);
}

/* ---- the text report ------------------------------------------------------------ */

static void
text_total(struct textsink *k, const char *label, uint64_t v)
{
	textsink_printf(k, "  %-*s %*llu\n", T_LABEL, label, T_VALUE, (unsigned long long)v);
}

static void
text_totals(struct textsink *k, const uint64_t *t)
{
	char mean[32];

	textsink_str(k, "Totals since counting began\n");
	text_total(k, "intermediate (in_forward)", t[STATS_IN_FORWARD]);
	text_total(k, "final (in_deliver)", t[STATS_IN_DELIVER]);
	text_total(k, "dummies ending here (in_dummy)", t[STATS_IN_DUMMY]);
	text_total(k, "dropped (drop_*)", dropped(t));
	text_total(k, "temporary failures (tempfail)", t[STATS_TEMPFAIL]);
	text_total(k, "forwarded (out_forward)", t[STATS_OUT_FORWARD]);
	text_total(k, "delivered (out_deliver)", t[STATS_OUT_DELIVER]);
	text_total(k, "dummies sent (out_dummy)", t[STATS_OUT_DUMMY]);
	text_total(k, "deferred (out_temp)", t[STATS_OUT_TEMP]);
	text_total(k, "failed (out_failed)", t[STATS_OUT_FAILED]);
	text_total(k, "uncertain (out_uncertain)", t[STATS_OUT_UNCERTAIN]);
	text_total(k, "refused by exit policy (refuse_*)", refused(t));
	text_total(k, "fragments stored (frag_stored)", t[STATS_FRAG_STORED]);
	text_total(k, "fragments expired (frag_expired)", t[STATS_FRAG_EXPIRED]);
	text_total(k, "corrupt entries (corrupt)", t[STATS_CORRUPT]);
	text_total(k, "mixing rounds (rounds)", t[STATS_ROUNDS]);
	textsink_printf(k, "  %-*s %*s\n", T_LABEL, "mean pool size (pool_size/rounds)", T_VALUE,
	    pool_mean(t, mean));
}

static void
text_row_head(struct textsink *k, const char *title, const char *first)
{
	textsink_printf(k, "\n%s\n", title);
	textsink_printf(k, "  %-*s %*s %*s %*s %*s %*s\n", R_WHEN, first, R_COUNT, "interm.",
	    R_COUNT, "final", R_COUNT, "dummies", R_COUNT, "dropped", R_MEAN, "pool mean");
}

static void
text_row(struct textsink *k, const char *label, const uint64_t *v)
{
	char mean[32];

	textsink_printf(k, "  %-*s %*llu %*llu %*llu %*llu %*s\n", R_WHEN, label,
	    R_COUNT, (unsigned long long)v[STATS_IN_FORWARD],
	    R_COUNT, (unsigned long long)v[STATS_IN_DELIVER],
	    R_COUNT, (unsigned long long)v[STATS_IN_DUMMY],
	    R_COUNT, (unsigned long long)dropped(v),
	    R_MEAN, pool_mean(v, mean));
}

/* text_reasons - counters first..last: the 24 hours, the 80 days, in total */
static void
text_reasons(struct textsink *k, const char *title, const struct stats_rows *r, const uint64_t *t,
    enum stats_counter first, enum stats_counter last)
{
	uint64_t h, d;
	size_t i;
	int c;

	textsink_printf(k, "\n%s\n", title);
	textsink_printf(k, "  %-*s %*s %*s %*s\n", D_REASON, "reason", D_WINDOW, "24 hours",
	    D_WINDOW, "80 days", T_VALUE, "total");
	for (c = (int)first; c <= (int)last; c++) {
		h = d = 0;
		for (i = 0; i < STATS_HOURS; i++)
			h = sat_add(h, r->hour[i][c]);
		for (i = 0; i < STATS_DAYS; i++)
			d = sat_add(d, r->day[i][c]);
		textsink_printf(k, "  %-*s %*llu %*llu %*llu\n", D_REASON,
		    stats_name((enum stats_counter)c), D_WINDOW, (unsigned long long)h,
		    D_WINDOW, (unsigned long long)d, T_VALUE, (unsigned long long)t[c]);
	}
}

static void
text_report(struct textsink *k, const struct stats_snapshot *s, const struct statsreport_info *info,
    const struct stats_rows *r)
{
	char tb[TIME_BUF];
	size_t i;

	textsink_str(k, "mixmail node statistics\n");
	textsink_str(k, "node:         ");
	node_text(k, info->node);
	textsink_printf(k, "\nreport time:  %s UTC\n", when(k, r->hour_start[0], WHEN_HOUR, tb));
	textsink_str(k, "mixing:       ");
	if (info->mixing != NULL)
		node_text(k, info->mixing);
	else
		textsink_str(k, "-");
	textsink_printf(k, "\nrole:         %s\n\n", info->exit ? "exit" : "middleman");

	text_totals(k, s->total);

	text_row_head(k, "Messages per hour, last 24 hours, newest first (UTC)", "hour");
	for (i = 0; i < STATS_HOURS; i++)
		text_row(k, when(k, r->hour_start[i], WHEN_HOUR, tb), r->hour[i]);
	text_row_head(k, "Messages per day, last 80 days, newest first (UTC)", "day");
	for (i = 0; i < STATS_DAYS; i++)
		text_row(k, when(k, r->day_start[i], WHEN_DAY, tb), r->day[i]);

	text_reasons(k, "Drops by reason", r, s->total, STATS_DROP_NOPACKET, STATS_DROP_REPLAY);
	text_reasons(k, "Refusals by the exit policy", r, s->total, STATS_REFUSE_SIZE,
	    STATS_REFUSE_HEADER);
}

/* ---- JSON --------------------------------------------------------------------- */

/* json_counters - "name": value, ... for every counter, in enum order */
static void
json_counters(struct textsink *k, const uint64_t *v)
{
	int c;

	for (c = 0; c < STATS_NCOUNTERS; c++)
		textsink_printf(k, "%s\"%s\": %llu", c == 0 ? "" : ", ",
		    stats_name((enum stats_counter)c), (unsigned long long)v[c]);
}

static void
json_buckets(struct textsink *k, const char *key, const int64_t *start,
    const uint64_t *const *v, size_t n)
{
	char tb[TIME_BUF];
	size_t i;

	textsink_printf(k, "  \"%s\": [\n", key);
	for (i = 0; i < n; i++) {
		textsink_printf(k, "    {\"start\": \"%s\", ", when(k, start[i], WHEN_ISO, tb));
		json_counters(k, v[i]);
		textsink_str(k, i + 1 < n ? "},\n" : "}\n");
	}
	textsink_str(k, "  ]");
}

static void
json_report(struct textsink *k, const struct stats_snapshot *s, const struct statsreport_info *info,
    const struct stats_rows *r)
{
	char tb[TIME_BUF];

	textsink_printf(k, "{\n  \"version\": %d,\n  \"node\": ", STATSREPORT_JSON_VERSION);
	json_string(k, info->node, STATSREPORT_NODE_MAX);
	textsink_printf(k, ",\n  \"generated\": \"%s\",\n  \"mixing\": ",
	    when(k, r->hour_start[0], WHEN_ISO, tb));
	if (info->mixing != NULL)
		json_string(k, info->mixing, STATSREPORT_NODE_MAX);
	else
		textsink_str(k, "null");
	textsink_printf(k, ",\n  \"exit\": %s,\n  \"totals\": {", info->exit ? "true" : "false");
	json_counters(k, s->total);
	textsink_str(k, "},\n");
	json_buckets(k, "hours", r->hour_start, r->hour, STATS_HOURS);
	textsink_str(k, ",\n");
	json_buckets(k, "days", r->day_start, r->day, STATS_DAYS);
	textsink_str(k, "\n}\n");
}

/* ---- the interface ------------------------------------------------------------- */

static int
render(struct textsink *k, enum statsreport_form form, const struct stats_snapshot *s,
    const struct statsreport_info *info)
{
	struct stats_rows r;

	if (s == NULL || info == NULL || info->node == NULL || info->now < 0 ||
	    info->now > STATSREPORT_TIME_MAX ||
	    (form != STATSREPORT_TEXT && form != STATSREPORT_JSON)) {
		errno = EINVAL;
		return -1;
	}
	stats_rows_fill(&r, s, info->now);
	if (form == STATSREPORT_TEXT)
		text_report(k, s, info, &r);
	else
		json_report(k, s, info, &r);
	if (k->err != 0) {
		errno = k->err;
		return -1;
	}
	return 0;
}

int
statsreport_write(FILE *fp, enum statsreport_form form, const struct stats_snapshot *s,
    const struct statsreport_info *info)
{
	struct textsink k = { .fp = fp };

	if (fp == NULL) {
		errno = EINVAL;
		return -1;
	}
	return render(&k, form, s, info);
}

int
statsreport_format(char *buf, size_t size, size_t *need, enum statsreport_form form,
    const struct stats_snapshot *s, const struct statsreport_info *info)
{
	struct textsink k;

	if (textsink_buffer(&k, buf, size, need) != 0)
		return -1;
	return textsink_buffer_end(&k, render(&k, form, s, info), need);
}
