/*
 * test_compose.c - a plain notice is byte-for-byte the golden message;
 * non-ASCII subjects and names are RFC 2047 encoded and decode back; long
 * subjects fold at 78; CR/LF in a subject cannot add a header and in an
 * address is refused; bodies go out as 7bit or quoted-printable that
 * decodes back; attachments as base64 that decodes back; every output is
 * CRLF-only with no line over 998; ids, dates and CSV fields have their
 * exact forms, whatever TZ says.  A notice knows where it stands against
 * the deadlines (before SHOULD, between SHOULD and MUST, after MUST,
 * revoked), and the shipped templates say only what is true in that
 * state.
 */
#include "certrecall/core/compose.h"
#include "certrecall/base/embedded.h"
#include "certrecall/core/template.h"
#include "certrecall/core/zone.h"
#include "unit.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* 2020-03-05T03:08:00Z, a Thursday. */
#define T_2020 ((time_t)1583377680)

static const struct compose_input base = {
	.from = "Example CA <revocations@ca.example>",
	.to = "admin@example.com",
	.reply_to = NULL,
	.subject = "Your certificates will be revoked",
	.body = "Hello,\n\nWe will revoke 2 certificates.\n",
	.date = T_2020,
	.message_id = "certrecall.2020-caa.notice.1@ca.example",
	.attachment = NULL,
};

/*
 * Every message: CRLF only (no bare CR or LF), no line over 998 octets,
 * ends with CRLF, no NUL, *len right.  Returns the longest header line.
 */
static size_t check_wire(const char *m, size_t len)
{
	size_t i, col = 0, longest = 0;
	bool in_header = true;

	ck_assert_uint_eq(strlen(m), len);
	ck_assert_uint_ge(len, 2);
	ck_assert_int_eq(memcmp(m + len - 2, "\r\n", 2), 0);
	for (i = 0; i < len; i++) {
		if (m[i] == '\r') {
			ck_assert_msg(m[i + 1] == '\n', "bare CR at %zu", i);
			if (in_header && col > longest)
				longest = col;
			if (col == 0)
				in_header = false;
			col = 0;
			i++;
			continue;
		}
		ck_assert_msg(m[i] != '\n', "bare LF at %zu", i);
		col++;
		ck_assert_msg(col <= 998, "line over 998 at %zu", i);
	}
	return longest;
}

static char *compose_ok(const struct compose_input *in, size_t *longest)
{
	char err[256] = "";
	size_t len = 0, l;
	char *m = compose_message(in, &len, err, sizeof(err));

	ck_assert_msg(m != NULL, "compose failed: %s", err);
	l = check_wire(m, len);
	if (longest != NULL)
		*longest = l;
	return m;
}

/* Count of header lines (before the blank line) starting with name. */
static int count_header(const char *m, const char *name)
{
	const char *end = strstr(m, "\r\n\r\n"), *p = m;
	int n = 0;

	while (p != NULL && p <= end) {
		if (strncasecmp(p, name, strlen(name)) == 0)
			n++;
		p = strstr(p, "\r\n");
		if (p != NULL)
			p += 2;
	}
	return n;
}

/* The unfolded value of header name (after "name: "), caller frees. */
static char *header_value(const char *m, const char *name)
{
	const char *end = strstr(m, "\r\n\r\n"), *p = m, *e;
	char *v;
	size_t n = 0;

	while (strncmp(p, name, strlen(name)) != 0 || p[strlen(name)] != ':') {
		p = strstr(p, "\r\n") + 2;
		ck_assert_msg(p <= end, "no %s header", name);
	}
	p += strlen(name) + 1;
	if (*p == ' ')
		p++;
	v = calloc(1, (size_t)(end - p) + 1);
	for (e = p; e < end + 2; e++) {
		/* RFC 5322 2.2.3: unfolding removes CRLF before WSP. */
		if (e[0] == '\r' && e[1] == '\n') {
			if (e[2] != ' ' && e[2] != '\t')
				break;
			e++;
			continue;
		}
		v[n++] = *e;
	}
	return v;
}

static int hexv(char c)
{
	return c >= 'A' && c <= 'F' ? c - 'A' + 10 : c - '0';
}

static const char *b64a =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Decodes base64, skipping CRLF; returns the length. */
static size_t b64_decode(const char *s, size_t len, char *out)
{
	size_t i, n = 0;
	unsigned v = 0, bits = 0;

	for (i = 0; i < len; i++) {
		const char *p;

		if (s[i] == '\r' || s[i] == '\n' || s[i] == '=')
			continue;
		p = strchr(b64a, s[i]);
		ck_assert_msg(p != NULL && s[i] != '\0', "bad base64 %02x",
			      (unsigned char)s[i]);
		v = (v << 6) | (unsigned)(p - b64a);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (char)((v >> bits) & 0xff);
		}
	}
	return n;
}

/*
 * Decodes an unfolded header value: encoded-words (checked to be at most
 * 75 characters) with the white space between adjacent ones dropped
 * (RFC 2047 6.2), plain text as it is.  Caller frees.
 */
static char *decode_2047(const char *v)
{
	char *out = calloc(1, strlen(v) * 2 + 1);
	size_t n = 0, pend = 0;
	const char *p = v;
	bool prev_word = false;

	while (*p != '\0') {
		if (strncmp(p, "=?UTF-8?", 8) == 0) {
			char enc = p[8];
			const char *t = p + 10, *e = strstr(t, "?=");

			ck_assert_ptr_nonnull(e);
			ck_assert_uint_le((size_t)(e + 2 - p), 75);
			if (!prev_word)
				n += pend;
			pend = 0;
			if (enc == 'B') {
				n += b64_decode(t, (size_t)(e - t), out + n);
			} else {
				ck_assert_int_eq(enc, 'Q');
				for (; t < e; t++) {
					if (*t == '_') {
						out[n++] = ' ';
					} else if (*t == '=') {
						out[n++] =
							(char)(hexv(t[1]) * 16 +
							       hexv(t[2]));
						t += 2;
					} else {
						out[n++] = *t;
					}
				}
			}
			p = e + 2;
			prev_word = true;
			continue;
		}
		if (*p == ' ' || *p == '\t') {
			/* held back: dropped if an encoded-word follows */
			out[n + pend++] = *p++;
			continue;
		}
		n += pend;
		pend = 0;
		out[n++] = *p++;
		prev_word = false;
	}
	n += pend;
	out[n] = '\0';
	return out;
}

