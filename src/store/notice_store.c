/*
 * notice_store.c - the SQL of `notify` (notice_store.h).
 */
#include <libpq-fe.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "certrecall/base/log.h"
#include "certrecall/base/xalloc.h"
#include "certrecall/core/deadline.h"
#include "certrecall/core/notice.h"
#include "certrecall/store/db.h"
#include "certrecall/store/dbq.h"
#include "certrecall/store/notice_store.h"
#include "certrecall/store/pgarray.h"

/* Addresses per planning slice: one transaction each. */
#define PLAN_SLICE 10000
/* The first slice: small, so that the senders start within a second
 * (one 10,000-address slice of hosting accounts took 6 s before the
 * first message could go); each next slice doubles up to PLAN_SLICE. */
#define PLAN_FIRST_SLICE 250

/* ids as an array literal {1,2,3} (caller frees). */
static char *id_array(const long long *ids, const struct notice *ns, size_t n)
{
	struct pgarray a = { 0 };
	char v[32];

	for (size_t i = 0; i < n; i++) {
		db_param_llong(v, ids ? ids[i] : ns[i].id);
		pgarray_add(&a, v);
	}
	pgarray_end(&a);
	return a.p;
}

static long long cmd_count(PGresult *res)
{
	return strtoll(PQcmdTuples(res), NULL, 10);
}

/* ---- planning ----------------------------------------------------- */

/*
 * plan_acct: per account, the certificates the kind is about (notice.h's
 * rule), as one array, and what the messages list of them: a slice looks
 * accounts up, not certificates, and copies their arrays into the
 * notices' lists (031, 032).  The snapshot the certificates are read in
 * is taken first (plan_snapshot): a revocation committed between the two
 * then counts as unseen, the safe side.
 */
static int plan_acct_read(struct notice_store_plan *p, const char *filter)
{
	const char *params[1] = { p->id };
	char *sql;
	PGresult *res;

	/* listing: what the messages say of them, LISTING_FIELDS per
	 * certificate (032), kept while the table is read anyway. */
	sql = xasprintf("INSERT INTO plan_acct"
			" SELECT account, array_agg(id) AS ids,"
			" array_agg(certificate_listed(account, serial, names,"
			" not_after, revoked_at)) AS listing FROM certificate"
			" WHERE incident_id = $1 AND account IS NOT NULL%s"
			" GROUP BY account",
			filter);
	/* In the table's order, as the forecast (notice_forecast_count());
	 * $1 only: a statement's parameters must all be used. */
	if (db_exec(p->db, "CREATE TEMP TABLE plan_snapshot AS"
			   " SELECT pg_current_snapshot() AS s,"
			   " NULL::bigint AS holding") < 0 ||
	    db_exec(p->db, "SET enable_indexscan = off") < 0) {
		free(sql);
		return -1;
	}
	res = db_query(p->db, sql, 1, params);
	free(sql);
	if (res == NULL || db_exec(p->db, "RESET enable_indexscan") < 0) {
		PQclear(res);
		return -1;
	}
	PQclear(res);
	return 0;
}

/*
 * plan_acct from the incident's grouping (sql/037), made first unless
 * one is there and fresh: for a kind that lists every certificate of an
 * account (no rule leaves one out).  Its ids only: the senders read the
 * listings there (LISTING_OF).  Under the incident's import
 * lock, so that no import or other grouping comes between the grouping
 * and its copy; in the caller's transaction if it has one (a dry run).
 */
static int plan_acct_grouped(struct notice_store_plan *p)
{
	const char *params[1] = { p->id };
	bool own = PQtransactionStatus(db_get0_conn(p->db)) == PQTRANS_IDLE;
	PGresult *res;

	if (own && db_begin(p->db) < 0)
		return -1;
	if (db_query_llong(p->db, "SELECT account_holding_ready($1)", 1,
			   params) < 0)
		goto fail;
	res = db_query(p->db,
		       "CREATE TEMP TABLE plan_snapshot AS SELECT as_of AS s,"
		       " generation AS holding FROM account_holding_built"
		       " WHERE incident_id = $1",
		       1, params);
	if (res == NULL)
		goto fail;
	PQclear(res);
	res = db_query(p->db,
		       "INSERT INTO plan_acct SELECT account, ids, NULL"
		       " FROM account_holding WHERE incident_id = $1",
		       1, params);
	if (res == NULL)
		goto fail;
	PQclear(res);
	p->grouped = true;
	return own ? db_commit(p->db) : 0;
fail:
	if (own)
		db_rollback(p->db);
	return -1;
}

static int plan_acct(struct notice_store_plan *p)
{
	char filter[1024];

	if (notice_cert_filter_sql(p->kind, filter, sizeof(filter)) < 0)
		return log_error("no selection rule for %s notices", p->kind);
	/* Not compressed (032): as long as building them, at 3 M.  No
	 * statistics of the arrays, which no plan uses: ANALYZE read a
	 * sample of them whole, 0.49 s of 0.55 before the first message. */
	if (db_exec(p->db, "CREATE TEMP TABLE plan_acct (account text,"
			   " ids bigint[], listing text[])") < 0 ||
	    db_exec(p->db, "ALTER TABLE plan_acct ALTER ids SET STORAGE"
			   " EXTERNAL, ALTER listing SET STORAGE EXTERNAL,"
			   " ALTER ids SET STATISTICS 0,"
			   " ALTER listing SET STATISTICS 0") < 0)
		return -1;
	if ((filter[0] == '\0' ? plan_acct_grouped(p)
			       : plan_acct_read(p, filter)) < 0)
		return -1;
	return db_exec(p->db,
		       "ALTER TABLE plan_acct ADD PRIMARY KEY (account)");
}

