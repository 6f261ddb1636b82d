/*
 * test_certinfo.c - fields read from certificates built here with OpenSSL.
 */
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>
#include <string.h>

#include "certrecall/core/certinfo.h"
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
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
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

/* Serials as OpenSSL reads them, zero and negative too (serial.h). */
static const struct {
	const char *serial; /* for BN_hex2bn */
	const char *stored; /* hex of the stored octets */
	const char *shown;  /* as openssl x509 -serial prints it */
	int sign;
} serials[] = {
	{ "00ABCDEF", "abcdef", "ABCDEF", 1 },
	{ "80", "80", "80", 1 },
	{ "00", "00", "00", 0 },
	{ "-01", "00ff", "-01", -1 },
	{ "-05", "00fb", "-05", -1 },
	{ "-80", "0080", "-80", -1 },
	{ "-81", "00ff7f", "-81", -1 },
	{ "-0102030405060708090a0b0c0d0e0f10111213",
	  "00fefdfcfbfaf9f8f7f6f5f4f3f2f1f0efeeeded",
	  "-0102030405060708090A0B0C0D0E0F10111213", -1 },
	{ "0102030405060708090a0b0c0d0e0f1011121314",
	  "0102030405060708090a0b0c0d0e0f1011121314",
	  "0102030405060708090A0B0C0D0E0F1011121314", 1 },
};

START_TEST(every_serial_openssl_reads_is_kept_and_shown_as_openssl_does)
{
	X509 *x = make_cert(serials[_i].serial, "s.example", NULL, NULL, 0);
	char hex[SERIAL_TEXT_MAX], shown[SERIAL_TEXT_MAX];
	struct certinfo ci;
	char err[256];

	ck_assert_msg(certinfo_from_x509(x, &ci, err, sizeof(err)) == 0, "%s",
		      err);
	serial_format_hex(&ci.serial, hex, sizeof(hex));
	serial_format_openssl(&ci.serial, shown, sizeof(shown));
	ck_assert_str_eq(hex, serials[_i].stored);
	ck_assert_str_eq(shown, serials[_i].shown);
	ck_assert_int_eq(serial_sign(&ci.serial), serials[_i].sign);
	certinfo_release(&ci);
	X509_free(x);
}
END_TEST

START_TEST(a_serial_over_20_octets_is_refused_with_a_reason)
{
	X509 *x = make_cert("0102030405060708090a0b0c0d0e0f101112131415",
			    "x.example", NULL, NULL, 0);
	struct certinfo ci;
	char err[256] = "";

	ck_assert_int_eq(certinfo_from_x509(x, &ci, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "longer than 20 octets") != NULL, "%s", err);
	X509_free(x);
}
END_TEST

/* Which names a certificate gives, from its CN and SAN extensions. */
static const struct {
	const char *what;
	const char *cn;
	const char *san;   /* NULL: no subjectAltName extension */
	const char *san2;  /* a second subjectAltName extension */
	const char *names; /* space-separated, sorted */
	size_t skipped;
} names[] = {
	{ "a root's CN is not a host name", "ISRG Root X1", NULL, NULL, "", 0 },
	{ "a single-label CN is not probed", "localhost", NULL, NULL, "", 0 },
	{ "a CN with a dot is the name", "Legacy.Example.", NULL, NULL,
	  "legacy.example", 0 },
	{ "a U-label CN becomes its A-label",
	  "b\xc3\xbc"
	  "cher.example",
	  NULL, NULL, "xn--bcher-kva.example", 0 },
	{ "with a SAN the CN never counts", "cn.example", "email:a@b.example",
	  NULL, "", 0 },
	{ "a bad dNSName is skipped, the rest kept", "x.example",
	  "DNS:bad name.example,DNS:good.example,DNS:a.*.example", NULL,
	  "good.example", 2 },
	{ "a U-label dNSName becomes its A-label", "x.example",
	  "DNS:b\xc3\xbc"
	  "cher.example,DNS:xn--bcher-kva.example",
	  NULL, "xn--bcher-kva.example", 0 },
	{ "two SAN extensions: both are read", "x.example", "DNS:a.example",
	  "DNS:b.example,IP:2001:db8::1", "2001:db8::1 a.example b.example",
	  0 },
};

