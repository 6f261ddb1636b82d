/*
 * serial.c - certificate serial numbers in canonical form.
 *
 * RFC 5280 4.1.2.2: a serial is a positive INTEGER of at most 20 octets.
 * Both bases strip leading zeros as they read, so "00:AB", "0xab" and
 * "AB" all give the single byte 0xab, and a long run of leading zeros
 * never counts against the 20-octet limit.
 */
#include "certrecall/base/errmsg.h"
#include "certrecall/core/serial.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* Longest piece of input quoted in an error message. */

/* Decimal digits of the largest 20-octet value, 2^160 - 1 (49 digits). */
#define DEC_DIGITS_MAX 49

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/*
 * Hex digits with single ':' or ' ' separators between them.  The
 * significant digits (after leading zeros) are packed from the right, so
 * an odd count gives a leading nibble.
 */
static int parse_hex(struct serial *out, const char *s, size_t n,
		     const char *text, size_t len, char *err, size_t errlen)
{
	unsigned char nib[2 * SERIAL_MAX];
	size_t i, nd = 0, k;
	bool prev_digit = false;

	if (n >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		s += 2;
		n -= 2;
	}
	if (n == 0)
		return errmsg_near(err, errlen, text, len, "empty serial");
	for (i = 0; i < n; i++) {
		int v = hexval((unsigned char)s[i]);

		if (v < 0) {
			if ((s[i] == ':' || s[i] == ' ') && prev_digit &&
			    i + 1 < n && hexval((unsigned char)s[i + 1]) >= 0) {
				prev_digit = false;
				continue;
			}
			if (s[i] == ':' || s[i] == ' ')
				return errmsg_near(
					err, errlen, text, len,
					"misplaced separator in serial");
			return errmsg_near(err, errlen, text, len,
					   "serial is not hex");
		}
		prev_digit = true;
		if (nd == 0 && v == 0)
			continue; /* leading zero */
		if (nd == sizeof(nib))
			return errmsg_near(err, errlen, text, len,
					   "serial longer than %d octets",
					   SERIAL_MAX);
		nib[nd++] = (unsigned char)v;
	}
	if (nd == 0)
		return errmsg_near(err, errlen, text, len, "serial is zero");
	out->len = (nd + 1) / 2;
	k = 0;
	i = 0;
	if (nd % 2 == 1)
		out->b[k++] = nib[i++];
	for (; i < nd; i += 2)
		out->b[k++] = (unsigned char)(nib[i] << 4 | nib[i + 1]);
	return 0;
}

/*
 * Decimal digits only.  At most DEC_DIGITS_MAX significant digits are
 * read, so the multiply-and-add below never needs more than one byte
 * beyond SERIAL_MAX to notice an over-long value.
 */
static int parse_dec(struct serial *out, const char *s, size_t n,
		     const char *text, size_t len, char *err, size_t errlen)
{
	unsigned char b[SERIAL_MAX + 1];
	size_t i, nd = 0, k;

	if (n == 0)
		return errmsg_near(err, errlen, text, len, "empty serial");
	memset(b, 0, sizeof(b));
	for (i = 0; i < n; i++) {
		unsigned carry;

		if (s[i] < '0' || s[i] > '9')
			return errmsg_near(err, errlen, text, len,
					   "serial is not decimal");
		if (nd == 0 && s[i] == '0')
			continue;
		if (++nd > DEC_DIGITS_MAX)
			return errmsg_near(err, errlen, text, len,
					   "serial longer than %d octets",
					   SERIAL_MAX);
		carry = (unsigned)(s[i] - '0');
		for (k = sizeof(b); k-- > 0;) {
			unsigned v = b[k] * 10u + carry;

			b[k] = (unsigned char)(v & 0xff);
			carry = v >> 8;
		}
	}
	if (nd == 0)
		return errmsg_near(err, errlen, text, len, "serial is zero");
	for (k = 0; k < sizeof(b) && b[k] == 0; k++)
		;
	if (sizeof(b) - k > SERIAL_MAX)
		return errmsg_near(err, errlen, text, len,
				   "serial longer than %d octets", SERIAL_MAX);
	out->len = sizeof(b) - k;
	memcpy(out->b, b + k, out->len);
	return 0;
}

int serial_parse(struct serial *out, const char *text, size_t len, int base,
		 char *err, size_t errlen)
{
	const char *s = text;
	size_t n = len;
	struct serial tmp;
	int rc;

	/* Surrounding blanks are not part of the number. */
	while (n > 0 && is_blank(s[0])) {
		s++;
		n--;
	}
	while (n > 0 && is_blank(s[n - 1]))
		n--;
	if (base == 16)
		rc = parse_hex(&tmp, s, n, text, len, err, errlen);
	else if (base == 10)
		rc = parse_dec(&tmp, s, n, text, len, err, errlen);
	else
		rc = errmsg_near(err, errlen, text, len,
				 "unsupported serial base %d", base);
	if (rc == 0)
		*out = tmp;
	return rc;
}

