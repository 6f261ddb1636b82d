/*
 * report_render.c - what every rendering of a gathered report shares:
 * the value formatters (report_fmt_*), the coverage sentence, the next
 * steps, the figures derived from a report, text escaping, and the
 * tables the Markdown and HTML reports both write.  The renderers are
 * report_md.c, report_html.c and report_json.c; the terminal dashboard
 * is dashboard.c.  Pure: no database, no clock, no time zone; the same
 * struct report always gives the same bytes.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "certrecall/core/report.h"
#include "certrecall/base/utctime.h"

const char *report_num(long long v, char *buf, size_t len)
{
	char digits[32];
	size_t n, o = 0;
	int neg = v < 0;

	/* 20 digits at most: always fits */
	if (snprintf(digits, sizeof(digits), "%llu",
		     neg ? 0ULL - (unsigned long long)v
			 : (unsigned long long)v) < 0)
		digits[0] = '\0';
	n = strlen(digits);
	if (neg && o + 1 < len)
		buf[o++] = '-';
	for (size_t i = 0; i < n && o + 2 < len; i++) {
		if (i > 0 && (n - i) % 3 == 0)
			buf[o++] = ',';
		buf[o++] = digits[i];
	}
	buf[o] = '\0';
	return buf;
}

struct report_text report_fmt_num(long long v)
{
	struct report_text t;

	report_num(v, t.s, sizeof(t.s));
	return t;
}

struct report_text report_fmt_time(time_t t)
{
	struct report_text x;

	if (t == DEADLINE_UNSET ||
	    utctime_format_short(t, x.s, sizeof(x.s)) < 0)
		memcpy(x.s, "-", 2);
	return x;
}

struct report_text report_fmt_rfc3339(time_t t)
{
	struct report_text x;

	if (t == DEADLINE_UNSET ||
	    utctime_format_rfc3339(t, x.s, sizeof(x.s)) < 0)
		memcpy(x.s, "-", 2);
	return x;
}

struct report_text report_fmt_span(long long secs)
{
	struct report_text x;

	if (utctime_format_duration(secs, x.s, sizeof(x.s)) < 0)
		memcpy(x.s, "-", 2);
	return x;
}

/* The failures by cause, commonest first: " (dns-error 31, timeout 1)",
 * or "" when none failed.  Every cause fits: a name and a count are
 * under 48 bytes, and there are CLASSIFY_NVERDICTS of them. */
static void failed_causes(const struct report *r, char *buf, size_t len)
{
	bool shown[CLASSIFY_NVERDICTS] = { false };
	size_t o = 0;

	buf[0] = '\0';
	for (int k = 0; k < CLASSIFY_NVERDICTS && r->scan_failed > 0; k++) {
		int v = -1, n;

		for (int i = 0; i < CLASSIFY_NVERDICTS; i++)
			if (!shown[i] && r->scan_failed_by[i] > 0 &&
			    (v < 0 ||
			     r->scan_failed_by[i] > r->scan_failed_by[v]))
				v = i;
		if (v < 0)
			break;
		shown[v] = true;
		n = snprintf(buf + o, len - o, "%s%s %s", o ? ", " : " (",
			     classify_verdict_name(v),
			     report_fmt_num(r->scan_failed_by[v]).s);
		if (n < 0 || (size_t)n >= len - o) {
			buf[o] = '\0';
			break;
		}
		o += (size_t)n;
	}
	if (o > 0 && o + 1 < len) {
		buf[o++] = ')';
		buf[o] = '\0';
	}
}

const char *report_coverage(const struct report *r, const char *noun,
			    const char *mark, const char *unmark, char *buf,
			    size_t len)
{
	char failed[48 * CLASSIFY_NVERDICTS + 8];
	long long untried = r->scan_targets - r->scan_answered -
			    r->scan_failed - r->scan_filtered;
	int n;

	_Static_assert(48 * CLASSIFY_NVERDICTS + 8 < REPORT_COVERAGE_MAX - 400,
		       "the causes fit in the sentence");
	failed_causes(r, failed, sizeof(failed));
	n = snprintf(buf, len,
		     "%s of %s %s answered; %s%s failed%s%s%s%s%s, %s not yet "
		     "tried",
		     report_fmt_num(r->scan_answered).s,
		     report_fmt_num(r->scan_targets).s, noun, mark,
		     report_fmt_num(r->scan_failed).s, failed, unmark,
		     r->scan_filtered > 0 ? ", " : "",
		     r->scan_filtered > 0 ? report_fmt_num(r->scan_filtered).s
					  : "",
		     r->scan_filtered > 0 ? " filtered (scanner.deny)" : "",
		     report_fmt_num(untried < 0 ? 0 : untried).s);
	if (n < 0 && len > 0)
		buf[0] = '\0';
	return buf;
}

