/*
 * db.c - libpq connection, migrations, audit trail.
 */
#include <errno.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <poll.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "certrecall/base/clock.h"
#include "certrecall/core/config.h"
#include "certrecall/store/db.h"
#include "certrecall/store/dbq.h"
#include "certrecall/base/log.h"
#include "certrecall/base/utctime.h"
#include "certrecall/base/xalloc.h"

/* pg_advisory_lock key for migrations: "certrecall" in ASCII, truncated. */
#define DB_MIGRATE_LOCK 0x6365727472656361LL

struct db {
	PGconn *conn;
};

static char *current_command;

void db_set_command(const char *command_line)
{
	free(current_command);
	current_command = command_line ? xstrdup(command_line) : NULL;
}

static void notice_processor(void *arg, const char *message)
{
	(void)arg;
	/* NOTICEs (e.g. "relation already exists, skipping") are chatter. */
	log_debug("postgres: %.*s", (int)strcspn(message, "\n"), message);
}

static time_t event_clock = DB_NULL_TIME;

void db_set_clock(time_t at)
{
	event_clock = at;
}

/*
 * Under the rehearsal clock the session's certrecall.clock setting holds
 * it, and certrecall_now() (sql/007_report.sql) returns it: the times
 * the server stamps on results (sent, observed, checked) follow it.
 */
static int apply_clock(struct db *db)
{
	char clock[UTCTIME_BUFSZ];
	const char *v[1] = { clock };

	if (event_clock == DB_NULL_TIME)
		return 0;
	if (utctime_format_rfc3339(event_clock, clock, sizeof(clock)) < 0)
		return log_error("rehearsal clock out of range");
	return db_run(db, "SELECT set_config('certrecall.clock', $1, false)", 1,
		      v);
}

/* Connects with libpq keywords; the session is set up as ours. */
static struct db *open_params(const char *const *kw, const char *const *val,
			      int expand_dbname)
{
	struct db *db = xcalloc(1, sizeof(*db));

	db->conn = PQconnectdbParams(kw, val, expand_dbname);
	if (db->conn == NULL || PQstatus(db->conn) != CONNECTION_OK) {
		const char *msg = db->conn ? PQerrorMessage(db->conn) : "";

		log_error("cannot connect to the database: %.*s",
			  (int)strcspn(msg, "\n"), msg);
		db_close(db);
		return NULL;
	}
	PQsetNoticeProcessor(db->conn, notice_processor, NULL);
	/* Times are shown by us, in UTC; make the server agree. */
	if (db_exec(db, "SET TIME ZONE 'UTC'") < 0 || apply_clock(db) < 0) {
		db_close(db);
		return NULL;
	}
	return db;
}

struct db *db_connect(const char *conninfo, long long connect_timeout_ms,
		      const char *application_name)
{
	char timeout[32];
	/*
	 * Our defaults come first so that anything in the operator's
	 * conninfo (expanded from "dbname") overrides them.
	 */
	const char *kw[] = { "connect_timeout", "application_name", "dbname",
			     NULL };
	const char *val[] = { timeout, application_name, conninfo, NULL };

	snprintf(timeout, sizeof(timeout), "%lld",
		 (connect_timeout_ms + 999) / 1000);
	return open_params(kw, val, 1);
}

struct db *db_clone(struct db *db)
{
	PQconninfoOption *opts = PQconninfo(db->conn);
	const char *kw[80], *val[80];
	struct db *clone;
	size_t n = 0;

	if (opts == NULL) {
		log_error("database: cannot read the connection's settings");
		return NULL;
	}
	for (PQconninfoOption *o = opts; o->keyword != NULL && n < 79; o++) {
		if (o->val != NULL && o->val[0] != '\0') {
			kw[n] = o->keyword;
			val[n] = o->val;
			n++;
		}
	}
	kw[n] = val[n] = NULL;
	clone = open_params(kw, val, 0);
	PQconninfoFree(opts);
	return clone;
}

struct db *db_connect_config(const struct config *cfg)
{
	return db_connect(cfg->database.url, cfg->database.connect_timeout_ms,
			  cfg->database.application_name);
}

void db_close(struct db *db)
{
	if (db == NULL)
		return;
	PQfinish(db->conn);
	free(db);
}

