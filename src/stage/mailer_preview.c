/*
 * mailer_preview.c - what a notify run would do, with nothing kept
 * (mailer.h): the preview of a notice, a --dry-run into files (both
 * composed inside a transaction that is rolled back), and the forecast
 * (notify --plan), counted in one read-only snapshot.
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "certrecall/base/clock.h"
#include "certrecall/base/log.h"
#include "certrecall/base/utctime.h"
#include "certrecall/core/deadline.h"
#include "certrecall/core/notice.h"
#include "certrecall/stage/mailer.h"
#include "certrecall/store/db.h"
#include "certrecall/store/incident.h"
#include "certrecall/store/notice_forecast.h"
#include "certrecall/store/notice_store.h"

/* ---- previews, dry runs and plans: nothing is kept ---------------- */

/* Composes ns[0..n) in slices (so memory stays bounded on a large
 * incident), calling emit for each; *count counts them.  0 or -1. */
static int compose_all(struct db *db, const struct notice_common *common,
		       bool scanned, struct notice *ns, size_t n, time_t now,
		       int (*emit)(const struct notice *n, void *arg),
		       void *arg, long long *count)
{
	for (size_t i = 0; i < n; i += 500) {
		size_t k = n - i < 500 ? n - i : 500;

		if (notice_store_load_certificates(db, scanned, ns + i, k) <
			    0 ||
		    notice_store_load_locales(db, ns + i, k) < 0)
			return -1;
		for (size_t j = i; j < i + k; j++) {
			if (notice_compose(common, &ns[j], now) < 0 ||
			    emit(&ns[j], arg) < 0)
				return -1;
			(*count)++;
			notice_release(&ns[j]);
		}
	}
	return 0;
}

/* Composes the due notices (or the one for address) inside a transaction
 * that is rolled back; calls emit for each. */
static int compose_uncommitted(struct db *db, const struct config *cfg,
			       const struct incident *inc, const char *kind,
			       const char *address, time_t at,
			       int (*emit)(const struct notice *n, void *arg),
			       void *arg, long long *count)
{
	struct notice_common common;
	struct notice *ns = NULL;
	size_t n = 0;
	long long created;
	time_t now = at ? at : clock_now();
	bool scanned = false;
	int rc;

	*count = 0;
	rc = mailer_common_init(&common, cfg, inc, kind);
	if (rc < 0)
		goto out;
	rc = -1;
	if (db_begin(db) < 0)
		goto out;
	if (notice_store_plan(db, inc->id, kind, common.must_by, &created) <
		    0 ||
	    notice_store_due(db, inc->id, kind, address, &ns, &n) < 0 ||
	    notice_store_scanned(db, inc->id, &scanned) < 0)
		goto rollback;
	if (address != NULL && n == 0) {
		log_error("no %s notice for %s in incident %s (is it a contact "
			  "of an affected account?)",
			  kind, address, inc->slug);
		rc = MAILER_ERR_DATA;
		goto rollback;
	}
	if (compose_all(db, &common, scanned, ns, n, now, emit, arg, count) ==
	    0)
		rc = 0;
rollback:
	db_rollback(db);
out:
	for (size_t i = 0; ns && i < n; i++)
		notice_release(&ns[i]);
	free(ns);
	notice_common_release(&common);
	return rc;
}

static int emit_stream(const struct notice *n, void *arg)
{
	FILE *out = arg;

	for (size_t i = 0; i < n->nparts; i++) {
		size_t len;
		const char *m = notice_part(n, i, &len);

		if (fwrite(m, 1, len, out) != len)
			return -1;
	}
	return 0;
}

int mailer_preview(struct db *db, const struct config *cfg,
		   const struct incident *inc, const char *kind,
		   const char *address, time_t at, FILE *out)
{
	long long count;

	return compose_uncommitted(db, cfg, inc, kind, address, at, emit_stream,
				   out, &count);
}

