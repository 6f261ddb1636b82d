/*
 * report_html.c - a gathered report as one self-contained HTML page:
 * inline CSS and SVG charts (burn-down, deployment, warning time,
 * notification progress), no script, no external request.  The sections
 * are the Markdown report's (report_md.c).  Pure (report_render.c).
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "certrecall/core/report.h"
#include "certrecall/base/utctime.h"

/* Tables fit 1280 px; a time or a count never breaks inside. */
static const char css[] =
	"body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;"
	"color:#1b1f24;max-width:72rem;margin:2rem auto;padding:0 1rem}"
	"h1{font-size:1.6rem;margin-bottom:.2rem}h2{border-bottom:1px solid "
	"#ccd;padding-bottom:.2rem;margin-top:2rem}"
	"table{border-collapse:collapse;margin:.6rem 0}"
	"th,td{border:1px solid #ccd;padding:.2rem .5rem;text-align:left;"
	"vertical-align:top}"
	"td{white-space:nowrap}td.text{white-space:normal;min-width:20rem}"
	"td.n{text-align:right;"
	"font-variant-numeric:tabular-nums}td.t{font-variant-numeric:"
	"tabular-nums}"
	"th{background:#eef;white-space:nowrap}"
	".blank{background:#fff3c4;font-weight:bold}"
	".lead{font-size:1.15rem}.lead span,.lead "
	"strong{white-space:nowrap}.meta{color:#555}.state-missed{color:#"
	"b00020;"
	"font-weight:bold}"
	".state-met{color:#1b7f3b}svg{display:block;margin:.8rem 0;"
	"max-width:100%;height:auto}"
	"ul.timeline{list-style:none;padding:0;font-variant-numeric:"
	"tabular-nums}ul.timeline li{padding:.1rem 0}"
	"ul.timeline time{white-space:nowrap;color:#444}"
	"@page{margin:12mm}"
	"@media print{body{margin:0;max-width:none;font-size:10pt}"
	"table{font-size:8.5pt}"
	"td{white-space:normal}td.n,td.t{white-space:nowrap}"
	"h2,h3{break-after:avoid}svg,table,li{break-inside:avoid}"
	".blank{background:none;border:1px dashed #999}}";

#define HBLANK "<span class=\"blank\">[TO BE WRITTEN]</span>"

static void html_row(FILE *out, const char *label, const char *value)
{
	fputs("<tr><th>", out);
	report_html_text(out, label);
	fputs("</th><td class=\"n\">", out);
	report_html_text(out, value);
	fputs("</td></tr>\n", out);
}

/* A time tick's label: the date at midnight, else "06:00". */
static const char *tick_label(time_t t, char *buf, size_t len)
{
	char full[UTCTIME_BUFSZ];

	int n;

	if (utctime_format_rfc3339(t, full, sizeof(full)) < 0)
		return "";
	if (t % 86400 == 0)
		n = snprintf(buf, len, "%.10s", full);
	else
		n = snprintf(buf, len, "%.5s", full + 11);
	return n < 0 || (size_t)n >= len ? "" : buf;
}

/* "2020-03-05 03:08Z" in a chart label (shorter than report_fmt_time),
 * or "-". */
static struct report_text chart_time(time_t t)
{
	struct report_text x;
	char full[UTCTIME_BUFSZ];
	int n = -1;

	if (utctime_format_rfc3339(t, full, sizeof(full)) == 0)
		n = snprintf(x.s, sizeof(x.s), "%.10s %.5sZ", full, full + 11);
	if (n < 0 || (size_t)n >= sizeof(x.s))
		memcpy(x.s, "-", 2);
	return x;
}

/*
 * Chart 1: the burn-down.  Certificates still to revoke from aware_at to
 * `at` (never past it: what happens after is unknown), the ideal line
 * from everything at aware_at to zero at MUST-by, the SHOULD-by and
 * MUST-by lines with the count still to revoke at each (when known) and
 * the "as of" line.  Labels carry data-value attributes so a test can
 * compare them with `deadlines`.
 */
/* A chart's plot area over time: from t0 to t1 left to right, 0 to
 * ymax bottom to top. */
struct frame {
	double W, H, L, R, TOP, B;
	time_t t0, t1;
	long long ymax, ystep;
};

static double fx(const struct frame *f, time_t t)
{
	return f->L + (f->W - f->L - f->R) * (double)(t - f->t0) /
			      (double)(f->t1 - f->t0);
}

static double fy(const struct frame *f, long long v)
{
	return f->H - f->B -
	       (f->H - f->TOP - f->B) * (double)v / (double)f->ymax;
}

