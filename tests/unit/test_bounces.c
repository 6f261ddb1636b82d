/*
 * test_bounces.c - VERP tags verify only with their key; delivery status
 * notifications (RFC 3464 and plain text) give the action, status and
 * diagnostic of the notice they name; what is not a bounce gives none.
 */
#include "certrecall/core/bounces.h"
#include "unit.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PATTERN "bounces+{id}@example.net"

static struct bounces_key test_key(const char *secret)
{
	struct bounces_key k;

	memset(&k, 0, sizeof(k));
	k.len = strlen(secret);
	memcpy(k.key, secret, k.len);
	return k;
}

START_TEST(a_tag_verifies_only_with_its_key_and_notice)
{
	struct bounces_key k = test_key("0123456789abcdef-secret");
	struct bounces_key other = test_key("another key of 16+ bytes");
	char tag[BOUNCES_TAG_MAX], forged[BOUNCES_TAG_MAX], path[320];
	long long id = 0;

	ck_assert_int_eq(bounces_tag(&k, 4711, tag, sizeof(tag)), 0);
	/* a buffer too small for the tag is an error, not a cut tag */
	ck_assert_int_eq(bounces_tag(&k, 4711, forged, 5 + 32), -1);
	ck_assert_int_eq(strncmp(tag, "4711-", 5), 0);
	ck_assert_uint_eq(strlen(tag), 5 + 32);
	ck_assert_int_eq(bounces_tag_verify(&k, tag, &id), 1);
	ck_assert_int_eq(id, 4711);
	ck_assert_int_eq(bounces_tag_verify(&other, tag, &id), 0);
	/* the mac of 4711 does not name 4712 */
	snprintf(forged, sizeof(forged), "4712%s", tag + 4);
	ck_assert_int_eq(bounces_tag_verify(&k, forged, &id), 0);
	ck_assert_int_eq(bounces_tag_verify(&k, "4711", &id), -1);
	ck_assert_int_eq(bounces_tag_verify(&k, "x-00", &id), -1);
	ck_assert_int_eq(
		bounces_return_path(&k, PATTERN, 4711, path, sizeof(path)), 0);
	ck_assert_int_eq(strncmp(path, "bounces+4711-", 13), 0);
	ck_assert_str_eq(path + 13 + 32, "@example.net");
}
END_TEST

START_TEST(patterns_need_one_id_in_the_local_part)
{
	char err[160];

	ck_assert_int_eq(bounces_pattern_check(PATTERN, err, sizeof(err)), 0);
	ck_assert_int_eq(
		bounces_pattern_check("bounces@example.net", err, sizeof(err)),
		-1);
	ck_assert_int_eq(bounces_pattern_check("b+{id}{id}@example.net", err,
					       sizeof(err)),
			 -1);
	ck_assert_int_eq(bounces_pattern_check("bounces@{id}.example.net", err,
					       sizeof(err)),
			 -1);
	ck_assert_int_eq(
		bounces_pattern_check("b {id}@example.net", err, sizeof(err)),
		-1);
}
END_TEST

START_TEST(a_key_file_readable_by_others_is_refused)
{
	const char *dir = getenv("TMPDIR");
	char path[4096];
	struct bounces_key k;
	int fd;

	/* A key file of our own, where the environment keeps them: the
	 * name ends in the six-letter template that mkstemp() fills in. */
	ck_assert_int_lt(snprintf(path, sizeof(path),
				  "%s/test_bounces_keyXXXXXX",
				  dir != NULL && dir[0] != '\0' ? dir : "/tmp"),
			 (int)sizeof(path));
	fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "0123456789abcdef0123\n", 21), 21);
	close(fd);
	chmod(path, 0600);
	ck_assert_int_eq(bounces_key_load(&k, path), 0);
	ck_assert_uint_eq(k.len, 20); /* the newline is not key */
	chmod(path, 0640);
	unit_capture_begin();
	ck_assert_int_eq(bounces_key_load(&k, path), -1);
	free(unit_capture_end());
	unlink(path);
}
END_TEST

