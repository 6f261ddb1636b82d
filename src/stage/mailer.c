/*
 * mailer.c - plan, compose, send and record notices.
 */
#include <errno.h>
#include <jansson.h>
#include <limits.h>
/* Both before libesmtp.h, or its TLS and AUTH APIs are hidden. */
#include <openssl/ssl.h>
#include <auth-client.h>
#include <libesmtp.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "certrecall/core/bounces.h"
#include "certrecall/core/compose.h"
#include "certrecall/base/clock.h"
#include "certrecall/core/config.h"
#include "certrecall/store/db.h"
#include "certrecall/core/deadline.h"
#include "certrecall/core/dkim.h"
#include "certrecall/base/embedded.h"
#include "certrecall/store/incident.h"
#include "certrecall/base/log.h"
#include "certrecall/stage/mailer.h"
#include "certrecall/base/progress.h"
#include "certrecall/core/template.h"
#include "certrecall/base/utctime.h"
#include "certrecall/base/xalloc.h"
#include "certrecall/core/zone.h"

#define MAX_BACKOFF_MS (86400LL * 1000)
#define MAX_TEMPLATE (256 * 1024)

static const char *const kinds[] = { "initial", "reminder", "revoked" };

bool mailer_kind_valid(const char *kind)
{
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strcmp(kind, kinds[i]) == 0)
			return true;
	return false;
}

/* ---- templates ---------------------------------------------------- */

/* A notice template: a header block (Subject, optional Reply-To), a blank
 * line, then the body. */
struct notice_template {
	struct template *subject;
	struct template *reply_to; /* NULL when the file has none */
	struct template *body;
	struct template *html; /* <kind>.html beside it, or NULL */
};

static void notice_template_free(struct notice_template *t)
{
	template_free(t->subject);
	template_free(t->reply_to);
	template_free(t->body);
	template_free(t->html);
	memset(t, 0, sizeof(*t));
}

static char *read_small_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	char *buf;

	if (f == NULL) {
		log_error("%s: cannot open: %s", path, strerror(errno));
		return NULL;
	}
	buf = xmalloc(MAX_TEMPLATE + 1);
	*len = fread(buf, 1, MAX_TEMPLATE + 1, f);
	if (ferror(f) || *len > MAX_TEMPLATE) {
		log_error("%s: %s", path,
			  ferror(f) ? strerror(errno) : "larger than 256 KiB");
		free(buf);
		buf = NULL;
	} else {
		buf[*len] = '\0';
	}
	fclose(f);
	return buf;
}

static struct template *parse_part(const char *where, unsigned line,
				   const char *text, size_t len)
{
	char err[256];
	struct template *t = template_parse(text, len, err, sizeof(err));

	if (t == NULL)
		log_error("%s:%u: %s", where, line, err);
	return t;
}

/*
 * The optional HTML alternative of a text template: <kind>.html beside
 * txt_path (templates.dir), or the built-in <lang>/<kind>.html.  Filled
 * from the same names as the text, HTML-escaped.  0 (*t NULL when there
 * is none) or -1.
 */
static int load_html(const struct config *cfg, const char *kind,
		     const char *lang, const char *txt_path,
		     struct template **t)
{
	char path[PATH_MAX], name[64];
	const char *text = NULL;
	char *owned = NULL;
	size_t len = 0, n = strlen(txt_path);

	*t = NULL;
	if (!cfg->mailer.html)
		return 0;
	if (cfg->templates.dir[0] != '\0') {
		if (n < 4 || n + 2 > sizeof(path))
			return 0;
		snprintf(path, sizeof(path), "%.*s.html", (int)(n - 4),
			 txt_path);
		if (access(path, F_OK) != 0)
			return 0;
		owned = read_small_file(path, &len);
		if (owned == NULL)
			return -1;
		text = owned;
	} else {
		snprintf(name, sizeof(name), "%s/%s.html", lang, kind);
		snprintf(path, sizeof(path), "(built-in %s)", name);
		for (size_t i = 0; i < embedded_templates_count; i++) {
			if (strcmp(embedded_templates[i].name, name) == 0) {
				text = embedded_templates[i].data;
				len = embedded_templates[i].len;
			}
		}
		if (text == NULL)
			return 0;
	}
	*t = parse_part(path, 1, text, len);
	free(owned);
	return *t == NULL ? -1 : 0;
}

/*
 * Loads templates.dir/<lang>/<kind>.txt (for "en" also the older
 * templates.dir/<kind>.txt), or the built-in <lang>/<kind>.  Every
 * problem is reported as FILE:LINE.  Returns 1, without a message, when
 * there is no template of that language (the notice falls back to en).
 */
static int load_template(const struct config *cfg, const char *kind,
			 const char *lang, struct notice_template *t)
{
	char path[PATH_MAX];
	const char *text = NULL;
	char *owned = NULL;
	size_t len = 0;
	unsigned line = 1;
	const char *p, *end;
	int rc = -1;

	memset(t, 0, sizeof(*t));
	if (cfg->templates.dir[0] != '\0') {
		snprintf(path, sizeof(path), "%s/%s/%s.txt", cfg->templates.dir,
			 lang, kind);
		if (access(path, F_OK) != 0 && strcmp(lang, "en") != 0)
			return 1;
		if (access(path, F_OK) != 0)
			snprintf(path, sizeof(path), "%s/%s.txt",
				 cfg->templates.dir, kind);
		owned = read_small_file(path, &len);
		if (owned == NULL)
			return -1;
		text = owned;
	} else {
		char name[64];

		snprintf(path, sizeof(path), "(built-in %s/%s.txt)", lang,
			 kind);
		snprintf(name, sizeof(name), "%s/%s", lang, kind);
		for (size_t i = 0; i < embedded_templates_count; i++) {
			if (strcmp(embedded_templates[i].name, name) == 0) {
				text = embedded_templates[i].data;
				len = embedded_templates[i].len;
			}
		}
		if (text == NULL && strcmp(lang, "en") != 0)
			return 1;
		if (text == NULL)
			return log_error("no built-in template for %s", kind);
	}
	end = text + len;
	for (p = text; p < end; line++) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *colon;
		size_t n = (size_t)((eol ? eol : end) - p);
		struct template **slot = NULL;

		if (n > 0 && p[n - 1] == '\r')
			n--;
		if (n == 0) { /* the blank line: the body follows */
			p = eol ? eol + 1 : end;
			line++;
			break;
		}
		colon = memchr(p, ':', n);
		if (colon != NULL && (size_t)(colon - p) == 7 &&
		    strncasecmp(p, "Subject", 7) == 0)
			slot = &t->subject;
		else if (colon != NULL && (size_t)(colon - p) == 8 &&
			 strncasecmp(p, "Reply-To", 8) == 0)
			slot = &t->reply_to;
		if (slot == NULL || *slot != NULL) {
			log_error(
				"%s:%u: expected \"Subject:\" or \"Reply-To:\" "
				"(once each) before a blank line and the body",
				path, line);
			goto out;
		}
		colon++;
		while (colon < p + n && (*colon == ' ' || *colon == '\t'))
			colon++;
		*slot = parse_part(path, line, colon, (size_t)(p + n - colon));
		if (*slot == NULL)
			goto out;
		p = eol ? eol + 1 : end;
	}
	if (t->subject == NULL) {
		log_error("%s:%u: the template has no Subject: line", path,
			  line);
		goto out;
	}
	t->body = parse_part(path, line, p, (size_t)(end - p));
	if (t->body == NULL)
		goto out;
	if (load_html(cfg, kind, lang, path, &t->html) < 0)
		goto out;
	rc = 0;
out:
	if (rc < 0)
		notice_template_free(t);
	free(owned);
	return rc;
}

/* ---- what a notice says ------------------------------------------- */

/* Languages with templates besides en (templates/<lang>/, issue 21). */
static const char *const notice_langs[] = { "ja" };
#define NOTICE_LANGS (sizeof(notice_langs) / sizeof(notice_langs[0]))

/* Everything a batch needs that is the same for every notice. */
struct notice_common {
	const struct config *cfg;
	const struct incident *inc;
	struct deadline_rule rule;
	time_t should_by, must_by;
	struct notice_template tpl; /* en: the default */
	/* the other languages shipped, when their template exists */
	struct notice_template tpl_lang[NOTICE_LANGS];
	bool has_lang[NOTICE_LANGS];
	const char *kind;
	const char *from_addr; /* addr-spec of mailer.from */
	char *from_addr_owned;
	struct bounces_key *bounce_key; /* NULL: no mailer.return_path */
	struct dkim_signer *dkim;	/* NULL: no mailer.dkim_domain */
};

static json_t *time_text(time_t t, bool is_set)
{
	char buf[UTCTIME_BUFSZ];

	if (!is_set || utctime_format_long(t, buf, sizeof(buf)) < 0)
		return json_string("unknown");
	return json_string(buf);
}

/* The addr-spec inside "Name <addr>", or the whole string. */
static char *addr_spec(const char *from)
{
	const char *lt = strrchr(from, '<');
	const char *gt = lt ? strchr(lt, '>') : NULL;

	if (lt != NULL && gt != NULL)
		return xstrndup(lt + 1, (size_t)(gt - lt - 1));
	return xstrdup(from);
}

/*
 * mailer.from must make a Message-ID and a From header.  Checked with the
 * composer itself before any notice is claimed: found only when the
 * first message is composed, it stopped runs holding claimed notices.
 */
static int from_check(const struct config *cfg, const struct incident *inc,
		      const char *kind)
{
	struct compose_input in = { 0 };
	char mid[256], err[256];
	size_t len;
	char *msg;

	if (compose_message_id(mid, sizeof(mid), inc->slug, kind, 1,
			       cfg->mailer.from) < 0)
		return log_error("mailer.from \"%s\" has no domain for "
				 "Message-ID (want \"Name <user@domain>\")",
				 cfg->mailer.from);
	in.from = cfg->mailer.from;
	in.to = "check@example.org";
	in.subject = "check";
	in.body = "check\n";
	in.date = inc->aware_at;
	in.message_id = mid;
	msg = compose_message(&in, &len, err, sizeof(err));
	if (msg == NULL)
		return log_error("mailer.from \"%s\": %s", cfg->mailer.from,
				 err);
	free(msg);
	return 0;
}

/* 0, or MAILER_ERR_CONFIG / MAILER_ERR_DATA (logged). */
/*
 * mailer.return_path (VERP, issue 21): each notice's envelope sender
 * names it with a mac keyed by mailer.bounce_key, so `certrecall
 * bounces` can tell which notice a bounce is about (bounces.h).
 */
static int verp_init(struct notice_common *c, const struct config *cfg)
{
	char err[160];

	if (cfg->mailer.return_path[0] == '\0')
		return 0;
	if (bounces_pattern_check(cfg->mailer.return_path, err, sizeof(err)) <
	    0)
		return log_error("mailer.return_path \"%s\": %s",
				 cfg->mailer.return_path, err);
	if (cfg->mailer.bounce_key[0] == '\0')
		return log_error("mailer.return_path needs mailer.bounce_key "
				 "(a file with a secret, mode 0600)");
	c->bounce_key = xmalloc(sizeof(*c->bounce_key));
	return bounces_key_load(c->bounce_key, cfg->mailer.bounce_key);
}

/* mailer.dkim_*: sign every notice (dkim.h). */
static int dkim_init_common(struct notice_common *c, const struct config *cfg)
{
	const char *d = cfg->mailer.dkim_domain,
		   *sel = cfg->mailer.dkim_selector;

	if (d[0] == '\0' && sel[0] == '\0' && cfg->mailer.dkim_key[0] == '\0')
		return 0;
	if (d[0] == '\0' || sel[0] == '\0' || cfg->mailer.dkim_key[0] == '\0')
		return log_error("DKIM needs all of mailer.dkim_domain, "
				 "mailer.dkim_selector and mailer.dkim_key");
	c->dkim = dkim_signer_new(d, sel, cfg->mailer.dkim_key);
	return c->dkim == NULL ? -1 : 0;
}

/* The envelope sender of notice id: its VERP address, or mailer.from's. */
static const char *verp_sender(const struct notice_common *c, long long id,
			       char *buf, size_t len)
{
	if (c->bounce_key == NULL ||
	    bounces_return_path(c->bounce_key, c->cfg->mailer.return_path, id,
				buf, len) < 0)
		return c->from_addr;
	return buf;
}

