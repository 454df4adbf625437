/*
 * reasm.c - the exit's on-disk store of message fragments (reasm.h).
 *
 * doc/INTERNALS.md section 8 is the contract: the layout, every file
 * format byte by byte, the order of the steps and what a crash between
 * them leaves. In short: DIR/<name>/ holds one set (a state file, one
 * file per stored index, maybe an in-flight mark); a new set is built in
 * DIR/tmp/ and renamed into place whole; a removed set is renamed into
 * DIR/tmp/ first; DIR/done/<name> is the mark that ends a set, written
 * before the set is removed, so that the mark is the commit point of
 * reasm_done and of giving a set up.
 *
 * reasm_open reads every set once into an index in memory (the flusher
 * holds flush.lock, so nobody else changes the store meanwhile); reasm_next
 * and the limits work on that index.
 *
 * Functions: reasm_open(), reasm_close(), reasm_add(), reasm_next(),
 * reasm_ready_free(), reasm_begin(), reasm_done(), reasm_defer(),
 * reasm_fail(), reasm_expire(), reasm_count(), reasm_strerror().
 *
 * Diagnostics: none; every failure is a result, errno kept for
 * REASM_ERR_IO (EINVAL: a bad argument; ENOENT: no such set; ENOSPC: a
 * limit of the store). Nothing here logs an id, a name or a time.
 */
#define _GNU_SOURCE		/* O_NOATIME */
#include <config.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bytes.h"
#include "fdio.h"
#include "fragment.h"
#include "mcrypto.h"
#include "mem.h"
#include "reasm.h"

#define SETS_MAX	100000			/* sets in the store */
#define BYTES_MAX	((uint64_t)1 << 30)	/* bytes of fragment files */

#define MAGIC_LEN	8
#define SUM_LEN		32
#define FRAG_MAGIC	"MIXRFRG1"		/* fragment file: magic, body, sum */
#define FILE_OVER	(MAGIC_LEN + SUM_LEN)
#define STATE_MAGIC	"MIXRSET1"
#define STATE_LEN	76
#define MARK_MAGIC	"MIXRDON1"
#define MARK_LEN	56
#define MARK_DONE	1			/* delivered: the set is removed */
#define MARK_GAVE_UP	2			/* given up: the set goes to failed */
#define MARK_BAD	3			/* (read_mark: a damaged mark) */
#define NAME_DOMAIN	"mixmail-reasm-set"	/* names: MAC(key, domain || id) */
#define STATE_NAME	"state"
#define FLIGHT_NAME	"flight"
#define TMP_RANDOM	16			/* tmp names: "t.", "s.", "r." + 32 hex */
#define TMP_SIZE	(2 + 2 * TMP_RANDOM + 1)
#define ALT_RANDOM	4			/* failed/: ".<8 hex>" after a collision */
#define ALT_TRIES	8

_Static_assert(STATE_LEN == 44 + SUM_LEN, "state layout");
_Static_assert(MARK_LEN == 24 + SUM_LEN, "mark layout");

struct set {
	char name[REASM_NAME_LEN + 1];
	unsigned k, n, count;		/* count: distinct indices stored */
	uint32_t msg_len, retry;
	int64_t first, not_before, first_ready;
	uint8_t have[32];		/* bitmap of the stored indices */
	int flight, damaged;		/* damaged: the state file is unusable */
};

struct reasm {
	int dir_fd, tmp_fd, done_fd, failed_fd;
	uint8_t *key;
	struct set *sets;
	size_t nsets, cap, max_sets;
	uint64_t bytes, max_bytes;
};

/* the test's way to make the limits small (no header: not an interface) */
void reasm_set_limits_for_tests(struct reasm *r, size_t max_sets, uint64_t max_bytes);

static const struct timespec zero_times[2];

/* ---- small helpers --------------------------------------------------------- */

static enum reasm_err
io_err(int e)
{
	errno = e;
	return REASM_ERR_IO;
}

/* hex_valid - exactly len lower-case hex digits, then the end of s */
static int
hex_valid(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return s[len] == '\0';
}

static void
random_name(char out[TMP_SIZE], char kind)
{
	uint8_t rnd[TMP_RANDOM];

	mcrypto_random(NULL, rnd, sizeof rnd);
	out[0] = kind;
	out[1] = '.';
	mcrypto_hex(out + 2, rnd, sizeof rnd);
}

static void
set_name(const struct reasm *r, const uint8_t id[FRAG_ID_SIZE], char name[REASM_NAME_LEN + 1])
{
	uint8_t in[sizeof NAME_DOMAIN - 1 + FRAG_ID_SIZE], mac[MCRYPTO_HASH_BYTES];

	memcpy(in, NAME_DOMAIN, sizeof NAME_DOMAIN - 1);
	memcpy(in + sizeof NAME_DOMAIN - 1, id, FRAG_ID_SIZE);
	mcrypto_hash(mac, sizeof mac, r->key, MCRYPTO_KEY_BYTES, in, sizeof in);
	mcrypto_hex(name, mac, REASM_NAME_LEN / 2);
	mcrypto_wipe(in, sizeof in);
	mcrypto_wipe(mac, sizeof mac);
}

