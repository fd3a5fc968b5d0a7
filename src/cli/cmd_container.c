/* Container commands other than run/create: start, stop, kill, restart, rm,
 * wait, inspect, exec. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/format.h"
#include "engine/container.h"
#include "util/signal.h"
#include "engine/image.h"
#include "util/cleanup.h"
#include "util/fs.h"

/* Parse only --help and the given short options; returns the first operand's
 * index, or -1 with *code set. */
#define HELP_OPT { "help", no_argument, NULL, 'H' }

static int for_each_container(struct cli *cli, int argc, char **argv, int first,
			      int (*fn)(struct cli *, struct container *, void *, struct err *),
			      void *data, bool print_ref)
{
	int code = 0, i;

	for (i = first; i < argc; i++) {
		struct container c;
		struct err err = { 0 };

		if (container_find(cli->root, argv[i], &c, &err) < 0 ||
		    (fn(cli, &c, data, &err) < 0 && (container_free(&c), 1))) {
			fprintf(stderr, "Error response from daemon: %s\n", err.msg);
			code = 1;
			continue;
		}
		if (print_ref)
			printf("%s\n", argv[i]);
		container_free(&c);
	}
	return code;
}

static int do_start(struct cli *cli, struct container *c, void *data, struct err *err)
{
	int code;

	return container_start(cli->root, c, false, false, &code, err);
}

int cmd_start(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = { { "attach", no_argument, NULL, 'a' },
					      { "interactive", no_argument, NULL, 'i' },
					      HELP_OPT, { 0 } };
	bool attach = false, interactive = false;
	int c;

	while ((c = getopt_long(argc, argv, "+ai", opts, NULL)) != -1) {
		if (c == 'a')
			attach = true;
		else if (c == 'i')
			interactive = true;
		else if (c == 'H') {
			puts("Usage:  isobox start [-a] [-i] CONTAINER [CONTAINER...]");
			return 0;
		} else
			return cli_usage("start", "unknown flag");
	}
	if (optind >= argc)
		return cli_usage("start", "requires at least 1 argument");
	if (attach || interactive) {
		struct container ct;
		struct err err = { 0 };
		int code = 0;

		if (argc - optind > 1)
			return cli_usage("start", "you cannot start and attach multiple containers "
					 "at once");
		if (container_find(cli->root, argv[optind], &ct, &err) < 0)
			return cli_fail(&err);
		if (container_start(cli->root, &ct, true, interactive, &code, &err) < 0)
			code = cli_fail(&err);
		container_free(&ct);
		return code;
	}
	return for_each_container(cli, argc, argv, optind, do_start, NULL, true);
}

static int do_stop(struct cli *cli, struct container *c, void *data, struct err *err)
{
	return container_stop(c, *(int *)data, err);
}

static int parse_timeout(const char *cmd, int argc, char **argv, int *timeout)
{
	static const struct option opts[] = { { "time", required_argument, NULL, 't' },
					      { "timeout", required_argument, NULL, 't' },
					      HELP_OPT, { 0 } };
	char *end;
	int c;

	while ((c = getopt_long(argc, argv, "+t:", opts, NULL)) != -1) {
		if (c == 't') {
			*timeout = (int)strtol(optarg, &end, 10);
			if (end == optarg || *end || *timeout < -1)
				return cli_usage(cmd, "invalid --time %s", optarg);
			if (*timeout < 0)
				*timeout = 1 << 20;
		} else if (c == 'H') {
			printf("Usage:  isobox %s [-t SECONDS] CONTAINER [CONTAINER...]\n", cmd);
			return -1;
		} else {
			return cli_usage(cmd, "unknown flag");
		}
	}
	if (optind >= argc)
		return cli_usage(cmd, "requires at least 1 argument");
	return 0;
}

int cmd_stop(struct cli *cli, int argc, char **argv)
{
	int timeout = 10, r = parse_timeout("stop", argc, argv, &timeout);

	if (r)
		return r < 0 ? 0 : r;
	return for_each_container(cli, argc, argv, optind, do_stop, &timeout, true);
}

static int do_restart(struct cli *cli, struct container *c, void *data, struct err *err)
{
	if (container_stop(c, *(int *)data, err) < 0)
		return -1;
	return do_start(cli, c, NULL, err);
}

int cmd_restart(struct cli *cli, int argc, char **argv)
{
	int timeout = 10, r = parse_timeout("restart", argc, argv, &timeout);

	if (r)
		return r < 0 ? 0 : r;
	return for_each_container(cli, argc, argv, optind, do_restart, &timeout, true);
}

static int do_kill(struct cli *cli, struct container *c, void *data, struct err *err)
{
	return container_kill(c, data, err);
}

int cmd_kill(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = { { "signal", required_argument, NULL, 's' },
					      HELP_OPT, { 0 } };
	const char *sig = "KILL";
	int c;

	while ((c = getopt_long(argc, argv, "+s:", opts, NULL)) != -1) {
		if (c == 's') {
			sig = optarg;
		} else if (c == 'H') {
			puts("Usage:  isobox kill [-s SIGNAL] CONTAINER [CONTAINER...]");
			return 0;
		} else {
			return cli_usage("kill", "unknown flag");
		}
	}
	if (optind >= argc)
		return cli_usage("kill", "requires at least 1 argument");
	if (signal_parse(sig) < 0)
		return cli_usage("kill", "invalid signal: %s", sig);
	return for_each_container(cli, argc, argv, optind, do_kill, (void *)sig, true);
}

