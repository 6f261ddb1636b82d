/*
 * record.c - one affected certificate from one line of a published list.
 *
 * Pure: no I/O.  Every line is first cut to its content (BOM on the
 * parser's first line, trailing blanks and CR), then split without
 * writing to it, so an incomplete csv record can be handed back with
 * RECORD_NEED_MORE untouched.  Only then are fields unescaped and
 * NUL-terminated in place.  Normalised names and the rare string that
 * cannot be terminated in place go to one scratch arena that is sized for
 * the whole line before anything points into it, so it never moves while
 * a record is being built.
 *
 * This file prepares the line, splits csv (RFC 4180) and reads the
 * serials format; record_le.c and record_csv.c read the other formats.
 */
#include "certrecall/base/errmsg.h"
#include "certrecall/core/record.h"
#include "certrecall/core/record_int.h"

#include "certrecall/core/dnsname.h"
#include "certrecall/base/utctime.h"
#include "certrecall/base/xalloc.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/*
 * Cuts the line to its content: a UTF-8 BOM on the parser's first line,
 * then trailing blanks, CR and LF.  *bound is how many bytes from *s the
 * caller's buffer holds, so a string may be terminated in place up to
 * there.  Returns 0, RECORD_SKIP for a blank or "#" line, or RECORD_ERROR.
 */
static int prep(struct record_parser *p, char **s, size_t *n, size_t *bound,
		char *err, size_t errlen)
{
	size_t i;

	if (p->first && *n >= 3 && memcmp(*s, "\xef\xbb\xbf", 3) == 0) {
		*s += 3;
		*n -= 3;
	}
	*bound = *n;
	while (*n > 0 && (is_blank((*s)[*n - 1]) || (*s)[*n - 1] == '\r' ||
			  (*s)[*n - 1] == '\n'))
		(*n)--;
	if (*n > RECORD_LINE_MAX)
		return errmsg_near(err, errlen, *s, *n,
				   "line longer than %d bytes",
				   RECORD_LINE_MAX);
	if (memchr(*s, '\0', *n) != NULL)
		return errmsg_near(err, errlen, *s, *n, "NUL byte in line");
	for (i = 0; i < *n && is_blank((*s)[i]); i++)
		;
	if (i == *n || (*s)[i] == '#')
		return RECORD_SKIP;
	return 0;
}

/*
 * Sizes the arena for everything one line of n bytes can put there: the
 * normalised names (each at most its own length or NAME_ROOM, plus NUL)
 * and strings copied because they end where the buffer ends.
 */
static void arena_reset(struct record_parser *p, size_t n)
{
	size_t ntok = n / 2 + 1;

	if (ntok > RECORD_NAMES_MAX)
		ntok = RECORD_NAMES_MAX;
	xgrow(&p->arena, &p->arena_cap, 2 * n + 64 + NAME_ROOM * ntok, 1);
	p->arena_used = 0;
}

/*
 * s[0..n) as a C string: terminated in place when the buffer has a byte
 * after it (bound is the buffer's size from s's base), else copied to the
 * arena.  NULL only if the arena sizing above is wrong.
 */
const char *record_cstr(struct record_parser *p, char *base, size_t bound,
			size_t off, size_t n)
{
	char *d;

	if (off + n < bound) {
		base[off + n] = '\0';
		return base + off;
	}
	if (p->arena_cap - p->arena_used < n + 1)
		return NULL;
	d = p->arena + p->arena_used;
	memcpy(d, base + off, n);
	d[n] = '\0';
	p->arena_used += n + 1;
	return d;
}

