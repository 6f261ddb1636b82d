/*
 * test_deadline.c - the catalogue picks the BR text in force at aware_at,
 * clocks count exact 86,400 s days with the deadline second on time (the
 * per-certificate verdicts: test_verdict.c).
 */
#include "certrecall/core/deadline.h"
#include "certrecall/base/utctime.h"
#include "unit.h"

#include <stdlib.h>
#include <string.h>

#define DAY 86400LL

static time_t at(const char *s)
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

static const char *dur(long long s)
{
	static char buf[UTCTIME_BUFSZ];

	ck_assert_int_eq(utctime_format_duration(s, buf, sizeof(buf)), 0);
	return buf;
}

static struct deadline_rule resolve(const char *reason, time_t aware)
{
	struct deadline_rule r;
	char err[512] = "";

	ck_assert_msg(deadline_resolve(reason, aware, &r, err, sizeof(err)) ==
			      0,
		      "%s: %s", reason, err);
	return r;
}

static const struct deadline_clock *find(const struct deadline_clock *c, int n,
					 const char *id)
{
	int i;

	for (i = 0; i < n; i++) {
		if (strcmp(c[i].id, id) == 0)
			return &c[i];
	}
	return NULL;
}

/* The March 2020 CAA incident, checked at 2020-03-04T00:00:00Z. */
static void check_2020_incident(void)
{
	time_t aware = at("2020-02-29T12:08:00+09:00");
	struct deadline_rule r = resolve("v1.6.7:5d-7", aware);
	struct deadline_incident inc;
	struct deadline_progress p = { 1, 1000, DEADLINE_UNSET };
	struct deadline_clock c[DEADLINE_MAX_CLOCKS];
	const struct deadline_clock *k;
	char err[256];
	int n;

	ck_assert_str_eq(rfc(aware), "2020-02-29T03:08:00Z");
	ck_assert_str_eq(r.citation, "BR 4.9.1.1 (v1.6.7) 5-day list item 7");
	deadline_incident_init(&inc, aware);
	n = deadline_compute(&inc, &r, &p, at("2020-03-04T00:00:00Z"), c, err,
			     sizeof(err));
	/* The CCADB IRG clocks came with v2.0 (2023-10-17): BR clocks only. */
	ck_assert_int_eq(n, 2);

	k = find(c, n, "revoke-should");
	ck_assert_ptr_nonnull(k);
	ck_assert_str_eq(rfc(k->due), "2020-03-01T03:08:00Z");
	ck_assert_int_lt(k->remaining, 0);
	ck_assert_str_eq(dur(k->remaining), "2d 20h 52m");
	ck_assert_int_eq(k->state, DEADLINE_MISSED);
	ck_assert_ptr_nonnull(
		strstr(k->rule, "BR 4.9.1.1 (v1.6.7) 5-day list item 7"));
	ck_assert_str_eq(k->source, "BR 4.9.1.1 (v1.6.7)");
	ck_assert_str_eq(rfc(k->effective), "2019-12-19T00:00:00Z");
	ck_assert_str_eq(k->start_from, "aware_at");
	ck_assert_int_eq(k->start, aware);

	k = find(c, n, "revoke-must");
	ck_assert_ptr_nonnull(k);
	ck_assert_str_eq(rfc(k->due), "2020-03-05T03:08:00Z");
	ck_assert_int_gt(k->remaining, 0);
	ck_assert_str_eq(dur(k->remaining), "1d 03h 08m");
	ck_assert_int_eq(k->state, DEADLINE_OPEN);
	ck_assert_int_eq(k->done, 0);

	ck_assert_ptr_null(find(c, n, "ccadb-first-report"));
	ck_assert_ptr_null(find(c, n, "ccadb-full-report"));
}

START_TEST(incident_2020_gives_the_published_deadlines)
{
	check_2020_incident();
}
END_TEST

START_TEST(incident_2020_is_identical_in_tokyo_and_new_york)
{
	setenv("TZ", "Asia/Tokyo", 1);
	tzset();
	check_2020_incident();
	setenv("TZ", "America/New_York", 1);
	tzset();
	check_2020_incident();
	unsetenv("TZ");
	tzset();
}
END_TEST

