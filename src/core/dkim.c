/*
 * dkim.c - DKIM signing with libopendkim (dkim.h).
 *
 * Why the library and not OpenSSL plus our own canonicaliser: relaxed
 * canonicalisation of headers and body is where signers get it subtly
 * wrong (white space runs, empty lines at the end, folded headers), and
 * OpenDKIM's is the one most mail on the Internet was verified against.
 * The 2.11 library in Debian 12 signs Ed25519 (DKIM_FEATURE_ED25519),
 * checked at start-up.
 */
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* libopendkim's header wants the BSD integer types. */
#include <sys/types.h>
#include <opendkim/dkim.h>

#include "certrecall/core/dkim.h"
#include "certrecall/base/errmsg.h"
#include "certrecall/base/log.h"
#include "certrecall/base/xalloc.h"

#define KEY_MAX 16384

struct dkim_signer {
	DKIM_LIB *lib;
	char *domain, *selector;
	unsigned char *key; /* PEM, NUL-terminated */
	size_t keylen;
	dkim_alg_t alg;
};

/* The fields signed, when present (RFC 6376 5.4.1). */
static const char *signed_headers[] = {
	"from",
	"to",
	"subject",
	"date",
	"message-id",
	"reply-to",
	"auto-submitted",
	"mime-version",
	"content-type",
	"content-transfer-encoding",
	NULL,
};

static unsigned char *read_key(const char *path, size_t *len)
{
	struct stat st;
	unsigned char *buf = NULL;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		log_error("mailer.dkim_key: cannot open \"%s\": %s", path,
			  strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		log_error("mailer.dkim_key: \"%s\" is not a regular file",
			  path);
	} else if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		log_error("mailer.dkim_key: \"%s\" is readable by group or "
			  "others (mode %04o); run chmod 600 on it",
			  path, (unsigned)(st.st_mode & 07777));
	} else {
		buf = xmalloc(KEY_MAX + 1);
		n = read(fd, buf, KEY_MAX + 1);
		if (n <= 0 || n > KEY_MAX) {
			log_error("mailer.dkim_key: \"%s\": %s", path,
				  n < 0 ? strerror(errno)
					: "empty or larger than 16 KiB");
			free(buf);
			buf = NULL;
		} else {
			buf[n] = '\0';
			*len = (size_t)n;
		}
	}
	close(fd);
	return buf;
}

struct dkim_signer *dkim_signer_new(const char *domain, const char *selector,
				    const char *key_path)
{
	struct dkim_signer *s = xcalloc(1, sizeof(*s));
	EVP_PKEY *pkey = NULL;
	BIO *bio;

	s->key = read_key(key_path, &s->keylen);
	if (s->key == NULL)
		goto fail;
	bio = BIO_new_mem_buf(s->key, (int)s->keylen);
	pkey = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
	BIO_free(bio);
	if (pkey == NULL) {
		log_error("mailer.dkim_key: \"%s\" is not a PEM private key",
			  key_path);
		goto fail;
	}
	if (EVP_PKEY_get_base_id(pkey) == EVP_PKEY_RSA) {
		if (EVP_PKEY_get_bits(pkey) < 2048) {
			log_error("mailer.dkim_key: an RSA key of %d bits; "
				  "DKIM wants 2048 or more",
				  EVP_PKEY_get_bits(pkey));
			goto fail;
		}
		s->alg = DKIM_SIGN_RSASHA256;
	} else if (EVP_PKEY_get_base_id(pkey) == EVP_PKEY_ED25519) {
		s->alg = DKIM_SIGN_ED25519SHA256;
	} else {
		log_error("mailer.dkim_key: neither RSA nor Ed25519");
		goto fail;
	}
	s->lib = dkim_init(NULL, NULL);
	if (s->lib == NULL) {
		log_error("dkim: the library does not start");
		goto fail;
	}
	if (s->alg == DKIM_SIGN_ED25519SHA256 &&
	    !dkim_libfeature(s->lib, DKIM_FEATURE_ED25519)) {
		log_error("dkim: this libopendkim cannot sign with Ed25519");
		goto fail;
	}
	if (dkim_options(s->lib, DKIM_OP_SETOPT, DKIM_OPTS_SIGNHDRS,
			 signed_headers, sizeof(char **)) != DKIM_STAT_OK) {
		log_error("dkim: cannot set the signed headers");
		goto fail;
	}
	s->domain = xstrdup(domain);
	s->selector = xstrdup(selector);
	EVP_PKEY_free(pkey);
	return s;
fail:
	EVP_PKEY_free(pkey);
	dkim_signer_free(s);
	return NULL;
}

