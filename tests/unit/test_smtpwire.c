/*
 * test_smtpwire.c - the relay's replies (one line, several, cut into
 * reads of any size, two in one read, over-long and malformed ones), the
 * EHLO extensions, envelope mailboxes, and dot-stuffed data.
 */
#include "certrecall/core/smtpwire.h"
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Feeds text in reads of chunk bytes; the replies' "code text" joined
 * by " | " into out, or "ERR" at an error. */
static void replies(const char *text, size_t chunk, char *out, size_t len)
{
	struct smtpwire_reader r;
	struct smtpwire_reply rep;
	char why[200];
	size_t n = strlen(text), i = 0, o = 0;

	smtpwire_reader_init(&r);
	out[0] = '\0';
	while (i < n) {
		size_t take = n - i < chunk ? n - i : chunk, off = 0;

		while (off < take) {
			size_t used = 0;
			int rc = smtpwire_feed(&r, text + i + off, take - off,
					       &used, &rep, why, sizeof(why));

			ck_assert_int_ge(rc, -1);
			if (rc < 0) {
				ck_assert_str_ne(why, "");
				o += (size_t)snprintf(out + o, len - o, "%sERR",
						      o ? " | " : "");
				return;
			}
			off += used;
			if (rc == 1)
				o += (size_t)snprintf(out + o, len - o,
						      "%s%d %s", o ? " | " : "",
						      rep.code, rep.text);
		}
		i += take;
	}
}

START_TEST(replies_are_read_whole_in_reads_of_any_size)
{
	const char *wire = "220 relay.example ESMTP\r\n"
			   "250-relay.example\r\n250-PIPELINING\r\n250 DSN\r\n"
			   "250 2.1.0 ok\r\n550 5.1.1 <a@b> refused\r\n"
			   "354\r\n";
	const char *want = "220 relay.example ESMTP | "
			   "250 relay.example\nPIPELINING\nDSN | "
			   "250 2.1.0 ok | 550 5.1.1 <a@b> refused | 354 ";
	char out[1024];

	for (size_t chunk = 1; chunk <= strlen(wire); chunk++) {
		replies(wire, chunk, out, sizeof(out));
		ck_assert_str_eq(out, want);
	}
}
END_TEST

START_TEST(bare_line_feeds_and_control_characters)
{
	char out[256];

	replies("250 ok\n250-a\tb\n250 c\x01\r\n", 100, out, sizeof(out));
	ck_assert_str_eq(out, "250 ok | 250 a?b\nc?");
}
END_TEST

START_TEST(malformed_replies_are_errors)
{
	static const char *bad[] = {
		"hello\r\n",	      /* no code */
		"25 short\r\n",	      /* two digits */
		"250x ok\r\n",	      /* no separator */
		"650 six\r\n",	      /* no such class */
		"150 one\r\n",	      /* nor this */
		"250-a\r\n251 b\r\n", /* the code changes mid-reply */
	};
	char out[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		replies(bad[i], 3, out, sizeof(out));
		ck_assert_msg(strstr(out, "ERR") != NULL, "%s: %s", bad[i],
			      out);
	}
}
END_TEST

START_TEST(replies_are_bounded)
{
	size_t n = SMTPWIRE_MAX_LINE + 10, i;
	char *line = malloc(n + 3), *many, out[256];

	memcpy(line, "250 ", 4);
	memset(line + 4, 'x', n - 4);
	memcpy(line + n, "\r\n", 3);
	replies(line, 4096, out, sizeof(out));
	ck_assert_str_eq(out, "ERR");
	free(line);

	many = malloc((SMTPWIRE_MAX_LINES + 1) * 8 + 1);
	for (i = 0; i <= SMTPWIRE_MAX_LINES; i++)
		memcpy(many + i * 8, "250-ab\r\n", 8);
	many[(SMTPWIRE_MAX_LINES + 1) * 8] = '\0';
	replies(many, 4096, out, sizeof(out));
	ck_assert_str_eq(out, "ERR");
	free(many);

	/* a long text is cut, not an error */
	line = malloc(3000);
	memcpy(line, "554 ", 4);
	memset(line + 4, 'y', 2990);
	memcpy(line + 2994, "\r\n", 3);
	{
		struct smtpwire_reader r;
		struct smtpwire_reply rep;
		size_t used;
		char why[100];

		smtpwire_reader_init(&r);
		ck_assert_int_eq(smtpwire_feed(&r, line, 2996, &used, &rep, why,
					       sizeof(why)),
				 1);
		ck_assert_int_eq(rep.code, 554);
		ck_assert_uint_eq(rep.len, SMTPWIRE_MAX_TEXT - 1);
		ck_assert_uint_eq(strlen(rep.text), SMTPWIRE_MAX_TEXT - 1);
	}
	free(line);
}
END_TEST

