/*
 * scan - `certrecall scan`: which affected certificates are still served.
 *
 * Targets are the distinct (name, port) pairs of the incident's unrevoked,
 * unexpired certificates: one probe per name serves every certificate
 * naming it.  Worker processes (--procs, and other machines running the
 * same command) claim batches of targets with FOR UPDATE SKIP LOCKED and
 * a lease, probe them with the scanner engine, classify what each address
 * serves, and write the observations back in batches (COPY), one
 * transaction per batch.  A killed worker's targets return when the lease
 * expires; a worker that stops on an error or a signal (SIGINT, SIGTERM)
 * gives its claimed targets back before it exits, and a run that finds
 * only targets leased by other workers says so once and waits for them.
 *
 * Coverage is answers, not attempts: each target's round ends answered,
 * failed or filtered (sql/011_scan_outcome.sql says which verdicts are
 * which).  Answered and filtered targets are probed again when older
 * than stale_after; failed ones after scanner.retry_after, or at once
 * with retry_failed.
 */
#ifndef CERTRECALL_SCAN_H
#define CERTRECALL_SCAN_H

#include <stdbool.h>
#include <time.h>

#include "certrecall/core/classify.h"
#include "certrecall/base/xalloc.h"

struct config;
struct incident;

struct scan_options {
	int procs;		  /* worker processes on this machine */
	long long stale_after_ms; /* re-probe answered targets older */
	bool retry_failed;	  /* failed targets now, not after
				     scanner.retry_after */
	const char *names_file;	  /* only these names, or NULL */
	const char *jsonl_path;	  /* one JSON object per probe, or NULL */
	bool progress;
};

struct scan_stats {
	long long targets; /* due when the run started */
	long long done;	   /* targets finished by this run */
	long long probes;  /* results: one per (name, address) */
	long long by_verdict[CLASSIFY_NVERDICTS];
	/* Targets finished by this run, by outcome; failed ones by their
	 * commonest failed verdict. */
	long long answered, failed, filtered;
	long long failed_by[CLASSIFY_NVERDICTS];
	long long given_back;	 /* claimed targets returned on a stop */
	bool interrupted;	 /* stopped by SIGINT or SIGTERM */
	long long retry_waiting; /* failed targets not due yet ... */
	time_t retry_from;	 /* ... the first of them due then */
	double seconds;
};

/* Runs the scan; 0, or -1 (logged) when a worker failed. */
CR_MUST_CHECK int scan_run(const struct config *cfg, const struct incident *inc,
			   const struct scan_options *opt,
			   struct scan_stats *st);

#endif
