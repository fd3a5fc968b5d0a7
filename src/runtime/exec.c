/* `exec`: a process in a running container, relayed by the calling CLI. */
#include "runtime/runtime.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "oci/annotations.h"
#include "oci/spec.h"
#include "process/cgroup.h"
#include "process/process.h"
#include "runtime/exec_vm.h"
#include "vmm/vm_backend.h"
#include "util/cleanup.h"
#include "util/fdpass.h"
#include "util/fs.h"

/* exec -u: the user's own groups (none in a VM: the guest looks them up and
 * adds these), then the container's --group-add ones, as docker's exec. */
static json_t *exec_gids(const struct rt_exec *re, json_t *spec, bool hyperv)
{
	const char *add = json_string_value(json_object_get(json_object_get(spec, "annotations"),
							    ANNOTATION_GROUP_ADD));
	json_t *gids = json_array();
	size_t i;

	for (i = 0; !hyperv && i < re->n_gids; i++)
		json_array_append_new(gids, json_integer(re->gids[i]));
	while (add && *add) {
		char *end;
		unsigned long g = strtoul(add, &end, 10);

		if (end == add || g > 0x7fffffff)
			break;
		json_array_append_new(gids, json_integer((json_int_t)g));
		add = *end == ',' ? end + 1 : end;
	}
	return gids;
}

/* Apply exec's overrides to the container's process in the spec's JSON. */
static int exec_spec(const struct rt_exec *re, struct oci_spec *spec, struct err *err)
{
	_cleanup_free_ char *path = xasprintf("%s/config.json", re->dir);
	_cleanup_json_ json_t *j = NULL;
	json_t *proc, *args = json_array(), *env;
	bool hyperv;
	size_t i;

	if (json_load_path(path, &j, err) < 0)
		return -1;
	hyperv = !strcmp(json_string_value(json_object_get(json_object_get(j, "annotations"),
							   VM_ANNOTATION_ISOLATION)) ?: "",
			 "hyperv");
	proc = json_object_get(j, "process");
	if (!json_is_object(proc))
		return err_set(err, "config.json: process: missing");
	for (i = 0; re->args[i]; i++)
		json_array_append_new(args, json_string(re->args[i]));
	json_object_set_new(proc, "args", args);
	env = json_object_get(proc, "env");
	if (!json_is_array(env)) {
		env = json_array();
		json_object_set_new(proc, "env", env);
	}
	for (i = 0; re->env && re->env[i]; i++)
		json_array_append_new(env, json_string(re->env[i]));
	if (re->cwd)
		json_object_set_new(proc, "cwd", json_string(re->cwd));
	json_object_set_new(proc, "terminal", json_boolean(re->tty));
	/* In a VM the user is looked up by the guest (exec_vm). */
	if (re->user && !hyperv) {
		unsigned uid, gid;
		int n = sscanf(re->user, "%u:%u", &uid, &gid);

		if (n < 1)
			return err_set(err, "bad user %s", re->user);
		json_object_set_new(proc, "user",
				    json_pack("{s:i, s:i, s:o}", "uid", uid, "gid", n == 2 ? gid : uid,
					      "additionalGids", exec_gids(re, j, false)));
	} else if (re->user && json_is_object(json_object_get(proc, "user"))) {
		json_object_set_new(json_object_get(proc, "user"), "additionalGids",
				    exec_gids(re, j, true));
	}
	return spec_parse(j, spec, err);
}

static void relay_fd(int from, int to, int *open)
{
	char buf[8192];
	ssize_t n = read(from, buf, sizeof(buf));

	if (n <= 0 && !(n < 0 && errno == EINTR)) {
		*open = 0;
		return;
	}
	if (n > 0 && write(to, buf, n) < 0)
		*open = 0;
}

