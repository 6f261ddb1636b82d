/*
 * fuzz_dnsname.c - libFuzzer target for dnsname_normalize.
 *
 * The input is a name as a certificate, a CSV row or a web form hands it
 * over (any bytes, no NUL needed).  The result must be an error with a
 * reason, or a name of at most DNSNAME_MAX octets, as long as returned,
 * that normalises to itself (idempotent) and holds only what a name may
 * hold.  The output buffer is allocated to the exact size the header
 * promises suffices, and the input is an exact-size copy, so ASan sees
 * any write or read past either.  A violation aborts.
 */
#include "certrecall/core/dnsname.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256], again[DNSNAME_MAX + 1];
	char *in = malloc(size ? size : 1), *out = malloc(DNSNAME_MAX + 1);
	int n, m;

	if (in == NULL || out == NULL)
		abort();
	memcpy(in, data, size);
	err[0] = '\0';
	n = dnsname_normalize(in, size, out, DNSNAME_MAX + 1, err, sizeof(err));
	if (n < 0) {
		if (err[0] == '\0' || strlen(err) >= sizeof(err))
			abort();
		goto out;
	}
	if ((size_t)n != strlen(out) || n > DNSNAME_MAX || n == 0)
		abort();
	for (int i = 0; i < n; i++) {
		unsigned char c = (unsigned char)out[i];

		/* lower-case letters, digits, - _ . * and : (IPv6) only */
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_' || c == '.' || c == '*' || c == ':'))
			abort();
	}
	m = dnsname_normalize(out, (size_t)n, again, sizeof(again), err,
			      sizeof(err));
	if (m != n || strcmp(again, out) != 0)
		abort();
	if (dnsname_is_wildcard(out) && strncmp(out, "*.", 2) != 0)
		abort();
out:
	free(out);
	free(in);
	return 0;
}
