/*
 * test_template.c - variables, dotted names, sections over lists, objects
 * and booleans with outward lookup, inverted sections, comments and the
 * standalone-line rule render as mustache does; a missing name and every
 * syntax error is reported with its line; HTML and HEADER escaping; depth
 * and output limits hold.
 */
#include "certrecall/core/template.h"
#include "unit.h"

#include <stdlib.h>
#include <string.h>

static const char *ctx_json =
	"{\"name\": \"Alice\", \"n\": 42, \"big\": 1e300, \"half\": 0.5,"
	" \"whole\": 3.0, \"neg\": -7, \"yes\": true, \"no\": false,"
	" \"nil\": null, \"empty\": \"\", \"none\": [],"
	" \"ca\": {\"name\": \"Example CA\", \"contact\": {\"mail\": "
	"\"r@ca\"}},"
	" \"certs\": [{\"serial\": \"01\", \"names\": [\"a.example\","
	" \"b.example\"]}, {\"serial\": \"02\", \"names\": []}],"
	" \"words\": [\"x\", \"y\", \"z\"],"
	" \"html\": \"<a href=\\\"x\\\">Tom & Jerry's</a>\","
	" \"inject\": \"hi\\r\\nBcc: x@evil\", \"tab\": \"a\\tb\\u007f\"}";

/* Template, escape mode, expected output (context: ctx_json). */
static const struct {
	const char *tpl;
	enum template_escape mode;
	const char *want;
} renders[] = {
	/* variables and scalars */
	{ "", TEMPLATE_TEXT, "" },
	{ "plain text", TEMPLATE_TEXT, "plain text" },
	{ "Hello {{name}}!", TEMPLATE_TEXT, "Hello Alice!" },
	{ "{{ name }}", TEMPLATE_TEXT, "Alice" },
	{ "{{n}} {{neg}}", TEMPLATE_TEXT, "42 -7" },
	{ "{{whole}} {{half}}", TEMPLATE_TEXT, "3 0.5" },
	{ "{{big}}", TEMPLATE_TEXT, "1e+300" },
	{ "{{yes}}/{{no}}", TEMPLATE_TEXT, "true/false" },
	{ "[{{empty}}]", TEMPLATE_TEXT, "[]" },
	{ "a}}b{", TEMPLATE_TEXT, "a}}b{" },
	/* dotted names */
	{ "{{ca.name}} <{{ca.contact.mail}}>", TEMPLATE_TEXT,
	  "Example CA <r@ca>" },
	/* sections over lists, objects, booleans */
	{ "{{#words}}{{.}},{{/words}}", TEMPLATE_TEXT, "x,y,z," },
	{ "{{#certs}}{{serial}} {{/certs}}", TEMPLATE_TEXT, "01 02 " },
	{ "{{#ca}}{{name}}{{/ca}}", TEMPLATE_TEXT, "Example CA" },
	{ "{{#yes}}shown{{/yes}}{{#no}}hidden{{/no}}", TEMPLATE_TEXT, "shown" },
	{ "{{#nil}}a{{/nil}}{{#empty}}b{{/empty}}{{#none}}c{{/none}}.",
	  TEMPLATE_TEXT, "." },
	{ "{{#n}}{{.}}{{/n}}", TEMPLATE_TEXT, "42" },
	/* inverted */
	{ "{{^none}}no certificates{{/none}}", TEMPLATE_TEXT,
	  "no certificates" },
	{ "{{^no}}a{{/no}}{{^nil}}b{{/nil}}{{^empty}}c{{/empty}}"
	  "{{^yes}}d{{/yes}}{{^words}}e{{/words}}",
	  TEMPLATE_TEXT, "abc" },
	/* nested sections; outer names are found from inside */
	{ "{{#certs}}{{serial}}:{{#names}}{{.}}@{{serial}}/{{name}} "
	  "{{/names}}{{^names}}none{{/names}};{{/certs}}",
	  TEMPLATE_TEXT, "01:a.example@01/Alice b.example@01/Alice ;02:none;" },
	{ "{{#ca}}{{#contact}}{{mail}} {{name}} {{n}}{{/contact}}{{/ca}}",
	  TEMPLATE_TEXT, "r@ca Example CA 42" },
	/* standalone lines vanish, inline tags do not */
	{ "Certificates:\n{{#words}}\n- {{.}}\n{{/words}}\nEnd\n",
	  TEMPLATE_TEXT, "Certificates:\n- x\n- y\n- z\nEnd\n" },
	{ "A\r\n  {{#yes}}  \r\nB\r\n\t{{/yes}}\r\nC\r\n", TEMPLATE_TEXT,
	  "A\r\nB\r\nC\r\n" },
	{ "{{#yes}}\nfirst line\n{{/yes}}", TEMPLATE_TEXT, "first line\n" },
	{ "A {{#yes}}B{{/yes}} C\n", TEMPLATE_TEXT, "A B C\n" },
	{ "A\n  {{#yes}} x\n{{/yes}}\n", TEMPLATE_TEXT, "A\n   x\n" },
	{ "{{name}}\n{{#no}}\nX\n{{/no}}\n{{^no}}\nY\n{{/no}}\n", TEMPLATE_TEXT,
	  "Alice\nY\n" },
	{ "{{#words}}{{.}}{{/words}}\n", TEMPLATE_TEXT, "xyz\n" },
	/* comments */
	{ "a{{! a comment }}b", TEMPLATE_TEXT, "ab" },
	{ "a\n{{! standalone\n    over two lines }}\nb\n", TEMPLATE_TEXT,
	  "a\nb\n" },
	{ "{{!}}x", TEMPLATE_TEXT, "x" },
	/* escaping */
	{ "{{html}}", TEMPLATE_TEXT, "<a href=\"x\">Tom & Jerry's</a>" },
	{ "<p>{{html}}</p>", TEMPLATE_HTML,
	  "<p>&lt;a href=&quot;x&quot;&gt;Tom &amp; "
	  "Jerry&#39;s&lt;/a&gt;</p>" },
	{ "Re: {{inject}}", TEMPLATE_HEADER, "Re: hi  Bcc: x@evil" },
	{ "{{tab}}", TEMPLATE_HEADER, "a b" },
	{ "Subject {{name}}\n", TEMPLATE_HEADER, "Subject Alice" },
	{ "one\r\ntwo", TEMPLATE_HEADER, "one  two" },
	{ "{{inject}}", TEMPLATE_TEXT, "hi\r\nBcc: x@evil" },
};

