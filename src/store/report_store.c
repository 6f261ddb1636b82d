/*
 * report_store.c - gathering an incident's figures from the database into
 * the report model (core/report.h), and the per-certificate outputs
 * streamed with COPY.  The renderers are in core/report_render.c.
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
 * enough to be deployed).  At most 50, by name. */
static int gather_served_on(struct db *db, struct report *r,
			    const struct params *p)
{
	PGresult *res = db_query(
		db,
		"SELECT t.name || ':' || t.port || CASE WHEN t.protocol = 'tls'"
		" THEN '' ELSE '/' || t.protocol END,"
		" count(*) FILTER (WHERE o.verdict = 'serving-affected'),"
		" count(*)"
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
	for (int i = 0; i < 4; i++)
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

/* "3,048,289" (rotating buffers: several fit in one printf). */
static const char *grouped(long long v)
{
	static char bufs[8][32];
	static int next;
	char digits[32];
	size_t n, o = 0;
	char *b;

	next = (next + 1) % 8;
	b = bufs[next];
	snprintf(digits, sizeof(digits), "%lld", v < 0 ? -v : v);
	n = strlen(digits);
	if (v < 0)
		b[o++] = '-';
	for (size_t i = 0; i < n; i++) {
		if (i > 0 && (n - i) % 3 == 0)
			b[o++] = ',';
		b[o++] = digits[i];
	}
	b[o] = '\0';
	return b;
}

static long long jint(json_t *d, const char *key)
{
	json_t *v = json_object_get(d, key);

	return json_is_integer(v) ? (long long)json_integer_value(v) : 0;
}

static const char *jstr(json_t *d, const char *key)
{
	const char *s = json_string_value(json_object_get(d, key));

	return s ? s : "?";
}

/* "caa.txt.gz" or "a.pem and 2 more": file names without their
 * directories, from detail's "files" array or "file" string. */
static const char *files_of(json_t *d, char *buf, size_t len)
{
	json_t *a = json_object_get(d, "files");
	const char *f = json_is_array(a)
				? json_string_value(json_array_get(a, 0))
				: json_string_value(json_object_get(d, "file"));
	const char *slash;

	if (f == NULL)
		f = "?";
	slash = strrchr(f, '/');
	if (slash && slash[1])
		f = slash + 1;
	if (json_is_array(a) && json_array_size(a) > 1)
		snprintf(buf, len, "%.100s and %zu more", f,
			 json_array_size(a) - 1);
	else
		snprintf(buf, len, "%.100s", f);
	return buf;
}

/*
 * An audit-trail event in plain words, the way a Bugzilla timeline reads
 * ("imported 3,048 certificates from caa.txt.gz (973 accounts)"), with
 * the group and count its run collapses by.  Kinds without words of
 * their own fall back to event_text().  Returns the text (caller frees).
 */
static char *event_text(const char *kind, const char *detail);

static char *event_prose(const char *kind, const char *detail,
			 const char **group, long long *count,
			 const char **unit)
{
	json_t *d = json_loads(detail, 0, NULL);
	char buf[512], files[160];
	int n = -1;

	*group = kind[0] ? "other" : NULL;
	*count = 1;
	*unit = "events";
	if (!json_is_object(d)) {
		json_decref(d);
		return event_text(kind, detail);
	}
	if (strcmp(kind, "import.certificates") == 0) {
		*group = "import";
		*count = jint(d, "new");
		*unit = "certificates";
		n = snprintf(buf, sizeof(buf),
			     "imported %s certificates from %s (%s accounts, "
			     "%s distinct names; %s already present, %s "
			     "rejected)",
			     grouped(jint(d, "new")),
			     files_of(d, files, sizeof(files)),
			     grouped(jint(d, "accounts")),
			     grouped(jint(d, "distinct_names")),
			     grouped(jint(d, "present")),
			     grouped(jint(d, "rejects")));
	} else if (strcmp(kind, "import.replacements") == 0) {
		*group = "import replacements";
		*count = jint(d, "new");
		*unit = "replacements";
		n = snprintf(buf, sizeof(buf),
			     "imported %s replacement certificates from %s; "
			     "%s affected certificates now have one",
			     grouped(jint(d, "new")),
			     files_of(d, files, sizeof(files)),
			     grouped(jint(d, "replaced")));
	} else if (strcmp(kind, "import.revocations") == 0) {
		*group = "import revocations";
		*count = jint(d, "loaded");
		*unit = "revocations";
		n = snprintf(buf, sizeof(buf),
			     "loaded %s revocations from %s (%s of unknown "
			     "certificates, %s conflicts)",
			     grouped(jint(d, "loaded")),
			     files_of(d, files, sizeof(files)),
			     grouped(jint(d, "unknown")),
			     grouped(jint(d, "conflicts")));
	} else if (strcmp(kind, "incident.create") == 0) {
		*group = NULL;
		n = snprintf(buf, sizeof(buf),
			     "incident %.60s opened: \"%.120s\", rule %.40s, "
			     "aware at %.40s",
			     jstr(d, "slug"), jstr(d, "title"),
			     jstr(d, "reason"), jstr(d, "aware_at"));
	} else if (strcmp(kind, "incident.add-issuer") == 0) {
		*group = NULL;
		n = snprintf(buf, sizeof(buf),
			     "issuer certificate%s added from %s (%s)",
			     jint(d, "issuers") == 1 ? "" : "s",
			     files_of(d, files, sizeof(files)),
			     grouped(jint(d, "issuers")));
	} else if (strcmp(kind, "scan") == 0) {
		*group = "scan";
		*count = jint(d, "done");
		*unit = "names";
		n = snprintf(buf, sizeof(buf),
			     "scanned %s of %s names: %s answered, %s "
			     "failed, %s filtered",
			     grouped(jint(d, "done")),
			     grouped(jint(d, "targets")),
			     grouped(jint(d, "answered")),
			     grouped(jint(d, "failed")),
			     grouped(jint(d, "filtered")));
	} else if (strncmp(kind, "notify.", 7) == 0) {
		/* group must outlive the query result: a static name. */
		*group = strcmp(kind, "notify.initial") == 0 ? "notify.initial"
			 : strcmp(kind, "notify.reminder") == 0
				 ? "notify.reminder"
			 : strcmp(kind, "notify.revoked") == 0
				 ? "notify.revoked"
				 : "notify";
		*count = jint(d, "sent");
		*unit = "notices sent";
		n = snprintf(buf, sizeof(buf),
			     "%s notices: %s sent, %s failed, %s to retry; "
			     "%s accounts without a contact address",
			     jstr(d, "kind"), grouped(jint(d, "sent")),
			     grouped(jint(d, "failed")),
			     grouped(jint(d, "retry")),
			     grouped(jint(d, "no_address")));
	} else if (strcmp(kind, "revcheck") == 0) {
		*group = "revcheck";
		*count = jint(d, "revoked") + jint(d, "good") +
			 jint(d, "unknown");
		*unit = "certificates checked";
		n = snprintf(buf, sizeof(buf),
			     "revocation checked with the CA's OCSP and CRL: "
			     "%s revoked, %s good, %s unknown, %s conflicts",
			     grouped(jint(d, "revoked")),
			     grouped(jint(d, "good")),
			     grouped(jint(d, "unknown")),
			     grouped(jint(d, "conflicts")));
	} else if (strcmp(kind, "report") == 0) {
		*group = "report";
		*unit = "reports";
		n = snprintf(buf, sizeof(buf), "%.20s report written to %.200s",
			     jstr(d, "format"), jstr(d, "output"));
	}
	json_decref(d);
	if (n < 0)
		return event_text(kind, detail);
	return xstrdup(buf);
}

/* "import.certificates: lines 3000, new 3000, ..." from an event row. */
static char *event_text(const char *kind, const char *detail)
{
	json_t *d = json_loads(detail, 0, NULL);
	const char *key;
	json_t *val;
	char buf[400];
	size_t off;
	int n = 0;

	off = (size_t)snprintf(buf, sizeof(buf), "%s", kind);
	if (json_is_object(d)) {
		json_object_foreach(d, key, val)
		{
			char one[96];

			/* The real time of a rehearsal: counted, not listed. */
			if (strcmp(key, "wall_clock") == 0)
				continue;

			if (json_is_integer(val))
				snprintf(one, sizeof(one), "%s %lld", key,
					 (long long)json_integer_value(val));
			else if (json_is_string(val))
				snprintf(one, sizeof(one), "%s %.60s", key,
					 json_string_value(val));
			else if (json_is_real(val))
				snprintf(one, sizeof(one), "%s %.1f", key,
					 json_real_value(val));
			else
				continue;
			if (off + strlen(one) + 3 >= sizeof(buf))
				break;
			off += (size_t)snprintf(buf + off, sizeof(buf) - off,
						"%s%s", n++ ? ", " : ": ", one);
		}
	}
	json_decref(d);
	return xstrdup(buf);
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
		char *text = event_prose(PQgetvalue(res, row, 1),
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
		snprintf(line, sizeof(line),
			 "latest revocation so far (%s revoked)",
			 grouped(r->by_verdict[DEADLINE_REVOKED_ON_TIME] +
				 r->by_verdict[DEADLINE_REVOKED_LATE]));
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
				r->stages[i].detail =
					event_text(PQgetvalue(res, row, 2),
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
		if (names_end(db, s, r, &p) < 0)
			goto fail;
	}
	return r;
fail:
	db_close(side); /* a query still running is abandoned */
	report_free(r);
	return NULL;
}

/*
 * Runs COPY (sql) TO STDOUT, the query's $n replaced by custom settings
 * read with current_setting(): COPY takes no parameters, and pasting
 * values into the SQL is what we never do.  Returns rows written or -1.
 */
static long long copy_out(struct db *db, const char *sql, const char *at,
			  const char *must, const char *id, FILE *out)
{
	PGconn *conn = db_get0_conn(db);
	const char *v[3] = { at, must, id };
	long long rows = 0;
	PGresult *res;
	char *buf;
	int n;

	res = db_query(db,
		       "SELECT set_config('certrecall.at', $1, false),"
		       " set_config('certrecall.must_by', $2, false),"
		       " set_config('certrecall.incident', $3, false)",
		       3, v);
	if (res == NULL)
		return -1;
	PQclear(res);
	res = PQexec(conn, sql);
	if (PQresultStatus(res) != PGRES_COPY_OUT) {
		log_error("report: %s", PQerrorMessage(conn));
		PQclear(res);
		return -1;
	}
	PQclear(res);
	while ((n = PQgetCopyData(conn, &buf, 0)) > 0) {
		if (fwrite(buf, 1, (size_t)n, out) != (size_t)n) {
			/* reported by cli_output_close() */
			PQfreemem(buf);
			/* Drain so the connection stays usable. */
			while ((n = PQgetCopyData(conn, &buf, 0)) > 0)
				PQfreemem(buf);
			rows = -1;
			break;
		}
		PQfreemem(buf);
		if (rows >= 0)
			rows++;
	}
	res = PQgetResult(conn);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		log_error("report: %s", PQerrorMessage(conn));
		rows = -1;
	}
	PQclear(res);
	while ((res = PQgetResult(conn)) != NULL)
		PQclear(res);
	return rows;
}

long long report_store_certificates(struct db *db, const struct report *r,
				    long long incident_id, FILE *out)
{
	char at[UTCTIME_BUFSZ], must[UTCTIME_BUFSZ], id[32];
	long long rows;

	if (utctime_format_rfc3339(r->at, at, sizeof(at)) < 0)
		log_error("cannot format time %lld", (long long)(r->at));
	if (utctime_format_rfc3339(r->must_by, must, sizeof(must)) < 0)
		log_error("cannot format time %lld", (long long)(r->must_by));
	snprintf(id, sizeof(id), "%lld", incident_id);
	fputs("serial,account,names,issued_at,not_after,verdict,deployment,"
	      "revoked_at,revocation_reason,replaced_by,source,source_line\n",
	      out);
	rows = copy_out(
		db,
		"COPY (SELECT encode(c.serial, 'hex'), c.account,"
		" array_to_string(c.names, ' '),"
		" to_char(c.issued_at AT TIME ZONE 'UTC',"
		"  'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
		" to_char(c.not_after AT TIME ZONE 'UTC',"
		"  'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
		" certificate_verdict(c.revoked_at, c.not_after,"
		"  current_setting('certrecall.must_by')::timestamptz,"
		"  current_setting('certrecall.at')::timestamptz),"
		" coalesce(d.deployment, 'not scanned'),"
		" CASE WHEN c.revoked_at <= current_setting('certrecall.at')"
		"  ::timestamptz THEN to_char(c.revoked_at AT TIME ZONE 'UTC',"
		"  'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') END,"
		" CASE WHEN c.revoked_at <= current_setting('certrecall.at')"
		"  ::timestamptz THEN c.revocation_reason END,"
		" encode(c.replaced_by, 'hex'), c.source, c.source_line"
		" FROM certificate c LEFT JOIN incident_deployment("
		"  current_setting('certrecall.incident')::bigint) d"
		"  ON d.certificate_id = c.id"
		" WHERE c.incident_id = current_setting('certrecall.incident')"
		"  ::bigint ORDER BY c.id) TO STDOUT WITH (FORMAT csv)",
		at, must, id, out);
	return rows;
}

long long report_store_events(struct db *db, const struct report *r,
			      long long incident_id, FILE *out)
{
	char at[UTCTIME_BUFSZ], must[UTCTIME_BUFSZ], id[32];

	if (utctime_format_rfc3339(r->at, at, sizeof(at)) < 0)
		log_error("cannot format time %lld", (long long)(r->at));
	if (utctime_format_rfc3339(r->must_by, must, sizeof(must)) < 0)
		log_error("cannot format time %lld", (long long)(r->must_by));
	snprintf(id, sizeof(id), "%lld", incident_id);
	fputs("at,kind,actor,host,command,detail\n", out);
	return copy_out(
		db,
		"COPY (SELECT to_char(at AT TIME ZONE 'UTC',"
		"  'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'),"
		" kind, actor, host, command, detail::text FROM event"
		" WHERE incident_id = current_setting('certrecall.incident')"
		"  ::bigint AND at <= current_setting('certrecall.at')"
		"  ::timestamptz ORDER BY at, id) TO STDOUT WITH (FORMAT csv)",
		at, must, id, out);
}

/* CRLReason names (RFC 5280 5.3.1) for the CCADB column; a code it does
 * not define (a CRL may list 12) as "unknown (12)". */
#define CRLREASON_SQL                                                          \
	"coalesce((ARRAY['unspecified','keyCompromise','cACompromise',"        \
	"'affiliationChanged','superseded','cessationOfOperation',"            \
	"'certificateHold',NULL,'removeFromCRL','privilegeWithdrawn',"         \
	"'aACompromise'])[c.revocation_reason + 1],"                           \
	" 'unknown (' || c.revocation_reason || ')')"

/* Columns the CCADB CSV wants that imported data may lack. */
static void note_missing(struct db *db, long long incident_id, bool crtsh)
{
	char id[32];
	const char *v[1] = { id };
	static const char *const cols[] = {
		"Precertificate SHA-256",
		"Certificate SHA-256",
		"Subject",
		"Issuer",
		"Not before",
		"Not after",
	};
	PGresult *res;

	snprintf(id, sizeof(id), "%lld", incident_id);
	res = db_query(db,
		       "SELECT count(*),"
		       " count(*) FILTER (WHERE NOT (is_precert"
		       "  AND sha256 IS NOT NULL)),"
		       " count(*) FILTER (WHERE is_precert OR sha256 IS NULL),"
		       " count(*) FILTER (WHERE subject IS NULL),"
		       " count(*) FILTER (WHERE issuer_name IS NULL"
		       "  AND issuer_id IS NULL),"
		       " count(*) FILTER (WHERE issued_at IS NULL),"
		       " count(*) FILTER (WHERE not_after IS NULL),"
		       " count(*) FILTER (WHERE sha256 IS NULL)"
		       " FROM certificate WHERE incident_id = $1",
		       1, v);
	if (res == NULL)
		return;
	if (crtsh) {
		if (db_get_llong(res, 0, 7) > 0)
			log_warn("ccadb: %lld of %lld certificates have no "
				 "SHA-256 in the imported data: listed as "
				 "https://crt.sh/?serial=<hex> instead",
				 db_get_llong(res, 0, 7),
				 db_get_llong(res, 0, 0));
		PQclear(res);
		return;
	}
	for (int i = 0; i < 6; i++) {
		long long missing = db_get_llong(res, 0, i + 1);

		if (missing > 0)
			log_warn("ccadb: column \"%s\" is empty for %lld of "
				 "%lld certificates: the imported format does "
				 "not carry it",
				 cols[i], missing, db_get_llong(res, 0, 0));
	}
	PQclear(res);
}

long long report_store_ccadb(struct db *db, const struct report *r,
			     long long incident_id, long long threshold,
			     FILE *out)
{
	char at[UTCTIME_BUFSZ], must[UTCTIME_BUFSZ], id[32];
	bool crtsh = r->certificates >= threshold;
	long long rows;

	if (utctime_format_rfc3339(r->at, at, sizeof(at)) < 0)
		log_error("cannot format time %lld", (long long)(r->at));
	if (utctime_format_rfc3339(r->must_by, must, sizeof(must)) < 0)
		log_error("cannot format time %lld", (long long)(r->must_by));
	snprintf(id, sizeof(id), "%lld", incident_id);
	note_missing(db, incident_id, crtsh);
	if (crtsh)
		return copy_out(
			db,
			"COPY (SELECT CASE WHEN c.sha256 IS NOT NULL THEN"
			" 'https://crt.sh/?sha256=' || encode(c.sha256, 'hex')"
			" ELSE 'https://crt.sh/?serial=' ||"
			" encode(c.serial, 'hex') END"
			" FROM certificate c WHERE c.incident_id ="
			" current_setting('certrecall.incident')::bigint"
			" ORDER BY c.id) TO STDOUT",
			at, must, id, out);
	fputs("Precertificate SHA-256,Certificate SHA-256,Subject,Issuer,"
	      "Not before,Not after,Serial #,dNSNames,Is revoked?,"
	      "Revocation date,Revocation reason\n",
	      out);
	rows = copy_out(
		db,
		"COPY (SELECT CASE WHEN c.is_precert THEN"
		"  encode(c.sha256, 'hex') END,"
		" CASE WHEN NOT c.is_precert THEN encode(c.sha256, 'hex') END,"
		" c.subject, coalesce(i.subject, c.issuer_name),"
		" to_char(c.issued_at AT TIME ZONE 'UTC',"
		"  'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
		" to_char(c.not_after AT TIME ZONE 'UTC',"
		"  'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
		" upper(encode(c.serial, 'hex')),"
		" array_to_string(c.names, ' '),"
		" CASE certificate_verdict(c.revoked_at, c.not_after,"
		"  current_setting('certrecall.must_by')::timestamptz,"
		"  current_setting('certrecall.at')::timestamptz)"
		"  WHEN 'revoked-on-time' THEN 'Yes'"
		"  WHEN 'revoked-late' THEN 'Yes'"
		"  WHEN 'pending' THEN 'Planned'"
		"  WHEN 'overdue' THEN 'Delayed'"
		"  ELSE 'N/A' END,"
		" CASE WHEN c.revoked_at <= current_setting('certrecall.at')"
		"  ::timestamptz THEN to_char(c.revoked_at AT TIME ZONE 'UTC',"
		"  'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') END,"
		" CASE WHEN c.revoked_at <= current_setting('certrecall.at')"
		"  ::timestamptz THEN " CRLREASON_SQL " END"
		" FROM certificate c LEFT JOIN issuer i ON i.id = c.issuer_id"
		" WHERE c.incident_id = current_setting('certrecall.incident')"
		"  ::bigint ORDER BY c.id) TO STDOUT WITH (FORMAT csv)",
		at, must, id, out);
	return rows;
}
