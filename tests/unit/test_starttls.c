/*
 * test_starttls.c - each STARTTLS dialogue: what the client says, what a
 * server may answer, and where it ends (done, refused, protocol error);
 * every reply line and multi-line reply is capped; bytes may arrive one
 * at a time.
 */
#include "certrecall/core/starttls.h"
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LDAP_REQ                                                               \
	"\x30\x1d\x02\x01\x01\x77\x18\x80\x16"                                 \
	"1.3.6.1.4.1.1466.20037"
#define XMPP_HDR                                                               \
	"<?xml version='1.0'?><stream:stream xmlns='jabber:client' "           \
	"xmlns:stream='http://etherx.jabber.org/streams' "                     \
	"to='mail.example.com' version='1.0'>"
#define XMPP_FEATURES                                                          \
	"<?xml version='1.0'?><stream:stream from='mail.example.com' "         \
	"id='x' version='1.0' xmlns='jabber:client' "                          \
	"xmlns:stream='http://etherx.jabber.org/streams'>"                     \
	"<stream:features><starttls "                                          \
	"xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls>"       \
	"<mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>"     \
	"PLAIN</mechanism></mechanisms></stream:features>"
#define STARTTLS_EHLO_TAIL "certrecall.invalid\r\n"
#define XMPP_STARTTLS "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"

/* A dialogue: the client's first words, then (server says, client
 * answers) pairs until the end status; len is for binary replies. */
struct turn {
	const char *server;
	size_t len; /* 0: strlen */
	const char *client;
};

