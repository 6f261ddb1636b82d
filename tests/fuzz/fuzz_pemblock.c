/*
 * fuzz_pemblock.c - libFuzzer target for the PEM block splitter.
 *
 * The input is split into lines and fed as the importer feeds a file.
 * Every block returned must start with its BEGIN line and end with the
 * matching END line, stay within PEMBLOCK_MAX, and carry the line number
 * of its BEGIN line; errors must carry a reason.  A violation aborts.
 */
#include "certrecall/core/pemblock.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void check_block(const struct pemblock *p, unsigned long long lineno)
{
	char want[PEMBLOCK_LABEL_MAX + 32];
	size_t n;

	if (p->len == 0 || p->len > PEMBLOCK_MAX || p->text[p->len - 1] != '\n')
		abort();
	if (p->begin == 0 || p->begin > lineno)
		abort();
	n = (size_t)snprintf(want, sizeof(want), "-----BEGIN %s-----\n",
			     p->label);
	if (p->len < n || memcmp(p->text, want, n) != 0)
		abort();
	n = (size_t)snprintf(want, sizeof(want), "-----END %s-----\n",
			     p->label);
	if (p->len < n || memcmp(p->text + p->len - n, want, n) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pemblock p;
	char err[256];
	unsigned long long lineno = 0;
	size_t off = 0;

	pemblock_init(&p);
	while (off < size) {
		const uint8_t *nl = memchr(data + off, '\n', size - off);
		size_t len = nl ? (size_t)(nl - data) - off : size - off;
		char *line = malloc(len ? len : 1); /* exact size for ASan */
		int s;

		if (line == NULL)
			abort();
		memcpy(line, data + off, len);
		off += len + 1;
		err[0] = '\0';
		s = pemblock_feed(&p, line, len, ++lineno, err, sizeof(err));
		free(line);
		if (s == PEMBLOCK_ERROR) {
			if (err[0] == '\0')
				abort();
			break;
		}
		if (s == PEMBLOCK_DONE)
			check_block(&p, lineno);
	}
	err[0] = '\0';
	if (pemblock_finish(&p, err, sizeof(err)) != 0 && err[0] == '\0')
		abort();
	pemblock_release(&p);
	return 0;
}
