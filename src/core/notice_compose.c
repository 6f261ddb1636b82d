/*
 * notice_compose.c - the templates of the notices, what every notice of
 * a run shares, and the message of one notice, in parts when it is too
 * long (notice.h).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "certrecall/base/embedded.h"
#include "certrecall/base/log.h"
#include "certrecall/base/xalloc.h"
#include "certrecall/core/bounces.h"
#include "certrecall/core/compose.h"
#include "certrecall/core/config.h"
#include "certrecall/core/dkim.h"
#include "certrecall/core/notice.h"
#include "certrecall/core/template.h"

#define MAX_TEMPLATE (256 * 1024)

/* ---- templates ---------------------------------------------------- */

static const char *const notice_langs[NOTICE_LANGS] = { "ja" };

static void template_release(struct notice_template *t)
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

/* The built-in template name (e.g. "ja/reminder.html"), or NULL. */
static const char *builtin(const char *name, size_t *len)
{
	const char *text = NULL;

	for (size_t i = 0; i < embedded_templates_count; i++) {
		if (strcmp(embedded_templates[i].name, name) == 0) {
			text = embedded_templates[i].data;
			*len = embedded_templates[i].len;
		}
	}
	return text;
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
	int k;

	*t = NULL;
	if (!cfg->mailer.html)
		return 0;
	if (cfg->templates.dir[0] != '\0') {
		if (n < 4 || n + 2 > sizeof(path))
			return 0;
		k = snprintf(path, sizeof(path), "%.*s.html", (int)(n - 4),
			     txt_path);
		if (k < 0 || (size_t)k >= sizeof(path) ||
		    access(path, F_OK) != 0)
			return 0;
		owned = read_small_file(path, &len);
		if (owned == NULL)
			return -1;
		text = owned;
	} else {
		k = snprintf(name, sizeof(name), "%s/%s.html", lang, kind);
		if (k < 0 || (size_t)k >= sizeof(name))
			return 0; /* no such built-in */
		if (snprintf(path, sizeof(path), "(built-in %s)", name) < 0)
			return -1;
		text = builtin(name, &len);
		if (text == NULL)
			return 0;
	}
	*t = parse_part(path, 1, text, len);
	free(owned);
	return *t == NULL ? -1 : 0;
}

/*
 * The text of templates.dir/<lang>/<kind>.txt (for "en" also the older
 * templates.dir/<kind>.txt), or of the built-in <lang>/<kind>, with its
 * name for messages in path.  1 when there is none of that language,
 * -1 (logged) on error.
 */
static int template_text(const struct config *cfg, const char *kind,
			 const char *lang, char *path, size_t pathlen,
			 const char **text, size_t *len, char **owned)
{
	char name[64];
	int k;

	*owned = NULL;
	if (cfg->templates.dir[0] != '\0') {
		k = snprintf(path, pathlen, "%s/%s/%s.txt", cfg->templates.dir,
			     lang, kind);
		if (k < 0 || (size_t)k >= pathlen)
			return log_error("templates.dir \"%s\": path too long",
					 cfg->templates.dir);
		if (access(path, F_OK) != 0 && strcmp(lang, "en") != 0)
			return 1;
		if (access(path, F_OK) != 0) {
			k = snprintf(path, pathlen, "%s/%s.txt",
				     cfg->templates.dir, kind);
			if (k < 0 || (size_t)k >= pathlen)
				return log_error("templates.dir \"%s\": path "
						 "too long",
						 cfg->templates.dir);
		}
		*owned = read_small_file(path, len);
		*text = *owned;
		return *owned == NULL ? -1 : 0;
	}
	k = snprintf(name, sizeof(name), "%s/%s", lang, kind);
	if (k < 0 || (size_t)k >= sizeof(name) ||
	    snprintf(path, pathlen, "(built-in %s/%s.txt)", lang, kind) < 0)
		return log_error("no built-in template for %s", kind);
	*text = builtin(name, len);
	if (*text == NULL && strcmp(lang, "en") != 0)
		return 1;
	if (*text == NULL)
		return log_error("no built-in template for %s", kind);
	return 0;
}

