/*
 * compose - RFC 5322 / MIME messages for notices (pure: no I/O, no TZ).
 *
 * The output is a complete message with CRLF line endings, no line over
 * 998 octets (RFC 5322 2.1.1; header lines are folded at 78), ready for
 * SMTP; dot-stuffing is the SMTP layer's job.  Headers: Date (always
 * "+0000"), From, To, Reply-To (optional), Subject, Message-ID,
 * MIME-Version, Content-Type, Content-Transfer-Encoding, Auto-Submitted:
 * auto-generated.  Any header text that is not plain ASCII is RFC 2047
 * encoded (UTF-8, "B" or "Q").  The body is sent as 7bit when it is ASCII
 * with short lines, else quoted-printable (RFC 2045 6.7).  With an
 * attachment the message is multipart/mixed: the text part, then the
 * attachment in base64 (RFC 2045 6.8) with a filename.  With an HTML
 * alternative the text becomes multipart/alternative: the plain part,
 * then the HTML part, both quoted-printable.
 */
#ifndef CERTRECALL_COMPOSE_H
#define CERTRECALL_COMPOSE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>
#include "certrecall/base/xalloc.h"

struct compose_attachment {
	const char *filename;	  /* ASCII, e.g. "certificates.csv" */
	const char *content_type; /* e.g. "text/csv; charset=UTF-8" */
	const char *data;
	size_t len;
};

struct compose_input {
	const char *from;     /* "Example CA <revocations@ca.example>" or
				 a bare address; display name may be UTF-8 */
	const char *to;	      /* a bare address */
	const char *reply_to; /* NULL for none; same forms as from */
	const char *subject;  /* UTF-8; CR/LF/controls become spaces */
	const char *body;     /* UTF-8; LF or CRLF line endings */
	time_t date;
	const char *message_id; /* without the angle brackets */
	const struct compose_attachment *attachment; /* NULL for none */
	const char *html; /* NULL, or an HTML alternative of body (UTF-8) */
};

/*
 * Builds the message.  Returns it NUL-terminated (caller frees) with its
 * length in *len, or NULL with a reason in err: an address with CR, LF or
 * another control character, angle brackets that do not match, a body
 * that is not valid UTF-8, a message_id with spaces or brackets.
 * The MIME boundary is derived from message_id, so the same input gives
 * the same bytes.
 */
CR_MUST_CHECK char *compose_message(const struct compose_input *in, size_t *len,
				    char *err, size_t errlen);

/*
 * A stable Message-ID for one notice, so a receiver can spot a duplicate:
 * "certrecall.<incident>.<kind>.<notice_id>@<domain>", where domain is the
 * domain of the From address.  Returns 0, or -1 if buf is too small or
 * from has no domain.
 */
CR_MUST_CHECK int compose_message_id(char *buf, size_t len,
				     const char *incident, const char *kind,
				     long long notice_id, const char *from);

/* RFC 5322 date: "Thu, 05 Mar 2020 03:08:00 +0000".  0 or -1. */
CR_MUST_CHECK int compose_date(time_t t, char *buf, size_t len);

/*
 * Where a notice stands against the revocation deadlines (BR 4.9.1.1)
 * when it is written.  Exactly one holds; the shipped templates say a
 * different thing in each, and nothing said in one contradicts another.
 */
enum compose_state {
	COMPOSE_BEFORE_SHOULD, /* at or before the SHOULD time (for a SHALL
				  rule: the one deadline) */
	COMPOSE_SHOULD_PASSED, /* SHOULD time passed, MUST not yet */
	COMPOSE_MUST_PASSED,   /* MUST time passed, not revoked */
	COMPOSE_REVOKED,       /* the certificates are revoked */
};

struct compose_times {
	time_t should_by; /* last on-time second of the SHOULD clock;
			     equal to must_by for a SHALL rule */
	time_t must_by;	  /* last on-time second of the MUST clock */
	time_t now;	  /* when the message is written */
	bool revoked;	  /* the notice reports revocations */
};

enum compose_state compose_state_at(const struct compose_times *t);

/* "before-should", "should-passed", "must-passed", "revoked". */
CR_MUST_CHECK const char *compose_state_name(enum compose_state s);

/*
 * A duration as subscribers read it, magnitude only: "4 days 17 hours",
 * "3 hours 5 minutes", "1 minute".
 */
void compose_duration_words(long long seconds, char *buf, size_t len);

/* The same in Japanese: "4日17時間", "3時間5分", "1分". */
void compose_duration_words_ja(long long seconds, char *buf, size_t len);

/*
 * Adds the time names of a notice to the template context ctx (an
 * object; docs/templates.md lists them): state, the four state booleans
 * before_should / should_passed / must_passed / revoked, has_should,
 * deadline and deadline_iso (the MUST time), should_by and should_by_iso,
 * composed_at, remaining ("4 days 17 hours from now" or "overdue by 2
 * days 1 hour"), time_left and overdue_by ("0 minutes" when they do not
 * apply), and time_left_ja / overdue_by_ja in Japanese.  Returns 0, or -1 when a time is outside years 0000-9999.
 */
CR_MUST_CHECK int compose_time_context(json_t *ctx,
				       const struct compose_times *t);

/*
 * One CSV field (RFC 4180): quoted when it holds , " CR or LF, with "
 * doubled; NULL is an empty field.  Appends the field and then "," or,
 * when last is nonzero, CRLF to *buf (grown with xrealloc; *len and *cap
 * updated; *buf stays NUL-terminated).
 */
void compose_csv_field(char **buf, size_t *len, size_t *cap, const char *s,
		       int last);

/*
 * The size compose_message's base64 of len bytes takes (lines of 76,
 * CRLF between them).
 */
size_t compose_base64_size(size_t len);

/*
 * Numbered parts of a notice too big for one message
 * (mailer.max_message_bytes): splits n attachment rows of row_bytes[i]
 * bytes each, in order, into consecutive parts such that each part's
 * message, fixed bytes plus the base64 of head (the CSV header) and its
 * rows, stays at or under max.  Writes the index of each part's first
 * row into starts (room for n) and returns the number of parts, or 0
 * when a row alone (or fixed) does not fit: no split can help.
 */
size_t compose_split(const size_t *row_bytes, size_t n, size_t head,
		     size_t fixed, size_t max, size_t *starts);

#endif
