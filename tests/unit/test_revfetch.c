/*
 * test_revfetch.c - the engine reports a responder that is down as a
 * transient error, never as good, and frees checks still pending.  (The
 * answers themselves are judged by core/ocsp: test_ocsp.c.)
 */
#include "certrecall/net/revfetch.h"
#include "ocsp_fixture.h"

static void record(const struct revfetch_result *res, void *user)
{
	struct revfetch_result *out = user;

	*out = *res;
	out->url = NULL;
}

static void fetched(const char *url, bool ok, bool transient, long http,
		    const unsigned char *body, size_t len, const char *err,
		    void *user)
{
	char *out = user;

	(void)url;
	(void)http;
	(void)body;
	(void)len;
	snprintf(out, 256, "%s%s %s", ok ? "ok" : "failed",
		 transient ? " (transient)" : "", err ? err : "");
}

START_TEST(a_responder_that_is_down_is_an_error_not_good)
{
	/* Port 1 on loopback: nothing listens, connect is refused. */
	struct revfetch_opts o = { .retries = 1,
				   .backoff_ms = 10,
				   .timeout_ms = 2000,
				   .ocsp_cb = record };
	struct revfetch *rc = revfetch_new(&o);
	struct revfetch_result res[2];
	char fetch_out[256] = "";

	memset(res, 0, sizeof(res));
	res[0].answer.status = res[1].answer.status = OCSP_GOOD;
	ck_assert_ptr_nonnull(rc);
	ck_assert_int_eq(revfetch_add_ocsp(rc, "http://127.0.0.1:1/", ca, &ours,
					   &res[0]),
			 0);
	ck_assert_int_eq(revfetch_add_ocsp(rc, "http://127.0.0.1:1/ocsp", ca,
					   &theirs, &res[1]),
			 0);
	revfetch_add_fetch(rc, "http://127.0.0.1:1/x.crl", 1 << 20, fetched,
			   fetch_out);
	ck_assert_uint_eq(revfetch_pending(rc), 3);
	ck_assert_int_eq(revfetch_run(rc), 0);
	ck_assert_uint_eq(revfetch_pending(rc), 0);
	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(res[i].answer.status, OCSP_ERROR);
		ck_assert_int_eq(res[i].attempts, 2);
		ck_assert(
			res[i].answer.transient); /* a later run may succeed */
		ck_assert_msg(strstr(res[i].answer.error, "transport") != NULL,
			      "%s", res[i].answer.error);
	}
	ck_assert_int_eq(serial_compare(&res[1].answer.serial, &theirs), 0);
	ck_assert_msg(strncmp(fetch_out, "failed (transient) transport", 28) ==
			      0,
		      "%s", fetch_out);
	revfetch_free(rc);
}
END_TEST

START_TEST(freeing_with_checks_pending_releases_everything)
{
	struct revfetch_opts o = { .ocsp_cb = record, .ocsp_get = true };
	struct revfetch *rc = revfetch_new(&o);
	struct revfetch_result res;

	ck_assert_int_eq(
		revfetch_add_ocsp(rc, "http://127.0.0.1:1/", ca, &ours, &res),
		0);
	ck_assert_int_ge(revfetch_step(rc, 0), 0);
	revfetch_free(rc);
}
END_TEST

static Suite *revfetch_suite(void)
{
	Suite *s = suite_create("revfetch");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, a_responder_that_is_down_is_an_error_not_good);
	tcase_add_test(tc, freeing_with_checks_pending_releases_everything);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(revfetch_suite)
