/*
 * test_config.c - the settings table, the INI loader and its errors.
 */
#include <stdlib.h>
#include <string.h>

#include "certrecall/core/config.h"
#include "certrecall/base/log.h"
#include "unit.h"

/* Loads text as an INI file; returns the rc and what was logged. */
static int load_text(struct config *cfg, const char *text, int mode, char **log,
		     char **path_out)
{
	char *path = unit_write_temp(text, mode);
	int rc;

	unit_capture_begin();
	rc = config_load_file(cfg, path);
	*log = unit_capture_end();
	if (path_out)
		*path_out = path;
	else {
		unlink(path);
		free(path);
	}
	return rc;
}

static void assert_logged(const char *log, const char *path, int line,
			  const char *what)
{
	char want[512];
	const char *at;
	size_t eol;

	snprintf(want, sizeof(want), "%s:%d: ", path, line);
	at = strstr(log, want);
	ck_assert_msg(at != NULL, "want \"%s\" in:\n%s", want, log);
	eol = strcspn(at, "\n");
	ck_assert_msg(memmem(at, eol, what, strlen(what)) != NULL,
		      "want \"%s\" on line %d in:\n%s", what, line, log);
}

START_TEST(defaults_are_documented_values)
{
	struct config *cfg = config_new();

	ck_assert_str_eq(cfg->database.url, "");
	ck_assert_int_eq(cfg->database.connect_timeout_ms, 10000);
	ck_assert_int_eq(cfg->scanner.concurrency, 1000);
	ck_assert_int_eq(cfg->scanner.per_ip, 8);
	ck_assert_str_eq(cfg->scanner.ports, "443");
	ck_assert(cfg->scanner.ipv6);
	ck_assert_int_eq(cfg->smtp.port, 25);
	ck_assert_str_eq(cfg->smtp.starttls, "auto");
	ck_assert_int_eq(cfg->mailer.max_listed, 100);
	ck_assert_int_eq(cfg->report.crtsh_threshold, 10000);
	ck_assert_int_eq(cfg->scanner.retry_after_ms, 300000);
	ck_assert_int_eq(cfg->scanner.fail_warn, 20);
	config_free(cfg);
}
END_TEST

START_TEST(good_file_sets_every_type)
{
	struct config *cfg = config_new();
	char *log;
	int rc = load_text(cfg,
			   "; comment\n"
			   "[database]\n"
			   "url = host=db1 dbname=ca\n"
			   "lease = 90s\n"
			   "[scanner]\n"
			   "ports = 443, 8443\n"
			   "dns_timeout = 250ms\n"
			   "ipv6 = off\n"
			   "concurrency = 5000\n"
			   "fail_warn = 35%\n"
			   "retry_after = 30s\n"
			   "[smtp]\n"
			   "starttls = required\n"
			   "timeout = 2m\n"
			   "[report]\n"
			   "organization = Example CA ; inline comment\n",
			   0600, &log, NULL);

	ck_assert_msg(rc == 0, "log: %s", log);
	ck_assert_str_eq(cfg->database.url, "host=db1 dbname=ca");
	ck_assert_int_eq(cfg->database.lease_ms, 90000);
	ck_assert_str_eq(cfg->scanner.ports, "443, 8443");
	ck_assert_int_eq(cfg->scanner.dns_timeout_ms, 250);
	ck_assert(!cfg->scanner.ipv6);
	ck_assert_int_eq(cfg->scanner.concurrency, 5000);
	ck_assert_int_eq(cfg->scanner.fail_warn, 35);
	ck_assert_int_eq(cfg->scanner.retry_after_ms, 30000);
	ck_assert_str_eq(cfg->smtp.starttls, "required");
	ck_assert_int_eq(cfg->smtp.timeout_ms, 120000);
	ck_assert_str_eq(cfg->report.organization, "Example CA");
	ck_assert_str_eq(log, "");
	free(log);
	config_free(cfg);
}
END_TEST

