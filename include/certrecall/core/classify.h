/*
 * classify - what a probe's answer means, and which addresses a scanner
 * may touch (pure).
 *
 * A verdict is given per (name, address) probe: the served leaf's facts
 * and "now" in, one of the verdicts below out.  The caller decides
 * whether the served serial is an affected certificate naming the host
 * (that takes the database); everything else is decided here.
 *
 * The CIDR helpers parse lists such as "10.0.0.0/8, ::1/128" and test
 * addresses against them.  An IPv4-mapped IPv6 address (::ffff:a.b.c.d)
 * is treated as the IPv4 address it carries, so a deny rule for
 * 127.0.0.0/8 also stops ::ffff:127.0.0.1.
 */
#ifndef CERTRECALL_CLASSIFY_H
#define CERTRECALL_CLASSIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "certrecall/base/xalloc.h"

struct sockaddr;

/*
 * What a verdict says about coverage (answered: serving-*, refused,
 * nxdomain; failed: tls-error, timeout, dns-error; filtered) is decided
 * in one place, scan_probe_outcome() in sql/011_scan_outcome.sql, which
 * scan, status and the report all read through scan_target.outcome.
 */
enum classify_verdict {
	CLASSIFY_SERVING_AFFECTED,    /* an affected certificate naming it */
	CLASSIFY_SERVING_REPLACEMENT, /* another, unexpired, covering it */
	CLASSIFY_SERVING_OTHER,	      /* a certificate not covering it */
	CLASSIFY_TLS_ERROR,
	CLASSIFY_REFUSED,
	CLASSIFY_TIMEOUT,
	CLASSIFY_NXDOMAIN,
	CLASSIFY_DNS_ERROR,
	CLASSIFY_FILTERED,	   /* address blocked by scanner.deny */
	CLASSIFY_STARTTLS_REFUSED, /* the server said no to STARTTLS */
	CLASSIFY_PROTOCOL_ERROR,   /* its STARTTLS dialogue made no sense */
	CLASSIFY_NVERDICTS,
};

/* "serving-affected", "tls-error", ...; "?" for a value out of range. */
CR_MUST_CHECK const char *classify_verdict_name(enum classify_verdict v);
/* The inverse; 0, or -1 for an unknown name. */
CR_MUST_CHECK int classify_verdict_parse(const char *name,
					 enum classify_verdict *out);

/* The facts about a served leaf that a verdict depends on. */
struct classify_leaf {
	const char *const *names; /* normalised (dnsname), borrowed */
	size_t nnames;
	time_t not_after;
	/* The caller's answer: the served serial is an affected certificate
	 * of the incident, and that certificate names this host. */
	bool affected;
};

/*
 * The verdict for probing name (normalised) and being served leaf at
 * time now: serving-affected if leaf->affected; else serving-replacement
 * if a name of the leaf covers name and now is before not_after; else
 * serving-other.  An expired certificate never counts as a replacement.
 */
enum classify_verdict
classify_leaf(const char *name, const struct classify_leaf *leaf, time_t now);

/*
 * RFC 6125 6.4.3 as the Web PKI applies it: pattern equals name, or
 * pattern is "*.<rest>" and name is exactly one label followed by
 * ".<rest>" ("*.example.com" covers "a.example.com", not "example.com"
 * nor "a.b.example.com").  Both are normalised (lower case, no trailing
 * dot); a wildcard never covers an IP address literal.
 */
bool classify_name_covers(const char *pattern, const char *name);

/* An IPv4 (family 4, bytes 0..3) or IPv6 (family 6) address. */
struct classify_addr {
	int family;
	unsigned char b[16];
};

struct classify_cidr {
	struct classify_addr net;
	unsigned prefix; /* 0..32 or 0..128 */
};

struct classify_cidrs {
	struct classify_cidr *v;
	size_t n;
};

/* Address text ("192.0.2.1", "2001:db8::1"); 0, or -1 if not one. */
CR_MUST_CHECK int classify_addr_parse(const char *text,
				      struct classify_addr *out);
/* From an AF_INET or AF_INET6 socket address; 0, or -1 for others. */
CR_MUST_CHECK int classify_addr_from_sockaddr(const struct sockaddr *sa,
					      struct classify_addr *out);
/* Text form into buf (46 bytes always suffice); returns buf. */
const char *classify_addr_format(const struct classify_addr *a, char *buf,
				 size_t len);

/*
 * One CIDR from len bytes of text: "10.0.0.0/8", "fe80::/10", or a bare
 * address meaning /32 or /128.  Host bits set after the prefix are an
 * error (a typo more often than intent).  0, or -1 with a reason in err.
 */
CR_MUST_CHECK int classify_cidr_parse(const char *text, size_t len,
				      struct classify_cidr *out, char *err,
				      size_t errlen);

/*
 * A list separated by commas and/or white space; empty is allowed.
 * Fills *out (release with classify_cidrs_release); 0, or -1 with the
 * first bad entry quoted in err (and *out empty).
 */
CR_MUST_CHECK int classify_cidrs_parse(const char *list,
				       struct classify_cidrs *out, char *err,
				       size_t errlen);
void classify_cidrs_release(struct classify_cidrs *list);

bool classify_cidr_contains(const struct classify_cidr *c,
			    const struct classify_addr *a);
bool classify_cidrs_contain(const struct classify_cidrs *list,
			    const struct classify_addr *a);

/*
 * The scanner's policy: an address may be connected to unless deny
 * contains it and allow does not.
 */
bool classify_addr_permitted(const struct classify_cidrs *deny,
			     const struct classify_cidrs *allow,
			     const struct classify_addr *a);

#endif
