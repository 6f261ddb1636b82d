/*
 * test_classify.c - probe verdicts follow the definitions (affected wins,
 * a replacement must cover the name and be unexpired), wildcards cover
 * exactly one label, every verdict has its name, and CIDR lists parse,
 * refuse typos and contain exactly the addresses they should; the
 * scanner.deny default keeps the CA's own kinds of network out.
 */
#include "certrecall/core/classify.h"
#include "certrecall/core/config.h"
#include "certrecall/base/log.h"
#include "unit.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#define T0 ((time_t)1583031600) /* 2020-03-01T03:00:00Z */

static const struct {
	const char *pattern;
	const char *name;
	bool covers;
} cover_cases[] = {
	{ "example.com", "example.com", true },
	{ "www.example.com", "example.com", false },
	{ "example.com", "www.example.com", false },
	{ "*.example.com", "a.example.com", true },
	{ "*.example.com", "example.com", false },
	{ "*.example.com", "a.b.example.com", false },
	{ "*.example.com", "a.example.org", false },
	{ "*.example.com", "aexample.com", false },
	{ "*.example.com", "*.example.com", true },
	{ "*.com", "example.com", true }, /* BR forbids issuing it, not us */
	{ "a*.example.com", "ab.example.com", false },
	{ "*", "example", false },
	{ "*.", "a.", false },
	{ "*.0.2.1", "192.0.2.1", false }, /* no wildcard over an address */
	{ "192.0.2.1", "192.0.2.1", true },
	{ "xn--bcher-kva.example", "xn--bcher-kva.example", true },
	{ "*.xn--bcher-kva.example", "www.xn--bcher-kva.example", true },
};

START_TEST(wildcards_cover_exactly_one_label)
{
	ck_assert_msg(classify_name_covers(cover_cases[_i].pattern,
					   cover_cases[_i].name) ==
			      cover_cases[_i].covers,
		      "%s vs %s", cover_cases[_i].pattern,
		      cover_cases[_i].name);
}
END_TEST

static const char *const names_www[] = { "example.com", "www.example.com" };
static const char *const names_wild[] = { "*.example.com" };
static const char *const names_other[] = { "other.example" };

static const struct {
	const char *why;
	const char *name;
	const char *const *names;
	size_t nnames;
	time_t not_after;
	bool affected;
	enum classify_verdict want;
} leaf_cases[] = {
	{ "affected wins", "www.example.com", names_www, 2, T0 + 86400, true,
	  CLASSIFY_SERVING_AFFECTED },
	{ "affected wins even expired", "www.example.com", names_www, 2, T0 - 1,
	  true, CLASSIFY_SERVING_AFFECTED },
	{ "affected wins even if the leaf does not list it", "x.example",
	  names_other, 1, T0 + 1, true, CLASSIFY_SERVING_AFFECTED },
	{ "exact name, unexpired: replacement", "www.example.com", names_www, 2,
	  T0 + 86400, false, CLASSIFY_SERVING_REPLACEMENT },
	{ "wildcard, unexpired: replacement", "a.example.com", names_wild, 1,
	  T0 + 86400, false, CLASSIFY_SERVING_REPLACEMENT },
	{ "wildcard does not cover the apex", "example.com", names_wild, 1,
	  T0 + 86400, false, CLASSIFY_SERVING_OTHER },
	{ "expired replacement is other", "www.example.com", names_www, 2,
	  T0 - 1, false, CLASSIFY_SERVING_OTHER },
	{ "not_after == now is expired", "www.example.com", names_www, 2, T0,
	  false, CLASSIFY_SERVING_OTHER },
	{ "one second left is a replacement", "www.example.com", names_www, 2,
	  T0 + 1, false, CLASSIFY_SERVING_REPLACEMENT },
	{ "a certificate for another name", "www.example.com", names_other, 1,
	  T0 + 86400, false, CLASSIFY_SERVING_OTHER },
	{ "no names at all", "www.example.com", NULL, 0, T0 + 86400, false,
	  CLASSIFY_SERVING_OTHER },
};

START_TEST(leaf_verdicts_follow_the_definitions)
{
	struct classify_leaf leaf = {
		.names = leaf_cases[_i].names,
		.nnames = leaf_cases[_i].nnames,
		.not_after = leaf_cases[_i].not_after,
		.affected = leaf_cases[_i].affected,
	};
	enum classify_verdict v = classify_leaf(leaf_cases[_i].name, &leaf, T0);

	ck_assert_msg(v == leaf_cases[_i].want, "%s: got %s",
		      leaf_cases[_i].why, classify_verdict_name(v));
}
END_TEST