/*
 * The frame of a time chart over [t0, t1] (t1 never past what the
 * deadlines and `at` need) for counts up to top: nice-number ticks on
 * both axes, the grid, the axis titles; then the open <svg> for the
 * caller to draw in.
 */
static void svg_time_frame(FILE *out, struct frame *f, const char *id,
			   const char *title, const char *ytitle, time_t t0,
			   time_t t1, long long top)
{
	char lab[32];
	long long tstep;

	f->t0 = t0;
	f->t1 = t1 > t0 ? t1 : t0 + 3600;
	f->ymax = report_nice_ceiling(top, 5);
	f->ystep = report_nice_step(top, 5);
	tstep = report_time_step((long long)(f->t1 - f->t0), 8);
	fprintf(out,
		"<svg id=\"%s\" role=\"img\" "
		"xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %.0f "
		"%.0f\" width=\"%.0f\" height=\"%.0f\" font-size=\"12\" "
		"data-from=\"%s\" data-to=\"%s\">\n"
		"<title>%s</title>\n"
		"<rect x=\"0\" y=\"0\" width=\"%.0f\" height=\"%.0f\" "
		"fill=\"#fff\"/>\n",
		id, f->W, f->H, f->W, f->H, report_fmt_rfc3339(f->t0).s,
		report_fmt_rfc3339(f->t1).s, title, f->W, f->H);
	for (long long v = 0; v <= f->ymax; v += f->ystep)
		fprintf(out,
			"<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
			"stroke=\"%s\"/><text class=\"ytick\" x=\"%.1f\" "
			"y=\"%.1f\" text-anchor=\"end\">%s</text>\n",
			f->L, fy(f, v), f->W - f->R, fy(f, v),
			v ? "#e4e6eb" : "#333", f->L - 5, fy(f, v) + 4,
			report_fmt_num(v).s);
	/* Time ticks on whole steps of UTC. */
	for (time_t t = f->t0 + (tstep - f->t0 % tstep) % tstep; t <= f->t1;
	     t += tstep)
		fprintf(out,
			"<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
			"stroke=\"#333\"/><text class=\"xtick\" x=\"%.1f\" "
			"y=\"%.1f\" text-anchor=\"middle\">%s</text>\n",
			fx(f, t), f->H - f->B, fx(f, t), f->H - f->B + 4,
			fx(f, t), f->H - f->B + 17,
			tick_label(t, lab, sizeof(lab)));
	fprintf(out,
		"<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
		"stroke=\"#333\"/>\n"
		"<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">time "
		"(UTC) from aware %s</text>\n"
		"<text x=\"%.1f\" y=\"16\" font-weight=\"bold\">%s</text>\n",
		f->L, f->TOP, f->L, f->H - f->B, (f->L + f->W - f->R) / 2,
		f->H - 12, chart_time(f->t0).s, f->L - 60, ytitle);
}

/* The burn-down's labelled values: a dot and the count still to revoke
 * at SHOULD-by, MUST-by and `at`, each when it is known. */
static void svg_burndown_points(const struct report *r, FILE *out,
				const struct frame *f)
{
	const double W = f->W;
	time_t t0 = r->dates.aware_at;
#define X(t) fx(f, t)
#define Y(v) fy(f, v)
	const struct {
		const char *id, *what;
		time_t at;
		long long v;
		const char *color;
	} pts[] = {
		{ "burndown-should", "at SHOULD-by", r->should_by,
		  r->should_by != r->must_by ? r->left_should : -1, "#a86a00" },
		{ "burndown-must", "at MUST-by", r->must_by, r->left_must,
		  "#b00020" },
		{ "burndown-at", "as of", r->at,
		  /* Said once when it is MUST-by's value. */
		  r->left_must >= 0 && r->left_at == r->left_must &&
				  X(r->at) - X(r->must_by) < 60
			  ? -1
			  : r->left_at,
		  "#1f5fbf" },
	};

	for (size_t i = 0; i < sizeof(pts) / sizeof(pts[0]); i++) {
		bool right = X(pts[i].at) > W - 200;

		if (pts[i].v < 0 || pts[i].at < t0)
			continue;
		fprintf(out,
			"<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" "
			"fill=\"%s\"/><text id=\"%s\" "
			"data-value=\"%lld\" x=\"%.1f\" y=\"%.1f\" "
			"fill=\"%s\" font-weight=\"bold\" "
			"text-anchor=\"%s\">%s %s</text>\n",
			X(pts[i].at), Y(pts[i].v), pts[i].color, pts[i].id,
			pts[i].v, X(pts[i].at) + (right ? -7 : 7),
			/* Right of the chart the curve comes
			 * from above: the label goes below. */
			right ? Y(pts[i].v) + 20 + 14.0 * (double)i
			      : Y(pts[i].v) - 8,
			pts[i].color, right ? "end" : "start",
			report_fmt_num(pts[i].v).s, pts[i].what);
	}
#undef X
#undef Y
}

