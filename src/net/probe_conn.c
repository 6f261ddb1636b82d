/*
 * probe_conn.c - one probe's connection: a non-blocking connect, the
 * STARTTLS dialogue when the port needs one, the TLS handshake, and the
 * result; connect failures are retried while attempts remain.
 */
#include <errno.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "certrecall/base/errmsg.h"
#include "certrecall/base/log.h"
#include "certrecall/base/xalloc.h"
#include "certrecall/net/probe.h"
#include "certrecall/net/probe_int.h"

/* Closes the connection without lingering: the peer gets a RST, we keep
 * no TIME_WAIT (which would starve ephemeral ports on a busy scan). */
void probe_flight_close(struct flight *p)
{
	free(p->st);
	p->st = NULL;
	if (p->ssl != NULL) {
		SSL_free(p->ssl);
		p->ssl = NULL;
	}
	if (p->fd >= 0) {
		struct linger lg = { .l_onoff = 1, .l_linger = 0 };

		setsockopt(p->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		close(p->fd); /* also leaves the epoll set */
		p->fd = -1;
	}
	p->events = 0;
}

/* Gives back the connection slots p holds; lets a waiting probe on. */
void probe_flight_release_slots(struct probe *s, struct flight *p)
{
	struct ipslot *ip = p->ip;

	if (ip == NULL)
		return;
	p->ip = NULL;
	s->inflight--;
	s->socket_blocked = false;
	ip->inflight--;
	if (!list_empty(&ip->waiting)) {
		struct list *n = ip->waiting.next;
		struct flight *w = container_of(n, struct flight, node);

		list_unlink(n);
		w->state = PROBE_READY;
		list_push_front(&s->ready, n);
	}
	probe_ip_put_if_idle(s, ip);
}

void probe_flight_finish(struct probe *s, struct flight *p,
			 enum probe_outcome outcome, enum probe_phase phase,
			 const char *error)
{
	struct probe_result r = { 0 };

	probe_timer_cancel(s, p);
	r.address = p->addr_text;
	r.outcome = outcome;
	r.phase = phase;
	r.error = error;
	r.attempts = p->attempts;
	r.index = p->index;
	r.elapsed_ms =
		p->attempts ? (long long)(probe_now_ms() - p->started_ms) : 0;
	if (outcome == PROBE_OK) {
		r.leaf = SSL_get0_peer_certificate(p->ssl);
		r.tls_version = SSL_get_version(p->ssl);
	}
	probe_deliver(s, p->q, &r);
	probe_flight_close(p);
	probe_flight_release_slots(s, p);
	free(p);
}

static int epoll_want(struct probe *s, struct flight *p, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = p };
	int op = p->events ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;

	if (p->events == events)
		return 0;
	if (epoll_ctl(s->epfd, op, p->fd, &ev) < 0)
		return -1;
	p->events = events;
	return 0;
}

/* A connect-phase failure: retry while attempts remain. */
void probe_connect_failed(struct probe *s, struct flight *p,
			  enum probe_outcome outcome, const char *error)
{
	if (p->attempts <= s->opt.retries) {
		probe_timer_cancel(s, p);
		probe_flight_close(p);
		probe_flight_release_slots(s, p);
		p->state = PROBE_RETRY_WAIT;
		probe_timer_set(s, p, PROBE_RETRY_DELAY_MS);
		return;
	}
	probe_flight_finish(s, p, outcome, PROBE_PHASE_CONNECT, error);
}

static void connect_errno(struct probe *s, struct flight *p, int err)
{
	if (err == ECONNRESET) {
		/* Something accepted and reset: an answer, not a closed
		 * port; reported like a reset during the handshake. */
		probe_flight_finish(s, p, PROBE_TLS_ERROR, PROBE_PHASE_CONNECT,
				    strerror(err));
		return;
	}
	probe_connect_failed(s, p, PROBE_REFUSED, strerror(err));
}

/* Counts what the peer sends; refuses more than PROBE_MAX_READ. */
static long read_cap_cb(BIO *b, int oper, const char *argp, size_t len,
			int argi, long argl, int ret, size_t *processed)
{
	struct flight *p = (struct flight *)BIO_get_callback_arg(b);

	(void)argp;
	(void)len;
	(void)argi;
	(void)argl;
	if (oper == (BIO_CB_READ | BIO_CB_RETURN) && ret > 0 &&
	    processed != NULL) {
		p->nread += *processed;
		if (p->nread > PROBE_MAX_READ) {
			p->overread = true;
			return -1;
		}
	}
	return ret;
}

