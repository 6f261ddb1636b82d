/*
 * import_check.h - what the importer checks on a line before copying it
 * (pure): a certificate record's times, and the fields of an accounts
 * file (account,email[,email...], optional lang and tz columns).
 */
#ifndef CERTRECALL_IMPORT_CHECK_H
#define CERTRECALL_IMPORT_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include "certrecall/base/xalloc.h"

struct record;

/* Checks the database cannot make: a line-numbered error beats a
 * constraint violation without one.  Returns the problem, or NULL. */
CR_MUST_CHECK const char *import_check_record(const struct record *r);

/* Splits one CSV line into fields in place (RFC 4180 quotes; no line
 * breaks in fields).  Returns the field count (at most max), or -1 if a
 * quote is unterminated. */
CR_MUST_CHECK int import_check_split_csv(char *s, char **fields, int max);

/* s without leading blanks and trailing blanks or CR (cut in place). */
CR_MUST_CHECK char *import_check_trim(char *s);

/*
 * An address certrecall will put in a To: header: one "@", a non-empty
 * local part of printable ASCII without specials that could break a
 * header, and a domain that is a valid host name (lowercased in place).
 * Returns 0, or -1 with the reason in err.
 */
CR_MUST_CHECK int import_check_email(char *addr, char *err, size_t errlen);

/*
 * The column names of an accounts file ("account,email", "account_id,
 * email", "id,e-mail"...), told from data by content: an account
 * identifier carries a digit (ACME account numbers, "acct-7"), a header's
 * first field none, and its second field is a word, not an address.
 */
bool import_check_is_header(const char *account, const char *second);

/*
 * The lang and tz columns a header names (issue 21), -1 for none.  A
 * language is an ISO 639 code ("ja"; "ja-JP" is taken as "ja"), a zone
 * an IANA name ICU knows; anything else is a warning and stays empty:
 * English, and the deadline in UTC only, never a wrong local time.
 */
struct import_check_locale {
	int lang, tz;
};

/* Sets lc's columns from a header line's fields (the first is the
 * account). */
void import_check_locale_find(struct import_check_locale *lc, char **fields,
			      int n);

/* The language code of v (lowercased and cut in place), or NULL after a
 * warning naming path:line; NULL for an empty v. */
CR_MUST_CHECK const char *import_check_lang(const char *path,
					    unsigned long long line, char *v);

/* v if ICU knows the zone, else NULL after a warning; NULL for empty. */
CR_MUST_CHECK const char *
import_check_tz(const char *path, unsigned long long line, const char *v);

#endif
