/*
 * fuzz_ocsp.c - libFuzzer target for ocsp_parse_response.
 *
 * The input is a DER OCSPResponse, judged against one issuer (below)
 * for serials 1001..1004, at a fixed time shortly after the seeds were
 * made.  Every outcome must be consistent: 0 with a status other than
 * OCSP_ERROR, times set and the serial asked; -1 with OCSP_ERROR and a
 * reason; a revocation time only when revoked; a reason code -1..32767 (the database's smallint).
 * A violation aborts; ASan catches reads outside the input.
 *
 * The seeds (tests/fuzz/seeds-ocsp/) are answers of `openssl ocsp` for
 * this issuer: good, revoked with and without a reason, unknown,
 * without nextUpdate, signed by a delegated responder (by name and by
 * key id), and three unsuccessful responseStatus values.  They were made
 * with an index of 1001 (V), 1002 (R, keyCompromise), 1003 (R) and
 * requests from `openssl ocsp -issuer ca.pem -serial 0x100N -no_nonce
 * -reqout`, answered by `openssl ocsp -index -CA -rsigner -rkey -reqin
 * -respout [-ndays 30] [-resp_no_certs] [-resp_key_id]`.
 */
#include "certrecall/core/ocsp.h"
#include "certrecall/core/serial.h"

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define NOW ((time_t)1796601914 + 3600) /* 2026-12-07T01:05:14Z */

/* "Fuzz OCSP CA", valid 2026-2126. */
static const char issuer_pem[] =
	"-----BEGIN CERTIFICATE-----\n"
	"MIIBcjCCARigAwIBAgIBATAKBggqhkjOPQQDAjAXMRUwEwYDVQQDDAxGdXp6IE9D\n"
	"U1AgQ0EwIBcNMjYxMjA3MDAwNTE0WhgPMjEyNjExMTMwMDA1MTRaMBcxFTATBgNV\n"
	"BAMMDEZ1enogT0NTUCBDQTBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABCh/ENa9\n"
	"cHLyV6XqsKgFumvxff10R0Dk4bCbz2IoFDUkCPyhU/Hu/1of9uh9VatJ/ZoPNDG1\n"
	"R1jSn3r9//lF0Q6jUzBRMB0GA1UdDgQWBBTeDd5pvwmsXgEvyne47JROrSmA1TAf\n"
	"BgNVHSMEGDAWgBTeDd5pvwmsXgEvyne47JROrSmA1TAPBgNVHRMBAf8EBTADAQH/\n"
	"MAoGCCqGSM49BAMCA0gAMEUCIQCtg8GiHkG7uL+CrfaM1uHoOeE9ev1A6t6xclgx\n"
	"bPH92wIgWUfFZay1PeVxaX02xtGD8kqQy7jYNDjBMlSuewkqPqk=\n"
	"-----END CERTIFICATE-----\n";

static X509 *issuer;

static void check(const uint8_t *data, size_t size, const struct serial *s,
		  long max_age)
{
	struct ocsp_answer a;
	int rc;

	memset(&a, 0x5a, sizeof(a)); /* whatever the caller had there */
	rc = ocsp_parse_response(data, size, issuer, s, NOW, 300, max_age, &a);
	if (serial_compare(&a.serial, s) != 0)
		abort();
	if (rc < 0) {
		if (a.status != OCSP_ERROR || a.error[0] == '\0' ||
		    memchr(a.error, '\0', sizeof(a.error)) == NULL)
			abort();
		return;
	}
	if (rc != 0 || a.status == OCSP_ERROR || a.error[0] != '\0')
		abort();
	if (a.status != OCSP_GOOD && a.status != OCSP_REVOKED &&
	    a.status != OCSP_UNKNOWN)
		abort();
	if (a.status != OCSP_REVOKED && (a.revoked_at != 0 || a.reason != -1))
		abort();
	if (a.reason < -1 || a.reason > 32767) /* reason is a smallint */
		abort();
	/* Fresh at NOW, as the parser promises. */
	if (a.this_update > NOW + 300 ||
	    (a.next_update != 0 && a.next_update < NOW - 300))
		abort();
	if (a.transient)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (issuer == NULL) {
		BIO *b = BIO_new_mem_buf(issuer_pem, -1);

		issuer = PEM_read_bio_X509(b, NULL, NULL, NULL);
		BIO_free(b);
		if (issuer == NULL)
			abort();
	}
	for (unsigned char k = 1; k <= 4; k++) {
		struct serial s = { 2, { 0x10, k } };

		check(data, size, &s, k == 1 ? 4 * 86400L : 0);
	}
	return 0;
}
