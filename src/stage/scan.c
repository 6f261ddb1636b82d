/*
 * scan.c - targets, claims, probes, observations.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "certrecall/core/certinfo.h"
#include "certrecall/core/classify.h"
#include "certrecall/base/clock.h"
#include "certrecall/core/config.h"
#include "certrecall/store/db.h"
#include "certrecall/core/dnsname.h"
#include "certrecall/store/incident.h"
#include "certrecall/base/log.h"
#include "certrecall/base/progress.h"
#include "certrecall/stage/scan.h"
#include "certrecall/net/probe.h"
#include "certrecall/core/starttls.h"
#include "certrecall/base/utctime.h"
#include "certrecall/base/xalloc.h"

#define FLUSH_AT 500	  /* results per batch written */
#define FLUSH_EVERY_S 1.0 /* ... or at least this often */
#define MAX_NAMES_FILE 1000000

/* Counters shared by the worker processes (anonymous shared memory). */
struct shared {
	atomic_llong done, probes;
	atomic_llong by_verdict[CLASSIFY_NVERDICTS];
	atomic_llong answered, failed_targets, filtered;
	atomic_llong failed_by[CLASSIFY_NVERDICTS];
	atomic_llong given_back;
	atomic_llong inflight;
	atomic_int failed;
};

/* Set by SIGINT / SIGTERM: stop claiming, give the claims back, exit. */
static volatile sig_atomic_t stop_requested;

static void on_stop(int sig)
{
	(void)sig;
	stop_requested = 1;
}

/* A claimed target, alive until its last result. */
struct target {
	long long id;
	int round;
	char *name;
	int port;
	enum starttls_proto proto;
	size_t left; /* probe_add calls whose last result is to come */
};

/* One result waiting to be written. */
struct pending {
	long long target_id;
	int round;
	char *name;	   /* the name probed */
	bool via_wildcard; /* the target is *.domain, probed at name */
	char address[64];
	int port;
	enum starttls_proto proto;
	enum probe_outcome outcome;
	char error[240];
	char tls_version[16];
	long long elapsed_ms;
	bool has_leaf;
	struct certinfo ci;
	bool last;
};

struct worker {
	const struct config *cfg;
	const struct incident *inc;
	const struct scan_options *opt;
	struct shared *shared;
	struct db *db;
	struct probe *scanner;
	char name[128];
	char incident[32];
	char *names_param; /* text[] literal for --names, or NULL */
	char *own_workers; /* text[] literal: this run's worker names */
	bool main;	   /* the process that waits for other leases */
	struct pending *buf;
	size_t nbuf, capbuf;
	int jsonl; /* fd or -1 */
};

static double mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void on_result(const struct probe_result *r, void *arg)
{
	struct worker *w = arg;
	struct target *t = r->user;
	struct pending *p;
	char err[160];

	xgrow(&w->buf, &w->capbuf, w->nbuf + 1, sizeof(*w->buf));
	p = &w->buf[w->nbuf++];
	memset(p, 0, sizeof(*p));
	p->target_id = t->id;
	p->round = t->round;
	/* A wildcard target is probed at names it covers: r->name. */
	p->via_wildcard = t->name[0] == '*';
	p->name = xstrdup(p->via_wildcard ? r->name : t->name);
	snprintf(p->address, sizeof(p->address), "%s", r->address);
	p->port = r->port;
	p->proto = r->proto;
	p->outcome = r->outcome;
	snprintf(p->error, sizeof(p->error), "%s", r->error);
	snprintf(p->tls_version, sizeof(p->tls_version), "%s", r->tls_version);
	p->elapsed_ms = r->elapsed_ms;
	p->last = r->last && --t->left == 0;
	if (r->outcome == PROBE_OK && r->leaf != NULL) {
		if (certinfo_from_x509(r->leaf, &p->ci, err, sizeof(err)) == 0)
			p->has_leaf = true;
		else
			snprintf(p->error, sizeof(p->error),
				 "served certificate unreadable: %s", err);
	}
	if (p->last) {
		free(t->name);
		free(t);
		atomic_fetch_sub(&w->shared->inflight, 1);
	}
}

static void hex(const unsigned char *b, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
	out[2 * n] = '\0';
}

/*
 * The served certificates that are affected certificates of the incident
 * (certificate_served_match: by SHA-256, else by issuer and serial, never
 * another issuer's), with the names those certificates carry: one query
 * per batch.  Keyed by the index in w->buf.
 */
