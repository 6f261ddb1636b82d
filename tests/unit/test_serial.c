/*
 * test_serial.c - every spelling of a serial (prefix, colons, spaces,
 * case, leading zeros, decimal) gives one canonical byte string; empty,
 * non-hex, zero and over-20-octet input is rejected with the input quoted.
 */
#include "certrecall/core/serial.h"
#include "unit.h"

#include <stdlib.h>
#include <string.h>

static const char *hex(const struct serial *s)
{
	static char buf[SERIAL_TEXT_MAX];

	serial_format_hex(s, buf, sizeof(buf));
	return buf;
}

/* Accepted input, base, and the canonical lowercase hex it denotes. */
static const struct {
	const char *in;
	int base;
	const char *want;
} accepted[] = {
	{ "ab", 16, "ab" },
	{ "AB", 16, "ab" },
	{ "0xab", 16, "ab" },
	{ "0XAB", 16, "ab" },
	{ "00:AB", 16, "ab" },
	{ "00ab", 16, "ab" },
	{ "0000000000000000000000000000000000000000000000ab", 16, "ab" },
	{ "ab:cd:ef", 16, "abcdef" },
	{ "ab cd ef", 16, "abcdef" },
	{ "AB:cd EF", 16, "abcdef" },
	{ "  abcd\t", 16, "abcd" },
	/* odd digit count: the first digit is a leading nibble */
	{ "abc", 16, "0abc" },
	{ "1", 16, "01" },
	{ "0x1", 16, "01" },
	{ "03d4d4bdb6bc0d2f7bc0a7ffe2bfc7d2bf7c", 16,
	  "03d4d4bdb6bc0d2f7bc0a7ffe2bfc7d2bf7c" },
	/* exactly 20 octets, with and without a leading zero byte */
	{ "7fffffffffffffffffffffffffffffffffffffff", 16,
	  "7fffffffffffffffffffffffffffffffffffffff" },
	{ "00ffffffffffffffffffffffffffffffffffffffff", 16,
	  "ffffffffffffffffffffffffffffffffffffffff" },
	{ "fffffffffffffffffffffffffffffffffffffff", 16,
	  "0fffffffffffffffffffffffffffffffffffffff" },
	/* --serial-base 10 */
	{ "171", 10, "ab" },
	{ "0171", 10, "ab" },
	{ "1", 10, "01" },
	{ "256", 10, "0100" },
	{ "65535", 10, "ffff" },
	{ "18446744073709551616", 10, "010000000000000000" },
	{ " 42 ", 10, "2a" },
	/* 2^160 - 1: the largest 20-octet value */
	{ "1461501637330902918203684832716283019655932542975", 10,
	  "ffffffffffffffffffffffffffffffffffffffff" },
	{ "0001461501637330902918203684832716283019655932542975", 10,
	  "ffffffffffffffffffffffffffffffffffffffff" },
};

START_TEST(accepted_forms_give_the_canonical_bytes)
{
	struct serial s;
	char err[256] = "";

	ck_assert_msg(serial_parse(&s, accepted[_i].in, strlen(accepted[_i].in),
				   accepted[_i].base, err, sizeof(err)) == 0,
		      "%s: %s", accepted[_i].in, err);
	ck_assert_str_eq(hex(&s), accepted[_i].want);
	ck_assert_uint_eq(s.len, strlen(accepted[_i].want) / 2);
	ck_assert_uint_ne(s.b[0], 0);
}
END_TEST

