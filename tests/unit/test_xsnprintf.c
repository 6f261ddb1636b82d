/*
 * test_xsnprintf.c - a text that fits is written whole and its length
 * returned; one that does not is an error, logged once with the start of
 * the text (printable) and the room it had, and leaves "" behind.
 */
#include "certrecall/base/xsnprintf.h"
#include "unit.h"

START_TEST(a_text_that_fits_is_written_whole)
{
	char buf[8];

	ck_assert_int_eq(xsnprintf(buf, sizeof(buf), "%s-%d", "ab", 42), 5);
	ck_assert_str_eq(buf, "ab-42");
	/* seven bytes and the NUL: exactly full */
	ck_assert_int_eq(xsnprintf(buf, sizeof(buf), "%s", "1234567"), 7);
	ck_assert_str_eq(buf, "1234567");
}
END_TEST

START_TEST(a_text_one_byte_too_long_is_an_error)
{
	char buf[8], *log;

	unit_capture_begin();
	ck_assert_int_eq(xsnprintf(buf, sizeof(buf), "%s", "12345678"), -1);
	log = unit_capture_end();
	ck_assert_str_eq(buf, "");
	ck_assert_ptr_nonnull(strstr(log, "error: text of 8 bytes longer than "
					  "the 7 bytes it may take (near "
					  "\"1234567\")"));
	free(log);
}
END_TEST

START_TEST(the_message_quotes_the_start_printable)
{
	char buf[64], *log;

	unit_capture_begin();
	ck_assert_int_eq(xsnprintf(buf, sizeof(buf),
				   "templates/%s\x1b[2J%0100d", "en", 0),
			 -1);
	log = unit_capture_end();
	ck_assert_ptr_nonnull(strstr(log, "(near \"templates/en?[2J000"));
	ck_assert_ptr_null(strchr(log, '\x1b'));
	free(log);
}
END_TEST

START_TEST(no_room_is_an_error)
{
	char *log;

	unit_capture_begin();
	ck_assert_int_eq(xsnprintf(NULL, 0, "x"), -1);
	log = unit_capture_end();
	ck_assert_ptr_nonnull(strstr(log, "error: "));
	free(log);
}
END_TEST

static Suite *xsnprintf_suite(void)
{
	Suite *s = suite_create("xsnprintf");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, a_text_that_fits_is_written_whole);
	tcase_add_test(tc, a_text_one_byte_too_long_is_an_error);
	tcase_add_test(tc, the_message_quotes_the_start_printable);
	tcase_add_test(tc, no_room_is_an_error);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(xsnprintf_suite)
