/*
 * smtp.c - the notices' SMTP client (smtp.h).
 *
 * One connection per batch, blocking I/O with smtp.timeout on every
 * read and write (SO_RCVTIMEO, SO_SNDTIMEO; OpenSSL's reads and writes
 * inherit them).  With a relay that offers PIPELINING (RFC 2920) each
 * message costs one round trip: the body of one message, its final
 * ".", and the next message's MAIL FROM, RCPT TO and DATA leave as one
 * write, and their four replies come back together.  libesmtp, which
 * sent the notices until the seventh round, waited for MAIL FROM's
 * reply alone and wrote bodies in 2,048-byte pieces: three round trips
 * and about 15 system calls a message, 43% of notify's CPU at 3 M
 * (docs/notify.md).  A relay without PIPELINING gets one command at a
 * time.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "certrecall/base/clock.h"
#include "certrecall/base/log.h"
#include "certrecall/base/xalloc.h"
#include "certrecall/core/config.h"
#include "certrecall/core/notice.h"
#include "certrecall/core/smtpwire.h"
#include "certrecall/net/smtp.h"

struct smtp_client {
	const struct config *cfg;
	SSL_CTX *ssl;
	/* RCPT TO's NOTIFY= per mailer.dsn, "" when the notices ask for
	 * no DSNs (dsn_wanted()) */
	char notify[40];
};

/* What a reply answers. */
enum want { WANT_RSET, WANT_MAIL, WANT_RCPT, WANT_DATA, WANT_END };

/* One SMTP message: a part of a notice. */
struct outgoing {
	struct notice *n;
	size_t part;	  /* of n's parts, 0-based */
	int mail, rcpt;	  /* the replies' codes (0: none yet) */
	int end;	  /* the reply to its final "." */
	bool answered;	  /* ev->answer was called for it */
	bool cancelled;	  /* dropped by us before its data */
	char sender[320]; /* envelope sender (VERP) */
};

#define OUT_FLUSH (64 * 1024) /* written once this much is buffered */
#define MAX_PENDING 8	      /* replies awaited at once, at most 5 */

/* One connection to the relay. */
struct session {
	struct smtp_client *c;
	const struct smtp_events *ev;
	int fd;
	SSL *tls;
	unsigned ext;	 /* SMTPWIRE_* the relay offers */
	bool pipelining; /* PIPELINING offered */
	bool in_mail;	 /* a transaction is open (MAIL accepted, no end) */
	struct outgoing *open; /* its DATA got 354: its data is next */
	char *out;
	size_t olen, ocap;
	char in[16384];
	size_t ipos, ilen;
	struct smtpwire_reader rd;
	struct {
		enum want want;
		struct outgoing *o;
	} pending[MAX_PENDING];
	size_t npending;
	bool broken;   /* the connection is no longer usable */
	char why[300]; /* why, for the messages it left unanswered */
};

/*
 * RCPT TO's NOTIFY= parameter (RFC 3461) per mailer.dsn, into buf; ""
 * without VERP ({id} in mailer.return_path): no DSN could be matched to
 * its notice, and every delivery would send one to mailer.from's
 * mailbox.
 */
static void dsn_notify(const struct config *cfg, char *buf, size_t len)
{
	static const struct {
		unsigned flag;
		const char *word;
	} words[] = { { CONFIG_DSN_SUCCESS, "SUCCESS" },
		      { CONFIG_DSN_FAILURE, "FAILURE" },
		      { CONFIG_DSN_DELAY, "DELAY" } };
	unsigned dsn = 0;
	size_t used = 0;

	buf[0] = '\0';
	if (config_dsn_parse(cfg->mailer.dsn, &dsn) < 0 || dsn == 0 ||
	    strstr(cfg->mailer.return_path, "{id}") == NULL)
		return; /* a bad setting was refused when it was read */
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		int n;

		if (!(dsn & words[i].flag))
			continue;
		n = snprintf(buf + used, len - used, "%s%s",
			     used ? "," : " NOTIFY=", words[i].word);
		if (n < 0 || (size_t)n >= len - used)
			return;
		used += (size_t)n;
	}
}