START_TEST(names_come_from_the_san_or_a_host_name_cn)
{
	int nids[2] = { NID_subject_alt_name, NID_subject_alt_name };
	const char *vals[2] = { names[_i].san, names[_i].san2 };
	int next = names[_i].san == NULL ? 0 : names[_i].san2 == NULL ? 1 : 2;
	X509 *x = make_cert("03", names[_i].cn, nids, vals, next);
	struct certinfo ci;
	char err[256], got[512] = "";

	ck_assert_msg(certinfo_from_x509(x, &ci, err, sizeof(err)) == 0,
		      "%s: %s", names[_i].what, err);
	for (size_t i = 0; i < ci.nnames; i++) {
		strcat(got, i ? " " : "");
		strcat(got, ci.names[i]);
	}
	ck_assert_msg(strcmp(got, names[_i].names) == 0, "%s: got \"%s\"",
		      names[_i].what, got);
	ck_assert_msg(ci.nskipped == names[_i].skipped, "%s: %zu skipped (%s)",
		      names[_i].what, ci.nskipped, ci.skipped);
	certinfo_release(&ci);
	X509_free(x);
}
END_TEST

START_TEST(ca_certificates_load_and_are_marked)
{
	const int nids[] = { NID_basic_constraints, NID_key_usage };
	const char *const ca[] = { "critical,CA:TRUE", "keyCertSign,cRLSign" };
	const char *const leaf[] = { "critical,CA:FALSE", "digitalSignature" };
	X509 *x = make_cert("00", "Example Root CA", nids, ca, 2);
	X509 *y = make_cert("05", "leaf.example", nids, leaf, 2);
	struct certinfo ci;
	char err[256];

	ck_assert_msg(certinfo_from_x509(x, &ci, err, sizeof(err)) == 0, "%s",
		      err);
	ck_assert(ci.is_ca);
	ck_assert_uint_eq(ci.nnames, 0);
	certinfo_release(&ci);
	ck_assert_int_eq(certinfo_from_x509(y, &ci, err, sizeof(err)), 0);
	ck_assert(!ci.is_ca);
	certinfo_release(&ci);
	X509_free(x);
	X509_free(y);
}
END_TEST

START_TEST(a_bmpstring_common_name_is_read_as_utf8)
{
	/* "bmp.example" in UCS-2, as old CAs encoded names. */
	static const unsigned char ucs2[] = "\0b\0m\0p\0.\0e\0x\0a\0m\0p\0l\0e";
	X509 *x = make_cert("07", "placeholder", NULL, NULL, 0);
	X509_NAME *name = X509_NAME_new();
	struct certinfo ci;
	char err[256];

	ck_assert_int_eq(X509_NAME_add_entry_by_NID(
				 name, NID_commonName, V_ASN1_BMPSTRING, ucs2,
				 (int)sizeof(ucs2) - 1, -1, 0),
			 1);
	X509_set_subject_name(x, name);
	X509_NAME_free(name);
	ck_assert_int_eq(certinfo_from_x509(x, &ci, err, sizeof(err)), 0);
	ck_assert_uint_eq(ci.nnames, 1);
	ck_assert_str_eq(ci.names[0], "bmp.example");
	certinfo_release(&ci);
	X509_free(x);
}
END_TEST

START_TEST(equal_validity_times_are_read)
{
	X509 *x = make_cert("06", "e.example", NULL, NULL, 0);
	struct certinfo ci;
	char err[256];

	ASN1_TIME_set_string(X509_getm_notAfter(x), "20200101000000Z");
	ck_assert_int_eq(certinfo_from_x509(x, &ci, err, sizeof(err)), 0);
	ck_assert_int_eq(ci.not_before, ci.not_after);
	certinfo_release(&ci);
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
	tcase_add_loop_test(
		tc,
		every_serial_openssl_reads_is_kept_and_shown_as_openssl_does, 0,
		(int)(sizeof(serials) / sizeof(serials[0])));
	tcase_add_test(tc, a_serial_over_20_octets_is_refused_with_a_reason);
	tcase_add_loop_test(tc, names_come_from_the_san_or_a_host_name_cn, 0,
			    (int)(sizeof(names) / sizeof(names[0])));
	tcase_add_test(tc, ca_certificates_load_and_are_marked);
	tcase_add_test(tc, equal_validity_times_are_read);
	tcase_add_test(tc, a_bmpstring_common_name_is_read_as_utf8);
	tcase_add_test(tc, der_round_trip);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(certinfo_suite)
