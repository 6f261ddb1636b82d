/*
 * starttls.c - STARTTLS dialogues as small state machines over bytes.
 *
 * Line protocols (smtp, ftp, imap, pop3) collect one line at a time in
 * t->buf and act on each complete line; xmpp collects one tag at a time;
 * ldap collects one BER message.  Every collection is capped.
 */
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "certrecall/core/starttls.h"
#include "certrecall/base/errmsg.h"

/* What we call ourselves in EHLO: nothing that resolves. */
#define STARTTLS_EHLO "EHLO certrecall.invalid\r\n"
/* The LDAP StartTLS extended request, messageID 1 (RFC 4511 4.12):
 * SEQUENCE { INTEGER 1, [APPLICATION 23] { [0] "1.3.6.1.4.1.1466.20037" } } */
static const char ldap_request[] = "\x30\x1d\x02\x01\x01\x77\x18\x80\x16"
				   "1.3.6.1.4.1.1466.20037";

static const char *const proto_names[STARTTLS_NPROTOS] = {
	[STARTTLS_NONE] = "tls",
	[STARTTLS_SMTP] = "smtp",
	[STARTTLS_IMAP] = "imap",
	[STARTTLS_POP3] = "pop3",
	[STARTTLS_FTP] = "ftp",
	[STARTTLS_XMPP_CLIENT] = "xmpp-client",
	[STARTTLS_XMPP_SERVER] = "xmpp-server",
	[STARTTLS_LDAP] = "ldap",
};

static const unsigned default_ports[STARTTLS_NPROTOS] = {
	[STARTTLS_NONE] = 443,	       [STARTTLS_SMTP] = 25,
	[STARTTLS_IMAP] = 143,	       [STARTTLS_POP3] = 110,
	[STARTTLS_FTP] = 21,	       [STARTTLS_XMPP_CLIENT] = 5222,
	[STARTTLS_XMPP_SERVER] = 5269, [STARTTLS_LDAP] = 389,
};

const char *starttls_proto_name(enum starttls_proto p)
{
	if ((unsigned)p >= STARTTLS_NPROTOS)
		return "?";
	return proto_names[p];
}

int starttls_proto_parse(const char *name, size_t len, enum starttls_proto *out)
{
	for (int i = 0; i < STARTTLS_NPROTOS; i++) {
		if (strlen(proto_names[i]) == len &&
		    strncasecmp(proto_names[i], name, len) == 0) {
			*out = (enum starttls_proto)i;
			return 0;
		}
	}
	return -1;
}

unsigned starttls_default_port(enum starttls_proto p)
{
	if ((unsigned)p >= STARTTLS_NPROTOS)
		return 0;
	return default_ports[p];
}

static int ports_add(struct starttls_port *out, size_t max, size_t *n,
		     unsigned port, enum starttls_proto proto, char *err,
		     size_t errsize)
{
	for (size_t i = 0; i < *n; i++) {
		if (out[i].port != port)
			continue;
		if (out[i].proto == proto)
			return 0;
		return errmsg_set(err, errsize,
				  "port %u given as both %s and %s", port,
				  starttls_proto_name(out[i].proto),
				  starttls_proto_name(proto));
	}
	if (*n >= max) {
		return errmsg_set(err, errsize, "more than %zu ports", max);
	}
	out[*n].port = port;
	out[*n].proto = proto;
	(*n)++;
	return 0;
}

