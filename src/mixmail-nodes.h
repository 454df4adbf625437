/*
 * mixmail-nodes.h - the sender's directory of nodes: `mixmail import`,
 * `mixmail nodes`, `mixmail forget` (over src/nodedb.h, in
 * $MIXMAIL_HOME/nodes).
 *
 * Functions: mmnodes_import(), mmnodes_list(), mmnodes_forget(),
 * mmnodes_load().
 */
#ifndef MIX_MIXMAIL_NODES_H
#define MIX_MIXMAIL_NODES_H

#include <stddef.h>

#include "descriptor.h"
#include "mixmail-home.h"

/* mmnodes_import - import each file ("-": stdin); an exit code */
int mmnodes_import(const struct mm_home *h, int argc, char **argv);

/* mmnodes_list - print the known nodes; an exit code */
int mmnodes_list(const struct mm_home *h);

/* mmnodes_forget - remove each named node; an exit code */
int mmnodes_forget(const struct mm_home *h, int argc, char **argv);

/*
 * mmnodes_load - every stored node (nodedb_load; skipped files are named
 * on stderr). MM_EX_OK with *nodes (nodedb_free) and *count, or an exit
 * code after saying why.
 */
int mmnodes_load(const struct mm_home *h, struct descriptor **nodes, size_t *count);

#endif
