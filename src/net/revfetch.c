/*
 * revfetch.c - OCSP checks and CRL downloads over one libcurl multi handle.
 *
 * Jobs wait in a FIFO (ready) or, after a transient failure, in a retry
 * list with a due time; at most opts.concurrency are handed to curl at
 * once.  Each attempt gets a fresh easy handle; the connections live in
 * the multi handle's cache, so keep-alive and HTTP/2 reuse survive.
 */
#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "certrecall/base/clock.h"
#include "certrecall/base/log.h"
#include "certrecall/base/xalloc.h"
#include "certrecall/core/ocsp.h"
#include "certrecall/net/revfetch.h"

/* RFC 5019 2.1.1: GET only for requests whose encoding stays small. */
#define GET_MAX_REQUEST 255

enum job_kind {
	JOB_OCSP,
	JOB_FETCH,
};

struct job {
	struct job *next;	   /* ready or waiting list */
	struct job *aprev, *anext; /* active list */
	enum job_kind kind;
	char *url;
	char *get_url; /* OCSP GET form, or NULL for POST */
	void *user;
	/* OCSP */
	X509 *issuer;
	struct serial serial;
	unsigned char *req;
	size_t req_len;
	/* fetch */
	revfetch_fetch_cb fetch_cb;
	size_t max_bytes;
	/* one attempt */
	CURL *easy;
	struct curl_slist *hdrs;
	unsigned char *body;
	size_t body_len, body_cap;
	bool too_big;
	char curl_err[CURL_ERROR_SIZE];
	int attempts;
	int64_t due_ms; /* monotonic; when a retry may start */
};

struct revfetch {
	struct revfetch_opts o;
	CURLM *multi;
	struct curl_slist *resolve;
	struct job *ready, *ready_tail; /* FIFO */
	struct job *waiting;		/* retries, unordered */
	struct job *active_list;
	size_t active;
	size_t pending; /* ready + waiting + active */
};

static int64_t mono_ms(void)
{
	return (int64_t)(clock_mono() * 1000.0);
}

struct revfetch *revfetch_new(const struct revfetch_opts *opts)
{
	struct revfetch *rc = xcalloc(1, sizeof(*rc));
	size_t i;

	rc->o = *opts;
	if (rc->o.concurrency <= 0)
		rc->o.concurrency = 32;
	if (rc->o.max_host_connections < 0)
		rc->o.max_host_connections = 0;
	else if (rc->o.max_host_connections == 0)
		rc->o.max_host_connections = 8;
	if (rc->o.timeout_ms <= 0)
		rc->o.timeout_ms = 10000;
	if (rc->o.connect_timeout_ms <= 0)
		rc->o.connect_timeout_ms = 5000;
	if (rc->o.retries < 0)
		rc->o.retries = 0;
	else if (rc->o.retries == 0)
		rc->o.retries = 2;
	if (rc->o.backoff_ms <= 0)
		rc->o.backoff_ms = 500;
	if (rc->o.max_response == 0)
		rc->o.max_response = 65536;
	if (rc->o.skew_s <= 0)
		rc->o.skew_s = 300;
	if (rc->o.max_age_s <= 0)
		rc->o.max_age_s = 4 * 86400L;
	rc->o.resolve = NULL;
	for (i = 0; opts->resolve != NULL && opts->resolve[i] != NULL; i++)
		rc->resolve = curl_slist_append(rc->resolve, opts->resolve[i]);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		log_error("revcheck: curl_global_init failed");
		curl_slist_free_all(rc->resolve);
		free(rc);
		return NULL;
	}
	rc->multi = curl_multi_init();
	if (rc->multi == NULL) {
		log_error("revcheck: curl_multi_init failed");
		revfetch_free(rc);
		return NULL;
	}
	curl_multi_setopt(rc->multi, CURLMOPT_MAX_HOST_CONNECTIONS,
			  rc->o.max_host_connections);
	/* Keep as many idle connections as we may have busy. */
	curl_multi_setopt(rc->multi, CURLMOPT_MAXCONNECTS,
			  (long)rc->o.concurrency);
	curl_multi_setopt(rc->multi, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
	return rc;
}

