/*
 * importer_read.c - the importer's input files into COPY rows: the line
 * formats of record.h, PEM bundles and DER certificates, and the accounts
 * file; a bad line is rejected (fatal unless --max-errors allows it).
 */
#include <errno.h>
#include <jansson.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "certrecall/base/hex.h"
#include "certrecall/base/errmsg.h"
#include "certrecall/base/log.h"
#include "certrecall/base/progress.h"
#include "certrecall/base/xalloc.h"
#include "certrecall/core/certinfo.h"
#include "certrecall/core/distinct.h"
#include "certrecall/core/import_check.h"
#include "certrecall/core/linereader.h"
#include "certrecall/core/pemblock.h"
#include "certrecall/core/record.h"
#include "certrecall/store/db.h"
#include "certrecall/store/importer_int.h"

#define MAX_DER (1024 * 1024) /* one DER certificate */
#define MAX_LOGGED_REJECTS 20
#define MAX_EMAILS 100
#define PEM_LOOKAHEAD 1000 /* lines of text allowed before a PEM block */

/*
 * A bad line: fatal unless --max-errors still allows it, in which case it
 * goes to the rejects file with its reason.  Returns 0 to go on, -1 to
 * stop.
 */
static int reject(struct import *im, const char *path,
		  unsigned long long lineno, const char *line, size_t len,
		  const char *why)
{
	im->st->rejects++;
	if (im->st->rejects > im->opt->max_errors) {
		log_error("%s:%llu: %s", path, lineno, why);
		if (im->opt->max_errors > 0)
			log_error("more than %lld bad lines (--max-errors): "
				  "nothing was imported",
				  im->opt->max_errors);
		else
			log_error("nothing was imported (--max-errors N "
				  "tolerates bad lines)");
		return -1;
	}
	if (im->st->rejects <= MAX_LOGGED_REJECTS)
		log_warn("%s:%llu: %s (rejected)", path, lineno, why);
	if (im->rejects != NULL &&
	    (fprintf(im->rejects, "# %s:%llu: %s\n", path, lineno, why) < 0 ||
	     fwrite(line, 1, len, im->rejects) != len ||
	     fputc('\n', im->rejects) == EOF))
		return log_error("%s: cannot write: %s", im->opt->rejects_path,
				 strerror(errno));
	return 0;
}

/*
 * The issuer a row is stored under (identity is issuer and serial): the
 * one the record names (the certificate's own for PEM/DER), linked to the
 * incident's issuer of that name; else the incident's issuer when it has
 * exactly one; else unknown (both NULL).
 */
static void resolve_issuer(const struct import *im, const struct record *r,
			   const char **name, const char **id)
{
	*name = r->issuer;
	*id = NULL;
	if (r->issuer == NULL) {
		if (im->nissuers == 1) {
			*name = im->issuers[0].subject;
			*id = im->issuers[0].id;
		}
		return;
	}
	for (size_t i = 0; i < im->nissuers; i++)
		if (strcmp(im->issuers[i].subject, r->issuer) == 0) {
			*id = im->issuers[i].id;
			return;
		}
}

/*
 * One row into the staging table (IMPORTER_STAGE_COLUMNS).  Returns 0, or
 * -1 once the server has refused the COPY.
 */
static int stage_row(struct import *im, unsigned long long lineno,
		     const struct record *r, bool precert, bool is_ca)
{
	struct db_copy *c = im->copy;
	const char *issuer, *issuer_id;

	resolve_issuer(im, r, &issuer, &issuer_id);
	db_copy_int(c, im->src);
	db_copy_llong(c, (long long)lineno);
	db_copy_bytea(c, r->serial.b, r->serial.len);
	db_copy_text(c, r->account);
	db_copy_time(c, r->issued_at);
	db_copy_time(c, r->not_after);
	db_copy_time(c, r->caa_checked_at);
	db_copy_array(c, r->names, r->nnames);
	if (r->nemails > 0) {
		db_copy_array(c, r->emails, r->nemails);
		im->has_emails = true;
	} else {
		db_copy_text(c, NULL); /* most lists: no e-mail column */
	}
	db_copy_text(c, issuer);
	if (issuer_id != NULL)
		db_copy_llong(c, strtoll(issuer_id, NULL, 10));
	else
		db_copy_text(c, NULL);
	db_copy_text(c, r->subject);
	if (r->has_sha256)
		db_copy_bytea(c, r->sha256, 32);
	else
		db_copy_text(c, NULL);
	db_copy_bool(c, precert);
	db_copy_jsonb(c, r->extra_json);
	db_copy_bool(c, is_ca);
	im->st->records++;
	im->st->names += (long long)r->nnames;
	for (size_t i = 0; i < r->nnames; i++)
		if (distinct_add(im->names, r->names[i], strlen(r->names[i])) <
		    0)
			return -1;
	if (r->account != NULL &&
	    distinct_add(im->accounts, r->account, strlen(r->account)) < 0)
		return -1;
	return db_copy_row_end(c);
}

