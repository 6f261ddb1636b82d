/*
 * compose.c - RFC 5322 / MIME messages for notices (pure: no I/O, no TZ).
 *
 * Everything is built in one growing buffer.  Header lines go through a
 * small folder that knows the current column, so no header line passes
 * 78 octets unless one unbreakable token (an address, a message id)
 * forces it, and those tokens are length-checked to stay far below 998.
 */
#include "certrecall/base/errmsg.h"
#include "certrecall/core/compose.h"
#include "certrecall/core/compose_int.h"
#include "certrecall/base/utctime.h"
#include "certrecall/base/xalloc.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * The body with every line ending (CRLF, LF or a lone CR) as CRLF and a
 * final CRLF when it is not empty.  Reports whether it can go out as
 * 7bit: printable ASCII and tabs only, no line over 998 octets.
 */
static void normalise_body(const char *s, struct compose_buf *out,
			   bool *sevenbit)
{
	size_t i = 0, col = 0;

	*sevenbit = true;
	while (s[i] != '\0') {
		size_t start = i;

		/* a line's text at once, not a byte at a time */
		for (; s[i] != '\0' && s[i] != '\r' && s[i] != '\n'; i++) {
			unsigned char c = (unsigned char)s[i];

			if ((c < 0x20 && c != '\t') || c >= 0x7f ||
			    ++col > LINE_HARD)
				*sevenbit = false;
		}
		put(out, s + start, i - start);
		if (s[i] == '\0')
			break;
		if (s[i] == '\r' && s[i + 1] == '\n')
			i++;
		puts_(out, "\r\n");
		col = 0;
		i++;
	}
	if (out->len > 0 && out->p[out->len - 1] != '\n')
		puts_(out, "\r\n");
	put(out, "", 0);
}

/*
 * RFC 2045 6.7: quoted-printable.  s is normalised (CRLF line ends).
 * Literal: printable ASCII except '=', and blanks not at a line end;
 * everything else is =XX.  Soft breaks ("=" CRLF) keep every encoded line
 * at 76 characters or fewer, the "=" included.
 */
static void put_qp(struct compose_buf *b, const char *s, size_t len)
{
	size_t i = 0, end, col;

	while (i < len) {
		const char *nl = memmem(s + i, len - i, "\r\n", 2);

		end = nl ? (size_t)(nl - s) : len;
		col = 0;
		for (; i < end; i++) {
			unsigned char c = (unsigned char)s[i];
			bool last = i + 1 == end;
			bool lit = (c >= 33 && c <= 126 && c != '=') ||
				   ((c == ' ' || c == '\t') && !last);
			size_t tok = lit ? 1 : 3;

			if (col + tok > (last ? QP_LINE : QP_LINE - 1)) {
				puts_(b, "=\r\n");
				col = 0;
			}
			if (lit)
				putc_(b, (char)c);
			else
				put_hex(b, c);
			col += tok;
		}
		if (nl != NULL) {
			puts_(b, "\r\n");
			i = end + 2;
		}
	}
}

/* RFC 2045 6.8: base64 in lines of 76, CRLF between lines. */
static void put_b64_lines(struct compose_buf *b, const char *s, size_t len)
{
	size_t i, n, per = B64_LINE / 4 * 3;

	/* all the lines' room at once */
	if (b->len + compose_base64_size(len) + 1 > b->cap)
		xgrow(&b->p, &b->cap, b->len + compose_base64_size(len) + 1, 1);
	for (i = 0; i < len; i += n) {
		n = len - i < per ? len - i : per;
		if (i > 0)
			puts_(b, "\r\n");
		compose_put_b64(b, (const unsigned char *)s + i, n);
	}
}

static uint64_t fnv1a(const char *s, uint64_t h)
{
	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ULL;
	}
	return h;
}

static bool valid_msgid(const char *s)
{
	size_t i, len = strlen(s);
	const char *at = strchr(s, '@');

	if (len == 0 || len > MSGID_MAX || at == NULL || at == s ||
	    at[1] == '\0')
		return false;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c <= 0x20 || c >= 0x7f || c == '<' || c == '>')
			return false;
	}
	return true;
}

