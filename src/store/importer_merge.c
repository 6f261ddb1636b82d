/*
 * importer_merge.c - the importer's set-based part: the staged rows into
 * certificate or replacement in one statement, conflicts named, contacts
 * into subscriber, replaced certificates marked, the import's event.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "certrecall/base/log.h"
#include "certrecall/base/xalloc.h"
#include "certrecall/store/db.h"
#include "certrecall/store/dbq.h"
#include "certrecall/store/importer_int.h"

/* The staging tables: no keys, no constraints, nothing written to WAL.
 * import_stage is loaded in binary (importer_read.c's stage_row writes
 * each column in its type's binary form). */
static const char create_stage[] =
	"CREATE TEMP TABLE import_stage ("
	" src integer NOT NULL, line bigint NOT NULL, serial bytea NOT NULL,"
	" account text, issued_at timestamptz, not_after timestamptz,"
	" caa_checked_at timestamptz, names text[] NOT NULL,"
	" emails text[], issuer text, issuer_id bigint,"
	" subject text, sha256 bytea, is_precert boolean NOT NULL,"
	" extra jsonb, is_ca boolean NOT NULL) ON COMMIT DROP;"
	"CREATE TEMP TABLE import_contact ("
	" line bigint NOT NULL, account text NOT NULL, emails text[] NOT NULL,"
	" lang text, tz text) ON COMMIT DROP";

int importer_create_stage(struct db *db)
{
	return db_exec(db, create_stage);
}

static long long command_count(struct db *db, const char *sql, int n,
			       const char *const *params)
{
	PGresult *res = db_query(db, sql, n, params);
	long long v;

	if (res == NULL)
		return -1;
	v = strtoll(PQcmdTuples(res), NULL, 10);
	PQclear(res);
	return v;
}

/*
 * After the move: the same serial with different data, in the input or
 * against an earlier import, is an error naming both places.  Also counts
 * the input's exact duplicates.
 */
static int check_conflicts(struct import *im, char *const *files,
			   const char *table, const char *incident,
			   long long inserted)
{
	char sql[1024];
	PGresult *res;
	long long matched;
	int n;
	int rc = 0;

	n = snprintf(sql, sizeof(sql),
		     "SELECT encode(s.serial, 'hex'), s.src, s.line, c.source,"
		     " c.source_line, c.imported_at = now(), s.issuer"
		     " FROM import_stage s JOIN %s c"
		     " ON c.incident_id = $1 AND c.serial = s.serial"
		     " AND coalesce(c.issuer_name, '') = coalesce(s.issuer, '')"
		     " WHERE (c.account, c.issued_at, c.not_after, c.names)"
		     " IS DISTINCT FROM (s.account, s.issued_at, s.not_after,"
		     " s.names) ORDER BY s.src, s.line LIMIT 5",
		     table);
	if (n < 0 || (size_t)n >= sizeof(sql))
		return log_error("import: the conflict query does not fit");
	res = db_query(im->db, sql, 1, &incident);
	if (res == NULL)
		return -1;
	for (int i = 0; i < PQntuples(res); i++) {
		bool now = strcmp(PQgetvalue(res, i, 5), "t") == 0;

		bool known = !PQgetisnull(res, i, 6);

		log_error("%s:%s: serial %s (issuer %s%s%s) %s %s:%s with "
			  "different data",
			  files[atoi(PQgetvalue(res, i, 1))],
			  PQgetvalue(res, i, 2), PQgetvalue(res, i, 0),
			  known ? "\"" : "",
			  known ? PQgetvalue(res, i, 6) : "unknown",
			  known ? "\"" : "",
			  now ? "is also at" : "was imported before from",
			  PQgetvalue(res, i, 3), PQgetvalue(res, i, 4));
		rc = -1;
	}
	PQclear(res);
	if (rc < 0)
		return -1;
	n = snprintf(sql, sizeof(sql),
		     "SELECT count(*) FROM import_stage s JOIN %s c"
		     " ON c.incident_id = $1 AND c.serial = s.serial"
		     " AND coalesce(c.issuer_name, '') = coalesce(s.issuer, '')"
		     " AND c.imported_at = now()",
		     table);
	if (n < 0 || (size_t)n >= sizeof(sql))
		return log_error("import: the duplicate query does not fit");
	matched = db_query_llong(im->db, sql, 1, &incident);
	if (matched < 0)
		return -1;
	im->st->duplicates = matched - inserted;
	return 0;
}

/*
 * Imports of one incident take turns: the move below sees every row an
 * earlier import committed, and finds the new ones with a join instead
 * of a conflict probe per row (sql/037's incident_import_lock()).  Then
 * whether the incident has rows at all: a first import needs no join.
 * Returns 1 (rows there), 0 (none) or -1.
 */
