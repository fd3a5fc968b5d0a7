#include "runtime/oci_runtime.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "oci/spec.h"
#include "process/cgroup.h"
#include "process/process.h"
#include "process/seccomp.h"
#include "runtime/exec_vm.h"
#include "runtime/oci_hooks.h"
#include "runtime/runtime.h"
#include "runtime/vm_cgroup.h"
#include "runtime/vm_privileges.h"
#include "runtime/vm_update.h"
#include "util/cleanup.h"
#include "util/fdpass.h"
#include "util/fs.h"
#include "util/pty.h"
#include "util/strv.h"
#include "util/unixsock.h"
#include "vmm/guest_config.h"
#include "vmm/vm_backend.h"

#define STOP_WAIT_MS 10000

/* runc's rule for ids: letters, digits, '_', '+', '-', '.'; not "." or "..". */
static bool id_valid(const char *id)
{
	return *id && strcmp(id, ".") && strcmp(id, "..") && strlen(id) <= 1024 &&
	       strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_+-.") ==
		       strlen(id);
}

static int container_dir(const char *root, const char *id, char **dir, struct err *err)
{
	if (!id_valid(id))
		return err_set(err, "invalid container id \"%.64s\": use letters, digits, '_', "
			       "'+', '-' and '.'", id);
	*dir = xasprintf("%s/%s", root, id);
	return 0;
}

/* Field 22 of /proc/PID/stat, its start time: a pid reused by another
 * process has another. 0 when the process is gone or a zombie. */
static unsigned long long proc_start_time(pid_t pid)
{
	_cleanup_free_ char *path = xasprintf("/proc/%d/stat", pid), *text = NULL;
	unsigned long long start = 0;
	char state = 0;
	char *p;
	int i;

	if (pid <= 0 || read_file(path, 4096, &text, NULL, &(struct err){ 0 }) < 0)
		return 0;
	p = strrchr(text, ')');
	if (!p || sscanf(p + 2, "%c", &state) != 1 || state == 'Z' || state == 'X')
		return 0;
	for (i = 0, p += 2; i < 19 && p; i++)
		p = strchr(p + 1, ' ');
	return p && sscanf(p + 1, "%llu", &start) == 1 ? start : 0;
}

static int state_load(const char *root, const char *id, char **dir, json_t **out,
		      struct err *err)
{
	_cleanup_free_ char *path = NULL;

	if (container_dir(root, id, dir, err) < 0)
		return -1;
	path = xasprintf("%s/state.json", *dir);
	if (access(path, F_OK) < 0) {
		free(*dir);
		*dir = NULL;
		return err_set(err, "container %s does not exist", id);
	}
	if (json_load_path(path, out, err) < 0) {
		free(*dir);
		*dir = NULL;
		return -1;
	}
	return 0;
}

/* linux.cgroupsPath as a path below each hierarchy's root: "/a/b" and "a/b"
 * as they are, systemd's "slice:prefix:name" as cgroupfs would lay it out
 * ("slice/prefix-name.scope"), and isobox/<id> without one. */
static int cgroup_path(const char *cgroups_path, const char *id, char **out, struct err *err)
{
	const char *p = cgroups_path;
	char *c1, *c2;

	if (!p || !*p) {
		*out = xasprintf("isobox/%s", id);
		return 0;
	}
	while (*p == '/')
		p++;
	c1 = strchr(p, ':');
	c2 = c1 ? strchr(c1 + 1, ':') : NULL;
	if (c1 && c2)
		*out = xasprintf("%.*s/%.*s-%s.scope", (int)(c1 - p), p, (int)(c2 - c1 - 1), c1 + 1,
				 c2 + 1);
	else
		*out = xstrdup(p);
	if (!**out || strstr(*out, "..") || strstr(*out, "//")) {
		free(*out);
		return err_set(err, "linux.cgroupsPath %s: a path below the cgroup root", cgroups_path);
	}
	return 0;
}

/* The container's cgroup, from its state. */
static void state_cgroup(json_t *st, struct cgroup *cg)
{
	const char *path = json_string_value(json_object_get(st, "cgroup"));
	_cleanup_free_ char *dflt = NULL;

	if (!path)
		path = dflt = xasprintf("isobox/%s", json_string_value(json_object_get(st, "id")));
	cgroup_open_at(path, cg);
}

static bool dir_is_vm(const char *dir)
{
	_cleanup_free_ char *sock = xasprintf("%s/" VM_EXEC_SOCKET, dir);

	return access(sock, F_OK) == 0;
}

