/*
 * fuzz_crl.c - libFuzzer target for crl_load.
 *
 * The input is tried twice.  First as it is, a whole CRL (DER or PEM):
 * that reaches the PEM decoder and the outer structure, and a real CRL
 * stops at its signature.  Then as a tbsCertList that this target signs
 * with its own Ed25519 issuer ("CN=certrecall fuzz CA", the key made
 * from a fixed seed), so that the entry walker (index_entries) and the
 * extension walker see whatever the fuzzer makes of the list, with a
 * skew wide enough that no date is stale.  The seeds in seeds-crl are
 * tbsCertLists of CRLs that `openssl ca -gencrl` signed with a CA of
 * that name and key type, and whole CRLs (tests/fuzz/make-seeds-crl.sh).
 *
 * Any failure must come with a reason; a loaded list must answer lookups
 * of every serial the input could name in bounds.  A violation aborts;
 * ASan catches reads and writes outside the input and the index.
 */
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "certrecall/core/crl.h"
#include "certrecall/core/serial.h"

#define NOW ((time_t)1700000000)
#define SKEW (100L * 366 * 86400) /* every date of 1950..2049 is current */

static EVP_PKEY *key;
static X509 *issuer;

static void setup(void)
{
	static const unsigned char seed[32] = { 'c', 'e', 'r', 't', 'r',
						'e', 'c', 'a', 'l', 'l' };
	X509_NAME *nm;

	key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed,
					   sizeof(seed));
	issuer = X509_new();
	if (key == NULL || issuer == NULL)
		abort();
	nm = X509_get_subject_name(issuer);
	X509_set_version(issuer, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(issuer), 1);
	X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC,
				   (const unsigned char *)"certrecall fuzz CA",
				   -1, -1, 0);
	X509_set_issuer_name(issuer, nm);
	X509_time_adj_ex(X509_getm_notBefore(issuer), -3650, 0, NULL);
	X509_time_adj_ex(X509_getm_notAfter(issuer), 3650, 0, NULL);
	X509_set_pubkey(issuer, key);
	if (X509_sign(issuer, key, NULL) <= 0)
		abort();
}

/* A DER length of n at p; the number of octets written (at most 5). */
static size_t put_len(unsigned char *p, size_t n)
{
	if (n < 0x80) {
		p[0] = (unsigned char)n;
		return 1;
	}
	p[0] = 0x84;
	p[1] = (unsigned char)(n >> 24);
	p[2] = (unsigned char)(n >> 16);
	p[3] = (unsigned char)(n >> 8);
	p[4] = (unsigned char)n;
	return 5;
}

/*
 * CertificateList ::= SEQUENCE { tbs (the input as it is), AlgorithmId
 * Ed25519, BIT STRING of our signature over tbs }.  NULL if the input is
 * too long to be worth a signature.
 */
static unsigned char *sign_tbs(const uint8_t *tbs, size_t len, size_t *out_len)
{
	static const unsigned char alg[] = { 0x30, 0x05, 0x06, 0x03,
					     0x2b, 0x65, 0x70 };
	unsigned char sig[64], hdr[6], *buf, *p;
	size_t siglen = sizeof(sig), body, h;
	EVP_MD_CTX *ctx;

	if (len > (1u << 20))
		return NULL;
	ctx = EVP_MD_CTX_new();
	if (ctx == NULL ||
	    EVP_DigestSignInit(ctx, NULL, NULL, NULL, key) != 1 ||
	    EVP_DigestSign(ctx, sig, &siglen, tbs, len) != 1)
		abort();
	EVP_MD_CTX_free(ctx);
	body = len + sizeof(alg) + 2 + 1 + siglen;
	buf = malloc(body + 6);
	if (buf == NULL)
		abort();
	p = buf;
	*p++ = 0x30;
	h = put_len(hdr, body);
	memcpy(p, hdr, h);
	p += h;
	memcpy(p, tbs, len);
	p += len;
	memcpy(p, alg, sizeof(alg));
	p += sizeof(alg);
	*p++ = 0x03;
	*p++ = (unsigned char)(siglen + 1);
	*p++ = 0x00;
	memcpy(p, sig, siglen);
	p += siglen;
	*out_len = (size_t)(p - buf);
	return buf;
}

static void try_load(const unsigned char *der, size_t len)
{
	char err[256];
	struct crl *crl = NULL;
	struct serial s;
	time_t when;
	int reason;
	const char *hex;
	int code;

	err[0] = '\0';
	if (crl_load(der, len, issuer, NOW, SKEW, &crl, err, sizeof(err)) < 0) {
		if (err[0] == '\0' || crl != NULL)
			abort();
		return;
	}
	if (crl == NULL || crl_get0_sha256(crl) == NULL)
		abort();
	/* Each serial the input could spell (a byte string starting
	 * anywhere) is looked up; a hit has a defined reason range. */
	for (size_t i = 0; i < len && i < 4096; i++) {
		size_t n = 1 + der[i] % SERIAL_MAX;

		if (i + n > len)
			continue;
		memset(&s, 0, sizeof(s));
		memcpy(s.b, der + i, n);
		s.len = n;
		if (crl_lookup(crl, &s, &when, &reason) &&
		    (reason < -1 || reason > INT16_MAX))
			abort();
	}
	if (crl_undefined_reasons(crl, &hex, &code) > 0 &&
	    (strlen(hex) > 2 * SERIAL_MAX + 2 || code < -1))
		abort();
	if (crl_count(crl) > len / 20)
		abort();
	crl_free(crl);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char *signed_crl;
	size_t signed_len;

	if (key == NULL)
		setup();
	try_load(data, size);
	if (size > 0 && data[0] == 0x30 &&
	    (signed_crl = sign_tbs(data, size, &signed_len)) != NULL) {
		try_load(signed_crl, signed_len);
		free(signed_crl);
	}
	return 0;
}
