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
#include "fuzz_record.h"
#include "certrecall/core/dnsname.h"
#include "certrecall/core/record.h"
#include "certrecall/base/utctime.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* The format's own checks, then the round trip. */
static void on_record(const struct record *r)
{
	fuzz_check_numeric_account(r);
	if (r->nnames == 0 || r->not_after == RECORD_UNSET ||
	    r->issued_at != RECORD_UNSET)
		abort();
	round_trip(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_record_lines(data, size, RECORD_LE2022, on_record);
}