static int do_rm(struct cli *cli, struct container *c, void *data, struct err *err)
{
	const bool *flags = data;   /* force, volumes */

	return flags[1] ? container_remove_volumes(cli->root, c, flags[0], err)
			: container_remove(cli->root, c, flags[0], err);
}

int cmd_rm(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = { { "force", no_argument, NULL, 'f' },
					      { "volumes", no_argument, NULL, 'v' },
					      HELP_OPT, { 0 } };
	bool flags[2] = { false, false };   /* force, volumes */
	int c;

	while ((c = getopt_long(argc, argv, "+fv", opts, NULL)) != -1) {
		if (c == 'f' || c == 'v') {
			flags[c == 'v'] = true;
		} else if (c == 'H') {
			puts("Usage:  isobox rm [-f] [-v] CONTAINER [CONTAINER...]");
			return 0;
		} else {
			return cli_usage("rm", "unknown flag");
		}
	}
	if (optind >= argc)
		return cli_usage("rm", "requires at least 1 argument");
	return for_each_container(cli, argc, argv, optind, do_rm, flags, true);
}

static int do_wait(struct cli *cli, struct container *c, void *data, struct err *err)
{
	int code;

	if (container_wait(c, &code, err) < 0)
		return -1;
	printf("%d\n", code);
	return 0;
}

int cmd_wait(struct cli *cli, int argc, char **argv)
{
	if (argc < 2)
		return cli_usage("wait", "requires at least 1 argument");
	if (!strcmp(argv[1], "--help")) {
		puts("Usage:  isobox wait CONTAINER [CONTAINER...]");
		return 0;
	}
	return for_each_container(cli, argc, argv, 1, do_wait, NULL, false);
}

int cmd_inspect(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = { { "format", required_argument, NULL, 'f' },
					      { "type", required_argument, NULL, 'T' },
					      HELP_OPT, { 0 } };
	const char *fmt = NULL, *type = NULL;
	_cleanup_json_ json_t *all = json_array();
	int c, code = 0, i;
	size_t k;
	json_t *v;

	while ((c = getopt_long(argc, argv, "+f:", opts, NULL)) != -1) {
		if (c == 'f')
			fmt = optarg;
		else if (c == 'T')
			type = optarg;
		else if (c == 'H') {
			puts("Usage:  isobox inspect [-f FORMAT] [--type container|image] NAME|ID...");
			return 0;
		} else
			return cli_usage("inspect", "unknown flag");
	}
	if (optind >= argc)
		return cli_usage("inspect", "requires at least 1 argument");
	for (i = optind; i < argc; i++) {
		struct container ct;
		struct err err = { 0 };
		json_t *j = NULL;

		if ((!type || !strcmp(type, "container")) &&
		    container_find(cli->root, argv[i], &ct, &err) == 0) {
			if (container_inspect(&ct, &j, &err) < 0)
				j = NULL;
			container_free(&ct);
		} else if ((!type || !strcmp(type, "image")) &&
			   image_inspect(cli->root, argv[i], &j, &(struct err){ 0 }) == 0) {
		} else {
			fprintf(stderr, "Error: No such object: %s\n", argv[i]);
			code = 1;
			continue;
		}
		if (j)
			json_array_append_new(all, j);
	}
	if (!fmt) {
		format_json_pretty(stdout, all);
		return code;
	}
	json_array_foreach(all, k, v)
		if (format_template(stdout, fmt, v) < 0)
			return cli_usage("inspect", "template not supported: %s", fmt);
	return code;
}

int cmd_exec(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "detach", no_argument, NULL, 'd' }, { "interactive", no_argument, NULL, 'i' },
		{ "tty", no_argument, NULL, 't' },    { "env", required_argument, NULL, 'e' },
		{ "workdir", required_argument, NULL, 'w' },
		{ "user", required_argument, NULL, 'u' }, HELP_OPT, { 0 },
	};
	struct exec_opts o = { 0 };
	struct container ct;
	struct err err = { 0 };
	int c, code = 0, i;

	while ((c = getopt_long(argc, argv, "+dite:w:u:", opts, NULL)) != -1) {
		switch (c) {
		case 'd': o.detach = true; break;
		case 'i': o.interactive = true; break;
		case 't': o.tty = true; break;
		case 'e': strv_push(&o.env, optarg); break;
		case 'w': o.workdir = optarg; break;
		case 'u': o.user = optarg; break;
		case 'H':
			puts("Usage:  isobox exec [-d] [-i] [-t] [-e K=V] [-w DIR] [-u USER] "
			     "CONTAINER COMMAND [ARG...]");
			return 0;
		default:
			return cli_usage("exec", "unknown flag");
		}
	}
	if (argc - optind < 2)
		return cli_usage("exec", "requires at least 2 arguments");
	for (i = optind + 1; i < argc; i++)
		strv_push(&o.cmd, argv[i]);
	if (container_find(cli->root, argv[optind], &ct, &err) < 0) {
		code = cli_fail(&err);
	} else {
		if (container_exec(&ct, &o, &code, &err) < 0)
			code = cli_fail(&err);
		container_free(&ct);
	}
	strv_free(&o.cmd);
	strv_free(&o.env);
	return code;
}