START_TEST(every_verdict_has_a_name_that_parses_back)
{
	static const char *const want[] = {
		"serving-affected", "serving-replacement",
		"serving-other",    "tls-error",
		"refused",	    "timeout",
		"nxdomain",	    "dns-error",
		"filtered",	    "starttls-refused",
		"protocol-error",
	};
	enum classify_verdict v;

	ck_assert_int_eq(CLASSIFY_NVERDICTS, 11);
	for (int i = 0; i < CLASSIFY_NVERDICTS; i++) {
		ck_assert_str_eq(classify_verdict_name(i), want[i]);
		ck_assert_int_eq(classify_verdict_parse(want[i], &v), 0);
		ck_assert_int_eq(v, i);
	}
	ck_assert_str_eq(classify_verdict_name(CLASSIFY_NVERDICTS), "?");
	ck_assert_int_eq(classify_verdict_parse("deployed", &v), -1);
}
END_TEST

static const struct {
	const char *cidr;
	const char *addr;
	bool inside;
} contain_cases[] = {
	{ "10.0.0.0/8", "10.0.0.0", true },
	{ "10.0.0.0/8", "10.255.255.255", true },
	{ "10.0.0.0/8", "11.0.0.0", false },
	{ "10.0.0.0/8", "9.255.255.255", false },
	{ "172.16.0.0/12", "172.31.255.1", true },
	{ "172.16.0.0/12", "172.32.0.1", false },
	{ "172.16.0.0/12", "172.15.255.255", false },
	{ "100.64.0.0/10", "100.127.0.1", true },
	{ "100.64.0.0/10", "100.128.0.1", false },
	{ "192.0.2.7", "192.0.2.7", true }, /* bare address = /32 */
	{ "192.0.2.7", "192.0.2.8", false },
	{ "0.0.0.0/0", "203.0.113.9", true },
	{ "0.0.0.0/0", "2001:db8::1", false }, /* families never mix */
	{ "::/0", "192.0.2.1", false },
	{ "::/0", "2001:db8::1", true },
	{ "fe80::/10", "fe80::1", true },
	{ "fe80::/10", "febf:ffff::1", true },
	{ "fe80::/10", "fec0::1", false },
	{ "fc00::/7", "fd12:3456::1", true },
	{ "fc00::/7", "fe00::1", false },
	{ "::1/128", "::1", true },
	{ "::1/128", "::2", false },
	{ "2001:db8::/32", "2001:db8:ffff::1", true },
	{ "2001:db8::/33", "2001:db8:8000::1", false },
	/* IPv4-mapped addresses are their IPv4 address */
	{ "127.0.0.0/8", "::ffff:127.0.0.1", true },
	{ "::ffff:10.0.0.0/104", "10.1.2.3", true },
	{ "::ffff:10.0.0.0/104", "::ffff:10.1.2.3", true },
	{ "::ffff:10.0.0.0/104", "11.0.0.1", false },
};

START_TEST(cidr_contains_exactly_its_addresses)
{
	struct classify_cidr c;
	struct classify_addr a;
	char err[256] = "";

	ck_assert_msg(classify_cidr_parse(contain_cases[_i].cidr,
					  strlen(contain_cases[_i].cidr), &c,
					  err, sizeof(err)) == 0,
		      "%s: %s", contain_cases[_i].cidr, err);
	ck_assert_int_eq(classify_addr_parse(contain_cases[_i].addr, &a), 0);
	ck_assert_msg(
		classify_cidr_contains(&c, &a) == contain_cases[_i].inside,
		"%s in %s", contain_cases[_i].addr, contain_cases[_i].cidr);
}
END_TEST

static const struct {
	const char *text;
	const char *why;
} bad_cidrs[] = {
	{ "10.0.0.0/33", "prefix longer than 32 bits" },
	{ "::/129", "prefix longer than 128 bits" },
	{ "10.0.0.1/8", "did you mean 10.0.0.0/8?" },
	{ "fe80::1/10", "did you mean fe80::/10?" },
	{ "10.0.0.0/", "bad prefix length" },
	{ "10.0.0.0/8x", "bad prefix length" },
	{ "10.0.0.0/-1", "bad prefix length" },
	{ "10.0.0.0/0008", "bad prefix length" },
	{ "10.0.0/8", "is not an IPv4 or IPv6 address" },
	{ "example.com", "is not an IPv4 or IPv6 address" },
	{ "::ffff:10.0.0.0/64", "needs a prefix of at least 96" },
};

