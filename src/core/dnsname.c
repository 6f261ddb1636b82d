/*
 * dnsname.c - host names as certificates carry them, normalised.
 *
 * RFC 1035 2.3.4 / RFC 5890: labels of at most 63 octets, names of at
 * most 253 (without the root dot).  Certificates hold IDNA A-labels
 * ("xn--..."); a U-label (non-ASCII) is converted to its A-label with
 * libidn2 as browsers do (IDNA2008 with UTS 46 non-transitional
 * processing: "faß" stays "faß", so xn--fa-hia), so both forms of a name
 * are the same name.  Underscore is allowed because real
 * certificates carry "_acme-challenge"-style labels.  BR 3.2.2.6: a
 * wildcard is the whole left-most label.
 */
#include "certrecall/base/errmsg.h"
#include "certrecall/core/dnsname.h"

#include <arpa/inet.h>
#include <idn2.h>
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

/* Longest U-label text converted (UTF-8 may take 4 octets a code point). */
#define IDN_TEXT_MAX (4 * DNSNAME_MAX)

/*
 * A name with non-ASCII octets: its A-label form, then the ASCII rules
 * below.  A leading "*." stays outside the conversion (IDNA has no
 * wildcards).
 */
static int normalize_idn(const char *name, size_t len, char *out, size_t outlen,
			 char *err, size_t errlen)
{
	char buf[IDN_TEXT_MAX + 1];
	char *ascii = NULL;
	size_t skip = len >= 2 && name[0] == '*' && name[1] == '.' ? 2 : 0;
	int rc, n;

	if (len > IDN_TEXT_MAX)
		return errmsg_near(err, errlen, name, len,
				   "name longer than %d octets", IDN_TEXT_MAX);
	if (memchr(name, '\0', len) != NULL)
		return errmsg_near(err, errlen, name, len,
				   "control character in name");
	memcpy(buf, name + skip, len - skip);
	buf[len - skip] = '\0';
	rc = idn2_to_ascii_8z(buf, &ascii,
			      IDN2_NONTRANSITIONAL | IDN2_NFC_INPUT);
	if (rc != IDN2_OK)
		return errmsg_near(err, errlen, name, len,
				   "not a valid internationalised name (%s)",
				   idn2_strerror(rc));
	n = snprintf(buf, sizeof(buf), "%s%s", skip ? "*." : "", ascii);
	idn2_free(ascii);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return errmsg_near(err, errlen, name, len,
				   "name longer than %d octets", DNSNAME_MAX);
	/* Pure ASCII now, so this does not come back here. */
	for (int i = 0; i < n; i++)
		if ((unsigned char)buf[i] >= 0x80)
			return errmsg_near(
				err, errlen, name, len,
				"not a valid internationalised name");
	return dnsname_normalize(buf, (size_t)n, out, outlen, err, errlen);
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
	for (size_t k = 0; k < len; k++)
		if ((unsigned char)name[k] >= 0x80)
			return normalize_idn(name, len, out, outlen, err,
					     errlen);
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
