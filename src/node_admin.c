/*
 * node_admin.c - the operator's commands of mixnode: init, keys, publish,
 * check and stats.
 *
 * Each says what it did or found in plain lines on standard output;
 * trouble goes to standard error. Exit status: 0 done, 1 check found
 * problems, 64 usage, 75 a file could not be written (try again), 78 the
 * configuration or the spool is wrong and needs the operator.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "autoreply.h"
#include "descriptor.h"
#include "keys.h"
#include "log.h"
#include "mcrypto.h"
#include "mem.h"
#include "mixnode.h"
#include "nodeconf.h"
#include "nodepage.h"
#include "pool.h"
#include "replay.h"
#include "stats.h"
#include "statsreport.h"

#define SPOOL_SUBDIRS	"tmp", "pool", "out", "sending", "defer", "failed", "corrupt", "frag", \
	"outbox", "outbox/tmp", "operator", "operator/tmp", "operator/new", "operator/cur"
#define DESC_FILE	"descriptor"
#define FLUSH_HELPER	"mixnode-flush"

static const char *const subdirs[] = { SPOOL_SUBDIRS };

/* no_args - commands without arguments refuse any */
static int
no_args(const char *cmd, int argc, char **argv)
{
	if (argc == 0)
		return 0;
	fprintf(stderr, "mixnode: %s takes no arguments (got \"%.32s\")\n", cmd, argv[0]);
	return -1;
}

/* load - read the settings or say why not; 0 or EX_CONFIG_ */
static int
load(struct node *n, const char *conf_path)
{
	char err[CONF_ERR_MAX];

	if (node_load(n, nodeconf_path(conf_path), err, sizeof err) != 0) {
		fprintf(stderr, "mixnode: %s\n", err);
		return EX_CONFIG_;
	}
	return EX_OK_;
}

/* path_join - dir/name, malloc'ed */
static char *
path_join(const char *dir, const char *name)
{
	size_t len = strlen(dir) + strlen(name) + 2;
	char *p = mem_alloc(len);

	(void)snprintf(p, len, "%s/%s", dir, name);
	return p;
}

/* utc - a key window's time as text (keys are public; packets have no times here) */
static const char *
utc(int64_t t, char buf[32])
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL || strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		(void)snprintf(buf, 32, "%lld", (long long)t);
	return buf;
}

/* fsync_parent - sync the directory that holds path. 0 or -1 (errno). */
static int
fsync_parent(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir;
	int dfd, saved, rc;

	if (slash == NULL)
		dir = mem_strdup(".");
	else if (slash == path)
		dir = mem_strdup("/");
	else {
		dir = mem_strdup(path);
		dir[slash - path] = '\0';
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	mem_free(dir);
	if (dfd < 0)
		return -1;
	rc = fsync(dfd);
	saved = errno;
	(void)close(dfd);
	errno = saved;
	return rc;
}

/*
 * write_file_atomic - path gets exactly data: a temporary file beside it,
 * written, synced, renamed over path, directory synced. 0 or -1 (errno).
 */
static int
write_file_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
	size_t tlen = strlen(path) + 8, off = 0;
	char *tmp = mem_alloc(tlen);
	ssize_t w;
	int fd, ok, saved;

	(void)snprintf(tmp, tlen, "%s.tmp", path);
	(void)unlink(tmp);	/* a leftover of a crashed publish */
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode)) < 0) {
		mem_free(tmp);
		return -1;
	}
	while (off < len) {
		w = write(fd, (const char *)data + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (w == 0)
				errno = EIO;
			break;
		}
		off += (size_t)w;
	}
	ok = off == len && fchmod(fd, mode) == 0 && fsync(fd) == 0;
	saved = errno;
	if (close(fd) != 0 && ok) {
		ok = 0;
		saved = errno;
	}
	if (ok && rename(tmp, path) != 0) {
		ok = 0;
		saved = errno;
	}
	if (!ok)
		(void)unlink(tmp);
	mem_free(tmp);
	errno = saved;
	return ok ? fsync_parent(path) : -1;
}

/*
 * ensure_dir - path must be a directory of ours with mode 0700: made if
 * missing (*made set), refused if open to others. 0, or -1 with a reason.
 */