/* A VM is paused by stopping its VMM; a process container by its freezer. */
static bool is_paused(const char *dir, json_t *st)
{
	pid_t pid = json_integer_value(json_object_get(st, "pid"));
	_cleanup_free_ char *path = xasprintf("/proc/%d/stat", pid), *text = NULL;
	struct cgroup cg;
	bool frozen;
	char *p;

	if (dir_is_vm(dir)) {
		if (read_file(path, 4096, &text, NULL, &(struct err){ 0 }) < 0)
			return false;
		p = strrchr(text, ')');
		return p && p[1] && p[2] == 'T';
	}
	state_cgroup(st, &cg);
	frozen = cgroup_frozen(&cg);
	cgroup_free(&cg);
	return frozen;
}

/* created: waiting at its FIFO; running, or paused; stopped: gone (or its pid reused). */
static const char *status_of(const char *dir, json_t *st)
{
	pid_t pid = json_integer_value(json_object_get(st, "pid"));
	json_int_t start = json_integer_value(json_object_get(st, "starttime"));
	_cleanup_free_ char *fifo = xasprintf("%s/exec.fifo", dir);

	if (!start || proc_start_time(pid) != (unsigned long long)start)
		return "stopped";
	if (access(fifo, F_OK) == 0)
		return "created";
	return is_paused(dir, st) ? "paused" : "running";
}

/* ANNOTATIONS: the bundle's own, not what isobox added for the VM. */
static int state_save(const char *dir, const struct ocirt_create *c, const char *bundle,
		      const struct oci_spec *spec, json_t *annotations, pid_t pid,
		      const char *cgroup, struct err *err)
{
	_cleanup_free_ char *path = xasprintf("%s/state.json", dir);
	_cleanup_free_ char *rootfs = spec->root_path[0] == '/'
					      ? xstrdup(spec->root_path)
					      : xasprintf("%s/%s", bundle, spec->root_path);
	_cleanup_json_ json_t *j = NULL;
	char now[64];

	time_rfc3339(now, sizeof(now));
	j = json_pack("{s:s, s:s, s:i, s:I, s:s, s:s, s:s, s:s, s:O}", "ociVersion",
		      json_string_value(json_object_get(spec->json, "ociVersion")) ?: "1.0.2",
		      "id", c->id, "pid", (int)pid, "starttime",
		      (json_int_t)proc_start_time(pid), "bundle", bundle, "rootfs", rootfs,
		      "created", now, "owner", "",
		      "annotations", annotations);
	if (!j)
		return err_set(err, "build the state of %s", c->id);
	if (cgroup)
		json_object_set_new(j, "cgroup", json_string(cgroup));
	return json_save_replace(path, j, err);
}

static int pid_file_write(const char *path, pid_t pid, struct err *err)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%d", pid);
	_cleanup_free_ char *tmp = NULL;

	if (!path)
		return 0;
	tmp = xasprintf("%s.tmp", path);
	unlink(tmp);
	if (write_file_new(tmp, buf, n, 0644, err) < 0)
		return -1;
	if (rename(tmp, path) < 0)
		return err_sys(err, errno, "write the pid file %s", path);
	return 0;
}

/* The console socket's connection; -1 without a terminal, -2 on error. */
static int console_connect(const struct oci_spec *spec, const char *path, struct err *err)
{
	int fd;

	if (!spec->terminal)
		return -1;
	if (!path) {
		err_set(err, "process.terminal is set: a console socket is needed "
			"(--console-socket), as with runc");
		return -2;
	}
	fd = unix_connect(path, err);
	return fd < 0 ? -2 : fd;
}

static int spawn(const struct ocirt_create *c, const char *dir, const char *bundle,
		 const struct oci_spec *spec, struct cgroup *cg, pid_t *pid, struct err *err)
{
	_cleanup_free_ char *fifo = xasprintf("%s/exec.fifo", dir);
	_cleanup_free_ char *cache = xasprintf("%s/.seccomp", c->root);
	_cleanup_close_ int fifo_fd = -1, console = -1, init_fd = -1;
	struct seccomp_prog seccomp = { 0 };
	char init_path[4096];
	int r;

	if (mkfifo(fifo, 0622) < 0 || chmod(fifo, 0622) < 0)
		return err_sys(err, errno, "create %s", fifo);
	fifo_fd = open(fifo, O_PATH | O_CLOEXEC);
	if (fifo_fd < 0)
		return err_sys(err, errno, "open %s", fifo);
	console = console_connect(spec, c->console_socket, err);
	if (console == -2)
		return -1;
	/* The app is PID 1, as runc runs it, unless the bundle asks for isobox-init. */
	if (spec->init && (rt_init_path(init_path, sizeof(init_path), err) < 0 ||
			   (init_fd = process_init_open(init_path, err)) < 0))
		return -1;
	if (spec->seccomp && seccomp_prog_compile(spec->seccomp, cache, &seccomp, err) < 0)
		return -1;
	r = process_spawn(&(struct process_start){ .bundle = bundle, .spec = spec,
						   .stdio = { 0, 1, 2 }, .console_sock = console,
						   .init_fd = init_fd,
						   .seccomp = spec->seccomp ? &seccomp : NULL,
						   .start_fifo = fifo_fd, .outlive_parent = true,
						   .preserve_fds = c->listen_fds + c->preserve_fds },
			  cg, pid, err);
	seccomp_prog_free(&seccomp);
	return r;
}

