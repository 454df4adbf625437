/*
 * pool.h - the node's on-disk pool of packets waiting to be mixed.
 *
 * doc/INTERNALS.md is the contract: the spool layout (section 1), the
 * pool entry format (section 2), the receive commit protocol (section 3)
 * and the crash state table (section 4). pool_commit() is steps 4-10 of
 * receive; the flusher (issue 4) adds its own functions here.
 *
 * No function exits the process; every failure is a result, with errno
 * kept from the failing call for POOL_ERR_IO.
 *
 * Functions: pool_entry_encode(), pool_entry_decode(), pool_open(),
 * pool_close(), pool_name(), pool_commit(), pool_list(), pool_read(),
 * pool_quarantine(), pool_list_at(), pool_read_at(), pool_keep_at(),
 * pool_name_valid(), pool_strerror().
 */
#ifndef MIX_POOL_H
#define MIX_POOL_H

#include <stddef.h>
#include <stdint.h>

#include "mcrypto.h"
#include "pkt.h"
#include "replay.h"

#define POOL_MAGIC		"MIXPOOL1"
#define POOL_HEAD_SIZE		65	/* up to the address */
#define POOL_SUM_SIZE		32
#define POOL_NAME_LEN		32	/* hex characters of an entry name */
#define POOL_ENTRY_MAX		(POOL_HEAD_SIZE + PKT_ADDR_MAX + 4 + PKT_SIZE + POOL_SUM_SIZE)

enum pool_kind {
	POOL_FORWARD = 1,
	POOL_DELIVER = 2,
	POOL_DUMMY = 3
};

struct pool_entry {
	enum pool_kind kind;
	uint8_t tag[PKT_REPLAY_TAG_SIZE];	/* replay tag at this node */
	int64_t due;				/* 0: none */
	uint32_t retry;
	int64_t not_before;			/* 0: none */
	char addr[PKT_ADDR_MAX + 1];		/* "" for deliver */
	const uint8_t *data;			/* decode: points into the buffer */
	size_t data_len;
};

enum pool_err {
	POOL_OK = 0,
	POOL_COMMITTED,		/* commit: in pool/, tag recorded (also after an EEXIST) */
	POOL_REPLAY,		/* commit: the tag was already recorded; nothing kept */
	POOL_ERR_FORMAT,	/* decode: not a valid entry (length, magic, checksum) */
	POOL_ERR_ARG,		/* encode: the entry is not valid */
	POOL_ERR_IO,		/* a system call failed (errno): transient */
	POOL_ERR_LOCK,		/* the replay cache lock was not obtained: transient */
	POOL_ERR_REPLAY		/* the replay cache failed (full, gone, corrupt): transient */
};

/*
 * pool_entry_encode - e in the format of doc/INTERNALS.md section 2, into
 * out (POOL_ENTRY_MAX bytes); *len receives the length.
 */
enum pool_err pool_entry_encode(const struct pool_entry *e, uint8_t *out, size_t *len) MIX_WUR;

/* pool_entry_decode - check and parse buf; e->data points into buf */
enum pool_err pool_entry_decode(const uint8_t *buf, size_t len, struct pool_entry *e) MIX_WUR;

struct pool;

/*
 * pool_open - open the spool's tmp/, pool/ and corrupt/ directories (which
 * must exist: POOL_ERR_IO with errno ENOENT otherwise). names_key is
 * copied into secret memory.
 */
enum pool_err pool_open(struct pool **out, const char *spool,
    const uint8_t names_key[32]) MIX_WUR;
void pool_close(struct pool *p);

/* pool_name - the entry name for tag: hex(MAC(k_names, tag))[0..32) + NUL */
void pool_name(const struct pool *p, const uint8_t tag[PKT_REPLAY_TAG_SIZE],
    char name[POOL_NAME_LEN + 1]);

/*
 * pool_commit - receive's steps 4-10: write e to tmp/ with its times set
 * to 0 and sync it; lock rc (at most lock_timeout_ms); a recorded tag is
 * POOL_REPLAY; otherwise link into pool/ (EEXIST is an earlier commit of
 * this packet), sync pool/, record the tag (durably unless rc was opened
 * with REPLAY_NO_SYNC), unlock, remove the tmp file. POOL_COMMITTED means the entry is durably in pool/ exactly once.
 * An error before the link leaves nothing new in pool/; an error after it
 * leaves the entry in pool/ with its tag unrecorded (states R4/R5), which
 * the MTA's retry finishes. The entry is never removed after the link: a
 * flush may already have recorded its tag.
 */
enum pool_err pool_commit(struct pool *p, const struct pool_entry *e, struct replay *rc,
    unsigned lock_timeout_ms) MIX_WUR;

/*
 * pool_list - the names in pool/ (only well-formed names), malloc'ed array
 * of malloc'ed strings; free with pool_list_free.
 */
enum pool_err pool_list(struct pool *p, char ***names, size_t *n) MIX_WUR;
void pool_list_free(char **names, size_t n);

/*
 * pool_read - read pool/<name> into buf (POOL_ENTRY_MAX bytes) and decode
 * it. POOL_ERR_FORMAT: the entry is damaged (pool_quarantine it).
 */
enum pool_err pool_read(struct pool *p, const char *name, uint8_t *buf, size_t *len,
    struct pool_entry *e) MIX_WUR;

/* pool_quarantine - rename pool/<name> to corrupt/<name>, sync both */
enum pool_err pool_quarantine(struct pool *p, const char *name) MIX_WUR;

/*
 * The same on any directory of the spool, given its descriptor (the
 * flusher's directories, src/poolflush.c): pool_list_at lists dfd,
 * pool_read_at reads dfd/<name> (O_NOATIME), pool_keep_at moves
 * from/<name> into to/ never replacing (see pool_quarantine).
 */
enum pool_err pool_list_at(int dfd, char ***names, size_t *n) MIX_WUR;
enum pool_err pool_read_at(int dfd, const char *name, uint8_t *buf, size_t *len,
    struct pool_entry *e) MIX_WUR;
enum pool_err pool_keep_at(int from, int to, const char *name) MIX_WUR;

/*
 * pool_tmp_at - buf written to tmp_fd/<prefix><32 random hex digits>
 * (O_EXCL, 0600), times set to 0, fsync'd and closed; the name in name.
 * prefix is 2 characters ("t." receive, "f." the flusher). On failure
 * nothing is left.
 */
#define POOL_TMP_NAME_SIZE	35
enum pool_err pool_tmp_at(int tmp_fd, const char *prefix, const uint8_t *buf, size_t len,
    char name[POOL_TMP_NAME_SIZE]) MIX_WUR;

/* pool_name_valid - 1 if s is an entry name: exactly 32 lower-case hex digits */
int pool_name_valid(const char *s);

const char *pool_strerror(enum pool_err e);

#endif
