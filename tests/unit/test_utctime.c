/*
 * test_utctime.c - utctime parses every offset form to the same UTC second,
 * rejects impossible times with a message quoting the input, and never
 * depends on the process time zone.
 */
#include "certrecall/base/utctime.h"
#include "unit.h"

#include <stdlib.h>
#include <string.h>

#define DAY 86400LL

/* Parse s, which the test expects to be valid. */
static time_t must_parse(const char *s)
{
	char err[256] = "";
	time_t t = 0;

	ck_assert_msg(utctime_parse(s, &t, NULL, err, sizeof(err)) == 0,
		      "%s: %s", s, err);
	return t;
}

static const char *rfc(time_t t)
{
	static char buf[UTCTIME_BUFSZ];

	ck_assert_int_eq(utctime_format_rfc3339(t, buf, sizeof(buf)), 0);
	return buf;
}

/* Each input and the UTC instant it denotes, worked out by hand. */
static const struct {
	const char *in;
	const char *utc;
	long nsec;
} valid[] = {
	{ "2020-03-05T03:08:00Z", "2020-03-05T03:08:00Z", 0 },
	{ "2020-03-05t03:08:00z", "2020-03-05T03:08:00Z", 0 },
	{ "2020-03-05 03:08:00Z", "2020-03-05T03:08:00Z", 0 },
	{ "2020-03-05T03:08Z", "2020-03-05T03:08:00Z", 0 },
	{ "2020-03-05T12:08:00+09:00", "2020-03-05T03:08:00Z", 0 },
	{ "2020-03-05T12:08:00+0900", "2020-03-05T03:08:00Z", 0 },
	{ "2020-03-05T12:08:00+09", "2020-03-05T03:08:00Z", 0 },
	{ "2020-03-04T22:08:00-0500", "2020-03-05T03:08:00Z", 0 },
	{ "2020-03-04T22:08:00-05:00", "2020-03-05T03:08:00Z", 0 },
	{ "2020-03-05T08:38:00+05:30", "2020-03-05T03:08:00Z", 0 },
	{ "2020-03-05T03:08:00-00:00", "2020-03-05T03:08:00Z", 0 },
	{ "2020-03-05T03:08:00 +0000", "2020-03-05T03:08:00Z", 0 },
	{ "2020-03-05 03:08 UTC", "2020-03-05T03:08:00Z", 0 },
	{ "2020-03-05 03:08:00 UTC", "2020-03-05T03:08:00Z", 0 },
	/* the 2020 affected list (Go's time.Time.String()) */
	{ "2019-12-03 21:08:34.826011675 +0000 UTC", "2019-12-03T21:08:34Z",
	  826011675 },
	{ "2020-03-05T03:08:00.5Z", "2020-03-05T03:08:00Z", 500000000 },
	{ "2020-03-05T03:08:00.000000001+00:00", "2020-03-05T03:08:00Z", 1 },
	/* bare date is midnight UTC (BR 1.6.4) */
	{ "2020-03-05", "2020-03-05T00:00:00Z", 0 },
	/* offsets that cross a day, a month and a year */
	{ "2020-03-01T00:30:00+01:00", "2020-02-29T23:30:00Z", 0 },
	{ "2025-12-31T23:00:00-02:00", "2026-01-01T01:00:00Z", 0 },
	{ "2026-01-01T08:59:59+09:00", "2025-12-31T23:59:59Z", 0 },
	/* DST transition days, offsets as the local clock showed them */
	{ "2020-03-08T02:30:00-05:00", "2020-03-08T07:30:00Z", 0 },
	{ "2020-03-08T03:30:00-04:00", "2020-03-08T07:30:00Z", 0 },
	{ "2020-11-01T01:30:00-04:00", "2020-11-01T05:30:00Z", 0 },
	{ "2020-11-01T01:30:00-05:00", "2020-11-01T06:30:00Z", 0 },
	{ "2020-04-05T02:30:00+11:00", "2020-04-04T15:30:00Z", 0 },
	{ "2020-04-05T02:30:00+10:00", "2020-04-04T16:30:00Z", 0 },
	{ "2020-10-04T02:30:00+10:00", "2020-10-03T16:30:00Z", 0 },
	/* ends of months with 28, 29, 30 and 31 days */
	{ "2021-02-28T23:59:59Z", "2021-02-28T23:59:59Z", 0 },
	{ "2020-02-29T23:59:59Z", "2020-02-29T23:59:59Z", 0 },
	{ "2000-02-29", "2000-02-29T00:00:00Z", 0 },
	{ "2020-04-30T23:59:59Z", "2020-04-30T23:59:59Z", 0 },
	{ "2020-01-31T23:59:59Z", "2020-01-31T23:59:59Z", 0 },
	{ "0000-01-01T00:00:00Z", "0000-01-01T00:00:00Z", 0 },
	{ "9999-12-31T23:59:59Z", "9999-12-31T23:59:59Z", 0 },
};

