/*
 * incident.c - incident rows, their audit trail, and revocation progress.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "certrecall/store/db.h"
#include "certrecall/store/dbq.h"
#include "certrecall/store/incident.h"
#include "certrecall/core/verdict.h"
#include "certrecall/base/log.h"
#include "certrecall/base/utctime.h"
#include "certrecall/base/xalloc.h"

static const char *const field_names[INCIDENT_NFIELDS] = {
	[INCIDENT_TITLE] = "title",
	[INCIDENT_REASON] = "reason",
	[INCIDENT_AWARE_AT] = "aware_at",
	[INCIDENT_CPR_RECEIVED_AT] = "cpr_received_at",
	[INCIDENT_DISCLOSED_AT] = "disclosed_at",
	[INCIDENT_CPR_ANSWERED_AT] = "cpr_answered_at",
	[INCIDENT_FIRST_REPORT_AT] = "first_report_at",
	[INCIDENT_FULL_REPORT_AT] = "full_report_at",
	[INCIDENT_LAST_UPDATE_AT] = "last_update_at",
};

const char *incident_field_name(enum incident_field f)
{
	return f < INCIDENT_NFIELDS ? field_names[f] : "?";
}

int incident_text_check(const char *text, char *err, size_t errlen)
{
	const unsigned char *p = (const unsigned char *)text;
	unsigned cp;

	for (; *p != '\0'; p++) {
		cp = *p;
		/* C1 controls U+0080..U+009F are 0xc2 0x80..0x9f in UTF-8. */
		if (cp == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f)
			cp = p[1];
		else if (cp >= 0x20 && cp != 0x7f)
			continue;
		snprintf(err, errlen, "control character (U+%04X) not allowed",
			 cp);
		return -1;
	}
	return 0;
}

/* Every column of a loaded incident, times as epoch seconds.  The
 * certificate count is a full scan of the incident's certificates (about
 * a second at 3 M): only the list counts; incident_count() for one. */
#define SELECT_INCIDENT(count)                                                 \
	"SELECT i.id, i.slug, i.title, i.reason,"                              \
	" extract(epoch FROM i.aware_at)::bigint,"                             \
	" extract(epoch FROM i.cpr_received_at)::bigint,"                      \
	" extract(epoch FROM i.disclosed_at)::bigint,"                         \
	" extract(epoch FROM i.cpr_answered_at)::bigint,"                      \
	" extract(epoch FROM i.first_report_at)::bigint,"                      \
	" extract(epoch FROM i.full_report_at)::bigint,"                       \
	" extract(epoch FROM i.last_update_at)::bigint,"                       \
	" extract(epoch FROM i.created_at)::bigint,"                           \
	" extract(epoch FROM i.updated_at)::bigint, " count ","                \
	" extract(epoch FROM i.closed_at)::bigint, i.closed_reason"            \
	" FROM incident i "
static const char select_incident[] = SELECT_INCIDENT("-1::bigint");
static const char select_incident_counted[] = SELECT_INCIDENT(
	"(SELECT count(*) FROM certificate c WHERE c.incident_id = i.id)");

static struct incident *from_row(PGresult *res, int row)
{
	struct incident *inc = xcalloc(1, sizeof(*inc));
	time_t *times[] = {
		&inc->aware_at,	       &inc->cpr_received_at,
		&inc->disclosed_at,    &inc->cpr_answered_at,
		&inc->first_report_at, &inc->full_report_at,
		&inc->last_update_at,  &inc->created_at,
		&inc->updated_at,
	};

	inc->id = strtoll(PQgetvalue(res, row, 0), NULL, 10);
	inc->slug = xstrdup(PQgetvalue(res, row, 1));
	inc->title = xstrdup(PQgetvalue(res, row, 2));
	inc->reason = xstrdup(PQgetvalue(res, row, 3));
	for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++)
		*times[i] = db_get_time(res, row, 4 + (int)i);
	inc->certificates = db_get_llong(res, row, 13);
	inc->closed_at = db_get_time(res, row, 14);
	if (!PQgetisnull(res, row, 15))
		inc->closed_reason = xstrdup(PQgetvalue(res, row, 15));
	return inc;
}

