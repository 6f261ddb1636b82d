/*
 * record_csv.c - the csv list format (pure): a header line names the
 * columns (serial required; account, emails, names, times, issuer,
 * subject, sha256 known; any other column kept as extra JSON), then one
 * certificate a record, RFC 4180 quoting, records may span lines.
 */
#include "certrecall/base/errmsg.h"
#include "certrecall/base/utctime.h"
#include "certrecall/base/xalloc.h"
#include "certrecall/core/dnsname.h"
#include "certrecall/core/record.h"
#include "certrecall/core/record_int.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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

void record_csv_header_free(struct record_parser *p)
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
int record_csv_parse_header(struct record_parser *p, char *s, size_t n,
			    char *err, size_t errlen)
{
	unsigned char *roles = NULL;
	char **names = NULL;
	bool seen[COL_NROLES] = { false };
	size_t nf = 0, i, k, off, len;
	int rc;

	record_csv_header_free(p);
	rc = record_csv_split(p, s, n, CSV_COLS_MAX, &nf, err, errlen);
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

		record_unescape(s, &p->fields[i]);
		record_field_trim(s, &p->fields[i], &off, &len);
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
		e = record_cstr(p, s, bound, start, i - start);
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
		const struct record_field *f = &p->fields[i];
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

int record_parse_csv(struct record_parser *p, char *s, size_t n, size_t bound,
		     struct record *out, char *err, size_t errlen)
{
	size_t nf, i, ntok = 0, off, len;
	int rc;

	if (p->ncols == 0)
		return record_csv_parse_header(p, s, n, err, errlen) == 0
			       ? RECORD_SKIP
			       : RECORD_ERROR;
	rc = record_csv_split(p, s, n, p->ncols, &nf, err, errlen);
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
		record_unescape(s, &p->fields[i]);
	for (i = 0; i < nf && rc == 0; i++) {
		const char *v;

		record_field_trim(s, &p->fields[i], &off, &len);
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
					rc = record_push_tok(p, &ntok, v, t,
							     err, errlen);
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
			rc = record_parse_time(v, len, &out->issued_at, "issue",
					       err, errlen);
			break;
		case COL_NOT_AFTER:
			rc = record_parse_time(v, len, &out->not_after,
					       "expiry", err, errlen);
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
	if (record_finish_names(p, ntok, out, err, errlen) != 0)
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
		record_field_trim(s, &p->fields[i], &off, &len);
		if (len == 0)
			continue;
		*dst = record_cstr(p, s, bound, off, len);
		if (*dst == NULL)
			return errmsg_near(
				err, errlen, s + off, len,
				"internal error: scratch space exhausted");
	}
	return RECORD_OK;
}
