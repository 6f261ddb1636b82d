/*
 * zone.c - local times by ICU's ucal/udat with the zone as a parameter
 * (zone.h).  Never TZ, never the C library's local time functions.
 */
#include <string.h>
#include <stdio.h>
#include <unicode/ucal.h>
#include <unicode/udat.h>
#include <unicode/ustring.h>

#include "certrecall/base/utctime.h"
#include "certrecall/core/zone.h"

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

/* A calendar in zone tz (NULL: unknown zone). */
static UCalendar *cal_open(const char *tz)
{
	UChar id[ZONE_NAME_MAX];
	UErrorCode st = U_ZERO_ERROR;
	UCalendar *cal;
	int32_t n;

	if (!zone_known(tz))
		return NULL;
	n = to_u16(tz, id, ZONE_NAME_MAX);
	if (n < 0)
		return NULL;
	cal = ucal_open(id, n, "en_US_POSIX", UCAL_GREGORIAN, &st);
	if (U_FAILURE(st)) {
		if (cal != NULL)
			ucal_close(cal);
		return NULL;
	}
	return cal;
}

/*
 * t in cal's zone as "yyyy-MM-dd HH:mm", from the calendar's fields (a
 * date formatter costs about a millisecond to open; a calendar does
 * not).
 */
static int cal_format(UCalendar *cal, time_t t, char *buf, size_t len)
{
	UErrorCode st = U_ZERO_ERROR;
	int32_t y, mo, d, h, mi;
	int n;

	ucal_setMillis(cal, (UDate)t * 1000.0, &st);
	y = ucal_get(cal, UCAL_YEAR, &st);
	mo = ucal_get(cal, UCAL_MONTH, &st) + 1;
	d = ucal_get(cal, UCAL_DATE, &st);
	h = ucal_get(cal, UCAL_HOUR_OF_DAY, &st);
	mi = ucal_get(cal, UCAL_MINUTE, &st);
	if (U_FAILURE(st) || ucal_get(cal, UCAL_ERA, &st) != 1 || y > 9999)
		return -1;
	n = snprintf(buf, len, "%04d-%02d-%02d %02d:%02d", (int)y, (int)mo,
		     (int)d, (int)h, (int)mi);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

int zone_format(time_t t, const char *tz, char *buf, size_t len)
{
	UCalendar *cal = cal_open(tz);
	int rc;

	if (cal == NULL)
		return -1;
	rc = cal_format(cal, t, buf, len);
	ucal_close(cal);
	return rc;
}

/* src into dst (size bytes) whole: 0, or -1 (dst untouched) if too long. */
static int copy_whole(char *dst, size_t size, const char *src)
{
	size_t n = strlen(src);

	if (n >= size)
		return -1;
	memcpy(dst, src, n + 1);
	return 0;
}

int zone_label(const char *tz, const char *lang, char *buf, size_t len)
{
	/* The last answer per thread: a run names few zones. */
	static _Thread_local char last_tz[ZONE_NAME_MAX], last_lang[16],
		last_label[128];
	UChar id[ZONE_NAME_MAX], pat[8], out[128];
	UErrorCode st = U_ZERO_ERROR;
	const char *loc = lang != NULL && *lang ? lang : "en";
	int32_t idn, patn, n;
	UDateFormat *f;
	int rc;

	if (last_label[0] != '\0' && strcmp(tz, last_tz) == 0 &&
	    strcmp(loc, last_lang) == 0)
		return copy_whole(buf, len, last_label);
	if (!zone_known(tz) || strlen(loc) >= sizeof(last_lang))
		return -1;
	idn = to_u16(tz, id, ZONE_NAME_MAX);
	patn = to_u16("VVVV", pat, 8);
	if (idn < 0 || patn < 0)
		return -1;
	/* ICU's generic location form: "日本時間", "Japan Time". */
	f = udat_open(UDAT_PATTERN, UDAT_PATTERN, loc, id, idn, pat, patn, &st);
	if (U_FAILURE(st))
		return -1;
	n = udat_format(f, 0, out, 128, NULL, &st);
	udat_close(f);
	if (U_FAILURE(st) || n >= 128)
		return -1;
	st = U_ZERO_ERROR;
	u_strToUTF8(last_label, (int32_t)sizeof(last_label), &n, out, n, &st);
	if (U_FAILURE(st) || (size_t)n >= sizeof(last_label)) {
		last_label[0] = '\0';
		return -1;
	}
	rc = copy_whole(buf, len, last_label);
	/* Remembered only under a key kept whole. */
	if (copy_whole(last_tz, sizeof(last_tz), tz) < 0 ||
	    copy_whole(last_lang, sizeof(last_lang), loc) < 0)
		last_label[0] = '\0';
	return rc;
}

/* "2020-03-05 03:08 UTC" without ICU: every notice states it. */
static int utc_minutes(time_t t, char *buf, size_t len)
{
	char iso[UTCTIME_BUFSZ];
	int n;

	/* "2020-03-05T03:08:00Z" */
	if (utctime_format_rfc3339(t, iso, sizeof(iso)) < 0 ||
	    strlen(iso) != 20)
		return -1;
	iso[10] = ' ';
	iso[16] = '\0';
	n = snprintf(buf, len, "%s UTC", iso);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

int zone_context(json_t *ctx, time_t must_by, time_t should_by, time_t now,
		 const char *tz, const char *lang)
{
	char utc[64], d[64], s[64], c[64], label[128];
	UCalendar *cal;
	int rc;

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
	cal = cal_open(tz);
	if (cal == NULL)
		return -1;
	rc = cal_format(cal, must_by, d, sizeof(d)) < 0 ||
			     cal_format(cal, should_by, s, sizeof(s)) < 0 ||
			     cal_format(cal, now, c, sizeof(c)) < 0 ||
			     zone_label(tz, lang, label, sizeof(label)) < 0
		     ? -1
		     : 0;
	ucal_close(cal);
	if (rc < 0)
		return -1;
	json_object_set_new(ctx, "local",
			    json_pack("{s:s,s:s,s:s,s:s,s:s}", "deadline", d,
				      "should_by", s, "composed_at", c, "zone",
				      label, "tz", tz));
	return 0;
}
