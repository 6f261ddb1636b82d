/*
 * cmd_export.c - `certrecall export-revocations SLUG`.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "certrecall/cmd/cli.h"
#include "certrecall/core/deadline.h"
#include "certrecall/store/incident.h"
#include "certrecall/base/log.h"
#include "certrecall/base/xsnprintf.h"
#include "certrecall/store/revocation.h"

/*
 * The CRLReason to revoke with: the rule's own (v1.8.7 and later), else
 * the code its counterpart has in the current edition, which is what the
 * BR asks for today.
 */
static int reason_code(const char *reason, time_t aware_at)
{
	struct deadline_rule rule, now;
	char err[512], key[64];

	if (deadline_resolve(reason, aware_at, &rule, err, sizeof(err)) < 0)
		return log_error("%s", err);
	if (rule.crlreason != DEADLINE_CRLREASON_NONE)
		return rule.crlreason;
	if (rule.item->counterpart == NULL)
		return log_error("rule %s has no CRLReason: give --reason KEY",
				 reason);
	if (xsnprintf(key, sizeof(key), "current:%s", rule.item->counterpart) <
	    0)
		return -1;
	if (deadline_resolve(key, aware_at, &now, err, sizeof(err)) < 0 ||
	    now.crlreason == DEADLINE_CRLREASON_NONE)
		return log_error("rule %s has no CRLReason: give --reason KEY",
				 reason);
	log_info("%s predates CRLReason codes: using %s's (%s, %d)", reason,
		 key, now.crlreason_name, now.crlreason);
	return now.crlreason;
}

int cmd_export_revocations(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "replaced-only", no_argument, NULL, 'r' },
		{ "reason", required_argument, NULL, 'R' },
		{ "output", required_argument, NULL, 'o' },
		{ "jsonl", no_argument, NULL, 'J' },
		{ NULL, 0, NULL, 0 },
	};
	bool jsonl = false;
	const char *reason = NULL, *path = NULL;
	bool replaced_only = false;
	struct incident *inc;
	struct cli_output o;
	long long n;
	int c, code, rc;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			replaced_only = true;
			break;
		case 'R':
			reason = optarg;
			break;
		case 'o':
			path = optarg;
			break;
		case 'J':
			jsonl = true;
			break;
		default:
			return cli_bad_option("export-revocations", argv);
		}
	}
	rc = cli_open_incident(cli, "export-revocations", argc, argv, &inc);
	if (rc != 0)
		return rc;
	code = reason_code(reason ? reason : inc->reason, inc->aware_at);
	if (code < 0) {
		incident_free(inc);
		return EX_DATAERR;
	}
	rc = cli_output_open(&o, path);
	if (rc != 0) {
		incident_free(inc);
		return rc;
	}
	n = revocation_export(cli->db, inc->id, replaced_only, code, jsonl,
			      o.f);
	rc = cli_output_close(&o, n >= 0);
	if (rc == 0)
		log_info("%lld serials to revoke, CRLReason %d", n, code);
	incident_free(inc);
	return rc;
}
