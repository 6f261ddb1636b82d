/*
 * clock.c - the one clock (see include/certrecall/clock.h).
 */
#include "certrecall/base/clock.h"
#include "certrecall/base/utctime.h"

static bool rehearsal;
static time_t rehearsal_at;

time_t clock_real(void)
{
	struct timespec ts;

	/* Cannot fail for CLOCK_REALTIME with a valid pointer. */
	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec;
}

double clock_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

time_t clock_now(void)
{
	return rehearsal ? rehearsal_at : clock_real();
}

int clock_set_rehearsal(const char *value, char *err, size_t errlen)
{
	time_t t;

	rehearsal = false;
	if (value == NULL || *value == '\0')
		return 0;
	if (utctime_parse(value, &t, NULL, err, errlen) < 0)
		return -1;
	rehearsal_at = t;
	rehearsal = true;
	return 0;
}

bool clock_is_rehearsal(void)
{
	return rehearsal;
}
