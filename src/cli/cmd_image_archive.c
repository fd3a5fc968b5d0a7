/* isobox tag, history, save, load, image prune: docker's command lines and output. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "engine/container.h"
#include "engine/image.h"
#include "engine/image_archive.h"
#include "util/cleanup.h"
#include "util/fs.h"

static const char tag_usage[] =
	"Usage:  isobox %s SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]\n\n"
	"Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE\n";

static const char history_usage[] =
	"Usage:  isobox %s [OPTIONS] IMAGE\n\n"
	"Show the history of an image\n\n"
	"Options:\n"
	"  -H, --human           Print sizes and dates in human readable format (default true)\n"
	"      --no-trunc        Don't truncate output\n"
	"  -q, --quiet           Only show image IDs\n";

static const char save_usage[] =
	"Usage:  isobox %s [OPTIONS] IMAGE [IMAGE...]\n\n"
	"Save one or more images to a tar archive (streamed to STDOUT by default)\n\n"
	"Options:\n"
	"  -o, --output string   Write to a file, instead of STDOUT\n";

static const char load_usage[] =
	"Usage:  isobox %s [OPTIONS]\n\n"
	"Load an image from a tar archive or STDIN\n\n"
	"Options:\n"
	"  -i, --input string   Read from tar archive file, instead of STDIN\n"
	"  -q, --quiet          Suppress the load output\n";

static const char prune_usage[] =
	"Usage:  isobox %s [OPTIONS]\n\n"
	"Remove unused images\n\n"
	"Options:\n"
	"  -a, --all     Remove all unused images, not just dangling ones\n"
	"  -f, --force   Do not prompt for confirmation\n";

static int opt_fail(const char *cmd, int c, char **argv)
{
	const char *arg = argv[optind - 1];

	if (c == ':')
		return cli_usage(cmd, "flag needs an argument: %s", arg);
	if (optopt && strncmp(arg, "--", 2))
		return cli_usage(cmd, "unknown shorthand flag: '%c' in %s", optopt, arg);
	return cli_usage(cmd, "unknown flag: %s", arg);
}

static int print_help(const char *text, const char *cmd)
{
	printf(text, cmd);
	return 0;
}

/* Options without arguments only: -h, and the letters in flags. */
static int parse_flags(const char *cmd, const char *usage, int argc, char **argv,
		       const struct option *opts, const char *optstring, bool *set)
{
	int c;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, optstring, opts, NULL)) != -1) {
		const char *p = strchr(optstring + 2, c);

		if (c == 'h')
			return print_help(usage, cmd), -1;
		if (c == '?' || c == ':' || !p)
			return opt_fail(cmd, c, argv);
		set[p - (optstring + 2)] = true;
	}
	return 0;
}

/* ---- tag ---- */

int image_cmd_tag(struct cli *cli, const char *cmd, int argc, char **argv)
{
	static const struct option opts[] = { { "help", no_argument, NULL, 'h' }, { 0 } };
	struct err err = { 0 };
	bool set[1] = { 0 };
	int r = parse_flags(cmd, tag_usage, argc, argv, opts, "+:h", set);

	if (r)
		return r < 0 ? 0 : r;
	if (argc - optind != 2)
		return cli_usage(cmd, "\"%s\" requires exactly 2 arguments", cmd);
	if (image_tag(cli->root, argv[optind], argv[optind + 1], &err) < 0)
		return cli_fail(&err);
	return 0;
}

int cmd_tag(struct cli *cli, int argc, char **argv)
{
	return image_cmd_tag(cli, "tag", argc, argv);
}

/* ---- history ---- */

struct history_opts {
	bool no_trunc, quiet, human;
};

#define HIST_COLS 5
#define CREATED_BY_MAX 45

/* docker's Ellipsis: at most max display columns, the last one "…". */
static void ellipsis(const char *s, size_t max, char *out, size_t len)
{
	size_t cols = 0, i = 0, cut = 0;

	for (i = 0; s[i]; i++) {
		if (((unsigned char)s[i] & 0xc0) == 0x80)
			continue;
		if (cols == max - 1)
			cut = i;
		cols++;
	}
	if (cols <= max)
		snprintf(out, len, "%s", s);
	else
		snprintf(out, len, "%.*s…", (int)cut, s);
}

static void history_cells(json_t *row, const struct history_opts *o, char **cells)
{
	const char *id = json_string_value(json_object_get(row, "Id"));
	long long created = json_integer_value(json_object_get(row, "Created"));
	long long size = json_integer_value(json_object_get(row, "Size"));
	_cleanup_free_ char *by = xstrdup(json_string_value(json_object_get(row, "CreatedBy")));
	char buf[64];
	char *p;

	for (p = by; *p; p++)
		if (*p == '\t')
			*p = ' ';
	if (!strcmp(id, "<missing>") || o->no_trunc)
		cells[0] = xstrdup(id);
	else
		cells[0] = xasprintf("%.12s", strchr(id, ':') + 1);
	if (o->human) {
		time_human_ago(created, buf, sizeof(buf));
	} else {
		time_t t = (time_t)created;
		struct tm tm;

		gmtime_r(&t, &tm);
		strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	}
	cells[1] = xstrdup(buf);
	cells[2] = xmalloc(strlen(by) + 8);
	if (o->no_trunc)
		strcpy(cells[2], by);
	else
		ellipsis(by, CREATED_BY_MAX, cells[2], strlen(by) + 8);
	if (o->human)
		size_human((unsigned long long)size, buf, sizeof(buf));
	else
		snprintf(buf, sizeof(buf), "%lld", size);
	cells[3] = xstrdup(buf);
	cells[4] = xstrdup(json_string_value(json_object_get(row, "Comment")));
}