static int take_turn(struct import *im, const char *table)
{
	char sql[256];
	int n;

	if (db_query_llong(im->db,
			   "SELECT count(*) FROM (SELECT"
			   " incident_import_lock($1)) x",
			   1, (const char *[]){ im->incident }) < 0)
		return -1;
	n = snprintf(sql, sizeof(sql),
		     "SELECT count(*) FROM (SELECT 1 FROM %s"
		     " WHERE incident_id = $1 LIMIT 1) x",
		     table);
	if (n < 0 || (size_t)n >= sizeof(sql))
		return log_error("import: the incident query does not fit");
	return (int)db_query_llong(im->db, sql, 1,
				   (const char *[]){ im->incident });
}

/*
 * The move: one INSERT ... SELECT of the staged rows in key order, the
 * first of each key in input order; rows already in the incident are
 * left out by one anti-join.  A row of unknown issuer is already there
 * when its serial is, under any issuer.  In key order, the identity and
 * serial indexes and the primary key (ids are drawn in this order) grow
 * at their right edge instead of at random pages: at 3 M rows that is
 * half the CPU of the list's order (and ids drawn in the list's order,
 * the primary key then at random, cost 43% more than key order).
 */
static const char move_certificates[] =
	"INSERT INTO certificate (incident_id, serial, account,"
	" issued_at, not_after, caa_checked_at, issuer_name, issuer_id,"
	" subject, sha256, is_precert, names, source, source_line, extra,"
	" is_ca)"
	" SELECT DISTINCT ON (serial, coalesce(issuer, '')) $1, serial,"
	" account, issued_at, not_after, caa_checked_at, issuer, issuer_id,"
	" subject, sha256, is_precert, names, ($2::jsonb)->>src, line, extra,"
	" is_ca FROM import_stage s%s"
	" ORDER BY serial, coalesce(issuer, ''), src, line";
static const char move_replacements[] =
	"INSERT INTO replacement (incident_id, serial, issuer_name, account,"
	" issued_at, not_after, names, sha256, source, source_line)"
	" SELECT DISTINCT ON (serial, coalesce(issuer, '')) $1, serial,"
	" issuer, account, issued_at, not_after, names, sha256,"
	" ($2::jsonb)->>src, line"
	" FROM import_stage s WHERE cardinality(names) > 0%s"
	" ORDER BY serial, coalesce(issuer, ''), src, line";
static const char not_there[] =
	" %s NOT EXISTS (SELECT 1 FROM %s c WHERE c.incident_id = $1"
	" AND c.serial = s.serial"
	" AND (coalesce(c.issuer_name, '') = coalesce(s.issuer, '')"
	" OR (s.issuer IS NULL AND c.issuer_name IS NOT NULL)))";

/* Staged rows into certificate (or replacement), only the new ones. */
int importer_merge(struct import *im, char *const *files, size_t nfiles,
		   const char *incident)
{
	const char *table =
		im->opt->replacements ? "replacement" : "certificate";
	json_t *names = json_array();
	const char *params[2];
	char filter[512], sql[2048];
	char *srcs;
	long long n;
	int there, w;
	int rc = -1;

	for (size_t i = 0; i < nfiles; i++)
		json_array_append_new(names, json_string(files[i]));
	srcs = json_dumps(names, JSON_COMPACT);
	params[0] = incident;
	params[1] = srcs;
	there = take_turn(im, table);
	if (there < 0)
		goto out;
	im->had_rows = there;
	/* The planner needs the staged rows' statistics for the joins. */
	if (there && db_exec(im->db, "ANALYZE import_stage") < 0)
		goto out;
	filter[0] = '\0';
	w = there ? snprintf(filter, sizeof(filter), not_there,
			     im->opt->replacements ? "AND" : " WHERE", table)
		  : 0;
	if (w < 0 || (size_t)w >= sizeof(filter))
		goto out;
	w = snprintf(sql, sizeof(sql),
		     im->opt->replacements ? move_replacements
					   : move_certificates,
		     filter);
	if (w < 0 || (size_t)w >= sizeof(sql)) {
		log_error("import: the move does not fit");
		goto out;
	}
	n = command_count(im->db, sql, 2, params);
	if (n < 0)
		goto out;
	im->st->new_certs = n;
	/* Everything new: no duplicate and nothing already there. */
	if (n < im->st->records &&
	    ((!there && db_exec(im->db, "ANALYZE import_stage") < 0) ||
	     check_conflicts(im, files, table, incident, n) < 0))
		goto out;
	im->st->present = im->st->records - im->st->duplicates - n;
	/* E-mail addresses given in a csv email column are contacts too;
	 * domains are case-insensitive and stored lowercase. */
	if (im->has_emails &&
	    db_exec(im->db,
		    "INSERT INTO import_contact (line, account, emails)"
		    " SELECT line, account, array(SELECT split_part(e, '@', 1)"
		    "  || '@' || lower(split_part(e, '@', 2)) FROM "
		    "unnest(emails)"
		    "  e) FROM import_stage"
		    " WHERE account IS NOT NULL AND cardinality(emails) > 0") <
		    0)
		goto out;
	rc = 0;
out:
	free(srcs);
	json_decref(names);
	return rc;
}

