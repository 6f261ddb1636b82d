/*
 * cmd_deadlines.c - `certrecall deadlines SLUG [--alert DURATION]`: every
 * clock of an incident, to the second, in UTC; or, for monitoring, one
 * line and exit 1 when a clock not yet fulfilled is overdue or due soon.
 */
#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>

#include "certrecall/cmd/cli.h"
#include "certrecall/base/clock.h"
#include "certrecall/core/config.h"
#include "certrecall/store/db.h"
#include "certrecall/core/deadline.h"
#include "certrecall/store/incident.h"
#include "certrecall/core/jsonout.h"
#include "certrecall/base/log.h"
#include "certrecall/core/report.h"
#include "certrecall/base/utctime.h"
#include "certrecall/base/xalloc.h"

/* Everything both commands show, computed once. */
struct clock_view {
	struct incident *inc;
	struct deadline_rule rule;
	struct deadline_progress prog;
	struct deadline_clock clocks[DEADLINE_MAX_CLOCKS];
	int nclocks;
	time_t at;
	time_t start;		/* revocation clocks start here */
	const char *start_from; /* "aware_at" or "cpr_received_at" */
	time_t should_by;
	time_t must_by;
};

/* deadlines --alert: which clocks need someone now. */
struct alert {
	const char *within;		/* the DURATION as given */
	long long within_s;		/* in seconds */
	int missed;			/* not fulfilled, past due */
	int due;			/* not fulfilled, due within within_s */
	int order[DEADLINE_MAX_CLOCKS]; /* missed, then due, soonest first */
	const struct deadline_clock *next; /* soonest other open clock */
};

static void clock_view_release(struct clock_view *v)
{
	incident_free(v->inc);
	v->inc = NULL;
}

static int clock_view_load(struct cli *cli, const char *slug, time_t at,
			   struct clock_view *v)
{
	struct deadline_incident di;
	char err[512];

	memset(v, 0, sizeof(*v));
	v->at = at;
	if (cli_connect(cli) < 0)
		return EX_UNAVAILABLE;
	v->inc = incident_find(cli->db, slug);
	if (v->inc == NULL)
		return EX_DATAERR;
	if (deadline_resolve(v->inc->reason, v->inc->aware_at, &v->rule, err,
			     sizeof(err)) < 0) {
		log_error("incident %s: %s", slug, err);
		return EX_DATAERR;
	}
	/* BR 4.9.5: an earlier problem report starts the clocks. */
	v->start = incident_revoke_start(v->inc, &v->rule, &v->start_from);
	v->should_by = deadline_should_by(&v->rule, v->start);
	v->must_by = deadline_must_by(&v->rule, v->start);
	if (incident_progress(cli->db, v->inc->id, v->must_by, at, &v->prog) <
	    0)
		return EX_TEMPFAIL;
	incident_to_deadline(v->inc, &di);
	v->nclocks = deadline_compute(&di, &v->rule, &v->prog, at, v->clocks,
				      err, sizeof(err));
	if (v->nclocks < 0) {
		log_error("incident %s: %s", slug, err);
		return EX_DATAERR;
	}
	return 0;
}

/* "1d 03h 08m left", "overdue by 2d 20h 52m", "-" once met (caller
 * frees). */
static char *remaining_text(const struct deadline_clock *c)
{
	char d[UTCTIME_BUFSZ];

	if (c->state == DEADLINE_MET)
		return xstrdup("-");
	if (utctime_format_duration(c->remaining, d, sizeof(d)) < 0)
		log_error("cannot format duration %lld",
			  (long long)(c->remaining));
	if (c->remaining >= 0)
		return xasprintf("%s left", d);
	return xasprintf("overdue by %s", d);
}

static void print_header(const struct clock_view *v)
{
	char aware[UTCTIME_BUFSZ], at[UTCTIME_BUFSZ], start[UTCTIME_BUFSZ],
		cpr[UTCTIME_BUFSZ];

	if (utctime_format_rfc3339(v->inc->aware_at, aware, sizeof(aware)) < 0)
		log_error("cannot format time %lld",
			  (long long)(v->inc->aware_at));
	if (utctime_format_rfc3339(v->at, at, sizeof(at)) < 0)
		log_error("cannot format time %lld", (long long)(v->at));
	if (utctime_format_rfc3339(v->start, start, sizeof(start)) < 0)
		log_error("cannot format time %lld", (long long)(v->start));
	printf("incident  %s: %s\n", v->inc->slug, v->inc->title);
	printf("rule      %s (%s): %s\n", v->rule.citation, v->inc->reason,
	       v->rule.text);
	printf("window    %s%s%s\n",
	       deadline_window_words(v->rule.item->window),
	       v->rule.crlreason_name ? "; CRLReason " : "",
	       v->rule.crlreason_name ? v->rule.crlreason_name : "");
	printf("aware     %s\n", aware);
	if (v->inc->cpr_received_at != DEADLINE_UNSET) {
		if (utctime_format_rfc3339(v->inc->cpr_received_at, cpr,
					   sizeof(cpr)) < 0)
			log_error("cannot format time %lld",
				  (long long)(v->inc->cpr_received_at));
		printf("report    %s (certificate problem report received)\n",
		       cpr);
	}
	printf("start     %s from %s%s\n", start, v->start_from,
	       strcmp(v->start_from, "cpr_received_at") == 0
		       ? " (BR 4.9.5: from the report to revocation within "
			 "the 4.9.1.1 window)"
		       : "");
	printf("as of     %s\n", at);
}

