/*
 * log - messages for humans, on stderr, each line stamped in UTC.
 *
 *   2020-03-04T00:00:00Z error: examples/bad.ini:3: unknown key "prot"
 *
 * log_error() returns -1 so that a failure point reads
 * "return log_error(...)" (STYLE.md 3).  Messages are lower-case with no
 * trailing period.
 */
#ifndef CERTRECALL_LOG_H
#define CERTRECALL_LOG_H

#include <stdbool.h>

enum log_level {
	LOG_LEVEL_ERROR = 0,
	LOG_LEVEL_WARN,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG,
};

void log_set_level(enum log_level level);
enum log_level log_get_level(void);
bool log_enabled(enum log_level level);

/* Clears the current terminal line first (see progress). */
void log_set_tty_line_dirty(bool dirty);

int log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
