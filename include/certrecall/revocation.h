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

struct db;
struct incident;

/*
 * Adds the CA certificate(s) in a PEM file as issuers of the incident:
 * subject, subject key identifier, and the SHA-1 name and key hashes an
 * OCSP CertID needs.  ocsp_url / crl_url (may be NULL) are stored with
 * each.  Returns the number added (an issuer already there is updated
 * with the URLs), or -1 (logged).
 */
int revocation_add_issuers(struct db *db, const struct incident *inc,
			   const char *path, const char *ocsp_url,
			   const char *crl_url);

/*
 * Loads "serial,revoked_at[,reason]" lines (a header line is allowed;
 * reason is a CRLReason code 0-10 or its name) as evidence from the CA's
 * revoker, all or nothing, every bad line as FILE:LINE.  Serials that are
 * not affected certificates of the incident are counted, not loaded.
 */
struct revocation_import_stats {
	long long lines, loaded, unknown, conflicts;
};
int revocation_import(struct db *db, const struct incident *inc,
		      const char *path, struct revocation_import_stats *st);

/*
 * Sets each certificate's revocation state from all its evidence: revoked
 * at the earliest revocation time any source reports.  Returns the number
 * of certificates whose state changed, or -1.
 */
long long revocation_derive(struct db *db, long long incident_id);

/* Certificates whose sources disagree (good vs revoked, or different
 * times), written as CSV: serial,sources... ; returns the count or -1. */
long long revocation_conflicts(struct db *db, long long incident_id, FILE *out);

/*
 * Writes "serial,reason_code" for every certificate still to revoke
 * (unrevoked, unexpired), replaced ones first, then the rest, each in
 * serial order.  reason_code is the CRLReason the caller resolved.
 * Returns the number written, or -1.
 */
long long revocation_export(struct db *db, long long incident_id,
			    bool replaced_only, int reason_code, FILE *out);

#endif
