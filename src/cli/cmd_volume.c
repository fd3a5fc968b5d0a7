/* volume create|ls|inspect|rm|prune, with docker's output and messages. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/format.h"
#include "engine/volume.h"
#include "util/cleanup.h"
#include "util/fs.h"

#define HELP_OPT { "help", no_argument, NULL, 'H' }

/* docker's daemon errors: prefixed, exit 1. */
static int volume_fail(const struct err *err)
{
	fprintf(stderr, "Error response from daemon: %s\n", err->msg);
	return 1;
}

static int volume_create_cmd(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = { { "driver", required_argument, NULL, 'd' },
					      { "label", required_argument, NULL, 'l' },
					      { "opt", required_argument, NULL, 'o' },
					      { "name", required_argument, NULL, 'n' },
					      HELP_OPT, { 0 } };
	struct volume_create_opts o = { 0 };
	_cleanup_free_ char *name = NULL;
	struct err err = { 0 };
	int c, code = 0;

	while ((c = getopt_long(argc, argv, "+d:o:", opts, NULL)) != -1) {
		switch (c) {
		case 'd': o.driver = optarg; break;
		case 'l': strv_push(&o.labels, optarg); break;
		case 'o': strv_push(&o.options, optarg); break;
		case 'n': o.name = optarg; break;
		case 'H':
			puts("Usage:  isobox volume create [-d local] [--label K=V] [-o K=V] [VOLUME]");
			goto out;
		default: code = cli_usage("volume create", "unknown flag"); goto out;
		}
	}
	if (argc - optind > 1 || (o.name && argc - optind == 1)) {
		code = cli_usage("volume create", "requires at most 1 argument");
		goto out;
	}
	if (argc - optind == 1)
		o.name = argv[optind];
	if (volume_create(cli->root, &o, &name, NULL, &err) < 0)
		code = volume_fail(&err);
	else
		printf("%s\n", name);
out:
	strv_free(&o.labels);
	strv_free(&o.options);
	return code;
}

/* docker's `volume ls --format` row: Labels as "k=v,k=v". */
static json_t *ls_row(json_t *v)
{
	_cleanup_free_ char *labels = xstrdup("");
	json_t *val;
	const char *k;

	json_object_foreach(json_object_get(v, "Labels"), k, val) {
		char *next = xasprintf("%s%s%s=%s", labels, *labels ? "," : "", k,
				       json_string_value(val) ?: "");

		free(labels);
		labels = next;
	}
	return json_pack("{s:s, s:O, s:s, s:s, s:s, s:O, s:O, s:s, s:s, s:s}",
			 "Availability", "N/A", "Driver", json_object_get(v, "Driver"), "Group",
			 "N/A", "Labels", labels, "Links", "N/A", "Mountpoint",
			 json_object_get(v, "Mountpoint"), "Name", json_object_get(v, "Name"),
			 "Scope", "local", "Size", "N/A", "Status", "N/A");
}

static int volume_ls_cmd(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = { { "quiet", no_argument, NULL, 'q' },
					      { "format", required_argument, NULL, 'f' },
					      HELP_OPT, { 0 } };
	_cleanup_json_ json_t *list = NULL;
	const char *fmt = NULL;
	bool quiet = false;
	struct err err = { 0 };
	json_t *v;
	size_t i;
	int c;

	while ((c = getopt_long(argc, argv, "+qf:", opts, NULL)) != -1) {
		switch (c) {
		case 'q': quiet = true; break;
		case 'f': fmt = optarg; break;
		case 'H': puts("Usage:  isobox volume ls [-q] [--format TEMPLATE]"); return 0;
		default: return cli_usage("volume ls", "unknown flag");
		}
	}
	if (optind < argc)
		return cli_usage("volume ls", "accepts no arguments");
	if (volume_list(cli->root, &list, &err) < 0)
		return volume_fail(&err);
	if (!quiet && !fmt)
		printf("%-10s%s\n", "DRIVER", "VOLUME NAME");
	json_array_foreach(list, i, v) {
		const char *name = json_string_value(json_object_get(v, "Name"));
		_cleanup_json_ json_t *row = NULL;

		if (quiet) {
			printf("%s\n", name);
			continue;
		}
		if (!fmt) {
			printf("%-10s%s\n", "local", name);
			continue;
		}
		row = ls_row(v);
		if (!strcmp(fmt, "json")) {
			_cleanup_free_ char *s = json_dumps(row, JSON_COMPACT | JSON_SORT_KEYS);

			printf("%s\n", s);
		} else if (format_template(stdout, fmt, row) < 0) {
			return cli_usage("volume ls", "template not supported: %s", fmt);
		}
	}
	return 0;
}