#define TAG "12-0123456789abcdef0123456789abcdef"

static const struct {
	const char *name;
	const char *msg;
	enum bounces_action action;
	const char *tag, *status, *diagnostic;
} dsns[] = {
	{ "rfc3464 failed, folded diagnostic",
	  "From: MAILER-DAEMON@relay.example.net\r\n"
	  "To: bounces+" TAG "@example.net\r\n"
	  "Subject: Undelivered Mail Returned to Sender\r\n"
	  "MIME-Version: 1.0\r\n"
	  "Content-Type: multipart/report; report-type=delivery-status;\r\n"
	  " boundary=\"B\"\r\n\r\n"
	  "--B\r\nContent-Type: text/plain\r\n\r\nI'm sorry.\r\n"
	  "--B\r\nContent-Type: message/delivery-status\r\n\r\n"
	  "Reporting-MTA: dns; relay.example.net\r\n\r\n"
	  "Final-Recipient: rfc822; u6@example.org\r\n"
	  "Action: failed\r\nStatus: 5.1.1\r\n"
	  "Diagnostic-Code: smtp; 550 5.1.1 mailbox\r\n unavailable\r\n\r\n"
	  "--B\r\nContent-Type: text/rfc822-headers\r\n\r\n"
	  "Subject: BR 4.9.1.1 says\r\n\r\n--B--\r\n",
	  BOUNCES_BOUNCED, TAG, "5.1.1", "550 5.1.1 mailbox unavailable" },
	{ "rfc3464 delayed, tag only in the quoted headers",
	  "From: MAILER-DAEMON@relay.example.net\r\n"
	  "To: someone-else@example.net\r\n"
	  "MIME-Version: 1.0\r\n"
	  "Content-Type: multipart/report; report-type=delivery-status; "
	  "boundary=B\r\n\r\n"
	  "--B\r\nContent-Type: message/delivery-status\r\n\r\n"
	  "Reporting-MTA: dns; relay.example.net\r\n\r\n"
	  "Final-Recipient: rfc822; u7@example.org\r\n"
	  "Action: delayed\r\nStatus: 4.4.1\r\n\r\n"
	  "--B\r\nContent-Type: message/rfc822\r\n\r\n"
	  "Return-Path: <bounces+" TAG "@example.net>\r\n"
	  "Subject: hi\r\n\r\nbody\r\n--B--\r\n",
	  BOUNCES_DELAYED, TAG, "4.4.1", "" },
	{ "rfc3464 delivered (positive DSN)",
	  "From: MAILER-DAEMON@relay.example.net\r\n"
	  "Delivered-To: bounces+" TAG "@example.net\r\n"
	  "Content-Type: multipart/report; report-type=delivery-status; "
	  "boundary=B\r\n\r\n"
	  "--B\r\nContent-Type: message/delivery-status\r\n\r\n"
	  "Reporting-MTA: dns; x\r\n\r\n"
	  "Final-Recipient: rfc822; u8@example.org\r\n"
	  "Action: delivered\r\nStatus: 2.0.0\r\n\r\n--B--\r\n",
	  BOUNCES_DELIVERED, TAG, "2.0.0", "" },
	{ "rfc3464 delivered, tag only as the envelope id (ENVID)",
	  "From: MAILER-DAEMON@relay.example.net\r\n"
	  "To: someone-else@example.net\r\n"
	  "Content-Type: multipart/report; report-type=delivery-status; "
	  "boundary=B\r\n\r\n"
	  "--B\r\nContent-Type: message/delivery-status\r\n\r\n"
	  "Reporting-MTA: dns; x\r\nOriginal-Envelope-Id: " TAG "\r\n\r\n"
	  "Final-Recipient: rfc822; u8@example.org\r\n"
	  "Action: delivered\r\nStatus: 2.0.0\r\n\r\n--B--\r\n",
	  BOUNCES_DELIVERED, TAG, "2.0.0", "" },
	{ "rfc3464 relayed to a next hop without DSN: not delivered",
	  "From: MAILER-DAEMON@relay.example.net\r\n"
	  "Delivered-To: bounces+" TAG "@example.net\r\n"
	  "Content-Type: multipart/report; report-type=delivery-status; "
	  "boundary=B\r\n\r\n"
	  "--B\r\nContent-Type: message/delivery-status\r\n\r\n"
	  "Reporting-MTA: dns; x\r\n\r\n"
	  "Final-Recipient: rfc822; u8@example.org\r\n"
	  "Action: relayed\r\nStatus: 2.0.0\r\n\r\n--B--\r\n",
	  BOUNCES_RELAYED, TAG, "2.0.0", "" },
	{ "plain text with an enhanced code, BR 4.9.1.1 in the quote",
	  "From: MAILER-DAEMON@mx.example.org\r\n"
	  "To: bounces+" TAG "@example.net\r\n"
	  "Subject: failure notice\r\n\r\n"
	  "Remote server said: 552 5.2.2 mailbox full\r\n\r\n"
	  "----- Original message -----\r\nSubject: BR 4.9.1.1\r\n",
	  BOUNCES_BOUNCED, TAG, "5.2.2",
	  "Remote server said: 552 5.2.2 mailbox full" },
	{ "plain text with a reply code only",
	  "From: postmaster@mx.example.org\r\n"
	  "To: BOUNCES+" TAG "@EXAMPLE.NET\r\n"
	  "Subject: Returned mail\r\n\r\n"
	  "<u9@example.org>: host mx said: 550 no such user (in reply to "
	  "RCPT TO)\r\n",
	  BOUNCES_BOUNCED, TAG, "5.0.0",
	  "<u9@example.org>: host mx said: 550 no such user (in reply to "
	  "RCPT TO)" },
	{ "an auto-reply is not a bounce",
	  "From: u1@example.org\r\nTo: bounces+" TAG "@example.net\r\n"
	  "Subject: Out of office\r\n\r\nBack on 5.3.2020, 550 times.\r\n",
	  BOUNCES_NONE, TAG, "", "" },
	{ "a bounce of someone else's mail names no notice",
	  "From: MAILER-DAEMON@mx.example.org\r\nTo: ops@example.net\r\n"
	  "Subject: Undeliverable\r\n\r\n550 5.1.1 unknown\r\n",
	  BOUNCES_BOUNCED, "", "5.1.1", "550 5.1.1 unknown" },
};