/* plan_addr: per address without a notice of the kind, its accounts. */
static int plan_addr(struct notice_store_plan *p)
{
	const char *params[2] = { p->id, p->kind };
	char filter[512], *sql;
	PGresult *res;

	if (notice_address_filter_sql(p->kind, filter, sizeof(filter)) < 0)
		return log_error("no selection rule for %s notices", p->kind);
	sql = xasprintf("CREATE TEMP TABLE plan_addr AS"
			" SELECT row_number() OVER (ORDER BY e) AS n,"
			" e AS address,"
			" array_agg(a.account ORDER BY a.account) AS accounts"
			" FROM plan_acct a"
			" JOIN subscriber s USING (account)"
			" CROSS JOIN unnest(s.emails) e"
			" WHERE NOT EXISTS (SELECT 1 FROM notice"
			" WHERE incident_id = $1 AND kind = $2 AND address = e)"
			"%s GROUP BY e",
			filter);
	res = db_query(p->db, sql, 2, params);
	free(sql);
	if (res == NULL)
		return -1;
	p->addresses = cmd_count(res);
	PQclear(res);
	return 0;
}

int notice_store_plan_begin(struct notice_store_plan *p, struct db *db,
			    long long incident_id, const char *kind,
			    time_t must_by)
{
	memset(p, 0, sizeof(*p));
	p->db = db;
	p->kind = kind;
	db_param_llong(p->id, incident_id);
	if (utctime_format_rfc3339(must_by, p->must, sizeof(p->must)) < 0)
		return log_error("a deadline is out of range");
	/* jit compiled every slice again (16 functions, inlined and
	 * optimised): slices are many, each short.  plan_acct's lookups
	 * read its key and rows from the session's own buffers: 8 MB by
	 * default, less than plan_acct at 3 M, and a third of them were
	 * read back from temporary files.  The size can be set only before
	 * the session's first temporary table: a session that had one keeps
	 * its size (as fast, or slower, never wrong), and says so (-v). */
	if (db_exec(db, "DO $$ BEGIN"
			" PERFORM set_config('temp_buffers', '64MB', false);"
			" EXCEPTION WHEN invalid_parameter_value THEN"
			" RAISE NOTICE 'planning keeps temp_buffers = %: %',"
			" current_setting('temp_buffers'), SQLERRM;"
			" END $$") < 0 ||
	    db_exec(db, "SET jit = off") < 0 ||
	    db_exec(db, "DROP TABLE IF EXISTS pg_temp.plan_acct,"
			" pg_temp.plan_addr, pg_temp.plan_snapshot") < 0)
		return -1;
	if (plan_acct(p) < 0 || plan_addr(p) < 0)
		return -1;
	/* Slices read plan_addr by number; statistics for their joins. */
	if (db_exec(db, "CREATE INDEX ON plan_addr (n)") < 0)
		return -1;
	return db_exec(db, "ANALYZE plan_acct, plan_addr");
}

/*
 * A slice: its notices, their queue rows and their lists, in one
 * statement.  `lists` gives each new notice its accounts' ids, then
 * either their listings (PLAN_LISTING) or the grouping they came from
 * (PLAN_HOLDING).
 */
#define PLAN_SLICE_SQL(listing)                                                \
	"WITH created AS (INSERT INTO notice (incident_id,"                    \
	" address, kind, accounts, deadline_stated)"                           \
	" SELECT $1, address, $2, accounts, $3 FROM plan_addr"                 \
	" WHERE n > $4 AND n <= $5"                                            \
	" ON CONFLICT (incident_id, address, kind) DO NOTHING"                 \
	" RETURNING id, accounts),"                                            \
	" queued AS (INSERT INTO notice_queue (notice_id,"                     \
	" incident_id, kind) SELECT id, $1, $2 FROM created),"                 \
	" lists AS MATERIALIZED (SELECT n.id,"                                 \
	" CASE WHEN cardinality(n.accounts) = 1 THEN one.ids"                  \
	" ELSE ARRAY(SELECT unnest(c.ids) FROM unnest(n.accounts) a"           \
	" JOIN plan_acct c ON c.account = a) END AS ids" listing               \
	" FROM created n LEFT JOIN LATERAL (SELECT o.ids, o.listing"           \
	" FROM plan_acct o WHERE cardinality(n.accounts) = 1"                  \
	" AND o.account = n.accounts[1] OFFSET 0) one ON true),"               \
	" listed AS (INSERT INTO notice_certificate_set"                       \
	" (notice_id, certificate_ids, certificates, listing,"                 \
	" listed_as_of, holding)"                                              \
	" SELECT id, ids, cardinality(ids), listing, p.s, p.holding"           \
	" FROM lists, plan_snapshot p WHERE cardinality(ids) > 0)"             \
	" SELECT count(*) FROM created"
#define PLAN_LISTING                                                           \
	", CASE WHEN cardinality(n.accounts) = 1 THEN one.listing"             \
	" ELSE ARRAY(SELECT unnest(c.listing)"                                 \
	" FROM unnest(n.accounts) a"                                           \
	" JOIN plan_acct c ON c.account = a) END AS listing"
#define PLAN_HOLDING ", NULL::text[] AS listing"

int notice_store_plan_slice(struct notice_store_plan *p)
{
	char from[32], to[32];
	const char *params[5] = { p->id, p->kind, p->must, from, to };
	PGresult *res;

	if (p->sliced >= p->addresses)
		return 0;
	db_param_llong(from, p->sliced);
	if (p->slice == 0)
		p->slice = PLAN_FIRST_SLICE;
	db_param_llong(to, p->sliced + p->slice);
	/* ON CONFLICT: another process may be planning the same kind.  A
	 * notice of one account takes its account's arrays as they are (the
	 * listing then in two dimensions, a row a certificate): taking
	 * every element out and putting it back was a fifth of a slice
	 * (10,000 addresses at 3 M: 1.55 s, 1.23 s without it); its
	 * account is looked up once for both arrays, by its key (LATERAL,
	 * OFFSET 0 so that it is not made a join again): joined,
	 * PostgreSQL hashed all of plan_acct for every slice
	 * (149,513 rows at 3 M, 90-110 ms of a 10,000-address slice, as long
	 * as the 10,000 lookups).  From the incident's
	 * grouping, a list names it instead of copying the listing (037:
	 * half of a slice's time). */
	res = db_query(p->db,
		       p->grouped ? PLAN_SLICE_SQL(PLAN_HOLDING)
				  : PLAN_SLICE_SQL(PLAN_LISTING),
		       5, params);
	if (res == NULL)
		return -1;
	p->created += strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	p->sliced += p->slice;
	if (p->slice < PLAN_SLICE)
		p->slice =
			p->slice * 2 < PLAN_SLICE ? p->slice * 2 : PLAN_SLICE;
	return 1;
}

