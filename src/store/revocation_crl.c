/*
 * revocation_crl.c - a verified CRL matched against the incident's
 * certificates: crl_fetch, crl_entry, and the revocation state of the
 * ones it lists.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "certrecall/base/errmsg.h"
#include "certrecall/base/hex.h"
#include "certrecall/base/log.h"
#include "certrecall/base/utctime.h"
#include "certrecall/base/xalloc.h"
#include "certrecall/core/crl.h"
#include "certrecall/core/serial.h"
#include "certrecall/store/db.h"
#include "certrecall/store/dbq.h"
#include "certrecall/store/revocation.h"
#include "certrecall/store/revocation_earlier.h"

#define CRL_FETCH_ROWS 200000 /* certificates per FETCH when matching a CRL */

/* A listed certificate of the current FETCH batch, waiting for COPY. */
struct crl_hit {
	long long cert_id;
	time_t revoked_at;
	int reason;
	unsigned block, offset; /* its row (ctid), read under the SHARE lock */
};

/* Bytes in PostgreSQL's binary formats (network order). */
struct bin {
	unsigned char *b;
	size_t len, cap;
};

static void put(struct bin *o, unsigned long long v, int n)
{
	xgrow(&o->b, &o->cap, o->len + (size_t)n, 1);
	for (int i = n - 1; i >= 0; i--)
		o->b[o->len++] = (unsigned char)(v >> (8 * i));
}

/* A time as a timestamptz: microseconds since 2000-01-01 UTC. */
static unsigned long long pg_time(time_t t)
{
	return (unsigned long long)(((long long)t - 946684800LL) * 1000000LL);
}

/* An int8 field of a binary COPY row or array element, with its length. */
static void put_int8(struct bin *o, unsigned long long v)
{
	put(o, 8, 4);
	put(o, v, 8);
}

/* The reason as an int2 field, or NULL (length -1). */
static void put_reason(struct bin *o, int reason)
{
	if (reason < 0) {
		put(o, 0xffffffffULL, 4);
		return;
	}
	put(o, 2, 4);
	put(o, (unsigned)reason, 2);
}

/* The listed certificates of the batch into crl_entry, one binary COPY
 * (a timestamp given as text costs the server a parse per row). */
static int copy_crl_hits(struct db *db, long long fetch_id,
			 const struct crl_hit *hit, size_t n, struct bin *o)
{
	static const unsigned char sig[11] = "PGCOPY\n\377\r\n";
	PGconn *conn = db_get0_conn(db);
	PGresult *res;
	int ok;

	if (n == 0)
		return 0;
	o->len = 0;
	xgrow(&o->b, &o->cap, sizeof(sig), 1);
	memcpy(o->b, sig, sizeof(sig));
	o->len = sizeof(sig);
	put(o, 0, 4); /* flags */
	put(o, 0, 4); /* header extension */
	for (size_t i = 0; i < n; i++) {
		put(o, 4, 2);
		put_int8(o, (unsigned long long)fetch_id);
		put_int8(o, (unsigned long long)hit[i].cert_id);
		put_int8(o, pg_time(hit[i].revoked_at));
		put_reason(o, hit[i].reason);
	}
	put(o, 0xffff, 2); /* trailer */
	res = PQexec(conn, "COPY crl_entry (fetch_id, certificate_id,"
			   " revoked_at, reason) FROM STDIN (FORMAT binary)");
	ok = PQresultStatus(res) == PGRES_COPY_IN;
	PQclear(res);
	if (ok) {
		ok = PQputCopyData(conn, (const char *)o->b, (int)o->len) == 1;
		if (PQputCopyEnd(conn, ok ? NULL : "aborted") != 1)
			ok = 0;
	}
	while ((res = PQgetResult(conn)) != NULL) {
		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			if (ok)
				log_error(
					"database: %.*s (in: COPY crl_entry)",
					(int)strcspn(PQresultErrorMessage(res),
						     "\n"),
					PQresultErrorMessage(res));
			ok = 0;
		}
		PQclear(res);
	}
	if (!ok)
		return log_error("database: COPY crl_entry failed: %.*s",
				 (int)strcspn(PQerrorMessage(conn), "\n"),
				 PQerrorMessage(conn));
	return 0;
}

/* One binary array (array_send's format): n elements of type oid, each
 * written by the caller with its length. */
