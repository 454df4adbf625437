/*
 * mixnode - run a mixmail node beside Postfix or Exim.
 *
 * Usage: mixnode [-c FILE] COMMAND [ARGS...]
 *
 * Commands in this release: config. The node commands (init, receive,
 * flush, keys, publish, check) come with the node; --help lists exactly
 * what exists. Exit status: 0 success, 64 usage error, 78 configuration
 * error (doc/mixnode.8).
 */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "log.h"
#include "nodeconf.h"

#define EX_OK_		0
#define EX_USAGE_	64
#define EX_CONFIG_	78

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: mixnode [-c FILE] COMMAND [ARGS...]\n"
	    "       mixnode --version | --help\n"
	    "\n"
	    "Commands:\n"
	    "  config [-d] [-n] [NAME...]\n"
	    "              print the effective settings (-d: the defaults,\n"
	    "              -n: only those the file sets), like postconf\n"
	    "\n"
	    "Options:\n"
	    "  -c FILE     configuration file (default: $MIXNODE_CONF, else\n"
	    "              %s)\n"
	    "  --version   print the version and exit\n"
	    "  --help      print this help and exit\n"
	    "\n"
	    "This is release %s. The node commands (init, receive, flush, keys,\n"
	    "publish, check) are not yet implemented; see mixnode(8).\n",
	    NODECONF_DEFAULT_PATH, PACKAGE_VERSION);
}

/* cmd_config - print settings like postconf */
static int
cmd_config(const char *conf_path, int argc, char **argv)
{
	struct conf c;
	char err[CONF_ERR_MAX];
	int i, defaults = 0, nondefault = 0, status = EX_OK_;

	for (i = 0; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "-d") == 0)
			defaults = 1;
		else if (strcmp(argv[i], "-n") == 0)
			nondefault = 1;
		else {
			fprintf(stderr, "mixnode: config: unknown option %.32s\n", argv[i]);
			return EX_USAGE_;
		}
	}
	nodeconf_init(&c);
	if (!defaults && conf_load(&c, nodeconf_path(conf_path), err, sizeof err) != 0) {
		fprintf(stderr, "mixnode: %s\n", err);
		conf_free(&c);
		return EX_CONFIG_;
	}
	if (i == argc) {
		size_t k;

		for (k = 0; k < c.n; k++)
			if (!nondefault || c.line[k] != 0)
				conf_print(&c, stdout, c.table[k].name, defaults);
	}
	for (; i < argc; i++) {
		if (conf_find(&c, argv[i]) == NULL) {
			fprintf(stderr, "mixnode: config: unknown setting \"%.64s\"\n", argv[i]);
			status = EX_CONFIG_;
			continue;
		}
		conf_print(&c, stdout, argv[i], defaults);
	}
	conf_free(&c);
	return status;
}

int
main(int argc, char **argv)
{
	const char *conf_path = NULL;
	int i = 1;

	msg_set_progname(argv[0]);
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "--version") == 0 || strcmp(argv[i], "-V") == 0) {
			printf("mixnode %s (packet format version 1)\n", PACKAGE_VERSION);
			return EX_OK_;
		}
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return EX_OK_;
		}
		if (strcmp(argv[i], "-c") == 0 && i + 1 < argc) {
			conf_path = argv[++i];
			continue;
		}
		fprintf(stderr, "mixnode: unknown option: %.64s\n", argv[i]);
		usage(stderr);
		return EX_USAGE_;
	}
	if (i == argc) {
		usage(stderr);
		return EX_USAGE_;
	}
	if (strcmp(argv[i], "config") == 0)
		return cmd_config(conf_path, argc - i - 1, argv + i + 1);
	fprintf(stderr, "mixnode: unknown command: %.64s\n", argv[i]);
	usage(stderr);
	return EX_USAGE_;
}