int notice_store_plan_finish(struct notice_store_plan *p)
{
	const char *params[2] = { p->id, p->kind };
	PGresult *res;

	res = db_query(p->db,
		       "INSERT INTO notice (incident_id, account, kind, state,"
		       " accounts)"
		       " SELECT $1, a.account, $2, 'no-address',"
		       " ARRAY[a.account]"
		       " FROM plan_acct a"
		       " LEFT JOIN subscriber s USING (account)"
		       " WHERE coalesce(cardinality(s.emails), 0) = 0"
		       " ON CONFLICT (incident_id, account, kind) DO NOTHING",
		       2, params);
	if (res == NULL)
		return -1;
	p->created += cmd_count(res);
	PQclear(res);
	return db_exec(p->db, "DROP TABLE pg_temp.plan_acct,"
			      " pg_temp.plan_addr, pg_temp.plan_snapshot");
}

int notice_store_plan(struct db *db, long long incident_id, const char *kind,
		      time_t must_by, long long *created)
{
	struct notice_store_plan p;
	int rc;

	if (notice_store_plan_begin(&p, db, incident_id, kind, must_by) < 0)
		return -1;
	while ((rc = notice_store_plan_slice(&p)) > 0)
		;
	if (rc < 0 || notice_store_plan_finish(&p) < 0)
		return -1;
	*created = p.created;
	return 0;
}

int notice_store_analyze(struct db *db)
{
	return db_exec(db,
		       "ANALYZE notice, notice_certificate_set, notice_queue");
}

long long notice_store_count(struct db *db, long long incident_id,
			     const char *kind, const char *states)
{
	char id[32], *sql;
	const char *params[2] = { id, kind };
	long long n;

	db_param_llong(id, incident_id);
	sql = xasprintf("SELECT count(*) FROM notice WHERE incident_id = $1"
			" AND kind = $2 AND state IN (%s)",
			states);
	n = db_query_llong(db, sql, 2, params);
	free(sql);
	return n;
}

/* ---- claiming and recording --------------------------------------- */

/*
 * The columns a message lists for each certificate, from certificate c
 * and its scan verdict v.  The verdict function is inlined into the
 * query (008_notice_send.sql): asking the scalar one per row cost an
 * executor start per certificate.
 */
#define CERT_COLUMNS_WITH(scan)                                                \
	"c.account, encode(c.serial, 'hex'), array_to_string(c.names, ' '),"   \
	" extract(epoch FROM c.not_after)::bigint,"                            \
	" extract(epoch FROM c.revoked_at)::bigint, " scan
#define CERT_VERDICT                                                           \
	"(SELECT v.verdict FROM certificate_scan_verdict_inline("              \
	"c.incident_id, c.serial, c.names, c.issuer_name, c.sha256,"           \
	" c.is_precert) v)"
/*
 * Before the incident's first scan round every certificate is "not
 * scanned", what the lookup would say.  The statements that list
 * certificates come in two forms, and the one without the lookup is
 * used while the incident has no scan round (notice_store_scanned(),
 * which the caller asks): at 300,000 certificates, planning the inlined
 * lookup took 18-27 ms of every claim (as long as running it), and
 * running it a third of a claim's time at 3 M (docs/notify.md).
 */
#define CERT_UNSCANNED "'not scanned'::text"
/*
 * The listing that may stand for the certificates of list s (of notice
 * n), or NULL: its own (032) while fresh, else its accounts' in the
 * grouping it names (037) while that is the incident's current one, in
 * no particular order (the sender sorts).  Only while the incident has
 * no scan round (a listing carries no verdict), as the claim's
 * unscanned form asks; the certificates are read otherwise
 * (CERT_COLUMNS_WITH).  incident: an expression of the notice's
 * incident, a parameter where there is one (then asked once, not per
 * notice); s: the list's columns' prefix.
 */
#define LISTING_OF(incident, s)                                                \
	"CASE WHEN " s "listing IS NOT NULL THEN"                              \
	" CASE WHEN notice_listing_fresh(" s "listed_as_of) THEN " s "listing" \
	" END WHEN " s "holding = (SELECT account_holding_current(" incident   \
	")) THEN CASE WHEN cardinality(n.accounts) = 1"                        \
	" THEN (SELECT h.listing FROM account_holding h"                       \
	" WHERE h.incident_id = n.incident_id AND h.account = n.accounts[1])"  \
	" ELSE ARRAY(SELECT unnest(h.listing) FROM account_holding h"          \
	" WHERE h.incident_id = n.incident_id"                                 \
	" AND h.account = ANY (n.accounts)) END END"

/* One certificate of a message from CERT_COLUMNS_WITH starting at column col. */
static json_t *cert_from_row(PGresult *res, int r, int col)
{
	bool na = !PQgetisnull(res, r, col + 3);
	bool ra = !PQgetisnull(res, r, col + 4);

	return notice_cert_new(
		PQgetvalue(res, r, col), PQgetvalue(res, r, col + 1),
		PQgetvalue(res, r, col + 2), na,
		na ? (time_t)db_get_llong(res, r, col + 3) : 0, ra,
		ra ? (time_t)db_get_llong(res, r, col + 4) : 0,
		PQgetvalue(res, r, col + 5));
}

