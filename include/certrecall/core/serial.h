/*
 * serial - certificate serial numbers in canonical form (pure).
 *
 * A serial is a positive INTEGER of at most 20 octets (RFC 5280 4.1.2.2).
 * Canonical form: its big-endian magnitude with leading zero bytes
 * stripped, so "00:AB", "0xab" and "AB" are the same certificate.  Stored
 * as bytea, printed as lowercase hex.
 *
 * Real certificates (old roots, misissued leaves) also carry serial 0 and
 * negative serials, which OpenSSL reads.  Those are stored with a leading
 * zero octet, which no positive serial has: zero is the single octet 00,
 * a negative serial is 00 followed by its DER content octets (two's
 * complement), so -1 is 00 ff and never collides with the positive ff.
 * That takes up to SERIAL_MAX + 1 octets.  Lists give positive serials
 * only.
 */
#ifndef CERTRECALL_SERIAL_H
#define CERTRECALL_SERIAL_H

#include <stddef.h>
#include <stdint.h>

#include "certrecall/base/xalloc.h"

#define SERIAL_MAX 20

#define SERIAL_STORED_MAX (SERIAL_MAX + 1)
/* serial_format_hex / serial_format_openssl output, with the NUL. */
#define SERIAL_TEXT_MAX (2 * SERIAL_STORED_MAX + 2)

struct serial {
	size_t len; /* 1..SERIAL_MAX, or up to SERIAL_STORED_MAX (above) */
	unsigned char b[SERIAL_STORED_MAX];
};

/*
 * Parses text of len bytes (no NUL needed).  base 16 accepts an optional
 * "0x"/"0X" prefix, colons and spaces between digits, either case; base 10
 * accepts decimal digits only.  Rejects empty input, other characters,
 * zero, and values over 20 octets.  Returns 0, or -1 with a lower-case
 * message quoting (at most 40 bytes of) the input in err.
 */
CR_MUST_CHECK int serial_parse(struct serial *out, const char *text, size_t len,
			       int base, char *err, size_t errlen);

/* Lowercase hex of the stored octets without separators; buf needs
 * SERIAL_TEXT_MAX. */
void serial_format_hex(const struct serial *s, char *buf, size_t len);

/*
 * From the content octets of a DER INTEGER (n >= 1, as in a certificate):
 * any sign, at most SERIAL_MAX octets of magnitude (positive) or of
 * content (negative).  Returns 0, or -1 with a lower-case reason.
 */
CR_MUST_CHECK int serial_from_der_content(struct serial *out,
					  const unsigned char *c, size_t n,
					  char *err, size_t errlen);

/*
 * The stored octets given as hex (encode(serial, 'hex')), kept exactly:
 * any stored form above.  Returns 0, or -1 with a lower-case reason.
 */
CR_MUST_CHECK int serial_from_stored_hex(struct serial *out, const char *hex,
					 char *err, size_t errlen);

/* The DER content octets of the INTEGER s stands for (any sign) into c
 * (SERIAL_STORED_MAX octets); returns their count. */
size_t serial_der_content(const struct serial *s, unsigned char *c);

/* 1, 0 or -1: the sign of the number s stands for. */
CR_MUST_CHECK int serial_sign(const struct serial *s);

/* As "openssl x509 -serial" prints it: uppercase hex octets of the
 * magnitude, "00" for zero, "-" before a negative one.  SERIAL_TEXT_MAX. */
void serial_format_openssl(const struct serial *s, char *buf, size_t len);

/* memcmp-like order: shorter (smaller) first, then bytes. */
CR_MUST_CHECK int serial_compare(const struct serial *a,
				 const struct serial *b);

/* A 64-bit hash (FNV-1a) of the canonical bytes. */
uint64_t serial_hash(const struct serial *s);

#endif
