/*
 * report_store.c - gathering an incident's figures from the database into
 * the report model (core/report.h).  The per-certificate outputs
 * streamed with COPY are in report_copy.c; the renderers in core/.
 */
#include <jansson.h>
#include <libpq-fe.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "certrecall/store/db.h"
#include "certrecall/store/dbq.h"
#include "certrecall/store/incident.h"
#include "certrecall/base/log.h"
#include "certrecall/core/report.h"
#include "certrecall/store/report_store.h"
#include "certrecall/store/revocation.h"
#include "certrecall/base/utctime.h"
#include "certrecall/base/xalloc.h"
#include "certrecall/base/xsnprintf.h"

/* The stages whose last activity the dashboard shows: event kinds. */
static const struct {
	const char *name, *pattern;
} stage_kinds[REPORT_NSTAGES] = {
	{ "import", "import.certificates" },
	{ "scan", "scan" },
	{ "notify", "notify.%" },
	{ "revcheck", "revcheck" },
	{ "report", "report" },
};

/* Parameters every query takes: $1 incident, $2 at, $3 must_by. */
struct params {
	char id[32], at[UTCTIME_BUFSZ], must[UTCTIME_BUFSZ];
	const char *v[4];
};

static int params_init(struct params *p, long long id, time_t at,
		       time_t must_by)
{
	snprintf(p->id, sizeof(p->id), "%lld", id);
	if (utctime_format_rfc3339(at, p->at, sizeof(p->at)) < 0 ||
	    utctime_format_rfc3339(must_by, p->must, sizeof(p->must)) < 0)
		return log_error("report: time out of range");
	p->v[0] = p->id;
	p->v[1] = p->at;
	p->v[2] = p->must;
	p->v[3] = NULL;
	return 0;
}

static int gather_impact(struct db *db, struct report *r,
			 const struct params *p)
{
	PGresult *res = db_query(
		db,
		"SELECT count(*), count(*) FILTER (WHERE is_precert),"
		" (SELECT count(*) FROM (SELECT DISTINCT account"
		"  FROM certificate WHERE incident_id = $1) a),"
		" count(*) FILTER (WHERE (revoked_at IS NULL"
		"   OR revoked_at > $2::timestamptz)"
		"  AND (not_after IS NULL OR not_after > $2::timestamptz)),"
		" extract(epoch FROM min(revoked_at) FILTER"
		"  (WHERE revoked_at <= $2::timestamptz))::bigint,"
		" extract(epoch FROM max(revoked_at) FILTER"
		"  (WHERE revoked_at <= $2::timestamptz))::bigint"
		" FROM certificate WHERE incident_id = $1",
		2, p->v);

	if (res == NULL)
		return -1;
	r->certificates = db_get_llong(res, 0, 0);
	r->precertificates = db_get_llong(res, 0, 1);
	r->accounts = db_get_llong(res, 0, 2);
	r->still_valid = db_get_llong(res, 0, 3);
	r->first_revoked_at = db_get_time(res, 0, 4);
	r->last_revoked_at = db_get_time(res, 0, 5);
	PQclear(res);
	return 0;
}

/*
 * Distinct names and contact addresses: one pass over every name of
 * every certificate, half the time of a full report at millions.  It
 * runs on a second connection while the other figures are read on the
 * first (names_begin), and is collected at the end (names_end); without
 * a second connection it runs in line.
 */
static const char names_sql[] =
	"SELECT (SELECT count(*) FROM (SELECT DISTINCT n"
	"   FROM certificate c, unnest(c.names) n"
	"   WHERE c.incident_id = $1) d),"
	" (SELECT count(DISTINCT e) FROM subscriber s,"
	"   unnest(s.emails) e WHERE s.account IN"
	"   (SELECT account FROM certificate"
	"    WHERE incident_id = $1))";

static struct db *names_begin(struct db *db, const struct params *p)
{
	struct db *side = db_clone(db);

	if (side == NULL)
		return NULL;
	if (db_exec(side, "SET jit = off") < 0 ||
	    !PQsendQueryParams(db_get0_conn(side), names_sql, 1, NULL, p->v,
			       NULL, NULL, 0)) {
		db_close(side);
		return NULL;
	}
	return side;
}

