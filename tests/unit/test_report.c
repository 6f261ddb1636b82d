/*
 * test_report.c - the report renderers on hand-built reports: warning-time
 * buckets at their edges; Markdown and HTML escape what came from the
 * database; the HTML page carries its three charts and nothing external;
 * the JSON parses and has the delayed-revocation object exactly when
 * MUST-by passed with certificates unrevoked; the dashboard and the next
 * steps name the most urgent work; empty incidents render; every output
 * is the same bytes twice and in any TZ.
 */
#include "certrecall/core/report.h"
#include "certrecall/store/report_store.h"
#include "unit.h"

#include <jansson.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* 2020-02-29T03:08:00Z: the 2020 CAA incident's aware_at. */
#define AWARE ((time_t)1582945680)
#define HOUR 3600

/* A report as report_store_gather() would fill it, at aware + hours. */
static struct report *make(long long certs, int hours)
{
	struct report *r = calloc(1, sizeof(*r));
	struct deadline_progress prog = { 1, 0, DEADLINE_UNSET };
	char err[128];

	ck_assert_ptr_nonnull(r);
	r->slug = strdup("caa-2020");
	r->title = strdup("CAA rechecking bug");
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
		r->stages[i].name = "import";
		r->stages[i].at = DEADLINE_UNSET;
	}
	report_add_entry(r, AWARE, "CA became aware: clock start");
	return r;
}

/* Renders into a string (free it). */
static char *render(int (*fn)(const struct report *, FILE *),
		    const struct report *r)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fn(r, f), 0);
	fclose(f);
	return buf;
}

static int count(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
		n++;
	return n;
}

static const struct {
	double hours;
	int bucket;
} buckets[] = {
	{ -0.01, 0 }, { 0, 1 },	  { 5.99, 1 }, { 6, 2 },  { 12, 3 },
	{ 23.9, 3 },  { 24, 4 },  { 47.9, 4 }, { 72, 6 }, { 96, 7 },
	{ 119.9, 7 }, { 120, 8 }, { 5000, 8 },
};

START_TEST(warning_buckets_have_closed_lower_edges)
{
	ck_assert_int_eq(report_warn_bucket(buckets[_i].hours),
			 buckets[_i].bucket);
	ck_assert_str_ne(report_warn_bucket_name(buckets[_i].bucket), "?");
}
END_TEST

START_TEST(format_names_parse)
{
	enum report_format f;

	ck_assert_int_eq(report_format_parse("ccadb", &f), 0);
	ck_assert_int_eq(f, REPORT_CCADB);
	ck_assert_int_eq(report_format_parse("html", &f), 0);
	ck_assert_int_eq(f, REPORT_HTML);
	ck_assert_int_eq(report_format_parse("events", &f), 0);
	ck_assert_int_eq(f, REPORT_EVENTS);
	ck_assert_int_eq(report_format_parse("unreached", &f), 0);
	ck_assert_int_eq(f, REPORT_UNREACHED);
	ck_assert_str_eq(report_unreached_name(0), "bounced");
	ck_assert_str_eq(report_unreached_name(3), "no-address");
	ck_assert_str_eq(report_unreached_name(4), "?");
	ck_assert_int_eq(report_format_parse("pdf", &f), -1);
	ck_assert_int_eq(report_format_parse("", &f), -1);
}
END_TEST

START_TEST(empty_incident_says_so_everywhere)
{
	struct report *r = make(0, 10);
	char *md = render(report_write_md, r);
	char *html = render(report_write_html, r);

	ck_assert_ptr_nonnull(strstr(md, "No certificates have been imported"));
	ck_assert_ptr_nonnull(strstr(html, "No certificates have been "
					   "imported"));
	ck_assert_ptr_nonnull(strstr(html, "no certificate imported yet"));
	ck_assert_ptr_nonnull(strstr(html, "no notice sent yet"));
	free(md);
	free(html);
	report_free(r);
}
END_TEST

START_TEST(markdown_escapes_database_text_and_groups_digits)
{
	struct report *r = make(3048289, 10);
	char *md;

	free(r->title);
	r->title = strdup("bug | *bold* <b>\nsecond line");
	md = render(report_write_md, r);
	ck_assert_ptr_nonnull(
		strstr(md, "# Incident report: bug \\| \\*bold\\* \\<b\\> "
			   "second line\n"));
	ck_assert_ptr_nonnull(strstr(md, "**Total number of certificates:** "
					 "3,048,289"));
	ck_assert_ptr_nonnull(strstr(md, "No scan has run yet"));
	ck_assert_ptr_nonnull(strstr(md, "a list of crt.sh links"));
	ck_assert_ptr_nonnull(strstr(md, "## Root cause analysis\n\n"
					 "**[TO BE WRITTEN]**"));
	ck_assert_ptr_null(strstr(md, "## Delayed revocation"));
	free(md);
	report_free(r);
}
END_TEST

