/*
 * revfetch - ask OCSP responders (RFC 6960) about many serials at once and
 * fetch CRLs, over one libcurl multi handle kept for the engine's life
 * (its connection cache gives keep-alive and HTTP/2 reuse).
 *
 * No database: results go to a callback.  A transfer that times out or
 * fails is reported as OCSP_ERROR, never as good.  Requests are built and
 * answers judged by core/ocsp.
 */
#ifndef CERTRECALL_REVFETCH_H
#define CERTRECALL_REVFETCH_H

#include <openssl/x509.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "certrecall/core/ocsp.h"
#include "certrecall/core/serial.h"
#include "certrecall/base/xalloc.h"

/* One OCSP check: the answer (core/ocsp.h) and how it was got. */
struct revfetch_result {
	struct ocsp_answer answer; /* OCSP_ERROR with error set on failure */
	time_t checked_at;	   /* clock_now() when the answer arrived */
	const char *url;	   /* borrowed, valid during the callback */
	long http_status;	   /* 0 when no HTTP response */
	int attempts;
};

struct revfetch;

typedef void (*revfetch_ocsp_cb)(const struct revfetch_result *res, void *user);

/*
 * Called once per revfetch_add_fetch: ok true with body (borrowed, len
 * bytes) after an HTTP 2xx, else ok false with err set and transient
 * true when a retry may succeed (as ocsp_answer.transient).
 */
typedef void (*revfetch_fetch_cb)(const char *url, bool ok, bool transient,
				  long http_status, const unsigned char *body,
				  size_t len, const char *err, void *user);

struct revfetch_opts {
	int concurrency;	   /* transfers in flight; default 32 */
	long max_host_connections; /* per host; default 8, 0 = no limit */
	long timeout_ms;	   /* per attempt; default 10000 */
	long connect_timeout_ms;   /* default 5000 */
	int retries; /* extra attempts on transient errors; 0 = 2, <0 none */
	long backoff_ms;     /* first retry delay, doubled; default 500 */
	size_t max_response; /* OCSP body cap; default 65536 */
	long skew_s;	     /* clock allowance; default 300 */
	long max_age_s;	     /* answers without nextUpdate; default 4 days */
	bool ocsp_get; /* GET when the request is <= 255 bytes (RFC 5019) */
	const char *const *resolve; /* CURLOPT_RESOLVE "host:port:addr",
				       NULL-terminated; for tests */
	revfetch_ocsp_cb ocsp_cb;
};

/* Zeroes of opts take the defaults above.  Returns NULL on failure. */
CR_MUST_CHECK struct revfetch *revfetch_new(const struct revfetch_opts *opts);

/*
 * Queues an OCSP check of serial at url (copied).  issuer is up-ref'd.
 * opts->ocsp_cb is called with user once the check ends.  Returns 0, or
 * -1 if the request cannot be built.
 */
CR_MUST_CHECK int revfetch_add_ocsp(struct revfetch *rc, const char *url,
				    X509 *issuer, const struct serial *serial,
				    void *user);

/*
 * Queues a GET of url into memory, at most max_bytes (after content
 * decoding; gzip/deflate accepted), following up to 3 redirects.
 */
void revfetch_add_fetch(struct revfetch *rc, const char *url, size_t max_bytes,
			revfetch_fetch_cb cb, void *user);

/*
 * Runs transfers for up to timeout_ms and calls callbacks of those that
 * ended.  Returns the number of checks still pending, or -1 on a libcurl
 * failure.
 */
CR_MUST_CHECK int revfetch_step(struct revfetch *rc, long timeout_ms);
size_t revfetch_pending(const struct revfetch *rc);
/* Steps until nothing is pending.  0, or -1 on a libcurl failure. */
CR_MUST_CHECK int revfetch_run(struct revfetch *rc);
/* Abandons what is pending without calling callbacks. */
void revfetch_free(struct revfetch *rc);

#endif
