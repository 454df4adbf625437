/*
 * mixmail-home.c - the user's mixmail directory and settings, and the
 * small things every mixmail command shares (mixmail-home.h).
 *
 * The settings table below is the one source of names, defaults, ranges
 * and help; doc/mixmail.1 (SETTINGS) documents the same.
 *
 * Diagnostics: nothing is logged; functions return a reason to the
 * caller, which prints it. No reason ever quotes message text.
 */
#include <config.h>

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "chain.h"
#include "conf.h"
#include "fragment.h"
#include "mcrypto.h"
#include "mem.h"
#include "mixmail-home.h"
#include "nodedb.h"

#define READ_CHUNK	(64 * 1024)

static const struct conf_setting mm_table[] = {
	{ "relay", CONF_RELAY, "smtp://127.0.0.1:25", 0, 0, NULL,
	    "where first-hop mails go: smtp://HOST:PORT (the local MTA) or maildir:/PATH" },
	{ "relay_timeout", CONF_DURATION, "60s", 1, 3600, NULL,
	    "longest wait for one SMTP step" },
	{ "from", CONF_ADDRESS, "nobody@localhost.invalid", 0, 0, NULL,
	    "From: and envelope sender of the first-hop mails (never the message's)" },
	{ "chain", CONF_STRING, "", 0, CHAIN_MAX_HOPS * (DESC_NAME_MAX + 2), NULL,
	    "default chain: node names and * separated by commas; empty: hops random nodes" },
	{ "hops", CONF_INT, "4", 1, CHAIN_MAX_HOPS, NULL,
	    "hops of a random chain (when chain is empty and no -l is given)" },
	{ "copies", CONF_INT, "1", 1, FRAG_COPIES_MAX, NULL,
	    "copies of each message, over chains with different middle hops" },
	{ "delay_mean", CONF_DURATION, "15m", 0, CHAIN_DELAY_MEAN_MAX, NULL,
	    "mean delay per hop at nodes that mix continuously (sender-chosen delays)" },
};

int
mmhome_is_root(void)
{
	return getuid() == 0 || geteuid() == 0 || getgid() == 0 || getegid() == 0;
}

/* now - the clock, or MIXMAIL_TEST_NOW (seconds) for the tests */
static int
now_of(int64_t *now, char *err, size_t errlen)
{
	const char *s = getenv("MIXMAIL_TEST_NOW");
	char *end;
	long long v;

	if (s == NULL || *s == '\0') {
		*now = (int64_t)time(NULL);
		return 0;
	}
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < 0 || v > (long long)INT32_MAX * 4) {
		(void)snprintf(err, errlen, "MIXMAIL_TEST_NOW is not a time in seconds");
		return -1;
	}
	*now = (int64_t)v;
	return 0;
}

/* home_dir - $MIXMAIL_HOME, else $HOME/.mixmail, else the passwd entry's */
static int
home_dir(char *out, size_t size, char *err, size_t errlen)
{
	const char *env = getenv("MIXMAIL_HOME"), *base;
	struct passwd *pw;
	size_t n;

	if (env != NULL && *env != '\0')
		n = (size_t)snprintf(out, size, "%s", env);
	else {
		base = getenv("HOME");
		if (base == NULL || *base == '\0') {
			pw = getpwuid(getuid());
			base = pw != NULL ? pw->pw_dir : NULL;
		}
		if (base == NULL || *base == '\0') {
			(void)snprintf(err, errlen, "no home directory: set MIXMAIL_HOME");
			return -1;
		}
		n = (size_t)snprintf(out, size, "%s/%s", base, MM_HOME_DEFAULT);
	}
	if (n >= size) {
		(void)snprintf(err, errlen, "the mixmail directory's path is too long");
		return -1;
	}
	return 0;
}

/* check_dir - an existing home must be our directory, closed to writers */
static int
check_dir(const char *dir, int create, char *err, size_t errlen)
{
	struct stat st;

	if (stat(dir, &st) != 0) {
		if (errno != ENOENT) {
			(void)snprintf(err, errlen, "%s: %s", dir, strerror(errno));
			return -1;
		}
		if (!create)
			return 0;	/* nothing stored yet: defaults, no nodes */
		if (mkdir(dir, 0700) != 0) {
			(void)snprintf(err, errlen, "cannot create %s: %s", dir, strerror(errno));
			return -1;
		}
		return 0;
	}
	if (!S_ISDIR(st.st_mode))
		(void)snprintf(err, errlen, "%s: not a directory", dir);
	else if (st.st_uid != getuid())
		(void)snprintf(err, errlen, "%s: owned by uid %lu, not by this user", dir,
		    (unsigned long)st.st_uid);
	else if ((st.st_mode & 022) != 0)
		(void)snprintf(err, errlen, "%s: mode %04o lets group or others write it "
		    "(chmod 700 %s)", dir, (unsigned)(st.st_mode & 07777), dir);
	else
		return 0;
	return -1;
}

