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
#include "certrecall/base/utctime.h"
#include "certrecall/base/xalloc.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* RFC 5322 2.1.1: SHOULD fold at 78, MUST NOT pass 998. */
#define LINE_SOFT 78
#define LINE_HARD 998
/* RFC 2047 2: an encoded-word is at most 75 characters. */
#define EWORD_MAX 75
/* "=?UTF-8?Q?" + "?=" */
#define EWORD_OVERHEAD 12
/* RFC 2045 6.7 (5) and 6.8: encoded lines are at most 76 characters. */
#define QP_LINE 76
#define B64_LINE 76
/* RFC 5321 4.5.3.1.3: a path is at most 256 octets with its brackets. */
#define ADDR_MAX 254
#define MSGID_MAX 900
#define PARAM_MAX 200

struct buf {
	char *p;
	size_t len, cap;
};

/* A header field being written, and the column its last line reached. */
struct hdr {
	struct buf *b;
	size_t col;
	bool first; /* no word written after the field name yet */
};

/* An address split into display name (may be empty) and addr-spec. */
struct addr {
	char *name;
	size_t namelen;
	const char *spec;
	size_t speclen;
	bool brackets; /* the input used <...> */
};

/* Most writes are a byte or a word: only a full buffer calls out. */
static void put(struct buf *b, const char *s, size_t len)
{
	if (b->len + len + 1 > b->cap)
		xgrow(&b->p, &b->cap, b->len + len + 1, 1);
	if (len > 0)
		memcpy(b->p + b->len, s, len);
	b->len += len;
	b->p[b->len] = '\0';
}

static void puts_(struct buf *b, const char *s)
{
	put(b, s, strlen(s));
}

static void putc_(struct buf *b, char c)
{
	put(b, &c, 1);
}

static const char hexdig[] = "0123456789ABCDEF";

static void put_hex(struct buf *b, unsigned char c)
{
	char h[3] = { '=', hexdig[c >> 4], hexdig[c & 15] };

	put(b, h, 3);
}

/*
 * Length of the valid UTF-8 sequence at s (1-4), or 0 when it is not one
 * (overlong forms, surrogates and code points past U+10FFFF are invalid).
 */
static size_t utf8_char(const unsigned char *s, size_t len)
{
	size_t n, i;
	uint32_t cp;

	if (len == 0)
		return 0;
	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		n = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if (len < n)
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return n;
}

/* Offset of the first byte that is not valid UTF-8, or len. */
static size_t utf8_check(const char *s, size_t len)
{
	size_t i = 0, n;

	while (i < len) {
		n = utf8_char((const unsigned char *)s + i, len - i);
		if (n == 0)
			return i;
		i += n;
	}
	return len;
}

static bool is_ascii(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] >= 0x80)
			return false;
	return true;
}

