/*
 * clock - the one clock: every "now" certrecall acts at.
 *
 * clock_now() is the rehearsal clock when one is set (CERTRECALL_CLOCK,
 * RFC 3339, read once by the dispatcher before any thread starts), else
 * the real time.  Under the rehearsal clock certrecall acts as if the
 * clock read that moment, for replays and mass-revocation plan tests
 * (BR 5.7.1.2): deadlines, status, the report, the composition time and
 * Date of notices, certificate expiry during a scan, and the time OCSP
 * answers and CRLs are verified at (thisUpdate, nextUpdate, and the
 * validity of an OCSP signer's certificate).  The database's certrecall_now()
 * (sql/007_report.sql) follows it.  A command's --at overrides it for
 * that command: `at ? at : clock_now()`.
 *
 * clock_real() is the real time whatever the rehearsal.  It is for what
 * must line up with the world outside the rehearsal: the stamp on log
 * lines, read beside the logs of the servers certrecall talks to.
 * Leases, retries and timeouts are not "now" either: they run on the
 * monotonic clock or the database server's now().
 *
 * This is the only module that reads the wall clock
 * (tests/integration/019-clock.sh checks src/).
 */
#ifndef CERTRECALL_CLOCK_H
#define CERTRECALL_CLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "certrecall/base/xalloc.h"

/* The time certrecall acts at: the rehearsal clock, or the real time. */
time_t clock_now(void);

/* The real time, for log stamps only. */
time_t clock_real(void);

/* Seconds on the monotonic clock, for intervals only (leases, timeouts,
 * rates, durations): it has no relation to any date. */
double clock_mono(void);

/*
 * Sets the rehearsal clock from value (utctime_parse forms; NULL or ""
 * for none: the real clock).  Returns 0, or -1 with a message in err and
 * the rehearsal clock unset.
 */
CR_MUST_CHECK int clock_set_rehearsal(const char *value, char *err,
				      size_t errlen);

/* True while a rehearsal clock is set. */
bool clock_is_rehearsal(void);

#endif