/*
 * Each account's certificates, grouped for the initial notices (sql/037).
 * A later import that adds certificates drops the grouping, in its own
 * transaction: the next planning makes it again, over all of them.
 */
int importer_drop_grouping(struct import *im, const char *incident)
{
	if (im->opt->replacements || im->st->new_certs == 0 || !im->had_rows)
		return 0;
	return db_run(
		im->db,
		"DELETE FROM account_holding_built WHERE incident_id = $1", 1,
		&incident);
}

/*
 * The incident's first import makes the grouping once it has committed,
 * in a transaction of its own (account_holding_ready(): under the import
 * lock, unless a planner made it meanwhile).  Made inside the import's
 * transaction it read rows that transaction wrote, each checked against
 * it: 7.4-7.8 s at 3 M against 5.6-6.1 s once they are committed.  The
 * grouping is a cache: if this fails, the import stands, and says that
 * the next planning makes it.
 */
void importer_group_accounts(struct import *im, const char *incident)
{
	if (im->opt->replacements || im->st->new_certs == 0 || im->had_rows)
		return;
	if (db_query_llong(im->db, "SELECT account_holding_ready($1)", 1,
			   &incident) < 0)
		log_warn("import: the certificates are in, but grouping them"
			 " by account failed; the next notify groups them");
}

/*
 * Subscribers: every account of the input gets a row (an account without
 * an address is counted, never dropped), contacts are merged in, and the
 * accounts still without any address are counted.
 */
int importer_update_subscribers(struct import *im, const char *incident)
{
	/* The input's accounts: staged, or inserted by this transaction. */
	const char *accounts = "SELECT DISTINCT account FROM import_stage"
			       " WHERE account IS NOT NULL AND $1::bigint > 0";
	char sql[1024];
	long long n;
	int w;

	im->st->contacts = db_query_llong(
		im->db,
		"SELECT count(DISTINCT account) FROM import_contact"
		" WHERE cardinality(emails) > 0",
		0, NULL);
	if (im->st->contacts < 0)
		return -1;
	if (db_exec(im->db,
		    "INSERT INTO subscriber AS s (account, emails)"
		    " SELECT account, array(SELECT DISTINCT e FROM"
		    "  unnest(array_agg(x)) e ORDER BY 1)"
		    " FROM import_contact, unnest(emails) x GROUP BY account"
		    " ON CONFLICT (account) DO UPDATE SET emails = array("
		    "  SELECT DISTINCT e FROM unnest(s.emails || "
		    "EXCLUDED.emails)"
		    "  e ORDER BY 1), updated_at = now()"
		    " WHERE NOT (EXCLUDED.emails <@ s.emails)") < 0)
		return -1;
	w = snprintf(sql, sizeof(sql),
		     "CREATE TEMP TABLE import_account ON COMMIT DROP AS %s",
		     accounts);
	if (w < 0 || (size_t)w >= sizeof(sql))
		return log_error("import: the account query does not fit");
	n = command_count(im->db, sql, 1, &incident);
	if (n < 0)
		return -1;
	if (db_exec(im->db, "INSERT INTO subscriber (account)"
			    " SELECT account FROM import_account"
			    " UNION SELECT account FROM import_contact"
			    " ON CONFLICT (account) DO NOTHING") < 0)
		return -1;
	/* lang and tz (020): a value given replaces, an empty one keeps. */
	if (db_exec(im->db,
		    "UPDATE subscriber s SET lang = coalesce(c.lang, s.lang),"
		    " tz = coalesce(c.tz, s.tz), updated_at = now()"
		    " FROM (SELECT DISTINCT ON (account) account, lang, tz"
		    " FROM import_contact WHERE lang IS NOT NULL"
		    " OR tz IS NOT NULL ORDER BY account, line DESC) c"
		    " WHERE s.account = c.account"
		    " AND (s.lang IS DISTINCT FROM coalesce(c.lang, s.lang)"
		    " OR s.tz IS DISTINCT FROM coalesce(c.tz, s.tz))") < 0)
		return -1;
	im->st->accounts_without_email = db_query_llong(
		im->db,
		"SELECT count(*) FROM import_account JOIN subscriber s"
		" USING (account) WHERE cardinality(s.emails) = 0",
		0, NULL);
	return im->st->accounts_without_email < 0 ? -1 : 0;
}

