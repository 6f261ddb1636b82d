/*
 * cmd_status.c - `certrecall status SLUG [--at TIME] [--watch[=SECONDS]]`:
 * the one screen for the person on call.
 *
 * The dashboard (clocks with countdowns, progress of revocation,
 * deployment and notification, each stage's last activity, what to do
 * next) comes from the report module; below it, the raw counts by
 * verdict, notice state and probe verdict.  --watch redraws it in place
 * on a terminal (plain repeated screens otherwise) until interrupted.
 */
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "certrecall/cmd/cli.h"
#include "certrecall/base/clock.h"
#include "certrecall/core/config.h"
#include "certrecall/core/dashboard.h"
#include "certrecall/store/incident.h"
#include "certrecall/core/jsonout.h"
#include "certrecall/base/log.h"
#include "certrecall/core/report.h"
#include "certrecall/store/report_store.h"
#include "certrecall/store/status_store.h"
#include "certrecall/base/utctime.h"
#include "certrecall/base/xalloc.h"

static volatile sig_atomic_t stop_watch;

static void on_signal(int sig)
{
	(void)sig;
	stop_watch = 1;
}

/* Prints "  label  count" rows of one of status_store's counts, under a
 * title. */
static int print_grouped(struct db *db, FILE *out, int width, const char *title,
			 enum status_store_group g, long long incident_id)
{
	struct status_store_count *v;
	const char **labels, **counts;
	char(*nums)[32];
	size_t n;
	int rc;

	if (status_store_counts(db, incident_id, g, &v, &n) < 0)
		return -1;
	labels = xcalloc(n + 1, sizeof(*labels));
	counts = xcalloc(n + 1, sizeof(*counts));
	nums = xcalloc(n + 1, sizeof(*nums));
	for (size_t i = 0; i < n; i++) {
		labels[i] = v[i].label;
		if (snprintf(nums[i], sizeof(nums[i]), "%lld", v[i].count) >=
		    (int)sizeof(nums[i]))
			nums[i][0] = '\0'; /* cannot be: 20 digits at most */
		counts[i] = nums[i];
	}
	rc = dashboard_write_counts(out, width, title, labels, counts, (int)n);
	free(nums);
	free(labels);
	free(counts);
	status_store_counts_free(v, n);
	return rc;
}

/* The raw counts under the dashboard, in the report's words and order. */
static int print_counts(struct db *db, const struct report *r,
			long long incident_id, FILE *out, int width)
{
	static const enum deadline_verdict order[] = {
		DEADLINE_REVOKED_ON_TIME, DEADLINE_REVOKED_LATE,
		DEADLINE_PENDING,	  DEADLINE_OVERDUE,
		DEADLINE_EXPIRED,
	};
	static const char *const words[] = {
		"revoked on time", "revoked late", "pending",
		"overdue",	   "expired",
	};
	char nums[5][32], title[64];
	const char *counts[5];

	for (size_t i = 0; i < 5; i++) {
		snprintf(nums[i], sizeof(nums[i]), "%lld",
			 r->by_verdict[order[i]]);
		counts[i] = nums[i];
	}
	snprintf(title, sizeof(title), "certificates  %lld", r->certificates);
	if (dashboard_write_counts(out, width, title, words, counts, 5) < 0)
		return -1;
	if (r->short_lived > 0)
		fprintf(out,
			"  (%lld short-lived: MAY be left unrevoked, BR "
			"4.9.1.1)\n",
			r->short_lived);
	fprintf(out,
		"\nsubscribers   told %lld, bounced %lld, unreachable %lld, "
		"no address %lld\n",
		r->reach[0], r->reach[1], r->reach[2], r->reach[3]);
	/* never the relay's acceptance as delivery (docs/notify.md) */
	fprintf(out,
		"              of them delivered %lld (DSN), accepted by a "
		"relay only %lld\n",
		r->reach[4], r->reach[0] - r->reach[4]);
	if (print_grouped(db, out, width, "notices (kind, state)",
			  STATUS_STORE_NOTICES, incident_id) < 0)
		return -1;
	if (print_grouped(db, out, width,
			  "names (by outcome of their latest round)",
			  STATUS_STORE_NAMES_SCREEN, incident_id) < 0)
		return -1;
	return print_grouped(db, out, width, "latest probes (by verdict)",
			     STATUS_STORE_PROBES_SCREEN, incident_id);
}

