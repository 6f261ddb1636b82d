/*
 * test_ari.c - RFC 9773's worked certID computes exactly; a certID
 * parses back to the key identifier and the stored serial; malformed
 * certIDs (padding, no dot, two dots, non-minimal DER, stray bits) are
 * refused; windows end the margin before the deadline and Retry-After
 * shortens as it nears.
 */
#include "certrecall/core/ari.h"
#include "certrecall/core/deadline.h"
#include "unit.h"

/* RFC 9773 4.1: keyIdentifier 69:88:5B:6B:87:46:40:41:E1:B3:7B:84:7B:A0:
 * AE:2C:DE:01:C8:D4 and serial 0x87654321 (DER content 00 87 65 43 21). */
static const unsigned char rfc_aki[] = { 0x69, 0x88, 0x5b, 0x6b, 0x87,
					 0x46, 0x40, 0x41, 0xe1, 0xb3,
					 0x7b, 0x84, 0x7b, 0xa0, 0xae,
					 0x2c, 0xde, 0x01, 0xc8, 0xd4 };
static const char rfc_certid[] = "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE";

START_TEST(rfc9773_example_formats_exactly)
{
	struct serial s = { 4, { 0x87, 0x65, 0x43, 0x21 } };
	char buf[ARI_CERTID_MAX];

	ck_assert_int_eq(ari_certid_format(rfc_aki, sizeof(rfc_aki), &s, buf,
					   sizeof(buf)),
			 0);
	ck_assert_str_eq(buf, rfc_certid);
}
END_TEST

START_TEST(rfc9773_example_parses_to_stored_serial)
{
	struct ari_certid id;
	char err[128];

	ck_assert_int_eq(ari_certid_parse(rfc_certid, strlen(rfc_certid), &id,
					  err, sizeof(err)),
			 0);
	ck_assert_uint_eq(id.aki_len, sizeof(rfc_aki));
	ck_assert_mem_eq(id.aki, rfc_aki, sizeof(rfc_aki));
	ck_assert_uint_eq(id.serial.len, 4);
	ck_assert_mem_eq(id.serial.b, "\x87\x65\x43\x21", 4);
}
END_TEST

static const char *const refused[] = {
	"",
	".",
	"aYhba4dGQEHhs3uEe6CuLN4ByNQ",
	"aYhba4dGQEHhs3uEe6CuLN4ByNQ.",
	".AIdlQyE",
	"aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE.",
	"aYhba4dGQEHhs3uEe6CuLN4ByNQ=.AIdlQyE",
	"aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE=",
	"aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdl+yE",
	"aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyF", /* stray low bits */
	"aYhba4dGQEHhs3uEe6CuLN4ByNQ.AABlQyE", /* 00 00 65..: not minimal */
	"aYhba4dGQEHhs3uEe6CuLN4ByNQ.A",       /* length 1 mod 4 */
	/* 22 octets of serial */
	"aYhba4dGQEHhs3uEe6CuLN4ByNQ.ESIzRFVmd4iZqrvM3e7_ESIzRFVmd4iZqg",
};

START_TEST(malformed_certids_are_refused)
{
	struct ari_certid id;
	char err[128] = "";

	ck_assert_int_eq(ari_certid_parse(refused[_i], strlen(refused[_i]), &id,
					  err, sizeof(err)),
			 -1);
	ck_assert_int_ne(err[0], '\0');
}
END_TEST

START_TEST(format_and_parse_round_trip)
{
	static const unsigned char aki[3] = { 1, 2, 3 };
	struct serial s = { 1, { 0x7f } };
	struct ari_certid id;
	char buf[ARI_CERTID_MAX], err[128];

	for (int len = 1; len <= SERIAL_MAX; len++) {
		s.len = (size_t)len;
		for (int i = 0; i < len; i++)
			s.b[i] = (unsigned char)(0xf0 + i);
		ck_assert_int_eq(
			ari_certid_format(aki, 3, &s, buf, sizeof(buf)), 0);
		ck_assert_int_eq(ari_certid_parse(buf, strlen(buf), &id, err,
						  sizeof(err)),
				 0);
		ck_assert_uint_eq(id.serial.len, s.len);
		ck_assert_mem_eq(id.serial.b, s.b, s.len);
	}
}
END_TEST

START_TEST(affected_window_ends_margin_before_deadline)
{
	struct ari_window w;
	time_t start = 1000000, must_by = start + 5 * 86400;

	ari_window_affected(start, must_by, 86400, 6 * 3600, start, &w);
	ck_assert_int_eq(w.end, must_by - 86400);
	ck_assert_int_eq(w.start, start);
	ck_assert_int_eq(w.retry_after, 6 * 3600);
	/* two hours before the end: a quarter of it */
	ari_window_affected(start, must_by, 86400, 6 * 3600, w.end - 7200, &w);
	ck_assert_int_eq(w.retry_after, 1800);
	/* past: renew now, ask again within the hour */
	ari_window_affected(start, must_by, 86400, 6 * 3600, must_by, &w);
	ck_assert_int_le(w.end, must_by - 86400);
	ck_assert_int_eq(w.retry_after, 3600);
	/* a margin wider than the clock: still a window, ending in the past */
	ari_window_affected(start, start + 3600, 86400, 60, start, &w);
	ck_assert_int_lt(w.start, w.end);
	ck_assert_int_lt(w.end, start);
}
END_TEST

START_TEST(lifetime_window_is_two_thirds_in)
{
	struct ari_window w;

	ck_assert_int_eq(ari_window_lifetime(0, 90 * 86400, 3600, &w), 0);
	ck_assert_int_eq(w.start, 60 * 86400);
	ck_assert_int_eq(w.end, 90 * 86400 / 4 * 3);
	ck_assert_int_eq(ari_window_lifetime(DEADLINE_UNSET, 10, 3600, &w), -1);
	ck_assert_int_eq(ari_window_lifetime(10, 10, 3600, &w), -1);
}
END_TEST

static Suite *ari_suite(void)
{
	Suite *s = suite_create("ari");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, rfc9773_example_formats_exactly);
	tcase_add_test(tc, rfc9773_example_parses_to_stored_serial);
	tcase_add_loop_test(tc, malformed_certids_are_refused, 0,
			    (int)(sizeof(refused) / sizeof(refused[0])));
	tcase_add_test(tc, format_and_parse_round_trip);
	tcase_add_test(tc, affected_window_ends_margin_before_deadline);
	tcase_add_test(tc, lifetime_window_is_two_thirds_in);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(ari_suite)
