/*
 * scanner.c - the probing engine: one epoll loop, a timer heap, c-ares
 * on the same loop, non-blocking connects, OpenSSL handshakes.
 *
 * Life of a probe:
 *
 *   probe_add -> query (dns_wait) -> ares_getaddrinfo -> resolved
 *     -> one probe per address: filtered at once, or ready queue
 *     -> (per-IP wait) -> CONNECTING -> HANDSHAKE -> result
 *                             \-> RETRY_WAIT -> ready (connect failures)
 *
 * Every state that waits has a deadline in the timer heap except the
 * queues, which wait for a slot that a timed probe holds; DNS deadlines
 * are c-ares's own.  So the loop cannot stall with work pending.
 */
#include <ares.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "certrecall/core/classify.h"
#include "certrecall/core/config.h"
#include "certrecall/core/dnsname.h"
#include "certrecall/base/log.h"
#include "certrecall/net/probe.h"
#include "certrecall/base/xalloc.h"

#define PROBE_DNS_INFLIGHT_MAX 200

/* Addresses probed per name: more is a misconfiguration or an attack. */
#define PROBE_MAX_ADDRS 16
/* Bytes a peer may send us during one handshake (certificate chains
 * are a few KiB; OpenSSL caps the certificate message separately). */
#define PROBE_MAX_READ (256 * 1024)
#define PROBE_MAX_CERT_LIST (100 * 1024)
#define PROBE_RETRY_DELAY_MS 200
#define PROBE_MAX_EVENTS 512
/* File descriptors kept back for c-ares, the database, logs. */
#define PROBE_FD_RESERVE 64
/* A rate limit may catch up on this much missed time at once. */
#define PROBE_RATE_BURST_NS 10000000LL

#define container_of(ptr, type, member)                                        \
	((type *)((char *)(ptr)-offsetof(type, member)))

struct list {
	struct list *prev, *next;
};

static void list_init(struct list *l)
{
	l->prev = l->next = l;
}

static bool list_empty(const struct list *l)
{
	return l->next == l;
}

static void list_unlink(struct list *n)
{
	n->prev->next = n->next;
	n->next->prev = n->prev;
	n->prev = n->next = n;
}

static void list_push_back(struct list *l, struct list *n)
{
	n->prev = l->prev;
	n->next = l;
	l->prev->next = n;
	l->prev = n;
}

static void list_push_front(struct list *l, struct list *n)
{
	n->next = l->next;
	n->prev = l;
	l->next->prev = n;
	l->next = n;
}

enum flight_state {
	PROBE_READY,	  /* in the ready queue */
	PROBE_WAIT_IP,	  /* in its address's queue: per_ip reached */
	PROBE_CONNECTING, /* fd open, connect in progress */
	PROBE_STARTTLS,	  /* the plaintext dialogue before the handshake */
	PROBE_HANDSHAKE,
	PROBE_RETRY_WAIT, /* between attempts, holding no slot */
};

struct query {
	struct probe *s;
	char *name;
	uint16_t port;
	enum starttls_proto proto;
	bool sni; /* false for an IP literal */
	void *user;
	int status; /* c-ares status once resolved */
	struct classify_addr addrs[PROBE_MAX_ADDRS];
	size_t naddrs;
	size_t left; /* results not yet delivered */
	uint64_t started_ms;
	struct query *next; /* dns_wait or resolved list */
};

struct ipslot;

struct flight {
	struct query *q;
	struct classify_addr addr;
	char addr_text[INET6_ADDRSTRLEN];
	size_t index;
	enum flight_state state;
	int fd;
	uint32_t events; /* registered epoll mask */
	SSL *ssl;
	struct starttls *st; /* during PROBE_STARTTLS */
	int attempts;
	uint64_t started_ms; /* first connect */
	size_t nread;
	bool overread;
	uint64_t deadline_ms;
	size_t heap_idx; /* SIZE_MAX when no timer */
	struct ipslot *ip;
	struct list node; /* ready queue or ip->waiting */
};

struct ipslot {
	struct classify_addr addr;
	long long inflight;
	struct list waiting;
	struct ipslot *next;
};

struct probe {
	struct probe_options opt;
	struct classify_cidrs deny, allow;
	probe_result_fn *cb;
	void *cb_arg;
	int epfd;
	SSL_CTX *ctx;
	ares_channel ares;
	bool ares_init;
	bool destroying;
	uint64_t now_ms;

	size_t pending; /* queries not finished */
	long long concurrency;
	long long inflight;	/* probes holding a connection slot */
	long long dns_inflight; /* queries inside c-ares */
	struct query *dns_head, *dns_tail;
	struct query *resolved_head, *resolved_tail;
	struct list ready;

	struct flight **heap;
	size_t nheap, heap_cap;

	struct ipslot **ipt;
	size_t ipt_size, ipt_count;

	long long rate_interval_ns;
	long long rate_next_ns;
	bool socket_blocked; /* socket() failed: wait for a probe to end */
	int delivered;
};

