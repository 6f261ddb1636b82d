/*
 * config.c - the key table, and the loaders that fill struct config.
 */
#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "certrecall/core/classify.h"
#include "certrecall/core/config.h"
#include "certrecall/core/starttls.h"
#include "certrecall/base/log.h"
#include "certrecall/base/xalloc.h"
#include "certrecall/base/xsnprintf.h"

enum config_type {
	CONFIG_STRING,
	CONFIG_INT,
	CONFIG_DURATION,
	CONFIG_BOOL,
	CONFIG_ENUM,
	CONFIG_PORTS,
	CONFIG_SECRET_FILE,
	CONFIG_CIDRS,
	CONFIG_PERCENT, /* "20" or "20%", stored as the number */
	CONFIG_DSN,	/* "success,failure,delay" or "off" (config.h) */
};

struct config_key {
	const char *section;
	const char *name;
	enum config_type type;
	const char *def;
	long long min;
	long long max;
	size_t off;
	const char *choices; /* CONFIG_ENUM: "a|b|c" */
};

#define KEY(sec, nm, ty, field, dflt, lo, hi)                                  \
	{                                                                      \
		sec, nm, ty, dflt, lo, hi, offsetof(struct config, field),     \
			NULL                                                   \
	}
#define DAY_MS (86400LL * 1000)

/*
 * The one list of settings.  config.example.ini documents the same keys
 * with the same defaults; tests/unit/test_config.c checks they agree.
 */