static void show_progress(struct import *im, struct linereader *r)
{
	if (im->progress != NULL && (r->lineno & 4095) == 0) {
		progress_set_items(im->progress,
				   (uint64_t)im->st->lines + r->lineno,
				   "lines");
		progress_update(im->progress,
				im->bytes_done + linereader_offset(r));
	}
}

/* The line formats: le2020, le2022, csv, serials. */
static int import_lines(struct import *im, struct linereader *rd, int format,
			char *first, size_t first_len)
{
	char err[512];
	struct record_parser *p =
		record_parser_new(format, im->opt->serial_base);
	char *orig = NULL; /* the line as read, for the rejects file */
	size_t orig_cap = 0;
	char *pending = NULL; /* csv: a quoted field spanning lines */
	size_t pending_len = 0, pending_cap = 0;
	unsigned long long pending_line = 0;
	struct record rec;
	char *line = first;
	size_t len = first_len;
	int rc = -1;
	int r;

	if (format == RECORD_CSV) {
		if (record_csv_header(p, line, len, err, sizeof(err)) < 0) {
			log_error("%s:%llu: %s", rd->path, rd->lineno, err);
			goto out;
		}
		line = NULL;
	}
	for (;;) {
		unsigned long long lineno;

		if (line == NULL) {
			r = linereader_next(rd, &line, &len);
			if (r < 0)
				goto out;
			if (r == 0)
				break;
		}
		lineno = rd->lineno;
		if (pending != NULL) {
			/* Join "\n" + this line to the open record. */
			xgrow(&pending, &pending_cap, pending_len + len + 2, 1);
			pending[pending_len++] = '\n';
			memcpy(pending + pending_len, line, len);
			pending_len += len;
			pending[pending_len] = '\0';
			line = pending;
			len = pending_len;
			lineno = pending_line;
		}
		/* record_parse may modify the line: keep the original for
		 * the rejects file when there is one. */
		if (im->rejects != NULL) {
			xgrow(&orig, &orig_cap, len + 1, 1);
			memcpy(orig, line, len);
		}
		r = record_parse(p, line, len, &rec, err, sizeof(err));
		if (r == RECORD_NEED_MORE) {
			if (pending == NULL) {
				xgrow(&pending, &pending_cap, len + 1, 1);
				memcpy(pending, line, len);
				pending[len] = '\0';
				pending_len = len;
				pending_line = lineno;
			}
			if (pending_len > LINEREADER_MAX_LINE) {
				log_error("%s:%llu: quoted field never ends",
					  rd->path, pending_line);
				goto out;
			}
			line = NULL;
			show_progress(im, rd);
			continue;
		}
		if (r == RECORD_OK && import_check_record(&rec) != NULL) {
			errmsg_set(err, sizeof(err), "%s",
				   import_check_record(&rec));
			r = RECORD_ERROR;
		}
		if (r == RECORD_ERROR) {
			if (reject(im, rd->path, lineno, orig ? orig : line,
				   len, err) < 0)
				goto out;
		} else if (r == RECORD_OK) {
			if (stage_row(im, lineno, &rec, false, false) < 0)
				goto out;
		}
		if (pending != NULL) {
			free(pending);
			pending = NULL;
			pending_len = pending_cap = 0;
		}
		line = NULL;
		show_progress(im, rd);
	}
	if (pending != NULL) {
		log_error("%s:%llu: quoted field is not closed before the end "
			  "of the file",
			  rd->path, pending_line);
		goto out;
	}
	rc = 0;
out:
	free(orig);
	free(pending);
	record_parser_free(p);
	return rc;
}

/* A certificate read with OpenSSL, as a record for the staging table.
 * lineno is where its PEM block starts (its number in a DER file). */