/* One bad line each: the error names the right line and the reason. */
static const struct {
	const char *text;
	int line;
	const char *what;
} bad_files[] = {
	{ "[smtp]\nprot = 25\n", 2, "unknown key \"prot\" in section [smtp]" },
	{ "[smtp]\nport = twenty\n", 2, "\"twenty\" is not a whole number" },
	{ "[smtp]\nport = 25x\n", 2, "\"25x\" is not a whole number" },
	{ "[smtp]\nport = 70000\n", 2, "70000 is out of range (1 to 65535)" },
	{ "[smtp]\n\n\nport = -1\n", 4, "-1 is out of range" },
	{ "[scanner]\nipv6 = perhaps\n", 2, "\"perhaps\" is not a boolean" },
	{ "[scanner]\ndns_timeout = 5 s\n", 2, "is not a duration" },
	{ "[scanner]\ndns_timeout = 5y\n", 2, "is not a duration" },
	{ "[scanner]\nports = 0\n", 2, "is not a list of ports" },
	{ "[scanner]\nports = 443;80\n", 2, "is not a list of ports" },
	{ "[smtp]\nstarttls = maybe\n", 2, "is not one of" },
	{ "[scanner]\nfail_warn = 120%\n", 2,
	  "\"120%\" is not a percentage (0% to 100%)" },
	{ "[scanner]\nfail_warn = 20%%\n", 2, "is not a percentage" },
	{ "[scanner]\nfail_warn = %\n", 2, "is not a percentage" },
	{ "[mail]\nfrom = x\n", 2, "unknown section [mail]" },
	{ "[smtp]\nhost = a\nhost = b\n", 3, "already set at line 2" },
	{ "[smtp]\nhost = a\nnot a pair\n", 3, "syntax error" },
	{ "[smtp]\npassword_file = /nonexistent/pw\n", 2, "cannot read" },
};

START_TEST(bad_line_is_reported_with_file_and_line)
{
	struct config *cfg = config_new();
	char *log, *path;
	int rc = load_text(cfg, bad_files[_i].text, 0600, &log, &path);

	ck_assert_int_eq(rc, -1);
	assert_logged(log, path, bad_files[_i].line, bad_files[_i].what);
	unlink(path);
	free(path);
	free(log);
	config_free(cfg);
}
END_TEST

START_TEST(every_error_is_reported_not_only_the_first)
{
	struct config *cfg = config_new();
	char *pw = unit_write_temp("pw\n", 0644);
	char *text, *log, *path;
	int rc;

	text = NULL;
	ck_assert_int_ge(asprintf(&text,
				  "[smtp]\n"
				  "prot = 25\n"
				  "port = twenty-five\n"
				  "password_file = %s\n",
				  pw),
			 0);
	rc = load_text(cfg, text, 0600, &log, &path);
	ck_assert_int_eq(rc, -1);
	assert_logged(log, path, 2, "unknown key \"prot\"");
	assert_logged(log, path, 3, "\"twenty-five\" is not a whole number");
	assert_logged(log, path, 4, "is readable by group or others");
	/* A bad value leaves the default in place. */
	ck_assert_int_eq(cfg->smtp.port, 25);
	unlink(path);
	unlink(pw);
	free(path);
	free(pw);
	free(text);
	free(log);
	config_free(cfg);
}
END_TEST

START_TEST(long_lines_keep_line_numbers_right)
{
	struct config *cfg = config_new();
	char text[8192];
	char *log, *path;
	int n;

	/* A 4000-character value is read by inih in several chunks. */
	n = snprintf(text, sizeof(text),
		     "[report]\norganization = %04000d\n"
		     "[smtp]\nport = x\n",
		     7);
	ck_assert_int_lt(n, (int)sizeof(text));
	ck_assert_int_eq(load_text(cfg, text, 0600, &log, &path), -1);
	assert_logged(log, path, 4, "\"x\" is not a whole number");
	ck_assert_uint_eq(strlen(cfg->report.organization), 4000);
	unlink(path);
	free(path);
	free(log);
	config_free(cfg);
}
END_TEST

