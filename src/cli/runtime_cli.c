/* isobox-runtime: runc's command line, for containerd's runc shim and
 * podman's conmon. The same binary as isobox, started under this name.
 * Errors exit 1, as runc's do, and go to --log as JSON lines in runc's shape
 * ({"level":"error","msg":...,"time":...}) so a shim can report them. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/cli.h"
#include "engine/host_config.h"
#include "engine/isolation.h"
#include "engine/vm_image.h"
#include "runtime/oci_runtime.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/signal.h"

#define RUNTIME_ROOT "/run/isobox-runtime"

struct rt_cli {
	const char *root;
	const char *log;            /* --log FILE, or NULL */
	bool log_json;              /* --log-format json */
	bool hyperv_name;           /* started as isobox-runtime-hyperv */
};

/* The isolation decision and what a hyperv container's VM boots, owned here. */
struct vm_parts {
	struct isolation_decision decision;
	char *rootfs;
	struct ocirt_vm vm;
};

/* What `isobox-runtime spec` writes: a bundle's config.json for ./rootfs. */
static const char spec_template[] =
	"{\"ociVersion\":\"1.0.2\","
	"\"process\":{\"terminal\":true,\"user\":{\"uid\":0,\"gid\":0},\"args\":[\"sh\"],"
	"\"env\":[\"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\","
	"\"TERM=xterm\"],\"cwd\":\"/\","
	"\"capabilities\":{\"bounding\":[\"CAP_AUDIT_WRITE\",\"CAP_KILL\",\"CAP_NET_BIND_SERVICE\"],"
	"\"effective\":[\"CAP_AUDIT_WRITE\",\"CAP_KILL\",\"CAP_NET_BIND_SERVICE\"],"
	"\"permitted\":[\"CAP_AUDIT_WRITE\",\"CAP_KILL\",\"CAP_NET_BIND_SERVICE\"],"
	"\"ambient\":[\"CAP_AUDIT_WRITE\",\"CAP_KILL\",\"CAP_NET_BIND_SERVICE\"]},"
	"\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"hard\":1024,\"soft\":1024}],"
	"\"noNewPrivileges\":true},"
	"\"root\":{\"path\":\"rootfs\",\"readonly\":true},\"hostname\":\"isobox\","
	"\"mounts\":[{\"destination\":\"/proc\",\"type\":\"proc\",\"source\":\"proc\"},"
	"{\"destination\":\"/dev\",\"type\":\"tmpfs\",\"source\":\"tmpfs\","
	"\"options\":[\"nosuid\",\"strictatime\",\"mode=755\",\"size=65536k\"]},"
	"{\"destination\":\"/dev/pts\",\"type\":\"devpts\",\"source\":\"devpts\","
	"\"options\":[\"nosuid\",\"noexec\",\"newinstance\",\"ptmxmode=0666\",\"mode=0620\",\"gid=5\"]},"
	"{\"destination\":\"/dev/shm\",\"type\":\"tmpfs\",\"source\":\"shm\","
	"\"options\":[\"nosuid\",\"noexec\",\"nodev\",\"mode=1777\",\"size=65536k\"]},"
	"{\"destination\":\"/dev/mqueue\",\"type\":\"mqueue\",\"source\":\"mqueue\","
	"\"options\":[\"nosuid\",\"noexec\",\"nodev\"]},"
	"{\"destination\":\"/sys\",\"type\":\"sysfs\",\"source\":\"sysfs\","
	"\"options\":[\"nosuid\",\"noexec\",\"nodev\",\"ro\"]}],"
	"\"linux\":{\"resources\":{\"devices\":[{\"allow\":false,\"access\":\"rwm\"}]},"
	"\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"network\"},{\"type\":\"ipc\"},"
	"{\"type\":\"uts\"},{\"type\":\"mount\"},{\"type\":\"cgroup\"}],"
	"\"maskedPaths\":[\"/proc/acpi\",\"/proc/asound\",\"/proc/kcore\",\"/proc/keys\","
	"\"/proc/latency_stats\",\"/proc/timer_list\",\"/proc/timer_stats\",\"/proc/sched_debug\","
	"\"/sys/firmware\",\"/proc/scsi\"],"
	"\"readonlyPaths\":[\"/proc/bus\",\"/proc/fs\",\"/proc/irq\",\"/proc/sys\","
	"\"/proc/sysrq-trigger\"]}}";