PGconn *db_get0_conn(struct db *db)
{
	return db->conn;
}

bool db_ok(struct db *db)
{
	return PQstatus(db->conn) == CONNECTION_OK;
}

bool db_reset(struct db *db)
{
	PQreset(db->conn);
	return db_ok(db);
}

static int result_error(PGresult *res, const char *sql)
{
	const char *msg =
		res ? PQresultErrorMessage(res) : "no result from server";
	const char *state =
		res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

	log_error("database: %.*s%s%s%s (in: %.60s)", (int)strcspn(msg, "\n"),
		  msg, state ? " [" : "", state ? state : "", state ? "]" : "",
		  sql);
	PQclear(res);
	return -1;
}

/* With -v, each statement's time in the server: where an import's
 * seconds go. */
int db_exec(struct db *db, const char *sql)
{
	double t0 = log_enabled(LOG_LEVEL_DEBUG) ? clock_mono() : 0;
	PGresult *res = PQexec(db->conn, sql);

	if (t0 > 0)
		log_debug("sql %.3fs: %.70s", clock_mono() - t0, sql);

	if (PQresultStatus(res) != PGRES_COMMAND_OK &&
	    PQresultStatus(res) != PGRES_TUPLES_OK)
		return result_error(res, sql);
	PQclear(res);
	return 0;
}

/* db_query() and db_query_binary(): results in text (0) or binary (1). */
static PGresult *query(struct db *db, const char *sql, int nparams,
		       const char *const *params, int format)
{
	double t0 = log_enabled(LOG_LEVEL_DEBUG) ? clock_mono() : 0;
	PGresult *res = PQexecParams(db->conn, sql, nparams, NULL, params, NULL,
				     NULL, format);

	if (t0 > 0)
		log_debug("sql %.3fs: %.70s", clock_mono() - t0, sql);

	if (PQresultStatus(res) != PGRES_COMMAND_OK &&
	    PQresultStatus(res) != PGRES_TUPLES_OK) {
		result_error(res, sql);
		return NULL;
	}
	return res;
}

PGresult *db_query(struct db *db, const char *sql, int nparams,
		   const char *const *params)
{
	return query(db, sql, nparams, params, 0);
}

PGresult *db_query_binary(struct db *db, const char *sql, int nparams,
			  const char *const *params)
{
	return query(db, sql, nparams, params, 1);
}

int db_run(struct db *db, const char *sql, int nparams,
	   const char *const *params)
{
	PGresult *res = db_query(db, sql, nparams, params);

	if (res == NULL)
		return -1;
	PQclear(res);
	return 0;
}

long long db_query_llong(struct db *db, const char *sql, int nparams,
			 const char *const *params)
{
	PGresult *res = db_query(db, sql, nparams, params);
	long long v;

	if (res == NULL)
		return -1;
	v = PQntuples(res) > 0 && !PQgetisnull(res, 0, 0)
		    ? strtoll(PQgetvalue(res, 0, 0), NULL, 10)
		    : 0;
	PQclear(res);
	return v;
}

const char *db_param_llong(char buf[32], long long v)
{
	if (snprintf(buf, 32, "%lld", v) >= 32)
		buf[0] = '\0'; /* cannot happen */
	return buf;
}

time_t db_get_time(const PGresult *res, int row, int col)
{
	if (PQgetisnull(res, row, col))
		return DB_NULL_TIME;
	return (time_t)strtoll(PQgetvalue(res, row, col), NULL, 10);
}

long long db_get_llong(const PGresult *res, int row, int col)
{
	const unsigned char *p =
		(const unsigned char *)PQgetvalue(res, row, col);
	int len = PQgetlength(res, row, col);
	unsigned long long v = 0;

	if (PQfformat(res, col) == 0)
		return strtoll((const char *)p, NULL, 10);
	/* binary: a smallint, integer or bigint, big-endian */
	if (PQgetisnull(res, row, col) || (len != 2 && len != 4 && len != 8))
		return 0;
	for (int i = 0; i < len; i++)
		v = v << 8 | p[i];
	if (len < 8 && (p[0] & 0x80)) /* sign-extend a shorter one */
		v |= ~0ULL << (8 * len);
	return (long long)v;
}

