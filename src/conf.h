/*
 * conf.h - configuration files of "name = value" lines.
 *
 * A program describes its settings in a table (name, type, default, range,
 * help); conf_load() reads a file against the table. Every error names the
 * file, the line and the setting, and a file with any error changes nothing:
 * the caller keeps its previous (or default) configuration.
 *
 * Syntax: blank lines and lines whose first non-blank character is '#' are
 * ignored; every other line is NAME = VALUE with optional blanks around the
 * '='. White space around the value is removed. There is no quoting and no
 * inline comment: a '#' after the '=' belongs to the value. A name may
 * appear once. Lines are at most CONF_LINE_MAX bytes, and the file at most
 * CONF_FILE_MAX bytes.
 *
 * Functions: conf_init(), conf_free(), conf_load(), conf_get(),
 * conf_get_num(), conf_get_bool(), conf_find(), conf_print().
 */
#ifndef MIX_CONF_H
#define MIX_CONF_H

#include <stddef.h>
#include <stdio.h>

#define CONF_LINE_MAX	1024
#define CONF_FILE_MAX	(256 * 1024)
#define CONF_ERR_MAX	512

enum conf_type {
	CONF_STRING,	/* printable ASCII, at most max bytes */
	CONF_NAME,	/* [a-z0-9-], 1..max bytes, starting with a letter */
	CONF_INT,	/* decimal integer in [min, max] */
	CONF_SIZE,	/* integer with optional k, M or G (x1024) suffix */
	CONF_DURATION,	/* integer with optional s, m, h, d or w suffix; seconds */
	CONF_BOOL,	/* yes/no, true/false, on/off, 1/0 */
	CONF_ENUM,	/* one of choices */
	CONF_ADDRESS,	/* a mail address a packet may carry (pkt_addr_valid) */
	CONF_PATH,	/* absolute path, printable, no "/../" */
	CONF_RELAY	/* smtp://HOST:PORT or maildir:/ABSOLUTE/PATH */
};

struct conf_setting {
	const char *name;
	enum conf_type type;
	const char *def;		/* default, as it would be written in the file */
	long long min, max;		/* range (numbers); max length (strings) */
	const char *const *choices;	/* CONF_ENUM: NULL-terminated */
	const char *help;		/* one line, for `config -d` and the man page */
};

struct conf {
	const struct conf_setting *table;
	size_t n;
	char **value;		/* current values as text */
	int *line;		/* line of the file that set it, 0 for default */
	char *path;		/* file last loaded, or NULL */
};

/* conf_init - all settings at their defaults (the table's defaults must be valid) */
void conf_init(struct conf *c, const struct conf_setting *table, size_t n);
void conf_free(struct conf *c);

/*
 * conf_load - read path. On success returns 0 and c holds the file's values
 * over the defaults. On failure returns -1, c is unchanged and err holds
 * "PATH:LINE: setting NAME: why" (or "PATH: why").
 */
int conf_load(struct conf *c, const char *path, char *err, size_t errlen);

/* conf_check_value - validate text for setting s; NULL if valid, else why */
const char *conf_check_value(const struct conf_setting *s, const char *text);

const struct conf_setting *conf_find(const struct conf *c, const char *name);
const char *conf_get(const struct conf *c, const char *name);	/* panics on unknown */
long long conf_get_num(const struct conf *c, const char *name);	/* INT, SIZE, DURATION */
int conf_get_bool(const struct conf *c, const char *name);

/* conf_print - "name = value" lines like postconf; defaults_only prints the table's defaults */
void conf_print(const struct conf *c, FILE *fp, const char *name, int defaults_only);

#endif