/* A reason and aware_at, and the edition and window they resolve to. */
static const struct {
	const char *reason;
	const char *aware;
	const char *edition; /* as cited */
	const char *base;    /* edition whose text applies */
	const char *key;
	enum deadline_window window;
	int crlreason;
} good[] = {
	{ "v1.6.7:5d-7", "2025-01-01", "v1.6.7", "v1.6.7", "5d-7",
	  DEADLINE_WINDOW_SHOULD_24H_MUST_5D, DEADLINE_CRLREASON_NONE },
	{ "5d-7", "2020-02-29T03:08:00Z", "v1.6.7", "v1.6.7", "5d-7",
	  DEADLINE_WINDOW_SHOULD_24H_MUST_5D, DEADLINE_CRLREASON_NONE },
	{ "24h-3", "2021-06-01", "v1.6.7", "v1.6.7", "24h-3",
	  DEADLINE_WINDOW_SHALL_24H, DEADLINE_CRLREASON_NONE },
	{ "5d-1", "2022-11-29T23:59:59Z", "v1.8.4", "v1.8.4", "5d-1",
	  DEADLINE_WINDOW_SHOULD_24H_MUST_5D, DEADLINE_CRLREASON_NONE },
	{ "br-1", "2022-11-30T00:00:00Z", "v1.8.5", "v1.8.5", "br-1",
	  DEADLINE_WINDOW_SHALL_24H, DEADLINE_CRLREASON_NONE },
	{ "br-12", "2023-07-14T23:59:59Z", "v1.8.5", "v1.8.5", "br-12",
	  DEADLINE_WINDOW_SHOULD_24H_MUST_5D, DEADLINE_CRLREASON_NONE },
	{ "br-12", "2023-07-15T00:00:00Z", "v1.8.7", "v1.8.7", "br-12",
	  DEADLINE_WINDOW_SHOULD_24H_MUST_5D, 4 },
	{ "br-3", "2024-05-01", "v1.8.7", "v1.8.7", "br-3",
	  DEADLINE_WINDOW_SHALL_24H, 1 },
	{ "BR-9", "2024-05-01", "v1.8.7", "v1.8.7", "br-9",
	  DEADLINE_WINDOW_SHOULD_24H_MUST_5D, 5 },
	{ "br-5", "2026-03-31T00:00:00Z", "v2.2.6", "v2.2.6", "br-5",
	  DEADLINE_WINDOW_SHALL_24H, 4 },
	{ "current:br-12", "2020-02-29", "v2.2.6", "v2.2.6", "br-12",
	  DEADLINE_WINDOW_SHOULD_24H_MUST_5D, 4 },
	{ "v1.7.0:5d-7", "2030-01-01", "v1.7.0", "v1.6.7", "5d-7",
	  DEADLINE_WINDOW_SHOULD_24H_MUST_5D, DEADLINE_CRLREASON_NONE },
	{ "1.8.6:br-2", "2020-01-01", "v1.8.6", "v1.8.5", "br-2",
	  DEADLINE_WINDOW_SHALL_24H, DEADLINE_CRLREASON_NONE },
	{ "v2.0.0:br-2", "2020-01-01", "v2.0.0", "v1.8.7", "br-2",
	  DEADLINE_WINDOW_SHALL_24H, 9 },
	{ "ca", "2020-02-29", "v1.6.7", "v1.6.7", "ca",
	  DEADLINE_WINDOW_SHALL_7D, DEADLINE_CRLREASON_NONE },
	{ "current:ca", "2020-02-29", "v2.2.6", "v2.2.6", "ca",
	  DEADLINE_WINDOW_SHALL_7D, DEADLINE_CRLREASON_NONE },
};

START_TEST(every_edition_resolves_its_own_keys)
{
	struct deadline_rule r = resolve(good[_i].reason, at(good[_i].aware));
	char want[64];

	ck_assert_str_eq(r.edition_name, good[_i].edition);
	ck_assert_str_eq(r.edition->name, good[_i].base);
	ck_assert_str_eq(r.item->key, good[_i].key);
	ck_assert_int_eq(r.item->window, good[_i].window);
	ck_assert_int_eq(r.crlreason, good[_i].crlreason);
	ck_assert_int_eq(r.crlreason_name == NULL,
			 good[_i].crlreason == DEADLINE_CRLREASON_NONE);
	ck_assert_ptr_nonnull(r.text);
	snprintf(want, sizeof(want), "(%s)", good[_i].edition);
	ck_assert_ptr_nonnull(strstr(r.citation, want));
}
END_TEST

/* Reasons that must be refused, and what the message must say. */
static const struct {
	const char *reason;
	const char *aware;
	const char *says1;
	const char *says2;
} bad[] = {
	{ "br-12", "2020-02-29T03:08:00Z", "v1.6.7", "5d-7" },
	{ "br-5", "2022-11-29T23:59:59Z", "v1.8.4", "24h-4" },
	{ "5d-7", "2022-11-30T00:00:00Z", "v1.8.5", "br-12" },
	{ "5d-7", "2023-08-01", "v1.8.7", "br-12" },
	{ "24h-4", "2026-04-01", "v2.2.6", "br-5" },
	{ "v1.6.7:br-12", "2020-02-29", "v1.6.7", "5d-7" },
	{ "current:5d-7", "2020-02-29", "v2.2.6", "br-12" },
	{ "v1.5.0:5d-7", "2020-02-29", "edition", "v1.6.7" },
	{ "v2:br-1", "2024-01-01", "edition", "current" },
	{ "draft:br-1", "2024-01-01", "edition", "current" },
	{ "br-17", "2024-01-01", "unknown key", "br-1..br-16" },
	{ "5d-12", "2020-01-01", "unknown key", "5d-1..5d-11" },
	{ "", "2024-01-01", "unknown key", "ca" },
	{ "cpr", "2024-01-01", "reporting clock", "4.9.5" },
	{ "5d-7", "2019-12-18T23:59:59Z", "predates", "v1.6.7:5d-7" },
};

START_TEST(wrong_edition_and_unknown_keys_are_rejected)
{
	struct deadline_rule r;
	char err[512] = "", quoted[80];

	ck_assert_int_eq(deadline_resolve(bad[_i].reason, at(bad[_i].aware), &r,
					  err, sizeof(err)),
			 -1);
	snprintf(quoted, sizeof(quoted), "\"%s\"", bad[_i].reason);
	ck_assert_msg(strstr(err, quoted) != NULL, "%s lacks %s", err, quoted);
	ck_assert_msg(strstr(err, bad[_i].says1) != NULL, "%s lacks %s", err,
		      bad[_i].says1);
	ck_assert_msg(strstr(err, bad[_i].says2) != NULL, "%s lacks %s", err,
		      bad[_i].says2);
}
END_TEST