START_TEST(dsns_give_action_status_and_diagnostic)
{
	struct bounces_dsn d;
	char err[160];

	bounces_init();
	ck_assert_int_eq(bounces_parse(dsns[_i].msg, strlen(dsns[_i].msg),
				       PATTERN, &d, err, sizeof(err)),
			 0);
	ck_assert_msg(d.action == dsns[_i].action, "%s: action %s",
		      dsns[_i].name, bounces_action_name(d.action));
	ck_assert_msg(strcmp(d.tag, dsns[_i].tag) == 0, "%s: tag \"%s\"",
		      dsns[_i].name, d.tag);
	ck_assert_msg(strcmp(d.status, dsns[_i].status) == 0,
		      "%s: status \"%s\"", dsns[_i].name, d.status);
	ck_assert_msg(strcmp(d.diagnostic, dsns[_i].diagnostic) == 0,
		      "%s: diagnostic \"%s\"", dsns[_i].name, d.diagnostic);
}
END_TEST

static Suite *bounces_suite(void)
{
	Suite *s = suite_create("bounces");
	TCase *tc = tcase_create("bounces");

	tcase_add_test(tc, a_tag_verifies_only_with_its_key_and_notice);
	tcase_add_test(tc, patterns_need_one_id_in_the_local_part);
	tcase_add_test(tc, a_key_file_readable_by_others_is_refused);
	tcase_add_loop_test(tc, dsns_give_action_status_and_diagnostic, 0,
			    (int)(sizeof(dsns) / sizeof(dsns[0])));
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(bounces_suite)