const char *report_served_sentence(const struct report_served *s, char *buf,
				   size_t len)
{
	char none[96] = "", unres[96] = "";
	int n;

	/* M counts addresses a probe reached: a name without one is no
	 * address, it is said apart. */
	if (s->no_address > 0 &&
	    snprintf(none, sizeof(none), "; %s probed name%s had no address",
		     report_fmt_num(s->no_address).s,
		     s->no_address == 1 ? "" : "s") >= (int)sizeof(none))
		none[0] = '\0'; /* cannot be: 25 digits and commas at most */
	if (s->unresolved > 0 &&
	    snprintf(unres, sizeof(unres),
		     "; %s probed name%s could not be resolved",
		     report_fmt_num(s->unresolved).s,
		     s->unresolved == 1 ? "" : "s") >= (int)sizeof(unres))
		unres[0] = '\0';
	n = snprintf(buf, len,
		     "affected certificate served on %s of %s address%s%s%s",
		     report_fmt_num(s->served).s,
		     report_fmt_num(s->addresses).s,
		     s->addresses == 1 ? "" : "es", none, unres);
	if ((n < 0 || (size_t)n >= len) && len > 0)
		buf[0] = '\0';
	return buf;
}

double report_pct(long long part, long long whole)
{
	return whole > 0 ? 100.0 * (double)part / (double)whole : 0.0;
}

long long report_revoked(const struct report *r)
{
	return r->by_verdict[DEADLINE_REVOKED_ON_TIME] +
	       r->by_verdict[DEADLINE_REVOKED_LATE];
}

long long report_unrevoked(const struct report *r)
{
	return r->by_verdict[DEADLINE_PENDING] +
	       r->by_verdict[DEADLINE_OVERDUE];
}

long long report_notices_in(const struct report *r, int state)
{
	long long n = 0;

	for (int k = 0; k < REPORT_KINDS; k++)
		n += r->notices[k][state];
	return n;
}

/* When clock id is due ("delayed-update-must"), or DEADLINE_UNSET when
 * the incident has no such clock. */
time_t report_due_of(const struct report *r, const char *id)
{
	for (int i = 0; i < r->nclocks; i++)
		if (strcmp(r->clocks[i].id, id) == 0)
			return r->clocks[i].due;
	return DEADLINE_UNSET;
}

bool report_delayed(const struct report *r)
{
	return r->at > r->must_by && r->by_verdict[DEADLINE_OVERDUE] > 0;
}

