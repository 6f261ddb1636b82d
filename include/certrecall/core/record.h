/*
 * record - one affected certificate read from one line of a published
 * list (pure: no I/O; the importer owns files, gzip and the database).
 *
 * Formats (see ../shared/reference/revocation-rules.md):
 *   le2020   serial <hex> <account> <hash> names: [<n1> <n2> ...] missing
 *            CAA checking results for <name> at <time> +0000 UTC
 *            (<time> is the CAA check's, stored as caa_checked_at)
 *   le2022   <account>,"<hex serial>","<not_after RFC 3339>","<n1>",...
 *   csv      RFC 4180 with a header row naming the columns
 *   serials  one serial a line ("serial=HEX", as openssl x509 -serial
 *            prints it, too)
 *
 * Parsing is zero-copy where it can be: a record's strings point into the
 * line buffer (which the parser may modify) or into the parser's scratch
 * space, and stay valid until the next call on the same parser.  No
 * allocation happens per line once the scratch space has grown, so a
 * 3-million-line file is parsed in flat memory.  (csv rows with unknown
 * columns are the exception: extra_json is built with jansson per row.)
 *
 * Ownership: every pointer in a struct record (account, names and the
 * strings they point to, emails, issuer, subject, extra_json) is
 * borrowed from the line buffer or the parser.  It stays valid until the
 * next record_parse() or record_csv_header() on the same parser, or
 * record_parser_free(), and only while the line buffer is unchanged:
 * copy what must outlive the line.  The fields of out are meaningful
 * only after RECORD_OK (on any other status out is cleared).
 */
#ifndef CERTRECALL_RECORD_H
#define CERTRECALL_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "certrecall/core/serial.h"
#include "certrecall/base/xalloc.h"

/*
 * Hard caps: a longer line (or csv record joined after RECORD_NEED_MORE)
 * is an error, as is a record with more names or e-mail addresses
 * (counted before duplicates are dropped).
 */
#define RECORD_LINE_MAX (1024 * 1024)
#define RECORD_NAMES_MAX 1000
#define RECORD_EMAILS_MAX 100

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
	const char **names;  /* normalised, sorted, without duplicates; */
	size_t nnames;	     /* NULL / 0 when the line gives none */
	time_t issued_at;    /* RECORD_UNSET when not given */
	time_t not_after;    /* RECORD_UNSET when not given */
	/* le2020: when CAA was last checked ("... at TIME"); RECORD_UNSET
	 * otherwise.  Not an issuance time. */
	time_t caa_checked_at;
	/* csv only (NULL / false when absent): */
	const char **emails; /* as given, in order, exact duplicates dropped */
	size_t nemails;
	const char *issuer;
	const char *subject;
	unsigned char sha256[32];
	bool has_sha256;
	/*
	 * Compact JSON object {"<column as in header>":"<cell>",...} of the
	 * unrecognised columns whose cell is not empty, in header order;
	 * NULL when there are none.
	 */
	const char *extra_json;
};

struct record_parser;

/*
 * serial_base is 16, or 10 for decimal serials (--serial-base 10); it
 * applies to csv and serials (le2020 and le2022 lists are always hex).
 * Returns NULL for an unknown format or another base.
 */
CR_MUST_CHECK struct record_parser *record_parser_new(enum record_format fmt,
						      int serial_base);
void record_parser_free(struct record_parser *p);

/* "le2020", "le2022", "csv", "serials"; -1 if unknown. */
CR_MUST_CHECK int record_format_from_name(const char *name);
/* The name above, or NULL for a value outside the enum. */
CR_MUST_CHECK const char *record_format_name(enum record_format fmt);

/*
 * Guesses the format from the first non-blank line: "serial " starts
 * le2020; a header row with a "serial" column is csv; an account, a
 * quoted serial and a quoted time is le2022; a lone serial is serials.
 * A leading BOM and surrounding blanks are ignored.  Give it the first
 * line that is neither blank nor a "#" comment (those are errors here).
 * Returns the format, or -1 (err says why).
 */
CR_MUST_CHECK int record_detect(const char *line, size_t len, char *err,
				size_t errlen);

/*
 * csv: reads the header row.  Column names are matched case-insensitively
 * after trimming; "serial" is required; known: serial, account, email
 * (also emails), names (also dns_names, san), issued_at (also not_before),
 * not_after, issuer, subject, sha256.  Other columns go to extra_json.
 * A header naming one column twice (aliases included) is an error.  The
 * header is one line: a quoted newline in it is an error.  A BOM is
 * skipped if this is the first line the parser sees.  Calling it again
 * replaces the header.  Returns 0 or -1.
 *
 * Calling it is optional: record_parse() on a csv parser without a
 * header reads the first non-blank, non-comment line as the header and
 * returns RECORD_SKIP (or RECORD_ERROR if the header is bad).
 */
CR_MUST_CHECK int record_csv_header(struct record_parser *p, char *line,
				    size_t len, char *err, size_t errlen);

/*
 * Parses one line (len bytes, without its "\n"; a trailing "\r" and
 * trailing blanks are ignored; a UTF-8 BOM is skipped on the first line
 * the parser sees).  line may be modified (fields are unescaped and
 * NUL-terminated in place), but not before the line is known to be
 * complete.  Returns an enum record_status; on RECORD_ERROR err holds
 * "reason (near \"...\")" without file or line (the caller adds them).
 *
 * RECORD_NEED_MORE (csv only): a quoted field is still open at the end.
 * The line is left unmodified; call again with the same bytes + "\n" +
 * the next physical line (and so on) until another status comes back.
 * CR LF inside a quoted field reads as LF.  A joined record over
 * RECORD_LINE_MAX is an error; at end of input the record is incomplete
 * (an error for the caller to report).
 *
 * csv rows whose cells are all empty (",,,") give RECORD_SKIP; otherwise
 * a row needs as many fields as the header.  Empty optional cells are
 * absent.  names and email cells are split on blanks, line breaks, ";" and
 * ",".  NUL bytes anywhere in a line are an error.
 */
CR_MUST_CHECK int record_parse(struct record_parser *p, char *line, size_t len,
			       struct record *out, char *err, size_t errlen);

#endif
