/*
 * cli.c - the command table, global options, and dispatch.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <unistd.h>
#include <stdbool.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>

#include "certrecall/cmd/cli.h"
#include "certrecall/base/clock.h"
#include "certrecall/core/config.h"
#include "certrecall/store/db.h"
#include "certrecall/base/embedded.h"
#include "certrecall/core/deadline.h"
#include "certrecall/store/incident.h"
#include "certrecall/base/log.h"
#include "certrecall/base/utctime.h"
#include "certrecall/base/xalloc.h"

#define CERTRECALL_VERSION "0.1.0"
#define SYSTEM_CONFIG "/etc/certrecall/certrecall.ini"

static const struct cli_command commands[] = {
	{ "help", cmd_help, 0, "show help for a command",
	  "usage: certrecall help [COMMAND]\n"
	  "\n"
	  "Without COMMAND, lists the commands; with it, prints its usage.\n" },
	{ "db", cmd_db, CLI_NEEDS_DB, "apply or list schema migrations",
	  "usage: certrecall db migrate\n"
	  "       certrecall db status [--json]\n"
	  "\n"
	  "migrate  applies the migrations this binary carries that the\n"
	  "         database lacks, in order, one transaction each;\n"
	  "         safe to run again, and from several machines at once\n"
	  "status   lists every migration as applied or pending (exit 0),\n"
	  "         and warns about files changed after they were applied\n" },
	{ "incident", cmd_incident, CLI_NEEDS_DB,
	  "create, update, close, list or show incidents",
	  "usage: certrecall incident create --slug SLUG --title TEXT "
	  "--reason REASON\n"
	  "                                  --aware-at TIME "
	  "[--cpr-received TIME]\n"
	  "                                  [--disclosed-at TIME]\n"
	  "       certrecall incident update SLUG [--title TEXT] "
	  "[--reason REASON]\n"
	  "                                  [--aware-at TIME] "
	  "[--cpr-received TIME]\n"
	  "                                  [--disclosed-at TIME] "
	  "[--cpr-answered TIME]\n"
	  "                                  [--first-report TIME] "
	  "[--full-report TIME]\n"
	  "                                  [--update-posted TIME]\n"
	  "       certrecall incident close SLUG [--reason TEXT]\n"
	  "       certrecall incident reopen SLUG\n"
	  "       certrecall incident add-issuer SLUG FILE.pem [--ocsp URL] "
	  "[--crl URL]\n"
	  "       certrecall incident list [--json]\n"
	  "       certrecall incident show SLUG [--json]\n"
	  "\n"
	  "TIME is RFC 3339 in any offset (2020-02-29T12:08:00+09:00), or a\n"
	  "date meaning 00:00:00 UTC; it is stored and shown in UTC.  An\n"
	  "empty TIME clears an optional time.  REASON names a BR rule:\n"
	  "v1.6.7:5d-7, current:br-12, or br-12 / 5d-7 for the edition in\n"
	  "force at --aware-at (see 'certrecall rules'); it is stored with\n"
	  "its edition.  --cpr-answered, --first-report, --full-report and\n"
	  "--update-posted record when a report was made, which marks its\n"
	  "clock met.  add-issuer records the issuing CA certificate(s)\n"
	  "(for OCSP and CRL checks) and links the certificates they issued.\n"
	  "Every change is written to the audit trail.  --json prints list\n"
	  "and show as one JSON document (docs/schema/).\n" },
	{ "export-revocations", cmd_export_revocations, CLI_NEEDS_DB,
	  "write the batch of serials still to revoke",
	  "usage: certrecall export-revocations SLUG [--replaced-only] "
	  "[--reason KEY]\n"
	  "                                     [--jsonl] [-o FILE]\n"
	  "\n"
	  "Writes \"serial,reason_code\" for every affected certificate not\n"
	  "yet revoked and not expired, the replaced ones first (their\n"
	  "revocation breaks no site), for the CA's own revoker: certrecall\n"
	  "never revokes.  The CRLReason is the incident rule's; a rule from\n"
	  "an edition without codes takes its current counterpart's (2020's\n"
	  "5d-7 -> br-12, superseded); --reason KEY names another rule.\n"
	  "--jsonl writes one JSON object a line instead.\n" },
	{ "import", cmd_import, CLI_NEEDS_DB,
	  "load affected certificates, replacements or contacts",
	  "usage: certrecall import SLUG FILE... [--format FORMAT]\n"
	  "                         [--serial-base 10] [--max-errors N "
	  "--rejects FILE]\n"
	  "                         [--accounts FILE] [--replacements] "
	  "[--no-progress]\n"
	  "                         [--allow-empty] [--json]\n"
	  "       certrecall import SLUG --revocations FILE [--json]\n"
	  "\n"
	  "Loads the affected certificates listed in FILE ('-' reads\n"
	  "standard input; gzip is detected and inflated).  FORMAT is\n"
	  "detected from the first line, or one of:\n"
	  "  le2020   the 2020 CAA list: serial HEX ACCOUNT HASH names: [...]"
	  "\n"
	  "           missing CAA checking results for ... at TIME +0000 "
	  "UTC\n"
	  "  le2022   ACCOUNT,\"SERIAL\",\"NOT_AFTER\",\"NAME\",...\n"
	  "  csv      with a header: serial (required), account, email, "
	  "names,\n"
	  "           issued_at / not_before, not_after, issuer, subject, "
	  "sha256;\n"
	  "           other columns are kept as extra data\n"
	  "  pem, der X.509 certificates (told apart by content); other\n"
	  "           PEM blocks (keys, CRLs) are skipped and counted\n"
	  "  serials  one serial a line, or serial=HEX (openssl x509\n"
	  "           -serial); --serial-base 10 for decimal\n"
	  "All or nothing: the first bad line stops the import and nothing\n"
	  "is written (exit 65), as when no certificate is found (unless\n"
	  "--allow-empty) or compressed data ends early; --max-errors N\n"
	  "tolerates N bad lines (a bad certificate in a PEM bundle is one,\n"
	  "named by its BEGIN line), which\n"
	  "--rejects FILE collects with their reasons.  Importing the same\n"
	  "list again changes nothing.  --accounts FILE loads contacts\n"
	  "(account,email[,email...]).  --replacements loads newly issued\n"
	  "certificates instead, and marks each affected certificate whose\n"
	  "exact set of names they cover as replaced.  --revocations loads\n"
	  "serial,revoked_at[,reason] from the CA's revoker as evidence\n"
	  "and lists certificates whose sources disagree.  --json prints the\n"
	  "summary as one JSON document on stdout (text stays on stderr).\n" },
	{ "notify", cmd_notify, CLI_NEEDS_DB,
	  "e-mail every affected subscriber, once",
	  "usage: certrecall notify SLUG [--kind initial|reminder|revoked]\n"
	  "                         [--limit N] [--connections N] [--rate R]"
	  "\n"
	  "                         [--no-wait] [--no-progress] [--at TIME]\n"
	  "                         [--json]\n"
	  "       certrecall notify SLUG [--kind K] --dry-run DIR\n"
	  "       certrecall notify SLUG [--kind K] --preview ADDRESS\n"
	  "       certrecall notify SLUG --plan [--json]\n"
	  "\n"
	  "Sends one message per contact address (covering all its accounts\n"
	  "and certificates) for the notices of KIND (default initial):\n"
	  "plans them first (accounts without an address get a no-address\n"
	  "record), then claims them in batches that several processes on\n"
	  "several machines share.  Each answer of the relay decides a\n"
	  "notice: sent, retry (4xx, with backoff) or failed (5xx); answers\n"
	  "are committed in groups of mailer.commit_group, which bounds the\n"
	  "messages a killed worker repeats (docs/notify.md).\n"
	  "The run waits for due retries unless --no-wait.  --rate limits\n"
	  "messages per second over all --connections.  --dry-run writes\n"
	  "each message to DIR as .eml and changes nothing; --preview prints\n"
	  "the exact message for one address; --plan counts what is due.\n"
	  "--at TIME composes as of TIME (time left, Date:), for replays.\n"
	  "Templates: templates.dir/KIND.txt, or the built-in ones.\n"
	  "--json prints the run's summary (or the plan) as one JSON "
	  "document.\n" },
	{ "check", cmd_check, 0,
	  "probe one host now: what does it serve, is it affected?",
	  "usage: certrecall check HOST[:PORT[/PROTO]] [--address IP] "
	  "[--json]\n"
	  "\n"
	  "PROTO (smtp, imap, pop3, ftp, xmpp-client, xmpp-server, ldap)\n"
	  "speaks that protocol's STARTTLS first (default tls: implicit;\n"
	  "HOST/PROTO uses its usual port).\n"
	  "Resolves HOST (A, and AAAA unless scanner.ipv6 is off) with the\n"
	  "configured resolver (scanner.dns_servers, else the system's), or\n"
	  "uses --address instead, and makes a TLS handshake with SNI=HOST\n"
	  "on PORT (default 443) at every address.  For each address it\n"
	  "prints the outcome (ok, tls-error, refused, timeout with its\n"
	  "phase, nxdomain, dns-error, or filtered: an address in\n"
	  "scanner.deny and not in scanner.allow, never connected to), the\n"
	  "served certificate (serial, subject, issuer, names, not_after in\n"
	  "UTC, SHA-256, TLS version), the incidents whose affected\n"
	  "certificates include that serial with their revocation state,\n"
	  "and the verdict: serving-affected, serving-replacement (another\n"
	  "unexpired certificate covering HOST) or serving-other.  Without\n"
	  "a reachable database the probe is still shown, marked 'not\n"
	  "checked'.  HOST may be an IP address ([2001:db8::1]:8443); then\n"
	  "no SNI is sent.  --json prints one JSON object.\n"
	  "\n"
	  "exit status: 0 if a certificate was read from at least one\n"
	  "address, 69 if none was (DNS failure, filtered, refused, timeout,\n"
	  "TLS error), 64 for a usage error, 78 for a bad configuration.\n" },
	{ "scan", cmd_scan, CLI_NEEDS_DB,
	  "find which affected certificates are still served",
	  "usage: certrecall scan SLUG [--procs N] [--stale-after DURATION]\n"
	  "                       [--retry-failed] [--names FILE] "
	  "[--jsonl FILE]\n"
	  "                       [--no-progress] [--json]\n"
	  "\n"
	  "Probes every distinct name (and port, scanner.ports) of the\n"
	  "incident's unrevoked certificates, once per name, at every\n"
	  "address it resolves to, and records what each serves:\n"
	  "serving-affected, serving-replacement, serving-other, tls-error,\n"
	  "refused, timeout, nxdomain, dns-error or filtered (scanner.deny).\n"
	  "Wildcard names are not probeable.  A target is answered (a\n"
	  "certificate, refused, nxdomain), failed (dns-error, timeout,\n"
	  "tls-error: no answer) or filtered.  Answered targets observed\n"
	  "within --stale-after (default 1h) are not probed again; failed\n"
	  "ones are retried after scanner.retry_after (5m), or now with\n"
	  "--retry-failed.  Exit 75 when more than scanner.fail_warn (20%)\n"
	  "of the targets failed, naming the commonest cause, or when the\n"
	  "run stopped (SIGINT, SIGTERM, database lost): its claimed\n"
	  "targets are given back first.  --procs N\n"
	  "worker processes (default: scanner.procs, else one per core)\n"
	  "claim targets from the database, so the same command on other\n"
	  "machines joins the same scan.  --names FILE limits the run to\n"
	  "those names; --jsonl FILE appends one JSON object per probe;\n"
	  "--json prints the run's summary as one JSON document.\n" },
	{ "revcheck", cmd_revcheck, CLI_NEEDS_DB,
	  "ask OCSP responders and CRLs when each certificate was revoked",
	  "usage: certrecall revcheck SLUG [--ocsp URL] [--crl URL] [--no-ocsp]"
	  "\n"
	  "                           [--no-crl] [--watch INTERVAL] "
	  "[--json|--jsonl]\n"
	  "\n"
	  "Asks the incident's OCSP responders about every certificate not\n"
	  "yet revoked and reads its CRLs (URLs from 'incident add-issuer',\n"
	  "or --ocsp / --crl), verifying every signature and freshness, and\n"
	  "stores each answer as evidence: good, revoked (time, reason),\n"
	  "unknown, or error (a timeout is never 'good').  Certificates are\n"
	  "revoked at the earliest published time; sources that disagree are\n"
	  "listed.  --watch repeats until nothing is left to revoke.\n"
	  "--json prints the (last) round's summary as one JSON document,\n"
	  "--jsonl one line a round.\n" },
	{ "rules", cmd_rules, 0, "list the BR revocation rules by edition",
	  "usage: certrecall rules [--edition EDITION] [--at TIME] [--json]\n"
	  "       certrecall rules KEY [--at TIME] [--json]\n"
	  "\n"
	  "Without KEY, lists the editions and every rule (only the edition\n"
	  "in force at --at, or only --edition).  With KEY (br-5, 5d-7,\n"
	  "v1.6.7:5d-7, ca), explains which text applied at --at (default\n"
	  "now): edition, item, window and CRLReason.\n" },
	{ "deadlines", cmd_deadlines, CLI_NEEDS_DB,
	  "show every clock of an incident",
	  "usage: certrecall deadlines SLUG [--at TIME] [--json]\n"
	  "\n"
	  "Prints each clock (revocation SHOULD-by and MUST-by, problem-\n"
	  "report answer, CCADB reports, delayed-revocation updates) with\n"
	  "its rule, due time in UTC, time left or overdue, and state\n"
	  "(open / met / missed).  --at replays any moment, using only the\n"
	  "revocations that had happened by then.\n" },
	{ "bounces", cmd_bounces, CLI_NEEDS_DB,
	  "record delivery status notifications (bounces) of notices",
	  "usage: certrecall bounces SLUG --maildir DIR\n"
	  "       certrecall bounces SLUG --mbox FILE\n"
	  "       certrecall bounces SLUG -\n"
	  "\n"
	  "Reads delivery status notifications sent back to\n"
	  "mailer.return_path (bounces+{id}@domain; {id} names the notice\n"
	  "with a mac keyed by mailer.bounce_key) from a Maildir (new/ and\n"
	  "cur/, left in place), an mbox file, or one message on stdin (for\n"
	  "an alias \"|certrecall bounces SLUG -\").  RFC 3464 reports and\n"
	  "plain-text bounces.  Records per notice delivered (a positive\n"
	  "DSN), relayed (handed to a next hop that does not report: not\n"
	  "proof of delivery), delayed (4.x.x) or bounced (5.x.x) with the\n"
	  "status and diagnostic; a 5.x.x bounce makes the address\n"
	  "unreachable and reminders skip it.  A bounce whose mac does not\n"
	  "verify is ignored with a warning.  Reading the same mail again\n"
	  "changes nothing.\n" },
	{ "status", cmd_status, CLI_NEEDS_DB,
	  "one screen for the person on call",
	  "usage: certrecall status SLUG [--at TIME] [--watch[=SECONDS]]\n"
	  "                         [--json|--jsonl]\n"
	  "\n"
	  "Every clock with a countdown; progress bars for revocation,\n"
	  "deployment (names answered, of all: a failed probe is not\n"
	  "coverage) and notification (addresses told); the last activity\n"
	  "of each stage; what to do next; then the certificates by\n"
	  "verdict, notices by kind and state, names by the outcome of\n"
	  "their latest probe (answered, failed with its cause, filtered,\n"
	  "not yet tried) and the latest probes by verdict, and the\n"
	  "subscribers told / bounced / unreachable / without address.\n"
	  "--watch redraws it every SECONDS (default 10) until interrupted.\n"
	  "--json prints the same figures as one JSON document, --jsonl as\n"
	  "one line (with --watch, a line a refresh).\n" },
	{ "report", cmd_report, CLI_NEEDS_DB,
	  "the compliance report (md, html, json, csv, ccadb, events, "
	  "unreached)",
	  "usage: certrecall report SLUG\n"
	  "         [--format md|html|json|csv|ccadb|events|unreached]\n"
	  "         [--json] [-o FILE] [--at TIME]\n"
	  "\n"
	  "md     the CCADB incident report in Markdown (paste into\n"
	  "       Bugzilla); narrative fields are marked TO BE WRITTEN\n"
	  "html   the same as one self-contained page with three charts\n"
	  "json   every figure, schema in docs/report.schema.json (--json)\n"
	  "csv    every certificate with its verdict and deployment\n"
	  "ccadb  the appendix: the 11-column CSV below\n"
	  "       report.crtsh_threshold certificates, else crt.sh links;\n"
	  "       columns the imported data lacks are named on stderr\n"
	  "events every audit-trail event as CSV (the timeline of md,\n"
	  "       html and json shows at most the first and the last\n"
	  "       2,500 and says how many it leaves out)\n"
	  "unreached  the subscribers no notice reached, as CSV: per\n"
	  "       certificate and address, bounced / unreachable /\n"
	  "       failed / no-address, when, status and diagnostic\n"
	  "\n"
	  "--at describes an earlier moment (revocations after it had not\n"
	  "happened).  -o writes FILE atomically (default: stdout).\n" },
	{ "serve", cmd_serve, 0,
	  "serve ARI, the self-check page and staff status over HTTP",
	  "usage: certrecall serve [--listen ADDRESS:PORT]\n"
	  "\n"
	  "GET {serve.ari_path}CERTID   ACME Renewal Information (RFC 9773)\n"
	  "GET /check, POST /check     subscriber self-check (HTML, or JSON\n"
	  "                            with Accept: application/json)\n"
	  "GET /status/SLUG            staff status page (bearer token)\n"
	  "GET /api/incidents/SLUG/status  its JSON (bearer token)\n"
	  "GET /api/incidents/SLUG/report.md|html|json|csv  its report\n"
	  "                            now (bearer token)\n"
	  "GET /healthz                200 when the database answers\n"
	  "\n"
	  "Reads only from PostgreSQL, so several instances can serve one\n"
	  "database.  Settings: the [serve] section.  One JSON line per\n"
	  "request to serve.access_log (default stderr).  SIGTERM stops\n"
	  "accepting and finishes the requests in progress.\n" },
	{ "export-ari", cmd_export_ari, CLI_NEEDS_DB,
	  "the ARI answers of an incident as JSON lines",
	  "usage: certrecall export-ari SLUG [-o FILE]\n"
	  "\n"
	  "One line per certificate with a certID (its authority key\n"
	  "identifier is known): {\"certID\", \"suggestedWindow\",\n"
	  "\"retryAfter\", \"explanationURL\"}, as `serve` answers, for an\n"
	  "ACME server that serves ARI itself.  Expired certificates and\n"
	  "those without a key identifier are counted on stderr.\n" },
	{ "config", cmd_config, 0, "check or show the effective configuration",
	  "usage: certrecall config check\n"
	  "       certrecall config show [--json]\n"
	  "\n"
	  "check  loads the configuration (file, environment, options) and\n"
	  "       reports every error as FILE:LINE\n"
	  "show   prints every setting with where its value came from;\n"
	  "       passwords are never printed; --json as one JSON document\n" },
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static const char global_usage[] =
	"usage: certrecall [OPTIONS] COMMAND [ARGS]\n"
	"\n"
	"options:\n"
	"  -c, --config FILE      configuration file (default: "
	"$CERTRECALL_CONFIG,\n"
	"                         else " SYSTEM_CONFIG " if present)\n"
	"  -d, --database CONN    libpq conninfo or URI (overrides "
	"database.url)\n"
	"      --set KEY=VALUE    override any setting, e.g. "
	"--set scanner.rate=500\n"
	"  -v, --verbose          more detail on stderr\n"
	"  -q, --quiet            errors only\n"
	"  -h, --help             this help\n"
	"  -V, --version          print the version\n"
	"\n"
	"Settings are taken from the command line, then the environment\n"
	"(CERTRECALL_DATABASE, CERTRECALL_<SECTION>_<KEY>), then the file,\n"
	"then built-in defaults.\n";

const struct cli_command *cli_commands(size_t *count)
{
	*count = NCOMMANDS;
	return commands;
}

const struct cli_command *cli_find(const char *name)
{
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

int cli_usage_error(const char *command, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	/* Through the log like every other message on stderr: stamped in
	 * UTC, "error:" (README, "Every message on stderr ..."). */
	va_start(ap, fmt);
	/* A cut message is still a message; a failed one is empty. */
	if (vsnprintf(msg, sizeof(msg), fmt, ap) < 0)
		msg[0] = '\0';
	va_end(ap);
	log_error("certrecall%s%s: %s (see 'certrecall help%s%s')",
		  command ? " " : "", command ? command : "", msg,
		  command ? " " : "", command ? command : "");
	return EX_USAGE;
}

