/*
 * revcheck_store.c - the SQL of `certrecall revcheck`: issuers, the pass
 * and its claims, OCSP evidence, the round's counts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "certrecall/base/log.h"
#include "certrecall/base/xalloc.h"
#include "certrecall/core/ocsp.h"
#include "certrecall/core/serial.h"
#include "certrecall/store/db.h"
#include "certrecall/store/dbq.h"
#include "certrecall/store/revcheck_store.h"

/* What a certificate still to revoke is, in SQL over certificate c. */
#define STILL_TO_REVOKE                                                        \
	" c.revoked_at IS NULL"                                                \
	" AND (c.not_after IS NULL OR c.not_after > certrecall_now())"

/* "N milliseconds" for an interval parameter. */
static const char *interval(char buf[48], long long ms)
{
	if (snprintf(buf, 48, "%lld milliseconds", ms) >= 48)
		buf[0] = '\0'; /* cannot happen */
	return buf;
}

/*
 * The bigint[] literal "{1,2,3}" of ids[0..n), caller frees; NULL
 * (logged) if it would not fit the space sized for it, which a long
 * long cannot make happen: each id takes at most 20 characters and a
 * comma.
 */
static char *id_array(const long long *ids, size_t n)
{
	size_t cap = 21 * n + 3, k = 0;
	char *s = xmalloc(cap);

	s[k++] = '{';
	for (size_t i = 0; i < n; i++) {
		int w = snprintf(s + k, cap - k, "%s%lld", i > 0 ? "," : "",
				 ids[i]);

		if (w < 0 || (size_t)w >= cap - k - 1) {
			log_error("revcheck: internal error: %zu ids do not "
				  "fit %zu bytes",
				  n, cap);
			free(s);
			return NULL;
		}
		k += (size_t)w;
	}
	s[k++] = '}';
	s[k] = '\0';
	return s;
}

/* text[] as "{a,b}": URLs have no commas or braces we accept. */
static void strv_from_array(const char *text, char ***v, size_t *n)
{
	char *s = xstrdup(text);
	char *save = NULL;

	*v = NULL;
	*n = 0;
	for (char *t = strtok_r(s, "{},\"", &save); t != NULL;
	     t = strtok_r(NULL, "{},\"", &save)) {
		*v = xrealloc(*v, (*n + 1) * sizeof(char *));
		(*v)[(*n)++] = xstrdup(t);
	}
	free(s);
}

void revcheck_store_issuers_free(struct revcheck_store_issuer *is, size_t n)
{
	if (is == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		for (size_t k = 0; k < is[i].nocsp; k++)
			free(is[i].ocsp[k]);
		for (size_t k = 0; k < is[i].ncrl; k++)
			free(is[i].crl[k]);
		free(is[i].ocsp);
		free(is[i].crl);
		free(is[i].pem);
		free(is[i].subject);
	}
	free(is);
}

int revcheck_store_issuers(struct db *db, long long incident_id,
			   struct revcheck_store_issuer **out, size_t *n)
{
	char id[32];
	const char *p[1] = { db_param_llong(id, incident_id) };
	struct revcheck_store_issuer *is;
	PGresult *res;

	*out = NULL;
	*n = 0;
	res = db_query(
		db,
		"SELECT id, pem, ocsp_urls, crl_urls, subject FROM issuer"
		" WHERE incident_id = $1 ORDER BY id",
		1, p);
	if (res == NULL)
		return -1;
	*n = (size_t)PQntuples(res);
	is = xcalloc(*n + 1, sizeof(*is));
	for (size_t i = 0; i < *n; i++) {
		int r = (int)i;

		is[i].id = db_get_llong(res, r, 0);
		is[i].pem = xstrdup(PQgetvalue(res, r, 1));
		strv_from_array(PQgetvalue(res, r, 2), &is[i].ocsp,
				&is[i].nocsp);
		strv_from_array(PQgetvalue(res, r, 3), &is[i].crl, &is[i].ncrl);
		is[i].subject = xstrdup(PQgetvalue(res, r, 4));
	}
	PQclear(res);
	*out = is;
	return 0;
}

