/*
 * record_int.h - what the files of the record module share (internal;
 * the public API is record.h): the parser's state, the scratch arena and
 * the name and time helpers every format uses.  record.c holds the line
 * preparation, RFC 4180 splitting and the serials format; record_le.c the
 * two Let's Encrypt formats; record_csv.c the csv format with a header.
 */
#ifndef CERTRECALL_RECORD_INT_H
#define CERTRECALL_RECORD_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "certrecall/core/record.h"
#include "certrecall/base/xalloc.h"

/* Longest time text we hand to utctime_parse (Go's form is 39 bytes). */
#define TIME_TEXT_MAX 64
/* Arena bytes one name may need: the IPv6 text form, or its own length. */
#define NAME_ROOM 48
#define CSV_COLS_MAX 256
/* What separates names or e-mail addresses within one csv cell. */
#define LIST_SEPS " \t\r\n;,"
/* le2022: account, serial, expiry, then the names (empty ones allowed). */
#define LE2022_FIELDS_MAX (RECORD_NAMES_MAX + 64)

/* A csv field as offsets into the line: content between the quotes. */
struct record_field {
	size_t off, n;
	bool quoted;
	bool escaped; /* holds "" or CR LF: needs record_unescape() */
};

/* A name (or other token) not yet normalised, pointing into the line. */
struct record_tok {
	const char *s;
	size_t n;
};

struct record_parser {
	enum record_format fmt;
	int base;
	bool first; /* no line seen yet: it may start with a BOM */
	/* csv header (ncols == 0 until read) */
	size_t ncols;
	unsigned char *roles;
	char **colnames;
	bool has_extra;
	/* per-line scratch, grown and reused */
	struct record_field *fields;
	size_t fields_cap;
	struct record_tok *toks;
	size_t toks_cap;
	const char **names;
	size_t names_cap;
	const char **emails;
	size_t emails_cap;
	char *arena;
	size_t arena_cap, arena_used;
	char *extra_json;
};

static inline bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static inline void trim(const char **s, size_t *n)
{
	while (*n > 0 && is_blank((*s)[0])) {
		(*s)++;
		(*n)--;
	}
	while (*n > 0 && is_blank((*s)[*n - 1]))
		(*n)--;
}

static inline bool all_digits(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
	}
	return n > 0;
}

/*
 * s[0..n) as a C string: terminated in place when the buffer has a byte
 * after it (bound is the buffer's size from s's base), else copied to the
 * arena.  NULL only if the arena sizing above is wrong.
 */
CR_MUST_CHECK const char *record_cstr(struct record_parser *p, char *base,
				      size_t bound, size_t off, size_t n);

/* One more name token (s, n) for record_finish_names; an error past
 * RECORD_NAMES_MAX. */
CR_MUST_CHECK int record_push_tok(struct record_parser *p, size_t *ntok,
				  const char *s, size_t n, char *err,
				  size_t errlen);

/* Normalises the ntok tokens into the arena, sorted and unique. */
CR_MUST_CHECK int record_finish_names(struct record_parser *p, size_t ntok,
				      struct record *out, char *err,
				      size_t errlen);

/*
 * A time cell; what names it in messages ("issue", "expiry").  utctime's
 * own message quotes the input; only its reason is kept here.
 */
CR_MUST_CHECK int record_parse_time(const char *s, size_t n, time_t *t,
				    const char *what, char *err, size_t errlen);

/*
 * Splits s into p->fields (at most max).  Returns 0 with *nf set,
 * RECORD_NEED_MORE for an unterminated quote, or RECORD_ERROR.  Nothing
 * is written to s.
 */
CR_MUST_CHECK int record_csv_split(struct record_parser *p, const char *s,
				   size_t n, size_t max, size_t *nf, char *err,
				   size_t errlen);

/* Undoes "" and CR LF inside a quoted field, in place. */
void record_unescape(char *base, struct record_field *f);

/* A field's content without surrounding blanks, as offsets. */
void record_field_trim(const char *base, const struct record_field *f,
		       size_t *off, size_t *n);

/*
 * serial <hex> <account> <hash> names: [<n1> <n2> ...] missing CAA
 * checking results for <anything> at <time>.  The hash is ignored; the
 * text between "]" and the last " at " is not checked.
 */
CR_MUST_CHECK int record_parse_le2020(struct record_parser *p, char *s,
				      size_t n, struct record *out, char *err,
				      size_t errlen);

/* <account>,"<hex serial>","<not_after>","<n1>","<n2>",... */
CR_MUST_CHECK int record_parse_le2022(struct record_parser *p, char *s,
				      size_t n, size_t bound,
				      struct record *out, char *err,
				      size_t errlen);

/* Forgets the csv header p has read. */
void record_csv_header_free(struct record_parser *p);

/* The header row of a prepared line (see prep). */
CR_MUST_CHECK int record_csv_parse_header(struct record_parser *p, char *s,
					  size_t n, char *err, size_t errlen);

/* One csv record of a prepared line (see prep); RECORD_NEED_MORE while
 * a quoted field runs on. */
CR_MUST_CHECK int record_parse_csv(struct record_parser *p, char *s, size_t n,
				   size_t bound, struct record *out, char *err,
				   size_t errlen);

#endif