int cli_help(const char *command)
{
	const struct cli_command *c = cli_find(command);

	if (c == NULL)
		return cli_usage_error(NULL, "unknown command '%s'", command);
	fputs(c->usage, stdout);
	return 0;
}

int cli_bad_option(const char *command, char **argv)
{
	return cli_usage_error(command, "unknown or incomplete option '%s'",
			       argv[optind - 1]);
}

/* CERTRECALL_CLOCK: the rehearsal clock (clock_now()), here and in the
 * database session (certrecall_now()). */
static int load_clock(void)
{
	const char *v = getenv("CERTRECALL_CLOCK");
	char err[256];

	if (clock_set_rehearsal(v, err, sizeof(err)) < 0) {
		db_set_clock(DEADLINE_UNSET);
		return log_error("CERTRECALL_CLOCK: %s", err);
	}
	db_set_clock(clock_is_rehearsal() ? clock_now() : DEADLINE_UNSET);
	if (clock_is_rehearsal())
		log_debug("rehearsal clock: acting at %s", v);
	return 0;
}

/* Set by the dispatcher for every command but `db`. */
static bool schema_must_be_current;

/*
 * A binary newer than the schema would fail on its first missing table
 * with a raw SQL error; say what to do instead.  A database newer than
 * the binary (another machine upgraded first) is only a warning.
 */
