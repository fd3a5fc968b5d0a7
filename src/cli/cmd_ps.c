/* Commands that read containers: ps, logs, info. */
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/format.h"
#include "engine/host_config.h"
#include "engine/container.h"
#include "engine/container_view.h"
#include "engine/isolation.h"
#include "util/cleanup.h"
#include "util/fs.h"

static json_t *ps_row(json_t *c)
{
	json_t *state = json_object_get(c, "State");
	_cleanup_free_ char *cmd = container_command_text(c);
	char status[96], created[64], id[13];
	long long sec;
	long nsec;

	container_status_text(state, status, sizeof(status));
	time_parse_rfc3339(json_string_value(json_object_get(c, "Created")), &sec, &nsec);
	time_human_ago(sec, created, sizeof(created));
	snprintf(id, sizeof(id), "%.12s", json_string_value(json_object_get(c, "Id")));
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "ID", id, "Image",
			 json_string_value(json_object_get(c, "ImageName")), "Command", cmd,
			 "CreatedAt", json_string_value(json_object_get(c, "Created")),
			 "RunningFor", created, "Status", status, "State",
			 json_string_value(json_object_get(state, "Status")), "Names",
			 json_string_value(json_object_get(c, "Name")) + 1, "Isolation",
			 json_string_value(json_object_get(json_object_get(c, "HostConfig"),
							   "Isolation")));
}

int cmd_ps(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = { { "all", no_argument, NULL, 'a' },
					      { "quiet", no_argument, NULL, 'q' },
					      { "no-trunc", no_argument, NULL, 'n' },
					      { "format", required_argument, NULL, 'f' },
					      { "help", no_argument, NULL, 'H' }, { 0 } };
	_cleanup_json_ json_t *list = NULL;
	const char *fmt = NULL;
	bool all = false, quiet = false, notrunc = false;
	struct err err = { 0 };
	json_t *c;
	size_t i;
	int o;

	while ((o = getopt_long(argc, argv, "+aq", opts, NULL)) != -1) {
		switch (o) {
		case 'a': all = true; break;
		case 'q': quiet = true; break;
		case 'n': notrunc = true; break;
		case 'f': fmt = optarg; break;
		case 'H': puts("Usage:  isobox ps [-a] [-q] [--no-trunc] [--format json|TEMPLATE]");
			return 0;
		default: return cli_usage("ps", "unknown flag");
		}
	}
	if (container_list(cli->root, all, &list, &err) < 0)
		return cli_fail(&err);
	if (!quiet && !fmt)
		printf("%-14s %-20s %-24s %-20s %-28s %-10s %s\n", "CONTAINER ID", "IMAGE",
		       "COMMAND", "CREATED", "STATUS", "ISOLATION", "NAMES");
	json_array_foreach(list, i, c) {
		_cleanup_json_ json_t *row = ps_row(c);
		const char *id = notrunc ? json_string_value(json_object_get(c, "Id"))
					 : json_string_value(json_object_get(row, "ID"));
		_cleanup_free_ char *cmd = NULL;

		if (quiet) {
			printf("%s\n", id);
		} else if (fmt && !strcmp(fmt, "json")) {
			_cleanup_free_ char *s = json_dumps(row, JSON_COMPACT | JSON_SORT_KEYS);
			printf("%s\n", s);
		} else if (fmt) {
			if (format_template(stdout, fmt, row) < 0)
				return cli_usage("ps", "template not supported: %s", fmt);
		} else {
			const char *full = json_string_value(json_object_get(row, "Command"));

			cmd = notrunc || strlen(full) <= 20 ? xasprintf("\"%s\"", full)
							    : xasprintf("\"%.19s…\"", full);
			printf("%-14s %-20s %-24s %-20s %-28s %-10s %s\n", id,
			       json_string_value(json_object_get(row, "Image")), cmd,
			       json_string_value(json_object_get(row, "RunningFor")),
			       json_string_value(json_object_get(row, "Status")),
			       json_string_value(json_object_get(row, "Isolation")),
			       json_string_value(json_object_get(row, "Names")));
		}
	}
	return 0;
}

