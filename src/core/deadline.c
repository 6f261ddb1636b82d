/*
 * deadline.c - BR revocation rules by edition and incident clocks (the
 * per-certificate verdict is verdict_cert(), verdict.c).
 *
 * Pure: no I/O, no local time.  Sources: BR 4.9.1.1, 4.9.1.2, 4.9.5 and
 * the CCADB Incident Reporting Guidelines, as summarised in
 * shared/reference/revocation-rules.md; docs/rules.md for operators.
 */
#include "certrecall/core/deadline.h"
#include "certrecall/base/utctime.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

_Static_assert(sizeof(time_t) == 8, "DEADLINE_UNSET needs a 64-bit time_t");

/* Effective dates, 00:00:00 UTC, from the BR's revision table (1.2.1). */
static const struct deadline_edition editions[] = {
	/* SC24 "Fall Cleanup v2"; in force for the 2020 CAA incident */
	{ "v1.6.7", 10607, "SC24", 1576713600 /* 2019-12-19 */,
	  DEADLINE_NUMBERING_2020, 0, 0 },
	/* SC54 "Onion Cleanup"; the last text with the 2020 numbering */
	{ "v1.8.4", 10804, "SC54", 1650672000 /* 2022-04-23 */,
	  DEADLINE_NUMBERING_2020, 0, 0 },
	/* SC56 "2022 Cleanup" merged the 24-hour and 5-day lists */
	{ "v1.8.5", 10805, "SC56", 1669766400 /* 2022-11-30 */,
	  DEADLINE_NUMBERING_MERGED, 0, 0 },
	/* SC61 added a CRLReason to every item */
	{ "v1.8.7", 10807, "SC61", 1689379200 /* 2023-07-15 */,
	  DEADLINE_NUMBERING_MERGED, 1, 0 },
	/* SC095 names a failed CAA check in br-5 */
	{ "v2.2.6", 20206, "SC095", 1774915200 /* 2026-03-31 */,
	  DEADLINE_NUMBERING_MERGED, 1, 1 },
};
#define NEDITIONS (sizeof(editions) / sizeof(editions[0]))

#define W24 DEADLINE_WINDOW_SHALL_24H
#define W5D DEADLINE_WINDOW_SHOULD_24H_MUST_5D
#define N20 DEADLINE_NUMBERING_2020
#define NBR DEADLINE_NUMBERING_MERGED
#define NONE DEADLINE_CRLREASON_NONE