static int terminal_width(void)
{
	struct winsize ws;

	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	return 80;
}

/*
 * Colour only for a person at a terminal: not when piped, not on a dumb
 * terminal, and not when NO_COLOR is set to anything but "" (no-color.org).
 */
static bool want_color(void)
{
	const char *no = getenv("NO_COLOR"), *term = getenv("TERM");

	if (!isatty(STDOUT_FILENO) || (no != NULL && no[0] != '\0'))
		return false;
	return term == NULL || strcmp(term, "dumb") != 0;
}

/*
 * One of status_store's counts as an array of {key: label, "count": n}
 * (with "failure" after the label when with_failure); NULL on error
 * (logged).
 */
static json_t *grouped_json(struct db *db, const char *key,
			    enum status_store_group g, bool with_failure,
			    long long incident_id)
{
	struct status_store_count *v;
	size_t n;
	json_t *a;

	if (status_store_counts(db, incident_id, g, &v, &n) < 0)
		return NULL;
	a = json_array();
	for (size_t r = 0; r < n; r++)
		json_array_append_new(
			a,
			with_failure
				? json_pack("{s:s,s:o,s:I}", key, v[r].label,
					    "failure",
					    v[r].failure
						    ? json_string(v[r].failure)
						    : json_null(),
					    "count", (json_int_t)v[r].count)
				: json_pack("{s:s,s:I}", key, v[r].label,
					    "count", (json_int_t)v[r].count));
	status_store_counts_free(v, n);
	return a;
}

/*
 * The dashboard's figures as one document (docs/schema/status.schema.json):
 * the same report_store_gather() figures and count queries the screen shows,
 * not its text.  NULL on error (logged).
 */
