/*
 * autoreply.c - answers to mail that holds no packet (autoreply.h;
 * doc/autoreply.md has every format byte by byte).
 *
 * Functions: autoreply_cmd_name(), autoreply_cmd_find(),
 * autoreply_addr_valid(), autoreply_local_loop(), autoreply_addr_equal(),
 * autoreply_class_format(), autoreply_class_parse(), autoreply_settings(),
 * autoreply_requester_key(), autoreply_requester_hash(),
 * autoreply_rate_*(), autoreply_body(), autoreply_conf_text(),
 * autoreply_compose(), autoreply_complaint(), autoreply_random_hex().
 *
 * Diagnostics: msg_warn() when the rate table was damaged and is made
 * afresh, and when the help or admin key file named by the settings cannot
 * be read (the built-in text is sent). Nothing logs an address.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "autoreply.h"
#include "bytes.h"
#include "fdio.h"
#include "log.h"
#include "mcrypto.h"
#include "mem.h"
#include "outbox.h"
#include "pkt.h"
#include "pktmail.h"
#include "stats.h"
#include "statsreport.h"

#define HOUR		3600
#define DAY		86400
#define RATE_MAGIC	"MIXRATE1"
#define RATE_VERSION	1
#define DESC_FILE	"descriptor"

/* ---- commands and addresses ---------------------------------------------------- */

static const char *const cmd_names[] = {
	[AR_NONE] = "none",
	[AR_KEY] = "remailer-key",
	[AR_CONF] = "remailer-conf",
	[AR_STATS] = "remailer-stats",
	[AR_HELP] = "remailer-help",
	[AR_ADMINKEY] = "remailer-adminkey",
};
#define NCMDS (sizeof cmd_names / sizeof *cmd_names)

const char *
autoreply_cmd_name(enum ar_cmd c)
{
	return (size_t)c < NCMDS ? cmd_names[c] : "none";
}

static int
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static char
lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

enum ar_cmd
autoreply_cmd_find(const char *s, size_t len)
{
	size_t i, k, n;

	while (len > 0 && is_space(s[0])) {
		s++;
		len--;
	}
	while (len > 0 && is_space(s[len - 1]))
		len--;
	for (i = 1; i < NCMDS; i++) {
		n = strlen(cmd_names[i]);
		if (n != len)
			continue;
		for (k = 0; k < n && lower(s[k]) == cmd_names[i][k]; k++)
			;
		if (k == n)
			return (enum ar_cmd)i;
	}
	return AR_NONE;
}

