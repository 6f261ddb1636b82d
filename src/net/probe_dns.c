/*
 * probe_dns.c - names to addresses with c-ares on the probe's epoll loop:
 * queries started a few hundred at a time, answers deduplicated and put
 * in one stable order, one probe per permitted address.
 */
#include <ares.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "certrecall/base/log.h"
#include "certrecall/base/xalloc.h"
#include "certrecall/net/probe.h"
#include "certrecall/net/probe_int.h"

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
				dup = probe_addr_equal(&q->addrs[i], &a);
			if (!dup)
				q->addrs[q->naddrs++] = a;
		}
	}
	if (res != NULL)
		ares_freeaddrinfo(res);
	if (s->destroying) {
		probe_query_free(q);
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

void probe_start_dns(struct probe *s)
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
		probe_deliver(s, q, &r);
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
			probe_deliver(s, q, &f);
			free(p);
			continue;
		}
		p->state = PROBE_READY;
		list_push_back(&s->ready, &p->node);
	}
}

/* Returns how many queries it handled. */
int probe_handle_resolved(struct probe *s)
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

int probe_dns_init(struct probe *s)
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
