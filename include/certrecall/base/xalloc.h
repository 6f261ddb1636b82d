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