static int
atext(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	    (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

int
autoreply_addr_valid(const char *s, size_t len)
{
	const char *at;
	size_t i, local, label = 0;

	if (len == 0 || len > AR_ADDR_MAX || memchr(s, '\0', len) != NULL)
		return 0;
	at = memchr(s, '@', len);
	if (at == NULL)
		return 0;
	local = (size_t)(at - s);
	if (local == 0 || local > AR_LOCAL_MAX || s[0] == '.' || s[local - 1] == '.')
		return 0;
	for (i = 0; i < local; i++)
		if (!(atext(s[i]) || (s[i] == '.' && s[i + 1] != '.')))
			return 0;
	/* the domain: labels of letters, digits and '-', at least one dot-free label */
	if (local + 1 >= len)
		return 0;
	for (i = local + 1; i < len; i++) {
		char c = s[i];

		if (c == '.') {
			if (label == 0)
				return 0;
			label = 0;
		} else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-') {
			if (++label > 63)
				return 0;
		} else
			return 0;
	}
	return label > 0;
}

int
autoreply_local_loop(const char *addr)
{
	static const char *const daemons[] = {
		"mailer-daemon", "postmaster", "noreply", "no-reply", "do-not-reply", "donotreply"
	};
	const char *at = strrchr(addr, '@');
	size_t n = at ? (size_t)(at - addr) : strlen(addr), i, k;

	for (i = 0; i < sizeof daemons / sizeof *daemons; i++) {
		if (strlen(daemons[i]) != n)
			continue;
		for (k = 0; k < n && lower(addr[k]) == daemons[i][k]; k++)
			;
		if (k == n)
			return 1;
	}
	return 0;
}

int
autoreply_addr_equal(const char *a, const char *b)
{
	for (; *a && *b; a++, b++)
		if (lower(*a) != lower(*b))
			return 0;
	return *a == *b;
}

/* ---- the classification line ------------------------------------------------------ */

int
autoreply_class_format(const struct ar_class *c, char buf[AR_CLASS_MAX + 1])
{
	int n;

	if ((size_t)c->cmd >= NCMDS || (c->loop & ~(unsigned)AR_LOOP_MIME_MASK) != 0 ||
	    (c->addr[0] != '\0' && !autoreply_addr_valid(c->addr, strlen(c->addr))))
		return -1;
	n = snprintf(buf, AR_CLASS_MAX + 1, AR_CLASS_PREFIX "%s %02x %s\n",
	    cmd_names[c->cmd], c->loop, c->addr[0] ? c->addr : "-");
	return n > 0 && n <= AR_CLASS_MAX ? 0 : -1;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int
autoreply_class_parse(const char *line, size_t len, struct ar_class *c)
{
	const char *p = line, *end, *sp;
	size_t pre = sizeof AR_CLASS_PREFIX - 1, i;
	int h1, h2;

	memset(c, 0, sizeof *c);
	if (len < pre + 1 || len > AR_CLASS_MAX || line[len - 1] != '\n' ||
	    memchr(line, '\n', len) != line + len - 1 || memcmp(line, AR_CLASS_PREFIX, pre) != 0)
		return -1;
	p += pre;
	end = line + len - 1;
	sp = memchr(p, ' ', (size_t)(end - p));
	if (sp == NULL)
		return -1;
	for (i = 0; i < NCMDS; i++)
		if (strlen(cmd_names[i]) == (size_t)(sp - p) && memcmp(p, cmd_names[i], (size_t)(sp - p)) == 0)
			break;
	if (i == NCMDS)
		return -1;
	c->cmd = (enum ar_cmd)i;
	p = sp + 1;
	if (end - p < 4 || p[2] != ' ' || (h1 = hexval(p[0])) < 0 || (h2 = hexval(p[1])) < 0)
		return -1;
	c->loop = (unsigned)(h1 * 16 + h2);
	if ((c->loop & ~(unsigned)AR_LOOP_MIME_MASK) != 0)
		return -1;
	p += 3;
	if (end - p == 1 && p[0] == '-')
		return 0;
	if (!autoreply_addr_valid(p, (size_t)(end - p)))
		return -1;
	memcpy(c->addr, p, (size_t)(end - p));
	c->addr[end - p] = '\0';
	return 0;
}

/* ---- settings ---------------------------------------------------------------------- */

static int
bad_setting(const struct conf *c, const char *name, const char *why, char *err, size_t errlen)
{
	const struct conf_setting *s = conf_find(c, name);
	int line = s != NULL ? c->line[s - c->table] : 0;

	(void)snprintf(err, errlen, "%s:%d: setting %s: %s", c->path ? c->path : "(defaults)",
	    line, name, why);
	return -1;
}

int
autoreply_settings(const struct conf *c, struct ar_settings *s, char *err, size_t errlen)
{
	memset(s, 0, sizeof *s);
	s->enabled = conf_get_bool(c, "autoreply");
	s->per_requester = (unsigned)conf_get_num(c, "autoreply_per_requester");
	s->per_hour = (unsigned)conf_get_num(c, "autoreply_per_hour");
	s->help_file = conf_get(c, "help_file");
	s->admin_key_file = conf_get(c, "admin_key_file");
	s->other = strcmp(conf_get(c, "other_mail"), "keep") == 0 ? AR_OTHER_KEEP : AR_OTHER_DISCARD;
	s->other_max_count = (uint64_t)conf_get_num(c, "other_mail_max_count");
	s->other_max_bytes = (uint64_t)conf_get_num(c, "other_mail_max_bytes");
	s->complaints = conf_get(c, "complaints_address");
	s->operator_addr = conf_get(c, "operator_address");
	if (s->help_file[0] != '\0' && s->help_file[0] != '/')
		return bad_setting(c, "help_file", "not an absolute path", err, errlen);
	if (s->admin_key_file[0] != '\0' && s->admin_key_file[0] != '/')
		return bad_setting(c, "admin_key_file", "not an absolute path", err, errlen);
	if (s->complaints[0] != '\0' &&
	    !autoreply_addr_valid(s->complaints, strlen(s->complaints)))
		return bad_setting(c, "complaints_address", "not a valid mail address", err, errlen);
	if (s->operator_addr[0] != '\0' &&
	    !autoreply_addr_valid(s->operator_addr, strlen(s->operator_addr)))
		return bad_setting(c, "operator_address", "not a valid mail address", err, errlen);
	if (s->complaints[0] != '\0' && s->operator_addr[0] == '\0')
		return bad_setting(c, "operator_address", "must be set when complaints_address is",
		    err, errlen);
	if (s->complaints[0] != '\0' && (autoreply_addr_equal(s->complaints, s->operator_addr) ||
	    autoreply_addr_equal(s->complaints, conf_get(c, "address"))))
		return bad_setting(c, "complaints_address",
		    "must differ from operator_address and address (a mail loop)", err, errlen);
	if (s->operator_addr[0] != '\0' && autoreply_addr_equal(s->operator_addr, conf_get(c, "address")))
		return bad_setting(c, "operator_address", "must differ from address (a mail loop)",
		    err, errlen);
	return 0;
}

/* ---- files ------------------------------------------------------------------------- */

/* read_bounded - the file at path, at most max bytes (EFBIG beyond); 0 or -1 */
static int
read_bounded(const char *path, size_t max, char **buf, size_t *len)
{
	struct stat sb;
	ssize_t r;
	int fd, saved;

	*buf = NULL;
	*len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -1;
	if (fstat(fd, &sb) != 0)
		goto fail;
	if (!S_ISREG(sb.st_mode)) {
		errno = EINVAL;
		goto fail;
	}
	*buf = mem_alloc(max + 1);
	for (;;) {
		r = read(fd, *buf + *len, max + 1 - *len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			goto fail;
		if (r == 0)
			break;
		*len += (size_t)r;
		if (*len > max) {
			errno = EFBIG;
			goto fail;
		}
	}
	(*buf)[*len] = '\0';
	(void)close(fd);
	return 0;
fail:
	saved = errno;
	(void)close(fd);
	mem_free(*buf);
	*buf = NULL;
	*len = 0;
	errno = saved;
	return -1;
}

static char *
spool_file(const char *spool, const char *name)
{
	size_t n = strlen(spool) + 1 + strlen(name) + 1;
	char *p = mem_alloc(n);

	(void)snprintf(p, n, "%s/%s", spool, name);
	return p;
}

/* ---- the requester's key ----------------------------------------------------------- */

void
autoreply_requester_hash(const uint8_t secret[32], const char *addr, uint8_t key[AR_HASH_BYTES])
{
	char norm[AR_ADDR_MAX + 1];
	size_t i, n = strlen(addr);

	if (n > AR_ADDR_MAX)
		n = AR_ADDR_MAX;
	for (i = 0; i < n; i++)
		norm[i] = lower(addr[i]);
	mcrypto_hash(key, AR_HASH_BYTES, secret, 32, (const uint8_t *)norm, n);
	mcrypto_wipe(norm, sizeof norm);
}

/* load_secret - SPOOL/autoreply.key, made (tmp, sync, link) when missing */
static int
load_secret(const char *spool, uint8_t *secret)
{
	char *path = spool_file(spool, AR_KEY_FILE), *tmp = NULL, hex[17];
	uint8_t rnd[8];
	struct stat sb;
	ssize_t r;
	int fd = -1, ret = -1, saved, made = 0;

	for (;;) {
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (fd >= 0 || errno != ENOENT || made)
			break;
		/* make it: a secret written and synced, linked into place */
		mcrypto_random(NULL, rnd, sizeof rnd);
		mcrypto_hex(hex, rnd, sizeof rnd);
		tmp = mem_alloc(strlen(path) + 32);
		(void)snprintf(tmp, strlen(path) + 32, "%s.tmp.%s", path, hex);
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fd < 0)
			goto out;
		mcrypto_random(NULL, secret, 32);
		if (fd_write_all(fd, secret, 32) != 0 || fd_fsync(fd) != 0 ||
		    (link(tmp, path) != 0 && errno != EEXIST)) {
			saved = errno;
			(void)close(fd);
			(void)unlink(tmp);
			errno = saved;
			fd = -1;
			goto out;
		}
		(void)close(fd);
		(void)unlink(tmp);
		if (outbox_fsync_dir(spool) != 0)
			goto out;
		mem_free(tmp);
		tmp = NULL;
		made = 1;	/* read what is there now: ours, or another hook's */
	}
	if (fd < 0)
		goto out;
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_size != 32) {
		errno = sb.st_size != 32 ? EINVAL : errno;
		goto out;
	}
	do
		r = pread(fd, secret, 32, 0);
	while (r < 0 && errno == EINTR);
	if (r != 32) {
		if (r >= 0)
			errno = EIO;
		goto out;
	}
	ret = 0;
out:
	saved = errno;
	if (fd >= 0)
		(void)close(fd);
	mem_free(tmp);
	mem_free(path);
	if (ret != 0)
		mcrypto_wipe(secret, 32);
	errno = saved;
	return ret;
}

int
autoreply_requester_key(const char *spool, const char *addr, uint8_t key[AR_HASH_BYTES])
{
	uint8_t *secret = mcrypto_secret_alloc(32);
	int r = load_secret(spool, secret);

	if (r == 0)
		autoreply_requester_hash(secret, addr, key);
	mcrypto_secret_free(secret);
	return r;
}

/* ---- the rate table ---------------------------------------------------------------- */

/* Header: magic 8, version 4, slots 4, hour start 8, hour count 4, zero to 64.
 * Slot: key 16, day start 8 (0: free), count 4, zero 4. */
#define RH_MAGIC	0
#define RH_VERSION	8
#define RH_SLOTS	12
#define RH_HOUR		16
#define RH_HCOUNT	24
#define RS_KEY		0
#define RS_DAY		16
#define RS_COUNT	24

_Static_assert(AR_RATE_HEAD % AR_RATE_SLOT == 0 && 512 % AR_RATE_SLOT == 0,
    "no record of the rate table straddles a 512-byte sector");

void
autoreply_rate_init(uint8_t *img)
{
	memset(img, 0, AR_RATE_SIZE);
	memcpy(img + RH_MAGIC, RATE_MAGIC, 8);
	put_le32(img + RH_VERSION, RATE_VERSION);
	put_le32(img + RH_SLOTS, AR_RATE_SLOTS);
}

int
autoreply_rate_valid(const uint8_t *img)
{
	return memcmp(img + RH_MAGIC, RATE_MAGIC, 8) == 0 &&
	    get_le32(img + RH_VERSION) == RATE_VERSION && get_le32(img + RH_SLOTS) == AR_RATE_SLOTS;
}

static const uint8_t *
slot_at(const uint8_t *img, size_t i)
{
	return img + AR_RATE_HEAD + i * AR_RATE_SLOT;
}

/* find - the slot holding key, or SIZE_MAX */
static size_t
find(const uint8_t *img, const uint8_t *key)
{
	size_t i;

	for (i = 0; i < AR_RATE_SLOTS; i++) {
		const uint8_t *s = slot_at(img, i);

		if (get_le64(s + RS_DAY) != 0 && memcmp(s + RS_KEY, key, AR_HASH_BYTES) == 0)
			return i;
	}
	return SIZE_MAX;
}

enum ar_rate_verdict
autoreply_rate_check(const uint8_t *img, const uint8_t *key, int64_t now,
    unsigned per_requester, unsigned per_hour)
{
	int64_t hour = now / HOUR * HOUR, day = now / DAY * DAY;
	size_t i;

	if (per_hour == 0 || ((int64_t)get_le64(img + RH_HOUR) == hour &&
	    get_le32(img + RH_HCOUNT) >= per_hour))
		return AR_RATE_TOTAL;
	if (key == NULL)
		return AR_RATE_OK;
	if (per_requester == 0)
		return AR_RATE_REQUESTER;
	i = find(img, key);
	if (i != SIZE_MAX && (int64_t)get_le64(slot_at(img, i) + RS_DAY) == day &&
	    get_le32(slot_at(img, i) + RS_COUNT) >= per_requester)
		return AR_RATE_REQUESTER;
	return AR_RATE_OK;
}

void
autoreply_rate_take(uint8_t *img, const uint8_t *key, int64_t now, size_t *slot_off)
{
	int64_t hour = now / HOUR * HOUR, day = now / DAY * DAY, oldest = INT64_MAX, d;
	size_t i, pick = 0;
	uint8_t *s;
	uint32_t c;

	*slot_off = 0;
	if ((int64_t)get_le64(img + RH_HOUR) != hour) {
		put_le64(img + RH_HOUR, (uint64_t)hour);
		put_le32(img + RH_HCOUNT, 0);
	}
	c = get_le32(img + RH_HCOUNT);
	put_le32(img + RH_HCOUNT, c == UINT32_MAX ? c : c + 1);
	if (key == NULL)
		return;
	i = find(img, key);
	if (i == SIZE_MAX) {
		/* a free slot, else the one with the oldest day (the first of equals) */
		for (i = 0; i < AR_RATE_SLOTS; i++) {
			d = (int64_t)get_le64(slot_at(img, i) + RS_DAY);
			if (d < oldest) {
				oldest = d;
				pick = i;
			}
			if (d == 0)
				break;
		}
		i = pick;
		s = img + AR_RATE_HEAD + i * AR_RATE_SLOT;
		memset(s, 0, AR_RATE_SLOT);
		memcpy(s + RS_KEY, key, AR_HASH_BYTES);
	}
	s = img + AR_RATE_HEAD + i * AR_RATE_SLOT;
	if ((int64_t)get_le64(s + RS_DAY) != day) {
		put_le64(s + RS_DAY, (uint64_t)day);
		put_le32(s + RS_COUNT, 0);
	}
	c = get_le32(s + RS_COUNT);
	put_le32(s + RS_COUNT, c == UINT32_MAX ? c : c + 1);
	*slot_off = AR_RATE_HEAD + i * AR_RATE_SLOT;
}

struct ar_rate {
	int fd;
	uint8_t img[AR_RATE_SIZE];
};

static int
pwrite_all(int fd, const uint8_t *p, size_t len, off_t off)
{
	ssize_t n;

	while (len > 0) {
		n = pwrite(fd, p, len, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO;
			return -1;
		}
		p += n;
		len -= (size_t)n;
		off += n;
	}
	return 0;
}

int
autoreply_rate_open(const char *spool, unsigned timeout_ms, struct ar_rate **rp)
{
	struct ar_rate *r = mem_calloc(1, sizeof *r);
	char *path = spool_file(spool, AR_RATE_FILE);
	struct stat sb;
	size_t got = 0;
	ssize_t n;
	int saved, made;

	*rp = NULL;
	/* One file, never replaced: made in place, then checked under the lock. */
	r->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	made = r->fd >= 0 && fstat(r->fd, &sb) == 0 && sb.st_size == 0;
	if (r->fd < 0 || outbox_flock(r->fd, LOCK_EX, timeout_ms) != 0 || fstat(r->fd, &sb) != 0)
		goto fail;
	if (!S_ISREG(sb.st_mode)) {
		errno = EINVAL;
		goto fail;
	}
	if (sb.st_size == AR_RATE_SIZE) {
		while (got < AR_RATE_SIZE) {
			n = pread(r->fd, r->img + got, AR_RATE_SIZE - got, (off_t)got);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				goto fail;
			if (n == 0)
				break;
			got += (size_t)n;
		}
	}
	if (got != AR_RATE_SIZE || !autoreply_rate_valid(r->img)) {
		if (sb.st_size != 0 || !made)
			msg_warn("%s was damaged or not ours: the rate limits start afresh", path);
		autoreply_rate_init(r->img);
		if (ftruncate(r->fd, 0) != 0 ||
		    pwrite_all(r->fd, r->img, AR_RATE_SIZE, 0) != 0 || fd_fsync(r->fd) != 0 ||
		    outbox_fsync_dir(spool) != 0)
			goto fail;
	}
	mem_free(path);
	*rp = r;
	return 0;
fail:
	saved = errno;
	if (r->fd >= 0)
		(void)close(r->fd);
	mem_free(r);
	mem_free(path);
	errno = saved;
	return -1;
}

enum ar_rate_verdict
autoreply_rate_file_check(const struct ar_rate *r, const uint8_t *key, int64_t now,
    unsigned per_requester, unsigned per_hour)
{
	return autoreply_rate_check(r->img, key, now, per_requester, per_hour);
}

int
autoreply_rate_commit(struct ar_rate *r, const uint8_t *key, int64_t now)
{
	size_t off;

	autoreply_rate_take(r->img, key, now, &off);
	if (pwrite_all(r->fd, r->img, AR_RATE_HEAD, 0) != 0 ||
	    (off != 0 && pwrite_all(r->fd, r->img + off, AR_RATE_SLOT, (off_t)off) != 0))
		return -1;
	return fdatasync(r->fd) == 0 ? 0 : -1;
}

void
autoreply_rate_close(struct ar_rate *r)
{
	if (r == NULL)
		return;
	(void)close(r->fd);
	mcrypto_wipe(r->img, sizeof r->img);
	mem_free(r);
}

/* ---- text buffers ------------------------------------------------------------------ */

struct sbuf {
	char *p;
	size_t len, cap;
};

static void MIX_PRINTF(2, 3)
sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0)
			msg_panic("sb_printf: vsnprintf failed");
		if (b->p != NULL && (size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return;
		}
		b->cap = (b->cap + (size_t)n + 1) * 2;
		b->p = mem_realloc(b->p, b->cap);
	}
}

