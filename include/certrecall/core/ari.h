/*
 * ari - ACME Renewal Information (RFC 9773): the certID and the renewal
 * window (pure: no I/O, no TZ).
 *
 * certID (RFC 9773 4.1) = base64url(AKI keyIdentifier) "." base64url(DER
 * content octets of the serial), both unpadded.  The serial is kept in
 * the serial module's stored form, so a certID and a stored row compare
 * as bytes.
 */
#ifndef CERTRECALL_ARI_H
#define CERTRECALL_ARI_H

#include <stddef.h>
#include <time.h>

#include "certrecall/core/serial.h"
#include "certrecall/base/xalloc.h"

/* A key identifier longer than this is refused (SHA-512 is 64 octets). */
#define ARI_AKI_MAX 64
/* A certID's text, with the NUL: two base64url runs and the dot. */
#define ARI_CERTID_MAX (((ARI_AKI_MAX + 2) / 3) * 4 + 1 + 28 + 1)

struct ari_certid {
	unsigned char aki[ARI_AKI_MAX];
	size_t aki_len;
	struct serial serial;
};

/*
 * Parses the certID in text (len bytes, no NUL needed): strict unpadded
 * base64url on both sides of exactly one dot, a key identifier of 1 to
 * ARI_AKI_MAX octets, a serial that is a DER INTEGER's content (minimal,
 * 1 to 21 octets).  Returns 0, or -1 with a lower-case reason in err.
 */
CR_MUST_CHECK int ari_certid_parse(const char *text, size_t len,
				   struct ari_certid *out, char *err,
				   size_t errlen);

/* The certID of aki and serial into buf (ARI_CERTID_MAX); -1 when aki is
 * empty or too long. */
CR_MUST_CHECK int ari_certid_format(const unsigned char *aki, size_t aki_len,
				    const struct serial *serial, char *buf,
				    size_t len);

/* Unpadded base64url of n octets into buf; -1 when it does not fit. */
CR_MUST_CHECK int ari_b64url_encode(const unsigned char *in, size_t n,
				    char *buf, size_t len);

/* What the window is for. */
enum ari_kind {
	ARI_AFFECTED, /* affected, not revoked: renew before the deadline */
	ARI_REVOKED,  /* already revoked: renew now */
	ARI_LIFETIME, /* unaffected: the usual two-thirds-of-lifetime window */
};

struct ari_window {
	time_t start;
	time_t end;
	long long retry_after; /* seconds, for the Retry-After header */
};

/*
 * The affected certificate's window: it ends margin seconds before the
 * revocation deadline must_by and starts at the incident's revocation
 * clock start (or an hour before the end, whichever is earlier), so a
 * client renews well before the revocation.  A window already past tells
 * the client to renew at once (RFC 9773 4.2).  Retry-After is retry
 * seconds, shortened to a quarter of the time left as the end nears
 * (never under 60 s); once the window has passed, at most an hour.
 */
void ari_window_affected(time_t start, time_t must_by, long long margin,
			 long long retry, time_t now, struct ari_window *out);

/* A revoked certificate: a window of the hour before now. */
void ari_window_revoked(long long retry, time_t now, struct ari_window *out);

/*
 * An unaffected certificate's usual window: from two-thirds of its
 * lifetime to three-quarters.  -1 when not_before or not_after is unknown
 * (DEADLINE_UNSET) or not_after is not after not_before.
 */
CR_MUST_CHECK int ari_window_lifetime(time_t not_before, time_t not_after,
				      long long retry, struct ari_window *out);

#endif