static int common_init(struct notice_common *c, const struct config *cfg,
		       const struct incident *inc, const char *kind)
{
	char err[512];

	memset(c, 0, sizeof(*c));
	c->cfg = cfg;
	c->inc = inc;
	c->kind = kind;
	if (cfg->mailer.from[0] == '\0') {
		log_error("mailer.from is not set: the notices need a "
			  "From address (see config.example.ini)");
		return MAILER_ERR_CONFIG;
	}
	if (from_check(cfg, inc, kind) < 0)
		return MAILER_ERR_CONFIG;
	if (deadline_resolve(inc->reason, inc->aware_at, &c->rule, err,
			     sizeof(err)) < 0) {
		log_error("incident %s: %s", inc->slug, err);
		return MAILER_ERR_DATA;
	}
	time_t start = incident_revoke_start(inc, &c->rule, NULL);
	c->should_by = deadline_should_by(&c->rule, start);
	c->must_by = deadline_must_by(&c->rule, start);
	c->from_addr_owned = addr_spec(cfg->mailer.from);
	c->from_addr = c->from_addr_owned;
	if (verp_init(c, cfg) < 0 || dkim_init_common(c, cfg) < 0)
		return MAILER_ERR_CONFIG;
	/* templates.dir is configuration */
	if (load_template(cfg, kind, "en", &c->tpl) != 0)
		return MAILER_ERR_CONFIG;
	for (size_t i = 0; i < NOTICE_LANGS; i++) {
		int rc = load_template(cfg, kind, notice_langs[i],
				       &c->tpl_lang[i]);

		if (rc < 0)
			return MAILER_ERR_CONFIG;
		c->has_lang[i] = rc == 0;
	}
	return 0;
}

static void common_release(struct notice_common *c)
{
	notice_template_free(&c->tpl);
	for (size_t i = 0; i < NOTICE_LANGS; i++)
		notice_template_free(&c->tpl_lang[i]);
	free(c->from_addr_owned);
	if (c->bounce_key != NULL)
		explicit_bzero(c->bounce_key, sizeof(*c->bounce_key));
	free(c->bounce_key);
	dkim_signer_free(c->dkim);
}

/* What the relay's answer makes of a notice. */
enum outcome { OUTCOME_SENT, OUTCOME_FAILED, OUTCOME_RETRY };

/* One notice as claimed, with its certificates. */
struct notice {
	long long id;
	char *address;
	char *accounts;		/* "a, b, c" */
	char lang[8];		/* "" = en (020 subscriber.lang) */
	char tz[ZONE_NAME_MAX]; /* "" = UTC only */
	json_t *account_list;
	json_t *certs; /* array of objects, in order */
	int attempts;
	/* composed */
	char *message; /* the message, or its part 1 of nparts */
	size_t len;
	char message_id[320];
	char **more; /* parts 2..nparts (mailer.max_message_bytes) */
	size_t *more_len;
	size_t nparts; /* 1 unless the notice went into parts */
	size_t part;   /* while composing a part: its number */
	size_t all;    /* while composing a part: all certificates */
	/* sending */
	bool done; /* outcome decided (recorded, or waiting in a group) */
	enum outcome outcome;
	char reply[256]; /* "250 2.0.0 ok", printable ASCII only */
	long long backoff_ms;
};

static void notice_release(struct notice *n)
{
	free(n->address);
	free(n->accounts);
	json_decref(n->account_list);
	json_decref(n->certs);
	free(n->message);
	for (size_t i = 0; i + 1 < n->nparts; i++)
		free(n->more[i]);
	free(n->more);
	free(n->more_len);
	memset(n, 0, sizeof(*n));
}

/* Part i (0-based) of notice n's message, its length in *len. */
static const char *notice_part(const struct notice *n, size_t i, size_t *len)
{
	if (i == 0) {
		*len = n->len;
		return n->message;
	}
	*len = n->more_len[i - 1];
	return n->more[i - 1];
}

/* What the relay takes for notice n, all parts. */
static size_t notice_bytes(const struct notice *n)
{
	size_t b = n->len;

	for (size_t i = 0; i + 1 < n->nparts; i++)
		b += n->more_len[i];
	return b;
}

/*
 * The columns a message lists for each certificate, from certificate c
 * and its scan verdict v.  The verdict function is inlined into the
 * query (008_notice_send.sql): asking the scalar one per row cost an
 * executor start per certificate.
 */
#define CERT_COLUMNS                                                           \
	"c.account, encode(c.serial, 'hex'), array_to_string(c.names, ' '),"   \
	" extract(epoch FROM c.not_after)::bigint,"                            \
	" extract(epoch FROM c.revoked_at)::bigint, v.verdict"
#define CERT_VERDICT                                                           \
	" CROSS JOIN LATERAL certificate_scan_verdict_inline(c.incident_id,"   \
	" c.serial, c.names, c.issuer_name, c.sha256, c.is_precert) v"

static json_t *row_time(PGresult *res, int r, int col)
{
	bool set = !PQgetisnull(res, r, col);

	return time_text(
		set ? (time_t)strtoll(PQgetvalue(res, r, col), NULL, 10) : 0,
		set);
}

/* One certificate of a message from CERT_COLUMNS starting at column col. */
static json_t *cert_from_row(PGresult *res, int r, int col)
{
	return json_pack(
		"{s:s,s:s,s:s,s:o,s:o,s:s}", "account", PQgetvalue(res, r, col),
		"serial", PQgetvalue(res, r, col + 1), "names",
		PQgetvalue(res, r, col + 2), "not_after",
		row_time(res, r, col + 3), "revoked_at",
		row_time(res, r, col + 4), "scan", PQgetvalue(res, r, col + 5));
}

static const char select_certificates[] =
	"SELECT nc.notice_id, " CERT_COLUMNS
	" FROM notice_certificate nc JOIN certificate c"
	" ON c.id = nc.certificate_id" CERT_VERDICT
	" WHERE nc.notice_id = ANY ($1::bigint[])"
	" ORDER BY nc.notice_id, c.account, c.serial";

static int cmp_notice_id(const void *a, const void *b)
{
	long long x = ((const struct notice *)a)->id;
	long long y = ((const struct notice *)b)->id;

	return x < y ? -1 : x > y;
}

/*
 * Loads the certificates of every notice in ns[0..n) in one query (for
 * previews and dry runs; a claim brings its certificates itself).  The
 * rows come ordered by notice id, so ns is sorted the same way first.
 */
static int load_certificates(struct db *db, struct notice *ns, size_t n)
{
	char *ids;
	size_t cap = 32 * n + 3, used = 0;
	const char *params[1];
	PGresult *res;
	size_t j = 0;

	qsort(ns, n, sizeof(*ns), cmp_notice_id);
	ids = xmalloc(cap);
	ids[used++] = '{';
	for (size_t i = 0; i < n; i++)
		used += (size_t)snprintf(ids + used, cap - used, "%s%lld",
					 i ? "," : "", ns[i].id);
	snprintf(ids + used, cap - used, "}");
	params[0] = ids;
	res = db_query(db, select_certificates, 1, params);
	free(ids);
	if (res == NULL)
		return -1;
	for (size_t i = 0; i < n; i++)
		ns[i].certs = json_array();
	for (int r = 0; r < PQntuples(res); r++) {
		long long id = strtoll(PQgetvalue(res, r, 0), NULL, 10);

		while (j < n && ns[j].id != id)
			j++;
		if (j == n)
			break; /* ordered like ns: cannot happen */
		json_array_append_new(ns[j].certs, cert_from_row(res, r, 1));
	}
	PQclear(res);
	return 0;
}

/* The certificates as CSV, for the attachment of a long list. */
static char *certificates_csv(const json_t *certs, size_t *len)
{
	static const char *const cols[] = { "serial",	 "account",    "names",
					    "not_after", "revoked_at", "scan" };
	size_t n = sizeof(cols) / sizeof(cols[0]);
	char *buf = NULL;
	size_t cap = 0;
	size_t i;
	json_t *c;

	*len = 0;
	for (size_t k = 0; k < n; k++)
		compose_csv_field(&buf, len, &cap, cols[k], k + 1 == n);
	json_array_foreach(certs, i, c)
	{
		for (size_t k = 0; k < n; k++)
			compose_csv_field(
				&buf, len, &cap,
				json_string_value(json_object_get(c, cols[k])),
				k + 1 == n);
	}
	return buf;
}

static char *render(const struct template *t, const json_t *ctx,
		    enum template_escape mode, const char *what)
{
	char err[256];
	char *out = template_render(t, ctx, mode, NULL, err, sizeof(err));

	if (out == NULL)
		log_error("template %s: %s", what, err);
	return out;
}

/*
 * Composes the message of notice n at time now.  Returns 0, or -1
 * (logged) when the template or the message cannot be built.
 */
/* The template of the notice's language, en when there is none. */
static const struct notice_template *
notice_template_for(const struct notice_common *c, const char *lang)
{
	for (size_t i = 0; i < NOTICE_LANGS; i++)
		if (c->has_lang[i] && strcmp(lang, notice_langs[i]) == 0)
			return &c->tpl_lang[i];
	return &c->tpl;
}

/*
 * The language and time zone of each notice's accounts (020): the first
 * account, in name order, that has one.  One query per batch, apart
 * from the claim so the claim stays as it is.
 */
static int load_locales(struct db *db, struct notice *ns, size_t n)
{
	struct pgarray_text {
		char *buf;
		size_t len, cap;
	} a = { xmalloc(64), 0, 64 };
	const char *params[1];
	PGresult *res;

	if (n == 0) {
		free(a.buf);
		return 0;
	}
	a.len = (size_t)snprintf(a.buf, a.cap, "{");
	for (size_t i = 0; i < n; i++) {
		char id[32];
		int k = snprintf(id, sizeof(id), "%s%lld", i ? "," : "",
				 ns[i].id);

		if (a.len + (size_t)k + 2 > a.cap) {
			a.cap = 2 * a.cap + (size_t)k + 2;
			a.buf = xrealloc(a.buf, a.cap);
		}
		memcpy(a.buf + a.len, id, (size_t)k);
		a.len += (size_t)k;
	}
	memcpy(a.buf + a.len, "}", 2);
	params[0] = a.buf;
	res = db_query(db,
		       "SELECT n.id, (SELECT lang FROM subscriber"
		       " WHERE account = ANY (n.accounts) AND lang IS NOT NULL"
		       " ORDER BY account LIMIT 1), (SELECT tz FROM subscriber"
		       " WHERE account = ANY (n.accounts) AND tz IS NOT NULL"
		       " ORDER BY account LIMIT 1)"
		       " FROM notice n WHERE n.id = ANY ($1::bigint[])",
		       1, params);
	free(a.buf);
	if (res == NULL)
		return -1;
	for (int r = 0; r < PQntuples(res); r++) {
		long long id = db_get_llong(res, r, 0);

		for (size_t i = 0; i < n; i++) {
			if (ns[i].id != id)
				continue;
			snprintf(ns[i].lang, sizeof(ns[i].lang), "%s",
				 PQgetvalue(res, r, 1));
			snprintf(ns[i].tz, sizeof(ns[i].tz), "%s",
				 PQgetvalue(res, r, 2));
		}
	}
	PQclear(res);
	return 0;
}