const char *report_remaining(const struct deadline_clock *c, char *buf,
			     size_t len)
{
	int n;

	if (c->state == DEADLINE_MET)
		n = snprintf(buf, len, "met");
	else if (c->remaining >= 0)
		n = snprintf(buf, len, "%s left",
			     report_fmt_span(c->remaining).s);
	else
		n = snprintf(buf, len, "overdue by %s",
			     report_fmt_span(c->remaining).s);
	if (n < 0 && len > 0)
		buf[0] = '\0';
	return buf;
}
static int add_step(char lines[][200], int n, int max, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int add_step(char lines[][200], int n, int max, const char *fmt, ...)
{
	va_list ap;

	if (n >= max)
		return n;
	va_start(ap, fmt);
	/* Every step fits: names are cut to 60 bytes in the format. */
	if (vsnprintf(lines[n], 200, fmt, ap) < 0)
		lines[n][0] = '\0';
	va_end(ap);
	return n + 1;
}

int report_next_steps(const struct report *r, char lines[][200], int max)
{
	long long left = report_unrevoked(r);
	long long failed = report_notices_in(r, 4);
	int n = 0;

	if (r->certificates == 0)
		return add_step(lines, n, max,
				"no certificates imported yet: certrecall "
				"import %.60s FILE",
				r->slug);
	if (left > 0 && r->at <= r->must_by)
		n = add_step(lines, n, max,
			     "%s certificates unrevoked, MUST-by in %s "
			     "(%s): export-revocations %.60s",
			     report_fmt_num(left).s,
			     report_fmt_span(r->must_by - r->at).s,
			     report_fmt_time(r->must_by).s, r->slug);
	else if (left > 0)
		n = add_step(lines, n, max,
			     "%s certificates unrevoked, MUST-by passed %s "
			     "ago: delayed revocation, post updates",
			     report_fmt_num(left).s,
			     report_fmt_span(r->at - r->must_by).s);
	if (failed > 0)
		n = add_step(lines, n, max,
			     "%s addresses failed delivery: read the relay's "
			     "replies (certrecall notify %.60s --plan)",
			     report_fmt_num(failed).s, r->slug);
	if (r->addresses_notified == 0 && left > 0 &&
	    report_notices_in(r, 0) + report_notices_in(r, 3) == 0)
		n = add_step(lines, n, max,
			     "no subscriber told yet: certrecall notify %.60s "
			     "--kind initial",
			     r->slug);
	else if (report_notices_in(r, 0) + report_notices_in(r, 1) +
			 report_notices_in(r, 3) >
		 0)
		n = add_step(lines, n, max,
			     "%s notices still to send: certrecall notify "
			     "%.60s",
			     report_fmt_num(report_notices_in(r, 0) +
					    report_notices_in(r, 1) +
					    report_notices_in(r, 3))
				     .s,
			     r->slug);
	if (r->no_address_accounts > 0)
		n = add_step(lines, n, max,
			     "%s accounts have no contact address: reach "
			     "them another way",
			     report_fmt_num(r->no_address_accounts).s);
	if (r->scanned_targets == 0 && left > 0)
		n = add_step(lines, n, max,
			     "nothing scanned yet: certrecall scan %.60s",
			     r->slug);
	else if (r->scan_failed > 0 && left > 0)
		n = add_step(lines, n, max,
			     "%s names gave no answer: certrecall scan %.60s "
			     "--retry-failed",
			     report_fmt_num(r->scan_failed).s, r->slug);
	if (r->conflicts > 0)
		n = add_step(lines, n, max,
			     "%s certificates have disagreeing revocation "
			     "evidence: certrecall revcheck %.60s",
			     report_fmt_num(r->conflicts).s, r->slug);
	for (int i = 0; i < r->nclocks; i++) {
		const struct deadline_clock *c = &r->clocks[i];

		if (strncmp(c->id, "revoke-", 7) == 0 ||
		    c->state == DEADLINE_MET)
			continue;
		if (c->state == DEADLINE_MISSED)
			n = add_step(lines, n, max, "%s missed by %s (%s)",
				     c->id, report_fmt_span(c->remaining).s,
				     report_fmt_time(c->due).s);
		else
			n = add_step(lines, n, max, "%s due in %s (%s)", c->id,
				     report_fmt_span(c->remaining).s,
				     report_fmt_time(c->due).s);
	}
	if (n == 0)
		n = add_step(lines, n, max,
			     "nothing left to do: every affected certificate "
			     "is revoked or expired");
	return n;
}

/* Text from the database inside Markdown: no markup, no line breaks. */
void report_md_text(FILE *out, const char *s)
{
	for (; *s; s++) {
		if (*s == '\n' || *s == '\r' || *s == '\t')
			fputc(' ', out);
		else if (strchr("\\`*_[]<>|", *s))
			fprintf(out, "\\%c", *s);
		else
			fputc(*s, out);
	}
}

const enum deadline_verdict report_verdict_order[] = {
	DEADLINE_REVOKED_ON_TIME, DEADLINE_REVOKED_LATE, DEADLINE_PENDING,
	DEADLINE_OVERDUE,	  DEADLINE_EXPIRED,
};

const char *report_verdict_words(enum deadline_verdict v)
{
	switch (v) {
	case DEADLINE_REVOKED_ON_TIME:
		return "revoked on time";
	case DEADLINE_REVOKED_LATE:
		return "revoked late";
	case DEADLINE_PENDING:
		return "pending (not revoked, deadline ahead)";
	case DEADLINE_OVERDUE:
		return "overdue (not revoked, deadline passed)";
	case DEADLINE_EXPIRED:
		return "expired before the deadline";
	}
	return "?";
}

/* Text from the database inside HTML, escaped. */
void report_html_text(FILE *out, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&':
			fputs("&amp;", out);
			break;
		case '<':
			fputs("&lt;", out);
			break;
		case '>':
			fputs("&gt;", out);
			break;
		case '"':
			fputs("&quot;", out);
			break;
		case '\'':
			fputs("&#39;", out);
			break;
		default:
			fputc(*s, out);
		}
	}
}
/* --------------------------------------- tables in either markup */