/* The VM's disks and kernel as the bundle's annotations, kept in DIR/config.json
 * (where exec finds them). */
static int vm_annotate(const struct ocirt_create *c, const char *dir, struct oci_spec *spec,
		       struct err *err)
{
	_cleanup_free_ char *upper = xasprintf("%s/upper.ext4", dir);
	_cleanup_free_ char *config = xasprintf("%s/config.json", dir);
	json_t *ann = json_object_get(spec->json, "annotations");

	if (!json_is_object(ann)) {
		ann = json_object();
		json_object_set_new(spec->json, "annotations", ann);
	}
	spec->annotations = ann;
	json_object_set_new(ann, VM_ANNOTATION_ISOLATION, json_string("hyperv"));
	json_object_set_new(ann, VM_ANNOTATION_KERNEL, json_string(c->vm->kernel));
	json_object_set_new(ann, VM_ANNOTATION_INITRD, json_string(c->vm->initrd));
	json_object_set_new(ann, VM_ANNOTATION_ROOTFS, json_string(c->vm->rootfs));
	json_object_set_new(ann, VM_ANNOTATION_UPPER, json_string(upper));
	if (vm_upper_create(upper, VM_UPPER_SIZE, err) < 0)
		return -1;
	return json_save_replace(config, spec->json, err);
}

/* create returns once the guest is up and holds the app (runc's create
 * returns with its init waiting at the FIFO). */
static int vm_wait_ready(int ready, struct err *err)
{
	char byte;
	ssize_t n;

	while ((n = read(ready, &byte, 1)) < 0 && errno == EINTR)
		;
	if (n == 1)
		return 0;
	return err_set(err, "the VM stopped while it booted, before the container was up "
		       "(the container's stderr says why)");
}

static int spawn_vm(const struct ocirt_create *c, const char *dir, struct oci_spec *spec,
		    const char *cg_path, struct cgroup *cg, pid_t *pid, struct err *err)
{
	_cleanup_free_ char *fifo = xasprintf("%s/exec.fifo", dir);
	_cleanup_free_ char *cache = xasprintf("%s/.seccomp", c->root);
	_cleanup_free_ char *serial = xasprintf("%s/vm-kernel.log", dir);
	_cleanup_free_ char *exec_socket = xasprintf("%s/" VM_EXEC_SOCKET, dir);
	_cleanup_free_ char *oom_file = xasprintf("%s/" VM_OOM_FILE, dir);
	_cleanup_close_ int console = -1, ready_r = -1, ready_w = -1;
	struct guest_security security;
	int ready[2];
	struct seccomp_prog seccomp = { 0 };
	char init[4096];
	int r;

	if (vm_annotate(c, dir, spec, err) < 0 || rt_init_path(init, sizeof(init), err) < 0)
		return -1;
	if (mkfifo(fifo, 0600) < 0)
		return err_sys(err, errno, "create %s", fifo);
	console = console_connect(spec, c->console_socket, err);
	if (console == -2 || vm_privileges(spec, cache, &security, &seccomp, err) < 0)
		return -1;
	if (vm_cgroup_create(cg_path, spec, cg, err) < 0)
		return -1;
	if (pipe2(ready, O_CLOEXEC) < 0)
		return err_sys(err, errno, "pipe");
	ready_r = ready[0];
	ready_w = ready[1];
	r = vm_spawn(&(struct vm_start){ .spec = spec, .stdio = { 0, 1, 2 },
					 .console_sock = console, .serial_log = serial,
					 .init = init, .exec_socket = exec_socket,
					 .oom_file = oom_file, .security = &security,
					 .start_fifo = fifo, .ready_fd = ready_w,
					 .outlive_parent = true, .child_setup = vm_cgroup_enter,
					 .child_setup_data = cg },
		     pid, err);
	seccomp_prog_free(&seccomp);
	if (r < 0)
		return -1;
	close(ready_w);
	ready_w = -1;
	return vm_wait_ready(ready_r, err);
}

static json_t *state_public(const char *dir, json_t *st);

/* createRuntime and (deprecated) prestart hooks: the container exists and
 * waits at its FIFO; a failing hook fails create. */