static void svg_burndown(const struct report *r, FILE *out)
{
	struct frame fr = {
		.W = 760, .H = 320, .L = 70, .R = 30, .TOP = 44, .B = 50
	};
	const double W = fr.W, H = fr.H, TOP = fr.TOP, B = fr.B;
	time_t t0 = r->dates.aware_at;

	svg_time_frame(out, &fr, "chart-burndown",
		       "Certificates still to revoke over time, against "
		       "SHOULD-by and MUST-by",
		       "certificates still to revoke", t0,
		       r->must_by > r->at ? r->must_by : r->at, r->burn_start);
#define X(t) fx(&fr, t)
#define Y(v) fy(&fr, v)
	if (r->certificates <= 0) {
		fprintf(out,
			"<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" "
			"fill=\"#555\">no certificate imported yet</text>\n"
			"</svg>\n",
			(fr.L + W - fr.R) / 2, (TOP + H - B) / 2);
		return;
	}
	/* Ideal: a straight line to zero at MUST-by. */
	fprintf(out,
		"<line id=\"burndown-ideal\" x1=\"%.1f\" y1=\"%.1f\" "
		"x2=\"%.1f\" y2=\"%.1f\" stroke=\"#8a8f98\" "
		"stroke-dasharray=\"2,3\"/>\n",
		X(t0), Y(r->burn_start), X(r->must_by), Y(0));
	if (r->should_by != r->must_by)
		fprintf(out,
			"<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
			"y2=\"%.1f\" stroke=\"#d98c00\" "
			"stroke-dasharray=\"6,4\"/>\n"
			"<text x=\"%.1f\" y=\"%.1f\" fill=\"#a86a00\" "
			"text-anchor=\"%s\">SHOULD-by %s</text>\n",
			X(r->should_by), TOP, X(r->should_by), H - B,
			X(r->should_by) + 4, TOP - 4,
			X(r->should_by) > W / 2 ? "end" : "start",
			chart_time(r->should_by).s);
	fprintf(out,
		"<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
		"stroke=\"#b00020\" stroke-width=\"2\" "
		"stroke-dasharray=\"6,4\"/>\n"
		"<text x=\"%.1f\" y=\"%.1f\" fill=\"#b00020\" "
		"text-anchor=\"end\" font-weight=\"bold\">MUST-by "
		"%s</text>\n",
		X(r->must_by), TOP, X(r->must_by), H - B, X(r->must_by) - 4,
		TOP + 12, chart_time(r->must_by).s);
	if (r->at != r->must_by && r->at >= t0)
		fprintf(out,
			"<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
			"y2=\"%.1f\" stroke=\"#1f5fbf\"/>\n"
			"<text x=\"%.1f\" y=\"%.1f\" fill=\"#1f5fbf\" "
			"text-anchor=\"%s\">as of %s</text>\n",
			X(r->at), TOP, X(r->at), H - B,
			X(r->at) + (X(r->at) > W - 160 ? -4 : 4), TOP + 26,
			X(r->at) > W - 160 ? "end" : "start",
			chart_time(r->at).s);
	/* The actual line: a step at each bucket's end (none for a moment
	 * before the clock started). */
	if (r->at > t0)
		fprintf(out,
			"<polyline fill=\"none\" stroke=\"#1f5fbf\" "
			"stroke-width=\"2.5\" points=\"%.1f,%.1f",
			X(t0), Y(r->burn_start));
	for (size_t i = 0; r->at > t0 && i < r->nburn; i++)
		fprintf(out, " %.1f,%.1f %.1f,%.1f", X(r->burn[i].at),
			Y(r->burn_start - (i ? r->burn[i - 1].cumulative : 0)),
			X(r->burn[i].at),
			Y(r->burn_start - r->burn[i].cumulative));
	if (r->at > t0)
		fprintf(out, " %.1f,%.1f\"/>\n", X(r->at), Y(r->left_at));
	svg_burndown_points(r, out, &fr);
	fputs("</svg>\n", out);
#undef X
#undef Y
}

/*
 * Chart 2: deployment of every certificate of the incident in one bar:
 * the ones still to revoke by what the scans saw, then the revoked or
 * expired; the legend gives the same counts as report_table_deployment().
 */
static const char *const deploy_colors[REPORT_NDEPLOY + 1] = {
	"#b00020", "#1b7f3b", "#d98c00", "#8a8f98", "#c9d3e6"
};