/* BR practice of the 2020 CA: replaced = a newer certificate with
 * exactly the same names exists, whoever asked for it. */
int importer_mark_replaced(struct import *im, const char *incident)
{
	long long n = command_count(
		im->db,
		"UPDATE certificate c SET replaced_by = r.serial FROM ("
		" SELECT DISTINCT ON (c2.id) c2.id, r2.serial"
		" FROM certificate c2 JOIN replacement r2"
		"  ON r2.incident_id = c2.incident_id AND r2.names = c2.names"
		"  AND NOT (r2.serial = c2.serial AND (r2.issuer_name IS NULL"
		"  OR c2.issuer_name IS NULL OR r2.issuer_name = "
		"c2.issuer_name))"
		"  AND (c2.issued_at IS NULL"
		"  OR r2.issued_at IS NULL OR r2.issued_at > c2.issued_at)"
		" WHERE c2.incident_id = $1 AND c2.replaced_by IS NULL"
		/* a one-time filter: no replacements, no join over the
		 * incident's certificates (3 s at 300,000 lines) */
		"  AND EXISTS (SELECT 1 FROM replacement r3"
		"  WHERE r3.incident_id = $1)"
		" ORDER BY c2.id, r2.issued_at DESC NULLS LAST) r"
		" WHERE c.id = r.id",
		1, &incident);

	if (n < 0)
		return -1;
	im->st->replaced = n;
	return 0;
}

int importer_record_event(struct import *im, long long incident_id,
			  char *const *files, size_t nfiles)
{
	const struct importer_stats *st = im->st;
	json_t *fl = json_array();
	json_t *detail;
	char *text;
	int rc;

	for (size_t i = 0; i < nfiles; i++)
		json_array_append_new(fl, json_string(files[i]));
	detail = json_pack(
		"{s:o,s:b,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,"
		"s:I,s:I,s:I,s:I,s:I}",
		"files", fl, "replacements", im->opt->replacements, "lines",
		(json_int_t)st->lines, "records", (json_int_t)st->records,
		"new", (json_int_t)st->new_certs, "present",
		(json_int_t)st->present, "duplicates",
		(json_int_t)st->duplicates, "accounts",
		(json_int_t)st->accounts, "accounts_without_email",
		(json_int_t)st->accounts_without_email, "contacts",
		(json_int_t)st->contacts, "names", (json_int_t)st->names,
		"distinct_names", (json_int_t)st->distinct_names, "rejects",
		(json_int_t)st->rejects, "replaced", (json_int_t)st->replaced,
		"ca_certificates", (json_int_t)st->ca_certs, "no_name",
		(json_int_t)st->no_name, "skipped_names",
		(json_int_t)st->skipped_names, "odd_serials",
		(json_int_t)st->odd_serials, "other_pem_blocks",
		(json_int_t)st->other_pem_blocks);
	text = json_dumps(detail, JSON_COMPACT);
	rc = db_event_add(im->db, incident_id,
			  im->opt->replacements ? "import.replacements"
						: "import.certificates",
			  text);
	free(text);
	json_decref(detail);
	return rc;
}

/* The incident's issuers, which list rows and certificates are named
 * after (importer_read.c). */
int importer_load_issuers(struct import *im)
{
	const char *params[1] = { im->incident };
	PGresult *res = db_query(im->db,
				 "SELECT id, subject FROM issuer"
				 " WHERE incident_id = $1 ORDER BY id",
				 1, params);

	if (res == NULL)
		return -1;
	im->nissuers = (size_t)PQntuples(res);
	im->issuers = im->nissuers > 0
			      ? xcalloc(im->nissuers, sizeof(*im->issuers))
			      : NULL;
	for (size_t i = 0; i < im->nissuers; i++) {
		const char *id = PQgetvalue(res, (int)i, 0);
		size_t n = strlen(id);

		if (n >= sizeof(im->issuers[i].id)) {
			log_error("issuer id \"%.40s\" is too long", id);
			PQclear(res);
			return -1;
		}
		memcpy(im->issuers[i].id, id, n + 1);
		im->issuers[i].subject = xstrdup(PQgetvalue(res, (int)i, 1));
	}
	PQclear(res);
	return 0;
}
