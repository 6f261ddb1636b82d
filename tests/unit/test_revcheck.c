/*
 * test_revcheck.c - the round's exit code (revcheck_exit_code): refused
 * evidence is 65 even when other sources failed for now, transient
 * failures and failed database writes 75, certificates left without
 * usable evidence 65, else 0; each non-zero code is explained once on
 * stderr.
 */
#include <sysexits.h>

#include "certrecall/stage/revcheck.h"
#include "unit.h"

static const struct {
	const char *name;
	long long refused, transient, unanswered;
	int failed;
	int want;
	const char *says; /* on stderr, NULL: nothing */
} cases[] = {
	{ "every certificate answered", 0, 0, 0, 0, 0, NULL },
	{ "refused", 1, 0, 0, 0, EX_DATAERR, "1 answers or CRLs refused" },
	{ "refused wins over transient", 2, 3, 4, 1, EX_DATAERR,
	  "a retry will not fix them (exit 65)" },
	{ "transient", 0, 2, 5, 0, EX_TEMPFAIL, "2 answers or CRLs failed" },
	{ "a failed database write", 0, 0, 0, 1, EX_TEMPFAIL,
	  "run again (exit 75)" },
	{ "unanswered", 0, 0, 1, 0, EX_DATAERR,
	  "1 certificate got no usable evidence" },
	{ "unanswered, plural", 0, 0, 7, 0, EX_DATAERR,
	  "7 certificates got no usable evidence" },
};

START_TEST(exit_codes_follow_the_failures)
{
	struct revcheck_stats st = { .refused = cases[_i].refused,
				     .transient = cases[_i].transient,
				     .unanswered = cases[_i].unanswered,
				     .failed = cases[_i].failed };
	char *err;
	int rc;

	unit_capture_begin();
	rc = revcheck_exit_code(&st);
	err = unit_capture_end();
	ck_assert_msg(rc == cases[_i].want, "%s: got %d", cases[_i].name, rc);
	if (cases[_i].says == NULL)
		ck_assert_str_eq(err, "");
	else
		ck_assert_msg(strstr(err, cases[_i].says) != NULL,
			      "%s: stderr \"%s\"", cases[_i].name, err);
	free(err);
}
END_TEST

static Suite *revcheck_suite(void)
{
	Suite *s = suite_create("revcheck");
	TCase *tc = tcase_create("exit");

	tcase_add_loop_test(tc, exit_codes_follow_the_failures, 0,
			    sizeof(cases) / sizeof(cases[0]));
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(revcheck_suite)