static int rt_fail(const struct rt_cli *c, const struct err *err)
{
	fprintf(stderr, "isobox-runtime: %s\n", err->msg);
	if (c->log) {
		FILE *f = fopen(c->log, "ae");
		char now[64];

		time_rfc3339(now, sizeof(now));
		if (f && c->log_json) {
			_cleanup_json_ json_t *j = json_pack("{s:s, s:s, s:s}", "level", "error",
							     "msg", err->msg, "time", now);
			_cleanup_free_ char *s = json_dumps(j, JSON_COMPACT);

			fprintf(f, "%s\n", s);
		} else if (f) {
			fprintf(f, "time=\"%s\" level=error msg=\"%s\"\n", now, err->msg);
		}
		if (f)
			fclose(f);
	}
	return 1;
}

static int rt_usage(const struct rt_cli *c, const char *fmt, ...)
{
	struct err err = { 0 };
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err.msg, sizeof(err.msg), fmt, ap);
	va_end(ap);
	return rt_fail(c, &err);
}

static int print_json(json_t *j)
{
	_cleanup_free_ char *s = json_dumps(j, JSON_INDENT(2));

	puts(s);
	return 0;
}

enum { OPT_BUNDLE = 256, OPT_PID_FILE, OPT_CONSOLE, OPT_NO_PIVOT, OPT_NO_KEYRING,
       OPT_PRESERVE, OPT_DETACH, OPT_KEEP, OPT_FORCE, OPT_ALL, OPT_FORMAT, OPT_QUIET,
       OPT_PROCESS, OPT_TTY };

static const struct option create_options[] = {
	{ "bundle", required_argument, NULL, 'b' },
	{ "pid-file", required_argument, NULL, OPT_PID_FILE },
	{ "console-socket", required_argument, NULL, OPT_CONSOLE },
	{ "no-pivot", no_argument, NULL, OPT_NO_PIVOT },
	{ "no-new-keyring", no_argument, NULL, OPT_NO_KEYRING },
	{ "preserve-fds", required_argument, NULL, OPT_PRESERVE },
	{ "detach", no_argument, NULL, 'd' },
	{ "keep", no_argument, NULL, OPT_KEEP },
	{ 0 },
};

/* create, run: the container's flags; returns the index of ID. */
static int create_parse(const struct rt_cli *c, int argc, char **argv, struct ocirt_create *o,
			bool *detach, bool *keep)
{
	int opt;

	optind = 1;
	while ((opt = getopt_long_only(argc, argv, "+b:d", create_options, NULL)) != -1) {
		switch (opt) {
		case 'b': o->bundle = optarg; break;
		case OPT_PID_FILE: o->pid_file = optarg; break;
		case OPT_CONSOLE: o->console_socket = optarg; break;
		case OPT_NO_PIVOT: case OPT_NO_KEYRING: break;  /* accepted: always pivot, no keyring */
		case OPT_PRESERVE: o->preserve_fds = atoi(optarg); break;
		case 'd': *detach = true; break;
		case OPT_KEEP: *keep = true; break;
		default: return -rt_usage(c, "%s: unknown flag", argv[0]);
		}
	}
	if (optind != argc - 1)
		return -rt_usage(c, "%s needs exactly one container id", argv[0]);
	if (o->preserve_fds < 0 || o->preserve_fds > 1000)
		return -rt_usage(c, "--preserve-fds takes 0 to 1000");
	o->id = argv[optind];
	return 0;
}

static const char *isobox_root(void)
{
	const char *root = getenv("ISOBOX_ROOT");

	return root && *root ? root : "/var/lib/isobox";
}

/* The bundle's isolation (engine/isolation.c: its annotation, this program's
 * name, the host's default, and the policy's rules); for hyperv, what the VM
 * boots: the guest kernel chosen and the bundle's rootfs as an EROFS disk in
 * isobox's store. Sets o->vm when the bundle gets hyperv isolation. */
static int isolation_prepare(const struct rt_cli *c, struct ocirt_create *o, struct vm_parts *p,
			     struct err *err)
{
	_cleanup_free_ char *config = xasprintf("%s/config.json", o->bundle), *rootfs = NULL;
	_cleanup_json_ json_t *cfg = NULL;
	struct host_config host;
	const char *path;
	int r;

