/*
 * pemblock.c - PEM blocks out of text, one line at a time.
 */
#include "certrecall/core/pemblock.h"
#include "certrecall/base/errmsg.h"
#include "certrecall/base/xalloc.h"

#include <stdlib.h>
#include <string.h>

#define BEGIN "-----BEGIN "
#define END "-----END "
#define DASHES "-----"

void pemblock_init(struct pemblock *p)
{
	memset(p, 0, sizeof(*p));
}

void pemblock_release(struct pemblock *p)
{
	if (p == NULL)
		return;
	free(p->text);
	memset(p, 0, sizeof(*p));
}

/* "PREFIX" LABEL "-----": the label, or NULL if the line is not one. */
static const char *boundary(const char *line, size_t len, const char *prefix,
			    size_t *label_len)
{
	size_t np = strlen(prefix);

	if (len < np + 5 || memcmp(line, prefix, np) != 0 ||
	    memcmp(line + len - 5, DASHES, 5) != 0)
		return NULL;
	*label_len = len - np - 5;
	return line + np;
}

/* RFC 7468 3: printable ASCII, not starting or ending with a blank or a
 * hyphen (so a NUL can never cut a label short). */
static bool label_ok(const char *label, size_t n)
{
	if (n == 0 || n > PEMBLOCK_LABEL_MAX || label[0] == ' ' ||
	    label[0] == '-' || label[n - 1] == ' ' || label[n - 1] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (label[i] < 0x20 || label[i] > 0x7e)
			return false;
	return true;
}

static void append(struct pemblock *p, const char *line, size_t len)
{
	xgrow(&p->text, &p->cap, p->len + len + 2, 1);
	memcpy(p->text + p->len, line, len);
	p->len += len;
	p->text[p->len++] = '\n';
	p->text[p->len] = '\0';
}

int pemblock_feed(struct pemblock *p, const char *line, size_t len,
		  unsigned long long lineno, char *err, size_t errlen)
{
	const char *label;
	size_t n;

	while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == ' ' ||
			   line[len - 1] == '\t'))
		len--;
	if (!p->open) {
		label = boundary(line, len, BEGIN, &n);
		if (label == NULL)
			return PEMBLOCK_MORE;
		if (!label_ok(label, n))
			return errmsg_near(err, errlen, line, len,
					   "PEM label is not valid");
		memcpy(p->label, label, n);
		p->label[n] = '\0';
		p->begin = lineno;
		p->open = true;
		p->len = 0;
		append(p, line, len);
		return PEMBLOCK_MORE;
	}
	if (boundary(line, len, BEGIN, &n) != NULL)
		return errmsg_near(err, errlen, line, len,
				   "BEGIN line inside the PEM block started "
				   "at line %llu",
				   p->begin);
	if (p->len + len + 2 > PEMBLOCK_MAX)
		return errmsg_near(err, errlen, line, len,
				   "PEM block started at line %llu is longer "
				   "than %d bytes",
				   p->begin, PEMBLOCK_MAX);
	append(p, line, len);
	label = boundary(line, len, END, &n);
	if (label == NULL)
		return PEMBLOCK_MORE;
	if (n != strlen(p->label) || memcmp(label, p->label, n) != 0)
		return errmsg_near(err, errlen, line, len,
				   "END line does not match the BEGIN line "
				   "%llu (%s)",
				   p->begin, p->label);
	p->open = false;
	return PEMBLOCK_DONE;
}

int pemblock_finish(const struct pemblock *p, char *err, size_t errlen)
{
	if (!p->open)
		return 0;
	return errmsg_set(err, errlen,
			  "PEM block %s started at line %llu has no END line",
			  p->label, p->begin);
}

bool pemblock_is_certificate(const char *label)
{
	return strcmp(label, "CERTIFICATE") == 0 ||
	       strcmp(label, "X509 CERTIFICATE") == 0 ||
	       strcmp(label, "TRUSTED CERTIFICATE") == 0;
}