static int check_schema(struct db *db)
{
	struct db_migration_state *st;
	size_t n, pending = 0, unknown = 0;

	if (db_migration_status(db, embedded_migrations,
				embedded_migrations_count, &st, &n) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		pending += !st[i].applied && !st[i].unknown;
		unknown += st[i].unknown;
	}
	db_migration_states_free(st, n);
	if (unknown > 0)
		log_warn("the database has %zu migration(s) this certrecall "
			 "does not know: another machine runs a newer "
			 "version",
			 unknown);
	if (pending > 0)
		return log_error("the database schema lacks %zu migration(s) "
				 "of this certrecall: run 'certrecall db "
				 "migrate' first",
				 pending);
	return 0;
}

int cli_connect(struct cli *cli)
{
	if (cli->db == NULL) {
		cli->db = db_connect_config(cli->cfg);
		if (cli->db == NULL) {
			/* The error above is libpq's; say where the
			 * connection string comes from. */
			log_error("the database is set by -d CONNINFO, "
				  "CERTRECALL_DATABASE or [database] url in "
				  "the config file%s (libpq conninfo, e.g. "
				  "\"host=/run/postgresql dbname=certrecall\")",
				  cli->cfg->database.url[0] ? ""
							    : "; none is set");
			return -1;
		}
		if (schema_must_be_current && check_schema(cli->db) < 0) {
			db_close(cli->db);
			cli->db = NULL;
		}
	}
	return cli->db == NULL ? -1 : 0;
}

