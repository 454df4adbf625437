/*
 * nodeconf.h - the settings of a mixnode and where its file lives.
 *
 * The table below is the single source of names, types, defaults, ranges
 * and one-line help; doc/mixnode.conf.5 documents the same settings.
 *
 * Functions: nodeconf_init(), nodeconf_path().
 */
#ifndef MIX_NODECONF_H
#define MIX_NODECONF_H

#include "conf.h"

#define NODECONF_DEFAULT_PATH	"/etc/mixmail/mixnode.conf"

extern const struct conf_setting nodeconf_table[];
extern const size_t nodeconf_count;

/* nodeconf_init - the defaults (conf_init over nodeconf_table) */
void nodeconf_init(struct conf *c);

/* nodeconf_path - -c FILE if given, else $MIXNODE_CONF, else the default */
const char *nodeconf_path(const char *opt);

#endif
