/*
 * distinct.c - sorted runs of 64-bit hashes, merged to count.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "certrecall/core/distinct.h"
#include "certrecall/base/log.h"
#include "certrecall/base/xalloc.h"

#define RUN_ENTRIES (1u << 20) /* 8 MiB of hashes in memory */
#define MAX_RUNS 1024

struct distinct {
	uint64_t *buf;
	size_t used, cap;
	FILE *runs[MAX_RUNS];
	size_t nruns;
};

uint64_t distinct_hash(const char *s, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a ... */

	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 0x100000001b3ULL;
	h ^= h >> 33; /* ... with a murmur3 finaliser to spread the bits */
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	return h ^ (h >> 33);
}

struct distinct *distinct_new_sized(size_t run_entries)
{
	struct distinct *d = xcalloc(1, sizeof(*d));

	d->cap = run_entries < 16 ? 16 : run_entries;
	d->buf = xmalloc(d->cap * sizeof(uint64_t));
	return d;
}

struct distinct *distinct_new(void)
{
	return distinct_new_sized(RUN_ENTRIES);
}

void distinct_free(struct distinct *d)
{
	if (d == NULL)
		return;
	for (size_t i = 0; i < d->nruns; i++)
		fclose(d->runs[i]);
	free(d->buf);
	free(d);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Sorts and de-duplicates the buffer in place. */
static void sort_unique(struct distinct *d)
{
	size_t out = 0;

	qsort(d->buf, d->used, sizeof(uint64_t), cmp_u64);
	for (size_t i = 0; i < d->used; i++)
		if (out == 0 || d->buf[out - 1] != d->buf[i])
			d->buf[out++] = d->buf[i];
	d->used = out;
}

static int spill(struct distinct *d)
{
	FILE *f;

	sort_unique(d);
	/* A mostly-duplicate buffer shrinks enough to keep going. */
	if (d->used < d->cap / 2)
		return 0;
	if (d->nruns == MAX_RUNS)
		return log_error("distinct: more than %d runs", MAX_RUNS);
	f = tmpfile();
	if (f == NULL)
		return log_error("distinct: cannot create a temporary file: %s",
				 strerror(errno));
	if (fwrite(d->buf, sizeof(uint64_t), d->used, f) != d->used ||
	    fflush(f) != 0 || fseek(f, 0, SEEK_SET) != 0) {
		fclose(f);
		return log_error("distinct: cannot write a temporary file: %s",
				 strerror(errno));
	}
	d->runs[d->nruns++] = f;
	d->used = 0;
	return 0;
}

int distinct_add(struct distinct *d, const char *s, size_t len)
{
	if (d->used == d->cap && spill(d) < 0)
		return -1;
	d->buf[d->used++] = distinct_hash(s, len);
	return 0;
}

/* The head of one run during the merge. */
struct head {
	FILE *f;	   /* NULL: the in-memory run */
	const uint64_t *p; /* in-memory run */
	size_t left;
	uint64_t v;
	int live;
};

static int head_next(struct head *h)
{
	if (h->f == NULL) {
		h->live = h->left > 0;
		if (h->live) {
			h->v = *h->p++;
			h->left--;
		}
		return 0;
	}
	if (fread(&h->v, sizeof(h->v), 1, h->f) == 1) {
		h->live = 1;
		return 0;
	}
	h->live = 0;
	return ferror(h->f) ? log_error("distinct: cannot read a run") : 0;
}

long long distinct_count(struct distinct *d)
{
	struct head *heads;
	size_t n = d->nruns + 1;
	long long count = 0;
	uint64_t last = 0;
	int any = 0;

	sort_unique(d);
	if (d->nruns == 0)
		return (long long)d->used;
	heads = xcalloc(n, sizeof(*heads));
	for (size_t i = 0; i < d->nruns; i++) {
		heads[i].f = d->runs[i];
		if (fseek(d->runs[i], 0, SEEK_SET) != 0 ||
		    head_next(&heads[i]) < 0)
			goto fail;
	}
	heads[d->nruns].p = d->buf;
	heads[d->nruns].left = d->used;
	head_next(&heads[d->nruns]);
	/* A linear scan over the heads: runs are few (one per 8 MiB). */
	for (;;) {
		struct head *min = NULL;

		for (size_t i = 0; i < n; i++)
			if (heads[i].live &&
			    (min == NULL || heads[i].v < min->v))
				min = &heads[i];
		if (min == NULL)
			break;
		if (!any || min->v != last)
			count++;
		last = min->v;
		any = 1;
		if (head_next(min) < 0)
			goto fail;
	}
	free(heads);
	return count;
fail:
	free(heads);
	return -1;
}