START_TEST(parse_gives_the_hand_computed_utc)
{
	char err[256] = "";
	time_t t = 0;
	long nsec = -1;

	ck_assert_msg(
		utctime_parse(valid[_i].in, &t, &nsec, err, sizeof(err)) == 0,
		"%s: %s", valid[_i].in, err);
	ck_assert_str_eq(rfc(t), valid[_i].utc);
	ck_assert_int_eq(nsec, valid[_i].nsec);
}
END_TEST

START_TEST(parse_gives_known_epoch_seconds)
{
	ck_assert_int_eq(must_parse("2020-02-29T12:08:00+09:00"), 1582945680);
	ck_assert_int_eq(must_parse("2019-12-03 21:08:34.826011675 +0000 UTC"),
			 1575407314);
	ck_assert_int_eq(must_parse("1970-01-01"), 0);
	ck_assert_int_eq(must_parse("2020-03-08T02:30:00-05:00"), 1583652600);
	ck_assert_int_eq(must_parse("2020-04-05T02:30:00+11:00"), 1586014200);
}
END_TEST

/* Each rejected input and a word its message must contain. */
static const struct {
	const char *in;
	const char *why;
} invalid[] = {
	{ "", "empty" },
	{ "2020-02-30", "day 30" },
	{ "2021-02-29", "day 29" },
	{ "1900-02-29", "day 29" },
	{ "2020-04-31", "day 31" },
	{ "2020-00-10", "month 00" },
	{ "2020-13-01", "month 13" },
	{ "2020-03-05T24:00:00Z", "out of range" },
	{ "2020-03-05T24:00:01Z", "out of range" },
	{ "2020-03-05T23:60:00Z", "out of range" },
	{ "2016-12-31T23:59:60Z", "out of range" },
	{ "2020-03-05T03:08:00+25:00", "offset" },
	{ "2020-03-05T03:08:00+09:60", "offset" },
	{ "2020-03-05T03:08:00+9", "offset" },
	{ "2020-03-05T03:08:00", "missing UTC offset" },
	{ "2020-03-05T03:08", "missing UTC offset" },
	{ "2020-03-05T03:08:00Zjunk", "junk" },
	{ "2020-03-05T03:08:00Z ", "junk" },
	{ "2020-03-05x", "junk" },
	{ "2020-03-05 ", "hh:mm" },
	{ " 2020-03-05", "YYYY-MM-DD" },
	{ "20-03-05", "YYYY-MM-DD" },
	{ "2020-3-5", "YYYY-MM-DD" },
	{ "2020-03-05T03:08:00.Z", "fraction" },
	{ "2020-03-05T03:08:00.1234567890Z", "fraction" },
	{ "2020-03-05T03:08:00 +0900 UTC", "contradicts" },
	{ "2020-03-05T03:08:00  +0000", "missing UTC offset" },
	{ "0000-01-01T00:00:00+00:01", "0000-9999" },
	{ "9999-12-31T23:59:59-00:01", "0000-9999" },
};

START_TEST(invalid_input_is_rejected_with_the_input_quoted)
{
	char err[256] = "", quoted[128];
	time_t t = 12345;

	ck_assert_int_eq(
		utctime_parse(invalid[_i].in, &t, NULL, err, sizeof(err)), -1);
	ck_assert_int_eq(t, 12345); /* untouched on error */
	snprintf(quoted, sizeof(quoted), "\"%s\"", invalid[_i].in);
	ck_assert_msg(strstr(err, quoted) != NULL, "%s lacks %s", err, quoted);
	ck_assert_msg(strstr(err, invalid[_i].why) != NULL, "%s lacks %s", err,
		      invalid[_i].why);
}
END_TEST

