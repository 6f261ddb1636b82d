/*
 * deadline - BR revocation rules by edition and incident clocks (pure:
 * no I/O, no TZ); the per-certificate verdict (enum deadline_verdict) is
 * given by verdict_cert() in verdict.h.
 *
 * Clocks start at the incident's aware_at, except that the BR 4.9.1.1
 * revocation clocks start at a problem report's receipt when that came
 * first (BR 4.9.5).  A day is exactly 86,400 s (BR 6.3.2), so "5 days" is
 * start + 432,000 s with no rounding.  Every clock names its source and
 * the date that took effect, and applies only to incidents from then.
 * See docs/rules.md for the catalogue and the decisions recorded here.
 */
#ifndef CERTRECALL_DEADLINE_H
#define CERTRECALL_DEADLINE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include "certrecall/base/xalloc.h"

#define DEADLINE_DAY 86400L

/* An optional time that is not known / did not happen.  Never 0. */
#define DEADLINE_UNSET ((time_t)INT64_MIN)

/* RFC 5280 CRLReason code absent (edition before v1.8.7, or CA/CPR). */
#define DEADLINE_CRLREASON_NONE (-1)

/* deadline_compute() never writes more clocks than this. */
#define DEADLINE_MAX_CLOCKS 10

/* How an edition numbers BR 4.9.1.1. */
enum deadline_numbering {
	DEADLINE_NUMBERING_2020,   /* 24h-1..24h-4, 5d-1..5d-11 */
	DEADLINE_NUMBERING_MERGED, /* br-1..br-16 (v1.8.5, SC56) */
	DEADLINE_NUMBERING_ANY,	   /* ca, cpr: same in every edition */
};

enum deadline_window {
	DEADLINE_WINDOW_SHALL_24H,	    /* revoke within 24 hours */
	DEADLINE_WINDOW_SHOULD_24H_MUST_5D, /* SHOULD 24 hours, MUST 5 days */
	DEADLINE_WINDOW_SHALL_7D,	    /* BR 4.9.1.2 subordinate CA */
	DEADLINE_WINDOW_REPORT_24H, /* BR 4.9.5 preliminary report, no revoke */
};

enum deadline_state {
	DEADLINE_OPEN,
	DEADLINE_MET,
	DEADLINE_MISSED,
};

enum deadline_verdict {
	DEADLINE_REVOKED_ON_TIME,
	DEADLINE_REVOKED_LATE,
	DEADLINE_EXPIRED, /* expired unrevoked at or before must-by */
	DEADLINE_PENDING,
	DEADLINE_OVERDUE,
};

/*
 * A span of BR editions whose revocation text is the same for us; named
 * after its first version.  Static, never freed.
 */
struct deadline_edition {
	const char *name;   /* "v1.6.7" */
	int version;	    /* 10607: major * 10000 + minor * 100 + patch */
	const char *ballot; /* ballot that made this text, "SC24" */
	time_t effective;   /* 00:00:00 UTC of the effective date */
	enum deadline_numbering numbering;
	int has_crlreason; /* SC61 codes present (v1.8.7+) */
	int has_caa;	   /* br-5 names CAA explicitly (v2.2.6+) */
};

/* One catalogue entry in one numbering.  Static, never freed. */
struct deadline_item {
	const char *key; /* "5d-7", "br-12", "ca", "cpr" */
	enum deadline_numbering numbering;
	const char *section; /* "4.9.1.1" */
	const char *where;   /* "5-day list item 7", "item 12" or NULL */
	enum deadline_window window;
	int crlreason;		    /* code once editions carry them */
	const char *crlreason_name; /* "superseded", or NULL */
	const char *text;	    /* circumstance, in words */
	const char *text_caa;	    /* br-5 wording from v2.2.6, else NULL */
	const char *counterpart;    /* same case in the other numbering */
};

/* An item as a given edition states it.  Plain value, no resources. */
struct deadline_rule {
	const struct deadline_edition *edition;
	const struct deadline_item *item;
	char edition_name[16]; /* as the operator named it, e.g. "v1.7.0" */
	const char *text;      /* wording in force in that edition */
	int crlreason;	       /* DEADLINE_CRLREASON_NONE before v1.8.7 */
	const char *crlreason_name; /* NULL when crlreason is NONE */
	char citation[64]; /* "BR 4.9.1.1 (v1.6.7) 5-day list item 7" */
};

/*
 * Incident inputs.  Set every optional time to DEADLINE_UNSET (use
 * deadline_incident_init) unless known.  The *_at "done" times mark when
 * a report was actually sent.
 */
struct deadline_incident {
	time_t aware_at;	/* required: CA obtained evidence */
	time_t cpr_received_at; /* BR 4.9.5 problem report, or UNSET */
	time_t disclosed_at;	/* first disclosure; UNSET = aware_at */
	time_t cpr_answered_at; /* preliminary report sent */
	time_t first_report_at; /* CCADB preliminary/full report posted */
	time_t full_report_at;	/* CCADB full report posted */
	time_t last_update_at;	/* latest delayed-revocation update */
	/* CCADB IRG comments to answer (borrowed; may be NULL when 0) */
	const struct deadline_comment *comments;
	size_t ncomments;
};

/* A comment on the incident's report; answered_at UNSET while open. */
struct deadline_comment {
	time_t comment_at;
	time_t answered_at;
};

/* Revocation progress of the affected set, from the database. */
struct deadline_progress {
	int has_certs;		/* 0: nothing imported yet */
	long long unrevoked;	/* neither revoked nor expired at "now" */
	time_t last_revoked_at; /* latest required revocation, or UNSET */
};