START_TEST(password_is_read_from_private_file_only)
{
	struct config *cfg = config_new();
	char *open_pw = unit_write_temp("hunter2\n", 0640);
	char *private_pw = unit_write_temp("hunter2\r\nsecond line\n", 0600);
	char *pw, *log;

	ck_assert_int_eq(
		config_set(cfg, "smtp.password_file", private_pw, "test"), 0);
	ck_assert_int_eq(config_read_password(cfg, &pw), 0);
	ck_assert_str_eq(pw, "hunter2");
	free(pw);

	unit_capture_begin();
	ck_assert_int_eq(config_set(cfg, "smtp.password_file", open_pw, "test"),
			 -1);
	log = unit_capture_end();
	ck_assert_ptr_nonnull(strstr(log, "mode 0640"));
	ck_assert_ptr_null(strstr(log, "hunter2"));
	free(log);
	unlink(open_pw);
	unlink(private_pw);
	free(open_pw);
	free(private_pw);
	config_free(cfg);
}
END_TEST

START_TEST(environment_overrides_file)
{
	struct config *cfg = config_new();

	ck_assert_int_eq(config_set(cfg, "scanner.rate", "10", "file:1"), 0);
	setenv("CERTRECALL_SCANNER_RATE", "20", 1);
	setenv("CERTRECALL_DATABASE", "dbname=env", 1);
	ck_assert_int_eq(config_load_env(cfg), 0);
	ck_assert_int_eq(cfg->scanner.rate, 20);
	ck_assert_str_eq(cfg->database.url, "dbname=env");
	setenv("CERTRECALL_SMTP_PORT", "abc", 1);
	unit_capture_begin();
	ck_assert_int_eq(config_load_env(cfg), -1);
	free(unit_capture_end());
	unsetenv("CERTRECALL_SCANNER_RATE");
	unsetenv("CERTRECALL_DATABASE");
	unsetenv("CERTRECALL_SMTP_PORT");
	config_free(cfg);
}
END_TEST

START_TEST(set_rejects_unknown_keys)
{
	struct config *cfg = config_new();
	char *log;

	unit_capture_begin();
	ck_assert_int_eq(config_set(cfg, "smtp.prot", "1", "cli"), -1);
	ck_assert_int_eq(config_set(cfg, "nodot", "1", "cli"), -1);
	log = unit_capture_end();
	ck_assert_ptr_nonnull(strstr(log, "unknown key \"smtp.prot\""));
	free(log);
	config_free(cfg);
}
END_TEST

/* A percentage reads with or without its sign and prints with it. */
START_TEST(percent_reads_either_way)
{
	struct config *cfg = config_new();
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	ck_assert_int_eq(config_set(cfg, "scanner.fail_warn", "7", "cli"), 0);
	ck_assert_int_eq(cfg->scanner.fail_warn, 7);
	ck_assert_int_eq(config_set(cfg, "scanner.fail_warn", "100%", "cli"),
			 0);
	ck_assert_int_eq(cfg->scanner.fail_warn, 100);
	config_print(cfg, f);
	fclose(f);
	ck_assert_ptr_nonnull(strstr(out, "fail_warn = 100%\t; cli"));
	free(out);
	config_free(cfg);
}
END_TEST

START_TEST(key_names_are_section_dot_key)
{
	char buf[64];
	size_t n = config_key_count();

	ck_assert_uint_gt(n, 20);
	for (size_t i = 0; i < n; i++) {
		const char *name = config_key_name(i, buf, sizeof(buf));

		ck_assert_ptr_nonnull(name);
		ck_assert_ptr_nonnull(strchr(name, '.'));
	}
	ck_assert_ptr_null(config_key_name(n, buf, sizeof(buf)));
}
END_TEST

static Suite *config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("config");

	log_set_level(LOG_LEVEL_WARN);
	tcase_add_test(tc, defaults_are_documented_values);
	tcase_add_test(tc, good_file_sets_every_type);
	tcase_add_loop_test(tc, bad_line_is_reported_with_file_and_line, 0,
			    (int)(sizeof(bad_files) / sizeof(bad_files[0])));
	tcase_add_test(tc, every_error_is_reported_not_only_the_first);
	tcase_add_test(tc, long_lines_keep_line_numbers_right);
	tcase_add_test(tc, password_is_read_from_private_file_only);
	tcase_add_test(tc, environment_overrides_file);
	tcase_add_test(tc, set_rejects_unknown_keys);
	tcase_add_test(tc, key_names_are_section_dot_key);
	tcase_add_test(tc, percent_reads_either_way);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(config_suite)
