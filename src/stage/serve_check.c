/*
 * serve_check.c - the subscriber self-check: what was asked (a host to
 * probe now, a serial, a posted PEM), the incidents that list it
 * (serve_store), and the answer as a page or JSON.
 */
#include <jansson.h>
#include <microhttpd.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "certrecall/base/clock.h"
#include "certrecall/base/log.h"
#include "certrecall/base/utctime.h"
#include "certrecall/base/xalloc.h"
#include "certrecall/core/certinfo.h"
#include "certrecall/core/deadline.h"
#include "certrecall/core/dnsname.h"
#include "certrecall/core/serial.h"
#include "certrecall/core/webform.h"
#include "certrecall/net/probe.h"
#include "certrecall/stage/serve.h"
#include "certrecall/stage/serve_check.h"
#include "certrecall/stage/serve_http.h"
#include "certrecall/store/serve_store.h"

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
	time_t closed_at; /* DEADLINE_UNSET while the incident is open */
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

/* Copies text into buf, cut to fit (the page shows at most that). */
static void copy_text(char *buf, size_t len, const char *text)
{
	size_t n = strnlen(text, len - 1);

	memcpy(buf, text, n);
	buf[n] = '\0';
}

/*
 * Every incident that lists this serial (and, given a certificate, the
 * same one: serve_store_check), with the rule and the deadline of each.
 */
static int check_lookup(struct db *db, const struct serial *serial,
			const struct certinfo *ci, struct check_answer *a)
{
	struct serve_store_hit *rows;
	size_t n;

	serial_format_hex(serial, a->serial, sizeof(a->serial));
	if (serve_store_check(db, a->serial, ci, &rows, &n) < 0)
		return -1;
	a->hits = n > 0 ? xcalloc(n, sizeof(*a->hits)) : NULL;
	for (size_t i = 0; i < n; i++) {
		struct check_hit *h = &a->hits[a->nhits];
		struct deadline_rule rule;
		struct serve_clock clk;
		char err[256];

		copy_text(h->slug, sizeof(h->slug), rows[i].slug);
		copy_text(h->title, sizeof(h->title), rows[i].title);
		copy_text(h->reason, sizeof(h->reason), rows[i].reason);
		if (serve_incident_clock(h->reason, rows[i].aware_at,
					 rows[i].cpr_received_at, &clk) < 0 ||
		    deadline_resolve(h->reason, rows[i].aware_at, &rule, err,
				     sizeof(err)) < 0)
			continue;
		if (snprintf(h->rule_text, sizeof(h->rule_text), "%s (%s)",
			     rule.text,
			     rule.citation) >= (int)sizeof(h->rule_text))
			log_debug("serve: rule text cut to %zu bytes",
				  sizeof(h->rule_text) - 1);
		h->must_by = clk.must_by;
		copy_text(h->state, sizeof(h->state), rows[i].state);
		h->revoked_at = rows[i].revoked_at;
		h->replaced = rows[i].replaced;
		h->not_after = rows[i].not_after;
		h->closed_at = rows[i].closed_at;
		a->nhits++;
	}
	serve_store_hits_free(rows, n);
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
	if (h->closed_at != DEADLINE_UNSET)
		return "The CA has closed this incident without this "
		       "certificate revoked; replacing it is still the safe "
		       "course.";
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
			arr, json_pack("{s:s,s:s,s:s,s:s,s:o,s:o,s:b,s:s,s:o}",
				       "incident", h->slug, "title", h->title,
				       "why", h->rule_text, "status",
				       hit_verdict(h, now), "deadline",
				       serve_http_time_or_null(h->must_by),
				       "revoked_at",
				       serve_http_time_or_null(h->revoked_at),
				       "replaced", h->replaced, "what_to_do",
				       hit_advice(h, now), "incident_closed_at",
				       serve_http_time_or_null(h->closed_at)));
	}
	json_object_set_new(j, "incidents", arr);
	return j;
}

