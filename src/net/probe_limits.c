/*
 * probe_limits.c - the limits a scan keeps: the options from the
 * configuration, connections in flight (overall and per address), the
 * rate of new connections, and the open-file limit.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "certrecall/core/config.h"
#include "certrecall/base/log.h"
#include "certrecall/base/xalloc.h"
#include "certrecall/net/probe.h"
#include "certrecall/net/probe_int.h"

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

bool probe_addr_equal(const struct classify_addr *a,
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
		if (probe_addr_equal(&e->addr, a))
			return e;
	e = xcalloc(1, sizeof(*e));
	e->addr = *a;
	list_init(&e->waiting);
	e->next = s->ipt[h];
	s->ipt[h] = e;
	s->ipt_count++;
	return e;
}

void probe_ip_put_if_idle(struct probe *s, struct ipslot *e)
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

static bool rate_allows(struct probe *s)
{
	long long now;

	if (s->rate_interval_ns == 0)
		return true;
	now = (long long)probe_now_ns();
	if (s->rate_next_ns < now - PROBE_RATE_BURST_NS)
		s->rate_next_ns = now - PROBE_RATE_BURST_NS;
	if (now < s->rate_next_ns)
		return false;
	s->rate_next_ns += s->rate_interval_ns;
	return true;
}

void probe_start_probes(struct probe *s)
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
			probe_ip_put_if_idle(s, ip);
			break;
		}
		ip->inflight++;
		if (++s->inflight > s->inflight_peak)
			s->inflight_peak = s->inflight;
		p->ip = ip;
		if (probe_flight_connect(s, p) < 0) {
			int err = errno;

			probe_flight_release_slots(s, p);
			if (s->inflight == 0) {
				/* Nothing will free a descriptor: say so. */
				probe_flight_finish(s, p, PROBE_REFUSED,
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

/* Enough descriptors for the concurrency asked for, if the hard limit
 * allows; else lower the concurrency to what fits. */
long long probe_fit_fd_limit(long long want)
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
