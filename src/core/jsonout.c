/*
 * jsonout.c - the JSON every command writes (see certrecall/jsonout.h).
 */
#include "certrecall/core/jsonout.h"

#include <stdio.h>
#include <stdlib.h>

#include "certrecall/core/deadline.h"
#include "certrecall/base/log.h"
#include "certrecall/base/utctime.h"
#include "certrecall/base/xalloc.h"

json_t *jsonout_new(const char *name)
{
	char *schema = xasprintf("certrecall-%s/1", name);
	json_t *o = json_pack("{s:s}", "schema", schema);

	free(schema);
	return o;
}

json_t *jsonout_time(time_t t)
{
	char buf[UTCTIME_BUFSZ];

	if (t == DEADLINE_UNSET ||
	    utctime_format_rfc3339(t, buf, sizeof(buf)) < 0)
		return json_null();
	return json_string(buf);
}

json_t *jsonout_str(const char *s)
{
	return s != NULL ? json_string(s) : json_null();
}

void jsonout_set_key(json_t *obj, const char *name, json_t *v)
{
	char key[64];
	size_t i;

	for (i = 0; name[i] != '\0' && i + 1 < sizeof(key); i++)
		key[i] = name[i] == '-' || name[i] == ' ' ? '_' : name[i];
	key[i] = '\0';
	json_object_set_new(obj, key, v);
}

int jsonout_write(json_t *doc, FILE *out, enum jsonout_mode mode)
{
	size_t flags = JSON_PRESERVE_ORDER;
	int rc;

	if (doc == NULL)
		return log_error("cannot build the JSON document");
	flags |= mode == JSONOUT_LINES ? JSON_COMPACT : JSON_INDENT(2);
	rc = json_dumpf(doc, out, flags);
	json_decref(doc);
	if (rc < 0 || fputc('\n', out) == EOF || fflush(out) != 0)
		return -1;
	return 0;
}
