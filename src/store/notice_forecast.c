/*
 * notice_forecast.c - the SQL of `notify --plan` (notice_forecast.h).
 */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>

#include "certrecall/base/log.h"
#include "certrecall/base/utctime.h"
#include "certrecall/base/xalloc.h"
#include "certrecall/core/deadline.h"
#include "certrecall/core/notice.h"
#include "certrecall/store/db.h"
#include "certrecall/store/dbq.h"
#include "certrecall/store/notice_forecast.h"

/*
 * The notices planning would create, per kind (new addresses, new
 * no-address records), counted by the same rules as planning, for the
 * three kinds in one pass over the certificates: an address of the
 * kind's accounts without a notice of the kind that the kind's address
 * rule selects (notice.h: reminders skip unreachable addresses), an
 * account without any address and without its no-address record.
 */
static int count_fresh(struct db *db, const char *id,
		       char fresh[NOTICE_NKINDS][2][32])
{
	char f[NOTICE_NKINDS][1024], *sql, *counts[NOTICE_NKINDS];
	char af[NOTICE_NKINDS][512]; /* the address rule: on column e */
	const char *p1[1] = { id };
	PGresult *res;

	for (size_t k = 0; k < NOTICE_NKINDS; k++)
		if (notice_cert_filter_sql(notice_kind_name(k), f[k],
					   sizeof(f[k])) < 0 ||
		    notice_address_filter_sql(notice_kind_name(k), af[k],
					      sizeof(af[k])) < 0)
			return -1;
	for (size_t k = 0; k < NOTICE_NKINDS; k++) {
		const char *kind = notice_kind_name(k);

		counts[k] = xasprintf(
			"%s (SELECT count(*) FROM addr WHERE k%zu%s AND"
			" NOT EXISTS (SELECT 1 FROM notice n"
			" WHERE n.incident_id = $1 AND n.kind = '%s'"
			" AND n.address = addr.e)),"
			" (SELECT count(*) FROM sub WHERE k%zu AND"
			" coalesce(cardinality(emails), 0) = 0"
			" AND NOT EXISTS (SELECT 1 FROM notice n"
			" WHERE n.incident_id = $1 AND n.kind = '%s'"
			" AND n.account = sub.account))",
			k ? "," : "", k, af[k], kind, k, kind);
	}
	sql = xasprintf("WITH acct AS (SELECT account, bool_or(true%s) AS k0,"
			" bool_or(true%s) AS k1, bool_or(true%s) AS k2"
			" FROM certificate WHERE incident_id = $1"
			" AND account IS NOT NULL GROUP BY account),"
			" sub AS (SELECT a.*, s.emails FROM acct a"
			" LEFT JOIN subscriber s USING (account)),"
			" addr AS (SELECT x AS e, bool_or(k0) AS k0,"
			" bool_or(k1) AS k1, bool_or(k2) AS k2 FROM sub"
			" CROSS JOIN unnest(sub.emails) x GROUP BY x)"
			" SELECT%s%s%s",
			f[0], f[1], f[2], counts[0], counts[1], counts[2]);
	for (size_t k = 0; k < NOTICE_NKINDS; k++)
		free(counts[k]);
	res = db_query(db, sql, 1, p1);
	free(sql);
	if (res == NULL)
		return -1;
	for (int k = 0; k < NOTICE_NKINDS; k++) {
		/* counts: at most 20 digits */
		if (snprintf(fresh[k][0], sizeof(fresh[k][0]), "%s",
			     PQgetvalue(res, 0, 2 * k)) < 0 ||
		    snprintf(fresh[k][1], sizeof(fresh[k][1]), "%s",
			     PQgetvalue(res, 0, 2 * k + 1)) < 0)
			fresh[k][0][0] = fresh[k][1][0] = '\0';
	}
	PQclear(res);
	return 0;
}

