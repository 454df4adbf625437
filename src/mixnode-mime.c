/*
 * mixnode-mime - find the packet in a MIME-encoded mail, for `mixnode
 * receive`.
 *
 * The receive hook searches the raw mail for an armor itself. Only when
 * that finds no packet (the armor sits in a base64 or quoted-printable
 * part, or an MTA re-encoded the mail) does it run this program, with the
 * mail on standard input. Keeping GMime and its libraries out of the hook
 * halves the cost of every mail, and parses the untrusted MIME structure
 * in a process of its own.
 *
 * Output: on success the packet, exactly PKT_SIZE bytes, on standard
 * output. Exit status (doc/INTERNALS.md, section 3):
 *   0   packet written
 *   2   not parseable as a mail message      (MAILPKT_ERR_PARSE)
 *   3   no armor anywhere                    (MAILPKT_ERR_NONE)
 *   4   an armor, but none decoded           (MAILPKT_ERR_ARMOR)
 *   5   a size or nesting bound was hit      (MAILPKT_ERR_LIMIT)
 *   64  usage
 *   75  transient trouble (a read or write failed, run as root)
 * It prints nothing about the mail, not even on error.
 */
#include <config.h>

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "fdio.h"
#include "log.h"
#include "mailpkt.h"
#include "mcrypto.h"
#include "mem.h"
#include "pkt.h"

#define EXIT_TEMP	75

int
main(int argc, char **argv)
{
	uint8_t *mail, pkt[PKT_SIZE];
	size_t len = 0, cap = MAILPKT_MAX_MAIL + 1;
	ssize_t got;
	enum mailpkt_err err;

	msg_set_progname("mixnode-mime");
	msg_syslog();
	if (argc != 1 || argv[0] == NULL) {
		msg_warn("usage: mixnode-mime < mail (run by mixnode receive)");
		return 64;
	}
	if (getuid() == 0 || geteuid() == 0) {
		msg_warn("refusing to run as root");
		return EXIT_TEMP;
	}
	/* More than MAILPKT_MAX_MAIL: mailpkt_extract says LIMIT unparsed. */
	mail = mem_alloc(cap);
	while (len < cap) {
		got = read(STDIN_FILENO, mail + len, cap - len);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			msg_warn("read: %s", strerror(errno));
			return EXIT_TEMP;
		}
		if (got == 0)
			break;
		len += (size_t)got;
	}
	err = mailpkt_extract(mail, len, pkt);
	mcrypto_wipe(mail, len);
	mem_free(mail);
	switch (err) {
	case MAILPKT_OK:
		if (fd_write_all(STDOUT_FILENO, pkt, sizeof pkt) != 0) {
			msg_warn("write: %s", strerror(errno));
			return EXIT_TEMP;
		}
		return 0;
	case MAILPKT_ERR_PARSE:	return 2;
	case MAILPKT_ERR_NONE:	return 3;
	case MAILPKT_ERR_ARMOR:	return 4;
	case MAILPKT_ERR_LIMIT:	return 5;
	}
	return EXIT_TEMP;
}