static int
ensure_dir(const char *path, int *made, char *why, size_t whylen)
{
	struct stat sb;

	*made = 0;
	if (mkdir(path, 0700) == 0) {
		*made = 1;
		if (chmod(path, 0700) != 0) {	/* whatever the umask */
			(void)snprintf(why, whylen, "%s: %s", path, strerror(errno));
			return -1;
		}
		return 0;
	}
	if (errno != EEXIST || lstat(path, &sb) != 0) {
		(void)snprintf(why, whylen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(sb.st_mode)) {
		(void)snprintf(why, whylen, "%s: not a directory", path);
		return -1;
	}
	if (sb.st_uid != geteuid()) {
		(void)snprintf(why, whylen, "%s: owned by another user", path);
		return -1;
	}
	if ((sb.st_mode & 077) != 0) {
		(void)snprintf(why, whylen, "%s: mode %03o, must be 0700", path,
		    (unsigned)(sb.st_mode & 0777));
		return -1;
	}
	return 0;
}

/*
 * caches_present - every live key has its replay cache. Rotation makes a
 * key's cache before the key (keys.c, mix_create), so a live key without
 * one has lost it; making a new empty cache then would accept again every
 * packet the key has seen. Nothing is made here: the operator retires the
 * key (doc/operator-guide.md, section 12). -1 if a cache is missing or
 * cannot be looked at, with the reason on stderr.
 */
static int
caches_present(const struct node *n, const struct keyring *kr)
{
	const struct pkt_key *live[KEYS_MAX_MIX];
	const struct keys_mixinfo *info[KEYS_MAX_MIX];
	size_t i, nlive = keys_live(kr, n->now, live, info);
	char hex[KEYS_ID_HEX];
	struct stat sb;
	char *path;
	int bad = 0;

	for (i = 0; i < nlive; i++) {
		path = keys_replay_path(n->spool, info[i]->id);
		if (stat(path, &sb) != 0) {
			keys_id_hex(hex, info[i]->id);
			if (errno == ENOENT)
				fprintf(stderr, "mixnode: the replay cache of live mix key %s is "
				    "missing; it is never made again empty (that would accept "
				    "replays): retire the key (doc/operator-guide.md, section 12)\n",
				    hex);
			else
				fprintf(stderr, "mixnode: replay cache of mix key %s: %s\n", hex,
				    strerror(errno));
			bad = 1;
		}
		mem_free(path);
	}
	return bad ? -1 : 0;
}

/* rotate - keys_rotate plus the caches of the live keys; exit status */
static int
rotate(const struct node *n, struct keyring *kr, struct keys_report *rep)
{
	char err[KEYS_ERR_MAX];

	memset(rep, 0, sizeof *rep);
	if (keys_rotate(kr, n->now, &n->pol, rep, err, sizeof err) != KEYS_OK) {
		fprintf(stderr, "mixnode: key rotation: %s\n", err);
		return EX_TEMPFAIL_;
	}
	if (caches_present(n, kr) != 0)
		return EX_TEMPFAIL_;
	return EX_OK_;
}

/* open_keys - keys_open with the operator-facing message; exit status */
static int
open_keys(const struct node *n, struct keyring **kr)
{
	char err[KEYS_ERR_MAX];
	enum keys_err e = keys_open(kr, n->spool, err, sizeof err);

	if (e == KEYS_OK)
		return EX_OK_;
	fprintf(stderr, "mixnode: %s\n", err);
	if (e == KEYS_ERR_MISSING)
		fprintf(stderr, "mixnode: run \"mixnode init\" first\n");
	return e == KEYS_ERR_IO ? EX_TEMPFAIL_ : EX_CONFIG_;
}

/* report - what init or rotation changed, one line each */
static void
report(const struct keys_report *rep)
{
	if (rep->created_identity)
		printf("created the identity key\n");
	if (rep->created_names)
		printf("created the names secret\n");
	if (rep->created_mix > 0)
		printf("created %zu mix key%s\n", rep->created_mix, rep->created_mix == 1 ? "" : "s");
	if (rep->retired_mix > 0)
		printf("retired %zu mix key%s (secret wiped, replay cache deleted)\n",
		    rep->retired_mix, rep->retired_mix == 1 ? "" : "s");
	if (rep->removed_orphans > 0)
		printf("deleted %zu replay cache%s of no key\n", rep->removed_orphans,
		    rep->removed_orphans == 1 ? "" : "s");
}

/*
 * write_default_conf - a commented configuration with every setting at its
 * default, the help line above each. Never replaces an existing file.
 */
static int
write_default_conf(const char *path)
{
	FILE *fp;
	size_t i;
	int fd;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644)) < 0)
		return errno == EEXIST ? 0 : -1;
	if ((fp = fdopen(fd, "w")) == NULL) {
		(void)close(fd);
		return -1;
	}
	fprintf(fp, "# mixnode.conf - settings of a mixmail node; see mixnode.conf(5).\n"
	    "# Every setting is shown at its default, commented out.\n");
	for (i = 0; i < nodeconf_count; i++)
		fprintf(fp, "\n# %s\n#%s = %s\n", nodeconf_table[i].help,
		    nodeconf_table[i].name, nodeconf_table[i].def);
	if (fflush(fp) != 0 || fsync(fd) != 0) {
		(void)fclose(fp);
		return -1;
	}
	if (fclose(fp) != 0)
		return -1;
	printf("created %s (all settings at their defaults)\n", path);
	return 0;
}

