/*
 * bounces.c - VERP tags and delivery status notifications (see bounces.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <gmime/gmime.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "certrecall/core/bounces.h"
#include "certrecall/base/errmsg.h"
#include "certrecall/base/log.h"
#include "certrecall/base/xalloc.h"

#define MAC_BYTES 16

const char *bounces_action_name(enum bounces_action a)
{
	switch (a) {
	case BOUNCES_DELIVERED:
		return "delivered";
	case BOUNCES_DELAYED:
		return "delayed";
	case BOUNCES_RELAYED:
		return "relayed";
	case BOUNCES_BOUNCED:
		return "bounced";
	default:
		return "";
	}
}

int bounces_key_load(struct bounces_key *k, const char *path)
{
	struct stat st;
	ssize_t n;
	int fd, rc = -1;

	memset(k, 0, sizeof(*k));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return log_error("mailer.bounce_key: cannot open \"%s\": %s",
				 path, strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		log_error("mailer.bounce_key: \"%s\" is not a regular file",
			  path);
		goto out;
	}
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		log_error("mailer.bounce_key: \"%s\" is readable by group or "
			  "others (mode %04o); run chmod 600 on it",
			  path, (unsigned)(st.st_mode & 07777));
		goto out;
	}
	n = read(fd, k->key, sizeof(k->key));
	if (n < 0) {
		log_error("mailer.bounce_key: cannot read \"%s\": %s", path,
			  strerror(errno));
		goto out;
	}
	while (n > 0 && (k->key[n - 1] == '\n' || k->key[n - 1] == '\r'))
		n--;
	if (n < 16) {
		log_error("mailer.bounce_key: \"%s\" holds %zd bytes; a key "
			  "has at least 16 (e.g. openssl rand -hex 32)",
			  path, n);
		goto out;
	}
	k->len = (size_t)n;
	rc = 0;
out:
	if (rc < 0)
		OPENSSL_cleanse(k, sizeof(*k));
	close(fd);
	return rc;
}

int bounces_pattern_check(const char *pattern, char *err, size_t errlen)
{
	const char *id = strstr(pattern, "{id}");
	const char *at = strchr(pattern, '@');

	if (id == NULL || strstr(id + 4, "{id}") != NULL) {
		return errmsg_set(err, errlen, "needs exactly one {id}");
	}
	if (at == NULL || strchr(at + 1, '@') != NULL || at < id ||
	    at[1] == '\0') {
		return errmsg_set(err, errlen,
				  "{id} belongs in the local part of one "
				  "address (bounces+{id}@domain)");
	}
	for (const char *p = pattern; *p; p++) {
		if (*p <= ' ' || *p >= 0x7f || strchr("<>()[]\\,;:\"", *p)) {
			return errmsg_set(err, errlen,
					  "'%c' has no place in an address",
					  *p > ' ' && *p < 0x7f ? *p : '?');
		}
	}
	if (strlen(pattern) - 4 + BOUNCES_TAG_MAX > 254) {
		return errmsg_set(err, errlen, "too long for an address");
	}
	return 0;
}

static void mac_hex(const struct bounces_key *k, long long notice_id,
		    char hex[2 * MAC_BYTES + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char msg[64];
	int n = snprintf(msg, sizeof(msg), "certrecall-notice:%lld", notice_id);

	HMAC(EVP_sha256(), k->key, (int)k->len, (const unsigned char *)msg,
	     (size_t)n, md, &mdlen);
	static const char digit[] = "0123456789abcdef";

	for (int i = 0; i < MAC_BYTES; i++) {
		hex[2 * i] = digit[md[i] >> 4];
		hex[2 * i + 1] = digit[md[i] & 0x0f];
	}
	hex[2 * MAC_BYTES] = '\0';
}

int bounces_tag(const struct bounces_key *k, long long notice_id, char *buf,
		size_t len)
{
	char hex[2 * MAC_BYTES + 1];
	int n;

	mac_hex(k, notice_id, hex);
	n = snprintf(buf, len, "%lld-%s", notice_id, hex);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

int bounces_return_path(const struct bounces_key *k, const char *pattern,
			long long notice_id, char *buf, size_t len)
{
	const char *id = strstr(pattern, "{id}");
	char tag[BOUNCES_TAG_MAX];
	int n;

	if (id == NULL)
		return -1;
	if (bounces_tag(k, notice_id, tag, sizeof(tag)) < 0)
		return -1;
	n = snprintf(buf, len, "%.*s%s%s", (int)(id - pattern), pattern, tag,
		     id + 4);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

int bounces_tag_verify(const struct bounces_key *k, const char *tag,
		       long long *notice_id)
{
	char hex[2 * MAC_BYTES + 1];
	const char *dash = strchr(tag, '-');
	long long id = 0;

	if (dash == NULL || dash == tag || dash - tag > 18 ||
	    strlen(dash + 1) != 2 * MAC_BYTES)
		return -1;
	for (const char *p = tag; p < dash; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		id = id * 10 + (*p - '0');
	}
	for (const char *p = dash + 1; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return -1;
	mac_hex(k, id, hex);
	if (CRYPTO_memcmp(hex, dash + 1, 2 * MAC_BYTES) != 0)
		return 0;
	*notice_id = id;
	return 1;
}

void bounces_init(void)
{
	g_mime_init();
}

/* ---- parsing ------------------------------------------------------ */