static void
sb_put(struct sbuf *b, const void *data, size_t len)
{
	if (b->cap - b->len < len + 1 || b->p == NULL) {
		b->cap = (b->len + len + 1) * 2;
		b->p = mem_realloc(b->p, b->cap);
	}
	memcpy(b->p + b->len, data, len);
	b->len += len;
	b->p[b->len] = '\0';
}

/* ---- the bodies -------------------------------------------------------------------- */

const char autoreply_help_default[] =
    "This is a mixmail node: a remailer of the mixmail network, the successor\n"
    "of Mixmaster. It takes encrypted packets made by the mixmail program,\n"
    "mixes them with other traffic and sends them on. It does not read mail\n"
    "written by people.\n"
    "\n"
    "To send anonymous mail, install mixmail and import this node's key:\n"
    "\n"
    "    mail a message with the subject remailer-key to %s\n"
    "\n"
    "Other subjects this node answers (the body is ignored):\n"
    "\n"
    "    remailer-key       the node's signed descriptor (its keys)\n"
    "    remailer-conf      what the node supports and its limits\n"
    "    remailer-stats     the node's traffic statistics\n"
    "    remailer-help      this text\n"
    "    remailer-adminkey  the operator's key, if the operator publishes one\n"
    "\n"
    "Answers are rate-limited. Mail sent to %s\n"
    "that is neither a packet nor a request is not read by anyone.\n";