void probe_handshake_step(struct probe *s, struct flight *p)
{
	char why[256];
	int r, err, sys_errno;
	unsigned long e;

	ERR_clear_error();
	errno = 0;
	r = SSL_do_handshake(p->ssl);
	if (r == 1) {
		probe_flight_finish(s, p, PROBE_OK, PROBE_PHASE_NONE, "");
		return;
	}
	sys_errno = errno;
	err = SSL_get_error(p->ssl, r);
	if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
		uint32_t ev = err == SSL_ERROR_WANT_READ ? EPOLLIN : EPOLLOUT;

		if (epoll_want(s, p, ev) < 0) {
			errmsg_set(why, sizeof(why), "epoll: %s",
				   strerror(errno));
			probe_flight_finish(s, p, PROBE_TLS_ERROR,
					    PROBE_PHASE_HANDSHAKE, why);
		}
		return;
	}
	e = ERR_peek_error();
	if (p->overread)
		errmsg_set(why, sizeof(why), "peer sent more than %d bytes",
			   PROBE_MAX_READ);
	else if (e != 0 && ERR_reason_error_string(e) != NULL)
		errmsg_set(why, sizeof(why), "%s", ERR_reason_error_string(e));
	else if (err == SSL_ERROR_SYSCALL && sys_errno != 0)
		errmsg_set(why, sizeof(why), "%s", strerror(sys_errno));
	else if (err == SSL_ERROR_SYSCALL || err == SSL_ERROR_ZERO_RETURN)
		errmsg_set(why, sizeof(why), "connection closed by peer");
	else
		errmsg_set(why, sizeof(why), "handshake failed (ssl error %d)",
			   err);
	ERR_clear_error();
	probe_flight_finish(s, p, PROBE_TLS_ERROR, PROBE_PHASE_HANDSHAKE, why);
}

static void handshake_start(struct probe *s, struct flight *p)
{
	BIO *bio;

	p->ssl = SSL_new(s->ctx);
	if (p->ssl == NULL || SSL_set_fd(p->ssl, p->fd) != 1) {
		ERR_clear_error();
		probe_flight_finish(s, p, PROBE_TLS_ERROR,
				    PROBE_PHASE_HANDSHAKE,
				    "cannot create a TLS session");
		return;
	}
	if (p->q->sni)
		SSL_set_tlsext_host_name(p->ssl, p->q->name);
	bio = SSL_get_rbio(p->ssl);
	BIO_set_callback_arg(bio, (char *)p);
	BIO_set_callback_ex(bio, read_cap_cb);
	SSL_set_connect_state(p->ssl);
	p->state = PROBE_HANDSHAKE;
	probe_timer_set(s, p, s->opt.handshake_timeout_ms);
	probe_handshake_step(s, p);
}

/*
 * One turn of the STARTTLS dialogue: send what is due, read what came,
 * until the socket would block (wait for it) or the dialogue ends (start
 * the handshake, or finish with starttls-refused / protocol-error).  The
 * whole dialogue has starttls_timeout; reads are capped by the module.
 */
void probe_starttls_step(struct probe *s, struct flight *p)
{
	char buf[2048], why[256];
	enum starttls_status st = p->st->status;

	while (st == STARTTLS_MORE) {
		size_t len;
		const char *out = starttls_output(p->st, &len);
		ssize_t n;

		if (len > 0) {
			n = send(p->fd, out, len, MSG_NOSIGNAL);
			if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
				if (epoll_want(s, p, EPOLLOUT) < 0)
					goto epoll_failed;
				return;
			}
			if (n < 0) {
				errmsg_set(why, sizeof(why), "send: %s",
					   strerror(errno));
				probe_flight_finish(s, p, PROBE_PROTOCOL_ERROR,
						    PROBE_PHASE_STARTTLS, why);
				return;
			}
			starttls_sent(p->st, (size_t)n);
			continue;
		}
		n = recv(p->fd, buf, sizeof(buf), 0);
		if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			if (epoll_want(s, p, EPOLLIN) < 0)
				goto epoll_failed;
			return;
		}
		if (n <= 0) {
			errmsg_set(why, sizeof(why), "%s during STARTTLS",
				   n == 0 ? "connection closed by peer"
					  : strerror(errno));
			probe_flight_finish(s, p, PROBE_PROTOCOL_ERROR,
					    PROBE_PHASE_STARTTLS, why);
			return;
		}
		st = starttls_input(p->st, buf, (size_t)n);
	}
	if (st == STARTTLS_DONE) {
		probe_timer_cancel(s, p);
		free(p->st);
		p->st = NULL;
		handshake_start(s, p);
		return;
	}
	errmsg_set(why, sizeof(why), "%s", starttls_why(p->st));
	probe_flight_finish(s, p,
			    st == STARTTLS_REFUSED ? PROBE_STARTTLS_REFUSED
						   : PROBE_PROTOCOL_ERROR,
			    PROBE_PHASE_STARTTLS, why);
	return;
