/*
 * report_md.c - a gathered report as Markdown, in the sections of the
 * CCADB full incident report template (Summary, Impact, Timeline,
 * Related incidents, Root cause analysis, Lessons learned, Action items,
 * Appendix); fields only people can write are marked TO BE WRITTEN,
 * never invented.  Pure, like every renderer (report_render.c).
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "certrecall/core/report.h"

#define BLANK "**[TO BE WRITTEN]**"

static void md_impact(const struct report *r, FILE *out)
{
	char cov[REPORT_COVERAGE_MAX], served[REPORT_SERVED_MAX];

	fprintf(out,
		"## Impact\n\n"
		"- **Total number of certificates:** %s",
		report_fmt_num(r->certificates).s);
	if (r->precertificates > 0)
		fprintf(out, " (%s of them precertificates)",
			report_fmt_num(r->precertificates).s);
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
		report_fmt_num(r->still_valid).s, report_fmt_time(r->at).s,
		report_fmt_num(r->accounts).s, report_fmt_num(r->addresses).s,
		report_fmt_num(r->names).s);
	if (r->certificates == 0) {
		fputs("No certificates have been imported for this incident "
		      "yet.\n\n",
		      out);
		return;
	}
	fprintf(out, "### By revocation verdict (MUST-by %s)\n\n",
		report_fmt_time(r->must_by).s);
	report_table_verdicts(r, out, false);
	if (r->short_lived > 0)
		fprintf(out,
			"\n%s of them are short-lived (BR 1.6.1): they MAY be "
			"left unrevoked.\n",
			report_fmt_num(r->short_lived).s);
	fputs("\n### By deployment\n\n", out);
	if (r->scanned_targets == 0) {
		fputs("No scan has run yet: whether these certificates are "
		      "still served is unknown.\n\n",
		      out);
		return;
	}
	fprintf(out, "Latest scan %s; %s.\n\n",
		report_fmt_time(r->latest_scan_at).s,
		report_coverage(r, "probeable names", "", "", cov,
				sizeof(cov)));
	report_table_deployment(r, out, false);
	fputc('\n', out);
	/* issue 19: every address of a name is probed; say how many
	 * served the affected certificate. */
	for (size_t i = 0; i < r->nserved_on; i++)
		fprintf(out, "%s- `%s`%s%s%s: %s\n%s",
			i == 0 ? "Still served (latest round):\n\n" : "",
			r->served_on[i].target,
			r->served_on[i].via ? " (probed via " : "",
			r->served_on[i].via ? r->served_on[i].via : "",
			r->served_on[i].via ? ")" : "",
			report_served_sentence(&r->served_on[i], served,
					       sizeof(served)),
			i + 1 == r->nserved_on ? "\n" : "");
}

/* Reach after delivery status notifications (certrecall bounces). */
static void md_reach(const struct report *r, FILE *out)
{
	fprintf(out,
		"- Reach (after bounces): told %s, bounced %s, "
		"unreachable %s, no address %s\n",
		report_fmt_num(r->reach[0]).s, report_fmt_num(r->reach[1]).s,
		report_fmt_num(r->reach[2]).s, report_fmt_num(r->reach[3]).s);
	/* The relay's acceptance is not delivery: only a DSN confirms it. */
	fprintf(out,
		"- Of the told: delivered %s (confirmed by a DSN), accepted "
		"by a relay only %s\n\n",
		report_fmt_num(r->reach[4]).s,
		report_fmt_num(r->reach[0] - r->reach[4]).s);
}

/* Subscribers not reached, by reason, and the list's command (issue 21). */
static void md_unreached(const struct report *r, FILE *out)
{
	const long long *u = r->unreached;

	if (u[REPORT_UNREACHED_REASONS] < 0)
		return;
	fprintf(out,
		"- Certificates whose subscriber was not reached: %s "
		"(bounced %s, unreachable %s, refused by the relay %s, "
		"no address %s); `certrecall report ",
		report_fmt_num(u[REPORT_UNREACHED_REASONS]).s,
		report_fmt_num(u[0]).s, report_fmt_num(u[1]).s,
		report_fmt_num(u[2]).s, report_fmt_num(u[3]).s);
	report_md_text(out, r->slug);
	fprintf(out,
		" --format unreached` lists them (%s rows: certificate, "
		"address, reason, status, diagnostic) for the CCADB "
		"appendix\n\n",
		report_fmt_num(r->unreached_rows).s);
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
	report_table_notices(r, out, false);
	fprintf(out,
		"\n- Addresses told: %s; not told yet: %s\n"
		"- Accounts without any contact address: %s\n"
		"- First notice sent %s, last %s\n\n",
		report_fmt_num(r->addresses_notified).s,
		report_fmt_num(r->addresses_unnotified).s,
		report_fmt_num(r->no_address_accounts).s,
		report_fmt_time(r->first_sent_at).s,
		report_fmt_time(r->last_sent_at).s);
	md_reach(r, out);
	md_unreached(r, out);
	if (r->addresses_notified == 0)
		return;
	fprintf(out,
		"**Warning time** (hours from an address's first notice to "
		"the first revocation of its certificates, or to MUST-by %s "
		"while none is revoked): minimum %.1f, median %.1f, maximum "
		"%.1f.\n\n",
		report_fmt_time(r->must_by).s, r->warn_min_h, r->warn_median_h,
		r->warn_max_h);
	report_table_warning(r, out);
	fputc('\n', out);
}

