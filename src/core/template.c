/*
 * template.c - a small {{mustache}}-like renderer (pure).
 *
 * The parser turns the text into a flat array of nodes; a section's open
 * node knows the index of its close node and the other way round, so the
 * renderer is a loop with an explicit, bounded stack of sections instead
 * of recursion: hostile templates cannot exhaust the C stack.
 */
#include "certrecall/base/errmsg.h"
#include "certrecall/core/template.h"
#include "certrecall/base/xalloc.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Sections nested deeper than this are a parse error. */
#define TEMPLATE_DEPTH_MAX 32
/* Rendered output larger than this is an error (arrays multiply). */
#define TEMPLATE_OUTPUT_MAX ((size_t)64 * 1024 * 1024)
/*
 * Nodes visited while rendering: nested sections over long lists can
 * take long while writing nothing, so the output cap alone is no bound.
 */
#define TEMPLATE_STEPS_MAX ((size_t)1 << 26)
/* Longest name between {{ and }}. */
#define TEMPLATE_NAME_MAX 256

enum node_kind {
	NODE_TEXT,
	NODE_VAR,
	NODE_OPEN,
	NODE_INVERTED,
	NODE_CLOSE,
};

struct node {
	enum node_kind kind;
	size_t off, len; /* text, or the name, in template.text */
	size_t line;	 /* where the tag starts */
	size_t match;	 /* open: index of its close; close: of its open */
};

struct template
{
	char *text;
	struct node *nodes;
	size_t n, cap;
};

struct buf {
	char *p;
	size_t len, cap;
};

static size_t count_lines(const char *s, size_t len)
{
	size_t i, n = 0;

	for (i = 0; i < len; i++)
		if (s[i] == '\n')
			n++;
	return n;
}

static void add_node(struct template *t, enum node_kind kind, size_t off,
		     size_t len, size_t line)
{
	struct node *nd;

	if (kind == NODE_TEXT && len == 0)
		return;
	xgrow(&t->nodes, &t->cap, t->n + 1, sizeof(*t->nodes));
	nd = &t->nodes[t->n++];
	nd->kind = kind;
	nd->off = off;
	nd->len = len;
	nd->line = line;
	nd->match = 0;
}

static bool name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_' || c == '-';
}

/* "." alone, or segments of [A-Za-z0-9_-] separated by single dots. */
static bool valid_name(const char *s, size_t len)
{
	size_t i;

	if (len == 1 && s[0] == '.')
		return true;
	if (len == 0 || len > TEMPLATE_NAME_MAX || s[0] == '.' ||
	    s[len - 1] == '.')
		return false;
	for (i = 0; i < len; i++) {
		if (s[i] == '.' && s[i + 1] == '.')
			return false;
		if (s[i] != '.' && !name_char(s[i]))
			return false;
	}
	return true;
}

