/*
 * serve_report.c - GET /api/incidents/SLUG/report.{md,html,json,csv}:
 * the incident's report for staff, made on request from PostgreSQL with
 * report_store_gather() and the report writers, exactly as `certrecall
 * report SLUG --format F` prints it at this moment (clock_now()).  The
 * same bearer token as /status.  Reads only: unlike the command, it
 * records no audit event.
 */
#include <microhttpd.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "certrecall/base/clock.h"
#include "certrecall/base/log.h"
#include "certrecall/core/config.h"
#include "certrecall/core/report.h"
#include "certrecall/stage/serve_report.h"
#include "certrecall/store/incident.h"
#include "certrecall/store/report_store.h"

/* A report may carry inline style and SVG, never a script: its own CSP. */
static const char report_csp[] =
	"default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
	"base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

bool serve_report_token_ok(struct serve *s, struct MHD_Connection *c)
{
	const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
						    "Authorization");
	unsigned char d[32];
	int ok = 0;

	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0)
		return false;
	h += 7;
	SHA256((const unsigned char *)h, strlen(h), d);
	/* no early exit: the same work for every token */
	for (size_t i = 0; i < s->ntokens; i++)
		ok |= CRYPTO_memcmp(d, s->tokens[i].hash, 32) == 0;
	return ok != 0;
}

static const struct {
	const char *name;
	enum report_format format;
	const char *type;
} formats[] = {
	{ "md", REPORT_MD, "text/markdown; charset=utf-8" },
	{ "html", REPORT_HTML, "text/html; charset=utf-8" },
	{ "json", REPORT_JSON, "application/json" },
	{ "csv", REPORT_CSV, "text/csv; charset=utf-8" },
};

/* The report of inc into a malloc'd buffer (*body, *len); 0 or -1. */
static int render(struct serve *s, struct db *db, const struct incident *inc,
		  enum report_format f, char **body, size_t *len)
{
	struct report *rep;
	FILE *out;
	int rc = -1;

	*body = NULL;
	*len = 0;
	rep = report_store_gather(
		db, inc, clock_now(), s->cfg->report.organization,
		f == REPORT_CSV ? REPORT_HEADER : REPORT_FULL);
	if (rep == NULL)
		return -1;
	out = open_memstream(body, len);
	if (out == NULL) {
		report_free(rep);
		return log_error("serve: report: %m");
	}
	/* formats[] has no CCADB appendix: no threshold */
	rc = report_store_write(db, rep, inc->id, f, 0, out) < 0 ? -1 : 0;
	if (fclose(out) != 0)
		rc = -1;
	report_free(rep);
	if (rc < 0) {
		free(*body);
		*body = NULL;
	}
	return rc;
}

struct incident *serve_report_staff_incident(struct serve *s,
					     struct MHD_Connection *c,
					     struct req *r, const char *slug,
					     bool json, struct db **db,
					     enum MHD_Result *ret)
{
	struct incident *inc;

	*db = NULL;
	if (!s->staff) {
		*ret = serve_http_problem(s, c, r, MHD_HTTP_NOT_FOUND,
					  "Not Found", NULL, 0, json);
		return NULL;
	}
	if (!serve_report_token_ok(s, c)) {
		*ret = serve_http_problem(s, c, r, MHD_HTTP_UNAUTHORIZED,
					  "Unauthorized",
					  "a bearer token is needed", 0, json);
		return NULL;
	}
	*db = serve_http_db(s);
	if (*db == NULL) {
		*ret = serve_http_problem(s, c, r, MHD_HTTP_SERVICE_UNAVAILABLE,
					  "Unavailable", "try again later", 60,
					  json);
		return NULL;
	}
	inc = incident_find(*db, slug);
	if (inc == NULL)
		*ret = serve_http_problem(s, c, r, MHD_HTTP_NOT_FOUND,
					  "Not Found", "no such incident", 0,
					  json);
	return inc;
}

enum MHD_Result serve_report_handle(struct serve *s, struct MHD_Connection *c,
				    struct req *r, const char *slug,
				    const char *format)
{
	enum MHD_Result ret;
	struct incident *inc;
	struct db *db;
	char *body;
	size_t len, k;
	int rc;

	inc = serve_report_staff_incident(s, c, r, slug, true, &db, &ret);
	if (inc == NULL)
		return ret;
	for (k = 0; k < sizeof(formats) / sizeof(formats[0]); k++)
		if (strcmp(format, formats[k].name) == 0)
			break;
	if (k == sizeof(formats) / sizeof(formats[0])) {
		incident_free(inc);
		return serve_http_problem(
			s, c, r, MHD_HTTP_NOT_FOUND, "Not Found",
			"report formats: md, html, json, csv", 0, true);
	}
	if (formats[k].format == REPORT_CSV &&
	    (incident_count(db, inc) < 0 ||
	     inc->certificates > SERVE_REPORT_CSV_MAX)) {
		incident_free(inc);
		return serve_http_problem(
			s, c, r, MHD_HTTP_CONTENT_TOO_LARGE, "Too Large",
			"too many certificates for report.csv here: use "
			"certrecall report SLUG --format csv",
			0, true);
	}
	rc = render(s, db, inc, formats[k].format, &body, &len);
	incident_free(inc);
	if (rc < 0)
		return serve_http_problem(s, c, r, MHD_HTTP_SERVICE_UNAVAILABLE,
					  "Unavailable", "try again later", 60,
					  true);
	return serve_http_reply_csp(s, c, r, MHD_HTTP_OK, formats[k].type,
				    report_csp, body, len, 0);
}