/* What a walk over the MIME tree collects. */
struct walk {
	const char *prefix; /* pattern up to {id} */
	size_t prefix_len;
	const char *suffix; /* pattern after {id} */
	bool report;	    /* a message/delivery-status part was seen */
	GString *text;	    /* the bounce's own text parts, decoded */
	GString *quoted;    /* quoted headers and messages */
	struct bounces_dsn *out;
};

/* Copies s (n bytes) to a one-line printable string. */
static void copy_line(char *dst, size_t cap, const char *s, size_t n)
{
	size_t j = 0;

	while (n > 0 && (*s == ' ' || *s == '\t')) {
		s++;
		n--;
	}
	for (size_t i = 0; i < n && j + 1 < cap; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\r' || c == '\n' || c == '\t')
			c = ' ';
		if (c < 0x20 || c == 0x7f)
			continue;
		if (c == ' ' && j > 0 && dst[j - 1] == ' ')
			continue;
		dst[j++] = (char)c;
	}
	while (j > 0 && dst[j - 1] == ' ')
		j--;
	dst[j] = '\0';
}

/* Finds a tag of the pattern in s: copied to out->tag; true if found. */
static bool find_tag(struct walk *w, const char *s, size_t n)
{
	size_t slen = strlen(w->suffix);

	if (s == NULL || w->prefix_len == 0)
		return false;
	for (size_t i = 0; i + w->prefix_len <= n; i++) {
		size_t j = i + w->prefix_len, t = 0;
		char tag[BOUNCES_TAG_MAX];

		if (strncasecmp(s + i, w->prefix, w->prefix_len) != 0)
			continue;
		while (j < n && t + 1 < sizeof(tag) &&
		       (s[j] == '-' || (s[j] >= '0' && s[j] <= '9') ||
			(s[j] >= 'a' && s[j] <= 'f') ||
			(s[j] >= 'A' && s[j] <= 'F')))
			tag[t++] = (char)(s[j] >= 'A' && s[j] <= 'F'
						  ? s[j] - 'A' + 'a'
						  : s[j]),
			j++;
		tag[t] = '\0';
		if (t == 0 || n - j < slen ||
		    strncasecmp(s + j, w->suffix, slen) != 0)
			continue;
		memcpy(w->out->tag, tag, t + 1);
		return true;
	}
	return false;
}