START_TEST(renders_like_mustache)
{
	json_error_t jerr;
	json_t *ctx = json_loads(ctx_json, 0, &jerr);
	char err[256] = "";
	struct template *t;
	size_t len = 99;
	char *out;

	ck_assert_msg(ctx != NULL, "%s", jerr.text);
	t = template_parse(renders[_i].tpl, strlen(renders[_i].tpl), err,
			   sizeof(err));
	ck_assert_msg(t != NULL, "%s: %s", renders[_i].tpl, err);
	out = template_render(t, ctx, renders[_i].mode, &len, err, sizeof(err));
	ck_assert_msg(out != NULL, "%s: %s", renders[_i].tpl, err);
	ck_assert_str_eq(out, renders[_i].want);
	ck_assert_uint_eq(len, strlen(renders[_i].want));
	free(out);
	template_free(t);
	json_decref(ctx);
}
END_TEST

/* Template, and the message parsing it must give. */
static const struct {
	const char *tpl;
	const char *want;
} parse_errors[] = {
	{ "Hello {{name", "line 1: unclosed tag" },
	{ "a\nb\nc {{#x}}", "line 3: section \"x\" is never closed" },
	{ "a\n{{#x}}\n{{#y}}\n{{/x}}\n",
	  "line 4: {{/x}} does not close \"y\" opened on line 3" },
	{ "\n\n{{/x}}", "line 3: {{/x}} closes no section" },
	{ "{{}}", "line 1: empty name in tag" },
	{ "x\n{{ }}", "line 2: empty name in tag" },
	{ "{{#}}", "line 1: empty name in tag" },
	{ "{{a b}}", "line 1: bad name \"a b\"" },
	{ "{{a..b}}", "line 1: bad name \"a..b\"" },
	{ "{{.a}}", "line 1: bad name \".a\"" },
	{ "{{{x}}}", "line 1: bad name \"{x\"" },
	{ "{{! open comment\n", "line 1: unclosed tag" },
	{ "{{! two\nlines }}\n{{#a}}\n{{/b}}",
	  "line 4: {{/b}} does not close \"a\" opened on line 3" },
};