/* Decodes quoted-printable; checks every encoded line is <= 76. */
static char *qp_decode(const char *s, size_t len)
{
	char *out = calloc(1, len + 1);
	size_t i, n = 0, col = 0;

	for (i = 0; i < len; i++) {
		if (s[i] == '\r') {
			ck_assert_uint_le(col, 76);
			/* no trailing blank before a hard line break */
			ck_assert(col == 0 ||
				  (s[i - 1] != ' ' && s[i - 1] != '\t'));
			out[n++] = '\r';
			out[n++] = '\n';
			i++;
			col = 0;
			continue;
		}
		col++;
		if (s[i] == '=') {
			if (s[i + 1] == '\r') {
				ck_assert_uint_le(col, 76);
				i += 2;
				col = 0;
				continue;
			}
			ck_assert(strchr("0123456789ABCDEF", s[i + 1]) &&
				  strchr("0123456789ABCDEF", s[i + 2]));
			out[n++] = (char)(hexv(s[i + 1]) * 16 + hexv(s[i + 2]));
			i += 2;
			col += 2;
			continue;
		}
		ck_assert((unsigned char)s[i] >= 0x20 &&
			  (unsigned char)s[i] < 0x7f);
		out[n++] = s[i];
	}
	out[n] = '\0';
	return out;
}

static const char *body_of(const char *m)
{
	return strstr(m, "\r\n\r\n") + 4;
}

START_TEST(a_plain_notice_is_exactly_the_golden_message)
{
	const char *want = "Date: Thu, 05 Mar 2020 03:08:00 +0000\r\n"
			   "From: Example CA <revocations@ca.example>\r\n"
			   "To: admin@example.com\r\n"
			   "Subject: Your certificates will be revoked\r\n"
			   "Message-ID: "
			   "<certrecall.2020-caa.notice.1@ca.example>\r\n"
			   "MIME-Version: 1.0\r\n"
			   "Content-Type: text/plain; charset=UTF-8\r\n"
			   "Content-Transfer-Encoding: 7bit\r\n"
			   "Auto-Submitted: auto-generated\r\n"
			   "\r\n"
			   "Hello,\r\n"
			   "\r\n"
			   "We will revoke 2 certificates.\r\n";
	char *m = compose_ok(&base, NULL);
	char *again = compose_ok(&base, NULL);

	ck_assert_str_eq(m, want);
	ck_assert_str_eq(again, m);
	free(again);
	free(m);
}
END_TEST

START_TEST(reply_to_comes_after_to_and_names_with_specials_are_quoted)
{
	struct compose_input in = base;
	char *m;

	in.from = "Example, CA \"Ops\\\" <revocations@ca.example>";
	in.reply_to = "  Support Team   <support@ca.example> ";
	m = compose_ok(&in, NULL);
	ck_assert_ptr_nonnull(
		strstr(m, "From: \"Example, CA \\\"Ops\\\\\\\"\" "
			  "<revocations@ca.example>\r\n"
			  "To: admin@example.com\r\n"
			  "Reply-To: Support Team <support@ca.example>\r\n"
			  "Subject: "));
	free(m);
}
END_TEST

/* From as given, and the From line it must give. */
static const struct {
	const char *from;
	const char *want;
} from_forms[] = {
	{ "revocations@ca.example", "From: revocations@ca.example\r\n" },
	{ "<revocations@ca.example>", "From: <revocations@ca.example>\r\n" },
	{ "CA <r@ca.example>", "From: CA <r@ca.example>\r\n" },
	{ "\"Example CA\" <r@ca.example>",
	  "From: Example CA <r@ca.example>\r\n" },
	{ "Example CA; Ops <r@ca.example>",
	  "From: \"Example CA; Ops\" <r@ca.example>\r\n" },
	{ "J. Doe <r@ca.example>", "From: \"J. Doe\" <r@ca.example>\r\n" },
	{ "Zertifizierungsstelle Müller <r@ca.example>",
	  "From: =?UTF-8?Q?Zertifizierungsstelle_M=C3=BCller?= "
	  "<r@ca.example>\r\n" },
	{ "認証局 <r@ca.example>",
	  "From: =?UTF-8?B?6KqN6Ki85bGA?= <r@ca.example>\r\n" },
	{ "=?UTF-8?Q?x?= <r@ca.example>",
	  "From: \"=?UTF-8?Q?x?=\" <r@ca.example>\r\n" },
};

START_TEST(from_forms_give_the_right_from_line)
{
	struct compose_input in = base;
	char *m;

	in.from = from_forms[_i].from;
	m = compose_ok(&in, NULL);
	ck_assert_msg(strstr(m, from_forms[_i].want) != NULL, "%s", m);
	ck_assert_int_eq(count_header(m, "From:"), 1);
	free(m);
}
END_TEST

/* Subjects that must be RFC 2047 encoded, and what they decode to. */
static const struct {
	const char *subject;
	const char *want;
} encoded[] = {
	{ "Zertifikatswiderruf für example.com", NULL },
	{ "証明書の失効についてのお知らせ：2020年3月4日までに証明書を更新して"
	  "ください。詳細は本文をご覧ください。",
	  NULL },
	{ "Émoji 🔒 lock, 4-byte characters 🔒🔒🔒🔒🔒🔒🔒🔒🔒🔒🔒🔒🔒🔒🔒 "
	  "and more text after them so that it folds",
	  NULL },
	{ "ASCII only but =?looks?= like an encoded word", NULL },
	{ "averyveryveryveryveryveryveryveryveryveryveryveryveryveryveryvery"
	  "longwordwithoutanyspace in the subject",
	  NULL },
	{ "  tabs\tand\r\ncontrols\x01 ü  collapse  ",
	  "tabs and controls ü collapse" },
};

START_TEST(non_ascii_subjects_are_rfc2047_and_decode_back)
{
	struct compose_input in = base;
	size_t longest;
	char *m, *v, *d;
	const char *want =
		encoded[_i].want ? encoded[_i].want : encoded[_i].subject;

	in.subject = encoded[_i].subject;
	m = compose_ok(&in, &longest);
	ck_assert_uint_le(longest, 78);
	ck_assert_int_eq(count_header(m, "Subject:"), 1);
	v = header_value(m, "Subject");
	ck_assert_msg(strncmp(v, "=?UTF-8?", 8) == 0, "%s", v);
	d = decode_2047(v);
	ck_assert_str_eq(d, want);
	free(d);
	free(v);
	free(m);
}
END_TEST

START_TEST(long_ascii_subjects_fold_at_78_and_unfold_back)
{
	struct compose_input in = base;
	const char *s = "Action required: 1234 of your certificates issued "
			"by Example CA are affected by the CAA rechecking bug "
			"and will be revoked on 2020-03-05 at 03:08 UTC; "
			"please renew them now";
	size_t longest;
	char *m, *v;

	in.subject = s;
	m = compose_ok(&in, &longest);
	ck_assert_uint_le(longest, 78);
	ck_assert_ptr_nonnull(strstr(m, "Subject: Action required:"));
	ck_assert_ptr_nonnull(strstr(m, "\r\n "));
	v = header_value(m, "Subject");
	ck_assert_str_eq(v, s);
	free(v);
	free(m);
}
END_TEST

START_TEST(subject_injection_gives_one_subject_and_no_bcc)
{
	struct compose_input in = base;
	char *m, *v;

	in.subject = "x\r\nBcc: evil@x";
	m = compose_ok(&in, NULL);
	ck_assert_int_eq(count_header(m, "Subject:"), 1);
	ck_assert_int_eq(count_header(m, "Bcc:"), 0);
	ck_assert_ptr_nonnull(strstr(m, "\r\nSubject: x Bcc: evil@x\r\n"));
	v = header_value(m, "Subject");
	ck_assert_str_eq(v, "x Bcc: evil@x");
	free(v);
	free(m);
}
END_TEST

