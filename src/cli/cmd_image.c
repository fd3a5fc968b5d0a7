/* isobox import, images, rmi, image {inspect,ls,rm,import}. */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "engine/container.h"
#include "engine/image.h"
#include "util/cleanup.h"
#include "util/fs.h"

#define SHORT_ID_LEN 12

static const char import_usage[] =
	"Usage:  isobox %s [OPTIONS] file|- [REPOSITORY[:TAG]]\n\n"
	"Import the contents from a tarball to create a filesystem image\n\n"
	"Options:\n"
	"  -c, --change list      Apply Dockerfile instruction to the created image\n"
	"  -m, --message string   Set commit message for imported image\n";

static const char images_usage[] =
	"Usage:  isobox %s [OPTIONS] [REPOSITORY[:TAG]]\n\n"
	"List images\n\n"
	"Options:\n"
	"  -a, --all             Show all images (default hides intermediate images)\n"
	"      --format string   Format output: 'table' (default) or 'json'\n"
	"      --no-trunc        Don't truncate output\n"
	"  -q, --quiet           Only show image IDs\n";

static const char rmi_usage[] =
	"Usage:  isobox %s [OPTIONS] IMAGE [IMAGE...]\n\n"
	"Remove one or more images\n\n"
	"Options:\n"
	"  -f, --force      Force removal of the image\n";

static const char inspect_usage[] =
	"Usage:  isobox %s [OPTIONS] IMAGE [IMAGE...]\n\n"
	"Display detailed information on one or more images\n\n"
	"Options:\n"
	"  -f, --format string   Format output: 'json' prints one object per line\n";

static const char image_usage[] =
	"Usage:  isobox image COMMAND\n\n"
	"Manage images\n\n"
	"Commands:\n"
	"  history     Show the history of an image\n"
	"  import      Import the contents from a tarball to create a filesystem image\n"
	"  inspect     Display detailed information on one or more images\n"
	"  load        Load an image from a tar archive or STDIN\n"
	"  ls          List images\n"
	"  prune       Remove unused images\n"
	"  rm          Remove one or more images\n"
	"  save        Save one or more images to a tar archive (streamed to STDOUT by default)\n"
	"  tag         Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE\n\n"
	"Run 'isobox image COMMAND --help' for more information on a command.\n";

/* getopt_long's failure as docker words it; optstrings start with "+:". */
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

/* ---- import ---- */

static int import_main(struct cli *cli, const char *cmd, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "change", required_argument, NULL, 'c' },
		{ "message", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	_cleanup_free_ const char **changes = xmalloc(sizeof(char *) * (size_t)argc);
	struct image_import_opts o = { .changes = changes };
	_cleanup_free_ char *id = NULL;
	struct err err = { 0 };
	int c;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:c:m:h", opts, NULL)) != -1) {
		if (c == 'c')
			changes[o.n_changes++] = optarg;
		else if (c == 'm')
			o.message = optarg;
		else if (c == 'h')
			return print_help(import_usage, cmd);
		else
			return opt_fail(cmd, c, argv);
	}
	if (argc - optind < 1 || argc - optind > 2)
		return cli_usage(cmd, "\"%s\" requires at least 1 and at most 2 arguments", cmd);
	o.file = argv[optind];
	o.ref = argc - optind == 2 ? argv[optind + 1] : NULL;
	if (image_import_ex(cli->root, &o, &id, &err) < 0)
		return cli_fail(&err);
	printf("%s\n", id);
	return 0;
}

int cmd_import(struct cli *cli, int argc, char **argv)
{
	return import_main(cli, "import", argc, argv);
}

/* ---- images ---- */

struct images_opts {
	bool quiet, no_trunc, json;
	const char *filter;
};