/* Issue 21: the subscribers not reached are counted by reason and the
 * command that lists them is named (the slug escaped), in every format. */
START_TEST(unreached_counted_by_reason_with_the_list_command)
{
	struct report *r = make(10, 24);
	char *md, *html, *js;
	json_t *j, *u;

	free(r->slug);
	r->slug = strdup("a<b>&c");
	r->addresses_notified = 4;
	r->unreached[0] = 3;
	r->unreached[1] = 1;
	r->unreached[2] = 2;
	r->unreached[3] = 1234;
	r->unreached[REPORT_UNREACHED_REASONS] = 1239;
	r->unreached_rows = 1240;
	md = render(report_write_md, r);
	html = render(report_write_html, r);
	js = render(report_write_json, r);
	ck_assert_ptr_nonnull(strstr(
		md, "Certificates whose subscriber was not reached: 1,239 "
		    "(bounced 3, unreachable 1, refused by the relay 2, no "
		    "address 1,234); `certrecall report a\\<b\\>&c --format "
		    "unreached` lists them (1,240 rows"));
	ck_assert_ptr_nonnull(strstr(html, "1,239 (bounced 3, unreachable 1, "
					   "refused by the relay 2, no address "
					   "1,234)"));
	ck_assert_ptr_nonnull(strstr(html, "<code>certrecall report "
					   "a&lt;b&gt;&amp;c --format "
					   "unreached</code>"));
	j = json_loads(js, 0, NULL);
	ck_assert_ptr_nonnull(j);
	u = json_object_get(json_object_get(j, "notification"), "unreached");
	ck_assert_int_eq(json_integer_value(json_object_get(u, "failed")), 2);
	ck_assert_int_eq(json_integer_value(json_object_get(u, "rows")), 1240);
	json_decref(j);
	free(md);
	free(html);
	free(js);
	report_free(r);
}
END_TEST

/* The value of attribute data-value of the element with id id. */
static long long data_value(const char *html, const char *id)
{
	char key[96];
	const char *p;

	snprintf(key, sizeof(key), "id=\"%s\" data-value=\"", id);
	p = strstr(html, key);
	return p ? strtoll(p + strlen(key), NULL, 10) : -1;
}

START_TEST(html_is_self_contained_with_four_charts)
{
	struct report *r = make(3000, 30);
	char *html;
	long long legend = 0;
	const char *p;

	free(r->title);
	r->title = strdup("<script>alert(1)</script> & \"q\"");
	r->addresses_notified = 900;
	r->warn_hist[5] = 900;
	r->warn_median_h = 60.5;
	r->first_revoked_at = AWARE + 20 * HOUR;
	r->last_revoked_at = AWARE + 29 * HOUR;
	r->by_verdict[DEADLINE_PENDING] = 1300;
	r->by_verdict[DEADLINE_REVOKED_ON_TIME] = 1700;
	r->still_valid = 1300;
	r->deploy_unrevoked[REPORT_NOT_SCANNED] = 1300;
	r->burn_start = 3000;
	r->burn = calloc(2, sizeof(*r->burn));
	r->burn[0] = (struct report_point){ AWARE + 21 * HOUR, 10 };
	r->burn[1] = (struct report_point){ AWARE + 29 * HOUR, 1700 };
	r->nburn = 2;
	r->left_should = 2990; /* SHOULD-by at 24 h has passed */
	r->left_must = -1;     /* MUST-by is ahead */
	r->left_at = 1300;
	html = render(report_write_html, r);
	ck_assert_int_eq(count(html, "<svg id=\"chart-"), 4);
	ck_assert_ptr_nonnull(strstr(html, "id=\"chart-burndown\""));
	ck_assert_ptr_nonnull(strstr(html, "id=\"chart-deployment\""));
	ck_assert_ptr_nonnull(strstr(html, "id=\"chart-notify\""));
	ck_assert_ptr_nonnull(strstr(html, "id=\"chart-warning\""));
	ck_assert_ptr_nonnull(strstr(html, "MUST-by 2020-03-05 03:08Z"));
	/* The burn-down labels what is known, nothing in the future. */
	ck_assert_int_eq(data_value(html, "burndown-should"), 2990);
	ck_assert_int_eq(data_value(html, "burndown-at"), 1300);
	ck_assert_int_eq(data_value(html, "burndown-must"), -1);
	ck_assert_ptr_nonnull(strstr(html, "2,990 at SHOULD-by"));
	ck_assert_ptr_nonnull(strstr(html, "id=\"warning-median\" "
					   "data-value=\"60.5\""));
	/* The deployment bar adds up to every certificate. */
	for (p = html; (p = strstr(p, "data-deploy=")) != NULL; p++)
		legend += strtoll(strstr(p, "data-value=\"") + 12, NULL, 10);
	ck_assert_int_eq(legend, 3000);
	ck_assert_ptr_nonnull(strstr(html, "revoked or expired 1,700 (56.7%)"));
	ck_assert_ptr_nonnull(strstr(html, "&lt;script&gt;alert(1)&lt;/script"
					   "&gt; &amp; &quot;q&quot;"));
	ck_assert_ptr_null(strstr(html, "<script"));
	ck_assert_ptr_null(strstr(html, "http://www.example"));
	ck_assert_ptr_null(strstr(html, "src=\""));
	ck_assert_int_eq(count(html, "<svg"), count(html, "</svg>"));
	ck_assert_ptr_nonnull(strstr(html, "</html>\n"));
	free(html);
	report_free(r);
}
END_TEST