static int compose_notice(const struct notice_common *c, struct notice *n,
			  time_t now)
{
	const struct config *cfg = c->cfg;
	size_t total = json_array_size(n->certs);
	size_t listed = total;
	bool in_parts = n->part > 0; /* n->certs is this part's share */
	struct compose_times times = { c->should_by, c->must_by, now,
				       strcmp(c->kind, "revoked") == 0 };
	char err[256];
	struct compose_attachment att = { "certificates.csv",
					  "text/csv; charset=UTF-8", NULL, 0 };
	struct compose_input in = { 0 };
	char *subject = NULL, *reply_to = NULL, *body = NULL, *csv = NULL;
	char *html = NULL;
	const struct notice_template *tpl = notice_template_for(c, n->lang);
	json_t *ctx, *shown;
	int rc = -1;

	if (listed > (size_t)cfg->mailer.max_listed)
		listed = (size_t)cfg->mailer.max_listed;
	shown = json_array();
	for (size_t i = 0; i < listed; i++)
		json_array_append(shown, json_array_get(n->certs, i));
	ctx = json_pack("{s:{s:s,s:s},s:s,s:s,s:s,s:s,s:O,s:s,s:I,"
			"s:I,s:I,s:b,s:o}",
			"incident", "slug", c->inc->slug, "title",
			c->inc->title, "organization",
			cfg->report.organization[0]
				? cfg->report.organization
				: "The Certificate Authority",
			"address", n->address, "rule", c->rule.citation,
			"rule_text", c->rule.text, "accounts", n->account_list,
			"account_list", n->accounts, "certificate_count",
			(json_int_t)(in_parts ? n->all : total), "listed_count",
			(json_int_t)listed, "unlisted_count",
			(json_int_t)((in_parts ? n->all : total) - listed),
			"attachment", listed < total || in_parts,
			"certificates", shown);
	if (in_parts) {
		json_object_set_new(ctx, "part",
				    json_integer((json_int_t)n->part));
		json_object_set_new(ctx, "parts",
				    json_integer((json_int_t)n->nparts));
	}
	/* The deadlines, and where the notice stands against them. */
	if (compose_time_context(ctx, &times) < 0) {
		log_error("notice %lld: a deadline is out of range", n->id);
		goto out;
	}
	/* UTC always, the subscriber's own time too when known (020). */
	if (zone_context(ctx, c->must_by, c->should_by, now,
			 n->tz[0] ? n->tz : NULL,
			 n->lang[0] ? n->lang : "en") < 0) {
		log_error("notice %lld: cannot write the deadline in %s", n->id,
			  n->tz);
		goto out;
	}
	subject = render(tpl->subject, ctx, TEMPLATE_HEADER, "Subject");
	if (subject == NULL)
		goto out;
	if (in_parts) {
		char *whole = subject;

		subject = xmalloc(strlen(whole) + 64);
		sprintf(subject, "%s (part %zu of %zu)", whole, n->part,
			n->nparts);
		free(whole);
	}
	if (tpl->reply_to != NULL) {
		reply_to =
			render(tpl->reply_to, ctx, TEMPLATE_HEADER, "Reply-To");
		if (reply_to == NULL)
			goto out;
	} else if (cfg->mailer.reply_to[0] != '\0') {
		reply_to = xstrdup(cfg->mailer.reply_to);
	}
	body = render(tpl->body, ctx, TEMPLATE_TEXT, "body");
	if (body == NULL)
		goto out;
	if (tpl->html != NULL) {
		html = render(tpl->html, ctx, TEMPLATE_HTML, "HTML part");
		if (html == NULL)
			goto out;
	}
	if (compose_message_id(n->message_id, sizeof(n->message_id),
			       c->inc->slug, c->kind, n->id,
			       cfg->mailer.from) < 0) {
		log_error("mailer.from \"%s\" has no domain for Message-ID",
			  cfg->mailer.from);
		goto out;
	}
	if (in_parts && n->part > 1) { /* "….<id>.p2@domain" */
		char *at = strrchr(n->message_id, '@');
		char tail[320];

		snprintf(tail, sizeof(tail), "%s", at);
		snprintf(at,
			 sizeof(n->message_id) - (size_t)(at - n->message_id),
			 ".p%zu%s", n->part, tail);
	}
	in.from = cfg->mailer.from;
	in.to = n->address;
	in.reply_to = reply_to;
	in.subject = subject;
	in.body = body;
	in.date = now;
	in.message_id = n->message_id;
	in.html = html;
	if (listed < total || in_parts) {
		csv = certificates_csv(n->certs, &att.len);
		att.data = csv;
		in.attachment = &att;
	}
	free(n->message);
	n->message = compose_message(&in, &n->len, err, sizeof(err));
	if (n->message == NULL) {
		log_error("notice %lld to %s: %s", n->id, n->address, err);
		goto out;
	}
	if (c->dkim != NULL) {
		char *signed_msg = dkim_signer_sign(c->dkim, n->message, n->len,
						    &n->len, err, sizeof(err));

		free(n->message);
		n->message = signed_msg;
		if (n->message == NULL) {
			log_error("notice %lld to %s: %s", n->id, n->address,
				  err);
			goto out;
		}
	}
	rc = 0;
out:
	json_decref(ctx);
	free(subject);
	free(reply_to);
	free(body);
	free(html);
	free(csv);
	return rc;
}

/* The bytes of one certificate's row in certificates_csv. */
static size_t csv_row_bytes(const json_t *cert)
{
	json_t *one = json_array();
	char *csv, *head;
	size_t len, hlen;

	json_array_append(one, (json_t *)cert);
	csv = certificates_csv(one, &len);
	json_decref(one);
	one = json_array();
	head = certificates_csv(one, &hlen);
	json_decref(one);
	free(csv);
	free(head);
	return len - hlen;
}

/*
 * Composes notice n, in numbered parts when the message would be over
 * mailer.max_message_bytes: each part has the same text and deadline,
 * "(part i of k)" in its Subject, its own Message-ID, and its share of
 * the certificates in its CSV attachment (the shares in order, each
 * certificate in exactly one).  Returns 0 or -1 (logged).
 */
static int compose_notice_parts(const struct notice_common *c, struct notice *n,
				time_t now)
{
	size_t max = (size_t)c->cfg->mailer.max_message_bytes;
	size_t total, head, fixed, parts = 0, *rows, *starts;
	json_t *all, *first;
	char *csv, *p1 = NULL;
	size_t p1len = 0;
	int rc = -1;

	n->nparts = 1;
	if (compose_notice(c, n, now) < 0)
		return -1;
	if (n->len <= max)
		return 0;
	all = n->certs;
	total = json_array_size(all);
	rows = xcalloc(total + 1, sizeof(*rows));
	starts = xcalloc(total + 1, sizeof(*starts));
	for (size_t i = 0; i < total; i++)
		rows[i] = csv_row_bytes(json_array_get(all, i));
	first = json_array();
	csv = certificates_csv(first, &head);
	free(csv);
	/* The message around the attachment: a part with the longest
	 * body (max_listed inline) and a one-row CSV, less that row. */
	for (size_t i = 0; i < total && i < (size_t)c->cfg->mailer.max_listed;
	     i++)
		json_array_append(first, json_array_get(all, i));
	n->certs = first;
	n->part = n->nparts = 99999;
	n->all = total;
	rc = compose_notice(c, n, now);
	n->nparts = 1; /* no parts allocated yet */
	if (rc < 0)
		goto out;
	rc = -1;
	{
		size_t l = 0;

		for (size_t i = 0; i < json_array_size(first); i++)
			l += rows[i];
		fixed = n->len - compose_base64_size(head + l);
	}
	/* Another part's inline list may be longer: shrink the budget by
	 * any overflow and split again. */
	for (size_t budget = max, tries = 0; tries < 8; tries++) {
		size_t over = 0;

		parts = compose_split(rows, total, head, fixed, budget, starts);
		if (parts == 0) {
			log_error("notice %lld to %s: one certificate does not"
				  " fit in mailer.max_message_bytes = %zu",
				  n->id, n->address, max);
			goto out;
		}
		for (size_t i = 0; i + 1 < n->nparts; i++)
			free(n->more[i]);
		free(n->more);
		free(n->more_len);
		free(p1);
		p1 = NULL;
		n->more = xcalloc(parts, sizeof(*n->more));
		n->more_len = xcalloc(parts, sizeof(*n->more_len));
		n->nparts = parts;
		for (size_t p = 0; p < parts; p++) {
			size_t end = p + 1 < parts ? starts[p + 1] : total;
			json_t *share = json_array();

			for (size_t i = starts[p]; i < end; i++)
				json_array_append(share,
						  json_array_get(all, i));
			n->certs = share;
			n->part = p + 1;
			rc = compose_notice(c, n, now);
			n->certs = first;
			json_decref(share);
			if (rc < 0) {
				n->nparts = p + 1; /* what to free */
				goto out;
			}
			if (n->len > max && n->len - max > over)
				over = n->len - max;
			if (p > 0) {
				n->more[p - 1] = n->message;
				n->more_len[p - 1] = n->len;
			} else {
				p1 = n->message;
				p1len = n->len;
			}
			n->message = NULL;
		}
		rc = -1;
		if (over == 0) {
			rc = 0;
			break;
		}
		if (over + 64 >= budget)
			break;
		budget -= over + 64;
	}
	free(n->message);
	n->message = p1;
	n->len = p1len;
	p1 = NULL;
	if (rc < 0)
		log_error("notice %lld to %s: parts do not fit in"
			  " mailer.max_message_bytes = %zu",
			  n->id, n->address, max);
out:
	n->certs = all;
	n->part = 0;
	json_decref(first);
	free(rows);
	free(starts);
	return rc;
}

/* Fills a notice from a result row: id, address, accounts as a JSON
 * array (account ids are text from the input: any byte may be in them),
 * attempts. */
static void notice_from_row(struct notice *n, PGresult *res, int r)
{
	json_t *arr = json_loads(PQgetvalue(res, r, 2), 0, NULL);
	size_t cap = 1, used = 0, i;
	json_t *v;

	memset(n, 0, sizeof(*n));
	n->id = strtoll(PQgetvalue(res, r, 0), NULL, 10);
	n->address = xstrdup(PQgetvalue(res, r, 1));
	n->attempts = atoi(PQgetvalue(res, r, 3));
	n->account_list = json_array();
	json_array_foreach(arr, i, v)
	{
		cap += strlen(json_string_value(v)) + 2;
		json_array_append_new(n->account_list,
				      json_pack("{s:O}", "id", v));
	}
	n->accounts = xmalloc(cap);
	n->accounts[0] = '\0';
	json_array_foreach(arr, i, v)
	{
		used += (size_t)snprintf(n->accounts + used, cap - used, "%s%s",
					 used ? ", " : "",
					 json_string_value(v));
	}
	json_decref(arr);
}

/* ---- planning ----------------------------------------------------- */

/* Addresses per planning slice: one transaction each. */
#define PLAN_SLICE 10000
/* The first slice: small, so that the senders start within a second
 * (one 10,000-address slice of hosting accounts took 6 s before the
 * first message could go); each next slice doubles up to PLAN_SLICE. */
#define PLAN_FIRST_SLICE 250

/* Which certificates a kind is about. */
static const char *kind_filter(const char *kind)
{
	if (strcmp(kind, "reminder") == 0)
		/* still to revoke, and the last scan does not show them
		 * replaced everywhere */
		/* (before any scan round nothing is replaced: the
		 * verdict, a lookup per certificate, is skipped) */
		return " AND revoked_at IS NULL"
		       " AND (not_after IS NULL OR not_after > "
		       "certrecall_now())"
		       " AND (NOT EXISTS (SELECT 1 FROM scan_target st"
		       " WHERE st.incident_id = $1 AND st.round > 0)"
		       " OR (SELECT verdict FROM "
		       "certificate_scan_verdict_inline("
		       "incident_id, serial, names, issuer_name, sha256,"
		       " is_precert)) <> 'replaced')";
	if (strcmp(kind, "revoked") == 0)
		return " AND revoked_at IS NOT NULL";
	return "";
}

/* Planning of one kind in slices (plan_begin, plan_slice until done,
 * plan_finish), on one connection. */
struct plan {
	struct db *db;
	char id[32];
	const char *kind;
	char must[UTCTIME_BUFSZ];
	long long addresses; /* addresses that may need a notice */
	long long sliced;    /* of them, planned so far */
	long long created;   /* notices created */
	long long slice;     /* addresses in the next slice */
};

static long long cmd_count(PGresult *res)
{
	return strtoll(PQcmdTuples(res), NULL, 10);
}

/*
 * Computes, in two session temporary tables, the certificates the kind
 * is about (plan_cert) and, per contact address without a notice of the
 * kind yet, the accounts it covers (plan_addr, numbered in address
 * order).  Nothing is created yet.
 */
static int plan_begin(struct plan *p, struct db *db, const struct incident *inc,
		      const char *kind, time_t must_by)
{
	const char *params[2] = { p->id, kind };
	char sql[1024];
	PGresult *res;

	memset(p, 0, sizeof(*p));
	p->db = db;
	p->kind = kind;
	snprintf(p->id, sizeof(p->id), "%lld", inc->id);
	if (utctime_format_rfc3339(must_by, p->must, sizeof(p->must)) < 0)
		log_error("cannot format time %lld", (long long)(must_by));
	/* jit compiled every slice again (16 functions, inlined and
	 * optimised): slices are many, each short. */
	if (db_exec(db, "SET jit = off") < 0 ||
	    db_exec(db, "DROP TABLE IF EXISTS pg_temp.plan_cert,"
			" pg_temp.plan_addr") < 0)
		return -1;
	snprintf(sql, sizeof(sql),
		 "CREATE TEMP TABLE plan_cert AS"
		 " SELECT id, account FROM certificate"
		 " WHERE incident_id = $1 AND account IS NOT NULL%s",
		 kind_filter(kind));
	/* $1 only: a statement's parameters must all be used. */
	res = db_query(db, sql, 1, params);
	if (res == NULL)
		return -1;
	PQclear(res);
	if (db_exec(db, "CREATE INDEX ON plan_cert (account)") < 0)
		return -1;
	res = db_query(db,
		       "CREATE TEMP TABLE plan_addr AS"
		       " SELECT row_number() OVER (ORDER BY e) AS n,"
		       " e AS address,"
		       " array_agg(a.account ORDER BY a.account) AS accounts"
		       " FROM (SELECT DISTINCT account FROM plan_cert) a"
		       " JOIN subscriber s USING (account)"
		       " CROSS JOIN unnest(s.emails) e"
		       " WHERE NOT EXISTS (SELECT 1 FROM notice"
		       " WHERE incident_id = $1 AND kind = $2 AND address = e)"
		       /* reminders skip a hard-bounced address (020) */
		       " AND NOT ($2 = 'reminder' AND EXISTS (SELECT 1"
		       " FROM unreachable_address u WHERE u.incident_id = $1"
		       " AND u.address = e))"
		       " GROUP BY e",
		       2, params);
	if (res == NULL)
		return -1;
	p->addresses = cmd_count(res);
	PQclear(res);
	/* Slices read plan_addr by number; statistics for their joins. */
	if (db_exec(db, "CREATE INDEX ON plan_addr (n)") < 0)
		return -1;
	return db_exec(db, "ANALYZE plan_cert, plan_addr");
}

