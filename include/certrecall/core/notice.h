/*
 * notice - what a notice to subscribers is, apart from any database or
 * relay: its kinds, who each kind is for (the selection rules, defined
 * here once and turned into SQL for the set-based planning), what the
 * relay's answer makes of it (the outcome policy), its templates, and
 * its message (the template context, the parts of a long notice).
 *
 * The words of the remaining time and the deadline state are
 * compose_time_context()'s (compose.h); the subscriber's time zone is
 * zone_context()'s (zone.h).
 */
#ifndef CERTRECALL_NOTICE_H
#define CERTRECALL_NOTICE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "certrecall/core/deadline.h"
#include "certrecall/core/zone.h"
#include "certrecall/base/xalloc.h"

struct config;
struct template;
struct bounces_key;
struct dkim_signer;

/* ---- kinds -------------------------------------------------------- */

#define NOTICE_NKINDS 3

/* "initial", "reminder", "revoked" for 0, 1, 2; NULL past them. */
CR_MUST_CHECK const char *notice_kind_name(size_t i);

/* "initial", "reminder", "revoked"; false for anything else. */
bool notice_kind_valid(const char *kind);

/* ---- who gets which kind ------------------------------------------ */

/* What the selection rules ask of a certificate of the incident. */
struct notice_cert_facts {
	bool revoked;  /* revoked_at is set */
	bool expired;  /* not_after is set and not after now */
	bool scanned;  /* the incident has a completed scan round */
	bool replaced; /* its scan verdict is "replaced" (only ever after a
			  scan round) */
};

/*
 * Whether a notice of kind is about a certificate with these facts:
 * initial about every certificate; reminder about those still to revoke,
 * not expired, and not shown replaced everywhere by the last scan;
 * revoked about the revoked ones.  False for an unknown kind.
 */
bool notice_cert_selected(const char *kind, const struct notice_cert_facts *f);

/* Whether a notice of kind goes to an address that hard-bounced
 * (020 unreachable_address): reminders skip it. */
bool notice_address_selected(const char *kind, bool unreachable);

/*
 * The same rules as SQL, generated from the same table: conditions
 * (" AND ...") on the columns of a certificate row (revoked_at,
 * not_after, incident_id, serial, names, issuer_name, sha256, is_precert;
 * $1 the incident id), and on an address e ($1 the incident id).
 * "" when the kind asks nothing.  0, or -1 when buf is too small or the
 * kind is unknown.
 */
CR_MUST_CHECK int notice_cert_filter_sql(const char *kind, char *buf,
					 size_t len);
CR_MUST_CHECK int notice_address_filter_sql(const char *kind, char *buf,
					    size_t len);

/* ---- what the relay's answer makes of a notice --------------------- */

enum notice_outcome { NOTICE_SENT, NOTICE_FAILED, NOTICE_RETRY };

/* "sent", "failed", "retry": the notice's state that records it. */
CR_MUST_CHECK const char *notice_outcome_name(enum notice_outcome o);

/* The longest wait before a retry: a day. */
#define NOTICE_MAX_BACKOFF_MS (86400LL * 1000)

/*
 * The outcome of an attempt, from the SMTP reply code (0: no answer at
 * all) and the number of attempts including this one: 2xx sent; 5xx, or
 * the last of max_attempts, failed; anything else a retry.  *backoff_ms
 * is the wait before the next attempt: backoff_ms doubled per earlier
 * attempt, at most NOTICE_MAX_BACKOFF_MS (set for every outcome).
 */
enum notice_outcome notice_outcome_of(int code, int attempts,
				      long long max_attempts,
				      long long backoff_ms, long long *wait_ms);

/* "250 2.0.0 ok": code and the reply's first line ("(no reply)" when
 * there is none), printable ASCII only. */
void notice_reply_text(char *buf, size_t len, int code, const char *reply);

/* ---- one notice --------------------------------------------------- */

/* One notice as claimed or previewed, with its certificates. */
struct notice {
	long long id;
	char *address;
	char *accounts;		/* "a, b, c" */
	char lang[8];		/* "" = en (020 subscriber.lang) */
	char tz[ZONE_NAME_MAX]; /* "" = UTC only */
	json_t *account_list;
	json_t *certs;	     /* array, in order (notice_cert_new()) */
	bool certs_deferred; /* claimed without them: too many to claim */
	long long ncerts;    /* how many it lists, as claimed */
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
	enum notice_outcome outcome;
	char reply[256]; /* "250 2.0.0 ok", printable ASCII only */
	long long backoff_ms;
};

/* Fills n (zeroed first) from its id, address, its accounts as a JSON
 * array of strings (any byte may be in them) and its attempts. */
void notice_init(struct notice *n, long long id, const char *address,
		 const char *accounts_json, int attempts);

void notice_release(struct notice *n);

/* Frees what composing n made, and its certificates, keeping what
 * recording its outcome needs (id, outcome, reply, Message-ID, bytes).
 * n cannot be sent again. */
void notice_drop_message(struct notice *n);