static const struct deadline_item items[] = {
	/* BR 4.9.1.1, 2020 numbering (v1.6.7 - v1.8.4): two lists */
	{ "24h-1", N20, "4.9.1.1", "24-hour list item 1", W24, NONE, NULL,
	  "subscriber requests revocation in writing", NULL, "br-1" },
	{ "24h-2", N20, "4.9.1.1", "24-hour list item 2", W24, NONE, NULL,
	  "subscriber says the original request was not authorised", NULL,
	  "br-2" },
	{ "24h-3", N20, "4.9.1.1", "24-hour list item 3", W24, NONE, NULL,
	  "evidence that the private key was compromised", NULL, "br-3" },
	{ "24h-4", N20, "4.9.1.1", "24-hour list item 4", W24, NONE, NULL,
	  "domain or IP validation should not be relied upon", NULL, "br-5" },
	{ "5d-1", N20, "4.9.1.1", "5-day list item 1", W5D, NONE, NULL,
	  "key does not meet BR 6.1.5 / 6.1.6", NULL, "br-6" },
	{ "5d-2", N20, "4.9.1.1", "5-day list item 2", W5D, NONE, NULL,
	  "certificate was misused", NULL, "br-7" },
	{ "5d-3", N20, "4.9.1.1", "5-day list item 3", W5D, NONE, NULL,
	  "subscriber violated the subscriber agreement or terms of use", NULL,
	  "br-8" },
	{ "5d-4", N20, "4.9.1.1", "5-day list item 4", W5D, NONE, NULL,
	  "use of the domain name or IP address is no longer legally "
	  "permitted",
	  NULL, "br-9" },
	{ "5d-5", N20, "4.9.1.1", "5-day list item 5", W5D, NONE, NULL,
	  "wildcard certificate used for a misleading subordinate name", NULL,
	  "br-10" },
	{ "5d-6", N20, "4.9.1.1", "5-day list item 6", W5D, NONE, NULL,
	  "material change in the information in the certificate", NULL,
	  "br-11" },
	{ "5d-7", N20, "4.9.1.1", "5-day list item 7", W5D, NONE, NULL,
	  "not issued in accordance with the BR or the CA's CP/CPS", NULL,
	  "br-12" },
	{ "5d-8", N20, "4.9.1.1", "5-day list item 8", W5D, NONE, NULL,
	  "information in the certificate is inaccurate", NULL, "br-13" },
	{ "5d-9", N20, "4.9.1.1", "5-day list item 9", W5D, NONE, NULL,
	  "the CA's right to issue under the BR expired or was revoked", NULL,
	  "br-14" },
	{ "5d-10", N20, "4.9.1.1", "5-day list item 10", W5D, NONE, NULL,
	  "revocation required by the CA's CP/CPS", NULL, "br-15" },
	{ "5d-11", N20, "4.9.1.1", "5-day list item 11", W5D, NONE, NULL,
	  "a proven method exposes or computes the private key, or key "
	  "generation was flawed",
	  NULL, "br-16" },
	/* BR 4.9.1.1, merged numbering (v1.8.5 and later): one list */
	{ "br-1", NBR, "4.9.1.1", "item 1", W24, 0, "unspecified",
	  "subscriber requests revocation in writing without a reason", NULL,
	  "24h-1" },
	{ "br-2", NBR, "4.9.1.1", "item 2", W24, 9, "privilegeWithdrawn",
	  "subscriber says the original request was not authorised", NULL,
	  "24h-2" },
	{ "br-3", NBR, "4.9.1.1", "item 3", W24, 1, "keyCompromise",
	  "evidence that the private key was compromised", NULL, "24h-3" },
	/* split off 5d-11 by SC56 and moved to the 24-hour window */
	{ "br-4", NBR, "4.9.1.1", "item 4", W24, 1, "keyCompromise",
	  "a proven method computes the private key from the public key", NULL,
	  "5d-11" },
	{ "br-5", NBR, "4.9.1.1", "item 5", W24, 4, "superseded",
	  "domain or IP validation must not be relied upon",
	  "domain or IP validation must not be relied upon, including a CA "
	  "that failed to check CAA correctly",
	  "24h-4" },
	{ "br-6", NBR, "4.9.1.1", "item 6", W5D, 4, "superseded",
	  "key no longer meets BR 6.1.5 / 6.1.6", NULL, "5d-1" },
	{ "br-7", NBR, "4.9.1.1", "item 7", W5D, 9, "privilegeWithdrawn",
	  "certificate was misused", NULL, "5d-2" },
	{ "br-8", NBR, "4.9.1.1", "item 8", W5D, 9, "privilegeWithdrawn",
	  "subscriber violated the subscriber agreement or terms of use", NULL,
	  "5d-3" },
	{ "br-9", NBR, "4.9.1.1", "item 9", W5D, 5, "cessationOfOperation",
	  "use of the domain name or IP address is no longer legally "
	  "permitted",
	  NULL, "5d-4" },
	{ "br-10", NBR, "4.9.1.1", "item 10", W5D, 9, "privilegeWithdrawn",
	  "wildcard certificate used for a misleading subordinate name", NULL,
	  "5d-5" },
	{ "br-11", NBR, "4.9.1.1", "item 11", W5D, 9, "privilegeWithdrawn",
	  "material change in the information in the certificate", NULL,
	  "5d-6" },
	{ "br-12", NBR, "4.9.1.1", "item 12", W5D, 4, "superseded",
	  "not issued in accordance with the BR or the CA's CP/CPS", NULL,
	  "5d-7" },
	{ "br-13", NBR, "4.9.1.1", "item 13", W5D, 9, "privilegeWithdrawn",
	  "information in the certificate is inaccurate", NULL, "5d-8" },
	{ "br-14", NBR, "4.9.1.1", "item 14", W5D, 0, "unspecified",
	  "the CA's right to issue under the BR expired or was revoked", NULL,
	  "5d-9" },
	{ "br-15", NBR, "4.9.1.1", "item 15", W5D, 0, "unspecified",
	  "revocation required by the CA's CP/CPS", NULL, "5d-10" },
	{ "br-16", NBR, "4.9.1.1", "item 16", W5D, 1, "keyCompromise",
	  "a proven method exposes the private key, or key generation was "
	  "flawed",
	  NULL, "5d-11" },
	/* BR 4.9.1.2: all nine reasons share one window, so one key */
	{ "ca", DEADLINE_NUMBERING_ANY, "4.9.1.2", NULL,
	  DEADLINE_WINDOW_SHALL_7D, NONE, NULL,
	  "subordinate CA certificate, any of the nine listed reasons", NULL,
	  NULL },
	/* BR 4.9.5: a reporting clock; listed, but not a revocation reason */
	{ "cpr", DEADLINE_NUMBERING_ANY, "4.9.5", NULL,
	  DEADLINE_WINDOW_REPORT_24H, NONE, NULL,
	  "certificate problem report: investigate and send a preliminary "
	  "report to the subscriber and the reporter",
	  NULL, NULL },
};
#define NITEMS (sizeof(items) / sizeof(items[0]))

