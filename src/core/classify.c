/*
 * classify.c - probe verdicts, RFC 6125 name matching, CIDR lists.
 *
 * Pure: <arpa/inet.h> is used only for inet_pton/inet_ntop and the
 * sockaddr layouts, never for I/O.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "certrecall/core/classify.h"
#include "certrecall/base/errmsg.h"
#include "certrecall/base/xalloc.h"

/* A list longer than this is a mistake, not a policy. */
#define CLASSIFY_MAX_CIDRS 4096

static const char *const verdict_names[CLASSIFY_NVERDICTS] = {
	[CLASSIFY_SERVING_AFFECTED] = "serving-affected",
	[CLASSIFY_SERVING_REPLACEMENT] = "serving-replacement",
	[CLASSIFY_SERVING_OTHER] = "serving-other",
	[CLASSIFY_TLS_ERROR] = "tls-error",
	[CLASSIFY_REFUSED] = "refused",
	[CLASSIFY_TIMEOUT] = "timeout",
	[CLASSIFY_NXDOMAIN] = "nxdomain",
	[CLASSIFY_DNS_ERROR] = "dns-error",
	[CLASSIFY_FILTERED] = "filtered",
	[CLASSIFY_STARTTLS_REFUSED] = "starttls-refused",
	[CLASSIFY_PROTOCOL_ERROR] = "protocol-error",
};

const char *classify_verdict_name(enum classify_verdict v)
{
	if ((unsigned)v >= CLASSIFY_NVERDICTS)
		return "?";
	return verdict_names[v];
}

int classify_verdict_parse(const char *name, enum classify_verdict *out)
{
	for (int i = 0; i < CLASSIFY_NVERDICTS; i++) {
		if (strcmp(verdict_names[i], name) == 0) {
			*out = (enum classify_verdict)i;
			return 0;
		}
	}
	return -1;
}

static bool is_ip_literal(const char *s)
{
	struct classify_addr a;

	return classify_addr_parse(s, &a) == 0;
}

bool classify_name_covers(const char *pattern, const char *name)
{
	const char *dot;

	if (strcmp(pattern, name) == 0)
		return true;
	/* RFC 6125 6.4.3 as CABF BR 1.6.1 narrows it: the wildcard is the
	 * whole left-most label and matches exactly one label. */
	if (pattern[0] != '*' || pattern[1] != '.' || pattern[2] == '\0')
		return false;
	if (is_ip_literal(name))
		return false;
	dot = strchr(name, '.');
	if (dot == NULL || dot == name)
		return false;
	return strcmp(dot + 1, pattern + 2) == 0;
}

enum classify_verdict
classify_leaf(const char *name, const struct classify_leaf *leaf, time_t now)
{
	if (leaf->affected)
		return CLASSIFY_SERVING_AFFECTED;
	if (now >= leaf->not_after)
		return CLASSIFY_SERVING_OTHER;
	for (size_t i = 0; i < leaf->nnames; i++)
		if (classify_name_covers(leaf->names[i], name))
			return CLASSIFY_SERVING_REPLACEMENT;
	return CLASSIFY_SERVING_OTHER;
}

/* ::ffff:a.b.c.d is a.b.c.d for every policy decision. */
static void unmap_v4(struct classify_addr *a)
{
	static const unsigned char prefix[12] = { 0, 0, 0, 0, 0,    0,
						  0, 0, 0, 0, 0xff, 0xff };

	if (a->family == 6 && memcmp(a->b, prefix, 12) == 0) {
		memmove(a->b, a->b + 12, 4);
		memset(a->b + 4, 0, 12);
		a->family = 4;
	}
}

int classify_addr_parse(const char *text, struct classify_addr *out)
{
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, text, out->b) == 1) {
		out->family = 4;
		return 0;
	}
	if (inet_pton(AF_INET6, text, out->b) == 1) {
		out->family = 6;
		unmap_v4(out);
		return 0;
	}
	return -1;
}

int classify_addr_from_sockaddr(const struct sockaddr *sa,
				struct classify_addr *out)
{
	memset(out, 0, sizeof(*out));
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

		memcpy(out->b, &in->sin_addr, 4);
		out->family = 4;
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 =
			(const struct sockaddr_in6 *)sa;

		memcpy(out->b, &in6->sin6_addr, 16);
		out->family = 6;
		unmap_v4(out);
		return 0;
	}
	return -1;
}

const char *classify_addr_format(const struct classify_addr *a, char *buf,
				 size_t len)
{
	if (len == 0)
		return buf;
	if (inet_ntop(a->family == 4 ? AF_INET : AF_INET6, a->b, buf,
		      (socklen_t)len) == NULL)
		buf[0] = '\0';
	return buf;
}

static bool prefix_equal(const unsigned char *a, const unsigned char *b,
			 unsigned prefix)
{
	unsigned bytes = prefix / 8, bits = prefix % 8;

	if (memcmp(a, b, bytes) != 0)
		return false;
	if (bits == 0)
		return true;
	return ((a[bytes] ^ b[bytes]) & (0xff00u >> bits) & 0xff) == 0;
}

