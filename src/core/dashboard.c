/*
 * dashboard.c - the on-call screen: a struct report laid out for a
 * terminal of a given width, in colour when asked.
 *
 * Layout is computed, never truncated: table columns are as wide as
 * their widest cell, and every sentence is wrapped at spaces under a
 * hanging indent, so no line is longer than the width whatever the data.
 * Colour (ANSI SGR) never counts towards a line's width.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "certrecall/core/classify.h"
#include "certrecall/core/dashboard.h"
#include "certrecall/base/utctime.h"

#define RED "\033[31m"
#define YELLOW "\033[33m"
#define GREEN "\033[32m"
#define BOLD "\033[1m"
#define RESET "\033[0m"

/* What the caller asked for, passed to every helper. */
struct screen {
	FILE *out;
	int width;
	bool color;
};

/* Columns text takes on a terminal: UTF-8 continuation bytes and SGR
 * sequences ("\033[...m") take none. */
static int visible(const char *s, size_t n)
{
	int w = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\033') {
			while (i < n && s[i] != 'm')
				i++;
			continue;
		}
		if (((unsigned char)s[i] & 0xC0) != 0x80)
			w++;
	}
	return w;
}

/* Bytes of s that fill at most cols columns (at least one character). */
static size_t fit(const char *s, size_t n, int cols)
{
	size_t i = 0;
	int w = 0;

	while (i < n) {
		size_t j = i + 1;

		while (j < n && ((unsigned char)s[j] & 0xC0) == 0x80)
			j++;
		if (s[i] != '\033' && w + 1 > cols && i > 0)
			break;
		if (s[i] == '\033') {
			while (j < n && s[j - 1] != 'm')
				j++;
		} else {
			w++;
		}
		i = j;
	}
	return i;
}

static void spaces(FILE *out, int n)
{
	for (int i = 0; i < n; i++)
		fputc(' ', out);
}

/*
 * Length of the unit of text at p that is not broken: a word, with the
 * numbers after it ("not scanned 0", "overdue 2,013") so that a count
 * never starts a line without its label -- unless that is wider than
 * avail columns.
 */
static size_t unit(const char *p, int avail)
{
	size_t n = strcspn(p, " "), m = n;

	while (p[m] == ' ' && p[m + 1] >= '0' && p[m + 1] <= '9')
		m += 1 + strcspn(p + m + 1, " ");
	return m > n && visible(p, m) <= avail ? m : n;
}

/*
 * Writes text after first (on the first line) or rest (on the next
 * ones), breaking lines at spaces so that none is wider than the screen.
 * Only a word wider than a whole line is split.
 */
static void wrap(const struct screen *s, const char *first, const char *rest,
		 const char *text)
{
	int avail = s->width - visible(rest, strlen(rest));
	int col = 0, room = s->width - visible(first, strlen(first));
	const char *p = text;

	if (avail < 1)
		avail = 1;
	fputs(first, s->out);
	for (;;) {
		size_t n;
		int w;

		while (*p == ' ')
			p++;
		if (*p == '\0')
			break;
		n = unit(p, avail);
		w = visible(p, n);
		if (col > 0 && col + 1 + w > room) {
			fputc('\n', s->out);
			fputs(rest, s->out);
			col = 0;
			room = avail;
		}
		if (col > 0) {
			fputc(' ', s->out);
			col++;
		}
		while (w > room - col) {
			/* A word no line can hold: the only split. */
			size_t k = fit(p, n, room - col);

			fwrite(p, 1, k, s->out);
			fputc('\n', s->out);
			fputs(rest, s->out);
			p += k;
			n -= k;
			w = visible(p, n);
			col = 0;
			room = avail;
		}
		fwrite(p, 1, n, s->out);
		col += w;
		p += n;
	}
	if (s->color && strchr(text, '\033'))
		fputs(RESET, s->out);
	fputc('\n', s->out);
}

/* wrap() of a formatted text, whatever its length. */
static void wrapf(const struct screen *s, const char *first, const char *rest,
		  const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void wrapf(const struct screen *s, const char *first, const char *rest,
		  const char *fmt, ...)
{
	va_list ap;
	char *text = NULL;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&text, fmt, ap);
	va_end(ap);
	wrap(s, first, rest, n < 0 ? "?" : text);
	if (n >= 0)
		free(text);
}

/* "  NAME " padded to w columns after the indent (w is at most half the
 * widest screen), into buf of DASHBOARD_MAX_WIDTH + 8 bytes. */
