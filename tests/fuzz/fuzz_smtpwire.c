/*
 * fuzz_smtpwire.c - libFuzzer target for the relay's replies and the
 * EHLO extensions.
 *
 * The first byte says how the rest is cut into reads.  Every reply must
 * have a code of 200-599 and a text within its buffer, NUL-terminated
 * and free of control characters but "\n"; every read must be taken
 * whole or up to a reply's end; an error must say why and ends the
 * input.  The data of the input, dot-stuffed, must hold no line that is
 * a lone ".", and taking the added dots out again must give the input
 * back, with CRLF after a last line that had none.  A violation aborts.
 */
#include "certrecall/core/smtpwire.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct out {
	char *buf;
	size_t len;
};

static void put(void *arg, const char *p, size_t n)
{
	struct out *o = arg;
	char *b = realloc(o->buf, o->len + n);

	if (b == NULL)
		abort();
	memcpy(b + o->len, p, n);
	o->buf = b;
	o->len += n;
}

static void check_data(const uint8_t *data, size_t size)
{
	struct out o = { NULL, 0 };
	size_t i, k, tail;
	char *u;

	smtpwire_data((const char *)data, size, put, &o);
	if (o.len < 3 || memcmp(o.buf + o.len - 3, ".\r\n", 3) != 0)
		abort();
	/* Before the end, no line is "." alone (it would end the data). */
	for (i = 0; i + 3 < o.len; i++)
		if ((i == 0 || o.buf[i - 1] == '\n') && o.buf[i] == '.' &&
		    (o.buf[i + 1] == '\r' || o.buf[i + 1] == '\n') &&
		    i + 3 != o.len)
			abort();
	/* Unstuffed: the first "." of every line goes, and ".\r\n" ends. */
	u = malloc(o.len);
	if (u == NULL)
		abort();
	for (i = 0, k = 0; i + 3 < o.len; i++)
		if (!((i == 0 || o.buf[i - 1] == '\n') && o.buf[i] == '.'))
			u[k++] = o.buf[i];
	tail = size == 0 || (size >= 2 && data[size - 2] == '\r' &&
			     data[size - 1] == '\n')
		       ? 0
		       : 2;
	if (k != size + tail || memcmp(u, data, size) != 0 ||
	    (tail > 0 && memcmp(u + size, "\r\n", 2) != 0))
		abort();
	free(u);
	free(o.buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct smtpwire_reader r;
	struct smtpwire_reply rep;
	char why[200];
	size_t i = 1, chunk;

	if (size < 1)
		return 0;
	check_data(data + 1, size - 1);
	smtpwire_reader_init(&r);
	chunk = 1 + data[0] % 64;
	while (i < size) {
		size_t n = size - i < chunk ? size - i : chunk, used = 0;
		/* Exact-size copy, so reading past n trips ASan. */
		char *copy = malloc(n);
		int rc;

		if (copy == NULL)
			return 0;
		memcpy(copy, data + i, n);
		why[0] = '\0';
		rc = smtpwire_feed(&r, copy, n, &used, &rep, why, sizeof(why));
		free(copy);
		if (rc < 0) {
			if (why[0] == '\0')
				abort();
			return 0;
		}
		if (used > n || (rc == 0 && used != n) ||
		    (rc == 1 && used == 0))
			abort();
		if (rc == 1) {
			if (rep.code < 200 || rep.code > 599 ||
			    rep.len >= sizeof(rep.text) ||
			    strlen(rep.text) != rep.len)
				abort();
			for (size_t k = 0; k < rep.len; k++)
				if ((unsigned char)rep.text[k] < 0x20 &&
				    rep.text[k] != '\n')
					abort();
			(void)smtpwire_ehlo_extensions(&rep);
		}
		i += used;
	}
	return 0;
}
