/*
 * db - the PostgreSQL connection, migrations and the audit trail.
 *
 * Every query that carries data is parameterised (PQexecParams); the only
 * text sent unparameterised is our own SQL (migrations, fixed statements).
 * Errors are logged here, once, with the server's message.
 */
#ifndef CERTRECALL_DB_H
#define CERTRECALL_DB_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

struct config;

struct db;

/* One migration: sql/NNN_name.sql, embedded in the binary at build time. */
struct db_migration {
	const char *name;
	const char *sql;
	size_t len;
};

/* The project's migrations, in order (generated from sql/). */
extern const struct db_migration db_migrations[];
extern const size_t db_migrations_count;

struct db_migration_state {
	const char *name; /* borrowed from the migration list, or the db */
	bool applied;
	bool modified; /* applied, but the file changed since */
	bool unknown;  /* in the database, not in this binary */
	time_t applied_at;
};

/*
 * Connects with conninfo (a libpq key=value string or URI; "" uses libpq's
 * PG* variables and defaults).  connect_timeout_ms and application_name
 * apply unless the conninfo sets them.  NULL on failure (logged).
 */
struct db *db_connect(const char *conninfo, long long connect_timeout_ms,
		      const char *application_name);
/* Connects as the config says. */
struct db *db_connect_config(const struct config *cfg);
void db_close(struct db *db);
PGconn *db_get0_conn(struct db *db);

/* Runs fixed SQL without parameters; 0 or -1 (logged). */
int db_exec(struct db *db, const char *sql);

/*
 * Runs a parameterised statement (text parameters, NULL = SQL NULL).
 * Returns the result (caller PQclear()s) when it is COMMAND_OK or
 * TUPLES_OK, else logs and returns NULL.
 */
PGresult *db_query(struct db *db, const char *sql, int nparams,
		   const char *const *params);

int db_begin(struct db *db);
int db_commit(struct db *db);
/* Never fails loudly: used on error paths. */
void db_rollback(struct db *db);

/*
 * Applies the migrations of list[0..n) that the database lacks, in order,
 * each in its own transaction, under an advisory lock so that concurrent
 * workers do not race.  A failing migration is rolled back whole and
 * stops the run.  *applied (may be NULL) counts what was applied.
 */
int db_migrate(struct db *db, const struct db_migration *list, size_t n,
	       int *applied);

/*
 * Fills *states (free with db_migration_states_free) with one entry per migration in
 * list, then one per migration known to the database but not to list.
 */
int db_migration_status(struct db *db, const struct db_migration *list,
			size_t n, struct db_migration_state **states,
			size_t *count);
void db_migration_states_free(struct db_migration_state *states, size_t count);

/*
 * Appends to the audit trail.  incident_id <= 0 means none; detail_json is
 * a JSON object text (NULL = "{}").  The actor is the OS user, the host
 * this machine, the command the one running (see db_set_command).
 */
int db_event_add(struct db *db, long long incident_id, const char *kind,
		 const char *detail_json);
void db_set_command(const char *command_line);

/* "host=/x port=5432 dbname=y" as libpq sees it, without password. */
int db_describe(struct db *db, char *buf, size_t len);

#endif