/*
 * A message lists its certificates in account order, then serial order,
 * both compared as bytes (the serial as lowercase hex of the same
 * octets, which orders like the bytea): the same in every database
 * collation.  The statements return a notice's rows together, unsorted
 * within it: at 300,000 lines PostgreSQL's sort of the big notices'
 * rows (wide tuples, spilling to disk) was a third of their statement's
 * time, sorting row numbers here a few milliseconds.
 */
struct cert_rows {
	PGresult *res;
	int col; /* the account's column; the serial's is the next */
};

static int cmp_cert_rows(const void *a, const void *b, void *arg)
{
	const struct cert_rows *cr = arg;
	int x = *(const int *)a, y = *(const int *)b;
	int c = strcmp(PQgetvalue(cr->res, x, cr->col),
		       PQgetvalue(cr->res, y, cr->col));

	if (c == 0)
		c = strcmp(PQgetvalue(cr->res, x, cr->col + 1),
			   PQgetvalue(cr->res, y, cr->col + 1));
	return c != 0 ? c : (x > y) - (x < y);
}

/* Rows [from, to) of res, a certificate each from column col, onto
 * certs in message order; *order is scratch space kept for the next. */
static void append_certs(json_t *certs, PGresult *res, int from, int to,
			 int col, int **order, size_t *cap)
{
	struct cert_rows cr = { res, col };
	size_t n = (size_t)(to - from);

	xgrow(order, cap, n, sizeof(**order));
	for (size_t i = 0; i < n; i++)
		(*order)[i] = from + (int)i;
	qsort_r(*order, n, sizeof(**order), cmp_cert_rows, &cr);
	for (size_t i = 0; i < n; i++)
		json_array_append_new(certs,
				      cert_from_row(res, (*order)[i], col));
}

/* Fields of one certificate in a listing (032): account, serial, names,
 * expiry, revocation time. */
#define LISTING_FIELDS 5

/*
 * A listing's row as its sort sees it: the first eight bytes of its
 * account and of its serial as numbers (NUL-padded, most significant
 * first, so that they order as the strings do), and whether that is the
 * whole string.  A hosting account's listing is tens of thousands of
 * rows of one account: comparing the strings themselves (the account to
 * its end every time) was most of reading it (2% of an e2e run's CPU).
 */
struct listed_key {
	uint64_t account, serial;
	int row;
	bool account_whole, serial_whole;
};

static uint64_t prefix_key(const char *s, bool *whole)
{
	uint64_t k = 0;
	size_t i;

	for (i = 0; i < 8 && s[i] != '\0'; i++)
		k |= (uint64_t)(unsigned char)s[i] << (56 - 8 * i);
	*whole = s[i] == '\0';
	return k;
}

/* Two prefixes that differ order their strings; equal ones say the
 * strings are equal only when both are whole. */
static int cmp_prefixed(uint64_t x, uint64_t y, bool whole, const char *xs,
			const char *ys)
{
	if (x != y)
		return x < y ? -1 : 1;
	return whole ? 0 : strcmp(xs, ys);
}

static int cmp_listed(const void *a, const void *b, void *arg)
{
	char *const *e = arg;
	const struct listed_key *x = a, *y = b;
	char *const *fx = e + (size_t)x->row * LISTING_FIELDS;
	char *const *fy = e + (size_t)y->row * LISTING_FIELDS;
	int c = cmp_prefixed(x->account, y->account,
			     x->account_whole && y->account_whole, fx[0],
			     fy[0]);

	if (c == 0)
		c = cmp_prefixed(x->serial, y->serial,
				 x->serial_whole && y->serial_whole, fx[1],
				 fy[1]);
	return c != 0 ? c : (x->row > y->row) - (x->row < y->row);
}

/* Rows [0, n) of listing e in message order into order. */
static void sort_listed(char *const *e, size_t n, int *order)
{
	struct listed_key *k = xcalloc(n ? n : 1, sizeof(*k));

	for (size_t i = 0; i < n; i++) {
		k[i].row = (int)i;
		k[i].account =
			prefix_key(e[i * LISTING_FIELDS], &k[i].account_whole);
		k[i].serial = prefix_key(e[i * LISTING_FIELDS + 1],
					 &k[i].serial_whole);
	}
	qsort_r(k, n, sizeof(*k), cmp_listed, (void *)e);
	for (size_t i = 0; i < n; i++)
		order[i] = k[i].row;
	free(k);
}

/*
 * The certificates of a listing (a text[] value in binary, len bytes)
 * onto certs in message order, as cert_from_row() makes them from the
 * certificates themselves; *order as in append_certs().  0, or -1
 * (logged) when the value is not a listing of want certificates (the
 * list's count): planning wrote it, or the grouping it names, so that
 * cannot happen, but if it did a message without its certificates must
 * not go.
 */
static int append_listing(json_t *certs, const char *value, size_t len,
			  long long want, int **order, size_t *cap)
{
	/* parsed in place, and a result's values are not ours to change */
	char *copy = xmalloc(len > 0 ? len : 1), **e;
	size_t n;

	memcpy(copy, value, len);
	if (pgarray_parse_binary(copy, len, &e, &n) < 0 ||
	    n % LISTING_FIELDS != 0 || n / LISTING_FIELDS > INT_MAX ||
	    (long long)(n / LISTING_FIELDS) != want)
		goto bad;
	n /= LISTING_FIELDS;
	for (size_t i = 0; i < n; i++)
		if (e[i * LISTING_FIELDS] == NULL ||
		    e[i * LISTING_FIELDS + 1] == NULL ||
		    e[i * LISTING_FIELDS + 2] == NULL)
			goto bad;
	xgrow(order, cap, n, sizeof(**order));
	sort_listed(e, n, *order);
	for (size_t i = 0; i < n; i++) {
		char **f = e + (size_t)(*order)[i] * LISTING_FIELDS;

		json_array_append_new(
			certs,
			notice_cert_new(
				f[0], f[1], f[2], f[3] != NULL,
				f[3] ? (time_t)strtoll(f[3], NULL, 10) : 0,
				f[4] != NULL,
				f[4] ? (time_t)strtoll(f[4], NULL, 10) : 0,
				"not scanned"));
	}
	free(e);
	free(copy);
	return 0;
bad:
	free(e);
	free(copy);
	return log_error("database: a notice's listing is not five fields"
			 " for each of its %lld certificates",
			 want);
}

