/*
 * report - the incident as compliance staff and the person on call see
 * it: every figure computed from the database and the deadline engine,
 * never typed by hand.
 *
 * report_store_gather() (store/report_store.h) reads one incident into a struct report (a few dozen
 * aggregate rows whatever the incident's size); the renderers turn that
 * into Markdown, one self-contained HTML page, JSON or the terminal
 * dashboard without any I/O but the FILE they write to, so they are unit
 * tested on hand-built reports.  The per-certificate outputs (CSV and the
 * CCADB appendix) stream from the server with COPY and never hold the
 * rows in memory.
 */
#ifndef CERTRECALL_REPORT_H
#define CERTRECALL_REPORT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <time.h>

#include "certrecall/core/classify.h"
#include "certrecall/core/deadline.h"

enum report_format {
	REPORT_MD,
	REPORT_HTML,
	REPORT_JSON,
	REPORT_CSV,
	REPORT_CCADB,
	REPORT_EVENTS,	  /* the whole audit trail, CSV */
	REPORT_UNREACHED, /* the subscribers not reached, CSV (issue 21) */
};

/* Audit-trail events a report's timeline shows at most (half from each
 * end); the rest are counted and listed by REPORT_EVENTS. */
#define REPORT_TIMELINE_EVENTS 5000

/* Deployment of a certificate from its names' latest probes. */
enum report_deploy {
	REPORT_DEPLOYED,
	REPORT_REPLACED,
	REPORT_UNKNOWN,
	REPORT_NOT_SCANNED,
	REPORT_NDEPLOY,
};

/* Hours between an address's first sent notice and MUST-by. */
#define REPORT_WARN_BUCKETS 9

#define REPORT_KINDS 3	/* initial, reminder, revoked */
#define REPORT_STATES 6 /* pending, claimed, sent, retry, failed, no-address */

/* One timeline line: a milestone or an event of the audit trail. */
struct report_entry {
	time_t at;
	char *what; /* owned; plain text, escaped by each renderer */
	/* Events of one kind in a row collapse into one line ("scan: 12
	 * runs, 6,670 names, ..."): group names the kind (static, NULL for
	 * milestones, never collapsed), count and unit what each adds. */
	const char *group;
	long long count;
	const char *unit; /* static, e.g. "names" */
};

/* Revocations in one time bucket (for the chart), cumulative count. */
struct report_point {
	time_t at;
	long long cumulative;
};

/* The last thing each stage did. */
struct report_stage {
	const char *name; /* static: "import", "scan", ... */
	time_t at;	  /* DEADLINE_UNSET if never */
	char *detail;	  /* owned, may be NULL */
};

#define REPORT_NSTAGES 5

/* Why a subscriber was not reached, in order of precedence. */
#define REPORT_UNREACHED_REASONS 4

struct report {
	/* incident and rule */
	char *slug, *title, *reason, *organization;
	struct deadline_rule rule;
	struct deadline_incident dates;
	time_t at; /* the moment the report describes */
	time_t should_by, must_by;
	struct deadline_clock clocks[DEADLINE_MAX_CLOCKS];
	int nclocks;

	/* impact */
	long long certificates, precertificates, accounts, addresses, names;
	long long still_valid; /* neither revoked nor expired at `at` */
	long long by_verdict[5];
	long long short_lived;
	long long deploy[REPORT_NDEPLOY];	    /* every certificate */
	long long deploy_unrevoked[REPORT_NDEPLOY]; /* still to revoke */
	long long scan_targets, scanned_targets;
	/* Coverage is answers, not attempts: probeable targets by the
	 * outcome of their latest round (sql/011_scan_outcome.sql); the
	 * rest are not yet tried.  Failed ones by their commonest verdict. */
	long long scan_answered, scan_failed, scan_filtered;
	long long scan_failed_by[CLASSIFY_NVERDICTS];
	time_t latest_scan_at;
	/* Targets serving an affected certificate in their latest round,
	 * "name:port/protocol", and on how many of their addresses: the
	 * first 50 by name of nserved_on_all. */
	struct report_served {
		char *target;
		char *via; /* a wildcard's probed names ("a.x, www.x"), or NULL */
		/* probes that reached an address and of them served it */
		long long served, addresses;
		/* probed names (a wildcard's) that had no address (nxdomain),
		 * and that DNS did not answer (dns-error, DNS timeout) */
		long long no_address, unresolved;
	} * served_on;
	size_t nserved_on;
	long long nserved_on_all;

	/* notification */
	long long notices[REPORT_KINDS][REPORT_STATES];
	long long no_address_accounts;
	/* told, bounced, unreachable, no address (020 notice_reach), and
	 * of the told, confirmed delivered by a positive DSN (025) */
	long long reach[5];
	long long addresses_notified;	/* at least one notice sent */
	long long addresses_unnotified; /* none sent yet */
	time_t first_sent_at, last_sent_at;
	long long warn_hist[REPORT_WARN_BUCKETS];
	double warn_min_h, warn_median_h, warn_max_h; /* valid if notified */

