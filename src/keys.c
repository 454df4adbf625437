/*
 * keys.c - the node's key store: the Ed25519 identity, the names secret and
 * the X25519 mix keys in SPOOL/keys/, their rotation and retirement.
 *
 * This is the upper half: the keyring in memory, loading, rotation,
 * retirement and the replay caches' fate. keyfile.c does the files, in
 * the formats of doc/key-files.md, which also gives the rotation rules.
 *
 * Names in keys/:
 *   identity.key        Ed25519 seed and public key
 *   names.key           k_names
 *   mix-<id hex>.key    one X25519 mix key with its four times
 *   tmp-<16 hex>        being written or being wiped; a leftover from a
 *                       crash is wiped and removed by keys_init/keys_rotate
 * Anything else is ignored.
 *
 * Concurrency: keys_open holds a shared flock(2) on keys/ while it reads;
 * keys_init and keys_rotate hold it exclusively for their whole run and
 * start by re-reading the mix keys from disk. So a reader never sees a
 * half-retired key, two rotations never make two successors, and a replay
 * cache is judged an orphan against the keys on disk, not against a stale
 * keyring. keys_rotate may therefore change kr->mix: pointers from an
 * earlier keys_live() are void after it.
 *
 * After every step the keyring in memory matches the names on disk: a new
 * key joins it when its file is linked into place, a retired key leaves it
 * when its file is renamed away.
 *
 * Functions: keys_init(), keys_open(), keys_close(), keys_rotate(),
 * keys_live(), keys_id_hex(), keys_replay_path(), keys_strerror().
 *
 * Diagnostics: nothing is logged; every failure is a result and a one-line
 * reason in the caller's err buffer. A policy or clock out of range is a
 * caller bug: msg_panic.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "keyfile.h"
#include "keys.h"
#include "log.h"
#include "mcrypto.h"
#include "mem.h"
#include "replay.h"

#define RPL_SUFFIX	".rpl"
#define POLICY_MAX	(INT64_C(100) * 366 * 86400)	/* any setting: 100 years */
#define NOW_MAX		(KEYFILE_TIME_MAX - 3 * POLICY_MAX)	/* new keys' times in range */
#define REPLAY_WAIT_MS	10000	/* for a replay cache's lock when deleting it */

/* ---- names ------------------------------------------------------------- */

void
keys_id_hex(char out[KEYS_ID_HEX], const uint8_t id[KEYS_ID_BYTES])
{
	mcrypto_hex(out, id, KEYS_ID_BYTES);
}

char *
keys_replay_path(const char *spool, const uint8_t id[KEYS_ID_BYTES])
{
	char hex[KEYS_ID_HEX], *p;
	size_t len = strlen(spool) + sizeof "/replay/" + 2 * KEYS_ID_BYTES + sizeof RPL_SUFFIX;

	keys_id_hex(hex, id);
	p = mem_alloc(len);
	(void)snprintf(p, len, "%s/replay/%s%s", spool, hex, RPL_SUFFIX);
	return p;
}

/* ---- the keyring in memory ------------------------------------------------- */

/* ring_new - an empty keyring with its secret memory */
static struct keyring *
ring_new(const char *spool)
{
	struct keyring *kr = mem_calloc(1, sizeof *kr);

	kr->spool = mem_strdup(spool);
	kr->id_sk = mcrypto_secret_alloc(MCRYPTO_SIGN_SK_BYTES);
	kr->names_key = mcrypto_secret_alloc(32);
	kr->mix = mcrypto_secret_alloc(KEYS_MAX_MIX * sizeof *kr->mix);
	mcrypto_wipe(kr->id_sk, MCRYPTO_SIGN_SK_BYTES);
	mcrypto_wipe(kr->names_key, 32);
	mcrypto_wipe(kr->mix, KEYS_MAX_MIX * sizeof *kr->mix);
	return kr;
}

void
keys_close(struct keyring *kr)
{
	if (kr == NULL)
		return;
	mcrypto_secret_free(kr->id_sk);
	mcrypto_secret_free(kr->names_key);
	mcrypto_secret_free(kr->mix);
	mem_free(kr->spool);
	mcrypto_wipe(kr, sizeof *kr);
	mem_free(kr);
}