static int names_end(struct db *db, struct db *side, struct report *r,
		     const struct params *p)
{
	PGresult *res;
	int rc = 0;

	if (side == NULL) {
		res = db_query(db, names_sql, 1, p->v);
		if (res == NULL)
			return -1;
	} else {
		res = PQgetResult(db_get0_conn(side));
		if (PQresultStatus(res) != PGRES_TUPLES_OK) {
			log_error("database: %.*s",
				  (int)strcspn(PQresultErrorMessage(res), "\n"),
				  PQresultErrorMessage(res));
			rc = -1;
		}
	}
	if (rc == 0) {
		r->names = db_get_llong(res, 0, 0);
		r->addresses = db_get_llong(res, 0, 1);
	}
	PQclear(res);
	if (side != NULL) {
		while ((res = PQgetResult(db_get0_conn(side))) != NULL)
			PQclear(res);
		db_close(side);
	}
	return rc;
}

/* The targets whose latest round saw an affected certificate: on how
 * many of their addresses (every address of a name is probed; one is
 * enough to be deployed).  At most 50, by name, and how many in all.
 * An address is one a probe reached: a wildcard's probed name without
 * one (nxdomain; dns-error or a DNS timeout) is counted apart. */
static int gather_served_on(struct db *db, struct report *r,
			    const struct params *p)
{
	PGresult *res = db_query(
		db,
		"SELECT t.name || ':' || t.port || CASE WHEN t.protocol = 'tls'"
		" THEN '' ELSE '/' || t.protocol END,"
		" count(*) FILTER (WHERE o.verdict = 'serving-affected'),"
		" count(*) FILTER (WHERE o.address IS NOT NULL),"
		" string_agg(DISTINCT o.probed_name, ', ' ORDER BY "
		"o.probed_name),"
		" count(DISTINCT o.probed_name) FILTER (WHERE o.address IS NULL"
		"  AND o.verdict = 'nxdomain'),"
		" count(DISTINCT o.probed_name) FILTER (WHERE o.address IS NULL"
		"  AND o.verdict <> 'nxdomain'),"
		" count(*) OVER ()"
		" FROM scan_target t JOIN observation o ON o.target_id = t.id"
		" AND o.round = CASE WHEN t.state = 'claimed' THEN t.round - 1"
		"  ELSE t.round END"
		" WHERE t.incident_id = $1 AND t.probeable"
		" GROUP BY t.id HAVING bool_or(o.verdict = 'serving-affected')"
		" ORDER BY t.name, t.port LIMIT 50",
		1, p->v);
	int n;

	if (res == NULL)
		return -1;
	n = PQntuples(res);
	r->served_on = xcalloc((size_t)n + 1, sizeof(*r->served_on));
	for (int i = 0; i < n; i++) {
		r->served_on[i].target = xstrdup(PQgetvalue(res, i, 0));
		r->served_on[i].served = db_get_llong(res, i, 1);
		r->served_on[i].addresses = db_get_llong(res, i, 2);
		/* A wildcard is probed at names it covers: which ones. */
		r->served_on[i].via = db_get1_text(res, i, 3);
		r->served_on[i].no_address = db_get_llong(res, i, 4);
		r->served_on[i].unresolved = db_get_llong(res, i, 5);
		r->nserved_on_all = db_get_llong(res, i, 6);
	}
	r->nserved_on = (size_t)n;
	PQclear(res);
	return 0;
}