/* The row after the rows that share row r's notice id (column 0): the
 * statements return a notice's rows together. */
static int rows_end(PGresult *res, int r)
{
	long long id = db_get_llong(res, r, 0);
	int end = r + 1;

	while (end < PQntuples(res) && db_get_llong(res, end, 0) == id)
		end++;
	return end;
}

/* A notice from a row of id, address, accounts (JSON), attempts. */
static void notice_from_row(struct notice *n, PGresult *res, int r)
{
	notice_init(n, db_get_llong(res, r, 0), PQgetvalue(res, r, 1),
		    PQgetvalue(res, r, 2), (int)db_get_llong(res, r, 3));
}

/*
 * The claim, prepared once per connection: it leases up to $5 due
 * notices and returns them with their certificates, one row per
 * certificate (a notice without any has one row of NULLs), in one round
 * trip.  $6 is where the scan in id order starts (see the mailer's
 * claim()).  The fifth column is how many certificates a notice lists
 * (its list's count, not the list: 031).  A notice with more than $7 comes
 * without them (one row), unless its listing stands for them, it lists
 * at most $8 and the claim's notices up to it list at most $9 together:
 * the sender loads them when it composes it
 * (notice_store_load_certificates), so no claim holds a hosting
 * account's tens of thousands of rows, and the rest come with the
 * others (one claimed apart was one more statement, one more SMTP
 * session and one more commit: 1,328 of them at 3 M).  Rows
 * are looked up by id lists (= ANY) or one by one, never by joins whose
 * strategy the queue's volatile statistics would choose; a lookup by
 * notice_id can only use the primary key (008_notice_send.sql).
 */
#define CLAIM_HEAD                                                             \
	"WITH claimed AS (UPDATE notice_queue q SET state = 'claimed',"        \
	" lease_until = now() + $3::interval, worker = $4"                     \
	" WHERE q.notice_id = ANY (ARRAY(SELECT notice_id"                     \
	"  FROM notice_queue WHERE incident_id = $1 AND kind = $2"             \
	"  AND notice_id > $6 AND (state = 'pending'"                          \
	"  OR (state = 'retry' AND due_at <= now())"                           \
	"  OR (state = 'claimed' AND lease_until < now()))"                    \
	"  ORDER BY notice_id LIMIT $5 FOR UPDATE SKIP LOCKED))"               \
	" RETURNING q.notice_id),"                                             \
	" picked AS MATERIALIZED (SELECT n.id, n.incident_id, n.address,"      \
	" n.accounts, n.attempts, s.certificates, s.certificate_ids,"          \
	" s.listing, s.listed_as_of, s.holding,"                               \
	" sum(coalesce(s.certificates, 0)) OVER (ORDER BY n.id) AS running"    \
	" FROM notice n"                                                       \
	" LEFT JOIN notice_certificate_set s ON s.notice_id = n.id"            \
	" WHERE n.id = ANY (ARRAY(SELECT notice_id FROM claimed)))"            \
	" SELECT n.id, n.address, to_json(n.accounts), n.attempts,"            \
	" coalesce(n.certificates, 0), "
#define CLAIM_TAIL(listing)                                                    \
	", f.listing FROM picked n"                                            \
	" LEFT JOIN LATERAL (SELECT CASE WHEN n.certificates <= $7::bigint"    \
	" OR (n.certificates <= $8::bigint AND n.running <= $9::bigint)"       \
	" THEN " listing " END AS listing OFFSET 0) f ON true"                 \
	" LEFT JOIN LATERAL unnest(CASE WHEN n.certificates <= $7::bigint"     \
	" AND f.listing IS NULL THEN n.certificate_ids END)"                   \
	" AS u (certificate_id) ON true"                                       \
	" LEFT JOIN certificate c ON c.id = u.certificate_id"                  \
	" ORDER BY n.id"
/* OFFSET 0: the listing is read once per notice, not once per use. */
#define CLAIM_SQL(scan, listing)                                               \
	CLAIM_HEAD CERT_COLUMNS_WITH(scan) CLAIM_TAIL(listing)
/* The column of a claim's row that holds a notice's listing. */
#define CLAIM_LISTING 11

/*
 * Outcomes are committed in groups: one statement, hence one
 * transaction, for up to mailer.commit_group answers.  Per message, the
 * statement's fixed costs (executor start, constraint checks, commit,
 * a round of wake-ups in both processes) were most of the database's
 * work.  The arrays are parallel: notice id, outcome, attempts, reply,
 * Message-ID, bytes, backoff in milliseconds; the statement itself is
 * sql/036's function, planned once per session.
 */
static const char outcomes_sql[] =
	"SELECT notice_record_outcomes($1::bigint[], $2::text[],"
	" $3::integer[], $4::text[], $5::text[], $6::integer[],"
	" $7::bigint[])";

#define OUTCOME_PARAMS 7

/*
 * Prepares the claim and the outcome statements on a sender's
 * connection: at thousands of messages a second, parsing them every time
 * was a large share of the server's work.  They are planned at every
 * execution all the same: a generic plan is chosen once, from the
 * statistics of that moment, and a queue that grows from nothing while
 * it is worked on made the server keep one that read a whole index per
 * claim (planning costs about 0.5 ms per claim).  No bitmap scans
 * either: with the queue believed nearly empty, the claim fetched every
 * row past its start and sorted them instead of reading the first few
 * in index order.  The outcome statement's work is planned once per
 * session all the same, inside sql/036's function, whose only plan is
 * key lookups (planning it here was 0.31 ms per group).
 */
