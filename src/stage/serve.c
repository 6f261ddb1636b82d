/*
 * serve.c - the HTTP layer of `certrecall serve` on libmicrohttpd: the
 * routes, ARI, the staff pages, start and stop.  What every page shares
 * is serve_http.c; the self-check is serve_check.c; the SQL is
 * store/serve_store.c.
 *
 * Routes:
 *   GET  /healthz                      200 when the database answers
 *   GET  {ari_path}{certID}            RFC 9773 renewal information
 *   GET  /check[?host=|?serial=]       subscriber self-check (HTML/JSON)
 *   POST /check                        the same for a posted PEM
 *   GET  /status/SLUG                  staff status page (bearer token)
 *   GET  /api/incidents/SLUG/status    its JSON (bearer token)
 *   GET  /api/incidents/SLUG/report.F  its report, F = md|html|json|csv
 *                                      (bearer token; serve_report.c)
 * Every other path is a 404 problem page; no file is ever served.
 */
#include <errno.h>
#include <jansson.h>
#include <microhttpd.h>
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
#include <unistd.h>

#include "certrecall/core/ari.h"
#include "certrecall/core/classify.h"
#include "certrecall/base/clock.h"
#include "certrecall/core/config.h"
#include "certrecall/store/db.h"
#include "certrecall/core/deadline.h"
#include "certrecall/store/incident.h"
#include "certrecall/store/serve_store.h"
#include "certrecall/base/log.h"
#include "certrecall/core/serial.h"
#include "certrecall/stage/serve.h"
#include "certrecall/stage/serve_check.h"
#include "certrecall/stage/serve_batch.h"
#include "certrecall/stage/serve_http.h"
#include "certrecall/stage/serve_report.h"
#include "certrecall/base/utctime.h"
#include "certrecall/base/xalloc.h"

/* Lookup threads (one PostgreSQL connection each) beside serve.threads
 * HTTP threads: half as many, at least one. */
#define SERVE_LOOKUP_THREADS(cfg) (((unsigned)(cfg)->serve.threads + 1) / 2)

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

static json_t *window_json(const struct ari_window *w)
{
	char a[UTCTIME_BUFSZ], b[UTCTIME_BUFSZ];

	if (utctime_format_rfc3339(w->start, a, sizeof(a)) < 0)
		log_error("cannot format time %lld", (long long)(w->start));
	if (utctime_format_rfc3339(w->end, b, sizeof(b)) < 0)
		log_error("cannot format time %lld", (long long)(w->end));
	return json_pack("{s:s,s:s}", "start", a, "end", b);
}

/* The answer from the rows of a certID (taken), or 503 when rc < 0. */
static enum MHD_Result ari_answer(struct serve *s, struct MHD_Connection *c,
				  struct req *r, const struct ari_certid *id,
				  int rc, struct serve_store_ari_row *rows,
				  size_t n)
{
	struct ari_window best, w;
	char ser[SERIAL_TEXT_MAX], base[512], url[1024];
	long long margin = s->cfg->serve.ari_margin_ms / 1000,
		  retry = s->cfg->serve.ari_retry_ms / 1000;
	time_t now = clock_now(), nb = DEADLINE_UNSET, na = DEADLINE_UNSET;
	int kind = -1, k;
	json_t *j;

	if (rc < 0) {
		serve_store_ari_rows_free(rows, n);
		return serve_http_problem(s, c, r, MHD_HTTP_SERVICE_UNAVAILABLE,
					  "Unavailable", "try again later", 60,
					  true);
	}
	serial_format_hex(&id->serial, ser, sizeof(ser));
	for (size_t i = 0; i < n; i++) {
		struct serve_clock clk;
		time_t row_na = rows[i].not_after;

		/* A closed incident (026) no longer asks for renewal: its
		 * certificates are answered as if not known. */
		if (rows[i].closed) {
			nb = rows[i].issued_at;
			na = row_na;
			continue;
		}
		if (serve_incident_clock(rows[i].reason, rows[i].aware_at,
					 rows[i].cpr_received_at, &clk) < 0)
			continue;
		k = serve_ari_row_window(&clk, rows[i].state, row_na, margin,
					 retry, now, &w);
		nb = rows[i].issued_at;
		na = row_na;
		/* The earliest end wins: one incident's deadline is enough
		 * reason to renew. */
		if (k >= 0 && (kind < 0 || w.end < best.end)) {
			best = w;
			kind = k;
		}
	}
	serve_store_ari_rows_free(rows, n);
	if (kind < 0 && strcmp(s->cfg->serve.ari_default, "lifetime") == 0 &&
	    ari_window_lifetime(nb, na, retry, &best) == 0)
		kind = ARI_LIFETIME;
	if (kind < 0)
		return serve_http_problem(
			s, c, r, MHD_HTTP_NOT_FOUND, "Not Found",
			"no renewal information for this certificate", 0, true);
	j = json_pack("{s:o}", "suggestedWindow", window_json(&best));
	if (kind != ARI_LIFETIME) {
		serve_http_base_url(s, c, base, sizeof(base));
		if (snprintf(url, sizeof(url), "%s/check?serial=%s", base,
			     ser) < (int)sizeof(url))
			json_object_set_new(j, "explanationURL",
					    json_string(url));
	}
	return serve_http_json(s, c, r, MHD_HTTP_OK, j, best.retry_after);
}