const struct deadline_edition *deadline_edition_get0(size_t i)
{
	return i < NEDITIONS ? &editions[i] : NULL;
}

const struct deadline_item *deadline_item_get0(size_t i)
{
	return i < NITEMS ? &items[i] : NULL;
}

const struct deadline_edition *deadline_edition_at(time_t t)
{
	size_t i;

	for (i = NEDITIONS; i > 0; i--) {
		if (t >= editions[i - 1].effective)
			return &editions[i - 1];
	}
	return NULL;
}

static const char *numbering_keys(enum deadline_numbering n)
{
	return n == DEADLINE_NUMBERING_2020 ? "24h-1..24h-4 and 5d-1..5d-11"
					    : "br-1..br-16";
}

static const struct deadline_item *item_find(const char *key)
{
	size_t i;

	for (i = 0; i < NITEMS; i++) {
		if (strcasecmp(items[i].key, key) == 0)
			return &items[i];
	}
	return NULL;
}

/* Write "BR <section> (<edition>) <where>" into out->citation. */
static int cite(struct deadline_rule *out, const char *edition)
{
	const struct deadline_item *it = out->item;
	int n;

	snprintf(out->edition_name, sizeof(out->edition_name), "%s", edition);
	n = snprintf(out->citation, sizeof(out->citation), "BR %s (%s)%s%s",
		     it->section, edition, it->where ? " " : "",
		     it->where ? it->where : "");
	return n < 0 || (size_t)n >= sizeof(out->citation) ? -1 : 0;
}

int deadline_rule_make(const struct deadline_edition *ed,
		       const struct deadline_item *it,
		       struct deadline_rule *out)
{
	if (it->numbering != DEADLINE_NUMBERING_ANY &&
	    it->numbering != ed->numbering)
		return -1;
	memset(out, 0, sizeof(*out));
	out->edition = ed;
	out->item = it;
	out->text = ed->has_caa && it->text_caa ? it->text_caa : it->text;
	out->crlreason = ed->has_crlreason ? it->crlreason : NONE;
	out->crlreason_name = ed->has_crlreason ? it->crlreason_name : NULL;
	return cite(out, ed->name);
}

/* "v1.7.0" or "1.7.0" as major * 10000 + minor * 100 + patch, or -1. */
static int parse_version(const char *s, size_t len)
{
	int part[3] = { 0, 0, 0 }, k = 0, digits = 0;
	size_t i = 0;

	if (len > 0 && (s[0] == 'v' || s[0] == 'V'))
		i++;
	for (; i < len; i++) {
		if (s[i] >= '0' && s[i] <= '9' && digits < 2) {
			part[k] = part[k] * 10 + (s[i] - '0');
			digits++;
		} else if (s[i] == '.' && digits > 0 && k < 2) {
			k++;
			digits = 0;
		} else {
			return -1;
		}
	}
	if (k != 2 || digits == 0)
		return -1;
	return part[0] * 10000 + part[1] * 100 + part[2];
}

/*
 * Split reason into an edition (from its prefix, else the one in force at
 * at) and an item.  *named says whether a prefix was given.
 */
