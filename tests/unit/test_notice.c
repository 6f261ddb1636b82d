/*
 * test_notice.c - who gets which kind of notice, for every combination
 * of the facts the rule reads, in C and as the SQL planning runs (the
 * same table; tests/integration/007-notice-selection.sh runs the SQL
 * against a database); what every SMTP answer makes of a notice after
 * every number of attempts; the reply kept; the template context; the
 * parts of a long notice.
 *
 * `test_notice --selection-table` prints the C rule for every
 * combination, for the integration test to compare the database with.
 */
#include "certrecall/core/config.h"
#include "certrecall/core/deadline.h"
#include "certrecall/core/notice.h"
#include "unit.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* ---- selection ---------------------------------------------------- */

/*
 * The specification, one row per combination of the facts (revoked,
 * expired, scanned, replaced): does initial / reminder / revoked go?
 * "replaced" without "scanned" cannot happen in the database (the
 * verdict needs a scan round), and the rule ignores it.
 */
static const struct {
	bool revoked, expired, scanned, replaced;
	bool initial, reminder, revoked_kind;
} selection[] = {
	/* rev    exp    scan   repl    initial reminder revoked */
	{ false, false, false, false, true, true, false },
	{ false, false, false, true, true, true, false },
	{ false, false, true, false, true, true, false },
	{ false, false, true, true, true, false, false },
	{ false, true, false, false, true, false, false },
	{ false, true, false, true, true, false, false },
	{ false, true, true, false, true, false, false },
	{ false, true, true, true, true, false, false },
	{ true, false, false, false, true, false, true },
	{ true, false, false, true, true, false, true },
	{ true, false, true, false, true, false, true },
	{ true, false, true, true, true, false, true },
	{ true, true, false, false, true, false, true },
	{ true, true, false, true, true, false, true },
	{ true, true, true, false, true, false, true },
	{ true, true, true, true, true, false, true },
};
#define NSELECTION (sizeof(selection) / sizeof(selection[0]))

START_TEST(every_combination_of_facts_selects_the_kinds_specified)
{
	struct notice_cert_facts f = {
		selection[_i].revoked,
		selection[_i].expired,
		selection[_i].scanned,
		selection[_i].replaced,
	};

	ck_assert_int_eq(notice_cert_selected("initial", &f),
			 selection[_i].initial);
	ck_assert_int_eq(notice_cert_selected("reminder", &f),
			 selection[_i].reminder);
	ck_assert_int_eq(notice_cert_selected("revoked", &f),
			 selection[_i].revoked_kind);
	ck_assert(!notice_cert_selected("final", &f));
	ck_assert(!notice_cert_selected("", &f));
}
END_TEST

START_TEST(the_table_covers_every_combination_once)
{
	bool seen[16] = { false };

	ck_assert_uint_eq(NSELECTION, 16);
	for (size_t i = 0; i < NSELECTION; i++) {
		unsigned k = (unsigned)selection[i].revoked << 3 |
			     (unsigned)selection[i].expired << 2 |
			     (unsigned)selection[i].scanned << 1 |
			     (unsigned)selection[i].replaced;

		ck_assert(!seen[k]);
		seen[k] = true;
	}
}
END_TEST

START_TEST(reminders_skip_hard_bounced_addresses_and_only_they)
{
	ck_assert(notice_address_selected("initial", false));
	ck_assert(notice_address_selected("initial", true));
	ck_assert(notice_address_selected("reminder", false));
	ck_assert(!notice_address_selected("reminder", true));
	ck_assert(notice_address_selected("revoked", false));
	ck_assert(notice_address_selected("revoked", true));
	ck_assert(!notice_address_selected("final", false));
}
END_TEST

/* The SQL planning ran before the rule had one definition, verbatim:
 * generated from the table, it is the same statement. */
