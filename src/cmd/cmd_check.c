/*
 * cmd_check.c - `certrecall check HOST[:PORT[/PROTO]]`: probe one host now, on
 * every address it resolves to, and say whether the certificate it
 * serves is affected in any incident.  The tool support staff answer a
 * subscriber with.
 */
#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>

#include "certrecall/base/hex.h"
#include "certrecall/core/certinfo.h"
#include "certrecall/core/classify.h"
#include "certrecall/cmd/cli.h"
#include "certrecall/base/clock.h"
#include "certrecall/store/check_store.h"
#include "certrecall/core/dnsname.h"
#include "certrecall/base/log.h"
#include "certrecall/net/probe.h"
#include "certrecall/core/serial.h"
#include "certrecall/base/utctime.h"
#include "certrecall/core/verdict.h"
#include "certrecall/base/xalloc.h"

/* One incident listing the served serial. */
struct check_incident {
	char *slug;
	char *title;
	char *revocation_state;
	char *revoked_at; /* RFC 3339 UTC, or NULL */
	char *good_by;	  /* "ocsp, checked TIME" when good, or NULL */
	char *match;	  /* how it was told: certificate_served_match() */
	bool names_host;  /* that certificate names the probed host */
};

/* One (name, address) result, copied out of the scanner's callback. */
struct check_row {
	char *address;
	enum probe_outcome outcome;
	enum probe_phase phase;
	char *error;
	char *tls_version;
	long long elapsed_ms;
	int attempts;
	bool have_cert;
	char *cert_error; /* the leaf could not be read */
	struct certinfo ci;
	struct check_incident *inc;
	size_t ninc;
	enum classify_verdict verdict;
	bool have_verdict;
};

struct check_run {
	const char *name;
	enum starttls_proto proto;
	struct check_row *rows;
	size_t n, cap;
};

static void check_run_release(struct check_run *run)
{
	for (size_t i = 0; i < run->n; i++) {
		struct check_row *r = &run->rows[i];

		free(r->address);
		free(r->error);
		free(r->tls_version);
		free(r->cert_error);
		if (r->have_cert)
			certinfo_release(&r->ci);
		for (size_t j = 0; j < r->ninc; j++) {
			free(r->inc[j].slug);
			free(r->inc[j].title);
			free(r->inc[j].revocation_state);
			free(r->inc[j].revoked_at);
			free(r->inc[j].good_by);
			free(r->inc[j].match);
		}
		free(r->inc);
	}
	free(run->rows);
}

static void on_result(const struct probe_result *res, void *arg)
{
	struct check_run *run = arg;
	struct check_row *r;
	char err[256];

	xgrow(&run->rows, &run->cap, run->n + 1, sizeof(*run->rows));
	r = &run->rows[run->n++];
	memset(r, 0, sizeof(*r));
	r->address = xstrdup(res->address);
	r->outcome = res->outcome;
	r->phase = res->phase;
	r->error = xstrdup(res->error);
	r->tls_version = xstrdup(res->tls_version);
	r->elapsed_ms = res->elapsed_ms;
	r->attempts = res->attempts;
	if (res->leaf != NULL) {
		if (certinfo_from_x509(res->leaf, &r->ci, err, sizeof(err)) ==
		    0)
			r->have_cert = true;
		else
			r->cert_error = xstrdup(err);
	}
}

/*
 * HOST, HOST:PORT, [V6] or [V6]:PORT, or a bare IPv6 address, each
 * optionally followed by /PROTO (scanner.ports' protocols; without a
 * port, the protocol's usual one).  Fills host (normalised), port and
 * proto; returns 0 or EX_USAGE (printed).
 */