START_TEST(parse_errors_name_the_line)
{
	char err[256] = "";
	struct template *t;

	t = template_parse(parse_errors[_i].tpl, strlen(parse_errors[_i].tpl),
			   err, sizeof(err));
	ck_assert_ptr_null(t);
	ck_assert_str_eq(err, parse_errors[_i].want);
}
END_TEST

static const struct {
	const char *tpl;
	const char *want;
} render_errors[] = {
	{ "Dear {{nmae}}", "line 1: no value for \"nmae\"" },
	{ "a\nb\n{{ca.fax}}", "line 3: no value for \"ca.fax\"" },
	{ "{{name.first}}", "line 1: no value for \"name.first\"" },
	{ "\n{{#missing}}x{{/missing}}", "line 2: no value for \"missing\"" },
	{ "{{^missing}}x{{/missing}}", "line 1: no value for \"missing\"" },
	{ "{{#certs}}\n{{serail}}\n{{/certs}}",
	  "line 2: no value for \"serail\"" },
	{ "{{nil}}", "line 1: \"nil\" is null, not text" },
	{ "{{ca}}", "line 1: \"ca\" is an object, not text" },
	{ "{{words}}", "line 1: \"words\" is a list, not text" },
};

START_TEST(render_errors_name_the_line_and_the_name)
{
	json_t *ctx = json_loads(ctx_json, 0, NULL);
	char err[256] = "";
	struct template *t;
	size_t len = 99;

	t = template_parse(render_errors[_i].tpl, strlen(render_errors[_i].tpl),
			   err, sizeof(err));
	ck_assert_msg(t != NULL, "%s", err);
	ck_assert_ptr_null(
		template_render(t, ctx, TEMPLATE_TEXT, &len, err, sizeof(err)));
	ck_assert_str_eq(err, render_errors[_i].want);
	ck_assert_uint_eq(len, 0);
	template_free(t);
	json_decref(ctx);
}
END_TEST

START_TEST(header_mode_never_lets_a_value_start_a_header)
{
	json_t *ctx = json_pack("{s:s}", "s", "x\r\nBcc: x@evil\n\r\v\f");
	struct template *t = template_parse("Re: {{s}}\r\n", 11, NULL, 0);
	char *out;

	ck_assert_ptr_nonnull(t);
	out = template_render(t, ctx, TEMPLATE_HEADER, NULL, NULL, 0);
	ck_assert_ptr_nonnull(out);
	ck_assert_ptr_null(strpbrk(out, "\r\n\v\f"));
	ck_assert_str_eq(out, "Re: x  Bcc: x@evil");
	free(out);
	template_free(t);
	json_decref(ctx);
}
END_TEST