/* Rejected input, base, and a piece of the message it must give. */
static const struct {
	const char *in;
	int base;
	const char *why;
} rejected[] = {
	{ "", 16, "empty serial" },
	{ "   ", 16, "empty serial" },
	{ "0x", 16, "empty serial" },
	{ "", 10, "empty serial" },
	{ "0", 16, "serial is zero" },
	{ "00:00", 16, "serial is zero" },
	{ "0x000", 16, "serial is zero" },
	{ "000", 10, "serial is zero" },
	{ "abg", 16, "not hex" },
	{ "0xzz", 16, "not hex" },
	{ "ab-cd", 16, "not hex" },
	{ "ab\ncd", 16, "not hex" },
	{ "12a", 10, "not decimal" },
	{ "0x12", 10, "not decimal" },
	{ "-1", 10, "not decimal" },
	{ ":ab", 16, "misplaced separator" },
	{ "ab:", 16, "misplaced separator" },
	{ "ab::cd", 16, "misplaced separator" },
	{ "0x:ab", 16, "misplaced separator" },
	/* 21 octets, and 41 digits */
	{ "010000000000000000000000000000000000000000", 16,
	  "longer than 20 octets" },
	{ "10000000000000000000000000000000000000000", 16,
	  "longer than 20 octets" },
	/* 2^160: one more than the largest 20-octet value */
	{ "1461501637330902918203684832716283019655932542976", 10,
	  "longer than 20 octets" },
	{ "99999999999999999999999999999999999999999999999999", 10,
	  "longer than 20 octets" },
	{ "ab", 8, "unsupported serial base" },
};

START_TEST(invalid_serials_are_rejected_with_the_input_quoted)
{
	struct serial s = { 1, { 0x42 } };
	char err[256] = "";
	const char *in = rejected[_i].in;

	ck_assert_int_eq(serial_parse(&s, in, strlen(in), rejected[_i].base,
				      err, sizeof(err)),
			 -1);
	ck_assert_msg(strstr(err, rejected[_i].why) != NULL, "%s: %s", in, err);
	ck_assert_msg(strstr(err, "(near \"") != NULL, "%s", err);
	/* A failed parse leaves the output alone. */
	ck_assert_uint_eq(s.len, 1);
	ck_assert_uint_eq(s.b[0], 0x42);
}
END_TEST

START_TEST(equivalent_spellings_compare_and_hash_equal)
{
	static const char *const same[] = { "00:AB", "0xab",   "AB",
					    "ab",    "0x00ab", "00 ab" };
	struct serial first, s;
	size_t i;

	ck_assert_int_eq(serial_parse(&first, "171", 3, 10, NULL, 0), 0);
	for (i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
		ck_assert_int_eq(
			serial_parse(&s, same[i], strlen(same[i]), 16, NULL, 0),
			0);
		ck_assert_int_eq(serial_compare(&first, &s), 0);
		ck_assert_uint_eq(serial_hash(&first), serial_hash(&s));
	}
}
END_TEST

START_TEST(compare_orders_shorter_first_then_bytes)
{
	struct serial a, b, c;

	ck_assert_int_eq(serial_parse(&a, "ff", 2, 16, NULL, 0), 0);
	ck_assert_int_eq(serial_parse(&b, "0100", 4, 16, NULL, 0), 0);
	ck_assert_int_eq(serial_parse(&c, "0101", 4, 16, NULL, 0), 0);
	ck_assert_int_lt(serial_compare(&a, &b), 0);
	ck_assert_int_gt(serial_compare(&b, &a), 0);
	ck_assert_int_lt(serial_compare(&b, &c), 0);
	ck_assert_int_eq(serial_compare(&c, &c), 0);
	ck_assert_uint_ne(serial_hash(&b), serial_hash(&c));
}
END_TEST

START_TEST(hash_is_fnv1a_of_the_canonical_bytes)
{
	struct serial s;

	/* FNV-1a 64 of the single byte 0x61 ("a"), a published vector. */
	ck_assert_int_eq(serial_parse(&s, "61", 2, 16, NULL, 0), 0);
	ck_assert_uint_eq(serial_hash(&s), 0xaf63dc4c8601ec8cULL);
}
END_TEST

START_TEST(text_need_not_be_nul_terminated)
{
	struct serial s;
	const char buf[] = { 'a', 'b', 'c', 'd' };

	ck_assert_int_eq(serial_parse(&s, buf, 2, 16, NULL, 0), 0);
	ck_assert_str_eq(hex(&s), "ab");
}
END_TEST