/* Before the clock started there is nothing to draw but the frame. */
START_TEST(burndown_before_aware_draws_no_line)
{
	struct report *r = make(3000, -5);
	char *html;

	r->burn_start = 3000;
	r->left_at = 3000;
	html = render(report_write_html, r);
	ck_assert_ptr_nonnull(strstr(html, "id=\"chart-burndown\""));
	ck_assert_ptr_null(strstr(html, "id=\"burndown-at\""));
	ck_assert_ptr_null(strstr(html, "stroke-width=\"2.5\""));
	free(html);
	report_free(r);
}
END_TEST

/* Nice-number ticks: 1, 2 or 5 times a power of ten, at most n steps. */
static const struct {
	long long hi;
	int n;
	long long step, ceiling;
} nice_cases[] = {
	{ 0, 5, 1, 1 },
	{ 3, 5, 1, 3 },
	{ 7, 5, 2, 8 },
	{ 3048, 5, 1000, 4000 },
	{ 3048, 8, 500, 3500 },
	{ 1000, 5, 200, 1000 },
	{ 3048289, 5, 1000000, 4000000 },
	{ 2013, 5, 500, 2500 },
};

START_TEST(count_ticks_are_nice_numbers)
{
	ck_assert_int_eq(report_nice_step(nice_cases[_i].hi, nice_cases[_i].n),
			 nice_cases[_i].step);
	ck_assert_int_eq(
		report_nice_ceiling(nice_cases[_i].hi, nice_cases[_i].n),
		nice_cases[_i].ceiling);
}
END_TEST

/* Time ticks: steps a person counts in, at most n of them. */
static const struct {
	long long span;
	int n;
	long long step;
} tsteps[] = {
	{ 5 * 60, 8, 60 },
	{ 2 * HOUR, 8, 15 * 60 },
	{ 10 * HOUR, 8, 2 * HOUR },
	{ 5 * 24 * HOUR, 8, 24 * HOUR },
	{ 5 * 24 * HOUR + 60, 8, 24 * HOUR },
	{ 9 * 24 * HOUR, 8, 2 * 24 * HOUR },
	{ 40 * 24 * HOUR, 8, 7 * 24 * HOUR },
};

START_TEST(time_ticks_are_hours_and_days)
{
	ck_assert_int_eq(report_time_step(tsteps[_i].span, tsteps[_i].n),
			 tsteps[_i].step);
}
END_TEST