int record_push_tok(struct record_parser *p, size_t *ntok, const char *s,
		    size_t n, char *err, size_t errlen)
{
	if (*ntok == RECORD_NAMES_MAX)
		return errmsg_near(err, errlen, s, n, "more than %d names",
				   RECORD_NAMES_MAX);
	xgrow(&p->toks, &p->toks_cap, *ntok + 1, sizeof(*p->toks));
	p->toks[*ntok].s = s;
	p->toks[*ntok].n = n;
	(*ntok)++;
	return 0;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Normalises the ntok tokens into the arena, sorted and unique. */
int record_finish_names(struct record_parser *p, size_t ntok,
			struct record *out, char *err, size_t errlen)
{
	size_t i, k;

	if (ntok == 0)
		return 0;
	xgrow(&p->names, &p->names_cap, ntok, sizeof(*p->names));
	for (i = 0; i < ntok; i++) {
		char *d = p->arena + p->arena_used;
		size_t room = p->arena_cap - p->arena_used;
		int m;

		if (room < NAME_ROOM + p->toks[i].n)
			return errmsg_near(
				err, errlen, p->toks[i].s, p->toks[i].n,
				"internal error: scratch space exhausted");
		m = dnsname_normalize(p->toks[i].s, p->toks[i].n, d, room, err,
				      errlen);
		if (m < 0)
			return RECORD_ERROR;
		p->names[i] = d;
		p->arena_used += (size_t)m + 1;
	}
	if (ntok == 2) {
		int c = strcmp(p->names[0], p->names[1]);

		if (c > 0) {
			const char *t = p->names[0];

			p->names[0] = p->names[1];
			p->names[1] = t;
		}
	} else if (ntok > 2) {
		qsort(p->names, ntok, sizeof(*p->names), cmp_name);
	}
	for (i = 1, k = 1; i < ntok; i++) {
		if (strcmp(p->names[i], p->names[k - 1]) != 0)
			p->names[k++] = p->names[i];
	}
	out->names = p->names;
	out->nnames = k;
	return 0;
}

/*
 * A time cell; what names it in messages ("issue", "expiry").  utctime's
 * own message quotes the input; only its reason is kept here.
 */
int record_parse_time(const char *s, size_t n, time_t *t, const char *what,
		      char *err, size_t errlen)
{
	char buf[TIME_TEXT_MAX], why[192];
	const char *r;

	trim(&s, &n);
	if (n == 0)
		return errmsg_near(err, errlen, s, n, "missing %s time", what);
	if (n >= sizeof(buf))
		return errmsg_near(err, errlen, s, n, "bad %s time: too long",
				   what);
	memcpy(buf, s, n);
	buf[n] = '\0';
	why[0] = '\0';
	if (utctime_parse(buf, t, NULL, why, sizeof(why)) == 0)
		return 0;
	r = strstr(why, "\": ");
	r = r != NULL ? r + 3 : why;
	return errmsg_near(err, errlen, s, n, "bad %s time: %s", what, r);
}

/* ---- RFC 4180 splitting ------------------------------------------------ */

struct csv_cursor {
	const char *s;
	size_t len, i;
	bool end;
};

enum { CSV_FIELD = 1, CSV_END = 0, CSV_OPEN = 2, CSV_JUNK = -1 };

/*
 * Next field, without writing to the line.  Blanks around a field (and
 * around a quoted one's quotes) are not part of it.  A quote inside an
 * unquoted field is taken literally.  Returns CSV_FIELD, CSV_END,
 * CSV_OPEN (a quoted field runs past the end) or CSV_JUNK (text after a
 * closing quote; c->i is where).
 */
static int csv_next(struct csv_cursor *c, struct record_field *f)
{
	const char *s = c->s;
	size_t i = c->i, len = c->len, e;

	if (c->end)
		return CSV_END;
	while (i < len && is_blank(s[i]))
		i++;
	f->quoted = false;
	f->escaped = false;
	if (i < len && s[i] == '"') {
		f->quoted = true;
		f->off = ++i;
		for (;;) {
			if (i >= len)
				return CSV_OPEN;
			if (s[i] == '"') {
				if (i + 1 < len && s[i + 1] == '"') {
					f->escaped = true;
					i += 2;
					continue;
				}
				break;
			}
			if (s[i] == '\r')
				f->escaped = true;
			i++;
		}
		f->n = i - f->off;
		i++;
		while (i < len && is_blank(s[i]))
			i++;
		if (i < len && s[i] != ',') {
			c->i = i;
			return CSV_JUNK;
		}
	} else {
		f->off = i;
		while (i < len && s[i] != ',')
			i++;
		for (e = i; e > f->off && is_blank(s[e - 1]); e--)
			;
		f->n = e - f->off;
	}
	if (i < len) {
		c->i = i + 1;
	} else {
		c->i = len;
		c->end = true;
	}
	return CSV_FIELD;
}

/*
 * Splits s into p->fields (at most max).  Returns 0 with *nf set,
 * RECORD_NEED_MORE for an unterminated quote, or RECORD_ERROR.  Nothing
 * is written to s.
 */
int record_csv_split(struct record_parser *p, const char *s, size_t n,
		     size_t max, size_t *nf, char *err, size_t errlen)
{
	struct csv_cursor c = { s, n, 0, false };
	struct record_field f;
	int rc;

	*nf = 0;
	while ((rc = csv_next(&c, &f)) == CSV_FIELD) {
		if (*nf == max)
			return errmsg_near(err, errlen, s + f.off, n - f.off,
					   "more than %zu fields", max);
		xgrow(&p->fields, &p->fields_cap, *nf + 1, sizeof(*p->fields));
		p->fields[(*nf)++] = f;
	}
	if (rc == CSV_OPEN)
		return RECORD_NEED_MORE;
	if (rc == CSV_JUNK)
		return errmsg_near(err, errlen, s + c.i, n - c.i,
				   "text after a closing quote");
	return 0;
}

/* Undoes "" and CR LF inside a quoted field, in place. */
void record_unescape(char *base, struct record_field *f)
{
	char *s = base + f->off;
	size_t r, w = 0;

	if (!f->escaped)
		return;
	for (r = 0; r < f->n; r++) {
		if (s[r] == '"')
			r++; /* the scanner saw it doubled */
		else if (s[r] == '\r' && r + 1 < f->n && s[r + 1] == '\n')
			continue;
		s[w++] = s[r];
	}
	f->n = w;
	f->escaped = false;
}

/* A field's content without surrounding blanks, as offsets. */
void record_field_trim(const char *base, const struct record_field *f,
		       size_t *off, size_t *n)
{
	const char *s = base + f->off;
	size_t len = f->n;

	trim(&s, &len);
	*off = (size_t)(s - base);
	*n = len;
}

/* "serial=HEX" is what "openssl x509 -serial -noout" prints. */
static bool openssl_serial(const char **s, size_t *n)
{
	if (*n < 7 || strncasecmp(*s, "serial=", 7) != 0)
		return false;
	*s += 7;
	*n -= 7;
	return true;
}

static int parse_serials(struct record_parser *p, char *s, size_t n,
			 struct record *out, char *err, size_t errlen)
{
	const char *t = s;
	size_t tn = n;

	trim(&t, &tn);
	if (openssl_serial(&t, &tn)) {
		s = (char *)t;
		n = tn;
	}
	if (serial_parse(&out->serial, s, n, p->base, err, errlen) != 0)
		return RECORD_ERROR;
	return RECORD_OK;
}

struct record_parser *record_parser_new(enum record_format fmt, int serial_base)
{
	struct record_parser *p;

	if (record_format_name(fmt) == NULL ||
	    (serial_base != 16 && serial_base != 10))
		return NULL;
	p = xcalloc(1, sizeof(*p));
	p->fmt = fmt;
	p->base = serial_base;
	p->first = true;
	return p;
}

void record_parser_free(struct record_parser *p)
{
	if (p == NULL)
		return;
	record_csv_header_free(p);
	free(p->extra_json);
	free(p->arena);
	free(p->emails);
	free(p->names);
	free(p->toks);
	free(p->fields);
	free(p);
}

int record_format_from_name(const char *name)
{
	static const enum record_format all[] = { RECORD_LE2020, RECORD_LE2022,
						  RECORD_CSV, RECORD_SERIALS };
	size_t i;

	for (i = 0; name != NULL && i < sizeof(all) / sizeof(all[0]); i++) {
		if (strcmp(name, record_format_name(all[i])) == 0)
			return (int)all[i];
	}
	return -1;
}

const char *record_format_name(enum record_format fmt)
{
	switch (fmt) {
	case RECORD_LE2020:
		return "le2020";
	case RECORD_LE2022:
		return "le2022";
	case RECORD_CSV:
		return "csv";
	case RECORD_SERIALS:
		return "serials";
	}
	return NULL;
}

int record_detect(const char *line, size_t len, char *err, size_t errlen)
{
	struct csv_cursor c;
	struct record_field f, first[3];
	struct serial sr;
	time_t t;
	char tmp[TIME_TEXT_MAX];
	const char *s = line;
	size_t n = len, nf = 0;
	int rc;

	if (n >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0) {
		s += 3;
		n -= 3;
	}
	trim(&s, &n);
	while (n > 0 &&
	       (s[n - 1] == '\r' || s[n - 1] == '\n' || is_blank(s[n - 1])))
		n--;
	if (n == 0)
		return errmsg_near(err, errlen, s, n, "blank line");
	if (s[0] == '#')
		return errmsg_near(err, errlen, s, n, "comment line");
	if (n > 7 && memcmp(s, "serial", 6) == 0 && is_blank(s[6]) &&
	    memmem(s, n, "names:", 6) != NULL)
		return RECORD_LE2020;
	{
		const char *v = s;
		size_t vn = n;

		if (openssl_serial(&v, &vn) &&
		    serial_parse(&sr, v, vn, 16, NULL, 0) == 0)
			return RECORD_SERIALS;
	}
	c = (struct csv_cursor){ s, n, 0, false };
	while ((rc = csv_next(&c, &f)) == CSV_FIELD) {
		if (!f.quoted && f.n == 6 &&
		    strncasecmp(s + f.off, "serial", 6) == 0)
			return RECORD_CSV;
		if (f.quoted && !f.escaped) {
			const char *v = s + f.off;
			size_t vn = f.n;

			trim(&v, &vn);
			if (vn == 6 && strncasecmp(v, "serial", 6) == 0)
				return RECORD_CSV;
		}
		if (nf < 3)
			first[nf] = f;
		nf++;
	}
	if (rc == CSV_END && nf >= 4 &&
	    all_digits(s + first[0].off, first[0].n) &&
	    serial_parse(&sr, s + first[1].off, first[1].n, 16, NULL, 0) == 0 &&
	    first[2].n < sizeof(tmp)) {
		memcpy(tmp, s + first[2].off, first[2].n);
		tmp[first[2].n] = '\0';
		if (utctime_parse(tmp, &t, NULL, NULL, 0) == 0)
			return RECORD_LE2022;
	}
	if (serial_parse(&sr, s, n, 16, NULL, 0) == 0)
		return RECORD_SERIALS;
	return errmsg_near(
		err, errlen, s, n,
		"not a known list format (le2020, le2022, csv with a "
		"\"serial\" column, or one serial a line)");
}

int record_csv_header(struct record_parser *p, char *line, size_t len,
		      char *err, size_t errlen)
{
	char *s = line;
	size_t n = len, bound;
	int rc;

	if (p->fmt != RECORD_CSV)
		return errmsg_near(err, errlen, line, len, "not a csv parser");
	rc = prep(p, &s, &n, &bound, err, errlen);
	p->first = false;
	if (rc == RECORD_SKIP)
		return errmsg_near(err, errlen, s, n,
				   "blank or comment line instead of a header");
	if (rc != 0)
		return -1;
	return record_csv_parse_header(p, s, n, err, errlen) == 0 ? 0 : -1;
}

/* One prepared line, by format. */
static int dispatch(struct record_parser *p, char *s, size_t n, size_t bound,
		    struct record *out, char *err, size_t errlen)
{
	int rc;

	switch (p->fmt) {
	case RECORD_LE2020:
		return record_parse_le2020(p, s, n, out, err, errlen);
	case RECORD_LE2022:
		return record_parse_le2022(p, s, n, bound, out, err, errlen);
	case RECORD_CSV:
		rc = record_parse_csv(p, s, n, bound, out, err, errlen);
		if (rc == RECORD_NEED_MORE && n >= RECORD_LINE_MAX)
			rc = errmsg_near(err, errlen, s, n,
					 "quoted field runs on past %d bytes",
					 RECORD_LINE_MAX);
		return rc;
	case RECORD_SERIALS:
		return parse_serials(p, s, n, out, err, errlen);
	}
	return errmsg_near(err, errlen, s, n, "unknown list format");
}

int record_parse(struct record_parser *p, char *line, size_t len,
		 struct record *out, char *err, size_t errlen)
{
	char *s = line;
	size_t n = len, bound;
	int rc;

	memset(out, 0, sizeof(*out));
	out->issued_at = RECORD_UNSET;
	out->not_after = RECORD_UNSET;
	out->caa_checked_at = RECORD_UNSET;
	free(p->extra_json);
	p->extra_json = NULL;
	rc = prep(p, &s, &n, &bound, err, errlen);
	if (rc == 0) {
		arena_reset(p, n);
		rc = dispatch(p, s, n, bound, out, err, errlen);
	}
	/* A record still being joined keeps its BOM for the next call. */
	if (rc != RECORD_NEED_MORE)
		p->first = false;
	if (rc != RECORD_OK) {
		memset(out, 0, sizeof(*out));
		out->issued_at = RECORD_UNSET;
		out->not_after = RECORD_UNSET;
		out->caa_checked_at = RECORD_UNSET;
	}
	return rc;
}