static int gather_deployment(struct db *db, struct report *r,
			     const struct params *p)
{
	PGresult *res = db_query(
		db,
		"SELECT count(*), count(*) FILTER (WHERE round > 0),"
		" (SELECT extract(epoch FROM max(o.observed_at))::bigint"
		"  FROM scan_target t JOIN observation o ON o.target_id = t.id"
		"  WHERE t.incident_id = $1),"
		" count(*) FILTER (WHERE outcome = 'answered'),"
		" count(*) FILTER (WHERE outcome = 'failed'),"
		" count(*) FILTER (WHERE outcome = 'filtered')"
		" FROM scan_target WHERE incident_id = $1 AND probeable",
		1, p->v);

	if (res == NULL)
		return -1;
	r->scan_targets = db_get_llong(res, 0, 0);
	r->scanned_targets = db_get_llong(res, 0, 1);
	r->latest_scan_at = db_get_time(res, 0, 2);
	r->scan_answered = db_get_llong(res, 0, 3);
	r->scan_failed = db_get_llong(res, 0, 4);
	r->scan_filtered = db_get_llong(res, 0, 5);
	PQclear(res);
	if (r->scan_failed > 0) {
		res = db_query(db,
			       "SELECT failure, count(*) FROM scan_target"
			       " WHERE incident_id = $1 AND probeable"
			       " AND outcome = 'failed' GROUP BY 1",
			       1, p->v);
		if (res == NULL)
			return -1;
		for (int row = 0; row < PQntuples(res); row++) {
			enum classify_verdict v;

			if (classify_verdict_parse(PQgetvalue(res, row, 0),
						   &v) == 0)
				r->scan_failed_by[v] =
					db_get_llong(res, row, 1);
		}
		PQclear(res);
	}
	if (r->scanned_targets == 0) {
		/* Nothing probed yet: no need to join millions of rows. */
		r->deploy[REPORT_NOT_SCANNED] = r->certificates;
		r->deploy_unrevoked[REPORT_NOT_SCANNED] = r->still_valid;
		return 0;
	}
	res = db_query(db,
		       "SELECT d.deployment, count(*),"
		       " count(*) FILTER (WHERE (c.revoked_at IS NULL"
		       "   OR c.revoked_at > $2::timestamptz)"
		       "  AND (c.not_after IS NULL"
		       "   OR c.not_after > $2::timestamptz))"
		       " FROM incident_deployment($1) d"
		       " JOIN certificate c ON c.id = d.certificate_id"
		       " GROUP BY 1",
		       2, p->v);
	if (res == NULL)
		return -1;
	/* Certificates without a probeable name are not in the result. */
	r->deploy[REPORT_NOT_SCANNED] = r->certificates;
	r->deploy_unrevoked[REPORT_NOT_SCANNED] = r->still_valid;
	for (int row = 0; row < PQntuples(res); row++) {
		for (int d = 0; d < REPORT_NDEPLOY; d++) {
			if (strcmp(PQgetvalue(res, row, 0),
				   report_deploy_name(d)) != 0)
				continue;
			r->deploy[d] += db_get_llong(res, row, 1);
			r->deploy_unrevoked[d] += db_get_llong(res, row, 2);
			r->deploy[REPORT_NOT_SCANNED] -=
				db_get_llong(res, row, 1);
			r->deploy_unrevoked[REPORT_NOT_SCANNED] -=
				db_get_llong(res, row, 2);
		}
	}
	PQclear(res);
	return 0;
}

static int gather_notices(struct db *db, struct report *r,
			  const struct params *p)
{
	char bounds[128];
	size_t off = 0;
	const char *v[4];
	PGresult *res;

	res = db_query(db,
		       "SELECT kind, CASE WHEN state = 'sent'"
		       "  AND sent_at > $2::timestamptz THEN 'pending'"
		       "  ELSE state END, count(*) FROM notice"
		       " WHERE incident_id = $1 GROUP BY 1, 2",
		       2, p->v);
	if (res == NULL)
		return -1;
	for (int row = 0; row < PQntuples(res); row++) {
		int k = -1, s = -1;

		for (int i = 0; i < REPORT_KINDS; i++)
			if (strcmp(PQgetvalue(res, row, 0),
				   report_kind_name(i)) == 0)
				k = i;
		for (int i = 0; i < REPORT_STATES; i++)
			if (strcmp(PQgetvalue(res, row, 1),
				   report_state_name(i)) == 0)
				s = i;
		if (k >= 0 && s >= 0)
			r->notices[k][s] += db_get_llong(res, row, 2);
	}
	PQclear(res);

	res = db_query(db,
		       "SELECT count(DISTINCT account) FROM notice"
		       " WHERE incident_id = $1 AND state = 'no-address'",
		       1, p->v);
	if (res == NULL)
		return -1;
	r->no_address_accounts = db_get_llong(res, 0, 0);
	PQclear(res);
	res = db_query(db, "SELECT * FROM notice_reach($1)", 1, p->v);
	if (res == NULL)
		return -1;
	for (int i = 0; i < 5; i++)
		r->reach[i] = db_get_llong(res, 0, i);
	PQclear(res);

	/* The bucket bounds come from this file's table, not the SQL. */
	bounds[off++] = '{';
	for (int i = 0; i < REPORT_WARN_BUCKETS - 1; i++)
		off += (size_t)snprintf(bounds + off, sizeof(bounds) - off,
					"%s%d", i ? "," : "",
					report_warn_bound(i));
	snprintf(bounds + off, sizeof(bounds) - off, "}");
	v[0] = p->id;
	v[1] = p->at;
	v[2] = p->must;
	v[3] = bounds;
	res = db_query(
		db,
		/* Warning: from an address's first notice to the first
		 * revocation of a certificate of its accounts, or to MUST-by
		 * while none is revoked (by $2). */
		"WITH f AS (SELECT address, min(sent_at) AS first_at"
		"  FROM notice WHERE incident_id = $1 AND state = 'sent'"
		"  AND sent_at <= $2::timestamptz GROUP BY address),"
		" fa AS (SELECT DISTINCT n.address, a.account FROM notice n,"
		"  unnest(n.accounts) a(account) WHERE n.incident_id = $1"
		"  AND n.state = 'sent' AND n.sent_at <= $2::timestamptz),"
		" cr AS (SELECT account, min(revoked_at) AS rev FROM "
		"certificate"
		"  WHERE incident_id = $1 AND revoked_at <= $2::timestamptz"
		"  GROUP BY account),"
		" e AS (SELECT fa.address, min(cr.rev) AS rev FROM fa"
		"  JOIN cr ON cr.account = fa.account GROUP BY fa.address),"
		" h AS (SELECT first_at, extract(epoch FROM"
		"  coalesce(e.rev, $3::timestamptz) - first_at) / 3600.0"
		"  AS hours FROM f LEFT JOIN e USING (address))"
		" SELECT count(*),"
		" extract(epoch FROM min(first_at))::bigint,"
		" (SELECT extract(epoch FROM max(sent_at))::bigint FROM notice"
		"  WHERE incident_id = $1 AND state = 'sent'"
		"  AND sent_at <= $2::timestamptz),"
		" min(hours), percentile_cont(0.5) WITHIN GROUP"
		"  (ORDER BY hours), max(hours),"
		" (SELECT count(DISTINCT address) FROM notice"
		"  WHERE incident_id = $1 AND address IS NOT NULL),"
		" array_to_string(array(SELECT count(h2.*) FROM"
		"  generate_series(0, cardinality($4::float8[])) b"
		"  LEFT JOIN h h2 ON width_bucket(h2.hours, $4::float8[]) = b"
		"  GROUP BY b ORDER BY b), ',')"
		" FROM h",
		4, v);
	if (res == NULL)
		return -1;
	r->addresses_notified = db_get_llong(res, 0, 0);
	r->first_sent_at = db_get_time(res, 0, 1);
	r->last_sent_at = db_get_time(res, 0, 2);
	if (r->addresses_notified > 0) {
		r->warn_min_h = strtod(PQgetvalue(res, 0, 3), NULL);
		r->warn_median_h = strtod(PQgetvalue(res, 0, 4), NULL);
		r->warn_max_h = strtod(PQgetvalue(res, 0, 5), NULL);
	}
	r->addresses_unnotified =
		db_get_llong(res, 0, 6) - r->addresses_notified;
	{
		const char *s = PQgetvalue(res, 0, 7);

		for (int b = 0; b < REPORT_WARN_BUCKETS && *s; b++) {
			char *end;

			r->warn_hist[b] = strtoll(s, &end, 10);
			s = *end == ',' ? end + 1 : end;
		}
	}
	PQclear(res);
	return 0;
}