int cli_open_incident(struct cli *cli, const char *command, int argc,
		      char **argv, struct incident **inc)
{
	*inc = NULL;
	if (optind != argc - 1)
		return cli_usage_error(command, "expected one incident SLUG");
	if (cli_connect(cli) < 0)
		return EX_UNAVAILABLE;
	*inc = incident_find(cli->db, argv[optind]);
	return *inc == NULL ? EX_DATAERR : 0;
}

int cli_parse_count(const char *command, const char *opt, const char *s,
		    long long max, long long *out)
{
	char *end;

	errno = 0;
	*out = strtoll(s, &end, 10);
	if (*s == '\0' || *end != '\0' || errno || *out < 0 || *out > max)
		return cli_usage_error(command,
				       "%s: \"%s\" is not a number from 0 to "
				       "%lld",
				       opt, s, max);
	return 0;
}

int cli_output_open(struct cli_output *o, const char *path)
{
	struct stat st;
	int n;

	memset(o, 0, sizeof(*o));
	o->f = stdout;
	if (path == NULL || strcmp(path, "-") == 0)
		return 0;
	o->path = path;
	/* A device or a pipe: write into it, never rename over it. */
	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
		o->f = fopen(path, "w");
		o->direct = true;
		if (o->f == NULL) {
			log_error("%s: cannot create: %m", path);
			return EX_CANTCREAT;
		}
		return 0;
	}
	n = snprintf(o->tmp, sizeof(o->tmp), "%s.tmp-%ld", path,
		     (long)getpid());
	if (n < 0 || (size_t)n >= sizeof(o->tmp)) {
		log_error("%s: path too long", path);
		return EX_CANTCREAT;
	}
	o->f = fopen(o->tmp, "w");
	if (o->f == NULL) {
		log_error("%s: cannot create: %m", o->tmp);
		return EX_CANTCREAT;
	}
	return 0;
}

