/*
 * test_revcheck.c - OCSP responses built here with OpenSSL are judged by
 * revfetch_parse_response: good, revoked (with and without a reason) and
 * unknown are read; the issuer or a delegated responder it certified for
 * OCSPSigning may sign; a responder without that EKU, an unrelated key, a
 * stale or future response, one without nextUpdate older than max_age,
 * one about another serial, a non-successful responseStatus and garbage
 * are errors, only "try later" among them transient.  The engine reports
 * a responder that is down as a transient error, never as good.
 */
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <time.h>

#include "certrecall/net/revfetch.h"
#include "unit.h"

#define NOW ((time_t)1700000000) /* 2023-11-14T22:13:20Z */

static EVP_PKEY *ca_key, *resp_key, *rogue_key;
static X509 *ca, *responder, *plain_cert, *rogue;
static struct serial ours = { 3, { 0x0a, 0x0b, 0x0c } };
static struct serial theirs = { 1, { 0x42 } };

static void add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *e;

	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	ck_assert_ptr_nonnull(e);
	X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
}

/* A certificate for key named cn, signed by (issuer, ikey) or itself. */
static X509 *make_cert(EVP_PKEY *key, const char *cn, X509 *issuer,
		       EVP_PKEY *ikey, long serial, const char *eku)
{
	X509 *x = X509_new();
	X509_NAME *nm = X509_get_subject_name(x);

	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
	X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC,
				   (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : nm);
	/* valid around NOW and around the real clock (engine test) */
	ASN1_TIME_set(X509_getm_notBefore(x), NOW - 86400 * 365);
	X509_time_adj_ex(X509_getm_notAfter(x), 3650, 0, NULL);
	X509_set_pubkey(x, key);
	if (issuer == NULL) {
		add_ext(x, x, NID_basic_constraints, "critical,CA:TRUE");
		add_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign");
	} else {
		add_ext(x, issuer, NID_key_usage, "critical,digitalSignature");
		if (eku != NULL)
			add_ext(x, issuer, NID_ext_key_usage, eku);
	}
	ck_assert_int_gt(X509_sign(x, ikey ? ikey : key, EVP_sha256()), 0);
	return x;
}

static void setup(void)
{
	ca_key = EVP_EC_gen("P-256");
	resp_key = EVP_EC_gen("P-256");
	rogue_key = EVP_EC_gen("P-256");
	ca = make_cert(ca_key, "Test CA", NULL, NULL, 1, NULL);
	responder =
		make_cert(resp_key, "Test OCSP", ca, ca_key, 2, "OCSPSigning");
	plain_cert =
		make_cert(resp_key, "Test TLS", ca, ca_key, 3, "serverAuth");
	rogue = make_cert(rogue_key, "Test CA", NULL, NULL, 1, NULL);
}

static void teardown(void)
{
	X509_free(rogue);
	X509_free(plain_cert);
	X509_free(responder);
	X509_free(ca);
	EVP_PKEY_free(rogue_key);
	EVP_PKEY_free(resp_key);
	EVP_PKEY_free(ca_key);
}

enum signer { BY_CA, BY_RESPONDER, BY_PLAIN_CERT, BY_ROGUE };

struct resp_spec {
	const char *name;
	int resp_status; /* OCSP_RESPONSE_STATUS_* */
	enum signer signer;
	const struct serial *about;
	int cert_status;	 /* V_OCSP_CERTSTATUS_* */
	int reason;		 /* -1 none */
	long this_off, next_off; /* relative to NOW; next_off 0: absent */
};