START_TEST(br5_text_differs_between_2020_and_2026)
{
	struct deadline_rule r;
	char note[512], err[256];

	ck_assert_int_eq(deadline_explain("br-5", at("2020-03-01"), &r, note,
					  sizeof(note), err, sizeof(err)),
			 0);
	ck_assert_str_eq(r.edition->name, "v1.6.7");
	ck_assert_str_eq(r.item->key, "24h-4");
	ck_assert_int_eq(r.crlreason, DEADLINE_CRLREASON_NONE);
	ck_assert_ptr_null(strstr(r.text, "CAA"));
	ck_assert_ptr_nonnull(strstr(note, "2020-03-01T00:00:00Z"));
	ck_assert_ptr_nonnull(strstr(note, "24-hour list item 4"));
	ck_assert_ptr_nonnull(strstr(note, "br-5 does not exist"));
	ck_assert_ptr_nonnull(strstr(note, "no CRLReason"));

	ck_assert_int_eq(deadline_explain("br-5", at("2026-04-01"), &r, note,
					  sizeof(note), err, sizeof(err)),
			 0);
	ck_assert_str_eq(r.edition->name, "v2.2.6");
	ck_assert_str_eq(r.item->key, "br-5");
	ck_assert_ptr_nonnull(strstr(r.text, "CAA"));
	ck_assert_ptr_nonnull(strstr(note, "SC095"));
	ck_assert_ptr_nonnull(strstr(note, "superseded (4)"));

	/* between SC61 and SC095: a CRLReason, but no CAA wording yet */
	ck_assert_int_eq(deadline_explain("br-5", at("2026-03-30T23:59:59Z"),
					  &r, note, sizeof(note), err,
					  sizeof(err)),
			 0);
	ck_assert_str_eq(r.edition->name, "v1.8.7");
	ck_assert_ptr_null(strstr(r.text, "CAA"));
	ck_assert_int_eq(r.crlreason, 4);
}
END_TEST

START_TEST(explain_maps_2020_keys_forward_and_refuses_junk)
{
	struct deadline_rule r;
	char note[512], err[256];

	ck_assert_int_eq(deadline_explain("5d-7", at("2024-01-01"), &r, note,
					  sizeof(note), err, sizeof(err)),
			 0);
	ck_assert_str_eq(r.item->key, "br-12");
	ck_assert_ptr_nonnull(strstr(note, "5d-7 does not exist"));
	ck_assert_int_eq(deadline_explain("v1.6.7:br-4", at("2024-01-01"), &r,
					  note, sizeof(note), err, sizeof(err)),
			 0);
	ck_assert_str_eq(r.item->key, "5d-11");
	ck_assert_ptr_nonnull(strstr(note, "as named"));
	ck_assert_int_eq(deadline_explain("cpr", at("2024-01-01"), &r, note,
					  sizeof(note), err, sizeof(err)),
			 0);
	ck_assert_str_eq(r.citation, "BR 4.9.5 (v1.8.7)");
	ck_assert_int_eq(deadline_explain("br-99", at("2024-01-01"), &r, note,
					  sizeof(note), err, sizeof(err)),
			 -1);
	ck_assert_ptr_nonnull(strstr(err, "\"br-99\""));
}
END_TEST

START_TEST(crlreason_exists_only_from_2023_07_15)
{
	const struct deadline_edition *ed;
	const struct deadline_item *it;
	struct deadline_rule r;
	size_t i, j;
	int listed = 0;

	for (i = 0; (ed = deadline_edition_get0(i)) != NULL; i++) {
		for (j = 0; (it = deadline_item_get0(j)) != NULL; j++) {
			if (deadline_rule_make(ed, it, &r) < 0)
				continue;
			listed++;
			if (it->numbering == DEADLINE_NUMBERING_MERGED &&
			    ed->effective >= at("2023-07-15"))
				ck_assert_int_ge(r.crlreason, 0);
			else
				ck_assert_int_eq(r.crlreason,
						 DEADLINE_CRLREASON_NONE);
		}
	}
	/* v1.6.7, v1.8.4: 4 + 11 + ca + cpr; three merged: 16 + ca + cpr */
	ck_assert_int_eq(listed, 2 * 17 + 3 * 18);
	ck_assert_ptr_null(deadline_edition_at(at("2019-12-18T23:59:59Z")));
	ck_assert_str_eq(deadline_edition_at(at("2019-12-19"))->name, "v1.6.7");
}
END_TEST

/* MUST-by = aware_at + the window, in exact days. */
static const struct {
	const char *reason;
	const char *aware;
	const char *should;
	const char *must;
} windows[] = {
	{ "5d-7", "2020-02-29T00:00:00Z", "2020-03-01T00:00:00Z",
	  "2020-03-05T00:00:00Z" },
	{ "br-12", "2024-02-29T10:00:00Z", "2024-03-01T10:00:00Z",
	  "2024-03-05T10:00:00Z" },
	{ "br-12", "2025-12-29T23:59:59Z", "2025-12-30T23:59:59Z",
	  "2026-01-03T23:59:59Z" },
	{ "br-12", "2023-02-24T12:00:00Z", "2023-02-25T12:00:00Z",
	  "2023-03-01T12:00:00Z" },
	{ "br-12", "2023-04-27T12:00:00Z", "2023-04-28T12:00:00Z",
	  "2023-05-02T12:00:00Z" },
	{ "br-12", "2023-01-28T12:00:00Z", "2023-01-29T12:00:00Z",
	  "2023-02-02T12:00:00Z" },
	{ "br-12", "2023-03-12T02:30:00-05:00", "2023-03-13T07:30:00Z",
	  "2023-03-17T07:30:00Z" },
	{ "br-12", "2023-04-02T02:30:00+11:00", "2023-04-02T15:30:00Z",
	  "2023-04-06T15:30:00Z" },
	{ "br-5", "2026-03-31T00:00:00Z", "2026-04-01T00:00:00Z",
	  "2026-04-01T00:00:00Z" },
	{ "ca", "2024-02-27T00:00:00Z", "2024-03-05T00:00:00Z",
	  "2024-03-05T00:00:00Z" },
};

