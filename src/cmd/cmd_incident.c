/*
 * cmd_incident.c - `certrecall incident
 * create|update|close|reopen|list|show|add-issuer`.
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "certrecall/cmd/cli.h"
#include "certrecall/core/deadline.h"
#include "certrecall/store/incident.h"
#include "certrecall/core/jsonout.h"
#include "certrecall/base/log.h"
#include "certrecall/store/revocation.h"
#include "certrecall/base/utctime.h"
#include "certrecall/base/xsnprintf.h"

/* Long option name of each settable field (index: enum incident_field). */
static const char *const option_names[INCIDENT_NFIELDS] = {
	[INCIDENT_TITLE] = "title",
	[INCIDENT_REASON] = "reason",
	[INCIDENT_AWARE_AT] = "aware-at",
	[INCIDENT_CPR_RECEIVED_AT] = "cpr-received",
	[INCIDENT_DISCLOSED_AT] = "disclosed-at",
	[INCIDENT_CPR_ANSWERED_AT] = "cpr-answered",
	[INCIDENT_FIRST_REPORT_AT] = "first-report",
	[INCIDENT_FULL_REPORT_AT] = "full-report",
	[INCIDENT_LAST_UPDATE_AT] = "update-posted",
};

/* Option codes beyond the fields (getopt values). */
enum {
	OPT_FIELD = 1000,
	OPT_COMMENT_AT = 2000,
	OPT_COMMENT_ANSWERED,
};

/* Normalised values owned by the command while it runs. */
struct change_text {
	struct incident_change ch;
	char times[INCIDENT_NFIELDS][UTCTIME_BUFSZ];
	char comment_at[UTCTIME_BUFSZ];
	char comment_answered[UTCTIME_BUFSZ];
	char reason[64];
};

/* --NAME TEXT must be plain text: no CR/LF or other controls. */
static int check_text(const char *option, const char *text)
{
	char err[128];

	if (incident_text_check(text, err, sizeof(err)) < 0) {
		log_error("--%s: %s", option, err);
		return -1;
	}
	return 0;
}

/* --NAME TIME as RFC 3339 UTC text into buf. */
static int parse_time(const char *option, const char *text, char *buf)
{
	char err[256];
	time_t t;

	if (utctime_parse(text, &t, NULL, err, sizeof(err)) < 0) {
		log_error("--%s: %s", option, err);
		return -1;
	}
	if (utctime_format_rfc3339(t, buf, UTCTIME_BUFSZ) < 0)
		log_error("cannot format time %lld", (long long)(t));
	return 0;
}

/*
 * Parses "--aware-at TIME" etc. into ch.  Times are converted to UTC text
 * here, so that what is stored and logged is exactly what is shown.
 */
static int parse_fields(const char *cmd, int argc, char **argv,
			struct change_text *ct, const char **slug)
{
	struct option opts[INCIDENT_NFIELDS + 4];
	int c;

	memset(ct, 0, sizeof(*ct));
	for (int f = 0; f < INCIDENT_NFIELDS; f++)
		opts[f] = (struct option){ option_names[f], required_argument,
					   NULL, OPT_FIELD + f };
	opts[INCIDENT_NFIELDS] =
		(struct option){ "slug", required_argument, NULL, 's' };
	opts[INCIDENT_NFIELDS + 1] =
		(struct option){ "comment-at", required_argument, NULL,
				 OPT_COMMENT_AT };
	opts[INCIDENT_NFIELDS + 2] =
		(struct option){ "comment-answered", required_argument, NULL,
				 OPT_COMMENT_ANSWERED };
	opts[INCIDENT_NFIELDS + 3] = (struct option){ NULL, 0, NULL, 0 };
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "s:", opts, NULL)) != -1) {
		int f = c - OPT_FIELD;

		if (c == 's') {
			if (check_text("slug", optarg) < 0)
				return EX_DATAERR;
			*slug = optarg;
			continue;
		}
		if (c == OPT_COMMENT_AT || c == OPT_COMMENT_ANSWERED) {
			char *buf = c == OPT_COMMENT_AT ? ct->comment_at
							: ct->comment_answered;

			if (parse_time(c == OPT_COMMENT_AT ? "comment-at"
							   : "comment-answered",
				       optarg, buf) < 0)
				return EX_DATAERR;
			if (c == OPT_COMMENT_AT)
				ct->ch.comment_at = buf;
			else
				ct->ch.comment_answered = buf;
			continue;
		}
		if (c == '?' || f < 0 || f >= INCIDENT_NFIELDS)
			return cli_usage_error(cmd,
					       "unknown or incomplete "
					       "option '%s'",
					       argv[optind - 1]);
		if (f == INCIDENT_TITLE || f == INCIDENT_REASON) {
			if (check_text(option_names[f], optarg) < 0)
				return EX_DATAERR;
			ct->ch.value[f] = optarg;
			continue;
		}
		if (*optarg == '\0') { /* clears an optional time */
			ct->ch.value[f] = "";
			continue;
		}
		if (parse_time(option_names[f], optarg, ct->times[f]) < 0)
			return EX_DATAERR;
		ct->ch.value[f] = ct->times[f];
	}
	return 0;
}