static size_t make_response(const struct resp_spec *r, unsigned char **der)
{
	OCSP_BASICRESP *bs = OCSP_BASICRESP_new();
	OCSP_RESPONSE *resp;
	ASN1_TIME *thisupd = ASN1_TIME_set(NULL, NOW + r->this_off);
	ASN1_TIME *nextupd = ASN1_TIME_set(NULL, NOW + r->next_off);
	ASN1_TIME *revtime = ASN1_TIME_set(NULL, NOW - 7200);
	BIGNUM *bn = BN_bin2bn(r->about->b, (int)r->about->len, NULL);
	ASN1_INTEGER *ai = BN_to_ASN1_INTEGER(bn, NULL);
	OCSP_CERTID *id =
		OCSP_cert_id_new(EVP_sha1(), X509_get_subject_name(ca),
				 X509_get0_pubkey_bitstr(ca), ai);
	X509 *scert = r->signer == BY_CA	   ? ca
		      : r->signer == BY_RESPONDER  ? responder
		      : r->signer == BY_PLAIN_CERT ? plain_cert
						   : rogue;
	EVP_PKEY *skey = r->signer == BY_CA	 ? ca_key
			 : r->signer == BY_ROGUE ? rogue_key
						 : resp_key;
	int len;

	ck_assert_ptr_nonnull(OCSP_basic_add1_status(
		bs, id, r->cert_status, r->reason,
		r->cert_status == V_OCSP_CERTSTATUS_REVOKED ? revtime : NULL,
		thisupd, r->next_off ? nextupd : NULL));
	ck_assert_int_eq(OCSP_basic_sign(bs, scert, skey, EVP_sha256(), NULL,
					 r->signer == BY_CA ? OCSP_NOCERTS : 0),
			 1);
	resp = OCSP_response_create(
		r->resp_status,
		r->resp_status == OCSP_RESPONSE_STATUS_SUCCESSFUL ? bs : NULL);
	*der = NULL;
	len = i2d_OCSP_RESPONSE(resp, der);
	ck_assert_int_gt(len, 0);
	OCSP_RESPONSE_free(resp);
	OCSP_CERTID_free(id);
	ASN1_INTEGER_free(ai);
	BN_free(bn);
	ASN1_TIME_free(revtime);
	ASN1_TIME_free(nextupd);
	ASN1_TIME_free(thisupd);
	OCSP_BASICRESP_free(bs);
	return (size_t)len;
}

#define OK OCSP_RESPONSE_STATUS_SUCCESSFUL
#define GOOD V_OCSP_CERTSTATUS_GOOD
#define REVOKED V_OCSP_CERTSTATUS_REVOKED
#define UNKNOWN V_OCSP_CERTSTATUS_UNKNOWN