void serial_format_hex(const struct serial *s, char *buf, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, k = 0;

	if (len == 0)
		return;
	for (i = 0; i < s->len && i < SERIAL_STORED_MAX && k + 2 < len; i++) {
		buf[k++] = hex[s->b[i] >> 4];
		buf[k++] = hex[s->b[i] & 0x0f];
	}
	buf[k] = '\0';
}

int serial_from_der_content(struct serial *out, const unsigned char *c,
			    size_t n, char *err, size_t errlen)
{
	if (n == 0)
		return errmsg_set(err, errlen, "serial number is empty");
	if (c[0] & 0x80) {
		/* Negative: drop sign octets DER would not have written. */
		while (n > 1 && c[0] == 0xff && (c[1] & 0x80)) {
			c++;
			n--;
		}
		if (n > SERIAL_MAX)
			return errmsg_set(err, errlen,
					  "negative serial number longer "
					  "than %d octets",
					  SERIAL_MAX);
		out->b[0] = 0;
		memcpy(out->b + 1, c, n);
		out->len = n + 1;
		return 0;
	}
	while (n > 1 && c[0] == 0) {
		c++;
		n--;
	}
	if (n > SERIAL_MAX)
		return errmsg_set(err, errlen,
				  "serial number longer than %d octets",
				  SERIAL_MAX);
	memcpy(out->b, c, n);
	out->len = n;
	return 0;
}

int serial_from_stored_hex(struct serial *out, const char *hex, char *err,
			   size_t errlen)
{
	size_t n = strlen(hex);
	struct serial s;

	if (n == 0 || n % 2 != 0 || n / 2 > SERIAL_STORED_MAX)
		return errmsg_near(err, errlen, hex, n, "not a stored serial");
	s.len = n / 2;
	for (size_t i = 0; i < s.len; i++) {
		int hi = hexval((unsigned char)hex[2 * i]);
		int lo = hexval((unsigned char)hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return errmsg_near(err, errlen, hex, n,
					   "not a stored serial");
		s.b[i] = (unsigned char)(hi << 4 | lo);
	}
	/* The forms serial.h allows, no other. */
	if (s.b[0] == 0 && s.len > 1 && (s.b[1] & 0x80) == 0)
		return errmsg_near(err, errlen, hex, n, "not a stored serial");
	if (s.b[0] != 0 && s.len > SERIAL_MAX)
		return errmsg_near(err, errlen, hex, n, "not a stored serial");
	*out = s;
	return 0;
}

size_t serial_der_content(const struct serial *s, unsigned char *c)
{
	if (serial_sign(s) <= 0) {
		/* zero: 00; negative: the content after the marker */
		size_t n = s->len == 1 ? 1 : s->len - 1;

		memcpy(c, s->len == 1 ? s->b : s->b + 1, n);
		return n;
	}
	if (s->b[0] & 0x80) {
		c[0] = 0;
		memcpy(c + 1, s->b, s->len);
		return s->len + 1;
	}
	memcpy(c, s->b, s->len);
	return s->len;
}

int serial_sign(const struct serial *s)
{
	if (s->len == 0 || s->b[0] != 0)
		return 1;
	return s->len == 1 ? 0 : -1;
}

void serial_format_openssl(const struct serial *s, char *buf, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	unsigned char m[SERIAL_STORED_MAX];
	size_t n = 0, i = 0, k = 0;
	unsigned carry = 1;

	if (len == 0)
		return;
	if (serial_sign(s) < 0) {
		/* Magnitude of the two's complement: invert, add one. */
		n = s->len - 1;
		for (size_t j = n; j-- > 0;) {
			unsigned v = (unsigned)(~s->b[j + 1] & 0xff) + carry;

			m[j] = (unsigned char)(v & 0xff);
			carry = v >> 8;
		}
		while (i + 1 < n && m[i] == 0)
			i++;
		if (k + 1 < len)
			buf[k++] = '-';
	} else {
		n = s->len < SERIAL_STORED_MAX ? s->len : SERIAL_STORED_MAX;
		memcpy(m, s->b, n);
	}
	for (; i < n && k + 2 < len; i++) {
		buf[k++] = hex[m[i] >> 4];
		buf[k++] = hex[m[i] & 0x0f];
	}
	buf[k] = '\0';
}

int serial_compare(const struct serial *a, const struct serial *b)
{
	int c;

	if (a->len != b->len)
		return a->len < b->len ? -1 : 1;
	c = memcmp(a->b, b->b, a->len);
	return (c > 0) - (c < 0);
}

uint64_t serial_hash(const struct serial *s)
{
	uint64_t h = 14695981039346656037ULL; /* FNV-1a 64 offset basis */
	size_t i;

	for (i = 0; i < s->len && i < SERIAL_STORED_MAX; i++) {
		h ^= s->b[i];
		h *= 1099511628211ULL; /* FNV-1a 64 prime */
	}
	return h;
}
