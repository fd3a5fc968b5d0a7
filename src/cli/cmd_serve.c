/* isobox serve: the Docker Engine API on a unix socket (api/). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "cli/cli.h"

#define SERVE_USAGE "Usage:  isobox serve [--host unix:///run/isobox/docker.sock] [--group isobox]\n"

int cmd_serve(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "host", required_argument, NULL, 'H' }, { "group", required_argument, NULL, 'g' },
		{ "help", no_argument, NULL, 'h' },       { 0 },
	};
	struct api_serve_opts o = { .ctx = { .root = cli->root, .config = cli->config,
					     .default_isolation = cli->default_isolation },
				    .socket_path = "/run/isobox/docker.sock", .group = "isobox" };
	struct err err = { 0 };
	int opt;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "H:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'H':
			/* Only a unix socket: nothing listens on TCP unless asked, and
			 * isobox does not offer it yet. */
			if (strncmp(optarg, "unix://", 7) || optarg[7] != '/')
				return cli_usage("serve", "--host %s: only unix:///ABSOLUTE/PATH "
						 "is served", optarg);
			o.socket_path = optarg + 7;
			break;
		case 'g': o.group = optarg; break;
		case 'h': printf(SERVE_USAGE); return 0;
		default: return cli_usage("serve", "unknown flag");
		}
	}
	if (optind != argc)
		return cli_usage("serve", "takes no arguments");
	if (api_serve(&o, &err) < 0)
		return cli_fail(&err);
	return 0;
}
