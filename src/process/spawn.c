#include "process/process.h"

#include <errno.h>
#include <linux/close_range.h>
#include <fcntl.h>
#include <grp.h>
#include <stdbool.h>
#include <sys/mount.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "process/caps.h"
#include "process/rootfs.h"
#include "process/seccomp.h"
#include "util/cleanup.h"
#include "util/fdpass.h"
#include "util/fs.h"
#include "util/loopback.h"
#include "util/passwd.h"
#include "util/signal.h"

extern char **environ;

int process_init_open(const char *path, struct err *err)
{
	_cleanup_close_ int src = open(path, O_RDONLY | O_CLOEXEC);
	_cleanup_close_ int mfd = -1;
	struct stat st;
	off_t off = 0;

	if (src < 0 || fstat(src, &st) < 0)
		return err_sys(err, errno, "open %s", path);
	mfd = memfd_create("isobox-init", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (mfd < 0)
		return err_sys(err, errno, "memfd_create");
	while (off < st.st_size)
		if (sendfile(mfd, src, &off, st.st_size - off) <= 0)
			return err_sys(err, errno, "copy %s", path);
	if (fchmod(mfd, 0555) < 0 ||
	    fcntl(mfd, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) < 0)
		return err_sys(err, errno, "seal isobox-init");
	return take_fd(&mfd);
}

/* The child reports a failure as "<kind> <message>" on the error pipe and
 * exits; a successful exec closes the pipe (O_CLOEXEC) instead. */
static void __attribute__((noreturn)) child_fail(int errfd, const struct err *err)
{
	dprintf(errfd, "%d %s", err->kind ? err->kind : ERR_RUNTIME, err->msg);
	_exit(err->kind ? err->kind : ERR_RUNTIME);
}

static int read_child_error(int errfd, pid_t pid, struct err *err)
{
	char buf[sizeof(err->msg) + 16];
	ssize_t n, total = 0;
	int kind;
	char *msg;

	while ((n = read(errfd, buf + total, sizeof(buf) - 1 - total)) > 0 ||
	       (n < 0 && errno == EINTR))
		total += n > 0 ? n : 0;
	if (total == 0)
		return 0;
	buf[total] = '\0';
	kind = (int)strtol(buf, &msg, 10);
	waitpid(pid, NULL, 0);
	err_kind(err, kind ? kind : ERR_RUNTIME, "%s", *msg ? msg + 1 : msg);
	return -1;
}

static int apply_rlimits(const struct oci_spec *spec, struct err *err)
{
	size_t i;

	for (i = 0; i < spec->n_rlimits; i++) {
		struct rlimit rl = { spec->rlimits[i].soft, spec->rlimits[i].hard };

		if (setrlimit(spec->rlimits[i].resource, &rl) < 0)
			return err_sys(err, errno, "set rlimit %d to %llu:%llu",
				       spec->rlimits[i].resource, spec->rlimits[i].soft,
				       spec->rlimits[i].hard);
	}
	return 0;
}

/* runc's HOME: unless the env has one, the home of the process's uid in the
 * container's /etc/passwd, else "/". Called inside the container's root,
 * before the user changes; the env to exec with (the spec's, or a copy). */
static const char **env_with_home(const struct oci_spec *spec)
{
	_cleanup_fclose_ FILE *f = NULL;
	struct passwd_entry e;
	const char **env;
	char uid[16];
	size_t n;

	for (n = 0; spec->env[n]; n++)
		if (!strncmp(spec->env[n], "HOME=", 5))
			return spec->env;
	snprintf(uid, sizeof(uid), "%u", (unsigned)spec->uid);
	f = passwd_fopen("/etc/passwd", 4 << 20);
	env = xmalloc((n + 2) * sizeof(char *));
	memcpy(env, spec->env, n * sizeof(char *));
	env[n] = xasprintf("HOME=%s", f && passwd_find(f, uid, &e) == 0 ? e.home : "/");
	env[n + 1] = NULL;
	return env;
}

/* Become the container's user with its capabilities and seccomp filter: the
 * last steps before exec, in the order runc uses. */
static int enter_credentials(const struct oci_spec *spec, const struct seccomp_prog *seccomp,
			     bool die_with_parent, struct err *err)
{
	json_t *caps = spec->capabilities;

	/* Without no_new_privs only CAP_SYS_ADMIN may load a filter: load it
	 * before the capabilities go (the profile allows what follows). */
	if (!spec->no_new_privileges && seccomp && seccomp_prog_load(seccomp, err) < 0)
		return -1;
	if (setgroups(spec->n_gids, spec->gids) < 0)
		return err_sys(err, errno, "setgroups");
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		return err_sys(err, errno, "keep capabilities");
	if (setresgid(spec->gid, spec->gid, spec->gid) < 0)
		return err_sys(err, errno, "setgid %u", spec->gid);
	if (setresuid(spec->uid, spec->uid, spec->uid) < 0)
		return err_sys(err, errno, "setuid %u", spec->uid);
	if (caps_apply(json_object_get(caps, "bounding"), json_object_get(caps, "effective"),
		       json_object_get(caps, "inheritable"), json_object_get(caps, "permitted"),
		       json_object_get(caps, "ambient"), err) < 0)
		return -1;
	if (spec->no_new_privileges && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return err_sys(err, errno, "set no_new_privs");
	/* The container dies with its monitor; set after setuid, which clears it. */
	if (die_with_parent && prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
		return err_sys(err, errno, "set parent death signal");
	if (spec->no_new_privileges && seccomp && seccomp_prog_load(seccomp, err) < 0)
		return -1;
	return 0;
}

static int setup_stdio(const int stdio[3], struct err *err)
{
	int i, fds[3];

	/* dup everything out of the way first so 0..2 cannot clobber each other. */
	for (i = 0; i < 3; i++) {
		fds[i] = fcntl(stdio[i], F_DUPFD_CLOEXEC, 3);
		if (fds[i] < 0)
			return err_sys(err, errno, "dup stdio");
	}
	for (i = 0; i < 3; i++) {
		if (dup2(fds[i], i) < 0)
			return err_sys(err, errno, "dup2 stdio");
		close(fds[i]);
	}
	return 0;
}

/* Make the pty inside the container's devpts, so the app sees /dev/pts/N as
 * its terminal, and hand the master to whoever relays it. */
static int console_open(int sock, bool bind_console, struct err *err)
{
	_cleanup_close_ int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	_cleanup_close_ int slave = -1;
	char name[64];
	int i;

	if (master < 0 || unlockpt(master) < 0 || ptsname_r(master, name, sizeof(name)))
		return err_sys(err, errno, "allocate the container's pty");
	slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (slave < 0)
		return err_sys(err, errno, "open %s", name);
	if (bind_console) {
		_cleanup_close_ int c = open("/dev/console", O_CREAT | O_RDONLY | O_CLOEXEC, 0600);

		if (c < 0 || mount(name, "/dev/console", NULL, MS_BIND, NULL) < 0)
			return err_sys(err, errno, "bind %s on /dev/console", name);
	}
	if (fd_send(sock, master) < 0)
		return err_sys(err, errno, "send the pty to the monitor");
	for (i = 0; i < 3; i++)
		if (dup2(slave, i) < 0)
			return err_sys(err, errno, "dup2 pty");
	return 0;
}

static int container_setup(const struct process_start *ps, const struct cgroup *cg,
			   const char ***env, struct err *err)
{
	const struct oci_spec *spec = ps->spec;

	if (setsid() < 0)
		return err_sys(err, errno, "setsid");
	/* In a user namespace the parent placed us: its files are not ours. */
	if (!(spec->clone_flags & CLONE_NEWUSER) && cgroup_enter_self(cg, err) < 0)
		return err_wrap(err, "cgroup");
	if ((spec->clone_flags & CLONE_NEWCGROUP) && unshare(CLONE_NEWCGROUP) < 0)
		return err_sys(err, errno, "unshare cgroup namespace");
	if (setup_stdio(ps->stdio, err) < 0)
		return -1;
	/* A network namespace of its own has its loopback up, as runc's. */
	if ((spec->clone_flags & CLONE_NEWNET) && loopback_up() < 0)
		return err_sys(err, errno, "bring up the loopback interface");
	if (rootfs_prepare(ps->bundle, spec, err) < 0)
		return err_wrap(err, "rootfs");
	if (spec->hostname && (spec->clone_flags & CLONE_NEWUTS) &&
	    sethostname(spec->hostname, strlen(spec->hostname)) < 0)
		return err_sys(err, errno, "sethostname %s", spec->hostname);
	if (rootfs_finish(spec, err) < 0)
		return err_wrap(err, "rootfs");
	if (spec->terminal && console_open(ps->console_sock, true, err) < 0)
		return -1;
	/* The app as PID 1 takes the terminal itself (isobox-init gives it to
	 * the app it forks), so ^C and job control reach it. */
	if (spec->terminal && ps->init_fd < 0 && ioctl(STDIN_FILENO, TIOCSCTTY, 0) < 0)
		return err_sys(err, errno, "make the pty the controlling terminal");
	if (apply_rlimits(spec, err) < 0)
		return -1;
	if (spec->has_oom_score_adj) {
		char v[16];

		snprintf(v, sizeof(v), "%d", spec->oom_score_adj);
		if (write_file("/proc/self/oom_score_adj", v, err) < 0)
			return err_wrap(err, "process.oomScoreAdj");
	}
	if (mkdir_p(spec->cwd, 0755, err) < 0 || chdir(spec->cwd) < 0)
		return err_sys(err, errno, "chdir to working directory %s", spec->cwd);
	*env = env_with_home(spec);
	return enter_credentials(spec, ps->seccomp, !ps->outlive_parent, err);
}

/* exec spec->args, PATH searched in env; returns only on failure. */
static int exec_args(const struct oci_spec *spec, const char **env, struct err *err)
{
	environ = (char **)env;
	execvp(spec->args[0], (char **)spec->args);
	if (errno == ENOENT && !strchr(spec->args[0], '/'))
		return err_kind(err, ERR_NOTFOUND, "exec: \"%s\": executable file not found in "
				"$PATH", spec->args[0]);
	return err_kind(err, errno == ENOENT ? ERR_NOTFOUND : ERR_NOEXEC, "exec: \"%s\": %s",
			spec->args[0], strerror(errno));
}

/* Whether args[0] can be run, looked up as execvp will: so that create, not
 * start, reports a missing executable, as runc does. */
static int exec_check(const struct oci_spec *spec, struct err *err)
{
	const char *path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	const char *const *e;
	_cleanup_free_ char *copy = NULL;
	char *dir, *save;

	if (strchr(spec->args[0], '/')) {
		if (access(spec->args[0], X_OK) == 0)
			return 0;
		return err_kind(err, errno == ENOENT ? ERR_NOTFOUND : ERR_NOEXEC, "exec: \"%s\": %s",
				spec->args[0], strerror(errno));
	}
	for (e = spec->env; *e; e++)
		if (!strncmp(*e, "PATH=", 5))
			path = *e + 5;
	copy = xstrdup(path);
	for (dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
		_cleanup_free_ char *f = xasprintf("%s/%s", *dir ? dir : ".", spec->args[0]);

		if (access(f, X_OK) == 0)
			return 0;
	}
	return err_kind(err, ERR_NOTFOUND, "exec: \"%s\": executable file not found in $PATH",
			spec->args[0]);
}

/* The caller's fds 3..3+n-1 are the container's; every other one closes at
 * exec, whatever the caller left open (runc's CloseExecFrom). */
static int preserve_fds(int n, struct err *err)
{
	int fd;

	for (fd = 3; fd < 3 + n; fd++)
		if (fcntl(fd, F_SETFD, 0) < 0)
			return err_sys(err, errno, "preserve fd %d", fd);
	if (syscall(SYS_close_range, 3 + n, ~0U, CLOSE_RANGE_CLOEXEC) < 0 && errno != ENOSYS)
		return err_sys(err, errno, "close the fds from %d at exec", 3 + n);
	return 0;
}

static void ended_before_start(int sig)
{
	_exit(128 + sig);
}

/* runc's exec fifo: opening it for writing blocks until `start` opens it for
 * reading. The fd is O_PATH, so it is reopened through /proc (already the
 * container's: the open sees the same inode). As PID 1 of its namespace the
 * waiting process would ignore `kill`'s signals; they end it instead, as they
 * would have ended the app. exec restores their defaults. */
static int start_wait(int fifo, int errfd, struct err *err)
{
	_cleanup_free_ char *path = xasprintf("/proc/self/fd/%d", fifo);
	_cleanup_close_ int w = -1;
	sigset_t none;
	int sig;

	for (sig = 1; sig < SIGRTMIN; sig++)
		if (signal_ends(sig) && sig != SIGKILL)
			sigaction(sig, &(struct sigaction){ .sa_handler = ended_before_start }, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	close(errfd);       /* the creator's read ends: the container waits */
	w = open(path, O_WRONLY | O_CLOEXEC);
	if (w < 0 || write(w, "0", 1) != 1)
		return err_sys(err, errno, "open the exec fifo");
	return 0;
}

static void __attribute__((noreturn)) container_child(const struct process_start *ps,
						       const struct cgroup *cg, int errfd,
						       int syncfd)
{
	const struct oci_spec *spec = ps->spec;
	const char **env = spec->env;
	struct err err = { 0 };
	const char **argv;
	size_t n = 0, i = 0;
	sigset_t mask;
	char go;

	/* In a user namespace: nothing until the parent has written its id maps. */
	if (syncfd >= 0 && (read(syncfd, &go, 1) != 1 || close(syncfd) < 0)) {
		err_set(&err, "the parent did not map the user namespace");
		child_fail(errfd, &err);
	}
	/* Become the namespace's root: until then our ids are unmapped there. */
	if (syncfd >= 0 && (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)) {
		err_sys(&err, errno, "become root in the user namespace");
		child_fail(errfd, &err);
	}

	if (container_setup(ps, cg, &env, &err) < 0 || preserve_fds(ps->preserve_fds, &err) < 0 ||
	    (ps->init_fd < 0 && exec_check(spec, &err) < 0))
		child_fail(errfd, &err);
	if (ps->start_fifo >= 0 && start_wait(ps->start_fifo, errfd, &err) < 0) {
		fprintf(stderr, "isobox: %s\n", err.msg);
		_exit(ERR_RUNTIME);
	}
	/* What the monitor blocked and ignored is not the app's: exec keeps both.
	 * isobox-init gets every signal blocked instead: one that comes before its
	 * signalfd stays pending for it, not lost on a PID 1 without handlers. */
	signals_default();
	if (ps->init_fd >= 0)
		sigfillset(&mask);
	else
		sigemptyset(&mask);
	sigprocmask(SIG_SETMASK, &mask, NULL);
	if (ps->init_fd < 0) {
		exec_args(spec, env, &err);
		if (ps->start_fifo >= 0) {
			fprintf(stderr, "isobox: %s\n", err.msg);
			_exit(err.kind);
		}
		child_fail(errfd, &err);
	}
	while (spec->args[n])
		n++;
	argv = xmalloc((n + 4) * sizeof(char *));
	argv[i++] = "isobox-init";
	if (spec->terminal)
		argv[i++] = "-t";
	argv[i++] = "--";
	memcpy(argv + i, spec->args, (n + 1) * sizeof(char *));
	syscall(SYS_execveat, ps->init_fd, "", argv, env, AT_EMPTY_PATH);
	err_sys(&err, errno, "exec isobox-init");
	child_fail(errfd, &err);
}

/* linux.namespaces with a path: joined by the caller before the clone, so
 * the child is born in them (a PID namespace counts for children only). */
static int join_ns_paths(const struct oci_spec *spec, struct err *err)
{
	size_t i;

	for (i = 0; i < spec->n_ns_paths; i++) {
		_cleanup_close_ int fd = open(spec->ns_paths[i].path, O_RDONLY | O_CLOEXEC);

		if (fd < 0 || setns(fd, spec->ns_paths[i].flag) < 0)
			return err_sys(err, errno, "join the namespace %s", spec->ns_paths[i].path);
	}
	return 0;
}

/* A user namespace's uid_map and gid_map, written by the parent. */
static int write_id_maps(pid_t child, const struct oci_spec *spec, struct err *err)
{
	static const char *const files[] = { "uid_map", "gid_map" };
	const struct oci_id_map *maps[] = { spec->uid_maps, spec->gid_maps };
	size_t counts[] = { spec->n_uid_maps, spec->n_gid_maps };
	size_t f, i;

	for (f = 0; f < 2; f++) {
		_cleanup_free_ char *path = xasprintf("/proc/%d/%s", child, files[f]);
		char buf[256] = "";
		size_t len = 0;

		for (i = 0; i < counts[f]; i++)
			len += snprintf(buf + len, sizeof(buf) - len, "%u %u %u\n",
					maps[f][i].container, maps[f][i].host, maps[f][i].size);
		if (write_file(path, buf, err) < 0)
			return err_wrap(err, "user namespace");
	}
	return 0;
}

int process_spawn(const struct process_start *ps, const struct cgroup *cg, pid_t *pid,
		  struct err *err)
{
	_cleanup_close_ int rfd = -1;
	bool userns = ps->spec->clone_flags & CLONE_NEWUSER;
	int errp[2], syncp[2] = { -1, -1 };
	pid_t child;

	if (join_ns_paths(ps->spec, err) < 0)
		return -1;
	if (pipe2(errp, O_CLOEXEC) < 0 || (userns && pipe2(syncp, O_CLOEXEC) < 0))
		return err_sys(err, errno, "pipe");
	/* The child joins its cgroup itself, then unshares the cgroup namespace. */
	child = syscall(SYS_clone, (ps->spec->clone_flags & ~CLONE_NEWCGROUP) | SIGCHLD, 0, 0,
			0, 0);
	if (child < 0) {
		close(errp[0]);
		close(errp[1]);
		return err_sys(err, errno, "clone");
	}
	if (child == 0) {
		close(errp[0]);
		if (userns)
			close(syncp[1]);
		container_child(ps, cg, errp[1], syncp[0]);
	}
	close(errp[1]);
	rfd = errp[0];
	if (userns) {
		int r;

		close(syncp[0]);
		r = write_id_maps(child, ps->spec, err);
		if (r == 0)
			r = cgroup_enter_pid(cg, child, err);
		if (r == 0 && write(syncp[1], "1", 1) != 1)
			r = err_sys(err, errno, "release the container");
		close(syncp[1]);
		if (r < 0) {
			kill(child, SIGKILL);
			waitpid(child, NULL, 0);
			return -1;
		}
	}
	if (read_child_error(rfd, child, err) < 0)
		return -1;
	*pid = child;
	return 0;
}

static const struct {
	const char *name;
	int flag;
} ns_files[] = {
	/* The user namespace first: it owns the others. */
	{ "user", CLONE_NEWUSER },
	{ "cgroup", CLONE_NEWCGROUP }, { "ipc", CLONE_NEWIPC }, { "uts", CLONE_NEWUTS },
	{ "net", CLONE_NEWNET },       { "pid", CLONE_NEWPID }, { "mnt", CLONE_NEWNS },
};

static int join_namespaces(pid_t init_pid, int flags, struct err *err)
{
	int fds[sizeof(ns_files) / sizeof(ns_files[0])];
	size_t i, n = sizeof(ns_files) / sizeof(ns_files[0]);
	int r = 0;

	/* Open them all first: after joining the mount namespace /proc is another. */
	for (i = 0; i < n; i++) {
		_cleanup_free_ char *path = xasprintf("/proc/%d/ns/%s", init_pid, ns_files[i].name);

		fds[i] = (flags & ns_files[i].flag) ? open(path, O_RDONLY | O_CLOEXEC) : -1;
		if ((flags & ns_files[i].flag) && fds[i] < 0 && r == 0)
			r = err_sys(err, errno, "open %s", path);
	}
	for (i = 0; i < n && r == 0; i++)
		if (fds[i] >= 0 && setns(fds[i], ns_files[i].flag) < 0)
			r = err_sys(err, errno, "join %s namespace", ns_files[i].name);
	for (i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	return r;
}

/* Joining a mount namespace puts us at its root mount, which is the
 * container's root only when the container could pivot_root (not from an
 * initramfs, where it chroots): take PID 1's root itself. */
static int join_root(int root_fd, struct err *err)
{
	if (fchdir(root_fd) < 0 || chroot(".") < 0)
		return err_sys(err, errno, "enter the container's root");
	return 0;
}

static void __attribute__((noreturn)) exec_child(pid_t init_pid, const struct cgroup *cg,
						  const struct oci_spec *spec,
						  const struct seccomp_prog *seccomp,
						  const int stdio[3], int console_sock, int preserve,
						  int errfd)
{
	_cleanup_free_ char *root = xasprintf("/proc/%d/root", init_pid);
	int root_fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	const char **env;
	struct err err = { 0 };
	pid_t pid;

	if (root_fd < 0)
		err_sys(&err, errno, "open %s", root);
	if (err.kind || cgroup_enter_self(cg, &err) < 0 ||
	    join_namespaces(init_pid, spec_namespace_flags(spec), &err) < 0 ||
	    join_root(root_fd, &err) < 0)
		child_fail(errfd, &err);
	close(root_fd);
	/* Joining a PID namespace applies to children: fork once more, and let
	 * the intermediate exit so the caller waits on the process itself. */
	pid = fork();
	if (pid < 0) {
		err_sys(&err, errno, "fork");
		child_fail(errfd, &err);
	}
	if (pid > 0) {
		dprintf(errfd, "pid %d\n", pid);
		_exit(0);
	}
	if (setsid() < 0 || setup_stdio(stdio, &err) < 0)
		child_fail(errfd, &err);
	if (spec->terminal) {
		if (console_open(console_sock, false, &err) < 0)
			child_fail(errfd, &err);
		ioctl(0, TIOCSCTTY, 0);
	}
	if (chdir(spec->cwd) < 0) {
		err_sys(&err, errno, "chdir to %s", spec->cwd);
		child_fail(errfd, &err);
	}
	/* The container's rlimits, as runc's exec applies them. */
	if (apply_rlimits(spec, &err) < 0)
		child_fail(errfd, &err);
	env = env_with_home(spec);
	if (preserve_fds(preserve, &err) < 0 || enter_credentials(spec, seccomp, false, &err) < 0)
		child_fail(errfd, &err);
	signals_default();
	exec_args(spec, env, &err);
	child_fail(errfd, &err);
}

int process_exec(pid_t init_pid, const struct cgroup *cg, const struct oci_spec *spec,
		 const struct seccomp_prog *seccomp, const int stdio[3], int console_sock,
		 pid_t *pid, struct err *err)
{
	return process_exec_fds(init_pid, cg, spec, seccomp, stdio, console_sock, 0, pid, err);
}

int process_exec_fds(pid_t init_pid, const struct cgroup *cg, const struct oci_spec *spec,
		     const struct seccomp_prog *seccomp, const int stdio[3], int console_sock,
		     int preserve, pid_t *pid, struct err *err)
{
	char buf[sizeof(err->msg) + 64];
	_cleanup_close_ int rfd = -1;
	ssize_t n, total = 0;
	int errp[2], kind;
	pid_t mid, exec_pid = 0;
	char *p;

	/* The process is our grandchild: become its subreaper so we can wait for it. */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0)
		return err_sys(err, errno, "set child subreaper");
	if (pipe2(errp, O_CLOEXEC) < 0)
		return err_sys(err, errno, "pipe");
	mid = fork();
	if (mid < 0) {
		close(errp[0]);
		close(errp[1]);
		return err_sys(err, errno, "fork");
	}
	if (mid == 0) {
		close(errp[0]);
		exec_child(init_pid, cg, spec, seccomp, stdio, console_sock, preserve, errp[1]);
	}
	close(errp[1]);
	rfd = errp[0];
	while ((n = read(rfd, buf + total, sizeof(buf) - 1 - total)) > 0 ||
	       (n < 0 && errno == EINTR))
		total += n > 0 ? n : 0;
	buf[total] = '\0';
	waitpid(mid, NULL, 0);
	p = buf;
	if (!strncmp(p, "pid ", 4)) {
		exec_pid = strtol(p + 4, &p, 10);
		p += *p == '\n';
	}
	if (*p) {
		kind = (int)strtol(p, &p, 10);
		if (exec_pid > 0)
			waitpid(exec_pid, NULL, 0);
		return err_kind(err, kind ? kind : ERR_RUNTIME, "%s", *p ? p + 1 : p);
	}
	if (exec_pid <= 0)
		return err_set(err, "exec: the process did not start");
	*pid = exec_pid;
	return 0;
}