static const struct config_key keys[] = {
	KEY("database", "url", CONFIG_STRING, database.url, "", 0, 0),
	KEY("database", "connect_timeout", CONFIG_DURATION,
	    database.connect_timeout_ms, "10s", 1000, DAY_MS),
	KEY("database", "lease", CONFIG_DURATION, database.lease_ms, "5m", 1000,
	    DAY_MS),
	KEY("database", "batch_size", CONFIG_INT, database.batch_size, "1000",
	    1, 1000000),
	KEY("database", "application_name", CONFIG_STRING,
	    database.application_name, "certrecall", 0, 0),

	KEY("scanner", "ports", CONFIG_PORTS, scanner.ports, "443", 0, 0),
	KEY("scanner", "concurrency", CONFIG_INT, scanner.concurrency, "1000",
	    1, 100000),
	KEY("scanner", "per_ip", CONFIG_INT, scanner.per_ip, "8", 1, 10000),
	KEY("scanner", "rate", CONFIG_INT, scanner.rate, "0", 0, 10000000),
	KEY("scanner", "procs", CONFIG_INT, scanner.procs, "0", 0, 1024),
	KEY("scanner", "dns_servers", CONFIG_STRING, scanner.dns_servers, "", 0,
	    0),
	KEY("scanner", "dns_timeout", CONFIG_DURATION, scanner.dns_timeout_ms,
	    "5s", 10, DAY_MS),
	KEY("scanner", "connect_timeout", CONFIG_DURATION,
	    scanner.connect_timeout_ms, "5s", 10, DAY_MS),
	KEY("scanner", "handshake_timeout", CONFIG_DURATION,
	    scanner.handshake_timeout_ms, "10s", 10, DAY_MS),
	KEY("scanner", "starttls_timeout", CONFIG_DURATION,
	    scanner.starttls_timeout_ms, "10s", 10, DAY_MS),
	KEY("scanner", "wildcard_labels", CONFIG_STRING,
	    scanner.wildcard_labels, "www, mail", 0, 0),
	KEY("scanner", "retries", CONFIG_INT, scanner.retries, "1", 0, 10),
	KEY("scanner", "ipv6", CONFIG_BOOL, scanner.ipv6, "true", 0, 0),
	/* Never probe the CA's own kind of network because a subscriber's
	 * DNS points there: loopback, RFC 1918, link-local, CGNAT (RFC
	 * 6598), multicast, "this network", unique-local (RFC 4193). */
	KEY("scanner", "deny", CONFIG_CIDRS, scanner.deny,
	    "127.0.0.0/8, ::1/128, 10.0.0.0/8, 172.16.0.0/12, "
	    "192.168.0.0/16, 169.254.0.0/16, fe80::/10, 100.64.0.0/10, "
	    "224.0.0.0/4, ff00::/8, 0.0.0.0/8, fc00::/7",
	    0, 0),
	KEY("scanner", "allow", CONFIG_CIDRS, scanner.allow, "", 0, 0),
	KEY("scanner", "retry_after", CONFIG_DURATION, scanner.retry_after_ms,
	    "5m", 0, DAY_MS),
	KEY("scanner", "fail_warn", CONFIG_PERCENT, scanner.fail_warn, "20%", 0,
	    100),

	KEY("smtp", "host", CONFIG_STRING, smtp.host, "localhost", 0, 0),
	KEY("smtp", "port", CONFIG_INT, smtp.port, "25", 1, 65535),
	{ "smtp", "starttls", CONFIG_ENUM, "auto", 0, 0,
	  offsetof(struct config, smtp.starttls),
	  "auto|required|optional|none" },
	KEY("smtp", "username", CONFIG_STRING, smtp.username, "", 0, 0),
	KEY("smtp", "password_file", CONFIG_SECRET_FILE, smtp.password_file, "",
	    0, 0),
	KEY("smtp", "helo", CONFIG_STRING, smtp.helo, "", 0, 0),
	KEY("smtp", "verify_peer", CONFIG_BOOL, smtp.verify_peer, "true", 0, 0),
	KEY("smtp", "timeout", CONFIG_DURATION, smtp.timeout_ms, "60s", 1000,
	    DAY_MS),

	KEY("mailer", "from", CONFIG_STRING, mailer.from, "", 0, 0),
	KEY("mailer", "reply_to", CONFIG_STRING, mailer.reply_to, "", 0, 0),
	KEY("mailer", "max_listed", CONFIG_INT, mailer.max_listed, "100", 1,
	    100000),
	KEY("mailer", "max_message_bytes", CONFIG_INT, mailer.max_message_bytes,
	    "10485760", 4096, 1073741824),
	KEY("mailer", "rate", CONFIG_INT, mailer.rate, "0", 0, 1000000),
	KEY("mailer", "connections", CONFIG_INT, mailer.connections, "4", 1,
	    64),
	KEY("mailer", "batch", CONFIG_INT, mailer.batch, "200", 1, 10000),
	KEY("mailer", "commit_group", CONFIG_INT, mailer.commit_group, "32", 1,
	    10000),
	KEY("mailer", "commit_interval", CONFIG_DURATION,
	    mailer.commit_interval_ms, "50ms", 0, 60000),
	KEY("mailer", "max_attempts", CONFIG_INT, mailer.max_attempts, "5", 1,
	    100),
	KEY("mailer", "retry_backoff", CONFIG_DURATION, mailer.retry_backoff_ms,
	    "5m", 1000, DAY_MS),
	KEY("mailer", "lease", CONFIG_DURATION, mailer.lease_ms, "10m", 1000,
	    DAY_MS),
	KEY("mailer", "return_path", CONFIG_STRING, mailer.return_path, "", 0,
	    0),
	KEY("mailer", "bounce_key", CONFIG_SECRET_FILE, mailer.bounce_key, "",
	    0, 0),
	KEY("mailer", "dsn", CONFIG_DSN, mailer.dsn, "success,failure,delay", 0,
	    0),
	KEY("mailer", "dkim_domain", CONFIG_STRING, mailer.dkim_domain, "", 0,
	    0),
	KEY("mailer", "dkim_selector", CONFIG_STRING, mailer.dkim_selector, "",
	    0, 0),
	KEY("mailer", "dkim_key", CONFIG_SECRET_FILE, mailer.dkim_key, "", 0,
	    0),
	KEY("mailer", "html", CONFIG_BOOL, mailer.html, "false", 0, 0),

	KEY("templates", "dir", CONFIG_STRING, templates.dir, "", 0, 0),

	KEY("revcheck", "max_age", CONFIG_DURATION, revcheck.max_age_ms, "4d",
	    60000, 366 * DAY_MS),

	KEY("report", "crtsh_threshold", CONFIG_INT, report.crtsh_threshold,
	    "10000", 1, 1000000000),
	KEY("report", "organization", CONFIG_STRING, report.organization, "", 0,
	    0),

	KEY("serve", "listen", CONFIG_STRING, serve.listen, "127.0.0.1:8080", 0,
	    0),
	KEY("serve", "public_url", CONFIG_STRING, serve.public_url, "", 0, 0),
	KEY("serve", "tls_cert", CONFIG_STRING, serve.tls_cert, "", 0, 0),
	KEY("serve", "tls_key", CONFIG_STRING, serve.tls_key, "", 0, 0),
	KEY("serve", "threads", CONFIG_INT, serve.threads, "4", 1, 256),
	KEY("serve", "max_connections", CONFIG_INT, serve.max_connections,
	    "10000", 16, 1000000),
	KEY("serve", "per_ip_connections", CONFIG_INT, serve.per_ip_connections,
	    "0", 0, 1000000),
	KEY("serve", "timeout", CONFIG_DURATION, serve.timeout_ms, "10s", 1000,
	    3600000),
	KEY("serve", "max_body", CONFIG_INT, serve.max_body, "65536", 1024,
	    16777216),
	KEY("serve", "ari_path", CONFIG_STRING, serve.ari_path,
	    "/renewal-info/", 0, 0),
	KEY("serve", "ari_margin", CONFIG_DURATION, serve.ari_margin_ms, "24h",
	    0, 30 * DAY_MS),
	KEY("serve", "ari_retry", CONFIG_DURATION, serve.ari_retry_ms, "6h",
	    60000, 7 * DAY_MS),
	{ "serve", "ari_default", CONFIG_ENUM, "404", 0, 0,
	  offsetof(struct config, serve.ari_default), "404|lifetime" },
	KEY("serve", "check_rate", CONFIG_INT, serve.check_rate, "2", 1,
	    1000000),
	KEY("serve", "check_burst", CONFIG_INT, serve.check_burst, "10", 1,
	    1000000),
	KEY("serve", "tokens_file", CONFIG_STRING, serve.tokens_file, "", 0, 0),
	KEY("serve", "access_log", CONFIG_STRING, serve.access_log, "", 0, 0),
};

