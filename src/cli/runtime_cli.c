/* isobox-runtime: runc's command line, for containerd's runc shim and
 * podman's conmon. The same binary as isobox, started under this name.
 * Errors exit 1, as runc's do, and go to --log as JSON lines in runc's shape
 * ({"level":"error","msg":...,"time":...}) so a shim can report them. */
#include <ctype.h>
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
#include "util/passwd.h"
#include "util/fs.h"
#include "util/signal.h"
#include "util/strv.h"

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
       OPT_PROCESS, OPT_TTY, OPT_CWD, OPT_NNP, OPT_HELP };

static const struct option create_options[] = {
	{ "bundle", required_argument, NULL, 'b' },
	{ "pid-file", required_argument, NULL, OPT_PID_FILE },
	{ "console-socket", required_argument, NULL, OPT_CONSOLE },
	{ "no-pivot", no_argument, NULL, OPT_NO_PIVOT },
	{ "no-new-keyring", no_argument, NULL, OPT_NO_KEYRING },
	{ "preserve-fds", required_argument, NULL, OPT_PRESERVE },
	{ "detach", no_argument, NULL, 'd' },
	{ "keep", no_argument, NULL, OPT_KEEP },
	{ "help", no_argument, NULL, 'h' },
	{ 0 },
};

static const char create_help[] =
	"Usage: isobox-runtime %s [OPTIONS] ID\n\n"
	"Options:\n"
	"  -b, --bundle DIR          the bundle (config.json and its rootfs; default .)\n"
	"  --pid-file FILE           write the container's pid there\n"
	"  --console-socket PATH     an AF_UNIX socket that gets the pty's master\n"
	"  --preserve-fds N          pass fds 3..3+N-1 (after LISTEN_FDS's) to the app\n"
	"                            (process isolation; a VM cannot take host fds)\n"
	"  --no-pivot, --no-new-keyring  accepted\n"
	"%s"
	"\nWith LISTEN_FDS=N in the environment (and LISTEN_PID this process's pid, or\n"
	"unset), fds 3..3+N-1 go to the app with LISTEN_FDS=N and LISTEN_PID=1.\n";

static int fd_count_parse(const char *s, int *out);

/* systemd's socket activation meant for this process, as runc takes it. */
static int listen_fds_of_env(void)
{
	const char *fds = getenv("LISTEN_FDS"), *pid = getenv("LISTEN_PID");
	int n = 0;

	if (!fds || (pid && atoi(pid) != getpid()) || fd_count_parse(fds, &n) < 0)
		return 0;
	return n;
}

/* create, run: the container's flags; 0, -1 on error, 1 when --help printed. */
static int create_parse(const struct rt_cli *c, int argc, char **argv, struct ocirt_create *o,
			bool *detach, bool *keep)
{
	int opt;

	optind = 1;
	o->listen_fds = listen_fds_of_env();
	while ((opt = getopt_long_only(argc, argv, "+b:dh", create_options, NULL)) != -1) {
		switch (opt) {
		case 'b': o->bundle = optarg; break;
		case OPT_PID_FILE: o->pid_file = optarg; break;
		case OPT_CONSOLE: o->console_socket = optarg; break;
		case OPT_NO_PIVOT: case OPT_NO_KEYRING: break;  /* accepted: always pivot, no keyring */
		case OPT_PRESERVE:
			if (fd_count_parse(optarg, &o->preserve_fds) < 0)
				return -rt_usage(c, "--preserve-fds %s: a number of fds, 0 to 1000",
						 optarg);
			break;
		case 'd': *detach = true; break;
		case OPT_KEEP: *keep = true; break;
		case 'h':
			printf(create_help, argv[0],
			       strcmp(argv[0], "run") ? ""
						      : "  -d, --detach              return once it runs\n"
							"  --keep                    keep it after it exits\n");
			return 1;
		default: return -rt_usage(c, "%s: unknown flag", argv[0]);
		}
	}
	if (optind != argc - 1)
		return -rt_usage(c, "%s needs exactly one container id", argv[0]);
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

	if ((r = create_parse(c, argc, argv, &o, &detach, &keep)) != 0)
		return r < 0 ? 1 : 0;
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

	if ((r = create_parse(c, argc, argv, &o, &detach, &keep)) != 0)
		return r < 0 ? 1 : 0;
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

static const char exec_help[] =
	"Usage: isobox-runtime exec [OPTIONS] ID COMMAND [ARG...]\n"
	"       isobox-runtime exec [OPTIONS] --process FILE ID\n\n"
	"Run a process in a running container.\n\n"
	"Options:\n"
	"  --cwd DIR                 the working directory in the container\n"
	"  -e, --env KEY=VALUE       set an environment variable (repeatable)\n"
	"  -u, --user UID[:GID]      the user (and group) to run as\n"
	"  -g, --additional-gids GID add a supplementary group (repeatable)\n"
	"  -c, --cap CAP             add a capability (repeatable)\n"
	"  --no-new-privs            set no_new_privs for the process\n"
	"  -t, --tty                 allocate a pseudo-TTY (its master goes to --console-socket)\n"
	"  -d, --detach              do not wait for the process\n"
	"  --pid-file FILE           write the process's pid there\n"
	"  -p, --process FILE        the process as an OCI process.json: its args, env, cwd and\n"
	"                            user; the flags above are then ignored, as runc does\n"
	"  --preserve-fds N          pass fds 3..3+N-1 to the process (process isolation)\n"
	"  --console-socket PATH     an AF_UNIX socket that gets the pty's master\n";

static int fd_count_parse(const char *s, int *out)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (!*s || *end || v < 0 || v > 1000)
		return -1;
	*out = (int)v;
	return 0;
}

