/*
 * cmd_import.c - `certrecall import SLUG FILE...`.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "certrecall/cmd/cli.h"
#include "certrecall/store/importer.h"
#include "certrecall/store/incident.h"
#include "certrecall/core/jsonout.h"
#include "certrecall/base/log.h"
#include "certrecall/core/record.h"
#include "certrecall/store/revocation.h"

static void print_summary(const struct importer_stats *st, bool repl)
{
	log_info("%lld lines read, %lld %s records in %.1f s", st->lines,
		 st->records, repl ? "replacement" : "certificate",
		 st->seconds);
	log_info("%lld new, %lld already present", st->new_certs, st->present);
	if (st->duplicates > 0)
		log_info("%lld duplicate lines (same serial, same data)",
			 st->duplicates);
	/* Replacements are not the incident's: their accounts are not
	 * counted (nor mailed). */
	if (!repl)
		log_info("%lld accounts, %lld without e-mail%s", st->accounts,
			 st->accounts_without_email,
			 st->accounts_without_email
				 ? " (each will get a no-address record)"
				 : "");
	if (st->contacts > 0)
		log_info("%lld accounts given e-mail addresses", st->contacts);
	log_info("%lld names, %lld distinct", st->names, st->distinct_names);
	if (st->rejects > 0)
		log_info("%lld bad lines rejected", st->rejects);
	if (st->ca_certs > 0)
		log_info("%lld CA certificates (basicConstraints)",
			 st->ca_certs);
	if (st->no_name > 0)
		log_info("%lld certificates with no probeable name",
			 st->no_name);
	if (st->skipped_names > 0)
		log_info("%lld subjectAltName entries not usable as names",
			 st->skipped_names);
	if (st->odd_serials > 0)
		log_info("%lld certificates with serial zero or negative",
			 st->odd_serials);
	if (st->other_pem_blocks > 0)
		log_info("%lld PEM blocks that are not certificates skipped",
			 st->other_pem_blocks);
	if (st->replaced > 0)
		log_info("%lld affected certificates now marked replaced",
			 st->replaced);
}

/* The summary above as one document (docs/schema/import.schema.json). */
static void summary_json(const char *slug, const struct importer_stats *st,
			 bool repl, bool ok, enum jsonout_mode mode)
{
	json_t *doc = jsonout_new("import");

	json_object_update_new(
		doc,
		json_pack("{s:s,s:s,s:b,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,"
			  "s:I,s:I}",
			  "incident", slug, "kind",
			  repl ? "replacements" : "certificates", "completed",
			  ok, "lines", (json_int_t)st->lines, "records",
			  (json_int_t)st->records, "new",
			  (json_int_t)st->new_certs, "present",
			  (json_int_t)st->present, "duplicates",
			  (json_int_t)st->duplicates, "accounts",
			  (json_int_t)st->accounts, "accounts_without_email",
			  (json_int_t)st->accounts_without_email, "contacts",
			  (json_int_t)st->contacts, "names",
			  (json_int_t)st->names, "distinct_names",
			  (json_int_t)st->distinct_names, "rejects",
			  (json_int_t)st->rejects));
	json_object_update_new(
		doc, json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:f}", "replaced",
			       (json_int_t)st->replaced, "ca_certificates",
			       (json_int_t)st->ca_certs, "no_probeable_name",
			       (json_int_t)st->no_name, "skipped_names",
			       (json_int_t)st->skipped_names, "odd_serials",
			       (json_int_t)st->odd_serials, "other_pem_blocks",
			       (json_int_t)st->other_pem_blocks, "seconds",
			       st->seconds));
	jsonout_write(doc, stdout, mode);
}

