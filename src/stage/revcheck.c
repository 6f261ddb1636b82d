/*
 * revcheck.c - one round of `certrecall revcheck`: issuers, CRLs, and the
 * OCSP pass claimed in batches (see revcheck.h).
 */
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "certrecall/base/clock.h"
#include "certrecall/base/log.h"
#include "certrecall/base/xalloc.h"
#include "certrecall/core/config.h"
#include "certrecall/core/crl.h"
#include "certrecall/core/ocsp.h"
#include "certrecall/net/revfetch.h"
#include "certrecall/stage/revcheck.h"
#include "certrecall/store/incident.h"
#include "certrecall/store/revcheck_store.h"
#include "certrecall/store/revocation.h"

#define CRL_MAX (1024UL * 1024 * 1024) /* 1 GiB: a 3M-entry CRL is ~120 MB */
#define FLUSH_AT 20000		       /* evidence rows per COPY */
#define BATCH_MAX 1000		       /* certificates per claim */
#define LOW                                                                    \
	64	    /* checks pending before claiming more: twice the engine's \
		  concurrency keeps it busy */
#define WAIT_MS 200 /* between looks at other workers' claims */

struct issuer {
	const struct revcheck_store_issuer *row;
	X509 *cert;
	bool crl_answered; /* a whole (unpartitioned) CRL verified this round */
};

struct run {
	struct db *db;
	const struct config *cfg;
	const struct incident *inc;
	const struct revcheck_options *opt;
	struct revcheck_stats *st;
	struct issuer *is;
	size_t nis;
	char worker[160]; /* "host:pid", as scan names its workers */
	struct revcheck_store_evidence *ev;
	size_t nev, capev;
	long long *done; /* batches finished (first ids), for the queue */
	size_t ndone, capdone;
	struct revcheck_store_batch claimed; /* the last claim's */
	struct batch *batches;		     /* claimed, not finished */
	long long floor; /* the highest batch (first id) claimed so far */
	double renewed;	 /* monotonic seconds of the last lease renewal */
};

/* One OCSP check: the user pointer of revfetch_add_ocsp. */
struct check {
	struct batch *batch;
	long long cert_id;
	const char *url; /* borrowed from the issuer or the options */
};

/* A claimed batch with checks outstanding; it is finished (and its claim
 * can go) when the last of them has its answer. */
struct batch {
	struct run *run;
	struct batch *prev, *next; /* run->batches */
	long long first_id;
	size_t left; /* checks outstanding */
	struct check *checks;
};

struct crl_ctx {
	struct run *run;
	struct issuer *issuer;
	long skew;
};

/* Set by SIGINT / SIGTERM during the pass: stop claiming, give the
 * claims back. */
static volatile sig_atomic_t stop_requested;

static void on_stop(int sig)
{
	(void)sig;
	stop_requested = 1;
}

/* Counts a failed answer or CRL; the first of each kind is logged, the
 * rest are in the summary (and in the evidence rows). */
static void count_failure(struct run *run, bool transient, const char *what,
			  const char *why)
{
	long long *n = transient ? &run->st->transient : &run->st->refused;

	if ((*n)++ == 0)
		log_error("%s: %s (%s)", what, why,
			  transient ? "transient: a later run may succeed"
				    : "refused");
}

static void add_done(struct run *run, long long first_id)
{
	xgrow(&run->done, &run->capdone, run->ndone + 1, sizeof(*run->done));
	run->done[run->ndone++] = first_id;
}

static void batch_free(struct batch *b)
{
	struct run *run = b->run;

	if (b->prev != NULL)
		b->prev->next = b->next;
	else
		run->batches = b->next;
	if (b->next != NULL)
		b->next->prev = b->prev;
	free(b->checks);
	free(b);
}

/* Stores the collected evidence and lets go of the finished claims. */
static int flush(struct run *run)
{
	int rc =
		revcheck_store_record(run->db, run->inc->id, run->worker,
				      run->ev, run->nev, run->done, run->ndone);

	run->nev = 0;
	run->ndone = 0;
	return rc;
}

