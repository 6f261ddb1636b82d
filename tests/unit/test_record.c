/*
 * test_record.c - each published list format gives the same canonical
 * records (serial bytes, sorted unique names, UTC times) whatever its line
 * endings, BOM, blanks and quoting; every malformed variant is an error
 * quoting the offending text; csv records may span lines via
 * RECORD_NEED_MORE; record_detect tells the formats apart.
 *
 * Every line is handed over in a buffer of exactly its length (no NUL
 * after it), so a parser that reads or writes past the line trips ASan.
 */
#include "certrecall/core/record.h"
#include "certrecall/base/utctime.h"
#include "unit.h"

#include <stdlib.h>
#include <string.h>

#define LE2020_REAL                                                            \
	"serial 03d4d4bdb6bc0d2f7bc0a7ffe2bfc7d2bf7c 20409 "                   \
	"25e1c7a3f1b8b7b0d4c1a8b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1d2 "    \
	"names: [example.com www.example.com] missing CAA checking results "   \
	"for example.com at 2019-12-03 21:08:34.826011675 +0000 UTC"
#define LE2020_HEAD                                                            \
	"serial 03d4d4bdb6bc0d2f7bc0a7ffe2bfc7d2bf7c 20409 25e1c7a3 "
#define LE2020_TAIL                                                            \
	" missing CAA checking results for example.com at 2019-12-03 "         \
	"21:08:34.826011675 +0000 UTC"
#define LE2022_REAL                                                            \
	"20409,\"03d4d4bdb6bc0d2f7bc0a7ffe2bfc7d2bf7c\","                      \
	"\"2022-04-28T16:47:34Z\",\"example.com\",\"www.example.com\""
#define BOM "\xef\xbb\xbf"

/* The line buffers handed to the parser; freed by the fixture. */
static char *held[8];
static size_t nheld;

static void teardown(void)
{
	while (nheld > 0)
		free(held[--nheld]);
}

/* An exact-length private copy of line (kept until the test ends). */
static char *hold(const char *line, size_t len)
{
	char *b = malloc(len ? len : 1);

	ck_assert_ptr_nonnull(b);
	ck_assert_uint_lt(nheld, sizeof(held) / sizeof(held[0]));
	memcpy(b, line, len);
	held[nheld++] = b;
	return b;
}

static int parse(struct record_parser *p, const char *line, struct record *r,
		 char *err, size_t errlen)
{
	size_t len = strlen(line);

	err[0] = '\0';
	return record_parse(p, hold(line, len), len, r, err, errlen);
}

static struct record_parser *parser(enum record_format fmt)
{
	struct record_parser *p = record_parser_new(fmt, 16);

	ck_assert_ptr_nonnull(p);
	return p;
}

static const char *hex(const struct serial *s)
{
	static char buf[2 * SERIAL_MAX + 1];

	serial_format_hex(s, buf, sizeof(buf));
	return buf;
}

/* The names joined by single blanks ("" for none). */
static const char *joined(const char **v, size_t n)
{
	static char buf[4096];
	size_t i, k = 0, l;

	buf[0] = '\0';
	for (i = 0; i < n; i++) {
		l = strlen(v[i]);
		ck_assert_uint_lt(k + l + 2, sizeof(buf));
		if (i > 0)
			buf[k++] = ' ';
		memcpy(buf + k, v[i], l + 1);
		k += l;
	}
	return buf;
}

static const char *when(time_t t)
{
	static char buf[UTCTIME_BUFSZ];

	if (t == RECORD_UNSET)
		return "unset";
	ck_assert_int_eq(utctime_format_rfc3339(t, buf, sizeof(buf)), 0);
	return buf;
}

/* ---- lines every format skips ------------------------------------------ */

static const char *const skipped[] = {
	"",
	"   ",
	"\t",
	"\r",
	" \r",
	"# a comment",
	"   # indented comment",
	"#serial,names",
};

START_TEST(blank_and_comment_lines_are_skipped_in_every_format)
{
	static const enum record_format fmts[] = { RECORD_LE2020, RECORD_LE2022,
						   RECORD_CSV, RECORD_SERIALS };
	struct record r;
	char err[256];
	size_t i;

	for (i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++) {
		struct record_parser *p = parser(fmts[i]);

		ck_assert_int_eq(parse(p, skipped[_i], &r, err, sizeof(err)),
				 RECORD_SKIP);
		ck_assert_uint_eq(r.nnames, 0);
		record_parser_free(p);
		teardown();
	}
}
END_TEST

START_TEST(a_bom_alone_on_the_first_line_is_a_blank_line)
{
	struct record_parser *p = parser(RECORD_SERIALS);
	struct record r;
	char err[256];

	ck_assert_int_eq(parse(p, BOM, &r, err, sizeof(err)), RECORD_SKIP);
	/* Only the first line may carry a BOM. */
	ck_assert_int_eq(parse(p, BOM "ab", &r, err, sizeof(err)),
			 RECORD_ERROR);
	ck_assert_ptr_nonnull(strstr(err, "not hex"));
	record_parser_free(p);
}
END_TEST

/* ---- le2020 ---------------------------------------------------------------- */