/* newer - whether a sorts before b: later valid_from, then later valid_until, then id */
static int
newer(const struct keys_mixinfo *a, const struct keys_mixinfo *b)
{
	if (a->valid_from != b->valid_from)
		return a->valid_from > b->valid_from;
	if (a->valid_until != b->valid_until)
		return a->valid_until > b->valid_until;
	return memcmp(a->id, b->id, KEYS_ID_BYTES) > 0;
}

/* ring_insert - add a key at its place, newest valid_from first */
static void
ring_insert(struct keyring *kr, const struct keys_mixinfo *info, const uint8_t sk[32])
{
	size_t i = 0;

	if (kr->nmix >= KEYS_MAX_MIX)
		msg_panic("keys: ring_insert into a full keyring");
	while (i < kr->nmix && !newer(info, &kr->mixinfo[i]))
		i++;
	memmove(&kr->mixinfo[i + 1], &kr->mixinfo[i], (kr->nmix - i) * sizeof *kr->mixinfo);
	memmove(&kr->mix[i + 1], &kr->mix[i], (kr->nmix - i) * sizeof *kr->mix);
	kr->mixinfo[i] = *info;
	memcpy(kr->mix[i].sk, sk, 32);
	memcpy(kr->mix[i].pk, info->pk, 32);
	kr->nmix++;
}

/* ring_remove - drop key i and wipe the slot it leaves */
static void
ring_remove(struct keyring *kr, size_t i)
{
	memmove(&kr->mixinfo[i], &kr->mixinfo[i + 1], (kr->nmix - i - 1) * sizeof *kr->mixinfo);
	memmove(&kr->mix[i], &kr->mix[i + 1], (kr->nmix - i - 1) * sizeof *kr->mix);
	kr->nmix--;
	mcrypto_wipe(&kr->mix[kr->nmix], sizeof *kr->mix);
	memset(&kr->mixinfo[kr->nmix], 0, sizeof *kr->mixinfo);
}

/* ring_has - whether a key with this id is in the keyring */
static int
ring_has(const struct keyring *kr, const uint8_t id[KEYS_ID_BYTES])
{
	size_t i;

	for (i = 0; i < kr->nmix; i++)
		if (memcmp(kr->mixinfo[i].id, id, KEYS_ID_BYTES) == 0)
			return 1;
	return 0;
}

/* ---- loading --------------------------------------------------------------- */

/* load_one - read keys/name of len bytes; a missing file means no node yet */
static enum keys_err
load_one(struct keyfile_dir *kd, const char *name, uint8_t *buf, size_t len)
{
	enum keys_err e = keyfile_read(kd, name, buf, len);

	if (e == KEYS_ERR_MISSING)
		return keyfile_fail(kd, e, name, "missing (the node is not initialised)");
	return e;
}

/* load_mix - every mix-<id>.key into kr, which holds no mix key yet */
static enum keys_err
load_mix(struct keyring *kr, struct keyfile_dir *kd, uint8_t *buf)
{
	uint8_t id[KEYS_ID_BYTES];
	struct keys_mixinfo info;
	enum keys_err e = KEYS_OK;
	struct dirent *de;
	DIR *dir;

	if ((dir = keyfile_list(kd)) == NULL)
		return keyfile_fail(kd, KEYS_ERR_IO, NULL, "cannot list: %s", strerror(errno));
	while (e == KEYS_OK && (de = keyfile_next(kd, dir, "keys", &e)) != NULL) {
		if (!keyfile_hex_name(de->d_name, KEYFILE_MIX_PREFIX, KEYFILE_MIX_SUFFIX, id))
			continue;
		if (kr->nmix == KEYS_MAX_MIX)
			e = keyfile_fail(kd, KEYS_ERR_TOOMANY, NULL, "more than %d mix key files",
			    KEYS_MAX_MIX);
		else if ((e = keyfile_read(kd, de->d_name, buf, KEYFILE_MIX_LEN)) ==
		    KEYS_ERR_MISSING)
			e = keyfile_fail(kd, KEYS_ERR_IO, de->d_name, "vanished while loading");
		else if (e == KEYS_OK &&
		    (e = keyfile_mix_parse(kd, de->d_name, buf, id, &info)) == KEYS_OK)
			ring_insert(kr, &info, buf + KEYFILE_MIX_SK);
	}
	(void)closedir(dir);
	return e;
}