/* One json-file record to the right stream; returns 0 when it is not one. */
static void logs_print(const char *line, bool timestamps)
{
	json_error_t je;
	_cleanup_json_ json_t *j = json_loads(line, 0, &je);
	const char *log = json_string_value(json_object_get(j, "log"));
	const char *stream = json_string_value(json_object_get(j, "stream"));
	FILE *out;

	if (!log)
		return;
	out = stream && !strcmp(stream, "stderr") ? stderr : stdout;
	if (timestamps)
		fprintf(out, "%s ", json_string_value(json_object_get(j, "time")));
	fwrite(log, 1, json_string_length(json_object_get(j, "log")), out);
	fflush(out);
}

static long logs_skip_to_tail(FILE *f, long tail)
{
	char *line = NULL;
	size_t cap = 0;
	long total = 0, skip;

	while (getline(&line, &cap, f) > 0)
		total++;
	rewind(f);
	for (skip = total > tail ? total - tail : 0; skip > 0; skip--)
		if (getline(&line, &cap, f) <= 0)
			break;
	free(line);
	return 0;
}

static void logs_copy(FILE *f, bool timestamps)
{
	char *line = NULL;
	size_t cap = 0;

	while (getline(&line, &cap, f) > 0) {
		if (line[strlen(line) - 1] != '\n')
			break;      /* half a record: the monitor is still writing it */
		logs_print(line, timestamps);
	}
	free(line);
}

int cmd_logs(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = { { "follow", no_argument, NULL, 'f' },
					      { "timestamps", no_argument, NULL, 't' },
					      { "tail", required_argument, NULL, 'n' },
					      { "help", no_argument, NULL, 'H' }, { 0 } };
	bool follow = false, timestamps = false;
	long tail = -1;
	struct container ct;
	struct err err = { 0 };
	_cleanup_fclose_ FILE *f = NULL;
	_cleanup_free_ char *path = NULL;
	int o;

	while ((o = getopt_long(argc, argv, "+ftn:", opts, NULL)) != -1) {
		switch (o) {
		case 'f': follow = true; break;
		case 't': timestamps = true; break;
		case 'n': tail = strcmp(optarg, "all") ? atol(optarg) : -1; break;
		case 'H': puts("Usage:  isobox logs [-f] [-t] [--tail N] CONTAINER"); return 0;
		default: return cli_usage("logs", "unknown flag");
		}
	}
	if (argc - optind != 1)
		return cli_usage("logs", "requires exactly 1 argument");
	if (container_find(cli->root, argv[optind], &ct, &err) < 0)
		return cli_fail(&err);
	path = xasprintf("%s/container.log", ct.dir);
	f = fopen(path, "re");
	if (f && tail >= 0)
		logs_skip_to_tail(f, tail);
	if (f)
		logs_copy(f, timestamps);
	while (follow) {
		long pos;
		int done = container_wait_timeout(&ct, 100, &err);

		if (!f)
			f = fopen(path, "re");
		if (f) {
			pos = ftell(f);
			clearerr(f);
			fseek(f, pos, SEEK_SET);
			logs_copy(f, timestamps);
		}
		if (done != 0)
			break;
	}
	container_free(&ct);
	return 0;
}

/* Which modes this host runs, which one is the default, and why. */
static json_t *info_isolation(struct cli *cli, const struct host_config *host, struct err *err)
{
	_cleanup_free_ char *kernel = NULL;
	struct isolation_default d;
	struct err why = { 0 };
	json_t *hyperv;

	if (isolation_default(host, cli->default_isolation, &d, err) < 0)
		return NULL;
	if (isolation_hyperv_available(cli->root, &kernel, &why) == 0)
		hyperv = json_pack("{s:b, s:s}", "Available", 1, "GuestKernel", kernel);
	else
		hyperv = json_pack("{s:b, s:s}", "Available", 0, "Reason", why.msg);
	return json_pack("{s:s, s:s, s:{s:{s:b}, s:o}}", "Default", d.hyperv ? "hyperv" : "process",
			 "DefaultReason", d.why, "Modes", "process", "Available", 1, "hyperv",
			 hyperv);
}

