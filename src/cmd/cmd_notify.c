/*
 * cmd_notify.c - `certrecall notify SLUG --kind K | --preview ADDRESS |
 * --plan`.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "certrecall/cmd/cli.h"
#include "certrecall/core/config.h"
#include "certrecall/store/incident.h"
#include "certrecall/core/jsonout.h"
#include "certrecall/base/log.h"
#include "certrecall/stage/mailer.h"
#include "certrecall/base/utctime.h"

/* docs/schema/notify-plan.schema.json */
static int plan_json(struct cli *cli, const struct incident *inc,
		     enum jsonout_mode mode)
{
	struct mailer_plan_row rows[MAILER_NKINDS];
	json_t *doc, *a;

	if (mailer_plan_count(cli->db, inc, rows) < 0)
		return MAILER_ERR_TEMP;
	a = json_array();
	for (size_t k = 0; k < MAILER_NKINDS; k++)
		json_array_append_new(
			a, json_pack("{s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:o,s:o}",
				     "kind", rows[k].kind, "due",
				     (json_int_t)rows[k].due, "addresses",
				     (json_int_t)rows[k].addresses, "sent",
				     (json_int_t)rows[k].sent, "failed",
				     (json_int_t)rows[k].failed, "retry",
				     (json_int_t)rows[k].retry, "no_address",
				     (json_int_t)rows[k].no_address,
				     "earliest_deadline",
				     jsonout_time(rows[k].earliest),
				     "latest_deadline",
				     jsonout_time(rows[k].latest)));
	doc = jsonout_new("notify-plan");
	json_object_set_new(doc, "incident", json_string(inc->slug));
	json_object_set_new(doc, "kinds", a);
	jsonout_write(doc, stdout, mode);
	return 0;
}

/* The run's summary (docs/schema/notify.schema.json). */
static void summary_json(const struct incident *inc,
			 const struct mailer_options *opt,
			 const struct mailer_stats *st, int rc,
			 enum jsonout_mode mode)
{
	json_t *doc = jsonout_new("notify");

	json_object_update_new(
		doc,
		json_pack("{s:s,s:s,s:b,s:b,s:I,s:I,s:I,s:I,s:I,s:I,s:f,s:f}",
			  "incident", inc->slug, "kind", opt->kind, "dry_run",
			  opt->dry_run_dir != NULL, "completed", rc == 0,
			  "planned", (json_int_t)st->planned, "sent",
			  (json_int_t)st->sent, "failed",
			  (json_int_t)st->failed, "retry",
			  (json_int_t)st->retry, "no_address",
			  (json_int_t)st->no_address, "composed",
			  (json_int_t)st->composed, "seconds", st->seconds,
			  "messages_per_second",
			  st->seconds > 0 ? (double)st->sent / st->seconds
					  : 0.0));
	jsonout_write(doc, stdout, mode);
}

/* The run itself, its summary and its closing log line; mailer_run's
 * result. */
static int send_notices(struct cli *cli, const struct incident *inc,
			const struct mailer_options *opt,
			enum jsonout_mode json)
{
	struct mailer_stats st;
	int rc;

	memset(&st, 0, sizeof(st));
	rc = mailer_run(cli->db, cli->cfg, inc, opt, &st);
	if (json != JSONOUT_NONE)
		summary_json(inc, opt, &st, rc, json);
	if (opt->dry_run_dir != NULL) {
		if (rc == 0)
			log_info("%lld %s messages written to %s (no state "
				 "changed)",
				 st.composed, opt->kind, opt->dry_run_dir);
	} else {
		log_info("%s: %lld sent, %lld failed, %lld to retry, %lld "
			 "accounts without address (%lld notices planned now) "
			 "in %.1f s, %.0f msg/s",
			 opt->kind, st.sent, st.failed, st.retry, st.no_address,
			 st.planned, st.seconds,
			 st.seconds > 0 ? (double)st.sent / st.seconds : 0);
	}
	return rc;
}

/* A mailer result as an exit status: 75 only for what a retry can fix
 * (database, relay). */
static int exit_status(int rc)
{
	switch (rc) {
	case 0:
		return 0;
	case MAILER_ERR_CONFIG:
		return EX_CONFIG;
	case MAILER_ERR_DATA:
		return EX_DATAERR;
	default:
		return EX_TEMPFAIL;
	}
}

int cmd_notify(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "kind", required_argument, NULL, 'k' },
		{ "dry-run", required_argument, NULL, 'd' },
		{ "limit", required_argument, NULL, 'l' },
		{ "connections", required_argument, NULL, 'c' },
		{ "rate", required_argument, NULL, 'r' },
		{ "preview", required_argument, NULL, 'p' },
		{ "plan", no_argument, NULL, 'P' },
		{ "no-wait", no_argument, NULL, 'W' },
		{ "no-progress", no_argument, NULL, 'N' },
		{ "at", required_argument, NULL, 'a' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	enum jsonout_mode json = JSONOUT_NONE;
	struct mailer_options opt = {
		.kind = "initial",
		.connections = (int)cli->cfg->mailer.connections,
		.rate = cli->cfg->mailer.rate,
		.wait = true,
		.progress = true,
	};
	const char *preview = NULL;
	bool plan = false;
	struct incident *inc;
	long long v;
	int c, rc;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'k':
			if (!mailer_kind_valid(optarg))
				return cli_usage_error("notify",
						       "--kind is initial, "
						       "reminder or revoked");
			opt.kind = optarg;
			break;
		case 'd':
			opt.dry_run_dir = optarg;
			break;
		case 'l':
			if (cli_parse_count("notify", "--limit", optarg,
					    1000000000, &v))
				return EX_USAGE;
			opt.limit = v;
			break;
		case 'c':
			if (cli_parse_count("notify", "--connections", optarg,
					    64, &v) ||
			    v == 0)
				return v == 0 ? cli_usage_error(
							"notify",
							"--connections must "
							"be at least 1")
					      : EX_USAGE;
			opt.connections = (int)v;
			break;
		case 'r':
			if (cli_parse_count("notify", "--rate", optarg, 1000000,
					    &v))
				return EX_USAGE;
			opt.rate = v;
			break;
		case 'p':
			preview = optarg;
			break;
		case 'P':
			plan = true;
			break;
		case 'W':
			opt.wait = false;
			break;
		case 'N':
			opt.progress = false;
			break;
		case 'a':
			if (cli_parse_time("--at", optarg, &opt.at) != 0)
				return EX_DATAERR;
			break;
		case 'j':
			json = JSONOUT_DOC;
			break;
		default:
			return cli_bad_option("notify", argv);
		}
	}
	if (plan && preview)
		return cli_usage_error("notify", "--plan and --preview are "
						 "separate questions");
	if (preview && json != JSONOUT_NONE)
		return cli_usage_error("notify", "--preview prints a message, "
						 "not data: drop --json");
	rc = cli_open_incident(cli, "notify", argc, argv, &inc);
	if (rc != 0)
		return rc;
	if (plan) {
		rc = json != JSONOUT_NONE
			     ? plan_json(cli, inc, json)
			     : mailer_plan_report(cli->db, cli->cfg, inc,
						  stdout);
		goto out;
	}
	if (preview) {
		rc = mailer_preview(cli->db, cli->cfg, inc, opt.kind, preview,
				    opt.at, stdout);
		goto out;
	}
	rc = send_notices(cli, inc, &opt, json);
out:
	incident_free(inc);
	return exit_status(rc);
}
