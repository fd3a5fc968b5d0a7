/* isobox pull, and the pull that run and create do for a missing image:
 * docker's progress lines, redrawn in place on a terminal, plain otherwise;
 * or, for isobox serve (--json-progress, not in the usage), docker's JSON
 * messages, one per line, as POST /images/create streams them. */
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
#include "engine/pull.h"
#include "engine/registry.h"
#include "util/cleanup.h"
#include "util/fs.h"

static const char pull_usage[] =
	"Usage:  isobox pull [OPTIONS] NAME[:TAG|@DIGEST]\n\n"
	"Download an image from a registry\n\n"
	"Options:\n"
	"  -a, --all-tags                Download all tagged images in the repository\n"
	"      --platform string         Set platform if server is multi-platform capable\n"
	"  -q, --quiet                   Suppress verbose output\n";

#define MAX_LINES 1100

/* docker's jsonmessage display: one line per id; on a terminal a line is
 * redrawn where it is, elsewhere progress bars are left out. */
struct render {
	FILE *out;
	bool tty, json;
	int width;
	char *ids[MAX_LINES];
	int n;
};

static void on_progress(void *ctx, const char *id, const char *status,
			unsigned long long cur, long long total)
{
	struct render *r = ctx;
	bool has_bar = !strcmp(status, "Downloading") || !strcmp(status, "Extracting");
	char b[160] = "";
	int line = -1, diff = 0;

	if (r->json) {
		/* "Pulling from NAME" is a message of its own, the rest layer steps */
		progress_emit(r->out, progress_message(id, status, has_bar ? DETAIL_COUNTS :
						       strncmp(status, "Pulling from ", 13) ?
						       DETAIL_STEP : DETAIL_NONE, cur, total));
		return;
	}
	if (!r->tty && has_bar)
		return;
	if (has_bar)
		progress_bar(b, sizeof(b), cur, total, r->width);
	if (!r->tty || !id) {
		fprintf(r->out, "%s%s%s%s%s\n", id ? id : "", id ? ": " : "", status,
			b[0] ? " " : "", b);
		fflush(r->out);
		return;
	}
	for (int i = 0; i < r->n; i++)
		if (!strcmp(r->ids[i], id))
			line = i;
	if (line < 0 && r->n < MAX_LINES) {
		line = r->n;
		r->ids[r->n++] = xstrdup(id);
		fputc('\n', r->out);
	}
	diff = r->n - line;
	if (diff > 0)
		fprintf(r->out, "\033[%dA", diff);
	fprintf(r->out, "\033[2K\r%s: %s%s%s", id, status, b[0] ? " " : "", b);
	if (diff > 0)
		fprintf(r->out, "\033[%dB", diff);
	fputc('\r', r->out);
	fflush(r->out);
}

static void render_init(struct render *r, FILE *out, bool json)
{
	struct winsize ws;

	memset(r, 0, sizeof(*r));
	r->out = out;
	r->json = json;
	r->tty = isatty(fileno(out));
	r->width = r->tty && ioctl(fileno(out), TIOCGWINSZ, &ws) == 0 && ws.ws_col ? ws.ws_col : 80;
}

static void render_end(struct render *r)
{
	if (r->tty && r->n)
		fputc('\n', r->out);
	for (int i = 0; i < r->n; i++)
		free(r->ids[i]);
	r->n = 0;
}

/* A line of its own: as text, or as a JSON message's status. */
static void say(const struct render *r, const char *text)
{
	if (r->json)
		progress_emit(r->out, progress_message(NULL, text, DETAIL_NONE, 0, 0));
	else
		fprintf(r->out, "%s\n", text);
}

/* One image: progress to out (NULL: none), then Digest and Status lines. */
static int pull_one(struct cli *cli, const char *ref, const char *platform,
		    const struct host_config *hc, FILE *out, bool json, bool status,
		    struct pull_result *res, struct err *err)
{
	struct render r;
	struct pull_opts o = { .platform = platform, .hc = hc };
	_cleanup_free_ char *digest = NULL, *said = NULL;
	int rc;

	if (out) {
		render_init(&r, out, json);
		o.progress = on_progress;
		o.ctx = &r;
	}
	rc = pull_image(cli->root, ref, &o, res, err);
	if (out)
		render_end(&r);
	if (rc < 0 || !out)
		return rc;
	digest = xasprintf("Digest: %s", res->digest);
	say(&r, digest);
	if (status) {
		said = xasprintf("Status: %s for %s", res->updated ? "Downloaded newer image" :
				 "Image is up to date", res->ref);
		say(&r, said);
	}
	return 0;
}