static json_t *affected_lookup(struct worker *w)
{
	json_t *arr = json_array();
	json_t *found = json_object();
	char *param;
	const char *params[2];
	PGresult *res;

	for (size_t i = 0; i < w->nbuf; i++) {
		const struct certinfo *ci = &w->buf[i].ci;
		char h[2 * SERIAL_STORED_MAX + 1], aki[2 * sizeof(ci->aki) + 1];
		char sha[65];

		if (!w->buf[i].has_leaf)
			continue;
		hex(ci->serial.b, ci->serial.len, h);
		hex(ci->aki, ci->aki_len, aki);
		hex(ci->sha256, 32, sha);
		json_array_append_new(
			arr, json_pack("{s:I,s:s,s:s,s:s,s:s}", "i",
				       (json_int_t)i, "serial", h, "issuer",
				       ci->issuer, "aki", aki, "sha256", sha));
	}
	if (json_array_size(arr) == 0) {
		json_decref(arr);
		return found;
	}
	param = json_dumps(arr, JSON_COMPACT);
	/* JSON text -> rows: parsed by the server, no pasting. */
	params[0] = w->incident;
	params[1] = param;
	res = db_query(
		w->db,
		"SELECT x.i, string_agg(c.names::text, ',') FROM"
		" json_to_recordset($2::json) AS x(i int, serial text,"
		" issuer text, aki text, sha256 text)"
		" JOIN certificate c ON c.incident_id = $1"
		" AND c.serial = decode(x.serial, 'hex')"
		" WHERE certificate_served_match(c, decode(x.serial, 'hex'),"
		" x.issuer, nullif(decode(x.aki, 'hex'), ''::bytea),"
		" decode(x.sha256, 'hex')) IS NOT NULL GROUP BY x.i",
		2, params);
	free(param);
	json_decref(arr);
	if (res == NULL) {
		json_decref(found);
		return NULL;
	}
	for (int r = 0; r < PQntuples(res); r++)
		json_object_set_new(found, PQgetvalue(res, r, 0),
				    json_string(PQgetvalue(res, r, 1)));
	PQclear(res);
	return found;
}

/* Whether the affected certificate (names as a text[] literal) names
 * host. */
static bool names_host(const char *names_literal, const char *host)
{
	size_t n = strlen(host);
	const char *dot = strchr(host, '.');

	/* RFC 6125 6.4.3: *.example.com names www.example.com. */
	if (host[0] != '*' && dot != NULL && dot[1] != '\0') {
		char wild[DNSNAME_MAX + 2];

		if (snprintf(wild, sizeof(wild), "*%s", dot) <
			    (int)sizeof(wild) &&
		    names_host(names_literal, wild))
			return true;
	}

	for (const char *p = names_literal; (p = strstr(p, host)) != NULL;
	     p++) {
		char before = p == names_literal ? '{' : p[-1];
		char after = p[n];

		if ((before == '{' || before == ',' || before == '"') &&
		    (after == '}' || after == ',' || after == '"'))
			return true;
	}
	return false;
}

static void jsonl_line(struct worker *w, const struct pending *p,
		       enum classify_verdict v)
{
	char serial[SERIAL_TEXT_MAX] = "";
	char na[UTCTIME_BUFSZ] = "", now[UTCTIME_BUFSZ];
	json_t *o;
	char *text;
	size_t len;

	if (p->has_leaf) {
		hex(p->ci.serial.b, p->ci.serial.len, serial);
		if (utctime_format_rfc3339(p->ci.not_after, na, sizeof(na)) < 0)
			log_error("cannot format time %lld",
				  (long long)(p->ci.not_after));
	}
	if (utctime_format_rfc3339(clock_now(), now, sizeof(now)) < 0)
		log_error("cannot format the time now");
	o = json_pack("{s:s,s:s,s:s,s:i,s:s,s:s,s:s,s:s,s:s,s:s,s:I}", "time",
		      now, "name", p->name, "address", p->address, "port",
		      p->port, "protocol", starttls_proto_name(p->proto),
		      "verdict", classify_verdict_name(v), "serial", serial,
		      "not_after", na, "tls_version", p->tls_version, "error",
		      p->error, "elapsed_ms", (json_int_t)p->elapsed_ms);
	text = json_dumps(o, JSON_COMPACT);
	len = strlen(text);
	text[len] = '\n'; /* one write per line: O_APPEND keeps lines whole */
	if (write(w->jsonl, text, len + 1) != (ssize_t)(len + 1))
		log_warn("--jsonl: write failed: %s", strerror(errno));
	free(text);
	json_decref(o);
}

/* Adds the outcomes of finished targets (outcome, failure rows). */
static void count_outcomes(struct shared *sh, const PGresult *res)
{
	for (int r = 0; r < PQntuples(res); r++) {
		const char *o = PQgetvalue(res, r, 0);
		enum classify_verdict v;

		if (strcmp(o, "answered") == 0) {
			atomic_fetch_add(&sh->answered, 1);
		} else if (strcmp(o, "failed") == 0) {
			atomic_fetch_add(&sh->failed_targets, 1);
			if (classify_verdict_parse(PQgetvalue(res, r, 1), &v) ==
			    0)
				atomic_fetch_add(&sh->failed_by[v], 1);
		} else if (strcmp(o, "filtered") == 0) {
			atomic_fetch_add(&sh->filtered, 1);
		}
	}
}

/* Writes the buffered results: COPY the observations and finish the
 * targets, one transaction. */
