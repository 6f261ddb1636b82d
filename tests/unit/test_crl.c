/*
 * test_crl.c - CRLs built here with OpenSSL and signed with a throwaway
 * P-256 CA: listed serials are found with their revocationDate and
 * reasonCode, others are not; a CRL signed by another key or naming
 * another issuer, a stale or not-yet-valid one, and garbage are refused
 * with the reason, and so is one whose issuer's keyUsage lacks cRLSign;
 * an entry with an undefined reasonCode keeps its code and the rest of
 * the list; PEM and DER both load, with one digest; 100,000 entries index
 * fast.
 */
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <time.h>

#include "certrecall/core/crl.h"
#include "unit.h"

#define NOW ((time_t)1700000000) /* 2023-11-14T22:13:20Z */

static EVP_PKEY *ca_key, *other_key;
static X509 *ca, *other_name_ca;

/* ku: KU_* bits of a keyUsage extension, or 0 for none. */
static X509 *make_ca_ku(EVP_PKEY *key, const char *cn, unsigned ku)
{
	X509 *x = X509_new();
	X509_NAME *nm = X509_get_subject_name(x);

	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC,
				   (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, nm);
	X509_time_adj_ex(X509_getm_notBefore(x), -3650, 0, NULL);
	X509_time_adj_ex(X509_getm_notAfter(x), 3650, 0, NULL);
	X509_set_pubkey(x, key);
	if (ku != 0) {
		ASN1_BIT_STRING *bs = ASN1_BIT_STRING_new();

		/* KU_* are the DER bit string's bits, MSB of octet 0 first */
		for (int bit = 0; bit < 9; bit++)
			if (ku & (bit < 8 ? 0x80u >> bit : 0x8000u))
				ASN1_BIT_STRING_set_bit(bs, bit, 1);
		ck_assert_int_eq(X509_add1_ext_i2d(x, NID_key_usage, bs, 1, 0),
				 1);
		ASN1_BIT_STRING_free(bs);
	}
	ck_assert_int_gt(X509_sign(x, key, EVP_sha256()), 0);
	return x;
}

static X509 *make_ca(EVP_PKEY *key, const char *cn)
{
	return make_ca_ku(key, cn, 0);
}

static void setup(void)
{
	ca_key = EVP_EC_gen("P-256");
	other_key = EVP_EC_gen("P-256");
	ca = make_ca(ca_key, "Test CA");
	other_name_ca = make_ca(ca_key, "Other CA");
}

static void teardown(void)
{
	X509_free(other_name_ca);
	X509_free(ca);
	EVP_PKEY_free(other_key);
	EVP_PKEY_free(ca_key);
}

struct entry {
	const char *serial_hex;
	long revoked_off; /* seconds before NOW */
	int reason;	  /* -1: no reasonCode */
};

static void add_entry(X509_CRL *crl, const unsigned char *ser, size_t len,
		      time_t when, int reason)
{
	X509_REVOKED *r = X509_REVOKED_new();
	BIGNUM *bn = BN_bin2bn(ser, (int)len, NULL);
	ASN1_INTEGER *ai = BN_to_ASN1_INTEGER(bn, NULL);
	ASN1_TIME *t = ASN1_TIME_set(NULL, when);

	X509_REVOKED_set_serialNumber(r, ai);
	X509_REVOKED_set_revocationDate(r, t);
	if (reason >= 0) {
		ASN1_ENUMERATED *e = ASN1_ENUMERATED_new();

		ASN1_ENUMERATED_set(e, reason);
		X509_REVOKED_add1_ext_i2d(r, NID_crl_reason, e, 0, 0);
		ASN1_ENUMERATED_free(e);
	}
	X509_CRL_add0_revoked(crl, r);
	ASN1_TIME_free(t);
	ASN1_INTEGER_free(ai);
	BN_free(bn);
}

static void hex_bytes(const char *hex, unsigned char *b, size_t *len)
{
	struct serial s;
	char err[128];

	ck_assert_int_eq(
		serial_parse(&s, hex, strlen(hex), 16, err, sizeof(err)), 0);
	memcpy(b, s.b, s.len);
	*len = s.len;
}

