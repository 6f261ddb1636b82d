/*
 * test_distinct.c - exact counts across in-memory and spilled runs.
 */
#include <stdio.h>

#include "certrecall/core/distinct.h"
#include "unit.h"

/* Runs of 1,000 hashes, so that small inputs spill to disk. */
static long long count_pattern(long n, long modulo)
{
	struct distinct *d = distinct_new_sized(1000);
	char name[32];
	long long c;

	for (long i = 0; i < n; i++) {
		int len = snprintf(name, sizeof(name), "h%ld.example",
				   i % modulo);

		ck_assert_int_eq(distinct_add(d, name, (size_t)len), 0);
	}
	c = distinct_count(d);
	distinct_free(d);
	return c;
}

START_TEST(empty_counts_zero)
{
	ck_assert_int_eq(count_pattern(0, 1), 0);
}
END_TEST

START_TEST(repeats_count_once_in_memory)
{
	ck_assert_int_eq(count_pattern(1000, 10), 10);
}
END_TEST

START_TEST(runs_spilled_to_disk_merge_exactly)
{
	/* 35,000 adds with 25,000 distinct: dozens of runs, and
	 * duplicates that straddle runs. */
	ck_assert_int_eq(count_pattern(35000, 25000), 25000);
}
END_TEST

START_TEST(mostly_duplicates_stay_in_memory)
{
	ck_assert_int_eq(count_pattern(300000, 400), 400);
}
END_TEST

START_TEST(default_size_counts_a_million)
{
	struct distinct *d = distinct_new();
	char name[32];

	for (long i = 0; i < 1200000; i++) {
		int len = snprintf(name, sizeof(name), "n%ld", i % 1100000);

		ck_assert_int_eq(distinct_add(d, name, (size_t)len), 0);
	}
	ck_assert_int_eq(distinct_count(d), 1100000);
	distinct_free(d);
}
END_TEST

START_TEST(hash_depends_on_every_byte)
{
	ck_assert(distinct_hash("a.example", 9) !=
		  distinct_hash("b.example", 9));
	ck_assert(distinct_hash("ab", 2) != distinct_hash("ba", 2));
	ck_assert(distinct_hash("", 0) != distinct_hash("\0", 1));
}
END_TEST

static Suite *distinct_suite(void)
{
	Suite *s = suite_create("distinct");
	TCase *tc = tcase_create("distinct");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, empty_counts_zero);
	tcase_add_test(tc, repeats_count_once_in_memory);
	tcase_add_test(tc, runs_spilled_to_disk_merge_exactly);
	tcase_add_test(tc, mostly_duplicates_stay_in_memory);
	tcase_add_test(tc, default_size_counts_a_million);
	tcase_add_test(tc, hash_depends_on_every_byte);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(distinct_suite)
