/*
 * mixnode - run a mixmail node beside Postfix or Exim.
 *
 * Usage: mixnode [-c FILE] COMMAND [ARGS...]
 *
 * This file holds the command dispatch, `config`, and what every command
 * shares (the clock, the root check, loading the settings). The operator
 * commands are in src/node_admin.c, the MTA hook in src/node_receive.c.
 * Exit status: 0 success, 1 problems found (check), 64 usage error, 75
 * temporary failure, 77 run as root, 78 configuration error; `receive`
 * exits only 0 or 75 (doc/mixnode.8).
 */
#include <config.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"
#include "mcrypto.h"
#include "mixnode.h"
#include "nodeconf.h"

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: mixnode [-c FILE] COMMAND [ARGS...]\n"
	    "       mixnode --version | --help\n"
	    "\n"
	    "Commands:\n"
	    "  init        create the spool, the keys and (if missing) the\n"
	    "              configuration file; idempotent\n"
	    "  receive [SENDER [RECIPIENT]]\n"
	    "              the MTA's pipe hook: read one mail on standard input,\n"
	    "              peel one layer, commit the packet to the pool;\n"
	    "              exits 0 (committed or dropped) or 75 (try again)\n"
	    "  keys        list the keys and rotate them when due\n"
	    "  publish [--out DIR]\n"
	    "              write the signed descriptor to SPOOL/descriptor and\n"
	    "              standard output; --out DIR: also DIR/descriptor,\n"
	    "              stats.txt, stats.json and index.html, the node's page\n"
	    "  check       verify directories, modes, keys and settings\n"
	    "  flush       one mixing round: send what the strategy picks, with\n"
	    "              dummies; deliver final-hop mail (run it from cron)\n"
	    "  stats [--report | --json]\n"
	    "              print the statistics counters (--report: per hour\n"
	    "              and day, readable; --json: the same as JSON)\n"
	    "  nodes [list | import FILE... | forget NAME...]\n"
	    "              the other nodes this node knows (signed descriptors)\n"
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
	    "This is release %s; see mixnode(8).\n",
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

static const struct command {
	const char *name;
	int (*run)(const char *, int, char **);
	int needs_user;		/* refuses root */
} commands[] = {
	{ "config", cmd_config, 0 },
	{ "init", cmd_init, 1 },
	{ "receive", cmd_receive, 1 },
	{ "keys", cmd_keys, 1 },
	{ "publish", cmd_publish, 1 },
	{ "check", cmd_check, 1 },
	{ "stats", cmd_stats, 1 },
	{ "nodes", cmd_nodes, 1 },
	{ "flush", cmd_flush, 1 },
};

/*
 * dispatch - run the command argv[0]. The hook (receive) must never exit
 * with anything but 0 or 75, whatever goes wrong, so that the MTA never
 * bounces a mail: its refusals and its panics become 75.
 */
static int
dispatch(const char *conf_path, int argc, char **argv)
{
	size_t k;

	for (k = 0; k < sizeof commands / sizeof *commands; k++) {
		if (strcmp(argv[0], commands[k].name) != 0)
			continue;
		if (commands[k].run == cmd_receive) {
			msg_syslog();
			msg_set_panic_status(EX_TEMPFAIL_);
		}
		if (commands[k].needs_user && node_is_root()) {
			msg_warn("refusing to run %s as root: run it as the node's own user",
			    commands[k].name);
			return commands[k].run == cmd_receive ? EX_TEMPFAIL_ : EX_NOPERM_;
		}
		if (commands[k].needs_user && mcrypto_init_flags(0) != 0) {
			msg_warn("cannot initialise the crypto libraries");
			return EX_TEMPFAIL_;
		}
		return commands[k].run(conf_path, argc - 1, argv + 1);
	}
	fprintf(stderr, "mixnode: unknown command: %.64s\n", argv[0]);
	usage(stderr);
	return EX_USAGE_;
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
	return dispatch(conf_path, argc - i, argv + i);
}