/*
 * Checks the reason against the catalogue as of aware_at and replaces it
 * with its canonical "edition:key" form, which pins the rule.
 */
static int canonical_reason(struct change_text *ct, const char *reason,
			    const char *aware_at)
{
	struct deadline_rule rule;
	char err[256];
	time_t t;

	if (utctime_parse(aware_at, &t, NULL, err, sizeof(err)) < 0)
		return log_error("%s", err);
	if (deadline_resolve(reason, t, &rule, err, sizeof(err)) < 0)
		return log_error("--reason: %s (see 'certrecall rules')", err);
	if (rule.item->window == DEADLINE_WINDOW_REPORT_24H)
		return log_error("--reason: \"%s\" is not a revocation reason; "
				 "give the problem report time with "
				 "--cpr-received",
				 reason);
	if (xsnprintf(ct->reason, sizeof(ct->reason), "%s:%s",
		      rule.edition->name, rule.item->key) < 0)
		return -1;
	ct->ch.value[INCIDENT_REASON] = ct->reason;
	return 0;
}

static int incident_cmd_create(struct cli *cli, int argc, char **argv)
{
	struct change_text ct;
	const char *slug = NULL;
	long long id;
	int rc;

	rc = parse_fields("incident", argc, argv, &ct, &slug);
	if (rc != 0)
		return rc;
	if (optind < argc)
		return cli_usage_error("incident", "unexpected argument '%s'",
				       argv[optind]);
	if (slug == NULL || ct.ch.value[INCIDENT_TITLE] == NULL ||
	    ct.ch.value[INCIDENT_REASON] == NULL ||
	    ct.ch.value[INCIDENT_AWARE_AT] == NULL ||
	    *ct.ch.value[INCIDENT_AWARE_AT] == '\0')
		return cli_usage_error("incident", "create needs --slug, "
						   "--title, --reason and "
						   "--aware-at");
	if (ct.ch.comment_at != NULL || ct.ch.comment_answered != NULL)
		return cli_usage_error("incident", "comments are recorded with "
						   "'incident update'");
	if (canonical_reason(&ct, ct.ch.value[INCIDENT_REASON],
			     ct.ch.value[INCIDENT_AWARE_AT]) < 0)
		return EX_DATAERR;
	if (cli_connect(cli) < 0)
		return EX_UNAVAILABLE;
	id = incident_create(cli->db, slug, &ct.ch);
	if (id < 0)
		return EX_DATAERR;
	log_info("incident %s created (rule %s, aware at %s)", slug, ct.reason,
		 ct.ch.value[INCIDENT_AWARE_AT]);
	return 0;
}

/* Whether ch sets anything (an empty time still clears a field). */
static bool any_change(const struct incident_change *ch)
{
	for (int f = 0; f < INCIDENT_NFIELDS; f++)
		if (ch->value[f] != NULL)
			return true;
	return ch->comment_at != NULL || ch->comment_answered != NULL;
}