START_TEST(bad_cidrs_are_refused_with_a_reason)
{
	struct classify_cidr c;
	char err[256] = "";

	ck_assert_int_eq(classify_cidr_parse(bad_cidrs[_i].text,
					     strlen(bad_cidrs[_i].text), &c,
					     err, sizeof(err)),
			 -1);
	ck_assert_msg(strstr(err, bad_cidrs[_i].why) != NULL, "%s: %s",
		      bad_cidrs[_i].text, err);
}
END_TEST

START_TEST(lists_split_on_commas_and_spaces)
{
	struct classify_cidrs l;
	struct classify_addr a;
	char err[256] = "";

	ck_assert_int_eq(classify_cidrs_parse("", &l, err, sizeof(err)), 0);
	ck_assert_uint_eq(l.n, 0);
	ck_assert_int_eq(classify_addr_parse("10.1.1.1", &a), 0);
	ck_assert(!classify_cidrs_contain(&l, &a));
	classify_cidrs_release(&l);

	ck_assert_int_eq(classify_cidrs_parse(" 10.0.0.0/8,::1/128 ,, "
					      "192.168.0.0/16\t fe80::/10",
					      &l, err, sizeof(err)),
			 0);
	ck_assert_uint_eq(l.n, 4);
	ck_assert(classify_cidrs_contain(&l, &a));
	classify_cidrs_release(&l);

	ck_assert_int_eq(classify_cidrs_parse("10.0.0.0/8, 300.0.0.0/8", &l,
					      err, sizeof(err)),
			 -1);
	ck_assert_ptr_nonnull(strstr(err, "300.0.0.0"));
	ck_assert_ptr_null(l.v);
	ck_assert_uint_eq(l.n, 0);
	classify_cidrs_release(&l);
	classify_cidrs_release(NULL);
}
END_TEST

START_TEST(addresses_convert_from_sockaddr_and_text)
{
	struct sockaddr_in in = { .sin_family = AF_INET };
	struct sockaddr_in6 in6 = { .sin6_family = AF_INET6 };
	struct sockaddr un = { .sa_family = AF_UNIX };
	struct classify_addr a;
	char buf[64];

	inet_pton(AF_INET, "198.51.100.4", &in.sin_addr);
	ck_assert_int_eq(
		classify_addr_from_sockaddr((struct sockaddr *)&in, &a), 0);
	ck_assert_int_eq(a.family, 4);
	ck_assert_str_eq(classify_addr_format(&a, buf, sizeof(buf)),
			 "198.51.100.4");
	inet_pton(AF_INET6, "2001:DB8::0:1", &in6.sin6_addr);
	ck_assert_int_eq(
		classify_addr_from_sockaddr((struct sockaddr *)&in6, &a), 0);
	ck_assert_int_eq(a.family, 6);
	ck_assert_str_eq(classify_addr_format(&a, buf, sizeof(buf)),
			 "2001:db8::1");
	inet_pton(AF_INET6, "::ffff:127.0.0.1", &in6.sin6_addr);
	ck_assert_int_eq(
		classify_addr_from_sockaddr((struct sockaddr *)&in6, &a), 0);
	ck_assert_int_eq(a.family, 4);
	ck_assert_str_eq(classify_addr_format(&a, buf, sizeof(buf)),
			 "127.0.0.1");
	ck_assert_int_eq(classify_addr_from_sockaddr(&un, &a), -1);
	ck_assert_int_eq(classify_addr_parse("example.com", &a), -1);
	ck_assert_int_eq(classify_addr_parse("1.2.3.4 ", &a), -1);
	ck_assert_int_eq(classify_addr_parse("", &a), -1);
}
END_TEST

/* The built-in scanner.deny, as the scanner reads it. */
static const struct {
	const char *addr;
	bool permitted;
} policy_cases[] = {
	{ "127.0.0.1", false },
	{ "127.255.0.9", false },
	{ "::1", false },
	{ "::ffff:127.0.0.1", false },
	{ "10.20.30.40", false },
	{ "172.16.0.1", false },
	{ "172.31.255.255", false },
	{ "192.168.1.1", false },
	{ "169.254.169.254", false }, /* cloud metadata */
	{ "fe80::1", false },
	{ "100.64.0.1", false },
	{ "224.0.0.1", false },
	{ "239.255.255.250", false },
	{ "ff02::1", false },
	{ "0.0.0.0", false },
	{ "fd00::1", false },
	{ "8.8.8.8", true },
	{ "172.32.0.1", true },
	{ "100.128.0.1", true },
	{ "2606:4700::1111", true },
	{ "192.0.2.1", true },
};

