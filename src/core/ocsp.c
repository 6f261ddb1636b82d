/*
 * ocsp.c - OCSP requests and responses as bytes (RFC 6960), judged
 * against the issuer and a time the caller gives.
 */
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "certrecall/base/utctime.h"
#include "certrecall/core/ocsp.h"

const char *ocsp_status_name(enum ocsp_status status)
{
	switch (status) {
	case OCSP_GOOD:
		return "good";
	case OCSP_REVOKED:
		return "revoked";
	case OCSP_UNKNOWN:
		return "unknown";
	case OCSP_ERROR:
		break;
	}
	return "error";
}

static int res_fail(struct ocsp_answer *res, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int res_fail(struct ocsp_answer *res, const char *fmt, ...)
{
	va_list ap;

	res->status = OCSP_ERROR;
	va_start(ap, fmt);
	/* A reason longer than error is cut to fit: it stays a reason. */
	if (vsnprintf(res->error, sizeof(res->error), fmt, ap) < 0)
		res->error[0] = '\0';
	va_end(ap);
	return -1;
}

/* The first queued OpenSSL error, for context; clears the queue. */
static const char *ssl_reason(char *buf, size_t len)
{
	unsigned long e = ERR_peek_error();

	if (e != 0)
		ERR_error_string_n(e, buf, len);
	else if (snprintf(buf, len, "no detail") >= (int)len)
		buf[0] = '\0'; /* len is 200: cannot happen */
	ERR_clear_error();
	return buf;
}

static int asn1_time_t(const ASN1_TIME *t, time_t *out)
{
	struct tm tm;

	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return -1;
	*out = timegm(&tm);
	return 0;
}

static void fmt_time(time_t t, char *buf, size_t len)
{
	if (utctime_format_rfc3339(t, buf, len) < 0 &&
	    snprintf(buf, len, "%lld", (long long)t) >= (int)len)
		buf[0] = '\0'; /* len is UTCTIME_BUFSZ: cannot happen */
}

/* The serial as the certificate carries it: zero and negative serials
 * too (serial.h), so their CertID is theirs. */
static OCSP_CERTID *certid_new(X509 *issuer, const struct serial *serial)
{
	unsigned char der[SERIAL_STORED_MAX + 3];
	const unsigned char *p = der;
	size_t n = serial_der_content(serial, der + 2);
	ASN1_INTEGER *ai;
	OCSP_CERTID *id = NULL;

	der[0] = V_ASN1_INTEGER;
	der[1] = (unsigned char)n;
	ai = d2i_ASN1_INTEGER(NULL, &p, (long)n + 2);
	if (ai != NULL)
		id = OCSP_cert_id_new(EVP_sha1(), X509_get_subject_name(issuer),
				      X509_get0_pubkey_bitstr(issuer), ai);
	ASN1_INTEGER_free(ai);
	return id;
}

int ocsp_build_request(X509 *issuer, const struct serial *serial,
		       unsigned char **der)
{
	OCSP_REQUEST *req = OCSP_REQUEST_new();
	OCSP_CERTID *id = certid_new(issuer, serial);
	int len = -1;

	*der = NULL;
	if (req == NULL || id == NULL || OCSP_request_add0_id(req, id) == NULL)
		goto out;
	id = NULL; /* owned by req */
	len = i2d_OCSP_REQUEST(req, der);
	if (len <= 0)
		len = -1;
out:
	ERR_clear_error();
	OCSP_CERTID_free(id);
	OCSP_REQUEST_free(req);
	return len;
}

/* "4d", "6h", "90s": a maximum age as revcheck.max_age would say it. */
static void fmt_age(long s, char *buf, size_t len)
{
	int n = s % 86400 == 0	? snprintf(buf, len, "%ldd", s / 86400)
		: s % 3600 == 0 ? snprintf(buf, len, "%ldh", s / 3600)
				: snprintf(buf, len, "%lds", s);

	if (n < 0 || (size_t)n >= len)
		buf[0] = '\0'; /* len is 32: cannot happen */
}

/*
 * RFC 6960 4.2.2.1 / 3.2 item 5, with skew_s of allowance: res's
 * thisUpdate not after now, its nextUpdate (has_next) not before, and
 * without one, thisUpdate no older than max_age_s (0: no limit).  0, or
 * -1 with the reason in res.
 */
static int check_fresh(struct ocsp_answer *res, bool has_next, time_t now,
		       long skew_s, long max_age_s)
{
	char a[UTCTIME_BUFSZ], b[UTCTIME_BUFSZ], age[32];

	fmt_time(now, b, sizeof(b));
	if (res->this_update > now + skew_s) {
		fmt_time(res->this_update, a, sizeof(a));
		return res_fail(
			res, "not yet valid: thisUpdate %s after now %s", a, b);
	}
	if (has_next && res->next_update < now - skew_s) {
		fmt_time(res->next_update, a, sizeof(a));
		return res_fail(res, "stale: nextUpdate %s before now %s", a,
				b);
	}
	/* RFC 6960 4.2.2.1 leaves an answer without nextUpdate fresh
	 * "immediately"; one that old is no evidence of the present. */
	if (!has_next && max_age_s > 0 &&
	    res->this_update + max_age_s < now - skew_s) {
		fmt_time(res->this_update, a, sizeof(a));
		fmt_age(max_age_s, age, sizeof(age));
		return res_fail(res,
				"stale: no nextUpdate and thisUpdate %s more "
				"than %s (revcheck.max_age) before now %s",
				a, age, b);
	}
	return 0;
}

int ocsp_parse_response(const unsigned char *der, size_t len, X509 *issuer,
			const struct serial *serial, time_t now, long skew_s,
			long max_age_s, struct ocsp_answer *res)
{
	const unsigned char *p = der;
	OCSP_RESPONSE *resp = NULL;
	OCSP_BASICRESP *bs = NULL;
	OCSP_CERTID *id = NULL;
	X509_STORE *store = NULL;
	STACK_OF(X509) *certs = NULL;
	ASN1_GENERALIZEDTIME *rev = NULL, *thisupd = NULL, *nextupd = NULL;
	int status, reason = -1, st, rc = -1;
	char why[200];

	res->status = OCSP_ERROR;
	res->serial = *serial;
	res->revoked_at = res->produced_at = 0;
	res->this_update = res->next_update = 0;
	res->reason = -1;
	res->error[0] = '\0';
	res->transient = false;
	if (len == 0 || len > LONG_MAX ||
	    (resp = d2i_OCSP_RESPONSE(NULL, &p, (long)len)) == NULL ||
	    p != der + len) {
		res_fail(res, "malformed response");
		goto out;
	}
	st = OCSP_response_status(resp);
	if (st != OCSP_RESPONSE_STATUS_SUCCESSFUL) {
		res_fail(res, "responder status %s",
			 OCSP_response_status_str(st));
		/* RFC 6960 2.3: the responder may answer later. */
		res->transient = st == OCSP_RESPONSE_STATUS_TRYLATER ||
				 st == OCSP_RESPONSE_STATUS_INTERNALERROR;
		goto out;
	}
	if ((bs = OCSP_response_get1_basic(resp)) == NULL) {
		res_fail(res, "malformed response: not a basic response");
		goto out;
	}
	/*
	 * The issuer is the only trust anchor (it may be an intermediate,
	 * hence PARTIAL_CHAIN).  OCSP_basic_verify then accepts the issuer
	 * itself or a certificate it issued with id-kp-OCSPSigning
	 * (RFC 6960 4.2.2.2); chain validity is judged at now.
	 */
	store = X509_STORE_new();
	certs = sk_X509_new_null();
	if (store == NULL || certs == NULL ||
	    X509_STORE_add_cert(store, issuer) != 1 ||
	    X509_STORE_set_flags(store, X509_V_FLAG_PARTIAL_CHAIN) != 1 ||
	    !sk_X509_push(certs, issuer)) {
		res_fail(res, "out of memory");
		goto out;
	}
	X509_VERIFY_PARAM_set_time(X509_STORE_get0_param(store), now);
	if (OCSP_basic_verify(bs, certs, store, 0) <= 0) {
		res_fail(res, "signature does not verify: %s",
			 ssl_reason(why, sizeof(why)));
		goto out;
	}
	if ((id = certid_new(issuer, serial)) == NULL) {
		res_fail(res, "cannot build CertID");
		goto out;
	}
	if (!OCSP_resp_find_status(bs, id, &status, &reason, &rev, &thisupd,
				   &nextupd)) {
		res_fail(res, "no response for serial");
		goto out;
	}
	if (asn1_time_t(OCSP_resp_get0_produced_at(bs), &res->produced_at) <
		    0 ||
	    asn1_time_t(thisupd, &res->this_update) < 0 ||
	    (nextupd != NULL && asn1_time_t(nextupd, &res->next_update) < 0) ||
	    (rev != NULL && asn1_time_t(rev, &res->revoked_at) < 0)) {
		res_fail(res, "malformed response: bad time");
		goto out;
	}
	if (check_fresh(res, nextupd != NULL, now, skew_s, max_age_s) < 0)
		goto out;
	switch (status) {
	case V_OCSP_CERTSTATUS_GOOD:
		res->status = OCSP_GOOD;
		break;
	case V_OCSP_CERTSTATUS_REVOKED:
		if (rev == NULL) {
			res_fail(res, "malformed response: no revocationTime");
			goto out;
		}
		res->status = OCSP_REVOKED;
		/* As a CRL entry's (crl.h): a code the database cannot
		 * hold (smallint) is kept as none. */
		res->reason = reason >= 0 && reason <= 32767 ? reason : -1;
		break;
	default:
		res->status = OCSP_UNKNOWN;
		break;
	}
	rc = 0;
out:
	if (rc < 0)
		res->status = OCSP_ERROR;
	ERR_clear_error();
	OCSP_CERTID_free(id);
	sk_X509_free(certs);
	X509_STORE_free(store);
	OCSP_BASICRESP_free(bs);
	OCSP_RESPONSE_free(resp);
	return rc;
}
