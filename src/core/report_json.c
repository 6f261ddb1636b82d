/*
 * report_json.c - a gathered report as JSON (schema
 * certrecall-report/1, docs/schema/).  Pure (report_render.c).
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "certrecall/core/jsonout.h"
#include "certrecall/core/report.h"
#include "certrecall/base/xalloc.h"

/* -------------------------------------------------------------- JSON */

json_t *report_time_json(time_t t)
{
	return jsonout_time(t);
}

json_t *report_served_json(const struct report_served *s)
{
	return json_pack("{s:s,s:s?,s:I,s:I,s:I,s:I}", "target", s->target,
			 "probed_via", s->via, "served", (json_int_t)s->served,
			 "addresses", (json_int_t)s->addresses, "no_address",
			 (json_int_t)s->no_address, "unresolved",
			 (json_int_t)s->unresolved);
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

/* The incident, its rule and its dates. */
static void json_incident(const struct report *r, json_t *root)
{
	json_t *o;

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
}

/* The clocks, and the certificates by verdict, deployment and scan. */
static void json_impact(const struct report *r, json_t *root)
{
	json_t *o, *a;

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
			o, deadline_verdict_name(report_verdict_order[i]),
			json_integer(r->by_verdict[report_verdict_order[i]]));
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
	/* issue 19: the targets still serving an affected certificate,
	 * on how many of their addresses (latest round). */
	{
		json_t *so = json_array();

		for (size_t i = 0; i < r->nserved_on; i++)
			json_array_append_new(
				so, report_served_json(&r->served_on[i]));
		json_object_set_new(
			json_object_get(json_object_get(root, "impact"),
					"scan"),
			"served_on", so);
	}
}

/* Notices by kind and state, warning time, reach. */
static void json_notification(const struct report *r, json_t *root)
{
	json_t *o, *a;

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
			    json_pack("{s:I,s:I,s:I,s:I,s:I}", "told",
				      (json_int_t)r->reach[0], "delivered",
				      (json_int_t)r->reach[4], "bounced",
				      (json_int_t)r->reach[1], "unreachable",
				      (json_int_t)r->reach[2], "no_address",
				      (json_int_t)r->reach[3]));
	/* Not reached (issue 21): certificates by reason, rows of the
	 * --format unreached list. */
	if (r->unreached[REPORT_UNREACHED_REASONS] >= 0)
		json_object_set_new(
			json_object_get(root, "notification"), "unreached",
			json_pack("{s:I,s:I,s:I,s:I,s:I,s:I}", "certificates",
				  (json_int_t)r
					  ->unreached[REPORT_UNREACHED_REASONS],
				  "bounced", (json_int_t)r->unreached[0],
				  "unreachable", (json_int_t)r->unreached[1],
				  "failed", (json_int_t)r->unreached[2],
				  "no_address", (json_int_t)r->unreached[3],
				  "rows", (json_int_t)r->unreached_rows));
}

/* Revocations over time, what is left, the delayed revocation. */
static void json_revocation(const struct report *r, json_t *root)
{
	json_t *a;

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
	if (report_delayed(r)) {
		time_t s = report_due_of(r, "delayed-update-should");
		time_t m = report_due_of(r, "delayed-update-must");

		json_object_set_new(
			root, "delayed_revocation",
			json_pack("{s:I,s:I,s:I,s:o,s:o}", "revoked",
				  (json_int_t)report_revoked(r), "not_revoked",
				  (json_int_t)r->by_verdict[DEADLINE_OVERDUE],
				  "expired",
				  (json_int_t)r->by_verdict[DEADLINE_EXPIRED],
				  "next_update_should", report_time_json(s),
				  "next_update_must", report_time_json(m)));
	} else {
		json_object_set_new(root, "delayed_revocation", json_null());
	}
}

/* The timeline, what it leaves out, the stages. */
static void json_timeline(const struct report *r, json_t *root)
{
	json_t *a;

	a = json_array();
	for (size_t i = 0; i < r->ntimeline; i++)
		json_array_append_new(
			a, json_pack("{s:o,s:s}", "at",
				     report_time_json(r->timeline[i].at),
				     "what", r->timeline[i].what));
	json_object_set_new(root, "timeline", a);
	if (r->omitted_events > 0) {
		char *cmd = xasprintf("certrecall report %s --format events",
				      r->slug);

		json_object_set_new(
			root, "timeline_omitted",
			json_pack("{s:I,s:I,s:o,s:o,s:s}", "events",
				  (json_int_t)r->omitted_events, "of",
				  (json_int_t)r->events, "from",
				  report_time_json(r->omitted_from), "to",
				  report_time_json(r->omitted_to), "command",
				  cmd));
		free(cmd);
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
}

int report_write_json(const struct report *r, FILE *out)
{
	json_t *root = json_object(), *a;
	char steps[12][200];
	int nsteps, rc;

	json_object_set_new(root, "schema", json_string("certrecall-report/1"));
	json_object_set_new(root, "at", report_time_json(r->at));
	json_incident(r, root);
	json_impact(r, root);
	json_notification(r, root);
	json_revocation(r, root);
	json_timeline(r, root);
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