static bool row_matches(json_t *row, const char *filter)
{
	_cleanup_free_ char *name = NULL;
	_cleanup_free_ char *tag = NULL;
	const char *slash, *colon;

	if (!filter)
		return true;
	slash = strrchr(filter, '/');
	colon = strrchr(slash ? slash : filter, ':');
	image_ref_split(filter, &name, &tag);
	if (strcmp(json_string_value(json_object_get(row, "Repository")), name))
		return false;
	return !colon || !strcmp(json_string_value(json_object_get(row, "Tag")), tag);
}

static long long row_created(json_t *row)
{
	long long sec = 0;
	long nsec;

	time_parse_rfc3339(json_string_value(json_object_get(row, "Created")), &sec, &nsec);
	return sec;
}

static int row_cmp(const void *a, const void *b)
{
	long long x = row_created(*(json_t *const *)a), y = row_created(*(json_t *const *)b);

	return x < y ? 1 : x > y ? -1 : 0;
}

/* Rows matching the filter, newest first (borrowed from all). */
static json_t **rows_select(json_t *all, const char *filter, size_t *n)
{
	json_t **rows = xmalloc(sizeof(json_t *) * (json_array_size(all) + 1));
	json_t *row;
	size_t i;

	*n = 0;
	json_array_foreach(all, i, row)
		if (row_matches(row, filter))
			rows[(*n)++] = row;
	qsort(rows, *n, sizeof(*rows), row_cmp);
	return rows;
}

static void row_id(json_t *row, bool no_trunc, char *buf, size_t len)
{
	const char *id = json_string_value(json_object_get(row, "Id"));
	const char *hex = strchr(id, ':') ? strchr(id, ':') + 1 : id;

	snprintf(buf, len, "%.*s", no_trunc ? (int)strlen(id) : SHORT_ID_LEN,
		 no_trunc ? id : hex);
}

static void print_quiet(json_t **rows, size_t n, bool no_trunc)
{
	size_t i, j;

	for (i = 0; i < n; i++) {
		const char *id = json_string_value(json_object_get(rows[i], "Id"));
		char buf[128];

		for (j = 0; j < i; j++)
			if (!strcmp(id, json_string_value(json_object_get(rows[j], "Id"))))
				break;
		if (j < i)
			continue;
		row_id(rows[i], no_trunc, buf, sizeof(buf));
		printf("%s\n", buf);
	}
}

/* The columns of one table row: repository, tag, id, created, size. */
#define IMAGE_COLS 5
#define CELL_LEN 320  /* a repository name is at most 255 bytes */

static void row_cells(json_t *row, bool no_trunc, char cells[IMAGE_COLS][CELL_LEN])
{
	snprintf(cells[0], CELL_LEN, "%s", json_string_value(json_object_get(row, "Repository")));
	snprintf(cells[1], CELL_LEN, "%s", json_string_value(json_object_get(row, "Tag")));
	row_id(row, no_trunc, cells[2], CELL_LEN);
	time_human_ago(row_created(row), cells[3], CELL_LEN);
	size_human((unsigned long long)json_integer_value(json_object_get(row, "Size")),
		   cells[4], CELL_LEN);
}

static void print_cells(char cells[IMAGE_COLS][CELL_LEN], const int *width)
{
	int c;

	for (c = 0; c < IMAGE_COLS - 1; c++)
		printf("%-*s", width[c], cells[c]);
	printf("%s\n", cells[IMAGE_COLS - 1]);
}

/* Docker's tabwriter: cells padded by 3, at least 10 wide; the last unpadded. */
static void print_table(json_t **rows, size_t n, bool no_trunc)
{
	char head[IMAGE_COLS][CELL_LEN] = { "REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE" };
	char (*cells)[IMAGE_COLS][CELL_LEN] = xmalloc(sizeof(*cells) * (n + 1));
	int width[IMAGE_COLS];
	size_t i;
	int c;

	for (i = 0; i < n; i++)
		row_cells(rows[i], no_trunc, cells[i]);
	for (c = 0; c < IMAGE_COLS; c++) {
		width[c] = (int)strlen(head[c]) + 3;
		for (i = 0; i < n; i++)
			if ((int)strlen(cells[i][c]) + 3 > width[c])
				width[c] = (int)strlen(cells[i][c]) + 3;
		if (width[c] < 10)
			width[c] = 10;
	}
	print_cells(head, width);
	for (i = 0; i < n; i++)
		print_cells(cells[i], width);
	free(cells);
}

