/*
 * fuzz_template.c - libFuzzer target for template_parse and _render.
 *
 * The input is a template; it is rendered in all three modes against a
 * fixed context full of awkward values (CR/LF, controls, HTML, nested
 * lists).  Parsing and rendering either succeed or fail with a non-empty
 * message; HEADER output never holds CR or LF (or any control), the
 * length matches, and the same input renders the same bytes twice.
 * A violation aborts.
 */
#include "certrecall/core/template.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_MAX 4096

static const char *ctx_json =
	"{\"name\": \"Alice\\r\\nBcc: x@evil\", \"n\": 42, \"r\": 0.25,"
	" \"t\": true, \"f\": false, \"z\": null, \"e\": \"\", \"l\": [],"
	" \"html\": \"<&>\\\"'\", \"ctl\": \"\\u0001\\u007f\\t\\u000b\","
	" \"o\": {\"a\": {\"b\": \"deep\\n\"}, \"n\": 1},"
	" \"list\": [{\"a\": \"x\"}, {\"b\": [1, 2]}],"
	" \"s\": [\"p\\r\", \"q\\n\"]}";

static json_t *ctx;

static void check(const struct template *t, enum template_escape mode)
{
	char err[256], *out, *again;
	size_t len = 0, len2 = 0, i;

	err[0] = '\0';
	out = template_render(t, ctx, mode, &len, err, sizeof(err));
	if (out == NULL) {
		if (err[0] == '\0' || len != 0)
			abort();
		return;
	}
	if (mode == TEMPLATE_HEADER) {
		for (i = 0; i < len; i++) {
			unsigned char c = (unsigned char)out[i];

			if (c < 0x20 || c == 0x7f)
				abort();
		}
	}
	if (out[len] != '\0')
		abort();
	again = template_render(t, ctx, mode, &len2, NULL, 0);
	if (again == NULL || len2 != len || memcmp(again, out, len) != 0)
		abort();
	free(again);
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256], *text;
	struct template *t;

	if (size > FUZZ_MAX)
		return 0;
	if (ctx == NULL && (ctx = json_loads(ctx_json, 0, NULL)) == NULL)
		abort();
	/* Exact-size copy, so reading past size trips ASan. */
	text = malloc(size ? size : 1);
	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	err[0] = '\0';
	t = template_parse(text, size, err, sizeof(err));
	free(text);
	if (t == NULL) {
		if (strncmp(err, "line ", 5) != 0)
			abort();
		return 0;
	}
	check(t, TEMPLATE_TEXT);
	check(t, TEMPLATE_HTML);
	check(t, TEMPLATE_HEADER);
	template_free(t);
	return 0;
}