START_TEST(the_generated_sql_is_the_planning_sql)
{
	char buf[1024];

	ck_assert_int_eq(notice_cert_filter_sql("initial", buf, sizeof(buf)),
			 0);
	ck_assert_str_eq(buf, "");
	ck_assert_int_eq(notice_cert_filter_sql("revoked", buf, sizeof(buf)),
			 0);
	ck_assert_str_eq(buf, " AND revoked_at IS NOT NULL");
	ck_assert_int_eq(notice_cert_filter_sql("reminder", buf, sizeof(buf)),
			 0);
	ck_assert_str_eq(buf, " AND revoked_at IS NULL"
			      " AND (not_after IS NULL OR not_after > "
			      "certrecall_now())"
			      " AND (NOT EXISTS (SELECT 1 FROM scan_target st"
			      " WHERE st.incident_id = $1 AND st.round > 0)"
			      " OR (SELECT verdict FROM "
			      "certificate_scan_verdict_inline("
			      "incident_id, serial, names, issuer_name, sha256,"
			      " is_precert)) <> 'replaced')");
	ck_assert_int_eq(notice_address_filter_sql("initial", buf, sizeof(buf)),
			 0);
	ck_assert_str_eq(buf, "");
	ck_assert_int_eq(notice_address_filter_sql("revoked", buf, sizeof(buf)),
			 0);
	ck_assert_str_eq(buf, "");
	ck_assert_int_eq(
		notice_address_filter_sql("reminder", buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, " AND NOT EXISTS (SELECT 1 FROM"
			      " unreachable_address u WHERE u.incident_id = $1"
			      " AND u.address = e)");
}
END_TEST

START_TEST(sql_that_does_not_fit_or_an_unknown_kind_is_an_error)
{
	char buf[40];

	ck_assert_int_eq(notice_cert_filter_sql("reminder", buf, sizeof(buf)),
			 -1);
	ck_assert_int_eq(notice_cert_filter_sql("revoked", buf, 27), -1);
	ck_assert_int_eq(notice_cert_filter_sql("revoked", buf, 28), 0);
	ck_assert_int_eq(notice_cert_filter_sql("initial", buf, 1), 0);
	ck_assert_int_eq(notice_cert_filter_sql("initial", buf, 0), -1);
	ck_assert_int_eq(notice_cert_filter_sql("final", buf, sizeof(buf)), -1);
	ck_assert_int_eq(
		notice_address_filter_sql("reminder", buf, sizeof(buf)), -1);
	ck_assert_int_eq(notice_address_filter_sql("final", buf, sizeof(buf)),
			 -1);
}
END_TEST

START_TEST(the_kinds_are_three)
{
	ck_assert_str_eq(notice_kind_name(0), "initial");
	ck_assert_str_eq(notice_kind_name(1), "reminder");
	ck_assert_str_eq(notice_kind_name(2), "revoked");
	ck_assert_ptr_null(notice_kind_name(3));
	ck_assert(notice_kind_valid("reminder"));
	ck_assert(!notice_kind_valid("Reminder"));
	ck_assert(!notice_kind_valid("reminders"));
	ck_assert(!notice_kind_valid(""));
}
END_TEST

/* ---- outcomes ----------------------------------------------------- */

/* Every reply code class, at its edges. */
static const int codes[] = { 0,	  1,   199, 200, 220, 250, 251, 299,
			     300, 354, 399, 400, 421, 450, 451, 452,
			     499, 500, 550, 552, 554, 599, 600, 999 };

/* The specification: sent on 2xx, failed on 5xx and up or at the last
 * attempt, else retried. */
static enum notice_outcome expected_outcome(int code, int attempts, int max)
{
	if (code / 100 == 2)
		return NOTICE_SENT;
	if (code / 100 >= 5)
		return NOTICE_FAILED;
	return attempts >= max ? NOTICE_FAILED : NOTICE_RETRY;
}

START_TEST(every_answer_after_every_attempt_has_the_outcome_specified)
{
	for (size_t c = 0; c < sizeof(codes) / sizeof(codes[0]); c++) {
		for (int max = 1; max <= 10; max++) {
			for (int a = 1; a <= 11; a++) {
				long long wait;
				enum notice_outcome o = notice_outcome_of(
					codes[c], a, max, 1000, &wait);

				ck_assert_msg(
					o == expected_outcome(codes[c], a, max),
					"code %d attempt %d of %d: %s",
					codes[c], a, max,
					notice_outcome_name(o));
			}
		}
	}
}
END_TEST

/* The wait doubles per earlier attempt, up to a day. */
static const struct {
	long long base;
	int attempts;
	long long wait;
} backoffs[] = {
	{ 1000, 1, 1000 },	    { 1000, 2, 2000 },
	{ 1000, 3, 4000 },	    { 1000, 8, 128000 },
	{ 1000, 17, 65536000 },	    { 1000, 18, 86400000 },
	{ 1000, 1000, 86400000 },   { 60000, 1, 60000 },
	{ 60000, 11, 61440000 },    { 60000, 12, 86400000 },
	{ 100000000, 1, 86400000 }, { 1, 0, 1 },
	{ 86400000, 2, 86400000 },
};

START_TEST(the_backoff_doubles_up_to_a_day)
{
	long long wait = -1;

	(void)notice_outcome_of(451, backoffs[_i].attempts, 1000000,
				backoffs[_i].base, &wait);
	ck_assert_int_eq(wait, backoffs[_i].wait);
}
END_TEST

START_TEST(outcomes_are_named_as_the_notice_states)
{
	ck_assert_str_eq(notice_outcome_name(NOTICE_SENT), "sent");
	ck_assert_str_eq(notice_outcome_name(NOTICE_FAILED), "failed");
	ck_assert_str_eq(notice_outcome_name(NOTICE_RETRY), "retry");
}
END_TEST

START_TEST(the_reply_kept_is_one_printable_line)
{
	char buf[256], small[12];

	notice_reply_text(buf, sizeof(buf), 250, "2.0.0 ok\r\nsecond line");
	ck_assert_str_eq(buf, "250 2.0.0 ok");
	notice_reply_text(buf, sizeof(buf), 0, NULL);
	ck_assert_str_eq(buf, "0 (no reply)");
	notice_reply_text(buf, sizeof(buf), 451, "");
	ck_assert_str_eq(buf, "451 (no reply)");
	notice_reply_text(buf, sizeof(buf), 550, "bad\tbyte \xc3\xa9");
	ck_assert_str_eq(buf, "550 bad?byte ??");
	notice_reply_text(small, sizeof(small), 550, "5.1.1 mailbox gone");
	ck_assert_str_eq(small, "550 5.1.1 m");
}
END_TEST

/* ---- the run ------------------------------------------------------ */

START_TEST(a_claim_fits_in_half_a_lease_at_the_rate)
{
	/* batch, rate, lease_ms, connections -> claim */
	ck_assert_int_eq(notice_claim_size(200, 0, 600000, 4), 200);
	ck_assert_int_eq(notice_claim_size(200, 10, 600000, 4), 200);
	ck_assert_int_eq(notice_claim_size(200, 1, 60000, 4), 7);
	ck_assert_int_eq(notice_claim_size(200, 1, 1000, 4), 1);
	ck_assert_int_eq(notice_claim_size(5, 1000, 600000, 1), 5);
}
END_TEST

START_TEST(a_draft_is_named_by_id_and_safe_address)
{
	struct notice n;
	char path[64];

	notice_init(&n, 42, "Bob.O'Neil+x@Example.org", "[]", 0);
	ck_assert_int_eq(notice_file_name("drafts", &n, path, sizeof(path)), 0);
	ck_assert_str_eq(path, "drafts/00000042-_ob.___eil_x@_xample.org.eml");
	ck_assert_int_eq(notice_file_name("drafts", &n, path, 20), -1);
	ck_assert_int_eq(notice_file_name("a-directory-name-too-long-here", &n,
					  path, 36),
			 -1);
	notice_release(&n);
}
END_TEST

/* ---- one notice --------------------------------------------------- */

START_TEST(accounts_are_listed_as_given)
{
	struct notice n;

	notice_init(&n, 7, "a@example.org", "[\"acct-1\", \"b, \\\"c\\\"\"]",
		    2);
	ck_assert_int_eq(n.id, 7);
	ck_assert_int_eq(n.attempts, 2);
	ck_assert_str_eq(n.address, "a@example.org");
	ck_assert_str_eq(n.accounts, "acct-1, b, \"c\"");
	ck_assert_uint_eq(json_array_size(n.account_list), 2);
	ck_assert_str_eq(json_string_value(json_object_get(
				 json_array_get(n.account_list, 1), "id")),
			 "b, \"c\"");
	notice_release(&n);
	ck_assert_ptr_null(n.address);
}
END_TEST

/* A notice of the CAA incident (BR v1.6.7, 5 days) with ncert
 * certificates, composed at 2020-03-01T00:00:00Z. */
#define AWARE 1582945680 /* 2020-02-29T03:08:00Z */
#define NOW 1583020800	 /* 2020-03-01T00:00:00Z */

struct fixture {
	struct config *cfg;
	struct notice_common c;
	struct notice n;
};

static void fixture_init(struct fixture *f, const char *kind, size_t ncert,
			 const char *max_listed, const char *max_bytes)
{
	struct deadline_rule rule;
	char err[256];
	time_t must;

	f->cfg = config_new();
	ck_assert_int_eq(config_set(f->cfg, "mailer.from",
				    "Example CA <ca@example.com>", "test"),
			 0);
	ck_assert_int_eq(
		config_set(f->cfg, "mailer.max_listed", max_listed, "test"), 0);
	ck_assert_int_eq(config_set(f->cfg, "mailer.max_message_bytes",
				    max_bytes, "test"),
			 0);
	ck_assert_int_eq(
		deadline_resolve("v1.6.7:5d-7", AWARE, &rule, err, sizeof(err)),
		0);
	must = deadline_must_by(&rule, AWARE);
	ck_assert_int_eq(notice_common_load(&f->c, f->cfg, "caa-2020",
					    "CAA rechecking bug", kind, &rule,
					    must, must),
			 0);
	notice_init(&f->n, 12, "ops@example.org", "[\"acct-1\"]", 0);
	f->n.certs = json_array();
	for (size_t i = 0; i < ncert; i++) {
		char serial[32], names[64];

		ck_assert_int_lt(
			snprintf(serial, sizeof(serial), "%04zx", i + 4096),
			(int)sizeof(serial));
		ck_assert_int_lt(snprintf(names, sizeof(names),
					  "host%zu.example.org", i),
				 (int)sizeof(names));
		json_array_append_new(f->n.certs,
				      notice_cert_new("acct-1", serial, names,
						      true, NOW + 86400, false,
						      0, "deployed"));
	}
}

static void fixture_release(struct fixture *f)
{
	notice_release(&f->n);
	notice_common_release(&f->c);
	config_free(f->cfg);
}

START_TEST(a_certificate_keeps_its_fields_and_lists_as_an_object)
{
	static const char *const keys[] = { "account",	 "serial",     "names",
					    "not_after", "revoked_at", "scan" };
	static const char *const want[] = {
		"acct \"1\", b",	   "04ab",    "a.example b.example",
		"2020-03-05 03:08:00 UTC", "unknown", "not scanned"
	};
	json_t *cert =
		notice_cert_new("acct \"1\", b", "04ab", "a.example b.example",
				true, 1583377680, false, 0, "not scanned");
	json_t *o = notice_cert_object(cert);
	const char *f[NOTICE_CERT_FIELDS];
	const char *key;
	json_t *v;
	size_t i = 0;

	ck_assert_ptr_nonnull(cert);
	notice_cert_fields(cert, f);
	for (size_t k = 0; k < NOTICE_CERT_FIELDS; k++)
		ck_assert_str_eq(f[k], want[k]);
	/* the template's object: the keys in this order */
	json_object_foreach(o, key, v)
	{
		ck_assert_uint_lt(i, NOTICE_CERT_FIELDS);
		ck_assert_str_eq(key, keys[i]);
		ck_assert_str_eq(json_string_value(v), want[i]);
		i++;
	}
	ck_assert_uint_eq(i, NOTICE_CERT_FIELDS);
	json_decref(o);
	json_decref(cert);
	/* as the object's JSON strings were: UTF-8 or nothing */
	ck_assert_ptr_null(notice_cert_new("acct\xff", "04ab", "a.example",
					   false, 0, false, 0, "not scanned"));
}
END_TEST

START_TEST(the_context_counts_the_certificates_listed_and_not)
{
	struct fixture f;
	json_t *ctx;

	fixture_init(&f, "initial", 5, "3", "10485760");
	ctx = notice_context_new(&f.c, &f.n, NOW);
	ck_assert_ptr_nonnull(ctx);
	ck_assert_str_eq(json_string_value(json_object_get(
				 json_object_get(ctx, "incident"), "slug")),
			 "caa-2020");
	ck_assert_str_eq(json_string_value(json_object_get(ctx, "address")),
			 "ops@example.org");
	ck_assert_str_eq(
		json_string_value(json_object_get(ctx, "account_list")),
		"acct-1");
	ck_assert_int_eq(
		json_integer_value(json_object_get(ctx, "certificate_count")),
		5);
	ck_assert_int_eq(
		json_integer_value(json_object_get(ctx, "listed_count")), 3);
	ck_assert_int_eq(
		json_integer_value(json_object_get(ctx, "unlisted_count")), 2);
	ck_assert_uint_eq(json_array_size(json_object_get(ctx, "certificates")),
			  3);
	ck_assert(json_is_true(json_object_get(ctx, "attachment")));
	ck_assert_ptr_null(json_object_get(ctx, "part"));
	/* the deadline words are compose_time_context's */
	ck_assert_ptr_nonnull(json_object_get(ctx, "remaining"));
	ck_assert_str_eq(json_string_value(json_object_get(ctx, "state")),
			 "before-should");
	json_decref(ctx);
	fixture_release(&f);
}
END_TEST

START_TEST(a_short_list_needs_no_attachment)
{
	struct fixture f;
	json_t *ctx;

	fixture_init(&f, "revoked", 2, "100", "10485760");
	ctx = notice_context_new(&f.c, &f.n, NOW);
	ck_assert(json_is_false(json_object_get(ctx, "attachment")));
	ck_assert_int_eq(
		json_integer_value(json_object_get(ctx, "unlisted_count")), 0);
	ck_assert_str_eq(json_string_value(json_object_get(ctx, "state")),
			 "revoked");
	json_decref(ctx);
	ck_assert_int_eq(notice_compose(&f.c, &f.n, NOW), 0);
	ck_assert_uint_eq(f.n.nparts, 1);
	ck_assert_ptr_nonnull(strstr(f.n.message, "\r\nTo: ops@example.org"));
	ck_assert_str_eq(f.n.message_id,
			 "certrecall.caa-2020.revoked.12@example.com");
	fixture_release(&f);
}
END_TEST

START_TEST(a_long_notice_goes_in_parts_that_fit)
{
	struct fixture f;
	size_t total = 0;

	fixture_init(&f, "initial", 400, "5", "8192");
	ck_assert_int_eq(notice_compose(&f.c, &f.n, NOW), 0);
	ck_assert_uint_gt(f.n.nparts, 1);
	for (size_t i = 0; i < f.n.nparts; i++) {
		size_t len;
		const char *m = notice_part(&f.n, i, &len);
		char want[64];

		ck_assert_uint_le(len, 8192);
		ck_assert_int_lt(snprintf(want, sizeof(want),
					  "(part %zu of %zu)", i + 1,
					  f.n.nparts),
				 (int)sizeof(want));
		ck_assert_ptr_nonnull(strstr(m, want));
		total += len;
	}
	ck_assert_uint_eq(notice_bytes(&f.n), total);
	ck_assert_uint_eq(json_array_size(f.n.certs), 400);
	fixture_release(&f);
}
END_TEST

/* ---- for the integration test ------------------------------------- */

/* One line per combination: revoked expired scanned replaced, then
 * initial reminder revoked, as 0/1, from the C rule. */
static void print_selection_table(void)
{
	for (unsigned k = 0; k < 16; k++) {
		struct notice_cert_facts f = { k & 8, k & 4, k & 2, k & 1 };

		printf("%d %d %d %d", f.revoked, f.expired, f.scanned,
		       f.replaced);
		for (size_t i = 0; i < NOTICE_NKINDS; i++)
			printf(" %d",
			       notice_cert_selected(notice_kind_name(i), &f));
		printf("\n");
	}
}

static Suite *notice_suite(void)
{
	Suite *s = suite_create("notice");
	TCase *tc = tcase_create("notice");

	tcase_add_loop_test(
		tc, every_combination_of_facts_selects_the_kinds_specified, 0,
		(int)NSELECTION);
	tcase_add_test(tc, the_table_covers_every_combination_once);
	tcase_add_test(tc, reminders_skip_hard_bounced_addresses_and_only_they);
	tcase_add_test(tc, the_generated_sql_is_the_planning_sql);
	tcase_add_test(tc,
		       sql_that_does_not_fit_or_an_unknown_kind_is_an_error);
	tcase_add_test(tc, the_kinds_are_three);
	tcase_add_test(
		tc, every_answer_after_every_attempt_has_the_outcome_specified);
	tcase_add_loop_test(tc, the_backoff_doubles_up_to_a_day, 0,
			    (int)(sizeof(backoffs) / sizeof(backoffs[0])));
	tcase_add_test(tc, outcomes_are_named_as_the_notice_states);
	tcase_add_test(tc, the_reply_kept_is_one_printable_line);
	tcase_add_test(tc, a_claim_fits_in_half_a_lease_at_the_rate);
	tcase_add_test(tc, a_draft_is_named_by_id_and_safe_address);
	tcase_add_test(tc, accounts_are_listed_as_given);
	tcase_add_test(tc,
		       a_certificate_keeps_its_fields_and_lists_as_an_object);
	tcase_add_test(tc, the_context_counts_the_certificates_listed_and_not);
	tcase_add_test(tc, a_short_list_needs_no_attachment);
	tcase_add_test(tc, a_long_notice_goes_in_parts_that_fit);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}

static int unit_main(void)
{
	SRunner *sr = srunner_create(notice_suite());
	int run, failed;

	srunner_run_all(sr, CK_NORMAL);
	run = srunner_ntests_run(sr);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	printf("unit-result: %d %d\n", run - failed, failed);
	return failed ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "--selection-table") == 0) {
		print_selection_table();
		return 0;
	}
	return unit_main();
}