static const char *const outcome_names[] = {
	[PROBE_OK] = "ok",
	[PROBE_TLS_ERROR] = "tls-error",
	[PROBE_REFUSED] = "refused",
	[PROBE_TIMEOUT] = "timeout",
	[PROBE_NXDOMAIN] = "nxdomain",
	[PROBE_DNS_ERROR] = "dns-error",
	[PROBE_FILTERED] = "filtered",
	[PROBE_STARTTLS_REFUSED] = "starttls-refused",
	[PROBE_PROTOCOL_ERROR] = "protocol-error",
};

const char *probe_outcome_name(enum probe_outcome o)
{
	if ((unsigned)o >= sizeof(outcome_names) / sizeof(outcome_names[0]))
		return "?";
	return outcome_names[o];
}

const char *probe_phase_name(enum probe_phase p)
{
	switch (p) {
	case PROBE_PHASE_DNS:
		return "dns";
	case PROBE_PHASE_CONNECT:
		return "connect";
	case PROBE_PHASE_HANDSHAKE:
		return "handshake";
	case PROBE_PHASE_STARTTLS:
		return "starttls";
	case PROBE_PHASE_NONE:
		break;
	}
	return "";
}

void probe_options_from_config(struct probe_options *o,
			       const struct config *cfg)
{
	memset(o, 0, sizeof(*o));
	o->concurrency = cfg->scanner.concurrency;
	o->per_ip = cfg->scanner.per_ip;
	o->rate = cfg->scanner.rate;
	o->dns_servers = cfg->scanner.dns_servers;
	o->dns_timeout_ms = cfg->scanner.dns_timeout_ms;
	o->connect_timeout_ms = cfg->scanner.connect_timeout_ms;
	o->handshake_timeout_ms = cfg->scanner.handshake_timeout_ms;
	o->starttls_timeout_ms = cfg->scanner.starttls_timeout_ms;
	o->retries = cfg->scanner.retries;
	o->ipv6 = cfg->scanner.ipv6;
	o->deny = cfg->scanner.deny;
	o->allow = cfg->scanner.allow;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t now_ms(void)
{
	return now_ns() / 1000000u;
}

/* ---- timer heap (min-heap of probe deadlines) ---- */

static void heap_swap(struct probe *s, size_t a, size_t b)
{
	struct flight *t = s->heap[a];

	s->heap[a] = s->heap[b];
	s->heap[b] = t;
	s->heap[a]->heap_idx = a;
	s->heap[b]->heap_idx = b;
}

static void heap_up(struct probe *s, size_t i)
{
	while (i > 0) {
		size_t parent = (i - 1) / 2;

		if (s->heap[parent]->deadline_ms <= s->heap[i]->deadline_ms)
			break;
		heap_swap(s, i, parent);
		i = parent;
	}
}

static void heap_down(struct probe *s, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;

		if (l < s->nheap &&
		    s->heap[l]->deadline_ms < s->heap[m]->deadline_ms)
			m = l;
		if (r < s->nheap &&
		    s->heap[r]->deadline_ms < s->heap[m]->deadline_ms)
			m = r;
		if (m == i)
			break;
		heap_swap(s, i, m);
		i = m;
	}
}

static void timer_cancel(struct probe *s, struct flight *p)
{
	size_t i = p->heap_idx;

	if (i == SIZE_MAX)
		return;
	p->heap_idx = SIZE_MAX;
	s->nheap--;
	if (i == s->nheap)
		return;
	s->heap[i] = s->heap[s->nheap];
	s->heap[i]->heap_idx = i;
	heap_up(s, i);
	heap_down(s, s->heap[i]->heap_idx);
}

static void timer_set(struct probe *s, struct flight *p, long long after_ms)
{
	timer_cancel(s, p);
	p->deadline_ms = s->now_ms + (uint64_t)after_ms;
	xgrow(&s->heap, &s->heap_cap, s->nheap + 1, sizeof(*s->heap));
	p->heap_idx = s->nheap;
	s->heap[s->nheap++] = p;
	heap_up(s, p->heap_idx);
}

/* ---- per-address slots ---- */

static size_t ip_hash(const struct classify_addr *a)
{
	uint64_t h = 1469598103934665603ull ^ (uint64_t)a->family;
	size_t n = a->family == 4 ? 4 : 16;

	for (size_t i = 0; i < n; i++) {
		h ^= a->b[i];
		h *= 1099511628211ull;
	}
	return (size_t)h;
}

static bool addr_equal(const struct classify_addr *a,
		       const struct classify_addr *b)
{
	return a->family == b->family && memcmp(a->b, b->b, 16) == 0;
}

static void ipt_grow(struct probe *s)
{
	size_t size = s->ipt_size ? s->ipt_size * 2 : 256;
	struct ipslot **t = xcalloc(size, sizeof(*t));

	for (size_t i = 0; i < s->ipt_size; i++) {
		struct ipslot *e = s->ipt[i], *next;

		for (; e != NULL; e = next) {
			size_t h = ip_hash(&e->addr) & (size - 1);

			next = e->next;
			e->next = t[h];
			t[h] = e;
		}
	}
	free(s->ipt);
	s->ipt = t;
	s->ipt_size = size;
}

