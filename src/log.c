/*
 * log.c - diagnostics to standard error, one line each, prefixed with the
 * program name and the level. Lines are capped in length so that a caller
 * cannot flood the log with one message.
 */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

#define LOG_LINE_MAX 512

static const char *progname = "mixmail";
static int quiet;

void
msg_set_progname(const char *name)
{
	const char *slash;

	if (name == NULL || *name == '\0')
		return;
	slash = strrchr(name, '/');
	progname = slash != NULL ? slash + 1 : name;
}

const char *
msg_progname(void)
{
	return progname;
}

/* msg_set_quiet - suppress info lines (warnings and worse still print). */
void
msg_set_quiet(int q)
{
	quiet = q;
}

static void MIX_PRINTF(2, 0)
msg_vprint(const char *level, const char *fmt, va_list ap)
{
	char line[LOG_LINE_MAX];
	size_t i;

	vsnprintf(line, sizeof line, fmt, ap);
	/* One record per line: control characters never reach the log. */
	for (i = 0; line[i] != '\0'; i++)
		if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
			line[i] = '?';
	fprintf(stderr, "%s: %s%s\n", progname, level, line);
}

void
msg_info(const char *fmt, ...)
{
	va_list ap;

	if (quiet)
		return;
	va_start(ap, fmt);
	msg_vprint("", fmt, ap);
	va_end(ap);
}

void
msg_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	msg_vprint("warning: ", fmt, ap);
	va_end(ap);
}

void
msg_fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	msg_vprint("fatal: ", fmt, ap);
	va_end(ap);
	exit(MIX_EX_TEMPFAIL);
}

void
msg_panic(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	msg_vprint("panic: ", fmt, ap);
	va_end(ap);
	abort();
}
