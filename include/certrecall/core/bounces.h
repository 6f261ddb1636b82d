/*
 * bounces - VERP return paths for notices, and the delivery status
 * notifications (DSNs) that come back to them.
 *
 * Each notice leaves with the envelope sender mailer.return_path with
 * "{id}" replaced by a tag "<notice id>-<mac>", mac being the first 16
 * bytes, in hex, of HMAC-SHA256 keyed by the secret in mailer.bounce_key
 * over "certrecall-notice:<notice id>".  Only a bounce carrying a tag
 * whose mac verifies can change a notice: anyone can mail the bounce
 * address, nobody without the key can name a notice.
 *
 * MIME is parsed with GMime 3.  A DSN is RFC 3464 (multipart/report,
 * report-type=delivery-status; the per-recipient Action, Status and
 * Diagnostic-Code; "Action: relayed" or "expanded" is BOUNCES_RELAYED,
 * never delivered: the next hop does not speak DSN, so nothing confirms
 * the mailbox got the notice), or a plain-text bounce that quotes the original
 * headers (the first enhanced status code "5.1.1" or a reply "550 ..."
 * in its text).  The tag is looked for in the DSN's own To,
 * Delivered-To, X-Original-To and Envelope-To headers first, then in
 * the text of every part (a quoted Return-Path), last as the DSN's
 * Original-Envelope-Id (the ENVID each notice is sent with).
 */
#ifndef CERTRECALL_BOUNCES_H
#define CERTRECALL_BOUNCES_H

#include <stdbool.h>
#include <stddef.h>

#include "certrecall/base/xalloc.h"

#define BOUNCES_KEY_MAX 256
#define BOUNCES_TAG_MAX 64
#define BOUNCES_MESSAGE_MAX (4u << 20) /* bigger messages are skipped */

/* In the order a later report may replace an earlier one. */
enum bounces_action {
	BOUNCES_NONE,	   /* not a delivery status notification */
	BOUNCES_DELAYED,   /* 4.x.x, still trying */
	BOUNCES_RELAYED,   /* relayed/expanded: passed on, not confirmed */
	BOUNCES_DELIVERED, /* a positive DSN: Action: delivered */
	BOUNCES_BOUNCED,   /* failed for good */
};

struct bounces_key {
	unsigned char key[BOUNCES_KEY_MAX];
	size_t len;
};

/* What one message says. */
struct bounces_dsn {
	enum bounces_action action;
	char tag[BOUNCES_TAG_MAX];   /* "" when no tag of the pattern found */
	char status[16];	     /* "5.1.1", or "" */
	char diagnostic[512];	     /* printable ASCII/UTF-8, one line */
	char recipient[320];	     /* the failed recipient, or "" */
	char envid[BOUNCES_TAG_MAX]; /* Original-Envelope-Id, or "" */
};

/* "delivered", "relayed", "delayed", "bounced" ("" for BOUNCES_NONE). */
CR_MUST_CHECK const char *bounces_action_name(enum bounces_action a);

/*
 * Loads the key from path: a regular file readable by its owner only
 * (mode 0600 or stricter), holding at least 16 bytes (trailing
 * newlines are not part of the key).  0, or -1 with the reason logged.
 */
CR_MUST_CHECK int bounces_key_load(struct bounces_key *k, const char *path);

/*
 * Checks mailer.return_path: one "{id}" in the local part, one "@",
 * nothing that needs quoting.  0, or -1 with a reason in err.
 */
CR_MUST_CHECK int bounces_pattern_check(const char *pattern, char *err,
					size_t errlen);

/* The tag of a notice into buf (BOUNCES_TAG_MAX is always enough).
 * 0, or -1 if len is too small. */
CR_MUST_CHECK int bounces_tag(const struct bounces_key *k, long long notice_id,
			      char *buf, size_t len);

/* pattern with {id} replaced by the notice's tag.  0, or -1 if too long. */
CR_MUST_CHECK int bounces_return_path(const struct bounces_key *k,
				      const char *pattern, long long notice_id,
				      char *buf, size_t len);

/*
 * The notice a tag names: 1 and *notice_id when the tag is well formed
 * and its mac verifies, 0 when the mac is wrong (a forgery), -1 when it
 * is not a tag at all.
 */
CR_MUST_CHECK int bounces_tag_verify(const struct bounces_key *k,
				     const char *tag, long long *notice_id);

/* Once per process, before any parse (GMime's tables). */
void bounces_init(void);

/*
 * Reads one message (len bytes, at most BOUNCES_MESSAGE_MAX) and fills
 * *out; pattern is mailer.return_path, which tells where the tag is.
 * Returns 0 (out->action is BOUNCES_NONE when the message is no DSN),
 * or -1 when the bytes are not a message at all (reason in err).
 */
CR_MUST_CHECK int bounces_parse(const char *buf, size_t len,
				const char *pattern, struct bounces_dsn *out,
				char *err, size_t errlen);

/*
 * Calls fn for each message of an mbox file (GMime's mbox parser;
 * "From " lines split messages); where names it ("FILE: message N").
 * Stops and returns fn's value when it is nonzero; 0 at the end, -1
 * when the file cannot be read (logged).
 */
CR_MUST_CHECK int bounces_mbox_each(const char *path, const char *pattern,
				    int (*fn)(const char *where,
					      const struct bounces_dsn *d,
					      int parse_rc, void *arg),
				    void *arg);

#endif
