/*
 * smtp.c - the libesmtp sender (smtp.h).
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <linux/tcp.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
/* Both before libesmtp.h, or its TLS and AUTH APIs are hidden. */
#include <openssl/ssl.h>
#include <auth-client.h>
#include <libesmtp.h>

#include "certrecall/base/log.h"
#include "certrecall/base/xalloc.h"
#include "certrecall/core/config.h"
#include "certrecall/core/notice.h"
#include "certrecall/net/smtp.h"

struct smtp_client {
	const struct config *cfg;
	SSL_CTX *ssl;
	unsigned dsn; /* mailer.dsn: CONFIG_DSN_* */
};

/* One session: the client and what its caller does with the events. */
struct session {
	struct smtp_client *c;
	const struct smtp_events *ev;
	char *server;	 /* "host:port", for as long as the session */
	int fd;		 /* its relay socket, -1 when not known */
	uint64_t cookie; /* that socket's SO_COOKIE (0: none) */
};

/* Per-message data handed to libesmtp. */
struct outgoing {
	struct session *s;
	struct notice *n;
	size_t part; /* of n's parts, 0-based */
	smtp_message_t msg;
	smtp_recipient_t rcpt;
	size_t pos;
	bool cancelled; /* dropped by us before its final "." */
	/* corking (cork_data()): the header fields libesmtp reports
	 * before the body, those reported so far, whether corked */
	size_t fields, reported;
	bool corked;
	char sender[320]; /* envelope sender (VERP) */
};

struct smtp_client *smtp_client_new(const struct config *cfg)
{
	struct smtp_client *c = xcalloc(1, sizeof(*c));

	c->cfg = cfg;
	if (config_dsn_parse(cfg->mailer.dsn, &c->dsn) < 0)
		c->dsn = 0; /* checked when the setting was read */
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

static double mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
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
	now = mono_now();
	if (r->next_slot < now)
		r->next_slot = now;
	slot = r->next_slot;
	r->next_slot += 1.0 / (double)r->per_second;
	pthread_mutex_unlock(&r->lock);
	return slot - now;
}

void smtp_auth_init(void)
{
	auth_client_init();
}

/*
 * The relay connection's socket.  libesmtp keeps it to itself, so it is
 * looked for among the process's sockets when libesmtp reports the
 * connect (relay_socket_find()).
 *
 * TCP_NODELAY: libesmtp writes a message in 2,048-byte pieces; with
 * Nagle's algorithm the last piece of any message over 2 KB waited for
 * the relay's delayed ACK, 40 ms a message (docs/notify.md).  Every TCP
 * socket of the process gets the option: libpq sets it on its own TCP
 * sockets anyway.
 *
 * TCP_CORK while the body of a long message is written (cork_data()):
 * with TCP_NODELAY each 2,048-byte piece went out as a segment of its
 * own, and on a loopback relay the sender's CPU also pays the
 * receiving side of every segment.  Corked, the pieces leave in full
 * segments; uncorking before the last piece and the final "." sends
 * the rest at once, so no message waits.  This needs the session's own
 * socket: the socket that was connected just now (nothing sent on it
 * yet), to the relay's port, and not another session's.  When two
 * sessions connect at the same instant and that does not tell them
 * apart, the session goes uncorked (it still has TCP_NODELAY).
 */
static pthread_mutex_t relay_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t *relay_owned; /* socket cookies of the live sessions */
static size_t relay_nowned, relay_cap;

/* tcpi_state of a connection (the kernel's TCP_ESTABLISHED) */
#define TCPI_ESTABLISHED 1

/* Messages at least this long are written corked (8 pieces). */
#define CORK_MIN_BYTES (8 * 2048)

static bool relay_is_owned(uint64_t cookie)
{
	for (size_t i = 0; i < relay_nowned; i++)
		if (relay_owned[i] == cookie)
			return true;
	return false;
}

