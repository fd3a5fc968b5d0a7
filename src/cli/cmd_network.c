/* network create|ls|inspect|rm|prune, with docker's output and messages. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/format.h"
#include "engine/network.h"
#include "util/cleanup.h"
#include "util/fs.h"

#define HELP_OPT { "help", no_argument, NULL, 'H' }

/* docker's errors: the daemon's with its prefix, a missing network without. */
static int network_fail(const struct err *err)
{
	if (!strncmp(err->msg, "No such network", 15))
		fprintf(stderr, "Error: %s\n", err->msg);
	else
		fprintf(stderr, "Error response from daemon: %s\n", err->msg);
	return 1;
}

static int network_create_cmd(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = { { "subnet", required_argument, NULL, 's' },
					      { "gateway", required_argument, NULL, 'g' },
					      { "internal", no_argument, NULL, 'i' },
					      { "driver", required_argument, NULL, 'd' },
					      { "label", required_argument, NULL, 'l' },
					      { "opt", required_argument, NULL, 'o' },
					      HELP_OPT, { 0 } };
	struct network_create_opts o = { 0 };
	_cleanup_free_ char *id = NULL;
	struct err err = { 0 };
	int c, code = 0;

	while ((c = getopt_long(argc, argv, "+d:o:", opts, NULL)) != -1) {
		switch (c) {
		case 's': o.subnet = optarg; break;
		case 'g': o.gateway = optarg; break;
		case 'i': o.internal = true; break;
		case 'd': o.driver = optarg; break;
		case 'l': strv_push(&o.labels, optarg); break;
		case 'o': strv_push(&o.options, optarg); break;
		case 'H':
			puts("Usage:  isobox network create [--subnet CIDR] [--gateway IP] "
			     "[--internal] [-d bridge] [--label K=V] [-o K=V] NETWORK");
			goto out;
		default: code = cli_usage("network create", "unknown flag"); goto out;
		}
	}
	if (argc - optind != 1) {
		code = cli_usage("network create", "requires exactly 1 argument");
		goto out;
	}
	o.name = argv[optind];
	if (network_create(cli->root, &o, &id, &err) < 0)
		code = network_fail(&err);
	else
		printf("%s\n", id);
out:
	strv_free(&o.labels);
	strv_free(&o.options);
	return code;
}

static json_t *ls_row(json_t *n, bool notrunc)
{
	char id[65];
	const char *full = json_string_value(json_object_get(n, "Id"));

	snprintf(id, sizeof(id), notrunc ? "%s" : "%.12s", full);
	return json_pack("{s:s, s:O, s:O, s:O, s:s, s:s, s:O, s:O}", "ID", id, "Name",
			 json_object_get(n, "Name"), "Driver", json_object_get(n, "Driver"),
			 "Scope", json_object_get(n, "Scope"), "IPv6", "false", "Internal",
			 json_is_true(json_object_get(n, "Internal")) ? "true" : "false",
			 "CreatedAt", json_object_get(n, "Created"), "Labels",
			 json_object_get(n, "Labels"));
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(json_string_value(json_object_get(*(json_t *const *)a, "Name")),
		      json_string_value(json_object_get(*(json_t *const *)b, "Name")));
}

/* docker's tabwriter: minimum width 10, padding 3. */
static int col_width(json_t **rows, size_t n, const char *key, const char *head)
{
	size_t w = strlen(head), i;

	for (i = 0; i < n; i++) {
		size_t l = strlen(json_string_value(json_object_get(rows[i], key)));

		w = l > w ? l : w;
	}
	return (int)(w + 3 < 10 ? 10 : w + 3);
}

static int network_ls_cmd(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = { { "quiet", no_argument, NULL, 'q' },
					      { "no-trunc", no_argument, NULL, 'n' },
					      { "format", required_argument, NULL, 'f' },
					      HELP_OPT, { 0 } };
	static const char *const keys[] = { "ID", "Name", "Driver", "Scope" };
	static const char *const heads[] = { "NETWORK ID", "NAME", "DRIVER", "SCOPE" };
	_cleanup_json_ json_t *list = NULL;
	_cleanup_free_ json_t **rows = NULL;
	bool quiet = false, notrunc = false;
	const char *fmt = NULL;
	struct err err = { 0 };
	int c, w[4];
	size_t i, n, k;

	while ((c = getopt_long(argc, argv, "+qf:", opts, NULL)) != -1) {
		switch (c) {
		case 'q': quiet = true; break;
		case 'n': notrunc = true; break;
		case 'f': fmt = optarg; break;
		case 'H': puts("Usage:  isobox network ls [-q] [--no-trunc] [--format TEMPLATE]");
			return 0;
		default: return cli_usage("network ls", "unknown flag");
		}
	}
	if (optind < argc)
		return cli_usage("network ls", "accepts no arguments");
	if (network_list(cli->root, &list, &err) < 0)
		return cli_fail(&err);
	n = json_array_size(list);
	rows = xmalloc((n + 1) * sizeof(*rows));
	for (i = 0; i < n; i++)
		rows[i] = ls_row(json_array_get(list, i), notrunc);
	qsort(rows, n, sizeof(*rows), name_cmp);
	for (k = 0; k < 4; k++)
		w[k] = col_width(rows, n, keys[k], heads[k]);
	if (!quiet && !fmt)
		printf("%-*s%-*s%-*s%s\n", w[0], heads[0], w[1], heads[1], w[2], heads[2],
		       heads[3]);
	for (i = 0; i < n; i++) {
		if (quiet) {
			printf("%s\n", json_string_value(json_object_get(rows[i], "ID")));
		} else if (fmt && !strcmp(fmt, "json")) {
			_cleanup_free_ char *s = json_dumps(rows[i], JSON_COMPACT);

			printf("%s\n", s);
		} else if (fmt) {
			if (format_template(stdout, fmt, rows[i]) < 0) {
				for (; i < n; i++)
					json_decref(rows[i]);
				return cli_usage("network ls", "template not supported: %s", fmt);
			}
		} else {
			printf("%-*s%-*s%-*s%s\n", w[0],
			       json_string_value(json_object_get(rows[i], "ID")), w[1],
			       json_string_value(json_object_get(rows[i], "Name")), w[2],
			       json_string_value(json_object_get(rows[i], "Driver")),
			       json_string_value(json_object_get(rows[i], "Scope")));
		}
		json_decref(rows[i]);
	}
	return 0;
}

