/*
 * report_events.c - the audit trail in plain words: an event row (kind,
 * JSON detail) as the incident report's timeline reads it.  Pure; the
 * rows come from store/report_store.c.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "certrecall/base/xalloc.h"
#include "certrecall/core/report.h"

static long long jint(json_t *d, const char *key)
{
	json_t *v = json_object_get(d, key);

	return json_is_integer(v) ? (long long)json_integer_value(v) : 0;
}

static const char *jstr(json_t *d, const char *key)
{
	const char *s = json_string_value(json_object_get(d, key));

	return s ? s : "?";
}

/* "caa.txt.gz" or "a.pem and 2 more": file names without their
 * directories, from detail's "files" array or "file" string. */
static const char *files_of(json_t *d, char *buf, size_t len)
{
	json_t *a = json_object_get(d, "files");
	const char *f = json_is_array(a)
				? json_string_value(json_array_get(a, 0))
				: json_string_value(json_object_get(d, "file"));
	const char *slash;

	if (f == NULL)
		f = "?";
	slash = strrchr(f, '/');
	if (slash && slash[1])
		f = slash + 1;
	if (json_is_array(a) && json_array_size(a) > 1)
		snprintf(buf, len, "%.100s and %zu more", f,
			 json_array_size(a) - 1);
	else
		snprintf(buf, len, "%.100s", f);
	return buf;
}

/*
 * An audit-trail event in plain words, the way a Bugzilla timeline reads
 * ("imported 3,048 certificates from caa.txt.gz (973 accounts)"), with
 * the group and count its run collapses by.  Kinds without words of
 * their own fall back to report_event_text().  Returns the text (caller frees).
 */
char *report_event_prose(const char *kind, const char *detail,
			 const char **group, long long *count,
			 const char **unit)
{
	json_t *d = json_loads(detail, 0, NULL);
	char buf[512], files[160];
	int n = -1;

	*group = kind[0] ? "other" : NULL;
	*count = 1;
	*unit = "events";
	if (!json_is_object(d)) {
		json_decref(d);
		return report_event_text(kind, detail);
	}
	if (strcmp(kind, "import.certificates") == 0) {
		*group = "import";
		*count = jint(d, "new");
		*unit = "certificates";
		n = snprintf(buf, sizeof(buf),
			     "imported %s certificates from %s (%s accounts, "
			     "%s distinct names; %s already present, %s "
			     "rejected)",
			     report_fmt_num(jint(d, "new")).s,
			     files_of(d, files, sizeof(files)),
			     report_fmt_num(jint(d, "accounts")).s,
			     report_fmt_num(jint(d, "distinct_names")).s,
			     report_fmt_num(jint(d, "present")).s,
			     report_fmt_num(jint(d, "rejects")).s);
	} else if (strcmp(kind, "import.replacements") == 0) {
		*group = "import replacements";
		*count = jint(d, "new");
		*unit = "replacements";
		n = snprintf(buf, sizeof(buf),
			     "imported %s replacement certificates from %s; "
			     "%s affected certificates now have one",
			     report_fmt_num(jint(d, "new")).s,
			     files_of(d, files, sizeof(files)),
			     report_fmt_num(jint(d, "replaced")).s);
	} else if (strcmp(kind, "import.revocations") == 0) {
		*group = "import revocations";
		*count = jint(d, "loaded");
		*unit = "revocations";
		n = snprintf(buf, sizeof(buf),
			     "loaded %s revocations from %s (%s of unknown "
			     "certificates, %s conflicts)",
			     report_fmt_num(jint(d, "loaded")).s,
			     files_of(d, files, sizeof(files)),
			     report_fmt_num(jint(d, "unknown")).s,
			     report_fmt_num(jint(d, "conflicts")).s);
	} else if (strcmp(kind, "incident.create") == 0) {
		*group = NULL;
		n = snprintf(buf, sizeof(buf),
			     "incident %.60s opened: \"%.120s\", rule %.40s, "
			     "aware at %.40s",
			     jstr(d, "slug"), jstr(d, "title"),
			     jstr(d, "reason"), jstr(d, "aware_at"));
	} else if (strcmp(kind, "incident.add-issuer") == 0) {
		*group = NULL;
		n = snprintf(buf, sizeof(buf),
			     "issuer certificate%s added from %s (%s)",
			     jint(d, "issuers") == 1 ? "" : "s",
			     files_of(d, files, sizeof(files)),
			     report_fmt_num(jint(d, "issuers")).s);
	} else if (strcmp(kind, "scan") == 0) {
		*group = "scan";
		*count = jint(d, "done");
		*unit = "names";
		n = snprintf(buf, sizeof(buf),
			     "scanned %s of %s names: %s answered, %s "
			     "failed, %s filtered",
			     report_fmt_num(jint(d, "done")).s,
			     report_fmt_num(jint(d, "targets")).s,
			     report_fmt_num(jint(d, "answered")).s,
			     report_fmt_num(jint(d, "failed")).s,
			     report_fmt_num(jint(d, "filtered")).s);
	} else if (strncmp(kind, "notify.", 7) == 0) {
		/* group must outlive the query result: a static name. */
		*group = strcmp(kind, "notify.initial") == 0 ? "notify.initial"
			 : strcmp(kind, "notify.reminder") == 0
				 ? "notify.reminder"
			 : strcmp(kind, "notify.revoked") == 0
				 ? "notify.revoked"
				 : "notify";
		*count = jint(d, "sent");
		*unit = "notices sent";
		n = snprintf(buf, sizeof(buf),
			     "%s notices: %s sent, %s failed, %s to retry; "
			     "%s accounts without a contact address",
			     jstr(d, "kind"), report_fmt_num(jint(d, "sent")).s,
			     report_fmt_num(jint(d, "failed")).s,
			     report_fmt_num(jint(d, "retry")).s,
			     report_fmt_num(jint(d, "no_address")).s);
	} else if (strcmp(kind, "revcheck") == 0) {
		*group = "revcheck";
		*count = jint(d, "revoked") + jint(d, "good") +
			 jint(d, "unknown");
		*unit = "certificates checked";
		n = snprintf(buf, sizeof(buf),
			     "revocation checked with the CA's OCSP and CRL: "
			     "%s revoked, %s good, %s unknown, %s conflicts",
			     report_fmt_num(jint(d, "revoked")).s,
			     report_fmt_num(jint(d, "good")).s,
			     report_fmt_num(jint(d, "unknown")).s,
			     report_fmt_num(jint(d, "conflicts")).s);
	} else if (strcmp(kind, "report") == 0) {
		*group = "report";
		*unit = "reports";
		n = snprintf(buf, sizeof(buf), "%.20s report written to %.200s",
			     jstr(d, "format"), jstr(d, "output"));
	}
	json_decref(d);
	if (n < 0)
		return report_event_text(kind, detail);
	return xstrdup(buf);
}