bool cli_stdout_gone(void)
{
	struct pollfd p = { .fd = STDOUT_FILENO, .events = 0 };

	/* A pipe whose reader closed reports POLLERR, a socket POLLHUP. */
	return poll(&p, 1, 0) == 1 && (p.revents & (POLLERR | POLLHUP));
}

int cli_output_close(struct cli_output *o, bool ok)
{
	const char *name = o->path == NULL ? "standard output"
			   : o->direct	   ? o->path
					   : o->tmp;

	/* Write errors are reported here, once, whatever else failed;
	 * a reader gone from standard output is no error (cli_main). */
	if (fflush(o->f) != 0 || ferror(o->f)) {
		if (o->path != NULL || !cli_stdout_gone())
			log_error("cannot write %s: %m", name);
		ok = false;
	}
	if (o->path == NULL)
		return ok ? 0 : EX_IOERR;
	if (fclose(o->f) != 0 && ok) {
		log_error("cannot write %s: %m", name);
		ok = false;
	}
	if (!o->direct) {
		if (ok && rename(o->tmp, o->path) != 0) {
			log_error("%s: %m", o->path);
			ok = false;
		}
		if (!ok)
			unlink(o->tmp);
	}
	return ok ? 0 : EX_IOERR;
}

int cli_parse_time(const char *opt, const char *s, time_t *out)
{
	char err[256];

	if (utctime_parse(s, out, NULL, err, sizeof(err)) < 0) {
		log_error("%s: %s", opt, err);
		return EX_DATAERR;
	}
	return 0;
}

