/*
 * crl.c - verify a CRL and index its revoked serials without building an
 * OpenSSL object per entry.
 *
 *   CertificateList ::= SEQUENCE { tbsCertList, signatureAlgorithm,
 *                                  signatureValue BIT STRING }
 *   TBSCertList ::= SEQUENCE { version INTEGER OPTIONAL, signature
 *       AlgorithmIdentifier, issuer Name, thisUpdate Time, nextUpdate Time
 *       OPTIONAL, revokedCertificates SEQUENCE OF SEQUENCE {
 *       userCertificate INTEGER, revocationDate Time, crlEntryExtensions
 *       Extensions OPTIONAL } OPTIONAL, crlExtensions [0] EXPLICIT
 *       Extensions OPTIONAL }                          (RFC 5280 5.1)
 */
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "certrecall/core/crl.h"
#include "certrecall/base/utctime.h"
#include "certrecall/base/xalloc.h"

#define TAG_BOOLEAN 0x01
#define TAG_INTEGER 0x02
#define TAG_BIT_STRING 0x03
#define TAG_OCTET_STRING 0x04
#define TAG_OID 0x06
#define TAG_ENUMERATED 0x0a
#define TAG_SEQUENCE 0x30
#define TAG_UTCTIME 0x17
#define TAG_GENTIME 0x18
#define TAG_CTX0 0xa0

/* One revoked certificate: 32 bytes, so 1,000,000 entries take 32 MB. */
struct crl_entry {
	int64_t revoked_at;
	int16_t reason;	   /* reasonCode 0..32767, -1 when absent */
	unsigned char len; /* canonical serial length, 1..SERIAL_MAX */
	unsigned char b[SERIAL_MAX];
};

_Static_assert(sizeof(struct crl_entry) == 32, "crl_entry grew");

/* The fewest bytes an indexed entry takes (index_entries). */
#define CRL_MIN_ENTRY 20

/* A reasonCode that is no small non-negative number (walk_extensions). */
#define REASON_OUT_OF_RANGE INT_MIN

struct crl {
	struct crl_entry *e;
	size_t n;
	size_t skipped;
	size_t undefined;			   /* entries, see crl.h */
	char undefined_serial[2 * SERIAL_MAX + 3]; /* the first's, hex */
	int undefined_code;
	unsigned char sha256[32]; /* of the DER CertificateList */
	time_t this_update;
	time_t next_update;
	bool partitioned;
};

/* A DER cursor over [p, p + n). */
struct der {
	const unsigned char *p;
	size_t n;
};

struct tlv {
	unsigned tag;
	const unsigned char *v; /* contents */
	size_t len;
	const unsigned char *all; /* tag, length and contents */
	size_t all_len;
};

/* id-ce-reasonCode 2.5.29.21 and friends, as DER OID contents. */
static const unsigned char oid_reason[] = { 0x55, 0x1d, 0x15 };
static const unsigned char oid_cert_issuer[] = { 0x55, 0x1d, 0x1d };
static const unsigned char oid_idp[] = { 0x55, 0x1d, 0x1c };
static const unsigned char oid_delta[] = { 0x55, 0x1d, 0x1b };
static const unsigned char oid_crl_number[] = { 0x55, 0x1d, 0x14 };
static const unsigned char oid_aki[] = { 0x55, 0x1d, 0x23 };

static int fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (errlen > 0) {
		va_start(ap, fmt);
		/* A reason longer than err is cut: it still starts with
		 * what went wrong. */
		if (vsnprintf(err, errlen, fmt, ap) < 0)
			err[0] = '\0';
		va_end(ap);
	}
	return -1;
}

/*
 * Reads one TLV.  Only low tag numbers and definite lengths of at most
 * four octets (DER); the contents must fit in what is left.
 */
static int der_next(struct der *d, struct tlv *t)
{
	size_t len, i, nlen, hdr;

	if (d->n < 2 || (d->p[0] & 0x1f) == 0x1f)
		return -1;
	t->tag = d->p[0];
	if (d->p[1] < 0x80) {
		len = d->p[1];
		hdr = 2;
	} else {
		nlen = d->p[1] & 0x7f;
		if (nlen == 0 || nlen > 4 || d->n < 2 + nlen)
			return -1;
		len = 0;
		for (i = 0; i < nlen; i++)
			len = len << 8 | d->p[2 + i];
		hdr = 2 + nlen;
	}
	if (len > d->n - hdr)
		return -1;
	t->all = d->p;
	t->all_len = hdr + len;
	t->v = d->p + hdr;
	t->len = len;
	d->p += t->all_len;
	d->n -= t->all_len;
	return 0;
}

