/*
 * verdict.c - the certificate, deployment and probe verdicts, each one
 * table; the first two also written out as SQL (see verdict.h).
 *
 * Pure: no I/O.  Rules: BR 4.9.1.1 (revocation by MUST-by), docs/report.md
 * (verdict and deployment columns), docs/scanner.md (probe verdicts).
 */
#include "certrecall/core/verdict.h"

#include <string.h>

/*
 * A decision table: rules in order, each the set of conditions (bits)
 * that must all hold; the first rule whose conditions hold decides, and
 * the last one has none.  SQL gets the same order as a CASE, so a
 * condition that is NULL there (an unknown time) counts as not holding,
 * as an unknown time makes it false here.
 */
struct rule {
	unsigned need;
	int verdict;
};

/* Certificate conditions.  SQL: the parameters of certificate_verdict(),
 * times compared as whole seconds, as the C side reads them. */
enum {
	CERT_REVOKED = 1u << 0,	       /* revoked, and by at */
	CERT_REVOKED_BY_DUE = 1u << 1, /* revoked at or before MUST-by */
	CERT_EXPIRED_BY_DUE = 1u << 2, /* last valid second <= MUST-by */
	CERT_DUE_AHEAD = 1u << 3,      /* at <= MUST-by */
	CERT_NCONDS = 4,
};

static const char *const cert_sql[CERT_NCONDS] = {
	"revoked_at IS NOT NULL\n"
	"\t\t     AND extract(epoch FROM revoked_at)::bigint\n"
	"\t\t         <= extract(epoch FROM at)::bigint",
	"extract(epoch FROM revoked_at)::bigint\n"
	"\t\t         <= extract(epoch FROM must_by)::bigint",
	"not_after IS NOT NULL\n"
	"\t\t     AND extract(epoch FROM not_after)::bigint\n"
	"\t\t         <= extract(epoch FROM must_by)::bigint",
	"at <= must_by",
};

static const struct rule cert_rules[] = {
	{ CERT_REVOKED | CERT_REVOKED_BY_DUE, DEADLINE_REVOKED_ON_TIME },
	{ CERT_REVOKED, DEADLINE_REVOKED_LATE },
	{ CERT_EXPIRED_BY_DUE, DEADLINE_EXPIRED },
	{ CERT_DUE_AHEAD, DEADLINE_PENDING },
	{ 0, DEADLINE_OVERDUE },
};

/* Deployment conditions: the parameters of deployment_verdict(). */
enum {
	DEPLOY_UNSCANNED = 1u << 0,
	DEPLOY_SERVED = 1u << 1,
	DEPLOY_REPLACED = 1u << 2,
	DEPLOY_NCONDS = 3,
};

static const char *const deploy_sql[DEPLOY_NCONDS] = {
	"unscanned",
	"served",
	"replaced",
};

static const struct rule deploy_rules[] = {
	{ DEPLOY_UNSCANNED, REPORT_NOT_SCANNED },
	{ DEPLOY_SERVED, REPORT_DEPLOYED },
	{ DEPLOY_REPLACED, REPORT_REPLACED },
	{ 0, REPORT_UNKNOWN },
};

/* Probe outcomes without a certificate, by name; the rest: tls-error. */
static const struct {
	const char *outcome;
	enum classify_verdict verdict;
} probe_rules[] = {
	{ "refused", CLASSIFY_REFUSED },
	{ "timeout", CLASSIFY_TIMEOUT },
	{ "nxdomain", CLASSIFY_NXDOMAIN },
	{ "dns-error", CLASSIFY_DNS_ERROR },
	{ "filtered", CLASSIFY_FILTERED },
	{ "starttls-refused", CLASSIFY_STARTTLS_REFUSED },
	{ "protocol-error", CLASSIFY_PROTOCOL_ERROR },
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static int decide(const struct rule *rules, size_t n, unsigned have)
{
	size_t i;

	for (i = 0; i + 1 < n; i++) {
		if ((rules[i].need & ~have) == 0)
			break;
	}
	return rules[i].verdict;
}

enum deadline_verdict verdict_cert(const struct deadline_cert *c,
				   time_t must_by, time_t at)
{
	unsigned have = 0;

	if (c->revoked_at != DEADLINE_UNSET && c->revoked_at <= at)
		have |= CERT_REVOKED;
	if (c->revoked_at != DEADLINE_UNSET && c->revoked_at <= must_by)
		have |= CERT_REVOKED_BY_DUE;
	if (c->not_after != DEADLINE_UNSET && c->not_after <= must_by)
		have |= CERT_EXPIRED_BY_DUE;
	if (at <= must_by)
		have |= CERT_DUE_AHEAD;
	return (enum deadline_verdict)decide(cert_rules, NELEM(cert_rules),
					     have);
}

enum report_deploy verdict_deployment(bool unscanned, bool served,
				      bool replaced)
{
	unsigned have = (unscanned ? DEPLOY_UNSCANNED : 0) |
			(served ? DEPLOY_SERVED : 0) |
			(replaced ? DEPLOY_REPLACED : 0);

	return (enum report_deploy)decide(deploy_rules, NELEM(deploy_rules),
					  have);
}

enum classify_verdict verdict_probe(const char *outcome)
{
	for (size_t i = 0; i < NELEM(probe_rules); i++) {
		if (strcmp(probe_rules[i].outcome, outcome) == 0)
			return probe_rules[i].verdict;
	}
	return CLASSIFY_TLS_ERROR;
}

/* Appends s and a NUL to buf at *used; -1 once it does not fit. */
static int put(char *buf, size_t len, size_t *used, const char *s)
{
	size_t n = strlen(s);

	if (n >= len - *used)
		return -1;
	memcpy(buf + *used, s, n + 1);
	*used += n;
	return 0;
}

/* The table as "CASE WHEN ... THEN 'name' ... ELSE 'name' END". */
static int write_case(char *buf, size_t len, const struct rule *rules, size_t n,
		      const char *const *cond_sql, size_t nconds,
		      const char *(*name)(int))
{
	size_t used = 0;

	if (len == 0 || put(buf, len, &used, "CASE\n") < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		const char *word = "\t\tWHEN ";

		for (size_t k = 0; k < nconds; k++) {
			if (!(rules[i].need & (1u << k)))
				continue;
			if (put(buf, len, &used, word) < 0 ||
			    put(buf, len, &used, cond_sql[k]) < 0 ||
			    put(buf, len, &used, "\n") < 0)
				return -1;
			word = "\t\t     AND ";
		}
		if (put(buf, len, &used,
			rules[i].need ? "\t\tTHEN '" : "\t\tELSE '") < 0 ||
		    put(buf, len, &used, name(rules[i].verdict)) < 0 ||
		    put(buf, len, &used, "'\n") < 0)
			return -1;
	}
	if (put(buf, len, &used, "\tEND") < 0)
		return -1;
	return (int)used;
}

static const char *cert_name(int v)
{
	return deadline_verdict_name((enum deadline_verdict)v);
}

static const char *deploy_name(int v)
{
	return report_deploy_name((enum report_deploy)v);
}

int verdict_cert_sql(char *buf, size_t len)
{
	return write_case(buf, len, cert_rules, NELEM(cert_rules), cert_sql,
			  CERT_NCONDS, cert_name);
}

int verdict_deployment_sql(char *buf, size_t len)
{
	return write_case(buf, len, deploy_rules, NELEM(deploy_rules),
			  deploy_sql, DEPLOY_NCONDS, deploy_name);
}