static void
index_name(char out[5], unsigned i)
{
	static const char hex[] = "0123456789abcdef";

	out[0] = 'i';
	out[1] = '.';
	out[2] = hex[(i >> 4) & 15];
	out[3] = hex[i & 15];
	out[4] = '\0';
}

/* file_len - bytes of one fragment file of s: magic, body, sum */
static uint64_t
file_len(const struct set *s)
{
	return FILE_OVER + FRAG_HEAD + (s->msg_len + s->k - 1) / s->k;
}

static int
open_dir(int at, const char *name)
{
	return openat(at, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
}

/* write_new - dfd/name, new, 0600, times 0, synced; nothing left on failure */
static int
write_new(int dfd, const char *name, const uint8_t *buf, size_t len)
{
	int fd, ok, saved;

	fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -1;
	ok = fchmod(fd, 0600) == 0 && fd_write_all(fd, buf, len) == 0;
	if (ok)
		(void)futimens(fd, zero_times);	/* privacy, not data: no error */
	ok = ok && fd_fsync(fd) == 0;
	saved = errno;
	if (close(fd) != 0 && ok) {
		ok = 0;
		saved = errno;
	}
	if (!ok) {
		(void)unlinkat(dfd, name, 0);
		errno = saved;
		return -1;
	}
	return 0;
}

/*
 * put_file - buf into dst_fd/dst through tmp/: renamed over dst, or (link)
 * linked, never replacing (EEXIST). Then dst_fd is synced.
 */
static int
put_file(struct reasm *r, const uint8_t *buf, size_t len, int dst_fd, const char *dst, int link)
{
	char tmp[TMP_SIZE];
	int rc, saved;

	random_name(tmp, 't');
	if (write_new(r->tmp_fd, tmp, buf, len) != 0)
		return -1;
	rc = link ? linkat(r->tmp_fd, tmp, dst_fd, dst, 0) : renameat(r->tmp_fd, tmp, dst_fd, dst);
	saved = errno;
	if (rc != 0 || link)
		(void)unlinkat(r->tmp_fd, tmp, 0);
	if (rc != 0) {
		errno = saved;
		return -1;
	}
	return fd_fsync(dst_fd);
}

/*
 * read_file - dfd/name, a regular file of at most cap bytes, into buf:
 * 0, 1 (damage: not a regular file, or too long), 2 (missing) or -1
 * (errno). O_NONBLOCK: a FIFO must not hang the flusher.
 */
static int
read_file(int dfd, const char *name, uint8_t *buf, size_t cap, size_t *len)
{
	int flags = O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, fd, rc = 0, saved;
	struct stat sb;
	uint8_t extra;
	size_t got = 0;
	ssize_t n;

	*len = 0;
	fd = openat(dfd, name, flags | O_NOATIME);	/* needs the owner */
	if (fd < 0 && errno == EPERM)
		fd = openat(dfd, name, flags);
	if (fd < 0)
		return errno == ENOENT ? 2 : errno == ELOOP ? 1 : -1;
	if (fstat(fd, &sb) != 0)
		rc = -1;
	else if (!S_ISREG(sb.st_mode) || (uint64_t)sb.st_size > cap)
		rc = 1;
	while (rc == 0) {
		n = got < cap ? read(fd, buf + got, cap - got) : read(fd, &extra, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			rc = -1;
		else if (n > 0 && got == cap)
			rc = 1;			/* grew since fstat */
		else if (n == 0)
			break;
		else
			got += (size_t)n;
	}
	saved = errno;
	(void)close(fd);
	errno = saved;
	*len = got;
	return rc;
}

/* list_dir - the names in dfd but . and .., mem_alloc'ed; free with free_list */
static int
list_dir(int dfd, char ***names, size_t *n)
{
	struct dirent *de;
	size_t cap = 16;
	DIR *d;
	int fd, saved;

	*names = mem_alloc(cap * sizeof **names);
	*n = 0;
	/* a descriptor of its own (fdopendir takes it); O_NOATIME as in read_file */
	fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOATIME);
	if (fd < 0 && errno == EPERM)
		fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if ((d = fdopendir(fd)) == NULL) {
		saved = errno;
		(void)close(fd);
		errno = saved;
		return -1;
	}
	for (errno = 0; (de = readdir(d)) != NULL; errno = 0) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (*n == cap)
			*names = mem_realloc(*names, (cap *= 2) * sizeof **names);
		(*names)[(*n)++] = mem_strdup(de->d_name);
	}
	saved = errno;
	(void)closedir(d);
	errno = saved;
	return saved == 0 ? 0 : -1;
}

static void
free_list(char **names, size_t n)
{
	while (n > 0)
		mem_free(names[--n]);
	mem_free(names);
}

