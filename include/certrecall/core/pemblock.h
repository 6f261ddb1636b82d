/*
 * pemblock - splits PEM text into its blocks, line by line (pure).
 *
 * RFC 7468: a block runs from "-----BEGIN LABEL-----" to the matching
 * "-----END LABEL-----"; text outside blocks (openssl x509 -text
 * output, comments) is ignored.  The splitter only finds blocks: the
 * caller decodes them (OpenSSL) and decides what a label means.
 */
#ifndef CERTRECALL_PEMBLOCK_H
#define CERTRECALL_PEMBLOCK_H

#include <stdbool.h>
#include <stddef.h>

#include "certrecall/base/xalloc.h"

#define PEMBLOCK_LABEL_MAX 64
#define PEMBLOCK_MAX (2 * 1024 * 1024) /* bytes of one block */

enum pemblock_status {
	PEMBLOCK_ERROR = -1,
	PEMBLOCK_MORE = 0, /* outside a block, or inside one */
	PEMBLOCK_DONE = 1, /* a block just ended: read it before the next */
};

struct pemblock {
	char label[PEMBLOCK_LABEL_MAX + 1];
	bool open;		  /* inside a block */
	unsigned long long begin; /* line of the block's BEGIN line */
	char *text;		  /* BEGIN ... END lines, "\n"-terminated */
	size_t len, cap;
};

void pemblock_init(struct pemblock *p);
void pemblock_release(struct pemblock *p);

/*
 * Feeds one line (len bytes, no "\n"; a trailing "\r" and blanks are
 * ignored) numbered lineno.  Returns PEMBLOCK_DONE when it closed a
 * block (label, begin and text/len describe it until the next call),
 * PEMBLOCK_MORE, or PEMBLOCK_ERROR with a lower-case reason in err: a
 * BEGIN inside a block, an END that does not match, a block over
 * PEMBLOCK_MAX bytes or a label that is too long.
 */
CR_MUST_CHECK int pemblock_feed(struct pemblock *p, const char *line,
				size_t len, unsigned long long lineno,
				char *err, size_t errlen);

/* At the end of the input: -1 with a reason if a block is still open. */
CR_MUST_CHECK int pemblock_finish(const struct pemblock *p, char *err,
				  size_t errlen);

/*
 * The labels OpenSSL reads as a certificate (PEM_read_bio_X509_AUX):
 * CERTIFICATE, X509 CERTIFICATE (old) and TRUSTED CERTIFICATE.
 */
bool pemblock_is_certificate(const char *label);

#endif
