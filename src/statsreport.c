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
#include "statsreport.h"

#define HOUR		INT64_C(3600)
#define DAY		INT64_C(86400)
#define LINE_MAX_	256	/* longest formatted piece; rows are far shorter */
#define TIME_BUF	32

/* Text columns (doc/stats-format.md, section 3) */
#define T_LABEL		36	/* totals: label */
#define T_VALUE		20	/* totals: value (UINT64_MAX has 20 digits) */
#define R_WHEN		16	/* rows: "YYYY-MM-DD HH:MM" */
#define R_COUNT		8	/* rows: each count */
#define R_MEAN		10	/* rows: the pool's mean size */
#define D_REASON	18	/* drops: counter name */
#define D_WINDOW	12	/* drops: 24-hour and 80-day sums */

struct sink {
	FILE *fp;		/* the output, or NULL for buf */
	char *buf;
	size_t size;
	size_t len;		/* bytes produced, whether or not they fit buf */
	int err;		/* errno of the first failure; 0 */
};

/* The rows: each bucket already matched to its row (section comment) */
struct rows {
	int64_t hour_start[STATS_HOURS];
	const uint64_t *hour[STATS_HOURS];
	int64_t day_start[STATS_DAYS];
	const uint64_t *day[STATS_DAYS];
};

static const uint64_t zero_bucket[STATS_NCOUNTERS];

/* ---- the sink ---------------------------------------------------------------- */

static void
sink_put(struct sink *k, const char *p, size_t n)
{
	size_t room;

	if (k->err != 0 || n == 0)
		return;
	if (k->fp != NULL) {
		errno = 0;
		if (fwrite(p, 1, n, k->fp) != n) {
			k->err = errno != 0 ? errno : EIO;
			return;
		}
	} else if (k->size > 0 && k->len < k->size - 1) {
		room = k->size - 1 - k->len;
		memcpy(k->buf + k->len, p, n < room ? n : room);
	}
	k->len += n;
}

static void
sink_str(struct sink *k, const char *s)
{
	sink_put(k, s, strlen(s));
}

static void MIX_PRINTF(2, 3)
sink_printf(struct sink *k, const char *fmt, ...)
{
	char line[LINE_MAX_];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof line)
		msg_panic("statsreport: a formatted piece outgrew %zu bytes", sizeof line);
	sink_put(k, line, (size_t)n);
}

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
when(struct sink *k, int64_t t, enum when_form form, char out[TIME_BUF])
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

/* ---- rows ---------------------------------------------------------------------- */

/* match - the counters of the bucket that starts at want: index i first */
static const uint64_t *
match(const int64_t *start, const uint64_t (*cnt)[STATS_NCOUNTERS], size_t n, size_t i,
    int64_t want)
{
	size_t j;

	if (start[i] == want)
		return cnt[i];
	for (j = 0; j < n; j++)
		if (start[j] == want)
			return cnt[j];
	return zero_bucket;
}