START_TEST(default_deny_keeps_internal_networks_out)
{
	struct config *cfg = config_new();
	struct classify_cidrs deny, allow;
	struct classify_addr a;
	char err[256] = "";

	ck_assert_int_eq(classify_cidrs_parse(cfg->scanner.deny, &deny, err,
					      sizeof(err)),
			 0);
	ck_assert_int_eq(classify_cidrs_parse(cfg->scanner.allow, &allow, err,
					      sizeof(err)),
			 0);
	ck_assert_uint_eq(allow.n, 0);
	ck_assert_int_eq(classify_addr_parse(policy_cases[_i].addr, &a), 0);
	ck_assert_msg(classify_addr_permitted(&deny, &allow, &a) ==
			      policy_cases[_i].permitted,
		      "%s", policy_cases[_i].addr);
	classify_cidrs_release(&deny);
	classify_cidrs_release(&allow);
	config_free(cfg);
}
END_TEST

START_TEST(allow_reopens_only_what_it_names)
{
	struct classify_cidrs deny, allow;
	struct classify_addr a;
	char err[256] = "";

	ck_assert_int_eq(classify_cidrs_parse("127.0.0.0/8, 10.0.0.0/8", &deny,
					      err, sizeof(err)),
			 0);
	ck_assert_int_eq(
		classify_cidrs_parse("127.0.0.0/8", &allow, err, sizeof(err)),
		0);
	ck_assert_int_eq(classify_addr_parse("127.0.1.4", &a), 0);
	ck_assert(classify_addr_permitted(&deny, &allow, &a));
	ck_assert_int_eq(classify_addr_parse("10.0.0.1", &a), 0);
	ck_assert(!classify_addr_permitted(&deny, &allow, &a));
	ck_assert_int_eq(classify_addr_parse("192.0.2.1", &a), 0);
	ck_assert(classify_addr_permitted(&deny, &allow, &a));
	classify_cidrs_release(&deny);
	classify_cidrs_release(&allow);
}
END_TEST

START_TEST(config_validates_cidr_keys)
{
	struct config *cfg = config_new();
	char *log;

	ck_assert_int_eq(
		config_set(cfg, "scanner.allow", "127.0.0.0/8", "test"), 0);
	ck_assert_str_eq(cfg->scanner.allow, "127.0.0.0/8");
	unit_capture_begin();
	ck_assert_int_eq(
		config_set(cfg, "scanner.deny", "10.0.0.0/8, nope", "test"),
		-1);
	log = unit_capture_end();
	ck_assert_ptr_nonnull(strstr(log, "scanner.deny"));
	ck_assert_ptr_nonnull(strstr(log, "\"nope\""));
	free(log);
	/* The old value stays. */
	ck_assert_ptr_nonnull(strstr(cfg->scanner.deny, "127.0.0.0/8"));
	ck_assert_int_eq(config_set(cfg, "scanner.deny", "", "test"), 0);
	config_free(cfg);
}
END_TEST

static Suite *classify_suite(void)
{
	Suite *s = suite_create("classify");
	TCase *tc = tcase_create("classify");

	log_set_level(LOG_LEVEL_WARN);
	tcase_add_loop_test(
		tc, wildcards_cover_exactly_one_label, 0,
		(int)(sizeof(cover_cases) / sizeof(cover_cases[0])));
	tcase_add_loop_test(tc, leaf_verdicts_follow_the_definitions, 0,
			    (int)(sizeof(leaf_cases) / sizeof(leaf_cases[0])));
	tcase_add_test(tc, every_verdict_has_a_name_that_parses_back);
	tcase_add_loop_test(
		tc, cidr_contains_exactly_its_addresses, 0,
		(int)(sizeof(contain_cases) / sizeof(contain_cases[0])));
	tcase_add_loop_test(tc, bad_cidrs_are_refused_with_a_reason, 0,
			    (int)(sizeof(bad_cidrs) / sizeof(bad_cidrs[0])));
	tcase_add_test(tc, lists_split_on_commas_and_spaces);
	tcase_add_test(tc, addresses_convert_from_sockaddr_and_text);
	tcase_add_loop_test(
		tc, default_deny_keeps_internal_networks_out, 0,
		(int)(sizeof(policy_cases) / sizeof(policy_cases[0])));
	tcase_add_test(tc, allow_reopens_only_what_it_names);
	tcase_add_test(tc, config_validates_cidr_keys);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(classify_suite)