int revcheck_store_last_evidence(struct db *db, long long *id)
{
	PGresult *res = db_query(
		db, "SELECT coalesce(max(id), 0) FROM revocation_evidence", 0,
		NULL);

	if (res == NULL)
		return -1;
	*id = db_get_llong(res, 0, 0);
	PQclear(res);
	return 0;
}

/* Opens a new pass of the locked row: 0, or -1. */
static int pass_open(struct db *db, const char *const p[3],
		     long long *first_evidence)
{
	const char *q[2] = { p[0], p[2] };
	PGresult *res;

	res = db_query(db,
		       "WITH gone AS (DELETE FROM revcheck_batch"
		       "  WHERE incident_id = $1)"
		       " UPDATE revcheck_pass SET started_at = now(),"
		       " first_evidence = (SELECT coalesce(max(id), 0)"
		       "  FROM revocation_evidence)"
		       " WHERE incident_id = $1 RETURNING first_evidence",
		       1, p);
	if (res == NULL)
		return -1;
	*first_evidence = db_get_llong(res, 0, 0);
	PQclear(res);
	return db_run(db,
		      "INSERT INTO revcheck_batch (incident_id, first_id,"
		      " last_id) SELECT $1, min(id), max(id) FROM"
		      " (SELECT c.id, (row_number() OVER (ORDER BY c.id) - 1)"
		      "  / $2::bigint AS k FROM certificate c"
		      "  WHERE c.incident_id = $1 AND" STILL_TO_REVOKE ") x"
		      " GROUP BY k",
		      2, q);
}

int revcheck_store_pass_begin(struct db *db, long long incident_id,
			      long long lease_ms, long long batch,
			      long long *first_evidence, bool *joined)
{
	char id[32], lease[48], per[32];
	const char *p[3] = { db_param_llong(id, incident_id),
			     interval(lease, lease_ms),
			     db_param_llong(per, batch > 0 ? batch : 1) };
	PGresult *res;

	*joined = false;
	if (db_begin(db) < 0)
		return -1;
	/* The row is the pass's lock: processes starting together open
	 * one pass between them. */
	res = db_query(db,
		       "INSERT INTO revcheck_pass (incident_id, first_evidence)"
		       " VALUES ($1, 0) ON CONFLICT DO NOTHING",
		       1, p);
	if (res == NULL)
		goto fail;
	PQclear(res);
	res = db_query(db,
		       "SELECT p.first_evidence,"
		       " EXISTS (SELECT 1 FROM revcheck_batch b"
		       "  WHERE b.incident_id = $1)"
		       " AND (p.started_at > now() - $2::interval"
		       "  OR EXISTS (SELECT 1 FROM revcheck_batch b"
		       "  WHERE b.incident_id = $1 AND b.state = 'claimed'"
		       "  AND b.lease_until >= now()))"
		       " FROM revcheck_pass p WHERE p.incident_id = $1"
		       " FOR UPDATE",
		       2, p);
	if (res == NULL)
		goto fail;
	*joined = strcmp(PQgetvalue(res, 0, 1), "t") == 0;
	*first_evidence = db_get_llong(res, 0, 0);
	PQclear(res);
	if (!*joined && pass_open(db, p, first_evidence) < 0)
		goto fail;
	return db_commit(db);
fail:
	db_rollback(db);
	return -1;
}

void revcheck_store_batch_release(struct revcheck_store_batch *b)
{
	free(b->certs);
	b->certs = NULL;
	b->n = b->cap = 0;
}