/* Forgets the socket s found (under relay_lock). */
static void relay_disown(struct session *s)
{
	for (size_t i = 0; i < relay_nowned; i++) {
		if (relay_owned[i] == s->cookie) {
			relay_owned[i] = relay_owned[--relay_nowned];
			break;
		}
	}
	s->fd = -1;
	s->cookie = 0;
}

/* Whether TCP socket fd is a fresh connection to the relay's port: one
 * nobody has written to yet.  Its cookie in *cookie. */
static bool relay_fresh(int fd, long long port, uint64_t *cookie)
{
	struct sockaddr_storage peer;
	socklen_t l = sizeof(peer);
	struct tcp_info ti;
	unsigned peer_port;

	if (getpeername(fd, (struct sockaddr *)&peer, &l) < 0)
		return false;
	if (peer.ss_family == AF_INET)
		peer_port = ntohs(((struct sockaddr_in *)&peer)->sin_port);
	else
		peer_port = ntohs(((struct sockaddr_in6 *)&peer)->sin6_port);
	if ((long long)peer_port != port)
		return false;
	l = sizeof(ti);
	memset(&ti, 0, sizeof(ti));
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &l) < 0 ||
	    l < offsetof(struct tcp_info, tcpi_delivery_rate) ||
	    ti.tcpi_data_segs_out != 0 || ti.tcpi_notsent_bytes != 0 ||
	    ti.tcpi_state != TCPI_ESTABLISHED)
		return false;
	l = sizeof(*cookie);
	if (getsockopt(fd, SOL_SOCKET, SO_COOKIE, cookie, &l) < 0)
		return false;
	return !relay_is_owned(*cookie);
}

/* Sets TCP_NODELAY on fd when it is a TCP socket: true if it is. */
static bool nodelay_if_tcp(int fd)
{
	int domain = 0, type = 0, on = 1;
	socklen_t l = sizeof(int);

	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &l) < 0 ||
	    (domain != AF_INET && domain != AF_INET6))
		return false;
	l = sizeof(int);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &l) < 0 ||
	    type != SOCK_STREAM)
		return false;
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	return true;
}

/*
 * TCP_NODELAY on every TCP socket of the process, and s->fd the
 * session's own relay socket when exactly one fits.  The open
 * descriptors are read from /proc/self/fd: trying each number up to
 * 4,096 cost 4,000 system calls a session.
 */
static void relay_socket_find(struct session *s)
{
	DIR *d = opendir("/proc/self/fd");
	int max = d != NULL ? INT_MAX : 4096; /* without /proc: try them */
	int found = -1, fits = 0;
	uint64_t cookie = 0, c;

	pthread_mutex_lock(&relay_lock);
	if (s->cookie != 0) /* a connect after a failed one */
		relay_disown(s);
	for (int fd = 3; fd < max;) {
		if (d != NULL) {
			struct dirent *e = readdir(d);

			if (e == NULL)
				break;
			if (e->d_name[0] < '0' || e->d_name[0] > '9')
				continue;
			fd = atoi(e->d_name);
			if (fd < 3 || fd == dirfd(d))
				continue;
		}
		if (nodelay_if_tcp(fd) &&
		    relay_fresh(fd, s->c->cfg->smtp.port, &c)) {
			found = fd;
			cookie = c;
			fits++;
		}
		if (d == NULL)
			fd++;
	}
	if (fits == 1) {
		xgrow(&relay_owned, &relay_cap, relay_nowned + 1,
		      sizeof(*relay_owned));
		relay_owned[relay_nowned++] = cookie;
		s->fd = found;
		s->cookie = cookie;
	}
	pthread_mutex_unlock(&relay_lock);
	if (d != NULL)
		closedir(d);
}

/* The session's socket is closed: forget it. */
static void relay_socket_forget(struct session *s)
{
	pthread_mutex_lock(&relay_lock);
	if (s->cookie != 0)
		relay_disown(s);
	pthread_mutex_unlock(&relay_lock);
}

static void cork(const struct session *s, int on)
{
	if (s->fd >= 0)
		(void)setsockopt(s->fd, IPPROTO_TCP, TCP_CORK, &on, sizeof(on));
}

