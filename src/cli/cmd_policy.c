/* isobox policy explain [--format json] [RUN FLAGS] IMAGE: the isolation a
 * container would get, and every rule that decided it, without running
 * anything; and isobox events: the containers' logs of events. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "engine/container.h"
#include "engine/events.h"
#include "engine/host_config.h"
#include "engine/image.h"
#include "engine/isolation.h"
#include "util/cleanup.h"

static const char policy_help[] =
	"Usage:  isobox policy explain [--format json] [RUN OPTIONS] IMAGE [COMMAND]\n\n"
	"Print which isolation mode 'isobox run' with the same options would give the\n"
	"container, and every rule of the isolation policy that decided it. Nothing runs.\n"
	"Exits 0 when the run would be allowed, 125 when it would be refused.\n";

static void explain_print(const json_t *j, const char *refusal)
{
	json_t *rules = json_object_get(j, "Rules"), *r, *k = json_object_get(j, "Kernel");
	size_t i;

	printf("Image:        %s\n", json_string_value(json_object_get(j, "Image")));
	printf("Requested:    %s\n", json_string_value(json_object_get(j, "Requested")));
	if (*json_string_value(json_object_get(j, "Reason"))) {
		printf("Mode:         %s\n", json_string_value(json_object_get(j, "Mode")));
		printf("Why:          %s\n", json_string_value(json_object_get(j, "Reason")));
	}
	if (refusal)
		printf("Refused:      %s\n", refusal);
	printf("Image needs:  %s\n", *json_string_value(json_object_get(j, "ImageNeeds"))
					     ? json_string_value(json_object_get(j, "ImageNeeds"))
					     : "nothing of the kernel");
	if (k && !refusal)
		printf("Guest kernel: %s (%s)\n", json_string_value(json_object_get(k, "Name")),
		       json_string_value(json_object_get(k, "Version")));
	if (!json_array_size(rules)) {
		printf("Rules:        none (no isolation policy is configured)\n");
		return;
	}
	printf("Rules:\n");
	json_array_foreach(rules, i, r)
		printf("  %-9s %s (%s): %s\n",
		       json_is_true(json_object_get(r, "Matched")) ? "MATCH" : "no match",
		       json_string_value(json_object_get(r, "Rule")),
		       json_string_value(json_object_get(r, "Where")),
		       json_string_value(json_object_get(r, "Detail")));
}

static int policy_explain(struct cli *cli, int argc, char **argv)
{
	struct run_opts o = { 0 };
	struct host_config host = { 0 };
	struct isolation_decision d = { 0 };
	struct image img = { 0 };
	struct err err = { 0 }, refusal = { 0 };
	_cleanup_json_ json_t *j = NULL;
	bool json = false;
	int r;

	if (argc >= 3 && !strcmp(argv[1], "--format")) {
		if (strcmp(argv[2], "json"))
			return cli_usage("policy explain", "--format takes json");
		json = true;
		argc -= 2, argv += 2;
	}
	r = cli_run_opts_parse("policy explain", argc, argv, &o);
	if (r != 0) {
		run_opts_free(&o);
		return r < 0 ? 0 : r;
	}
	if (cli_host_config(cli, &host, &err) < 0 || image_lookup(cli->root, o.image, &img, &err) < 0) {
		host_config_free(&host);
		run_opts_free(&o);
		return cli_fail(&err);
	}
	o.host = &host;
	o.default_isolation = cli->default_isolation;
	r = isolation_decide(cli->root, &o, &img, &d, &refusal);
	j = isolation_decision_json(&d);
	json_object_set_new(j, "Image", json_string(img.ref ? img.ref : img.id));
	if (r < 0)
		json_object_set_new(j, "Refused", json_string(refusal.msg));
	if (json) {
		_cleanup_free_ char *s = json_dumps(j, JSON_INDENT(2));

		puts(s);
	} else {
		explain_print(j, r < 0 ? refusal.msg : NULL);
	}
	isolation_decision_free(&d);
	image_free(&img);
	host_config_free(&host);
	run_opts_free(&o);
	return r < 0 ? cli_fail(&refusal) : 0;
}

int cmd_policy(struct cli *cli, int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "explain"))
		return policy_explain(cli, argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "--help")) {
		fputs(policy_help, stdout);
		return 0;
	}
	return cli_usage("policy", "usage: isobox policy explain [--format json] [RUN OPTIONS] "
			 "IMAGE");
}

/* docker's text form: "2026-12-03T07:00:00.123456789Z container create ID (k=v, ...)". */
static void event_print(json_t *ev)
{
	json_int_t ns = json_integer_value(json_object_get(ev, "timeNano"));
	json_t *attrs = json_object_get(json_object_get(ev, "Actor"), "Attributes");
	time_t sec = ns / 1000000000;
	const char *key, *sep = "";
	struct tm tm;
	char when[40];
	json_t *v;

	gmtime_r(&sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	printf("%s.%09lldZ container %s %s (", when, (long long)(ns % 1000000000),
	       json_string_value(json_object_get(ev, "Action")),
	       json_string_value(json_object_get(ev, "id")));
	json_object_foreach(attrs, key, v) {
		printf("%s%s=%s", sep, key, json_string_value(v));
		sep = ", ";
	}
	puts(")");
}

int cmd_events(struct cli *cli, int argc, char **argv)
{
	_cleanup_json_ json_t *events = NULL;
	const char *container = NULL;
	struct container c = { 0 };
	struct err err = { 0 };
	bool json = false;
	json_t *ev;
	size_t i;
	int a;

	for (a = 1; a < argc; a++) {
		if (!strcmp(argv[a], "--format") && a + 1 < argc && !strcmp(argv[a + 1], "json"))
			json = true, a++;
		else if (!strcmp(argv[a], "--filter") && a + 1 < argc &&
			 !strncmp(argv[a + 1], "container=", 10))
			container = argv[++a] + 10;
		else if (!strcmp(argv[a], "--help"))
			return puts("Usage:  isobox events [--filter container=NAME|ID] [--format json]\n\n"
				    "Print the events recorded so far (create, start), oldest first."), 0;
		else
			return cli_usage("events", "unknown flag %s: use --filter container=NAME "
					 "and --format json", argv[a]);
	}
	if (container && container_find(cli->root, container, &c, &err) < 0)
		return cli_fail(&err);
	if (events_list(cli->root, c.id, &events, &err) < 0) {
		container_free(&c);
		return cli_fail(&err);
	}
	container_free(&c);
	json_array_foreach(events, i, ev) {
		if (json) {
			_cleanup_free_ char *s = json_dumps(ev, JSON_COMPACT);

			puts(s);
		} else {
			event_print(ev);
		}
	}
	return 0;
}
