#include <getopt.h>

#include "engine/host_config.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "util/fs.h"

#include "util/version.h"

struct command {
	const char *name;
	int (*fn)(struct cli *cli, int argc, char **argv);
	const char *help;
};

static const struct command commands[] = {
	{ "run", cmd_run, "Create and run a new container from an image" },
	{ "create", cmd_create, "Create a new container" },
	{ "start", cmd_start, "Start one or more stopped containers" },
	{ "stop", cmd_stop, "Stop one or more running containers" },
	{ "kill", cmd_kill, "Kill one or more running containers" },
	{ "restart", cmd_restart, "Restart one or more containers" },
	{ "rm", cmd_rm, "Remove one or more containers" },
	{ "ps", cmd_ps, "List containers" },
	{ "logs", cmd_logs, "Fetch the logs of a container" },
	{ "inspect", cmd_inspect, "Return low-level information on containers or images" },
	{ "wait", cmd_wait, "Block until containers stop, then print their exit codes" },
	{ "exec", cmd_exec, "Run a command in a running container" },
	{ "pull", cmd_pull, "Download an image from a registry" },
	{ "commit", cmd_commit, "Create a new image from a container's changes" },
	{ "import", cmd_import, "Import a rootfs tarball to create an image" },
	{ "images", cmd_images, "List images" },
	{ "rmi", cmd_rmi, "Remove one or more images" },
	{ "push", cmd_push, "Upload an image to a registry" },
	{ "login", cmd_login, "Authenticate to a registry" },
	{ "logout", cmd_logout, "Log out from a registry" },
	{ "tag", cmd_tag, "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE" },
	{ "history", cmd_history, "Show the history of an image" },
	{ "save", cmd_save, "Save one or more images to a tar archive" },
	{ "load", cmd_load, "Load an image from a tar archive or STDIN" },
	{ "image", cmd_image, "Manage images (inspect, ls, rm, import, tag, history, save, load, prune)" },
	{ "port", cmd_port, "List port mappings or a specific mapping for the container" },
	{ "rename", cmd_rename, "Rename a container" },
	{ "top", cmd_top, "Display the running processes of a container" },
	{ "network", cmd_network, "Manage networks (create, ls, inspect, rm, prune)" },
	{ "cp", cmd_cp, "Copy files/folders between a container and the local filesystem" },
	{ "volume", cmd_volume, "Manage volumes (create, ls, inspect, rm, prune)" },
	{ "kernel", cmd_kernel, "Manage the guest kernels of Hyper-V isolation" },
	{ "policy", cmd_policy, "Explain which isolation a container would get, and why" },
	{ "events", cmd_events, "Show the containers' events" },
	{ "info", cmd_info, "Display system-wide information" },
	{ "version", cmd_version, "Show the isobox version" },
	{ "serve", cmd_serve, "Serve the Docker Engine API on a unix socket" },
};

int cli_fail(const struct err *err)
{
	fprintf(stderr, "isobox: %s\n", err->msg);
	return err->kind ? err->kind : ERR_RUNTIME;
}

int cli_usage(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "isobox %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nSee 'isobox %s --help'.\n", cmd);
	return ERR_RUNTIME;
}

static void usage(FILE *out)
{
	size_t i;

	fputs("Usage:  isobox [OPTIONS] COMMAND\n\n"
	      "A container runtime with two isolation modes: process and hyperv.\n\n"
	      "Options:\n"
	      "      --root DIR   Root of isobox's state (default /var/lib/isobox)\n"
	      "      --config FILE  The host's configuration (default $ISOBOX_CONFIG, else\n"
	      "                   /etc/isobox/isobox.conf)\n"
	      "      --default-isolation MODE  The default isolation: process, hyperv (vm),\n"
	      "                   default (the host's role)\n"
	      "  -v, --version    Print version information and quit\n\n"
	      "Commands:\n", out);
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (commands[i].help)
			fprintf(out, "  %-9s %s\n", commands[i].name, commands[i].help);
	fputs("\nRun 'isobox COMMAND --help' for more information on a command.\n", out);
}

int cli_host_config(const struct cli *cli, struct host_config *c, struct err *err)
{
	int mode;

	if (cli->default_isolation &&
	    isolation_value(cli->default_isolation, "--default-isolation", false, &mode, err) < 0)
		return -1;
	return host_config_load(cli->config, c, err);
}

int cmd_version(struct cli *cli, int argc, char **argv)
{
	printf("isobox version %s\n", ISOBOX_VERSION);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "root", required_argument, NULL, 'r' },
		{ "config", required_argument, NULL, 'c' },
		{ "default-isolation", required_argument, NULL, 'i' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'v' },
		{ 0 },
	};
	struct cli cli = { .root = getenv("ISOBOX_ROOT"), .argv0 = argv[0] };
	const char *name = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
	char *root_abs = NULL;
	size_t i;
	int c;

	/* Started as isobox-runtime (a link to this binary): runc's command line. */
	if (!strncmp(name, "isobox-runtime", 14))
		return runtime_main(argc, argv);
	if (!cli.root || !*cli.root)
		cli.root = "/var/lib/isobox";
	while ((c = getopt_long(argc, argv, "+hv", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			cli.root = optarg;
			break;
		case 'c':
			cli.config = optarg;
			break;
		case 'i':
			cli.default_isolation = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'v':
			return cmd_version(&cli, 0, NULL);
		default:
			usage(stderr);
			return ERR_RUNTIME;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return ERR_RUNTIME;
	}
	/* State records paths (bundles, images, kernels) that the monitor, which
	 * runs from "/", must find: keep the root absolute. */
	if (cli.root[0] != '/') {
		char cwd[4096];

		if (!getcwd(cwd, sizeof(cwd))) {
			perror("isobox: getcwd");
			return ERR_RUNTIME;
		}
		cli.root = root_abs = xasprintf("%s/%s", cwd, cli.root);
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (!strcmp(argv[optind], commands[i].name)) {
			int sub_argc = argc - optind;
			char **sub_argv = argv + optind;

			optind = 1;
			return commands[i].fn(&cli, sub_argc, sub_argv);
		}
	}
	fprintf(stderr, "isobox: '%s' is not an isobox command.\nSee 'isobox --help'.\n",
		argv[optind]);
	return ERR_RUNTIME;
}
