/*
 * flush.h - one run of the flusher (mixnode flush; src/mixnode-flush.c).
 *
 * doc/INTERNALS.md section 4 (states F1-F8) and section 8 (the flush) are
 * the contract. A run: take flush.lock; recover what a crashed run left;
 * move entries whose retry time has come back into the batch; if this run
 * is a mixing round (doc/mixing.md), make dummies, put some in the pool,
 * select, record the picked entries' tags and move them to out/; build
 * each mail (a packet for the next hop, a final-hop mail under the exit
 * policy, a middleman's re-wrap for an exit); hand them to the relay in
 * batches; delete, defer or fail each by the relay's answer; deliver the
 * long messages whose parts are complete; count.
 *
 * Functions: flush_run().
 */
#ifndef MIX_FLUSH_H
#define MIX_FLUSH_H

#include "mixnode.h"

/*
 * flush_run - one run for the node n (settings loaded). The exit status:
 * 0, or 75 for a transient failure (the next run finishes the work), 78
 * for a configuration problem found only now (a policy file). Messages go
 * to the log (msg_info, msg_warn): counts and reasons only.
 */
int flush_run(struct node *n);

#endif
