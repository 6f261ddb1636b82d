/*
 * serve.c - the HTTP layer of `certrecall serve` on libmicrohttpd.
 *
 * Routes:
 *   GET  /healthz                      200 when the database answers
 *   GET  {ari_path}{certID}            RFC 9773 renewal information
 *   GET  /check[?host=|?serial=]       subscriber self-check (HTML/JSON)
 *   POST /check                        the same for a posted PEM
 *   GET  /status/SLUG                  staff status page (bearer token)
 *   GET  /api/incidents/SLUG/status    its JSON (bearer token)
 * Every other path is a 404 problem page; no file is ever served.
 */
#include <errno.h>
#include <jansson.h>
#include <microhttpd.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sysexits.h>
#include <time.h>

#include "certrecall/core/ari.h"
#include "certrecall/core/certinfo.h"
#include "certrecall/core/classify.h"
#include "certrecall/base/clock.h"
#include "certrecall/core/config.h"
#include "certrecall/store/db.h"
#include "certrecall/core/deadline.h"
#include "certrecall/core/dnsname.h"
#include "certrecall/store/incident.h"
#include "certrecall/base/log.h"
#include "certrecall/net/probe.h"
#include "certrecall/core/serial.h"
#include "certrecall/stage/serve.h"
#include "certrecall/base/utctime.h"
#include "certrecall/core/webform.h"
#include "certrecall/base/xalloc.h"

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
	FILE *log;
	bool log_owned;
	pthread_mutex_t lock; /* buckets and the connection list */
	struct bucket *buckets;
	struct db **dbs; /* every worker's connection, closed at stop */
	size_t ndbs, dbcap;
	char csp[512];
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
};

static __thread struct db *thread_db;
/* The ARI statement is prepared once per connection (planning it for
 * every request costs more than running it). */
static __thread bool ari_prepared;

static const char ari_sql[] =
	"SELECT i.reason, extract(epoch FROM i.aware_at)::bigint,"
	" extract(epoch FROM i.cpr_received_at)::bigint,"
	" c.revocation_state, extract(epoch FROM c.issued_at)::bigint,"
	" extract(epoch FROM c.not_after)::bigint "
	"FROM certificate c JOIN incident i ON i.id = c.incident_id "
	"WHERE c.aki = $1::bytea AND c.serial = $2::bytea";