/* rm_tree - remove dfd/name and what it holds (two levels), best effort */
static void
rm_tree(int dfd, const char *name, int depth)
{
	char **v;
	size_t n, i;
	int fd;

	if (unlinkat(dfd, name, 0) == 0 || (errno != EISDIR && errno != EPERM) || depth > 1)
		return;
	if ((fd = open_dir(dfd, name)) >= 0) {
		(void)list_dir(fd, &v, &n);	/* what it could read */
		for (i = 0; i < n; i++)
			rm_tree(fd, v[i], depth + 1);
		free_list(v, n);
		(void)close(fd);
	}
	(void)unlinkat(dfd, name, AT_REMOVEDIR);
}

/* ---- file formats (doc/INTERNALS.md section 8.2) ----------------------------- */

static void
state_encode(const struct set *s, uint8_t b[STATE_LEN])
{
	memcpy(b, STATE_MAGIC, MAGIC_LEN);
	b[8] = (uint8_t)s->k;
	b[9] = (uint8_t)s->n;
	b[10] = b[11] = 0;
	put_be32(b + 12, s->msg_len);
	put_be64(b + 16, (uint64_t)s->first);
	put_be32(b + 24, s->retry);
	put_be64(b + 28, (uint64_t)s->not_before);
	put_be64(b + 36, (uint64_t)s->first_ready);
	mcrypto_hash(b + 44, SUM_LEN, NULL, 0, b, 44);
}

/* decode_time - a big-endian time that must not be negative */
static int
decode_time(const uint8_t *p, int64_t *t)
{
	uint64_t v = get_be64(p);

	*t = (int64_t)v;
	return v <= INT64_MAX;
}

static int
state_decode(const uint8_t *b, size_t len, struct set *s)
{
	uint8_t sum[SUM_LEN];
	unsigned k, n, want;
	uint32_t l;

	if (len != STATE_LEN || memcmp(b, STATE_MAGIC, MAGIC_LEN) != 0)
		return -1;
	mcrypto_hash(sum, sizeof sum, NULL, 0, b, 44);
	if (!mcrypto_equal(sum, b + 44, SUM_LEN) || b[10] != 0 || b[11] != 0)
		return -1;
	k = b[8];
	n = b[9];
	l = get_be32(b + 12);
	want = l == 0 ? 1 : (unsigned)((l + FRAG_SHARD_MAX - 1) / FRAG_SHARD_MAX);
	if (k < 1 || k > FRAG_K_MAX || n < k || l > FRAG_MSG_MAX || k != want)
		return -1;
	s->k = k;
	s->n = n;
	s->msg_len = l;
	s->retry = get_be32(b + 24);
	return decode_time(b + 16, &s->first) && decode_time(b + 28, &s->not_before) &&
	    decode_time(b + 36, &s->first_ready) ? 0 : -1;
}

static int
write_state(struct reasm *r, const struct set *s)
{
	uint8_t b[STATE_LEN];
	int fd, rc, saved;

	state_encode(s, b);
	if ((fd = open_dir(r->dir_fd, s->name)) < 0)
		return -1;
	rc = put_file(r, b, sizeof b, fd, STATE_NAME, 0);
	saved = errno;
	(void)futimens(fd, zero_times);
	(void)close(fd);
	errno = saved;
	return rc;
}

/* write_mark - done/<name> = magic, kind, 7 zero bytes, time, sum */
static int
write_mark(struct reasm *r, const char *name, int kind, int64_t t)
{
	uint8_t b[MARK_LEN];

	memcpy(b, MARK_MAGIC, MAGIC_LEN);
	memset(b + 8, 0, 8);
	b[8] = (uint8_t)kind;
	put_be64(b + 16, (uint64_t)t);
	mcrypto_hash(b + 24, SUM_LEN, NULL, 0, b, 24);
	return put_file(r, b, sizeof b, r->done_fd, name, 0);
}

/* read_mark - MARK_DONE, MARK_GAVE_UP, MARK_BAD (damaged), 0 (none) or -1 */
static int
read_mark(struct reasm *r, const char *name, int64_t *t)
{
	uint8_t b[MARK_LEN], sum[SUM_LEN];
	size_t len;
	int rc;

	if ((rc = read_file(r->done_fd, name, b, sizeof b, &len)) != 0)
		return rc < 0 ? -1 : rc == 2 ? 0 : MARK_BAD;
	mcrypto_hash(sum, sizeof sum, NULL, 0, b, 24);
	if (len != MARK_LEN || memcmp(b, MARK_MAGIC, MAGIC_LEN) != 0 ||
	    !mcrypto_equal(sum, b + 24, SUM_LEN) || (b[8] != MARK_DONE && b[8] != MARK_GAVE_UP) ||
	    !mcrypto_is_zero(b + 9, 7) || !decode_time(b + 16, t))
		return MARK_BAD;
	return b[8];
}

