/*
 * xsnprintf - snprintf whose truncation is an error, not a silent cut.
 *
 * STYLE.md 6 wants every snprintf result checked.  Where the text must be
 * whole (a path, a key, a name handed on), format with xsnprintf and
 * pass its -1 up: the failure has been logged once, naming the start of
 * the text and the room it had.  Where a cut is harmless (a message for
 * a human in a caller's buffer), errmsg_set() says so.
 */
#ifndef CERTRECALL_XSNPRINTF_H
#define CERTRECALL_XSNPRINTF_H

#include <stddef.h>

#include "certrecall/base/xalloc.h"

/*
 * Formats into buf (len bytes, len > 0) as snprintf does.  Returns the
 * length written, or -1 when the text does not fit in len - 1 bytes or
 * cannot be formatted: then one error is logged and buf holds "".
 */
CR_MUST_CHECK int xsnprintf(char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
