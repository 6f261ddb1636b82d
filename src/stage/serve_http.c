/*
 * serve_http.c - what every page of `certrecall serve` shares: the worker
 * thread's database connection, the page assets and their CSP, output
 * buffers with HTML escaping, responses and problems, the self-check
 * rate limit, and the server's own URL.
 */
#include <jansson.h>
#include <microhttpd.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "certrecall/base/clock.h"
#include "certrecall/base/log.h"
#include "certrecall/base/utctime.h"
#include "certrecall/base/xalloc.h"
#include "certrecall/core/classify.h"
#include "certrecall/core/config.h"
#include "certrecall/core/deadline.h"
#include "certrecall/stage/serve_http.h"
#include "certrecall/store/db.h"
#include "certrecall/store/serve_store.h"

static __thread struct db *thread_db;

/* The worker's own connection, made on first use. */
struct db *serve_http_db(struct serve *s)
{
	if (thread_db != NULL && db_ok(thread_db))
		return thread_db;
	if (thread_db != NULL)
		return serve_store_reconnect(thread_db) ? thread_db : NULL;
	thread_db = db_connect_config(s->cfg);
	if (thread_db == NULL)
		return NULL;
	pthread_mutex_lock(&s->lock);
	xgrow(&s->dbs, &s->dbcap, s->ndbs + 1, sizeof(*s->dbs));
	s->dbs[s->ndbs++] = thread_db;
	pthread_mutex_unlock(&s->lock);
	return thread_db;
}

/* ---- the inline page assets: one script and one style, by hash ---- */

static const char page_style[] =
	"body{font:16px/1.45 sans-serif;max-width:46em;margin:2em auto;"
	"padding:0 1em;color:#111}h1{font-size:1.4em}"
	"form{margin:.8em 0;padding:.6em;border:1px solid #ccc}"
	"label{display:block;font-weight:bold}"
	"input[type=text]{width:24em}textarea{width:100%;height:8em;"
	"font:12px monospace}"
	".affected{background:#fde2e1;border-left:6px solid #c00;padding:.6em}"
	".ok{background:#e3f5e1;border-left:6px solid #080;padding:.6em}"
	".unknown{background:#fff4d6;border-left:6px solid #c80;padding:.6em}"
	"table{border-collapse:collapse}td,th{border:1px solid #ccc;"
	"padding:.2em .5em;text-align:left}"
	".local{color:#555}";

/* Progressive enhancement: every <time> gets its value in the browser's
 * local time beside it; status pages also count down and poll. */
static const char page_script[] =
	"(function(){function fmt(s){if(s<0)return 'overdue by '+fmt(-s);"
	"var d=Math.floor(s/86400),h=Math.floor(s%86400/3600),"
	"m=Math.floor(s%3600/60);return (d?d+'d ':'')+h+'h '+m+'m';}"
	"function local(){var t=document.querySelectorAll('time[datetime]');"
	"for(var i=0;i<t.length;i++){var e=t[i];if(e.dataset.done)continue;"
	"e.dataset.done=1;var d=new Date(e.getAttribute('datetime'));"
	"var s=document.createElement('span');s.className='local';"
	"s.textContent=' ('+d.toLocaleString()+' your time)';"
	"e.parentNode.insertBefore(s,e.nextSibling);}}"
	"function tick(){var c=document.querySelectorAll('[data-due]');"
	"for(var i=0;i<c.length;i++){var due=Date.parse("
	"c[i].getAttribute('data-due'));c[i].textContent="
	"fmt(Math.floor((due-Date.now())/1000));}}"
	"local();tick();setInterval(tick,1000);"
	"var p=document.getElementById('poll');if(p){var tok="
	"(location.hash.match(/token=([^&]+)/)||[])[1];setInterval(function(){"
	"var h={'Accept':'application/json'};if(tok)h.Authorization="
	"'Bearer '+decodeURIComponent(tok);fetch(p.getAttribute('data-url'),"
	"{headers:h}).then(function(r){return r.json()}).then(function(j){"
	"var o=document.getElementById('progress');if(o&&j.certificates)"
	"o.textContent=j.certificates.revoked+' of '+j.certificates.total+"
	"' revoked, '+j.certificates.unrevoked+' to go';"
	"document.getElementById('polled').textContent="
	"new Date().toLocaleTimeString();}).catch(function(){});},15000);"
	"var a=document.querySelectorAll('a[data-report]');"
	"for(var i=0;i<a.length;i++)a[i].addEventListener('click',"
	"function(ev){if(!tok)return;ev.preventDefault();var l=ev.target;"
	"fetch(l.getAttribute('href'),{headers:{Authorization:'Bearer '+"
	"decodeURIComponent(tok)}}).then(function(r){return r.blob()})"
	".then(function(b){var d=document.createElement('a');"
	"d.href=URL.createObjectURL(b);d.download=l.getAttribute("
	"'data-report');document.body.appendChild(d);d.click();d.remove();"
	"}).catch(function(){});});}"
	"})();";

