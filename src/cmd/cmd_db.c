/*
 * cmd_db.c - `certrecall db migrate|status`.
 */
#include <stdio.h>
#include <string.h>
#include <sysexits.h>
#include <getopt.h>

#include "certrecall/cmd/cli.h"
#include "certrecall/store/db.h"
#include "certrecall/core/jsonout.h"
#include "certrecall/base/log.h"
#include "certrecall/base/utctime.h"

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

/* docs/schema/db-status.schema.json */
static void print_status_json(const char *where,
			      const struct db_migration_state *st, size_t n,
			      enum jsonout_mode mode)
{
	json_t *doc = jsonout_new("db-status"), *a = json_array();
	long long applied = 0, pending = 0;

	json_object_set_new(doc, "database", jsonout_str(where));
	for (size_t i = 0; i < n; i++) {
		applied += st[i].applied;
		pending += !st[i].applied;
		json_array_append_new(
			a,
			json_pack("{s:s,s:s,s:o,s:b,s:b}", "name", st[i].name,
				  "state",
				  st[i].applied ? "applied" : "pending",
				  "applied_at",
				  st[i].applied ? jsonout_time(st[i].applied_at)
						: json_null(),
				  "modified", st[i].modified, "unknown",
				  st[i].unknown));
	}
	json_object_set_new(doc, "migrations", a);
	json_object_set_new(doc, "applied", json_integer(applied));
	json_object_set_new(doc, "pending", json_integer(pending));
	json_object_set_new(doc, "up_to_date", json_boolean(pending == 0));
	jsonout_write(doc, stdout, mode);
}

static int db_cmd_status(struct cli *cli, enum jsonout_mode json)
{
	struct db_migration_state *st;
	char where[512];
	size_t n, applied = 0, pending = 0;

	if (cli_connect(cli) < 0)
		return EX_UNAVAILABLE;
	if (db_migration_status(cli->db, embedded_migrations,
				embedded_migrations_count, &st, &n) < 0)
		return EX_TEMPFAIL;
	if (json != JSONOUT_NONE) {
		print_status_json(
			db_describe(cli->db, where, sizeof(where)) == 0 ? where
									: NULL,
			st, n, json);
		db_migration_states_free(st, n);
		return 0;
	}
	if (db_describe(cli->db, where, sizeof(where)) == 0)
		printf("database: %s\n", where);
	for (size_t i = 0; i < n; i++) {
		char when[UTCTIME_BUFSZ] = "-";

		if (st[i].applied) {
			applied++;
			if (utctime_format_rfc3339(st[i].applied_at, when,
						   sizeof(when)) < 0)
				log_error("cannot format time %lld",
					  (long long)(st[i].applied_at));
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
	enum jsonout_mode json;
	int r;

	if (argc < 2)
		return cli_usage_error("db", "expected 'migrate' or 'status'");
	r = cli_parse_json_only("db", argc - 1, argv + 1, &json);
	if (r != 0)
		return r > 0 ? 0 : EX_USAGE;
	if (optind < argc - 1)
		return cli_usage_error("db", "unexpected argument '%s'",
				       argv[optind + 1]);
	if (strcmp(argv[1], "migrate") == 0) {
		if (json != JSONOUT_NONE)
			return cli_usage_error("db", "migrate prints no data: "
						     "--json is for status");
		return db_cmd_migrate(cli);
	}
	if (strcmp(argv[1], "status") == 0)
		return db_cmd_status(cli, json);
	return cli_usage_error("db", "unknown subcommand '%s'", argv[1]);
}
