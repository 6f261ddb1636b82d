/*
 * revocation - the database side of revocation evidence: the incident's
 * issuers, evidence imported from the CA's own revoker, the certificates'
 * revocation state derived from all evidence, and the batches handed to
 * the CA's revoker.  certrecall never revokes by itself.
 */
#ifndef CERTRECALL_REVOCATION_H
#define CERTRECALL_REVOCATION_H

#include <stdbool.h>
#include <stdio.h>
#include "certrecall/base/xalloc.h"

struct crl;
struct db;
struct incident;

/*
 * Adds the CA certificate(s) in a PEM file as issuers of the incident:
 * subject, subject key identifier, and the SHA-1 name and key hashes an
 * OCSP CertID needs.  ocsp_url / crl_url (may be NULL) are stored with
 * each.  Returns the number added (an issuer already there is updated
 * with the URLs), or -1 (logged).
 */
CR_MUST_CHECK int revocation_add_issuers(struct db *db,
					 const struct incident *inc,
					 const char *path, const char *ocsp_url,
					 const char *crl_url);

/*
 * The CRLReason name of code (RFC 5280 5.3.1): "keyCompromise", or
 * "unknown (12)" (written into buf) for a code it does not define,
 * "none" for -1.
 */
CR_MUST_CHECK const char *revocation_reason_name(int code, char *buf,
						 size_t len);

/*
 * Loads "serial,revoked_at[,reason]" lines (a header line is allowed;
 * reason is a CRLReason code 0-10 or its name) as evidence from the CA's
 * revoker, all or nothing, every bad line as FILE:LINE.  Serials that are
 * not affected certificates of the incident are counted, not loaded.
 */
struct revocation_import_stats {
	long long lines, loaded, unknown, conflicts;
};
CR_MUST_CHECK int revocation_import(struct db *db, const struct incident *inc,
				    const char *path,
				    struct revocation_import_stats *st);

/*
 * Records one CRL fetched for the incident's issuer issuer_id from url.
 * With crl (borrowed, accepted by crl_load: verified and current) the
 * fetch answers for every affected certificate it covers -- the issuer's,
 * and those imported without an issuer when it is the incident's only
 * one: the ones it lists become crl_entry rows (revocationDate, reason),
 * the others are good as of this CRL without a row of their own (see
 * sql/006_crl.sql).  A partitioned CRL answers only for what it lists.
 * The same CRL again (crl_get0_sha256, same issuer) refreshes its fetch
 * and matches only the certificates added since; *st counts the whole
 * fetch.  With crl NULL the failed fetch is recorded with why, answering
 * for nothing.  One transaction; certificates cannot be added meanwhile.
 * The revocations are applied in the same transaction (as
 * revocation_derive would), and the fetch marked derived; the
 * certificates are read on a second connection with the same snapshot
 * when one can be opened.  Returns 0 with the counts in *st (may be
 * NULL), or -1 (logged).
 */
struct revocation_crl_stats {
	long long covered; /* certificates looked up */
	long long listed;  /* of which the CRL lists (revoked) */
	long long good;	   /* of which good: covered - listed, or 0 */
};
CR_MUST_CHECK int revocation_add_crl(struct db *db, long long incident_id,
				     long long issuer_id, const char *url,
				     const struct crl *crl, const char *why,
				     struct revocation_crl_stats *st);

/*
 * Sets each certificate's revocation state from all its evidence (OCSP,
 * imported, and the entries of every verified CRL fetch): revoked at the
 * earliest revocation time any source reports, with that answer's reason
 * (a stated one, the lowest code, on a tie).  Sources only add answers,
 * so this keeps a running minimum: each CRL fetch is applied once, and
 * nothing un-revokes.  Returns the number of certificate updates, or -1.
 */
CR_MUST_CHECK long long revocation_derive(struct db *db, long long incident_id);

/*
 * Certificates whose sources disagree (good vs revoked, or different
 * times), written as CSV: serial,sources... ; returns the count or -1.
 * Each source's answer is its latest: the latest OCSP and imported
 * evidence, and the CRL's answer of the latest verified fetch covering
 * the certificate (view crl_answer).
 */
CR_MUST_CHECK long long revocation_conflicts(struct db *db,
					     long long incident_id, FILE *out);

/*
 * Writes "serial,reason_code" for every certificate still to revoke
 * (unrevoked, unexpired), replaced ones first, then the rest, each in
 * serial order.  reason_code is the CRLReason the caller resolved.
 * With jsonl, one JSON object a line instead (schema
 * docs/schema/export-revocations.schema.json).
 * Returns the number written, or -1.
 */
CR_MUST_CHECK long long revocation_export(struct db *db, long long incident_id,
					  bool replaced_only, int reason_code,
					  bool jsonl, FILE *out);

#endif