static enum bounces_action action_of(const char *v)
{
	if (strncasecmp(v, "failed", 6) == 0)
		return BOUNCES_BOUNCED;
	if (strncasecmp(v, "delayed", 7) == 0)
		return BOUNCES_DELAYED;
	if (strncasecmp(v, "delivered", 9) == 0)
		return BOUNCES_DELIVERED;
	/* RFC 3464 2.3.3: handed to a next hop that does not speak DSN,
	 * or to a list's members: nobody confirms the mailbox got it */
	if (strncasecmp(v, "relayed", 7) == 0 ||
	    strncasecmp(v, "expanded", 8) == 0)
		return BOUNCES_RELAYED;
	return BOUNCES_NONE;
}

/* One per-recipient group of a delivery-status body. */
struct group {
	enum bounces_action action;
	char status[16];
	char diagnostic[512];
	char recipient[320];
};

static void group_end(struct group *g, struct bounces_dsn *out)
{
	if (g->action > out->action) {
		out->action = g->action;
		memcpy(out->status, g->status, sizeof(out->status));
		memcpy(out->diagnostic, g->diagnostic, sizeof(out->diagnostic));
		memcpy(out->recipient, g->recipient, sizeof(out->recipient));
	}
	memset(g, 0, sizeof(*g));
}

/* A value after "type;" (rfc822; addr) or the whole one. */
static const char *after_type(const char *v)
{
	const char *semi = strchr(v, ';');

	return semi != NULL ? semi + 1 : v;
}

/*
 * The fields of an RFC 3464 delivery-status body (RFC 822-style fields
 * in groups separated by blank lines; the first group is per message).
 * A field's continuation lines (leading white space) are unfolded.
 */
static void parse_status_fields(const char *s, size_t n,
				struct bounces_dsn *out)
{
	struct group g;
	char field[1024];
	size_t flen = 0;
	size_t i = 0;