static struct ipslot *ip_get(struct probe *s, const struct classify_addr *a)
{
	struct ipslot *e;
	size_t h;

	if (s->ipt_count >= s->ipt_size)
		ipt_grow(s);
	h = ip_hash(a) & (s->ipt_size - 1);
	for (e = s->ipt[h]; e != NULL; e = e->next)
		if (addr_equal(&e->addr, a))
			return e;
	e = xcalloc(1, sizeof(*e));
	e->addr = *a;
	list_init(&e->waiting);
	e->next = s->ipt[h];
	s->ipt[h] = e;
	s->ipt_count++;
	return e;
}

static void ip_put_if_idle(struct probe *s, struct ipslot *e)
{
	struct ipslot **pp;

	if (e->inflight > 0 || !list_empty(&e->waiting))
		return;
	pp = &s->ipt[ip_hash(&e->addr) & (s->ipt_size - 1)];
	while (*pp != e)
		pp = &(*pp)->next;
	*pp = e->next;
	s->ipt_count--;
	free(e);
}

/* ---- results ---- */

static void query_free(struct query *q)
{
	if (q == NULL)
		return;
	free(q->name);
	free(q);
}

/* Delivers one result of q; frees q after its last one. */
static void deliver(struct probe *s, struct query *q, struct probe_result *r)
{
	r->name = q->name;
	r->port = q->port;
	r->proto = q->proto;
	r->user = q->user;
	r->count = q->naddrs;
	if (r->address == NULL)
		r->address = "";
	if (r->error == NULL)
		r->error = "";
	if (r->tls_version == NULL)
		r->tls_version = "";
	q->left--;
	r->last = q->left == 0;
	s->delivered++;
	s->cb(r, s->cb_arg);
	if (r->last) {
		s->pending--;
		query_free(q);
	}
}

/* Closes the connection without lingering: the peer gets a RST, we keep
 * no TIME_WAIT (which would starve ephemeral ports on a busy scan). */
static void flight_close(struct flight *p)
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
static void flight_release_slots(struct probe *s, struct flight *p)
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
	ip_put_if_idle(s, ip);
}

static void flight_finish(struct probe *s, struct flight *p,
			  enum probe_outcome outcome, enum probe_phase phase,
			  const char *error)
{
	struct probe_result r = { 0 };

	timer_cancel(s, p);
	r.address = p->addr_text;
	r.outcome = outcome;
	r.phase = phase;
	r.error = error;
	r.attempts = p->attempts;
	r.index = p->index;
	r.elapsed_ms = p->attempts ? (long long)(now_ms() - p->started_ms) : 0;
	if (outcome == PROBE_OK) {
		r.leaf = SSL_get0_peer_certificate(p->ssl);
		r.tls_version = SSL_get_version(p->ssl);
	}
	deliver(s, p->q, &r);
	flight_close(p);
	flight_release_slots(s, p);
	free(p);
}

/* ---- connect and handshake ---- */

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
static void connect_failed(struct probe *s, struct flight *p,
			   enum probe_outcome outcome, const char *error)
{
	if (p->attempts <= s->opt.retries) {
		timer_cancel(s, p);
		flight_close(p);
		flight_release_slots(s, p);
		p->state = PROBE_RETRY_WAIT;
		timer_set(s, p, PROBE_RETRY_DELAY_MS);
		return;
	}
	flight_finish(s, p, outcome, PROBE_PHASE_CONNECT, error);
}

static void connect_errno(struct probe *s, struct flight *p, int err)
{
	if (err == ECONNRESET) {
		/* Something accepted and reset: an answer, not a closed
		 * port; reported like a reset during the handshake. */
		flight_finish(s, p, PROBE_TLS_ERROR, PROBE_PHASE_CONNECT,
			      strerror(err));
		return;
	}
	connect_failed(s, p, PROBE_REFUSED, strerror(err));
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

static void handshake_step(struct probe *s, struct flight *p)
{
	char why[256];
	int r, err, sys_errno;
	unsigned long e;

	ERR_clear_error();
	errno = 0;
	r = SSL_do_handshake(p->ssl);
	if (r == 1) {
		flight_finish(s, p, PROBE_OK, PROBE_PHASE_NONE, "");
		return;
	}
	sys_errno = errno;
	err = SSL_get_error(p->ssl, r);
	if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
		uint32_t ev = err == SSL_ERROR_WANT_READ ? EPOLLIN : EPOLLOUT;

		if (epoll_want(s, p, ev) < 0) {
			snprintf(why, sizeof(why), "epoll: %s",
				 strerror(errno));
			flight_finish(s, p, PROBE_TLS_ERROR,
				      PROBE_PHASE_HANDSHAKE, why);
		}
		return;
	}
	e = ERR_peek_error();
	if (p->overread)
		snprintf(why, sizeof(why), "peer sent more than %d bytes",
			 PROBE_MAX_READ);
	else if (e != 0 && ERR_reason_error_string(e) != NULL)
		snprintf(why, sizeof(why), "%s", ERR_reason_error_string(e));
	else if (err == SSL_ERROR_SYSCALL && sys_errno != 0)
		snprintf(why, sizeof(why), "%s", strerror(sys_errno));
	else if (err == SSL_ERROR_SYSCALL || err == SSL_ERROR_ZERO_RETURN)
		snprintf(why, sizeof(why), "connection closed by peer");
	else
		snprintf(why, sizeof(why), "handshake failed (ssl error %d)",
			 err);
	ERR_clear_error();
	flight_finish(s, p, PROBE_TLS_ERROR, PROBE_PHASE_HANDSHAKE, why);
}