static void check_form(struct serve_http_out *o, const char *host,
		       const char *serial)
{
	serve_http_add(o, "<h1>Is my certificate affected?</h1>\n",
		       strlen("<h1>Is my certificate affected?</h1>\n"));
	serve_http_add(
		o,
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
	serve_http_html(o, host);
	serve_http_fmt(
		o,
		"\"> <button type=\"submit\" id=\"check-host\">Check "
		"host</button></form>\n"
		"<form method=\"get\" action=\"/check\">"
		"<label for=\"serial\">Serial number (hex)</label>"
		"<input type=\"text\" id=\"serial\" name=\"serial\" value=\"");
	serve_http_html(o, serial);
	serve_http_fmt(
		o, "\"> <button type=\"submit\" id=\"check-serial\">Check "
		   "serial</button></form>\n"
		   "<form method=\"post\" action=\"/check\">"
		   "<label for=\"pem\">Certificate (PEM)</label>"
		   "<textarea id=\"pem\" name=\"pem\" placeholder=\"-----BEGIN "
		   "CERTIFICATE-----\"></textarea>"
		   "<button type=\"submit\" id=\"check-pem\">Check "
		   "certificate</button></form>\n");
}

static void check_html(struct serve_http_out *o, const struct check_answer *a,
		       time_t now)
{
	char t[UTCTIME_BUFSZ];

	if (a->asked == NULL)
		return;
	serve_http_add(o, "<section id=\"result\">", 21);
	if (a->probe[0]) {
		serve_http_add(o, "<p>Probe: <span id=\"probe\">", 28);
		serve_http_html(o, a->probe);
		serve_http_add(o, "</span></p>", 11);
	}
	if (a->error[0]) {
		serve_http_add(
			o, "<p class=\"unknown\" id=\"verdict\">unknown: ", 41);
		serve_http_html(o, a->error);
		serve_http_add(o, "</p></section>\n", 15);
		return;
	}
	if (a->nhits == 0) {
		serve_http_fmt(
			o,
			"<p class=\"ok\"><strong id=\"verdict\">not "
			"affected</strong>: certificate %s is in no incident "
			"this CA has published.</p></section>\n",
			a->serial);
		return;
	}
	serve_http_fmt(
		o,
		"<p class=\"affected\"><strong id=\"verdict\">affected"
		"</strong>: certificate <code>%s</code> is listed in %zu "
		"incident%s.</p>\n",
		a->serial, a->nhits, a->nhits == 1 ? "" : "s");
	for (size_t i = 0; i < a->nhits; i++) {
		const struct check_hit *h = &a->hits[i];

		serve_http_add(o, "<div class=\"hit\"><h2>", 21);
		serve_http_html(o, h->title);
		serve_http_add(o, " (", 2);
		serve_http_html(o, h->slug);
		serve_http_add(o, ")</h2><p>Why: ", 14);
		serve_http_html(o, h->rule_text);
		serve_http_fmt(
			o, "</p><p>Status: <span class=\"status\">%s</span>",
			hit_verdict(h, now));
		if (h->revoked_at != DEADLINE_UNSET) {
			if (utctime_format_rfc3339(h->revoked_at, t,
						   sizeof(t)) < 0)
				log_error("cannot format time %lld",
					  (long long)(h->revoked_at));
			serve_http_fmt(o,
				       ", revoked at <time datetime=\"%s\">%s"
				       "</time>",
				       t, t);
		}
		if (h->replaced)
			serve_http_add(o, "; a replacement was issued", 26);
		if (h->closed_at != DEADLINE_UNSET) {
			if (utctime_format_rfc3339(h->closed_at, t, sizeof(t)) <
			    0)
				log_error("cannot format time %lld",
					  (long long)(h->closed_at));
			serve_http_fmt(o,
				       "; the incident was closed at <time "
				       "class=\"closed\" datetime=\"%s\">%s"
				       "</time>",
				       t, t);
		}
		if (utctime_format_rfc3339(h->must_by, t, sizeof(t)) < 0)
			log_error("cannot format time %lld",
				  (long long)(h->must_by));
		serve_http_fmt(
			o,
			"</p><p>Revocation deadline (UTC): <time "
			"class=\"deadline\" datetime=\"%s\">%s</time></p>",
			t, t);
		serve_http_add(o, "<p>What to do: ", 15);
		serve_http_html(o, hit_advice(h, now));
		serve_http_add(o, "</p></div>\n", 11);
	}
	serve_http_add(o, "</section>\n", 11);
}

/*
 * Reads what was asked into a: the certificate posted (a PEM, or the
 * pem field of a form) or served by host now (returned, caller frees),
 * or the serial into *ser.  An answer that cannot be read says why in
 * a->error.
 */
static X509 *check_read(struct serve *s, struct MHD_Connection *c,
			struct req *r, bool post, const char *host,
			const char *serial_q, struct check_answer *a,
			struct serial *ser)
{
	char why[256], hostname[DNSNAME_MAX + 1];
	X509 *x = NULL;
	uint16_t port;

	if (post) {
		char *pem = r->body;
		size_t plen = r->len;
		char *field = NULL;
		const char *type = MHD_lookup_connection_value(
			c, MHD_HEADER_KIND, "Content-Type");

		a->asked = "posted certificate";
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
			snprintf(a->error, sizeof(a->error),
				 "no PEM certificate in what was posted");
	} else if (host != NULL) {
		a->asked = host;
		if (webform_target(host, hostname, sizeof(hostname), &port, why,
				   sizeof(why)) < 0) {
			snprintf(a->error, sizeof(a->error), "%s", why);
		} else {
			x = peek_host(s, hostname, port, a->probe,
				      sizeof(a->probe));
			if (x == NULL)
				snprintf(a->error, sizeof(a->error),
					 "no certificate could be read from "
					 "%s:%u",
					 hostname, (unsigned)port);
		}
	} else if (serial_q != NULL) {
		a->asked = serial_q;
		if (serial_parse(ser, serial_q, strlen(serial_q), 16, why,
				 sizeof(why)) < 0)
			snprintf(a->error, sizeof(a->error), "%s", why);
	}
	return x;
}

enum MHD_Result serve_check_handle(struct serve *s, struct MHD_Connection *c,
				   struct req *r, bool post)
{
	const char *host = NULL, *serial_q = NULL;
	struct check_answer a = { 0 };
	struct certinfo ci;
	bool have_ci = false, json = serve_http_wants_json(c);
	char addr[64], why[256];
	time_t now = clock_now();
	struct serial ser;
	long long wait;
	X509 *x;
	struct db *db;
	struct serve_http_out o = { 0 };

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
		serve_http_client_addr(c, addr, sizeof(addr));
		wait = serve_http_rate_take(s, addr);
		if (wait > 0)
			return serve_http_problem(
				s, c, r, MHD_HTTP_TOO_MANY_REQUESTS,
				"Too Many Requests",
				"too many checks from your address; "
				"try again later",
				wait, json);
	}
	x = check_read(s, c, r, post, host, serial_q, &a, &ser);
	if (x != NULL) {
		if (certinfo_from_x509(x, &ci, why, sizeof(why)) < 0)
			snprintf(a.error, sizeof(a.error), "%s", why);
		else
			have_ci = true;
		X509_free(x);
	}
	if (a.asked != NULL && a.error[0] == '\0') {
		db = serve_http_db(s);
		if (db == NULL || check_lookup(db, have_ci ? &ci.serial : &ser,
					       have_ci ? &ci : NULL, &a) < 0) {
			if (have_ci)
				certinfo_release(&ci);
			free(a.hits);
			return serve_http_problem(
				s, c, r, MHD_HTTP_SERVICE_UNAVAILABLE,
				"Unavailable", "try again later", 60, json);
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
		return serve_http_json(s, c, r, st, j, 0);
	}
	serve_http_page_head(&o, "Certificate self-check");
	check_form(&o, host ? host : "", serial_q ? serial_q : "");
	check_html(&o, &a, now);
	serve_http_add(
		&o,
		"<p>This page shows only what the CA's published incident "
		"lists show.  Deadlines are in UTC; with JavaScript, your "
		"local time is shown beside them.</p>\n",
		strlen("<p>This page shows only what the CA's published "
		       "incident lists show.  Deadlines are in UTC; with "
		       "JavaScript, your local time is shown beside "
		       "them.</p>\n"));
	serve_http_page_tail(&o);
	free(a.hits);
	return serve_http_reply(
		s, c, r, a.error[0] ? MHD_HTTP_UNPROCESSABLE_CONTENT : 200,
		"text/html; charset=utf-8", o.p, o.len, 0);
}