	memset(&g, 0, sizeof(g));
	field[0] = '\0';
	while (i <= n) {
		size_t e = i;
		bool blank;

		while (e < n && s[e] != '\n')
			e++;
		{
			size_t le = e;

			if (le > i && s[le - 1] == '\r')
				le--;
			blank = le == i;
			if (!blank && (s[i] == ' ' || s[i] == '\t') &&
			    flen > 0) {
				/* continuation */
				size_t add = le - i;

				if (flen + add + 1 < sizeof(field)) {
					memcpy(field + flen, s + i, add);
					flen += add;
					field[flen] = '\0';
				}
				i = e + 1;
				if (e < n)
					continue;
			}
			/* the field before this line is complete */
			if (flen > 0) {
				char *colon = strchr(field, ':');

				if (colon != NULL) {
					const char *v = colon + 1;

					*colon = '\0';
					while (*v == ' ' || *v == '\t')
						v++;
					if (strcasecmp(field, "Action") == 0)
						g.action = action_of(v);
					else if (strcasecmp(field, "Status") ==
						 0)
						copy_line(g.status,
							  sizeof(g.status), v,
							  strspn(v, "0123456"
								    "789."));
					else if (strcasecmp(
							 field,
							 "Diagnostic-Code") ==
						 0)
						copy_line(
							g.diagnostic,
							sizeof(g.diagnostic),
							after_type(v),
							strlen(after_type(v)));
					else if (strcasecmp(field,
							    "Original-Envelope-"
							    "Id") == 0)
						copy_line(out->envid,
							  sizeof(out->envid), v,
							  strlen(v));
					else if (strcasecmp(
							 field,
							 "Final-Recipient") ==
						 0)
						copy_line(
							g.recipient,
							sizeof(g.recipient),
							after_type(v),
							strlen(after_type(v)));
				}
				flen = 0;
				field[0] = '\0';
			}
			if (blank) {
				group_end(&g, out);
			} else if (i < le) {
				size_t add = le - i;

				if (add >= sizeof(field))
					add = sizeof(field) - 1;
				memcpy(field, s + i, add);
				flen = add;
				field[flen] = '\0';
			}
		}
		if (e >= n)
			break;
		i = e + 1;
	}
	if (flen > 0) {
		/* a last field without a newline */
		char *colon = strchr(field, ':');

		if (colon != NULL) {
			const char *v = colon + 1;

			*colon = '\0';
			while (*v == ' ' || *v == '\t')
				v++;
			if (strcasecmp(field, "Action") == 0)
				g.action = action_of(v);
			else if (strcasecmp(field, "Status") == 0)
				copy_line(g.status, sizeof(g.status), v,
					  strspn(v, "0123456789."));
		}
	}
	group_end(&g, out);
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Length of d{1,3} at s, 0 if none or followed by a digit. */
static size_t digits3(const char *s, const char *end)
{
	size_t k = 0;

	while (s + k < end && is_digit(s[k]) && k < 4)
		k++;
	return k >= 1 && k <= 3 ? k : 0;
}

/*
 * Lines that start the quoted original in a plain-text bounce: the
 * original's text is not the bounce's (a notice itself cites BR 4.9.1.1).
 */
static bool quote_starts(const char *line, size_t n)
{
	static const char *const marks[] = {
		"Return-Path:",	       "Received:",
		"----- Original",      "------ This is a copy",
		"--- Below this line", "-----Original",
		"----- Transcript",    "Original message headers",
	};

	for (size_t i = 0; i < sizeof(marks) / sizeof(marks[0]); i++) {
		size_t m = strlen(marks[i]);

		if (n >= m && strncasecmp(line, marks[i], m) == 0)
			return true;
	}
	return false;
}

/*
 * A plain-text bounce: the first enhanced status code (RFC 3463,
 * "5.1.1") standing alone, else the first SMTP reply code "5xx " /
 * "4xx " at a word start, in the text before the quoted original.
 */
static void parse_plain(const char *s, size_t n, struct bounces_dsn *out)
{
	const char *end = s + n, *line = s;
	const char *reply = NULL, *reply_line = NULL;

	while (line < end) {
		const char *eol = memchr(line, '\n', (size_t)(end - line));
		const char *le = eol != NULL ? eol : end;

		if (quote_starts(line, (size_t)(le - line)))
			break;
		for (const char *p = line; p < le; p++) {
			size_t a, b;

			if (p > line && (is_digit(p[-1]) || p[-1] == '.'))
				continue;
			if ((*p == '4' || *p == '5') && p + 1 < le &&
			    p[1] == '.' && (a = digits3(p + 2, le)) > 0 &&
			    p + 2 + a < le && p[2 + a] == '.' &&
			    (b = digits3(p + 3 + a, le)) > 0 &&
			    (p + 3 + a + b >= le ||
			     (p[3 + a + b] != '.' &&
			      !is_digit(p[3 + a + b])))) {
				copy_line(out->status, sizeof(out->status), p,
					  3 + a + b);
				copy_line(out->diagnostic,
					  sizeof(out->diagnostic), line,
					  (size_t)(le - line));
				out->action = *p == '5' ? BOUNCES_BOUNCED
							: BOUNCES_DELAYED;
				return;
			}
			if (reply == NULL && (*p == '4' || *p == '5') &&
			    p + 3 < le && is_digit(p[1]) && is_digit(p[2]) &&
			    (p[3] == ' ' || p[3] == '-') &&
			    (p == line || p[-1] == ' ' || p[-1] == '(')) {
				reply = p;
				reply_line = line;
			}
		}
		line = le + 1;
	}
	if (reply != NULL) {
		const char *le = memchr(reply, '\n', (size_t)(end - reply));

		/* The class digit of the reply: "5.0.0" or "4.0.0". */
		out->status[0] = *reply;
		memcpy(out->status + 1, ".0.0", sizeof(".0.0"));
		copy_line(out->diagnostic, sizeof(out->diagnostic), reply_line,
			  (size_t)((le != NULL ? le : end) - reply_line));
		out->action = *reply == '5' ? BOUNCES_BOUNCED : BOUNCES_DELAYED;
	}
}

/* Appends the decoded content of a leaf part to buf (capped). */
static void part_text(GMimePart *part, GString *buf)
{
	GMimeDataWrapper *content = g_mime_part_get_content(part);
	GMimeStream *mem;
	GByteArray *bytes;

	if (content == NULL || buf->len >= BOUNCES_MESSAGE_MAX)
		return;
	mem = g_mime_stream_mem_new();
	if (g_mime_data_wrapper_write_to_stream(content, mem) >= 0) {
		bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
		g_string_append_len(buf, (const char *)bytes->data,
				    (gssize)bytes->len);
		g_string_append_c(buf, '\n');
	}
	g_object_unref(mem);
}

static void walk_object(struct walk *w, GMimeObject *obj, int depth,
			bool quoted);

static void walk_message(struct walk *w, GMimeMessage *msg, int depth)
{
	char *headers = g_mime_object_get_headers(GMIME_OBJECT(msg), NULL);

	if (headers != NULL) {
		g_string_append(w->quoted, headers);
		g_free(headers);
	}
	if (g_mime_message_get_mime_part(msg) != NULL)
		walk_object(w, g_mime_message_get_mime_part(msg), depth + 1,
			    true);
}

static void walk_object(struct walk *w, GMimeObject *obj, int depth,
			bool quoted)
{
	GMimeContentType *ct = g_mime_object_get_content_type(obj);

	if (depth > 16)
		return;
	if (GMIME_IS_MULTIPART(obj)) {
		int n = g_mime_multipart_get_count(GMIME_MULTIPART(obj));

		for (int i = 0; i < n && i < 64; i++)
			walk_object(w,
				    g_mime_multipart_get_part(
					    GMIME_MULTIPART(obj), i),
				    depth + 1, quoted);
		return;
	}
	if (GMIME_IS_MESSAGE_PART(obj)) {
		GMimeMessage *m = g_mime_message_part_get_message(
			GMIME_MESSAGE_PART(obj));

		if (m != NULL)
			walk_message(w, m, depth);
		return;
	}
	if (!GMIME_IS_PART(obj))
		return;
	if (!quoted && ct != NULL &&
	    (g_mime_content_type_is_type(ct, "message", "delivery-status") ||
	     g_mime_content_type_is_type(ct, "message",
					 "global-delivery-status"))) {
		GString *status = g_string_new(NULL);

		part_text(GMIME_PART(obj), status);
		w->report = true;
		parse_status_fields(status->str, status->len, w->out);
		g_string_append_len(w->quoted, status->str,
				    (gssize)status->len);
		g_string_free(status, TRUE);
		return;
	}
	if (!quoted && ct != NULL &&
	    g_mime_content_type_is_type(ct, "text", "*") &&
	    !g_mime_content_type_is_type(ct, "text", "rfc822-headers") &&
	    !g_mime_content_type_is_type(ct, "text", "html"))
		part_text(GMIME_PART(obj), w->text);
	else
		part_text(GMIME_PART(obj), w->quoted);
}

/* Whether a message without a delivery-status part reads as a bounce. */
static bool looks_like_bounce(GMimeMessage *msg)
{
	const char *from = g_mime_object_get_header(GMIME_OBJECT(msg), "From");
	const char *subject = g_mime_message_get_subject(msg);
	const char *rp =
		g_mime_object_get_header(GMIME_OBJECT(msg), "Return-Path");
	static const char *const words[] = {
		"undeliver",
		"delivery status",
		"delivery failure",
		"returned mail",
		"failure notice",
		"delivery has failed",
		"could not be delivered",
		"mail delivery failed",
	};

	if (rp != NULL && strstr(rp, "<>") != NULL)
		return true;
	if (from != NULL && (strcasestr(from, "mailer-daemon") != NULL ||
			     strcasestr(from, "postmaster") != NULL))
		return true;
	for (size_t i = 0;
	     subject != NULL && i < sizeof(words) / sizeof(*words); i++)
		if (strcasestr(subject, words[i]) != NULL)
			return true;
	return false;
}

static void parse_message(GMimeMessage *msg, const char *pattern,
			  struct bounces_dsn *out)
{
	static const char *const where[] = { "Delivered-To", "X-Original-To",
					     "Envelope-To", "To" };
	const char *id = strstr(pattern, "{id}");
	char prefix[256];
	struct walk w = {
		.prefix = prefix,
		.suffix = id != NULL ? id + 4 : "",
		.out = out,
	};
	bool found = false;

