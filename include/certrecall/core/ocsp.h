/*
 * ocsp - OCSP requests and responses (RFC 6960) as bytes: the DER request
 * for (issuer, serial), and the judgement of a DER response.  Pure apart
 * from OpenSSL's libcrypto: no network, no clock (the caller passes now).
 */
#ifndef CERTRECALL_OCSP_H
#define CERTRECALL_OCSP_H

#include <openssl/x509.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "certrecall/core/serial.h"
#include "certrecall/base/xalloc.h"

enum ocsp_status {
	OCSP_ERROR = 0, /* no usable answer: see error */
	OCSP_GOOD,
	OCSP_REVOKED,
	OCSP_UNKNOWN,
};

/* What one response says about one serial. */
struct ocsp_answer {
	enum ocsp_status status;
	struct serial serial;
	time_t revoked_at; /* OCSP_REVOKED only, UTC */
	int reason;	   /* CRLReason code 0..32767, -1 when absent (or out of
		       that range) */
	time_t produced_at; /* 0 when unknown */
	time_t this_update;
	time_t next_update; /* 0 when the response has none */
	char error[256];    /* OCSP_ERROR: "timeout", "http 503", ... */
	/* OCSP_ERROR: a retry may succeed (transport failure, timeout,
	 * HTTP 429/5xx, responder tryLater/internalError); otherwise the
	 * answer was refused or unusable (signature, stale, malformed, 4xx) */
	bool transient;
};

/* "good", "revoked", "unknown", "error". */
CR_MUST_CHECK const char *ocsp_status_name(enum ocsp_status status);

/*
 * Checks one DER OCSPResponse: responseStatus successful, a
 * BasicOCSPResponse signed by issuer (borrowed) or by a responder
 * certificate issuer signed with id-kp-OCSPSigning (RFC 6960 4.2.2.2), a
 * SingleResponse for the SHA-1 CertID of (issuer, serial), and
 * thisUpdate <= now + skew_s, nextUpdate >= now - skew_s; without a
 * nextUpdate, thisUpdate + max_age_s >= now - skew_s (max_age_s 0: no
 * limit).  Fills *ans (status, serial, times, reason) and returns 0; on
 * any failure returns -1 with ans->status OCSP_ERROR and a lower-case
 * reason in ans->error ("malformed response", "responder status
 * unauthorized", "signature does not verify: ...", "no response for
 * serial", "stale: ...", "not yet valid: ...").  Never reads more than
 * len bytes; trailing bytes are malformed.
 */
CR_MUST_CHECK int ocsp_parse_response(const unsigned char *der, size_t len,
				      X509 *issuer, const struct serial *serial,
				      time_t now, long skew_s, long max_age_s,
				      struct ocsp_answer *ans);

/*
 * The DER OCSPRequest for (issuer, serial): one SHA-1 CertID built from
 * the issuer's name and key (no leaf needed), no nonce.  Returns a
 * length > 0 and *der (OPENSSL_free it), or -1.
 */
CR_MUST_CHECK int ocsp_build_request(X509 *issuer, const struct serial *serial,
				     unsigned char **der);

#endif
