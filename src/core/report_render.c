/*
 * report_render.c - a gathered report as Markdown, HTML, JSON and the
 * terminal dashboard.  Pure: no database, no clock, no time zone; the
 * same struct report always gives the same bytes.
 *
 * Section order follows the CCADB full incident report template
 * (Summary, Impact, Timeline, Related incidents, Root cause analysis,
 * Lessons learned, Action items, Appendix); fields only people can write
 * are marked TO BE WRITTEN, never invented.
 */
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "certrecall/core/jsonout.h"
#include "certrecall/core/report.h"
#include "certrecall/base/log.h"
#include "certrecall/base/utctime.h"

#define BLANK "**[TO BE WRITTEN]**"

const char *report_num(long long v, char *buf, size_t len)
{
	char digits[32];
	size_t n, o = 0;
	int neg = v < 0;

	snprintf(digits, sizeof(digits), "%llu",
		 neg ? 0ULL - (unsigned long long)v : (unsigned long long)v);
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

/* Rotating buffers so several numbers fit in one printf. */
static const char *N(long long v)
{
	static char bufs[8][32];
	static int next;

	next = (next + 1) % 8;
	return report_num(v, bufs[next], sizeof(bufs[next]));
}

/* "2020-03-05 03:08 UTC", or "-" when unset. */
static const char *T(time_t t)
{
	static char bufs[8][UTCTIME_BUFSZ];
	static int next;

	next = (next + 1) % 8;
	if (t == DEADLINE_UNSET ||
	    utctime_format_short(t, bufs[next], sizeof(bufs[next])) < 0)
		return "-";
	return bufs[next];
}

/*
 * Scan coverage in one sentence, the same in every output: "0 of 32
 * names answered; 32 failed (dns-error 31, timeout 1), 0 not yet
 * tried".  Answers only: a failed probe is never counted as done.
 */
static const char *coverage(const struct report *r, const char *noun)
{
	/* Own digits, not N()'s: callers pass N() values beside this. */
	static char buf[512];
	char failed[256] = "", a[32], t[32], f[32], fl[32], u[32], c[32];
	bool shown[CLASSIFY_NVERDICTS] = { false };
	size_t o = 0;
	long long untried = r->scan_targets - r->scan_answered -
			    r->scan_failed - r->scan_filtered;

	/* Commonest cause first. */
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
		n = snprintf(failed + o, sizeof(failed) - o, "%s%s %s",
			     o ? ", " : " (", classify_verdict_name(v),
			     report_num(r->scan_failed_by[v], c, sizeof(c)));
		if (n < 0 || (size_t)n >= sizeof(failed) - o)
			break;
		o += (size_t)n;
	}
	if (o > 0 && o + 1 < sizeof(failed)) {
		failed[o++] = ')';
		failed[o] = '\0';
	}
	snprintf(buf, sizeof(buf),
		 "%s of %s %s answered; %s failed%s%s%s%s, %s not yet tried",
		 report_num(r->scan_answered, a, sizeof(a)),
		 report_num(r->scan_targets, t, sizeof(t)), noun,
		 report_num(r->scan_failed, f, sizeof(f)), failed,
		 r->scan_filtered > 0 ? ", " : "",
		 r->scan_filtered > 0
			 ? report_num(r->scan_filtered, fl, sizeof(fl))
			 : "",
		 r->scan_filtered > 0 ? " filtered (scanner.deny)" : "",
		 report_num(untried < 0 ? 0 : untried, u, sizeof(u)));
	return buf;
}

/* RFC 3339, or "-". */
static const char *T3339(time_t t)
{
	static char bufs[8][UTCTIME_BUFSZ];
	static int next;

	next = (next + 1) % 8;
	if (t == DEADLINE_UNSET ||
	    utctime_format_rfc3339(t, bufs[next], sizeof(bufs[next])) < 0)
		return "-";
	return bufs[next];
}

/* "1d 03h 08m" of a signed span. */
static const char *D(long long secs)
{
	static char bufs[4][UTCTIME_BUFSZ];
	static int next;

	next = (next + 1) % 4;
	if (utctime_format_duration(secs, bufs[next], sizeof(bufs[next])) < 0)
		log_error("cannot format duration %lld", (long long)(secs));
	return bufs[next];
}

static double pct(long long part, long long whole)
{
	return whole > 0 ? 100.0 * (double)part / (double)whole : 0.0;
}

static long long revoked(const struct report *r)
{
	return r->by_verdict[DEADLINE_REVOKED_ON_TIME] +
	       r->by_verdict[DEADLINE_REVOKED_LATE];
}

static long long unrevoked(const struct report *r)
{
	return r->by_verdict[DEADLINE_PENDING] +
	       r->by_verdict[DEADLINE_OVERDUE];
}

static long long notices_in(const struct report *r, int state)
{
	long long n = 0;

	for (int k = 0; k < REPORT_KINDS; k++)
		n += r->notices[k][state];
	return n;
}

/* When clock id is due ("delayed-update-must"), or DEADLINE_UNSET when
 * the incident has no such clock. */
static time_t due_of(const struct report *r, const char *id)
{
	for (int i = 0; i < r->nclocks; i++)
		if (strcmp(r->clocks[i].id, id) == 0)
			return r->clocks[i].due;
	return DEADLINE_UNSET;
}

static bool delayed(const struct report *r)
{
	return r->at > r->must_by && r->by_verdict[DEADLINE_OVERDUE] > 0;
}

static const char *remaining(const struct deadline_clock *c, char *buf,
			     size_t len)
{
	if (c->state == DEADLINE_MET)
		snprintf(buf, len, "met");
	else if (c->remaining >= 0)
		snprintf(buf, len, "%s left", D(c->remaining));
	else
		snprintf(buf, len, "overdue by %s", D(c->remaining));
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
	vsnprintf(lines[n], 200, fmt, ap);
	va_end(ap);
	return n + 1;
}

int report_next_steps(const struct report *r, char lines[][200], int max)
{
	long long left = unrevoked(r);
	long long failed = notices_in(r, 4);
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
			     N(left), D(r->must_by - r->at), T(r->must_by),
			     r->slug);
	else if (left > 0)
		n = add_step(lines, n, max,
			     "%s certificates unrevoked, MUST-by passed %s "
			     "ago: delayed revocation, post updates",
			     N(left), D(r->at - r->must_by));
	if (failed > 0)
		n = add_step(lines, n, max,
			     "%s addresses failed delivery: read the relay's "
			     "replies (certrecall notify %.60s --plan)",
			     N(failed), r->slug);
	if (r->addresses_notified == 0 && left > 0 &&
	    notices_in(r, 0) + notices_in(r, 3) == 0)
		n = add_step(lines, n, max,
			     "no subscriber told yet: certrecall notify %.60s "
			     "--kind initial",
			     r->slug);
	else if (notices_in(r, 0) + notices_in(r, 1) + notices_in(r, 3) > 0)
		n = add_step(lines, n, max,
			     "%s notices still to send: certrecall notify "
			     "%.60s",
			     N(notices_in(r, 0) + notices_in(r, 1) +
			       notices_in(r, 3)),
			     r->slug);
	if (r->no_address_accounts > 0)
		n = add_step(lines, n, max,
			     "%s accounts have no contact address: reach "
			     "them another way",
			     N(r->no_address_accounts));
	if (r->scanned_targets == 0 && left > 0)
		n = add_step(lines, n, max,
			     "nothing scanned yet: certrecall scan %.60s",
			     r->slug);
	else if (r->scan_failed > 0 && left > 0)
		n = add_step(lines, n, max,
			     "%s names gave no answer: certrecall scan %.60s "
			     "--retry-failed",
			     N(r->scan_failed), r->slug);
	if (r->conflicts > 0)
		n = add_step(lines, n, max,
			     "%s certificates have disagreeing revocation "
			     "evidence: certrecall revcheck %.60s",
			     N(r->conflicts), r->slug);
	for (int i = 0; i < r->nclocks; i++) {
		const struct deadline_clock *c = &r->clocks[i];

		if (strncmp(c->id, "revoke-", 7) == 0 ||
		    c->state == DEADLINE_MET)
			continue;
		if (c->state == DEADLINE_MISSED)
			n = add_step(lines, n, max, "%s missed by %s (%s)",
				     c->id, D(c->remaining), T(c->due));
		else
			n = add_step(lines, n, max, "%s due in %s (%s)", c->id,
				     D(c->remaining), T(c->due));
	}
	if (n == 0)
		n = add_step(lines, n, max,
			     "nothing left to do: every affected certificate "
			     "is revoked or expired");
	return n;
}

