/*
 * revcheck.c - OCSP checks and CRL downloads over one libcurl multi handle.
 *
 * Jobs wait in a FIFO (ready) or, after a transient failure, in a retry
 * list with a due time; at most opts.concurrency are handed to curl at
 * once.  Each attempt gets a fresh easy handle; the connections live in
 * the multi handle's cache, so keep-alive and HTTP/2 reuse survive.
 */
#include <curl/curl.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "certrecall/base/clock.h"
#include "certrecall/base/log.h"
#include "certrecall/net/revfetch.h"
#include "certrecall/base/utctime.h"
#include "certrecall/base/xalloc.h"

/* RFC 5019 2.1.1: GET only for requests whose encoding stays small. */
#define GET_MAX_REQUEST 255

const char *revfetch_status_name(enum revfetch_status status)
{
	switch (status) {
	case REVFETCH_GOOD:
		return "good";
	case REVFETCH_REVOKED:
		return "revoked";
	case REVFETCH_UNKNOWN:
		return "unknown";
	case REVFETCH_ERROR:
		break;
	}
	return "error";
}

static int res_fail(struct revfetch_result *res, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int res_fail(struct revfetch_result *res, const char *fmt, ...)
{
	va_list ap;

	res->status = REVFETCH_ERROR;
	va_start(ap, fmt);
	if (vsnprintf(res->error, sizeof(res->error), fmt, ap) < 0)
		res->error[0] = '\0';
	va_end(ap);
	return -1;
}

/* The first queued OpenSSL error, for context; clears the queue. */
static const char *ssl_reason(char *buf, size_t len)
{
	unsigned long e = ERR_peek_error();

	if (e == 0)
		snprintf(buf, len, "no detail");
	else
		ERR_error_string_n(e, buf, len);
	ERR_clear_error();
	return buf;
}

static int asn1_time_t(const ASN1_TIME *t, time_t *out)
{
	struct tm tm;

	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return -1;
	*out = timegm(&tm);
	return 0;
}

static void fmt_time(time_t t, char *buf, size_t len)
{
	if (utctime_format_rfc3339(t, buf, len) < 0)
		snprintf(buf, len, "%lld", (long long)t);
}

/* The serial as the certificate carries it: zero and negative serials
 * too (serial.h), so their CertID is theirs. */
static OCSP_CERTID *certid_new(X509 *issuer, const struct serial *serial)
{
	unsigned char der[SERIAL_STORED_MAX + 3];
	const unsigned char *p = der;
	size_t n = serial_der_content(serial, der + 2);
	ASN1_INTEGER *ai;
	OCSP_CERTID *id = NULL;

	der[0] = V_ASN1_INTEGER;
	der[1] = (unsigned char)n;
	ai = d2i_ASN1_INTEGER(NULL, &p, (long)n + 2);
	if (ai != NULL)
		id = OCSP_cert_id_new(EVP_sha1(), X509_get_subject_name(issuer),
				      X509_get0_pubkey_bitstr(issuer), ai);
	ASN1_INTEGER_free(ai);
	return id;
}

int revfetch_build_request(X509 *issuer, const struct serial *serial,
			   unsigned char **der)
{
	OCSP_REQUEST *req = OCSP_REQUEST_new();
	OCSP_CERTID *id = certid_new(issuer, serial);
	int len = -1;

	*der = NULL;
	if (req == NULL || id == NULL || OCSP_request_add0_id(req, id) == NULL)
		goto out;
	id = NULL; /* owned by req */
	len = i2d_OCSP_REQUEST(req, der);
	if (len <= 0)
		len = -1;
out:
	ERR_clear_error();
	OCSP_CERTID_free(id);
	OCSP_REQUEST_free(req);
	return len;
}

/* "4d", "6h", "90s": a maximum age as revcheck.max_age would say it. */
static void fmt_age(long s, char *buf, size_t len)
{
	if (s % 86400 == 0)
		snprintf(buf, len, "%ldd", s / 86400);
	else if (s % 3600 == 0)
		snprintf(buf, len, "%ldh", s / 3600);
	else
		snprintf(buf, len, "%lds", s);
}

int revfetch_parse_response(const unsigned char *der, size_t len, X509 *issuer,
			    const struct serial *serial, time_t now,
			    long skew_s, long max_age_s,
			    struct revfetch_result *res)
{
	const unsigned char *p = der;
	OCSP_RESPONSE *resp = NULL;
	OCSP_BASICRESP *bs = NULL;
	OCSP_CERTID *id = NULL;
	X509_STORE *store = NULL;
	STACK_OF(X509) *certs = NULL;
	ASN1_GENERALIZEDTIME *rev = NULL, *thisupd = NULL, *nextupd = NULL;
	int status, reason = -1, st, rc = -1;
	char why[200], a[UTCTIME_BUFSZ], b[UTCTIME_BUFSZ];

	res->status = REVFETCH_ERROR;
	res->serial = *serial;
	res->revoked_at = res->produced_at = 0;
	res->this_update = res->next_update = 0;
	res->reason = -1;
	res->error[0] = '\0';
	res->transient = false;
	if (len == 0 || len > LONG_MAX ||
	    (resp = d2i_OCSP_RESPONSE(NULL, &p, (long)len)) == NULL ||
	    p != der + len) {
		res_fail(res, "malformed response");
		goto out;
	}
	st = OCSP_response_status(resp);
	if (st != OCSP_RESPONSE_STATUS_SUCCESSFUL) {
		res_fail(res, "responder status %s",
			 OCSP_response_status_str(st));
		/* RFC 6960 2.3: the responder may answer later. */
		res->transient = st == OCSP_RESPONSE_STATUS_TRYLATER ||
				 st == OCSP_RESPONSE_STATUS_INTERNALERROR;
		goto out;
	}
	if ((bs = OCSP_response_get1_basic(resp)) == NULL) {
		res_fail(res, "malformed response: not a basic response");
		goto out;
	}
	/*
	 * The issuer is the only trust anchor (it may be an intermediate,
	 * hence PARTIAL_CHAIN).  OCSP_basic_verify then accepts the issuer
	 * itself or a certificate it issued with id-kp-OCSPSigning
	 * (RFC 6960 4.2.2.2); chain validity is judged at now.
	 */
	store = X509_STORE_new();
	certs = sk_X509_new_null();
	if (store == NULL || certs == NULL ||
	    X509_STORE_add_cert(store, issuer) != 1 ||
	    X509_STORE_set_flags(store, X509_V_FLAG_PARTIAL_CHAIN) != 1 ||
	    !sk_X509_push(certs, issuer)) {
		res_fail(res, "out of memory");
		goto out;
	}
	X509_VERIFY_PARAM_set_time(X509_STORE_get0_param(store), now);
	if (OCSP_basic_verify(bs, certs, store, 0) <= 0) {
		res_fail(res, "signature does not verify: %s",
			 ssl_reason(why, sizeof(why)));
		goto out;
	}
	if ((id = certid_new(issuer, serial)) == NULL) {
		res_fail(res, "cannot build CertID");
		goto out;
	}
	if (!OCSP_resp_find_status(bs, id, &status, &reason, &rev, &thisupd,
				   &nextupd)) {
		res_fail(res, "no response for serial");
		goto out;
	}
	if (asn1_time_t(OCSP_resp_get0_produced_at(bs), &res->produced_at) <
		    0 ||
	    asn1_time_t(thisupd, &res->this_update) < 0 ||
	    (nextupd != NULL && asn1_time_t(nextupd, &res->next_update) < 0) ||
	    (rev != NULL && asn1_time_t(rev, &res->revoked_at) < 0)) {
		res_fail(res, "malformed response: bad time");
		goto out;
	}
	/* RFC 6960 4.2.2.1 / 3.2 item 5, with skew_s of allowance. */
	fmt_time(now, b, sizeof(b));
	if (res->this_update > now + skew_s) {
		fmt_time(res->this_update, a, sizeof(a));
		res_fail(res, "not yet valid: thisUpdate %s after now %s", a,
			 b);
		goto out;
	}
	if (nextupd != NULL && res->next_update < now - skew_s) {
		fmt_time(res->next_update, a, sizeof(a));
		res_fail(res, "stale: nextUpdate %s before now %s", a, b);
		goto out;
	}
	/* RFC 6960 4.2.2.1 leaves an answer without nextUpdate fresh
	 * "immediately"; one that old is no evidence of the present. */
	if (nextupd == NULL && max_age_s > 0 &&
	    res->this_update + max_age_s < now - skew_s) {
		char age[32];

		fmt_time(res->this_update, a, sizeof(a));
		fmt_age(max_age_s, age, sizeof(age));
		res_fail(res,
			 "stale: no nextUpdate and thisUpdate %s more than %s "
			 "(revcheck.max_age) before now %s",
			 a, age, b);
		goto out;
	}
	switch (status) {
	case V_OCSP_CERTSTATUS_GOOD:
		res->status = REVFETCH_GOOD;
		break;
	case V_OCSP_CERTSTATUS_REVOKED:
		if (rev == NULL) {
			res_fail(res, "malformed response: no revocationTime");
			goto out;
		}
		res->status = REVFETCH_REVOKED;
		res->reason = reason >= 0 ? reason : -1;
		break;
	default:
		res->status = REVFETCH_UNKNOWN;
		break;
	}
	rc = 0;
out:
	if (rc < 0)
		res->status = REVFETCH_ERROR;
	ERR_clear_error();
	OCSP_CERTID_free(id);
	sk_X509_free(certs);
	X509_STORE_free(store);
	OCSP_BASICRESP_free(bs);
	OCSP_RESPONSE_free(resp);
	return rc;
}

/* ---------------------------------------------------------------------- */
/* the engine */

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
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
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
	int len = revfetch_build_request(issuer, serial, &der);

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

int revfetch_add_fetch(struct revfetch *rc, const char *url, size_t max_bytes,
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
	return 0;
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

static void describe(struct revfetch *rc, struct job *j, CURLcode cc, long http,
		     char *buf, size_t len)
{
	(void)rc;
	if (j->too_big || cc == CURLE_FILESIZE_EXCEEDED)
		snprintf(buf, len, "response larger than %zu bytes",
			 j->max_bytes);
	else if (cc == CURLE_OPERATION_TIMEDOUT)
		snprintf(buf, len, "timeout: %.200s", j->curl_err);
	else if (cc != CURLE_OK)
		snprintf(buf, len, "transport: %.200s",
			 j->curl_err[0] ? j->curl_err : curl_easy_strerror(cc));
	else
		snprintf(buf, len, "http %ld", http);
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
		res.serial = j->serial;
		res.reason = -1;
		res.url = j->url;
		res.http_status = http;
		res.attempts = j->attempts;
		res.checked_at = clock_now();
		if (cc != CURLE_OK || http != 200) {
			res.status = REVFETCH_ERROR;
			res.transient = is_transient(j, cc, http);
			describe(rc, j, cc, http, res.error, sizeof(res.error));
		} else {
			revfetch_parse_response(j->body, j->body_len, j->issuer,
						&j->serial, res.checked_at,
						rc->o.skew_s, rc->o.max_age_s,
						&res);
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
			snprintf(j->curl_err, sizeof(j->curl_err),
				 "cannot start transfer");
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
