/*
 * notice.c - kinds, selection rules, outcome policy and the content of
 * a notice (notice.h).  No database, no relay.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "certrecall/base/log.h"
#include "certrecall/base/utctime.h"
#include "certrecall/base/xalloc.h"
#include "certrecall/core/compose.h"
#include "certrecall/core/compose_int.h"
#include "certrecall/core/config.h"
#include "certrecall/core/notice.h"
#include "certrecall/core/zone.h"

/* ---- kinds and who gets them -------------------------------------- */

/*
 * Each condition a kind may ask of a certificate, in C and in SQL side
 * by side; the kinds below only name conditions.  tests/unit/
 * test_notice.c and tests/integration/007-notice-selection.sh run every
 * combination of facts through both.
 */
enum cond {
	COND_UNREVOKED = 1 << 0,
	COND_UNEXPIRED = 1 << 1,
	COND_NOT_REPLACED = 1 << 2,
	COND_REVOKED = 1 << 3,
};

static bool holds_unrevoked(const struct notice_cert_facts *f)
{
	return !f->revoked;
}

static bool holds_unexpired(const struct notice_cert_facts *f)
{
	return !f->expired;
}

/* Before any scan round nothing is replaced: the verdict, a lookup per
 * certificate, is skipped. */
static bool holds_not_replaced(const struct notice_cert_facts *f)
{
	return !f->scanned || !f->replaced;
}

static bool holds_revoked(const struct notice_cert_facts *f)
{
	return f->revoked;
}

static const struct {
	enum cond cond;
	bool (*holds)(const struct notice_cert_facts *f);
	const char *sql;
} conds[] = {
	{ COND_UNREVOKED, holds_unrevoked, " AND revoked_at IS NULL" },
	{ COND_UNEXPIRED, holds_unexpired,
	  " AND (not_after IS NULL OR not_after > certrecall_now())" },
	{ COND_NOT_REPLACED, holds_not_replaced,
	  " AND (NOT EXISTS (SELECT 1 FROM scan_target st"
	  " WHERE st.incident_id = $1 AND st.round > 0)"
	  " OR (SELECT verdict FROM certificate_scan_verdict_inline("
	  "incident_id, serial, names, issuer_name, sha256,"
	  " is_precert)) <> 'replaced')" },
	{ COND_REVOKED, holds_revoked, " AND revoked_at IS NOT NULL" },
};

/* The one definition of who gets which kind. */
static const struct {
	const char *kind;
	unsigned conds;
	bool skip_unreachable; /* 020: hard-bounced addresses */
} rules[NOTICE_NKINDS] = {
	{ "initial", 0, false },
	/* still to revoke, and the last scan does not show them replaced
	 * everywhere */
	{ "reminder", COND_UNREVOKED | COND_UNEXPIRED | COND_NOT_REPLACED,
	  true },
	{ "revoked", COND_REVOKED, false },
};

static const char unreachable_sql[] =
	" AND NOT EXISTS (SELECT 1 FROM unreachable_address u"
	" WHERE u.incident_id = $1 AND u.address = e)";

static int rule_of(const char *kind)
{
	for (int i = 0; i < NOTICE_NKINDS; i++)
		if (strcmp(kind, rules[i].kind) == 0)
			return i;
	return -1;
}

const char *notice_kind_name(size_t i)
{
	return i < NOTICE_NKINDS ? rules[i].kind : NULL;
}

bool notice_kind_valid(const char *kind)
{
	return rule_of(kind) >= 0;
}

bool notice_cert_selected(const char *kind, const struct notice_cert_facts *f)
{
	int r = rule_of(kind);

	if (r < 0)
		return false;
	for (size_t i = 0; i < sizeof(conds) / sizeof(conds[0]); i++)
		if ((rules[r].conds & conds[i].cond) && !conds[i].holds(f))
			return false;
	return true;
}

bool notice_address_selected(const char *kind, bool unreachable)
{
	int r = rule_of(kind);

	return r >= 0 && !(rules[r].skip_unreachable && unreachable);
}

static int put_sql(char *buf, size_t len, size_t *used, const char *s)
{
	size_t k = strlen(s);

	if (k >= len - *used)
		return -1;
	memcpy(buf + *used, s, k + 1);
	*used += k;
	return 0;
}

int notice_cert_filter_sql(const char *kind, char *buf, size_t len)
{
	int r = rule_of(kind);
	size_t used = 0;

	if (len == 0 || r < 0)
		return -1;
	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(conds) / sizeof(conds[0]); i++)
		if ((rules[r].conds & conds[i].cond) &&
		    put_sql(buf, len, &used, conds[i].sql) < 0)
			return -1;
	return 0;
}

int notice_address_filter_sql(const char *kind, char *buf, size_t len)
{
	int r = rule_of(kind);
	size_t used = 0;

	if (len == 0 || r < 0)
		return -1;
	buf[0] = '\0';
	return rules[r].skip_unreachable
		       ? put_sql(buf, len, &used, unreachable_sql)
		       : 0;
}

