/*
 * fuzz_record_le2020.c - libFuzzer target for the 2020 list parser.
 *
 * The input is split into lines, each handed over in a buffer of exactly
 * its length.  Every line must be skipped, rejected with a "reason (near
 * ...)" message, or give a record whose serial is canonical, whose account
 * is a decimal number, whose names are sorted, unique and re-normalise to
 * themselves, and which, written back as an le2020 line, parses to the
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

static void same_record(const struct record *a, const struct record *b)
{
	size_t i;

	if (serial_compare(&a->serial, &b->serial) != 0 ||
	    strcmp(a->account, b->account) != 0 ||
	    a->caa_checked_at != b->caa_checked_at ||
	    a->issued_at != b->issued_at || a->not_after != b->not_after ||
	    a->nnames != b->nnames)
		abort();
	for (i = 0; i < a->nnames; i++) {
		if (strcmp(a->names[i], b->names[i]) != 0)
			abort();
	}
}

/* Writes r back as an le2020 line and parses it with a fresh parser. */
static void round_trip(const struct record *r)
{
	struct record_parser *p = record_parser_new(RECORD_LE2020, 16);
	char hex[2 * SERIAL_MAX + 1], when[UTCTIME_BUFSZ], err[256];
	size_t cap = 256 + strlen(r->account), len = 0, i;
	struct record back;
	char *line;
	int w;

	for (i = 0; i < r->nnames; i++)
		cap += strlen(r->names[i]) + 1;
	line = malloc(cap);
	if (p == NULL || line == NULL)
		abort();
	serial_format_hex(&r->serial, hex, sizeof(hex));
	if (utctime_format_rfc3339(r->caa_checked_at, when, sizeof(when)) != 0)
		abort();
	w = snprintf(line, cap, "serial %s %s 0 names: [", hex, r->account);
	if (w < 0 || (size_t)w >= cap)
		abort();
	len = (size_t)w;
	for (i = 0; i < r->nnames; i++) {
		w = snprintf(line + len, cap - len, "%s%s", i ? " " : "",
			     r->names[i]);
		if (w < 0 || (size_t)w >= cap - len)
			abort();
		len += (size_t)w;
	}
	w = snprintf(line + len, cap - len,
		     "] missing CAA checking results for x at %s", when);
	if (w < 0 || (size_t)w >= cap - len)
		abort();
	len += (size_t)w;
	if (record_parse(p, line, len, &back, err, sizeof(err)) != RECORD_OK)
		abort();
	same_record(r, &back);
	free(line);
	record_parser_free(p);
}

/* The format's own checks, then the round trip. */
static void on_record(const struct record *r)
{
	fuzz_check_numeric_account(r);
	if (r->nnames == 0 || r->caa_checked_at == RECORD_UNSET ||
	    r->issued_at != RECORD_UNSET || r->not_after != RECORD_UNSET)
		abort();
	round_trip(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_record_lines(data, size, RECORD_LE2020, on_record);
}