	if (json_load_path(config, &cfg, err) < 0)
		return err_wrap(err, "bundle %s", o->bundle);
	if (host_config_load(NULL, &host, err) < 0)
		return -1;
	r = isolation_decide_bundle(isobox_root(), &host, cfg, c->hyperv_name, &p->decision, err);
	host_config_free(&host);
	if (r < 0 || !p->decision.hyperv)
		return r;
	path = json_string_value(json_object_get(json_object_get(cfg, "root"), "path"));
	if (!path)
		return err_set(err, "bundle %s: config.json: root.path is missing", o->bundle);
	rootfs = path[0] == '/' ? xstrdup(path) : xasprintf("%s/%s", o->bundle, path);
	if (vm_image_from_dir(isobox_root(), rootfs, &p->rootfs, err) < 0)
		return err_wrap(err, "hyperv isolation");
	p->vm = (struct ocirt_vm){ .kernel = p->decision.kernel.vmlinuz,
				   .initrd = p->decision.kernel.initrd, .rootfs = p->rootfs };
	o->vm = &p->vm;
	return 0;
}

static void vm_parts_free(struct vm_parts *p)
{
	isolation_decision_free(&p->decision);
	free(p->rootfs);
}

static int oci_create(const struct rt_cli *c, int argc, char **argv)
{
	struct ocirt_create o = { .root = c->root, .bundle = "." };
	struct vm_parts parts = { 0 };
	struct err err = { 0 };
	bool detach = false, keep = false;
	pid_t pid;
	int r;

	if (create_parse(c, argc, argv, &o, &detach, &keep) < 0)
		return 1;
	r = isolation_prepare(c, &o, &parts, &err);
	if (r == 0)
		r = ocirt_create(&o, &pid, &err);
	vm_parts_free(&parts);
	return r < 0 ? rt_fail(c, &err) : 0;
}

/* run in the foreground: the container is our child; signals go to it, and
 * its status is ours. */
static pid_t run_child;

static void run_forward(int sig)
{
	if (run_child > 0)
		kill(run_child, sig);
}