START_TEST(windows_are_exact_days_across_calendar_edges)
{
	time_t aware = at(windows[_i].aware);
	struct deadline_rule r = resolve(windows[_i].reason, aware);

	ck_assert_str_eq(rfc(deadline_should_by(&r, aware)),
			 windows[_i].should);
	ck_assert_str_eq(rfc(deadline_must_by(&r, aware)), windows[_i].must);
}
END_TEST

#define NOLAST (-9223372036854775807LL - 1)

/* Revoke clock state for a 5-day rule, times relative to MUST-by. */
static const struct {
	const char *why;
	long long now;
	long long unrevoked;
	long long last; /* last revocation, or NOLAST */
	enum deadline_state state;
} revoke_cases[] = {
	{ "open before the deadline", -3600, 10, NOLAST, DEADLINE_OPEN },
	{ "the deadline second is still open", 0, 10, NOLAST, DEADLINE_OPEN },
	{ "one second later is missed", 1, 10, NOLAST, DEADLINE_MISSED },
	{ "revoked at the deadline second is met", 5, 0, 0, DEADLINE_MET },
	{ "revoked one second late is missed", 5, 0, 1, DEADLINE_MISSED },
	{ "done a day early is met before due", -DAY, 0, -2 * DAY,
	  DEADLINE_MET },
	{ "nothing revoked and nothing left is met", 10, 0, NOLAST,
	  DEADLINE_MET },
};

START_TEST(revoke_clock_deadline_second_is_on_time)
{
	time_t aware = at("2024-01-01T00:00:00Z");
	struct deadline_rule r = resolve("br-12", aware);
	time_t must = deadline_must_by(&r, aware);
	struct deadline_incident inc;
	struct deadline_progress p;
	struct deadline_clock c[DEADLINE_MAX_CLOCKS];
	const struct deadline_clock *k;
	char err[256];
	int n;

	deadline_incident_init(&inc, aware);
	p.has_certs = 1;
	p.unrevoked = revoke_cases[_i].unrevoked;
	p.last_revoked_at = revoke_cases[_i].last == NOLAST
				    ? DEADLINE_UNSET
				    : must + revoke_cases[_i].last;
	n = deadline_compute(&inc, &r, &p, must + revoke_cases[_i].now, c, err,
			     sizeof(err));
	k = find(c, n, "revoke-must");
	ck_assert_ptr_nonnull(k);
	ck_assert_int_eq(k->remaining, -revoke_cases[_i].now);
	ck_assert_msg(k->state == revoke_cases[_i].state, "%s: got %s",
		      revoke_cases[_i].why, deadline_state_name(k->state));
}
END_TEST

START_TEST(shall_24h_and_ca_rules_have_one_revoke_clock)
{
	time_t aware = at("2024-01-01T00:00:00Z");
	struct deadline_rule r24 = resolve("br-3", aware),
			     rca = resolve("ca", aware);
	struct deadline_incident inc;
	struct deadline_progress p = { 1, 5, DEADLINE_UNSET };
	struct deadline_clock c[DEADLINE_MAX_CLOCKS];
	const struct deadline_clock *k;
	char err[256];
	int n;

	deadline_incident_init(&inc, aware);
	n = deadline_compute(&inc, &r24, &p, aware, c, err, sizeof(err));
	ck_assert_ptr_null(find(c, n, "revoke-should"));
	k = find(c, n, "revoke-must");
	ck_assert_int_eq(k->due, aware + DAY);
	ck_assert_ptr_nonnull(strstr(k->rule, "BR 4.9.1.1 (v1.8.7) item 3"));
	n = deadline_compute(&inc, &rca, &p, aware, c, err, sizeof(err));
	ck_assert_ptr_null(find(c, n, "revoke-should"));
	k = find(c, n, "revoke-must");
	ck_assert_int_eq(k->due, aware + 7 * DAY);
	ck_assert_ptr_nonnull(strstr(k->rule, "BR 4.9.1.2"));
}
END_TEST

START_TEST(report_clocks_follow_their_done_times)
{
	time_t aware = at("2024-01-01T00:00:00Z");
	struct deadline_rule r = resolve("br-12", aware);
	struct deadline_incident inc;
	struct deadline_progress p = { 1, 0, aware + 3600 };
	struct deadline_clock c[DEADLINE_MAX_CLOCKS];
	const struct deadline_clock *k;
	char err[256];
	int n;

	deadline_incident_init(&inc, aware);
	n = deadline_compute(&inc, &r, &p, aware, c, err, sizeof(err));
	ck_assert_ptr_null(find(c, n, "cpr-preliminary"));

	inc.cpr_received_at = aware - 3600;
	inc.disclosed_at = aware + 2 * DAY;
	inc.first_report_at = aware + 3 * DAY; /* the due second: on time */
	n = deadline_compute(&inc, &r, &p, aware + 30 * DAY, c, err,
			     sizeof(err));
	k = find(c, n, "cpr-preliminary");
	ck_assert_ptr_nonnull(k);
	ck_assert_int_eq(k->due, aware - 3600 + DAY);
	ck_assert_int_eq(k->state, DEADLINE_MISSED);
	ck_assert_int_eq(find(c, n, "ccadb-first-report")->state, DEADLINE_MET);
	k = find(c, n, "ccadb-full-report");
	ck_assert_int_eq(k->due, aware + 16 * DAY);
	ck_assert_int_eq(k->state, DEADLINE_MISSED);

	inc.cpr_answered_at = aware - 3600 + DAY;
	inc.first_report_at = aware + 3 * DAY + 1;
	inc.full_report_at = aware + 16 * DAY;
	n = deadline_compute(&inc, &r, &p, aware + 30 * DAY, c, err,
			     sizeof(err));
	ck_assert_int_eq(find(c, n, "cpr-preliminary")->state, DEADLINE_MET);
	ck_assert_int_eq(find(c, n, "ccadb-first-report")->state,
			 DEADLINE_MISSED);
	ck_assert_int_eq(find(c, n, "ccadb-full-report")->state, DEADLINE_MET);
}
END_TEST

