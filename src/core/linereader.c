/*
 * linereader.c - lines from a plain or gzip file (or "-" for stdin), with
 * a cap on a line's length and a gzip stream checked to its last trailer.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "certrecall/base/log.h"
#include "certrecall/base/xalloc.h"
#include "certrecall/core/linereader.h"

#define READ_CHUNK (256 * 1024)

static int raw_read(struct linereader *r, unsigned char *dst, size_t n,
		    size_t *got)
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

int linereader_open(struct linereader *r, const char *path)
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

void linereader_close(struct linereader *r)
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
unsigned long long linereader_offset(struct linereader *r)
{
	if (r->gzip)
		return r->raw - r->zs.avail_in;
	return r->raw - (r->in_len - r->in_pos);
}

static int truncated(struct linereader *r)
{
	return log_error("%s: compressed data ends early (incomplete "
			 "download?)",
			 r->path);
}

/* Inflates up to n bytes into dst; *got 0 only at the clean end. */
static int inflate_some(struct linereader *r, unsigned char *dst, size_t n,
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
static int chunk_read(struct linereader *r, unsigned char *dst, size_t n,
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

int linereader_fill(struct linereader *r)
{
	size_t n;

	if (r->start > 0) {
		memmove(r->buf, r->buf + r->start, r->end - r->start);
		r->end -= r->start;
		r->start = 0;
	}
	if (r->end == r->cap) {
		if (r->cap >= LINEREADER_MAX_LINE)
			return log_error("%s:%llu: line longer than %d bytes",
					 r->path, r->lineno + 1,
					 LINEREADER_MAX_LINE);
		r->cap *= 2;
		r->buf = xrealloc(r->buf, r->cap);
	}
	if (chunk_read(r, (unsigned char *)r->buf + r->end, r->cap - r->end,
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
int linereader_next(struct linereader *r, char **line, size_t *len)
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
		if (linereader_fill(r) < 0)
			return -1;
	}
}
