/*
 * keys.h - a node's keys: the Ed25519 identity, the names secret and the
 * X25519 mix keys with their validity windows.
 *
 * All keys live in SPOOL/keys/ (mode 0700), one file per key (mode 0600),
 * in the formats of doc/key-files.md. Secrets are held in
 * mcrypto_secret_alloc memory and wiped when the keyring is closed.
 *
 * A mix key has four times (seconds since the epoch, UTC):
 *
 *   created      when the node made it and may publish it;
 *   valid_from   from when senders use it (created + publish_ahead at most);
 *   valid_until  until when senders use it (valid_from + lifetime);
 *   grace_end    until when the node still decrypts with it
 *                (valid_until + grace), for packets still in flight.
 *
 * The node decrypts with every key for which created <= now < grace_end
 * ("live" keys), newest valid_from first. When grace_end has passed, the
 * key file is overwritten, synced and unlinked, then the key's replay
 * cache (SPOOL/replay/<id>.rpl) is deleted: in that order, so that a crash
 * in between leaves an orphan cache (deleted by the next rotation), never
 * a live key without its cache.
 *
 * Every function takes the time as an argument, so tests can drive
 * rotation across simulated months.
 *
 * Functions: keys_init(), keys_open(), keys_close(), keys_rotate(),
 * keys_live(), keys_replay_path(), keys_strerror().
 */
#ifndef MIX_KEYS_H
#define MIX_KEYS_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "mcrypto.h"
#include "pkt.h"

#define KEYS_ID_BYTES		8	/* key id: BLAKE2b-256 of the X25519 pk, first 8 bytes */
#define KEYS_ID_HEX		(2 * KEYS_ID_BYTES + 1)
#define KEYS_MAX_MIX		16	/* mix key files a node may hold */
#define KEYS_ERR_MAX		256

enum keys_err {
	KEYS_OK = 0,
	KEYS_ERR_MISSING,	/* no keys/ or no identity: the node is not initialised */
	KEYS_ERR_IO,		/* a file could not be read, written or synced (errno) */
	KEYS_ERR_CORRUPT,	/* a key file fails its format or checksum */
	KEYS_ERR_PERM,		/* a key file or directory is open to others */
	KEYS_ERR_TOOMANY	/* more than KEYS_MAX_MIX mix keys */
};

/* Rotation settings (from mixnode.conf: key_lifetime, ...) in seconds */
struct keys_policy {
	int64_t lifetime;
	int64_t publish_ahead;
	int64_t grace;
	/*
	 * Capacity of the replay cache made for each new mix key before its
	 * file is written (so a key never exists without its cache, and a
	 * missing cache always means a lost one); 0: no cache is made.
	 */
	uint64_t replay_capacity;
};

/* Public facts of one mix key */
struct keys_mixinfo {
	uint8_t id[KEYS_ID_BYTES];
	uint8_t pk[32];
	int64_t created;
	int64_t valid_from;
	int64_t valid_until;
	int64_t grace_end;
};

/* A loaded keyring; secrets point into secret memory */
struct keyring {
	char *spool;				/* spool directory */
	uint8_t id_pk[MCRYPTO_SIGN_PK_BYTES];	/* identity public key */
	uint8_t *id_sk;				/* identity secret (64 bytes, secret memory) */
	uint8_t *names_key;			/* k_names (32 bytes, secret memory) */
	size_t nmix;				/* mix keys, sorted newest valid_from first */
	struct keys_mixinfo mixinfo[KEYS_MAX_MIX];
	struct pkt_key *mix;			/* nmix keys (secret memory), same order */
};

/* What keys_init() or keys_rotate() did, for the operator */
struct keys_report {
	int created_dirs;		/* keys/ and replay/ made */
	int created_identity;		/* identity key made */
	int created_names;		/* names secret made */
	size_t created_mix;		/* mix keys made */
	size_t retired_mix;		/* mix keys wiped at the end of their grace */
	size_t removed_orphans;		/* replay caches without a key, deleted */
};

/*
 * keys_init - make keys/ and replay/ (0700) under spool if missing, the
 * identity key and the names secret if missing, then rotate (keys_rotate)
 * so that a key is valid now and its successor exists when due. Idempotent:
 * existing keys are never replaced. rep may be NULL.
 */
enum keys_err keys_init(const char *spool, time_t now, const struct keys_policy *pol,
    struct keys_report *rep, char *err, size_t errlen) MIX_WUR;

/*
 * keys_open - load every key in spool/keys. Checks modes (KEYS_ERR_PERM if
 * group or others may read), formats and checksums. *out is set only on
 * KEYS_OK. err receives a one-line reason naming the file (never a key byte).
 */
enum keys_err keys_open(struct keyring **out, const char *spool, char *err,
    size_t errlen) MIX_WUR;

/* keys_close - wipe and free (NULL is fine) */
void keys_close(struct keyring *kr);

/*
 * keys_rotate - bring the mix keys up to date at time now:
 *  - if no key is valid at now, make one valid from now;
 *  - if the newest key's valid_until is within publish_ahead of now, make
 *    its successor (valid_from = that valid_until, created = now);
 *  - retire keys whose grace_end <= now (wipe the file, then delete the
 *    replay cache), and delete replay caches that belong to no key.
 * Each new key file is written to a temporary name, synced, linked into
 * place and the directory synced before the function goes on. The keyring
 * is updated in memory to match the disk. rep may be NULL.
 * It first re-reads the mix keys from disk (another process may have
 * rotated), so pointers from an earlier keys_live() are void after it.
 */
enum keys_err keys_rotate(struct keyring *kr, time_t now, const struct keys_policy *pol,
    struct keys_report *rep, char *err, size_t errlen) MIX_WUR;

/*
 * keys_live - the keys to decrypt with at now (created <= now < grace_end),
 * newest first, copied as pointers into the keyring: keys[i] and info[i]
 * for i < return value. Arrays must hold KEYS_MAX_MIX entries.
 */
size_t keys_live(const struct keyring *kr, time_t now, const struct pkt_key **keys,
    const struct keys_mixinfo **info);

/* keys_id_hex - the key id as lower-case hex (KEYS_ID_HEX bytes with NUL) */
void keys_id_hex(char out[KEYS_ID_HEX], const uint8_t id[KEYS_ID_BYTES]);

/* keys_replay_path - spool/replay/<id hex>.rpl, malloc'ed */
char *keys_replay_path(const char *spool, const uint8_t id[KEYS_ID_BYTES]);

const char *keys_strerror(enum keys_err e);

#endif
