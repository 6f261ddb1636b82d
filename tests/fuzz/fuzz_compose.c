/*
 * fuzz_compose.c - libFuzzer target for compose_message.
 *
 * The first byte holds flags (bit 0: Reply-To, bit 1: attachment); the
 * rest is split at NUL bytes into from, to, reply-to, subject, body,
 * message id and attachment data (missing fields take sane defaults, so
 * the fuzzer reaches the encoders).  Any input must either be refused
 * with a message, or give a message that has only CRLF line ends, no line
 * over 998 octets, a header block made only of the expected fields (each
 * once) and their continuation lines, the boundary only where it belongs,
 * and the same bytes when composed again.  A violation aborts.
 */
#include "certrecall/core/compose.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_MAX 8192
#define NFIELDS 7

static const char *const names[] = {
	"Date:",	   "From:",	    "To:",
	"Reply-To:",	   "Subject:",	    "Message-ID:",
	"MIME-Version:",   "Content-Type:", "Content-Transfer-Encoding:",
	"Auto-Submitted:",
};
#define NNAMES (sizeof(names) / sizeof(names[0]))

static void check_message(const char *m, size_t len, bool reply, bool att)
{
	int seen[NNAMES] = { 0 };
	size_t i, k, col = 0, nbound = 0;
	const char *p, *end, *b;
	char bnd[80];

	if (strlen(m) != len || len < 2 || memcmp(m + len - 2, "\r\n", 2))
		abort();
	for (i = 0; i < len; i++) {
		if (m[i] == '\n')
			abort();
		if (m[i] == '\r') {
			if (m[i + 1] != '\n')
				abort();
			i++;
			col = 0;
			continue;
		}
		if (++col > 998)
			abort();
	}
	end = strstr(m, "\r\n\r\n");
	if (end == NULL)
		abort();
	for (p = m; p <= end; p = strstr(p, "\r\n") + 2) {
		if (*p == ' ')
			continue;
		for (k = 0; k < NNAMES; k++)
			if (strncmp(p, names[k], strlen(names[k])) == 0)
				break;
		if (k == NNAMES)
			abort();
		seen[k]++;
	}
	for (k = 0; k < NNAMES; k++) {
		int want = 1;

		if (k == 3)
			want = reply;
		if (k == 8)
			want = !att;
		if (seen[k] != want)
			abort();
	}
	if (!att)
		return;
	b = strstr(m, "\r\nContent-Type: multipart/mixed;\r\n boundary=\"");
	if (b == NULL || b > end)
		abort();
	b += 45;
	k = (size_t)(strchr(b, '"') - b);
	if (k > 70 || k + 3 > sizeof(bnd))
		abort();
	memcpy(bnd, b, k);
	bnd[k] = '\0';
	/* opening, between the parts, closing: nowhere else */
	for (p = end; (p = strstr(p, bnd)) != NULL; p++)
		nbound++;
	if (nbound != 3)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *f[NFIELDS] = { "Example CA <r@ca.example>",
				   "admin@example.com",
				   "Support <s@ca.example>",
				   "subject",
				   "body\n",
				   "id@ca.example",
				   "a,b\r\n" };
	struct compose_attachment a = { "certificates.csv", "text/csv", NULL,
					0 };
	struct compose_input in;
	char *copy, *m, *again, err[256];
	size_t len = 0, len2 = 0, i, start, n = 0;
	uint8_t flags;

	if (size < 1 || size > FUZZ_MAX)
		return 0;
	flags = data[0];
	copy = malloc(size);
	if (copy == NULL)
		return 0;
	memcpy(copy, data + 1, size - 1);
	copy[size - 1] = '\0';
	for (i = 0, start = 0; i < size && n < NFIELDS; i++) {
		if (copy[i] == '\0') {
			if (i > start)
				f[n] = copy + start;
			n++;
			start = i + 1;
		}
	}
	a.data = f[6];
	a.len = strlen(f[6]);
	memset(&in, 0, sizeof(in));
	in.from = f[0];
	in.to = f[1];
	in.reply_to = (flags & 1) ? f[2] : NULL;
	in.subject = f[3];
	in.body = f[4];
	in.message_id = f[5];
	in.date = (time_t)1583377680 + (time_t)(flags >> 2) * 86399;
	in.attachment = (flags & 2) ? &a : NULL;
	err[0] = '\0';
	m = compose_message(&in, &len, err, sizeof(err));
	if (m == NULL) {
		if (err[0] == '\0' || len != 0)
			abort();
		free(copy);
		return 0;
	}
	check_message(m, len, flags & 1, flags & 2);
	again = compose_message(&in, &len2, NULL, 0);
	if (again == NULL || len2 != len || memcmp(again, m, len) != 0)
		abort();
	free(again);
	free(m);
	free(copy);
	return 0;
}
