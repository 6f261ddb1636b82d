/*
 * report_copy.c - the per-certificate outputs of the report (CSV, the
 * CCADB appendix) and the audit trail as CSV, streamed from the server
 * with COPY: millions of rows never held in memory.  Part of module
 * report_store (store/report_store.h); the figures are gathered in
 * report_store.c.
 */
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "certrecall/base/log.h"
#include "certrecall/base/utctime.h"
#include "certrecall/base/xalloc.h"
#include "certrecall/base/xsnprintf.h"
#include "certrecall/core/report.h"
#include "certrecall/store/db.h"
#include "certrecall/store/dbq.h"
#include "certrecall/store/report_store.h"
#include "certrecall/store/revocation.h"

/*
 * Runs COPY (sql) TO STDOUT with the report's time, its MUST-by and the
 * incident as the custom settings certrecall.at, certrecall.must_by and
 * certrecall.incident, read in sql with current_setting(): COPY takes no
 * parameters, and pasting values into the SQL is what we never do.
 * Returns rows written or -1.
 */
static long long copy_out(struct db *db, const char *sql,
			  const struct report *r, long long incident_id,
			  FILE *out)
{
	char at[UTCTIME_BUFSZ], must[UTCTIME_BUFSZ], id[32];
	PGconn *conn = db_get0_conn(db);
	const char *v[3] = { at, must, id };
	long long rows = 0;
	PGresult *res;
	char *buf;
	int n;

	if (utctime_format_rfc3339(r->at, at, sizeof(at)) < 0)
		log_error("cannot format time %lld", (long long)(r->at));
	if (utctime_format_rfc3339(r->must_by, must, sizeof(must)) < 0)
		log_error("cannot format time %lld", (long long)(r->must_by));
	snprintf(id, sizeof(id), "%lld", incident_id);
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
	long long rows;

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
		r, incident_id, out);
	return rows;
}

long long report_store_events(struct db *db, const struct report *r,
			      long long incident_id, FILE *out)
{

	fputs("at,kind,actor,host,command,detail\n", out);
	return copy_out(
		db,
		"COPY (SELECT to_char(at AT TIME ZONE 'UTC',"
		"  'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'),"
		" kind, actor, host, command, detail::text FROM event"
		" WHERE incident_id = current_setting('certrecall.incident')"
		"  ::bigint AND at <= current_setting('certrecall.at')"
		"  ::timestamptz ORDER BY at, id) TO STDOUT WITH (FORMAT csv)",
		r, incident_id, out);
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
	bool crtsh = r->certificates >= threshold;
	long long rows;

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
			r, incident_id, out);
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
		r, incident_id, out);
	return rows;
}

/*
 * The subscribers no notice reached (issue 21), as the CCADB incident
 * report's appendix lists them: one row per affected certificate and
 * contact address (or account without any) that the notices did not
 * reach by `at`, with the likeliest reason, in this order of precedence:
 *   bounced      a notice to the address that covered the certificate
 *                came back (delivery 'bounced': status, diagnostic);
 *   unreachable  the address hard-bounced another notice earlier, so
 *                reminders skip it (unreachable_address);
 *   failed       the relay refused every notice to the address for it
 *                (5xx: failed_at, the reply) and none was sent;
 *   no-address   the account has no contact address at all.
 * An address is not told when any of its notices bounced, as
 * notice_reach() (020) counts it.  INC and AT are SQL expressions of the
 * incident id and the report's moment, a whole second: what happened
 * within that second counts (the list shows whole seconds too).  A
 * hard-bounced address counts for each certificate it stands for:
 * planned to it before the bounce, or listed for its account since
 * (reminders are no longer planned to it).  created_at is the server's
 * real time, not the rehearsal clock: as in the notification curve, a
 * no-address notice counts from its kind's first sending when earlier.
 * Columns: certificate id, serial, sha256, account, address, reason,
 * precedence, at, status, diagnostic.  Only the notices that bounced,
 * failed or went to a dead address are joined to their certificates:
 * the list costs what went wrong, not the size of the incident.
 */