/* ---------------------------------------------------------- Markdown */

static void table_clocks(const struct report *r, FILE *out, bool html);
static void table_verdicts(const struct report *r, FILE *out, bool html);
static void table_deployment(const struct report *r, FILE *out, bool html);
static void table_notices(const struct report *r, FILE *out, bool html);
static void table_timeline(const struct report *r, FILE *out, bool html);
static void table_warning(const struct report *r, FILE *out);

/* Text from the database inside Markdown: no markup, no line breaks. */
static void md_text(FILE *out, const char *s)
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

static const enum deadline_verdict verdict_order[] = {
	DEADLINE_REVOKED_ON_TIME, DEADLINE_REVOKED_LATE, DEADLINE_PENDING,
	DEADLINE_OVERDUE,	  DEADLINE_EXPIRED,
};

static const char *verdict_words(enum deadline_verdict v)
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

static void md_impact(const struct report *r, FILE *out)
{
	fprintf(out,
		"## Impact\n\n"
		"- **Total number of certificates:** %s",
		N(r->certificates));
	if (r->precertificates > 0)
		fprintf(out, " (%s of them precertificates)",
			N(r->precertificates));
	fprintf(out,
		"\n- **Total number of \"remaining valid\" certificates:** %s "
		"(neither revoked nor expired at %s)\n"
		"- **Affected certificate types:** " BLANK "\n"
		"- **Incident heuristic:** " BLANK "\n"
		"- **Was issuance stopped in response to this incident, and "
		"why or why not?:** " BLANK "\n"
		"- **Analysis:** " BLANK "\n"
		"- **Subscribers:** %s accounts, %s contact addresses, %s "
		"distinct names\n\n",
		N(r->still_valid), T(r->at), N(r->accounts), N(r->addresses),
		N(r->names));
	if (r->certificates == 0) {
		fputs("No certificates have been imported for this incident "
		      "yet.\n\n",
		      out);
		return;
	}
	fprintf(out, "### By revocation verdict (MUST-by %s)\n\n",
		T(r->must_by));
	table_verdicts(r, out, false);
	if (r->short_lived > 0)
		fprintf(out,
			"\n%s of them are short-lived (BR 1.6.1): they MAY be "
			"left unrevoked.\n",
			N(r->short_lived));
	fputs("\n### By deployment\n\n", out);
	if (r->scanned_targets == 0) {
		fputs("No scan has run yet: whether these certificates are "
		      "still served is unknown.\n\n",
		      out);
		return;
	}
	fprintf(out, "Latest scan %s; %s.\n\n", T(r->latest_scan_at),
		coverage(r, "probeable names"));
	table_deployment(r, out, false);
	fputc('\n', out);
	/* issue 19: every address of a name is probed; say how many
	 * served the affected certificate. */
	for (size_t i = 0; i < r->nserved_on; i++)
		fprintf(out,
			"%s- `%s`: affected certificate served on %lld of "
			"%lld addresses\n%s",
			i == 0 ? "Still served (latest round):\n\n" : "",
			r->served_on[i].target, r->served_on[i].served,
			r->served_on[i].addresses,
			i + 1 == r->nserved_on ? "\n" : "");
}

/* Reach after delivery status notifications (certrecall bounces). */
static void md_reach(const struct report *r, FILE *out)
{
	fprintf(out,
		"- Reach (after bounces): told %s, bounced %s, "
		"unreachable %s, no address %s\n\n",
		N(r->reach[0]), N(r->reach[1]), N(r->reach[2]), N(r->reach[3]));
}

static void md_notification(const struct report *r, FILE *out)
{
	fputs("### Subscriber notification\n\n", out);
	if (r->addresses_notified + r->addresses_unnotified +
		    r->no_address_accounts ==
	    0) {
		fputs("No notice has been planned or sent yet.\n\n", out);
		return;
	}
	table_notices(r, out, false);
	fprintf(out,
		"\n- Addresses told: %s; not told yet: %s\n"
		"- Accounts without any contact address: %s\n"
		"- First notice sent %s, last %s\n\n",
		N(r->addresses_notified), N(r->addresses_unnotified),
		N(r->no_address_accounts), T(r->first_sent_at),
		T(r->last_sent_at));
	md_reach(r, out);
	if (r->addresses_notified == 0)
		return;
	fprintf(out,
		"**Warning time** (hours from an address's first notice to "
		"the first revocation of its certificates, or to MUST-by %s "
		"while none is revoked): minimum %.1f, median %.1f, maximum "
		"%.1f.\n\n",
		T(r->must_by), r->warn_min_h, r->warn_median_h, r->warn_max_h);
	table_warning(r, out);
	fputc('\n', out);
}

static void md_delayed(const struct report *r, FILE *out)
{
	time_t s = due_of(r, "delayed-update-should");
	time_t m = due_of(r, "delayed-update-must");

	if (!delayed(r))
		return;
	fprintf(out,
		"## Delayed revocation\n\n"
		"MUST-by %s has passed with certificates unrevoked; this is "
		"reportable on its own.\n\n"
		"- Revoked: %s (on time %s, late %s)\n"
		"- Not yet revoked: %s\n"
		"- Expired unrevoked: %s\n",
		T(r->must_by), N(revoked(r)),
		N(r->by_verdict[DEADLINE_REVOKED_ON_TIME]),
		N(r->by_verdict[DEADLINE_REVOKED_LATE]),
		N(r->by_verdict[DEADLINE_OVERDUE]),
		N(r->by_verdict[DEADLINE_EXPIRED]));
	if (s != DEADLINE_UNSET)
		fprintf(out, "- Next update SHOULD be posted by %s\n", T(s));
	if (m != DEADLINE_UNSET)
		fprintf(out, "- Next update MUST be posted by %s\n", T(m));
	fputs("- Estimated completion date: " BLANK "\n\n", out);
}

