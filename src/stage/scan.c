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

#include "certrecall/base/hex.h"
#include "certrecall/core/certinfo.h"
#include "certrecall/core/classify.h"
#include "certrecall/base/clock.h"
#include "certrecall/core/config.h"
#include "certrecall/store/db.h"
#include "certrecall/core/dnsname.h"
#include "certrecall/store/incident.h"
#include "certrecall/store/scan_store.h"
#include "certrecall/base/log.h"
#include "certrecall/base/progress.h"
#include "certrecall/stage/scan.h"
#include "certrecall/net/probe.h"
#include "certrecall/core/starttls.h"
#include "certrecall/base/utctime.h"
#include "certrecall/core/verdict.h"
#include "certrecall/base/xalloc.h"

#define FLUSH_AT 500 /* results per batch written */
/* Targets queued in the engine at the least: a names-only failure scan
 * holds no connection, and the engine keeps up to 200 DNS queries out. */
#define QUEUE_MIN 256
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
	char *names_param; /* text[] literal for --names, or NULL */
	char *own_workers; /* text[] literal: this run's worker names */
	bool main;	   /* the process that waits for other leases */
	struct pending *buf;
	size_t nbuf, capbuf;
	int jsonl; /* fd or -1 */
};

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
		hex_encode(p->ci.serial.b, p->ci.serial.len, serial);
		if (utctime_format_rfc3339(p->ci.not_after, na, sizeof(na)) < 0)
			log_error("cannot format time %lld",
				  (long long)(p->ci.not_after));
	}
	if (utctime_format_rfc3339(clock_now(), now, sizeof(now)) < 0)
		log_error("cannot format time %lld", (long long)(clock_now()));
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

/* The verdict of one result: what a served certificate is (affected
 * when one of the incident's, by scan_store_affected) or what the
 * probe's outcome says. */
static enum classify_verdict verdict_of(const struct pending *p,
					const char *affected_names, time_t now)
{
	struct classify_leaf leaf = {
		.names = (const char *const *)p->ci.names,
		.nnames = p->ci.nnames,
		.not_after = p->ci.not_after,
	};

	if (!p->has_leaf)
		return verdict_probe(probe_outcome_name(p->outcome));
	leaf.affected =
		affected_names != NULL && names_host(affected_names, p->name);
	return classify_leaf(p->name, &leaf, now);
}

static void count_outcomes(struct shared *sh,
			   const struct scan_store_outcomes *o)
{
	atomic_fetch_add(&sh->answered, o->answered);
	atomic_fetch_add(&sh->failed_targets, o->failed);
	atomic_fetch_add(&sh->filtered, o->filtered);
	for (int v = 0; v < CLASSIFY_NVERDICTS; v++)
		if (o->failed_by[v] > 0)
			atomic_fetch_add(&sh->failed_by[v], o->failed_by[v]);
}

/* Writes the buffered results: COPY the observations and finish the
 * targets, one transaction. */