/* A MIME parameter value we put in quotes: printable ASCII, no " or \. */
static bool valid_param(const char *s, bool quoted)
{
	size_t i, len = strlen(s);

	if (len == 0 || len > PARAM_MAX)
		return false;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c >= 0x7f ||
		    (quoted && (c == '"' || c == '\\')))
			return false;
	}
	return true;
}

/*
 * The text of the message: the plain part alone, or with in->html a
 * multipart/alternative of the plain part and the HTML one (RFC 2046
 * 5.1.4: the preferred, richer form last).  Its own header fields, a
 * blank line, then the content.
 */
static void put_text_section(struct compose_buf *out,
			     const struct compose_buf *body, bool sevenbit,
			     const char *html, const char *alt_boundary,
			     const char *trailer)
{
	if (html == NULL) {
		puts_(out, "Content-Type: text/plain; charset=UTF-8\r\n"
			   "Content-Transfer-Encoding: ");
		puts_(out, sevenbit ? "7bit" : "quoted-printable");
		puts_(out, "\r\n");
		puts_(out, trailer);
		puts_(out, "\r\n");
		if (sevenbit)
			put(out, body->p, body->len);
		else
			put_qp(out, body->p, body->len);
		return;
	}
	puts_(out, "Content-Type: multipart/alternative;\r\n boundary=\"");
	puts_(out, alt_boundary);
	puts_(out, "\"\r\n");
	puts_(out, trailer);
	puts_(out, "\r\n--");
	puts_(out, alt_boundary);
	puts_(out, "\r\nContent-Type: text/plain; charset=UTF-8\r\n"
		   "Content-Transfer-Encoding: ");
	puts_(out, sevenbit ? "7bit" : "quoted-printable");
	puts_(out, "\r\n\r\n");
	if (sevenbit)
		put(out, body->p, body->len);
	else
		put_qp(out, body->p, body->len);
	puts_(out, "\r\n--");
	puts_(out, alt_boundary);
	puts_(out, "\r\nContent-Type: text/html; charset=UTF-8\r\n"
		   "Content-Transfer-Encoding: quoted-printable\r\n\r\n");
	{
		struct compose_buf h = { NULL, 0, 0 };
		bool ignored;

		normalise_body(html, &h, &ignored);
		put_qp(out, h.p, h.len);
		free(h.p);
	}
	puts_(out, "\r\n--");
	puts_(out, alt_boundary);
	puts_(out, "--");
}

/*
 * What compose_message checks before writing anything: addresses, the
 * message id, the date, UTF-8 of both texts, the attachment's filename,
 * content type (*ct, defaulted) and data.  Returns 0, or -1 with the
 * reason in err.
 */
static int check_input(const struct compose_input *in,
		       struct compose_addr *from, struct compose_addr *to,
		       struct compose_addr *reply, char *date, size_t datelen,
		       const char **ct, char *err, size_t errlen)
{
	const struct compose_attachment *att = in->attachment;
	size_t bad;

	if (compose_parse_addr(in->from, "from", from, err, errlen) != 0 ||
	    compose_parse_addr(in->to, "to", to, err, errlen) != 0 ||
	    (in->reply_to != NULL &&
	     compose_parse_addr(in->reply_to, "reply-to", reply, err, errlen) !=
		     0))
		return -1;
	if (!valid_msgid(in->message_id))
		return errmsg_set(err, errlen,
				  "message id \"%.80s\" is not id@domain "
				  "without spaces or brackets",
				  in->message_id);
	if (compose_date(in->date, date, datelen) != 0)
		return errmsg_set(err, errlen, "date out of range");
	bad = compose_utf8_check(in->body, strlen(in->body));
	if (in->body[bad] != '\0')
		return errmsg_set(err, errlen,
				  "body is not valid UTF-8 (at byte %zu)", bad);
	if (in->html != NULL &&
	    in->html[compose_utf8_check(in->html, strlen(in->html))] != '\0')
		return errmsg_set(err, errlen, "HTML part is not valid UTF-8");
	if (att == NULL)
		return 0;
	*ct = att->content_type ? att->content_type
				: "application/octet-stream";
	if (att->filename == NULL || !valid_param(att->filename, true))
		return errmsg_set(err, errlen,
				  "attachment filename must be "
				  "printable ASCII without quotes");
	if (!valid_param(*ct, false))
		return errmsg_set(err, errlen,
				  "attachment content type must be "
				  "printable ASCII");
	if (att->data == NULL && att->len > 0)
		return errmsg_set(err, errlen, "attachment has no data");
	return 0;
}