int report_write_md(const struct report *r, FILE *out)
{
	char steps[12][200];
	int nsteps;

	fputs("# Incident report: ", out);
	md_text(out, r->title);
	fprintf(out,
		"\n\n_Generated by certrecall from the incident database as of "
		"%s. Every figure is computed; fields marked " BLANK
		" are for people to write._\n\n",
		T3339(r->at));
	if (r->rehearsal_events > 0)
		fprintf(out,
			"> **Rehearsal or replay:** %s events of this incident "
			"were recorded under the rehearsal clock "
			"(CERTRECALL_CLOCK); their real times are in the audit "
			"trail (`event.detail.wall_clock`).\n\n",
			N(r->rehearsal_events));
	fputs("## Summary\n\n- **CA Owner:** ", out);
	if (r->organization[0])
		md_text(out, r->organization);
	else
		fputs(BLANK, out);
	fputs("\n- **Incident:** `", out);
	md_text(out, r->slug);
	fputs("` ", out);
	md_text(out, r->title);
	fputs("\n- **Incident description:** " BLANK
	      "\n- **Relevant policies:** ",
	      out);
	md_text(out, r->rule.citation);
	fputs(": \"", out);
	md_text(out, r->rule.text);
	fprintf(out, "\" (%s%s%s; reason `%s`)\n",
		deadline_window_words(r->rule.item->window),
		r->rule.crlreason_name ? ", CRLReason " : "",
		r->rule.crlreason_name ? r->rule.crlreason_name : "",
		r->reason);
	fputs("- **Source of incident disclosure:** " BLANK
	      " (Self Reported / Third Party Reported / Audit)\n",
	      out);
	fprintf(out,
		"- **Timeline summary:** aware %s; revocation SHOULD by %s, "
		"MUST by %s; ",
		T(r->dates.aware_at), T(r->should_by), T(r->must_by));
	if (r->first_sent_at != DEADLINE_UNSET)
		fprintf(out, "subscribers told from %s; ", T(r->first_sent_at));
	if (r->first_revoked_at != DEADLINE_UNSET)
		fprintf(out, "revocations from %s to %s; ",
			T(r->first_revoked_at), T(r->last_revoked_at));
	fprintf(out, "%s of %s certificates revoked as of %s.\n\n",
		N(revoked(r)), N(r->certificates), T(r->at));
	fputs("### Clocks\n\n", out);
	table_clocks(r, out, false);
	fputc('\n', out);
	md_impact(r, out);
	md_notification(r, out);

	fputs("## Timeline\n\nAll times UTC.", out);
	if (r->omitted_events > 0) {
		fprintf(out,
			" **Not complete:** of %s audit-trail events, %s from "
			"%s to %s are left out here (the first and the last "
			"%s are shown); `certrecall report ",
			N(r->events), N(r->omitted_events), T(r->omitted_from),
			T(r->omitted_to), N(REPORT_TIMELINE_EVENTS / 2));
		md_text(out, r->slug);
		fputs(" --format events` lists every one.", out);
	}
	fputs("\n\n", out);
	table_timeline(r, out, false);
	fprintf(out, "\n- **Expected revocation completion:** %s (MUST-by)\n",
		T(r->must_by));
	if (unrevoked(r) == 0 && r->certificates > 0)
		fprintf(out,
			"- **Actual revocation completion:** %s (every "
			"affected certificate revoked or expired)\n\n",
			T(r->last_revoked_at));
	else
		fprintf(out,
			"- **Actual revocation completion:** not complete, "
			"%s certificates still to revoke\n\n",
			N(unrevoked(r)));
	md_delayed(r, out);
	if (r->conflicts > 0)
		fprintf(out,
			"**Conflicting revocation evidence:** %s certificates "
			"have sources that disagree (see `certrecall "
			"revcheck`).\n\n",
			N(r->conflicts));
	fputs("## Related incidents\n\n" BLANK "\n\n"
	      "## Root cause analysis\n\n" BLANK "\n\n"
	      "## Lessons learned\n\n"
	      "- **What went well:** " BLANK "\n"
	      "- **What didn't go well:** " BLANK "\n"
	      "- **Where we got lucky:** " BLANK "\n\n"
	      "## Action items\n\n"
	      "| Action item | Kind | Corresponding root cause(s) | "
	      "Evaluation criteria | Due date | Status |\n"
	      "|---|---|---|---|---|---|\n"
	      "| " BLANK " | Prevent / Mitigate / Detect | | | | |\n\n",
	      out);
	fputs("## Appendix\n\n", out);
	fprintf(out,
		"Details of affected certificates: %s certificates, as %s "
		"(`certrecall report ",
		N(r->certificates),
		r->certificates < 10000 ? "a CSV file"
					: "a list of crt.sh links");
	md_text(out, r->slug);
	fputs(" --format ccadb`).\n\n### Next steps (as of the report)\n\n",
	      out);
	nsteps = report_next_steps(r, steps, 12);
	for (int i = 0; i < nsteps; i++) {
		fputs("- ", out);
		md_text(out, steps[i]);
		fputc('\n', out);
	}
	return ferror(out) ? -1 : 0;
}

/* -------------------------------------------------------------- HTML */

static void html_text(FILE *out, const char *s)
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
		html_text(out, s);
	else
		md_text(out, s);
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

static void table_clocks(const struct report *r, FILE *out, bool html)
{
	static const struct col cols[] = {
		{ "Clock", false }, { "Due (UTC)", false },
		{ "State", false }, { "Remaining", false },
		{ "Rule", false },
	};
	char rem[64], cls[32];

	table_begin(out, html, cols, 5);
	for (int i = 0; i < r->nclocks; i++) {
		const struct deadline_clock *c = &r->clocks[i];
		const char *state = deadline_state_name(c->state);
		const char *cells[] = { c->id, T3339(c->due), state,
					remaining(c, rem, sizeof(rem)),
					c->rule };
		const char *k[5] = { "t", "t", cls, "t", "text" };

		snprintf(cls, sizeof(cls), "state-%s", state);
		table_row(out, html, cols, 5, cells, k);
	}
	table_end(out, html);
}

static void table_verdicts(const struct report *r, FILE *out, bool html)
{
	static const struct col cols[] = {
		{ "Verdict", false },
		{ "Certificates", true },
		{ "Share", true },
	};

	table_begin(out, html, cols, 3);
	for (size_t i = 0; i < 5; i++) {
		long long v = r->by_verdict[verdict_order[i]];
		char share[32];
		const char *cells[] = { verdict_words(verdict_order[i]), N(v),
					share };

		snprintf(share, sizeof(share), "%.1f%%",
			 pct(v, r->certificates));
		table_row(out, html, cols, 3, cells, NULL);
	}
	table_end(out, html);
}

/* Also the legend of chart 2 (svg_deployment): the same rows, counts
 * and shares; the last column is every certificate, revoked or not. */
static long long deploy_bar(const struct report *r, int d);
static const char *deploy_bar_name(int d);

static void table_deployment(const struct report *r, FILE *out, bool html)
{
	static const struct col cols[] = {
		{ "Deployment", false },
		{ "Certificates", true },
		{ "Share", true },
		{ "Incl. revoked and expired", true },
	};

	table_begin(out, html, cols, 4);
	for (int d = 0; d <= REPORT_NDEPLOY; d++) {
		char share[32];
		const char *name =
			d < REPORT_NDEPLOY ? "still to revoke, " : "";
		char label[64];
		const char *cells[] = { label, N(deploy_bar(r, d)), share,
					d < REPORT_NDEPLOY ? N(r->deploy[d])
							   : "" };

		snprintf(label, sizeof(label), "%s%s", name,
			 deploy_bar_name(d));
		snprintf(share, sizeof(share), "%.1f%%",
			 pct(deploy_bar(r, d), r->certificates));
		table_row(out, html, cols, 4, cells, NULL);
	}
	{
		const char *cells[] = { "total", N(r->certificates), "100.0%",
					N(r->certificates) };

		table_row(out, html, cols, 4, cells, NULL);
	}
	table_end(out, html);
}

static void table_notices(const struct report *r, FILE *out, bool html)
{
	struct col cols[1 + REPORT_STATES] = { { "Kind", false } };

	for (int s = 0; s < REPORT_STATES; s++)
		cols[1 + s] = (struct col){ report_state_name(s), true };
	table_begin(out, html, cols, 1 + REPORT_STATES);
	for (int k = 0; k < REPORT_KINDS; k++) {
		const char *cells[1 + REPORT_STATES] = { report_kind_name(k) };

		for (int s = 0; s < REPORT_STATES; s++)
			cells[1 + s] = N(r->notices[k][s]);
		table_row(out, html, cols, 1 + REPORT_STATES, cells, NULL);
	}
	table_end(out, html);
}

/* Markdown only: the HTML page draws it (svg_warning). */
static void table_warning(const struct report *r, FILE *out)
{
	static const struct col cols[] = {
		{ "Warning time", false },
		{ "Addresses", true },
	};

	table_begin(out, false, cols, 2);
	for (int b = 0; b < REPORT_WARN_BUCKETS; b++) {
		const char *cells[] = { report_warn_bucket_name(b),
					N(r->warn_hist[b]) };

		table_row(out, false, cols, 2, cells, NULL);
	}
}

/* "2020-02-29 05:22:10Z" */
static const char *TS(time_t t, char *buf, size_t len)
{
	char full[UTCTIME_BUFSZ];

	if (t == DEADLINE_UNSET ||
	    utctime_format_rfc3339(t, full, sizeof(full)) < 0)
		return "-";
	snprintf(buf, len, "%.10s %.8sZ", full, full + 11);
	return buf;
}

/* "2020-02-29 08:00–09:00Z", or both dates when the run spans days. */
static const char *span_words(time_t a, time_t b, char *buf, size_t len)
{
	char x[UTCTIME_BUFSZ], y[UTCTIME_BUFSZ];

	if (utctime_format_rfc3339(a, x, sizeof(x)) < 0 ||
	    utctime_format_rfc3339(b, y, sizeof(y)) < 0)
		return "-";
	if (strncmp(x, y, 10) == 0)
		snprintf(buf, len, "%.10s %.5s\u2013%.5sZ", x, x + 11, y + 11);
	else
		snprintf(buf, len, "%.10s %.5sZ \u2013 %.10s %.5sZ", x, x + 11,
			 y, y + 11);
	return buf;
}

/*
 * The timeline as a Bugzilla timeline reads: one line per milestone or
 * event in plain words, and a run of two or more events of one group in
 * a row as one line ("scan: 12 runs, 6,670 names, 2020-02-29
 * 08:00–09:00Z").
 */
