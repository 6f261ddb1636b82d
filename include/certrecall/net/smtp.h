/*
 * smtp - the SMTP client of the notices: one session per batch over one
 * relay connection (smtp.host, smtp.port, STARTTLS per smtp.starttls,
 * AUTH PLAIN with smtp.username), one message per part of a notice,
 * pipelined (RFC 2920) when the relay offers it, and the relay's answer
 * for each.  Knows nothing of the
 * database: what an answer means and where it is kept are the caller's
 * (struct smtp_events).
 */
#ifndef CERTRECALL_SMTP_H
#define CERTRECALL_SMTP_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include "certrecall/base/xalloc.h"

struct config;
struct notice;
struct smtp_client;

/*
 * Checks once, within smtp.timeout (at most 30 s), that the relay
 * accepts connections, before anything is planned.  0, or -1 (logged).
 */
CR_MUST_CHECK int smtp_relay_reachable(const struct config *cfg);

/* What the sending threads share between their sessions: the TLS
 * context.  NULL when OpenSSL cannot make one. */
CR_MUST_CHECK struct smtp_client *smtp_client_new(const struct config *cfg);
void smtp_client_free(struct smtp_client *c);

/* The --rate limit shared by every connection: one slot per message. */
struct smtp_rate {
	pthread_mutex_t lock;
	long long per_second; /* 0 = no limit */
	double next_slot;     /* when the next message may go (monotonic) */
};

void smtp_rate_init(struct smtp_rate *r, long long per_second);
void smtp_rate_release(struct smtp_rate *r);

/* Takes the next slot: how long to wait for it, in seconds. */
double smtp_rate_wait(struct smtp_rate *r);

/* What the caller does with a session's events; arg is theirs. */
struct smtp_events {
	void *arg;
	/* The relay's answer decides notice n (code 0: no answer at all;
	 * text its reply or why there was none).  The first answer
	 * decides: the callee ignores notices already decided. */
	void (*answer)(void *arg, struct notice *n, int code, const char *text);
	/* A message's DATA phase is starting: wait for its turn. */
	void (*pace)(void *arg);
	/* Its first byte is about to go: false drops the connection before
	 * the final "." so the relay discards it. */
	bool (*may_send)(void *arg);
	/* After each answer event: time to record what was answered. */
	void (*tick)(void *arg);
	/* True when messages that got no answer were never delivered and
	 * go back to the queue (unsent) rather than being retried. */
	bool (*give_back)(void *arg);
	void (*unsent)(void *arg, struct notice *n);
	/* The envelope sender of notice n (buf may hold it). */
	const char *(*sender)(void *arg, const struct notice *n, char *buf,
			      size_t len);
	/* Set once the relay's MAIL FROM refusal has been reported. */
	atomic_bool *mail_refused_told;
};

/*
 * Sends batch[0..n) (their composed parts, in order; done ones skipped)
 * over one SMTP connection.  Every message gets an outcome through
 * ev->answer: the relay's answer, or no answer (a retry) when it gave
 * none, or ev->unsent.
 */
void smtp_send_batch(struct smtp_client *c, struct notice *batch, size_t n,
		     const struct smtp_events *ev);

#endif
