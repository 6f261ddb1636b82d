/*
 * fuzz_record_csv.c - libFuzzer target for the csv list parser.
 *
 * The first line goes to record_csv_header, the rest to record_parse,
 * each in a buffer of exactly its length; on RECORD_NEED_MORE the line
 * must be unchanged and is joined with "\n" to the next one, as the
 * importer does.  Every record must have a canonical serial, sorted
 * unique names that re-normalise to themselves, sane unique e-mail
 * addresses, trimmed non-empty strings, and extra_json that is a JSON
 * object of non-empty strings.  A violation aborts.
 */
#include "fuzz_record.h"
#include "certrecall/core/dnsname.h"
#include "certrecall/core/record.h"
#include "certrecall/base/utctime.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void check_string(const char *s)
{
	size_t n;

	if (s == NULL)
		return;
	n = strlen(s);
	if (n == 0 || s[0] == ' ' || s[0] == '\t' || s[n - 1] == ' ' ||
	    s[n - 1] == '\t')
		abort();
}

static void check_emails(const struct record *r)
{
	size_t i, k;

	if ((r->emails == NULL) != (r->nemails == 0))
		abort();
	if (r->nemails > RECORD_EMAILS_MAX)
		abort();
	for (i = 0; i < r->nemails; i++) {
		const char *at = strchr(r->emails[i], '@');

		if (at == NULL || at == r->emails[i] || at[1] == '\0' ||
		    strchr(at + 1, '@') != NULL ||
		    strpbrk(r->emails[i], " \t;,<>\"") != NULL)
			abort();
		for (k = 0; k < i; k++) {
			if (strcmp(r->emails[k], r->emails[i]) == 0)
				abort();
		}
	}
}

static void check_time(time_t t)
{
	char buf[UTCTIME_BUFSZ];

	if (t != RECORD_UNSET && utctime_format_rfc3339(t, buf, sizeof(buf)))
		abort();
}

static void check_extra(const char *js)
{
	json_error_t jerr;
	const char *key;
	json_t *obj, *v;

	if (js == NULL)
		return;
	obj = json_loads(js, 0, &jerr);
	if (obj == NULL || !json_is_object(obj) || json_object_size(obj) == 0)
		abort();
	json_object_foreach(obj, key, v)
	{
		if (key[0] == '\0' || !json_is_string(v) ||
		    json_string_length(v) == 0)
			abort();
	}
	json_decref(obj);
}

static void check_record(const struct record *r)
{
	if (r->serial.len < 1 || r->serial.len > SERIAL_MAX ||
	    r->serial.b[0] == 0)
		abort();
	fuzz_check_names(r);
	check_emails(r);
	check_string(r->account);
	check_string(r->issuer);
	check_string(r->subject);
	check_time(r->issued_at);
	check_time(r->not_after);
	check_extra(r->extra_json);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct record_parser *p = record_parser_new(RECORD_CSV, 16);
	struct record r;
	char err[256];
	char *line = NULL, *copy = NULL;
	size_t start = 0, end, len = 0, add;
	int rc = RECORD_OK, fmt;

	if (p == NULL)
		abort();
	while (start <= size) {
		const uint8_t *nl = memchr(data + start, '\n', size - start);
		char *grown;

		end = nl != NULL ? (size_t)(nl - data) : size;
		add = end - start;
		/* A record still open gets "\n" and the next line. */
		if (rc != RECORD_NEED_MORE)
			len = 0;
		grown = malloc(len + (rc == RECORD_NEED_MORE) + add + 1);
		if (grown == NULL)
			abort();
		if (len > 0)
			memcpy(grown, line, len);
		if (rc == RECORD_NEED_MORE)
			grown[len++] = '\n';
		memcpy(grown + len, data + start, add);
		len += add;
		free(line);
		free(copy);
		/* Exact size, so reading past len trips ASan. */
		line = malloc(len ? len : 1);
		copy = grown;
		if (line == NULL)
			abort();
		memcpy(line, copy, len);
		err[0] = '\0';
		if (start == 0) {
			fmt = record_detect(line, len, err, sizeof(err));
			if (fmt < -1 || fmt > RECORD_SERIALS ||
			    (fmt == -1 && err[0] == '\0'))
				abort();
			err[0] = '\0';
			if (record_csv_header(p, line, len, err, sizeof(err)))
				fuzz_check_error(err);
			rc = RECORD_OK;
			start = end + 1;
			continue;
		}
		rc = record_parse(p, line, len, &r, err, sizeof(err));
		switch (rc) {
		case RECORD_OK:
			check_record(&r);
			break;
		case RECORD_ERROR:
			fuzz_check_error(err);
			break;
		case RECORD_SKIP:
			break;
		case RECORD_NEED_MORE:
			if (memcmp(line, copy, len) != 0)
				abort();
			break;
		default:
			abort();
		}
		start = end + 1;
	}
	free(line);
	free(copy);
	record_parser_free(p);
	return 0;
}