/*
 * A CRL from issuer's name signed by key, valid from NOW + this_off to
 * NOW + next_off, with n entries; DER in *der (free), or PEM if pem.
 */
static size_t make_crl(X509 *issuer, EVP_PKEY *key, long this_off,
		       long next_off, const struct entry *e, size_t n, bool pem,
		       unsigned char **der)
{
	X509_CRL *crl = X509_CRL_new();
	ASN1_TIME *t = ASN1_TIME_set(NULL, NOW + this_off);
	size_t i, len;

	X509_CRL_set_version(crl, 1);
	X509_CRL_set_issuer_name(crl, X509_get_subject_name(issuer));
	X509_CRL_set1_lastUpdate(crl, t);
	ASN1_TIME_set(t, NOW + next_off);
	X509_CRL_set1_nextUpdate(crl, t);
	for (i = 0; i < n; i++) {
		unsigned char b[SERIAL_MAX + 1];
		size_t bl;

		hex_bytes(e[i].serial_hex, b, &bl);
		add_entry(crl, b, bl, NOW - e[i].revoked_off, e[i].reason);
	}
	ck_assert_int_gt(X509_CRL_sign(crl, key, EVP_sha256()), 0);
	if (pem) {
		BIO *bio = BIO_new(BIO_s_mem());
		char *data;
		long l;

		PEM_write_bio_X509_CRL(bio, crl);
		l = BIO_get_mem_data(bio, &data);
		*der = malloc((size_t)l);
		memcpy(*der, data, (size_t)l);
		len = (size_t)l;
		BIO_free(bio);
	} else {
		int l = i2d_X509_CRL(crl, NULL);
		unsigned char *p;

		*der = malloc((size_t)l);
		p = *der;
		i2d_X509_CRL(crl, &p);
		len = (size_t)l;
	}
	ASN1_TIME_free(t);
	X509_CRL_free(crl);
	return len;
}

static const struct entry listed[] = {
	{ "0a", 86400, 1 },				     /* keyCompromise */
	{ "03d4d4bdb6bc0d2f7bc0a7ffe2bfc7d2bf7c", 3600, 4 }, /* superseded */
	{ "7fffffffffffffffffffffffffffffffffffffff", 60, -1 },
	{ "ff01", 7200, 5 }, /* DER needs a leading 00: still found */
	{ "0b", 100, 0 },    /* unspecified, given explicitly */
};

/* Serials looked up in a CRL made of listed[]. */
static const struct {
	const char *serial_hex;
	bool found;
	long revoked_off;
	int reason;
} lookups[] = {
	{ "0a", true, 86400, 1 },
	{ "00:0a", true, 86400, 1 },
	{ "03d4d4bdb6bc0d2f7bc0a7ffe2bfc7d2bf7c", true, 3600, 4 },
	{ "7fffffffffffffffffffffffffffffffffffffff", true, 60, -1 },
	{ "ff01", true, 7200, 5 },
	{ "0b", true, 100, 0 },
	{ "0c", false, 0, 0 },
	{ "0a0a", false, 0, 0 },
	{ "03d4d4bdb6bc0d2f7bc0a7ffe2bfc7d2bf7d", false, 0, 0 },
	{ "01", false, 0, 0 },
};

START_TEST(listed_serials_are_found_with_date_and_reason)
{
	for (int pem = 0; pem <= 1; pem++) {
		unsigned char *buf;
		size_t len =
			make_crl(ca, ca_key, -3600, 86400, listed,
				 sizeof(listed) / sizeof(listed[0]), pem, &buf);
		struct crl *crl;
		char err[256] = "";
		struct serial s;
		time_t at;
		int reason;

		ck_assert_msg(crl_load(buf, len, ca, NOW, 300, &crl, err,
				       sizeof(err)) == 0,
			      "%s: %s", pem ? "pem" : "der", err);
		ck_assert_uint_eq(crl_count(crl), 5);
		ck_assert_uint_eq(crl_skipped(crl), 0);
		ck_assert_int_eq(crl_this_update(crl), NOW - 3600);
		ck_assert_int_eq(crl_next_update(crl), NOW + 86400);
		ck_assert(!crl_is_partitioned(crl));
		for (size_t i = 0; i < sizeof(lookups) / sizeof(lookups[0]);
		     i++) {
			ck_assert_int_eq(
				serial_parse(&s, lookups[i].serial_hex,
					     strlen(lookups[i].serial_hex), 16,
					     err, sizeof(err)),
				0);
			at = 0;
			reason = 99;
			ck_assert_msg(crl_lookup(crl, &s, &at, &reason) ==
					      lookups[i].found,
				      "%s", lookups[i].serial_hex);
			if (!lookups[i].found)
				continue;
			ck_assert_int_eq(at, NOW - lookups[i].revoked_off);
			ck_assert_int_eq(reason, lookups[i].reason);
		}
		crl_free(crl);
		free(buf);
	}
}
END_TEST