static void b64_sha256(const char *text, char *out, size_t len)
{
	unsigned char h[32];

	SHA256((const unsigned char *)text, strlen(text), h);
	EVP_EncodeBlock((unsigned char *)out, h, 32);
	(void)len;
}

void serve_http_csp(char *buf, size_t len)
{
	char style_h[64], script_h[64];

	b64_sha256(page_style, style_h, sizeof(style_h));
	b64_sha256(page_script, script_h, sizeof(script_h));
	if (snprintf(buf, len,
		     "default-src 'none'; style-src 'sha256-%s'; script-src "
		     "'sha256-%s'; connect-src 'self'; form-action 'self'; "
		     "base-uri 'none'; frame-ancestors 'none'",
		     style_h, script_h) >= (int)len)
		buf[0] = '\0'; /* cannot be: the caller's 512 bytes hold it */
}

/* ---- output buffers with HTML escaping ---- */

void serve_http_add(struct serve_http_out *o, const char *s, size_t n)
{
	xgrow(&o->p, &o->cap, o->len + n + 1, 1);
	memcpy(o->p + o->len, s, n);
	o->len += n;
	o->p[o->len] = '\0';
}

void serve_http_fmt(struct serve_http_out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	xgrow(&o->p, &o->cap, o->len + (size_t)n + 1, 1);
	va_start(ap, fmt);
	vsnprintf(o->p + o->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	o->len += (size_t)n;
}

void serve_http_html(struct serve_http_out *o, const char *s)
{
	for (; s != NULL && *s; s++) {
		switch (*s) {
		case '<':
			serve_http_add(o, "&lt;", 4);
			break;
		case '>':
			serve_http_add(o, "&gt;", 4);
			break;
		case '&':
			serve_http_add(o, "&amp;", 5);
			break;
		case '"':
			serve_http_add(o, "&quot;", 6);
			break;
		case '\'':
			serve_http_add(o, "&#39;", 5);
			break;
		default:
			serve_http_add(o, s, 1);
		}
	}
}

void serve_http_page_head(struct serve_http_out *o, const char *title)
{
	serve_http_add(
		o,
		"<!DOCTYPE html>\n<html lang=\"en\"><head>"
		"<meta charset=\"utf-8\">"
		"<meta name=\"viewport\" content=\"width=device-width\">"
		"<title>",
		strlen("<!DOCTYPE html>\n<html lang=\"en\"><head>"
		       "<meta charset=\"utf-8\">"
		       "<meta name=\"viewport\" content=\"width=device-width\">"
		       "<title>"));
	serve_http_html(o, title);
	serve_http_fmt(o, "</title><style>%s</style></head><body>\n",
		       page_style);
}

void serve_http_page_tail(struct serve_http_out *o)
{
	serve_http_fmt(o, "<script>%s</script></body></html>\n", page_script);
}

/* ---- responses ---- */

enum MHD_Result serve_http_reply(struct serve *s, struct MHD_Connection *c,
				 struct req *r, unsigned status,
				 const char *type, char *body, size_t len,
				 long long retry_after)
{
	return serve_http_reply_csp(s, c, r, status, type, s->csp, body, len,
				    retry_after);
}

enum MHD_Result serve_http_reply_csp(struct serve *s, struct MHD_Connection *c,
				     struct req *r, unsigned status,
				     const char *type, const char *csp,
				     char *body, size_t len,
				     long long retry_after)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;
	char ra[32];

	resp = MHD_create_response_from_buffer(len, body,
					       MHD_RESPMEM_MUST_FREE);
	if (resp == NULL) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(resp, "Content-Type", type);
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "Content-Security-Policy", csp);
	MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(resp, "X-Frame-Options", "DENY");
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	if (s->tls_cert != NULL)
		MHD_add_response_header(resp, "Strict-Transport-Security",
					"max-age=31536000");
	if (retry_after > 0) {
		snprintf(ra, sizeof(ra), "%lld", retry_after);
		MHD_add_response_header(resp, "Retry-After", ra);
	}
	r->status = status;
	r->bytes = len;
	ret = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