static double mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The worker's own connection, made on first use. */
static struct db *worker_db(struct serve *s)
{
	if (thread_db != NULL &&
	    PQstatus(db_get0_conn(thread_db)) == CONNECTION_OK)
		return thread_db;
	if (thread_db != NULL) {
		PQreset(db_get0_conn(thread_db));
		ari_prepared = false;
	}
	if (thread_db != NULL &&
	    PQstatus(db_get0_conn(thread_db)) == CONNECTION_OK)
		return thread_db;
	if (thread_db != NULL)
		return NULL;
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
	"new Date().toLocaleTimeString();}).catch(function(){});},15000);}"
	"})();";

static void b64_sha256(const char *text, char *out, size_t len)
{
	unsigned char h[32];

	SHA256((const unsigned char *)text, strlen(text), h);
	EVP_EncodeBlock((unsigned char *)out, h, 32);
	(void)len;
}

/* ---- output buffers with HTML escaping ---- */

struct out {
	char *p;
	size_t len, cap;
};

static void out_add(struct out *o, const char *s, size_t n)
{
	xgrow(&o->p, &o->cap, o->len + n + 1, 1);
	memcpy(o->p + o->len, s, n);
	o->len += n;
	o->p[o->len] = '\0';
}

static void out_fmt(struct out *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void out_fmt(struct out *o, const char *fmt, ...)
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

static void out_html(struct out *o, const char *s)
{
	for (; s != NULL && *s; s++) {
		switch (*s) {
		case '<':
			out_add(o, "&lt;", 4);
			break;
		case '>':
			out_add(o, "&gt;", 4);
			break;
		case '&':
			out_add(o, "&amp;", 5);
			break;
		case '"':
			out_add(o, "&quot;", 6);
			break;
		case '\'':
			out_add(o, "&#39;", 5);
			break;
		default:
			out_add(o, s, 1);
		}
	}
}

static void page_head(struct out *o, const char *title)
{
	out_add(o,
		"<!DOCTYPE html>\n<html lang=\"en\"><head>"
		"<meta charset=\"utf-8\">"
		"<meta name=\"viewport\" content=\"width=device-width\">"
		"<title>",
		strlen("<!DOCTYPE html>\n<html lang=\"en\"><head>"
		       "<meta charset=\"utf-8\">"
		       "<meta name=\"viewport\" content=\"width=device-width\">"
		       "<title>"));
	out_html(o, title);
	out_fmt(o, "</title><style>%s</style></head><body>\n", page_style);
}

static void page_tail(struct out *o)
{
	out_fmt(o, "<script>%s</script></body></html>\n", page_script);
}

/* ---- responses ---- */

static enum MHD_Result reply(struct serve *s, struct MHD_Connection *c,
			     struct req *r, unsigned status, const char *type,
			     char *body, size_t len, long long retry_after)
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
	MHD_add_response_header(resp, "Content-Security-Policy", s->csp);
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

static bool wants_json(struct MHD_Connection *c)
{
	const char *a =
		MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Accept");

	return a != NULL && strstr(a, "application/json") != NULL &&
	       strstr(a, "text/html") == NULL;
}

/* A problem answer without internals: RFC 9457 JSON or a small page. */
static enum MHD_Result problem(struct serve *s, struct MHD_Connection *c,
			       struct req *r, unsigned status,
			       const char *title, const char *detail,
			       long long retry_after, bool json)
{
	struct out o = { 0 };

	if (json) {
		json_t *j = json_pack("{s:s,s:s,s:i}", "type", "about:blank",
				      "title", title, "status", (int)status);
		char *t;

		if (detail != NULL)
			json_object_set_new(j, "detail", json_string(detail));
		t = json_dumps(j, JSON_COMPACT);
		json_decref(j);
		out_add(&o, t, strlen(t));
		out_add(&o, "\n", 1);
		free(t);
		return reply(s, c, r, status, "application/problem+json", o.p,
			     o.len, retry_after);
	}
	page_head(&o, title);
	out_fmt(&o, "<h1>%u ", status);
	out_html(&o, title);
	out_add(&o, "</h1>", 5);
	if (detail != NULL) {
		out_add(&o, "<p>", 3);
		out_html(&o, detail);
		out_add(&o, "</p>", 4);
	}
	page_tail(&o);
	return reply(s, c, r, status, "text/html; charset=utf-8", o.p, o.len,
		     retry_after);
}

static enum MHD_Result reply_json(struct serve *s, struct MHD_Connection *c,
				  struct req *r, unsigned status, json_t *j,
				  long long retry_after)
{
	char *t = json_dumps(j, JSON_COMPACT);
	struct out o = { 0 };

	json_decref(j);
	out_add(&o, t, strlen(t));
	out_add(&o, "\n", 1);
	free(t);
	return reply(s, c, r, status, "application/json", o.p, o.len,
		     retry_after);
}

/* ---- clocks and windows (shared with export-ari) ---- */

int serve_incident_clock(const char *reason, time_t aware_at,
			 time_t cpr_received_at, struct serve_clock *out)
{
	struct deadline_incident di = { 0 };
	struct deadline_rule rule;
	char err[256];

	if (deadline_resolve(reason, aware_at, &rule, err, sizeof(err)) < 0) {
		log_error("incident reason %s: %s", reason, err);
		return -1;
	}
	di.aware_at = aware_at;
	di.cpr_received_at = cpr_received_at;
	di.disclosed_at = DEADLINE_UNSET;
	di.cpr_answered_at = DEADLINE_UNSET;
	di.first_report_at = DEADLINE_UNSET;
	di.full_report_at = DEADLINE_UNSET;
	di.last_update_at = DEADLINE_UNSET;
	out->start = deadline_revoke_start(&di, &rule, NULL);
	out->must_by = deadline_must_by(&rule, out->start);
	return 0;
}

int serve_ari_row_window(const struct serve_clock *clk, const char *state,
			 time_t not_after, long long margin, long long retry,
			 time_t now, struct ari_window *out)
{
	if (not_after != DEADLINE_UNSET && not_after < now)
		return -1;
	if (strcmp(state, "revoked") == 0) {
		ari_window_revoked(retry, now, out);
		return ARI_REVOKED;
	}
	ari_window_affected(clk->start, clk->must_by, margin, retry, now, out);
	return ARI_AFFECTED;
}

/* ---- rate limit ---- */

static void client_addr(struct MHD_Connection *c, char *buf, size_t len)
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
static long long rate_take(struct serve *s, const char *addr)
{
	uint64_t h = 1469598103934665603ULL;
	struct bucket *b;
	double now = mono_now(), rate = (double)s->cfg->serve.check_rate,
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

/* ---- ARI ---- */

static void base_url(struct serve *s, struct MHD_Connection *c, char *buf,
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

static void hex_of(const unsigned char *b, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
	out[2 * n] = '\0';
}

static json_t *window_json(const struct ari_window *w)
{
	char a[UTCTIME_BUFSZ], b[UTCTIME_BUFSZ];

	if (utctime_format_rfc3339(w->start, a, sizeof(a)) < 0)
		log_error("cannot format time %lld", (long long)(w->start));
	if (utctime_format_rfc3339(w->end, b, sizeof(b)) < 0)
		log_error("cannot format time %lld", (long long)(w->end));
	return json_pack("{s:s,s:s}", "start", a, "end", b);
}

static enum MHD_Result handle_ari(struct serve *s, struct MHD_Connection *c,
				  struct req *r, const char *certid)
{
	struct ari_certid id;
	struct ari_window best, w;
	char err[160], ser[SERIAL_TEXT_MAX], base[512], url[1024];
	const char *params[2];
	int lens[2], formats[2] = { 1, 1 };
	long long margin = s->cfg->serve.ari_margin_ms / 1000,
		  retry = s->cfg->serve.ari_retry_ms / 1000;
	time_t now = clock_now(), nb = DEADLINE_UNSET, na = DEADLINE_UNSET;
	int kind = -1, k;
	struct db *db;
	PGresult *res;
	json_t *j;

	if (ari_certid_parse(certid, strlen(certid), &id, err, sizeof(err)) < 0)
		return problem(s, c, r, MHD_HTTP_BAD_REQUEST, "Bad certID", err,
			       0, true);
	db = worker_db(s);
	if (db == NULL)
		return problem(s, c, r, MHD_HTTP_SERVICE_UNAVAILABLE,
			       "Unavailable", "try again later", 60, true);
	serial_format_hex(&id.serial, ser, sizeof(ser));
	if (!ari_prepared) {
		res = PQprepare(db_get0_conn(db), "ari", ari_sql, 2, NULL);
		ari_prepared = PQresultStatus(res) == PGRES_COMMAND_OK;
		if (!ari_prepared)
			log_error("serve: preparing the ARI query: %s",
				  PQresultErrorMessage(res));
		PQclear(res);
	}
	params[0] = (const char *)id.aki;
	lens[0] = (int)id.aki_len;
	lens[1] = (int)id.serial.len;
	params[1] = (const char *)id.serial.b;
	res = ari_prepared ? PQexecPrepared(db_get0_conn(db), "ari", 2, params,
					    lens, formats, 0)
			   : NULL;
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		if (res != NULL)
			log_error("serve: ARI query: %s",
				  PQresultErrorMessage(res));
		PQclear(res);
		return problem(s, c, r, MHD_HTTP_SERVICE_UNAVAILABLE,
			       "Unavailable", "try again later", 60, true);
	}
	for (int i = 0; i < PQntuples(res); i++) {
		struct serve_clock clk;
		time_t row_na = db_get_time(res, i, 5);

		if (serve_incident_clock(PQgetvalue(res, i, 0),
					 db_get_time(res, i, 1),
					 db_get_time(res, i, 2), &clk) < 0)
			continue;
		k = serve_ari_row_window(&clk, PQgetvalue(res, i, 3), row_na,
					 margin, retry, now, &w);
		if (k < 0) {
			nb = db_get_time(res, i, 4);
			na = row_na;
			continue;
		}
		/* The earliest end wins: one incident's deadline is enough
		 * reason to renew. */
		if (kind < 0 || w.end < best.end) {
			best = w;
			kind = k;
		}
		nb = db_get_time(res, i, 4);
		na = row_na;
	}
	PQclear(res);
	if (kind < 0 && strcmp(s->cfg->serve.ari_default, "lifetime") == 0 &&
	    ari_window_lifetime(nb, na, retry, &best) == 0)
		kind = ARI_LIFETIME;
	if (kind < 0)
		return problem(s, c, r, MHD_HTTP_NOT_FOUND, "Not Found",
			       "no renewal information for this certificate", 0,
			       true);
	j = json_pack("{s:o}", "suggestedWindow", window_json(&best));
	if (kind != ARI_LIFETIME) {
		base_url(s, c, base, sizeof(base));
		if (snprintf(url, sizeof(url), "%s/check?serial=%s", base,
			     ser) < (int)sizeof(url))
			json_object_set_new(j, "explanationURL",
					    json_string(url));
	}
	return reply_json(s, c, r, MHD_HTTP_OK, j, best.retry_after);
}

/* ---- self-check ---- */

struct check_hit {
	char slug[80];
	char title[256];
	char reason[64];
	char rule_text[512];
	char state[16];
	time_t revoked_at;
	time_t not_after;
	bool replaced;
	time_t must_by;
};

struct check_answer {
	const char *asked; /* what was asked, as typed */
	char serial[SERIAL_TEXT_MAX];
	char error[320];
	char probe[256]; /* host probe outcome in words */
	bool checked;	 /* a certificate to look up was found */
	struct check_hit *hits;
	size_t nhits;
};

/*
 * Every incident row with this serial (and, given a certificate, the
 * same one by certificate_served_match of 009).  One probe of the
 * (incident_id, serial, issuer) index per incident.  Never selects
 * accounts or addresses.
 */
static int check_lookup(struct db *db, const struct serial *serial,
			const struct certinfo *ci, struct check_answer *a)
{
	static const char sql[] =
		"SELECT i.slug, i.title, i.reason,"
		" extract(epoch FROM i.aware_at)::bigint,"
		" extract(epoch FROM i.cpr_received_at)::bigint,"
		" c.revocation_state, extract(epoch FROM c.revoked_at)::bigint,"
		" c.replaced_by IS NOT NULL,"
		" extract(epoch FROM c.not_after)::bigint "
		"FROM incident i CROSS JOIN LATERAL (SELECT * FROM certificate "
		"c"
		" WHERE c.incident_id = i.id AND c.serial = decode($1, 'hex')"
		" AND ($2::text IS NULL OR certificate_served_match(c,"
		" decode($1, 'hex'), $2, nullif(decode($3, 'hex'), ''::bytea),"
		" decode($4, 'hex')) IS NOT NULL)) c ORDER BY i.slug";
	char aki[2 * 64 + 1] = "", sha[65] = "";
	const char *params[4] = { a->serial, NULL, NULL, NULL };
	PGresult *res;
	int n;

	serial_format_hex(serial, a->serial, sizeof(a->serial));
	if (ci != NULL) {
		hex_of(ci->aki, ci->aki_len, aki);
		hex_of(ci->sha256, 32, sha);
		params[1] = ci->issuer ? ci->issuer : "";
		params[2] = aki;
		params[3] = sha;
	}
	res = db_query(db, sql, 4, params);
	if (res == NULL)
		return -1;
	n = PQntuples(res);
	a->hits = n > 0 ? xcalloc((size_t)n, sizeof(*a->hits)) : NULL;
	for (int i = 0; i < n; i++) {
		struct check_hit *h = &a->hits[a->nhits];
		struct deadline_rule rule;
		struct serve_clock clk;
		char err[256];

		snprintf(h->slug, sizeof(h->slug), "%s", PQgetvalue(res, i, 0));
		snprintf(h->title, sizeof(h->title), "%s",
			 PQgetvalue(res, i, 1));
		snprintf(h->reason, sizeof(h->reason), "%s",
			 PQgetvalue(res, i, 2));
		if (serve_incident_clock(h->reason, db_get_time(res, i, 3),
					 db_get_time(res, i, 4), &clk) < 0 ||
		    deadline_resolve(h->reason, db_get_time(res, i, 3), &rule,
				     err, sizeof(err)) < 0)
			continue;
		snprintf(h->rule_text, sizeof(h->rule_text), "%s (%s)",
			 rule.text, rule.citation);
		h->must_by = clk.must_by;
		snprintf(h->state, sizeof(h->state), "%s",
			 PQgetvalue(res, i, 5));
		h->revoked_at = db_get_time(res, i, 6);
		h->replaced = PQgetvalue(res, i, 7)[0] == 't';
		h->not_after = db_get_time(res, i, 8);
		a->nhits++;
	}
	PQclear(res);
	a->checked = true;
	return 0;
}

/* What the subscriber should do about one hit. */
static const char *hit_advice(const struct check_hit *h, time_t now)
{
	if (h->not_after != DEADLINE_UNSET && h->not_after < now)
		return "This certificate has expired; nothing to do if it is "
		       "no longer installed.";
	if (strcmp(h->state, "revoked") == 0)
		return "This certificate is revoked: install a new "
		       "certificate now.";
	if (h->replaced)
		return "A replacement has been issued: make sure it is the "
		       "one installed before the deadline.";
	return "Request a new certificate and install it before the "
	       "deadline; this one will be revoked then.";
}

static const char *hit_verdict(const struct check_hit *h, time_t now)
{
	if (h->not_after != DEADLINE_UNSET && h->not_after < now)
		return "expired";
	if (strcmp(h->state, "revoked") == 0)
		return "revoked";
	return "affected";
}

/* Probes host:port now, under the scanner's deny/allow rules. */
struct peek_ctx {
	X509 *leaf;
	char outcome[200];
};

static void on_probe(const struct probe_result *res, void *arg)
{
	struct peek_ctx *p = arg;

	if (res->outcome == PROBE_OK && res->leaf != NULL && !p->leaf) {
		X509_up_ref(res->leaf);
		p->leaf = res->leaf;
		snprintf(p->outcome, sizeof(p->outcome), "answered (%s)",
			 res->tls_version);
	} else if (p->leaf == NULL) {
		snprintf(p->outcome, sizeof(p->outcome), "%s",
			 res->outcome == PROBE_FILTERED
				 ? "not probed: the address is not a public "
				   "one"
				 : probe_outcome_name(res->outcome));
	}
}

static X509 *peek_host(struct serve *s, const char *host, uint16_t port,
		       char *why, size_t whylen)
{
	struct probe_options so;
	struct peek_ctx p = { NULL, "no answer" };
	struct probe *sc;

	probe_options_from_config(&so, s->cfg);
	so.rate = 0;
	sc = probe_new(&so, on_probe, &p);
	if (sc == NULL) {
		snprintf(why, whylen, "the probe could not start");
		return NULL;
	}
	if (probe_add(sc, host, port, STARTTLS_NONE, NULL) < 0 ||
	    probe_run(sc) < 0)
		snprintf(p.outcome, sizeof(p.outcome), "the probe failed");
	probe_free(sc);
	snprintf(why, whylen, "%s", p.outcome);
	return p.leaf;
}

static X509 *pem_parse(const char *text, size_t len)
{
	BIO *b;
	X509 *x;

	if (len > INT32_MAX)
		return NULL;
	b = BIO_new_mem_buf(text, (int)len);
	if (b == NULL)
		return NULL;
	x = PEM_read_bio_X509(b, NULL, NULL, NULL);
	BIO_free(b);
	return x;
}

static json_t *time_or_null(time_t t)
{
	char buf[UTCTIME_BUFSZ];

	if (t == DEADLINE_UNSET)
		return json_null();
	if (utctime_format_rfc3339(t, buf, sizeof(buf)) < 0)
		log_error("cannot format time %lld", (long long)(t));
	return json_string(buf);
}

static json_t *check_json(const struct check_answer *a, time_t now)
{
	json_t *j = json_object(), *arr = json_array();

	json_object_set_new(j, "asked", json_string(a->asked ? a->asked : ""));
	if (a->probe[0])
		json_object_set_new(j, "probe", json_string(a->probe));
	json_object_set_new(j, "serial",
			    a->checked ? json_string(a->serial) : json_null());
	json_object_set_new(j, "verdict",
			    json_string(!a->checked ? "unknown"
					: a->nhits  ? "affected"
						    : "not affected"));
	for (size_t i = 0; i < a->nhits; i++) {
		const struct check_hit *h = &a->hits[i];

		json_array_append_new(
			arr,
			json_pack("{s:s,s:s,s:s,s:s,s:o,s:o,s:b,s:s}",
				  "incident", h->slug, "title", h->title, "why",
				  h->rule_text, "status", hit_verdict(h, now),
				  "deadline", time_or_null(h->must_by),
				  "revoked_at", time_or_null(h->revoked_at),
				  "replaced", h->replaced, "what_to_do",
				  hit_advice(h, now)));
	}
	json_object_set_new(j, "incidents", arr);
	return j;
}

static void check_form(struct out *o, const char *host, const char *serial)
{
	out_add(o, "<h1>Is my certificate affected?</h1>\n",
		strlen("<h1>Is my certificate affected?</h1>\n"));
	out_add(o,
		"<form method=\"get\" action=\"/check\">"
		"<label for=\"host\">Host name</label>"
		"<input type=\"text\" id=\"host\" name=\"host\" "
		"placeholder=\"www.example.com or www.example.com:8443\" "
		"value=\"",
		strlen("<form method=\"get\" action=\"/check\">"
		       "<label for=\"host\">Host name</label>"
		       "<input type=\"text\" id=\"host\" name=\"host\" "
		       "placeholder=\"www.example.com or "
		       "www.example.com:8443\" value=\""));
	out_html(o, host);
	out_fmt(o,
		"\"> <button type=\"submit\" id=\"check-host\">Check "
		"host</button></form>\n"
		"<form method=\"get\" action=\"/check\">"
		"<label for=\"serial\">Serial number (hex)</label>"
		"<input type=\"text\" id=\"serial\" name=\"serial\" value=\"");
	out_html(o, serial);
	out_fmt(o, "\"> <button type=\"submit\" id=\"check-serial\">Check "
		   "serial</button></form>\n"
		   "<form method=\"post\" action=\"/check\">"
		   "<label for=\"pem\">Certificate (PEM)</label>"
		   "<textarea id=\"pem\" name=\"pem\" placeholder=\"-----BEGIN "
		   "CERTIFICATE-----\"></textarea>"
		   "<button type=\"submit\" id=\"check-pem\">Check "
		   "certificate</button></form>\n");
}

static void check_html(struct out *o, const struct check_answer *a, time_t now)
{
	char t[UTCTIME_BUFSZ];

	if (a->asked == NULL)
		return;
	out_add(o, "<section id=\"result\">", 21);
	if (a->probe[0]) {
		out_add(o, "<p>Probe: <span id=\"probe\">", 28);
		out_html(o, a->probe);
		out_add(o, "</span></p>", 11);
	}
	if (a->error[0]) {
		out_add(o, "<p class=\"unknown\" id=\"verdict\">unknown: ", 41);
		out_html(o, a->error);
		out_add(o, "</p></section>\n", 15);
		return;
	}
	if (a->nhits == 0) {
		out_fmt(o,
			"<p class=\"ok\"><strong id=\"verdict\">not "
			"affected</strong>: certificate %s is in no incident "
			"this CA has published.</p></section>\n",
			a->serial);
		return;
	}
	out_fmt(o,
		"<p class=\"affected\"><strong id=\"verdict\">affected"
		"</strong>: certificate <code>%s</code> is listed in %zu "
		"incident%s.</p>\n",
		a->serial, a->nhits, a->nhits == 1 ? "" : "s");
	for (size_t i = 0; i < a->nhits; i++) {
		const struct check_hit *h = &a->hits[i];

		out_add(o, "<div class=\"hit\"><h2>", 21);
		out_html(o, h->title);
		out_add(o, " (", 2);
		out_html(o, h->slug);
		out_add(o, ")</h2><p>Why: ", 14);
		out_html(o, h->rule_text);
		out_fmt(o, "</p><p>Status: <span class=\"status\">%s</span>",
			hit_verdict(h, now));
		if (h->revoked_at != DEADLINE_UNSET) {
			if (utctime_format_rfc3339(h->revoked_at, t,
						   sizeof(t)) < 0)
				log_error("cannot format time %lld",
					  (long long)(h->revoked_at));
			out_fmt(o,
				", revoked at <time datetime=\"%s\">%s"
				"</time>",
				t, t);
		}
		if (h->replaced)
			out_add(o, "; a replacement was issued", 26);
		if (utctime_format_rfc3339(h->must_by, t, sizeof(t)) < 0)
			log_error("cannot format time %lld",
				  (long long)(h->must_by));
		out_fmt(o,
			"</p><p>Revocation deadline (UTC): <time "
			"class=\"deadline\" datetime=\"%s\">%s</time></p>",
			t, t);
		out_add(o, "<p>What to do: ", 15);
		out_html(o, hit_advice(h, now));
		out_add(o, "</p></div>\n", 11);
	}
	out_add(o, "</section>\n", 11);
}

static enum MHD_Result handle_check(struct serve *s, struct MHD_Connection *c,
				    struct req *r, bool post)
{
	const char *host = NULL, *serial_q = NULL;
	struct check_answer a = { 0 };
	struct certinfo ci;
	bool have_ci = false, json = wants_json(c);
	char addr[64], why[256], hostname[DNSNAME_MAX + 1];
	time_t now = clock_now();
	struct serial ser;
	long long wait;
	X509 *x = NULL;
	struct db *db;
	uint16_t port;
	struct out o = { 0 };

	if (!post) {
		host = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND,
						   "host");
		serial_q = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND,
						       "serial");
		if (host != NULL && *host == '\0')
			host = NULL;
		if (serial_q != NULL && *serial_q == '\0')
			serial_q = NULL;
	}
	if (post || host != NULL || serial_q != NULL) {
		client_addr(c, addr, sizeof(addr));
		wait = rate_take(s, addr);
		if (wait > 0)
			return problem(s, c, r, MHD_HTTP_TOO_MANY_REQUESTS,
				       "Too Many Requests",
				       "too many checks from your address; "
				       "try again later",
				       wait, json);
	}
	if (post) {
		char *pem = r->body;
		size_t plen = r->len;
		char *field = NULL;
		const char *type = MHD_lookup_connection_value(
			c, MHD_HEADER_KIND, "Content-Type");

		a.asked = "posted certificate";
		if (type != NULL &&
		    strncmp(type, "application/x-www-form-urlencoded", 33) ==
			    0) {
			long n;

			field = xmalloc(r->len + 1);
			n = webform_field(r->body ? r->body : "", r->len, "pem",
					  field, r->len + 1);
			pem = field;
			plen = n > 0 ? (size_t)n : 0;
		}
		x = plen > 0 ? pem_parse(pem, plen) : NULL;
		free(field);
		if (x == NULL)
			snprintf(a.error, sizeof(a.error),
				 "no PEM certificate in what was posted");
	} else if (host != NULL) {
		a.asked = host;
		if (webform_target(host, hostname, sizeof(hostname), &port, why,
				   sizeof(why)) < 0) {
			snprintf(a.error, sizeof(a.error), "%s", why);
		} else {
			x = peek_host(s, hostname, port, a.probe,
				      sizeof(a.probe));
			if (x == NULL)
				snprintf(a.error, sizeof(a.error),
					 "no certificate could be read from "
					 "%s:%u",
					 hostname, (unsigned)port);
		}
	} else if (serial_q != NULL) {
		a.asked = serial_q;
		if (serial_parse(&ser, serial_q, strlen(serial_q), 16, why,
				 sizeof(why)) < 0)
			snprintf(a.error, sizeof(a.error), "%s", why);
	}
	if (x != NULL) {
		if (certinfo_from_x509(x, &ci, why, sizeof(why)) < 0)
			snprintf(a.error, sizeof(a.error), "%s", why);
		else
			have_ci = true;
		X509_free(x);
	}
	if (a.asked != NULL && a.error[0] == '\0') {
		db = worker_db(s);
		if (db == NULL || check_lookup(db, have_ci ? &ci.serial : &ser,
					       have_ci ? &ci : NULL, &a) < 0) {
			if (have_ci)
				certinfo_release(&ci);
			free(a.hits);
			return problem(s, c, r, MHD_HTTP_SERVICE_UNAVAILABLE,
				       "Unavailable", "try again later", 60,
				       json);
		}
	}
	if (have_ci)
		certinfo_release(&ci);
	if (json) {
		unsigned st = a.asked == NULL ? MHD_HTTP_OK
			      : a.error[0]    ? MHD_HTTP_UNPROCESSABLE_CONTENT
					      : MHD_HTTP_OK;
		json_t *j = check_json(&a, now);

		if (a.error[0])
			json_object_set_new(j, "error", json_string(a.error));
		free(a.hits);
		return reply_json(s, c, r, st, j, 0);
	}
	page_head(&o, "Certificate self-check");
	check_form(&o, host ? host : "", serial_q ? serial_q : "");
	check_html(&o, &a, now);
	out_add(&o,
		"<p>This page shows only what the CA's published incident "
		"lists show.  Deadlines are in UTC; with JavaScript, your "
		"local time is shown beside them.</p>\n",
		strlen("<p>This page shows only what the CA's published "
		       "incident lists show.  Deadlines are in UTC; with "
		       "JavaScript, your local time is shown beside "
		       "them.</p>\n"));
	page_tail(&o);
	free(a.hits);
	return reply(s, c, r, a.error[0] ? MHD_HTTP_UNPROCESSABLE_CONTENT : 200,
		     "text/html; charset=utf-8", o.p, o.len, 0);
}

/* ---- staff ---- */

/* Constant time over every stored token: no early exit. */
static bool token_ok(struct serve *s, struct MHD_Connection *c)
{
	const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
						    "Authorization");
	unsigned char d[32];
	int ok = 0;

	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0)
		return false;
	h += 7;
	SHA256((const unsigned char *)h, strlen(h), d);
	for (size_t i = 0; i < s->ntokens; i++)
		ok |= CRYPTO_memcmp(d, s->tokens[i].hash, 32) == 0;
	return ok != 0;
}

