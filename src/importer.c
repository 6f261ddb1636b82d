/*
 * importer.c - affected lists into PostgreSQL: read, validate, COPY into a
 * staging table, then one set-based move, all in one transaction.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "certrecall/certinfo.h"
#include "certrecall/db.h"
#include "certrecall/distinct.h"
#include "certrecall/dnsname.h"
#include "certrecall/importer.h"
#include "certrecall/log.h"
#include "certrecall/progress.h"
#include "certrecall/record.h"
#include "certrecall/utctime.h"
#include "certrecall/xalloc.h"

#define READ_CHUNK (256 * 1024)
#define MAX_LINE (4 * 1024 * 1024) /* one line, after inflating */
#define MAX_DER (1024 * 1024)	   /* one DER certificate */
#define MAX_LOGGED_REJECTS 20
#define MAX_EMAILS 100
#define PEM_LOOKAHEAD 1000 /* lines of text allowed before a PEM block */

/* ---- reading lines from a plain or gzip file ---------------------- */

struct reader {
	const char *path;
	gzFile gz;
	char *buf;
	size_t cap, start, end;
	bool eof;
	unsigned long long lineno;
	off_t size; /* compressed size on disk, 0 if unknown */
};

static int reader_open(struct reader *r, const char *path)
{
	struct stat st;
	int fd;

	memset(r, 0, sizeof(*r));
	r->path = path;
	fd = strcmp(path, "-") == 0 ? dup(STDIN_FILENO)
				    : open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return log_error("%s: cannot open: %s", path, strerror(errno));
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
		r->size = st.st_size;
	/* gzdopen reads plain files through unchanged: gzip is detected
	 * by its magic bytes, not by the name. */
	r->gz = gzdopen(fd, "rb");
	if (r->gz == NULL) {
		close(fd);
		return log_error("%s: cannot read", path);
	}
	gzbuffer(r->gz, READ_CHUNK);
	r->cap = READ_CHUNK;
	r->buf = xmalloc(r->cap);
	return 0;
}

static void reader_close(struct reader *r)
{
	if (r->gz != NULL)
		gzclose(r->gz);
	free(r->buf);
	r->gz = NULL;
	r->buf = NULL;
}

/* Compressed bytes consumed so far, for progress. */
static unsigned long long reader_offset(struct reader *r)
{
	z_off_t off = gzoffset(r->gz);

	return off > 0 ? (unsigned long long)off : 0;
}

static int reader_fill(struct reader *r)
{
	int n;

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
	n = gzread(r->gz, r->buf + r->end, (unsigned)(r->cap - r->end));
	if (n < 0) {
		int code;
		const char *msg = gzerror(r->gz, &code);

		return log_error("%s:%llu: cannot read: %s", r->path,
				 r->lineno + 1,
				 code == Z_ERRNO ? strerror(errno) : msg);
	}
	if (n == 0)
		r->eof = true;
	r->end += (size_t)n;
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
	" sha256, is_precert, extra"
#define STAGE_COLUMNS                                                          \
	"src, line, serial, account, issued_at, not_after, caa_checked_at,"    \
	" names, emails, issuer, issuer_id, subject, sha256, is_precert, "     \
	"extra"

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
		     const struct record *r, bool precert)
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
 * constraint violation without one. */