START_TEST(long_input_is_quoted_to_forty_bytes)
{
	char in[200], err[256];
	struct serial s;

	memset(in, 'z', sizeof(in));
	ck_assert_int_eq(serial_parse(&s, in, sizeof(in), 16, err, sizeof(err)),
			 -1);
	ck_assert_ptr_nonnull(
		strstr(err, "\"zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz...\""));
	ck_assert_ptr_null(
		strstr(err, "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz"));
}
END_TEST

START_TEST(format_truncates_to_the_buffer)
{
	struct serial s;
	char buf[5];

	ck_assert_int_eq(serial_parse(&s, "abcdef", 6, 16, NULL, 0), 0);
	serial_format_hex(&s, buf, sizeof(buf));
	ck_assert_str_eq(buf, "abcd");
	serial_format_hex(&s, buf, 1);
	ck_assert_str_eq(buf, "");
}
END_TEST

START_TEST(formatted_hex_parses_back_to_the_same_serial)
{
	struct serial s, back;
	char buf[2 * SERIAL_MAX + 1];
	size_t i;

	for (i = 0; i < sizeof(accepted) / sizeof(accepted[0]); i++) {
		ck_assert_int_eq(serial_parse(&s, accepted[i].in,
					      strlen(accepted[i].in),
					      accepted[i].base, NULL, 0),
				 0);
		serial_format_hex(&s, buf, sizeof(buf));
		ck_assert_int_eq(
			serial_parse(&back, buf, strlen(buf), 16, NULL, 0), 0);
		ck_assert_int_eq(serial_compare(&s, &back), 0);
	}
}
END_TEST

/* A certificate's serial from its DER content octets, any sign. */
static const struct {
	const char *content; /* hex */
	const char *stored;  /* hex, or NULL if refused */
	const char *shown;   /* as openssl x509 -serial */
} der[] = {
	{ "01", "01", "01" },
	{ "00ff", "ff", "FF" },
	{ "0000ff", "ff", "FF" }, /* BER padding is dropped */
	{ "00", "00", "00" },
	{ "0000", "00", "00" },
	{ "ff", "00ff", "-01" },
	{ "ffff", "00ff", "-01" }, /* redundant sign octet */
	{ "ff7f", "00ff7f", "-81" },
	{ "80", "0080", "-80" },
	{ "8000", "008000", "-8000" },
	{ "fb", "00fb", "-05" },
	{ "8102030405060708090a0b0c0d0e0f1011121314",
	  "008102030405060708090a0b0c0d0e0f1011121314",
	  "-7EFDFCFBFAF9F8F7F6F5F4F3F2F1F0EFEEEDECEC" },
	{ "00ffffffffffffffffffffffffffffffffffffffff",
	  "ffffffffffffffffffffffffffffffffffffffff",
	  "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF" },
	{ "010203040506070809101112131415161718192021", NULL, NULL },
	{ "ff8102030405060708090a0b0c0d0e0f101112131415", NULL, NULL },
	{ "", NULL, NULL },
};

START_TEST(der_content_of_any_sign_has_one_stored_form)
{
	unsigned char c[32];
	size_t n = strlen(der[_i].content) / 2;
	char text[SERIAL_TEXT_MAX], err[128] = "";
	struct serial s;
	int rc;

	for (size_t i = 0; i < n; i++) {
		unsigned v;

		sscanf(der[_i].content + 2 * i, "%2x", &v);
		c[i] = (unsigned char)v;
	}
	rc = serial_from_der_content(&s, c, n, err, sizeof(err));
	if (der[_i].stored == NULL) {
		ck_assert_int_eq(rc, -1);
		ck_assert_msg(err[0] != '\0', "no reason");
		return;
	}
	ck_assert_msg(rc == 0, "%s: %s", der[_i].content, err);
	ck_assert_str_eq(hex(&s), der[_i].stored);
	serial_format_openssl(&s, text, sizeof(text));
	ck_assert_str_eq(text, der[_i].shown);
}
END_TEST