static int der_expect(struct der *d, unsigned tag, struct tlv *t)
{
	if (der_next(d, t) < 0 || t->tag != tag)
		return -1;
	return 0;
}

static unsigned peek_tag(const struct der *d)
{
	return d->n > 0 ? d->p[0] : 0;
}

static bool oid_is(const struct tlv *t, const unsigned char *oid, size_t len)
{
	return t->len == len && memcmp(t->v, oid, len) == 0;
}

/* Days from 1970-01-01 to y-m-d, proleptic Gregorian (H. Hinnant). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static int digits(const unsigned char *s, size_t n, unsigned *out)
{
	unsigned v = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

/*
 * UTCTime YYMMDDHHMMSSZ (YY < 50 is 20YY) or GeneralizedTime
 * YYYYMMDDHHMMSSZ, the only forms RFC 5280 4.1.2.5 allows.
 */
static int der_time(const struct tlv *t, int64_t *out)
{
	static const unsigned char mdays[] = { 31, 29, 31, 30, 31, 30,
					       31, 31, 30, 31, 30, 31 };
	unsigned y, mo, d, h, mi, s;
	const unsigned char *p = t->v;
	size_t ylen;

	if (t->tag == TAG_UTCTIME && t->len == 13)
		ylen = 2;
	else if (t->tag == TAG_GENTIME && t->len == 15)
		ylen = 4;
	else
		return -1;
	if (p[t->len - 1] != 'Z' || digits(p, ylen, &y) < 0 ||
	    digits(p + ylen, 2, &mo) < 0 || digits(p + ylen + 2, 2, &d) < 0 ||
	    digits(p + ylen + 4, 2, &h) < 0 ||
	    digits(p + ylen + 6, 2, &mi) < 0 || digits(p + ylen + 8, 2, &s) < 0)
		return -1;
	if (ylen == 2)
		y += y < 50 ? 2000 : 1900;
	if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 ||
	    mi > 59 || s > 59)
		return -1;
	if (mo == 2 && d == 29 &&
	    !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)))
		return -1;
	*out = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s;
	return 0;
}

/*
 * Walks an Extensions SEQUENCE.  For entry extensions (reason != NULL)
 * the reasonCode is read; a certificateIssuer (indirect CRL) or any
 * other critical extension is refused.  For CRL extensions the
 * issuingDistributionPoint marks a shard, a deltaCRLIndicator is refused.
 */
static int walk_extensions(const struct tlv *exts, int *reason,
			   bool *partitioned, char *err, size_t errlen)
{
	struct der d = { exts->v, exts->len };
	struct tlv ext, oid, t;

	while (d.n > 0) {
		struct der e;
		bool critical = false;

		if (der_expect(&d, TAG_SEQUENCE, &ext) < 0)
			return fail(err, errlen, "malformed crl: extension");
		e.p = ext.v;
		e.n = ext.len;
		if (der_expect(&e, TAG_OID, &oid) < 0)
			return fail(err, errlen, "malformed crl: extension id");
		if (peek_tag(&e) == TAG_BOOLEAN) {
			if (der_next(&e, &t) < 0 || t.len != 1)
				return fail(err, errlen,
					    "malformed crl: critical flag");
			critical = t.v[0] != 0;
		}
		if (der_expect(&e, TAG_OCTET_STRING, &t) < 0 || e.n != 0)
			return fail(err, errlen,
				    "malformed crl: extension value");
		if (reason != NULL &&
		    oid_is(&oid, oid_reason, sizeof(oid_reason))) {
			struct der v = { t.v, t.len };
			struct tlv en;

			/* CRLReason ::= ENUMERATED.  Any value is read: an
			 * undefined one is the entry's business (see
			 * index_entries), not the whole list's. */
			if (der_expect(&v, TAG_ENUMERATED, &en) < 0 ||
			    en.len == 0 || v.n != 0)
				return fail(err, errlen,
					    "malformed crl: reasonCode");
			if ((en.v[0] & 0x80) || en.len > 3) {
				*reason = REASON_OUT_OF_RANGE;
			} else {
				long code = 0;

				for (size_t i = 0; i < en.len; i++)
					code = code << 8 | en.v[i];
				*reason = code <= INT16_MAX
						  ? (int)code
						  : REASON_OUT_OF_RANGE;
			}
			continue;
		}
		if (reason != NULL &&
		    oid_is(&oid, oid_cert_issuer, sizeof(oid_cert_issuer)))
			return fail(err, errlen,
				    "unsupported: indirect crl "
				    "(certificateIssuer entry)");
		if (reason == NULL &&
		    oid_is(&oid, oid_delta, sizeof(oid_delta)))
			return fail(err, errlen, "unsupported: delta crl");
		if (reason == NULL && oid_is(&oid, oid_idp, sizeof(oid_idp))) {
			*partitioned = true;
			continue;
		}
		if (reason == NULL &&
		    (oid_is(&oid, oid_crl_number, sizeof(oid_crl_number)) ||
		     oid_is(&oid, oid_aki, sizeof(oid_aki))))
			continue;
		/* RFC 5280 5.2, 5.3: an unknown critical one voids the CRL. */
		if (critical)
			return fail(err, errlen,
				    "unsupported critical %s extension",
				    reason != NULL ? "entry" : "crl");
	}
	return 0;
}