START_TEST(error_buffer_may_be_absent_or_tiny)
{
	char err[8];
	time_t t;

	ck_assert_int_eq(utctime_parse("2020-02-30", &t, NULL, NULL, 0), -1);
	ck_assert_int_eq(utctime_parse("2020-02-30", &t, NULL, err, 1), -1);
	ck_assert_str_eq(err, "");
	ck_assert_int_eq(
		utctime_parse("2020-02-30", &t, NULL, err, sizeof(err)), -1);
	ck_assert_int_eq(strlen(err), sizeof(err) - 1);
}
END_TEST

START_TEST(long_and_binary_input_is_quoted_bounded_and_printable)
{
	char in[300], err[256];
	time_t t;

	memset(in, 'x', sizeof(in) - 1);
	in[sizeof(in) - 1] = '\0';
	in[0] = '\x1b';
	ck_assert_int_eq(utctime_parse(in, &t, NULL, err, sizeof(err)), -1);
	ck_assert_ptr_eq(strchr(err, '\x1b'), NULL);
	ck_assert_ptr_ne(strstr(err, "\"?xxx"), NULL);
	ck_assert_ptr_ne(strstr(err, "...\""), NULL);
}
END_TEST

/* aware_at + 5 days lands on the calendar day counted by hand. */
static const struct {
	const char *start;
	long long plus;
	const char *end;
} arith[] = {
	{ "2020-02-29T00:00:00Z", 5 * DAY, "2020-03-05T00:00:00Z" },
	{ "2024-02-29T12:00:00Z", 5 * DAY, "2024-03-05T12:00:00Z" },
	{ "2020-02-26T10:00:00Z", 5 * DAY, "2020-03-02T10:00:00Z" },
	{ "2021-02-26T10:00:00Z", 5 * DAY, "2021-03-03T10:00:00Z" },
	{ "2020-04-28T10:00:00Z", 5 * DAY, "2020-05-03T10:00:00Z" },
	{ "2020-01-29T10:00:00Z", 5 * DAY, "2020-02-03T10:00:00Z" },
	{ "2025-12-29T23:59:59Z", 5 * DAY, "2026-01-03T23:59:59Z" },
	{ "2020-02-29T03:08:00Z", DAY, "2020-03-01T03:08:00Z" },
	/* a New York DST day is still 86,400 s in UTC */
	{ "2020-03-08T02:30:00-05:00", DAY, "2020-03-09T07:30:00Z" },
	{ "2020-04-05T02:30:00+11:00", 5 * DAY, "2020-04-09T15:30:00Z" },
};

START_TEST(adding_days_crosses_leap_days_months_and_years)
{
	ck_assert_str_eq(rfc(must_parse(arith[_i].start) + arith[_i].plus),
			 arith[_i].end);
}
END_TEST

