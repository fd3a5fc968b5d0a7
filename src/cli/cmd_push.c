/* push: docker's command line and output. On a TTY each layer has one line,
 * redrawn in place as docker draws it; otherwise plain status lines and no
 * progress bars, as docker prints to a pipe. */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "cli.h"
#include "cli/progress.h"
#include "engine/host_config.h"
#include "engine/push.h"
#include "engine/registry.h"
#include "util/cleanup.h"
#include "util/fs.h"

static const char push_usage[] =
	"Usage:  isobox push [OPTIONS] NAME[:TAG]\n\n"
	"Upload an image to a registry\n\n"
	"Options:\n"
	"  -a, --all-tags                Push all tags of an image to the repository\n"
	"      --disable-content-trust   Skip image signing (default true)\n"
	"  -q, --quiet                   Suppress verbose output\n";

struct push_out {
	bool tty, quiet, json;   /* json: docker's messages, for isobox serve */
	int width;
	char (*ids)[13];      /* layer lines on the TTY, top to bottom */
	size_t n_ids;
};

static const char *status_word(enum push_layer_status st)
{
	switch (st) {
	case PUSH_PREPARING: return "Preparing";
	case PUSH_PUSHING: return "Pushing";
	case PUSH_PUSHED: return "Pushed";
	case PUSH_EXISTS: return "Layer already exists";
	case PUSH_MOUNTED: return "Mounted from";
	case PUSH_RETRYING: return "Retrying in";
	}
	return "";
}

static void on_repository(void *ctx, const char *name)
{
	struct push_out *o = ctx;
	_cleanup_free_ char *line = xasprintf("The push refers to repository [%s]", name);

	if (o->json)
		progress_emit(stdout, progress_message(NULL, line, DETAIL_NONE, 0, 0));
	else if (!o->quiet)
		printf("%s\n", line);
	fflush(stdout);
}

static void on_layer(void *ctx, const char *id, enum push_layer_status st,
		     unsigned long long cur, unsigned long long total, const char *from)
{
	struct push_out *o = ctx;
	char line[256], bar[160] = "";
	size_t i, diff;

	if (o->quiet)
		return;
	if (o->json) {
		if (st == PUSH_RETRYING)
			snprintf(line, sizeof(line), "Retrying in %llu second%s", cur,
				 cur == 1 ? "" : "s");
		else
			snprintf(line, sizeof(line), "%s%s%s", status_word(st),
				 st == PUSH_MOUNTED ? " " : "", st == PUSH_MOUNTED ? from : "");
		progress_emit(stdout, progress_message(id, line, st == PUSH_PUSHING ?
						       DETAIL_COUNTS : DETAIL_STEP, cur,
						       (long long)total));
		return;
	}
	if (st == PUSH_PUSHING && o->tty)
		progress_bar(bar, sizeof(bar), cur, (long long)total, o->width);
	if (st == PUSH_RETRYING)
		snprintf(line, sizeof(line), "%s: Retrying in %llu second%s", id, cur,
			 cur == 1 ? "" : "s");
	else
		snprintf(line, sizeof(line), "%s: %s%s%s", id, status_word(st),
			 st == PUSH_MOUNTED || *bar ? " " : "", st == PUSH_MOUNTED ? from : bar);
	if (!o->tty) {
		/* a pipe gets no progress bars */
		if (st != PUSH_PUSHING)
			printf("%s\n", line);
		fflush(stdout);
		return;
	}
	for (i = 0; i < o->n_ids && strcmp(o->ids[i], id); i++)
		;
	if (i == o->n_ids) {
		o->ids = xrealloc(o->ids, sizeof(*o->ids) * (o->n_ids + 1));
		snprintf(o->ids[o->n_ids++], 13, "%s", id);
		fputs("\n", stdout);
	}
	/* the cursor stays below the last layer line; go up to this one */
	diff = o->n_ids - i;
	printf("\033[%zuA\r\033[2K%s\r\033[%zuB", diff, line, diff);
	fflush(stdout);
}

static void on_pushed(void *ctx, const char *tag, const char *digest, size_t size)
{
	struct push_out *o = ctx;

	if (o->quiet)
		return;
	/* a new tag starts a new block of layer lines */
	o->n_ids = 0;
	if (o->json) {
		_cleanup_free_ char *line = xasprintf("%s: digest: %s size: %zu", tag, digest,
						      size);

		progress_emit(stdout, progress_message(NULL, line, DETAIL_NONE, 0, 0));
		progress_emit(stdout, json_pack("{s:{}, s:{s:s, s:s, s:I}}", "progressDetail",
						"aux", "Tag", tag, "Digest", digest, "Size",
						(json_int_t)size));
		return;
	}
	printf("%s: digest: %s size: %zu\n", tag, digest, size);
	fflush(stdout);
}

/* -q: the reference as docker parsed it ("docker.io/library/busybox:latest"). */
static void quiet_ref(const char *ref, bool all)
{
	struct registry_ref r;
	struct err err = { 0 };

	if (registry_ref_parse(ref, &r, &err) < 0) {
		printf("%s\n", ref);
		return;
	}
	if (all)
		printf("%s/%s\n", r.domain, r.path);
	else
		printf("%s/%s:%s\n", r.domain, r.path, r.tag);
	registry_ref_free(&r);
}

int cmd_push(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "all-tags", no_argument, NULL, 'a' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "disable-content-trust", optional_argument, NULL, 'T' },
		{ "json-progress", no_argument, NULL, 'J' }, /* isobox serve's */
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct push_out o = { .tty = isatty(STDOUT_FILENO) };
	struct push_progress p = { .repository = on_repository, .layer = on_layer,
				   .pushed = on_pushed, .ctx = &o };
	struct host_config hc;
	struct err err = { 0 };
	struct winsize ws;
	bool all = false;
	const char *ref;
	int c, r;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:aqh", opts, NULL)) != -1) {
		if (c == 'a')
			all = true;
		else if (c == 'q')
			o.quiet = true;
		else if (c == 'T')
			continue;
		else if (c == 'J')
			o.json = true;
		else if (c == 'h') {
			fputs(push_usage, stdout);
			return 0;
		} else if (c == ':')
			return cli_usage("push", "flag needs an argument: %s", argv[optind - 1]);
		else if (optopt && strncmp(argv[optind - 1], "--", 2))
			return cli_usage("push", "unknown shorthand flag: '%c' in %s", optopt,
					 argv[optind - 1]);
		else
			return cli_usage("push", "unknown flag: %s", argv[optind - 1]);
	}
	if (argc - optind != 1)
		return cli_usage("push", "\"push\" requires exactly 1 argument");
	ref = argv[optind];
	if (all && registry_ref_has_tag(ref)) {
		fprintf(stderr, "tag can't be used with --all-tags/-a\n");
		return 1;
	}
	if (!all && !registry_ref_has_tag(ref) && !o.quiet && !o.json)
		printf("Using default tag: latest\n");
	o.width = o.tty && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 ? ws.ws_col : 0;
	if (cli_host_config(cli, &hc, &err) < 0)
		return cli_fail(&err);
	r = image_push(cli->root, &hc, ref, all, &p, &err);
	host_config_free(&hc);
	free(o.ids);
	if (r < 0) {
		fflush(stdout);
		fprintf(stderr, "%s%s\n", o.json ? "isobox: " : "", err.msg);
		return 1;
	}
	if (o.quiet)
		quiet_ref(ref, all);
	return 0;
}