static int create_hooks(const char *dir, const struct oci_spec *spec, struct err *err)
{
	_cleanup_free_ char *path = xasprintf("%s/state.json", dir);
	_cleanup_json_ json_t *st = NULL, *pub = NULL;

	if (!json_object_get(spec->json, "hooks"))
		return 0;
	if (json_load_path(path, &st, err) < 0)
		return -1;
	pub = state_public(dir, st);
	return oci_hooks_run(spec->json, "createRuntime", pub, err) < 0 ||
	       oci_hooks_run(spec->json, "prestart", pub, err) < 0 ? -1 : 0;
}

/* The bundle's config.json, for its hooks after create. */
static json_t *bundle_config(json_t *st)
{
	_cleanup_free_ char *path = xasprintf(
		"%s/config.json", json_string_value(json_object_get(st, "bundle")));
	json_t *j = NULL;

	json_load_path(path, &j, &(struct err){ 0 });
	return j;
}

/* KEY=VALUE replaces the variable KEY in env, or is added at its end. */
static void env_set(json_t *env, const char *kv)
{
	size_t key = strcspn(kv, "="), i;
	json_t *v;

	json_array_foreach(env, i, v) {
		const char *s = json_string_value(v);

		if (s && !strncmp(s, kv, key) && s[key] == '=') {
			json_array_set_new(env, i, json_string(kv));
			return;
		}
	}
	json_array_append_new(env, json_string(kv));
}

/* parent's member key, made an empty array or object when it is not one. */
static json_t *object_child(json_t *parent, const char *key, bool array)
{
	json_t *o = json_object_get(parent, key);

	if (array ? !json_is_array(o) : !json_is_object(o)) {
		o = array ? json_array() : json_object();
		json_object_set_new(parent, key, o);
	}
	return o;
}

/* The bundle's spec; with socket activation, LISTEN_FDS and LISTEN_PID (the
 * app is its PID namespace's 1) in its env, as runc sets them. */
static int spec_load_listen(const char *config, int listen_fds, struct oci_spec *spec,
			    struct err *err)
{
	_cleanup_json_ json_t *j = NULL;
	json_t *proc, *env;
	char kv[32];

	memset(spec, 0, sizeof(*spec));
	if (json_load_path(config, &j, err) < 0)
		return -1;
	proc = json_object_get(j, "process");
	if (listen_fds > 0 && json_is_object(proc)) {
		env = object_child(proc, "env", true);
		snprintf(kv, sizeof(kv), "LISTEN_FDS=%d", listen_fds);
		env_set(env, kv);
		env_set(env, "LISTEN_PID=1");
	}
	return spec_parse(j, spec, err);
}

int ocirt_create(const struct ocirt_create *c, pid_t *pid, struct err *err)
{
	_cleanup_free_ char *dir = NULL, *config = NULL, *cg_path = NULL;
	char bundle[PATH_MAX];
	struct oci_spec spec = { 0 };
	struct cgroup cg = { 0 };
	_cleanup_json_ json_t *annotations = NULL;
	int r;

	if (container_dir(c->root, c->id, &dir, err) < 0 || mkdir_p(c->root, 0700, err) < 0)
		return -1;
	if (!realpath(c->bundle, bundle))
		return err_sys(err, errno, "bundle %s", c->bundle);
	config = xasprintf("%s/config.json", bundle);
	if (spec_load_listen(config, c->listen_fds, &spec, err) < 0)
		return -1;
	if (c->vm && (c->preserve_fds || c->listen_fds)) {
		spec_free(&spec);
		return err_set(err, "%s %d: hyperv isolation cannot pass the host's fds into the "
			       "container's VM; use process isolation for socket activation or "
			       "inherited fds", c->listen_fds ? "LISTEN_FDS" : "--preserve-fds",
			       c->listen_fds ? c->listen_fds : c->preserve_fds);
	}
	annotations = spec.annotations ? json_deep_copy(spec.annotations) : json_object();
	if (mkdir(dir, 0700) < 0) {
		spec_free(&spec);
		return errno == EEXIST ? err_set(err, "container with id exists: %s", c->id)
				       : err_sys(err, errno, "create %s", dir);
	}
	r = cgroup_path(spec.cgroups_path, c->id, &cg_path, err);
	if (r == 0 && c->vm)
		r = spawn_vm(c, dir, &spec, cg_path, &cg, pid, err);
	else if (r == 0 && (r = cgroup_create_at(cg_path, &spec, &cg, err)) == 0)
		r = spawn(c, dir, bundle, &spec, &cg, pid, err);
	if (r == 0)
		r = state_save(dir, c, bundle, &spec, annotations, *pid, cg_path, err);
	if (r == 0)
		r = pid_file_write(c->pid_file, *pid, err);
	if (r == 0)
		r = create_hooks(dir, &spec, err);
	if (r < 0 && *pid > 0)
		kill(*pid, SIGKILL);
	if (r < 0) {
		if (cg.n_dirs)
			cgroup_destroy(&cg, &(struct err){ 0 });
		rm_rf(dir, &(struct err){ 0 });
	}
	cgroup_free(&cg);
	spec_free(&spec);
	return r;
}