static void svg_deployment(const struct report *r, FILE *out)
{
	const double W = 760, H = 120, L = 20, R = 20;
	double x = L;

	fprintf(out,
		"<svg id=\"chart-deployment\" role=\"img\" "
		"xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %.0f "
		"%.0f\" width=\"%.0f\" height=\"%.0f\" font-size=\"12\">\n"
		"<title>Every certificate of the incident: still to revoke "
		"by deployment, and revoked or expired</title>\n"
		"<rect x=\"0\" y=\"0\" width=\"%.0f\" height=\"%.0f\" "
		"fill=\"#fff\"/>\n",
		W, H, W, H, W, H);
	if (r->certificates <= 0) {
		fprintf(out,
			"<text x=\"%.1f\" y=\"40\" text-anchor=\"middle\" "
			"fill=\"#555\">no certificate imported</text>\n"
			"</svg>\n",
			W / 2);
		return;
	}
	for (int d = 0; d <= REPORT_NDEPLOY; d++) {
		double w = (W - L - R) * (double)report_deploy_bar(r, d) /
			   (double)r->certificates;

		if (w > 0)
			fprintf(out,
				"<rect x=\"%.1f\" y=\"10\" width=\"%.1f\" "
				"height=\"36\" fill=\"%s\"/>\n",
				x, w, deploy_colors[d]);
		x += w;
	}
	fprintf(out,
		"<text x=\"%.1f\" y=\"62\" fill=\"#555\">all %s certificates; "
		"the first four still to revoke, by their names' latest "
		"scan</text>\n",
		L, report_fmt_num(r->certificates).s);
	for (int d = 0; d <= REPORT_NDEPLOY; d++) {
		double lx = L + (d % 3) * 245.0, ly = 84 + (d / 3) * 20.0;

		fprintf(out,
			"<rect x=\"%.1f\" y=\"%.1f\" width=\"12\" "
			"height=\"12\" fill=\"%s\"/><text class=\"legend\" "
			"data-deploy=\"%s\" data-value=\"%lld\" x=\"%.1f\" "
			"y=\"%.1f\">%s %s (%.1f%%)</text>\n",
			lx, ly - 10, deploy_colors[d],
			report_deploy_bar_name(d), report_deploy_bar(r, d),
			lx + 16, ly, report_deploy_bar_name(d),
			report_fmt_num(report_deploy_bar(r, d)).s,
			report_pct(report_deploy_bar(r, d), r->certificates));
	}
	fputs("</svg>\n", out);
}

/* Chart 4: notification progress over time. */
static void svg_notify(const struct report *r, FILE *out)
{
	struct frame fr = {
		.W = 760, .H = 260, .L = 70, .R = 150, .TOP = 30, .B = 50
	};
	const struct report_notify_point *last =
		r->nnotify ? &r->notify_curve[r->nnotify - 1] : NULL;
	long long top = 0;
	time_t t0 = r->dates.aware_at;
	static const struct {
		const char *name, *color;
	} lines[] = { { "sent", "#1b7f3b" },
		      { "failed", "#b00020" },
		      { "no address", "#8a8f98" } };

	for (int k = 0; k < REPORT_KINDS; k++)
		for (int st = 0; st < REPORT_STATES; st++)
			top += r->notices[k][st];
	svg_time_frame(out, &fr, "chart-notify",
		       "Notices sent, failed and without an address over time",
		       "notices (cumulative)", t0,
		       r->must_by > r->at ? r->must_by : r->at, top);
	if (last == NULL)
		fprintf(out,
			"<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" "
			"fill=\"#555\">no notice sent yet</text>\n",
			(fr.L + fr.W - fr.R) / 2, (fr.TOP + fr.H - fr.B) / 2);
	for (int l = 0; last && l < 3; l++) {
		long long prev = 0, end;

		fprintf(out,
			"<polyline fill=\"none\" stroke=\"%s\" "
			"stroke-width=\"2\" points=\"%.1f,%.1f",
			lines[l].color, fx(&fr, t0), fy(&fr, 0));
		for (size_t i = 0; i < r->nnotify; i++) {
			const struct report_notify_point *q =
				&r->notify_curve[i];
			long long v = l == 0   ? q->sent
				      : l == 1 ? q->failed
					       : q->no_address;
			time_t at = q->at < t0 ? t0 : q->at;

			fprintf(out, " %.1f,%.1f %.1f,%.1f", fx(&fr, at),
				fy(&fr, prev), fx(&fr, at), fy(&fr, v));
			prev = v;
		}
		end = prev;
		fprintf(out,
			" %.1f,%.1f\"/>\n<text class=\"legend\" "
			"data-notify=\"%s\" data-value=\"%lld\" x=\"%.1f\" "
			"y=\"%.1f\" fill=\"%s\">%s %s</text>\n",
			fx(&fr, r->at), fy(&fr, end), lines[l].name, end,
			fr.W - fr.R + 8, fr.TOP + 14 + 18.0 * l, lines[l].color,
			report_fmt_num(end).s, lines[l].name);
	}
	fputs("</svg>\n", out);
}