struct smtp_client *smtp_client_new(const struct config *cfg)
{
	struct smtp_client *c = xcalloc(1, sizeof(*c));

	c->cfg = cfg;
	dsn_notify(cfg, c->notify, sizeof(c->notify));
	c->ssl = SSL_CTX_new(TLS_client_method());
	if (c->ssl == NULL) {
		free(c);
		return NULL;
	}
	SSL_CTX_set_verify(c->ssl,
			   cfg->smtp.verify_peer ? SSL_VERIFY_PEER
						 : SSL_VERIFY_NONE,
			   NULL);
	if (cfg->smtp.verify_peer)
		SSL_CTX_set_default_verify_paths(c->ssl);
	return c;
}

void smtp_client_free(struct smtp_client *c)
{
	if (c == NULL)
		return;
	SSL_CTX_free(c->ssl);
	free(c);
}

void smtp_rate_init(struct smtp_rate *r, long long per_second)
{
	memset(r, 0, sizeof(*r));
	pthread_mutex_init(&r->lock, NULL);
	r->per_second = per_second;
}

void smtp_rate_release(struct smtp_rate *r)
{
	pthread_mutex_destroy(&r->lock);
}

double smtp_rate_wait(struct smtp_rate *r)
{
	double slot, now;

	if (r->per_second <= 0)
		return 0;
	pthread_mutex_lock(&r->lock);
	now = clock_mono();
	if (r->next_slot < now)
		r->next_slot = now;
	slot = r->next_slot;
	r->next_slot += 1.0 / (double)r->per_second;
	pthread_mutex_unlock(&r->lock);
	return slot - now;
}

/* One address of the relay: 0 when it accepts a connection within ms
 * (its socket in *keep, blocking again, when keep is not NULL), else an
 * errno value, or -1 when no socket of its family can be made. */
static int try_connect(const struct addrinfo *a, long long ms, int *keep)
{
	int fd = socket(a->ai_family,
			a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
			a->ai_protocol);
	struct pollfd pfd = { .fd = fd, .events = POLLOUT };
	int err = 0, r = 1;
	socklen_t len = sizeof(err);

	if (fd < 0)
		return -1;
	if (connect(fd, a->ai_addr, a->ai_addrlen) < 0) {
		if (errno == EINPROGRESS)
			r = poll(&pfd, 1, (int)ms);
		else
			err = errno;
	}
	if (err == 0 && r == 0)
		err = ETIMEDOUT;
	else if (err == 0 && r < 0)
		err = errno;
	else if (err == 0 &&
		 getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err == 0 && keep != NULL) {
		if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) == 0) {
			*keep = fd;
			return 0;
		}
		err = errno;
	}
	close(fd);
	return err;
}

/*
 * A connection to smtp.host:smtp.port within ms, tried on each of its
 * addresses: 0 (the socket in *keep unless keep is NULL), -2 when the
 * name does not resolve, -1 when no address took it; why says which.
 */
static int relay_connect(const struct config *cfg, long long ms, int *keep,
			 char *why, size_t whylen)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai;
	char port[32];
	int e, rc = -1;

	if (snprintf(why, whylen, "no address") < 0 ||
	    snprintf(port, sizeof(port), "%lld", (long long)cfg->smtp.port) < 0)
		return -1;
	e = getaddrinfo(cfg->smtp.host, port, &hints, &ai);
	if (e != 0) {
		if (snprintf(why, whylen, "%s", gai_strerror(e)) < 0)
			why[0] = '\0';
		return -2;
	}
	for (struct addrinfo *a = ai; a != NULL; a = a->ai_next) {
		int err = try_connect(a, ms, keep);

		if (err < 0)
			continue; /* no socket of that family */
		if (err == 0) {
			rc = 0;
			break;
		}
		/* strerror's words fit; a longer one is cut */
		if (snprintf(why, whylen, "%s", strerror(err)) < 0)
			why[0] = '\0';
	}
	freeaddrinfo(ai);
	return rc;
}