START_TEST(delayed_updates_start_after_must_by_and_count_from_last_update)
{
	time_t aware = at("2024-01-01T00:00:00Z");
	struct deadline_rule r = resolve("br-12", aware);
	time_t must = deadline_must_by(&r, aware);
	struct deadline_incident inc;
	struct deadline_progress p = { 1, 7, DEADLINE_UNSET };
	struct deadline_clock c[DEADLINE_MAX_CLOCKS];
	const struct deadline_clock *s, *m;
	char err[256];
	int n;

	deadline_incident_init(&inc, aware);
	n = deadline_compute(&inc, &r, &p, must, c, err, sizeof(err));
	ck_assert_ptr_null(find(c, n, "delayed-update-should"));

	n = deadline_compute(&inc, &r, &p, must + 1, c, err, sizeof(err));
	ck_assert_int_le(n, DEADLINE_MAX_CLOCKS);
	s = find(c, n, "delayed-update-should");
	m = find(c, n, "delayed-update-must");
	ck_assert_int_eq(s->due, must + 3 * DAY);
	ck_assert_int_eq(m->due, must + 7 * DAY);
	ck_assert_int_eq(s->state, DEADLINE_OPEN);

	n = deadline_compute(&inc, &r, &p, must + 4 * DAY, c, err, sizeof(err));
	ck_assert_int_eq(find(c, n, "delayed-update-should")->state,
			 DEADLINE_MISSED);
	ck_assert_int_eq(find(c, n, "delayed-update-must")->state,
			 DEADLINE_OPEN);

	inc.last_update_at = must + 2 * DAY;
	n = deadline_compute(&inc, &r, &p, must + 4 * DAY, c, err, sizeof(err));
	s = find(c, n, "delayed-update-should");
	ck_assert_int_eq(s->due, must + 5 * DAY);
	ck_assert_int_eq(s->state, DEADLINE_OPEN);
	ck_assert_int_eq(find(c, n, "delayed-update-must")->due,
			 must + 9 * DAY);

	p.unrevoked = 0;
	p.last_revoked_at = must + 3 * DAY;
	n = deadline_compute(&inc, &r, &p, must + 4 * DAY, c, err, sizeof(err));
	ck_assert_ptr_null(find(c, n, "delayed-update-should"));
	ck_assert_int_eq(find(c, n, "revoke-must")->state, DEADLINE_MISSED);
}
END_TEST

START_TEST(no_certificates_keeps_revoke_clocks_open)
{
	time_t aware = at("2024-01-01T00:00:00Z");
	struct deadline_rule r = resolve("br-12", aware);
	struct deadline_incident inc;
	struct deadline_progress p = { 0, 0, DEADLINE_UNSET };
	struct deadline_clock c[DEADLINE_MAX_CLOCKS];
	char err[256];
	int n;

	deadline_incident_init(&inc, aware);
	n = deadline_compute(&inc, &r, &p, aware + 30 * DAY, c, err,
			     sizeof(err));
	ck_assert_int_eq(find(c, n, "revoke-must")->state, DEADLINE_OPEN);
	ck_assert_int_eq(find(c, n, "revoke-should")->state, DEADLINE_OPEN);
	ck_assert_ptr_null(find(c, n, "delayed-update-must"));
}
END_TEST

START_TEST(compute_rejects_cpr_rule_and_missing_aware_at)
{
	time_t aware = at("2024-01-01T00:00:00Z");
	struct deadline_rule r;
	struct deadline_incident inc;
	struct deadline_progress p = { 1, 1, DEADLINE_UNSET };
	struct deadline_clock c[DEADLINE_MAX_CLOCKS];
	char note[512], err[256];

	ck_assert_int_eq(deadline_explain("cpr", aware, &r, note, sizeof(note),
					  err, sizeof(err)),
			 0);
	deadline_incident_init(&inc, aware);
	ck_assert_int_eq(
		deadline_compute(&inc, &r, &p, aware, c, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "cpr"));
	r = resolve("br-1", aware);
	deadline_incident_init(&inc, DEADLINE_UNSET);
	ck_assert_int_eq(
		deadline_compute(&inc, &r, &p, aware, c, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "aware_at"));
}
END_TEST

#define U DEADLINE_UNSET

/* Short-lived exemption (BR 1.6.1): validity counts both end seconds. */
static const struct {
	const char *not_before;
	long long last; /* not_after - not_before */
	int exempt;
} short_lived[] = {
	{ "2024-03-15T00:00:00Z", 10 * DAY - 1, 1 },
	{ "2024-03-15T00:00:00Z", 10 * DAY, 0 },
	{ "2024-03-14T23:59:59Z", DAY, 0 },
	{ "2026-03-14T23:59:59Z", 10 * DAY - 1, 1 },
	{ "2026-03-15T00:00:00Z", 10 * DAY - 1, 0 },
	{ "2026-03-15T00:00:00Z", 7 * DAY - 1, 1 },
	{ "2026-03-15T00:00:00Z", 7 * DAY, 0 },
};

START_TEST(short_lived_certificates_are_flagged_by_issue_date)
{
	struct deadline_cert c;

	c.revoked_at = U;
	c.not_before = at(short_lived[_i].not_before);
	c.not_after = c.not_before + short_lived[_i].last;
	ck_assert_int_eq(deadline_cert_short_lived(&c), short_lived[_i].exempt);
	c.not_after = U;
	ck_assert_int_eq(deadline_cert_short_lived(&c), 0);
}
END_TEST

