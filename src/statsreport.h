/*
 * statsreport.h - the node's statistics as a report an operator reads, or
 * as JSON a program reads (mixnode stats --report, --json).
 *
 * Both are rendered from a struct stats_snapshot (stats.h) and a few facts
 * about the node, by pure functions: no file, no clock, no environment.
 * The same input always gives the same bytes. doc/stats-format.md
 * specifies both layouts field by field.
 *
 * A report holds only counts and the start times of hour and day buckets,
 * never anything about one message. Its own time is shown as the start of
 * its hour.
 *
 * Functions: statsreport_write(), statsreport_format().
 */
#ifndef MIX_STATSREPORT_H
#define MIX_STATSREPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "mcrypto.h"
#include "stats.h"

#define STATSREPORT_JSON_VERSION	1	/* "version" of the JSON schema */
#define STATSREPORT_NODE_MAX		64	/* bytes of the node's name shown */
#define STATSREPORT_TIME_MAX		INT64_C(253402300799)	/* 9999-12-31 23:59:59 UTC */

enum statsreport_form {
	STATSREPORT_TEXT = 0,	/* the readable report */
	STATSREPORT_JSON	/* JSON, schema version STATSREPORT_JSON_VERSION */
};

/* What the report says about the node besides its counters */
struct statsreport_info {
	const char *node;	/* its name (any bytes: escaped, cut at STATSREPORT_NODE_MAX) */
	int64_t now;		/* the report's time, 0..STATSREPORT_TIME_MAX; the snapshot's */
	const char *mixing;	/* the mixing strategy's name, or NULL if unknown */
	int exit;		/* 1: an exit node; 0: a middleman */
};

/*
 * statsreport_write - the report of s in the given form to fp. 0, or -1
 * (errno: EINVAL for a bad argument or time, else that of the failed
 * write). Does not flush fp.
 */
int statsreport_write(FILE *fp, enum statsreport_form form,
    const struct stats_snapshot *s, const struct statsreport_info *info) MIX_WUR;

/*
 * statsreport_format - the same report into buf (size bytes, always
 * NUL-terminated when size > 0; buf may be NULL when size is 0). *need is
 * set to the report's length without the NUL. 0 if it fit, or -1 (errno:
 * ERANGE if size < *need + 1, buf then holding a cut report; EINVAL for a
 * bad argument, *need then 0).
 */
int statsreport_format(char *buf, size_t size, size_t *need, enum statsreport_form form,
    const struct stats_snapshot *s, const struct statsreport_info *info) MIX_WUR;

#endif
