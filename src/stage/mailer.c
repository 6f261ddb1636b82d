/*
 * mailer.c - a notify run: plan the notices of a kind, claim them in
 * batches, compose them, send them over SMTP and record what the relay
 * answered, on any number of connections (mailer.h).  What a notice
 * says and what an answer means are notice.h's; the statements are
 * notice_store.h's; the relay is smtp.h's.
 */
#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "certrecall/base/clock.h"
#include "certrecall/base/log.h"
#include "certrecall/base/progress.h"
#include "certrecall/base/utctime.h"
#include "certrecall/base/xalloc.h"
#include "certrecall/core/config.h"
#include "certrecall/core/deadline.h"
#include "certrecall/core/notice.h"
#include "certrecall/net/smtp.h"
#include "certrecall/stage/mailer.h"
#include "certrecall/store/db.h"
#include "certrecall/store/incident.h"
#include "certrecall/store/notice_store.h"

bool mailer_kind_valid(const char *kind)
{
	return notice_kind_valid(kind);
}

int mailer_common_init(struct notice_common *c, const struct config *cfg,
		       const struct incident *inc, const char *kind)
{
	struct deadline_rule rule;
	char err[512];
	time_t start;

	memset(c, 0, sizeof(*c));
	if (cfg->mailer.from[0] == '\0') {
		log_error("mailer.from is not set: the notices need a "
			  "From address (see config.example.ini)");
		return MAILER_ERR_CONFIG;
	}
	if (notice_from_check(cfg, inc->slug, kind, inc->aware_at) < 0)
		return MAILER_ERR_CONFIG;
	if (deadline_resolve(inc->reason, inc->aware_at, &rule, err,
			     sizeof(err)) < 0) {
		log_error("incident %s: %s", inc->slug, err);
		return MAILER_ERR_DATA;
	}
	start = incident_revoke_start(inc, &rule, NULL);
	if (notice_common_load(c, cfg, inc->slug, inc->title, kind, &rule,
			       deadline_should_by(&rule, start),
			       deadline_must_by(&rule, start)) < 0)
		return MAILER_ERR_CONFIG;
	return 0;
}

/* ---- sending ------------------------------------------------------ */

/* State shared by the sending threads. */
struct run {
	const struct config *cfg;
	const struct mailer_options *opt;
	const struct incident *inc;
	struct notice_common common;
	char worker[128];
	size_t claim_max;	  /* notices per claim */
	atomic_llong claimed;	  /* for --limit */
	atomic_bool planning;	  /* notices are still being created */
	atomic_llong slices;	  /* planning slices committed so far */
	atomic_llong claim_floor; /* highest notice id claimed so far */
	atomic_llong sent, retry, failed;
	atomic_bool stop;
	atomic_int errors;
	atomic_bool data_error;	       /* a notice could not be composed */
	atomic_bool mail_refused_told; /* MAIL FROM refusal reported */
	struct smtp_rate rate;	       /* --rate, shared by every connection */
	/* Other workers' live leases this run waits for (progress note). */
	atomic_bool leases_told;
	atomic_bool lease_over_told; /* a batch outlived half its lease */
	atomic_llong leased;
	atomic_llong leased_until;
	/* Held while a notice claimed without its certificates (a hosting
	 * account's thousands) is loaded, composed and sent: one at a time
	 * in the process (batch_work()). */
	pthread_mutex_t big_lock;
	/* Claimed notices never handed to the relay, for give_back(). */
	pthread_mutex_t giveback_lock;
	long long *giveback;
	size_t ngiveback, giveback_cap;
};

static void sleep_seconds(double w)
{
	struct timespec ts;

	if (w <= 0)
		return;
	ts.tv_sec = (time_t)w;
	ts.tv_nsec = (long)((w - (double)ts.tv_sec) * 1e9);
	nanosleep(&ts, NULL);
}