static json_t *status_json(struct db *db, struct incident *inc, time_t now,
			   struct serve_clock *clk)
{
	struct incident_verdicts v;
	struct deadline_progress prog;
	json_t *j;
	long long revoked;

	if (incident_verdicts(db, inc->id, clk->must_by, now, &v) < 0 ||
	    incident_progress(db, inc->id, clk->must_by, now, &prog) < 0)
		return NULL;
	revoked = v.by_verdict[DEADLINE_REVOKED_ON_TIME] +
		  v.by_verdict[DEADLINE_REVOKED_LATE];
	j = json_pack("{s:s,s:s,s:s,s:o,s:o,s:o,s:{s:I,s:I,s:I,s:I,s:I,s:I}}",
		      "incident", inc->slug, "title", inc->title, "reason",
		      inc->reason, "now", time_or_null(now), "revoke_start",
		      time_or_null(clk->start), "must_by",
		      time_or_null(clk->must_by), "certificates", "total",
		      (json_int_t)v.total, "revoked", (json_int_t)revoked,
		      "unrevoked", (json_int_t)prog.unrevoked, "expired",
		      (json_int_t)v.by_verdict[DEADLINE_EXPIRED], "pending",
		      (json_int_t)v.by_verdict[DEADLINE_PENDING], "overdue",
		      (json_int_t)v.by_verdict[DEADLINE_OVERDUE]);
	json_object_set_new(
		j, "reports",
		json_pack("{s:s,s:s,s:s}", "md",
			  "certrecall report SLUG --format md", "html",
			  "certrecall report SLUG --format html", "json",
			  "certrecall report SLUG --format json"));
	return j;
}

