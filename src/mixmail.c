/*
 * mixmail - compose and send anonymous mail through a mixmail network.
 *
 * This build has the packet format and its library; composing and sending
 * arrive with the client (doc/mixmail.1 says what exists).
 */
#include <config.h>

#include <stdio.h>
#include <string.h>

#include "log.h"

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: mixmail [-c FILE] --version | --help\n"
	    "\n"
	    "mixmail will compose a message, wrap it in one encryption layer per\n"
	    "hop and mail it to the first node of a mixmail network.\n"
	    "\n"
	    "This is release %s: it provides the native packet format (see\n"
	    "doc/packet-format.md and the packet demo), not yet the sending\n"
	    "commands. Options:\n"
	    "  -c FILE     configuration file (accepted, not yet read)\n"
	    "  --version   print the version and exit\n"
	    "  --help      print this help and exit\n", PACKAGE_VERSION);
}

int
main(int argc, char **argv)
{
	int i;

	msg_set_progname(argv[0]);
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--version") == 0 || strcmp(argv[i], "-V") == 0) {
			printf("mixmail %s (packet format version 1)\n", PACKAGE_VERSION);
			return 0;
		}
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return 0;
		}
		if (strcmp(argv[i], "-c") == 0 && i + 1 < argc) {
			i++;
			continue;
		}
		fprintf(stderr, "mixmail: unknown argument: %.64s\n", argv[i]);
		usage(stderr);
		return 64;
	}
	usage(stderr);
	return 64;
}
