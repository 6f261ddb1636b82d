/*
 * cmd_scan.c - `certrecall scan SLUG`.
 */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "certrecall/cmd/cli.h"
#include "certrecall/core/config.h"
#include "certrecall/store/db.h"
#include "certrecall/store/incident.h"
#include "certrecall/core/jsonout.h"
#include "certrecall/base/log.h"
#include "certrecall/stage/scan.h"
#include "certrecall/base/utctime.h"

static int record_event(struct cli *cli, const struct incident *inc,
			const struct scan_stats *st)
{
	json_t *v = json_object();
	json_t *d;
	char *text;
	int rc;

	for (int i = 0; i < CLASSIFY_NVERDICTS; i++)
		json_object_set_new(v, classify_verdict_name(i),
				    json_integer(st->by_verdict[i]));
	d = json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:o,s:f}", "targets",
		      (json_int_t)st->targets, "done", (json_int_t)st->done,
		      "answered", (json_int_t)st->answered, "failed",
		      (json_int_t)st->failed, "filtered",
		      (json_int_t)st->filtered, "probes",
		      (json_int_t)st->probes, "verdicts", v, "seconds",
		      st->seconds);
	text = json_dumps(d, JSON_COMPACT);
	rc = db_event_add(cli->db, inc->id, "scan", text);
	free(text);
	json_decref(d);
	return rc;
}

/* The run's summary (docs/schema/scan.schema.json). */
static void summary_json(const struct incident *inc,
			 const struct scan_stats *st, bool warned, int rc,
			 enum jsonout_mode mode)
{
	json_t *doc = jsonout_new("scan"), *v = json_object(),
	       *f = json_object();

	for (int i = 0; i < CLASSIFY_NVERDICTS; i++) {
		jsonout_set_key(v, classify_verdict_name(i),
				json_integer(st->by_verdict[i]));
		if (st->failed_by[i] > 0)
			jsonout_set_key(f, classify_verdict_name(i),
					json_integer(st->failed_by[i]));
	}
	json_object_update_new(
		doc,
		json_pack("{s:s,s:b,s:b,s:b,s:I,s:I,s:I,s:I,s:I,s:I,s:o,s:o,"
			  "s:I,s:I,s:o,s:f,s:f}",
			  "incident", inc->slug, "completed", rc == 0,
			  "interrupted", st->interrupted, "failure_warning",
			  warned, "targets", (json_int_t)st->targets, "done",
			  (json_int_t)st->done, "answered",
			  (json_int_t)st->answered, "failed",
			  (json_int_t)st->failed, "filtered",
			  (json_int_t)st->filtered, "probes",
			  (json_int_t)st->probes, "verdicts", v, "failed_by", f,
			  "given_back", (json_int_t)st->given_back,
			  "retry_waiting", (json_int_t)st->retry_waiting,
			  "retry_from",
			  st->retry_waiting > 0 ? jsonout_time(st->retry_from)
						: json_null(),
			  "seconds", st->seconds, "targets_per_second",
			  st->seconds > 0 ? (double)st->done / st->seconds
					  : 0.0));
	jsonout_write(doc, stdout, mode);
}

/* What to check when most targets failed with v. */
static const char *failure_hint(enum classify_verdict v)
{
	switch (v) {
	case CLASSIFY_DNS_ERROR:
		return "is scanner.dns_servers reachable?";
	case CLASSIFY_TIMEOUT:
		return "are scanner.dns_servers and the targets reachable from "
		       "here, and scanner.connect_timeout long enough?";
	case CLASSIFY_TLS_ERROR:
		return "do the targets speak TLS on scanner.ports?";
	default:
		return "see the observations' error_detail";
	}
}

/*
 * More than scanner.fail_warn percent of the targets this run finished
 * got no answer: say how many, the commonest cause and what to check.
 * Returns whether it warned.
 */
static bool warn_failures(const struct config *cfg, const struct scan_stats *st)
{
	enum classify_verdict top = CLASSIFY_DNS_ERROR;
	char after[64];

	if (st->done == 0 ||
	    st->failed * 100 <= cfg->scanner.fail_warn * st->done)
		return false;
	for (int v = 0; v < CLASSIFY_NVERDICTS; v++)
		if (st->failed_by[v] > st->failed_by[top])
			top = (enum classify_verdict)v;
	if (utctime_format_duration(cfg->scanner.retry_after_ms / 1000, after,
				    sizeof(after)) < 0)
		log_error("cannot format duration %lld",
			  (long long)(cfg->scanner.retry_after_ms / 1000));
	log_warn("scan: %lld of %lld failed with %s: %s", st->failed_by[top],
		 st->done, classify_verdict_name(top), failure_hint(top));
	log_warn("scan: %lld of %lld targets got no answer (more than "
		 "scanner.fail_warn %lld%%); the next scan retries them after "
		 "%s (scanner.retry_after), or at once with --retry-failed",
		 st->failed, st->done, cfg->scanner.fail_warn, after);
	return true;
}

