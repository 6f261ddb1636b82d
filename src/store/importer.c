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

#include "certrecall/base/clock.h"
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
 * Every file into the staging table, in one COPY.  Returns 0, or -1 on an
 * error that ends the import (logged).
 */
static int load_files(struct import *im, char *const *files, size_t nfiles)
{
	int rc = 0;

	/* Binary: the server parses no timestamps, arrays nor hex (at 3 M
	 * lines most of the text COPY's time). */
	im->copy = db_copy_begin_binary(
		im->db, "COPY import_stage (" IMPORTER_STAGE_COLUMNS
			") FROM STDIN (FORMAT binary)");
	if (im->copy == NULL)
		return -1;
	for (size_t i = 0; i < nfiles && rc == 0; i++) {
		im->src = (int)i;
		if (importer_read_file(im, files[i]) < 0)
			rc = -1;
	}
	/* A bad line ends the COPY with the reason already logged. */
	if (db_copy_end(im->copy, rc < 0 ? "import aborted" : NULL, NULL) < 0)
		rc = -1;
	im->copy = NULL;
	return rc;
}

/* The bytes of the files that are regular files, for progress. */
static unsigned long long input_bytes(char *const *files, size_t nfiles)
{
	unsigned long long total = 0;

	for (size_t i = 0; i < nfiles; i++) {
		struct stat sb;

		if (strcmp(files[i], "-") != 0 && stat(files[i], &sb) == 0 &&
		    S_ISREG(sb.st_mode))
			total += (unsigned long long)sb.st_size;
	}
	return total;
}

int importer_run(struct db *db, long long incident_id,
		 const struct importer_options *opt, char *const *files,
		 size_t nfiles, struct importer_stats *st)
{
	struct import im = { .db = db, .opt = opt, .st = st };
	char incident[32];
	double t0 = clock_mono();
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
	 * One pass: every row is checked here and sent with COPY into a
	 * staging table without keys; one set-based statement then moves the
	 * new rows into the table in key order (importer_merge.c).
	 */
	total = input_bytes(files, nfiles);
	if (db_begin(db) < 0)
		goto out;
	if (importer_create_stage(db) < 0 ||
	    db_exec(db, "SET LOCAL work_mem = '256MB'") < 0 ||
	    importer_load_issuers(&im) < 0)
		goto rollback;
	if (opt->accounts_path != NULL &&
	    importer_read_accounts(&im, opt->accounts_path) < 0)
		goto rollback;
	if (opt->progress && nfiles > 0)
		im.progress = progress_new_bytes("import", total);
	if (load_files(&im, files, nfiles) < 0 ||
	    importer_merge(&im, files, nfiles, incident) < 0)
		goto rollback;
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
	    importer_drop_grouping(&im, incident) < 0 ||
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
	importer_group_accounts(&im, incident);
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
	st->seconds = clock_mono() - t0;
	return rc;
}
