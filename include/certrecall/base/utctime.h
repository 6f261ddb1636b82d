/*
 * utctime - UTC time parsing and formatting (pure: no I/O, no TZ).
 *
 * Every time in certrecall is a UTC time_t.  Parsing accepts RFC 3339 /
 * ISO 8601 with any offset and converts to UTC with timegm(); formatting
 * never consults the local time zone.
 */
#ifndef CERTRECALL_UTCTIME_H
#define CERTRECALL_UTCTIME_H

#include <stddef.h>
#include <time.h>

#include "certrecall/base/xalloc.h"

/* Big enough for every string this module writes. */
#define UTCTIME_BUFSZ 48

/*
 * Parse a time.  Accepted forms:
 *   2020-03-05T03:08:00Z, 2020-03-05t03:08:00z, 2020-03-05 03:08:00Z,
 *   offsets +09:00, -0500, +09, fractional seconds (.826011675),
 *   minutes only (2020-03-05T03:08Z),
 *   the 2020 list's form "2019-12-03 21:08:34.826011675 +0000 UTC",
 *   a bare date "2020-03-05" meaning 00:00:00 UTC (BR 1.6.4).
 * A time without any offset is an error (no guessing a zone).  Also
 * rejected: impossible dates (2020-02-30; day-of-month is checked by month
 * and leap year), hour 24 and leap second 60 (time_t cannot hold them),
 * offsets beyond +/-23:59, more than 9 fraction digits, surrounding blanks
 * and any trailing junk, and results outside years 0000-9999 UTC.  " UTC"
 * may follow a zero numeric offset, or stand alone (our own short/long
 * forms parse back).  "-00:00" means UTC.
 * On success stores the UTC second in *out and the fraction in *nsec
 * (nsec may be NULL) and returns 0.  On error returns -1 and writes a
 * lower-case message quoting the input into err (errlen bytes, may be 0).
 */
CR_MUST_CHECK int utctime_parse(const char *s, time_t *out, long *nsec,
				char *err, size_t errlen);

/*
 * "2020-03-05T03:08:00Z".  Returns 0, or -1 if buf is too small or t is
 * outside years 0000-9999 (so every string written parses back).  The
 * same holds for the two forms below.
 */
CR_MUST_CHECK int utctime_format_rfc3339(time_t t, char *buf, size_t len);

/* "2020-03-05 03:08 UTC" (minute granularity, for tables). */
CR_MUST_CHECK int utctime_format_short(time_t t, char *buf, size_t len);

/* "2020-03-05 03:08:00 UTC" (to the second, for e-mail). */
CR_MUST_CHECK int utctime_format_long(time_t t, char *buf, size_t len);

/*
 * A signed duration in seconds as "4d 23h 12m": leading zero units are
 * omitted, every unit after the leading one is zero-padded to two digits
 * ("1d 03h 08m", "2h 05m", "7m", "0m"); seconds are truncated.  A negative
 * value is written as its magnitude; callers add "overdue by" / "left".
 */
CR_MUST_CHECK int utctime_format_duration(long long seconds, char *buf,
					  size_t len);

#endif