/*
 * The tables the Markdown and HTML reports share, written by one piece
 * of code in either markup: a column is numeric (right-aligned) or not;
 * every cell is escaped for the markup.
 */
struct col {
	const char *head;
	bool num;
};

static void cell_text(FILE *out, bool html, const char *s)
{
	if (html)
		report_html_text(out, s);
	else
		report_md_text(out, s);
}

static void table_begin(FILE *out, bool html, const struct col *c, int n)
{
	fputs(html ? "<table>\n<tr>" : "|", out);
	for (int i = 0; i < n; i++) {
		fputs(html ? "<th>" : " ", out);
		cell_text(out, html, c[i].head);
		fputs(html ? "</th>" : " |", out);
	}
	if (html) {
		fputs("</tr>\n", out);
		return;
	}
	fputs("\n|", out);
	for (int i = 0; i < n; i++)
		fputs(c[i].num ? "---:|" : "---|", out);
	fputc('\n', out);
}

/* One row; cls (may be NULL) gives an HTML class for a cell. */
static void table_row(FILE *out, bool html, const struct col *c, int n,
		      const char *const *cells, const char *const *cls)
{
	fputs(html ? "<tr>" : "|", out);
	for (int i = 0; i < n; i++) {
		const char *k = cls && cls[i] ? cls[i] : c[i].num ? "n" : NULL;

		if (!html)
			fputc(' ', out);
		else if (k)
			fprintf(out, "<td class=\"%s\">", k);
		else
			fputs("<td>", out);
		cell_text(out, html, cells[i]);
		fputs(html ? "</td>" : " |", out);
	}
	fputs(html ? "</tr>\n" : "\n", out);
}

static void table_end(FILE *out, bool html)
{
	if (html)
		fputs("</table>\n", out);
}

/* A share of a whole as the tables write it, "12.5%"; the buffer holds
 * any double %.1f can print. */
#define SHARE_MAX 320
static void fmt_share(long long part, long long whole, char *buf)
{
	int n = snprintf(buf, SHARE_MAX, "%.1f%%", report_pct(part, whole));

	if (n < 0 || n >= SHARE_MAX)
		memcpy(buf, "?", 2);
}

void report_table_clocks(const struct report *r, FILE *out, bool html)
{
	static const struct col cols[] = {
		{ "Clock", false }, { "Due (UTC)", false },
		{ "State", false }, { "Remaining", false },
		{ "Rule", false },
	};
	char rem[64], cls[64];

	table_begin(out, html, cols, 5);
	for (int i = 0; i < r->nclocks; i++) {
		const struct deadline_clock *c = &r->clocks[i];
		const char *state = deadline_state_name(c->state);
		struct report_text due = report_fmt_rfc3339(c->due);
		const char *cells[] = { c->id, due.s, state,
					report_remaining(c, rem, sizeof(rem)),
					c->rule };
		const char *k[5] = { "t", "t", cls, "t", "text" };
		int n = snprintf(cls, sizeof(cls), "state-%s", state);

		if (n < 0 || (size_t)n >= sizeof(cls))
			k[2] = NULL;
		table_row(out, html, cols, 5, cells, k);
	}
	table_end(out, html);
}

void report_table_verdicts(const struct report *r, FILE *out, bool html)
{
	static const struct col cols[] = {
		{ "Verdict", false },
		{ "Certificates", true },
		{ "Share", true },
	};

	table_begin(out, html, cols, 3);
	for (size_t i = 0; i < 5; i++) {
		long long v = r->by_verdict[report_verdict_order[i]];
		struct report_text num = report_fmt_num(v);
		char share[SHARE_MAX];
		const char *cells[] = { report_verdict_words(
						report_verdict_order[i]),
					num.s, share };

		fmt_share(v, r->certificates, share);
		table_row(out, html, cols, 3, cells, NULL);
	}
	table_end(out, html);
}