static const struct {
	const char *what;
	enum starttls_proto proto;
	const char *first;
	struct turn turns[4];
	enum starttls_status end;
	const char *why; /* a piece of the reason */
} dialogues[] = {
	{ "smtp agrees",
	  STARTTLS_SMTP,
	  "",
	  { { "220 mx ESMTP\r\n", 0, "EHLO certrecall.invalid\r\n" },
	    { "250-mx\r\n250-PIPELINING\r\n250 STARTTLS\r\n", 0,
	      "STARTTLS\r\n" },
	    { "220 2.0.0 Ready to start TLS\r\n", 0, "" } },
	  STARTTLS_DONE,
	  "" },
	{ "smtp multi-line greeting",
	  STARTTLS_SMTP,
	  "",
	  { { "220-mx\r\n220-welcome\r\n220 ESMTP\r\n", 0,
	      "EHLO certrecall.invalid\r\n" },
	    { "250 mx\r\n", 0, "STARTTLS\r\n" },
	    { "220 go\n", 0, "" } },
	  STARTTLS_DONE,
	  "" },
	{ "smtp 454 is refused",
	  STARTTLS_SMTP,
	  "",
	  { { "220 mx\r\n", 0, "EHLO certrecall.invalid\r\n" },
	    { "250 mx\r\n", 0, "STARTTLS\r\n" },
	    { "454 4.7.0 TLS not available\r\n", 0, "" } },
	  STARTTLS_REFUSED,
	  "454 4.7.0 TLS not available" },
	{ "smtp 554 greeting is refused",
	  STARTTLS_SMTP,
	  "",
	  { { "554 no service\r\n", 0, "" } },
	  STARTTLS_REFUSED,
	  "554" },
	{ "smtp garbage greeting",
	  STARTTLS_SMTP,
	  "",
	  { { "SSH-2.0-OpenSSH_9.2\r\n", 0, "" } },
	  STARTTLS_ERROR,
	  "SSH-2.0" },
	{ "smtp codes must match within a reply",
	  STARTTLS_SMTP,
	  "",
	  { { "220-mx\r\n250 x\r\n", 0, "" } },
	  STARTTLS_ERROR,
	  "not a reply line" },
	{ "smtp 250 to STARTTLS is an error",
	  STARTTLS_SMTP,
	  "",
	  { { "220 mx\r\n", 0, "EHLO certrecall.invalid\r\n" },
	    { "250 mx\r\n", 0, "STARTTLS\r\n" },
	    { "250 ok\r\n", 0, "" } },
	  STARTTLS_ERROR,
	  "unexpected reply" },
	{ "smtp bytes after the 220 are an error",
	  STARTTLS_SMTP,
	  "",
	  { { "220 mx\r\n", 0, "EHLO certrecall.invalid\r\n" },
	    { "250 mx\r\n", 0, "STARTTLS\r\n" },
	    { "220 go\r\nXX", 0, "" } },
	  STARTTLS_ERROR,
	  "data after" },
	{ "imap agrees after untagged capability",
	  STARTTLS_IMAP,
	  "",
	  { { "* OK [CAPABILITY IMAP4rev1 STARTTLS] Dovecot ready.\r\n", 0,
	      ". STARTTLS\r\n" },
	    { "* CAPABILITY IMAP4rev1\r\n. OK Begin TLS negotiation now.\r\n",
	      0, "" } },
	  STARTTLS_DONE,
	  "" },
	{ "imap NO is refused",
	  STARTTLS_IMAP,
	  "",
	  { { "* OK hi\r\n", 0, ". STARTTLS\r\n" },
	    { ". NO not now\r\n", 0, "" } },
	  STARTTLS_REFUSED,
	  ". NO" },
	{ "imap PREAUTH cannot STARTTLS",
	  STARTTLS_IMAP,
	  "",
	  { { "* PREAUTH hi\r\n", 0, "" } },
	  STARTTLS_REFUSED,
	  "PREAUTH" },
	{ "imap garbage",
	  STARTTLS_IMAP,
	  "",
	  { { "+OK pop3\r\n", 0, "" } },
	  STARTTLS_ERROR,
	  "not an IMAP greeting" },
	{ "pop3 agrees",
	  STARTTLS_POP3,
	  "",
	  { { "+OK Dovecot ready.\r\n", 0, "STLS\r\n" },
	    { "+OK Begin TLS negotiation now.\r\n", 0, "" } },
	  STARTTLS_DONE,
	  "" },
	{ "pop3 -ERR is refused",
	  STARTTLS_POP3,
	  "",
	  { { "+OK hi\r\n", 0, "STLS\r\n" }, { "-ERR no\r\n", 0, "" } },
	  STARTTLS_REFUSED,
	  "-ERR no" },
	{ "ftp agrees after a free-text multi-line greeting",
	  STARTTLS_FTP,
	  "",
	  { { "220-Welcome\r\n  to the archive\r\n220 ready\r\n", 0,
	      "AUTH TLS\r\n" },
	    { "234 Proceed with negotiation.\r\n", 0, "" } },
	  STARTTLS_DONE,
	  "" },
	{ "ftp 120 then 220",
	  STARTTLS_FTP,
	  "",
	  { { "120 wait\r\n", 0, "" },
	    { "220 ready\r\n", 0, "AUTH TLS\r\n" },
	    { "234 go\r\n", 0, "" } },
	  STARTTLS_DONE,
	  "" },
	{ "ftp 530 is refused",
	  STARTTLS_FTP,
	  "",
	  { { "220 ready\r\n", 0, "AUTH TLS\r\n" },
	    { "530 Please login with USER and PASS.\r\n", 0, "" } },
	  STARTTLS_REFUSED,
	  "530" },
	{ "xmpp proceeds",
	  STARTTLS_XMPP_CLIENT,
	  XMPP_HDR,
	  { { XMPP_FEATURES, 0, XMPP_STARTTLS },
	    { "<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>", 0, "" } },
	  STARTTLS_DONE,
	  "" },
	{ "xmpp failure is refused",
	  STARTTLS_XMPP_CLIENT,
	  XMPP_HDR,
	  { { XMPP_FEATURES, 0, XMPP_STARTTLS },
	    { "<failure xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>", 0, "" } },
	  STARTTLS_REFUSED,
	  "failure" },
	{ "xmpp without starttls is refused",
	  STARTTLS_XMPP_CLIENT,
	  XMPP_HDR,
	  { { "<stream:stream><stream:features><bind/></stream:features>", 0,
	      "" } },
	  STARTTLS_REFUSED,
	  "not offered" },
	{ "xmpp stream error is refused",
	  STARTTLS_XMPP_CLIENT,
	  XMPP_HDR,
	  { { "<stream:stream><stream:error><host-unknown/>", 0, "" } },
	  STARTTLS_REFUSED,
	  "stream error" },
	{ "ldap success",
	  STARTTLS_LDAP,
	  LDAP_REQ,
	  { { "\x30\x0c\x02\x01\x01\x78\x07\x0a\x01\x00\x04\x00\x04\x00", 14,
	      "" } },
	  STARTTLS_DONE,
	  "" },
	{ "ldap long-form lengths",
	  STARTTLS_LDAP,
	  LDAP_REQ,
	  { { "\x30\x81\x0d\x02\x01\x01\x78\x81\x07\x0a\x01\x00\x04\x00\x04"
	      "\x00",
	      16, "" } },
	  STARTTLS_DONE,
	  "" },
	{ "ldap protocolError is refused",
	  STARTTLS_LDAP,
	  LDAP_REQ,
	  { { "\x30\x0c\x02\x01\x01\x78\x07\x0a\x01\x02\x04\x00\x04\x00", 14,
	      "" } },
	  STARTTLS_REFUSED,
	  "result code 2" },
	{ "ldap garbage",
	  STARTTLS_LDAP,
	  LDAP_REQ,
	  { { "220 smtp\r\n", 0, "" } },
	  STARTTLS_ERROR,
	  "not an LDAP message" },
};

