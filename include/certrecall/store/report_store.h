/*
 * report_store - reading an incident from the database into the report
 * model (core/report.h), and the per-certificate outputs that stream from
 * the server with COPY.
 */
#ifndef CERTRECALL_REPORT_STORE_H
#define CERTRECALL_REPORT_STORE_H

#include <stdio.h>
#include <time.h>

#include "certrecall/core/report.h"
#include "certrecall/base/xalloc.h"

struct db;
struct incident;

/* What report_store_gather() reads; each level includes the one before. */
enum report_depth {
	REPORT_HEADER,	/* incident, rule, clocks, certificate count */
	REPORT_FIGURES, /* every figure but the two below */
	REPORT_FULL,	/* also distinct names and contact addresses */
};

/*
 * Reads incident inc as it stood at time at (revocations after at have
 * not happened yet), to the given depth: the per-certificate outputs need
 * only the header, the dashboard the figures (distinct names cost a pass
 * over every name: seconds at millions).  Figures not read are -1.  NULL
 * on error (logged).
 */
CR_MUST_CHECK struct report *
report_store_gather(struct db *db, const struct incident *inc, time_t at,
		    const char *organization, enum report_depth depth);
/*
 * Per-certificate CSV (every certificate, its verdict and deployment), or
 * the CCADB appendix: the 11-column CSV below threshold certificates,
 * else one https://crt.sh/?sha256= line each.  Streams from the server;
 * columns the imported data could not fill are named on stderr.
 * Returns the number of rows written, or -1.
 */
CR_MUST_CHECK long long report_store_certificates(struct db *db,
						  const struct report *r,
						  long long incident_id,
						  FILE *out);
/* Every audit-trail event of the incident up to r->at, oldest first, as
 * CSV (at with microseconds, kind, actor, host, command, detail as
 * JSON).  Rows written, or -1. */
CR_MUST_CHECK long long report_store_events(struct db *db,
					    const struct report *r,
					    long long incident_id, FILE *out);
CR_MUST_CHECK long long report_store_ccadb(struct db *db,
					   const struct report *r,
					   long long incident_id,
					   long long threshold, FILE *out);
/*
 * The subscribers no notice reached by r->at, as the CCADB incident
 * report's appendix lists them (docs/report.md, "Subscribers not
 * reached"): one CSV row per certificate and contact address (or
 * account without any) with the reason (bounced, unreachable, failed,
 * no-address), when, the status code and the diagnostic.  Streams from
 * the server.  Rows written, or -1.
 */
CR_MUST_CHECK long long report_store_unreached(struct db *db,
					       const struct report *r,
					       long long incident_id,
					       FILE *out);
/*
 * The report r in format f to out: the Markdown, HTML and JSON reports
 * from r itself, the CSV lists streamed from the server (threshold is
 * the CCADB appendix's, see report_store_ccadb).  Rows written for the
 * lists, 0 for the reports, or -1.
 */
CR_MUST_CHECK long long
report_store_write(struct db *db, const struct report *r, long long incident_id,
		   enum report_format f, long long threshold, FILE *out);
/* Fills r->unreached and r->unreached_rows from the same rows.  0 or -1
 * (logged). */
CR_MUST_CHECK int report_store_unreached_count(struct db *db, struct report *r,
					       long long incident_id);

#endif
