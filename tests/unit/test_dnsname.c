/*
 * test_dnsname.c - names come out lowercased without the root dot, A-labels
 * untouched, wildcards only as the whole first label, IP literals in
 * canonical form; every malformed name is an error that quotes it.
 */
#include "certrecall/core/dnsname.h"
#include "unit.h"

#include <stdlib.h>
#include <string.h>

/* Accepted input and its normalised form. */
static const struct {
	const char *in;
	const char *want;
} accepted[] = {
	{ "example.com", "example.com" },
	{ "WWW.Example.COM", "www.example.com" },
	{ "example.com.", "example.com" },
	{ "localhost", "localhost" },
	{ "a", "a" },
	{ "*.example.com", "*.example.com" },
	{ "*.EXAMPLE.com.", "*.example.com" },
	{ "xn--bcher-kva.example", "xn--bcher-kva.example" },
	/* U-labels become A-labels: UTS 46 maps case, IDNA2008
	 * non-transitional keeps sharp s and final sigma as browsers do. */
	{ "b\xc3\xbc"
	  "cher.example",
	  "xn--bcher-kva.example" },
	{ "B\xc3\x9c"
	  "CHER.Example.",
	  "xn--bcher-kva.example" },
	{ "*.b\xc3\xbc"
	  "cher.example",
	  "*.xn--bcher-kva.example" },
	{ "fa\xc3\x9f.de", "xn--fa-hia.de" },
	{ "\xe4\xbe\x8b\xe3\x81\x88.\xe3\x83\x86\xe3\x82\xb9\xe3\x83\x88",
	  "xn--r8jz45g.xn--zckzah" },
	{ "XN--BCHER-KVA.example", "xn--bcher-kva.example" },
	{ "_acme-challenge.example.com", "_acme-challenge.example.com" },
	{ "a-b.c-d.example", "a-b.c-d.example" },
	{ "123.example.com", "123.example.com" },
	{ "example.123a", "example.123a" },
	{ "192.0.2.1", "192.0.2.1" },
	{ "255.255.255.255", "255.255.255.255" },
	{ "2001:DB8::1", "2001:db8::1" },
	{ "2001:db8:0:0:0:0:0:1", "2001:db8::1" },
	{ "::1", "::1" },
	{ "::ffff:192.0.2.1", "::ffff:192.0.2.1" },
	/* 63-octet label */
	{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.com",
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa."
	  "com" },
};

START_TEST(accepted_names_normalise)
{
	char out[DNSNAME_MAX + 1], err[256] = "";
	const char *in = accepted[_i].in;
	int n = dnsname_normalize(in, strlen(in), out, sizeof(out), err,
				  sizeof(err));

	ck_assert_msg(n >= 0, "%s: %s", in, err);
	ck_assert_str_eq(out, accepted[_i].want);
	ck_assert_int_eq(n, (int)strlen(accepted[_i].want));
}
END_TEST

START_TEST(normal_form_is_a_fixed_point)
{
	char out[DNSNAME_MAX + 1], again[DNSNAME_MAX + 1];
	const char *in = accepted[_i].in;
	int n = dnsname_normalize(in, strlen(in), out, sizeof(out), NULL, 0);

	ck_assert_int_ge(n, 0);
	ck_assert_int_eq(dnsname_normalize(out, (size_t)n, again, sizeof(again),
					   NULL, 0),
			 n);
	ck_assert_str_eq(again, out);
}
END_TEST

/* Rejected input and a piece of the message it must give. */
static const struct {
	const char *in;
	const char *why;
} rejected[] = {
	{ "", "empty name" },
	{ ".", "empty label" },
	{ "..", "empty label" },
	{ "a..b", "empty label" },
	{ ".example.com", "empty label" },
	{ "example.com..", "empty label" },
	{ "-a.example", "starts with a hyphen" },
	{ "a.-b.example", "starts with a hyphen" },
	{ "a-.example", "ends with a hyphen" },
	{ "example.com-", "ends with a hyphen" },
	{ "a.*.b", "whole first label" },
	{ "*a.b", "whole first label" },
	{ "a*.b", "whole first label" },
	{ "**.b", "whole first label" },
	{ "*.*.b", "whole first label" },
	{ "*", "followed by a domain" },
	{ "*.", "followed by a domain" },
	{ "*..", "followed by a domain" },
	{ "ex ample.com", "blank in name" },
	{ "example.com ", "blank in name" },
	{ "exa\tmple.com", "blank in name" },
	{ "exa\x01mple.com", "control character" },
	{ "example.com\x7f", "control character" },
	/* not IDNA: an unpaired continuation byte, a symbol */
	{ "b\xbc"
	  "cher.example",
	  "not a valid internationalised name" },
	{ "\xe2\x98\x83.example", "not a valid internationalised name" },
	{ "*.\xe2\x98\x83.example", "not a valid internationalised name" },
	{ "exa/mple.com", "invalid character '/'" },
	{ "user@example.com", "invalid character '@'" },
	{ "[::1]", "invalid IPv6" },
	{ "1.2.3", "invalid IPv4" },
	{ "256.1.1.1", "invalid IPv4" },
	{ "01.2.3.4", "invalid IPv4" },
	{ "1.2.3.4.5", "invalid IPv4" },
	{ "2001:db8::g", "invalid IPv6" },
	{ "1:2:3:4:5:6:7:8:9", "invalid IPv6" },
	{ "fe80::1%eth0", "invalid IPv6" },
	/* 64-octet label */
	{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa."
	  "com",
	  "label longer than 63" },
};