/* A certificate of a notice: account, serial (hex), names (space
 * separated), not_after and revoked_at (when set), scan verdict.  The
 * value to add to notice.certs: one JSON string holding the fields
 * (notice_cert_fields()), not an object, for a hosting account's tens
 * of thousands; NULL when a field is not UTF-8. */
CR_MUST_CHECK json_t *notice_cert_new(const char *account, const char *serial,
				      const char *names, bool has_not_after,
				      time_t not_after, bool has_revoked_at,
				      time_t revoked_at, const char *scan);

/* The fields of a certificate, in the order notice_cert_fields() gives
 * them; the times as text ("2020-05-30 12:00:00 UTC", or "unknown"). */
enum notice_cert_field {
	NOTICE_CERT_ACCOUNT,
	NOTICE_CERT_SERIAL,
	NOTICE_CERT_NAMES,
	NOTICE_CERT_NOT_AFTER,
	NOTICE_CERT_REVOKED_AT,
	NOTICE_CERT_SCAN,
	NOTICE_CERT_FIELDS
};

/* The fields of certificate cert (notice_cert_new()) into f, borrowed
 * from cert; "" for any it does not have. */
void notice_cert_fields(const json_t *cert, const char *f[NOTICE_CERT_FIELDS]);

/* Certificate cert as a template lists it: an object of account,
 * serial, names, not_after, revoked_at and scan (docs/templates.md). */
CR_MUST_CHECK json_t *notice_cert_object(const json_t *cert);

/* Part i (0-based) of notice n's message, its length in *len. */
CR_MUST_CHECK const char *notice_part(const struct notice *n, size_t i,
				      size_t *len);

/* What the relay takes for notice n, all parts. */
size_t notice_bytes(const struct notice *n);

/* ---- templates and composing -------------------------------------- */

/* A notice template: a header block (Subject, optional Reply-To), a blank
 * line, then the body. */
struct notice_template {
	struct template *subject;
	struct template *reply_to; /* NULL when the file has none */
	struct template *body;
	struct template *html; /* <kind>.html beside it, or NULL */
};

/* Languages with templates besides en (templates/<lang>/, issue 21). */
#define NOTICE_LANGS 1

/* Everything a batch needs that is the same for every notice. */
struct notice_common {
	const struct config *cfg;
	const char *slug, *title; /* the incident's */
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

/*
 * mailer.from must make a Message-ID and a From header: checked with the
 * composer itself (for incident slug, at time date) before any notice
 * is claimed.  0, or -1 (logged).
 */
CR_MUST_CHECK int notice_from_check(const struct config *cfg, const char *slug,
				    const char *kind, time_t date);

/*
 * Loads what every notice of kind shares into c (zeroed first), for the
 * incident slug and title with the rule and deadlines given: the
 * sender address, VERP (mailer.return_path), DKIM, the templates of
 * every language.  0, or -1 (logged: the configuration is wrong).
 * notice_common_release() either way.
 */
CR_MUST_CHECK int notice_common_load(struct notice_common *c,
				     const struct config *cfg, const char *slug,
				     const char *title, const char *kind,
				     const struct deadline_rule *rule,
				     time_t should_by, time_t must_by);
void notice_common_release(struct notice_common *c);

/* The envelope sender of notice id: its VERP address in buf, or
 * mailer.from's addr-spec. */
CR_MUST_CHECK const char *notice_envelope_sender(const struct notice_common *c,
						 long long id, char *buf,
						 size_t len);

/*
 * The template context of notice n at time now (docs/templates.md):
 * the incident, the rule, the accounts, the certificates listed (at most
 * mailer.max_listed), the counts, the part, the deadlines and where the
 * notice stands against them (compose_time_context), in UTC and the
 * subscriber's time zone (zone_context).  NULL (logged) when a deadline
 * cannot be written.
 */
CR_MUST_CHECK json_t *notice_context_new(const struct notice_common *c,
					 const struct notice *n, time_t now);

/*
 * Composes notice n at time now into n->message, in numbered parts when
 * the message would be over mailer.max_message_bytes: each part has the
 * same text and deadline, "(part i of k)" in its Subject, its own
 * Message-ID, and its share of the certificates in its CSV attachment.
 * 0, or -1 (logged) when the template or the message cannot be built.
 */
CR_MUST_CHECK int notice_compose(const struct notice_common *c,
				 struct notice *n, time_t now);

/* ---- the run ------------------------------------------------------ */

/*
 * Notices per claim: batch (mailer.batch), but when rate (messages a
 * second, 0 = no limit) spreads the messages out, no more than every one
 * of connections can send in half a lease of lease_ms, or a claim would
 * outlive its lease and another worker send it too.  At least 1.
 */
CR_MUST_CHECK long long notice_claim_size(long long batch, long long rate,
					  long long lease_ms,
					  long long connections);

/*
 * The file of notice n in a --dry-run directory dir:
 * "dir/00000042-user@example.org.eml", with every byte of the address
 * but a-z 0-9 @ . - written as "_" (dropped when path is full).  0, or
 * -1 when dir does not leave room.
 */
CR_MUST_CHECK int notice_file_name(const char *dir, const struct notice *n,
				   char *path, size_t len);

#endif