static int incident_cmd_update(struct cli *cli, int argc, char **argv)
{
	struct change_text ct;
	const char *slug = NULL;
	struct incident *inc;
	int changed = 0;
	int rc;

	rc = parse_fields("incident", argc, argv, &ct, &slug);
	if (rc != 0)
		return rc;
	if (slug == NULL && optind < argc) {
		slug = argv[optind++];
		if (check_text("slug", slug) < 0)
			return EX_DATAERR;
	}
	if (slug == NULL || optind < argc)
		return cli_usage_error("incident", "update takes one SLUG");
	if (!any_change(&ct.ch)) {
		char names[512];
		size_t o = 0;

		for (int f = 0; f < INCIDENT_NFIELDS; f++) {
			int n = snprintf(names + o, sizeof(names) - o, "--%s, ",
					 option_names[f]);

			if (n < 0 || (size_t)n >= sizeof(names) - o)
				break;
			o += (size_t)n;
		}
		return cli_usage_error("incident",
				       "update %s: nothing to change; give "
				       "at least one of %s--comment-at or "
				       "--comment-answered",
				       slug, names);
	}
	if (cli_connect(cli) < 0)
		return EX_UNAVAILABLE;
	/* A new reason or clock start must still name a valid rule. */
	if (ct.ch.value[INCIDENT_REASON] != NULL ||
	    ct.ch.value[INCIDENT_AWARE_AT] != NULL) {
		char reason[64], aware[UTCTIME_BUFSZ];

		inc = incident_find(cli->db, slug);
		if (inc == NULL)
			return EX_DATAERR;
		rc = xsnprintf(reason, sizeof(reason), "%s",
			       ct.ch.value[INCIDENT_REASON]
				       ? ct.ch.value[INCIDENT_REASON]
				       : inc->reason);
		if (rc >= 0 && utctime_format_rfc3339(inc->aware_at, aware,
						      sizeof(aware)) < 0)
			rc = log_error("cannot format time %lld",
				       (long long)inc->aware_at);
		incident_free(inc);
		if (rc < 0)
			return EX_DATAERR;
		if (canonical_reason(&ct, reason,
				     ct.ch.value[INCIDENT_AWARE_AT]
					     ? ct.ch.value[INCIDENT_AWARE_AT]
					     : aware) < 0)
			return EX_DATAERR;
	}
	if (incident_update(cli->db, slug, &ct.ch, &changed) < 0)
		return EX_DATAERR;
	log_info("incident %s: %d field%s changed", slug, changed,
		 changed == 1 ? "" : "s");
	return 0;
}

static void print_time(const char *label, time_t t)
{
	char buf[UTCTIME_BUFSZ];

	if (t == DEADLINE_UNSET)
		return;
	if (utctime_format_rfc3339(t, buf, sizeof(buf)) < 0)
		log_error("cannot format time %lld", (long long)(t));
	printf("%-16s %s\n", label, buf);
}

/* The incident's fields as JSON (docs/schema/incident-show.schema.json
 * and, without comments, each entry of incident-list). */
static json_t *incident_json(const struct incident *inc, bool comments)
{
	struct deadline_rule rule;
	char err[256];
	json_t *o, *a;

	o = json_pack("{s:s,s:s,s:s}", "slug", inc->slug, "title", inc->title,
		      "reason", inc->reason);
	if (deadline_resolve(inc->reason, inc->aware_at, &rule, err,
			     sizeof(err)) == 0)
		json_object_set_new(o, "rule",
				    json_pack("{s:s,s:s}", "citation",
					      rule.citation, "text",
					      rule.text));
	else
		json_object_set_new(o, "rule", json_null());
	json_object_set_new(o, "aware_at", jsonout_time(inc->aware_at));
	json_object_set_new(o, "cpr_received_at",
			    jsonout_time(inc->cpr_received_at));
	json_object_set_new(o, "disclosed_at", jsonout_time(inc->disclosed_at));
	json_object_set_new(o, "cpr_answered_at",
			    jsonout_time(inc->cpr_answered_at));
	json_object_set_new(o, "first_report_at",
			    jsonout_time(inc->first_report_at));
	json_object_set_new(o, "full_report_at",
			    jsonout_time(inc->full_report_at));
	json_object_set_new(o, "last_update_at",
			    jsonout_time(inc->last_update_at));
	json_object_set_new(o, "created_at", jsonout_time(inc->created_at));
	json_object_set_new(o, "updated_at", jsonout_time(inc->updated_at));
	json_object_set_new(o, "certificates", json_integer(inc->certificates));
	json_object_set_new(o, "closed_at", jsonout_time(inc->closed_at));
	json_object_set_new(o, "closed_reason",
			    jsonout_str(inc->closed_reason));
	if (!comments)
		return o;
	a = json_array();
	for (size_t i = 0; i < inc->ncomments; i++)
		json_array_append_new(
			a,
			json_pack("{s:o,s:o}", "comment_at",
				  jsonout_time(inc->comments[i].comment_at),
				  "answered_at",
				  jsonout_time(inc->comments[i].answered_at)));
	json_object_set_new(o, "comments", a);
	return o;
}