int notice_store_prepare(struct db *db)
{
	static const struct {
		const char *name, *sql;
		int nparams;
	} st[] = {
		{ "certrecall_claim", CLAIM_SQL(CERT_VERDICT, "NULL::text[]"),
		  9 },
		{ "certrecall_claim_unscanned",
		  CLAIM_SQL(CERT_UNSCANNED, LISTING_OF("$1", "n.")), 9 },
		{ "certrecall_outcomes", outcomes_sql, OUTCOME_PARAMS },
	};

	/* jit: compiling a claim or an outcome group took longer than
	 * running it (docs/notify.md). */
	if (db_exec(db, "SET plan_cache_mode = force_custom_plan") < 0 ||
	    db_exec(db, "SET enable_bitmapscan = off") < 0 ||
	    db_exec(db, "SET jit = off") < 0)
		return -1;
	for (size_t k = 0; k < sizeof(st) / sizeof(st[0]); k++) {
		PGresult *res = PQprepare(db_get0_conn(db), st[k].name,
					  st[k].sql, st[k].nparams, NULL);

		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			log_error("database: preparing %s: %s", st[k].name,
				  PQresultErrorMessage(res));
			PQclear(res);
			return -1;
		}
		PQclear(res);
	}
	return 0;
}

int notice_store_claim(struct db *db, long long incident_id, const char *kind,
		       long long lease_ms, const char *worker, size_t max,
		       long long floor, size_t max_certs, size_t max_listed,
		       bool scanned, struct notice *batch, size_t *n)
{
	char id[32], lease[48], lim[32], from[32], most[32], listed[32],
		budget[32];
	const char *params[9] = { id,	kind, lease,  worker, lim,
				  from, most, listed, budget };
	PGresult *res;
	int *order = NULL;
	size_t cap = 0;
	int k;

	db_param_llong(id, incident_id);
	k = snprintf(lease, sizeof(lease), "%lld milliseconds", lease_ms);
	if (k < 0 || (size_t)k >= sizeof(lease))
		return -1; /* 48 bytes hold any long long and the unit */
	db_param_llong(lim, (long long)max);
	db_param_llong(from, floor);
	db_param_llong(most, (long long)max_certs);
	db_param_llong(listed, (long long)max_listed);
	db_param_llong(budget, (long long)(max * max_certs));
	*n = 0;
	res = PQexecPrepared(db_get0_conn(db),
			     scanned ? "certrecall_claim"
				     : "certrecall_claim_unscanned",
			     9, params, NULL, NULL, 1);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		log_error("database: claiming notices: %.*s",
			  (int)strcspn(PQresultErrorMessage(res), "\n"),
			  PQresultErrorMessage(res));
		PQclear(res);
		return -1;
	}
	/* One notice's rows at a time: its first row, then its
	 * certificates' (a notice without any has one row of NULLs). */
	for (int r = 0, end; r < PQntuples(res) && *n < max; r = end) {
		struct notice *cur = &batch[(*n)++];

		end = rows_end(res, r);
		notice_from_row(cur, res, r);
		cur->certs = json_array();
		cur->ncerts = db_get_llong(res, r, 4);
		cur->certs_deferred = cur->ncerts > (long long)max_certs &&
				      PQgetisnull(res, r, CLAIM_LISTING);
		if (!PQgetisnull(res, r, CLAIM_LISTING)) {
			if (append_listing(
				    cur->certs,
				    PQgetvalue(res, r, CLAIM_LISTING),
				    (size_t)PQgetlength(res, r, CLAIM_LISTING),
				    cur->ncerts, &order, &cap) < 0) {
				for (size_t i = 0; i < *n; i++)
					notice_release(&batch[i]);
				*n = 0;
				free(order);
				PQclear(res);
				return -1;
			}
		} else if (!PQgetisnull(res, r,
					6)) /* a serial: a certificate */
			append_certs(cur->certs, res, r, end, 5, &order, &cap);
	}
	free(order);
	PQclear(res);
	return 0;
}

int notice_store_outcomes_send(struct db *db, struct notice *const *group,
			       size_t n, char **why)
{
	struct pgarray a[OUTCOME_PARAMS] = { { 0 } };
	const char *params[OUTCOME_PARAMS];
	PGconn *conn = db_get0_conn(db);
	int rc = 0;

	*why = NULL;
	for (size_t i = 0; i < n; i++) {
		const struct notice *no = group[i];
		char id[32], attempts[32], bytes[32], backoff[32];

		db_param_llong(id, no->id);
		db_param_llong(attempts, no->attempts);
		db_param_llong(bytes, (long long)notice_bytes(no));
		db_param_llong(backoff, no->backoff_ms);
		pgarray_add(&a[0], id);
		pgarray_add(&a[1], notice_outcome_name(no->outcome));
		pgarray_add(&a[2], attempts);
		pgarray_add(&a[3], no->reply);
		pgarray_add(&a[4], no->message_id);
		pgarray_add(&a[5], bytes);
		pgarray_add(&a[6], backoff);
	}
	for (int k = 0; k < OUTCOME_PARAMS; k++)
		params[k] = pgarray_end(&a[k]);
	if (PQsendQueryPrepared(conn, "certrecall_outcomes", OUTCOME_PARAMS,
				params, NULL, NULL, 0) != 1) {
		*why = xstrdup(PQerrorMessage(conn));
		rc = -1;
	}
	for (int k = 0; k < OUTCOME_PARAMS; k++)
		free(a[k].p);
	return rc;
}

int notice_store_outcomes_wait(struct db *db, char **why)
{
	PGconn *conn = db_get0_conn(db);
	PGresult *res;

	*why = NULL;
	while ((res = PQgetResult(conn)) != NULL) {
		if (PQresultStatus(res) != PGRES_TUPLES_OK && *why == NULL)
			*why = xstrdup(PQresultErrorMessage(res));
		PQclear(res);
	}
	return *why == NULL ? 0 : -1;
}

