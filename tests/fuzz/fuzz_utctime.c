/*
 * fuzz_utctime.c - libFuzzer target for utctime_parse.
 *
 * Any input must either be rejected with a non-empty message that quotes
 * it, or give a time whose RFC 3339, long and (to the minute) short forms
 * parse back to the same second.  A violation aborts.
 */
#include "certrecall/base/utctime.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_MAX 256

static void roundtrip(time_t t, int (*fmt)(time_t, char *, size_t), time_t want)
{
	char buf[UTCTIME_BUFSZ], err[256];
	time_t back;

	if (fmt(t, buf, sizeof(buf)) != 0)
		abort();
	if (utctime_parse(buf, &back, NULL, err, sizeof(err)) != 0)
		abort();
	if (back != want)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char s[FUZZ_MAX + 1], err[256];
	char *tiny;
	time_t t;
	long nsec = -1;

	if (size > FUZZ_MAX)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	err[0] = '\0';
	if (utctime_parse(s, &t, &nsec, err, sizeof(err)) != 0) {
		if (strncmp(err, "invalid time \"", 14) != 0)
			abort();
		/* A one-byte buffer must still be terminated. */
		tiny = malloc(1);
		if (tiny == NULL)
			return 0;
		if (utctime_parse(s, &t, NULL, tiny, 1) != -1 ||
		    tiny[0] != '\0')
			abort();
		free(tiny);
		return 0;
	}
	if (nsec < 0 || nsec > 999999999)
		abort();
	roundtrip(t, utctime_format_rfc3339, t);
	roundtrip(t, utctime_format_long, t);
	roundtrip(t, utctime_format_short, t - ((t % 60) + 60) % 60);
	return 0;
}