static int split_reason(const char *reason, time_t at,
			const struct deadline_edition **ed,
			const struct deadline_item **it, char *name,
			size_t namelen, int *named, char *err, size_t errlen)
{
	const char *colon = strchr(reason, ':'), *key = reason;
	char when[UTCTIME_BUFSZ];
	size_t i;
	int v;

	*ed = NULL;
	*named = colon != NULL;
	if (colon != NULL) {
		key = colon + 1;
		v = parse_version(reason, (size_t)(colon - reason));
		if ((size_t)(colon - reason) == 7 &&
		    strncasecmp(reason, "current", 7) == 0)
			*ed = &editions[NEDITIONS - 1];
		for (i = NEDITIONS; v >= 0 && i > 0 && *ed == NULL; i--) {
			if (editions[i - 1].version <= v)
				*ed = &editions[i - 1];
		}
		if (*ed == NULL) {
			snprintf(err, errlen,
				 "reason \"%.64s\": unknown or too old BR "
				 "edition (use current or v1.6.7 or later)",
				 reason);
			return -1;
		}
		if (v >= 0)
			snprintf(name, namelen, "v%d.%d.%d", v / 10000,
				 v / 100 % 100, v % 100);
		else
			snprintf(name, namelen, "%s", (*ed)->name);
	} else {
		*ed = deadline_edition_at(at);
		if (*ed == NULL) {
			if (utctime_format_rfc3339(at, when, sizeof(when)) < 0)
				memcpy(when, "?", 2);
			snprintf(err, errlen,
				 "reason \"%.64s\": %s predates BR v1.6.7 "
				 "(2019-12-19), the oldest edition known; "
				 "name one, e.g. v1.6.7:%.16s",
				 reason, when, reason);
			return -1;
		}
		snprintf(name, namelen, "%s", (*ed)->name);
	}
	*it = item_find(key);
	if (*it == NULL) {
		snprintf(err, errlen,
			 "reason \"%.64s\": unknown key; expected 24h-1..24h-4 "
			 "or 5d-1..5d-11 (v1.6.7 to v1.8.4), br-1..br-16 "
			 "(v1.8.5 on), ca or cpr",
			 reason);
		return -1;
	}
	return 0;
}

/* Wrong-numbering message: name the edition and the counterpart key. */
static void wrong_numbering(const char *reason, time_t at,
			    const struct deadline_edition *ed,
			    const struct deadline_item *it, int named,
			    char *err, size_t errlen)
{
	char when[UTCTIME_BUFSZ], eff[UTCTIME_BUFSZ];

	if (utctime_format_rfc3339(at, when, sizeof(when)) < 0)
		memcpy(when, "?", 2);
	if (utctime_format_rfc3339(ed->effective, eff, sizeof(eff)) < 0)
		memcpy(eff, "?", 2);
	eff[10] = '\0';
	if (named)
		snprintf(err, errlen,
			 "reason \"%.64s\": BR %s numbers its items %s; "
			 "the counterpart of %s there is %s",
			 reason, ed->name, numbering_keys(ed->numbering),
			 it->key, it->counterpart);
	else
		snprintf(err, errlen,
			 "reason \"%.64s\": at aware_at %s BR %s (effective "
			 "%s) was in force, which numbers its items %s; use "
			 "%s, or write %s:%s to apply that edition's text",
			 reason, when, ed->name, eff,
			 numbering_keys(ed->numbering), it->counterpart,
			 it->numbering == DEADLINE_NUMBERING_2020 ? "v1.6.7"
								  : "current",
			 it->key);
}

int deadline_resolve(const char *reason, time_t aware_at,
		     struct deadline_rule *out, char *err, size_t errlen)
{
	const struct deadline_edition *ed;
	const struct deadline_item *it;
	char name[16];
	int named;

	if (split_reason(reason, aware_at, &ed, &it, name, sizeof(name), &named,
			 err, errlen) < 0)
		return -1;
	if (it->window == DEADLINE_WINDOW_REPORT_24H) {
		snprintf(err, errlen,
			 "reason \"%.64s\": BR 4.9.5 is a reporting clock, "
			 "not a revocation reason; give the problem report's "
			 "time instead",
			 reason);
		return -1;
	}
	if (deadline_rule_make(ed, it, out) < 0) {
		wrong_numbering(reason, aware_at, ed, it, named, err, errlen);
		return -1;
	}
	/* Cite the edition the operator named, e.g. v1.7.0. */
	if (named && cite(out, name) < 0) {
		snprintf(err, errlen, "reason \"%.64s\": edition too long",
			 reason);
		return -1;
	}
	return 0;
}