/* Chart 3: histogram of warning time. */
static void svg_warning(const struct report *r, FILE *out)
{
	const double W = 760, H = 260, L = 50, R = 20, TOP = 40, B = 50;
	double bw = (W - L - R) / REPORT_WARN_BUCKETS;
	long long ymax = 1;

	for (int b = 0; b < REPORT_WARN_BUCKETS; b++)
		if (r->warn_hist[b] > ymax)
			ymax = r->warn_hist[b];
	fprintf(out,
		"<svg id=\"chart-warning\" role=\"img\" "
		"xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %.0f "
		"%.0f\" width=\"%.0f\" height=\"%.0f\">\n"
		"<title>Warning time: hours from first notice to "
		"revocation or MUST-by</title>\n"
		"<rect x=\"0\" y=\"0\" width=\"%.0f\" height=\"%.0f\" "
		"fill=\"#fff\"/>\n"
		"<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
		"stroke=\"#333\"/>\n",
		W, H, W, H, W, H, L, H - B, W - R, H - B);
	if (r->addresses_notified == 0)
		fprintf(out,
			"<text x=\"%.1f\" y=\"%.1f\" font-size=\"13\" "
			"text-anchor=\"middle\" fill=\"#555\">no notice sent "
			"yet</text>\n",
			W / 2, (TOP + H - B) / 2);
	for (int b = 0; b < REPORT_WARN_BUCKETS; b++) {
		double h =
			(H - TOP - B) * (double)r->warn_hist[b] / (double)ymax;
		double x = L + b * bw;

		/* The count inside a tall bar (white, left of the median
		 * line through its middle), else above it. */
		if (r->warn_hist[b] > 0)
			fprintf(out,
				"<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
				"height=\"%.1f\" fill=\"%s\"/>\n"
				"<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" "
				"fill=\"%s\" text-anchor=\"%s\">%s</text>\n",
				x + 4, H - B - h, bw - 8, h,
				b == 0 ? "#b00020" : "#1f5fbf",
				h > 24 ? x + 8 : x + bw / 2,
				h > 24 ? H - B - h + 16 : H - B - h - 4,
				h > 24 ? "#fff" : "#1b1f24",
				h > 24 ? "start" : "middle",
				report_fmt_num(r->warn_hist[b]).s);
		fprintf(out,
			"<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" "
			"text-anchor=\"middle\">%s</text>\n",
			x + bw / 2, H - B + 15, report_warn_bucket_name(b));
	}
	if (r->addresses_notified > 0) {
		/* The median, inside its bucket by linear position. */
		int b = report_warn_bucket(r->warn_median_h);
		double x = L + b * bw + bw / 2;

		fprintf(out,
			"<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
			"y2=\"%.1f\" stroke=\"#1b1f24\" stroke-width=\"2\" "
			"stroke-dasharray=\"4,3\"/><text id=\"warning-median\" "
			"data-value=\"%.1f\" x=\"%.1f\" y=\"%.1f\" "
			"font-size=\"12\" font-weight=\"bold\" "
			"text-anchor=\"%s\">median %.1f h</text>\n",
			x, TOP - 22, x, H - B, r->warn_median_h,
			x + (b > REPORT_WARN_BUCKETS / 2 ? -5 : 5), TOP - 24,
			b > REPORT_WARN_BUCKETS / 2 ? "end" : "start",
			r->warn_median_h);
	}
	fprintf(out,
		"<text x=\"%.1f\" y=\"%.1f\" font-size=\"12\" "
		"text-anchor=\"middle\">addresses by hours between their "
		"first notice and the first revocation of their "
		"certificates (or MUST-by)</text>\n</svg>\n",
		(L + W - R) / 2, H - 12);
}