/* A CRL made with these parameters and loaded at NOW must fail so. */
static const struct {
	const char *name;
	bool wrong_key, wrong_name;
	long this_off, next_off, skew;
	const char *want; /* NULL: loads */
} verdicts[] = {
	{ "current", false, false, -3600, 86400, 300, NULL },
	{ "signed by another key", true, false, -3600, 86400, 300,
	  "signature does not verify" },
	{ "another issuer's name", false, true, -3600, 86400, 300,
	  "issuer name does not match" },
	{ "stale", false, false, -86400 * 8, -3600, 300,
	  "stale: nextUpdate "
	  "2023-11-14T21:13:20Z "
	  "before now" },
	{ "stale but within the skew", false, false, -86400, -200, 300, NULL },
	{ "not yet valid", false, false, 3600, 86400, 300,
	  "not yet valid: thisUpdate" },
	{ "thisUpdate within the skew", false, false, 200, 86400, 300, NULL },
	{ "no skew, nextUpdate just past", false, false, -3600, -1, 0,
	  "stale" },
};

START_TEST(bad_crls_are_refused_with_the_reason)
{
	unsigned char *buf;
	size_t len = make_crl(verdicts[_i].wrong_name ? other_name_ca : ca,
			      verdicts[_i].wrong_key ? other_key : ca_key,
			      verdicts[_i].this_off, verdicts[_i].next_off,
			      listed, 2, false, &buf);
	struct crl *crl = NULL;
	char err[256] = "";
	int rc = crl_load(buf, len, ca, NOW, verdicts[_i].skew, &crl, err,
			  sizeof(err));

	if (verdicts[_i].want == NULL) {
		ck_assert_msg(rc == 0, "%s: %s", verdicts[_i].name, err);
		ck_assert_ptr_nonnull(crl);
	} else {
		ck_assert_msg(rc == -1, "%s loaded", verdicts[_i].name);
		ck_assert_ptr_null(crl);
		ck_assert_msg(strstr(err, verdicts[_i].want) != NULL,
			      "%s: got \"%s\"", verdicts[_i].name, err);
	}
	crl_free(crl);
	free(buf);
}
END_TEST

/* The same CRL in PEM: *pem (free), its length returned. */
static size_t pem_of(const unsigned char *der, size_t len, unsigned char **pem)
{
	const unsigned char *p = der;
	X509_CRL *x = d2i_X509_CRL(NULL, &p, (long)len);
	BIO *bio = BIO_new(BIO_s_mem());
	char *data;
	long l;

	ck_assert_ptr_nonnull(x);
	PEM_write_bio_X509_CRL(bio, x);
	l = BIO_get_mem_data(bio, &data);
	*pem = malloc((size_t)l);
	memcpy(*pem, data, (size_t)l);
	BIO_free(bio);
	X509_CRL_free(x);
	return (size_t)l;
}

/* The digest names the CRL: the same for its DER and PEM forms, another
 * for any other CRL, even one listing the same serials. */