/* The timeline in words; a run of one kind of event is one line. */
START_TEST(timeline_collapses_runs_of_one_kind)
{
	struct report *r = make(3048, 30);
	char *md, *html;

	for (int i = 0; i < 12; i++)
		report_add_event(r, AWARE + 5 * HOUR + i * 300,
				 "scanned 555 of 6,670 names", "scan", 555,
				 "names");
	report_add_event(r, AWARE + 2 * HOUR,
			 "imported 3,048 certificates from caa.txt.gz (973 "
			 "accounts)",
			 "import", 3048, "certificates");
	report_add_event(r, AWARE + 7 * HOUR, "report written", "report", 1,
			 "reports");
	report_sort_timeline(r);
	md = render(report_write_md, r);
	html = render(report_write_html, r);
	ck_assert_ptr_nonnull(
		strstr(md, "- 2020-02-29 05:08:00Z \u2014 imported 3,048 "
			   "certificates from caa.txt.gz (973 accounts)\n"));
	ck_assert_ptr_nonnull(strstr(md, "- 2020-02-29 08:08:00Z \u2014 scan: "
					 "12 runs, 6,660 names, 2020-02-29 "
					 "08:08\u201309:03Z\n"));
	/* A single event is told, not counted. */
	ck_assert_ptr_nonnull(strstr(md, "\u2014 report written\n"));
	ck_assert_ptr_nonnull(strstr(html, "<time datetime=\"2020-02-29T08:08:"
					   "00Z\">2020-02-29 08:08:00Z</time> "
					   "&mdash; scan: 12 runs"));
	free(md);
	free(html);
	report_free(r);
}
END_TEST

START_TEST(json_has_delayed_section_only_after_missed_must_by)
{
	struct report *before = make(10, 24), *after = make(10, 24 * 6);
	char *a = render(report_write_json, before);
	char *b = render(report_write_json, after);
	json_t *ja = json_loads(a, 0, NULL), *jb = json_loads(b, 0, NULL);

	ck_assert_ptr_nonnull(ja);
	ck_assert_ptr_nonnull(jb);
	ck_assert_str_eq(json_string_value(json_object_get(ja, "schema")),
			 "certrecall-report/1");
	ck_assert(json_is_null(json_object_get(ja, "delayed_revocation")));
	ck_assert_int_eq(json_integer_value(json_object_get(
				 json_object_get(jb, "delayed_revocation"),
				 "not_revoked")),
			 10);
	ck_assert_int_eq(
		json_array_size(json_object_get(
			json_object_get(json_object_get(jb, "notification"),
					"warning_hours"),
			"histogram")),
		REPORT_WARN_BUCKETS);
	ck_assert_str_eq(json_string_value(json_object_get(
				 json_object_get(ja, "incident"), "must_by")),
			 "2020-03-05T03:08:00Z");
	json_decref(ja);
	json_decref(jb);
	free(a);
	free(b);
	report_free(before);
	report_free(after);
}
END_TEST

START_TEST(a_cut_timeline_says_what_it_left_out_in_every_format)
{
	struct report *whole = make(10, 24), *cut = make(10, 24);
	char *md, *html, *js, *md_whole, *js_whole;
	json_t *j, *o;

	cut->events = 6000;
	cut->omitted_events = 1000;
	cut->omitted_from = AWARE + 2 * HOUR;
	cut->omitted_to = AWARE + 3 * HOUR;
	md = render(report_write_md, cut);
	html = render(report_write_html, cut);
	js = render(report_write_json, cut);
	md_whole = render(report_write_md, whole);
	js_whole = render(report_write_json, whole);
	ck_assert_ptr_nonnull(
		strstr(md, "**Not complete:** of 6,000 audit-trail events, "
			   "1,000 from 2020-02-29 05:08 UTC to 2020-02-29 "
			   "06:08 UTC are left out here"));
	ck_assert_ptr_nonnull(strstr(
		md, "`certrecall report caa-2020 --format events` lists"));
	ck_assert_ptr_nonnull(strstr(html, "<strong>Not complete:</strong>"));
	ck_assert_ptr_nonnull(strstr(
		html,
		"<code>certrecall report caa-2020 --format events</code>"));
	ck_assert_ptr_null(strstr(md_whole, "Not complete"));
	j = json_loads(js, 0, NULL);
	ck_assert_ptr_nonnull(j);
	o = json_object_get(j, "timeline_omitted");
	ck_assert_int_eq(json_integer_value(json_object_get(o, "events")),
			 1000);
	ck_assert_int_eq(json_integer_value(json_object_get(o, "of")), 6000);
	ck_assert_str_eq(json_string_value(json_object_get(o, "from")),
			 "2020-02-29T05:08:00Z");
	ck_assert_str_eq(json_string_value(json_object_get(o, "command")),
			 "certrecall report caa-2020 --format events");
	json_decref(j);
	j = json_loads(js_whole, 0, NULL);
	ck_assert_ptr_nonnull(j);
	ck_assert(json_is_null(json_object_get(j, "timeline_omitted")));
	json_decref(j);
	free(md);
	free(html);
	free(js);
	free(md_whole);
	free(js_whole);
	report_free(whole);
	report_free(cut);
}
END_TEST