const char *deadline_window_words(enum deadline_window w)
{
	switch (w) {
	case DEADLINE_WINDOW_SHALL_24H:
		return "SHALL revoke within 24 hours";
	case DEADLINE_WINDOW_SHOULD_24H_MUST_5D:
		return "SHOULD revoke within 24 hours, MUST within 5 days";
	case DEADLINE_WINDOW_SHALL_7D:
		return "SHALL revoke within 7 days";
	case DEADLINE_WINDOW_REPORT_24H:
		return "preliminary report within 24 hours";
	}
	return "?";
}

int deadline_explain(const char *reason, time_t at, struct deadline_rule *out,
		     char *note, size_t notelen, char *err, size_t errlen)
{
	const struct deadline_edition *ed;
	const struct deadline_item *it, *was;
	char name[16], when[UTCTIME_BUFSZ], eff[UTCTIME_BUFSZ], crl[48],
		moved[96] = "";
	int named;

	if (split_reason(reason, at, &ed, &it, name, sizeof(name), &named, err,
			 errlen) < 0)
		return -1;
	was = it;
	if (deadline_rule_make(ed, it, out) < 0) {
		it = item_find(it->counterpart);
		if (it == NULL || deadline_rule_make(ed, it, out) < 0) {
			snprintf(err, errlen,
				 "reason \"%.64s\": no counterpart", reason);
			return -1;
		}
		snprintf(moved, sizeof(moved), "; %s does not exist there",
			 was->key);
	}
	if (named && cite(out, name) < 0) {
		snprintf(err, errlen, "reason \"%.64s\": edition too long",
			 reason);
		return -1;
	}
	if (utctime_format_rfc3339(at, when, sizeof(when)) < 0)
		memcpy(when, "?", 2);
	if (utctime_format_rfc3339(ed->effective, eff, sizeof(eff)) < 0)
		memcpy(eff, "?", 2);
	eff[10] = '\0';
	if (out->crlreason != NONE)
		snprintf(crl, sizeof(crl), "CRLReason %s (%d)",
			 out->crlreason_name, out->crlreason);
	else
		snprintf(crl, sizeof(crl), "no CRLReason code");
	if (named)
		snprintf(
			note, notelen,
			"BR %s (%s, effective %s) as named: %s (%s%s): %s; %s; "
			"%s",
			ed->name, ed->ballot, eff, out->citation, it->key,
			moved, out->text, deadline_window_words(it->window),
			crl);
	else
		snprintf(note, notelen,
			 "at %s BR %s (%s, effective %s) was in force: %s "
			 "(%s%s): %s; %s; %s",
			 when, ed->name, ed->ballot, eff, out->citation,
			 it->key, moved, out->text,
			 deadline_window_words(it->window), crl);
	return 0;
}

/* CCADB Incident Reporting Guidelines v2.0, effective 2023-10-17. */
#define IRG_V2 ((time_t)1697500800)

/*
 * The clocks in output order.  The CCADB IRG dates only v2.0 (2023-10-17)
 * in our reference; the 72-hour first report, the 14-day full report and
 * the 7-day answer to comments came together with it, and so do the
 * delayed-revocation updates here: see docs/rules.md.
 */
static const struct deadline_clock_def clock_defs[] = {
	{ "revoke-should", "BR", NULL, "4.9.1.1", 0,
	  "SHOULD revoke within 24 hours (5-day reasons)",
	  "aware_at, or an earlier problem report (BR 4.9.5)" },
	{ "revoke-must", "BR", NULL, "4.9.1.1", 0,
	  "MUST revoke within 24 hours or 5 days (4.9.1.2: 7 days)",
	  "aware_at, or an earlier problem report (BR 4.9.5)" },
	{ "cpr-preliminary", "BR", NULL, "4.9.5", 0,
	  "preliminary report within 24 hours", "problem report received" },
	{ "ccadb-first-report", "CCADB IRG", "v2.0", NULL, IRG_V2,
	  "first incident report within 72 hours", "aware_at" },
	{ "ccadb-full-report", "CCADB IRG", "v2.0", NULL, IRG_V2,
	  "full incident report within 14 days",
	  "first disclosure (default aware_at)" },
	{ "ccadb-comment-answer", "CCADB IRG", "v2.0", NULL, IRG_V2,
	  "answer each comment within 7 days", "each comment" },
	{ "delayed-update-should", "CCADB IRG", "v2.0", NULL, IRG_V2,
	  "delayed-revocation update SHOULD every 3 days",
	  "MUST-by, then each update" },
	{ "delayed-update-must", "CCADB IRG", "v2.0", NULL, IRG_V2,
	  "delayed-revocation update MUST at least every 7 days",
	  "MUST-by, then each update" },
};
#define NCLOCKDEFS (sizeof(clock_defs) / sizeof(clock_defs[0]))

