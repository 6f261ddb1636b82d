/*
 * gen_le2020 - deterministic generator of a 2020-style affected list.
 *
 *   gen_le2020 N SEED [PEER.csv [ACCOUNTS.csv]]
 *
 * Writes N lines of the le2020 format to stdout, accounts ascending with a
 * heavy tail (most accounts 1-3 certificates, a few hosting accounts with
 * tens of thousands), 1-100 names a certificate (mostly 1-3).  With
 * PEER.csv it also writes the same certificates pre-normalised as CSV
 * (serial as bytea hex, account, the time (loaded as caa_checked_at),
 * names as an array literal, source, line) for `psql \copy`, the peer in
 * bench/import.sh.  With ACCOUNTS.csv it writes the contacts for
 * `import --accounts` (bench/e2e.sh): "account,email" per account, 70%
 * of the accounts with an address, drawn from N/12 mailboxes so about a
 * fifth of them share one (the 2020 shape: 549,112 accounts, 383,580
 * with an address, 304,284 distinct).  The contacts come from a hash of
 * the account, not from the list's stream: the list stays the same.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "seeded.h"

static long certs_for_account(void)
{
	double u = unit();

	if (u < 0.70)
		return 1;
	if (u < 0.85)
		return 2;
	if (u < 0.93)
		return 3;
	if (u < 0.985)
		return 4 + (long)below(17);
	if (u < 0.9995)
		return 21 + (long)below(480);
	return 1000 + (long)below(49000);
}

static uint64_t mix(uint64_t z)
{
	z += 0x9e3779b97f4a7c15ULL;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static int cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
	static char names[100][96];
	char *sorted[100];
	long n, acct = 10000, left = 0;
	FILE *peer = NULL, *contacts = NULL;
	static char outbuf[1 << 20], peerbuf[1 << 20];

	if (argc < 3) {
		fprintf(stderr, "usage: gen_le2020 N SEED [PEER.csv]\n");
		return 64;
	}
	n = atol(argv[1]);
	state = strtoull(argv[2], NULL, 10);
	if (argc > 3) {
		peer = fopen(argv[3], "w");
		if (peer == NULL) {
			perror(argv[3]);
			return 73;
		}
		setvbuf(peer, peerbuf, _IOFBF, sizeof(peerbuf));
	}
	if (argc > 4) {
		contacts = fopen(argv[4], "w");
		if (contacts == NULL) {
			perror(argv[4]);
			return 73;
		}
		fprintf(contacts, "account,email\n");
	}
	setvbuf(stdout, outbuf, _IOFBF, sizeof(outbuf));
	for (long i = 0; i < n; i++) {
		char hex[37], stamp[64];
		time_t t = 1575158400 + (time_t)below(90 * 86400);
		struct tm tm;
		int k = names_for_cert();

		if (left == 0) {
			acct += 1 + (long)below(50);
			left = certs_for_account();
			if (contacts != NULL) {
				uint64_t h = mix((uint64_t)acct);
				uint64_t box = (n / 12 > 0 ? (uint64_t)n / 12 : 1);

				if (h % 100 < 70)
					fprintf(contacts,
						"%ld,owner%llu@example.org\n",
						acct,
						(unsigned long long)(mix(h) %
								     box));
				else
					fprintf(contacts, "%ld,\n", acct);
			}
		}
		left--;
		serial_hex(hex);
		for (int j = 0; j < k; j++) {
			static const char *const pre[] = { "", "www.", "mail.",
							   "api." };
			if (j < 4)
				snprintf(names[j], sizeof(names[j]),
					 "%sc%lx-a%ld.example", pre[j], i,
					 acct);
			else
				snprintf(names[j], sizeof(names[j]),
					 "h%d.c%lx-a%ld.example", j, i, acct);
			sorted[j] = names[j];
		}
		gmtime_r(&t, &tm);
		strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S", &tm);
		printf("serial %s %ld %016llx%016llx%016llx%016llx names: [",
		       hex, acct, (unsigned long long)next(),
		       (unsigned long long)next(), (unsigned long long)next(),
		       (unsigned long long)next());
		for (int j = 0; j < k; j++)
			printf(j ? " %s" : "%s", names[j]);
		printf("] missing CAA checking results for %s at "
		       "%s.%09llu +0000 UTC\n",
		       names[0], stamp,
		       (unsigned long long)below(1000000000));
		if (peer != NULL) {
			qsort(sorted, (size_t)k, sizeof(char *), cmp);
			fprintf(peer, "1,\\x%s,%ld,%.10sT%sZ,\"{", hex, acct,
				stamp, stamp + 11);
			for (int j = 0; j < k; j++)
				fprintf(peer, j ? ",%s" : "%s", sorted[j]);
			fprintf(peer, "}\",list.txt,%ld\n", i + 1);
		}
	}
	if (peer != NULL && fclose(peer) != 0)
		return 74;
	if (contacts != NULL && fclose(contacts) != 0)
		return 74;
	return fflush(stdout) == 0 ? 0 : 74;
}
