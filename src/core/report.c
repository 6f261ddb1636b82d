/*
 * report.c - the report's model: names of its categories, the warning-time
 * buckets, its timeline.  Pure; the renderers are report_md.c,
 * report_html.c and report_json.c (what they share in report_render.c),
 * the timeline's words report_events.c; the gathering from the database
 * is store/report_store.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "certrecall/core/report.h"
#include "certrecall/base/xalloc.h"

/* Upper bounds (hours) of the warning-time buckets; see report.h. */
static const int warn_bounds[REPORT_WARN_BUCKETS - 1] = {
	0, 6, 12, 24, 48, 72, 96, 120,
};

static const char *const warn_names[REPORT_WARN_BUCKETS] = {
	"too late", "0-6 h",	"6-12 h",   "12-24 h", "1-2 days",
	"2-3 days", "3-4 days", "4-5 days", "5+ days",
};

static const char *const kinds[REPORT_KINDS] = { "initial", "reminder",
						 "revoked" };
static const char *const states[REPORT_STATES] = {
	"pending", "claimed", "sent", "retry", "failed", "no-address",
};
static const char *const deploys[REPORT_NDEPLOY] = {
	"deployed",
	"replaced",
	"unknown",
	"not scanned",
};

int report_format_parse(const char *name, enum report_format *out)
{
	static const char *const names[] = { "md",	 "html",  "json",
					     "csv",	 "ccadb", "events",
					     "unreached" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(name, names[i]) == 0) {
			*out = (enum report_format)i;
			return 0;
		}
	}
	return -1;
}

const char *report_unreached_name(int reason)
{
	static const char *const names[REPORT_UNREACHED_REASONS] = {
		"bounced",
		"unreachable",
		"failed",
		"no-address",
	};

	return reason >= 0 && reason < REPORT_UNREACHED_REASONS ? names[reason]
								: "?";
}

const char *report_kind_name(int kind)
{
	return kind >= 0 && kind < REPORT_KINDS ? kinds[kind] : "?";
}

const char *report_state_name(int state)
{
	return state >= 0 && state < REPORT_STATES ? states[state] : "?";
}

const char *report_deploy_name(enum report_deploy d)
{
	return d < REPORT_NDEPLOY ? deploys[d] : "?";
}

const char *report_warn_bucket_name(int bucket)
{
	return bucket >= 0 && bucket < REPORT_WARN_BUCKETS ? warn_names[bucket]
							   : "?";
}

int report_warn_bucket(double hours)
{
	int b = 0;

	while (b < REPORT_WARN_BUCKETS - 1 && hours >= warn_bounds[b])
		b++;
	return b;
}

void report_add_entry(struct report *r, time_t at, const char *what)
{
	r->timeline = xrealloc(r->timeline,
			       (r->ntimeline + 1) * sizeof(*r->timeline));
	r->timeline[r->ntimeline].at = at;
	r->timeline[r->ntimeline].what = xstrdup(what);
	r->timeline[r->ntimeline].group = NULL;
	r->timeline[r->ntimeline].count = 0;
	r->timeline[r->ntimeline].unit = NULL;
	r->ntimeline++;
}

void report_add_event(struct report *r, time_t at, const char *what,
		      const char *group, long long count, const char *unit)
{
	report_add_entry(r, at, what);
	r->timeline[r->ntimeline - 1].group = group;
	r->timeline[r->ntimeline - 1].count = count;
	r->timeline[r->ntimeline - 1].unit = unit;
}

static int entry_cmp(const void *a, const void *b)
{
	const struct report_entry *x = a, *y = b;

	return (x->at > y->at) - (x->at < y->at);
}

void report_sort_timeline(struct report *r)
{
	/* Milestones are added first: at equal times they stay first. */
	for (size_t i = 1; i < r->ntimeline; i++) {
		struct report_entry e = r->timeline[i];
		size_t j = i;

		while (j > 0 && entry_cmp(&r->timeline[j - 1], &e) > 0) {
			r->timeline[j] = r->timeline[j - 1];
			j--;
		}
		r->timeline[j] = e;
	}
}

void report_free(struct report *r)
{
	if (r == NULL)
		return;
	free(r->slug);
	free(r->title);
	free(r->reason);
	free(r->organization);
	free(r->revoked_curve);
	free(r->burn);
	free(r->notify_curve);
	for (size_t i = 0; i < r->ntimeline; i++)
		free(r->timeline[i].what);
	free(r->timeline);
	for (int i = 0; i < REPORT_NSTAGES; i++)
		free(r->stages[i].detail);
	for (size_t i = 0; i < r->nserved_on; i++) {
		free(r->served_on[i].target);
		free(r->served_on[i].via);
	}
	free(r->served_on);
	free(r);
}

int report_warn_bound(int i)
{
	return i >= 0 && i < REPORT_WARN_BUCKETS - 1 ? warn_bounds[i] : -1;
}
