/*
 * test_pgarray.c - PostgreSQL's text form of an array: what the builder
 * writes, the reader reads back; the reader takes the forms PostgreSQL
 * writes (bare, quoted, NULL, empty) and refuses everything else.  The
 * forms PostgreSQL itself writes are checked against the server in
 * tests/integration/037-notice-listing.sh.
 */
#include "certrecall/store/pgarray.h"
#include "unit.h"

/* text parsed: its elements joined by '|', NULL as "<null>" (caller
 * frees), or NULL when it is refused. */
static char *parsed(const char *text)
{
	char *copy = strdup(text), **e, *out;
	size_t n, len = 1;

	if (pgarray_parse(copy, &e, &n) < 0) {
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

static Suite *pgarray_suite(void)
{
	Suite *s = suite_create("pgarray");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, what_postgresql_writes_is_read);
	tcase_add_test(tc, anything_else_is_refused);
	tcase_add_test(tc, the_builder_and_the_reader_agree);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(pgarray_suite)
