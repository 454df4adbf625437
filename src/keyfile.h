/*
 * keyfile.h - the files under the key store (keys.c's lower half): the
 * keys/ directory (open, lock, sync, list), strict whole-file reads,
 * durable writes, wiping, and the binary formats of doc/key-files.md.
 * Only keys.c uses it.
 *
 * A struct keyfile_dir carries one call's keys/ directory and the caller's
 * error buffer. Every failure writes a one-line reason there, naming the
 * file ("SPOOL/keys/NAME: reason") and never a key byte, and returns the
 * enum keys_err to pass on.
 *
 * Functions: keyfile_fail(), keyfile_fail_sub(), keyfile_path(),
 * keyfile_dir_open(), keyfile_dir_close(), keyfile_lock(), keyfile_sync(),
 * keyfile_list(), keyfile_next(), keyfile_exists(), keyfile_read(),
 * keyfile_write(), keyfile_shred(), keyfile_clean_tmp(), keyfile_hex_name(),
 * keyfile_mix_name(), keyfile_identity_make(), keyfile_identity_parse(),
 * keyfile_names_make(), keyfile_names_parse(), keyfile_mix_make(),
 * keyfile_mix_parse().
 */
#ifndef MIX_KEYFILE_H
#define MIX_KEYFILE_H

#include <dirent.h>
#include <stddef.h>
#include <stdint.h>

#include "keys.h"
#include "log.h"		/* MIX_PRINTF */

#define KEYFILE_IDENTITY	"identity.key"
#define KEYFILE_NAMES		"names.key"
#define KEYFILE_MIX_PREFIX	"mix-"
#define KEYFILE_MIX_SUFFIX	".key"
#define KEYFILE_TMP_PREFIX	"tmp-"
#define KEYFILE_NAME_LEN	32	/* longest name made, "mix-" 16 ".key", with NUL: 25 */

/* File sizes (doc/key-files.md) */
#define KEYFILE_IDENTITY_LEN	112
#define KEYFILE_NAMES_LEN	80
#define KEYFILE_MIX_LEN		144
#define KEYFILE_MAX_LEN		144
#define KEYFILE_MIX_SK		16	/* offset of the X25519 secret in a mix key file */

/* Times are whole seconds in [0, KEYFILE_TIME_MAX]: 9999-12-31 23:59:59 UTC */
#define KEYFILE_TIME_MAX	INT64_C(253402300799)

struct keyfile_dir {
	const char *spool;
	int fd;			/* spool/keys, or -1 */
	char *err;		/* the caller's buffer (may be NULL) */
	size_t errlen;
};

/* keyfile_fail - "spool/keys[/name]: reason" into d's buffer; returns e */
enum keys_err keyfile_fail(struct keyfile_dir *d, enum keys_err e, const char *name,
    const char *fmt, ...) MIX_PRINTF(4, 5);
/* keyfile_fail_sub - the same about another directory of the spool (replay/) */
enum keys_err keyfile_fail_sub(struct keyfile_dir *d, enum keys_err e, const char *sub,
    const char *name, const char *fmt, ...) MIX_PRINTF(5, 6);
/* keyfile_path - "a/b", malloc'ed */
char *keyfile_path(const char *a, const char *b);

/* keyfile_dir_open - open spool/keys; KEYS_ERR_PERM if group or others have access */
enum keys_err keyfile_dir_open(struct keyfile_dir *d);
/* keyfile_dir_close - close keys/, which releases its lock */
void keyfile_dir_close(struct keyfile_dir *d);
/* keyfile_lock - flock keys/ with LOCK_SH or LOCK_EX, waiting 10 s at most */
enum keys_err keyfile_lock(struct keyfile_dir *d, int op);
/* keyfile_sync - make the names in keys/ durable */
enum keys_err keyfile_sync(struct keyfile_dir *d);
/* keyfile_list - a directory stream over keys/ with its own offset; NULL + errno */
DIR *keyfile_list(struct keyfile_dir *d);
/* keyfile_next - readdir; at an error *e is set (sub names the directory) */
struct dirent *keyfile_next(struct keyfile_dir *d, DIR *dir, const char *sub, enum keys_err *e);
/* keyfile_exists - 1 if keys/name exists, 0 if not, -1 with errno */
int keyfile_exists(struct keyfile_dir *d, const char *name);

/*
 * keyfile_read - keys/name into buf: a regular file (not a symbolic link),
 * closed to group and others, of exactly len bytes. KEYS_ERR_MISSING (no
 * message: the caller words it) if there is no such file.
 */
enum keys_err keyfile_read(struct keyfile_dir *d, const char *name, uint8_t *buf, size_t len);
/*
 * keyfile_write - put buf under keys/name durably, never replacing a file.
 * *placed tells whether name exists afterwards, even when a later step
 * (removing the tmp name, syncing the directory) failed.
 */
enum keys_err keyfile_write(struct keyfile_dir *d, const char *name, const uint8_t *buf,
    size_t len, int *placed);
/* keyfile_shred - overwrite keys/name with zeros, sync, unlink, sync keys/ */
enum keys_err keyfile_shred(struct keyfile_dir *d, const char *name);
/* keyfile_clean_tmp - shred every tmp file (call with the exclusive lock) */
enum keys_err keyfile_clean_tmp(struct keyfile_dir *d);

/* keyfile_hex_name - 1 if name is prefix, 16 lower-case hex digits, suffix; id gets them */
int keyfile_hex_name(const char *name, const char *prefix, const char *suffix,
    uint8_t id[KEYS_ID_BYTES]);
/* keyfile_mix_name - "mix-<id hex>.key" */
void keyfile_mix_name(char out[KEYFILE_NAME_LEN], const uint8_t id[KEYS_ID_BYTES]);
/* keyfile_tmp_name - a fresh "tmp-<16 random hex>" */
void keyfile_tmp_name(char out[KEYFILE_NAME_LEN]);

/* keyfile_identity_make - a new identity file (random seed) in buf */
void keyfile_identity_make(uint8_t buf[KEYFILE_IDENTITY_LEN]);
/* keyfile_identity_parse - check the file in buf; pk and sk (64, libsodium form) from it */
enum keys_err keyfile_identity_parse(struct keyfile_dir *d, const uint8_t *buf,
    uint8_t pk[32], uint8_t sk[64]);
/* keyfile_names_make - a new names secret file (random) in buf */
void keyfile_names_make(uint8_t buf[KEYFILE_NAMES_LEN]);
/* keyfile_names_parse - check the file in buf; the secret goes to key */
enum keys_err keyfile_names_parse(struct keyfile_dir *d, const uint8_t *buf, uint8_t key[32]);
/*
 * keyfile_mix_make - a new mix key file in buf for info's four times: the
 * secret is random (at buf + KEYFILE_MIX_SK), info->pk and info->id are set.
 */
void keyfile_mix_make(uint8_t buf[KEYFILE_MIX_LEN], struct keys_mixinfo *info);
/*
 * keyfile_mix_parse - check the file in buf, read from keys/name whose id
 * is id; fill info. The secret stays at buf + KEYFILE_MIX_SK.
 */
enum keys_err keyfile_mix_parse(struct keyfile_dir *d, const char *name, const uint8_t *buf,
    const uint8_t id[KEYS_ID_BYTES], struct keys_mixinfo *info);

#endif