/* The run's figures, as the operator reads them in the log. */
static void log_summary(const struct scan_stats *st)
{
	if (st->retry_waiting > 0) {
		char from[UTCTIME_BUFSZ];

		if (utctime_format_rfc3339(st->retry_from, from, sizeof(from)) <
		    0)
			log_error("cannot format time %lld",
				  (long long)(st->retry_from));
		log_info("scan: %lld failed targets are retried from %s "
			 "(scanner.retry_after); --retry-failed retries them "
			 "now",
			 st->retry_waiting, from);
	}
	/* Every verdict, from the one table of names: none left out. */
	char results[CLASSIFY_NVERDICTS * 48];
	size_t off = 0;

	results[0] = '\0';
	for (int v = 0; v < CLASSIFY_NVERDICTS; v++) {
		int n = snprintf(
			results + off, sizeof(results) - off, "%s%lld %.24s",
			v ? ", " : "", st->by_verdict[v],
			classify_verdict_name((enum classify_verdict)v));

		if (n < 0 || (size_t)n >= sizeof(results) - off)
			break; /* cannot happen: 48 bytes a verdict */
		off += (size_t)n;
	}
	log_info("scan: %lld of %lld targets probed: %lld answered, "
		 "%lld failed, %lld filtered; %lld results: %s "
		 "in %.1f s (%.0f targets/s)",
		 st->done, st->targets, st->answered, st->failed, st->filtered,
		 st->probes, results, st->seconds,
		 st->seconds > 0 ? (double)st->done / st->seconds : 0);
	if (st->interrupted)
		log_warn("scan: interrupted");
	if (st->given_back > 0)
		log_warn("scan: gave back %lld claimed targets: the next scan "
			 "probes them at once",
			 st->given_back);
}

int cmd_scan(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "procs", required_argument, NULL, 'p' },
		{ "stale-after", required_argument, NULL, 's' },
		{ "retry-failed", no_argument, NULL, 'r' },
		{ "names", required_argument, NULL, 'n' },
		{ "jsonl", required_argument, NULL, 'j' },
		{ "no-progress", no_argument, NULL, 'N' },
		{ "json", no_argument, NULL, 'J' },
		{ NULL, 0, NULL, 0 },
	};
	enum jsonout_mode json = JSONOUT_NONE;
	bool warned;
	struct scan_options opt = {
		.procs = (int)cli->cfg->scanner.procs,
		.stale_after_ms = 3600 * 1000LL,
		.progress = true,
	};
	struct scan_stats st;
	struct incident *inc;
	long long v;
	int c, rc;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (cli_parse_count("scan", "--procs", optarg, 256,
					    &v) ||
			    v == 0)
				return v == 0 ? cli_usage_error(
							"scan",
							"--procs must be at "
							"least 1")
					      : EX_USAGE;
			opt.procs = (int)v;
			break;
		case 's':
			if (config_parse_duration(optarg, &opt.stale_after_ms) <
			    0)
				return cli_usage_error(
					"scan",
					"--stale-after: \"%s\" is not a "
					"duration (30s, 15m, 2h, 1d)",
					optarg);
			break;
		case 'r':
			opt.retry_failed = true;
			break;
		case 'n':
			opt.names_file = optarg;
			break;
		case 'j':
			opt.jsonl_path = optarg;
			break;
		case 'N':
			opt.progress = false;
			break;
		case 'J':
			json = JSONOUT_DOC;
			break;
		default:
			return cli_bad_option("scan", argv);
		}
	}
	if (opt.procs <= 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);

		opt.procs = n > 0 ? (int)n : 1;
	}
	rc = cli_open_incident(cli, "scan", argc, argv, &inc);
	if (rc != 0)
		return rc;
	/* The workers open their own connections (one per process). */
	rc = scan_run(cli->cfg, inc, &opt, &st);
	log_summary(&st);
	warned = warn_failures(cli->cfg, &st);
	if (warned)
		rc = -1;
	if (record_event(cli, inc, &st) < 0)
		rc = -1;
	if (json != JSONOUT_NONE)
		summary_json(inc, &st, warned, rc, json);
	incident_free(inc);
	return rc == 0 ? 0 : EX_TEMPFAIL;
}
