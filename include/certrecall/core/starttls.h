/*
 * starttls - the plaintext dialogues that come before a TLS handshake on
 * a STARTTLS port (pure: no sockets, no OpenSSL).
 *
 * One struct starttls per connection.  The caller sends what
 * starttls_output() holds, feeds what the peer sends to starttls_input(),
 * and starts the TLS handshake on STARTTLS_DONE.  The dialogues:
 *
 *   smtp         220 greeting, EHLO, STARTTLS, 220    (RFC 3207)
 *   imap         * OK greeting, ". STARTTLS", ". OK"  (RFC 9051 6.2.1)
 *   pop3         +OK greeting, STLS, +OK              (RFC 2595 4)
 *   ftp          220 greeting, AUTH TLS, 234          (RFC 4217 4)
 *   xmpp-client  stream header to NAME, <starttls/>, <proceed/>
 *   xmpp-server  the same on jabber:server            (RFC 6120 5.4)
 *   ldap         StartTLS extended request, result 0  (RFC 4511 4.14)
 *
 * Bounded: a reply line over STARTTLS_MAX_LINE bytes, a multi-line reply
 * over STARTTLS_MAX_LINES lines, or more than STARTTLS_MAX_INPUT bytes in
 * all is STARTTLS_ERROR.  A server that says no (454, NO, -ERR, <failure/>,
 * an LDAP result other than success) is STARTTLS_REFUSED; anything it
 * should not have said is STARTTLS_ERROR.  Timeouts are the caller's.
 */
#ifndef CERTRECALL_STARTTLS_H
#define CERTRECALL_STARTTLS_H

#include <stdbool.h>
#include <stddef.h>

#include "certrecall/base/xalloc.h"

#define STARTTLS_MAX_LINE 1024
#define STARTTLS_MAX_LINES 64
#define STARTTLS_MAX_INPUT (32 * 1024)
#define STARTTLS_NAME_MAX 253

enum starttls_proto {
	STARTTLS_NONE, /* "tls": implicit TLS, no dialogue */
	STARTTLS_SMTP,
	STARTTLS_IMAP,
	STARTTLS_POP3,
	STARTTLS_FTP,
	STARTTLS_XMPP_CLIENT,
	STARTTLS_XMPP_SERVER,
	STARTTLS_LDAP,
	STARTTLS_NPROTOS,
};

enum starttls_status {
	STARTTLS_MORE,	  /* send the output, wait for input */
	STARTTLS_DONE,	  /* the server agreed: start TLS now */
	STARTTLS_REFUSED, /* the server said no: see why */
	STARTTLS_ERROR,	  /* the server said something else: see why */
};

struct starttls {
	enum starttls_proto proto;
	int step;
	int open;     /* smtp/ftp: code of the multi-line reply in progress */
	bool offered; /* xmpp: <starttls> was among the features */
	char name[STARTTLS_NAME_MAX + 1];
	char out[512];
	size_t outlen;
	char buf[STARTTLS_MAX_LINE + 1]; /* the line (or element) so far */
	size_t len;
	size_t lines; /* lines of the current reply */
	size_t total; /* bytes read in all */
	enum starttls_status status;
	char why[160];
};

/* "tls", "smtp", ...; "?" out of range. */
CR_MUST_CHECK const char *starttls_proto_name(enum starttls_proto p);
/* The inverse; 0, or -1 for an unknown name. */
CR_MUST_CHECK int starttls_proto_parse(const char *name, size_t len,
				       enum starttls_proto *out);
/* The usual port of a protocol (25, 143, ...); 443 for tls. */
unsigned starttls_default_port(enum starttls_proto p);

/* One entry of scanner.ports. */
struct starttls_port {
	unsigned port;
	enum starttls_proto proto;
};

#define STARTTLS_MAX_PORTS 64
/* The presets scanner.ports may name (docs/scanner.md lists them). */
#define STARTTLS_PRESET_WEB "443"
#define STARTTLS_PRESET_MAIL                                                   \
	"25/smtp, 465, 587/smtp, 143/imap, 993, 110/pop3, 995"
#define STARTTLS_PRESET_CHAT "5222/xmpp-client, 5269/xmpp-server"

/*
 * Parses a scanner.ports list: comma- or space-separated PORT[/PROTO]
 * entries (PROTO defaults to tls) and presets (web, mail, chat).  A port
 * given twice with one protocol counts once; with two it is an error.
 * Fills out[0..*n).  0, or -1 with a message quoting the entry in err.
 */
CR_MUST_CHECK int starttls_ports_parse(const char *text,
				       struct starttls_port *out, size_t max,
				       size_t *n, char *err, size_t errsize);

/* Starts a dialogue for name (the SNI name, XMPP's stream `to`). */
void starttls_init(struct starttls *t, enum starttls_proto proto,
		   const char *name);
/* Bytes to send now (borrowed); starttls_sent() says how many went. */
CR_MUST_CHECK const char *starttls_output(const struct starttls *t,
					  size_t *len);
void starttls_sent(struct starttls *t, size_t n);
/*
 * Feeds len bytes from the peer.  Returns the status; once it is not
 * STARTTLS_MORE it stays so.  Bytes after the server's agreement (TLS
 * cannot have begun: we have not sent a ClientHello) are an error.
 */
CR_MUST_CHECK enum starttls_status starttls_input(struct starttls *t,
						  const void *data, size_t len);
/* The reason for REFUSED or ERROR ("" otherwise). */
CR_MUST_CHECK const char *starttls_why(const struct starttls *t);

#endif