START_TEST(next_steps_put_the_deadline_first)
{
	struct report *r = make(1204311, 4 * 24 + 0);
	char lines[12][200];
	int n, i;

	r->notices[0][4] = 482; /* initial failed */
	r->no_address_accounts = 7;
	n = report_next_steps(r, lines, 12);
	ck_assert_int_ge(n, 3);
	ck_assert_str_eq(lines[0], "1,204,311 certificates unrevoked, MUST-by "
				   "in 1d 00h 00m (2020-03-05 03:08 UTC): "
				   "export-revocations caa-2020");
	ck_assert_ptr_nonnull(strstr(lines[1], "482 addresses failed "
					       "delivery"));
	for (i = 2; i < n && !strstr(lines[i], "7 accounts have no contact");
	     i++)
		;
	ck_assert_int_lt(i, n);
	report_free(r);

	r = make(5, 24 * 7);
	n = report_next_steps(r, lines, 12);
	ck_assert_ptr_nonnull(strstr(lines[0], "MUST-by passed 2d 00h 00m "
					       "ago: delayed revocation"));
	report_free(r);
}
END_TEST

/*
 * Issue 15: a scan that reached nothing (31 dns-error, 1 timeout) showed
 * DEPLOYMENT 100.0% "32 of 32 names probed".  Coverage is answers: the
 * dashboard, Markdown, HTML and JSON count answered of all targets and
 * list the failures by cause, commonest first, never as done.
 */
START_TEST(failed_probes_are_never_coverage)
{
	struct report *r = make(32, 30);
	char *md, *html, *js;

	r->scan_targets = 40;
	r->scanned_targets = 34;
	r->scan_answered = 1;
	r->scan_failed = 32;
	r->scan_filtered = 1;
	r->scan_failed_by[CLASSIFY_TIMEOUT] = 1;
	r->scan_failed_by[CLASSIFY_DNS_ERROR] = 31;
	r->latest_scan_at = AWARE + 29 * HOUR;
	r->deploy[REPORT_NOT_SCANNED] = 0;
	r->deploy[REPORT_UNKNOWN] = 32;
	r->deploy_unrevoked[REPORT_NOT_SCANNED] = 0;
	r->deploy_unrevoked[REPORT_UNKNOWN] = 32;
	md = render(report_write_md, r);
	ck_assert_ptr_nonnull(strstr(md, "1 of 40 probeable names answered; "
					 "32 failed (dns-error 31"));
	html = render(report_write_html, r);
	ck_assert_ptr_nonnull(strstr(html, "1 of 40 probeable names answered"));
	js = render(report_write_json, r);
	ck_assert_ptr_nonnull(strstr(js, "\"scanned\": 34,\n"
					 "      \"answered\": 1,\n"
					 "      \"failed\": 32,\n"
					 "      \"filtered\": 1,\n"
					 "      \"not_tried\": 6,"));
	free(md);
	free(html);
	free(js);
	report_free(r);
}
END_TEST

START_TEST(output_does_not_depend_on_tz)
{
	struct report *r = make(42, 50);
	char *a, *b, *c, *d;

	setenv("TZ", "Asia/Tokyo", 1);
	tzset();
	a = render(report_write_md, r);
	c = render(report_write_json, r);
	setenv("TZ", "America/New_York", 1);
	tzset();
	b = render(report_write_md, r);
	d = render(report_write_json, r);
	ck_assert_str_eq(a, b);
	ck_assert_str_eq(c, d);
	ck_assert_ptr_nonnull(strstr(a, "aware 2020-02-29 03:08 UTC"));
	free(a);
	free(b);
	free(c);
	free(d);
	report_free(r);
}
END_TEST

/*
 * The formatters keep their text in the value they return: any number
 * of them fit in one printf (the rotating static buffers they replace
 * held eight), and an unset time prints as "-".
 */
