/*
 * cmd_revcheck.c - `certrecall revcheck SLUG`: ask the CA's own OCSP
 * responders and CRLs about every affected certificate and store the
 * evidence; revocation times are what was published, not what someone
 * typed.
 */
#include <getopt.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "certrecall/cmd/cli.h"
#include "certrecall/base/clock.h"
#include "certrecall/core/config.h"
#include "certrecall/core/crl.h"
#include "certrecall/store/db.h"
#include "certrecall/store/dbq.h"
#include "certrecall/store/incident.h"
#include "certrecall/core/jsonout.h"
#include "certrecall/base/log.h"
#include "certrecall/net/revfetch.h"
#include "certrecall/store/revocation.h"
#include "certrecall/base/utctime.h"
#include "certrecall/base/xalloc.h"

#define CRL_MAX (1024UL * 1024 * 1024) /* 1 GiB: a 3M-entry CRL is ~120 MB */
#define FLUSH_AT 20000		       /* evidence rows per COPY */
#define NO_ISSUER (-2)		       /* check_round: nothing to ask about */

struct issuer {
	long long id;
	X509 *cert;
	char **ocsp;
	size_t nocsp;
	char **crl;
	size_t ncrl;
	bool crl_answered; /* a whole (unpartitioned) CRL verified this round */
};

/* One certificate to check: the user pointer of an OCSP check. */
struct check {
	long long cert_id;
	struct serial serial;
};

/* An evidence row waiting for COPY. */
struct evidence {
	long long cert_id;
	const char *source; /* static */
	char url[512];
	struct revfetch_result r;
};

struct run {
	struct db *db;
	long long incident_id;
	struct evidence *ev;
	size_t nev, capev;
	long long by_status[4];
	/* This round's answers and CRLs that failed: transient ones a later
	 * run may get (network, timeout, HTTP 429/5xx, tryLater), refused
	 * ones it will not (signature, cRLSign, stale, malformed, 4xx). */
	long long transient, refused;
	long long unanswered; /* certificates without usable evidence */
	int failed;	      /* database writes */
};

/* Counts a failed answer or CRL; the first of each kind is logged, the
 * rest are in the summary (and in the evidence rows). */
static void count_failure(struct run *run, bool transient, const char *what,
			  const char *why)
{
	long long *n = transient ? &run->transient : &run->refused;

	if ((*n)++ == 0)
		log_error("%s: %s (%s)", what, why,
			  transient ? "transient: a later run may succeed"
				    : "refused");
}

static void add_evidence(struct run *run, long long cert_id, const char *source,
			 const char *url, const struct revfetch_result *r)
{
	struct evidence *e;

	xgrow(&run->ev, &run->capev, run->nev + 1, sizeof(*run->ev));
	e = &run->ev[run->nev++];
	e->cert_id = cert_id;
	e->source = source;
	snprintf(e->url, sizeof(e->url), "%s", url ? url : "");
	e->r = *r;
	e->r.url = NULL;
	run->by_status[r->status]++;
}

static const char *status_word(enum revfetch_status s)
{
	return s == REVFETCH_GOOD      ? "good"
	       : s == REVFETCH_REVOKED ? "revoked"
	       : s == REVFETCH_UNKNOWN ? "unknown"
				       : "error";
}

static time_t unset_or(time_t t)
{
	return t > 0 ? t : DB_COPY_NULL_TIME;
}

/* Writes the collected evidence with one COPY. */
static int flush(struct run *run)
{
	struct db_copy *c;

	if (run->nev == 0)
		return 0;
	c = db_copy_begin(run->db,
			  "COPY revocation_evidence (certificate_id, source,"
			  " source_url, status, revoked_at, reason,"
			  " produced_at, this_update, next_update,"
			  " error_detail) FROM STDIN");
	if (c == NULL)
		return -1;
	for (size_t i = 0; i < run->nev; i++) {
		const struct evidence *e = &run->ev[i];
		bool revoked = e->r.status == REVFETCH_REVOKED;

		db_copy_llong(c, e->cert_id);
		db_copy_text(c, e->source);
		db_copy_text(c, e->url[0] ? e->url : NULL);
		db_copy_text(c, status_word(e->r.status));
		db_copy_time(c, revoked ? e->r.revoked_at : DB_COPY_NULL_TIME);
		if (revoked && e->r.reason >= 0)
			db_copy_llong(c, e->r.reason);
		else
			db_copy_text(c, NULL);
		db_copy_time(c, unset_or(e->r.produced_at));
		db_copy_time(c, unset_or(e->r.this_update));
		db_copy_time(c, unset_or(e->r.next_update));
		db_copy_text(c, e->r.error[0] ? e->r.error : NULL);
		if (db_copy_row_end(c) < 0)
			break;
	}
	run->nev = 0;
	return db_copy_end(c, NULL, NULL);
}