static const struct {
	struct resp_spec spec;
	enum revfetch_status want;
	int want_reason;
	const char *want_error; /* substring, for REVFETCH_ERROR */
	long max_age;		/* revcheck.max_age in seconds, 0: none */
} cases[] = {
	{ { "good, signed by the issuer", OK, BY_CA, &ours, GOOD, -1, -60,
	    3600 },
	  REVFETCH_GOOD,
	  -1,
	  NULL,
	  0 },
	{ { "revoked keyCompromise", OK, BY_CA, &ours, REVOKED, 1, -60, 3600 },
	  REVFETCH_REVOKED,
	  1,
	  NULL,
	  0 },
	{ { "revoked without a reason", OK, BY_CA, &ours, REVOKED, -1, -60,
	    3600 },
	  REVFETCH_REVOKED,
	  -1,
	  NULL,
	  0 },
	{ { "unknown", OK, BY_CA, &ours, UNKNOWN, -1, -60, 3600 },
	  REVFETCH_UNKNOWN,
	  -1,
	  NULL,
	  0 },
	{ { "no nextUpdate", OK, BY_CA, &ours, GOOD, -1, -60, 0 },
	  REVFETCH_GOOD,
	  -1,
	  NULL,
	  0 },
	{ { "no nextUpdate, thisUpdate 5 days ago: older than max_age", OK,
	    BY_CA, &ours, GOOD, -1, -5 * 86400, 0 },
	  REVFETCH_ERROR,
	  -1,
	  "stale: no nextUpdate and thisUpdate 2023-11-09T22:13:20Z more than "
	  "4d (revcheck.max_age) before now 2023-11-14T22:13:20Z",
	  4 * 86400 },
	{ { "no nextUpdate, thisUpdate 3 days ago: within max_age", OK, BY_CA,
	    &ours, REVOKED, 1, -3 * 86400, 0 },
	  REVFETCH_REVOKED,
	  1,
	  NULL,
	  4 * 86400 },
	{ { "no nextUpdate, max_age just past, within the skew", OK, BY_CA,
	    &ours, GOOD, -1, -4 * 86400 - 200, 0 },
	  REVFETCH_GOOD,
	  -1,
	  NULL,
	  4 * 86400 },
	{ { "a nextUpdate still ahead: max_age does not apply", OK, BY_CA,
	    &ours, GOOD, -1, -5 * 86400, 3600 },
	  REVFETCH_GOOD,
	  -1,
	  NULL,
	  4 * 86400 },
	{ { "delegated responder with OCSPSigning", OK, BY_RESPONDER, &ours,
	    REVOKED, 4, -60, 3600 },
	  REVFETCH_REVOKED,
	  4,
	  NULL,
	  0 },
	{ { "issuer-certified key without OCSPSigning", OK, BY_PLAIN_CERT,
	    &ours, GOOD, -1, -60, 3600 },
	  REVFETCH_ERROR,
	  -1,
	  "signature does not verify",
	  0 },
	{ { "unrelated key with the issuer's name", OK, BY_ROGUE, &ours, GOOD,
	    -1, -60, 3600 },
	  REVFETCH_ERROR,
	  -1,
	  "signature does not verify",
	  0 },
	{ { "stale nextUpdate", OK, BY_CA, &ours, GOOD, -1, -86400, -3600 },
	  REVFETCH_ERROR,
	  -1,
	  "stale: nextUpdate 2023-11-14T21:13:20Z",
	  0 },
	{ { "nextUpdate just past, within the skew", OK, BY_CA, &ours, GOOD, -1,
	    -86400, -100 },
	  REVFETCH_GOOD,
	  -1,
	  NULL,
	  0 },
	{ { "thisUpdate in the future", OK, BY_CA, &ours, GOOD, -1, 3600,
	    7200 },
	  REVFETCH_ERROR,
	  -1,
	  "not yet valid: thisUpdate",
	  0 },
	{ { "about another serial", OK, BY_CA, &theirs, REVOKED, 1, -60, 3600 },
	  REVFETCH_ERROR,
	  -1,
	  "no response for serial",
	  0 },
	{ { "tryLater", OCSP_RESPONSE_STATUS_TRYLATER, BY_CA, &ours, GOOD, -1,
	    -60, 3600 },
	  REVFETCH_ERROR,
	  -1,
	  "responder status trylater",
	  0 },
	{ { "unauthorized", OCSP_RESPONSE_STATUS_UNAUTHORIZED, BY_CA, &ours,
	    GOOD, -1, -60, 3600 },
	  REVFETCH_ERROR,
	  -1,
	  "responder status unauthorized",
	  0 },
};

