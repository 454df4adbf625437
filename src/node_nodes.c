/*
 * node_nodes.c - `mixnode nodes`: the other nodes this node knows.
 *
 * A node sends its dummy traffic through random chains of other nodes (and
 * middlemen re-wrap exit traffic for an exit), which it learns from their
 * signed descriptors. The directory is SPOOL/nodes, kept by src/nodedb.c,
 * the module mixmail uses for the same purpose: every descriptor's
 * signature is checked on import and again on every load, a name stays
 * pinned to its identity key, and an older descriptor never replaces a
 * newer one.
 *
 *   mixnode nodes [list]          the known nodes
 *   mixnode nodes import FILE...  add or update ("-": standard input)
 *   mixnode nodes forget NAME...  remove (to accept a new identity key)
 *
 * Exit 0 when every operation succeeded, 1 when any descriptor or name was
 * refused (each refusal says why), 64 usage, 75 the directory could not be
 * read or written, 78 configuration.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "descriptor.h"
#include "log.h"
#include "mem.h"
#include "mixnode.h"
#include "nodeconf.h"
#include "nodedb.h"

/* read_desc - at most DESC_MAX_SIZE + 1 bytes of path ("-": stdin) */
static char *
read_desc(const char *path, size_t *len)
{
	char *buf = mem_alloc(DESC_MAX_SIZE + 2);
	ssize_t got;
	int fd;

	fd = strcmp(path, "-") == 0 ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		mem_free(buf);
		return NULL;
	}
	*len = 0;
	while (*len < DESC_MAX_SIZE + 1) {
		got = read(fd, buf + *len, DESC_MAX_SIZE + 1 - *len);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			int e = errno;

			if (fd != STDIN_FILENO)
				close(fd);
			mem_free(buf);
			errno = e;
			return NULL;
		}
		if (got == 0)
			break;
		*len += (size_t)got;
	}
	if (fd != STDIN_FILENO)
		close(fd);
	buf[*len] = 0;
	return buf;
}

static void
skipped(void *arg, const char *file, const char *reason)
{
	(void)arg;
	fprintf(stderr, "mixnode: nodes: %s skipped: %s\n", file, reason);
}

static int
status_of(enum nodedb_err e)
{
	return e == NODEDB_ERR_IO || e == NODEDB_ERR_PERM ? EX_TEMPFAIL_ : EX_PROBLEM_;
}

static int
nodes_list(const struct node *n, const char *dir)
{
	struct descriptor *nodes = NULL;
	const struct desc_mixkey *k;
	char err[NODEDB_ERR_MAX], until[32];
	enum nodedb_err e;
	size_t count = 0, i;
	struct tm tm;
	time_t t;

	if ((e = nodedb_load(dir, (int64_t)n->now, &nodes, &count, skipped, NULL,
	    err, sizeof err)) != NODEDB_OK) {
		fprintf(stderr, "mixnode: nodes: %s\n", err);
		return status_of(e);
	}
	printf("%zu node%s known\n", count, count == 1 ? "" : "s");
	for (i = 0; i < count; i++) {
		k = desc_key_usable(&nodes[i], (int64_t)n->now);
		if (k != NULL) {
			t = (time_t)k->valid_until;
			if (gmtime_r(&t, &tm) == NULL ||
			    strftime(until, sizeof until, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
				(void)snprintf(until, sizeof until, "?");
		}
		printf("%-32s %s %s %s %s\n", nodes[i].name, nodes[i].address,
		    nodes[i].exit ? "exit" : "middleman", nodes[i].mixing,
		    k != NULL ? until : "no-usable-key");
	}
	nodedb_free(nodes);
	return EX_OK_;
}

static int
nodes_import(const struct node *n, const char *dir, int argc, char **argv)
{
	struct descriptor d;
	enum nodedb_result r;
	enum nodedb_err e;
	char err[NODEDB_ERR_MAX], *text;
	size_t len;
	int i, status = EX_OK_, s;

	for (i = 0; i < argc; i++) {
		if ((text = read_desc(argv[i], &len)) == NULL) {
			fprintf(stderr, "mixnode: nodes import: %s: %s\n", argv[i], strerror(errno));
			status = status == EX_OK_ ? EX_PROBLEM_ : status;
			continue;
		}
		e = nodedb_import(dir, text, len, (int64_t)n->now, &r, &d, err, sizeof err);
		mem_free(text);
		if (e != NODEDB_OK) {
			fprintf(stderr, "mixnode: nodes import: %s: %s\n", argv[i], err);
			s = status_of(e);
			if (s == EX_TEMPFAIL_ || status == EX_OK_)
				status = s;
			continue;
		}
		printf("%s: node %s %s\n", argv[i], d.name, nodedb_result_name(r));
	}
	return status;
}

static int
nodes_forget(const char *dir, int argc, char **argv)
{
	enum nodedb_err e;
	char err[NODEDB_ERR_MAX];
	int i, status = EX_OK_, s;

	for (i = 0; i < argc; i++) {
		if ((e = nodedb_forget(dir, argv[i], err, sizeof err)) != NODEDB_OK) {
			fprintf(stderr, "mixnode: nodes forget: %s\n", err);
			s = status_of(e);
			if (s == EX_TEMPFAIL_ || status == EX_OK_)
				status = s;
			continue;
		}
		printf("node %s forgotten\n", argv[i]);
	}
	return status;
}

int
cmd_nodes(const char *conf_path, int argc, char **argv)
{
	char err[CONF_ERR_MAX], dir[4096];
	struct node n;
	int status;

	if (argc > 0 && strcmp(argv[0], "list") != 0 && strcmp(argv[0], "import") != 0 &&
	    strcmp(argv[0], "forget") != 0) {
		fprintf(stderr, "mixnode: nodes: unknown subcommand (list, import, forget)\n");
		return EX_USAGE_;
	}
	if (argc > 0 && strcmp(argv[0], "list") != 0 && argc < 2) {
		fprintf(stderr, "mixnode: nodes %s: name at least one %s\n", argv[0],
		    strcmp(argv[0], "import") == 0 ? "FILE" : "NAME");
		return EX_USAGE_;
	}
	if (argc > 1 && strcmp(argv[0], "list") == 0) {
		fprintf(stderr, "mixnode: nodes list takes no arguments\n");
		return EX_USAGE_;
	}
	if (node_load(&n, nodeconf_path(conf_path), err, sizeof err) != 0) {
		fprintf(stderr, "mixnode: %s\n", err);
		return EX_CONFIG_;
	}
	if ((size_t)snprintf(dir, sizeof dir, "%s/nodes", n.spool) >= sizeof dir) {
		fprintf(stderr, "mixnode: spool_dir too long\n");
		node_free(&n);
		return EX_CONFIG_;
	}
	if (argc == 0 || strcmp(argv[0], "list") == 0)
		status = nodes_list(&n, dir);
	else if (strcmp(argv[0], "import") == 0)
		status = nodes_import(&n, dir, argc - 1, argv + 1);
	else
		status = nodes_forget(dir, argc - 1, argv + 1);
	node_free(&n);
	return status;
}