#define NKEYS (sizeof(keys) / sizeof(keys[0]))

size_t config_key_count(void)
{
	return NKEYS;
}

const char *config_key_name(size_t i, char *buf, size_t len)
{
	int n;

	if (i >= NKEYS)
		return NULL;
	n = snprintf(buf, len, "%s.%s", keys[i].section, keys[i].name);
	return n < 0 || (size_t)n >= len ? NULL : buf;
}

static const struct config_key *find_key(const char *section, const char *name,
					 size_t *index)
{
	for (size_t i = 0; i < NKEYS; i++) {
		if (strcmp(keys[i].section, section) == 0 &&
		    strcmp(keys[i].name, name) == 0) {
			*index = i;
			return &keys[i];
		}
	}
	return NULL;
}

static bool known_section(const char *section)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (strcmp(keys[i].section, section) == 0)
			return true;
	return false;
}

/* Whole-string integer; no sign games, no trailing junk. */
static int parse_int(const char *s, long long *out)
{
	char *end;

	if (*s == '\0' || isspace((unsigned char)*s))
		return -1;
	errno = 0;
	*out = strtoll(s, &end, 10);
	return errno || *end != '\0' ? -1 : 0;
}

/* "250ms", "30s", "5m", "2h", "1d"; a bare number is seconds. */
int config_parse_duration(const char *s, long long *ms)
{
	static const struct {
		const char *suffix;
		long long ms;
	} units[] = { { "ms", 1 },	{ "s", 1000 },	   { "m", 60000 },
		      { "h", 3600000 }, { "d", 86400000 }, { "", 1000 } };
	char *end;
	long long v;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno)
		return -1;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(end, units[i].suffix) == 0) {
			if (v > LLONG_MAX / units[i].ms)
				return -1;
			*ms = v * units[i].ms;
			return 0;
		}
	}
	return -1;
}

static int parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "true", "yes", "on", "1" };
	static const char *const no[] = { "false", "no", "off", "0" };

	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -1;
}