static int flush(struct worker *w)
{
	const struct certinfo **cis = NULL;
	char **affected = NULL;
	struct scan_store_outcomes outcomes;
	struct db_copy *c;
	long long *done = NULL;
	size_t ndone = 0, n = w->nbuf;
	time_t now = clock_now(); /* certificate expiry */
	int rc = -1;

	if (n == 0)
		return 0;
	cis = xcalloc(n, sizeof(*cis));
	done = xcalloc(n, sizeof(*done));
	for (size_t i = 0; i < n; i++)
		cis[i] = w->buf[i].has_leaf ? &w->buf[i].ci : NULL;
	if (scan_store_affected(w->db, w->inc->id, cis, n, &affected) < 0)
		goto out;
	c = scan_store_batch_begin(w->db);
	if (c == NULL)
		goto out;
	for (size_t i = 0; i < n; i++) {
		struct pending *p = &w->buf[i];
		enum classify_verdict v = verdict_of(p, affected[i], now);
		struct scan_store_observation o = {
			.target_id = p->target_id,
			.round = p->round,
			.worker = w->name,
			.address = p->address[0] ? p->address : NULL,
			.port = p->port,
			.protocol = starttls_proto_name(p->proto),
			.probed_name = p->via_wildcard ? p->name : NULL,
			.verdict = classify_verdict_name(v),
			.served = p->has_leaf ? &p->ci : NULL,
			.tls_version =
				p->tls_version[0] ? p->tls_version : NULL,
			.error = p->error[0] ? p->error : NULL,
			.elapsed_ms = p->elapsed_ms < 0 ? 0 : p->elapsed_ms,
		};

		if (scan_store_batch_add(c, &o) < 0)
			break;
		if (p->last)
			done[ndone++] = p->target_id;
		atomic_fetch_add(&w->shared->by_verdict[v], 1);
		atomic_fetch_add(&w->shared->probes, 1);
		if (w->jsonl >= 0)
			jsonl_line(w, p, v);
	}
	if (scan_store_batch_end(w->db, c, w->name, done, ndone, &outcomes) < 0)
		goto out;
	count_outcomes(w->shared, &outcomes);
	atomic_fetch_add(&w->shared->done, (long long)ndone);
	rc = 0;
out:
	for (size_t i = 0; i < w->nbuf; i++) {
		free(w->buf[i].name);
		if (w->buf[i].has_leaf)
			certinfo_release(&w->buf[i].ci);
	}
	w->nbuf = 0;
	scan_store_names_free(affected, n);
	free(done);
	free(cis);
	return rc;
}

/* Queues one claimed target in the engine: a name that is an IP address
 * is probed at that address, a wildcard at the names it covers
 * (prepare_targets).  0, or -1 when nothing was queued. */
static int queue_target(struct worker *w, struct target *t, const char *via)
{
	struct classify_addr a;
	int r;

	if (t->name[0] == '*') {
		char *list = xstrdup(via), *sp;

		r = -1;
		for (char *v = strtok_r(list, " ", &sp); v != NULL;
		     v = strtok_r(NULL, " ", &sp)) {
			if (probe_add(w->scanner, v, (uint16_t)t->port,
				      t->proto, t) == 0) {
				t->left++;
				r = 0;
			}
		}
		free(list);
	} else if (classify_addr_parse(t->name, &a) == 0) {
		r = probe_add_address(w->scanner, t->name, (uint16_t)t->port,
				      t->proto, t->name, t);
	} else {
		r = probe_add(w->scanner, t->name, (uint16_t)t->port, t->proto,
			      t);
	}
	if (r == 0 && t->left == 0)
		t->left = 1;
	return r;
}

/* Claims up to max targets and queues them in the engine.  Returns the
 * number claimed, or -1. */