/* One sending thread. */
struct sender {
	struct run *run;
	struct db *db;
	struct smtp_client *smtp;
	struct notice *batch;
	size_t n;
	/* Answered notices whose outcome is not committed yet, in the
	 * order of the answers: at most mailer.commit_group. */
	struct notice **group;
	size_t grouped;
	double group_since; /* when the first of them was answered */
	bool in_flight;	    /* a group was sent, its result not yet read */
	bool db_failed;	    /* recording failed: send nothing more */
	double claimed_at;  /* before the batch's claim (its lease began) */
	bool lease_over;    /* half the lease gone: send no more of it */
	/* of the batch, claimed and never handed to the relay */
	long long *unsent;
	size_t nunsent;
	bool scanned;	   /* the incident has a scan round */
	double scanned_at; /* when that was read (0: never) */
};

/* Marks the sender's database as failed; the first time, says what that
 * means for the messages it has answers for. */
static void sender_db_failed(struct sender *s, const char *what,
			     const char *why)
{
	atomic_fetch_add(&s->run->errors, 1);
	if (!s->db_failed)
		log_error("database: %s: %.*s; this connection sends nothing "
			  "more (unrecorded notices stay claimed until their "
			  "lease ends)",
			  what, (int)strcspn(why, "\n"), why);
	s->db_failed = true;
}

/* Reads the result of the group in flight, if any. */
static void group_wait(struct sender *s)
{
	char *why;

	if (!s->in_flight)
		return;
	s->in_flight = false;
	if (notice_store_outcomes_wait(s->db, &why) < 0)
		sender_db_failed(s, "recording outcomes", why);
	free(why);
}

/*
 * Sends the group of answered notices to the database as one statement,
 * after reading the result of the previous one: at most one group is
 * in flight, so at most two groups per connection are uncommitted at
 * any moment.  The statement is on the wire when this returns, so the
 * server commits it even if this process dies the next instant.
 */
static void group_flush(struct sender *s)
{
	char *why;

	group_wait(s);
	if (s->grouped == 0)
		return;
	if (s->db_failed) {
		s->grouped = 0; /* they return when their lease ends */
		return;
	}
	if (notice_store_outcomes_send(s->db, s->group, s->grouped, &why) == 0)
		s->in_flight = true;
	else
		sender_db_failed(s, "recording outcomes", why);
	free(why);
	s->grouped = 0;
}

static double commit_interval(const struct sender *s)
{
	return (double)s->run->cfg->mailer.commit_interval_ms / 1000.0;
}

/* Flushes the group once it is old enough (after every answer). */
static void group_flush_due(void *arg)
{
	struct sender *s = arg;

	if (s->grouped > 0 &&
	    clock_mono() - s->group_since >= commit_interval(s))
		group_flush(s);
}

/*
 * Decides a notice's outcome from the relay's answer (notice.h's
 * policy) and adds it to the group that the next commit records.  code
 * is the SMTP reply code (0 for no answer at all).
 */
static void record(void *arg, struct notice *n, int code, const char *reply)
{
	struct sender *s = arg;
	const struct config *cfg = s->run->cfg;
	if (n->done)
		return;
	n->done = true;
	n->attempts++;
	notice_reply_text(n->reply, sizeof(n->reply), code, reply);
	n->outcome =
		notice_outcome_of(code, n->attempts, cfg->mailer.max_attempts,
				  cfg->mailer.retry_backoff_ms, &n->backoff_ms);
	atomic_fetch_add(n->outcome == NOTICE_SENT     ? &s->run->sent
			 : n->outcome == NOTICE_FAILED ? &s->run->failed
						       : &s->run->retry,
			 1);
	if (s->grouped == 0)
		s->group_since = clock_mono();
	s->group[s->grouped++] = n;
	if (s->grouped >= (size_t)cfg->mailer.commit_group)
		group_flush(s);
}

