/*
 * dkim - DKIM signatures (RFC 6376) on notices, by OpenDKIM's
 * libopendkim: RSA-SHA256 (keys of 2048 bits or more) or Ed25519-SHA256
 * (RFC 8463), relaxed/relaxed canonicalisation, signing From, To,
 * Subject, Date, Message-ID, Reply-To, Auto-Submitted and the MIME
 * headers.  A signer is made once and shared by the sending threads.
 */
#ifndef CERTRECALL_DKIM_H
#define CERTRECALL_DKIM_H

#include <stddef.h>

#include "certrecall/base/xalloc.h"

struct dkim_signer;

/*
 * Loads the PEM private key in key_path (a file readable by its owner
 * only) for domain and selector.  NULL, logged, when the key is not RSA
 * of at least 2048 bits or Ed25519, or the library cannot sign with it.
 */
CR_MUST_CHECK struct dkim_signer *
dkim_signer_new(const char *domain, const char *selector, const char *key_path);
void dkim_signer_free(struct dkim_signer *s);

/*
 * Signs msg (a complete message with CRLF line ends, as compose writes
 * it): returns a new message, the DKIM-Signature header field followed
 * by msg, NUL-terminated with its length in *outlen; NULL with the
 * reason in err.
 */
CR_MUST_CHECK char *dkim_signer_sign(struct dkim_signer *s, const char *msg,
				     size_t len, size_t *outlen, char *err,
				     size_t errlen);

#endif
