/*
 * revcheck - one round of `certrecall revcheck`: ask the CA's own OCSP
 * responders and CRLs about every certificate still to revoke and store
 * the evidence; revocation times are what was published, not what
 * someone typed.
 *
 * The OCSP work is a pass (revcheck_store): the first process of a round
 * opens it, others running the same command on the incident (here or on
 * other machines) join it, and each claims batches of certificates with
 * FOR UPDATE SKIP LOCKED under database.lease, renewed while it works,
 * so every certificate is asked once.  The answers are stored by COPY,
 * and a certificate leaves the queue in the same transaction.  A process
 * that ran out of work waits for the others' claims to end, so that its
 * round counts everything the pass found.  Every process fetches the
 * CRLs itself (one download answers for all their certificates).
 */
#ifndef CERTRECALL_REVCHECK_H
#define CERTRECALL_REVCHECK_H

#include <stdbool.h>

#include "certrecall/core/ocsp.h"
#include "certrecall/base/xalloc.h"

struct config;
struct db;
struct incident;

/* revcheck_round's failures besides -1 (a database or libcurl error). */
#define REVCHECK_NO_ISSUER (-2)	  /* the incident has no issuer */
#define REVCHECK_BAD_ISSUER (-3)  /* an issuer's certificate does not parse */
#define REVCHECK_INTERRUPTED (-4) /* SIGINT or SIGTERM during the pass */

struct revcheck_options {
	const char *ocsp_url; /* every OCSP request there, or NULL */
	const char *crl_url;  /* the one CRL to fetch, or NULL */
	bool use_ocsp, use_crl;
};

struct revcheck_stats {
	/* Answers by status, indexed by enum ocsp_status; a CRL counts
	 * once per certificate it covers. */
	long long by_status[4];
	/* This round's answers and CRLs that failed: transient ones a later
	 * run may get (network, timeout, HTTP 429/5xx, tryLater), refused
	 * ones it will not (signature, cRLSign, stale, malformed, 4xx). */
	long long transient, refused;
	long long unanswered; /* certificates without usable evidence */
	long long left;	      /* certificates still to revoke */
	int failed;	      /* database writes */
	long long given_back; /* claims returned to the pass on a stop */
};

/*
 * One round over the incident (all logged): fills *st and returns 0, or
 * -1, REVCHECK_NO_ISSUER or REVCHECK_BAD_ISSUER.  SIGINT or SIGTERM
 * during the OCSP pass stops it: the answers so far are stored, the
 * certificates still claimed go back to the pass (st->given_back) for
 * the next round to ask at once, and it returns REVCHECK_INTERRUPTED.
 */
CR_MUST_CHECK int revcheck_round(struct db *db, const struct config *cfg,
				 const struct incident *inc,
				 const struct revcheck_options *opt,
				 struct revcheck_stats *st);

/*
 * The round's exit code (sysexits), logging why when it is not 0: 0 only
 * when no source failed and every certificate still to revoke got
 * usable evidence (good or revoked).  65 when evidence was refused (a
 * retry will not change that, even if another source also failed for
 * now); else 75 when sources failed transiently (or a database write
 * did): the certificates they leave without evidence may get it next
 * time; else 65 when certificates got no usable evidence although every
 * source answered (unknown to the responder, no source for them).
 */
CR_MUST_CHECK int revcheck_exit_code(const struct revcheck_stats *st);

#endif
