/*
 * progress - how far a long job has got.
 *
 * On a terminal: one live line on stderr with a bar, done/total, rate and
 * ETA, redrawn at most ten times a second.  Otherwise (a pipe, a log file,
 * CI): one log line every few seconds, so long runs still show life
 * without flooding the log.
 */
#ifndef CERTRECALL_PROGRESS_H
#define CERTRECALL_PROGRESS_H

#include <stddef.h>
#include <stdint.h>

#include "certrecall/base/xalloc.h"

struct progress;

/* total == 0 means unknown.  The label is copied. */
struct progress *progress_new(const char *label, uint64_t total);
/* The same, counting bytes: shown as MB and MB/s. */
struct progress *progress_new_bytes(const char *label, uint64_t total);
void progress_set_total(struct progress *p, uint64_t total);
void progress_update(struct progress *p, uint64_t done);
void progress_add(struct progress *p, uint64_t n);
/* A second count shown after the label, e.g. lines while counting bytes. */
void progress_set_items(struct progress *p, uint64_t n, const char *unit);
/* Free text shown after the label (copied), e.g. "sent 10 failed 1". */
void progress_set_note(struct progress *p, const char *note);
/* Prints the final line and frees p; NULL is a no-op. */
void progress_finish(struct progress *p);
/* Frees p without a final line (the job failed); NULL is a no-op. */
void progress_cancel(struct progress *p);

/*
 * Pure formatter used by both modes, exposed for tests:
 *   "import  1234567/3048289  40% [########............] 812345/s ETA 2m 13s"
 * bar_width 0 leaves the bar out.  Returns 0, or -1 if buf is too small.
 */
CR_MUST_CHECK int progress_format(char *buf, size_t len, const char *label,
				  uint64_t done, uint64_t total,
				  double elapsed_s, int bar_width);

/* The same for bytes: "import 812.3/1024.0 MB  79% [...] 95.1 MB/s ETA 2s" */
CR_MUST_CHECK int progress_format_bytes(char *buf, size_t len,
					const char *label, uint64_t done,
					uint64_t total, double elapsed_s,
					int bar_width);

#endif
