/*
 * scan_store.c - targets, claims, observations and leases of the scan.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "certrecall/base/hex.h"
#include "certrecall/core/certinfo.h"
#include "certrecall/core/serial.h"
#include "certrecall/store/db.h"
#include "certrecall/store/dbq.h"
#include "certrecall/store/scan_store.h"
#include "certrecall/base/log.h"
#include "certrecall/base/xalloc.h"

/* id as text for a parameter; -1 (logged) if it does not fit. */
static int id_text(char *buf, size_t len, long long id)
{
	if (snprintf(buf, len, "%lld", id) >= (int)len)
		return log_error("scan: number too long: %lld", id);
	return 0;
}

static int interval_text(char *buf, size_t len, long long ms)
{
	if (snprintf(buf, len, "%lld milliseconds", ms) >= (int)len)
		return log_error("scan: interval too long: %lld ms", ms);
	return 0;
}

/* Appends "," (after the first) and s to a literal being built in
 * buf[0..*used); -1 when it does not fit. */
static int literal_add(char *buf, size_t len, size_t *used, bool first,
		       const char *s)
{
	int k = snprintf(buf + *used, len - *used, "%s%s", first ? "" : ",", s);

	if (k < 0 || (size_t)k >= len - *used)
		return -1;
	*used += (size_t)k;
	return 0;
}

int scan_store_add_targets(struct db *db, long long incident_id,
			   const struct starttls_port *pp, size_t np)
{
	char id[32], ports[512], protos[1024];
	const char *params[3] = { id, ports, protos };
	size_t pu = 1, ru = 1;
	long long added;
	PGresult *res;

	if (id_text(id, sizeof(id), incident_id) < 0)
		return -1;
	ports[0] = '{';
	protos[0] = '{';
	for (size_t i = 0; i < np; i++) {
		char port[16];

		if (snprintf(port, sizeof(port), "%u", pp[i].port) >=
			    (int)sizeof(port) ||
		    literal_add(ports, sizeof(ports), &pu, i == 0, port) < 0 ||
		    literal_add(protos, sizeof(protos), &ru, i == 0,
				starttls_proto_name(pp[i].proto)) < 0)
			return log_error("scanner.ports: too many ports");
	}
	if (literal_add(ports, sizeof(ports), &pu, true, "}") < 0 ||
	    literal_add(protos, sizeof(protos), &ru, true, "}") < 0)
		return log_error("scanner.ports: too many ports");
	res = db_query(db,
		       "INSERT INTO scan_target (incident_id, name, port,"
		       " protocol, probeable, state)"
		       " SELECT DISTINCT $1::bigint, n, pp.p, pp.proto,"
		       " true, 'pending'"
		       " FROM certificate c CROSS JOIN unnest(c.names) n"
		       " CROSS JOIN unnest($2::int[], $3::text[]) pp(p, proto)"
		       " WHERE c.incident_id = $1 AND c.revoked_at IS NULL"
		       " AND (c.not_after IS NULL"
		       "  OR c.not_after > certrecall_now())"
		       " ON CONFLICT (incident_id, name, port) DO UPDATE"
		       " SET protocol = excluded.protocol,"
		       " state = CASE WHEN scan_target.probeable"
		       "  AND scan_target.state = 'done' THEN 'pending'"
		       "  ELSE scan_target.state END"
		       " WHERE scan_target.protocol <> excluded.protocol",
		       3, params);
	if (res == NULL)
		return -1;
	added = strtoll(PQcmdTuples(res), NULL, 10);
	PQclear(res);
	/*
	 * New rows have no statistics until autovacuum gets to them, and
	 * scan_store_requeue's anti-join over the incident's names then
	 * runs as a nested loop: 12 s of a 35 s scan of 10,000 fresh
	 * targets, quadratic in their number (bench/scan.sh).  The
	 * certificates may have been imported just before.
	 */
	if (added > 0 && db_exec(db, "ANALYZE scan_target, certificate") < 0)
		return -1;
	return 0;
}

