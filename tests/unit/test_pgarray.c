/*
 * test_pgarray.c - PostgreSQL's text form of an array: what the builder
 * writes, the reader reads back; the reader takes the forms PostgreSQL
 * writes (bare, quoted, NULL, empty) and refuses everything else.  The
 * forms PostgreSQL itself writes are checked against the server in
 * tests/integration/037-notice-listing.sh.  The binary form likewise:
 * what PostgreSQL sends is read, everything else refused.
 */
#include <stdint.h>

#include "certrecall/store/pgarray.h"
#include "unit.h"

/* What a parse of copy gave (rc, e[0..n)): the elements joined by '|',
 * NULL as "<null>" (caller frees), or NULL when it was refused; frees e
 * and copy. */
static char *joined(int rc, char *copy, char **e, size_t n)
{
	char *out;
	size_t len = 1;

	if (rc < 0) {
		ck_assert_ptr_null(e);
		ck_assert_uint_eq(n, 0);
		free(copy);
		return NULL;
	}
	for (size_t i = 0; i < n; i++)
		len += (e[i] ? strlen(e[i]) : 6) + 1;
	out = calloc(1, len);
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			strcat(out, "|");
		strcat(out, e[i] ? e[i] : "<null>");
	}
	free(e);
	free(copy);
	return out;
}

/* text parsed, as joined() says. */
static char *parsed(const char *text)
{
	char *copy = strdup(text), **e;
	size_t n;
	int rc = pgarray_parse(copy, &e, &n);

	return joined(rc, copy, e, n);
}

static void check_parsed(const char *text, const char *want)
{
	char *got = parsed(text);

	ck_assert_msg(got != NULL, "%s was refused", text);
	ck_assert_str_eq(got, want);
	free(got);
}

START_TEST(what_postgresql_writes_is_read)
{
	check_parsed("{}", "");
	check_parsed("{a}", "a");
	check_parsed("{1,22,333}", "1|22|333");
	check_parsed("{NULL,a,NULL}", "<null>|a|<null>");
	/* the word quoted is a word, not NULL */
	check_parsed("{\"NULL\",null,NULLS}", "NULL|null|NULLS");
	check_parsed("{\"\",\"\"}", "|");
	check_parsed("{\"a b\",\"x,y\",\"{}\"}", "a b|x,y|{}");
	check_parsed("{\"q\\\"q\",\"b\\\\s\"}", "q\"q|b\\s");
	check_parsed("{\"tab\there\"}", "tab\there");
	check_parsed("{caf\xc3\xa9}", "caf\xc3\xa9");
	/* two dimensions, read row after row */
	check_parsed("{{a,\"b c\"},{NULL,d}}", "a|b c|<null>|d");
	check_parsed("{{x}}", "x");
}
END_TEST

START_TEST(anything_else_is_refused)
{
	static const char *const bad[] = {
		"", "a", "{", "{a", "{a,}", "{,a}", "{a}x", "{\"a}", "{\"a\"b}",
		"{a b}", "[1:2]={a,b}", "{\"a\\}", "{a}}", "{ a}", "{a,,b}",
		"}", "{\"a\",}",
		/* two dimensions: rows of one width, nothing else */
		"{{a},{b,c}}", "{{a},b}", "{{a}", "{{a}},{b}}", "{{}}",
		"{{a}{b}}", "{{{a}}}", "{{a},}"
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *got = parsed(bad[i]);

		ck_assert_msg(got == NULL, "%s was read as %s", bad[i], got);
	}
}
END_TEST

START_TEST(the_builder_and_the_reader_agree)
{
	static const char *const v[] = { "plain", "",	  "NULL", "a,b",
					 "q\"q",  "b\\s", " sp ", "{x}",
					 NULL,	  "\t\n", "\\" };
	struct pgarray a = { 0 };
	char *text, **e;
	size_t n, k = sizeof(v) / sizeof(v[0]);

	for (size_t i = 0; i < k; i++)
		pgarray_add(&a, v[i]);
	text = strdup(pgarray_end(&a));
	ck_assert_int_eq(pgarray_parse(text, &e, &n), 0);
	ck_assert_uint_eq(n, k);
	for (size_t i = 0; i < k; i++) {
		if (v[i] == NULL)
			ck_assert_ptr_null(e[i]);
		else
			ck_assert_str_eq(e[i], v[i]);
	}
	free(e);
	free(text);
	free(a.p);

	/* nothing added: the empty array */
	memset(&a, 0, sizeof(a));
	ck_assert_str_eq(pgarray_end(&a), "{}");
	free(a.p);
}
END_TEST

/* ---- the binary form ---------------------------------------------- */

/* A binary value being built, as array_send() writes it. */
struct blob {
	char b[256];
	size_t len;
};

static void put32(struct blob *x, uint32_t v)
{
	x->b[x->len++] = (char)(v >> 24);
	x->b[x->len++] = (char)(v >> 16);
	x->b[x->len++] = (char)(v >> 8);
	x->b[x->len++] = (char)v;
}

