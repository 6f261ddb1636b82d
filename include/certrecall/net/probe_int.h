/*
 * probe_int.h - what the files of the probe module share (internal: the
 * public API is probe.h).  probe.c runs the loop and its timer heap,
 * probe_dns.c resolves names with c-ares, probe_conn.c walks a connection
 * through connect, STARTTLS and the TLS handshake, probe_limits.c keeps
 * the concurrency, per-address and rate limits.
 */
#ifndef CERTRECALL_PROBE_INT_H
#define CERTRECALL_PROBE_INT_H

#include <ares.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "certrecall/core/classify.h"
#include "certrecall/core/starttls.h"
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

static inline void list_init(struct list *l)
{
	l->prev = l->next = l;
}

static inline bool list_empty(const struct list *l)
{
	return l->next == l;
}

static inline void list_unlink(struct list *n)
{
	n->prev->next = n->next;
	n->next->prev = n->prev;
	n->prev = n->next = n;
}

static inline void list_push_back(struct list *l, struct list *n)
{
	n->prev = l->prev;
	n->next = l;
	l->prev->next = n;
	l->prev = n;
}

static inline void list_push_front(struct list *l, struct list *n)
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
	long long inflight;	 /* probes holding a connection slot */
	long long inflight_peak; /* the most inflight has been */
	long long dns_inflight;	 /* queries inside c-ares */
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

/* ---- probe.c: the clock, timers and results ---- */

/* The monotonic clock, for timeouts and the rate limit. */
uint64_t probe_now_ns(void);
uint64_t probe_now_ms(void);

/* p's deadline in the timer heap: none, or after_ms from now. */
void probe_timer_cancel(struct probe *s, struct flight *p);
void probe_timer_set(struct probe *s, struct flight *p, long long after_ms);

/* Frees q (NULL is a no-op). */
void probe_query_free(struct query *q);

/* Delivers one result of q; frees q after its last one. */
void probe_deliver(struct probe *s, struct query *q, struct probe_result *r);

/* ---- probe_conn.c: connect, STARTTLS, handshake ---- */

/* Closes the connection without lingering: the peer gets a RST, we keep
 * no TIME_WAIT (which would starve ephemeral ports on a busy scan). */
void probe_flight_close(struct flight *p);

/* Gives back the connection slots p holds; lets a waiting probe on. */
void probe_flight_release_slots(struct probe *s, struct flight *p);

/* p's result (outcome in phase, error text): delivered, then p closed,
 * its slots given back and p freed. */
void probe_flight_finish(struct probe *s, struct flight *p,
			 enum probe_outcome outcome, enum probe_phase phase,
			 const char *error);

/* A connect-phase failure: retry while attempts remain. */
void probe_connect_failed(struct probe *s, struct flight *p,
			  enum probe_outcome outcome, const char *error);

/* One turn of the TLS handshake: finish, or wait for the socket. */
void probe_handshake_step(struct probe *s, struct flight *p);

/*
 * One turn of the STARTTLS dialogue: send what is due, read what came,
 * until the socket would block (wait for it) or the dialogue ends (start
 * the handshake, or finish with starttls-refused / protocol-error).  The
 * whole dialogue has starttls_timeout; reads are capped by the module.
 */
void probe_starttls_step(struct probe *s, struct flight *p);

/*
 * Opens the socket and connects.  Returns -1 only when no socket could
 * be made (fd limit): the caller puts p back and waits for a slot.
 */
CR_MUST_CHECK int probe_flight_connect(struct probe *s, struct flight *p);

/* The socket of a connecting probe is writable: connected or failed. */
void probe_connect_done(struct probe *s, struct flight *p);

/* The one client context of a scan: any protocol, any cipher, no
 * verification (only the served leaf matters). */
SSL_CTX *probe_client_ctx_new(void);

/* ---- probe_dns.c: names to addresses ---- */

/* Starts queued queries within the DNS in-flight limits. */
void probe_start_dns(struct probe *s);

/* Turns resolved queries into results or probes.  Returns how many
 * queries it handled. */
CR_MUST_CHECK int probe_handle_resolved(struct probe *s);

/* The c-ares channel on the probe's epoll loop.  Returns 0 or -1
 * (logged). */
CR_MUST_CHECK int probe_dns_init(struct probe *s);

/* ---- probe_limits.c: slots, rate, descriptors ---- */

/* Whether a and b are the same address. */
bool probe_addr_equal(const struct classify_addr *a,
		      const struct classify_addr *b);

/* Frees e's slot when nothing holds or waits for it. */
void probe_ip_put_if_idle(struct probe *s, struct ipslot *e);

/* Connects ready probes while the concurrency, per-address and rate
 * limits allow. */
void probe_start_probes(struct probe *s);

/* Enough descriptors for the concurrency asked for, if the hard limit
 * allows; else lower the concurrency to what fits. */
CR_MUST_CHECK long long probe_fit_fd_limit(long long want);

#endif