static const char *
mix_params(const char *mixing)
{
	if (strcmp(mixing, "threshold") == 0)
		return "t";
	if (strcmp(mixing, "timed") == 0)
		return "i";
	if (strcmp(mixing, "threshold-timed") == 0)
		return "ti";
	if (strcmp(mixing, "mixmaster") == 0 || strcmp(mixing, "binomial") == 0)
		return "imr";
	return "";	/* continuous: each packet's delay is chosen by its sender */
}

char *
autoreply_conf_text(const struct conf *c, const struct ar_settings *s, size_t *len)
{
	struct sbuf b = { NULL, 0, 0 };
	const char *mixing = conf_get(c, "mixing"), *p;
	int exit = conf_get_bool(c, "exit");
	size_t i;

	sb_printf(&b, "mixmail node configuration\n");
	sb_printf(&b, "name:                   %s\n", conf_get(c, "name"));
	sb_printf(&b, "address:                %s\n", conf_get(c, "address"));
	sb_printf(&b, "exit:                   %s\n", exit ? "yes" : "no");
	sb_printf(&b, "mixing:                 %s\n", mixing);
	for (p = mix_params(mixing); *p; p++) {
		if (*p == 't')
			sb_printf(&b, "  mix_threshold:        %lld packets\n", conf_get_num(c, "mix_threshold"));
		else if (*p == 'i')
			sb_printf(&b, "  mix_interval:         %lld seconds\n", conf_get_num(c, "mix_interval"));
		else if (*p == 'm')
			sb_printf(&b, "  mix_min_pool:         %lld packets\n", conf_get_num(c, "mix_min_pool"));
		else
			sb_printf(&b, "  mix_rate_permille:    %lld\n", conf_get_num(c, "mix_rate_permille"));
	}
	if (strcmp(mixing, "continuous") == 0)
		sb_printf(&b, "  delays:               chosen by each packet's sender\n");
	if (conf_get_num(c, "dummy_per_round") > 0)
		sb_printf(&b, "  dummies per round:    1 to %lld, the first sent at once\n",
		    2 * conf_get_num(c, "dummy_per_round"));
	else
		sb_printf(&b, "  dummies per round:    none besides the inbound share\n");
	sb_printf(&b, "max_message_size:       %lld bytes\n", conf_get_num(c, "max_message_size"));
	if (exit) {
		sb_printf(&b, "exit_max_size:          %lld bytes\n", conf_get_num(c, "exit_max_size"));
		sb_printf(&b, "exit_max_recipients:    %lld\n", conf_get_num(c, "exit_max_recipients"));
		sb_printf(&b, "exit policy:            delivers to any destination%s\n",
		    conf_get(c, "exit_blocklist")[0] ? " not on the operator's blocklist" : "");
		sb_printf(&b, "header filter:          %s\n",
		    conf_get(c, "exit_header_filter")[0] ? "in use" : "none");
		sb_printf(&b, "long messages:          reassembled here (parts kept %lld seconds)\n",
		    conf_get_num(c, "fragment_expire"));
	} else {
		sb_printf(&b, "exit policy:            middleman: delivers nothing, forwards to other nodes\n");
		sb_printf(&b, "long messages:          forwarded (reassembled by the exit node)\n");
	}
	sb_printf(&b, "packet versions:        %d\n", PKT_VERSION);
	sb_printf(&b, "packet size:            %d bytes\n", PKT_SIZE);
	sb_printf(&b, "auto-replies:           ");
	for (i = 1; i < NCMDS; i++)
		sb_printf(&b, "%s%s", cmd_names[i], i + 1 < NCMDS ? " " : "\n");
	sb_printf(&b, "reply limits:           %u per requester a day, %u an hour in all\n",
	    s->per_requester, s->per_hour);
	*len = b.len;
	return b.p;
}