/* "2019-12-19" */
static void format_date(time_t t, char *buf, size_t len)
{
	if (utctime_format_rfc3339(t, buf, len) == 0 && len > 10)
		buf[10] = '\0';
}

static void print_clocks(const struct clock_view *v)
{
	const struct deadline_clock_def *def;

	printf("\n%-22s %-21s %-24s %-7s %-10s %s\n", "CLOCK", "DUE (UTC)",
	       "REMAINING", "STATE", "IN FORCE", "RULE");
	for (int i = 0; i < v->nclocks; i++) {
		const struct deadline_clock *c = &v->clocks[i];
		char due[UTCTIME_BUFSZ], since[UTCTIME_BUFSZ], *rem;

		if (utctime_format_rfc3339(c->due, due, sizeof(due)) < 0)
			log_error("cannot format time %lld",
				  (long long)(c->due));
		rem = remaining_text(c);
		format_date(c->effective, since, sizeof(since));
		printf("%-22s %-21s %-24s %-7s %-10s %s\n", c->id, due, rem,
		       deadline_state_name(c->state), since, c->rule);
		free(rem);
	}
	/* Clocks whose source came later than the incident: say so. */
	for (size_t i = 0, n = 0; (def = deadline_clock_def_get0(i)) != NULL;
	     i++) {
		char since[UTCTIME_BUFSZ];

		if (deadline_clock_def_in_force(def, v->inc->aware_at))
			continue;
		if (n++ == 0)
			putchar('\n');
		format_date(def->effective, since, sizeof(since));
		printf("not applied: %s (%s %s, in force from %s): %s\n",
		       def->id, def->document, def->edition, since, def->what);
	}
}

/*
 * Sorts the clocks that need someone into a->order: every clock not yet
 * fulfilled that is past due ("missed", whether or not the engine could
 * judge it yet), then those due within the window, soonest first.
 */
static void alert_eval(const struct clock_view *v, struct alert *a)
{
	int n = 0;

	a->missed = a->due = 0;
	a->next = NULL;
	for (int i = 0; i < v->nclocks; i++) {
		const struct deadline_clock *c = &v->clocks[i];
		int j;

		if (c->done)
			continue;
		if (c->remaining > a->within_s) {
			if (a->next == NULL || c->due < a->next->due)
				a->next = c;
			continue;
		}
		if (c->remaining < 0)
			a->missed++;
		else
			a->due++;
		/* insertion sort: overdue first, then by due time */
		for (j = n; j > 0; j--) {
			const struct deadline_clock *o =
				&v->clocks[a->order[j - 1]];

			if ((o->remaining < 0) > (c->remaining < 0) ||
			    ((o->remaining < 0) == (c->remaining < 0) &&
			     o->due <= c->due))
				break;
			a->order[j] = a->order[j - 1];
		}
		a->order[j] = i;
		n++;
	}
}

/* The one line of --alert, Nagios style: "OK ..." or "ALERT ...". */
static void alert_print(const struct clock_view *v, const struct alert *a)
{
	char d[UTCTIME_BUFSZ], due[UTCTIME_BUFSZ];
	int n = a->missed + a->due;

	if (n == 0) {
		printf("OK %s: no clock due within %s", v->inc->slug,
		       a->within);
		if (a->next != NULL) {
			if (utctime_format_duration(a->next->remaining, d,
						    sizeof(d)) < 0)
				log_error("cannot format duration %lld",
					  (long long)(a->next->remaining));
			if (utctime_format_rfc3339(a->next->due, due,
						   sizeof(due)) < 0)
				log_error("cannot format time %lld",
					  (long long)(a->next->due));
			printf("; next: %s in %s (%s)", a->next->id, d, due);
		} else {
			printf("; no clock open");
		}
		putchar('\n');
		return;
	}
	printf("ALERT %s: %d missed, %d due within %s:", v->inc->slug,
	       a->missed, a->due, a->within);
	for (int i = 0; i < n; i++) {
		const struct deadline_clock *c = &v->clocks[a->order[i]];

		if (utctime_format_duration(c->remaining, d, sizeof(d)) < 0)
			log_error("cannot format duration %lld",
				  (long long)(c->remaining));
		if (utctime_format_rfc3339(c->due, due, sizeof(due)) < 0)
			log_error("cannot format time %lld",
				  (long long)(c->due));
		printf("%s %s %s%s (%s)", i ? "," : "", c->id,
		       c->remaining < 0 ? "overdue by " : "in ", d, due);
	}
	putchar('\n');
}