static void table_timeline(const struct report *r, FILE *out, bool html)
{
	fputs(html ? "<ul class=\"timeline\">\n" : "", out);
	for (size_t i = 0; i < r->ntimeline; i++) {
		const struct report_entry *e = &r->timeline[i];
		char when[UTCTIME_BUFSZ], iso[UTCTIME_BUFSZ], line[600];
		size_t j = i + 1;
		long long sum = e->count;

		while (e->group && j < r->ntimeline && r->timeline[j].group &&
		       strcmp(r->timeline[j].group, e->group) == 0)
			sum += r->timeline[j++].count;
		if (j - i >= 2) {
			char span[2 * UTCTIME_BUFSZ];

			char what[96] = "";

			/* Nothing to add up says nothing. */
			if (sum > 0)
				snprintf(what, sizeof(what), " %s %s,", N(sum),
					 e->unit);
			snprintf(line, sizeof(line), "%s: %s runs,%s %s",
				 e->group, N((long long)(j - i)), what,
				 span_words(e->at, r->timeline[j - 1].at, span,
					    sizeof(span)));
		} else {
			snprintf(line, sizeof(line), "%s", e->what);
			j = i + 1;
		}
		TS(e->at, when, sizeof(when));
		if (html) {
			if (utctime_format_rfc3339(e->at, iso, sizeof(iso)) < 0)
				log_error("cannot format time %lld",
					  (long long)(e->at));
			fprintf(out,
				"<li><time datetime=\"%s\">%s</time> "
				"&mdash; ",
				iso, when);
			html_text(out, line);
			fputs("</li>\n", out);
		} else {
			fprintf(out, "- %s \u2014 ", when);
			md_text(out, line);
			fputc('\n', out);
		}
		i = j - 1;
	}
	fputs(html ? "</ul>\n" : "", out);
}

/* Tables fit 1280 px; a time or a count never breaks inside. */
static const char css[] =
	"body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;"
	"color:#1b1f24;max-width:72rem;margin:2rem auto;padding:0 1rem}"
	"h1{font-size:1.6rem;margin-bottom:.2rem}h2{border-bottom:1px solid "
	"#ccd;padding-bottom:.2rem;margin-top:2rem}"
	"table{border-collapse:collapse;margin:.6rem 0}"
	"th,td{border:1px solid #ccd;padding:.2rem .5rem;text-align:left;"
	"vertical-align:top}"
	"td{white-space:nowrap}td.text{white-space:normal;min-width:20rem}"
	"td.n{text-align:right;"
	"font-variant-numeric:tabular-nums}td.t{font-variant-numeric:"
	"tabular-nums}"
	"th{background:#eef;white-space:nowrap}"
	".blank{background:#fff3c4;font-weight:bold}"
	".lead{font-size:1.15rem}.lead span,.lead "
	"strong{white-space:nowrap}.meta{color:#555}.state-missed{color:#"
	"b00020;"
	"font-weight:bold}"
	".state-met{color:#1b7f3b}svg{display:block;margin:.8rem 0;"
	"max-width:100%;height:auto}"
	"ul.timeline{list-style:none;padding:0;font-variant-numeric:"
	"tabular-nums}ul.timeline li{padding:.1rem 0}"
	"ul.timeline time{white-space:nowrap;color:#444}"
	"@page{margin:12mm}"
	"@media print{body{margin:0;max-width:none;font-size:10pt}"
	"table{font-size:8.5pt}"
	"td{white-space:normal}td.n,td.t{white-space:nowrap}"
	"h2,h3{break-after:avoid}svg,table,li{break-inside:avoid}"
	".blank{background:none;border:1px dashed #999}}";

#define HBLANK "<span class=\"blank\">[TO BE WRITTEN]</span>"

