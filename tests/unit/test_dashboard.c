/*
 * test_dashboard.c - the on-call screen on hand-built reports: no line is
 * wider than the screen at any width, whatever the data (long titles,
 * long activity details, long words); words are never cut; clocks take
 * their colour from their urgency, and there is no escape at all without
 * colour; scan failures are never coverage.
 */
#include "certrecall/core/dashboard.h"
#include "unit.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

/* 2020-02-29T03:08:00Z: the 2020 CAA incident's aware_at. */
#define AWARE ((time_t)1582945680)
#define HOUR 3600

static const char *const stage_names[REPORT_NSTAGES] = {
	"import", "scan", "notify", "revcheck", "report",
};

/* A report as report_store_gather() would fill it, at aware + hours. */
static struct report *make(long long certs, int hours)
{
	struct report *r = calloc(1, sizeof(*r));
	struct deadline_progress prog = { 1, 0, DEADLINE_UNSET };
	char err[128];

	ck_assert_ptr_nonnull(r);
	r->slug = strdup("caa-2020");
	r->title = strdup("CAA rechecking bug: certificates issued without "
			  "a valid CAA check in the 30 days before issuance");
	r->reason = strdup("v1.6.7:5d-7");
	r->organization = strdup("");
	ck_assert_int_eq(
		deadline_resolve(r->reason, AWARE, &r->rule, err, sizeof(err)),
		0);
	deadline_incident_init(&r->dates, AWARE);
	r->at = AWARE + (time_t)hours * HOUR;
	r->should_by = deadline_should_by(&r->rule, AWARE);
	r->must_by = deadline_must_by(&r->rule, AWARE);
	r->certificates = certs;
	r->still_valid = certs;
	r->by_verdict[r->at <= r->must_by ? DEADLINE_PENDING
					  : DEADLINE_OVERDUE] = certs;
	prog.has_certs = certs > 0;
	prog.unrevoked = certs;
	r->nclocks = deadline_compute(&r->dates, &r->rule, &prog, r->at,
				      r->clocks, err, sizeof(err));
	ck_assert_int_ge(r->nclocks, 2);
	r->deploy[REPORT_NOT_SCANNED] = certs;
	r->deploy_unrevoked[REPORT_NOT_SCANNED] = certs;
	r->first_sent_at = r->last_sent_at = DEADLINE_UNSET;
	r->first_revoked_at = r->last_revoked_at = DEADLINE_UNSET;
	r->latest_scan_at = DEADLINE_UNSET;
	for (int i = 0; i < REPORT_NSTAGES; i++) {
		r->stages[i].name = stage_names[i];
		r->stages[i].at = DEADLINE_UNSET;
	}
	r->stages[0].at = AWARE + 2 * HOUR;
	r->stages[0].detail = strdup(
		"import.certificates: new 3048289, lines 3048290, names "
		"6670, no_name 0, present 0, records 3048289, rejects 0, "
		"accounts 1017335, contacts 1017335, replaced 0, duplicates "
		"0, odd_serials 0, skipped_names 0, distinct_names 6670, "
		"ca_certificates 0, other_pem_blocks 0, "
		"accounts_without_email 97, "
		"file=/var/lib/certrecall/incoming/"
		"caa-rechecking-incident-affected-serials-and-names-"
		"as-published-on-2020-03-03.txt.gz");
	return r;
}

static char *render(const struct report *r, int width, bool color)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(dashboard_write(r, f, width, color), 0);
	fclose(f);
	return buf;
}

/* Widest line in columns, escapes and UTF-8 continuation bytes aside. */
static int widest(const char *s)
{
	int w = 0, max = 0;

	for (; *s; s++) {
		if (*s == '\n') {
			w = 0;
			continue;
		}
		if (*s == '\033') {
			while (*s && *s != 'm')
				s++;
			continue;
		}
		if (((unsigned char)*s & 0xC0) != 0x80 && ++w > max)
			max = w;
	}
	return max;
}

/* Text with line breaks and indents folded into single spaces. */
static char *fold(const char *s)
{
	char *o = malloc(strlen(s) + 1), *p = o;

	for (; *s; s++) {
		if (*s == '\n' || *s == ' ') {
			if (p > o && p[-1] != ' ')
				*p++ = ' ';
			continue;
		}
		*p++ = *s;
	}
	*p = '\0';
	return o;
}

static const int widths[] = { 40, 60, 80, 100, 132, 160 };

START_TEST(no_line_is_wider_than_the_screen)
{
	struct report *r = make(3048289, 98);
	int w = widths[_i];

	for (int color = 0; color < 2; color++) {
		char *d = render(r, w, color);

		ck_assert_int_le(widest(d), w);
		free(d);
	}
	report_free(r);
}
END_TEST

