/*
 * importer - turns an incident's affected list into certificate and
 * subscriber rows, all or nothing.
 *
 * Streaming: each file is read line by line (gzip detected by its magic
 * bytes and inflated on the fly), every line is validated in C, and good
 * rows are sent with COPY into a temporary staging table without keys;
 * one set-based INSERT ... SELECT then moves the new ones into the real
 * table in key order (an anti-join leaves out the rows already there;
 * imports of one incident take turns), all inside one transaction.  An
 * error, a signal or a crash before the final COMMIT leaves the database
 * exactly as it was.
 */
#ifndef CERTRECALL_IMPORTER_H
#define CERTRECALL_IMPORTER_H

#include <stdbool.h>
#include <stddef.h>
#include "certrecall/base/xalloc.h"

struct db;

/* Formats beyond the line formats of record.h (RECORD_LE2020 ...). */
enum importer_format {
	IMPORTER_AUTO = -1,
	IMPORTER_PEM = 100,
	IMPORTER_DER = 101,
};

struct importer_options {
	int format;		   /* IMPORTER_AUTO, RECORD_*, PEM or DER */
	int serial_base;	   /* 16, or 10 for decimal serials */
	long long max_errors;	   /* bad lines tolerated; 0 = none */
	const char *rejects_path;  /* tolerated bad lines go here, or NULL */
	const char *accounts_path; /* account,email[,email...] or NULL */
	bool replacements;	   /* the files list replacement certificates */
	bool progress;		   /* show a progress bar / periodic lines */
	bool allow_empty;	   /* loading no certificate is not an error */
};

struct importer_stats {
	long long lines;      /* lines read, all files */
	long long records;    /* certificate records parsed */
	long long duplicates; /* same serial, same data, again in the input */
	long long new_certs;  /* rows added */
	long long present;    /* already in the database, unchanged */
	long long accounts;   /* distinct accounts in the input */
	long long accounts_without_email;
	long long contacts; /* accounts whose e-mail list was loaded */
	long long names;    /* names over all records */
	long long distinct_names;
	long long rejects;  /* bad lines tolerated under max_errors */
	long long replaced; /* affected certificates now marked replaced */
	long long ca_certs; /* PEM/DER: basicConstraints cA certificates */
	long long no_name;  /* PEM/DER: certificates without a probeable name */
	long long skipped_names;    /* PEM/DER: SAN entries not usable */
	long long odd_serials;	    /* PEM/DER: serial zero or negative */
	long long other_pem_blocks; /* keys, CRLs ... skipped */
	double seconds;
};

/* Option value of --format: "le2020" ... "pem", "der"; -1 if unknown. */
CR_MUST_CHECK int importer_format_from_name(const char *name);

/*
 * Imports files (paths; "-" is standard input) into incident_id.
 * Returns 0, or -1 when nothing was written (every problem reported as
 * FILE:LINE: reason).  *st is filled either way as far as known.
 */
CR_MUST_CHECK int importer_run(struct db *db, long long incident_id,
			       const struct importer_options *opt,
			       char *const *files, size_t nfiles,
			       struct importer_stats *st);

#endif