START_TEST(the_digest_is_the_crls_identity)
{
	unsigned char *der, *pem, *other;
	size_t dlen =
		make_crl(ca, ca_key, -3600, 86400, listed, 5, false, &der);
	size_t plen = pem_of(der, dlen, &pem);
	size_t olen =
		make_crl(ca, ca_key, -3600, 86400, listed, 5, false, &other);
	struct crl *a = NULL, *b = NULL, *c = NULL;
	char err[256] = "";

	ck_assert_int_eq(
		crl_load(der, dlen, ca, NOW, 300, &a, err, sizeof(err)), 0);
	ck_assert_int_eq(
		crl_load(pem, plen, ca, NOW, 300, &b, err, sizeof(err)), 0);
	/* signed again: the same entries, another (ECDSA) signature */
	ck_assert_int_eq(
		crl_load(other, olen, ca, NOW, 300, &c, err, sizeof(err)), 0);
	ck_assert_mem_eq(crl_get0_sha256(a), crl_get0_sha256(b), 32);
	ck_assert_mem_ne(crl_get0_sha256(a), crl_get0_sha256(c), 32);
	crl_free(a);
	crl_free(b);
	crl_free(c);
	free(der);
	free(pem);
	free(other);
}
END_TEST

static const char *const garbage[] = {
	"",
	"not a crl",
	"-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n",
	"-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n",
	"\x30\x03\x02\x01",
	"\x30\x84\xff\xff\xff\xff",
};

START_TEST(garbage_is_malformed)
{
	struct crl *crl = NULL;
	char err[256] = "";
	const char *in = garbage[_i];
	size_t len = strlen(in);

	ck_assert_int_eq(crl_load((const unsigned char *)in, len, ca, NOW, 300,
				  &crl, err, sizeof(err)),
			 -1);
	ck_assert_ptr_null(crl);
	ck_assert_msg(strstr(err, "malformed crl") != NULL, "got \"%s\"", err);
}
END_TEST

START_TEST(a_truncated_crl_is_refused)
{
	unsigned char *buf;
	size_t len = make_crl(ca, ca_key, -3600, 86400, listed, 5, false, &buf);
	struct crl *crl = NULL;
	char err[256];

	for (size_t cut = 1; cut < len; cut += 7) {
		ck_assert_int_eq(crl_load(buf, len - cut, ca, NOW, 300, &crl,
					  err, sizeof(err)),
				 -1);
		ck_assert_ptr_null(crl);
	}
	/* one flipped bit in an entry's serial breaks the signature */
	buf[len / 2] ^= 0x01;
	ck_assert_int_eq(
		crl_load(buf, len, ca, NOW, 300, &crl, err, sizeof(err)), -1);
	free(buf);
}
END_TEST

