/*
 * conf.c - typed "name = value" configuration files (see conf.h).
 *
 * The whole file is read into a bounded buffer and parsed into a new value
 * array; only when every line is valid does it replace the old one. Error
 * texts quote at most 64 bytes of the offending name, with unprintable
 * bytes shown as '?', so a hostile file cannot inject into logs.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"
#include "mem.h"
#include "pkt.h"

#define QUOTE_MAX 64

void
conf_init(struct conf *c, const struct conf_setting *table, size_t n)
{
	size_t i;

	c->table = table;
	c->n = n;
	c->value = mem_calloc(n, sizeof *c->value);
	c->line = mem_calloc(n, sizeof *c->line);
	c->path = NULL;
	for (i = 0; i < n; i++) {
		const char *why = conf_check_value(&table[i], table[i].def);

		if (why != NULL)
			msg_panic("default of %s is invalid: %s", table[i].name, why);
		c->value[i] = mem_strdup(table[i].def);
	}
}

void
conf_free(struct conf *c)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		mem_free(c->value[i]);
	mem_free(c->value);
	mem_free(c->line);
	mem_free(c->path);
	memset(c, 0, sizeof *c);
}

/* quote - a printable, bounded copy of untrusted text for error messages */
static const char *
quote(char *buf, size_t size, const char *s, size_t len)
{
	size_t i, n = len < size - 4 ? len : size - 4;

	for (i = 0; i < n && i < QUOTE_MAX; i++)
		buf[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	if (i < len) {
		memcpy(buf + i, "...", 3);
		i += 3;
	}
	buf[i] = '\0';
	return buf;
}

/* parse_number - decimal integer with an optional one-letter unit */
static const char *
parse_number(const char *text, const char *units, const long long *mult, long long *out)
{
	const char *p = text;
	long long v = 0, m = 1;
	size_t i;

	if (*p < '0' || *p > '9')
		return "not a number";
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (LLONG_MAX - (*p - '0')) / 10)
			return "number too large";
		v = v * 10 + (*p - '0');
	}
	if (*p != '\0') {
		if (units == NULL || p[1] != '\0')
			return "trailing characters after the number";
		for (i = 0; units[i] != '\0' && units[i] != *p; i++)
			;
		if (units[i] == '\0')
			return "unknown unit";
		m = mult[i];
	}
	if (v > LLONG_MAX / m)
		return "number too large";
	*out = v * m;
	return NULL;
}

/* parse_typed - the value of an INT, SIZE or DURATION setting */
static const char *
parse_typed(enum conf_type type, const char *t, long long *out)
{
	static const long long size_mult[] = { 1024LL, 1024LL, 1024LL * 1024,
		1024LL * 1024 * 1024 };
	static const long long dur_mult[] = { 1, 60, 3600, 86400, 604800 };

	switch (type) {
	case CONF_INT:
		return parse_number(t, NULL, NULL, out);
	case CONF_SIZE:
		return parse_number(t, "kKMG", size_mult, out);
	case CONF_DURATION:
		return parse_number(t, "smhdw", dur_mult, out);
	default:
		return "not a number setting";
	}
}

static const char *
parse_bool(const char *t, int *out)
{
	if (!strcmp(t, "yes") || !strcmp(t, "true") || !strcmp(t, "on") || !strcmp(t, "1"))
		*out = 1;
	else if (!strcmp(t, "no") || !strcmp(t, "false") || !strcmp(t, "off") || !strcmp(t, "0"))
		*out = 0;
	else
		return "not a boolean (yes or no)";
	return NULL;
}

static int
printable(const char *t)
{
	for (; *t != '\0'; t++)
		if ((unsigned char)*t < 0x20 || (unsigned char)*t >= 0x7f)
			return 0;
	return 1;
}

static const char *
check_path(const char *t)
{
	size_t n = strlen(t);

	if (t[0] != '/')
		return "not an absolute path";
	if (!printable(t) || n >= PATH_MAX)
		return "invalid path";
	if (strstr(t, "/../") != NULL || (n >= 3 && strcmp(t + n - 3, "/..") == 0))
		return "path contains \"..\"";
	return NULL;
}

