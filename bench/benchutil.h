/*
 * benchutil.h - what every benchmark under bench/ shares: the clock, the
 * median helper, and the header that says which machine measured.
 *
 * Functions: bench_now(), bench_cmp_double(), bench_copy_str(),
 * bench_print_machine().
 */
#ifndef MIX_BENCHUTIL_H
#define MIX_BENCHUTIL_H

#include <stddef.h>

/* bench_now - CLOCK_MONOTONIC in seconds */
double bench_now(void);
/* bench_cmp_double - qsort comparison of doubles, ascending */
int bench_cmp_double(const void *a, const void *b);
/* bench_copy_str - bounded, always terminated copy */
void bench_copy_str(char *dst, size_t size, const char *src);
/*
 * bench_print_machine - "PROG (mixmail VERSION)", then date, cpu (model and
 * the flags that decide crypto speed), os, libraries, compiler and load
 * average, one "name: value" line each.
 */
void bench_print_machine(const char *prog);

#endif