static enum MHD_Result handle_status(struct serve *s, struct MHD_Connection *c,
				     struct req *r, const char *slug, bool api)
{
	bool json = api || wants_json(c);
	struct serve_clock clk;
	struct incident *inc;
	time_t now = clock_now();
	struct db *db;
	json_t *j;
	struct out o = { 0 };
	char t[UTCTIME_BUFSZ];
	json_t *certs;

	if (!s->staff)
		return problem(s, c, r, MHD_HTTP_NOT_FOUND, "Not Found", NULL,
			       0, json);
	if (!token_ok(s, c))
		return problem(s, c, r, MHD_HTTP_UNAUTHORIZED, "Unauthorized",
			       "a bearer token is needed", 0, json);
	db = worker_db(s);
	if (db == NULL)
		return problem(s, c, r, MHD_HTTP_SERVICE_UNAVAILABLE,
			       "Unavailable", "try again later", 60, json);
	inc = incident_find(db, slug);
	if (inc == NULL)
		return problem(s, c, r, MHD_HTTP_NOT_FOUND, "Not Found",
			       "no such incident", 0, json);
	if (serve_incident_clock(inc->reason, inc->aware_at,
				 inc->cpr_received_at, &clk) < 0 ||
	    (j = status_json(db, inc, now, &clk)) == NULL) {
		incident_free(inc);
		return problem(s, c, r, MHD_HTTP_SERVICE_UNAVAILABLE,
			       "Unavailable", "try again later", 60, json);
	}
	incident_free(inc);
	if (json)
		return reply_json(s, c, r, MHD_HTTP_OK, j, 0);
	certs = json_object_get(j, "certificates");
	page_head(&o, "Incident status");
	out_add(&o, "<h1>", 4);
	out_html(&o, json_string_value(json_object_get(j, "title")));
	out_add(&o, " (", 2);
	out_html(&o, slug);
	out_add(&o, ")</h1>\n<p>Rule: ", 16);
	out_html(&o, json_string_value(json_object_get(j, "reason")));
	if (utctime_format_rfc3339(clk.must_by, t, sizeof(t)) < 0)
		log_error("cannot format time %lld", (long long)(clk.must_by));
	out_fmt(&o,
		"</p>\n<p>Revoke by (UTC): <time id=\"must-by\" "
		"datetime=\"%s\">%s</time> &mdash; <strong data-due=\"%s\">"
		"</strong></p>\n",
		t, t, t);
	out_fmt(&o, "<p id=\"progress\">%lld of %lld revoked, %lld to go</p>\n",
		(long long)json_integer_value(
			json_object_get(certs, "revoked")),
		(long long)json_integer_value(json_object_get(certs, "total")),
		(long long)json_integer_value(
			json_object_get(certs, "unrevoked")));
	out_fmt(&o,
		"<table><tr><th>pending</th><th>overdue</th><th>expired</th>"
		"</tr><tr><td>%lld</td><td>%lld</td><td>%lld</td></tr></table>"
		"\n",
		(long long)json_integer_value(
			json_object_get(certs, "pending")),
		(long long)json_integer_value(
			json_object_get(certs, "overdue")),
		(long long)json_integer_value(
			json_object_get(certs, "expired")));
	out_add(&o, "<p>Reports: <code>certrecall report ", 36);
	out_html(&o, slug);
	out_add(&o, " --format md|html|json|csv|ccadb</code></p>\n", 44);
	out_add(&o, "<p id=\"poll\" data-url=\"/api/incidents/", 38);
	out_html(&o, slug);
	out_add(&o,
		"/status\">Last refreshed: <span id=\"polled\">at load"
		"</span></p>\n",
		strlen("/status\">Last refreshed: <span id=\"polled\">at load"
		       "</span></p>\n"));
	page_tail(&o);
	json_decref(j);
	return reply(s, c, r, MHD_HTTP_OK, "text/html; charset=utf-8", o.p,
		     o.len, 0);
}