void dkim_signer_free(struct dkim_signer *s)
{
	if (s == NULL)
		return;
	if (s->lib != NULL)
		dkim_close(s->lib);
	if (s->key != NULL) {
		explicit_bzero(s->key, s->keylen);
		free(s->key);
	}
	free(s->domain);
	free(s->selector);
	free(s);
}

static const char *stat_text(DKIM *d, DKIM_STAT st)
{
	const char *e = d != NULL ? dkim_geterror(d) : NULL;

	return e != NULL && *e ? e : dkim_getresultstr(st);
}

char *dkim_signer_sign(struct dkim_signer *s, const char *msg, size_t len,
		       size_t *outlen, char *err, size_t errlen)
{
	const char *p = msg, *end = msg + len, *body = NULL;
	unsigned char hdr[8192];
	DKIM_STAT st = DKIM_STAT_OK;
	DKIM *d;
	char *out = NULL;
	size_t hl, o = 0;

	d = dkim_sign(s->lib, (const unsigned char *)"certrecall", NULL, s->key,
		      (const unsigned char *)s->selector,
		      (const unsigned char *)s->domain, DKIM_CANON_RELAXED,
		      DKIM_CANON_RELAXED, s->alg, -1, &st);
	if (d == NULL) {
		errmsg_set(err, errlen, "dkim: %s", dkim_getresultstr(st));
		return NULL;
	}
	dkim_set_margin(d, 76);
	/* One header field (with its folded lines) at a time. */
	while (p < end && st == DKIM_STAT_OK) {
		const char *f = p;

		if (end - p >= 2 && p[0] == '\r' && p[1] == '\n') {
			body = p + 2;
			break;
		}
		for (;;) {
			const char *nl = memchr(p, '\n', (size_t)(end - p));

			p = nl != NULL ? nl + 1 : end;
			if (p >= end || (*p != ' ' && *p != '\t'))
				break;
		}
		hl = (size_t)(p - f);
		while (hl > 0 && (f[hl - 1] == '\n' || f[hl - 1] == '\r'))
			hl--;
		st = dkim_header(d, (unsigned char *)(uintptr_t)f, hl);
	}
	if (body == NULL && st == DKIM_STAT_OK) {
		errmsg_set(err, errlen, "dkim: the message has no body");
		goto out;
	}
	if (st == DKIM_STAT_OK)
		st = dkim_eoh(d);
	if (st == DKIM_STAT_OK)
		st = dkim_body(d, (unsigned char *)(uintptr_t)body,
			       (size_t)(end - body));
	if (st == DKIM_STAT_OK)
		st = dkim_eom(d, NULL);
	if (st == DKIM_STAT_OK)
		st = dkim_getsighdr(d, hdr, sizeof(hdr),
				    strlen(DKIM_SIGNHEADER ": "));
	if (st != DKIM_STAT_OK) {
		errmsg_set(err, errlen, "dkim: %s", stat_text(d, st));
		goto out;
	}
	/* The library folds with bare LF; the message is CRLF throughout. */
	hl = strlen((char *)hdr);
	out = xmalloc(sizeof(DKIM_SIGNHEADER ": ") + 2 * hl + 2 + len + 1);
	o = strlen(DKIM_SIGNHEADER ": ");
	memcpy(out, DKIM_SIGNHEADER ": ", o);
	for (size_t i = 0; i < hl; i++) {
		if (hdr[i] == '\n' && (i == 0 || hdr[i - 1] != '\r'))
			out[o++] = '\r';
		out[o++] = (char)hdr[i];
	}
	out[o++] = '\r';
	out[o++] = '\n';
	memcpy(out + o, msg, len);
	o += len;
	out[o] = '\0';
	*outlen = o;
out:
	dkim_free(d);
	return out;
}
