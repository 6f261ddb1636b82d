/*
 * xsnprintf.c - checked snprintf: a text that does not fit is an error.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "certrecall/base/errmsg.h"
#include "certrecall/base/log.h"
#include "certrecall/base/xsnprintf.h"

int xsnprintf(char *buf, size_t len, const char *fmt, ...)
{
	char msg[160];
	va_list ap;
	int n;

	if (buf == NULL || len == 0)
		return log_error("xsnprintf: no room given");
	va_start(ap, fmt);
	n = vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	if (n < 0) {
		buf[0] = '\0';
		return log_error("cannot format text (\"%.40s\")", fmt);
	}
	if ((size_t)n >= len) {
		/* Name the text by its start; errmsg_near makes it printable. */
		(void)errmsg_near(msg, sizeof(msg), buf, strlen(buf),
				  "text of %d bytes longer than the %zu bytes "
				  "it may take",
				  n, len - 1);
		buf[0] = '\0';
		return log_error("%s", msg);
	}
	return n;
}