/* Field, value, and a piece of the error it must give. */
static const struct {
	int field; /* 0 from, 1 to, 2 reply-to */
	const char *addr;
	const char *want;
} bad_addrs[] = {
	{ 1, "admin@example.com\r\nBcc: evil@x", "to: control character" },
	{ 1, "admin@example.com\n", "to: control character" },
	{ 0, "CA\r\n <r@ca.example>", "from: control character" },
	{ 2, "x@y\x7f", "reply-to: control character" },
	{ 0, "CA <r@ca.example", "from: angle brackets do not match" },
	{ 0, "CA r@ca.example>", "from: angle brackets do not match" },
	{ 0, "CA <<r@ca.example>>", "from: angle brackets do not match" },
	{ 0, "CA >r@ca.example<", "from: angle brackets do not match" },
	{ 0, "CA <r@ca.example> x", "from: text after '>'" },
	{ 1, "no-at-sign", "is not an address" },
	{ 1, "two words@example.com", "is not an address" },
	{ 1, "a@b@example.com", "is not an address" },
	{ 1, "@example.com", "is not an address" },
	{ 1, "a@", "is not an address" },
	{ 1, "a..b@example.com", "is not an address" },
	{ 1, "müller@example.com", "is not an address" },
	{ 1, "", "is not an address" },
	{ 0, "\xff\xfe <r@ca.example>", "from: display name is not UTF-8" },
	{ 1, NULL, "to: no address" },
};

START_TEST(bad_addresses_are_refused)
{
	struct compose_input in = base;
	char err[256] = "";
	size_t len = 7;

	if (bad_addrs[_i].field == 0)
		in.from = bad_addrs[_i].addr;
	else if (bad_addrs[_i].field == 1)
		in.to = bad_addrs[_i].addr;
	else
		in.reply_to = bad_addrs[_i].addr;
	ck_assert_ptr_null(compose_message(&in, &len, err, sizeof(err)));
	ck_assert_msg(strstr(err, bad_addrs[_i].want) != NULL, "%s", err);
	ck_assert_uint_eq(len, 0);
}
END_TEST

START_TEST(other_bad_input_is_refused)
{
	struct compose_input in = base;
	struct compose_attachment a = { "x\"y.csv", "text/csv", "", 0 };
	char err[256];

	in.body = "caf\xc3";
	ck_assert_ptr_null(compose_message(&in, NULL, err, sizeof(err)));
	ck_assert_str_eq(err, "body is not valid UTF-8 (at byte 3)");
	/* found where it is after ASCII read 8 bytes at a time */
	in.body = "0123456789abcdef\xc3\xa9z\xff";
	ck_assert_ptr_null(compose_message(&in, NULL, err, sizeof(err)));
	ck_assert_str_eq(err, "body is not valid UTF-8 (at byte 19)");
	in.body = "01234567\xff"
		  "9abcdefghijk";
	ck_assert_ptr_null(compose_message(&in, NULL, err, sizeof(err)));
	ck_assert_str_eq(err, "body is not valid UTF-8 (at byte 8)");
	in.body = "0123456789abcdefgh\xe2\x82";
	ck_assert_ptr_null(compose_message(&in, NULL, err, sizeof(err)));
	ck_assert_str_eq(err, "body is not valid UTF-8 (at byte 18)");
	in = base;
	in.subject = "\xed\xa0\x80 surrogate";
	ck_assert_ptr_null(compose_message(&in, NULL, err, sizeof(err)));
	ck_assert_str_eq(err, "subject is not valid UTF-8");
	in = base;
	in.message_id = "has space@x";
	ck_assert_ptr_null(compose_message(&in, NULL, err, sizeof(err)));
	in.message_id = "<a@b>";
	ck_assert_ptr_null(compose_message(&in, NULL, err, sizeof(err)));
	in.message_id = "no-domain";
	ck_assert_ptr_null(compose_message(&in, NULL, err, sizeof(err)));
	in = base;
	in.attachment = &a;
	ck_assert_ptr_null(compose_message(&in, NULL, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "filename"));
	a.filename = "x.csv";
	a.content_type = "text/csv\r\nBcc: x";
	ck_assert_ptr_null(compose_message(&in, NULL, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "content type"));
	ck_assert_ptr_null(compose_message(NULL, NULL, NULL, 0));
}
END_TEST

/* Bodies that need quoted-printable; each must decode to its CRLF form. */
static const char *qp_bodies[] = {
	"Grüße aus München\n",
	"A line that is much longer than seventy-six characters, with a "
	"non-ASCII character (é) so that it must be quoted-printable and "
	"broken "
	"with soft line breaks; it goes on and on and on and on.\n",
	"trailing blanks   \nand tabs\t\nequals = signs == everywhere=\nü\n",
	"control \x01\x1b[31m chars\n",
	"no final newline ünd ümlauts",
	"ÜÜÜÜÜÜÜÜÜÜÜÜÜÜÜÜÜÜÜÜÜÜÜÜÜÜÜÜÜÜÜÜÜÜÜÜÜÜÜÜÜÜÜÜÜÜÜÜÜÜÜÜÜÜÜÜ\n",
	"ü 76 with a final blank ...........................................x "
	"\n"
	"ü 77 with a final blank ............................................x "
	"\n"
	"ü 75 "
	"..............................................................=\n",
	"CR only\rline ends\r\nmixed ü\n\n",
	NULL, /* a 1200-octet ASCII line, filled in by the test */
};

/* The body with CRLF line ends and a final CRLF, as compose sends it. */
static char *crlf(const char *s)
{
	char *out = calloc(1, 2 * strlen(s) + 3);
	size_t n = 0;

	for (; *s != '\0'; s++) {
		if (*s == '\r' || *s == '\n') {
			if (s[0] == '\r' && s[1] == '\n')
				s++;
			out[n++] = '\r';
			out[n++] = '\n';
		} else {
			out[n++] = *s;
		}
	}
	if (n > 0 && out[n - 1] != '\n') {
		out[n++] = '\r';
		out[n++] = '\n';
	}
	return out;
}

START_TEST(quoted_printable_bodies_decode_back)
{
	struct compose_input in = base;
	char *m, *d, *want;
	const char *b;
	char *longline = calloc(1, 1202);

	memset(longline, 'x', 1200);
	longline[1200] = '\n';
	in.body = qp_bodies[_i] ? qp_bodies[_i] : longline;
	m = compose_ok(&in, NULL);
	ck_assert_ptr_nonnull(strstr(
		m, "\r\nContent-Transfer-Encoding: quoted-printable\r\n"));
	b = body_of(m);
	d = qp_decode(b, strlen(b));
	want = crlf(in.body);
	ck_assert_str_eq(d, want);
	free(want);
	free(longline);
	free(d);
	free(m);
}
END_TEST