/*
 * The two boundaries: the outer one (multipart/mixed) from the message
 * id, and alt (multipart/alternative) made from it so that neither is a
 * prefix of the other (RFC 2046 5.1.1).  Returns 0, or -1 with the reason
 * in err.
 */
static int make_boundaries(const char *message_id, char *boundary, size_t blen,
			   char *alt, size_t altlen, char *err, size_t errlen)
{
	int n = snprintf(
		boundary, blen, "=_certrecall_%016llx%016llx",
		(unsigned long long)fnv1a(message_id, 0xcbf29ce484222325ULL),
		(unsigned long long)fnv1a(message_id, 0x84222325cbf29ce4ULL));

	if (n < 0 || (size_t)n >= blen)
		return errmsg_set(err, errlen, "boundary does not fit");
	n = snprintf(alt, altlen, "=_alt_%s", boundary + 2);
	if (n < 0 || (size_t)n >= altlen)
		return errmsg_set(err, errlen, "boundary does not fit");
	return 0;
}

/*
 * With an attachment: a multipart/mixed of the text section and the
 * attachment in base64.  body is the normalised text; it is reused as
 * scratch space for the filename parameter once the text is written.
 */
static void put_mixed(struct compose_buf *out, struct compose_buf *body,
		      bool sevenbit, const struct compose_input *in,
		      const char *ct, const char *boundary, const char *alt)
{
	const struct compose_attachment *att = in->attachment;
	struct compose_hdr h;

	puts_(out, "Content-Type: multipart/mixed;\r\n boundary=\"");
	puts_(out, boundary);
	puts_(out, "\"\r\nAuto-Submitted: auto-generated\r\n\r\n");
	/* RFC 2046 5.1.1: the CRLF before "--" belongs to it. */
	puts_(out, "--");
	puts_(out, boundary);
	puts_(out, "\r\n");
	put_text_section(out, body, sevenbit, in->html, alt, "");
	puts_(out, "\r\n--");
	puts_(out, boundary);
	puts_(out, "\r\n");
	compose_hdr_begin(&h, out, "Content-Type:");
	compose_hdr_words(&h, ct, strlen(ct));
	compose_hdr_end(&h);
	compose_hdr_begin(&h, out, "Content-Disposition:");
	compose_hdr_word(&h, "attachment;", strlen("attachment;"));
	body->len = 0;
	puts_(body, "filename=\"");
	puts_(body, att->filename);
	putc_(body, '"');
	compose_hdr_word(&h, body->p, body->len);
	compose_hdr_end(&h);
	puts_(out, "Content-Transfer-Encoding: base64\r\n\r\n");
	put_b64_lines(out, att->data, att->len);
	puts_(out, "\r\n--");
	puts_(out, boundary);
	puts_(out, "--\r\n");
}