/*
 * GET {ari_path}CERTID.  The lookup is queued for the next batched round
 * trip and the connection suspended (serve_batch.c); called again when
 * it is resumed, with r->job answered.  While stopping, synchronously on
 * the thread's own connection.
 */
static enum MHD_Result handle_ari(struct serve *s, struct MHD_Connection *c,
				  struct req *r, const char *certid)
{
	struct serve_batch_job *job = r->job;
	struct ari_certid id;
	struct serve_store_ari_row *rows = NULL;
	char err[160];
	size_t n = 0;
	struct db *db;
	int rc;

	if (job != NULL && job->done) {
		rows = job->q.rows;
		job->q.rows = NULL;
		return ari_answer(s, c, r, &job->id, job->q.rc, rows, job->q.n);
	}
	if (ari_certid_parse(certid, strlen(certid), &id, err, sizeof(err)) < 0)
		return serve_http_problem(s, c, r, MHD_HTTP_BAD_REQUEST,
					  "Bad certID", err, 0, true);
	if (s->batch != NULL) {
		if (job == NULL)
			r->job = job = xcalloc(1, sizeof(*job));
		job->id = id;
		if (serve_batch_submit(s->batch, c, job) == 0)
			return MHD_YES;
	}
	db = serve_http_db(s);
	rc = db == NULL ? -1
			: serve_store_ari(db, id.aki, id.aki_len, &id.serial,
					  &rows, &n);
	return ari_answer(s, c, r, &id, rc, rows, n);
}

/* ---- staff ---- */

static const char *const report_formats[] = { "md", "html", "json", "csv" };

static json_t *status_json(struct db *db, struct incident *inc, time_t now,
			   struct serve_clock *clk)
{
	struct incident_verdicts v;
	struct deadline_progress prog;
	json_t *j, *reports;
	long long revoked;

