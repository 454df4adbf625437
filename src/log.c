/*
 * log.c - diagnostics to standard error, one line each, prefixed with the
 * program name and the level. Lines are capped in length so that a caller
 * cannot flood the log with one message.
 */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "log.h"

#define LOG_LINE_MAX 512

static const char *progname = "mixmail";
static int quiet;
static int use_syslog;
static int panic_status;	/* 0: abort(); else exit with this status */

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

/*
 * msg_syslog - also send every line to syslog (facility mail), as the MTA
 * hook does: its standard error reaches only the MTA's own log.
 */
void
msg_syslog(void)
{
	if (!use_syslog) {
		openlog(progname, LOG_PID | LOG_NDELAY, LOG_MAIL);
		use_syslog = 1;
	}
}

/*
 * msg_set_panic_status - make msg_panic exit with status instead of
 * aborting. The MTA hook uses 75: a killed hook is bounced by Exim, and a
 * bounce leaks; a deferred mail is kept and retried.
 */
void
msg_set_panic_status(int status)
{
	panic_status = status;
}

static void MIX_PRINTF(3, 0)
msg_vprint(int prio, const char *level, const char *fmt, va_list ap)
{
	char line[LOG_LINE_MAX];
	size_t i;

	vsnprintf(line, sizeof line, fmt, ap);
	/* One record per line: control characters never reach the log. */
	for (i = 0; line[i] != '\0'; i++)
		if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
			line[i] = '?';
	fprintf(stderr, "%s: %s%s\n", progname, level, line);
	if (use_syslog)
		syslog(prio, "%s%s", level, line);
}

void
msg_info(const char *fmt, ...)
{
	va_list ap;

	if (quiet)
		return;
	va_start(ap, fmt);
	msg_vprint(LOG_INFO, "", fmt, ap);
	va_end(ap);
}

void
msg_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	msg_vprint(LOG_WARNING, "warning: ", fmt, ap);
	va_end(ap);
}

void
msg_fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	msg_vprint(LOG_ERR, "fatal: ", fmt, ap);
	va_end(ap);
	exit(MIX_EX_TEMPFAIL);
}

void
msg_panic(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	msg_vprint(LOG_CRIT, "panic: ", fmt, ap);
	va_end(ap);
	if (panic_status != 0)
		exit(panic_status);
	abort();
}