/* NAME or CAP_NAME, as the spec spells it. */
static char *cap_name(const char *s)
{
	char *name = strncasecmp(s, "CAP_", 4) ? xasprintf("CAP_%s", s) : xstrdup(s);
	char *p;

	for (p = name; *p; p++)
		*p = (char)toupper((unsigned char)*p);
	return name;
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
		{ "cwd", required_argument, NULL, OPT_CWD },
		{ "env", required_argument, NULL, 'e' },
		{ "user", required_argument, NULL, 'u' },
		{ "additional-gids", required_argument, NULL, 'g' },
		{ "cap", required_argument, NULL, 'c' },
		{ "no-new-privs", no_argument, NULL, OPT_NNP },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct ocirt_exec e = { .root = c->root };
	_cleanup_json_ json_t *process = NULL;
	struct strv env = { 0 }, caps = { 0 };
	_cleanup_free_ unsigned *gids = NULL;
	struct err err = { 0 };
	int opt, code = 0, r;
	unsigned id;
	char *colon;

	optind = 1;
	while ((opt = getopt_long_only(argc, argv, "+p:tde:u:g:c:h", opts, NULL)) != -1) {
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
		case OPT_PRESERVE:
			if (fd_count_parse(optarg, &e.preserve_fds) < 0)
				return rt_usage(c, "exec: --preserve-fds %s: a number of fds, 0 to 1000",
						optarg);
			break;
		case OPT_CWD:
			if (optarg[0] != '/')
				return rt_usage(c, "exec: --cwd %s: an absolute path", optarg);
			e.cwd = optarg;
			break;
		case 'e':
			if (!strchr(optarg, '=') || optarg[0] == '=')
				return rt_usage(c, "exec: --env %s: KEY=VALUE", optarg);
			strv_push(&env, optarg);
			break;
		case 'u':
			colon = strchr(optarg, ':');
			if (colon)
				*colon = '\0';
			if (passwd_parse_id(optarg, &id) < 0 || (colon && passwd_parse_id(colon + 1, &id) < 0))
				return rt_usage(c, "exec: --user takes UID[:GID], in decimal");
			if (colon)
				*colon = ':';
			e.user = optarg;
			break;
		case 'g':
			if (passwd_parse_id(optarg, &id) < 0)
				return rt_usage(c, "exec: --additional-gids %s: a gid in decimal", optarg);
			gids = xrealloc(gids, (e.n_gids + 1) * sizeof(*gids));
			gids[e.n_gids++] = id;
			break;
		case 'c': {
			_cleanup_free_ char *name = cap_name(optarg);

			strv_push(&caps, name);
			break;
		}
		case OPT_NNP: e.no_new_privs = true; break;
		case 'h': fputs(exec_help, stdout); return 0;
		default: return rt_usage(c, "exec: unknown flag: see exec --help");
		}
	}
	if (optind >= argc || (!process && optind + 1 >= argc))
		return rt_usage(c, "usage: exec [OPTIONS] ID COMMAND [ARG...], or exec --process "
				"FILE ID: see exec --help");
	e.id = argv[optind];
	e.args = (const char *const *)argv + optind + 1;
	e.env = strv_get(&env);
	e.caps = strv_get(&caps);
	e.gids = gids;
	r = ocirt_exec(&e, &code, &err);
	strv_free(&env);
	strv_free(&caps);
	return r < 0 ? rt_fail(c, &err) : code;
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

