/*
 * test_cli.c - the command table and dispatch.
 */
#include <string.h>
#include <sysexits.h>

#include "certrecall/cmd/cli.h"
#include "unit.h"

START_TEST(every_command_is_complete)
{
	size_t n;
	const struct cli_command *cmds = cli_commands(&n);

	ck_assert_uint_gt(n, 0);
	for (size_t i = 0; i < n; i++) {
		char prefix[64];

		ck_assert_ptr_nonnull(cmds[i].fn);
		ck_assert_uint_gt(strlen(cmds[i].summary), 0);
		snprintf(prefix, sizeof(prefix), "usage: certrecall %s",
			 cmds[i].name);
		ck_assert_msg(strncmp(cmds[i].usage, prefix, strlen(prefix)) ==
				      0,
			      "%s: usage must start with \"%s\"", cmds[i].name,
			      prefix);
		/* Summaries are lower-case with no trailing period. */
		ck_assert_msg(cmds[i].summary[strlen(cmds[i].summary) - 1] !=
				      '.',
			      "%s", cmds[i].name);
	}
}
END_TEST

START_TEST(command_names_are_unique_and_found)
{
	size_t n;
	const struct cli_command *cmds = cli_commands(&n);

	for (size_t i = 0; i < n; i++) {
		ck_assert_ptr_eq(cli_find(cmds[i].name), &cmds[i]);
		for (size_t j = i + 1; j < n; j++)
			ck_assert_str_ne(cmds[i].name, cmds[j].name);
	}
	ck_assert_ptr_null(cli_find("frobnicate"));
	ck_assert_ptr_null(cli_find(""));
	ck_assert_ptr_null(cli_find("DB"));
}
END_TEST

START_TEST(database_commands_are_flagged)
{
	ck_assert(cli_find("db")->flags & CLI_NEEDS_DB);
	ck_assert(!(cli_find("help")->flags & CLI_NEEDS_DB));
	ck_assert(!(cli_find("config")->flags & CLI_NEEDS_DB));
}
END_TEST

static const struct {
	const char *args[6];
	int want;
} dispatch[] = {
	{ { "certrecall", NULL }, EX_USAGE },
	{ { "certrecall", "frobnicate", NULL }, EX_USAGE },
	{ { "certrecall", "--frobnicate", NULL }, EX_USAGE },
	{ { "certrecall", "-x", "help", NULL }, EX_USAGE },
	{ { "certrecall", "help", NULL }, 0 },
	{ { "certrecall", "help", "db", NULL }, 0 },
	{ { "certrecall", "help", "frobnicate", NULL }, EX_USAGE },
	{ { "certrecall", "db", "--help", NULL }, 0 },
	{ { "certrecall", "--version", NULL }, 0 },
	{ { "certrecall", "config", NULL }, EX_USAGE },
	{ { "certrecall", "config", "check", NULL }, 0 },
	{ { "certrecall", "config", "show", "x", NULL }, EX_USAGE },
	{ { "certrecall", "--set", "smtp.port=x", "config", "check", NULL },
	  EX_CONFIG },
	{ { "certrecall", "--set", "nonsense", "config", "check", NULL },
	  EX_CONFIG },
	{ { "certrecall", "-c", "/nonexistent.ini", "config", "check", NULL },
	  EX_CONFIG },
};

START_TEST(dispatch_returns_sysexits_codes)
{
	char *argv[6];
	int argc = 0;
	int rc;

	while (dispatch[_i].args[argc] != NULL) {
		argv[argc] = (char *)dispatch[_i].args[argc];
		argc++;
	}
	argv[argc] = NULL;
	unit_capture_begin();
	rc = cli_main(argc, argv);
	free(unit_capture_end());
	ck_assert_msg(rc == dispatch[_i].want, "case %d (%s %s): got %d", _i,
		      argv[1] ? argv[1] : "", argc > 2 ? argv[2] : "", rc);
}
END_TEST

static Suite *cli_suite(void)
{
	Suite *s = suite_create("cli");
	TCase *tc = tcase_create("cli");

	/* The environment must not reach into these cases. */
	unsetenv("CERTRECALL_CONFIG");
	unsetenv("CERTRECALL_DATABASE");
	tcase_add_test(tc, every_command_is_complete);
	tcase_add_test(tc, command_names_are_unique_and_found);
	tcase_add_test(tc, database_commands_are_flagged);
	tcase_add_loop_test(tc, dispatch_returns_sysexits_codes, 0,
			    (int)(sizeof(dispatch) / sizeof(dispatch[0])));
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(cli_suite)