/* ---- the outcome policy ------------------------------------------- */

const char *notice_outcome_name(enum notice_outcome o)
{
	static const char *const names[] = {
		[NOTICE_SENT] = "sent",
		[NOTICE_FAILED] = "failed",
		[NOTICE_RETRY] = "retry",
	};

	return names[o];
}

enum notice_outcome notice_outcome_of(int code, int attempts,
				      long long max_attempts,
				      long long backoff_ms, long long *wait_ms)
{
	long long delay = backoff_ms;

	for (int i = 1; i < attempts && delay < NOTICE_MAX_BACKOFF_MS; i++)
		delay *= 2;
	if (delay > NOTICE_MAX_BACKOFF_MS)
		delay = NOTICE_MAX_BACKOFF_MS;
	*wait_ms = delay;
	if (code >= 200 && code < 300)
		return NOTICE_SENT;
	if (code >= 500 || attempts >= max_attempts)
		return NOTICE_FAILED;
	return NOTICE_RETRY;
}

/* The reply goes into the outcome group's statement: a relay's odd
 * bytes must never make it fail. */
void notice_reply_text(char *buf, size_t len, int code, const char *reply)
{
	/* a longer reply is cut: the first line is what is kept */
	if (snprintf(buf, len, "%d %s", code,
		     reply && *reply ? reply : "(no reply)") < 0)
		buf[0] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	for (char *p = buf; *p != '\0'; p++)
		if (*p < ' ' || *p > '~')
			*p = '?';
}

/* ---- one notice --------------------------------------------------- */

void notice_init(struct notice *n, long long id, const char *address,
		 const char *accounts_json, int attempts)
{
	json_t *arr = json_loads(accounts_json, 0, NULL);
	size_t cap = 1, used = 0, i;
	json_t *v;

	memset(n, 0, sizeof(*n));
	n->id = id;
	n->address = xstrdup(address);
	n->attempts = attempts;
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
		/* cap counts every account and its separator */
		const char *s = json_string_value(v);
		size_t l = strlen(s);

		if (used > 0) {
			memcpy(n->accounts + used, ", ", 2);
			used += 2;
		}
		memcpy(n->accounts + used, s, l + 1);
		used += l;
	}
	json_decref(arr);
}

void notice_release(struct notice *n)
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

void notice_drop_message(struct notice *n)
{
	json_decref(n->certs);
	n->certs = NULL;
	free(n->message);
	n->message = NULL;
	for (size_t i = 0; i + 1 < n->nparts; i++) {
		free(n->more[i]);
		n->more[i] = NULL;
	}
}

/* t as notice_cert_new() writes it into buf: "unknown" when not set. */
static const char *time_text(time_t t, bool is_set, char *buf, size_t len)
{
	if (!is_set || utctime_format_long(t, buf, len) < 0)
		return "unknown";
	return buf;
}

/*
 * The fields one after the other, each ended by a NUL (no field can
 * hold one): two allocations a certificate instead of an object's
 * dozen and more.  The object that the template context lists is made
 * for the certificates it lists only (notice_cert_object()).
 */
json_t *notice_cert_new(const char *account, const char *serial,
			const char *names, bool has_not_after, time_t not_after,
			bool has_revoked_at, time_t revoked_at,
			const char *scan)
{
	char na[UTCTIME_BUFSZ], ra[UTCTIME_BUFSZ], small[1024];
	const char *f[NOTICE_CERT_FIELDS] = {
		account,
		serial,
		names,
		time_text(not_after, has_not_after, na, sizeof(na)),
		time_text(revoked_at, has_revoked_at, ra, sizeof(ra)),
		scan
	};
	size_t len[NOTICE_CERT_FIELDS], total = 0, at = 0;
	char *buf = small;
	json_t *cert;

	for (size_t i = 0; i < NOTICE_CERT_FIELDS; i++) {
		len[i] = strlen(f[i]);
		/* what the object's JSON strings asked of them */
		if (compose_utf8_check(f[i], len[i]) != len[i])
			return NULL;
		total += len[i] + 1;
	}
	if (total > sizeof(small))
		buf = xmalloc(total);
	for (size_t i = 0; i < NOTICE_CERT_FIELDS; i++) {
		memcpy(buf + at, f[i], len[i] + 1);
		at += len[i] + 1;
	}
	cert = json_stringn_nocheck(buf, total);
	if (buf != small)
		free(buf);
	return cert;
}

void notice_cert_fields(const json_t *cert, const char *f[NOTICE_CERT_FIELDS])
{
	const char *s = json_string_value(cert);
	size_t len = json_string_length(cert), at = 0;

	for (size_t i = 0; i < NOTICE_CERT_FIELDS; i++) {
		if (s == NULL || at >= len) {
			f[i] = "";
			continue;
		}
		f[i] = s + at;
		at += strlen(s + at) + 1;
	}
}

