/*
 * notice_store - every statement of `notify`: planning the notices of a
 * kind (set-based, in slices), claiming due ones with FOR UPDATE SKIP
 * LOCKED and a lease, recording outcomes in groups, giving claims back,
 * and the counts of a forecast.  Rows come back as struct notice
 * (notice.h); which certificates a kind is about is notice.h's rule.
 *
 * The queue (008_notice_send.sql): a notice is in notice_queue while it
 * is pending, waiting for a retry, or claimed; it leaves in the
 * transaction that records it sent or failed.
 */
#ifndef CERTRECALL_NOTICE_STORE_H
#define CERTRECALL_NOTICE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "certrecall/base/utctime.h"
#include "certrecall/core/notice.h"
#include "certrecall/base/xalloc.h"

struct db;

/* ---- planning ----------------------------------------------------- */

/* Planning of one kind in slices (plan_begin, plan_slice until done,
 * plan_finish), on one connection. */
struct notice_store_plan {
	struct db *db;
	char id[32];
	const char *kind;
	char must[UTCTIME_BUFSZ];
	long long addresses; /* addresses that may need a notice */
	long long sliced;    /* of them, planned so far */
	long long created;   /* notices created */
	long long slice;     /* addresses in the next slice */
	bool grouped;	     /* plan_acct is the incident's grouping (037) */
};

/*
 * Computes, in session temporary tables, per account the certificates
 * the kind is about and what the messages list of them (plan_acct, read
 * in the snapshot kept in plan_snapshot) and, per contact address
 * without a notice of the kind yet, the accounts it covers (plan_addr,
 * numbered in address order).  Nothing is created yet.  must_by is the deadline the notices
 * state.  0 or -1 (logged).
 */
CR_MUST_CHECK int notice_store_plan_begin(struct notice_store_plan *p,
					  struct db *db, long long incident_id,
					  const char *kind, time_t must_by);

/*
 * Creates the notices of the next slice of addresses, each with its
 * certificate list and its place in the queue, in one statement: a
 * notice is never visible without them.  1 when a slice was planned, 0
 * when none is left, -1 on error.
 */
CR_MUST_CHECK int notice_store_plan_slice(struct notice_store_plan *p);

/* The no-address records (one per account without any address), then
 * the temporary tables go.  0 or -1. */
CR_MUST_CHECK int notice_store_plan_finish(struct notice_store_plan *p);

/* All of it, inside the caller's transaction; *created counts new
 * notices.  0 or -1. */
CR_MUST_CHECK int notice_store_plan(struct db *db, long long incident_id,
				    const char *kind, time_t must_by,
				    long long *created);

/* Fresh statistics for the claims after a first slice.  0 or -1. */
CR_MUST_CHECK int notice_store_analyze(struct db *db);

/* Notices of one kind of the incident in the given states (a fixed SQL
 * list, e.g. "'no-address'"); -1 on error. */
CR_MUST_CHECK long long notice_store_count(struct db *db, long long incident_id,
					   const char *kind,
					   const char *states);

/* ---- claiming and recording --------------------------------------- */

/* Prepares the claim and the outcome statements on a sender's
 * connection.  0 or -1 (logged). */
CR_MUST_CHECK int notice_store_prepare(struct db *db);

/*
 * Claims up to max due notices of kind after notice id floor for
 * worker, leased for lease_ms, with their certificates, into
 * batch[0..*n) (ascending ids).  A notice with more than max_certs
 * certificates comes without them (certs_deferred; ncerts says how many
 * each notice lists), unless a listing stands for them (032, 037), it
 * lists at most max_listed and the batch up to it at most max times
 * max_certs: load them with notice_store_load_certificates() when it
 * is composed.  scanned: the
 * incident has a scan round (notice_store_scanned()); without one the
 * scan verdicts are not looked up.  0 or -1 (logged).
 */
CR_MUST_CHECK int notice_store_claim(struct db *db, long long incident_id,
				     const char *kind, long long lease_ms,
				     const char *worker, size_t max,
				     long long floor, size_t max_certs,
				     size_t max_listed, bool scanned,
				     struct notice *batch, size_t *n);

/*
 * Sends the outcomes of group[0..n) (outcome, attempts, reply,
 * Message-ID, bytes, backoff) as one statement and returns without its
 * result: read it with notice_store_outcomes_wait() before the next.
 * 0, or -1 with the reason in *why (free it).
 */
CR_MUST_CHECK int notice_store_outcomes_send(struct db *db,
					     struct notice *const *group,
					     size_t n, char **why);

/* Reads the result of the outcomes in flight.  0, or -1 with the reason
 * of the first failure in *why (free it). */
CR_MUST_CHECK int notice_store_outcomes_wait(struct db *db, char **why);

/*
 * Returns worker's claims on the n notices of ids to the queue as they
 * were (pending, or retry with its due time).  The number returned, or
 * -1.
 */
CR_MUST_CHECK long long notice_store_return_claims(struct db *db,
						   const char *worker,
						   const long long *ids,
						   size_t n);

/* What the queue holds of a kind that this worker does not. */
struct notice_store_queue {
	bool has_next;	     /* a retry or another worker's lease will end */
	double next_in;	     /* seconds until the first of them does */
	long long leased;    /* notices under other workers' live leases */
	time_t leased_until; /* when the last of those leases ends */
	char workers[256];   /* who holds them, "a:1, b:2" (cut) */
};

CR_MUST_CHECK int notice_store_queue_state(struct db *db, long long incident_id,
					   const char *kind, const char *worker,
					   struct notice_store_queue *q);

/* The audit trail's record of a run (event "notify.<kind>").  0 or -1. */
CR_MUST_CHECK int notice_store_run_event(struct db *db, long long incident_id,
					 const char *kind, long long planned,
					 long long sent, long long retry,
					 long long failed, long long no_address,
					 double seconds);

/* ---- previews ----------------------------------------------------- */

/*
 * The due notices of kind (pending, retry, claimed), or (address not
 * NULL) the one for address whatever its state, in id order, into a
 * new array *ns of *n (notice_release each, then free).  Without their
 * certificates and locales.  0 or -1.
 */
CR_MUST_CHECK int notice_store_due(struct db *db, long long incident_id,
				   const char *kind, const char *address,
				   struct notice **ns, size_t *n);

/* Whether incident_id has a completed scan round (before one, no
 * certificate has a scan verdict: "not scanned").  0 or -1. */
CR_MUST_CHECK int notice_store_scanned(struct db *db, long long incident_id,
				       bool *yes);

/* The certificates of every notice in ns[0..n), in one query (sorts
 * ns by id); scanned as for notice_store_claim().  0 or -1. */
CR_MUST_CHECK int notice_store_load_certificates(struct db *db, bool scanned,
						 struct notice *ns, size_t n);

/*
 * The language and time zone of each notice's accounts (020): the first
 * account, in name order, that has one.  One query.  0 or -1.
 */
CR_MUST_CHECK int notice_store_load_locales(struct db *db, struct notice *ns,
					    size_t n);

#endif