/* The VMM reads the FIFO and tells the guest to start the app; with no
 * reader, the VMM is gone. */
static int vm_start(const char *fifo, const char *id, struct err *err)
{
	_cleanup_close_ int fd = open(fifo, O_WRONLY | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0 && errno == ENXIO)
		return err_set(err, "container %s exited before it was started", id);
	if (fd < 0 || write(fd, "1", 1) != 1)
		return err_sys(err, errno, "start %s", id);
	return 0;
}

int ocirt_start(const char *root, const char *id, struct err *err)
{
	_cleanup_free_ char *dir = NULL, *fifo = NULL;
	_cleanup_json_ json_t *st = NULL;
	_cleanup_close_ int fd = -1;
	const char *status;
	char byte;

	if (state_load(root, id, &dir, &st, err) < 0)
		return -1;
	status = status_of(dir, st);
	if (strcmp(status, "created"))
		return err_set(err, "cannot start a container that is %s: %s", status, id);
	fifo = xasprintf("%s/exec.fifo", dir);
	if (dir_is_vm(dir)) {
		if (vm_start(fifo, id, err) < 0)
			return -1;
		goto started;
	}
	fd = open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return err_sys(err, errno, "open %s", fifo);
	/* The container opens the FIFO for writing, writes a byte and execs. */
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };

		if (poll(&p, 1, 100) > 0 && read(fd, &byte, 1) == 1)
			break;
		if (!strcmp(status_of(dir, st), "stopped"))
			return err_set(err, "container %s exited before it was started", id);
	}
started:
	unlink(fifo);
	{
		_cleanup_json_ json_t *cfg = bundle_config(st), *pub = state_public(dir, st);

		/* As start left it: a quick app may be gone already. */
		json_object_set_new(pub, "status", json_string("running"));
		json_object_set(pub, "pid", json_object_get(st, "pid"));
		oci_hooks_warn(cfg, "poststart", pub);
	}
	return 0;
}

static json_t *state_public(const char *dir, json_t *st)
{
	json_t *j = json_deep_copy(st);
	const char *status = status_of(dir, st);

	json_object_del(j, "starttime");
	json_object_del(j, "resources");
	json_object_set_new(j, "status", json_string(status));
	if (!strcmp(status, "stopped"))
		json_object_set_new(j, "pid", json_integer(0));
	return j;
}

int ocirt_state(const char *root, const char *id, json_t **out, struct err *err)
{
	_cleanup_free_ char *dir = NULL;
	_cleanup_json_ json_t *st = NULL;

	if (state_load(root, id, &dir, &st, err) < 0)
		return -1;
	*out = state_public(dir, st);
	return 0;
}

int ocirt_list(const char *root, json_t **out, struct err *err)
{
	_cleanup_closedir_ DIR *d = opendir(root);
	json_t *list = json_array();
	struct dirent *e;

	while (d && (e = readdir(d))) {
		json_t *j;

		if (e->d_name[0] == '.' || ocirt_state(root, e->d_name, &j, &(struct err){ 0 }) < 0)
			continue;
		json_array_append_new(list, j);
	}
	*out = list;
	return 0;
}

static int kill_cgroup(json_t *st, const char *id, int sig, struct err *err)
{
	struct cgroup cg;
	_cleanup_free_ char *procs = NULL, *text = NULL;
	char *line, *save;

	state_cgroup(st, &cg);
	procs = cg.n_dirs ? xasprintf("%s/cgroup.procs", cg.dirs[0]) : NULL;
	if (!procs || read_file(procs, 1 << 20, &text, NULL, err) < 0) {
		cgroup_free(&cg);
		return err_wrap(err, "list the processes of %s", id);
	}
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		kill(atoi(line), sig);
	cgroup_free(&cg);
	return 0;
}

int ocirt_kill(const char *root, const char *id, int sig, bool all, struct err *err)
{
	_cleanup_free_ char *dir = NULL;
	_cleanup_json_ json_t *st = NULL;

	if (state_load(root, id, &dir, &st, err) < 0)
		return -1;
	if (!strcmp(status_of(dir, st), "stopped"))
		return err_set(err, "container %s is not running", id);
	/* A VM's cgroup holds its VMM, the whole container. */
	if (all)
		return kill_cgroup(st, id, sig, err);
	if (kill(json_integer_value(json_object_get(st, "pid")), sig) < 0)
		return err_sys(err, errno, "signal container %s", id);
	return 0;
}

/* delete --force of an id without state: a create killed midway may have
 * left its directory (and FIFO) behind, which would keep the id taken. */
