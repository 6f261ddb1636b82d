/*
 * mailer - notices to subscribers: plan them, compose them from
 * templates, send them over SMTP (net/smtp.h), and keep their state in
 * PostgreSQL so that a killed worker loses nothing and repeats at most
 * a bounded number of messages.
 *
 * A notice is one (incident, contact address, kind); kinds are "initial",
 * "reminder" and "revoked".  Planning is idempotent and set-based, in
 * slices of addresses committed one by one (a notice is created with its
 * certificate list and its queue entry in one statement), and sending
 * starts after the first slice.  Work is claimed in batches
 * (mailer.batch) with FOR UPDATE SKIP LOCKED and a lease (mailer.lease),
 * so any number of `notify` processes on any number of machines share
 * it.  A batch goes over one SMTP session, but a notice of more than 100
 * certificates is claimed without them and sent over a session of its
 * own, and one of more than 2,000 while no other thread of the process
 * holds one (memory: docs/notify.md, "At scale").  Outcomes:
 *   2xx -> sent; 4xx or a lost connection -> retry with exponential
 *   backoff, failed after mailer.max_attempts; 5xx -> failed, with the
 *   server's reply kept.
 * Outcomes are committed in groups, one transaction per group: a group
 * is sent to the database when it holds mailer.commit_group answers,
 * when its first answer is mailer.commit_interval old (checked at each
 * answer and before a --rate pause), and when an SMTP session ends; a
 * connection has at most one group in flight.
 *
 * Never lost: a notice leaves the queue only in the transaction that
 * records it sent or failed; a claim not recorded returns when its lease
 * ends.  Duplicates: a message is repeated only when the relay accepted
 * it and its outcome was never committed.
 *  - The worker is killed (or its machine fails): at most
 *    mailer.commit_group messages per connection, those answered since
 *    the connection's last group went out (one of them possibly
 *    accepted while its answer was still on the wire).  A group sent
 *    whole before the death is committed by the server all the same.
 *    With commit_group = 1 this is the old bound of one.
 *  - The database server crashes, or the connection to it fails: at
 *    most 2 x mailer.commit_group per connection (the group in flight
 *    and the one being filled).  The sender then drops its SMTP session
 *    before the next message's final "." so the relay discards it.
 *    This holds because the server runs with synchronous_commit on (the
 *    default), so a commit is durable before it is acknowledged and
 *    nothing acknowledged is lost.  The mailer does not turn it off: with
 *    synchronous_commit = off a server crash loses the commits of its last
 *    ~3 x wal_writer_delay (0.6 s by default) on every connection of
 *    every worker, and each one lost would be a message sent again,
 *    a bound in time instead of in messages.  A worker's crash is
 *    unaffected by the setting either way.
 */
#ifndef CERTRECALL_MAILER_H
#define CERTRECALL_MAILER_H

#include <stdbool.h>
#include <stdio.h>
#include <time.h>
#include "certrecall/base/xalloc.h"

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
	time_t at; /* compose as of this time; 0 = clock_now() */
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
 * What stopped a run or a preview, for the exit code: a retry may succeed
 * (database, relay), or nothing changes until the configuration or the
 * input does.
 */
enum mailer_error {
	MAILER_ERR_TEMP = -1,	/* database, relay: worth a retry */
	MAILER_ERR_CONFIG = -2, /* mailer.from, templates.dir */
	MAILER_ERR_DATA = -3,	/* the incident, or no such notice */
};

/*
 * Sends the due notices of one kind (planning them first).  Returns 0
 * when the run ended normally (failures are counted, not errors), or a
 * mailer_error on an error that stopped it (logged).  A run that stops
 * gives back, before it returns, every notice it claimed and did not
 * hand to the relay; one waiting for another worker's leases says so.
 */
CR_MUST_CHECK int mailer_run(struct db *db, const struct config *cfg,
			     const struct incident *inc,
			     const struct mailer_options *opt,
			     struct mailer_stats *st);

/* Prints the exact message the notice of kind for address would be.
 * 0, or a mailer_error (MAILER_ERR_DATA: no such notice). */
CR_MUST_CHECK int mailer_preview(struct db *db, const struct config *cfg,
				 const struct incident *inc, const char *kind,
				 const char *address, time_t at, FILE *out);

/* What --plan counts for one kind of notice (a forecast: the planning
 * it needs is rolled back). */
#define MAILER_NKINDS 3
struct mailer_plan_row {
	const char *kind; /* static: "initial", "reminder", "revoked" */
	long long due;	  /* pending, retry or claimed */
	long long addresses, sent, failed, retry, no_address;
	time_t earliest, latest; /* deadline stated; DEADLINE_UNSET if none */
};

/* Fills rows[] (initial, reminder, revoked); 0 or -1 (logged). */
CR_MUST_CHECK int mailer_plan_count(struct db *db, const struct incident *inc,
				    struct mailer_plan_row rows[MAILER_NKINDS]);

/* Prints, for each kind, the notices due, addresses, accounts without an
 * address, and the earliest/latest deadline they state. */
CR_MUST_CHECK int mailer_plan_report(struct db *db, const struct config *cfg,
				     const struct incident *inc, FILE *out);

/* ---- between mailer.c and mailer_preview.c ------------------------ */

struct notice_common;

/* What every notice of kind shares: 0, or MAILER_ERR_CONFIG /
 * MAILER_ERR_DATA (logged).  notice_common_release() either way. */
CR_MUST_CHECK int mailer_common_init(struct notice_common *c,
				     const struct config *cfg,
				     const struct incident *inc,
				     const char *kind);

/* mailer_run() with opt->dry_run_dir: every due notice composed into a
 * file there, nothing kept.  0 or -1. */
CR_MUST_CHECK int mailer_dry_run(struct db *db, const struct config *cfg,
				 const struct incident *inc,
				 const struct mailer_options *opt,
				 struct mailer_stats *st);

#endif
