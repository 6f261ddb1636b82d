/*
 * cmd_rules.c - `certrecall rules [KEY] [--at TIME] [--edition E]`: the
 * BR revocation catalogue, and which text applied when.
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>

#include "certrecall/cmd/cli.h"
#include "certrecall/base/clock.h"
#include "certrecall/core/deadline.h"
#include "certrecall/core/jsonout.h"
#include "certrecall/base/log.h"
#include "certrecall/base/utctime.h"
#include "certrecall/base/xalloc.h"

static const char *numbering_words(enum deadline_numbering n)
{
	switch (n) {
	case DEADLINE_NUMBERING_2020:
		return "two lists: 24h-1..24h-4, 5d-1..5d-11";
	case DEADLINE_NUMBERING_MERGED:
		return "one list: br-1..br-16";
	case DEADLINE_NUMBERING_ANY:
		break;
	}
	return "";
}

static void print_edition_items(const struct deadline_edition *ed)
{
	char eff[UTCTIME_BUFSZ];
	const struct deadline_item *it;

	if (utctime_format_rfc3339(ed->effective, eff, sizeof(eff)) < 0)
		log_error("cannot format time %lld",
			  (long long)(ed->effective));
	eff[10] = '\0';
	printf("\nBR %s (ballot %s, effective %s UTC)\n", ed->name, ed->ballot,
	       eff);
	printf("%-6s %-8s %-50s %-22s %s\n", "KEY", "SECTION", "WINDOW",
	       "CRLREASON", "CIRCUMSTANCE");
	for (size_t i = 0; (it = deadline_item_get0(i)) != NULL; i++) {
		struct deadline_rule r;
		char *crl;

		if (deadline_rule_make(ed, it, &r) < 0)
			continue;
		crl = r.crlreason != DEADLINE_CRLREASON_NONE
			      ? xasprintf("%s (%d)", r.crlreason_name,
					  r.crlreason)
			      : xstrdup("-");
		printf("%-6s %-8s %-50s %-22s %s\n", it->key, it->section,
		       deadline_window_words(it->window), crl, r.text);
		free(crl);
	}
}

/* "BR 4.9.1.1 (v2.0)", "CCADB IRG v3.0": where a clock comes from; with ed,
 * the rule's edition stands for an edition the clock leaves open.  Caller
 * frees. */
static char *clock_source(const struct deadline_clock_def *def,
			  const struct deadline_edition *ed)
{
	if (def->edition == NULL && ed != NULL)
		return xasprintf("%s %s (%s)", def->document, def->section,
				 ed->name);
	if (def->edition == NULL)
		return xasprintf("%s %s", def->document, def->section);
	return xasprintf("%s %s", def->document, def->edition);
}

/*
 * The clocks of an incident, each with its source and the date that took
 * effect; with ed (the BR edition in force at at), whether an incident
 * that started at at gets it.
 */
static void print_clocks(const struct deadline_edition *ed, time_t at)
{
	const struct deadline_clock_def *def;
	char when[UTCTIME_BUFSZ];

	if (utctime_format_rfc3339(at, when, sizeof(when)) < 0)
		log_error("cannot format time %lld", (long long)(at));
	if (ed != NULL)
		printf("\nClocks of an incident that started at %s\n", when);
	else
		printf("\nClocks of an incident\n");
	if (ed != NULL)
		printf("%-22s %-22s %-10s %-17s %s\n", "CLOCK", "SOURCE",
		       "SINCE", "AT THAT TIME", "OBLIGATION; STARTS AT");
	else
		printf("%-22s %-22s %-10s %s\n", "CLOCK", "SOURCE", "SINCE",
		       "OBLIGATION; STARTS AT");
	for (size_t i = 0; (def = deadline_clock_def_get0(i)) != NULL; i++) {
		char *source = clock_source(def, ed);
		char since[UTCTIME_BUFSZ] = "edition";
		const char *state;

		if (def->edition == NULL && ed != NULL) {
			if (utctime_format_rfc3339(ed->effective, since,
						   sizeof(since)) < 0)
				log_error("cannot format time %lld",
					  (long long)(ed->effective));
		} else if (def->edition != NULL) {
			if (utctime_format_rfc3339(def->effective, since,
						   sizeof(since)) < 0)
				log_error("cannot format time %lld",
					  (long long)(def->effective));
		}
		since[10] = '\0';
		if (ed == NULL) {
			printf("%-22s %-22s %-10s %s; %s\n", def->id, source,
			       since, def->what, def->start);
			free(source);
			continue;
		}
		state = deadline_clock_def_in_force(def, at)
				? "in force"
				: "not yet in force";
		printf("%-22s %-22s %-10s %-17s %s; %s\n", def->id, source,
		       since, state, def->what, def->start);
		free(source);
	}
}

