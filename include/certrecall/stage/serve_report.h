/*
 * serve_report - the staff report endpoints of `certrecall serve`:
 * GET /api/incidents/SLUG/report.{md,html,json,csv}, the incident's
 * report made on request from PostgreSQL by the same code as
 * `certrecall report`.  Internal to the serve stage.
 */
#ifndef CERTRECALL_SERVE_REPORT_H
#define CERTRECALL_SERVE_REPORT_H

#include <microhttpd.h>
#include <stdbool.h>

#include "certrecall/stage/serve_http.h"

/* Certificates above which report.csv is refused (it is built in memory);
 * `certrecall report SLUG --format csv` streams any number. */
#define SERVE_REPORT_CSV_MAX 200000

/* Whether the bearer token of the request is one of tokens_file's
 * (constant time over every stored token). */
bool serve_report_token_ok(struct serve *s, struct MHD_Connection *c);

/*
 * The staff endpoints' common start: staff access configured, the bearer
 * token, a database connection, the incident.  The incident (free with
 * incident_free) and *db; NULL when it has answered the request already
 * (404, 401 or 503, as JSON when json), *ret then set.
 */
struct incident *serve_report_staff_incident(struct serve *s,
					     struct MHD_Connection *c,
					     struct req *r, const char *slug,
					     bool json, struct db **db,
					     enum MHD_Result *ret);

/* Answers one report request; slug and format ("md", "html", "json",
 * "csv") as parsed from the path.  The caller checked nothing. */
enum MHD_Result serve_report_handle(struct serve *s, struct MHD_Connection *c,
				    struct req *r, const char *slug,
				    const char *format);

#endif