static int
body_file(const char *path, const char *what, char **body, size_t *len)
{
	if (read_bounded(path, AR_FILE_MAX, body, len) == 0)
		return 0;
	msg_warn("%s %s: %s; the built-in text is sent", what, path, strerror(errno));
	return -1;
}

static int
body_stats(const struct ar_node *an, char **body, size_t *len)
{
	struct stats_snapshot *snap = mem_alloc(sizeof *snap);
	struct statsreport_info info;
	size_t need = 0;
	int ret = -1;

	if (stats_read(an->spool, (time_t)an->now, snap) != 0) {
		/* a damaged file: the report of nothing, not a retry for ever */
		if (errno != EINVAL)
			goto out;
		memset(snap, 0, sizeof *snap);
	}
	info.node = conf_get(an->conf, "name");
	info.now = an->now;
	info.mixing = conf_get(an->conf, "mixing");
	info.exit = conf_get_bool(an->conf, "exit");
	if (statsreport_format(NULL, 0, &need, STATSREPORT_TEXT, snap, &info) != 0 &&
	    errno != ERANGE)
		goto out;
	if (need == 0) {
		errno = EINVAL;
		goto out;
	}
	*body = mem_alloc(need + 1);
	if (statsreport_format(*body, need + 1, len, STATSREPORT_TEXT, snap, &info) != 0) {
		mem_free(*body);
		*body = NULL;
		goto out;
	}
	ret = 0;
out:
	mem_free(snap);
	return ret;
}