static int import_revocations(struct cli *cli, const char *slug,
			      const char *path, enum jsonout_mode json)
{
	struct revocation_import_stats st;
	struct incident *inc;
	int rc;

	if (cli_connect(cli) < 0)
		return EX_UNAVAILABLE;
	inc = incident_find(cli->db, slug);
	if (inc == NULL)
		return EX_DATAERR;
	memset(&st, 0, sizeof(st));
	rc = revocation_import(cli->db, inc, path, &st);
	if (json != JSONOUT_NONE)
		jsonout_write(json_pack("{s:s,s:s,s:s,s:b,s:I,s:I,s:I,s:I}",
					"schema", "certrecall-import/1",
					"incident", inc->slug, "kind",
					"revocations", "completed", rc == 0,
					"lines", (json_int_t)st.lines, "loaded",
					(json_int_t)st.loaded, "unknown",
					(json_int_t)st.unknown, "conflicts",
					(json_int_t)st.conflicts),
			      stdout, json);
	if (rc == 0) {
		log_info("%lld revocations loaded, %lld serials not in the "
			 "incident",
			 st.loaded, st.unknown);
		if (st.conflicts > 0) {
			log_warn("%lld certificates have sources that disagree "
				 "(serial,source=status@time ...):",
				 st.conflicts);
			if (revocation_conflicts(cli->db, inc->id, stderr) < 0)
				log_warn("the conflicts could not be listed: "
					 "certrecall export-conflicts lists "
					 "them");
		}
	}
	incident_free(inc);
	return rc == 0 ? 0 : EX_DATAERR;
}

int cmd_import(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "serial-base", required_argument, NULL, 'b' },
		{ "max-errors", required_argument, NULL, 'm' },
		{ "rejects", required_argument, NULL, 'r' },
		{ "accounts", required_argument, NULL, 'a' },
		{ "replacements", no_argument, NULL, 'R' },
		{ "no-progress", no_argument, NULL, 'P' },
		{ "allow-empty", no_argument, NULL, 'E' },
		{ "revocations", required_argument, NULL, 'V' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	enum jsonout_mode json = JSONOUT_NONE;
	struct importer_options opt = {
		.format = IMPORTER_AUTO,
		.serial_base = 16,
		.progress = true,
	};
	struct importer_stats st;
	const char *revocations = NULL;
	struct incident *inc;
	long long v;
	int c, rc;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			opt.format = importer_format_from_name(optarg);
			if (opt.format == -1)
				return cli_usage_error(
					"import",
					"--format: \"%s\" is not one of "
					"le2020, le2022, csv, pem, der, "
					"serials",
					optarg);
			break;
		case 'b':
			if (strcmp(optarg, "10") != 0 &&
			    strcmp(optarg, "16") != 0)
				return cli_usage_error("import",
						       "--serial-base is 10 "
						       "or 16");
			opt.serial_base = atoi(optarg);
			break;
		case 'm':
			if (cli_parse_count("import", "--max-errors", optarg,
					    1000000000000LL, &v) != 0)
				return EX_USAGE;
			opt.max_errors = v;
			break;
		case 'r':
			opt.rejects_path = optarg;
			break;
		case 'a':
			opt.accounts_path = optarg;
			break;
		case 'R':
			opt.replacements = true;
			break;
		case 'P':
			opt.progress = false;
			break;
		case 'E':
			opt.allow_empty = true;
			break;
		case 'V':
			revocations = optarg;
			break;
		case 'j':
			json = JSONOUT_DOC;
			break;
		default:
			return cli_bad_option("import", argv);
		}
	}
	if (optind >= argc)
		return cli_usage_error("import", "expected an incident SLUG");
	if (revocations != NULL) {
		if (optind + 1 != argc)
			return cli_usage_error("import", "--revocations takes "
							 "no other FILE");
		return import_revocations(cli, argv[optind], revocations, json);
	}
	if (optind + 1 >= argc && opt.accounts_path == NULL)
		return cli_usage_error("import", "expected FILE... ('-' for "
						 "standard input) or "
						 "--accounts FILE");
	if (opt.rejects_path != NULL && opt.max_errors == 0)
		return cli_usage_error("import", "--rejects needs "
						 "--max-errors N");
	if (cli_connect(cli) < 0)
		return EX_UNAVAILABLE;
	inc = incident_find(cli->db, argv[optind]);
	if (inc == NULL)
		return EX_DATAERR;
	memset(&st, 0, sizeof(st));
	rc = importer_run(cli->db, inc->id, &opt, argv + optind + 1,
			  (size_t)(argc - optind - 1), &st);
	if (rc == 0)
		print_summary(&st, opt.replacements);
	if (json != JSONOUT_NONE)
		summary_json(inc->slug, &st, opt.replacements, rc == 0, json);
	incident_free(inc);
	return rc == 0 ? 0 : EX_DATAERR;
}