static int delete_leftover(const char *root, const char *id, struct err *err)
{
	_cleanup_free_ char *dir = NULL;

	err_clear(err);
	if (container_dir(root, id, &dir, err) < 0)
		return -1;
	return access(dir, F_OK) == 0 ? rm_rf(dir, err) : 0;
}

int ocirt_delete(const char *root, const char *id, bool force, struct err *err)
{
	_cleanup_free_ char *dir = NULL;
	_cleanup_json_ json_t *st = NULL;
	struct cgroup cg;
	const char *status;
	int waited;

	if (state_load(root, id, &dir, &st, err) < 0)
		return force && strstr(err->msg, "does not exist") ? delete_leftover(root, id, err)
								   : -1;
	status = status_of(dir, st);
	if (strcmp(status, "stopped") && !force)
		return err_set(err, "cannot delete container %s that is not stopped: %s", id,
			       status);
	if (strcmp(status, "stopped")) {
		kill(json_integer_value(json_object_get(st, "pid")), SIGKILL);
		for (waited = 0; strcmp(status_of(dir, st), "stopped") && waited < STOP_WAIT_MS;
		     waited += 10)
			usleep(10000);
	}
	state_cgroup(st, &cg);
	if (cgroup_destroy(&cg, err) < 0) {
		cgroup_free(&cg);
		return err_wrap(err, "delete %s", id);
	}
	cgroup_free(&cg);
	if (rm_rf(dir, err) < 0)
		return -1;
	{
		_cleanup_json_ json_t *cfg = bundle_config(st), *pub = json_deep_copy(st);

		json_object_del(pub, "starttime");
		json_object_del(pub, "resources");
		json_object_set_new(pub, "status", json_string("stopped"));
		json_object_set_new(pub, "pid", json_integer(0));
		oci_hooks_warn(cfg, "poststop", pub);
	}
	return 0;
}

/* runc's exec flags over the container's process (runc's getProcess). */
static void exec_overrides(const struct ocirt_exec *e, json_t *proc)
{
	static const char *const sets[] = { "bounding", "effective", "permitted", "ambient" };
	json_t *user = object_child(proc, "user", false), *caps, *gids;
	unsigned long id;
	size_t i, k;

	if (e->cwd)
		json_object_set_new(proc, "cwd", json_string(e->cwd));
	for (i = 0; e->env && e->env[i]; i++)
		env_set(object_child(proc, "env", true), e->env[i]);
	if (e->user) {
		id = strtoul(e->user, NULL, 10);
		json_object_set_new(user, "uid", json_integer((json_int_t)id));
		if (strchr(e->user, ':'))
			json_object_set_new(user, "gid",
					    json_integer((json_int_t)strtoul(strchr(e->user, ':') + 1,
									     NULL, 10)));
	}
	gids = e->n_gids ? object_child(user, "additionalGids", true) : NULL;
	for (i = 0; i < e->n_gids; i++)
		json_array_append_new(gids, json_integer(e->gids[i]));
	caps = e->caps && e->caps[0] ? object_child(proc, "capabilities", false) : NULL;
	for (i = 0; caps && e->caps[i]; i++)
		for (k = 0; k < sizeof(sets) / sizeof(sets[0]); k++)
			json_array_append_new(object_child(caps, sets[k], true),
					      json_string(e->caps[i]));
	if (e->no_new_privs)
		json_object_set_new(proc, "noNewPrivileges", json_true());
}

/* The container's spec with its process replaced: exec --process as it is,
 * or the container's own with args and exec's flags. */
static int exec_spec(const struct ocirt_exec *e, json_t *st, struct oci_spec *spec,
		     struct err *err)
{
	_cleanup_free_ char *config = xasprintf(
		"%s/config.json", json_string_value(json_object_get(st, "bundle")));
	_cleanup_json_ json_t *j = NULL;
	json_t *proc;
	size_t i;

	if (json_load_path(config, &j, err) < 0)
		return -1;
	if (e->process) {
		json_object_set(j, "process", e->process);
	} else {
		proc = object_child(j, "process", false);
		json_object_set_new(proc, "args", json_array());
		for (i = 0; e->args[i]; i++)
			json_array_append_new(json_object_get(proc, "args"), json_string(e->args[i]));
		json_object_set_new(proc, "terminal", json_boolean(e->tty));
		exec_overrides(e, proc);
	}
	return spec_parse(j, spec, err);
}

/* exec --tty in a VM: the session's host end is a pty whose master goes to
 * the console socket (conmon's, the shim's) and whose slave becomes our
 * stdio and controlling terminal, so the engine's resizes reach exec_vm. */