char *db_get1_text(const PGresult *res, int row, int col)
{
	if (PQgetisnull(res, row, col))
		return NULL;
	return xstrdup(PQgetvalue(res, row, col));
}

int db_begin(struct db *db)
{
	return db_exec(db, "BEGIN");
}

int db_commit(struct db *db)
{
	return db_exec(db, "COMMIT");
}

void db_rollback(struct db *db)
{
	PQclear(PQexec(db->conn, "ROLLBACK"));
}

static void sha256_hex(const char *data, size_t len, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL);
	for (unsigned int i = 0; i < mdlen && i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	out[64] = '\0';
}

static const char create_migrations_table[] =
	"CREATE TABLE IF NOT EXISTS schema_migrations ("
	" name text PRIMARY KEY,"
	" checksum text NOT NULL,"
	" applied_at timestamptz NOT NULL DEFAULT now(),"
	" applied_by text NOT NULL)";

static const char *actor(void)
{
	static char buf[128];
	struct passwd *pw = getpwuid(geteuid());

	snprintf(buf, sizeof(buf), "%s", pw ? pw->pw_name : "unknown");
	return buf;
}

static const char *hostname(void)
{
	static char buf[256];

	if (gethostname(buf, sizeof(buf) - 1) < 0)
		snprintf(buf, sizeof(buf), "unknown");
	buf[sizeof(buf) - 1] = '\0';
	return buf;
}

/* Applies one migration in its own transaction, unless already there. */
static int apply_one(struct db *db, const struct embedded_file *m,
		     bool *applied)
{
	char sum[65];
	char *who;
	PGresult *res;
	int rc = -1;

	*applied = false;
	sha256_hex(m->data, m->len, sum);
	who = xasprintf("%s@%s", actor(), hostname());
	if (db_begin(db) < 0)
		goto out;
	res = db_query(db,
		       "SELECT checksum FROM schema_migrations "
		       "WHERE name = $1",
		       1, (const char *[]){ m->name });
	if (res == NULL)
		goto rollback;
	if (PQntuples(res) == 1) {
		if (strcmp(PQgetvalue(res, 0, 0), sum) != 0)
			log_warn("migration %s was applied from a different "
				 "file (checksum differs); not re-applying",
				 m->name);
		PQclear(res);
		rc = db_commit(db);
		goto out;
	}
	PQclear(res);
	log_info("applying migration %s", m->name);
	if (db_exec(db, m->data) < 0) {
		log_error("migration %s failed; rolled back, nothing of it "
			  "was applied",
			  m->name);
		goto rollback;
	}
	res = db_query(db,
		       "INSERT INTO schema_migrations "
		       "(name, checksum, applied_by) VALUES ($1, $2, $3)",
		       3, (const char *[]){ m->name, sum, who });
	if (res == NULL)
		goto rollback;
	PQclear(res);
	if (db_commit(db) < 0)
		goto out;
	*applied = true;
	rc = 0;
	goto out;
rollback:
	db_rollback(db);
out:
	free(who);
	return rc;
}

int db_migrate(struct db *db, const struct embedded_file *list, size_t n,
	       int *applied)
{
	char lock[64];
	json_t *names = json_array();
	int rc = -1;

	snprintf(lock, sizeof(lock), "SELECT pg_advisory_lock(%lld)",
		 DB_MIGRATE_LOCK);
	if (db_exec(db, lock) < 0)
		goto out;
	if (db_exec(db, create_migrations_table) < 0)
		goto unlock;
	for (size_t i = 0; i < n; i++) {
		bool did;

		if (apply_one(db, &list[i], &did) < 0)
			goto unlock;
		if (did)
			json_array_append_new(names, json_string(list[i].name));
	}
	rc = 0;
unlock:
	snprintf(lock, sizeof(lock), "SELECT pg_advisory_unlock(%lld)",
		 DB_MIGRATE_LOCK);
	if (db_exec(db, lock) < 0)
		rc = -1; /* logged; the session's end releases it */
	if (rc == 0 && json_array_size(names) > 0) {
		PGresult *res =
			db_query(db, "SELECT to_regclass('event')", 0, NULL);

		/* The project's schema has an event table; a test's may not. */
		if (res == NULL) {
			rc = -1;
		} else if (!PQgetisnull(res, 0, 0)) {
			json_t *obj = json_pack("{s:O}", "applied", names);
			char *detail = json_dumps(obj, JSON_COMPACT);

			rc = db_event_add(db, 0, "db.migrate", detail);
			free(detail);
			json_decref(obj);
		}
		PQclear(res);
	}
out:
	if (applied)
		*applied = (int)json_array_size(names);
	json_decref(names);
	return rc;
}

