/*
 * test_certinfo.c - fields read from certificates built here with OpenSSL.
 */
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>
#include <string.h>

#include "certrecall/certinfo.h"
#include "unit.h"

static EVP_PKEY *key;

/* A certificate with the given serial (hex, may start with "-"), CN and
 * extensions ("nid=value" pairs as for X509V3_EXT_conf_nid). */
static X509 *make_cert(const char *serial_hex, const char *cn, const int *nids,
		       const char *const *values, int next)
{
	X509 *x = X509_new();
	X509_NAME *name = X509_NAME_new();
	BIGNUM *bn = NULL;
	X509V3_CTX ctx;

	ck_assert_int_gt(BN_hex2bn(&bn, serial_hex), 0);
	BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x));
	BN_free(bn);
	X509_set_version(x, 2);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
				   (const unsigned char *)cn, -1, -1, 0);
	X509_set_subject_name(x, name);
	X509_set_issuer_name(x, name);
	X509_NAME_free(name);
	ASN1_TIME_set_string(X509_getm_notBefore(x), "20200101000000Z");
	ASN1_TIME_set_string(X509_getm_notAfter(x), "20200331235959Z");
	X509_set_pubkey(x, key);
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	for (int i = 0; i < next; i++) {
		X509_EXTENSION *ext =
			X509V3_EXT_conf_nid(NULL, &ctx, nids[i], values[i]);

		ck_assert_ptr_nonnull(ext);
		X509_add_ext(x, ext, -1);
		X509_EXTENSION_free(ext);
	}
	ck_assert_int_gt(X509_sign(x, key, EVP_sha256()), 0);
	return x;
}

START_TEST(reads_serial_names_validity_urls)
{
	const int nids[] = { NID_subject_alt_name, NID_info_access,
			     NID_crl_distribution_points };
	const char *const vals[] = {
		"DNS:Www.Example.COM,DNS:example.com,IP:192.0.2.7,"
		"DNS:example.com",
		"OCSP;URI:http://ocsp.example/,caIssuers;URI:http://ca/",
		"URI:http://crl.example/1.crl",
	};
	X509 *x = make_cert("00ABCDEF", "ignored.example", nids, vals, 3);
	struct certinfo ci;
	char err[256];

	ck_assert_msg(certinfo_from_x509(x, &ci, err, sizeof(err)) == 0, "%s",
		      err);
	ck_assert_uint_eq(ci.serial.len, 3);
	ck_assert_int_eq(memcmp(ci.serial.b, "\xab\xcd\xef", 3), 0);
	/* Normalised, sorted, unique; the CN is not a name when SANs
	 * exist. */
	ck_assert_uint_eq(ci.nnames, 3);
	ck_assert_str_eq(ci.names[0], "192.0.2.7");
	ck_assert_str_eq(ci.names[1], "example.com");
	ck_assert_str_eq(ci.names[2], "www.example.com");
	ck_assert_int_eq(ci.not_before, 1577836800);
	ck_assert_int_eq(ci.not_after, 1585699199);
	ck_assert_uint_eq(ci.nocsp, 1);
	ck_assert_str_eq(ci.ocsp_urls[0], "http://ocsp.example/");
	ck_assert_uint_eq(ci.ncrl, 1);
	ck_assert_str_eq(ci.crl_urls[0], "http://crl.example/1.crl");
	ck_assert_str_eq(ci.subject, "CN=ignored.example");
	ck_assert(!ci.precert);
	certinfo_release(&ci);
	X509_free(x);
}
END_TEST

START_TEST(no_sans_means_the_common_name)
{
	X509 *x = make_cert("01", "Legacy.Example.", NULL, NULL, 0);
	struct certinfo ci;
	char err[256];

	ck_assert_int_eq(certinfo_from_x509(x, &ci, err, sizeof(err)), 0);
	ck_assert_uint_eq(ci.nnames, 1);
	ck_assert_str_eq(ci.names[0], "legacy.example");
	certinfo_release(&ci);
	X509_free(x);
}
END_TEST

START_TEST(precertificate_poison_is_seen)
{
	const int nids[] = { NID_ct_precert_poison };
	const char *const vals[] = { "critical,NULL" };
	X509 *x = make_cert("02", "p.example", nids, vals, 1);
	struct certinfo ci;
	char err[256];

	ck_assert_int_eq(certinfo_from_x509(x, &ci, err, sizeof(err)), 0);
	ck_assert(ci.precert);
	certinfo_release(&ci);
	X509_free(x);
}
END_TEST

static const struct {
	const char *serial;
	const char *san;
	const char *why;
} refused[] = {
	{ "-05", NULL, "serial" },
	{ "00", NULL, "serial" },
	{ "0102030405060708090a0b0c0d0e0f101112131415", NULL, "serial" },
	{ "03", "DNS:bad name.example", "subjectAltName" },
	{ "03", "DNS:a.*.example", "subjectAltName" },
};

START_TEST(bad_certificates_are_refused_with_a_reason)
{
	const int nids[] = { NID_subject_alt_name };
	const char *vals[] = { refused[_i].san };
	X509 *x = make_cert(refused[_i].serial, "x.example", nids, vals,
			    refused[_i].san ? 1 : 0);
	struct certinfo ci;
	char err[256] = "";

	ck_assert_int_eq(certinfo_from_x509(x, &ci, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, refused[_i].why) != NULL, "%s", err);
	X509_free(x);
}
END_TEST

START_TEST(der_round_trip)
{
	X509 *x = make_cert("7f", "d.example", NULL, NULL, 0);
	unsigned char *der = NULL;
	int len = i2d_X509(x, &der);
	struct certinfo ci;
	char err[256];

	ck_assert_int_gt(len, 0);
	ck_assert_int_eq(
		certinfo_from_der(der, (size_t)len, &ci, err, sizeof(err)), 0);
	ck_assert_uint_eq(ci.serial.b[0], 0x7f);
	certinfo_release(&ci);
	ck_assert_int_eq(
		certinfo_from_der(der, (size_t)len - 1, &ci, err, sizeof(err)),
		-1);
	OPENSSL_free(der);
	X509_free(x);
}
END_TEST

static void key_new(void)
{
	key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
}

static void key_free(void)
{
	EVP_PKEY_free(key);
}

static Suite *certinfo_suite(void)
{
	Suite *s = suite_create("certinfo");
	TCase *tc = tcase_create("certinfo");

	tcase_add_unchecked_fixture(tc, key_new, key_free);
	tcase_add_test(tc, reads_serial_names_validity_urls);
	tcase_add_test(tc, no_sans_means_the_common_name);
	tcase_add_test(tc, precertificate_poison_is_seen);
	tcase_add_loop_test(tc, bad_certificates_are_refused_with_a_reason, 0,
			    (int)(sizeof(refused) / sizeof(refused[0])));
	tcase_add_test(tc, der_round_trip);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(certinfo_suite)
