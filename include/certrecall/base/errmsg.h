/*
 * errmsg - the one shape of a pure parser's error message (pure).
 *
 *   serial is not hex (near "03d4zz")
 *
 * The reason, then at most 40 bytes of the offending text, with bytes that
 * are not printable ASCII shown as '?', so a message can go to a terminal
 * or a log without carrying control characters from hostile input.
 */
#ifndef CERTRECALL_ERRMSG_H
#define CERTRECALL_ERRMSG_H

#include <stddef.h>

#define ERRMSG_NEAR_MAX 40

/*
 * Writes "REASON (near "TEXT")" into err (errlen bytes; err may be NULL
 * when errlen is 0).  text is len bytes, no NUL needed.  Returns -1, so a
 * parser can "return errmsg_near(...)".
 */
int errmsg_near(char *err, size_t errlen, const char *text, size_t len,
		const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Writes the formatted reason into err (as snprintf; err may be NULL when
 * errlen is 0).  Returns -1. */
int errmsg_set(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
