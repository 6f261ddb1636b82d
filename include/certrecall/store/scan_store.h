/*
 * scan_store - the scan stage's SQL: targets of an incident, claims with
 * FOR UPDATE SKIP LOCKED and a lease, observations written by COPY, the
 * round's outcome, and leases given back.  Times of the server are
 * certrecall_now() (the rehearsal clock when set).
 */
#ifndef CERTRECALL_SCAN_STORE_H
#define CERTRECALL_SCAN_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "certrecall/core/classify.h"
#include "certrecall/core/starttls.h"
#include "certrecall/base/xalloc.h"

struct certinfo;
struct config;
struct db;
struct db_copy;

/*
 * Creates the incident's targets: the distinct names of its unrevoked,
 * unexpired certificates on every port of ports[0..n) (a target whose
 * protocol changed is probed again).  0, or -1 (logged).
 */
CR_MUST_CHECK int scan_store_add_targets(struct db *db, long long incident_id,
					 const struct starttls_port *ports,
					 size_t n);

/*
 * A wildcard target *.D is probed at the names it covers (one more
 * label) that the incident knows, plus labels (a text[] literal) under
 * D, at most 8 (probed_via); with none it is not probeable.  0, or -1.
 */
CR_MUST_CHECK int scan_store_wildcards(struct db *db, long long incident_id,
				       const char *labels);

/*
 * Re-arms the due targets still on a certificate left to revoke:
 * answered and filtered ones older than stale_ms, failed ones older than
 * retry_ms (all with retry_failed); retires the names no certificate
 * left to revoke carries.  *waiting gets the failed targets (among names,
 * a text[] literal or NULL for all) left to wait for retry_ms, *first
 * when the first of them is due (DB_NULL_TIME when none).  0, or -1.
 */
CR_MUST_CHECK int scan_store_requeue(struct db *db, long long incident_id,
				     long long stale_ms, bool retry_failed,
				     long long retry_ms, const char *names,
				     long long *waiting, time_t *first);

/* The probeable targets pending or claimed (among names, or all when
 * NULL), or -1 (logged). */
CR_MUST_CHECK long long scan_store_due(struct db *db, long long incident_id,
				       const char *names);

/* A claimed target. */
struct scan_store_target {
	long long id;
	int round;
	char *name;
	int port;
	enum starttls_proto proto;
	char *via; /* a wildcard's probed_via, space-separated */
};

/*
 * Claims up to max due targets (among names, or all when NULL) for
 * worker, leased for lease_ms, in id order, skipping locked ones: a new
 * round each.  Fills *out (free with scan_store_targets_free) and *n;
 * -1 on error (logged).
 */
CR_MUST_CHECK int scan_store_claim(struct db *db, long long incident_id,
				   long long max, long long lease_ms,
				   const char *worker, const char *names,
				   struct scan_store_target **out, size_t *n);
void scan_store_targets_free(struct scan_store_target *v, size_t n);

/*
 * For each served certificate cis[0..n) (NULL: none), whether it is an
 * affected certificate of the incident (certificate_served_match: by
 * SHA-256, else by issuer and serial, never another issuer's): then
 * (*names)[i] is the names those certificates carry, a text[] literal
 * per certificate, comma-joined; else NULL.  One query.  *names is an
 * array of n (free with scan_store_names_free); -1 on error (logged).
 */
CR_MUST_CHECK int scan_store_affected(struct db *db, long long incident_id,
				      const struct certinfo *const *cis,
				      size_t n, char ***names);
void scan_store_names_free(char **names, size_t n);

/* One observation; NULL strings are SQL NULL. */
struct scan_store_observation {
	long long target_id;
	int round;
	const char *worker;
	const char *address;
	int port;
	const char *protocol;
	const char *probed_name; /* the name a wildcard target was probed at */
	const char *verdict;
	const struct certinfo *served; /* the leaf read, or NULL */
	const char *tls_version;
	const char *error;
	long long elapsed_ms;
};

/* Begins a batch: a transaction and a COPY into observation.  NULL on
 * error (logged; nothing left open). */
CR_MUST_CHECK struct db_copy *scan_store_batch_begin(struct db *db);
/* Adds one row; 0, or -1 once the server refused the COPY (stop adding:
 * scan_store_batch_end says why). */
CR_MUST_CHECK int scan_store_batch_add(struct db_copy *c,
				       const struct scan_store_observation *o);

/* The outcomes of the targets a batch finished (sql/011: answered, failed
 * or filtered; failed ones by their failed verdict). */
struct scan_store_outcomes {
	long long answered, failed, filtered;
	long long failed_by[CLASSIFY_NVERDICTS];
};

/*
 * Ends the batch: the COPY, then the targets done[0..ndone) that worker
 * holds finish their round (scan_round_outcome(), 011), and commits.
 * *out counts their outcomes.  0, or -1 (logged; rolled back).
 */
CR_MUST_CHECK int scan_store_batch_end(struct db *db, struct db_copy *c,
				       const char *worker,
				       const long long *done, size_t ndone,
				       struct scan_store_outcomes *out);

/*
 * Gives back worker's claimed targets: the unfinished round is undone
 * (its partial observations deleted, the round number restored).  Uses
 * db, or a new connection (cfg) when db is NULL or broken.  The number
 * given back, or -1 (logged).
 */
CR_MUST_CHECK long long scan_store_give_back(struct db *db,
					     const struct config *cfg,
					     const char *worker);

/* Live leases of other workers on due targets. */
struct scan_store_leases {
	int workers;	   /* other workers holding leases; 0: none */
	long long targets; /* targets they hold */
	time_t until;	   /* the last lease ends */
	char first[61];	   /* the worker holding most (60 characters) */
};

/*
 * The live leases on the incident's probeable targets (among names, or
 * all when NULL) held by workers not in own (a text[] literal).  0, or
 * -1 (logged).
 */
CR_MUST_CHECK int scan_store_leases(struct db *db, long long incident_id,
				    const char *own, const char *names,
				    struct scan_store_leases *out);

#endif