static json_t *status_json(struct db *db, const struct report *r,
			   long long incident_id)
{
	json_t *doc = jsonout_new("status"), *a, *o;
	char steps[12][200];
	long long told = r->addresses_notified;
	long long failed = 0, retrying = 0;
	int nsteps;

	json_object_set_new(doc, "at", jsonout_time(r->at));
	json_object_set_new(doc, "incident",
			    json_pack("{s:s,s:s,s:s,s:s}", "slug", r->slug,
				      "title", r->title, "reason", r->reason,
				      "rule", r->rule.citation));
	a = json_array();
	for (int i = 0; i < r->nclocks; i++) {
		const struct deadline_clock *c = &r->clocks[i];

		json_array_append_new(
			a,
			json_pack("{s:s,s:s,s:o,s:I,s:s,s:b}", "id", c->id,
				  "rule", c->rule, "due", jsonout_time(c->due),
				  "remaining_seconds", (json_int_t)c->remaining,
				  "state", deadline_state_name(c->state),
				  "done", c->done));
	}
	json_object_set_new(doc, "clocks", a);
	o = json_object();
	for (int v = 0; v < 5; v++)
		jsonout_set_key(o,
				deadline_verdict_name((enum deadline_verdict)v),
				json_integer(r->by_verdict[v]));
	json_object_set_new(doc, "certificates",
			    json_pack("{s:I,s:I,s:I,s:o}", "total",
				      (json_int_t)r->certificates,
				      "still_valid", (json_int_t)r->still_valid,
				      "short_lived", (json_int_t)r->short_lived,
				      "by_verdict", o));
	o = json_object();
	for (int d = 0; d < REPORT_NDEPLOY; d++)
		jsonout_set_key(o, report_deploy_name((enum report_deploy)d),
				json_integer(r->deploy_unrevoked[d]));
	a = json_array();
	for (size_t i = 0; i < r->nserved_on; i++)
		json_array_append_new(a, report_served_json(&r->served_on[i]));
	json_object_set_new(
		doc, "deployment",
		json_pack("{s:I,s:I,s:I,s:I,s:I,s:o,s:o,s:o,s:I}", "names",
			  (json_int_t)r->scan_targets, "names_scanned",
			  (json_int_t)r->scanned_targets, "answered",
			  (json_int_t)r->scan_answered, "failed",
			  (json_int_t)r->scan_failed, "filtered",
			  (json_int_t)r->scan_filtered, "latest_scan_at",
			  jsonout_time(r->latest_scan_at), "still_to_revoke", o,
			  "served_on", a, "served_on_total",
			  (json_int_t)r->nserved_on_all));
	for (int k = 0; k < REPORT_KINDS; k++) {
		failed += r->notices[k][4];
		retrying += r->notices[k][3];
	}
	json_object_set_new(
		doc, "notification",
		json_pack("{s:I,s:I,s:I,s:I,s:I}", "addresses_told",
			  (json_int_t)told, "addresses",
			  (json_int_t)(told + r->addresses_unnotified),
			  "failed", (json_int_t)failed, "retrying",
			  (json_int_t)retrying, "accounts_without_address",
			  (json_int_t)r->no_address_accounts));
	a = json_array();
	for (int i = 0; i < REPORT_NSTAGES; i++) {
		const struct report_stage *s = &r->stages[i];

		json_array_append_new(
			a, json_pack("{s:s,s:o,s:o}", "stage",
				     s->name ? s->name : "?", "at",
				     jsonout_time(s->at), "detail",
				     jsonout_str(s->at == DEADLINE_UNSET
							 ? NULL
							 : s->detail)));
	}
	json_object_set_new(doc, "last_activity", a);
	json_object_set_new(doc, "subscribers",
			    json_pack("{s:I,s:I,s:I,s:I}", "told",
				      (json_int_t)r->reach[0], "bounced",
				      (json_int_t)r->reach[1], "unreachable",
				      (json_int_t)r->reach[2], "no_address",
				      (json_int_t)r->reach[3]));
	a = json_array();
	nsteps = report_next_steps(r, steps, 12);
	for (int i = 0; i < nsteps; i++)
		json_array_append_new(a, json_string(steps[i]));
	json_object_set_new(doc, "next", a);
	a = json_array();
	for (int k = 0; k < REPORT_KINDS; k++)
		for (int st = 0; st < REPORT_STATES; st++)
			if (r->notices[k][st] > 0)
				json_array_append_new(
					a,
					json_pack(
						"{s:s,s:s,s:I}", "kind",
						report_kind_name(k), "state",
						report_state_name(st), "count",
						(json_int_t)r->notices[k][st]));
	json_object_set_new(doc, "notices", a);
	/* Probeable names by the outcome of their latest probe
	 * ("not_tried" when none yet) and, for failed ones, its cause. */
	a = grouped_json(db, "outcome", STATUS_STORE_NAMES, true, incident_id);
	if (a == NULL)
		goto fail;
	json_object_set_new(doc, "names_by_outcome", a);
	a = grouped_json(db, "verdict", STATUS_STORE_PROBES, false,
			 incident_id);
	if (a == NULL)
		goto fail;
	json_object_set_new(doc, "latest_probes_by_verdict", a);
	return doc;
fail:
	json_decref(doc);
	return NULL;
}

/* One document of the dashboard's figures, written to stdout: 0, -1
 * (logged), or 1 when standard output failed (its reader gone). */
static int emit_json(struct cli *cli, const struct incident *inc, time_t at,
		     enum jsonout_mode mode)
{
	struct report *r;
	json_t *doc;

	r = report_store_gather(cli->db, inc, at, cli->cfg->report.organization,
				REPORT_FIGURES);
	if (r == NULL)
		return -1;
	doc = status_json(cli->db, r, inc->id);
	report_free(r);
	if (doc == NULL)
		return -1;
	json_object_set_new(json_object_get(doc, "incident"), "closed_at",
			    jsonout_time(inc->closed_at));
	json_object_set_new(json_object_get(doc, "incident"), "closed_reason",
			    jsonout_str(inc->closed_reason));
	/* A write error is reported by the dispatcher's final flush. */
	return jsonout_write(doc, stdout, mode) < 0 ? 1 : 0;
}