int revcheck_store_claim(struct db *db, long long incident_id,
			 const char *worker, long long lease_ms,
			 long long after, struct revcheck_store_batch *out)
{
	char id[32], lease[48], from[32];
	const char *p[4] = { db_param_llong(id, incident_id),
			     interval(lease, lease_ms), worker,
			     db_param_llong(from, after) };
	PGresult *res;
	int rows;

	/* A batch whose certificates were all revoked since still comes
	 * back, as one row without a certificate. */
	res = db_query(db,
		       "WITH b AS (UPDATE revcheck_batch SET state = 'claimed',"
		       "  lease_until = now() + $2::interval, worker = $3"
		       "  WHERE (incident_id, first_id) = (SELECT incident_id,"
		       "   first_id FROM revcheck_batch WHERE incident_id = $1"
		       "   AND first_id > $4"
		       "   AND (state = 'pending' OR lease_until < now())"
		       "   ORDER BY first_id LIMIT 1 FOR UPDATE SKIP LOCKED)"
		       "  RETURNING first_id, last_id)"
		       " SELECT b.first_id, c.id, encode(c.serial, 'hex'),"
		       " c.issuer_id, c.issuer_name IS NULL"
		       " FROM b LEFT JOIN certificate c ON c.incident_id = $1"
		       " AND c.id BETWEEN b.first_id AND b.last_id"
		       " AND" STILL_TO_REVOKE " ORDER BY c.id",
		       4, p);
	if (res == NULL)
		return -1;
	rows = PQntuples(res);
	out->n = 0;
	if (rows == 0) {
		PQclear(res);
		return 0;
	}
	out->first_id = db_get_llong(res, 0, 0);
	xgrow(&out->certs, &out->cap, (size_t)rows, sizeof(*out->certs));
	for (int r = 0; r < rows; r++) {
		struct revcheck_store_cert *c = &out->certs[out->n];
		char why[128];

		if (PQgetisnull(res, r, 1))
			continue;
		c->id = db_get_llong(res, r, 1);
		c->serial_ok = serial_from_stored_hex(&c->serial,
						      PQgetvalue(res, r, 2),
						      why, sizeof(why)) == 0;
		c->issuer_id =
			PQgetisnull(res, r, 3) ? -1 : db_get_llong(res, r, 3);
		c->issuer_unknown = strcmp(PQgetvalue(res, r, 4), "t") == 0;
		out->n++;
	}
	PQclear(res);
	return 1;
}

int revcheck_store_renew(struct db *db, const char *worker, long long lease_ms)
{
	char lease[48];
	const char *p[2] = { worker, interval(lease, lease_ms) };
	PGresult *res = db_query(db,
				 "UPDATE revcheck_batch"
				 " SET lease_until = now() + $2::interval"
				 " WHERE worker = $1 AND state = 'claimed'",
				 2, p);

	if (res == NULL)
		return -1;
	PQclear(res);
	return 0;
}

long long revcheck_store_give_back(struct db *db, const char *worker)
{
	const char *p[1] = { worker };
	PGresult *res = db_query(db,
				 "UPDATE revcheck_batch SET state = 'pending',"
				 " lease_until = NULL, worker = NULL"
				 " WHERE worker = $1 AND state = 'claimed'",
				 1, p);
	long long n;

	if (res == NULL)
		return -1;
	n = strtoll(PQcmdTuples(res), NULL, 10);
	PQclear(res);
	return n;
}

long long revcheck_store_queued_elsewhere(struct db *db, long long incident_id,
					  const char *worker)
{
	char id[32];
	const char *p[2] = { db_param_llong(id, incident_id), worker };
	PGresult *res =
		db_query(db,
			 "SELECT count(*) FROM revcheck_batch"
			 " WHERE incident_id = $1 AND (state = 'pending'"
			 " OR worker IS DISTINCT FROM $2)",
			 2, p);
	long long n;

	if (res == NULL)
		return -1;
	n = db_get_llong(res, 0, 0);
	PQclear(res);
	return n;
}

static time_t unset_or(time_t t)
{
	return t > 0 ? t : DB_COPY_NULL_TIME;
}

