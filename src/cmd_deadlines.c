/*
 * cmd_deadlines.c - `certrecall deadlines SLUG`: every clock of an
 * incident, to the second, in UTC.
 */
#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>

#include "certrecall/cli.h"
#include "certrecall/clock.h"
#include "certrecall/db.h"
#include "certrecall/deadline.h"
#include "certrecall/incident.h"
#include "certrecall/log.h"
#include "certrecall/report.h"
#include "certrecall/utctime.h"

/* Everything both commands show, computed once. */
struct clock_view {
	struct incident *inc;
	struct deadline_rule rule;
	struct deadline_progress prog;
	struct deadline_clock clocks[DEADLINE_MAX_CLOCKS];
	int nclocks;
	time_t at;
	time_t should_by;
	time_t must_by;
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
	v->should_by = deadline_should_by(&v->rule, v->inc->aware_at);
	v->must_by = deadline_must_by(&v->rule, v->inc->aware_at);
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

/* "1d 03h 08m left", "overdue by 2d 20h 52m", "-" once met. */
static void remaining_text(const struct deadline_clock *c, char *buf,
			   size_t len)
{
	char d[UTCTIME_BUFSZ];

	if (c->state == DEADLINE_MET) {
		snprintf(buf, len, "-");
		return;
	}
	utctime_format_duration(c->remaining, d, sizeof(d));
	if (c->remaining >= 0)
		snprintf(buf, len, "%s left", d);
	else
		snprintf(buf, len, "overdue by %s", d);
}

static void print_header(const struct clock_view *v)
{
	char aware[UTCTIME_BUFSZ], at[UTCTIME_BUFSZ];

	utctime_format_rfc3339(v->inc->aware_at, aware, sizeof(aware));
	utctime_format_rfc3339(v->at, at, sizeof(at));
	printf("incident  %s: %s\n", v->inc->slug, v->inc->title);
	printf("rule      %s (%s): %s\n", v->rule.citation, v->inc->reason,
	       v->rule.text);
	printf("window    %s%s%s\n",
	       deadline_window_words(v->rule.item->window),
	       v->rule.crlreason_name ? "; CRLReason " : "",
	       v->rule.crlreason_name ? v->rule.crlreason_name : "");
	printf("aware     %s (clock start)\n", aware);
	printf("as of     %s\n", at);
}

static void print_clocks(const struct clock_view *v)
{
	printf("\n%-22s %-21s %-24s %-7s %s\n", "CLOCK", "DUE (UTC)",
	       "REMAINING", "STATE", "RULE");
	for (int i = 0; i < v->nclocks; i++) {
		const struct deadline_clock *c = &v->clocks[i];
		char due[UTCTIME_BUFSZ], rem[64];

		utctime_format_rfc3339(c->due, due, sizeof(due));
		remaining_text(c, rem, sizeof(rem));
		printf("%-22s %-21s %-24s %-7s %s\n", c->id, due, rem,
		       deadline_state_name(c->state), c->rule);
	}
}

static int print_json(const struct clock_view *v)
{
	json_t *clocks = json_array();
	json_t *root;
	int rc;

	for (int i = 0; i < v->nclocks; i++) {
		const struct deadline_clock *c = &v->clocks[i];
		char rem[64];

		remaining_text(c, rem, sizeof(rem));
		json_array_append_new(
			clocks,
			json_pack("{s:s,s:s,s:o,s:I,s:s,s:s}", "id", c->id,
				  "rule", c->rule, "due",
				  report_time_json(c->due), "remaining_seconds",
				  (json_int_t)c->remaining, "remaining", rem,
				  "state", deadline_state_name(c->state)));
	}
	root = json_pack(
		"{s:s,s:s,s:o,s:o,s:{s:s,s:s,s:s,s:s,s:s,s:o},s:{s:b,s:I},"
		"s:o}",
		"incident", v->inc->slug, "title", v->inc->title, "aware_at",
		report_time_json(v->inc->aware_at), "at",
		report_time_json(v->at), "rule", "reason", v->inc->reason,
		"edition", v->rule.edition->name, "citation", v->rule.citation,
		"text", v->rule.text, "window",
		deadline_window_words(v->rule.item->window), "crlreason",
		v->rule.crlreason_name ? json_string(v->rule.crlreason_name)
				       : json_null(),
		"progress", "has_certificates", v->prog.has_certs, "unrevoked",
		(json_int_t)v->prog.unrevoked, "clocks", clocks);
	rc = json_dumpf(root, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	putchar('\n');
	json_decref(root);
	return rc < 0 ? EX_IOERR : 0;
}

/* Shared options: SLUG [--at TIME] [--json]. */
static int parse_args(const char *cmd, int argc, char **argv, const char **slug,
		      time_t *at, bool *json)
{
	static const struct option opts[] = {
		{ "at", required_argument, NULL, 'a' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	*at = clock_now();
	*json = false;
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
	const char *slug = NULL;
	time_t at;
	bool json;
	int rc;

	rc = parse_args("deadlines", argc, argv, &slug, &at, &json);
	if (rc != 0)
		return rc;
	rc = clock_view_load(cli, slug, at, &v);
	if (rc == 0) {
		if (json) {
			rc = print_json(&v);
		} else {
			print_header(&v);
			print_clocks(&v);
		}
	}
	clock_view_release(&v);
	return rc;
}
