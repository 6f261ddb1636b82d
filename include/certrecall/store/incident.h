/*
 * incident - the incident rows: create, update, find, list, and the
 * revocation progress the deadline engine needs.  All queries are
 * parameterised; every change is written to the audit trail in the same
 * transaction.
 */
#ifndef CERTRECALL_INCIDENT_H
#define CERTRECALL_INCIDENT_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "certrecall/core/deadline.h"
#include "certrecall/base/xalloc.h"

struct db;

/* Times not known are DEADLINE_UNSET. */
struct incident {
	long long id;
	char *slug;
	char *title;
	char *reason; /* canonical "edition:key", e.g. "v1.6.7:5d-7" */
	time_t aware_at;
	time_t cpr_received_at;
	time_t disclosed_at;
	time_t cpr_answered_at;
	time_t first_report_at;
	time_t full_report_at;
	time_t last_update_at;
	time_t created_at;
	time_t updated_at;
	long long certificates; /* -1 until incident_count() (or the list) */
	/* closed by `incident close` (026): no longer drives ARI */
	time_t closed_at;
	char *closed_reason; /* NULL when none was given */
	/* CCADB IRG comments, oldest first (loaded by incident_find only) */
	struct deadline_comment *comments;
	size_t ncomments;
};

/* The settable fields, by name, for create/update and the event log. */
enum incident_field {
	INCIDENT_TITLE,
	INCIDENT_REASON,
	INCIDENT_AWARE_AT,
	INCIDENT_CPR_RECEIVED_AT,
	INCIDENT_DISCLOSED_AT,
	INCIDENT_CPR_ANSWERED_AT,
	INCIDENT_FIRST_REPORT_AT,
	INCIDENT_FULL_REPORT_AT,
	INCIDENT_LAST_UPDATE_AT,
	INCIDENT_NFIELDS,
};

/* Column name of a field ("aware_at"). */
CR_MUST_CHECK const char *incident_field_name(enum incident_field f);

/* A change set: value[f] is NULL when the field is not being set; times
 * are RFC 3339 UTC text, "" clears an optional time.  comment_at records
 * a comment on the incident report, comment_answered answers every
 * comment still open at that time (RFC 3339 UTC text, or NULL). */
struct incident_change {
	const char *value[INCIDENT_NFIELDS];
	const char *comment_at;
	const char *comment_answered;
};

/*
 * 0 if text holds no control character (C0, DEL, C1); else -1 with
 * "control character (U+000A) not allowed" in err.  Titles end up in
 * message bodies and headers.
 */
CR_MUST_CHECK int incident_text_check(const char *text, char *err,
				      size_t errlen);

/*
 * Inserts a new incident.  Fails (logged) if the slug exists.  Records an
 * "incident.create" event.  Returns the new id, or -1.
 */
CR_MUST_CHECK long long incident_create(struct db *db, const char *slug,
					const struct incident_change *ch);

/*
 * Applies ch to incident slug under a row lock and records an
 * "incident.update" event listing each changed field's old and new
 * value.  *changed (may be NULL) counts real changes.  0 or -1 (logged).
 */
CR_MUST_CHECK int incident_update(struct db *db, const char *slug,
				  const struct incident_change *ch,
				  int *changed);

/* Loads one incident; NULL (logged "no incident ...") if absent. */
CR_MUST_CHECK struct incident *incident_find(struct db *db, const char *slug);
void incident_free(struct incident *inc);
/* Fills inc->certificates (incident_find leaves it -1).  0 or -1. */
CR_MUST_CHECK int incident_count(struct db *db, struct incident *inc);

/* All incidents, newest aware_at first; *count set.  NULL on error. */
struct incident **incident_list(struct db *db, size_t *count);
void incident_list_free(struct incident **list, size_t count);

/*
 * Closes (closed true; reason may be NULL) or reopens incident slug
 * (026): closed_at is certrecall_now().  Records an "incident.close" or
 * "incident.reopen" event.  Already in that state: a warning, 0.  0 or
 * -1 (logged).
 */
CR_MUST_CHECK int incident_set_closed(struct db *db, const char *slug,
				      bool closed, const char *reason);

/* Fills a deadline_incident from the row (comments borrowed from inc). */
void incident_to_deadline(const struct incident *inc,
			  struct deadline_incident *out);

/*
 * Where the revocation clocks of inc start under rule: aware_at, or an
 * earlier problem report (BR 4.9.5, see deadline_revoke_start).  *from
 * (may be NULL) names the field.  Every MUST-by is counted from here.
 */
time_t incident_revoke_start(const struct incident *inc,
			     const struct deadline_rule *rule,
			     const char **from);

/*
 * Revocation progress as it stood at time at: whether there are
 * certificates, how many still need revocation (unrevoked, and not expired
 * before min(at, must_by)), and the latest revocation time by then.
 */
CR_MUST_CHECK int incident_progress(struct db *db, long long incident_id,
				    time_t must_by, time_t at,
				    struct deadline_progress *out);

/* Counts of certificates by verdict (index: enum deadline_verdict) and of
 * short-lived (exempt) certificates, as at time at. */
struct incident_verdicts {
	long long total;
	long long by_verdict[5];
	long long short_lived;
};
CR_MUST_CHECK int incident_verdicts(struct db *db, long long incident_id,
				    time_t must_by, time_t at,
				    struct incident_verdicts *out);

#endif