static unsigned ext_of(const char *text)
{
	struct smtpwire_reply r;

	memset(&r, 0, sizeof(r));
	r.code = 250;
	snprintf(r.text, sizeof(r.text), "%s", text);
	r.len = strlen(r.text);
	return smtpwire_ehlo_extensions(&r);
}

START_TEST(ehlo_extensions)
{
	ck_assert_uint_eq(ext_of("relay.example\nPIPELINING\nSIZE 1000\n"
				 "STARTTLS\nAUTH LOGIN PLAIN\nDSN"),
			  SMTPWIRE_PIPELINING | SMTPWIRE_STARTTLS |
				  SMTPWIRE_AUTH_PLAIN | SMTPWIRE_DSN);
	ck_assert_uint_eq(ext_of("relay\npipelining\nauth=plain"),
			  SMTPWIRE_PIPELINING | SMTPWIRE_AUTH_PLAIN);
	/* the relay's name is no keyword; look-alikes are not them */
	ck_assert_uint_eq(ext_of("PIPELINING\nPIPELININGX\nDSNX\n"
				 "AUTH LOGIN CRAM-MD5\nAUTH PLAINX"),
			  0);
	ck_assert_uint_eq(ext_of("relay"), 0);
}
END_TEST

START_TEST(mailboxes_that_fit_an_envelope)
{
	char long_one[400];

	ck_assert(smtpwire_mailbox_ok("u1@example.org"));
	ck_assert(smtpwire_mailbox_ok("bounces+12-ab@example.net"));
	ck_assert(smtpwire_mailbox_ok("")); /* the null sender */
	ck_assert(!smtpwire_mailbox_ok("a@b>\r\nRCPT TO:<x@y"));
	ck_assert(!smtpwire_mailbox_ok("a b@example.org"));
	ck_assert(!smtpwire_mailbox_ok("a<b@example.org"));
	ck_assert(!smtpwire_mailbox_ok("\xc3\xa9@example.org"));
	memset(long_one, 'a', sizeof(long_one) - 1);
	long_one[sizeof(long_one) - 1] = '\0';
	ck_assert(!smtpwire_mailbox_ok(long_one));
}
END_TEST

struct sink {
	char buf[512];
	size_t len, calls;
};

static void put(void *arg, const char *p, size_t n)
{
	struct sink *s = arg;

	ck_assert_uint_le(s->len + n, sizeof(s->buf) - 1);
	memcpy(s->buf + s->len, p, n);
	s->len += n;
	s->buf[s->len] = '\0';
	s->calls++;
}

static const char *stuffed(const char *m, struct sink *s)
{
	memset(s, 0, sizeof(*s));
	smtpwire_data(m, strlen(m), put, s);
	return s->buf;
}

START_TEST(data_is_dot_stuffed_and_ended)
{
	struct sink s;

	ck_assert_str_eq(stuffed("a\r\nb\r\n", &s), "a\r\nb\r\n.\r\n");
	ck_assert_uint_eq(s.calls, 2); /* the message in one span */
	ck_assert_str_eq(stuffed(".\r\n..x\r\n.y\r\nz.\r\n", &s),
			 "..\r\n...x\r\n..y\r\nz.\r\n.\r\n");
	ck_assert_str_eq(stuffed("no end", &s), "no end\r\n.\r\n");
	ck_assert_str_eq(stuffed("bare\n.dot\n", &s), "bare\n..dot\n\r\n.\r\n");
	ck_assert_str_eq(stuffed("ends with\r\n.", &s),
			 "ends with\r\n..\r\n.\r\n");
	ck_assert_str_eq(stuffed("", &s), ".\r\n");
	/* dots inside a line stay single, and cost no span of their own */
	ck_assert_str_eq(stuffed("a.b.c\r\n.d.e\r\nf..\r\n", &s),
			 "a.b.c\r\n..d.e\r\nf..\r\n.\r\n");
	ck_assert_uint_eq(s.calls, 4);
	ck_assert_str_eq(stuffed("x\r\n.\r\n.", &s), "x\r\n..\r\n..\r\n.\r\n");
}
END_TEST

static Suite *smtpwire_suite(void)
{
	Suite *s = suite_create("smtpwire");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, replies_are_read_whole_in_reads_of_any_size);
	tcase_add_test(tc, bare_line_feeds_and_control_characters);
	tcase_add_test(tc, malformed_replies_are_errors);
	tcase_add_test(tc, replies_are_bounded);
	tcase_add_test(tc, ehlo_extensions);
	tcase_add_test(tc, mailboxes_that_fit_an_envelope);
	tcase_add_test(tc, data_is_dot_stuffed_and_ended);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(smtpwire_suite)
