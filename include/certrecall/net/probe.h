/*
 * scanner - the TLS probing engine: which certificate does NAME:PORT
 * serve, on every address NAME resolves to?
 *
 * One single-threaded event loop (epoll, a timer heap) per struct
 * scanner: asynchronous DNS with c-ares (A, plus AAAA when ipv6 is on),
 * non-blocking connect, an OpenSSL client handshake with SNI = the name
 * on one shared SSL_CTX (TLS 1.0 to 1.3, every cipher, security level 0,
 * no chain verification: only the served leaf matters).  Run one scanner
 * per process; for more cores run more processes.
 *
 * Limits: probes in flight (concurrency), probes in flight to one
 * address (per_ip), probes started per second (rate), a timeout per
 * phase, and a cap on the bytes read from a peer.  Addresses in deny and
 * not in allow are never connected to: their result is
 * PROBE_FILTERED.  Connect-phase failures (refused, connect timeout)
 * are retried up to `retries` times; a handshake timeout is not (the
 * peer accepted and stalled: a tarpit must cost one handshake timeout).
 *
 * Results are delivered through the callback, from inside probe_step(),
 * exactly one per (name, address), or one per name when DNS gave no
 * address (nxdomain, dns-error, DNS timeout).
 */
#ifndef CERTRECALL_PROBE_H
#define CERTRECALL_PROBE_H

#include <openssl/x509.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "certrecall/core/classify.h"
#include "certrecall/core/starttls.h"
#include "certrecall/base/xalloc.h"

struct config;
struct probe;

struct probe_options {
	long long concurrency;	  /* probes in flight (and DNS queries) */
	long long per_ip;	  /* probes in flight to one address */
	long long rate;		  /* probes started per second, 0 = no limit */
	const char *dns_servers;  /* "ip[:port],[v6]:port,..."; "" = system */
	long long dns_timeout_ms; /* whole resolution, c-ares tries inside */
	long long connect_timeout_ms;
	long long handshake_timeout_ms;
	long long starttls_timeout_ms; /* the plaintext dialogue before TLS */
	long long retries; /* extra attempts after a connect-phase failure */
	bool ipv6;	   /* also resolve AAAA */
	const char *deny;  /* CIDR lists, as in scanner.deny / allow */
	const char *allow;
};

/* Fills *o from cfg->scanner.* (strings borrowed from cfg). */
void probe_options_from_config(struct probe_options *o,
			       const struct config *cfg);

enum probe_outcome {
	PROBE_OK,		/* a handshake completed; leaf is set */
	PROBE_TLS_ERROR,	/* handshake failed or peer reset: see error */
	PROBE_REFUSED,		/* connect refused or unreachable */
	PROBE_TIMEOUT,		/* see phase */
	PROBE_NXDOMAIN,		/* name does not exist, or has no address */
	PROBE_DNS_ERROR,	/* SERVFAIL, REFUSED, bad name, ... */
	PROBE_FILTERED,		/* address denied by policy: never connected */
	PROBE_STARTTLS_REFUSED, /* the server said no to STARTTLS */
	PROBE_PROTOCOL_ERROR,	/* the server's dialogue made no sense */
};

enum probe_phase {
	PROBE_PHASE_NONE,
	PROBE_PHASE_DNS,
	PROBE_PHASE_CONNECT,
	PROBE_PHASE_HANDSHAKE,
	PROBE_PHASE_STARTTLS, /* the plaintext dialogue before TLS */
};

/* "ok", "tls-error", "refused", "timeout", "nxdomain", "dns-error",
 * "filtered", "starttls-refused", "protocol-error" (the classify verdict
 * names).  What they mean as verdicts: verdict_probe(), core/verdict.h. */
CR_MUST_CHECK const char *probe_outcome_name(enum probe_outcome o);
/* "", "dns", "connect", "handshake", "starttls". */
CR_MUST_CHECK const char *probe_phase_name(enum probe_phase p);

/*
 * One probe's result.  Everything in it is borrowed and valid only
 * during the callback: copy what you keep (X509_up_ref the leaf).
 */
struct probe_result {
	const char *name; /* as given to probe_add (normalised there) */
	uint16_t port;
	enum starttls_proto proto; /* as given to probe_add */
	const char *address; /* "192.0.2.1", "2001:db8::1"; "" if no DNS */
	enum probe_outcome outcome;
	enum probe_phase phase;	 /* where it ended: TIMEOUT says which */
	const char *error;	 /* "" on OK; OpenSSL reason, strerror,
				     c-ares message otherwise */
	X509 *leaf;		 /* served leaf on OK, else NULL */
	const char *tls_version; /* "TLSv1.3" on OK, else "" */
	long long elapsed_ms;	 /* from first connect (or DNS) to now */
	int attempts;		 /* connects made: 0 for DNS and filtered */
	size_t index;		 /* this address is index of count ... */
	size_t count;		 /* ... addresses the name resolved to */
	bool last;		 /* no more results for this probe_add */
	void *user;		 /* as given to probe_add */
};

typedef void probe_result_fn(const struct probe_result *r, void *arg);

/*
 * A scanner with its event loop, resolver and SSL_CTX; NULL on error
 * (logged: a bad CIDR list or DNS server list, no epoll, ...).
 */
CR_MUST_CHECK struct probe *probe_new(const struct probe_options *o,
				      probe_result_fn *cb, void *arg);
/* Closes every connection without delivering their results. */
void probe_free(struct probe *s);

/*
 * Queues a probe of name:port on every address the name resolves to,
 * speaking proto's STARTTLS dialogue first (STARTTLS_NONE: implicit
 * TLS).  name is a host name (normalised here; a wildcard is refused) or
 * an IP literal (probed without DNS and without SNI).  0, or -1 for a
 * name that cannot be probed (logged).  Never blocks, never calls back.
 */
CR_MUST_CHECK int probe_add(struct probe *s, const char *name, uint16_t port,
			    enum starttls_proto proto, void *user);
/* The same, at a given address instead of resolving name (SNI = name). */
CR_MUST_CHECK int probe_add_address(struct probe *s, const char *name,
				    uint16_t port, enum starttls_proto proto,
				    const char *address, void *user);

/*
 * Runs the loop once: starts queued work within the limits, waits up to
 * timeout_ms (-1: until the next event or timer) for I/O, handles it and
 * expired timers, delivering results through the callback.  Returns the
 * number of results delivered, or -1 on a broken loop (logged).  Returns
 * 0 at once when nothing is pending.
 */
CR_MUST_CHECK int probe_step(struct probe *s, int timeout_ms);
/* probe_add calls whose last result has not been delivered yet. */
size_t probe_pending(const struct probe *s);
/* The most probes that have held a connection at once so far: what
 * scanner.concurrency and scanner.per_ip over the addresses seen let the
 * engine use (a caller feeding it needs little more queued). */
long long probe_inflight_peak(const struct probe *s);
/* probe_step until nothing is pending; 0 or -1. */
CR_MUST_CHECK int probe_run(struct probe *s);

#endif