static const struct {
	const char *what, *line, *serial, *account, *names, *issued;
	bool fresh_parser_only; /* starts with a BOM */
} le2020_ok[] = {
	{ "the real list line", LE2020_REAL,
	  "03d4d4bdb6bc0d2f7bc0a7ffe2bfc7d2bf7c", "20409",
	  "example.com www.example.com", "2019-12-03T21:08:34Z", false },
	{ "CRLF line ending", LE2020_REAL "\r",
	  "03d4d4bdb6bc0d2f7bc0a7ffe2bfc7d2bf7c", "20409",
	  "example.com www.example.com", "2019-12-03T21:08:34Z", false },
	{ "trailing blanks", LE2020_REAL " \t \r",
	  "03d4d4bdb6bc0d2f7bc0a7ffe2bfc7d2bf7c", "20409",
	  "example.com www.example.com", "2019-12-03T21:08:34Z", false },
	{ "UTF-8 BOM on the first line", BOM LE2020_REAL,
	  "03d4d4bdb6bc0d2f7bc0a7ffe2bfc7d2bf7c", "20409",
	  "example.com www.example.com", "2019-12-03T21:08:34Z", true },
	{ "names lowercased, sorted, unique",
	  LE2020_HEAD "names: [www.Example.com example.com. EXAMPLE.COM "
		      "*.example.com]" LE2020_TAIL,
	  "03d4d4bdb6bc0d2f7bc0a7ffe2bfc7d2bf7c", "20409",
	  "*.example.com example.com www.example.com", "2019-12-03T21:08:34Z",
	  false },
	{ "one name", LE2020_HEAD "names: [a.example]" LE2020_TAIL,
	  "03d4d4bdb6bc0d2f7bc0a7ffe2bfc7d2bf7c", "20409", "a.example",
	  "2019-12-03T21:08:34Z", false },
	{ "bracketed list after \"for\"",
	  LE2020_HEAD "names: [b.example a.example] missing CAA checking "
		      "results for [a.example b.example] at 2019-12-03 "
		      "21:08:34.826011675 +0000 UTC",
	  "03d4d4bdb6bc0d2f7bc0a7ffe2bfc7d2bf7c", "20409",
	  "a.example b.example", "2019-12-03T21:08:34Z", false },
	{ "runs of blanks and a bracket against \"names:\"",
	  "  serial   0a  7\t h   names:[a.example   b.example ]   missing "
	  "for x  at 2020-02-29 23:59:59 +0000 UTC",
	  "0a", "7", "a.example b.example", "2020-02-29T23:59:59Z", false },
	{ "RFC 3339 time",
	  LE2020_HEAD "names: [a.example] at 2019-12-03T21:08:34Z",
	  "03d4d4bdb6bc0d2f7bc0a7ffe2bfc7d2bf7c", "20409", "a.example",
	  "2019-12-03T21:08:34Z", false },
	{ "uppercase serial with leading zero byte",
	  "serial 00FF 1 h names: [a.example]" LE2020_TAIL, "ff", "1",
	  "a.example", "2019-12-03T21:08:34Z", false },
};

START_TEST(le2020_lines_give_the_expected_record)
{
	struct record_parser *p = parser(RECORD_LE2020);
	struct record r;
	char err[256];
	int rc, pass;

	/* A BOM is only skipped on the first line; else parse twice. */
	for (pass = 0; pass < (le2020_ok[_i].fresh_parser_only ? 1 : 2);
	     pass++) {
		rc = parse(p, le2020_ok[_i].line, &r, err, sizeof(err));
		ck_assert_msg(rc == RECORD_OK, "%s: %s", le2020_ok[_i].what,
			      err);
		ck_assert_str_eq(hex(&r.serial), le2020_ok[_i].serial);
		ck_assert_str_eq(r.account, le2020_ok[_i].account);
		ck_assert_str_eq(joined(r.names, r.nnames),
				 le2020_ok[_i].names);
		/* The trailing time is the CAA check's, not notBefore. */
		ck_assert_str_eq(when(r.caa_checked_at), le2020_ok[_i].issued);
		ck_assert_str_eq(when(r.issued_at), "unset");
		ck_assert_str_eq(when(r.not_after), "unset");
		ck_assert_ptr_null(r.emails);
		ck_assert_ptr_null(r.extra_json);
		ck_assert(!r.has_sha256);
	}
	record_parser_free(p);
}
END_TEST

static const struct {
	const char *what, *line, *why;
} le2020_bad[] = {
	{ "missing names:",
	  LE2020_HEAD "[example.com] missing CAA checking results for "
		      "example.com at 2019-12-03 21:08:34.826011675 +0000 UTC",
	  "unexpected text before \"names:\"" },
	{ "no names: at all", "serial 0a 1 h", "missing \"names:\"" },
	{ "unterminated [",
	  LE2020_HEAD "names: [example.com www.example.com missing CAA at "
		      "2019-12-03 21:08:34 +0000 UTC",
	  "unterminated \"[\"" },
	{ "no [ after names:", LE2020_HEAD "names: example.com]" LE2020_TAIL,
	  "missing \"[\" after \"names:\"" },
	{ "empty names list", LE2020_HEAD "names: []" LE2020_TAIL,
	  "empty names list" },
	{ "blank names list", LE2020_HEAD "names: [   ]" LE2020_TAIL,
	  "empty names list" },
	{ "bad time: month 13",
	  LE2020_HEAD "names: [a.example] missing CAA checking results for "
		      "a.example at 2019-13-03 21:08:34.826011675 +0000 UTC",
	  "bad CAA check time" },
	{ "bad time: not a time",
	  LE2020_HEAD "names: [a.example] missing for a.example at noon",
	  "bad CAA check time" },
	{ "bad time: no zone",
	  LE2020_HEAD "names: [a.example] missing for a.example at "
		      "2019-12-03 21:08:34",
	  "bad CAA check time" },
	{ "no time", LE2020_HEAD "names: [a.example]",
	  "missing \"at <time>\"" },
	{ "no at", LE2020_HEAD "names: [a.example] missing CAA checking",
	  "missing \"at <time>\"" },
	{ "non-numeric account",
	  "serial 03d4d4bdb6bc0d2f7bc0a7ffe2bfc7d2bf7c acct-20409 25e1 names: "
	  "[a.example]" LE2020_TAIL,
	  "account id is not a number (near \"acct-20409\")" },
	{ "empty serial", "serial names: [a.example]" LE2020_TAIL,
	  "empty serial" },
	{ "missing field", "serial 0a 20409 names: [a.example]" LE2020_TAIL,
	  "missing field before \"names:\"" },
	{ "serial not hex",
	  "serial 03d4zz 20409 25e1 names: [a.example]" LE2020_TAIL,
	  "serial is not hex (near \"03d4zz\")" },
	{ "serial zero", "serial 00 20409 25e1 names: [a.example]" LE2020_TAIL,
	  "serial is zero" },
	{ "over-long serial (21 octets)",
	  "serial 010203040506070809101112131415161718192021 20409 25e1 "
	  "names: [a.example]" LE2020_TAIL,
	  "longer than 20 octets" },
	{ "not a serial line", "serail 0a 1 h names: [a.example]" LE2020_TAIL,
	  "does not start with \"serial \"" },
	{ "bad name", LE2020_HEAD "names: [-a.example]" LE2020_TAIL,
	  "label starts with a hyphen (near \"-a.example\")" },
	{ "name that is not IDNA",
	  LE2020_HEAD "names: [\xe2\x98\x83.example]" LE2020_TAIL,
	  "not a valid internationalised name" },
	{ "wildcard in the middle",
	  LE2020_HEAD "names: [a.*.example]" LE2020_TAIL,
	  "wildcard must be the whole first label" },
};