int db_migration_status(struct db *db, const struct embedded_file *list,
			size_t n, struct db_migration_state **states,
			size_t *count)
{
	struct db_migration_state *st = NULL;
	size_t cap = 0, used = 0;
	PGresult *res;
	int rows;

	*states = NULL;
	*count = 0;
	res = db_query(db, "SELECT to_regclass('schema_migrations')", 0, NULL);
	if (res == NULL)
		return -1;
	bool have_table = !PQgetisnull(res, 0, 0);
	PQclear(res);
	if (have_table) {
		res = db_query(db,
			       "SELECT name, checksum, "
			       "extract(epoch FROM applied_at)::bigint "
			       "FROM schema_migrations ORDER BY name",
			       0, NULL);
		if (res == NULL)
			return -1;
	} else {
		res = NULL;
	}
	rows = res ? PQntuples(res) : 0;
	for (size_t i = 0; i < n; i++) {
		char sum[65];

		xgrow(&st, &cap, used + 1, sizeof(*st));
		st[used] = (struct db_migration_state){ .name = list[i].name };
		sha256_hex(list[i].data, list[i].len, sum);
		for (int r = 0; r < rows; r++) {
			if (strcmp(PQgetvalue(res, r, 0), list[i].name) != 0)
				continue;
			st[used].applied = true;
			st[used].modified =
				strcmp(PQgetvalue(res, r, 1), sum) != 0;
			st[used].applied_at = (time_t)strtoll(
				PQgetvalue(res, r, 2), NULL, 10);
		}
		used++;
	}
	for (int r = 0; r < rows; r++) {
		const char *name = PQgetvalue(res, r, 0);
		bool known = false;

		for (size_t i = 0; i < n && !known; i++)
			known = strcmp(name, list[i].name) == 0;
		if (known)
			continue;
		xgrow(&st, &cap, used + 1, sizeof(*st));
		/* Names of unknown migrations outlive the result. */
		st[used] = (struct db_migration_state){
			.name = xstrdup(name),
			.applied = true,
			.unknown = true,
			.applied_at = (time_t)strtoll(PQgetvalue(res, r, 2),
						      NULL, 10),
		};
		used++;
	}
	PQclear(res);
	*states = st;
	*count = used;
	return 0;
}

void db_migration_states_free(struct db_migration_state *states, size_t count)
{
	for (size_t i = 0; i < count; i++)
		if (states[i].unknown)
			free((char *)states[i].name);
	free(states);
}

int db_event_add(struct db *db, long long incident_id, const char *kind,
		 const char *detail_json)
{
	char id[32], clock[UTCTIME_BUFSZ];
	const char *params[7];

	snprintf(id, sizeof(id), "%lld", incident_id);
	params[0] = incident_id > 0 ? id : NULL;
	params[1] = actor();
	params[2] = hostname();
	params[3] = current_command ? current_command : "certrecall";
	params[4] = kind;
	params[5] = detail_json ? detail_json : "{}";
	params[6] = NULL;
	if (event_clock != DB_NULL_TIME &&
	    utctime_format_rfc3339(event_clock, clock, sizeof(clock)) == 0)
		params[6] = clock;
	/* Under a rehearsal clock the real time is kept beside it. */
	return db_run(db,
		      "INSERT INTO event (incident_id, actor, host, "
		      "command, kind, detail, at) "
		      "VALUES ($1, $2, $3, $4, $5, $6::jsonb ||"
		      " CASE WHEN $7::timestamptz IS NULL THEN '{}'::jsonb"
		      " ELSE jsonb_build_object('wall_clock',"
		      " clock_timestamp()) END,"
		      " coalesce($7::timestamptz, clock_timestamp()))",
		      7, params);
}