void report_table_deployment(const struct report *r, FILE *out, bool html)
{
	static const struct col cols[] = {
		{ "Deployment", false },
		{ "Certificates", true },
		{ "Share", true },
		{ "Incl. revoked and expired", true },
	};

	table_begin(out, html, cols, 4);
	for (int d = 0; d <= REPORT_NDEPLOY; d++) {
		char share[SHARE_MAX], label[64];
		struct report_text bar =
			report_fmt_num(report_deploy_bar(r, d));
		struct report_text all =
			report_fmt_num(d < REPORT_NDEPLOY ? r->deploy[d] : 0);
		const char *cells[] = { label, bar.s, share,
					d < REPORT_NDEPLOY ? all.s : "" };
		int n = snprintf(label, sizeof(label), "%s%s",
				 d < REPORT_NDEPLOY ? "still to revoke, " : "",
				 report_deploy_bar_name(d));

		if (n < 0 || (size_t)n >= sizeof(label))
			cells[0] = report_deploy_bar_name(d);
		fmt_share(report_deploy_bar(r, d), r->certificates, share);
		table_row(out, html, cols, 4, cells, NULL);
	}
	{
		struct report_text all = report_fmt_num(r->certificates);
		const char *cells[] = { "total", all.s, "100.0%", all.s };

		table_row(out, html, cols, 4, cells, NULL);
	}
	table_end(out, html);
}

void report_table_notices(const struct report *r, FILE *out, bool html)
{
	struct col cols[1 + REPORT_STATES] = { { "Kind", false } };

	for (int s = 0; s < REPORT_STATES; s++)
		cols[1 + s] = (struct col){ report_state_name(s), true };
	table_begin(out, html, cols, 1 + REPORT_STATES);
	for (int k = 0; k < REPORT_KINDS; k++) {
		const char *cells[1 + REPORT_STATES] = { report_kind_name(k) };
		struct report_text nums[REPORT_STATES];

		for (int s = 0; s < REPORT_STATES; s++) {
			nums[s] = report_fmt_num(r->notices[k][s]);
			cells[1 + s] = nums[s].s;
		}
		table_row(out, html, cols, 1 + REPORT_STATES, cells, NULL);
	}
	table_end(out, html);
}

/* Markdown only: the HTML page draws it (svg_warning). */
void report_table_warning(const struct report *r, FILE *out)
{
	static const struct col cols[] = {
		{ "Warning time", false },
		{ "Addresses", true },
	};

	table_begin(out, false, cols, 2);
	for (int b = 0; b < REPORT_WARN_BUCKETS; b++) {
		struct report_text num = report_fmt_num(r->warn_hist[b]);
		const char *cells[] = { report_warn_bucket_name(b), num.s };

		table_row(out, false, cols, 2, cells, NULL);
	}
}

/* "2020-02-29 05:22:10Z" */
static const char *TS(time_t t, char *buf, size_t len)
{
	char full[UTCTIME_BUFSZ];
	int n;

	if (t == DEADLINE_UNSET ||
	    utctime_format_rfc3339(t, full, sizeof(full)) < 0)
		return "-";
	n = snprintf(buf, len, "%.10s %.8sZ", full, full + 11);
	return n < 0 || (size_t)n >= len ? "-" : buf;
}

/* "2020-02-29 08:00–09:00Z", or both dates when the run spans days. */
static const char *span_words(time_t a, time_t b, char *buf, size_t len)
{
	char x[UTCTIME_BUFSZ], y[UTCTIME_BUFSZ];
	int n;

	if (utctime_format_rfc3339(a, x, sizeof(x)) < 0 ||
	    utctime_format_rfc3339(b, y, sizeof(y)) < 0)
		return "-";
	if (strncmp(x, y, 10) == 0)
		n = snprintf(buf, len, "%.10s %.5s\u2013%.5sZ", x, x + 11,
			     y + 11);
	else
		n = snprintf(buf, len, "%.10s %.5sZ \u2013 %.10s %.5sZ", x,
			     x + 11, y, y + 11);
	return n < 0 || (size_t)n >= len ? "-" : buf;
}

