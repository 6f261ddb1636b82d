/*
 * fuzz_bounces.c - libFuzzer target for bounces_parse (the DSN reader:
 * GMime's MIME parser, then our delivery-status fields and plain-text
 * status codes).
 *
 * Any input must give a result within its bounds: a NUL-terminated tag
 * of hex digits and dashes only, a status of digits and dots only, a
 * one-line diagnostic, and an action of the enum.  A violation aborts;
 * ASan/UBSan catch the rest.
 */
#include "certrecall/core/bounces.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void bounded(const char *s, size_t cap, const char *allowed)
{
	size_t n = strnlen(s, cap);

	if (n == cap)
		abort();
	if (allowed != NULL && strspn(s, allowed) != n)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int init;
	struct bounces_dsn d;
	char err[160];

	if (!init) {
		bounces_init();
		init = 1;
	}
	if (bounces_parse((const char *)data, size, "bounces+{id}@example.net",
			  &d, err, sizeof(err)) < 0)
		return 0;
	if (d.action > BOUNCES_BOUNCED)
		abort();
	bounded(d.tag, sizeof(d.tag), "0123456789abcdef-");
	bounded(d.status, sizeof(d.status), "0123456789.");
	bounded(d.diagnostic, sizeof(d.diagnostic), NULL);
	bounded(d.recipient, sizeof(d.recipient), NULL);
	if (strpbrk(d.diagnostic, "\r\n") != NULL)
		abort();
	return 0;
}