START_TEST(malformed_le2020_lines_are_errors_naming_the_problem)
{
	struct record_parser *p = parser(RECORD_LE2020);
	struct record r;
	char err[256];

	ck_assert_int_eq(parse(p, le2020_bad[_i].line, &r, err, sizeof(err)),
			 RECORD_ERROR);
	ck_assert_msg(strstr(err, le2020_bad[_i].why) != NULL, "%s: %s",
		      le2020_bad[_i].what, err);
	ck_assert_msg(strstr(err, " (near \"") != NULL, "%s", err);
	/* Nothing half-filled is left behind. */
	ck_assert_ptr_null(r.names);
	ck_assert_ptr_null(r.account);
	record_parser_free(p);
}
END_TEST

START_TEST(error_quotes_at_most_forty_bytes)
{
	struct record_parser *p = parser(RECORD_LE2020);
	struct record r;
	char err[256];
	const char *q;

	ck_assert_int_eq(parse(p, "serail" LE2020_REAL, &r, err, sizeof(err)),
			 RECORD_ERROR);
	q = strstr(err, "(near \"");
	ck_assert_ptr_nonnull(q);
	/* 40 bytes, "...", the closing quote and parenthesis */
	ck_assert_uint_eq(strlen(q + 7), 40 + 3 + 2);
	ck_assert_ptr_null(strchr(err, '\n'));
	record_parser_free(p);
}
END_TEST

START_TEST(le2020_account_points_into_the_line)
{
	struct record_parser *p = parser(RECORD_LE2020);
	struct record r;
	char err[256];
	size_t len = strlen(LE2020_REAL);
	char *line = hold(LE2020_REAL, len);

	ck_assert_int_eq(record_parse(p, line, len, &r, err, sizeof(err)),
			 RECORD_OK);
	ck_assert(r.account > line && r.account < line + len);
	record_parser_free(p);
}
END_TEST

START_TEST(scratch_space_is_reused_between_lines)
{
	struct record_parser *p = parser(RECORD_LE2020);
	struct record r;
	char err[256];
	const char **names;
	const char *first;

	ck_assert_int_eq(parse(p, LE2020_REAL, &r, err, sizeof(err)),
			 RECORD_OK);
	names = r.names;
	first = r.names[0];
	ck_assert_int_eq(parse(p, LE2020_REAL, &r, err, sizeof(err)),
			 RECORD_OK);
	ck_assert_ptr_eq(r.names, names);
	ck_assert_ptr_eq(r.names[0], first);
	record_parser_free(p);
}
END_TEST

/* "serial 0a 1 h names: [n0.example n1.example ...] at <time>" */
static char *many_names(size_t n, const char *dup)
{
	size_t cap = 64 + n * 24, k, i;
	char *s = malloc(cap);
	int w;

	ck_assert_ptr_nonnull(s);
	k = (size_t)snprintf(s, cap, "serial 0a 1 h names: [");
	for (i = 0; i < n; i++) {
		if (dup != NULL)
			w = snprintf(s + k, cap - k, "%s ", dup);
		else
			w = snprintf(s + k, cap - k, "n%zu.example ", i);
		ck_assert(w > 0 && (size_t)w < cap - k);
		k += (size_t)w;
	}
	w = snprintf(s + k, cap - k, "] at 2020-01-01T00:00:00Z");
	ck_assert(w > 0 && (size_t)w < cap - k);
	return s;
}

START_TEST(names_per_record_are_capped)
{
	struct record_parser *p = parser(RECORD_LE2020);
	struct record r;
	char err[256];
	char *line;

	line = many_names(RECORD_NAMES_MAX, NULL);
	ck_assert_int_eq(parse(p, line, &r, err, sizeof(err)), RECORD_OK);
	ck_assert_uint_eq(r.nnames, RECORD_NAMES_MAX);
	free(line);
	line = many_names(RECORD_NAMES_MAX, "same.example");
	ck_assert_int_eq(parse(p, line, &r, err, sizeof(err)), RECORD_OK);
	ck_assert_uint_eq(r.nnames, 1);
	free(line);
	line = many_names(RECORD_NAMES_MAX + 1, NULL);
	ck_assert_int_eq(parse(p, line, &r, err, sizeof(err)), RECORD_ERROR);
	ck_assert_ptr_nonnull(strstr(err, "more than 1000 names"));
	free(line);
	record_parser_free(p);
}
END_TEST

START_TEST(over_long_lines_and_nul_bytes_are_errors)
{
	struct record_parser *p = parser(RECORD_SERIALS);
	struct record r;
	char err[256];
	size_t len = RECORD_LINE_MAX + 1;
	char *line = malloc(len);

	ck_assert_ptr_nonnull(line);
	memset(line, 'a', len);
	ck_assert_int_eq(record_parse(p, line, len, &r, err, sizeof(err)),
			 RECORD_ERROR);
	ck_assert_ptr_nonnull(strstr(err, "line longer than"));
	free(line);
	ck_assert_int_eq(
		record_parse(p, hold("ab\0cd", 5), 5, &r, err, sizeof(err)),
		RECORD_ERROR);
	ck_assert_ptr_nonnull(strstr(err, "NUL byte"));
	record_parser_free(p);
}
END_TEST

/* ---- le2022 ---------------------------------------------------------------- */