static void array_head(struct bin *o, size_t n, unsigned oid, bool nulls)
{
	o->len = 0;
	put(o, 1, 4); /* dimensions */
	put(o, nulls ? 1 : 0, 4);
	put(o, oid, 4);
	put(o, n, 4);
	put(o, 1, 4); /* lower bound */
}

/* The hits' rows (tid), ids (int8), times (timestamptz) and reasons
 * (int2) as four binary arrays. */
static void hit_arrays(struct bin a[4], const struct crl_hit *hit, size_t n)
{
	array_head(&a[0], n, 27, false);
	array_head(&a[1], n, 20, false);
	array_head(&a[2], n, 1184, false);
	array_head(&a[3], n, 21, true);
	for (size_t i = 0; i < n; i++) {
		put(&a[0], 6, 4);
		put(&a[0], hit[i].block, 4);
		put(&a[0], hit[i].offset, 2);
		put_int8(&a[1], (unsigned long long)hit[i].cert_id);
		put_int8(&a[2], pg_time(hit[i].revoked_at));
		put_reason(&a[3], hit[i].reason);
	}
}

/*
 * Applies the batch's entries to the certificates' revocation state at
 * once, as revocation_derive would (REVOCATION_EARLIER), by the rows' ctids:
 * the SHARE lock keeps every row the cursor returned where it is (no
 * one else may update, delete or VACUUM FULL, and lazy VACUUM does not
 * move live rows), and c.id = n.id checks each is still the one read.
 * The rows are found without the primary key's index, in page order,
 * while the cursor's pages are fresh.
 */
static int apply_crl_hits(struct db *db, const char *inc_id,
			  const struct crl_hit *hit, size_t n, struct bin a[4])
{
	static const char sql[] =
		"UPDATE certificate c SET revocation_state = 'revoked',"
		" revoked_at = n.revoked_at, revocation_reason = n.reason"
		" FROM unnest($2::tid[], $3::bigint[], $4::timestamptz[],"
		"  $5::smallint[]) AS n(t, id, revoked_at, reason)"
		" WHERE c.ctid = n.t AND c.id = n.id"
		" AND c.incident_id = $1 AND" REVOCATION_EARLIER("n");
	const char *p[5] = { inc_id };
	int len[5] = { 0 }, fmt[5] = { 0, 1, 1, 1, 1 };
	PGresult *res;
	bool ok;

	if (n == 0)
		return 0;
	hit_arrays(a, hit, n);
	for (int k = 0; k < 4; k++) {
		p[k + 1] = (const char *)a[k].b;
		len[k + 1] = (int)a[k].len;
	}
	res = PQexecParams(db_get0_conn(db), sql, 5, NULL, p, len, fmt, 0);
	ok = PQresultStatus(res) == PGRES_COMMAND_OK;
	if (!ok)
		log_error("database: %.*s (in: UPDATE certificate by ctid)",
			  (int)strcspn(PQresultErrorMessage(res), "\n"),
			  PQresultErrorMessage(res));
	PQclear(res);
	return ok ? 0 : -1;
}