/*
 * Loads the template of kind in lang (template_text).  Every problem is
 * reported as FILE:LINE.  Returns 1, without a message, when there is no
 * template of that language (the notice falls back to en).
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
	int rc;

	memset(t, 0, sizeof(*t));
	rc = template_text(cfg, kind, lang, path, sizeof(path), &text, &len,
			   &owned);
	if (rc != 0)
		return rc;
	rc = -1;
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
		template_release(t);
	free(owned);
	return rc;
}

/* ---- what every notice shares ------------------------------------- */

/* The addr-spec inside "Name <addr>", or the whole string. */
static char *addr_spec(const char *from)
{
	const char *lt = strrchr(from, '<');
	const char *gt = lt ? strchr(lt, '>') : NULL;

	if (lt != NULL && gt != NULL)
		return xstrndup(lt + 1, (size_t)(gt - lt - 1));
	return xstrdup(from);
}

int notice_from_check(const struct config *cfg, const char *slug,
		      const char *kind, time_t date)
{
	struct compose_input in = { 0 };
	char mid[256], err[256];
	size_t len;
	char *msg;

	if (compose_message_id(mid, sizeof(mid), slug, kind, 1,
			       cfg->mailer.from) < 0)
		return log_error("mailer.from \"%s\" has no domain for "
				 "Message-ID (want \"Name <user@domain>\")",
				 cfg->mailer.from);
	in.from = cfg->mailer.from;
	in.to = "check@example.org";
	in.subject = "check";
	in.body = "check\n";
	in.date = date;
	in.message_id = mid;
	msg = compose_message(&in, &len, err, sizeof(err));
	if (msg == NULL)
		return log_error("mailer.from \"%s\": %s", cfg->mailer.from,
				 err);
	free(msg);
	return 0;
}

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
static int dkim_init(struct notice_common *c, const struct config *cfg)
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

int notice_common_load(struct notice_common *c, const struct config *cfg,
		       const char *slug, const char *title, const char *kind,
		       const struct deadline_rule *rule, time_t should_by,
		       time_t must_by)
{
	memset(c, 0, sizeof(*c));
	c->cfg = cfg;
	c->slug = slug;
	c->title = title;
	c->kind = kind;
	c->rule = *rule;
	c->should_by = should_by;
	c->must_by = must_by;
	c->from_addr_owned = addr_spec(cfg->mailer.from);
	c->from_addr = c->from_addr_owned;
	if (verp_init(c, cfg) < 0 || dkim_init(c, cfg) < 0)
		return -1;
	/* templates.dir is configuration */
	if (load_template(cfg, kind, "en", &c->tpl) != 0)
		return -1;
	for (size_t i = 0; i < NOTICE_LANGS; i++) {
		int rc = load_template(cfg, kind, notice_langs[i],
				       &c->tpl_lang[i]);

		if (rc < 0)
			return -1;
		c->has_lang[i] = rc == 0;
	}
	return 0;
}

void notice_common_release(struct notice_common *c)
{
	template_release(&c->tpl);
	for (size_t i = 0; i < NOTICE_LANGS; i++)
		template_release(&c->tpl_lang[i]);
	free(c->from_addr_owned);
	if (c->bounce_key != NULL)
		explicit_bzero(c->bounce_key, sizeof(*c->bounce_key));
	free(c->bounce_key);
	dkim_signer_free(c->dkim);
	memset(c, 0, sizeof(*c));
}

const char *notice_envelope_sender(const struct notice_common *c, long long id,
				   char *buf, size_t len)
{
	if (c->bounce_key == NULL ||
	    bounces_return_path(c->bounce_key, c->cfg->mailer.return_path, id,
				buf, len) < 0)
		return c->from_addr;
	return buf;
}

/* ---- the message -------------------------------------------------- */

