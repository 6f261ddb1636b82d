/*
 * test_progress.c - the progress line's content.
 */
#include <string.h>

#include "certrecall/base/progress.h"
#include "unit.h"

static const struct {
	unsigned long long done, total;
	double elapsed;
	int bar;
	const char *want;
} lines[] = {
	{ 0, 100, 0, 0, "import 0/100   0% 0/s" },
	{ 50, 100, 10, 0, "import 50/100  50% 5/s ETA 10s" },
	{ 1000000, 3048289, 2, 0,
	  "import 1000000/3048289  32% 500000/s ETA 4s" },
	{ 100, 100, 4, 0, "import 100/100 100% 25/s" },
	{ 25, 100, 1, 8, "import 25/100  25% [##......] 25/s ETA 3s" },
	{ 1, 7200, 1, 0, "import 1/7200   0% 1/s ETA 1h 59m" },
	{ 10, 130, 1, 0, "import 10/130   7% 10/s ETA 12s" },
	{ 10, 1300, 1, 0, "import 10/1300   0% 10/s ETA 2m 09s" },
	{ 42, 0, 2, 8, "import 42 21/s" },
	{ 150, 100, 1, 4, "import 150/100 100% [####] 150/s" },
};

START_TEST(line_shows_count_rate_and_eta)
{
	char buf[256];

	ck_assert_int_eq(progress_format(buf, sizeof(buf), "import",
					 lines[_i].done, lines[_i].total,
					 lines[_i].elapsed, lines[_i].bar),
			 0);
	ck_assert_str_eq(buf, lines[_i].want);
}
END_TEST

START_TEST(bytes_are_shown_as_megabytes)
{
	char buf[256];

	ck_assert_int_eq(progress_format_bytes(buf, sizeof(buf), "import",
					       250000000, 1000000000, 2.5, 4),
			 0);
	ck_assert_str_eq(buf, "import 250.0/1000.0 MB  25% [#...] 100.0 MB/s "
			      "ETA 8s");
}
END_TEST

START_TEST(small_buffer_is_an_error_not_an_overflow)
{
	char buf[8];

	ck_assert_int_eq(
		progress_format(buf, sizeof(buf), "import", 1, 2, 1, 0), -1);
}
END_TEST

START_TEST(finish_accepts_null)
{
	progress_finish(NULL);
}
END_TEST

static Suite *progress_suite(void)
{
	Suite *s = suite_create("progress");
	TCase *tc = tcase_create("progress");

	tcase_add_loop_test(tc, line_shows_count_rate_and_eta, 0,
			    (int)(sizeof(lines) / sizeof(lines[0])));
	tcase_add_test(tc, bytes_are_shown_as_megabytes);
	tcase_add_test(tc, small_buffer_is_an_error_not_an_overflow);
	tcase_add_test(tc, finish_accepts_null);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(progress_suite)