START_TEST(formats_are_utc_at_the_stated_granularity)
{
	char buf[UTCTIME_BUFSZ];
	time_t t = must_parse("2020-03-05T12:08:59+09:00");

	ck_assert_int_eq(utctime_format_rfc3339(t, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "2020-03-05T03:08:59Z");
	ck_assert_int_eq(utctime_format_short(t, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "2020-03-05 03:08 UTC");
	ck_assert_int_eq(utctime_format_long(t, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "2020-03-05 03:08:59 UTC");
}
END_TEST

START_TEST(formats_fail_on_small_buffers_and_out_of_range_times)
{
	char buf[UTCTIME_BUFSZ];

	ck_assert_int_eq(utctime_format_rfc3339(0, buf, 20), -1);
	ck_assert_int_eq(utctime_format_rfc3339(0, buf, 21), 0);
	ck_assert_str_eq(buf, "1970-01-01T00:00:00Z");
	ck_assert_int_eq(utctime_format_short(0, buf, 0), -1);
	ck_assert_int_eq(utctime_format_long(253402300800LL, buf, sizeof(buf)),
			 -1);
	ck_assert_int_eq(
		utctime_format_rfc3339(-62167219201LL, buf, sizeof(buf)), -1);
}
END_TEST

START_TEST(own_output_parses_back)
{
	char buf[UTCTIME_BUFSZ];
	time_t t = must_parse("2019-12-03 21:08:34.826011675 +0000 UTC");

	ck_assert_int_eq(utctime_format_long(t, buf, sizeof(buf)), 0);
	ck_assert_int_eq(must_parse(buf), t);
	ck_assert_int_eq(utctime_format_short(t, buf, sizeof(buf)), 0);
	ck_assert_int_eq(must_parse(buf), t - 34);
}
END_TEST

static const struct {
	long long s;
	const char *out;
} durations[] = {
	{ 0, "0m" },
	{ 59, "0m" },
	{ 60, "1m" },
	{ 7 * 60, "7m" },
	{ 2 * 3600 + 5 * 60, "2h 05m" },
	{ DAY + 3 * 3600 + 8 * 60, "1d 03h 08m" },
	{ -(2 * DAY + 20 * 3600 + 52 * 60), "2d 20h 52m" },
	{ 4 * DAY + 23 * 3600 + 12 * 60 + 59, "4d 23h 12m" },
	{ DAY, "1d 00h 00m" },
	{ 400 * DAY, "400d 00h 00m" },
	{ -9223372036854775807LL - 1, "106751991167300d 15h 30m" },
};

START_TEST(durations_truncate_to_minutes_and_drop_the_sign)
{
	char buf[UTCTIME_BUFSZ];

	ck_assert_int_eq(
		utctime_format_duration(durations[_i].s, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, durations[_i].out);
}
END_TEST

START_TEST(duration_fails_on_small_buffer)
{
	char buf[4];

	ck_assert_int_eq(utctime_format_duration(DAY, buf, sizeof(buf)), -1);
	ck_assert_int_eq(utctime_format_duration(60, buf, sizeof(buf)), 0);
}
END_TEST

/*
 * Run the valid table under several process time zones: the module must
 * give identical answers (it may never consult TZ).  Only the test calls
 * tzset().
 */
START_TEST(results_do_not_depend_on_the_process_time_zone)
{
	static const char *zones[] = { "Asia/Tokyo", "America/New_York",
				       "Australia/Sydney", "UTC" };
	time_t ref[sizeof(valid) / sizeof(valid[0])];
	char err[256];
	size_t i, z;

	setenv("TZ", "UTC", 1);
	tzset();
	for (i = 0; i < sizeof(valid) / sizeof(valid[0]); i++)
		ref[i] = must_parse(valid[i].in);
	for (z = 0; z < sizeof(zones) / sizeof(zones[0]); z++) {
		setenv("TZ", zones[z], 1);
		tzset();
		for (i = 0; i < sizeof(valid) / sizeof(valid[0]); i++) {
			time_t t;

			ck_assert_int_eq(utctime_parse(valid[i].in, &t, NULL,
						       err, sizeof(err)),
					 0);
			ck_assert_int_eq(t, ref[i]);
			ck_assert_str_eq(rfc(t), valid[i].utc);
		}
	}
	unsetenv("TZ");
	tzset();
}
END_TEST

static Suite *utctime_suite(void)
{
	Suite *s = suite_create("utctime");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, parse_gives_the_hand_computed_utc, 0,
			    sizeof(valid) / sizeof(valid[0]));
	tcase_add_test(tc, parse_gives_known_epoch_seconds);
	tcase_add_loop_test(tc, invalid_input_is_rejected_with_the_input_quoted,
			    0, sizeof(invalid) / sizeof(invalid[0]));
	tcase_add_test(tc, error_buffer_may_be_absent_or_tiny);
	tcase_add_test(tc,
		       long_and_binary_input_is_quoted_bounded_and_printable);
	tcase_add_loop_test(tc, adding_days_crosses_leap_days_months_and_years,
			    0, sizeof(arith) / sizeof(arith[0]));
	tcase_add_test(tc, formats_are_utc_at_the_stated_granularity);
	tcase_add_test(tc,
		       formats_fail_on_small_buffers_and_out_of_range_times);
	tcase_add_test(tc, own_output_parses_back);
	tcase_add_loop_test(tc, durations_truncate_to_minutes_and_drop_the_sign,
			    0, sizeof(durations) / sizeof(durations[0]));
	tcase_add_test(tc, duration_fails_on_small_buffer);
	tcase_add_test(tc, results_do_not_depend_on_the_process_time_zone);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(utctime_suite)