static int incident_cmd_show(struct cli *cli, const char *slug,
			     enum jsonout_mode json)
{
	struct deadline_rule rule;
	struct incident *inc;
	char err[256];

	if (cli_connect(cli) < 0)
		return EX_UNAVAILABLE;
	inc = incident_find(cli->db, slug);
	if (inc == NULL)
		return EX_DATAERR;
	if (incident_count(cli->db, inc) < 0) {
		incident_free(inc);
		return EX_SOFTWARE;
	}
	if (json != JSONOUT_NONE) {
		json_t *doc = jsonout_new("incident-show");

		json_object_update_new(doc, incident_json(inc, true));
		jsonout_write(doc, stdout, json);
		incident_free(inc);
		return 0;
	}
	printf("%-16s %s\n", "incident", inc->slug);
	printf("%-16s %s\n", "title", inc->title);
	if (deadline_resolve(inc->reason, inc->aware_at, &rule, err,
			     sizeof(err)) == 0)
		printf("%-16s %s\n%-16s %s: %s\n", "reason", inc->reason,
		       "rule", rule.citation, rule.text);
	else
		printf("%-16s %s (%s)\n", "reason", inc->reason, err);
	print_time("aware_at", inc->aware_at);
	print_time("cpr_received_at", inc->cpr_received_at);
	print_time("disclosed_at", inc->disclosed_at);
	print_time("cpr_answered_at", inc->cpr_answered_at);
	print_time("first_report_at", inc->first_report_at);
	print_time("full_report_at", inc->full_report_at);
	print_time("last_update_at", inc->last_update_at);
	print_time("created_at", inc->created_at);
	print_time("updated_at", inc->updated_at);
	printf("%-16s %lld\n", "certificates", inc->certificates);
	print_time("closed_at", inc->closed_at);
	if (inc->closed_reason != NULL)
		printf("%-16s %s\n", "closed_reason", inc->closed_reason);
	for (size_t i = 0; i < inc->ncomments; i++) {
		char when[UTCTIME_BUFSZ], ans[UTCTIME_BUFSZ] = "";

		if (utctime_format_rfc3339(inc->comments[i].comment_at, when,
					   sizeof(when)) < 0)
			log_error("cannot format time %lld",
				  (long long)(inc->comments[i].comment_at));
		if (inc->comments[i].answered_at != DEADLINE_UNSET)
			if (utctime_format_rfc3339(inc->comments[i].answered_at,
						   ans, sizeof(ans)) < 0)
				log_error("cannot format time %lld",
					  (long long)(inc->comments[i]
							      .answered_at));
		printf("%-16s %s (%s%s)\n", "comment", when,
		       *ans ? "answered " : "open", ans);
	}
	incident_free(inc);
	return 0;
}

static int incident_cmd_list(struct cli *cli, enum jsonout_mode json)
{
	struct incident **list;
	size_t n;

	if (cli_connect(cli) < 0)
		return EX_UNAVAILABLE;
	list = incident_list(cli->db, &n);
	if (list == NULL)
		return EX_TEMPFAIL;
	if (json != JSONOUT_NONE) {
		json_t *doc = jsonout_new("incident-list"), *a = json_array();

		for (size_t i = 0; i < n; i++)
			json_array_append_new(a, incident_json(list[i], false));
		json_object_set_new(doc, "incidents", a);
		jsonout_write(doc, stdout, json);
		incident_list_free(list, n);
		return 0;
	}
	printf("%-20s %-20s %-16s %12s  %s\n", "SLUG", "AWARE (UTC)", "REASON",
	       "CERTIFICATES", "TITLE");
	for (size_t i = 0; i < n; i++) {
		char aware[UTCTIME_BUFSZ];

		if (utctime_format_rfc3339(list[i]->aware_at, aware,
					   sizeof(aware)) < 0)
			log_error("cannot format time %lld",
				  (long long)(list[i]->aware_at));
		printf("%-20s %-20s %-16s %12lld  %s", list[i]->slug, aware,
		       list[i]->reason, list[i]->certificates, list[i]->title);
		if (list[i]->closed_at != DEADLINE_UNSET) {
			if (utctime_format_rfc3339(list[i]->closed_at, aware,
						   sizeof(aware)) < 0)
				aware[0] = '\0';
			printf(" [closed %s%s%s]", aware,
			       list[i]->closed_reason ? ": " : "",
			       list[i]->closed_reason ? list[i]->closed_reason
						      : "");
		}
		putchar('\n');
	}
	incident_list_free(list, n);
	return 0;
}