static void handshake_start(struct probe *s, struct flight *p)
{
	BIO *bio;

	p->ssl = SSL_new(s->ctx);
	if (p->ssl == NULL || SSL_set_fd(p->ssl, p->fd) != 1) {
		ERR_clear_error();
		flight_finish(s, p, PROBE_TLS_ERROR, PROBE_PHASE_HANDSHAKE,
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
	timer_set(s, p, s->opt.handshake_timeout_ms);
	handshake_step(s, p);
}

/*
 * One turn of the STARTTLS dialogue: send what is due, read what came,
 * until the socket would block (wait for it) or the dialogue ends (start
 * the handshake, or finish with starttls-refused / protocol-error).  The
 * whole dialogue has starttls_timeout; reads are capped by the module.
 */
static void starttls_step(struct probe *s, struct flight *p)
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
				snprintf(why, sizeof(why), "send: %s",
					 strerror(errno));
				flight_finish(s, p, PROBE_PROTOCOL_ERROR,
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
			snprintf(why, sizeof(why), "%s during STARTTLS",
				 n == 0 ? "connection closed by peer"
					: strerror(errno));
			flight_finish(s, p, PROBE_PROTOCOL_ERROR,
				      PROBE_PHASE_STARTTLS, why);
			return;
		}
		st = starttls_input(p->st, buf, (size_t)n);
	}
	if (st == STARTTLS_DONE) {
		timer_cancel(s, p);
		free(p->st);
		p->st = NULL;
		handshake_start(s, p);
		return;
	}
	snprintf(why, sizeof(why), "%s", starttls_why(p->st));
	flight_finish(s, p,
		      st == STARTTLS_REFUSED ? PROBE_STARTTLS_REFUSED
					     : PROBE_PROTOCOL_ERROR,
		      PROBE_PHASE_STARTTLS, why);
	return;
epoll_failed:
	snprintf(why, sizeof(why), "epoll: %s", strerror(errno));
	flight_finish(s, p, PROBE_PROTOCOL_ERROR, PROBE_PHASE_STARTTLS, why);
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
	timer_set(s, p, s->opt.starttls_timeout_ms);
	starttls_step(s, p);
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
static int flight_connect(struct probe *s, struct flight *p)
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

		snprintf(why, sizeof(why), "epoll: %s", strerror(errno));
		flight_finish(s, p, PROBE_REFUSED, PROBE_PHASE_CONNECT, why);
		return 0;
	}
	timer_set(s, p, s->opt.connect_timeout_ms);
	return 0;
}

static void connect_done(struct probe *s, struct flight *p)
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
	timer_cancel(s, p);
	connected(s, p);
}

/* ---- starting work within the limits ---- */

static bool rate_allows(struct probe *s)
{
	long long now;

	if (s->rate_interval_ns == 0)
		return true;
	now = (long long)now_ns();
	if (s->rate_next_ns < now - PROBE_RATE_BURST_NS)
		s->rate_next_ns = now - PROBE_RATE_BURST_NS;
	if (now < s->rate_next_ns)
		return false;
	s->rate_next_ns += s->rate_interval_ns;
	return true;
}

static void start_probes(struct probe *s)
{
	while (!list_empty(&s->ready) && s->inflight < s->concurrency &&
	       !s->socket_blocked) {
		struct list *n = s->ready.next;
		struct flight *p = container_of(n, struct flight, node);
		struct ipslot *ip = ip_get(s, &p->addr);

		list_unlink(n);
		if (ip->inflight >= s->opt.per_ip) {
			p->state = PROBE_WAIT_IP;
			list_push_back(&ip->waiting, n);
			continue;
		}
		if (!rate_allows(s)) {
			list_push_front(&s->ready, n);
			ip_put_if_idle(s, ip);
			break;
		}
		ip->inflight++;
		s->inflight++;
		p->ip = ip;
		if (flight_connect(s, p) < 0) {
			int err = errno;

			flight_release_slots(s, p);
			if (s->inflight == 0) {
				/* Nothing will free a descriptor: say so. */
				flight_finish(s, p, PROBE_REFUSED,
					      PROBE_PHASE_CONNECT,
					      strerror(err));
				continue;
			}
			p->state = PROBE_READY;
			list_push_front(&s->ready, n);
			s->socket_blocked = true;
			log_debug("scanner: socket: %s; waiting for a probe "
				  "to end",
				  strerror(err));
		}
	}
}

