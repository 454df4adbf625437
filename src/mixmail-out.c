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

#include "armor.h"
#include "fdio.h"
#include "log.h"
#include "mcrypto.h"
#include "mem.h"
#include "mixmail-out.h"
#include "relay.h"

#define NAME_BYTES	16	/* random bytes of a dump file name: 32 hex digits */
#define HEAD_MAX	(3 * PKT_ADDR_MAX + 200)

/* rfc5322_date - "Thu, 01 Jan 2026 00:00:00 +0000" (UTC, C locale names) */
static void
rfc5322_date(char *buf, size_t size, int64_t now)
{
	static const char days[7][4] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char months[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul",
		"Aug", "Sep", "Oct", "Nov", "Dec" };
	time_t t = (time_t)now;
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL || tm.tm_wday < 0 || tm.tm_wday > 6 || tm.tm_mon < 0 ||
	    tm.tm_mon > 11) {
		t = 0;
		(void)gmtime_r(&t, &tm);
	}
	(void)snprintf(buf, size, "%s, %02d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday],
	    tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

void
mmout_mail(struct mm_mail *m, const char *from, const char *to, const char *hop,
    int64_t now, const uint8_t pkt[PKT_SIZE])
{
	uint8_t id[NAME_BYTES];
	char date[64], hex[2 * NAME_BYTES + 1];
	size_t head, alen;
	int n;

	memset(m, 0, sizeof *m);
	rfc5322_date(date, sizeof date, now);
	mcrypto_random(NULL, id, sizeof id);
	mcrypto_hex(hex, id, sizeof id);
	m->data = mem_alloc(HEAD_MAX + ARMOR_SIZE);
	n = snprintf(m->data, HEAD_MAX, "From: %s\nTo: %s\nDate: %s\nMessage-ID: <%s@%s>\n\n",
	    from, to, date, hex, MMOUT_MSGID_DOMAIN);
	if (n < 0 || (size_t)n >= HEAD_MAX)
		msg_panic("mixmail: first-hop mail header longer than %d bytes", HEAD_MAX);
	head = (size_t)n;
	alen = armor_encode(m->data + head, ARMOR_SIZE, pkt);
	if (alen != ARMOR_SIZE - 1)
		msg_panic("mixmail: armor_encode wrote %zu bytes", alen);
	m->len = head + alen;
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
