/*
 * cmd_config.c - `certrecall config check|show`.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "certrecall/cmd/cli.h"
#include "certrecall/core/config.h"
#include "certrecall/base/log.h"

int cmd_config(struct cli *cli, int argc, char **argv)
{
	enum jsonout_mode json;
	int r;

	if (argc < 2)
		return cli_usage_error("config", "expected 'check' or 'show'");
	r = cli_parse_json_only("config", argc - 1, argv + 1, &json);
	if (r != 0)
		return r > 0 ? 0 : EX_USAGE;
	if (optind < argc - 1)
		return cli_usage_error("config", "unexpected argument '%s'",
				       argv[optind + 1]);
	if (json != JSONOUT_NONE && strcmp(argv[1], "show") != 0)
		return cli_usage_error("config", "--json is for 'show'");
	if (strcmp(argv[1], "check") == 0) {
		/* Loading already validated every key; read the secret too. */
		char *password = NULL;

		if (config_read_password(cli->cfg, &password) < 0)
			return EX_CONFIG;
		free(password);
		printf("configuration is valid (%s)\n",
		       cli->cfg->path ? cli->cfg->path : "no file, defaults");
		return 0;
	}
	if (strcmp(argv[1], "show") == 0) {
		if (json != JSONOUT_NONE) {
			json_t *doc = jsonout_new("config-show");

			json_object_set_new(doc, "file",
					    jsonout_str(cli->cfg->path));
			json_object_set_new(doc, "settings",
					    config_json(cli->cfg));
			jsonout_write(doc, stdout, json);
			return 0;
		}
		config_print(cli->cfg, stdout);
		return 0;
	}
	return cli_usage_error("config", "unknown subcommand '%s'", argv[1]);
}
