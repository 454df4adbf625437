/*
 * log.h - diagnostics with four fixed meanings.
 *
 *   msg_info   normal operation worth recording;
 *   msg_warn   bad input or trouble that was survived;
 *   msg_fatal  environment trouble: the program exits with EX_TEMPFAIL (75)
 *              so that an MTA retries later and nothing is lost or bounced;
 *   msg_panic  a bug: the program aborts.
 *
 * Never pass addresses, subjects, packet bytes or per-message times to these
 * functions: see doc/INTERNALS.md, "Privacy of operations".
 */
#ifndef MIX_LOG_H
#define MIX_LOG_H

#include <stdarg.h>

#define MIX_EX_TEMPFAIL 75

#define MIX_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define MIX_NORETURN __attribute__((noreturn))

void msg_set_progname(const char *name);
const char *msg_progname(void);
void msg_set_quiet(int quiet);
void msg_syslog(void);
void msg_set_panic_status(int status);

void msg_info(const char *fmt, ...) MIX_PRINTF(1, 2);
void msg_warn(const char *fmt, ...) MIX_PRINTF(1, 2);
MIX_NORETURN void msg_fatal(const char *fmt, ...) MIX_PRINTF(1, 2);
MIX_NORETURN void msg_panic(const char *fmt, ...) MIX_PRINTF(1, 2);

#endif