/*
 * Cumulative revocations in about 200 steps from the first to the last
 * revocation (by `at`), each step a whole number of minutes.
 */
static int gather_curve(struct db *db, struct report *r, const struct params *p)
{
	char step[32], origin[UTCTIME_BUFSZ];
	const char *v[4];
	long long span, secs, total = 0;
	PGresult *res;

	if (r->first_revoked_at == DEADLINE_UNSET)
		return 0;
	span = (long long)(r->last_revoked_at - r->first_revoked_at);
	secs = (span / 200 / 60 + 1) * 60;
	snprintf(step, sizeof(step), "%lld seconds", secs);
	if (utctime_format_rfc3339(r->first_revoked_at -
					   r->first_revoked_at % 60,
				   origin, sizeof(origin)) < 0)
		log_error("cannot format time %lld",
			  (long long)(r->first_revoked_at -
				      r->first_revoked_at % 60));
	v[0] = p->id;
	v[1] = p->at;
	v[2] = step;
	v[3] = origin;
	res = db_query(db,
		       "SELECT extract(epoch FROM date_bin($3::interval,"
		       "  revoked_at, $4::timestamptz))::bigint, count(*)"
		       " FROM certificate WHERE incident_id = $1"
		       " AND revoked_at <= $2::timestamptz"
		       " GROUP BY 1 ORDER BY 1",
		       4, v);
	if (res == NULL)
		return -1;
	r->ncurve = (size_t)PQntuples(res);
	r->revoked_curve = xcalloc(r->ncurve + 1, sizeof(*r->revoked_curve));
	for (size_t i = 0; i < r->ncurve; i++) {
		total += db_get_llong(res, (int)i, 1);
		/* The bucket's end: everything in it is revoked by then. */
		r->revoked_curve[i].at = db_get_time(res, (int)i, 0) + secs;
		r->revoked_curve[i].cumulative = total;
	}
	PQclear(res);
	return 0;
}

/*
 * The burn-down: when each certificate stopped needing revocation
 * (revoked, or expired before MUST-by), binned in about 200 whole-minute
 * steps from aware_at to `at`, and the exact count still to revoke at
 * aware_at, SHOULD-by, MUST-by and `at` by incident_progress()'s rule.
 */
