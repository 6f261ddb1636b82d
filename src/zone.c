/*
 * zone.c - local times by ICU's ucal/udat with the zone as a parameter
 * (zone.h).  Never TZ, never the C library's local time functions.
 */
#include <string.h>
#include <stdio.h>
#include <unicode/ucal.h>
#include <unicode/udat.h>
#include <unicode/ustring.h>

#include "certrecall/utctime.h"
#include "certrecall/zone.h"

/* UTF-8 -> UTF-16 into a fixed buffer; length, or -1. */
static int32_t to_u16(const char *s, UChar *buf, int32_t cap)
{
	UErrorCode st = U_ZERO_ERROR;
	int32_t n = 0;

	u_strFromUTF8(buf, cap, &n, s, -1, &st);
	return U_FAILURE(st) || n >= cap ? -1 : n;
}

bool zone_known(const char *tz)
{
	UChar id[ZONE_NAME_MAX], canon[ZONE_NAME_MAX];
	UErrorCode st = U_ZERO_ERROR;
	UBool system = 0;
	int32_t n;

	if (tz == NULL || *tz == '\0' || strlen(tz) >= ZONE_NAME_MAX)
		return false;
	n = to_u16(tz, id, ZONE_NAME_MAX);
	if (n < 0)
		return false;
	/* An unknown ID canonicalises to "Etc/Unknown" or fails; a custom
	 * "GMT+9" is not a system zone: both are refused. */
	ucal_getCanonicalTimeZoneID(id, n, canon, ZONE_NAME_MAX, &system, &st);
	return U_SUCCESS(st) && system;
}

/* Formats t with an ICU pattern in zone tz for locale loc. */
static int format(time_t t, const char *tz, const char *loc,
		  const char *pattern, char *buf, size_t len)
{
	UChar id[ZONE_NAME_MAX], pat[32], out[128];
	UErrorCode st = U_ZERO_ERROR;
	int32_t idn, patn, n;
	UDateFormat *f;

	if (!zone_known(tz))
		return -1;
	idn = to_u16(tz, id, ZONE_NAME_MAX);
	patn = to_u16(pattern, pat, 32);
	if (idn < 0 || patn < 0)
		return -1;
	f = udat_open(UDAT_PATTERN, UDAT_PATTERN, loc, id, idn, pat, patn, &st);
	if (U_FAILURE(st))
		return -1;
	n = udat_format(f, (UDate)t * 1000.0, out, 128, NULL, &st);
	udat_close(f);
	if (U_FAILURE(st) || n >= 128)
		return -1;
	st = U_ZERO_ERROR;
	u_strToUTF8(buf, (int32_t)len, &n, out, n, &st);
	return U_FAILURE(st) || (size_t)n >= len ? -1 : 0;
}

int zone_format(time_t t, const char *tz, char *buf, size_t len)
{
	/* "en_US_POSIX": ASCII digits whatever the reader's language. */
	return format(t, tz, "en_US_POSIX", "yyyy-MM-dd HH:mm", buf, len);
}

int zone_label(const char *tz, const char *lang, char *buf, size_t len)
{
	return format(0, tz, lang != NULL && *lang ? lang : "en", "VVVV", buf,
		      len);
}

/* "2020-03-05 03:08 UTC" without ICU: every notice states it. */
static int utc_minutes(time_t t, char *buf, size_t len)
{
	char iso[UTCTIME_BUFSZ];

	/* "2020-03-05T03:08:00Z" */
	if (utctime_format_rfc3339(t, iso, sizeof(iso)) < 0 ||
	    strlen(iso) != 20)
		return -1;
	iso[10] = ' ';
	iso[16] = '\0';
	return snprintf(buf, len, "%s UTC", iso) >= (int)len ? -1 : 0;
}

int zone_context(json_t *ctx, time_t must_by, time_t should_by, time_t now,
		 const char *tz, const char *lang)
{
	char utc[64], d[64], s[64], c[64], label[128];

	if (utc_minutes(must_by, utc, sizeof(utc)) < 0)
		return -1;
	json_object_set_new(ctx, "deadline_utc", json_string(utc));
	if (utc_minutes(should_by, utc, sizeof(utc)) < 0)
		return -1;
	json_object_set_new(ctx, "should_by_utc", json_string(utc));
	if (!zone_known(tz)) {
		json_object_set_new(ctx, "local", json_false());
		return 0;
	}
	if (zone_format(must_by, tz, d, sizeof(d)) < 0 ||
	    zone_format(should_by, tz, s, sizeof(s)) < 0 ||
	    zone_format(now, tz, c, sizeof(c)) < 0 ||
	    zone_label(tz, lang, label, sizeof(label)) < 0)
		return -1;
	json_object_set_new(ctx, "local",
			    json_pack("{s:s,s:s,s:s,s:s,s:s}", "deadline", d,
				      "should_by", s, "composed_at", c, "zone",
				      label, "tz", tz));
	return 0;
}