static void on_ocsp(const struct revfetch_result *res, void *user)
{
	struct check *ck = user;
	struct batch *b = ck->batch;
	struct run *run = b->run;
	const struct ocsp_answer *a = &res->answer;
	struct revcheck_store_evidence *e;

	xgrow(&run->ev, &run->capev, run->nev + 1, sizeof(*run->ev));
	e = &run->ev[run->nev++];
	e->cert_id = ck->cert_id;
	e->url = ck->url;
	e->answer = *a;
	run->st->by_status[a->status]++;
	if (a->status == OCSP_ERROR) {
		char what[600], hex[SERIAL_TEXT_MAX];

		serial_format_hex(&a->serial, hex, sizeof(hex));
		if (snprintf(what, sizeof(what), "OCSP %.500s, serial %s",
			     ck->url ? ck->url : "", hex) >= (int)sizeof(what))
			what[sizeof(what) - 1] = '\0'; /* cut to fit */
		count_failure(run, a->transient, what, a->error);
	}
	if (--b->left == 0) {
		add_done(run, b->first_id);
		batch_free(b);
	}
}

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

	/* The URL is cut to 500 bytes, so it fits; a reason to 255. */
	if (snprintf(what, sizeof(what), "CRL %.500s", url) < 0)
		what[0] = '\0';
	if (!ok) {
		if (snprintf(why, sizeof(why), "%s (HTTP %ld)", err,
			     http_status) >= (int)sizeof(why))
			why[sizeof(why) - 1] = '\0';
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
	if (revocation_add_crl(run->db, run->inc->id, cx->issuer->row->id, url,
			       crl, NULL, &st) < 0) {
		run->st->failed++;
		goto out;
	}
	log_info("CRL %s: %zu entries; it covers %lld certificates, lists %lld",
		 url, crl_count(crl), st.covered, st.listed);
	run->st->by_status[OCSP_GOOD] += st.good;
	run->st->by_status[OCSP_REVOKED] += st.listed;
	if (!crl_is_partitioned(crl))
		cx->issuer->crl_answered = true;
	goto out;
fail:
	run->st->by_status[OCSP_ERROR]++;
	if (revocation_add_crl(run->db, run->inc->id, cx->issuer->row->id, url,
			       NULL, why, NULL) < 0) {
		/* logged; the CRL counts as failed already */
	}
out:
	crl_free(crl);
}

/*
 * Each issuer's certificate from its stored PEM.  One that does not
 * parse is an error naming the issuer (it would leave every certificate
 * it issued unasked).  0, or -1 (logged).
 */
static int parse_issuers(struct run *run)
{
	for (size_t i = 0; i < run->nis; i++) {
		const struct revcheck_store_issuer *row = run->is[i].row;
		BIO *b = BIO_new_mem_buf(row->pem, -1);
		char why[200];

		run->is[i].cert =
			b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
		BIO_free(b);
		if (run->is[i].cert != NULL)
			continue;
		ERR_error_string_n(ERR_peek_last_error(), why, sizeof(why));
		ERR_clear_error();
		return log_error("revcheck: issuer %lld (%s) of incident %s: "
				 "its stored certificate does not parse as "
				 "PEM (%s): add it again with 'certrecall "
				 "incident add-issuer %s CA.pem'",
				 row->id, row->subject, run->inc->slug, why,
				 run->inc->slug);
	}
	return 0;
}

/* The issuer that answers for c, or NULL.  Unlinked: the only issuer
 * answers for a certificate whose issuer is unknown, never for one
 * naming another issuer (identity is issuer and serial). */
static struct issuer *issuer_of(struct run *run,
				const struct revcheck_store_cert *c)
{
	long long iid = c->issuer_id >= 0 ? c->issuer_id
			: run->nis == 1 && c->issuer_unknown
				? run->is[0].row->id
				: -1;

	for (size_t i = 0; i < run->nis; i++)
		if (run->is[i].row->id == iid)
			return &run->is[i];
	return NULL;
}

/* Queues the OCSP checks of the batch just claimed (run->claimed);
 * certificates with nothing to ask (no issuer, no responder) are
 * finished at once, and so is a batch without any to ask. */
static void ask_batch(struct run *run, struct revfetch *rf)
{
	const struct revcheck_store_batch *cb = &run->claimed;
	struct batch *b = xcalloc(1, sizeof(*b));

	b->run = run;
	b->first_id = cb->first_id;
	b->checks = xcalloc(cb->n + 1, sizeof(*b->checks));
	b->next = run->batches;
	if (b->next != NULL)
		b->next->prev = b;
	run->batches = b;
	b->left = 1; /* held until every check is queued */
	for (size_t k = 0; k < cb->n; k++) {
		const struct revcheck_store_cert *c = &cb->certs[k];
		struct issuer *isr = issuer_of(run, c);
		struct check *ck = &b->checks[k];

		if (isr != NULL)
			ck->url = run->opt->ocsp_url	? run->opt->ocsp_url
				  : isr->row->nocsp > 0 ? isr->row->ocsp[0]
							: NULL;
		if (ck->url == NULL || !c->serial_ok)
			continue;
		ck->batch = b;
		ck->cert_id = c->id;
		if (revfetch_add_ocsp(rf, ck->url, isr->cert, &c->serial, ck) ==
		    0)
			b->left++;
	}
	if (--b->left == 0) {
		add_done(run, b->first_id);
		batch_free(b);
	}
}

/* Claims the next batch and queues its checks: 1, 0 when the pass has
 * nothing this worker could claim, or -1. */