	if (id == NULL || (size_t)(id - pattern) >= sizeof(prefix))
		return;
	memcpy(prefix, pattern, (size_t)(id - pattern));
	prefix[id - pattern] = '\0';
	w.prefix_len = strlen(prefix);
	w.text = g_string_new(NULL);
	w.quoted = g_string_new(NULL);
	if (g_mime_message_get_mime_part(msg) != NULL)
		walk_object(&w, g_mime_message_get_mime_part(msg), 0, false);
	if (!w.report && looks_like_bounce(msg))
		parse_plain(w.text->str, w.text->len, out);
	for (size_t i = 0; !found && i < sizeof(where) / sizeof(*where); i++) {
		const char *v =
			g_mime_object_get_header(GMIME_OBJECT(msg), where[i]);

		found = v != NULL && find_tag(&w, v, strlen(v));
	}
	if (!found)
		found = find_tag(&w, w.quoted->str, w.quoted->len);
	if (!found)
		found = find_tag(&w, w.text->str, w.text->len);
	/* our ENVID (smtp.c) came back: a tag all the same, verified by
	 * its mac like any other */
	if (!found && out->envid[0] != '\0' &&
	    strspn(out->envid, "0123456789abcdef-") == strlen(out->envid))
		memcpy(out->tag, out->envid, sizeof(out->tag));
	g_string_free(w.text, TRUE);
	g_string_free(w.quoted, TRUE);
}

int bounces_parse(const char *buf, size_t len, const char *pattern,
		  struct bounces_dsn *out, char *err, size_t errlen)
{
	GMimeStream *stream;
	GMimeParser *parser;
	GMimeMessage *msg;