START_TEST(seven_bit_bodies_get_crlf_and_a_final_line_end)
{
	struct compose_input in = base;
	char *m, *longline;

	in.body = "a\nb\r\nc\rd";
	m = compose_ok(&in, NULL);
	ck_assert_ptr_nonnull(strstr(m, "Content-Transfer-Encoding: 7bit\r\n"));
	ck_assert_str_eq(body_of(m), "a\r\nb\r\nc\r\nd\r\n");
	free(m);
	in.body = "";
	m = compose_ok(&in, NULL);
	ck_assert_str_eq(body_of(m), "");
	free(m);
	/* 998 is the limit: 998 stays 7bit, 999 needs QP. */
	longline = malloc(1000);
	memset(longline, 'x', 998);
	longline[998] = '\0';
	in.body = longline;
	m = compose_ok(&in, NULL);
	ck_assert_ptr_nonnull(strstr(m, "Content-Transfer-Encoding: 7bit\r\n"));
	free(m);
	longline[998] = 'y';
	longline[999] = '\0';
	m = compose_ok(&in, NULL);
	ck_assert_ptr_nonnull(
		strstr(m, "Content-Transfer-Encoding: quoted-printable\r\n"));
	free(m);
	free(longline);
}
END_TEST

/*
 * An HTML alternative: multipart/alternative, plain first, HTML last,
 * under a boundary that is not a prefix of the mixed one (nor it of this)
 * when there is an attachment too; the message still ends in CRLF.
 */
START_TEST(an_html_part_is_an_alternative_after_the_text)
{
	struct compose_input in = base;
	struct compose_attachment att = { "certificates.csv", "text/csv",
					  "a,b\n", 4 };
	const char *alt, *plain, *html, *mixed;
	char *m;
	size_t len;

	in.body = "Deadline: 2020-03-05 03:08 UTC\n";
	in.html = "<p>Deadline: <b>2020-03-05 03:08 UTC</b></p>\n";
	m = compose_ok(&in, NULL);
	len = strlen(m);
	alt = strstr(m, "Content-Type: multipart/alternative;\r\n "
			"boundary=\"=_alt_certrecall_");
	plain = strstr(m, "Content-Type: text/plain; charset=UTF-8\r\n"
			  "Content-Transfer-Encoding: 7bit\r\n\r\nDeadline");
	html = strstr(m, "Content-Type: text/html; charset=UTF-8\r\n"
			 "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
			 "<p>Deadline: <b>");
	ck_assert_ptr_nonnull(alt);
	ck_assert_ptr_nonnull(plain);
	ck_assert_ptr_nonnull(html);
	ck_assert(alt < plain && plain < html);
	ck_assert_ptr_nonnull(strstr(m, "Auto-Submitted: auto-generated"));
	ck_assert_int_eq(strcmp(m + len - 4, "--\r\n"), 0);
	free(m);
	in.attachment = &att;
	m = compose_ok(&in, NULL);
	len = strlen(m);
	mixed = strstr(m, "multipart/mixed;\r\n boundary=\"=_certrecall_");
	alt = strstr(m, "multipart/alternative;\r\n boundary=\"=_alt_");
	ck_assert_ptr_nonnull(mixed);
	ck_assert_ptr_nonnull(alt);
	ck_assert(mixed < alt);
	ck_assert_ptr_nonnull(strstr(m, "filename=\"certificates.csv\""));
	ck_assert_int_eq(strcmp(m + len - 4, "--\r\n"), 0);
	free(m);
}
END_TEST

static const size_t att_sizes[] = { 0, 1, 2, 3, 56, 57, 58, 114, 1000 };

START_TEST(attachments_are_base64_and_decode_back)
{
	struct compose_attachment a = { "certificates.csv",
					"text/csv; charset=UTF-8", NULL, 0 };
	struct compose_input in = base;
	char *data = malloc(att_sizes[_i] + 1), *m, *dec, bnd[80];
	const char *p, *q, *end;
	size_t i, n;

	for (i = 0; i < att_sizes[_i]; i++)
		data[i] = (char)(i * 37 + 11);
	a.data = data;
	a.len = att_sizes[_i];
	in.attachment = &a;
	m = compose_ok(&in, NULL);
	p = strstr(m, "Content-Type: multipart/mixed;\r\n boundary=\"");
	ck_assert_ptr_nonnull(p);
	p = strchr(p, '"') + 1;
	ck_assert(strncmp(p, "=_certrecall_", 13) == 0);
	n = (size_t)(strchr(p, '"') - p);
	ck_assert_uint_eq(n, 13 + 32);
	ck_assert_int_gt(snprintf(bnd, sizeof(bnd), "--%.*s", (int)n, p), 0);
	ck_assert_int_eq(count_header(m, "Content-Transfer-Encoding:"), 0);
	/* text part, attachment part, close */
	p = strstr(body_of(m), bnd);
	ck_assert_ptr_eq(p, body_of(m));
	ck_assert_ptr_nonnull(strstr(
		p, "\r\nContent-Type: text/plain; charset=UTF-8\r\n"
		   "Content-Transfer-Encoding: 7bit\r\n\r\n"
		   "Hello,\r\n\r\nWe will revoke 2 certificates.\r\n\r\n"));
	p = strstr(p + 1, bnd);
	ck_assert_ptr_nonnull(p);
	q = "\r\nContent-Type: text/csv; charset=UTF-8\r\n"
	    "Content-Disposition: attachment; filename=\"certificates.csv\"\r\n"
	    "Content-Transfer-Encoding: base64\r\n\r\n";
	ck_assert_int_eq(strncmp(p + strlen(bnd), q, strlen(q)), 0);
	p += strlen(bnd) + strlen(q);
	end = strstr(p, bnd);
	ck_assert_ptr_nonnull(end);
	ck_assert_str_eq(end + strlen(bnd), "--\r\n");
	/* base64 lines are 76 characters but the last */
	for (q = p; q < end - 2; q = strstr(q, "\r\n") + 2)
		ck_assert(strstr(q, "\r\n") - q == 76 ||
			  strstr(q, "\r\n") == end - 2);
	dec = malloc(att_sizes[_i] + 4);
	n = b64_decode(p, (size_t)(end - 2 - p), dec);
	ck_assert_uint_eq(n, att_sizes[_i]);
	ck_assert_int_eq(memcmp(dec, data, n), 0);
	free(dec);
	free(m);
	free(data);
}
END_TEST

START_TEST(the_boundary_never_occurs_in_a_part)
{
	struct compose_attachment a = { "a.bin", NULL, "=_=_", 4 };
	struct compose_input in = base;
	char *m, *m2, *v;
	const char *p;

	/* A 7bit body that could hold the boundary is sent as QP. */
	in.body = "--=_certrecall_0123 looks like a boundary\n";
	in.attachment = &a;
	m = compose_ok(&in, NULL);
	ck_assert_ptr_nonnull(
		strstr(m, "Content-Transfer-Encoding: quoted-printable\r\n"));
	ck_assert_ptr_nonnull(strstr(m, "--=3D_certrecall_0123"));
	ck_assert_ptr_nonnull(
		strstr(m, "Content-Type: application/octet-stream\r\n"));
	v = header_value(m, "Content-Type");
	p = strstr(v, "boundary=\"") + 10;
	/* after the header block it occurs exactly three times */
	ck_assert_ptr_nonnull(strstr(body_of(m), "--=_certrecall_"));
	{
		int n = 0;
		const char *s = body_of(m);

		while ((s = strstr(s, "=_certrecall_")) != NULL) {
			ck_assert_int_eq(strncmp(s, p, 45), 0);
			n++;
			s++;
		}
		ck_assert_int_eq(n, 3);
	}
	/* another message id, another boundary */
	in.message_id = "certrecall.2020-caa.notice.2@ca.example";
	m2 = compose_ok(&in, NULL);
	ck_assert_ptr_null(strstr(m2, p));
	free(m2);
	free(v);
	free(m);
}
END_TEST