static void job_reset_attempt(struct revfetch *rc, struct job *j)
{
	if (j->easy != NULL) {
		curl_multi_remove_handle(rc->multi, j->easy);
		curl_easy_cleanup(j->easy);
		j->easy = NULL;
	}
	curl_slist_free_all(j->hdrs);
	j->hdrs = NULL;
	free(j->body);
	j->body = NULL;
	j->body_len = j->body_cap = 0;
	j->too_big = false;
	j->curl_err[0] = '\0';
}

static void job_free(struct revfetch *rc, struct job *j)
{
	if (j == NULL)
		return;
	job_reset_attempt(rc, j);
	X509_free(j->issuer);
	OPENSSL_free(j->req);
	free(j->get_url);
	free(j->url);
	free(j);
}

static void enqueue(struct revfetch *rc, struct job *j)
{
	j->next = NULL;
	if (rc->ready_tail != NULL)
		rc->ready_tail->next = j;
	else
		rc->ready = j;
	rc->ready_tail = j;
}

/* RFC 6960 A.1: GET {url}/{url-encoding of base64 of DER}. */
static char *ocsp_get_url(const char *url, const unsigned char *der, size_t len)
{
	unsigned char b64[4 * ((GET_MAX_REQUEST + 2) / 3) + 1];
	size_t ulen = strlen(url), i, k;
	int n = EVP_EncodeBlock(b64, der, (int)len);
	char *out = xmalloc(ulen + 1 + 3 * (size_t)n + 1);

	memcpy(out, url, ulen);
	k = ulen;
	if (ulen == 0 || url[ulen - 1] != '/')
		out[k++] = '/';
	for (i = 0; i < (size_t)n; i++) {
		unsigned char c = b64[i];

		if (c == '+' || c == '/' || c == '=') {
			static const char hex[] = "0123456789ABCDEF";

			out[k++] = '%';
			out[k++] = hex[c >> 4];
			out[k++] = hex[c & 0xf];
		} else {
			out[k++] = (char)c;
		}
	}
	out[k] = '\0';
	return out;
}

int revfetch_add_ocsp(struct revfetch *rc, const char *url, X509 *issuer,
		      const struct serial *serial, void *user)
{
	struct job *j;
	unsigned char *der = NULL;
	int len = ocsp_build_request(issuer, serial, &der);

	if (len < 0) {
		char hex[SERIAL_TEXT_MAX];

		serial_format_hex(serial, hex, sizeof(hex));
		return log_error("revcheck: cannot build OCSP request for %s",
				 hex);
	}
	j = xcalloc(1, sizeof(*j));
	j->kind = JOB_OCSP;
	j->url = xstrdup(url);
	j->user = user;
	X509_up_ref(issuer);
	j->issuer = issuer;
	j->serial = *serial;
	j->req = der;
	j->req_len = (size_t)len;
	j->max_bytes = rc->o.max_response;
	if (rc->o.ocsp_get && j->req_len <= GET_MAX_REQUEST)
		j->get_url = ocsp_get_url(url, der, j->req_len);
	enqueue(rc, j);
	rc->pending++;
	return 0;
}

void revfetch_add_fetch(struct revfetch *rc, const char *url, size_t max_bytes,
			revfetch_fetch_cb cb, void *user)
{
	struct job *j = xcalloc(1, sizeof(*j));

	j->kind = JOB_FETCH;
	j->url = xstrdup(url);
	j->user = user;
	j->fetch_cb = cb;
	j->max_bytes = max_bytes > 0 ? max_bytes : rc->o.max_response;
	enqueue(rc, j);
	rc->pending++;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct job *j = arg;
	size_t n = size * nmemb, want = 16384;

	if (n > j->max_bytes - j->body_len) {
		j->too_big = true;
		return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
	}
	/* Grow geometrically, never past the cap. */
	if (j->body_len + n > j->body_cap) {
		while (want < j->body_len + n)
			want *= 2;
		if (want > j->max_bytes)
			want = j->max_bytes;
		j->body = xrealloc(j->body, want);
		j->body_cap = want;
	}
	memcpy(j->body + j->body_len, data, n);
	j->body_len += n;
	return n;
}