START_TEST(names_are_the_documented_strings)
{
	ck_assert_str_eq(deadline_verdict_name(DEADLINE_REVOKED_ON_TIME),
			 "revoked-on-time");
	ck_assert_str_eq(deadline_verdict_name(DEADLINE_REVOKED_LATE),
			 "revoked-late");
	ck_assert_str_eq(deadline_verdict_name(DEADLINE_EXPIRED), "expired");
	ck_assert_str_eq(deadline_verdict_name(DEADLINE_PENDING), "pending");
	ck_assert_str_eq(deadline_verdict_name(DEADLINE_OVERDUE), "overdue");
	ck_assert_str_eq(deadline_verdict_name((enum deadline_verdict)99), "?");
	ck_assert_str_eq(deadline_state_name(DEADLINE_OPEN), "open");
	ck_assert_str_eq(deadline_state_name(DEADLINE_MET), "met");
	ck_assert_str_eq(deadline_state_name(DEADLINE_MISSED), "missed");
}
END_TEST

/*
 * BR 4.9.5: the period from receipt of a problem report to revocation must
 * not exceed the 4.9.1.1 window, so the revocation clocks start at the
 * earlier of aware_at and cpr_received_at.  Times relative to aware_at.
 */
static const struct {
	const char *why;
	const char *reason;
	long long cpr; /* cpr_received_at - aware_at, or NOLAST for none */
	long long should, must; /* due - aware_at */
} starts[] = {
	{ "no report: aware_at", "br-3", NOLAST, DAY, DAY },
	{ "report 10 h before aware_at moves the 24 h MUST", "br-3", -10 * 3600,
	  14 * 3600, 14 * 3600 },
	{ "report before aware_at moves SHOULD and MUST", "br-12", -DAY, 0,
	  4 * DAY },
	{ "report after aware_at: aware_at stays the start", "br-12", 3600, DAY,
	  5 * DAY },
	{ "report at aware_at: same start", "br-12", 0, DAY, 5 * DAY },
	{ "BR 4.9.1.2 (CA certificates) is not tied to 4.9.5", "ca", -DAY,
	  7 * DAY, 7 * DAY },
};

START_TEST(problem_report_before_aware_starts_revocation_clocks)
{
	time_t aware = at("2024-01-01T10:00:00Z");
	struct deadline_rule r = resolve(starts[_i].reason, aware);
	struct deadline_incident inc;
	struct deadline_progress p = { 1, 5, DEADLINE_UNSET };
	struct deadline_clock c[DEADLINE_MAX_CLOCKS];
	const struct deadline_clock *k;
	char err[256];
	int n;

	deadline_incident_init(&inc, aware);
	if (starts[_i].cpr != NOLAST)
		inc.cpr_received_at = aware + starts[_i].cpr;
	n = deadline_compute(&inc, &r, &p, aware, c, err, sizeof(err));
	ck_assert_int_gt(n, 0);
	k = find(c, n, "revoke-must");
	ck_assert_ptr_nonnull(k);
	ck_assert_msg(k->due == aware + starts[_i].must, "%s: MUST %s",
		      starts[_i].why, rfc(k->due));
	k = find(c, n, "revoke-should");
	if (r.item->window == DEADLINE_WINDOW_SHOULD_24H_MUST_5D) {
		ck_assert_ptr_nonnull(k);
		ck_assert_msg(k->due == aware + starts[_i].should,
			      "%s: SHOULD %s", starts[_i].why, rfc(k->due));
	}
}
END_TEST

/* The BR text of 2022-04-23..2022-11-29 is v1.8.4, still 2020 numbering. */
START_TEST(edition_from_2022_04_23_is_v1_8_4)
{
	const struct deadline_edition *ed;

	ed = deadline_edition_at(at("2022-04-22T23:59:59Z"));
	ck_assert_str_ne(ed->name, "v1.8.4");
	ed = deadline_edition_at(at("2022-04-23T00:00:00Z"));
	ck_assert_str_eq(ed->name, "v1.8.4");
	ck_assert_int_eq(ed->numbering, DEADLINE_NUMBERING_2020);
	ed = deadline_edition_at(at("2022-11-29T23:59:59Z"));
	ck_assert_str_eq(ed->name, "v1.8.4");
	ed = deadline_edition_at(at("2022-11-30T00:00:00Z"));
	ck_assert_str_eq(ed->name, "v1.8.5");
	ck_assert_str_eq(resolve("5d-7", at("2022-06-01")).edition_name,
			 "v1.8.4");
}
END_TEST

/*
 * A clock applies only to incidents from the day its source took effect:
 * the CCADB IRG clocks (v2.0, 2023-10-17) not to the March 2020 incident.
 */
static const struct {
	const char *aware;
	const char *id;
	int present;
} in_force[] = {
	{ "2020-02-29T03:08:00Z", "ccadb-first-report", 0 },
	{ "2020-02-29T03:08:00Z", "ccadb-full-report", 0 },
	{ "2020-02-29T03:08:00Z", "revoke-must", 1 },
	{ "2023-10-16T23:59:59Z", "ccadb-first-report", 0 },
	{ "2023-10-17T00:00:00Z", "ccadb-first-report", 1 },
	{ "2023-10-17T00:00:00Z", "ccadb-full-report", 1 },
};

