/*
 * mixnode - run a mixmail node beside Postfix or Exim.
 *
 * This build has the packet format and its library; the node verbs (init,
 * receive, flush, keys, publish, ...) arrive with the node (doc/mixnode.8
 * says what exists).
 */
#include <config.h>

#include <stdio.h>
#include <string.h>

#include "log.h"

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: mixnode [-c FILE] --version | --help\n"
	    "\n"
	    "mixnode will receive packets from the MTA, peel one layer, pool\n"
	    "them and flush them on to the next hop.\n"
	    "\n"
	    "This is release %s: it provides the native packet format (see\n"
	    "doc/packet-format.md and the packet demo), not yet the node\n"
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
			printf("mixnode %s (packet format version 1)\n", PACKAGE_VERSION);
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
		fprintf(stderr, "mixnode: unknown argument: %.64s\n", argv[i]);
		usage(stderr);
		return 64;
	}
	usage(stderr);
	return 64;
}