/* load_all - identity, names secret and mix keys, in one secret scratch buffer */
static enum keys_err
load_all(struct keyring *kr, struct keyfile_dir *kd)
{
	uint8_t *buf = mcrypto_secret_alloc(KEYFILE_MAX_LEN);
	enum keys_err e;

	if ((e = load_one(kd, KEYFILE_IDENTITY, buf, KEYFILE_IDENTITY_LEN)) == KEYS_OK &&
	    (e = keyfile_identity_parse(kd, buf, kr->id_pk, kr->id_sk)) == KEYS_OK &&
	    (e = load_one(kd, KEYFILE_NAMES, buf, KEYFILE_NAMES_LEN)) == KEYS_OK &&
	    (e = keyfile_names_parse(kd, buf, kr->names_key)) == KEYS_OK)
		e = load_mix(kr, kd, buf);
	mcrypto_secret_free(buf);
	return e;
}

/*
 * reload_mix - replace kr's mix keys by those on disk now (another process
 * may have rotated since kr was loaded). On failure kr is unchanged.
 */
static enum keys_err
reload_mix(struct keyring *kr, struct keyfile_dir *kd)
{
	uint8_t *buf = mcrypto_secret_alloc(KEYFILE_MAX_LEN);
	struct keyring fresh;
	struct pkt_key *old;
	enum keys_err e;

	memset(&fresh, 0, sizeof fresh);
	fresh.mix = mcrypto_secret_alloc(KEYS_MAX_MIX * sizeof *fresh.mix);
	mcrypto_wipe(fresh.mix, KEYS_MAX_MIX * sizeof *fresh.mix);
	if ((e = load_mix(&fresh, kd, buf)) == KEYS_OK) {
		old = kr->mix;
		kr->mix = fresh.mix;
		fresh.mix = old;
		kr->nmix = fresh.nmix;
		memcpy(kr->mixinfo, fresh.mixinfo, sizeof kr->mixinfo);
	}
	mcrypto_secret_free(fresh.mix);
	mcrypto_secret_free(buf);
	return e;
}

/* ---- making keys ----------------------------------------------------------- */

