/*
 * test_verdict.c - each verdict is one table: the certificate verdict
 * over every ordering of its times, the deployment roll-up over every
 * combination of its facts, the probe verdict for every outcome the
 * engine reports, and sql/022_verdicts.sql carries the SQL text the
 * tables give.
 *
 *   test_verdict --sql          prints that SQL text (for a migration)
 *   test_verdict --table cert   prints the certificate table as CSV
 *   test_verdict --table deployment
 *                               prints the deployment table as CSV
 * tests/integration/034-verdicts.sh loads both tables and runs them
 * through every SQL path.
 */
#include "certrecall/base/embedded.h"
#include "certrecall/base/utctime.h"
#include "certrecall/core/verdict.h"
#include "certrecall/net/probe.h"
#include "unit.h"

#include <stdlib.h>
#include <string.h>

#define DAY 86400LL
#define U DEADLINE_UNSET
#define N(a) (sizeof(a) / sizeof((a)[0]))

/* 2020-03-05T03:08:00Z, the MUST-by of the 2020 CAA incident. */
#define MUST ((time_t)1583377680)

/* Per-certificate verdicts, times relative to MUST-by (U = unknown). */
static const struct {
	long long revoked, not_after, now;
	enum deadline_verdict v;
} verdicts[] = {
	{ 0, U, 10, DEADLINE_REVOKED_ON_TIME },
	{ -DAY, DAY, 10, DEADLINE_REVOKED_ON_TIME },
	{ 1, U, 10, DEADLINE_REVOKED_LATE },
	{ U, 0, 10, DEADLINE_EXPIRED },
	{ U, -DAY, -2 * DAY, DEADLINE_EXPIRED },
	{ U, 1, 0, DEADLINE_PENDING },
	{ U, U, -DAY, DEADLINE_PENDING },
	{ U, 1, 1, DEADLINE_OVERDUE },
	{ U, U, 1, DEADLINE_OVERDUE },
	{ U, 3600, DAY, DEADLINE_OVERDUE },
	/* replaying an earlier moment: the revocation has not happened */
	{ -1, U, -2, DEADLINE_PENDING },
	{ 2, U, 1, DEADLINE_OVERDUE },
	{ 0, -1, -2, DEADLINE_EXPIRED },
};

static time_t rel(long long off)
{
	return off == (long long)U ? U : MUST + (time_t)off;
}

START_TEST(certificate_verdict_follows_must_by)
{
	struct deadline_cert c = {
		.revoked_at = rel(verdicts[_i].revoked),
		.not_before = U,
		.not_after = rel(verdicts[_i].not_after),
	};

	ck_assert_str_eq(deadline_verdict_name(
				 verdict_cert(&c, MUST, rel(verdicts[_i].now))),
			 deadline_verdict_name(verdicts[_i].v));
}
END_TEST

/*
 * Every ordering of revoked_at, not_after and at around MUST-by (and of
 * revoked_at around at): one second and one day either side, unknown.
 */
static const long long offsets[] = { U, -DAY, -1, 0, 1, DAY };

/* The rules in words (docs/report.md), written as plainly as possible. */
static enum deadline_verdict spec(time_t revoked, time_t not_after, time_t must,
				  time_t now)
{
	int revoked_by_now = revoked != U && revoked <= now;

	if (revoked_by_now && revoked <= must)
		return DEADLINE_REVOKED_ON_TIME;
	if (revoked_by_now)
		return DEADLINE_REVOKED_LATE;
	if (not_after != U && not_after <= must)
		return DEADLINE_EXPIRED;
	return now <= must ? DEADLINE_PENDING : DEADLINE_OVERDUE;
}

START_TEST(certificate_verdict_is_exhaustively_the_rules)
{
	size_t n = 0, seen[5] = { 0 };

	for (size_t r = 0; r < N(offsets); r++)
		for (size_t a = 0; a < N(offsets); a++)
			for (size_t t = 1; t < N(offsets); t++) {
				struct deadline_cert c = {
					.revoked_at = rel(offsets[r]),
					.not_before = U,
					.not_after = rel(offsets[a]),
				};
				time_t now = rel(offsets[t]);
				enum deadline_verdict v =
					verdict_cert(&c, MUST, now);

				ck_assert_int_eq(v,
						 spec(c.revoked_at, c.not_after,
						      MUST, now));
				seen[v]++;
				n++;
			}
	ck_assert_uint_eq(n, 180);
	for (size_t v = 0; v < N(seen); v++)
		ck_assert_uint_gt(seen[v], 0);
}
END_TEST

START_TEST(deployment_rollup_is_exhaustively_the_rules)
{
	static const char *const want[8] = {
		/* unscanned served replaced */
		[0] = "unknown",     [1] = "not scanned", [2] = "deployed",
		[3] = "not scanned", [4] = "replaced",	  [5] = "not scanned",
		[6] = "deployed",    [7] = "not scanned",
	};

	for (int bits = 0; bits < 8; bits++)
		ck_assert_str_eq(report_deploy_name(verdict_deployment(
					 bits & 1, bits & 2, bits & 4)),
				 want[bits]);
}
END_TEST