static int network_inspect_cmd(struct cli *cli, int argc, char **argv)
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
			puts("Usage:  isobox network inspect [-f TEMPLATE] NETWORK [NETWORK...]");
			return 0;
		} else
			return cli_usage("network inspect", "unknown flag");
	}
	if (optind >= argc)
		return cli_usage("network inspect", "requires at least 1 argument");
	for (i = optind; i < argc; i++) {
		struct err err = { 0 };

		if (network_inspect(cli->root, argv[i], &j, &err) < 0) {
			fprintf(stderr, "Error: %s\n", err.msg);
			code = 1;
			continue;
		}
		json_array_append_new(arr, j);
	}
	if (!fmt) {
		format_json_pretty(stdout, arr);
		return code;
	}
	json_array_foreach(arr, k, j)
		if (format_template(stdout, fmt, j) < 0)
			return cli_usage("network inspect", "template not supported: %s", fmt);
	return code;
}

static int network_rm_cmd(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = { HELP_OPT, { 0 } };
	int c, code = 0, i;

	while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		if (c == 'H') {
			puts("Usage:  isobox network rm NETWORK [NETWORK...]");
			return 0;
		}
		return cli_usage("network rm", "unknown flag");
	}
	if (optind >= argc)
		return cli_usage("network rm", "requires at least 1 argument");
	for (i = optind; i < argc; i++) {
		struct err err = { 0 };

		if (network_remove(cli->root, argv[i], &err) < 0)
			code = network_fail(&err);
		else
			printf("%s\n", argv[i]);
	}
	return code;
}

static int network_prune_cmd(struct cli *cli, int argc, char **argv)
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
			puts("Usage:  isobox network prune [-f]");
			return 0;
		} else
			return cli_usage("network prune", "unknown flag");
	}
	if (!force) {
		char answer[16] = "";

		fputs("WARNING! This will remove all custom networks not used by at least one "
		      "container.\nAre you sure you want to continue? [y/N] ", stdout);
		fflush(stdout);
		if (!fgets(answer, sizeof(answer), stdin) ||
		    (strcmp(answer, "y\n") && strcmp(answer, "Y\n") && strcmp(answer, "y") &&
		     strcmp(answer, "Y")))
			return 0;
	}
	if (network_prune(cli->root, &removed, &err) < 0)
		return network_fail(&err);
	if (removed.n)
		puts("Deleted Networks:");
	for (i = 0; i < removed.n; i++)
		printf("%s\n", removed.v[i]);
	strv_free(&removed);
	return 0;
}

int cmd_network(struct cli *cli, int argc, char **argv)
{
	static const struct {
		const char *name, *alias;
		int (*fn)(struct cli *, int, char **);
	} subs[] = {
		{ "create", NULL, network_create_cmd }, { "ls", "list", network_ls_cmd },
		{ "inspect", NULL, network_inspect_cmd }, { "rm", "remove", network_rm_cmd },
		{ "prune", NULL, network_prune_cmd },
	};
	size_t i;

	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		puts("Usage:  isobox network COMMAND\n\nManage networks\n\nCommands:\n"
		     "  create      Create a network\n"
		     "  inspect     Display detailed information on one or more networks\n"
		     "  ls          List networks\n"
		     "  prune       Remove all unused networks\n"
		     "  rm          Remove one or more networks");
		return argc < 2 ? ERR_RUNTIME : 0;
	}
	for (i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
		if (!strcmp(argv[1], subs[i].name) ||
		    (subs[i].alias && !strcmp(argv[1], subs[i].alias))) {
			optind = 1;
			return subs[i].fn(cli, argc - 1, argv + 1);
		}
	}
	return cli_usage("network", "unknown command \"%s\"", argv[1]);
}