/* make_dir - spool/sub with mode 0700 if missing (counted in rep) */
static enum keys_err
make_dir(struct keyfile_dir *kd, const char *sub, struct keys_report *rep)
{
	char *path = keyfile_path(kd->spool, sub);
	enum keys_err e = KEYS_OK;
	int fd;

	if (mkdir(path, 0700) == 0) {
		rep->created_dirs++;
		if (chmod(path, 0700) != 0)	/* whatever the umask */
			e = keyfile_fail_sub(kd, KEYS_ERR_IO, sub, NULL, "cannot chmod: %s",
			    strerror(errno));
		else if ((fd = open(kd->spool, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
		    fsync(fd) != 0) {
			e = keyfile_fail_sub(kd, KEYS_ERR_IO, sub, NULL,
			    "cannot sync the spool: %s", strerror(errno));
			if (fd >= 0)
				(void)close(fd);
		} else
			(void)close(fd);
	} else if (errno != EEXIST)
		e = keyfile_fail_sub(kd, KEYS_ERR_IO, sub, NULL, "cannot create: %s",
		    strerror(errno));
	mem_free(path);
	return e;
}

/* make_secret - keys/name from make() if it is missing; *made says if it was */
static enum keys_err
make_secret(struct keyfile_dir *kd, const char *name, size_t len, void (*make)(uint8_t *),
    int *made)
{
	uint8_t *buf;
	enum keys_err e;
	int have;

	if ((have = keyfile_exists(kd, name)) != 0)
		return have > 0 ? KEYS_OK :
		    keyfile_fail(kd, KEYS_ERR_IO, name, "cannot stat: %s", strerror(errno));
	buf = mcrypto_secret_alloc(len);
	make(buf);
	e = keyfile_write(kd, name, buf, len, made);
	mcrypto_secret_free(buf);
	return e;
}

/* cache_create - the empty replay cache of a key about to be made */
static enum keys_err
cache_create(struct keyfile_dir *kd, const uint8_t id[KEYS_ID_BYTES], uint64_t capacity)
{
	char *rpl = keys_replay_path(kd->spool, id);
	enum replay_status st;
	struct replay *rc;

	rc = replay_open(rpl, capacity, REPLAY_CREATE, &st);
	mem_free(rpl);
	if (rc == NULL)
		return keyfile_fail_sub(kd, KEYS_ERR_IO, "replay", NULL, "cannot make the cache "
		    "of a new key: %s", st == REPLAY_ERR_IO ? strerror(errno) : replay_strerror(st));
	if (replay_close(rc) != REPLAY_OK)
		return keyfile_fail_sub(kd, KEYS_ERR_IO, "replay", NULL, "cannot make the cache "
		    "of a new key: %s", strerror(errno));
	return KEYS_OK;
}

/*
 * mix_create - a new mix key valid from `from`, made at now. Its file is
 * durable before it joins the keyring, which it joins if and only if the
 * file was linked into place.
 */
static enum keys_err
mix_create(struct keyring *kr, struct keyfile_dir *kd, int64_t now, int64_t from,
    const struct keys_policy *pol, struct keys_report *rep)
{
	struct keys_mixinfo info;
	char name[KEYFILE_NAME_LEN];
	uint8_t *buf;
	enum keys_err e;
	int placed;

	if (kr->nmix >= KEYS_MAX_MIX)
		return keyfile_fail(kd, KEYS_ERR_TOOMANY, NULL, "%d mix keys already, cannot "
		    "make another (key_publish_ahead and key_grace too long for key_lifetime?)",
		    KEYS_MAX_MIX);
	memset(&info, 0, sizeof info);
	info.created = now;
	info.valid_from = from;
	info.valid_until = from + pol->lifetime;
	info.grace_end = info.valid_until + pol->grace;
	buf = mcrypto_secret_alloc(KEYFILE_MIX_LEN);
	keyfile_mix_make(buf, &info);
	keyfile_mix_name(name, info.id);
	/*
	 * The cache first (key-files.md, section 9): a crash between the two
	 * leaves an orphan cache, which the next rotation deletes; the other
	 * order could leave a key without a cache, indistinguishable from a
	 * key whose cache was lost.
	 */
	if (pol->replay_capacity > 0 &&
	    (e = cache_create(kd, info.id, pol->replay_capacity)) != KEYS_OK) {
		mcrypto_secret_free(buf);
		return e;
	}
	e = keyfile_write(kd, name, buf, KEYFILE_MIX_LEN, &placed);
	if (placed) {
		ring_insert(kr, &info, buf + KEYFILE_MIX_SK);
		rep->created_mix++;
	}
	mcrypto_secret_free(buf);
	return e;
}

/* ---- retiring keys --------------------------------------------------------- */

/*
 * mix_retire - retire key i, whose grace is over. Its file is first renamed
 * to a tmp name and the directory synced, so that a crash from here on
 * leaves a stray tmp file (wiped by the next rotation), never a damaged
 * file under a key's name; the key leaves the keyring at that rename. Then
 * the file is wiped, unlinked, the directory synced, and only then is the
 * replay cache deleted (keys.h: an orphan cache, never a key without one).
 */
static enum keys_err
mix_retire(struct keyring *kr, struct keyfile_dir *kd, size_t i, struct keys_report *rep)
{
	char name[KEYFILE_NAME_LEN], tmp[KEYFILE_NAME_LEN], *rpl;
	uint8_t id[KEYS_ID_BYTES];
	enum replay_status st;
	enum keys_err e;

	memcpy(id, kr->mixinfo[i].id, sizeof id);
	keyfile_mix_name(name, id);
	keyfile_tmp_name(tmp);
	if (renameat(kd->fd, name, kd->fd, tmp) != 0)
		return keyfile_fail(kd, KEYS_ERR_IO, name, "cannot retire: %s", strerror(errno));
	ring_remove(kr, i);
	rep->retired_mix++;
	if ((e = keyfile_sync(kd)) != KEYS_OK || (e = keyfile_shred(kd, tmp)) != KEYS_OK)
		return e;
	rpl = keys_replay_path(kd->spool, id);
	st = replay_unlink(rpl, REPLAY_WAIT_MS);
	mem_free(rpl);
	if (st != REPLAY_OK)
		return keyfile_fail_sub(kd, KEYS_ERR_IO, "replay", NULL, "cache of retired key "
		    "%s: %s (it will be deleted as an orphan)", name, replay_strerror(st));
	return KEYS_OK;
}

/* orphans_remove - delete replay/<id>.rpl whose id is no key's */
static enum keys_err
orphans_remove(struct keyring *kr, struct keyfile_dir *kd, struct keys_report *rep)
{
	char *path = keyfile_path(kd->spool, "replay"), *rpl;
	uint8_t id[KEYS_ID_BYTES];
	enum keys_err e = KEYS_OK;
	enum replay_status st;
	struct dirent *de;
	DIR *dir;

	if ((dir = opendir(path)) == NULL) {
		e = errno == ENOENT ? KEYS_OK : keyfile_fail_sub(kd, KEYS_ERR_IO, "replay", NULL,
		    "cannot list: %s", strerror(errno));
		mem_free(path);
		return e;
	}
	while (e == KEYS_OK && (de = keyfile_next(kd, dir, "replay", &e)) != NULL) {
		if (!keyfile_hex_name(de->d_name, "", RPL_SUFFIX, id) || ring_has(kr, id))
			continue;
		rpl = keys_replay_path(kd->spool, id);
		if ((st = replay_unlink(rpl, REPLAY_WAIT_MS)) != REPLAY_OK)
			e = keyfile_fail_sub(kd, KEYS_ERR_IO, "replay", de->d_name,
			    "cannot delete orphan cache: %s", replay_strerror(st));
		else
			rep->removed_orphans++;
		mem_free(rpl);
	}
	(void)closedir(dir);
	mem_free(path);
	return e;
}

/* ---- rotation -------------------------------------------------------------- */

/* policy_check - settings and clock in range; anything else is a caller bug */
static void
policy_check(const struct keys_policy *pol, time_t now)
{
	if (pol == NULL || pol->lifetime < 1 || pol->lifetime > POLICY_MAX ||
	    pol->publish_ahead < 0 || pol->publish_ahead > POLICY_MAX ||
	    pol->grace < 0 || pol->grace > POLICY_MAX)
		msg_panic("keys: rotation policy out of range");
	if (now < 0 || (int64_t)now > NOW_MAX)
		msg_panic("keys: clock out of range");
}

/* valid_at - whether some key is valid for senders at now */
static int
valid_at(const struct keyring *kr, int64_t now)
{
	size_t i;

	for (i = 0; i < kr->nmix; i++)
		if (kr->mixinfo[i].valid_from <= now && now < kr->mixinfo[i].valid_until)
			return 1;
	return 0;
}

/* last_until - the latest valid_until of all keys (the keyring is not empty) */
static int64_t
last_until(const struct keyring *kr)
{
	int64_t t = kr->mixinfo[0].valid_until;
	size_t i;

	for (i = 1; i < kr->nmix; i++)
		if (kr->mixinfo[i].valid_until > t)
			t = kr->mixinfo[i].valid_until;
	return t;
}

/*
 * rotate_locked - the rotation proper, under the exclusive lock. Retiring
 * comes first (it frees slots); a failure to retire one key stops neither
 * the others nor the making of keys, which keeps the node usable. Returns
 * the first error.
 */
static enum keys_err
rotate_locked(struct keyring *kr, struct keyfile_dir *kd, int64_t now,
    const struct keys_policy *pol, struct keys_report *rep)
{
	enum keys_err e, first = KEYS_OK;
	size_t i;

	for (i = kr->nmix; i-- > 0;)
		if (kr->mixinfo[i].grace_end <= now &&
		    (e = mix_retire(kr, kd, i, rep)) != KEYS_OK && first == KEYS_OK)
			first = e;
	e = KEYS_OK;
	if (!valid_at(kr, now))
		e = mix_create(kr, kd, now, now, pol, rep);
	while (e == KEYS_OK && kr->nmix > 0 && last_until(kr) - now <= pol->publish_ahead)
		e = mix_create(kr, kd, now, last_until(kr), pol, rep);
	if (e != KEYS_OK && first == KEYS_OK)
		first = e;
	if ((e = orphans_remove(kr, kd, rep)) != KEYS_OK && first == KEYS_OK)
		first = e;
	return first;
}

enum keys_err
keys_rotate(struct keyring *kr, time_t now, const struct keys_policy *pol,
    struct keys_report *rep, char *err, size_t errlen)
{
	struct keyfile_dir kd = { kr->spool, -1, err, errlen };
	struct keys_report dummy;
	enum keys_err e, e2;

	policy_check(pol, now);
	if (rep == NULL)
		rep = &dummy;
	memset(rep, 0, sizeof *rep);
	if ((e = keyfile_dir_open(&kd)) == KEYS_OK && (e = keyfile_lock(&kd, LOCK_EX)) == KEYS_OK &&
	    (e = reload_mix(kr, &kd)) == KEYS_OK) {
		e = keyfile_clean_tmp(&kd);
		if ((e2 = rotate_locked(kr, &kd, (int64_t)now, pol, rep)) != KEYS_OK &&
		    e == KEYS_OK)
			e = e2;
	}
	keyfile_dir_close(&kd);
	return e;
}

enum keys_err
keys_init(const char *spool, time_t now, const struct keys_policy *pol,
    struct keys_report *rep, char *err, size_t errlen)
{
	struct keyfile_dir kd = { spool, -1, err, errlen };
	struct keys_report dummy;
	struct keyring *kr = NULL;
	enum keys_err e;

	policy_check(pol, now);
	if (rep == NULL)
		rep = &dummy;
	memset(rep, 0, sizeof *rep);
	if ((e = make_dir(&kd, "keys", rep)) == KEYS_OK &&
	    (e = make_dir(&kd, "replay", rep)) == KEYS_OK &&
	    (e = keyfile_dir_open(&kd)) == KEYS_OK && (e = keyfile_lock(&kd, LOCK_EX)) == KEYS_OK &&
	    (e = keyfile_clean_tmp(&kd)) == KEYS_OK &&
	    (e = make_secret(&kd, KEYFILE_IDENTITY, KEYFILE_IDENTITY_LEN, keyfile_identity_make,
	    &rep->created_identity)) == KEYS_OK &&
	    (e = make_secret(&kd, KEYFILE_NAMES, KEYFILE_NAMES_LEN, keyfile_names_make,
	    &rep->created_names)) == KEYS_OK) {
		kr = ring_new(spool);
		if ((e = load_all(kr, &kd)) == KEYS_OK)
			e = rotate_locked(kr, &kd, (int64_t)now, pol, rep);
	}
	keys_close(kr);
	keyfile_dir_close(&kd);
	return e;
}

enum keys_err
keys_open(struct keyring **out, const char *spool, char *err, size_t errlen)
{
	struct keyfile_dir kd = { spool, -1, err, errlen };
	struct keyring *kr = NULL;
	enum keys_err e;

	if ((e = keyfile_dir_open(&kd)) == KEYS_OK && (e = keyfile_lock(&kd, LOCK_SH)) == KEYS_OK) {
		kr = ring_new(spool);
		e = load_all(kr, &kd);
	}
	keyfile_dir_close(&kd);
	if (e != KEYS_OK) {
		keys_close(kr);
		return e;
	}
	*out = kr;
	return KEYS_OK;
}

size_t
keys_live(const struct keyring *kr, time_t now, const struct pkt_key **keys,
    const struct keys_mixinfo **info)
{
	size_t i, n = 0;

	for (i = 0; i < kr->nmix; i++) {
		if (kr->mixinfo[i].created > now || now >= kr->mixinfo[i].grace_end)
			continue;
		keys[n] = &kr->mix[i];
		if (info != NULL)
			info[n] = &kr->mixinfo[i];
		n++;
	}
	return n;
}

const char *
keys_strerror(enum keys_err e)
{
	switch (e) {
	case KEYS_OK:
		return "success";
	case KEYS_ERR_MISSING:
		return "node keys missing (not initialised)";
	case KEYS_ERR_IO:
		return "key file I/O error";
	case KEYS_ERR_CORRUPT:
		return "key file is corrupt";
	case KEYS_ERR_PERM:
		return "key file or directory is open to group or others";
	case KEYS_ERR_TOOMANY:
		return "too many mix keys";
	}
	return "unknown key store error";
}
