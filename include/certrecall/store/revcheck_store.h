/*
 * revcheck_store - the SQL of `certrecall revcheck`: the incident's
 * issuers, the pass of work (sql/021_revcheck_claims.sql) claimed batch
 * by batch with FOR UPDATE SKIP LOCKED under a lease, the OCSP evidence
 * written by COPY, and the round's counts.  Every function logs its own
 * failure once and returns -1.
 */
#ifndef CERTRECALL_REVCHECK_STORE_H
#define CERTRECALL_REVCHECK_STORE_H

#include <stdbool.h>
#include <stddef.h>

#include "certrecall/core/ocsp.h"
#include "certrecall/core/serial.h"
#include "certrecall/base/xalloc.h"

struct db;

/* An issuer of the incident, as stored (add-issuer). */
struct revcheck_store_issuer {
	long long id;
	char *subject;
	char *pem;
	char **ocsp; /* responder URLs */
	size_t nocsp;
	char **crl; /* CRL URLs */
	size_t ncrl;
};

/* The incident's issuers by id into *out (n of them; free with
 * revcheck_store_issuers_free).  0, or -1. */
CR_MUST_CHECK int revcheck_store_issuers(struct db *db, long long incident_id,
					 struct revcheck_store_issuer **out,
					 size_t *n);
void revcheck_store_issuers_free(struct revcheck_store_issuer *is, size_t n);

/* The highest evidence id so far (0 for none): the round's evidence is
 * above it.  0, or -1. */
CR_MUST_CHECK int revcheck_store_last_evidence(struct db *db, long long *id);

/*
 * Joins the incident's open pass, or opens a new one: every certificate
 * still to revoke (unrevoked, unexpired at certrecall_now()) queued
 * once, in batches of batch consecutive ones.  A pass is open while it
 * has batches and is younger than lease_ms or some worker holds a live
 * lease in it.  Sets *first_evidence (the pass's evidence is above it)
 * and *joined.  0, or -1.
 */
CR_MUST_CHECK int revcheck_store_pass_begin(struct db *db,
					    long long incident_id,
					    long long lease_ms, long long batch,
					    long long *first_evidence,
					    bool *joined);

/* A certificate of a claimed batch. */
struct revcheck_store_cert {
	long long id;
	long long issuer_id; /* -1 when not linked to an issuer */
	bool issuer_unknown; /* no issuer name was imported either */
	bool serial_ok;	     /* serial parsed from the stored octets */
	struct serial serial;
};

/* A claimed batch: its certificates still to revoke, in id order. */
struct revcheck_store_batch {
	long long first_id; /* the batch's key */
	struct revcheck_store_cert *certs;
	size_t n, cap; /* certs is reused from claim to claim */
};

/*
 * Claims the pass's next batch whose first id is above after (pending,
 * or claimed under a lease that ran out) for worker, leased for
 * lease_ms, skipping batches other claims hold.  Returns 1 with *out
 * filled (n may be 0: all revoked since), 0 when there is none, or -1.
 * (after keeps a long pass from scanning what it has finished again.)
 */
CR_MUST_CHECK int revcheck_store_claim(struct db *db, long long incident_id,
				       const char *worker, long long lease_ms,
				       long long after,
				       struct revcheck_store_batch *out);

/* Extends worker's leases to lease_ms from now.  0, or -1. */
CR_MUST_CHECK int revcheck_store_renew(struct db *db, const char *worker,
				       long long lease_ms);

/* Puts worker's batches back in the pass, whole (on the way out after an
 * error or a signal).  The number of batches given back, or -1. */
CR_MUST_CHECK long long revcheck_store_give_back(struct db *db,
						 const char *worker);

/* Batches of the pass still queued that worker does not hold: pending,
 * or claimed by other workers.  The count, or -1. */
CR_MUST_CHECK long long revcheck_store_queued_elsewhere(struct db *db,
							long long incident_id,
							const char *worker);

/* An OCSP answer waiting to be stored. */
struct revcheck_store_evidence {
	long long cert_id;
	const char *url; /* borrowed: the URL asked (NULL: none) */
	struct ocsp_answer answer;
};

/*
 * Stores ev[0..nev) as OCSP evidence rows (one COPY) and takes the
 * batches done[0..ndone) (first ids: every certificate of them finished,
 * answered or not) out of worker's claims, in one transaction.  0, or -1
 * (nothing stored).
 */
CR_MUST_CHECK int
revcheck_store_record(struct db *db, long long incident_id, const char *worker,
		      const struct revcheck_store_evidence *ev, size_t nev,
		      const long long *done, size_t ndone);

/* Frees what revcheck_store_claim allocated in b. */
void revcheck_store_batch_release(struct revcheck_store_batch *b);

/*
 * The round's counts, in one pass: *left, the certificates still to
 * revoke (unrevoked, unexpired); *unanswered, those of them that got no
 * usable answer (good or revoked) since evidence id first_evidence: no
 * OCSP evidence row above it, and their issuer is not in
 * crl_answered[0..n) (issuers whose whole CRL verified); a certificate
 * without an issuer counts as only_issuer's (the incident's only issuer,
 * 0 for none).  0, or -1.
 */
CR_MUST_CHECK int revcheck_store_counts(struct db *db, long long incident_id,
					const long long *crl_answered, size_t n,
					long long only_issuer,
					long long first_evidence,
					long long *left, long long *unanswered);

#endif