/* The header fields of message m (continuation lines are part of their
 * field): what libesmtp reports one by one before the body. */
static size_t header_fields(const char *m, size_t len)
{
	size_t n = 0;
	const char *p = m, *end = m + len, *nl;

	while (p < end && !(end - p >= 2 && p[0] == '\r' && p[1] == '\n')) {
		if (*p != ' ' && *p != '\t')
			n++;
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			break;
		p = nl + 1;
	}
	return n;
}

/*
 * libesmtp reported len bytes of message o (SMTP_EV_MESSAGEDATA, once
 * per header field, then with DATA once per body line): the second
 * body line corks the socket.  Only DATA's body: with BDAT (CHUNKING)
 * the body comes as one report of all of it, never a second, and a
 * relay without PIPELINING is waited for between chunks, which a cork
 * would hold back; every line DATA reports is at most 1,000 bytes.
 */
static void cork_data(struct outgoing *o, int len)
{
	if (o->corked || o->fields == SIZE_MAX ||
	    ++o->reported <= o->fields + 1 || len > 1000)
		return;
	cork(o->s, 1);
	o->corked = true;
}

static const char *message_cb(void **ctx, int *len, void *arg)
{
	struct outgoing *o = arg;
	const struct smtp_events *ev = o->s->ev;

	(void)ctx;
	if (len == NULL) { /* rewind: the DATA phase of this message starts */
		ev->pace(ev->arg);
		o->pos = 0;
		return NULL;
	}
	if (o->pos == 0 && !ev->may_send(ev->arg)) {
		o->cancelled = true;
		/* Outcomes can no longer be recorded here.  An error from
		 * the message callback makes libesmtp drop the connection
		 * before the final "." (protocol.c, cmd_data2), so the
		 * relay discards this message instead of delivering it
		 * unrecorded. */
		errno = ECANCELED;
		*len = 0;
		return NULL;
	}
	{
		size_t plen;
		const char *m = notice_part(o->n, o->part, &plen);

		if (o->pos >= plen) {
			/* the end: libesmtp holds the last piece and the
			 * final "." still */
			if (o->corked)
				cork(o->s, 0);
			o->corked = false;
			*len = 0;
			return NULL;
		}
		/* SIZE_MAX: never corked */
		o->fields = plen >= CORK_MIN_BYTES && o->s->fd >= 0
				    ? header_fields(m, plen)
				    : SIZE_MAX;
		o->reported = 0;
		*len = (int)(plen - o->pos);
		o->pos = plen;
		return m;
	}
}

static void event_cb(smtp_session_t session, int event, void *arg, ...)
{
	struct session *s = arg;
	const struct smtp_events *ev = s->ev;
	va_list ap;

	(void)session;
	va_start(ap, arg);
	switch (event) {
	case SMTP_EV_CONNECT:
		relay_socket_find(s);
		break;
	case SMTP_EV_MESSAGEDATA: {
		smtp_message_t msg = va_arg(ap, smtp_message_t);
		int len = va_arg(ap, int);
		struct outgoing *o = smtp_message_get_application_data(msg);

		if (o != NULL)
			cork_data(o, len);
		break;
	}
	case SMTP_EV_RCPTSTATUS: {
		/* A refused recipient decides its message. */
		const char *mailbox = va_arg(ap, const char *);
		smtp_recipient_t rcpt = va_arg(ap, smtp_recipient_t);
		struct outgoing *o = smtp_recipient_get_application_data(rcpt);
		const smtp_status_t *st = smtp_recipient_status(rcpt);

		(void)mailbox;
		if (o != NULL && st != NULL && st->code >= 400)
			ev->answer(ev->arg, o->n, st->code, st->text);
		ev->tick(ev->arg);
		break;
	}
	case SMTP_EV_MESSAGESENT: {
		/* The answer to the data (or to DATA itself). */
		smtp_message_t msg = va_arg(ap, smtp_message_t);
		struct outgoing *o = smtp_message_get_application_data(msg);
		const smtp_status_t *st = smtp_message_transfer_status(msg);

		/* A part accepted decides nothing while parts remain. */
		if (o != NULL && st != NULL && st->code != 0 &&
		    !(st->code < 400 && o->part + 1 < o->n->nparts))
			ev->answer(ev->arg, o->n, st->code, st->text);
		ev->tick(ev->arg);
		break;
	}
	case SMTP_EV_EXTNA_DSN: {
		/* The relay does not offer DSN: the notices go all the
		 * same, without asking (quit stays 0). */
		static atomic_bool told;

		if (!atomic_exchange(&told, true))
			log_info("the relay does not offer DSN (RFC 3461): "
				 "no delivery confirmations will come back "
				 "(mailer.dsn)");
		break;
	}
	case SMTP_EV_INVALID_PEER_CERTIFICATE: {
		long result = va_arg(ap, long);
		int *ok = va_arg(ap, int *);

		(void)result;
		*ok = !s->c->cfg->smtp.verify_peer;
		break;
	}
	case SMTP_EV_NO_PEER_CERTIFICATE:
	case SMTP_EV_WRONG_PEER_CERTIFICATE: {
		int *ok = va_arg(ap, int *);

		*ok = !s->c->cfg->smtp.verify_peer;
		break;
	}
	default:
		break;
	}
	va_end(ap);
}