/* Quotes at most 40 bytes of a name for a message, controls as '?'. */
static void quote_name(char *q, size_t qlen, const char *s, size_t len)
{
	size_t i, n = len < 40 ? len : 40;

	if (n + 4 > qlen)
		n = qlen - 4;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		q[i] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	if (len > n) {
		memcpy(q + i, "...", 3);
		i += 3;
	}
	q[i] = '\0';
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* The node a tag's first character makes; a comment ('!') makes none
 * (NODE_TEXT). */
static enum node_kind tag_kind(char sigil)
{
	switch (sigil) {
	case '#':
		return NODE_OPEN;
	case '^':
		return NODE_INVERTED;
	case '/':
		return NODE_CLOSE;
	case '!':
		return NODE_TEXT;
	default:
		return NODE_VAR;
	}
}

/*
 * The close tag just added (the last node) ends the innermost open
 * section, stack[*depth - 1]: both are linked and the section popped.
 * 0, or -1 with a reason in err when no section is open or the names
 * differ.
 */
static int close_section(struct template *t, const size_t *stack, size_t *depth,
			 char *err, size_t errlen)
{
	struct node *c = &t->nodes[t->n - 1], *o;
	char q[48], oq[48];

	quote_name(q, sizeof(q), t->text + c->off, c->len);
	if (*depth == 0)
		return errmsg_set(err, errlen,
				  "line %zu: {{/%s}} closes no section",
				  c->line, q);
	o = &t->nodes[stack[*depth - 1]];
	if (o->len != c->len ||
	    memcmp(t->text + o->off, t->text + c->off, c->len) != 0) {
		quote_name(oq, sizeof(oq), t->text + o->off, o->len);
		return errmsg_set(err, errlen,
				  "line %zu: {{/%s}} does not close "
				  "\"%s\" opened on line %zu",
				  c->line, q, oq, o->line);
	}
	o->match = t->n - 1;
	c->match = stack[--*depth];
	return 0;
}

struct template *template_parse(const char *text, size_t len, char *err,
				size_t errlen)
{
	struct template *t = xcalloc(1, sizeof(*t)), *ret = NULL;
	size_t stack[TEMPLATE_DEPTH_MAX];
	size_t depth = 0, pos = 0, line = 1;
	char q[48];

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	t->text = xmalloc(len + 1);
	if (len > 0)
		memcpy(t->text, text, len);
	t->text[len] = '\0';
	text = t->text;

	while (pos < len) {
		const char *open = memmem(text + pos, len - pos, "{{", 2);
		size_t tag, body, body_end, end, tline, b, e, nlen;
		const char *close, *name;
		enum node_kind kind;
		char sigil;

		if (open == NULL) {
			add_node(t, NODE_TEXT, pos, len - pos, line);
			break;
		}
		tag = (size_t)(open - text);
		tline = line + count_lines(text + pos, tag - pos);
		body = tag + 2;
		close = memmem(text + body, len - body, "}}", 2);
		if (close == NULL) {
			errmsg_set(err, errlen, "line %zu: unclosed tag",
				   tline);
			goto out;
		}
		body_end = (size_t)(close - text);
		end = body_end + 2;
		sigil = body < body_end ? text[body] : '\0';

		/* A tag ends where its first "}}" is; a third '}' is text. */
		kind = tag_kind(sigil);

		/*
		 * Standalone: only blanks before the tag on its line and only
		 * blanks and the line end after it.  Mustache then drops the
		 * whole line, so section tags on their own lines leave no
		 * blank lines behind.
		 */
		b = tag;
		while (b > pos && is_blank(text[b - 1]))
			b--;
		e = end;
		while (e < len && is_blank(text[e]))
			e++;
		if (kind != NODE_VAR && (b == 0 || text[b - 1] == '\n') &&
		    (e == len || text[e] == '\n' ||
		     (text[e] == '\r' && e + 1 < len && text[e + 1] == '\n'))) {
			add_node(t, NODE_TEXT, pos, b - pos, line);
			if (e < len)
				e += text[e] == '\r' ? 2 : 1;
		} else {
			add_node(t, NODE_TEXT, pos, tag - pos, line);
			e = end;
		}
		line = tline + count_lines(text + tag, e - tag);
		pos = e;

		if (sigil == '!')
			continue;
		name = text + body + (kind == NODE_VAR ? 0 : 1);
		nlen = (size_t)(text + body_end - name);
		while (nlen > 0 && is_blank(name[0])) {
			name++;
			nlen--;
		}
		while (nlen > 0 && is_blank(name[nlen - 1]))
			nlen--;
		if (nlen == 0) {
			errmsg_set(err, errlen, "line %zu: empty name in tag",
				   tline);
			goto out;
		}
		if (!valid_name(name, nlen)) {
			quote_name(q, sizeof(q), name, nlen);
			errmsg_set(err, errlen, "line %zu: bad name \"%s\"",
				   tline, q);
			goto out;
		}
		add_node(t, kind, (size_t)(name - text), nlen, tline);
		if (kind == NODE_OPEN || kind == NODE_INVERTED) {
			if (depth == TEMPLATE_DEPTH_MAX) {
				errmsg_set(err, errlen,
					   "line %zu: sections nested deeper "
					   "than %d",
					   tline, TEMPLATE_DEPTH_MAX);
				goto out;
			}
			stack[depth++] = t->n - 1;
		} else if (kind == NODE_CLOSE &&
			   close_section(t, stack, &depth, err, errlen) < 0) {
			goto out;
		}
	}
	if (depth > 0) {
		struct node *o = &t->nodes[stack[depth - 1]];

		quote_name(q, sizeof(q), text + o->off, o->len);
		errmsg_set(err, errlen,
			   "line %zu: section \"%s\" is never closed", o->line,
			   q);
		goto out;
	}
	ret = t;
	t = NULL;
out:
	template_free(t);
	return ret;
}

void template_free(struct template *t)
{
	if (t == NULL)
		return;
	free(t->nodes);
	free(t->text);
	free(t);
}

/* One section being rendered. */
struct frame {
	size_t open;	   /* node index of the open tag */
	const json_t *arr; /* array being iterated, or NULL */
	size_t idx, count;
	bool pushed; /* a context was pushed for this frame */
};

static bool truthy(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_NULL:
	case JSON_FALSE:
		return false;
	case JSON_STRING:
		return json_string_length(v) > 0;
	case JSON_ARRAY:
		return json_array_size(v) > 0;
	default:
		return true;
	}
}