/* -------------------------------------------------------------- JSON
 * docs/schema/rules.schema.json: the same catalogue as the tables. */

static const char *numbering_name(enum deadline_numbering n)
{
	switch (n) {
	case DEADLINE_NUMBERING_2020:
		return "2020";
	case DEADLINE_NUMBERING_MERGED:
		return "merged";
	case DEADLINE_NUMBERING_ANY:
		break;
	}
	return "any";
}

static json_t *rule_json(const struct deadline_rule *r)
{
	const struct deadline_item *it = r->item;

	return json_pack("{s:s,s:s,s:s,s:o,s:s,s:o,s:o,s:s,s:s}", "key",
			 it->key, "edition", r->edition->name, "section",
			 it->section, "item", jsonout_str(it->where), "window",
			 deadline_window_words(it->window), "crlreason",
			 jsonout_str(r->crlreason_name), "crlreason_code",
			 r->crlreason != DEADLINE_CRLREASON_NONE
				 ? json_integer(r->crlreason)
				 : json_null(),
			 "citation", r->citation, "text", r->text);
}

static json_t *edition_json(const struct deadline_edition *ed)
{
	const struct deadline_item *it;
	json_t *rules = json_array();

	for (size_t i = 0; (it = deadline_item_get0(i)) != NULL; i++) {
		struct deadline_rule r;

		if (deadline_rule_make(ed, it, &r) == 0)
			json_array_append_new(rules, rule_json(&r));
	}
	return json_pack(
		"{s:s,s:s,s:o,s:s,s:b,s:b,s:o}", "name", ed->name, "ballot",
		ed->ballot, "effective", jsonout_time(ed->effective),
		"numbering", numbering_name(ed->numbering), "has_crlreason",
		ed->has_crlreason, "has_caa", ed->has_caa, "rules", rules);
}

/* The clocks; with ed, whether an incident starting at at gets each. */
static json_t *clocks_json(const struct deadline_edition *ed, time_t at)
{
	const struct deadline_clock_def *def;
	json_t *a = json_array();

	for (size_t i = 0; (def = deadline_clock_def_get0(i)) != NULL; i++) {
		char *source = clock_source(def, ed);
		json_t *since = json_null();

		if (def->edition == NULL && ed != NULL)
			since = jsonout_time(ed->effective);
		else if (def->edition != NULL)
			since = jsonout_time(def->effective);
		json_array_append_new(
			a,
			json_pack("{s:s,s:s,s:o,s:o,s:s,s:s}", "id", def->id,
				  "source", source, "since", since, "in_force",
				  ed == NULL
					  ? json_null()
					  : json_boolean(
						    deadline_clock_def_in_force(
							    def, at)),
				  "obligation", def->what, "starts_at",
				  def->start));
		free(source);
	}
	return a;
}

static int rules_list_json(const char *edition, time_t at, bool have_at,
			   enum jsonout_mode mode)
{
	const struct deadline_edition *ed, *in_force = NULL;
	json_t *doc, *a = json_array();