void incident_free(struct incident *inc)
{
	if (inc == NULL)
		return;
	free(inc->comments);
	free(inc->slug);
	free(inc->title);
	free(inc->reason);
	free(inc->closed_reason);
	free(inc);
}

/* The comments of inc, oldest first.  0 or -1. */
static int load_comments(struct db *db, struct incident *inc)
{
	char id[32];
	const char *params[] = { id };
	PGresult *res;
	int n;

	snprintf(id, sizeof(id), "%lld", inc->id);
	res = db_query(db,
		       "SELECT extract(epoch FROM comment_at)::bigint,"
		       " extract(epoch FROM answered_at)::bigint"
		       " FROM incident_comment WHERE incident_id = $1"
		       " ORDER BY comment_at",
		       1, params);
	if (res == NULL)
		return -1;
	n = PQntuples(res);
	inc->comments = xcalloc((size_t)n + 1, sizeof(*inc->comments));
	for (int r = 0; r < n; r++) {
		inc->comments[r].comment_at = db_get_time(res, r, 0);
		inc->comments[r].answered_at = db_get_time(res, r, 1);
	}
	inc->ncomments = (size_t)n;
	PQclear(res);
	return 0;
}

static struct incident *find(struct db *db, const char *slug, bool lock)
{
	char sql[sizeof(select_incident) + 64];
	struct incident *inc = NULL;
	PGresult *res;

	snprintf(sql, sizeof(sql), "%sWHERE i.slug = $1%s", select_incident,
		 lock ? " FOR UPDATE OF i" : "");
	res = db_query(db, sql, 1, &slug);
	if (res == NULL)
		return NULL;
	if (PQntuples(res) == 1)
		inc = from_row(res, 0);
	else
		log_error("no incident \"%s\" (see 'certrecall incident list')",
			  slug);
	PQclear(res);
	if (inc != NULL && load_comments(db, inc) < 0) {
		incident_free(inc);
		inc = NULL;
	}
	return inc;
}

struct incident *incident_find(struct db *db, const char *slug)
{
	return find(db, slug, false);
}

int incident_count(struct db *db, struct incident *inc)
{
	char id[32];
	const char *params[] = { id };
	PGresult *res;

	snprintf(id, sizeof(id), "%lld", inc->id);
	res = db_query(
		db, "SELECT count(*) FROM certificate WHERE incident_id = $1",
		1, params);
	if (res == NULL)
		return -1;
	inc->certificates = db_get_llong(res, 0, 0);
	PQclear(res);
	return 0;
}

struct incident **incident_list(struct db *db, size_t *count)
{
	char sql[sizeof(select_incident_counted) + 64];
	struct incident **list;
	PGresult *res;
	int n;

	snprintf(sql, sizeof(sql), "%sORDER BY i.aware_at DESC, i.slug",
		 select_incident_counted);
	res = db_query(db, sql, 0, NULL);
	if (res == NULL)
		return NULL;
	n = PQntuples(res);
	list = xcalloc((size_t)n + 1, sizeof(*list));
	for (int i = 0; i < n; i++)
		list[i] = from_row(res, i);
	PQclear(res);
	*count = (size_t)n;
	return list;
}

void incident_list_free(struct incident **list, size_t count)
{
	if (list == NULL)
		return;
	for (size_t i = 0; i < count; i++)
		incident_free(list[i]);
	free(list);
}

/* The field's current value as text, as it would be set ("" = unset). */
static char *field_text(const struct incident *inc, enum incident_field f)
{
	const time_t times[] = {
		[INCIDENT_AWARE_AT] = inc->aware_at,
		[INCIDENT_CPR_RECEIVED_AT] = inc->cpr_received_at,
		[INCIDENT_DISCLOSED_AT] = inc->disclosed_at,
		[INCIDENT_CPR_ANSWERED_AT] = inc->cpr_answered_at,
		[INCIDENT_FIRST_REPORT_AT] = inc->first_report_at,
		[INCIDENT_FULL_REPORT_AT] = inc->full_report_at,
		[INCIDENT_LAST_UPDATE_AT] = inc->last_update_at,
	};
	char buf[UTCTIME_BUFSZ] = "";

	if (f == INCIDENT_TITLE)
		return xstrdup(inc->title);
	if (f == INCIDENT_REASON)
		return xstrdup(inc->reason);
	if (times[f] != DEADLINE_UNSET &&
	    utctime_format_rfc3339(times[f], buf, sizeof(buf)) < 0)
		buf[0] = '\0';
	return xstrdup(buf);
}