static int flush(struct worker *w)
{
	json_t *affected;
	struct db_copy *c;
	json_t *done = json_array();
	char *done_param = NULL;
	time_t now = clock_now(); /* certificate expiry */
	int rc = -1;

	if (w->nbuf == 0) {
		json_decref(done);
		return 0;
	}
	affected = affected_lookup(w);
	if (affected == NULL)
		goto out;
	if (db_begin(w->db) < 0)
		goto out;
	c = db_copy_begin(
		w->db, "COPY observation (target_id, round, worker, address,"
		       " port, protocol, probed_name, verdict, served_serial,"
		       " served_issuer,"
		       " served_subject, served_names, served_not_before,"
		       " served_not_after, served_sha256, tls_version,"
		       " error_detail, elapsed_ms) FROM STDIN");
	if (c == NULL)
		goto rollback;
	for (size_t i = 0; i < w->nbuf; i++) {
		struct pending *p = &w->buf[i];
		enum classify_verdict v;

		if (p->has_leaf) {
			char h[SERIAL_TEXT_MAX];
			const char *names;
			struct classify_leaf leaf = {
				.names = (const char *const *)p->ci.names,
				.nnames = p->ci.nnames,
				.not_after = p->ci.not_after,
			};

			snprintf(h, sizeof(h), "%zu", i);
			names = json_string_value(json_object_get(affected, h));
			leaf.affected =
				names != NULL && names_host(names, p->name);
			v = classify_leaf(p->name, &leaf, now);
		} else {
			v = probe_outcome_verdict(p->outcome);
		}
		db_copy_llong(c, p->target_id);
		db_copy_llong(c, p->round);
		db_copy_text(c, w->name);
		db_copy_text(c, p->address[0] ? p->address : NULL);
		db_copy_llong(c, p->port);
		db_copy_text(c, starttls_proto_name(p->proto));
		db_copy_text(c, p->via_wildcard ? p->name : NULL);
		db_copy_text(c, classify_verdict_name(v));
		if (p->has_leaf) {
			db_copy_bytea(c, p->ci.serial.b, p->ci.serial.len);
			db_copy_text(c, p->ci.issuer);
			db_copy_text(c, p->ci.subject);
			db_copy_array(c, (const char *const *)p->ci.names,
				      p->ci.nnames);
			db_copy_time(c, p->ci.not_before);
			db_copy_time(c, p->ci.not_after);
			db_copy_bytea(c, p->ci.sha256, 32);
		} else {
			for (int k = 0; k < 7; k++)
				db_copy_text(c, NULL);
		}
		db_copy_text(c, p->tls_version[0] ? p->tls_version : NULL);
		db_copy_text(c, p->error[0] ? p->error : NULL);
		db_copy_llong(c, p->elapsed_ms < 0 ? 0 : p->elapsed_ms);
		if (db_copy_row_end(c) < 0)
			break;
		if (p->last)
			json_array_append_new(done, json_integer(p->target_id));
		atomic_fetch_add(&w->shared->by_verdict[v], 1);
		atomic_fetch_add(&w->shared->probes, 1);
		if (w->jsonl >= 0)
			jsonl_line(w, p, v);
	}
	if (db_copy_end(c, NULL, NULL) < 0)
		goto rollback;
	done_param = json_dumps(done, JSON_COMPACT);
	{
		const char *params[2] = { done_param, w->name };
		/* The round's outcome: scan_round_outcome(), 011. */
		PGresult *res = db_query(
			w->db,
			"UPDATE scan_target t SET state = 'done',"
			" lease_until = NULL, last_observed_at = "
			"certrecall_now(),"
			" (outcome, failure) = (SELECT r.outcome, r.failure"
			"  FROM scan_round_outcome(t.id, t.round) r)"
			" WHERE id IN (SELECT x::bigint FROM"
			" json_array_elements_text($1::json) x)"
			" AND state = 'claimed' AND worker = $2"
			" RETURNING coalesce(t.outcome, ''),"
			" coalesce(t.failure, '')",
			2, params);

		if (res == NULL)
			goto rollback;
		if (db_commit(w->db) < 0) {
			PQclear(res);
			goto out;
		}
		count_outcomes(w->shared, res);
		PQclear(res);
	}
	atomic_fetch_add(&w->shared->done, (long long)json_array_size(done));
	rc = 0;
	goto out;
rollback:
	db_rollback(w->db);
out:
	for (size_t i = 0; i < w->nbuf; i++) {
		free(w->buf[i].name);
		if (w->buf[i].has_leaf)
			certinfo_release(&w->buf[i].ci);
	}
	w->nbuf = 0;
	free(done_param);
	json_decref(done);
	json_decref(affected);
	return rc;
}

/* Claims up to max targets and queues them in the engine.  Returns the
 * number claimed, or -1. */