/* The DATA phase of a message starts: wait for its rate slot. */
static void pace(void *arg)
{
	struct sender *s = arg;
	double wait = smtp_rate_wait(&s->run->rate);

	if (wait > 0) {
		/* No answer waits for its commit longer than
		 * commit_interval because of a pause of ours. */
		if (s->grouped > 0 &&
		    clock_mono() + wait - s->group_since >= commit_interval(s))
			group_flush(s);
		sleep_seconds(wait);
	}
}

/* Whether the next message may go: not when outcomes can no longer be
 * recorded, nor past half the batch's lease. */
static bool may_send(void *arg)
{
	struct sender *s = arg;

	if (!s->lease_over &&
	    clock_mono() - s->claimed_at >
		    (double)s->run->cfg->mailer.lease_ms / 2000.0) {
		/* The lease is not renewed: past half of it another worker
		 * could soon claim this batch and send it too.  The rest
		 * stays unanswered under our lease and is claimed again
		 * (by anyone) at once: see send_batch(). */
		s->lease_over = true;
		if (!atomic_exchange(&s->run->lease_over_told, true))
			log_warn("a batch took longer than half of "
				 "mailer.lease (%lld ms) to send: the rest "
				 "goes back to the queue (raise "
				 "mailer.lease or lower mailer.batch)",
				 s->run->cfg->mailer.lease_ms);
	}
	return !s->db_failed && !s->lease_over;
}

static bool lease_over(void *arg)
{
	return ((struct sender *)arg)->lease_over;
}

static void unsent(void *arg, struct notice *n)
{
	struct sender *s = arg;

	if (s->nunsent == 0 || s->unsent[s->nunsent - 1] != n->id)
		s->unsent[s->nunsent++] = n->id;
}

static const char *envelope(void *arg, const struct notice *n, char *buf,
			    size_t len)
{
	struct sender *s = arg;

	return notice_envelope_sender(&s->run->common, n->id, buf, len);
}

/*
 * Sends the batch over one SMTP connection.  Every message gets an
 * outcome: the relay's answer, or a retry when it gave none.  All of
 * them are committed when this returns; what was never handed to the
 * relay after the lease ran half out goes back to the queue.
 */
static void send_batch(struct sender *s, struct notice *b, size_t n)
{
	struct smtp_events ev = {
		.arg = s,
		.answer = record,
		.pace = pace,
		.may_send = may_send,
		.tick = group_flush_due,
		.give_back = lease_over,
		.unsent = unsent,
		.sender = envelope,
		.mail_refused_told = &s->run->mail_refused_told,
	};

	s->unsent = xcalloc(n + 1, sizeof(*s->unsent));
	s->nunsent = 0;
	smtp_send_batch(s->smtp, b, n, &ev);
	group_flush(s);
	group_wait(s);
	if (s->nunsent > 0 && !s->db_failed &&
	    notice_store_return_claims(s->db, s->run->worker, s->unsent,
				       s->nunsent) < 0)
		s->db_failed = true; /* they return when their lease ends */
	free(s->unsent);
	s->unsent = NULL;
}

/*
 * Certificates a claimed notice may bring with it as rows of their own:
 * a batch holds at most mailer.batch times this many.  A notice with
 * more (a hosting account: up to tens of thousands) is claimed without
 * them and loaded when it is sent, alone (send_deferred()), unless a
 * listing stands for them (032, 037): then it comes with them up to
 * BIG_CERTS, while the batch's notices up to it list at most that
 * bound together.
 */
#define CLAIM_MAX_CERTS 100

/* A notice of more certificates than this is sent alone in the process
 * (send_deferred()), and the heap is trimmed after it: each thread's
 * malloc arena would otherwise keep the pages it freed. */
#define BIG_CERTS 2000
_Static_assert(BIG_CERTS > CLAIM_MAX_CERTS, "a big notice is a deferred one");

/* How long a sender trusts what it last read of whether the incident
 * has a scan round: a claim within a second of the first round's end
 * may still say "not scanned", as one a second earlier would have. */
#define SCANNED_TTL 1.0

