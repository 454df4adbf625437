/*
 * mixnode.h - what the commands of mixnode share (src/mixnode.c,
 * src/node_admin.c, src/node_receive.c, src/node_nodes.c, src/node_common.c)
 * and the libexec programs. Not part of libmix.
 */
#ifndef MIX_MIXNODE_H
#define MIX_MIXNODE_H

#include <stddef.h>
#include <time.h>

#include "conf.h"
#include "keys.h"
#include "nodeconf.h"

/* Exit statuses (sysexits.h values; doc/mixnode.8) */
#define EX_OK_		0
#define EX_PROBLEM_	1	/* check found problems */
#define EX_USAGE_	64
#define EX_TEMPFAIL_	75
#define EX_NOPERM_	77
#define EX_CONFIG_	78

/* A node's settings, loaded once per command */
struct node {
	struct conf conf;
	const char *conf_path;		/* the file loaded */
	const char *spool;		/* spool_dir */
	time_t now;			/* node_now() at start */
	struct keys_policy pol;		/* key_lifetime, key_publish_ahead, key_grace */
	unsigned lock_ms;		/* lock_timeout in milliseconds */
	size_t max_size;		/* max_message_size */
};

/*
 * node_now - the time; $MIXNODE_TEST_NOW (decimal seconds since the epoch)
 * overrides it, so that tests can move a node through its key windows.
 */
time_t node_now(void);

/* node_is_root - 1 if running with root's user or group id */
int node_is_root(void);

/*
 * node_load - read the configuration at path into n. 0, or -1 with a
 * message in err ("PATH:LINE: setting NAME: why").
 */
int node_load(struct node *n, const char *path, char *err, size_t errlen);
void node_free(struct node *n);

/*
 * node_descriptor - the node's descriptor at n->now from its settings and
 * the keys of kr that senders may use now or later (unsigned). 0, or -1
 * when no such key exists.
 */
struct descriptor;
int node_descriptor(const struct node *n, const struct keyring *kr, struct descriptor *d);

/* The commands; argc/argv are the command's own arguments */
int cmd_init(const char *conf_path, int argc, char **argv);
int cmd_keys(const char *conf_path, int argc, char **argv);
int cmd_publish(const char *conf_path, int argc, char **argv);
int cmd_check(const char *conf_path, int argc, char **argv);
int cmd_stats(const char *conf_path, int argc, char **argv);
int cmd_receive(const char *conf_path, int argc, char **argv);
int cmd_nodes(const char *conf_path, int argc, char **argv);
int cmd_flush(const char *conf_path, int argc, char **argv);

/*
 * node_libexec - the path of the libexec program prog: in
 * $MIXNODE_LIBEXECDIR (the tests' staged copies) or the directory it was
 * installed in; "" if too long.
 */
void node_libexec(char *path, size_t size, const char *prog);

#endif
