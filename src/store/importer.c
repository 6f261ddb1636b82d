/*
 * importer.c - affected lists into PostgreSQL: read, validate, COPY into a
 * staging table, then one set-based move, all in one transaction.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "certrecall/base/log.h"
#include "certrecall/base/progress.h"
#include "certrecall/base/xalloc.h"
#include "certrecall/core/distinct.h"
#include "certrecall/core/record.h"
#include "certrecall/store/db.h"
#include "certrecall/store/importer.h"
#include "certrecall/store/importer_int.h"

int importer_format_from_name(const char *name)
{
	if (strcmp(name, "pem") == 0)
		return IMPORTER_PEM;
	if (strcmp(name, "der") == 0)
		return IMPORTER_DER;
	return record_format_from_name(name);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Resets what a pass counts, for a second pass over the same input. */
static int restart(struct import *im)
{
	struct importer_stats keep = *im->st;

	memset(im->st, 0, sizeof(*im->st));
	im->st->contacts = keep.contacts;
	distinct_free(im->names);
	distinct_free(im->accounts);
	im->names = distinct_new();
	im->accounts = distinct_new();
	im->bytes_done = 0;
	im->quiet_rejects = true;
	im->need_stage = false;
	if (im->rejects != NULL &&
	    (fflush(im->rejects) != 0 || ftruncate(fileno(im->rejects), 0) ||
	     fseek(im->rejects, 0, SEEK_SET) != 0))
		return log_error("%s: cannot rewrite: %s",
				 im->opt->rejects_path, strerror(errno));
	return 0;
}

/*
 * A list that loads nothing is almost always the wrong file or a failed
 * export: the import fails (exit 65) unless --allow-empty says it may be
 * empty.  A file without certificates among others is a warning.
 */
static int no_certificates(struct import *im, char *const *files, size_t nfiles)
{
	bool none = im->st->records == 0 && !im->opt->allow_empty;

	for (size_t i = 0; i < nfiles; i++) {
		if (im->file_records[i] != 0)
			continue;
		if (none)
			log_error("%s: no certificates", files[i]);
		else
			log_warn("%s: no certificates in the file", files[i]);
	}
	if (none && nfiles > 0) {
		log_error("nothing was imported (--allow-empty accepts an "
			  "empty list)");
		return -1;
	}
	return 0;
}

/*
 * One pass over every file into the open COPY.  Returns 0; 1 when the
 * direct pass must give way to the staging table (a serial already in
 * the table or twice in the input, or e-mail columns); -1 on an error
 * that ends the import (logged).
 */
static int run_pass(struct import *im, char *const *files, size_t nfiles,
		    const char *copy_sql)
{
	char sqlstate[6];
	int rc = 0;

	im->copy = db_copy_begin(im->db, copy_sql);
	if (im->copy == NULL)
		return -1;
	for (size_t i = 0; i < nfiles && rc == 0; i++) {
		im->src = (int)i;
		if (importer_read_file(im, files[i]) < 0)
			rc = -1;
	}
	if (rc < 0 && !im->need_stage) {
		/* A bad line ends the import, unless the server refused
		 * first: then the refusal decides. */
		if (db_copy_end(im->copy, "import aborted", sqlstate) < 0 &&
		    strcmp(sqlstate, "23505") == 0 && im->direct)
			rc = 1;
	} else if (im->need_stage) {
		db_copy_abort(im->copy, "import needs the staging table");
		rc = 1;
	} else if (db_copy_end(im->copy, NULL, sqlstate) < 0) {
		rc = im->direct && strcmp(sqlstate, "23505") == 0 ? 1 : -1;
	}
	im->copy = NULL;
	return rc;
}

/* Whether every file is a regular file (read twice if need be); *total
 * gets the bytes of those that are, for progress. */
static bool regular_files(char *const *files, size_t nfiles,
			  unsigned long long *total)
{
	bool regular = true;

	for (size_t i = 0; i < nfiles; i++) {
		struct stat sb;

		if (strcmp(files[i], "-") == 0 || stat(files[i], &sb) < 0 ||
		    !S_ISREG(sb.st_mode))
			regular = false;
		else
			*total += (unsigned long long)sb.st_size;
	}
	return regular;
}

/* A row of unknown issuer is already present when its serial is there
 * under a known issuer; the unique key cannot see that, the staging
 * table's move does: such an incident goes through the staging table. */
static int find_known_issuers(struct import *im)
{
	long long r =
		importer_query_count(im->db,
				     "SELECT count(*) FROM (SELECT 1 FROM"
				     " certificate WHERE incident_id = $1"
				     " AND issuer_name IS NOT NULL LIMIT 1) x",
				     1, (const char *[]){ im->incident });

	if (r < 0)
		return -1;
	im->known_issuers = r > 0;
	if (im->known_issuers)
		im->direct = false;
	return 0;
}