int scan_store_wildcards(struct db *db, long long incident_id,
			 const char *labels)
{
	char id[32];
	const char *params[2] = { id, labels };

	if (id_text(id, sizeof(id), incident_id) < 0)
		return -1;
	return db_run(
		db,
		"UPDATE scan_target w SET probed_via = v.via,"
		" probeable = cardinality(v.via) > 0,"
		" state = CASE WHEN cardinality(v.via) = 0"
		"  AND w.state = 'pending' THEN 'done'"
		"  WHEN w.state = 'done' AND w.round = 0"
		"  AND cardinality(v.via) > 0 THEN 'pending' ELSE w.state END"
		" FROM (SELECT t.id, ARRAY(SELECT x FROM ("
		"   SELECT lower(l) || substr(t.name, 2) AS x"
		"    FROM unnest($2::text[]) l"
		"   UNION SELECT n FROM certificate c, unnest(c.names) n"
		"    WHERE c.incident_id = $1 AND left(n, 1) <> '*'"
		"    AND length(n) > length(t.name) - 1"
		"    AND right(n, length(t.name) - 1) = substr(t.name, 2)"
		"    AND strpos(left(n, length(n) - length(t.name) + 1), '.')"
		"        = 0) y ORDER BY x LIMIT 8) AS via"
		"  FROM scan_target t"
		"  WHERE t.incident_id = $1 AND left(t.name, 2) = '*.') v"
		" WHERE w.id = v.id AND (w.probed_via IS DISTINCT FROM v.via"
		" OR w.probeable <> (cardinality(v.via) > 0))",
		2, params);
}

int scan_store_requeue(struct db *db, long long incident_id, long long stale_ms,
		       bool retry_failed, long long retry_ms, const char *names,
		       long long *waiting, time_t *first)
{
	char id[32], stale[48], retry[48];
	const char *q[5] = { id, stale, retry_failed ? "t" : "f", retry,
			     names };
	PGresult *res;

	if (id_text(id, sizeof(id), incident_id) < 0 ||
	    interval_text(stale, sizeof(stale), stale_ms) < 0 ||
	    interval_text(retry, sizeof(retry), retry_ms) < 0)
		return -1;
	/*
	 * Only names still on a certificate left to revoke are probed
	 * (again): an observation stamped after now (a rehearsal clock
	 * ahead of this run's) cannot vouch for now and is redone; a name
	 * whose certificates were all revoked or expired since is retired,
	 * keeping its last round.  Times are certrecall_now(), the
	 * rehearsal clock when set, as last_observed_at is.  The result:
	 * failed targets left to wait for retry_after.
	 */
	res = db_query(db,
		       "WITH live AS MATERIALIZED (SELECT DISTINCT n FROM"
		       "  certificate c, unnest(c.names) n"
		       "  WHERE c.incident_id = $1"
		       "  AND c.revoked_at IS NULL AND (c.not_after"
		       "  IS NULL OR c.not_after > certrecall_now())),"
		       " requeue AS (UPDATE scan_target t"
		       "  SET state = 'pending' FROM live"
		       "  WHERE t.incident_id = $1 AND t.probeable"
		       "  AND t.state = 'done' AND t.name = live.n"
		       "  AND (t.last_observed_at IS NULL"
		       "   OR t.last_observed_at > certrecall_now() OR CASE"
		       "   WHEN t.outcome = 'failed' THEN $3::boolean"
		       "    OR t.last_observed_at"
		       "    <= certrecall_now() - $4::interval"
		       "   ELSE t.last_observed_at"
		       "    <= certrecall_now() - $2::interval END)),"
		       " retire AS (UPDATE scan_target t SET state = 'done'"
		       "  WHERE t.incident_id = $1 AND t.state = 'pending'"
		       "  AND NOT EXISTS (SELECT 1 FROM live"
		       "  WHERE live.n = t.name))"
		       " SELECT count(*), extract(epoch FROM"
		       "  min(t.last_observed_at) + $4::interval)::bigint"
		       " FROM scan_target t JOIN live ON live.n = t.name"
		       " WHERE t.incident_id = $1 AND t.probeable"
		       " AND t.state = 'done' AND t.outcome = 'failed'"
		       " AND NOT $3::boolean AND t.last_observed_at"
		       "  > certrecall_now() - $4::interval"
		       " AND ($5::text[] IS NULL OR t.name = ANY "
		       "($5::text[]))",
		       5, q);
	if (res == NULL)
		return -1;
	*waiting = db_get_llong(res, 0, 0);
	*first = db_get_time(res, 0, 1);
	PQclear(res);
	return 0;
}

