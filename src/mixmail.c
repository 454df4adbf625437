/*
 * mixmail - compose and send anonymous mail through a mixmail network.
 *
 *   mixmail [options] ADDRESS... < BODY    compose, like mail(1)
 *   mixmail [options] -m [FILE]            a complete RFC 5322 mail
 *   mixmail import FILE... | nodes | forget NAME... | config [-d]
 *
 * This file holds the command line: options, their checks, the usage
 * text and the dispatch. Sending is src/mixmail-send.c (with the mails and
 * their hand-off in src/mixmail-out.c), the node directory
 * src/mixmail-nodes.c, the user's directory and settings
 * src/mixmail-home.c. doc/mixmail.1 is the manual; the exit codes are in
 * src/mixmail-home.h.
 *
 * mixmail refuses to run as root (like every program here): a sender's
 * program has no use for the privilege, and root's files are no place
 * for a sender's settings. --version and --help work for anyone.
 */
#include <config.h>

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fragment.h"
#include "log.h"
#include "mailpkt.h"
#include "mcrypto.h"
#include "mem.h"
#include "mixmail-home.h"
#include "mixmail-nodes.h"
#include "mixmail-send.h"
#include "pkt.h"

#define HEADERS_MAX	64	/* -H options */

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: mixmail [-v] [-s SUBJECT] [-l CHAIN] [-c COPIES] [-H 'Name: value']...\n"
	    "               [--cc ADDRESS]... [--dump DIR] ADDRESS... < BODY\n"
	    "       mixmail [-v] [-l CHAIN] [-c COPIES] [--dump DIR] -m [FILE]\n"
	    "       mixmail import FILE...\n"
	    "       mixmail nodes\n"
	    "       mixmail forget NAME...\n"
	    "       mixmail config [-d]\n"
	    "       mixmail --version | --help\n"
	    "\n"
	    "Send a message anonymously: it is wrapped in one layer of encryption\n"
	    "per hop of a chain of mixmail nodes and mailed to the first node.\n"
	    "\n"
	    "  ADDRESS...    destinations (To:); the body is read from standard input\n"
	    "  -s SUBJECT    the subject\n"
	    "  --cc ADDRESS  a Cc: destination (may be repeated)\n"
	    "  -H 'N: v'     an extra header field (Reply-To, In-Reply-To, References,\n"
	    "                Keywords; may be repeated)\n"
	    "  -m [FILE]     send the complete mail in FILE (default: standard input):\n"
	    "                its To, Cc, Subject, permitted fields and MIME parts;\n"
	    "                From, Received, Message-ID, X-Mailer... never travel\n"
	    "  -l CHAIN      node names and * (a random node), comma-separated, the\n"
	    "                exit last (at most %d hops); default: mixmail.conf\n"
	    "  -c COPIES     1 to %d: copies over chains with different middle hops\n"
	    "  --dump DIR    write each first-hop mail to a file in DIR instead of\n"
	    "                handing it to the relay\n"
	    "  -v            say what is sent where (on standard error)\n"
	    "\n"
	    "  import FILE   add or update signed node descriptors (\"-\": stdin)\n"
	    "  nodes         list the known nodes, their keys and capabilities\n"
	    "  forget NAME   remove a node (to accept a new identity key)\n"
	    "  config [-d]   print the settings (-d: the defaults)\n"
	    "\n"
	    "Settings and nodes are in $MIXMAIL_HOME (default ~/.mixmail). Exit\n"
	    "status 0 only when every mail was handed over; see mixmail(1).\n"
	    "This is release %s. Reply blocks and node statistics (reliability,\n"
	    "latency) are not yet implemented.\n",
	    CHAIN_MAX_HOPS, FRAG_COPIES_MAX, PACKAGE_VERSION);
}

/* bad_usage - a usage error: what is wrong, then a pointer to --help */
static int bad_usage(const char *fmt, ...) MIX_PRINTF(1, 2);

static int
bad_usage(const char *fmt, ...)
{
	va_list ap;

	fputs("mixmail: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\n(mixmail --help shows the usage)\n", stderr);
	return MM_EX_USAGE;
}

/* prepare - what every command needs: not root, crypto, the home */
static int
prepare(struct mm_home *h, int create)
{
	char err[MM_ERR_MAX];
	int status;

	if (mmhome_is_root()) {
		fprintf(stderr, "mixmail: refusing to run as root: send as an ordinary user\n");
		return MM_EX_NOPERM;
	}
	if (mcrypto_init() != 0) {
		fprintf(stderr, "mixmail: cannot initialise the crypto libraries\n");
		return MM_EX_TEMPFAIL;
	}
	if ((status = mmhome_open(h, create, err, sizeof err)) != MM_EX_OK) {
		fprintf(stderr, "mixmail: %s\n", err);
		mmhome_close(h);
	}
	return status;
}

