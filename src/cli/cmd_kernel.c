/* isobox kernel install [--path FILE [--config FILE]] | ls | rm NAME: the guest kernels of
 * Hyper-V isolation. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "engine/kernel.h"
#include "util/cleanup.h"

static int kernel_usage(void)
{
	return cli_usage("kernel", "usage: isobox kernel install [--path FILE [--config FILE]] | ls | rm NAME");
}

int cmd_kernel(struct cli *cli, int argc, char **argv)
{
	struct err err = { 0 };

	if (argc < 2 || !strcmp(argv[1], "--help"))
		return argc < 2 ? kernel_usage() : (puts("Usage:  isobox kernel install [--path FILE [--config FILE]] | ls | rm NAME"), 0);
	if (!strcmp(argv[1], "install")) {
		_cleanup_free_ char *name = NULL;
		const char *path = NULL, *config = NULL;

		if ((argc == 4 || argc == 6) && !strcmp(argv[2], "--path"))
			path = argv[3];
		if (argc == 6 && !strcmp(argv[4], "--config"))
			config = argv[5];
		if (argc != 2 && !(argc == 4 && path) && !(argc == 6 && path && config))
			return kernel_usage();
		if (kernel_install(cli->root, path, config, &name, &err) < 0)
			return cli_fail(&err);
		printf("%s\n", name);
		return 0;
	}
	if (!strcmp(argv[1], "ls") && argc == 2) {
		_cleanup_json_ json_t *list = NULL;
		json_t *k;
		size_t i;

		if (kernel_list(cli->root, &list, &err) < 0)
			return cli_fail(&err);
		printf("%-28s %-10s %-7s %s\n", "NAME", "VERSION", "CONFIG", "PATH");
		json_array_foreach(list, i, k)
			printf("%-28s %-10s %-7s %s\n", json_string_value(json_object_get(k, "Name")),
			       json_string_value(json_object_get(k, "Version")),
			       json_is_true(json_object_get(k, "Config")) ? "yes" : "no",
			       json_string_value(json_object_get(k, "Path")));
		return 0;
	}
	if (!strcmp(argv[1], "rm") && argc == 3) {
		if (kernel_remove(cli->root, argv[2], &err) < 0)
			return cli_fail(&err);
		printf("%s\n", argv[2]);
		return 0;
	}
	return kernel_usage();
}