/*
 * Resolves a name: "." is the innermost context; otherwise the first
 * segment is searched from the innermost context outwards and the rest
 * strictly inside what it found (as mustache does).
 */
static const json_t *lookup(const json_t *const *ctx, size_t nctx,
			    const char *name, size_t len)
{
	const json_t *v = NULL;
	const char *dot, *end = name + len;
	size_t seg, i;
	char key[TEMPLATE_NAME_MAX + 1];

	if (len == 1 && name[0] == '.')
		return ctx[nctx - 1];
	dot = memchr(name, '.', len);
	seg = dot ? (size_t)(dot - name) : len;
	memcpy(key, name, seg);
	key[seg] = '\0';
	for (i = nctx; i-- > 0;) {
		if (json_is_object(ctx[i]) &&
		    (v = json_object_get(ctx[i], key)) != NULL)
			break;
	}
	while (v != NULL && dot != NULL) {
		name = dot + 1;
		dot = memchr(name, '.', (size_t)(end - name));
		seg = dot ? (size_t)(dot - name) : (size_t)(end - name);
		memcpy(key, name, seg);
		key[seg] = '\0';
		v = json_is_object(v) ? json_object_get(v, key) : NULL;
	}
	return v;
}

static int put(struct buf *b, const char *s, size_t len)
{
	if (len > TEMPLATE_OUTPUT_MAX - b->len)
		return -1;
	xgrow(&b->p, &b->cap, b->len + len + 1, 1);
	memcpy(b->p + b->len, s, len);
	b->len += len;
	b->p[b->len] = '\0';
	return 0;
}

/* Appends s escaped for mode. */
static int put_escaped(struct buf *b, const char *s, size_t len,
		       enum template_escape mode)
{
	size_t i, start = 0;

	if (mode == TEMPLATE_TEXT)
		return put(b, s, len);
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		const char *rep = NULL;

		if (mode == TEMPLATE_HTML) {
			switch (c) {
			case '&':
				rep = "&amp;";
				break;
			case '<':
				rep = "&lt;";
				break;
			case '>':
				rep = "&gt;";
				break;
			case '"':
				rep = "&quot;";
				break;
			case '\'':
				rep = "&#39;";
				break;
			}
		} else if (c < 0x20 || c == 0x7f) {
			rep = " ";
		}
		if (rep == NULL)
			continue;
		if (put(b, s + start, i - start) != 0 ||
		    put(b, rep, strlen(rep)) != 0)
			return -1;
		start = i + 1;
	}
	return put(b, s + start, len - start);
}

/*
 * Writes a scalar as text: strings as they are, integers in decimal,
 * integral reals below 2^53 without a fraction, other reals with 15
 * significant digits (so 0.1 is "0.1"), booleans as true/false.
 * Returns the length, or -1 for null, objects and arrays.
 */
static int scalar(const json_t *v, char *tmp, size_t tmplen, const char **s,
		  size_t *len)
{
	double d;
	int n;

	switch (json_typeof(v)) {
	case JSON_STRING:
		*s = json_string_value(v);
		*len = json_string_length(v);
		return 0;
	case JSON_INTEGER:
		n = snprintf(tmp, tmplen, "%" JSON_INTEGER_FORMAT,
			     json_integer_value(v));
		break;
	case JSON_REAL:
		d = json_real_value(v);
		/* No libm: the range test comes first so the cast is defined. */
		if (d > -9007199254740992.0 && d < 9007199254740992.0 &&
		    d == (double)(long long)d)
			n = snprintf(tmp, tmplen, "%lld", (long long)d);
		else
			n = snprintf(tmp, tmplen, "%.15g", d);
		break;
	case JSON_TRUE:
		n = snprintf(tmp, tmplen, "true");
		break;
	case JSON_FALSE:
		n = snprintf(tmp, tmplen, "false");
		break;
	default:
		return -1;
	}
	if (n < 0 || (size_t)n >= tmplen)
		return -1;
	*s = tmp;
	*len = (size_t)n;
	return 0;
}

