/* isobox commit: a container's changes as a new image, docker's command line. */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "engine/commit.h"
#include "engine/container.h"
#include "util/cleanup.h"
#include "util/fs.h"

static const char commit_usage[] =
	"Usage:  isobox commit [OPTIONS] CONTAINER [REPOSITORY[:TAG]]\n\n"
	"Create a new image from a container's changes\n\n"
	"Options:\n"
	"  -a, --author string    Author (e.g., \"John Hannibal Smith <hannibal@a-team.com>\")\n"
	"  -c, --change list      Apply Dockerfile instruction to the created image\n"
	"  -m, --message string   Commit message\n"
	"  -p, --pause            Pause container during commit (default true)\n";

static int parse_bool(const char *s, bool *out)
{
	if (!strcmp(s, "true") || !strcmp(s, "1") || !strcmp(s, "t") || !strcmp(s, "TRUE"))
		*out = true;
	else if (!strcmp(s, "false") || !strcmp(s, "0") || !strcmp(s, "f") ||
		 !strcmp(s, "FALSE"))
		*out = false;
	else
		return -1;
	return 0;
}

int cmd_commit(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "author", required_argument, NULL, 'a' },
		{ "change", required_argument, NULL, 'c' },
		{ "message", required_argument, NULL, 'm' },
		{ "pause", optional_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	_cleanup_free_ const char **changes = xmalloc(sizeof(char *) * (size_t)argc);
	struct commit_opts o = { .changes = changes, .pause = true };
	_cleanup_free_ char *id = NULL;
	struct container ct = { 0 };
	struct err err = { 0 };
	int c, r;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:a:c:m:ph", opts, NULL)) != -1) {
		if (c == 'a')
			o.author = optarg;
		else if (c == 'c')
			changes[o.n_changes++] = optarg;
		else if (c == 'm')
			o.message = optarg;
		else if (c == 'p' && optarg && parse_bool(optarg, &o.pause) < 0)
			return cli_usage("commit", "invalid argument \"%s\" for \"-p, --pause\" "
					 "flag: strconv.ParseBool: parsing \"%s\": invalid syntax",
					 optarg, optarg);
		else if (c == 'p')
			o.pause = o.pause || !optarg;
		else if (c == 'h') {
			printf("%s", commit_usage);
			return 0;
		} else if (c == ':')
			return cli_usage("commit", "flag needs an argument: %s", argv[optind - 1]);
		else
			return cli_usage("commit", "unknown flag: %s", argv[optind - 1]);
	}
	if (argc - optind < 1 || argc - optind > 2)
		return cli_usage("commit", "\"commit\" requires at least 1 and at most 2 arguments");
	o.ref = argc - optind == 2 ? argv[optind + 1] : NULL;
	if (container_find(cli->root, argv[optind], &ct, &err) < 0)
		return cli_fail(&err);
	r = container_commit(cli->root, &ct, &o, &id, &err);
	container_free(&ct);
	if (r < 0)
		return cli_fail(&err);
	printf("%s\n", id);
	return 0;
}
