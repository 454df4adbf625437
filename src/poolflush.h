/*
 * poolflush.h - the flusher's side of the spool: moving entries between
 * pool/, out/, sending/, defer/, failed/ and corrupt/ (doc/INTERNALS.md
 * section 4, states F1-F8).
 *
 * Every move is one rename(2) or link(2) inside the spool; the caller
 * syncs each directory an entry entered (fpool_sync) before it acts on
 * the move, so that many moves share one fsync. Entries never leave the
 * spool except by fpool_unlink, which the flusher calls only after the
 * relay said 250 or the packet was deliberately dropped.
 *
 * The spool's directories are opened once by fpool_open (missing ones are
 * made, mode 0700); names are resolved against their descriptors.
 *
 * No function logs or exits; errors are results with errno kept.
 *
 * Functions: fpool_open(), fpool_close(), fpool_lock(), fpool_list(),
 * fpool_read(), fpool_move(), fpool_keep(), fpool_unlink(), fpool_sync(),
 * fpool_write(), fpool_recover(), fpool_clean_tmp(), fpool_dir_name().
 */
#ifndef MIX_POOLFLUSH_H
#define MIX_POOLFLUSH_H

#include <stddef.h>
#include <stdint.h>

#include "mcrypto.h"
#include "pool.h"

enum fpool_dir {
	FP_TMP = 0,	/* entries being written */
	FP_POOL,	/* waiting to be mixed */
	FP_OUT,		/* picked by this flush, tag recorded (F2) */
	FP_SENDING,	/* final-hop mail being handed to the relay (F3d) */
	FP_DEFER,	/* refused for now (4xx): waiting for not-before (F6) */
	FP_FAILED,	/* refused for good (5xx), or outcome unknown (F7, F8) */
	FP_CORRUPT,	/* unreadable (C1) */
	FP_NDIRS
};

struct fpool;

/* fpool_open - open (making missing directories) the spool's directories */
enum pool_err fpool_open(struct fpool **out, const char *spool) MIX_WUR;
void fpool_close(struct fpool *p);

/*
 * fpool_lock - take SPOOL/flush.lock (flock, exclusive), waiting at most
 * timeout_ms. The descriptor, or -1 with errno (EWOULDBLOCK: another
 * flush holds it). Closing the descriptor (or exiting) releases it.
 */
int fpool_lock(const char *spool, unsigned timeout_ms) MIX_WUR;

/* fpool_list - entry names (32 hex digits) in dir; free with pool_list_free */
enum pool_err fpool_list(struct fpool *p, enum fpool_dir dir, char ***names,
    size_t *n) MIX_WUR;

/*
 * fpool_read - read dir/<name> (O_NOATIME when the kernel allows) into buf
 * (POOL_ENTRY_MAX bytes) and decode it into *e; POOL_ERR_FORMAT for
 * anything that is not a regular file holding a valid entry.
 */
enum pool_err fpool_read(struct fpool *p, enum fpool_dir dir, const char *name,
    uint8_t *buf, size_t *len, struct pool_entry *e) MIX_WUR;

/* fpool_move - rename from/<name> to to/<name> (replacing); no sync */
enum pool_err fpool_move(struct fpool *p, enum fpool_dir from, enum fpool_dir to,
    const char *name) MIX_WUR;

/*
 * fpool_keep - move from/<name> into to/ (failed/ or corrupt/) without
 * replacing anything there: an existing to/<name> is kept and this one
 * gets a random suffix. Syncs to/ before unlinking from/<name>; the caller
 * syncs from/. A crash between leaves both links; the next fpool_keep of
 * the same name only unlinks.
 */
enum pool_err fpool_keep(struct fpool *p, enum fpool_dir from, enum fpool_dir to,
    const char *name) MIX_WUR;

/* fpool_unlink - remove dir/<name> (ENOENT is fine); no sync */
enum pool_err fpool_unlink(struct fpool *p, enum fpool_dir dir, const char *name) MIX_WUR;

/* fpool_sync - fsync the directory */
enum pool_err fpool_sync(struct fpool *p, enum fpool_dir dir) MIX_WUR;

/*
 * fpool_write - e encoded into tmp/ (times 0, fsync'd), then moved to
 * dir/<name>: rename (replacing) for FP_DEFER, link (never replacing:
 * EEXIST gives POOL_ERR_IO with errno EEXIST) for FP_POOL. No directory
 * sync. On failure nothing new is left.
 */
enum pool_err fpool_write(struct fpool *p, enum fpool_dir dir, const char *name,
    const struct pool_entry *e) MIX_WUR;

/*
 * fpool_recover - what a crashed flush left: every entry in out/ goes back
 * to pool/ (*returned), every entry in sending/ goes to failed/
 * (*uncertain: the relay may have it, and a final-hop mail is never sent
 * twice). Both directories synced.
 */
enum pool_err fpool_recover(struct fpool *p, size_t *returned, size_t *uncertain) MIX_WUR;

/*
 * fpool_clean_tmp - remove files in tmp/ whose inode changed (ctime) more
 * than max_age seconds before now (strays of crashed writers: R2).
 */
enum pool_err fpool_clean_tmp(struct fpool *p, int64_t now, int64_t max_age,
    size_t *removed) MIX_WUR;

/* fpool_dir_name - "pool", "out", ... */
const char *fpool_dir_name(enum fpool_dir dir);

#endif