static void
rows_fill(struct rows *r, const struct stats_snapshot *s, int64_t now)
{
	int64_t hour0 = now / HOUR * HOUR, day0 = now / DAY * DAY;
	size_t i;

	for (i = 0; i < STATS_HOURS; i++) {
		r->hour_start[i] = hour0 - (int64_t)i * HOUR;
		r->hour[i] = match(s->hour_start, s->hour, STATS_HOURS, i, r->hour_start[i]);
	}
	for (i = 0; i < STATS_DAYS; i++) {
		r->day_start[i] = day0 - (int64_t)i * DAY;
		r->day[i] = match(s->day_start, s->day, STATS_DAYS, i, r->day_start[i]);
	}
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
node_text(struct sink *k, const char *name)
{
	size_t i, n = strnlen(name, STATSREPORT_NODE_MAX);
	char c;

	for (i = 0; i < n; i++) {
		c = name[i] >= 0x20 && name[i] <= 0x7e ? name[i] : '?';
		sink_put(k, &c, 1);
	}
}

/*
 * json_string - s as a JSON string (RFC 8259): quote and backslash
 * escaped, control characters and DEL as \uXXXX (or their short forms),
 * well-formed UTF-8 kept, any other byte replaced by U+FFFD. At most
 * max bytes of s are used, never half a character.
 */
static void
json_string(struct sink *k, const char *s, size_t max)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strnlen(s, max + 4), i = 0, len;	/* + 4: see a cut character whole */

	sink_put(k, "\"", 1);
	while (i < n && i < max) {
		switch (p[i]) {
		case '"':
			sink_str(k, "\\\"");
			break;
		case '\\':
			sink_str(k, "\\\\");
			break;
		case '\b':
			sink_str(k, "\\b");
			break;
		case '\f':
			sink_str(k, "\\f");
			break;
		case '\n':
			sink_str(k, "\\n");
			break;
		case '\r':
			sink_str(k, "\\r");
			break;
		case '\t':
			sink_str(k, "\\t");
			break;
		default:
			if (p[i] < 0x20 || p[i] == 0x7f) {
				sink_printf(k, "\\u%04x", (unsigned)p[i]);
				break;
			}
			if ((len = utf8_len(p + i, n - i)) == 0) {
				sink_str(k, "\\ufffd");
				break;
			}
			if (i + len > max)
				goto out;	/* the character would end past max */
			sink_put(k, s + i, len);
			i += len;
			continue;
		}
		i++;
	}
out:
	sink_put(k, "\"", 1);
}

/* ---- the text report ------------------------------------------------------------ */

static void
text_total(struct sink *k, const char *label, uint64_t v)
{
	sink_printf(k, "  %-*s %*llu\n", T_LABEL, label, T_VALUE, (unsigned long long)v);
}

static void
text_totals(struct sink *k, const uint64_t *t)
{
	char mean[32];

	sink_str(k, "Totals since counting began\n");
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
	sink_printf(k, "  %-*s %*s\n", T_LABEL, "mean pool size (pool_size/rounds)", T_VALUE,
	    pool_mean(t, mean));
}

static void
text_row_head(struct sink *k, const char *title, const char *first)
{
	sink_printf(k, "\n%s\n", title);
	sink_printf(k, "  %-*s %*s %*s %*s %*s %*s\n", R_WHEN, first, R_COUNT, "interm.",
	    R_COUNT, "final", R_COUNT, "dummies", R_COUNT, "dropped", R_MEAN, "pool mean");
}

static void
text_row(struct sink *k, const char *label, const uint64_t *v)
{
	char mean[32];

	sink_printf(k, "  %-*s %*llu %*llu %*llu %*llu %*s\n", R_WHEN, label,
	    R_COUNT, (unsigned long long)v[STATS_IN_FORWARD],
	    R_COUNT, (unsigned long long)v[STATS_IN_DELIVER],
	    R_COUNT, (unsigned long long)v[STATS_IN_DUMMY],
	    R_COUNT, (unsigned long long)dropped(v),
	    R_MEAN, pool_mean(v, mean));
}

/* text_reasons - counters first..last: the 24 hours, the 80 days, in total */
static void
text_reasons(struct sink *k, const char *title, const struct rows *r, const uint64_t *t,
    enum stats_counter first, enum stats_counter last)
{
	uint64_t h, d;
	size_t i;
	int c;

	sink_printf(k, "\n%s\n", title);
	sink_printf(k, "  %-*s %*s %*s %*s\n", D_REASON, "reason", D_WINDOW, "24 hours",
	    D_WINDOW, "80 days", T_VALUE, "total");
	for (c = (int)first; c <= (int)last; c++) {
		h = d = 0;
		for (i = 0; i < STATS_HOURS; i++)
			h = sat_add(h, r->hour[i][c]);
		for (i = 0; i < STATS_DAYS; i++)
			d = sat_add(d, r->day[i][c]);
		sink_printf(k, "  %-*s %*llu %*llu %*llu\n", D_REASON,
		    stats_name((enum stats_counter)c), D_WINDOW, (unsigned long long)h,
		    D_WINDOW, (unsigned long long)d, T_VALUE, (unsigned long long)t[c]);
	}
}

