/*
 * bounce_store.c - a delivery status notification's effect on a notice.
 */
#include <stdio.h>

#include "certrecall/store/bounce_store.h"
#include "certrecall/store/db.h"
#include "certrecall/store/dbq.h"
#include "certrecall/base/log.h"

/* The incident the notice belongs to comes back in the last column, so a
 * bounce about another incident is told apart. */
int bounce_store_record(struct db *db, long long incident_id,
			long long notice_id, const char *action,
			const char *status, const char *diagnostic,
			struct bounce_store_result *out)
{
	static const char sql[] =
		"WITH upd AS (UPDATE notice SET delivery = $3,"
		" delivery_status = nullif($4, ''),"
		" delivery_diagnostic = nullif($5, ''),"
		" delivery_at = certrecall_now()"
		" WHERE id = $2 AND incident_id = $1 AND address IS NOT NULL"
		" AND coalesce(array_position(ARRAY['delayed', 'relayed',"
		" 'delivered', 'bounced'], delivery), 0) < array_position("
		"ARRAY['delayed', 'relayed', 'delivered', 'bounced'],"
		" $3::text)"
		" RETURNING id, address),"
		" unr AS (INSERT INTO unreachable_address (incident_id, "
		"address,"
		" notice_id, status, diagnostic, recorded_at)"
		" SELECT $1, address, id, $4, nullif($5, ''), certrecall_now()"
		" FROM upd WHERE $3 = 'bounced' AND $4 LIKE '5.%'"
		" ON CONFLICT DO NOTHING RETURNING address),"
		" dq AS (DELETE FROM notice_queue q USING notice n, unr"
		" WHERE q.notice_id = n.id AND n.incident_id = $1"
		" AND n.address = unr.address AND n.kind = 'reminder'"
		" AND q.state <> 'claimed' RETURNING q.notice_id),"
		" st AS (UPDATE notice SET state = 'unreachable'"
		" WHERE id IN (SELECT notice_id FROM dq)"
		" AND state IN ('pending', 'retry') RETURNING id)"
		" SELECT (SELECT count(*) FROM upd), (SELECT count(*) FROM "
		"unr),"
		" (SELECT count(*) FROM st),"
		" (SELECT incident_id FROM notice WHERE id = $2)";
	char id[32], notice[32];
	const char *params[5] = { id, notice, action, status, diagnostic };
	PGresult *res;

	*out = (struct bounce_store_result){ 0 };
	if (snprintf(id, sizeof(id), "%lld", incident_id) >= (int)sizeof(id) ||
	    snprintf(notice, sizeof(notice), "%lld", notice_id) >=
		    (int)sizeof(notice))
		return log_error("bounces: id too long");
	res = db_query(db, sql, 5, params);
	if (res == NULL)
		return -1;
	out->ours = !PQgetisnull(res, 0, 3) &&
		    db_get_llong(res, 0, 3) == incident_id;
	if (out->ours) {
		out->changed = db_get_llong(res, 0, 0);
		out->unreachable = db_get_llong(res, 0, 1);
		out->dropped = db_get_llong(res, 0, 2);
	}
	PQclear(res);
	return 0;
}
