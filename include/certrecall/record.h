/*
 * record - one affected certificate read from one line of a published
 * list (pure: no I/O; the importer owns files, gzip and the database).
 *
 * Formats (see ../shared/reference/revocation-rules.md):
 *   le2020   serial <hex> <account> <hash> names: [<n1> <n2> ...] missing
 *            CAA checking results for <name> at <time> +0000 UTC
 *   le2022   <account>,"<hex serial>","<not_after RFC 3339>","<n1>",...
 *   csv      RFC 4180 with a header row naming the columns
 *   serials  one serial a line
 *
 * Parsing is zero-copy where it can be: a record's strings point into the
 * line buffer (which the parser may modify) or into the parser's scratch
 * space, and stay valid until the next call on the same parser.  No
 * allocation happens per line once the scratch space has grown, so a
 * 3-million-line file is parsed in flat memory.
 */
#ifndef CERTRECALL_RECORD_H
#define CERTRECALL_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "certrecall/serial.h"

/* A time that the line does not give.  Same value as DEADLINE_UNSET. */
#define RECORD_UNSET ((time_t)INT64_MIN)

enum record_format {
	RECORD_LE2020,
	RECORD_LE2022,
	RECORD_CSV,
	RECORD_SERIALS,
};

/* Return codes of record_parse(). */
enum record_status {
	RECORD_OK = 0,
	RECORD_ERROR = -1,
	RECORD_SKIP = 1,      /* blank line, or a "#" comment line */
	RECORD_NEED_MORE = 2, /* csv: a quoted field runs on to the next line */
};

struct record {
	struct serial serial;
	const char *account; /* NULL when the format has none */
	const char **names;  /* normalised, sorted, without duplicates */
	size_t nnames;
	time_t issued_at; /* RECORD_UNSET when not given */
	time_t not_after; /* RECORD_UNSET when not given */
	/* csv only (NULL / false when absent): */
	const char **emails;
	size_t nemails;
	const char *issuer;
	const char *subject;
	unsigned char sha256[32];
	bool has_sha256;
	const char *extra_json; /* JSON object of unrecognised columns */
};

struct record_parser;

/* serial_base is 16, or 10 for decimal serials (--serial-base 10). */
struct record_parser *record_parser_new(enum record_format fmt,
					int serial_base);
void record_parser_free(struct record_parser *p);

/* "le2020", "le2022", "csv", "serials"; -1 if unknown. */
int record_format_from_name(const char *name);
const char *record_format_name(enum record_format fmt);

/*
 * Guesses the format from the first non-blank line: "serial " starts
 * le2020; a header row with a "serial" column is csv; an account, a
 * quoted serial and a quoted time is le2022; a lone serial is serials.
 * Returns the format, or -1 (err says why).
 */
int record_detect(const char *line, size_t len, char *err, size_t errlen);

/*
 * csv: reads the header row.  Column names are matched case-insensitively
 * after trimming; "serial" is required; known: serial, account, email
 * (also emails), names (also dns_names, san), issued_at (also not_before),
 * not_after, issuer, subject, sha256.  Other columns go to extra_json.
 * A header naming one column twice is an error.  Returns 0 or -1.
 */
int record_csv_header(struct record_parser *p, char *line, size_t len,
		      char *err, size_t errlen);

/*
 * Parses one line (len bytes, without its "\n"; a trailing "\r" and
 * trailing blanks are ignored; a UTF-8 BOM is skipped on the first line).
 * line may be modified.  Returns an enum record_status; on RECORD_ERROR
 * err holds "reason (near \"...\")" without file or line (the caller adds
 * them).  RECORD_NEED_MORE (csv only): call again with the same line
 * joined by "\n" to the next one.
 */
int record_parse(struct record_parser *p, char *line, size_t len,
		 struct record *out, char *err, size_t errlen);

#endif
