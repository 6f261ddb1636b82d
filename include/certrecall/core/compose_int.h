/*
 * compose_int.h - what the files of the compose module share (internal;
 * the public API is compose.h): the growing buffer, the header folder
 * and the parsed address.  compose_header.c writes header fields (RFC
 * 5322 folding, RFC 2047 encoded words, addresses), compose.c the body
 * encodings and the whole message.
 */
#ifndef CERTRECALL_COMPOSE_INT_H
#define CERTRECALL_COMPOSE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "certrecall/base/xalloc.h"

/* RFC 5322 2.1.1: SHOULD fold at 78, MUST NOT pass 998. */
#define LINE_SOFT 78
#define LINE_HARD 998
/* RFC 2047 2: an encoded-word is at most 75 characters. */
#define EWORD_MAX 75
/* "=?UTF-8?Q?" + "?=" */
#define EWORD_OVERHEAD 12
/* RFC 2045 6.7 (5) and 6.8: encoded lines are at most 76 characters. */
#define QP_LINE 76
#define B64_LINE 76
/* RFC 5321 4.5.3.1.3: a path is at most 256 octets with its brackets. */
#define ADDR_MAX 254
#define MSGID_MAX 900
#define PARAM_MAX 200

struct compose_buf {
	char *p;
	size_t len, cap;
};

/* A header field being written, and the column its last line reached. */
struct compose_hdr {
	struct compose_buf *b;
	size_t col;
	bool first; /* no word written after the field name yet */
};

/* An address split into display name (may be empty) and addr-spec. */
struct compose_addr {
	char *name;
	size_t namelen;
	const char *spec;
	size_t speclen;
	bool brackets; /* the input used <...> */
};

/* Most writes are a byte or a word: only a full buffer calls out. */
static inline void put(struct compose_buf *b, const char *s, size_t len)
{
	if (b->len + len + 1 > b->cap)
		xgrow(&b->p, &b->cap, b->len + len + 1, 1);
	if (len > 0)
		memcpy(b->p + b->len, s, len);
	b->len += len;
	b->p[b->len] = '\0';
}

static inline void puts_(struct compose_buf *b, const char *s)
{
	put(b, s, strlen(s));
}

static inline void putc_(struct compose_buf *b, char c)
{
	put(b, &c, 1);
}

static inline void put_hex(struct compose_buf *b, unsigned char c)
{
	static const char hexdig[] = "0123456789ABCDEF";
	char h[3] = { '=', hexdig[c >> 4], hexdig[c & 15] };

	put(b, h, 3);
}

/* Offset of the first byte that is not valid UTF-8, or len. */
size_t compose_utf8_check(const char *s, size_t len);

/* Starts the header field name (with its colon) in b. */
void compose_hdr_begin(struct compose_hdr *h, struct compose_buf *b,
		       const char *name);

/*
 * Appends " word", folding before the space when the word would pass
 * column 78 (the space then starts the continuation line).  The first
 * word stays on the field name's line.
 */
void compose_hdr_word(struct compose_hdr *h, const char *w, size_t len);

/* Appends the blank-separated words of s (ASCII, no controls). */
void compose_hdr_words(struct compose_hdr *h, const char *s, size_t len);

/* Ends the field with CRLF. */
void compose_hdr_end(struct compose_hdr *h);

/* RFC 4648 base64 of s, no line breaks. */
void compose_put_b64(struct compose_buf *b, const unsigned char *s, size_t len);

/* The Subject field: plain words, or RFC 2047 encoded words for text
 * that is not plain ASCII.  Returns 0, or -1 with the reason in err. */
CR_MUST_CHECK int compose_write_subject(struct compose_buf *b,
					const char *subject, char *err,
					size_t errlen);

/* Releases what compose_parse_addr allocated in a. */
void compose_addr_free(struct compose_addr *a);

/*
 * Splits "Display Name <addr>", "<addr>" or "addr".  A display name given
 * as a quoted-string is unquoted first so it is not quoted twice.  Any
 * control character, a bracket that does not pair, a bad addr-spec or a
 * name that is not UTF-8 is an error.
 */
CR_MUST_CHECK int compose_parse_addr(const char *s, const char *what,
				     struct compose_addr *a, char *err,
				     size_t errlen);

/* The field (From:, To:, Reply-To:) with a's display name, encoded
 * when need be, and its addr-spec in brackets. */
void compose_write_addr(struct compose_buf *b, const char *field,
			const struct compose_addr *a);

#endif
