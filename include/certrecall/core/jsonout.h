/*
 * jsonout - how every command writes JSON (`--json`, `--jsonl`).
 *
 * One shape for all of them: a document is an object whose first member
 * "schema" names it ("certrecall-status/1", described by
 * docs/schema/status.schema.json); member names are snake_case; times
 * are RFC 3339 UTC with "Z" (or null when unset); counts are integers.
 * --json writes one indented document, --jsonl one compact document per
 * line (streaming commands write one per round).  Human text stays on
 * stderr either way.  Built with jansson.
 */
#ifndef CERTRECALL_JSONOUT_H
#define CERTRECALL_JSONOUT_H

#include <jansson.h>
#include <stdio.h>
#include <time.h>

enum jsonout_mode {
	JSONOUT_NONE = 0, /* human text */
	JSONOUT_DOC,	  /* --json: one indented document */
	JSONOUT_LINES,	  /* --jsonl: one compact document a line */
};

/* A new object {"schema": "certrecall-<name>/1"}.  New reference. */
json_t *jsonout_new(const char *name);

/* A time as RFC 3339 UTC ("2020-03-05T03:08:00Z"), or null when t is
 * DEADLINE_UNSET or cannot be written.  New reference. */
json_t *jsonout_time(time_t t);

/* A string, or null for NULL.  New reference. */
json_t *jsonout_str(const char *s);

/*
 * Sets obj[name] = v (taking v) with name made a snake_case member name:
 * '-' and ' ' become '_' ("revoked-on-time" -> "revoked_on_time", "not
 * scanned" -> "not_scanned"), for counts keyed by the tool's own names.
 */
void jsonout_set_key(json_t *obj, const char *name, json_t *v);

/*
 * Writes doc to out in mode (JSONOUT_DOC or JSONOUT_LINES), followed by a
 * newline, and flushes, so a reader of a stream sees each line at once.
 * Takes ownership of doc (NULL is an error: jansson's pack failed;
 * logged).  0, or -1 when building or writing failed (a write error is
 * not logged: the caller's output close reports it once).  Not
 * CR_MUST_CHECK: every failure is reported already, and a caller must
 * not turn a write error into its own (a reader gone from standard
 * output is no error, cli_main).
 */
int jsonout_write(json_t *doc, FILE *out, enum jsonout_mode mode);

#endif