static unsigned long long be(const unsigned char *p, int n)
{
	unsigned long long v = 0;

	for (int i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

/*
 * Looks the FETCHed certificates up in crl; the listed ones into
 * (*hit)[0..*n).  The stored octets are compared as they are.  A zero or
 * negative serial (stored with a leading 00) is never one of the CRL's
 * indexed entries, which are positive; if the CRL has entries it could
 * not index (zero, negative, over 20 octets: crl_skipped) it may list
 * that certificate, so nothing can be said of it: -1 with err.  Else 0.
 */
static int lookup_rows(const struct crl *crl, PGresult *res,
		       struct crl_hit **hit, size_t *caphit, size_t *n,
		       char *err, size_t errlen)
{
	*n = 0;
	for (int r = 0; r < PQntuples(res); r++) {
		const unsigned char *t =
			(const unsigned char *)PQgetvalue(res, r, 0);
		const unsigned char *v =
			(const unsigned char *)PQgetvalue(res, r, 2);
		int len = PQgetlength(res, r, 2);
		long long id = (long long)be(
			(const unsigned char *)PQgetvalue(res, r, 1), 8);
		struct crl_hit h;
		struct serial s;

		if (len < 1 || len > SERIAL_STORED_MAX ||
		    (v[0] == 0 && crl_skipped(crl) > 0))
			return errmsg_set(
				err, errlen,
				"certificate %lld: a zero or negative "
				"serial, and the CRL has %zu entries "
				"that name no positive serial: it "
				"may list it",
				id, crl_skipped(crl));
		s.len = (size_t)len;
		memcpy(s.b, v, s.len);
		if (!crl_lookup(crl, &s, &h.revoked_at, &h.reason))
			continue;
		h.block = (unsigned)be(t, 4);
		h.offset = (unsigned)be(t + 4, 2);
		h.cert_id = id;
		xgrow(hit, caphit, *n + 1, sizeof(**hit));
		(*hit)[(*n)++] = h;
	}
	return 0;
}

/* The match's statements by row address (apply_crl_hits) are planned as
 * a nested loop over a TID scan, without JIT; "on" sets them back. */
static int crl_plan(struct db *db, bool on)
{
	static const char *const knob[] = {
		"enable_hashjoin",   "enable_mergejoin", "enable_indexscan",
		"enable_bitmapscan", "enable_material",	 "jit"
	};
	char sql[64];

	for (size_t k = 0; k < sizeof(knob) / sizeof(knob[0]); k++)
		if (snprintf(sql, sizeof(sql), "SET LOCAL %s = %s", knob[k],
			     on ? "on" : "off") >= (int)sizeof(sql) ||
		    db_exec(db, sql) < 0)
			return -1;
	return 0;
}

/* One FETCH's listed certificates. */
struct crl_batch {
	struct crl_hit *hit;
	size_t n;
	int rows; /* certificates fetched */
	struct crl_batch *next;
};

/*
 * The certificates a fetch covers, read in batches, on a second
 * connection by a thread of its own when one can be opened: that
 * server process scans and sends the next batch while this one stores
 * the last, on a machine with two cores nearly twice as fast.  Its
 * transaction imports the snapshot of the match's (under the SHARE lock)
 * and so reads exactly the rows the match would.  Without a second
 * connection the cursor is read here, between the stores.
 */
struct reader {
	PGconn *conn; /* the second connection, or NULL */
	const struct crl *crl;
	char fetch[64];
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct crl_batch *head, *tail;
	int queued;
	bool done, stop, failed;
	char err[256]; /* why it failed */
};

/* The next batch of conn's cursor, or NULL with err set. */
static struct crl_batch *read_batch(PGconn *conn, const struct crl *crl,
				    const char *fetch, char *err, size_t errlen)
{
	PGresult *res = PQexecParams(conn, fetch, 0, NULL, NULL, NULL, NULL, 1);
	struct crl_batch *b;
	size_t cap = 0;

	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQnfields(res) != 3 ||
	    PQfsize(res, 0) != 6 || PQfsize(res, 1) != 8) {
		const char *m = PQresultErrorMessage(res);

		if (m == NULL || *m == '\0')
			m = "unexpected result";
		/* A message for a human: cut to fit, its first line. */
		errmsg_set(err, errlen, "database: %.*s (in: FETCH)",
			   (int)strcspn(m, "\n"), m);
		PQclear(res);
		return NULL;
	}
	b = xcalloc(1, sizeof(*b));
	b->rows = PQntuples(res);
	if (lookup_rows(crl, res, &b->hit, &cap, &b->n, err, errlen) < 0) {
		free(b->hit);
		free(b);
		b = NULL;
	}
	PQclear(res);
	return b;
}

static void *reader_main(void *arg)
{
	struct reader *rd = arg;
	bool last = false;

	while (!last) {
		char err[sizeof(rd->err)] = "";
		struct crl_batch *b = read_batch(rd->conn, rd->crl, rd->fetch,
						 err, sizeof(err));

		pthread_mutex_lock(&rd->mu);
		while (b != NULL && rd->queued >= 2 && !rd->stop)
			pthread_cond_wait(&rd->cv, &rd->mu);
		if (b == NULL) {
			memcpy(rd->err, err, sizeof(err));
			rd->failed = last = true;
		} else if (rd->stop) {
			free(b->hit);
			free(b);
			last = true;
		} else {
			*(rd->tail != NULL ? &rd->tail->next : &rd->head) = b;
			rd->tail = b;
			rd->queued++;
			last = b->rows < CRL_FETCH_ROWS;
		}
		rd->done = last;
		pthread_cond_broadcast(&rd->cv);
		pthread_mutex_unlock(&rd->mu);
	}
	return NULL;
}

/* The next batch: 1, 0 at the end, or -1 (logged). */
static int next_batch(struct reader *rd, struct db *db, struct crl_batch **b)
{
	char err[sizeof(rd->err)] = "";
	bool failed;

	*b = NULL;
	if (rd->conn == NULL) {
		if (rd->done)
			return 0;
		*b = read_batch(db_get0_conn(db), rd->crl, rd->fetch, err,
				sizeof(err));
		if (*b == NULL)
			return log_error("%s", err);
		rd->done = (*b)->rows < CRL_FETCH_ROWS;
		return 1;
	}
	pthread_mutex_lock(&rd->mu);
	while (rd->head == NULL && !rd->done)
		pthread_cond_wait(&rd->cv, &rd->mu);
	if (rd->head != NULL) {
		*b = rd->head;
		rd->head = (*b)->next;
		if (rd->head == NULL)
			rd->tail = NULL;
		rd->queued--;
		pthread_cond_broadcast(&rd->cv);
	}
	failed = rd->failed;
	memcpy(err, rd->err, sizeof(err));
	pthread_mutex_unlock(&rd->mu);
	if (*b != NULL)
		return 1;
	/* A batch not read must never look like the end: the fetch would
	 * then cover certificates it did not look up. */
	return failed ? log_error("%s", err[0] ? err : "crl reader failed") : 0;
}

/* cmd on the reader's connection; false on failure (logged). */
static bool reader_exec(PGconn *conn, const char *cmd, int n,
			const char *const *p)
{
	PGresult *res = PQexecParams(conn, cmd, n, NULL, p, NULL, NULL, 0);
	bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;

	if (!ok)
		log_debug("crl reader: %.*s (in: %.40s)",
			  (int)strcspn(PQresultErrorMessage(res), "\n"),
			  PQresultErrorMessage(res), cmd);
	PQclear(res);
	return ok;
}

/* A second connection like db's, in a transaction with db's snapshot,
 * or NULL (then the cursor is read on db). */
static PGconn *reader_connect(struct db *db, const char *cursor, int n,
			      const char *const *p)
{
	PQconninfoOption *opt = PQconninfo(db_get0_conn(db));
	const char *kw[64], *val[64];
	PGresult *res;
	PGconn *conn = NULL;
	int k = 0;
	bool ok;

	for (PQconninfoOption *o = opt;
	     o != NULL && o->keyword != NULL && k < 63; o++)
		if (o->val != NULL) {
			kw[k] = o->keyword;
			val[k++] = o->val;
		}
	kw[k] = val[k] = NULL;
	res = db_query(db, "SELECT pg_export_snapshot()", 0, NULL);
	if (res != NULL && opt != NULL)
		conn = PQconnectdbParams(kw, val, 0);
	PQconninfoFree(opt);
	ok = res != NULL && conn != NULL && PQstatus(conn) == CONNECTION_OK;
	if (ok) {
		/* SET TRANSACTION SNAPSHOT takes a literal only; the name is
		 * hex digits and dashes. */
		const char *snap = PQgetvalue(res, 0, 0);
		char set[128];

		ok = strspn(snap, "0123456789ABCDEFabcdef-") == strlen(snap) &&
		     snprintf(set, sizeof(set), "SET TRANSACTION SNAPSHOT '%s'",
			      snap) < (int)sizeof(set) &&
		     reader_exec(conn,
				 "BEGIN ISOLATION LEVEL REPEATABLE READ,"
				 " READ ONLY",
				 0, NULL) &&
		     reader_exec(conn, set, 0, NULL) &&
		     reader_exec(conn, cursor, n, p);
	}
	PQclear(res);
	if (!ok && conn != NULL) {
		log_debug("crl reader: no second connection (%.*s); reading "
			  "on the first",
			  (int)strcspn(PQerrorMessage(conn), "\n"),
			  PQerrorMessage(conn));
		PQfinish(conn);
		conn = NULL;
	}
	return conn;
}

/* Stops the reader thread and closes its connection. */
static void reader_end(struct reader *rd)
{
	if (rd->conn == NULL)
		return;
	pthread_mutex_lock(&rd->mu);
	rd->stop = true;
	pthread_cond_broadcast(&rd->cv);
	pthread_mutex_unlock(&rd->mu);
	pthread_join(rd->thread, NULL);
	while (rd->head != NULL) {
		struct crl_batch *b = rd->head;

		rd->head = b->next;
		free(b->hit);
		free(b);
	}
	PQfinish(rd->conn); /* read only: its transaction simply ends */
	pthread_mutex_destroy(&rd->mu);
	pthread_cond_destroy(&rd->cv);
}

/*
 * Looks the certificates the fetch covers (those with an id above after)
 * up in crl, a FETCH batch at a time, COPYs the listed ones and applies
 * them to the certificates' revocation state.  Runs inside the caller's
 * transaction.
 */
static int match_crl(struct db *db, const struct crl *crl, const char *inc_id,
		     const char *issuer_id, const char *unlinked,
		     const char *after, long long fetch_id,
		     struct revocation_crl_stats *st)
{
	static const char cursor[] =
		"DECLARE crl_match NO SCROLL CURSOR FOR"
		" SELECT ctid, id, serial FROM certificate"
		" WHERE incident_id = $1 AND (issuer_id = $2"
		" OR (issuer_id IS NULL AND issuer_name IS NULL"
		" AND $3::boolean)) AND id > $4";
	const char *p[4] = { inc_id, issuer_id, unlinked, after };
	struct bin arr[5] = { { 0 } }; /* four arrays, then the COPY */
	struct reader rd = { .crl = crl };
	struct crl_batch *b = NULL;
	int rc = -1, more;

	if (snprintf(rd.fetch, sizeof(rd.fetch), "FETCH %d FROM crl_match",
		     CRL_FETCH_ROWS) >= (int)sizeof(rd.fetch))
		return -1; /* cannot happen: a constant */
	rd.conn = reader_connect(db, cursor, 4, p);
	if (rd.conn != NULL) {
		pthread_mutex_init(&rd.mu, NULL);
		pthread_cond_init(&rd.cv, NULL);
		if (pthread_create(&rd.thread, NULL, reader_main, &rd) != 0) {
			pthread_mutex_destroy(&rd.mu);
			pthread_cond_destroy(&rd.cv);
			PQfinish(rd.conn);
			rd.conn = NULL;
		}
	}
	if (rd.conn == NULL) {
		PGresult *res = db_query(db, cursor, 4, p);

		if (res == NULL)
			return -1;
		PQclear(res);
	}
	if (crl_plan(db, false) < 0)
		goto out;
	while ((more = next_batch(&rd, db, &b)) > 0) {
		st->covered += b->rows;
		st->listed += (long long)b->n;
		if (copy_crl_hits(db, fetch_id, b->hit, b->n, &arr[4]) < 0 ||
		    apply_crl_hits(db, inc_id, b->hit, b->n, arr) < 0)
			goto out;
		free(b->hit);
		free(b);
		b = NULL;
	}
	if (more < 0 || crl_plan(db, true) < 0)
		goto out;
	rc = rd.conn != NULL ? 0 : db_exec(db, "CLOSE crl_match");
out:
	if (b != NULL)
		free(b->hit);
	free(b);
	reader_end(&rd);
	for (int k = 0; k < 5; k++)
		free(arr[k].b);
	return rc;
}

/* Records a fetch that failed: it answers for nothing. */
static int add_failed_crl(struct db *db, const char *inc, const char *iss,
			  const char *url, const char *why)
{
	const char *p[4] = { inc, iss, url, why != NULL ? why : "failed" };

	return db_run(db,
		      "INSERT INTO crl_fetch (incident_id, issuer_id,"
		      " url, verified, error_detail)"
		      " VALUES ($1, $2, $3, false, $4)",
		      4, p);
}

/*
 * "Not listed, so good" holds only for certificates matched here: no
 * certificate may be inserted until this commits, and none may be still
 * uncommitted (SHARE waits for those writers).  Updates of certificates
 * by others wait too, for the seconds this takes.  SHARE also waits for
 * an autovacuum of the table (after an import there is one), which
 * PostgreSQL cancels only when the wait has lasted deadlock_timeout (1 s
 * by default; bench/revcheck.sh lost that second on every run): where
 * the role may set it, the wait is checked after 20 ms instead.  Only
 * autovacuum is cancelled so; a writer is waited for as before.
 */
static int lock_certificates(struct db *db)
{
	if (db_exec(db, "SELECT set_config('deadlock_timeout', '20ms', true)"
			" WHERE current_setting('is_superuser') = 'on'") < 0)
		return -1;
	return db_exec(db, "LOCK TABLE certificate IN SHARE MODE");
}

int revocation_add_crl(struct db *db, long long incident_id,
		       long long issuer_id, const char *url,
		       const struct crl *crl, const char *why,
		       struct revocation_crl_stats *st)
{
	struct revocation_crl_stats dummy;
	char inc[32], iss[32], digest[2 * 32 + 1], fetch[32];
	const char *unlinked;
	char after[32], tu[UTCTIME_BUFSZ], nu[UTCTIME_BUFSZ], n[32];
	char skipped[32], covered[32], listed[32];
	PGresult *res;
	bool fresh = false;

	if (st == NULL)
		st = &dummy;
	memset(st, 0, sizeof(*st));
	db_param_llong(inc, incident_id);
	db_param_llong(iss, issuer_id);
	if (crl == NULL)
		return add_failed_crl(db, inc, iss, url, why);
	if (utctime_format_rfc3339(crl_this_update(crl), tu, sizeof(tu)) < 0 ||
	    utctime_format_rfc3339(crl_next_update(crl), nu, sizeof(nu)) < 0)
		return log_error("CRL %s: dates out of range", url);
	hex_encode(crl_get0_sha256(crl), 32, digest);
	db_param_llong(n, (long long)crl_count(crl));
	db_param_llong(skipped, (long long)crl_skipped(crl));
	if (db_begin(db) < 0)
		return -1;
	if (lock_certificates(db) < 0)
		goto rollback;
	{
		/* The same CRL again: the certificates added since are all
		 * that is left to match. */
		const char *p[3] = { inc, iss, digest };

		res = db_query(db,
			       "SELECT id, covers_unlinked, last_certificate_id"
			       " FROM crl_fetch WHERE incident_id = $1"
			       " AND issuer_id = $2 AND verified"
			       " AND sha256 = decode($3, 'hex')"
			       " ORDER BY fetched_at DESC, id DESC LIMIT 1"
			       " FOR UPDATE",
			       3, p);
	}
	if (res == NULL)
		goto rollback;
	if (PQntuples(res) == 0) {
		const char *part = crl_is_partitioned(crl) ? "t" : "f";
		const char *p[9] = { inc,  iss, url,	 tu,	nu,
				     part, n,	skipped, digest };

		PQclear(res);
		fresh = true;
		res = db_query(
			db,
			"INSERT INTO crl_fetch (incident_id, issuer_id, url,"
			" verified, this_update, next_update, partitioned,"
			" entries, skipped, sha256, covers_unlinked,"
			" last_certificate_id)"
			" SELECT $1, $2, $3, true, $4, $5, $6, $7, $8,"
			" decode($9, 'hex'), (SELECT count(*) = 1 FROM issuer"
			"  WHERE incident_id = $1), 0"
			" RETURNING id, covers_unlinked, last_certificate_id",
			9, p);
		if (res == NULL)
			goto rollback;
	}
	db_param_llong(fetch, db_get_llong(res, 0, 0));
	unlinked = strcmp(PQgetvalue(res, 0, 1), "t") == 0 ? "t" : "f";
	db_param_llong(after, db_get_llong(res, 0, 2));
	PQclear(res);
	if (match_crl(db, crl, inc, iss, unlinked, after,
		      strtoll(fetch, NULL, 10), st) < 0)
		goto rollback;
	db_param_llong(covered, st->covered);
	db_param_llong(listed, st->listed);
	{
		/* match_crl applied what it listed: a new fetch is derived; a
		 * fetch matched again stays what it was (one left underived
		 * by an older version is derived whole by revocation_derive,
		 * the running minimum makes that harmless). */
		const char *p[4] = { fetch, covered, listed,
				     fresh ? "t" : "f" };

		res = db_query(
			db,
			"UPDATE crl_fetch SET fetched_at = certrecall_now(),"
			" last_certificate_id = (SELECT coalesce(max(id), 0)"
			"  FROM certificate),"
			" certificates = coalesce(certificates, 0) + $2,"
			" listed = coalesce(listed, 0) + $3,"
			" derived = derived OR $4::boolean"
			" WHERE id = $1 RETURNING certificates, listed",
			4, p);
	}
	if (res == NULL)
		goto rollback;
	st->covered = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	st->listed = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
	PQclear(res);
	if (db_commit(db) < 0)
		return -1;
	st->good = crl_is_partitioned(crl) ? 0 : st->covered - st->listed;
	return 0;
rollback:
	db_rollback(db);
	memset(st, 0, sizeof(*st));
	return -1;
}