int
mmhome_open(struct mm_home *h, int create, char *err, size_t errlen)
{
	struct stat st;

	memset(h, 0, sizeof *h);
	conf_init(&h->conf, mm_table, sizeof mm_table / sizeof *mm_table);
	if (now_of(&h->now, err, errlen) != 0)
		return MM_EX_USAGE;
	if (home_dir(h->dir, sizeof h->dir, err, errlen) != 0 ||
	    check_dir(h->dir, create, err, errlen) != 0)
		return MM_EX_CONFIG;
	(void)snprintf(h->nodes, sizeof h->nodes, "%s/%s", h->dir, MM_NODES_DIR);
	(void)snprintf(h->conf_path, sizeof h->conf_path, "%s/%s", h->dir, MM_CONF_FILE);
	if (stat(h->conf_path, &st) != 0 && errno == ENOENT)
		return MM_EX_OK;
	if (conf_load(&h->conf, h->conf_path, err, errlen) != 0)
		return MM_EX_CONFIG;
	return MM_EX_OK;
}

void
mmhome_close(struct mm_home *h)
{
	conf_free(&h->conf);
}

int
mmhome_read(int fd, size_t max, uint8_t **buf, size_t *len)
{
	size_t cap = READ_CHUNK < max + 1 ? READ_CHUNK : max + 1, n = 0, ncap;
	uint8_t *p = mem_alloc(cap + 1), *q;
	ssize_t got;
	int e;

	*buf = NULL;
	*len = 0;
	for (;;) {
		if (n == cap) {
			if (cap > max)
				break;	/* max + 1 bytes are here: too many */
			ncap = cap > (max + 1) / 2 ? max + 1 : cap * 2;
			q = mem_alloc(ncap + 1);
			memcpy(q, p, n);
			mcrypto_wipe(p, n);
			mem_free(p);
			p = q;
			cap = ncap;
		}
		got = read(fd, p + n, cap - n);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			e = errno;
			mcrypto_wipe(p, n);
			mem_free(p);
			errno = e;
			return -1;
		}
		if (got == 0)
			break;
		n += (size_t)got;
	}
	if (n > max) {
		mcrypto_wipe(p, n);
		mem_free(p);
		return 1;
	}
	p[n] = '\0';
	*buf = p;
	*len = n;
	return 0;
}

int
mmhome_chain_parse(const char *text, struct mm_chainspec *cs, char *err, size_t errlen)
{
	const char *p = text, *end, *s, *e;
	size_t len;

	memset(cs, 0, sizeof *cs);
	for (;;) {
		end = strchr(p, ',');
		if (end == NULL)
			end = p + strlen(p);
		for (s = p; s < end && (*s == ' ' || *s == '\t'); s++)
			;
		for (e = end; e > s && (e[-1] == ' ' || e[-1] == '\t'); e--)
			;
		len = (size_t)(e - s);
		if (cs->nhops == CHAIN_MAX_HOPS) {
			(void)snprintf(err, errlen, "a chain has at most %d hops", CHAIN_MAX_HOPS);
			return -1;
		}
		if (len == 0) {
			(void)snprintf(err, errlen, "hop %zu of the chain is empty", cs->nhops + 1);
			return -1;
		}
		if (len > DESC_NAME_MAX) {
			(void)snprintf(err, errlen, "hop %zu of the chain is longer than a node "
			    "name (at most %d characters)", cs->nhops + 1, DESC_NAME_MAX);
			return -1;
		}
		memcpy(cs->name[cs->nhops], s, len);
		cs->name[cs->nhops][len] = '\0';
		if (strcmp(cs->name[cs->nhops], CHAIN_RANDOM) != 0 &&
		    !nodedb_name_valid(cs->name[cs->nhops])) {
			(void)snprintf(err, errlen, "hop %zu of the chain is neither a node name "
			    "(a-z, 0-9 and -) nor %s", cs->nhops + 1, CHAIN_RANDOM);
			return -1;
		}
		cs->spec[cs->nhops] = cs->name[cs->nhops];
		cs->nhops++;
		if (*end == '\0')
			return 0;
		p = end + 1;
	}
}

int
mmhome_print_conf(const struct mm_home *h, int defaults)
{
	size_t k;

	for (k = 0; k < h->conf.n; k++)
		conf_print(&h->conf, stdout, h->conf.table[k].name, defaults);
	return fflush(stdout) == 0 ? MM_EX_OK : MM_EX_TEMPFAIL;
}