/* incident add-issuer SLUG FILE.pem [--ocsp URL] [--crl URL] */
static int incident_cmd_add_issuer(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "ocsp", required_argument, NULL, 'o' },
		{ "crl", required_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 },
	};
	const char *ocsp = NULL, *crl = NULL;
	struct incident *inc;
	int c, n;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'o')
			ocsp = optarg;
		else if (c == 'c')
			crl = optarg;
		else
			return cli_bad_option("incident", argv);
	}
	if (optind != argc - 2)
		return cli_usage_error("incident", "add-issuer takes SLUG and "
						   "FILE.pem");
	if (cli_connect(cli) < 0)
		return EX_UNAVAILABLE;
	inc = incident_find(cli->db, argv[optind]);
	if (inc == NULL)
		return EX_DATAERR;
	n = revocation_add_issuers(cli->db, inc, argv[optind + 1], ocsp, crl);
	if (n >= 0)
		log_info("incident %s: %d issuer certificate%s added",
			 inc->slug, n, n == 1 ? "" : "s");
	incident_free(inc);
	return n >= 0 ? 0 : EX_DATAERR;
}

/* incident close SLUG [--reason TEXT] / incident reopen SLUG */
static int incident_cmd_close(struct cli *cli, int argc, char **argv,
			      bool close)
{
	static const struct option opts[] = {
		{ "reason", required_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	const char *reason = NULL;
	int c;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != 'r' || !close)
			return cli_bad_option("incident", argv);
		if (check_text("reason", optarg) < 0)
			return EX_DATAERR;
		reason = *optarg ? optarg : NULL;
	}
	if (optind != argc - 1)
		return cli_usage_error("incident", "%s takes one SLUG",
				       close ? "close" : "reopen");
	if (cli_connect(cli) < 0)
		return EX_UNAVAILABLE;
	if (incident_set_closed(cli->db, argv[optind], close, reason) < 0)
		return EX_DATAERR;
	log_info("incident %s: %s", argv[optind],
		 close ? "closed (no longer drives ARI answers)" : "reopened");
	return 0;
}

int cmd_incident(struct cli *cli, int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : "";

	if (strcmp(sub, "add-issuer") == 0)
		return incident_cmd_add_issuer(cli, argc - 1, argv + 1);

	if (strcmp(sub, "create") == 0)
		return incident_cmd_create(cli, argc - 1, argv + 1);
	if (strcmp(sub, "close") == 0 || strcmp(sub, "reopen") == 0)
		return incident_cmd_close(cli, argc - 1, argv + 1,
					  strcmp(sub, "close") == 0);
	if (strcmp(sub, "update") == 0)
		return incident_cmd_update(cli, argc - 1, argv + 1);
	if (strcmp(sub, "list") == 0 || strcmp(sub, "show") == 0) {
		enum jsonout_mode json;
		int r = cli_parse_json_only("incident", argc - 1, argv + 1,
					    &json);

		if (r != 0)
			return r > 0 ? 0 : EX_USAGE;
		/* optind counts from argv + 1. */
		if (strcmp(sub, "list") == 0) {
			if (optind != argc - 1)
				return cli_usage_error("incident",
						       "list takes no "
						       "arguments");
			return incident_cmd_list(cli, json);
		}
		if (optind != argc - 2)
			return cli_usage_error("incident", "show takes one "
							   "SLUG");
		return incident_cmd_show(cli, argv[optind + 1], json);
	}
	return cli_usage_error("incident", "expected create, update, close, "
					   "reopen, list, show or add-issuer");
}