/* clang-format off */
#define UNREACHED_SQL(INC, AT)                                                 \
	"WITH nc AS (SELECT x.certificate_id cid, n.id nid, n.address,"        \
	"  n.delivery, n.delivery_status, n.delivery_diagnostic,"              \
	"  n.delivery_at, n.failed_at, n.last_reply"                           \
	"  FROM notice n JOIN notice_certificate x ON x.notice_id = n.id"      \
	"  WHERE n.incident_id = " INC " AND n.address IS NOT NULL"            \
	"  AND (n.delivery = 'bounced' OR n.failed_at IS NOT NULL"             \
	"   OR n.address IN (SELECT address FROM unreachable_address"          \
	"    WHERE incident_id = " INC "))),"                                  \
	" dead AS (SELECT cid, address FROM nc UNION"                          \
	"  SELECT c.id, u.address FROM subscriber s"                           \
	"  CROSS JOIN unnest(s.emails) e"                                      \
	"  JOIN unreachable_address u ON u.incident_id = " INC                 \
	"   AND u.address = e"                                                 \
	"  JOIN certificate c ON c.incident_id = " INC                         \
	"   AND c.account = s.account),"                                       \
	" cand AS ("                                                           \
	"  SELECT cid, address, 1 rk, 'bounced' reason, delivery_at t,"        \
	"   delivery_status st, delivery_diagnostic dg FROM nc"                \
	"   WHERE delivery = 'bounced'"                                        \
	"   AND date_trunc('second', delivery_at) <= " AT                      \
	"  UNION ALL SELECT a.cid, a.address, 2, 'unreachable',"               \
	"   u.recorded_at, u.status, u.diagnostic FROM dead a"                 \
	"   JOIN unreachable_address u ON u.incident_id = " INC                \
	"   AND u.address = a.address"                                         \
	"   WHERE date_trunc('second', u.recorded_at) <= " AT                  \
	"  UNION ALL SELECT cid, address, 3, 'failed', failed_at,"             \
	"   coalesce(substring(last_reply FROM"                                \
	"    '\\m[245]\\.[0-9]{1,3}\\.[0-9]{1,3}\\M'),"                        \
	"    substring(last_reply FROM '^[245][0-9][0-9]')),"                  \
	"   last_reply FROM nc f"                                              \
	"   WHERE date_trunc('second', f.failed_at) <= " AT                    \
	"   AND NOT EXISTS (SELECT 1 FROM notice s"                            \
	"    JOIN notice_certificate y ON y.notice_id = s.id"                  \
	"    WHERE s.incident_id = " INC " AND s.address = f.address"          \
	"    AND y.certificate_id = f.cid"                                     \
	"    AND date_trunc('second', s.sent_at) <= " AT ")"                   \
	"  UNION ALL SELECT c.id, NULL, 4, 'no-address', n.t, NULL, NULL"      \
	"   FROM (SELECT o.account, least(o.created_at, k.first) t"            \
	"    FROM notice o LEFT JOIN (SELECT kind, min(sent_at) first"          \
	"     FROM notice WHERE incident_id = " INC " GROUP BY kind) k"        \
	"    ON k.kind = o.kind"                                               \
	"    WHERE o.incident_id = " INC " AND o.state = 'no-address') n"      \
	"   JOIN certificate c ON c.incident_id = " INC                        \
	"   AND c.account = n.account"                                         \
	"   WHERE date_trunc('second', n.t) <= " AT "),"                       \
	" best AS (SELECT DISTINCT ON (cid, address) * FROM cand"              \
	"  ORDER BY cid, address, rk, t)"                                      \
	" SELECT b.cid, c.serial, c.sha256, c.account, b.address, b.reason,"   \
	"  b.rk, b.t, b.st, b.dg FROM best b JOIN certificate c ON c.id = b.cid"
/* clang-format on */