START_TEST(clocks_do_not_apply_before_their_source_took_effect)
{
	time_t aware = at(in_force[_i].aware);
	struct deadline_rule r =
		resolve(aware < at("2022-11-30") ? "5d-7" : "br-12", aware);
	struct deadline_incident inc;
	struct deadline_progress p = { 1, 5, DEADLINE_UNSET };
	struct deadline_clock c[DEADLINE_MAX_CLOCKS];
	char err[256];
	int n;

	deadline_incident_init(&inc, aware);
	n = deadline_compute(&inc, &r, &p, aware + 30 * DAY, c, err,
			     sizeof(err));
	ck_assert_int_gt(n, 0);
	ck_assert_msg((find(c, n, in_force[_i].id) != NULL) ==
			      in_force[_i].present,
		      "%s at %s: want %s", in_force[_i].id, in_force[_i].aware,
		      in_force[_i].present ? "present" : "absent");
}
END_TEST

START_TEST(every_clock_names_its_source_and_effective_date)
{
	time_t aware = at("2024-01-01T00:00:00Z");
	struct deadline_rule r = resolve("br-12", aware);
	struct deadline_comment cm = { aware + DAY, DEADLINE_UNSET };
	struct deadline_incident inc;
	struct deadline_progress p = { 1, 5, DEADLINE_UNSET };
	struct deadline_clock c[DEADLINE_MAX_CLOCKS];
	const struct deadline_clock_def *def;
	char err[256];
	int n;

	deadline_incident_init(&inc, aware);
	inc.cpr_received_at = aware + 3600;
	inc.comments = &cm;
	inc.ncomments = 1;
	n = deadline_compute(&inc, &r, &p, aware + 30 * DAY, c, err,
			     sizeof(err));
	/* every clock of the catalogue at once */
	ck_assert_int_eq(n, 8);
	for (int i = 0; i < n; i++) {
		ck_assert_msg(c[i].source[0] != '\0', "%s has no source",
			      c[i].id);
		ck_assert_msg(strncmp(c[i].rule, c[i].source,
				      strlen(c[i].source)) == 0,
			      "%s: rule %s does not start with %s", c[i].id,
			      c[i].rule, c[i].source);
		ck_assert_int_le(c[i].effective, aware);
		ck_assert_ptr_nonnull(c[i].start_from);
	}
	ck_assert_str_eq(find(c, n, "cpr-preliminary")->source,
			 "BR 4.9.5 (v1.8.7)");
	ck_assert_str_eq(rfc(find(c, n, "revoke-must")->effective),
			 "2023-07-15T00:00:00Z");
	ck_assert_str_eq(find(c, n, "ccadb-first-report")->source,
			 "CCADB IRG v2.0");
	ck_assert_str_eq(rfc(find(c, n, "ccadb-comment-answer")->effective),
			 "2023-10-17T00:00:00Z");
	ck_assert_str_eq(find(c, n, "delayed-update-must")->start_from,
			 "must_by");
	/* the catalogue knows the same clocks, in the same order */
	for (size_t i = 0; (def = deadline_clock_def_get0(i)) != NULL; i++) {
		ck_assert_int_lt(i, n);
		ck_assert_str_eq(def->id, c[i].id);
		ck_assert_int_eq(deadline_clock_def_in_force(
					 def, at("2023-10-16T23:59:59Z")),
				 def->effective == 0);
	}
}
END_TEST

/*
 * CCADB IRG: answer each comment within 7 days.  Times relative to the
 * first comment, 2024-02-01T00:00:00Z; U: not answered.
 */
#define CM_U ((long long)INT64_MIN)
static const struct {
	const char *why;
	long long c1, a1, c2, a2; /* c2 CM_U: one comment only */
	long long now;
	const char *due; /* NULL: no clock */
	enum deadline_state state;
	int done;
} comments[] = {
	{ "no comment yet at now: no clock", 0, CM_U, CM_U, CM_U, -1, NULL,
	  DEADLINE_OPEN, 0 },
	{ "unanswered: 7 days", 0, CM_U, CM_U, CM_U, DAY,
	  "2024-02-08T00:00:00Z", DEADLINE_OPEN, 0 },
	{ "the 7th day's last second is on time", 0, CM_U, CM_U, CM_U, 7 * DAY,
	  "2024-02-08T00:00:00Z", DEADLINE_OPEN, 0 },
	{ "unanswered after 7 days is missed", 0, CM_U, CM_U, CM_U, 7 * DAY + 1,
	  "2024-02-08T00:00:00Z", DEADLINE_MISSED, 0 },
	{ "answered in time is met", 0, 7 * DAY, CM_U, CM_U, 9 * DAY,
	  "2024-02-08T00:00:00Z", DEADLINE_MET, 1 },
	{ "answered late is missed but done", 0, 7 * DAY + 1, CM_U, CM_U,
	  9 * DAY, "2024-02-08T00:00:00Z", DEADLINE_MISSED, 1 },
	{ "an answer after now has not happened yet", 0, 5 * DAY, CM_U, CM_U,
	  2 * DAY, "2024-02-08T00:00:00Z", DEADLINE_OPEN, 0 },
	{ "the oldest open comment decides", 0, CM_U, 2 * DAY, CM_U, 3 * DAY,
	  "2024-02-08T00:00:00Z", DEADLINE_OPEN, 0 },
	{ "an answered one leaves the next open one", 0, DAY, 2 * DAY, CM_U,
	  3 * DAY, "2024-02-10T00:00:00Z", DEADLINE_OPEN, 0 },
	{ "all answered: the latest comment", 0, DAY, 2 * DAY, 3 * DAY,
	  20 * DAY, "2024-02-10T00:00:00Z", DEADLINE_MET, 1 },
	{ "all answered, one late: missed", 0, 8 * DAY, 2 * DAY, 3 * DAY,
	  20 * DAY, "2024-02-08T00:00:00Z", DEADLINE_MISSED, 1 },
};