START_TEST(a_100000_entry_crl_indexes_and_answers_fast)
{
	enum { N = 100000, LOOKUPS = 300000 };
	X509_CRL *x = X509_CRL_new();
	ASN1_TIME *t = ASN1_TIME_set(NULL, NOW - 60);
	unsigned char *der, *p;
	struct crl *crl;
	char err[256] = "";
	struct timespec t0, t1;
	size_t hits = 0;
	int len;

	X509_CRL_set_version(x, 1);
	X509_CRL_set_issuer_name(x, X509_get_subject_name(ca));
	X509_CRL_set1_lastUpdate(x, t);
	ASN1_TIME_set(t, NOW + 86400);
	X509_CRL_set1_nextUpdate(x, t);
	for (unsigned i = 0; i < N; i++) {
		/* 16-octet serials, every other value listed */
		unsigned char b[16] = { 0x4a, 0x22, 0x33, 0x44, 0x55, 0x66 };
		unsigned v = 2 * i + 1;

		b[12] = (unsigned char)(v >> 24);
		b[13] = (unsigned char)(v >> 16);
		b[14] = (unsigned char)(v >> 8);
		b[15] = (unsigned char)v;
		add_entry(x, b, sizeof(b), NOW - 1000 - i, i % 3 ? -1 : 1);
	}
	ck_assert_int_gt(X509_CRL_sign(x, ca_key, EVP_sha256()), 0);
	len = i2d_X509_CRL(x, NULL);
	der = p = malloc((size_t)len);
	i2d_X509_CRL(x, &p);
	X509_CRL_free(x);
	ASN1_TIME_free(t);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	ck_assert_msg(crl_load(der, (size_t)len, ca, NOW, 300, &crl, err,
			       sizeof(err)) == 0,
		      "%s", err);
	ck_assert_uint_eq(crl_count(crl), N);
	for (unsigned i = 0; i < LOOKUPS; i++) {
		struct serial s = {
			.len = 16, .b = { 0x4a, 0x22, 0x33, 0x44, 0x55, 0x66 }
		};
		time_t at;
		int reason;

		s.b[12] = (unsigned char)(i >> 24);
		s.b[13] = (unsigned char)(i >> 16);
		s.b[14] = (unsigned char)(i >> 8);
		s.b[15] = (unsigned char)i;
		if (crl_lookup(crl, &s, &at, &reason)) {
			hits++;
			ck_assert_int_eq(at, NOW - 1000 - (time_t)(i / 2));
			ck_assert_int_eq(reason, (i / 2) % 3 ? -1 : 1);
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ck_assert_uint_eq(hits, N);
	/* generous even under ASan; the real figure is ~0.1 s */
	ck_assert_int_lt(t1.tv_sec - t0.tv_sec, 4);
	crl_free(crl);
	free(der);
}
END_TEST

/*
 * The index is sized once from the list's length, at one slot per 20
 * bytes (the fewest an indexed entry takes: SEQUENCE header, a one-octet
 * INTEGER, a UTCTime).  A list of nothing but such entries fills it to
 * the last slot; one more (a skipped serial 0, as short) must not spill.
 */
START_TEST(entries_of_the_fewest_bytes_fill_the_index_exactly)
{
	X509_CRL *x = X509_CRL_new();
	ASN1_TIME *t = ASN1_TIME_set(NULL, NOW - 60);
	unsigned char *der, *p;
	struct crl *crl = NULL;
	char err[256] = "";
	int len;

	X509_CRL_set_version(x, 1);
	X509_CRL_set_issuer_name(x, X509_get_subject_name(ca));
	X509_CRL_set1_lastUpdate(x, t);
	ASN1_TIME_set(t, NOW + 86400);
	X509_CRL_set1_nextUpdate(x, t);
	for (unsigned v = 0; v < 0x80; v++) {
		unsigned char b[1] = { (unsigned char)v };

		add_entry(x, b, v == 0 ? 0 : 1, NOW - 1000 - v, -1);
	}
	ck_assert_int_gt(X509_CRL_sign(x, ca_key, EVP_sha256()), 0);
	len = i2d_X509_CRL(x, NULL);
	der = p = malloc((size_t)len);
	i2d_X509_CRL(x, &p);
	X509_CRL_free(x);
	ASN1_TIME_free(t);

	ck_assert_msg(crl_load(der, (size_t)len, ca, NOW, 300, &crl, err,
			       sizeof(err)) == 0,
		      "%s", err);
	ck_assert_uint_eq(crl_count(crl), 0x7f);
	ck_assert_uint_eq(crl_skipped(crl), 1);
	for (unsigned v = 1; v < 0x80; v++) {
		struct serial s = { .len = 1, .b = { (unsigned char)v } };
		time_t at;

		ck_assert(crl_lookup(crl, &s, &at, NULL));
		ck_assert_int_eq(at, NOW - 1000 - (time_t)v);
	}
	crl_free(crl);
	free(der);
}
END_TEST

/* RFC 5280 6.3.3 (f): the same CRL, checked with issuer certificates of
 * the same name and key that differ in keyUsage. */
static const struct {
	const char *name;
	unsigned ku;
	bool loads;
} key_usages[] = {
	{ "no keyUsage extension", 0, true },
	{ "keyCertSign and cRLSign", KU_KEY_CERT_SIGN | KU_CRL_SIGN, true },
	{ "cRLSign alone", KU_CRL_SIGN, true },
	{ "keyCertSign and digitalSignature, no cRLSign",
	  KU_KEY_CERT_SIGN | KU_DIGITAL_SIGNATURE, false },
	{ "digitalSignature alone", KU_DIGITAL_SIGNATURE, false },
};

START_TEST(an_issuer_without_crlsign_cannot_vouch_for_a_crl)
{
	X509 *issuer = make_ca_ku(ca_key, "Test CA", key_usages[_i].ku);
	unsigned char *buf;
	size_t len = make_crl(ca, ca_key, -3600, 86400, listed, 2, false, &buf);
	struct crl *crl = NULL;
	char err[256] = "";
	int rc = crl_load(buf, len, issuer, NOW, 300, &crl, err, sizeof(err));

	if (key_usages[_i].loads) {
		ck_assert_msg(rc == 0, "%s: %s", key_usages[_i].name, err);
	} else {
		ck_assert_msg(rc == -1, "%s: loaded", key_usages[_i].name);
		ck_assert_ptr_null(crl);
		ck_assert_str_eq(err, "issuer keyUsage lacks cRLSign "
				      "(RFC 5280 6.3.3 (f))");
	}
	crl_free(crl);
	free(buf);
	X509_free(issuer);
}
END_TEST

/* An undefined reasonCode is the entry's, not the list's: every entry
 * is still found, with the code it carries. */
static const struct entry odd_reasons[] = {
	{ "01", 100, 1 },     /* keyCompromise */
	{ "02", 200, 12 },    /* undefined: the first one */
	{ "03", 300, 7 },     /* 7 is unused (RFC 5280 5.3.1) */
	{ "04", 400, 4 },     /* superseded */
	{ "05", 500, 300 },   /* two octets */
	{ "06", 600, 70000 }, /* three octets, no smallint: kept as none */
	{ "07", 700, -1 },    /* no reasonCode */
};

START_TEST(an_undefined_reason_code_keeps_the_entry_and_the_list)
{
	static const int want[] = { 1, 12, 7, 4, 300, -1, -1 };
	unsigned char *buf;
	size_t n = sizeof(odd_reasons) / sizeof(odd_reasons[0]);
	size_t len =
		make_crl(ca, ca_key, -3600, 86400, odd_reasons, n, false, &buf);
	struct crl *crl = NULL;
	char err[256] = "";
	const char *first = NULL;
	int code = 0;

	ck_assert_msg(
		crl_load(buf, len, ca, NOW, 300, &crl, err, sizeof(err)) == 0,
		"%s", err);
	ck_assert_uint_eq(crl_count(crl), n);
	ck_assert_uint_eq(crl_undefined_reasons(crl, &first, &code), 4);
	ck_assert_str_eq(first, "02");
	ck_assert_int_eq(code, 12);
	for (size_t i = 0; i < n; i++) {
		struct serial s;
		time_t at = 0;
		int reason = 99;

		ck_assert_int_eq(serial_parse(&s, odd_reasons[i].serial_hex, 2,
					      16, err, sizeof(err)),
				 0);
		ck_assert(crl_lookup(crl, &s, &at, &reason));
		ck_assert_int_eq(at, NOW - odd_reasons[i].revoked_off);
		ck_assert_int_eq(reason, want[i]);
	}
	crl_free(crl);
	free(buf);
	/* a list of defined codes has none */
	len = make_crl(ca, ca_key, -3600, 86400, listed, 5, false, &buf);
	ck_assert_int_eq(
		crl_load(buf, len, ca, NOW, 300, &crl, err, sizeof(err)), 0);
	ck_assert_uint_eq(crl_undefined_reasons(crl, NULL, NULL), 0);
	crl_free(crl);
	free(buf);
}
END_TEST

static Suite *crl_suite(void)
{
	Suite *s = suite_create("crl");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, listed_serials_are_found_with_date_and_reason);
	tcase_add_loop_test(tc, bad_crls_are_refused_with_the_reason, 0,
			    sizeof(verdicts) / sizeof(verdicts[0]));
	tcase_add_loop_test(tc, garbage_is_malformed, 0,
			    sizeof(garbage) / sizeof(garbage[0]));
	tcase_add_test(tc, the_digest_is_the_crls_identity);
	tcase_add_test(tc, a_truncated_crl_is_refused);
	tcase_add_test(tc, a_100000_entry_crl_indexes_and_answers_fast);
	tcase_add_test(tc, entries_of_the_fewest_bytes_fill_the_index_exactly);
	tcase_add_loop_test(tc,
			    an_issuer_without_crlsign_cannot_vouch_for_a_crl, 0,
			    sizeof(key_usages) / sizeof(key_usages[0]));
	tcase_add_test(tc,
		       an_undefined_reason_code_keeps_the_entry_and_the_list);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(crl_suite)
