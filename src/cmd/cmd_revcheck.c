/*
 * cmd_revcheck.c - `certrecall revcheck SLUG`: options, rounds of
 * stage/revcheck, and what each round says (log, audit event, JSON).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>

#include "certrecall/base/clock.h"
#include "certrecall/base/log.h"
#include "certrecall/cmd/cli.h"
#include "certrecall/core/config.h"
#include "certrecall/core/jsonout.h"
#include "certrecall/core/ocsp.h"
#include "certrecall/stage/revcheck.h"
#include "certrecall/store/db.h"
#include "certrecall/store/incident.h"
#include "certrecall/store/revocation.h"

/* One round's summary (docs/schema/revcheck.schema.json). */
static json_t *round_json(const struct incident *inc,
			  const struct revcheck_stats *st, int round,
			  long long conflicts, int exit_code)
{
	json_t *doc = jsonout_new("revcheck");

	json_object_update_new(
		doc,
		json_pack("{s:s,s:i,s:o,s:I,s:{s:I,s:I,s:I,s:I},s:I,s:I,s:I,"
			  "s:I,s:I,s:i}",
			  "incident", inc->slug, "round", round, "at",
			  jsonout_time(clock_now()), "answers",
			  (json_int_t)(st->by_status[OCSP_GOOD] +
				       st->by_status[OCSP_REVOKED] +
				       st->by_status[OCSP_UNKNOWN] +
				       st->by_status[OCSP_ERROR]),
			  "by_status", "good",
			  (json_int_t)st->by_status[OCSP_GOOD], "revoked",
			  (json_int_t)st->by_status[OCSP_REVOKED], "unknown",
			  (json_int_t)st->by_status[OCSP_UNKNOWN], "error",
			  (json_int_t)st->by_status[OCSP_ERROR], "transient",
			  (json_int_t)st->transient, "refused",
			  (json_int_t)st->refused, "unanswered",
			  (json_int_t)st->unanswered, "still_to_revoke",
			  (json_int_t)st->left, "conflicts",
			  (json_int_t)conflicts, "exit_code", exit_code));
	return doc;
}

/*
 * Says what a round found: the summary line, the certificates whose
 * sources disagree (CSV on stderr), and the audit event.  Returns the
 * number that disagree (-1 if unknown).
 */
static long long round_report(struct cli *cli, const struct incident *inc,
			      const struct revcheck_stats *st)
{
	long long conflicts = revocation_conflicts(cli->db, inc->id, NULL);
	char detail[320]; /* nine numbers of 20 digits and their names fit */

	/* Answers, not certificates: a certificate asked of OCSP and
	 * covered by a CRL is counted once per source. */
	log_info("revcheck: %lld answers from OCSP and CRLs: %lld "
		 "good, %lld revoked, %lld unknown, %lld errors "
		 "(%lld transient, %lld refused); %lld certificates "
		 "still to revoke, %lld with sources that disagree, "
		 "%lld certificate%s without usable evidence",
		 st->by_status[OCSP_GOOD] + st->by_status[OCSP_REVOKED] +
			 st->by_status[OCSP_UNKNOWN] +
			 st->by_status[OCSP_ERROR],
		 st->by_status[OCSP_GOOD], st->by_status[OCSP_REVOKED],
		 st->by_status[OCSP_UNKNOWN], st->by_status[OCSP_ERROR],
		 st->transient, st->refused, st->left, conflicts,
		 st->unanswered, st->unanswered == 1 ? "" : "s");
	if (conflicts > 0 && revocation_conflicts(cli->db, inc->id, stderr) < 0)
		log_warn("revcheck: the conflicts could not be listed");
	if (snprintf(detail, sizeof(detail),
		     "{\"good\":%lld,\"revoked\":%lld,"
		     "\"unknown\":%lld,\"errors\":%lld,"
		     "\"transient\":%lld,\"refused\":%lld,"
		     "\"unanswered\":%lld,"
		     "\"left\":%lld,\"conflicts\":%lld}",
		     st->by_status[OCSP_GOOD], st->by_status[OCSP_REVOKED],
		     st->by_status[OCSP_UNKNOWN], st->by_status[OCSP_ERROR],
		     st->transient, st->refused, st->unanswered, st->left,
		     conflicts) >= (int)sizeof(detail))
		log_warn("revcheck: the audit event's detail is cut short");
	else if (db_event_add(cli->db, inc->id, "revcheck", detail) < 0)
		log_error("revcheck: the audit event was not recorded");
	return conflicts;
}

