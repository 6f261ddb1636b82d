/*
 * cli - git-style subcommands dispatched from one table.
 *
 *   certrecall [-c FILE] [-d CONNINFO] [--set KEY=VALUE] [-v|-q] COMMAND ...
 *
 * Each subcommand is cmd_<name>() in src/cmd_<name>.c.  It receives its own
 * argv (argv[0] is the command name), parses its options with getopt_long,
 * and returns an exit code from <sysexits.h>.  Flags in the table say what
 * the dispatcher must prepare first (configuration, a database connection).
 */
#ifndef CERTRECALL_CLI_H
#define CERTRECALL_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <time.h>

#include "certrecall/core/jsonout.h"
#include "certrecall/base/xalloc.h"

struct config;
struct db;
struct incident;

struct cli {
	struct config *cfg; /* always loaded */
	struct db *db;	    /* connected for CLI_NEEDS_DB commands */
};

/* What a command needs; CLI_NEEDS_DB commands call cli_connect(). */
enum cli_flags {
	CLI_NEEDS_DB = 1 << 0,
};

struct cli_command {
	const char *name;
	int (*fn)(struct cli *cli, int argc, char **argv);
	unsigned flags;
	const char *summary;
	const char *usage; /* full help text, starts with "usage: ..." */
};

/* The table, in the order `certrecall help` lists it. */
const struct cli_command *cli_commands(size_t *count);
/* NULL if there is no such command. */
const struct cli_command *cli_find(const char *name);

/*
 * The whole program: returns the exit code.  CLI_EXIT_SIGPIPE when a write
 * to standard output failed because its reader had gone (`| head -1`):
 * nothing is printed about it, and main() ends by SIGPIPE, as coreutils
 * do (shell status 141).  SIGPIPE itself is ignored while running, so a
 * closed socket never kills a half-done database or SMTP exchange.
 */
#define CLI_EXIT_SIGPIPE (128 + 13)
int cli_main(int argc, char **argv);

/* True when standard output is a pipe (or socket) whose reader has
 * gone; a failed write to it is no error to report. */
bool cli_stdout_gone(void);

/*
 * For commands: logs "certrecall CMD: MESSAGE" and a hint (an error, stamped
 * in UTC like every message on stderr) and
 * returns EX_USAGE (64).
 */
int cli_usage_error(const char *command, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/*
 * For commands that take no options: parses argv (argv[0] is the command
 * or subcommand name).  Returns 0 to go on (optind is at the first
 * argument), 1 when --help was printed (exit 0), -1 after a usage error
 * (exit EX_USAGE).
 */
CR_MUST_CHECK int cli_parse_no_options(const char *command, int argc,
				       char **argv);
/*
 * Like cli_parse_no_options, for commands whose only option is --json
 * (one JSON document, certrecall/jsonout.h): sets *mode.  The arguments
 * are permuted to the end, from optind.
 */
CR_MUST_CHECK int cli_parse_json_only(const char *command, int argc,
				      char **argv, enum jsonout_mode *mode);
/* For getopt's '?': "unknown or incomplete option 'X'", EX_USAGE. */
int cli_bad_option(const char *command, char **argv);

/*
 * Connects to the database, once; commands call it after their options
 * are checked, so a usage error never waits for a server.  0 or -1
 * (logged; the command exits EX_UNAVAILABLE).
 */
CR_MUST_CHECK int cli_connect(struct cli *cli);

/*
 * The usual tail of a command's arguments: exactly one incident SLUG left
 * at optind.  Connects and loads it into *inc (caller frees).  Returns 0,
 * or the exit code after reporting (usage 64, unavailable 69, no such
 * incident 65).
 */
CR_MUST_CHECK int cli_open_incident(struct cli *cli, const char *command,
				    int argc, char **argv,
				    struct incident **inc);

/*
 * A whole number 0..max for option opt; returns 0, or EX_USAGE after
 * printing a usage error.
 */
/*
 * Where a command writes its data (-o PATH): standard output for NULL or
 * "-"; a device or a pipe directly; a regular file as PATH.tmp-PID,
 * renamed into place by cli_output_close() only when everything was
 * written, so a reader never sees half a file.
 */
struct cli_output {
	FILE *f;
	const char *path; /* NULL: standard output */
	bool direct;	  /* device or pipe, written in place */
	char tmp[4096];
};
/* 0, or EX_CANTCREAT (logged). */
CR_MUST_CHECK int cli_output_open(struct cli_output *o, const char *path);
/* Closes; with ok (the data is complete) puts the file in place, else
 * removes it.  0, or EX_IOERR.  A write error on o->f is logged here
 * (writers just return -1), except on a standard output whose reader
 * has gone (cli_stdout_gone). */
CR_MUST_CHECK int cli_output_close(struct cli_output *o, bool ok);

/* Parses a TIME option (utctime_parse); 0, or EX_DATAERR (logged as
 * "OPT: what is wrong"). */
CR_MUST_CHECK int cli_parse_time(const char *opt, const char *s, time_t *out);

CR_MUST_CHECK int cli_parse_count(const char *command, const char *opt,
				  const char *s, long long max, long long *out);
/* Prints the command's usage text to stdout; returns 0. */
int cli_help(const char *command);

/* Subcommands. */
int cmd_help(struct cli *cli, int argc, char **argv);
int cmd_db(struct cli *cli, int argc, char **argv);
int cmd_config(struct cli *cli, int argc, char **argv);
int cmd_incident(struct cli *cli, int argc, char **argv);
int cmd_rules(struct cli *cli, int argc, char **argv);
int cmd_deadlines(struct cli *cli, int argc, char **argv);
int cmd_status(struct cli *cli, int argc, char **argv);
int cmd_report(struct cli *cli, int argc, char **argv);
int cmd_import(struct cli *cli, int argc, char **argv);
int cmd_notify(struct cli *cli, int argc, char **argv);
int cmd_scan(struct cli *cli, int argc, char **argv);
int cmd_export_revocations(struct cli *cli, int argc, char **argv);
int cmd_revcheck(struct cli *cli, int argc, char **argv);
int cmd_check(struct cli *cli, int argc, char **argv);
int cmd_bounces(struct cli *cli, int argc, char **argv);
int cmd_serve(struct cli *cli, int argc, char **argv);
int cmd_export_ari(struct cli *cli, int argc, char **argv);

#endif
