/*
 * hex - bytes as lowercase hexadecimal text (serials, fingerprints, key
 * identifiers as the database and the outputs write them).
 */
#ifndef CERTRECALL_HEX_H
#define CERTRECALL_HEX_H

#include <stddef.h>

/* The n bytes of b into out, which needs 2 * n + 1 bytes. */
void hex_encode(const unsigned char *b, size_t n, char *out);

#endif
