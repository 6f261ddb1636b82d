/*
 * smtpwire - what the notices' SMTP client reads and writes on the wire
 * (pure: no sockets, no OpenSSL): the relay's replies (RFC 5321 4.2),
 * the extensions its EHLO offers, and a message's data with its lines
 * dot-stuffed (4.5.2).
 *
 * Bounded: a reply line over SMTPWIRE_MAX_LINE bytes or a reply of more
 * than SMTPWIRE_MAX_LINES lines is an error; a reply's text is kept up
 * to SMTPWIRE_MAX_TEXT bytes, the rest cut.
 */
#ifndef CERTRECALL_SMTPWIRE_H
#define CERTRECALL_SMTPWIRE_H

#include <stdbool.h>
#include <stddef.h>

#include "certrecall/base/xalloc.h"

#define SMTPWIRE_MAX_LINE 4096
#define SMTPWIRE_MAX_LINES 200
#define SMTPWIRE_MAX_TEXT 1024

/* One reply: its code and its lines' text after the code, joined by
 * "\n" ("" when it has none). */
struct smtpwire_reply {
	int code;
	char text[SMTPWIRE_MAX_TEXT];
	size_t len;
};

/* Reads replies out of the bytes the relay sends, one at a time. */
struct smtpwire_reader {
	char line[SMTPWIRE_MAX_LINE]; /* a line not ended yet */
	size_t llen;
	size_t lines; /* of the reply in progress */
	struct smtpwire_reply cur;
};

void smtpwire_reader_init(struct smtpwire_reader *r);

/*
 * Feeds data[0..len).  1: a reply is whole, in *out, and *used bytes
 * were read (the rest is for the next call); 0: all of it was read and
 * no reply is whole yet; -1: the relay broke the protocol, why in why.
 */
CR_MUST_CHECK int smtpwire_feed(struct smtpwire_reader *r, const char *data,
				size_t len, size_t *used,
				struct smtpwire_reply *out, char *why,
				size_t whylen);

/* The EHLO extensions the client uses (RFC 2920, 3207, 4954, 3461). */
enum {
	SMTPWIRE_PIPELINING = 1 << 0,
	SMTPWIRE_STARTTLS = 1 << 1,
	SMTPWIRE_AUTH_PLAIN = 1 << 2,
	SMTPWIRE_DSN = 1 << 3,
};

/* The extensions of a 250 reply to EHLO (its first line is the
 * relay's name, the others keywords and their parameters). */
unsigned smtpwire_ehlo_extensions(const struct smtpwire_reply *r);

/* Whether mailbox can go in an envelope as <mailbox>: printable ASCII
 * without space, '<' or '>', at most 320 bytes (RFC 5321 4.5.3.1). */
CR_MUST_CHECK bool smtpwire_mailbox_ok(const char *mailbox);

/*
 * Message m[0..len) as DATA sends it: every line that starts with "."
 * gets a second one, a last line without CRLF gets one, and ".\r\n"
 * ends it.  The bytes go to put(arg, span, n) in order, as spans of m
 * where they can.
 */
void smtpwire_data(const char *m, size_t len,
		   void (*put)(void *arg, const char *span, size_t n),
		   void *arg);

#endif