/* The head, the lead sentence, Summary and Clocks. */
static void html_summary(const struct report *r, FILE *out)
{
	fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
	      "<meta charset=\"utf-8\">\n"
	      "<meta name=\"viewport\" content=\"width=device-width\">\n"
	      "<title>Incident report: ",
	      out);
	report_html_text(out, r->title);
	fprintf(out, "</title>\n<style>%s</style>\n</head>\n<body>\n<h1>", css);
	report_html_text(out, r->title);
	fputs("</h1>\n<p class=\"meta\">Incident <code>", out);
	report_html_text(out, r->slug);
	fprintf(out,
		"</code>, as of %s. Generated by certrecall from the incident "
		"database; every figure is computed. Fields marked " HBLANK
		" are for people to write.</p>\n",
		report_fmt_rfc3339(r->at).s);

	/* The answer first: how many are left and how the deadline
	 * stands. */
	if (r->certificates > 0) {
		char rem[64] = "";
		const char *state = "open";

		for (int i = 0; i < r->nclocks; i++)
			if (strcmp(r->clocks[i].id, "revoke-must") == 0) {
				report_remaining(&r->clocks[i], rem,
						 sizeof(rem));
				state = deadline_state_name(r->clocks[i].state);
			}
		fprintf(out,
			"<p class=\"lead\"><strong>%s of %s certificates "
			"still to revoke</strong> as of <span>%s</span>; "
			"MUST-by <span>%s</span>: "
			"<strong class=\"state-%s\">%s</strong>.</p>\n",
			report_fmt_num(r->left_at).s,
			report_fmt_num(r->certificates).s, chart_time(r->at).s,
			chart_time(r->must_by).s, state, rem[0] ? rem : "-");
	}
	if (r->rehearsal_events > 0)
		fprintf(out,
			"<p class=\"meta\"><strong>Rehearsal or "
			"replay:</strong> "
			"%s events of this incident were recorded under the "
			"rehearsal clock (CERTRECALL_CLOCK); their real times "
			"are in the audit trail.</p>\n",
			report_fmt_num(r->rehearsal_events).s);
	fputs("<h2>Summary</h2>\n<table>\n<tr><th>CA Owner</th><td>", out);
	if (r->organization[0])
		report_html_text(out, r->organization);
	else
		fputs(HBLANK, out);
	fputs("</td></tr>\n<tr><th>Incident description</th><td>" HBLANK
	      "</td></tr>\n<tr><th>Relevant policies</th><td class=\"text\">",
	      out);
	report_html_text(out, r->rule.citation);
	fputs(": &ldquo;", out);
	report_html_text(out, r->rule.text);
	fprintf(out, "&rdquo; (%s%s%s; reason <code>",
		deadline_window_words(r->rule.item->window),
		r->rule.crlreason_name ? ", CRLReason " : "",
		r->rule.crlreason_name ? r->rule.crlreason_name : "");
	report_html_text(out, r->reason);
	fprintf(out,
		"</code>)</td></tr>\n<tr><th>Source of incident "
		"disclosure</th><td>" HBLANK
		" (Self Reported / Third Party Reported / Audit)</td></tr>\n"
		"<tr><th>Aware (clock start)</th><td>%s</td></tr>\n"
		"<tr><th>SHOULD-by</th><td>%s</td></tr>\n"
		"<tr><th>MUST-by</th><td>%s</td></tr>\n</table>\n",
		report_fmt_rfc3339(r->dates.aware_at).s,
		report_fmt_rfc3339(r->should_by).s,
		report_fmt_rfc3339(r->must_by).s);
	fputs("<h3>Clocks</h3>\n", out);
	report_table_clocks(r, out, true);
}