START_TEST(long_display_names_and_content_types_fold)
{
	struct compose_attachment a = {
		"certificates.csv",
		"text/csv; charset=UTF-8; header=present; "
		"x-comment=averylongparametervaluethatgoesonandon",
		"x", 1
	};
	struct compose_input in = base;
	size_t longest;
	char *m, *v, *d;

	in.from = "Zertifizierungsstelle der Bundesrepublik Deutschland für "
		  "Widerrufe und Sperrungen von Zertifikaten "
		  "<widerruf@ca.example>";
	in.attachment = &a;
	m = compose_ok(&in, &longest);
	ck_assert_uint_le(longest, 78);
	v = header_value(m, "From");
	d = decode_2047(v);
	ck_assert_str_eq(d, in.from);
	free(d);
	free(v);
	free(m);
}
END_TEST

/* incident, kind, id, from, expected id ("" = refused) */
static const struct {
	const char *incident, *kind;
	long long id;
	const char *from, *want;
} msgids[] = {
	{ "2020-caa", "notice", 1, "Example CA <revocations@ca.example>",
	  "certrecall.2020-caa.notice.1@ca.example" },
	{ "inc_7", "reminder.2", 123456789012LL, "r@mail.ca.example ",
	  "certrecall.inc_7.reminder.2.123456789012@mail.ca.example" },
	{ "a b", "notice", 1, "r@ca.example", "" },
	{ "a", "no/tice", 1, "r@ca.example", "" },
	{ "", "notice", 1, "r@ca.example", "" },
	{ "a", "notice", 1, "no domain", "" },
	{ "a", "notice", 1, "CA <r@>", "" },
	{ "a", "notice", 1, "CA <r@ca.example", "" },
	{ "a", "notice", 1, "r@ca.example>\r\nBcc: x", "" },
};

START_TEST(message_ids_have_the_stable_form)
{
	char buf[128];

	if (msgids[_i].want[0] == '\0') {
		ck_assert_int_eq(
			compose_message_id(buf, sizeof(buf),
					   msgids[_i].incident, msgids[_i].kind,
					   msgids[_i].id, msgids[_i].from),
			-1);
		return;
	}
	ck_assert_int_eq(compose_message_id(buf, sizeof(buf),
					    msgids[_i].incident,
					    msgids[_i].kind, msgids[_i].id,
					    msgids[_i].from),
			 0);
	ck_assert_str_eq(buf, msgids[_i].want);
	/* too small by one */
	ck_assert_int_eq(compose_message_id(buf, strlen(msgids[_i].want),
					    msgids[_i].incident,
					    msgids[_i].kind, msgids[_i].id,
					    msgids[_i].from),
			 -1);
	ck_assert_str_eq(buf, "");
}
END_TEST

static const struct {
	time_t t;
	const char *want;
} dates[] = {
	{ T_2020, "Thu, 05 Mar 2020 03:08:00 +0000" },
	{ 0, "Thu, 01 Jan 1970 00:00:00 +0000" },
	{ 951782400, "Tue, 29 Feb 2000 00:00:00 +0000" },
	{ 1609459199, "Thu, 31 Dec 2020 23:59:59 +0000" },
	{ 1719792000, "Mon, 01 Jul 2024 00:00:00 +0000" },
	{ 1700000000, "Tue, 14 Nov 2023 22:13:20 +0000" },
};