static void print_json_lines(json_t **rows, size_t n, bool no_trunc)
{
	size_t i;

	for (i = 0; i < n; i++) {
		char cells[IMAGE_COLS][CELL_LEN], at[64];
		time_t t = (time_t)row_created(rows[i]);
		struct tm tm;
		json_t *o;
		char *s;

		row_cells(rows[i], no_trunc, cells);
		gmtime_r(&t, &tm);
		strftime(at, sizeof(at), "%Y-%m-%d %H:%M:%S +0000 UTC", &tm);
		o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}",
			      "Containers", "N/A", "CreatedAt", at, "CreatedSince", cells[3],
			      "Digest", "<none>", "ID", cells[2], "Repository", cells[0],
			      "SharedSize", "N/A", "Size", cells[4], "Tag", cells[1],
			      "UniqueSize", "N/A", "VirtualSize", cells[4]);
		s = json_dumps(o, JSON_COMPACT);
		printf("%s\n", s);
		free(s);
		json_decref(o);
	}
}

static int images_print(struct cli *cli, const struct images_opts *o)
{
	_cleanup_json_ json_t *all = NULL;
	_cleanup_free_ json_t **rows = NULL;
	struct err err = { 0 };
	size_t n;

	if (image_list(cli->root, &all, &err) < 0)
		return cli_fail(&err);
	rows = rows_select(all, o->filter, &n);
	if (o->quiet)
		print_quiet(rows, n, o->no_trunc);
	else if (o->json)
		print_json_lines(rows, n, o->no_trunc);
	else
		print_table(rows, n, o->no_trunc);
	return 0;
}

static int parse_list_format(const char *cmd, const char *f, bool *json)
{
	if (!strcmp(f, "json") || !strcmp(f, "{{json .}}"))
		*json = true;
	else if (!strcmp(f, "table") || !*f)
		*json = false;
	else
		return cli_usage(cmd, "unsupported --format '%s': use 'table' or 'json'", f);
	return 0;
}

static int images_main(struct cli *cli, const char *cmd, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "all", no_argument, NULL, 'a' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "no-trunc", no_argument, NULL, 'T' },
		{ "format", required_argument, NULL, 'F' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct images_opts o = { 0 };
	int c;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:aqh", opts, NULL)) != -1) {
		switch (c) {
		case 'a':
			break;  /* no intermediate images here: every image is shown */
		case 'q':
			o.quiet = true;
			break;
		case 'T':
			o.no_trunc = true;
			break;
		case 'F':
			if (parse_list_format(cmd, optarg, &o.json) < 0)
				return ERR_RUNTIME;
			break;
		case 'h':
			return print_help(images_usage, cmd);
		default:
			return opt_fail(cmd, c, argv);
		}
	}
	if (argc - optind > 1)
		return cli_usage(cmd, "\"%s\" accepts at most 1 argument", cmd);
	o.filter = argc > optind ? argv[optind] : NULL;
	return images_print(cli, &o);
}

int cmd_images(struct cli *cli, int argc, char **argv)
{
	return images_main(cli, "images", argc, argv);
}

/* ---- rmi ---- */

static void print_report(json_t *report)
{
	json_t *item, *v;
	const char *key;
	size_t i;

	json_array_foreach(report, i, item)
		json_object_foreach(item, key, v)
			printf("%s: %s\n", key, json_string_value(v));
}

static int rmi_one(struct cli *cli, const char *ref, bool force, struct err *err)
{
	_cleanup_json_ json_t *report = json_array();

	if (image_rmi(cli->root, ref, force, report, err) < 0)
		return -1;
	print_report(report);
	return 0;
}