static int claim(struct worker *w, long long max)
{
	char lease[48], lim[32];
	const char *params[5] = { w->incident, lim, lease, w->name,
				  w->names_param };
	PGresult *res;
	int n;

	snprintf(lim, sizeof(lim), "%lld", max);
	snprintf(lease, sizeof(lease), "%lld milliseconds",
		 w->cfg->database.lease_ms);
	res = db_query(w->db,
		       "UPDATE scan_target t SET state = 'claimed',"
		       " lease_until = now() + $3::interval, worker = $4,"
		       " round = round + 1"
		       " WHERE t.id IN (SELECT id FROM scan_target"
		       "  WHERE incident_id = $1 AND probeable"
		       "  AND state IN ('pending', 'claimed')"
		       "  AND (state = 'pending' OR lease_until < now())"
		       "  AND ($5::text[] IS NULL OR name = ANY ($5::text[]))"
		       "  ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED)"
		       " RETURNING t.id, t.round, t.name, t.port, t.protocol,"
		       " array_to_string(t.probed_via, ' ')",
		       5, params);
	if (res == NULL)
		return -1;
	n = PQntuples(res);
	for (int i = 0; i < n; i++) {
		struct target *t = xcalloc(1, sizeof(*t));
		struct classify_addr a;
		int r;

		t->id = strtoll(PQgetvalue(res, i, 0), NULL, 10);
		t->round = atoi(PQgetvalue(res, i, 1));
		t->name = xstrdup(PQgetvalue(res, i, 2));
		t->port = atoi(PQgetvalue(res, i, 3));
		if (starttls_proto_parse(PQgetvalue(res, i, 4),
					 strlen(PQgetvalue(res, i, 4)),
					 &t->proto) < 0)
			t->proto = STARTTLS_NONE; /* the CHECK forbids it */
		/* A name that is an IP address is probed at that address;
		 * a wildcard at the names it covers (prepare_targets). */
		if (t->name[0] == '*') {
			char *via = xstrdup(PQgetvalue(res, i, 5)), *sp;

			r = -1;
			for (char *v = strtok_r(via, " ", &sp); v != NULL;
			     v = strtok_r(NULL, " ", &sp)) {
				if (probe_add(w->scanner, v, (uint16_t)t->port,
					      t->proto, t) == 0) {
					t->left++;
					r = 0;
				}
			}
			free(via);
		} else if (classify_addr_parse(t->name, &a) == 0) {
			r = probe_add_address(w->scanner, t->name,
					      (uint16_t)t->port, t->proto,
					      t->name, t);
		} else {
			r = probe_add(w->scanner, t->name, (uint16_t)t->port,
				      t->proto, t);
		}
		if (r == 0 && t->left == 0)
			t->left = 1;
		if (r < 0) {
			free(t->name);
			free(t);
			continue;
		}
		atomic_fetch_add(&w->shared->inflight, 1);
	}
	PQclear(res);
	return n;
}

/* Open file descriptors of this process (Linux /proc), or -1. */
static int open_files(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	if (d == NULL)
		return -1;
	while (readdir(d) != NULL)
		n++;
	closedir(d);
	return n - 3; /* ".", ".." and the directory itself */
}

/*
 * Gives back this worker's claimed targets: the unfinished round is undone
 * (its partial observations deleted, the round number restored), so that
 * the next run claims them at once and the latest complete round stays
 * what status and the report read.  Uses w->db, or a new connection when
 * that one is broken.  The number given back, or -1 (logged).
 */
static long long give_back(struct worker *w)
{
	static const char sql[] =
		"WITH mine AS (SELECT id, round FROM scan_target"
		"  WHERE worker = $1 AND state = 'claimed' FOR UPDATE),"
		" partial AS (DELETE FROM observation o USING mine"
		"  WHERE o.target_id = mine.id AND o.round = mine.round)"
		" UPDATE scan_target t SET state = 'pending',"
		" lease_until = NULL, round = t.round - 1"
		" FROM mine WHERE t.id = mine.id";
	const char *params[1] = { w->name };
	PGresult *res = NULL;
	long long n;

	if (w->db != NULL && PQstatus(db_get0_conn(w->db)) == CONNECTION_OK)
		res = db_query(w->db, sql, 1, params);
	if (res == NULL) {
		struct db *db = db_connect_config(w->cfg);

		if (db == NULL)
			return -1;
		res = db_query(db, sql, 1, params);
		db_close(db);
		if (res == NULL)
			return -1;
	}
	n = strtoll(PQcmdTuples(res), NULL, 10);
	PQclear(res);
	return n;
}

/*
 * Nothing left to claim: if workers of other runs hold live leases on
 * due targets, says so once (announced), then waits a second for them
 * to finish or to expire.  1 when it waited (claim again), 0 when no
 * other worker holds a lease, -1 on error (logged).
 */