static int auth_interact(auth_client_request_t req, char **result, int n,
			 void *arg)
{
	struct session *s = arg;
	const struct config *cfg = s->c->cfg;
	static __thread char *password;

	if (password == NULL && config_read_password(cfg, &password) < 0)
		return 0;
	for (int i = 0; i < n; i++) {
		if (req[i].flags & AUTH_USER)
			result[i] = (char *)cfg->smtp.username;
		else if (req[i].flags & AUTH_PASS)
			result[i] = password ? password : (char *)"";
		else
			return 0;
	}
	return 1;
}

/* One address of the relay: 0 when it accepts a connection within ms,
 * else an errno value. */
static int try_connect(const struct addrinfo *a, long long ms)
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
	close(fd);
	return err;
}

int smtp_relay_reachable(const struct config *cfg)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai;
	long long ms =
		cfg->smtp.timeout_ms > 30000 ? 30000 : cfg->smtp.timeout_ms;
	char port[32], why[160] = "no address";
	int e;

	if (snprintf(port, sizeof(port), "%lld", (long long)cfg->smtp.port) < 0)
		return -1;
	e = getaddrinfo(cfg->smtp.host, port, &hints, &ai);
	if (e != 0)
		return log_error("smtp.host \"%s\": %s", cfg->smtp.host,
				 gai_strerror(e));
	for (struct addrinfo *a = ai; a != NULL; a = a->ai_next) {
		int err = try_connect(a, ms);

		if (err < 0)
			continue; /* no socket of that family */
		if (err == 0) {
			freeaddrinfo(ai);
			return 0;
		}
		/* strerror's words fit; a longer one is cut */
		if (snprintf(why, sizeof(why), "%s", strerror(err)) < 0)
			why[0] = '\0';
	}
	freeaddrinfo(ai);
	return log_error("cannot reach the SMTP relay %s:%lld within %lld ms: "
			 "%s; nothing was sent",
			 cfg->smtp.host, (long long)cfg->smtp.port, ms, why);
}

static bool host_is_loopback(const char *host)
{
	return strcmp(host, "localhost") == 0 ||
	       strncmp(host, "127.", 4) == 0 || strcmp(host, "::1") == 0 ||
	       strcmp(host, "[::1]") == 0;
}

