/*
 * utctime.c - UTC time parsing and formatting.
 *
 * Pure: no I/O and nothing that reads the local time zone.  Broken-down
 * times are converted with timegm() and gmtime_r() only; timegm()
 * normalises out-of-range fields silently, so every field is range-checked
 * here first (BR 1.6.4: times are UTC, a bare date is 00:00:00 UTC).
 */
#include "certrecall/base/utctime.h"
#include "certrecall/base/errmsg.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* First and last second we parse and print: years 0000-9999 (RFC 3339). */
#define UTCTIME_MIN (-62167219200LL) /* 0000-01-01T00:00:00Z */
#define UTCTIME_MAX (253402300799LL) /* 9999-12-31T23:59:59Z */

/* Longest input quoted in an error message. */
#define QUOTE_MAX 64

static void fail(char *err, size_t errlen, const char *s, const char *fmt, ...)
{
	char q[QUOTE_MAX + 4], why[96];
	size_t i;
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	/* Quote at most QUOTE_MAX bytes, non-printable bytes as '?'. */
	for (i = 0; s[i] != '\0' && i < QUOTE_MAX; i++)
		q[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	if (s[i] != '\0') {
		memcpy(q + i, "...", 3);
		i += 3;
	}
	q[i] = '\0';
	va_start(ap, fmt);
	/* Truncation of a message is harmless; a failed one is empty. */
	if (vsnprintf(why, sizeof(why), fmt, ap) < 0)
		why[0] = '\0';
	va_end(ap);
	errmsg_set(err, errlen, "invalid time \"%s\": %s", q, why);
}

/* Read exactly n decimal digits at *p into *v; advance *p. */
static int digits(const char **p, int n, int *v)
{
	int i;

	*v = 0;
	for (i = 0; i < n; i++) {
		if ((*p)[i] < '0' || (*p)[i] > '9')
			return -1;
		*v = *v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	return 0;
}

static int is_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int month_days(int y, int m)
{
	static const int days[12] = { 31, 28, 31, 30, 31, 30,
				      31, 31, 30, 31, 30, 31 };

	return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

/*
 * Numeric offset "+09", "+0900" or "+09:00" at *p, in seconds east of UTC.
 * "-00:00" (RFC 3339: offset unknown) is read as UTC.
 */
static int parse_offset(const char **p, long *off, char *why, size_t whylen)
{
	int sign = **p == '-' ? -1 : 1, hh, mm = 0;

	(*p)++;
	if (digits(p, 2, &hh) < 0) {
		return errmsg_set(why, whylen, "offset needs two-digit hours");
	}
	if (**p == ':') {
		(*p)++;
		if (digits(p, 2, &mm) < 0) {
			return errmsg_set(why, whylen,
					  "offset needs two-digit minutes");
		}
	} else if (**p >= '0' && **p <= '9') {
		if (digits(p, 2, &mm) < 0) {
			return errmsg_set(why, whylen,
					  "offset needs two-digit minutes");
		}
	}
	if (hh > 23 || mm > 59) {
		return errmsg_set(why, whylen,
				  "offset %c%02d:%02d out of range",
				  sign < 0 ? '-' : '+', hh, mm);
	}
	*off = sign * (hh * 3600L + mm * 60L);
	return 0;
}

/*
 * Zone designator after the time: "Z", an optional single space then a
 * numeric offset optionally followed by " UTC" (Go's "+0000 UTC", only
 * with a zero offset), or " UTC" alone (our own short/long forms).
 */
static int parse_zone(const char **p, long *off, char *why, size_t whylen)
{
	const char *q = *p;

	if (*q == 'Z' || *q == 'z') {
		*off = 0;
		*p = q + 1;
		return 0;
	}
	if (*q == ' ')
		q++;
	if (strncmp(q, "UTC", 3) == 0) {
		*off = 0;
		*p = q + 3;
		return 0;
	}
	if (*q != '+' && *q != '-') {
		return errmsg_set(
			why, whylen,
			"missing UTC offset (add Z or +hh:mm; a date-time "
			"without a zone is ambiguous)");
	}
	if (parse_offset(&q, off, why, whylen) < 0)
		return -1;
	if (strncmp(q, " UTC", 4) == 0) {
		if (*off != 0) {
			return errmsg_set(why, whylen,
					  "offset contradicts \"UTC\"");
		}
		q += 4;
	}
	*p = q;
	return 0;
}

int utctime_parse(const char *s, time_t *out, long *nsec, char *err,
		  size_t errlen)
{
	const char *p = s;
	char why[96];
	int y, mo, d, h = 0, mi = 0, sec = 0, n;
	long frac = 0, off = 0;
	struct tm tm;
	long long t;

	why[0] = '\0';
	if (*s == '\0') {
		fail(err, errlen, s, "empty");
		return -1;
	}
	if (digits(&p, 4, &y) < 0 || *p++ != '-' || digits(&p, 2, &mo) < 0 ||
	    *p++ != '-' || digits(&p, 2, &d) < 0) {
		fail(err, errlen, s, "expected a date as YYYY-MM-DD");
		return -1;
	}
	if (mo < 1 || mo > 12) {
		fail(err, errlen, s, "month %02d does not exist", mo);
		return -1;
	}
	if (d < 1 || d > month_days(y, mo)) {
		fail(err, errlen, s, "day %02d does not exist in %04d-%02d", d,
		     y, mo);
		return -1;
	}
	if (*p == '\0')
		goto convert; /* bare date: 00:00:00 UTC (BR 1.6.4) */
	if (*p != 'T' && *p != 't' && *p != ' ') {
		fail(err, errlen, s, "junk after the date");
		return -1;
	}
	p++;
	if (digits(&p, 2, &h) < 0 || *p++ != ':' || digits(&p, 2, &mi) < 0) {
		fail(err, errlen, s, "expected a time as hh:mm[:ss]");
		return -1;
	}
	if (*p == ':') {
		p++;
		if (digits(&p, 2, &sec) < 0) {
			fail(err, errlen, s, "seconds need two digits");
			return -1;
		}
		if (*p == '.') {
			p++;
			for (n = 0; *p >= '0' && *p <= '9'; n++, p++) {
				if (n < 9)
					frac = frac * 10 + (*p - '0');
			}
			if (n == 0 || n > 9) {
				fail(err, errlen, s,
				     "fraction needs 1 to 9 digits");
				return -1;
			}
			for (; n < 9; n++)
				frac *= 10;
		}
	}
	/* 24:00 and leap second 60 are rejected: time_t cannot hold them. */
	if (h > 23 || mi > 59 || sec > 59) {
		fail(err, errlen, s, "time %02d:%02d:%02d out of range", h, mi,
		     sec);
		return -1;
	}
	if (parse_zone(&p, &off, why, sizeof(why)) < 0) {
		fail(err, errlen, s, "%s", why);
		return -1;
	}
	if (*p != '\0') {
		fail(err, errlen, s, "junk after the time");
		return -1;
	}
convert:
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = (long long)timegm(&tm) - off;
	if (t < UTCTIME_MIN || t > UTCTIME_MAX) {
		fail(err, errlen, s, "outside years 0000-9999 in UTC");
		return -1;
	}
	*out = (time_t)t;
	if (nsec != NULL)
		*nsec = frac;
	return 0;
}

/* Write t with fmt, given year, month, day, hour, minute, second. */
static int format(time_t t, char *buf, size_t len, const char *fmt)
{
	struct tm tm;
	int n;

	if (len > 0)
		buf[0] = '\0';
	if ((long long)t < UTCTIME_MIN || (long long)t > UTCTIME_MAX ||
	    gmtime_r(&t, &tm) == NULL)
		return -1;
	n = snprintf(buf, len, fmt, tm.tm_year + 1900, tm.tm_mon + 1,
		     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
	if (n < 0 || (size_t)n >= len)
		return -1;
	return 0;
}

int utctime_format_rfc3339(time_t t, char *buf, size_t len)
{
	return format(t, buf, len, "%04d-%02d-%02dT%02d:%02d:%02dZ");
}

int utctime_format_short(time_t t, char *buf, size_t len)
{
	/* Seconds are passed but not printed (C11 7.21.6.1: ignored). */
	return format(t, buf, len, "%04d-%02d-%02d %02d:%02d UTC");
}

int utctime_format_long(time_t t, char *buf, size_t len)
{
	return format(t, buf, len, "%04d-%02d-%02d %02d:%02d:%02d UTC");
}

int utctime_format_duration(long long seconds, char *buf, size_t len)
{
	unsigned long long m, d, h, mi;
	int n;

	/* Magnitude without overflow for LLONG_MIN. */
	m = seconds < 0 ? 0ULL - (unsigned long long)seconds
			: (unsigned long long)seconds;
	d = m / 86400;
	h = m % 86400 / 3600;
	mi = m % 3600 / 60;
	if (d > 0)
		n = snprintf(buf, len, "%llud %02lluh %02llum", d, h, mi);
	else if (h > 0)
		n = snprintf(buf, len, "%lluh %02llum", h, mi);
	else
		n = snprintf(buf, len, "%llum", mi);
	if (n < 0 || (size_t)n >= len)
		return -1;
	return 0;
}
