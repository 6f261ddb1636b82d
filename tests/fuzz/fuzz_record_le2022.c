/*
 * fuzz_record_le2022.c - libFuzzer target for the 2022 list parser.
 *
 * The input is split into lines, each handed over in a buffer of exactly
 * its length.  Every line must be skipped, rejected with a "reason (near
 * ...)" message, or give a record whose serial is canonical, whose account
 * is a decimal number, whose names are sorted, unique and re-normalise to
 * themselves, and which, written back as an le2022 line, parses to the
 * same record.  A violation aborts.
 */
#include "certrecall/dnsname.h"
#include "certrecall/record.h"
#include "certrecall/utctime.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void check_names(const struct record *r)
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

static void check_error(const char *err)
{
	if (err[0] == '\0' || strstr(err, " (near \"") == NULL ||
	    strchr(err, '\n') != NULL)
		abort();
}

/* Writes r back as a quoted le2022 line and parses it afresh. */
static void round_trip(const struct record *r)
{
	struct record_parser *p = record_parser_new(RECORD_LE2022, 16);
	char hex[2 * SERIAL_MAX + 1], when[UTCTIME_BUFSZ], err[256];
	size_t cap = 256 + strlen(r->account), len, i;
	struct record back;
	char *line;
	int w;

	for (i = 0; i < r->nnames; i++)
		cap += strlen(r->names[i]) + 3;
	line = malloc(cap);
	if (p == NULL || line == NULL)
		abort();
	serial_format_hex(&r->serial, hex, sizeof(hex));
	if (utctime_format_rfc3339(r->not_after, when, sizeof(when)) != 0)
		abort();
	w = snprintf(line, cap, "%s,\"%s\",\"%s\"", r->account, hex, when);
	if (w < 0 || (size_t)w >= cap)
		abort();
	len = (size_t)w;
	for (i = 0; i < r->nnames; i++) {
		w = snprintf(line + len, cap - len, ",\"%s\"", r->names[i]);
		if (w < 0 || (size_t)w >= cap - len)
			abort();
		len += (size_t)w;
	}
	if (record_parse(p, line, len, &back, err, sizeof(err)) != RECORD_OK)
		abort();
	if (serial_compare(&r->serial, &back.serial) != 0 ||
	    strcmp(r->account, back.account) != 0 ||
	    r->not_after != back.not_after || r->nnames != back.nnames)
		abort();
	for (i = 0; i < r->nnames; i++) {
		if (strcmp(r->names[i], back.names[i]) != 0)
			abort();
	}
	free(line);
	record_parser_free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct record_parser *p = record_parser_new(RECORD_LE2022, 16);
	struct record r;
	char err[256];
	size_t start = 0, end, len, i;
	int rc, fmt;

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
			fmt = record_detect(line, len, err, sizeof(err));
			if (fmt < -1 || fmt > RECORD_SERIALS ||
			    (fmt == -1 && err[0] == '\0'))
				abort();
		}
		err[0] = '\0';
		rc = record_parse(p, line, len, &r, err, sizeof(err));
		switch (rc) {
		case RECORD_OK:
			if (r.serial.len < 1 || r.serial.len > SERIAL_MAX ||
			    r.serial.b[0] == 0)
				abort();
			if (r.account == NULL || r.account[0] == '\0')
				abort();
			for (i = 0; r.account[i] != '\0'; i++) {
				if (r.account[i] < '0' || r.account[i] > '9')
					abort();
			}
			if (r.nnames == 0 || r.not_after == RECORD_UNSET ||
			    r.issued_at != RECORD_UNSET)
				abort();
			check_names(&r);
			round_trip(&r);
			break;
		case RECORD_ERROR:
			check_error(err);
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