static enum starttls_status feed(struct starttls *t, const char *data,
				 size_t len, bool bytewise)
{
	enum starttls_status st = STARTTLS_MORE;

	if (!bytewise)
		return starttls_input(t, data, len);
	for (size_t i = 0; i < len; i++)
		st = starttls_input(t, data + i, 1);
	return st;
}

static void run_dialogue(int i, bool bytewise)
{
	struct starttls t;
	enum starttls_status st = STARTTLS_MORE;
	const char *out;
	size_t len;

	starttls_init(&t, dialogues[i].proto, "mail.example.com");
	out = starttls_output(&t, &len);
	ck_assert_uint_eq(len, strlen(dialogues[i].first));
	ck_assert(memcmp(out, dialogues[i].first, len) == 0);
	starttls_sent(&t, len);
	for (int k = 0; k < 4 && dialogues[i].turns[k].server; k++) {
		const struct turn *tu = &dialogues[i].turns[k];
		size_t n = tu->len ? tu->len : strlen(tu->server);

		st = feed(&t, tu->server, n, bytewise);
		out = starttls_output(&t, &len);
		ck_assert_msg(len == strlen(tu->client) &&
				      memcmp(out, tu->client, len) == 0,
			      "%s: turn %d: client said \"%.*s\"",
			      dialogues[i].what, k, (int)len, out);
		starttls_sent(&t, len);
	}
	ck_assert_msg(st == dialogues[i].end, "%s: status %d, why \"%s\"",
		      dialogues[i].what, st, starttls_why(&t));
	ck_assert_msg(strstr(starttls_why(&t), dialogues[i].why) != NULL,
		      "%s: why \"%s\"", dialogues[i].what, starttls_why(&t));
}

START_TEST(dialogues_end_as_specified)
{
	run_dialogue(_i, false);
}
END_TEST

START_TEST(dialogues_end_the_same_byte_by_byte)
{
	run_dialogue(_i, true);
}
END_TEST

START_TEST(a_500_line_greeting_is_a_protocol_error)
{
	static const enum starttls_proto line_protos[] = { STARTTLS_SMTP,
							   STARTTLS_FTP,
							   STARTTLS_IMAP };

	for (size_t p = 0; p < 3; p++) {
		struct starttls t;
		enum starttls_status st = STARTTLS_MORE;
		const char *line = line_protos[p] == STARTTLS_IMAP
					   ? "* OK\r\n"
					   : "220-hello\r\n";

		starttls_init(&t, line_protos[p], "x.example");
		if (line_protos[p] == STARTTLS_IMAP) {
			st = starttls_input(&t, line, strlen(line));
			line = "* CAPABILITY X\r\n";
		}
		for (int i = 0; i < 500 && st == STARTTLS_MORE; i++)
			st = starttls_input(&t, line, strlen(line));
		ck_assert_int_eq(st, STARTTLS_ERROR);
		ck_assert(strstr(starttls_why(&t), "more than 64 lines"));
	}
}
END_TEST

START_TEST(a_line_without_end_is_capped)
{
	struct starttls t;
	char big[STARTTLS_MAX_LINE + 10];

	memset(big, 'a', sizeof(big));
	starttls_init(&t, STARTTLS_POP3, "x.example");
	ck_assert_int_eq(starttls_input(&t, big, sizeof(big)), STARTTLS_ERROR);
	ck_assert(strstr(starttls_why(&t), "over 1024 bytes"));
}
END_TEST

START_TEST(xmpp_input_is_capped_in_total)
{
	struct starttls t;
	enum starttls_status st = STARTTLS_MORE;

	starttls_init(&t, STARTTLS_XMPP_SERVER, "x.example");
	for (int i = 0; i < 10000 && st == STARTTLS_MORE; i++)
		st = starttls_input(&t, "<a/>text", 8);
	ck_assert_int_eq(st, STARTTLS_ERROR);
	ck_assert(strstr(starttls_why(&t), "more than 32768 bytes"));
}
END_TEST

START_TEST(xmpp_server_uses_jabber_server_and_the_name_as_to)
{
	struct starttls t;
	size_t len;
	const char *out;

	starttls_init(&t, STARTTLS_XMPP_SERVER, "chat.example.org");
	out = starttls_output(&t, &len);
	ck_assert(memmem(out, len, "xmlns='jabber:server'", 21) != NULL);
	ck_assert(memmem(out, len, "to='chat.example.org'", 21) != NULL);
	starttls_init(&t, STARTTLS_XMPP_CLIENT, "a'b");
	ck_assert_int_eq(t.status, STARTTLS_ERROR);
}
END_TEST