static int gather_burndown(struct db *db, struct report *r,
			   const struct params *p)
{
	char step[32], t0[UTCTIME_BUFSZ], should[UTCTIME_BUFSZ];
	const char *v[6] = { p->id, p->at, p->must, step, t0, should };
	long long span, secs, total = 0;
	time_t start = r->dates.aware_at;
	PGresult *res;

	r->left_should = r->left_must = -1;
	span = (long long)(r->at - start);
	secs = (span > 0 ? span / 200 / 60 + 1 : 1) * 60;
	snprintf(step, sizeof(step), "%lld seconds", secs);
	if (utctime_format_rfc3339(start, t0, sizeof(t0)) < 0 ||
	    utctime_format_rfc3339(r->should_by, should, sizeof(should)) < 0)
		return log_error("report: time out of range");
#define LEFT_AT(t)                                                             \
	" count(*) FILTER (WHERE (revoked_at IS NULL OR revoked_at > " t       \
	") AND (not_after IS NULL OR not_after > least(" t                     \
	", $3::timestamptz)))"
	res = db_query(
		db,
		"SELECT" LEFT_AT("$5::timestamptz") "," LEFT_AT(
			"$6::"
			"timestamptz") "," LEFT_AT("$3::timestamptz") "," LEFT_AT("$2::timestamptz") " FRO"
												     "M "
												     "cert"
												     "ific"
												     "ate "
												     "WHER"
												     "E "
												     "inci"
												     "dent"
												     "_id "
												     "= $1"
												     " AND"
												     " $4:"
												     ":tex"
												     "t "
												     "IS "
												     "NOT "
												     "NUL"
												     "L",
		6, v);
#undef LEFT_AT
	if (res == NULL)
		return -1;
	r->burn_start = db_get_llong(res, 0, 0);
	if (r->should_by <= r->at)
		r->left_should = db_get_llong(res, 0, 1);
	if (r->must_by <= r->at)
		r->left_must = db_get_llong(res, 0, 2);
	r->left_at = db_get_llong(res, 0, 3);
	PQclear(res);
	if (span <= 0)
		return 0;
	res = db_query(db,
		       "SELECT extract(epoch FROM date_bin($4::interval, l,"
		       "  $5::timestamptz))::bigint, count(*) FROM"
		       " (SELECT least(revoked_at, CASE WHEN not_after <="
		       "   $3::timestamptz THEN not_after END) AS l"
		       "  FROM certificate WHERE incident_id = $1) c"
		       " WHERE l > $5::timestamptz AND l <= $2::timestamptz"
		       " AND $6::text IS NOT NULL GROUP BY 1 ORDER BY 1",
		       6, v);
	if (res == NULL)
		return -1;
	r->nburn = (size_t)PQntuples(res);
	r->burn = xcalloc(r->nburn + 1, sizeof(*r->burn));
	for (size_t i = 0; i < r->nburn; i++) {
		time_t end = db_get_time(res, (int)i, 0) + secs;

		total += db_get_llong(res, (int)i, 1);
		/* The bucket's end, but never past `at`. */
		r->burn[i].at = end < r->at ? end : r->at;
		r->burn[i].cumulative = total;
	}
	PQclear(res);
	return 0;
}

/*
 * Notification progress: sent, failed and no-address notices by when
 * they became so (sent_at, failed_at, created_at), cumulative, in about
 * 200 whole-minute steps from aware_at to `at`.
 */
static int gather_notify_curve(struct db *db, struct report *r,
			       const struct params *p)
{
	char step[32], t0[UTCTIME_BUFSZ];
	const char *v[4] = { p->id, p->at, step, t0 };
	long long span = (long long)(r->at - r->dates.aware_at), secs;
	long long sent = 0, failed = 0, none = 0;
	PGresult *res;

	if (span <= 0)
		return 0;
	secs = (span / 200 / 60 + 1) * 60;
	snprintf(step, sizeof(step), "%lld seconds", secs);
	if (utctime_format_rfc3339(r->dates.aware_at, t0, sizeof(t0)) < 0)
		return log_error("report: time out of range");
	res = db_query(
		db,
		"SELECT extract(epoch FROM date_bin($3::interval, t,"
		"  $4::timestamptz))::bigint,"
		" count(*) FILTER (WHERE s = 'sent'),"
		" count(*) FILTER (WHERE s = 'failed'),"
		" count(*) FILTER (WHERE s = 'no-address') FROM"
		/* created_at is the server's real time, not the rehearsal
		 * clock: a no-address notice counts from its kind's first
		 * sending when that is earlier (in a rehearsal). */
		" (SELECT CASE WHEN sent_at IS NOT NULL THEN 'sent'"
		"   WHEN failed_at IS NOT NULL THEN 'failed' ELSE state END s,"
		"   coalesce(sent_at, failed_at, least(created_at,"
		"    min(sent_at) OVER (PARTITION BY kind))) t"
		"  FROM notice WHERE incident_id = $1"
		"  AND (sent_at IS NOT NULL OR failed_at IS NOT NULL"
		"   OR state = 'no-address')) n"
		" WHERE t <= $2::timestamptz GROUP BY 1 ORDER BY 1",
		4, v);
	if (res == NULL)
		return -1;
	r->nnotify = (size_t)PQntuples(res);
	r->notify_curve = xcalloc(r->nnotify + 1, sizeof(*r->notify_curve));
	for (size_t i = 0; i < r->nnotify; i++) {
		time_t end = db_get_time(res, (int)i, 0) + secs;

		sent += db_get_llong(res, (int)i, 1);
		failed += db_get_llong(res, (int)i, 2);
		none += db_get_llong(res, (int)i, 3);
		r->notify_curve[i] =
			(struct report_notify_point){ end < r->at ? end : r->at,
						      sent, failed, none };
	}
	PQclear(res);
	return 0;
}

