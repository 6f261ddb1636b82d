/*
 * dnsname - the host names certificates cover, normalised (pure).
 *
 * Lowercased, one trailing dot removed, IDNA A-labels ("xn--...") kept as
 * they are, U-labels converted to A-labels (libidn2, UTS 46
 * non-transitional), "*." allowed only as the whole first label.  Labels are
 * 1..63 octets of letters, digits, hyphen (not first or last) and
 * underscore; the name at most 253 octets.  An IP address literal
 * (IPv4 dotted quad or IPv6 text) is accepted as such.
 */
#ifndef CERTRECALL_DNSNAME_H
#define CERTRECALL_DNSNAME_H

#include <stdbool.h>
#include <stddef.h>

#include "certrecall/base/xalloc.h"

#define DNSNAME_MAX 253

/*
 * Normalises name (len bytes, no NUL needed) into out (outlen >=
 * DNSNAME_MAX + 1 always suffices).  Returns the normalised length, or -1
 * with a lower-case message quoting the name in err.
 */
CR_MUST_CHECK int dnsname_normalize(const char *name, size_t len, char *out,
				    size_t outlen, char *err, size_t errlen);

/* True for "*.example.com" (after normalisation). */
bool dnsname_is_wildcard(const char *name);

#endif