static int wait_for_leases(struct worker *w, struct progress *prog,
			   bool *announced)
{
	const char *params[3] = { w->incident, w->own_workers, w->names_param };
	char until[UTCTIME_BUFSZ], note[200];
	long long total = 0;
	time_t last = 0;
	PGresult *res;
	int rows;

	res = db_query(w->db,
		       "SELECT worker, count(*),"
		       " extract(epoch FROM max(lease_until))::bigint"
		       " FROM scan_target WHERE incident_id = $1 AND probeable"
		       " AND state = 'claimed' AND lease_until >= now()"
		       " AND NOT (worker = ANY ($2::text[]))"
		       " AND ($3::text[] IS NULL OR name = ANY ($3::text[]))"
		       " GROUP BY worker ORDER BY 2 DESC, 1",
		       3, params);
	if (res == NULL)
		return -1;
	rows = PQntuples(res);
	for (int r = 0; r < rows; r++) {
		time_t t = (time_t)db_get_llong(res, r, 2);

		total += db_get_llong(res, r, 1);
		if (t > last)
			last = t;
	}
	if (rows == 0) {
		PQclear(res);
		return 0;
	}
	if (utctime_format_rfc3339(last, until, sizeof(until)) < 0)
		log_error("cannot format time %lld", (long long)(last));
	if (rows == 1)
		snprintf(note, sizeof(note), "%lld targets leased by %.60s",
			 total, PQgetvalue(res, 0, 0));
	else
		snprintf(note, sizeof(note),
			 "%lld targets leased by %.60s and %d other workers",
			 total, PQgetvalue(res, 0, 0), rows - 1);
	PQclear(res);
	if (!*announced)
		log_info("scan: %s until %s; waiting", note, until);
	*announced = true;
	if (prog != NULL) {
		size_t len = strlen(note);

		snprintf(note + len, sizeof(note) - len, " until %s; waiting",
			 until);
		progress_set_note(prog, note);
		progress_update(prog, (uint64_t)atomic_load(&w->shared->done));
	}
	/* Leases run on the real clock: wait a second, then claim again. */
	for (int i = 0; i < 10 && !stop_requested; i++) {
		struct timespec ts = { 0, 100000000 };

		nanosleep(&ts, NULL);
	}
	return 1;
}

static int worker_main(struct worker *w, struct progress *prog, long long total)
{
	int files_before = open_files();
	struct probe_options so;
	double last_flush = mono();
	long long high;
	bool exhausted = false, announced = false;
	int rc = -1;

	w->db = db_connect_config(w->cfg);
	if (w->db == NULL)
		return -1;
	probe_options_from_config(&so, w->cfg);
	w->scanner = probe_new(&so, on_result, w);
	if (w->scanner == NULL)
		goto out;
	high = 2 * so.concurrency;
	for (;;) {
		long long pending = (long long)probe_pending(w->scanner);

		if (stop_requested)
			goto out;
		if (!exhausted && pending < high) {
			long long want = high * 2 - pending;
			int n;

			if (want > w->cfg->database.batch_size)
				want = w->cfg->database.batch_size;
			n = claim(w, want);
			if (n < 0)
				goto out;
			exhausted = n == 0;
		}
		if (exhausted && probe_pending(w->scanner) == 0) {
			int k;

			/* Only the first process waits for other runs. */
			if (!w->main)
				break;
			if (flush(w) < 0)
				goto out;
			k = wait_for_leases(w, prog, &announced);
			if (k < 0)
				goto out;
			if (k == 0)
				break;
			exhausted = false;
			continue;
		}
		if (probe_step(w->scanner, 100) < 0)
			goto out;
		if (w->nbuf >= FLUSH_AT ||
		    (w->nbuf > 0 && mono() - last_flush >= FLUSH_EVERY_S)) {
			if (flush(w) < 0)
				goto out;
			last_flush = mono();
		}
		if (prog != NULL) {
			char note[160];

			snprintf(
				note, sizeof(note),
				"in flight %lld; answered %lld, failed %lld "
				"(affected %lld replacement %lld other %lld)",
				atomic_load(&w->shared->inflight),
				atomic_load(&w->shared->answered),
				atomic_load(&w->shared->failed_targets),
				atomic_load(
					&w->shared->by_verdict
						 [CLASSIFY_SERVING_AFFECTED]),
				atomic_load(
					&w->shared->by_verdict
						 [CLASSIFY_SERVING_REPLACEMENT]),
				atomic_load(&w->shared->by_verdict
						     [CLASSIFY_SERVING_OTHER]));
			progress_set_note(prog, note);
			progress_set_total(prog, (uint64_t)total);
			progress_update(
				prog, (uint64_t)atomic_load(&w->shared->done));
		}
	}
	rc = flush(w);
out:
	if (w->buf != NULL)
		flush(w); /* what completed is kept */
	probe_free(w->scanner);
	if (rc < 0) {
		/* What was claimed and not finished goes back now, not when
		 * the lease expires. */
		long long n = give_back(w);

		if (n > 0)
			atomic_fetch_add(&w->shared->given_back, n);
	}
	db_close(w->db);
	free(w->buf);
	/* Every probe's socket must be gone: a leak would end a long scan. */
	log_debug("scan worker %s: %d open files before, %d after", w->name,
		  files_before, open_files());
	return rc;
}