static int job_start(struct revfetch *rc, struct job *j)
{
	size_t cap = j->max_bytes;
	CURL *e = curl_easy_init();

	j->attempts++;
	if (e == NULL)
		return -1;
	j->easy = e;
	curl_easy_setopt(e, CURLOPT_PRIVATE, j);
	curl_easy_setopt(e, CURLOPT_URL, j->get_url ? j->get_url : j->url);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, j);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, j->curl_err);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, rc->o.timeout_ms);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
			 rc->o.connect_timeout_ms);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "certrecall");
	curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)cap);
	if (rc->resolve != NULL)
		curl_easy_setopt(e, CURLOPT_RESOLVE, rc->resolve);
	if (j->kind == JOB_OCSP) {
		j->hdrs = curl_slist_append(NULL, "Accept: "
						  "application/ocsp-response");
		if (j->get_url == NULL) {
			j->hdrs = curl_slist_append(
				j->hdrs,
				"Content-Type: application/ocsp-request");
			j->hdrs = curl_slist_append(j->hdrs, "Expect:");
			curl_easy_setopt(e, CURLOPT_POSTFIELDS, j->req);
			curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE,
					 (long)j->req_len);
		}
		curl_easy_setopt(e, CURLOPT_HTTPHEADER, j->hdrs);
	} else {
		curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
		curl_easy_setopt(e, CURLOPT_MAXREDIRS, 3L);
		curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
		curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
	}
	if (curl_multi_add_handle(rc->multi, e) != CURLM_OK)
		return -1;
	j->aprev = NULL;
	j->anext = rc->active_list;
	if (rc->active_list != NULL)
		rc->active_list->aprev = j;
	rc->active_list = j;
	rc->active++;
	return 0;
}

static bool transient(CURLcode cc, long http)
{
	switch (cc) {
	case CURLE_OK:
		return http == 429 || http == 500 || http == 502 ||
		       http == 503 || http == 504;
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
	case CURLE_SSL_CONNECT_ERROR:
		return true;
	default:
		return false;
	}
}

/* Why an attempt failed, into buf (len 256: curl's message is cut to 200
 * bytes, so it always fits). */
static void describe(struct revfetch *rc, struct job *j, CURLcode cc, long http,
		     char *buf, size_t len)
{
	int n;

	(void)rc;
	if (j->too_big || cc == CURLE_FILESIZE_EXCEEDED)
		n = snprintf(buf, len, "response larger than %zu bytes",
			     j->max_bytes);
	else if (cc == CURLE_OPERATION_TIMEDOUT)
		n = snprintf(buf, len, "timeout: %.200s", j->curl_err);
	else if (cc != CURLE_OK)
		n = snprintf(buf, len, "transport: %.200s",
			     j->curl_err[0] ? j->curl_err
					    : curl_easy_strerror(cc));
	else
		n = snprintf(buf, len, "http %ld", http);
	if (n < 0)
		buf[0] = '\0';
}

/* After the last attempt: would a later run do better? */
static bool is_transient(const struct job *j, CURLcode cc, long http)
{
	return !j->too_big && transient(cc, http);
}

/* Reports the job's outcome through its callback and frees it. */
static void job_finish(struct revfetch *rc, struct job *j, CURLcode cc,
		       long http)
{
	char why[256];

	if (j->kind == JOB_FETCH) {
		bool ok = cc == CURLE_OK && http >= 200 && http < 300;

		if (!ok)
			describe(rc, j, cc, http, why, sizeof(why));
		j->fetch_cb(j->url, ok, !ok && is_transient(j, cc, http), http,
			    j->body, ok ? j->body_len : 0, ok ? NULL : why,
			    j->user);
	} else {
		struct revfetch_result res;

		memset(&res, 0, sizeof(res));
		res.answer.serial = j->serial;
		res.answer.reason = -1;
		res.url = j->url;
		res.http_status = http;
		res.attempts = j->attempts;
		res.checked_at = clock_now();
		if (cc != CURLE_OK || http != 200) {
			res.answer.status = OCSP_ERROR;
			res.answer.transient = is_transient(j, cc, http);
			describe(rc, j, cc, http, res.answer.error,
				 sizeof(res.answer.error));
		} else if (ocsp_parse_response(j->body, j->body_len, j->issuer,
					       &j->serial, res.checked_at,
					       rc->o.skew_s, rc->o.max_age_s,
					       &res.answer) < 0) {
			res.answer.status = OCSP_ERROR; /* why: in error */
		}
		if (rc->o.ocsp_cb != NULL)
			rc->o.ocsp_cb(&res, j->user);
	}
	rc->pending--;
	job_free(rc, j);
}