long long notice_store_return_claims(struct db *db, const char *worker,
				     const long long *ids, size_t n)
{
	char *arr = id_array(ids, NULL, n);
	const char *params[2] = { arr, worker };
	PGresult *res;
	long long done;

	res = db_query(db,
		       "UPDATE notice_queue q SET state = CASE n.state"
		       " WHEN 'retry' THEN 'retry' ELSE 'pending' END,"
		       " lease_until = NULL, worker = NULL FROM notice n"
		       " WHERE n.id = q.notice_id AND q.notice_id = ANY ($1)"
		       " AND q.state = 'claimed' AND q.worker = $2",
		       2, params);
	free(arr);
	if (res == NULL)
		return -1;
	done = cmd_count(res);
	PQclear(res);
	return done;
}

int notice_store_queue_state(struct db *db, long long incident_id,
			     const char *kind, const char *worker,
			     struct notice_store_queue *q)
{
	char id[32];
	const char *params[3] = { id, kind, worker };
	PGresult *res;

	memset(q, 0, sizeof(*q));
	db_param_llong(id, incident_id);
	res = db_query(db,
		       "SELECT extract(epoch FROM min(CASE state"
		       " WHEN 'retry' THEN due_at"
		       " ELSE lease_until END) - now()),"
		       " count(*) FILTER (WHERE state = 'claimed'"
		       "  AND lease_until > now()),"
		       " extract(epoch FROM max(lease_until) FILTER"
		       "  (WHERE lease_until > now()))::bigint,"
		       " string_agg(DISTINCT worker, ', ') FILTER"
		       "  (WHERE state = 'claimed' AND lease_until > now())"
		       " FROM notice_queue WHERE incident_id = $1 AND kind = $2"
		       /* our own threads' claims end with them */
		       " AND NOT (state = 'claimed' AND worker = $3)",
		       3, params);
	if (res == NULL)
		return -1;
	q->has_next = !PQgetisnull(res, 0, 0);
	if (q->has_next)
		q->next_in = strtod(PQgetvalue(res, 0, 0), NULL);
	q->leased = db_get_llong(res, 0, 1);
	q->leased_until = (time_t)db_get_llong(res, 0, 2);
	/* cut: the log names at most 200 bytes of them */
	if (snprintf(q->workers, sizeof(q->workers), "%s",
		     PQgetvalue(res, 0, 3)) < 0)
		q->workers[0] = '\0';
	PQclear(res);
	return 0;
}

int notice_store_run_event(struct db *db, long long incident_id,
			   const char *kind, long long planned, long long sent,
			   long long retry, long long failed,
			   long long no_address, double seconds)
{
	char name[64];
	json_t *d = json_pack("{s:s,s:I,s:I,s:I,s:I,s:I,s:f}", "kind", kind,
			      "planned", (json_int_t)planned, "sent",
			      (json_int_t)sent, "retry", (json_int_t)retry,
			      "failed", (json_int_t)failed, "no_address",
			      (json_int_t)no_address, "seconds", seconds);
	char *text = json_dumps(d, JSON_COMPACT);
	int rc = -1;
	int k = snprintf(name, sizeof(name), "notify.%s", kind);

	/* a kind is one of three short words */
	if (k >= 0 && (size_t)k < sizeof(name))
		rc = db_event_add(db, incident_id, name, text);
	free(text);
	json_decref(d);
	return rc;
}

/* ---- previews ----------------------------------------------------- */

int notice_store_due(struct db *db, long long incident_id, const char *kind,
		     const char *address, struct notice **ns, size_t *n)
{
	char id[32];
	const char *params[3] = { id, kind, address };
	PGresult *res;

	*ns = NULL;
	*n = 0;
	db_param_llong(id, incident_id);
	/* The one for an address, sent or not: a preview may show what
	 * went out. */
	res = db_query(db,
		       address ? "SELECT id, address, to_json(accounts),"
				 " attempts FROM notice WHERE incident_id = $1"
				 " AND kind = $2 AND address = $3 ORDER BY id"
			       : "SELECT id, address, to_json(accounts),"
				 " attempts FROM notice WHERE incident_id = $1"
				 " AND kind = $2 AND state IN ('pending',"
				 " 'retry', 'claimed') ORDER BY id",
		       address ? 3 : 2, params);
	if (res == NULL)
		return -1;
	*n = (size_t)PQntuples(res);
	*ns = xcalloc(*n + 1, sizeof(**ns));
	for (size_t i = 0; i < *n; i++)
		notice_from_row(&(*ns)[i], res, (int)i);
	PQclear(res);
	return 0;
}

static int cmp_notice_id(const void *a, const void *b)
{
	long long x = ((const struct notice *)a)->id;
	long long y = ((const struct notice *)b)->id;

	return x < y ? -1 : x > y;
}

/* A notice's certificates by one index scan over its sorted ids (= ANY):
 * the heap is then read in id order, which is the import's order, not
 * jumping about as a join row by row did. */
#define SELECT_CERTIFICATES(scan)                                              \
	"SELECT nc.notice_id, " CERT_COLUMNS_WITH(                             \
		scan) " FROM notice_certificate_set nc"                        \
		      " JOIN certificate c ON c.id = ANY (nc.certificate_ids)" \
		      " WHERE nc.notice_id = ANY ($1::bigint[])"               \
		      " ORDER BY nc.notice_id"

int notice_store_scanned(struct db *db, long long incident_id, bool *yes)
{
	char id[32];
	const char *params[1] = { id };
	PGresult *res;

	db_param_llong(id, incident_id);
	res = db_query(db,
		       "SELECT EXISTS (SELECT 1 FROM scan_target"
		       " WHERE incident_id = $1 AND round > 0)",
		       1, params);
	if (res == NULL)
		return -1;
	*yes = PQgetvalue(res, 0, 0)[0] == 't';
	PQclear(res);
	return 0;
}

/* Moves *j to the notice of ns[*j..n) whose id is id: the rows and ns
 * are both in id order, so it is there.  -1 (logged) if it is not: a
 * notice's certificates are not dropped unsaid. */