START_TEST(words_are_wrapped_never_cut)
{
	struct report *r = make(3048289, 98);
	char *d = render(r, 80, false), *f = fold(d);

	/* The whole detail survives, word for word. */
	ck_assert_ptr_nonnull(strstr(f, "other_pem_blocks 0, "
					"accounts_without_email 97, file="));
	ck_assert_ptr_nonnull(
		strstr(f, "CAA rechecking bug: certificates issued without a "
			  "valid CAA check in the 30 days before issuance"));
	/* A count never starts a line without its label: the only lines
	 * that start with a number are sentences "N of M ...". */
	for (int w = 40; w <= 160; w += 7) {
		char *dw = render(r, w, false);

		for (char *l = strtok(dw, "\n"); l; l = strtok(NULL, "\n")) {
			const char *t = l + strspn(l, " ");
			size_t k = strspn(t, "0123456789,.;)");

			if (k > 0 && (t[k] == ' ' || t[k] == '\0'))
				ck_assert_msg(strncmp(t + k, " of ", 4) == 0,
					      "width %d: a line starts with "
					      "a count: %.40s",
					      w, t);
		}
		free(dw);
	}
	/* and a word that fits a line is never split across two. */
	ck_assert_ptr_nonnull(strstr(d, "accounts_without_email"));
	ck_assert_ptr_nonnull(strstr(d, "ca_certificates"));
	free(f);
	free(d);
	report_free(r);
}
END_TEST

static const struct {
	int hours;		    /* after aware_at; MUST-by at 120 h */
	const char *must_state;	    /* revoke-must's cell */
	enum dashboard_urgency urg; /* its urgency */
} clock_cases[] = {
	{ 30, "open", DASHBOARD_CALM },	     /* 90 h left */
	{ 97, "open", DASHBOARD_SOON },	     /* 23 h left */
	{ 115, "open", DASHBOARD_URGENT },   /* 5 h left */
	{ 121, "missed", DASHBOARD_URGENT }, /* 1 h overdue */
};

START_TEST(clock_colour_follows_urgency)
{
	struct report *r = make(10, clock_cases[_i].hours);
	static const char *const sgr[] = {
		[DASHBOARD_CALM] = NULL,
		[DASHBOARD_SOON] = "\033[33m",
		[DASHBOARD_URGENT] = "\033[1m\033[31m",
		[DASHBOARD_DONE] = "\033[32m",
	};
	const struct deadline_clock *must = NULL;
	char *d = render(r, 80, true), *plain = render(r, 80, false), want[64];

	for (int i = 0; i < r->nclocks; i++)
		if (strcmp(r->clocks[i].id, "revoke-must") == 0)
			must = &r->clocks[i];
	ck_assert_ptr_nonnull(must);
	ck_assert_int_eq(dashboard_clock_urgency(must), clock_cases[_i].urg);
	if (sgr[clock_cases[_i].urg]) {
		snprintf(want, sizeof(want), "%s%s\033[0m",
			 sgr[clock_cases[_i].urg], clock_cases[_i].must_state);
		ck_assert_ptr_nonnull(strstr(d, want));
	}
	ck_assert_ptr_null(strchr(plain, '\033'));
	free(plain);
	free(d);
	report_free(r);
}
END_TEST

START_TEST(a_met_clock_is_green)
{
	struct deadline_clock c = { 0 };

	c.state = DEADLINE_MET;
	c.remaining = -5;
	ck_assert_int_eq(dashboard_clock_urgency(&c), DASHBOARD_DONE);
	c.state = DEADLINE_OPEN;
	c.remaining = 24 * HOUR + 1;
	ck_assert_int_eq(dashboard_clock_urgency(&c), DASHBOARD_CALM);
	c.remaining = 24 * HOUR;
	ck_assert_int_eq(dashboard_clock_urgency(&c), DASHBOARD_SOON);
	c.remaining = 6 * HOUR;
	ck_assert_int_eq(dashboard_clock_urgency(&c), DASHBOARD_URGENT);
}
END_TEST

/* refused and nxdomain are answers (sql/011): only failed is failure. */
START_TEST(failed_probes_are_never_coverage)
{
	struct report *r = make(32, 30);
	char *d, *f;

	r->scan_targets = 40;
	r->scanned_targets = 34;
	r->scan_answered = 1;
	r->scan_failed = 32;
	r->scan_filtered = 1;
	r->scan_failed_by[CLASSIFY_TIMEOUT] = 1;
	r->scan_failed_by[CLASSIFY_DNS_ERROR] = 31;
	r->latest_scan_at = AWARE + 29 * HOUR;
	d = render(r, 80, false);
	f = fold(d);
	ck_assert_ptr_nonnull(strstr(d, "DEPLOYMENT    [#.........."));
	ck_assert_ptr_nonnull(strstr(f, "] 2.5% 1 of 40 names answered; "
					"32 failed (dns-error 31, timeout "
					"1), 1 filtered (scanner.deny), 6 "
					"not yet tried (latest 2020-03-01 "
					"08:08 UTC)"));
	free(f);
	free(d);
	report_free(r);
}
END_TEST

/* The coverage sentence is the report's own (report_coverage), in
 * colour with the failures marked, and the same words without. */