static void md_delayed(const struct report *r, FILE *out)
{
	time_t s = report_due_of(r, "delayed-update-should");
	time_t m = report_due_of(r, "delayed-update-must");

	if (!report_delayed(r))
		return;
	fprintf(out,
		"## Delayed revocation\n\n"
		"MUST-by %s has passed with certificates unrevoked; this is "
		"reportable on its own.\n\n"
		"- Revoked: %s (on time %s, late %s)\n"
		"- Not yet revoked: %s\n"
		"- Expired unrevoked: %s\n",
		report_fmt_time(r->must_by).s,
		report_fmt_num(report_revoked(r)).s,
		report_fmt_num(r->by_verdict[DEADLINE_REVOKED_ON_TIME]).s,
		report_fmt_num(r->by_verdict[DEADLINE_REVOKED_LATE]).s,
		report_fmt_num(r->by_verdict[DEADLINE_OVERDUE]).s,
		report_fmt_num(r->by_verdict[DEADLINE_EXPIRED]).s);
	if (s != DEADLINE_UNSET)
		fprintf(out, "- Next update SHOULD be posted by %s\n",
			report_fmt_time(s).s);
	if (m != DEADLINE_UNSET)
		fprintf(out, "- Next update MUST be posted by %s\n",
			report_fmt_time(m).s);
	fputs("- Estimated completion date: " BLANK "\n\n", out);
}

/* Title, Summary and Clocks. */
static void md_summary(const struct report *r, FILE *out)
{
	fputs("# Incident report: ", out);
	report_md_text(out, r->title);
	fprintf(out,
		"\n\n_Generated by certrecall from the incident database as of "
		"%s. Every figure is computed; fields marked " BLANK
		" are for people to write._\n\n",
		report_fmt_rfc3339(r->at).s);
	if (r->rehearsal_events > 0)
		fprintf(out,
			"> **Rehearsal or replay:** %s events of this incident "
			"were recorded under the rehearsal clock "
			"(CERTRECALL_CLOCK); their real times are in the audit "
			"trail (`event.detail.wall_clock`).\n\n",
			report_fmt_num(r->rehearsal_events).s);
	fputs("## Summary\n\n- **CA Owner:** ", out);
	if (r->organization[0])
		report_md_text(out, r->organization);
	else
		fputs(BLANK, out);
	fputs("\n- **Incident:** `", out);
	report_md_text(out, r->slug);
	fputs("` ", out);
	report_md_text(out, r->title);
	fputs("\n- **Incident description:** " BLANK
	      "\n- **Relevant policies:** ",
	      out);
	report_md_text(out, r->rule.citation);
	fputs(": \"", out);
	report_md_text(out, r->rule.text);
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
		report_fmt_time(r->dates.aware_at).s,
		report_fmt_time(r->should_by).s, report_fmt_time(r->must_by).s);
	if (r->first_sent_at != DEADLINE_UNSET)
		fprintf(out, "subscribers told from %s; ",
			report_fmt_time(r->first_sent_at).s);
	if (r->first_revoked_at != DEADLINE_UNSET)
		fprintf(out, "revocations from %s to %s; ",
			report_fmt_time(r->first_revoked_at).s,
			report_fmt_time(r->last_revoked_at).s);
	fprintf(out, "%s of %s certificates revoked as of %s.\n\n",
		report_fmt_num(report_revoked(r)).s,
		report_fmt_num(r->certificates).s, report_fmt_time(r->at).s);
	fputs("### Clocks\n\n", out);
	report_table_clocks(r, out, false);
	fputc('\n', out);
}

/* Timeline, the completion and the delayed revocation. */
static void md_timeline(const struct report *r, FILE *out)
{
	fputs("## Timeline\n\nAll times UTC.", out);
	if (r->omitted_events > 0) {
		fprintf(out,
			" **Not complete:** of %s audit-trail events, %s from "
			"%s to %s are left out here (the first and the last "
			"%s are shown); `certrecall report ",
			report_fmt_num(r->events).s,
			report_fmt_num(r->omitted_events).s,
			report_fmt_time(r->omitted_from).s,
			report_fmt_time(r->omitted_to).s,
			report_fmt_num(REPORT_TIMELINE_EVENTS / 2).s);
		report_md_text(out, r->slug);
		fputs(" --format events` lists every one.", out);
	}
	fputs("\n\n", out);
	report_table_timeline(r, out, false);
	fprintf(out, "\n- **Expected revocation completion:** %s (MUST-by)\n",
		report_fmt_time(r->must_by).s);
	if (report_unrevoked(r) == 0 && r->certificates > 0)
		fprintf(out,
			"- **Actual revocation completion:** %s (every "
			"affected certificate revoked or expired)\n\n",
			report_fmt_time(r->last_revoked_at).s);
	else
		fprintf(out,
			"- **Actual revocation completion:** not complete, "
			"%s certificates still to revoke\n\n",
			report_fmt_num(report_unrevoked(r)).s);
	md_delayed(r, out);
}

int report_write_md(const struct report *r, FILE *out)
{
	char steps[12][200];
	int nsteps;

	md_summary(r, out);
	md_impact(r, out);
	md_notification(r, out);
	md_timeline(r, out);
	if (r->conflicts > 0)
		fprintf(out,
			"**Conflicting revocation evidence:** %s certificates "
			"have sources that disagree (see `certrecall "
			"revcheck`).\n\n",
			report_fmt_num(r->conflicts).s);
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
		report_fmt_num(r->certificates).s,
		r->certificates < 10000 ? "a CSV file"
					: "a list of crt.sh links");
	report_md_text(out, r->slug);
	fputs(" --format ccadb`).\n\n### Next steps (as of the report)\n\n",
	      out);
	nsteps = report_next_steps(r, steps, 12);
	for (int i = 0; i < nsteps; i++) {
		fputs("- ", out);
		report_md_text(out, steps[i]);
		fputc('\n', out);
	}
	return ferror(out) ? -1 : 0;
}
