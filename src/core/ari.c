/*
 * ari.c - RFC 9773 certIDs and renewal windows.
 */
#include <stdio.h>
#include <string.h>

#include "certrecall/base/errmsg.h"
#include "certrecall/core/ari.h"
#include "certrecall/core/deadline.h"

static const char b64url[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int ari_b64url_encode(const unsigned char *in, size_t n, char *buf, size_t len)
{
	size_t o = 0, need = (n / 3) * 4 + (n % 3 ? n % 3 + 1 : 0) + 1;
	unsigned v;

	if (need > len)
		return -1;
	for (size_t i = 0; i < n; i += 3) {
		v = (unsigned)in[i] << 16;
		if (i + 1 < n)
			v |= (unsigned)in[i + 1] << 8;
		if (i + 2 < n)
			v |= in[i + 2];
		buf[o++] = b64url[(v >> 18) & 63];
		buf[o++] = b64url[(v >> 12) & 63];
		if (i + 1 < n)
			buf[o++] = b64url[(v >> 6) & 63];
		if (i + 2 < n)
			buf[o++] = b64url[v & 63];
	}
	buf[o] = '\0';
	return 0;
}

static int b64url_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

/*
 * Strict unpadded base64url of n characters into out (cap octets): no
 * padding, no other characters, no length of 1 mod 4, and the unused low
 * bits of the last character zero (one text per octet string).
 */
static int b64url_decode(const char *s, size_t n, unsigned char *out,
			 size_t cap, size_t *outlen)
{
	size_t o = 0;
	unsigned acc = 0;
	int bits = 0, v;

	if (n % 4 == 1)
		return -1;
	for (size_t i = 0; i < n; i++) {
		v = b64url_value(s[i]);
		if (v < 0)
			return -1;
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o == cap)
				return -1;
			out[o++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	if (acc != 0)
		return -1;
	*outlen = o;
	return 0;
}

int ari_certid_parse(const char *text, size_t len, struct ari_certid *out,
		     char *err, size_t errlen)
{
	unsigned char der[SERIAL_STORED_MAX];
	const char *dot;
	size_t dlen, klen;
	char why[128];

	memset(out, 0, sizeof(*out));
	dot = memchr(text, '.', len);
	if (dot == NULL ||
	    memchr(dot + 1, '.', len - (size_t)(dot - text) - 1)) {
		return errmsg_set(err, errlen, "certID needs exactly one '.'");
	}
	klen = (size_t)(dot - text);
	if (klen == 0 ||
	    b64url_decode(text, klen, out->aki, sizeof(out->aki),
			  &out->aki_len) < 0 ||
	    out->aki_len == 0) {
		return errmsg_set(
			err, errlen,
			"certID key identifier is not base64url of 1 to %d "
			"octets",
			ARI_AKI_MAX);
	}
	if (b64url_decode(dot + 1, len - klen - 1, der, sizeof(der), &dlen) <
		    0 ||
	    dlen == 0) {
		return errmsg_set(
			err, errlen,
			"certID serial is not base64url of 1 to %d octets",
			SERIAL_STORED_MAX);
	}
	/* DER: an INTEGER's content is minimal (X.690 8.3.2). */
	if (dlen > 1 && ((der[0] == 0x00 && !(der[1] & 0x80)) ||
			 (der[0] == 0xff && (der[1] & 0x80)))) {
		return errmsg_set(err, errlen,
				  "certID serial is not minimal DER");
	}
	if (serial_from_der_content(&out->serial, der, dlen, why, sizeof(why)) <
	    0) {
		return errmsg_set(err, errlen, "certID serial: %s", why);
	}
	return 0;
}

int ari_certid_format(const unsigned char *aki, size_t aki_len,
		      const struct serial *serial, char *buf, size_t len)
{
	unsigned char der[SERIAL_STORED_MAX];
	size_t n, k;

	if (aki_len == 0 || aki_len > ARI_AKI_MAX)
		return -1;
	if (ari_b64url_encode(aki, aki_len, buf, len) < 0)
		return -1;
	k = strlen(buf);
	if (k + 2 > len)
		return -1;
	buf[k++] = '.';
	n = serial_der_content(serial, der);
	return ari_b64url_encode(der, n, buf + k, len - k);
}

static long long clamp_retry(long long retry, long long left)
{
	long long r = retry;

	if (left > 0 && left / 4 < r)
		r = left / 4;
	if (left <= 0 && r > 3600)
		r = 3600;
	return r < 60 ? 60 : r;
}

void ari_window_affected(time_t start, time_t must_by, long long margin,
			 long long retry, time_t now, struct ari_window *out)
{
	out->end = must_by - (time_t)margin;
	out->start = start;
	if (out->start == DEADLINE_UNSET || out->start > out->end - 3600)
		out->start = out->end - 3600;
	out->retry_after = clamp_retry(retry, (long long)(out->end - now));
}

void ari_window_revoked(long long retry, time_t now, struct ari_window *out)
{
	out->start = now - 3600;
	out->end = now;
	out->retry_after = clamp_retry(retry, 0);
}

int ari_window_lifetime(time_t not_before, time_t not_after, long long retry,
			struct ari_window *out)
{
	long long life;

	if (not_before == DEADLINE_UNSET || not_after == DEADLINE_UNSET ||
	    not_after <= not_before)
		return -1;
	life = (long long)(not_after - not_before);
	out->start = not_before + (time_t)(life / 3 * 2 + life % 3 * 2 / 3);
	out->end = not_before + (time_t)(life / 4 * 3 + life % 4 * 3 / 4);
	out->retry_after = retry < 60 ? 60 : retry;
	return 0;
}
