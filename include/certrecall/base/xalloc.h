/*
 * xalloc - allocation that cannot fail.
 *
 * Running out of memory in a command-line tool is not a condition worth
 * handling at every call site (STYLE.md 4): these print one line and
 * abort, so callers never test the result.
 */
#ifndef CERTRECALL_XALLOC_H
#define CERTRECALL_XALLOC_H

#include <stddef.h>

/*
 * CR_MUST_CHECK marks a fallible function (one returning an error status, or
 * a pointer that is NULL on error): the compiler rejects a call that ignores
 * its result (STYLE.md 3). Put it before the return type of the declaration.
 */
#if defined(__GNUC__) || defined(__clang__)
#define CR_MUST_CHECK __attribute__((warn_unused_result))
#else
#define CR_MUST_CHECK
#endif

void *xmalloc(size_t size);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *ptr, size_t size);
/* Grows *ptr (of *cap elements of size) to hold at least need elements. */
void xgrow(void *pptr, size_t *cap, size_t need, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* Formatted string, caller frees. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