static void on_ocsp(const struct revfetch_result *res, void *user)
{
	struct check *ck = user;
	struct run *run = ck->cert_id > 0 ? *(struct run **)(ck + 1) : NULL;

	if (run != NULL) {
		add_evidence(run, ck->cert_id, "ocsp", res->url, res);
		if (res->status == REVFETCH_ERROR) {
			char what[600], hex[2 * SERIAL_MAX + 1];

			serial_format_hex(&res->serial, hex, sizeof(hex));
			snprintf(what, sizeof(what), "OCSP %.500s, serial %s",
				 res->url ? res->url : "", hex);
			count_failure(run, res->transient, what, res->error);
		}
	}
	free(ck);
}

static void strv_from_array(PGresult *res, int r, int col, char ***v, size_t *n)
{
	/* text[] as "{a,b}": URLs have no commas or braces we accept. */
	char *s = xstrdup(PQgetvalue(res, r, col));
	char *save = NULL;

	*v = NULL;
	*n = 0;
	for (char *t = strtok_r(s, "{},\"", &save); t != NULL;
	     t = strtok_r(NULL, "{},\"", &save)) {
		*v = xrealloc(*v, (*n + 1) * sizeof(char *));
		(*v)[(*n)++] = xstrdup(t);
	}
	free(s);
}

static void issuers_free(struct issuer *is, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		X509_free(is[i].cert);
		for (size_t k = 0; k < is[i].nocsp; k++)
			free(is[i].ocsp[k]);
		for (size_t k = 0; k < is[i].ncrl; k++)
			free(is[i].crl[k]);
		free(is[i].ocsp);
		free(is[i].crl);
	}
	free(is);
}

static struct issuer *load_issuers(struct db *db, long long incident, size_t *n)
{
	char id[32];
	const char *p[1] = { id };
	struct issuer *is;
	PGresult *res;

	snprintf(id, sizeof(id), "%lld", incident);
	res = db_query(db,
		       "SELECT id, pem, ocsp_urls, crl_urls FROM issuer"
		       " WHERE incident_id = $1 ORDER BY id",
		       1, p);
	if (res == NULL)
		return NULL;
	*n = (size_t)PQntuples(res);
	is = xcalloc(*n + 1, sizeof(*is));
	for (size_t i = 0; i < *n; i++) {
		BIO *b = BIO_new_mem_buf(PQgetvalue(res, (int)i, 1), -1);

		is[i].id = strtoll(PQgetvalue(res, (int)i, 0), NULL, 10);
		is[i].cert = PEM_read_bio_X509(b, NULL, NULL, NULL);
		BIO_free(b);
		strv_from_array(res, (int)i, 2, &is[i].ocsp, &is[i].nocsp);
		strv_from_array(res, (int)i, 3, &is[i].crl, &is[i].ncrl);
	}
	PQclear(res);
	return is;
}

struct crl_ctx {
	struct run *run;
	struct issuer *issuer;
	long skew;
	int done;
};

/*
 * A downloaded CRL: verified against its issuer and stored as one fetch
 * (revocation_add_crl), which answers for every certificate it covers:
 * listed means revoked, unlisted good.  A failure is stored too, and
 * answers for nothing.
 */
