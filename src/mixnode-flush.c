/*
 * mixnode-flush - one run of the node's flusher, for `mixnode flush`.
 *
 * mixnode itself links only libsodium (the receive hook must start
 * fast); the flusher needs GMime (the exit's mail) and libESMTP (the
 * relay), so `mixnode flush` rotates the keys and then executes this
 * program with the configuration path: mixnode-flush [-c FILE].
 * src/flush.c is the run. Exit status: 0, 64 usage, 75 transient trouble
 * (the next run finishes the work), 77 run as root, 78 configuration.
 */
#include <config.h>

#include <stdio.h>
#include <string.h>

#include "flush.h"
#include "log.h"
#include "mailpkt.h"
#include "mcrypto.h"
#include "mixnode.h"

int
main(int argc, char **argv)
{
	char err[1024];
	const char *conf_path = NULL;
	struct node n;
	int status;

	msg_set_progname("mixnode flush");
	if (argc == 3 && strcmp(argv[1], "-c") == 0)
		conf_path = argv[2];
	else if (argc != 1) {
		msg_warn("usage: mixnode-flush [-c FILE] (run by mixnode flush)");
		return EX_USAGE_;
	}
	if (node_is_root()) {
		msg_warn("refusing to run as root: run it as the node's own user");
		return EX_NOPERM_;
	}
	msg_syslog();
	msg_set_panic_status(EX_TEMPFAIL_);
	if (node_load(&n, nodeconf_path(conf_path), err, sizeof err) != 0) {
		msg_warn("%s", err);
		return EX_CONFIG_;
	}
	if (mcrypto_init() != 0) {
		msg_warn("cannot initialise the crypto libraries");
		node_free(&n);
		return EX_TEMPFAIL_;
	}
	mailpkt_init();
	status = flush_run(&n);
	node_free(&n);
	return status;
}