START_TEST(formatted_values_do_not_share_storage)
{
	char buf[1024];

	ck_assert_int_lt(
		snprintf(buf, sizeof(buf),
			 "%s %s %s %s %s %s %s %s %s %s %s %s | %s | %s | %s",
			 report_fmt_num(1).s, report_fmt_num(22).s,
			 report_fmt_num(333).s, report_fmt_num(4444).s,
			 report_fmt_num(55555).s, report_fmt_num(666666).s,
			 report_fmt_num(7777777).s, report_fmt_num(-88888888).s,
			 report_fmt_num(999999999).s, report_fmt_num(0).s,
			 report_fmt_num(LLONG_MIN).s,
			 report_fmt_num(LLONG_MAX).s, report_fmt_time(AWARE).s,
			 report_fmt_rfc3339(DEADLINE_UNSET).s,
			 /* a span prints unsigned: callers say "overdue by" */
			 report_fmt_span(-(3 * 86400 + 2 * 3600 + 60)).s),
		(int)sizeof(buf));
	ck_assert_str_eq(buf,
			 "1 22 333 4,444 55,555 666,666 7,777,777 "
			 "-88,888,888 999,999,999 0 "
			 "-9,223,372,036,854,775,808 "
			 "9,223,372,036,854,775,807 | 2020-02-29 03:08 UTC "
			 "| - | 3d 02h 01m");
}
END_TEST

/*
 * "served on N of M": M counts addresses a probe reached; a wildcard's
 * probed names without an address are said apart (issue 19), and the
 * largest figures still fit REPORT_SERVED_MAX.
 */
static const struct {
	struct report_served s;
	const char *want;
} served_cases[] = {
	{ { .served = 1, .addresses = 3 },
	  "affected certificate served on 1 of 3 addresses" },
	{ { .served = 1, .addresses = 1, .no_address = 1 },
	  "affected certificate served on 1 of 1 address; 1 probed name had "
	  "no address" },
	{ { .served = 2, .addresses = 4, .no_address = 3, .unresolved = 1 },
	  "affected certificate served on 2 of 4 addresses; 3 probed names "
	  "had no address; 1 probed name could not be resolved" },
	{ { .served = LLONG_MAX,
	    .addresses = LLONG_MAX,
	    .no_address = LLONG_MAX,
	    .unresolved = LLONG_MAX },
	  "affected certificate served on 9,223,372,036,854,775,807 of "
	  "9,223,372,036,854,775,807 addresses; 9,223,372,036,854,775,807 "
	  "probed names had no address; 9,223,372,036,854,775,807 probed "
	  "names could not be resolved" },
};

START_TEST(served_on_counts_addresses_not_names)
{
	char buf[REPORT_SERVED_MAX];

	ck_assert_str_eq(
		report_served_sentence(&served_cases[_i].s, buf, sizeof(buf)),
		served_cases[_i].want);
}
END_TEST

static Suite *report_suite(void)
{
	Suite *s = suite_create("report");
	TCase *tc = tcase_create("render");

	tcase_add_loop_test(tc, warning_buckets_have_closed_lower_edges, 0,
			    sizeof(buckets) / sizeof(buckets[0]));
	tcase_add_test(tc, format_names_parse);
	tcase_add_test(tc, unreached_counted_by_reason_with_the_list_command);
	tcase_add_test(tc, empty_incident_says_so_everywhere);
	tcase_add_test(tc, markdown_escapes_database_text_and_groups_digits);
	tcase_add_test(tc, html_is_self_contained_with_four_charts);
	tcase_add_loop_test(tc, count_ticks_are_nice_numbers, 0,
			    sizeof(nice_cases) / sizeof(nice_cases[0]));
	tcase_add_loop_test(tc, time_ticks_are_hours_and_days, 0,
			    sizeof(tsteps) / sizeof(tsteps[0]));
	tcase_add_test(tc, timeline_collapses_runs_of_one_kind);
	tcase_add_test(tc, burndown_before_aware_draws_no_line);
	tcase_add_test(tc, json_has_delayed_section_only_after_missed_must_by);
	tcase_add_test(tc,
		       a_cut_timeline_says_what_it_left_out_in_every_format);
	tcase_add_test(tc, next_steps_put_the_deadline_first);
	tcase_add_test(tc, failed_probes_are_never_coverage);
	tcase_add_test(tc, output_does_not_depend_on_tz);
	tcase_add_test(tc, formatted_values_do_not_share_storage);
	tcase_add_loop_test(tc, served_on_counts_addresses_not_names, 0,
			    sizeof(served_cases) / sizeof(served_cases[0]));
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(report_suite)