	/* revocation */
	time_t first_revoked_at, last_revoked_at;
	struct report_point *revoked_curve;
	size_t ncurve;
	long long conflicts; /* certificates whose sources disagree */

	/* Burn-down: certificates still to revoke (not revoked, and not
	 * expired before revocation was due: incident_progress()'s and so
	 * `deadlines`' definition) from aware_at to `at`.  burn[i] is how
	 * many had left by burn[i].at; left_* are exact counts, -1 when the
	 * moment is after `at` (not known yet). */
	long long burn_start; /* still to revoke at aware_at */
	struct report_point *burn;
	size_t nburn;
	long long left_should, left_must, left_at;

	/* Notification progress: notices sent, failed and accounts found
	 * without an address, cumulative, by the same steps up to `at`. */
	struct report_notify_point {
		time_t at;
		long long sent, failed, no_address;
	} * notify_curve;
	size_t nnotify;

	/* audit trail */
	long long events;		 /* audit-trail events up to `at` */
	long long rehearsal_events;	 /* recorded under CERTRECALL_CLOCK */
	long long omitted_events;	 /* not in the timeline; 0 if none */
	time_t omitted_from, omitted_to; /* their first and last times */
	struct report_entry *timeline;
	size_t ntimeline;
	struct report_stage stages[REPORT_NSTAGES];

	/* Subscribers not reached (issue 21; report --format unreached
	 * lists them): distinct certificates by reason (bounced,
	 * unreachable, failed, no address: report_unreached_name()), then
	 * all of them; rows of the list (a certificate and a contact).
	 * Gathered for REPORT_FULL only, else -1. */
	long long unreached[REPORT_UNREACHED_REASONS + 1];
	long long unreached_rows;
};

/*
 * Axis ticks by the nice-number rule: a step of 1, 2 or 5 times a power
 * of ten for counts; for times a step from 1 minute to 7 days that a
 * person counts in (1, 5, 10, 15, 30 min; 1, 2, 3, 6, 12 h; 1, 2, 7 d).
 * Both give at most max_ticks steps over [lo, hi]; the count ticks start
 * at 0 and reach the first multiple of the step at or above hi, which
 * report_nice_ceiling() returns.
 */
long long report_nice_step(long long hi, int max_ticks);
long long report_nice_ceiling(long long hi, int max_ticks);
long long report_time_step(long long span_secs, int max_ticks);

/* "md", "html", "json", "csv", "ccadb", "events", "unreached"; -1 if
 * unknown. */
int report_format_parse(const char *name, enum report_format *out);

/* Names used in every output: "initial", "sent", "deployed", ... */
const char *report_kind_name(int kind);
const char *report_state_name(int state);
const char *report_deploy_name(enum report_deploy d);
/* "bounced", "unreachable", "failed", "no-address" (the list's reason
 * column), or "?". */
const char *report_unreached_name(int reason);
/* "< 0 h (after MUST-by)", "0-6 h", ... */
const char *report_warn_bucket_name(int bucket);
/* Bucket of a warning time in hours. */
int report_warn_bucket(double hours);
/* Upper bound (hours) of bucket i, 0 <= i < REPORT_WARN_BUCKETS - 1, or -1. */
int report_warn_bound(int i);

void report_free(struct report *r);

/* Appends a timeline entry (takes a copy of what); keeps time order
 * once report_sort_timeline() is called. */
void report_add_entry(struct report *r, time_t at, const char *what);
/* An audit-trail event that collapses with its neighbours of the same
 * group (static strings group and unit). */
void report_add_event(struct report *r, time_t at, const char *what,
		      const char *group, long long count, const char *unit);
void report_sort_timeline(struct report *r);

/*
 * Renderers (pure).  Each returns 0, or -1 if writing failed.  The HTML
 * page is self-contained: inline CSS and SVG, no script, no external
 * request.
 */
int report_write_md(const struct report *r, FILE *out);
int report_write_html(const struct report *r, FILE *out);
int report_write_json(const struct report *r, FILE *out);

/* A time as the JSON outputs write it: RFC 3339 UTC, or null when unset
 * (DEADLINE_UNSET).  New reference. */
json_t *report_time_json(time_t t);

/* A still-served target as report and status --json write it: target,
 * probed_via (null for a plain name), served, addresses, no_address,
 * unresolved.  New reference. */
json_t *report_served_json(const struct report_served *s);

/*
 * An audit-trail event (kind, its JSON detail) in plain words, the way a
 * Bugzilla timeline reads ("imported 3,048 certificates from caa.txt.gz
 * (973 accounts)"), with the group and count its run collapses by
 * (static strings).  Returns the text (caller frees).
 */
