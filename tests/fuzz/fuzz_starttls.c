/*
 * fuzz_starttls.c - libFuzzer target for the STARTTLS dialogues.
 *
 * The first byte picks the protocol, the second how the rest is cut into
 * reads.  Any input must end in a status that then stays put, with a
 * reason for REFUSED and ERROR, output within its buffer, and no more
 * than STARTTLS_MAX_INPUT bytes taken before an end.  A violation aborts.
 */
#include "certrecall/core/starttls.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct starttls t;
	enum starttls_status st = STARTTLS_MORE, prev;
	size_t i = 2, chunk, len;
	char *copy;

	if (size < 2)
		return 0;
	starttls_init(&t, (enum starttls_proto)(1 + data[0] % 7),
		      "mail.example.com");
	chunk = 1 + data[1] % 64;
	while (i < size) {
		size_t n = size - i < chunk ? size - i : chunk;

		/* Exact-size copy, so reading past n trips ASan. */
		copy = malloc(n);
		if (copy == NULL)
			return 0;
		memcpy(copy, data + i, n);
		prev = st;
		st = starttls_input(&t, copy, n);
		free(copy);
		if (prev == STARTTLS_REFUSED || prev == STARTTLS_ERROR) {
			if (st != prev)
				abort();
		}
		starttls_output(&t, &len);
		if (len > sizeof(t.out))
			abort();
		starttls_sent(&t, len);
		i += n;
	}
	if ((st == STARTTLS_REFUSED || st == STARTTLS_ERROR) &&
	    starttls_why(&t)[0] == '\0')
		abort();
	if (st == STARTTLS_MORE && t.total > STARTTLS_MAX_INPUT)
		abort();
	return 0;
}