int
autoreply_body(const struct ar_node *an, enum ar_cmd cmd, char **body, size_t *len)
{
	struct sbuf b = { NULL, 0, 0 };
	const char *addr = conf_get(an->conf, "address");
	char *path;

	*body = NULL;
	*len = 0;
	switch (cmd) {
	case AR_KEY:
		path = spool_file(an->spool, DESC_FILE);
		if (read_bounded(path, AR_FILE_MAX, body, len) != 0) {
			int saved = errno;

			mem_free(path);
			/* missing, or not a descriptor (too large, not a file): a text, not 75 for ever */
			if (saved != ENOENT && saved != EFBIG && saved != EINVAL) {
				errno = saved;
				return -1;
			}
			sb_printf(&b, "This node has not published its descriptor yet. "
			    "Please ask again later.\n");
			break;
		}
		mem_free(path);
		return 0;
	case AR_CONF:
		*body = autoreply_conf_text(an->conf, an->set, len);
		return 0;
	case AR_STATS:
		return body_stats(an, body, len);
	case AR_HELP:
		if (an->set->help_file[0] != '\0' &&
		    body_file(an->set->help_file, "help_file", body, len) == 0)
			return 0;
		sb_printf(&b, autoreply_help_default, addr, addr);
		break;
	case AR_ADMINKEY:
		if (an->set->admin_key_file[0] != '\0' &&
		    body_file(an->set->admin_key_file, "admin_key_file", body, len) == 0)
			return 0;
		sb_printf(&b, "The operator of this node publishes no key.\n");
		break;
	default:
		errno = EINVAL;
		return -1;
	}
	*body = b.p;
	*len = b.len;
	return 0;
}