static const struct {
	const char *what, *line, *serial, *account, *names, *not_after;
} le2022_ok[] = {
	{ "the real list line", LE2022_REAL,
	  "03d4d4bdb6bc0d2f7bc0a7ffe2bfc7d2bf7c", "20409",
	  "example.com www.example.com", "2022-04-28T16:47:34Z" },
	{ "CRLF and trailing blanks", LE2022_REAL " \r",
	  "03d4d4bdb6bc0d2f7bc0a7ffe2bfc7d2bf7c", "20409",
	  "example.com www.example.com", "2022-04-28T16:47:34Z" },
	{ "unquoted fields",
	  "20409,03d4d4bdb6bc0d2f7bc0a7ffe2bfc7d2bf7c,2022-04-28T16:47:34Z,"
	  "www.example.com,example.com",
	  "03d4d4bdb6bc0d2f7bc0a7ffe2bfc7d2bf7c", "20409",
	  "example.com www.example.com", "2022-04-28T16:47:34Z" },
	{ "quoted account, blanks around fields",
	  "\"20409\" , \"0A\" , \"2022-04-28T18:47:34+02:00\" , \"B.example\" ",
	  "0a", "20409", "b.example", "2022-04-28T16:47:34Z" },
	{ "duplicate names and an empty trailing field",
	  "1,\"0a\",\"2022-04-28T16:47:34Z\",\"a.example\",\"A.example.\",",
	  "0a", "1", "a.example", "2022-04-28T16:47:34Z" },
};

START_TEST(le2022_lines_give_the_expected_record)
{
	struct record_parser *p = parser(RECORD_LE2022);
	struct record r;
	char err[256];

	ck_assert_msg(parse(p, le2022_ok[_i].line, &r, err, sizeof(err)) ==
			      RECORD_OK,
		      "%s: %s", le2022_ok[_i].what, err);
	ck_assert_str_eq(hex(&r.serial), le2022_ok[_i].serial);
	ck_assert_str_eq(r.account, le2022_ok[_i].account);
	ck_assert_str_eq(joined(r.names, r.nnames), le2022_ok[_i].names);
	ck_assert_str_eq(when(r.not_after), le2022_ok[_i].not_after);
	ck_assert_str_eq(when(r.issued_at), "unset");
	record_parser_free(p);
}
END_TEST

START_TEST(le2022_skips_a_bom_on_the_first_line)
{
	struct record_parser *p = parser(RECORD_LE2022);
	struct record r;
	char err[256];

	ck_assert_int_eq(parse(p, BOM LE2022_REAL "\r", &r, err, sizeof(err)),
			 RECORD_OK);
	ck_assert_str_eq(r.account, "20409");
	record_parser_free(p);
}
END_TEST

static const struct {
	const char *what, *line, *why;
} le2022_bad[] = {
	{ "non-numeric account",
	  "acct,\"0a\",\"2022-04-28T16:47:34Z\",\"a.example\"",
	  "account id is not a number (near \"acct\")" },
	{ "missing account", ",\"0a\",\"2022-04-28T16:47:34Z\",\"a.example\"",
	  "missing account id" },
	{ "empty serial", "1,\"\",\"2022-04-28T16:47:34Z\",\"a.example\"",
	  "empty serial" },
	{ "serial not hex", "1,\"0q\",\"2022-04-28T16:47:34Z\",\"a.example\"",
	  "serial is not hex" },
	{ "over-long serial",
	  "1,\"010203040506070809101112131415161718192021\","
	  "\"2022-04-28T16:47:34Z\",\"a.example\"",
	  "longer than 20 octets" },
	{ "bad time", "1,\"0a\",\"2022-04-31T16:47:34Z\",\"a.example\"",
	  "bad expiry time" },
	{ "time without zone", "1,\"0a\",\"2022-04-28T16:47:34\",\"a.example\"",
	  "bad expiry time" },
	{ "empty time", "1,\"0a\",\"\",\"a.example\"", "missing expiry time" },
	{ "no names", "1,\"0a\",\"2022-04-28T16:47:34Z\"", "too few fields" },
	{ "only empty names", "1,\"0a\",\"2022-04-28T16:47:34Z\",\"\",",
	  "no names" },
	{ "unterminated quote", "1,\"0a\",\"2022-04-28T16:47:34Z\",\"a.example",
	  "unterminated quote" },
	{ "text after a closing quote",
	  "1,\"0a\"x,\"2022-04-28T16:47:34Z\",\"a.example\"",
	  "text after a closing quote (near \"x," },
	{ "bad name", "1,\"0a\",\"2022-04-28T16:47:34Z\",\"a..example\"",
	  "empty label" },
	{ "le2020 line", LE2020_REAL, "too few fields" },
};

START_TEST(malformed_le2022_lines_are_errors_naming_the_problem)
{
	struct record_parser *p = parser(RECORD_LE2022);
	struct record r;
	char err[256];

	ck_assert_int_eq(parse(p, le2022_bad[_i].line, &r, err, sizeof(err)),
			 RECORD_ERROR);
	ck_assert_msg(strstr(err, le2022_bad[_i].why) != NULL, "%s: %s",
		      le2022_bad[_i].what, err);
	ck_assert_msg(strstr(err, " (near \"") != NULL, "%s", err);
	record_parser_free(p);
}
END_TEST

/* ---- csv ----------------------------------------------------------------- */

static struct record_parser *csv_with(const char *header)
{
	struct record_parser *p = parser(RECORD_CSV);
	char err[256] = "";
	size_t len = strlen(header);

	ck_assert_msg(record_csv_header(p, hold(header, len), len, err,
					sizeof(err)) == 0,
		      "%s: %s", header, err);
	return p;
}

#define FULL_HEADER                                                            \
	"serial,names,account,email,issued_at,not_after,issuer,subject,"       \
	"sha256,ticket,notes"
#define SHA_HEX                                                                \
	"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