static int oci_run(const struct rt_cli *c, int argc, char **argv)
{
	static const int forwarded[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 };
	struct ocirt_create o = { .root = c->root, .bundle = "." };
	struct vm_parts parts = { 0 };
	struct err err = { 0 };
	bool detach = false, keep = false;
	int status, code, r;
	size_t i;

	if (create_parse(c, argc, argv, &o, &detach, &keep) < 0)
		return 1;
	/* create, then start: the hooks run between them, as they do for runc. */
	r = isolation_prepare(c, &o, &parts, &err);
	if (r == 0)
		r = ocirt_create(&o, &run_child, &err);
	vm_parts_free(&parts);
	if (r == 0)
		r = ocirt_start(c->root, o.id, &err);
	if (r < 0) {
		rt_fail(c, &err);
		if (run_child > 0)
			ocirt_delete(c->root, o.id, true, &(struct err){ 0 });
		return 1;
	}
	if (detach)
		return 0;
	for (i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
		signal(forwarded[i], run_forward);
	while (waitpid(run_child, &status, 0) < 0)
		if (errno != EINTR)
			return rt_fail(c, &(struct err){ .msg = "wait for the container" });
	code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	if (!keep && ocirt_delete(c->root, o.id, true, &err) < 0)
		rt_fail(c, &err);
	return code;
}

static int one_id(const struct rt_cli *c, int argc, char **argv)
{
	if (argc != 2)
		return rt_usage(c, "%s needs exactly one container id", argv[0]);
	return 0;
}

static int oci_start(const struct rt_cli *c, int argc, char **argv)
{
	struct err err = { 0 };

	if (one_id(c, argc, argv))
		return 1;
	return ocirt_start(c->root, argv[1], &err) < 0 ? rt_fail(c, &err) : 0;
}

static int oci_state(const struct rt_cli *c, int argc, char **argv)
{
	_cleanup_json_ json_t *j = NULL;
	struct err err = { 0 };

	if (one_id(c, argc, argv))
		return 1;
	if (ocirt_state(c->root, argv[1], &j, &err) < 0)
		return rt_fail(c, &err);
	return print_json(j);
}

static int oci_kill(const struct rt_cli *c, int argc, char **argv)
{
	static const struct option opts[] = { { "all", no_argument, NULL, 'a' }, { 0 } };
	struct err err = { 0 };
	bool all = false;
	int opt, sig = SIGTERM;

	optind = 1;
	while ((opt = getopt_long_only(argc, argv, "+a", opts, NULL)) != -1) {
		if (opt != 'a')
			return rt_usage(c, "kill: unknown flag");
		all = true;
	}
	if (optind >= argc || argc - optind > 2)
		return rt_usage(c, "usage: kill [--all] ID [SIGNAL]");
	if (argc - optind == 2 && (sig = signal_parse(argv[optind + 1])) <= 0)
		return rt_usage(c, "kill: invalid signal %s", argv[optind + 1]);
	return ocirt_kill(c->root, argv[optind], sig, all, &err) < 0 ? rt_fail(c, &err) : 0;
}

static int oci_delete(const struct rt_cli *c, int argc, char **argv)
{
	static const struct option opts[] = { { "force", no_argument, NULL, 'f' }, { 0 } };
	struct err err = { 0 };
	bool force = false;
	int opt;

	optind = 1;
	while ((opt = getopt_long_only(argc, argv, "+f", opts, NULL)) != -1) {
		if (opt != 'f')
			return rt_usage(c, "delete: unknown flag");
		force = true;
	}
	if (optind != argc - 1)
		return rt_usage(c, "usage: delete [--force] ID");
	return ocirt_delete(c->root, argv[optind], force, &err) < 0 ? rt_fail(c, &err) : 0;
}

static int oci_list(const struct rt_cli *c, int argc, char **argv)
{
	static const struct option opts[] = { { "format", required_argument, NULL, 'f' },
					      { "quiet", no_argument, NULL, 'q' }, { 0 } };
	_cleanup_json_ json_t *list = NULL;
	struct err err = { 0 };
	bool json = false, quiet = false;
	json_t *s;
	size_t i;
	int opt;

	optind = 1;
	while ((opt = getopt_long_only(argc, argv, "+f:q", opts, NULL)) != -1) {
		if (opt == 'f' && (!strcmp(optarg, "json") || !strcmp(optarg, "table")))
			json = !strcmp(optarg, "json");
		else if (opt == 'q')
			quiet = true;
		else
			return rt_usage(c, "usage: list [--format table|json] [--quiet]");
	}
	if (ocirt_list(c->root, &list, &err) < 0)
		return rt_fail(c, &err);
	if (json)
		return print_json(list);
	if (!quiet)
		printf("%-12s %-8s %-10s %-40s %-30s %s\n", "ID", "PID", "STATUS", "BUNDLE",
		       "CREATED", "OWNER");
	json_array_foreach(list, i, s) {
		if (quiet) {
			puts(json_string_value(json_object_get(s, "id")));
			continue;
		}
		printf("%-12s %-8lld %-10s %-40s %-30s %s\n",
		       json_string_value(json_object_get(s, "id")),
		       (long long)json_integer_value(json_object_get(s, "pid")),
		       json_string_value(json_object_get(s, "status")),
		       json_string_value(json_object_get(s, "bundle")),
		       json_string_value(json_object_get(s, "created")), "root");
	}
	return 0;
}

static int oci_exec(const struct rt_cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "process", required_argument, NULL, 'p' },
		{ "tty", no_argument, NULL, 't' },
		{ "detach", no_argument, NULL, 'd' },
		{ "pid-file", required_argument, NULL, OPT_PID_FILE },
		{ "console-socket", required_argument, NULL, OPT_CONSOLE },
		{ "preserve-fds", required_argument, NULL, OPT_PRESERVE },
		{ 0 },
	};
	struct ocirt_exec e = { .root = c->root };
	_cleanup_json_ json_t *process = NULL;
	struct err err = { 0 };
	int opt, code = 0;

	optind = 1;
	while ((opt = getopt_long_only(argc, argv, "+p:td", opts, NULL)) != -1) {
		switch (opt) {
		case 'p':
			if (json_load_path(optarg, &process, &err) < 0)
				return rt_fail(c, &err);
			if (!json_is_object(process))
				return rt_usage(c, "--process %s is not a JSON object", optarg);
			e.process = process;
			break;
		case 't': e.tty = true; break;
		case 'd': e.detach = true; break;
		case OPT_PID_FILE: e.pid_file = optarg; break;
		case OPT_CONSOLE: e.console_socket = optarg; break;
		case OPT_PRESERVE: e.preserve_fds = atoi(optarg); break;
		default: return rt_usage(c, "exec: unknown flag");
		}
	}
	if (optind >= argc || (!process && optind + 1 >= argc))
		return rt_usage(c, "usage: exec [--process FILE] [--tty] [--detach] ID [COMMAND...]");
	e.id = argv[optind];
	e.args = (const char *const *)argv + optind + 1;
	if (ocirt_exec(&e, &code, &err) < 0)
		return rt_fail(c, &err);
	return code;
}