/* ---- the mails --------------------------------------------------------------------- */

static int
header_addr_ok(const char *a)
{
	return autoreply_addr_valid(a, strlen(a));
}

static const char *
domain_of(const char *addr)
{
	const char *at = strrchr(addr, '@');

	return at != NULL && at[1] != '\0' ? at + 1 : PKTMAIL_DOMAIN_NONE;
}

static int
hex_ok(const char *id)
{
	size_t i;

	for (i = 0; i < AR_ID_HEX; i++)
		if (hexval(id[i]) < 0)
			return 0;
	return id[i] == '\0';
}

int
autoreply_compose(const char *from, const char *to, enum ar_cmd cmd, int64_t now,
    const char *id, const char *body, size_t body_len, uint8_t **mail, size_t *len)
{
	struct sbuf b = { NULL, 0, 0 };
	char date[PKTMAIL_DATE_MAX];

	*mail = NULL;
	*len = 0;
	if (!header_addr_ok(from) || !header_addr_ok(to) || cmd == AR_NONE ||
	    (size_t)cmd >= NCMDS || !hex_ok(id))
		return -1;
	pktmail_date(now, date);
	sb_printf(&b, "From: %s\nTo: %s\nSubject: Re: %s\nDate: %s\nMessage-ID: <%s@%s>\n"
	    "Auto-Submitted: auto-replied\nMIME-Version: 1.0\n"
	    "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n",
	    from, to, cmd_names[cmd], date, id, domain_of(from));
	sb_put(&b, body, body_len);
	if (body_len == 0 || body[body_len - 1] != '\n')
		sb_put(&b, "\n", 1);
	*mail = (uint8_t *)b.p;
	*len = b.len;
	return 0;
}

