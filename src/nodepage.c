/*
 * nodepage.c - the node's public web page: one HTML file with inline SVG
 * charts, no script, no external resource (nodepage.h; what it shows is
 * in doc/node-page.md).
 *
 * The statistics are laid out in rows exactly as the statistics report
 * does (doc/stats-format.md, section 2): 24 hour rows ending with the
 * page's hour, 80 day rows ending with its day, each taking the bucket
 * whose start is the row's start. Charts show them oldest on the left.
 *
 * Chart geometry is computed in integers, in tenths of a user unit of the
 * SVG's viewBox, so that every platform writes the same bytes. The output
 * is well-formed XML as well as HTML (every element closed, void elements
 * written as <x ... />), which the tests check.
 *
 * Output goes through a sink that writes to a FILE or into the caller's
 * buffer, so both entry points run the same code.
 *
 * Functions: nodepage_write(), nodepage_format().
 *
 * Diagnostics: msg_panic() if a formatted piece outgrows its buffer (a
 * bug); nothing else is logged.
 */
#include <config.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "descriptor.h"
#include "keys.h"
#include "log.h"
#include "nodepage.h"
#include "stats.h"
#include "textsink.h"

#define HOUR		INT64_C(3600)
#define TIME_BUF	32
#define NUM_BUF		32

/* Chart geometry, in user units of viewBox="0 0 VB_W VB_H" */
#define VB_W		400
#define VB_H		220
#define PLOT_X		52	/* left edge of the plot; y labels to its left */
#define PLOT_W		336	/* a multiple of 24 and of 80/10: slots are whole tenths */
#define PLOT_TOP	24
#define PLOT_H		160
#define PLOT_BASE	(PLOT_TOP + PLOT_H)
#define NTICKS		4	/* grid lines above the base line */

#define NDROPS		(STATS_DROP_REPLAY - STATS_DROP_NOPACKET + 1)

/*
 * esc - at most max bytes of s as HTML text or attribute value: & < > " '
 * as entities, every byte outside printable ASCII as '?'. Descriptor
 * fields are ASCII by their format, so nothing of a valid one is lost.
 */
static void
esc(struct textsink *k, const char *s, size_t max)
{
	size_t i, n = strnlen(s, max);
	char c;

	for (i = 0; i < n; i++) {
		switch (s[i]) {
		case '&':
			textsink_str(k, "&amp;");
			break;
		case '<':
			textsink_str(k, "&lt;");
			break;
		case '>':
			textsink_str(k, "&gt;");
			break;
		case '"':
			textsink_str(k, "&quot;");
			break;
		case '\'':
			textsink_str(k, "&#39;");
			break;
		default:
			c = s[i] >= 0x20 && s[i] <= 0x7e ? s[i] : '?';
			textsink_put(k, &c, 1);
		}
	}
}

/* ---- values ---------------------------------------------------------------------- */

