/*
 * unit.h - glue between Check and the project's test runner.
 *
 * Each tests/unit/test_<module>.c builds one Suite and ends with
 * UNIT_MAIN(<module>_suite).  The program prints one machine-readable line,
 * "unit-result: PASSED FAILED", that tests/run.sh adds up.
 */
#ifndef CERTRECALL_TESTS_UNIT_H
#define CERTRECALL_TESTS_UNIT_H

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/*
 * Capturing stderr, to check what a module reported (log lines).
 * unit_capture_begin() redirects fd 2 to a temporary file;
 * unit_capture_end() restores it and returns what was written (free it).
 */
static int unit_saved_stderr = -1;
static FILE *unit_capture_file;

static inline void unit_capture_begin(void)
{
	fflush(stderr);
	unit_capture_file = tmpfile();
	ck_assert_ptr_nonnull(unit_capture_file);
	unit_saved_stderr = dup(2);
	dup2(fileno(unit_capture_file), 2);
}

static inline char *unit_capture_end(void)
{
	long len;
	char *buf;

	fflush(stderr);
	dup2(unit_saved_stderr, 2);
	close(unit_saved_stderr);
	len = ftell(unit_capture_file);
	buf = calloc(1, (size_t)len + 1);
	rewind(unit_capture_file);
	if (len > 0 && fread(buf, 1, (size_t)len, unit_capture_file) == 0)
		buf[0] = '\0';
	fclose(unit_capture_file);
	return buf;
}

/* Writes text to a new temporary file; returns its path (free it). */
static inline char *unit_write_temp(const char *text, int mode)
{
	char *path = strdup("/tmp/certrecall-unit-XXXXXX");
	int fd = mkstemp(path);
	size_t len = strlen(text);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, len), (ssize_t)len);
	fchmod(fd, (mode_t)mode);
	close(fd);
	return path;
}

#define UNIT_MAIN(suite_fn)                                                    \
	int main(void)                                                         \
	{                                                                      \
		SRunner *sr = srunner_create(suite_fn());                      \
		srunner_run_all(sr, CK_NORMAL);                                \
		int run = srunner_ntests_run(sr);                              \
		int failed = srunner_ntests_failed(sr);                        \
		srunner_free(sr);                                              \
		printf("unit-result: %d %d\n", run - failed, failed);          \
		return failed ? 1 : 0;                                         \
	}

#endif
