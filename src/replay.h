/*
 * replay.h - the replay cache: one persistent set of replay tags per mix
 * key, shared by every process of a node.
 *
 * A cache is one file: a fixed-size open-addressing hash table of 16-byte
 * self-checking slots behind an 8192-byte header area, read and written with
 * pread/pwrite and serialised across processes by flock(2) on the file
 * itself. doc/replay-cache-format.md specifies the file byte by byte and
 * argues crash safety; this header mirrors its constants.
 *
 * Use: open, lock (bounded wait), contains / insert, unlock, close. Or
 * replay_check_insert(), which does lock, insert and unlock in one call.
 * An insert is durable when it returns (fdatasync), unless the handle was
 * opened with REPLAY_DEFER_SYNC: then replay_sync() (or replay_close())
 * makes every earlier insert of the handle durable at once; or with
 * REPLAY_NO_SYNC: then only an explicit replay_sync() does (the receive
 * hook, whose pool entry names already refuse a second copy of a pooled
 * packet: doc/INTERNALS.md, section 3, step 9).
 *
 * A handle belongs to one process and one thread: do not use it across
 * fork() (parent and child would share the lock) or from two threads.
 * No function exits the process; every failure is a result. errno is
 * kept from the failing system call for REPLAY_ERR_IO.
 *
 * Functions: replay_open(), replay_close(), replay_lock(), replay_unlock(),
 * replay_contains(), replay_insert(), replay_sync(), replay_check_insert(),
 * replay_count(), replay_capacity(), replay_scan(), replay_unlink(),
 * replay_file_size(), replay_strerror().
 */
#ifndef MIX_REPLAY_H
#define MIX_REPLAY_H

#include <stddef.h>
#include <stdint.h>

#include "mcrypto.h"		/* MIX_WUR */
#include "pkt.h"		/* PKT_REPLAY_TAG_SIZE */

#define REPLAY_TAG_SIZE		PKT_REPLAY_TAG_SIZE	/* 32 */
#define REPLAY_VERSION		1
#define REPLAY_MAGIC		"MIXRPLY1"		/* 8 bytes, no NUL stored */
#define REPLAY_HEADER_SIZE	8192	/* header page + count page; slots follow */
#define REPLAY_SLOT_SIZE	16	/* 12-byte fingerprint + 4-byte check */
#define REPLAY_FP_SIZE		12
#define REPLAY_LOAD_NUM		3	/* at most 3/4 of the slots are used */
#define REPLAY_LOAD_DEN		4
#define REPLAY_MIN_SLOTS	16ULL
#define REPLAY_MAX_SLOTS	(1ULL << 32)		/* a 64 GiB file */
#define REPLAY_CAPACITY_MAX	(REPLAY_MAX_SLOTS / REPLAY_LOAD_DEN * REPLAY_LOAD_NUM)
/* Ten million tags: 2^24 slots, a file of 268,443,648 bytes (256 MiB + 8 KiB) */
#define REPLAY_DEFAULT_CAPACITY	10000000ULL

/* replay_open flags */
#define REPLAY_CREATE		0x1	/* create the file (mode 0600) if missing */
#define REPLAY_DEFER_SYNC	0x2	/* inserts durable only at replay_sync/close */
#define REPLAY_NO_SYNC		0x4	/* inserts left to the kernel's write-back; close
					   does not sync (replay_sync still does) */

enum replay_status {
	REPLAY_OK = 0,		/* done */
	REPLAY_NEW,		/* the tag was not in the cache (insert: recorded now) */
	REPLAY_SEEN,		/* the tag is in the cache: a replay */
	REPLAY_BUSY,		/* lock not obtained within the timeout: transient */
	REPLAY_FULL,		/* the table holds its capacity: transient for the node */
	REPLAY_GONE,		/* the file was deleted (its key retired) while open */
	REPLAY_ERR_IO,		/* a system call failed; errno says which way */
	REPLAY_ERR_CORRUPT,	/* not a valid cache file; never reset, left as it is */
	REPLAY_ERR_ARG		/* caller misuse (e.g. insert without the lock) */
};

struct replay;

/* What replay_scan() found: a full pass over the table */
struct replay_stats {
	uint64_t slots;		/* table size */
	uint64_t capacity;	/* replay_capacity() */
	uint64_t valid;		/* slots holding a record */
	uint64_t torn;		/* slots that fail their check (half-written) */
	uint64_t longest_run;	/* longest run of non-empty slots: worst probe */
};