int cli_parse_no_options(const char *command, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		if (c == 'h')
			return cli_help(command) == 0 ? 1 : -1;
		cli_usage_error(command, "unknown option '%s'",
				argv[optind - 1]);
		return -1;
	}
	return 0;
}

int cli_parse_json_only(const char *command, int argc, char **argv,
			enum jsonout_mode *mode)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	*mode = JSONOUT_NONE;
	optind = 0;
	opterr = 0;
	/* No "+": --json may follow the arguments (incident show S --json). */
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'h')
			return cli_help(command) == 0 ? 1 : -1;
		if (c == 'j') {
			*mode = JSONOUT_DOC;
			continue;
		}
		cli_usage_error(command, "unknown option '%s'",
				argv[optind - 1]);
		return -1;
	}
	return 0;
}

int cmd_help(struct cli *cli, int argc, char **argv)
{
	(void)cli;
	if (argc > 2)
		return cli_usage_error("help", "too many arguments");
	if (argc == 2)
		return cli_help(argv[1]);
	fputs(global_usage, stdout);
	fputs("\ncommands:\n", stdout);
	for (size_t i = 0; i < NCOMMANDS; i++)
		printf("  %-12s %s\n", commands[i].name, commands[i].summary);
	return 0;
}

static char *join_args(int argc, char **argv)
{
	size_t len = 1;
	char *s;

	for (int i = 0; i < argc; i++)
		len += strlen(argv[i]) + 1;
	s = xmalloc(len);
	len = 0;
	for (int i = 0; i < argc; i++) {
		size_t n = strlen(argv[i]);

		memcpy(s + len, argv[i], n);
		len += n;
		s[len++] = i + 1 < argc ? ' ' : '\0';
	}
	if (argc == 0)
		s[0] = '\0';
	return s;
}