static int display_width(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

static void history_print_row(char **cells, const int *width)
{
	int c;

	for (c = 0; c < HIST_COLS - 1; c++)
		printf("%s%*s", cells[c], width[c] - display_width(cells[c]), "");
	printf("%s\n", cells[HIST_COLS - 1]);
}

static void history_table(json_t *rows, const struct history_opts *o)
{
	const char *head[HIST_COLS] = { "IMAGE", "CREATED", "CREATED BY", "SIZE", "COMMENT" };
	size_t n = json_array_size(rows), i;
	char **cells = xmalloc(sizeof(char *) * HIST_COLS * (n + 1));
	int width[HIST_COLS], c;

	if (!o->human)
		head[1] = "CREATED AT";
	for (i = 0; i < n; i++)
		history_cells(json_array_get(rows, i), o, cells + i * HIST_COLS);
	for (c = 0; c < HIST_COLS; c++) {
		width[c] = display_width(head[c]) + 3;
		for (i = 0; i < n; i++)
			if (display_width(cells[i * HIST_COLS + c]) + 3 > width[c])
				width[c] = display_width(cells[i * HIST_COLS + c]) + 3;
		if (width[c] < 10)
			width[c] = 10;
	}
	history_print_row((char **)head, width);
	for (i = 0; i < n; i++)
		history_print_row(cells + i * HIST_COLS, width);
	for (i = 0; i < n * HIST_COLS; i++)
		free(cells[i]);
	free(cells);
}

int image_cmd_history(struct cli *cli, const char *cmd, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "no-trunc", no_argument, NULL, 'T' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "human", optional_argument, NULL, 'H' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct history_opts o = { .human = true };
	_cleanup_json_ json_t *rows = NULL;
	struct err err = { 0 };
	size_t i;
	int c;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":qH::h", opts, NULL)) != -1) {
		if (c == 'H' && optarg && *optarg == '=')
			optarg++;  /* -H=false */
		if (c == 'T')
			o.no_trunc = true;
		else if (c == 'q')
			o.quiet = true;
		else if (c == 'H' && optarg && !strcmp(optarg, "false"))
			o.human = false;
		else if (c == 'H' && (!optarg || !strcmp(optarg, "true")))
			o.human = true;
		else if (c == 'H')
			return cli_usage(cmd, "invalid argument \"%s\" for \"-H, --human\" flag: "
					 "use true or false", optarg);
		else if (c == 'h')
			return print_help(history_usage, cmd);
		else
			return opt_fail(cmd, c, argv);
	}
	if (argc - optind != 1)
		return cli_usage(cmd, "\"%s\" requires exactly 1 argument", cmd);
	if (image_history(cli->root, argv[optind], &rows, &err) < 0)
		return cli_fail(&err);
	if (!o.quiet) {
		history_table(rows, &o);
		return 0;
	}
	for (i = 0; i < json_array_size(rows); i++) {
		const char *id = json_string_value(json_object_get(json_array_get(rows, i), "Id"));

		if (!strcmp(id, "<missing>") || o.no_trunc)
			printf("%s\n", id);
		else
			printf("%.12s\n", strchr(id, ':') + 1);
	}
	return 0;
}

int cmd_history(struct cli *cli, int argc, char **argv)
{
	return image_cmd_history(cli, "history", argc, argv);
}

/* ---- save ---- */

/* Into FILE through a temp file beside it, renamed when complete. */
static int save_to_file(struct cli *cli, const char *file, const char *const *refs, size_t n,
			struct err *err)
{
	_cleanup_free_ char *tmp = xasprintf("%s.isobox-XXXXXX", file);
	_cleanup_close_ int fd = mkostemp(tmp, O_CLOEXEC);

	if (fd < 0)
		return err_sys(err, errno, "failed to save image: create %s", file);
	if (fchmod(fd, 0644) < 0 || image_save(cli->root, refs, n, fd, err) < 0 ||
	    fsync(fd) < 0 || rename(tmp, file) < 0) {
		if (!err->kind)
			err_sys(err, errno, "failed to save image: write %s", file);
		unlink(tmp);
		return -1;
	}
	return 0;
}