/* Relay the caller's terminal and the pty until the process exits. */
static int exec_relay_tty(int master, pid_t pid, bool interactive)
{
	struct termios saved, raw;
	bool raw_on = false;
	int in_open = interactive, out_open = 1, status = 0, exited = 0;
	sigset_t set;
	int sfd;

	sigemptyset(&set);
	sigaddset(&set, SIGWINCH);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, NULL);
	sfd = signalfd(-1, &set, SFD_CLOEXEC);
	{
		struct winsize ws;

		/* a resize before SIGWINCH was blocked went unseen: the size now */
		if (ioctl(0, TIOCGWINSZ, &ws) == 0)
			ioctl(master, TIOCSWINSZ, &ws);
	}
	if (interactive && isatty(0) && tcgetattr(0, &saved) == 0) {
		raw = saved;
		cfmakeraw(&raw);
		/* OPOST off, as docker: the container's own terminal makes its CRs */
		raw_on = tcsetattr(0, TCSANOW, &raw) == 0;
	}
	while (out_open) {
		struct pollfd p[3] = { { .fd = master, .events = POLLIN },
				       { .fd = in_open ? 0 : -1, .events = POLLIN },
				       { .fd = sfd, .events = POLLIN } };
		struct signalfd_siginfo si;
		struct winsize ws;

		if (poll(p, 3, exited ? 100 : -1) <= 0) {
			if (exited)
				break;
			continue;
		}
		if (p[0].revents)
			relay_fd(master, 1, &out_open);
		if (p[1].revents)
			relay_fd(0, master, &in_open);
		if ((p[2].revents & POLLIN) && read(sfd, &si, sizeof(si)) == sizeof(si)) {
			if (si.ssi_signo == SIGWINCH && ioctl(0, TIOCGWINSZ, &ws) == 0)
				ioctl(master, TIOCSWINSZ, &ws);
			if (si.ssi_signo == SIGCHLD && waitpid(pid, &status, WNOHANG) == pid)
				exited = 1;
		}
	}
	if (!exited)
		waitpid(pid, &status, 0);
	if (raw_on)
		tcsetattr(0, TCSANOW, &saved);
	close(sfd);
	return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
}

int rt_exec(const struct rt_exec *re, int *exit_code, struct err *err)
{
	_cleanup_free_ char *dircopy = xstrdup(re->dir);
	_cleanup_close_ int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	_cleanup_close_ int master = -1;
	int console[2] = { -1, -1 };
	struct oci_spec spec = { 0 };
	struct seccomp_prog seccomp = { 0 };
	struct rt_state st;
	struct cgroup cg;
	int stdio[3] = { 0, 1, 2 };
	pid_t pid;
	int r, status;

	if (rt_state_read(re->dir, &st, err) < 0)
		return -1;
	if (st.status != RT_RUNNING)
		return err_set(err, "is not running");
	if (exec_spec(re, &spec, err) < 0)
		return -1;
	if (vm_spec_is_hyperv(&spec)) {
		r = exec_vm(re, &spec, exit_code, err);
		spec_free(&spec);
		return r;
	}
	if (re->tool) {
		spec_free(&spec);
		return err_set(err, "the guest's tools run in a VM only");
	}
	if (spec.seccomp && seccomp_prog_compile(spec.seccomp, re->cache_dir, &seccomp, err) < 0) {
		spec_free(&spec);
		return -1;
	}
	if (re->detach) {
		stdio[0] = stdio[1] = stdio[2] = null;
	} else if (re->tty) {
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, console) < 0) {
			spec_free(&spec);
			seccomp_prog_free(&seccomp);
			return err_sys(err, errno, "socketpair");
		}
		stdio[0] = stdio[1] = stdio[2] = null;
	} else if (!re->interactive) {
		stdio[0] = null;
	}
	cgroup_open(basename(dircopy), &cg);
	r = process_exec(st.pid, &cg, &spec, spec.seccomp ? &seccomp : NULL, stdio, console[1],
			 &pid, err);
	seccomp_prog_free(&seccomp);
	cgroup_free(&cg);
	spec_free(&spec);
	if (console[1] >= 0)
		close(console[1]);
	if (r == 0 && re->tty && (master = fd_recv(console[0])) < 0)
		r = err_sys(err, errno, "receive the exec's pty");
	if (console[0] >= 0)
		close(console[0]);
	if (r < 0)
		return -1;
	if (re->detach) {
		*exit_code = 0;
		return 0;
	}
	if (re->tty) {
		struct winsize ws;

		if (ioctl(0, TIOCGWINSZ, &ws) == 0)
			ioctl(master, TIOCSWINSZ, &ws);
		*exit_code = exec_relay_tty(master, pid, re->interactive);
		return 0;
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	*exit_code = WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
	return 0;
}