/* Reads --names FILE into a text[] literal of normalised names. */
static char *names_param(const char *path)
{
	FILE *f = fopen(path, "r");
	json_t *arr = json_array();
	char line[1024], norm[DNSNAME_MAX + 1], err[256];
	unsigned long lineno = 0;
	char *out = NULL;
	size_t n = 0;

	if (f == NULL) {
		log_error("%s: cannot open: %s", path, strerror(errno));
		json_decref(arr);
		return NULL;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		size_t len = strcspn(line, "\r\n");
		int k;

		lineno++;
		if (len == 0 || line[0] == '#')
			continue;
		k = dnsname_normalize(line, len, norm, sizeof(norm), err,
				      sizeof(err));
		if (k < 0) {
			log_error("%s:%lu: %s", path, lineno, err);
			goto out;
		}
		if (++n > MAX_NAMES_FILE) {
			log_error("%s: more than %d names", path,
				  MAX_NAMES_FILE);
			goto out;
		}
		json_array_append_new(arr, json_stringn(norm, (size_t)k));
	}
	{
		/* JSON strings of host names are valid array elements. */
		char *js = json_dumps(arr, JSON_COMPACT);
		size_t l = strlen(js);

		js[0] = '{';
		js[l - 1] = '}';
		out = js;
	}
out:
	fclose(f);
	json_decref(arr);
	return out;
}

/*
 * A wildcard target *.D is probed at the names it covers (one more
 * label) that the incident knows, plus scanner.wildcard_labels under D,
 * at most 8 (probed_via); with none it is not probeable.  The report and
 * status say "wildcard, probed via NAME".
 */
static int wildcard_targets(struct db *db, const struct config *cfg,
			    const char *id)
{
	char labels[512];
	size_t used = 0;
	const char *p = cfg->scanner.wildcard_labels;
	const char *params[2] = { id, labels };
	PGresult *res;

	labels[used++] = '{';
	while (*p) {
		size_t n;

		while (*p == ',' || *p == ' ')
			p++;
		n = strcspn(p, ", ");
		if (n == 0)
			break;
		for (size_t i = 0; i < n; i++)
			if (!isalnum((unsigned char)p[i]) && p[i] != '-')
				return log_error("scanner.wildcard_labels: "
						 "\"%.*s\" is not a DNS label",
						 (int)n, p);
		if (used + n + 3 >= sizeof(labels))
			return log_error("scanner.wildcard_labels: too long");
		if (used > 1)
			labels[used++] = ',';
		memcpy(labels + used, p, n);
		used += n;
		p += n;
	}
	labels[used++] = '}';
	labels[used] = '\0';
	res = db_query(
		db,
		"UPDATE scan_target w SET probed_via = v.via,"
		" probeable = cardinality(v.via) > 0,"
		" state = CASE WHEN cardinality(v.via) = 0"
		"  AND w.state = 'pending' THEN 'done'"
		"  WHEN w.state = 'done' AND w.round = 0"
		"  AND cardinality(v.via) > 0 THEN 'pending' ELSE w.state END"
		" FROM (SELECT t.id, ARRAY(SELECT x FROM ("
		"   SELECT lower(l) || substr(t.name, 2) AS x"
		"    FROM unnest($2::text[]) l"
		"   UNION SELECT n FROM certificate c, unnest(c.names) n"
		"    WHERE c.incident_id = $1 AND left(n, 1) <> '*'"
		"    AND length(n) > length(t.name) - 1"
		"    AND right(n, length(t.name) - 1) = substr(t.name, 2)"
		"    AND strpos(left(n, length(n) - length(t.name) + 1), '.')"
		"        = 0) y ORDER BY x LIMIT 8) AS via"
		"  FROM scan_target t"
		"  WHERE t.incident_id = $1 AND left(t.name, 2) = '*.') v"
		" WHERE w.id = v.id AND (w.probed_via IS DISTINCT FROM v.via"
		" OR w.probeable <> (cardinality(v.via) > 0))",
		2, params);
	if (res == NULL)
		return -1;
	PQclear(res);
	return 0;
}

/*
 * Creates the incident's targets and re-arms the due ones: answered and
 * filtered targets older than --stale-after, failed ones older than
 * scanner.retry_after (all of them with --retry-failed).  Sets the
 * failed targets left waiting in st.  The number of due targets, or -1.
 */