static void dns_done(void *arg, int status, int timeouts,
		     struct ares_addrinfo *res)
{
	struct query *q = arg;
	struct probe *s = q->s;

	(void)timeouts;
	q->status = status;
	if (status == ARES_SUCCESS && res != NULL) {
		for (struct ares_addrinfo_node *n = res->nodes; n != NULL;
		     n = n->ai_next) {
			struct classify_addr a;
			bool dup = false;

			if (q->naddrs >= PROBE_MAX_ADDRS)
				break;
			if (classify_addr_from_sockaddr(n->ai_addr, &a) < 0)
				continue;
			for (size_t i = 0; i < q->naddrs && !dup; i++)
				dup = addr_equal(&q->addrs[i], &a);
			if (!dup)
				q->addrs[q->naddrs++] = a;
		}
	}
	if (res != NULL)
		ares_freeaddrinfo(res);
	if (s->destroying) {
		query_free(q);
		return;
	}
	/* Handled after ares_process_fd returns, never inside it. */
	q->next = NULL;
	if (s->resolved_tail)
		s->resolved_tail->next = q;
	else
		s->resolved_head = q;
	s->resolved_tail = q;
}

static void start_dns(struct probe *s)
{
	/* A burst of thousands of UDP queries overflows a resolver's socket
	 * buffer and turns into timeouts: a few hundred in flight keep it
	 * busy without loss. */
	while (s->dns_head != NULL && s->dns_inflight < s->concurrency &&
	       s->dns_inflight < PROBE_DNS_INFLIGHT_MAX) {
		struct query *q = s->dns_head;
		struct ares_addrinfo_hints hints = { 0 };

		s->dns_head = q->next;
		if (s->dns_head == NULL)
			s->dns_tail = NULL;
		hints.ai_family = s->opt.ipv6 ? AF_UNSPEC : AF_INET;
		hints.ai_flags = ARES_AI_NOSORT;
		q->started_ms = s->now_ms;
		s->dns_inflight++;
		ares_getaddrinfo(s->ares, q->name, NULL, &hints, dns_done, q);
	}
}

static int cmp_addr(const void *a, const void *b)
{
	const struct classify_addr *x = a, *y = b;

	if (x->family != y->family)
		return x->family - y->family;
	return memcmp(x->b, y->b, 16);
}

/* A query whose DNS is over: its results or its probes. */
static void query_resolved(struct probe *s, struct query *q)
{
	struct probe_result r = { 0 };
	size_t n;

	if (q->status != ARES_SUCCESS || q->naddrs == 0) {
		r.phase = PROBE_PHASE_DNS;
		r.elapsed_ms = (long long)(s->now_ms - q->started_ms);
		switch (q->status) {
		case ARES_SUCCESS:
		case ARES_ENODATA:
			r.outcome = PROBE_NXDOMAIN;
			r.error = "no address records";
			break;
		case ARES_ENOTFOUND:
			r.outcome = PROBE_NXDOMAIN;
			r.error = "name does not exist";
			break;
		case ARES_ETIMEOUT:
			r.outcome = PROBE_TIMEOUT;
			r.error = "DNS timeout";
			break;
		default:
			r.outcome = PROBE_DNS_ERROR;
			r.error = ares_strerror(q->status);
			break;
		}
		q->naddrs = 0;
		q->left = 1;
		deliver(s, q, &r);
		return;
	}
	/* One stable order whatever the server's rotation. */
	qsort(q->addrs, q->naddrs, sizeof(q->addrs[0]), cmp_addr);
	n = q->naddrs;
	q->left = n;
	for (size_t i = 0; i < n; i++) {
		struct flight *p = xcalloc(1, sizeof(*p));

		p->q = q;
		p->addr = q->addrs[i];
		p->index = i;
		p->fd = -1;
		p->heap_idx = SIZE_MAX;
		list_init(&p->node);
		classify_addr_format(&p->addr, p->addr_text,
				     sizeof(p->addr_text));
		if (!classify_addr_permitted(&s->deny, &s->allow, &p->addr)) {
			/* p is freed after its result: q may go with it. */
			struct probe_result f = { 0 };

			f.address = p->addr_text;
			f.outcome = PROBE_FILTERED;
			f.error = "address denied by scanner.deny";
			f.index = i;
			deliver(s, q, &f);
			free(p);
			continue;
		}
		p->state = PROBE_READY;
		list_push_back(&s->ready, &p->node);
	}
}

/* Returns how many queries it handled. */
static int handle_resolved(struct probe *s)
{
	int n = 0;

	while (s->resolved_head != NULL) {
		struct query *q = s->resolved_head;

		s->resolved_head = q->next;
		if (s->resolved_head == NULL)
			s->resolved_tail = NULL;
		if (q->status != -1)
			s->dns_inflight--; /* -1 marks "no DNS needed" */
		else
			q->status = ARES_SUCCESS;
		query_resolved(s, q);
		n++;
	}
	return n;
}

