/*
 * crl - certificate revocation lists (RFC 5280 section 5): verify one
 * against its issuer, check it is current, and index its revoked serials.
 *
 * Pure apart from OpenSSL's crypto: the caller hands over the bytes (it
 * chose the size cap when it read or downloaded them).  The list is not
 * parsed into OpenSSL objects, which cost about 330 MiB for 1,000,000
 * entries; a small DER walker copies each entry's serial, revocationDate
 * and reasonCode into one packed array (32 bytes an entry) and the
 * signature is checked over the raw tbsCertList bytes.
 */
#ifndef CERTRECALL_CRL_H
#define CERTRECALL_CRL_H

#include <openssl/x509.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "certrecall/core/serial.h"

struct crl;

/*
 * Parses a DER or PEM ("-----BEGIN X509 CRL-----") CRL of len bytes,
 * verifies that issuer (borrowed) signed it and that its issuer name is
 * issuer's subject, and that it is current at now with skew_s seconds of
 * allowance: thisUpdate <= now + skew_s and nextUpdate >= now - skew_s.
 * Returns 0 and a new index in *out (free with crl_free), or -1 with a
 * lower-case reason in err: "signature does not verify",
 * "stale: nextUpdate ... before now ...", "not yet valid: thisUpdate ...",
 * "issuer name does not match", "issuer keyUsage lacks cRLSign ...",
 * "malformed crl: ...", "unsupported ...".  An issuer certificate with a
 * keyUsage extension must assert cRLSign (RFC 5280 6.3.3 (f)).
 * Delta CRLs, indirect CRLs (certificateIssuer entries) and unknown
 * critical extensions are refused (RFC 5280 5.2, 5.3).  Entries whose
 * serial is negative or longer than 20 octets cannot name a certificate
 * certrecall tracks; they are counted in crl_skipped, not indexed.
 * An entry whose reasonCode is undefined (7, or above 10) still revokes
 * its certificate: it is indexed with that code (-1 when it is negative
 * or above 32767) and counted in crl_undefined_reasons.
 */
int crl_load(const unsigned char *der_or_pem, size_t len, X509 *issuer,
	     time_t now, long skew_s, struct crl **out, char *err,
	     size_t errlen);

/*
 * True if serial is listed; then *revoked_at (UTC) and *reason (CRLReason
 * code as listed, possibly undefined; -1 when the entry has no
 * reasonCode) are set.  Either pointer
 * may be NULL.  O(log n).
 */
bool crl_lookup(const struct crl *crl, const struct serial *serial,
		time_t *revoked_at, int *reason);

size_t crl_count(const struct crl *crl);
size_t crl_skipped(const struct crl *crl);
time_t crl_this_update(const struct crl *crl);
time_t crl_next_update(const struct crl *crl);
/* SHA-256 of the DER CertificateList (the same for its PEM form): 32
 * bytes, valid until crl_free.  The same digest is the same CRL. */
const unsigned char *crl_get0_sha256(const struct crl *crl);
/* True if the CRL carries an issuingDistributionPoint (a shard). */
bool crl_is_partitioned(const struct crl *crl);
/* Entries with an undefined reasonCode; the first one's serial (hex of
 * its DER contents, borrowed) and code (-1 when out of range) in
 * *serial_hex and *code, either of which may be NULL. */
size_t crl_undefined_reasons(const struct crl *crl, const char **serial_hex,
			     int *code);
void crl_free(struct crl *crl);

#endif