const struct deadline_clock_def *deadline_clock_def_get0(size_t i)
{
	return i < NCLOCKDEFS ? &clock_defs[i] : NULL;
}

int deadline_clock_def_in_force(const struct deadline_clock_def *def,
				time_t aware_at)
{
	return def->effective == 0 || aware_at >= def->effective;
}

static const struct deadline_clock_def *clock_def(const char *id)
{
	size_t i;

	for (i = 0; i < NCLOCKDEFS; i++) {
		if (strcmp(clock_defs[i].id, id) == 0)
			return &clock_defs[i];
	}
	return NULL;
}

void deadline_incident_init(struct deadline_incident *inc, time_t aware_at)
{
	inc->aware_at = aware_at;
	inc->cpr_received_at = DEADLINE_UNSET;
	inc->disclosed_at = DEADLINE_UNSET;
	inc->cpr_answered_at = DEADLINE_UNSET;
	inc->first_report_at = DEADLINE_UNSET;
	inc->full_report_at = DEADLINE_UNSET;
	inc->last_update_at = DEADLINE_UNSET;
	inc->comments = NULL;
	inc->ncomments = 0;
}

time_t deadline_revoke_start(const struct deadline_incident *inc,
			     const struct deadline_rule *rule,
			     const char **from)
{
	/*
	 * BR 4.9.5: "the period from receipt of the Certificate Problem
	 * Report ... to published revocation MUST NOT exceed the time frame
	 * set forth in Section 4.9.1.1".  It names 4.9.1.1 only, so a CA
	 * certificate (4.9.1.2) keeps aware_at.
	 */
	if (inc->cpr_received_at != DEADLINE_UNSET &&
	    inc->cpr_received_at < inc->aware_at &&
	    strcmp(rule->item->section, "4.9.1.1") == 0) {
		if (from)
			*from = "cpr_received_at";
		return inc->cpr_received_at;
	}
	if (from)
		*from = "aware_at";
	return inc->aware_at;
}

time_t deadline_should_by(const struct deadline_rule *rule, time_t start)
{
	/* BR 4.9.1.2: the CA-certificate window has no SHOULD part. */
	if (rule->item->window == DEADLINE_WINDOW_SHALL_7D)
		return start + 7 * DEADLINE_DAY;
	return start + DEADLINE_DAY;
}

time_t deadline_must_by(const struct deadline_rule *rule, time_t start)
{
	switch (rule->item->window) {
	case DEADLINE_WINDOW_SHOULD_24H_MUST_5D:
		return start + 5 * DEADLINE_DAY;
	case DEADLINE_WINDOW_SHALL_7D:
		return start + 7 * DEADLINE_DAY;
	default:
		return start + DEADLINE_DAY;
	}
}

/* A time that had happened by now (replaying an earlier moment). */
static int happened(time_t t, time_t now)
{
	return t != DEADLINE_UNSET && t <= now;
}

/* A report clock: met by done_at, or missed once now passes due. */
static enum deadline_state report_state(time_t due, time_t done, time_t now)
{
	if (happened(done, now))
		return done <= due ? DEADLINE_MET : DEADLINE_MISSED;
	return now <= due ? DEADLINE_OPEN : DEADLINE_MISSED;
}

/*
 * A revocation clock.  Nothing imported means nothing to judge: OPEN even
 * past due.  The deadline second itself is on time.
 */
static enum deadline_state
revoke_state(time_t due, const struct deadline_progress *p, time_t now)
{
	if (!p->has_certs)
		return DEADLINE_OPEN;
	if (p->unrevoked == 0 &&
	    (p->last_revoked_at == DEADLINE_UNSET || p->last_revoked_at <= due))
		return DEADLINE_MET;
	return now > due ? DEADLINE_MISSED : DEADLINE_OPEN;
}

/* What every clock of one computation shares. */
struct clock_ctx {
	const struct deadline_rule *rule;
	struct deadline_clock *c;
	int n;
	time_t now;
};

/*
 * Append clock id (from the catalogue) with its source; the rule text is
 * "<source> <where>: what".  Nothing is appended when the source was not
 * in force at aware_at.
 */
