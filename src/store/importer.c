/*
 * importer.c - affected lists into PostgreSQL: read, validate, COPY into a
 * staging table, then one set-based move, all in one transaction.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "certrecall/core/certinfo.h"
#include "certrecall/store/db.h"
#include "certrecall/store/dbq.h"
#include "certrecall/core/distinct.h"
#include "certrecall/core/dnsname.h"
#include "certrecall/store/importer.h"
#include "certrecall/base/log.h"
#include "certrecall/core/pemblock.h"
#include "certrecall/base/progress.h"
#include "certrecall/core/record.h"
#include "certrecall/base/utctime.h"
#include "certrecall/base/xalloc.h"
#include "certrecall/core/zone.h"

#define READ_CHUNK (256 * 1024)
#define MAX_LINE (4 * 1024 * 1024) /* one line, after inflating */
#define MAX_DER (1024 * 1024)	   /* one DER certificate */
#define MAX_LOGGED_REJECTS 20
#define MAX_EMAILS 100
#define PEM_LOOKAHEAD 1000 /* lines of text allowed before a PEM block */

/* ---- reading lines from a plain or gzip file ---------------------- */

/*
 * gzip is detected by its magic bytes, not by the name, and inflated here
 * rather than through gzread(): gzread() takes a stream that stops early
 * for a clean end of file and skips whatever follows the last member, so
 * a cut download would import as a shorter list.  Here every member must
 * end with its trailer (CRC and length checked by zlib), and only another
 * gzip member may follow one.
 */
struct reader {
	const char *path;
	int fd;
	bool gzip;
	bool zinit;
	bool raw_eof;	 /* read() has returned 0 */
	bool member_end; /* the last gzip member ended with its trailer */
	z_stream zs;
	unsigned char *in; /* compressed bytes read, not yet inflated */
	size_t in_len;	   /* plain files: bytes of in not yet handed out */
	size_t in_pos;
	unsigned long long raw; /* bytes read from the file */
	char *buf;
	size_t cap, start, end;
	bool eof;
	unsigned long long lineno;
	off_t size; /* compressed size on disk, 0 if unknown */
};

static int raw_read(struct reader *r, unsigned char *dst, size_t n, size_t *got)
{
	ssize_t k;

	do
		k = read(r->fd, dst, n);
	while (k < 0 && errno == EINTR);
	if (k < 0)
		return log_error("%s: cannot read: %s", r->path,
				 strerror(errno));
	if (k == 0)
		r->raw_eof = true;
	r->raw += (unsigned long long)k;
	*got = (size_t)k;
	return 0;
}

static int reader_open(struct reader *r, const char *path)
{
	struct stat st;
	size_t got = 0;

	memset(r, 0, sizeof(*r));
	r->path = path;
	r->fd = strcmp(path, "-") == 0 ? dup(STDIN_FILENO)
				       : open(path, O_RDONLY | O_CLOEXEC);
	if (r->fd < 0)
		return log_error("%s: cannot open: %s", path, strerror(errno));
	if (fstat(r->fd, &st) == 0 && S_ISREG(st.st_mode))
		r->size = st.st_size;
	r->in = xmalloc(READ_CHUNK);
	r->cap = READ_CHUNK;
	r->buf = xmalloc(r->cap);
	/* Two bytes decide: a pipe may deliver them one at a time. */
	while (r->in_len < 2 && !r->raw_eof) {
		if (raw_read(r, r->in + r->in_len, READ_CHUNK - r->in_len,
			     &got) < 0)
			goto fail;
		r->in_len += got;
	}
	if (r->in_len >= 2 && r->in[0] == 0x1f && r->in[1] == 0x8b) {
		r->gzip = true;
		/* 16 + MAX_WBITS: gzip wrapper only, trailer checked. */
		if (inflateInit2(&r->zs, 16 + MAX_WBITS) != Z_OK) {
			log_error("%s: cannot start inflating", path);
			goto fail;
		}
		r->zinit = true;
		r->zs.next_in = r->in;
		r->zs.avail_in = (uInt)r->in_len;
	}
	return 0;
fail:
	close(r->fd);
	free(r->in);
	free(r->buf);
	memset(r, 0, sizeof(*r));
	r->fd = -1;
	return -1;
}

static void reader_close(struct reader *r)
{
	if (r->zinit)
		inflateEnd(&r->zs);
	if (r->fd >= 0)
		close(r->fd);
	free(r->in);
	free(r->buf);
	r->zinit = false;
	r->fd = -1;
	r->in = NULL;
	r->buf = NULL;
}

/* Compressed bytes consumed so far, for progress. */
static unsigned long long reader_offset(struct reader *r)
{
	if (r->gzip)
		return r->raw - r->zs.avail_in;
	return r->raw - (r->in_len - r->in_pos);
}

static int truncated(struct reader *r)
{
	return log_error("%s: compressed data ends early (incomplete "
			 "download?)",
			 r->path);
}

