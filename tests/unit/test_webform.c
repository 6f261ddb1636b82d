/*
 * test_webform.c - form fields decode '+' and %XX, the first occurrence
 * wins, bad escapes and NULs and overlong values are refused; targets
 * take NAME, NAME:PORT, [V6]:PORT, and refuse bad ports and wildcards.
 */
#include "certrecall/core/webform.h"
#include "unit.h"

START_TEST(field_decodes_plus_and_percent)
{
	static const char body[] = "a=1&pem=-----BEGIN+X-----%0Ab%2B%2F%3D&"
				   "pem=second";
	char out[64];

	ck_assert_int_eq(
		webform_field(body, strlen(body), "pem", out, sizeof(out)), 22);
	ck_assert_str_eq(out, "-----BEGIN X-----\nb+/=");
	ck_assert_int_eq(
		webform_field(body, strlen(body), "a", out, sizeof(out)), 1);
	ck_assert_int_eq(
		webform_field(body, strlen(body), "p", out, sizeof(out)), -1);
}
END_TEST

START_TEST(field_refuses_bad_escapes_nul_and_overlong)
{
	char out[4];

	ck_assert_int_eq(webform_field("pem=%4", 6, "pem", out, sizeof(out)),
			 -2);
	ck_assert_int_eq(webform_field("pem=%zz", 7, "pem", out, sizeof(out)),
			 -2);
	ck_assert_int_eq(webform_field("pem=%00", 7, "pem", out, sizeof(out)),
			 -2);
	ck_assert_int_eq(webform_field("pem=abcd", 8, "pem", out, sizeof(out)),
			 -2);
	ck_assert_int_eq(webform_field("pem=abc", 7, "pem", out, sizeof(out)),
			 3);
}
END_TEST

START_TEST(targets)
{
	char host[300], err[256];
	uint16_t port;

	ck_assert_int_eq(webform_target("WWW.Example.com", host, sizeof(host),
					&port, err, sizeof(err)),
			 0);
	ck_assert_str_eq(host, "www.example.com");
	ck_assert_int_eq(port, 443);
	ck_assert_int_eq(webform_target("a.test:8443", host, sizeof(host),
					&port, err, sizeof(err)),
			 0);
	ck_assert_int_eq(port, 8443);
	ck_assert_int_eq(webform_target("a.test:0", host, sizeof(host), &port,
					err, sizeof(err)),
			 -1);
	ck_assert_int_eq(webform_target("a.test:65536", host, sizeof(host),
					&port, err, sizeof(err)),
			 -1);
	ck_assert_int_eq(webform_target("a.test:+1", host, sizeof(host), &port,
					err, sizeof(err)),
			 -1);
	ck_assert_int_eq(webform_target("*.a.test", host, sizeof(host), &port,
					err, sizeof(err)),
			 -1);
	ck_assert_ptr_nonnull(strstr(err, "wildcard"));
	ck_assert_int_eq(webform_target("[2001:db8::1", host, sizeof(host),
					&port, err, sizeof(err)),
			 -1);
}
END_TEST

static Suite *webform_suite(void)
{
	Suite *s = suite_create("webform");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, field_decodes_plus_and_percent);
	tcase_add_test(tc, field_refuses_bad_escapes_nul_and_overlong);
	tcase_add_test(tc, targets);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(webform_suite)
