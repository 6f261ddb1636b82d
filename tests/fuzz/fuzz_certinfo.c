/*
 * fuzz_certinfo.c - libFuzzer target for certinfo_from_der.
 *
 * The input is DER bytes.  Whatever OpenSSL reads must come back either
 * as an error with a reason, or as a certinfo whose names are each
 * already normalised (normalising again gives the same name), sorted and
 * unique, whose serial is 1..SERIAL_STORED_MAX octets in the stored form
 * of serial.h, and whose serial prints in bounds.  A violation aborts;
 * ASan catches reads outside the input.
 */
#include "certrecall/core/certinfo.h"
#include "certrecall/core/dnsname.h"
#include "certrecall/core/serial.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256], out[DNSNAME_MAX + 1], text[SERIAL_TEXT_MAX];
	struct certinfo ci;
	int n;

	err[0] = '\0';
	if (certinfo_from_der(data, size, &ci, err, sizeof(err)) != 0) {
		if (err[0] == '\0')
			abort();
		return 0;
	}
	if (ci.serial.len < 1 || ci.serial.len > SERIAL_STORED_MAX)
		abort();
	if (ci.serial.b[0] == 0 && ci.serial.len > 1 &&
	    (ci.serial.b[1] & 0x80) == 0)
		abort();
	if (ci.serial.len > SERIAL_MAX && ci.serial.b[0] != 0)
		abort();
	serial_format_openssl(&ci.serial, text, sizeof(text));
	if (strlen(text) >= sizeof(text) ||
	    (serial_sign(&ci.serial) < 0) != (text[0] == '-'))
		abort();
	serial_format_hex(&ci.serial, text, sizeof(text));
	if (strlen(text) != 2 * ci.serial.len)
		abort();
	for (size_t i = 0; i < ci.nnames; i++) {
		const char *name = ci.names[i];

		n = dnsname_normalize(name, strlen(name), out, sizeof(out), err,
				      sizeof(err));
		if (n < 0 || strcmp(out, name) != 0)
			abort();
		if (i > 0 && strcmp(ci.names[i - 1], name) >= 0)
			abort();
	}
	if (ci.issuer == NULL || ci.subject == NULL)
		abort();
	certinfo_release(&ci);
	return 0;
}