/* A session to the relay per smtp.*, its events to s. */
static smtp_session_t session_new(struct session *s, auth_context_t *auth)
{
	const struct config *cfg = s->c->cfg;
	smtp_session_t session = smtp_create_session();
	const char *mode = cfg->smtp.starttls;
	enum starttls_option tls;
	long t = (long)cfg->smtp.timeout_ms;
	size_t cap = strlen(cfg->smtp.host) + 32; /* ":" and a long long */

	s->server = xmalloc(cap);
	if (snprintf(s->server, cap, "%s:%lld", cfg->smtp.host,
		     cfg->smtp.port) < 0)
		s->server[0] = '\0';
	smtp_set_server(session, s->server);
	if (cfg->smtp.helo[0] != '\0')
		smtp_set_hostname(session, cfg->smtp.helo);
	/* libesmtp's timeouts are milliseconds. */
	for (int w = Timeout_GREETING; w <= Timeout_DATA2; w++)
		smtp_set_timeout(session, w | Timeout_OVERRIDE_RFC2822_MINIMUM,
				 t);
	if (strcmp(mode, "none") == 0)
		tls = Starttls_DISABLED;
	else if (strcmp(mode, "optional") == 0 ||
		 (strcmp(mode, "auto") == 0 &&
		  host_is_loopback(cfg->smtp.host)))
		tls = Starttls_ENABLED;
	else
		tls = Starttls_REQUIRED;
	/* An application-owned context per session (libesmtp issue #30). */
	smtp_starttls_set_ctx(session, s->c->ssl);
	smtp_starttls_enable(session, tls);
	smtp_set_eventcb(session, event_cb, s);
	*auth = NULL;
	if (cfg->smtp.username[0] != '\0') {
		*auth = auth_create_context();
		auth_set_mechanism_flags(*auth, AUTH_PLUGIN_PLAIN, 0);
		auth_set_interact_cb(*auth, auth_interact, s);
		smtp_auth_set_context(session, *auth);
	}
	return session;
}

/*
 * The DSNs (RFC 3461) message o asks for, per mailer.dsn: NOTIFY on its
 * recipient, RET=HDRS (the headers name the notice; a notice's body is
 * long), and as ENVID the notice's VERP tag, the part of the envelope
 * sender that {id} of mailer.return_path became.  Nothing without
 * VERP: no DSN could be matched to its notice, and every delivery would
 * send one to mailer.from's mailbox.  libesmtp sends them only to a
 * relay that offers DSN.
 */
static void dsn_request(const struct smtp_client *c, struct outgoing *o)
{
	const char *pattern = c->cfg->mailer.return_path;
	const char *id = strstr(pattern, "{id}");
	int notify = 0;
	char envid[101]; /* RFC 3461 4.4: at most 100 characters */

	if (c->dsn == 0 || id == NULL)
		return;
	if (c->dsn & CONFIG_DSN_SUCCESS)
		notify |= Notify_SUCCESS;
	if (c->dsn & CONFIG_DSN_FAILURE)
		notify |= Notify_FAILURE;
	if (c->dsn & CONFIG_DSN_DELAY)
		notify |= Notify_DELAY;
	smtp_dsn_set_notify(o->rcpt, (enum notify_flags)notify);
	smtp_dsn_set_ret(o->msg, Ret_HDRS);
	{
		size_t pre = (size_t)(id - pattern), suf = strlen(id + 4);
		size_t len = strlen(o->sender);

		/* the tag is [0-9a-f-]: no xtext encoding needed */
		if (len > pre + suf && len - pre - suf < sizeof(envid) &&
		    strncmp(o->sender, pattern, pre) == 0) {
			memcpy(envid, o->sender + pre, len - pre - suf);
			envid[len - pre - suf] = '\0';
			smtp_dsn_set_envid(o->msg, envid);
		}
	}
}

/* One SMTP message per part of each notice not done yet, in order, into
 * out; their number. */
static size_t messages_add(struct session *s, smtp_session_t session,
			   struct notice *batch, size_t n, struct outgoing *out)
{
	const struct smtp_events *ev = s->ev;
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		if (batch[i].done)
			continue;
		for (size_t p = 0; p < batch[i].nparts; p++) {
			struct outgoing *o = &out[k++];

			o->s = s;
			o->n = &batch[i];
			o->part = p;
			o->fields = SIZE_MAX; /* set when its data is read */
			o->msg = smtp_add_message(session);
			smtp_set_reverse_path(
				o->msg, ev->sender(ev->arg, o->n, o->sender,
						   sizeof(o->sender)));
			o->rcpt = smtp_add_recipient(o->msg, batch[i].address);
			/* The events name the message or recipient they are
			 * about. */
			smtp_message_set_application_data_release(o->msg, o,
								  NULL);
			smtp_recipient_set_application_data_release(o->rcpt, o,
								    NULL);
			smtp_set_messagecb(o->msg, message_cb, o);
			dsn_request(s->c, o);
		}
	}
	return k;
}