static const char *
check_relay(const char *t)
{
	const char *host, *colon, *p;
	long port = 0;

	if (strncmp(t, "maildir:", 8) == 0)
		return check_path(t + 8);
	if (strncmp(t, "smtp://", 7) != 0)
		return "not smtp://HOST:PORT or maildir:/PATH";
	host = t + 7;
	colon = strrchr(host, ':');
	if (colon == NULL || colon == host || colon[1] == '\0')
		return "smtp relay needs HOST:PORT";
	for (p = host; p < colon; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '.' || *p == '-'))
			return "invalid relay host (a name or an IPv4 address)";
	for (p = colon + 1; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			return "invalid relay port";
		port = port * 10 + (*p - '0');
		if (port > 65535)
			return "invalid relay port";
	}
	if (port == 0)
		return "invalid relay port";
	return NULL;
}

const char *
conf_check_value(const struct conf_setting *s, const char *t)
{
	long long v;
	const char *why;
	size_t i;
	int b;

	switch (s->type) {
	case CONF_STRING:
		if (!printable(t))
			return "contains control or non-ASCII characters";
		if ((long long)strlen(t) > s->max)
			return "too long";
		return NULL;
	case CONF_NAME:
		if ((long long)strlen(t) > s->max)
			return "too long";
		if (t[0] < 'a' || t[0] > 'z')
			return "must start with a lower-case letter";
		for (i = 0; t[i] != '\0'; i++)
			if (!((t[i] >= 'a' && t[i] <= 'z') || (t[i] >= '0' && t[i] <= '9') ||
			    t[i] == '-'))
				return "only a-z, 0-9 and - are allowed";
		return NULL;
	case CONF_INT:
	case CONF_SIZE:
	case CONF_DURATION:
		if ((why = parse_typed(s->type, t, &v)) != NULL)
			return why;
		if (v < s->min || v > s->max)
			return "out of range";
		return NULL;
	case CONF_BOOL:
		return parse_bool(t, &b);
	case CONF_ENUM:
		for (i = 0; s->choices[i] != NULL; i++)
			if (strcmp(t, s->choices[i]) == 0)
				return NULL;
		return "not one of the allowed values";
	case CONF_ADDRESS:
		return pkt_addr_valid(t, strlen(t)) ? NULL : "not a valid mail address";
	case CONF_PATH:
		return check_path(t);
	case CONF_RELAY:
		return check_relay(t);
	}
	return "unknown type";
}

/* read_bounded - the whole file, at most CONF_FILE_MAX bytes */
static char *
read_bounded(const char *path, size_t *len, const char **why)
{
	int fd = open(path, O_RDONLY | O_NOCTTY | O_CLOEXEC);
	char *buf;
	size_t n = 0;
	ssize_t r;

	if (fd < 0) {
		*why = strerror(errno);
		return NULL;
	}
	buf = mem_alloc(CONF_FILE_MAX + 1);
	for (;;) {
		r = read(fd, buf + n, CONF_FILE_MAX + 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			*why = strerror(errno);
			goto fail;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > CONF_FILE_MAX) {
			*why = "file too large";
			goto fail;
		}
	}
	close(fd);
	buf[n] = '\0';
	*len = n;
	return buf;
fail:
	close(fd);
	mem_free(buf);
	return NULL;
}

static void
errf(char *err, size_t errlen, const char *fmt, ...) MIX_PRINTF(3, 4);

static void
errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static int
is_blank(char c)
{
	return c == ' ' || c == '\t';
}