static int rmi_main(struct cli *cli, const char *cmd, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "force", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	bool force = false;
	int c, rc = 0;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:fh", opts, NULL)) != -1) {
		if (c == 'f')
			force = true;
		else if (c == 'h')
			return print_help(rmi_usage, cmd);
		else
			return opt_fail(cmd, c, argv);
	}
	if (optind >= argc)
		return cli_usage(cmd, "\"%s\" requires at least 1 argument", cmd);
	for (; optind < argc; optind++) {
		struct err err = { 0 };

		if (rmi_one(cli, argv[optind], force, &err) < 0)
			rc = cli_fail(&err);
	}
	return rc;
}

int cmd_rmi(struct cli *cli, int argc, char **argv)
{
	return rmi_main(cli, "rmi", argc, argv);
}

/* ---- image inspect ---- */

static void print_inspect(json_t *found, bool json_lines)
{
	json_t *o;
	size_t i;
	char *s;

	if (!json_lines) {
		s = json_dumps(found, JSON_INDENT(4));
		printf("%s\n", s ? s : "[]");
		free(s);
		return;
	}
	json_array_foreach(found, i, o) {
		s = json_dumps(o, JSON_COMPACT);
		printf("%s\n", s);
		free(s);
	}
}

static int inspect_main(struct cli *cli, const char *cmd, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	_cleanup_json_ json_t *found = json_array();
	struct err err = { 0 };
	bool lines = false;
	int c, rc = 0;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:f:h", opts, NULL)) != -1) {
		if (c == 'f' && strcmp(optarg, "json") && strcmp(optarg, "{{json .}}"))
			return cli_usage(cmd, "unsupported --format '%s': use 'json'", optarg);
		else if (c == 'f')
			lines = true;
		else if (c == 'h')
			return print_help(inspect_usage, cmd);
		else
			return opt_fail(cmd, c, argv);
	}
	if (optind >= argc)
		return cli_usage(cmd, "\"%s\" requires at least 1 argument", cmd);
	for (; optind < argc; optind++) {
		json_t *o;

		if (image_inspect(cli->root, argv[optind], &o, &err) < 0)
			rc = cli_fail(&err);
		else
			json_array_append_new(found, o);
	}
	print_inspect(found, lines);
	return rc;
}

/* ---- image ---- */

int cmd_image(struct cli *cli, int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : NULL;

	if (!sub)
		return cli_usage("image", "a command is required: history, import, inspect, load, "
				 "ls, prune, rm, save or tag");
	if (!strcmp(sub, "--help") || !strcmp(sub, "-h") || !strcmp(sub, "help"))
		return print_help(image_usage, "image");
	if (!strcmp(sub, "import"))
		return import_main(cli, "image import", argc - 1, argv + 1);
	if (!strcmp(sub, "inspect"))
		return inspect_main(cli, "image inspect", argc - 1, argv + 1);
	if (!strcmp(sub, "ls") || !strcmp(sub, "list"))
		return images_main(cli, "image ls", argc - 1, argv + 1);
	if (!strcmp(sub, "rm") || !strcmp(sub, "remove"))
		return rmi_main(cli, "image rm", argc - 1, argv + 1);
	if (!strcmp(sub, "tag"))
		return image_cmd_tag(cli, "image tag", argc - 1, argv + 1);
	if (!strcmp(sub, "history"))
		return image_cmd_history(cli, "image history", argc - 1, argv + 1);
	if (!strcmp(sub, "save"))
		return image_cmd_save(cli, "image save", argc - 1, argv + 1);
	if (!strcmp(sub, "load"))
		return image_cmd_load(cli, "image load", argc - 1, argv + 1);
	if (!strcmp(sub, "prune"))
		return image_cmd_prune(cli, "image prune", argc - 1, argv + 1);
	return cli_usage("image", "unknown command '%s': use history, import, inspect, load, ls, "
			 "prune, rm, save or tag", sub);
}