bool serve_http_wants_json(struct MHD_Connection *c)
{
	const char *a =
		MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Accept");

	return a != NULL && strstr(a, "application/json") != NULL &&
	       strstr(a, "text/html") == NULL;
}

/* A problem answer without internals: RFC 9457 JSON or a small page. */
enum MHD_Result serve_http_problem(struct serve *s, struct MHD_Connection *c,
				   struct req *r, unsigned status,
				   const char *title, const char *detail,
				   long long retry_after, bool json)
{
	struct serve_http_out o = { 0 };

	if (json) {
		json_t *j = json_pack("{s:s,s:s,s:i}", "type", "about:blank",
				      "title", title, "status", (int)status);
		char *t;

		if (detail != NULL)
			json_object_set_new(j, "detail", json_string(detail));
		t = json_dumps(j, JSON_COMPACT);
		json_decref(j);
		serve_http_add(&o, t, strlen(t));
		serve_http_add(&o, "\n", 1);
		free(t);
		return serve_http_reply(s, c, r, status,
					"application/problem+json", o.p, o.len,
					retry_after);
	}
	serve_http_page_head(&o, title);
	serve_http_fmt(&o, "<h1>%u ", status);
	serve_http_html(&o, title);
	serve_http_add(&o, "</h1>", 5);
	if (detail != NULL) {
		serve_http_add(&o, "<p>", 3);
		serve_http_html(&o, detail);
		serve_http_add(&o, "</p>", 4);
	}
	serve_http_page_tail(&o);
	return serve_http_reply(s, c, r, status, "text/html; charset=utf-8",
				o.p, o.len, retry_after);
}

enum MHD_Result serve_http_json(struct serve *s, struct MHD_Connection *c,
				struct req *r, unsigned status, json_t *j,
				long long retry_after)
{
	char *t = json_dumps(j, JSON_COMPACT);
	struct serve_http_out o = { 0 };

	json_decref(j);
	serve_http_add(&o, t, strlen(t));
	serve_http_add(&o, "\n", 1);
	free(t);
	return serve_http_reply(s, c, r, status, "application/json", o.p, o.len,
				retry_after);
}

/* ---- rate limit ---- */

void serve_http_client_addr(struct MHD_Connection *c, char *buf, size_t len)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	struct classify_addr a;

	snprintf(buf, len, "?");
	if (ci != NULL && ci->client_addr != NULL &&
	    classify_addr_from_sockaddr(ci->client_addr, &a) == 0)
		classify_addr_format(&a, buf, len);
}

/* Token bucket per client address; 0 = go, else seconds to wait. */
long long serve_http_rate_take(struct serve *s, const char *addr)
{
	uint64_t h = 1469598103934665603ULL;
	struct bucket *b;
	double now = clock_mono(), rate = (double)s->cfg->serve.check_rate,
	       burst = (double)s->cfg->serve.check_burst;
	long long wait = 0;

	for (const char *p = addr; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	pthread_mutex_lock(&s->lock);
	b = &s->buckets[h % RATE_SLOTS];
	if (strcmp(b->addr, addr) != 0) {
		/* A new address (or a collision, which forgets the other:
		 * a fresh bucket, never a stricter one). */
		snprintf(b->addr, sizeof(b->addr), "%s", addr);
		b->tokens = burst;
		b->at = now;
	}
	b->tokens += (now - b->at) * rate;
	if (b->tokens > burst)
		b->tokens = burst;
	b->at = now;
	if (b->tokens >= 1.0) {
		b->tokens -= 1.0;
	} else {
		wait = (long long)((1.0 - b->tokens) / rate) + 1;
	}
	pthread_mutex_unlock(&s->lock);
	return wait;
}

void serve_http_base_url(struct serve *s, struct MHD_Connection *c, char *buf,
			 size_t len)
{
	const char *host;
	size_t n;

	if (s->cfg->serve.public_url[0] != '\0') {
		snprintf(buf, len, "%s", s->cfg->serve.public_url);
	} else {
		host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Host");
		if (host == NULL || strpbrk(host, "\"<> \\/@") != NULL)
			host = "localhost";
		snprintf(buf, len, "%s://%s", s->tls_cert ? "https" : "http",
			 host);
	}
	n = strlen(buf);
	if (n > 0 && buf[n - 1] == '/')
		buf[n - 1] = '\0';
}

json_t *serve_http_time_or_null(time_t t)
{
	char buf[UTCTIME_BUFSZ];

	if (t == DEADLINE_UNSET)
		return json_null();
	if (utctime_format_rfc3339(t, buf, sizeof(buf)) < 0)
		log_error("cannot format time %lld", (long long)(t));
	return json_string(buf);
}