static int claim(struct worker *w, long long max)
{
	struct scan_store_target *got;
	size_t n;

	if (scan_store_claim(w->db, w->inc->id, max, w->cfg->database.lease_ms,
			     w->name, w->names_param, &got, &n) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		struct target *t = xcalloc(1, sizeof(*t));

		t->id = got[i].id;
		t->round = got[i].round;
		t->name = got[i].name; /* changes hands */
		got[i].name = NULL;
		t->port = got[i].port;
		t->proto = got[i].proto;
		if (queue_target(w, t, got[i].via) < 0) {
			free(t->name);
			free(t);
			continue;
		}
		atomic_fetch_add(&w->shared->inflight, 1);
	}
	scan_store_targets_free(got, n);
	return (int)n;
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
 * Gives back this worker's claimed targets (scan_store_give_back), so
 * that the next run claims them at once and the latest complete round
 * stays what status and the report read.  The number given back, or -1
 * (logged).
 */
static long long give_back(struct worker *w)
{
	return scan_store_give_back(w->db, w->cfg, w->name);
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
	struct scan_store_leases l;
	char until[UTCTIME_BUFSZ], note[200];
	int k;

	if (scan_store_leases(w->db, w->inc->id, w->own_workers, w->names_param,
			      &l) < 0)
		return -1;
	if (l.workers == 0)
		return 0;
	if (utctime_format_rfc3339(l.until, until, sizeof(until)) < 0)
		log_error("cannot format time %lld", (long long)(l.until));
	if (l.workers == 1)
		k = snprintf(note, sizeof(note), "%lld targets leased by %s",
			     l.targets, l.first);
	else
		k = snprintf(note, sizeof(note),
			     "%lld targets leased by %s and %d other workers",
			     l.targets, l.first, l.workers - 1);
	if (k < 0 || (size_t)k >= sizeof(note))
		note[0] = '\0'; /* cannot be: 200 characters hold it */
	if (!*announced)
		log_info("scan: %s until %s; waiting", note, until);
	*announced = true;
	if (prog != NULL) {
		char line[sizeof(note) + sizeof(until) + 16];

		if (snprintf(line, sizeof(line), "%s until %s; waiting", note,
			     until) >= (int)sizeof(line))
			line[0] = '\0'; /* cannot be: sized for both */
		progress_set_note(prog, line);
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
	double last_flush = clock_mono();
	long long high, low, peak;
	bool exhausted = false, announced = false;
	int rc = -1;

	w->db = db_connect_config(w->cfg);
	if (w->db == NULL)
		return -1;
	probe_options_from_config(&so, w->cfg);
	w->scanner = probe_new(&so, on_result, w);
	if (w->scanner == NULL)
		goto out;
	for (;;) {
		long long pending = (long long)probe_pending(w->scanner);

		if (stop_requested)
			goto out;
		/* Keep queued about what the engine has managed to keep in
		 * flight (claim below 1.25 times its peak, up to twice it),
		 * not 2 to 4 times scanner.concurrency: a target queued here
		 * is one the other processes of this run cannot take, and
		 * with 16 addresses x scanner.per_ip 8 = 128 connections a
		 * 2,000-deep queue each left one process probing alone for
		 * the last seconds of a run (docs/scanner.md "Speed"). */
		peak = probe_inflight_peak(w->scanner);
		high = 2 * peak < QUEUE_MIN ? QUEUE_MIN : 2 * peak;
		if (high > 2 * so.concurrency)
			high = 2 * so.concurrency;
		low = peak + peak / 4 < high / 2 ? high / 2 : peak + peak / 4;
		if (!exhausted && pending < low) {
			long long want = high - pending;
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
		    (w->nbuf > 0 &&
		     clock_mono() - last_flush >= FLUSH_EVERY_S)) {
			if (flush(w) < 0)
				goto out;
			last_flush = clock_mono();
		}
		if (prog != NULL) {
			/* Room for every number at its longest. */
			char note[256];

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
			    long long inc_id)
{
	char labels[512];
	size_t used = 0;
	const char *p = cfg->scanner.wildcard_labels;

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
	return scan_store_wildcards(db, inc_id, labels);
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
	struct starttls_port pp[STARTTLS_MAX_PORTS];
	char why[256];
	time_t first;
	size_t np;

	/* Checked at load: an error here is a config changed under us. */
	if (starttls_ports_parse(cfg->scanner.ports, pp, STARTTLS_MAX_PORTS,
				 &np, why, sizeof(why)) < 0)
		return log_error("scanner.ports: %s", why);
	if (scan_store_add_targets(db, inc->id, pp, np) < 0 ||
	    wildcard_targets(db, cfg, inc->id) < 0 ||
	    scan_store_requeue(db, inc->id, opt->stale_after_ms,
			       opt->retry_failed, cfg->scanner.retry_after_ms,
			       names, &st->retry_waiting, &first) < 0)
		return -1;
	st->retry_from = st->retry_waiting > 0 ? first : 0;
	return scan_store_due(db, inc->id, names);
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
	double t0 = clock_mono();
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
	st->seconds = clock_mono() - t0;
	if (w.jsonl >= 0)
		close(w.jsonl);
	free(w.names_param);
	free(w.own_workers);
	free(kids);
	munmap(sh, sizeof(*sh));
	return rc;
}
