/*
 * linereader.h - lines from a plain or gzip file, for the importer.
 *
 * gzip is detected by its magic bytes, not by the name, and inflated here
 * rather than through gzread(): gzread() takes a stream that stops early
 * for a clean end of file and skips whatever follows the last member, so
 * a cut download would import as a shorter list.  Here every member must
 * end with its trailer (CRC and length checked by zlib), and only another
 * gzip member may follow one.
 */
#ifndef CERTRECALL_LINEREADER_H
#define CERTRECALL_LINEREADER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <zlib.h>
#include "certrecall/base/xalloc.h"

#define LINEREADER_MAX_LINE (4 * 1024 * 1024) /* one line, after inflating */

/* The fields from buf on are read by callers that take the rest of a file
 * as bytes (DER); the others are the reader's own. */
struct linereader {
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

/* Opens path ("-" is standard input) and tells gzip from its first two
 * bytes.  Returns 0, or -1 (logged; r is then safe to close). */
CR_MUST_CHECK int linereader_open(struct linereader *r, const char *path);

/* Releases r; closing twice is harmless. */
void linereader_close(struct linereader *r);

/* Compressed bytes consumed so far, for progress. */
unsigned long long linereader_offset(struct linereader *r);

/* Reads more content into buf[end..cap), growing buf when it is full (up
 * to LINEREADER_MAX_LINE); sets eof at the clean end.  Returns 0 or -1
 * (logged). */
CR_MUST_CHECK int linereader_fill(struct linereader *r);

/*
 * Next line without its "\n" (NUL-terminated in place).  Returns 1, 0 at
 * the end, -1 on a read error (logged).  The line stays valid until the
 * next call.
 */
CR_MUST_CHECK int linereader_next(struct linereader *r, char **line,
				  size_t *len);

#endif
