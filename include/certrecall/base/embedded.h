/*
 * embedded - files compiled into the binary by scripts/embed.sh: the SQL
 * migrations (sql/) and the built-in notice templates (templates/).
 */
#ifndef CERTRECALL_EMBEDDED_H
#define CERTRECALL_EMBEDDED_H

#include <stddef.h>

struct embedded_file {
	const char *name; /* base name without extension: "001_schema" */
	const char *data; /* NUL-terminated */
	size_t len;
};

extern const struct embedded_file embedded_migrations[];
extern const size_t embedded_migrations_count;
extern const struct embedded_file embedded_templates[];
extern const size_t embedded_templates_count;

#endif
