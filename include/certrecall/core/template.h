/*
 * template - a small {{mustache}}-like renderer for notices (pure).
 *
 *   {{name}}              a value from the context (string, number, bool)
 *   {{a.b}}               a member of an object value
 *   {{#list}}...{{/list}} repeated for each element of an array (inside,
 *                         names are looked up in the element first, then
 *                         outwards); an object or true renders once; false,
 *                         null, "" and [] render nothing
 *   {{^list}}...{{/list}} rendered only when list is false/null/""/[]
 *   {{! comment }}        nothing
 * A standalone section tag on a line of its own leaves no blank line.
 *
 * The context is a jansson object (jansson is pure: no I/O).  Escaping
 * depends on where the output goes: TEXT leaves values as they are, HTML
 * escapes & < > " ', HEADER turns CR, LF and every other control character
 * into a space so that a value can never start a new header line.
 * A name that is not in the context is an error, not an empty string: a
 * typo in a template must not send a notice with a hole in it.
 */
#ifndef CERTRECALL_TEMPLATE_H
#define CERTRECALL_TEMPLATE_H

#include <jansson.h>
#include <stddef.h>

#include "certrecall/base/xalloc.h"

enum template_escape {
	TEMPLATE_TEXT,
	TEMPLATE_HTML,
	TEMPLATE_HEADER,
};

struct template;

/*
 * Parses text (len bytes).  On a syntax error (unclosed tag or section,
 * mismatched {{/x}}, empty name) returns NULL and writes
 * "line N: what is wrong" into err.
 */
CR_MUST_CHECK struct template *template_parse(const char *text, size_t len,
					      char *err, size_t errlen);
void template_free(struct template *t);

/*
 * Renders t with ctx.  Returns a NUL-terminated string (caller frees) and
 * its length in *len (may be NULL), or NULL with "line N: no value for
 * \"name\"" (or similar) in err.
 */
CR_MUST_CHECK char *template_render(const struct template *t, const json_t *ctx,
				    enum template_escape mode, size_t *len,
				    char *err, size_t errlen);

#endif
