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
#include "certrecall/store/serve_store.h"
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

struct export_window {
	long long margin, retry;
	time_t now;
};

/* The JSON line of one certificate row (with an explanationURL under
 * base[0..blen) when that is not empty); -1 when the row gets none (no
 * usable key identifier or serial, or no window of its own). */
static int export_line(FILE *f, const struct serve_store_export_row *row,
		       const struct serve_clock *clk,
		       const struct export_window *win, const char *base,
		       size_t blen)
{
	unsigned char aki[ARI_AKI_MAX];
	char certid[ARI_CERTID_MAX], ser[SERIAL_TEXT_MAX], err[160];
	struct serial sr;
	struct ari_window w;
	const char *hex = row->aki_hex;
	size_t alen = strlen(hex) / 2;
	char a[UTCTIME_BUFSZ], b[UTCTIME_BUFSZ];

	if (alen == 0 || alen > ARI_AKI_MAX ||
	    serial_from_stored_hex(&sr, row->serial_hex, err, sizeof(err)) < 0)
		return -1;
	for (size_t k = 0; k < alen; k++) {
		unsigned v;

		sscanf(hex + 2 * k, "%2x", &v);
		aki[k] = (unsigned char)v;
	}
	if (ari_certid_format(aki, alen, &sr, certid, sizeof(certid)) < 0 ||
	    serve_ari_row_window(clk, row->state, row->not_after, win->margin,
				 win->retry, win->now, &w) < 0)
		return -1;
	serial_format_hex(&sr, ser, sizeof(ser));
	if (utctime_format_rfc3339(w.start, a, sizeof(a)) < 0 ||
	    utctime_format_rfc3339(w.end, b, sizeof(b)) < 0)
		return log_error("export-ari: window of serial %s out of range",
				 ser);
	fprintf(f,
		"{\"certID\":\"%s\",\"suggestedWindow\":"
		"{\"start\":\"%s\",\"end\":\"%s\"},"
		"\"retryAfter\":%lld",
		certid, a, b, w.retry_after);
	if (blen > 0)
		fprintf(f, ",\"explanationURL\":\"%.*s/check?serial=%s\"",
			(int)blen, base, ser);
	fputs("}\n", f);
	return 0;
}

/* One JSON line per certificate of the incident that has a certID. */
int cmd_export_ari(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 },
	};
	const char *out_path = NULL, *base = cli->cfg->serve.public_url;
	struct export_window win = {
		.margin = cli->cfg->serve.ari_margin_ms / 1000,
		.retry = cli->cfg->serve.ari_retry_ms / 1000,
		.now = clock_now(),
	};
	struct cli_output out;
	struct incident *inc = NULL;
	struct serve_clock clk;
	struct serve_store_export_row *rows = NULL;
	long long written = 0, skipped = 0;
	bool ok = false, open_out = false;
	int c, rc = EX_SOFTWARE;
	size_t n = 0;
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
	if (db_begin(cli->db) < 0 ||
	    serve_store_export_open(cli->db, inc->id, &skipped) < 0) {
		rc = EX_TEMPFAIL;
		goto out;
	}
	rc = cli_output_open(&out, out_path);
	if (rc != 0)
		goto out;
	open_out = true;
	/* A closed incident (026) drives no ARI answers: an empty export. */
	if (inc->closed_at != DEADLINE_UNSET) {
		ok = true;
		log_info("export-ari %s: the incident is closed: no answers",
			 inc->slug);
		goto out;
	}
	while (blen > 0 && base[blen - 1] == '/')
		blen--;
	for (;;) {
		if (serve_store_export_next(cli->db, &rows, &n) < 0) {
			rc = EX_TEMPFAIL;
			goto out;
		}
		for (size_t i = 0; i < n; i++) {
			if (export_line(out.f, &rows[i], &clk, &win, base,
					blen) < 0)
				skipped++;
			else
				written++;
		}
		serve_store_export_rows_free(rows, n);
		rows = NULL;
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
	serve_store_export_rows_free(rows, n);
	if (open_out && cli_output_close(&out, ok) != 0 && rc == 0)
		rc = EX_IOERR;
	if (cli->db != NULL)
		db_rollback(cli->db);
	incident_free(inc);
	return rc;
}