/*
 * Builds the configuration in precedence order: defaults, file,
 * environment, command line.  Every error is reported before giving up.
 */
static int load_config(struct config *cfg, const char *path, char **sets,
		       int nsets, const char *database)
{
	struct stat st;
	int rc = 0;

	if (path == NULL)
		path = getenv("CERTRECALL_CONFIG");
	if (path == NULL && stat(SYSTEM_CONFIG, &st) == 0)
		path = SYSTEM_CONFIG;
	if (path != NULL && config_load_file(cfg, path) < 0)
		rc = -1;
	if (config_load_env(cfg) < 0)
		rc = -1;
	for (int i = 0; i < nsets; i++) {
		char *eq = strchr(sets[i], '=');

		if (eq == NULL) {
			rc = log_error("--set %s: expected KEY=VALUE", sets[i]);
			continue;
		}
		char *key = xstrndup(sets[i], (size_t)(eq - sets[i]));

		if (config_set(cfg, key, eq + 1, "command line --set") < 0)
			rc = -1;
		free(key);
	}
	if (database != NULL && config_set(cfg, "database.url", database,
					   "command line --database") < 0)
		rc = -1;
	return rc;
}

/* The exit status rc becomes once standard output is flushed. */
static int stdout_status(int rc)
{
	fflush(stdout);
	if (ferror(stdout) && cli_stdout_gone()) {
		/* "| head": the reader has all it wanted.  Quiet, and the
		 * status coreutils give (main re-raises SIGPIPE), whatever
		 * the failed write made the command return. */
		return CLI_EXIT_SIGPIPE;
	}
	if (ferror(stdout) && rc == 0) {
		log_error("cannot write to standard output");
		return EX_IOERR;
	}
	return rc;
}