/* The counts of one kind: the notices that exist plus the fresh ones. */
static int count_kind(struct db *db, const char *id, const char *kind,
		      const char *must, const char fresh[2][32],
		      struct notice_forecast_row *row)
{
	const char *params[5] = { id, kind, must, fresh[0], fresh[1] };
	PGresult *res;

	res = db_query(db,
		       "WITH fresh AS (SELECT $4::bigint AS a,"
		       " $5::bigint AS na),"
		       " old AS (SELECT count(*) FILTER (WHERE state IN"
		       " ('pending', 'retry', 'claimed')) AS due,"
		       " count(DISTINCT address) FILTER (WHERE state IN"
		       " ('pending', 'retry', 'claimed')) AS addrs,"
		       " count(*) FILTER (WHERE state = 'sent') AS sent,"
		       " count(*) FILTER (WHERE state = 'failed') AS failed,"
		       " count(*) FILTER (WHERE state = 'retry') AS retry,"
		       " count(*) FILTER (WHERE state = 'no-address') AS na,"
		       " min(deadline_stated) AS lo, max(deadline_stated) AS "
		       "hi"
		       " FROM notice WHERE incident_id = $1 AND kind = $2)"
		       " SELECT o.due + f.a, o.addrs + f.a, o.sent, o.failed,"
		       " o.retry, o.na + f.na,"
		       " extract(epoch FROM CASE WHEN f.a > 0 THEN"
		       " least(o.lo, $3::timestamptz) ELSE o.lo END)::bigint,"
		       " extract(epoch FROM CASE WHEN f.a > 0 THEN"
		       " greatest(o.hi, $3::timestamptz) ELSE o.hi "
		       "END)::bigint"
		       " FROM old o, fresh f",
		       5, params);
	if (res == NULL)
		return -1;
	row->due = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	row->addresses = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
	row->sent = strtoll(PQgetvalue(res, 0, 2), NULL, 10);
	row->failed = strtoll(PQgetvalue(res, 0, 3), NULL, 10);
	row->retry = strtoll(PQgetvalue(res, 0, 4), NULL, 10);
	row->no_address = strtoll(PQgetvalue(res, 0, 5), NULL, 10);
	row->earliest = row->latest = DEADLINE_UNSET;
	if (!PQgetisnull(res, 0, 6)) {
		row->earliest =
			(time_t)strtoll(PQgetvalue(res, 0, 6), NULL, 10);
		row->latest = (time_t)strtoll(PQgetvalue(res, 0, 7), NULL, 10);
	}
	PQclear(res);
	return 0;
}

int notice_forecast_count(struct db *db, long long incident_id, time_t must_by,
			  struct notice_forecast_row rows[NOTICE_NKINDS])
{
	char id[32], must[UTCTIME_BUFSZ];
	char fresh[NOTICE_NKINDS][2][32]; /* new addresses, new no-address */
	int rc = -1;

	db_param_llong(id, incident_id);
	if (utctime_format_rfc3339(must_by, must, sizeof(must)) < 0)
		return log_error("a deadline is out of range");
	/* One snapshot for all the counts. */
	if (db_exec(db, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY") < 0)
		return -1;
	/* The certificates per account: read in the table's order and
	 * hashed, not in account order through certificate_account, a
	 * random heap read per certificate that the planner took for
	 * cheaper (it believes in some 5,000 accounts, not 150,000): 10 s
	 * against 2.7 s at 3 M.  The lookups by key stay index-only or
	 * bitmap scans. */
	if (db_exec(db, "SET LOCAL enable_indexscan = off") < 0 ||
	    count_fresh(db, id, fresh) < 0)
		goto out;
	for (size_t k = 0; k < NOTICE_NKINDS; k++)
		if (count_kind(db, id, notice_kind_name(k), must, fresh[k],
			       &rows[k]) < 0)
			goto out;
	rc = 0;
out:
	db_rollback(db); /* a forecast: nothing is kept */
	return rc;
}
