/*
 * mixmail-home.h - what every mixmail command shares: the exit codes, the
 * user's directory $MIXMAIL_HOME with its settings file, the clock, the
 * root check, bounded reading of input, and chain specs.
 *
 * $MIXMAIL_HOME (default ~/.mixmail, made with mode 0700 by the commands
 * that write it) holds:
 *   mixmail.conf   the settings (mixmail(1), SETTINGS); missing: defaults
 *   nodes/         the signed node descriptors (src/nodedb.h)
 * A directory that is not the user's, or that group or others may write,
 * is refused: whoever can write it chooses the user's chains.
 *
 * Functions: mmhome_open(), mmhome_close(), mmhome_is_root(),
 * mmhome_read(), mmhome_chain_parse(), mmhome_print_conf().
 */
#ifndef MIX_MIXMAIL_HOME_H
#define MIX_MIXMAIL_HOME_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "chain.h"
#include "conf.h"
#include "descriptor.h"

/* Exit codes (mixmail(1), EXIT STATUS) */
#define MM_EX_OK	0	/* every mail handed over; a command succeeded */
#define MM_EX_REFUSED	1	/* import, forget: a descriptor or name was refused */
#define MM_EX_RELAY	2	/* not every mail was handed to the relay (or --dump) */
#define MM_EX_CHAIN	3	/* no usable chain */
#define MM_EX_TOOBIG	4	/* the message is too large */
#define MM_EX_USAGE	64	/* usage error */
#define MM_EX_DATAERR	65	/* the message is not valid */
#define MM_EX_NOINPUT	66	/* an input file cannot be read */
#define MM_EX_TEMPFAIL	75	/* local trouble: memory, locks, the nodes directory */
#define MM_EX_NOPERM	77	/* run as root */
#define MM_EX_CONFIG	78	/* $MIXMAIL_HOME or mixmail.conf is not usable */

#define MM_HOME_DEFAULT	".mixmail"	/* under $HOME */
#define MM_CONF_FILE	"mixmail.conf"
#define MM_NODES_DIR	"nodes"
#define MM_ERR_MAX	640

struct mm_home {
	char dir[PATH_MAX - 32];	/* $MIXMAIL_HOME; room for the names below */
	char nodes[PATH_MAX];		/* dir/nodes */
	char conf_path[PATH_MAX];	/* dir/mixmail.conf */
	struct conf conf;		/* the settings (defaults when no file) */
	int64_t now;			/* the time of this run */
};

/* A parsed chain spec: hop i is name[i], a node name or "*" */
struct mm_chainspec {
	size_t nhops;
	char name[CHAIN_MAX_HOPS][DESC_NAME_MAX + 1];
	const char *spec[CHAIN_MAX_HOPS];	/* pointers to name[], for chain_req */
};

/*
 * mmhome_open - find $MIXMAIL_HOME, check it (create: make it, mode 0700,
 * if missing), read the settings. Returns MM_EX_OK, or an exit code with
 * the reason in err.
 */
int mmhome_open(struct mm_home *h, int create, char *err, size_t errlen);
void mmhome_close(struct mm_home *h);

/* mmhome_is_root - 1 if any of the real or effective user or group is root */
int mmhome_is_root(void);

/*
 * mmhome_read - read fd to its end, at most max bytes, into a mem_alloc'ed
 * buffer with a NUL after the data (not counted). Buffers given up while
 * growing are wiped: the input may be a message. 0 on success, 1 when
 * more than max bytes arrived (*buf NULL), -1 on a read error (errno).
 */
int mmhome_read(int fd, size_t max, uint8_t **buf, size_t *len);

/*
 * mmhome_chain_parse - "a,*,b" (node names and "*", commas, blanks around
 * them ignored) into *cs. 0, or -1 with the reason in err (the text is
 * never quoted, only the hop's position).
 */
int mmhome_chain_parse(const char *text, struct mm_chainspec *cs, char *err, size_t errlen);

/* mmhome_print_conf - `mixmail config`: the effective settings */
int mmhome_print_conf(const struct mm_home *h, int defaults);

#endif
