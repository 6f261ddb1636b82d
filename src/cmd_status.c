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

#include "certrecall/cli.h"
#include "certrecall/clock.h"
#include "certrecall/config.h"
#include "certrecall/db.h"
#include "certrecall/incident.h"
#include "certrecall/log.h"
#include "certrecall/report.h"
#include "certrecall/utctime.h"

static volatile sig_atomic_t stop_watch;

static void on_signal(int sig)
{
	(void)sig;
	stop_watch = 1;
}

/* Prints "  label  count" rows of a two-column query, under a title. */
static int print_grouped(struct db *db, FILE *out, const char *title,
			 const char *sql, const char *incident)
{
	PGresult *res = db_query(db, sql, 1, &incident);

	if (res == NULL)
		return -1;
	fprintf(out, "\n%s\n", title);
	if (PQntuples(res) == 0)
		fprintf(out, "  (none yet)\n");
	for (int r = 0; r < PQntuples(res); r++)
		fprintf(out, "  %-32s %s\n", PQgetvalue(res, r, 0),
			PQgetvalue(res, r, 1));
	PQclear(res);
	return 0;
}

/* The raw counts under the dashboard. */
static int print_counts(struct db *db, const struct report *r,
			long long incident_id, FILE *out)
{
	static const enum deadline_verdict order[] = {
		DEADLINE_OVERDUE,      DEADLINE_PENDING,
		DEADLINE_REVOKED_LATE, DEADLINE_REVOKED_ON_TIME,
		DEADLINE_EXPIRED,
	};
	char id[32];

	fprintf(out, "\ncertificates  %lld\n", r->certificates);
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		fprintf(out, "  %-16s %lld\n", deadline_verdict_name(order[i]),
			r->by_verdict[order[i]]);
	if (r->short_lived > 0)
		fprintf(out,
			"  (%lld short-lived: MAY be left unrevoked, BR "
			"4.9.1.1)\n",
			r->short_lived);
	snprintf(id, sizeof(id), "%lld", incident_id);
	fprintf(out,
		"\nsubscribers   told %lld, bounced %lld, unreachable %lld, "
		"no address %lld\n",
		r->reach[0], r->reach[1], r->reach[2], r->reach[3]);
	if (print_grouped(db, out, "notices (kind, state)",
			  "SELECT kind || ' ' || state, count(*) FROM notice"
			  " WHERE incident_id = $1 GROUP BY kind, state"
			  " ORDER BY kind, state",
			  id) < 0)
		return -1;
	if (print_grouped(db, out, "names (by outcome of their latest probe)",
			  "SELECT coalesce(outcome || coalesce(' ' || failure,"
			  " ''), 'not yet tried'), count(*) FROM scan_target"
			  " WHERE incident_id = $1 AND probeable"
			  " GROUP BY 1 ORDER BY 2 DESC, 1",
			  id) < 0)
		return -1;
	return print_grouped(
		db, out, "latest probes (by verdict)",
		"SELECT o.verdict, count(*) FROM scan_target t"
		" JOIN observation o ON o.target_id = t.id AND o.round = "
		"t.round"
		" WHERE t.incident_id = $1 GROUP BY o.verdict ORDER BY 2 DESC",
		id);
}

static int terminal_width(void)
{
	struct winsize ws;

	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	return 80;
}

/* One screen into a memory buffer, so a redraw never flickers. */
static int render(struct cli *cli, const struct incident *inc, time_t at,
		  char **text, size_t *len)
{
	struct report *r;
	FILE *mem;
	int rc = -1;

	r = report_gather(cli->db, inc, at, cli->cfg->report.organization,
			  REPORT_FIGURES);
	if (r == NULL)
		return -1;
	mem = open_memstream(text, len);
	if (mem == NULL) {
		report_free(r);
		return log_error("status: %m");
	}
	if (report_write_dashboard(r, mem, terminal_width()) == 0 &&
	    print_counts(cli->db, r, inc->id, mem) == 0)
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
		{ NULL, 0, NULL, 0 },
	};
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
		default:
			return cli_bad_option("status", argv);
		}
	}
	if (interval > 0 && at_given)
		return cli_usage_error("status", "--watch shows the present; "
						 "drop --at");
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
		for (long long s = 0;
		     interval > 0 && s < interval * 10 && !stop_watch; s++) {
			struct timespec ts = { 0, 100000000 };

			nanosleep(&ts, NULL);
		}
	} while (interval > 0 && !stop_watch);
	incident_free(inc);
	return rc;
}