static int emit_file(const struct notice *n, void *arg)
{
	const char *dir = arg;
	char path[PATH_MAX];
	FILE *f;
	int rc = 0;

	if (notice_file_name(dir, n, path, sizeof(path)) < 0)
		return log_error("%s: file name too long", dir);
	f = fopen(path, "w");
	if (f == NULL)
		return log_error("%s: cannot create: %s", path,
				 strerror(errno));
	if (fwrite(n->message, 1, n->len, f) != n->len)
		rc = -1;
	if (fclose(f) != 0 || rc < 0)
		return log_error("%s: cannot write: %s", path, strerror(errno));
	return 0;
}

int mailer_dry_run(struct db *db, const struct config *cfg,
		   const struct incident *inc, const struct mailer_options *opt,
		   struct mailer_stats *st)
{
	struct stat sb;
	double t0 = clock_mono();
	int rc;

	if (mkdir(opt->dry_run_dir, 0755) < 0 && errno != EEXIST)
		return log_error("%s: cannot create: %s", opt->dry_run_dir,
				 strerror(errno));
	if (stat(opt->dry_run_dir, &sb) < 0 || !S_ISDIR(sb.st_mode))
		return log_error("%s: not a directory", opt->dry_run_dir);
	rc = compose_uncommitted(db, cfg, inc, opt->kind, NULL, opt->at,
				 emit_file, (void *)opt->dry_run_dir,
				 &st->composed);
	st->seconds = clock_mono() - t0;
	return rc;
}

int mailer_plan_count(struct db *db, const struct incident *inc,
		      struct mailer_plan_row rows[MAILER_NKINDS])
{
	struct notice_forecast_row counts[NOTICE_NKINDS];
	struct deadline_rule rule;
	char err[512];
	time_t must_by;

	if (deadline_resolve(inc->reason, inc->aware_at, &rule, err,
			     sizeof(err)) < 0)
		return log_error("incident %s: %s", inc->slug, err);
	must_by = deadline_must_by(&rule,
				   incident_revoke_start(inc, &rule, NULL));
	if (notice_forecast_count(db, inc->id, must_by, counts) < 0)
		return -1;
	for (size_t k = 0; k < MAILER_NKINDS; k++) {
		const struct notice_forecast_row *c = &counts[k];

		rows[k] = (struct mailer_plan_row){
			notice_kind_name(k), c->due,
			c->addresses,	     c->sent,
			c->failed,	     c->retry,
			c->no_address,	     c->earliest,
			c->latest,
		};
	}
	return 0;
}

int mailer_plan_report(struct db *db, const struct config *cfg,
		       const struct incident *inc, FILE *out)
{
	struct mailer_plan_row rows[MAILER_NKINDS];

	(void)cfg;
	if (mailer_plan_count(db, inc, rows) < 0)
		return -1;
	fprintf(out, "%-9s %8s %10s %8s %8s %8s %11s  %-21s %s\n", "KIND",
		"DUE", "ADDRESSES", "SENT", "FAILED", "RETRY", "NO-ADDRESS",
		"EARLIEST DEADLINE", "LATEST DEADLINE");
	for (size_t k = 0; k < MAILER_NKINDS; k++) {
		char lo[UTCTIME_BUFSZ] = "-", hi[UTCTIME_BUFSZ] = "-";

		if (rows[k].earliest != DEADLINE_UNSET &&
		    (utctime_format_rfc3339(rows[k].earliest, lo, sizeof(lo)) <
			     0 ||
		     utctime_format_rfc3339(rows[k].latest, hi, sizeof(hi)) <
			     0))
			memcpy(hi, memcpy(lo, "-", 2), 2); /* out of range */
		fprintf(out,
			"%-9s %8lld %10lld %8lld %8lld %8lld %11lld  %-21s "
			"%s\n",
			rows[k].kind, rows[k].due, rows[k].addresses,
			rows[k].sent, rows[k].failed, rows[k].retry,
			rows[k].no_address, lo, hi);
	}
	return 0;
}
