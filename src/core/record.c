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
 */
#include "certrecall/base/errmsg.h"
#include "certrecall/core/record.h"

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

/* Longest piece of input quoted in an error message. */
/* Longest time text we hand to utctime_parse (Go's form is 39 bytes). */
#define TIME_TEXT_MAX 64
/* Arena bytes one name may need: the IPv6 text form, or its own length. */
#define NAME_ROOM 48
#define CSV_COLS_MAX 256
/* What separates names or e-mail addresses within one csv cell. */
#define LIST_SEPS " \t\r\n;,"
/* le2022: account, serial, expiry, then the names (empty ones allowed). */
#define LE2022_FIELDS_MAX (RECORD_NAMES_MAX + 64)

/* Column roles of a csv header. */
enum col {
	COL_EXTRA,
	COL_SERIAL,
	COL_ACCOUNT,
	COL_EMAIL,
	COL_NAMES,
	COL_ISSUED,
	COL_NOT_AFTER,
	COL_ISSUER,
	COL_SUBJECT,
	COL_SHA256,
	COL_NROLES,
};

static const struct {
	const char *name;
	enum col role;
} known_cols[] = {
	{ "serial", COL_SERIAL },     { "account", COL_ACCOUNT },
	{ "email", COL_EMAIL },	      { "emails", COL_EMAIL },
	{ "names", COL_NAMES },	      { "dns_names", COL_NAMES },
	{ "san", COL_NAMES },	      { "issued_at", COL_ISSUED },
	{ "not_before", COL_ISSUED }, { "not_after", COL_NOT_AFTER },
	{ "issuer", COL_ISSUER },     { "subject", COL_SUBJECT },
	{ "sha256", COL_SHA256 },
};

/* A csv field as offsets into the line: content between the quotes. */
struct field {
	size_t off, n;
	bool quoted;
	bool escaped; /* holds "" or CR LF: needs unescape() */
};

/* A name (or other token) not yet normalised, pointing into the line. */
struct tok {
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
	struct field *fields;
	size_t fields_cap;
	struct tok *toks;
	size_t toks_cap;
	const char **names;
	size_t names_cap;
	const char **emails;
	size_t emails_cap;
	char *arena;
	size_t arena_cap, arena_used;
	char *extra_json;
};

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static void trim(const char **s, size_t *n)
{
	while (*n > 0 && is_blank((*s)[0])) {
		(*s)++;
		(*n)--;
	}
	while (*n > 0 && is_blank((*s)[*n - 1]))
		(*n)--;
}

static bool all_digits(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
	}
	return n > 0;
}

