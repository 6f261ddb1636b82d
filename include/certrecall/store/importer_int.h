/*
 * importer_int.h - what the importer's files share (internal to the
 * importer module: importer.c drives, importer_read.c turns input files
 * into COPY rows, importer_merge.c moves staged rows with set-based SQL).
 */
#ifndef CERTRECALL_IMPORTER_INT_H
#define CERTRECALL_IMPORTER_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "certrecall/store/importer.h"
#include "certrecall/base/xalloc.h"

struct db;
struct db_copy;
struct distinct;
struct progress;

/* The columns of the staging table's COPY (importer_read.c's stage_row
 * writes them in this order). */
#define IMPORTER_STAGE_COLUMNS                                                 \
	"src, line, serial, account, issued_at, not_after, caa_checked_at,"    \
	" names, emails, issuer, issuer_id, subject, sha256, is_precert, "     \
	"extra, is_ca"

/* An issuer of the incident (issuer table), for naming certificates. */
struct import_issuer {
	char id[32];
	char *subject;
};

struct import {
	struct db *db;
	const struct importer_options *opt;
	struct importer_stats *st;
	struct db_copy *copy;
	const char *incident; /* id as text */
	FILE *rejects;
	struct progress *progress;
	struct distinct *names; /* distinct names of the input */
	struct distinct *accounts;
	bool has_emails;	       /* a row carried e-mail addresses */
	bool had_rows;		       /* the incident had rows before */
	unsigned long long bytes_done; /* of finished files */
	int src;		       /* index of the current file */
	long long *file_records;       /* records read from each file */
	const char *path;	       /* the current file */
	struct import_issuer *issuers; /* the incident's, by id */
	size_t nissuers;
};

/* The incident's issuers, which rows are named after.  Returns 0 or -1. */
CR_MUST_CHECK int importer_load_issuers(struct import *im);

/* Creates the temporary staging tables (dropped at commit). */
CR_MUST_CHECK int importer_create_stage(struct db *db);

/* One input file into the open COPY (im->copy), its format told from its
 * content unless --format gave one.  Returns 0 or -1 (logged). */
CR_MUST_CHECK int importer_read_file(struct import *im, const char *path);

/* The accounts file (account,email[,email...]) into import_contact.
 * Returns 0 or -1 (logged). */
CR_MUST_CHECK int importer_read_accounts(struct import *im, const char *path);

/* Staged rows into certificate (or replacement), only the new ones;
 * conflicts with different data are errors.  Returns 0 or -1. */
CR_MUST_CHECK int importer_merge(struct import *im, char *const *files,
				 size_t nfiles, const char *incident);

/* The incident's grouping of certificates per account (sql/037):
 * dropped, in the import's transaction, when a later import adds
 * certificates.  Returns 0 or -1. */
CR_MUST_CHECK int importer_drop_grouping(struct import *im,
					 const char *incident);

/* The grouping made after the incident's first import has committed;
 * a failure is logged as a warning (the import stands). */
void importer_group_accounts(struct import *im, const char *incident);

/* Subscribers for every account of the input, contacts merged in. */
CR_MUST_CHECK int importer_update_subscribers(struct import *im,
					      const char *incident);

/* Marks the incident's certificates a replacement has replaced. */
CR_MUST_CHECK int importer_mark_replaced(struct import *im,
					 const char *incident);

/* The import's counts as an event of the incident. */
CR_MUST_CHECK int importer_record_event(struct import *im,
					long long incident_id,
					char *const *files, size_t nfiles);

#endif
