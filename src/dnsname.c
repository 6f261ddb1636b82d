/*
 * dnsname.c - host names as certificates carry them, normalised.
 *
 * RFC 1035 2.3.4 / RFC 5890: labels of at most 63 octets, names of at
 * most 253 (without the root dot).  Certificates hold IDNA A-labels
 * ("xn--..."), so a U-label (non-ASCII) is an input mistake: the message
 * says to give the A-label.  Underscore is allowed because real
 * certificates carry "_acme-challenge"-style labels.  BR 3.2.2.6: a
 * wildcard is the whole left-most label.
 */
#include "certrecall/errmsg.h"
#include "certrecall/dnsname.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define LABEL_MAX 63
/* INET6_ADDRSTRLEN, spelled out so the header stays optional. */
#define IP6_TEXT_MAX 46

/* An IPv6 literal, written back in RFC 5952 form (lowercase, "::"). */
static int normalize_ip6(const char *name, size_t len, char *out, size_t outlen,
			 char *err, size_t errlen)
{
	char buf[IP6_TEXT_MAX];
	unsigned char a[16];
	size_t n;

	if (len >= sizeof(buf))
		return errmsg_near(err, errlen, name, len,
				   "invalid IPv6 address");
	memcpy(buf, name, len);
	buf[len] = '\0';
	if (inet_pton(AF_INET6, buf, a) != 1)
		return errmsg_near(err, errlen, name, len,
				   "invalid IPv6 address");
	if (inet_ntop(AF_INET6, a, buf, sizeof(buf)) == NULL)
		return errmsg_near(err, errlen, name, len,
				   "invalid IPv6 address");
	n = strlen(buf);
	if (n + 1 > outlen)
		return errmsg_near(err, errlen, name, len,
				   "name buffer too small");
	memcpy(out, buf, n + 1);
	return (int)n;
}

/* What each byte may be in a DNS name; see the switch below. */
enum { C_BAD, C_LOWER, C_UPPER, C_DIGIT, C_HYPHEN, C_UNDER, C_DOT, C_STAR };

static unsigned char char_class(unsigned char c)
{
	if (c >= 'a' && c <= 'z')
		return C_LOWER;
	if (c >= 'A' && c <= 'Z')
		return C_UPPER;
	if (c >= '0' && c <= '9')
		return C_DIGIT;
	switch (c) {
	case '-':
		return C_HYPHEN;
	case '_':
		return C_UNDER;
	case '.':
		return C_DOT;
	case '*':
		return C_STAR;
	default:
		return C_BAD;
	}
}

static int bad_char(const char *name, size_t len, unsigned char c, char *err,
		    size_t errlen)
{
	if (c >= 0x80)
		return errmsg_near(
			err, errlen, name, len,
			"non-ASCII name: give the IDNA A-label (xn--...)");
	if (c == ' ' || c == '\t')
		return errmsg_near(err, errlen, name, len, "blank in name");
	if (c < 0x20 || c == 0x7f)
		return errmsg_near(err, errlen, name, len,
				   "control character in name");
	return errmsg_near(err, errlen, name, len,
			   "invalid character '%c' in name", c);
}

int dnsname_normalize(const char *name, size_t len, char *out, size_t outlen,
		      char *err, size_t errlen)
{
	unsigned char buf[4];
	size_t i = 0, n = len, label = 0;
	int only_digits = 1;

	if (len == 0)
		return errmsg_near(err, errlen, name, len, "empty name");
	if (memchr(name, ':', len) != NULL)
		return normalize_ip6(name, len, out, outlen, err, errlen);
	/* One trailing dot is the DNS root, not part of the name. */
	if (n > 1 && name[n - 1] == '.')
		n--;
	if (n > DNSNAME_MAX)
		return errmsg_near(err, errlen, name, len,
				   "name longer than %d octets", DNSNAME_MAX);
	if (outlen < n + 1)
		return errmsg_near(err, errlen, name, len,
				   "name buffer too small");
	if (name[0] == '*') {
		/* BR 3.2.2.6: "*." is the whole left-most label. */
		if (n == 1)
			return errmsg_near(
				err, errlen, name, len,
				"wildcard must be followed by a domain");
		if (name[1] != '.')
			return errmsg_near(
				err, errlen, name, len,
				"wildcard must be the whole first label");
		if (n == 2)
			return errmsg_near(
				err, errlen, name, len,
				"wildcard must be followed by a domain");
		out[0] = '*';
		out[1] = '.';
		i = 2;
		only_digits = 0;
	}
	for (; i < n; i++) {
		unsigned char c = (unsigned char)name[i];

		switch (char_class(c)) {
		case C_UPPER:
			c = (unsigned char)(c - 'A' + 'a');
			/* fall through */
		case C_LOWER:
		case C_UNDER:
			only_digits = 0;
			/* fall through */
		case C_DIGIT:
			label++;
			break;
		case C_HYPHEN:
			if (label == 0)
				return errmsg_near(
					err, errlen, name, len,
					"label starts with a hyphen");
			only_digits = 0;
			label++;
			break;
		case C_DOT:
			if (label == 0)
				return errmsg_near(err, errlen, name, len,
						   "empty label in name");
			if (out[i - 1] == '-')
				return errmsg_near(err, errlen, name, len,
						   "label ends with a hyphen");
			label = 0;
			break;
		case C_STAR:
			return errmsg_near(
				err, errlen, name, len,
				"wildcard must be the whole first label");
		default:
			return bad_char(name, len, c, err, errlen);
		}
		if (label > LABEL_MAX)
			return errmsg_near(err, errlen, name, len,
					   "label longer than %d octets",
					   LABEL_MAX);
		out[i] = (char)c;
	}
	if (label == 0)
		return errmsg_near(err, errlen, name, len,
				   "empty label in name");
	if (out[n - 1] == '-')
		return errmsg_near(err, errlen, name, len,
				   "label ends with a hyphen");
	out[n] = '\0';
	/*
	 * All digits and dots: only a dotted-quad IPv4 address makes sense
	 * (RFC 3696 2: a top-level label is never all-numeric).  inet_pton
	 * takes exactly four decimal parts without leading zeros, so an
	 * accepted address is already in canonical form.
	 */
	if (only_digits && inet_pton(AF_INET, out, buf) != 1)
		return errmsg_near(err, errlen, name, len,
				   "invalid IPv4 address");
	return (int)n;
}

bool dnsname_is_wildcard(const char *name)
{
	return name != NULL && name[0] == '*' && name[1] == '.';
}
