/*
 * serve_store.c - the reads of `certrecall serve` and `export-ari`.
 */
#include <stdio.h>
#include <stdlib.h>

#include "certrecall/base/hex.h"
#include "certrecall/core/certinfo.h"
#include "certrecall/core/serial.h"
#include "certrecall/store/db.h"
#include "certrecall/store/dbq.h"
#include "certrecall/store/serve_store.h"
#include "certrecall/base/log.h"
#include "certrecall/base/xalloc.h"

/* Whether this thread's connection has the ARI statement (serve keeps
 * one connection per thread that asks: lookup threads, HTTP threads). */
static __thread bool ari_prepared;

static const char ari_sql[] =
	"SELECT i.reason, extract(epoch FROM i.aware_at)::bigint,"
	" extract(epoch FROM i.cpr_received_at)::bigint,"
	" c.revocation_state, extract(epoch FROM c.issued_at)::bigint,"
	" extract(epoch FROM c.not_after)::bigint, i.closed_at IS NOT NULL "
	"FROM certificate c JOIN incident i ON i.id = c.incident_id "
	"WHERE c.aki = $1::bytea AND c.serial = $2::bytea";

bool serve_store_ping(struct db *db)
{
	PGresult *res = db_query(db, "SELECT 1", 0, NULL);
	bool ok = res != NULL;

	PQclear(res);
	return ok;
}

bool serve_store_reconnect(struct db *db)
{
	bool ok = db_reset(db);

	ari_prepared = false;
	return ok;
}

/* Prepares the ARI statement on this thread's connection once. */
static bool ari_prepare(struct db *db)
{
	PGresult *res;

	if (ari_prepared)
		return true;
	res = PQprepare(db_get0_conn(db), "ari", ari_sql, 2, NULL);
	ari_prepared = PQresultStatus(res) == PGRES_COMMAND_OK;
	if (!ari_prepared)
		log_error("serve: preparing the ARI query: %s",
			  PQresultErrorMessage(res));
	PQclear(res);
	return ari_prepared;
}

/* The rows of one ARI result into q; 0, or -1 (logged) on an error. */
static int ari_rows(PGresult *res, struct serve_store_ari_query *q)
{
	int n;

	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		if (res != NULL)
			log_error("serve: ARI query: %s",
				  PQresultErrorMessage(res));
		return -1;
	}
	n = PQntuples(res);
	q->rows = n > 0 ? xcalloc((size_t)n, sizeof(*q->rows)) : NULL;
	for (int i = 0; i < n; i++) {
		struct serve_store_ari_row *r = &q->rows[i];

		r->reason = xstrdup(PQgetvalue(res, i, 0));
		r->aware_at = db_get_time(res, i, 1);
		r->cpr_received_at = db_get_time(res, i, 2);
		r->state = xstrdup(PQgetvalue(res, i, 3));
		r->issued_at = db_get_time(res, i, 4);
		r->not_after = db_get_time(res, i, 5);
		r->closed = PQgetvalue(res, i, 6)[0] == 't';
	}
	q->n = (size_t)n;
	return 0;
}

int serve_store_ari_many(struct db *db, struct serve_store_ari_query *const *q,
			 size_t n)
{
	PGconn *conn = db_get0_conn(db);
	int formats[2] = { 1, 1 }, rc = -1;
	PGresult *res;
	size_t sent = 0;

	for (size_t i = 0; i < n; i++) {
		q[i]->rows = NULL;
		q[i]->n = 0;
		q[i]->rc = -1;
	}
	if (!ari_prepare(db))
		return -1;
	if (PQenterPipelineMode(conn) != 1)
		return log_error("serve: pipeline mode: %s",
				 PQerrorMessage(conn));
	for (; sent < n; sent++) {
		const char *params[2] = { (const char *)q[sent]->aki,
					  (const char *)q[sent]->serial->b };
		int lens[2] = { (int)q[sent]->aki_len,
				(int)q[sent]->serial->len };

		if (PQsendQueryPrepared(conn, "ari", 2, params, lens, formats,
					0) != 1)
			break;
	}
	if (PQpipelineSync(conn) != 1) {
		log_error("serve: ARI pipeline: %s", PQerrorMessage(conn));
		goto out;
	}
	/* Each query's result, then the NULL that ends it; then the sync. */
	for (size_t i = 0; i < sent; i++) {
		res = PQgetResult(conn);
		if (res == NULL)
			break;
		q[i]->rc = ari_rows(res, q[i]);
		PQclear(res);
		while ((res = PQgetResult(conn)) != NULL)
			PQclear(res);
	}
	res = PQgetResult(conn);
	rc = PQresultStatus(res) == PGRES_PIPELINE_SYNC && sent == n ? 0 : -1;
	PQclear(res);
out:
	if (PQexitPipelineMode(conn) != 1) {
		log_error("serve: leaving pipeline mode: %s",
			  PQerrorMessage(conn));
		rc = -1;
	}
	return rc;
}

int serve_store_ari(struct db *db, const unsigned char *aki, size_t aki_len,
		    const struct serial *serial,
		    struct serve_store_ari_row **rows, size_t *count)
{
	struct serve_store_ari_query q = { aki, aki_len, serial, NULL, 0, -1 };
	const char *params[2] = { (const char *)aki, (const char *)serial->b };
	int lens[2] = { (int)aki_len, (int)serial->len }, formats[2] = { 1, 1 };
	PGresult *res = NULL;

