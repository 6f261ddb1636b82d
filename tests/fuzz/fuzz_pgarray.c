/*
 * fuzz_pgarray.c - libFuzzer target for pgarray_parse.
 *
 * The input is any bytes as a string (the text of a text[] value a
 * result holds).  The parse must be refused (no elements) or give
 * elements that pgarray_add() writes back into a literal that parses to
 * the same elements.  A violation aborts.
 */
#include "certrecall/store/pgarray.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in = malloc(size + 1), **e, **e2, *again;
	struct pgarray a = { 0 };
	size_t n, n2;

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
	for (size_t i = 0; i < n; i++)
		if ((e[i] == NULL) != (e2[i] == NULL) ||
		    (e[i] != NULL && strcmp(e[i], e2[i]) != 0))
			abort();
	free(e2);
	free(again);
	free(a.p);
	free(e);
	free(in);
	return 0;
}
