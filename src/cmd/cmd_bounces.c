/*
 * cmd_bounces.c - `certrecall bounces SLUG [--maildir DIR | --mbox FILE
 * | -]`: reads delivery status notifications and records, per notice,
 * delivered / delayed / bounced (bounces.h); a hard bounce makes the
 * address unreachable for the incident, and its queued reminders leave
 * the queue.  Reading the same mail again changes nothing.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "certrecall/core/bounces.h"
#include "certrecall/cmd/cli.h"
#include "certrecall/core/config.h"
#include "certrecall/store/bounce_store.h"
#include "certrecall/store/db.h"
#include "certrecall/store/incident.h"
#include "certrecall/base/log.h"
#include "certrecall/base/xalloc.h"

struct tally {
	struct db *db;
	const struct incident *inc;
	const struct bounces_key *key;
	long long messages, changed[BOUNCES_BOUNCED + 1], unreachable, dropped,
		unchanged, forged, foreign, not_dsn, unreadable;
	int error; /* a database error stopped the run */
};

static int record_one(const char *where, const struct bounces_dsn *d,
		      int parse_rc, void *arg)
{
	struct tally *t = arg;
	struct bounce_store_result res;
	long long notice_id;
	int v;

	t->messages++;
	if (parse_rc < 0) {
		log_warn("%s: not a mail message, skipped", where);
		t->unreadable++;
		return 0;
	}
	if (d->tag[0] == '\0') {
		log_warn("%s: names no notice (no address of "
			 "mailer.return_path), skipped",
			 where);
		t->not_dsn++;
		return 0;
	}
	v = bounces_tag_verify(t->key, d->tag, &notice_id);
	if (v <= 0) {
		log_warn("%s: forged or foreign bounce: \"%s\" is not a "
			 "notice tag signed with mailer.bounce_key, ignored",
			 where, d->tag);
		t->forged++;
		return 0;
	}
	if (d->action == BOUNCES_NONE) {
		log_warn("%s: notice %lld: not a delivery status notification "
			 "(an auto-reply?), skipped",
			 where, notice_id);
		t->not_dsn++;
		return 0;
	}
	if (bounce_store_record(t->db, t->inc->id, notice_id,
				bounces_action_name(d->action), d->status,
				d->diagnostic, &res) < 0) {
		t->error = 1;
		return -1;
	}
	if (!res.ours) {
		log_warn("%s: notice %lld is not one of incident %s, ignored",
			 where, notice_id, t->inc->slug);
		t->foreign++;
	} else if (res.changed == 0) {
		t->unchanged++;
	} else {
		t->changed[d->action]++;
		t->unreachable += res.unreachable;
		t->dropped += res.dropped;
		log_info("notice %lld: %s%s%s%s%s", notice_id,
			 bounces_action_name(d->action),
			 d->status[0] ? " " : "", d->status,
			 d->diagnostic[0] ? ": " : "", d->diagnostic);
	}
	return 0;
}

/* Reads f to the end, at most BOUNCES_MESSAGE_MAX bytes (NULL: more). */
static char *read_capped(FILE *f, size_t *len)
{
	size_t cap = 65536, n = 0;
	char *buf = xmalloc(cap);

	for (;;) {
		size_t got;

		if (n == cap) {
			if (cap > BOUNCES_MESSAGE_MAX) {
				free(buf);
				return NULL;
			}
			cap *= 2;
			buf = xrealloc(buf, cap);
		}
		got = fread(buf + n, 1, cap - n, f);
		n += got;
		if (got == 0)
			break;
	}
	if (n > BOUNCES_MESSAGE_MAX) {
		free(buf);
		return NULL;
	}
	*len = n;
	return buf;
}