static void start_work(struct probe *s)
{
	do
		start_dns(s);
	while (handle_resolved(s) > 0);
	start_probes(s);
}

/* ---- the loop ---- */

static void timer_fire(struct probe *s, struct flight *p)
{
	char why[64];

	switch (p->state) {
	case PROBE_CONNECTING:
		snprintf(why, sizeof(why), "no answer within %lldms",
			 s->opt.connect_timeout_ms);
		connect_failed(s, p, PROBE_TIMEOUT, why);
		break;
	case PROBE_STARTTLS:
		snprintf(why, sizeof(why), "no STARTTLS within %lldms",
			 s->opt.starttls_timeout_ms);
		flight_finish(s, p, PROBE_TIMEOUT, PROBE_PHASE_STARTTLS, why);
		break;
	case PROBE_HANDSHAKE:
		snprintf(why, sizeof(why), "no handshake within %lldms",
			 s->opt.handshake_timeout_ms);
		flight_finish(s, p, PROBE_TIMEOUT, PROBE_PHASE_HANDSHAKE, why);
		break;
	case PROBE_RETRY_WAIT:
		p->state = PROBE_READY;
		list_push_back(&s->ready, &p->node);
		break;
	case PROBE_READY:
	case PROBE_WAIT_IP:
		break;
	}
}

static void expire_timers(struct probe *s)
{
	while (s->nheap > 0 && s->heap[0]->deadline_ms <= s->now_ms) {
		struct flight *p = s->heap[0];

		timer_cancel(s, p);
		timer_fire(s, p);
	}
}

static void sock_state_cb(void *data, ares_socket_t fd, int readable,
			  int writable)
{
	struct probe *s = data;
	struct epoll_event ev = { 0 };

	ev.data.u64 = ((uint64_t)(unsigned)fd << 1) | 1u;
	ev.events = (readable ? EPOLLIN : 0u) | (writable ? EPOLLOUT : 0u);
	if (ev.events == 0) {
		epoll_ctl(s->epfd, EPOLL_CTL_DEL, fd, &ev);
		return;
	}
	if (epoll_ctl(s->epfd, EPOLL_CTL_MOD, fd, &ev) < 0 && errno == ENOENT)
		epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev);
}

static int wait_ms(struct probe *s, int timeout_ms)
{
	long long w = timeout_ms < 0 ? -1 : timeout_ms;

	if (s->delivered > 0 || s->resolved_head != NULL)
		return 0;
	if (s->nheap > 0) {
		long long t = s->heap[0]->deadline_ms > s->now_ms
				      ? (long long)(s->heap[0]->deadline_ms -
						    s->now_ms)
				      : 0;

		if (w < 0 || t < w)
			w = t;
	}
	if (s->dns_inflight > 0) {
		struct timeval tv, *tvp = ares_timeout(s->ares, NULL, &tv);

		if (tvp != NULL) {
			long long t = (long long)tvp->tv_sec * 1000 +
				      (tvp->tv_usec + 999) / 1000;

			if (w < 0 || t < w)
				w = t;
		}
	}
	if (!list_empty(&s->ready) && s->inflight < s->concurrency &&
	    s->rate_interval_ns > 0) {
		long long t = (s->rate_next_ns - (long long)now_ns() + 999999) /
			      1000000;

		if (t < 0)
			t = 0;
		if (w < 0 || t < w)
			w = t;
	}
	if (w > 60000 || w < 0)
		w = 60000; /* nothing can wait longer: a safety net */
	return (int)w;
}