static int stage_x509(struct import *im, const char *path,
		      unsigned long long lineno, X509 *x, const char *text,
		      size_t textlen)
{
	struct certinfo ci;
	struct record rec;
	char err[256];
	char hex[SERIAL_TEXT_MAX];
	char aki[129] = "";
	json_t *extra;
	json_t *urls[2];
	char *extra_text;
	int rc, sign;

	if (certinfo_from_x509(x, &ci, err, sizeof(err)) < 0)
		return reject(im, path, lineno, text, textlen, err);
	memset(&rec, 0, sizeof(rec));
	rec.serial = ci.serial;
	rec.names = (const char **)ci.names;
	rec.nnames = ci.nnames;
	rec.issued_at = ci.not_before;
	rec.not_after = ci.not_after;
	rec.caa_checked_at = RECORD_UNSET;
	rec.issuer = ci.issuer;
	rec.subject = ci.subject;
	memcpy(rec.sha256, ci.sha256, 32);
	rec.has_sha256 = true;
	/* RFC 5280 4.1.2.5: both ends are inside the validity, so
	 * notBefore == notAfter is a (one-second) validity; the reverse is
	 * none at all. */
	if (ci.not_after < ci.not_before) {
		certinfo_release(&ci);
		return reject(im, path, lineno, text, textlen,
			      "notAfter is earlier than notBefore");
	}
	sign = serial_sign(&ci.serial);
	if (sign <= 0) {
		im->st->odd_serials++;
		serial_format_openssl(&ci.serial, hex, sizeof(hex));
		log_warn("%s:%llu: serial %s is %s (RFC 5280 4.1.2.2 "
			 "wants a positive serial); loaded",
			 path, lineno, hex, sign == 0 ? "zero" : "negative");
	}
	if (ci.nskipped > 0) {
		im->st->skipped_names += (long long)ci.nskipped;
		log_warn("%s:%llu: %zu subjectAltName entr%s not a "
			 "usable name (%s); loaded without %s",
			 path, lineno, ci.nskipped,
			 ci.nskipped == 1 ? "y is" : "ies are", ci.skipped,
			 ci.nskipped == 1 ? "it" : "them");
	}
	if (ci.nnames == 0)
		im->st->no_name++;
	if (ci.is_ca)
		im->st->ca_certs++;
	/* aki holds twice certinfo's 64 bytes and a NUL. */
	hex_encode(ci.aki,
		   ci.aki_len < sizeof(ci.aki) ? ci.aki_len : sizeof(ci.aki),
		   aki);
	urls[0] = json_array();
	urls[1] = json_array();
	for (size_t i = 0; i < ci.nocsp; i++)
		json_array_append_new(urls[0], json_string(ci.ocsp_urls[i]));
	for (size_t i = 0; i < ci.ncrl; i++)
		json_array_append_new(urls[1], json_string(ci.crl_urls[i]));
	extra = json_pack("{s:s,s:o,s:o}", "aki", aki, "ocsp", urls[0], "crl",
			  urls[1]);
	extra_text = json_dumps(extra, JSON_COMPACT);
	rec.extra_json = extra_text;
	rc = stage_row(im, lineno, &rec, ci.precert, ci.is_ca);
	free(extra_text);
	json_decref(extra);
	certinfo_release(&ci);
	return rc;
}

/*
 * PEM: every block OpenSSL reads as a certificate (CERTIFICATE, X509
 * CERTIFICATE, TRUSTED CERTIFICATE) is loaded; other blocks (keys, CRLs,
 * parameters, requests) are skipped and counted; text outside blocks is
 * ignored.  A bad certificate is named by the line its block starts on.
 */
static int import_pem(struct import *im, struct linereader *rd, char *line,
		      size_t len)
{
	struct pemblock pb;
	char err[256];
	int rc = -1;
	int r = 1;

	pemblock_init(&pb);
	for (; r == 1; r = linereader_next(rd, &line, &len)) {
		BIO *bio;
		X509 *x;
		int s = pemblock_feed(&pb, line, len, rd->lineno, err,
				      sizeof(err));

		if (s == PEMBLOCK_ERROR) {
			log_error("%s:%llu: %s", rd->path, rd->lineno, err);
			goto out;
		}
		show_progress(im, rd);
		if (s != PEMBLOCK_DONE)
			continue;
		if (!pemblock_is_certificate(pb.label)) {
			im->st->other_pem_blocks++;
			continue;
		}
		bio = BIO_new_mem_buf(pb.text, (int)pb.len);
		/* _AUX: a TRUSTED CERTIFICATE carries trust settings after
		 * the certificate; they are read and ignored. */
		x = bio ? PEM_read_bio_X509_AUX(bio, NULL, NULL, NULL) : NULL;
		BIO_free(bio);
		ERR_clear_error();
		if (x == NULL)
			r = reject(im, rd->path, pb.begin, pb.text, pb.len,
				   "PEM block does not decode to an X.509 "
				   "certificate");
		else
			r = stage_x509(im, rd->path, pb.begin, x, pb.text,
				       pb.len);
		X509_free(x);
		if (r < 0)
			goto out;
		r = 1;
	}
	if (r < 0)
		goto out;
	if (pemblock_finish(&pb, err, sizeof(err)) < 0) {
		log_error("%s:%llu: %s", rd->path, pb.begin, err);
		goto out;
	}
	rc = 0;
out:
	pemblock_release(&pb);
	return rc;
}