/*
 * The audit trail, bounded: a runaway cron job must not drown the report
 * in a hundred thousand rows.  Beyond REPORT_TIMELINE_EVENTS, the first
 * and the last half are kept (how it started, where it stands) and the
 * middle is said to be left out: how many, from when to when, and the
 * command that lists every event (`report --format events`).
 */
static int gather_events(struct db *db, struct report *r,
			 const struct params *p)
{
	char half[32], line[512], from[UTCTIME_BUFSZ], to[UTCTIME_BUFSZ];
	const char *v[3] = { p->id, p->at, half };
	PGresult *res;

	snprintf(half, sizeof(half), "%d", REPORT_TIMELINE_EVENTS / 2);
	r->omitted_events = 0;
	r->omitted_from = r->omitted_to = DEADLINE_UNSET;
	res = db_query(db,
		       "SELECT count(*),"
		       " count(*) FILTER (WHERE detail ? 'wall_clock')"
		       " FROM event WHERE incident_id = $1"
		       " AND at <= $2::timestamptz",
		       2, p->v);
	if (res == NULL)
		return -1;
	r->events = db_get_llong(res, 0, 0);
	r->rehearsal_events = db_get_llong(res, 0, 1);
	PQclear(res);
	if (r->events > REPORT_TIMELINE_EVENTS) {
		res = db_query(
			db,
			"SELECT count(*), extract(epoch FROM min(at))::bigint,"
			" extract(epoch FROM max(at))::bigint FROM"
			" (SELECT at, row_number() OVER (ORDER BY at, id) AS n"
			"  FROM event WHERE incident_id = $1"
			"  AND at <= $2::timestamptz) e"
			" WHERE n > $3::bigint AND n <= (SELECT count(*)"
			"  FROM event WHERE incident_id = $1"
			"  AND at <= $2::timestamptz) - $3::bigint",
			3, v);
		if (res == NULL)
			return -1;
		r->omitted_events = db_get_llong(res, 0, 0);
		r->omitted_from = db_get_time(res, 0, 1);
		r->omitted_to = db_get_time(res, 0, 2);
		PQclear(res);
	}
	/* At most half from each end; everything when it all fits. */
	res = db_query(db,
		       "(SELECT extract(epoch FROM at)::bigint, kind,"
		       " detail::text, at, id FROM event"
		       " WHERE incident_id = $1 AND at <= $2::timestamptz"
		       " ORDER BY at, id LIMIT $3::bigint)"
		       " UNION"
		       " (SELECT extract(epoch FROM at)::bigint, kind,"
		       " detail::text, at, id FROM event"
		       " WHERE incident_id = $1 AND at <= $2::timestamptz"
		       " ORDER BY at DESC, id DESC LIMIT $3::bigint)"
		       " ORDER BY 4, 5",
		       3, v);
	if (res == NULL)
		return -1;
	for (int row = 0; row < PQntuples(res); row++) {
		const char *group, *unit;
		long long count;
		char *text = report_event_prose(PQgetvalue(res, row, 1),
						PQgetvalue(res, row, 2), &group,
						&count, &unit);

		report_add_event(r, db_get_time(res, row, 0), text, group,
				 count, unit);
		free(text);
	}
	PQclear(res);
	if (r->omitted_events > 0) {
		if (utctime_format_rfc3339(r->omitted_from, from,
					   sizeof(from)) < 0)
			log_error("cannot format time %lld",
				  (long long)(r->omitted_from));
		if (utctime_format_rfc3339(r->omitted_to, to, sizeof(to)) < 0)
			log_error("cannot format time %lld",
				  (long long)(r->omitted_to));
		snprintf(line, sizeof(line),
			 "%lld more events from %s to %s omitted here; "
			 "`certrecall report %s --format events` lists all "
			 "%lld",
			 r->omitted_events, from, to, r->slug, r->events);
		report_add_entry(r, r->omitted_from, line);
	}
	return 0;
}

