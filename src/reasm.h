/*
 * reasm.h - the exit's store of message fragments waiting for their set
 * (doc/body-format.md section 7; the on-disk layout is in
 * doc/INTERNALS.md, "Fragment store").
 *
 * A long message arrives as n fragment bodies in n packets, any k of which
 * rebuild it (src/fragment.c). The flusher hands each fragment body that
 * leaves the pool to reasm_add(); once the store holds k distinct indices
 * of a message, the set is "ready" and the flusher delivers the assembled
 * message (reasm_next). Delivery ends with exactly one of reasm_done (the
 * relay took it, or the exit refused it by policy: the set is removed and
 * a small "done" mark stays until the set would have expired, so late
 * fragments of that message are dropped, not stored again), reasm_defer
 * (4xx: try again at not_before), reasm_fail (5xx: the assembled message
 * is kept in the failed directory for the operator) or reasm_begin's
 * in-flight mark surviving a crash: the next reasm_open moves such a set
 * to the failed directory ("uncertain": the relay may have it; never sent
 * twice to a recipient).
 *
 * Durability: reasm_add returns REASM_STORED only when the fragment is on
 * disk (tmp file, fsync, rename, fsync of the set's directory, and of the
 * store's directory for a new set); only then may the flusher remove the
 * pool entry it came from. Every state change is a rename or an unlink
 * followed by an fsync of the directory. A crash at any instant leaves a
 * state from which reasm_open recovers without losing a stored fragment
 * and without delivering a message twice.
 *
 * Names on disk are hex(MAC(names_key, message id)): the message id is
 * not written in any file name. Times on disk are whole seconds in file
 * contents, never in names; files get atime/mtime 0 like pool entries.
 *
 * Privacy: nothing here logs; error texts never hold ids or names.
 *
 * One flusher at a time uses a store (the caller holds flush.lock).
 *
 * Functions: reasm_open(), reasm_close(), reasm_add(), reasm_next(),
 * reasm_begin(), reasm_done(), reasm_defer(), reasm_fail(), reasm_expire(),
 * reasm_count(), reasm_strerror().
 */
#ifndef MIX_REASM_H
#define MIX_REASM_H

#include <stddef.h>
#include <stdint.h>

#include "fragment.h"
#include "mcrypto.h"

#define REASM_NAME_LEN	32	/* hex digits of a set's directory name */

enum reasm_err {
	REASM_OK = 0,
	REASM_STORED,		/* add: the fragment is durably stored (its set may now be ready) */
	REASM_DUPLICATE,	/* add: this index is already stored; nothing changed */
	REASM_LATE,		/* add: the message was already delivered or failed; dropped */
	REASM_NONE,		/* next: no set is ready now */
	REASM_ERR_FORMAT,	/* add: not a fragment body (fragment_parse failed) */
	REASM_ERR_MIXED,	/* add: same id, but k, n or length differ from the stored set */
	REASM_ERR_ASSEMBLE,	/* next: the stored parts do not form one message (set moved to failed) */
	REASM_ERR_IO,		/* a system call failed (errno): transient */
	REASM_ERR_NOMEM
};

struct reasm;

/* A ready set, as reasm_next gives it */
struct reasm_ready {
	char name[REASM_NAME_LEN + 1];	/* the set, for reasm_begin/done/defer/fail */
	uint8_t *msg;			/* mem_alloc'ed; mem_free it */
	size_t msg_len;
	uint32_t retry;			/* deferrals so far */
	int64_t first_ready;		/* when the set became ready (for retry_max_age) */
};

/*
 * reasm_open - open (creating, mode 0700) the store at dir and the failed
 * directory failed_dir (which the pool also uses), and recover: a set
 * marked in flight is moved to failed_dir; stray tmp files are removed.
 * *uncertain receives how many sets were moved that way (the caller
 * counts them). names_key is copied into secret memory.
 */
enum reasm_err reasm_open(struct reasm **out, const char *dir, const char *failed_dir,
    const uint8_t names_key[32], size_t *uncertain) MIX_WUR;
void reasm_close(struct reasm *r);

/* reasm_add - store one fragment body (len bytes) received at now */
enum reasm_err reasm_add(struct reasm *r, const uint8_t *body, size_t len, int64_t now) MIX_WUR;

/*
 * reasm_next - the next ready set whose not_before is <= now, assembled,
 * skipping the names in skip[0..nskip) (those already handled this run).
 * REASM_OK and *out filled, or REASM_NONE. A set whose parts do not
 * assemble is moved to the failed directory: REASM_ERR_ASSEMBLE (the
 * caller counts it and calls again).
 */
enum reasm_err reasm_next(struct reasm *r, int64_t now, const char *const *skip, size_t nskip,
    struct reasm_ready *out) MIX_WUR;
void reasm_ready_free(struct reasm_ready *rd);

/* reasm_begin - mark the set in flight, durably, before handing it to the relay */
enum reasm_err reasm_begin(struct reasm *r, const char *name) MIX_WUR;

/* reasm_done - delivered (or refused by policy): remove the set, keep the done mark */
enum reasm_err reasm_done(struct reasm *r, const char *name, int64_t now) MIX_WUR;

/* reasm_defer - not delivered (4xx): clear in flight, retry+1, not before not_before */
enum reasm_err reasm_defer(struct reasm *r, const char *name, int64_t not_before) MIX_WUR;

/* reasm_fail - 5xx: write the assembled message msg to the failed directory, then done */
enum reasm_err reasm_fail(struct reasm *r, const char *name, const uint8_t *msg, size_t len,
    int64_t now) MIX_WUR;

/*
 * reasm_expire - remove incomplete sets whose first fragment came more
 * than max_age seconds before now (counted in *expired) and done marks
 * older than max_age.
 */
enum reasm_err reasm_expire(struct reasm *r, int64_t now, int64_t max_age,
    size_t *expired) MIX_WUR;

/* reasm_count - sets waiting (incomplete) and ready, for mixnode stats/check */
enum reasm_err reasm_count(struct reasm *r, size_t *waiting, size_t *ready) MIX_WUR;

const char *reasm_strerror(enum reasm_err e);

#endif
