/*
 * status_store - the raw counts `certrecall status` shows under the
 * dashboard (the dashboard's own figures come from report_store).
 */
#ifndef CERTRECALL_STATUS_STORE_H
#define CERTRECALL_STATUS_STORE_H

#include <stddef.h>
#include "certrecall/base/xalloc.h"

struct db;

/* Which counts, each grouped by one label. */
enum status_store_group {
	/* notices by "kind state", in that order */
	STATUS_STORE_NOTICES,
	/* probeable names by "outcome[ failure]" of their latest round,
	 * "not yet tried" when none; most first */
	STATUS_STORE_NAMES_SCREEN,
	/* latest probes by verdict, most first */
	STATUS_STORE_PROBES_SCREEN,
	/* probeable names by outcome ("not_tried") and failure apart */
	STATUS_STORE_NAMES,
	/* latest probes by verdict, most first, ties by verdict */
	STATUS_STORE_PROBES,
};

struct status_store_count {
	char *label;
	char *failure; /* STATUS_STORE_NAMES only; NULL when none */
	long long count;
};

/* The incident's counts of group g into *out (free with
 * status_store_counts_free) and *n; -1 on error (logged). */
CR_MUST_CHECK int status_store_counts(struct db *db, long long incident_id,
				      enum status_store_group g,
				      struct status_store_count **out,
				      size_t *n);
void status_store_counts_free(struct status_store_count *v, size_t n);

#endif
