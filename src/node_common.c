/*
 * node_common.c - what mixnode and its libexec programs (mixnode-flush)
 * share: the clock, the root check, loading the settings, and the node's
 * own descriptor.
 */
#include <config.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "descriptor.h"
#include "log.h"
#include "mixnode.h"
#include "nodeconf.h"

time_t
node_now(void)
{
	const char *s = getenv("MIXNODE_TEST_NOW");
	char *end;
	long long v;

	if (s == NULL || *s == '\0')
		return time(NULL);
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < 0 || v > (long long)INT32_MAX * 4)
		msg_fatal("MIXNODE_TEST_NOW is not a time in seconds");
	return (time_t)v;
}

int
node_is_root(void)
{
	return getuid() == 0 || geteuid() == 0 || getgid() == 0 || getegid() == 0;
}

int
node_load(struct node *n, const char *path, char *err, size_t errlen)
{
	memset(n, 0, sizeof *n);
	nodeconf_init(&n->conf);
	n->conf_path = path;
	if (conf_load(&n->conf, path, err, errlen) != 0) {
		conf_free(&n->conf);
		return -1;
	}
	n->spool = conf_get(&n->conf, "spool_dir");
	n->now = node_now();
	n->pol.lifetime = conf_get_num(&n->conf, "key_lifetime");
	n->pol.publish_ahead = conf_get_num(&n->conf, "key_publish_ahead");
	n->pol.grace = conf_get_num(&n->conf, "key_grace");
	n->pol.replay_capacity = (uint64_t)conf_get_num(&n->conf, "replay_capacity");
	/*
	 * Keys alive at once: about (publish_ahead + grace) / lifetime + 2.
	 * The store holds KEYS_MAX_MIX; a policy needing more would fail every
	 * rotation, so it is a configuration error, found before any key moves.
	 */
	if ((n->pol.publish_ahead + n->pol.grace) / n->pol.lifetime + 2 > KEYS_MAX_MIX) {
		(void)snprintf(err, errlen, "%s: setting key_lifetime: too short for "
		    "key_publish_ahead and key_grace (a node may hold at most %d mix keys: "
		    "(key_publish_ahead + key_grace) / key_lifetime + 2 must not exceed it)",
		    path, KEYS_MAX_MIX);
		conf_free(&n->conf);
		return -1;
	}
	n->lock_ms = (unsigned)conf_get_num(&n->conf, "lock_timeout") * 1000;
	n->max_size = (size_t)conf_get_num(&n->conf, "max_message_size");
	return 0;
}

void
node_free(struct node *n)
{
	conf_free(&n->conf);
}

int
node_descriptor(const struct node *n, const struct keyring *kr, struct descriptor *d)
{
	size_t i, j;

	memset(d, 0, sizeof *d);
	(void)snprintf(d->name, sizeof d->name, "%s", conf_get(&n->conf, "name"));
	(void)snprintf(d->address, sizeof d->address, "%s", conf_get(&n->conf, "address"));
	memcpy(d->identity, kr->id_pk, sizeof d->identity);
	d->published = n->now;
	(void)snprintf(d->software, sizeof d->software, "mixmail %s", PACKAGE_VERSION);
	d->exit = conf_get_bool(&n->conf, "exit");
	d->max_size = (uint64_t)n->max_size;
	(void)snprintf(d->mixing, sizeof d->mixing, "%s", conf_get(&n->conf, "mixing"));
	d->pkt_versions = 1u << 1;
	(void)snprintf(d->exit_policy, sizeof d->exit_policy, "%s",
	    d->exit ? "accept *" : "middleman: reject *");
	/* Keys senders may use now or later, oldest first (keyring: newest first) */
	for (i = kr->nmix; i-- > 0;) {
		const struct keys_mixinfo *k = &kr->mixinfo[i];

		if (k->valid_until <= n->now || d->nkeys == DESC_MAX_KEYS)
			continue;
		j = d->nkeys++;
		memcpy(d->keys[j].pk, k->pk, sizeof d->keys[j].pk);
		d->keys[j].valid_from = k->valid_from;
		d->keys[j].valid_until = k->valid_until;
	}
	return d->nkeys > 0 ? 0 : -1;
}


void
node_libexec(char *path, size_t size, const char *prog)
{
	const char *dir = getenv("MIXNODE_LIBEXECDIR");

	if (dir == NULL || *dir == 0)
		dir = MIXNODE_LIBEXECDIR;
	if ((size_t)snprintf(path, size, "%s/%s", dir, prog) >= size)
		path[0] = 0;
}