int db_describe(struct db *db, char *buf, size_t len)
{
	const char *host = PQhost(db->conn);
	int n = snprintf(
		buf, len, "%s%s port=%s dbname=%s user=%s",
		host && host[0] == '/' ? "socket " : "host=", host ? host : "",
		PQport(db->conn), PQdb(db->conn), PQuser(db->conn));

	return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* ---- COPY FROM STDIN ---------------------------------------------- */

#define DB_COPY_CHUNK (1024 * 1024)
#define DB_COPY_STALL_MS (10 * 60 * 1000) /* no progress at all: give up */

struct db_copy {
	PGconn *conn;
	char *buf;
	size_t len, cap;
	bool refused;	  /* the server has ended the COPY with an error */
	bool binary;	  /* FORMAT binary */
	size_t row_at;	  /* binary: where the row's field count goes */
	uint16_t nfields; /* binary: fields of the row so far */
};

struct db_copy *db_copy_begin(struct db *db, const char *sql)
{
	PGresult *res = PQexec(db->conn, sql);
	struct db_copy *c;

	if (PQresultStatus(res) != PGRES_COPY_IN) {
		result_error(res, sql);
		return NULL;
	}
	PQclear(res);
	c = xcalloc(1, sizeof(*c));
	c->conn = db->conn;
	c->cap = DB_COPY_CHUNK + 64 * 1024;
	c->buf = xmalloc(c->cap);
	PQsetnonblocking(c->conn, 1);
	return c;
}

static void copy_room(struct db_copy *c, size_t n)
{
	xgrow(&c->buf, &c->cap, c->len + n, 1);
}

/* ---- binary format: big-endian integers, a length before each field */

static void put_be(struct db_copy *c, uint64_t v, int bytes)
{
	copy_room(c, (size_t)bytes);
	for (int i = bytes - 1; i >= 0; i--)
		c->buf[c->len++] = (char)(v >> (8 * i) & 0xff);
}

/* A field's length (-1: NULL), after the row's field count if it is the
 * row's first; its bytes follow. */
static void bin_field(struct db_copy *c, int32_t len)
{
	if (c->nfields++ == 0) {
		c->row_at = c->len;
		put_be(c, 0, 2); /* filled in by db_copy_row_end */
	}
	put_be(c, (uint32_t)len, 4);
}

static void bin_bytes(struct db_copy *c, const void *p, size_t n)
{
	bin_field(c, (int32_t)n);
	copy_room(c, n);
	memcpy(c->buf + c->len, p, n);
	c->len += n;
}

struct db_copy *db_copy_begin_binary(struct db *db, const char *sql)
{
	struct db_copy *c = db_copy_begin(db, sql);

	if (c == NULL)
		return NULL;
	c->binary = true;
	/* the signature, no flags, no header extension */
	memcpy(c->buf, "PGCOPY\n\377\r\n", 11);
	c->len = 11;
	put_be(c, 0, 4);
	put_be(c, 0, 4);
	return c;
}

static void copy_raw(struct db_copy *c, const char *s, size_t n)
{
	copy_room(c, n);
	memcpy(c->buf + c->len, s, n);
	c->len += n;
}

/* COPY text escapes; in_array also escapes '"' and '\\' for an array
 * element written between double quotes. */
static void copy_escaped(struct db_copy *c, const char *s, size_t n,
			 bool in_array)
{
	copy_room(c, 4 * n + 1);
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		char esc = 0;

		if (in_array && (ch == '"' || ch == '\\')) {
			c->buf[c->len++] = '\\';
			c->buf[c->len++] = '\\';
		}
		switch (ch) {
		case '\\':
			esc = '\\';
			break;
		case '\t':
			esc = 't';
			break;
		case '\n':
			esc = 'n';
			break;
		case '\r':
			esc = 'r';
			break;
		}
		if (esc) {
			c->buf[c->len++] = '\\';
			c->buf[c->len++] = esc;
		} else {
			c->buf[c->len++] = ch;
		}
	}
}

void db_copy_text(struct db_copy *c, const char *s)
{
	if (c->binary) {
		if (s == NULL)
			bin_field(c, -1);
		else
			bin_bytes(c, s, strlen(s));
		return;
	}
	if (s == NULL)
		copy_raw(c, "\\N", 2);
	else
		copy_escaped(c, s, strlen(s), false);
	copy_raw(c, "\t", 1);
}

