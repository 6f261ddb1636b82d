/*
 * progress.c - live bar on a terminal, periodic log lines elsewhere.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "certrecall/base/clock.h"
#include "certrecall/base/log.h"
#include "certrecall/base/progress.h"
#include "certrecall/base/xalloc.h"

#define PROGRESS_TTY_INTERVAL 0.1
#define PROGRESS_LOG_INTERVAL 5.0
#define PROGRESS_BAR_WIDTH 24

struct progress {
	char *label;
	bool bytes;
	char note[96]; /* shown after the label; "" for none */
	uint64_t done;
	uint64_t total;
	double started;
	double last_shown;
	bool tty;
};

static int fmt_eta(char *buf, size_t len, double s)
{
	long long t = (long long)(s + 0.5);
	int n;

	if (t >= 3600)
		n = snprintf(buf, len, "%lldh %02lldm", t / 3600,
			     (t % 3600) / 60);
	else if (t >= 60)
		n = snprintf(buf, len, "%lldm %02llds", t / 60, t % 60);
	else
		n = snprintf(buf, len, "%llds", t);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* Draws "[####....] " for done/total into bar (at least 104 bytes). */
static void draw_bar(char *bar, uint64_t done, uint64_t total, int width)
{
	int w = width < 100 ? width : 100;
	int fill = done >= total ? w : (int)((double)done * w / (double)total);

	bar[0] = '[';
	memset(bar + 1, '#', (size_t)fill);
	memset(bar + 1 + fill, '.', (size_t)(w - fill));
	bar[w + 1] = ']';
	bar[w + 2] = ' ';
	bar[w + 3] = '\0';
}

/*
 * A status line is for the eye: text that does not fit its buffer is cut
 * and ends in "...", so the cut shows.  n is what snprintf returned.
 */
static void mark_cut(char *buf, size_t len, int n)
{
	if (n < 0)
		buf[0] = '\0';
	else if ((size_t)n >= len && len > 3)
		memcpy(buf + len - 4, "...", 4);
}

/* "%.1f" of a double takes at most 312 bytes (DBL_MAX). */
#define DOUBLE_TEXT_MAX 312

/* scale 1: counts; 1e6: megabytes with one decimal. */
static int format(char *buf, size_t len, const char *label, uint64_t done,
		  uint64_t total, double elapsed_s, int bar_width, double scale)
{
	char bar[128] = "";
	char eta[32] = "";
	char amount[2 * DOUBLE_TEXT_MAX + 32]; /* "done/total unit pct%" */
	double rate = elapsed_s > 0 ? (double)done / elapsed_s : 0;
	const char *unit = scale > 1 ? " MB" : "";
	int prec = scale > 1 ? 1 : 0;
	int n;

	if (total > 0 && bar_width > 0)
		draw_bar(bar, done, total, bar_width);
	if (total > 0 && done < total && rate > 0) {
		char t[24];

		if (fmt_eta(t, sizeof(t), (double)(total - done) / rate) < 0)
			return -1;
		n = snprintf(eta, sizeof(eta), " ETA %s", t);
		if (n < 0 || (size_t)n >= sizeof(eta))
			return -1;
	}
	if (total > 0)
		n = snprintf(amount, sizeof(amount), "%.*f/%.*f%s %3d%%", prec,
			     (double)done / scale, prec, (double)total / scale,
			     unit,
			     (int)(done >= total ? 100
						 : (double)done * 100 /
							   (double)total));
	else
		n = snprintf(amount, sizeof(amount), "%.*f%s", prec,
			     (double)done / scale, unit);
	if (n < 0 || (size_t)n >= sizeof(amount))
		return -1;
	n = snprintf(buf, len, "%s %s %s%.*f%s/s%s", label, amount, bar, prec,
		     rate / scale, unit, eta);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

int progress_format(char *buf, size_t len, const char *label, uint64_t done,
		    uint64_t total, double elapsed_s, int bar_width)
{
	return format(buf, len, label, done, total, elapsed_s, bar_width, 1);
}

int progress_format_bytes(char *buf, size_t len, const char *label,
			  uint64_t done, uint64_t total, double elapsed_s,
			  int bar_width)
{
	return format(buf, len, label, done, total, elapsed_s, bar_width, 1e6);
}

struct progress *progress_new(const char *label, uint64_t total)
{
	struct progress *p = xcalloc(1, sizeof(*p));

	p->label = xstrdup(label);
	p->total = total;
	p->started = clock_mono();
	p->last_shown = p->started;
	p->tty = isatty(STDERR_FILENO) && log_enabled(LOG_LEVEL_INFO);
	return p;
}

struct progress *progress_new_bytes(const char *label, uint64_t total)
{
	struct progress *p = progress_new(label, total);

	p->bytes = true;
	return p;
}

void progress_set_total(struct progress *p, uint64_t total)
{
	p->total = total;
}

static void show(struct progress *p, bool final)
{
	char line[256];
	double t = clock_mono();

	char label[160];

	mark_cut(label, sizeof(label),
		 snprintf(label, sizeof(label), "%s%s%s", p->label,
			  p->note[0] ? " " : "", p->note));
	if (format(line, sizeof(line), label, p->done, p->total, t - p->started,
		   p->tty ? PROGRESS_BAR_WIDTH : 0, p->bytes ? 1e6 : 1) < 0)
		return;
	p->last_shown = t;
	if (p->tty && !final) {
		fprintf(stderr, "\r\033[K%s", line);
		log_set_tty_line_dirty(true);
	} else {
		log_info("%s", line);
	}
}

void progress_update(struct progress *p, uint64_t done)
{
	double t;

	p->done = done;
	t = clock_mono();
	if (t - p->last_shown >=
	    (p->tty ? PROGRESS_TTY_INTERVAL : PROGRESS_LOG_INTERVAL))
		show(p, false);
}

void progress_add(struct progress *p, uint64_t n)
{
	progress_update(p, p->done + n);
}

void progress_set_items(struct progress *p, uint64_t n, const char *unit)
{
	mark_cut(p->note, sizeof(p->note),
		 snprintf(p->note, sizeof(p->note), "%llu %s",
			  (unsigned long long)n, unit));
}

void progress_set_note(struct progress *p, const char *note)
{
	mark_cut(p->note, sizeof(p->note),
		 snprintf(p->note, sizeof(p->note), "%s", note));
}

void progress_finish(struct progress *p)
{
	if (p == NULL)
		return;
	show(p, true);
	free(p->label);
	free(p);
}

void progress_cancel(struct progress *p)
{
	if (p == NULL)
		return;
	if (p->tty) {
		fputs("\r\033[K", stderr);
		log_set_tty_line_dirty(false);
	}
	free(p->label);
	free(p);
}