START_TEST(responses_are_judged)
{
	unsigned char *der;
	size_t len = make_response(&cases[_i].spec, &der);
	struct revfetch_result res;
	int rc;

	memset(&res, 0, sizeof(res));
	rc = revfetch_parse_response(der, len, ca, &ours, NOW, 300,
				     cases[_i].max_age, &res);
	ck_assert_msg(res.status == cases[_i].want, "%s: got %s (%s)",
		      cases[_i].spec.name, revfetch_status_name(res.status),
		      res.error);
	ck_assert_int_eq(rc, cases[_i].want == REVFETCH_ERROR ? -1 : 0);
	if (cases[_i].want == REVFETCH_ERROR) {
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
		ck_assert_int_eq(res.revoked_at,
				 cases[_i].want == REVFETCH_REVOKED ? NOW - 7200
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
	struct revfetch_result res;

	ck_assert_int_eq(revfetch_parse_response((const unsigned char *)"x", 1,
						 ca, &ours, NOW, 300, 0, &res),
			 -1);
	ck_assert_str_eq(res.error, "malformed response");
	ck_assert_int_eq(
		revfetch_parse_response(der, 0, ca, &ours, NOW, 300, 0, &res),
		-1);
	longer = malloc(len + 1);
	memcpy(longer, der, len);
	longer[len] = 0;
	ck_assert_int_eq(revfetch_parse_response(longer, len + 1, ca, &ours,
						 NOW, 300, 0, &res),
			 -1);
	ck_assert_int_eq(res.status, REVFETCH_ERROR);
	for (size_t cut = 1; cut < len; cut += 5)
		ck_assert_int_eq(revfetch_parse_response(der, len - cut, ca,
							 &ours, NOW, 300, 0,
							 &res),
				 -1);
	free(longer);
	OPENSSL_free(der);
}
END_TEST

START_TEST(requests_carry_the_sha1_certid_of_issuer_and_serial)
{
	unsigned char *der = NULL;
	int len = revfetch_build_request(ca, &ours, &der);
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

static void record(const struct revfetch_result *res, void *user)
{
	struct revfetch_result *out = user;

	*out = *res;
	out->url = NULL;
}

static void fetched(const char *url, bool ok, bool transient, long http,
		    const unsigned char *body, size_t len, const char *err,
		    void *user)
{
	char *out = user;

	(void)url;
	(void)http;
	(void)body;
	(void)len;
	snprintf(out, 256, "%s%s %s", ok ? "ok" : "failed",
		 transient ? " (transient)" : "", err ? err : "");
}

START_TEST(a_responder_that_is_down_is_an_error_not_good)
{
	/* Port 1 on loopback: nothing listens, connect is refused. */
	struct revfetch_opts o = { .retries = 1,
				   .backoff_ms = 10,
				   .timeout_ms = 2000,
				   .ocsp_cb = record };
	struct revfetch *rc = revfetch_new(&o);
	struct revfetch_result res[2];
	char fetch_out[256] = "";

	memset(res, 0, sizeof(res));
	res[0].status = res[1].status = REVFETCH_GOOD;
	ck_assert_ptr_nonnull(rc);
	ck_assert_int_eq(revfetch_add_ocsp(rc, "http://127.0.0.1:1/", ca, &ours,
					   &res[0]),
			 0);
	ck_assert_int_eq(revfetch_add_ocsp(rc, "http://127.0.0.1:1/ocsp", ca,
					   &theirs, &res[1]),
			 0);
	ck_assert_int_eq(revfetch_add_fetch(rc, "http://127.0.0.1:1/x.crl",
					    1 << 20, fetched, fetch_out),
			 0);
	ck_assert_uint_eq(revfetch_pending(rc), 3);
	ck_assert_int_eq(revfetch_run(rc), 0);
	ck_assert_uint_eq(revfetch_pending(rc), 0);
	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(res[i].status, REVFETCH_ERROR);
		ck_assert_int_eq(res[i].attempts, 2);
		ck_assert(res[i].transient); /* a later run may succeed */
		ck_assert_msg(strstr(res[i].error, "transport") != NULL, "%s",
			      res[i].error);
	}
	ck_assert_int_eq(serial_compare(&res[1].serial, &theirs), 0);
	ck_assert_msg(strncmp(fetch_out, "failed (transient) transport", 28) ==
			      0,
		      "%s", fetch_out);
	revfetch_free(rc);
}
END_TEST

START_TEST(freeing_with_checks_pending_releases_everything)
{
	struct revfetch_opts o = { .ocsp_cb = record, .ocsp_get = true };
	struct revfetch *rc = revfetch_new(&o);
	struct revfetch_result res;

	ck_assert_int_eq(
		revfetch_add_ocsp(rc, "http://127.0.0.1:1/", ca, &ours, &res),
		0);
	ck_assert_int_ge(revfetch_step(rc, 0), 0);
	revfetch_free(rc);
}
END_TEST

static Suite *revfetch_suite(void)
{
	Suite *s = suite_create("revcheck");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, responses_are_judged, 0,
			    sizeof(cases) / sizeof(cases[0]));
	tcase_add_test(tc, garbage_and_trailing_bytes_are_malformed);
	tcase_add_test(tc, requests_carry_the_sha1_certid_of_issuer_and_serial);
	tcase_add_test(tc, a_responder_that_is_down_is_an_error_not_good);
	tcase_add_test(tc, freeing_with_checks_pending_releases_everything);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(revfetch_suite)
