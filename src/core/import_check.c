/*
 * import_check.c - the checks the importer makes on a line before it is
 * copied: a certificate record's times, and the fields of an accounts
 * file (account,email[,email...] with optional lang and tz columns).
 */
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "certrecall/base/errmsg.h"
#include "certrecall/base/log.h"
#include "certrecall/core/dnsname.h"
#include "certrecall/core/import_check.h"
#include "certrecall/core/record.h"
#include "certrecall/core/zone.h"

/* Checks the database cannot make: a line-numbered error beats a
 * constraint violation without one.  Equal times are a validity of one
 * second (RFC 5280 4.1.2.5 includes both ends). */
const char *import_check_record(const struct record *r)
{
	if (r->issued_at != RECORD_UNSET && r->not_after != RECORD_UNSET &&
	    r->not_after < r->issued_at)
		return "not_after is earlier than issued_at";
	return NULL;
}

/* Splits one CSV line into fields (RFC 4180 quotes; no line breaks in
 * fields).  Returns the field count, or -1 if a quote is unterminated. */
int import_check_split_csv(char *s, char **fields, int max)
{
	int n = 0;

	while (n < max) {
		char *w = s;

		fields[n++] = s;
		if (*s == '"') {
			char *r = s + 1;

			for (;;) {
				if (*r == '\0')
					return -1;
				if (*r == '"' && r[1] == '"') {
					*w++ = '"';
					r += 2;
				} else if (*r == '"') {
					r++;
					break;
				} else {
					*w++ = *r++;
				}
			}
			s = r;
		} else {
			while (*s && *s != ',')
				*w++ = *s++;
		}
		if (*s != ',' && *s != '\0')
			return -1;
		char *next = *s == ',' ? s + 1 : NULL;

		*w = '\0';
		if (next == NULL)
			return n;
		s = next;
	}
	return n;
}

char *import_check_trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

/*
 * An address certrecall will put in a To: header: one "@", a non-empty
 * local part of printable ASCII without specials that could break a
 * header, and a domain that is a valid host name (lowercased in place).
 */
int import_check_email(char *addr, char *err, size_t errlen)
{
	char *at = strrchr(addr, '@');
	char dom[DNSNAME_MAX + 1];
	char why[160];
	int n;

	if (at == NULL || at == addr || strchr(addr, '@') != at) {
		return errmsg_set(err, errlen,
				  "\"%.60s\" is not an e-mail address", addr);
	}
	for (const char *p = addr; p < at; p++) {
		if (*p <= ' ' || *p >= 127 || strchr("<>()[]\\,;:\"", *p)) {
			return errmsg_set(err, errlen,
					  "\"%.60s\" has a character not "
					  "allowed in an address",
					  addr);
		}
	}
	n = dnsname_normalize(at + 1, strlen(at + 1), dom, sizeof(dom), why,
			      sizeof(why));
	if (n < 0 || dnsname_is_wildcard(dom) || strchr(dom, '.') == NULL) {
		return errmsg_set(err, errlen, "\"%.60s\": domain is not valid",
				  addr);
	}
	memcpy(at + 1, dom, (size_t)n + 1);
	return 0;
}

/*
 * The column names of an accounts file ("account,email", "account_id,
 * email", "id,e-mail"...), told from data by content: an account
 * identifier carries a digit (ACME account numbers, "acct-7"), a header's
 * first field none, and its second field is a word, not an address.
 */
bool import_check_is_header(const char *account, const char *second)
{
	return strpbrk(account, "0123456789") == NULL && *second != '\0' &&
	       strchr(second, '@') == NULL;
}

/* The lang and tz columns a header names. */
void import_check_locale_find(struct import_check_locale *lc, char **fields,
			      int n)
{
	for (int i = 1; i < n; i++) {
		const char *f = import_check_trim(fields[i]);

		if (strcasecmp(f, "lang") == 0 ||
		    strcasecmp(f, "language") == 0)
			lc->lang = i;
		else if (strcasecmp(f, "tz") == 0 ||
			 strcasecmp(f, "timezone") == 0)
			lc->tz = i;
	}
}

const char *import_check_lang(const char *path, unsigned long long line,
			      char *v)
{
	size_t n = strcspn(v, "-_");

	if (*v == '\0')
		return NULL;
	v[n] = '\0';
	for (size_t i = 0; i < n; i++)
		if (v[i] >= 'A' && v[i] <= 'Z')
			v[i] = (char)(v[i] - 'A' + 'a');
	if (n < 2 || n > 3 || strspn(v, "abcdefghijklmnopqrstuvwxyz") != n) {
		log_warn("%s:%llu: \"%.20s\" is not a language code; the "
			 "notices are in English",
			 path, line, v);
		return NULL;
	}
	return v;
}

const char *import_check_tz(const char *path, unsigned long long line,
			    const char *v)
{
	if (*v == '\0')
		return NULL;
	if (!zone_known(v)) {
		log_warn("%s:%llu: unknown time zone \"%.40s\"; the notices "
			 "state the deadline in UTC only",
			 path, line, v);
		return NULL;
	}
	return v;
}