static const char *record_problem(const struct record *r)
{
	if (r->issued_at != RECORD_UNSET && r->not_after != RECORD_UNSET &&
	    r->not_after <= r->issued_at)
		return "not_after is not later than issued_at";
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
			if (stage_row(im, lineno, &rec, false) < 0)
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

/* A certificate read with OpenSSL, as a record for the staging table. */
static int stage_x509(struct import *im, const char *path,
		      unsigned long long lineno, X509 *x)
{
	struct certinfo ci;
	struct record rec;
	char err[256];
	char aki[129] = "";
	json_t *extra;
	json_t *urls[2];
	char *extra_text;
	int rc;

	if (certinfo_from_x509(x, &ci, err, sizeof(err)) < 0)
		return reject(im, path, lineno, "", 0, err);
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
	rc = stage_row(im, lineno, &rec, ci.precert);
	free(extra_text);
	json_decref(extra);
	certinfo_release(&ci);
	return rc;
}

/* PEM: certificates between BEGIN/END lines; other text is ignored. */
static int import_pem(struct import *im, struct reader *rd, char *line,
		      size_t len)
{
	char *block = NULL;
	size_t blen = 0, bcap = 0;
	unsigned long long begin = 0;
	int rc = -1;
	int r = 1;

	for (; r == 1; r = reader_next(rd, &line, &len)) {
		while (len > 0 &&
		       (line[len - 1] == '\r' || line[len - 1] == ' '))
			line[--len] = '\0';
		if (begin == 0) {
			if (strncmp(line, "-----BEGIN ", 11) != 0)
				continue;
			if (strcmp(line, "-----BEGIN CERTIFICATE-----") != 0) {
				if (reject(im, rd->path, rd->lineno, line, len,
					   "PEM block is not a certificate") <
				    0)
					goto out;
				continue;
			}
			begin = rd->lineno;
			blen = 0;
		}
		xgrow(&block, &bcap, blen + len + 2, 1);
		memcpy(block + blen, line, len);
		blen += len;
		block[blen++] = '\n';
		if (blen > MAX_DER * 2) {
			log_error("%s:%llu: PEM block too large", rd->path,
				  begin);
			goto out;
		}
		if (strcmp(line, "-----END CERTIFICATE-----") == 0) {
			BIO *bio = BIO_new_mem_buf(block, (int)blen);
			X509 *x = PEM_read_bio_X509(bio, NULL, NULL, NULL);

			BIO_free(bio);
			if (x == NULL)
				r = reject(im, rd->path, begin, block, blen,
					   "PEM block does not decode to an "
					   "X.509 certificate");
			else
				r = stage_x509(im, rd->path, begin, x);
			X509_free(x);
			if (r < 0)
				goto out;
			begin = 0;
		}
		show_progress(im, rd);
	}
	if (r < 0)
		goto out;
	if (begin != 0) {
		log_error("%s:%llu: PEM block has no END line", rd->path,
			  begin);
		goto out;
	}
	rc = 0;
out:
	free(block);
	return rc;
}

/* DER: one or more certificates back to back (line = certificate #). */
static int import_der(struct import *im, struct reader *rd)
{
	unsigned char *buf = NULL;
	size_t len = 0, cap = 0;
	const unsigned char *p;
	unsigned long long n = 0;
	int rc = -1;

	for (;;) {
		int got;

		xgrow(&buf, &cap, len + READ_CHUNK, 1);
		got = gzread(rd->gz, buf + len, READ_CHUNK);
		if (got < 0) {
			log_error("%s: cannot read", rd->path);
			goto out;
		}
		if (got == 0)
			break;
		len += (size_t)got;
		if (len > 64 * (size_t)MAX_DER) {
			log_error("%s: more than %d bytes of DER", rd->path,
				  64 * MAX_DER);
			goto out;
		}
	}
	for (p = buf; p < buf + len;) {
		const unsigned char *start = p;
		X509 *x = d2i_X509(NULL, &p, (long)(buf + len - p));

		n++;
		if (x == NULL) {
			log_error("%s:%llu: certificate #%llu (byte %zu) is "
				  "not DER X.509",
				  rd->path, n, n, (size_t)(start - buf));
			goto out;
		}
		rc = stage_x509(im, rd->path, n, x);
		X509_free(x);
		if (rc < 0)
			goto out;
		rc = -1;
	}
	rd->lineno = n;
	rc = 0;
out:
	free(buf);
	return rc;
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

	if (reader_open(&rd, path) < 0)
		return -1;
	im->path = path;
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
		log_warn("%s: no certificates in the file", path);
		rc = 0;
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

static int import_accounts(struct import *im, const char *path)
{
	char *fields[MAX_EMAILS + 1];
	struct reader rd;
	char err[256];
	char *line;
	size_t len;
	int rc = -1;
	int r;

	if (reader_open(&rd, path) < 0)
		return -1;
	im->copy = db_copy_begin(im->db, "COPY import_contact (line, account,"
					 " emails) FROM STDIN");
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
		if (err[0] == '\0' && rd.lineno == 1 && n >= 2 &&
		    strcasecmp(trim(fields[0]), "account") == 0) {
			free(copyline);
			continue;
		}
		for (int i = 1; err[0] == '\0' && i < n; i++) {
			char *e = trim(fields[i]);

			if (*e == '\0')
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
	" extra jsonb) ON COMMIT DROP;"
	"CREATE TEMP TABLE import_contact ("
	" line bigint NOT NULL, account text NOT NULL, emails text[] NOT NULL)"
	" ON COMMIT DROP";

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
			" source, source_line, extra)"
			" SELECT $1, serial, account, issued_at, not_after,"
			" caa_checked_at, issuer, issuer_id, subject, sha256,"
			" is_precert, names, ($2::jsonb)->>src, line, extra"
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
		"{s:o,s:b,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}",
		"files", fl, "replacements", im->opt->replacements, "lines",
		(json_int_t)st->lines, "records", (json_int_t)st->records,
		"new", (json_int_t)st->new_certs, "present",
		(json_int_t)st->present, "duplicates",
		(json_int_t)st->duplicates, "accounts",
		(json_int_t)st->accounts, "accounts_without_email",
		(json_int_t)st->accounts_without_email, "contacts",
		(json_int_t)st->contacts, "names", (json_int_t)st->names,
		"distinct_names", (json_int_t)st->distinct_names, "rejects",
		(json_int_t)st->rejects, "replaced", (json_int_t)st->replaced);
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
	for (size_t i = 0; i < im.nissuers; i++)
		free(im.issuers[i].subject);
	free(im.issuers);
	st->seconds = now_s() - t0;
	return rc;
}