struct deadline_clock {
	const char *id;		/* static: "revoke-must", ... */
	char rule[128];		/* citation and obligation */
	char source[64];	/* "BR 4.9.1.1 (v1.6.7)", "CCADB IRG v2.0" */
	time_t effective;	/* the source took effect (00:00:00 UTC) */
	time_t start;		/* when this clock started */
	const char *start_from; /* static: "aware_at", "cpr_received_at"... */
	time_t due;		/* last on-time second */
	long long remaining;	/* due - now; negative = overdue */
	enum deadline_state state;
	int done; /* obligation fulfilled (on time or late) by now */
};

/*
 * The clocks of an incident, for listings (`rules --at`).  The BR ones
 * (document "BR") take their edition and date from the incident's rule;
 * the others have a fixed source.  Static, never freed.
 */
struct deadline_clock_def {
	const char *id;
	const char *document; /* "BR", "CCADB IRG" */
	const char *edition;  /* "v2.0"; NULL: the edition of the rule */
	const char *section;  /* "4.9.5"; NULL if the document has none */
	time_t effective;     /* 0: the edition of the rule */
	const char *what;     /* obligation in words */
	const char *start;    /* what starts it, in words */
};

/* One certificate; unknown times are DEADLINE_UNSET. */
struct deadline_cert {
	time_t revoked_at;
	time_t not_before; /* stands in for the issuance time */
	time_t not_after;  /* last valid second (inclusive) */
};

/*
 * Catalogue.  Editions are in effective-date order, items in list order;
 * both return NULL past the end.  deadline_edition_at() gives the edition
 * in force at t, or NULL before the oldest one (v1.6.7, 2019-12-19).
 */
const struct deadline_edition *deadline_edition_get0(size_t i);
const struct deadline_item *deadline_item_get0(size_t i);
const struct deadline_edition *deadline_edition_at(time_t t);

/*
 * Fill *out with item as edition ed states it (for listings).  Returns -1
 * when the edition does not number its items that way.
 */
CR_MUST_CHECK int deadline_rule_make(const struct deadline_edition *ed,
				     const struct deadline_item *it,
				     struct deadline_rule *out);

/*
 * Resolve a reason such as "v1.6.7:5d-7", "current:br-12", "br-12", "5d-7"
 * or "ca".  Without an edition prefix the edition in force at aware_at is
 * used, and a key from the other numbering is rejected (the message names
 * the edition in force and the counterpart key).  "cpr" is not a reason.
 * Returns 0, or -1 with a message quoting reason in err.
 */
CR_MUST_CHECK int deadline_resolve(const char *reason, time_t aware_at,
				   struct deadline_rule *out, char *err,
				   size_t errlen);

/*
 * Which text applied at time at: like deadline_resolve, but a key from
 * the other numbering is translated to its counterpart instead of being
 * rejected, and a one-line explanation is written into note.
 */
CR_MUST_CHECK int deadline_explain(const char *reason, time_t at,
				   struct deadline_rule *out, char *note,
				   size_t notelen, char *err, size_t errlen);

/* Clock catalogue in output order; NULL past the end. */
const struct deadline_clock_def *deadline_clock_def_get0(size_t i);

/*
 * 1 if def binds an incident that started at aware_at (its source had
 * taken effect by then).  BR clocks follow the incident's edition: 1.
 */
CR_MUST_CHECK int
deadline_clock_def_in_force(const struct deadline_clock_def *def,
			    time_t aware_at);

/* Sets aware_at and every optional time to DEADLINE_UNSET, no comments. */
void deadline_incident_init(struct deadline_incident *inc, time_t aware_at);

/*
 * Where the revocation clocks of inc start under rule: aware_at, or the
 * receipt of a problem report when that came first and rule is a BR
 * 4.9.1.1 reason (BR 4.9.5: report to revocation must not exceed the
 * 4.9.1.1 window).  *from (may be NULL) gets "aware_at" or
 * "cpr_received_at".
 */
time_t deadline_revoke_start(const struct deadline_incident *inc,
			     const struct deadline_rule *rule,
			     const char **from);

/*
 * The SHOULD and MUST revocation times of rule (equal for SHALL rules),
 * counted from start (see deadline_revoke_start).
 */
time_t deadline_should_by(const struct deadline_rule *rule, time_t start);
time_t deadline_must_by(const struct deadline_rule *rule, time_t start);

/*
 * Compute the incident's clocks at now into clocks[DEADLINE_MAX_CLOCKS]:
 * only those whose source was in force at aware_at (the others are listed
 * by deadline_clock_def_in_force).  Done times and comments after now
 * have not happened yet (replay).  Returns the number written, or -1
 * (rule is not a revocation reason).
 */
CR_MUST_CHECK int deadline_compute(const struct deadline_incident *inc,
				   const struct deadline_rule *rule,
				   const struct deadline_progress *prog,
				   time_t now, struct deadline_clock *clocks,
				   char *err, size_t errlen);

/*
 * 1 if c is a short-lived subscriber certificate that MAY stay unrevoked
 * (BR 1.6.1, 4.9.1.1): validity <= 10 days if issued from 2024-03-15,
 * <= 7 days from 2026-03-15.  Separate from the verdict.
 */
CR_MUST_CHECK int deadline_cert_short_lived(const struct deadline_cert *c);

/* "SHALL revoke within 24 hours", ... */
CR_MUST_CHECK const char *deadline_window_words(enum deadline_window w);

/* "revoked-on-time", ... and "open", "met", "missed"; "?" if unknown. */
CR_MUST_CHECK const char *deadline_verdict_name(enum deadline_verdict v);
CR_MUST_CHECK const char *deadline_state_name(enum deadline_state s);

#endif
