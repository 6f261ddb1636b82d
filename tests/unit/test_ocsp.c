/*
 * test_ocsp.c - OCSP responses built here with OpenSSL are judged by
 * ocsp_parse_response: good, revoked (with and without a reason) and
 * unknown are read (a reason code past 32767 as none); the issuer or a delegated responder it certified for
 * OCSPSigning may sign; a responder without that EKU, an unrelated key, a
 * stale or future response, one without nextUpdate older than max_age,
 * one about another serial, a non-successful responseStatus and garbage
 * are errors, only "try later" among them transient.  Requests carry the
 * SHA-1 CertID of issuer and serial.
 */
#include "certrecall/core/ocsp.h"
#include "ocsp_fixture.h"

#define OK OCSP_RESPONSE_STATUS_SUCCESSFUL
#define GOOD V_OCSP_CERTSTATUS_GOOD
#define REVOKED V_OCSP_CERTSTATUS_REVOKED
#define UNKNOWN V_OCSP_CERTSTATUS_UNKNOWN

static const struct {
	struct resp_spec spec;
	enum ocsp_status want;
	int want_reason;
	const char *want_error; /* substring, for OCSP_ERROR */
	long max_age;		/* revcheck.max_age in seconds, 0: none */
} cases[] = {
	{ { "good, signed by the issuer", OK, BY_CA, &ours, GOOD, -1, -60,
	    3600 },
	  OCSP_GOOD,
	  -1,
	  NULL,
	  0 },
	{ { "revoked keyCompromise", OK, BY_CA, &ours, REVOKED, 1, -60, 3600 },
	  OCSP_REVOKED,
	  1,
	  NULL,
	  0 },
	{ { "revoked without a reason", OK, BY_CA, &ours, REVOKED, -1, -60,
	    3600 },
	  OCSP_REVOKED,
	  -1,
	  NULL,
	  0 },
	{ { "revoked with an undefined reason code", OK, BY_CA, &ours, REVOKED,
	    12, -60, 3600 },
	  OCSP_REVOKED,
	  12,
	  NULL,
	  0 },
	/* A code the database's smallint cannot hold is kept as none, as a
	 * CRL entry's: it would make the COPY of every answer fail. */
	{ { "revoked with a reason code past 32767", OK, BY_CA, &ours, REVOKED,
	    40000, -60, 3600 },
	  OCSP_REVOKED,
	  -1,
	  NULL,
	  0 },
	{ { "unknown", OK, BY_CA, &ours, UNKNOWN, -1, -60, 3600 },
	  OCSP_UNKNOWN,
	  -1,
	  NULL,
	  0 },
	{ { "no nextUpdate", OK, BY_CA, &ours, GOOD, -1, -60, 0 },
	  OCSP_GOOD,
	  -1,
	  NULL,
	  0 },
	{ { "no nextUpdate, thisUpdate 5 days ago: older than max_age", OK,
	    BY_CA, &ours, GOOD, -1, -5 * 86400, 0 },
	  OCSP_ERROR,
	  -1,
	  "stale: no nextUpdate and thisUpdate 2023-11-09T22:13:20Z more than "
	  "4d (revcheck.max_age) before now 2023-11-14T22:13:20Z",
	  4 * 86400 },
	{ { "no nextUpdate, thisUpdate 3 days ago: within max_age", OK, BY_CA,
	    &ours, REVOKED, 1, -3 * 86400, 0 },
	  OCSP_REVOKED,
	  1,
	  NULL,
	  4 * 86400 },
	{ { "no nextUpdate, max_age just past, within the skew", OK, BY_CA,
	    &ours, GOOD, -1, -4 * 86400 - 200, 0 },
	  OCSP_GOOD,
	  -1,
	  NULL,
	  4 * 86400 },
	{ { "a nextUpdate still ahead: max_age does not apply", OK, BY_CA,
	    &ours, GOOD, -1, -5 * 86400, 3600 },
	  OCSP_GOOD,
	  -1,
	  NULL,
	  4 * 86400 },
	{ { "delegated responder with OCSPSigning", OK, BY_RESPONDER, &ours,
	    REVOKED, 4, -60, 3600 },
	  OCSP_REVOKED,
	  4,
	  NULL,
	  0 },
	{ { "issuer-certified key without OCSPSigning", OK, BY_PLAIN_CERT,
	    &ours, GOOD, -1, -60, 3600 },
	  OCSP_ERROR,
	  -1,
	  "signature does not verify",
	  0 },
	{ { "unrelated key with the issuer's name", OK, BY_ROGUE, &ours, GOOD,
	    -1, -60, 3600 },
	  OCSP_ERROR,
	  -1,
	  "signature does not verify",
	  0 },
	{ { "stale nextUpdate", OK, BY_CA, &ours, GOOD, -1, -86400, -3600 },
	  OCSP_ERROR,
	  -1,
	  "stale: nextUpdate 2023-11-14T21:13:20Z",
	  0 },
	{ { "nextUpdate just past, within the skew", OK, BY_CA, &ours, GOOD, -1,
	    -86400, -100 },
	  OCSP_GOOD,
	  -1,
	  NULL,
	  0 },
	{ { "thisUpdate in the future", OK, BY_CA, &ours, GOOD, -1, 3600,
	    7200 },
	  OCSP_ERROR,
	  -1,
	  "not yet valid: thisUpdate",
	  0 },
	{ { "about another serial", OK, BY_CA, &theirs, REVOKED, 1, -60, 3600 },
	  OCSP_ERROR,
	  -1,
	  "no response for serial",
	  0 },
	{ { "tryLater", OCSP_RESPONSE_STATUS_TRYLATER, BY_CA, &ours, GOOD, -1,
	    -60, 3600 },
	  OCSP_ERROR,
	  -1,
	  "responder status trylater",
	  0 },
	{ { "unauthorized", OCSP_RESPONSE_STATUS_UNAUTHORIZED, BY_CA, &ours,
	    GOOD, -1, -60, 3600 },
	  OCSP_ERROR,
	  -1,
	  "responder status unauthorized",
	  0 },
};

