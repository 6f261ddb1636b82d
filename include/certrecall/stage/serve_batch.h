/*
 * serve_batch - ARI lookups of `certrecall serve` answered in batches:
 * the HTTP thread suspends the connection and queues its certID; a few
 * lookup threads, each with its own PostgreSQL connection, send every
 * certID queued meanwhile in one pipelined round trip and resume the
 * connections.  Under load a round trip carries many lookups, so the
 * database and the two cores spend far less on wake-ups and
 * transactions per answer; idle, a lookup goes out at once.  Nothing is
 * cached: every answer is read from the database after it was asked.
 * Internal to the serve stage.
 */
#ifndef CERTRECALL_SERVE_BATCH_H
#define CERTRECALL_SERVE_BATCH_H

#include <microhttpd.h>
#include <stdbool.h>
#include <stddef.h>

#include "certrecall/base/xalloc.h"
#include "certrecall/core/ari.h"
#include "certrecall/store/serve_store.h"

struct config;
struct serve_batch;

/* One queued lookup, owned by the request (struct req). */
struct serve_batch_job {
	struct MHD_Connection *c;
	struct ari_certid id;
	struct serve_store_ari_query q; /* q.rc, q.rows, q.n once done */
	bool done;
	struct serve_batch_job *next;
};

/* Most lookups in one round trip. */
#define SERVE_BATCH_MAX 64

/* Starts nthreads lookup threads (connections are made on first use).
 * NULL on error (logged). */
CR_MUST_CHECK struct serve_batch *serve_batch_start(const struct config *cfg,
						    unsigned nthreads);

/*
 * Suspends c and queues job (its id filled; the rest is set here) for
 * the next round trip; the lookup thread resumes c when job->done.  -1
 * when draining (serve_batch_drain): answer synchronously instead.
 */
CR_MUST_CHECK int serve_batch_submit(struct serve_batch *b,
				     struct MHD_Connection *c,
				     struct serve_batch_job *job);

/* Takes no new jobs and waits (at most timeout_ms) until every queued
 * one was answered and its connection resumed; whether they were. */
bool serve_batch_drain(struct serve_batch *b, unsigned timeout_ms);

/* Stops the threads, closes their connections (after drain). */
void serve_batch_stop(struct serve_batch *b);

#endif
