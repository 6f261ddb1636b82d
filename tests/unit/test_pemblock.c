/*
 * test_pemblock.c - PEM text is split into its blocks, labels and BEGIN
 * lines kept, text between blocks ignored, broken framing refused.
 */
#include <stdarg.h>

#include "certrecall/core/pemblock.h"
#include "unit.h"

/* Appends to out (size bytes); the test fails if the text is cut. */
static void append(char *out, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void append(char *out, size_t size, const char *fmt, ...)
{
	size_t used = strlen(out);
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(out + used, size - used, fmt, ap);
	va_end(ap);
	ck_assert(n >= 0 && (size_t)n < size - used);
}

/* Feeds text line by line; returns "LABEL@LINE ..." of the blocks, or
 * "error@LINE: reason". */
static const char *split(const char *text)
{
	static char out[1024];
	struct pemblock p;
	char err[256];
	unsigned long long lineno = 0;
	const char *s = text;

	out[0] = '\0';
	pemblock_init(&p);
	while (*s != '\0') {
		const char *nl = strchr(s, '\n');
		size_t len = nl ? (size_t)(nl - s) : strlen(s);
		int r = pemblock_feed(&p, s, len, ++lineno, err, sizeof(err));

		if (r == PEMBLOCK_ERROR) {
			append(out, sizeof(out), "error@%llu: %s", lineno, err);
			pemblock_release(&p);
			return out;
		}
		if (r == PEMBLOCK_DONE)
			append(out, sizeof(out), "%s%s@%llu", out[0] ? " " : "",
			       p.label, p.begin);
		s += len + (nl != NULL);
	}
	if (pemblock_finish(&p, err, sizeof(err)) < 0)
		append(out, sizeof(out), " end: %s", err);
	pemblock_release(&p);
	return out;
}

static const struct {
	const char *text, *want;
} cases[] = {
	{ "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
	  "CERTIFICATE@1" },
	{ "Certificate:\n    Data: ...\n"
	  "-----BEGIN PRIVATE KEY-----\r\nAA\r\n-----END PRIVATE KEY-----\r\n"
	  "-----BEGIN EC PARAMETERS-----\nBg==\n-----END EC PARAMETERS-----\n"
	  "between\n"
	  "-----BEGIN TRUSTED CERTIFICATE-----\nMIIB\n"
	  "-----END TRUSTED CERTIFICATE-----  \n",
	  "PRIVATE KEY@3 EC PARAMETERS@6 TRUSTED CERTIFICATE@10" },
	{ "-----BEGIN X509 CERTIFICATE-----\nMIIB\n"
	  "-----END X509 CERTIFICATE-----",
	  "X509 CERTIFICATE@1" },
	{ "-----BEGIN CERTIFICATE-----\nMIIB\n-----END X509 CRL-----\n",
	  "error@3: END line does not match the BEGIN line 1" },
	{ "-----BEGIN CERTIFICATE-----\n-----BEGIN CERTIFICATE-----\n",
	  "error@2: BEGIN line inside the PEM block started at line 1" },
	{ "x\n-----BEGIN CERTIFICATE-----\nMIIB\n",
	  " end: PEM block CERTIFICATE started at line 2 has no END line" },
	{ "-----BEGIN CERTIFICATE\n-----END CERTIFICATE-----\n", "" },
	{ " -----BEGIN CERTIFICATE-----\n", "" },
	/* found by fuzz_pemblock: a NUL must not cut the label short */
	{ "-----BEGIN CERTIFICATE\001x-----\nMIIB\n-----END CERTIFICATE-----\n",
	  "error@1: PEM label is not valid" },
	{ "-----BEGIN -----\n", "error@1: PEM label is not valid" },
	{ "-----BEGIN  X-----\n", "error@1: PEM label is not valid" },
};

START_TEST(blocks_are_found_with_their_begin_lines)
{
	const char *got = split(cases[_i].text);

	ck_assert_msg(strncmp(got, cases[_i].want, strlen(cases[_i].want)) ==
				      0 &&
			      (cases[_i].want[0] != '\0' || got[0] == '\0'),
		      "got \"%s\", want \"%s\"", got, cases[_i].want);
}
END_TEST

START_TEST(only_openssl_certificate_labels_are_certificates)
{
	ck_assert(pemblock_is_certificate("CERTIFICATE"));
	ck_assert(pemblock_is_certificate("X509 CERTIFICATE"));
	ck_assert(pemblock_is_certificate("TRUSTED CERTIFICATE"));
	ck_assert(!pemblock_is_certificate("CERTIFICATE REQUEST"));
	ck_assert(!pemblock_is_certificate("X509 CRL"));
	ck_assert(!pemblock_is_certificate("certificate"));
}
END_TEST

START_TEST(a_huge_block_is_refused)
{
	static char line[1025];
	struct pemblock p;
	char err[256];
	int r = PEMBLOCK_MORE;
	unsigned long long n = 1;

	memset(line, 'A', sizeof(line) - 1);
	pemblock_init(&p);
	ck_assert_int_eq(pemblock_feed(&p, "-----BEGIN CERTIFICATE-----", 27, 1,
				       err, sizeof(err)),
			 PEMBLOCK_MORE);
	while (r == PEMBLOCK_MORE && n < 10000)
		r = pemblock_feed(&p, line, 1024, ++n, err, sizeof(err));
	ck_assert_int_eq(r, PEMBLOCK_ERROR);
	ck_assert_msg(strstr(err, "longer than") != NULL, "%s", err);
	ck_assert_uint_le(p.len, PEMBLOCK_MAX);
	pemblock_release(&p);
}
END_TEST

static Suite *pemblock_suite(void)
{
	Suite *s = suite_create("pemblock");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, blocks_are_found_with_their_begin_lines, 0,
			    (int)(sizeof(cases) / sizeof(cases[0])));
	tcase_add_test(tc, only_openssl_certificate_labels_are_certificates);
	tcase_add_test(tc, a_huge_block_is_refused);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(pemblock_suite)
