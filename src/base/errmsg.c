/*
 * errmsg.c - "reason (near "text")" for the pure parsers.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "certrecall/base/errmsg.h"

int errmsg_near(char *err, size_t errlen, const char *text, size_t len,
		const char *fmt, ...)
{
	char q[ERRMSG_NEAR_MAX + 4], why[160];
	size_t i, n = len < ERRMSG_NEAR_MAX ? len : ERRMSG_NEAR_MAX;
	va_list ap;

	if (err == NULL || errlen == 0)
		return -1;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)text[i];

		q[i] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	if (len > n) {
		memcpy(q + i, "...", 3);
		i += 3;
	}
	q[i] = '\0';
	va_start(ap, fmt);
	if (vsnprintf(why, sizeof(why), fmt, ap) < 0)
		why[0] = '\0';
	va_end(ap);
	/* A truncated message is still a message; a failed one is empty. */
	return errmsg_set(err, errlen, "%s (near \"%s\")", why, q);
}

int errmsg_set(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return -1;
	va_start(ap, fmt);
	if (vsnprintf(err, errlen, fmt, ap) < 0)
		err[0] = '\0';
	va_end(ap);
	return -1;
}