static int one_message(struct tally *t, const char *where, FILE *f,
		       const char *pattern)
{
	struct bounces_dsn d;
	char err[160];
	size_t len = 0;
	char *buf = read_capped(f, &len);
	int rc;

	if (buf == NULL) {
		log_warn("%s: larger than %u bytes, skipped", where,
			 BOUNCES_MESSAGE_MAX);
		t->messages++;
		t->unreadable++;
		return 0;
	}
	rc = bounces_parse(buf, len, pattern, &d, err, sizeof(err));
	free(buf);
	return record_one(where, &d, rc, t);
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* DIR/new and DIR/cur, each in name order; files are left in place. */
static int read_maildir(struct tally *t, const char *dir, const char *pattern)
{
	static const char *const subs[] = { "new", "cur" };
	int seen = 0;

	for (size_t s = 0; s < 2; s++) {
		char path[4096];
		char **names = NULL;
		size_t n = 0, cap = 0;
		struct dirent *e;
		DIR *d;

		snprintf(path, sizeof(path), "%s/%s", dir, subs[s]);
		d = opendir(path);
		if (d == NULL) {
			if (errno == ENOENT)
				continue;
			return log_error("%s: cannot read: %s", path,
					 strerror(errno));
		}
		seen++;
		while ((e = readdir(d)) != NULL) {
			if (e->d_name[0] == '.')
				continue;
			if (n == cap) {
				cap = cap ? 2 * cap : 64;
				names = xrealloc(names, cap * sizeof(*names));
			}
			names[n++] = xstrdup(e->d_name);
		}
		closedir(d);
		if (n > 0)
			qsort(names, n, sizeof(*names), cmp_names);
		for (size_t i = 0; i < n; i++) {
			char file[8192];
			FILE *f;

			snprintf(file, sizeof(file), "%s/%s", path, names[i]);
			f = fopen(file, "rb");
			if (f == NULL) {
				/* another reader moved it: not an error */
				log_warn("%s: cannot read: %s", file,
					 strerror(errno));
			} else {
				if (one_message(t, file, f, pattern) < 0)
					t->error = 1;
				fclose(f);
			}
			free(names[i]);
			if (t->error) {
				for (size_t j = i + 1; j < n; j++)
					free(names[j]);
				break;
			}
		}
		free(names);
		if (t->error)
			return -1;
	}
	if (seen == 0)
		return log_error("%s: not a Maildir (no new/ or cur/)", dir);
	return 0;
}

int cmd_bounces(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "maildir", required_argument, NULL, 'm' },
		{ "mbox", required_argument, NULL, 'b' },
		{ NULL, 0, NULL, 0 },
	};
	const struct config *cfg = cli->cfg;
	const char *maildir = NULL, *mbox = NULL;
	struct bounces_key key;
	struct tally t;
	struct incident *inc = NULL;
	bool from_stdin = false;
	char err[160], detail[512];
	int c, rc;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'm':
			maildir = optarg;
			break;
		case 'b':
			mbox = optarg;
			break;
		default:
			return cli_bad_option("bounces", argv);
		}
	}
	if (argc - optind == 2 && strcmp(argv[argc - 1], "-") == 0) {
		from_stdin = true;
		argc--;
	}
	if ((maildir != NULL) + (mbox != NULL) + from_stdin != 1)
		return cli_usage_error("bounces", "read one of --maildir DIR, "
						  "--mbox FILE or - (stdin)");
	if (cfg->mailer.return_path[0] == '\0' ||
	    cfg->mailer.bounce_key[0] == '\0') {
		log_error("bounces: mailer.return_path and mailer.bounce_key "
			  "must be set (the notices' VERP address and its "
			  "key)");
		return EX_CONFIG;
	}
	if (bounces_pattern_check(cfg->mailer.return_path, err, sizeof(err)) <
	    0) {
		log_error("mailer.return_path \"%s\": %s",
			  cfg->mailer.return_path, err);
		return EX_CONFIG;
	}
	if (bounces_key_load(&key, cfg->mailer.bounce_key) < 0)
		return EX_CONFIG;
	rc = cli_open_incident(cli, "bounces", argc, argv, &inc);
	if (rc != 0)
		goto out;
	bounces_init();
	memset(&t, 0, sizeof(t));
	t.db = cli->db;
	t.inc = inc;
	t.key = &key;
	if (maildir != NULL)
		rc = read_maildir(&t, maildir, cfg->mailer.return_path);
	else if (mbox != NULL)
		rc = bounces_mbox_each(mbox, cfg->mailer.return_path,
				       record_one, &t);
	else
		rc = one_message(&t, "stdin", stdin, cfg->mailer.return_path);
	if (rc < 0 || t.error) {
		rc = t.error ? EX_TEMPFAIL : EX_DATAERR;
		goto out;
	}
	log_info("bounces: %lld messages: %lld bounced, %lld delayed, %lld "
		 "delivered, %lld relayed (not confirmed) (%lld addresses "
		 "now unreachable, %lld queued "
		 "reminders dropped); %lld unchanged, %lld forged, %lld of "
		 "another incident, %lld not a bounce, %lld unreadable",
		 t.messages, t.changed[BOUNCES_BOUNCED],
		 t.changed[BOUNCES_DELAYED], t.changed[BOUNCES_DELIVERED],
		 t.changed[BOUNCES_RELAYED], t.unreachable, t.dropped,
		 t.unchanged, t.forged, t.foreign, t.not_dsn, t.unreadable);
	if (t.changed[BOUNCES_BOUNCED] + t.changed[BOUNCES_DELAYED] +
		    t.changed[BOUNCES_DELIVERED] + t.changed[BOUNCES_RELAYED] >
	    0) {
		int n = snprintf(detail, sizeof(detail),
				 "{\"messages\": %lld, \"bounced\": %lld, "
				 "\"delayed\": %lld, \"delivered\": %lld, "
				 "\"relayed\": %lld, "
				 "\"unreachable\": %lld, \"forged\": %lld}",
				 t.messages, t.changed[BOUNCES_BOUNCED],
				 t.changed[BOUNCES_DELAYED],
				 t.changed[BOUNCES_DELIVERED],
				 t.changed[BOUNCES_RELAYED], t.unreachable,
				 t.forged);

		if (n < 0 || (size_t)n >= sizeof(detail)) {
			log_error("bounces: event detail too long");
			rc = EX_SOFTWARE;
			goto out;
		}
		if (db_event_add(cli->db, inc->id, "bounces.read", detail) <
		    0) {
			rc = EX_TEMPFAIL;
			goto out;
		}
	}
	rc = 0;
out:
	explicit_bzero(&key, sizeof(key));
	incident_free(inc);
	return rc;
}