/* ---- the index and the moves of whole sets ------------------------------------ */

static struct set *
find(struct reasm *r, const char *name)
{
	size_t i;

	if (name == NULL || !hex_valid(name, REASM_NAME_LEN))
		return NULL;
	for (i = 0; i < r->nsets; i++)
		if (memcmp(r->sets[i].name, name, REASM_NAME_LEN) == 0)
			return &r->sets[i];
	return NULL;
}

static struct set *
index_add(struct reasm *r, const struct set *s)
{
	if (r->nsets == r->cap) {
		r->cap = r->cap == 0 ? 64 : 2 * r->cap;
		r->sets = mem_realloc(r->sets, r->cap * sizeof *r->sets);
	}
	r->sets[r->nsets] = *s;
	if (!s->damaged)
		r->bytes += s->count * file_len(s);
	return &r->sets[r->nsets++];
}

static void
index_remove(struct reasm *r, struct set *s)
{
	if (!s->damaged)
		r->bytes -= s->count * file_len(s);
	*s = r->sets[--r->nsets];
}

/* remove_set - rename DIR/<name> into tmp/, sync DIR, then delete it there */
static int
remove_set(struct reasm *r, const char *name)
{
	char tmp[TMP_SIZE];

	random_name(tmp, 'r');
	if (renameat(r->dir_fd, name, r->tmp_fd, tmp) != 0 || fd_fsync(r->dir_fd) != 0)
		return -1;
	rm_tree(r->tmp_fd, tmp, 0);
	return 0;
}

/*
 * to_failed - from_fd/from into failed/<prefix><name>, renamed (a set's
 * directory) or linked (a file); never replacing: after a collision the
 * name gets ".<8 hex>". failed/ is synced.
 */
static int
to_failed(struct reasm *r, int from_fd, const char *from, const char *prefix,
    const char *name, int link)
{
	char dst[8 + REASM_NAME_LEN + 2 + 2 * ALT_RANDOM], alt[2 * ALT_RANDOM + 1];
	uint8_t rnd[ALT_RANDOM];
	int tries, rc;

	for (tries = 0; tries < ALT_TRIES; tries++) {
		alt[0] = '\0';
		if (tries > 0) {
			mcrypto_random(NULL, rnd, sizeof rnd);
			mcrypto_hex(alt, rnd, sizeof rnd);
		}
		(void)snprintf(dst, sizeof dst, "%s%s%s%s", prefix, name, tries > 0 ? "." : "", alt);
		rc = link ? linkat(from_fd, from, r->failed_fd, dst, 0) :
		    renameat(from_fd, from, r->failed_fd, dst);
		if (rc == 0)
			return fd_fsync(r->failed_fd);
		if (errno != EEXIST && errno != ENOTEMPTY && errno != ENOTDIR && errno != EISDIR)
			return -1;
	}
	return -1;
}

/* give_up - the mark first (the commit point), then the set into failed/ */
static int
give_up(struct reasm *r, struct set *s, int64_t now)
{
	char name[REASM_NAME_LEN + 1];

	memcpy(name, s->name, sizeof name);
	if (write_mark(r, name, MARK_GAVE_UP, now) != 0)
		return -1;
	index_remove(r, s);
	if (to_failed(r, r->dir_fd, name, "set-", name, 0) != 0)
		return -1;
	return fd_fsync(r->dir_fd);
}

/* ---- open and close ------------------------------------------------------------ */

