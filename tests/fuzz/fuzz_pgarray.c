/*
 * fuzz_pgarray.c - libFuzzer target for pgarray_parse and
 * pgarray_parse_binary.
 *
 * The input is any bytes as a string (the text of a text[] value a
 * result holds).  The parse must be refused (no elements) or give
 * elements that pgarray_add() writes back into a literal that parses to
 * the same elements.  The same bytes as a binary value: refused, or
 * elements within the input's bytes that, written again in one
 * dimension, read back the same.  A violation aborts.
 */
#include "certrecall/store/pgarray.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void put32(char *p, uint32_t v)
{
	p[0] = (char)(v >> 24);
	p[1] = (char)(v >> 16);
	p[2] = (char)(v >> 8);
	p[3] = (char)v;
}

/* Aborts unless e[0..n) and e2[0..n) are the same elements. */
static void same(char **e, char **e2, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((e[i] == NULL) != (e2[i] == NULL) ||
		    (e[i] != NULL && strcmp(e[i], e2[i]) != 0))
			abort();
}

static void binary(const uint8_t *data, size_t size)
{
	char *in = malloc(size + 1), *out, **e, **e2;
	size_t n, n2, len = 20;

	if (in == NULL)
		abort();
	memcpy(in, data, size);
	if (pgarray_parse_binary(in, size, &e, &n) < 0) {
		if (e != NULL || n != 0)
			abort();
		free(in);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		if (e[i] != NULL &&
		    (e[i] < in || e[i] + strlen(e[i]) >= in + size))
			abort();
		len += 4 + (e[i] ? strlen(e[i]) : 0);
	}
	out = malloc(len);
	if (out == NULL)
		abort();
	/* one dimension of n, or none when n is 0 */
	put32(out, n > 0);
	put32(out + 4, 1);
	put32(out + 8, 25);
	len = 12;
	if (n > 0) {
		put32(out + 12, (uint32_t)n);
		put32(out + 16, 1);
		len = 20;
	}
	for (size_t i = 0; i < n; i++) {
		size_t k = e[i] ? strlen(e[i]) : 0;

		put32(out + len, e[i] ? (uint32_t)k : UINT32_MAX);
		if (e[i] != NULL)
			memcpy(out + len + 4, e[i], k);
		len += 4 + k;
	}
	if (pgarray_parse_binary(out, len, &e2, &n2) < 0 || n2 != n)
		abort();
	same(e, e2, n);
	free(e2);
	free(out);
	free(e);
	free(in);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in = malloc(size + 1), **e, **e2, *again;
	struct pgarray a = { 0 };
	size_t n, n2;

	binary(data, size);
	if (in == NULL)
		abort();
	memcpy(in, data, size);
	in[size] = '\0';
	if (pgarray_parse(in, &e, &n) < 0) {
		if (e != NULL || n != 0)
			abort();
		free(in);
		return 0;
	}
	for (size_t i = 0; i < n; i++)
		pgarray_add(&a, e[i]);
	again = strdup(pgarray_end(&a));
	if (again == NULL || pgarray_parse(again, &e2, &n2) < 0 || n2 != n)
		abort();
	same(e, e2, n);
	free(e2);
	free(again);
	free(a.p);
	free(e);
	free(in);
	return 0;
}