START_TEST(csv_row_fills_every_known_column_and_extra_json)
{
	struct record_parser *p = csv_with(FULL_HEADER);
	struct record r;
	char err[256];
	size_t i;

	ck_assert_msg(parse(p,
			    "03:D4,\"www.example.com; Example.com\",acct-7,"
			    "\"ops@example.com, cto@example.com\","
			    "2020-03-05,2020-06-03T03:08:00Z,"
			    "\"C=US, O=Let's Encrypt, CN=R3\","
			    "\"CN=example.com\"," SHA_HEX ",T-1,"
			    "\"said \"\"hi\"\", then left\"",
			    &r, err, sizeof(err)) == RECORD_OK,
		      "%s", err);
	ck_assert_str_eq(hex(&r.serial), "03d4");
	ck_assert_str_eq(joined(r.names, r.nnames),
			 "example.com www.example.com");
	ck_assert_str_eq(r.account, "acct-7");
	ck_assert_str_eq(joined(r.emails, r.nemails),
			 "ops@example.com cto@example.com");
	ck_assert_str_eq(when(r.issued_at), "2020-03-05T00:00:00Z");
	ck_assert_str_eq(when(r.not_after), "2020-06-03T03:08:00Z");
	ck_assert_str_eq(r.issuer, "C=US, O=Let's Encrypt, CN=R3");
	ck_assert_str_eq(r.subject, "CN=example.com");
	ck_assert(r.has_sha256);
	for (i = 0; i < 32; i++)
		ck_assert_uint_eq(r.sha256[i], (i % 16) * 0x11);
	ck_assert_str_eq(r.extra_json,
			 "{\"ticket\":\"T-1\",\"notes\":\"said \\\"hi\\\", "
			 "then left\"}");
	record_parser_free(p);
}
END_TEST

START_TEST(csv_empty_optional_cells_are_absent)
{
	struct record_parser *p = csv_with(FULL_HEADER);
	struct record r;
	char err[256];

	ck_assert_msg(parse(p, "0a,,,,,,,,,,", &r, err, sizeof(err)) ==
			      RECORD_OK,
		      "%s", err);
	ck_assert_str_eq(hex(&r.serial), "0a");
	ck_assert_ptr_null(r.names);
	ck_assert_uint_eq(r.nnames, 0);
	ck_assert_ptr_null(r.account);
	ck_assert_ptr_null(r.emails);
	ck_assert_uint_eq(r.nemails, 0);
	ck_assert_str_eq(when(r.issued_at), "unset");
	ck_assert_str_eq(when(r.not_after), "unset");
	ck_assert_ptr_null(r.issuer);
	ck_assert_ptr_null(r.subject);
	ck_assert(!r.has_sha256);
	ck_assert_ptr_null(r.extra_json);
	/* A row with only blanks and empty cells is not a record. */
	ck_assert_int_eq(parse(p, ",,,,,,,,,,", &r, err, sizeof(err)),
			 RECORD_SKIP);
	ck_assert_int_eq(parse(p, " , ,\"\"", &r, err, sizeof(err)),
			 RECORD_SKIP);
	record_parser_free(p);
}
END_TEST

START_TEST(csv_header_matches_aliases_case_and_blanks)
{
	struct record_parser *p = csv_with(
		BOM " Serial ,\"DNS_Names\",NOT_BEFORE,Emails,San X\r");
	struct record r;
	char err[256];

	ck_assert_msg(parse(p,
			    "ab,a.example b.example,2020-03-05T03:08:00Z,"
			    "a@b.example,v",
			    &r, err, sizeof(err)) == RECORD_OK,
		      "%s", err);
	ck_assert_str_eq(joined(r.names, r.nnames), "a.example b.example");
	ck_assert_str_eq(when(r.issued_at), "2020-03-05T03:08:00Z");
	ck_assert_str_eq(joined(r.emails, r.nemails), "a@b.example");
	ck_assert_str_eq(r.extra_json, "{\"San X\":\"v\"}");
	record_parser_free(p);
}
END_TEST

START_TEST(csv_without_a_header_call_reads_the_first_line_as_header)
{
	struct record_parser *p = parser(RECORD_CSV);
	struct record r;
	char err[256];

	ck_assert_int_eq(parse(p, "# exported list", &r, err, sizeof(err)),
			 RECORD_SKIP);
	ck_assert_int_eq(parse(p, "account,serial", &r, err, sizeof(err)),
			 RECORD_SKIP);
	ck_assert_int_eq(parse(p, "7,0a", &r, err, sizeof(err)), RECORD_OK);
	ck_assert_str_eq(r.account, "7");
	ck_assert_str_eq(hex(&r.serial), "0a");
	record_parser_free(p);
}
END_TEST

static const struct {
	const char *what, *header, *why;
} csv_header_bad[] = {
	{ "no serial column", "names,account", "no \"serial\" column" },
	{ "duplicate column", "serial,names,Serial", "repeats an earlier" },
	{ "duplicate via alias", "serial,names,san", "repeats an earlier" },
	{ "duplicate time alias", "serial,issued_at,not_before",
	  "repeats an earlier" },
	{ "duplicate unknown column", "serial,Ticket,ticket ",
	  "repeats an earlier" },
	{ "empty column name", "serial,,names", "empty column name" },
	{ "unterminated quote", "serial,\"names", "unterminated quote" },
	{ "text after quote", "serial,\"names\"x",
	  "text after a closing quote" },
	{ "blank header", "  \r", "instead of a header" },
	{ "non-UTF-8 column name", "serial,caf\xe9", "not UTF-8" },
};

START_TEST(bad_csv_headers_are_errors)
{
	struct record_parser *p = parser(RECORD_CSV);
	struct record r;
	char err[256] = "";
	const char *h = csv_header_bad[_i].header;
	size_t len = strlen(h);

	ck_assert_int_eq(
		record_csv_header(p, hold(h, len), len, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, csv_header_bad[_i].why) != NULL, "%s: %s",
		      csv_header_bad[_i].what, err);
	/* A failed header leaves the parser without one. */
	ck_assert_int_eq(parse(p, "serial", &r, err, sizeof(err)), RECORD_SKIP);
	ck_assert_int_eq(parse(p, "0a", &r, err, sizeof(err)), RECORD_OK);
	record_parser_free(p);
}
END_TEST

START_TEST(csv_header_is_only_for_csv_parsers)
{
	struct record_parser *p = parser(RECORD_LE2022);
	char err[256] = "";

	ck_assert_int_eq(
		record_csv_header(p, hold("serial", 6), 6, err, sizeof(err)),
		-1);
	ck_assert_ptr_nonnull(strstr(err, "not a csv parser"));
	record_parser_free(p);
}
END_TEST

