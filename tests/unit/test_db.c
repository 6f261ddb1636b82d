/*
 * test_db.c - migrations against the real PostgreSQL that tests/run.sh
 * starts (CERTRECALL_TEST_PG).  Each test gets a database of its own.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "certrecall/core/deadline.h"
#include "certrecall/store/db.h"
#include "certrecall/store/dbq.h"
#include "certrecall/base/log.h"
#include "unit.h"

static char dbname[64];
static char conninfo[1024];

static struct db *admin(void)
{
	const char *pg = getenv("CERTRECALL_TEST_PG");
	struct db *db;

	ck_assert_msg(pg != NULL, "CERTRECALL_TEST_PG is not set: run the "
				  "unit tests through tests/run.sh");
	db = db_connect(pg, 10000, "certrecall-unit");
	ck_assert_ptr_nonnull(db);
	return db;
}

/* A fresh, empty database for one test. */
static void setup(void)
{
	static int seq;
	struct db *db = admin();
	char sql[160];

	snprintf(dbname, sizeof(dbname), "unit_db_%d_%d", (int)getpid(), ++seq);
	snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s", dbname);
	ck_assert_int_eq(db_exec(db, sql), 0);
	snprintf(sql, sizeof(sql), "CREATE DATABASE %s", dbname);
	ck_assert_int_eq(db_exec(db, sql), 0);
	db_close(db);
	/* In a conninfo string the last occurrence of a keyword wins. */
	snprintf(conninfo, sizeof(conninfo), "%s dbname=%s",
		 getenv("CERTRECALL_TEST_PG"), dbname);
}

static void teardown(void)
{
	struct db *db = admin();
	char sql[160];

	snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)",
		 dbname);
	ck_assert_int_eq(db_exec(db, sql), 0);
	db_close(db);
}

static long long count(struct db *db, const char *sql)
{
	PGresult *res = db_query(db, sql, 0, NULL);
	long long n;

	ck_assert_ptr_nonnull(res);
	n = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return n;
}

static const char m1_sql[] = "CREATE TABLE a (x int);";
static const char m2_sql[] =
	"CREATE TABLE b (y int); INSERT INTO a VALUES (1);";
static const char broken_sql[] = "CREATE TABLE c (z int);\n"
				 "INSERT INTO a VALUES (2);\n"
				 "SELEC oops;";

static const struct embedded_file good[] = {
	{ "001_a", m1_sql, sizeof(m1_sql) - 1 },
	{ "002_b", m2_sql, sizeof(m2_sql) - 1 },
};

START_TEST(applying_twice_changes_nothing)
{
	struct db *db = db_connect(conninfo, 10000, "unit");
	int applied = -1;

	ck_assert_ptr_nonnull(db);
	ck_assert_int_eq(db_migrate(db, good, 2, &applied), 0);
	ck_assert_int_eq(applied, 2);
	ck_assert_int_eq(db_migrate(db, good, 2, &applied), 0);
	ck_assert_int_eq(applied, 0);
	/* The data a migration inserted is there once, not twice. */
	ck_assert_int_eq(count(db, "SELECT count(*) FROM a"), 1);
	ck_assert_int_eq(count(db, "SELECT count(*) FROM schema_migrations"),
			 2);
	db_close(db);
}
END_TEST

START_TEST(broken_migration_rolls_back_whole)
{
	struct db *db = db_connect(conninfo, 10000, "unit");
	const struct embedded_file list[] = {
		good[0],
		{ "002_broken", broken_sql, sizeof(broken_sql) - 1 },
		good[1],
	};
	int applied = -1;
	char *log;
	int rc;

	ck_assert_ptr_nonnull(db);
	unit_capture_begin();
	rc = db_migrate(db, list, 3, &applied);
	log = unit_capture_end();
	ck_assert_int_eq(rc, -1);
	ck_assert_int_eq(applied, 1);
	ck_assert_ptr_nonnull(strstr(log, "migration 002_broken failed"));
	ck_assert_ptr_nonnull(strstr(log, "syntax error"));
	/* Nothing of the broken file stayed, and nothing after it ran. */
	ck_assert_int_eq(count(db, "SELECT count(*) FROM pg_tables "
				   "WHERE tablename IN ('b', 'c')"),
			 0);
	ck_assert_int_eq(count(db, "SELECT count(*) FROM a"), 0);
	ck_assert_int_eq(count(db, "SELECT count(*) FROM schema_migrations"),
			 1);
	/* The connection is usable after the failure. */
	ck_assert_int_eq(db_migrate(db, good, 2, &applied), 0);
	ck_assert_int_eq(applied, 1);
	free(log);
	db_close(db);
}
END_TEST