int config_dsn_parse(const char *s, unsigned *flags)
{
	static const struct {
		const char *word;
		unsigned flag;
	} words[] = {
		{ "success", CONFIG_DSN_SUCCESS },
		{ "failure", CONFIG_DSN_FAILURE },
		{ "delay", CONFIG_DSN_DELAY },
	};

	*flags = 0;
	if (strcmp(s, "off") == 0 || strcmp(s, "never") == 0)
		return 0;
	for (const char *p = s;;) {
		size_t n = strcspn(p, ","), i;

		while (n > 0 && *p == ' ')
			p++, n--;
		for (i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
			size_t w = strlen(words[i].word);

			if (n >= w && strncmp(p, words[i].word, w) == 0 &&
			    strspn(p + w, " ") == n - w)
				break;
		}
		if (i == sizeof(words) / sizeof(words[0]))
			return -1;
		*flags |= words[i].flag;
		p += n;
		if (*p == '\0')
			return 0;
		p++; /* the comma */
	}
}

static bool enum_allows(const char *choices, const char *s)
{
	size_t len = strlen(s);

	for (const char *p = choices; *p;) {
		const char *bar = strchr(p, '|');
		size_t n = bar ? (size_t)(bar - p) : strlen(p);

		if (n == len && strncmp(p, s, n) == 0)
			return true;
		p += n + (bar != NULL);
	}
	return false;
}