int smtp_relay_reachable(const struct config *cfg)
{
	long long ms =
		cfg->smtp.timeout_ms > 30000 ? 30000 : cfg->smtp.timeout_ms;
	char why[160];
	int rc = relay_connect(cfg, ms, NULL, why, sizeof(why));

	if (rc == -2)
		return log_error("smtp.host \"%s\": %s", cfg->smtp.host, why);
	if (rc < 0)
		return log_error("cannot reach the SMTP relay %s:%lld within "
				 "%lld ms: %s; nothing was sent",
				 cfg->smtp.host, (long long)cfg->smtp.port, ms,
				 why);
	return 0;
}

static bool host_is_loopback(const char *host)
{
	return strcmp(host, "localhost") == 0 ||
	       strncmp(host, "127.", 4) == 0 || strcmp(host, "::1") == 0 ||
	       strcmp(host, "[::1]") == 0;
}

/* ---- the connection ----------------------------------------------- */

/* The session ends early: what went wrong, for every message it leaves
 * without an answer (the first reason is kept). */
__attribute__((format(printf, 2, 3))) static int broken(struct session *s,
							const char *fmt, ...)
{
	va_list ap;

	if (!s->broken) {
		va_start(ap, fmt);
		if (vsnprintf(s->why, sizeof(s->why), fmt, ap) < 0)
			s->why[0] = '\0';
		va_end(ap);
		s->broken = true;
	}
	return -1;
}

/* The last OpenSSL error, or errno's words. */
static const char *io_error(char *buf, size_t len, int err)
{
	unsigned long e = ERR_get_error();

	if (e != 0) {
		ERR_error_string_n(e, buf, len);
		ERR_clear_error();
	} else if (err == EAGAIN || err == EWOULDBLOCK) {
		snprintf(buf, len, "no answer within smtp.timeout");
	} else if (err != 0) {
		snprintf(buf, len, "%s", strerror(err));
	} else {
		snprintf(buf, len, "the connection was closed");
	}
	return buf;
}

static int write_all(struct session *s, const char *p, size_t n)
{
	char err[160];

	while (n > 0) {
		ssize_t w;

		errno = 0;
		if (s->tls != NULL) {
			size_t done = 0;

			w = SSL_write_ex(s->tls, p, n, &done) == 1
				    ? (ssize_t)done
				    : -1;
		} else {
			w = send(s->fd, p, n, MSG_NOSIGNAL);
		}
		if (w < 0 && errno == EINTR && s->tls == NULL)
			continue;
		if (w <= 0)
			return broken(s, "writing to the relay: %s",
				      io_error(err, sizeof(err), errno));
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int flush(struct session *s)
{
	int rc = s->olen > 0 ? write_all(s, s->out, s->olen) : 0;

	s->olen = 0;
	return rc;
}

/* Queues n bytes; a long span goes out at once, not copied. */
static void put(void *arg, const char *p, size_t n)
{
	struct session *s = arg;

	if (s->broken)
		return;
	if (s->olen + n > OUT_FLUSH) {
		if (flush(s) < 0)
			return;
		if (n >= OUT_FLUSH) {
			(void)write_all(s, p, n);
			return;
		}
	}
	xgrow(&s->out, &s->ocap, s->olen + n, 1);
	memcpy(s->out + s->olen, p, n);
	s->olen += n;
}

/* The next reply into *rep: 0, or -1 (broken). */
static int read_reply(struct session *s, struct smtpwire_reply *rep)
{
	char why[200], err[160];

	for (;;) {
		ssize_t r;

		if (s->ipos < s->ilen) {
			size_t used = 0;
			int rc = smtpwire_feed(&s->rd, s->in + s->ipos,
					       s->ilen - s->ipos, &used, rep,
					       why, sizeof(why));

			s->ipos += used;
			if (rc < 0)
				return broken(s, "%s", why);
			if (rc == 1)
				return 0;
		}
		s->ipos = s->ilen = 0;
		errno = 0;
		if (s->tls != NULL) {
			size_t got = 0;

			r = SSL_read_ex(s->tls, s->in, sizeof(s->in), &got) == 1
				    ? (ssize_t)got
				    : -1;
		} else {
			r = recv(s->fd, s->in, sizeof(s->in), 0);
		}
		if (r < 0 && errno == EINTR && s->tls == NULL)
			continue;
		if (r <= 0)
			return broken(
				s, "reading from the relay: %s",
				io_error(err, sizeof(err), r == 0 ? 0 : errno));
		s->ilen = (size_t)r;
	}
}

/* A command: "text\r\n", queued (sent with the next flush). */
__attribute__((format(printf, 2, 3))) static void command(struct session *s,
							  const char *fmt, ...)
{
	char line[1100];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 2, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line) - 2) {
		(void)broken(s, "a command too long for SMTP");
		return;
	}
	memcpy(line + n, "\r\n", 2);
	put(s, line, (size_t)n + 2);
}