static void html_row(FILE *out, const char *label, const char *value)
{
	fputs("<tr><th>", out);
	html_text(out, label);
	fputs("</th><td class=\"n\">", out);
	html_text(out, value);
	fputs("</td></tr>\n", out);
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

/* A time tick's label: the date at midnight, else "06:00". */
static const char *tick_label(time_t t, char *buf, size_t len)
{
	char full[UTCTIME_BUFSZ];

	if (utctime_format_rfc3339(t, full, sizeof(full)) < 0)
		return "";
	if (t % 86400 == 0)
		snprintf(buf, len, "%.10s", full);
	else
		snprintf(buf, len, "%.5s", full + 11);
	return buf;
}

/* "2020-03-05 03:08Z" in a chart label (shorter than T()). */
static const char *TZ(time_t t)
{
	static char bufs[4][UTCTIME_BUFSZ];
	static int next;
	char full[UTCTIME_BUFSZ];

	next = (next + 1) % 4;
	if (utctime_format_rfc3339(t, full, sizeof(full)) < 0)
		return "-";
	snprintf(bufs[next], sizeof(bufs[next]), "%.10s %.5sZ", full,
		 full + 11);
	return bufs[next];
}

/*
 * Chart 1: the burn-down.  Certificates still to revoke from aware_at to
 * `at` (never past it: what happens after is unknown), the ideal line
 * from everything at aware_at to zero at MUST-by, the SHOULD-by and
 * MUST-by lines with the count still to revoke at each (when known) and
 * the "as of" line.  Labels carry data-value attributes so a test can
 * compare them with `deadlines`.
 */
/* A chart's plot area over time: from t0 to t1 left to right, 0 to
 * ymax bottom to top. */
struct frame {
	double W, H, L, R, TOP, B;
	time_t t0, t1;
	long long ymax, ystep;
};

static double fx(const struct frame *f, time_t t)
{
	return f->L + (f->W - f->L - f->R) * (double)(t - f->t0) /
			      (double)(f->t1 - f->t0);
}

static double fy(const struct frame *f, long long v)
{
	return f->H - f->B -
	       (f->H - f->TOP - f->B) * (double)v / (double)f->ymax;
}

/*
 * The frame of a time chart over [t0, t1] (t1 never past what the
 * deadlines and `at` need) for counts up to top: nice-number ticks on
 * both axes, the grid, the axis titles; then the open <svg> for the
 * caller to draw in.
 */
static void svg_time_frame(FILE *out, struct frame *f, const char *id,
			   const char *title, const char *ytitle, time_t t0,
			   time_t t1, long long top)
{
	char lab[32];
	long long tstep;

	f->t0 = t0;
	f->t1 = t1 > t0 ? t1 : t0 + 3600;
	f->ymax = report_nice_ceiling(top, 5);
	f->ystep = report_nice_step(top, 5);
	tstep = report_time_step((long long)(f->t1 - f->t0), 8);
	fprintf(out,
		"<svg id=\"%s\" role=\"img\" "
		"xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %.0f "
		"%.0f\" width=\"%.0f\" height=\"%.0f\" font-size=\"12\" "
		"data-from=\"%s\" data-to=\"%s\">\n"
		"<title>%s</title>\n"
		"<rect x=\"0\" y=\"0\" width=\"%.0f\" height=\"%.0f\" "
		"fill=\"#fff\"/>\n",
		id, f->W, f->H, f->W, f->H, T3339(f->t0), T3339(f->t1), title,
		f->W, f->H);
	for (long long v = 0; v <= f->ymax; v += f->ystep)
		fprintf(out,
			"<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
			"stroke=\"%s\"/><text class=\"ytick\" x=\"%.1f\" "
			"y=\"%.1f\" text-anchor=\"end\">%s</text>\n",
			f->L, fy(f, v), f->W - f->R, fy(f, v),
			v ? "#e4e6eb" : "#333", f->L - 5, fy(f, v) + 4, N(v));
	/* Time ticks on whole steps of UTC. */
	for (time_t t = f->t0 + (tstep - f->t0 % tstep) % tstep; t <= f->t1;
	     t += tstep)
		fprintf(out,
			"<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
			"stroke=\"#333\"/><text class=\"xtick\" x=\"%.1f\" "
			"y=\"%.1f\" text-anchor=\"middle\">%s</text>\n",
			fx(f, t), f->H - f->B, fx(f, t), f->H - f->B + 4,
			fx(f, t), f->H - f->B + 17,
			tick_label(t, lab, sizeof(lab)));
	fprintf(out,
		"<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
		"stroke=\"#333\"/>\n"
		"<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">time "
		"(UTC) from aware %s</text>\n"
		"<text x=\"%.1f\" y=\"16\" font-weight=\"bold\">%s</text>\n",
		f->L, f->TOP, f->L, f->H - f->B, (f->L + f->W - f->R) / 2,
		f->H - 12, TZ(f->t0), f->L - 60, ytitle);
}

static void svg_burndown(const struct report *r, FILE *out)
{
	struct frame fr = {
		.W = 760, .H = 320, .L = 70, .R = 30, .TOP = 44, .B = 50
	};
	const double W = fr.W, H = fr.H, TOP = fr.TOP, B = fr.B;
	time_t t0 = r->dates.aware_at;

	svg_time_frame(out, &fr, "chart-burndown",
		       "Certificates still to revoke over time, against "
		       "SHOULD-by and MUST-by",
		       "certificates still to revoke", t0,
		       r->must_by > r->at ? r->must_by : r->at, r->burn_start);
#define X(t) fx(&fr, t)
#define Y(v) fy(&fr, v)
	if (r->certificates <= 0) {
		fprintf(out,
			"<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" "
			"fill=\"#555\">no certificate imported yet</text>\n"
			"</svg>\n",
			(fr.L + W - fr.R) / 2, (TOP + H - B) / 2);
		return;
	}
	/* Ideal: a straight line to zero at MUST-by. */
	fprintf(out,
		"<line id=\"burndown-ideal\" x1=\"%.1f\" y1=\"%.1f\" "
		"x2=\"%.1f\" y2=\"%.1f\" stroke=\"#8a8f98\" "
		"stroke-dasharray=\"2,3\"/>\n",
		X(t0), Y(r->burn_start), X(r->must_by), Y(0));
	if (r->should_by != r->must_by)
		fprintf(out,
			"<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
			"y2=\"%.1f\" stroke=\"#d98c00\" "
			"stroke-dasharray=\"6,4\"/>\n"
			"<text x=\"%.1f\" y=\"%.1f\" fill=\"#a86a00\" "
			"text-anchor=\"%s\">SHOULD-by %s</text>\n",
			X(r->should_by), TOP, X(r->should_by), H - B,
			X(r->should_by) + 4, TOP - 4,
			X(r->should_by) > W / 2 ? "end" : "start",
			TZ(r->should_by));
	fprintf(out,
		"<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
		"stroke=\"#b00020\" stroke-width=\"2\" "
		"stroke-dasharray=\"6,4\"/>\n"
		"<text x=\"%.1f\" y=\"%.1f\" fill=\"#b00020\" "
		"text-anchor=\"end\" font-weight=\"bold\">MUST-by "
		"%s</text>\n",
		X(r->must_by), TOP, X(r->must_by), H - B, X(r->must_by) - 4,
		TOP + 12, TZ(r->must_by));
	if (r->at != r->must_by && r->at >= t0)
		fprintf(out,
			"<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
			"y2=\"%.1f\" stroke=\"#1f5fbf\"/>\n"
			"<text x=\"%.1f\" y=\"%.1f\" fill=\"#1f5fbf\" "
			"text-anchor=\"%s\">as of %s</text>\n",
			X(r->at), TOP, X(r->at), H - B,
			X(r->at) + (X(r->at) > W - 160 ? -4 : 4), TOP + 26,
			X(r->at) > W - 160 ? "end" : "start", TZ(r->at));
	/* The actual line: a step at each bucket's end (none for a moment
	 * before the clock started). */
	if (r->at > t0)
		fprintf(out,
			"<polyline fill=\"none\" stroke=\"#1f5fbf\" "
			"stroke-width=\"2.5\" points=\"%.1f,%.1f",
			X(t0), Y(r->burn_start));
	for (size_t i = 0; r->at > t0 && i < r->nburn; i++)
		fprintf(out, " %.1f,%.1f %.1f,%.1f", X(r->burn[i].at),
			Y(r->burn_start - (i ? r->burn[i - 1].cumulative : 0)),
			X(r->burn[i].at),
			Y(r->burn_start - r->burn[i].cumulative));
	if (r->at > t0)
		fprintf(out, " %.1f,%.1f\"/>\n", X(r->at), Y(r->left_at));
	/* The labelled values: dot and count at each known moment. */
	{
		const struct {
			const char *id, *what;
			time_t at;
			long long v;
			const char *color;
		} pts[] = {
			{ "burndown-should", "at SHOULD-by", r->should_by,
			  r->should_by != r->must_by ? r->left_should : -1,
			  "#a86a00" },
			{ "burndown-must", "at MUST-by", r->must_by,
			  r->left_must, "#b00020" },
			{ "burndown-at", "as of", r->at,
			  /* Said once when it is MUST-by's value. */
			  r->left_must >= 0 && r->left_at == r->left_must &&
					  X(r->at) - X(r->must_by) < 60
				  ? -1
				  : r->left_at,
			  "#1f5fbf" },
		};

		for (size_t i = 0; i < sizeof(pts) / sizeof(pts[0]); i++) {
			bool right = X(pts[i].at) > W - 200;

			if (pts[i].v < 0 || pts[i].at < t0)
				continue;
			fprintf(out,
				"<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" "
				"fill=\"%s\"/><text id=\"%s\" "
				"data-value=\"%lld\" x=\"%.1f\" y=\"%.1f\" "
				"fill=\"%s\" font-weight=\"bold\" "
				"text-anchor=\"%s\">%s %s</text>\n",
				X(pts[i].at), Y(pts[i].v), pts[i].color,
				pts[i].id, pts[i].v,
				X(pts[i].at) + (right ? -7 : 7),
				/* Right of the chart the curve comes
				 * from above: the label goes below. */
				right ? Y(pts[i].v) + 20 + 14.0 * (double)i
				      : Y(pts[i].v) - 8,
				pts[i].color, right ? "end" : "start",
				N(pts[i].v), pts[i].what);
		}
	}
	fputs("</svg>\n", out);
#undef X
#undef Y
}

/*
 * Chart 2: deployment of every certificate of the incident in one bar:
 * the ones still to revoke by what the scans saw, then the revoked or
 * expired; the legend gives the same counts as table_deployment().
 */
static const char *const deploy_colors[REPORT_NDEPLOY + 1] = {
	"#b00020", "#1b7f3b", "#d98c00", "#8a8f98", "#c9d3e6"
};

static long long deploy_bar(const struct report *r, int d)
{
	long long sum = 0;

	if (d < REPORT_NDEPLOY)
		return r->deploy_unrevoked[d];
	for (int i = 0; i < REPORT_NDEPLOY; i++)
		sum += r->deploy_unrevoked[i];
	return r->certificates - sum;
}

static const char *deploy_bar_name(int d)
{
	return d < REPORT_NDEPLOY ? report_deploy_name((enum report_deploy)d)
				  : "revoked or expired";
}

static void svg_deployment(const struct report *r, FILE *out)
{
	const double W = 760, H = 120, L = 20, R = 20;
	double x = L;

	fprintf(out,
		"<svg id=\"chart-deployment\" role=\"img\" "
		"xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %.0f "
		"%.0f\" width=\"%.0f\" height=\"%.0f\" font-size=\"12\">\n"
		"<title>Every certificate of the incident: still to revoke "
		"by deployment, and revoked or expired</title>\n"
		"<rect x=\"0\" y=\"0\" width=\"%.0f\" height=\"%.0f\" "
		"fill=\"#fff\"/>\n",
		W, H, W, H, W, H);
	if (r->certificates <= 0) {
		fprintf(out,
			"<text x=\"%.1f\" y=\"40\" text-anchor=\"middle\" "
			"fill=\"#555\">no certificate imported</text>\n"
			"</svg>\n",
			W / 2);
		return;
	}
	for (int d = 0; d <= REPORT_NDEPLOY; d++) {
		double w = (W - L - R) * (double)deploy_bar(r, d) /
			   (double)r->certificates;

		if (w > 0)
			fprintf(out,
				"<rect x=\"%.1f\" y=\"10\" width=\"%.1f\" "
				"height=\"36\" fill=\"%s\"/>\n",
				x, w, deploy_colors[d]);
		x += w;
	}
	fprintf(out,
		"<text x=\"%.1f\" y=\"62\" fill=\"#555\">all %s certificates; "
		"the first four still to revoke, by their names' latest "
		"scan</text>\n",
		L, N(r->certificates));
	for (int d = 0; d <= REPORT_NDEPLOY; d++) {
		double lx = L + (d % 3) * 245.0, ly = 84 + (d / 3) * 20.0;

		fprintf(out,
			"<rect x=\"%.1f\" y=\"%.1f\" width=\"12\" "
			"height=\"12\" fill=\"%s\"/><text class=\"legend\" "
			"data-deploy=\"%s\" data-value=\"%lld\" x=\"%.1f\" "
			"y=\"%.1f\">%s %s (%.1f%%)</text>\n",
			lx, ly - 10, deploy_colors[d], deploy_bar_name(d),
			deploy_bar(r, d), lx + 16, ly, deploy_bar_name(d),
			N(deploy_bar(r, d)),
			pct(deploy_bar(r, d), r->certificates));
	}
	fputs("</svg>\n", out);
}

/* Chart 4: notification progress over time. */
static void svg_notify(const struct report *r, FILE *out)
{
	struct frame fr = {
		.W = 760, .H = 260, .L = 70, .R = 150, .TOP = 30, .B = 50
	};
	const struct report_notify_point *last =
		r->nnotify ? &r->notify_curve[r->nnotify - 1] : NULL;
	long long top = 0;
	time_t t0 = r->dates.aware_at;
	static const struct {
		const char *name, *color;
	} lines[] = { { "sent", "#1b7f3b" },
		      { "failed", "#b00020" },
		      { "no address", "#8a8f98" } };

	for (int k = 0; k < REPORT_KINDS; k++)
		for (int st = 0; st < REPORT_STATES; st++)
			top += r->notices[k][st];
	svg_time_frame(out, &fr, "chart-notify",
		       "Notices sent, failed and without an address over time",
		       "notices (cumulative)", t0,
		       r->must_by > r->at ? r->must_by : r->at, top);
	if (last == NULL)
		fprintf(out,
			"<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" "
			"fill=\"#555\">no notice sent yet</text>\n",
			(fr.L + fr.W - fr.R) / 2, (fr.TOP + fr.H - fr.B) / 2);
	for (int l = 0; last && l < 3; l++) {
		long long prev = 0, end;

		fprintf(out,
			"<polyline fill=\"none\" stroke=\"%s\" "
			"stroke-width=\"2\" points=\"%.1f,%.1f",
			lines[l].color, fx(&fr, t0), fy(&fr, 0));
		for (size_t i = 0; i < r->nnotify; i++) {
			const struct report_notify_point *q =
				&r->notify_curve[i];
			long long v = l == 0   ? q->sent
				      : l == 1 ? q->failed
					       : q->no_address;
			time_t at = q->at < t0 ? t0 : q->at;

			fprintf(out, " %.1f,%.1f %.1f,%.1f", fx(&fr, at),
				fy(&fr, prev), fx(&fr, at), fy(&fr, v));
			prev = v;
		}
		end = prev;
		fprintf(out,
			" %.1f,%.1f\"/>\n<text class=\"legend\" "
			"data-notify=\"%s\" data-value=\"%lld\" x=\"%.1f\" "
			"y=\"%.1f\" fill=\"%s\">%s %s</text>\n",
			fx(&fr, r->at), fy(&fr, end), lines[l].name, end,
			fr.W - fr.R + 8, fr.TOP + 14 + 18.0 * l, lines[l].color,
			N(end), lines[l].name);
	}
	fputs("</svg>\n", out);
}

/* Chart 3: histogram of warning time. */
static void svg_warning(const struct report *r, FILE *out)
{
	const double W = 760, H = 260, L = 50, R = 20, TOP = 40, B = 50;
	double bw = (W - L - R) / REPORT_WARN_BUCKETS;
	long long ymax = 1;

	for (int b = 0; b < REPORT_WARN_BUCKETS; b++)
		if (r->warn_hist[b] > ymax)
			ymax = r->warn_hist[b];
	fprintf(out,
		"<svg id=\"chart-warning\" role=\"img\" "
		"xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %.0f "
		"%.0f\" width=\"%.0f\" height=\"%.0f\">\n"
		"<title>Warning time: hours from first notice to "
		"revocation or MUST-by</title>\n"
		"<rect x=\"0\" y=\"0\" width=\"%.0f\" height=\"%.0f\" "
		"fill=\"#fff\"/>\n"
		"<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
		"stroke=\"#333\"/>\n",
		W, H, W, H, W, H, L, H - B, W - R, H - B);
	if (r->addresses_notified == 0)
		fprintf(out,
			"<text x=\"%.1f\" y=\"%.1f\" font-size=\"13\" "
			"text-anchor=\"middle\" fill=\"#555\">no notice sent "
			"yet</text>\n",
			W / 2, (TOP + H - B) / 2);
	for (int b = 0; b < REPORT_WARN_BUCKETS; b++) {
		double h =
			(H - TOP - B) * (double)r->warn_hist[b] / (double)ymax;
		double x = L + b * bw;

		/* The count inside a tall bar (white, left of the median
		 * line through its middle), else above it. */
		if (r->warn_hist[b] > 0)
			fprintf(out,
				"<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
				"height=\"%.1f\" fill=\"%s\"/>\n"
				"<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" "
				"fill=\"%s\" text-anchor=\"%s\">%s</text>\n",
				x + 4, H - B - h, bw - 8, h,
				b == 0 ? "#b00020" : "#1f5fbf",
				h > 24 ? x + 8 : x + bw / 2,
				h > 24 ? H - B - h + 16 : H - B - h - 4,
				h > 24 ? "#fff" : "#1b1f24",
				h > 24 ? "start" : "middle",
				N(r->warn_hist[b]));
		fprintf(out,
			"<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" "
			"text-anchor=\"middle\">%s</text>\n",
			x + bw / 2, H - B + 15, report_warn_bucket_name(b));
	}
	if (r->addresses_notified > 0) {
		/* The median, inside its bucket by linear position. */
		int b = report_warn_bucket(r->warn_median_h);
		double x = L + b * bw + bw / 2;

		fprintf(out,
			"<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
			"y2=\"%.1f\" stroke=\"#1b1f24\" stroke-width=\"2\" "
			"stroke-dasharray=\"4,3\"/><text id=\"warning-median\" "
			"data-value=\"%.1f\" x=\"%.1f\" y=\"%.1f\" "
			"font-size=\"12\" font-weight=\"bold\" "
			"text-anchor=\"%s\">median %.1f h</text>\n",
			x, TOP - 22, x, H - B, r->warn_median_h,
			x + (b > REPORT_WARN_BUCKETS / 2 ? -5 : 5), TOP - 24,
			b > REPORT_WARN_BUCKETS / 2 ? "end" : "start",
			r->warn_median_h);
	}
	fprintf(out,
		"<text x=\"%.1f\" y=\"%.1f\" font-size=\"12\" "
		"text-anchor=\"middle\">addresses by hours between their "
		"first notice and the first revocation of their "
		"certificates (or MUST-by)</text>\n</svg>\n",
		(L + W - R) / 2, H - 12);
}

int report_write_html(const struct report *r, FILE *out)
{
	char steps[12][200];
	int nsteps;

	fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
	      "<meta charset=\"utf-8\">\n"
	      "<meta name=\"viewport\" content=\"width=device-width\">\n"
	      "<title>Incident report: ",
	      out);
	html_text(out, r->title);
	fprintf(out, "</title>\n<style>%s</style>\n</head>\n<body>\n<h1>", css);
	html_text(out, r->title);
	fputs("</h1>\n<p class=\"meta\">Incident <code>", out);
	html_text(out, r->slug);
	fprintf(out,
		"</code>, as of %s. Generated by certrecall from the incident "
		"database; every figure is computed. Fields marked " HBLANK
		" are for people to write.</p>\n",
		T3339(r->at));

	/* The answer first: how many are left and how the deadline
	 * stands. */
	if (r->certificates > 0) {
		char rem[64] = "";
		const char *state = "open";

		for (int i = 0; i < r->nclocks; i++)
			if (strcmp(r->clocks[i].id, "revoke-must") == 0) {
				remaining(&r->clocks[i], rem, sizeof(rem));
				state = deadline_state_name(r->clocks[i].state);
			}
		fprintf(out,
			"<p class=\"lead\"><strong>%s of %s certificates "
			"still to revoke</strong> as of <span>%s</span>; "
			"MUST-by <span>%s</span>: "
			"<strong class=\"state-%s\">%s</strong>.</p>\n",
			N(r->left_at), N(r->certificates), TZ(r->at),
			TZ(r->must_by), state, rem[0] ? rem : "-");
	}
	if (r->rehearsal_events > 0)
		fprintf(out,
			"<p class=\"meta\"><strong>Rehearsal or "
			"replay:</strong> "
			"%s events of this incident were recorded under the "
			"rehearsal clock (CERTRECALL_CLOCK); their real times "
			"are in the audit trail.</p>\n",
			N(r->rehearsal_events));
	fputs("<h2>Summary</h2>\n<table>\n<tr><th>CA Owner</th><td>", out);
	if (r->organization[0])
		html_text(out, r->organization);
	else
		fputs(HBLANK, out);
	fputs("</td></tr>\n<tr><th>Incident description</th><td>" HBLANK
	      "</td></tr>\n<tr><th>Relevant policies</th><td class=\"text\">",
	      out);
	html_text(out, r->rule.citation);
	fputs(": &ldquo;", out);
	html_text(out, r->rule.text);
	fprintf(out, "&rdquo; (%s%s%s; reason <code>",
		deadline_window_words(r->rule.item->window),
		r->rule.crlreason_name ? ", CRLReason " : "",
		r->rule.crlreason_name ? r->rule.crlreason_name : "");
	html_text(out, r->reason);
	fprintf(out,
		"</code>)</td></tr>\n<tr><th>Source of incident "
		"disclosure</th><td>" HBLANK
		" (Self Reported / Third Party Reported / Audit)</td></tr>\n"
		"<tr><th>Aware (clock start)</th><td>%s</td></tr>\n"
		"<tr><th>SHOULD-by</th><td>%s</td></tr>\n"
		"<tr><th>MUST-by</th><td>%s</td></tr>\n</table>\n",
		T3339(r->dates.aware_at), T3339(r->should_by),
		T3339(r->must_by));
	fputs("<h3>Clocks</h3>\n", out);
	table_clocks(r, out, true);

	fputs("<h2>Impact</h2>\n<table>\n", out);
	html_row(out, "Total number of certificates", N(r->certificates));
	html_row(out, "Precertificates among them", N(r->precertificates));
	html_row(out, "Remaining valid (neither revoked nor expired)",
		 N(r->still_valid));
	html_row(out, "Accounts", N(r->accounts));
	html_row(out, "Contact addresses", N(r->addresses));
	html_row(out, "Distinct names", N(r->names));
	fputs("<tr><th>Affected certificate types</th><td>" HBLANK
	      "</td></tr>\n<tr><th>Incident heuristic</th><td>" HBLANK
	      "</td></tr>\n<tr><th>Was issuance stopped?</th><td>" HBLANK
	      "</td></tr>\n<tr><th>Analysis</th><td>" HBLANK
	      "</td></tr>\n</table>\n",
	      out);
	if (r->certificates == 0)
		fputs("<p>No certificates have been imported for this "
		      "incident yet.</p>\n",
		      out);
	fprintf(out, "<h3>By revocation verdict (MUST-by %s)</h3>\n",
		T(r->must_by));
	table_verdicts(r, out, true);
	svg_burndown(r, out);

	fputs("<h3>By deployment</h3>\n", out);
	if (r->scanned_targets == 0)
		fputs("<p>No scan has run yet: whether these certificates are "
		      "still served is unknown.</p>\n",
		      out);
	else
		fprintf(out, "<p>Latest scan %s; %s.</p>\n",
			T(r->latest_scan_at), coverage(r, "probeable names"));
	table_deployment(r, out, true);
	svg_deployment(r, out);

	fputs("<h3>Subscriber notification</h3>\n", out);
	table_notices(r, out, true);
	fputs("<table>\n", out);
	html_row(out, "Addresses told", N(r->addresses_notified));
	html_row(out, "Addresses not told yet", N(r->addresses_unnotified));
	html_row(out, "Accounts without any contact address",
		 N(r->no_address_accounts));
	{
		char reach[200];

		snprintf(reach, sizeof(reach),
			 "told %s, bounced %s, unreachable %s, no address %s",
			 N(r->reach[0]), N(r->reach[1]), N(r->reach[2]),
			 N(r->reach[3]));
		html_row(out, "Reach (after bounces)", reach);
	}
	html_row(out, "First notice sent", T(r->first_sent_at));
	html_row(out, "Last notice sent", T(r->last_sent_at));
	fputs("</table>\n", out);
	if (r->addresses_notified > 0)
		fprintf(out,
			"<p><strong>Warning time</strong> (hours from an "
			"address's first notice to its first revocation, or "
			"MUST-by): minimum %.1f, "
			"median %.1f, maximum %.1f.</p>\n",
			r->warn_min_h, r->warn_median_h, r->warn_max_h);
	svg_notify(r, out);
	svg_warning(r, out);

	fputs("<h2>Timeline</h2>\n<p>All times UTC.", out);
	if (r->omitted_events > 0) {
		fprintf(out,
			" <strong>Not complete:</strong> of %s audit-trail "
			"events, %s from %s to %s are left out here (the first "
			"and the last %s are shown); <code>certrecall report ",
			N(r->events), N(r->omitted_events), T(r->omitted_from),
			T(r->omitted_to), N(REPORT_TIMELINE_EVENTS / 2));
		html_text(out, r->slug);
		fputs(" --format events</code> lists every one.", out);
	}
	fputs("</p>\n", out);
	table_timeline(r, out, true);
	if (delayed(r)) {
		time_t s = due_of(r, "delayed-update-should");
		time_t m = due_of(r, "delayed-update-must");

		fprintf(out,
			"<h2>Delayed revocation</h2>\n<p>MUST-by %s has "
			"passed with certificates unrevoked; this is "
			"reportable on its own.</p>\n<table>\n",
			T(r->must_by));
		html_row(out, "Revoked", N(revoked(r)));
		html_row(out, "Not yet revoked",
			 N(r->by_verdict[DEADLINE_OVERDUE]));
		html_row(out, "Expired unrevoked",
			 N(r->by_verdict[DEADLINE_EXPIRED]));
		if (s != DEADLINE_UNSET)
			html_row(out, "Next update SHOULD be posted by", T(s));
		if (m != DEADLINE_UNSET)
			html_row(out, "Next update MUST be posted by", T(m));
		fputs("<tr><th>Estimated completion date</th><td>" HBLANK
		      "</td></tr>\n</table>\n",
		      out);
	}
	if (r->conflicts > 0)
		fprintf(out,
			"<p><strong>Conflicting revocation evidence:</strong> "
			"%s certificates have sources that disagree.</p>\n",
			N(r->conflicts));
	fputs("<h2>Related incidents</h2>\n<p>" HBLANK
	      "</p>\n<h2>Root cause analysis</h2>\n<p>" HBLANK
	      "</p>\n<h2>Lessons learned</h2>\n<ul><li>What went well: " HBLANK
	      "</li><li>What didn't go well: " HBLANK
	      "</li><li>Where we got lucky: " HBLANK
	      "</li></ul>\n<h2>Action items</h2>\n<table>\n<tr><th>Action "
	      "item</th><th>Kind</th><th>Corresponding root cause(s)</th>"
	      "<th>Evaluation criteria</th><th>Due date</th><th>Status</th>"
	      "</tr>\n<tr><td>" HBLANK
	      "</td><td>Prevent / Mitigate / Detect</td><td></td><td></td>"
	      "<td></td><td></td></tr>\n</table>\n<h2>Appendix</h2>\n",
	      out);
	fprintf(out,
		"<p>%s affected certificates, as %s (<code>certrecall "
		"report ",
		N(r->certificates),
		r->certificates < 10000 ? "a CSV file"
					: "a list of crt.sh links");
	html_text(out, r->slug);
	fputs(" --format ccadb</code>).</p>\n<h3>Next steps</h3>\n<ul>\n", out);
	nsteps = report_next_steps(r, steps, 12);
	for (int i = 0; i < nsteps; i++) {
		fputs("<li>", out);
		html_text(out, steps[i]);
		fputs("</li>\n", out);
	}
	fputs("</ul>\n</body>\n</html>\n", out);
	return ferror(out) ? -1 : 0;
}