/* make_dir - at/name, made (0700) if missing, its parent then synced; opened */
static int
make_dir(int at, const char *name)
{
	int fd, parent, made, saved;

	made = mkdirat(at, name, 0700) == 0;
	if (!made && errno != EEXIST)
		return -1;
	if ((fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 || !made)
		return fd;
	/* made here: its entry must survive a crash before anything enters it */
	parent = openat(fd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (parent < 0 || fd_fsync(parent) != 0) {
		saved = errno;
		if (parent >= 0)
			(void)close(parent);
		(void)close(fd);
		errno = saved;
		return -1;
	}
	(void)close(parent);
	return fd;
}

/*
 * load_set - read DIR/<name> into the index, or finish it: a done mark
 * ends it (removed, or into failed/ if given up); an in-flight mark gives
 * it up (uncertain). A set whose state is unusable is indexed as damaged,
 * for reasm_next to move and report.
 */
static int
load_set(struct reasm *r, const char *name, size_t *uncertain)
{
	struct set s;
	uint8_t b[STATE_LEN];
	char **v = NULL;
	size_t len, n = 0, i;
	unsigned idx;
	uint8_t byte;
	int64_t t;
	int fd, kind, rc = 0;

	if ((fd = open_dir(r->dir_fd, name)) < 0)
		return errno == ENOTDIR || errno == ELOOP ? 0 : -1;	/* not ours */
	memset(&s, 0, sizeof s);
	memcpy(s.name, name, sizeof s.name);
	if ((kind = read_mark(r, name, &t)) < 0) {
		rc = -1;
	} else if (kind == MARK_DONE) {
		rc = remove_set(r, name);
	} else if (kind != 0) {
		/* given up, or a damaged mark: keep what there is for the operator */
		rc = to_failed(r, r->dir_fd, name, "set-", name, 0) == 0 ? fd_fsync(r->dir_fd) : -1;
	} else if ((rc = read_file(fd, STATE_NAME, b, sizeof b, &len)) < 0 ||
	    list_dir(fd, &v, &n) != 0) {
		rc = -1;
	} else {
		s.damaged = rc != 0 || state_decode(b, len, &s) != 0;	/* missing, too */
		rc = 0;
		for (i = 0; i < n; i++) {
			if (strcmp(v[i], FLIGHT_NAME) == 0)
				s.flight = 1;
			if (strncmp(v[i], "i.", 2) != 0 || !hex_valid(v[i] + 2, 2) ||
			    mcrypto_unhex(&byte, 1, v[i] + 2, 2) != 0)
				continue;		/* not ours: left alone */
			idx = byte;
			if (!s.damaged && idx >= s.n)
				s.damaged = 1;
			else if (!(s.have[idx / 8] & (1u << (idx % 8)))) {
				s.have[idx / 8] |= (uint8_t)(1u << (idx % 8));
				s.count++;
			}
		}
		if (s.flight) {
			/* the relay may have it: never again (the mark's time: the clock's) */
			(*uncertain)++;
			t = time(NULL);
			rc = give_up(r, index_add(r, &s), t > 0 ? t : 0);
		} else {
			(void)index_add(r, &s);
		}
	}
	free_list(v, n);
	(void)close(fd);
	return rc;
}

enum reasm_err
reasm_open(struct reasm **out, const char *dir, const char *failed_dir,
    const uint8_t names_key[32], size_t *uncertain)
{
	struct reasm *r;
	char **v = NULL;
	size_t n = 0, i;
	int saved;

	*out = NULL;
	*uncertain = 0;
	r = mem_calloc(1, sizeof *r);
	r->dir_fd = r->tmp_fd = r->done_fd = r->failed_fd = -1;
	r->key = mcrypto_secret_alloc(MCRYPTO_KEY_BYTES);
	memcpy(r->key, names_key, MCRYPTO_KEY_BYTES);
	r->max_sets = SETS_MAX;
	r->max_bytes = BYTES_MAX;
	if ((r->dir_fd = make_dir(AT_FDCWD, dir)) < 0 ||
	    (r->failed_fd = make_dir(AT_FDCWD, failed_dir)) < 0 ||
	    (r->tmp_fd = make_dir(r->dir_fd, "tmp")) < 0 ||
	    (r->done_fd = make_dir(r->dir_fd, "done")) < 0 ||
	    list_dir(r->tmp_fd, &v, &n) != 0)
		goto fail;
	for (i = 0; i < n; i++)
		rm_tree(r->tmp_fd, v[i], 0);
	free_list(v, n);
	if (list_dir(r->dir_fd, &v, &n) != 0)
		goto fail;
	for (i = 0; i < n; i++)
		if (hex_valid(v[i], REASM_NAME_LEN) && load_set(r, v[i], uncertain) != 0)
			goto fail;
	free_list(v, n);
	*out = r;
	return REASM_OK;
fail:
	saved = errno;
	free_list(v, n);
	reasm_close(r);
	errno = saved;
	return REASM_ERR_IO;
}

void
reasm_close(struct reasm *r)
{
	if (r == NULL)
		return;
	if (r->dir_fd >= 0)
		(void)close(r->dir_fd);
	if (r->tmp_fd >= 0)
		(void)close(r->tmp_fd);
	if (r->done_fd >= 0)
		(void)close(r->done_fd);
	if (r->failed_fd >= 0)
		(void)close(r->failed_fd);
	mcrypto_secret_free(r->key);
	mem_free(r->sets);
	mem_free(r);
}

void
reasm_set_limits_for_tests(struct reasm *r, size_t max_sets, uint64_t max_bytes)
{
	r->max_sets = max_sets;
	r->max_bytes = max_bytes;
}

/* ---- adding a fragment --------------------------------------------------------- */

/*
 * new_set - build tmp/s.<random>/ with the state and the first fragment,
 * all synced, and rename it to DIR/<name>; sync DIR.
 */
static enum reasm_err
new_set(struct reasm *r, struct set *s, const uint8_t *file, size_t flen, unsigned idx)
{
	char tmp[TMP_SIZE], iname[5];
	uint8_t b[STATE_LEN];
	int fd, ok, saved;

	random_name(tmp, 's');
	if (mkdirat(r->tmp_fd, tmp, 0700) != 0)
		return REASM_ERR_IO;
	state_encode(s, b);
	index_name(iname, idx);
	ok = (fd = open_dir(r->tmp_fd, tmp)) >= 0 && write_new(fd, STATE_NAME, b, sizeof b) == 0 &&
	    write_new(fd, iname, file, flen) == 0 && fd_fsync(fd) == 0;
	if (ok)
		(void)futimens(fd, zero_times);
	ok = ok && renameat(r->tmp_fd, tmp, r->dir_fd, s->name) == 0;
	saved = errno;
	if (fd >= 0)
		(void)close(fd);
	if (!ok) {
		rm_tree(r->tmp_fd, tmp, 0);
		return io_err(saved);
	}
	(void)index_add(r, s);		/* it is in DIR now, synced or not */
	return fd_fsync(r->dir_fd) == 0 ? REASM_STORED : REASM_ERR_IO;
}

/*
 * old_set - link the fragment file into DIR/<name>/, never replacing, and
 * sync it. EEXIST: an earlier attempt linked it and failed after (its
 * fsync, say); the sync here makes that one durable: a duplicate.
 */
static enum reasm_err
old_set(struct reasm *r, struct set *s, const uint8_t *file, size_t flen, unsigned idx)
{
	char iname[5];
	int fd, rc, saved;

	index_name(iname, idx);
	if ((fd = open_dir(r->dir_fd, s->name)) < 0)
		return REASM_ERR_IO;
	rc = put_file(r, file, flen, fd, iname, 1);
	if (rc != 0 && errno == EEXIST)
		rc = fd_fsync(fd) == 0 ? 1 : -1;
	saved = errno;
	(void)futimens(fd, zero_times);
	(void)close(fd);
	if (rc < 0)
		return io_err(saved);
	s->have[idx / 8] |= (uint8_t)(1u << (idx % 8));
	s->count++;
	r->bytes += flen;
	return rc == 0 ? REASM_STORED : REASM_DUPLICATE;
}

enum reasm_err
reasm_add(struct reasm *r, const uint8_t *body, size_t len, int64_t now)
{
	char name[REASM_NAME_LEN + 1];
	struct fragment f;
	struct set *s, fresh;
	struct stat sb;
	enum reasm_err err;
	uint8_t *file;
	size_t flen;

	if (body == NULL || fragment_parse(body, len, &f) != FRAG_OK ||
	    f.type != FRAG_TYPE_FRAGMENT)
		return REASM_ERR_FORMAT;
	if (now < 0)
		return io_err(EINVAL);
	set_name(r, f.id, name);
	if (fstatat(r->done_fd, name, &sb, AT_SYMLINK_NOFOLLOW) == 0)
		return REASM_LATE;
	if (errno != ENOENT)
		return REASM_ERR_IO;
	flen = FILE_OVER + len;
	if ((s = find(r, name)) != NULL) {
		if (s->damaged)		/* give it up now: it cannot be completed */
			return give_up(r, s, now) == 0 ? REASM_LATE : REASM_ERR_IO;
		if (s->k != f.k || s->n != f.n || s->msg_len != f.msg_len)
			return REASM_ERR_MIXED;
		if (s->have[f.index / 8] & (1u << (f.index % 8)))
			return REASM_DUPLICATE;
	} else if (r->nsets >= r->max_sets) {
		return io_err(ENOSPC);
	}
	if (r->bytes + flen > r->max_bytes)
		return io_err(ENOSPC);

	file = mem_alloc(flen);
	memcpy(file, FRAG_MAGIC, MAGIC_LEN);
	memcpy(file + MAGIC_LEN, body, len);
	mcrypto_hash(file + MAGIC_LEN + len, SUM_LEN, NULL, 0, file, MAGIC_LEN + len);
	if (s != NULL) {
		err = old_set(r, s, file, flen, f.index);
	} else {
		memset(&fresh, 0, sizeof fresh);
		memcpy(fresh.name, name, sizeof fresh.name);
		fresh.k = f.k;
		fresh.n = f.n;
		fresh.msg_len = (uint32_t)f.msg_len;
		fresh.first = now;
		fresh.have[f.index / 8] = (uint8_t)(1u << (f.index % 8));
		fresh.count = 1;
		err = new_set(r, &fresh, file, flen, f.index);
	}
	mcrypto_wipe(file, flen);
	mem_free(file);
	return err;
}

/* ---- delivering a set ---------------------------------------------------------- */

/*
 * load_msg - read and check every stored fragment file of s and assemble
 * them: 0 (*msg mem_alloc'ed), 1 (damaged, or they do not assemble), -1.
 */
static int
load_msg(struct reasm *r, const struct set *s, uint8_t **msg, size_t *msg_len)
{
	struct fragment *f;
	const struct fragment **ptr;
	char iname[5], name[REASM_NAME_LEN + 1];
	uint8_t sum[SUM_LEN], *buf, *p;
	size_t flen = (size_t)file_len(s), got, c = 0;
	unsigned i;
	int fd, rc = 0, saved;

	if ((fd = open_dir(r->dir_fd, s->name)) < 0)
		return -1;
	buf = mem_alloc(s->count * flen);
	f = mem_alloc(s->count * sizeof *f);
	ptr = mem_alloc(s->count * sizeof *ptr);
	for (i = 0; i < s->n && rc == 0; i++) {
		if (!(s->have[i / 8] & (1u << (i % 8))))
			continue;
		p = buf + c * flen;
		index_name(iname, i);
		if ((rc = read_file(fd, iname, p, flen, &got)) != 0) {
			rc = rc < 0 ? -1 : 1;
			break;
		}
		mcrypto_hash(sum, sizeof sum, NULL, 0, p, flen - SUM_LEN);
		rc = got != flen || memcmp(p, FRAG_MAGIC, MAGIC_LEN) != 0 ||
		    !mcrypto_equal(sum, p + flen - SUM_LEN, SUM_LEN) ||
		    fragment_parse(p + MAGIC_LEN, flen - FILE_OVER, &f[c]) != FRAG_OK ||
		    f[c].type != FRAG_TYPE_FRAGMENT || f[c].index != i || f[c].k != s->k ||
		    f[c].n != s->n || f[c].msg_len != s->msg_len;
		if (rc == 0) {
			set_name(r, f[c].id, name);
			rc = memcmp(name, s->name, REASM_NAME_LEN) != 0;
		}
		ptr[c] = &f[c];
		c++;
	}
	saved = errno;
	if (rc == 0 && fragment_assemble(ptr, c, msg, msg_len) != FRAG_OK)
		rc = 1;
	(void)close(fd);
	mcrypto_wipe(buf, s->count * flen);
	mem_free(buf);
	mem_free(f);
	mem_free(ptr);
	errno = saved;
	return rc;
}

static int
skipped(const char *name, const char *const *skip, size_t nskip)
{
	size_t i;

	for (i = 0; i < nskip; i++)
		if (skip[i] != NULL && strcmp(skip[i], name) == 0)
			return 1;
	return 0;
}

enum reasm_err
reasm_next(struct reasm *r, int64_t now, const char *const *skip, size_t nskip,
    struct reasm_ready *out)
{
	struct set *s = NULL;
	uint32_t seen = 0;
	size_t i;
	int rc;

	memset(out, 0, sizeof *out);
	if (now < 0)
		return io_err(EINVAL);
	for (i = 0; i < r->nsets; i++)
		if (r->sets[i].damaged)
			return give_up(r, &r->sets[i], now) == 0 ? REASM_ERR_ASSEMBLE : REASM_ERR_IO;
	/* a random pick among the eligible: no order on disk says anything */
	for (i = 0; i < r->nsets; i++) {
		if (r->sets[i].count < r->sets[i].k || r->sets[i].flight ||
		    r->sets[i].not_before > now || skipped(r->sets[i].name, skip, nskip))
			continue;
		if (mcrypto_uniform(++seen) == 0)
			s = &r->sets[i];
	}
	if (s == NULL)
		return REASM_NONE;
	if ((rc = load_msg(r, s, &out->msg, &out->msg_len)) != 0)
		return rc < 0 ? REASM_ERR_IO :
		    give_up(r, s, now) == 0 ? REASM_ERR_ASSEMBLE : REASM_ERR_IO;
	if (s->first_ready == 0) {
		s->first_ready = now;
		if (write_state(r, s) != 0) {
			rc = errno;
			reasm_ready_free(out);
			return io_err(rc);
		}
	}
	memcpy(out->name, s->name, sizeof out->name);
	out->retry = s->retry;
	out->first_ready = s->first_ready;
	return REASM_OK;
}

void
reasm_ready_free(struct reasm_ready *rd)
{
	if (rd == NULL)
		return;
	if (rd->msg != NULL) {
		mcrypto_wipe(rd->msg, rd->msg_len);
		mem_free(rd->msg);
	}
	memset(rd, 0, sizeof *rd);
}

/* usable - the set name names, ready to be handed on (errno ENOENT if not) */
static struct set *
usable(struct reasm *r, const char *name)
{
	struct set *s = find(r, name);

	if (s == NULL || s->damaged || s->count < s->k) {
		errno = ENOENT;
		return NULL;
	}
	return s;
}

enum reasm_err
reasm_begin(struct reasm *r, const char *name)
{
	struct set *s;
	int dfd, fd, ok, saved;

	if ((s = usable(r, name)) == NULL || (dfd = open_dir(r->dir_fd, name)) < 0)
		return REASM_ERR_IO;
	/* an empty file: only its name must be durable, hence the directory's fsync */
	fd = openat(dfd, FLIGHT_NAME, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd >= 0) {
		(void)futimens(fd, zero_times);
		(void)close(fd);
	}
	ok = fd >= 0 && fd_fsync(dfd) == 0;
	saved = errno;
	(void)futimens(dfd, zero_times);
	(void)close(dfd);
	if (!ok)
		return io_err(saved);
	s->flight = 1;
	return REASM_OK;
}

/* reasm_done - the mark is the commit point; then the set leaves the index */
enum reasm_err
reasm_done(struct reasm *r, const char *name, int64_t now)
{
	struct set *s;

	if ((s = usable(r, name)) == NULL)
		return REASM_ERR_IO;
	if (now < 0)
		return io_err(EINVAL);
	if (write_mark(r, name, MARK_DONE, now) != 0)
		return REASM_ERR_IO;
	index_remove(r, s);
	/* a set left behind by a failure here is removed by the next reasm_open */
	return remove_set(r, name) == 0 ? REASM_OK : REASM_ERR_IO;
}

enum reasm_err
reasm_defer(struct reasm *r, const char *name, int64_t not_before)
{
	struct set *s;
	int dfd, rc;

	if ((s = usable(r, name)) == NULL)
		return REASM_ERR_IO;
	if (not_before < 0)
		return io_err(EINVAL);
	s->retry++;
	s->not_before = not_before;
	s->flight = 0;
	/* the relay does not have it: no order of these two steps can deliver it twice */
	if ((dfd = open_dir(r->dir_fd, name)) < 0)
		return REASM_ERR_IO;
	rc = unlinkat(dfd, FLIGHT_NAME, 0) == 0 || errno == ENOENT;
	(void)close(dfd);
	if (!rc || write_state(r, s) != 0)
		return REASM_ERR_IO;
	return REASM_OK;
}

enum reasm_err
reasm_fail(struct reasm *r, const char *name, const uint8_t *msg, size_t len, int64_t now)
{
	char tmp[TMP_SIZE];
	int rc, saved;

	if (usable(r, name) == NULL)
		return REASM_ERR_IO;
	if ((msg == NULL && len > 0) || now < 0)
		return io_err(EINVAL);
	random_name(tmp, 't');
	if (write_new(r->tmp_fd, tmp, msg, len) != 0)
		return REASM_ERR_IO;
	rc = to_failed(r, r->tmp_fd, tmp, "msg-", name, 1);
	saved = errno;
	(void)unlinkat(r->tmp_fd, tmp, 0);
	if (rc != 0)
		return io_err(saved);
	return reasm_done(r, name, now);
}

/* ---- upkeep -------------------------------------------------------------------- */

enum reasm_err
reasm_expire(struct reasm *r, int64_t now, int64_t max_age, size_t *expired)
{
	char **v, name[REASM_NAME_LEN + 1];
	size_t n, i = 0, gone = 0;
	struct set *s;
	int64_t t;
	int kind, err = 0;

	*expired = 0;
	if (now < 0 || max_age < 0)
		return io_err(EINVAL);
	while (i < r->nsets) {
		s = &r->sets[i];
		if (s->damaged || s->flight || s->count >= s->k || now - s->first <= max_age) {
			i++;
			continue;
		}
		memcpy(name, s->name, sizeof name);
		index_remove(r, s);
		if (remove_set(r, name) != 0)
			return REASM_ERR_IO;
		(*expired)++;
	}
	if (list_dir(r->done_fd, &v, &n) != 0) {
		free_list(v, n);
		return REASM_ERR_IO;
	}
	for (i = 0; i < n && err == 0; i++) {
		if (!hex_valid(v[i], REASM_NAME_LEN))
			continue;
		if ((kind = read_mark(r, v[i], &t)) < 0)
			err = 1;
		else if (kind != 0 && (kind == MARK_BAD || now - t > max_age)) {
			if (unlinkat(r->done_fd, v[i], 0) != 0 && errno != ENOENT)
				err = 1;
			gone++;
		}
	}
	free_list(v, n);
	if (err || (gone > 0 && fd_fsync(r->done_fd) != 0))
		return REASM_ERR_IO;
	return REASM_OK;
}

enum reasm_err
reasm_count(struct reasm *r, size_t *waiting, size_t *ready)
{
	size_t i;

	*waiting = *ready = 0;
	for (i = 0; i < r->nsets; i++) {
		if (r->sets[i].damaged)
			continue;
		if (r->sets[i].count >= r->sets[i].k)
			(*ready)++;
		else
			(*waiting)++;
	}
	return REASM_OK;
}

const char *
reasm_strerror(enum reasm_err e)
{
	switch (e) {
	case REASM_OK:			return "ok";
	case REASM_STORED:		return "fragment stored";
	case REASM_DUPLICATE:		return "fragment already stored";
	case REASM_LATE:		return "message already delivered or given up";
	case REASM_NONE:		return "no set ready";
	case REASM_ERR_FORMAT:		return "not a fragment body";
	case REASM_ERR_MIXED:		return "fragment does not match its stored set";
	case REASM_ERR_ASSEMBLE:	return "stored fragments do not form a message";
	case REASM_ERR_IO:		return "fragment store I/O error";
	case REASM_ERR_NOMEM:		return "out of memory";
	}
	return "unknown fragment store error";
}
