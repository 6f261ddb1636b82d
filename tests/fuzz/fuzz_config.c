/*
 * fuzz_config.c - libFuzzer target for the configuration file parser
 * (config_load_file: libinih's reader, the key table, every value's
 * validation).
 *
 * The input is the file.  It is written to a memfd that the loader opens
 * by its /proc/self/fd path, so nothing touches the disk.  The log is
 * this target's own (below): messages are formatted, so their arguments
 * are read, but not printed, and counted.  Loading must fail exactly
 * when something was logged; a loaded config must print and turn into
 * JSON.  A violation aborts.
 */
#include <jansson.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "certrecall/base/log.h"
#include "certrecall/core/config.h"

static unsigned long logged;

static void format(const char *fmt, va_list ap)
{
	char buf[512];

	if (vsnprintf(buf, sizeof(buf), fmt, ap) < 0)
		abort();
	logged++;
}

int log_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	format(fmt, ap);
	va_end(ap);
	return -1;
}

void log_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	format(fmt, ap);
	va_end(ap);
}

void log_info(const char *fmt, ...)
{
	(void)fmt;
}

void log_debug(const char *fmt, ...)
{
	(void)fmt;
}

static int fd = -1;
static char path[64];
static FILE *devnull;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config *cfg;
	json_t *j;
	char *text;
	int rc;

	if (fd < 0) {
		fd = memfd_create("fuzz_config.ini", 0);
		devnull = fopen("/dev/null", "w");
		if (fd < 0 || devnull == NULL ||
		    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd) >=
			    (int)sizeof(path))
			abort();
	}
	if (ftruncate(fd, 0) < 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
		abort();
	logged = 0;
	cfg = config_new();
	rc = config_load_file(cfg, path);
	if ((rc < 0) != (logged > 0))
		abort();
	if (rc == 0) {
		config_print(cfg, devnull);
		j = config_json(cfg);
		text = j != NULL ? json_dumps(j, 0) : NULL;
		if (text == NULL)
			abort();
		free(text);
		json_decref(j);
	}
	config_free(cfg);
	return 0;
}