/* -------------------------------------------------------------- JSON */

json_t *report_time_json(time_t t)
{
	return jsonout_time(t);
}

static json_t *jdeploy(const long long *v)
{
	json_t *o = json_object();

	for (int d = 0; d < REPORT_NDEPLOY; d++)
		json_object_set_new(o,
				    report_deploy_name((enum report_deploy)d),
				    json_integer(v[d]));
	return o;
}

int report_write_json(const struct report *r, FILE *out)
{
	json_t *root = json_object(), *o, *a;
	char steps[12][200];
	int nsteps, rc;

	json_object_set_new(root, "schema", json_string("certrecall-report/1"));
	json_object_set_new(root, "at", report_time_json(r->at));
	json_object_set_new(
		root, "incident",
		json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:o,s:o,s:o,s:o}",
			  "slug", r->slug, "title", r->title, "organization",
			  r->organization, "reason", r->reason, "edition",
			  r->rule.edition->name, "citation", r->rule.citation,
			  "rule_text", r->rule.text, "window",
			  deadline_window_words(r->rule.item->window),
			  "crlreason",
			  r->rule.crlreason_name
				  ? json_string(r->rule.crlreason_name)
				  : json_null(),
			  "aware_at", report_time_json(r->dates.aware_at),
			  "should_by", report_time_json(r->should_by),
			  "must_by", report_time_json(r->must_by)));
	o = json_object_get(root, "incident");
	json_object_set_new(o, "disclosed_at",
			    report_time_json(r->dates.disclosed_at));
	json_object_set_new(o, "first_report_at",
			    report_time_json(r->dates.first_report_at));
	json_object_set_new(o, "full_report_at",
			    report_time_json(r->dates.full_report_at));
	json_object_set_new(o, "last_update_at",
			    report_time_json(r->dates.last_update_at));

	a = json_array();
	for (int i = 0; i < r->nclocks; i++) {
		const struct deadline_clock *c = &r->clocks[i];

		json_array_append_new(
			a,
			json_pack("{s:s,s:s,s:o,s:I,s:s}", "id", c->id, "rule",
				  c->rule, "due", report_time_json(c->due),
				  "remaining_seconds", (json_int_t)c->remaining,
				  "state", deadline_state_name(c->state)));
	}
	json_object_set_new(root, "clocks", a);

	o = json_object();
	for (size_t i = 0; i < 5; i++)
		json_object_set_new(
			o, deadline_verdict_name(verdict_order[i]),
			json_integer(r->by_verdict[verdict_order[i]]));
	json_object_set_new(
		root, "impact",
		json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:o,s:{s:o,s:o},"
			  "s:{s:I,s:I,s:I,s:I,s:I,s:I,s:o}}",
			  "certificates", (json_int_t)r->certificates,
			  "precertificates", (json_int_t)r->precertificates,
			  "still_valid", (json_int_t)r->still_valid, "accounts",
			  (json_int_t)r->accounts, "addresses",
			  (json_int_t)r->addresses, "names",
			  (json_int_t)r->names, "short_lived",
			  (json_int_t)r->short_lived, "verdicts", o,
			  "deployment", "all", jdeploy(r->deploy),
			  "still_to_revoke", jdeploy(r->deploy_unrevoked),
			  "scan", "targets", (json_int_t)r->scan_targets,
			  "scanned", (json_int_t)r->scanned_targets, "answered",
			  (json_int_t)r->scan_answered, "failed",
			  (json_int_t)r->scan_failed, "filtered",
			  (json_int_t)r->scan_filtered, "not_tried",
			  (json_int_t)(r->scan_targets - r->scan_answered -
				       r->scan_failed - r->scan_filtered),
			  "latest_at", report_time_json(r->latest_scan_at)));

	o = json_object();
	for (int k = 0; k < REPORT_KINDS; k++) {
		json_t *ks = json_object();

		for (int s = 0; s < REPORT_STATES; s++)
			json_object_set_new(ks, report_state_name(s),
					    json_integer(r->notices[k][s]));
		json_object_set_new(o, report_kind_name(k), ks);
	}
	a = json_array();
	for (int b = 0; b < REPORT_WARN_BUCKETS; b++)
		json_array_append_new(
			a, json_pack("{s:s,s:I}", "bucket",
				     report_warn_bucket_name(b), "addresses",
				     (json_int_t)r->warn_hist[b]));
	json_object_set_new(
		root, "notification",
		json_pack("{s:o,s:I,s:I,s:I,s:o,s:o,s:{s:o,s:o,s:o,s:o}}",
			  "notices", o, "no_address_accounts",
			  (json_int_t)r->no_address_accounts,
			  "addresses_notified",
			  (json_int_t)r->addresses_notified,
			  "addresses_not_notified",
			  (json_int_t)r->addresses_unnotified, "first_sent_at",
			  report_time_json(r->first_sent_at), "last_sent_at",
			  report_time_json(r->last_sent_at), "warning_hours",
			  "min",
			  r->addresses_notified ? json_real(r->warn_min_h)
						: json_null(),
			  "median",
			  r->addresses_notified ? json_real(r->warn_median_h)
						: json_null(),
			  "max",
			  r->addresses_notified ? json_real(r->warn_max_h)
						: json_null(),
			  "histogram", a));
	/* Reach after bounces (020 notice_reach). */
	json_object_set_new(json_object_get(root, "notification"), "reach",
			    json_pack("{s:I,s:I,s:I,s:I}", "told",
				      (json_int_t)r->reach[0], "bounced",
				      (json_int_t)r->reach[1], "unreachable",
				      (json_int_t)r->reach[2], "no_address",
				      (json_int_t)r->reach[3]));

	a = json_array();
	for (size_t i = 0; i < r->ncurve; i++)
		json_array_append_new(
			a,
			json_pack("{s:o,s:I}", "at",
				  report_time_json(r->revoked_curve[i].at),
				  "revoked",
				  (json_int_t)r->revoked_curve[i].cumulative));
	json_object_set_new(
		root, "revocation",
		json_pack(
			"{s:o,s:o,s:I,s:o,s:{s:o,s:o,s:o}}", "first_revoked_at",
			report_time_json(r->first_revoked_at),
			"last_revoked_at", report_time_json(r->last_revoked_at),
			"conflicts", (json_int_t)r->conflicts, "curve", a,
			"still_to_revoke", "at_should_by",
			r->left_should >= 0 ? json_integer(r->left_should)
					    : json_null(),
			"at_must_by",
			r->left_must >= 0 ? json_integer(r->left_must)
					  : json_null(),
			"at", json_integer(r->left_at)));
	if (delayed(r)) {
		time_t s = due_of(r, "delayed-update-should");
		time_t m = due_of(r, "delayed-update-must");

		json_object_set_new(
			root, "delayed_revocation",
			json_pack("{s:I,s:I,s:I,s:o,s:o}", "revoked",
				  (json_int_t)revoked(r), "not_revoked",
				  (json_int_t)r->by_verdict[DEADLINE_OVERDUE],
				  "expired",
				  (json_int_t)r->by_verdict[DEADLINE_EXPIRED],
				  "next_update_should", report_time_json(s),
				  "next_update_must", report_time_json(m)));
	} else {
		json_object_set_new(root, "delayed_revocation", json_null());
	}
	a = json_array();
	for (size_t i = 0; i < r->ntimeline; i++)
		json_array_append_new(
			a, json_pack("{s:o,s:s}", "at",
				     report_time_json(r->timeline[i].at),
				     "what", r->timeline[i].what));
	json_object_set_new(root, "timeline", a);
	if (r->omitted_events > 0) {
		char cmd[300];

		snprintf(cmd, sizeof(cmd),
			 "certrecall report %s --format events", r->slug);
		json_object_set_new(
			root, "timeline_omitted",
			json_pack("{s:I,s:I,s:o,s:o,s:s}", "events",
				  (json_int_t)r->omitted_events, "of",
				  (json_int_t)r->events, "from",
				  report_time_json(r->omitted_from), "to",
				  report_time_json(r->omitted_to), "command",
				  cmd));
	} else {
		json_object_set_new(root, "timeline_omitted", json_null());
	}
	json_object_set_new(root, "rehearsal_events",
			    json_integer(r->rehearsal_events));
	a = json_array();
	for (int i = 0; i < REPORT_NSTAGES; i++)
		json_array_append_new(
			a, json_pack("{s:s,s:o,s:o}", "stage",
				     r->stages[i].name ? r->stages[i].name : "",
				     "at", report_time_json(r->stages[i].at),
				     "detail",
				     r->stages[i].detail
					     ? json_string(r->stages[i].detail)
					     : json_null()));
	json_object_set_new(root, "stages", a);
	a = json_array();
	nsteps = report_next_steps(r, steps, 12);
	for (int i = 0; i < nsteps; i++)
		json_array_append_new(a, json_string(steps[i]));
	json_object_set_new(root, "next_steps", a);

	rc = json_dumpf(root, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	fputc('\n', out);
	json_decref(root);
	return rc < 0 || ferror(out) ? -1 : 0;
}
