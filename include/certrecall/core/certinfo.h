/*
 * certinfo - what certrecall needs from an X.509 certificate, read with
 * OpenSSL: serial, issuer, subject, DNS/IP names, validity, SHA-256,
 * authority key identifier, precertificate poison, OCSP and CRL URLs.
 * Used by the importer (PEM/DER lists) and the scanner (served leaves).
 */
#ifndef CERTRECALL_CERTINFO_H
#define CERTRECALL_CERTINFO_H

#include <openssl/x509.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "certrecall/core/serial.h"
#include "certrecall/base/xalloc.h"

struct certinfo {
	struct serial serial; /* zero and negative too: see serial.h */
	char *issuer;	      /* RFC 2253 one-line form */
	char *subject;	      /* RFC 2253 one-line form */
	char **names; /* dNSName and iPAddress SANs, normalised (U-labels
			  as A-labels), sorted, unique; with no
			  subjectAltName extension at all, the subject CN
			  if it is a host name with a dot; may be empty */
	size_t nnames;
	size_t nskipped;   /* SAN entries that are not usable names */
	char skipped[200]; /* why the first of them was skipped */
	bool is_ca;	   /* basicConstraints cA is true */
	time_t not_before;
	time_t not_after;
	unsigned char sha256[32];
	unsigned char aki[64]; /* authority key identifier */
	size_t aki_len;
	bool precert; /* carries the CT poison extension (RFC 6962) */
	char **ocsp_urls;
	size_t nocsp;
	char **crl_urls;
	size_t ncrl;
};

/*
 * Fills *out from x (borrowed): whatever OpenSSL reads, including
 * certificates with serial 0 or a negative serial, duplicate or unknown
 * extensions, no usable name.  Returns 0, or -1 with a lower-case reason
 * in err only when the validity cannot be read or the serial is longer
 * than 20 octets.  On success release with certinfo_release().
 */
CR_MUST_CHECK int certinfo_from_x509(X509 *x, struct certinfo *out, char *err,
				     size_t errlen);
void certinfo_release(struct certinfo *ci);

/* A name in the RFC 2253 one-line form certinfo uses (caller frees). */
CR_MUST_CHECK char *certinfo_name_text(const X509_NAME *name);

/* The same from DER bytes. */
CR_MUST_CHECK int certinfo_from_der(const unsigned char *der, size_t len,
				    struct certinfo *out, char *err,
				    size_t errlen);

#endif