static struct deadline_clock *add(struct clock_ctx *x, time_t aware,
				  const char *id, time_t start,
				  const char *start_from, time_t due,
				  enum deadline_state st, int done,
				  const char *what)
{
	const struct deadline_clock_def *def = clock_def(id);
	const struct deadline_rule *r = x->rule;
	struct deadline_clock *k;
	const char *where = "";

	if (!deadline_clock_def_in_force(def, aware) ||
	    x->n >= DEADLINE_MAX_CLOCKS)
		return NULL;
	k = &x->c[x->n++];
	memset(k, 0, sizeof(*k));
	k->id = def->id;
	if (def->edition == NULL) {
		/* BR: the edition the incident's rule cites; a revocation
		 * clock cites the rule's own section and item. */
		const char *section = def->section;

		if (strncmp(id, "revoke-", 7) == 0) {
			section = r->item->section;
			where = r->item->where ? r->item->where : "";
		}
		snprintf(k->source, sizeof(k->source), "BR %s (%s)", section,
			 r->edition_name);
		k->effective = r->edition->effective;
	} else {
		snprintf(k->source, sizeof(k->source), "%s %s", def->document,
			 def->edition);
		k->effective = def->effective;
	}
	/* Truncation is impossible: source < 64, where < 24, what < 64. */
	snprintf(k->rule, sizeof(k->rule), "%s%s%s: %s", k->source,
		 *where ? " " : "", where, what);
	k->start = start;
	k->start_from = start_from;
	k->due = due;
	k->remaining = (long long)due - (long long)x->now;
	k->state = st;
	k->done = done;
	return k;
}

/*
 * CCADB IRG: every comment is answered within 7 days.  One clock for the
 * most pressing comment: the oldest unanswered one; once all are
 * answered, the first answered late (missed) or the latest (met).
 */
static void add_comments(struct clock_ctx *x,
			 const struct deadline_incident *inc)
{
	const struct deadline_comment *open = NULL, *late = NULL, *last = NULL;
	size_t i, nopen = 0;
	char what[64];

	for (i = 0; i < inc->ncomments; i++) {
		const struct deadline_comment *c = &inc->comments[i];
		time_t due = c->comment_at + 7 * DEADLINE_DAY;

		if (!happened(c->comment_at, x->now))
			continue;
		if (!happened(c->answered_at, x->now)) {
			nopen++;
			if (open == NULL || c->comment_at < open->comment_at)
				open = c;
			continue;
		}
		if (c->answered_at > due &&
		    (late == NULL || c->comment_at < late->comment_at))
			late = c;
		if (last == NULL || c->comment_at > last->comment_at)
			last = c;
	}
	if (open != NULL) {
		time_t due = open->comment_at + 7 * DEADLINE_DAY;

		snprintf(what, sizeof(what),
			 "answer each comment within 7 days (%zu open)", nopen);
		add(x, inc->aware_at, "ccadb-comment-answer", open->comment_at,
		    "comment", due,
		    x->now <= due ? DEADLINE_OPEN : DEADLINE_MISSED, 0, what);
	} else if (last != NULL) {
		const struct deadline_comment *c = late ? late : last;

		add(x, inc->aware_at, "ccadb-comment-answer", c->comment_at,
		    "comment", c->comment_at + 7 * DEADLINE_DAY,
		    late ? DEADLINE_MISSED : DEADLINE_MET, 1,
		    "answer each comment within 7 days");
	}
}

int deadline_compute(const struct deadline_incident *inc,
		     const struct deadline_rule *rule,
		     const struct deadline_progress *prog, time_t now,
		     struct deadline_clock *clocks, char *err, size_t errlen)
{
	struct clock_ctx x = { rule, clocks, 0, now };
	time_t aware = inc->aware_at, start, must, due, from;
	const char *start_from;
	int revoked;

