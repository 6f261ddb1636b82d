/*
 * status_store.c - the raw counts under the status dashboard.
 */
#include <stdio.h>
#include <stdlib.h>

#include "certrecall/store/db.h"
#include "certrecall/store/dbq.h"
#include "certrecall/store/status_store.h"
#include "certrecall/base/log.h"
#include "certrecall/base/xalloc.h"

/* By enum status_store_group.  Outcomes as the first wave defined them
 * (sql/011): refused and nxdomain are answers, only a failed outcome is
 * a failure. */
static const char *const group_sql[] = {
	[STATUS_STORE_NOTICES] =
		"SELECT kind || ' ' || state, count(*) FROM notice"
		" WHERE incident_id = $1 GROUP BY kind, state"
		" ORDER BY kind, state",
	[STATUS_STORE_NAMES_SCREEN] =
		"SELECT coalesce(outcome || coalesce(' ' || failure,"
		" ''), 'not yet tried'), count(*) FROM scan_target"
		" WHERE incident_id = $1 AND probeable"
		" GROUP BY 1 ORDER BY 2 DESC, 1",
	[STATUS_STORE_PROBES_SCREEN] =
		"SELECT o.verdict, count(*) FROM scan_target t"
		" JOIN observation o ON o.target_id = t.id AND o.round = "
		"t.round"
		" WHERE t.incident_id = $1 GROUP BY o.verdict ORDER BY 2 DESC",
	[STATUS_STORE_NAMES] =
		"SELECT coalesce(outcome, 'not_tried'), failure, count(*)"
		" FROM scan_target WHERE incident_id = $1 AND probeable"
		" GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2",
	[STATUS_STORE_PROBES] =
		"SELECT o.verdict, count(*) FROM scan_target t"
		" JOIN observation o ON o.target_id = t.id"
		" AND o.round = t.round WHERE t.incident_id = $1"
		" GROUP BY o.verdict ORDER BY 2 DESC, 1",
};

int status_store_counts(struct db *db, long long incident_id,
			enum status_store_group g,
			struct status_store_count **out, size_t *count)
{
	char id[32];
	const char *params[1] = { id };
	PGresult *res;
	int n, cols;

	*out = NULL;
	*count = 0;
	if ((size_t)g >= sizeof(group_sql) / sizeof(group_sql[0]))
		return log_error("status: no such count (%d)", (int)g);
	if (snprintf(id, sizeof(id), "%lld", incident_id) >= (int)sizeof(id))
		return log_error("status: incident id too long");
	res = db_query(db, group_sql[g], 1, params);
	if (res == NULL)
		return -1;
	n = PQntuples(res);
	cols = PQnfields(res);
	*out = xcalloc((size_t)n + 1, sizeof(**out));
	for (int i = 0; i < n; i++) {
		struct status_store_count *c = &(*out)[i];

		c->label = xstrdup(PQgetvalue(res, i, 0));
		if (cols == 3)
			c->failure = db_get1_text(res, i, 1);
		c->count = db_get_llong(res, i, cols - 1);
	}
	*count = (size_t)n;
	PQclear(res);
	return 0;
}

void status_store_counts_free(struct status_store_count *v, size_t n)
{
	if (v == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		free(v[i].label);
		free(v[i].failure);
	}
	free(v);
}
