/*
 * certinfo.c - read the fields certrecall uses from an X.509 certificate.
 */
#include <arpa/inet.h>
#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "certrecall/core/certinfo.h"
#include "certrecall/core/dnsname.h"
#include "certrecall/base/errmsg.h"
#include "certrecall/base/xalloc.h"

/* Hard caps: a hostile peer or file must not make us allocate freely. */
#define CERTINFO_MAX_NAMES 1000
#define CERTINFO_MAX_URLS 16
#define STR_(x) #x
#define STR(x) STR_(x)

char *certinfo_name_text(const X509_NAME *name)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data, *s;
	long len;

	if (bio == NULL)
		return xstrdup("");
	X509_NAME_print_ex(bio, name, 0,
			   XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
	len = BIO_get_mem_data(bio, &data);
	s = xstrndup(data, len > 0 ? (size_t)len : 0);
	BIO_free(bio);
	return s;
}

static int asn1_time(const ASN1_TIME *t, time_t *out)
{
	struct tm tm;

	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return -1;
	*out = timegm(&tm);
	return 0;
}

/* A SAN entry that is not a usable name: counted, the first one kept. */
static void skip_name(struct certinfo *ci, const char *why)
{
	if (ci->nskipped++ == 0)
		errmsg_set(ci->skipped, sizeof(ci->skipped), "%s", why);
}

static void add_name(struct certinfo *ci, size_t *cap, const char *s,
		     size_t len)
{
	char buf[DNSNAME_MAX + 1];
	char why[160];
	int n;

	if (ci->nnames >= CERTINFO_MAX_NAMES) {
		skip_name(ci, "more than " STR(CERTINFO_MAX_NAMES) " names");
		return;
	}
	n = dnsname_normalize(s, len, buf, sizeof(buf), why, sizeof(why));
	if (n < 0) {
		skip_name(ci, why);
		return;
	}
	xgrow(&ci->names, cap, ci->nnames + 1, sizeof(char *));
	ci->names[ci->nnames++] = xstrndup(buf, (size_t)n);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void sort_unique(char **v, size_t *n)
{
	size_t out = 0;

	if (*n < 2)
		return;
	qsort(v, *n, sizeof(char *), cmp_str);
	for (size_t i = 0; i < *n; i++) {
		if (out > 0 && strcmp(v[out - 1], v[i]) == 0) {
			free(v[i]);
			continue;
		}
		v[out++] = v[i];
	}
	*n = out;
}

static void add_general_name(struct certinfo *ci, size_t *cap,
			     const GENERAL_NAME *g)
{
	char ip[64];

	if (g->type == GEN_DNS) {
		const ASN1_IA5STRING *s = g->d.dNSName;

		add_name(ci, cap, (const char *)s->data, (size_t)s->length);
	} else if (g->type == GEN_IPADD) {
		const ASN1_OCTET_STRING *a = g->d.iPAddress;
		int af = a->length == 4	   ? AF_INET
			 : a->length == 16 ? AF_INET6
					   : -1;

		if (af < 0 || inet_ntop(af, a->data, ip, sizeof(ip)) == NULL) {
			errmsg_set(ip, sizeof(ip), "iPAddress of %d octets",
				   a->length);
			skip_name(ci, ip);
		} else {
			add_name(ci, cap, ip, strlen(ip));
		}
	}
}

/*
 * The subject CN, only when it is a host name with a dot or an IP
 * address: a CA's "Example Root CA" or a bare "localhost" is not
 * something to probe.
 */
static void add_common_name(X509 *x, struct certinfo *ci, size_t *cap)
{
	X509_NAME *subj = X509_get_subject_name(x);
	int idx = X509_NAME_get_index_by_NID(subj, NID_commonName, -1);
	char buf[DNSNAME_MAX + 1];
	unsigned char *utf8 = NULL;
	int len, n;

	if (idx < 0)
		return;
	len = ASN1_STRING_to_UTF8(
		&utf8,
		X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subj, idx)));
	if (len > 0) {
		n = dnsname_normalize((const char *)utf8, (size_t)len, buf,
				      sizeof(buf), NULL, 0);
		if (n > 0 && strchr(buf, '.') == NULL &&
		    strchr(buf, ':') == NULL)
			n = -1;
		if (n > 0) {
			xgrow(&ci->names, cap, 1, sizeof(char *));
			ci->names[ci->nnames++] = xstrndup(buf, (size_t)n);
		}
	}
	OPENSSL_free(utf8);
}

/*
 * Names from every subjectAltName extension (a certificate may carry the
 * extension twice: X509_get_ext_d2i() then returns nothing, OpenSSL's
 * x509 -text prints both).  RFC 6125 6.4.4: the CN only counts when there
 * is no subjectAltName at all.
 */
static void read_names(X509 *x, struct certinfo *ci)
{
	size_t cap = 0;
	bool has_san = false;

	for (int idx = -1;
	     (idx = X509_get_ext_by_NID(x, NID_subject_alt_name, idx)) >= 0;) {
		GENERAL_NAMES *gens = X509V3_EXT_d2i(X509_get_ext(x, idx));

		has_san = true;
		if (gens == NULL) {
			skip_name(ci, "subjectAltName cannot be decoded");
			continue;
		}
		for (int i = 0; i < sk_GENERAL_NAME_num(gens); i++)
			add_general_name(ci, &cap,
					 sk_GENERAL_NAME_value(gens, i));
		GENERAL_NAMES_free(gens);
	}
	if (!has_san)
		add_common_name(x, ci, &cap);
	sort_unique(ci->names, &ci->nnames);
}