/*
 * Claims up to max due notices.  The queue is read in id order, and
 * sent notices leave dead index entries at its head until a vacuum,
 * which every claim from the start would step over again: so a claim
 * starts after the highest id this process has claimed (everything
 * below it was claimed, finished or not yet due when a claim passed
 * it), and reads from the start only when that finds nothing and
 * planning is over: for retries come due, leases expired, and notices
 * another process planned meanwhile.
 */
static int claim(struct sender *s, size_t max, bool planning)
{
	struct run *run = s->run;
	long long floor = atomic_load(&run->claim_floor);

	if ((s->scanned_at == 0 ||
	     clock_mono() - s->scanned_at > SCANNED_TTL) &&
	    !s->scanned) {
		if (notice_store_scanned(s->db, run->inc->id, &s->scanned) < 0)
			return -1;
		s->scanned_at = clock_mono();
	}
	if (notice_store_claim(s->db, run->inc->id, run->opt->kind,
			       run->cfg->mailer.lease_ms, run->worker, max,
			       floor, CLAIM_MAX_CERTS, BIG_CERTS, s->scanned,
			       s->batch, &s->n) < 0)
		return -1;
	if (s->n == 0 && floor > 0 && !planning &&
	    notice_store_claim(s->db, run->inc->id, run->opt->kind,
			       run->cfg->mailer.lease_ms, run->worker, max, 0,
			       CLAIM_MAX_CERTS, BIG_CERTS, s->scanned, s->batch,
			       &s->n) < 0)
		return -1;
	for (size_t i = 0; i < s->n; i++) {
		long long id = s->batch[i].id;
		long long seen = atomic_load(&run->claim_floor);

		while (id > seen && !atomic_compare_exchange_weak(
					    &run->claim_floor, &seen, id))
			;
	}
	return 0;
}

/*
 * Says, once per run, whose live leases hold notices this run cannot
 * send, and until when: waiting up to mailer.lease in silence looked
 * like a hung run (a run that stopped without giving its claims back
 * leaves such leases too).
 */
static void leases_tell(struct run *run, long long n, const char *workers,
			time_t until)
{
	char when[UTCTIME_BUFSZ];

	atomic_store(&run->leased_until, (long long)until);
	atomic_store(&run->leased, n);
	if (atomic_exchange(&run->leases_told, true))
		return;
	if (utctime_format_rfc3339(until, when, sizeof(when)) < 0)
		when[0] = '\0';
	log_warn("%lld notice%s leased by %.200s until %s; %s", n,
		 n == 1 ? "" : "s", workers, when,
		 run->opt->wait ? "waiting (they are sent here if the lease "
				  "ends first)"
				: "not waiting (--no-wait)");
}

/*
 * Seconds until more work could be due: 0 = none left for anyone (or
 * none this run waits for, with --no-wait); -1 on error.
 */
static double wait_hint(struct sender *s)
{
	struct notice_store_queue q;
	double wait = 0;

	if (notice_store_queue_state(s->db, s->run->inc->id, s->run->opt->kind,
				     s->run->worker, &q) < 0)
		return -1;
	if (q.has_next) {
		wait = q.next_in;
		if (wait < 0.05)
			wait = 0.05;
		if (wait > 5)
			wait = 5; /* look again: others may finish */
	}
	if (q.leased > 0)
		leases_tell(s->run, q.leased, q.workers, q.leased_until);
	else
		atomic_store(&s->run->leased, 0);
	return s->run->opt->wait ? wait : 0;
}

/* Keeps the ids of the sender's claimed notices that were never handed
 * to the relay, for give_back() when the run ends. */
static void giveback_add(struct sender *s)
{
	struct run *run = s->run;

	pthread_mutex_lock(&run->giveback_lock);
	for (size_t i = 0; i < s->n; i++) {
		if (s->batch[i].done)
			continue;
		xgrow(&run->giveback, &run->giveback_cap, run->ngiveback + 1,
		      sizeof(*run->giveback));
		run->giveback[run->ngiveback++] = s->batch[i].id;
	}
	pthread_mutex_unlock(&run->giveback_lock);
}

