/*
 * compose_header.c - the header fields of a notice (pure): RFC 5322
 * folding at 78 octets, RFC 2047 encoded words for non-ASCII text, and
 * addresses checked and written as display name plus addr-spec.
 */
#include "certrecall/base/errmsg.h"
#include "certrecall/base/xalloc.h"
#include "certrecall/core/compose.h"
#include "certrecall/core/compose_int.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
size_t compose_utf8_check(const char *s, size_t len)
{
	size_t i = 0, n;

	while (i < len) {
		uint64_t w;

		/* eight ASCII bytes at a time: most text is ASCII */
		if (len - i >= 8) {
			memcpy(&w, s + i, 8);
			if ((w & 0x8080808080808080ULL) == 0) {
				i += 8;
				continue;
			}
		}
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

void compose_hdr_begin(struct compose_hdr *h, struct compose_buf *b,
		       const char *name)
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
void compose_hdr_word(struct compose_hdr *h, const char *w, size_t len)
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
void compose_hdr_words(struct compose_hdr *h, const char *s, size_t len)
{
	size_t i = 0, j;

	while (i < len) {
		while (i < len && s[i] == ' ')
			i++;
		j = i;
		while (j < len && s[j] != ' ')
			j++;
		if (j > i)
			compose_hdr_word(h, s + i, j - i);
		i = j;
	}
}

void compose_hdr_end(struct compose_hdr *h)
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

static void put_q(struct compose_buf *b, const unsigned char *s, size_t len)
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

void compose_put_b64(struct compose_buf *b, const unsigned char *s, size_t len)
{
	size_t i;
	char *o;

	/* Room for all of it at once: an attachment is megabytes. */
	if (b->len + (len + 2) / 3 * 4 + 1 > b->cap)
		xgrow(&b->p, &b->cap, b->len + (len + 2) / 3 * 4 + 1, 1);
	o = b->p + b->len;
	for (i = 0; i + 2 < len; i += 3) {
		o[0] = b64[s[i] >> 2];
		o[1] = b64[((s[i] & 3) << 4) | (s[i + 1] >> 4)];
		o[2] = b64[((s[i + 1] & 15) << 2) | (s[i + 2] >> 6)];
		o[3] = b64[s[i + 2] & 63];
		o += 4;
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
		o += 4;
	}
	b->len = (size_t)(o - b->p);
	b->p[b->len] = '\0';
}

/*
 * Appends s (valid UTF-8) as RFC 2047 encoded-words, each at most 75
 * characters and holding whole characters only (6.3: a character is
 * never split between words).  Q is used when most of s is plain ASCII,
 * else B.  Decoders drop the folding white space between adjacent
 * encoded-words (6.2), so s comes back exactly, spaces included.
 */
static void hdr_encoded(struct compose_hdr *h, const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i, special = 0, pos = 0;
	bool q;
	struct compose_buf w = { NULL, 0, 0 };

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
			compose_put_b64(&w, u + pos, n);
		puts_(&w, "?=");
		compose_hdr_word(h, w.p, w.len);
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

	if (compose_utf8_check(s, len) != len)
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

int compose_write_subject(struct compose_buf *b, const char *subject, char *err,
			  size_t errlen)
{
	struct compose_hdr h;
	size_t len;
	char *s = clean_text(subject, &len);

	if (s == NULL)
		return errmsg_set(err, errlen, "subject is not valid UTF-8");
	compose_hdr_begin(&h, b, "Subject:");
	if (plain_words(s, len))
		compose_hdr_words(&h, s, len);
	else
		hdr_encoded(&h, s, len);
	compose_hdr_end(&h);
	free(s);
	return 0;
}

void compose_addr_free(struct compose_addr *a)
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
int compose_parse_addr(const char *s, const char *what, struct compose_addr *a,
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
		compose_addr_free(a);
		return errmsg_set(
			err, errlen, "%s: \"%.*s\" is not an address", what,
			(int)(a->speclen < 80 ? a->speclen : 80), a->spec);
	}
	if (compose_utf8_check(a->name ? a->name : "", a->namelen) !=
	    a->namelen) {
		compose_addr_free(a);
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

void compose_write_addr(struct compose_buf *b, const char *field,
			const struct compose_addr *a)
{
	struct compose_hdr h;
	struct compose_buf q = { NULL, 0, 0 };
	size_t i, len;
	char *name = NULL;

	compose_hdr_begin(&h, b, field);
	if (a->namelen > 0)
		name = clean_text(a->name, &len);
	if (name != NULL && len > 0) {
		if (atom_phrase(name, len)) {
			compose_hdr_words(&h, name, len);
		} else if (is_ascii(name, len) && len <= LINE_SOFT - 20) {
			/* RFC 5322 3.2.4 quoted-string */
			putc_(&q, '"');
			for (i = 0; i < len; i++) {
				if (name[i] == '"' || name[i] == '\\')
					putc_(&q, '\\');
				putc_(&q, name[i]);
			}
			putc_(&q, '"');
			compose_hdr_word(&h, q.p, q.len);
		} else {
			hdr_encoded(&h, name, len);
		}
	}
	q.len = 0;
	putc_(&q, '<');
	put(&q, a->spec, a->speclen);
	putc_(&q, '>');
	if (h.first && !a->brackets)
		compose_hdr_word(&h, a->spec, a->speclen);
	else
		compose_hdr_word(&h, q.p, q.len);
	compose_hdr_end(&h);
	free(q.p);
	free(name);
}