	if (incident_verdicts(db, inc->id, clk->must_by, now, &v) < 0 ||
	    incident_progress(db, inc->id, clk->must_by, now, &prog) < 0)
		return NULL;
	revoked = v.by_verdict[DEADLINE_REVOKED_ON_TIME] +
		  v.by_verdict[DEADLINE_REVOKED_LATE];
	j = json_pack("{s:s,s:s,s:s,s:o,s:o,s:o,s:{s:I,s:I,s:I,s:I,s:I,s:I}}",
		      "incident", inc->slug, "title", inc->title, "reason",
		      inc->reason, "now", serve_http_time_or_null(now),
		      "revoke_start", serve_http_time_or_null(clk->start),
		      "must_by", serve_http_time_or_null(clk->must_by),
		      "certificates", "total", (json_int_t)v.total, "revoked",
		      (json_int_t)revoked, "unrevoked",
		      (json_int_t)prog.unrevoked, "expired",
		      (json_int_t)v.by_verdict[DEADLINE_EXPIRED], "pending",
		      (json_int_t)v.by_verdict[DEADLINE_PENDING], "overdue",
		      (json_int_t)v.by_verdict[DEADLINE_OVERDUE]);
	json_object_set_new(j, "closed_at",
			    serve_http_time_or_null(inc->closed_at));
	json_object_set_new(j, "closed_reason",
			    inc->closed_reason ? json_string(inc->closed_reason)
					       : json_null());
	reports = json_object();
	for (size_t i = 0; i < sizeof(report_formats) / sizeof(*report_formats);
	     i++) {
		char url[160];

		if (snprintf(url, sizeof(url), "/api/incidents/%s/report.%s",
			     inc->slug, report_formats[i]) < (int)sizeof(url))
			json_object_set_new(reports, report_formats[i],
					    json_string(url));
	}
	json_object_set_new(j, "reports", reports);
	return j;
}

static enum MHD_Result handle_status(struct serve *s, struct MHD_Connection *c,
				     struct req *r, const char *slug, bool api)
{
	bool json = api || serve_http_wants_json(c);
	enum MHD_Result ret;
	struct serve_clock clk;
	struct incident *inc;
	time_t now = clock_now();
	struct db *db;
	json_t *j;
	struct serve_http_out o = { 0 };
	char t[UTCTIME_BUFSZ];
	json_t *certs;