static int claim(struct run *run, struct revfetch *rf)
{
	int n = revcheck_store_claim(run->db, run->inc->id, run->worker,
				     run->cfg->database.lease_ms, run->floor,
				     &run->claimed);

	if (n == 0 && run->floor > 0) {
		/* Past the end: once more from the start, for batches whose
		 * lease ran out or that a claim held when we passed. */
		run->floor = 0;
		n = revcheck_store_claim(run->db, run->inc->id, run->worker,
					 run->cfg->database.lease_ms, 0,
					 &run->claimed);
	}
	if (n <= 0)
		return n;
	run->floor = run->claimed.first_id;
	ask_batch(run, rf);
	return 1;
}

/* Keeps this worker's claims from running out while it works. */
static int renew(struct run *run)
{
	double now = clock_mono();

	if (now - run->renewed < (double)run->cfg->database.lease_ms / 3000.0)
		return 0;
	run->renewed = now;
	return revcheck_store_renew(run->db, run->worker,
				    run->cfg->database.lease_ms);
}

/*
 * Claims and asks until the pass has nothing left that this worker could
 * claim and no other worker holds a claim, stepping the engine (CRLs
 * included), claiming a batch whenever fewer than LOW checks are
 * pending.  0, or -1 (logged).
 */
static int ask_pass(struct run *run, struct revfetch *rf)
{
	bool exhausted = false, told = false;

	run->renewed = clock_mono();
	for (;;) {
		if (stop_requested)
			return -1;
		while (!exhausted && revfetch_pending(rf) < LOW) {
			int n = claim(run, rf);

			if (n < 0)
				return -1;
			exhausted = n == 0;
		}
		if (exhausted && revfetch_pending(rf) == 0) {
			long long others;

			if (flush(run) < 0)
				return -1;
			others = revcheck_store_queued_elsewhere(
				run->db, run->inc->id, run->worker);
			if (others <= 0)
				return others < 0 ? -1 : 0;
			if (!told)
				log_info("revcheck: %lld batch%s of "
					 "certificates claimed by other "
					 "workers; waiting",
					 others, others == 1 ? "" : "es");
			told = true;
			nanosleep(&(struct timespec){ 0, WAIT_MS * 1000000L },
				  NULL);
			exhausted = false;
			run->floor = 0;
			continue;
		}
		if (revfetch_step(rf, 100) < 0)
			return -1;
		if (run->nev >= FLUSH_AT && flush(run) < 0)
			run->st->failed++; /* those claims stay till the end */
		if (renew(run) < 0)
			return -1;
	}
}

/* The CRL downloads of every issuer (or the one CRL of the options),
 * queued in rf; *cx holds their contexts (free it). */
static void queue_crls(struct run *run, struct revfetch *rf,
		       struct crl_ctx **cx)
{
	size_t n = 0, k = 0;

	for (size_t i = 0; i < run->nis; i++)
		n += run->opt->crl_url ? 1 : run->is[i].row->ncrl;
	*cx = xcalloc(n + 1, sizeof(**cx));
	for (size_t i = 0; i < run->nis; i++) {
		const struct revcheck_store_issuer *row = run->is[i].row;

		for (size_t u = 0; u < (run->opt->crl_url ? 1 : row->ncrl);
		     u++) {
			(*cx)[k] = (struct crl_ctx){ run, &run->is[i], 300 };
			revfetch_add_fetch(rf,
					   run->opt->crl_url ? run->opt->crl_url
							     : row->crl[u],
					   CRL_MAX, on_crl, &(*cx)[k]);
			k++;
		}
	}
}

/*
 * Fetches and asks; the evidence stored, and whatever this worker still
 * holds of the pass given back (after an error), now rather than when
 * the lease runs out.  0, or -1.
 */
static int fetch_all(struct run *run, struct revfetch *rf)
{
	struct sigaction sa = { .sa_handler = on_stop }, old_int, old_term;
	long long back;
	int rc = 0;

	if (run->opt->use_ocsp) {
		stop_requested = 0;
		sigaction(SIGINT, &sa, &old_int);
		sigaction(SIGTERM, &sa, &old_term);
		rc = ask_pass(run, rf);
		sigaction(SIGINT, &old_int, NULL);
		sigaction(SIGTERM, &old_term, NULL);
	}
	while (rc == 0 && revfetch_pending(rf) > 0)
		if (revfetch_step(rf, 100) < 0)
			break; /* what is pending is abandoned */
	if (flush(run) < 0)
		rc = -1;
	if (run->opt->use_ocsp) {
		back = revcheck_store_give_back(run->db, run->worker);
		if (back < 0)
			log_warn("revcheck: the claims of %s return when "
				 "their lease runs out",
				 run->worker);
		else
			run->st->given_back = back;
	}
	return rc;
}