/*
 * Creates the notices of the next slice of addresses, each with its
 * certificate list and its place in the queue, in one statement: a
 * notice is never visible without them.  Returns 1 when a slice was
 * planned, 0 when none is left, -1 on error.
 */
static int plan_slice(struct plan *p)
{
	char from[32], to[32];
	const char *params[5] = { p->id, p->kind, p->must, from, to };
	PGresult *res;

	if (p->sliced >= p->addresses)
		return 0;
	snprintf(from, sizeof(from), "%lld", p->sliced);
	if (p->slice == 0)
		p->slice = PLAN_FIRST_SLICE;
	snprintf(to, sizeof(to), "%lld", p->sliced + p->slice);
	/* ON CONFLICT: another process may be planning the same kind. */
	res = db_query(p->db,
		       "WITH created AS (INSERT INTO notice (incident_id,"
		       " address, kind, accounts, deadline_stated)"
		       " SELECT $1, address, $2, accounts, $3 FROM plan_addr"
		       " WHERE n > $4 AND n <= $5"
		       " ON CONFLICT (incident_id, address, kind) DO NOTHING"
		       " RETURNING id, accounts),"
		       " queued AS (INSERT INTO notice_queue (notice_id,"
		       " incident_id, kind) SELECT id, $1, $2 FROM created),"
		       " listed AS (INSERT INTO notice_certificate (notice_id,"
		       " certificate_id)"
		       " SELECT n.id, c.id FROM created n"
		       " CROSS JOIN unnest(n.accounts) a"
		       " JOIN plan_cert c ON c.account = a)"
		       " SELECT count(*) FROM created",
		       5, params);
	if (res == NULL)
		return -1;
	p->created += strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	p->sliced += p->slice;
	if (p->slice < PLAN_SLICE)
		p->slice =
			p->slice * 2 < PLAN_SLICE ? p->slice * 2 : PLAN_SLICE;
	return 1;
}

/* The no-address records (one per account without any address), then
 * the temporary tables go. */
static int plan_finish(struct plan *p)
{
	const char *params[2] = { p->id, p->kind };
	PGresult *res;

	res = db_query(p->db,
		       "INSERT INTO notice (incident_id, account, kind, state,"
		       " accounts)"
		       " SELECT $1, a.account, $2, 'no-address',"
		       " ARRAY[a.account]"
		       " FROM (SELECT DISTINCT account FROM plan_cert) a"
		       " LEFT JOIN subscriber s USING (account)"
		       " WHERE coalesce(cardinality(s.emails), 0) = 0"
		       " ON CONFLICT (incident_id, account, kind) DO NOTHING",
		       2, params);
	if (res == NULL)
		return -1;
	p->created += cmd_count(res);
	PQclear(res);
	return db_exec(p->db, "DROP TABLE pg_temp.plan_cert,"
			      " pg_temp.plan_addr");
}

/*
 * Creates the notices of kind that do not exist yet: one per contact
 * address covering all its accounts, one no-address record per account
 * without any, and the notice-to-certificate rows.  Set-based, inside the
 * caller's transaction (previews and forecasts roll it back).  *created
 * counts new notices.
 */
static int plan(struct db *db, const struct incident *inc, const char *kind,
		time_t must_by, long long *created)
{
	struct plan p;
	int rc;

	if (plan_begin(&p, db, inc, kind, must_by) < 0)
		return -1;
	while ((rc = plan_slice(&p)) > 0)
		;
	if (rc < 0 || plan_finish(&p) < 0)
		return -1;
	*created = p.created;
	return 0;
}

/* ---- sending ------------------------------------------------------ */

/* State shared by the sending threads. */
struct run {
	const struct config *cfg;
	const struct mailer_options *opt;
	struct notice_common common;
	char worker[128];
	size_t claim_max;	  /* notices per claim */
	atomic_llong claimed;	  /* for --limit */
	atomic_bool planning;	  /* notices are still being created */
	atomic_llong slices;	  /* planning slices committed so far */
	atomic_llong claim_floor; /* highest notice id claimed so far */
	atomic_llong sent, retry, failed;
	atomic_bool stop;
	atomic_int errors;
	atomic_bool data_error;	       /* a notice could not be composed */
	atomic_bool mail_refused_told; /* MAIL FROM refusal reported */
	pthread_mutex_t rate_lock;
	double next_slot; /* rate limiter: when the next message may go */
	/* Other workers' live leases this run waits for (progress note). */
	atomic_bool leases_told;
	atomic_bool lease_over_told; /* a batch outlived half its lease */
	atomic_llong leased;
	atomic_llong leased_until;
	/* Claimed notices never handed to the relay, for give_back(). */
	pthread_mutex_t giveback_lock;
	long long *giveback;
	size_t ngiveback, giveback_cap;
};

static double mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_seconds(double w)
{
	struct timespec ts;

	if (w <= 0)
		return;
	ts.tv_sec = (time_t)w;
	ts.tv_nsec = (long)((w - (double)ts.tv_sec) * 1e9);
	nanosleep(&ts, NULL);
}

/* Global rate limit shared by every connection: one slot per message.
 * Returns how long to wait for this message's slot, in seconds. */
static double rate_slot(struct run *run)
{
	double slot, now;

	if (run->opt->rate <= 0)
		return 0;
	pthread_mutex_lock(&run->rate_lock);
	now = mono_now();
	if (run->next_slot < now)
		run->next_slot = now;
	slot = run->next_slot;
	run->next_slot += 1.0 / (double)run->opt->rate;
	pthread_mutex_unlock(&run->rate_lock);
	return slot - now;
}

/* One sending thread. */
struct sender {
	struct run *run;
	struct db *db;
	SSL_CTX *ssl;
	struct notice *batch;
	size_t n;
	/* Answered notices whose outcome is not committed yet, in the
	 * order of the answers: at most mailer.commit_group. */
	struct notice **group;
	size_t grouped;
	double group_since; /* when the first of them was answered */
	bool in_flight;	    /* a group was sent, its result not yet read */
	bool db_failed;	    /* recording failed: send nothing more */
	double claimed_at;  /* before the batch's claim (its lease began) */
	bool lease_over;    /* half the lease gone: send no more of it */
};

/* Per-message data handed to libesmtp. */
struct outgoing {
	struct sender *s;
	struct notice *n;
	size_t part; /* of n's parts, 0-based */
	smtp_message_t msg;
	smtp_recipient_t rcpt;
	size_t pos;
	bool cancelled;	  /* dropped by us before its final "." */
	char sender[320]; /* envelope sender (VERP) */
};

/*
 * The claim, prepared once per connection: it leases up to $5 due
 * notices and returns them with their certificates, one row per
 * certificate (a notice without any has one row of NULLs), in one round
 * trip.  $6 is where the scan in id order starts (see claim()).  Rows
 * are looked up by id lists (= ANY) or one by one, never by joins whose
 * strategy the queue's volatile statistics would choose; a lookup by
 * notice_id can only use the primary key (008_notice_send.sql).
 */
static const char claim_sql[] =
	"WITH claimed AS (UPDATE notice_queue q SET state = 'claimed',"
	" lease_until = now() + $3::interval, worker = $4"
	" WHERE q.notice_id = ANY (ARRAY(SELECT notice_id"
	"  FROM notice_queue WHERE incident_id = $1 AND kind = $2"
	"  AND notice_id > $6 AND (state = 'pending'"
	"  OR (state = 'retry' AND due_at <= now())"
	"  OR (state = 'claimed' AND lease_until < now()))"
	"  ORDER BY notice_id LIMIT $5 FOR UPDATE SKIP LOCKED))"
	" RETURNING q.notice_id)"
	" SELECT n.id, n.address, to_json(n.accounts), "
	"n.attempts, " CERT_COLUMNS " FROM notice n"
	" LEFT JOIN notice_certificate nc ON nc.notice_id = n.id"
	" LEFT JOIN certificate c ON c.id = nc.certificate_id" CERT_VERDICT
	" WHERE n.id = ANY (ARRAY(SELECT notice_id FROM claimed))"
	" ORDER BY n.id, c.account, c.serial";

/*
 * Outcomes are committed in groups: one statement, hence one
 * transaction, for up to mailer.commit_group answers.  Per message, the
 * statement's fixed costs (executor start, constraint checks, commit,
 * a round of wake-ups in both processes) were most of the database's
 * work.  The arrays are parallel: notice id, outcome, attempts, reply,
 * Message-ID, bytes, backoff in milliseconds.  Sent and failed notices
 * leave the queue; retries wait in it until their backoff ends.
 */
static const char outcomes_sql[] =
	"WITH answer AS (SELECT * FROM unnest($1::bigint[], $2::text[],"
	" $3::integer[], $4::text[], $5::text[], $6::integer[],"
	" $7::bigint[]) AS a(id, state, attempts, reply, message_id, bytes,"
	" backoff_ms)),"
	" dequeued AS (DELETE FROM notice_queue q USING answer a"
	" WHERE q.notice_id = a.id AND a.state <> 'retry'),"
	" requeued AS (UPDATE notice_queue q SET state = 'retry',"
	" due_at = now() + a.backoff_ms * interval '1 millisecond',"
	" lease_until = NULL, worker = NULL FROM answer a"
	" WHERE q.notice_id = a.id AND a.state = 'retry')"
	" UPDATE notice n SET state = a.state, attempts = a.attempts,"
	" last_reply = a.reply,"
	" sent_at = CASE a.state WHEN 'sent' THEN certrecall_now()"
	" ELSE n.sent_at END,"
	" message_id = CASE a.state WHEN 'sent' THEN a.message_id"
	" ELSE n.message_id END,"
	" bytes = CASE a.state WHEN 'sent' THEN a.bytes ELSE n.bytes END,"
	" failed_at = CASE a.state WHEN 'failed' THEN certrecall_now()"
	" ELSE n.failed_at END,"
	" next_attempt_at = CASE a.state WHEN 'retry'"
	" THEN now() + a.backoff_ms * interval '1 millisecond'"
	" ELSE n.next_attempt_at END"
	" FROM answer a WHERE n.id = a.id AND n.state IN ('pending', 'retry')";

#define OUTCOME_PARAMS 7

/*
 * Prepares the claim and the outcome statements on a sender's
 * connection: at thousands of messages a second, parsing them every time
 * was a large share of the server's work.  They are planned at every
 * execution all the same: a generic plan is chosen once, from the
 * statistics of that moment, and a queue that grows from nothing while
 * it is worked on made the server keep one that read a whole index per
 * claim (planning costs about 0.5 ms per claim, 0.2 ms per group).  No
 * bitmap scans either: with the queue believed nearly empty, the claim
 * fetched every row past its start and sorted them instead of reading
 * the first few in index order.
 */
static int statements_prepare(struct db *db)
{
	static const struct {
		const char *name, *sql;
		int nparams;
	} st[] = {
		{ "certrecall_claim", claim_sql, 6 },
		{ "certrecall_outcomes", outcomes_sql, OUTCOME_PARAMS },
	};

	/* jit: compiling a claim or an outcome group took longer than
	 * running it (docs/notify.md). */
	if (db_exec(db, "SET plan_cache_mode = force_custom_plan") < 0 ||
	    db_exec(db, "SET enable_bitmapscan = off") < 0 ||
	    db_exec(db, "SET jit = off") < 0)
		return -1;
	for (size_t k = 0; k < sizeof(st) / sizeof(st[0]); k++) {
		PGresult *res = PQprepare(db_get0_conn(db), st[k].name,
					  st[k].sql, st[k].nparams, NULL);

		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			log_error("database: preparing %s: %s", st[k].name,
				  PQresultErrorMessage(res));
			PQclear(res);
			return -1;
		}
		PQclear(res);
	}
	return 0;
}

/* A PostgreSQL array literal being built: {"a","b",NULL}. */
struct pgarray {
	char *p;
	size_t len, cap;
};

static void pgarray_put(struct pgarray *a, const char *s, size_t n)
{
	xgrow(&a->p, &a->cap, a->len + n + 2, 1);
	memcpy(a->p + a->len, s, n);
	a->len += n;
	a->p[a->len] = '\0';
}

/* Appends an element (NULL for SQL NULL), quoted. */
static void pgarray_add(struct pgarray *a, const char *v)
{
	pgarray_put(a, a->len == 0 ? "{" : ",", 1);
	if (v == NULL) {
		pgarray_put(a, "NULL", 4);
		return;
	}
	pgarray_put(a, "\"", 1);
	for (const char *p = v; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			pgarray_put(a, "\\", 1);
		pgarray_put(a, p, 1);
	}
	pgarray_put(a, "\"", 1);
}

