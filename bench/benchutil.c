/*
 * benchutil.c - shared helpers of the benchmarks (benchutil.h).
 */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "benchutil.h"
#include "log.h"
#include "mcrypto.h"

#if defined(__clang__)
#define COMPILER_NAME "clang " __clang_version__
#elif defined(__GNUC__)
#define COMPILER_NAME "gcc " __VERSION__
#else
#define COMPILER_NAME "unknown"
#endif

double
bench_now(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		msg_panic("clock_gettime(CLOCK_MONOTONIC) failed");
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

void
bench_copy_str(char *dst, size_t size, const char *src)
{
	size_t n = strlen(src);

	if (size == 0)
		return;
	if (n >= size)
		n = size - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* cpu_info - the first "model name" and the flags fast crypto depends on */
static void
cpu_info(char *model, size_t model_size, char *flags, size_t flags_size)
{
	static const char *const want[] = { "aes", "avx", "avx2", "avx512f" };
	char line[4096];
	FILE *fp;
	size_t i;

	snprintf(model, model_size, "unknown");
	flags[0] = '\0';
	if ((fp = fopen("/proc/cpuinfo", "r")) == NULL)
		return;
	while (fgets(line, sizeof line, fp) != NULL) {
		char *colon = strchr(line, ':');

		line[strcspn(line, "\n")] = '\0';
		if (colon == NULL)
			continue;
		if (strncmp(line, "model name", 10) == 0 && strcmp(model, "unknown") == 0) {
			bench_copy_str(model, model_size, colon + 1 + (colon[1] == ' '));
		} else if (strncmp(line, "flags", 5) == 0 && flags[0] == '\0') {
			size_t len = strlen(line);

			if (len + 1 < sizeof line)	/* so the last flag matches too */
				memcpy(line + len, " ", 2);
			for (i = 0; i < sizeof want / sizeof want[0]; i++) {
				char pat[32];
				size_t used = strlen(flags);

				snprintf(pat, sizeof pat, " %s ", want[i]);
				if (strstr(colon, pat) != NULL && used + strlen(want[i]) + 2 < flags_size)
					snprintf(flags + used, flags_size - used, "%s%s",
					    used ? " " : "", want[i]);
			}
		}
	}
	fclose(fp);
}

/* os_name - PRETTY_NAME from /etc/os-release, or "unknown" */
static void
os_name(char *name, size_t size)
{
	char line[256];
	FILE *fp;

	snprintf(name, size, "unknown");
	if ((fp = fopen("/etc/os-release", "r")) == NULL)
		return;
	while (fgets(line, sizeof line, fp) != NULL) {
		if (strncmp(line, "PRETTY_NAME=", 12) == 0) {
			char *v = line + 12;

			v[strcspn(v, "\n")] = '\0';
			if (*v == '"') {
				v++;
				v[strcspn(v, "\"")] = '\0';
			}
			bench_copy_str(name, size, v);
			break;
		}
	}
	fclose(fp);
}

static void
load_average(char *out, size_t size)
{
	double l1, l5, l15;
	FILE *fp;

	snprintf(out, size, "unknown");
	if ((fp = fopen("/proc/loadavg", "r")) == NULL)
		return;
	if (fscanf(fp, "%lf %lf %lf", &l1, &l5, &l15) == 3)
		snprintf(out, size, "%.2f %.2f %.2f", l1, l5, l15);
	fclose(fp);
}

void
bench_print_machine(const char *prog)
{
	char model[256], flags[64], os[128], load[64], date[64];
	const char *sodium, *openssl;
	struct utsname u;
	time_t t = time(NULL);
	struct tm tm;

	cpu_info(model, sizeof model, flags, sizeof flags);
	os_name(os, sizeof os);
	load_average(load, sizeof load);
	mcrypto_versions(&sodium, &openssl);
	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(date, sizeof date, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
		snprintf(date, sizeof date, "unknown");
	if (uname(&u) != 0)
		msg_fatal("uname failed");

	printf("%s (%s %s)\n", prog, PACKAGE_NAME, PACKAGE_VERSION);
	printf("date:      %s\n", date);
	printf("cpu:       %s [%s], %ld online CPUs\n", model, flags,
	    sysconf(_SC_NPROCESSORS_ONLN));
	printf("os:        %s, %s %s %s\n", os, u.sysname, u.release, u.machine);
	printf("libraries: libsodium %s, %s (crypto code: %s)\n", sodium, openssl,
	    mcrypto_implementation());
	printf("compiler:  " COMPILER_NAME "\n");
	printf("load avg:  %s (at start)\n", load);
}