/* ---- dispatch ---- */

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c,
				  const char *url, const char *method,
				  const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	struct serve *s = cls;
	struct req *r = *con_cls;
	const char *ari = s->cfg->serve.ari_path;
	size_t alen = strlen(ari);
	bool get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
	bool post = strcmp(method, "POST") == 0;

	(void)version;
	if (r == NULL) {
		r = xcalloc(1, sizeof(*r));
		r->started = mono_now();
		snprintf(r->path, sizeof(r->path), "%s", url);
		snprintf(r->method, sizeof(r->method), "%s", method);
		*con_cls = r;
		return MHD_YES;
	}
	if (*upload_size > 0) {
		if (!post ||
		    r->len + *upload_size > (size_t)s->cfg->serve.max_body) {
			r->too_large = true;
		} else {
			r->body = xrealloc(r->body, r->len + *upload_size + 1);
			memcpy(r->body + r->len, upload, *upload_size);
			r->len += *upload_size;
			r->body[r->len] = '\0';
		}
		*upload_size = 0;
		return MHD_YES;
	}
	if (r->too_large)
		return problem(s, c, r, MHD_HTTP_CONTENT_TOO_LARGE,
			       "Payload Too Large",
			       "the body is larger than this server takes", 0,
			       wants_json(c));
	if (get && strcmp(url, "/healthz") == 0) {
		struct db *db = worker_db(s);
		PGresult *res = db ? db_query(db, "SELECT 1", 0, NULL) : NULL;
		bool ok = res != NULL;

		PQclear(res);
		return reply_json(s, c, r,
				  ok ? MHD_HTTP_OK
				     : MHD_HTTP_SERVICE_UNAVAILABLE,
				  json_pack("{s:s}", "status",
					    ok ? "ok" : "database unreachable"),
				  ok ? 0 : 5);
	}
	if (get && strncmp(url, ari, alen) == 0 && url[alen] != '\0')
		return handle_ari(s, c, r, url + alen);
	if (strcmp(url, "/check") == 0 && (get || post))
		return handle_check(s, c, r, post);
	if (get && strncmp(url, "/status/", 8) == 0 && url[8] != '\0' &&
	    strchr(url + 8, '/') == NULL)
		return handle_status(s, c, r, url + 8, false);
	if (get && strncmp(url, "/api/incidents/", 15) == 0) {
		const char *slug = url + 15, *end = strchr(slug, '/');
		char buf[80];

		if (end != NULL && strcmp(end, "/status") == 0 &&
		    (size_t)(end - slug) < sizeof(buf) && end > slug) {
			memcpy(buf, slug, (size_t)(end - slug));
			buf[end - slug] = '\0';
			return handle_status(s, c, r, buf, true);
		}
	}
	if (!get && !post)
		return problem(s, c, r, MHD_HTTP_METHOD_NOT_ALLOWED,
			       "Method Not Allowed", NULL, 0, wants_json(c));
	return problem(s, c, r, MHD_HTTP_NOT_FOUND, "Not Found", NULL, 0,
		       wants_json(c) || strncmp(url, ari, alen) == 0);
}