/* Inflates up to n bytes into dst; *got 0 only at the clean end. */
static int inflate_some(struct reader *r, unsigned char *dst, size_t n,
			size_t *got)
{
	*got = 0;
	for (;;) {
		size_t k;
		int z;

		if (r->zs.avail_in < 2 && !r->raw_eof &&
		    (r->member_end || r->zs.avail_in == 0)) {
			/* Keep a lone byte: it may start the next member. */
			memmove(r->in, r->zs.next_in, r->zs.avail_in);
			if (raw_read(r, r->in + r->zs.avail_in,
				     READ_CHUNK - r->zs.avail_in, &k) < 0)
				return -1;
			r->zs.next_in = r->in;
			r->zs.avail_in += (uInt)k;
			continue;
		}
		if (r->member_end) {
			if (r->zs.avail_in == 0)
				return 0; /* clean end after a trailer */
			if (r->zs.avail_in < 2 || r->zs.next_in[0] != 0x1f ||
			    r->zs.next_in[1] != 0x8b)
				return log_error("%s: data after the end of "
						 "the compressed stream "
						 "(corrupt or not one gzip "
						 "file)",
						 r->path);
			/* Another member, as "cat a.gz b.gz" makes. */
			if (inflateReset(&r->zs) != Z_OK)
				return log_error("%s: cannot inflate", r->path);
			r->member_end = false;
		}
		if (r->zs.avail_in == 0 && r->raw_eof)
			return truncated(r);
		r->zs.next_out = dst;
		r->zs.avail_out = (uInt)n;
		z = inflate(&r->zs, Z_NO_FLUSH);
		*got = n - r->zs.avail_out;
		if (z == Z_STREAM_END)
			r->member_end = true;
		else if (z != Z_OK && z != Z_BUF_ERROR)
			return log_error("%s: compressed data is corrupt "
					 "(zlib: %s)",
					 r->path,
					 r->zs.msg ? r->zs.msg : zError(z));
		if (*got > 0)
			return 0;
	}
}

/* Up to n bytes of content into dst; *got 0 only at the clean end. */
static int reader_read(struct reader *r, unsigned char *dst, size_t n,
		       size_t *got)
{
	if (r->gzip)
		return inflate_some(r, dst, n, got);
	if (r->in_pos < r->in_len) {
		size_t k =
			r->in_len - r->in_pos < n ? r->in_len - r->in_pos : n;

		memcpy(dst, r->in + r->in_pos, k);
		r->in_pos += k;
		*got = k;
		return 0;
	}
	if (r->raw_eof) {
		*got = 0;
		return 0;
	}
	return raw_read(r, dst, n, got);
}

static int reader_fill(struct reader *r)
{
	size_t n;

	if (r->start > 0) {
		memmove(r->buf, r->buf + r->start, r->end - r->start);
		r->end -= r->start;
		r->start = 0;
	}
	if (r->end == r->cap) {
		if (r->cap >= MAX_LINE)
			return log_error("%s:%llu: line longer than %d bytes",
					 r->path, r->lineno + 1, MAX_LINE);
		r->cap *= 2;
		r->buf = xrealloc(r->buf, r->cap);
	}
	if (reader_read(r, (unsigned char *)r->buf + r->end, r->cap - r->end,
			&n) < 0)
		return -1;
	if (n == 0)
		r->eof = true;
	r->end += n;
	return 0;
}

/*
 * Next line without its "\n" (NUL-terminated in place).  Returns 1, 0 at
 * the end, -1 on a read error (logged).  The line stays valid until the
 * next call.
 */
static int reader_next(struct reader *r, char **line, size_t *len)
{
	for (;;) {
		char *nl = memchr(r->buf + r->start, '\n', r->end - r->start);

		if (nl != NULL) {
			*line = r->buf + r->start;
			*len = (size_t)(nl - *line);
			*nl = '\0';
			r->start += *len + 1;
			r->lineno++;
			return 1;
		}
		if (r->eof) {
			if (r->start == r->end)
				return 0;
			/* Last line without "\n": make room for the NUL. */
			if (r->end == r->cap) {
				r->cap++;
				r->buf = xrealloc(r->buf, r->cap);
			}
			*line = r->buf + r->start;
			*len = r->end - r->start;
			(*line)[*len] = '\0';
			r->start = r->end;
			r->lineno++;
			return 1;
		}
		if (reader_fill(r) < 0)
			return -1;
	}
}

/* ---- one import --------------------------------------------------- */

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
	bool direct;	      /* rows go straight into certificate */
	const char *incident; /* id as text */
	FILE *rejects;
	struct progress *progress;
	struct distinct *names; /* distinct names of the input */
	struct distinct *accounts;
	bool quiet_rejects;	       /* second pass: already reported */
	bool need_stage;	       /* direct pass met e-mail columns */
	unsigned long long bytes_done; /* of finished files */
	int src;		       /* index of the current file */
	long long *file_records;       /* records read from each file */
	const char *path;	       /* the current file */
	struct import_issuer *issuers; /* the incident's, by id */
	size_t nissuers;
	bool known_issuers; /* the incident has rows of a known issuer */
};

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
	if (im->st->rejects <= MAX_LOGGED_REJECTS && !im->quiet_rejects)
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
 * One row: straight into certificate (direct), or into the staging table;
 * the column lists are DIRECT_COLUMNS and STAGE_COLUMNS.  Returns 0, or -1
 * once the server has refused the COPY.
 */
