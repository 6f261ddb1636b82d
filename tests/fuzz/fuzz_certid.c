/*
 * fuzz_certid.c - libFuzzer target for the RFC 9773 certID parser.
 *
 * Any input either is refused with a reason, or parses to a key
 * identifier and serial whose certID formats back to exactly the input
 * (one text per certificate: strict base64url, minimal DER).  A
 * violation aborts.
 */
#include "certrecall/core/ari.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ari_certid id;
	char err[160] = "", back[ARI_CERTID_MAX];

	if (ari_certid_parse((const char *)data, size, &id, err, sizeof(err)) <
	    0) {
		if (err[0] == '\0')
			abort();
		return 0;
	}
	if (id.aki_len == 0 || id.aki_len > ARI_AKI_MAX || id.serial.len == 0 ||
	    id.serial.len > SERIAL_STORED_MAX)
		abort();
	if (ari_certid_format(id.aki, id.aki_len, &id.serial, back,
			      sizeof(back)) < 0)
		abort();
	if (strlen(back) != size || memcmp(back, data, size) != 0)
		abort();
	return 0;
}