/*
 * The direct pass, straight into certificate under a savepoint.  When the
 * server refuses it (or the list carries e-mail addresses), back to the
 * savepoint: the caller goes on through the staging table (im->direct is
 * then false).  Returns 0, or -1 on an error that ends the import.
 */
static int direct_pass(struct import *im, char *const *files, size_t nfiles)
{
	int r;

	if (db_exec(im->db, "SAVEPOINT direct") < 0)
		return -1;
	r = run_pass(im, files, nfiles,
		     "COPY certificate (" IMPORTER_DIRECT_COLUMNS
		     ") FROM STDIN");
	if (r < 0)
		return -1;
	if (r == 0) {
		im->st->new_certs = im->st->records;
		return 0;
	}
	log_info("%s: merging through a staging table",
		 im->need_stage ? "the list carries e-mail addresses"
				: "some certificates are already "
				  "known or repeated");
	if (db_exec(im->db, "ROLLBACK TO SAVEPOINT direct") < 0 ||
	    restart(im) < 0)
		return -1;
	im->direct = false;
	return 0;
}

int importer_run(struct db *db, long long incident_id,
		 const struct importer_options *opt, char *const *files,
		 size_t nfiles, struct importer_stats *st)
{
	struct import im = { .db = db, .opt = opt, .st = st };
	char incident[32];
	double t0 = now_s();
	unsigned long long total = 0;
	int rc = -1;

	memset(st, 0, sizeof(*st));
	if (snprintf(incident, sizeof(incident), "%lld", incident_id) < 0)
		goto out;
	im.incident = incident;
	im.names = distinct_new();
	im.accounts = distinct_new();
	im.file_records = xcalloc(nfiles + 1, sizeof(long long));
	if (opt->rejects_path != NULL) {
		im.rejects = fopen(opt->rejects_path, "w");
		if (im.rejects == NULL) {
			log_error("%s: cannot create: %s", opt->rejects_path,
				  strerror(errno));
			goto out;
		}
	}
	/*
	 * Straight into the table when that can work: files that can be
	 * read twice, and no replacements.  A serial that is already there
	 * (or twice in the input) makes the server refuse the COPY; then
	 * the import starts again through the staging table, which sorts
	 * that out.  A re-import learns this at its first row.
	 */
	im.direct = regular_files(files, nfiles, &total) && !opt->replacements;
	if (db_begin(db) < 0)
		goto out;
	if (importer_create_stage(db) < 0 ||
	    db_exec(db, "SET LOCAL work_mem = '256MB'") < 0 ||
	    importer_load_issuers(&im) < 0)
		goto rollback;
	if (!opt->replacements && find_known_issuers(&im) < 0)
		goto rollback;
	if (opt->accounts_path != NULL &&
	    importer_read_accounts(&im, opt->accounts_path) < 0)
		goto rollback;
	if (opt->progress && nfiles > 0)
		im.progress = progress_new_bytes("import", total);
	if (im.direct && direct_pass(&im, files, nfiles) < 0)
		goto rollback;
	if (!im.direct) {
		if (run_pass(&im, files, nfiles,
			     "COPY import_stage (" IMPORTER_STAGE_COLUMNS
			     ") FROM STDIN") != 0 ||
		    importer_merge(&im, files, nfiles, incident) < 0)
			goto rollback;
	}
	if (im.progress != NULL) {
		progress_set_items(im.progress, (uint64_t)st->lines, "lines");
		progress_update(im.progress, total);
		progress_finish(im.progress);
		im.progress = NULL;
	}
	if (no_certificates(&im, files, nfiles) < 0)
		goto rollback;
	st->distinct_names = distinct_count(im.names);
	st->accounts = distinct_count(im.accounts);
	if (st->distinct_names < 0 || st->accounts < 0 ||
	    importer_update_subscribers(&im, incident) < 0 ||
	    importer_mark_replaced(&im, incident) < 0 ||
	    importer_record_event(&im, incident_id, files, nfiles) < 0)
		goto rollback;
	if (im.rejects != NULL && fflush(im.rejects) != 0) {
		log_error("%s: cannot write: %s", opt->rejects_path,
			  strerror(errno));
		goto rollback;
	}
	if (db_commit(db) < 0)
		goto out;
	rc = 0;
	goto out;
rollback:
	db_rollback(db);
out:
	progress_cancel(im.progress); /* shown already unless it failed */
	if (im.rejects != NULL)
		fclose(im.rejects);
	distinct_free(im.names);
	distinct_free(im.accounts);
	free(im.file_records);
	for (size_t i = 0; i < im.nissuers; i++)
		free(im.issuers[i].subject);
	free(im.issuers);
	st->seconds = now_s() - t0;
	return rc;
}