static const struct {
	const char *what, *line, *why;
} csv_bad[] = {
	{ "too few fields", "0a,a.example", "row has 2 fields, header 4" },
	{ "too many fields", "0a,a.example,x@y.example,2020-01-01,extra",
	  "more than 4 fields" },
	{ "empty serial", ",a.example,,", "empty serial" },
	{ "bad serial", "0xq,,,", "serial is not hex" },
	{ "over-long serial", "010203040506070809101112131415161718192021,,,",
	  "longer than 20 octets" },
	{ "bad name", "0a,\"a.example;-b.example\",,", "starts with a hyphen" },
	{ "email without @", "0a,,ops.example,", "invalid email address" },
	{ "email with two @", "0a,,a@b@c.example,", "invalid email address" },
	{ "email without local part", "0a,,@c.example,",
	  "invalid email address" },
	{ "email without domain", "0a,,ops@,", "invalid email address" },
	{ "email in angle brackets", "0a,,<ops@c.example>,",
	  "invalid email address" },
	{ "email with a name", "0a,,\"Ops Team ops@c.example\",",
	  "invalid email address (near \"Ops\")" },
	{ "email with a quote", "0a,,\"o\"\"ps@c.example\",",
	  "invalid email address" },
	{ "email with a control char", "0a,,\"o\x01ps@c.example\",",
	  "invalid email address" },
	{ "bad time", "0a,,,2020-02-30", "bad issue time" },
	{ "time without zone", "0a,,,2020-02-03 10:00:00", "bad issue time" },
	{ "text after a quote", "0a,\"a.example\" x,,", "text after" },
};

START_TEST(malformed_csv_rows_are_errors_naming_the_problem)
{
	struct record_parser *p = csv_with("serial,names,email,issued_at");
	struct record r;
	char err[256];

	ck_assert_int_eq(parse(p, csv_bad[_i].line, &r, err, sizeof(err)),
			 RECORD_ERROR);
	ck_assert_msg(strstr(err, csv_bad[_i].why) != NULL, "%s: %s",
		      csv_bad[_i].what, err);
	ck_assert_msg(strstr(err, " (near \"") != NULL, "%s", err);
	record_parser_free(p);
}
END_TEST

static const struct {
	const char *cell;
	bool ok;
} sha_cells[] = {
	{ SHA_HEX, true },
	{ "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:"
	  "66:77:88:99:aa:bb:cc:dd:ee:ff",
	  true },
	{ SHA_HEX "0", false },
	{ "0112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
	  false },
	{ "g0112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
	  false },
	{ "00 11", false },
};

START_TEST(csv_sha256_is_64_hex_digits_colons_allowed)
{
	struct record_parser *p = csv_with("serial,sha256");
	struct record r;
	char line[256], err[256];
	int n = snprintf(line, sizeof(line), "0a,%s", sha_cells[_i].cell);

	ck_assert(n > 0 && (size_t)n < sizeof(line));
	if (sha_cells[_i].ok) {
		ck_assert_msg(parse(p, line, &r, err, sizeof(err)) == RECORD_OK,
			      "%s", err);
		ck_assert(r.has_sha256);
		ck_assert_uint_eq(r.sha256[0], 0x00);
		ck_assert_uint_eq(r.sha256[1], 0x11);
		ck_assert_uint_eq(r.sha256[31], 0xff);
	} else {
		ck_assert_int_eq(parse(p, line, &r, err, sizeof(err)),
				 RECORD_ERROR);
		ck_assert_ptr_nonnull(strstr(err, "sha256 is not 64 hex"));
	}
	record_parser_free(p);
}
END_TEST

START_TEST(csv_quoted_newline_asks_for_more_and_leaves_the_line_alone)
{
	struct record_parser *p = csv_with("serial,subject,notes");
	struct record r;
	char err[256];
	const char *l1 = "0a,\"CN=example.com", *l2 = "O=Example",
		   *l3 = "L=Here\",\"x, \"\"y\"\"\"";
	char buf[256];
	char *line;
	size_t len;

	len = strlen(l1);
	line = hold(l1, len);
	ck_assert_int_eq(record_parse(p, line, len, &r, err, sizeof(err)),
			 RECORD_NEED_MORE);
	ck_assert(memcmp(line, l1, len) == 0);
	ck_assert(snprintf(buf, sizeof(buf), "%s\n%s", l1, l2) > 0);
	len = strlen(buf);
	line = hold(buf, len);
	ck_assert_int_eq(record_parse(p, line, len, &r, err, sizeof(err)),
			 RECORD_NEED_MORE);
	ck_assert(memcmp(line, buf, len) == 0);
	ck_assert(snprintf(buf, sizeof(buf), "%s\n%s\n%s", l1, l2, l3) > 0);
	ck_assert_int_eq(parse(p, buf, &r, err, sizeof(err)), RECORD_OK);
	ck_assert_str_eq(hex(&r.serial), "0a");
	ck_assert_str_eq(r.subject, "CN=example.com\nO=Example\nL=Here");
	ck_assert_str_eq(r.extra_json, "{\"notes\":\"x, \\\"y\\\"\"}");
	record_parser_free(p);
}
END_TEST

START_TEST(csv_crlf_inside_a_quoted_field_reads_as_lf)
{
	struct record_parser *p = csv_with("serial,subject");
	struct record r;
	char err[256];

	ck_assert_int_eq(parse(p, "0a,\"CN=a\r", &r, err, sizeof(err)),
			 RECORD_NEED_MORE);
	ck_assert_int_eq(parse(p, "0a,\"CN=a\r\nO=b\"\r", &r, err, sizeof(err)),
			 RECORD_OK);
	ck_assert_str_eq(r.subject, "CN=a\nO=b");
	record_parser_free(p);
}
END_TEST

START_TEST(csv_header_is_one_line_even_with_a_bom)
{
	struct record_parser *p = parser(RECORD_CSV);
	struct record r;
	char err[256];

	ck_assert_int_eq(parse(p, BOM "serial,\"sub", &r, err, sizeof(err)),
			 RECORD_ERROR);
	ck_assert_ptr_nonnull(strstr(err, "unterminated quote in header"));
	ck_assert_int_eq(parse(p, BOM "serial", &r, err, sizeof(err)),
			 RECORD_ERROR);
	ck_assert_ptr_nonnull(strstr(err, "no \"serial\" column"));
	record_parser_free(p);
}
END_TEST

