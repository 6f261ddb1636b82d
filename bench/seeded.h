/*
 * seeded.h - the deterministic pieces the list generators share
 * (bench/gen_le2020.c for the benchmarks, scripts/demo/gen_incident.c
 * for `make demo`): one splitmix64 stream, the names-per-certificate
 * distribution, and serials shaped like the 2020 CA's.  Header-only:
 * each generator is one file built with a plain `cc`.
 */
#ifndef CERTRECALL_BENCH_SEEDED_H
#define CERTRECALL_BENCH_SEEDED_H

#include <stdint.h>
#include <stdio.h>

static uint64_t state;

/* splitmix64: small, fast, and the same sequence everywhere. */
static uint64_t next(void)
{
	uint64_t z = (state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t below(uint64_t n)
{
	return next() % n;
}

static double unit(void)
{
	return (double)(next() >> 11) / 9007199254740992.0;
}

/* Names a certificate: mostly 1-3, up to 100. */
static int names_for_cert(void)
{
	double u = unit();

	if (u < 0.60)
		return 1;
	if (u < 0.85)
		return 2;
	if (u < 0.95)
		return 3;
	if (u < 0.99)
		return 4 + (int)below(7);
	return 11 + (int)below(90);
}

/* 18 octets beginning 03 or 04, like the CA's real serials; hex[37]. */
static void serial_hex(char *hex)
{
	unsigned char b[18];

	for (int j = 0; j < 18; j++)
		b[j] = (unsigned char)below(256);
	b[0] = 3 + (b[0] & 1);
	for (int j = 0; j < 18; j++)
		snprintf(hex + 2 * j, 3, "%02x", b[j]);
}

#endif
