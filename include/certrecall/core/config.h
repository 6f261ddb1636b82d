/*
 * config - certrecall's settings: built-in defaults, an INI file (libinih),
 * environment variables, then command-line options, each overriding the
 * one before.
 *
 * Every key lives in one static table (name, type, default, limits), so
 * parsing, validation, `config show` and config.example.ini agree.  Every
 * bad line is reported as "FILE:LINE: what is wrong", all of them, not
 * only the first.
 */
#ifndef CERTRECALL_CONFIG_H
#define CERTRECALL_CONFIG_H

#include <stdbool.h>
#include <jansson.h>
#include <stdio.h>

#include "certrecall/base/xalloc.h"

/* Durations are stored in milliseconds. */
struct config {
	struct {
		char *url;
		long long connect_timeout_ms;
		long long lease_ms;
		long long batch_size;
		char *application_name;
	} database;
	struct {
		char *ports;
		long long concurrency;
		long long per_ip;
		long long rate;
		long long procs;
		char *dns_servers;
		long long dns_timeout_ms;
		long long connect_timeout_ms;
		long long handshake_timeout_ms;
		long long starttls_timeout_ms; /* the dialogue before TLS */
		char *wildcard_labels; /* probed under a *.domain name */
		long long retries;
		bool ipv6;
		char *deny;  /* CIDR list, checked at load (classify) */
		char *allow; /* CIDR list: exceptions to deny */
		long long retry_after_ms; /* failed targets probed again */
		long long fail_warn;	  /* percent of failed targets */
	} scanner;
	struct {
		char *host;
		long long port;
		char *starttls;
		char *username;
		char *password_file;
		char *helo;
		bool verify_peer;
		long long timeout_ms;
	} smtp;
	struct {
		char *from;
		char *reply_to;
		long long max_listed;
		long long max_message_bytes; /* bigger notices go in parts */
		long long rate;
		long long connections;
		long long batch;
		long long commit_group;
		long long commit_interval_ms;
		long long max_attempts;
		long long retry_backoff_ms;
		long long lease_ms;
		char *return_path; /* VERP: bounces+{id}@domain */
		char *bounce_key;  /* secret file for the {id} mac */
		char *dsn;	   /* RFC 3461 NOTIFY: config_dsn_parse */
		char *dkim_domain;
		char *dkim_selector;
		char *dkim_key; /* PEM: RSA >= 2048 bits or Ed25519 */
		bool html;	/* add <kind>.html as an alternative part */
	} mailer;
	struct {
		char *dir;
	} templates;
	struct {
		long long max_age_ms;
	} revcheck;
	struct {
		long long crtsh_threshold;
		char *organization;
	} report;
	struct {
		char *listen;	  /* ADDRESS:PORT, [v6]:PORT */
		char *public_url; /* base of explanationURL; "" = from Host */
		char *tls_cert;
		char *tls_key;
		long long threads;
		long long max_connections;
		long long per_ip_connections;
		long long timeout_ms; /* idle connection (slowloris) */
		long long max_body;
		char *ari_path;
		long long ari_margin_ms;
		long long ari_retry_ms;
		char *ari_default;     /* "404" or "lifetime" */
		long long check_rate;  /* self-check requests per second */
		long long check_burst; /* token-bucket size */
		char *tokens_file;     /* "sha256:HEX name" lines; "" = off */
		char *access_log;      /* "" = stderr */
	} serve;
	/* Where each value came from, for `config show`; parallel to the
	 * key table. */
	char **origin;
	char *path;
};

/* A config holding the built-in defaults. */
CR_MUST_CHECK struct config *config_new(void);
void config_free(struct config *cfg);

/*
 * Reads an INI file over the current values.  Every error is logged as
 * "PATH:LINE: ..."; returns 0, or -1 if there was at least one.
 */
CR_MUST_CHECK int config_load_file(struct config *cfg, const char *path);

/*
 * Applies CERTRECALL_DATABASE (database.url) and CERTRECALL_<SECTION>_<KEY>
 * for every key.  Returns 0, or -1 after logging every bad value.
 */
CR_MUST_CHECK int config_load_env(struct config *cfg);

/*
 * Sets "section.key" from text, validating it; origin names the source in
 * messages ("command line", "PATH:LINE").  Returns 0 or -1 (logged).
 */
CR_MUST_CHECK int config_set(struct config *cfg, const char *dotted_key,
			     const char *value, const char *origin);

/*
 * Reads the SMTP password from smtp.password_file (first line, without
 * its newline) into a new string.  *password is NULL when no file is
 * configured.  Refuses a file readable by group or others.
 */
CR_MUST_CHECK int config_read_password(const struct config *cfg,
				       char **password);

/* Writes every key as INI with its origin in a comment (no secrets). */
void config_print(const struct config *cfg, FILE *out);
/* Every key as {section, key, type, value, origin}, in config_print's
 * order (no secrets; durations in milliseconds).  New reference. */
CR_MUST_CHECK json_t *config_json(const struct config *cfg);

/* "250ms", "30s", "5m", "2h", "1d" (a bare number is seconds) into
 * milliseconds; 0 or -1.  The one duration syntax of files and options. */
CR_MUST_CHECK int config_parse_duration(const char *s, long long *ms);

/*
 * mailer.dsn: the DSNs (RFC 3461) each notice asks for, a comma list of
 * success, failure, delay; "off" (or "never") asks for none, leaving
 * the relay's defaults.  0 and *flags (CONFIG_DSN_*; 0 for off), or -1.
 */
#define CONFIG_DSN_SUCCESS 1u
#define CONFIG_DSN_FAILURE 2u
#define CONFIG_DSN_DELAY 4u
CR_MUST_CHECK int config_dsn_parse(const char *s, unsigned *flags);

/* Number of keys and their names, for tests and documentation. */
size_t config_key_count(void);
/* The i-th key as "section.name" in buf; NULL past the last key or if
 * buf is too small. */
CR_MUST_CHECK const char *config_key_name(size_t i, char *buf, size_t len);

#endif