/*
 * DER: one or more certificates back to back (line = certificate #).
 * The reader may already hold the first bytes (format detection).
 */
static int import_der(struct import *im, struct linereader *rd)
{
	const unsigned char *p, *buf, *end;
	unsigned long long n = 0;
	int rc = -1;

	while (!rd->eof) {
		if (rd->end - rd->start > 64 * (size_t)MAX_DER) {
			log_error("%s: more than %d bytes of DER", rd->path,
				  64 * MAX_DER);
			return -1;
		}
		if (rd->end == rd->cap) {
			rd->cap *= 2;
			rd->buf = xrealloc(rd->buf, rd->cap);
		}
		if (linereader_fill(rd) < 0)
			return -1;
	}
	buf = (const unsigned char *)rd->buf + rd->start;
	end = (const unsigned char *)rd->buf + rd->end;
	for (p = buf; p < end;) {
		const unsigned char *start = p;
		X509 *x = d2i_X509(NULL, &p, (long)(end - p));

		n++;
		ERR_clear_error();
		if (x == NULL) {
			log_error("%s:%llu: certificate #%llu (byte %zu) is "
				  "not DER X.509",
				  rd->path, n, n, (size_t)(start - buf));
			goto out;
		}
		rc = stage_x509(im, rd->path, n, x, "", 0);
		X509_free(x);
		if (rc < 0)
			goto out;
		rc = -1;
	}
	rc = 0;
out:
	rd->lineno = n;
	rd->start = rd->end;
	return rc;
}

/*
 * DER by content: a SEQUENCE (0x30) with a long-form length (0x81..0x84),
 * as every certificate has; no text list starts with "0" and a byte over
 * 0x80.
 */
static bool looks_like_der(struct linereader *rd)
{
	while (rd->end - rd->start < 2 && !rd->eof)
		if (linereader_fill(rd) < 0)
			return false;
	return rd->end - rd->start >= 2 &&
	       (unsigned char)rd->buf[rd->start] == 0x30 &&
	       (unsigned char)rd->buf[rd->start + 1] >= 0x81 &&
	       (unsigned char)rd->buf[rd->start + 1] <= 0x84;
}

int importer_read_file(struct import *im, const char *path)
{
	struct linereader rd;
	char err[256];
	char *line = NULL;
	size_t len = 0;
	int format = im->opt->format;
	int rc = -1;
	int r;

	long long before = im->st->records;

	if (linereader_open(&rd, path) < 0)
		return -1;
	im->path = path;
	if (format == IMPORTER_AUTO && looks_like_der(&rd)) {
		format = IMPORTER_DER;
		log_info("%s: format der", path);
	}
	if (format == IMPORTER_DER) {
		rc = import_der(im, &rd);
		goto out;
	}
	/* The first line that says anything decides the format. */
	while ((r = linereader_next(&rd, &line, &len)) == 1) {
		size_t i = 0;

		if (rd.lineno == 1 && len >= 3 &&
		    memcmp(line, "\xef\xbb\xbf", 3) == 0)
			i = 3; /* a UTF-8 BOM is not content */
		while (i < len &&
		       (line[i] == ' ' || line[i] == '\t' || line[i] == '\r'))
			i++;
		if (i < len && line[i] != '#') {
			if (i >= 3 && memcmp(line, "\xef\xbb\xbf", 3) == 0) {
				line += 3;
				len -= 3;
			}
			break;
		}
	}
	if (r < 0)
		goto out;
	if (r == 0) {
		rc = 0; /* no certificates: importer_run decides */
		goto out;
	}
	if (format == IMPORTER_AUTO) {
		unsigned long long first = rd.lineno;

		if (strncmp(line, "-----BEGIN", 10) == 0)
			format = IMPORTER_PEM;
		else
			format = record_detect(line, len, err, sizeof(err));
		/* A PEM bundle may start with text (openssl x509 -text):
		 * look a little further for a BEGIN line. */
		while (format < 0 && rd.lineno < first + PEM_LOOKAHEAD &&
		       (r = linereader_next(&rd, &line, &len)) == 1)
			if (strncmp(line, "-----BEGIN", 10) == 0)
				format = IMPORTER_PEM;
		if (format < 0) {
			log_error("%s:%llu: %s (give --format)", path, first,
				  err);
			goto out;
		}
		log_info("%s: format %s", path,
			 format == IMPORTER_PEM ? "pem"
						: record_format_name(format));
	}
	if (format == IMPORTER_PEM)
		rc = import_pem(im, &rd, line, len);
	else
		rc = import_lines(im, &rd, format, line, len);
out:
	im->file_records[im->src] = im->st->records - before;
	im->st->lines += (long long)rd.lineno;
	if (rd.size > 0)
		im->bytes_done += (unsigned long long)rd.size;
	linereader_close(&rd);
	return rc;
}