struct revcheck_cmd {
	struct revcheck_options opt;
	long long watch_ms;
	enum jsonout_mode json;
};

/* The options; 0, or an exit code (usage, reported). */
static int parse_options(int argc, char **argv, struct revcheck_cmd *o)
{
	static const struct option opts[] = {
		{ "ocsp", required_argument, NULL, 'o' },
		{ "crl", required_argument, NULL, 'c' },
		{ "no-ocsp", no_argument, NULL, 'O' },
		{ "no-crl", no_argument, NULL, 'C' },
		{ "watch", required_argument, NULL, 'w' },
		{ "json", no_argument, NULL, 'j' },
		{ "jsonl", no_argument, NULL, 'J' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	o->opt = (struct revcheck_options){ .use_ocsp = true, .use_crl = true };
	o->watch_ms = 0;
	o->json = JSONOUT_NONE;
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			o->opt.ocsp_url = optarg;
			break;
		case 'c':
			o->opt.crl_url = optarg;
			break;
		case 'O':
			o->opt.use_ocsp = false;
			break;
		case 'C':
			o->opt.use_crl = false;
			break;
		case 'w':
			if (config_parse_duration(optarg, &o->watch_ms) < 0 ||
			    o->watch_ms < 1000)
				return cli_usage_error(
					"revcheck",
					"--watch: \"%s\" is not a duration of "
					"a second or more",
					optarg);
			break;
		case 'j':
			o->json = JSONOUT_DOC;
			break;
		case 'J':
			o->json = JSONOUT_LINES;
			break;
		default:
			return cli_bad_option("revcheck", argv);
		}
	}
	return 0;
}

int cmd_revcheck(struct cli *cli, int argc, char **argv)
{
	struct revcheck_cmd o;
	struct revcheck_stats st;
	json_t *last = NULL;
	int round = 0, rc;
	long long conflicts;
	struct incident *inc;

	rc = parse_options(argc, argv, &o);
	if (rc != 0)
		return rc;
	rc = cli_open_incident(cli, "revcheck", argc, argv, &inc);
	if (rc != 0)
		return rc;
	for (;;) {
		int r = revcheck_round(cli->db, cli->cfg, inc, &o.opt, &st);

		if (r == REVCHECK_INTERRUPTED)
			log_warn("revcheck: interrupted: gave back %lld "
				 "claimed batch%s of certificates, the next "
				 "round asks them at once",
				 st.given_back, st.given_back == 1 ? "" : "es");
		if (r < 0) {
			rc = r == REVCHECK_NO_ISSUER	? EX_CONFIG
			     : r == REVCHECK_BAD_ISSUER ? EX_DATAERR
							: EX_TEMPFAIL;
			break;
		}
		conflicts = round_report(cli, inc, &st);
		rc = revcheck_exit_code(&st);
		round++;
		/* --jsonl: a line a round; --json: the last round. */
		if (o.json != JSONOUT_NONE) {
			json_decref(last);
			last = round_json(inc, &st, round, conflicts, rc);
			if (o.json == JSONOUT_LINES) {
				int w = jsonout_write(last, stdout, o.json);

				last = NULL;
				if (w < 0) { /* the reader is gone */
					rc = EX_IOERR;
					break;
				}
			}
		}
		if (o.watch_ms == 0 || st.left == 0)
			break;
		nanosleep(&(struct timespec){ .tv_sec = o.watch_ms / 1000,
					      .tv_nsec = (o.watch_ms % 1000) *
							 1000000L },
			  NULL);
	}
	if (last != NULL)
		jsonout_write(last, stdout, o.json);
	incident_free(inc);
	return rc;
}
