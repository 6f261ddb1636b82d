/*
 * cmd_report.c - `certrecall report SLUG
 * --format md|html|json|csv|ccadb|events|unreached [-o FILE] [--at TIME]`:
 * the compliance report, from the database.
 *
 * With -o the report goes to FILE through cli_output_open(): renamed
 * into place only when complete, so a reader never sees half a report.
 */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>

#include "certrecall/cmd/cli.h"
#include "certrecall/base/clock.h"
#include "certrecall/core/config.h"
#include "certrecall/store/db.h"
#include "certrecall/store/incident.h"
#include "certrecall/base/log.h"
#include "certrecall/core/report.h"
#include "certrecall/store/report_store.h"
#include "certrecall/base/utctime.h"

static int record_event(struct db *db, const struct incident *inc,
			const char *format, long long rows, const char *path)
{
	json_t *d = json_pack("{s:s,s:I,s:s}", "format", format, "rows",
			      (json_int_t)rows, "output", path ? path : "-");
	char *text = json_dumps(d, JSON_COMPACT);
	int rc = db_event_add(db, inc->id, "report", text);

	free(text);
	json_decref(d);
	return rc;
}

int cmd_report(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "output", required_argument, NULL, 'o' },
		{ "at", required_argument, NULL, 'a' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	enum report_format format = REPORT_MD;
	const char *fname = "md", *path = NULL;
	struct cli_output o;
	struct incident *inc = NULL;
	struct report *r = NULL;
	time_t at = clock_now();
	long long rows = 0;
	FILE *out = stdout;
	int c, rc;

	while ((c = getopt_long(argc, argv, "f:o:", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			if (report_format_parse(optarg, &format) < 0)
				return cli_usage_error(
					"report",
					"--format: \"%s\" is not one of md, "
					"html, json, csv, ccadb, events, "
					"unreached",
					optarg);
			fname = optarg;
			break;
		case 'j': /* as every other command says it */
			format = REPORT_JSON;
			fname = "json";
			break;
		case 'o':
			path = optarg;
			break;
		case 'a':
			if (cli_parse_time("--at", optarg, &at) != 0)
				return EX_DATAERR;
			break;
		default:
			return cli_bad_option("report", argv);
		}
	}
	rc = cli_open_incident(cli, "report", argc, argv, &inc);
	if (rc != 0)
		return rc;
	r = report_store_gather(cli->db, inc, at, cli->cfg->report.organization,
				format == REPORT_CSV ||
						format == REPORT_CCADB ||
						format == REPORT_EVENTS ||
						format == REPORT_UNREACHED
					? REPORT_HEADER
					: REPORT_FULL);
	if (r == NULL) {
		rc = EX_TEMPFAIL;
		goto out;
	}
	if (path != NULL && strcmp(path, "-") == 0)
		path = NULL;
	rc = cli_output_open(&o, path);
	if (rc != 0)
		goto out;
	out = o.f;
	rows = report_store_write(cli->db, r, inc->id, format,
				  cli->cfg->report.crtsh_threshold, out);
	rc = cli_output_close(&o, rows >= 0);
	if (rc != 0)
		goto out;
	if (format == REPORT_CSV || format == REPORT_CCADB)
		log_info("report: %lld certificates written%s%s", rows,
			 path ? " to " : "", path ? path : "");
	else if (format == REPORT_EVENTS)
		log_info("report: %lld events written%s%s", rows,
			 path ? " to " : "", path ? path : "");
	else if (format == REPORT_UNREACHED)
		log_info("report: %lld rows of subscribers not reached "
			 "written%s%s",
			 rows, path ? " to " : "", path ? path : "");
	else if (path)
		log_info("report: %s report written to %s", fname, path);
	if (record_event(cli->db, inc, fname, rows, path) < 0)
		rc = EX_TEMPFAIL;
out:
	report_free(r);
	incident_free(inc);
	return rc;
}
