/*
 * outbox.h - the durable mail stores of the receive hook's auto-replies
 * (doc/autoreply.md sections 3 and 6):
 *
 *   SPOOL/outbox/      mails the node itself sends (auto-replies, complaints
 *                      forwarded to the operator), one file each, written
 *                      by `mixnode receive` and sent by `mixnode flush`
 *   SPOOL/operator/    a Maildir (tmp/, new/, cur/) of other mail kept for
 *                      the operator, bounded in count and bytes
 *
 * Both are written the durable way: a file made with O_EXCL and mode 0600
 * in tmp/, written, fsync'd, renamed into place, the directory fsync'd. File
 * names are 32 random hex digits; their times are set to 0 (outbox) so
 * that nothing on disk tells when a mail came.
 *
 * Functions: outbox_commit(), outbox_list(), outbox_read(), outbox_remove(),
 * outbox_clean_tmp(), outbox_entry_free(), outbox_maildir_deliver(),
 * outbox_name_valid(), outbox_flock(), outbox_fsync_dir().
 */
#ifndef MIX_OUTBOX_H
#define MIX_OUTBOX_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "mcrypto.h"		/* MIX_WUR */

#define OUTBOX_DIR		"outbox"
#define OUTBOX_TMP		"outbox/tmp"
#define OUTBOX_OPERATOR		"operator"
#define OUTBOX_NAME_LEN		32		/* hex digits of a file name */
#define OUTBOX_ADDR_MAX		254		/* an envelope address */
#define OUTBOX_MAIL_MAX		(11 * 1024 * 1024)	/* the largest mail an entry holds */
#define OUTBOX_HEAD_MAX		1024		/* the entry's header lines */

/* What an outbox entry is, for counting and for the operator */
enum outbox_kind {
	OUTBOX_REPLY = 1,	/* an auto-reply to a requester */
	OUTBOX_COMPLAINT	/* a mail to the complaints address, for the operator */
};

struct outbox_entry {
	enum outbox_kind kind;
	int64_t created;			/* the start of the hour it was made in */
	char sender[OUTBOX_ADDR_MAX + 1];	/* envelope sender; "" for <> */
	char rcpt[OUTBOX_ADDR_MAX + 1];		/* the one envelope recipient */
	uint8_t *data;				/* the mail, LF line ends */
	size_t len;
};

/* Results of outbox_read */
enum outbox_err {
	OUTBOX_OK = 0,
	OUTBOX_ERR_IO,		/* errno says why */
	OUTBOX_ERR_FORMAT	/* not an entry (damaged, or not ours) */
};

/* outbox_name_valid - 1 if name is 32 lower-case hex digits */
int outbox_name_valid(const char *name);

/*
 * outbox_commit - write e durably into SPOOL/outbox/ (made, 0700, with its
 * tmp/, when missing) under a new name (written to name). 0, or -1 with
 * errno set and nothing left behind.
 */
int outbox_commit(const char *spool, const struct outbox_entry *e,
    char name[OUTBOX_NAME_LEN + 1]) MIX_WUR;

/*
 * outbox_list - the names of the entries in SPOOL/outbox/ (a missing
 * directory has none), in directory order. 0 or -1 (errno).
 */
int outbox_list(const char *spool, char ***names, size_t *n) MIX_WUR;
void outbox_list_free(char **names, size_t n);

/* outbox_read - the entry called name; free it with outbox_entry_free */
enum outbox_err outbox_read(const char *spool, const char *name, struct outbox_entry *e) MIX_WUR;
void outbox_entry_free(struct outbox_entry *e);

/* outbox_remove - unlink the entry and fsync the directory; 0 or -1 */
int outbox_remove(const char *spool, const char *name) MIX_WUR;

/* outbox_clean_tmp - remove files in outbox/tmp/ older than max_age; how many */
size_t outbox_clean_tmp(const char *spool, time_t now, int64_t max_age);

/*
 * outbox_flock - flock(fd, op) (LOCK_SH or LOCK_EX), waiting at most
 * timeout_ms; 0, or -1 (errno, ETIMEDOUT when the wait ran out)
 */
int outbox_flock(int fd, int op, unsigned timeout_ms) MIX_WUR;

/* outbox_fsync_dir - fsync the directory at path; 0 or -1 */
int outbox_fsync_dir(const char *path) MIX_WUR;

/* Results of outbox_maildir_deliver */
enum outbox_keep {
	OUTBOX_KEPT = 0,	/* delivered into operator/new/ */
	OUTBOX_FULL,		/* not kept: the Maildir holds max_count mails or max_bytes */
	OUTBOX_KEEP_ERR		/* transient trouble (errno): nothing kept */
};

/*
 * outbox_maildir_deliver - keep mail in SPOOL/operator/ (made with tmp/,
 * new/ and cur/ when missing), unless the mails in new/ and cur/ would then
 * be more than max_count or more than max_bytes. The check and the delivery
 * hold an flock of the directory, so hooks at once cannot overfill it.
 */
enum outbox_keep outbox_maildir_deliver(const char *spool, const uint8_t *mail, size_t len,
    uint64_t max_count, uint64_t max_bytes, unsigned timeout_ms);

#endif