START_TEST(responses_are_judged)
{
	unsigned char *der;
	size_t len = make_response(&cases[_i].spec, &der);
	struct ocsp_answer res;
	int rc;

	memset(&res, 0, sizeof(res));
	rc = ocsp_parse_response(der, len, ca, &ours, NOW, 300,
				 cases[_i].max_age, &res);
	ck_assert_msg(res.status == cases[_i].want, "%s: got %s (%s)",
		      cases[_i].spec.name, ocsp_status_name(res.status),
		      res.error);
	ck_assert_int_eq(rc, cases[_i].want == OCSP_ERROR ? -1 : 0);
	if (cases[_i].want == OCSP_ERROR) {
		ck_assert_msg(strstr(res.error, cases[_i].want_error) != NULL,
			      "%s: got \"%s\"", cases[_i].spec.name, res.error);
		/* Only "try later" (and internalError) may be retried. */
		ck_assert_int_eq(res.transient, strstr(cases[_i].want_error,
						       "trylater") != NULL);
	} else {
		ck_assert_int_eq(res.reason, cases[_i].want_reason);
		ck_assert_int_eq(res.this_update,
				 NOW + cases[_i].spec.this_off);
		ck_assert_int_eq(res.next_update,
				 cases[_i].spec.next_off
					 ? NOW + cases[_i].spec.next_off
					 : 0);
		ck_assert_int_gt(res.produced_at, NOW - 86400);
		ck_assert_int_eq(res.revoked_at, cases[_i].want == OCSP_REVOKED
							 ? NOW - 7200
							 : 0);
		ck_assert_int_eq(serial_compare(&res.serial, &ours), 0);
	}
	OPENSSL_free(der);
}
END_TEST

START_TEST(garbage_and_trailing_bytes_are_malformed)
{
	static const struct resp_spec good = { "good", OK, BY_CA, &ours,
					       GOOD,   -1, -60,	  3600 };
	unsigned char *der, *longer;
	size_t len = make_response(&good, &der);
	struct ocsp_answer res;

	ck_assert_int_eq(ocsp_parse_response((const unsigned char *)"x", 1, ca,
					     &ours, NOW, 300, 0, &res),
			 -1);
	ck_assert_str_eq(res.error, "malformed response");
	ck_assert_int_eq(
		ocsp_parse_response(der, 0, ca, &ours, NOW, 300, 0, &res), -1);
	longer = malloc(len + 1);
	memcpy(longer, der, len);
	longer[len] = 0;
	ck_assert_int_eq(ocsp_parse_response(longer, len + 1, ca, &ours, NOW,
					     300, 0, &res),
			 -1);
	ck_assert_int_eq(res.status, OCSP_ERROR);
	for (size_t cut = 1; cut < len; cut += 5)
		ck_assert_int_eq(ocsp_parse_response(der, len - cut, ca, &ours,
						     NOW, 300, 0, &res),
				 -1);
	free(longer);
	OPENSSL_free(der);
}
END_TEST

START_TEST(requests_carry_the_sha1_certid_of_issuer_and_serial)
{
	unsigned char *der = NULL;
	int len = ocsp_build_request(ca, &ours, &der);
	const unsigned char *p = der;
	OCSP_REQUEST *req;
	ASN1_INTEGER *sn = NULL;
	ASN1_OBJECT *md = NULL;
	BIGNUM *bn;
	unsigned char b[SERIAL_MAX];

	ck_assert_int_gt(len, 0);
	ck_assert_int_le(len, 255); /* small enough for GET */
	req = d2i_OCSP_REQUEST(NULL, &p, len);
	ck_assert_ptr_nonnull(req);
	ck_assert_int_eq(OCSP_request_onereq_count(req), 1);
	OCSP_id_get0_info(
		NULL, &md, NULL, &sn,
		OCSP_onereq_get0_id(OCSP_request_onereq_get0(req, 0)));
	ck_assert_int_eq(OBJ_obj2nid(md), NID_sha1);
	bn = ASN1_INTEGER_to_BN(sn, NULL);
	ck_assert_int_eq(BN_bn2bin(bn, b), 3);
	ck_assert_mem_eq(b, ours.b, 3);
	BN_free(bn);
	OCSP_REQUEST_free(req);
	OPENSSL_free(der);
}
END_TEST

static Suite *ocsp_suite(void)
{
	Suite *s = suite_create("ocsp");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, responses_are_judged, 0,
			    sizeof(cases) / sizeof(cases[0]));
	tcase_add_test(tc, garbage_and_trailing_bytes_are_malformed);
	tcase_add_test(tc, requests_carry_the_sha1_certid_of_issuer_and_serial);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(ocsp_suite)