	if (have_at) {
		in_force = deadline_edition_at(at);
		if (in_force == NULL) {
			json_decref(a);
			log_error("no edition in the catalogue was in force "
				  "then (the oldest is v1.6.7, 2019-12-19)");
			return EX_DATAERR;
		}
	}
	for (size_t i = 0; (ed = deadline_edition_get0(i)) != NULL; i++)
		if ((in_force == NULL || ed == in_force) &&
		    (edition == NULL || strcmp(edition, ed->name) == 0))
			json_array_append_new(a, edition_json(ed));
	if (json_array_size(a) == 0) {
		json_decref(a);
		log_error("--edition: no edition \"%s\" in the catalogue "
			  "(see 'certrecall rules')",
			  edition);
		return EX_DATAERR;
	}
	doc = jsonout_new("rules");
	json_object_set_new(doc, "at",
			    have_at ? jsonout_time(at) : json_null());
	json_object_set_new(doc, "editions", a);
	json_object_set_new(doc, "clocks", clocks_json(in_force, at));
	jsonout_write(doc, stdout, mode);
	return 0;
}

static int rules_list(const char *edition, time_t at, bool have_at)
{
	const struct deadline_edition *ed;

	if (have_at) {
		ed = deadline_edition_at(at);
		if (ed == NULL) {
			log_error("no edition in the catalogue was in force "
				  "then (the oldest is v1.6.7, 2019-12-19)");
			return EX_DATAERR;
		}
		print_edition_items(ed);
		print_clocks(ed, at);
		return 0;
	}
	printf("%-8s %-11s %-7s %s\n", "EDITION", "EFFECTIVE", "BALLOT",
	       "NUMBERING OF BR 4.9.1.1");
	for (size_t i = 0; (ed = deadline_edition_get0(i)) != NULL; i++) {
		char eff[UTCTIME_BUFSZ];

		if (utctime_format_rfc3339(ed->effective, eff, sizeof(eff)) < 0)
			log_error("cannot format time %lld",
				  (long long)(ed->effective));
		eff[10] = '\0';
		printf("%-8s %-11s %-7s %s%s%s\n", ed->name, eff, ed->ballot,
		       numbering_words(ed->numbering),
		       ed->has_crlreason ? "; CRLReason codes" : "",
		       ed->has_caa ? "; br-5 names CAA" : "");
	}
	bool found = false;

	for (size_t i = 0; (ed = deadline_edition_get0(i)) != NULL; i++) {
		if (edition == NULL || strcmp(edition, ed->name) == 0) {
			print_edition_items(ed);
			found = true;
		}
	}
	if (!found) {
		log_error("--edition: no edition \"%s\" in the catalogue "
			  "(see the EDITION column)",
			  edition);
		return EX_DATAERR;
	}
	if (edition == NULL)
		print_clocks(NULL, at);
	return 0;
}

int cmd_rules(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "at", required_argument, NULL, 'a' },
		{ "edition", required_argument, NULL, 'e' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	enum jsonout_mode json = JSONOUT_NONE;
	const char *edition = NULL;
	bool have_at = false;
	time_t at = clock_now();
	char err[256];
	int c;

	(void)cli;
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'a':
			if (cli_parse_time("--at", optarg, &at) != 0)
				return EX_DATAERR;
			have_at = true;
			break;
		case 'e':
			edition = optarg;
			break;
		case 'j':
			json = JSONOUT_DOC;
			break;
		default:
			return cli_bad_option("rules", argv);
		}
	}
	if (optind + 1 < argc)
		return cli_usage_error("rules", "expected at most one KEY");
	if (optind == argc && json != JSONOUT_NONE)
		return rules_list_json(edition, at, have_at, json);
	if (optind == argc)
		return rules_list(edition, at, have_at);

	/* One key: which text applied at --at (default: now). */
	struct deadline_rule rule;
	char note[1024];

	if (deadline_explain(argv[optind], at, &rule, note, sizeof(note), err,
			     sizeof(err)) < 0) {
		log_error("%s", err);
		return EX_DATAERR;
	}
	if (json != JSONOUT_NONE) {
		json_t *doc = jsonout_new("rules");

		json_object_set_new(doc, "at", jsonout_time(at));
		json_object_set_new(doc, "rule", rule_json(&rule));
		json_object_set_new(doc, "note", json_string(note));
		jsonout_write(doc, stdout, json);
		return 0;
	}
	printf("%s\n", note);
	return 0;
}
