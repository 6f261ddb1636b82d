/*
 * cmd_db.c - `certrecall db migrate|status`.
 */
#include <stdio.h>
#include <string.h>
#include <sysexits.h>
#include <getopt.h>

#include "certrecall/cli.h"
#include "certrecall/db.h"
#include "certrecall/log.h"
#include "certrecall/utctime.h"

static int db_cmd_migrate(struct cli *cli)
{
	int applied = 0;

	if (cli_connect(cli) < 0)
		return EX_UNAVAILABLE;
	if (db_migrate(cli->db, embedded_migrations, embedded_migrations_count,
		       &applied) < 0)
		return EX_TEMPFAIL;
	log_info("%d migration%s applied, schema is up to date", applied,
		 applied == 1 ? "" : "s");
	return 0;
}

static int db_cmd_status(struct cli *cli)
{
	struct db_migration_state *st;
	char where[512];
	size_t n, applied = 0, pending = 0;

	if (cli_connect(cli) < 0)
		return EX_UNAVAILABLE;
	if (db_migration_status(cli->db, embedded_migrations,
				embedded_migrations_count, &st, &n) < 0)
		return EX_TEMPFAIL;
	if (db_describe(cli->db, where, sizeof(where)) == 0)
		printf("database: %s\n", where);
	for (size_t i = 0; i < n; i++) {
		char when[UTCTIME_BUFSZ] = "-";

		if (st[i].applied) {
			applied++;
			utctime_format_rfc3339(st[i].applied_at, when,
					       sizeof(when));
		} else {
			pending++;
		}
		printf("%-8s %-32s %s%s\n",
		       st[i].applied ? "applied" : "pending", st[i].name, when,
		       st[i].unknown ? "  (not in this binary: newer version?)"
		       : st[i].modified ? "  (file changed since applied)"
					: "");
	}
	if (pending == 0)
		printf("schema is up to date (%zu applied, 0 pending)\n",
		       applied);
	else
		printf("%zu pending migration%s: run 'certrecall db migrate' "
		       "(%zu applied)\n",
		       pending, pending == 1 ? "" : "s", applied);
	db_migration_states_free(st, n);
	return 0;
}

int cmd_db(struct cli *cli, int argc, char **argv)
{
	int r;

	if (argc < 2)
		return cli_usage_error("db", "expected 'migrate' or 'status'");
	r = cli_parse_no_options("db", argc - 1, argv + 1);
	if (r != 0)
		return r > 0 ? 0 : EX_USAGE;
	if (optind < argc - 1)
		return cli_usage_error("db", "unexpected argument '%s'",
				       argv[optind + 1]);
	if (strcmp(argv[1], "migrate") == 0)
		return db_cmd_migrate(cli);
	if (strcmp(argv[1], "status") == 0)
		return db_cmd_status(cli);
	return cli_usage_error("db", "unknown subcommand '%s'", argv[1]);
}
