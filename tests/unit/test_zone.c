/*
 * test_zone.c - local times come from the zone given, not from TZ: IANA
 * names ICU knows are accepted, anything else refused (never taken for
 * UTC); daylight saving is applied by date; the context states UTC
 * always and local time only for a known zone.
 */
#include "certrecall/core/zone.h"
#include "unit.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static const struct {
	const char *tz;
	bool known;
} zones[] = {
	{ "Asia/Tokyo", true },
	{ "America/New_York", true },
	{ "UTC", true },
	{ "Europe/Berlin", true },
	{ "Mars/Olympus", false },
	{ "GMT+9", false },
	{ "", false },
	{ "asia/tokyo-ish", false },
	{ "Asia/Tokyo\nX", false },
};

START_TEST(only_zones_icu_knows_are_known)
{
	ck_assert_msg(zone_known(zones[_i].tz) == zones[_i].known, "%s",
		      zones[_i].tz);
}
END_TEST

/* 2020-03-05T03:08:00Z, 2020-07-01T12:00:00Z */
#define MARCH 1583377680
#define JULY 1593604800

static const struct {
	time_t t;
	const char *tz, *want;
} times[] = {
	{ MARCH, "Asia/Tokyo", "2020-03-05 12:08" },
	{ MARCH, "America/New_York", "2020-03-04 22:08" },
	{ JULY, "America/New_York", "2020-07-01 08:00" }, /* EDT */
	{ MARCH, "UTC", "2020-03-05 03:08" },
	{ MARCH, "Asia/Kolkata", "2020-03-05 08:38" },
};

START_TEST(local_times_ignore_tz)
{
	static const char *const tzs[] = { "America/New_York", "Asia/Tokyo",
					   "Pacific/Chatham" };
	char buf[64];

	for (size_t k = 0; k < 3; k++) {
		setenv("TZ", tzs[k], 1);
		tzset();
		ck_assert_int_eq(zone_format(times[_i].t, times[_i].tz, buf,
					     sizeof(buf)),
				 0);
		ck_assert_str_eq(buf, times[_i].want);
	}
	unsetenv("TZ");
	tzset();
}
END_TEST

START_TEST(the_context_has_utc_always_and_local_when_known)
{
	json_t *ctx = json_object(), *local;
	char buf[128];

	ck_assert_int_eq(zone_context(ctx, MARCH, MARCH - 4 * 86400, MARCH,
				      "Asia/Tokyo", "ja"),
			 0);
	ck_assert_str_eq(
		json_string_value(json_object_get(ctx, "deadline_utc")),
		"2020-03-05 03:08 UTC");
	ck_assert_str_eq(
		json_string_value(json_object_get(ctx, "should_by_utc")),
		"2020-03-01 03:08 UTC");
	local = json_object_get(ctx, "local");
	ck_assert(json_is_object(local));
	ck_assert_str_eq(json_string_value(json_object_get(local, "deadline")),
			 "2020-03-05 12:08");
	ck_assert_str_eq(json_string_value(json_object_get(local, "zone")),
			 "日本時間");
	ck_assert_int_eq(
		zone_context(ctx, MARCH, MARCH, MARCH, "Mars/Olympus", "en"),
		0);
	ck_assert(json_is_false(json_object_get(ctx, "local")));
	ck_assert_int_eq(zone_context(ctx, MARCH, MARCH, MARCH, NULL, "en"), 0);
	ck_assert(json_is_false(json_object_get(ctx, "local")));
	ck_assert_int_eq(zone_label("Asia/Tokyo", "en", buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "Japan Time");
	json_decref(ctx);
}
END_TEST

static Suite *zone_suite(void)
{
	Suite *s = suite_create("zone");
	TCase *tc = tcase_create("zone");

	tcase_add_loop_test(tc, only_zones_icu_knows_are_known, 0,
			    (int)(sizeof(zones) / sizeof(zones[0])));
	tcase_add_loop_test(tc, local_times_ignore_tz, 0,
			    (int)(sizeof(times) / sizeof(times[0])));
	tcase_add_test(tc, the_context_has_utc_always_and_local_when_known);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(zone_suite)