/* cmd_init - mixnode init: config if missing, spool, keys, caches */
int
cmd_init(const char *conf_path, int argc, char **argv)
{
	const char *path = nodeconf_path(conf_path);
	struct keys_report rep;
	struct keyring *kr = NULL;
	struct node n;
	char why[512], err[KEYS_ERR_MAX];
	size_t i;
	int made, status;

	if (no_args("init", argc, argv) != 0)
		return EX_USAGE_;
	if (write_default_conf(path) != 0) {
		fprintf(stderr, "mixnode: cannot create %s: %s\n", path, strerror(errno));
		return EX_CONFIG_;
	}
	if ((status = load(&n, conf_path)) != EX_OK_)
		return status;
	if (ensure_dir(n.spool, &made, why, sizeof why) != 0) {
		fprintf(stderr, "mixnode: spool: %s\n", why);
		node_free(&n);
		return EX_CONFIG_;
	}
	if (made)
		printf("created %s\n", n.spool);
	for (i = 0; i < sizeof subdirs / sizeof *subdirs; i++) {
		char *sub = path_join(n.spool, subdirs[i]);

		status = ensure_dir(sub, &made, why, sizeof why);
		if (status == 0 && made)
			printf("created %s\n", sub);
		mem_free(sub);
		if (status != 0) {
			fprintf(stderr, "mixnode: spool: %s\n", why);
			node_free(&n);
			return EX_CONFIG_;
		}
	}
	memset(&rep, 0, sizeof rep);
	if (keys_init(n.spool, n.now, &n.pol, &rep, err, sizeof err) != KEYS_OK) {
		fprintf(stderr, "mixnode: keys: %s\n", err);
		node_free(&n);
		return EX_TEMPFAIL_;
	}
	report(&rep);
	status = open_keys(&n, &kr);
	if (status == EX_OK_ && caches_present(&n, kr) != 0)
		status = EX_TEMPFAIL_;
	/* each new key's cache was made with it, before it */
	if (status == EX_OK_ && rep.created_mix > 0)
		printf("created %zu replay cache%s\n", rep.created_mix,
		    rep.created_mix == 1 ? "" : "s");
	if (status == EX_OK_)
		printf("node %s is initialised in %s\n", conf_get(&n.conf, "name"), n.spool);
	keys_close(kr);
	node_free(&n);
	return status;
}

/* key_state - where now stands in a key's windows */
static const char *
key_state(const struct keys_mixinfo *k, int64_t now)
{
	if (now < k->valid_from)
		return "published";
	if (now < k->valid_until)
		return "active";
	if (now < k->grace_end)
		return "grace";
	return "retired";
}