/* RFC 5280 5.3.1 defines 0-6 and 8-10; 7 is unused. */
static bool reason_defined(int reason)
{
	return reason >= -1 && reason <= 10 && reason != 7;
}

/*
 * An entry with an undefined reasonCode still says the certificate is
 * revoked: it is kept, with the code (or -1 when the code does not fit),
 * and counted so that the caller can warn.
 */
static void note_undefined(struct crl *crl, const struct tlv *ser, int reason)
{
	if (crl->undefined++ > 0)
		return;
	crl->undefined_code = reason == REASON_OUT_OF_RANGE ? -1 : reason;
	static const char hex[] = "0123456789abcdef";
	size_t k = 0;

	/* As many octets as fit, in lower-case hex. */
	for (size_t i = 0;
	     i < ser->len && k + 3 <= sizeof(crl->undefined_serial); i++) {
		crl->undefined_serial[k++] = hex[ser->v[i] >> 4];
		crl->undefined_serial[k++] = hex[ser->v[i] & 0x0f];
	}
	crl->undefined_serial[k] = '\0';
}

static int entry_cmp(const void *a, const void *b)
{
	const struct crl_entry *x = a, *y = b;

	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return memcmp(x->b, y->b, x->len);
}

/* Copies the revokedCertificates SEQUENCE into crl->e, sorted. */
static int index_entries(struct crl *crl, const struct tlv *list, char *err,
			 size_t errlen)
{
	struct der d = { list->v, list->len };
	struct tlv ent, ser, when, exts;
	/* An entry that is indexed takes at least 2 + 3 + 15 bytes
	 * (SEQUENCE, a one-octet INTEGER, a UTCTime), so this is enough
	 * and is allocated once; the bound is still checked below. */
	size_t cap = list->len / CRL_MIN_ENTRY + 1;

	crl->e = xmalloc(cap * sizeof(*crl->e));
	while (d.n > 0) {
		struct der e;
		struct crl_entry *out;
		const unsigned char *s;
		size_t slen;
		int reason = -1;

		if (der_expect(&d, TAG_SEQUENCE, &ent) < 0)
			return fail(err, errlen, "malformed crl: entry %zu",
				    crl->n + crl->skipped);
		e.p = ent.v;
		e.n = ent.len;
		if (der_expect(&e, TAG_INTEGER, &ser) < 0 || ser.len == 0 ||
		    der_next(&e, &when) < 0)
			return fail(err, errlen,
				    "malformed crl: entry %zu serial",
				    crl->n + crl->skipped);
		if (e.n > 0) {
			if (der_expect(&e, TAG_SEQUENCE, &exts) < 0 || e.n != 0)
				return fail(err, errlen,
					    "malformed crl: entry %zu "
					    "extensions",
					    crl->n + crl->skipped);
			if (walk_extensions(&exts, &reason, NULL, err, errlen) <
			    0)
				return -1;
		}
		if (!reason_defined(reason)) {
			note_undefined(crl, &ser, reason);
			if (reason == REASON_OUT_OF_RANGE)
				reason = -1;
		}
		s = ser.v;
		slen = ser.len;
		if (s[0] & 0x80) { /* negative: names no certificate of ours */
			crl->skipped++;
			continue;
		}
		while (slen > 0 && s[0] == 0) {
			s++;
			slen--;
		}
		if (slen == 0 || slen > SERIAL_MAX) {
			crl->skipped++;
			continue;
		}
		if (crl->n >= cap)
			return fail(err, errlen,
				    "malformed crl: more than %zu entries in "
				    "%zu bytes",
				    cap, list->len);
		out = &crl->e[crl->n];
		memset(out, 0, sizeof(*out));
		if (der_time(&when, &out->revoked_at) < 0)
			return fail(err, errlen,
				    "malformed crl: entry %zu revocationDate",
				    crl->n + crl->skipped);
		out->len = (unsigned char)slen;
		out->reason = (int16_t)reason;
		memcpy(out->b, s, slen);
		crl->n++;
	}
	/* Give back the estimate's slack (never-touched pages, mostly). */
	crl->e = xrealloc(crl->e, (crl->n + 1) * sizeof(*crl->e));
	if (crl->n > 0)
		qsort(crl->e, crl->n, sizeof(*crl->e), entry_cmp);
	return 0;
}