START_TEST(dates_are_rfc5322_utc_whatever_tz_says)
{
	char buf[64];

	setenv("TZ", "Asia/Tokyo", 1);
	tzset();
	ck_assert_int_eq(compose_date(dates[_i].t, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, dates[_i].want);
	ck_assert_int_eq(compose_date(dates[_i].t, buf, 31), -1);
	ck_assert_int_eq(compose_date(dates[_i].t, buf, 32), 0);
	setenv("TZ", "America/St_Johns", 1);
	tzset();
	ck_assert_int_eq(compose_date(dates[_i].t, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, dates[_i].want);
	unsetenv("TZ");
	tzset();
}
END_TEST

START_TEST(message_date_ignores_tz)
{
	struct compose_input in = base;
	char *m;

	setenv("TZ", "Asia/Tokyo", 1);
	tzset();
	m = compose_ok(&in, NULL);
	ck_assert(strncmp(m, "Date: Thu, 05 Mar 2020 03:08:00 +0000\r\n", 39) ==
		  0);
	free(m);
	unsetenv("TZ");
	tzset();
}
END_TEST

START_TEST(csv_fields_are_quoted_per_rfc4180)
{
	char *buf = NULL;
	size_t len = 0, cap = 0;

	compose_csv_field(&buf, &len, &cap, "plain", 0);
	compose_csv_field(&buf, &len, &cap, "a,b", 0);
	compose_csv_field(&buf, &len, &cap, "say \"hi\"", 0);
	compose_csv_field(&buf, &len, &cap, "two\r\nlines", 0);
	compose_csv_field(&buf, &len, &cap, "", 0);
	compose_csv_field(&buf, &len, &cap, NULL, 0);
	compose_csv_field(&buf, &len, &cap, " spaced ", 1);
	compose_csv_field(&buf, &len, &cap, "next", 1);
	ck_assert_str_eq(buf, "plain,\"a,b\",\"say \"\"hi\"\"\","
			      "\"two\r\nlines\",,, spaced \r\nnext\r\n");
	ck_assert_uint_eq(len, strlen(buf));
	free(buf);
}
END_TEST

/* ---- where a notice stands, and what the shipped templates say ---- */

/* 2020-02-29T03:08:00Z: the CA became aware (the 2020 CAA incident). */
#define AWARE ((time_t)1582945680)
#define HOUR 3600
#define DAY 86400

static const struct {
	const char *name;
	time_t should_by, must_by, now;
	bool revoked;
	enum compose_state want;
} states[] = {
	{ "seven hours in", AWARE + DAY, AWARE + 5 * DAY, AWARE + 7 * HOUR,
	  false, COMPOSE_BEFORE_SHOULD },
	{ "the last second of SHOULD", AWARE + DAY, AWARE + 5 * DAY,
	  AWARE + DAY, false, COMPOSE_BEFORE_SHOULD },
	{ "one second past SHOULD", AWARE + DAY, AWARE + 5 * DAY,
	  AWARE + DAY + 1, false, COMPOSE_SHOULD_PASSED },
	{ "the last second of MUST", AWARE + DAY, AWARE + 5 * DAY,
	  AWARE + 5 * DAY, false, COMPOSE_SHOULD_PASSED },
	{ "one second past MUST", AWARE + DAY, AWARE + 5 * DAY,
	  AWARE + 5 * DAY + 1, false, COMPOSE_MUST_PASSED },
	{ "SHALL 24 hours, before", AWARE + DAY, AWARE + DAY, AWARE + DAY,
	  false, COMPOSE_BEFORE_SHOULD },
	{ "SHALL 24 hours, after", AWARE + DAY, AWARE + DAY, AWARE + DAY + 1,
	  false, COMPOSE_MUST_PASSED },
	{ "revoked before the deadline", AWARE + DAY, AWARE + 5 * DAY,
	  AWARE + 2 * DAY, true, COMPOSE_REVOKED },
	{ "revoked after it", AWARE + DAY, AWARE + 5 * DAY, AWARE + 9 * DAY,
	  true, COMPOSE_REVOKED },
};

START_TEST(the_state_follows_the_last_on_time_seconds)
{
	struct compose_times t = { states[_i].should_by, states[_i].must_by,
				   states[_i].now, states[_i].revoked };

	ck_assert_msg(compose_state_at(&t) == states[_i].want,
		      "%s: got %s, want %s", states[_i].name,
		      compose_state_name(compose_state_at(&t)),
		      compose_state_name(states[_i].want));
}
END_TEST

/* Renders the shipped (built-in) template of lang and kind at t for a
 * reader in zone tz (NULL: unknown); the subject and the body, each with
 * its blanks collapsed to single spaces. */
static char *render_shipped_in(const char *lang, const char *kind,
			       const char *tz, const struct compose_times *t)
{
	const struct embedded_file *f = NULL;
	char name[64];
	struct template *subject, *body;
	char err[256], *s, *b, *out;
	const char *nl, *start;
	json_t *ctx;
	size_t n, j = 0;

	snprintf(name, sizeof(name), "%s/%s", lang, kind);
	for (size_t i = 0; i < embedded_templates_count; i++)
		if (strcmp(embedded_templates[i].name, name) == 0)
			f = &embedded_templates[i];
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(strncmp(f->data, "Subject: ", 9), 0);
	nl = strchr(f->data, '\n');
	ck_assert_ptr_nonnull(nl);
	ck_assert_int_eq(nl[1], '\n'); /* shipped: no Reply-To line */
	subject = template_parse(f->data + 9, (size_t)(nl - f->data - 9), err,
				 sizeof(err));
	ck_assert_msg(subject != NULL, "%s subject: %s", kind, err);
	start = nl + 2;
	body = template_parse(start, f->len - (size_t)(start - f->data), err,
			      sizeof(err));
	ck_assert_msg(body != NULL, "%s body: %s", kind, err);
	ctx = json_pack(
		"{s:{s:s,s:s},s:s,s:s,s:s,s:s,s:[{s:s}],s:s,s:i,s:i,s:i,s:b,"
		"s:[{s:s,s:s,s:s,s:s,s:s,s:s}]}",
		"incident", "slug", "caa-2020", "title", "CAA rechecking bug",
		"organization", "Example CA", "address", "ops@a1.example",
		"rule", "BR 4.9.1.1 (v1.6.7) 5-day list item 7", "rule_text",
		"not issued in accordance with the BR", "accounts", "id", "a1",
		"account_list", "a1", "certificate_count", 1, "listed_count", 1,
		"unlisted_count", 0, "attachment", 0, "certificates", "account",
		"a1", "serial", "0c01", "names", "a1.example", "not_after",
		"2020-05-01 00:00:00 UTC", "revoked_at",
		t->revoked ? "2020-03-04 20:00:00 UTC" : "unknown", "scan",
		"deployed");
	ck_assert_ptr_nonnull(ctx);
	ck_assert_int_eq(compose_time_context(ctx, t), 0);
	ck_assert_int_eq(
		zone_context(ctx, t->must_by, t->should_by, t->now, tz, lang),
		0);
	s = template_render(subject, ctx, TEMPLATE_HEADER, NULL, err,
			    sizeof(err));
	ck_assert_msg(s != NULL, "%s subject: %s", kind, err);
	b = template_render(body, ctx, TEMPLATE_TEXT, NULL, err, sizeof(err));
	ck_assert_msg(b != NULL, "%s body: %s", kind, err);
	n = strlen(s) + strlen(b) + 16;
	out = calloc(1, n);
	ck_assert_ptr_nonnull(out);
	snprintf(out, n, "Subject: %s\n%s", s, b);
	/* One line, single spaces: phrases are found across line breaks. */
	for (size_t i = 0; out[i] != '\0'; i++) {
		char c = out[i] == '\n' ? ' ' : out[i];

		if (c == ' ' && (j == 0 || out[j - 1] == ' '))
			continue;
		out[j++] = c;
	}
	out[j] = '\0';
	free(s);
	free(b);
	json_decref(ctx);
	template_free(subject);
	template_free(body);
	return out;
}

static char *render_shipped(const char *kind, const struct compose_times *t)
{
	return render_shipped_in("en", kind, NULL, t);
}

#define MAXP 8

/*
 * What each shipped template must say in each state, and what it must
 * not: a promise of time left ("will be revoked by", "from now", "before
 * the deadline") never stands beside "the deadline has passed", and "at
 * any moment" never beside "install it before".
 */
static const struct {
	const char *kind;
	int state; /* index into states[] */
	const char *must[MAXP];
	const char *must_not[MAXP];
} wording[] = {
	{ "initial",
	  0,
	  { "Subject: Action required: 1 certificate(s) will be revoked by "
	    "2020-03-05 03:08:00 UTC",
	    "Revocation deadline: 2020-03-05 03:08:00 UTC (4 days 17 hours "
	    "from now, counted when this message was written at 2020-02-29 "
	    "10:08:00 UTC)",
	    "we may revoke these certificates from 2020-03-01 03:08:00 UTC on",
	    "install it before 2020-03-01 03:08:00 UTC." },
	  { "overdue", "passed", "at any moment", "install it now" } },
	{ "initial",
	  2,
	  { "will be revoked by 2020-03-05 03:08:00 UTC",
	    "(3 days 23 hours from now",
	    "We may revoke these certificates at any moment from now on",
	    "install it now." },
	  { "overdue", "passed", "install it before",
	    "from 2020-03-01 03:08:00 UTC on" } },
	{ "initial",
	  4,
	  { "Subject: Urgent: 1 certificate(s) past their revocation deadline "
	    "(2020-03-05 03:08:00 UTC) can be revoked at any moment",
	    "Revocation deadline: 2020-03-05 03:08:00 UTC (passed 0 minutes "
	    "before this message was written at 2020-03-05 03:08:01 UTC)",
	    "The deadline has passed", "install it now." },
	  { "will be revoked by", "from now", "before the deadline",
	    "by the deadline", "install it before", "may revoke" } },
	{ "initial",
	  5,
	  { "will be revoked by 2020-03-01 03:08:00 UTC", "0 minutes from now",
	    "We will revoke these certificates by the deadline at the latest",
	    "install it before the deadline." },
	  { "overdue", "passed", "at any moment", "may revoke",
	    "install it now" } },
	{ "initial",
	  6,
	  { "Urgent:", "passed 0 minutes before", "The deadline has passed" },
	  { "will be revoked by", "from now", "before the deadline",
	    "install it before" } },
	{ "reminder",
	  0,
	  { "Subject: Reminder: 1 certificate(s) still in use will be revoked "
	    "by 2020-03-05 03:08:00 UTC",
	    "(4 days 17 hours from now, counted at 2020-02-29 10:08:00 UTC)",
	    "We may revoke them from 2020-03-01 03:08:00 UTC on",
	    "these names before then." },
	  { "overdue", "passed", "at any moment", "now." } },
	{ "reminder",
	  3,
	  { "will be revoked by", "(0 minutes from now",
	    "We may revoke them at any moment from now on",
	    "these names now." },
	  { "overdue", "passed", "before then", "before the deadline" } },
	{ "reminder",
	  4,
	  { "Subject: Urgent reminder: 1 certificate(s) still in use are past "
	    "their revocation deadline (2020-03-05 03:08:00 UTC)",
	    "(passed 0 minutes before 2020-03-05 03:08:01 UTC)",
	    "The deadline has passed", "these names now." },
	  { "will be revoked by", "from now", "before then",
	    "before the deadline", "may revoke" } },
	{ "reminder",
	  5,
	  { "will be revoked by 2020-03-01 03:08:00 UTC",
	    "these names before the deadline." },
	  { "overdue", "passed", "at any moment", "may revoke" } },
	{ "revoked",
	  7,
	  { "Subject: 1 certificate(s) were revoked (caa-2020)",
	    "has revoked 1 certificate(s)",
	    "revoked: 2020-03-04 20:00:00 UTC" },
	  { "will be revoked", "from now", "overdue", "deadline",
	    "at any moment" } },
	{ "revoked",
	  8,
	  { "has revoked 1 certificate(s)" },
	  { "will be revoked", "from now", "overdue", "deadline",
	    "at any moment" } },
};

START_TEST(shipped_templates_say_what_is_true_in_each_state)
{
	int k = wording[_i].state;
	struct compose_times t = { states[k].should_by, states[k].must_by,
				   states[k].now, states[k].revoked };
	char *text;

	text = render_shipped(wording[_i].kind, &t);
	for (int p = 0; p < MAXP && wording[_i].must_not[p] != NULL; p++)
		ck_assert_msg(strstr(text, wording[_i].must_not[p]) == NULL,
			      "%s, %s: says \"%s\" in: %s", wording[_i].kind,
			      states[k].name, wording[_i].must_not[p], text);
	for (int p = 0; p < MAXP && wording[_i].must[p] != NULL; p++)
		ck_assert_msg(strstr(text, wording[_i].must[p]) != NULL,
			      "%s, %s: lacks \"%s\" in: %s", wording[_i].kind,
			      states[k].name, wording[_i].must[p], text);
	free(text);
}
END_TEST

/*
 * The Japanese set renders in every state, deadline first, in UTC and,
 * for a reader in Asia/Tokyo, in Japan time too (UTC+9, to the minute);
 * without a zone, UTC only.  The English one names the zone when known.
 */
START_TEST(japanese_templates_put_the_deadline_first_in_utc_and_jst)
{
	static const char *const kinds[] = { "initial", "reminder" };
	struct compose_times t = { states[_i].should_by, states[_i].must_by,
				   states[_i].now, false };
	char want_utc[128], want_jst[128], utc[40], jst[40];

	ck_assert_int_eq(zone_format(t.must_by, "UTC", utc, sizeof(utc)), 0);
	ck_assert_int_eq(
		zone_format(t.must_by + 9 * 3600, "UTC", jst, sizeof(jst)), 0);
	snprintf(want_utc, sizeof(want_utc), "■ 失効期限: %s UTC", utc);
	snprintf(want_jst, sizeof(want_jst), "%s UTC（日本時間 %s）", utc, jst);
	for (size_t k = 0; k < 2; k++) {
		char *with =
			render_shipped_in("ja", kinds[k], "Asia/Tokyo", &t);
		char *without = render_shipped_in("ja", kinds[k], NULL, &t);
		char *en = render_shipped_in("en", kinds[k], "Asia/Tokyo", &t);
		const char *body = strstr(with, " ■");

		ck_assert_msg(
			body != NULL && strstr(body, want_utc) == body + 1,
			"%s: the deadline is not first: %s", kinds[k], with);
		ck_assert_msg(strstr(with, want_jst) != NULL, "%s: no JST: %s",
			      kinds[k], with);
		ck_assert_msg(strstr(without, want_utc) != NULL &&
				      strstr(without, "日本時間") == NULL,
			      "%s: without a zone: %s", kinds[k], without);
		ck_assert_msg(strstr(en, jst) != NULL &&
				      strstr(en, "Japan Time") != NULL,
			      "%s en: %s", kinds[k], en);
		free(with);
		free(without);
		free(en);
	}
}
END_TEST

START_TEST(the_time_names_carry_the_state)
{
	struct compose_times t = { AWARE + DAY, AWARE + 5 * DAY,
				   AWARE + 5 * DAY + 2 * DAY + 3 * HOUR,
				   false };
	json_t *ctx = json_object();

	ck_assert_int_eq(compose_time_context(ctx, &t), 0);
	ck_assert_str_eq(json_string_value(json_object_get(ctx, "state")),
			 "must-passed");
	ck_assert(json_is_true(json_object_get(ctx, "must_passed")));
	ck_assert(json_is_false(json_object_get(ctx, "before_should")));
	ck_assert(json_is_false(json_object_get(ctx, "should_passed")));
	ck_assert(json_is_false(json_object_get(ctx, "revoked")));
	ck_assert(json_is_true(json_object_get(ctx, "has_should")));
	ck_assert_str_eq(json_string_value(json_object_get(ctx, "remaining")),
			 "overdue by 2 days 3 hours");
	ck_assert_str_eq(json_string_value(json_object_get(ctx, "overdue_by")),
			 "2 days 3 hours");
	ck_assert_str_eq(json_string_value(json_object_get(ctx, "time_left")),
			 "0 minutes");
	ck_assert_str_eq(json_string_value(json_object_get(ctx, "deadline")),
			 "2020-03-05 03:08:00 UTC");
	ck_assert_str_eq(
		json_string_value(json_object_get(ctx, "deadline_iso")),
		"2020-03-05T03:08:00Z");
	ck_assert_str_eq(json_string_value(json_object_get(ctx, "should_by")),
			 "2020-03-01 03:08:00 UTC");
	ck_assert_str_eq(json_string_value(json_object_get(ctx, "composed_at")),
			 "2020-03-07 06:08:00 UTC");
	json_decref(ctx);
}
END_TEST

START_TEST(durations_read_as_words)
{
	static const struct {
		long long s;
		const char *want;
	} d[] = {
		{ 0, "0 minutes" },
		{ 59, "0 minutes" },
		{ 60, "1 minute" },
		{ 3600 + 5 * 60, "1 hour 5 minutes" },
		{ 86400 + 3600, "1 day 1 hour" },
		{ 4 * 86400 + 17 * 3600 + 8 * 60, "4 days 17 hours" },
		{ -(2 * 86400 + 3600), "2 days 1 hour" },
	};
	char buf[96];

	for (size_t i = 0; i < sizeof(d) / sizeof(d[0]); i++) {
		compose_duration_words(d[i].s, buf, sizeof(buf));
		ck_assert_str_eq(buf, d[i].want);
	}
}
END_TEST

/* The message and its length (without compose_ok's wire check: a
 * check per byte is too slow for these sizes under ASan). */
static char *compose_len(const struct compose_input *in, size_t *len)
{
	char err[256] = "";
	char *m = compose_message(in, len, err, sizeof(err));

	ck_assert_msg(m != NULL, "compose failed: %s", err);
	ck_assert_uint_eq(strlen(m), *len);
	return m;
}

/* The base64 size is what compose_message really writes. */
START_TEST(base64_size_is_the_written_size)
{
	static const size_t lens[] = { 0, 1, 2, 3, 56, 57, 58, 114, 1000 };
	struct compose_attachment a = { "c.csv", "text/csv", NULL, 0 };
	struct compose_input in = base;
	char data[1000];
	char *m0, *m;
	size_t len0, len;

	memset(data, 'x', sizeof(data));
	a.data = data;
	in.attachment = &a;
	m0 = compose_len(&in, &len0);
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		a.len = lens[i];
		m = compose_len(&in, &len);
		ck_assert_uint_eq(len - len0, compose_base64_size(lens[i]));
		free(m);
	}
	free(m0);
}
END_TEST

/*
 * 2,000 rows of 90 bytes under a 32 KiB limit: consecutive parts, each
 * message (composed for real) at or under the limit, every row in
 * exactly one part.
 */
START_TEST(big_lists_split_into_parts_under_the_limit)
{
	enum { N = 2000, ROW = 90, HEAD = 40 };
	size_t *rows = malloc(N * sizeof(*rows));
	size_t *starts = malloc(N * sizeof(*starts));
	struct compose_attachment a = { "certificates.csv", "text/csv", NULL,
					0 };
	struct compose_input in = base;
	size_t max = 32 << 10, fixed, len, parts, covered = 0;
	char *data = malloc((size_t)N * ROW + HEAD), *m;

	memset(data, 'r', (size_t)N * ROW + HEAD);
	for (size_t i = 0; i < N; i++)
		rows[i] = ROW;
	a.data = data;
	in.attachment = &a;
	m = compose_len(&in, &fixed); /* the message with an empty CSV */
	free(m);
	parts = compose_split(rows, N, HEAD, fixed, max, starts);
	ck_assert_uint_eq(parts, 8); /* 180 KB: 246 KB in base64 lines */
	ck_assert_uint_eq(starts[0], 0);
	for (size_t p = 0; p < parts; p++) {
		size_t end = p + 1 < parts ? starts[p + 1] : N;

		ck_assert_uint_gt(end, starts[p]);
		a.len = HEAD + (end - starts[p]) * ROW;
		m = compose_len(&in, &len);
		ck_assert_uint_le(len, max);
		/* a part is as full as it can be: one more row would not
		 * fit */
		if (p + 1 < parts)
			ck_assert_uint_gt(
				len - compose_base64_size(a.len) +
					compose_base64_size(a.len + ROW),
				max);
		free(m);
		covered += end - starts[p];
	}
	ck_assert_uint_eq(covered, N);
	/* one part when it all fits; none when one row cannot */
	ck_assert_uint_eq(compose_split(rows, 10, HEAD, fixed, max, starts), 1);
	ck_assert_uint_eq(
		compose_split(rows, 10, HEAD, fixed, fixed + 100, starts), 0);
	ck_assert_uint_eq(compose_split(rows, 10, HEAD, max, max, starts), 0);
	free(rows);
	free(starts);
	free(data);
}
END_TEST

static Suite *compose_suite(void)
{
	Suite *s = suite_create("compose");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, a_plain_notice_is_exactly_the_golden_message);
	tcase_add_test(
		tc, reply_to_comes_after_to_and_names_with_specials_are_quoted);
	tcase_add_loop_test(tc, from_forms_give_the_right_from_line, 0,
			    (int)(sizeof(from_forms) / sizeof(from_forms[0])));
	tcase_add_loop_test(tc, non_ascii_subjects_are_rfc2047_and_decode_back,
			    0, (int)(sizeof(encoded) / sizeof(encoded[0])));
	tcase_add_test(tc, long_ascii_subjects_fold_at_78_and_unfold_back);
	tcase_add_test(tc, subject_injection_gives_one_subject_and_no_bcc);
	tcase_add_loop_test(tc, bad_addresses_are_refused, 0,
			    (int)(sizeof(bad_addrs) / sizeof(bad_addrs[0])));
	tcase_add_test(tc, other_bad_input_is_refused);
	tcase_add_loop_test(tc, quoted_printable_bodies_decode_back, 0,
			    (int)(sizeof(qp_bodies) / sizeof(qp_bodies[0])));
	tcase_add_test(tc, seven_bit_bodies_get_crlf_and_a_final_line_end);
	tcase_add_test(tc, an_html_part_is_an_alternative_after_the_text);
	tcase_add_loop_test(tc, attachments_are_base64_and_decode_back, 0,
			    (int)(sizeof(att_sizes) / sizeof(att_sizes[0])));
	tcase_add_test(tc, the_boundary_never_occurs_in_a_part);
	tcase_add_test(tc, long_display_names_and_content_types_fold);
	tcase_add_loop_test(tc, message_ids_have_the_stable_form, 0,
			    (int)(sizeof(msgids) / sizeof(msgids[0])));
	tcase_add_loop_test(tc, dates_are_rfc5322_utc_whatever_tz_says, 0,
			    (int)(sizeof(dates) / sizeof(dates[0])));
	tcase_add_test(tc, message_date_ignores_tz);
	tcase_add_test(tc, csv_fields_are_quoted_per_rfc4180);
	tcase_add_loop_test(tc, the_state_follows_the_last_on_time_seconds, 0,
			    (int)(sizeof(states) / sizeof(states[0])));
	tcase_add_loop_test(tc,
			    shipped_templates_say_what_is_true_in_each_state, 0,
			    (int)(sizeof(wording) / sizeof(wording[0])));
	tcase_add_test(tc, the_time_names_carry_the_state);
	tcase_add_loop_test(
		tc, japanese_templates_put_the_deadline_first_in_utc_and_jst, 0,
		(int)(sizeof(states) / sizeof(states[0])));
	tcase_add_test(tc, durations_read_as_words);
	tcase_add_test(tc, base64_size_is_the_written_size);
	tcase_add_test(tc, big_lists_split_into_parts_under_the_limit);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(compose_suite)