/* One JSON line per request, after it completed. */
static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct serve *s = cls;
	struct req *r = *con_cls;
	char addr[64], when[UTCTIME_BUFSZ], *line;
	json_t *j;

	if (r == NULL)
		return;
	client_addr(c, addr, sizeof(addr));
	if (utctime_format_rfc3339(clock_real(), when, sizeof(when)) < 0)
		log_error("cannot format time %lld", (long long)(clock_real()));
	j = json_pack("{s:s,s:s,s:s,s:s,s:i,s:I,s:f,s:b}", "time", when,
		      "client", addr, "method", r->method, "path", r->path,
		      "status", (int)r->status, "bytes", (json_int_t)r->bytes,
		      "ms", (mono_now() - r->started) * 1000.0, "completed",
		      toe == MHD_REQUEST_TERMINATED_COMPLETED_OK);
	line = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (line != NULL) {
		pthread_mutex_lock(&s->lock);
		fprintf(s->log, "%s\n", line);
		fflush(s->log);
		pthread_mutex_unlock(&s->lock);
		free(line);
	}
	free(r->body);
	free(r);
	*con_cls = NULL;
}

/* ---- start and stop ---- */

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t len = 0, cap = 0, n;

	if (f == NULL) {
		log_error("%s: %s", path, strerror(errno));
		return NULL;
	}
	do {
		xgrow(&buf, &cap, len + 4097, 1);
		n = fread(buf + len, 1, 4096, f);
		len += n;
	} while (n > 0 && len < (1 << 20));
	buf[len] = '\0';
	fclose(f);
	return buf;
}