static void on_crl(const char *url, bool ok, bool transient, long http_status,
		   const unsigned char *body, size_t len, const char *err,
		   void *user)
{
	struct crl_ctx *cx = user;
	struct run *run = cx->run;
	struct revocation_crl_stats st;
	struct crl *crl = NULL;
	const char *first;
	char why[256], what[600], name[32];
	size_t undefined;
	int code;

	cx->done = 1;
	snprintf(what, sizeof(what), "CRL %.500s", url);
	if (!ok) {
		snprintf(why, sizeof(why), "%s (HTTP %ld)", err, http_status);
		count_failure(run, transient, what, why);
		goto fail;
	}
	if (crl_load(body, len, cx->issuer->cert, clock_now(), cx->skew, &crl,
		     why, sizeof(why)) < 0) {
		count_failure(run, false, what, why);
		goto fail;
	}
	undefined = crl_undefined_reasons(crl, &first, &code);
	if (undefined > 0)
		log_warn("CRL %s: %zu entr%s with an undefined reasonCode "
			 "(the first: serial %s, reason %s), counted revoked "
			 "with that reason",
			 url, undefined, undefined == 1 ? "y" : "ies", first,
			 code >= 0 ? revocation_reason_name(code, name,
							    sizeof(name))
				   : "out of range, kept as none");
	if (revocation_add_crl(run->db, run->incident_id, cx->issuer->id, url,
			       crl, NULL, &st) < 0) {
		run->failed++;
		goto out;
	}
	log_info("CRL %s: %zu entries; it covers %lld certificates, lists %lld",
		 url, crl_count(crl), st.covered, st.listed);
	run->by_status[REVFETCH_GOOD] += st.good;
	run->by_status[REVFETCH_REVOKED] += st.listed;
	if (!crl_is_partitioned(crl))
		cx->issuer->crl_answered = true;
	goto out;
fail:
	run->by_status[REVFETCH_ERROR]++;
	revocation_add_crl(run->db, run->incident_id, cx->issuer->id, url, NULL,
			   why, NULL);
out:
	crl_free(crl);
}

/*
 * Queues an OCSP check of every certificate still to revoke, stepping the
 * engine so that at most about 1000 are pending.  0, or -1 (logged).
 */
static int queue_ocsp(struct run *run, struct revfetch *rc, struct issuer *is,
		      size_t nis, long long incident_id, const char *ocsp_url)
{
	char id[32];
	const char *p[1] = { id };
	PGresult *res;

	snprintf(id, sizeof(id), "%lld", incident_id);
	res = db_query(run->db,
		       "SELECT c.id, encode(c.serial, 'hex'), c.issuer_id,"
		       " c.issuer_name IS NULL"
		       " FROM certificate c WHERE c.incident_id = $1"
		       " AND c.revoked_at IS NULL"
		       " AND (c.not_after IS NULL"
		       "  OR c.not_after > certrecall_now())",
		       1, p);
	if (res == NULL)
		return -1;
	for (int r = 0; r < PQntuples(res); r++) {
		/* Unlinked: the only issuer answers for a certificate whose
		 * issuer is unknown, never for one naming another issuer
		 * (identity is issuer and serial). */
		bool unknown = strcmp(PQgetvalue(res, r, 3), "t") == 0;
		long long iid =
			PQgetisnull(res, r, 2)
				? (nis == 1 && unknown ? is[0].id : -1)
				: strtoll(PQgetvalue(res, r, 2), NULL, 10);
		struct issuer *isr = NULL;
		struct check *ck;
		const char *url, *hex = PQgetvalue(res, r, 1);
		char why[128];

		for (size_t i = 0; i < nis; i++)
			if (is[i].id == iid)
				isr = &is[i];
		if (isr == NULL || isr->cert == NULL)
			continue;
		url = ocsp_url ? ocsp_url : isr->nocsp ? isr->ocsp[0] : NULL;
		if (url == NULL)
			continue;
		/* The run pointer rides behind the check, for the callback. */
		ck = xcalloc(1, sizeof(*ck) + sizeof(struct run *));
		ck->cert_id = strtoll(PQgetvalue(res, r, 0), NULL, 10);
		*(struct run **)(ck + 1) = run;
		if (serial_from_stored_hex(&ck->serial, hex, why, sizeof(why)) <
			    0 ||
		    revfetch_add_ocsp(rc, url, isr->cert, &ck->serial, ck) <
			    0) {
			free(ck);
			continue;
		}
		while (revfetch_pending(rc) > 1000) {
			if (revfetch_step(rc, 100) < 0)
				break;
			if (run->nev >= FLUSH_AT && flush(run) < 0)
				run->failed++;
		}
	}
	PQclear(res);
	return 0;
}