/*
 * The timeline as a Bugzilla timeline reads: one line per milestone or
 * event in plain words, and a run of two or more events of one group in
 * a row as one line ("scan: 12 runs, 6,670 names, 2020-02-29
 * 08:00–09:00Z").
 */
void report_table_timeline(const struct report *r, FILE *out, bool html)
{
	fputs(html ? "<ul class=\"timeline\">\n" : "", out);
	for (size_t i = 0; i < r->ntimeline; i++) {
		const struct report_entry *e = &r->timeline[i];
		/* A run's line: a group and a unit (static words), two
		 * numbers and two times; always fits. */
		char when[UTCTIME_BUFSZ], line[600];
		const char *text = e->what, *w;
		size_t j = i + 1;
		long long sum = e->count;

		while (e->group && j < r->ntimeline && r->timeline[j].group &&
		       strcmp(r->timeline[j].group, e->group) == 0)
			sum += r->timeline[j++].count;
		if (j - i >= 2) {
			char span[2 * UTCTIME_BUFSZ], what[128] = "";
			int n = 0;

			/* Nothing to add up says nothing. */
			if (sum > 0)
				n = snprintf(what, sizeof(what), " %s %s,",
					     report_fmt_num(sum).s, e->unit);
			if (n >= 0 && (size_t)n < sizeof(what))
				n = snprintf(
					line, sizeof(line), "%s: %s runs,%s %s",
					e->group,
					report_fmt_num((long long)(j - i)).s,
					what,
					span_words(e->at, r->timeline[j - 1].at,
						   span, sizeof(span)));
			if (n >= 0 && (size_t)n < sizeof(line))
				text = line;
			else
				j = i + 1; /* cannot happen: told singly */
		} else {
			j = i + 1;
		}
		w = TS(e->at, when, sizeof(when));
		if (html) {
			fprintf(out,
				"<li><time datetime=\"%s\">%s</time> "
				"&mdash; ",
				report_fmt_rfc3339(e->at).s, w);
			report_html_text(out, text);
			fputs("</li>\n", out);
		} else {
			fprintf(out, "- %s \u2014 ", w);
			report_md_text(out, text);
			fputc('\n', out);
		}
		i = j - 1;
	}
	fputs(html ? "</ul>\n" : "", out);
}

long long report_deploy_bar(const struct report *r, int d)
{
	long long sum = 0;

	if (d < REPORT_NDEPLOY)
		return r->deploy_unrevoked[d];
	for (int i = 0; i < REPORT_NDEPLOY; i++)
		sum += r->deploy_unrevoked[i];
	return r->certificates - sum;
}

const char *report_deploy_bar_name(int d)
{
	return d < REPORT_NDEPLOY ? report_deploy_name((enum report_deploy)d)
				  : "revoked or expired";
}
/* ------------------------------------------------------ axis ticks */

long long report_nice_step(long long hi, int max_ticks)
{
	long long mag = 1;

	if (hi <= 0 || max_ticks < 1)
		return 1;
	/* The smallest 1, 2, 5 x 10^k whose max_ticks steps reach hi. */
	for (;;) {
		static const int m[] = { 1, 2, 5 };

		for (int i = 0; i < 3; i++)
			if (m[i] * mag * max_ticks >= hi)
				return m[i] * mag;
		mag *= 10;
	}
}

long long report_nice_ceiling(long long hi, int max_ticks)
{
	long long s = report_nice_step(hi, max_ticks);

	return hi <= 0 ? s : (hi + s - 1) / s * s;
}

long long report_time_step(long long span_secs, int max_ticks)
{
	static const long long steps[] = {
		60,    300,	  600,	     900,	 1800,
		3600,  2 * 3600,  3 * 3600,  6 * 3600,	 12 * 3600,
		86400, 2 * 86400, 7 * 86400, 14 * 86400, 28 * 86400,
	};
	size_t n = sizeof(steps) / sizeof(steps[0]);

	for (size_t i = 0; i < n; i++)
		if (max_ticks > 0 && steps[i] * max_ticks >= span_secs)
			return steps[i];
	return steps[n - 1];
}
