/*
 * testutil.h - helpers shared by the Check unit tests.
 */
#ifndef MIX_TESTUTIL_H
#define MIX_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

#include "pkt.h"

/* Path of a file under $top_srcdir/tests (static buffer) */
const char *tu_srcpath(const char *rel);
/* Read a whole file (NUL added after len); exits on failure. Free with free(). */
uint8_t *tu_read_file(const char *path, size_t *len);
/* Deterministic node keys: key i from a fixed seed */
void tu_node_key(struct pkt_key *k, unsigned i);
/* A path of n hops over keys 0..n-1, addresses node<i>@mix<i>.test */
void tu_path(struct pkt_hop *hops, struct pkt_key *keys, size_t n);
/*
 * A private directory "$TMPDIR/NAME.XXXXXX" (default /tmp) made in buf;
 * exits on failure. For unchecked fixtures, which run outside any test.
 */
void tu_make_tmpdir(char *buf, size_t size, const char *name);
/* Remove path and everything below it, best effort */
void tu_rm_tree(const char *path);
/* Initialise libraries; call from every test's setup */
void tu_init(void);

#endif