static const char *label(char *buf, int w, const char *name)
{
	int n = snprintf(buf, DASHBOARD_MAX_WIDTH + 8, "  %-*s ", w, name);

	return n < 0 || n >= DASHBOARD_MAX_WIDTH + 8 ? "  " : buf;
}

/* w + 3 spaces (w as for label()). */
static const char *indent(char *buf, int w)
{
	int n = w + 3;

	if (n < 0 || n >= DASHBOARD_MAX_WIDTH + 8)
		return "   ";
	memset(buf, ' ', (size_t)n);
	buf[n] = '\0';
	return buf;
}

enum dashboard_urgency dashboard_clock_urgency(const struct deadline_clock *c)
{
	if (c->state == DEADLINE_MET)
		return DASHBOARD_DONE;
	if (c->state == DEADLINE_MISSED || c->remaining <= 6 * 3600)
		return DASHBOARD_URGENT;
	if (c->remaining <= 24 * 3600)
		return DASHBOARD_SOON;
	return DASHBOARD_CALM;
}

static const char *urgency_color(const struct screen *s,
				 enum dashboard_urgency u)
{
	if (!s->color)
		return NULL;
	switch (u) {
	case DASHBOARD_URGENT:
		return BOLD RED;
	case DASHBOARD_SOON:
		return YELLOW;
	case DASHBOARD_DONE:
		return GREEN;
	case DASHBOARD_CALM:
		break;
	}
	return NULL;
}

/* Text in colour sgr (none if NULL), padded to pad columns. */
static void cell(const struct screen *s, const char *sgr, const char *text,
		 int pad)
{
	if (sgr)
		fputs(sgr, s->out);
	fputs(text, s->out);
	if (sgr)
		fputs(RESET, s->out);
	spaces(s->out, pad - visible(text, strlen(text)));
}

/*
 * CLOCK / DUE / REMAINING / STATE, columns as wide as their data; on a
 * screen too narrow for the four, each clock takes two lines.
 */
static void clocks(const struct screen *s, const struct report *r)
{
	char rem[DEADLINE_MAX_CLOCKS][64];
	int w[4] = { 5, 9, 9, 5 }; /* the headers' widths */

	w[1] = (int)strlen("DUE (UTC)");
	for (int i = 0; i < r->nclocks; i++) {
		const struct deadline_clock *c = &r->clocks[i];
		int l[4] = {
			(int)strlen(c->id),
			(int)strlen(report_fmt_rfc3339(c->due).s),
			(int)strlen(
				report_remaining(c, rem[i], sizeof(rem[i]))),
			(int)strlen(deadline_state_name(c->state)),
		};

		for (int k = 0; k < 4; k++)
			if (l[k] > w[k])
				w[k] = l[k];
	}
	if (w[0] + w[1] + w[2] + w[3] + 6 <= s->width) {
		cell(s, NULL, "CLOCK", w[0] + 2);
		cell(s, NULL, "DUE (UTC)", w[1] + 2);
		cell(s, NULL, "REMAINING", w[2] + 2);
		fputs("STATE\n", s->out);
		for (int i = 0; i < r->nclocks; i++) {
			const struct deadline_clock *c = &r->clocks[i];
			const char *sgr =
				urgency_color(s, dashboard_clock_urgency(c));

			cell(s, NULL, c->id, w[0] + 2);
			cell(s, NULL, report_fmt_rfc3339(c->due).s, w[1] + 2);
			cell(s, sgr, rem[i], w[2] + 2);
			cell(s, sgr, deadline_state_name(c->state), 0);
			fputc('\n', s->out);
		}
		return;
	}
	fputs("CLOCKS\n", s->out);
	for (int i = 0; i < r->nclocks; i++) {
		const struct deadline_clock *c = &r->clocks[i];
		const char *sgr = urgency_color(s, dashboard_clock_urgency(c));
		char first[DASHBOARD_MAX_WIDTH + 8];

		wrapf(s, label(first, 0, c->id), "    ", "%s%s%s",
		      sgr ? sgr : "", deadline_state_name(c->state),
		      sgr ? RESET : "");
		wrapf(s, "    ", "    ", "due %s, %s%s%s",
		      report_fmt_rfc3339(c->due).s, sgr ? sgr : "", rem[i],
		      sgr ? RESET : "");
	}
}