/*
 * The certificates still to revoke that got no usable answer (good or
 * revoked) this round: no OCSP evidence row after first_ev, and no CRL
 * of their issuer that verified (those imported without an issuer are
 * its when it is the only one, as revocation_add_crl has it).  Sets
 * run->unanswered; 0, or -1.
 */
static int count_unanswered(struct run *run, const char *inc_id,
			    const struct issuer *is, size_t nis,
			    const char *first_ev)
{
	/* "{id,id}": at most 20 digits and a comma per issuer */
	size_t cap = 21 * nis + 3, k = 0;
	char *answered = xmalloc(cap), only[32];
	const char *p[4] = { inc_id, answered, only, first_ev };
	PGresult *res;

	answered[k++] = '{';
	for (size_t i = 0; i < nis; i++)
		if (is[i].crl_answered)
			k += (size_t)snprintf(answered + k, cap - k, "%s%lld",
					      k > 1 ? "," : "", is[i].id);
	snprintf(answered + k, cap - k, "}");
	snprintf(only, sizeof(only), "%lld", nis == 1 ? is[0].id : 0LL);
	res = db_query(
		run->db,
		"SELECT count(*) FROM certificate c"
		" WHERE c.incident_id = $1 AND c.revoked_at IS NULL"
		" AND (c.not_after IS NULL OR c.not_after > certrecall_now())"
		" AND NOT coalesce(c.issuer_id, $3) = ANY ($2::bigint[])"
		" AND NOT EXISTS (SELECT 1 FROM revocation_evidence e"
		"  WHERE e.certificate_id = c.id AND e.id > $4"
		"  AND e.status IN ('good', 'revoked'))",
		4, p);
	free(answered);
	if (res == NULL)
		return -1;
	run->unanswered = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return 0;
}

/* One round over the incident; returns certificates still to revoke, -1,
 * or NO_ISSUER (logged). */