static int parse_target(const char *whole, char *host, size_t hostlen,
			uint16_t *port, enum starttls_proto *proto)
{
	char arg[DNSNAME_MAX + 64];
	const char *h = arg, *p = NULL, *colon, *slash;
	size_t len;
	char why[256];

	*port = 443;
	*proto = STARTTLS_NONE;
	if (snprintf(arg, sizeof(arg), "%s", whole) >= (int)sizeof(arg))
		return cli_usage_error("check", "\"%.40s...\": too long",
				       whole);
	slash = strrchr(whole, '/');
	if (slash != NULL) {
		if (starttls_proto_parse(slash + 1, strlen(slash + 1), proto) <
		    0)
			return cli_usage_error(
				"check",
				"\"%s\": protocol must be one of tls, smtp, "
				"imap, pop3, ftp, xmpp-client, xmpp-server, "
				"ldap",
				whole);
		arg[slash - whole] = '\0';
		*port = (uint16_t)starttls_default_port(*proto);
	}
	if (*arg == '[') {
		const char *end = strchr(arg, ']');

		if (end == NULL || (end[1] != '\0' && end[1] != ':'))
			return cli_usage_error("check",
					       "\"%s\": expected "
					       "[ADDRESS]:PORT",
					       whole);
		h = arg + 1;
		len = (size_t)(end - h);
		if (end[1] == ':')
			p = end + 2;
	} else if ((colon = strchr(arg, ':')) != NULL &&
		   strchr(colon + 1, ':') == NULL) {
		len = (size_t)(colon - arg);
		p = colon + 1;
	} else {
		len = strlen(arg);
	}
	if (p != NULL) {
		char *end;
		long v = strtol(p, &end, 10);

		if (*p < '0' || *p > '9' || *end != '\0' || v < 1 || v > 65535)
			return cli_usage_error(
				"check", "\"%s\": port must be 1 to 65535",
				whole);
		*port = (uint16_t)v;
	}
	if (dnsname_normalize(h, len, host, hostlen, why, sizeof(why)) < 0)
		return cli_usage_error("check", "%s", why);
	if (dnsname_is_wildcard(host))
		return cli_usage_error("check",
				       "%s: a wildcard name cannot be probed; "
				       "give a name it covers",
				       host);
	return 0;
}

/* Whether an incident's names (space-separated) cover name. */
static bool names_cover(const char *names, const char *name)
{
	bool covered = false;

	for (const char *p = names; *p;) {
		size_t len = strcspn(p, " ");
		char *one = xstrndup(p, len);

		if (classify_name_covers(one, name))
			covered = true;
		free(one);
		p += len;
		p += strspn(p, " ");
	}
	return covered;
}

/*
 * Which incidents list r's served certificate (check_store), and whether
 * that certificate names the host (an imported row without names is
 * taken to be the served certificate itself, so its names are the
 * leaf's).
 */
static int lookup_incidents(struct db *db, const char *name,
			    struct check_row *r)
{
	struct check_store_incident *st;
	size_t n;

	if (check_store_incidents(db, &r->ci, &st, &n) < 0)
		return -1;
	r->inc = n > 0 ? xcalloc(n, sizeof(*r->inc)) : NULL;
	for (size_t i = 0; i < n; i++) {
		struct check_incident *ci = &r->inc[r->ninc++];

		/* The strings change hands; the names are read here. */
		ci->slug = st[i].slug;
		ci->title = st[i].title;
		ci->revocation_state = st[i].revocation_state;
		ci->revoked_at = st[i].revoked_at;
		ci->match = st[i].match;
		ci->good_by = st[i].good_by;
		st[i].slug = st[i].title = st[i].revocation_state = NULL;
		st[i].revoked_at = st[i].match = st[i].good_by = NULL;
		if (*st[i].names == '\0') {
			for (size_t k = 0; k < r->ci.nnames; k++)
				if (classify_name_covers(r->ci.names[k], name))
					ci->names_host = true;
			continue;
		}
		ci->names_host = names_cover(st[i].names, name);
	}
	check_store_incidents_free(st, n);
	return 0;
}

/* Verdicts for every row; a served certificate needs the incidents. */
static void decide(struct check_run *run, bool checked, time_t now)
{
	for (size_t i = 0; i < run->n; i++) {
		struct check_row *r = &run->rows[i];
		struct classify_leaf leaf = { 0 };

		if (r->outcome != PROBE_OK) {
			r->verdict =
				verdict_probe(probe_outcome_name(r->outcome));
			r->have_verdict = true;
			continue;
		}
		if (!checked || !r->have_cert)
			continue;
		leaf.names = (const char *const *)r->ci.names;
		leaf.nnames = r->ci.nnames;
		leaf.not_after = r->ci.not_after;
		for (size_t j = 0; j < r->ninc; j++)
			if (r->inc[j].names_host)
				leaf.affected = true;
		r->verdict = classify_leaf(run->name, &leaf, now);
		r->have_verdict = true;
	}
}

static bool covers(const struct check_row *r, const char *name)
{
	for (size_t k = 0; k < r->ci.nnames; k++)
		if (classify_name_covers(r->ci.names[k], name))
			return true;
	return false;
}

/* What the text output says about how a certificate was matched: only
 * a match that could not compare issuers needs saying. */
static const char *match_note(const char *match)
{
	if (match == NULL)
		return "";
	if (strcmp(match, "serial") == 0)
		return "; serial matches; issuer unknown";
	if (strcmp(match, "incident-issuer") == 0)
		return "; serial matches; issuer unknown (the served issuer "
		       "is one of the incident's)";
	return "";
}