static int ports_parse(const char *text, struct starttls_port *out, size_t max,
		       size_t *n, char *err, size_t errsize, int depth)
{
	const char *p = text;

	while (*p) {
		const char *e, *slash;
		enum starttls_proto proto = STARTTLS_NONE;
		unsigned long v = 0;
		size_t len, i;

		while (*p == ',' || *p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			break;
		e = p + strcspn(p, ", \t");
		len = (size_t)(e - p);
		if (depth == 0 && len == 3 && strncasecmp(p, "web", 3) == 0) {
			if (ports_parse(STARTTLS_PRESET_WEB, out, max, n, err,
					errsize, 1) < 0)
				return -1;
		} else if (depth == 0 && len == 4 &&
			   (strncasecmp(p, "mail", 4) == 0 ||
			    strncasecmp(p, "chat", 4) == 0)) {
			if (ports_parse(tolower((unsigned char)p[0]) == 'm'
						? STARTTLS_PRESET_MAIL
						: STARTTLS_PRESET_CHAT,
					out, max, n, err, errsize, 1) < 0)
				return -1;
		} else {
			slash = memchr(p, '/', len);
			for (i = 0; p + i < (slash ? slash : e); i++) {
				if (!isdigit((unsigned char)p[i]) || v > 65535)
					break;
				v = v * 10 + (unsigned long)(p[i] - '0');
			}
			if (i == 0 || p + i != (slash ? slash : e) || v < 1 ||
			    v > 65535 ||
			    (slash != NULL &&
			     starttls_proto_parse(slash + 1,
						  (size_t)(e - slash - 1),
						  &proto) < 0)) {
				return errmsg_set(
					err, errsize,
					"\"%.*s\" is not PORT[/PROTO] (port 1 "
					"to 65535; PROTO tls, smtp, imap, "
					"pop3, "
					"ftp, xmpp-client, xmpp-server, ldap) "
					"or a preset (web, mail, chat)",
					(int)(len > 40 ? 40 : len), p);
			}
			if (ports_add(out, max, n, (unsigned)v, proto, err,
				      errsize) < 0)
				return -1;
		}
		p = e;
	}
	return 0;
}

int starttls_ports_parse(const char *text, struct starttls_port *out,
			 size_t max, size_t *n, char *err, size_t errsize)
{
	*n = 0;
	if (ports_parse(text, out, max, n, err, errsize, 0) < 0)
		return -1;
	if (*n == 0) {
		return errmsg_set(err, errsize, "no port given");
	}
	return 0;
}

static void set_out(struct starttls *t, const char *data, size_t len)
{
	if (len > sizeof(t->out))
		len = sizeof(t->out);
	memcpy(t->out, data, len);
	t->outlen = len;
}

static enum starttls_status end(struct starttls *t, enum starttls_status st,
				const char *fmt, const char *detail)
{
	char clean[64];
	size_t i, k = 0;

	/* Quote at most 60 printable bytes of what the peer said. */
	for (i = 0; detail != NULL && detail[i] && k < 60; i++)
		clean[k++] =
			isprint((unsigned char)detail[i]) ? detail[i] : '?';
	clean[k] = '\0';
	/* A cut reason is still a reason. */
	errmsg_set(t->why, sizeof(t->why), fmt, clean);
	t->status = st;
	t->outlen = 0;
	return st;
}

void starttls_init(struct starttls *t, enum starttls_proto proto,
		   const char *name)
{
	size_t n = strlen(name);

	memset(t, 0, sizeof(*t));
	t->proto = proto;
	t->status = STARTTLS_MORE;
	if (n > STARTTLS_NAME_MAX)
		n = STARTTLS_NAME_MAX;
	memcpy(t->name, name, n);
	t->name[n] = '\0';
	if (proto == STARTTLS_XMPP_CLIENT || proto == STARTTLS_XMPP_SERVER) {
		char hdr[sizeof(t->out)];
		int r;

		/* The name goes into an attribute: a DNS name or an
		 * address literal, nothing that needs escaping. */
		for (size_t i = 0; i < n; i++)
			if (!isalnum((unsigned char)t->name[i]) &&
			    !strchr(".-_:[]", t->name[i])) {
				end(t, STARTTLS_ERROR,
				    "name unusable as an XMPP domain: %s",
				    t->name);
				return;
			}
		r = snprintf(hdr, sizeof(hdr),
			     "<?xml version='1.0'?><stream:stream xmlns='%s'"
			     " xmlns:stream='http://etherx.jabber.org/streams'"
			     " to='%s' version='1.0'>",
			     proto == STARTTLS_XMPP_CLIENT ? "jabber:client"
							   : "jabber:server",
			     t->name);
		if (r > 0 && (size_t)r < sizeof(hdr))
			set_out(t, hdr, (size_t)r);
	} else if (proto == STARTTLS_LDAP) {
		set_out(t, ldap_request, sizeof(ldap_request) - 1);
	} else if (proto == STARTTLS_NONE) {
		t->status = STARTTLS_DONE;
	}
}

const char *starttls_output(const struct starttls *t, size_t *len)
{
	*len = t->outlen;
	return t->out;
}

void starttls_sent(struct starttls *t, size_t n)
{
	if (n >= t->outlen) {
		t->outlen = 0;
		return;
	}
	memmove(t->out, t->out + n, t->outlen - n);
	t->outlen -= n;
}

const char *starttls_why(const struct starttls *t)
{
	return t->status == STARTTLS_REFUSED || t->status == STARTTLS_ERROR
		       ? t->why
		       : "";
}

/* ---- smtp and ftp: "NNN-text" ... "NNN text" ---- */

static int reply_code(const char *line, size_t len)
{
	if (len < 3 || !isdigit((unsigned char)line[0]) ||
	    !isdigit((unsigned char)line[1]) ||
	    !isdigit((unsigned char)line[2]))
		return -1;
	if (len > 3 && line[3] != ' ' && line[3] != '-')
		return -1;
	return (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
}

/*
 * One line of an SMTP or FTP reply.  Returns the code when the line ends
 * a reply, 0 when more lines follow, -1 on garbage.  SMTP puts the code
 * on every line (RFC 5321 4.2.1); FTP only on the first and last (RFC
 * 959 4.2), so its middle lines are anything.  t->open is the code of
 * the multi-line reply in progress, 0 between replies.
 */
static int coded_line(struct starttls *t, const char *line, size_t len)
{
	int code = reply_code(line, len);

	if (t->open != 0 && code != t->open)
		return t->proto == STARTTLS_FTP ? 0 : -1;
	if (code < 0)
		return -1;
	if (len > 3 && line[3] == '-') {
		t->open = code;
		return 0;
	}
	t->open = 0;
	return code;
}

static enum starttls_status smtp_ftp_line(struct starttls *t, const char *line,
					  size_t len)
{
	/* t->step: 0 greeting, 1 EHLO, 2 STARTTLS / AUTH TLS */
	int step = t->step;
	int code = coded_line(t, line, len);

	if (code < 0)
		return end(t, STARTTLS_ERROR, "not a reply line: \"%s\"", line);
	if (code == 0)
		return STARTTLS_MORE;
	t->lines = 0;
	if (code >= 100 && code < 200 && step == 0)
		return STARTTLS_MORE; /* FTP 120: ready in a while */
	if (code >= 400 && code < 600)
		return end(t, STARTTLS_REFUSED, "server said \"%s\"", line);
	switch (step) {
	case 0:
		if (code != 220)
			break;
		if (t->proto == STARTTLS_SMTP) {
			set_out(t, STARTTLS_EHLO, strlen(STARTTLS_EHLO));
			t->step = 1;
		} else {
			set_out(t, "AUTH TLS\r\n", 10);
			t->step = 2;
		}
		return STARTTLS_MORE;
	case 1:
		if (code != 250)
			break;
		set_out(t, "STARTTLS\r\n", 10);
		t->step = 2;
		return STARTTLS_MORE;
	case 2:
		if (code == (t->proto == STARTTLS_SMTP ? 220 : 234)) {
			t->status = STARTTLS_DONE;
			return STARTTLS_DONE;
		}
		break;
	}
	return end(t, STARTTLS_ERROR, "unexpected reply \"%s\"", line);
}

/* ---- imap and pop3 ---- */

static bool starts(const char *line, size_t len, const char *word)
{
	size_t n = strlen(word);

	return len >= n && strncasecmp(line, word, n) == 0 &&
	       (len == n || line[n] == ' ');
}

static enum starttls_status imap_line(struct starttls *t, const char *line,
				      size_t len)
{
	if (t->step == 0) {
		if (starts(line, len, "* OK")) {
			set_out(t, ". STARTTLS\r\n", 12);
			t->step = 1;
			t->lines = 0;
			return STARTTLS_MORE;
		}
		if (starts(line, len, "* BYE") ||
		    starts(line, len, "* PREAUTH"))
			return end(t, STARTTLS_REFUSED, "server said \"%s\"",
				   line);
		return end(t, STARTTLS_ERROR, "not an IMAP greeting: \"%s\"",
			   line);
	}
	if (starts(line, len, ". OK")) {
		t->status = STARTTLS_DONE;
		return STARTTLS_DONE;
	}
	if (starts(line, len, ". NO") || starts(line, len, ". BAD") ||
	    starts(line, len, "* BYE"))
		return end(t, STARTTLS_REFUSED, "server said \"%s\"", line);
	if (len >= 2 && line[0] == '*' && line[1] == ' ')
		return STARTTLS_MORE; /* untagged: CAPABILITY and the like */
	return end(t, STARTTLS_ERROR, "not an IMAP response: \"%s\"", line);
}

static enum starttls_status pop3_line(struct starttls *t, const char *line,
				      size_t len)
{
	if (starts(line, len, "-ERR"))
		return end(t, STARTTLS_REFUSED, "server said \"%s\"", line);
	if (!starts(line, len, "+OK"))
		return end(t, STARTTLS_ERROR, "not a POP3 response: \"%s\"",
			   line);
	t->lines = 0;
	if (t->step == 0) {
		set_out(t, "STLS\r\n", 6);
		t->step = 1;
		return STARTTLS_MORE;
	}
	t->status = STARTTLS_DONE;
	return STARTTLS_DONE;
}

static enum starttls_status line_done(struct starttls *t)
{
	size_t len = t->len;

	if (len > 0 && t->buf[len - 1] == '\r')
		len--;
	t->buf[len] = '\0';
	if (memchr(t->buf, '\0', len) != NULL)
		return end(t, STARTTLS_ERROR, "NUL in a reply line%s", "");
	if (++t->lines > STARTTLS_MAX_LINES)
		return end(t, STARTTLS_ERROR,
			   "reply of more than 64 lines: \"%s\"", t->buf);
	switch (t->proto) {
	case STARTTLS_SMTP:
	case STARTTLS_FTP:
		return smtp_ftp_line(t, t->buf, len);
	case STARTTLS_IMAP:
		return imap_line(t, t->buf, len);
	case STARTTLS_POP3:
		return pop3_line(t, t->buf, len);
	default:
		return end(t, STARTTLS_ERROR, "not a line protocol%s", "");
	}
}

/* ---- xmpp: one tag at a time, text between tags ignored ---- */

/* The tag's local name (after any prefix) into name; closing sets *close. */
static void tag_name(const char *tag, size_t len, char *name, size_t size,
		     bool *close)
{
	size_t i = 1, k = 0, start;

	*close = len > 1 && tag[1] == '/';
	if (*close)
		i++;
	start = i;
	while (i < len && !isspace((unsigned char)tag[i]) && tag[i] != '>' &&
	       tag[i] != '/')
		i++;
	for (size_t j = start; j < i; j++)
		if (tag[j] == ':')
			start = j + 1;
	for (size_t j = start; j < i && k + 1 < size; j++)
		name[k++] = tag[j];
	name[k] = '\0';
}

static enum starttls_status xmpp_tag(struct starttls *t)
{
	char name[32];
	bool close, empty;

	t->buf[t->len] = '\0';
	tag_name(t->buf, t->len, name, sizeof(name), &close);
	empty = t->len >= 2 && t->buf[t->len - 2] == '/';
	if (name[0] == '?' || name[0] == '!')
		return STARTTLS_MORE;
	if (strcmp(name, "stream") == 0 && close)
		return end(t, STARTTLS_REFUSED, "server closed the stream%s",
			   "");
	if (strcmp(name, "error") == 0 && t->step < 2)
		return end(t, STARTTLS_REFUSED, "stream error: %s", t->buf);
	switch (t->step) {
	case 0: /* features */
		if (strcmp(name, "starttls") == 0 && !close)
			t->offered = true;
		if (strcmp(name, "features") == 0 && close) {
			if (!t->offered)
				return end(t, STARTTLS_REFUSED,
					   "STARTTLS not offered%s", "");
			set_out(t,
				"<starttls xmlns='urn:ietf:params:xml:ns:"
				"xmpp-tls'/>",
				51);
			t->step = 1;
		}
		if (strcmp(name, "features") == 0 && !close && empty)
			return end(t, STARTTLS_REFUSED,
				   "STARTTLS not offered%s", "");
		return STARTTLS_MORE;
	case 1: /* proceed or failure */
		if (strcmp(name, "proceed") == 0 && !close) {
			if (empty) {
				t->status = STARTTLS_DONE;
				return STARTTLS_DONE;
			}
			t->step = 2;
			return STARTTLS_MORE;
		}
		if (strcmp(name, "failure") == 0)
			return end(t, STARTTLS_REFUSED, "server said %s",
				   t->buf);
		break;
	case 2: /* </proceed> */
		if (strcmp(name, "proceed") == 0 && close) {
			t->status = STARTTLS_DONE;
			return STARTTLS_DONE;
		}
		break;
	}
	return end(t, STARTTLS_ERROR, "unexpected XMPP element %s", t->buf);
}

/* ---- ldap: one BER message ---- */

/* A BER length at b[*i] of a message of n bytes; -1 if malformed. */
static long ber_len(const unsigned char *b, size_t n, size_t *i)
{
	long v = 0;
	size_t k;

	if (*i >= n)
		return -2; /* need more */
	if (b[*i] < 0x80)
		return b[(*i)++];
	k = b[(*i)++] & 0x7f;
	if (k == 0 || k > 2)
		return -1;
	if (*i + k > n)
		return -2;
	while (k--)
		v = v * 256 + b[(*i)++];
	return v;
}

static enum starttls_status ldap_message(struct starttls *t)
{
	const unsigned char *b = (const unsigned char *)t->buf;
	size_t i = 1, n = t->len;
	long total, inner;

	if (b[0] != 0x30)
		return end(t, STARTTLS_ERROR, "not an LDAP message%s", "");
	total = ber_len(b, n, &i);
	if (total == -2)
		return STARTTLS_MORE;
	if (total < 0 || i + (size_t)total > STARTTLS_MAX_LINE)
		return end(t, STARTTLS_ERROR, "bad LDAP message length%s", "");
	if (n < i + (size_t)total)
		return STARTTLS_MORE;
	if (n > i + (size_t)total)
		return end(t, STARTTLS_ERROR, "data after the LDAP response%s",
			   "");
	n = i + (size_t)total;
	/* messageID INTEGER: 1 is ours, 0 an unsolicited notice */
	if (i + 3 > n || b[i] != 0x02 || b[i + 1] != 1 || b[i + 2] > 1)
		return end(t, STARTTLS_ERROR, "bad LDAP messageID%s", "");
	bool notice = b[i + 2] == 0;
	i += 3;
	if (i >= n || b[i] != 0x78)
		return end(t, STARTTLS_ERROR, "not an LDAP extended response%s",
			   "");
	i++;
	inner = ber_len(b, n, &i);
	if (inner < 0 || i + (size_t)inner != n || i + 3 > n || b[i] != 0x0a ||
	    b[i + 1] != 1)
		return end(t, STARTTLS_ERROR, "bad LDAP extended response%s",
			   "");
	if (notice)
		return end(t, STARTTLS_REFUSED,
			   "LDAP notice of disconnection%s", "");
	if (b[i + 2] != 0) {
		char code[8];

		if (snprintf(code, sizeof(code), "%u", b[i + 2]) < 0)
			code[0] = '\0';
		return end(t, STARTTLS_REFUSED, "LDAP result code %s", code);
	}
	t->status = STARTTLS_DONE;
	return STARTTLS_DONE;
}

/* ---- input ---- */

enum starttls_status starttls_input(struct starttls *t, const void *data,
				    size_t len)
{
	const char *p = data;

	for (size_t i = 0; i < len; i++) {
		char c = p[i];

		if (t->status != STARTTLS_MORE) {
			if (t->status == STARTTLS_DONE)
				return end(t, STARTTLS_ERROR,
					   "data after the server agreed%s",
					   "");
			return t->status;
		}
		if (++t->total > STARTTLS_MAX_INPUT)
			return end(t, STARTTLS_ERROR,
				   "more than 32768 bytes before TLS%s", "");
		switch (t->proto) {
		case STARTTLS_XMPP_CLIENT:
		case STARTTLS_XMPP_SERVER:
			if (t->len == 0 && c != '<')
				continue; /* text between tags */
			if (t->len >= STARTTLS_MAX_LINE)
				return end(t, STARTTLS_ERROR,
					   "XMPP tag over 1024 bytes%s", "");
			t->buf[t->len++] = c;
			if (c == '>') {
				xmpp_tag(t);
				t->len = 0;
			}
			break;
		case STARTTLS_LDAP:
			if (t->len >= STARTTLS_MAX_LINE)
				return end(t, STARTTLS_ERROR,
					   "LDAP response over 1024 bytes%s",
					   "");
			t->buf[t->len++] = c;
			ldap_message(t);
			break;
		default:
			if (c == '\n') {
				line_done(t);
				t->len = 0;
				break;
			}
			if (t->len >= STARTTLS_MAX_LINE)
				return end(t, STARTTLS_ERROR,
					   "reply line over 1024 bytes%s", "");
			t->buf[t->len++] = c;
			break;
		}
	}
	return t->status;
}