static int tokens_load(struct serve *s, const char *path)
{
	FILE *f = fopen(path, "r");
	char line[512];
	size_t lineno = 0;

	if (f == NULL)
		return log_error("%s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f) != NULL) {
		struct token *t;
		char *p = line, *name;

		lineno++;
		line[strcspn(line, "\r\n")] = '\0';
		p += strspn(p, " \t");
		if (*p == '\0' || *p == '#')
			continue;
		if (strncmp(p, "sha256:", 7) != 0 || strlen(p) < 7 + 64 ||
		    (p[71] != '\0' && p[71] != ' ' && p[71] != '\t') ||
		    s->ntokens == TOKENS_MAX) {
			fclose(f);
			return log_error("%s:%zu: expected \"sha256:HEX name\""
					 " (64 lowercase hex digits; at most "
					 "%d tokens)",
					 path, lineno, TOKENS_MAX);
		}
		t = &s->tokens[s->ntokens];
		for (int i = 0; i < 32; i++) {
			unsigned v;
			char h[3] = { p[7 + 2 * i], p[8 + 2 * i], 0 };

			if (strspn(h, "0123456789abcdef") != 2 ||
			    sscanf(h, "%2x", &v) != 1) {
				fclose(f);
				return log_error("%s:%zu: the hash is not 64 "
						 "lowercase hex digits",
						 path, lineno);
			}
			t->hash[i] = (unsigned char)v;
		}
		name = p + 71;
		name += strspn(name, " \t");
		snprintf(t->name, sizeof(t->name), "%s", name);
		s->ntokens++;
	}
	fclose(f);
	if (s->ntokens == 0)
		return log_error("%s: no tokens", path);
	return 0;
}