int probe_step(struct probe *s, int timeout_ms)
{
	struct epoll_event ev[PROBE_MAX_EVENTS];
	int n;

	if (s->pending == 0)
		return 0;
	s->delivered = 0;
	s->now_ms = now_ms();
	start_work(s);
	n = epoll_wait(s->epfd, ev, PROBE_MAX_EVENTS, wait_ms(s, timeout_ms));
	if (n < 0 && errno != EINTR)
		return log_error("scanner: epoll_wait: %s", strerror(errno));
	s->now_ms = now_ms();
	for (int i = 0; i < n; i++) {
		if (ev[i].data.u64 & 1u) {
			ares_socket_t fd = (ares_socket_t)(ev[i].data.u64 >> 1);
			bool rd =
				ev[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP);
			bool wr = ev[i].events & (EPOLLOUT | EPOLLERR);

			ares_process_fd(s->ares, rd ? fd : ARES_SOCKET_BAD,
					wr ? fd : ARES_SOCKET_BAD);
			continue;
		}
		struct flight *p = ev[i].data.ptr;

		if (p->state == PROBE_CONNECTING)
			connect_done(s, p);
		else if (p->state == PROBE_STARTTLS)
			starttls_step(s, p);
		else if (p->state == PROBE_HANDSHAKE)
			handshake_step(s, p);
	}
	if (s->dns_inflight > 0) /* c-ares's own timeouts */
		ares_process_fd(s->ares, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	expire_timers(s);
	start_work(s);
	return s->delivered;
}

size_t probe_pending(const struct probe *s)
{
	return s->pending;
}

int probe_run(struct probe *s)
{
	while (s->pending > 0)
		if (probe_step(s, -1) < 0)
			return -1;
	return 0;
}

/* ---- queueing ---- */

static struct query *query_new(struct probe *s, const char *name, uint16_t port,
			       enum starttls_proto proto, void *user,
			       bool *literal)
{
	char norm[DNSNAME_MAX + 1];
	char why[256];
	struct classify_addr a;
	struct query *q;

	if (port == 0) {
		log_error("scanner: %s: port 0", name);
		return NULL;
	}
	if (dnsname_normalize(name, strlen(name), norm, sizeof(norm), why,
			      sizeof(why)) < 0) {
		log_error("scanner: %s", why);
		return NULL;
	}
	if (dnsname_is_wildcard(norm)) {
		log_error("scanner: %s: a wildcard name cannot be probed",
			  norm);
		return NULL;
	}
	q = xcalloc(1, sizeof(*q));
	q->s = s;
	q->name = xstrdup(norm);
	q->port = port;
	q->proto = proto;
	q->user = user;
	q->started_ms = now_ms();
	*literal = classify_addr_parse(norm, &a) == 0;
	q->sni = !*literal;
	if (*literal) {
		q->addrs[0] = a;
		q->naddrs = 1;
	}
	return q;
}

/* A query that needs no DNS goes straight to the resolved list. */
static void queue_resolved(struct probe *s, struct query *q)
{
	q->status = -1;
	q->next = NULL;
	if (s->resolved_tail)
		s->resolved_tail->next = q;
	else
		s->resolved_head = q;
	s->resolved_tail = q;
	s->pending++;
}

int probe_add(struct probe *s, const char *name, uint16_t port,
	      enum starttls_proto proto, void *user)
{
	bool literal;
	struct query *q = query_new(s, name, port, proto, user, &literal);

	if (q == NULL)
		return -1;
	if (literal) {
		queue_resolved(s, q);
		return 0;
	}
	q->next = NULL;
	if (s->dns_tail)
		s->dns_tail->next = q;
	else
		s->dns_head = q;
	s->dns_tail = q;
	s->pending++;
	return 0;
}

int probe_add_address(struct probe *s, const char *name, uint16_t port,
		      enum starttls_proto proto, const char *address,
		      void *user)
{
	struct classify_addr a;
	bool literal;
	struct query *q;

	if (classify_addr_parse(address, &a) < 0)
		return log_error("scanner: \"%s\" is not an IP address",
				 address);
	q = query_new(s, name, port, proto, user, &literal);
	if (q == NULL)
		return -1;
	q->addrs[0] = a;
	q->naddrs = 1;
	queue_resolved(s, q);
	return 0;
}

/* ---- construction ---- */

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

static SSL_CTX *client_ctx_new(void)
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

/* Enough descriptors for the concurrency asked for, if the hard limit
 * allows; else lower the concurrency to what fits. */
static long long fit_fd_limit(long long want)
{
	struct rlimit rl;
	long long room;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return want;
	if (rl.rlim_cur != RLIM_INFINITY &&
	    (long long)rl.rlim_cur < want + PROBE_FD_RESERVE) {
		rlim_t need = (rlim_t)(want + PROBE_FD_RESERVE);

		rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || need < rl.rlim_max
				      ? need
				      : rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur == RLIM_INFINITY)
		return want;
	room = (long long)rl.rlim_cur - PROBE_FD_RESERVE;
	if (room < 1)
		room = 1;
	if (room < want) {
		log_warn("scanner: %lld probes in flight at most (open file "
			 "limit %llu)",
			 room, (unsigned long long)rl.rlim_cur);
		return room;
	}
	return want;
}

static int dns_init(struct probe *s)
{
	struct ares_options ao;
	int mask = 0, rc, tries;
	long long per_try;
	char lookups[] = "b";

	rc = ares_library_init(ARES_LIB_INIT_ALL);
	if (rc != ARES_SUCCESS)
		return log_error("scanner: c-ares: %s", ares_strerror(rc));
	memset(&ao, 0, sizeof(ao));
	/* c-ares doubles the wait on every try: t + 2t + 4t ... must fit
	 * in dns_timeout. */
	/* At least three tries: a lost UDP datagram is normal. */
	tries = (int)(s->opt.retries + 1 > 4 ? 4 : s->opt.retries + 1);
	if (tries < 3)
		tries = 3;
	per_try = s->opt.dns_timeout_ms / ((1LL << tries) - 1);
	ao.timeout = (int)(per_try < 10 ? 10 : per_try);
	ao.tries = tries;
	ao.flags = ARES_FLAG_NOSEARCH | ARES_FLAG_NOALIASES;
	ao.lookups = lookups; /* DNS only, never /etc/hosts */
	ao.sock_state_cb = sock_state_cb;
	ao.sock_state_cb_data = s;
	mask = ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_FLAGS |
	       ARES_OPT_LOOKUPS | ARES_OPT_SOCK_STATE_CB;
	rc = ares_init_options(&s->ares, &ao, mask);
	if (rc != ARES_SUCCESS) {
		ares_library_cleanup();
		return log_error("scanner: c-ares: %s", ares_strerror(rc));
	}
	s->ares_init = true;
	if (s->opt.dns_servers != NULL && *s->opt.dns_servers != '\0') {
		rc = ares_set_servers_ports_csv(s->ares, s->opt.dns_servers);
		if (rc != ARES_SUCCESS)
			return log_error("scanner.dns_servers: \"%s\": %s "
					 "(expected ip[:port],...)",
					 s->opt.dns_servers, ares_strerror(rc));
	}
	return 0;
}

struct probe *probe_new(const struct probe_options *o, probe_result_fn *cb,
			void *arg)
{
	struct probe *s = xcalloc(1, sizeof(*s));
	char why[256];
	bool ok = false;

	s->opt = *o;
	s->cb = cb;
	s->cb_arg = arg;
	s->epfd = -1;
	list_init(&s->ready);
	if (s->opt.per_ip < 1)
		s->opt.per_ip = 1;
	if (s->opt.retries < 0)
		s->opt.retries = 0;
	s->concurrency = fit_fd_limit(o->concurrency < 1 ? 1 : o->concurrency);
	if (o->rate > 0)
		s->rate_interval_ns = 1000000000LL / o->rate;
	if (s->rate_interval_ns == 0 && o->rate > 0)
		s->rate_interval_ns = 1;
	/* Writing to a peer that reset must be an error, not a signal. */
	signal(SIGPIPE, SIG_IGN);
	if (classify_cidrs_parse(o->deny ? o->deny : "", &s->deny, why,
				 sizeof(why)) < 0) {
		log_error("scanner.deny: %s", why);
		goto out;
	}
	if (classify_cidrs_parse(o->allow ? o->allow : "", &s->allow, why,
				 sizeof(why)) < 0) {
		log_error("scanner.allow: %s", why);
		goto out;
	}
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (s->epfd < 0) {
		log_error("scanner: epoll: %s", strerror(errno));
		goto out;
	}
	s->ctx = client_ctx_new();
	if (s->ctx == NULL) {
		log_error("scanner: cannot create the TLS client context");
		goto out;
	}
	if (dns_init(s) < 0)
		goto out;
	ok = true;
out:
	if (!ok) {
		probe_free(s);
		s = NULL;
	}
	return s;
}

/* The queries of the probes being discarded, each noted once. */
struct query_set {
	struct query **v;
	size_t n, cap;
};

static void discard(struct probe *s, struct flight *p, struct query_set *qs)
{
	bool known = false;

	for (size_t i = 0; i < qs->n && !known; i++)
		known = qs->v[i] == p->q;
	if (!known) {
		xgrow(&qs->v, &qs->cap, qs->n + 1, sizeof(*qs->v));
		qs->v[qs->n++] = p->q;
	}
	timer_cancel(s, p);
	flight_close(p);
	free(p);
}

void probe_free(struct probe *s)
{
	struct query_set qs = { 0 };
	struct query *q, *next;

	if (s == NULL)
		return;
	s->destroying = true;
	/* A probe is in the timer heap (connecting, handshaking, waiting to
	 * retry), the ready queue or its address's queue. */
	while (s->nheap > 0)
		discard(s, s->heap[0], &qs);
	while (!list_empty(&s->ready)) {
		struct flight *p =
			container_of(s->ready.next, struct flight, node);

		list_unlink(&p->node);
		discard(s, p, &qs);
	}
	for (size_t i = 0; i < s->ipt_size; i++) {
		struct ipslot *e = s->ipt[i], *en;

		for (; e != NULL; e = en) {
			en = e->next;
			while (!list_empty(&e->waiting)) {
				struct flight *p = container_of(
					e->waiting.next, struct flight, node);

				list_unlink(&p->node);
				discard(s, p, &qs);
			}
			free(e);
		}
	}
	for (size_t i = 0; i < qs.n; i++)
		query_free(qs.v[i]);
	free(qs.v);
	for (q = s->dns_head; q != NULL; q = next) {
		next = q->next;
		query_free(q);
	}
	for (q = s->resolved_head; q != NULL; q = next) {
		next = q->next;
		query_free(q);
	}
	/* Calls dns_done with ARES_EDESTRUCTION for queries in flight,
	 * which frees them. */
	if (s->ares_init) {
		ares_destroy(s->ares);
		ares_library_cleanup();
	}
	SSL_CTX_free(s->ctx);
	if (s->epfd >= 0)
		close(s->epfd);
	classify_cidrs_release(&s->deny);
	classify_cidrs_release(&s->allow);
	free(s->heap);
	free(s->ipt);
	free(s);
}