START_TEST(nesting_deeper_than_32_is_refused)
{
	char tpl[64 * 12], err[256];
	struct template *t;
	size_t i, n = 0;

	/* 32 levels parse and render, 33 do not parse. */
	for (i = 0; i < 33; i++)
		n += (size_t)snprintf(tpl + n, sizeof(tpl) - n, "{{#a}}");
	t = template_parse(tpl, n, err, sizeof(err));
	ck_assert_ptr_null(t);
	ck_assert_str_eq(err, "line 1: sections nested deeper than 32");
	n = 0;
	for (i = 0; i < 32; i++)
		n += (size_t)snprintf(tpl + n, sizeof(tpl) - n, "{{#a}}");
	n += (size_t)snprintf(tpl + n, sizeof(tpl) - n, "{{b}}");
	for (i = 0; i < 32; i++)
		n += (size_t)snprintf(tpl + n, sizeof(tpl) - n, "{{/a}}");
	t = template_parse(tpl, n, err, sizeof(err));
	ck_assert_msg(t != NULL, "%s", err);
	{
		char big[4097];
		json_t *ctx;

		memset(big, 'x', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		ctx = json_pack("{s:[i,i],s:s}", "a", 1, 2, "b", big);
		size_t len;
		char *out = template_render(t, ctx, TEMPLATE_TEXT, &len, err,
					    sizeof(err));

		/* 2^32 repetitions of 4 KiB: the output cap stops it. */
		ck_assert_ptr_null(out);
		ck_assert_str_eq(err, "output larger than 64 MiB");
		json_decref(ctx);
	}
	template_free(t);
}
END_TEST

START_TEST(work_without_output_is_bounded_too)
{
	/* 10 levels over 10 elements: 10^10 steps that write nothing. */
	const char *tpl = "{{#a}}{{#a}}{{#a}}{{#a}}{{#a}}{{#a}}{{#a}}{{#a}}"
			  "{{#a}}{{#a}}{{/a}}{{/a}}{{/a}}{{/a}}{{/a}}{{/a}}"
			  "{{/a}}{{/a}}{{/a}}{{/a}}";
	json_t *ctx = json_pack("{s:[i,i,i,i,i,i,i,i,i,i]}", "a", 1, 2, 3, 4, 5,
				6, 7, 8, 9, 10);
	struct template *t = template_parse(tpl, strlen(tpl), NULL, 0);
	char err[256];

	ck_assert_ptr_nonnull(t);
	ck_assert_ptr_null(
		template_render(t, ctx, TEMPLATE_TEXT, NULL, err, sizeof(err)));
	ck_assert_str_eq(err, "template takes too many steps");
	template_free(t);
	json_decref(ctx);
}
END_TEST

START_TEST(text_need_not_be_nul_terminated_and_may_hold_nul)
{
	const char text[] = { 'a', '\0', 'b', '{', '{', 'n', '}', '}', 'X' };
	json_t *ctx = json_pack("{s:i}", "n", 5);
	struct template *t = template_parse(text, 8, NULL, 0);
	size_t len;
	char *out;

	ck_assert_ptr_nonnull(t);
	out = template_render(t, ctx, TEMPLATE_TEXT, &len, NULL, 0);
	ck_assert_uint_eq(len, 4);
	ck_assert_int_eq(memcmp(out, "a\0b5", 5), 0);
	free(out);
	template_free(t);
	json_decref(ctx);
}
END_TEST

START_TEST(a_one_byte_error_buffer_is_terminated)
{
	char err[1] = { 'x' };

	ck_assert_ptr_null(template_parse("{{", 2, err, sizeof(err)));
	ck_assert_int_eq(err[0], '\0');
	template_free(NULL);
}
END_TEST

static Suite *template_suite(void)
{
	Suite *s = suite_create("template");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, renders_like_mustache, 0,
			    (int)(sizeof(renders) / sizeof(renders[0])));
	tcase_add_loop_test(
		tc, parse_errors_name_the_line, 0,
		(int)(sizeof(parse_errors) / sizeof(parse_errors[0])));
	tcase_add_loop_test(
		tc, render_errors_name_the_line_and_the_name, 0,
		(int)(sizeof(render_errors) / sizeof(render_errors[0])));
	tcase_add_test(tc, header_mode_never_lets_a_value_start_a_header);
	tcase_add_test(tc, nesting_deeper_than_32_is_refused);
	tcase_add_test(tc, work_without_output_is_bounded_too);
	tcase_add_test(tc, text_need_not_be_nul_terminated_and_may_hold_nul);
	tcase_add_test(tc, a_one_byte_error_buffer_is_terminated);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(template_suite)