/* "LABEL  [#######.......]  52.3%": the label column is 14 wide. */
static void bar(const struct screen *s, const char *label, long long done,
		long long total)
{
	int bw = s->width - 14 - 9, fill;

	if (bw > 50)
		bw = 50;
	fill = total > 0 ? (int)((double)bw * (double)done / (double)total) : 0;
	if (fill > bw)
		fill = bw;
	cell(s, NULL, label, 14);
	fputc('[', s->out);
	for (int i = 0; i < bw; i++)
		fputc(i < fill ? '#' : '.', s->out);
	fprintf(s->out, "] %5.1f%%\n", report_pct(done, total));
}

#define INDENT "              " /* under the bars, 14 columns */

/*
 * Scan coverage in the words every output uses: "0 of 32 names
 * answered; 32 failed (dns-error 31, timeout 1), 0 not yet tried".
 * Answers only (scan_target.outcome): refused and nxdomain are answers.
 */
static void coverage(const struct screen *s, const struct report *r)
{
	char sentence[REPORT_COVERAGE_MAX];
	bool hl = s->color && r->scan_failed > 0;

	report_coverage(r, "names", hl ? YELLOW : "", hl ? RESET : "", sentence,
			sizeof(sentence));
	wrapf(s, INDENT, INDENT, "%s (latest %s)", sentence,
	      report_fmt_time(r->latest_scan_at).s);
}

/* Still-served targets listed on the screen; the rest are counted. */
#define STILL_SERVED_SHOWN 5

/*
 * The targets still serving an affected certificate in the report's
 * words (issue 19): "*.x:443 (probed via a.x, www.x): affected
 * certificate served on 1 of 1 address; 1 probed name had no address".
 */
static void still_served(const struct screen *s, const struct report *r)
{
	char sentence[REPORT_SERVED_MAX];
	size_t i;

	if (r->nserved_on > 0)
		wrap(s, INDENT, INDENT, "still served (latest round):");
	for (i = 0; i < r->nserved_on && i < STILL_SERVED_SHOWN; i++) {
		const struct report_served *t = &r->served_on[i];

		wrapf(s, INDENT "- ", INDENT "  ", "%s%s%s%s: %s", t->target,
		      t->via ? " (probed via " : "", t->via ? t->via : "",
		      t->via ? ")" : "",
		      report_served_sentence(t, sentence, sizeof(sentence)));
	}
	if (r->nserved_on_all > (long long)i)
		wrapf(s, INDENT "  ", INDENT "  ",
		      "and %s more (certrecall report %s)",
		      report_fmt_num(r->nserved_on_all - (long long)i).s,
		      r->slug);
}

static void progress(const struct screen *s, const struct report *r)
{
	long long rev = r->by_verdict[DEADLINE_REVOKED_ON_TIME] +
			r->by_verdict[DEADLINE_REVOKED_LATE];
	long long overdue = r->by_verdict[DEADLINE_OVERDUE];
	long long told = r->addresses_notified;
	long long addressed = r->addresses_notified + r->addresses_unnotified;

	bar(s, "REVOCATION", rev + r->by_verdict[DEADLINE_EXPIRED],
	    r->certificates);
	/* The report's verdicts, in the report's order and words. */
	wrapf(s, INDENT, INDENT,
	      "%s of %s done: revoked on time %s, revoked late %s, "
	      "expired %s; pending %s, %soverdue %s%s",
	      report_fmt_num(rev + r->by_verdict[DEADLINE_EXPIRED]).s,
	      report_fmt_num(r->certificates).s,
	      report_fmt_num(r->by_verdict[DEADLINE_REVOKED_ON_TIME]).s,
	      report_fmt_num(r->by_verdict[DEADLINE_REVOKED_LATE]).s,
	      report_fmt_num(r->by_verdict[DEADLINE_EXPIRED]).s,
	      report_fmt_num(r->by_verdict[DEADLINE_PENDING]).s,
	      s->color && overdue > 0 ? BOLD RED : "",
	      report_fmt_num(overdue).s, s->color && overdue > 0 ? RESET : "");

	bar(s, "DEPLOYMENT", r->scan_answered, r->scan_targets);
	if (r->scanned_targets == 0) {
		wrap(s, INDENT, INDENT, "not scanned yet");
	} else {
		coverage(s, r);
		wrapf(s, INDENT, INDENT,
		      "still to revoke: deployed %s, replaced %s, "
		      "unknown %s, not scanned %s",
		      report_fmt_num(r->deploy_unrevoked[REPORT_DEPLOYED]).s,
		      report_fmt_num(r->deploy_unrevoked[REPORT_REPLACED]).s,
		      report_fmt_num(r->deploy_unrevoked[REPORT_UNKNOWN]).s,
		      report_fmt_num(r->deploy_unrevoked[REPORT_NOT_SCANNED])
			      .s);
		still_served(s, r);
	}

	bar(s, "NOTIFICATION", told, addressed);
	if (addressed + r->no_address_accounts == 0) {
		wrap(s, INDENT, INDENT, "no notice planned yet");
	} else {
		wrapf(s, INDENT, INDENT,
		      "%s of %s addresses told; failed %s, retrying %s; "
		      "%s accounts without address",
		      report_fmt_num(told).s, report_fmt_num(addressed).s,
		      report_fmt_num(report_notices_in(r, 4)).s,
		      report_fmt_num(report_notices_in(r, 3)).s,
		      report_fmt_num(r->no_address_accounts).s);
	}
}