/* A secret file must exist and be private to its owner. */
static int check_secret_file(const char *origin, const char *key,
			     const char *path)
{
	struct stat st;

	if (*path == '\0')
		return 0;
	if (stat(path, &st) < 0)
		return log_error("%s: %s: cannot read \"%s\": %s", origin, key,
				 path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return log_error("%s: %s: \"%s\" is not a regular file", origin,
				 key, path);
	if (st.st_mode & (S_IRWXG | S_IRWXO))
		return log_error(
			"%s: %s: \"%s\" is readable by group or others "
			"(mode %04o); run chmod 600 on it",
			origin, key, path, (unsigned)(st.st_mode & 07777));
	return 0;
}

static int set_value(struct config *cfg, size_t idx, const char *value,
		     const char *origin)
{
	const struct config_key *k = &keys[idx];
	char *base = (char *)cfg + k->off;
	char name[64];
	long long v;
	bool b;

	if (xsnprintf(name, sizeof(name), "%s.%s", k->section, k->name) < 0)
		return -1;
	switch (k->type) {
	case CONFIG_INT:
		if (parse_int(value, &v) < 0)
			return log_error("%s: %s: \"%s\" is not a whole number",
					 origin, name, value);
		if (v < k->min || v > k->max)
			return log_error("%s: %s: %lld is out of range "
					 "(%lld to %lld)",
					 origin, name, v, k->min, k->max);
		*(long long *)base = v;
		break;
	case CONFIG_PERCENT: {
		size_t len = strlen(value);
		char num[24];

		if (len > 0 && value[len - 1] == '%')
			len--;
		if (len >= sizeof(num))
			len = 0; /* not a percentage: refused below */
		memcpy(num, value, len);
		num[len] = '\0';
		if (parse_int(num, &v) < 0 || v < k->min || v > k->max)
			return log_error("%s: %s: \"%s\" is not a percentage "
					 "(%lld%% to %lld%%)",
					 origin, name, value, k->min, k->max);
		*(long long *)base = v;
		break;
	}
	case CONFIG_DURATION:
		if (config_parse_duration(value, &v) < 0)
			return log_error("%s: %s: \"%s\" is not a duration "
					 "(e.g. 250ms, 30s, 5m, 2h, 1d)",
					 origin, name, value);
		if (v < k->min || v > k->max)
			return log_error("%s: %s: \"%s\" is out of range "
					 "(%lldms to %lldms)",
					 origin, name, value, k->min, k->max);
		*(long long *)base = v;
		break;
	case CONFIG_BOOL:
		if (parse_bool(value, &b) < 0)
			return log_error("%s: %s: \"%s\" is not a boolean "
					 "(true/false, yes/no, on/off, 1/0)",
					 origin, name, value);
		*(bool *)base = b;
		break;
	case CONFIG_ENUM:
		if (!enum_allows(k->choices, value))
			return log_error("%s: %s: \"%s\" is not one of %s",
					 origin, name, value, k->choices);
		goto string;
	case CONFIG_PORTS: {
		struct starttls_port pp[STARTTLS_MAX_PORTS];
		size_t np;
		char why[256];

		if (starttls_ports_parse(value, pp, STARTTLS_MAX_PORTS, &np,
					 why, sizeof(why)) < 0)
			return log_error("%s: %s: \"%s\" is not a list of "
					 "ports: %s",
					 origin, name, value, why);
		goto string;
	}
	case CONFIG_SECRET_FILE:
		if (check_secret_file(origin, name, value) < 0)
			return -1;
		goto string;
	case CONFIG_DSN: {
		unsigned flags;

		if (config_dsn_parse(value, &flags) < 0)
			return log_error("%s: %s: \"%s\" is not a list of "
					 "success, failure, delay (or off)",
					 origin, name, value);
		goto string;
	}
	case CONFIG_CIDRS: {
		struct classify_cidrs list;
		char why[160];

		if (classify_cidrs_parse(value, &list, why, sizeof(why)) < 0)
			return log_error("%s: %s: %s (expected CIDRs like "
					 "10.0.0.0/8, fe80::/10)",
					 origin, name, why);
		classify_cidrs_release(&list);
		goto string;
	}
	case CONFIG_STRING:
	string:
		free(*(char **)base);
		*(char **)base = xstrdup(value);
		break;
	}
	free(cfg->origin[idx]);
	cfg->origin[idx] = xstrdup(origin);
	return 0;
}

struct config *config_new(void)
{
	struct config *cfg = xcalloc(1, sizeof(*cfg));

	cfg->origin = xcalloc(NKEYS, sizeof(char *));
	for (size_t i = 0; i < NKEYS; i++) {
		/* Defaults are ours: a bad one is a bug, caught by tests. */
		if (set_value(cfg, i, keys[i].def, "default") < 0)
			abort();
	}
	return cfg;
}

void config_free(struct config *cfg)
{
	if (cfg == NULL)
		return;
	for (size_t i = 0; i < NKEYS; i++) {
		enum config_type t = keys[i].type;

		if (t == CONFIG_STRING || t == CONFIG_ENUM ||
		    t == CONFIG_PORTS || t == CONFIG_SECRET_FILE ||
		    t == CONFIG_CIDRS || t == CONFIG_DSN)
			free(*(char **)((char *)cfg + keys[i].off));
		free(cfg->origin[i]);
	}
	free(cfg->origin);
	free(cfg->path);
	free(cfg);
}

int config_set(struct config *cfg, const char *dotted_key, const char *value,
	       const char *origin)
{
	const char *dot = strchr(dotted_key, '.');
	char section[32];
	size_t idx;

	if (dot == NULL || (size_t)(dot - dotted_key) >= sizeof(section))
		return log_error("%s: \"%s\" is not a section.key name", origin,
				 dotted_key);
	memcpy(section, dotted_key, (size_t)(dot - dotted_key));
	section[dot - dotted_key] = '\0';
	if (find_key(section, dot + 1, &idx) == NULL)
		return log_error("%s: unknown key \"%s\"", origin, dotted_key);
	return set_value(cfg, idx, value, origin);
}

/* State shared by the line-counting reader and the inih handler. */
struct file_parse {
	struct config *cfg;
	const char *path;
	FILE *fp;
	unsigned long line;	/* line the current chunk belongs to */
	unsigned long complete; /* lines fully read so far */
	int errors;
	bool *seen;
	unsigned long *seen_line;
};

/*
 * inih hands the handler no line number (Debian builds it without
 * INI_HANDLER_LINENO), but it reads through this function one line (or
 * one chunk of a long line) at a time, so counting here is exact.
 */
static char *reader(char *str, int num, void *stream)
{
	struct file_parse *fp = stream;
	char *r = fgets(str, num, fp->fp);
	size_t len;

	if (r == NULL)
		return NULL;
	fp->line = fp->complete + 1;
	len = strlen(r);
	if (len > 0 && r[len - 1] == '\n')
		fp->complete++;
	return r;
}

static int handler(void *user, const char *section, const char *name,
		   const char *value)
{
	struct file_parse *fp = user;
	char origin[PATH_MAX + 32];
	size_t idx;

	if (xsnprintf(origin, sizeof(origin), "%s:%lu", fp->path, fp->line) < 0)
		goto bad;
	if (!known_section(section)) {
		log_error("%s: unknown section [%s]", origin, section);
		goto bad;
	}
	if (find_key(section, name, &idx) == NULL) {
		log_error("%s: unknown key \"%s\" in section [%s]", origin,
			  name, section);
		goto bad;
	}
	if (fp->seen[idx]) {
		log_error("%s: %s.%s is already set at line %lu", origin,
			  section, name, fp->seen_line[idx]);
		goto bad;
	}
	fp->seen[idx] = true;
	fp->seen_line[idx] = fp->line;
	if (set_value(fp->cfg, idx, value, origin) < 0)
		goto bad;
	return 1;
bad:
	fp->errors++;
	/* Keep going: the operator should see every error at once. */
	return 1;
}

int config_load_file(struct config *cfg, const char *path)
{
	struct file_parse fp = { .cfg = cfg, .path = path };
	int rc = -1;
	int r;

	fp.fp = fopen(path, "r");
	if (fp.fp == NULL)
		return log_error("%s: cannot open: %s", path, strerror(errno));
	fp.seen = xcalloc(NKEYS, sizeof(bool));
	fp.seen_line = xcalloc(NKEYS, sizeof(unsigned long));

	/* Debian's libinih exposes its compile-time switches. */
	ini_allow_multiline = false;
	ini_use_stack = false;
	ini_allow_realloc = true;
	ini_max_line = 64 * 1024;

	r = ini_parse_stream(reader, &fp, handler, &fp);
	if (r == -1) {
		log_error("%s: cannot read: %s", path, strerror(errno));
		goto out;
	}
	if (r == -2) {
		log_error("%s: out of memory", path);
		goto out;
	}
	if (r > 0 && fp.errors == 0) {
		/* inih's own error: the line is not "key = value" or
		 * "[section]"; it stops there only if asked to. */
		log_error("%s:%d: syntax error (expected \"key = value\" or "
			  "\"[section]\")",
			  path, r);
		goto out;
	}
	if (fp.errors > 0)
		goto out;
	free(cfg->path);
	cfg->path = xstrdup(path);
	rc = 0;
out:
	free(fp.seen_line);
	free(fp.seen);
	fclose(fp.fp);
	return rc;
}

int config_load_env(struct config *cfg)
{
	const char *v;
	int rc = 0;

	for (size_t i = 0; i < NKEYS; i++) {
		char var[96];
		char origin[128];
		int n;

		n = xsnprintf(var, sizeof(var), "CERTRECALL_%s_%s",
			      keys[i].section, keys[i].name);
		if (n < 0) {
			rc = -1;
			continue;
		}
		for (int j = 0; j < n; j++)
			var[j] = (char)toupper((unsigned char)var[j]);
		v = getenv(var);
		if (v == NULL)
			continue;
		if (xsnprintf(origin, sizeof(origin), "environment %s", var) <
			    0 ||
		    set_value(cfg, i, v, origin) < 0)
			rc = -1;
	}
	/* The short name wins over CERTRECALL_DATABASE_URL. */
	v = getenv("CERTRECALL_DATABASE");
	if (v != NULL && config_set(cfg, "database.url", v,
				    "environment CERTRECALL_DATABASE") < 0)
		rc = -1;
	return rc;
}

int config_read_password(const struct config *cfg, char **password)
{
	const char *path = cfg->smtp.password_file;
	char buf[1024];
	size_t len;
	FILE *f;

	*password = NULL;
	if (*path == '\0')
		return 0;
	if (check_secret_file("smtp", "smtp.password_file", path) < 0)
		return -1;
	f = fopen(path, "r");
	if (f == NULL)
		return log_error("smtp.password_file: cannot open \"%s\": %s",
				 path, strerror(errno));
	if (fgets(buf, sizeof(buf), f) == NULL)
		buf[0] = '\0';
	fclose(f);
	len = strcspn(buf, "\r\n");
	buf[len] = '\0';
	*password = xstrdup(buf);
	explicit_bzero(buf, sizeof(buf));
	return 0;
}

/*
 * A conninfo may carry a password ("password=..." or "scheme://u:pw@h"):
 * print it with the password replaced by "***".
 */
static void print_redacted_conninfo(const char *s, FILE *out)
{
	const char *kw = strstr(s, "password=");
	const char *scheme = strstr(s, "://");

	if (kw != NULL) {
		size_t skip = strcspn(kw + 9, " ");

		fprintf(out, "%.*s***%s", (int)(kw + 9 - s), s, kw + 9 + skip);
		return;
	}
	if (scheme != NULL) {
		const char *at = strchr(scheme + 3, '@');
		const char *colon = strchr(scheme + 3, ':');

		if (at != NULL && colon != NULL && colon < at) {
			fprintf(out, "%.*s***%s", (int)(colon + 1 - s), s, at);
			return;
		}
	}
	fputs(s, out);
}

void config_print(const struct config *cfg, FILE *out)
{
	const char *section = "";

	for (size_t i = 0; i < NKEYS; i++) {
		const struct config_key *k = &keys[i];
		const char *base = (const char *)cfg + k->off;

		if (strcmp(section, k->section) != 0) {
			fprintf(out, "%s[%s]\n", i ? "\n" : "", k->section);
			section = k->section;
		}
		fprintf(out, "%s = ", k->name);
		switch (k->type) {
		case CONFIG_INT:
			fprintf(out, "%lld", *(const long long *)base);
			break;
		case CONFIG_PERCENT:
			fprintf(out, "%lld%%", *(const long long *)base);
			break;
		case CONFIG_DURATION: {
			long long ms = *(const long long *)base;

			if (ms % 1000)
				fprintf(out, "%lldms", ms);
			else
				fprintf(out, "%llds", ms / 1000);
			break;
		}
		case CONFIG_BOOL:
			fputs(*(const bool *)base ? "true" : "false", out);
			break;
		default:
			if (base == (const char *)&cfg->database.url)
				print_redacted_conninfo(cfg->database.url, out);
			else
				fputs(*(char *const *)base, out);
			break;
		}
		fprintf(out, "\t; %s\n", cfg->origin[i]);
	}
}

json_t *config_json(const struct config *cfg)
{
	static const char *const type_names[] = {
		[CONFIG_INT] = "int",
		[CONFIG_PERCENT] = "percent",
		[CONFIG_DURATION] = "duration",
		[CONFIG_BOOL] = "bool",
	};
	json_t *a = json_array();

	for (size_t i = 0; i < NKEYS; i++) {
		const struct config_key *k = &keys[i];
		const char *base = (const char *)cfg + k->off;
		const char *type = "string";
		json_t *v;

		switch (k->type) {
		case CONFIG_INT:
		case CONFIG_PERCENT:
		case CONFIG_DURATION: /* milliseconds */
			v = json_integer(*(const long long *)base);
			type = type_names[k->type];
			break;
		case CONFIG_BOOL:
			v = json_boolean(*(const bool *)base);
			type = type_names[k->type];
			break;
		default:
			if (base == (const char *)&cfg->database.url) {
				char *text = NULL;
				size_t len = 0;
				FILE *mem = open_memstream(&text, &len);

				if (mem == NULL)
					abort(); /* out of memory */
				print_redacted_conninfo(cfg->database.url, mem);
				fclose(mem);
				v = json_string(text);
				free(text);
			} else {
				v = json_string(*(char *const *)base);
			}
			break;
		}
		json_array_append_new(
			a, json_pack("{s:s,s:s,s:s,s:o,s:s}", "section",
				     k->section, "key", k->name, "type", type,
				     "value", v, "origin", cfg->origin[i]));
	}
	return a;
}