char *compose_message(const struct compose_input *in, size_t *len, char *err,
		      size_t errlen)
{
	struct compose_buf out = { NULL, 0, 0 }, body = { NULL, 0, 0 };
	struct compose_addr from, to, reply;
	const struct compose_attachment *att;
	char date[64], boundary[64], alt[72], *ret = NULL;
	const char *ct = NULL;
	bool sevenbit;

	memset(&from, 0, sizeof(from));
	memset(&to, 0, sizeof(to));
	memset(&reply, 0, sizeof(reply));
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (len != NULL)
		*len = 0;
	if (in == NULL || in->subject == NULL || in->body == NULL ||
	    in->message_id == NULL) {
		errmsg_set(err, errlen, "missing subject, body or message id");
		goto out;
	}
	att = in->attachment;
	if (check_input(in, &from, &to, &reply, date, sizeof(date), &ct, err,
			errlen) != 0)
		goto out;
	/* Room for the usual case at once: a message grown by doubling
	 * was a good part of composing it. */
	xgrow(&body.p, &body.cap, strlen(in->body) + 256, 1);
	normalise_body(in->body, &body, &sevenbit);
	xgrow(&out.p, &out.cap, body.len + (att ? att->len * 2 : 0) + 2048, 1);
	/*
	 * The boundary starts with "=_".  Quoted-printable writes "=" only
	 * before two hex digits or a line break, base64 has no '_', and a
	 * 7bit text part is used only when it holds no "=_" at all, so the
	 * boundary cannot occur inside any part (RFC 2046 5.1.1).
	 */
	if ((att != NULL || in->html != NULL) &&
	    memmem(body.p, body.len, "=_", 2) != NULL)
		sevenbit = false;
	if (make_boundaries(in->message_id, boundary, sizeof(boundary), alt,
			    sizeof(alt), err, errlen) != 0)
		goto out;

	puts_(&out, "Date: ");
	puts_(&out, date);
	puts_(&out, "\r\n");
	compose_write_addr(&out, "From:", &from);
	compose_write_addr(&out, "To:", &to);
	if (in->reply_to != NULL)
		compose_write_addr(&out, "Reply-To:", &reply);
	if (compose_write_subject(&out, in->subject, err, errlen) != 0)
		goto out;
	puts_(&out, "Message-ID: <");
	puts_(&out, in->message_id);
	puts_(&out, ">\r\nMIME-Version: 1.0\r\n");
	if (att == NULL) {
		put_text_section(&out, &body, sevenbit, in->html, alt,
				 "Auto-Submitted: auto-generated\r\n");
		if (in->html != NULL) /* after the close delimiter */
			puts_(&out, "\r\n");
	} else {
		put_mixed(&out, &body, sevenbit, in, ct, boundary, alt);
	}
	if (len != NULL)
		*len = out.len;
	ret = out.p;
	out.p = NULL;
out:
	compose_addr_free(&reply);
	compose_addr_free(&to);
	compose_addr_free(&from);
	free(body.p);
	free(out.p);
	return ret;
}

static bool id_part(const char *s)
{
	if (s == NULL || *s == '\0')
		return false;
	for (; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '.' || *s == '_' ||
		      *s == '-'))
			return false;
	return true;
}

int compose_message_id(char *buf, size_t len, const char *incident,
		       const char *kind, long long notice_id, const char *from)
{
	const char *spec, *end, *at, *p;
	int n;

	if (len > 0)
		buf[0] = '\0';
	if (!id_part(incident) || !id_part(kind) || from == NULL)
		return -1;
	spec = strchr(from, '<');
	if (spec != NULL) {
		spec++;
		end = strchr(spec, '>');
		if (end == NULL)
			return -1;
	} else {
		spec = from;
		end = from + strlen(from);
		while (end > spec && end[-1] == ' ')
			end--;
	}
	at = memrchr(spec, '@', (size_t)(end - spec));
	if (at == NULL || at + 1 == end)
		return -1;
	for (p = at + 1; p < end; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '.' || *p == '-'))
			return -1;
	n = snprintf(buf, len, "certrecall.%s.%s.%lld@%.*s", incident, kind,
		     notice_id, (int)(end - at - 1), at + 1);
	if (n < 0 || (size_t)n >= len) {
		if (len > 0)
			buf[0] = '\0';
		return -1;
	}
	return 0;
}