char *report_event_prose(const char *kind, const char *detail,
			 const char **group, long long *count,
			 const char **unit);
/* "import.certificates: lines 3000, new 3000, ..." (caller frees). */
char *report_event_text(const char *kind, const char *detail);

/* v with thousands separators ("3,048,289") into buf of len bytes;
 * returns buf. */
const char *report_num(long long v, char *buf, size_t len);

/*
 * Formatted values for the renderers and the dashboard.  A formatter
 * returns a struct report_text by value: its text lives in the caller's
 * frame until the end of the full expression that called it (C11
 * 6.2.4p8), so several fit in one printf and nothing is shared between
 * calls, e.g. printf("%s of %s", report_fmt_num(a).s, report_fmt_num(b).s).
 * A pointer to .s kept past that expression (in an initializer of an
 * array of cells, say) dangles: keep the struct in a variable instead.
 */
struct report_text {
	char s[48];
};

/* "3,048,289" */
struct report_text report_fmt_num(long long v);
/* "2020-03-05 03:08 UTC", or "-" when t is DEADLINE_UNSET. */
struct report_text report_fmt_time(time_t t);
/* "2020-03-05T03:08:00Z", or "-" when t is DEADLINE_UNSET. */
struct report_text report_fmt_rfc3339(time_t t);
/* "1d 03h 08m": the size of a span of seconds, either sign (callers
 * say "left" or "overdue by"). */
struct report_text report_fmt_span(long long secs);

/*
 * Scan coverage in the one sentence every output uses: "0 of 32 names
 * answered; 32 failed (dns-error 31, timeout 1), 0 not yet tried", the
 * failures by cause, commonest first.  Answers only: a failed probe is
 * never counted as done.  noun names the targets ("probeable names");
 * mark and unmark (both "" for none) go around the failed count and its
 * causes (the dashboard's colour).  Into buf of len bytes; returns buf.
 * REPORT_COVERAGE_MAX bytes always hold the sentence.
 */
#define REPORT_COVERAGE_MAX 1024
const char *report_coverage(const struct report *r, const char *noun,
			    const char *mark, const char *unmark, char *buf,
			    size_t len);

/*
 * A still-served target's figures in the words every output uses:
 * "affected certificate served on 1 of 3 addresses", then, for a
 * wildcard probed at names without an address, "; 1 probed name had no
 * address" (and "; 1 probed name could not be resolved").  Into buf;
 * returns buf.  REPORT_SERVED_MAX bytes always hold it.
 */
#define REPORT_SERVED_MAX 384
const char *report_served_sentence(const struct report_served *s, char *buf,
				   size_t len);

/* A clock's remaining time in the words of `deadlines`, the reports and
 * the dashboard: "met", "1d 03h 08m left", "overdue by 2h 00m".  Into
 * buf; returns buf. */
const char *report_remaining(const struct deadline_clock *c, char *buf,
			     size_t len);

/* Figures derived from a gathered report, for every renderer. */
long long report_revoked(const struct report *r);   /* on time or late */
long long report_unrevoked(const struct report *r); /* pending, overdue */
/* Notices of every kind in state (0..REPORT_STATES-1). */
long long report_notices_in(const struct report *r, int state);
/* 100 * part / whole, 0 when whole is 0. */
double report_pct(long long part, long long whole);
/* When the clock named id is due, DEADLINE_UNSET if there is none. */
time_t report_due_of(const struct report *r, const char *id);
/* MUST-by has passed with certificates unrevoked. */
bool report_delayed(const struct report *r);

/*
 * Shared by the renderers (report_render.c, report_md.c, report_html.c,
 * report_json.c): the verdicts in the order every output lists them and
 * their words, the deployment bar (REPORT_NDEPLOY + 1 parts, the last
 * the revoked or expired), text escaped for Markdown or HTML, and the
 * tables both markups share, written in either (html false: Markdown).
 */
#define REPORT_NVERDICTS 5
extern const enum deadline_verdict report_verdict_order[REPORT_NVERDICTS];
const char *report_verdict_words(enum deadline_verdict v);
long long report_deploy_bar(const struct report *r, int d);
const char *report_deploy_bar_name(int d);
void report_md_text(FILE *out, const char *s);
void report_html_text(FILE *out, const char *s);
void report_table_clocks(const struct report *r, FILE *out, bool html);
void report_table_verdicts(const struct report *r, FILE *out, bool html);
void report_table_deployment(const struct report *r, FILE *out, bool html);
void report_table_notices(const struct report *r, FILE *out, bool html);
void report_table_timeline(const struct report *r, FILE *out, bool html);
/* Markdown only: the HTML page draws it. */
void report_table_warning(const struct report *r, FILE *out);

/* "What to do next" lines, most urgent first, into lines[max]; returns
 * the count.  Each is at most 200 bytes. */
int report_next_steps(const struct report *r, char lines[][200], int max);

#endif