static void add_url(char ***v, size_t *n, const GENERAL_NAME *g)
{
	const ASN1_IA5STRING *s;

	if (g->type != GEN_URI || *n >= CERTINFO_MAX_URLS)
		return;
	s = g->d.uniformResourceIdentifier;
	*v = xrealloc(*v, (*n + 1) * sizeof(char *));
	(*v)[(*n)++] = xstrndup((const char *)s->data, (size_t)s->length);
}

static void read_urls(X509 *x, struct certinfo *ci)
{
	AUTHORITY_INFO_ACCESS *aia =
		X509_get_ext_d2i(x, NID_info_access, NULL, NULL);
	CRL_DIST_POINTS *cdp =
		X509_get_ext_d2i(x, NID_crl_distribution_points, NULL, NULL);

	for (int i = 0; aia && i < sk_ACCESS_DESCRIPTION_num(aia); i++) {
		ACCESS_DESCRIPTION *ad = sk_ACCESS_DESCRIPTION_value(aia, i);

		if (OBJ_obj2nid(ad->method) == NID_ad_OCSP)
			add_url(&ci->ocsp_urls, &ci->nocsp, ad->location);
	}
	for (int i = 0; cdp && i < sk_DIST_POINT_num(cdp); i++) {
		DIST_POINT *dp = sk_DIST_POINT_value(cdp, i);

		if (dp->distpoint == NULL || dp->distpoint->type != 0)
			continue;
		for (int j = 0;
		     j < sk_GENERAL_NAME_num(dp->distpoint->name.fullname); j++)
			add_url(&ci->crl_urls, &ci->ncrl,
				sk_GENERAL_NAME_value(
					dp->distpoint->name.fullname, j));
	}
	AUTHORITY_INFO_ACCESS_free(aia);
	CRL_DIST_POINTS_free(cdp);
}

/* The serial as its DER content octets (any sign, see serial.h). */
static int read_serial(X509 *x, struct serial *out, char *err, size_t errlen)
{
	unsigned char *der = NULL;
	const unsigned char *p;
	long len;
	int tag, class, n, rc;

	n = i2d_ASN1_INTEGER(X509_get0_serialNumber(x), &der);
	p = der;
	if (n <= 0 || ASN1_get_object(&p, &len, &tag, &class, n) & 0x80 ||
	    tag != V_ASN1_INTEGER) {
		OPENSSL_free(der);
		return errmsg_set(err, errlen, "serial number cannot be read");
	}
	rc = serial_from_der_content(out, p, (size_t)len, err, errlen);
	OPENSSL_free(der);
	return rc;
}

int certinfo_from_x509(X509 *x, struct certinfo *out, char *err, size_t errlen)
{
	const ASN1_OCTET_STRING *aki;
	unsigned int mdlen = 0;

	memset(out, 0, sizeof(*out));
	if (read_serial(x, &out->serial, err, errlen) < 0)
		return -1;
	if (asn1_time(X509_get0_notBefore(x), &out->not_before) < 0 ||
	    asn1_time(X509_get0_notAfter(x), &out->not_after) < 0) {
		return errmsg_set(err, errlen, "validity times cannot be read");
	}
	out->issuer = certinfo_name_text(X509_get_issuer_name(x));
	out->subject = certinfo_name_text(X509_get_subject_name(x));
	X509_digest(x, EVP_sha256(), out->sha256, &mdlen);
	aki = X509_get0_authority_key_id(x);
	if (aki != NULL && aki->length > 0 &&
	    (size_t)aki->length <= sizeof(out->aki)) {
		memcpy(out->aki, aki->data, (size_t)aki->length);
		out->aki_len = (size_t)aki->length;
	}
	out->precert = X509_get_ext_by_NID(x, NID_ct_precert_poison, -1) >= 0;
	/* X509_get_extension_flags() decodes the extensions once; EXFLAG_CA
	 * is basicConstraints cA = TRUE. */
	out->is_ca = (X509_get_extension_flags(x) & EXFLAG_CA) != 0;
	read_urls(x, out);
	read_names(x, out);
	return 0;
}

int certinfo_from_der(const unsigned char *der, size_t len,
		      struct certinfo *out, char *err, size_t errlen)
{
	const unsigned char *p = der;
	X509 *x = d2i_X509(NULL, &p, (long)len);
	int rc;

	if (x == NULL) {
		return errmsg_set(err, errlen, "not a DER X.509 certificate");
	}
	rc = certinfo_from_x509(x, out, err, errlen);
	X509_free(x);
	return rc;
}

static void free_strv(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void certinfo_release(struct certinfo *ci)
{
	if (ci == NULL)
		return;
	free(ci->issuer);
	free(ci->subject);
	free_strv(ci->names, ci->nnames);
	free_strv(ci->ocsp_urls, ci->nocsp);
	free_strv(ci->crl_urls, ci->ncrl);
	memset(ci, 0, sizeof(*ci));
}