static int oci_pause_resume(const struct rt_cli *c, int argc, char **argv)
{
	struct err err = { 0 };

	if (one_id(c, argc, argv))
		return 1;
	return ocirt_pause(c->root, argv[1], !strcmp(argv[0], "pause"), &err) < 0
		       ? rt_fail(c, &err) : 0;
}

/* runc's ps: `ps -ef` lines of the container's processes, or their pids as JSON. */
static int oci_ps(const struct rt_cli *c, int argc, char **argv)
{
	static const struct option opts[] = { { "format", required_argument, NULL, 'f' }, { 0 } };
	_cleanup_json_ json_t *pids = NULL;
	FILE *ps;
	struct err err = { 0 };
	bool json = false;
	char line[4096];
	int opt;

	optind = 1;
	while ((opt = getopt_long_only(argc, argv, "+f:", opts, NULL)) != -1) {
		if (opt != 'f' || (strcmp(optarg, "json") && strcmp(optarg, "table")))
			return rt_usage(c, "usage: ps [--format table|json] ID");
		json = !strcmp(optarg, "json");
	}
	if (optind != argc - 1)
		return rt_usage(c, "usage: ps [--format table|json] ID");
	if (ocirt_pids(c->root, argv[optind], &pids, &err) < 0)
		return rt_fail(c, &err);
	if (json)
		return print_json(pids);
	ps = popen("ps -ef", "re");
	if (!ps)
		return rt_usage(c, "ps: cannot run ps -ef");
	for (bool header = true; fgets(line, sizeof(line), ps); header = false) {
		json_t *pid;
		size_t i;
		int p = 0;

		sscanf(line, "%*s %d", &p);
		json_array_foreach(pids, i, pid)
			if (header || json_integer_value(pid) == p) {
				fputs(line, stdout);
				break;
			}
		if (header && !json_array_size(pids))
			fputs(line, stdout);
	}
	pclose(ps);
	return 0;
}

/* runc's update: --memory, --pids-limit, --cpu-quota, --cpu-period, or
 * --resources FILE (linux.resources as JSON; "-" for stdin). */
static int oci_update(const struct rt_cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "resources", required_argument, NULL, 'r' },
		{ "memory", required_argument, NULL, 'm' },
		{ "pids-limit", required_argument, NULL, 'p' },
		{ "cpu-quota", required_argument, NULL, 'q' },
		{ "cpu-period", required_argument, NULL, 'P' },
		{ 0 },
	};
	_cleanup_json_ json_t *res = json_object();
	struct err err = { 0 };
	long long v;
	int opt;

	optind = 1;
	while ((opt = getopt_long_only(argc, argv, "+r:", opts, NULL)) != -1) {
		if (opt == 'r') {
			json_decref(res);
			res = !strcmp(optarg, "-") ? json_loadf(stdin, 0, NULL)
						   : json_load_file(optarg, 0, NULL);
			if (!json_is_object(res))
				return rt_usage(c, "--resources %s is not a JSON object", optarg);
			continue;
		}
		if (opt == '?' || parse_bytes(optarg, &v) < 0 || v < 0)
			return rt_usage(c, "update: bad flag or value");
		if (opt == 'm')
			json_object_set_new(res, "memory", json_pack("{s:I}", "limit", (json_int_t)v));
		else if (opt == 'p')
			json_object_set_new(res, "pids", json_pack("{s:I}", "limit", (json_int_t)v));
		else {
			json_t *cpu = json_object_get(res, "cpu");

			if (!cpu)
				json_object_set_new(res, "cpu", cpu = json_object());
			json_object_set_new(cpu, opt == 'q' ? "quota" : "period", json_integer(v));
		}
	}
	if (optind != argc - 1)
		return rt_usage(c, "usage: update [--resources FILE] [--memory N] ... ID");
	return ocirt_update(c->root, argv[optind], res, &err) < 0 ? rt_fail(c, &err) : 0;
}