void db_copy_bytea(struct db_copy *c, const unsigned char *b, size_t n)
{
	static const char hex[] = "0123456789abcdef";

	if (c->binary) {
		bin_bytes(c, b, n);
		return;
	}
	copy_room(c, 2 * n + 4);
	memcpy(c->buf + c->len, "\\\\x", 3);
	c->len += 3;
	for (size_t i = 0; i < n; i++) {
		c->buf[c->len++] = hex[b[i] >> 4];
		c->buf[c->len++] = hex[b[i] & 15];
	}
	c->buf[c->len++] = '\t';
}

/* v (0 <= v < 10^width) as width decimal digits, zero-padded. */
static void digits(char *p, int v, int width)
{
	for (int i = width - 1; i >= 0; i--) {
		p[i] = (char)('0' + v % 10);
		v /= 10;
	}
}

/* RFC 3339 in UTC, formatted here: the hot path of a 3-million-row
 * import cannot afford a general formatter per field. */
void db_copy_time(struct db_copy *c, time_t t)
{
	struct tm tm;
	char *p;

	if (t == DB_COPY_NULL_TIME || gmtime_r(&t, &tm) == NULL ||
	    tm.tm_year + 1900 > 9999 || tm.tm_year + 1900 < 0) {
		if (c->binary)
			bin_field(c, -1);
		else
			copy_raw(c, "\\N\t", 3);
		return;
	}
	if (c->binary) { /* microseconds since 2000-01-01T00:00:00Z */
		bin_field(c, 8);
		put_be(c, (uint64_t)(((int64_t)t - 946684800) * 1000000), 8);
		return;
	}
	copy_room(c, 32);
	p = c->buf + c->len;
	digits(p, tm.tm_year + 1900, 4);
	p[4] = '-';
	digits(p + 5, tm.tm_mon + 1, 2);
	p[7] = '-';
	digits(p + 8, tm.tm_mday, 2);
	p[10] = 'T';
	digits(p + 11, tm.tm_hour, 2);
	p[13] = ':';
	digits(p + 14, tm.tm_min, 2);
	p[16] = ':';
	digits(p + 17, tm.tm_sec, 2);
	memcpy(p + 19, "Z\t", 2);
	c->len += 21;
}

/* text[]: dimensions, no NULLs, element type text (OID 25), then each
 * element's length and bytes; an empty array has no dimension. */
static void bin_text_array(struct db_copy *c, const char *const *v, size_t n)
{
	size_t total = n > 0 ? 20 : 12;

	for (size_t i = 0; i < n; i++)
		total += 4 + strlen(v[i]);
	bin_field(c, (int32_t)total);
	put_be(c, n > 0, 4);
	put_be(c, 0, 4);
	put_be(c, 25, 4);
	if (n > 0) {
		put_be(c, n, 4);
		put_be(c, 1, 4);
	}
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(v[i]);

		put_be(c, len, 4);
		copy_raw(c, v[i], len);
	}
}

void db_copy_array(struct db_copy *c, const char *const *v, size_t n)
{
	if (c->binary) {
		bin_text_array(c, v, n);
		return;
	}
	copy_raw(c, "{", 1);
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			copy_raw(c, ",", 1);
		copy_raw(c, "\"", 1);
		copy_escaped(c, v[i], strlen(v[i]), true);
		copy_raw(c, "\"", 1);
	}
	copy_raw(c, "}\t", 2);
}

void db_copy_llong(struct db_copy *c, long long v)
{
	if (c->binary) {
		bin_field(c, 8);
		put_be(c, (uint64_t)v, 8);
		return;
	}
	copy_room(c, 24);
	c->len += (size_t)snprintf(c->buf + c->len, 24, "%lld\t", v);
}

void db_copy_int(struct db_copy *c, int v)
{
	if (c->binary) {
		bin_field(c, 4);
		put_be(c, (uint32_t)v, 4);
		return;
	}
	db_copy_llong(c, v);
}

void db_copy_bool(struct db_copy *c, bool v)
{
	if (c->binary) {
		bin_field(c, 1);
		copy_raw(c, v ? "\1" : "\0", 1);
		return;
	}
	copy_raw(c, v ? "t\t" : "f\t", 2);
}

