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
 * output. With status 3 (no packet), one classification line instead,
 * for the hook's auto-replies (doc/autoreply.md section 2): the command
 * the Subject names, the loop signals of the headers and the reply
 * address (Reply-To, else From), all found by GMime.
 * Exit status (doc/INTERNALS.md, section 3):
 *   0   packet written
 *   2   not parseable as a mail message      (MAILPKT_ERR_PARSE)
 *   3   no armor anywhere                    (MAILPKT_ERR_NONE; class line written)
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

#include <gmime/gmime.h>

#include "autoreply.h"
#include "fdio.h"
#include "log.h"
#include "mailpkt.h"
#include "mcrypto.h"
#include "mem.h"
#include "pkt.h"

#define EXIT_TEMP	75

/* trimmed - s without surrounding white space, compared with word, any case */
static int
is_word(const char *s, const char *word)
{
	size_t n;

	if (s == NULL)
		return 0;
	while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
		s++;
	n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
		n--;
	return n == strlen(word) && g_ascii_strncasecmp(s, word, n) == 0;
}

/* auto_submitted_no - 1 if an Auto-Submitted value is "no" (comments aside) */
static int
auto_submitted_no(const char *v)
{
	char buf[16];
	size_t i = 0;

	if (v == NULL)
		return 0;
	while (*v == ' ' || *v == '\t' || *v == '\r' || *v == '\n')
		v++;
	while (*v != '\0' && *v != ' ' && *v != '\t' && *v != ';' && *v != '(' && i < sizeof buf - 1)
		buf[i++] = *v++;
	buf[i] = '\0';
	return g_ascii_strcasecmp(buf, "no") == 0;
}

/* reply_addr - the one mailbox of list, if valid, into c->addr; 1 if list has any */
static int
reply_addr(InternetAddressList *list, struct ar_class *c)
{
	InternetAddress *ia;
	const char *a;

	if (list == NULL || internet_address_list_length(list) == 0)
		return 0;
	if (internet_address_list_length(list) != 1)
		return 1;
	ia = internet_address_list_get_address(list, 0);
	if (ia == NULL || !INTERNET_ADDRESS_IS_MAILBOX(ia))
		return 1;
	a = internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(ia));
	if (a != NULL && autoreply_addr_valid(a, strlen(a)))
		(void)g_strlcpy(c->addr, a, sizeof c->addr);
	return 1;
}

/*
 * classify - the command, loop signals and reply address of a mail without
 * a packet (doc/autoreply.md section 2). A mail GMime cannot read as a
 * message classifies as nothing.
 */
static void
classify(const uint8_t *mail, size_t len, struct ar_class *c)
{
	GMimeStream *st;
	GMimeParser *parser;
	GMimeMessage *msg;
	GMimeHeaderList *hl;
	const char *subject, *name;
	int i, n;

	memset(c, 0, sizeof *c);
	st = g_mime_stream_mem_new_with_buffer((const char *)mail, len);
	parser = g_mime_parser_new_with_stream(st);
	msg = g_mime_parser_construct_message(parser, NULL);
	g_object_unref(parser);
	g_object_unref(st);
	if (msg == NULL)
		return;
	subject = g_mime_message_get_subject(msg);
	if (subject != NULL)
		c->cmd = autoreply_cmd_find(subject, strlen(subject));
	hl = g_mime_object_get_header_list(GMIME_OBJECT(msg));
	n = hl != NULL ? g_mime_header_list_get_count(hl) : 0;
	for (i = 0; i < n; i++) {
		GMimeHeader *h = g_mime_header_list_get_header_at(hl, i);

		if (h == NULL || (name = g_mime_header_get_name(h)) == NULL)
			continue;
		if (g_ascii_strcasecmp(name, "Auto-Submitted") == 0 &&
		    !auto_submitted_no(g_mime_header_get_value(h)))
			c->loop |= AR_LOOP_AUTO;
		else if (g_ascii_strcasecmp(name, "Precedence") == 0 &&
		    (is_word(g_mime_header_get_value(h), "bulk") ||
		    is_word(g_mime_header_get_value(h), "list") ||
		    is_word(g_mime_header_get_value(h), "junk")))
			c->loop |= AR_LOOP_PRECEDENCE;
		else if (g_ascii_strncasecmp(name, "List-", 5) == 0)
			c->loop |= AR_LOOP_LIST;
	}
	if (!reply_addr(g_mime_message_get_reply_to(msg), c))
		(void)reply_addr(g_mime_message_get_from(msg), c);
	if (c->addr[0] != '\0' && autoreply_local_loop(c->addr))
		c->loop |= AR_LOOP_DAEMON;
	g_object_unref(msg);
}

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
	if (err == MAILPKT_ERR_NONE) {
		struct ar_class c;
		char line[AR_CLASS_MAX + 1];

		classify(mail, len, &c);
		if (autoreply_class_format(&c, line) != 0)
			msg_panic("mixnode-mime: a classification it cannot write");
		mcrypto_wipe(&c, sizeof c);
		if (fd_write_all(STDOUT_FILENO, line, strlen(line)) != 0) {
			msg_warn("write: %s", strerror(errno));
			return EXIT_TEMP;
		}
		mcrypto_wipe(line, sizeof line);
	}
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
