/*
 * mailer - notices to subscribers: plan them, compose them from
 * templates, send them over SMTP with libesmtp, and keep their state in
 * PostgreSQL so that a killed worker loses nothing and repeats at most
 * the messages in flight.
 *
 * A notice is one (incident, contact address, kind); kinds are "initial",
 * "reminder" and "revoked".  Planning is idempotent and set-based.  Work
 * is claimed in batches with FOR UPDATE SKIP LOCKED and a lease, so any
 * number of `notify` processes on any number of machines share it.  Each
 * message's outcome is committed the moment the server answers it:
 *   2xx -> sent; 4xx or a lost connection -> retry with exponential
 *   backoff, failed after mailer.max_attempts; 5xx -> failed, with the
 *   server's reply kept.
 * The one duplicate possible is a message the server accepted in the
 * instant between its "250" and our commit, if the worker dies right
 * there: at most one per connection per crash.
 */
#ifndef CERTRECALL_MAILER_H
#define CERTRECALL_MAILER_H

#include <stdbool.h>
#include <stdio.h>
#include <time.h>

struct config;
struct db;
struct incident;

struct mailer_options {
	const char *kind;	 /* initial, reminder, revoked */
	const char *dry_run_dir; /* write .eml files, change nothing */
	long long limit;	 /* messages this run; 0 = all */
	int connections;	 /* SMTP connections (threads) */
	long long rate;		 /* messages per second; 0 = no limit */
	bool wait; /* wait for retries and other workers' leases */
	time_t at; /* compose as of this time (replays); 0 = now */
	bool progress;
};

struct mailer_stats {
	long long planned; /* notices created by this run's planning */
	long long sent;
	long long retry;
	long long failed;
	long long no_address;
	long long composed; /* dry run: files written */
	double seconds;
};

/* "initial", "reminder", "revoked"; false for anything else. */
bool mailer_kind_valid(const char *kind);

/*
 * Sends the due notices of one kind (planning them first).  Returns 0
 * when the run ended normally (failures are counted, not errors), -1 on
 * an error that stopped it (logged).
 */
int mailer_run(struct db *db, const struct config *cfg,
	       const struct incident *inc, const struct mailer_options *opt,
	       struct mailer_stats *st);

/* Prints the exact message the notice of kind for address would be. */
int mailer_preview(struct db *db, const struct config *cfg,
		   const struct incident *inc, const char *kind,
		   const char *address, time_t at, FILE *out);

/* Prints, for each kind, the notices due, addresses, accounts without an
 * address, and the earliest/latest deadline they state. */
int mailer_plan_report(struct db *db, const struct config *cfg,
		       const struct incident *inc, FILE *out);

#endif
