/*
 * fuzz-outbox.c - libFuzzer harness for outbox_read() (src/outbox.c), the
 * parser of the outbox entries mixnode flush reads back from disk
 * (doc/autoreply.md, section 4).
 *
 * The entries are written by the node's own hook, but the flusher reads
 * whatever lies in SPOOL/outbox/: a damaged disk, a crash or an operator's
 * mistake may leave anything there, and the flusher must neither crash
 * nor send a malformed mail. Each input is written to one file of a
 * private spool (in /dev/shm when it exists, so the syncs cost little) and
 * read with outbox_read. The harness aborts (msg_panic) if an accepted
 * entry
 *   - has a kind other than reply or complaint, a negative time, an empty
 *     or over-long recipient, addresses not NUL-terminated in their
 *     fields, or a mail of 0 or more than OUTBOX_MAIL_MAX bytes;
 *   - does not write back (outbox_commit) to exactly the input bytes:
 *     every entry has one encoding, so an accepted entry that another
 *     encoding would also give means the reader accepts too much.
 *
 * Seeds live in fuzz/corpus/outbox/ (a reply, a complaint, and near
 * misses). "make fuzz-smoke" runs this harness briefly over a copy.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "mcrypto.h"
#include "mem.h"
#include "outbox.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NAME	"0123456789abcdef0123456789abcdef"

static char spool[256];
static char path[300];

/* cleanup - remove the private spool at exit */
static void
cleanup(void)
{
	char p[300];

	(void)unlink(path);
	(void)snprintf(p, sizeof p, "%s/outbox/tmp", spool);
	(void)rmdir(p);
	(void)snprintf(p, sizeof p, "%s/outbox", spool);
	(void)rmdir(p);
	(void)rmdir(spool);
}

static void
init_once(void)
{
	static int done;
	const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	char dir[300];

	if (done)
		return;
	if (mcrypto_init() != 0)
		msg_panic("fuzz-outbox: mcrypto_init failed");
	(void)snprintf(spool, sizeof spool, "%s/fuzz-outbox.XXXXXX", base);
	if (mkdtemp(spool) == NULL)
		msg_panic("fuzz-outbox: mkdtemp: %s", strerror(errno));
	(void)snprintf(dir, sizeof dir, "%s/outbox", spool);
	if (mkdir(dir, 0700) != 0)
		msg_panic("fuzz-outbox: mkdir %s: %s", dir, strerror(errno));
	(void)snprintf(dir, sizeof dir, "%s/outbox/tmp", spool);
	if (mkdir(dir, 0700) != 0)
		msg_panic("fuzz-outbox: mkdir %s: %s", dir, strerror(errno));
	(void)snprintf(path, sizeof path, "%s/outbox/" NAME, spool);
	(void)atexit(cleanup);
	done = 1;
}

/* put - write size bytes into the file at p, replacing it */
static void
put(const char *p, const uint8_t *data, size_t size)
{
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	size_t off = 0;
	ssize_t w;

	if (fd < 0)
		msg_panic("fuzz-outbox: open: %s", strerror(errno));
	while (off < size) {
		w = write(fd, data + off, size - off);
		if (w <= 0)
			msg_panic("fuzz-outbox: write: %s", strerror(errno));
		off += (size_t)w;
	}
	(void)close(fd);
}

/* same_file - 1 if the file at p holds exactly size bytes equal to data */
static int
same_file(const char *p, const uint8_t *data, size_t size)
{
	struct stat sb;
	uint8_t *buf;
	size_t got = 0;
	ssize_t r;
	int fd = open(p, O_RDONLY | O_CLOEXEC), same;

	if (fd < 0 || fstat(fd, &sb) != 0 || (uint64_t)sb.st_size != size)
		msg_panic("fuzz-outbox: the entry written back is %lld bytes, read %zu",
		    fd < 0 ? -1LL : (long long)sb.st_size, size);
	buf = mem_alloc(size ? size : 1);
	while (got < size && (r = read(fd, buf + got, size - got)) > 0)
		got += (size_t)r;
	(void)close(fd);
	same = got == size && memcmp(buf, data, size) == 0;
	mem_free(buf);
	return same;
}

/* terminated - 1 if s holds a NUL within n bytes */
static int
terminated(const char *s, size_t n)
{
	return memchr(s, '\0', n) != NULL;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct outbox_entry e;
	char name[OUTBOX_NAME_LEN + 1], back[400];

	init_once();
	if (size > OUTBOX_HEAD_MAX + 64 * 1024)
		return 0;	/* long mails only repeat the last field's case */
	put(path, data, size);
	switch (outbox_read(spool, NAME, &e)) {
	case OUTBOX_OK:
		break;
	case OUTBOX_ERR_FORMAT:
		if (e.data != NULL)
			msg_panic("fuzz-outbox: a refused entry keeps its data");
		return 0;
	default:
		msg_panic("fuzz-outbox: outbox_read: I/O error: %s", strerror(errno));
	}
	if (e.kind != OUTBOX_REPLY && e.kind != OUTBOX_COMPLAINT)
		msg_panic("fuzz-outbox: kind %d accepted", (int)e.kind);
	if (e.created < 0)
		msg_panic("fuzz-outbox: a negative time accepted");
	if (!terminated(e.sender, sizeof e.sender) || !terminated(e.rcpt, sizeof e.rcpt) ||
	    e.rcpt[0] == '\0')
		msg_panic("fuzz-outbox: an address field accepted unterminated or empty");
	if (e.data == NULL || e.len == 0 || e.len > OUTBOX_MAIL_MAX)
		msg_panic("fuzz-outbox: a mail of %zu bytes accepted", e.len);
	/* one encoding: what outbox_commit writes for e is the input */
	if (outbox_commit(spool, &e, name) != 0)
		msg_panic("fuzz-outbox: an accepted entry does not write back: %s", strerror(errno));
	(void)snprintf(back, sizeof back, "%s/outbox/%s", spool, name);
	if (!same_file(back, data, size))
		msg_panic("fuzz-outbox: an accepted entry writes back to other bytes");
	if (outbox_remove(spool, name) != 0)
		msg_panic("fuzz-outbox: outbox_remove: %s", strerror(errno));
	outbox_entry_free(&e);
	return 0;
}