/* cmd_keys - mixnode keys: rotate when due, then list */
int
cmd_keys(const char *conf_path, int argc, char **argv)
{
	struct keys_report rep;
	struct keyring *kr = NULL;
	struct node n;
	char id[KEYS_ID_HEX], pk[65], a[32], b[32], c[32];
	size_t i;
	int status;

	if (no_args("keys", argc, argv) != 0)
		return EX_USAGE_;
	if ((status = load(&n, conf_path)) != EX_OK_)
		return status;
	if ((status = open_keys(&n, &kr)) == EX_OK_)
		status = rotate(&n, kr, &rep);
	if (status == EX_OK_) {
		report(&rep);
		mcrypto_hex(pk, kr->id_pk, sizeof kr->id_pk);
		printf("identity %s\n", pk);
		for (i = 0; i < kr->nmix; i++) {
			const struct keys_mixinfo *k = &kr->mixinfo[i];

			keys_id_hex(id, k->id);
			printf("mix %s %-9s valid %s to %s, decrypts until %s\n", id,
			    key_state(k, n.now), utc(k->valid_from, a), utc(k->valid_until, b),
			    utc(k->grace_end, c));
		}
	}
	keys_close(kr);
	node_free(&n);
	return status;
}

/* The files publish --out writes, all public (doc/node-page.md) */
#define OUT_MODE	0644

/*
 * out_file - DIR/name gets exactly data, mode OUT_MODE: a temporary file
 * in DIR with a random dot name (O_EXCL), written, synced, renamed over
 * name. The caller syncs DIR once all are in place. 0 or -1 (errno).
 */
static int
out_file(const char *dir, const char *name, const char *data, size_t len)
{
	size_t tlen = strlen(dir) + strlen(name) + 16, off = 0;
	char *tmp = mem_alloc(tlen), *path = path_join(dir, name);
	ssize_t w;
	int fd, ok, saved;

	(void)snprintf(tmp, tlen, "%s/.%s.XXXXXX", dir, name);
	if ((fd = mkstemp(tmp)) < 0) {
		saved = errno;
		mem_free(tmp);
		mem_free(path);
		errno = saved;
		return -1;
	}
	while (off < len) {
		w = write(fd, data + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (w == 0)
				errno = EIO;
			break;
		}
		off += (size_t)w;
	}
	/* fchmod, not the umask: the files are published */
	ok = off == len && fchmod(fd, OUT_MODE) == 0 && fsync(fd) == 0;
	saved = errno;
	if (close(fd) != 0 && ok) {
		ok = 0;
		saved = errno;
	}
	if (ok && rename(tmp, path) != 0) {
		ok = 0;
		saved = errno;
	}
	if (!ok)
		(void)unlink(tmp);
	mem_free(tmp);
	mem_free(path);
	errno = saved;
	return ok ? 0 : -1;
}

/*
 * out_settings - the settings the page shows beside the descriptor: those
 * the mixing strategy uses (doc/mixing.md), and an exit's limits
 */
static size_t
out_settings(const struct node *n, struct nodepage_setting *set, size_t max)
{
	static const struct {
		const char *strategy;
		const char *names[3];
	} uses[] = {
		{ "threshold", { "mix_threshold", NULL, NULL } },
		{ "timed", { "mix_interval", NULL, NULL } },
		{ "threshold-timed", { "mix_threshold", "mix_interval", NULL } },
		{ "mixmaster", { "mix_interval", "mix_min_pool", "mix_rate_permille" } },
		{ "binomial", { "mix_interval", "mix_min_pool", "mix_rate_permille" } },
	};
	static const char *const exit_names[] = { "exit_max_size", "exit_max_recipients" };
	const char *mixing = conf_get(&n->conf, "mixing");
	size_t i, j, k = 0;

	for (i = 0; i < sizeof uses / sizeof *uses; i++)
		if (strcmp(mixing, uses[i].strategy) == 0)
			for (j = 0; j < 3 && uses[i].names[j] != NULL && k < max; j++, k++) {
				set[k].name = uses[i].names[j];
				set[k].value = conf_get(&n->conf, uses[i].names[j]);
			}
	if (conf_get_bool(&n->conf, "exit"))
		for (j = 0; j < sizeof exit_names / sizeof *exit_names && k < max; j++, k++) {
			set[k].name = exit_names[j];
			set[k].value = conf_get(&n->conf, exit_names[j]);
		}
	return k;
}

