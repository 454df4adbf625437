/*
 * check_conf.c - the configuration parser against golden files.
 *
 * Every tests/conf/NAME.conf is loaded against a table that uses every
 * setting type; the result (the effective settings, or the error text with
 * the directory stripped) must equal tests/conf/NAME.ref. Also: a failed
 * load changes nothing, defaults are printed, a missing file is an error.
 */
#include <config.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "conf.h"
#include "testutil.h"

static const char *const strategies[] = { "threshold", "timed", "mixmaster", "binomial",
	NULL };

static const struct conf_setting table[] = {
	{ "name", CONF_NAME, "mixnode", 0, 32, NULL, "node nickname" },
	{ "address", CONF_ADDRESS, "mix@localhost.invalid", 0, 0, NULL, "node address" },
	{ "spool_dir", CONF_PATH, "/var/spool/mixnode", 0, 0, NULL, "spool" },
	{ "relay", CONF_RELAY, "smtp://127.0.0.1:25", 0, 0, NULL, "outbound relay" },
	{ "max_message_size", CONF_SIZE, "128k", 32768, 10485760, NULL, "largest mail" },
	{ "key_lifetime", CONF_DURATION, "30d", 86400, 31536000, NULL, "mix key life" },
	{ "lock_timeout", CONF_INT, "10", 1, 3600, NULL, "seconds" },
	{ "exit", CONF_BOOL, "yes", 0, 0, NULL, "exit node" },
	{ "strategy", CONF_ENUM, "mixmaster", 0, 0, strategies, "mixing" },
	{ "motto", CONF_STRING, "", 0, 200, NULL, "free text" },
};
#define NTABLE (sizeof table / sizeof *table)

/* result - what loading name gives, as text */
static char *
result(const char *name)
{
	struct conf c;
	char path[4096], err[CONF_ERR_MAX], *out = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&out, &len);

	ck_assert_ptr_nonnull(fp);
	snprintf(path, sizeof path, "%s", tu_srcpath("conf/"));
	strncat(path, name, sizeof path - strlen(path) - 1);
	conf_init(&c, table, NTABLE);
	if (conf_load(&c, path, err, sizeof err) == 0) {
		conf_print(&c, fp, NULL, 0);
	} else {
		const char *dir = tu_srcpath("conf/");
		const char *e = strncmp(err, dir, strlen(dir)) == 0 ? err + strlen(dir) : err;

		fprintf(fp, "error: %s\n", e);
	}
	fclose(fp);
	conf_free(&c);
	return out;
}

START_TEST(test_golden)
{
	DIR *d = opendir(tu_srcpath("conf"));
	struct dirent *de;
	size_t n = 0;

	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name), reflen;
		char ref[300], *got;
		uint8_t *want;

		if (len < 6 || strcmp(de->d_name + len - 5, ".conf") != 0)
			continue;
		snprintf(ref, sizeof ref, "conf/%.*s.ref", (int)(len - 5), de->d_name);
		got = result(de->d_name);
		want = tu_read_file(tu_srcpath(ref), &reflen);
		ck_assert_msg(strcmp(got, (char *)want) == 0, "%s:\n got: %s want: %s",
		    de->d_name, got, (char *)want);
		free(got);
		free(want);
		n++;
	}
	closedir(d);
	ck_assert_uint_ge(n, 20);
}
END_TEST

START_TEST(test_failed_load_changes_nothing)
{
	struct conf c;
	char err[CONF_ERR_MAX];
	char good[4096], bad[4096];

	snprintf(good, sizeof good, "%s", tu_srcpath("conf/good-full.conf"));
	snprintf(bad, sizeof bad, "%s", tu_srcpath("conf/bad-duplicate.conf"));
	conf_init(&c, table, NTABLE);
	ck_assert_int_eq(conf_load(&c, good, err, sizeof err), 0);
	ck_assert_str_eq(conf_get(&c, "name"), "relay-one");
	ck_assert_int_eq(conf_load(&c, bad, err, sizeof err), -1);
	ck_assert_str_eq(conf_get(&c, "name"), "relay-one");
	ck_assert_str_eq(conf_get(&c, "strategy"), "binomial");
	ck_assert_int_eq(conf_get_num(&c, "max_message_size"), 256 * 1024);
	ck_assert_int_eq(conf_get_num(&c, "key_lifetime"), 30 * 86400);
	ck_assert_int_eq(conf_get_bool(&c, "exit"), 0);
	conf_free(&c);
}
END_TEST

START_TEST(test_missing_file_and_defaults)
{
	struct conf c;
	char err[CONF_ERR_MAX], *out = NULL;
	size_t len = 0;
	FILE *fp;

	conf_init(&c, table, NTABLE);
	ck_assert_int_eq(conf_load(&c, "/nonexistent/mixnode.conf", err, sizeof err), -1);
	ck_assert_str_eq(err, "/nonexistent/mixnode.conf: cannot read: No such file or directory");
	ck_assert_int_eq(conf_get_num(&c, "lock_timeout"), 10);
	fp = open_memstream(&out, &len);
	conf_print(&c, fp, "relay", 1);
	fclose(fp);
	ck_assert_str_eq(out, "relay = smtp://127.0.0.1:25\n");
	free(out);
	ck_assert_ptr_null(conf_find(&c, "nosuch"));
	conf_free(&c);
}
END_TEST

START_TEST(test_check_value)
{
	const struct conf_setting *dur = &table[5], *size = &table[4];

	ck_assert_ptr_null(conf_check_value(dur, "1w"));
	ck_assert_ptr_null(conf_check_value(dur, "86400"));
	ck_assert_ptr_nonnull(conf_check_value(dur, "1"));	/* below the minimum */
	ck_assert_ptr_nonnull(conf_check_value(dur, "1dd"));
	ck_assert_ptr_nonnull(conf_check_value(dur, ""));
	ck_assert_ptr_nonnull(conf_check_value(dur, " 1d"));
	ck_assert_ptr_null(conf_check_value(size, "10M"));
	ck_assert_ptr_nonnull(conf_check_value(size, "11M"));
	ck_assert_ptr_nonnull(conf_check_value(size, "99999999999G"));
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("conf");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_golden);
	tcase_add_test(tc, test_failed_load_changes_nothing);
	tcase_add_test(tc, test_missing_file_and_defaults);
	tcase_add_test(tc, test_check_value);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