static void too_big(char *err, size_t errlen)
{
	errmsg_set(err, errlen, "output larger than %zu MiB",
		   TEMPLATE_OUTPUT_MAX / (1024 * 1024));
}

static const char *type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_NULL:
		return "null";
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "a list";
	default:
		return "a value";
	}
}

char *template_render(const struct template *t, const json_t *ctx,
		      enum template_escape mode, size_t *len, char *err,
		      size_t errlen)
{
	const json_t *stack[TEMPLATE_DEPTH_MAX + 1];
	struct frame frames[TEMPLATE_DEPTH_MAX];
	size_t nctx = 0, nframes = 0, i = 0, steps = 0;
	struct buf out = { NULL, 0, 0 };
	char *ret = NULL, q[48], tmp[64];

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (len != NULL)
		*len = 0;
	if (t == NULL || ctx == NULL) {
		errmsg_set(err, errlen, "no template or no context");
		goto out;
	}
	stack[nctx++] = ctx;
	put(&out, "", 0);

	while (i < t->n) {
		const struct node *nd = &t->nodes[i];
		const char *name = t->text + nd->off, *s;
		const json_t *v = NULL;
		struct frame *f;
		size_t slen;

		if (++steps > TEMPLATE_STEPS_MAX) {
			errmsg_set(err, errlen,
				   "template takes too many steps");
			goto out;
		}
		if (nd->kind == NODE_TEXT) {
			if (put_escaped(&out, name, nd->len,
					mode == TEMPLATE_HEADER
						? TEMPLATE_HEADER
						: TEMPLATE_TEXT) != 0) {
				too_big(err, errlen);
				goto out;
			}
			i++;
			continue;
		}
		if (nd->kind == NODE_CLOSE) {
			f = &frames[nframes - 1];
			if (++f->idx < f->count) {
				stack[nctx - 1] =
					json_array_get(f->arr, f->idx);
				i = f->open + 1;
				continue;
			}
			if (f->pushed)
				nctx--;
			nframes--;
			i++;
			continue;
		}
		quote_name(q, sizeof(q), name, nd->len);
		v = lookup(stack, nctx, name, nd->len);
		if (v == NULL) {
			errmsg_set(err, errlen, "line %zu: no value for \"%s\"",
				   nd->line, q);
			goto out;
		}
		if (nd->kind == NODE_VAR) {
			if (scalar(v, tmp, sizeof(tmp), &s, &slen) != 0) {
				errmsg_set(err, errlen,
					   "line %zu: \"%s\" is %s, not text",
					   nd->line, q, type_name(v));
				goto out;
			}
			if (put_escaped(&out, s, slen, mode) != 0) {
				too_big(err, errlen);
				goto out;
			}
			i++;
			continue;
		}
		/* Open or inverted: skip to after the close, or enter. */
		if (truthy(v) == (nd->kind == NODE_INVERTED)) {
			i = nd->match + 1;
			continue;
		}
		/* The parser limits nesting to TEMPLATE_DEPTH_MAX. */
		f = &frames[nframes++];
		f->open = i;
		f->arr = NULL;
		f->idx = 0;
		f->count = 1;
		f->pushed = false;
		if (nd->kind == NODE_OPEN) {
			if (json_is_array(v)) {
				f->arr = v;
				f->count = json_array_size(v);
				v = json_array_get(v, 0);
			}
			stack[nctx++] = v;
			f->pushed = true;
		}
		i++;
	}
	if (mode == TEMPLATE_HEADER) {
		/* A template file's final newline must not end a header. */
		while (out.len > 0 && out.p[out.len - 1] == ' ')
			out.p[--out.len] = '\0';
	}
	if (len != NULL)
		*len = out.len;
	ret = out.p;
	out.p = NULL;
out:
	free(out.p);
	return ret;
}
