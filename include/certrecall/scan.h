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
 * expires.
 */
#ifndef CERTRECALL_SCAN_H
#define CERTRECALL_SCAN_H

#include <stdbool.h>

#include "certrecall/classify.h"

struct config;
struct incident;

struct scan_options {
	int procs;		  /* worker processes on this machine */
	long long stale_after_ms; /* re-probe targets older than this */
	const char *names_file;	  /* only these names, or NULL */
	const char *jsonl_path;	  /* one JSON object per probe, or NULL */
	bool progress;
};

struct scan_stats {
	long long targets; /* due when the run started */
	long long done;	   /* targets finished by this run */
	long long probes;  /* results: one per (name, address) */
	long long by_verdict[CLASSIFY_NVERDICTS];
	double seconds;
};

/* Runs the scan; 0, or -1 (logged) when a worker failed. */
int scan_run(const struct config *cfg, const struct incident *inc,
	     const struct scan_options *opt, struct scan_stats *st);

#endif
