/*
 * dbq - the libpq side of db, for the stores only.
 *
 * Only the files of src/store/ include this header (tests/layers.sh checks it):
 * everything above the store layer sees struct db and the plain structs
 * the stores return, never a PGresult.
 */
#ifndef CERTRECALL_DBQ_H
#define CERTRECALL_DBQ_H

#include <libpq-fe.h>
#include <time.h>

#include "certrecall/store/db.h"
#include "certrecall/base/xalloc.h"

PGconn *db_get0_conn(struct db *db);

/*
 * Runs a parameterised statement (text parameters, NULL = SQL NULL).
 * Returns the result (caller PQclear()s) when it is COMMAND_OK or
 * TUPLES_OK, else logs and returns NULL.
 */
PGresult *db_query(struct db *db, const char *sql, int nparams,
		   const char *const *params);

/* db_query() with every column of the result in binary (PostgreSQL's
 * send functions: no printing, no quoting; for big values). */
PGresult *db_query_binary(struct db *db, const char *sql, int nparams,
			  const char *const *params);

/* A parameterised statement whose result is not needed: 0, or -1 when
 * it fails (logged). */
CR_MUST_CHECK int db_run(struct db *db, const char *sql, int nparams,
			 const char *const *params);

/* The first column of the first row of a statement as a number (0 when
 * it gives no row or NULL), or -1 when it fails (logged). */
CR_MUST_CHECK long long db_query_llong(struct db *db, const char *sql,
				       int nparams, const char *const *params);

/* v in decimal into buf, for a statement's parameter (32 bytes hold any
 * long long); returns buf. */
const char *db_param_llong(char buf[32], long long v);

/* A column as epoch seconds (SQL NULL: DB_NULL_TIME), or as a whole
 * number (NULL: 0; in a binary result a smallint, integer or bigint,
 * else 0). */
time_t db_get_time(const PGresult *res, int row, int col);
CR_MUST_CHECK long long db_get_llong(const PGresult *res, int row, int col);
/* A column as a new string (caller frees), NULL for SQL NULL. */
CR_MUST_CHECK char *db_get1_text(const PGresult *res, int row, int col);

#endif