/* The certificates as CSV, for the attachment of a long list. */
static char *certificates_csv(const json_t *certs, size_t *len)
{
	static const char *const cols[] = { "serial",	 "account",    "names",
					    "not_after", "revoked_at", "scan" };
	static const enum notice_cert_field col[] = {
		NOTICE_CERT_SERIAL,	NOTICE_CERT_ACCOUNT,
		NOTICE_CERT_NAMES,	NOTICE_CERT_NOT_AFTER,
		NOTICE_CERT_REVOKED_AT, NOTICE_CERT_SCAN
	};
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
		const char *f[NOTICE_CERT_FIELDS];

		notice_cert_fields(c, f);
		for (size_t k = 0; k < n; k++)
			compose_csv_field(&buf, len, &cap, f[col[k]],
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

/* The template of the notice's language, en when there is none. */
static const struct notice_template *template_for(const struct notice_common *c,
						  const char *lang)
{
	for (size_t i = 0; i < NOTICE_LANGS; i++)
		if (c->has_lang[i] && strcmp(lang, notice_langs[i]) == 0)
			return &c->tpl_lang[i];
	return &c->tpl;
}

/* How many of n's certificates its message lists inline. */
static size_t listed_count(const struct notice_common *c,
			   const struct notice *n)
{
	size_t total = json_array_size(n->certs);

	if (total > (size_t)c->cfg->mailer.max_listed)
		return (size_t)c->cfg->mailer.max_listed;
	return total;
}

/* The rendered parts of one message. */
struct rendered {
	char *subject, *reply_to, *body, *html;
};

static void rendered_free(struct rendered *r)
{
	free(r->subject);
	free(r->reply_to);
	free(r->body);
	free(r->html);
}

/* Renders the templates of n's language with ctx.  0 or -1 (logged). */
static int render_all(const struct notice_common *c, const struct notice *n,
		      const json_t *ctx, struct rendered *r)
{
	const struct notice_template *tpl = template_for(c, n->lang);

	memset(r, 0, sizeof(*r));
	r->subject = render(tpl->subject, ctx, TEMPLATE_HEADER, "Subject");
	if (r->subject == NULL)
		return -1;
	if (n->part > 0) {
		char *whole = r->subject;
		size_t cap = strlen(whole) + 64;
		int k;

		r->subject = xmalloc(cap);
		k = snprintf(r->subject, cap, "%s (part %zu of %zu)", whole,
			     n->part, n->nparts);
		free(whole);
		if (k < 0 || (size_t)k >= cap)
			return -1; /* 64 holds two numbers and the words */
	}
	if (tpl->reply_to != NULL) {
		r->reply_to =
			render(tpl->reply_to, ctx, TEMPLATE_HEADER, "Reply-To");
		if (r->reply_to == NULL)
			return -1;
	} else if (c->cfg->mailer.reply_to[0] != '\0') {
		r->reply_to = xstrdup(c->cfg->mailer.reply_to);
	}
	r->body = render(tpl->body, ctx, TEMPLATE_TEXT, "body");
	if (r->body == NULL)
		return -1;
	if (tpl->html != NULL) {
		r->html = render(tpl->html, ctx, TEMPLATE_HTML, "HTML part");
		if (r->html == NULL)
			return -1;
	}
	return 0;
}

/* n's Message-ID; a later part's is "….<id>.p2@domain".  0 or -1. */
static int message_id(const struct notice_common *c, struct notice *n)
{
	char *at;
	char tail[320];
	size_t room;
	int k;

	if (compose_message_id(n->message_id, sizeof(n->message_id), c->slug,
			       c->kind, n->id, c->cfg->mailer.from) < 0)
		return log_error("mailer.from \"%s\" has no domain for "
				 "Message-ID",
				 c->cfg->mailer.from);
	if (n->part <= 1)
		return 0;
	at = strrchr(n->message_id, '@');
	room = sizeof(n->message_id) - (size_t)(at - n->message_id);
	k = snprintf(tail, sizeof(tail), "%s", at);
	if (k < 0 || (size_t)k >= sizeof(tail))
		return -1; /* tail is as large as the whole id */
	k = snprintf(at, room, ".p%zu%s", n->part, tail);
	if (k < 0 || (size_t)k >= room)
		return log_error("notice %lld: Message-ID too long", n->id);
	return 0;
}

/* Composes the message of notice n (or of its part n->part) at time
 * now into n->message.  0, or -1 (logged). */
static int compose_one(const struct notice_common *c, struct notice *n,
		       time_t now)
{
	const struct config *cfg = c->cfg;
	bool attach =
		listed_count(c, n) < json_array_size(n->certs) || n->part > 0;
	struct compose_attachment att = { "certificates.csv",
					  "text/csv; charset=UTF-8", NULL, 0 };
	struct compose_input in = { 0 };
	struct rendered r = { 0 };
	char err[256], *csv = NULL;
	json_t *ctx = notice_context_new(c, n, now);
	int rc = -1;

	if (ctx == NULL || render_all(c, n, ctx, &r) < 0 ||
	    message_id(c, n) < 0)
		goto out;
	in.from = cfg->mailer.from;
	in.to = n->address;
	in.reply_to = r.reply_to;
	in.subject = r.subject;
	in.body = r.body;
	in.date = now;
	in.message_id = n->message_id;
	in.html = r.html;
	if (attach) {
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
	rendered_free(&r);
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

/* Frees the parts 2.. of n and makes room for parts of them. */
static void parts_reset(struct notice *n, size_t parts)
{
	for (size_t i = 0; i + 1 < n->nparts; i++)
		free(n->more[i]);
	free(n->more);
	free(n->more_len);
	n->more = xcalloc(parts, sizeof(*n->more));
	n->more_len = xcalloc(parts, sizeof(*n->more_len));
	n->nparts = parts;
}

/*
 * Composes the parts of n that start at starts[0..parts) of all (the
 * last ends at total): part 1 into *p1, the others into n->more.  *over
 * is how far the biggest part went past max.  0 or -1 (logged).
 */
static int compose_shares(const struct notice_common *c, struct notice *n,
			  time_t now, json_t *all, const size_t *starts,
			  size_t parts, size_t max, char **p1, size_t *p1len,
			  size_t *over)
{
	size_t total = json_array_size(all);
	json_t *first = n->certs;

	*over = 0;
	parts_reset(n, parts);
	for (size_t p = 0; p < parts; p++) {
		size_t end = p + 1 < parts ? starts[p + 1] : total;
		json_t *share = json_array();
		int rc;

		for (size_t i = starts[p]; i < end; i++)
			json_array_append(share, json_array_get(all, i));
		n->certs = share;
		n->part = p + 1;
		rc = compose_one(c, n, now);
		n->certs = first;
		json_decref(share);
		if (rc < 0) {
			n->nparts = p + 1; /* what to free */
			return -1;
		}
		if (n->len > max && n->len - max > *over)
			*over = n->len - max;
		if (p > 0) {
			n->more[p - 1] = n->message;
			n->more_len[p - 1] = n->len;
		} else {
			*p1 = n->message;
			*p1len = n->len;
		}
		n->message = NULL;
	}
	return 0;
}

/*
 * The bytes of a part apart from its attachment's rows: a part with the
 * longest body (max_listed inline) and a one-row CSV, less that row.
 * n->certs is set to that part's list (first).  0 or -1.
 */
static int parts_fixed(const struct notice_common *c, struct notice *n,
		       time_t now, json_t *all, json_t *first,
		       const size_t *rows, size_t head, size_t *fixed)
{
	size_t total = json_array_size(all), l = 0;
	int rc;

	for (size_t i = 0; i < total && i < (size_t)c->cfg->mailer.max_listed;
	     i++)
		json_array_append(first, json_array_get(all, i));
	n->certs = first;
	n->part = n->nparts = 99999;
	n->all = total;
	rc = compose_one(c, n, now);
	n->nparts = 1; /* no parts allocated yet */
	if (rc < 0)
		return -1;
	for (size_t i = 0; i < json_array_size(first); i++)
		l += rows[i];
	*fixed = n->len - compose_base64_size(head + l);
	return 0;
}

int notice_compose(const struct notice_common *c, struct notice *n, time_t now)
{
	size_t max = (size_t)c->cfg->mailer.max_message_bytes;
	size_t total, head, fixed, parts = 0, *rows, *starts, over = 0;
	json_t *all, *first;
	char *csv, *p1 = NULL;
	size_t p1len = 0;
	int rc = -1;

	n->nparts = 1;
	if (compose_one(c, n, now) < 0)
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
	if (parts_fixed(c, n, now, all, first, rows, head, &fixed) < 0)
		goto out;
	/* Another part's inline list may be longer: shrink the budget by
	 * any overflow and split again. */
	for (size_t budget = max, tries = 0; tries < 8; tries++) {
		parts = compose_split(rows, total, head, fixed, budget, starts);
		if (parts == 0) {
			log_error("notice %lld to %s: one certificate does not"
				  " fit in mailer.max_message_bytes = %zu",
				  n->id, n->address, max);
			goto out;
		}
		free(p1);
		p1 = NULL;
		rc = compose_shares(c, n, now, all, starts, parts, max, &p1,
				    &p1len, &over);
		if (rc < 0)
			goto out;
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
	free(p1);
	n->certs = all;
	n->part = 0;
	json_decref(first);
	free(rows);
	free(starts);
	return rc;
}