static const char *pgarray_end(struct pgarray *a)
{
	if (a->len == 0)
		pgarray_put(a, "{", 1);
	pgarray_put(a, "}", 1);
	return a->p;
}

/* Marks the sender's database as failed; the first time, says what that
 * means for the messages it has answers for. */
static void sender_db_failed(struct sender *s, const char *what,
			     const char *why)
{
	atomic_fetch_add(&s->run->errors, 1);
	if (!s->db_failed)
		log_error("database: %s: %.*s; this connection sends nothing "
			  "more (unrecorded notices stay claimed until their "
			  "lease ends)",
			  what, (int)strcspn(why, "\n"), why);
	s->db_failed = true;
}

/* Reads the result of the group in flight, if any. */
static void group_wait(struct sender *s)
{
	PGconn *conn = db_get0_conn(s->db);
	PGresult *res;

	if (!s->in_flight)
		return;
	s->in_flight = false;
	while ((res = PQgetResult(conn)) != NULL) {
		if (PQresultStatus(res) != PGRES_COMMAND_OK)
			sender_db_failed(s, "recording outcomes",
					 PQresultErrorMessage(res));
		PQclear(res);
	}
}

/*
 * Sends the group of answered notices to the database as one statement,
 * after reading the result of the previous one: at most one group is
 * in flight, so at most two groups per connection are uncommitted at
 * any moment.  The statement is on the wire when this returns, so the
 * server commits it even if this process dies the next instant.
 */
static void group_flush(struct sender *s)
{
	struct pgarray a[OUTCOME_PARAMS] = { { 0 } };
	const char *params[OUTCOME_PARAMS];
	PGconn *conn = db_get0_conn(s->db);

	group_wait(s);
	if (s->grouped == 0)
		return;
	if (s->db_failed) {
		s->grouped = 0; /* they return when their lease ends */
		return;
	}
	for (size_t i = 0; i < s->grouped; i++) {
		static const char *const states[] = {
			[OUTCOME_SENT] = "sent",
			[OUTCOME_FAILED] = "failed",
			[OUTCOME_RETRY] = "retry",
		};
		const struct notice *n = s->group[i];
		char id[32], attempts[16], bytes[32], backoff[32];

		snprintf(id, sizeof(id), "%lld", n->id);
		snprintf(attempts, sizeof(attempts), "%d", n->attempts);
		snprintf(bytes, sizeof(bytes), "%zu", notice_bytes(n));
		snprintf(backoff, sizeof(backoff), "%lld", n->backoff_ms);
		pgarray_add(&a[0], id);
		pgarray_add(&a[1], states[n->outcome]);
		pgarray_add(&a[2], attempts);
		pgarray_add(&a[3], n->reply);
		pgarray_add(&a[4], n->message_id);
		pgarray_add(&a[5], bytes);
		pgarray_add(&a[6], backoff);
	}
	for (int k = 0; k < OUTCOME_PARAMS; k++)
		params[k] = pgarray_end(&a[k]);
	if (PQsendQueryPrepared(conn, "certrecall_outcomes", OUTCOME_PARAMS,
				params, NULL, NULL, 0) == 1)
		s->in_flight = true;
	else
		sender_db_failed(s, "recording outcomes", PQerrorMessage(conn));
	for (int k = 0; k < OUTCOME_PARAMS; k++)
		free(a[k].p);
	s->grouped = 0;
}

static double commit_interval(const struct sender *s)
{
	return (double)s->run->cfg->mailer.commit_interval_ms / 1000.0;
}

/* Flushes the group once it is old enough. */
static void group_flush_due(struct sender *s)
{
	if (s->grouped > 0 && mono_now() - s->group_since >= commit_interval(s))
		group_flush(s);
}

/* "250 2.0.0 ok": the reply's first line, printable ASCII only, so a
 * relay's odd bytes can never make the group's statement fail. */
static void reply_text(char *buf, size_t len, int code, const char *reply)
{
	snprintf(buf, len, "%d %s", code,
		 reply && *reply ? reply : "(no reply)");
	buf[strcspn(buf, "\r\n")] = '\0';
	for (char *p = buf; *p != '\0'; p++)
		if (*p < ' ' || *p > '~')
			*p = '?';
}

/*
 * Decides a notice's outcome from the relay's answer and adds it to the
 * group that the next commit records.  code is the SMTP reply code (0
 * for no answer at all).
 */
static void record(struct sender *s, struct notice *n, int code,
		   const char *reply)
{
	const struct config *cfg = s->run->cfg;
	long long delay;

	if (n->done)
		return;
	n->done = true;
	n->attempts++;
	reply_text(n->reply, sizeof(n->reply), code, reply);
	delay = cfg->mailer.retry_backoff_ms;
	for (int i = 1; i < n->attempts && delay < MAX_BACKOFF_MS; i++)
		delay *= 2;
	if (delay > MAX_BACKOFF_MS)
		delay = MAX_BACKOFF_MS;
	n->backoff_ms = delay;
	if (code >= 200 && code < 300) {
		n->outcome = OUTCOME_SENT;
		atomic_fetch_add(&s->run->sent, 1);
	} else if (code >= 500 || n->attempts >= cfg->mailer.max_attempts) {
		n->outcome = OUTCOME_FAILED;
		atomic_fetch_add(&s->run->failed, 1);
	} else {
		n->outcome = OUTCOME_RETRY;
		atomic_fetch_add(&s->run->retry, 1);
	}
	if (s->grouped == 0)
		s->group_since = mono_now();
	s->group[s->grouped++] = n;
	if (s->grouped >= (size_t)cfg->mailer.commit_group)
		group_flush(s);
}

static const char *message_cb(void **ctx, int *len, void *arg)
{
	struct outgoing *o = arg;
	struct sender *s = o->s;

	(void)ctx;
	if (len == NULL) { /* rewind: the DATA phase of this message starts */
		double wait = rate_slot(s->run);

		if (wait > 0) {
			/* No answer waits for its commit longer than
			 * commit_interval because of a pause of ours. */
			if (s->grouped > 0 &&
			    mono_now() + wait - s->group_since >=
				    commit_interval(s))
				group_flush(s);
			sleep_seconds(wait);
		}
		o->pos = 0;
		return NULL;
	}
	if (o->pos == 0 && !s->lease_over &&
	    mono_now() - s->claimed_at >
		    (double)s->run->cfg->mailer.lease_ms / 2000.0) {
		/* The lease is not renewed: past half of it another worker
		 * could soon claim this batch and send it too.  The rest
		 * stays unanswered under our lease and is claimed again
		 * (by anyone) at once: see send_batch(). */
		s->lease_over = true;
		if (!atomic_exchange(&s->run->lease_over_told, true))
			log_warn("a batch took longer than half of "
				 "mailer.lease (%lld ms) to send: the rest "
				 "goes back to the queue (raise "
				 "mailer.lease or lower mailer.batch)",
				 s->run->cfg->mailer.lease_ms);
	}
	if (o->pos == 0 && (s->db_failed || s->lease_over)) {
		o->cancelled = true;
		/* Outcomes can no longer be recorded here.  An error from
		 * the message callback makes libesmtp drop the connection
		 * before the final "." (protocol.c, cmd_data2), so the
		 * relay discards this message instead of delivering it
		 * unrecorded. */
		errno = ECANCELED;
		*len = 0;
		return NULL;
	}
	{
		size_t plen;
		const char *m = notice_part(o->n, o->part, &plen);

		if (o->pos >= plen) {
			*len = 0;
			return NULL;
		}
		*len = (int)(plen - o->pos);
		o->pos = plen;
		return m;
	}
}

/*
 * TCP_NODELAY on the relay connection just opened.  libesmtp writes a
 * message in 2,048-byte pieces and keeps its socket to itself: with
 * Nagle's algorithm the last piece of any message over 2 KB waited for
 * the relay's delayed ACK, 40 ms a message (docs/notify.md).  The
 * socket is not reachable through the API, so every TCP socket of the
 * process gets the option: libpq sets it on its own TCP sockets anyway.
 */
static void nodelay_tcp_sockets(void)
{
	long max = sysconf(_SC_OPEN_MAX);

	if (max < 0 || max > 4096)
		max = 4096;
	for (int fd = 3; fd < max; fd++) {
		int domain = 0, type = 0, on = 1;
		socklen_t l = sizeof(int);

		if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &l) < 0 ||
		    (domain != AF_INET && domain != AF_INET6))
			continue;
		l = sizeof(int);
		if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &l) < 0 ||
		    type != SOCK_STREAM)
			continue;
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	}
}

static void event_cb(smtp_session_t session, int event, void *arg, ...)
{
	struct sender *s = arg;
	va_list ap;

	(void)session;
	va_start(ap, arg);
	switch (event) {
	case SMTP_EV_CONNECT:
		nodelay_tcp_sockets();
		break;
	case SMTP_EV_RCPTSTATUS: {
		/* A refused recipient decides its message. */
		const char *mailbox = va_arg(ap, const char *);
		smtp_recipient_t rcpt = va_arg(ap, smtp_recipient_t);
		struct outgoing *o = smtp_recipient_get_application_data(rcpt);
		const smtp_status_t *st = smtp_recipient_status(rcpt);

		(void)mailbox;
		if (o != NULL && st != NULL && st->code >= 400)
			record(s, o->n, st->code, st->text);
		group_flush_due(s);
		break;
	}
	case SMTP_EV_MESSAGESENT: {
		/* The answer to the data (or to DATA itself). */
		smtp_message_t msg = va_arg(ap, smtp_message_t);
		struct outgoing *o = smtp_message_get_application_data(msg);
		const smtp_status_t *st = smtp_message_transfer_status(msg);

		/* A part accepted decides nothing while parts remain. */
		if (o != NULL && st != NULL && st->code != 0 &&
		    !(st->code < 400 && o->part + 1 < o->n->nparts))
			record(s, o->n, st->code, st->text);
		group_flush_due(s);
		break;
	}
	case SMTP_EV_INVALID_PEER_CERTIFICATE: {
		long result = va_arg(ap, long);
		int *ok = va_arg(ap, int *);

		(void)result;
		*ok = !s->run->cfg->smtp.verify_peer;
		break;
	}
	case SMTP_EV_NO_PEER_CERTIFICATE:
	case SMTP_EV_WRONG_PEER_CERTIFICATE: {
		int *ok = va_arg(ap, int *);

		*ok = !s->run->cfg->smtp.verify_peer;
		break;
	}
	default:
		break;
	}
	va_end(ap);
}

static int auth_interact(auth_client_request_t req, char **result, int n,
			 void *arg)
{
	struct sender *s = arg;
	static __thread char *password;

	if (password == NULL &&
	    config_read_password(s->run->cfg, &password) < 0)
		return 0;
	for (int i = 0; i < n; i++) {
		if (req[i].flags & AUTH_USER)
			result[i] = (char *)s->run->cfg->smtp.username;
		else if (req[i].flags & AUTH_PASS)
			result[i] = password ? password : (char *)"";
		else
			return 0;
	}
	return 1;
}

/*
 * libesmtp's connect() blocks for the kernel's SYN retries (about two
 * minutes) when the relay does not answer, and has no timeout of its own:
 * check once, within smtp.timeout (at most 30 s), that the relay accepts
 * connections before any sender starts.  0, or -1 (logged).
 */
static int relay_reachable(const struct config *cfg)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai;
	long long ms =
		cfg->smtp.timeout_ms > 30000 ? 30000 : cfg->smtp.timeout_ms;
	char port[16], why[160] = "no address";
	int e;

	snprintf(port, sizeof(port), "%lld", (long long)cfg->smtp.port);
	e = getaddrinfo(cfg->smtp.host, port, &hints, &ai);
	if (e != 0)
		return log_error("smtp.host \"%s\": %s", cfg->smtp.host,
				 gai_strerror(e));
	for (struct addrinfo *a = ai; a != NULL; a = a->ai_next) {
		int fd = socket(a->ai_family,
				a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
				a->ai_protocol);
		struct pollfd pfd = { .fd = fd, .events = POLLOUT };
		int err = 0, r = 1;
		socklen_t len = sizeof(err);

		if (fd < 0)
			continue;
		if (connect(fd, a->ai_addr, a->ai_addrlen) < 0) {
			if (errno == EINPROGRESS)
				r = poll(&pfd, 1, (int)ms);
			else
				err = errno;
		}
		if (err == 0 && r == 0)
			err = ETIMEDOUT;
		else if (err == 0 && r < 0)
			err = errno;
		else if (err == 0 &&
			 getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
			err = errno;
		close(fd);
		if (err == 0) {
			freeaddrinfo(ai);
			return 0;
		}
		snprintf(why, sizeof(why), "%s", strerror(err));
	}
	freeaddrinfo(ai);
	return log_error("cannot reach the SMTP relay %s:%lld within %lld ms: "
			 "%s; nothing was sent",
			 cfg->smtp.host, (long long)cfg->smtp.port, ms, why);
}

