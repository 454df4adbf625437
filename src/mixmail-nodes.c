/*
 * mixmail-nodes.c - `mixmail import`, `mixmail nodes`, `mixmail forget`:
 * the nodes a sender's chains are made of.
 *
 * The directory is $MIXMAIL_HOME/nodes, kept by src/nodedb.c (the module
 * mixnode uses for the same purpose): every descriptor's signature is
 * checked on import and again on every load, a name stays pinned to its
 * identity key, an older descriptor never replaces a newer one, and a
 * descriptor whose keys have all expired, or none of whose keys is valid
 * within a day, is refused with the reason.
 *
 * Exit codes: 0 every file or name accepted, 1 any refused (each refusal
 * says why, naming the file and the node), 66 a file cannot be read, 75
 * the directory cannot be read or written.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "descriptor.h"
#include "mem.h"
#include "mixmail-home.h"
#include "mixmail-nodes.h"
#include "nodedb.h"

#define TIME_TEXT	24

static void
skipped(void *arg, const char *file, const char *reason)
{
	(void)arg;
	fprintf(stderr, "mixmail: nodes: %s skipped: %s\n", file, reason);
}

static int
status_of(enum nodedb_err e)
{
	return e == NODEDB_ERR_IO || e == NODEDB_ERR_PERM ? MM_EX_TEMPFAIL : MM_EX_REFUSED;
}

/* worse - the status that wins when a run has more than one problem */
static int
worse(int a, int b)
{
	return a > b ? a : b;
}

/* utc - t as 2027-01-15T00:00:00Z */
static const char *
utc(int64_t t, char buf[TIME_TEXT])
{
	struct tm tm;
	time_t tt = (time_t)t;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(buf, TIME_TEXT, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		(void)snprintf(buf, TIME_TEXT, "%lld", (long long)t);
	return buf;
}

int
mmnodes_load(const struct mm_home *h, struct descriptor **nodes, size_t *count)
{
	char err[NODEDB_ERR_MAX];
	enum nodedb_err e;

	*nodes = NULL;
	*count = 0;
	if ((e = nodedb_load(h->nodes, h->now, nodes, count, skipped, NULL, err,
	    sizeof err)) != NODEDB_OK) {
		fprintf(stderr, "mixmail: nodes: %s\n", err);
		return MM_EX_TEMPFAIL;
	}
	return MM_EX_OK;
}

/*
 * key_state - the window of the key a sender would use now ("usable"), or
 * why there is none: every key expired, or the first one not yet valid
 */
static void
key_state(const struct descriptor *d, int64_t now, const char **state, char *window,
    size_t size)
{
	const struct desc_mixkey *k = desc_key_usable(d, now);
	char a[TIME_TEXT], b[TIME_TEXT];
	size_t i;

	if (k != NULL)
		*state = "usable";
	else {
		for (i = 0; i < d->nkeys && d->keys[i].valid_until <= now; i++)
			;
		*state = i == d->nkeys ? "expired" : "not-yet-valid";
		k = i == d->nkeys ? &d->keys[d->nkeys - 1] : &d->keys[i];
	}
	(void)snprintf(window, size, "%s/%s", utc(k->valid_from, a), utc(k->valid_until, b));
}

int
mmnodes_list(const struct mm_home *h)
{
	struct descriptor *nodes;
	const char *state;
	char window[2 * TIME_TEXT + 2];
	size_t count, i;
	int status;

	if ((status = mmnodes_load(h, &nodes, &count)) != MM_EX_OK)
		return status;
	printf("%zu node%s known%s\n", count, count == 1 ? "" : "s",
	    count == 0 ? " (add some with: mixmail import FILE...)" : "");
	if (count > 0)
		printf("%-20s %-32s %-9s %-12s %9s %-13s %-41s %s %s\n", "NAME", "ADDRESS",
		    "ROLE", "MIXING", "MAX-SIZE", "KEY", "KEY-WINDOW", "RELIABILITY", "LATENCY");
	for (i = 0; i < count; i++) {
		key_state(&nodes[i], h->now, &state, window, sizeof window);
		/* No pinger measures nodes yet: reliability and latency unknown */
		printf("%-20s %-32s %-9s %-12s %9llu %-13s %-41s %-11s %s\n", nodes[i].name,
		    nodes[i].address, nodes[i].exit ? "exit" : "middleman", nodes[i].mixing,
		    (unsigned long long)nodes[i].max_size, state, window, "-", "-");
	}
	nodedb_free(nodes);
	return fflush(stdout) == 0 ? MM_EX_OK : MM_EX_TEMPFAIL;
}

int
mmnodes_import(const struct mm_home *h, int argc, char **argv)
{
	struct descriptor d;
	enum nodedb_result r;
	enum nodedb_err e;
	char err[NODEDB_ERR_MAX];
	uint8_t *text;
	size_t len;
	int i, fd, rd, status = MM_EX_OK;

	for (i = 0; i < argc; i++) {
		fd = strcmp(argv[i], "-") == 0 ? STDIN_FILENO :
		    open(argv[i], O_RDONLY | O_NOCTTY | O_CLOEXEC);
		if (fd < 0) {
			fprintf(stderr, "mixmail: import: %s: %s\n", argv[i], strerror(errno));
			status = worse(status, MM_EX_NOINPUT);
			continue;
		}
		rd = mmhome_read(fd, DESC_MAX_SIZE, &text, &len);
		if (rd < 0)
			fprintf(stderr, "mixmail: import: %s: %s\n", argv[i], strerror(errno));
		if (fd != STDIN_FILENO)
			close(fd);
		if (rd < 0) {
			status = worse(status, MM_EX_NOINPUT);
			continue;
		}
		if (rd > 0) {
			fprintf(stderr, "mixmail: import: %s: refused: longer than a descriptor "
			    "may be (%d bytes)\n", argv[i], DESC_MAX_SIZE);
			status = worse(status, MM_EX_REFUSED);
			continue;
		}
		e = nodedb_import(h->nodes, (const char *)text, len, h->now, &r, &d, err,
		    sizeof err);
		mem_free(text);
		if (e != NODEDB_OK) {
			fprintf(stderr, "mixmail: import: %s: refused: %s\n", argv[i], err);
			status = worse(status, status_of(e));
			continue;
		}
		printf("%s: node %s %s\n", argv[i], d.name, nodedb_result_name(r));
	}
	return status;
}

int
mmnodes_forget(const struct mm_home *h, int argc, char **argv)
{
	enum nodedb_err e;
	char err[NODEDB_ERR_MAX];
	int i, status = MM_EX_OK;

	for (i = 0; i < argc; i++) {
		if ((e = nodedb_forget(h->nodes, argv[i], err, sizeof err)) != NODEDB_OK) {
			fprintf(stderr, "mixmail: forget: %s\n", err);
			status = worse(status, status_of(e));
			continue;
		}
		printf("node %s forgotten\n", argv[i]);
	}
	return status;
}