static void print_text(const struct check_run *run, uint16_t port, bool checked,
		       time_t now)
{
	for (size_t i = 0; i < run->n; i++) {
		const struct check_row *r = &run->rows[i];
		char t[UTCTIME_BUFSZ];

		if (i)
			putchar('\n');
		printf("host         %s:%u%s%s\n", run->name, (unsigned)port,
		       run->proto != STARTTLS_NONE ? "/" : "",
		       run->proto != STARTTLS_NONE
			       ? starttls_proto_name(run->proto)
			       : "");
		printf("address      %s\n", *r->address ? r->address : "-");
		printf("outcome      %s", probe_outcome_name(r->outcome));
		if (r->outcome == PROBE_TIMEOUT)
			printf(" (%s phase)", probe_phase_name(r->phase));
		if (*r->error)
			printf(": %s", r->error);
		if (r->outcome == PROBE_OK)
			printf(" (%s, %lld ms)", r->tls_version, r->elapsed_ms);
		putchar('\n');
		if (r->cert_error != NULL)
			printf("certificate  unreadable: %s\n", r->cert_error);
		if (r->have_cert) {
			char hex[2 * SERIAL_MAX + 1], sha[65];

			serial_format_hex(&r->ci.serial, hex, sizeof(hex));
			hex_encode(r->ci.sha256, 32, sha);
			printf("serial       %s\n", hex);
			printf("subject      %s\n", r->ci.subject);
			printf("issuer       %s\n", r->ci.issuer);
			printf("names        ");
			for (size_t k = 0; k < r->ci.nnames; k++)
				printf("%s%s", k ? " " : "", r->ci.names[k]);
			putchar('\n');
			if (utctime_format_rfc3339(r->ci.not_after, t,
						   sizeof(t)) < 0)
				snprintf(t, sizeof(t), "?");
			printf("not_after    %s%s\n", t,
			       r->ci.not_after <= now ? " (expired)" : "");
			printf("sha256       %s\n", sha);
			printf("tls          %s\n", r->tls_version);
			if (!checked) {
				printf("incidents    not checked: no "
				       "database\n");
			} else if (r->ninc == 0) {
				printf("incidents    none (not an affected "
				       "certificate)\n");
			} else {
				for (size_t j = 0; j < r->ninc; j++) {
					const struct check_incident *c =
						&r->inc[j];

					printf("%s %s: %s; revocation "
					       "%s%s%s%s%s%s%s%s"
					       "\n",
					       j ? "            "
						 : "incidents   ",
					       c->slug, c->title,
					       c->revocation_state,
					       c->revoked_at ? " at " : "",
					       c->revoked_at ? c->revoked_at
							     : "",
					       c->good_by ? " (" : "",
					       c->good_by ? c->good_by : "",
					       c->good_by ? ")" : "",
					       match_note(c->match),
					       c->names_host
						       ? ""
						       : " (does not name this "
							 "host)");
				}
			}
		}
		if (r->have_verdict)
			printf("verdict      %s\n",
			       classify_verdict_name(r->verdict));
		else if (r->have_cert)
			printf("verdict      unknown: incidents not checked "
			       "(the certificate %s the name%s)\n",
			       covers(r, run->name) ? "covers"
						    : "does not cover",
			       r->ci.not_after <= now ? ", expired" : "");
	}
}

static json_t *str_or_null(const char *s)
{
	return s != NULL ? json_string(s) : json_null();
}