long long report_store_unreached(struct db *db, const struct report *r,
				 long long incident_id, FILE *out)
{

	fputs("serial,sha256,crtsh,account,address,reason,at,status,"
	      "diagnostic\n",
	      out);
	/* COPY's CSV quotes a field with a comma, quote or line break; the
	 * diagnostic is a remote MTA's text, so line breaks become spaces
	 * (one row, one line) and a leading = + - @ gets a ' so that a
	 * spreadsheet shows it instead of evaluating it (CSV injection). */
	return copy_out(
		db,
		"COPY (SELECT upper(encode(u.serial, 'hex')),"
		" encode(u.sha256, 'hex'),"
		" CASE WHEN u.sha256 IS NOT NULL THEN"
		"  'https://crt.sh/?sha256=' || encode(u.sha256, 'hex')"
		" ELSE 'https://crt.sh/?serial=' || encode(u.serial, 'hex') "
		"END,"
		" u.account, u.address, u.reason,"
		" to_char(u.t AT TIME ZONE 'UTC',"
		"  'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), u.st,"
		" regexp_replace(regexp_replace(u.dg, '[\\r\\n\\t]+', ' ', "
		"'g'),"
		"  '^([=+@-])', '''\\1') FROM (" UNREACHED_SQL(
			"current_setting('certrecall.incident')::bigint",
			"current_setting('certrecall.at')::timestamptz") ") u"
									 " ORDE"
									 "R BY "
									 "u."
									 "cid, "
									 "u."
									 "addre"
									 "ss "
									 "NULLS"
									 " LAST"
									 ")"
									 " TO "
									 "STDOU"
									 "T "
									 "WITH "
									 "(FORM"
									 "AT "
									 "csv)",
		r, incident_id, out);
}

int report_store_unreached_count(struct db *db, struct report *r,
				 long long incident_id)
{
	char at[UTCTIME_BUFSZ], id[32];
	const char *v[2] = { id, at };
	PGresult *res;

	if (utctime_format_rfc3339(r->at, at, sizeof(at)) < 0)
		return log_error("cannot format time %lld", (long long)(r->at));
	snprintf(id, sizeof(id), "%lld", incident_id);
	res = db_query(
		db,
		/* by reason, as report_unreached_name() orders them,
			* then every certificate, then the rows */
		"SELECT count(DISTINCT cid) FILTER (WHERE rk = 1),"
		" count(DISTINCT cid) FILTER (WHERE rk = 2),"
		" count(DISTINCT cid) FILTER (WHERE rk = 3),"
		" count(DISTINCT cid) FILTER (WHERE rk = 4),"
		" count(DISTINCT cid), count(*)"
		" FROM (" UNREACHED_SQL("$1::bigint", "$2::timestamptz") ") u",
		2, v);
	if (res == NULL)
		return -1;
	for (int i = 0; i <= REPORT_UNREACHED_REASONS; i++)
		r->unreached[i] = db_get_llong(res, 0, i);
	r->unreached_rows = db_get_llong(res, 0, REPORT_UNREACHED_REASONS + 1);
	PQclear(res);
	return 0;
}

long long report_store_write(struct db *db, const struct report *r,
			     long long incident_id, enum report_format f,
			     long long threshold, FILE *out)
{
	switch (f) {
	case REPORT_MD:
		return report_write_md(r, out) < 0 ? -1 : 0;
	case REPORT_HTML:
		return report_write_html(r, out) < 0 ? -1 : 0;
	case REPORT_JSON:
		return report_write_json(r, out) < 0 ? -1 : 0;
	case REPORT_CSV:
		return report_store_certificates(db, r, incident_id, out);
	case REPORT_CCADB:
		return report_store_ccadb(db, r, incident_id, threshold, out);
	case REPORT_EVENTS:
		return report_store_events(db, r, incident_id, out);
	case REPORT_UNREACHED:
		return report_store_unreached(db, r, incident_id, out);
	}
	return -1;
}
