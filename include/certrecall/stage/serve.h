/*
 * serve - `certrecall serve`: ACME Renewal Information (RFC 9773), the
 * subscriber self-check page and the staff status page over HTTP, on GNU
 * libmicrohttpd (its epoll thread pool, connection limits and timeouts).
 *
 * Stateless: every answer is read from PostgreSQL after it was asked
 * (ARI through the lookup threads of serve_batch.h, the other pages on
 * the HTTP thread's own connection), so several instances can serve one
 * database.  The only state kept in memory is the self-check rate limit
 * per client address.
 */
#ifndef CERTRECALL_SERVE_H
#define CERTRECALL_SERVE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "certrecall/core/ari.h"
#include "certrecall/base/xalloc.h"

struct config;
struct db;
struct serve;

/*
 * Checks the configuration (listen address, TLS files, tokens file) and
 * starts listening.  NULL on error (logged; *exit_code gets EX_CONFIG or
 * EX_UNAVAILABLE).  cfg is borrowed for the server's lifetime.
 */
CR_MUST_CHECK struct serve *serve_start(const struct config *cfg,
					int *exit_code);

/* The port actually bound (for listen = ...:0). */
unsigned serve_port(const struct serve *s);

/* Stops accepting, finishes the requests in progress, closes. */
void serve_stop(struct serve *s);

/* The revocation clock of an incident: where it starts and its MUST-by. */
struct serve_clock {
	time_t start;
	time_t must_by;
};

/*
 * From the incident's reason, aware_at and cpr_received_at (UNSET when
 * none).  -1 when the reason does not resolve (logged once per call).
 */
CR_MUST_CHECK int serve_incident_clock(const char *reason, time_t aware_at,
				       time_t cpr_received_at,
				       struct serve_clock *out);

/*
 * The ARI answer of one certificate row: affected (not revoked, not
 * expired at now), revoked, or neither.  Returns the kind, or -1 when
 * the row gets no window of its own (expired, or revoked and expired).
 */
CR_MUST_CHECK int serve_ari_row_window(const struct serve_clock *clk,
				       const char *state, time_t not_after,
				       long long margin, long long retry,
				       time_t now, struct ari_window *out);

#endif