/* Sends what is queued and reads one reply: its code, or -1. */
static int exchange(struct session *s, struct smtpwire_reply *rep)
{
	if (flush(s) < 0 || read_reply(s, rep) < 0)
		return -1;
	return rep->code;
}

static bool is_address(const char *host)
{
	struct in6_addr a6;
	struct in_addr a4;

	return inet_pton(AF_INET, host, &a4) == 1 ||
	       inet_pton(AF_INET6, host, &a6) == 1;
}

/* Connects to smtp.host:smtp.port within smtp.timeout: 0, or -1. */
static int dial(struct session *s)
{
	const struct config *cfg = s->c->cfg;
	char why[160];
	struct timeval tv = { .tv_sec = cfg->smtp.timeout_ms / 1000,
			      .tv_usec = (cfg->smtp.timeout_ms % 1000) * 1000 };
	int rc = relay_connect(cfg, cfg->smtp.timeout_ms, &s->fd, why,
			       sizeof(why)),
	    on = 1;

	if (rc == -2)
		return broken(s, "smtp.host \"%s\": %s", cfg->smtp.host, why);
	if (rc < 0)
		return broken(s, "cannot connect to the SMTP relay %s:%lld: %s",
			      cfg->smtp.host, (long long)cfg->smtp.port, why);
	(void)setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	(void)setsockopt(s->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)setsockopt(s->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	return 0;
}

/* TLS over the connection after the relay's 220 to STARTTLS. */
static int tls_start(struct session *s)
{
	const struct config *cfg = s->c->cfg;
	char err[200];

	s->tls = SSL_new(s->c->ssl);
	if (s->tls == NULL || SSL_set_fd(s->tls, s->fd) != 1)
		return broken(s, "TLS: %s", io_error(err, sizeof(err), 0));
	if (!is_address(cfg->smtp.host))
		(void)SSL_set_tlsext_host_name(s->tls, cfg->smtp.host);
	if (cfg->smtp.verify_peer) {
		X509_VERIFY_PARAM *vp = SSL_get0_param(s->tls);

		if ((is_address(cfg->smtp.host)
			     ? X509_VERIFY_PARAM_set1_ip_asc(vp, cfg->smtp.host)
			     : SSL_set1_host(s->tls, cfg->smtp.host)) != 1)
			return broken(s, "TLS: cannot check the relay's name");
	}
	if (SSL_connect(s->tls) != 1) {
		long v = SSL_get_verify_result(s->tls);

		if (v != X509_V_OK)
			return broken(s,
				      "the relay's certificate does not verify "
				      "(smtp.verify_peer): %s",
				      X509_verify_cert_error_string(v));
		return broken(s, "the TLS handshake with the relay failed: %s",
			      io_error(err, sizeof(err), errno));
	}
	return 0;
}

static void session_close(struct session *s)
{
	if (s->tls != NULL) {
		SSL_free(s->tls); /* no close_notify: the relay had QUIT */
		s->tls = NULL;
	}
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	free(s->out);
	s->out = NULL;
}

/* ---- the dialogue ------------------------------------------------- */

/* EHLO (HELO when refused): the extensions offered, or -1. */
static int hello(struct session *s)
{
	const struct config *cfg = s->c->cfg;
	struct smtpwire_reply rep;
	char name[256];
	int code;

	if (cfg->smtp.helo[0] != '\0')
		snprintf(name, sizeof(name), "%s", cfg->smtp.helo);
	else if (gethostname(name, sizeof(name)) < 0 || name[0] == '\0')
		snprintf(name, sizeof(name), "localhost");
	name[sizeof(name) - 1] = '\0';
	command(s, "EHLO %s", name);
	code = exchange(s, &rep);
	if (code == 250) {
		s->ext = smtpwire_ehlo_extensions(&rep);
		return 0;
	}
	if (code > 0) {
		command(s, "HELO %s", name);
		code = exchange(s, &rep);
		s->ext = 0;
	}
	if (code < 0)
		return -1;
	if (code != 250)
		return broken(s, "the relay refused EHLO and HELO: %d %.200s",
			      code, rep.text);
	return 0;
}

/* STARTTLS per smtp.starttls (RFC 3207): 0, or -1. */
static int starttls(struct session *s)
{
	const struct config *cfg = s->c->cfg;
	const char *mode = cfg->smtp.starttls;
	bool required = strcmp(mode, "required") == 0 ||
			(strcmp(mode, "auto") == 0 &&
			 !host_is_loopback(cfg->smtp.host));
	struct smtpwire_reply rep;
	int code;

	if (strcmp(mode, "none") == 0)
		return 0;
	if (!(s->ext & SMTPWIRE_STARTTLS)) {
		if (required)
			return broken(s,
				      "the relay does not offer STARTTLS "
				      "(smtp.starttls = %s)",
				      mode);
		return 0;
	}
	command(s, "STARTTLS");
	code = exchange(s, &rep);
	if (code < 0)
		return -1;
	if (code != 220) {
		if (required)
			return broken(s,
				      "the relay refused STARTTLS: %d %.200s",
				      code, rep.text);
		return 0;
	}
	if (s->ipos < s->ilen)
		return broken(s, "the relay sent data after its STARTTLS "
				 "reply (RFC 3207 5)");
	if (tls_start(s) < 0)
		return -1;
	return hello(s); /* RFC 3207 4.2: forget what was said before */
}

/* AUTH PLAIN (RFC 4954, 4616) with smtp.username: 0, or -1 when the
 * connection broke.  A refused login is said once; the relay's answer
 * to MAIL FROM then decides (a retry: mail_refused()). */
static int login(struct session *s)
{
	static atomic_bool told_clear, told_refused, told_unoffered;
	const struct config *cfg = s->c->cfg;
	static __thread char *password;
	struct smtpwire_reply rep;
	unsigned char raw[700];
	char b64[940];
	size_t ul = strlen(cfg->smtp.username), pl;
	int code;

	if (cfg->smtp.username[0] == '\0')
		return 0;
	if (!(s->ext & SMTPWIRE_AUTH_PLAIN)) {
		if (!atomic_exchange(&told_unoffered, true))
			log_warn(
				"the relay offers no AUTH PLAIN: smtp.username "
				"is not used");
		return 0;
	}
	if (s->tls == NULL && !host_is_loopback(cfg->smtp.host)) {
		if (!atomic_exchange(&told_clear, true))
			log_warn("not sending the password of smtp.username "
				 "without TLS to %s (smtp.starttls)",
				 cfg->smtp.host);
		return 0;
	}
	if (password == NULL && config_read_password(cfg, &password) < 0)
		return 0; /* said; MAIL FROM will be refused */
	pl = password ? strlen(password) : 0;
	if (ul + pl + 2 > sizeof(raw))
		return broken(s, "smtp.username and the password are too long");
	raw[0] = '\0';
	memcpy(raw + 1, cfg->smtp.username, ul);
	raw[1 + ul] = '\0';
	if (pl > 0)
		memcpy(raw + 2 + ul, password, pl);
	(void)EVP_EncodeBlock((unsigned char *)b64, raw, (int)(ul + pl + 2));
	OPENSSL_cleanse(raw, sizeof(raw));
	command(s, "AUTH PLAIN %s", b64);
	OPENSSL_cleanse(b64, sizeof(b64));
	code = exchange(s, &rep);
	if (code < 0)
		return -1;
	if (code != 235 && !atomic_exchange(&told_refused, true))
		log_warn("the relay refused the login of smtp.username: %d "
			 "%.*s",
			 code, (int)strcspn(rep.text, "\r\n"), rep.text);
	return 0;
}

/* Whether the notices ask for DSNs (dsn_notify()). */
static bool dsn_wanted(const struct smtp_client *c)
{
	return c->notify[0] != '\0';
}

/* Connects and says hello, with TLS and AUTH as configured. */
static int session_open(struct session *s)
{
	struct smtpwire_reply rep;
	int code;

	if (dial(s) < 0)
		return -1;
	code = read_reply(s, &rep) < 0 ? -1 : rep.code;
	if (code < 0)
		return -1;
	if (code != 220)
		return broken(s, "the relay's greeting: %d %.200s", code,
			      rep.text);
	if (hello(s) < 0 || starttls(s) < 0 || login(s) < 0)
		return -1;
	s->pipelining = (s->ext & SMTPWIRE_PIPELINING) != 0;
	if (dsn_wanted(s->c) && !(s->ext & SMTPWIRE_DSN)) {
		/* The notices go all the same, without asking. */
		static atomic_bool told;

		if (!atomic_exchange(&told, true))
			log_info("the relay does not offer DSN (RFC 3461): "
				 "no delivery confirmations will come back "
				 "(mailer.dsn)");
	}
	return 0;
}

/* ---- the messages ------------------------------------------------- */

/*
 * MAIL FROM's DSN parameters (RFC 3461): RET=HDRS (the headers name
 * the notice; a notice's body is long), and as ENVID the notice's VERP
 * tag, the part of the envelope sender that {id} of mailer.return_path
 * became ([0-9a-f-]: no xtext encoding needed).
 */
static void dsn_mail_params(const struct smtp_client *c, const char *sender,
			    char *buf, size_t len)
{
	const char *pattern = c->cfg->mailer.return_path;
	const char *id = strstr(pattern, "{id}");
	size_t pre = (size_t)(id - pattern), suf = strlen(id + 4);
	size_t sl = strlen(sender);
	char envid[101]; /* RFC 3461 4.4: at most 100 characters */

	envid[0] = '\0';
	if (sl > pre + suf && sl - pre - suf < sizeof(envid) &&
	    strncmp(sender, pattern, pre) == 0) {
		memcpy(envid, sender + pre, sl - pre - suf);
		envid[sl - pre - suf] = '\0';
	}
	if (snprintf(buf, len, " RET=HDRS%s%s", envid[0] ? " ENVID=" : "",
		     envid) < 0)
		buf[0] = '\0';
}

static void expect(struct session *s, enum want want, struct outgoing *o)
{
	s->pending[s->npending].want = want;
	s->pending[s->npending].o = o;
	s->npending++;
}

/* o's notice is decided by this reply. */
static void answer(struct session *s, struct outgoing *o, int code,
		   const char *text)
{
	o->answered = true;
	s->ev->answer(s->ev->arg, o->n, code, text);
}

/*
 * MAIL FROM refused (no AUTH, a bad login, our sender): the relay's
 * verdict on us, not on the recipient.  Retried like a lost connection,
 * never failed for good at once, and said once per run so the operator
 * can fix it.
 */
static void mail_refused(struct session *s, struct outgoing *o,
			 const struct smtpwire_reply *rep)
{
	const struct smtp_events *ev = s->ev;
	char reply[300];

	/* the reply is cut to its first line when recorded anyway */
	if (snprintf(reply, sizeof(reply), "MAIL FROM refused: %d %.250s",
		     rep->code, rep->text) < 0)
		reply[0] = '\0';
	if (!atomic_exchange(ev->mail_refused_told, true))
		log_warn("the relay refused MAIL FROM: %d %.*s "
			 "(check smtp.username, "
			 "smtp.password_file and mailer.from); "
			 "the notices are retried",
			 rep->code, (int)strcspn(rep->text, "\n"), rep->text);
	answer(s, o, 0, reply);
}

/* What one reply means for its message. */
static void on_reply(struct session *s, enum want want, struct outgoing *o,
		     const struct smtpwire_reply *rep)
{
	const struct smtp_events *ev = s->ev;
	int code = rep->code;

	switch (want) {
	case WANT_RSET:
		break;
	case WANT_MAIL:
		o->mail = code;
		if (code < 400) {
			s->in_mail = true;
		} else {
			mail_refused(s, o, rep);
			ev->tick(ev->arg);
		}
		break;
	case WANT_RCPT:
		o->rcpt = code;
		if (o->mail < 400 && code >= 400) {
			/* A refused recipient decides its message. */
			answer(s, o, code, rep->text);
			ev->tick(ev->arg);
		}
		break;
	case WANT_DATA:
		if (o->mail >= 400 || o->rcpt >= 400) {
			if (code ==
			    354) /* it now takes our next lines as data */
				(void)broken(s, "the relay accepted DATA for a "
						"refused envelope");
		} else if (code == 354) {
			s->open = o;
		} else {
			answer(s, o, code, rep->text);
			ev->tick(ev->arg);
		}
		break;
	case WANT_END:
		o->end = code;
		/* A part accepted decides nothing while parts remain. */
		if (!(code < 400 && o->part + 1 < o->n->nparts)) {
			answer(s, o, code, rep->text);
			ev->tick(ev->arg);
		}
		break;
	}
}

/* Sends what is queued and reads every reply awaited: 0, or -1. */
static int sync_replies(struct session *s)
{
	struct smtpwire_reply rep;
	size_t i;

	if (flush(s) < 0)
		return -1;
	for (i = 0; i < s->npending; i++) {
		if (read_reply(s, &rep) < 0)
			break;
		on_reply(s, s->pending[i].want, s->pending[i].o, &rep);
	}
	s->npending = 0;
	return s->broken ? -1 : 0;
}

/* Without PIPELINING, every command waits for its reply. */
static int step(struct session *s)
{
	return s->pipelining ? 0 : sync_replies(s);
}

/*
 * The envelope of o: RSET first when the last transaction is still
 * open (its MAIL was accepted but its data never went), then MAIL FROM,
 * RCPT TO and DATA.  Without PIPELINING a refusal stops it there.
 */
static int envelope(struct session *s, struct outgoing *o)
{
	char mp[160] = "";
	const char *rp = "";

	if (s->in_mail) {
		command(s, "RSET");
		expect(s, WANT_RSET, NULL);
		s->in_mail = false;
		if (step(s) < 0)
			return -1;
	}
	if (dsn_wanted(s->c) && (s->ext & SMTPWIRE_DSN)) {
		dsn_mail_params(s->c, o->sender, mp, sizeof(mp));
		rp = s->c->notify;
	}
	command(s, "MAIL FROM:<%s>%s", o->sender, mp);
	expect(s, WANT_MAIL, o);
	if (step(s) < 0)
		return -1;
	if (!s->pipelining && o->mail >= 400)
		return 0;
	command(s, "RCPT TO:<%s>%s", o->n->address, rp);
	expect(s, WANT_RCPT, o);
	if (step(s) < 0)
		return -1;
	if (!s->pipelining && o->rcpt >= 400)
		return 0;
	command(s, "DATA");
	expect(s, WANT_DATA, o);
	return 0;
}

/* o's data and its final ".", or -1: may_send() said no (o cancelled)
 * or the connection broke. */
static int data(struct session *s, struct outgoing *o)
{
	const struct smtp_events *ev = s->ev;
	size_t len;
	const char *m;

	ev->pace(ev->arg); /* its DATA phase: wait for its turn */
	if (!ev->may_send(ev->arg)) {
		/* Outcomes can no longer be recorded here.  The connection
		 * is dropped before the final ".", so the relay discards
		 * this message instead of delivering it unrecorded. */
		o->cancelled = true;
		return broken(s, "stopped before the message's data");
	}
	m = notice_part(o->n, o->part, &len);
	smtpwire_data(m, len, put, s);
	expect(s, WANT_END, o);
	s->in_mail = false; /* the final "." ends it, whatever the answer */
	return s->broken ? -1 : 0;
}

/* The next message to send from out[*i..k), or NULL. */
static struct outgoing *next_message(struct outgoing *out, size_t k, size_t *i)
{
	while (*i < k && out[*i].n->done)
		(*i)++;
	return *i < k ? &out[(*i)++] : NULL;
}

/*
 * Every message of out[0..k) over one session: one round trip each
 * with PIPELINING.  A later part of the notice whose data goes now waits
 * for that data's answer (a refused part decides the notice).
 */
static void send_all(struct session *s, struct outgoing *out, size_t k)
{
	size_t i = 0;
	struct outgoing *next = NULL;

	for (;;) {
		struct outgoing *body = s->open;

		s->open = NULL;
		if (body != NULL && (data(s, body) < 0 ||
				     (!s->pipelining && sync_replies(s) < 0)))
			return;
		if (next != NULL && next->n->done)
			next = NULL; /* an earlier part decided its notice */
		if (next == NULL)
			next = next_message(out, k, &i);
		if (next != NULL && body != NULL && next->n == body->n) {
			/* wait: the answer to this part comes first */
		} else if (next != NULL) {
			if (!smtpwire_mailbox_ok(next->n->address) ||
			    !smtpwire_mailbox_ok(next->sender)) {
				answer(s, next, 553,
				       "certrecall: the address cannot go in "
				       "an SMTP envelope; not sent");
				s->ev->tick(s->ev->arg);
				next = NULL;
				if (body == NULL)
					continue;
			} else {
				if (envelope(s, next) < 0)
					return;
				next = NULL;
			}
		} else if (body == NULL) {
			break;
		}
		if (sync_replies(s) < 0)
			return;
	}
	command(s, "QUIT");
	{
		struct smtpwire_reply rep;

		(void)exchange(s, &rep); /* its answer does not matter */
	}
}

/* A message the session left without an answer: whatever got none is
 * retried, it was not accepted. */
static void settle(struct session *s, struct outgoing *o, const char *why)
{
	const struct smtp_events *ev = s->ev;

	if (o->answered || o->n->done)
		return;
	if (o->end > 0 && o->end < 400)
		return; /* a part accepted: the later parts decide */
	if (ev->give_back(ev->arg)) {
		/* never delivered: back to the queue (a notice's parts
		 * are next to each other; a later part cut off sends them
		 * all again, as a retry would) */
		ev->unsent(ev->arg, o->n);
		return;
	}
	ev->answer(ev->arg, o->n, 0, why);
}

void smtp_send_batch(struct smtp_client *c, struct notice *batch, size_t n,
		     const struct smtp_events *ev)
{
	struct session s = { .c = c, .ev = ev, .fd = -1 };
	size_t nout = 0, k = 0;
	struct outgoing *out;

	for (size_t i = 0; i < n; i++)
		nout += batch[i].nparts ? batch[i].nparts : 1;
	out = xcalloc(nout, sizeof(*out));
	for (size_t i = 0; i < n; i++) {
		if (batch[i].done)
			continue;
		for (size_t p = 0; p < batch[i].nparts; p++) {
			struct outgoing *o = &out[k++];
			const char *f;

			o->n = &batch[i];
			o->part = p;
			f = ev->sender(ev->arg, o->n, o->sender,
				       sizeof(o->sender));
			if (f != o->sender &&
			    snprintf(o->sender, sizeof(o->sender), "%s", f) < 0)
				o->sender[0] = '\0';
		}
	}
	smtpwire_reader_init(&s.rd);
	if (session_open(&s) == 0)
		send_all(&s, out, k);
	if (!s.broken)
		snprintf(s.why, sizeof(s.why),
			 "connection ended before the server answered");
	session_close(&s);
	for (size_t i = 0; i < k; i++)
		settle(&s, &out[i], s.why);
	free(out);
}