START_TEST(csv_strings_ending_at_the_buffer_end_are_copied)
{
	struct record_parser *p = csv_with("serial,account,issuer");
	struct record r;
	char err[256];

	/* "CA 1" ends exactly where the exact-size buffer ends. */
	ck_assert_int_eq(parse(p, "0a,acct,CA 1", &r, err, sizeof(err)),
			 RECORD_OK);
	ck_assert_str_eq(r.account, "acct");
	ck_assert_str_eq(r.issuer, "CA 1");
	/* Trailing blanks cut by the parser leave room to terminate. */
	ck_assert_int_eq(parse(p, "0b,acct2,CA 2  \r", &r, err, sizeof(err)),
			 RECORD_OK);
	ck_assert_str_eq(r.issuer, "CA 2");
	record_parser_free(p);
}
END_TEST

START_TEST(csv_emails_split_on_blanks_semicolons_commas_without_duplicates)
{
	struct record_parser *p = csv_with("email,serial");
	struct record r;
	char err[256];

	ck_assert_msg(parse(p,
			    "\"a@x.example; b@x.example,c@x.example  "
			    "a@x.example;\",0a",
			    &r, err, sizeof(err)) == RECORD_OK,
		      "%s", err);
	ck_assert_str_eq(joined(r.emails, r.nemails),
			 "a@x.example b@x.example c@x.example");
	ck_assert_int_eq(parse(p, "last@x.example,0a", &r, err, sizeof(err)),
			 RECORD_OK);
	ck_assert_str_eq(joined(r.emails, r.nemails), "last@x.example");
	/* one address a line inside a quoted cell */
	ck_assert_int_eq(parse(p, "\"x@a.example\r\ny@b.example\",0a", &r, err,
			       sizeof(err)),
			 RECORD_OK);
	ck_assert_str_eq(joined(r.emails, r.nemails),
			 "x@a.example y@b.example");
	record_parser_free(p);
}
END_TEST

START_TEST(csv_serial_base_10_reads_decimal_serials)
{
	struct record_parser *p = record_parser_new(RECORD_CSV, 10);
	struct record r;
	char err[256];

	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(parse(p, "serial", &r, err, sizeof(err)), RECORD_SKIP);
	ck_assert_int_eq(parse(p, "171", &r, err, sizeof(err)), RECORD_OK);
	ck_assert_str_eq(hex(&r.serial), "ab");
	ck_assert_int_eq(parse(p, "ab", &r, err, sizeof(err)), RECORD_ERROR);
	ck_assert_ptr_nonnull(strstr(err, "not decimal"));
	record_parser_free(p);
}
END_TEST

START_TEST(csv_extra_json_rejects_cells_that_are_not_utf8)
{
	struct record_parser *p = csv_with("serial,note");
	struct record r;
	char err[256];

	ck_assert_int_eq(parse(p, "0a,caf\xe9", &r, err, sizeof(err)),
			 RECORD_ERROR);
	ck_assert_ptr_nonnull(strstr(err, "\"note\" is not UTF-8"));
	ck_assert_int_eq(parse(p, "0a,caf\xc3\xa9", &r, err, sizeof(err)),
			 RECORD_OK);
	ck_assert_str_eq(r.extra_json, "{\"note\":\"caf\xc3\xa9\"}");
	record_parser_free(p);
}
END_TEST

/* ---- serials --------------------------------------------------------------- */

static const struct {
	const char *line;
	int base, rc;
	const char *want; /* serial, or a piece of the message */
} serial_lines[] = {
	{ "03d4d4bdb6bc0d2f7bc0a7ffe2bfc7d2bf7c", 16, RECORD_OK,
	  "03d4d4bdb6bc0d2f7bc0a7ffe2bfc7d2bf7c" },
	{ "03:D4:D4:BD\r", 16, RECORD_OK, "03d4d4bd" },
	{ "  0xAB \t", 16, RECORD_OK, "ab" },
	{ "00 ab", 16, RECORD_OK, "ab" },
	{ "171", 10, RECORD_OK, "ab" },
	{ "171\r", 10, RECORD_OK, "ab" },
	{ "# serials", 16, RECORD_SKIP, "" },
	{ "xyz", 16, RECORD_ERROR, "serial is not hex (near \"xyz\")" },
	{ "ab", 10, RECORD_ERROR, "serial is not decimal" },
	{ "0", 16, RECORD_ERROR, "serial is zero" },
	{ "010203040506070809101112131415161718192021", 16, RECORD_ERROR,
	  "longer than 20 octets" },
	{ "ab,cd", 16, RECORD_ERROR, "not hex" },
	/* what "openssl x509 -serial -noout" prints */
	{ "serial=0A1B2C3D", 16, RECORD_OK, "0a1b2c3d" },
	{ "serial=00FF\r", 16, RECORD_OK, "ff" },
	{ "serial=", 16, RECORD_ERROR, "empty serial" },
	{ "serial=00", 16, RECORD_ERROR, "serial is zero" },
	{ "serial=-01", 16, RECORD_ERROR, "not hex" },
};

START_TEST(serials_lines_parse_in_the_parsers_base)
{
	struct record_parser *p =
		record_parser_new(RECORD_SERIALS, serial_lines[_i].base);
	struct record r;
	char err[256];
	int rc;

	ck_assert_ptr_nonnull(p);
	rc = parse(p, serial_lines[_i].line, &r, err, sizeof(err));
	ck_assert_msg(rc == serial_lines[_i].rc, "%s: %d %s",
		      serial_lines[_i].line, rc, err);
	if (rc == RECORD_OK) {
		ck_assert_str_eq(hex(&r.serial), serial_lines[_i].want);
		ck_assert_ptr_null(r.account);
		ck_assert_ptr_null(r.names);
		ck_assert_str_eq(when(r.issued_at), "unset");
	} else if (rc == RECORD_ERROR) {
		ck_assert_msg(strstr(err, serial_lines[_i].want) != NULL, "%s",
			      err);
	}
	record_parser_free(p);
}
END_TEST

