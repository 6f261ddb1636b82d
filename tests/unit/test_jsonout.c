/*
 * test_jsonout.c - the JSON every command writes: a schema member first,
 * times RFC 3339 UTC with Z or null, snake_case keys for counts keyed by
 * the tool's names, one indented document or one line, and a pack
 * failure is an error rather than an empty document.
 */
#include "certrecall/core/deadline.h"
#include "certrecall/core/jsonout.h"
#include "unit.h"

#include <stdlib.h>
#include <string.h>

/* What jsonout_write(doc, mode) writes, as a string (free it). */
static char *written(json_t *doc, enum jsonout_mode mode, int *rc)
{
	char *text = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&text, &len);

	ck_assert_ptr_nonnull(mem);
	*rc = jsonout_write(doc, mem, mode);
	fclose(mem);
	return text;
}

START_TEST(test_schema_first)
{
	json_t *doc = jsonout_new("status");
	int rc;
	char *s;

	json_object_set_new(doc, "at", jsonout_time(1583377680));
	s = written(doc, JSONOUT_LINES, &rc);
	ck_assert_int_eq(rc, 0);
	ck_assert_str_eq(s, "{\"schema\":\"certrecall-status/1\","
			    "\"at\":\"2020-03-05T03:08:00Z\"}\n");
	free(s);
}
END_TEST

START_TEST(test_indented_document)
{
	json_t *doc = jsonout_new("x");
	int rc;
	char *s;

	json_object_set_new(doc, "n", json_integer(3));
	s = written(doc, JSONOUT_DOC, &rc);
	ck_assert_int_eq(rc, 0);
	ck_assert_str_eq(s, "{\n  \"schema\": \"certrecall-x/1\",\n"
			    "  \"n\": 3\n}\n");
	free(s);
}
END_TEST

START_TEST(test_times)
{
	json_t *t;

	t = jsonout_time(0);
	ck_assert_str_eq(json_string_value(t), "1970-01-01T00:00:00Z");
	json_decref(t);
	t = jsonout_time(DEADLINE_UNSET);
	ck_assert(json_is_null(t));
	json_decref(t);
	/* Beyond year 9999: not a time RFC 3339 can write. */
	t = jsonout_time((time_t)253402300800LL);
	ck_assert(json_is_null(t));
	json_decref(t);
	t = jsonout_str(NULL);
	ck_assert(json_is_null(t));
	json_decref(t);
}
END_TEST

START_TEST(test_snake_case_keys)
{
	static const char *const names[][2] = {
		{ "revoked-on-time", "revoked_on_time" },
		{ "not scanned", "not_scanned" },
		{ "deployed", "deployed" },
	};
	json_t *o = json_object();

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		jsonout_set_key(o, names[i][0], json_integer((json_int_t)i));
		ck_assert_msg(json_object_get(o, names[i][1]) != NULL, "%s",
			      names[i][1]);
		if (strcmp(names[i][0], names[i][1]) != 0)
			ck_assert_ptr_null(json_object_get(o, names[i][0]));
	}
	json_decref(o);
}
END_TEST

START_TEST(test_pack_failure_is_an_error)
{
	int rc;
	char *s = written(NULL, JSONOUT_DOC, &rc);

	ck_assert_int_eq(rc, -1);
	ck_assert_str_eq(s, "");
	free(s);
}
END_TEST

START_TEST(test_write_error)
{
	FILE *full = fopen("/dev/full", "w");

	if (full == NULL)
		return; /* no /dev/full here */
	ck_assert_int_eq(jsonout_write(jsonout_new("x"), full, JSONOUT_DOC),
			 -1);
	fclose(full);
}
END_TEST

static Suite *jsonout_suite(void)
{
	Suite *s = suite_create("jsonout");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_schema_first);
	tcase_add_test(tc, test_indented_document);
	tcase_add_test(tc, test_times);
	tcase_add_test(tc, test_snake_case_keys);
	tcase_add_test(tc, test_pack_failure_is_an_error);
	tcase_add_test(tc, test_write_error);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(jsonout_suite)
