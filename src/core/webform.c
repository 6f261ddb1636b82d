/*
 * webform.c - form fields and self-check targets.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "certrecall/base/errmsg.h"
#include "certrecall/core/dnsname.h"
#include "certrecall/core/webform.h"

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes s[0..n) into out; length, or -2. */
static long form_decode(const char *s, size_t n, char *out, size_t cap)
{
	size_t o = 0;
	int hi, lo;
	char c;

	for (size_t i = 0; i < n; i++) {
		c = s[i];
		if (c == '+') {
			c = ' ';
		} else if (c == '%') {
			if (i + 2 >= n)
				return -2;
			hi = hexval(s[i + 1]);
			lo = hexval(s[i + 2]);
			if (hi < 0 || lo < 0)
				return -2;
			c = (char)(hi << 4 | lo);
			i += 2;
		}
		if (c == '\0' || o + 1 >= cap)
			return -2;
		out[o++] = c;
	}
	out[o] = '\0';
	return (long)o;
}

long webform_field(const char *text, size_t len, const char *name, char *out,
		   size_t cap)
{
	size_t nlen = strlen(name), i = 0, end, eq;

	if (cap == 0)
		return -2;
	while (i <= len) {
		end = i;
		while (end < len && text[end] != '&')
			end++;
		eq = i;
		while (eq < end && text[eq] != '=')
			eq++;
		if (eq - i == nlen && memcmp(text + i, name, nlen) == 0)
			return form_decode(text + (eq < end ? eq + 1 : end),
					   end - (eq < end ? eq + 1 : end), out,
					   cap);
		i = end + 1;
	}
	return -1;
}

int webform_target(const char *text, char *host, size_t hostlen, uint16_t *port,
		   char *err, size_t errlen)
{
	const char *h = text, *p = NULL, *colon;
	size_t len;

	*port = 443;
	if (*text == '[') {
		const char *end = strchr(text, ']');

		if (end == NULL || (end[1] != '\0' && end[1] != ':')) {
			return errmsg_set(err, errlen,
					  "expected [ADDRESS]:PORT");
		}
		h = text + 1;
		len = (size_t)(end - h);
		if (end[1] == ':')
			p = end + 2;
	} else if ((colon = strchr(text, ':')) != NULL &&
		   strchr(colon + 1, ':') == NULL) {
		len = (size_t)(colon - text);
		p = colon + 1;
	} else {
		len = strlen(text);
	}
	if (p != NULL) {
		char *end;
		long v;

		if (*p < '0' || *p > '9' || strlen(p) > 5) {
			return errmsg_set(err, errlen,
					  "port must be 1 to 65535");
		}
		v = strtol(p, &end, 10);
		if (*end != '\0' || v < 1 || v > 65535) {
			return errmsg_set(err, errlen,
					  "port must be 1 to 65535");
		}
		*port = (uint16_t)v;
	}
	if (dnsname_normalize(h, len, host, hostlen, err, errlen) < 0)
		return -1;
	if (dnsname_is_wildcard(host)) {
		return errmsg_set(
			err, errlen,
			"a wildcard name cannot be probed; give a name it "
			"covers");
	}
	return 0;
}