int classify_cidr_parse(const char *text, size_t len, struct classify_cidr *out,
			char *err, size_t errlen)
{
	char buf[64];
	const char *slash;
	unsigned max, prefix;

	if (len == 0 || len >= sizeof(buf)) {
		return errmsg_set(err, errlen,
				  "\"%.*s\" is not an address/prefix",
				  (int)(len < 60 ? len : 60), text);
	}
	memcpy(buf, text, len);
	buf[len] = '\0';
	slash = strchr(buf, '/');
	if (slash != NULL)
		buf[slash - buf] = '\0';
	if (classify_addr_parse(buf, &out->net) < 0) {
		return errmsg_set(err, errlen,
				  "\"%s\" is not an IPv4 or IPv6 address", buf);
	}
	/* Parse the prefix against the address as written: "::ffff:0:0/96"
	 * is a /96 of IPv6 even though its address unmaps to IPv4. */
	max = strchr(buf, ':') != NULL ? 128 : 32;
	prefix = max;
	if (slash != NULL) {
		const char *p = slash + 1;

		if (*p < '0' || *p > '9' || strlen(p) > 3) {
			return errmsg_set(err, errlen,
					  "\"%.*s\": bad prefix length",
					  (int)len, text);
		}
		prefix = 0;
		for (; *p; p++) {
			if (*p < '0' || *p > '9') {
				return errmsg_set(err, errlen,
						  "\"%.*s\": bad prefix length",
						  (int)len, text);
			}
			prefix = prefix * 10 + (unsigned)(*p - '0');
		}
		if (prefix > max) {
			return errmsg_set(
				err, errlen,
				"\"%.*s\": prefix longer than %u bits",
				(int)len, text, max);
		}
	}
	if (max == 128 && out->net.family == 4) {
		/* Written as mapped IPv6: keep it in IPv4 terms. */
		if (prefix < 96) {
			return errmsg_set(
				err, errlen,
				"\"%.*s\": an IPv4-mapped range needs a "
				"prefix of at least 96",
				(int)len, text);
		}
		prefix -= 96;
		max = 32;
	}
	{
		/* Every bit after the prefix must be zero. */
		struct classify_addr masked = out->net;
		unsigned bytes = prefix / 8, bits = prefix % 8;

		if (bits) {
			masked.b[bytes] &= (unsigned char)(0xff00u >> bits);
			bytes++;
		}
		memset(masked.b + bytes, 0, sizeof(masked.b) - bytes);
		if (memcmp(masked.b, out->net.b, sizeof(masked.b)) != 0) {
			return errmsg_set(
				err, errlen,
				"\"%.*s\" has bits set after the prefix "
				"(did you mean %s/%u?)",
				(int)len, text,
				classify_addr_format(&masked, buf, sizeof(buf)),
				prefix);
		}
	}
	out->prefix = prefix;
	return 0;
}

int classify_cidrs_parse(const char *list, struct classify_cidrs *out,
			 char *err, size_t errlen)
{
	size_t cap = 0;
	const char *p = list;
	int rc = -1;

	out->v = NULL;
	out->n = 0;
	for (;;) {
		size_t n;

		p += strspn(p, ", \t\r\n");
		if (*p == '\0')
			break;
		n = strcspn(p, ", \t\r\n");
		if (out->n >= CLASSIFY_MAX_CIDRS) {
			errmsg_set(err, errlen, "more than %d entries",
				   CLASSIFY_MAX_CIDRS);
			goto out;
		}
		xgrow(&out->v, &cap, out->n + 1, sizeof(*out->v));
		if (classify_cidr_parse(p, n, &out->v[out->n], err, errlen) < 0)
			goto out;
		out->n++;
		p += n;
	}
	rc = 0;
out:
	if (rc < 0)
		classify_cidrs_release(out);
	return rc;
}

void classify_cidrs_release(struct classify_cidrs *list)
{
	if (list == NULL)
		return;
	free(list->v);
	list->v = NULL;
	list->n = 0;
}

bool classify_cidr_contains(const struct classify_cidr *c,
			    const struct classify_addr *a)
{
	struct classify_addr u = *a;

	unmap_v4(&u);
	if (u.family != c->net.family)
		return false;
	return prefix_equal(u.b, c->net.b, c->prefix);
}

bool classify_cidrs_contain(const struct classify_cidrs *list,
			    const struct classify_addr *a)
{
	for (size_t i = 0; i < list->n; i++)
		if (classify_cidr_contains(&list->v[i], a))
			return true;
	return false;
}

bool classify_addr_permitted(const struct classify_cidrs *deny,
			     const struct classify_cidrs *allow,
			     const struct classify_addr *a)
{
	if (!classify_cidrs_contain(deny, a))
		return true;
	return classify_cidrs_contain(allow, a);
}