/*
 * publish_out - publish --out DIR: the descriptor, the statistics report
 * as text and JSON and the node page, each replaced whole; then DIR
 * synced. Exit status.
 */
static int
publish_out(const struct node *n, const struct descriptor *d, const char *text, size_t len,
    const char *dir)
{
	static const char *const names[] = { "stats.txt", "stats.json", "index.html" };
	struct nodepage_setting set[NODEPAGE_SETTINGS_MAX];
	struct statsreport_info si;
	struct nodepage_info pi;
	struct stats_snapshot *s = mem_alloc(sizeof *s);
	char *buf[3] = { NULL, NULL, NULL };
	size_t blen[3] = { 0, 0, 0 }, i;
	FILE *fp;
	int status = EX_OK_, rc, dfd;

	if (stats_read(n->spool, n->now, s) != 0) {
		fprintf(stderr, "mixnode: publish: statistics: %s\n", strerror(errno));
		mem_free(s);
		return EX_TEMPFAIL_;
	}
	si.node = conf_get(&n->conf, "name");
	si.now = (int64_t)n->now;
	si.mixing = conf_get(&n->conf, "mixing");
	si.exit = conf_get_bool(&n->conf, "exit");
	pi.desc = d;
	pi.settings = set;
	pi.nsettings = out_settings(n, set, NODEPAGE_SETTINGS_MAX);
	pi.now = (int64_t)n->now;
	for (i = 0; i < 3 && status == EX_OK_; i++) {
		if ((fp = open_memstream(&buf[i], &blen[i])) == NULL)
			msg_fatal("publish: open_memstream: %s", strerror(errno));
		if (i == 0)
			rc = statsreport_write(fp, STATSREPORT_TEXT, s, &si);
		else if (i == 1)
			rc = statsreport_write(fp, STATSREPORT_JSON, s, &si);
		else
			rc = nodepage_write(fp, &pi, s);
		if (fclose(fp) != 0 || rc != 0) {
			fprintf(stderr, "mixnode: publish: %s: %s\n", names[i], strerror(errno));
			status = EX_TEMPFAIL_;
		}
	}
	if (status == EX_OK_ && out_file(dir, DESC_FILE, text, len) != 0) {
		fprintf(stderr, "mixnode: publish: %s/%s: %s\n", dir, DESC_FILE, strerror(errno));
		status = EX_TEMPFAIL_;
	}
	for (i = 0; i < 3 && status == EX_OK_; i++)
		if (out_file(dir, names[i], buf[i], blen[i]) != 0) {
			fprintf(stderr, "mixnode: publish: %s/%s: %s\n", dir, names[i],
			    strerror(errno));
			status = EX_TEMPFAIL_;
		}
	if (status == EX_OK_) {
		if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 || fsync(dfd) != 0) {
			fprintf(stderr, "mixnode: publish: %s: %s\n", dir, strerror(errno));
			status = EX_TEMPFAIL_;
		}
		if (dfd >= 0)
			(void)close(dfd);
	}
	for (i = 0; i < 3; i++)
		free(buf[i]);
	mem_free(s);
	return status;
}

/*
 * cmd_publish - mixnode publish [--out DIR]: rotate, sign, write
 * SPOOL/descriptor; with --out also the public files of DIR
 */
