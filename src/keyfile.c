/*
 * keyfile.c - the files under the key store: the keys/ directory, strict
 * reads, durable writes, wiping, and the formats of doc/key-files.md.
 *
 * Every key file is one frame: an 8-byte magic, a 4-byte version, a 4-byte
 * kind, the fields of that kind, and a BLAKE2b-256 checksum of all bytes
 * before it; integers are little-endian. Parsing is strict: exact size,
 * magic, version, checksum, kind, then the meaning (public key derived from
 * the secret, id matching the file name, ordered times), each failure a
 * KEYS_ERR_CORRUPT with a reason naming the file.
 *
 * Durable write: a fresh tmp-<random> file (O_CREAT|O_EXCL, 0600 whatever
 * the umask), written, fsync'ed, link()ed to its name (which never replaces
 * a file), the tmp name unlinked, the directory fsync'ed. Shredding: zeros
 * over the whole file, fsync, unlink, directory fsync. A tmp file found
 * later is a crash's leftover and is shredded by keyfile_clean_tmp(),
 * without the zeros when another link still names a live key.
 *
 * Functions: see keyfile.h. Nothing here logs or exits.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bytes.h"
#include "fdio.h"
#include "keyfile.h"
#include "keys.h"
#include "mcrypto.h"
#include "mem.h"

/* The frame (doc/key-files.md, section 2) */
#define KF_MAGIC	"MIXKEYS1"	/* 8 bytes, no NUL stored */
#define KF_MAGIC_LEN	8
#define KF_VERSION	1
#define KF_OFF_VERSION	8		/* 4 */
#define KF_OFF_KIND	12		/* 4 */
#define KF_SUM_LEN	32

#define KIND_IDENTITY	1
#define KIND_NAMES	2
#define KIND_MIX	3

/* Fields after the 16-byte frame header */
#define ID_OFF_SEED	16
#define ID_OFF_PK	48
#define NM_OFF_KEY	16
#define MX_OFF_SK	KEYFILE_MIX_SK
#define MX_OFF_PK	48
#define MX_OFF_CREATED	80
#define MX_OFF_FROM	88
#define MX_OFF_UNTIL	96
#define MX_OFF_GRACE	104

#define LOCK_WAIT_MS	10000	/* for the keys/ lock */
#define LOCK_NAP_MS	10

/* ---- errors ------------------------------------------------------------ */

static enum keys_err vfail(struct keyfile_dir *kd, enum keys_err e, const char *sub,
    const char *name, const char *fmt, va_list ap) MIX_PRINTF(5, 0);

/* vfail - "spool/sub[/name]: reason" into the caller's buffer; returns e */
static enum keys_err
vfail(struct keyfile_dir *kd, enum keys_err e, const char *sub, const char *name,
    const char *fmt, va_list ap)
{
	char reason[KEYS_ERR_MAX];

	if (kd->err == NULL || kd->errlen == 0)
		return e;
	(void)vsnprintf(reason, sizeof reason, fmt, ap);
	(void)snprintf(kd->err, kd->errlen, "%s/%s%s%s: %s", kd->spool, sub,
	    name != NULL ? "/" : "", name != NULL ? name : "", reason);
	return e;
}

enum keys_err
keyfile_fail(struct keyfile_dir *kd, enum keys_err e, const char *name, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	e = vfail(kd, e, "keys", name, fmt, ap);
	va_end(ap);
	return e;
}

enum keys_err
keyfile_fail_sub(struct keyfile_dir *kd, enum keys_err e, const char *sub, const char *name,
    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	e = vfail(kd, e, sub, name, fmt, ap);
	va_end(ap);
	return e;
}

/* ---- names -------------------------------------------------------------- */

char *
keyfile_path(const char *a, const char *b)
{
	size_t len = strlen(a) + strlen(b) + 2;
	char *p = mem_alloc(len);

	(void)snprintf(p, len, "%s/%s", a, b);
	return p;
}

int
keyfile_hex_name(const char *name, const char *prefix, const char *suffix,
    uint8_t id[KEYS_ID_BYTES])
{
	size_t plen = strlen(prefix), slen = strlen(suffix), i;
	const char *hex = name + plen;

	/* lower case only, so that every id has exactly one name */
	if (strlen(name) != plen + 2 * KEYS_ID_BYTES + slen ||
	    strncmp(name, prefix, plen) != 0 || strcmp(hex + 2 * KEYS_ID_BYTES, suffix) != 0)
		return 0;
	for (i = 0; i < 2 * KEYS_ID_BYTES; i++)
		if (!((hex[i] >= '0' && hex[i] <= '9') || (hex[i] >= 'a' && hex[i] <= 'f')))
			return 0;
	return mcrypto_unhex(id, KEYS_ID_BYTES, hex, 2 * KEYS_ID_BYTES) == 0;
}