START_TEST(comments_are_answered_within_7_days)
{
	time_t aware = at("2024-01-31T00:00:00Z");
	time_t t0 = at("2024-02-01T00:00:00Z");
	struct deadline_rule r = resolve("br-12", aware);
	struct deadline_comment cm[2];
	struct deadline_incident inc;
	struct deadline_progress p = { 0, 0, DEADLINE_UNSET };
	struct deadline_clock c[DEADLINE_MAX_CLOCKS];
	const struct deadline_clock *k;
	char err[256];
	int n;

#define REL(v) ((v) == CM_U ? DEADLINE_UNSET : t0 + (v))
	deadline_incident_init(&inc, aware);
	cm[0] = (struct deadline_comment){ REL(comments[_i].c1),
					   REL(comments[_i].a1) };
	cm[1] = (struct deadline_comment){ REL(comments[_i].c2),
					   REL(comments[_i].a2) };
#undef REL
	inc.comments = cm;
	inc.ncomments = comments[_i].c2 == CM_U ? 1 : 2;
	n = deadline_compute(&inc, &r, &p, t0 + comments[_i].now, c, err,
			     sizeof(err));
	k = find(c, n, "ccadb-comment-answer");
	if (comments[_i].due == NULL) {
		ck_assert_msg(k == NULL, "%s", comments[_i].why);
		return;
	}
	ck_assert_msg(k != NULL, "%s: no clock", comments[_i].why);
	ck_assert_msg(strcmp(rfc(k->due), comments[_i].due) == 0, "%s: due %s",
		      comments[_i].why, rfc(k->due));
	ck_assert_msg(k->state == comments[_i].state, "%s: %s",
		      comments[_i].why, deadline_state_name(k->state));
	ck_assert_msg(k->done == comments[_i].done, "%s: done %d",
		      comments[_i].why, k->done);
	ck_assert_str_eq(k->start_from, "comment");
}
END_TEST

START_TEST(done_means_fulfilled_by_now)
{
	time_t aware = at("2024-01-01T00:00:00Z");
	struct deadline_rule r = resolve("br-3", aware);
	struct deadline_incident inc;
	struct deadline_progress p = { 1, 0, aware + 2 * DAY };
	struct deadline_clock c[DEADLINE_MAX_CLOCKS];
	const struct deadline_clock *k;
	char err[256];
	int n;

	deadline_incident_init(&inc, aware);
	inc.first_report_at = aware + 4 * DAY;
	n = deadline_compute(&inc, &r, &p, aware + 5 * DAY, c, err,
			     sizeof(err));
	k = find(c, n, "revoke-must");
	ck_assert_int_eq(k->state, DEADLINE_MISSED); /* revoked late */
	ck_assert_int_eq(k->done, 1);
	k = find(c, n, "ccadb-first-report");
	ck_assert_int_eq(k->state, DEADLINE_MISSED); /* reported late */
	ck_assert_int_eq(k->done, 1);
	/* replayed before the report was made: missed and not done */
	n = deadline_compute(&inc, &r, &p, aware + 3 * DAY + 1, c, err,
			     sizeof(err));
	k = find(c, n, "ccadb-first-report");
	ck_assert_int_eq(k->state, DEADLINE_MISSED);
	ck_assert_int_eq(k->done, 0);
	n = deadline_compute(&inc, &r, &p, aware + 2 * DAY, c, err,
			     sizeof(err));
	ck_assert_int_eq(find(c, n, "ccadb-first-report")->state,
			 DEADLINE_OPEN);
}
END_TEST

static Suite *deadline_suite(void)
{
	Suite *s = suite_create("deadline");
	TCase *tc = tcase_create("core");

#define N(a) (sizeof(a) / sizeof((a)[0]))
	tcase_add_test(tc, incident_2020_gives_the_published_deadlines);
	tcase_add_test(tc, incident_2020_is_identical_in_tokyo_and_new_york);
	tcase_add_loop_test(tc, every_edition_resolves_its_own_keys, 0,
			    N(good));
	tcase_add_loop_test(tc, wrong_edition_and_unknown_keys_are_rejected, 0,
			    N(bad));
	tcase_add_test(tc, br5_text_differs_between_2020_and_2026);
	tcase_add_test(tc, explain_maps_2020_keys_forward_and_refuses_junk);
	tcase_add_test(tc, crlreason_exists_only_from_2023_07_15);
	tcase_add_loop_test(tc, windows_are_exact_days_across_calendar_edges, 0,
			    N(windows));
	tcase_add_loop_test(tc, revoke_clock_deadline_second_is_on_time, 0,
			    N(revoke_cases));
	tcase_add_test(tc, shall_24h_and_ca_rules_have_one_revoke_clock);
	tcase_add_test(tc, report_clocks_follow_their_done_times);
	tcase_add_test(
		tc,
		delayed_updates_start_after_must_by_and_count_from_last_update);
	tcase_add_test(tc, no_certificates_keeps_revoke_clocks_open);
	tcase_add_test(tc, compute_rejects_cpr_rule_and_missing_aware_at);
	tcase_add_loop_test(tc,
			    short_lived_certificates_are_flagged_by_issue_date,
			    0, N(short_lived));
	tcase_add_test(tc, names_are_the_documented_strings);
	tcase_add_loop_test(
		tc, problem_report_before_aware_starts_revocation_clocks, 0,
		N(starts));
	tcase_add_test(tc, edition_from_2022_04_23_is_v1_8_4);
	tcase_add_loop_test(tc,
			    clocks_do_not_apply_before_their_source_took_effect,
			    0, N(in_force));
	tcase_add_test(tc, every_clock_names_its_source_and_effective_date);
	tcase_add_loop_test(tc, comments_are_answered_within_7_days, 0,
			    N(comments));
	tcase_add_test(tc, done_means_fulfilled_by_now);
#undef N
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(deadline_suite)