int cmd_info(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = { { "format", required_argument, NULL, 'f' },
					      { "help", no_argument, NULL, 'H' },
					      { 0 } };
	_cleanup_json_ json_t *list = NULL, *info = NULL;
	const char *fmt = NULL;
	struct host_config host;
	struct err err = { 0 };
	struct utsname u;
	size_t i, running = 0;
	json_t *c, *iso, *hv, *secopts, *so;
	int opt;

	while ((opt = getopt_long(argc, argv, "f:", opts, NULL)) != -1) {
		switch (opt) {
		case 'f': fmt = optarg; break;
		case 'H': puts("Usage:  isobox info [--format json|TEMPLATE]"); return 0;
		default: return cli_usage("info", "unknown flag");
		}
	}
	if (container_list(cli->root, true, &list, &err) < 0 ||
	    cli_host_config(cli, &host, &err) < 0)
		return cli_fail(&err);
	iso = info_isolation(cli, &host, &err);
	if (!iso) {
		host_config_free(&host);
		return cli_fail(&err);
	}
	json_array_foreach(list, i, c)
		running += json_is_true(json_object_get(json_object_get(c, "State"), "Running"));
	uname(&u);
	info = json_pack("{s:I, s:I, s:I, s:o, s:b, s:s, s:s, s:s, s:s, s:s, s:s?}", "Containers",
			 (json_int_t)json_array_size(list), "ContainersRunning", (json_int_t)running,
			 "ContainersStopped", (json_int_t)(json_array_size(list) - running),
			 "Isolation", iso, "Init", host.init, "CgroupVersion",
			 access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0 ? "2" : "1",
			 "KernelVersion", u.release, "OperatingSystem", "Linux", "Architecture",
			 u.machine, "IsoboxRootDir", cli->root, "ConfigFile", host.path);
	/* docker's names: the default seccomp profile, and the host's
	 * no_new_privileges default (dockerd --no-new-privileges). */
	secopts = json_pack("[s]", "name=seccomp,profile=default");
	if (host.no_new_privileges)
		json_array_append_new(secopts, json_string("name=no-new-privileges"));
	json_object_set_new(info, "SecurityOptions", secopts);
	host_config_free(&host);
	if (fmt && !strcmp(fmt, "json")) {
		format_json_pretty(stdout, info);
		return 0;
	}
	if (fmt)
		return format_template(stdout, fmt, info) < 0 ? cli_usage("info", "bad --format")
							      : 0;
	printf("Containers: %zu\n Running: %zu\n Stopped: %zu\n", json_array_size(list), running,
	       json_array_size(list) - running);
	printf("Default Isolation: %s (%s)\n", json_string_value(json_object_get(iso, "Default")),
	       json_string_value(json_object_get(iso, "DefaultReason")));
	hv = json_object_get(json_object_get(iso, "Modes"), "hyperv");
	printf("Isolation Modes:\n process: available\n");
	if (json_is_true(json_object_get(hv, "Available")))
		printf(" hyperv: available, guest kernel %s\n",
		       json_string_value(json_object_get(hv, "GuestKernel")));
	else
		printf(" hyperv: not available: %s\n",
		       json_string_value(json_object_get(hv, "Reason")));
	printf("Default Init: %s\n", json_is_true(json_object_get(info, "Init")) ?
	       "true (isobox.conf: init = true; --init=false overrides)" : "false (--init adds it)");
	printf("Cgroup Version: %s\n", access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0 ?
	       "2" : "1 (hybrid)");
	printf("Kernel Version: %s\nOperating System: Linux\nArchitecture: %s\n", u.release,
	       u.machine);
	printf("Security Options:\n");
	json_array_foreach(secopts, i, so) {
		const char *s = json_string_value(so);

		if (!strcmp(s, "name=seccomp,profile=default"))
			printf(" seccomp\n  Profile: default\n");
		else
			printf(" %s\n", s + strlen("name="));
	}
	printf("Isobox Root Dir: %s\n", cli->root);
	return 0;
}