	*rows = NULL;
	*count = 0;
	if (ari_prepare(db))
		res = PQexecPrepared(db_get0_conn(db), "ari", 2, params, lens,
				     formats, 0);
	q.rc = ari_rows(res, &q);
	PQclear(res);
	*rows = q.rows;
	*count = q.n;
	return q.rc;
}

void serve_store_ari_rows_free(struct serve_store_ari_row *v, size_t n)
{
	if (v == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		free(v[i].reason);
		free(v[i].state);
	}
	free(v);
}

int serve_store_check(struct db *db, const char *serial_hex,
		      const struct certinfo *ci, struct serve_store_hit **hits,
		      size_t *count)
{
	static const char sql[] =
		"SELECT i.slug, i.title, i.reason,"
		" extract(epoch FROM i.aware_at)::bigint,"
		" extract(epoch FROM i.cpr_received_at)::bigint,"
		" c.revocation_state, extract(epoch FROM c.revoked_at)::bigint,"
		" c.replaced_by IS NOT NULL,"
		" extract(epoch FROM c.not_after)::bigint,"
		" extract(epoch FROM i.closed_at)::bigint "
		"FROM incident i CROSS JOIN LATERAL (SELECT * FROM certificate "
		"c"
		" WHERE c.incident_id = i.id AND c.serial = decode($1, 'hex')"
		" AND ($2::text IS NULL OR certificate_served_match(c,"
		" decode($1, 'hex'), $2, nullif(decode($3, 'hex'), ''::bytea),"
		" decode($4, 'hex')) IS NOT NULL)) c ORDER BY i.slug";
	char aki[2 * 64 + 1] = "", sha[65] = "";
	const char *params[4] = { serial_hex, NULL, NULL, NULL };
	PGresult *res;
	int n;

	*hits = NULL;
	*count = 0;
	if (ci != NULL) {
		hex_encode(ci->aki, ci->aki_len, aki);
		hex_encode(ci->sha256, 32, sha);
		params[1] = ci->issuer ? ci->issuer : "";
		params[2] = aki;
		params[3] = sha;
	}
	res = db_query(db, sql, 4, params);
	if (res == NULL)
		return -1;
	n = PQntuples(res);
	*hits = n > 0 ? xcalloc((size_t)n, sizeof(**hits)) : NULL;
	for (int i = 0; i < n; i++) {
		struct serve_store_hit *h = &(*hits)[i];

		h->slug = xstrdup(PQgetvalue(res, i, 0));
		h->title = xstrdup(PQgetvalue(res, i, 1));
		h->reason = xstrdup(PQgetvalue(res, i, 2));
		h->aware_at = db_get_time(res, i, 3);
		h->cpr_received_at = db_get_time(res, i, 4);
		h->state = xstrdup(PQgetvalue(res, i, 5));
		h->revoked_at = db_get_time(res, i, 6);
		h->replaced = PQgetvalue(res, i, 7)[0] == 't';
		h->not_after = db_get_time(res, i, 8);
		h->closed_at = db_get_time(res, i, 9);
	}
	*count = (size_t)n;
	PQclear(res);
	return 0;
}

void serve_store_hits_free(struct serve_store_hit *v, size_t n)
{
	if (v == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		free(v[i].slug);
		free(v[i].title);
		free(v[i].reason);
		free(v[i].state);
	}
	free(v);
}

int serve_store_export_open(struct db *db, long long incident_id,
			    long long *without_aki)
{
	char id[32];
	const char *params[1] = { id };
	PGresult *res;

	*without_aki = 0;
	if (snprintf(id, sizeof(id), "%lld", incident_id) >= (int)sizeof(id))
		return log_error("export-ari: incident id too long");
	res = db_query(db,
		       "DECLARE ari NO SCROLL CURSOR FOR "
		       "SELECT encode(aki, 'hex'), encode(serial, 'hex'),"
		       " revocation_state,"
		       " extract(epoch FROM not_after)::bigint "
		       "FROM certificate WHERE incident_id = $1 "
		       "AND aki IS NOT NULL ORDER BY id",
		       1, params);
	if (res == NULL)
		return -1;
	PQclear(res);
	res = db_query(db,
		       "SELECT count(*) FROM certificate "
		       "WHERE incident_id = $1 AND aki IS NULL",
		       1, params);
	if (res == NULL)
		return -1;
	*without_aki = db_get_llong(res, 0, 0);
	PQclear(res);
	return 0;
}

int serve_store_export_next(struct db *db, struct serve_store_export_row **rows,
			    size_t *count)
{
	PGresult *res = db_query(db, "FETCH 10000 FROM ari", 0, NULL);
	int n;

	*rows = NULL;
	*count = 0;
	if (res == NULL)
		return -1;
	n = PQntuples(res);
	*rows = n > 0 ? xcalloc((size_t)n, sizeof(**rows)) : NULL;
	for (int i = 0; i < n; i++) {
		struct serve_store_export_row *r = &(*rows)[i];

		r->aki_hex = xstrdup(PQgetvalue(res, i, 0));
		r->serial_hex = xstrdup(PQgetvalue(res, i, 1));
		r->state = xstrdup(PQgetvalue(res, i, 2));
		r->not_after = db_get_time(res, i, 3);
	}
	*count = (size_t)n;
	PQclear(res);
	return 0;
}

void serve_store_export_rows_free(struct serve_store_export_row *v, size_t n)
{
	if (v == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		free(v[i].aki_hex);
		free(v[i].serial_hex);
		free(v[i].state);
	}
	free(v);
}
