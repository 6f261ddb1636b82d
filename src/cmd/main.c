/*
 * main.c - certrecall's entry point; everything else is in the library so
 * that the unit tests can reach it.
 */
#include <signal.h>

#include "certrecall/cmd/cli.h"

int main(int argc, char **argv)
{
	int rc = cli_main(argc, argv);

	if (rc == CLI_EXIT_SIGPIPE) {
		/* Everything is closed: end as coreutils do on "| head". */
		signal(SIGPIPE, SIG_DFL);
		raise(SIGPIPE);
	}
	return rc;
}
