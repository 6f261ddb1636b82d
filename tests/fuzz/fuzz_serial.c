/*
 * fuzz_serial.c - libFuzzer target for serial_parse.
 *
 * The first byte picks the base (odd: 10, even: 16); the rest is the text.
 * Any input must either be rejected with a "reason (near ...)" message or
 * give 1..20 canonical bytes without a leading zero whose lowercase hex,
 * with or without "0x" and colons, parses back to the same serial and
 * hash.  A violation aborts.
 */
#include "certrecall/core/serial.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void same(const struct serial *a, const char *text, size_t len)
{
	struct serial b;
	char err[256];

	if (serial_parse(&b, text, len, 16, err, sizeof(err)) != 0)
		abort();
	if (serial_compare(a, &b) != 0 || serial_hash(a) != serial_hash(&b))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char hex[2 * SERIAL_MAX + 1], alt[3 * SERIAL_MAX + 2], err[256];
	struct serial s;
	const char *text;
	size_t len, i, k;
	int base;

	if (size == 0)
		return 0;
	base = (data[0] & 1) ? 10 : 16;
	/* Exact-size copy, so reading past len trips ASan. */
	len = size - 1;
	text = malloc(len ? len : 1);
	if (text == NULL)
		return 0;
	memcpy((char *)text, data + 1, len);
	err[0] = '\0';
	if (serial_parse(&s, text, len, base, err, sizeof(err)) != 0) {
		if (err[0] == '\0' || strstr(err, " (near \"") == NULL)
			abort();
		/* A one-byte buffer must still be terminated. */
		err[0] = 'x';
		if (serial_parse(&s, text, len, base, err, 1) != -1 ||
		    err[0] != '\0')
			abort();
		free((char *)text);
		return 0;
	}
	free((char *)text);
	if (s.len < 1 || s.len > SERIAL_MAX || s.b[0] == 0)
		abort();
	serial_format_hex(&s, hex, sizeof(hex));
	if (strlen(hex) != 2 * s.len)
		abort();
	same(&s, hex, strlen(hex));
	/* "0X" + uppercase with colons between the bytes */
	k = 0;
	alt[k++] = '0';
	alt[k++] = 'X';
	for (i = 0; i < s.len; i++) {
		if (i > 0)
			alt[k++] = ':';
		alt[k++] = (char)(hex[2 * i] >= 'a' ? hex[2 * i] - 32
						    : hex[2 * i]);
		alt[k++] = hex[2 * i + 1];
	}
	same(&s, alt, k);
	return 0;
}
