/*
 * distinct - counts distinct strings in bounded memory.
 *
 * Each string is reduced to a 64-bit hash (a collision among 10^7 names
 * has odds of about 1 in 10^5, which the count tolerates; nothing else
 * depends on it).  Hashes collect in a fixed 8 MiB buffer; a full buffer
 * is sorted, de-duplicated and written to a temporary file as one run; the
 * count merges the runs.  So an import of 3 million certificates with 7
 * million names counts them exactly enough in flat memory.
 */
#ifndef CERTRECALL_DISTINCT_H
#define CERTRECALL_DISTINCT_H

#include <stddef.h>
#include <stdint.h>

#include "certrecall/base/xalloc.h"

struct distinct;

CR_MUST_CHECK struct distinct *distinct_new(void);
/* The same with runs of run_entries hashes (for tests). */
CR_MUST_CHECK struct distinct *distinct_new_sized(size_t run_entries);
void distinct_free(struct distinct *d);

/* Adds s (len bytes).  Returns 0, or -1 if a run could not be written
 * (logged). */
CR_MUST_CHECK int distinct_add(struct distinct *d, const char *s, size_t len);

/* The number of distinct strings added; -1 on an I/O error (logged). */
CR_MUST_CHECK long long distinct_count(struct distinct *d);

/* The hash used, exposed for tests. */
uint64_t distinct_hash(const char *s, size_t len);

#endif