int
cmd_publish(const char *conf_path, int argc, char **argv)
{
	struct keys_report rep;
	struct keyring *kr = NULL;
	struct descriptor d;
	struct node n;
	struct stat sb;
	enum desc_err de;
	const char *out = NULL;
	char *text = NULL, *path;
	size_t len;
	int status;

	if (argc == 2 && strcmp(argv[0], "--out") == 0 && argv[1][0] != '\0')
		out = argv[1];
	else if (argc != 0) {
		fprintf(stderr, "mixnode: publish: unknown arguments (usage: publish [--out DIR])\n");
		return EX_USAGE_;
	}
	/* DIR is the operator's (a web server's directory): never made here */
	if (out != NULL && stat(out, &sb) != 0) {
		fprintf(stderr, "mixnode: publish: %.200s: %s\n", out, strerror(errno));
		return EX_CONFIG_;
	}
	if (out != NULL && !S_ISDIR(sb.st_mode)) {
		fprintf(stderr, "mixnode: publish: %.200s: not a directory\n", out);
		return EX_CONFIG_;
	}
	if ((status = load(&n, conf_path)) != EX_OK_)
		return status;
	if ((status = open_keys(&n, &kr)) == EX_OK_)
		status = rotate(&n, kr, &rep);
	if (status == EX_OK_ && node_descriptor(&n, kr, &d) != 0) {
		fprintf(stderr, "mixnode: publish: no mix key valid now or later\n");
		status = EX_TEMPFAIL_;
	}
	if (status == EX_OK_ && (de = desc_format(&d, kr->id_sk, &text, &len)) != DESC_OK) {
		fprintf(stderr, "mixnode: publish: %s\n", desc_strerror(de));
		status = EX_CONFIG_;
	}
	if (status == EX_OK_) {
		path = path_join(n.spool, DESC_FILE);
		if (write_file_atomic(path, text, len, 0644) != 0) {
			fprintf(stderr, "mixnode: publish: %s: %s\n", path, strerror(errno));
			status = EX_TEMPFAIL_;
		} else if (out != NULL)
			status = publish_out(&n, &d, text, len, out);
		mem_free(path);
	}
	if (status == EX_OK_ && (fwrite(text, 1, len, stdout) != len || fflush(stdout) != 0))
		status = EX_TEMPFAIL_;
	free(text);
	keys_close(kr);
	node_free(&n);
	return status;
}

/*
 * cmd_stats - mixnode stats [--report | --json]: the running totals as
 * "name value" lines, or the report of doc/stats-format.md as text or JSON
 */
int
cmd_stats(const char *conf_path, int argc, char **argv)
{
	struct statsreport_info info;
	enum statsreport_form form = STATSREPORT_TEXT;
	struct stats_snapshot *s;
	struct node n;
	int i, report = 0, status;

	if (argc > 1) {
		fprintf(stderr, "mixnode: stats takes at most one option (got \"%.32s\")\n",
		    argv[1]);
		return EX_USAGE_;
	}
	if (argc == 1) {
		if (strcmp(argv[0], "--report") == 0)
			report = 1;
		else if (strcmp(argv[0], "--json") == 0) {
			report = 1;
			form = STATSREPORT_JSON;
		} else {
			fprintf(stderr, "mixnode: stats: unknown option \"%.32s\" "
			    "(usage: stats [--report | --json])\n", argv[0]);
			return EX_USAGE_;
		}
	}
	if ((status = load(&n, conf_path)) != EX_OK_)
		return status;
	s = mem_alloc(sizeof *s);
	if (stats_read(n.spool, n.now, s) != 0) {
		fprintf(stderr, "mixnode: stats: %s\n", strerror(errno));
		status = EX_TEMPFAIL_;
	} else if (report) {
		info.node = conf_get(&n.conf, "name");
		info.now = (int64_t)n.now;
		info.mixing = conf_get(&n.conf, "mixing");
		info.exit = conf_get_bool(&n.conf, "exit");
		if (statsreport_write(stdout, form, s, &info) != 0 || fflush(stdout) != 0) {
			fprintf(stderr, "mixnode: stats: %s\n", strerror(errno));
			status = EX_TEMPFAIL_;
		}
	} else
		for (i = 0; i < STATS_NCOUNTERS; i++)
			printf("%s %llu\n", stats_name((enum stats_counter)i),
			    (unsigned long long)s->total[i]);
	mem_free(s);
	node_free(&n);
	return status;
}

/* --- check ----------------------------------------------------------------- */

struct checker {
	int problems;
};

