/*
 * serve_http - the parts of `certrecall serve` that every page shares
 * (serve.c: dispatch, ARI, staff pages; serve_check.c: the self-check;
 * serve_report.c: the staff report endpoints).
 * Internal to the serve stage: the public API is serve.h.
 */
#ifndef CERTRECALL_SERVE_HTTP_H
#define CERTRECALL_SERVE_HTTP_H

#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <time.h>
#include "certrecall/base/xalloc.h"

struct config;
struct db;
struct serve_batch;
struct serve_batch_job;

#define RATE_SLOTS 4096
#define TOKENS_MAX 256

struct token {
	unsigned char hash[32];
	char name[64];
};

struct bucket {
	char addr[64];
	double tokens;
	double at; /* monotonic seconds of the last refill */
};

struct serve {
	const struct config *cfg;
	struct MHD_Daemon *d;
	unsigned port;
	char *tls_cert, *tls_key; /* PEM text, kept while running */
	struct token tokens[TOKENS_MAX];
	size_t ntokens;
	bool staff; /* tokens_file set: staff pages on */
	FILE *log;  /* written with write(2) on its descriptor */
	bool log_owned;
	unsigned long log_errors; /* lines that could not be written */
	pthread_mutex_t lock;	  /* buckets and the connection list */
	struct bucket *buckets;
	struct db **dbs; /* every worker's connection, closed at stop */
	size_t ndbs, dbcap;
	char csp[512];
	struct serve_batch *batch; /* ARI lookups in batches (serve_batch.h) */
};

/* Per request. */
struct req {
	char *body;
	size_t len;
	bool too_large;
	unsigned status;
	size_t bytes;
	double started;
	char path[256];
	char method[8];
	struct serve_batch_job *job; /* an ARI lookup queued or answered */
};

/* The calling worker thread's own connection, made on first use and
 * remade when lost; NULL when the database cannot be reached. */
CR_MUST_CHECK struct db *serve_http_db(struct serve *s);

/* The Content-Security-Policy that lets the inline page assets run. */
void serve_http_csp(char *buf, size_t len);

/* A growing response body (p is NUL-terminated; the response frees it). */
struct serve_http_out {
	char *p;
	size_t len, cap;
};

void serve_http_add(struct serve_http_out *o, const char *s, size_t n);
void serve_http_fmt(struct serve_http_out *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* s with HTML's special characters escaped (NULL adds nothing). */
void serve_http_html(struct serve_http_out *o, const char *s);
void serve_http_page_head(struct serve_http_out *o, const char *title);
void serve_http_page_tail(struct serve_http_out *o);

/* Queues body (taken) as the answer, with the security headers. */
enum MHD_Result serve_http_reply(struct serve *s, struct MHD_Connection *c,
				 struct req *r, unsigned status,
				 const char *type, char *body, size_t len,
				 long long retry_after);
/* The same with a Content-Security-Policy of its own (csp borrowed). */
enum MHD_Result serve_http_reply_csp(struct serve *s, struct MHD_Connection *c,
				     struct req *r, unsigned status,
				     const char *type, const char *csp,
				     char *body, size_t len,
				     long long retry_after);
/* Whether the client asked for JSON rather than a page. */
bool serve_http_wants_json(struct MHD_Connection *c);
/* A problem answer without internals: RFC 9457 JSON or a small page. */
enum MHD_Result serve_http_problem(struct serve *s, struct MHD_Connection *c,
				   struct req *r, unsigned status,
				   const char *title, const char *detail,
				   long long retry_after, bool json);
/* j (taken) as one line of JSON. */
enum MHD_Result serve_http_json(struct serve *s, struct MHD_Connection *c,
				struct req *r, unsigned status, json_t *j,
				long long retry_after);

/* The client's address as text ("?" when unknown). */
void serve_http_client_addr(struct MHD_Connection *c, char *buf, size_t len);
/* Token bucket per client address; 0 = go, else seconds to wait. */
CR_MUST_CHECK long long serve_http_rate_take(struct serve *s, const char *addr);
/* serve.public_url, else the scheme and Host of the request; no final
 * slash. */
void serve_http_base_url(struct serve *s, struct MHD_Connection *c, char *buf,
			 size_t len);
/* RFC 3339 UTC, or null for DEADLINE_UNSET. */
CR_MUST_CHECK json_t *serve_http_time_or_null(time_t t);

#endif
