/*
 * record_le.c - the two list formats Let's Encrypt published (pure):
 * le2020 ("serial S names: a,b ...", one certificate a line) and le2022
 * (account, serial, expiry, then the names, comma-separated).
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

/*
 * serial <hex> <account> <hash> names: [<n1> <n2> ...] missing CAA
 * checking results for <anything> at <time>.  The hash is ignored; the
 * text between "]" and the last " at " is not checked.
 */
int record_parse_le2020(struct record_parser *p, char *s, size_t n,
			struct record *out, char *err, size_t errlen)
{
	struct record_tok f[3];
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
		if (record_push_tok(p, &ntok, s + start, i - start, err,
				    errlen) != 0)
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
	if (record_parse_time(s + j + 4, n - j - 4, &out->caa_checked_at,
			      "CAA check", err, errlen) != 0)
		return RECORD_ERROR;
	if (record_finish_names(p, ntok, out, err, errlen) != 0)
		return RECORD_ERROR;
	/* The hash follows the account, so the blank after it is ours. */
	s[(f[1].s - s) + f[1].n] = '\0';
	out->account = f[1].s;
	return RECORD_OK;
}

/* <account>,"<hex serial>","<not_after>","<n1>","<n2>",... */
int record_parse_le2022(struct record_parser *p, char *s, size_t n,
			size_t bound, struct record *out, char *err,
			size_t errlen)
{
	size_t nf, i, ntok = 0, off, len;
	struct record_field *f;
	int rc;

	rc = record_csv_split(p, s, n, LE2022_FIELDS_MAX, &nf, err, errlen);
	if (rc == RECORD_NEED_MORE)
		return errmsg_near(err, errlen, s, n, "unterminated quote");
	if (rc != 0)
		return rc;
	f = p->fields;
	for (i = 0; i < nf; i++)
		record_unescape(s, &f[i]);
	if (nf < 4)
		return errmsg_near(
			err, errlen, s, n,
			"too few fields (want account id, serial, expiry "
			"and names)");
	record_field_trim(s, &f[0], &off, &len);
	if (len == 0)
		return errmsg_near(err, errlen, s, n, "missing account id");
	if (!all_digits(s + off, len))
		return errmsg_near(err, errlen, s + off, len,
				   "account id is not a number");
	record_field_trim(s, &f[1], &off, &len);
	if (len == 0)
		return errmsg_near(err, errlen, s, n, "empty serial");
	if (serial_parse(&out->serial, s + off, len, 16, err, errlen) != 0)
		return RECORD_ERROR;
	if (record_parse_time(s + f[2].off, f[2].n, &out->not_after, "expiry",
			      err, errlen) != 0)
		return RECORD_ERROR;
	for (i = 3; i < nf; i++) {
		record_field_trim(s, &f[i], &off, &len);
		if (len == 0)
			continue;
		if (record_push_tok(p, &ntok, s + off, len, err, errlen) != 0)
			return RECORD_ERROR;
	}
	if (ntok == 0)
		return errmsg_near(err, errlen, s, n, "no names");
	if (record_finish_names(p, ntok, out, err, errlen) != 0)
		return RECORD_ERROR;
	record_field_trim(s, &f[0], &off, &len);
	out->account = record_cstr(p, s, bound, off, len);
	if (out->account == NULL)
		return errmsg_near(err, errlen, s, n,
				   "internal error: scratch space exhausted");
	return RECORD_OK;
}