static bool host_is_loopback(const char *host)
{
	return strcmp(host, "localhost") == 0 ||
	       strncmp(host, "127.", 4) == 0 || strcmp(host, "::1") == 0 ||
	       strcmp(host, "[::1]") == 0;
}

/*
 * Sends the batch over one SMTP connection.  Every message gets an
 * outcome: the relay's answer, or a retry when it gave none.  All of
 * them are committed when this returns.
 */
/*
 * Returns our claims on the n notices of ids to the queue as they were
 * (pending, or retry with its due time).  The number returned, or -1.
 */
static long long return_claims(struct db *db, const char *worker,
			       const long long *ids, size_t n)
{
	struct pgarray arr = { 0 };
	const char *params[2];
	char v[32];
	PGresult *res;
	long long done;

	for (size_t i = 0; i < n; i++) {
		snprintf(v, sizeof(v), "%lld", ids[i]);
		pgarray_add(&arr, v);
	}
	params[0] = pgarray_end(&arr);
	params[1] = worker;
	res = db_query(db,
		       "UPDATE notice_queue q SET state = CASE n.state"
		       " WHEN 'retry' THEN 'retry' ELSE 'pending' END,"
		       " lease_until = NULL, worker = NULL FROM notice n"
		       " WHERE n.id = q.notice_id AND q.notice_id = ANY ($1)"
		       " AND q.state = 'claimed' AND q.worker = $2",
		       2, params);
	free(arr.p);
	if (res == NULL)
		return -1;
	done = strtoll(PQcmdTuples(res), NULL, 10);
	PQclear(res);
	return done;
}

static void send_batch(struct sender *s)
{
	const struct config *cfg = s->run->cfg;
	size_t nout = 0, k = 0;
	struct outgoing *out;
	long long *unsent = xcalloc(s->n, sizeof(*unsent));
	size_t nunsent = 0;
	smtp_session_t session = smtp_create_session();
	auth_context_t auth = NULL;
	char server[300], why[256];
	const char *mode = cfg->smtp.starttls;
	enum starttls_option tls;
	long t = (long)cfg->smtp.timeout_ms;

	snprintf(server, sizeof(server), "%s:%lld", cfg->smtp.host,
		 cfg->smtp.port);
	smtp_set_server(session, server);
	if (cfg->smtp.helo[0] != '\0')
		smtp_set_hostname(session, cfg->smtp.helo);
	/* libesmtp's timeouts are milliseconds. */
	for (int w = Timeout_GREETING; w <= Timeout_DATA2; w++)
		smtp_set_timeout(session, w | Timeout_OVERRIDE_RFC2822_MINIMUM,
				 t);
	if (strcmp(mode, "none") == 0)
		tls = Starttls_DISABLED;
	else if (strcmp(mode, "optional") == 0 ||
		 (strcmp(mode, "auto") == 0 &&
		  host_is_loopback(cfg->smtp.host)))
		tls = Starttls_ENABLED;
	else
		tls = Starttls_REQUIRED;
	/* An application-owned context per session (libesmtp issue #30). */
	smtp_starttls_set_ctx(session, s->ssl);
	smtp_starttls_enable(session, tls);
	smtp_set_eventcb(session, event_cb, s);
	if (cfg->smtp.username[0] != '\0') {
		auth = auth_create_context();
		auth_set_mechanism_flags(auth, AUTH_PLUGIN_PLAIN, 0);
		auth_set_interact_cb(auth, auth_interact, s);
		smtp_auth_set_context(session, auth);
	}
	/* One SMTP message per part; a notice's parts go in order. */
	for (size_t i = 0; i < s->n; i++)
		nout += s->batch[i].nparts ? s->batch[i].nparts : 1;
	out = xcalloc(nout, sizeof(*out));
	for (size_t i = 0; i < s->n; i++) {
		if (s->batch[i].done)
			continue;
		for (size_t p = 0; p < s->batch[i].nparts; p++) {
			struct outgoing *o = &out[k++];

			o->s = s;
			o->n = &s->batch[i];
			o->part = p;
			o->msg = smtp_add_message(session);
			smtp_set_reverse_path(o->msg,
					      verp_sender(&s->run->common,
							  o->n->id, o->sender,
							  sizeof(o->sender)));
			o->rcpt =
				smtp_add_recipient(o->msg, s->batch[i].address);
			/* The events name the message or recipient they are
			 * about. */
			smtp_message_set_application_data_release(o->msg, o,
								  NULL);
			smtp_recipient_set_application_data_release(o->rcpt, o,
								    NULL);
			smtp_set_messagecb(o->msg, message_cb, o);
		}
	}
	if (!smtp_start_session(session)) {
		smtp_strerror(smtp_errno(), why, sizeof(why));
	} else {
		snprintf(why, sizeof(why),
			 "connection ended before the server answered");
	}
	/* Answers that came without their event, then: whatever got no
	 * answer is retried, it was not accepted. */
	for (size_t i = 0; i < k; i++) {
		const smtp_status_t *st;

		if (out[i].n == NULL || out[i].n->done)
			continue;
		st = smtp_message_transfer_status(out[i].msg);
		if (s->lease_over &&
		    (out[i].cancelled || st == NULL || st->code == 0)) {
			/* never delivered: back to the queue below (a
			 * notice's parts are next to each other; a later
			 * part cut off sends them all again, as a retry
			 * would) */
			if (nunsent == 0 || unsent[nunsent - 1] != out[i].n->id)
				unsent[nunsent++] = out[i].n->id;
			continue;
		}
		st = smtp_recipient_status(out[i].rcpt);
		if (st != NULL && st->code >= 400) {
			record(s, out[i].n, st->code, st->text);
			continue;
		}
		/*
		 * MAIL FROM refused (no AUTH, a bad login, our sender): the
		 * relay's verdict on us, not on the recipient.  Retried like
		 * a lost connection, never failed for good at once, and said
		 * once per run so the operator can fix it.
		 */
		st = smtp_reverse_path_status(out[i].msg);
		if (st != NULL && st->code >= 400) {
			char text[300];

			snprintf(text, sizeof(text), "MAIL FROM refused: %d %s",
				 st->code, st->text ? st->text : "");
			if (!atomic_exchange(&s->run->mail_refused_told, true))
				log_warn("the relay refused MAIL FROM: %d %.*s "
					 "(check smtp.username, "
					 "smtp.password_file and mailer.from); "
					 "the notices are retried",
					 st->code,
					 (int)strcspn(st->text ? st->text : "",
						      "\r\n"),
					 st->text ? st->text : "");
			record(s, out[i].n, 0, text);
			continue;
		}
		st = smtp_message_transfer_status(out[i].msg);
		if (st != NULL && st->code >= 200 && st->code < 400 &&
		    out[i].part + 1 < out[i].n->nparts)
			continue; /* a part accepted: the later parts decide */
		if (st != NULL && st->code != 0)
			record(s, out[i].n, st->code, st->text);
		else
			record(s, out[i].n, 0, why);
	}
	group_flush(s);
	group_wait(s);
	if (nunsent > 0 && !s->db_failed &&
	    return_claims(s->db, s->run->worker, unsent, nunsent) < 0)
		s->db_failed = true; /* they return when their lease ends */
	free(unsent);
	smtp_destroy_session(session);
	if (auth != NULL)
		auth_destroy_context(auth);
	free(out);
}

/* Claims up to max due notices after notice id floor, with their
 * certificates. */
static int claim_after(struct sender *s, size_t max, long long floor)
{
	const struct run *run = s->run;
	char id[32], lease[48], lim[32], from[32];
	const char *params[6] = { id,  run->opt->kind, lease, run->worker, lim,
				  from };
	PGconn *conn = db_get0_conn(s->db);
	PGresult *res;

	snprintf(id, sizeof(id), "%lld", run->common.inc->id);
	snprintf(lease, sizeof(lease), "%lld milliseconds",
		 run->cfg->mailer.lease_ms);
	snprintf(lim, sizeof(lim), "%zu", max);
	snprintf(from, sizeof(from), "%lld", floor);
	s->n = 0;
	res = PQexecPrepared(conn, "certrecall_claim", 6, params, NULL, NULL,
			     0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		log_error("database: claiming notices: %.*s",
			  (int)strcspn(PQresultErrorMessage(res), "\n"),
			  PQresultErrorMessage(res));
		PQclear(res);
		return -1;
	}
	for (int r = 0; r < PQntuples(res); r++) {
		long long nid = strtoll(PQgetvalue(res, r, 0), NULL, 10);
		struct notice *n = s->n > 0 ? &s->batch[s->n - 1] : NULL;

		if (n == NULL || n->id != nid) {
			if (s->n == max)
				break; /* LIMIT max: cannot happen */
			n = &s->batch[s->n++];
			notice_from_row(n, res, r);
			n->certs = json_array();
		}
		if (!PQgetisnull(res, r, 5)) /* the serial: a certificate */
			json_array_append_new(n->certs,
					      cert_from_row(res, r, 4));
	}
	PQclear(res);
	return 0;
}

/*
 * Claims up to max due notices.  The queue is read in id order, and
 * sent notices leave dead index entries at its head until a vacuum,
 * which every claim from the start would step over again: so a claim
 * starts after the highest id this process has claimed (everything
 * below it was claimed, finished or not yet due when a claim passed
 * it), and reads from the start only when that finds nothing and
 * planning is over: for retries come due, leases expired, and notices
 * another process planned meanwhile.
 */
static int claim(struct sender *s, size_t max, bool planning)
{
	struct run *run = s->run;
	long long floor = atomic_load(&run->claim_floor);

	if (claim_after(s, max, floor) < 0)
		return -1;
	if (s->n == 0 && floor > 0 && !planning && claim_after(s, max, 0) < 0)
		return -1;
	for (size_t i = 0; i < s->n; i++) {
		long long id = s->batch[i].id;
		long long seen = atomic_load(&run->claim_floor);

		while (id > seen && !atomic_compare_exchange_weak(
					    &run->claim_floor, &seen, id))
			;
	}
	return 0;
}

/*
 * Says, once per run, whose live leases hold notices this run cannot
 * send, and until when: waiting up to mailer.lease in silence looked
 * like a hung run (a run that stopped without giving its claims back
 * leaves such leases too).
 */
static void leases_tell(struct run *run, long long n, const char *workers,
			time_t until)
{
	char when[UTCTIME_BUFSZ];

	atomic_store(&run->leased_until, (long long)until);
	atomic_store(&run->leased, n);
	if (atomic_exchange(&run->leases_told, true))
		return;
	if (utctime_format_rfc3339(until, when, sizeof(when)) < 0)
		log_error("cannot format time %lld", (long long)(until));
	log_warn("%lld notice%s leased by %.200s until %s; %s", n,
		 n == 1 ? "" : "s", workers, when,
		 run->opt->wait ? "waiting (they are sent here if the lease "
				  "ends first)"
				: "not waiting (--no-wait)");
}

/*
 * Seconds until more work could be due: 0 = none left for anyone (or
 * none this run waits for, with --no-wait).
 */
static double wait_hint(struct sender *s)
{
	char id[32];
	const char *params[3] = { id, s->run->opt->kind, s->run->worker };
	PGresult *res;
	double wait = 0;

	snprintf(id, sizeof(id), "%lld", s->run->common.inc->id);
	res = db_query(s->db,
		       "SELECT extract(epoch FROM min(CASE state"
		       " WHEN 'retry' THEN due_at"
		       " ELSE lease_until END) - now()),"
		       " count(*) FILTER (WHERE state = 'claimed'"
		       "  AND lease_until > now()),"
		       " extract(epoch FROM max(lease_until) FILTER"
		       "  (WHERE lease_until > now()))::bigint,"
		       " string_agg(DISTINCT worker, ', ') FILTER"
		       "  (WHERE state = 'claimed' AND lease_until > now())"
		       " FROM notice_queue WHERE incident_id = $1 AND kind = $2"
		       /* our own threads' claims end with them */
		       " AND NOT (state = 'claimed' AND worker = $3)",
		       3, params);
	if (res == NULL)
		return -1;
	if (!PQgetisnull(res, 0, 0)) {
		wait = strtod(PQgetvalue(res, 0, 0), NULL);
		if (wait < 0.05)
			wait = 0.05;
		if (wait > 5)
			wait = 5; /* look again: others may finish */
	}
	if (db_get_llong(res, 0, 1) > 0)
		leases_tell(s->run, db_get_llong(res, 0, 1),
			    PQgetvalue(res, 0, 3),
			    (time_t)db_get_llong(res, 0, 2));
	else
		atomic_store(&s->run->leased, 0);
	PQclear(res);
	return s->run->opt->wait ? wait : 0;
}

/* Keeps the ids of the sender's claimed notices that were never handed
 * to the relay, for give_back() when the run ends. */