/*
 * MAIL FROM refused (no AUTH, a bad login, our sender): the relay's
 * verdict on us, not on the recipient.  Retried like a lost connection,
 * never failed for good at once, and said once per run so the operator
 * can fix it.
 */
static void mail_refused(struct session *s, struct notice *n,
			 const smtp_status_t *st)
{
	const struct smtp_events *ev = s->ev;
	const char *text = st->text ? st->text : "";
	char reply[300];

	/* the reply is cut to its first line when recorded anyway */
	if (snprintf(reply, sizeof(reply), "MAIL FROM refused: %d %s", st->code,
		     text) < 0)
		reply[0] = '\0';
	if (!atomic_exchange(ev->mail_refused_told, true))
		log_warn("the relay refused MAIL FROM: %d %.*s "
			 "(check smtp.username, "
			 "smtp.password_file and mailer.from); "
			 "the notices are retried",
			 st->code, (int)strcspn(text, "\r\n"), text);
	ev->answer(ev->arg, n, 0, reply);
}

/* The answer of message o after the session, when its event did not
 * bring one: whatever got no answer is retried, it was not accepted. */
static void settle(struct session *s, struct outgoing *o, const char *why)
{
	const struct smtp_events *ev = s->ev;
	const smtp_status_t *st = smtp_message_transfer_status(o->msg);

	if (ev->give_back(ev->arg) &&
	    (o->cancelled || st == NULL || st->code == 0)) {
		/* never delivered: back to the queue (a notice's parts
		 * are next to each other; a later part cut off sends them
		 * all again, as a retry would) */
		ev->unsent(ev->arg, o->n);
		return;
	}
	st = smtp_recipient_status(o->rcpt);
	if (st != NULL && st->code >= 400) {
		ev->answer(ev->arg, o->n, st->code, st->text);
		return;
	}
	st = smtp_reverse_path_status(o->msg);
	if (st != NULL && st->code >= 400) {
		mail_refused(s, o->n, st);
		return;
	}
	st = smtp_message_transfer_status(o->msg);
	if (st != NULL && st->code >= 200 && st->code < 400 &&
	    o->part + 1 < o->n->nparts)
		return; /* a part accepted: the later parts decide */
	if (st != NULL && st->code != 0)
		ev->answer(ev->arg, o->n, st->code, st->text);
	else
		ev->answer(ev->arg, o->n, 0, why);
}

void smtp_send_batch(struct smtp_client *c, struct notice *batch, size_t n,
		     const struct smtp_events *ev)
{
	struct session s = { c, ev, NULL, -1, 0 };
	size_t nout = 0, k;
	struct outgoing *out;
	auth_context_t auth = NULL;
	smtp_session_t session = session_new(&s, &auth);
	char why[256];

	for (size_t i = 0; i < n; i++)
		nout += batch[i].nparts ? batch[i].nparts : 1;
	out = xcalloc(nout, sizeof(*out));
	k = messages_add(&s, session, batch, n, out);
	if (!smtp_start_session(session)) {
		smtp_strerror(smtp_errno(), why, sizeof(why));
	} else {
		/* fits: a fixed text */
		if (snprintf(why, sizeof(why),
			     "connection ended before the server answered") < 0)
			why[0] = '\0';
	}
	relay_socket_forget(&s); /* closed with the session */
	for (size_t i = 0; i < k; i++) {
		if (out[i].n == NULL || out[i].n->done)
			continue;
		settle(&s, &out[i], why);
	}
	smtp_destroy_session(session);
	if (auth != NULL)
		auth_destroy_context(auth);
	free(s.server);
	free(out);
}