static json_t *json_text_or_null(const char *s)
{
	return s && *s ? json_string(s) : json_null();
}

long long incident_create(struct db *db, const char *slug,
			  const struct incident_change *ch)
{
	const char *params[1 + INCIDENT_NFIELDS];
	json_t *detail = json_object();
	PGresult *res;
	long long id = -1;
	char *text = NULL;

	params[0] = slug;
	json_object_set_new(detail, "slug", json_string(slug));
	for (int f = 0; f < INCIDENT_NFIELDS; f++) {
		const char *v = ch->value[f];

		params[1 + f] = v && *v ? v : NULL;
		if (params[1 + f])
			json_object_set_new(detail, field_names[f],
					    json_string(v));
	}
	if (db_begin(db) < 0)
		goto out;
	res = db_query(db, "SELECT 1 FROM incident WHERE slug = $1", 1, params);
	if (res == NULL)
		goto rollback;
	if (PQntuples(res) > 0) {
		PQclear(res);
		log_error("incident \"%s\" already exists (see 'certrecall "
			  "incident show %s')",
			  slug, slug);
		goto rollback;
	}
	PQclear(res);
	res = db_query(db,
		       "INSERT INTO incident (slug, title, reason, aware_at, "
		       "cpr_received_at, disclosed_at, cpr_answered_at, "
		       "first_report_at, full_report_at, last_update_at) "
		       "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) "
		       "RETURNING id",
		       1 + INCIDENT_NFIELDS, params);
	if (res == NULL)
		goto rollback;
	id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	text = json_dumps(detail, JSON_COMPACT | JSON_SORT_KEYS);
	if (db_event_add(db, id, "incident.create", text) < 0 ||
	    db_commit(db) < 0) {
		id = -1;
		goto rollback;
	}
	goto out;
rollback:
	db_rollback(db);
out:
	free(text);
	json_decref(detail);
	return id;
}

/*
 * Records ch's comment and answer for inc into detail.  Returns how many
 * changes were made (0..2), or -1.
 */
static int update_comments(struct db *db, const struct incident *inc,
			   const struct incident_change *ch, json_t *detail)
{
	char id[32];
	const char *params[] = { id, NULL };
	PGresult *res;
	int n = 0, k;

	snprintf(id, sizeof(id), "%lld", inc->id);
	if (ch->comment_at != NULL) {
		params[1] = ch->comment_at;
		res = db_query(db,
			       "INSERT INTO incident_comment"
			       " (incident_id, comment_at) VALUES ($1, $2)"
			       " ON CONFLICT DO NOTHING RETURNING 1",
			       2, params);
		if (res == NULL)
			return -1;
		k = PQntuples(res);
		PQclear(res);
		if (k > 0) {
			json_object_set_new(
				detail, "comment",
				json_pack("{s:s}", "at", ch->comment_at));
			n++;
		} else {
			log_warn("a comment at %s is already recorded",
				 ch->comment_at);
		}
	}
	if (ch->comment_answered != NULL) {
		params[1] = ch->comment_answered;
		res = db_query(db,
			       "UPDATE incident_comment SET answered_at = $2"
			       " WHERE incident_id = $1 AND answered_at IS NULL"
			       " AND comment_at <= $2 RETURNING 1",
			       2, params);
		if (res == NULL)
			return -1;
		k = PQntuples(res);
		PQclear(res);
		if (k > 0) {
			json_object_set_new(detail, "comment_answered",
					    json_pack("{s:s,s:i}", "at",
						      ch->comment_answered,
						      "comments", k));
			n++;
		} else {
			log_warn("no open comment made by %s to answer",
				 ch->comment_answered);
		}
	}
	return n;
}

