/*
 * serial - certificate serial numbers in canonical form (pure).
 *
 * A serial is a positive INTEGER of at most 20 octets (RFC 5280 4.1.2.2).
 * Canonical form: its big-endian magnitude with leading zero bytes
 * stripped, so "00:AB", "0xab" and "AB" are the same certificate.  Stored
 * as bytea, printed as lowercase hex.
 */
#ifndef CERTRECALL_SERIAL_H
#define CERTRECALL_SERIAL_H

#include <stddef.h>
#include <stdint.h>

#define SERIAL_MAX 20

struct serial {
	size_t len; /* 1..SERIAL_MAX */
	unsigned char b[SERIAL_MAX];
};

/*
 * Parses text of len bytes (no NUL needed).  base 16 accepts an optional
 * "0x"/"0X" prefix, colons and spaces between digits, either case; base 10
 * accepts decimal digits only.  Rejects empty input, other characters,
 * zero, and values over 20 octets.  Returns 0, or -1 with a lower-case
 * message quoting (at most 40 bytes of) the input in err.
 */
int serial_parse(struct serial *out, const char *text, size_t len, int base,
		 char *err, size_t errlen);

/* Lowercase hex without separators; buf needs 2 * SERIAL_MAX + 1. */
void serial_format_hex(const struct serial *s, char *buf, size_t len);

/* memcmp-like order: shorter (smaller) first, then bytes. */
int serial_compare(const struct serial *a, const struct serial *b);

/* A 64-bit hash (FNV-1a) of the canonical bytes. */
uint64_t serial_hash(const struct serial *s);

#endif