static void giveback_add(struct sender *s)
{
	struct run *run = s->run;

	pthread_mutex_lock(&run->giveback_lock);
	for (size_t i = 0; i < s->n; i++) {
		if (s->batch[i].done)
			continue;
		xgrow(&run->giveback, &run->giveback_cap, run->ngiveback + 1,
		      sizeof(*run->giveback));
		run->giveback[run->ngiveback++] = s->batch[i].id;
	}
	pthread_mutex_unlock(&run->giveback_lock);
}

/*
 * A run that stops returns what it claimed and did not send to the queue,
 * as it was (pending, or retry with its due time): the next run sends
 * them at once instead of waiting mailer.lease for the lease to end.
 * Only our own claims (worker) are touched.  Notices that reached the
 * relay keep their lease: their outcome may be unrecorded, and sending
 * them again could duplicate a message.
 */
static int give_back(struct db *db, struct run *run)
{
	long long n;

	if (run->ngiveback == 0)
		return 0;
	n = return_claims(db, run->worker, run->giveback, run->ngiveback);
	if (n < 0)
		return log_error("%zu notices claimed by this run stay claimed "
				 "until their lease ends (mailer.lease)",
				 run->ngiveback);
	log_info("%lld notices claimed by this run returned to the queue", n);
	return 0;
}

static void *sender_main(void *arg)
{
	struct sender *s = arg;
	struct run *run = s->run;

	s->batch = xcalloc(run->claim_max, sizeof(*s->batch));
	s->group = xcalloc(run->claim_max, sizeof(*s->group));
	while (!atomic_load(&run->stop)) {
		size_t max = run->claim_max;
		time_t now = run->opt->at ? run->opt->at : clock_now();
		bool planning;
		long long slices;

		if (run->opt->limit > 0) {
			/* Reserve before claiming: threads race for the
			 * same --limit. */
			long long before =
				atomic_fetch_add(&run->claimed, (long long)max);
			long long left = run->opt->limit - before;

			if (left <= 0) {
				atomic_fetch_sub(&run->claimed, (long long)max);
				break;
			}
			if ((long long)max > left) {
				atomic_fetch_sub(&run->claimed,
						 (long long)max - left);
				max = (size_t)left;
			}
		}
		/* Read before the claim: if planning was over then, the
		 * claim saw every notice it made. */
		slices = atomic_load(&run->slices);
		planning = atomic_load(&run->planning);
		s->claimed_at = mono_now();
		s->lease_over = false;
		if (claim(s, max, planning) < 0)
			goto fail;
		if (run->opt->limit > 0) /* give back what was not there */
			atomic_fetch_sub(&run->claimed,
					 (long long)(max - s->n));
		if (s->n == 0 && planning) {
			/* Claim again when the next slice is there rather
			 * than ask the database in a loop. */
			while (atomic_load(&run->slices) == slices &&
			       atomic_load(&run->planning) &&
			       !atomic_load(&run->stop))
				sleep_seconds(0.005);
			continue;
		}
		if (s->n == 0) {
			double w = wait_hint(s);

			if (w < 0)
				goto fail;
			if (w == 0)
				break;
			sleep_seconds(w);
			continue;
		}
		if (load_locales(s->db, s->batch, s->n) < 0)
			goto fail;
		for (size_t i = 0; i < s->n; i++) {
			if (compose_notice_parts(&run->common, &s->batch[i],
						 now) < 0) {
				/* the data, not the moment: a retry fails
				 * the same way */
				atomic_store(&run->data_error, true);
				goto fail;
			}
		}
		send_batch(s);
		for (size_t i = 0; i < s->n; i++)
			notice_release(&s->batch[i]);
		s->n = 0;
		if (s->db_failed)
			goto fail;
	}
	goto out;
fail:
	/* Claimed work goes back when the run ends (give_back). */
	giveback_add(s);
	atomic_fetch_add(&run->errors, 1);
	atomic_store(&run->stop, true);
out:
	for (size_t i = 0; i < s->n; i++)
		notice_release(&s->batch[i]);
	free(s->batch);
	free(s->group);
	return NULL;
}

/*
 * Notices per claim: mailer.batch, but when --rate spreads the messages
 * out, no more than every connection can send in half a lease, or a
 * claim would outlive its lease and another worker send it too.
 */
static size_t claim_size(const struct config *cfg,
			 const struct mailer_options *opt)
{
	long long max = cfg->mailer.batch;

	if (opt->rate > 0) {
		long long fit = opt->rate * cfg->mailer.lease_ms / 1000 / 2 /
				opt->connections;

		if (fit < 1)
			fit = 1;
		if (max > fit)
			max = fit;
	}
	return (size_t)max;
}

/* Notices of one kind of the incident in the given states (fixed SQL). */
static long long count_notices(struct db *db, const struct incident *inc,
			       const char *kind, const char *states)
{
	char id[32], sql[256];
	const char *params[2] = { id, kind };
	PGresult *res;
	long long n;

	snprintf(id, sizeof(id), "%lld", inc->id);
	snprintf(sql, sizeof(sql),
		 "SELECT count(*) FROM notice WHERE incident_id = $1"
		 " AND kind = $2 AND state IN (%s)",
		 states);
	res = db_query(db, sql, 2, params);
	if (res == NULL)
		return -1;
	n = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return n;
}

static int record_run_event(struct db *db, const struct incident *inc,
			    const struct mailer_options *opt,
			    const struct mailer_stats *st)
{
	char kind[64];
	json_t *d =
		json_pack("{s:s,s:I,s:I,s:I,s:I,s:I,s:f}", "kind", opt->kind,
			  "planned", (json_int_t)st->planned, "sent",
			  (json_int_t)st->sent, "retry", (json_int_t)st->retry,
			  "failed", (json_int_t)st->failed, "no_address",
			  (json_int_t)st->no_address, "seconds", st->seconds);
	char *text = json_dumps(d, JSON_COMPACT);
	int rc;

	snprintf(kind, sizeof(kind), "notify.%s", opt->kind);
	rc = db_event_add(db, inc->id, kind, text);
	free(text);
	json_decref(d);
	return rc;
}

static int dry_run(struct db *db, const struct config *cfg,
		   const struct incident *inc, const struct mailer_options *opt,
		   struct mailer_stats *st);

int mailer_run(struct db *db, const struct config *cfg,
	       const struct incident *inc, const struct mailer_options *opt,
	       struct mailer_stats *st)
{
	struct run run = { .cfg = cfg, .opt = opt };
	struct plan plan;
	struct sender *senders = NULL;
	pthread_t *threads = NULL;
	bool *joined = NULL;
	struct progress *prog = NULL;
	char host[96];
	double t0 = mono_now();
	long long due;
	int started = 0;
	int rc = -1;

	memset(st, 0, sizeof(*st));
	if (opt->dry_run_dir != NULL)
		return dry_run(db, cfg, inc, opt, st);
	pthread_mutex_init(&run.giveback_lock, NULL);
	rc = common_init(&run.common, cfg, inc, opt->kind);
	if (rc < 0)
		goto out;
	rc = -1;
	if (relay_reachable(cfg) < 0)
		goto out;
	if (cfg->smtp.username[0] != '\0')
		auth_client_init();
	/*
	 * Planning goes on in slices while the first ones are sent.  Fresh
	 * statistics after the first, or the first claims of a big run are
	 * planned for the empty table autovacuum last saw.
	 */
	if (plan_begin(&plan, db, inc, opt->kind, run.common.must_by) < 0 ||
	    plan_slice(&plan) < 0)
		goto out;
	if (plan.created > 0 &&
	    db_exec(db, "ANALYZE notice, notice_certificate, notice_queue") < 0)
		goto out;
	atomic_store(&run.planning, plan.sliced < plan.addresses);
	due = count_notices(db, inc, opt->kind,
			    "'pending', 'retry', 'claimed'");
	if (due < 0)
		goto out;
	if (plan.addresses > plan.sliced)
		due += plan.addresses - plan.sliced;
	if (opt->limit > 0 && due > opt->limit)
		due = opt->limit;
	if (gethostname(host, sizeof(host)) < 0)
		snprintf(host, sizeof(host), "unknown");
	host[sizeof(host) - 1] = '\0';
	snprintf(run.worker, sizeof(run.worker), "%s:%d", host, (int)getpid());
	run.claim_max = claim_size(cfg, opt);
	pthread_mutex_init(&run.rate_lock, NULL);
	senders = xcalloc((size_t)opt->connections, sizeof(*senders));
	threads = xcalloc((size_t)opt->connections, sizeof(*threads));
	for (int i = 0; i < opt->connections; i++) {
		senders[i].run = &run;
		senders[i].db = db_connect_config(cfg);
		senders[i].ssl = SSL_CTX_new(TLS_client_method());
		if (senders[i].db == NULL || senders[i].ssl == NULL ||
		    statements_prepare(senders[i].db) < 0)
			goto join;
		SSL_CTX_set_verify(senders[i].ssl,
				   cfg->smtp.verify_peer ? SSL_VERIFY_PEER
							 : SSL_VERIFY_NONE,
				   NULL);
		if (cfg->smtp.verify_peer)
			SSL_CTX_set_default_verify_paths(senders[i].ssl);
	}
	if (opt->progress && due > 0)
		prog = progress_new("notify", (uint64_t)due);
	for (int i = 0; i < opt->connections; i++) {
		if (pthread_create(&threads[i], NULL, sender_main,
				   &senders[i]) != 0) {
			log_error("cannot start a sending thread");
			atomic_store(&run.stop, true);
			break;
		}
		started++;
	}
	/* The main thread shows progress until the senders finish. */
	joined = xcalloc((size_t)opt->connections, sizeof(*joined));
	for (;;) {
		long long s = atomic_load(&run.sent),
			  f = atomic_load(&run.failed),
			  r = atomic_load(&run.retry);
		bool alive = false;
		char note[160];

		for (int i = 0; i < started; i++) {
			if (!joined[i])
				joined[i] = pthread_tryjoin_np(threads[i],
							       NULL) == 0;
			alive |= !joined[i];
		}
		if (prog != NULL) {
			long long l = atomic_load(&run.leased);
			char until[UTCTIME_BUFSZ];
			int k = snprintf(note, sizeof(note),
					 "sent %lld failed %lld retrying %lld",
					 s, f, r);

			if (l > 0 && k > 0 && (size_t)k < sizeof(note)) {
				if (utctime_format_rfc3339(
					    (time_t)atomic_load(
						    &run.leased_until),
					    until, sizeof(until)) < 0)
					log_error("cannot format the lease "
						  "time");
				snprintf(note + k, sizeof(note) - (size_t)k,
					 ", waiting for %lld leased until %s",
					 l, until);
			}
			progress_set_note(prog, note);
			progress_update(prog, (uint64_t)(s + f));
		}
		/* Planning ends even when the senders are done early
		 * (--limit): every notice of the kind exists after a run. */
		if (!alive && !atomic_load(&run.planning))
			break;
		if (atomic_load(&run.planning)) {
			int more =
				atomic_load(&run.stop) ? 0 : plan_slice(&plan);

			if (more < 0) {
				atomic_fetch_add(&run.errors, 1);
				atomic_store(&run.stop, true);
			}
			if (more > 0)
				atomic_fetch_add(&run.slices, 1);
			/* After the last slice's commit: a claim that sees
			 * nothing now means nothing is left. */
			if (more <= 0)
				atomic_store(&run.planning, false);
		} else {
			usleep(100 * 1000);
		}
	}
	started = 0; /* all joined by tryjoin */
	if (plan_finish(&plan) < 0)
		atomic_fetch_add(&run.errors, 1);
	rc = atomic_load(&run.errors) == 0  ? 0
	     : atomic_load(&run.data_error) ? MAILER_ERR_DATA
					    : MAILER_ERR_TEMP;
join:
	atomic_store(&run.stop, true);
	for (int i = 0; i < started; i++)
		pthread_join(threads[i], NULL);
	if (prog != NULL)
		progress_finish(prog);
	if (give_back(db, &run) < 0)
		rc = -1;
	for (int i = 0; i < opt->connections && senders; i++) {
		db_close(senders[i].db);
		SSL_CTX_free(senders[i].ssl);
	}
	pthread_mutex_destroy(&run.rate_lock);
	st->planned = plan.created;
	st->sent = atomic_load(&run.sent);
	st->failed = atomic_load(&run.failed);
	st->retry = atomic_load(&run.retry);
	st->no_address = count_notices(db, inc, opt->kind, "'no-address'");
	st->seconds = mono_now() - t0;
	if (record_run_event(db, inc, opt, st) < 0)
		rc = -1;
out:
	free(senders);
	free(threads);
	free(joined);
	free(run.giveback);
	pthread_mutex_destroy(&run.giveback_lock);
	common_release(&run.common);
	return rc;
}

/* ---- previews, dry runs and plans: nothing is kept ---------------- */