/* One screen into a memory buffer, so a redraw never flickers. */
static int render(struct cli *cli, const struct incident *inc, time_t at,
		  char **text, size_t *len)
{
	struct report *r;
	FILE *mem;
	int rc = -1, width = terminal_width();

	r = report_store_gather(cli->db, inc, at, cli->cfg->report.organization,
				REPORT_FIGURES);
	if (r == NULL)
		return -1;
	mem = open_memstream(text, len);
	if (mem == NULL) {
		report_free(r);
		return log_error("status: %m");
	}
	if (inc->closed_at != DEADLINE_UNSET) {
		char when[UTCTIME_BUFSZ];

		if (utctime_format_rfc3339(inc->closed_at, when, sizeof(when)) <
		    0)
			when[0] = '\0';
		/* 026: why ARI no longer asks for renewal */
		fprintf(mem, "closed at %s%s%s%s\n\n", when,
			inc->closed_reason ? " (" : "",
			inc->closed_reason ? inc->closed_reason : "",
			inc->closed_reason ? ")" : "");
	}
	if (dashboard_write(r, mem, width, want_color()) == 0 &&
	    print_counts(cli->db, r, inc->id, mem, width) == 0)
		rc = 0;
	fclose(mem);
	report_free(r);
	return rc;
}

int cmd_status(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "at", required_argument, NULL, 'a' },
		{ "watch", optional_argument, NULL, 'w' },
		{ "json", no_argument, NULL, 'j' },
		{ "jsonl", no_argument, NULL, 'J' },
		{ NULL, 0, NULL, 0 },
	};
	enum jsonout_mode json = JSONOUT_NONE;
	struct incident *inc = NULL;
	bool at_given = false, tty = isatty(STDOUT_FILENO);
	long long interval = 0;
	time_t at = clock_now();
	int c, rc;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'a':
			if (cli_parse_time("--at", optarg, &at) != 0)
				return EX_DATAERR;
			at_given = true;
			break;
		case 'w':
			interval = 10;
			if (optarg &&
			    (cli_parse_count("status", "--watch", optarg, 86400,
					     &interval) ||
			     interval == 0))
				return cli_usage_error(
					"status",
					"--watch=SECONDS: 1 to 86400");
			break;
		case 'j':
			json = JSONOUT_DOC;
			break;
		case 'J':
			json = JSONOUT_LINES;
			break;
		default:
			return cli_bad_option("status", argv);
		}
	}
	if (interval > 0 && at_given)
		return cli_usage_error("status", "--watch shows the present; "
						 "drop --at");
	if (interval > 0 && json == JSONOUT_DOC)
		return cli_usage_error("status", "--watch writes a stream: use "
						 "--jsonl, one document a "
						 "line");
	rc = cli_open_incident(cli, "status", argc, argv, &inc);
	if (rc != 0)
		return rc;
	if (interval > 0) {
		signal(SIGINT, on_signal);
		signal(SIGTERM, on_signal);
	}
	do {
		char *text = NULL;
		size_t len = 0;

		if (interval > 0)
			at = clock_now();
		if (json != JSONOUT_NONE) {
			int e = emit_json(cli, inc, at, json);

			if (e != 0) {
				rc = e < 0 ? EX_TEMPFAIL : EX_IOERR;
				break;
			}
			goto wait;
		}
		if (render(cli, inc, at, &text, &len) < 0) {
			free(text);
			rc = EX_TEMPFAIL;
			break;
		}
		if (interval > 0 && tty)
			fputs("\033[H\033[2J", stdout);
		fwrite(text, 1, len, stdout);
		if (interval > 0) {
			if (!tty)
				fputs("\n", stdout);
			else
				printf("\n(refreshing every %llds; Ctrl-C to "
				       "stop)\n",
				       interval);
		}
		fflush(stdout);
		free(text);
	wait:
		for (long long s = 0;
		     interval > 0 && s < interval * 10 && !stop_watch; s++) {
			struct timespec ts = { 0, 100000000 };

			nanosleep(&ts, NULL);
		}
	} while (interval > 0 && !stop_watch);
	incident_free(inc);
	return rc;
}
