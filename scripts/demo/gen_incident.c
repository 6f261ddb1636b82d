/*
 * gen_incident - the March 2020 CAA incident at 1/1000 scale, for
 * `make demo`: the affected list, the CA's contacts, and what became of
 * each certificate.  Deterministic: the same N and SEED give the same
 * bytes on every machine (splitmix64, no libc randomness, no clock).
 *
 *   gen_incident N SEED DIR
 *
 * Writes:
 *   DIR/caa-2020.txt  N lines in the format of the list the CA published
 *                     (le2020, see src/core/record_le.c): accounts ascending
 *   DIR/accounts.csv  account,email,email for 9 accounts in 10; the
 *                     10th has no address (it must be counted, not lost)
 *   DIR/plan.tsv      one line per certificate, for the test CA and the
 *                     local fleet (scripts/demo/world.sh):
 *                     fate serial replacement address issued names...
 *
 * Certificates per account follow a discrete power law, P(k) ~ k^-2.15
 * for k = 1..1000, taken at evenly spaced quantiles (so the histogram is
 * the expected one, not a lucky draw) and shuffled over the accounts:
 * about 8 accounts in 10 hold one or two certificates and a few hold
 * hundreds, like the hosting providers of the real list (which had
 * accounts with tens of thousands).  Names per certificate: mostly 1-3,
 * up to 100 (as bench/gen_le2020.c).
 *
 * Fates, about a third each: "affected" (the listed certificate is still
 * served), "replaced" (a newer certificate for the same names is served
 * instead) and gone ("refused": the names point at an address where
 * nothing listens; "nxdomain": the names no longer resolve).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ZIPF_ALPHA 2.15
#define ZIPF_MAX 1000
/* Issued between 2019-12-01 03:08 and 2020-02-29 03:08 UTC: Let's
 * Encrypt certificates last 90 days, so these are the affected ones
 * still valid when the bug was confirmed. */
#define ISSUED_FROM 1575169680L
#define ISSUED_SPAN (90L * 86400)

#include "../../bench/seeded.h"

/* The power law's quantiles for m accounts; returns their sum. */
static long zipf_counts(const double *cdf, long m, long *out)
{
	long total = 0;

	for (long j = 0; j < m; j++) {
		double u = ((double)j + 0.5) / (double)m;
		long lo = 0, hi = ZIPF_MAX - 1;

		while (lo < hi) {
			long mid = (lo + hi) / 2;

			if (cdf[mid] >= u)
				hi = mid;
			else
				lo = mid + 1;
		}
		out[j] = lo + 1;
		total += out[j];
	}
	return total;
}

static FILE *create(const char *dir, const char *name)
{
	char path[4096];
	FILE *f;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >=
	    sizeof(path)) {
		fprintf(stderr, "gen_incident: %s: path too long\n", dir);
		return NULL;
	}
	if ((f = fopen(path, "w")) == NULL)
		perror(path);
	return f;
}

int main(int argc, char **argv)
{
	static const char *const pre[] = { "", "www.", "mail.", "api." };
	static char names[100][96];
	double cdf[ZIPF_MAX], sum = 0, acc = 0;
	long n, m, total, *counts, acct = 10000000, cert = 0;
	FILE *list, *contacts, *plan;

	if (argc != 4) {
		fprintf(stderr, "usage: gen_incident N SEED DIR\n");
		return 64;
	}
	n = atol(argv[1]);
	state = strtoull(argv[2], NULL, 10);
	if (n < 1)
		return 64;
	for (int k = 1; k <= ZIPF_MAX; k++)
		sum += pow(k, -ZIPF_ALPHA);
	for (int k = 1; k <= ZIPF_MAX; k++) {
		acc += pow(k, -ZIPF_ALPHA) / sum;
		cdf[k - 1] = acc;
	}
	cdf[ZIPF_MAX - 1] = 1.0;
	/* The fewest accounts whose quantiles hold N certificates. */
	counts = calloc((size_t)n, sizeof(*counts));
	if (counts == NULL)
		return 71;
	for (m = 1; (total = zipf_counts(cdf, m, counts)) < n; m++)
		;
	/* The excess comes off the largest account, then shuffle. */
	{
		long big = 0;

		for (long j = 1; j < m; j++)
			if (counts[j] > counts[big])
				big = j;
		counts[big] -= total - n;
	}
	for (long j = m - 1; j > 0; j--) {
		long k = (long)below((uint64_t)j + 1), t = counts[j];

		counts[j] = counts[k];
		counts[k] = t;
	}

	list = create(argv[3], "caa-2020.txt");
	contacts = create(argv[3], "accounts.csv");
	plan = create(argv[3], "plan.tsv");
	if (list == NULL || contacts == NULL || plan == NULL)
		return 73;
	for (long a = 0; a < m; a++) {
		acct += 1 + (long)below(40000);
		if (a % 10 == 9)
			fprintf(contacts, "%ld,\n", acct);
		else
			fprintf(contacts,
				"%ld,ops@a%ld.example,admin@a%ld.example\n",
				acct, acct, acct);
		for (long c = 0; c < counts[a]; c++, cert++) {
			char hex[37], repl[37] = "-", addr[16] = "-", stamp[32];
			time_t t = ISSUED_FROM + (time_t)below(ISSUED_SPAN);
			int k = names_for_cert(), fate = (int)below(3);
			const char *fates[] = { "affected", "replaced",
						"refused", "nxdomain" };
			struct tm tm;

			serial_hex(hex);
			for (int j = 0; j < k; j++) {
				if (j < 4)
					snprintf(names[j], sizeof(names[j]),
						 "%sc%lx-a%ld.example", pre[j],
						 cert, acct);
				else
					snprintf(names[j], sizeof(names[j]),
						 "h%d.c%lx-a%ld.example", j,
						 cert, acct);
			}
			gmtime_r(&t, &tm);
			strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S",
				 &tm);
			fprintf(list,
				"serial %s %ld %016llx%016llx%016llx%016llx "
				"names: [",
				hex, acct, (unsigned long long)next(),
				(unsigned long long)next(),
				(unsigned long long)next(),
				(unsigned long long)next());
			for (int j = 0; j < k; j++)
				fprintf(list, j ? " %s" : "%s", names[j]);
			fprintf(list,
				"] missing CAA checking results for %s at "
				"%s.%09llu +0000 UTC\n",
				names[0], stamp,
				(unsigned long long)below(1000000000));

			if (fate == 2 && below(2) == 1)
				fate = 3;
			if (fate == 1)
				serial_hex(repl);
			/* Served names: the certificate's names on one of
			 * 16 addresses (TIME_WAIT is per address and port);
			 * refused: an address where nothing listens. */
			if (fate <= 1)
				snprintf(addr, sizeof(addr), "127.0.9.%ld",
					 10 + cert % 16);
			else if (fate == 2)
				snprintf(addr, sizeof(addr), "127.0.9.%ld",
					 240 + cert % 8);
			fprintf(plan, "%s\t%s\t%s\t%s\t%lld", fates[fate], hex,
				repl, addr, (long long)t);
			for (int j = 0; j < k; j++)
				fprintf(plan, "\t%s", names[j]);
			fputc('\n', plan);
		}
	}
	free(counts);
	if (fclose(list) != 0 || fclose(contacts) != 0 || fclose(plan) != 0)
		return 74;
	return 0;
}
