/*
 * zone - a subscriber's local time, by ICU (libicu): the zone is a
 * parameter of every call, so nothing reads or sets the process's TZ
 * and threads may format for different zones at once.  Times are
 * formatted "yyyy-MM-dd HH:mm" (minutes: what a deadline is stated in).
 */
#ifndef CERTRECALL_ZONE_H
#define CERTRECALL_ZONE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "certrecall/base/xalloc.h"

#define ZONE_NAME_MAX 64

/* Whether tz is an IANA zone ICU knows ("Asia/Tokyo", "UTC"); an
 * unknown name is never taken for UTC or GMT. */
bool zone_known(const char *tz);

/* t in zone tz as "2020-03-05 12:08".  0, or -1 (unknown zone). */
CR_MUST_CHECK int zone_format(time_t t, const char *tz, char *buf, size_t len);

/*
 * The zone's name as a reader of lang knows it (ICU's generic location
 * form): "日本時間" for Asia/Tokyo in ja, "Japan Time" in en.  0 or -1.
 */
CR_MUST_CHECK int zone_label(const char *tz, const char *lang, char *buf,
			     size_t len);

/*
 * Adds to a notice's template context: deadline_utc ("2020-03-05 03:08
 * UTC", always), should_by_utc, and local: false when tz is NULL or unknown, else an
 * object {deadline, should_by, composed_at, zone, tz} in that zone.
 * Returns 0, or -1 when a time cannot be formatted.
 */
CR_MUST_CHECK int zone_context(json_t *ctx, time_t must_by, time_t should_by,
			       time_t now, const char *tz, const char *lang);

#endif