int incident_update(struct db *db, const char *slug,
		    const struct incident_change *ch, int *changed)
{
	const char *params[1 + INCIDENT_NFIELDS];
	char sql[1024];
	size_t used;
	json_t *detail = json_object();
	struct incident *inc = NULL;
	char *old[INCIDENT_NFIELDS] = { 0 };
	char *text = NULL;
	PGresult *res;
	int n = 0, comments;
	int rc = -1;

	if (db_begin(db) < 0)
		goto out;
	inc = find(db, slug, true);
	if (inc == NULL)
		goto rollback;
	used = (size_t)snprintf(sql, sizeof(sql),
				"UPDATE incident SET updated_at = now()");
	for (int f = 0; f < INCIDENT_NFIELDS; f++) {
		const char *v = ch->value[f];
		json_t *pair;

		if (v == NULL)
			continue;
		old[f] = field_text(inc, (enum incident_field)f);
		if (strcmp(old[f], v) == 0)
			continue;
		if (f == INCIDENT_AWARE_AT && *v == '\0') {
			log_error("aware_at cannot be cleared: every clock "
				  "starts there");
			goto rollback;
		}
		params[1 + n] = *v ? v : NULL;
		n++;
		/* Column names come from our table, values are $n. */
		used += (size_t)snprintf(sql + used, sizeof(sql) - used,
					 ", %s = $%d", field_names[f], 1 + n);
		pair = json_pack("{s:o,s:o}", "old", json_text_or_null(old[f]),
				 "new", json_text_or_null(v));
		json_object_set_new(detail, field_names[f], pair);
	}
	if (n > 0) {
		params[0] = slug;
		snprintf(sql + used, sizeof(sql) - used, " WHERE slug = $1");
		res = db_query(db, sql, 1 + n, params);
		if (res == NULL)
			goto rollback;
		PQclear(res);
	}
	comments = update_comments(db, inc, ch, detail);
	if (comments < 0)
		goto rollback;
	if (n + comments > 0) {
		text = json_dumps(detail, JSON_COMPACT | JSON_SORT_KEYS);
		if (db_event_add(db, inc->id, "incident.update", text) < 0)
			goto rollback;
	}
	if (db_commit(db) < 0)
		goto out;
	if (changed)
		*changed = n + comments;
	rc = 0;
	goto out;
rollback:
	db_rollback(db);
out:
	for (int f = 0; f < INCIDENT_NFIELDS; f++)
		free(old[f]);
	free(text);
	json_decref(detail);
	incident_free(inc);
	return rc;
}

/*
 * Sets or clears closed_at (certrecall_now(): the rehearsal clock when
 * set) and closed_reason under a row lock, with an "incident.close" or
 * "incident.reopen" event.  Closing a closed incident, or reopening an
 * open one, changes nothing and says so.
 */
int incident_set_closed(struct db *db, const char *slug, bool closed,
			const char *reason)
{
	const char *params[2] = { slug, reason };
	char when[UTCTIME_BUFSZ] = "";
	struct incident *inc = NULL;
	json_t *detail = NULL;
	char *text = NULL;
	PGresult *res;
	int rc = -1;

	if (db_begin(db) < 0)
		goto out;
	inc = find(db, slug, true);
	if (inc == NULL)
		goto rollback;
	if ((inc->closed_at != DEADLINE_UNSET) == closed) {
		log_warn("incident %s is already %s", slug,
			 closed ? "closed" : "open");
		db_rollback(db);
		rc = 0;
		goto out;
	}
	res = db_query(
		db,
		closed ? "UPDATE incident SET closed_at = "
			 "certrecall_now(), closed_reason = $2,"
			 " updated_at = now() WHERE slug = $1"
			 " RETURNING extract(epoch FROM closed_at)::bigint"
		       : "UPDATE incident SET closed_at = NULL,"
			 " closed_reason = NULL, updated_at = now()"
			 " WHERE slug = $1 RETURNING ''",
		closed ? 2 : 1, params);
	if (res == NULL)
		goto rollback;
	if (closed && utctime_format_rfc3339(db_get_time(res, 0, 0), when,
					     sizeof(when)) < 0)
		when[0] = '\0';
	detail = closed ? json_pack("{s:s,s:o}", "closed_at", when, "reason",
				    json_text_or_null(reason))
			: json_object();
	PQclear(res);
	text = json_dumps(detail, JSON_COMPACT | JSON_SORT_KEYS);
	if (db_event_add(db, inc->id,
			 closed ? "incident.close" : "incident.reopen",
			 text) < 0 ||
	    db_commit(db) < 0)
		goto rollback;
	rc = 0;
	goto out;
rollback:
	db_rollback(db);
out:
	free(text);
	json_decref(detail);
	incident_free(inc);
	return rc;
}

