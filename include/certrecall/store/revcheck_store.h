/*
 * revcheck_store - the SQL of `certrecall revcheck`: the incident's
 * issuers, the pass of work (sql/021_revcheck_claims.sql) claimed in
 * batches with FOR UPDATE SKIP LOCKED under a lease, the OCSP evidence
 * written by COPY, and the round's counts.  Every function logs its own
 * failure once and returns -1.
 */
#ifndef CERTRECALL_REVCHECK_STORE_H
#define CERTRECALL_REVCHECK_STORE_H

#include <stdbool.h>
#include <stddef.h>

#include "certrecall/core/ocsp.h"
#include "certrecall/core/serial.h"

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
int revcheck_store_issuers(struct db *db, long long incident_id,
			   struct revcheck_store_issuer **out, size_t *n);
void revcheck_store_issuers_free(struct revcheck_store_issuer *is, size_t n);

/* The highest evidence id so far (0 for none): the round's evidence is
 * above it.  0, or -1. */
int revcheck_store_last_evidence(struct db *db, long long *id);

/*
 * Joins the incident's open pass, or opens a new one: every certificate
 * still to revoke (unrevoked, unexpired at certrecall_now()) queued
 * once.  A pass is open while it has queued certificates and is younger
 * than lease_ms or some worker holds a live lease in it.  Sets
 * *first_evidence (the pass's evidence is above it), *joined, and
 * *queued (certificates queued when opening; 0 when joining).  0, or -1.
 */
int revcheck_store_pass_begin(struct db *db, long long incident_id,
			      long long lease_ms, long long *first_evidence,
			      bool *joined, long long *queued);

/* A claimed certificate. */
struct revcheck_store_cert {
	long long id;
	long long issuer_id; /* -1 when not linked to an issuer */
	bool issuer_unknown; /* no issuer name was imported either */
	bool serial_ok;	     /* serial parsed from the stored octets */
	struct serial serial;
};

/*
 * Claims up to max queued certificates of the pass with ids above after
 * (pending, or claimed under a lease that ran out) for worker, leased
 * for lease_ms, in id order, skipping rows other claims hold.  Fills
 * out[0..max) and returns how many, or -1.  (after keeps a long pass
 * from scanning the rows it has finished again at every claim.)
 */
long long revcheck_store_claim(struct db *db, long long incident_id,
			       const char *worker, long long lease_ms,
			       long long after, size_t max,
			       struct revcheck_store_cert *out);

/* Extends worker's leases to lease_ms from now.  0, or -1. */
int revcheck_store_renew(struct db *db, const char *worker, long long lease_ms);

/* Puts worker's claims back in the queue (on the way out after an
 * error).  The number given back, or -1. */
long long revcheck_store_give_back(struct db *db, const char *worker);

/* Certificates of the pass still queued that worker has not claimed:
 * pending, or claimed by other workers.  The count, or -1. */
long long revcheck_store_queued_elsewhere(struct db *db, long long incident_id,
					  const char *worker);

/* An OCSP answer waiting to be stored. */
struct revcheck_store_evidence {
	long long cert_id;
	const char *url; /* borrowed: the URL asked (NULL: none) */
	struct ocsp_answer answer;
};

/*
 * Stores ev[0..nev) as OCSP evidence rows (one COPY) and takes done[0..
 * ndone) (certificates finished, answered or not) out of worker's claims,
 * in one transaction.  0, or -1 (nothing stored).
 */
int revcheck_store_record(struct db *db, const char *worker,
			  const struct revcheck_store_evidence *ev, size_t nev,
			  const long long *done, size_t ndone);

/* Certificates still to revoke (unrevoked, unexpired).  The count, or
 * -1. */
long long revcheck_store_left(struct db *db, long long incident_id);

/*
 * Certificates still to revoke that got no usable answer (good or
 * revoked) since evidence id first_evidence: no OCSP evidence row above
 * it, and their issuer is not in crl_answered[0..n) (issuers whose whole
 * CRL verified); a certificate without an issuer counts as only_issuer's
 * (the incident's only issuer, 0 for none).  The count, or -1.
 */
long long revcheck_store_unanswered(struct db *db, long long incident_id,
				    const long long *crl_answered, size_t n,
				    long long only_issuer,
				    long long first_evidence);

#endif