static long long check_round(struct run *run, const struct config *cfg,
			     const struct incident *inc, const char *ocsp_url,
			     const char *crl_url, bool use_ocsp, bool use_crl)
{
	struct revfetch_opts o = { .ocsp_cb = on_ocsp };
	struct issuer *is;
	struct crl_ctx *cx = NULL;
	struct revfetch *rc;
	size_t nis = 0, ncx = 0;
	long long left = -1;
	char id[32], first_ev[32];
	const char *p[1] = { id };
	PGresult *res;

	o.max_age_s = (long)(cfg->revcheck.max_age_ms / 1000);
	is = load_issuers(run->db, inc->id, &nis);
	if (is == NULL)
		return -1;
	if (nis == 0) {
		log_error("incident %s has no issuer: add it with 'certrecall "
			  "incident add-issuer %s CA.pem'",
			  inc->slug, inc->slug);
		left = NO_ISSUER;
		goto out_is;
	}
	/* Evidence rows after this one are this round's. */
	res = db_query(run->db,
		       "SELECT coalesce(max(id), 0) FROM revocation_evidence",
		       0, NULL);
	if (res == NULL)
		goto out_is;
	snprintf(first_ev, sizeof(first_ev), "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	rc = revfetch_new(&o);
	if (rc == NULL)
		goto out_is;
	cx = xcalloc(nis * 8 + 1, sizeof(*cx));
	for (size_t i = 0; use_crl && i < nis; i++) {
		for (size_t k = 0; k < (crl_url ? 1 : is[i].ncrl); k++) {
			if (ncx == nis * 8)
				break;
			cx[ncx] = (struct crl_ctx){ run, &is[i], 300, 0 };
			revfetch_add_fetch(rc, crl_url ? crl_url : is[i].crl[k],
					   CRL_MAX, on_crl, &cx[ncx]);
			ncx++;
		}
	}
	snprintf(id, sizeof(id), "%lld", inc->id);
	if (use_ocsp && queue_ocsp(run, rc, is, nis, inc->id, ocsp_url) < 0)
		goto out_rc;
	while (revfetch_pending(rc) > 0) {
		if (revfetch_step(rc, 100) < 0)
			break;
		if (run->nev >= FLUSH_AT && flush(run) < 0)
			run->failed++;
	}
	if (flush(run) < 0 || revocation_derive(run->db, inc->id) < 0)
		goto out_rc;
	res = db_query(run->db,
		       "SELECT count(*) FROM certificate WHERE incident_id = $1"
		       " AND revoked_at IS NULL"
		       " AND (not_after IS NULL"
		       "  OR not_after > certrecall_now())",
		       1, p);
	if (res == NULL)
		goto out_rc;
	left = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	if (count_unanswered(run, id, is, nis, first_ev) < 0)
		left = -1;
out_rc:
	revfetch_free(rc);
out_is:
	free(cx);
	issuers_free(is, nis);
	return left;
}

/*
 * The round's exit code: 0 only when no source failed and every
 * certificate still to revoke got usable evidence (good or revoked).
 * 65 when evidence was refused (a retry will not change that, even if
 * another source also failed for now); else 75 when sources failed
 * transiently (or a database write did): the certificates they leave
 * without evidence may get it next time; else 65 when certificates got
 * no usable evidence although every source answered (unknown to the
 * responder, no source for them).
 */
static int round_exit(const struct run *run)
{
	if (run->refused > 0) {
		log_error("revcheck: %lld answers or CRLs refused as invalid "
			  "or unusable: a retry will not fix them (exit %d)",
			  run->refused, EX_DATAERR);
		return EX_DATAERR;
	}
	if (run->transient > 0 || run->failed > 0) {
		log_warn("revcheck: %lld answers or CRLs failed for now "
			 "(network, timeout, HTTP 429/5xx): run again "
			 "(exit %d)",
			 run->transient + run->failed, EX_TEMPFAIL);
		return EX_TEMPFAIL;
	}
	if (run->unanswered > 0) {
		log_error("revcheck: %lld certificate%s got no usable "
			  "evidence (good or revoked) from any source (exit "
			  "%d)",
			  run->unanswered, run->unanswered == 1 ? "" : "s",
			  EX_DATAERR);
		return EX_DATAERR;
	}
	return 0;
}

/* One round's summary (docs/schema/revcheck.schema.json). */
static json_t *round_json(const struct incident *inc, const struct run *run,
			  int round, long long left, long long conflicts,
			  int exit_code)
{
	json_t *doc = jsonout_new("revcheck");

	json_object_update_new(
		doc,
		json_pack("{s:s,s:i,s:o,s:I,s:{s:I,s:I,s:I,s:I},s:I,s:I,s:I,"
			  "s:I,s:I,s:i}",
			  "incident", inc->slug, "round", round, "at",
			  jsonout_time(clock_now()), "answers",
			  (json_int_t)(run->by_status[REVFETCH_GOOD] +
				       run->by_status[REVFETCH_REVOKED] +
				       run->by_status[REVFETCH_UNKNOWN] +
				       run->by_status[REVFETCH_ERROR]),
			  "by_status", "good",
			  (json_int_t)run->by_status[REVFETCH_GOOD], "revoked",
			  (json_int_t)run->by_status[REVFETCH_REVOKED],
			  "unknown",
			  (json_int_t)run->by_status[REVFETCH_UNKNOWN], "error",
			  (json_int_t)run->by_status[REVFETCH_ERROR],
			  "transient", (json_int_t)run->transient, "refused",
			  (json_int_t)run->refused, "unanswered",
			  (json_int_t)run->unanswered, "still_to_revoke",
			  (json_int_t)left, "conflicts", (json_int_t)conflicts,
			  "exit_code", exit_code));
	return doc;
}

int cmd_revcheck(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "ocsp", required_argument, NULL, 'o' },
		{ "crl", required_argument, NULL, 'c' },
		{ "no-ocsp", no_argument, NULL, 'O' },
		{ "no-crl", no_argument, NULL, 'C' },
		{ "watch", required_argument, NULL, 'w' },
		{ "json", no_argument, NULL, 'j' },
		{ "jsonl", no_argument, NULL, 'J' },
		{ NULL, 0, NULL, 0 },
	};
	enum jsonout_mode json = JSONOUT_NONE;
	json_t *last = NULL;
	int round = 0;
	const char *ocsp = NULL, *crl = NULL;
	bool use_ocsp = true, use_crl = true;
	long long watch_ms = 0, left, conflicts;
	struct run run = { 0 };
	struct incident *inc;
	int c, rc = 0;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			ocsp = optarg;
			break;
		case 'c':
			crl = optarg;
			break;
		case 'O':
			use_ocsp = false;
			break;
		case 'C':
			use_crl = false;
			break;
		case 'w':
			if (config_parse_duration(optarg, &watch_ms) < 0 ||
			    watch_ms < 1000)
				return cli_usage_error(
					"revcheck",
					"--watch: \"%s\" is not a duration of "
					"a second or more",
					optarg);
			break;
		case 'j':
			json = JSONOUT_DOC;
			break;
		case 'J':
			json = JSONOUT_LINES;
			break;
		default:
			return cli_bad_option("revcheck", argv);
		}
	}
	rc = cli_open_incident(cli, "revcheck", argc, argv, &inc);
	if (rc != 0)
		return rc;
	run.db = cli->db;
	run.incident_id = inc->id;
	for (;;) {
		memset(run.by_status, 0, sizeof(run.by_status));
		run.transient = run.refused = run.unanswered = 0;
		run.failed = 0;
		left = check_round(&run, cli->cfg, inc, ocsp, crl, use_ocsp,
				   use_crl);
		if (left < 0) {
			rc = left == NO_ISSUER ? EX_CONFIG : EX_TEMPFAIL;
			break;
		}
		conflicts = revocation_conflicts(cli->db, inc->id, NULL);
		/* Answers, not certificates: a certificate asked of OCSP
		 * and covered by a CRL is counted once per source. */
		log_info("revcheck: %lld answers from OCSP and CRLs: %lld "
			 "good, %lld revoked, %lld unknown, %lld errors "
			 "(%lld transient, %lld refused); %lld certificates "
			 "still to revoke, %lld with sources that disagree, "
			 "%lld certificate%s without usable evidence",
			 run.by_status[REVFETCH_GOOD] +
				 run.by_status[REVFETCH_REVOKED] +
				 run.by_status[REVFETCH_UNKNOWN] +
				 run.by_status[REVFETCH_ERROR],
			 run.by_status[REVFETCH_GOOD],
			 run.by_status[REVFETCH_REVOKED],
			 run.by_status[REVFETCH_UNKNOWN],
			 run.by_status[REVFETCH_ERROR], run.transient,
			 run.refused, left, conflicts, run.unanswered,
			 run.unanswered == 1 ? "" : "s");
		if (conflicts > 0)
			revocation_conflicts(cli->db, inc->id, stderr);
		{
			char detail[256];

			snprintf(detail, sizeof(detail),
				 "{\"good\":%lld,\"revoked\":%lld,"
				 "\"unknown\":%lld,\"errors\":%lld,"
				 "\"transient\":%lld,\"refused\":%lld,"
				 "\"unanswered\":%lld,"
				 "\"left\":%lld,\"conflicts\":%lld}",
				 run.by_status[REVFETCH_GOOD],
				 run.by_status[REVFETCH_REVOKED],
				 run.by_status[REVFETCH_UNKNOWN],
				 run.by_status[REVFETCH_ERROR], run.transient,
				 run.refused, run.unanswered, left, conflicts);
			db_event_add(cli->db, inc->id, "revcheck", detail);
		}
		rc = round_exit(&run);
		round++;
		/* --jsonl: a line a round; --json: the last round. */
		if (json != JSONOUT_NONE) {
			json_decref(last);
			last = round_json(inc, &run, round, left, conflicts,
					  rc);
			if (json == JSONOUT_LINES) {
				int w = jsonout_write(last, stdout, json);

				last = NULL;
				if (w < 0) { /* the reader is gone */
					rc = EX_IOERR;
					break;
				}
			}
		}
		if (watch_ms == 0 || left == 0)
			break;
		{
			struct timespec ts = { .tv_sec = watch_ms / 1000,
					       .tv_nsec = (watch_ms % 1000) *
							  1000000L };

			nanosleep(&ts, NULL);
		}
	}
	if (last != NULL)
		jsonout_write(last, stdout, json);
	free(run.ev);
	incident_free(inc);
	return rc;
}