START_TEST(invalid_names_are_rejected_with_the_name_quoted)
{
	char out[DNSNAME_MAX + 1], err[256] = "";
	const char *in = rejected[_i].in;

	ck_assert_int_eq(dnsname_normalize(in, strlen(in), out, sizeof(out),
					   err, sizeof(err)),
			 -1);
	ck_assert_msg(strstr(err, rejected[_i].why) != NULL, "%s: %s", in, err);
	ck_assert_msg(strstr(err, " (near \"") != NULL, "%s", err);
}
END_TEST

/* n labels of "abcdefghi." (10 octets each) then "com", plus extra. */
static size_t long_name(char *buf, size_t labels, const char *tail)
{
	size_t i, n = 0;

	for (i = 0; i < labels; i++) {
		memcpy(buf + n, "abcdefghi.", 10);
		n += 10;
	}
	memcpy(buf + n, tail, strlen(tail) + 1);
	return n + strlen(tail);
}

START_TEST(names_are_limited_to_253_octets)
{
	char in[400], out[DNSNAME_MAX + 1], err[256] = "";
	size_t n;

	/* 250 + "com" = 253: the longest name */
	n = long_name(in, 25, "com");
	ck_assert_int_eq(
		dnsname_normalize(in, n, out, sizeof(out), err, sizeof(err)),
		253);
	/* and with its root dot */
	n = long_name(in, 25, "com.");
	ck_assert_int_eq(
		dnsname_normalize(in, n, out, sizeof(out), err, sizeof(err)),
		253);
	n = long_name(in, 25, "coms");
	ck_assert_int_eq(
		dnsname_normalize(in, n, out, sizeof(out), err, sizeof(err)),
		-1);
	ck_assert_ptr_nonnull(strstr(err, "longer than 253"));
	n = long_name(in, 35, "com");
	ck_assert_int_eq(dnsname_normalize(in, n, out, sizeof(out), NULL, 0),
			 -1);
}
END_TEST

START_TEST(small_output_buffer_is_an_error_not_an_overflow)
{
	char out[8], err[256] = "";

	ck_assert_int_eq(dnsname_normalize("example.com", 11, out, sizeof(out),
					   err, sizeof(err)),
			 -1);
	ck_assert_ptr_nonnull(strstr(err, "buffer too small"));
	ck_assert_int_eq(dnsname_normalize("2001:db8::1", 11, out, sizeof(out),
					   err, sizeof(err)),
			 -1);
	ck_assert_int_eq(dnsname_normalize("a.b", 3, out, sizeof(out), NULL, 0),
			 3);
}
END_TEST

START_TEST(input_need_not_be_nul_terminated)
{
	const char buf[] = "Example.COM trailing";
	char out[DNSNAME_MAX + 1];

	ck_assert_int_eq(dnsname_normalize(buf, 11, out, sizeof(out), NULL, 0),
			 11);
	ck_assert_str_eq(out, "example.com");
}
END_TEST

START_TEST(wildcard_is_recognised_only_as_first_label)
{
	ck_assert(dnsname_is_wildcard("*.example.com"));
	ck_assert(!dnsname_is_wildcard("example.com"));
	ck_assert(!dnsname_is_wildcard("*"));
	ck_assert(!dnsname_is_wildcard(""));
	ck_assert(!dnsname_is_wildcard(NULL));
}
END_TEST

static Suite *dnsname_suite(void)
{
	Suite *s = suite_create("dnsname");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, accepted_names_normalise, 0,
			    sizeof(accepted) / sizeof(accepted[0]));
	tcase_add_loop_test(tc, normal_form_is_a_fixed_point, 0,
			    sizeof(accepted) / sizeof(accepted[0]));
	tcase_add_loop_test(tc, invalid_names_are_rejected_with_the_name_quoted,
			    0, sizeof(rejected) / sizeof(rejected[0]));
	tcase_add_test(tc, names_are_limited_to_253_octets);
	tcase_add_test(tc, small_output_buffer_is_an_error_not_an_overflow);
	tcase_add_test(tc, input_need_not_be_nul_terminated);
	tcase_add_test(tc, wildcard_is_recognised_only_as_first_label);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(dnsname_suite)