START_TEST(coverage_is_the_reports_sentence)
{
	struct report *r = make(32, 30);
	char sentence[REPORT_COVERAGE_MAX], *d, *f;

	r->scan_targets = 40;
	r->scanned_targets = 34;
	r->scan_answered = 7;
	r->scan_failed = 32;
	r->scan_failed_by[CLASSIFY_REFUSED] = 2;
	r->scan_failed_by[CLASSIFY_DNS_ERROR] = 30;
	r->latest_scan_at = AWARE + 29 * HOUR;
	d = render(r, 160, false);
	f = fold(d);
	report_coverage(r, "names", "", "", sentence, sizeof(sentence));
	ck_assert_ptr_nonnull(strstr(f, sentence));
	free(f);
	free(d);
	d = render(r, 160, true);
	f = fold(d);
	report_coverage(r, "names", "\033[33m", "\033[0m", sentence,
			sizeof(sentence));
	ck_assert_msg(strstr(f, sentence) != NULL, "want \"%s\" in %s",
		      sentence, f);
	free(f);
	free(d);
	report_free(r);
}
END_TEST

/* Still-served targets in the report's words, a wildcard with the names
 * it was probed at; the first 5 listed, the rest counted, and no line
 * wider than the screen even at 40 columns. */
START_TEST(still_served_targets_are_listed_then_counted)
{
	struct report *r = make(32, 30);
	char *d, *f;

	r->scan_targets = r->scanned_targets = r->scan_answered = 40;
	r->latest_scan_at = AWARE + 29 * HOUR;
	r->nserved_on = 6;
	r->nserved_on_all = 60;
	r->served_on = calloc(7, sizeof(*r->served_on));
	for (int i = 0; i < 6; i++) {
		char name[32];

		snprintf(name, sizeof(name), "*.w%d.test:443", i);
		r->served_on[i].target = strdup(name);
		r->served_on[i].via = strdup("a.w.test, www.w.test");
		r->served_on[i].served = r->served_on[i].addresses = 1;
		r->served_on[i].no_address = 1;
	}
	for (size_t k = 0; k < sizeof(widths) / sizeof(widths[0]); k++) {
		d = render(r, widths[k], false);
		ck_assert_int_le(widest(d), widths[k]);
		f = fold(d);
		ck_assert_msg(
			strstr(f,
			       "still served (latest round): - *.w0.test:443 "
			       "(probed via a.w.test, www.w.test): "
			       "affected certificate served on 1 of 1 "
			       "address; 1 probed name had no address - "
			       "*.w1.test:443") != NULL,
			"got %s", f);
		ck_assert_ptr_nonnull(strstr(f, "*.w4.test:443"));
		ck_assert_ptr_null(strstr(f, "*.w5.test:443"));
		ck_assert_ptr_nonnull(
			strstr(f, "and 55 more (certrecall report caa-2020)"));
		free(f);
		free(d);
	}
	report_free(r);
}
END_TEST

/* dashboard_write_counts: a count that wraps continues under itself,
 * also after a label of 70 columns (the indent was cut to 63). */
START_TEST(long_count_labels_keep_their_column)
{
	const char *labels[] = { "a label of seventy columns, wider than the "
				 "old indent buffer, so wide!" };
	const char *counts[] = {
		"1,234 certificates on names that go on and on across the "
		"screen until the count has to wrap onto a second line here"
	};
	char *buf = NULL, want[128];
	size_t len = 0;
	int lw = (int)strlen(labels[0]);
	FILE *f = open_memstream(&buf, &len);

	ck_assert_int_eq(lw, 70);
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(
		dashboard_write_counts(f, 160, "COUNTS", labels, counts, 1), 0);
	fclose(f);
	/* the second line: lw + 3 spaces, then a word */
	ck_assert_int_lt(snprintf(want, sizeof(want), "\n%*s", lw + 3, ""),
			 (int)sizeof(want));
	ck_assert_msg(strstr(buf, want) != NULL &&
			      strstr(buf, want)[lw + 4] != ' ',
		      "want a line indented %d in:\n%s", lw + 3, buf);
	free(buf);
}
END_TEST

static Suite *dashboard_suite(void)
{
	Suite *s = suite_create("dashboard");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, no_line_is_wider_than_the_screen, 0,
			    sizeof(widths) / sizeof(widths[0]));
	tcase_add_test(tc, words_are_wrapped_never_cut);
	tcase_add_loop_test(tc, clock_colour_follows_urgency, 0,
			    sizeof(clock_cases) / sizeof(clock_cases[0]));
	tcase_add_test(tc, a_met_clock_is_green);
	tcase_add_test(tc, failed_probes_are_never_coverage);
	tcase_add_test(tc, coverage_is_the_reports_sentence);
	tcase_add_test(tc, long_count_labels_keep_their_column);
	tcase_add_test(tc, still_served_targets_are_listed_then_counted);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(dashboard_suite)
