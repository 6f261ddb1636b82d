/*
 * db - the PostgreSQL connection, migrations and the audit trail.
 *
 * Every query that carries data is parameterised (PQexecParams); the only
 * text sent unparameterised is our own SQL (migrations, fixed statements).
 * Errors are logged here, once, with the server's message.
 *
 * No libpq type shows here: the stores (src/store/) run their queries
 * through certrecall/store/dbq.h, which only they include.
 */
#ifndef CERTRECALL_DB_H
#define CERTRECALL_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "certrecall/base/embedded.h"
#include "certrecall/base/xalloc.h"

struct config;

struct db;

/* Migrations are sql/NNN_name.sql, embedded in the binary at build time:
 * embedded_migrations[] in certrecall/embedded.h. */

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
CR_MUST_CHECK struct db *db_connect(const char *conninfo,
				    long long connect_timeout_ms,
				    const char *application_name);
/* A second connection to the same server and database, with the same
 * settings (for work done in parallel).  NULL on failure (logged). */
CR_MUST_CHECK struct db *db_clone(struct db *db);
/* Connects as the config says. */
CR_MUST_CHECK struct db *db_connect_config(const struct config *cfg);
void db_close(struct db *db);
/* Whether the connection is up (not lost to a server restart). */
bool db_ok(struct db *db);
/* Reconnects a lost connection in place; whether it is up again.  What
 * was prepared on the old session is gone. */
bool db_reset(struct db *db);

/* Runs fixed SQL without parameters; 0 or -1 (logged). */
CR_MUST_CHECK int db_exec(struct db *db, const char *sql);

/* SQL NULL as a time: the same value as DEADLINE_UNSET (deadline.h) and
 * DB_COPY_NULL_TIME, the one "no time" of the whole program. */
#define DB_NULL_TIME ((time_t)INT64_MIN)

CR_MUST_CHECK int db_begin(struct db *db);
CR_MUST_CHECK int db_commit(struct db *db);
/* Never fails loudly: used on error paths. */
void db_rollback(struct db *db);

/*
 * Applies the migrations of list[0..n) that the database lacks, in order,
 * each in its own transaction, under an advisory lock so that concurrent
 * workers do not race.  A failing migration is rolled back whole and
 * stops the run.  *applied (may be NULL) counts what was applied.
 */
CR_MUST_CHECK int db_migrate(struct db *db, const struct embedded_file *list,
			     size_t n, int *applied);

/*
 * Fills *states (free with db_migration_states_free) with one entry per migration in
 * list, then one per migration known to the database but not to list.
 */
CR_MUST_CHECK int
db_migration_status(struct db *db, const struct embedded_file *list, size_t n,
		    struct db_migration_state **states, size_t *count);
void db_migration_states_free(struct db_migration_state *states, size_t count);

/*
 * Appends to the audit trail.  incident_id <= 0 means none; detail_json is
 * a JSON object text (NULL = "{}").  The actor is the OS user, the host
 * this machine, the command the one running (see db_set_command).
 */
CR_MUST_CHECK int db_event_add(struct db *db, long long incident_id,
			       const char *kind, const char *detail_json);
void db_set_command(const char *command_line);
/* Events are stamped with at instead of the real time (the rehearsal
 * clock, see clock.h); DB_NULL_TIME (INT64_MIN) restores it. */
void db_set_clock(time_t at);

/*
 * Bulk load with COPY ... FROM STDIN, in text format (values escaped
 * here) or in binary format (db_copy_begin_binary: values in the
 * server's binary forms, nothing for it to parse; the columns' types
 * must then be what each call writes).  Rows are buffered and sent in
 * large chunks.  The server may refuse
 * the data at any row (a constraint, say): db_copy_row_end() notices that
 * early, so the caller can stop producing rows, and db_copy_end() reports
 * the server's error and its SQLSTATE.
 */
struct db_copy;

/* Starts "COPY ... FROM STDIN"; NULL on error (logged). */
CR_MUST_CHECK struct db_copy *db_copy_begin(struct db *db, const char *sql);
/* Starts "COPY ... FROM STDIN (FORMAT binary)"; NULL on error (logged). */
CR_MUST_CHECK struct db_copy *db_copy_begin_binary(struct db *db,
						   const char *sql);
/* One field each; NULL / DB_COPY_NULL_TIME mean SQL NULL.  The column
 * types, for binary: text, bytea, timestamptz, text[], bigint, integer,
 * boolean, jsonb (NULL in any). */
#define DB_COPY_NULL_TIME DB_NULL_TIME
void db_copy_text(struct db_copy *c, const char *s);
void db_copy_bytea(struct db_copy *c, const unsigned char *b, size_t n);
void db_copy_time(struct db_copy *c, time_t t);
void db_copy_array(struct db_copy *c, const char *const *v, size_t n);
void db_copy_llong(struct db_copy *c, long long v);
void db_copy_int(struct db_copy *c, int v); /* integer */
void db_copy_bool(struct db_copy *c, bool v);
void db_copy_jsonb(struct db_copy *c, const char *json);
/* Ends the row.  Returns 0, or -1 once the server has refused the COPY
 * (stop sending; db_copy_end says why). */
CR_MUST_CHECK int db_copy_row_end(struct db_copy *c);
/* Discards the COPY (the server is told why) and frees c. */
void db_copy_abort(struct db_copy *c, const char *why);
/*
 * Finishes the COPY and frees c: committed into the table when abort_msg
 * is NULL, discarded otherwise.  Returns 0, or -1 with the server's
 * SQLSTATE in sqlstate (may be NULL; "" if none).  A refusal with SQLSTATE
 * 23505 (unique violation) is not logged: the caller may expect it.
 */
CR_MUST_CHECK int db_copy_end(struct db_copy *c, const char *abort_msg,
			      char sqlstate[6]);

/* "host=/x port=5432 dbname=y" as libpq sees it, without password. */
CR_MUST_CHECK int db_describe(struct db *db, char *buf, size_t len);

#endif
