/*
 * nodepage.h - the node's public web page (mixnode publish --out DIR):
 * its name, address, keys with their fingerprints and windows, its
 * capabilities, and charts of its traffic, pool size and drops per hour
 * and per day.
 *
 * The page is rendered by pure functions from the node's descriptor, a
 * few of its settings, a statistics snapshot and a time: no file, no
 * clock, no environment, so the same input always gives the same bytes.
 * It is one self-contained HTML file: charts are inline SVG, there is no
 * script (a Content-Security-Policy forbids any) and no external resource,
 * and it stays readable on a 360-pixel-wide phone. doc/node-page.md
 * describes what it shows and what it deliberately does not.
 *
 * Every string from the inputs is escaped: the descriptor struct and the
 * settings are not trusted to hold what desc_parse would allow. Times are
 * UTC; statistics appear only per hour and per day, as in the snapshot.
 *
 * Functions: nodepage_write(), nodepage_format().
 */
#ifndef MIX_NODEPAGE_H
#define MIX_NODEPAGE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "descriptor.h"
#include "mcrypto.h"
#include "stats.h"

#define NODEPAGE_TIME_MAX	INT64_C(253402300799)	/* 9999-12-31 23:59:59 UTC */
#define NODEPAGE_SETTINGS_MAX	16	/* settings shown at most */
#define NODEPAGE_STRING_MAX	256	/* bytes of a setting's name or value shown */

/* One setting shown under the capabilities, e.g. { "mix_interval", "15m" } */
struct nodepage_setting {
	const char *name;
	const char *value;
};

/* What the page shows besides the statistics */
struct nodepage_info {
	const struct descriptor *desc;	/* name, address, identity, keys, capabilities */
	const struct nodepage_setting *settings;	/* the mixing parameters, limits */
	size_t nsettings;		/* 0..NODEPAGE_SETTINGS_MAX */
	int64_t now;			/* 0..NODEPAGE_TIME_MAX: the snapshot's time */
};

/*
 * nodepage_write - the page for info and s to fp. 0, or -1 (errno:
 * EINVAL for a bad argument, else that of the failed write). Does not
 * flush fp.
 */
int nodepage_write(FILE *fp, const struct nodepage_info *info,
    const struct stats_snapshot *s) MIX_WUR;

/*
 * nodepage_format - the same page into buf (size bytes, always
 * NUL-terminated when size > 0; buf may be NULL when size is 0). *need is
 * set to the page's length without the NUL. 0 if it fit, or -1 (errno:
 * ERANGE if size < *need + 1, buf then holding a cut page; EINVAL for a
 * bad argument, *need then 0).
 */
int nodepage_format(char *buf, size_t size, size_t *need, const struct nodepage_info *info,
    const struct stats_snapshot *s) MIX_WUR;

#endif
