/*
 * dashboard - the on-call screen of `certrecall status`: clocks with
 * countdowns, progress bars, each stage's last activity and what to do
 * next, drawn from a gathered struct report.
 *
 * Pure: no database, no clock, no environment; the caller says how wide
 * the screen is and whether it takes colour.  Every line fits the width
 * by construction: columns are sized to the data and text is wrapped at
 * spaces (a word longer than a whole line is the only thing ever split).
 */
#ifndef CERTRECALL_DASHBOARD_H
#define CERTRECALL_DASHBOARD_H

#include <stdbool.h>
#include <stdio.h>

#include "certrecall/core/report.h"

/* Narrowest screen laid out; narrower terminals get this width. */
#define DASHBOARD_MIN_WIDTH 40
/* Widest; wider terminals get this width (long lines are hard to read). */
#define DASHBOARD_MAX_WIDTH 160

/* Clock urgency, which picks its colour. */
enum dashboard_urgency {
	DASHBOARD_CALM,	  /* open, more than 24 h left: no colour */
	DASHBOARD_SOON,	  /* open, due within 24 h: yellow */
	DASHBOARD_URGENT, /* missed, or open and due within 6 h: red */
	DASHBOARD_DONE,	  /* met: green */
};

enum dashboard_urgency dashboard_clock_urgency(const struct deadline_clock *c);

/*
 * Writes the dashboard of r to out in width columns (clamped to
 * DASHBOARD_MIN_WIDTH..DASHBOARD_MAX_WIDTH), with ANSI SGR colours when
 * color is true and none otherwise.  0, or -1 if writing failed.
 */
int dashboard_write(const struct report *r, FILE *out, int width, bool color);

/*
 * A "  label  count" section under a title (the raw counts below the
 * dashboard), labels[i] beside counts[i], the labels' column as wide as
 * the longest label; labels wrap at width like any other text.
 */
int dashboard_write_counts(FILE *out, int width, const char *title,
			   const char *const *labels, const char *const *counts,
			   int n);

#endif
