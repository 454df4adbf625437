/*
 * nodedb.h - the local directory of known nodes, shared by mixmail
 * (`mixmail import`, `mixmail nodes`) and mixnode (`mixnode nodes import`,
 * for the dummies it sends through other nodes).
 *
 * The directory is a plain directory of files, one per node:
 *
 *   NAME.desc    the node's descriptor (doc/descriptor-format.md), byte for
 *                byte as imported; NAME is the descriptor's name field,
 *                [a-z0-9-]{1,32}
 *   tmp-<16 hex> a descriptor being written; a leftover from a crash is
 *                removed by the next import
 *
 * Anything else is ignored. Files are mode 0600 in a directory of mode 0700
 * (made by the first import if missing; its parent must exist). A
 * directory that is not the caller's or that group or others may write is
 * refused (NODEDB_ERR_PERM): whoever can write it could replace a node's
 * descriptor and undo the identity pinning below. Files are opened with
 * O_NOFOLLOW: a symbolic link is never followed. A file is written to a
 * tmp name (O_CREAT|O_EXCL), synced, renamed over NAME.desc and the
 * directory synced; a reader therefore sees the old or the new descriptor,
 * never a mix. Imports and forgets hold an exclusive flock(2) of the
 * directory, loads a shared one, each waiting at most NODEDB_LOCK_MS.
 *
 * Rules of nodedb_import, in this order (each refusal names the node and
 * the reason in err):
 *   - the text must pass desc_parse: every field and the signature
 *     (NODEDB_ERR_INVALID);
 *   - published at most NODEDB_SKEW after now (NODEDB_ERR_FUTURE): a
 *     descriptor dated in the future would make every later, genuine one
 *     look older and be refused;
 *   - at least one mix key not yet expired, valid_until > now
 *     (NODEDB_ERR_EXPIRED);
 *   - a key usable now (desc_key_usable), or one that becomes valid within
 *     NODEDB_SKEW of now (NODEDB_ERR_NOTYET). A node publishes its current
 *     key with every descriptor; a descriptor whose keys all lie in the
 *     future is only plausible when the two clocks differ, and one day is
 *     the clock difference tolerated. Such a node is stored, and chains use
 *     it once a key is valid;
 *   - a node already stored under the same name must have the same
 *     identity key (NODEDB_ERR_IDENTITY: the first identity seen for a name
 *     is pinned; to accept a new one deliberately, nodedb_forget the name,
 *     then import);
 *   - the stored descriptor of that name must itself pass its checks, or
 *     the pin could not be checked (NODEDB_ERR_DAMAGED; forget, then import);
 *   - byte-identical to the stored one: nothing is written, NODEDB_UNCHANGED;
 *     otherwise published must be later than the stored one's
 *     (NODEDB_ERR_OLDER; the same time with other content is refused too);
 *   - a new name is refused when NODEDB_MAX_NODES nodes are stored
 *     (NODEDB_ERR_TOOMANY).
 *
 * nodedb_load never trusts the disk: every file is read again (at most
 * DESC_MAX_SIZE bytes, a regular file, not writable by group or others)
 * and verified with desc_parse; its name must match the file name and it
 * must not be published more than NODEDB_SKEW after now. A file that fails
 * is skipped and reported through the skip callback. Nodes whose keys have
 * all expired are still returned (to be listed); chains never use them
 * (chain.h). More than NODEDB_MAX_NODES NAME.desc files: the load is
 * refused.
 *
 * Functions: nodedb_import(), nodedb_load(), nodedb_forget(),
 * nodedb_name_valid(), nodedb_strerror(), nodedb_result_name().
 *
 * Diagnostics: nothing is logged; a result and a one-line reason in the
 * caller's err buffer (names of nodes and files only).
 */
#ifndef MIX_NODEDB_H
#define MIX_NODEDB_H

#include <stddef.h>
#include <stdint.h>

#include "descriptor.h"
#include "mcrypto.h"

#define NODEDB_MAX_NODES	1000		/* nodes a directory may hold */
#define NODEDB_SKEW		INT64_C(86400)	/* clock difference tolerated, seconds */
#define NODEDB_LOCK_MS		10000		/* longest wait for the directory lock */
#define NODEDB_SUFFIX		".desc"
#define NODEDB_ERR_MAX		512		/* enough for every message here */

enum nodedb_err {
	NODEDB_OK = 0,
	NODEDB_ERR_IO,		/* the directory or a file could not be read or written */
	NODEDB_ERR_PERM,	/* the directory is not ours or others may write it */
	NODEDB_ERR_INVALID,	/* the text is not a valid signed descriptor */
	NODEDB_ERR_FUTURE,	/* published more than NODEDB_SKEW after now */
	NODEDB_ERR_EXPIRED,	/* every mix key has expired */
	NODEDB_ERR_NOTYET,	/* no key valid now nor within NODEDB_SKEW */
	NODEDB_ERR_OLDER,	/* not newer than the stored descriptor of the node */
	NODEDB_ERR_IDENTITY,	/* the name is stored with another identity key */
	NODEDB_ERR_DAMAGED,	/* the stored file of the node fails its checks */
	NODEDB_ERR_TOOMANY,	/* NODEDB_MAX_NODES reached */
	NODEDB_ERR_NAME,	/* not a node name ([a-z0-9-]{1,32}) */
	NODEDB_ERR_UNKNOWN	/* no node of that name is stored */
};

/* What a successful import did */
enum nodedb_result {
	NODEDB_NEW = 0,		/* a node not stored before */
	NODEDB_UPDATED,		/* a newer descriptor replaced the stored one */
	NODEDB_UNCHANGED	/* the same descriptor was already stored */
};

/* nodedb_skip_fn - told about each file nodedb_load skips, and why */
typedef void nodedb_skip_fn(void *arg, const char *file, const char *reason);

/*
 * nodedb_import - check text[0..len) by the rules above and store it in
 * dir (made if missing). *result says what happened (on NODEDB_OK). If d
 * is not NULL it receives the parsed descriptor whenever the text parsed,
 * also on a refusal, so that the caller can name the node.
 */
enum nodedb_err nodedb_import(const char *dir, const char *text, size_t len, int64_t now,
    enum nodedb_result *result, struct descriptor *d, char *err, size_t errlen) MIX_WUR;

/*
 * nodedb_load - every node stored in dir, verified again, sorted by name:
 * *nodes (free with nodedb_free) holds *count descriptors. A missing dir
 * is an empty directory. skip (may be NULL) hears of each file skipped.
 */
enum nodedb_err nodedb_load(const char *dir, int64_t now, struct descriptor **nodes,
    size_t *count, nodedb_skip_fn *skip, void *arg, char *err, size_t errlen) MIX_WUR;

void nodedb_free(struct descriptor *nodes);

/* nodedb_forget - remove the node called name (NODEDB_ERR_UNKNOWN if none) */
enum nodedb_err nodedb_forget(const char *dir, const char *name, char *err,
    size_t errlen) MIX_WUR;

/* nodedb_name_valid - 1 if name is [a-z0-9-]{1,32} */
int nodedb_name_valid(const char *name);

const char *nodedb_strerror(enum nodedb_err e);
/* nodedb_result_name - "new", "updated" or "unchanged" */
const char *nodedb_result_name(enum nodedb_result r);

#endif