static void
text_report(struct sink *k, const struct stats_snapshot *s, const struct statsreport_info *info,
    const struct rows *r)
{
	char tb[TIME_BUF];
	size_t i;

	sink_str(k, "mixmail node statistics\n");
	sink_str(k, "node:         ");
	node_text(k, info->node);
	sink_printf(k, "\nreport time:  %s UTC\n", when(k, r->hour_start[0], WHEN_HOUR, tb));
	sink_str(k, "mixing:       ");
	if (info->mixing != NULL)
		node_text(k, info->mixing);
	else
		sink_str(k, "-");
	sink_printf(k, "\nrole:         %s\n\n", info->exit ? "exit" : "middleman");

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
json_counters(struct sink *k, const uint64_t *v)
{
	int c;

	for (c = 0; c < STATS_NCOUNTERS; c++)
		sink_printf(k, "%s\"%s\": %llu", c == 0 ? "" : ", ",
		    stats_name((enum stats_counter)c), (unsigned long long)v[c]);
}

static void
json_buckets(struct sink *k, const char *key, const int64_t *start,
    const uint64_t *const *v, size_t n)
{
	char tb[TIME_BUF];
	size_t i;

	sink_printf(k, "  \"%s\": [\n", key);
	for (i = 0; i < n; i++) {
		sink_printf(k, "    {\"start\": \"%s\", ", when(k, start[i], WHEN_ISO, tb));
		json_counters(k, v[i]);
		sink_str(k, i + 1 < n ? "},\n" : "}\n");
	}
	sink_str(k, "  ]");
}

static void
json_report(struct sink *k, const struct stats_snapshot *s, const struct statsreport_info *info,
    const struct rows *r)
{
	char tb[TIME_BUF];

	sink_printf(k, "{\n  \"version\": %d,\n  \"node\": ", STATSREPORT_JSON_VERSION);
	json_string(k, info->node, STATSREPORT_NODE_MAX);
	sink_printf(k, ",\n  \"generated\": \"%s\",\n  \"mixing\": ",
	    when(k, r->hour_start[0], WHEN_ISO, tb));
	if (info->mixing != NULL)
		json_string(k, info->mixing, STATSREPORT_NODE_MAX);
	else
		sink_str(k, "null");
	sink_printf(k, ",\n  \"exit\": %s,\n  \"totals\": {", info->exit ? "true" : "false");
	json_counters(k, s->total);
	sink_str(k, "},\n");
	json_buckets(k, "hours", r->hour_start, r->hour, STATS_HOURS);
	sink_str(k, ",\n");
	json_buckets(k, "days", r->day_start, r->day, STATS_DAYS);
	sink_str(k, "\n}\n");
}

/* ---- the interface ------------------------------------------------------------- */

static int
render(struct sink *k, enum statsreport_form form, const struct stats_snapshot *s,
    const struct statsreport_info *info)
{
	struct rows r;

	if (s == NULL || info == NULL || info->node == NULL || info->now < 0 ||
	    info->now > STATSREPORT_TIME_MAX ||
	    (form != STATSREPORT_TEXT && form != STATSREPORT_JSON)) {
		errno = EINVAL;
		return -1;
	}
	rows_fill(&r, s, info->now);
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
	struct sink k = { .fp = fp };

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
	struct sink k = { .buf = buf, .size = size };

	if (need != NULL)
		*need = 0;
	if (need == NULL || (buf == NULL && size > 0)) {
		errno = EINVAL;
		return -1;
	}
	if (size > 0)
		buf[0] = '\0';
	if (render(&k, form, s, info) != 0) {
		if (size > 0)
			buf[0] = '\0';
		return -1;
	}
	*need = k.len;
	if (k.len >= size) {
		if (size > 0)
			buf[size - 1] = '\0';
		errno = ERANGE;
		return -1;
	}
	buf[k.len] = '\0';
	return 0;
}
