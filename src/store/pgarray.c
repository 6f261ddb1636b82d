/*
 * pgarray.c - PostgreSQL's text and binary forms of an array (pgarray.h).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "certrecall/base/xalloc.h"
#include "certrecall/store/pgarray.h"

static void pgarray_put(struct pgarray *a, const char *s, size_t n)
{
	xgrow(&a->p, &a->cap, a->len + n + 2, 1);
	memcpy(a->p + a->len, s, n);
	a->len += n;
	a->p[a->len] = '\0';
}

void pgarray_add(struct pgarray *a, const char *v)
{
	pgarray_put(a, a->len == 0 ? "{" : ",", 1);
	if (v == NULL) {
		pgarray_put(a, "NULL", 4);
		return;
	}
	pgarray_put(a, "\"", 1);
	for (const char *p = v; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			pgarray_put(a, "\\", 1);
		pgarray_put(a, p, 1);
	}
	pgarray_put(a, "\"", 1);
}

const char *pgarray_end(struct pgarray *a)
{
	if (a->len == 0)
		pgarray_put(a, "{", 1);
	pgarray_put(a, "}", 1);
	return a->p;
}

/* A quoted element from *p (at its opening quote), unescaped in place
 * and ended by a NUL; *p moves past the closing quote.  false when the
 * text ends first. */
static bool quoted(char **p)
{
	char *r = *p + 1, *w = *p;

	for (;; r++) {
		if (*r == '\0')
			return false;
		if (*r == '"')
			break;
		if (*r == '\\' && *++r == '\0')
			return false;
		*w++ = *r;
	}
	*w = '\0';
	*p = r + 1;
	return true;
}

/* The elements from *p (just past a '{') to the matching '}', onto
 * elems; *p moves past that '}'.  false when they are not elements. */
static bool elements(char **p, char ***elems, size_t *n, size_t *cap)
{
	for (;;) {
		char *e = *p, end;
		bool null = false;

		if (**p == '"') {
			if (!quoted(p))
				return false;
		} else {
			/* bare: none of the characters that force quotes */
			*p += strcspn(*p, "{},\"\\ \t\n\r\v\f");
			if (*p == e)
				return false;
			null = *p - e == 4 && strncmp(e, "NULL", 4) == 0;
		}
		end = **p;
		if (end != ',' && end != '}')
			return false;
		*(*p)++ = '\0';
		xgrow(elems, cap, *n + 1, sizeof(**elems));
		(*elems)[(*n)++] = null ? NULL : e;
		if (end == '}')
			return true;
	}
}

int pgarray_parse(char *text, char ***elems, size_t *n)
{
	size_t cap = 0, width = 0;
	char *p = text;

	*elems = NULL;
	*n = 0;
	if (*p++ != '{')
		return -1;
	if (strcmp(p, "}") == 0)
		return 0;
	if (*p != '{') {
		if (elements(&p, elems, n, &cap) && *p == '\0')
			return 0;
		goto bad;
	}
	/* two dimensions: rows of one width, flattened */
	for (;;) {
		size_t before = *n;

		if (*p++ != '{' || !elements(&p, elems, n, &cap))
			goto bad;
		if (width == 0)
			width = *n - before;
		else if (*n - before != width)
			goto bad;
		if (*p == ',') {
			p++;
			continue;
		}
		if (strcmp(p, "}") == 0)
			return 0;
		goto bad;
	}
bad:
	free(*elems);
	*elems = NULL;
	*n = 0;
	return -1;
}

/* The big-endian 32-bit number at *p, if 4 bytes are left before end;
 * *p moves past it. */
static bool be32(const char **p, const char *end, uint32_t *v)
{
	const unsigned char *u = (const unsigned char *)*p;

	if (end - *p < 4)
		return false;
	*v = (uint32_t)u[0] << 24 | (uint32_t)u[1] << 16 | (uint32_t)u[2] << 8 |
	     u[3];
	*p += 4;
	return true;
}

/* PostgreSQL's type oid of text (pg_type.dat). */
#define TEXT_OID 25

int pgarray_parse_binary(char *buf, size_t len, char ***elems, size_t *n)
{
	const char *r = buf, *end = buf + len;
	uint32_t ndim, flags, type, dim[2], lower, elen;
	size_t count = 1;
	char *w = buf;

	*elems = NULL;
	*n = 0;
	if (!be32(&r, end, &ndim) || !be32(&r, end, &flags) ||
	    !be32(&r, end, &type) || ndim > 2 || flags > 1 || type != TEXT_OID)
		goto bad;
	for (uint32_t d = 0; d < ndim; d++) {
		if (!be32(&r, end, &dim[d]) || !be32(&r, end, &lower) ||
		    dim[d] == 0 || dim[d] > INT32_MAX)
			goto bad;
		count *= dim[d];
	}
	if (ndim == 0) {
		if (r != end)
			goto bad;
		return 0;
	}
	/* every element takes 4 bytes at least: a count past that is a lie */
	if (count > (size_t)(end - r) / 4)
		goto bad;
	*elems = xcalloc(count + 1, sizeof(**elems));
	for (size_t i = 0; i < count; i++) {
		if (!be32(&r, end, &elen))
			goto bad;
		if (elen == UINT32_MAX) {
			if (flags == 0)
				goto bad;
			(*elems)[i] = NULL;
			continue;
		}
		if (elen > (size_t)(end - r) || memchr(r, '\0', elen) != NULL)
			goto bad;
		/* w stays behind r: each element gave up 4 bytes, takes 1 */
		memmove(w, r, elen);
		w[elen] = '\0';
		(*elems)[i] = w;
		w += elen + 1;
		r += elen;
	}
	if (r != end)
		goto bad;
	*n = count;
	return 0;
bad:
	free(*elems);
	*elems = NULL;
	*n = 0;
	return -1;
}