json_t *notice_cert_object(const json_t *cert)
{
	static const char *const keys[NOTICE_CERT_FIELDS] = {
		"account", "serial", "names", "not_after", "revoked_at", "scan"
	};
	const char *f[NOTICE_CERT_FIELDS];
	json_t *o = json_object();

	/* UTF-8 already: notice_cert_new() checked */
	notice_cert_fields(cert, f);
	for (size_t i = 0; i < NOTICE_CERT_FIELDS; i++)
		json_object_set_new_nocheck(o, keys[i],
					    json_string_nocheck(f[i]));
	return o;
}

const char *notice_part(const struct notice *n, size_t i, size_t *len)
{
	if (i == 0) {
		*len = n->len;
		return n->message;
	}
	*len = n->more_len[i - 1];
	return n->more[i - 1];
}

size_t notice_bytes(const struct notice *n)
{
	size_t b = n->len;

	for (size_t i = 0; i + 1 < n->nparts; i++)
		b += n->more_len[i];
	return b;
}

/* ---- the template context ---------------------------------------- */

/* How many of n's certificates its message lists inline. */
static size_t listed_count(const struct notice_common *c,
			   const struct notice *n)
{
	size_t total = json_array_size(n->certs);

	if (total > (size_t)c->cfg->mailer.max_listed)
		return (size_t)c->cfg->mailer.max_listed;
	return total;
}

json_t *notice_context_new(const struct notice_common *c,
			   const struct notice *n, time_t now)
{
	const struct config *cfg = c->cfg;
	size_t total = json_array_size(n->certs);
	size_t listed = listed_count(c, n);
	bool in_parts = n->part > 0; /* n->certs is this part's share */
	struct compose_times times = { c->should_by, c->must_by, now,
				       strcmp(c->kind, "revoked") == 0 };
	json_t *ctx, *shown = json_array();

	for (size_t i = 0; i < listed; i++)
		json_array_append_new(
			shown, notice_cert_object(json_array_get(n->certs, i)));
	ctx = json_pack(
		"{s:{s:s,s:s},s:s,s:s,s:s,s:s,s:O,s:s,s:I,"
		"s:I,s:I,s:b,s:o}",
		"incident", "slug", c->slug, "title", c->title, "organization",
		cfg->report.organization[0] ? cfg->report.organization
					    : "The Certificate Authority",
		"address", n->address, "rule", c->rule.citation, "rule_text",
		c->rule.text, "accounts", n->account_list, "account_list",
		n->accounts, "certificate_count",
		(json_int_t)(in_parts ? n->all : total), "listed_count",
		(json_int_t)listed, "unlisted_count",
		(json_int_t)((in_parts ? n->all : total) - listed),
		"attachment", listed < total || in_parts, "certificates",
		shown);
	if (in_parts) {
		json_object_set_new(ctx, "part",
				    json_integer((json_int_t)n->part));
		json_object_set_new(ctx, "parts",
				    json_integer((json_int_t)n->nparts));
	}
	/* The deadlines, and where the notice stands against them. */
	if (compose_time_context(ctx, &times) < 0) {
		log_error("notice %lld: a deadline is out of range", n->id);
		json_decref(ctx);
		return NULL;
	}
	/* UTC always, the subscriber's own time too when known (020). */
	if (zone_context(ctx, c->must_by, c->should_by, now,
			 n->tz[0] ? n->tz : NULL,
			 n->lang[0] ? n->lang : "en") < 0) {
		log_error("notice %lld: cannot write the deadline in %s", n->id,
			  n->tz);
		json_decref(ctx);
		return NULL;
	}
	return ctx;
}

/* ---- the run ------------------------------------------------------ */

long long notice_claim_size(long long batch, long long rate, long long lease_ms,
			    long long connections)
{
	if (rate > 0) {
		long long fit = rate * lease_ms / 1000 / 2 / connections;

		if (fit < 1)
			fit = 1;
		if (batch > fit)
			batch = fit;
	}
	return batch;
}

int notice_file_name(const char *dir, const struct notice *n, char *path,
		     size_t len)
{
	size_t l;
	int k = snprintf(path, len, "%s/%08lld-", dir, n->id);

	if (k < 0 || (size_t)k >= len)
		return -1;
	l = (size_t)k;
	/* The address goes into a file name: keep only safe bytes. */
	for (const char *p = n->address; *p; p++) {
		char ch = (*p >= 'a' && *p <= 'z') ||
					  (*p >= '0' && *p <= '9') ||
					  *p == '@' || *p == '.' || *p == '-'
				  ? *p
				  : '_';

		if (l + 5 < len) {
			path[l++] = ch;
			path[l] = '\0';
		}
	}
	if (l + 5 > len)
		return -1;
	memcpy(path + l, ".eml", 5);
	return 0;
}