int compose_date(time_t t, char *buf, size_t len)
{
	static const char *const days[] = { "Sun", "Mon", "Tue", "Wed",
					    "Thu", "Fri", "Sat" };
	static const char *const months[] = { "Jan", "Feb", "Mar", "Apr",
					      "May", "Jun", "Jul", "Aug",
					      "Sep", "Oct", "Nov", "Dec" };
	struct tm tm;
	int n;

	if (len > 0)
		buf[0] = '\0';
	if (gmtime_r(&t, &tm) == NULL || tm.tm_year < 0 ||
	    tm.tm_year > 9999 - 1900 || tm.tm_wday < 0 || tm.tm_wday > 6 ||
	    tm.tm_mon < 0 || tm.tm_mon > 11)
		return -1;
	n = snprintf(buf, len, "%s, %02d %s %04d %02d:%02d:%02d +0000",
		     days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon],
		     tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
	if (n < 0 || (size_t)n >= len) {
		if (len > 0)
			buf[0] = '\0';
		return -1;
	}
	return 0;
}

void compose_csv_field(char **buf, size_t *len, size_t *cap, const char *s,
		       int last)
{
	size_t i, n = s ? strlen(s) : 0;
	bool quote = s != NULL && strpbrk(s, ",\"\r\n") != NULL;

	/* Worst case: every byte doubled, two quotes, CRLF, NUL. */
	xgrow(buf, cap, *len + 2 * n + 5, 1);
	if (quote)
		(*buf)[(*len)++] = '"';
	if (!quote && n > 0) { /* no quote in it either */
		memcpy(*buf + *len, s, n);
		*len += n;
	}
	for (i = 0; quote && i < n; i++) {
		if (s[i] == '"')
			(*buf)[(*len)++] = '"';
		(*buf)[(*len)++] = s[i];
	}
	if (quote)
		(*buf)[(*len)++] = '"';
	if (last) {
		(*buf)[(*len)++] = '\r';
		(*buf)[(*len)++] = '\n';
	} else {
		(*buf)[(*len)++] = ',';
	}
	(*buf)[*len] = '\0';
}

enum compose_state compose_state_at(const struct compose_times *t)
{
	if (t->revoked)
		return COMPOSE_REVOKED;
	/* Both times are the last on-time second (deadline.h). */
	if (t->now > t->must_by)
		return COMPOSE_MUST_PASSED;
	if (t->now > t->should_by)
		return COMPOSE_SHOULD_PASSED;
	return COMPOSE_BEFORE_SHOULD;
}

const char *compose_state_name(enum compose_state s)
{
	switch (s) {
	case COMPOSE_BEFORE_SHOULD:
		return "before-should";
	case COMPOSE_SHOULD_PASSED:
		return "should-passed";
	case COMPOSE_MUST_PASSED:
		return "must-passed";
	case COMPOSE_REVOKED:
		return "revoked";
	}
	return "?";
}

void compose_duration_words(long long s, char *buf, size_t len)
{
	unsigned long long a =
		s < 0 ? 0ULL - (unsigned long long)s : (unsigned long long)s;
	unsigned long long d = a / 86400, h = a % 86400 / 3600,
			   m = a % 3600 / 60;

	if (d > 0)
		snprintf(buf, len, "%llu day%s %llu hour%s", d,
			 d == 1 ? "" : "s", h, h == 1 ? "" : "s");
	else if (h > 0)
		snprintf(buf, len, "%llu hour%s %llu minute%s", h,
			 h == 1 ? "" : "s", m, m == 1 ? "" : "s");
	else
		snprintf(buf, len, "%llu minute%s", m, m == 1 ? "" : "s");
}

void compose_duration_words_ja(long long s, char *buf, size_t len)
{
	unsigned long long a =
		s < 0 ? 0ULL - (unsigned long long)s : (unsigned long long)s;
	unsigned long long d = a / 86400, h = a % 86400 / 3600,
			   m = a % 3600 / 60;

	if (d > 0)
		snprintf(buf, len, "%llu日%llu時間", d, h);
	else if (h > 0)
		snprintf(buf, len, "%llu時間%llu分", h, m);
	else
		snprintf(buf, len, "%llu分", m);
}

