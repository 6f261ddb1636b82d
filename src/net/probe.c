/*
 * probe.c - the probing engine: one epoll loop, a timer heap, c-ares
 * on the same loop (probe_dns.c), non-blocking connects, STARTTLS and
 * OpenSSL handshakes (probe_conn.c), within the limits (probe_limits.c).
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
#include <errno.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "certrecall/base/errmsg.h"
#include "certrecall/base/log.h"
#include "certrecall/base/xalloc.h"
#include "certrecall/core/classify.h"
#include "certrecall/core/dnsname.h"
#include "certrecall/net/probe.h"
#include "certrecall/net/probe_int.h"

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

uint64_t probe_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t probe_now_ms(void)
{
	return probe_now_ns() / 1000000u;
}

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

void probe_timer_cancel(struct probe *s, struct flight *p)
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

void probe_timer_set(struct probe *s, struct flight *p, long long after_ms)
{
	probe_timer_cancel(s, p);
	p->deadline_ms = s->now_ms + (uint64_t)after_ms;
	xgrow(&s->heap, &s->heap_cap, s->nheap + 1, sizeof(*s->heap));
	p->heap_idx = s->nheap;
	s->heap[s->nheap++] = p;
	heap_up(s, p->heap_idx);
}

void probe_query_free(struct query *q)
{
	if (q == NULL)
		return;
	free(q->name);
	free(q);
}

/* Delivers one result of q; frees q after its last one. */
void probe_deliver(struct probe *s, struct query *q, struct probe_result *r)
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
		probe_query_free(q);
	}
}

static void start_work(struct probe *s)
{
	do
		probe_start_dns(s);
	while (probe_handle_resolved(s) > 0);
	probe_start_probes(s);
}

static void timer_fire(struct probe *s, struct flight *p)
{
	char why[64];

	switch (p->state) {
	case PROBE_CONNECTING:
		errmsg_set(why, sizeof(why), "no answer within %lldms",
			   s->opt.connect_timeout_ms);
		probe_connect_failed(s, p, PROBE_TIMEOUT, why);
		break;
	case PROBE_STARTTLS:
		errmsg_set(why, sizeof(why), "no STARTTLS within %lldms",
			   s->opt.starttls_timeout_ms);
		probe_flight_finish(s, p, PROBE_TIMEOUT, PROBE_PHASE_STARTTLS,
				    why);
		break;
	case PROBE_HANDSHAKE:
		errmsg_set(why, sizeof(why), "no handshake within %lldms",
			   s->opt.handshake_timeout_ms);
		probe_flight_finish(s, p, PROBE_TIMEOUT, PROBE_PHASE_HANDSHAKE,
				    why);
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

		probe_timer_cancel(s, p);
		timer_fire(s, p);
	}
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
		long long t =
			(s->rate_next_ns - (long long)probe_now_ns() + 999999) /
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
	s->now_ms = probe_now_ms();
	start_work(s);
	n = epoll_wait(s->epfd, ev, PROBE_MAX_EVENTS, wait_ms(s, timeout_ms));
	if (n < 0 && errno != EINTR)
		return log_error("scanner: epoll_wait: %s", strerror(errno));
	s->now_ms = probe_now_ms();
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
			probe_connect_done(s, p);
		else if (p->state == PROBE_STARTTLS)
			probe_starttls_step(s, p);
		else if (p->state == PROBE_HANDSHAKE)
			probe_handshake_step(s, p);
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

long long probe_inflight_peak(const struct probe *s)
{
	return s->inflight_peak;
}

int probe_run(struct probe *s)
{
	while (s->pending > 0)
		if (probe_step(s, -1) < 0)
			return -1;
	return 0;
}

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
	q->started_ms = probe_now_ms();
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
	s->concurrency =
		probe_fit_fd_limit(o->concurrency < 1 ? 1 : o->concurrency);
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
	s->ctx = probe_client_ctx_new();
	if (s->ctx == NULL) {
		log_error("scanner: cannot create the TLS client context");
		goto out;
	}
	if (probe_dns_init(s) < 0)
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
	probe_timer_cancel(s, p);
	probe_flight_close(p);
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
		probe_query_free(qs.v[i]);
	free(qs.v);
	for (q = s->dns_head; q != NULL; q = next) {
		next = q->next;
		probe_query_free(q);
	}
	for (q = s->resolved_head; q != NULL; q = next) {
		next = q->next;
		probe_query_free(q);
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