void
keyfile_mix_name(char out[KEYFILE_NAME_LEN], const uint8_t id[KEYS_ID_BYTES])
{
	char hex[KEYS_ID_HEX];

	mcrypto_hex(hex, id, KEYS_ID_BYTES);
	(void)snprintf(out, KEYFILE_NAME_LEN, "%s%s%s", KEYFILE_MIX_PREFIX, hex,
	    KEYFILE_MIX_SUFFIX);
}

void
keyfile_tmp_name(char out[KEYFILE_NAME_LEN])
{
	uint8_t rnd[8];
	char hex[2 * sizeof rnd + 1];

	mcrypto_random(NULL, rnd, sizeof rnd);
	mcrypto_hex(hex, rnd, sizeof rnd);
	(void)snprintf(out, KEYFILE_NAME_LEN, "%s%s", KEYFILE_TMP_PREFIX, hex);
}

/* ---- the keys/ directory -------------------------------------------------- */

enum keys_err
keyfile_dir_open(struct keyfile_dir *kd)
{
	char *path = keyfile_path(kd->spool, "keys");
	struct stat sb;
	int fd;

	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	mem_free(path);
	if (fd < 0 && errno == ENOENT)
		return keyfile_fail(kd, KEYS_ERR_MISSING, NULL,
		    "missing (the node is not initialised)");
	if (fd < 0)
		return keyfile_fail(kd, KEYS_ERR_IO, NULL, "cannot open: %s", strerror(errno));
	if (fstat(fd, &sb) != 0) {
		(void)keyfile_fail(kd, KEYS_ERR_IO, NULL, "cannot stat: %s", strerror(errno));
		(void)close(fd);
		return KEYS_ERR_IO;
	}
	if ((sb.st_mode & 077) != 0) {
		(void)close(fd);
		return keyfile_fail(kd, KEYS_ERR_PERM, NULL, "mode %04o gives group or others "
		    "access (must be 0700)", (unsigned)(sb.st_mode & 07777));
	}
	kd->fd = fd;
	return KEYS_OK;
}

void
keyfile_dir_close(struct keyfile_dir *kd)
{
	if (kd->fd >= 0)
		(void)close(kd->fd);
	kd->fd = -1;
}

enum keys_err
keyfile_lock(struct keyfile_dir *kd, int op)
{
	struct timespec nap = { 0, LOCK_NAP_MS * 1000L * 1000L };
	unsigned waited = 0;

	for (;;) {
		if (flock(kd->fd, op | LOCK_NB) == 0)
			return KEYS_OK;
		if (errno == EINTR)
			continue;
		if (errno != EWOULDBLOCK)
			return keyfile_fail(kd, KEYS_ERR_IO, NULL, "cannot lock: %s",
			    strerror(errno));
		if (waited >= LOCK_WAIT_MS)
			return keyfile_fail(kd, KEYS_ERR_IO, NULL,
			    "locked by another process for %u ms", waited);
		(void)nanosleep(&nap, NULL);
		waited += LOCK_NAP_MS;
	}
}

enum keys_err
keyfile_sync(struct keyfile_dir *kd)
{
	if (fsync(kd->fd) != 0)
		return keyfile_fail(kd, KEYS_ERR_IO, NULL, "cannot sync: %s", strerror(errno));
	return KEYS_OK;
}

DIR *
keyfile_list(struct keyfile_dir *kd)
{
	int fd = openat(kd->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC), saved;
	DIR *dir;

	if (fd < 0)
		return NULL;
	if ((dir = fdopendir(fd)) == NULL) {
		saved = errno;
		(void)close(fd);
		errno = saved;
	}
	return dir;
}

struct dirent *
keyfile_next(struct keyfile_dir *kd, DIR *dir, const char *sub, enum keys_err *e)
{
	struct dirent *de;

	errno = 0;
	de = readdir(dir);
	if (de == NULL && errno != 0)
		*e = keyfile_fail_sub(kd, KEYS_ERR_IO, sub, NULL, "cannot list: %s",
		    strerror(errno));
	return de;
}

int
keyfile_exists(struct keyfile_dir *kd, const char *name)
{
	struct stat sb;

	if (fstatat(kd->fd, name, &sb, AT_SYMLINK_NOFOLLOW) == 0)
		return 1;
	return errno == ENOENT ? 0 : -1;
}