long long scan_store_due(struct db *db, long long incident_id,
			 const char *names)
{
	char id[32];
	const char *q[2] = { id, names };
	PGresult *res;
	long long due;

	if (id_text(id, sizeof(id), incident_id) < 0)
		return -1;
	res = db_query(db,
		       "SELECT count(*) FROM scan_target"
		       " WHERE incident_id = $1 AND probeable"
		       " AND state IN ('pending', 'claimed')"
		       " AND ($2::text[] IS NULL"
		       " OR name = ANY ($2::text[]))",
		       2, q);
	if (res == NULL)
		return -1;
	due = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return due;
}

int scan_store_claim(struct db *db, long long incident_id, long long max,
		     long long lease_ms, const char *worker, const char *names,
		     struct scan_store_target **out, size_t *count)
{
	char id[32], lease[48], lim[32];
	const char *params[5] = { id, lim, lease, worker, names };
	PGresult *res;
	int n;

	*out = NULL;
	*count = 0;
	if (id_text(id, sizeof(id), incident_id) < 0 ||
	    id_text(lim, sizeof(lim), max) < 0 ||
	    interval_text(lease, sizeof(lease), lease_ms) < 0)
		return -1;
	res = db_query(db,
		       "UPDATE scan_target t SET state = 'claimed',"
		       " lease_until = now() + $3::interval, worker = $4,"
		       " round = round + 1"
		       " WHERE t.id IN (SELECT id FROM scan_target"
		       "  WHERE incident_id = $1 AND probeable"
		       "  AND state IN ('pending', 'claimed')"
		       "  AND (state = 'pending' OR lease_until < now())"
		       "  AND ($5::text[] IS NULL OR name = ANY ($5::text[]))"
		       "  ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED)"
		       " RETURNING t.id, t.round, t.name, t.port, t.protocol,"
		       " array_to_string(t.probed_via, ' ')",
		       5, params);
	if (res == NULL)
		return -1;
	n = PQntuples(res);
	*out = n > 0 ? xcalloc((size_t)n, sizeof(**out)) : NULL;
	for (int i = 0; i < n; i++) {
		struct scan_store_target *t = &(*out)[i];
		const char *proto = PQgetvalue(res, i, 4);

		t->id = strtoll(PQgetvalue(res, i, 0), NULL, 10);
		t->round = atoi(PQgetvalue(res, i, 1));
		t->name = xstrdup(PQgetvalue(res, i, 2));
		t->port = atoi(PQgetvalue(res, i, 3));
		if (starttls_proto_parse(proto, strlen(proto), &t->proto) < 0)
			t->proto = STARTTLS_NONE; /* the CHECK forbids it */
		t->via = xstrdup(PQgetvalue(res, i, 5));
	}
	*count = (size_t)n;
	PQclear(res);
	return 0;
}

void scan_store_targets_free(struct scan_store_target *v, size_t n)
{
	if (v == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		free(v[i].name);
		free(v[i].via);
	}
	free(v);
}