void incident_to_deadline(const struct incident *inc,
			  struct deadline_incident *out)
{
	deadline_incident_init(out, inc->aware_at);
	out->cpr_received_at = inc->cpr_received_at;
	out->disclosed_at = inc->disclosed_at;
	out->cpr_answered_at = inc->cpr_answered_at;
	out->first_report_at = inc->first_report_at;
	out->full_report_at = inc->full_report_at;
	out->last_update_at = inc->last_update_at;
	out->comments = inc->comments;
	out->ncomments = inc->ncomments;
}

time_t incident_revoke_start(const struct incident *inc,
			     const struct deadline_rule *rule,
			     const char **from)
{
	struct deadline_incident d;

	incident_to_deadline(inc, &d);
	return deadline_revoke_start(&d, rule, from);
}

int incident_progress(struct db *db, long long incident_id, time_t must_by,
		      time_t at, struct deadline_progress *out)
{
	char id[32], when[UTCTIME_BUFSZ], must[UTCTIME_BUFSZ];
	const char *params[] = { id, when, must };
	PGresult *res;

	snprintf(id, sizeof(id), "%lld", incident_id);
	if (utctime_format_rfc3339(at, when, sizeof(when)) < 0 ||
	    utctime_format_rfc3339(must_by, must, sizeof(must)) < 0)
		return log_error("time out of range");
	/*
	 * Still to revoke: not revoked by $2, and not expired before the
	 * revocation was due.  A certificate that outlived MUST-by unrevoked
	 * and expired since still counts: its deadline was missed.
	 */
	/* As it stood at $2: later revocations had not happened yet. */
	res = db_query(db,
		       "SELECT count(*),"
		       " count(*) FILTER (WHERE"
		       "  (revoked_at IS NULL OR revoked_at > $2::timestamptz)"
		       "  AND (not_after IS NULL OR not_after >"
		       "       least($2::timestamptz, $3::timestamptz))),"
		       " extract(epoch FROM max(revoked_at) FILTER"
		       "  (WHERE revoked_at <= $2::timestamptz))::bigint"
		       " FROM certificate WHERE incident_id = $1",
		       3, params);
	if (res == NULL)
		return -1;
	out->has_certs = db_get_llong(res, 0, 0) > 0;
	out->unrevoked = db_get_llong(res, 0, 1);
	out->last_revoked_at = db_get_time(res, 0, 2);
	PQclear(res);
	return 0;
}

int incident_verdicts(struct db *db, long long incident_id, time_t must_by,
		      time_t at, struct incident_verdicts *out)
{
	char id[32];
	const char *params[] = { id };
	PGresult *res;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	snprintf(id, sizeof(id), "%lld", incident_id);
	if (db_begin(db) < 0)
		return -1;
	/*
	 * The verdict rules live in one place, verdict_cert(); the rows
	 * stream through it in batches so memory stays flat.
	 */
	res = db_query(db,
		       "DECLARE verdicts NO SCROLL CURSOR FOR"
		       " SELECT extract(epoch FROM revoked_at)::bigint,"
		       " extract(epoch FROM issued_at)::bigint,"
		       " extract(epoch FROM not_after)::bigint"
		       " FROM certificate WHERE incident_id = $1",
		       1, params);
	if (res == NULL)
		goto out;
	PQclear(res);
	for (;;) {
		int n;

		res = db_query(db, "FETCH 50000 FROM verdicts", 0, NULL);
		if (res == NULL)
			goto out;
		n = PQntuples(res);
		for (int r = 0; r < n; r++) {
			struct deadline_cert c = {
				.revoked_at = db_get_time(res, r, 0),
				.not_before = db_get_time(res, r, 1),
				.not_after = db_get_time(res, r, 2),
			};

			out->by_verdict[verdict_cert(&c, must_by, at)]++;
			out->short_lived += deadline_cert_short_lived(&c);
			out->total++;
		}
		PQclear(res);
		if (n == 0)
			break;
	}
	rc = 0;
out:
	db_rollback(db); /* read-only: closes the cursor */
	return rc;
}