static int seek_notice(const struct notice *ns, size_t n, size_t *j,
		       long long id)
{
	while (*j < n && ns[*j].id != id)
		(*j)++;
	if (*j < n)
		return 0;
	return log_error("database: certificates of notice %lld, which was"
			 " not asked for",
			 id);
}

/* LISTING_OF for a list s alone, and the statement of load_listings(). */
#define LISTING_OF_SET LISTING_OF("n.incident_id", "s.")
#define LOAD_LISTINGS_SQL                                                      \
	"SELECT s.notice_id, l.listing, s.certificates"                        \
	" FROM notice_certificate_set s, LATERAL (SELECT " LISTING_OF_SET      \
	" AS listing FROM notice n WHERE n.id = s.notice_id) l"                \
	" WHERE s.notice_id = ANY ($1::bigint[])"                              \
	" AND l.listing IS NOT NULL ORDER BY s.notice_id"

/* The listings of ns[0..n) that may stand for their certificates
 * (LISTING_OF) onto their certs; done[i] says which.  In binary: these
 * are the big notices' (a hosting account's tens of thousands of
 * certificates), and PostgreSQL prints and quotes every element of a
 * text[] in text (2,742,593 certificates at 3 M: 1.1-1.5 s in text,
 * 0.5 s in binary).  0 or -1. */
static int load_listings(struct db *db, struct notice *ns, size_t n, bool *done)
{
	char *ids = id_array(NULL, ns, n);
	const char *params[1] = { ids };
	PGresult *res;
	int *order = NULL, rc = 0;
	size_t j = 0, cap = 0;

	res = db_query_binary(db, LOAD_LISTINGS_SQL, 1, params);
	free(ids);
	if (res == NULL)
		return -1;
	for (int r = 0; r < PQntuples(res) && rc == 0; r++) {
		long long id = db_get_llong(res, r, 0);

		if (seek_notice(ns, n, &j, id) < 0) {
			rc = -1;
			break;
		}
		rc = append_listing(ns[j].certs, PQgetvalue(res, r, 1),
				    (size_t)PQgetlength(res, r, 1),
				    db_get_llong(res, r, 2), &order, &cap);
		done[j] = true;
	}
	free(order);
	PQclear(res);
	return rc;
}

/* The rows come ordered by notice id, so ns is sorted the same way
 * first.  The listings first, where they may stand for the
 * certificates; the certificates themselves for the rest. */
int notice_store_load_certificates(struct db *db, bool scanned,
				   struct notice *ns, size_t n)
{
	bool *done = xcalloc(n + 1, sizeof(*done));
	long long *rest = xcalloc(n + 1, sizeof(*rest));
	size_t nrest = 0, j = 0, cap = 0;
	const char *params[1];
	PGresult *res = NULL;
	int *order = NULL, rc = -1;
	char *ids;

	qsort(ns, n, sizeof(*ns), cmp_notice_id);
	for (size_t i = 0; i < n; i++) {
		json_decref(ns[i].certs);
		ns[i].certs = json_array();
		ns[i].certs_deferred = false;
	}
	if (!scanned && load_listings(db, ns, n, done) < 0)
		goto out;
	for (size_t i = 0; i < n; i++)
		if (!done[i])
			rest[nrest++] = ns[i].id;
	rc = 0;
	if (nrest == 0)
		goto out;
	ids = id_array(rest, NULL, nrest);
	params[0] = ids;
	res = db_query(db,
		       scanned ? SELECT_CERTIFICATES(CERT_VERDICT)
			       : SELECT_CERTIFICATES(CERT_UNSCANNED),
		       1, params);
	free(ids);
	if (res == NULL) {
		rc = -1;
		goto out;
	}
	for (int r = 0, end; r < PQntuples(res); r = end) {
		long long id = strtoll(PQgetvalue(res, r, 0), NULL, 10);

		end = rows_end(res, r);
		if (seek_notice(ns, n, &j, id) < 0) {
			rc = -1;
			break;
		}
		append_certs(ns[j].certs, res, r, end, 1, &order, &cap);
	}
out:
	free(order);
	PQclear(res);
	free(rest);
	free(done);
	return rc;
}

/* One query per batch, apart from the claim so the claim stays as it
 * is: per notice, the language and the zone of its first account (in
 * account order) that has one, from one look at its accounts (two
 * subqueries, one per column, read them twice: 4.7 ms per batch at 3 M),
 * among the accounts that have either (033's partial index: most have
 * neither, and their rows need not be read). */
int notice_store_load_locales(struct db *db, struct notice *ns, size_t n)
{
	const char *params[1];
	PGresult *res;
	char *ids;

	if (n == 0)
		return 0;
	ids = id_array(NULL, ns, n);
	params[0] = ids;
	res = db_query(db,
		       "SELECT n.id, l.lang, l.tz FROM notice n"
		       " LEFT JOIN LATERAL (SELECT (array_agg(lang ORDER BY"
		       " account) FILTER (WHERE lang IS NOT NULL))[1] AS lang,"
		       " (array_agg(tz ORDER BY account) FILTER (WHERE tz IS"
		       " NOT NULL))[1] AS tz FROM subscriber"
		       " WHERE account = ANY (n.accounts)"
		       " AND (lang IS NOT NULL OR tz IS NOT NULL)) l ON true"
		       " WHERE n.id = ANY ($1::bigint[])",
		       1, params);
	free(ids);
	if (res == NULL)
		return -1;
	for (int r = 0; r < PQntuples(res); r++) {
		long long id = db_get_llong(res, r, 0);

		for (size_t i = 0; i < n; i++) {
			if (ns[i].id != id)
				continue;
			/* longer values are no language or zone we know:
			 * cut, as they always were */
			if (snprintf(ns[i].lang, sizeof(ns[i].lang), "%s",
				     PQgetvalue(res, r, 1)) < 0 ||
			    snprintf(ns[i].tz, sizeof(ns[i].tz), "%s",
				     PQgetvalue(res, r, 2)) < 0)
				ns[i].lang[0] = ns[i].tz[0] = '\0';
		}
	}
	PQclear(res);
	return 0;
}