/*
 * replay_open - open the cache at path. With REPLAY_CREATE a missing file
 * is created for at least capacity tags (REPLAY_DEFAULT_CAPACITY: 10 M);
 * an existing file keeps the capacity it was created with. Creation is
 * atomic (a temporary file, synced, then link()ed into place), so a crash
 * never leaves a half-made cache under path. Returns NULL and sets *err on
 * failure; a header that fails its checks gives REPLAY_ERR_CORRUPT and the
 * file is left untouched.
 */
struct replay *replay_open(const char *path, uint64_t capacity, unsigned flags,
    enum replay_status *err) MIX_WUR;

/*
 * replay_close - release the lock if held, sync deferred inserts, close.
 * Returns REPLAY_OK or REPLAY_ERR_IO (a deferred sync failed); the handle
 * is freed in either case.
 */
enum replay_status replay_close(struct replay *rc);

/*
 * replay_lock - take the cache's exclusive lock, waiting at most timeout_ms
 * milliseconds (0: one try). REPLAY_OK, REPLAY_BUSY, REPLAY_GONE (the file
 * was unlinked: its key is retired), REPLAY_ERR_IO.
 */
enum replay_status replay_lock(struct replay *rc, unsigned timeout_ms) MIX_WUR;

/* replay_unlock - release the lock. REPLAY_OK or REPLAY_ERR_IO. */
enum replay_status replay_unlock(struct replay *rc);

/*
 * replay_contains - REPLAY_SEEN if tag is recorded, REPLAY_NEW if not.
 * Needs the lock (REPLAY_ERR_ARG otherwise). Writes nothing.
 */
enum replay_status replay_contains(struct replay *rc,
    const uint8_t tag[REPLAY_TAG_SIZE]) MIX_WUR;

/*
 * replay_insert - record tag. REPLAY_NEW: recorded, and durable on return
 * (fdatasync done) unless REPLAY_DEFER_SYNC. REPLAY_SEEN: already
 * recorded, nothing written (an idempotent insert). REPLAY_FULL: no room.
 * Needs the lock. After REPLAY_ERR_IO the record may or may not exist.
 */
enum replay_status replay_insert(struct replay *rc,
    const uint8_t tag[REPLAY_TAG_SIZE]) MIX_WUR;

/* replay_sync - make every insert so far durable. REPLAY_OK or REPLAY_ERR_IO. */
enum replay_status replay_sync(struct replay *rc) MIX_WUR;

/*
 * replay_check_insert - lock (bounded by timeout_ms), insert, unlock, then
 * sync (after the unlock, so that concurrent callers share flushes).
 * REPLAY_NEW: this call recorded the tag, durably unless REPLAY_DEFER_SYNC
 * (of several processes inserting the same tag, exactly one gets
 * REPLAY_NEW). REPLAY_SEEN: a replay; the other process's record may still
 * be a few milliseconds from durable (doc, "Durability"). Otherwise
 * REPLAY_BUSY, REPLAY_FULL, REPLAY_GONE or an error.
 */
enum replay_status replay_check_insert(struct replay *rc,
    const uint8_t tag[REPLAY_TAG_SIZE], unsigned timeout_ms) MIX_WUR;

/* replay_count - tags recorded (exact while the lock is held; needs it) */
enum replay_status replay_count(struct replay *rc, uint64_t *count) MIX_WUR;

/* replay_capacity - how many tags fit before REPLAY_FULL */
uint64_t replay_capacity(const struct replay *rc);

/*
 * replay_scan - read the whole table (needs the lock): count valid and torn
 * slots and the longest cluster, and repair the stored count from it. For
 * `mixnode check`, tests and benchmarks; O(table size).
 */
enum replay_status replay_scan(struct replay *rc, struct replay_stats *st) MIX_WUR;

/*
 * replay_unlink - delete the cache at path (its key retired): take its lock
 * (bounded wait), unlink, sync the directory. A missing file is REPLAY_OK.
 * Processes that still hold it open get REPLAY_GONE at their next lock.
 * The header is not checked, so a corrupt cache can be deleted too.
 */
enum replay_status replay_unlink(const char *path, unsigned timeout_ms) MIX_WUR;

/* replay_file_size - bytes of a cache created for capacity; 0 if too large */
uint64_t replay_file_size(uint64_t capacity);

const char *replay_strerror(enum replay_status st);

#endif
