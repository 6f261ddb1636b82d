/*
 * cmd_serve.c - `certrecall serve` (ARI, self-check, staff status over
 * HTTP until SIGTERM) and `certrecall export-ari SLUG [-o FILE]` (the
 * same ARI answers as JSON lines, for a CA whose ACME server serves ARI).
 */
#include <getopt.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>

#include "certrecall/core/ari.h"
#include "certrecall/cmd/cli.h"
#include "certrecall/base/clock.h"
#include "certrecall/core/config.h"
#include "certrecall/store/db.h"
#include "certrecall/core/deadline.h"
#include "certrecall/store/incident.h"
#include "certrecall/base/log.h"
#include "certrecall/core/serial.h"
#include "certrecall/stage/serve.h"
#include "certrecall/base/utctime.h"

int cmd_serve(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ NULL, 0, NULL, 0 },
	};
	struct serve *s;
	sigset_t set;
	int c, sig = 0, rc;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'l':
			free(cli->cfg->serve.listen);
			cli->cfg->serve.listen = strdup(optarg);
			break;
		default:
			return cli_bad_option("serve", argv);
		}
	}
	if (optind != argc)
		return cli_usage_error("serve", "unexpected argument \"%s\"",
				       argv[optind]);
	/* The worker threads inherit the mask: only this thread takes the
	 * signals, with sigwait. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	s = serve_start(cli->cfg, &rc);
	if (s == NULL)
		return rc;
	log_info("serve: listening on %s (port %u)", cli->cfg->serve.listen,
		 serve_port(s));
	while (sig != SIGTERM && sig != SIGINT) {
		if (sigwait(&set, &sig) != 0)
			break;
	}
	log_info("serve: %s, finishing the requests in progress",
		 sig == SIGINT ? "interrupted" : "SIGTERM");
	serve_stop(s);
	return 0;
}

/* One JSON line per certificate of the incident that has a certID. */
int cmd_export_ari(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 },
	};
	static const char fetch[] = "FETCH 10000 FROM ari";
	const char *out_path = NULL, *base = cli->cfg->serve.public_url;
	long long margin = cli->cfg->serve.ari_margin_ms / 1000,
		  retry = cli->cfg->serve.ari_retry_ms / 1000;
	struct cli_output out;
	struct incident *inc = NULL;
	struct serve_clock clk;
	char id[32], certid[ARI_CERTID_MAX], ser[SERIAL_TEXT_MAX], err[160];
	const char *params[1] = { id };
	time_t now = clock_now();
	long long written = 0, skipped = 0;
	bool ok = false, open_out = false;
	PGresult *res;
	int c, rc = EX_SOFTWARE, n;
	size_t blen = strlen(base);

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			out_path = optarg;
			break;
		default:
			return cli_bad_option("export-ari", argv);
		}
	}
	if (optind != argc - 1)
		return cli_usage_error("export-ari", "expected one SLUG");
	if (cli_connect(cli) < 0)
		return EX_UNAVAILABLE;
	inc = incident_find(cli->db, argv[optind]);
	if (inc == NULL)
		return EX_DATAERR;
	if (serve_incident_clock(inc->reason, inc->aware_at,
				 inc->cpr_received_at, &clk) < 0) {
		rc = EX_DATAERR;
		goto out;
	}
	snprintf(id, sizeof(id), "%lld", inc->id);
	if (db_begin(cli->db) < 0) {
		rc = EX_TEMPFAIL;
		goto out;
	}
	res = db_query(cli->db,
		       "DECLARE ari NO SCROLL CURSOR FOR "
		       "SELECT encode(aki, 'hex'), encode(serial, 'hex'),"
		       " revocation_state,"
		       " extract(epoch FROM not_after)::bigint "
		       "FROM certificate WHERE incident_id = $1 "
		       "AND aki IS NOT NULL ORDER BY id",
		       1, params);
	if (res == NULL) {
		rc = EX_TEMPFAIL;
		goto out;
	}
	PQclear(res);
	skipped = 0;
	{
		PGresult *r2 =
			db_query(cli->db,
				 "SELECT count(*) FROM certificate "
				 "WHERE incident_id = $1 AND aki IS NULL",
				 1, params);
		if (r2 == NULL) {
			rc = EX_TEMPFAIL;
			goto out;
		}
		skipped = db_get_llong(r2, 0, 0);
		PQclear(r2);
	}
	rc = cli_output_open(&out, out_path);
	if (rc != 0)
		goto out;
	open_out = true;
	while (blen > 0 && base[blen - 1] == '/')
		blen--;
	for (;;) {
		res = db_query(cli->db, fetch, 0, NULL);
		if (res == NULL) {
			rc = EX_TEMPFAIL;
			goto out;
		}
		n = PQntuples(res);
		for (int i = 0; i < n; i++) {
			unsigned char aki[ARI_AKI_MAX];
			struct serial sr;
			struct ari_window w;
			const char *hex = PQgetvalue(res, i, 0);
			size_t alen = strlen(hex) / 2;
			char a[UTCTIME_BUFSZ], b[UTCTIME_BUFSZ];

			if (alen == 0 || alen > ARI_AKI_MAX ||
			    serial_from_stored_hex(&sr, PQgetvalue(res, i, 1),
						   err, sizeof(err)) < 0) {
				skipped++;
				continue;
			}
			for (size_t k = 0; k < alen; k++) {
				unsigned v;

				sscanf(hex + 2 * k, "%2x", &v);
				aki[k] = (unsigned char)v;
			}
			if (ari_certid_format(aki, alen, &sr, certid,
					      sizeof(certid)) < 0 ||
			    serve_ari_row_window(&clk, PQgetvalue(res, i, 2),
						 db_get_time(res, i, 3), margin,
						 retry, now, &w) < 0) {
				skipped++;
				continue;
			}
			serial_format_hex(&sr, ser, sizeof(ser));
			if (utctime_format_rfc3339(w.start, a, sizeof(a)) < 0)
				log_error("cannot format time %lld",
					  (long long)(w.start));
			if (utctime_format_rfc3339(w.end, b, sizeof(b)) < 0)
				log_error("cannot format time %lld",
					  (long long)(w.end));
			fprintf(out.f,
				"{\"certID\":\"%s\",\"suggestedWindow\":"
				"{\"start\":\"%s\",\"end\":\"%s\"},"
				"\"retryAfter\":%lld",
				certid, a, b, w.retry_after);
			if (blen > 0)
				fprintf(out.f,
					",\"explanationURL\":\"%.*s/check?"
					"serial=%s\"",
					(int)blen, base, ser);
			fputs("}\n", out.f);
			written++;
		}
		PQclear(res);
		if (n == 0)
			break;
		if (ferror(out.f))
			break;
	}
	ok = !ferror(out.f);
	rc = ok ? 0 : EX_IOERR;
	log_info("export-ari %s: %lld answers; %lld certificates without "
		 "one (no key identifier, or expired)",
		 inc->slug, written, skipped);
out:
	if (open_out && cli_output_close(&out, ok) != 0 && rc == 0)
		rc = EX_IOERR;
	if (cli->db != NULL)
		db_rollback(cli->db);
	incident_free(inc);
	return rc;
}
