/*
 * pgarray - PostgreSQL's text form of an array: one dimension built for
 * a statement's parameter, one or two read from a result.
 *
 * The form (PostgreSQL manual, "Array Value Input"): "{a,b,NULL}"; an
 * element is written in double quotes, with '"' and '\' escaped by '\',
 * when it is empty, is the word NULL, or holds a brace, a comma, a quote,
 * a backslash or white space; a bare NULL is SQL NULL.
 */
#ifndef CERTRECALL_PGARRAY_H
#define CERTRECALL_PGARRAY_H

#include <stddef.h>

/* An array literal being built; zero-initialised, freed by free(a.p). */
struct pgarray {
	char *p;
	size_t len, cap;
};

/* Appends an element (NULL for SQL NULL), quoted. */
void pgarray_add(struct pgarray *a, const char *v);

/* Closes the literal ("{}" when nothing was added) and returns it. */
const char *pgarray_end(struct pgarray *a);

/*
 * Reads the literal text, in place: the elements are unescaped within
 * text and *elems (caller frees; text must outlive it) points at each,
 * NULL for SQL NULL; *n is their count.  One dimension or two (rows of
 * one width, "{{a,b},{c,d}}", read row after row), with the default
 * bounds.  0, or -1 when text is not such a literal (then *elems is
 * NULL).
 */
int pgarray_parse(char *text, char ***elems, size_t *n);

/*
 * Reads the binary form of a text[] value (a result asked in binary:
 * PostgreSQL's array_send(): dimensions, a flag for NULLs, the element
 * type, each dimension's length and lower bound, then every element as
 * a 32-bit length, -1 for NULL, and its bytes, all big-endian), in
 * place: the elements are moved down and NUL-terminated within buf (len
 * bytes) as pgarray_parse() gives them.  No dimension (the empty array),
 * one or two, of text elements without NUL bytes.  0, or -1 when buf is
 * not such a value (then *elems is NULL).  Printing and quoting every
 * element in text was three times the server's work of sending a big
 * notice's listing this way (docs/notify.md, "The eighth round").
 */
int pgarray_parse_binary(char *buf, size_t len, char ***elems, size_t *n);

#endif