static int exec_console(int sock, struct err *err)
{
	_cleanup_close_ int master = -1;
	int slave, i;

	if (pty_open_raw(&master, &slave, true, err) < 0)
		return -1;
	if (fd_send(sock, master) < 0) {
		close(slave);
		return err_sys(err, errno, "send the pty to the console socket");
	}
	for (i = 0; i < 3; i++)
		dup2(slave, i);
	if (slave > 2)
		close(slave);
	return 0;
}

/* In a VM, the VMM's exec channel runs it (runtime/exec_vm.c). The pid an
 * engine waits on is a host process that relays the session and exits with
 * the process's status: detached, a child left to the caller's subreaper. */
static int exec_in_vm(const struct ocirt_exec *e, const char *dir, const struct oci_spec *spec,
		      int *exit_code, struct err *err)
{
	struct rt_exec re = { .dir = dir, .tty = spec->terminal, .interactive = true };
	_cleanup_close_ int console = console_connect(spec, e->console_socket, err);
	char user[32];
	pid_t child;

	if (console == -2)
		return -1;
	snprintf(user, sizeof(user), "%u:%u", spec->uid, spec->gid);
	re.user = user;
	if (!e->detach) {
		if (pid_file_write(e->pid_file, getpid(), err) < 0 ||
		    (console >= 0 && exec_console(console, err) < 0))
			return -1;
		return exec_vm(&re, spec, exit_code, err);
	}
	child = fork();
	if (child < 0)
		return err_sys(err, errno, "fork");
	if (child == 0) {
		struct err e2 = { 0 };
		int code = 0;

		if ((console >= 0 && exec_console(console, &e2) < 0) ||
		    exec_vm(&re, spec, &code, &e2) < 0) {
			fprintf(stderr, "isobox-runtime: %s\n", e2.msg);
			_exit(ERR_RUNTIME);
		}
		_exit(code);
	}
	*exit_code = 0;
	return pid_file_write(e->pid_file, child, err);
}

int ocirt_exec(const struct ocirt_exec *e, int *exit_code, struct err *err)
{
	_cleanup_free_ char *dir = NULL, *cache = xasprintf("%s/.seccomp", e->root);
	_cleanup_json_ json_t *st = NULL;
	_cleanup_close_ int console = -1;
	struct seccomp_prog seccomp = { 0 };
	struct oci_spec spec = { 0 };
	struct cgroup cg;
	pid_t pid;
	int status, r;

	if (state_load(e->root, e->id, &dir, &st, err) < 0)
		return -1;
	if (strcmp(status_of(dir, st), "running"))
		return err_set(err, "cannot exec in a container that is %s: %s",
			       status_of(dir, st), e->id);
	if (exec_spec(e, st, &spec, err) < 0)
		return -1;
	if (dir_is_vm(dir)) {
		r = e->preserve_fds ? err_set(err, "--preserve-fds %d: container %s runs in a VM, "
					      "which the host's fds cannot reach", e->preserve_fds,
					      e->id)
				    : exec_in_vm(e, dir, &spec, exit_code, err);
		spec_free(&spec);
		return r;
	}
	console = console_connect(&spec, e->console_socket, err);
	if (console == -2 ||
	    (spec.seccomp && seccomp_prog_compile(spec.seccomp, cache, &seccomp, err) < 0)) {
		spec_free(&spec);
		return -1;
	}
	state_cgroup(st, &cg);
	r = process_exec_fds(json_integer_value(json_object_get(st, "pid")), &cg, &spec,
			     spec.seccomp ? &seccomp : NULL, (const int[3]){ 0, 1, 2 }, console,
			     e->preserve_fds, &pid, err);
	cgroup_free(&cg);
	seccomp_prog_free(&seccomp);
	spec_free(&spec);
	if (r < 0 || pid_file_write(e->pid_file, pid, err) < 0)
		return -1;
	if (e->detach)
		return 0;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return err_sys(err, errno, "wait for the exec'd process");
	*exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	return 0;
}

int ocirt_pause(const char *root, const char *id, bool pause, struct err *err)
{
	_cleanup_free_ char *dir = NULL;
	_cleanup_json_ json_t *st = NULL;
	const char *status;
	struct cgroup cg;
	int r;

	if (state_load(root, id, &dir, &st, err) < 0)
		return -1;
	status = status_of(dir, st);
	if (strcmp(status, pause ? "running" : "paused"))
		return err_set(err, "container %s is %s, not %s", id, status,
			       pause ? "running" : "paused");
	if (dir_is_vm(dir)) {
		if (kill(json_integer_value(json_object_get(st, "pid")), pause ? SIGSTOP : SIGCONT) < 0)
			return err_sys(err, errno, "%s the VM of %s", pause ? "stop" : "continue", id);
		return 0;
	}
	state_cgroup(st, &cg);
	r = cgroup_freeze(&cg, pause, err);
	cgroup_free(&cg);
	return r;
}