/*
 * A run that stops returns what it claimed and did not send to the queue,
 * as it was (pending, or retry with its due time): the next run sends
 * them at once instead of waiting mailer.lease for the lease to end.
 * Only our own claims (worker) are touched.  Notices that reached the
 * relay keep their lease: their outcome may be unrecorded, and sending
 * them again could duplicate a message.
 */
static int give_back(struct db *db, struct run *run)
{
	long long n;

	if (run->ngiveback == 0)
		return 0;
	n = notice_store_return_claims(db, run->worker, run->giveback,
				       run->ngiveback);
	if (n < 0)
		return log_error("%zu notices claimed by this run stay claimed "
				 "until their lease ends (mailer.lease)",
				 run->ngiveback);
	log_info("%lld notices claimed by this run returned to the queue", n);
	return 0;
}

/* How many notices this thread may claim now under --limit (reserved
 * before claiming: threads race for the same --limit); 0 = none. */
static size_t limit_reserve(struct run *run, size_t max)
{
	long long before, left;

	if (run->opt->limit <= 0)
		return max;
	before = atomic_fetch_add(&run->claimed, (long long)max);
	left = run->opt->limit - before;
	if (left <= 0) {
		atomic_fetch_sub(&run->claimed, (long long)max);
		return 0;
	}
	if ((long long)max > left) {
		atomic_fetch_sub(&run->claimed, (long long)max - left);
		max = (size_t)left;
	}
	return max;
}

/* Composes b[0..n) and sends them over one SMTP session, then frees
 * their messages and certificates.  0, or -1 (stop the run). */
static int send_some(struct sender *s, struct notice *b, size_t n, time_t now)
{
	for (size_t i = 0; i < n; i++) {
		if (notice_compose(&s->run->common, &b[i], now) < 0) {
			/* the data, not the moment: a retry fails the same
			 * way */
			atomic_store(&s->run->data_error, true);
			return -1;
		}
	}
	send_batch(s, b, n);
	for (size_t i = 0; i < n; i++)
		notice_drop_message(&b[i]);
	return s->db_failed ? -1 : 0;
}

/*
 * A notice claimed without its certificates (more than CLAIM_MAX_CERTS):
 * loaded, composed and sent in a session of its own.  One of more than
 * BIG_CERTS (a hosting account: up to tens of thousands) is sent while
 * holding run->big_lock, one such notice at a time in the process, so
 * that a run's memory holds at most one of them, not one per
 * connection; the heap is trimmed after it.  0, or -1 (stop the run).
 */
static int send_deferred(struct sender *s, struct notice *n, time_t now)
{
	struct run *run = s->run;
	bool big = n->ncerts > BIG_CERTS;
	int rc = -1;

	if (big)
		pthread_mutex_lock(&run->big_lock);
	if (notice_store_load_certificates(s->db, s->scanned, n, 1) < 0)
		goto out;
	rc = send_some(s, n, 1, now);
	notice_drop_message(n);
	if (big)
		malloc_trim(0);
out:
	if (big)
		pthread_mutex_unlock(&run->big_lock);
	return rc;
}

/* Past half the lease: what is left of the batch goes back to the queue
 * at once (see may_send()). */
static void return_rest(struct sender *s, size_t from)
{
	size_t k = 0;
	long long *ids = xcalloc(s->n - from + 1, sizeof(*ids));

	for (size_t i = from; i < s->n; i++)
		if (!s->batch[i].done)
			ids[k++] = s->batch[i].id;
	if (k > 0 && !s->db_failed &&
	    notice_store_return_claims(s->db, s->run->worker, ids, k) < 0)
		s->db_failed = true; /* they return when their lease ends */
	free(ids);
}

/*
 * Composes and sends the claimed batch: the notices that came with
 * their certificates together, over one session per run of them, each
 * one claimed without them alone (send_deferred()); every message and
 * certificate list is freed once its outcome is committed.  0, or -1
 * (stop the run).
 */