	memset(out, 0, sizeof(*out));
	if (len > BOUNCES_MESSAGE_MAX) {
		return errmsg_set(err, errlen, "larger than %u bytes",
				  BOUNCES_MESSAGE_MAX);
	}
	stream = g_mime_stream_mem_new_with_buffer(buf, len);
	parser = g_mime_parser_new_with_stream(stream);
	msg = g_mime_parser_construct_message(parser, NULL);
	if (msg == NULL) {
		errmsg_set(err, errlen, "not a mail message");
	} else {
		parse_message(msg, pattern, out);
		g_object_unref(msg);
	}
	g_object_unref(parser);
	g_object_unref(stream);
	return msg == NULL ? -1 : 0;
}

int bounces_mbox_each(const char *path, const char *pattern,
		      int (*fn)(const char *where, const struct bounces_dsn *d,
				int parse_rc, void *arg),
		      void *arg)
{
	GError *gerr = NULL;
	GMimeStream *stream = g_mime_stream_fs_open(path, O_RDONLY, 0, &gerr);
	GMimeParser *parser;
	int rc = 0;

	if (stream == NULL) {
		log_error("%s: cannot open: %s", path,
			  gerr != NULL ? gerr->message : "?");
		if (gerr != NULL)
			g_error_free(gerr);
		return -1;
	}
	parser = g_mime_parser_new_with_stream(stream);
	g_mime_parser_set_format(parser, GMIME_FORMAT_MBOX);
	for (unsigned i = 1; rc == 0 && !g_mime_parser_eos(parser); i++) {
		GMimeMessage *msg =
			g_mime_parser_construct_message(parser, NULL);
		struct bounces_dsn d;
		char *where = xasprintf("%s: message %u", path, i);

		memset(&d, 0, sizeof(d));
		if (msg == NULL) {
			if (i == 1)
				rc = fn(where, &d, -1, arg);
			free(where);
			break;
		}
		parse_message(msg, pattern, &d);
		g_object_unref(msg);
		rc = fn(where, &d, 0, arg);
		free(where);
	}
	g_object_unref(parser);
	g_object_unref(stream);
	return rc;
}