static void activity(const struct screen *s, const struct report *r)
{
	char first[DASHBOARD_MAX_WIDTH + 8], rest[DASHBOARD_MAX_WIDTH + 8];
	int nw = 0;

	for (int i = 0; i < REPORT_NSTAGES; i++) {
		int l = r->stages[i].name ? (int)strlen(r->stages[i].name) : 1;

		if (l > nw)
			nw = l;
	}
	if (nw > 20)
		nw = 20;
	indent(rest, nw);
	fputs("\nLAST ACTIVITY\n", s->out);
	for (int i = 0; i < REPORT_NSTAGES; i++) {
		const struct report_stage *st = &r->stages[i];

		label(first, nw, st->name ? st->name : "?");
		if (st->at == DEADLINE_UNSET) {
			wrap(s, first, rest, "never");
			continue;
		}
		wrapf(s, first, rest, "%s (%s ago)", report_fmt_time(st->at).s,
		      report_fmt_span(r->at - st->at).s);
		if (st->detail)
			wrap(s, rest, rest, st->detail);
	}
}

int dashboard_write(const struct report *r, FILE *out, int width, bool color)
{
	struct screen s = { out, width, color };
	char steps[12][200];
	int nsteps;

	if (s.width < DASHBOARD_MIN_WIDTH)
		s.width = DASHBOARD_MIN_WIDTH;
	if (s.width > DASHBOARD_MAX_WIDTH)
		s.width = DASHBOARD_MAX_WIDTH;
	wrapf(&s, "incident  ", "          ", "%s: %s", r->slug, r->title);
	wrap(&s, "rule      ", "          ", r->rule.citation);
	wrap(&s, "as of     ", "          ", report_fmt_rfc3339(r->at).s);
	fputc('\n', out);
	clocks(&s, r);
	fputc('\n', out);
	progress(&s, r);
	activity(&s, r);
	fputs("\nNEXT\n", out);
	nsteps = report_next_steps(r, steps, 12);
	for (int i = 0; i < nsteps; i++)
		wrap(&s, "  * ", "    ", steps[i]);
	return ferror(out) ? -1 : 0;
}

int dashboard_write_counts(FILE *out, int width, const char *title,
			   const char *const *labels, const char *const *counts,
			   int n)
{
	struct screen s = { out, width, false };
	char first[DASHBOARD_MAX_WIDTH + 8], rest[DASHBOARD_MAX_WIDTH / 2 + 8];
	int lw = 0;

	if (s.width < DASHBOARD_MIN_WIDTH)
		s.width = DASHBOARD_MIN_WIDTH;
	if (s.width > DASHBOARD_MAX_WIDTH)
		s.width = DASHBOARD_MAX_WIDTH;
	for (int i = 0; i < n; i++)
		if ((int)strlen(labels[i]) > lw)
			lw = (int)strlen(labels[i]);
	if (lw > s.width / 2)
		lw = s.width / 2;
	indent(rest, lw);
	fprintf(out, "\n%s\n", title);
	if (n == 0)
		fputs("  (none yet)\n", out);
	for (int i = 0; i < n; i++) {
		int l = (int)strlen(labels[i]);

		if (l <= lw) {
			wrap(&s, label(first, lw, labels[i]), rest, counts[i]);
		} else {
			wrap(&s, "  ", "    ", labels[i]);
			wrap(&s, rest, rest, counts[i]);
		}
	}
	return ferror(out) ? -1 : 0;
}