static void MIX_PRINTF(2, 3)
problem(struct checker *ck, const char *fmt, ...)
{
	va_list ap;

	ck->problems++;
	printf("problem: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

/* check_dir - exists, ours, 0700 */
static void
check_dir(struct checker *ck, const char *path)
{
	struct stat sb;

	if (lstat(path, &sb) != 0)
		problem(ck, "%s: %s", path, strerror(errno));
	else if (!S_ISDIR(sb.st_mode))
		problem(ck, "%s: not a directory", path);
	else if (sb.st_uid != geteuid())
		problem(ck, "%s: owned by another user", path);
	else if ((sb.st_mode & 0777) != 0700)
		problem(ck, "%s: mode %03o, must be 0700", path, (unsigned)(sb.st_mode & 0777));
}

/* check_keys - the windows: a key valid now, a successor in time, caches */
static void
check_keys(struct checker *ck, const struct node *n, const struct keyring *kr)
{
	const struct pkt_key *live[KEYS_MAX_MIX];
	const struct keys_mixinfo *info[KEYS_MAX_MIX];
	size_t i, nlive = keys_live(kr, n->now, live, info);
	int64_t newest_until = 0;
	int valid_now = 0;
	enum replay_status st;
	struct replay *rc;
	char *path, id[KEYS_ID_HEX];

	for (i = 0; i < nlive; i++) {
		if (info[i]->valid_from <= n->now && n->now < info[i]->valid_until)
			valid_now = 1;
		if (info[i]->valid_until > newest_until)
			newest_until = info[i]->valid_until;
		path = keys_replay_path(n->spool, info[i]->id);
		keys_id_hex(id, info[i]->id);
		if ((rc = replay_open(path, 0, 0, &st)) == NULL)
			problem(ck, "mix key %s: replay cache: %s", id,
			    st == REPLAY_ERR_IO ? strerror(errno) : replay_strerror(st));
		else
			(void)replay_close(rc);
		mem_free(path);
	}
	if (!valid_now)
		problem(ck, "no mix key is valid now (run mixnode keys)");
	else if (newest_until - n->now <= n->pol.publish_ahead)
		problem(ck, "the next mix key is overdue (run mixnode keys)");
	printf("ok: %zu live mix key%s\n", nlive, nlive == 1 ? "" : "s");
}

/* check_pool - every entry decodes; damaged ones go to corrupt/ (C1) */
static void
check_pool(struct checker *ck, const struct node *n, const struct keyring *kr)
{
	struct pool *p;
	struct pool_entry e;
	char **names;
	uint8_t *buf;
	size_t i, len, count, bad = 0;

	if (pool_open(&p, n->spool, kr->names_key) != POOL_OK) {
		problem(ck, "pool: %s", strerror(errno));
		return;
	}
	if (pool_list(p, &names, &count) != POOL_OK) {
		problem(ck, "pool: %s", strerror(errno));
		pool_close(p);
		return;
	}
	buf = mem_alloc(POOL_ENTRY_MAX);
	for (i = 0; i < count; i++) {
		enum pool_err pe = pool_read(p, names[i], buf, &len, &e);

		if (pe == POOL_ERR_FORMAT) {
			bad++;
			if (pool_quarantine(p, names[i]) != POOL_OK)
				problem(ck, "pool: cannot move a damaged entry: %s", strerror(errno));
		} else if (pe != POOL_OK && errno != ENOENT)	/* ENOENT: flushed meanwhile */
			problem(ck, "pool: reading an entry: %s", strerror(errno));
	}
	mem_free(buf);
	pool_list_free(names, count);
	pool_close(p);
	if (bad > 0)
		problem(ck, "%zu damaged pool entr%s moved to corrupt/", bad, bad == 1 ? "y" : "ies");
	printf("ok: %zu pool entr%s checked\n", count, count == 1 ? "y" : "ies");
}

/* check_descriptor - the published descriptor parses and is ours */
static void
check_descriptor(struct checker *ck, const struct node *n, const struct keyring *kr)
{
	struct descriptor d;
	enum desc_err de;
	char *path = path_join(n->spool, DESC_FILE), *buf;
	unsigned line = 0;
	ssize_t got;
	int fd;

	buf = mem_alloc(DESC_MAX_SIZE + 1);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		printf("note: no descriptor yet (run mixnode publish)\n");
		goto out;
	}
	got = read(fd, buf, DESC_MAX_SIZE + 1);
	(void)close(fd);
	if (got < 0)
		problem(ck, "%s: %s", path, strerror(errno));
	else if ((de = desc_parse(buf, (size_t)got, &d, &line)) != DESC_OK)
		problem(ck, "%s: line %u: %s", path, line, desc_strerror(de));
	else if (!mcrypto_equal(d.identity, kr->id_pk, sizeof d.identity))
		problem(ck, "%s: signed by another identity key", path);
	else if (desc_key_usable(&d, n->now) == NULL)
		problem(ck, "%s: lists no key valid now (run mixnode publish)", path);
	else
		printf("ok: descriptor\n");
out:
	mem_free(buf);
	mem_free(path);
}

/* cmd_check - mixnode check: say what is wrong, change only what C1 says */
int
cmd_check(const char *conf_path, int argc, char **argv)
{
	struct checker ck = { 0 };
	struct keyring *kr = NULL;
	struct node n;
	char *sub;
	size_t i;
	int status;

	if (no_args("check", argc, argv) != 0)
		return EX_USAGE_;
	if ((status = load(&n, conf_path)) != EX_OK_)
		return status;
	printf("ok: configuration %s\n", n.conf_path);
	{
		struct ar_settings set;
		char err[CONF_ERR_MAX];

		if (autoreply_settings(&n.conf, &set, err, sizeof err) != 0)
			problem(&ck, "%s", err);
	}
	check_dir(&ck, n.spool);
	for (i = 0; i < sizeof subdirs / sizeof *subdirs; i++) {
		sub = path_join(n.spool, subdirs[i]);
		check_dir(&ck, sub);
		mem_free(sub);
	}
	sub = path_join(n.spool, "replay");
	check_dir(&ck, sub);
	mem_free(sub);
	{
		static const char *const helpers[][2] = {
			{ "mixnode-mime", "mixnode receive runs it for MIME-encoded mail" },
			{ FLUSH_HELPER, "mixnode flush runs it" },
		};
		char helper[4096];

		for (i = 0; i < sizeof helpers / sizeof *helpers; i++) {
			node_libexec(helper, sizeof helper, helpers[i][0]);
			if (access(helper, X_OK) != 0)
				problem(&ck, "%s: %s (%s)", helper, strerror(errno), helpers[i][1]);
			else
				printf("ok: %s\n", helper);
		}
	}
	if (open_keys(&n, &kr) != EX_OK_)
		problem(&ck, "the keys cannot be loaded");
	else {
		printf("ok: keys load\n");
		check_keys(&ck, &n, kr);
		check_pool(&ck, &n, kr);
		check_descriptor(&ck, &n, kr);
	}
	keys_close(kr);
	node_free(&n);
	if (ck.problems > 0) {
		printf("%d problem%s found\n", ck.problems, ck.problems == 1 ? "" : "s");
		return EX_PROBLEM_;
	}
	printf("no problems found\n");
	return EX_OK_;
}

/*
 * cmd_flush - mixnode flush: rotate the keys (the periodic commands keep
 * them current, with their replay caches), then execute mixnode-flush,
 * which links the mail libraries mixnode does without.
 */
int
cmd_flush(const char *conf_path, int argc, char **argv)
{
	struct keys_report rep;
	struct keyring *kr = NULL;
	struct node n;
	char path[4096];
	int status;

	if (no_args("flush", argc, argv) != 0)
		return EX_USAGE_;
	if ((status = load(&n, conf_path)) != EX_OK_)
		return status;
	if ((status = open_keys(&n, &kr)) == EX_OK_) {
		status = rotate(&n, kr, &rep);
		if (status == EX_OK_ && (rep.created_mix > 0 || rep.retired_mix > 0))
			report(&rep);
	}
	keys_close(kr);
	node_free(&n);
	if (status != EX_OK_)
		return status;
	node_libexec(path, sizeof path, FLUSH_HELPER);
	if (path[0] == 0) {
		fprintf(stderr, "mixnode: the path of %s is too long\n", FLUSH_HELPER);
		return EX_TEMPFAIL_;
	}
	(void)fflush(stdout);
	if (conf_path != NULL)
		(void)execl(path, FLUSH_HELPER, "-c", conf_path, (char *)NULL);
	else
		(void)execl(path, FLUSH_HELPER, (char *)NULL);
	fprintf(stderr, "mixnode: cannot run %s: %s\n", path, strerror(errno));
	return EX_TEMPFAIL_;
}