static int print_json(const struct clock_view *v, const struct alert *a)
{
	const struct deadline_clock_def *def;
	json_t *clocks = json_array(), *skipped = json_array();
	json_t *root;
	int rc;

	for (int i = 0; i < v->nclocks; i++) {
		const struct deadline_clock *c = &v->clocks[i];
		char *rem = remaining_text(c);

		json_array_append_new(
			clocks,
			json_pack("{s:s,s:s,s:s,s:o,s:o,s:s,s:o,s:I,s:s,s:s,"
				  "s:b}",
				  "id", c->id, "rule", c->rule, "source",
				  c->source, "effective",
				  jsonout_time(c->effective), "start",
				  jsonout_time(c->start), "start_from",
				  c->start_from, "due", jsonout_time(c->due),
				  "remaining_seconds", (json_int_t)c->remaining,
				  "remaining", rem, "state",
				  deadline_state_name(c->state), "done",
				  c->done));
		free(rem);
	}
	for (size_t i = 0; (def = deadline_clock_def_get0(i)) != NULL; i++) {
		char *source;

		if (deadline_clock_def_in_force(def, v->inc->aware_at))
			continue;
		source = xasprintf("%s %s", def->document, def->edition);
		json_array_append_new(skipped,
				      json_pack("{s:s,s:s,s:o}", "id", def->id,
						"source", source, "effective",
						jsonout_time(def->effective)));
		free(source);
	}
	root = json_pack(
		"{s:s,s:s,s:o,s:o,s:{s:o,s:s},s:{s:s,s:s,s:s,s:s,s:s,s:o},"
		"s:{s:b,s:I},s:o,s:o}",
		"incident", v->inc->slug, "title", v->inc->title, "aware_at",
		jsonout_time(v->inc->aware_at), "at", jsonout_time(v->at),
		"revocation_start", "at", jsonout_time(v->start), "from",
		v->start_from, "rule", "reason", v->inc->reason, "edition",
		v->rule.edition->name, "citation", v->rule.citation, "text",
		v->rule.text, "window",
		deadline_window_words(v->rule.item->window), "crlreason",
		v->rule.crlreason_name ? json_string(v->rule.crlreason_name)
				       : json_null(),
		"progress", "has_certificates", v->prog.has_certs, "unrevoked",
		(json_int_t)v->prog.unrevoked, "clocks", clocks, "not_applied",
		skipped);
	if (a != NULL)
		json_object_set_new(
			root, "alert",
			json_pack("{s:s,s:I,s:b,s:i,s:i}", "within", a->within,
				  "within_seconds", (json_int_t)a->within_s,
				  "alerting", a->missed + a->due > 0, "missed",
				  a->missed, "due_within", a->due));
	{
		json_t *doc = jsonout_new("deadlines");

		json_object_update_new(doc, root);
		rc = jsonout_write(doc, stdout, JSONOUT_DOC);
	}
	return rc < 0 ? EX_IOERR : 0;
}

/* Options: SLUG [--at TIME] [--json] [--alert DURATION]. */
static int parse_args(const char *cmd, int argc, char **argv, const char **slug,
		      time_t *at, bool *json, struct alert *alert)
{
	static const struct option opts[] = {
		{ "at", required_argument, NULL, 'a' },
		{ "json", no_argument, NULL, 'j' },
		{ "alert", required_argument, NULL, 'A' },
		{ NULL, 0, NULL, 0 },
	};
	long long ms;
	int c;

	*at = clock_now();
	*json = false;
	alert->within = NULL;
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'a':
			if (cli_parse_time("--at", optarg, at) != 0)
				return EX_DATAERR;
			break;
		case 'j':
			*json = true;
			break;
		case 'A':
			if (config_parse_duration(optarg, &ms) < 0)
				return cli_usage_error(
					cmd,
					"--alert: \"%s\" is not a duration "
					"(e.g. 30m, 12h, 2d)",
					optarg);
			alert->within = optarg;
			alert->within_s = ms / 1000;
			break;
		default:
			return cli_bad_option(cmd, argv);
		}
	}
	if (optind != argc - 1)
		return cli_usage_error(cmd, "expected one incident SLUG");
	*slug = argv[optind];
	return 0;
}

int cmd_deadlines(struct cli *cli, int argc, char **argv)
{
	struct clock_view v;
	struct alert alert;
	const char *slug = NULL;
	time_t at;
	bool json;
	int rc;

	rc = parse_args("deadlines", argc, argv, &slug, &at, &json, &alert);
	if (rc != 0)
		return rc;
	rc = clock_view_load(cli, slug, at, &v);
	if (rc == 0) {
		if (alert.within != NULL)
			alert_eval(&v, &alert);
		if (json) {
			rc = print_json(&v, alert.within ? &alert : NULL);
		} else if (alert.within != NULL) {
			alert_print(&v, &alert);
		} else {
			print_header(&v);
			print_clocks(&v);
		}
		/* --alert: 1 when someone must act (monitoring plugins). */
		if (rc == 0 && alert.within != NULL &&
		    alert.missed + alert.due > 0)
			rc = 1;
	}
	clock_view_release(&v);
	return rc;
}