/*
 * Verifies sig over tbs with issuer's key, the digest taken from the
 * AlgorithmIdentifier (RSA PKCS#1 v1.5, ECDSA, Ed25519/Ed448).
 */
static int verify_signature(const struct tlv *alg, const struct tlv *sig,
			    const struct tlv *tbs, X509 *issuer, char *err,
			    size_t errlen)
{
	const unsigned char *p = alg->all;
	X509_ALGOR *algor = NULL;
	EVP_MD_CTX *ctx = NULL;
	const EVP_MD *md = NULL;
	EVP_PKEY *key = X509_get0_pubkey(issuer);
	int mdnid, pknid, rc = -1;

	algor = d2i_X509_ALGOR(NULL, &p, (long)alg->all_len);
	if (algor == NULL) {
		fail(err, errlen, "malformed crl: signatureAlgorithm");
		goto out;
	}
	if (!OBJ_find_sigid_algs(OBJ_obj2nid(algor->algorithm), &mdnid,
				 &pknid) ||
	    (mdnid == NID_undef && pknid != NID_ED25519 &&
	     pknid != NID_ED448)) {
		char name[80];

		OBJ_obj2txt(name, sizeof(name), algor->algorithm, 0);
		fail(err, errlen, "unsupported signature algorithm %s", name);
		goto out;
	}
	if (mdnid != NID_undef && (md = EVP_get_digestbynid(mdnid)) == NULL) {
		fail(err, errlen, "unsupported signature digest");
		goto out;
	}
	if (key == NULL) {
		fail(err, errlen, "issuer has no usable public key");
		goto out;
	}
	/* BIT STRING: one octet of unused bits, which must be 0. */
	if (sig->len < 2 || sig->v[0] != 0) {
		fail(err, errlen, "malformed crl: signatureValue");
		goto out;
	}
	ctx = EVP_MD_CTX_new();
	if (ctx == NULL ||
	    EVP_DigestVerifyInit(ctx, NULL, md, NULL, key) != 1 ||
	    EVP_DigestVerify(ctx, sig->v + 1, sig->len - 1, tbs->all,
			     tbs->all_len) != 1) {
		fail(err, errlen, "signature does not verify");
		goto out;
	}
	rc = 0;
out:
	ERR_clear_error();
	EVP_MD_CTX_free(ctx);
	X509_ALGOR_free(algor);
	return rc;
}

static int check_issuer_name(const struct tlv *name, X509 *issuer, char *err,
			     size_t errlen)
{
	const unsigned char *p = name->all;
	X509_NAME *n = d2i_X509_NAME(NULL, &p, (long)name->all_len);
	int rc = 0;

	if (n == NULL)
		rc = fail(err, errlen, "malformed crl: issuer");
	else if (X509_NAME_cmp(n, X509_get_subject_name(issuer)) != 0)
		rc = fail(err, errlen, "issuer name does not match");
	X509_NAME_free(n);
	return rc;
}

/* PEM to DER in *der (caller frees with OPENSSL_free). */
static int pem_decode(const unsigned char *in, size_t len, unsigned char **der,
		      long *der_len, char *err, size_t errlen)
{
	BIO *bio = BIO_new_mem_buf(in, (int)len);
	char *name = NULL, *header = NULL;
	int rc = -1;

	if (bio == NULL || len > INT32_MAX ||
	    !PEM_read_bio(bio, &name, &header, der, der_len)) {
		fail(err, errlen, "malformed crl: bad PEM");
		goto out;
	}
	if (strcmp(name, PEM_STRING_X509_CRL) != 0) {
		fail(err, errlen, "malformed crl: PEM block is \"%.40s\"",
		     name);
		OPENSSL_free(*der);
		*der = NULL;
		goto out;
	}
	rc = 0;
out:
	ERR_clear_error();
	OPENSSL_free(name);
	OPENSSL_free(header);
	BIO_free(bio);
	return rc;
}