static int oci_spec(const struct rt_cli *c, int argc, char **argv)
{
	static const struct option opts[] = { { "bundle", required_argument, NULL, 'b' },
					      { "rootless", no_argument, NULL, 'r' }, { 0 } };
	_cleanup_json_ json_t *j = json_loads(spec_template, 0, NULL);
	_cleanup_free_ char *path = NULL, *text = NULL;
	const char *bundle = ".";
	struct err err = { 0 };
	int opt;

	optind = 1;
	while ((opt = getopt_long_only(argc, argv, "+b:", opts, NULL)) != -1) {
		if (opt == 'b')
			bundle = optarg;
		else
			return rt_usage(c, "usage: spec [--bundle DIR]");
	}
	path = xasprintf("%s/config.json", bundle);
	if (access(path, F_OK) == 0)
		return rt_usage(c, "File %s exists. Remove it first", path);
	text = json_dumps(j, JSON_INDENT(2));
	if (write_file_new(path, text, strlen(text), 0644, &err) < 0)
		return rt_fail(c, &err);
	return 0;
}

static int oci_features(const struct rt_cli *c, int argc, char **argv)
{
	_cleanup_json_ json_t *j = json_pack(
		"{s:s, s:s, s:[], s:[s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s],"
		" s:{s:[s,s,s,s,s,s], s:{s:b, s:b, s:b}, s:{s:b}},"
		" s:{s:s}}",
		"ociVersionMin", "1.0.0", "ociVersionMax", "1.0.2", "hooks", "mountOptions",
		"ro", "rw", "bind", "rbind", "nosuid", "suid", "nodev", "dev", "noexec", "exec",
		"private", "rprivate", "shared", "rshared", "slave", "rslave", "relatime",
		"strictatime",
		"linux", "namespaces", "cgroup", "ipc", "mount", "network", "pid", "uts", "cgroup",
		"v1", 1, "v2", 1, "systemd", 0, "seccomp", "enabled", 1,
		"annotations", "io.isobox.isolation", "process");

	return print_json(j);
}

static const struct {
	const char *name;
	int (*fn)(const struct rt_cli *c, int argc, char **argv);
} rt_commands[] = {
	{ "create", oci_create }, { "start", oci_start }, { "run", oci_run },
	{ "state", oci_state },   { "kill", oci_kill },   { "delete", oci_delete },
	{ "list", oci_list },     { "exec", oci_exec },   { "spec", oci_spec },
	{ "features", oci_features }, { "pause", oci_pause_resume },
	{ "resume", oci_pause_resume }, { "ps", oci_ps }, { "update", oci_update },
};

int runtime_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "root", required_argument, NULL, 'r' },
		{ "log", required_argument, NULL, 'l' },
		{ "log-format", required_argument, NULL, 'f' },
		{ "systemd-cgroup", no_argument, NULL, 's' },
		{ "debug", no_argument, NULL, 'D' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'v' },
		{ 0 },
	};
	const char *name = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
	struct rt_cli c = { .root = RUNTIME_ROOT,
			    .hyperv_name = !strcmp(name, "isobox-runtime-hyperv") };
	size_t i;
	int opt;

	while ((opt = getopt_long_only(argc, argv, "+hv", opts, NULL)) != -1) {
		switch (opt) {
		case 'r': c.root = optarg; break;
		case 'l': c.log = optarg; break;
		case 'f':
			if (strcmp(optarg, "json") && strcmp(optarg, "text"))
				return rt_usage(&c, "--log-format is text or json");
			c.log_json = !strcmp(optarg, "json");
			break;
		case 's': case 'D': break;      /* cgroupfs is used; nothing more to say */
		case 'v':
			printf("isobox-runtime version 0.1.0\nspec: 1.0.2\n");
			return 0;
		case 'h':
			printf("Usage: isobox-runtime [--root DIR] [--log FILE] [--log-format "
			       "text|json] COMMAND\n\nCommands: create, start, run, state, kill, "
			       "delete, list, exec, ps, pause, resume, update, spec, features\n");
			return 0;
		default:
			return rt_usage(&c, "unknown global flag");
		}
	}
	if (optind >= argc)
		return rt_usage(&c, "no command: see isobox-runtime --help");
	for (i = 0; i < sizeof(rt_commands) / sizeof(rt_commands[0]); i++)
		if (!strcmp(argv[optind], rt_commands[i].name))
			return rt_commands[i].fn(&c, argc - optind, argv + optind);
	return rt_usage(&c, "'%s' is not an isobox-runtime command", argv[optind]);
}
