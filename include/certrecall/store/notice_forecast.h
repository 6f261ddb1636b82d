/*
 * notice_forecast - what `notify --plan` counts: the notices of each kind
 * that exist and those planning would add, by planning's own rules
 * (notice.h), in one read-only snapshot.  Nothing is written.
 */
#ifndef CERTRECALL_NOTICE_FORECAST_H
#define CERTRECALL_NOTICE_FORECAST_H

#include <time.h>

#include "certrecall/base/xalloc.h"
#include "certrecall/core/notice.h"
#include "certrecall/store/db.h"

struct notice_forecast_row {
	long long due; /* pending, retry or claimed */
	long long addresses, sent, failed, retry, no_address;
	time_t earliest, latest; /* deadline stated; DEADLINE_UNSET if none */
};

/*
 * The notices that exist plus those planning would create (with must_by
 * as their deadline), for each kind (notice_kind_name order), in one
 * snapshot; nothing is kept.  0 or -1.
 */
CR_MUST_CHECK int
notice_forecast_count(struct db *db, long long incident_id, time_t must_by,
		      struct notice_forecast_row rows[NOTICE_NKINDS]);

#endif