static long long prepare_targets(struct db *db, const struct config *cfg,
				 const struct incident *inc,
				 const struct scan_options *opt,
				 const char *names, struct scan_stats *st)
{
	char id[32], ports[512], protos[1024], stale[48], retry[48];
	const char *params[3] = { id, ports, protos };
	struct starttls_port pp[STARTTLS_MAX_PORTS];
	char why[256];
	size_t np, pu = 0, ru = 0;
	PGresult *res;
	long long due;

	/* Checked at load: an error here is a config changed under us. */
	if (starttls_ports_parse(cfg->scanner.ports, pp, STARTTLS_MAX_PORTS,
				 &np, why, sizeof(why)) < 0)
		return log_error("scanner.ports: %s", why);
	snprintf(id, sizeof(id), "%lld", inc->id);
	ports[pu++] = '{';
	protos[ru++] = '{';
	for (size_t i = 0; i < np; i++) {
		pu += (size_t)snprintf(ports + pu, sizeof(ports) - pu, "%s%u",
				       i ? "," : "", pp[i].port);
		ru += (size_t)snprintf(protos + ru, sizeof(protos) - ru, "%s%s",
				       i ? "," : "",
				       starttls_proto_name(pp[i].proto));
	}
	snprintf(ports + pu, sizeof(ports) - pu, "}");
	snprintf(protos + ru, sizeof(protos) - ru, "}");
	snprintf(stale, sizeof(stale), "%lld milliseconds",
		 opt->stale_after_ms);
	snprintf(retry, sizeof(retry), "%lld milliseconds",
		 cfg->scanner.retry_after_ms);
	res = db_query(db,
		       "INSERT INTO scan_target (incident_id, name, port,"
		       " protocol, probeable, state)"
		       " SELECT DISTINCT $1::bigint, n, pp.p, pp.proto,"
		       " true, 'pending'"
		       " FROM certificate c CROSS JOIN unnest(c.names) n"
		       " CROSS JOIN unnest($2::int[], $3::text[]) pp(p, proto)"
		       " WHERE c.incident_id = $1 AND c.revoked_at IS NULL"
		       " AND (c.not_after IS NULL"
		       "  OR c.not_after > certrecall_now())"
		       " ON CONFLICT (incident_id, name, port) DO UPDATE"
		       " SET protocol = excluded.protocol,"
		       " state = CASE WHEN scan_target.probeable"
		       "  AND scan_target.state = 'done' THEN 'pending'"
		       "  ELSE scan_target.state END"
		       " WHERE scan_target.protocol <> excluded.protocol",
		       3, params);
	if (res == NULL)
		return -1;
	PQclear(res);
	if (wildcard_targets(db, cfg, id) < 0)
		return -1;
	{
		const char *q[5] = { id, stale, opt->retry_failed ? "t" : "f",
				     retry, names };

		/*
		 * Only names still on a certificate left to revoke are
		 * probed (again): an observation stamped after now (a
		 * rehearsal clock ahead of this run's) cannot vouch for
		 * now and is redone; a name whose certificates were all
		 * revoked or expired since is retired, keeping its last
		 * round.  Times are certrecall_now(), the rehearsal clock
		 * when set, as last_observed_at is.  The result: failed
		 * targets left to wait for retry_after.
		 */
		res = db_query(
			db,
			"WITH live AS MATERIALIZED (SELECT DISTINCT n FROM"
			"  certificate c, unnest(c.names) n"
			"  WHERE c.incident_id = $1"
			"  AND c.revoked_at IS NULL AND (c.not_after"
			"  IS NULL OR c.not_after > certrecall_now())),"
			" requeue AS (UPDATE scan_target t"
			"  SET state = 'pending' FROM live"
			"  WHERE t.incident_id = $1 AND t.probeable"
			"  AND t.state = 'done' AND t.name = live.n"
			"  AND (t.last_observed_at IS NULL"
			"   OR t.last_observed_at > certrecall_now() OR CASE"
			"   WHEN t.outcome = 'failed' THEN $3::boolean"
			"    OR t.last_observed_at"
			"    <= certrecall_now() - $4::interval"
			"   ELSE t.last_observed_at"
			"    <= certrecall_now() - $2::interval END)),"
			" retire AS (UPDATE scan_target t SET state = 'done'"
			"  WHERE t.incident_id = $1 AND t.state = 'pending'"
			"  AND NOT EXISTS (SELECT 1 FROM live"
			"  WHERE live.n = t.name))"
			" SELECT count(*), extract(epoch FROM"
			"  min(t.last_observed_at) + $4::interval)::bigint"
			" FROM scan_target t JOIN live ON live.n = t.name"
			" WHERE t.incident_id = $1 AND t.probeable"
			" AND t.state = 'done' AND t.outcome = 'failed'"
			" AND NOT $3::boolean AND t.last_observed_at"
			"  > certrecall_now() - $4::interval"
			" AND ($5::text[] IS NULL OR t.name = ANY "
			"($5::text[]))",
			5, q);
	}
	if (res == NULL)
		return -1;
	st->retry_waiting = db_get_llong(res, 0, 0);
	st->retry_from = st->retry_waiting > 0 ? db_get_time(res, 0, 1) : 0;
	PQclear(res);
	{
		const char *q[2] = { id, names };

		res = db_query(db,
			       "SELECT count(*) FROM scan_target"
			       " WHERE incident_id = $1 AND probeable"
			       " AND state IN ('pending', 'claimed')"
			       " AND ($2::text[] IS NULL"
			       " OR name = ANY ($2::text[]))",
			       2, q);
	}
	if (res == NULL)
		return -1;
	due = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return due;
}