START_TEST(list_serials_are_the_positive_stored_form)
{
	struct serial a, b;
	char err[128];

	/* A list's "ff" is the certificate with content 00 ff, never -1. */
	ck_assert_int_eq(serial_parse(&a, "ff", 2, 16, err, sizeof(err)), 0);
	ck_assert_int_eq(
		serial_from_der_content(&b, (const unsigned char *)"\x00\xff",
					2, err, sizeof(err)),
		0);
	ck_assert_int_eq(serial_compare(&a, &b), 0);
	ck_assert_int_eq(serial_sign(&a), 1);
	ck_assert_int_eq(serial_from_der_content(&b,
						 (const unsigned char *)"\xff",
						 1, err, sizeof(err)),
			 0);
	ck_assert_int_ne(serial_compare(&a, &b), 0);
	ck_assert_int_eq(serial_sign(&b), -1);
}
END_TEST

START_TEST(stored_hex_round_trips_to_der_content)
{
	/* The certificate's DER content octets come back for every form. */
	static const char *const contents[] = { "01",	"00ff", "00", "ff",
						"ff7f", "80",	"7f" };
	static const char *const bad[] = {
		"",
		"0",
		"000a",
		"xx",
		"0001",
		"0102030405060708090a0b0c0d0e0f10111213"
		"1415"
	};

	for (size_t k = 0; k < sizeof(contents) / sizeof(contents[0]); k++) {
		unsigned char c[SERIAL_STORED_MAX], back[SERIAL_STORED_MAX];
		size_t n = strlen(contents[k]) / 2, m;
		struct serial s, t;
		char err[128], h[SERIAL_TEXT_MAX];

		for (size_t i = 0; i < n; i++) {
			unsigned v;

			sscanf(contents[k] + 2 * i, "%2x", &v);
			c[i] = (unsigned char)v;
		}
		ck_assert_int_eq(
			serial_from_der_content(&s, c, n, err, sizeof(err)), 0);
		serial_format_hex(&s, h, sizeof(h));
		ck_assert_int_eq(
			serial_from_stored_hex(&t, h, err, sizeof(err)), 0);
		ck_assert_int_eq(serial_compare(&s, &t), 0);
		m = serial_der_content(&t, back);
		ck_assert_uint_eq(m, n);
		ck_assert_int_eq(memcmp(back, c, n), 0);
	}
	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		struct serial s;
		char err[128] = "";

		ck_assert_msg(serial_from_stored_hex(&s, bad[k], err,
						     sizeof(err)) == -1,
			      "%s", bad[k]);
		ck_assert(err[0] != '\0');
	}
}
END_TEST

static Suite *serial_suite(void)
{
	Suite *s = suite_create("serial");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, accepted_forms_give_the_canonical_bytes, 0,
			    sizeof(accepted) / sizeof(accepted[0]));
	tcase_add_loop_test(tc,
			    invalid_serials_are_rejected_with_the_input_quoted,
			    0, sizeof(rejected) / sizeof(rejected[0]));
	tcase_add_test(tc, equivalent_spellings_compare_and_hash_equal);
	tcase_add_test(tc, compare_orders_shorter_first_then_bytes);
	tcase_add_test(tc, hash_is_fnv1a_of_the_canonical_bytes);
	tcase_add_test(tc, text_need_not_be_nul_terminated);
	tcase_add_test(tc, long_input_is_quoted_to_forty_bytes);
	tcase_add_test(tc, format_truncates_to_the_buffer);
	tcase_add_test(tc, formatted_hex_parses_back_to_the_same_serial);
	tcase_add_loop_test(tc, der_content_of_any_sign_has_one_stored_form, 0,
			    (int)(sizeof(der) / sizeof(der[0])));
	tcase_add_test(tc, list_serials_are_the_positive_stored_form);
	tcase_add_test(tc, stored_hex_round_trips_to_der_content);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(serial_suite)