	if (rule->item->window == DEADLINE_WINDOW_REPORT_24H ||
	    aware == DEADLINE_UNSET) {
		snprintf(err, errlen, "%s",
			 aware == DEADLINE_UNSET
				 ? "incident has no aware_at"
				 : "rule cpr is not a revocation reason");
		return -1;
	}
	start = deadline_revoke_start(inc, rule, &start_from);
	must = deadline_must_by(rule, start);
	revoked = prog->has_certs && prog->unrevoked == 0;
	/* A SHALL window is one deadline: only revoke-must is emitted. */
	if (rule->item->window == DEADLINE_WINDOW_SHOULD_24H_MUST_5D) {
		due = deadline_should_by(rule, start);
		add(&x, aware, "revoke-should", start, start_from, due,
		    revoke_state(due, prog, now), revoked,
		    "SHOULD revoke within 24 hours");
	}
	add(&x, aware, "revoke-must", start, start_from, must,
	    revoke_state(must, prog, now), revoked,
	    rule->item->window == DEADLINE_WINDOW_SHOULD_24H_MUST_5D
		    ? "MUST revoke within 5 days"
	    : rule->item->window == DEADLINE_WINDOW_SHALL_7D
		    ? "SHALL revoke within 7 days"
		    : "SHALL revoke within 24 hours");
	if (inc->cpr_received_at != DEADLINE_UNSET) {
		due = inc->cpr_received_at + DEADLINE_DAY;
		add(&x, aware, "cpr-preliminary", inc->cpr_received_at,
		    "cpr_received_at", due,
		    report_state(due, inc->cpr_answered_at, now),
		    happened(inc->cpr_answered_at, now),
		    "preliminary report within 24 hours");
	}
	due = aware + 3 * DEADLINE_DAY;
	add(&x, aware, "ccadb-first-report", aware, "aware_at", due,
	    report_state(due, inc->first_report_at, now),
	    happened(inc->first_report_at, now),
	    "first incident report within 72 hours");
	from = inc->disclosed_at != DEADLINE_UNSET ? inc->disclosed_at : aware;
	due = from + 14 * DEADLINE_DAY;
	add(&x, aware, "ccadb-full-report", from,
	    inc->disclosed_at != DEADLINE_UNSET ? "disclosed_at" : "aware_at",
	    due, report_state(due, inc->full_report_at, now),
	    happened(inc->full_report_at, now),
	    "full incident report within 14 days of disclosure");
	add_comments(&x, inc);
	/*
	 * CCADB IRG delayed revocation: once MUST-by has passed with
	 * certificates unrevoked, updates SHOULD come every 3 days and MUST
	 * come at least every 7.  Each period runs from the later of MUST-by
	 * and the last update posted, so an update never posted stays missed.
	 */
	if (prog->has_certs && prog->unrevoked > 0 && now > must) {
		const char *what = "must_by";

		from = must;
		if (happened(inc->last_update_at, now) &&
		    inc->last_update_at > must) {
			from = inc->last_update_at;
			what = "last_update_at";
		}
		due = from + 3 * DEADLINE_DAY;
		add(&x, aware, "delayed-update-should", from, what, due,
		    now <= due ? DEADLINE_OPEN : DEADLINE_MISSED, 0,
		    "delayed-revocation update SHOULD every 3 days");
		due = from + 7 * DEADLINE_DAY;
		add(&x, aware, "delayed-update-must", from, what, due,
		    now <= due ? DEADLINE_OPEN : DEADLINE_MISSED, 0,
		    "delayed-revocation update MUST at least every 7 days");
	}
	return x.n;
}

int deadline_cert_short_lived(const struct deadline_cert *c)
{
	long long validity;

	if (c->not_before == DEADLINE_UNSET || c->not_after == DEADLINE_UNSET)
		return 0;
	/* BR 1.6.1: the validity period includes notBefore and notAfter. */
	validity = (long long)c->not_after - (long long)c->not_before + 1;
	if (c->not_before >= 1773532800) /* 2026-03-15 */
		return validity <= 7 * DEADLINE_DAY;
	if (c->not_before >= 1710460800) /* 2024-03-15 */
		return validity <= 10 * DEADLINE_DAY;
	return 0;
}

const char *deadline_verdict_name(enum deadline_verdict v)
{
	switch (v) {
	case DEADLINE_REVOKED_ON_TIME:
		return "revoked-on-time";
	case DEADLINE_REVOKED_LATE:
		return "revoked-late";
	case DEADLINE_EXPIRED:
		return "expired";
	case DEADLINE_PENDING:
		return "pending";
	case DEADLINE_OVERDUE:
		return "overdue";
	}
	return "?";
}

const char *deadline_state_name(enum deadline_state s)
{
	switch (s) {
	case DEADLINE_OPEN:
		return "open";
	case DEADLINE_MET:
		return "met";
	case DEADLINE_MISSED:
		return "missed";
	}
	return "?";
}