/* contains - 1 if s occurs in p[0..len) */
static int
contains(const uint8_t *p, size_t len, const char *s)
{
	size_t n = strlen(s), i;

	for (i = 0; i + n <= len; i++)
		if (p[i] == (uint8_t)s[0] && memcmp(p + i, s, n) == 0)
			return 1;
	return 0;
}

int
autoreply_complaint(const char *from, const char *to, const char *node_name, int64_t now,
    const char *id, const char *boundary, const uint8_t *orig, size_t orig_len,
    uint8_t **mail, size_t *len)
{
	struct sbuf b = { NULL, 0, 0 };
	char date[PKTMAIL_DATE_MAX], delim[16 + AR_ID_HEX];

	*mail = NULL;
	*len = 0;
	if (!header_addr_ok(from) || !header_addr_ok(to) || !hex_ok(id) || !hex_ok(boundary))
		return -1;
	(void)snprintf(delim, sizeof delim, "--=_mixnode_%s", boundary);
	if (contains(orig, orig_len, delim))
		return -1;
	pktmail_date(now, date);
	sb_printf(&b, "From: %s\nTo: %s\nSubject: mixnode %s: a mail to the complaints address\n"
	    "Date: %s\nMessage-ID: <%s@%s>\nAuto-Submitted: auto-generated\nMIME-Version: 1.0\n"
	    "Content-Type: multipart/mixed; boundary=\"=_mixnode_%s\"\n\n"
	    "This is a message in MIME format.\n\n"
	    "%s\nContent-Type: text/plain; charset=us-ascii\n\n"
	    "A mail came to the complaints address of the mixmail node %s.\n"
	    "It is attached as it arrived (%zu bytes).\n\n"
	    "%s\nContent-Type: message/rfc822\nContent-Disposition: attachment\n"
	    "Content-Transfer-Encoding: 8bit\n\n",
	    from, to, node_name, date, id, domain_of(from), boundary, delim, node_name,
	    orig_len, delim);
	sb_put(&b, orig, orig_len);
	if (orig_len == 0 || orig[orig_len - 1] != '\n')
		sb_put(&b, "\n", 1);
	sb_printf(&b, "%s--\n", delim);
	*mail = (uint8_t *)b.p;
	*len = b.len;
	return 0;
}

void
autoreply_random_hex(char out[AR_ID_HEX + 1])
{
	uint8_t rnd[AR_ID_HEX / 2];

	mcrypto_random(NULL, rnd, sizeof rnd);
	mcrypto_hex(out, rnd, sizeof rnd);
}