START_TEST(probe_verdict_for_every_engine_outcome)
{
	/* What the scanner engine used to decide itself (net/probe.c). */
	static const enum classify_verdict want[] = {
		[PROBE_OK] = CLASSIFY_TLS_ERROR,
		[PROBE_TLS_ERROR] = CLASSIFY_TLS_ERROR,
		[PROBE_REFUSED] = CLASSIFY_REFUSED,
		[PROBE_TIMEOUT] = CLASSIFY_TIMEOUT,
		[PROBE_NXDOMAIN] = CLASSIFY_NXDOMAIN,
		[PROBE_DNS_ERROR] = CLASSIFY_DNS_ERROR,
		[PROBE_FILTERED] = CLASSIFY_FILTERED,
		[PROBE_STARTTLS_REFUSED] = CLASSIFY_STARTTLS_REFUSED,
		[PROBE_PROTOCOL_ERROR] = CLASSIFY_PROTOCOL_ERROR,
	};

	for (size_t o = 0; o < N(want); o++)
		ck_assert_str_eq(
			classify_verdict_name(verdict_probe(
				probe_outcome_name((enum probe_outcome)o))),
			classify_verdict_name(want[o]));
	/* one past the engine's last outcome has no name */
	ck_assert_str_eq(probe_outcome_name((enum probe_outcome)N(want)), "?");
	ck_assert_int_eq(verdict_probe("?"), CLASSIFY_TLS_ERROR);
}
END_TEST

static const char *migration(const char *name)
{
	for (size_t i = 0; i < embedded_migrations_count; i++) {
		if (strcmp(embedded_migrations[i].name, name) == 0)
			return embedded_migrations[i].data;
	}
	return NULL;
}

START_TEST(migration_carries_the_tables)
{
	const char *m = migration("022_verdicts");
	char buf[2048];

	ck_assert_ptr_nonnull(m);
	ck_assert_int_gt(verdict_cert_sql(buf, sizeof(buf)), 0);
	ck_assert_msg(strstr(m, buf) != NULL,
		      "sql/022_verdicts.sql: certificate_verdict() is not the "
		      "table; its body should read:\n%s",
		      buf);
	ck_assert_int_gt(verdict_deployment_sql(buf, sizeof(buf)), 0);
	ck_assert_msg(strstr(m, buf) != NULL,
		      "sql/022_verdicts.sql: deployment_verdict() is not the "
		      "table; its body should read:\n%s",
		      buf);
}
END_TEST

START_TEST(sql_text_too_long_for_the_buffer_is_an_error)
{
	char buf[2048];
	int n = verdict_cert_sql(buf, sizeof(buf));

	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(verdict_cert_sql(buf, (size_t)n), -1);
	ck_assert_int_eq(verdict_cert_sql(buf, (size_t)n + 1), n);
	ck_assert_int_eq(verdict_deployment_sql(buf, 0), -1);
	ck_assert_int_eq(verdict_deployment_sql(buf, 10), -1);
}
END_TEST

static Suite *verdict_suite(void)
{
	Suite *s = suite_create("verdict");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, certificate_verdict_follows_must_by, 0,
			    N(verdicts));
	tcase_add_test(tc, certificate_verdict_is_exhaustively_the_rules);
	tcase_add_test(tc, deployment_rollup_is_exhaustively_the_rules);
	tcase_add_test(tc, probe_verdict_for_every_engine_outcome);
	tcase_add_test(tc, migration_carries_the_tables);
	tcase_add_test(tc, sql_text_too_long_for_the_buffer_is_an_error);
	suite_add_tcase(s, tc);
	return s;
}

static void print_time(time_t t)
{
	char buf[UTCTIME_BUFSZ];

	if (t != U && utctime_format_rfc3339(t, buf, sizeof(buf)) == 0)
		fputs(buf, stdout);
}

/* revoked_at,not_after,must_by,at,verdict; unknown times empty. */
static void print_cert_table(void)
{
	for (size_t r = 0; r < N(offsets); r++)
		for (size_t a = 0; a < N(offsets); a++)
			for (size_t t = 1; t < N(offsets); t++) {
				struct deadline_cert c = {
					.revoked_at = rel(offsets[r]),
					.not_before = U,
					.not_after = rel(offsets[a]),
				};
				time_t now = rel(offsets[t]);

				print_time(c.revoked_at);
				putchar(',');
				print_time(c.not_after);
				putchar(',');
				print_time(MUST);
				putchar(',');
				print_time(now);
				printf(",%s\n",
				       deadline_verdict_name(
					       verdict_cert(&c, MUST, now)));
			}
}

/* unscanned,served,replaced,verdict: t, f, or empty (SQL NULL, which
 * callers' aggregates give over no rows: not holding). */
static void print_deployment_table(void)
{
	static const char *const v[3] = { "f", "t", "" };

	for (int u = 0; u < 3; u++)
		for (int s = 0; s < 3; s++)
			for (int r = 0; r < 3; r++)
				printf("%s,%s,%s,%s\n", v[u], v[s], v[r],
				       report_deploy_name(verdict_deployment(
					       u == 1, s == 1, r == 1)));
}

int main(int argc, char **argv)
{
	char buf[2048];

	if (argc == 2 && strcmp(argv[1], "--sql") == 0) {
		if (verdict_cert_sql(buf, sizeof(buf)) < 0)
			return 1;
		printf("-- certificate_verdict()\n\t%s\n", buf);
		if (verdict_deployment_sql(buf, sizeof(buf)) < 0)
			return 1;
		printf("-- deployment_verdict()\n\t%s\n", buf);
		return 0;
	}
	if (argc == 3 && strcmp(argv[1], "--table") == 0) {
		if (strcmp(argv[2], "cert") == 0)
			print_cert_table();
		else if (strcmp(argv[2], "deployment") == 0)
			print_deployment_table();
		else
			return 64;
		return 0;
	}
	SRunner *sr = srunner_create(verdict_suite());
	srunner_run_all(sr, CK_NORMAL);
	int run = srunner_ntests_run(sr);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	printf("unit-result: %d %d\n", run - failed, failed);
	return failed ? 1 : 0;
}