/* The round after the issuers are known.  0, or -1. */
static int round_ask(struct run *run, long long first_ev)
{
	struct revfetch_opts o = { .ocsp_cb = on_ocsp };
	struct crl_ctx *cx = NULL;
	struct revfetch *rf;
	long long *answered = xcalloc(run->nis + 1, sizeof(*answered));
	size_t nans = 0;
	int rc = -1;

	o.max_age_s = (long)(run->cfg->revcheck.max_age_ms / 1000);
	rf = revfetch_new(&o);
	if (rf == NULL)
		goto out;
	if (run->opt->use_crl)
		queue_crls(run, rf, &cx);
	if (fetch_all(run, rf) < 0) {
		if (stop_requested)
			rc = REVCHECK_INTERRUPTED;
		goto out;
	}
	if (revocation_derive(run->db, run->inc->id) < 0)
		goto out;
	for (size_t i = 0; i < run->nis; i++)
		if (run->is[i].crl_answered)
			answered[nans++] = run->is[i].row->id;
	rc = revcheck_store_counts(run->db, run->inc->id, answered, nans,
				   run->nis == 1 ? run->is[0].row->id : 0,
				   first_ev, &run->st->left,
				   &run->st->unanswered);
out:
	revfetch_free(rf);
	free(cx);
	free(answered);
	return rc;
}

int revcheck_round(struct db *db, const struct config *cfg,
		   const struct incident *inc,
		   const struct revcheck_options *opt,
		   struct revcheck_stats *st)
{
	struct run run = {
		.db = db, .cfg = cfg, .inc = inc, .opt = opt, .st = st
	};
	struct revcheck_store_issuer *rows = NULL;
	size_t nrows = 0;
	long long first_ev = 0;
	long long batch = cfg->database.batch_size < BATCH_MAX
				  ? cfg->database.batch_size
				  : BATCH_MAX;
	char host[128];
	bool joined;
	int rc = -1;

	memset(st, 0, sizeof(*st));
	if (gethostname(host, sizeof(host)) < 0)
		memcpy(host, "localhost", sizeof("localhost"));
	host[sizeof(host) - 1] = '\0';
	/* 127 bytes of host name, a colon and a pid fit. */
	if (snprintf(run.worker, sizeof(run.worker), "%.127s:%d", host,
		     (int)getpid()) < 0)
		return -1;
	if (revcheck_store_issuers(db, inc->id, &rows, &nrows) < 0)
		return -1;
	if (nrows == 0) {
		log_error("incident %s has no issuer: add it with 'certrecall "
			  "incident add-issuer %s CA.pem'",
			  inc->slug, inc->slug);
		rc = REVCHECK_NO_ISSUER;
		goto out;
	}
	run.nis = nrows;
	run.is = xcalloc(nrows, sizeof(*run.is));
	for (size_t i = 0; i < nrows; i++)
		run.is[i].row = &rows[i];
	if (parse_issuers(&run) < 0) {
		rc = REVCHECK_BAD_ISSUER;
		goto out;
	}
	/* Evidence rows after first_ev are this round's (this pass's). */
	if (opt->use_ocsp ? revcheck_store_pass_begin(db, inc->id,
						      cfg->database.lease_ms,
						      batch, &first_ev, &joined)
			  : revcheck_store_last_evidence(db, &first_ev))
		goto out;
	rc = round_ask(&run, first_ev);
out:
	for (size_t i = 0; i < run.nis; i++)
		X509_free(run.is[i].cert);
	free(run.is);
	free(run.ev);
	free(run.done);
	while (run.batches != NULL) /* abandoned: stopped or failed */
		batch_free(run.batches);
	revcheck_store_batch_release(&run.claimed);
	revcheck_store_issuers_free(rows, nrows);
	return rc;
}

int revcheck_exit_code(const struct revcheck_stats *st)
{
	if (st->refused > 0) {
		log_error("revcheck: %lld answers or CRLs refused as invalid "
			  "or unusable: a retry will not fix them (exit %d)",
			  st->refused, EX_DATAERR);
		return EX_DATAERR;
	}
	if (st->transient > 0 || st->failed > 0) {
		log_warn("revcheck: %lld answers or CRLs failed for now "
			 "(network, timeout, HTTP 429/5xx): run again "
			 "(exit %d)",
			 st->transient + st->failed, EX_TEMPFAIL);
		return EX_TEMPFAIL;
	}
	if (st->unanswered > 0) {
		log_error("revcheck: %lld certificate%s got no usable "
			  "evidence (good or revoked) from any source (exit "
			  "%d)",
			  st->unanswered, st->unanswered == 1 ? "" : "s",
			  EX_DATAERR);
		return EX_DATAERR;
	}
	return 0;
}