	inc = serve_report_staff_incident(s, c, r, slug, json, &db, &ret);
	if (inc == NULL)
		return ret;
	if (serve_incident_clock(inc->reason, inc->aware_at,
				 inc->cpr_received_at, &clk) < 0 ||
	    (j = status_json(db, inc, now, &clk)) == NULL) {
		incident_free(inc);
		return serve_http_problem(s, c, r, MHD_HTTP_SERVICE_UNAVAILABLE,
					  "Unavailable", "try again later", 60,
					  json);
	}
	incident_free(inc);
	if (json)
		return serve_http_json(s, c, r, MHD_HTTP_OK, j, 0);
	certs = json_object_get(j, "certificates");
	serve_http_page_head(&o, "Incident status");
	serve_http_add(&o, "<h1>", 4);
	serve_http_html(&o, json_string_value(json_object_get(j, "title")));
	serve_http_add(&o, " (", 2);
	serve_http_html(&o, slug);
	serve_http_add(&o, ")</h1>\n<p>Rule: ", 16);
	serve_http_html(&o, json_string_value(json_object_get(j, "reason")));
	if (utctime_format_rfc3339(clk.must_by, t, sizeof(t)) < 0)
		log_error("cannot format time %lld", (long long)(clk.must_by));
	serve_http_fmt(
		&o,
		"</p>\n<p>Revoke by (UTC): <time id=\"must-by\" "
		"datetime=\"%s\">%s</time> &mdash; <strong data-due=\"%s\">"
		"</strong></p>\n",
		t, t, t);
	if (json_is_string(json_object_get(j, "closed_at"))) {
		serve_http_add(&o, "<p id=\"closed\">Closed at ", 26);
		serve_http_html(
			&o, json_string_value(json_object_get(j, "closed_at")));
		if (json_is_string(json_object_get(j, "closed_reason"))) {
			serve_http_add(&o, " (", 2);
			serve_http_html(&o, json_string_value(json_object_get(
						    j, "closed_reason")));
			serve_http_add(&o, ")", 1);
		}
		serve_http_add(&o, ": ARI no longer asks for renewal</p>\n",
			       strlen(": ARI no longer asks for renewal"
				      "</p>\n"));
	}
	serve_http_fmt(
		&o, "<p id=\"progress\">%lld of %lld revoked, %lld to go</p>\n",
		(long long)json_integer_value(
			json_object_get(certs, "revoked")),
		(long long)json_integer_value(json_object_get(certs, "total")),
		(long long)json_integer_value(
			json_object_get(certs, "unrevoked")));
	serve_http_fmt(
		&o,
		"<table><tr><th>pending</th><th>overdue</th><th>expired</th>"
		"</tr><tr><td>%lld</td><td>%lld</td><td>%lld</td></tr></table>"
		"\n",
		(long long)json_integer_value(
			json_object_get(certs, "pending")),
		(long long)json_integer_value(
			json_object_get(certs, "overdue")),
		(long long)json_integer_value(
			json_object_get(certs, "expired")));
	serve_http_add(&o, "<p id=\"reports\">Latest report:", 30);
	for (size_t i = 0; i < sizeof(report_formats) / sizeof(*report_formats);
	     i++) {
		serve_http_add(&o, " <a href=\"/api/incidents/", 25);
		serve_http_html(&o, slug);
		serve_http_fmt(&o, "/report.%s\" data-report=\"",
			       report_formats[i]);
		serve_http_html(&o, slug);
		serve_http_fmt(&o, ".%s\">%s</a>", report_formats[i],
			       report_formats[i]);
	}
	serve_http_add(&o,
		       " (made when asked, from the database; also "
		       "<code>certrecall report</code>)</p>\n",
		       strlen(" (made when asked, from the database; also "
			      "<code>certrecall report</code>)</p>\n"));
	serve_http_add(&o, "<p id=\"poll\" data-url=\"/api/incidents/", 38);
	serve_http_html(&o, slug);
	serve_http_add(
		&o,
		"/status\">Last refreshed: <span id=\"polled\">at load"
		"</span></p>\n",
		strlen("/status\">Last refreshed: <span id=\"polled\">at load"
		       "</span></p>\n"));
	serve_http_page_tail(&o);
	json_decref(j);
	return serve_http_reply(s, c, r, MHD_HTTP_OK,
				"text/html; charset=utf-8", o.p, o.len, 0);
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
		r->started = clock_mono();
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
		return serve_http_problem(
			s, c, r, MHD_HTTP_CONTENT_TOO_LARGE,
			"Payload Too Large",
			"the body is larger than this server takes", 0,
			serve_http_wants_json(c));
	if (get && strcmp(url, "/healthz") == 0) {
		struct db *db = serve_http_db(s);
		bool ok = db != NULL && serve_store_ping(db);

		return serve_http_json(
			s, c, r,
			ok ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE,
			json_pack("{s:s}", "status",
				  ok ? "ok" : "database unreachable"),
			ok ? 0 : 5);
	}
	if (get && strncmp(url, ari, alen) == 0 && url[alen] != '\0')
		return handle_ari(s, c, r, url + alen);
	if (strcmp(url, "/check") == 0 && (get || post))
		return serve_check_handle(s, c, r, post);
	if (get && strncmp(url, "/status/", 8) == 0 && url[8] != '\0' &&
	    strchr(url + 8, '/') == NULL)
		return handle_status(s, c, r, url + 8, false);
	if (get && strncmp(url, "/api/incidents/", 15) == 0) {
		const char *slug = url + 15, *end = strchr(slug, '/');
		char buf[80];

		if (end != NULL && (size_t)(end - slug) < sizeof(buf) &&
		    end > slug) {
			memcpy(buf, slug, (size_t)(end - slug));
			buf[end - slug] = '\0';
			if (strcmp(end, "/status") == 0)
				return handle_status(s, c, r, buf, true);
			if (strncmp(end, "/report.", 8) == 0)
				return serve_report_handle(s, c, r, buf,
							   end + 8);
		}
	}
	if (!get && !post)
		return serve_http_problem(s, c, r, MHD_HTTP_METHOD_NOT_ALLOWED,
					  "Method Not Allowed", NULL, 0,
					  serve_http_wants_json(c));
	return serve_http_problem(
		s, c, r, MHD_HTTP_NOT_FOUND, "Not Found", NULL, 0,
		serve_http_wants_json(c) || strncmp(url, ari, alen) == 0);
}

/* s as a JSON string (quoted, escaped) at *p within end; false when it
 * does not fit. */
