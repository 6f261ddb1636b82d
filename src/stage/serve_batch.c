/*
 * serve_batch.c - ARI lookups in pipelined batches (see serve_batch.h).
 */
#include <errno.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "certrecall/base/log.h"
#include "certrecall/base/xalloc.h"
#include "certrecall/stage/serve_batch.h"
#include "certrecall/store/db.h"
#include "certrecall/store/serve_store.h"

struct serve_batch {
	const struct config *cfg;
	pthread_mutex_t lock;
	pthread_cond_t more, idle;
	struct serve_batch_job *head, **tail;
	size_t outstanding; /* queued or in a round trip */
	bool draining, stopping;
	pthread_t *threads;
	unsigned nthreads;
};

/* One round trip for jobs; a lost connection is remade for the next. */
static void run_batch(struct serve_batch *b, struct db **db,
		      struct serve_batch_job **jobs, size_t n)
{
	struct serve_store_ari_query *q[SERVE_BATCH_MAX];

	for (size_t i = 0; i < n; i++) {
		jobs[i]->q.aki = jobs[i]->id.aki;
		jobs[i]->q.aki_len = jobs[i]->id.aki_len;
		jobs[i]->q.serial = &jobs[i]->id.serial;
		jobs[i]->q.rc = -1;
		q[i] = &jobs[i]->q;
	}
	if (*db == NULL)
		*db = db_connect_config(b->cfg);
	else if (!db_ok(*db) && !serve_store_reconnect(*db))
		return; /* every job keeps rc -1: 503 */
	if (*db != NULL && serve_store_ari_many(*db, q, n) < 0)
		(void)serve_store_reconnect(*db);
}

static void *batch_main(void *arg)
{
	struct serve_batch *b = arg;
	struct serve_batch_job *jobs[SERVE_BATCH_MAX];
	struct db *db = NULL;

	for (;;) {
		size_t n = 0;

		pthread_mutex_lock(&b->lock);
		while (b->head == NULL && !b->stopping)
			pthread_cond_wait(&b->more, &b->lock);
		if (b->head == NULL) {
			pthread_mutex_unlock(&b->lock);
			break;
		}
		while (b->head != NULL && n < SERVE_BATCH_MAX) {
			jobs[n++] = b->head;
			b->head = b->head->next;
		}
		if (b->head == NULL)
			b->tail = &b->head;
		pthread_mutex_unlock(&b->lock);
		run_batch(b, &db, jobs, n);
		for (size_t i = 0; i < n; i++) {
			struct MHD_Connection *c = jobs[i]->c;

			/* The job belongs to the request again once resumed:
			 * read nothing of it after this. */
			jobs[i]->done = true;
			MHD_resume_connection(c);
		}
		pthread_mutex_lock(&b->lock);
		b->outstanding -= n;
		if (b->outstanding == 0)
			pthread_cond_broadcast(&b->idle);
		pthread_mutex_unlock(&b->lock);
	}
	db_close(db);
	return NULL;
}

struct serve_batch *serve_batch_start(const struct config *cfg,
				      unsigned nthreads)
{
	struct serve_batch *b = xcalloc(1, sizeof(*b));
	pthread_condattr_t attr;

	b->cfg = cfg;
	pthread_mutex_init(&b->lock, NULL);
	pthread_cond_init(&b->more, NULL);
	/* The drain's deadline is an interval: the monotonic clock, so
	 * the one wall clock stays in base/clock.c. */
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&b->idle, &attr);
	pthread_condattr_destroy(&attr);
	b->tail = &b->head;
	b->threads = xcalloc(nthreads, sizeof(*b->threads));
	for (; b->nthreads < nthreads; b->nthreads++) {
		int e = pthread_create(&b->threads[b->nthreads], NULL,
				       batch_main, b);

		if (e != 0) {
			log_error("serve: lookup thread: %s", strerror(e));
			serve_batch_stop(b);
			return NULL;
		}
	}
	return b;
}

int serve_batch_submit(struct serve_batch *b, struct MHD_Connection *c,
		       struct serve_batch_job *job)
{
	pthread_mutex_lock(&b->lock);
	if (b->draining) {
		pthread_mutex_unlock(&b->lock);
		return -1;
	}
	job->c = c;
	job->done = false;
	job->next = NULL;
	/* Suspended before it is queued: the resume cannot come first. */
	MHD_suspend_connection(c);
	*b->tail = job;
	b->tail = &job->next;
	b->outstanding++;
	pthread_cond_signal(&b->more);
	pthread_mutex_unlock(&b->lock);
	return 0;
}

bool serve_batch_drain(struct serve_batch *b, unsigned timeout_ms)
{
	struct timespec until;
	bool idle;

	if (b == NULL)
		return true;
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += timeout_ms / 1000;
	until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&b->lock);
	b->draining = true;
	while (b->outstanding > 0)
		if (pthread_cond_timedwait(&b->idle, &b->lock, &until) ==
		    ETIMEDOUT)
			break;
	idle = b->outstanding == 0;
	if (!idle)
		log_warn("serve: %zu lookups still unanswered at stop",
			 b->outstanding);
	pthread_mutex_unlock(&b->lock);
	return idle;
}

void serve_batch_stop(struct serve_batch *b)
{
	if (b == NULL)
		return;
	pthread_mutex_lock(&b->lock);
	b->stopping = true;
	pthread_cond_broadcast(&b->more);
	pthread_mutex_unlock(&b->lock);
	for (unsigned i = 0; i < b->nthreads; i++)
		pthread_join(b->threads[i], NULL);
	free(b->threads);
	pthread_cond_destroy(&b->more);
	pthread_cond_destroy(&b->idle);
	pthread_mutex_destroy(&b->lock);
	free(b);
}