static int volume_inspect_cmd(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = { { "format", required_argument, NULL, 'f' },
					      HELP_OPT, { 0 } };
	_cleanup_json_ json_t *arr = json_array();
	const char *fmt = NULL;
	int c, code = 0, i;
	size_t k;
	json_t *j;

	while ((c = getopt_long(argc, argv, "+f:", opts, NULL)) != -1) {
		if (c == 'f')
			fmt = optarg;
		else if (c == 'H') {
			puts("Usage:  isobox volume inspect [-f TEMPLATE] VOLUME [VOLUME...]");
			return 0;
		} else
			return cli_usage("volume inspect", "unknown flag");
	}
	if (optind >= argc)
		return cli_usage("volume inspect", "requires at least 1 argument");
	for (i = optind; i < argc; i++) {
		struct err err = { 0 };

		if (volume_inspect(cli->root, argv[i], &j, &err) < 0) {
			code = 1;
			if (!fmt && json_array_size(arr) == 0 && i == argc - 1)
				puts("[]");
			volume_fail(&err);
			continue;
		}
		json_array_append_new(arr, j);
	}
	if (!fmt) {
		if (json_array_size(arr))
			format_json_pretty(stdout, arr);
		return code;
	}
	json_array_foreach(arr, k, j)
		if (format_template(stdout, fmt, j) < 0)
			return cli_usage("volume inspect", "template not supported: %s", fmt);
	return code;
}

static int volume_rm_cmd(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = { { "force", no_argument, NULL, 'f' }, HELP_OPT,
					      { 0 } };
	bool force = false;
	int c, code = 0, i;

	while ((c = getopt_long(argc, argv, "+f", opts, NULL)) != -1) {
		if (c == 'f')
			force = true;
		else if (c == 'H') {
			puts("Usage:  isobox volume rm [-f] VOLUME [VOLUME...]");
			return 0;
		} else
			return cli_usage("volume rm", "unknown flag");
	}
	if (optind >= argc)
		return cli_usage("volume rm", "requires at least 1 argument");
	for (i = optind; i < argc; i++) {
		struct err err = { 0 };

		if (volume_remove(cli->root, argv[i], force, &err) < 0)
			code = volume_fail(&err);
		else
			printf("%s\n", argv[i]);
	}
	return code;
}

static int volume_prune_cmd(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = { { "force", no_argument, NULL, 'f' }, HELP_OPT,
					      { 0 } };
	struct strv removed = { 0 };
	struct err err = { 0 };
	bool force = false;
	size_t i;
	int c;

	while ((c = getopt_long(argc, argv, "+f", opts, NULL)) != -1) {
		if (c == 'f')
			force = true;
		else if (c == 'H') {
			puts("Usage:  isobox volume prune [-f]");
			return 0;
		} else
			return cli_usage("volume prune", "unknown flag");
	}
	if (optind < argc)
		return cli_usage("volume prune", "accepts no arguments");
	if (!force) {
		char answer[16] = "";

		fputs("WARNING! This will remove all local volumes not used by at least one "
		      "container.\nAre you sure you want to continue? [y/N] ", stdout);
		fflush(stdout);
		if (!fgets(answer, sizeof(answer), stdin) ||
		    (strcmp(answer, "y\n") && strcmp(answer, "Y\n") && strcmp(answer, "y") &&
		     strcmp(answer, "Y")))
			return 0;
	}
	if (volume_prune(cli->root, &removed, &err) < 0)
		return volume_fail(&err);
	if (removed.n)
		puts("Deleted Volumes:");
	for (i = 0; i < removed.n; i++)
		printf("%s\n", removed.v[i]);
	if (removed.n)
		puts("");
	puts("Total reclaimed space: 0B");
	strv_free(&removed);
	return 0;
}

int cmd_volume(struct cli *cli, int argc, char **argv)
{
	static const struct {
		const char *name, *alias;
		int (*fn)(struct cli *, int, char **);
	} subs[] = {
		{ "create", NULL, volume_create_cmd }, { "ls", "list", volume_ls_cmd },
		{ "inspect", NULL, volume_inspect_cmd }, { "rm", "remove", volume_rm_cmd },
		{ "prune", NULL, volume_prune_cmd },
	};
	size_t i;

	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		puts("Usage:  isobox volume COMMAND\n\nManage volumes\n\nCommands:\n"
		     "  create      Create a volume\n"
		     "  inspect     Display detailed information on one or more volumes\n"
		     "  ls          List volumes\n"
		     "  prune       Remove all unused local volumes\n"
		     "  rm          Remove one or more volumes");
		return argc < 2 ? ERR_RUNTIME : 0;
	}
	for (i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
		if (!strcmp(argv[1], subs[i].name) ||
		    (subs[i].alias && !strcmp(argv[1], subs[i].alias))) {
			optind = 1;
			return subs[i].fn(cli, argc - 1, argv + 1);
		}
	}
	return cli_usage("volume", "unknown command \"%s\"", argv[1]);
}
