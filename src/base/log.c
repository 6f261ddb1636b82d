/*
 * log.c - UTC-stamped messages on stderr.
 */
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "certrecall/base/clock.h"
#include "certrecall/base/log.h"
#include "certrecall/base/utctime.h"

static enum log_level current = LOG_LEVEL_INFO;
static bool line_dirty;

static const char *const level_names[] = {
	[LOG_LEVEL_ERROR] = "error",
	[LOG_LEVEL_WARN] = "warning",
	[LOG_LEVEL_INFO] = "info",
	[LOG_LEVEL_DEBUG] = "debug",
};

void log_set_level(enum log_level level)
{
	current = level;
}

enum log_level log_get_level(void)
{
	return current;
}

bool log_enabled(enum log_level level)
{
	return level <= current;
}

void log_set_tty_line_dirty(bool dirty)
{
	line_dirty = dirty;
}

static void emit(enum log_level level, const char *fmt, va_list ap)
{
	char stamp[UTCTIME_BUFSZ];

	if (!log_enabled(level))
		return;
	if (utctime_format_rfc3339(clock_real(), stamp, sizeof(stamp)) < 0)
		stamp[0] = '\0';
	if (line_dirty) {
		fputs("\r\033[K", stderr);
		line_dirty = false;
	}
	/* One fprintf per part; stderr is unbuffered, so build one line. */
	char msg[4096];
	int n = vsnprintf(msg, sizeof(msg), fmt, ap);
	if (n < 0)
		msg[0] = '\0';
	fprintf(stderr, "%s %s: %s%s\n", stamp, level_names[level], msg,
		n >= (int)sizeof(msg) ? "..." : "");
}

int log_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	emit(LOG_LEVEL_ERROR, fmt, ap);
	va_end(ap);
	return -1;
}

void log_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	emit(LOG_LEVEL_WARN, fmt, ap);
	va_end(ap);
}

void log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	emit(LOG_LEVEL_INFO, fmt, ap);
	va_end(ap);
}

void log_debug(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	emit(LOG_LEVEL_DEBUG, fmt, ap);
	va_end(ap);
}