/* The due notices, or (%s = address) the one for an address, sent or
 * not: a preview may show what went out. */
static const char select_due_notices[] =
	"SELECT id, address, to_json(accounts), attempts"
	" FROM notice WHERE incident_id = $1 AND kind = $2"
	" AND %s ORDER BY id";

/* Composes the due notices (or the one for address) inside a transaction
 * that is rolled back; calls emit for each. */
static int compose_uncommitted(struct db *db, const struct config *cfg,
			       const struct incident *inc, const char *kind,
			       const char *address, time_t at,
			       int (*emit)(const struct notice *n, void *arg),
			       void *arg, long long *count)
{
	struct notice_common common;
	char id[32], sql[512];
	const char *params[3] = { id, kind, address };
	struct notice *ns = NULL;
	long long created;
	time_t now = at ? at : clock_now();
	PGresult *res = NULL;
	int n = 0, rc = -1;

	*count = 0;
	rc = common_init(&common, cfg, inc, kind);
	if (rc < 0)
		goto out;
	rc = -1;
	snprintf(id, sizeof(id), "%lld", inc->id);
	if (db_begin(db) < 0)
		goto out;
	if (plan(db, inc, kind, common.must_by, &created) < 0)
		goto rollback;
	snprintf(sql, sizeof(sql), select_due_notices,
		 address ? "address = $3"
			 : "state IN ('pending', 'retry', 'claimed')");
	res = db_query(db, sql, address ? 3 : 2, params);
	if (res == NULL)
		goto rollback;
	n = PQntuples(res);
	if (address != NULL && n == 0) {
		log_error("no %s notice for %s in incident %s (is it a contact "
			  "of an affected account?)",
			  kind, address, inc->slug);
		rc = MAILER_ERR_DATA;
		goto rollback;
	}
	ns = xcalloc((size_t)n + 1, sizeof(*ns));
	for (int i = 0; i < n; i++)
		notice_from_row(&ns[i], res, i);
	/* In slices, so memory stays bounded on a large incident. */
	for (int i = 0; i < n; i += 500) {
		int k = n - i < 500 ? n - i : 500;

		if (load_certificates(db, ns + i, (size_t)k) < 0 ||
		    load_locales(db, ns + i, (size_t)k) < 0)
			goto rollback;
		for (int j = i; j < i + k; j++) {
			if (compose_notice_parts(&common, &ns[j], now) < 0 ||
			    emit(&ns[j], arg) < 0)
				goto rollback;
			(*count)++;
			notice_release(&ns[j]);
		}
	}
	rc = 0;
rollback:
	db_rollback(db);
out:
	for (int i = 0; ns && i < n; i++)
		notice_release(&ns[i]);
	free(ns);
	PQclear(res);
	common_release(&common);
	return rc;
}

static int emit_stream(const struct notice *n, void *arg)
{
	FILE *out = arg;

	for (size_t i = 0; i < n->nparts; i++) {
		size_t len;
		const char *m = notice_part(n, i, &len);

		if (fwrite(m, 1, len, out) != len)
			return -1;
	}
	return 0;
}

int mailer_preview(struct db *db, const struct config *cfg,
		   const struct incident *inc, const char *kind,
		   const char *address, time_t at, FILE *out)
{
	long long count;

	return compose_uncommitted(db, cfg, inc, kind, address, at, emit_stream,
				   out, &count);
}

static int emit_file(const struct notice *n, void *arg)
{
	const char *dir = arg;
	char path[PATH_MAX];
	FILE *f;
	int rc = 0;

	/* The address goes into a file name: keep only safe bytes. */
	snprintf(path, sizeof(path), "%s/%08lld-", dir, n->id);
	for (const char *p = n->address; *p; p++) {
		size_t l = strlen(path);
		char ch = (*p >= 'a' && *p <= 'z') ||
					  (*p >= '0' && *p <= '9') ||
					  *p == '@' || *p == '.' || *p == '-'
				  ? *p
				  : '_';

		if (l + 5 < sizeof(path)) {
			path[l] = ch;
			path[l + 1] = '\0';
		}
	}
	if (strlen(path) + 5 > sizeof(path))
		return log_error("%s: file name too long", dir);
	memcpy(path + strlen(path), ".eml", 5);
	f = fopen(path, "w");
	if (f == NULL)
		return log_error("%s: cannot create: %s", path,
				 strerror(errno));
	if (fwrite(n->message, 1, n->len, f) != n->len)
		rc = -1;
	if (fclose(f) != 0 || rc < 0)
		return log_error("%s: cannot write: %s", path, strerror(errno));
	return 0;
}

static int dry_run(struct db *db, const struct config *cfg,
		   const struct incident *inc, const struct mailer_options *opt,
		   struct mailer_stats *st)
{
	struct stat sb;
	double t0 = mono_now();
	int rc;

	if (mkdir(opt->dry_run_dir, 0755) < 0 && errno != EEXIST)
		return log_error("%s: cannot create: %s", opt->dry_run_dir,
				 strerror(errno));
	if (stat(opt->dry_run_dir, &sb) < 0 || !S_ISDIR(sb.st_mode))
		return log_error("%s: not a directory", opt->dry_run_dir);
	rc = compose_uncommitted(db, cfg, inc, opt->kind, NULL, opt->at,
				 emit_file, (void *)opt->dry_run_dir,
				 &st->composed);
	st->seconds = mono_now() - t0;
	return rc;
}

int mailer_plan_count(struct db *db, const struct incident *inc,
		      struct mailer_plan_row rows[MAILER_NKINDS])
{
	struct deadline_rule rule;
	char id[32], err[512], must[UTCTIME_BUFSZ];
	char fresh[3][2][32]; /* per kind: new addresses, new no-address */
	time_t must_by;
	int rc = -1;

	if (deadline_resolve(inc->reason, inc->aware_at, &rule, err,
			     sizeof(err)) < 0)
		return log_error("incident %s: %s", inc->slug, err);
	must_by = deadline_must_by(&rule,
				   incident_revoke_start(inc, &rule, NULL));
	snprintf(id, sizeof(id), "%lld", inc->id);
	if (utctime_format_rfc3339(must_by, must, sizeof(must)) < 0)
		log_error("cannot format time %lld", (long long)(must_by));
	/* One snapshot for all the counts. */
	if (db_exec(db, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY") < 0)
		return -1;
	/*
	 * A forecast is a count, not a rehearsal of the inserts: the
	 * notices that exist, plus the ones planning would create (an
	 * address of the kind's accounts without a notice of the kind:
	 * due, with today's deadline; an account without any address and
	 * without its no-address record), counted by the same rules as
	 * plan(), for the three kinds in one pass over the certificates.
	 */
	{
		char sql[4096];
		const char *p1[1] = { id };
		int len = snprintf(
			sql, sizeof(sql),
			"WITH acct AS (SELECT account, bool_or(true%s) AS k0,"
			" bool_or(true%s) AS k1, bool_or(true%s) AS k2"
			" FROM certificate WHERE incident_id = $1"
			" AND account IS NOT NULL GROUP BY account),"
			" sub AS (SELECT a.*, s.emails FROM acct a"
			" LEFT JOIN subscriber s USING (account)),"
			" addr AS (SELECT x AS address, bool_or(k0) AS k0,"
			" bool_or(k1) AS k1, bool_or(k2) AS k2 FROM sub"
			" CROSS JOIN unnest(sub.emails) x GROUP BY x)"
			" SELECT",
			kind_filter(kinds[0]), kind_filter(kinds[1]),
			kind_filter(kinds[2]));
		PGresult *res;

		for (int k = 0; k < 3; k++)
			len += snprintf(
				sql + len, sizeof(sql) - (size_t)len,
				"%s (SELECT count(*) FROM addr WHERE k%d AND"
				" NOT EXISTS (SELECT 1 FROM notice n"
				" WHERE n.incident_id = $1 AND n.kind = '%s'"
				" AND n.address = addr.address)),"
				" (SELECT count(*) FROM sub WHERE k%d AND"
				" coalesce(cardinality(emails), 0) = 0"
				" AND NOT EXISTS (SELECT 1 FROM notice n"
				" WHERE n.incident_id = $1 AND n.kind = '%s'"
				" AND n.account = sub.account))",
				k ? "," : "", k, kinds[k], k, kinds[k]);
		res = db_query(db, sql, 1, p1);
		if (res == NULL)
			goto rollback;
		for (int k = 0; k < 3; k++) {
			snprintf(fresh[k][0], sizeof(fresh[k][0]), "%s",
				 PQgetvalue(res, 0, 2 * k));
			snprintf(fresh[k][1], sizeof(fresh[k][1]), "%s",
				 PQgetvalue(res, 0, 2 * k + 1));
		}
		PQclear(res);
	}
	for (size_t k = 0; k < MAILER_NKINDS; k++) {
		const char *params[5] = { id, kinds[k], must, fresh[k][0],
					  fresh[k][1] };
		struct mailer_plan_row *row = &rows[k];
		PGresult *res;
		char sql[2048];

		snprintf(sql, sizeof(sql),
			 "WITH fresh AS (SELECT $4::bigint AS a,"
			 " $5::bigint AS na),"
			 " old AS (SELECT count(*) FILTER (WHERE state IN"
			 " ('pending', 'retry', 'claimed')) AS due,"
			 " count(DISTINCT address) FILTER (WHERE state IN"
			 " ('pending', 'retry', 'claimed')) AS addrs,"
			 " count(*) FILTER (WHERE state = 'sent') AS sent,"
			 " count(*) FILTER (WHERE state = 'failed') AS failed,"
			 " count(*) FILTER (WHERE state = 'retry') AS retry,"
			 " count(*) FILTER (WHERE state = 'no-address') AS na,"
			 " min(deadline_stated) AS lo, max(deadline_stated) AS "
			 "hi"
			 " FROM notice WHERE incident_id = $1 AND kind = $2)"
			 " SELECT o.due + f.a, o.addrs + f.a, o.sent, o.failed,"
			 " o.retry, o.na + f.na,"
			 " extract(epoch FROM CASE WHEN f.a > 0 THEN"
			 " least(o.lo, $3::timestamptz) ELSE o.lo END)::bigint,"
			 " extract(epoch FROM CASE WHEN f.a > 0 THEN"
			 " greatest(o.hi, $3::timestamptz) ELSE o.hi "
			 "END)::bigint"
			 " FROM old o, fresh f");
		res = db_query(db, sql, 5, params);
		if (res == NULL)
			goto rollback;
		row->kind = kinds[k];
		row->due = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
		row->addresses = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
		row->sent = strtoll(PQgetvalue(res, 0, 2), NULL, 10);
		row->failed = strtoll(PQgetvalue(res, 0, 3), NULL, 10);
		row->retry = strtoll(PQgetvalue(res, 0, 4), NULL, 10);
		row->no_address = strtoll(PQgetvalue(res, 0, 5), NULL, 10);
		row->earliest = row->latest = DEADLINE_UNSET;
		if (!PQgetisnull(res, 0, 6)) {
			row->earliest = (time_t)strtoll(PQgetvalue(res, 0, 6),
							NULL, 10);
			row->latest = (time_t)strtoll(PQgetvalue(res, 0, 7),
						      NULL, 10);
		}
		PQclear(res);
	}
	rc = 0;
rollback:
	db_rollback(db); /* a plan is a forecast: nothing is kept */
	return rc;
}

int mailer_plan_report(struct db *db, const struct config *cfg,
		       const struct incident *inc, FILE *out)
{
	struct mailer_plan_row rows[MAILER_NKINDS];

	(void)cfg;
	if (mailer_plan_count(db, inc, rows) < 0)
		return -1;
	fprintf(out, "%-9s %8s %10s %8s %8s %8s %11s  %-21s %s\n", "KIND",
		"DUE", "ADDRESSES", "SENT", "FAILED", "RETRY", "NO-ADDRESS",
		"EARLIEST DEADLINE", "LATEST DEADLINE");
	for (size_t k = 0; k < MAILER_NKINDS; k++) {
		char lo[UTCTIME_BUFSZ] = "-", hi[UTCTIME_BUFSZ] = "-";

		if (rows[k].earliest != DEADLINE_UNSET) {
			if (utctime_format_rfc3339(rows[k].earliest, lo,
						   sizeof(lo)) < 0)
				log_error("cannot format time %lld",
					  (long long)(rows[k].earliest));
			if (utctime_format_rfc3339(rows[k].latest, hi,
						   sizeof(hi)) < 0)
				log_error("cannot format time %lld",
					  (long long)(rows[k].latest));
		}
		fprintf(out,
			"%-9s %8lld %10lld %8lld %8lld %8lld %11lld  %-21s "
			"%s\n",
			rows[k].kind, rows[k].due, rows[k].addresses,
			rows[k].sent, rows[k].failed, rows[k].retry,
			rows[k].no_address, lo, hi);
	}
	return 0;
}