int scan_store_affected(struct db *db, long long incident_id,
			const struct certinfo *const *cis, size_t n,
			char ***names)
{
	json_t *arr = json_array();
	char id[32], *param;
	const char *params[2] = { id, NULL };
	PGresult *res;

	*names = xcalloc(n + 1, sizeof(**names));
	for (size_t i = 0; i < n; i++) {
		const struct certinfo *ci = cis[i];
		char h[2 * SERIAL_STORED_MAX + 1], aki[2 * sizeof(ci->aki) + 1];
		char sha[65];

		if (ci == NULL)
			continue;
		hex_encode(ci->serial.b, ci->serial.len, h);
		hex_encode(ci->aki, ci->aki_len, aki);
		hex_encode(ci->sha256, 32, sha);
		json_array_append_new(
			arr, json_pack("{s:I,s:s,s:s,s:s,s:s}", "i",
				       (json_int_t)i, "serial", h, "issuer",
				       ci->issuer, "aki", aki, "sha256", sha));
	}
	if (json_array_size(arr) == 0) {
		json_decref(arr);
		return 0;
	}
	if (id_text(id, sizeof(id), incident_id) < 0) {
		json_decref(arr);
		return -1;
	}
	param = json_dumps(arr, JSON_COMPACT);
	json_decref(arr);
	/* JSON text -> rows: parsed by the server, no pasting. */
	params[1] = param;
	res = db_query(
		db,
		"SELECT x.i, string_agg(c.names::text, ',') FROM"
		" json_to_recordset($2::json) AS x(i int, serial text,"
		" issuer text, aki text, sha256 text)"
		" JOIN certificate c ON c.incident_id = $1"
		" AND c.serial = decode(x.serial, 'hex')"
		" WHERE certificate_served_match(c, decode(x.serial, 'hex'),"
		" x.issuer, nullif(decode(x.aki, 'hex'), ''::bytea),"
		" decode(x.sha256, 'hex')) IS NOT NULL GROUP BY x.i",
		2, params);
	free(param);
	if (res == NULL)
		return -1;
	for (int r = 0; r < PQntuples(res); r++) {
		long long i = db_get_llong(res, r, 0);

		if (i >= 0 && (size_t)i < n && !PQgetisnull(res, r, 1)) {
			free((*names)[i]);
			(*names)[i] = xstrdup(PQgetvalue(res, r, 1));
		}
	}
	PQclear(res);
	return 0;
}

