/*
 * fuzz-conf.c - libFuzzer harness for conf_load() (src/conf.c) over the
 * node's settings table (src/nodeconf.c), as `mixnode` loads its file.
 *
 * The input is the configuration file. It is written to an anonymous
 * memory file (memfd_create) and loaded through /proc/self/fd/N, so that
 * conf_load reads it exactly as it reads a file on disk. Then:
 *
 *   1. the first line of the input (up to a NUL, CR or LF) is also given
 *      as a value to conf_check_value for every setting of the table;
 *   2. the file is loaded into a configuration at its defaults.
 *
 * The harness aborts (msg_panic) if
 *   - a failed load changed the configuration (conf.h: "a file with any
 *     error changes nothing"), or its error text is empty, not terminated,
 *     or holds a byte outside printable ASCII (error texts go to the log
 *     and the terminal: a hostile file must not inject into either);
 *   - a successful load holds a value its setting refuses
 *     (conf_check_value), or a number or boolean conf_get_num /
 *     conf_get_bool cannot read (they would panic in the programs later);
 *   - what conf_print writes of a loaded configuration does not load
 *     again to the same values: the printed form is what `mixnode config`
 *     shows operators, and it must mean what the file meant.
 *
 * The node's own consistency check (key_lifetime against publish-ahead
 * and grace, src/node_common.c) is computed for every accepted file, so
 * that UBSan sees any overflow in it.
 *
 * Seeds live in fuzz/corpus/conf/: the golden files of tests/conf/ and a
 * complete node configuration. "make fuzz-smoke" runs this harness
 * briefly over a copy.
 */
#define _GNU_SOURCE		/* memfd_create, open_memstream */
#include <config.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"
#include "nodeconf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* memfile - an anonymous file holding len bytes, at offset 0; its path */
static int
memfile(const void *p, size_t len, char *path, size_t pathlen)
{
	int fd = memfd_create("fuzz-conf", MFD_CLOEXEC);
	const char *b = p;
	ssize_t w;

	if (fd < 0)
		msg_panic("fuzz-conf: memfd_create failed");
	while (len > 0) {
		if ((w = write(fd, b, len)) <= 0)
			msg_panic("fuzz-conf: write to memfd failed");
		b += w;
		len -= (size_t)w;
	}
	if ((size_t)snprintf(path, pathlen, "/proc/self/fd/%d", fd) >= pathlen)
		msg_panic("fuzz-conf: path too long");
	return fd;
}

/* same_values - a and b hold the same text for every setting */
static int
same_values(const struct conf *a, const struct conf *b)
{
	size_t i;

	for (i = 0; i < a->n; i++)
		if (strcmp(a->value[i], b->value[i]) != 0)
			return 0;
	return 1;
}

/* check_err - an error text is non-empty, terminated and printable */
static void
check_err(const char *err, size_t size)
{
	size_t i;

	if (memchr(err, '\0', size) == NULL || err[0] == '\0')
		msg_panic("fuzz-conf: empty or unterminated error text");
	for (i = 0; err[i] != '\0'; i++)
		if ((unsigned char)err[i] < 0x20 || (unsigned char)err[i] > 0x7e)
			msg_panic("fuzz-conf: byte 0x%02x in an error text",
			    (unsigned)(unsigned char)err[i]);
}

/* check_loaded - every value valid and readable as its type */
static void
check_loaded(const struct conf *c)
{
	long long lifetime, ahead, grace;
	size_t i;

	for (i = 0; i < c->n; i++) {
		const struct conf_setting *s = &c->table[i];
		const char *why = conf_check_value(s, c->value[i]);

		if (why != NULL)
			msg_panic("fuzz-conf: %s accepted but invalid: %s", s->name, why);
		switch (s->type) {
		case CONF_INT:
		case CONF_SIZE:
		case CONF_DURATION: {
			long long v = conf_get_num(c, s->name);

			if (v < s->min || v > s->max)
				msg_panic("fuzz-conf: %s = %lld outside [%lld, %lld]", s->name, v,
				    s->min, s->max);
			break;
		}
		case CONF_BOOL:
			(void)conf_get_bool(c, s->name);
			break;
		default:
			if (strlen(c->value[i]) > CONF_LINE_MAX)
				msg_panic("fuzz-conf: %s longer than a line", s->name);
			break;
		}
	}
	/* node_load's policy check (src/node_common.c), for UBSan */
	lifetime = conf_get_num(c, "key_lifetime");
	ahead = conf_get_num(c, "key_publish_ahead");
	grace = conf_get_num(c, "key_grace");
	if (lifetime <= 0)
		msg_panic("fuzz-conf: key_lifetime %lld accepted", lifetime);
	(void)((ahead + grace) / lifetime + 2);
}

/* reprint - conf_print of c loads again to the same values */
static void
reprint(const struct conf *c)
{
	struct conf again;
	char path[64], err[CONF_ERR_MAX];
	char *text = NULL;
	size_t len = 0;
	FILE *fp;
	int fd;

	if ((fp = open_memstream(&text, &len)) == NULL)
		msg_panic("fuzz-conf: open_memstream failed");
	conf_print(c, fp, NULL, 0);
	if (fclose(fp) != 0)
		msg_panic("fuzz-conf: conf_print failed");
	fd = memfile(text, len, path, sizeof path);
	nodeconf_init(&again);
	if (conf_load(&again, path, err, sizeof err) != 0)
		msg_panic("fuzz-conf: conf_print output does not load: %s", err);
	if (!same_values(c, &again))
		msg_panic("fuzz-conf: conf_print output loads to other values");
	conf_free(&again);
	close(fd);
	free(text);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf c, def;
	char path[64], err[CONF_ERR_MAX], *value;
	size_t i, first = 0;
	int fd;

	/* 1. the first line as a value of every setting */
	while (first < size && first <= CONF_LINE_MAX && data[first] != '\0' &&
	    data[first] != '\n' && data[first] != '\r')
		first++;
	if ((value = malloc(first + 1)) == NULL)
		msg_panic("fuzz-conf: out of memory");
	memcpy(value, data, first);
	value[first] = '\0';
	for (i = 0; i < nodeconf_count; i++) {
		const char *why = conf_check_value(&nodeconf_table[i], value);

		if (why != NULL)
			check_err(why, strlen(why) + 1);
	}
	free(value);

	/* 2. the input as the file */
	fd = memfile(data, size, path, sizeof path);
	nodeconf_init(&c);
	nodeconf_init(&def);
	memset(err, 0xa5, sizeof err);
	if (conf_load(&c, path, err, sizeof err) != 0) {
		check_err(err, sizeof err);
		if (!same_values(&c, &def) || c.path != NULL)
			msg_panic("fuzz-conf: a failed load changed the configuration");
	} else {
		if (c.path == NULL || strcmp(c.path, path) != 0)
			msg_panic("fuzz-conf: loaded, but the path is not recorded");
		check_loaded(&c);
		reprint(&c);
	}
	conf_free(&c);
	conf_free(&def);
	close(fd);
	return 0;
}