int cli_pull(struct cli *cli, const char *ref, const char *platform, FILE *out,
	     struct err *err)
{
	struct host_config hc;
	struct pull_result res;
	int rc;

	if (cli_host_config(cli, &hc, err) < 0)
		return -1;
	rc = pull_one(cli, ref, platform, &hc, out, false, true, &res, err);
	pull_result_free(&res);
	host_config_free(&hc);
	return rc;
}

static int pull_all_tags(struct cli *cli, const char *ref, const char *platform,
			 const struct host_config *hc, bool quiet, bool json)
{
	struct err err = { 0 };
	struct registry_ref r;
	_cleanup_free_ char *name = NULL;
	char **tags = NULL;
	size_t n = 0;
	int code = 0;
	bool updated = false;

	if (registry_ref_parse(ref, &r, &err) < 0)
		return cli_fail(&err);
	name = registry_ref_name(&r);
	if (strchr(ref + strcspn(ref, "/"), ':') || r.digest) {
		registry_ref_free(&r);
		return cli_usage("pull", "tag can't be used with --all-tags/-a");
	}
	if (pull_list_tags(ref, hc, &tags, &n, &err) < 0) {
		registry_ref_free(&r);
		return cli_fail(&err);
	}
	for (size_t i = 0; i < n && !code; i++) {
		_cleanup_free_ char *one = xasprintf("%s:%s", name, tags[i]);
		struct pull_result res;

		if (pull_one(cli, one, platform, hc, quiet ? NULL : stdout, json, false, &res,
			     &err) < 0)
			code = cli_fail(&err);
		updated |= res.updated;
		pull_result_free(&res);
	}
	if (!code && !quiet) {
		_cleanup_free_ char *said = xasprintf("Status: %s for %s", updated ?
						      "Downloaded newer image" :
						      "Image is up to date", name);
		struct render out = { .out = stdout, .json = json };

		say(&out, said);
	}
	if (!code && !json)
		printf("%s/%s\n", r.domain, r.path);
	for (size_t i = 0; i < n; i++)
		free(tags[i]);
	free(tags);
	registry_ref_free(&r);
	return code;
}

int cmd_pull(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "all-tags", no_argument, NULL, 'a' },
		{ "platform", required_argument, NULL, 'P' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "disable-content-trust", optional_argument, NULL, 'D' },
		{ "json-progress", no_argument, NULL, 'J' }, /* isobox serve's */
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *platform = NULL;
	bool quiet = false, all = false, json = false;
	struct host_config hc;
	struct pull_result res;
	struct err err = { 0 };
	int c, code = 0;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:aqh", opts, NULL)) != -1) {
		if (c == 'a')
			all = true;
		else if (c == 'q')
			quiet = true;
		else if (c == 'P')
			platform = optarg;
		else if (c == 'D')
			;
		else if (c == 'J')
			json = true;
		else if (c == 'h') {
			fputs(pull_usage, stdout);
			return 0;
		} else if (c == ':')
			return cli_usage("pull", "flag needs an argument: %s", argv[optind - 1]);
		else if (optopt && strncmp(argv[optind - 1], "--", 2))
			return cli_usage("pull", "unknown shorthand flag: '%c' in %s", optopt,
					 argv[optind - 1]);
		else
			return cli_usage("pull", "unknown flag: %s", argv[optind - 1]);
	}
	if (argc - optind != 1)
		return cli_usage("pull", "\"pull\" requires exactly 1 argument.");
	if (cli_host_config(cli, &hc, &err) < 0)
		return cli_fail(&err);
	if (all) {
		code = pull_all_tags(cli, argv[optind], platform, &hc, quiet, json);
		host_config_free(&hc);
		return code;
	}
	/* docker says which tag it took when none was given. */
	if (!quiet && !json && !registry_ref_has_tag(argv[optind]))
		printf("Using default tag: latest\n");
	if (pull_one(cli, argv[optind], platform, &hc, quiet ? NULL : stdout, json, true, &res,
		     &err) < 0)
		code = cli_fail(&err);
	else if (!json)
		printf("%s\n", res.full);
	pull_result_free(&res);
	host_config_free(&hc);
	return code;
}