#define DIRECT_COLUMNS                                                         \
	"incident_id, source, source_line, serial, account, issued_at,"        \
	" not_after, caa_checked_at, names, issuer_name, issuer_id, subject,"  \
	" sha256, is_precert, extra, is_ca"
#define STAGE_COLUMNS                                                          \
	"src, line, serial, account, issued_at, not_after, caa_checked_at,"    \
	" names, emails, issuer, issuer_id, subject, sha256, is_precert, "     \
	"extra, is_ca"

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

static int stage_row(struct import *im, unsigned long long lineno,
		     const struct record *r, bool precert, bool is_ca)
{
	struct db_copy *c = im->copy;
	const char *issuer, *issuer_id;

	resolve_issuer(im, r, &issuer, &issuer_id);
	if (im->direct) {
		if (r->nemails > 0) {
			/* Contacts need the staging table. */
			im->need_stage = true;
			return -1;
		}
		db_copy_text(c, im->incident);
		db_copy_text(c, im->path);
	} else {
		db_copy_llong(c, im->src);
	}
	db_copy_llong(c, (long long)lineno);
	db_copy_bytea(c, r->serial.b, r->serial.len);
	db_copy_text(c, r->account);
	db_copy_time(c, r->issued_at);
	db_copy_time(c, r->not_after);
	db_copy_time(c, r->caa_checked_at);
	db_copy_array(c, r->names, r->nnames);
	if (!im->direct)
		db_copy_array(c, r->emails, r->nemails);
	db_copy_text(c, issuer);
	db_copy_text(c, issuer_id);
	db_copy_text(c, r->subject);
	if (r->has_sha256)
		db_copy_bytea(c, r->sha256, 32);
	else
		db_copy_text(c, NULL);
	db_copy_bool(c, precert);
	db_copy_text(c, r->extra_json);
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

/* Checks the database cannot make: a line-numbered error beats a
 * constraint violation without one.  Equal times are a validity of one
 * second (RFC 5280 4.1.2.5 includes both ends). */
static const char *record_problem(const struct record *r)
{
	if (r->issued_at != RECORD_UNSET && r->not_after != RECORD_UNSET &&
	    r->not_after < r->issued_at)
		return "not_after is earlier than issued_at";
	return NULL;
}

static void show_progress(struct import *im, struct reader *r)
{
	if (im->progress != NULL && (r->lineno & 4095) == 0) {
		progress_set_items(im->progress,
				   (uint64_t)im->st->lines + r->lineno,
				   "lines");
		progress_update(im->progress,
				im->bytes_done + reader_offset(r));
	}
}

/* The line formats: le2020, le2022, csv, serials. */
static int import_lines(struct import *im, struct reader *rd, int format,
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
			r = reader_next(rd, &line, &len);
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
			if (pending_len > MAX_LINE) {
				log_error("%s:%llu: quoted field never ends",
					  rd->path, pending_line);
				goto out;
			}
			line = NULL;
			show_progress(im, rd);
			continue;
		}
		if (r == RECORD_OK && record_problem(&rec) != NULL) {
			snprintf(err, sizeof(err), "%s", record_problem(&rec));
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
	bool loud = !im->quiet_rejects;
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
		if (loud)
			log_warn("%s:%llu: serial %s is %s (RFC 5280 4.1.2.2 "
				 "wants a positive serial); loaded",
				 path, lineno, hex,
				 sign == 0 ? "zero" : "negative");
	}
	if (ci.nskipped > 0) {
		im->st->skipped_names += (long long)ci.nskipped;
		if (loud)
			log_warn("%s:%llu: %zu subjectAltName entr%s not a "
				 "usable name (%s); loaded without %s",
				 path, lineno, ci.nskipped,
				 ci.nskipped == 1 ? "y is" : "ies are",
				 ci.skipped, ci.nskipped == 1 ? "it" : "them");
	}
	if (ci.nnames == 0)
		im->st->no_name++;
	if (ci.is_ca)
		im->st->ca_certs++;
	for (size_t i = 0; i < ci.aki_len; i++)
		snprintf(aki + 2 * i, 3, "%02x", ci.aki[i]);
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
static int import_pem(struct import *im, struct reader *rd, char *line,
		      size_t len)
{
	struct pemblock pb;
	char err[256];
	int rc = -1;
	int r = 1;

	pemblock_init(&pb);
	for (; r == 1; r = reader_next(rd, &line, &len)) {
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
static int import_der(struct import *im, struct reader *rd)
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
		if (reader_fill(rd) < 0)
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
static bool looks_like_der(struct reader *rd)
{
	while (rd->end - rd->start < 2 && !rd->eof)
		if (reader_fill(rd) < 0)
			return false;
	return rd->end - rd->start >= 2 &&
	       (unsigned char)rd->buf[rd->start] == 0x30 &&
	       (unsigned char)rd->buf[rd->start + 1] >= 0x81 &&
	       (unsigned char)rd->buf[rd->start + 1] <= 0x84;
}

static int import_file(struct import *im, const char *path)
{
	struct reader rd;
	char err[256];
	char *line = NULL;
	size_t len = 0;
	int format = im->opt->format;
	int rc = -1;
	int r;

	long long before = im->st->records;

	if (reader_open(&rd, path) < 0)
		return -1;
	im->path = path;
	if (format == IMPORTER_AUTO && looks_like_der(&rd)) {
		format = IMPORTER_DER;
		if (!im->quiet_rejects)
			log_info("%s: format der", path);
	}
	if (format == IMPORTER_DER) {
		rc = import_der(im, &rd);
		goto out;
	}
	/* The first line that says anything decides the format. */
	while ((r = reader_next(&rd, &line, &len)) == 1) {
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
		       (r = reader_next(&rd, &line, &len)) == 1)
			if (strncmp(line, "-----BEGIN", 10) == 0)
				format = IMPORTER_PEM;
		if (format < 0) {
			log_error("%s:%llu: %s (give --format)", path, first,
				  err);
			goto out;
		}
		if (!im->quiet_rejects)
			log_info("%s: format %s", path,
				 format == IMPORTER_PEM
					 ? "pem"
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
	reader_close(&rd);
	return rc;
}

/* ---- contacts: account,email[,email...] --------------------------- */

/* Splits one CSV line into fields (RFC 4180 quotes; no line breaks in
 * fields).  Returns the field count, or -1 if a quote is unterminated. */
static int split_csv(char *s, char **fields, int max)
{
	int n = 0;

	while (n < max) {
		char *w = s;

		fields[n++] = s;
		if (*s == '"') {
			char *r = s + 1;

			for (;;) {
				if (*r == '\0')
					return -1;
				if (*r == '"' && r[1] == '"') {
					*w++ = '"';
					r += 2;
				} else if (*r == '"') {
					r++;
					break;
				} else {
					*w++ = *r++;
				}
			}
			s = r;
		} else {
			while (*s && *s != ',')
				*w++ = *s++;
		}
		if (*s != ',' && *s != '\0')
			return -1;
		char *next = *s == ',' ? s + 1 : NULL;

		*w = '\0';
		if (next == NULL)
			return n;
		s = next;
	}
	return n;
}

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

/*
 * An address certrecall will put in a To: header: one "@", a non-empty
 * local part of printable ASCII without specials that could break a
 * header, and a domain that is a valid host name (lowercased in place).
 */
static int check_email(char *addr, char *err, size_t errlen)
{
	char *at = strrchr(addr, '@');
	char dom[DNSNAME_MAX + 1];
	char why[160];
	int n;

	if (at == NULL || at == addr || strchr(addr, '@') != at) {
		snprintf(err, errlen, "\"%.60s\" is not an e-mail address",
			 addr);
		return -1;
	}
	for (const char *p = addr; p < at; p++) {
		if (*p <= ' ' || *p >= 127 || strchr("<>()[]\\,;:\"", *p)) {
			snprintf(err, errlen,
				 "\"%.60s\" has a character not allowed in "
				 "an address",
				 addr);
			return -1;
		}
	}
	n = dnsname_normalize(at + 1, strlen(at + 1), dom, sizeof(dom), why,
			      sizeof(why));
	if (n < 0 || dnsname_is_wildcard(dom) || strchr(dom, '.') == NULL) {
		snprintf(err, errlen, "\"%.60s\": domain is not valid", addr);
		return -1;
	}
	memcpy(at + 1, dom, (size_t)n + 1);
	return 0;
}

/*
 * The column names of an accounts file ("account,email", "account_id,
 * email", "id,e-mail"...), told from data by content: an account
 * identifier carries a digit (ACME account numbers, "acct-7"), a header's
 * first field none, and its second field is a word, not an address.
 */
static bool is_header(const char *account, const char *second)
{
	return strpbrk(account, "0123456789") == NULL && *second != '\0' &&
	       strchr(second, '@') == NULL;
}

/*
 * The lang and tz columns a header names (issue 21), -1 for none.  A
 * language is an ISO 639 code ("ja"; "ja-JP" is taken as "ja"), a zone
 * an IANA name ICU knows; anything else is a warning and stays empty:
 * English, and the deadline in UTC only, never a wrong local time.
 */
struct locale_cols {
	int lang, tz;
};

static void locale_cols_find(struct locale_cols *lc, char **fields, int n)
{
	for (int i = 1; i < n; i++) {
		const char *f = trim(fields[i]);

		if (strcasecmp(f, "lang") == 0 ||
		    strcasecmp(f, "language") == 0)
			lc->lang = i;
		else if (strcasecmp(f, "tz") == 0 ||
			 strcasecmp(f, "timezone") == 0)
			lc->tz = i;
	}
}

static const char *locale_lang(const char *path, unsigned long long line,
			       char *v)
{
	size_t n = strcspn(v, "-_");

	if (*v == '\0')
		return NULL;
	v[n] = '\0';
	for (size_t i = 0; i < n; i++)
		if (v[i] >= 'A' && v[i] <= 'Z')
			v[i] = (char)(v[i] - 'A' + 'a');
	if (n < 2 || n > 3 || strspn(v, "abcdefghijklmnopqrstuvwxyz") != n) {
		log_warn("%s:%llu: \"%.20s\" is not a language code; the "
			 "notices are in English",
			 path, line, v);
		return NULL;
	}
	return v;
}

static const char *locale_tz(const char *path, unsigned long long line,
			     const char *v)
{
	if (*v == '\0')
		return NULL;
	if (!zone_known(v)) {
		log_warn("%s:%llu: unknown time zone \"%.40s\"; the notices "
			 "state the deadline in UTC only",
			 path, line, v);
		return NULL;
	}
	return v;
}

static int import_accounts(struct import *im, const char *path)
{
	struct locale_cols lc = { -1, -1 };
	char *fields[MAX_EMAILS + 1];
	struct reader rd;
	char err[256];
	char *line;
	size_t len;
	bool first = true; /* the first line with content */
	int rc = -1;
	int r;

	if (reader_open(&rd, path) < 0)
		return -1;
	im->copy = db_copy_begin(im->db, "COPY import_contact (line, account,"
					 " emails, lang, tz) FROM STDIN");
	if (im->copy == NULL) {
		reader_close(&rd);
		return -1;
	}
	while ((r = reader_next(&rd, &line, &len)) == 1) {
		const char *emails[MAX_EMAILS];
		char *copyline = NULL;
		int n, ne = 0;

		if (rd.lineno == 1 && len >= 3 &&
		    memcmp(line, "\xef\xbb\xbf", 3) == 0)
			line += 3;
		if (*trim(line) == '\0' || *trim(line) == '#')
			continue;
		if (im->rejects != NULL)
			copyline = xstrdup(line);
		n = split_csv(line, fields, MAX_EMAILS + 1);
		err[0] = '\0';
		if (n < 0)
			snprintf(err, sizeof(err), "unterminated quote");
		else if (n > MAX_EMAILS)
			snprintf(err, sizeof(err), "more than %d addresses",
				 MAX_EMAILS - 1);
		else if (*trim(fields[0]) == '\0')
			snprintf(err, sizeof(err), "empty account");
		/* A header row names its columns. */
		if (err[0] == '\0' && first && n >= 2 &&
		    is_header(trim(fields[0]), trim(fields[1]))) {
			locale_cols_find(&lc, fields, n);
			if (!im->quiet_rejects)
				log_info("%s:%llu: header line skipped", path,
					 rd.lineno);
			free(copyline);
			first = false;
			continue;
		}
		first = false;
		for (int i = 1; err[0] == '\0' && i < n; i++) {
			char *e = trim(fields[i]);

			if (*e == '\0' || i == lc.lang || i == lc.tz)
				continue;
			if (check_email(e, err, sizeof(err)) == 0)
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
		db_copy_text(im->copy, trim(fields[0]));
		db_copy_array(im->copy, emails, (size_t)ne);
		db_copy_text(im->copy,
			     lc.lang >= 0 && lc.lang < n
				     ? locale_lang(path, rd.lineno,
						   trim(fields[lc.lang]))
				     : NULL);
		db_copy_text(im->copy, lc.tz >= 0 && lc.tz < n
					       ? locale_tz(path, rd.lineno,
							   trim(fields[lc.tz]))
					       : NULL);
		if (db_copy_row_end(im->copy) < 0)
			goto out;
	}
	if (r < 0)
		goto out;
	rc = 0;
out:
	reader_close(&rd);
	if (db_copy_end(im->copy, rc == 0 ? NULL : "aborted", NULL) < 0)
		rc = -1;
	im->copy = NULL;
	return rc;
}

/* ---- the set-based part ------------------------------------------- */

static const char create_stage[] =
	"CREATE TEMP TABLE import_stage ("
	" src integer NOT NULL, line bigint NOT NULL, serial bytea NOT NULL,"
	" account text, issued_at timestamptz, not_after timestamptz,"
	" caa_checked_at timestamptz, names text[] NOT NULL,"
	" emails text[] NOT NULL, issuer text, issuer_id bigint,"
	" subject text, sha256 bytea, is_precert boolean NOT NULL,"
	" extra jsonb, is_ca boolean NOT NULL) ON COMMIT DROP;"
	"CREATE TEMP TABLE import_contact ("
	" line bigint NOT NULL, account text NOT NULL, emails text[] NOT NULL,"
	" lang text, tz text) ON COMMIT DROP";

static long long query_count(struct db *db, const char *sql, int n,
			     const char *const *params)
{
	PGresult *res = db_query(db, sql, n, params);
	long long v;

	if (res == NULL)
		return -1;
	v = PQntuples(res) > 0 && !PQgetisnull(res, 0, 0)
		    ? strtoll(PQgetvalue(res, 0, 0), NULL, 10)
		    : 0;
	PQclear(res);
	return v;
}

static long long command_count(struct db *db, const char *sql, int n,
			       const char *const *params)
{
	PGresult *res = db_query(db, sql, n, params);
	long long v;

	if (res == NULL)
		return -1;
	v = strtoll(PQcmdTuples(res), NULL, 10);
	PQclear(res);
	return v;
}

/*
 * After the move: the same serial with different data, in the input or
 * against an earlier import, is an error naming both places.  Also counts
 * the input's exact duplicates.
 */
static int check_conflicts(struct import *im, char *const *files,
			   const char *table, const char *incident,
			   long long inserted)
{
	char sql[1024];
	PGresult *res;
	long long matched;
	int rc = 0;

	snprintf(sql, sizeof(sql),
		 "SELECT encode(s.serial, 'hex'), s.src, s.line, c.source,"
		 " c.source_line, c.imported_at = now(), s.issuer"
		 " FROM import_stage s JOIN %s c"
		 " ON c.incident_id = $1 AND c.serial = s.serial"
		 " AND coalesce(c.issuer_name, '') = coalesce(s.issuer, '')"
		 " WHERE (c.account, c.issued_at, c.not_after, c.names)"
		 " IS DISTINCT FROM (s.account, s.issued_at, s.not_after,"
		 " s.names) ORDER BY s.src, s.line LIMIT 5",
		 table);
	res = db_query(im->db, sql, 1, &incident);
	if (res == NULL)
		return -1;
	for (int i = 0; i < PQntuples(res); i++) {
		bool now = strcmp(PQgetvalue(res, i, 5), "t") == 0;

		bool known = !PQgetisnull(res, i, 6);

		log_error("%s:%s: serial %s (issuer %s%s%s) %s %s:%s with "
			  "different data",
			  files[atoi(PQgetvalue(res, i, 1))],
			  PQgetvalue(res, i, 2), PQgetvalue(res, i, 0),
			  known ? "\"" : "",
			  known ? PQgetvalue(res, i, 6) : "unknown",
			  known ? "\"" : "",
			  now ? "is also at" : "was imported before from",
			  PQgetvalue(res, i, 3), PQgetvalue(res, i, 4));
		rc = -1;
	}
	PQclear(res);
	if (rc < 0)
		return -1;
	snprintf(sql, sizeof(sql),
		 "SELECT count(*) FROM import_stage s JOIN %s c"
		 " ON c.incident_id = $1 AND c.serial = s.serial"
		 " AND coalesce(c.issuer_name, '') = coalesce(s.issuer, '')"
		 " AND c.imported_at = now()",
		 table);
	matched = query_count(im->db, sql, 1, &incident);
	if (matched < 0)
		return -1;
	im->st->duplicates = matched - inserted;
	return 0;
}

/* Staged rows into certificate (or replacement), only the new ones. */
static int move_staged(struct import *im, char *const *files, size_t nfiles,
		       const char *incident)
{
	json_t *names = json_array();
	const char *params[3];
	char *srcs;
	long long n;
	int rc = -1;

	for (size_t i = 0; i < nfiles; i++)
		json_array_append_new(names, json_string(files[i]));
	srcs = json_dumps(names, JSON_COMPACT);
	params[0] = incident;
	params[1] = srcs;
	params[2] = im->known_issuers ? "t" : "f";
	if (im->opt->replacements)
		n = command_count(
			im->db,
			"INSERT INTO replacement (incident_id, serial,"
			" issuer_name, account, issued_at, not_after, names,"
			" sha256, source, source_line)"
			" SELECT $1, serial, issuer, account, issued_at,"
			" not_after, names, sha256, ($2::jsonb)->>src, line"
			" FROM import_stage s WHERE cardinality(names) > 0"
			" AND (issuer IS NOT NULL OR NOT EXISTS (SELECT 1"
			" FROM replacement r WHERE r.incident_id = $1"
			" AND r.serial = s.serial"
			" AND r.issuer_name IS NOT NULL))"
			" ON CONFLICT (incident_id, serial,"
			" (coalesce(issuer_name, ''))) DO NOTHING",
			2, params);
	else
		n = command_count(
			im->db,
			"INSERT INTO certificate (incident_id, serial, account,"
			" issued_at, not_after, caa_checked_at, issuer_name,"
			" issuer_id, subject, sha256, is_precert, names,"
			" source, source_line, extra, is_ca)"
			" SELECT $1, serial, account, issued_at, not_after,"
			" caa_checked_at, issuer, issuer_id, subject, sha256,"
			" is_precert, names, ($2::jsonb)->>src, line, extra,"
			" is_ca"
			" FROM import_stage s"
			/* unknown issuer: already present under any issuer */
			" WHERE issuer IS NOT NULL OR NOT $3::boolean"
			" OR NOT EXISTS (SELECT 1 FROM certificate c"
			" WHERE c.incident_id = $1 AND c.serial = s.serial"
			" AND c.issuer_name IS NOT NULL)"
			" ON CONFLICT (incident_id, serial,"
			" (coalesce(issuer_name, ''))) DO NOTHING",
			3, params);
	if (n < 0)
		goto out;
	im->st->new_certs = n;
	/* Everything new: no duplicate and nothing already there. */
	if (n < im->st->records &&
	    check_conflicts(im, files,
			    im->opt->replacements ? "replacement"
						  : "certificate",
			    incident, n) < 0)
		goto out;
	im->st->present = im->st->records - im->st->duplicates - n;
	/* E-mail addresses given in a csv email column are contacts too;
	 * domains are case-insensitive and stored lowercase. */
	if (db_exec(im->db,
		    "INSERT INTO import_contact (line, account, emails)"
		    " SELECT line, account, array(SELECT split_part(e, '@', 1)"
		    "  || '@' || lower(split_part(e, '@', 2)) FROM "
		    "unnest(emails)"
		    "  e) FROM import_stage"
		    " WHERE account IS NOT NULL AND cardinality(emails) > 0") <
	    0)
		goto out;
	rc = 0;
out:
	free(srcs);
	json_decref(names);
	return rc;
}

/*
 * Subscribers: every account of the input gets a row (an account without
 * an address is counted, never dropped), contacts are merged in, and the
 * accounts still without any address are counted.
 */
static int update_subscribers(struct import *im, const char *incident)
{
	/* The input's accounts: staged, or inserted by this transaction. */
	const char *accounts =
		im->direct ? "SELECT DISTINCT account FROM certificate"
			     " WHERE incident_id = $1 AND imported_at = now()"
			     " AND account IS NOT NULL"
			   : "SELECT DISTINCT account FROM import_stage"
			     " WHERE account IS NOT NULL AND $1::bigint > 0";
	char sql[1024];
	long long n;

	im->st->contacts =
		query_count(im->db,
			    "SELECT count(DISTINCT account) FROM import_contact"
			    " WHERE cardinality(emails) > 0",
			    0, NULL);
	if (im->st->contacts < 0)
		return -1;
	if (db_exec(im->db,
		    "INSERT INTO subscriber AS s (account, emails)"
		    " SELECT account, array(SELECT DISTINCT e FROM"
		    "  unnest(array_agg(x)) e ORDER BY 1)"
		    " FROM import_contact, unnest(emails) x GROUP BY account"
		    " ON CONFLICT (account) DO UPDATE SET emails = array("
		    "  SELECT DISTINCT e FROM unnest(s.emails || "
		    "EXCLUDED.emails)"
		    "  e ORDER BY 1), updated_at = now()"
		    " WHERE NOT (EXCLUDED.emails <@ s.emails)") < 0)
		return -1;
	snprintf(sql, sizeof(sql),
		 "CREATE TEMP TABLE import_account ON COMMIT DROP AS %s",
		 accounts);
	n = command_count(im->db, sql, 1, &incident);
	if (n < 0)
		return -1;
	if (db_exec(im->db, "INSERT INTO subscriber (account)"
			    " SELECT account FROM import_account"
			    " UNION SELECT account FROM import_contact"
			    " ON CONFLICT (account) DO NOTHING") < 0)
		return -1;
	/* lang and tz (020): a value given replaces, an empty one keeps. */
	if (db_exec(im->db,
		    "UPDATE subscriber s SET lang = coalesce(c.lang, s.lang),"
		    " tz = coalesce(c.tz, s.tz), updated_at = now()"
		    " FROM (SELECT DISTINCT ON (account) account, lang, tz"
		    " FROM import_contact WHERE lang IS NOT NULL"
		    " OR tz IS NOT NULL ORDER BY account, line DESC) c"
		    " WHERE s.account = c.account"
		    " AND (s.lang IS DISTINCT FROM coalesce(c.lang, s.lang)"
		    " OR s.tz IS DISTINCT FROM coalesce(c.tz, s.tz))") < 0)
		return -1;
	im->st->accounts_without_email = query_count(
		im->db,
		"SELECT count(*) FROM import_account JOIN subscriber s"
		" USING (account) WHERE cardinality(s.emails) = 0",
		0, NULL);
	return im->st->accounts_without_email < 0 ? -1 : 0;
}

/* BR practice of the 2020 CA: replaced = a newer certificate with
 * exactly the same names exists, whoever asked for it. */
static int mark_replaced(struct import *im, const char *incident)
{
	long long n = command_count(
		im->db,
		"UPDATE certificate c SET replaced_by = r.serial FROM ("
		" SELECT DISTINCT ON (c2.id) c2.id, r2.serial"
		" FROM certificate c2 JOIN replacement r2"
		"  ON r2.incident_id = c2.incident_id AND r2.names = c2.names"
		"  AND NOT (r2.serial = c2.serial AND (r2.issuer_name IS NULL"
		"  OR c2.issuer_name IS NULL OR r2.issuer_name = "
		"c2.issuer_name))"
		"  AND (c2.issued_at IS NULL"
		"  OR r2.issued_at IS NULL OR r2.issued_at > c2.issued_at)"
		" WHERE c2.incident_id = $1 AND c2.replaced_by IS NULL"
		/* a one-time filter: no replacements, no join over the
		 * incident's certificates (3 s at 300,000 lines) */
		"  AND EXISTS (SELECT 1 FROM replacement r3"
		"  WHERE r3.incident_id = $1)"
		" ORDER BY c2.id, r2.issued_at DESC NULLS LAST) r"
		" WHERE c.id = r.id",
		1, &incident);

	if (n < 0)
		return -1;
	im->st->replaced = n;
	return 0;
}

static int record_event(struct import *im, long long incident_id,
			char *const *files, size_t nfiles)
{
	const struct importer_stats *st = im->st;
	json_t *fl = json_array();
	json_t *detail;
	char *text;
	int rc;

	for (size_t i = 0; i < nfiles; i++)
		json_array_append_new(fl, json_string(files[i]));
	detail = json_pack(
		"{s:o,s:b,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,"
		"s:I,s:I,s:I,s:I,s:I}",
		"files", fl, "replacements", im->opt->replacements, "lines",
		(json_int_t)st->lines, "records", (json_int_t)st->records,
		"new", (json_int_t)st->new_certs, "present",
		(json_int_t)st->present, "duplicates",
		(json_int_t)st->duplicates, "accounts",
		(json_int_t)st->accounts, "accounts_without_email",
		(json_int_t)st->accounts_without_email, "contacts",
		(json_int_t)st->contacts, "names", (json_int_t)st->names,
		"distinct_names", (json_int_t)st->distinct_names, "rejects",
		(json_int_t)st->rejects, "replaced", (json_int_t)st->replaced,
		"ca_certificates", (json_int_t)st->ca_certs, "no_name",
		(json_int_t)st->no_name, "skipped_names",
		(json_int_t)st->skipped_names, "odd_serials",
		(json_int_t)st->odd_serials, "other_pem_blocks",
		(json_int_t)st->other_pem_blocks);
	text = json_dumps(detail, JSON_COMPACT);
	rc = db_event_add(im->db, incident_id,
			  im->opt->replacements ? "import.replacements"
						: "import.certificates",
			  text);
	free(text);
	json_decref(detail);
	return rc;
}

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

/* The incident's issuers, which list rows and certificates are named
 * after (resolve_issuer). */
static int load_issuers(struct import *im)
{
	const char *params[1] = { im->incident };
	PGresult *res = db_query(im->db,
				 "SELECT id, subject FROM issuer"
				 " WHERE incident_id = $1 ORDER BY id",
				 1, params);

	if (res == NULL)
		return -1;
	im->nissuers = (size_t)PQntuples(res);
	im->issuers = im->nissuers > 0
			      ? xcalloc(im->nissuers, sizeof(*im->issuers))
			      : NULL;
	for (size_t i = 0; i < im->nissuers; i++) {
		snprintf(im->issuers[i].id, sizeof(im->issuers[i].id), "%s",
			 PQgetvalue(res, (int)i, 0));
		im->issuers[i].subject = xstrdup(PQgetvalue(res, (int)i, 1));
	}
	PQclear(res);
	return 0;
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
		if (import_file(im, files[i]) < 0)
			rc = -1;
	}
	if (rc < 0 && !im->need_stage) {
		/* A bad line ends the import, unless the server refused
		 * first: then the refusal decides. */
		if (db_copy_end(im->copy, "import aborted", sqlstate) < 0 &&
		    strcmp(sqlstate, "23505") == 0 && im->direct)
			rc = 1;
	} else if (im->need_stage) {
		db_copy_end(im->copy, "import needs the staging table", NULL);
		rc = 1;
	} else if (db_copy_end(im->copy, NULL, sqlstate) < 0) {
		rc = im->direct && strcmp(sqlstate, "23505") == 0 ? 1 : -1;
	}
	im->copy = NULL;
	return rc;
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
	int r;

	memset(st, 0, sizeof(*st));
	snprintf(incident, sizeof(incident), "%lld", incident_id);
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
	im.direct = !opt->replacements;
	for (size_t i = 0; i < nfiles; i++) {
		struct stat sb;

		if (strcmp(files[i], "-") == 0 || stat(files[i], &sb) < 0 ||
		    !S_ISREG(sb.st_mode))
			im.direct = false;
		else
			total += (unsigned long long)sb.st_size;
	}
	if (db_begin(db) < 0)
		goto out;
	if (db_exec(db, create_stage) < 0 ||
	    db_exec(db, "SET LOCAL work_mem = '256MB'") < 0 ||
	    load_issuers(&im) < 0)
		goto rollback;
	if (!opt->replacements) {
		/* A row of unknown issuer is already present when its serial
		 * is there under a known issuer; the unique key cannot see
		 * that, the staging table's move does. */
		r = (int)query_count(db,
				     "SELECT count(*) FROM (SELECT 1 FROM"
				     " certificate WHERE incident_id = $1"
				     " AND issuer_name IS NOT NULL LIMIT 1) x",
				     1, (const char *[]){ incident });
		if (r < 0)
			goto rollback;
		im.known_issuers = r > 0;
		if (im.known_issuers)
			im.direct = false;
	}
	if (opt->accounts_path != NULL &&
	    import_accounts(&im, opt->accounts_path) < 0)
		goto rollback;
	if (opt->progress && nfiles > 0)
		im.progress = progress_new_bytes("import", total);
	if (im.direct) {
		if (db_exec(db, "SAVEPOINT direct") < 0)
			goto rollback;
		r = run_pass(&im, files, nfiles,
			     "COPY certificate (" DIRECT_COLUMNS
			     ") FROM STDIN");
		if (r < 0)
			goto rollback;
		if (r > 0) {
			log_info("%s: merging through a staging table",
				 im.need_stage
					 ? "the list carries e-mail addresses"
					 : "some certificates are already "
					   "known or repeated");
			if (db_exec(db, "ROLLBACK TO SAVEPOINT direct") < 0 ||
			    restart(&im) < 0)
				goto rollback;
			im.direct = false;
		} else {
			st->new_certs = st->records;
		}
	}
	if (!im.direct) {
		if (run_pass(&im, files, nfiles,
			     "COPY import_stage (" STAGE_COLUMNS
			     ") FROM STDIN") != 0 ||
		    move_staged(&im, files, nfiles, incident) < 0)
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
	    update_subscribers(&im, incident) < 0 ||
	    mark_replaced(&im, incident) < 0 ||
	    record_event(&im, incident_id, files, nfiles) < 0)
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