int importer_read_accounts(struct import *im, const char *path)
{
	struct import_check_locale lc = { -1, -1 };
	char *fields[MAX_EMAILS + 1];
	struct linereader rd;
	char err[256];
	char *line;
	size_t len;
	bool first = true; /* the first line with content */
	int rc = -1;
	int r;

	if (linereader_open(&rd, path) < 0)
		return -1;
	im->copy = db_copy_begin(im->db, "COPY import_contact (line, account,"
					 " emails, lang, tz) FROM STDIN");
	if (im->copy == NULL) {
		linereader_close(&rd);
		return -1;
	}
	while ((r = linereader_next(&rd, &line, &len)) == 1) {
		const char *emails[MAX_EMAILS];
		char *copyline = NULL;
		int n, ne = 0;

		if (rd.lineno == 1 && len >= 3 &&
		    memcmp(line, "\xef\xbb\xbf", 3) == 0)
			line += 3;
		if (*import_check_trim(line) == '\0' ||
		    *import_check_trim(line) == '#')
			continue;
		if (im->rejects != NULL)
			copyline = xstrdup(line);
		n = import_check_split_csv(line, fields, MAX_EMAILS + 1);
		err[0] = '\0';
		if (n < 0)
			errmsg_set(err, sizeof(err), "unterminated quote");
		else if (n > MAX_EMAILS)
			errmsg_set(err, sizeof(err), "more than %d addresses",
				   MAX_EMAILS - 1);
		else if (*import_check_trim(fields[0]) == '\0')
			errmsg_set(err, sizeof(err), "empty account");
		/* A header row names its columns. */
		if (err[0] == '\0' && first && n >= 2 &&
		    import_check_is_header(import_check_trim(fields[0]),
					   import_check_trim(fields[1]))) {
			import_check_locale_find(&lc, fields, n);
			log_info("%s:%llu: header line skipped", path,
				 rd.lineno);
			free(copyline);
			first = false;
			continue;
		}
		first = false;
		for (int i = 1; err[0] == '\0' && i < n; i++) {
			char *e = import_check_trim(fields[i]);

			if (*e == '\0' || i == lc.lang || i == lc.tz)
				continue;
			if (import_check_email(e, err, sizeof(err)) == 0)
				emails[ne++] = e;
		}
		if (err[0] != '\0') {
			r = reject(im, path, rd.lineno,
				   copyline ? copyline : "",
				   copyline ? strlen(copyline) : 0, err);
			free(copyline);
			if (r < 0)
				goto out;
			continue;
		}
		free(copyline);
		db_copy_llong(im->copy, (long long)rd.lineno);
		db_copy_text(im->copy, import_check_trim(fields[0]));
		db_copy_array(im->copy, emails, (size_t)ne);
		db_copy_text(
			im->copy,
			lc.lang >= 0 && lc.lang < n
				? import_check_lang(
					  path, rd.lineno,
					  import_check_trim(fields[lc.lang]))
				: NULL);
		db_copy_text(im->copy,
			     lc.tz >= 0 && lc.tz < n
				     ? import_check_tz(
					       path, rd.lineno,
					       import_check_trim(fields[lc.tz]))
				     : NULL);
		if (db_copy_row_end(im->copy) < 0)
			goto out;
	}
	if (r < 0)
		goto out;
	rc = 0;
out:
	linereader_close(&rd);
	if (db_copy_end(im->copy, rc == 0 ? NULL : "aborted", NULL) < 0)
		rc = -1;
	im->copy = NULL;
	return rc;
}
