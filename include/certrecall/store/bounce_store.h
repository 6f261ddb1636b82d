/*
 * bounce_store - records what delivery status notifications say about
 * notices (`certrecall bounces`).
 */
#ifndef CERTRECALL_BOUNCE_STORE_H
#define CERTRECALL_BOUNCE_STORE_H

#include <stdbool.h>
#include "certrecall/base/xalloc.h"

struct db;

struct bounce_store_result {
	bool ours;	       /* the notice is one of the incident's */
	long long changed;     /* notices whose delivery changed (0 or 1) */
	long long unreachable; /* addresses newly unreachable */
	long long dropped;     /* queued reminders taken out of the queue */
};

/*
 * Records one report about one notice in one statement: the notice's
 * delivery (action: "delayed", "relayed", "delivered" or "bounced";
 * never downgraded: bounced > delivered > relayed > delayed), and for a 5.x.x bounce
 * the address as unreachable, with its queued reminders taken out of the
 * queue.  A notice of another incident changes nothing (out->ours is
 * false).  status and diagnostic may be "" (stored as NULL).  0, or -1
 * on error (logged).
 */
CR_MUST_CHECK int bounce_store_record(struct db *db, long long incident_id,
				      long long notice_id, const char *action,
				      const char *status,
				      const char *diagnostic,
				      struct bounce_store_result *out);

#endif