static bool log_str(char **p, const char *end, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	char *o = *p;

	if (o >= end)
		return false;
	*o++ = '"';
	for (; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;

		if (end - o < 7)
			return false;
		if (ch == '"' || ch == '\\') {
			*o++ = '\\';
			*o++ = (char)ch;
		} else if (ch < 0x20 || ch >= 0x7f) {
			/* bytes, not UTF-8: a path is the client's */
			memcpy(o, "\\u00", 4);
			o[4] = hex[ch >> 4];
			o[5] = hex[ch & 15];
			o += 6;
		} else {
			*o++ = (char)ch;
		}
	}
	if (o >= end)
		return false;
	*o++ = '"';
	*p = o;
	return true;
}

/*
 * One JSON line per request, after it completed: formatted on the stack
 * and written with one write(2) (O_APPEND keeps lines whole without a
 * lock; jansson and stdio cost more than the rest of an ARI answer).
 */
static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct serve *s = cls;
	struct req *r = *con_cls;
	char addr[64], when[UTCTIME_BUFSZ], line[2048], *p = line;
	const char *end = line + sizeof(line) - 2;
	int n;

	if (r == NULL)
		return;
	serve_http_client_addr(c, addr, sizeof(addr));
	if (utctime_format_rfc3339(clock_real(), when, sizeof(when)) < 0)
		when[0] = '\0';
	n = snprintf(p, (size_t)(end - p),
		     "{\"time\":\"%s\",\"client\":", when);
	if (n > 0 && n < end - p) {
		p += n;
		if (log_str(&p, end, addr) && end - p > 8) {
			memcpy(p, ",\"method\":", 10);
			p += 10;
		}
		if (log_str(&p, end, r->method) && end - p > 8) {
			memcpy(p, ",\"path\":", 8);
			p += 8;
		}
		if (log_str(&p, end, r->path)) {
			n = snprintf(p, (size_t)(end - p),
				     ",\"status\":%u,\"bytes\":%zu,"
				     "\"ms\":%.3f,\"completed\":%s}",
				     r->status, r->bytes,
				     (clock_mono() - r->started) * 1000.0,
				     toe == MHD_REQUEST_TERMINATED_COMPLETED_OK
					     ? "true"
					     : "false");
			if (n > 0 && n < end - p) {
				p += n;
				*p++ = '\n';
				if (write(fileno(s->log), line,
					  (size_t)(p - line)) < 0)
					__atomic_fetch_add(&s->log_errors, 1,
							   __ATOMIC_RELAXED);
			}
		}
	}
	if (r->job != NULL)
		serve_store_ari_rows_free(r->job->q.rows, r->job->q.n);
	free(r->job);
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
	/* ITC: quiesce (stop accepting) before the stop on SIGTERM. */
	unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG |
			 MHD_USE_ITC | MHD_ALLOW_SUSPEND_RESUME;
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
	serve_http_csp(s->csp, sizeof(s->csp));
	/* Many idle sockets must not run out of descriptors first. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (v6)
		flags |= MHD_USE_IPv6;
	s->batch = serve_batch_start(cfg, SERVE_LOOKUP_THREADS(cfg));
	if (s->batch == NULL) {
		*exit_code = EX_OSERR;
		goto fail;
	}
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
		/* No connection may be freed while a lookup holds it: when
		 * the database hangs past the wait, everything is left
		 * running to the process's exit. */
		if (!serve_batch_drain(s->batch, 10000))
			return;
		MHD_stop_daemon(s->d);
	}
	serve_batch_stop(s->batch);
	for (size_t i = 0; i < s->ndbs; i++)
		db_close(s->dbs[i]);
	free(s->dbs);
	if (s->log_errors > 0)
		log_warn("serve: %lu access log lines could not be written",
			 s->log_errors);
	if (s->log_owned)
		fclose(s->log);
	free(s->tls_cert);
	free(s->tls_key);
	free(s->buckets);
	pthread_mutex_destroy(&s->lock);
	free(s);
}