START_TEST(proto_names_round_trip)
{
	enum starttls_proto p;

	for (int i = 0; i < STARTTLS_NPROTOS; i++) {
		const char *n = starttls_proto_name((enum starttls_proto)i);

		ck_assert_int_eq(starttls_proto_parse(n, strlen(n), &p), 0);
		ck_assert_int_eq(p, i);
	}
	ck_assert_int_eq(starttls_proto_parse("smtps", 5, &p), -1);
	ck_assert_int_eq(starttls_proto_parse("smtp/x", 4, &p), 0);
	ck_assert_int_eq(p, STARTTLS_SMTP);
	ck_assert_str_eq(starttls_proto_name(STARTTLS_NPROTOS), "?");
	ck_assert_uint_eq(starttls_default_port(STARTTLS_SMTP), 25);
}
END_TEST

START_TEST(partial_sends_keep_the_rest)
{
	struct starttls t;
	size_t len;
	const char *out;

	starttls_init(&t, STARTTLS_SMTP, "x.example");
	ck_assert_int_eq(starttls_input(&t, "220 hi\r\n", 8), STARTTLS_MORE);
	starttls_sent(&t, 5);
	out = starttls_output(&t, &len);
	ck_assert_uint_eq(len, strlen(STARTTLS_EHLO_TAIL));
	ck_assert(memcmp(out, STARTTLS_EHLO_TAIL, len) == 0);
}
END_TEST

START_TEST(ports_take_protocols_and_presets)
{
	struct starttls_port pp[STARTTLS_MAX_PORTS];
	size_t n;
	char err[256];

	ck_assert_int_eq(starttls_ports_parse("443, 587/smtp 143/IMAP,5222/"
					      "xmpp-client",
					      pp, STARTTLS_MAX_PORTS, &n, err,
					      sizeof(err)),
			 0);
	ck_assert_uint_eq(n, 4);
	ck_assert_uint_eq(pp[0].port, 443);
	ck_assert_int_eq(pp[0].proto, STARTTLS_NONE);
	ck_assert_int_eq(pp[1].proto, STARTTLS_SMTP);
	ck_assert_int_eq(pp[2].proto, STARTTLS_IMAP);
	ck_assert_int_eq(pp[3].proto, STARTTLS_XMPP_CLIENT);
	ck_assert_int_eq(starttls_ports_parse("web, mail, 25/smtp", pp,
					      STARTTLS_MAX_PORTS, &n, err,
					      sizeof(err)),
			 0);
	ck_assert_uint_eq(n, 8); /* 25/smtp counted once */
	ck_assert_uint_eq(pp[1].port, 25);
	ck_assert_int_eq(pp[1].proto, STARTTLS_SMTP);
	ck_assert_int_eq(starttls_ports_parse("25, 25/smtp", pp,
					      STARTTLS_MAX_PORTS, &n, err,
					      sizeof(err)),
			 -1);
	ck_assert(strstr(err, "both tls and smtp"));
	ck_assert_int_eq(starttls_ports_parse("443/smtps", pp,
					      STARTTLS_MAX_PORTS, &n, err,
					      sizeof(err)),
			 -1);
	ck_assert(strstr(err, "\"443/smtps\" is not PORT[/PROTO]"));
	ck_assert_int_eq(starttls_ports_parse("0", pp, STARTTLS_MAX_PORTS, &n,
					      err, sizeof(err)),
			 -1);
	ck_assert_int_eq(starttls_ports_parse("99999999999/smtp", pp,
					      STARTTLS_MAX_PORTS, &n, err,
					      sizeof(err)),
			 -1);
	ck_assert_int_eq(starttls_ports_parse(" , ", pp, STARTTLS_MAX_PORTS, &n,
					      err, sizeof(err)),
			 -1);
}
END_TEST

static Suite *starttls_suite(void)
{
	Suite *s = suite_create("starttls");
	TCase *tc = tcase_create("core");
	int n = (int)(sizeof(dialogues) / sizeof(dialogues[0]));

	tcase_add_loop_test(tc, dialogues_end_as_specified, 0, n);
	tcase_add_loop_test(tc, dialogues_end_the_same_byte_by_byte, 0, n);
	tcase_add_test(tc, a_500_line_greeting_is_a_protocol_error);
	tcase_add_test(tc, a_line_without_end_is_capped);
	tcase_add_test(tc, xmpp_input_is_capped_in_total);
	tcase_add_test(tc, xmpp_server_uses_jabber_server_and_the_name_as_to);
	tcase_add_test(tc, proto_names_round_trip);
	tcase_add_test(tc, partial_sends_keep_the_rest);
	tcase_add_test(tc, ports_take_protocols_and_presets);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(starttls_suite)
