/*
 * ocsp_fixture.h - a CA, a delegated OCSP responder, a TLS certificate of
 * the CA and a rogue CA of the same name, made with OpenSSL around NOW,
 * and OCSP responses signed by any of them (test_ocsp, test_revfetch).
 */
#ifndef CERTRECALL_TESTS_OCSP_FIXTURE_H
#define CERTRECALL_TESTS_OCSP_FIXTURE_H

#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <time.h>

#include "certrecall/core/serial.h"
#include "unit.h"

#define NOW ((time_t)1700000000) /* 2023-11-14T22:13:20Z */

static EVP_PKEY *ca_key, *resp_key, *rogue_key;
static X509 *ca, *responder, *plain_cert, *rogue;
static struct serial ours = { 3, { 0x0a, 0x0b, 0x0c } };
static struct serial theirs = { 1, { 0x42 } };

static inline void add_ext(X509 *x, X509 *issuer, int nid, const char *value)
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
static inline X509 *make_cert(EVP_PKEY *key, const char *cn, X509 *issuer,
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

static inline void setup(void)
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

static inline void teardown(void)
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

static inline size_t make_response(const struct resp_spec *r,
				   unsigned char **der)
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

#endif