/* The header: ndim dimensions of the lengths in dims, lower bound 1. */
static void header(struct blob *x, uint32_t ndim, uint32_t flags, uint32_t type,
		   const uint32_t *dims)
{
	x->len = 0;
	put32(x, ndim);
	put32(x, flags);
	put32(x, type);
	for (uint32_t d = 0; d < ndim; d++) {
		put32(x, dims[d]);
		put32(x, 1);
	}
}

/* An element; NULL for SQL NULL. */
static void element(struct blob *x, const char *v)
{
	if (v == NULL) {
		put32(x, UINT32_MAX);
		return;
	}
	put32(x, (uint32_t)strlen(v));
	memcpy(x->b + x->len, v, strlen(v));
	x->len += strlen(v);
}

/* x parsed, as joined() says. */
static char *parsed_binary(const struct blob *x)
{
	char *copy = malloc(x->len + 1), **e;
	size_t n;
	int rc;

	memcpy(copy, x->b, x->len);
	rc = pgarray_parse_binary(copy, x->len, &e, &n);
	return joined(rc, copy, e, n);
}

START_TEST(the_binary_form_is_read)
{
	struct blob x;
	char *got;

	/* a listing's shape: two rows of three, a NULL, an empty string,
	 * text that the text form would quote */
	header(&x, 2, 1, 25, (const uint32_t[]){ 2, 3 });
	element(&x, "acct, \"x\"");
	element(&x, "0a1b");
	element(&x, NULL);
	element(&x, "");
	element(&x, "{}");
	element(&x, "NULL");
	got = parsed_binary(&x);
	ck_assert_str_eq(got, "acct, \"x\"|0a1b|<null>||{}|NULL");
	free(got);
	/* one dimension */
	header(&x, 1, 0, 25, (const uint32_t[]){ 1 });
	element(&x, "only");
	got = parsed_binary(&x);
	ck_assert_str_eq(got, "only");
	free(got);
	/* the empty array: no dimension */
	header(&x, 0, 0, 25, NULL);
	got = parsed_binary(&x);
	ck_assert_str_eq(got, "");
	free(got);
}
END_TEST

START_TEST(anything_else_in_binary_is_refused)
{
	struct blob x;

	/* every cut of a good value short of its end */
	header(&x, 2, 1, 25, (const uint32_t[]){ 1, 2 });
	element(&x, "ab");
	element(&x, NULL);
	for (size_t cut = 0; cut < x.len; cut++) {
		struct blob y = x;

		y.len = cut;
		ck_assert_ptr_null(parsed_binary(&y));
	}
	/* a byte past its end */
	x.b[x.len++] = 'x';
	ck_assert_ptr_null(parsed_binary(&x));
	/* three dimensions; not text (int4 is 23); a flag that is not one */
	header(&x, 3, 0, 25, (const uint32_t[]){ 1, 1, 1 });
	element(&x, "a");
	ck_assert_ptr_null(parsed_binary(&x));
	header(&x, 1, 0, 23, (const uint32_t[]){ 1 });
	element(&x, "a");
	ck_assert_ptr_null(parsed_binary(&x));
	header(&x, 1, 2, 25, (const uint32_t[]){ 1 });
	element(&x, "a");
	ck_assert_ptr_null(parsed_binary(&x));
	/* a dimension of no element, or of more than the bytes hold */
	header(&x, 1, 0, 25, (const uint32_t[]){ 0 });
	ck_assert_ptr_null(parsed_binary(&x));
	header(&x, 2, 0, 25, (const uint32_t[]){ 65536, 65536 });
	element(&x, "a");
	ck_assert_ptr_null(parsed_binary(&x));
	/* a NULL where the flag says there is none */
	header(&x, 1, 0, 25, (const uint32_t[]){ 1 });
	element(&x, NULL);
	ck_assert_ptr_null(parsed_binary(&x));
	/* an element longer than what is left, and one holding a NUL */
	header(&x, 1, 0, 25, (const uint32_t[]){ 1 });
	put32(&x, 200);
	memcpy(x.b + x.len, "abc", 3);
	x.len += 3;
	ck_assert_ptr_null(parsed_binary(&x));
	header(&x, 1, 0, 25, (const uint32_t[]){ 1 });
	put32(&x, 3);
	memcpy(x.b + x.len, "a\0c", 3);
	x.len += 3;
	ck_assert_ptr_null(parsed_binary(&x));
}
END_TEST

static Suite *pgarray_suite(void)
{
	Suite *s = suite_create("pgarray");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, what_postgresql_writes_is_read);
	tcase_add_test(tc, anything_else_is_refused);
	tcase_add_test(tc, the_builder_and_the_reader_agree);
	tcase_add_test(tc, the_binary_form_is_read);
	tcase_add_test(tc, anything_else_in_binary_is_refused);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(pgarray_suite)