/* This run's worker names ("host:pid") as a text[] literal. */
static char *own_workers(const char *host, const pid_t *kids, int procs)
{
	json_t *arr = json_array();
	char name[128], *js;
	size_t l;

	snprintf(name, sizeof(name), "%s:%d", host, (int)getpid());
	json_array_append_new(arr, json_string(name));
	for (int i = 1; i < procs; i++) {
		if (kids[i] <= 0)
			continue;
		snprintf(name, sizeof(name), "%s:%d", host, (int)kids[i]);
		json_array_append_new(arr, json_string(name));
	}
	/* A JSON array of strings is an array literal once its brackets
	 * are braces (as names_param does). */
	js = json_dumps(arr, JSON_COMPACT);
	json_decref(arr);
	l = strlen(js);
	js[0] = '{';
	js[l - 1] = '}';
	return js;
}

int scan_run(const struct config *cfg, const struct incident *inc,
	     const struct scan_options *opt, struct scan_stats *st)
{
	struct shared *sh;
	struct worker w = { .cfg = cfg, .inc = inc, .opt = opt, .jsonl = -1 };
	struct progress *prog = NULL;
	struct db *db;
	pid_t *kids = NULL;
	char host[96];
	struct sigaction sa = { .sa_handler = on_stop }, old_int, old_term;
	double t0 = mono();
	int rc = -1;

	/* No SA_RESTART: a signal ends the scanner's wait at once. */
	sigemptyset(&sa.sa_mask);
	memset(st, 0, sizeof(*st));
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		return log_error("cannot map shared counters: %s",
				 strerror(errno));
	memset(sh, 0, sizeof(*sh));
	if (opt->names_file != NULL) {
		w.names_param = names_param(opt->names_file);
		if (w.names_param == NULL)
			goto out;
	}
	if (opt->jsonl_path != NULL) {
		w.jsonl = open(opt->jsonl_path,
			       O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (w.jsonl < 0) {
			log_error("%s: cannot open: %s", opt->jsonl_path,
				  strerror(errno));
			goto out;
		}
	}
	db = db_connect_config(cfg);
	if (db == NULL)
		goto out;
	st->targets = prepare_targets(db, cfg, inc, opt, w.names_param, st);
	db_close(db);
	if (st->targets < 0)
		goto out;
	snprintf(w.incident, sizeof(w.incident), "%lld", inc->id);
	if (gethostname(host, sizeof(host)) < 0)
		snprintf(host, sizeof(host), "unknown");
	host[sizeof(host) - 1] = '\0';
	w.shared = sh;
	stop_requested = 0;
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	kids = xcalloc((size_t)opt->procs, sizeof(*kids));
	for (int i = 1; i < opt->procs; i++) {
		kids[i] = fork();
		if (kids[i] == 0) {
			snprintf(w.name, sizeof(w.name), "%s:%d", host,
				 (int)getpid());
			if (worker_main(&w, NULL, 0) < 0)
				atomic_fetch_add(&sh->failed, 1);
			_exit(0);
		}
		if (kids[i] < 0) {
			log_error("cannot start a scanning process: %s",
				  strerror(errno));
			atomic_fetch_add(&sh->failed, 1);
		}
	}
	snprintf(w.name, sizeof(w.name), "%s:%d", host, (int)getpid());
	w.own_workers = own_workers(host, kids, opt->procs);
	w.main = true;
	if (opt->progress && st->targets > 0)
		prog = progress_new("scan", (uint64_t)st->targets);
	if (worker_main(&w, prog, st->targets) < 0)
		atomic_fetch_add(&sh->failed, 1);
	for (int i = 1; i < opt->procs; i++) {
		int status = 0;
		pid_t r;

		if (kids[i] <= 0)
			continue;
		/* A signal to this process alone stops the others too, also
		 * one that arrives while waiting for them. */
		do {
			if (stop_requested)
				kill(kids[i], SIGTERM);
			r = waitpid(kids[i], &status, 0);
		} while (r < 0 && errno == EINTR);
		if (r < 0 || !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
			atomic_fetch_add(&sh->failed, 1);
	}
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	if (prog != NULL) {
		progress_update(prog, (uint64_t)atomic_load(&sh->done));
		progress_finish(prog);
	}
	st->done = atomic_load(&sh->done);
	st->probes = atomic_load(&sh->probes);
	for (int v = 0; v < CLASSIFY_NVERDICTS; v++) {
		st->by_verdict[v] = atomic_load(&sh->by_verdict[v]);
		st->failed_by[v] = atomic_load(&sh->failed_by[v]);
	}
	st->answered = atomic_load(&sh->answered);
	st->failed = atomic_load(&sh->failed_targets);
	st->filtered = atomic_load(&sh->filtered);
	st->given_back = atomic_load(&sh->given_back);
	st->interrupted = stop_requested != 0;
	rc = atomic_load(&sh->failed) > 0 || st->interrupted ? -1 : 0;
out:
	st->seconds = mono() - t0;
	if (w.jsonl >= 0)
		close(w.jsonl);
	free(w.names_param);
	free(w.own_workers);
	free(kids);
	munmap(sh, sizeof(*sh));
	return rc;
}