void db_copy_jsonb(struct db_copy *c, const char *json)
{
	if (!c->binary || json == NULL) {
		db_copy_text(c, json);
		return;
	}
	/* jsonb's binary form: a version byte (1), then the text */
	bin_field(c, (int32_t)(strlen(json) + 1));
	copy_raw(c, "\1", 1);
	copy_raw(c, json, strlen(json));
}

/*
 * Waits until libpq has handed everything queued to the kernel.  Returns
 * 0, or -1 when the connection failed or the server ended the COPY.
 */
static int copy_drain(struct db_copy *c)
{
	for (;;) {
		struct pollfd pfd = { .fd = PQsocket(c->conn),
				      .events = POLLOUT | POLLIN };
		int r = PQflush(c->conn);

		if (r == 0)
			return 0;
		if (r < 0 || pfd.fd < 0)
			return -1;
		if (poll(&pfd, 1, DB_COPY_STALL_MS) <= 0)
			return log_error("database: COPY stalled for %d s",
					 DB_COPY_STALL_MS / 1000);
		/* Read what the server said so far: an error ends the COPY
		 * on its side, and we stop at once instead of after the
		 * whole file has been sent. */
		if ((pfd.revents & POLLIN) && !PQconsumeInput(c->conn))
			return -1;
	}
}

/*
 * Sends the buffered rows.  The connection is non-blocking during the
 * COPY: one chunk travels while the next is being produced, so parsing
 * here and loading in the server overlap instead of taking turns.
 */
static int copy_flush(struct db_copy *c)
{
	if (c->refused)
		return -1;
	/* Double buffering: the previous chunk must be gone first. */
	if (copy_drain(c) < 0 || !PQconsumeInput(c->conn) ||
	    PQputCopyData(c->conn, c->buf, (int)c->len) != 1 ||
	    PQflush(c->conn) < 0)
		c->refused = true;
	c->len = 0;
	return c->refused ? -1 : 0;
}

int db_copy_row_end(struct db_copy *c)
{
	if (c->binary) {
		c->buf[c->row_at] = (char)(c->nfields >> 8);
		c->buf[c->row_at + 1] = (char)(c->nfields & 0xff);
		c->nfields = 0;
	} else if (c->len > 0 && c->buf[c->len - 1] == '\t') {
		c->buf[c->len - 1] = '\n';
	}
	if (c->len >= DB_COPY_CHUNK)
		return copy_flush(c);
	return c->refused ? -1 : 0;
}

void db_copy_abort(struct db_copy *c, const char *why)
{
	/* Ending with an error message makes the server refuse: the -1
	 * that reports it is the point, not a failure. */
	if (db_copy_end(c, why, NULL) == 0)
		log_debug("database: COPY aborted (%s)", why);
}

int db_copy_end(struct db_copy *c, const char *abort_msg, char sqlstate[6])
{
	PGresult *res;
	int rc = 0;

	if (sqlstate)
		sqlstate[0] = '\0';
	if (abort_msg == NULL && c->binary)
		put_be(c, 0xffff, 2); /* the trailer: a field count of -1 */
	if (abort_msg == NULL && c->len > 0)
		copy_flush(c);
	copy_drain(c);
	PQsetnonblocking(c->conn, 0);
	if (PQputCopyEnd(c->conn, abort_msg) != 1 && !c->refused)
		rc = log_error("database: ending COPY: %s",
			       PQerrorMessage(c->conn));
	while ((res = PQgetResult(c->conn)) != NULL) {
		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			const char *st =
				PQresultErrorField(res, PG_DIAG_SQLSTATE);

			if (sqlstate && st)
				snprintf(sqlstate, 6, "%s", st);
			if (abort_msg == NULL &&
			    (st == NULL || strcmp(st, "23505") != 0))
				log_error(
					"database: COPY: %.*s",
					(int)strcspn(PQresultErrorMessage(res),
						     "\n"),
					PQresultErrorMessage(res));
			rc = -1;
		}
		PQclear(res);
	}
	if (abort_msg != NULL)
		rc = -1;
	free(c->buf);
	free(c);
	return rc;
}