epoll_failed:
	errmsg_set(why, sizeof(why), "epoll: %s", strerror(errno));
	probe_flight_finish(s, p, PROBE_PROTOCOL_ERROR, PROBE_PHASE_STARTTLS,
			    why);
}

/* Connected: the STARTTLS dialogue first, or the handshake at once. */
static void connected(struct probe *s, struct flight *p)
{
	if (p->q->proto == STARTTLS_NONE) {
		handshake_start(s, p);
		return;
	}
	p->st = xmalloc(sizeof(*p->st));
	starttls_init(p->st, p->q->proto, p->q->name);
	p->state = PROBE_STARTTLS;
	probe_timer_set(s, p, s->opt.starttls_timeout_ms);
	probe_starttls_step(s, p);
}

static void sockaddr_of(const struct flight *p, struct sockaddr_storage *ss,
			socklen_t *len)
{
	memset(ss, 0, sizeof(*ss));
	if (p->addr.family == 4) {
		struct sockaddr_in *in = (struct sockaddr_in *)ss;

		in->sin_family = AF_INET;
		in->sin_port = htons(p->q->port);
		memcpy(&in->sin_addr, p->addr.b, 4);
		*len = sizeof(*in);
	} else {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(p->q->port);
		memcpy(&in6->sin6_addr, p->addr.b, 16);
		*len = sizeof(*in6);
	}
}

/*
 * Opens the socket and connects.  Returns -1 only when no socket could
 * be made (fd limit): the caller puts p back and waits for a slot.
 */
int probe_flight_connect(struct probe *s, struct flight *p)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd;

	fd = socket(p->addr.family == 4 ? AF_INET : AF_INET6,
		    SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	p->fd = fd;
	p->events = 0;
	p->nread = 0;
	p->overread = false;
	if (p->attempts++ == 0)
		p->started_ms = s->now_ms;
	sockaddr_of(p, &ss, &len);
	if (connect(fd, (struct sockaddr *)&ss, len) == 0) {
		connected(s, p);
		return 0;
	}
	if (errno != EINPROGRESS) {
		connect_errno(s, p, errno);
		return 0;
	}
	p->state = PROBE_CONNECTING;
	if (epoll_want(s, p, EPOLLOUT) < 0) {
		char why[128];

		errmsg_set(why, sizeof(why), "epoll: %s", strerror(errno));
		probe_flight_finish(s, p, PROBE_REFUSED, PROBE_PHASE_CONNECT,
				    why);
		return 0;
	}
	probe_timer_set(s, p, s->opt.connect_timeout_ms);
	return 0;
}

void probe_connect_done(struct probe *s, struct flight *p)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err == EINPROGRESS)
		return;
	if (err != 0) {
		connect_errno(s, p, err);
		return;
	}
	probe_timer_cancel(s, p);
	connected(s, p);
}

/* Only the served leaf matters: skip chain building and verification
 * entirely (SSL_VERIFY_NONE alone still builds the chain). */
static int accept_any_chain(X509_STORE_CTX *ctx, void *arg)
{
	(void)ctx;
	(void)arg;
	return 1;
}

static int accept_any_cert(int ok, X509_STORE_CTX *ctx)
{
	(void)ok;
	(void)ctx;
	return 1;
}

SSL_CTX *probe_client_ctx_new(void)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	if (ctx == NULL)
		return NULL;
	SSL_CTX_set_min_proto_version(ctx, TLS1_VERSION);
	SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION);
	SSL_CTX_set_security_level(ctx, 0);
	if (SSL_CTX_set_cipher_list(ctx, "ALL:@SECLEVEL=0") != 1) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	SSL_CTX_set_options(ctx, SSL_OP_LEGACY_SERVER_CONNECT |
					 SSL_OP_NO_TICKET |
					 SSL_OP_NO_COMPRESSION);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, accept_any_cert);
	SSL_CTX_set_cert_verify_callback(ctx, accept_any_chain, NULL);
	SSL_CTX_set_max_cert_list(ctx, PROBE_MAX_CERT_LIST);
	/* Idle connections (a tarpit) hold no 34 KiB buffers. */
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	return ctx;
}
