/*
 * webform - what `certrecall serve` reads from a request's query string
 * and form body (pure: no I/O).  Every input is untrusted and bounded.
 */
#ifndef CERTRECALL_WEBFORM_H
#define CERTRECALL_WEBFORM_H

#include <stddef.h>
#include <stdint.h>

#include "certrecall/base/xalloc.h"

/*
 * The value of field name in an application/x-www-form-urlencoded text
 * of len bytes (no NUL needed), decoded ('+' is a space, %XX an octet)
 * into out (cap bytes with the NUL).  The first occurrence wins.  Returns
 * the value's length; -1 when absent; -2 when malformed (a bad %
 * escape, a NUL octet) or longer than cap - 1.
 */
CR_MUST_CHECK long webform_field(const char *text, size_t len, const char *name,
				 char *out, size_t cap);

/*
 * A self-check target "NAME", "NAME:PORT", "[V6]" or "[V6]:PORT": the
 * name normalised (dnsname: lower case, A-labels) into host (hostlen),
 * the port 443 unless given (1-65535).  Wildcards are refused: they name
 * no host.  Returns 0, or -1 with a lower-case reason in err.
 */
CR_MUST_CHECK int webform_target(const char *text, char *host, size_t hostlen,
				 uint16_t *port, char *err, size_t errlen);

#endif