START_TEST(serials_skip_a_bom_on_the_first_line_only)
{
	struct record_parser *p = parser(RECORD_SERIALS);
	struct record r;
	char err[256];

	ck_assert_int_eq(parse(p, BOM "0a\r", &r, err, sizeof(err)), RECORD_OK);
	ck_assert_str_eq(hex(&r.serial), "0a");
	ck_assert_int_eq(parse(p, BOM "0a\r", &r, err, sizeof(err)),
			 RECORD_ERROR);
	record_parser_free(p);
}
END_TEST

/* ---- detection and names ----------------------------------------------------- */

static const struct {
	const char *line;
	int want;
} detect[] = {
	{ LE2020_REAL, RECORD_LE2020 },
	{ BOM LE2020_REAL "\r", RECORD_LE2020 },
	{ LE2022_REAL, RECORD_LE2022 },
	{ LE2022_REAL "\r", RECORD_LE2022 },
	{ "20409,03d4,2022-04-28T16:47:34Z,example.com", RECORD_LE2022 },
	{ "serial,names,email", RECORD_CSV },
	{ "account,Serial", RECORD_CSV },
	{ BOM "\"serial\",\"names\"\r", RECORD_CSV },
	{ "serial", RECORD_CSV },
	{ "serial ,names", RECORD_CSV },
	{ "03d4d4bdb6bc0d2f7bc0a7ffe2bfc7d2bf7c", RECORD_SERIALS },
	{ "03:D4:D4\r", RECORD_SERIALS },
	{ "12345", RECORD_SERIALS },
	{ "serial=0A1B2C3D", RECORD_SERIALS },
	{ BOM "serial=03D4\r", RECORD_SERIALS },
	{ "serial=xyz", -1 },
	{ "", -1 },
	{ "  \r", -1 },
	{ "# serials", -1 },
	{ "hello world", -1 },
	{ "a,b,c", -1 },
	{ "20409,\"03d4\",\"tomorrow\",\"example.com\"", -1 },
};

START_TEST(detect_tells_the_formats_apart)
{
	char err[256] = "";
	int got = record_detect(detect[_i].line, strlen(detect[_i].line), err,
				sizeof(err));

	ck_assert_msg(got == detect[_i].want, "%s: got %d (%s)",
		      detect[_i].line, got, err);
	if (got == -1)
		ck_assert_str_ne(err, "");
}
END_TEST

START_TEST(format_names_round_trip)
{
	static const enum record_format all[] = { RECORD_LE2020, RECORD_LE2022,
						  RECORD_CSV, RECORD_SERIALS };
	size_t i;

	for (i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		ck_assert_int_eq(
			record_format_from_name(record_format_name(all[i])),
			(int)all[i]);
	ck_assert_str_eq(record_format_name(RECORD_LE2020), "le2020");
	ck_assert_int_eq(record_format_from_name("LE2020"), -1);
	ck_assert_int_eq(record_format_from_name(""), -1);
	ck_assert_ptr_null(record_format_name((enum record_format)42));
	ck_assert_ptr_null(record_parser_new(RECORD_CSV, 8));
	ck_assert_ptr_null(record_parser_new((enum record_format)42, 16));
	record_parser_free(NULL);
}
END_TEST

static Suite *record_suite(void)
{
	Suite *s = suite_create("record");
	TCase *tc = tcase_create("core");

#define N(a) (sizeof(a) / sizeof((a)[0]))
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_loop_test(tc,
			    blank_and_comment_lines_are_skipped_in_every_format,
			    0, N(skipped));
	tcase_add_test(tc, a_bom_alone_on_the_first_line_is_a_blank_line);
	tcase_add_loop_test(tc, le2020_lines_give_the_expected_record, 0,
			    N(le2020_ok));
	tcase_add_loop_test(
		tc, malformed_le2020_lines_are_errors_naming_the_problem, 0,
		N(le2020_bad));
	tcase_add_test(tc, error_quotes_at_most_forty_bytes);
	tcase_add_test(tc, le2020_account_points_into_the_line);
	tcase_add_test(tc, scratch_space_is_reused_between_lines);
	tcase_add_test(tc, names_per_record_are_capped);
	tcase_add_test(tc, over_long_lines_and_nul_bytes_are_errors);
	tcase_add_loop_test(tc, le2022_lines_give_the_expected_record, 0,
			    N(le2022_ok));
	tcase_add_test(tc, le2022_skips_a_bom_on_the_first_line);
	tcase_add_loop_test(
		tc, malformed_le2022_lines_are_errors_naming_the_problem, 0,
		N(le2022_bad));
	tcase_add_test(tc, csv_row_fills_every_known_column_and_extra_json);
	tcase_add_test(tc, csv_empty_optional_cells_are_absent);
	tcase_add_test(tc, csv_header_matches_aliases_case_and_blanks);
	tcase_add_test(
		tc, csv_without_a_header_call_reads_the_first_line_as_header);
	tcase_add_loop_test(tc, bad_csv_headers_are_errors, 0,
			    N(csv_header_bad));
	tcase_add_test(tc, csv_header_is_only_for_csv_parsers);
	tcase_add_loop_test(tc,
			    malformed_csv_rows_are_errors_naming_the_problem, 0,
			    N(csv_bad));
	tcase_add_loop_test(tc, csv_sha256_is_64_hex_digits_colons_allowed, 0,
			    N(sha_cells));
	tcase_add_test(
		tc, csv_quoted_newline_asks_for_more_and_leaves_the_line_alone);
	tcase_add_test(tc, csv_crlf_inside_a_quoted_field_reads_as_lf);
	tcase_add_test(tc, csv_header_is_one_line_even_with_a_bom);
	tcase_add_test(tc, csv_strings_ending_at_the_buffer_end_are_copied);
	tcase_add_test(
		tc,
		csv_emails_split_on_blanks_semicolons_commas_without_duplicates);
	tcase_add_test(tc, csv_serial_base_10_reads_decimal_serials);
	tcase_add_test(tc, csv_extra_json_rejects_cells_that_are_not_utf8);
	tcase_add_loop_test(tc, serials_lines_parse_in_the_parsers_base, 0,
			    N(serial_lines));
	tcase_add_test(tc, serials_skip_a_bom_on_the_first_line_only);
	tcase_add_loop_test(tc, detect_tells_the_formats_apart, 0, N(detect));
	tcase_add_test(tc, format_names_round_trip);
#undef N
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(record_suite)
