/*
 * mixmail-out.c - first-hop mails and their hand-off (mixmail-out.h has
 * the mail's exact form and the --dump rules).
 *
 * Diagnostics: nothing is logged. Reasons are counts, the relay's name,
 * SMTP reply classes and system errors; never an address or a file name
 * of a mail.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fdio.h"
#include "log.h"
#include "mcrypto.h"
#include "mem.h"
#include "mixmail-out.h"
#include "pktmail.h"
#include "relay.h"

#define NAME_BYTES	16	/* random bytes of a dump file name: 32 hex digits */

void
mmout_mail(struct mm_mail *m, const char *from, const char *to, const char *hop,
    int64_t now, const uint8_t pkt[PKT_SIZE])
{
	memset(m, 0, sizeof *m);
	/* from is checked by the settings parser, to by the descriptor parser */
	if (pktmail_build(from, to, now, pkt, &m->data, &m->len) != 0)
		msg_panic("mixmail: an address the settings or descriptor parser let pass");
	m->to = to;
	m->hop = hop;
	(void)snprintf(m->why, sizeof m->why, "not attempted");
}

size_t
mmout_relay(const struct relay *r, const char *from, struct mm_mail *mails, size_t n,
    char *err, size_t errlen)
{
	struct relay_msg *msgs = mem_calloc(n, sizeof *msgs);
	size_t i, sent;

	for (i = 0; i < n; i++) {
		msgs[i].sender = from;
		msgs[i].rcpt = &mails[i].to;
		msgs[i].nrcpt = 1;
		msgs[i].data = (const uint8_t *)mails[i].data;
		msgs[i].len = mails[i].len;
	}
	sent = relay_send(r, msgs, n, err, errlen);
	for (i = 0; i < n; i++) {
		mails[i].sent = msgs[i].result == RELAY_SENT;
		if (mails[i].sent)
			mails[i].why[0] = '\0';
		else if (msgs[i].code != 0)
			(void)snprintf(mails[i].why, sizeof mails[i].why, "%s, SMTP reply %d",
			    msgs[i].result == RELAY_PERM ? "refused" : "not accepted, temporary",
			    msgs[i].code);
		else
			(void)snprintf(mails[i].why, sizeof mails[i].why, "%s",
			    msgs[i].result == RELAY_PERM ? "refused (invalid)" :
			    "not accepted (no answer from the relay)");
	}
	mem_free(msgs);
	return sent;
}

/* dump_one - one mail into dirfd, durably except for the directory's sync */
static int
dump_one(int dirfd, struct mm_mail *m)
{
	uint8_t id[NAME_BYTES];
	char hex[2 * NAME_BYTES + 1], tmp[64], name[64];
	int fd, e;

	mcrypto_random(NULL, id, sizeof id);
	mcrypto_hex(hex, id, sizeof id);
	(void)snprintf(tmp, sizeof tmp, "%s%s", MMOUT_TMP_PREFIX, hex);
	(void)snprintf(name, sizeof name, "%s%s", hex, MMOUT_SUFFIX);
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		(void)snprintf(m->why, sizeof m->why, "cannot create a file: %s", strerror(errno));
		return -1;
	}
	if (fd_write_all(fd, m->data, m->len) != 0 || fsync(fd) != 0) {
		e = errno;
		(void)close(fd);
		(void)unlinkat(dirfd, tmp, 0);
		(void)snprintf(m->why, sizeof m->why, "cannot write a file: %s", strerror(e));
		return -1;
	}
	if (close(fd) != 0) {
		e = errno;
		(void)unlinkat(dirfd, tmp, 0);
		(void)snprintf(m->why, sizeof m->why, "cannot write a file: %s", strerror(e));
		return -1;
	}
	if (renameat(dirfd, tmp, dirfd, name) != 0) {
		e = errno;
		(void)unlinkat(dirfd, tmp, 0);
		(void)snprintf(m->why, sizeof m->why, "cannot rename a file: %s", strerror(e));
		return -1;
	}
	return 0;
}

size_t
mmout_dump(const char *dir, struct mm_mail *mails, size_t n, char *err, size_t errlen)
{
	size_t i, done = 0;
	int dirfd, e;

	err[0] = '\0';
	dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0) {
		e = errno;
		for (i = 0; i < n; i++)
			(void)snprintf(mails[i].why, sizeof mails[i].why, "cannot open the "
			    "directory: %s", strerror(e));
		(void)snprintf(err, errlen, "--dump: cannot open the directory: %s", strerror(e));
		return 0;
	}
	for (i = 0; i < n; i++)
		if (dump_one(dirfd, &mails[i]) == 0) {
			mails[i].sent = 1;
			mails[i].why[0] = '\0';
			done++;
		}
	if (done > 0 && fsync(dirfd) != 0) {
		e = errno;
		/* The files may be there, but a crash could take them: not handed over */
		for (i = 0; i < n; i++)
			if (mails[i].sent) {
				mails[i].sent = 0;
				(void)snprintf(mails[i].why, sizeof mails[i].why, "written, but the "
				    "directory could not be synced: %s", strerror(e));
			}
		done = 0;
	}
	(void)close(dirfd);
	if (done < n)
		(void)snprintf(err, errlen, "--dump: %zu of %zu mails written", done, n);
	return done;
}

void
mmout_free(struct mm_mail *mails, size_t n)
{
	size_t i;

	if (mails == NULL)
		return;
	for (i = 0; i < n; i++)
		mem_free(mails[i].data);
	mem_free(mails);
}