/* ---- the line and the scratch arena ---------------------------------- */

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
static const char *cstr(struct record_parser *p, char *base, size_t bound,
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

static int push_tok(struct record_parser *p, size_t *ntok, const char *s,
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
static int finish_names(struct record_parser *p, size_t ntok,
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
static int parse_time(const char *s, size_t n, time_t *t, const char *what,
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
static int csv_next(struct csv_cursor *c, struct field *f)
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
static int csv_split(struct record_parser *p, const char *s, size_t n,
		     size_t max, size_t *nf, char *err, size_t errlen)
{
	struct csv_cursor c = { s, n, 0, false };
	struct field f;
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
static void unescape(char *base, struct field *f)
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
static void field_trim(const char *base, const struct field *f, size_t *off,
		       size_t *n)
{
	const char *s = base + f->off;
	size_t len = f->n;

	trim(&s, &len);
	*off = (size_t)(s - base);
	*n = len;
}

/* ---- le2020 ------------------------------------------------------------- */

/*
 * serial <hex> <account> <hash> names: [<n1> <n2> ...] missing CAA
 * checking results for <anything> at <time>.  The hash is ignored; the
 * text between "]" and the last " at " is not checked.
 */
static int parse_le2020(struct record_parser *p, char *s, size_t n,
			struct record *out, char *err, size_t errlen)
{
	struct tok f[3];
	size_t i, nf = 0, ntok = 0, start, lb, na, j = 0;
	bool at = false;

	for (i = 0; i < n && is_blank(s[i]); i++)
		;
	if (n - i < 7 || memcmp(s + i, "serial", 6) != 0 || !is_blank(s[i + 6]))
		return errmsg_near(err, errlen, s + i, n - i,
				   "line does not start with \"serial \"");
	i += 6;
	for (;;) {
		while (i < n && is_blank(s[i]))
			i++;
		if (i == n)
			return errmsg_near(err, errlen, s, n,
					   "missing \"names:\"");
		if (n - i >= 6 && memcmp(s + i, "names:", 6) == 0)
			break;
		start = i;
		while (i < n && !is_blank(s[i]))
			i++;
		if (nf == 3)
			return errmsg_near(err, errlen, s + start, n - start,
					   "unexpected text before \"names:\"");
		f[nf].s = s + start;
		f[nf].n = i - start;
		nf++;
	}
	if (nf == 0)
		return errmsg_near(err, errlen, s, n, "empty serial");
	if (nf < 3)
		return errmsg_near(
			err, errlen, s, n,
			"missing field before \"names:\" (want serial, "
			"account id and names hash)");
	na = i;
	i += 6;
	while (i < n && is_blank(s[i]))
		i++;
	if (i == n || s[i] != '[')
		return errmsg_near(err, errlen, s + na, n - na,
				   "missing \"[\" after \"names:\"");
	lb = i++;
	for (;;) {
		while (i < n && is_blank(s[i]))
			i++;
		if (i == n)
			return errmsg_near(err, errlen, s + lb, n - lb,
					   "unterminated \"[\"");
		if (s[i] == ']') {
			i++;
			break;
		}
		start = i;
		while (i < n && !is_blank(s[i]) && s[i] != ']')
			i++;
		if (push_tok(p, &ntok, s + start, i - start, err, errlen) != 0)
			return RECORD_ERROR;
	}
	if (ntok == 0)
		return errmsg_near(err, errlen, s + lb, n - lb,
				   "empty names list");
	/* The time follows the last " at "; a time never contains one. */
	if (n - i >= 4) {
		for (j = n - 4;; j--) {
			if (memcmp(s + j, " at ", 4) == 0) {
				at = true;
				break;
			}
			if (j == i)
				break;
		}
	}
	if (!at)
		return errmsg_near(err, errlen, s + i, n - i,
				   "missing \"at <time>\" after the names");
	if (serial_parse(&out->serial, f[0].s, f[0].n, 16, err, errlen) != 0)
		return RECORD_ERROR;
	if (!all_digits(f[1].s, f[1].n))
		return errmsg_near(err, errlen, f[1].s, f[1].n,
				   "account id is not a number");
	/* The time is when CAA was last checked, not when the certificate
	 * was issued: it is no notBefore. */
	if (parse_time(s + j + 4, n - j - 4, &out->caa_checked_at, "CAA check",
		       err, errlen) != 0)
		return RECORD_ERROR;
	if (finish_names(p, ntok, out, err, errlen) != 0)
		return RECORD_ERROR;
	/* The hash follows the account, so the blank after it is ours. */
	s[(f[1].s - s) + f[1].n] = '\0';
	out->account = f[1].s;
	return RECORD_OK;
}

/* ---- le2022 ------------------------------------------------------------- */

/* <account>,"<hex serial>","<not_after>","<n1>","<n2>",... */
static int parse_le2022(struct record_parser *p, char *s, size_t n,
			size_t bound, struct record *out, char *err,
			size_t errlen)
{
	size_t nf, i, ntok = 0, off, len;
	struct field *f;
	int rc;

	rc = csv_split(p, s, n, LE2022_FIELDS_MAX, &nf, err, errlen);
	if (rc == RECORD_NEED_MORE)
		return errmsg_near(err, errlen, s, n, "unterminated quote");
	if (rc != 0)
		return rc;
	f = p->fields;
	for (i = 0; i < nf; i++)
		unescape(s, &f[i]);
	if (nf < 4)
		return errmsg_near(
			err, errlen, s, n,
			"too few fields (want account id, serial, expiry "
			"and names)");
	field_trim(s, &f[0], &off, &len);
	if (len == 0)
		return errmsg_near(err, errlen, s, n, "missing account id");
	if (!all_digits(s + off, len))
		return errmsg_near(err, errlen, s + off, len,
				   "account id is not a number");
	field_trim(s, &f[1], &off, &len);
	if (len == 0)
		return errmsg_near(err, errlen, s, n, "empty serial");
	if (serial_parse(&out->serial, s + off, len, 16, err, errlen) != 0)
		return RECORD_ERROR;
	if (parse_time(s + f[2].off, f[2].n, &out->not_after, "expiry", err,
		       errlen) != 0)
		return RECORD_ERROR;
	for (i = 3; i < nf; i++) {
		field_trim(s, &f[i], &off, &len);
		if (len == 0)
			continue;
		if (push_tok(p, &ntok, s + off, len, err, errlen) != 0)
			return RECORD_ERROR;
	}
	if (ntok == 0)
		return errmsg_near(err, errlen, s, n, "no names");
	if (finish_names(p, ntok, out, err, errlen) != 0)
		return RECORD_ERROR;
	field_trim(s, &f[0], &off, &len);
	out->account = cstr(p, s, bound, off, len);
	if (out->account == NULL)
		return errmsg_near(err, errlen, s, n,
				   "internal error: scratch space exhausted");
	return RECORD_OK;
}

/* ---- csv ------------------------------------------------------------------ */

static void header_free(struct record_parser *p)
{
	size_t i;

	for (i = 0; i < p->ncols; i++)
		free(p->colnames[i]);
	free(p->colnames);
	free(p->roles);
	p->colnames = NULL;
	p->roles = NULL;
	p->ncols = 0;
	p->has_extra = false;
}

static enum col col_role(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < sizeof(known_cols) / sizeof(known_cols[0]); i++) {
		if (strlen(known_cols[i].name) == n &&
		    strncasecmp(known_cols[i].name, s, n) == 0)
			return known_cols[i].role;
	}
	return COL_EXTRA;
}

/* The header row of a prepared line (see prep). */
static int csv_header(struct record_parser *p, char *s, size_t n, char *err,
		      size_t errlen)
{
	unsigned char *roles = NULL;
	char **names = NULL;
	bool seen[COL_NROLES] = { false };
	size_t nf = 0, i, k, off, len;
	int rc;

	header_free(p);
	rc = csv_split(p, s, n, CSV_COLS_MAX, &nf, err, errlen);
	if (rc == RECORD_NEED_MORE)
		rc = errmsg_near(err, errlen, s, n,
				 "unterminated quote in header");
	if (rc != 0)
		goto out;
	roles = xcalloc(nf, sizeof(*roles));
	names = xcalloc(nf, sizeof(*names));
	for (i = 0; i < nf; i++) {
		json_t *probe;
		enum col role;

		unescape(s, &p->fields[i]);
		field_trim(s, &p->fields[i], &off, &len);
		if (len == 0) {
			rc = errmsg_near(err, errlen, s, n,
					 "empty column name");
			goto out;
		}
		role = col_role(s + off, len);
		if (role != COL_EXTRA && seen[role]) {
			rc = errmsg_near(err, errlen, s + off, len,
					 "column repeats an earlier one");
			goto out;
		}
		seen[role] = true;
		for (k = 0; role == COL_EXTRA && k < i; k++) {
			if (roles[k] == COL_EXTRA && strlen(names[k]) == len &&
			    strncasecmp(names[k], s + off, len) == 0) {
				rc = errmsg_near(
					err, errlen, s + off, len,
					"column repeats an earlier one");
				goto out;
			}
		}
		/* extra_json keys must be UTF-8 (and NUL-free, see prep). */
		probe = json_stringn(s + off, len);
		if (probe == NULL) {
			rc = errmsg_near(err, errlen, s + off, len,
					 "column name is not UTF-8");
			goto out;
		}
		json_decref(probe);
		roles[i] = (unsigned char)role;
		names[i] = xstrndup(s + off, len);
		if (role == COL_EXTRA)
			p->has_extra = true;
	}
	if (!seen[COL_SERIAL]) {
		rc = errmsg_near(err, errlen, s, n,
				 "header has no \"serial\" column");
		goto out;
	}
	p->ncols = nf;
	p->roles = roles;
	p->colnames = names;
	roles = NULL;
	names = NULL;
	rc = 0;
out:
	if (names != NULL) {
		for (i = 0; i < nf; i++)
			free(names[i]);
	}
	free(names);
	free(roles);
	if (rc != 0)
		p->has_extra = false;
	return rc;
}

/* RFC 5321-ish sanity only: one '@' between non-empty parts, no blanks. */
static bool email_ok(const char *s, size_t n)
{
	size_t i, at = 0, nat = 0;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c <= 0x20 || c == 0x7f || c == '<' || c == '>' || c == '"')
			return false;
		if (c == '@') {
			nat++;
			at = i;
		}
	}
	return nat == 1 && at > 0 && at + 1 < n;
}

static bool is_sep(char c, const char *seps)
{
	return c != '\0' && strchr(seps, c) != NULL;
}

static int csv_emails(struct record_parser *p, char *s, size_t bound,
		      size_t off, size_t n, struct record *out, char *err,
		      size_t errlen)
{
	size_t i = off, end = off + n, start, k, ne = 0;

	while (i < end) {
		const char *e;
		bool dup = false;

		while (i < end && is_sep(s[i], LIST_SEPS))
			i++;
		if (i == end)
			break;
		start = i;
		while (i < end && !is_sep(s[i], LIST_SEPS))
			i++;
		if (!email_ok(s + start, i - start))
			return errmsg_near(err, errlen, s + start, i - start,
					   "invalid email address");
		/* Compare before terminating: the text stays as given. */
		for (k = 0; k < ne && !dup; k++)
			dup = strlen(p->emails[k]) == i - start &&
			      memcmp(p->emails[k], s + start, i - start) == 0;
		if (dup)
			continue;
		if (ne == RECORD_EMAILS_MAX)
			return errmsg_near(err, errlen, s + start, i - start,
					   "more than %d email addresses",
					   RECORD_EMAILS_MAX);
		/* s[i] is a separator or the byte after the cell. */
		e = cstr(p, s, bound, start, i - start);
		if (e == NULL)
			return errmsg_near(
				err, errlen, s + start, i - start,
				"internal error: scratch space exhausted");
		xgrow(&p->emails, &p->emails_cap, ne + 1, sizeof(*p->emails));
		p->emails[ne++] = e;
		i++;
	}
	if (ne > 0) {
		out->emails = p->emails;
		out->nemails = ne;
	}
	return 0;
}

static int csv_sha256(const char *s, size_t n, struct record *out, char *err,
		      size_t errlen)
{
	size_t i, nd = 0;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		int v;

		if (c == ':')
			continue;
		if (c >= '0' && c <= '9')
			v = c - '0';
		else if (c >= 'a' && c <= 'f')
			v = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v = c - 'A' + 10;
		else
			v = -1;
		if (v < 0 || nd == 64)
			break;
		if (nd % 2 == 0)
			out->sha256[nd / 2] = (unsigned char)(v << 4);
		else
			out->sha256[nd / 2] |= (unsigned char)v;
		nd++;
	}
	if (i != n || nd != 64)
		return errmsg_near(err, errlen, s, n,
				   "sha256 is not 64 hex digits");
	out->has_sha256 = true;
	return 0;
}

static int csv_extra(struct record_parser *p, const char *s, struct record *out,
		     char *err, size_t errlen)
{
	json_t *obj = json_object();
	size_t i;
	int rc = 0;

	for (i = 0; i < p->ncols; i++) {
		const struct field *f = &p->fields[i];
		json_t *v;

		if (p->roles[i] != COL_EXTRA || f->n == 0)
			continue;
		v = json_stringn(s + f->off, f->n);
		if (v == NULL) {
			rc = errmsg_near(err, errlen, s + f->off, f->n,
					 "column \"%.40s\" is not UTF-8",
					 p->colnames[i]);
			goto out;
		}
		json_object_set_new(obj, p->colnames[i], v);
	}
	if (json_object_size(obj) > 0) {
		p->extra_json = json_dumps(obj, JSON_COMPACT);
		out->extra_json = p->extra_json;
	}
out:
	json_decref(obj);
	return rc;
}

static int parse_csv(struct record_parser *p, char *s, size_t n, size_t bound,
		     struct record *out, char *err, size_t errlen)
{
	size_t nf, i, ntok = 0, off, len;
	int rc;

	if (p->ncols == 0)
		return csv_header(p, s, n, err, errlen) == 0 ? RECORD_SKIP
							     : RECORD_ERROR;
	rc = csv_split(p, s, n, p->ncols, &nf, err, errlen);
	if (rc != 0)
		return rc;
	for (i = 0; i < nf && p->fields[i].n == 0; i++)
		;
	if (i == nf)
		return RECORD_SKIP; /* ",,," rows that spreadsheets write */
	if (nf != p->ncols)
		return errmsg_near(err, errlen, s, n,
				   "row has %zu fields, header %zu", nf,
				   p->ncols);
	for (i = 0; i < nf; i++)
		unescape(s, &p->fields[i]);
	for (i = 0; i < nf && rc == 0; i++) {
		const char *v;

		field_trim(s, &p->fields[i], &off, &len);
		v = s + off;
		if (len == 0 && p->roles[i] != COL_SERIAL)
			continue; /* empty optional cell: absent */
		switch (p->roles[i]) {
		case COL_SERIAL:
			if (len == 0)
				rc = errmsg_near(err, errlen, s, n,
						 "empty serial");
			else if (serial_parse(&out->serial, v, len, p->base,
					      err, errlen) != 0)
				rc = RECORD_ERROR;
			break;
		case COL_NAMES:
			while (len > 0 && rc == 0) {
				size_t t = 0;

				while (t < len && !is_sep(v[t], LIST_SEPS))
					t++;
				if (t > 0)
					rc = push_tok(p, &ntok, v, t, err,
						      errlen);
				if (t < len)
					t++;
				v += t;
				len -= t;
			}
			break;
		case COL_EMAIL:
			rc = csv_emails(p, s, bound, off, len, out, err,
					errlen);
			break;
		case COL_ISSUED:
			rc = parse_time(v, len, &out->issued_at, "issue", err,
					errlen);
			break;
		case COL_NOT_AFTER:
			rc = parse_time(v, len, &out->not_after, "expiry", err,
					errlen);
			break;
		case COL_SHA256:
			rc = csv_sha256(v, len, out, err, errlen);
			break;
		default:
			break;
		}
	}
	if (rc != 0)
		return RECORD_ERROR;
	if (finish_names(p, ntok, out, err, errlen) != 0)
		return RECORD_ERROR;
	if (p->has_extra && csv_extra(p, s, out, err, errlen) != 0)
		return RECORD_ERROR;
	/* Last: terminating in place may overwrite a following separator. */
	for (i = 0; i < nf; i++) {
		const char **dst;

		if (p->roles[i] == COL_ACCOUNT)
			dst = &out->account;
		else if (p->roles[i] == COL_ISSUER)
			dst = &out->issuer;
		else if (p->roles[i] == COL_SUBJECT)
			dst = &out->subject;
		else
			continue;
		field_trim(s, &p->fields[i], &off, &len);
		if (len == 0)
			continue;
		*dst = cstr(p, s, bound, off, len);
		if (*dst == NULL)
			return errmsg_near(
				err, errlen, s + off, len,
				"internal error: scratch space exhausted");
	}
	return RECORD_OK;
}

/* ---- serials -------------------------------------------------------------- */

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

/* ---- public --------------------------------------------------------------- */

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
	header_free(p);
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
	struct field f, first[3];
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
	return csv_header(p, s, n, err, errlen) == 0 ? 0 : -1;
}

/* One prepared line, by format. */
static int dispatch(struct record_parser *p, char *s, size_t n, size_t bound,
		    struct record *out, char *err, size_t errlen)
{
	int rc;

	switch (p->fmt) {
	case RECORD_LE2020:
		return parse_le2020(p, s, n, out, err, errlen);
	case RECORD_LE2022:
		return parse_le2022(p, s, n, bound, out, err, errlen);
	case RECORD_CSV:
		rc = parse_csv(p, s, n, bound, out, err, errlen);
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