/* subcommand - import, nodes, forget, config; -1 if argv[1] is none */
static int
subcommand(int argc, char **argv)
{
	const char *cmd = argv[1];
	struct mm_home h;
	int status, defaults = 0;

	if (strcmp(cmd, "import") == 0 || strcmp(cmd, "forget") == 0) {
		if (argc < 3)
			return bad_usage("%s: name at least one %s", cmd,
			    cmd[0] == 'i' ? "FILE" : "NAME");
	} else if (strcmp(cmd, "nodes") == 0) {
		if (argc > 2)
			return bad_usage("nodes takes no arguments");
	} else if (strcmp(cmd, "config") == 0) {
		if (argc > 3 || (argc == 3 && strcmp(argv[2], "-d") != 0))
			return bad_usage("config takes only -d");
		defaults = argc == 3;
	} else
		return -1;
	if ((status = prepare(&h, cmd[0] == 'i')) != MM_EX_OK)
		return status;
	if (cmd[0] == 'i')
		status = mmnodes_import(&h, argc - 2, argv + 2);
	else if (cmd[0] == 'n')
		status = mmnodes_list(&h);
	else if (cmd[0] == 'f')
		status = mmnodes_forget(&h, argc - 2, argv + 2);
	else
		status = mmhome_print_conf(&h, defaults);
	mmhome_close(&h);
	return status;
}

/* copies_arg - -c: 1..FRAG_COPIES_MAX, or 0 */
static unsigned
copies_arg(const char *s)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < 1 || v > FRAG_COPIES_MAX)
		return 0;
	return (unsigned)v;
}

/* check_send - the options of a send make sense together */
static int
check_send(const struct mmsend_opts *o, int nargs, char **args)
{
	struct stat st;

	if (o->whole_mail) {
		if (o->subject != NULL || o->nheaders > 0 || o->ncc > 0)
			return bad_usage("-m sends a complete mail: its own header gives the "
			    "subject and destinations (-s, -H and --cc do not apply)");
		if (nargs > 1)
			return bad_usage("-m takes at most one FILE");
	} else {
		if (nargs == 0)
			return bad_usage("name at least one destination ADDRESS");
		if (strcmp(args[0], "import") == 0 || strcmp(args[0], "nodes") == 0 ||
		    strcmp(args[0], "forget") == 0 || strcmp(args[0], "config") == 0)
			return bad_usage("%s is a command: it comes first, without options",
			    args[0]);
	}
	if (o->dump != NULL && (stat(o->dump, &st) != 0 || !S_ISDIR(st.st_mode)))
		return bad_usage("--dump: %s is not a directory", o->dump);
	return MM_EX_OK;
}

static int
send_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "cc", required_argument, NULL, 'C' },
		{ "dump", required_argument, NULL, 'D' },
		{ "help", no_argument, NULL, 'h' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	const char **headers = mem_calloc((size_t)argc, sizeof *headers);
	const char **cc = mem_calloc((size_t)argc, sizeof *cc);
	struct mmsend_opts o;
	struct mm_home h;
	int c, status;

	memset(&o, 0, sizeof o);
	opterr = 1;
	while ((c = getopt_long(argc, argv, "s:l:c:H:mvVh", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			o.subject = optarg;
			break;
		case 'l':
			o.chain = optarg;
			break;
		case 'c':
			if ((o.copies = copies_arg(optarg)) == 0) {
				status = bad_usage("-c: copies must be a number from 1 to %d",
				    FRAG_COPIES_MAX);
				goto out;
			}
			break;
		case 'H':
			if (o.nheaders == HEADERS_MAX) {
				status = bad_usage("at most %d -H options", HEADERS_MAX);
				goto out;
			}
			headers[o.nheaders++] = optarg;
			break;
		case 'C':
			cc[o.ncc++] = optarg;
			break;
		case 'D':
			o.dump = optarg;
			break;
		case 'm':
			o.whole_mail = 1;
			break;
		case 'v':
			o.verbose = 1;
			break;
		case 'V':
			printf("mixmail %s (packet format version %d)\n", PACKAGE_VERSION,
			    PKT_VERSION);
			status = MM_EX_OK;
			goto out;
		case 'h':
			usage(stdout);
			status = MM_EX_OK;
			goto out;
		default:
			status = bad_usage("unknown or incomplete option");
			goto out;
		}
	}
	o.headers = headers;
	o.cc = cc;
	if (o.whole_mail)
		o.mail_file = optind < argc ? argv[optind] : NULL;
	else {
		o.to = (const char *const *)argv + optind;
		o.nto = (size_t)(argc - optind);
	}
	if ((status = check_send(&o, argc - optind, argv + optind)) != MM_EX_OK ||
	    (status = prepare(&h, 0)) != MM_EX_OK)
		goto out;
	mailpkt_init();
	status = mmsend_run(&h, &o);
	mmhome_close(&h);
out:
	mem_free(headers);
	mem_free(cc);
	return status;
}

int
main(int argc, char **argv)
{
	int status;

	msg_set_progname(argv[0]);
	if (argc < 2) {
		usage(stderr);
		return MM_EX_USAGE;
	}
	if ((status = subcommand(argc, argv)) >= 0)
		return status;
	return send_main(argc, argv);
}