static int batch_work(struct sender *s, time_t now)
{
	size_t start = 0;

	if (notice_store_load_locales(s->db, s->batch, s->n) < 0)
		return -1;
	for (size_t i = 0; i <= s->n; i++) {
		if (i < s->n && !s->batch[i].certs_deferred)
			continue;
		if (i > start &&
		    send_some(s, s->batch + start, i - start, now) < 0)
			return -1;
		start = i + 1;
		if (i == s->n)
			break;
		if (s->lease_over) {
			return_rest(s, i);
			break;
		}
		if (send_deferred(s, &s->batch[i], now) < 0)
			return -1;
	}
	for (size_t i = 0; i < s->n; i++)
		notice_release(&s->batch[i]);
	s->n = 0;
	return s->db_failed ? -1 : 0;
}

static void *sender_main(void *arg)
{
	struct sender *s = arg;
	struct run *run = s->run;

	s->batch = xcalloc(run->claim_max, sizeof(*s->batch));
	s->group = xcalloc(run->claim_max, sizeof(*s->group));
	while (!atomic_load(&run->stop)) {
		size_t max = limit_reserve(run, run->claim_max);
		time_t now = run->opt->at ? run->opt->at : clock_now();
		bool planning;
		long long slices;

		if (max == 0)
			break;
		/* Read before the claim: if planning was over then, the
		 * claim saw every notice it made. */
		slices = atomic_load(&run->slices);
		planning = atomic_load(&run->planning);
		s->claimed_at = clock_mono();
		s->lease_over = false;
		if (claim(s, max, planning) < 0)
			goto fail;
		if (run->opt->limit > 0) /* give back what was not there */
			atomic_fetch_sub(&run->claimed,
					 (long long)(max - s->n));
		if (s->n == 0 && planning) {
			/* Claim again when the next slice is there rather
			 * than ask the database in a loop. */
			while (atomic_load(&run->slices) == slices &&
			       atomic_load(&run->planning) &&
			       !atomic_load(&run->stop))
				sleep_seconds(0.005);
			continue;
		}
		if (s->n == 0) {
			double w = wait_hint(s);

			if (w < 0)
				goto fail;
			if (w == 0)
				break;
			sleep_seconds(w);
			continue;
		}
		if (batch_work(s, now) < 0)
			goto fail;
	}
	goto out;
fail:
	/* Claimed work goes back when the run ends (give_back). */
	giveback_add(s);
	atomic_fetch_add(&run->errors, 1);
	atomic_store(&run->stop, true);
out:
	for (size_t i = 0; i < s->n; i++)
		notice_release(&s->batch[i]);
	free(s->batch);
	free(s->group);
	return NULL;
}

/* The notices due at the start: those in the queue and the addresses
 * still to plan, at most --limit; -1 on error. */
static long long due_count(struct db *db, const struct incident *inc,
			   const struct mailer_options *opt,
			   const struct notice_store_plan *plan)
{
	long long due = notice_store_count(db, inc->id, opt->kind,
					   "'pending', 'retry', 'claimed'");

	if (due < 0)
		return -1;
	if (plan->addresses > plan->sliced)
		due += plan->addresses - plan->sliced;
	if (opt->limit > 0 && due > opt->limit)
		due = opt->limit;
	return due;
}

/* "host:pid", the name of this run's claims. */
static void worker_name(struct run *run)
{
	char host[96];

	if (gethostname(host, sizeof(host)) < 0)
		memcpy(host, "unknown", sizeof("unknown"));
	host[sizeof(host) - 1] = '\0';
	/* 96 bytes of host and a pid fit in 128 */
	if (snprintf(run->worker, sizeof(run->worker), "%s:%d", host,
		     (int)getpid()) < 0)
		run->worker[0] = '\0';
}

/* Each sender's database connection (statements prepared), and the
 * relay client they share (its TLS context loads the CA store: once,
 * not once a connection).  0 or -1. */