static bool is_ctl(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

/* RFC 5322 3.2.3 atext. */
static bool is_atext(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') ||
	       (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

static void hdr_begin(struct hdr *h, struct buf *b, const char *name)
{
	h->b = b;
	h->first = true;
	puts_(b, name);
	h->col = strlen(name);
}

/*
 * Appends " word", folding before the space when the word would pass
 * column 78 (the space then starts the continuation line).  The first
 * word stays on the field name's line.
 */
static void hdr_word(struct hdr *h, const char *w, size_t len)
{
	if (!h->first && h->col + 1 + len > LINE_SOFT) {
		puts_(h->b, "\r\n");
		h->col = 0;
	}
	putc_(h->b, ' ');
	put(h->b, w, len);
	h->col += 1 + len;
	h->first = false;
}

/* Appends the blank-separated words of s (ASCII, no controls). */
static void hdr_words(struct hdr *h, const char *s, size_t len)
{
	size_t i = 0, j;

	while (i < len) {
		while (i < len && s[i] == ' ')
			i++;
		j = i;
		while (j < len && s[j] != ' ')
			j++;
		if (j > i)
			hdr_word(h, s + i, j - i);
		i = j;
	}
}

static void hdr_end(struct hdr *h)
{
	puts_(h->b, "\r\n");
}

/* RFC 2047 5 (3): the Q characters allowed even inside a phrase. */
static bool q_literal(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '!' || c == '*' || c == '+' ||
	       c == '-' || c == '/';
}

static size_t q_size(unsigned char c)
{
	return (c == ' ' || q_literal(c)) ? 1 : 3;
}

static void put_q(struct buf *b, const unsigned char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (s[i] == ' ')
			putc_(b, '_');
		else if (q_literal(s[i]))
			putc_(b, (char)s[i]);
		else
			put_hex(b, s[i]);
	}
}

static const char b64[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void put_b64(struct buf *b, const unsigned char *s, size_t len)
{
	size_t i;
	char o[4];

	for (i = 0; i + 2 < len; i += 3) {
		o[0] = b64[s[i] >> 2];
		o[1] = b64[((s[i] & 3) << 4) | (s[i + 1] >> 4)];
		o[2] = b64[((s[i + 1] & 15) << 2) | (s[i + 2] >> 6)];
		o[3] = b64[s[i + 2] & 63];
		put(b, o, 4);
	}
	if (i < len) {
		o[0] = b64[s[i] >> 2];
		if (i + 1 < len) {
			o[1] = b64[((s[i] & 3) << 4) | (s[i + 1] >> 4)];
			o[2] = b64[(s[i + 1] & 15) << 2];
		} else {
			o[1] = b64[(s[i] & 3) << 4];
			o[2] = '=';
		}
		o[3] = '=';
		put(b, o, 4);
	}
}

/*
 * Appends s (valid UTF-8) as RFC 2047 encoded-words, each at most 75
 * characters and holding whole characters only (6.3: a character is
 * never split between words).  Q is used when most of s is plain ASCII,
 * else B.  Decoders drop the folding white space between adjacent
 * encoded-words (6.2), so s comes back exactly, spaces included.
 */
static void hdr_encoded(struct hdr *h, const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i, special = 0, pos = 0;
	bool q;
	struct buf w = { NULL, 0, 0 };

	for (i = 0; i < len; i++)
		if (q_size(u[i]) > 1)
			special++;
	q = special * 6 <= len;
	while (pos < len) {
		/* The first word shares its line with the field name. */
		size_t max = EWORD_MAX, room, used = 0, n = 0, c, k, cost;

		if (h->first && LINE_SOFT - 1 - h->col < max)
			max = LINE_SOFT - 1 - h->col;
		room = max - EWORD_OVERHEAD;
		while (pos + n < len) {
			c = utf8_char(u + pos + n, len - pos - n);
			if (c == 0)
				c = 1; /* callers checked; never loop */
			if (q) {
				cost = 0;
				for (k = 0; k < c; k++)
					cost += q_size(u[pos + n + k]);
				if (used + cost > room)
					break;
				used += cost;
			} else if ((n + c + 2) / 3 * 4 > room) {
				break;
			}
			n += c;
		}
		if (n == 0)
			n = 1; /* unreachable: a 4-byte char always fits */
		w.len = 0;
		puts_(&w, q ? "=?UTF-8?Q?" : "=?UTF-8?B?");
		if (q)
			put_q(&w, u + pos, n);
		else
			put_b64(&w, u + pos, n);
		puts_(&w, "?=");
		hdr_word(h, w.p, w.len);
		pos += n;
	}
	free(w.p);
}

/*
 * Unstructured text such as the subject: controls become spaces, runs of
 * blanks one space, ends trimmed.  Caller frees.  NULL if not UTF-8.
 */
static char *clean_text(const char *s, size_t *outlen)
{
	size_t len = strlen(s), i, n = 0;
	char *t;

	if (utf8_check(s, len) != len)
		return NULL;
	t = xmalloc(len + 1);
	for (i = 0; i < len; i++) {
		char c = s[i];

		if (is_ctl((unsigned char)c))
			c = ' ';
		if (c == ' ' && (n == 0 || t[n - 1] == ' '))
			continue;
		t[n++] = c;
	}
	while (n > 0 && t[n - 1] == ' ')
		n--;
	t[n] = '\0';
	*outlen = n;
	return t;
}

/*
 * Plain words are fine when s is ASCII, no word looks like an
 * encoded-word (RFC 2047 5: such text must itself be encoded) and every
 * word fits a continuation line; otherwise encode.
 */
static bool plain_words(const char *s, size_t len)
{
	size_t i, word = 0;

	if (!is_ascii(s, len) || memmem(s, len, "=?", 2) != NULL)
		return false;
	for (i = 0; i < len; i++) {
		word = s[i] == ' ' ? 0 : word + 1;
		if (word > LINE_SOFT - 1 - strlen("Reply-To:"))
			return false;
	}
	return true;
}

static int write_subject(struct buf *b, const char *subject, char *err,
			 size_t errlen)
{
	struct hdr h;
	size_t len;
	char *s = clean_text(subject, &len);

	if (s == NULL)
		return errmsg_set(err, errlen, "subject is not valid UTF-8");
	hdr_begin(&h, b, "Subject:");
	if (plain_words(s, len))
		hdr_words(&h, s, len);
	else
		hdr_encoded(&h, s, len);
	hdr_end(&h);
	free(s);
	return 0;
}

static void addr_free(struct addr *a)
{
	free(a->name);
	a->name = NULL;
}

/* addr-spec: dot-atom "@" domain, ASCII only (we do not send SMTPUTF8). */
static bool valid_spec(const char *s, size_t len)
{
	const char *at = memchr(s, '@', len);
	size_t i, local;

	if (at == NULL || len > ADDR_MAX)
		return false;
	local = (size_t)(at - s);
	if (local == 0 || local + 1 == len || s[0] == '.' ||
	    s[local - 1] == '.' || s[local + 1] == '.' || s[len - 1] == '.')
		return false;
	for (i = 0; i < len; i++) {
		char c = s[i];

		if (i == local)
			continue;
		if (c == '.' && s[i + 1] == '.')
			return false;
		if (i < local && c != '.' && !is_atext(c))
			return false;
		if (i > local && c != '.' && c != '-' &&
		    !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9')))
			return false;
	}
	return true;
}

/*
 * Splits "Display Name <addr>", "<addr>" or "addr".  A display name given
 * as a quoted-string is unquoted first so it is not quoted twice.  Any
 * control character, a bracket that does not pair, a bad addr-spec or a
 * name that is not UTF-8 is an error.
 */
static int parse_addr(const char *s, const char *what, struct addr *a,
		      char *err, size_t errlen)
{
	const char *lt, *gt, *p, *name;
	size_t len, i, nlen, n;
	bool quoted;

	memset(a, 0, sizeof(*a));
	if (s == NULL)
		return errmsg_set(err, errlen, "%s: no address", what);
	len = strlen(s);
	for (i = 0; i < len; i++)
		if (is_ctl((unsigned char)s[i]))
			return errmsg_set(err, errlen,
					  "%s: control character in address",
					  what);
	lt = strchr(s, '<');
	gt = strchr(s, '>');
	if (lt == NULL && gt == NULL) {
		a->spec = s;
		a->speclen = len;
		while (a->speclen > 0 && *a->spec == ' ') {
			a->spec++;
			a->speclen--;
		}
		while (a->speclen > 0 && a->spec[a->speclen - 1] == ' ')
			a->speclen--;
	} else {
		if (lt == NULL || gt == NULL || gt < lt ||
		    strchr(lt + 1, '<') != NULL || strchr(gt + 1, '>') != NULL)
			return errmsg_set(err, errlen,
					  "%s: angle brackets do not match",
					  what);
		for (p = gt + 1; *p == ' '; p++)
			;
		if (*p != '\0')
			return errmsg_set(err, errlen, "%s: text after '>'",
					  what);
		a->spec = lt + 1;
		a->speclen = (size_t)(gt - lt - 1);
		a->brackets = true;
		name = s;
		nlen = (size_t)(lt - s);
		while (nlen > 0 && *name == ' ') {
			name++;
			nlen--;
		}
		while (nlen > 0 && name[nlen - 1] == ' ')
			nlen--;
		quoted = nlen >= 2 && name[0] == '"' && name[nlen - 1] == '"';
		if (quoted) {
			name++;
			nlen -= 2;
		}
		a->name = xmalloc(nlen + 1);
		for (i = 0, n = 0; i < nlen; i++) {
			if (quoted && name[i] == '\\' && i + 1 < nlen)
				i++;
			a->name[n++] = name[i];
		}
		a->name[n] = '\0';
		a->namelen = n;
	}
	if (!is_ascii(a->spec, a->speclen) ||
	    !valid_spec(a->spec, a->speclen)) {
		addr_free(a);
		return errmsg_set(
			err, errlen, "%s: \"%.*s\" is not an address", what,
			(int)(a->speclen < 80 ? a->speclen : 80), a->spec);
	}
	if (utf8_check(a->name ? a->name : "", a->namelen) != a->namelen) {
		addr_free(a);
		return errmsg_set(err, errlen, "%s: display name is not UTF-8",
				  what);
	}
	return 0;
}

/* True when the name can go out as atoms: atext words and spaces. */
static bool atom_phrase(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (s[i] != ' ' && !is_atext(s[i]))
			return false;
	return plain_words(s, len);
}

static void write_addr(struct buf *b, const char *field, const struct addr *a)
{
	struct hdr h;
	struct buf q = { NULL, 0, 0 };
	size_t i, len;
	char *name = NULL;

	hdr_begin(&h, b, field);
	if (a->namelen > 0)
		name = clean_text(a->name, &len);
	if (name != NULL && len > 0) {
		if (atom_phrase(name, len)) {
			hdr_words(&h, name, len);
		} else if (is_ascii(name, len) && len <= LINE_SOFT - 20) {
			/* RFC 5322 3.2.4 quoted-string */
			putc_(&q, '"');
			for (i = 0; i < len; i++) {
				if (name[i] == '"' || name[i] == '\\')
					putc_(&q, '\\');
				putc_(&q, name[i]);
			}
			putc_(&q, '"');
			hdr_word(&h, q.p, q.len);
		} else {
			hdr_encoded(&h, name, len);
		}
	}
	q.len = 0;
	putc_(&q, '<');
	put(&q, a->spec, a->speclen);
	putc_(&q, '>');
	if (h.first && !a->brackets)
		hdr_word(&h, a->spec, a->speclen);
	else
		hdr_word(&h, q.p, q.len);
	hdr_end(&h);
	free(q.p);
	free(name);
}

/*
 * The body with every line ending (CRLF, LF or a lone CR) as CRLF and a
 * final CRLF when it is not empty.  Reports whether it can go out as
 * 7bit: printable ASCII and tabs only, no line over 998 octets.
 */
static void normalise_body(const char *s, struct buf *out, bool *sevenbit)
{
	size_t i, col = 0;

	*sevenbit = true;
	for (i = 0; s[i] != '\0'; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\r' || c == '\n') {
			if (c == '\r' && s[i + 1] == '\n')
				i++;
			puts_(out, "\r\n");
			col = 0;
			continue;
		}
		if ((c < 0x20 && c != '\t') || c >= 0x7f || ++col > LINE_HARD)
			*sevenbit = false;
		putc_(out, (char)c);
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
static void put_qp(struct buf *b, const char *s, size_t len)
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
static void put_b64_lines(struct buf *b, const char *s, size_t len)
{
	size_t i, n, per = B64_LINE / 4 * 3;

	for (i = 0; i < len; i += n) {
		n = len - i < per ? len - i : per;
		if (i > 0)
			puts_(b, "\r\n");
		put_b64(b, (const unsigned char *)s + i, n);
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
static void put_text_section(struct buf *out, const struct buf *body,
			     bool sevenbit, const char *html,
			     const char *alt_boundary, const char *trailer)
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
		struct buf h = { NULL, 0, 0 };
		bool ignored;

		normalise_body(html, &h, &ignored);
		put_qp(out, h.p, h.len);
		free(h.p);
	}
	puts_(out, "\r\n--");
	puts_(out, alt_boundary);
	puts_(out, "--");
}

char *compose_message(const struct compose_input *in, size_t *len, char *err,
		      size_t errlen)
{
	struct buf out = { NULL, 0, 0 }, body = { NULL, 0, 0 };
	struct addr from, to, reply;
	const struct compose_attachment *att;
	char date[64], boundary[64], alt[72], *ret = NULL;
	const char *ct = NULL;
	struct hdr h;
	bool sevenbit;
	size_t bad;
	int n;

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
	if (parse_addr(in->from, "from", &from, err, errlen) != 0 ||
	    parse_addr(in->to, "to", &to, err, errlen) != 0 ||
	    (in->reply_to != NULL &&
	     parse_addr(in->reply_to, "reply-to", &reply, err, errlen) != 0))
		goto out;
	if (!valid_msgid(in->message_id)) {
		errmsg_set(err, errlen,
			   "message id \"%.80s\" is not id@domain "
			   "without spaces or brackets",
			   in->message_id);
		goto out;
	}
	if (compose_date(in->date, date, sizeof(date)) != 0) {
		errmsg_set(err, errlen, "date out of range");
		goto out;
	}
	bad = utf8_check(in->body, strlen(in->body));
	if (in->body[bad] != '\0') {
		errmsg_set(err, errlen, "body is not valid UTF-8 (at byte %zu)",
			   bad);
		goto out;
	}
	if (in->html != NULL &&
	    in->html[utf8_check(in->html, strlen(in->html))] != '\0') {
		errmsg_set(err, errlen, "HTML part is not valid UTF-8");
		goto out;
	}
	if (att != NULL) {
		ct = att->content_type ? att->content_type
				       : "application/octet-stream";
		if (att->filename == NULL ||
		    !valid_param(att->filename, true)) {
			errmsg_set(err, errlen,
				   "attachment filename must be "
				   "printable ASCII without quotes");
			goto out;
		}
		if (!valid_param(ct, false)) {
			errmsg_set(err, errlen,
				   "attachment content type must be "
				   "printable ASCII");
			goto out;
		}
		if (att->data == NULL && att->len > 0) {
			errmsg_set(err, errlen, "attachment has no data");
			goto out;
		}
	}
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
	n = snprintf(boundary, sizeof(boundary), "=_certrecall_%016llx%016llx",
		     (unsigned long long)fnv1a(in->message_id,
					       0xcbf29ce484222325ULL),
		     (unsigned long long)fnv1a(in->message_id,
					       0x84222325cbf29ce4ULL));
	if (n < 0 || (size_t)n >= sizeof(boundary)) {
		errmsg_set(err, errlen, "boundary does not fit");
		goto out;
	}
	/* Not a prefix of the outer one, nor it of this (RFC 2046 5.1.1). */
	snprintf(alt, sizeof(alt), "=_alt_%s", boundary + 2);

	puts_(&out, "Date: ");
	puts_(&out, date);
	puts_(&out, "\r\n");
	write_addr(&out, "From:", &from);
	write_addr(&out, "To:", &to);
	if (in->reply_to != NULL)
		write_addr(&out, "Reply-To:", &reply);
	if (write_subject(&out, in->subject, err, errlen) != 0)
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
		puts_(&out, "Content-Type: multipart/mixed;\r\n boundary=\"");
		puts_(&out, boundary);
		puts_(&out, "\"\r\nAuto-Submitted: auto-generated\r\n\r\n");
		/* RFC 2046 5.1.1: the CRLF before "--" belongs to it. */
		puts_(&out, "--");
		puts_(&out, boundary);
		puts_(&out, "\r\n");
		put_text_section(&out, &body, sevenbit, in->html, alt, "");
		puts_(&out, "\r\n--");
		puts_(&out, boundary);
		puts_(&out, "\r\n");
		hdr_begin(&h, &out, "Content-Type:");
		hdr_words(&h, ct, strlen(ct));
		hdr_end(&h);
		hdr_begin(&h, &out, "Content-Disposition:");
		hdr_word(&h, "attachment;", strlen("attachment;"));
		body.len = 0;
		puts_(&body, "filename=\"");
		puts_(&body, att->filename);
		putc_(&body, '"');
		hdr_word(&h, body.p, body.len);
		hdr_end(&h);
		puts_(&out, "Content-Transfer-Encoding: base64\r\n\r\n");
		put_b64_lines(&out, att->data, att->len);
		puts_(&out, "\r\n--");
		puts_(&out, boundary);
		puts_(&out, "--\r\n");
	}
	if (len != NULL)
		*len = out.len;
	ret = out.p;
	out.p = NULL;
out:
	addr_free(&reply);
	addr_free(&to);
	addr_free(&from);
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
	for (i = 0; i < n; i++) {
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
	snprintf(remaining, sizeof(remaining),
		 to_must >= 0 ? "%s from now" : "overdue by %s",
		 to_must >= 0 ? left : over);
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