START_TEST(status_lists_pending_applied_changed_and_unknown)
{
	struct db *db = db_connect(conninfo, 10000, "unit");
	static const char changed_sql[] = "CREATE TABLE a (x bigint);";
	const struct embedded_file changed[] = {
		{ "001_a", changed_sql, sizeof(changed_sql) - 1 },
	};
	struct db_migration_state *st;
	size_t n;

	ck_assert_ptr_nonnull(db);
	ck_assert_int_eq(db_migration_status(db, good, 2, &st, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert(!st[0].applied && !st[1].applied);
	db_migration_states_free(st, n);

	ck_assert_int_eq(db_migrate(db, good, 2, NULL), 0);
	ck_assert_int_eq(db_migration_status(db, changed, 1, &st, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(st[0].name, "001_a");
	ck_assert(st[0].applied && st[0].modified);
	ck_assert_str_eq(st[1].name, "002_b");
	ck_assert(st[1].applied && st[1].unknown);
	ck_assert(st[1].applied_at > 1700000000);
	db_migration_states_free(st, n);
	db_close(db);
}
END_TEST

START_TEST(project_schema_applies_and_records_an_event)
{
	struct db *db = db_connect(conninfo, 10000, "unit");
	int applied = 0;

	ck_assert_ptr_nonnull(db);
	ck_assert_int_eq(db_migrate(db, embedded_migrations,
				    embedded_migrations_count, &applied),
			 0);
	ck_assert_int_eq(applied, (int)embedded_migrations_count);
	ck_assert_int_eq(count(db, "SELECT count(*) FROM event "
				   "WHERE kind = 'db.migrate'"),
			 1);
	ck_assert_int_eq(db_migrate(db, embedded_migrations,
				    embedded_migrations_count, &applied),
			 0);
	ck_assert_int_eq(applied, 0);
	/* No second event when nothing was applied. */
	ck_assert_int_eq(count(db, "SELECT count(*) FROM event"), 1);
	db_close(db);
}
END_TEST

START_TEST(parameters_are_never_pasted_into_sql)
{
	struct db *db = db_connect(conninfo, 10000, "unit");
	const char *evil = "x'); DROP TABLE a; --";
	PGresult *res;

	ck_assert_ptr_nonnull(db);
	ck_assert_int_eq(db_migrate(db, good, 1, NULL), 0);
	res = db_query(db, "SELECT $1::text", 1, &evil);
	ck_assert_ptr_nonnull(res);
	ck_assert_str_eq(PQgetvalue(res, 0, 0), evil);
	PQclear(res);
	ck_assert_int_eq(count(db, "SELECT count(*) FROM a"), 0);
	db_close(db);
}
END_TEST

/* db.c has its own "no time" (no deadline.h): it must stay the rules'. */
START_TEST(null_time_is_the_rules_unset_time)
{
	struct db *db = db_connect(conninfo, 10000, "unit");
	PGresult *res;
	char *text;

	ck_assert_ptr_nonnull(db);
	ck_assert(DB_NULL_TIME == DEADLINE_UNSET);
	ck_assert(DB_COPY_NULL_TIME == DEADLINE_UNSET);
	res = db_query(db, "SELECT NULL::bigint, 42::bigint, NULL::text, 'x'",
		       0, NULL);
	ck_assert_ptr_nonnull(res);
	ck_assert(db_get_time(res, 0, 0) == DEADLINE_UNSET);
	ck_assert(db_get_time(res, 0, 1) == 42);
	ck_assert_ptr_null(db_get1_text(res, 0, 2));
	text = db_get1_text(res, 0, 3);
	ck_assert_str_eq(text, "x");
	free(text);
	PQclear(res);
	db_close(db);
}
END_TEST

/* Times go through COPY as RFC 3339 UTC and come back the same. */
START_TEST(copy_times_round_trip)
{
	static const time_t times[] = { 0, 951782400, 1583377680,
					-62135596800LL, 253402300799LL };
	struct db *db = db_connect(conninfo, 10000, "unit");
	struct db_copy *c;
	PGresult *res;

	ck_assert_ptr_nonnull(db);
	ck_assert_int_eq(db_exec(db, "CREATE TABLE t (i int, at timestamptz)"),
			 0);
	c = db_copy_begin(db, "COPY t (i, at) FROM STDIN");
	ck_assert_ptr_nonnull(c);
	for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
		db_copy_llong(c, (long long)i);
		db_copy_time(c, times[i]);
		ck_assert_int_eq(db_copy_row_end(c), 0);
	}
	db_copy_llong(c, 99);
	db_copy_time(c, DB_COPY_NULL_TIME);
	ck_assert_int_eq(db_copy_row_end(c), 0);
	ck_assert_int_eq(db_copy_end(c, NULL, NULL), 0);
	res = db_query(
		db, "SELECT extract(epoch FROM at)::bigint FROM t ORDER BY i",
		0, NULL);
	ck_assert_ptr_nonnull(res);
	ck_assert_int_eq(PQntuples(res), 6);
	for (int i = 0; i < 5; i++)
		ck_assert(db_get_time(res, i, 0) == times[i]);
	ck_assert(db_get_time(res, 5, 0) == DB_NULL_TIME);
	PQclear(res);
	db_close(db);
}
END_TEST

/* A connection that is up stays up through db_reset. */
START_TEST(reset_reconnects)
{
	struct db *db = db_connect(conninfo, 10000, "unit");

	ck_assert_ptr_nonnull(db);
	ck_assert(db_ok(db));
	ck_assert(db_reset(db));
	ck_assert_int_eq(db_exec(db, "SELECT 1"), 0);
	db_close(db);
}
END_TEST

START_TEST(unreachable_server_is_an_error)
{
	struct db *db;
	char *log;

	unit_capture_begin();
	db = db_connect("host=/nonexistent-dir port=1 dbname=x", 1000, "unit");
	log = unit_capture_end();
	ck_assert_ptr_null(db);
	ck_assert_ptr_nonnull(strstr(log, "cannot connect to the database"));
	free(log);
}
END_TEST

static Suite *db_suite(void)
{
	Suite *s = suite_create("db");
	TCase *tc = tcase_create("migrations");

	log_set_level(LOG_LEVEL_WARN);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, applying_twice_changes_nothing);
	tcase_add_test(tc, broken_migration_rolls_back_whole);
	tcase_add_test(tc, status_lists_pending_applied_changed_and_unknown);
	tcase_add_test(tc, project_schema_applies_and_records_an_event);
	tcase_add_test(tc, parameters_are_never_pasted_into_sql);
	tcase_add_test(tc, null_time_is_the_rules_unset_time);
	tcase_add_test(tc, reset_reconnects);
	tcase_add_test(tc, copy_times_round_trip);
	tcase_add_test(tc, unreachable_server_is_an_error);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(db_suite)