/* Impact: the figures, by verdict (with the burn-down), by deployment. */
static void html_impact(const struct report *r, FILE *out)
{
	char cov[REPORT_COVERAGE_MAX], served[REPORT_SERVED_MAX];

	fputs("<h2>Impact</h2>\n<table>\n", out);
	html_row(out, "Total number of certificates",
		 report_fmt_num(r->certificates).s);
	html_row(out, "Precertificates among them",
		 report_fmt_num(r->precertificates).s);
	html_row(out, "Remaining valid (neither revoked nor expired)",
		 report_fmt_num(r->still_valid).s);
	html_row(out, "Accounts", report_fmt_num(r->accounts).s);
	html_row(out, "Contact addresses", report_fmt_num(r->addresses).s);
	html_row(out, "Distinct names", report_fmt_num(r->names).s);
	fputs("<tr><th>Affected certificate types</th><td>" HBLANK
	      "</td></tr>\n<tr><th>Incident heuristic</th><td>" HBLANK
	      "</td></tr>\n<tr><th>Was issuance stopped?</th><td>" HBLANK
	      "</td></tr>\n<tr><th>Analysis</th><td>" HBLANK
	      "</td></tr>\n</table>\n",
	      out);
	if (r->certificates == 0)
		fputs("<p>No certificates have been imported for this "
		      "incident yet.</p>\n",
		      out);
	fprintf(out, "<h3>By revocation verdict (MUST-by %s)</h3>\n",
		report_fmt_time(r->must_by).s);
	report_table_verdicts(r, out, true);
	svg_burndown(r, out);

	fputs("<h3>By deployment</h3>\n", out);
	if (r->scanned_targets == 0)
		fputs("<p>No scan has run yet: whether these certificates are "
		      "still served is unknown.</p>\n",
		      out);
	else
		fprintf(out, "<p>Latest scan %s; %s.</p>\n",
			report_fmt_time(r->latest_scan_at).s,
			report_coverage(r, "probeable names", "", "", cov,
					sizeof(cov)));
	report_table_deployment(r, out, true);
	svg_deployment(r, out);
	/* issue 19: every address of a name is probed; say how many
	 * served the affected certificate. */
	for (size_t i = 0; i < r->nserved_on; i++) {
		if (i == 0)
			fputs("<p>Still served (latest round):</p>\n<ul>\n",
			      out);
		fputs("<li><code>", out);
		report_html_text(out, r->served_on[i].target);
		fputs("</code>", out);
		if (r->served_on[i].via) {
			fputs(" (probed via ", out);
			report_html_text(out, r->served_on[i].via);
			fputs(")", out);
		}
		fprintf(out, ": %s</li>\n",
			report_served_sentence(&r->served_on[i], served,
					       sizeof(served)));
		if (i + 1 == r->nserved_on)
			fputs("</ul>\n", out);
	}
}

/* Subscribers not reached, by reason (issue 21): a table row. */
static void html_unreached_row(const struct report *r, FILE *out)
{
	const long long *u = r->unreached;
	/* five numbers and 70 bytes of words: always fits */
	char text[5 * sizeof(struct report_text) + 80];
	int n;

	if (u[REPORT_UNREACHED_REASONS] < 0)
		return;
	n = snprintf(text, sizeof(text),
		     "%s (bounced %s, unreachable %s, refused by the relay "
		     "%s, no address %s)",
		     report_fmt_num(u[REPORT_UNREACHED_REASONS]).s,
		     report_fmt_num(u[0]).s, report_fmt_num(u[1]).s,
		     report_fmt_num(u[2]).s, report_fmt_num(u[3]).s);
	html_row(out, "Certificates whose subscriber was not reached",
		 n < 0 || (size_t)n >= sizeof(text) ? "?" : text);
}

/* ... and the command that lists them. */
static void html_unreached_list(const struct report *r, FILE *out)
{
	if (r->unreached[REPORT_UNREACHED_REASONS] < 0)
		return;
	fputs("<p>The subscribers not reached are listed (certificate, "
	      "address, reason, status, diagnostic: ",
	      out);
	report_html_text(out, report_fmt_num(r->unreached_rows).s);
	fputs(" rows) for the CCADB appendix by <code>certrecall report ", out);
	report_html_text(out, r->slug);
	fputs(" --format unreached</code>.</p>\n", out);
}

static void html_notification(const struct report *r, FILE *out)
{

	fputs("<h3>Subscriber notification</h3>\n", out);
	report_table_notices(r, out, true);
	fputs("<table>\n", out);
	html_row(out, "Addresses told",
		 report_fmt_num(r->addresses_notified).s);
	html_row(out, "Addresses not told yet",
		 report_fmt_num(r->addresses_unnotified).s);
	html_row(out, "Accounts without any contact address",
		 report_fmt_num(r->no_address_accounts).s);
	{
		/* four numbers and at most 60 bytes of words: always fits */
		char reach[4 * sizeof(struct report_text) + 64];
		int n = snprintf(
			reach, sizeof(reach),
			"told %s, bounced %s, unreachable %s, no address %s",
			report_fmt_num(r->reach[0]).s,
			report_fmt_num(r->reach[1]).s,
			report_fmt_num(r->reach[2]).s,
			report_fmt_num(r->reach[3]).s);

		html_row(out, "Reach (after bounces)",
			 n < 0 || (size_t)n >= sizeof(reach) ? "?" : reach);
		/* The relay's acceptance is not delivery: a DSN confirms. */
		n = snprintf(reach, sizeof(reach),
			     "delivered %s (confirmed by a DSN), accepted by "
			     "a relay only %s",
			     report_fmt_num(r->reach[4]).s,
			     report_fmt_num(r->reach[0] - r->reach[4]).s);
		html_row(out, "Of the told",
			 n < 0 || (size_t)n >= sizeof(reach) ? "?" : reach);
	}
	html_unreached_row(r, out);
	html_row(out, "First notice sent", report_fmt_time(r->first_sent_at).s);
	html_row(out, "Last notice sent", report_fmt_time(r->last_sent_at).s);
	fputs("</table>\n", out);
	html_unreached_list(r, out);
	if (r->addresses_notified > 0)
		fprintf(out,
			"<p><strong>Warning time</strong> (hours from an "
			"address's first notice to its first revocation, or "
			"MUST-by): minimum %.1f, "
			"median %.1f, maximum %.1f.</p>\n",
			r->warn_min_h, r->warn_median_h, r->warn_max_h);
	svg_notify(r, out);
	svg_warning(r, out);
}