int
conf_load(struct conf *c, const char *path, char *err, size_t errlen)
{
	char *buf, *p, *end, q[QUOTE_MAX + 4], pq[QUOTE_MAX * 2 + 4];
	char **val = mem_calloc(c->n, sizeof *val);
	int *line = mem_calloc(c->n, sizeof *line);
	const char *why = NULL;
	size_t len, i;
	int lineno = 0, ok = 0;

	quote(pq, sizeof pq, path, strlen(path));
	if ((buf = read_bounded(path, &len, &why)) == NULL) {
		errf(err, errlen, "%s: cannot read: %s", pq, why);
		goto out;
	}
	if (memchr(buf, '\0', len) != NULL) {
		errf(err, errlen, "%s: contains a NUL byte", pq);
		goto out;
	}
	for (p = buf; p < buf + len; p = end + 1) {
		char *name, *name_end, *value, *value_end;
		const struct conf_setting *s = NULL;

		lineno++;
		end = memchr(p, '\n', (size_t)(buf + len - p));
		if (end == NULL)
			end = buf + len;
		if (end - p > CONF_LINE_MAX) {
			errf(err, errlen, "%s:%d: line longer than %d bytes", pq, lineno,
			    CONF_LINE_MAX);
			goto out;
		}
		*end = '\0';
		if (end > p && end[-1] == '\r')
			end[-1] = '\0';
		while (is_blank(*p))
			p++;
		if (*p == '\0' || *p == '#')
			continue;
		name = p;
		while (*p != '\0' && *p != '=' && !is_blank(*p))
			p++;
		name_end = p;
		while (is_blank(*p))
			p++;
		if (*p != '=') {
			errf(err, errlen, "%s:%d: expected \"name = value\", got \"%s\"", pq, lineno,
			    quote(q, sizeof q, name, strlen(name)));
			goto out;
		}
		*name_end = '\0';
		value = p + 1;
		while (is_blank(*value))
			value++;
		value_end = value + strlen(value);
		while (value_end > value && is_blank(value_end[-1]))
			*--value_end = '\0';
		for (i = 0; i < c->n; i++)
			if (strcmp(c->table[i].name, name) == 0) {
				s = &c->table[i];
				break;
			}
		if (s == NULL) {
			errf(err, errlen, "%s:%d: unknown setting \"%s\"", pq, lineno,
			    quote(q, sizeof q, name, strlen(name)));
			goto out;
		}
		if (line[i] != 0) {
			errf(err, errlen, "%s:%d: setting %s: already set on line %d", pq, lineno,
			    s->name, line[i]);
			goto out;
		}
		if ((why = conf_check_value(s, value)) != NULL) {
			errf(err, errlen, "%s:%d: setting %s: %s", pq, lineno, s->name, why);
			goto out;
		}
		val[i] = mem_strdup(value);
		line[i] = lineno;
		if (end == buf + len)
			break;
	}
	/* Success: adopt the new values. */
	for (i = 0; i < c->n; i++) {
		if (val[i] == NULL)
			continue;
		mem_free(c->value[i]);
		c->value[i] = val[i];
		val[i] = NULL;
	}
	mem_free(c->line);
	c->line = line;
	line = NULL;
	mem_free(c->path);
	c->path = mem_strdup(path);
	ok = 1;
out:
	for (i = 0; i < c->n; i++)
		mem_free(val[i]);
	mem_free(val);
	mem_free(line);
	mem_free(buf);
	return ok ? 0 : -1;
}

const struct conf_setting *
conf_find(const struct conf *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		if (strcmp(c->table[i].name, name) == 0)
			return &c->table[i];
	return NULL;
}

static size_t
index_of(const struct conf *c, const char *name)
{
	const struct conf_setting *s = conf_find(c, name);

	if (s == NULL)
		msg_panic("conf: no setting named %s", name);
	return (size_t)(s - c->table);
}

const char *
conf_get(const struct conf *c, const char *name)
{
	return c->value[index_of(c, name)];
}

long long
conf_get_num(const struct conf *c, const char *name)
{
	size_t i = index_of(c, name);
	long long v = 0;

	if (parse_typed(c->table[i].type, c->value[i], &v) != NULL)
		msg_panic("conf: %s is not a valid number setting", name);
	return v;
}

int
conf_get_bool(const struct conf *c, const char *name)
{
	size_t i = index_of(c, name);
	int b = 0;

	if (c->table[i].type != CONF_BOOL || parse_bool(c->value[i], &b) != NULL)
		msg_panic("conf: %s is not a boolean", name);
	return b;
}

void
conf_print(const struct conf *c, FILE *fp, const char *name, int defaults_only)
{
	size_t i;

	for (i = 0; i < c->n; i++) {
		if (name != NULL && strcmp(c->table[i].name, name) != 0)
			continue;
		fprintf(fp, "%s = %s\n", c->table[i].name,
		    defaults_only ? c->table[i].def : c->value[i]);
	}
}