/* "127.0.0.1:8080", "[::1]:8080", ":8080" (all IPv4 addresses). */
static int parse_listen(const char *text, struct sockaddr_storage *ss,
			socklen_t *sl, bool *v6)
{
	char host[64];
	const char *colon;
	struct classify_addr a;
	long port;
	char *end;

	colon = strrchr(text, ':');
	if (colon == NULL || (size_t)(colon - text) >= sizeof(host))
		return -1;
	port = strtol(colon + 1, &end, 10);
	if (colon[1] == '\0' || *end != '\0' || port < 0 || port > 65535)
		return -1;
	memcpy(host, text, (size_t)(colon - text));
	host[colon - text] = '\0';
	if (host[0] == '[') {
		size_t n = strlen(host);

		if (n < 2 || host[n - 1] != ']')
			return -1;
		memmove(host, host + 1, n - 2);
		host[n - 2] = '\0';
	}
	memset(ss, 0, sizeof(*ss));
	if (host[0] == '\0')
		snprintf(host, sizeof(host), "0.0.0.0");
	if (classify_addr_parse(host, &a) < 0)
		return -1;
	if (a.family == 4) {
		struct sockaddr_in *in = (struct sockaddr_in *)ss;

		in->sin_family = AF_INET;
		in->sin_port = htons((uint16_t)port);
		memcpy(&in->sin_addr, a.b, 4);
		*sl = sizeof(*in);
		*v6 = false;
	} else {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		memcpy(&in6->sin6_addr, a.b, 16);
		*sl = sizeof(*in6);
		*v6 = true;
	}
	return 0;
}

static void on_mhd_error(void *cls, const char *fmt, va_list ap)
{
	char buf[512];

	(void)cls;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	buf[strcspn(buf, "\n")] = '\0';
	log_debug("libmicrohttpd: %s", buf);
}

struct serve *serve_start(const struct config *cfg, int *exit_code)
{
	struct serve *s = xcalloc(1, sizeof(*s));
	struct sockaddr_storage ss;
	socklen_t sl;
	bool v6 = false;
	struct rlimit rl;
	char style_h[64], script_h[64];
	/* ITC: quiesce (stop accepting) before the stop on SIGTERM. */
	unsigned flags =
		MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG | MHD_USE_ITC;
	const union MHD_DaemonInfo *di;

	s->cfg = cfg;
	pthread_mutex_init(&s->lock, NULL);
	s->buckets = xcalloc(RATE_SLOTS, sizeof(*s->buckets));
	*exit_code = EX_CONFIG;
	if (parse_listen(cfg->serve.listen, &ss, &sl, &v6) < 0) {
		log_error("serve.listen: \"%s\" is not ADDRESS:PORT",
			  cfg->serve.listen);
		goto fail;
	}
	if (cfg->serve.ari_path[0] != '/' ||
	    cfg->serve.ari_path[strlen(cfg->serve.ari_path) - 1] != '/') {
		log_error("serve.ari_path: \"%s\" must start and end with '/'",
			  cfg->serve.ari_path);
		goto fail;
	}
	if ((cfg->serve.tls_cert[0] != '\0') !=
	    (cfg->serve.tls_key[0] != '\0')) {
		log_error("serve.tls_cert and serve.tls_key: give both or "
			  "neither");
		goto fail;
	}
	if (cfg->serve.tls_cert[0] != '\0') {
		s->tls_cert = slurp(cfg->serve.tls_cert);
		s->tls_key = slurp(cfg->serve.tls_key);
		if (s->tls_cert == NULL || s->tls_key == NULL)
			goto fail;
		flags |= MHD_USE_TLS;
	}
	if (cfg->serve.tokens_file[0] != '\0') {
		if (tokens_load(s, cfg->serve.tokens_file) < 0)
			goto fail;
		s->staff = true;
	}
	if (cfg->serve.access_log[0] != '\0') {
		s->log = fopen(cfg->serve.access_log, "a");
		if (s->log == NULL) {
			log_error("serve.access_log: %s: %s",
				  cfg->serve.access_log, strerror(errno));
			goto fail;
		}
		s->log_owned = true;
	} else {
		s->log = stderr;
	}
	b64_sha256(page_style, style_h, sizeof(style_h));
	b64_sha256(page_script, script_h, sizeof(script_h));
	snprintf(s->csp, sizeof(s->csp),
		 "default-src 'none'; style-src 'sha256-%s'; script-src "
		 "'sha256-%s'; connect-src 'self'; form-action 'self'; "
		 "base-uri 'none'; frame-ancestors 'none'",
		 style_h, script_h);
	/* Many idle sockets must not run out of descriptors first. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (v6)
		flags |= MHD_USE_IPv6;
	s->d = MHD_start_daemon(
		flags, 0, NULL, NULL, on_request, s, MHD_OPTION_EXTERNAL_LOGGER,
		on_mhd_error, s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
		MHD_OPTION_THREAD_POOL_SIZE, (unsigned)cfg->serve.threads,
		MHD_OPTION_CONNECTION_LIMIT,
		(unsigned)cfg->serve.max_connections,
		MHD_OPTION_PER_IP_CONNECTION_LIMIT,
		(unsigned)cfg->serve.per_ip_connections,
		MHD_OPTION_CONNECTION_TIMEOUT,
		(unsigned)((cfg->serve.timeout_ms + 999) / 1000),
		/* request line and headers must fit in 16 KiB */
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)16384,
		MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
		s->tls_cert ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END,
		s->tls_cert, MHD_OPTION_HTTPS_MEM_KEY, s->tls_key,
		MHD_OPTION_END);
	if (s->d == NULL) {
		log_error("serve: cannot listen on %s (in use, or not "
			  "permitted)",
			  cfg->serve.listen);
		*exit_code = EX_UNAVAILABLE;
		goto fail;
	}
	di = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
	s->port = di ? di->port : 0;
	*exit_code = 0;
	return s;
fail:
	serve_stop(s);
	return NULL;
}

unsigned serve_port(const struct serve *s)
{
	return s->port;
}

void serve_stop(struct serve *s)
{
	if (s == NULL)
		return;
	if (s->d != NULL) {
		MHD_quiesce_daemon(s->d);
		MHD_stop_daemon(s->d);
	}
	for (size_t i = 0; i < s->ndbs; i++)
		db_close(s->dbs[i]);
	free(s->dbs);
	if (s->log_owned)
		fclose(s->log);
	free(s->tls_cert);
	free(s->tls_key);
	free(s->buckets);
	pthread_mutex_destroy(&s->lock);
	free(s);
}