int ocirt_pids(const char *root, const char *id, json_t **out, struct err *err)
{
	_cleanup_free_ char *dir = NULL, *procs = NULL, *text = NULL;
	_cleanup_json_ json_t *st = NULL;
	struct cgroup cg;
	char *line, *save;

	if (state_load(root, id, &dir, &st, err) < 0)
		return -1;
	*out = json_array();
	if (!strcmp(status_of(dir, st), "stopped"))
		return 0;
	state_cgroup(st, &cg);
	procs = cg.n_dirs ? xasprintf("%s/cgroup.procs", cg.dirs[0]) : NULL;
	cgroup_free(&cg);
	if (procs && read_file(procs, 1 << 20, &text, NULL, &(struct err){ 0 }) == 0)
		for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
			json_array_append_new(*out, json_integer(atoi(line)));
	return 0;
}

/* into: its members replaced by those of from, objects merged member by member. */
static void resources_merge(json_t *into, json_t *from)
{
	const char *key;
	json_t *v, *old;

	json_object_foreach(from, key, v) {
		old = json_object_get(into, key);
		if (json_is_object(old) && json_is_object(v))
			resources_merge(old, v);
		else
			json_object_set(into, key, v);
	}
}

/* The container's resources as the last update left them, else its bundle's. */
static json_t *resources_current(json_t *st, json_t *config)
{
	json_t *r = json_object_get(st, "resources");

	if (!json_is_object(r))
		r = json_object_get(json_object_get(config, "linux"), "resources");
	return json_is_object(r) ? json_deep_copy(r) : json_object();
}

/* In a VM the guest applies them to the app's cgroup. */
static int update_vm(const char *dir, json_t *delta, json_t *merged, struct err *err)
{
	_cleanup_free_ char *config = xasprintf("%s/config.json", dir), *blob = NULL;
	struct oci_spec vm = { 0 };
	struct strv sets = { 0 };
	size_t len;
	int r;

	if (spec_load(config, &vm, err) < 0)
		return -1;
	r = vm_update_sets(delta, merged, &vm, &sets, err);
	spec_free(&vm);
	if (r == 0 && sets.n)
		r = guest_update_build(strv_get(&sets), &blob, &len, err);
	if (r == 0 && sets.n)
		r = exec_vm_update(dir, blob, len, err);
	strv_free(&sets);
	return r;
}

static int update_process(json_t *st, json_t *config, json_t *merged, struct err *err)
{
	struct oci_spec spec = { 0 };
	json_t *linux_ = json_object_get(config, "linux"), *cpu = json_object_get(merged, "cpu");
	const char *cg_path = json_string_value(json_object_get(st, "cgroup"));
	_cleanup_free_ char *dflt = NULL;
	struct cgroup cg;
	int r;

	if (!json_is_object(linux_))
		json_object_set_new(config, "linux", linux_ = json_object());
	json_object_set(linux_, "resources", merged);
	if (spec_parse(config, &spec, err) < 0) {
		spec_free(&spec);
		return err_wrap(err, "update");
	}
	if (!cg_path)
		cg_path = dflt = xasprintf("isobox/%s", json_string_value(json_object_get(st, "id")));
	state_cgroup(st, &cg);
	r = 0;
	if ((json_string_length(json_object_get(cpu, "cpus")) ||
	     json_string_length(json_object_get(cpu, "mems"))))
		r = cgroup_cpuset_join(&cg, cg_path, err);
	if (r == 0)
		r = cgroup_update(&cg, &spec, err);
	cgroup_free(&cg);
	spec_free(&spec);
	return r;
}

/* runc's update: the flags merged into the container's linux.resources,
 * applied, and kept in its state for the next update. */
int ocirt_update(const char *root, const char *id, json_t *resources, struct err *err)
{
	_cleanup_free_ char *dir = NULL, *config = NULL, *path = NULL;
	_cleanup_json_ json_t *st = NULL, *j = NULL, *merged = NULL;
	int r;

	if (state_load(root, id, &dir, &st, err) < 0)
		return -1;
	if (!strcmp(status_of(dir, st), "stopped"))
		return err_set(err, "container %s is not running", id);
	config = xasprintf("%s/config.json", json_string_value(json_object_get(st, "bundle")));
	if (json_load_path(config, &j, err) < 0)
		return -1;
	merged = resources_current(st, j);
	resources_merge(merged, resources);
	r = dir_is_vm(dir) ? update_vm(dir, resources, merged, err)
			   : update_process(st, j, merged, err);
	if (r < 0)
		return err_wrap(err, "update %s", id);
	json_object_set(st, "resources", merged);
	path = xasprintf("%s/state.json", dir);
	return json_save_replace(path, st, err);
}