int image_cmd_save(struct cli *cli, const char *cmd, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "platform", required_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *out = NULL;
	struct err err = { 0 };
	int c;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":o:h", opts, NULL)) != -1) {
		if (c == 'o')
			out = optarg;
		else if (c == 'P')
			continue;  /* one platform per image here */
		else if (c == 'h')
			return print_help(save_usage, cmd);
		else
			return opt_fail(cmd, c, argv);
	}
	if (optind >= argc)
		return cli_usage(cmd, "\"%s\" requires at least 1 argument", cmd);
	if (out && strcmp(out, "-")) {
		if (save_to_file(cli, out, (const char *const *)argv + optind,
				 (size_t)(argc - optind), &err) < 0)
			return cli_fail(&err);
		return 0;
	}
	if (isatty(STDOUT_FILENO)) {
		err_kind(&err, 1, "cowardly refusing to save to a terminal. Use the -o flag or "
			 "redirect");
		return cli_fail(&err);
	}
	if (image_save(cli->root, (const char *const *)argv + optind, (size_t)(argc - optind),
		       STDOUT_FILENO, &err) < 0)
		return cli_fail(&err);
	return 0;
}

int cmd_save(struct cli *cli, int argc, char **argv)
{
	return image_cmd_save(cli, "save", argc, argv);
}

/* ---- load ---- */

int image_cmd_load(struct cli *cli, const char *cmd, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "input", required_argument, NULL, 'i' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "platform", required_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	_cleanup_json_ json_t *loaded = json_array();
	_cleanup_close_ int fd = -1;
	const char *in = NULL;
	struct err err = { 0 };
	json_t *v;
	size_t i;
	int c;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":i:qh", opts, NULL)) != -1) {
		if (c == 'i')
			in = optarg;
		else if (c == 'q' || c == 'P')
			continue;  /* no progress is drawn; linux/amd64 is chosen */
		else if (c == 'h')
			return print_help(load_usage, cmd);
		else
			return opt_fail(cmd, c, argv);
	}
	if (optind < argc)
		return cli_usage(cmd, "\"%s\" accepts no arguments", cmd);
	if (in) {
		fd = open(in, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			err_sys(&err, errno, "open %s", in);
			return cli_fail(&err);
		}
	} else if (isatty(STDIN_FILENO)) {
		err_kind(&err, 1, "requested load from stdin, but stdin is empty");
		return cli_fail(&err);
	}
	if (image_load(cli->root, in ? fd : STDIN_FILENO, loaded, &err) < 0)
		return cli_fail(&err);
	json_array_foreach(loaded, i, v) {
		const char *s = json_string_value(v);

		if (json_is_object(v))
			printf("The image %s already exists, renaming the old one with ID %s to "
			       "empty string\n", json_string_value(json_object_get(v, "Renamed")),
			       json_string_value(json_object_get(v, "Old")));
		else if (!strncmp(s, "sha256:", 7))
			printf("Loaded image ID: %s\n", s);
		else
			printf("Loaded image: %s\n", s);
	}
	return 0;
}

int cmd_load(struct cli *cli, int argc, char **argv)
{
	return image_cmd_load(cli, "load", argc, argv);
}

/* ---- image prune ---- */

static bool confirm(const char *warning)
{
	char line[16] = "";

	printf("WARNING! %s\nAre you sure you want to continue? [y/N] ", warning);
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin))
		return false;
	return line[0] == 'y' || line[0] == 'Y';
}

int image_cmd_prune(struct cli *cli, const char *cmd, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "all", no_argument, NULL, 'a' },
		{ "force", no_argument, NULL, 'f' },
		{ "filter", required_argument, NULL, 'F' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	_cleanup_json_ json_t *report = json_array();
	unsigned long long reclaimed = 0;
	bool all = false, force = false;
	struct err err = { 0 };
	json_t *item, *v;
	const char *key;
	char size[32];
	size_t i;
	int c;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":afh", opts, NULL)) != -1) {
		if (c == 'a')
			all = true;
		else if (c == 'f')
			force = true;
		else if (c == 'F')
			return cli_usage(cmd, "--filter is not supported");
		else if (c == 'h')
			return print_help(prune_usage, cmd);
		else
			return opt_fail(cmd, c, argv);
	}
	if (optind < argc)
		return cli_usage(cmd, "\"%s\" accepts no arguments", cmd);
	if (!force && !confirm(all ? "This will remove all images without at least one "
				     "container associated to them."
				   : "This will remove all dangling images."))
		return 0;
	if (image_prune(cli->root, all, container_image_in_use_cb, (void *)cli->root, report,
			&reclaimed, &err) < 0)
		return cli_fail(&err);
	if (json_array_size(report))
		printf("Deleted Images:\n");
	json_array_foreach(report, i, item)
		json_object_foreach(item, key, v)
			printf("%s: %s\n", !strcmp(key, "Untagged") ? "untagged" : "deleted",
			       json_string_value(v));
	if (json_array_size(report))
		printf("\n");
	size_human_digits(reclaimed, 4, size, sizeof(size));
	printf("Total reclaimed space: %s\n", size);
	return 0;
}