int compose_time_context(json_t *ctx, const struct compose_times *t)
{
	enum compose_state st = compose_state_at(t);
	char deadline[UTCTIME_BUFSZ], deadline_iso[UTCTIME_BUFSZ];
	char should[UTCTIME_BUFSZ], should_iso[UTCTIME_BUFSZ];
	char composed[UTCTIME_BUFSZ], left[96], over[96], remaining[128];
	long long to_must = (long long)t->must_by - (long long)t->now;
	int n;

	if (utctime_format_long(t->must_by, deadline, sizeof(deadline)) < 0 ||
	    utctime_format_rfc3339(t->must_by, deadline_iso,
				   sizeof(deadline_iso)) < 0 ||
	    utctime_format_long(t->should_by, should, sizeof(should)) < 0 ||
	    utctime_format_rfc3339(t->should_by, should_iso,
				   sizeof(should_iso)) < 0 ||
	    utctime_format_long(t->now, composed, sizeof(composed)) < 0)
		return -1;
	compose_duration_words(to_must > 0 ? to_must : 0, left, sizeof(left));
	compose_duration_words(to_must < 0 ? to_must : 0, over, sizeof(over));
	n = snprintf(remaining, sizeof(remaining),
		     to_must >= 0 ? "%s from now" : "overdue by %s",
		     to_must >= 0 ? left : over);
	if (n < 0 || (size_t)n >= sizeof(remaining))
		return -1;
	json_object_set_new(ctx, "state", json_string(compose_state_name(st)));
	json_object_set_new(ctx, "before_should",
			    json_boolean(st == COMPOSE_BEFORE_SHOULD));
	json_object_set_new(ctx, "should_passed",
			    json_boolean(st == COMPOSE_SHOULD_PASSED));
	json_object_set_new(ctx, "must_passed",
			    json_boolean(st == COMPOSE_MUST_PASSED));
	json_object_set_new(ctx, "revoked",
			    json_boolean(st == COMPOSE_REVOKED));
	json_object_set_new(ctx, "has_should",
			    json_boolean(t->should_by < t->must_by));
	json_object_set_new(ctx, "deadline", json_string(deadline));
	json_object_set_new(ctx, "deadline_iso", json_string(deadline_iso));
	json_object_set_new(ctx, "should_by", json_string(should));
	json_object_set_new(ctx, "should_by_iso", json_string(should_iso));
	json_object_set_new(ctx, "composed_at", json_string(composed));
	json_object_set_new(ctx, "remaining", json_string(remaining));
	json_object_set_new(ctx, "time_left", json_string(left));
	json_object_set_new(ctx, "overdue_by", json_string(over));
	compose_duration_words_ja(to_must > 0 ? to_must : 0, left,
				  sizeof(left));
	compose_duration_words_ja(to_must < 0 ? to_must : 0, over,
				  sizeof(over));
	json_object_set_new(ctx, "time_left_ja", json_string(left));
	json_object_set_new(ctx, "overdue_by_ja", json_string(over));
	return 0;
}

size_t compose_base64_size(size_t len)
{
	size_t per = B64_LINE / 4 * 3, lines = (len + per - 1) / per;

	return (len + 2) / 3 * 4 + (lines > 1 ? 2 * (lines - 1) : 0);
}

size_t compose_split(const size_t *row_bytes, size_t n, size_t head,
		     size_t fixed, size_t max, size_t *starts)
{
	size_t parts = 0, used = 0;

	if (fixed >= max)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (parts == 0 ||
		    fixed + compose_base64_size(head + used + row_bytes[i]) >
			    max) {
			if (fixed + compose_base64_size(head + row_bytes[i]) >
			    max)
				return 0; /* one row alone does not fit */
			starts[parts++] = i;
			used = 0;
		}
		used += row_bytes[i];
	}
	return parts;
}
