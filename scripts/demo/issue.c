/*
 * issue - the demo's test CA issuing the certificates the local fleet
 * serves, in one process (2,000 `openssl x509 -req` runs would take
 * most of a minute).
 *
 *   issue CA.pem CA.key LEAF.key OUTDIR <plan.tsv
 *
 * For each line of scripts/demo/gen_incident's plan:
 *   affected  the listed certificate itself: the listed serial and
 *             names, valid from the listed issue time for 90 days (it is
 *             served as the subscriber left it; the scanner recognises
 *             it by serial, expired or not);
 *   replaced  the renewal: the replacement serial, the same names, valid
 *             from now for 90 days (the scanner counts a served
 *             certificate as a replacement only while it is valid);
 *   others    nothing: no host serves them.
 * Writes OUTDIR/names/NAME.crt for every served name (nginx picks the
 * file by SNI) and OUTDIR/replacements.pem, the CA's record of the
 * renewals.  Every leaf shares LEAF.key: key generation is the slow
 * part, and which key a certificate carries does not matter here.
 */
#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_LINE 16384
#define VALIDITY (90L * 86400)

static EVP_PKEY *read_key(const char *path)
{
	FILE *f = fopen(path, "r");
	EVP_PKEY *k = NULL;

	if (f != NULL) {
		k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
		fclose(f);
	}
	if (k == NULL)
		fprintf(stderr, "issue: %s: cannot read the key\n", path);
	return k;
}

static int add_ext(X509 *x, X509 *ca, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *e;
	int ok;

	X509V3_set_ctx(&ctx, ca, x, NULL, NULL, 0);
	e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (e == NULL)
		return -1;
	ok = X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
	return ok ? 0 : -1;
}

/* One leaf; returns it PEM-encoded in a memory BIO, or NULL. */
static BIO *leaf_new(X509 *ca, EVP_PKEY *cakey, EVP_PKEY *key,
		     const char *serial, char **names, int nnames, time_t from)
{
	X509 *x = X509_new();
	BIGNUM *bn = NULL;
	ASN1_INTEGER *sn = NULL;
	BIO *out = NULL;
	char san[MAX_LINE];
	size_t len = 0;

	san[0] = '\0';
	for (int i = 0; i < nnames; i++) {
		int w = snprintf(san + len, sizeof(san) - len, "%sDNS:%s",
				 i ? "," : "", names[i]);

		if (w < 0 || (size_t)w >= sizeof(san) - len)
			goto out;
		len += (size_t)w;
	}
	if (x == NULL || !BN_hex2bn(&bn, serial) ||
	    (sn = BN_to_ASN1_INTEGER(bn, NULL)) == NULL ||
	    !X509_set_version(x, 2) || !X509_set_serialNumber(x, sn) ||
	    !X509_set_issuer_name(x, X509_get_subject_name(ca)) ||
	    !X509_NAME_add_entry_by_txt(
		    X509_get_subject_name(x), "CN", MBSTRING_ASC,
		    (const unsigned char *)names[0], -1, -1, 0) ||
	    X509_time_adj_ex(X509_getm_notBefore(x), 0, 0, &from) == NULL ||
	    X509_time_adj_ex(X509_getm_notAfter(x), 0, VALIDITY, &from) ==
		    NULL ||
	    !X509_set_pubkey(x, key) ||
	    add_ext(x, ca, NID_basic_constraints, "critical,CA:FALSE") < 0 ||
	    add_ext(x, ca, NID_key_usage, "critical,digitalSignature") < 0 ||
	    add_ext(x, ca, NID_ext_key_usage, "serverAuth") < 0 ||
	    add_ext(x, ca, NID_authority_key_identifier, "keyid") < 0 ||
	    add_ext(x, ca, NID_subject_alt_name, san) < 0 ||
	    !X509_sign(x, cakey, EVP_sha256()))
		goto out;
	out = BIO_new(BIO_s_mem());
	if (out != NULL && !PEM_write_bio_X509(out, x)) {
		BIO_free(out);
		out = NULL;
	}
out:
	ASN1_INTEGER_free(sn);
	BN_free(bn);
	X509_free(x);
	return out;
}

static int write_file(const char *path, const char *data, long len)
{
	FILE *f = fopen(path, "w");

	if (f == NULL || fwrite(data, 1, (size_t)len, f) != (size_t)len) {
		perror(path);
		if (f != NULL)
			fclose(f);
		return -1;
	}
	return fclose(f) == 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
	static char line[MAX_LINE];
	char *f[128], path[4096];
	EVP_PKEY *cakey, *key;
	X509 *ca = NULL;
	FILE *fp, *repl;
	time_t now = time(NULL);
	long served = 0, renewed = 0, names = 0;
	int rc = 1;

	if (argc != 5) {
		fprintf(stderr, "usage: issue CA.pem CA.key LEAF.key OUTDIR "
				"<plan.tsv\n");
		return 64;
	}
	if ((fp = fopen(argv[1], "r")) != NULL) {
		ca = PEM_read_X509(fp, NULL, NULL, NULL);
		fclose(fp);
	}
	cakey = read_key(argv[2]);
	key = read_key(argv[3]);
	if (ca == NULL || cakey == NULL || key == NULL)
		return 66;
	snprintf(path, sizeof(path), "%s/replacements.pem", argv[4]);
	if ((repl = fopen(path, "w")) == NULL) {
		perror(path);
		return 73;
	}
	while (fgets(line, sizeof(line), stdin) != NULL) {
		int nf = 0;
		bool replaced;
		BIO *pem;
		char *data, *save = NULL;
		long len;

		line[strcspn(line, "\n")] = '\0';
		for (char *t = strtok_r(line, "\t", &save);
		     t != NULL && nf < 128; t = strtok_r(NULL, "\t", &save))
			f[nf++] = t;
		if (nf < 6)
			continue;
		replaced = strcmp(f[0], "replaced") == 0;
		if (!replaced && strcmp(f[0], "affected") != 0)
			continue;
		pem = leaf_new(ca, cakey, key, replaced ? f[2] : f[1], f + 5,
			       nf - 5,
			       replaced ? now - 3600 : (time_t)atoll(f[4]));
		if (pem == NULL) {
			fprintf(stderr, "issue: %s: cannot issue\n", f[1]);
			goto out;
		}
		len = BIO_get_mem_data(pem, &data);
		for (int i = 5; i < nf; i++, names++) {
			snprintf(path, sizeof(path), "%s/names/%s.crt", argv[4],
				 f[i]);
			if (write_file(path, data, len) < 0) {
				BIO_free(pem);
				goto out;
			}
		}
		if (replaced)
			fwrite(data, 1, (size_t)len, repl);
		BIO_free(pem);
		if (replaced)
			renewed++;
		else
			served++;
	}
	if (ferror(repl)) {
		fprintf(stderr, "issue: cannot write replacements.pem\n");
		goto out;
	}
	printf("%ld listed certificates and %ld renewals issued, for %ld "
	       "names\n",
	       served, renewed, names);
	rc = 0;
out:
	if (fclose(repl) != 0)
		rc = 1;
	X509_free(ca);
	EVP_PKEY_free(cakey);
	EVP_PKEY_free(key);
	return rc;
}