/* Timeline, the delayed revocation and conflicting evidence. */
static void html_timeline(const struct report *r, FILE *out)
{
	fputs("<h2>Timeline</h2>\n<p>All times UTC.", out);
	if (r->omitted_events > 0) {
		fprintf(out,
			" <strong>Not complete:</strong> of %s audit-trail "
			"events, %s from %s to %s are left out here (the first "
			"and the last %s are shown); <code>certrecall report ",
			report_fmt_num(r->events).s,
			report_fmt_num(r->omitted_events).s,
			report_fmt_time(r->omitted_from).s,
			report_fmt_time(r->omitted_to).s,
			report_fmt_num(REPORT_TIMELINE_EVENTS / 2).s);
		report_html_text(out, r->slug);
		fputs(" --format events</code> lists every one.", out);
	}
	fputs("</p>\n", out);
	report_table_timeline(r, out, true);
	if (report_delayed(r)) {
		time_t s = report_due_of(r, "delayed-update-should");
		time_t m = report_due_of(r, "delayed-update-must");

		fprintf(out,
			"<h2>Delayed revocation</h2>\n<p>MUST-by %s has "
			"passed with certificates unrevoked; this is "
			"reportable on its own.</p>\n<table>\n",
			report_fmt_time(r->must_by).s);
		html_row(out, "Revoked", report_fmt_num(report_revoked(r)).s);
		html_row(out, "Not yet revoked",
			 report_fmt_num(r->by_verdict[DEADLINE_OVERDUE]).s);
		html_row(out, "Expired unrevoked",
			 report_fmt_num(r->by_verdict[DEADLINE_EXPIRED]).s);
		if (s != DEADLINE_UNSET)
			html_row(out, "Next update SHOULD be posted by",
				 report_fmt_time(s).s);
		if (m != DEADLINE_UNSET)
			html_row(out, "Next update MUST be posted by",
				 report_fmt_time(m).s);
		fputs("<tr><th>Estimated completion date</th><td>" HBLANK
		      "</td></tr>\n</table>\n",
		      out);
	}
	if (r->conflicts > 0)
		fprintf(out,
			"<p><strong>Conflicting revocation evidence:</strong> "
			"%s certificates have sources that disagree.</p>\n",
			report_fmt_num(r->conflicts).s);
}

int report_write_html(const struct report *r, FILE *out)
{
	char steps[12][200];
	int nsteps;

	html_summary(r, out);
	html_impact(r, out);
	html_notification(r, out);
	html_timeline(r, out);
	fputs("<h2>Related incidents</h2>\n<p>" HBLANK
	      "</p>\n<h2>Root cause analysis</h2>\n<p>" HBLANK
	      "</p>\n<h2>Lessons learned</h2>\n<ul><li>What went well: " HBLANK
	      "</li><li>What didn't go well: " HBLANK
	      "</li><li>Where we got lucky: " HBLANK
	      "</li></ul>\n<h2>Action items</h2>\n<table>\n<tr><th>Action "
	      "item</th><th>Kind</th><th>Corresponding root cause(s)</th>"
	      "<th>Evaluation criteria</th><th>Due date</th><th>Status</th>"
	      "</tr>\n<tr><td>" HBLANK
	      "</td><td>Prevent / Mitigate / Detect</td><td></td><td></td>"
	      "<td></td><td></td></tr>\n</table>\n<h2>Appendix</h2>\n",
	      out);
	fprintf(out,
		"<p>%s affected certificates, as %s (<code>certrecall "
		"report ",
		report_fmt_num(r->certificates).s,
		r->certificates < 10000 ? "a CSV file"
					: "a list of crt.sh links");
	report_html_text(out, r->slug);
	fputs(" --format ccadb</code>).</p>\n<h3>Next steps</h3>\n<ul>\n", out);
	nsteps = report_next_steps(r, steps, 12);
	for (int i = 0; i < nsteps; i++) {
		fputs("<li>", out);
		report_html_text(out, steps[i]);
		fputs("</li>\n", out);
	}
	fputs("</ul>\n</body>\n</html>\n", out);
	return ferror(out) ? -1 : 0;
}