/* The evidence rows by one COPY: 0, or -1. */
static int copy_evidence(struct db *db,
			 const struct revcheck_store_evidence *ev, size_t nev)
{
	struct db_copy *c;

	c = db_copy_begin(db, "COPY revocation_evidence (certificate_id,"
			      " source, source_url, status, revoked_at,"
			      " reason, produced_at, this_update,"
			      " next_update, error_detail) FROM STDIN");
	if (c == NULL)
		return -1;
	for (size_t i = 0; i < nev; i++) {
		const struct ocsp_answer *a = &ev[i].answer;
		bool revoked = a->status == OCSP_REVOKED;

		db_copy_llong(c, ev[i].cert_id);
		db_copy_text(c, "ocsp");
		db_copy_text(c, ev[i].url != NULL && ev[i].url[0] ? ev[i].url
								  : NULL);
		db_copy_text(c, ocsp_status_name(a->status));
		db_copy_time(c, revoked ? a->revoked_at : DB_COPY_NULL_TIME);
		if (revoked && a->reason >= 0)
			db_copy_llong(c, a->reason);
		else
			db_copy_text(c, NULL);
		db_copy_time(c, unset_or(a->produced_at));
		db_copy_time(c, unset_or(a->this_update));
		db_copy_time(c, unset_or(a->next_update));
		db_copy_text(c, a->error[0] ? a->error : NULL);
		if (db_copy_row_end(c) < 0)
			break;
	}
	return db_copy_end(c, NULL, NULL);
}

int revcheck_store_record(struct db *db, long long incident_id,
			  const char *worker,
			  const struct revcheck_store_evidence *ev, size_t nev,
			  const long long *done, size_t ndone)
{
	char id[32];
	char *ids = NULL;
	PGresult *res;
	int rc = -1;

	if (nev == 0 && ndone == 0)
		return 0;
	if (db_begin(db) < 0)
		return -1;
	if (nev > 0 && copy_evidence(db, ev, nev) < 0)
		goto out;
	if (ndone > 0) {
		const char *p[3] = { db_param_llong(id, incident_id), worker,
				     NULL };

		ids = id_array(done, ndone);
		if (ids == NULL)
			goto out;
		p[2] = ids;
		res = db_query(
			db,
			"DELETE FROM revcheck_batch WHERE incident_id = $1"
			" AND worker = $2 AND first_id = ANY ($3::bigint[])",
			3, p);
		if (res == NULL)
			goto out;
		PQclear(res);
	}
	rc = db_commit(db);
out:
	if (rc < 0)
		db_rollback(db);
	free(ids);
	return rc;
}

int revcheck_store_counts(struct db *db, long long incident_id,
			  const long long *crl_answered, size_t n,
			  long long only_issuer, long long first_evidence,
			  long long *left, long long *unanswered)
{
	char id[32], only[32], first[32];
	char *answered = id_array(crl_answered, n);
	const char *p[4] = { db_param_llong(id, incident_id), answered,
			     db_param_llong(only, only_issuer),
			     db_param_llong(first, first_evidence) };
	PGresult *res = NULL;
	int rc = -1;

	if (answered == NULL)
		return -1;
	/* One pass over the incident's certificates for both counts (two
	 * took a second more for 3,000,000).  The evidence of the pass is
	 * hashed once, not probed per certificate.  JIT compiling costs
	 * more than it saves on this one scan. */
	if (db_begin(db) < 0)
		goto out;
	if (db_exec(db, "SET LOCAL jit = off") < 0)
		goto out;
	res = db_query(db,
		       "SELECT count(*), count(*) FILTER (WHERE"
		       "  NOT coalesce(c.issuer_id, $3) = ANY ($2::bigint[])"
		       "  AND a.certificate_id IS NULL)"
		       " FROM certificate c LEFT JOIN (SELECT DISTINCT"
		       "  e.certificate_id FROM revocation_evidence e"
		       "  WHERE e.id > $4 AND e.status IN ('good', 'revoked'))"
		       "  a ON a.certificate_id = c.id"
		       " WHERE c.incident_id = $1 AND" STILL_TO_REVOKE,
		       4, p);
	if (res == NULL)
		goto out;
	*left = db_get_llong(res, 0, 0);
	*unanswered = db_get_llong(res, 0, 1);
	rc = db_commit(db);
out:
	if (rc < 0)
		db_rollback(db);
	PQclear(res);
	free(answered);
	return rc;
}