/* "import.certificates: lines 3000, new 3000, ..." from an event row. */
char *report_event_text(const char *kind, const char *detail)
{
	json_t *d = json_loads(detail, 0, NULL);
	const char *key;
	json_t *val;
	char buf[400];
	size_t off;
	int n = 0;

	/* Event kinds are short names of ours ("import.certificates"). */
	off = (size_t)snprintf(buf, sizeof(buf), "%.100s", kind);
	if (json_is_object(d)) {
		json_object_foreach(d, key, val)
		{
			/* Room for any key as written and any double. */
			char one[64 + 1 + 320];
			size_t len;

			/* The real time of a rehearsal: counted, not listed. */
			if (strcmp(key, "wall_clock") == 0)
				continue;

			if (json_is_integer(val))
				snprintf(one, sizeof(one), "%.64s %lld", key,
					 (long long)json_integer_value(val));
			else if (json_is_string(val))
				snprintf(one, sizeof(one), "%.64s %.60s", key,
					 json_string_value(val));
			else if (json_is_real(val))
				snprintf(one, sizeof(one), "%.64s %.1f", key,
					 json_real_value(val));
			else
				continue;
			/* A line, not a dump: what does not fit is marked
			 * "..." and left to `report --format events`, which
			 * lists every event. */
			len = strlen(one);
			if (off + len + 8 >= sizeof(buf)) {
				memcpy(buf + off, ", ...",
				       6); /* said, not cut */
				break;
			}
			memcpy(buf + off, n++ ? ", " : ": ", 2);
			memcpy(buf + off + 2, one, len + 1);
			off += 2 + len;
		}
	}
	json_decref(d);
	return xstrdup(buf);
}