/* Milestones from the incident and the figures, then the audit trail. */
static int gather_timeline(struct db *db, struct report *r,
			   const struct params *p)
{
	const struct deadline_incident *d = &r->dates;
	char line[256], when[UTCTIME_BUFSZ];
	PGresult *res;
	const char *from;

	/* BR 4.9.5: an earlier problem report starts the revocation clock. */
	deadline_revoke_start(d, &r->rule, &from);
	report_add_entry(r, d->aware_at,
			 strcmp(from, "aware_at") == 0
				 ? "CA became aware: clock start"
				 : "CA became aware");
	if (d->cpr_received_at != DEADLINE_UNSET)
		report_add_entry(
			r, d->cpr_received_at,
			strcmp(from, "aware_at") != 0
				? "certificate problem report "
				  "received: clock start (BR 4.9.5)"
				: "certificate problem report received");
	if (d->disclosed_at != DEADLINE_UNSET)
		report_add_entry(r, d->disclosed_at, "incident disclosed");
	if (d->cpr_answered_at != DEADLINE_UNSET)
		report_add_entry(r, d->cpr_answered_at,
				 "preliminary report to the reporter sent");
	if (d->first_report_at != DEADLINE_UNSET)
		report_add_entry(r, d->first_report_at,
				 "first incident report posted");
	if (d->full_report_at != DEADLINE_UNSET)
		report_add_entry(r, d->full_report_at,
				 "full incident report posted");
	if (d->last_update_at != DEADLINE_UNSET)
		report_add_entry(r, d->last_update_at,
				 "latest delayed-revocation update posted");
	if (r->should_by != r->must_by)
		report_add_entry(r, r->should_by, "SHOULD-by: revocation due");
	if (utctime_format_rfc3339(r->must_by, when, sizeof(when)) < 0)
		log_error("cannot format time %lld", (long long)(r->must_by));
	report_add_entry(r, r->must_by, "MUST-by: revocation deadline");
	if (r->first_sent_at != DEADLINE_UNSET)
		report_add_entry(r, r->first_sent_at,
				 "first subscriber notice sent");
	if (r->last_sent_at != DEADLINE_UNSET &&
	    r->last_sent_at != r->first_sent_at)
		report_add_entry(r, r->last_sent_at,
				 "last subscriber notice sent");
	if (r->first_revoked_at != DEADLINE_UNSET)
		report_add_entry(r, r->first_revoked_at,
				 "first affected certificate revoked");
	if (r->last_revoked_at != DEADLINE_UNSET &&
	    r->last_revoked_at != r->first_revoked_at) {
		if (xsnprintf(line, sizeof(line),
			      "latest revocation so far (%s revoked)",
			      report_fmt_num(
				      r->by_verdict[DEADLINE_REVOKED_ON_TIME] +
				      r->by_verdict[DEADLINE_REVOKED_LATE])
				      .s) < 0)
			return -1;
		report_add_entry(r, r->last_revoked_at, line);
	}

	if (gather_events(db, r, p) < 0)
		return -1;
	report_sort_timeline(r);

	/* Each stage's latest event, in one query. */
	{
		char names[256], patterns[256];
		const char *v[4] = { p->id, p->at, names, patterns };
		size_t nl = 0, pl = 0;

		for (int i = 0; i < REPORT_NSTAGES; i++) {
			r->stages[i].name = stage_kinds[i].name;
			r->stages[i].at = DEADLINE_UNSET;
			nl += (size_t)snprintf(names + nl, sizeof(names) - nl,
					       "%c%s", i ? ',' : '{',
					       stage_kinds[i].name);
			pl += (size_t)snprintf(
				patterns + pl, sizeof(patterns) - pl, "%c%s",
				i ? ',' : '{', stage_kinds[i].pattern);
		}
		snprintf(names + nl, sizeof(names) - nl, "}");
		snprintf(patterns + pl, sizeof(patterns) - pl, "}");
		res = db_query(db,
			       "SELECT DISTINCT ON (s.name) s.name,"
			       " extract(epoch FROM e.at)::bigint, e.kind,"
			       " e.detail::text"
			       " FROM unnest($3::text[], $4::text[])"
			       "  AS s(name, pattern)"
			       " JOIN event e ON e.kind LIKE s.pattern"
			       " WHERE e.incident_id = $1"
			       " AND e.at <= $2::timestamptz"
			       " ORDER BY s.name, e.at DESC, e.id DESC",
			       4, v);
		if (res == NULL)
			return -1;
		for (int row = 0; row < PQntuples(res); row++) {
			for (int i = 0; i < REPORT_NSTAGES; i++) {
				if (strcmp(PQgetvalue(res, row, 0),
					   stage_kinds[i].name) != 0)
					continue;
				r->stages[i].at = db_get_time(res, row, 1);
				r->stages[i].detail = report_event_text(
					PQgetvalue(res, row, 2),
					PQgetvalue(res, row, 3));
			}
		}
		PQclear(res);
	}
	return 0;
}