/* The fields of a TBSCertList that crl_load checks. */
struct tbs_fields {
	struct tlv inner_alg, issuer_name, revoked;
	int64_t tu, nu;
	bool have_nu, have_revoked;
};

/*
 * Walks the TBSCertList tbs_t down to its end: version (v2 or none),
 * signature, issuer, thisUpdate, the optional nextUpdate,
 * revokedCertificates and crlExtensions.  0, or -1 with the reason.
 */
static int parse_tbs(const struct tlv *tbs_t, struct tbs_fields *f,
		     bool *partitioned, char *err, size_t errlen)
{
	struct der tbs = { tbs_t->v, tbs_t->len };
	struct tlv t;

	memset(f, 0, sizeof(*f));
	if (peek_tag(&tbs) == TAG_INTEGER) {
		/* v2 is INTEGER 1 */
		if (der_next(&tbs, &t) < 0 || t.len != 1 || t.v[0] != 1)
			return fail(err, errlen, "unsupported crl version");
	}
	if (der_expect(&tbs, TAG_SEQUENCE, &f->inner_alg) < 0 ||
	    der_expect(&tbs, TAG_SEQUENCE, &f->issuer_name) < 0 ||
	    der_next(&tbs, &t) < 0 || der_time(&t, &f->tu) < 0)
		return fail(err, errlen, "malformed crl: tbsCertList header");
	if (peek_tag(&tbs) == TAG_UTCTIME || peek_tag(&tbs) == TAG_GENTIME) {
		if (der_next(&tbs, &t) < 0 || der_time(&t, &f->nu) < 0)
			return fail(err, errlen, "malformed crl: nextUpdate");
		f->have_nu = true;
	}
	if (peek_tag(&tbs) == TAG_SEQUENCE) {
		if (der_next(&tbs, &f->revoked) < 0)
			return fail(err, errlen,
				    "malformed crl: revokedCertificates");
		f->have_revoked = true;
	}
	if (peek_tag(&tbs) == TAG_CTX0) {
		struct der x;
		struct tlv exts;

		if (der_next(&tbs, &t) < 0)
			return fail(err, errlen,
				    "malformed crl: crlExtensions");
		x.p = t.v;
		x.n = t.len;
		if (der_expect(&x, TAG_SEQUENCE, &exts) < 0 || x.n != 0)
			return fail(err, errlen,
				    "malformed crl: crlExtensions");
		if (walk_extensions(&exts, NULL, partitioned, err, errlen) < 0)
			return -1;
	}
	if (tbs.n != 0)
		return fail(err, errlen,
			    "malformed crl: trailing data in tbsCertList");
	return 0;
}