int cli_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "database", required_argument, NULL, 'd' },
		{ "set", required_argument, NULL, 's' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const struct cli_command *cmd;
	struct cli cli = { 0 };
	const char *config_path = NULL;
	const char *database = NULL;
	char **sets = NULL;
	size_t sets_cap = 0;
	int nsets = 0;
	char *cmdline = NULL;
	int rc = EX_SOFTWARE;
	int c;

	/* A closed pipe (e.g. "| head") must not kill us mid-write to the
	 * database; write errors are reported where they happen. */
	signal(SIGPIPE, SIG_IGN);
	opterr = 0;
	optind = 0;
	/* "+": stop at the command name; its options are its own. */
	while ((c = getopt_long(argc, argv, "+c:d:vqhV", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			config_path = optarg;
			break;
		case 'd':
			database = optarg;
			break;
		case 's':
			xgrow(&sets, &sets_cap, (size_t)nsets + 1,
			      sizeof(*sets));
			sets[nsets++] = optarg;
			break;
		case 'v':
			log_set_level(LOG_LEVEL_DEBUG);
			break;
		case 'q':
			log_set_level(LOG_LEVEL_ERROR);
			break;
		case 'h':
			rc = cmd_help(&cli, 1, argv);
			goto out;
		case 'V':
			printf("certrecall %s\n", CERTRECALL_VERSION);
			rc = 0;
			goto out;
		default:
			if (optopt)
				rc = cli_usage_error(
					NULL, "unknown option '-%c'", optopt);
			else
				rc = cli_usage_error(NULL,
						     "unknown option '%s'",
						     argv[optind - 1]);
			goto out;
		}
	}
	if (optind >= argc) {
		rc = cli_usage_error(NULL, "no command given");
		goto out;
	}
	cmd = cli_find(argv[optind]);
	if (cmd == NULL) {
		rc = cli_usage_error(NULL, "unknown command '%s'",
				     argv[optind]);
		goto out;
	}

	/*
	 * "COMMAND ... --help" needs no configuration, database or valid
	 * arguments. */
	for (int i = optind + 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0) {
			rc = cli_help(cmd->name);
			goto out;
		}
	}
	cli.cfg = config_new();
	if (load_config(cli.cfg, config_path, sets, nsets, database) < 0) {
		rc = EX_CONFIG;
		goto out;
	}
	schema_must_be_current =
		(cmd->flags & CLI_NEEDS_DB) && cmd->fn != cmd_db;
	if (load_clock() < 0) {
		rc = EX_CONFIG;
		goto out;
	}
	cmdline = join_args(argc, argv);
	db_set_command(cmdline);
	/* Each command parses its own options from a fresh getopt state. */
	int first = optind;
	optind = 0;
	/* ... and reports a bad one itself, through the log. */
	opterr = 0;
	rc = cmd->fn(&cli, argc - first, argv + first);
out:
	db_close(cli.db);
	db_set_command(NULL);
	config_free(cli.cfg);
	free(cmdline);
	free(sets);
	return stdout_status(rc);
}