static uint64_t
sat_add(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* pool_tenths - pool_size / rounds in tenths, rounded half up (as the report) */
static uint64_t
pool_tenths(const uint64_t *v)
{
	uint64_t pool = v[STATS_POOL_SIZE], rounds = v[STATS_ROUNDS], q, r, tenths;

	if (rounds == 0)
		return 0;
	q = pool / rounds;
	r = pool % rounds;
	if (rounds <= (UINT64_MAX - rounds) / 10)
		tenths = (r * 10 + rounds / 2) / rounds;
	else
		tenths = (r / (rounds / 20) + 1) / 2;
	if (q > (UINT64_MAX - tenths) / 10)
		return UINT64_MAX;
	return q * 10 + tenths;
}

/* muldiv - a * b / c rounded, for a <= c, 0 < c, b small: a length on the plot */
static uint64_t
muldiv(uint64_t a, uint64_t b, uint64_t c)
{
	uint64_t q, r;

	if (a > UINT64_MAX / b)		/* c > a is huge: c / b loses nothing visible */
		return a / (c / b);
	q = a * b / c;
	r = a * b % c;
	return r >= c - r ? q + 1 : q;
}

/* count - v as text: digits, or a round multiple of a thousand shortened */
static const char *
count(uint64_t v, char out[NUM_BUF])
{
	static const char units[] = "kMGTPE";
	uint64_t u = 1;
	int i, best = -1;

	for (i = 0; i < 6; i++) {
		u *= 1000;
		if (v >= 10000 && v % u == 0)
			best = i;
	}
	if (best < 0)
		(void)snprintf(out, NUM_BUF, "%llu", (unsigned long long)v);
	else {
		for (u = 1, i = 0; i <= best; i++)
			u *= 1000;
		(void)snprintf(out, NUM_BUF, "%llu%c", (unsigned long long)(v / u), units[best]);
	}
	return out;
}

/* tenths_text - v tenths as "12.5", or "12" when whole */
static const char *
tenths_text(uint64_t v, char out[NUM_BUF])
{
	char whole[NUM_BUF];

	if (v % 10 == 0)
		return count(v / 10, out);
	(void)snprintf(out, NUM_BUF, "%s.%llu", count(v / 10, whole), (unsigned long long)(v % 10));
	return out;
}

/* coord - a length in tenths as SVG text: "12.5" or "12" */
static const char *
coord(uint64_t t, char out[NUM_BUF])
{
	if (t % 10 == 0)
		(void)snprintf(out, NUM_BUF, "%llu", (unsigned long long)(t / 10));
	else
		(void)snprintf(out, NUM_BUF, "%llu.%llu", (unsigned long long)(t / 10),
		    (unsigned long long)(t % 10));
	return out;
}

/* ---- times ------------------------------------------------------------------------ */

enum when_form { WHEN_HOUR, WHEN_DAY, WHEN_ISO, WHEN_HH, WHEN_MONTH };

/* when - t as UTC text in the given form; "?" if it has none */
static const char *
when(int64_t t, enum when_form form, char out[TIME_BUF])
{
	time_t tt = (time_t)t;
	struct tm tm;
	size_t n = 0;

	if ((int64_t)tt == t && t >= 0 && t <= NODEPAGE_TIME_MAX && gmtime_r(&tt, &tm) != NULL) {
		/* literal formats, so that the compiler checks them */
		if (form == WHEN_HOUR)
			n = strftime(out, TIME_BUF, "%Y-%m-%d %H:%M", &tm);
		else if (form == WHEN_DAY)
			n = strftime(out, TIME_BUF, "%Y-%m-%d", &tm);
		else if (form == WHEN_ISO)
			n = strftime(out, TIME_BUF, "%Y-%m-%d %H:%M:%S", &tm);
		else if (form == WHEN_HH)
			n = strftime(out, TIME_BUF, "%H:00", &tm);
		else
			n = strftime(out, TIME_BUF, "%Y-%m", &tm);
	}
	if (n == 0)
		(void)snprintf(out, TIME_BUF, "?");
	return out;
}

/* month_start - whether the day starting at t is the first of a month */
static int
month_start(int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	return (int64_t)tt == t && gmtime_r(&tt, &tm) != NULL && tm.tm_mday == 1;
}

/* ---- charts ---------------------------------------------------------------------- */

/* A stacked layer of a chart */
struct layer {
	const char *cls;	/* CSS class giving its colour */
	const char *label;	/* legend and bar titles */
};

enum chart_kind { CHART_TRAFFIC, CHART_POOL, CHART_DROPS };

struct chart {
	const char *id;		/* prefix of the element ids */
	const char *title;
	const char *yname;	/* the y axis */
	enum chart_kind kind;
	int days;		/* 0: the hour rows, 1: the day rows */
};

static const struct layer traffic_layers[] = {
	{ "s-fwd", "intermediate" },
	{ "s-fin", "final" },
	{ "s-dum", "dummies" },
};

static const struct layer pool_layers[] = {
	{ "s-pool", "mean pool size" },
};

/* In counter order, drop_nopacket to drop_replay */
static const struct layer drop_layers[] = {
	{ "d0", "no packet" },
	{ "d1", "bad armor" },
	{ "d2", "not mail" },
	{ "d3", "too large" },
	{ "d4", "MIME limits" },
	{ "d5", "packet version" },
	{ "d6", "no live key" },
	{ "d7", "bad routing" },
	{ "d8", "unsupported" },
	{ "d9", "tampered" },
	{ "d10", "bad body" },
	{ "d11", "replay" },
};
_Static_assert(NDROPS == sizeof drop_layers / sizeof *drop_layers,
    "one layer per drop counter");

static const struct layer *
chart_layers(enum chart_kind kind, size_t *n)
{
	if (kind == CHART_TRAFFIC) {
		*n = sizeof traffic_layers / sizeof *traffic_layers;
		return traffic_layers;
	}
	if (kind == CHART_POOL) {
		*n = 1;
		return pool_layers;
	}
	*n = NDROPS;
	return drop_layers;
}

/* layer_value - the value of layer j in bucket v (pool: tenths) */
static uint64_t
layer_value(enum chart_kind kind, const uint64_t *v, size_t j)
{
	static const enum stats_counter traffic[] = { STATS_IN_FORWARD, STATS_IN_DELIVER,
	    STATS_IN_DUMMY };

	if (kind == CHART_TRAFFIC)
		return v[traffic[j]];
	if (kind == CHART_POOL)
		return pool_tenths(v);
	return v[STATS_DROP_NOPACKET + (int)j];
}

/* has_data - whether bucket v has anything to show */
static int
has_data(enum chart_kind kind, const uint64_t *v)
{
	size_t j, n;

	if (kind == CHART_POOL)
		return v[STATS_ROUNDS] > 0;
	(void)chart_layers(kind, &n);
	for (j = 0; j < n; j++)
		if (layer_value(kind, v, j) > 0)
			return 1;
	return 0;
}

static uint64_t
stacked(enum chart_kind kind, const uint64_t *v)
{
	size_t j, n;
	uint64_t t = 0;

	(void)chart_layers(kind, &n);
	for (j = 0; j < n; j++)
		t = sat_add(t, layer_value(kind, v, j));
	return t;
}

/*
 * nice_step - the grid step: the least of 1, 2, 5 times a power of ten
 * (at least min) with NTICKS steps reaching max; 0 if that would overflow
 */
static uint64_t
nice_step(uint64_t max, uint64_t min)
{
	static const uint64_t mult[] = { 1, 2, 5 };
	uint64_t need = max / NTICKS + (max % NTICKS != 0), p = 1;
	size_t i;

	if (need < min)
		need = min;
	for (;;) {
		for (i = 0; i < 3; i++)
			if (p * mult[i] >= need)
				return p * mult[i] > UINT64_MAX / NTICKS ? 0 : p * mult[i];
		if (p > UINT64_MAX / 10 / 5)
			return 0;
		p *= 10;
	}
}

/* value_text - a chart value as text: a count or a tenths value */
static const char *
value_text(enum chart_kind kind, uint64_t v, char out[NUM_BUF])
{
	return kind == CHART_POOL ? tenths_text(v, out) : count(v, out);
}

/* bar_title - what one bar says when pointed at (the bucket, never less) */
static void
bar_title(struct textsink *k, const struct chart *c, int64_t start, const uint64_t *v)
{
	const struct layer *ly;
	char tb[TIME_BUF], nb[NUM_BUF];
	size_t j, n;
	int first = 1;

	ly = chart_layers(c->kind, &n);
	textsink_printf(k, "<title>%s UTC: ", when(start, c->days ? WHEN_DAY : WHEN_HOUR, tb));
	if (c->kind == CHART_POOL)
		textsink_printf(k, "mean %s entries over %llu round%s", tenths_text(pool_tenths(v), nb),
		    (unsigned long long)v[STATS_ROUNDS], v[STATS_ROUNDS] == 1 ? "" : "s");
	else
		for (j = 0; j < n; j++) {
			uint64_t x = layer_value(c->kind, v, j);

			if (x == 0)
				continue;
			textsink_printf(k, "%s%llu %s", first ? "" : ", ", (unsigned long long)x,
			    ly[j].label);
			first = 0;
		}
	textsink_str(k, "</title>");
}

/* chart_desc - the chart in words, for those who do not see it */
static void
chart_desc(struct textsink *k, const struct chart *c, const struct stats_rows *r, uint64_t max,
    int any)
{
	const struct layer *ly;
	const uint64_t *const *rows = c->days ? r->day : r->hour;
	const int64_t *starts = c->days ? r->day_start : r->hour_start;
	size_t i, j, n, nrows = c->days ? STATS_DAYS : STATS_HOURS;
	enum when_form form = c->days ? WHEN_DAY : WHEN_HOUR;
	char a[TIME_BUF], b[TIME_BUF], nb[NUM_BUF];
	uint64_t sum;
	int first = 1;

	ly = chart_layers(c->kind, &n);
	textsink_printf(k, "<desc id=\"%s-d\">One bar per %s from %s to %s UTC, oldest on the left. ",
	    c->id, c->days ? "day" : "hour", when(starts[nrows - 1], form, a),
	    when(starts[0], form, b));
	if (!any) {
		textsink_str(k, "No data yet.</desc>\n");
		return;
	}
	if (c->kind == CHART_POOL) {
		textsink_printf(k, "Highest mean: %s entries.</desc>\n", tenths_text(max, nb));
		return;
	}
	textsink_str(k, "In all:");
	for (j = 0; j < n; j++) {
		for (sum = 0, i = 0; i < nrows; i++)
			sum = sat_add(sum, layer_value(c->kind, rows[i], j));
		if (sum == 0 && c->kind == CHART_DROPS)
			continue;
		textsink_printf(k, "%s %llu %s", first ? "" : ",", (unsigned long long)sum, ly[j].label);
		first = 0;
	}
	textsink_printf(k, ". Highest %s: %llu.</desc>\n", c->days ? "day" : "hour",
	    (unsigned long long)max);
}

/* chart_axes - grid lines with their values, the base line, the axis titles */
static void
chart_axes(struct textsink *k, const struct chart *c, uint64_t step, uint64_t top)
{
	char nb[NUM_BUF], yb[NUM_BUF];
	uint64_t v;
	int i;

	textsink_printf(k, "<text class=\"at\" x=\"4\" y=\"14\">%s</text>\n", c->yname);
	for (i = 0; i <= NTICKS; i++) {
		uint64_t y = (uint64_t)PLOT_BASE * 10 - (uint64_t)PLOT_H * 10 * (uint64_t)i / NTICKS;

		v = i == NTICKS ? top : step * (uint64_t)i;
		textsink_printf(k, "<line class=\"%s\" x1=\"%d\" y1=\"%s\" x2=\"%d\" y2=\"%s\" />"
		    "<text class=\"yl\" x=\"%d\" y=\"%s\" text-anchor=\"end\">%s</text>\n",
		    i == 0 ? "axis" : "grid", PLOT_X, coord(y, yb), PLOT_X + PLOT_W, yb,
		    PLOT_X - 6, coord(y + 45, yb), value_text(c->kind, v, nb));
	}
	textsink_printf(k, "<text class=\"at\" x=\"%d\" y=\"%d\" text-anchor=\"middle\">%s</text>\n",
	    PLOT_X + PLOT_W / 2, VB_H - 4, c->days ? "day (UTC)" : "hour starting (UTC)");
}

/* chart_xlabels - hours 00, 06, 12, 18; days: the first of each month */
static void
chart_xlabels(struct textsink *k, const struct chart *c, const int64_t *starts, size_t nrows)
{
	uint64_t slot = (uint64_t)PLOT_W * 10 / nrows, x;
	char tb[TIME_BUF], xb[NUM_BUF];
	const char *anchor;
	size_t j;
	int64_t t;

	for (j = 0; j < nrows; j++) {
		t = starts[nrows - 1 - j];
		if (c->days ? !month_start(t) : t % (6 * HOUR) != 0)
			continue;
		x = (uint64_t)PLOT_X * 10 + j * slot + slot / 2;
		anchor = x < (uint64_t)(PLOT_X + 24) * 10 ? "start" :
		    x > (uint64_t)(PLOT_X + PLOT_W - 24) * 10 ? "end" : "middle";
		textsink_printf(k, "<line class=\"axis\" x1=\"%s\" y1=\"%d\" x2=\"%s\" y2=\"%d\" />"
		    "<text class=\"xl\" x=\"%s\" y=\"%d\" text-anchor=\"%s\">%s</text>\n",
		    coord(x, xb), PLOT_BASE, xb, PLOT_BASE + 4, xb, PLOT_BASE + 17, anchor,
		    when(t, c->days ? WHEN_MONTH : WHEN_HH, tb));
	}
}

/* chart_bars - one group of stacked rects per row with data, oldest left */
static void
chart_bars(struct textsink *k, const struct chart *c, const uint64_t *const *rows,
    const int64_t *starts, size_t nrows, uint64_t top)
{
	const struct layer *ly;
	uint64_t slot = (uint64_t)PLOT_W * 10 / nrows, bar = slot * 3 / 4, x, cum, lo, hi, add;
	char xb[NUM_BUF], yb[NUM_BUF], wb[NUM_BUF], hb[NUM_BUF];
	size_t i, j, l, n;

	ly = chart_layers(c->kind, &n);
	textsink_str(k, "<g class=\"bars\">\n");
	for (j = 0; j < nrows; j++) {
		i = nrows - 1 - j;
		if (!has_data(c->kind, rows[i]))
			continue;
		x = (uint64_t)PLOT_X * 10 + j * slot + (slot - bar) / 2;
		textsink_str(k, "<g>");
		bar_title(k, c, starts[i], rows[i]);
		/* each layer from the running sum, so that rounding never accumulates */
		for (cum = 0, lo = 0, l = 0; l < n; l++) {
			if ((add = layer_value(c->kind, rows[i], l)) == 0)
				continue;
			cum = sat_add(cum, add);
			hi = muldiv(cum, (uint64_t)PLOT_H * 10, top);
			if (hi > lo)
				textsink_printf(k, "<rect class=\"%s\" x=\"%s\" y=\"%s\" width=\"%s\" "
				    "height=\"%s\" />", ly[l].cls, coord(x, xb),
				    coord((uint64_t)PLOT_BASE * 10 - hi, yb), coord(bar, wb),
				    coord(hi - lo, hb));
			lo = hi;
		}
		textsink_str(k, "</g>\n");
	}
	textsink_str(k, "</g>\n");
}

/* chart - one figure: the SVG and its legend */
static void
chart(struct textsink *k, const struct chart *c, const struct stats_rows *r)
{
	const uint64_t *const *rows = c->days ? r->day : r->hour;
	const int64_t *starts = c->days ? r->day_start : r->hour_start;
	size_t i, n, nrows = c->days ? STATS_DAYS : STATS_HOURS;
	const struct layer *ly = chart_layers(c->kind, &n);
	uint64_t max = 0, step, top;
	int any = 0;

	for (i = 0; i < nrows; i++) {
		if (has_data(c->kind, rows[i]))
			any = 1;
		if (stacked(c->kind, rows[i]) > max)
			max = stacked(c->kind, rows[i]);
	}
	step = max == 0 ? (c->kind == CHART_POOL ? 10 : 1) : nice_step(max, 1);
	if (step == 0) {	/* beyond round numbers: the grid at quarters of the maximum */
		top = max;
		step = top / NTICKS;
	} else
		top = step * NTICKS;

	textsink_printf(k, "<figure id=\"%s\">\n<svg class=\"chart\" viewBox=\"0 0 %d %d\" "
	    "role=\"img\" aria-labelledby=\"%s-t %s-d\">\n<title id=\"%s-t\">%s</title>\n",
	    c->id, VB_W, VB_H, c->id, c->id, c->id, c->title);
	chart_desc(k, c, r, max, any);
	chart_axes(k, c, step, top);
	chart_xlabels(k, c, starts, nrows);
	if (any)
		chart_bars(k, c, rows, starts, nrows, top);
	else
		textsink_printf(k, "<text class=\"empty\" x=\"%d\" y=\"%d\" text-anchor=\"middle\">"
		    "no data yet</text>\n", PLOT_X + PLOT_W / 2, PLOT_TOP + PLOT_H / 2);
	textsink_printf(k, "</svg>\n<figcaption><strong>%s</strong>\n<ul class=\"legend\">", c->title);
	for (i = 0; i < n; i++)
		textsink_printf(k, "<li><span class=\"sw %s\"></span>%s</li>", ly[i].cls, ly[i].label);
	textsink_str(k, "</ul></figcaption>\n</figure>\n");
}

/* ---- the page ---------------------------------------------------------------------- */

static const char page_style[] =
    ":root{color-scheme:light}\n"
    "body{margin:0 auto;max-width:46rem;padding:0 1rem 2rem;font:16px/1.5 system-ui,sans-serif;"
    "color:#1b1b1b;background:#fff;overflow-wrap:break-word}\n"
    "h1{font-size:1.5rem;margin:1rem 0 .25rem}\n"
    "h2{font-size:1.25rem;margin:1.75rem 0 .5rem;border-bottom:1px solid #ccc}\n"
    "h3{font-size:1rem;margin:1rem 0 .25rem}\n"
    "p{margin:.25rem 0}\n"
    "code{font-family:ui-monospace,monospace;font-size:.9em}\n"
    ".fp{overflow-wrap:anywhere;word-break:break-all}\n"
    "dl{display:grid;grid-template-columns:minmax(0,1fr) minmax(0,1fr);gap:.25rem 1rem;margin:0}\n"
    "dt{font-weight:600}\n"
    "dd{margin:0;min-width:0}\n"
    ".keys{list-style:none;padding:0;margin:0}\n"
    ".keys li{margin:.5rem 0;padding:.5rem;border:1px solid #ddd;border-radius:4px}\n"
    "figure{margin:1.25rem 0}\n"
    "svg.chart{display:block;width:100%;height:auto;max-width:40rem}\n"
    "svg.chart text{font-size:13px;fill:#333}\n"
    "svg.chart .at{font-size:12px;fill:#555}\n"
    "svg.chart .empty{font-size:16px;fill:#777}\n"
    ".grid{stroke:#ddd;stroke-width:1}\n"
    ".axis{stroke:#666;stroke-width:1}\n"
    "figcaption{font-size:.875rem}\n"
    ".legend{list-style:none;margin:.25rem 0 0;padding:0;display:flex;flex-wrap:wrap;"
    "gap:.125rem 1rem}\n"
    ".sw{display:inline-block;width:.8em;height:.8em;margin-right:.3em;vertical-align:-.05em}\n"
    ".s-fwd{fill:#0072b2;background:#0072b2}.s-fin{fill:#e69f00;background:#e69f00}"
    ".s-dum{fill:#a0a0a0;background:#a0a0a0}.s-pool{fill:#009e73;background:#009e73}\n"
    ".d0{fill:#0072b2;background:#0072b2}.d1{fill:#e69f00;background:#e69f00}"
    ".d2{fill:#009e73;background:#009e73}.d3{fill:#cc79a7;background:#cc79a7}"
    ".d4{fill:#56b4e9;background:#56b4e9}.d5{fill:#d55e00;background:#d55e00}"
    ".d6{fill:#f0e442;background:#f0e442}.d7{fill:#1b1b1b;background:#1b1b1b}"
    ".d8{fill:#999;background:#999}.d9{fill:#882255;background:#882255}"
    ".d10{fill:#44aa99;background:#44aa99}.d11{fill:#117733;background:#117733}\n"
    "footer{margin-top:2rem;font-size:.875rem;color:#444}\n";

static const struct chart charts[] = {
	{ "traffic-hours", "Messages per hour, last 24 hours", "messages", CHART_TRAFFIC, 0 },
	{ "traffic-days", "Messages per day, last 80 days", "messages", CHART_TRAFFIC, 1 },
	{ "pool-hours", "Mean pool size per hour, last 24 hours", "entries", CHART_POOL, 0 },
	{ "pool-days", "Mean pool size per day, last 80 days", "entries", CHART_POOL, 1 },
	{ "drops-hours", "Drops per hour by reason, last 24 hours", "drops", CHART_DROPS, 0 },
	{ "drops-days", "Drops per day by reason, last 80 days", "drops", CHART_DROPS, 1 },
};

/* page_head - the document up to the body, then the header with the name */
static void
page_head(struct textsink *k, const struct descriptor *d, const struct stats_rows *r)
{
	char tb[TIME_BUF];

	textsink_str(k, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\" />\n"
	    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\" />\n"
	    "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
	    "style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'\" />\n"
	    "<meta name=\"referrer\" content=\"no-referrer\" />\n<title>mixmail node ");
	esc(k, d->name, sizeof d->name);
	textsink_str(k, "</title>\n<style>\n");
	textsink_str(k, page_style);
	textsink_str(k, "</style>\n</head>\n<body>\n<header>\n<h1>mixmail node <span id=\"node-name\">");
	esc(k, d->name, sizeof d->name);
	textsink_str(k, "</span></h1>\n<p>Address: <code id=\"node-address\">");
	esc(k, d->address, sizeof d->address);
	textsink_printf(k, "</code></p>\n<p>Statistics up to the hour starting %s UTC.</p>\n"
	    "</header>\n<main>\n", when(r->hour_start[0], WHEN_HOUR, tb));
}

/* key_state - where now stands in a key's window */
static const char *
key_state(const struct desc_mixkey *m, int64_t now)
{
	if (now < m->valid_from)
		return "next";
	if (now < m->valid_until)
		return "in use now";
	return "expired";
}

/* page_keys - the identity key and each mix key: fingerprint, id, window */
static void
page_keys(struct textsink *k, const struct descriptor *d, int64_t now)
{
	char hex[2 * 32 + 1], idhex[KEYS_ID_HEX], a[TIME_BUF], b[TIME_BUF];
	uint8_t h[MCRYPTO_HASH_BYTES];
	size_t i;

	mcrypto_hex(hex, d->identity, sizeof d->identity);
	textsink_printf(k, "<section id=\"keys\">\n<h2>Keys</h2>\n<h3>Identity key (Ed25519)</h3>\n"
	    "<p>It signs the descriptor. Fingerprint:</p>\n"
	    "<p><code class=\"fp\" id=\"identity\">%s</code></p>\n", hex);
	textsink_printf(k, "<h3>Mix keys (X25519)</h3>\n<p>Senders encrypt to the key whose window "
	    "holds the time of sending. Times are UTC.</p>\n<ul class=\"keys\">\n");
	for (i = 0; i < d->nkeys; i++) {
		const struct desc_mixkey *m = &d->keys[i];

		/* the id mixnode keys prints: BLAKE2b-256 of the key, first 8 bytes */
		mcrypto_hash(h, sizeof h, NULL, 0, m->pk, sizeof m->pk);
		keys_id_hex(idhex, h);
		mcrypto_hex(hex, m->pk, sizeof m->pk);
		textsink_printf(k, "<li><p><strong>Key <code>%s</code></strong>: %s</p>\n"
		    "<p>Valid from %s until %s</p>\n<p>Fingerprint: <code class=\"fp mixkey\">"
		    "%s</code></p></li>\n", idhex, key_state(m, now), when(m->valid_from, WHEN_ISO, a),
		    when(m->valid_until, WHEN_ISO, b), hex);
	}
	textsink_str(k, "</ul>\n</section>\n");
}

/* page_capabilities - what the node does, as its descriptor and settings say */
static void
page_capabilities(struct textsink *k, const struct nodepage_info *info)
{
	const struct descriptor *d = info->desc;
	char nb[NUM_BUF];
	const char *sep = "";
	size_t i;
	int v;

	textsink_printf(k, "<section id=\"capabilities\">\n<h2>Capabilities</h2>\n<dl>\n"
	    "<dt>Role</dt><dd>%s</dd>\n<dt>Exit policy</dt><dd>", d->exit ?
	    "exit: delivers final mail" : "middleman: forwards only");
	esc(k, d->exit_policy, sizeof d->exit_policy);
	textsink_printf(k, "</dd>\n<dt>Largest mail accepted</dt><dd>%llu bytes",
	    (unsigned long long)d->max_size);
	if (d->max_size >= 1024 && d->max_size % 1024 == 0)
		textsink_printf(k, " (%s KiB)", count(d->max_size / 1024, nb));
	textsink_str(k, "</dd>\n<dt>Packet versions</dt><dd>");
	for (v = 0; v < 32; v++)
		if (d->pkt_versions & (UINT32_C(1) << v)) {
			textsink_printf(k, "%s%d", sep, v);
			sep = ", ";
		}
	textsink_str(k, "</dd>\n<dt>Mixing strategy</dt><dd>");
	esc(k, d->mixing, sizeof d->mixing);
	textsink_str(k, "</dd>\n");
	for (i = 0; i < info->nsettings; i++) {
		textsink_str(k, "<dt><code>");
		esc(k, info->settings[i].name, NODEPAGE_STRING_MAX);
		textsink_str(k, "</code></dt><dd>");
		esc(k, info->settings[i].value, NODEPAGE_STRING_MAX);
		textsink_str(k, "</dd>\n");
	}
	textsink_str(k, "<dt>Software</dt><dd>");
	esc(k, d->software, sizeof d->software);
	textsink_str(k, "</dd>\n</dl>\n</section>\n");
}

/* page_totals - a few running totals */
static void
page_totals(struct textsink *k, const uint64_t *t)
{
	static const struct {
		const char *label;
		enum stats_counter first, last;
	} rows[] = {
		{ "Intermediate packets received", STATS_IN_FORWARD, STATS_IN_FORWARD },
		{ "Final messages received", STATS_IN_DELIVER, STATS_IN_DELIVER },
		{ "Dummies ended here", STATS_IN_DUMMY, STATS_IN_DUMMY },
		{ "Dropped", STATS_DROP_NOPACKET, STATS_DROP_REPLAY },
		{ "Forwarded", STATS_OUT_FORWARD, STATS_OUT_FORWARD },
		{ "Delivered", STATS_OUT_DELIVER, STATS_OUT_DELIVER },
		{ "Dummies sent", STATS_OUT_DUMMY, STATS_OUT_DUMMY },
		{ "Mixing rounds", STATS_ROUNDS, STATS_ROUNDS },
	};
	uint64_t v, all = 0;
	size_t i;
	int c;

	for (c = 0; c < STATS_NCOUNTERS; c++)
		all |= t[c];
	textsink_str(k, "<section id=\"totals\">\n<h2>Totals since counting began</h2>\n");
	if (all == 0)
		textsink_str(k, "<p>No data yet: nothing has been counted.</p>\n");
	textsink_str(k, "<dl>\n");
	for (i = 0; i < sizeof rows / sizeof *rows; i++) {
		for (v = 0, c = (int)rows[i].first; c <= (int)rows[i].last; c++)
			v = sat_add(v, t[c]);
		textsink_printf(k, "<dt>%s</dt><dd>%llu</dd>\n", rows[i].label, (unsigned long long)v);
	}
	textsink_str(k, "</dl>\n</section>\n");
}

static void
page(struct textsink *k, const struct nodepage_info *info, const struct stats_snapshot *s,
    const struct stats_rows *r)
{
	static const struct {
		const char *id, *title, *text;
	} sections[] = {
		{ "traffic", "Traffic", "Packets and messages this node received and kept: "
		    "intermediate packets to forward, final messages, and dummies that "
		    "ended here." },
		{ "pool", "Pool size", "The mean number of messages waiting in the pool at "
		    "the mixing rounds of each hour or day." },
		{ "drops", "Drops", "Mail the node received and dropped, by reason." },
	};
	size_t i, j;

	page_head(k, info->desc, r);
	page_keys(k, info->desc, info->now);
	page_capabilities(k, info);
	page_totals(k, s->total);
	for (i = 0; i < sizeof sections / sizeof *sections; i++) {
		textsink_printf(k, "<section id=\"%s\">\n<h2>%s</h2>\n<p>%s</p>\n", sections[i].id,
		    sections[i].title, sections[i].text);
		for (j = 0; j < sizeof charts / sizeof *charts; j++)
			if (strncmp(charts[j].id, sections[i].id, strlen(sections[i].id)) == 0)
				chart(k, &charts[j], r);
		textsink_str(k, "</section>\n");
	}
	textsink_str(k, "</main>\n<footer>\n<p>Counts per UTC hour and day only: nothing about "
	    "any one message. The same figures: <a href=\"stats.txt\">stats.txt</a>, "
	    "<a href=\"stats.json\">stats.json</a>. The signed descriptor: "
	    "<a href=\"descriptor\">descriptor</a>.</p>\n</footer>\n</body>\n</html>\n");
}

/* ---- the interface ------------------------------------------------------------- */

static int
render(struct textsink *k, const struct nodepage_info *info, const struct stats_snapshot *s)
{
	struct stats_rows r;
	size_t i;

	if (s == NULL || info == NULL || info->desc == NULL || info->now < 0 ||
	    info->now > NODEPAGE_TIME_MAX || info->desc->nkeys > DESC_MAX_KEYS ||
	    info->nsettings > NODEPAGE_SETTINGS_MAX ||
	    (info->nsettings > 0 && info->settings == NULL)) {
		errno = EINVAL;
		return -1;
	}
	for (i = 0; i < info->nsettings; i++)
		if (info->settings[i].name == NULL || info->settings[i].value == NULL) {
			errno = EINVAL;
			return -1;
		}
	stats_rows_fill(&r, s, info->now);
	page(k, info, s, &r);
	if (k->err != 0) {
		errno = k->err;
		return -1;
	}
	return 0;
}

int
nodepage_write(FILE *fp, const struct nodepage_info *info, const struct stats_snapshot *s)
{
	struct textsink k = { .fp = fp };

	if (fp == NULL) {
		errno = EINVAL;
		return -1;
	}
	return render(&k, info, s);
}

int
nodepage_format(char *buf, size_t size, size_t *need, const struct nodepage_info *info,
    const struct stats_snapshot *s)
{
	struct textsink k;

	if (textsink_buffer(&k, buf, size, need) != 0)
		return -1;
	return textsink_buffer_end(&k, render(&k, info, s), need);
}