static const char update_help[] =
	"Usage: isobox-runtime update [OPTIONS] ID\n\n"
	"New resource limits for a running container, kept for the next update. In a\n"
	"VM they apply to the app's cgroup in the guest; what a VM cannot honour\n"
	"(memory above its RAM, CPUs it lacks, realtime limits, block I/O weights) is\n"
	"refused.\n\n"
	"Options:\n"
	"  -r, --resources FILE      linux.resources as JSON ('-': stdin); the other\n"
	"                            flags are then ignored, as runc does\n"
	"  --memory BYTES            memory limit (k, m, g suffixes; -1: none)\n"
	"  --memory-swap BYTES       memory plus swap (-1: unlimited swap)\n"
	"  --memory-reservation BYTES  soft limit\n"
	"  --kernel-memory BYTES     kernel memory limit (cgroup v1; v2 ignores it)\n"
	"  --cpu-share, --cpu-shares N  relative CPU weight\n"
	"  --cpu-quota US            CPU time per period (-1: none)\n"
	"  --cpu-period US           CFS period\n"
	"  --cpu-rt-period US        realtime period (cgroup v1, process isolation)\n"
	"  --cpu-rt-runtime US       realtime runtime (cgroup v1, process isolation)\n"
	"  --cpuset-cpus LIST        CPUs to use, e.g. 0-2,5\n"
	"  --cpuset-mems LIST        memory nodes to use\n"
	"  --pids-limit N            maximum number of processes (-1: none)\n"
	"  --blkio-weight N          block I/O weight, 10 to 1000 (process isolation)\n";

enum { U_MEMORY = 512, U_SWAP, U_RESERVATION, U_KERNEL, U_SHARES, U_QUOTA, U_PERIOD,
       U_RT_PERIOD, U_RT_RUNTIME, U_CPUS, U_MEMS, U_PIDS, U_BLKIO };

/* Where each update flag goes in linux.resources, and how its value reads. */
static const struct {
	int opt;
	const char *object, *key;
	char kind;              /* b: bytes or -1, i: integer (-1 allowed), u: unsigned, s: text */
} update_keys[] = {
	{ U_MEMORY, "memory", "limit", 'b' },      { U_SWAP, "memory", "swap", 'b' },
	{ U_RESERVATION, "memory", "reservation", 'b' }, { U_KERNEL, "memory", "kernel", 'b' },
	{ U_SHARES, "cpu", "shares", 'u' },         { U_QUOTA, "cpu", "quota", 'i' },
	{ U_PERIOD, "cpu", "period", 'u' },         { U_RT_PERIOD, "cpu", "realtimePeriod", 'u' },
	{ U_RT_RUNTIME, "cpu", "realtimeRuntime", 'i' }, { U_CPUS, "cpu", "cpus", 's' },
	{ U_MEMS, "cpu", "mems", 's' },             { U_PIDS, "pids", "limit", 'i' },
	{ U_BLKIO, "blockIO", "weight", 'u' },
};

static int update_value(char kind, const char *s, json_t **out)
{
	long long v;
	char *end;

	if (kind == 's') {
		*out = json_string(s);
		return *out ? 0 : -1;
	}
	if (!strcmp(s, "-1") && kind != 'u')
		v = -1;
	else if (kind == 'b' ? parse_bytes(s, &v) < 0 || v < 0
			     : (errno = 0, v = strtoll(s, &end, 10), errno || !*s || *end ||
				v < (kind == 'i' ? -1 : 0)))
		return -1;
	*out = json_integer(v);
	return 0;
}

/* runc's update: each flag into linux.resources, or --resources FILE (linux.resources
 * as JSON; "-" for stdin). */