void scan_store_names_free(char **names, size_t n)
{
	if (names == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

struct db_copy *scan_store_batch_begin(struct db *db)
{
	struct db_copy *c;

	if (db_begin(db) < 0)
		return NULL;
	c = db_copy_begin(
		db, "COPY observation (target_id, round, worker, address,"
		    " port, protocol, probed_name, verdict, served_serial,"
		    " served_issuer,"
		    " served_subject, served_names, served_not_before,"
		    " served_not_after, served_sha256, tls_version,"
		    " error_detail, elapsed_ms) FROM STDIN");
	if (c == NULL)
		db_rollback(db);
	return c;
}

int scan_store_batch_add(struct db_copy *c,
			 const struct scan_store_observation *o)
{
	const struct certinfo *ci = o->served;

	db_copy_llong(c, o->target_id);
	db_copy_llong(c, o->round);
	db_copy_text(c, o->worker);
	db_copy_text(c, o->address);
	db_copy_llong(c, o->port);
	db_copy_text(c, o->protocol);
	db_copy_text(c, o->probed_name);
	db_copy_text(c, o->verdict);
	if (ci != NULL) {
		db_copy_bytea(c, ci->serial.b, ci->serial.len);
		db_copy_text(c, ci->issuer);
		db_copy_text(c, ci->subject);
		db_copy_array(c, (const char *const *)ci->names, ci->nnames);
		db_copy_time(c, ci->not_before);
		db_copy_time(c, ci->not_after);
		db_copy_bytea(c, ci->sha256, 32);
	} else {
		for (int k = 0; k < 7; k++)
			db_copy_text(c, NULL);
	}
	db_copy_text(c, o->tls_version);
	db_copy_text(c, o->error);
	db_copy_llong(c, o->elapsed_ms);
	return db_copy_row_end(c);
}

/* Adds the outcomes of finished targets (outcome, failure rows). */
static void count_outcomes(const PGresult *res, struct scan_store_outcomes *out)
{
	for (int r = 0; r < PQntuples(res); r++) {
		const char *o = PQgetvalue(res, r, 0);
		enum classify_verdict v;

		if (strcmp(o, "answered") == 0) {
			out->answered++;
		} else if (strcmp(o, "failed") == 0) {
			out->failed++;
			if (classify_verdict_parse(PQgetvalue(res, r, 1), &v) ==
			    0)
				out->failed_by[v]++;
		} else if (strcmp(o, "filtered") == 0) {
			out->filtered++;
		}
	}
}

int scan_store_batch_end(struct db *db, struct db_copy *c, const char *worker,
			 const long long *done, size_t ndone,
			 struct scan_store_outcomes *out)
{
	json_t *arr = json_array();
	char *done_param = NULL;
	const char *params[2] = { NULL, worker };
	PGresult *res;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (db_copy_end(c, NULL, NULL) < 0) {
		db_rollback(db);
		goto out;
	}
	for (size_t i = 0; i < ndone; i++)
		json_array_append_new(arr, json_integer(done[i]));
	done_param = json_dumps(arr, JSON_COMPACT);
	params[0] = done_param;
	/* The round's outcome: scan_round_outcome(), 011. */
	res = db_query(db,
		       "UPDATE scan_target t SET state = 'done',"
		       " lease_until = NULL, last_observed_at = "
		       "certrecall_now(),"
		       " (outcome, failure) = (SELECT r.outcome, r.failure"
		       "  FROM scan_round_outcome(t.id, t.round) r)"
		       " WHERE id IN (SELECT x::bigint FROM"
		       " json_array_elements_text($1::json) x)"
		       " AND state = 'claimed' AND worker = $2"
		       " RETURNING coalesce(t.outcome, ''),"
		       " coalesce(t.failure, '')",
		       2, params);
	if (res == NULL) {
		db_rollback(db);
		goto out;
	}
	if (db_commit(db) < 0) {
		PQclear(res);
		goto out;
	}
	count_outcomes(res, out);
	PQclear(res);
	rc = 0;
out:
	free(done_param);
	json_decref(arr);
	return rc;
}

long long scan_store_give_back(struct db *db, const struct config *cfg,
			       const char *worker)
{
	static const char sql[] =
		"WITH mine AS (SELECT id, round FROM scan_target"
		"  WHERE worker = $1 AND state = 'claimed' FOR UPDATE),"
		" partial AS (DELETE FROM observation o USING mine"
		"  WHERE o.target_id = mine.id AND o.round = mine.round)"
		" UPDATE scan_target t SET state = 'pending',"
		" lease_until = NULL, round = t.round - 1"
		" FROM mine WHERE t.id = mine.id";
	const char *params[1] = { worker };
	PGresult *res = NULL;
	long long n;

	if (db != NULL && db_ok(db))
		res = db_query(db, sql, 1, params);
	if (res == NULL) {
		struct db *other = db_connect_config(cfg);

		if (other == NULL)
			return -1;
		res = db_query(other, sql, 1, params);
		db_close(other);
		if (res == NULL)
			return -1;
	}
	n = strtoll(PQcmdTuples(res), NULL, 10);
	PQclear(res);
	return n;
}

int scan_store_leases(struct db *db, long long incident_id, const char *own,
		      const char *names, struct scan_store_leases *out)
{
	char id[32];
	const char *params[3] = { id, own, names };
	PGresult *res;
	int rows;

	memset(out, 0, sizeof(*out));
	if (id_text(id, sizeof(id), incident_id) < 0)
		return -1;
	res = db_query(db,
		       "SELECT worker, count(*),"
		       " extract(epoch FROM max(lease_until))::bigint"
		       " FROM scan_target WHERE incident_id = $1 AND probeable"
		       " AND state = 'claimed' AND lease_until >= now()"
		       " AND NOT (worker = ANY ($2::text[]))"
		       " AND ($3::text[] IS NULL OR name = ANY ($3::text[]))"
		       " GROUP BY worker ORDER BY 2 DESC, 1",
		       3, params);
	if (res == NULL)
		return -1;
	rows = PQntuples(res);
	for (int r = 0; r < rows; r++) {
		time_t t = (time_t)db_get_llong(res, r, 2);

		out->targets += db_get_llong(res, r, 1);
		if (t > out->until)
			out->until = t;
	}
	out->workers = rows;
	if (rows > 0 && snprintf(out->first, sizeof(out->first), "%.60s",
				 PQgetvalue(res, 0, 0)) < 0)
		out->first[0] = '\0';
	PQclear(res);
	return 0;
}
