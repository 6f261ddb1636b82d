/*
 * fuzz_webform.c - libFuzzer target for the self-check's query and form
 * parsers: webform_field on the input as a form body, and
 * webform_target on it as a host[:port].  A value never overruns its
 * buffer, holds no NUL, and an accepted target has a port in 1..65535
 * and a non-empty host.  A violation aborts.
 */
#include "certrecall/core/webform.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char out[64], host[300], err[256], *text;
	uint16_t port;
	long n;

	n = webform_field((const char *)data, size, "pem", out, sizeof(out));
	if (n >= 0 && ((size_t)n >= sizeof(out) || strlen(out) != (size_t)n))
		abort();
	n = webform_field((const char *)data, size, "host", out, 1);
	if (n > 0)
		abort();
	text = malloc(size + 1);
	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (webform_target(text, host, sizeof(host), &port, err, sizeof(err)) ==
	    0) {
		if (port == 0 || host[0] == '\0' ||
		    strlen(host) >= sizeof(host))
			abort();
	} else if (err[0] == '\0') {
		abort();
	}
	free(text);
	return 0;
}