/* Ends one attempt: retry after a transient failure, or finish. */
static void job_done(struct revfetch *rc, struct job *j, CURLcode cc)
{
	long http = 0;

	curl_easy_getinfo(j->easy, CURLINFO_RESPONSE_CODE, &http);
	if (j->aprev != NULL)
		j->aprev->anext = j->anext;
	else
		rc->active_list = j->anext;
	if (j->anext != NULL)
		j->anext->aprev = j->aprev;
	j->aprev = j->anext = NULL;
	rc->active--;
	if (!j->too_big && transient(cc, http) &&
	    j->attempts <= rc->o.retries) {
		int shift = j->attempts - 1 < 10 ? j->attempts - 1 : 10;

		job_reset_attempt(rc, j);
		j->due_ms = mono_ms() + (rc->o.backoff_ms << shift);
		j->next = rc->waiting;
		rc->waiting = j;
		return;
	}
	job_finish(rc, j, cc, http);
}

/* Moves retries that are due to the front of the ready queue. */
static int64_t wake_due(struct revfetch *rc, int64_t now)
{
	struct job **pp = &rc->waiting, *j;
	int64_t next = -1;

	while ((j = *pp) != NULL) {
		if (j->due_ms <= now) {
			*pp = j->next;
			j->next = rc->ready;
			rc->ready = j;
			if (rc->ready_tail == NULL)
				rc->ready_tail = j;
		} else {
			if (next < 0 || j->due_ms < next)
				next = j->due_ms;
			pp = &j->next;
		}
	}
	return next;
}

static void start_ready(struct revfetch *rc)
{
	while (rc->ready != NULL && rc->active < (size_t)rc->o.concurrency) {
		struct job *j = rc->ready;

		rc->ready = j->next;
		if (rc->ready == NULL)
			rc->ready_tail = NULL;
		if (job_start(rc, j) < 0) {
			/* Reported through the callback as an error. */
			job_reset_attempt(rc, j);
			memcpy(j->curl_err, "cannot start transfer",
			       sizeof("cannot start transfer"));
			job_finish(rc, j, CURLE_FAILED_INIT, 0);
		}
	}
}

static void collect(struct revfetch *rc)
{
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(rc->multi, &left)) != NULL) {
		struct job *j = NULL;

		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &j);
		job_done(rc, j, m->data.result);
	}
}

int revfetch_step(struct revfetch *rc, long timeout_ms)
{
	int64_t now = mono_ms(), next;
	int running;
	long wait = timeout_ms;

	next = wake_due(rc, now);
	start_ready(rc);
	if (curl_multi_perform(rc->multi, &running) != CURLM_OK)
		return log_error("revcheck: curl_multi_perform failed");
	collect(rc);
	if (rc->pending == 0)
		return 0;
	if (rc->ready != NULL && rc->active < (size_t)rc->o.concurrency)
		wait = 0;
	else if (next >= 0 && next - now < wait)
		wait = next - now > 0 ? (long)(next - now) : 0;
	if (rc->active > 0) {
		if (curl_multi_poll(rc->multi, NULL, 0, (int)wait, NULL) !=
		    CURLM_OK)
			return log_error("revcheck: curl_multi_poll failed");
	} else if (wait > 0) {
		struct timespec ts = { wait / 1000, (wait % 1000) * 1000000 };

		nanosleep(&ts, NULL);
	}
	if (curl_multi_perform(rc->multi, &running) != CURLM_OK)
		return log_error("revcheck: curl_multi_perform failed");
	collect(rc);
	return (int)rc->pending;
}

size_t revfetch_pending(const struct revfetch *rc)
{
	return rc->pending;
}

int revfetch_run(struct revfetch *rc)
{
	while (rc->pending > 0)
		if (revfetch_step(rc, 1000) < 0)
			return -1;
	return 0;
}

static void free_list(struct revfetch *rc, struct job *j)
{
	while (j != NULL) {
		struct job *next = j->next;

		job_free(rc, j);
		j = next;
	}
}

void revfetch_free(struct revfetch *rc)
{
	struct job *j;

	if (rc == NULL)
		return;
	free_list(rc, rc->ready);
	free_list(rc, rc->waiting);
	while ((j = rc->active_list) != NULL) {
		rc->active_list = j->anext;
		job_free(rc, j);
	}
	if (rc->multi != NULL)
		curl_multi_cleanup(rc->multi);
	curl_slist_free_all(rc->resolve);
	free(rc);
	curl_global_cleanup();
}