static int senders_open(struct run *run, struct sender *senders, int n,
			struct smtp_client *smtp)
{
	if (smtp == NULL)
		return -1;
	for (int i = 0; i < n; i++) {
		senders[i].run = run;
		senders[i].db = db_connect_config(run->cfg);
		senders[i].smtp = smtp;
		if (senders[i].db == NULL ||
		    notice_store_prepare(senders[i].db) < 0)
			return -1;
	}
	return 0;
}

/* The progress line: the counts s, f, r, and the leases waited for. */
static void progress_show(struct run *run, struct progress *prog, long long s,
			  long long f, long long r)
{
	long long l = atomic_load(&run->leased);
	char note[256], until[UTCTIME_BUFSZ];
	int k = snprintf(note, sizeof(note),
			 "sent %lld failed %lld retrying %lld", s, f, r);

	if (l > 0 && k > 0 && (size_t)k < sizeof(note)) {
		if (utctime_format_rfc3339(
			    (time_t)atomic_load(&run->leased_until), until,
			    sizeof(until)) < 0)
			until[0] = '\0';
		/* a long note is cut: it is a status line */
		if (snprintf(note + k, sizeof(note) - (size_t)k,
			     ", waiting for %lld leased until %s", l,
			     until) < 0)
			note[k] = '\0';
	}
	progress_set_note(prog, note);
	progress_update(prog, (uint64_t)(s + f));
}

/*
 * The main thread while the senders run: shows progress, and plans the
 * remaining slices (the senders claim each as it is committed) until
 * every sender has ended and planning is over.
 */
static void watch(struct run *run, struct notice_store_plan *plan,
		  pthread_t *threads, int started, struct progress *prog)
{
	bool *joined = xcalloc((size_t)started + 1, sizeof(*joined));
	bool finished = false; /* notice_store_plan_finish() done */

	for (;;) {
		long long s = atomic_load(&run->sent),
			  f = atomic_load(&run->failed),
			  r = atomic_load(&run->retry);
		bool alive = false;

		for (int i = 0; i < started; i++) {
			if (!joined[i])
				joined[i] = pthread_tryjoin_np(threads[i],
							       NULL) == 0;
			alive |= !joined[i];
		}
		if (prog != NULL)
			progress_show(run, prog, s, f, r);
		/* Planning ends even when the senders are done early
		 * (--limit): every notice of the kind exists after a run. */
		if (!alive && !atomic_load(&run->planning))
			break;
		if (atomic_load(&run->planning)) {
			int more = atomic_load(&run->stop)
					   ? 0
					   : notice_store_plan_slice(plan);

			if (more < 0) {
				atomic_fetch_add(&run->errors, 1);
				atomic_store(&run->stop, true);
			}
			if (more > 0)
				atomic_fetch_add(&run->slices, 1);
			/* After the last slice's commit: a claim that sees
			 * nothing now means nothing is left. */
			if (more <= 0)
				atomic_store(&run->planning, false);
		} else if (!finished) {
			/* The accounts without an address, recorded while
			 * the senders still send (7 s at 3 M certificates,
			 * after the last message when it came last). */
			finished = true;
			if (notice_store_plan_finish(plan) < 0)
				atomic_fetch_add(&run->errors, 1);
		} else {
			usleep(100 * 1000);
		}
	}
	if (!finished && notice_store_plan_finish(plan) < 0)
		atomic_fetch_add(&run->errors, 1);
	free(joined);
}

/*
 * Planning goes on in slices while the first ones are sent.  Fresh
 * statistics after the first, or the first claims of a big run are
 * planned for the empty table autovacuum last saw.  The due count in
 * *due.  0 or -1.
 */