/* ---- whole files ------------------------------------------------------------ */

/* wipe_fd - overwrite the first size bytes of fd with zeros and sync */
static int
wipe_fd(int fd, off_t size)
{
	static const uint8_t zero[512];
	off_t off = 0;
	size_t chunk;
	ssize_t n;

	while (off < size) {
		chunk = size - off < (off_t)sizeof zero ? (size_t)(size - off) : sizeof zero;
		n = pwrite(fd, zero, chunk, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO;
			return -1;
		}
		off += n;
	}
	return fsync(fd);
}

enum keys_err
keyfile_read(struct keyfile_dir *kd, const char *name, uint8_t *buf, size_t len)
{
	struct stat sb;
	size_t got = 0;
	ssize_t n = 0;
	int fd;

	if (fstatat(kd->fd, name, &sb, AT_SYMLINK_NOFOLLOW) != 0)
		return errno == ENOENT ? KEYS_ERR_MISSING :
		    keyfile_fail(kd, KEYS_ERR_IO, name, "cannot stat: %s", strerror(errno));
	if (!S_ISREG(sb.st_mode))
		return keyfile_fail(kd, KEYS_ERR_CORRUPT, name, "not a regular file");
	if ((sb.st_mode & 077) != 0)
		return keyfile_fail(kd, KEYS_ERR_PERM, name, "mode %04o gives group or others "
		    "access (must be 0600)", (unsigned)(sb.st_mode & 07777));
	if (sb.st_size != (off_t)len)
		return keyfile_fail(kd, KEYS_ERR_CORRUPT, name, "%jd bytes, a key file of this "
		    "kind has %zu", (intmax_t)sb.st_size, len);
	fd = openat(kd->fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return keyfile_fail(kd, KEYS_ERR_IO, name, "cannot open: %s", strerror(errno));
	while (got < len) {
		n = read(fd, buf + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	if (got < len)
		(void)keyfile_fail(kd, n < 0 ? KEYS_ERR_IO : KEYS_ERR_CORRUPT, name,
		    "cannot read: %s", n < 0 ? strerror(errno) : "file shrank while reading");
	(void)close(fd);	/* read-only: nothing to lose */
	if (got < len)
		return n < 0 ? KEYS_ERR_IO : KEYS_ERR_CORRUPT;
	return KEYS_OK;
}

enum keys_err
keyfile_write(struct keyfile_dir *kd, const char *name, const uint8_t *buf, size_t len,
    int *placed)
{
	char tmp[KEYFILE_NAME_LEN];
	enum keys_err e = KEYS_OK;
	int fd;

	*placed = 0;
	keyfile_tmp_name(tmp);
	fd = openat(kd->fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return keyfile_fail(kd, KEYS_ERR_IO, tmp, "cannot create: %s", strerror(errno));
	if (fchmod(fd, 0600) != 0 || fd_write_all(fd, buf, len) != 0 || fsync(fd) != 0)
		e = keyfile_fail(kd, KEYS_ERR_IO, tmp, "cannot write: %s", strerror(errno));
	else if (linkat(kd->fd, tmp, kd->fd, name, 0) != 0)
		e = keyfile_fail(kd, KEYS_ERR_IO, name, "cannot link into place: %s",
		    strerror(errno));
	else
		*placed = 1;
	if (!*placed)
		(void)wipe_fd(fd, (off_t)len);	/* best effort; a leftover is wiped later */
	(void)close(fd);			/* synced already, or abandoned */
	if (unlinkat(kd->fd, tmp, 0) != 0 && e == KEYS_OK)
		e = keyfile_fail(kd, KEYS_ERR_IO, tmp, "cannot remove: %s", strerror(errno));
	if (keyfile_sync(kd) != KEYS_OK && e == KEYS_OK)
		e = KEYS_ERR_IO;
	return e;
}

enum keys_err
keyfile_shred(struct keyfile_dir *kd, const char *name)
{
	struct stat sb;
	int fd;

	fd = openat(kd->fd, name, O_WRONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return keyfile_fail(kd, KEYS_ERR_IO, name, "cannot open to wipe: %s",
		    strerror(errno));
	/* no zeros if another link names the data: a live key (keyfile_write crashed) */
	if (fstat(fd, &sb) != 0 ||
	    (S_ISREG(sb.st_mode) && sb.st_nlink == 1 && wipe_fd(fd, sb.st_size) != 0)) {
		(void)keyfile_fail(kd, KEYS_ERR_IO, name, "cannot wipe: %s", strerror(errno));
		(void)close(fd);
		return KEYS_ERR_IO;
	}
	(void)close(fd);
	if (unlinkat(kd->fd, name, 0) != 0)
		return keyfile_fail(kd, KEYS_ERR_IO, name, "cannot remove: %s", strerror(errno));
	return keyfile_sync(kd);
}

enum keys_err
keyfile_clean_tmp(struct keyfile_dir *kd)
{
	uint8_t dummy[KEYS_ID_BYTES];
	enum keys_err e = KEYS_OK;
	struct dirent *de;
	struct stat sb;
	DIR *dir;

	if ((dir = keyfile_list(kd)) == NULL)
		return keyfile_fail(kd, KEYS_ERR_IO, NULL, "cannot list: %s", strerror(errno));
	while (e == KEYS_OK && (de = keyfile_next(kd, dir, "keys", &e)) != NULL) {
		if (!keyfile_hex_name(de->d_name, KEYFILE_TMP_PREFIX, "", dummy) ||
		    fstatat(kd->fd, de->d_name, &sb, AT_SYMLINK_NOFOLLOW) != 0 ||
		    !S_ISREG(sb.st_mode))
			continue;
		e = keyfile_shred(kd, de->d_name);
	}
	(void)closedir(dir);
	return e;
}

/* ---- formats ---------------------------------------------------------------- */

/* frame_seal - magic, version and kind at the front, the checksum at the end */
static void
frame_seal(uint8_t *buf, size_t len, uint32_t kind)
{
	memcpy(buf, KF_MAGIC, KF_MAGIC_LEN);
	put_le32(buf + KF_OFF_VERSION, KF_VERSION);
	put_le32(buf + KF_OFF_KIND, kind);
	mcrypto_hash(buf + len - KF_SUM_LEN, KF_SUM_LEN, NULL, 0, buf, len - KF_SUM_LEN);
}

/* frame_check - magic, version, checksum, then kind, of a file of the right size */
static enum keys_err
frame_check(struct keyfile_dir *kd, const char *name, const uint8_t *buf, size_t len,
    uint32_t kind)
{
	uint8_t sum[KF_SUM_LEN];
	uint32_t v;

	if (memcmp(buf, KF_MAGIC, KF_MAGIC_LEN) != 0)
		return keyfile_fail(kd, KEYS_ERR_CORRUPT, name, "not a key file (bad magic)");
	if ((v = get_le32(buf + KF_OFF_VERSION)) != KF_VERSION)
		return keyfile_fail(kd, KEYS_ERR_CORRUPT, name, "format version %" PRIu32
		    ", this program reads %d", v, KF_VERSION);
	mcrypto_hash(sum, sizeof sum, NULL, 0, buf, len - KF_SUM_LEN);
	if (!mcrypto_equal(sum, buf + len - KF_SUM_LEN, KF_SUM_LEN))
		return keyfile_fail(kd, KEYS_ERR_CORRUPT, name, "checksum mismatch");
	if ((v = get_le32(buf + KF_OFF_KIND)) != kind)
		return keyfile_fail(kd, KEYS_ERR_CORRUPT, name, "holds a key of kind %" PRIu32
		    ", expected %" PRIu32, v, kind);
	return KEYS_OK;
}

void
keyfile_identity_make(uint8_t buf[KEYFILE_IDENTITY_LEN])
{
	uint8_t *sk = mcrypto_secret_alloc(MCRYPTO_SIGN_SK_BYTES);

	mcrypto_random(NULL, buf + ID_OFF_SEED, MCRYPTO_SIGN_SEED_BYTES);
	mcrypto_sign_seed_keypair(buf + ID_OFF_PK, sk, buf + ID_OFF_SEED);
	frame_seal(buf, KEYFILE_IDENTITY_LEN, KIND_IDENTITY);
	mcrypto_secret_free(sk);
}

enum keys_err
keyfile_identity_parse(struct keyfile_dir *kd, const uint8_t *buf, uint8_t pk[32],
    uint8_t sk[64])
{
	enum keys_err e;

	e = frame_check(kd, KEYFILE_IDENTITY, buf, KEYFILE_IDENTITY_LEN, KIND_IDENTITY);
	if (e != KEYS_OK)
		return e;
	mcrypto_sign_seed_keypair(pk, sk, buf + ID_OFF_SEED);
	if (!mcrypto_equal(pk, buf + ID_OFF_PK, MCRYPTO_SIGN_PK_BYTES)) {
		mcrypto_wipe(sk, MCRYPTO_SIGN_SK_BYTES);
		return keyfile_fail(kd, KEYS_ERR_CORRUPT, KEYFILE_IDENTITY,
		    "public key does not match the secret key");
	}
	return KEYS_OK;
}

void
keyfile_names_make(uint8_t buf[KEYFILE_NAMES_LEN])
{
	mcrypto_random(NULL, buf + NM_OFF_KEY, 32);
	frame_seal(buf, KEYFILE_NAMES_LEN, KIND_NAMES);
}

enum keys_err
keyfile_names_parse(struct keyfile_dir *kd, const uint8_t *buf, uint8_t key[32])
{
	enum keys_err e;

	e = frame_check(kd, KEYFILE_NAMES, buf, KEYFILE_NAMES_LEN, KIND_NAMES);
	if (e != KEYS_OK)
		return e;
	if (mcrypto_is_zero(buf + NM_OFF_KEY, 32))
		return keyfile_fail(kd, KEYS_ERR_CORRUPT, KEYFILE_NAMES, "secret is all zero");
	memcpy(key, buf + NM_OFF_KEY, 32);
	return KEYS_OK;
}

/* key_id - the first 8 bytes of BLAKE2b-256 of the X25519 public key */
static void
key_id(uint8_t id[KEYS_ID_BYTES], const uint8_t pk[32])
{
	uint8_t h[MCRYPTO_HASH_BYTES];

	mcrypto_hash(h, sizeof h, NULL, 0, pk, 32);
	memcpy(id, h, KEYS_ID_BYTES);
}

void
keyfile_mix_make(uint8_t buf[KEYFILE_MIX_LEN], struct keys_mixinfo *info)
{
	mcrypto_random(NULL, buf + MX_OFF_SK, 32);
	mcrypto_x25519_base(info->pk, buf + MX_OFF_SK);
	key_id(info->id, info->pk);
	memcpy(buf + MX_OFF_PK, info->pk, 32);
	put_le64(buf + MX_OFF_CREATED, (uint64_t)info->created);
	put_le64(buf + MX_OFF_FROM, (uint64_t)info->valid_from);
	put_le64(buf + MX_OFF_UNTIL, (uint64_t)info->valid_until);
	put_le64(buf + MX_OFF_GRACE, (uint64_t)info->grace_end);
	frame_seal(buf, KEYFILE_MIX_LEN, KIND_MIX);
}

/* times_ok - 0 <= created <= valid_from < valid_until <= grace_end <= year 9999 */
static int
times_ok(const uint8_t *buf)
{
	uint64_t cr = get_le64(buf + MX_OFF_CREATED), fr = get_le64(buf + MX_OFF_FROM);
	uint64_t un = get_le64(buf + MX_OFF_UNTIL), gr = get_le64(buf + MX_OFF_GRACE);

	return cr <= fr && fr < un && un <= gr && gr <= (uint64_t)KEYFILE_TIME_MAX;
}

enum keys_err
keyfile_mix_parse(struct keyfile_dir *kd, const char *name, const uint8_t *buf,
    const uint8_t id[KEYS_ID_BYTES], struct keys_mixinfo *info)
{
	enum keys_err e;

	if ((e = frame_check(kd, name, buf, KEYFILE_MIX_LEN, KIND_MIX)) != KEYS_OK)
		return e;
	mcrypto_x25519_base(info->pk, buf + MX_OFF_SK);
	if (!mcrypto_equal(info->pk, buf + MX_OFF_PK, 32))
		return keyfile_fail(kd, KEYS_ERR_CORRUPT, name,
		    "public key does not match the secret key");
	key_id(info->id, info->pk);
	if (!mcrypto_equal(info->id, id, KEYS_ID_BYTES))
		return keyfile_fail(kd, KEYS_ERR_CORRUPT, name,
		    "file name does not match the key's id");
	if (!times_ok(buf))
		return keyfile_fail(kd, KEYS_ERR_CORRUPT, name, "inconsistent times (need "
		    "created <= valid_from < valid_until <= grace_end <= year 9999)");
	info->created = (int64_t)get_le64(buf + MX_OFF_CREATED);
	info->valid_from = (int64_t)get_le64(buf + MX_OFF_FROM);
	info->valid_until = (int64_t)get_le64(buf + MX_OFF_UNTIL);
	info->grace_end = (int64_t)get_le64(buf + MX_OFF_GRACE);
	return KEYS_OK;
}