static bool looks_pem(const unsigned char *p, size_t len)
{
	static const char begin[] = "-----BEGIN";

	while (len > 0 &&
	       (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')) {
		p++;
		len--;
	}
	return len >= sizeof(begin) - 1 &&
	       memcmp(p, begin, sizeof(begin) - 1) == 0;
}

static void fmt_time(time_t t, char *buf, size_t len)
{
	int n;

	if (utctime_format_rfc3339(t, buf, len) == 0)
		return;
	/* Out of RFC 3339's range: the seconds (20 digits fit len). */
	n = snprintf(buf, len, "%lld", (long long)t);
	if ((n < 0 || (size_t)n >= len) && len > 0)
		buf[0] = '\0';
}

int crl_load(const unsigned char *der_or_pem, size_t len, X509 *issuer,
	     time_t now, long skew_s, struct crl **out, char *err,
	     size_t errlen)
{
	unsigned char *pem_der = NULL;
	long pem_len = 0;
	struct crl *crl = xcalloc(1, sizeof(*crl));
	struct der top, cl;
	struct tlv whole, tbs_t, alg, sig;
	struct tbs_fields f;
	char a[UTCTIME_BUFSZ], b[UTCTIME_BUFSZ];
	int rc = -1;

	*out = NULL;
	if (looks_pem(der_or_pem, len)) {
		if (pem_decode(der_or_pem, len, &pem_der, &pem_len, err,
			       errlen) < 0)
			goto out;
		der_or_pem = pem_der;
		len = (size_t)pem_len;
	}
	top.p = der_or_pem;
	top.n = len;
	if (der_expect(&top, TAG_SEQUENCE, &whole) < 0 || top.n != 0) {
		fail(err, errlen, "malformed crl: not a DER SEQUENCE");
		goto out;
	}
	cl.p = whole.v;
	cl.n = whole.len;
	if (der_expect(&cl, TAG_SEQUENCE, &tbs_t) < 0 ||
	    der_expect(&cl, TAG_SEQUENCE, &alg) < 0 ||
	    der_expect(&cl, TAG_BIT_STRING, &sig) < 0 || cl.n != 0) {
		fail(err, errlen, "malformed crl: CertificateList");
		goto out;
	}
	if (parse_tbs(&tbs_t, &f, &crl->partitioned, err, errlen) < 0)
		goto out;
	/* RFC 5280 5.1.1.2: must match the signature field inside. */
	if (f.inner_alg.all_len != alg.all_len ||
	    memcmp(f.inner_alg.all, alg.all, alg.all_len) != 0) {
		fail(err, errlen, "malformed crl: signature algorithms differ");
		goto out;
	}
	if (check_issuer_name(&f.issuer_name, issuer, err, errlen) < 0)
		goto out;
	/* RFC 5280 6.3.3 (f): an issuer whose keyUsage is present must
	 * assert cRLSign (X509_get_key_usage is all ones without one). */
	if (!(X509_get_key_usage(issuer) & KU_CRL_SIGN)) {
		ERR_clear_error();
		fail(err, errlen,
		     "issuer keyUsage lacks cRLSign (RFC 5280 6.3.3 (f))");
		goto out;
	}
	if (verify_signature(&alg, &sig, &tbs_t, issuer, err, errlen) < 0)
		goto out;
	if (!EVP_Digest(whole.all, whole.all_len, crl->sha256, NULL,
			EVP_sha256(), NULL)) {
		ERR_clear_error();
		fail(err, errlen, "cannot digest the crl");
		goto out;
	}
	crl->this_update = (time_t)f.tu;
	crl->next_update = (time_t)f.nu;
	fmt_time(now, b, sizeof(b));
	if (crl->this_update > now + skew_s) {
		fmt_time(crl->this_update, a, sizeof(a));
		fail(err, errlen, "not yet valid: thisUpdate %s after now %s",
		     a, b);
		goto out;
	}
	/* BR 4.9.7 requires nextUpdate; without it freshness is unknown. */
	if (!f.have_nu) {
		fail(err, errlen, "crl has no nextUpdate");
		goto out;
	}
	if (crl->next_update < now - skew_s) {
		fmt_time(crl->next_update, a, sizeof(a));
		fail(err, errlen, "stale: nextUpdate %s before now %s", a, b);
		goto out;
	}
	if (f.have_revoked && index_entries(crl, &f.revoked, err, errlen) < 0)
		goto out;
	*out = crl;
	crl = NULL;
	rc = 0;
out:
	crl_free(crl);
	OPENSSL_free(pem_der);
	return rc;
}

bool crl_lookup(const struct crl *crl, const struct serial *serial,
		time_t *revoked_at, int *reason)
{
	size_t lo = 0, hi = crl->n;
	struct crl_entry key;

	if (serial->len == 0 || serial->len > SERIAL_MAX)
		return false;
	key.len = (unsigned char)serial->len;
	memcpy(key.b, serial->b, serial->len);
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = entry_cmp(&key, &crl->e[mid]);

		if (c == 0) {
			if (revoked_at != NULL)
				*revoked_at = (time_t)crl->e[mid].revoked_at;
			if (reason != NULL)
				*reason = crl->e[mid].reason;
			return true;
		}
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return false;
}

size_t crl_count(const struct crl *crl)
{
	return crl->n;
}

size_t crl_skipped(const struct crl *crl)
{
	return crl->skipped;
}

time_t crl_this_update(const struct crl *crl)
{
	return crl->this_update;
}

time_t crl_next_update(const struct crl *crl)
{
	return crl->next_update;
}

const unsigned char *crl_get0_sha256(const struct crl *crl)
{
	return crl->sha256;
}

size_t crl_undefined_reasons(const struct crl *crl, const char **serial_hex,
			     int *code)
{
	if (serial_hex != NULL)
		*serial_hex = crl->undefined_serial;
	if (code != NULL)
		*code = crl->undefined_code;
	return crl->undefined;
}

bool crl_is_partitioned(const struct crl *crl)
{
	return crl->partitioned;
}

void crl_free(struct crl *crl)
{
	if (crl == NULL)
		return;
	free(crl->e);
	free(crl);
}
