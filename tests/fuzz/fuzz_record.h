/*
 * fuzz_record.h - invariants shared by the record parser fuzz targets, and
 * the line-by-line driver of the one-line formats (le2020, le2022).
 * Any violation aborts, which libFuzzer reports.
 */
#ifndef CERTRECALL_FUZZ_RECORD_H
#define CERTRECALL_FUZZ_RECORD_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "certrecall/core/dnsname.h"
#include "certrecall/core/record.h"

/* Names are normalised, sorted, unique, within the cap. */
static inline void fuzz_check_names(const struct record *r)
{
	char norm[DNSNAME_MAX + 1];
	size_t i, n;

	if ((r->names == NULL) != (r->nnames == 0))
		abort();
	if (r->nnames > RECORD_NAMES_MAX)
		abort();
	for (i = 0; i < r->nnames; i++) {
		n = strlen(r->names[i]);
		if (dnsname_normalize(r->names[i], n, norm, sizeof(norm), NULL,
				      0) != (int)n ||
		    strcmp(norm, r->names[i]) != 0)
			abort();
		if (i > 0 && strcmp(r->names[i - 1], r->names[i]) >= 0)
			abort();
	}
}

/* Every rejection says why, near what, on one line. */
static inline void fuzz_check_error(const char *err)
{
	if (err[0] == '\0' || strstr(err, " (near \"") == NULL ||
	    strchr(err, '\n') != NULL)
		abort();
}

/* A canonical serial: 1..20 octets, no leading zero byte. */
static inline void fuzz_check_serial(const struct serial *s)
{
	if (s->len < 1 || s->len > SERIAL_MAX || s->b[0] == 0)
		abort();
}

/* The lists' account ids are decimal numbers. */
static inline void fuzz_check_numeric_account(const struct record *r)
{
	if (r->account == NULL || r->account[0] == '\0')
		abort();
	for (size_t i = 0; r->account[i] != '\0'; i++)
		if (r->account[i] < '0' || r->account[i] > '9')
			abort();
}

/*
 * Splits data into lines, each handed to a fmt parser in a buffer of
 * exactly its length (so a read past the end is caught); checks the
 * detection of the first line, every rejection, and hands every record to
 * on_record for the format's own checks.
 */
static inline int fuzz_record_lines(const uint8_t *data, size_t size,
				    enum record_format fmt,
				    void (*on_record)(const struct record *r))
{
	struct record_parser *p = record_parser_new(fmt, 16);
	struct record r;
	char err[256];
	size_t start = 0, end, len;
	int rc, detected;

	if (p == NULL)
		abort();
	while (start <= size) {
		const uint8_t *nl = memchr(data + start, '\n', size - start);
		char *line;

		end = nl != NULL ? (size_t)(nl - data) : size;
		len = end - start;
		line = malloc(len ? len : 1);
		if (line == NULL)
			abort();
		memcpy(line, data + start, len);
		if (start == 0) {
			err[0] = '\0';
			detected = record_detect(line, len, err, sizeof(err));
			if (detected < -1 || detected > RECORD_SERIALS ||
			    (detected == -1 && err[0] == '\0'))
				abort();
		}
		err[0] = '\0';
		rc = record_parse(p, line, len, &r, err, sizeof(err));
		switch (rc) {
		case RECORD_OK:
			fuzz_check_serial(&r.serial);
			fuzz_check_names(&r);
			on_record(&r);
			break;
		case RECORD_ERROR:
			fuzz_check_error(err);
			break;
		case RECORD_SKIP:
			break;
		default:
			abort(); /* NEED_MORE is csv only */
		}
		free(line);
		start = end + 1;
	}
	record_parser_free(p);
	return 0;
}

#endif