/* docker port: "80/tcp -> 0.0.0.0:8080" lines, or one port's host addresses. */
int cmd_port(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = { HELP_OPT, { 0 } };
	_cleanup_json_ json_t *j = NULL;
	_cleanup_free_ char *want = NULL;
	struct container c;
	struct err err = { 0 };
	json_t *ports, *list, *b;
	const char *key;
	size_t i;
	int o, found = 0;

	while ((o = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		if (o == 'H') {
			puts("Usage:  isobox port CONTAINER [PRIVATE_PORT[/PROTO]]");
			return 0;
		}
		return cli_usage("port", "unknown flag");
	}
	if (argc - optind < 1 || argc - optind > 2)
		return cli_usage("port", "requires 1 or 2 arguments");
	if (container_find(cli->root, argv[optind], &c, &err) < 0) {
		fprintf(stderr, "Error: %s\n", err.msg);
		return 1;
	}
	if (container_inspect(&c, &j, &err) < 0) {
		container_free(&c);
		return cli_fail(&err);
	}
	container_free(&c);
	if (argc - optind == 2)
		want = strchr(argv[optind + 1], '/') ? xstrdup(argv[optind + 1])
						      : xasprintf("%s/tcp", argv[optind + 1]);
	ports = json_object_get(json_object_get(j, "NetworkSettings"), "Ports");
	json_object_foreach(ports, key, list) {
		if (want && strcmp(key, want))
			continue;
		json_array_foreach(list, i, b) {
			const char *ip = json_string_value(json_object_get(b, "HostIp"));
			const char *port = json_string_value(json_object_get(b, "HostPort"));

			if (want)
				printf("%s:%s\n", ip ? ip : "", port ? port : "");
			else
				printf("%s -> %s:%s\n", key, ip ? ip : "", port ? port : "");
			found++;
		}
	}
	if (want && !found) {
		fprintf(stderr, "Error: No public port '%s' published for %s\n",
			argv[optind + 1], argv[optind]);
		return 1;
	}
	return 0;
}

/* docker rename CONTAINER NEW_NAME */
int cmd_rename(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = { HELP_OPT, { 0 } };
	struct container c;
	struct err err = { 0 };
	int o, code = 0;

	while ((o = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		if (o == 'H') {
			puts("Usage:  isobox rename CONTAINER NEW_NAME\n\nRename a container");
			return 0;
		}
		return cli_usage("rename", "unknown flag: %s", argv[optind - 1]);
	}
	if (argc - optind != 2)
		return cli_usage("rename", "\"rename\" requires exactly 2 arguments.");
	if (container_find(cli->root, argv[optind], &c, &err) < 0) {
		fprintf(stderr, "Error response from daemon: %s\n", err.msg);
		return 1;
	}
	if (container_rename(cli->root, &c, argv[optind + 1], &err) < 0) {
		fprintf(stderr, "Error response from daemon: %s\n", err.msg);
		code = 1;
	}
	container_free(&c);
	return code;
}

/* docker top CONTAINER [ps OPTIONS]: docker's table; --json (isobox serve's,
 * not in the usage) the API's {"Titles", "Processes"}. */
int cmd_top(struct cli *cli, int argc, char **argv)
{
	_cleanup_json_ json_t *top = NULL;
	struct container c;
	struct err err = { 0 };
	bool json = false;
	int i = 1, code = 0;

	if (i < argc && !strcmp(argv[i], "--json")) {
		json = true;
		i++;
	}
	if (i < argc && (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))) {
		puts("Usage:  isobox top CONTAINER [ps OPTIONS]\n\n"
		     "Display the running processes of a container");
		return 0;
	}
	if (i >= argc)
		return cli_usage("top", "\"top\" requires at least 1 argument.");
	if (container_find(cli->root, argv[i], &c, &err) < 0) {
		fprintf(stderr, "Error response from daemon: %s\n", err.msg);
		return 1;
	}
	if (container_top(&c, (const char *const *)argv + i + 1, (size_t)(argc - i - 1), &top,
			  &err) < 0) {
		fprintf(stderr, "Error response from daemon: %s\n", err.msg);
		code = 1;
	} else if (json) {
		_cleanup_free_ char *s = json_dumps(top, JSON_COMPACT);

		puts(s ? s : "{}");
	} else {
		json_t *rows = json_array(), *row;
		size_t k;

		json_array_append(rows, json_object_get(top, "Titles"));
		json_array_foreach(json_object_get(top, "Processes"), k, row)
			json_array_append(rows, row);
		format_table(stdout, rows, 20, 3);
		json_decref(rows);
	}
	container_free(&c);
	return code;
}
