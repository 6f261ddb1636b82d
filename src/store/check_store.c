/*
 * check_store.c - the incidents that list a served certificate.
 */
#include <stdlib.h>

#include "certrecall/base/hex.h"
#include "certrecall/core/certinfo.h"
#include "certrecall/core/serial.h"
#include "certrecall/store/check_store.h"
#include "certrecall/store/db.h"
#include "certrecall/store/dbq.h"
#include "certrecall/base/xalloc.h"

int check_store_incidents(struct db *db, const struct certinfo *ci,
			  struct check_store_incident **out, size_t *count)
{
	/* One probe of the (incident_id, serial, issuer) index per
	 * incident: the serial alone has no index (it would slow every
	 * import). */
	static const char sql[] =
		"SELECT i.slug, i.title, CASE WHEN c.good IS NOT NULL"
		" AND c.revocation_state = 'unknown' THEN 'good'"
		" ELSE c.revocation_state END, "
		"to_char(c.revoked_at AT TIME ZONE 'UTC', "
		"'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
		"array_to_string(c.names, ' '), c.match, c.good "
		"FROM incident i CROSS JOIN LATERAL (SELECT c.revocation_state,"
		" c.revoked_at, c.names, "
		/* revcheck's answers are evidence, not the certificate's
		 * state (only a revocation is derived into it): a good
		 * answer, the latest from OCSP, CRL or an import. */
		" (SELECT g.source || ', checked ' || to_char(g.at AT TIME"
		"  ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
		"  FROM (SELECT e.source, e.checked_at AS at"
		"   FROM revocation_evidence e WHERE e.certificate_id = c.id"
		"   AND e.status = 'good'"
		"   UNION ALL SELECT 'crl', a.fetched_at FROM crl_answer a"
		"   WHERE a.certificate_id = c.id AND a.status = 'good') g"
		"  ORDER BY g.at DESC LIMIT 1) AS good,"
		" certificate_served_match(c,"
		" decode($1, 'hex'), $2, nullif(decode($3, 'hex'), ''::bytea),"
		" decode($4, 'hex')) AS match FROM certificate c "
		"WHERE c.incident_id = i.id AND c.serial = decode($1, 'hex')) "
		"c "
		"WHERE c.match IS NOT NULL ORDER BY i.slug";
	char hex[2 * SERIAL_MAX + 1], aki[2 * sizeof(ci->aki) + 1], sha[65];
	const char *params[4] = { hex, ci->issuer, aki, sha };
	PGresult *res;
	int n;

	*out = NULL;
	*count = 0;
	serial_format_hex(&ci->serial, hex, sizeof(hex));
	hex_encode(ci->aki, ci->aki_len, aki);
	hex_encode(ci->sha256, 32, sha);
	res = db_query(db, sql, 4, params);
	if (res == NULL)
		return -1;
	n = PQntuples(res);
	*out = n > 0 ? xcalloc((size_t)n, sizeof(**out)) : NULL;
	for (int i = 0; i < n; i++) {
		struct check_store_incident *c = &(*out)[i];

		c->slug = db_get1_text(res, i, 0);
		c->title = db_get1_text(res, i, 1);
		c->revocation_state = db_get1_text(res, i, 2);
		c->revoked_at = db_get1_text(res, i, 3);
		c->names = xstrdup(PQgetvalue(res, i, 4));
		c->match = db_get1_text(res, i, 5);
		c->good_by = db_get1_text(res, i, 6);
	}
	*count = (size_t)n;
	PQclear(res);
	return 0;
}

void check_store_incidents_free(struct check_store_incident *v, size_t n)
{
	if (v == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		free(v[i].slug);
		free(v[i].title);
		free(v[i].revocation_state);
		free(v[i].revoked_at);
		free(v[i].names);
		free(v[i].match);
		free(v[i].good_by);
	}
	free(v);
}