/* Certificates whose sources disagree (revocation.c decides what a
 * disagreement is, over OCSP, CRL and imported evidence). */
static int gather_conflicts(struct db *db, struct report *r,
			    long long incident_id)
{
	r->conflicts = revocation_conflicts(db, incident_id, NULL);
	return r->conflicts < 0 ? -1 : 0;
}

struct report *report_store_gather(struct db *db, const struct incident *inc,
				   time_t at, const char *organization,
				   enum report_depth depth)
{
	struct report *r = xcalloc(1, sizeof(*r));
	struct deadline_progress prog;
	struct incident_verdicts v;
	struct db *side = NULL;
	struct params p;
	char err[256];

	r->slug = xstrdup(inc->slug);
	r->title = xstrdup(inc->title);
	r->reason = xstrdup(inc->reason);
	r->organization = xstrdup(organization ? organization : "");
	r->at = at;
	r->first_sent_at = r->last_sent_at = DEADLINE_UNSET;
	r->latest_scan_at = DEADLINE_UNSET;
	for (int i = 0; i <= REPORT_UNREACHED_REASONS; i++)
		r->unreached[i] = -1;
	r->unreached_rows = -1;
	incident_to_deadline(inc, &r->dates);
	if (deadline_resolve(inc->reason, inc->aware_at, &r->rule, err,
			     sizeof(err)) < 0) {
		log_error("incident %s: %s", inc->slug, err);
		goto fail;
	}
	/* BR 4.9.5: an earlier problem report starts the clocks. */
	r->should_by = deadline_should_by(
		&r->rule, incident_revoke_start(inc, &r->rule, NULL));
	r->must_by = deadline_must_by(
		&r->rule, incident_revoke_start(inc, &r->rule, NULL));
	/* Big one-off aggregates: compiling them costs more than it saves. */
	if (db_exec(db, "SET jit = off") < 0 ||
	    params_init(&p, inc->id, at, r->must_by) < 0 ||
	    incident_progress(db, inc->id, r->must_by, at, &prog) < 0)
		goto fail;
	r->nclocks = deadline_compute(&r->dates, &r->rule, &prog, at, r->clocks,
				      err, sizeof(err));
	if (r->nclocks < 0) {
		log_error("incident %s: %s", inc->slug, err);
		goto fail;
	}
	/* The comments were borrowed from inc, which r outlives. */
	r->dates.comments = NULL;
	r->dates.ncomments = 0;
	if (depth == REPORT_HEADER) {
		PGresult *res = db_query(db,
					 "SELECT count(*) FROM certificate"
					 " WHERE incident_id = $1",
					 1, p.v);

		if (res == NULL)
			goto fail;
		r->certificates = db_get_llong(res, 0, 0);
		PQclear(res);
		return r;
	}
	if (incident_verdicts(db, inc->id, r->must_by, at, &v) < 0)
		goto fail;
	memcpy(r->by_verdict, v.by_verdict, sizeof(r->by_verdict));
	r->short_lived = v.short_lived;
	r->names = r->addresses = -1;
	if (depth == REPORT_FULL)
		side = names_begin(db, &p);
	if (gather_impact(db, r, &p) < 0 || gather_deployment(db, r, &p) < 0 ||
	    gather_served_on(db, r, &p) < 0 || gather_notices(db, r, &p) < 0 ||
	    gather_curve(db, r, &p) < 0 || gather_burndown(db, r, &p) < 0 ||
	    gather_notify_curve(db, r, &p) < 0 ||
	    gather_conflicts(db, r, inc->id) < 0 ||
	    gather_timeline(db, r, &p) < 0)
		goto fail;
	if (depth == REPORT_FULL) {
		struct db *s = side;

		side = NULL;
		if (names_end(db, s, r, &p) < 0 ||
		    report_store_unreached_count(db, r, inc->id) < 0)
			goto fail;
	}
	return r;
fail:
	db_close(side); /* a query still running is abandoned */
	report_free(r);
	return NULL;
}