static int plan_start(struct db *db, struct run *run,
		      struct notice_store_plan *plan, long long *due)
{
	if (notice_store_plan_begin(plan, db, run->inc->id, run->opt->kind,
				    run->common.must_by) < 0 ||
	    notice_store_plan_slice(plan) < 0)
		return -1;
	if (plan->created > 0 && notice_store_analyze(db) < 0)
		return -1;
	atomic_store(&run->planning, plan->sliced < plan->addresses);
	*due = due_count(db, run->inc, run->opt, plan);
	return *due < 0 ? -1 : 0;
}

/* Starts the senders, then watches them.  0 or a mailer_error. */
static int run_senders(struct db *db, struct run *run,
		       struct notice_store_plan *plan, long long due)
{
	const struct mailer_options *opt = run->opt;
	struct sender *senders =
		xcalloc((size_t)opt->connections, sizeof(*senders));
	pthread_t *threads =
		xcalloc((size_t)opt->connections, sizeof(*threads));
	struct progress *prog = NULL;
	struct smtp_client *smtp = smtp_client_new(run->cfg);
	int started = 0, rc = -1;

	if (senders_open(run, senders, opt->connections, smtp) < 0)
		goto join;
	if (opt->progress && due > 0)
		prog = progress_new("notify", (uint64_t)due);
	for (int i = 0; i < opt->connections; i++) {
		if (pthread_create(&threads[i], NULL, sender_main,
				   &senders[i]) != 0) {
			log_error("cannot start a sending thread");
			atomic_store(&run->stop, true);
			break;
		}
		started++;
	}
	watch(run, plan, threads, started, prog);
	started = 0; /* all joined by tryjoin */
	rc = atomic_load(&run->errors) == 0  ? 0
	     : atomic_load(&run->data_error) ? MAILER_ERR_DATA
					     : MAILER_ERR_TEMP;
join:
	atomic_store(&run->stop, true);
	for (int i = 0; i < started; i++)
		pthread_join(threads[i], NULL);
	if (prog != NULL)
		progress_finish(prog);
	if (give_back(db, run) < 0)
		rc = -1;
	for (int i = 0; i < opt->connections; i++)
		db_close(senders[i].db);
	smtp_client_free(smtp);
	free(senders);
	free(threads);
	return rc;
}

int mailer_run(struct db *db, const struct config *cfg,
	       const struct incident *inc, const struct mailer_options *opt,
	       struct mailer_stats *st)
{
	struct run run = { .cfg = cfg, .opt = opt, .inc = inc };
	struct notice_store_plan plan;
	double t0 = clock_mono();
	long long due;
	int rc;

	memset(st, 0, sizeof(*st));
	if (opt->dry_run_dir != NULL)
		return mailer_dry_run(db, cfg, inc, opt, st);
	pthread_mutex_init(&run.giveback_lock, NULL);
	pthread_mutex_init(&run.big_lock, NULL);
	rc = mailer_common_init(&run.common, cfg, inc, opt->kind);
	if (rc < 0)
		goto out;
	rc = -1;
	if (smtp_relay_reachable(cfg) < 0)
		goto out;
	if (plan_start(db, &run, &plan, &due) < 0)
		goto out;
	worker_name(&run);
	run.claim_max =
		notice_claim_size(cfg->mailer.batch, opt->rate,
				  cfg->mailer.lease_ms, opt->connections);
	smtp_rate_init(&run.rate, opt->rate);
	rc = run_senders(db, &run, &plan, due);
	smtp_rate_release(&run.rate);
	st->planned = plan.created;
	st->sent = atomic_load(&run.sent);
	st->failed = atomic_load(&run.failed);
	st->retry = atomic_load(&run.retry);
	st->no_address =
		notice_store_count(db, inc->id, opt->kind, "'no-address'");
	st->seconds = clock_mono() - t0;
	if (notice_store_run_event(db, inc->id, opt->kind, st->planned,
				   st->sent, st->retry, st->failed,
				   st->no_address, st->seconds) < 0)
		rc = -1;
out:
	free(run.giveback);
	pthread_mutex_destroy(&run.giveback_lock);
	pthread_mutex_destroy(&run.big_lock);
	notice_common_release(&run.common);
	return rc;
}