static int print_json(const struct check_run *run, uint16_t port, bool checked)
{
	json_t *results = json_array();
	json_t *root;
	int rc;

	for (size_t i = 0; i < run->n; i++) {
		const struct check_row *r = &run->rows[i];
		json_t *o = json_object();
		json_t *cert = json_null(), *incs = json_null();

		json_object_set_new(o, "address", json_string(r->address));
		json_object_set_new(
			o, "outcome",
			json_string(probe_outcome_name(r->outcome)));
		json_object_set_new(
			o, "phase",
			r->outcome == PROBE_TIMEOUT
				? json_string(probe_phase_name(r->phase))
				: json_null());
		json_object_set_new(o, "error",
				    *r->error ? json_string(r->error)
					      : json_null());
		json_object_set_new(o, "tls_version",
				    *r->tls_version
					    ? json_string(r->tls_version)
					    : json_null());
		json_object_set_new(o, "elapsed_ms",
				    json_integer(r->elapsed_ms));
		json_object_set_new(o, "attempts", json_integer(r->attempts));
		if (r->have_cert) {
			char hex[2 * SERIAL_MAX + 1], sha[65];
			char nb[UTCTIME_BUFSZ], na[UTCTIME_BUFSZ];
			json_t *names = json_array();

			serial_format_hex(&r->ci.serial, hex, sizeof(hex));
			hex_encode(r->ci.sha256, 32, sha);
			if (utctime_format_rfc3339(r->ci.not_before, nb,
						   sizeof(nb)) < 0)
				nb[0] = '\0';
			if (utctime_format_rfc3339(r->ci.not_after, na,
						   sizeof(na)) < 0)
				na[0] = '\0';
			for (size_t k = 0; k < r->ci.nnames; k++)
				json_array_append_new(
					names, json_string(r->ci.names[k]));
			cert = json_pack("{s:s,s:s,s:s,s:o,s:s,s:s,s:s}",
					 "serial", hex, "subject",
					 r->ci.subject, "issuer", r->ci.issuer,
					 "names", names, "not_before", nb,
					 "not_after", na, "sha256", sha);
		}
		if (r->have_cert && checked) {
			incs = json_array();
			for (size_t j = 0; j < r->ninc; j++) {
				const struct check_incident *c = &r->inc[j];

				json_array_append_new(
					incs,
					json_pack("{s:s,s:s,s:s,s:o,s:o,s:b}",
						  "slug", c->slug, "title",
						  c->title, "revocation_state",
						  c->revocation_state,
						  "revoked_at",
						  str_or_null(c->revoked_at),
						  "match",
						  str_or_null(c->match),
						  "names_host",
						  (int)c->names_host));
			}
		}
		json_object_set_new(o, "certificate", cert);
		json_object_set_new(o, "incidents", incs);
		json_object_set_new(
			o, "verdict",
			r->have_verdict
				? json_string(classify_verdict_name(r->verdict))
				: json_null());
		json_array_append_new(results, o);
	}
	root = json_pack("{s:s,s:i,s:s,s:b,s:o}", "host", run->name, "port",
			 (int)port, "protocol", starttls_proto_name(run->proto),
			 "incidents_checked", (int)checked, "results", results);
	{
		json_t *doc = jsonout_new("check");

		json_object_update_new(doc, root);
		rc = jsonout_write(doc, stdout, JSONOUT_DOC);
	}
	return rc < 0 ? -1 : 0;
}

int cmd_check(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "address", required_argument, NULL, 'a' },
		{ NULL, 0, NULL, 0 },
	};
	struct probe_options so;
	struct probe *sc = NULL;
	struct check_run run = { 0 };
	struct classify_addr addr;
	char host[DNSNAME_MAX + 1];
	const char *address = NULL;
	bool json = false, checked = false, served = false;
	uint16_t port;
	time_t now;
	int c, rc;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'a':
			address = optarg;
			break;
		default:
			return cli_bad_option("check", argv);
		}
	}
	if (optind != argc - 1)
		return cli_usage_error("check",
				       "expected one HOST[:PORT[/PROTO]]");
	rc = parse_target(argv[optind], host, sizeof(host), &port, &run.proto);
	if (rc != 0)
		return rc;
	if (address != NULL && classify_addr_parse(address, &addr) < 0)
		return cli_usage_error("check",
				       "--address: \"%s\" is not an IP address",
				       address);
	run.name = host;

	probe_options_from_config(&so, cli->cfg);
	/* One host: its addresses in parallel, no rate limit to wait on. */
	so.rate = 0;
	sc = probe_new(&so, on_result, &run);
	if (sc == NULL) {
		rc = EX_CONFIG;
		goto out;
	}
	if ((address != NULL
		     ? probe_add_address(sc, host, port, run.proto, address,
					 NULL)
		     : probe_add(sc, host, port, run.proto, NULL)) < 0 ||
	    probe_run(sc) < 0) {
		rc = EX_SOFTWARE;
		goto out;
	}
	probe_free(sc);
	sc = NULL;

	for (size_t i = 0; i < run.n; i++)
		served |= run.rows[i].have_cert;
	if (served && cli_connect(cli) == 0) {
		checked = true;
		for (size_t i = 0; i < run.n && checked; i++)
			if (run.rows[i].have_cert &&
			    lookup_incidents(cli->db, host, &run.rows[i]) < 0)
				checked = false;
	}
	if (served && !checked)
		log_warn("check: incidents not checked: the database is not "
			 "reachable");
	now = clock_now();
	decide(&run, checked, now);
	if (json) {
		if (print_json(&run, port, checked) < 0) {
			rc = EX_IOERR;
			goto out;
		}
	} else {
		print_text(&run, port, checked, now);
	}
	/* 0: a certificate was read from at least one address. */
	rc = served ? 0 : EX_UNAVAILABLE;
out:
	probe_free(sc);
	check_run_release(&run);
	return rc;
}