static int oci_update(const struct rt_cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "resources", required_argument, NULL, 'r' },
		{ "memory", required_argument, NULL, U_MEMORY },
		{ "memory-swap", required_argument, NULL, U_SWAP },
		{ "memory-reservation", required_argument, NULL, U_RESERVATION },
		{ "kernel-memory", required_argument, NULL, U_KERNEL },
		{ "cpu-share", required_argument, NULL, U_SHARES },
		{ "cpu-shares", required_argument, NULL, U_SHARES },
		{ "cpu-quota", required_argument, NULL, U_QUOTA },
		{ "cpu-period", required_argument, NULL, U_PERIOD },
		{ "cpu-rt-period", required_argument, NULL, U_RT_PERIOD },
		{ "cpu-rt-runtime", required_argument, NULL, U_RT_RUNTIME },
		{ "cpuset-cpus", required_argument, NULL, U_CPUS },
		{ "cpuset-mems", required_argument, NULL, U_MEMS },
		{ "pids-limit", required_argument, NULL, U_PIDS },
		{ "blkio-weight", required_argument, NULL, U_BLKIO },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	_cleanup_json_ json_t *res = json_object(), *file = NULL;
	struct err err = { 0 };
	size_t i;
	int opt;

	optind = 1;
	while ((opt = getopt_long_only(argc, argv, "+r:h", opts, NULL)) != -1) {
		json_t *v = NULL, *obj;

		if (opt == 'h') {
			fputs(update_help, stdout);
			return 0;
		}
		if (opt == 'r') {
			json_decref(file);
			file = !strcmp(optarg, "-") ? json_loadf(stdin, 0, NULL)
						    : json_load_file(optarg, 0, NULL);
			if (!json_is_object(file))
				return rt_usage(c, "--resources %s is not a JSON object", optarg);
			continue;
		}
		for (i = 0; i < sizeof(update_keys) / sizeof(update_keys[0]); i++)
			if (update_keys[i].opt == opt)
				break;
		if (i == sizeof(update_keys) / sizeof(update_keys[0]))
			return rt_usage(c, "update: unknown flag: see update --help");
		if (update_value(update_keys[i].kind, optarg, &v) < 0)
			return rt_usage(c, "update: %s.%s %s: %s", update_keys[i].object,
					update_keys[i].key, optarg,
					update_keys[i].kind == 'b' ? "a size in bytes (k, m, g), or -1"
					: update_keys[i].kind == 'u' ? "a number"
								     : "a number, or -1");
		if (!(obj = json_object_get(res, update_keys[i].object)))
			json_object_set_new(res, update_keys[i].object, obj = json_object());
		json_object_set_new(obj, update_keys[i].key, v);
	}
	if (optind != argc - 1)
		return rt_usage(c, "usage: update [OPTIONS] ID: see update --help");
	return ocirt_update(c->root, argv[optind], file ? file : res, &err) < 0 ? rt_fail(c, &err)
									      : 0;
}

/* runc's spec --rootless (its specconv.ToRootless): a user namespace that
 * maps the caller's ids to root, no network namespace of its own, no cgroup
 * resources, /sys bound from the host, devpts without gid=5. */
static void spec_rootless(json_t *j)
{
	json_t *linux_ = json_object_get(j, "linux"), *ns = json_object_get(linux_, "namespaces");
	json_t *m, *kept = json_array();
	size_t i;

	json_array_foreach(ns, i, m)
		if (strcmp(json_string_value(json_object_get(m, "type")) ?: "", "network"))
			json_array_append(kept, m);
	json_array_append_new(kept, json_pack("{s:s}", "type", "user"));
	json_object_set_new(linux_, "namespaces", kept);
	json_object_set_new(linux_, "uidMappings",
			    json_pack("[{s:i, s:I, s:i}]", "containerID", 0, "hostID",
				      (json_int_t)geteuid(), "size", 1));
	json_object_set_new(linux_, "gidMappings",
			    json_pack("[{s:i, s:I, s:i}]", "containerID", 0, "hostID",
				      (json_int_t)getegid(), "size", 1));
	json_object_del(linux_, "resources");
	json_array_foreach(json_object_get(j, "mounts"), i, m) {
		const char *type = json_string_value(json_object_get(m, "type"));
		json_t *opts = json_object_get(m, "options"), *o;
		size_t k;

		if (type && !strcmp(type, "sysfs")) {
			json_object_set_new(m, "type", json_string("none"));
			json_object_set_new(m, "source", json_string("/sys"));
			json_array_insert_new(opts, 0, json_string("rbind"));
		}
		for (k = 0; (o = json_array_get(opts, k));)
			if (!strncmp(json_string_value(o) ?: "", "gid=", 4))
				json_array_remove(opts, k);
			else
				k++;
	}
}

static int oci_spec(const struct rt_cli *c, int argc, char **argv)
{
	static const struct option opts[] = { { "bundle", required_argument, NULL, 'b' },
					      { "rootless", no_argument, NULL, 'r' },
					      { "help", no_argument, NULL, 'h' }, { 0 } };
	_cleanup_json_ json_t *j = json_loads(spec_template, 0, NULL);
	_cleanup_free_ char *path = NULL, *text = NULL;
	const char *bundle = ".";
	struct err err = { 0 };
	bool rootless = false;
	int opt;

	optind = 1;
	while ((opt = getopt_long_only(argc, argv, "+b:h", opts, NULL)) != -1) {
		if (opt == 'b')
			bundle = optarg;
		else if (opt == 'r')
			rootless = true;
		else if (opt == 'h') {
			puts("Usage: isobox-runtime spec [--bundle DIR] [--rootless]\n\n"
			     "Write a default config.json into DIR (default .). --rootless: runc's\n"
			     "rootless spec, a user namespace mapping the caller's uid and gid to\n"
			     "root, no network namespace, no cgroup resources.");
			return 0;
		} else
			return rt_usage(c, "usage: spec [--bundle DIR] [--rootless]");
	}
	if (rootless)
		spec_rootless(j);
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
