/* One monitor process per container, outliving the CLI (like conmon or a
 * containerd shim): it starts the container through its backend, holds the
 * pty or the pipes, writes the log, forwards signals, records the exit. */
#include "runtime/runtime.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "oci/spec.h"
#include "process/cgroup.h"
#include "process/process.h"
#include "runtime/logfile.h"
#include "runtime/monitor.h"
#include "util/cleanup.h"
#include "util/fdpass.h"
#include "util/fs.h"
#include "runtime/vm_cgroup.h"
#include "runtime/vm_privileges.h"
#include "vmm/vm_backend.h"

/* Signals the monitor forwards to the container, as a runc-supervising
 * process (or a VMM) would. */
static const int forwarded_signals[] = { SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 };

struct monitor {
	const struct rt_start *rs;
	int status_fd;                 /* to the starting CLI; -1 once it is gone */
	int log_fd;
	int sig_fd;
	int in_src;                    /* the caller's stdin, -1 when not forwarded */
	int in_dst;                    /* the container's stdin (pipe or pty master) */
	int out_src[2];                /* container stdout/stderr (or the pty master) */
	int out_dst[2];                /* the caller's stdout/stderr, -1 when detached */
	struct log_stream streams[2];
	pid_t pid;                     /* the container's init, or its VMM */
	bool vm;
	int exit_code;
};

static void status_send(struct monitor *m, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void status_send(struct monitor *m, const char *fmt, ...)
{
	va_list ap;

	if (m->status_fd < 0)
		return;
	va_start(ap, fmt);
	vdprintf(m->status_fd, fmt, ap);
	va_end(ap);
}

/* Give the container its stdio: child_fds become its 0..2, the monitor keeps
 * the other ends. */
static int monitor_stdio(struct monitor *m, int child_fds[3], int console[2], struct err *err)
{
	const struct rt_start *rs = m->rs;
	int p[2];
	int i;

	if (rs->tty) {
		/* The pty is made inside the container; its master comes back here. */
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, console) < 0)
			return err_sys(err, errno, "socketpair");
		for (i = 0; i < 3; i++)
			child_fds[i] = open("/dev/null", O_RDWR | O_CLOEXEC);
		return 0;
	}
	if (rs->interactive) {
		if (pipe2(p, O_CLOEXEC) < 0)
			return err_sys(err, errno, "pipe");
		child_fds[0] = p[0];
		m->in_dst = p[1];
	} else {
		child_fds[0] = open("/dev/null", O_RDONLY | O_CLOEXEC);
	}
	for (i = 0; i < 2; i++) {
		if (pipe2(p, O_CLOEXEC) < 0)
			return err_sys(err, errno, "pipe");
		m->out_src[i] = p[0];
		child_fds[i + 1] = p[1];
	}
	return 0;
}

static void write_all_or_drop(int *fd, const char *buf, size_t len)
{
	while (*fd >= 0 && len) {
		ssize_t w = write(*fd, buf, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			*fd = -1;        /* the attached caller went away: keep logging */
			return;
		}
		buf += w;
		len -= w;
	}
}

/* Returns 0 at EOF (or EIO, a pty whose last slave closed). */
static int relay_output(struct monitor *m, int i)
{
	char buf[16384];
	ssize_t n = read(m->out_src[i], buf, sizeof(buf));

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 1;
	if (n <= 0)
		return 0;
	log_stream_write(m->log_fd, &m->streams[i], buf, n);
	write_all_or_drop(&m->out_dst[i], buf, n);
	return 1;
}

static void relay_input(struct monitor *m)
{
	char buf[4096];
	ssize_t n = read(m->in_src, buf, sizeof(buf));

	if (n < 0 && errno == EINTR)
		return;
	if (n <= 0) {
		m->in_src = -1;
		if (!m->rs->tty) {     /* EOF reaches the app as EOF on its stdin */
			close(m->in_dst);
			m->in_dst = -1;
		}
		return;
	}
	write_all_or_drop(&m->in_dst, buf, n);
}

static void handle_signal(struct monitor *m, bool *exited)
{
	struct signalfd_siginfo si;
	int status;

	if (read(m->sig_fd, &si, sizeof(si)) != sizeof(si))
		return;
	if (si.ssi_signo == SIGWINCH) {
		struct winsize ws;

		if (m->rs->tty && ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0)
			ioctl(m->in_dst, TIOCSWINSZ, &ws);
		/* The VMM holds the pty's other end outside its session: tell it. */
		if (m->vm)
			kill(m->pid, SIGWINCH);
		return;
	}
	if (si.ssi_signo != SIGCHLD) {
		kill(m->pid, si.ssi_signo);
		return;
	}
	while (waitpid(m->pid, &status, WNOHANG) == m->pid) {
		m->exit_code = WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
		*exited = true;
	}
}

/* Relay until the container has exited and its output is drained. */
static void monitor_loop(struct monitor *m)
{
	bool exited = false;
	bool open_out[2] = { m->out_src[0] >= 0, m->out_src[1] >= 0 };

	while (!exited || open_out[0] || open_out[1]) {
		struct pollfd p[4] = {
			{ .fd = m->sig_fd, .events = POLLIN },
			{ .fd = open_out[0] ? m->out_src[0] : -1, .events = POLLIN },
			{ .fd = open_out[1] ? m->out_src[1] : -1, .events = POLLIN },
			{ .fd = m->in_dst >= 0 ? m->in_src : -1, .events = POLLIN },
		};
		int i;

		/* After the exit, output still buffered is drained without blocking. */
		if (poll(p, 4, exited ? 100 : -1) <= 0) {
			if (exited)
				break;
			continue;
		}
		if (p[0].revents & POLLIN)
			handle_signal(m, &exited);
		for (i = 0; i < 2; i++)
			if (p[i + 1].revents && !relay_output(m, i))
				open_out[i] = false;
		if (p[3].revents)
			relay_input(m);
	}
	log_stream_flush(m->log_fd, &m->streams[0]);
	log_stream_flush(m->log_fd, &m->streams[1]);
}

static int monitor_setup_signals(struct monitor *m, struct err *err)
{
	sigset_t set;
	size_t i;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGWINCH);
	for (i = 0; i < sizeof(forwarded_signals) / sizeof(forwarded_signals[0]); i++)
		sigaddset(&set, forwarded_signals[i]);
	sigprocmask(SIG_BLOCK, &set, NULL);
	m->sig_fd = signalfd(-1, &set, SFD_CLOEXEC);
	if (m->sig_fd < 0)
		return err_sys(err, errno, "signalfd");
	return 0;
}

static int monitor_take_pty(struct monitor *m, int sock, struct err *err)
{
	struct winsize ws;
	int master = fd_recv(sock);

	if (master < 0)
		return err_sys(err, errno, "receive the container's pty");
	if (m->rs->attach && ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0)
		ioctl(master, TIOCSWINSZ, &ws);
	m->in_dst = master;
	m->out_src[0] = master;
	return 0;
}

/* The process backend: the container is a process tree on this kernel. */
static int spawn_process(struct monitor *m, const struct oci_spec *spec, struct cgroup *cg,
			 const int child_fds[3], int console_sock, struct err *err)
{
	const struct rt_start *rs = m->rs;
	_cleanup_close_ int init_fd = -1;
	struct seccomp_prog seccomp = { 0 };
	char init_path[4096];
	int r;

	/* --init: isobox-init is PID 1 and forks the app; else the app is PID 1
	 * itself, as docker runs it. */
	if (spec->init && (rt_init_path(init_path, sizeof(init_path), err) < 0 ||
			   (init_fd = process_init_open(init_path, err)) < 0))
		return -1;
	if (spec->seccomp && seccomp_prog_compile(spec->seccomp, rs->cache_dir, &seccomp, err) < 0)
		return -1;
	if (cgroup_create(rs->id, spec, cg, err) < 0) {
		seccomp_prog_free(&seccomp);
		return -1;
	}
	r = process_spawn(&(struct process_start){ .bundle = rs->dir, .spec = spec,
						   .stdio = { child_fds[0], child_fds[1],
							      child_fds[2] },
						   .console_sock = console_sock, .init_fd = init_fd,
						   .seccomp = spec->seccomp ? &seccomp : NULL,
						   .start_fifo = -1 },
			  cg, &m->pid, err);
	seccomp_prog_free(&seccomp);
	return r;
}

/* The hyperv backend: the container is a micro-VM whose VMM is our child. */
static int spawn_vm(struct monitor *m, const struct oci_spec *spec, struct cgroup *cg,
		    const int child_fds[3], int console_sock, struct err *err)
{
	_cleanup_free_ char *cg_path = xasprintf("isobox/%s", m->rs->id);
	_cleanup_free_ char *serial = xasprintf("%s/vm-kernel.log", m->rs->dir);
	_cleanup_free_ char *exec_socket = xasprintf("%s/" VM_EXEC_SOCKET, m->rs->dir);
	_cleanup_free_ char *oom_file = xasprintf("%s/" VM_OOM_FILE, m->rs->dir);
	struct guest_security security;
	struct seccomp_prog seccomp;
	char init[4096];
	int r;

	if (rt_init_path(init, sizeof(init), err) < 0 ||
	    vm_privileges(spec, m->rs->cache_dir, &security, &seccomp, err) < 0)
		return -1;
	/* The VMM is held to the container's limits on the host, as
	 * isobox-runtime holds it, at the path a process container gets. */
	if (vm_cgroup_create(cg_path, spec, cg, err) < 0) {
		seccomp_prog_free(&seccomp);
		return -1;
	}
	r = vm_spawn(&(struct vm_start){ .spec = spec,
					 .stdio = { child_fds[0], child_fds[1], child_fds[2] },
					 .console_sock = console_sock, .serial_log = serial,
					 .init = init, .exec_socket = exec_socket,
					 .oom_file = oom_file, .security = &security,
					 .ready_fd = -1, .child_setup = vm_cgroup_enter,
					 .child_setup_data = cg },
		     &m->pid, err);
	seccomp_prog_free(&seccomp);
	return r;
}

static int monitor_start(struct monitor *m, struct oci_spec *spec, struct cgroup *cg,
			 struct err *err)
{
	const struct rt_start *rs = m->rs;
	_cleanup_free_ char *config = xasprintf("%s/config.json", rs->dir);
	_cleanup_free_ char *log = xasprintf("%s/container.log", rs->dir);
	int child_fds[3] = { -1, -1, -1 };
	int console[2] = { -1, -1 };
	int r, i;

	if (spec_load(config, spec, err) < 0)
		return -1;
	m->log_fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (m->log_fd < 0)
		return err_sys(err, errno, "open %s", log);
	if (monitor_stdio(m, child_fds, console, err) < 0)
		return -1;
	m->vm = vm_spec_is_hyperv(spec);
	if (m->vm)
		r = spawn_vm(m, spec, cg, child_fds, console[1], err);
	else
		r = spawn_process(m, spec, cg, child_fds, console[1], err);
	for (i = 0; i < 3; i++)
		if (child_fds[i] >= 0)
			close(child_fds[i]);
	if (console[1] >= 0)
		close(console[1]);
	if (r == 0 && rs->tty)
		r = monitor_take_pty(m, console[0], err);
	if (console[0] >= 0)
		close(console[0]);
	return r;
}

static void monitor_record_start(struct monitor *m)
{
	struct rt_state st = { .status = RT_RUNNING, .pid = m->pid, .monitor_pid = getpid() };

	time_rfc3339(st.started_at, sizeof(st.started_at));
	rt_state_write(m->rs->dir, &st, &(struct err){ 0 });
}

static void monitor_record_exit(struct monitor *m, const struct cgroup *cg)
{
	struct rt_state st = { .status = RT_EXITED, .exit_code = m->exit_code };
	struct rt_state old;

	if (rt_state_read(m->rs->dir, &old, &(struct err){ 0 }) == 0)
		memcpy(st.started_at, old.started_at, sizeof(st.started_at));
	if (m->vm) {
		_cleanup_free_ char *oom_file = xasprintf("%s/" VM_OOM_FILE, m->rs->dir);
		_cleanup_free_ char *oom = NULL;
		size_t len = 0;

		st.oom_killed = m->exit_code == 137 &&
				read_file(oom_file, 16, &oom, &len, &(struct err){ 0 }) == 0 && len > 0;
	} else {
		st.oom_killed = m->exit_code == 137 && cgroup_oom_killed(cg);
	}
	time_rfc3339(st.finished_at, sizeof(st.finished_at));
	if (m->rs->on_died)
		m->rs->on_died(m->rs->dir, st.exit_code, st.oom_killed, m->rs->on_exit_data);
	rt_state_write(m->rs->dir, &st, &(struct err){ 0 });
}

/* The container never ran: it stays created, with docker's code for a
 * command that cannot run (126, 127; else 128) and why, as the app
 * exec'd as PID 1 fails before isobox-init could have said so itself. */
static void monitor_record_failure(struct monitor *m, const struct err *err)
{
	struct rt_state st = { .status = RT_CREATED };

	if (m->log_fd < 0)
		return;     /* no bundle to speak of: the lock or the log failed */
	st.exit_code = err->kind == ERR_NOTFOUND || err->kind == ERR_NOEXEC ? err->kind : 128;
	snprintf(st.error, sizeof(st.error), "%.500s", err->msg);
	rt_state_write(m->rs->dir, &st, &(struct err){ 0 });
}

/* The monitor's whole life; never returns. */
static void __attribute__((noreturn)) monitor_main(const struct rt_start *rs, int status_fd)
{
	struct monitor m = { .rs = rs, .status_fd = status_fd, .log_fd = -1, .in_src = -1,
			     .in_dst = -1, .out_src = { -1, -1 }, .out_dst = { -1, -1 } };
	struct oci_spec spec = { 0 };
	struct cgroup cg = { 0 };
	struct err err = { 0 };
	char *trash = NULL;

	m.streams[0].name = "stdout";
	m.streams[1].name = "stderr";
	if (rs->attach) {
		m.out_dst[0] = STDOUT_FILENO;
		m.out_dst[1] = rs->tty ? -1 : STDERR_FILENO;
		if (rs->interactive)
			m.in_src = STDIN_FILENO;
	}
	if ((rt_lock_dir(rs->dir, LOCK_EX) < 0 && err_sys(&err, errno, "lock %s", rs->dir)) ||
	    monitor_setup_signals(&m, &err) < 0 ||
	    monitor_start(&m, &spec, &cg, &err) < 0) {
		cgroup_destroy(&cg, &(struct err){ 0 });
		monitor_record_failure(&m, &err);
		status_send(&m, "error %d %s\n", err.kind ? err.kind : ERR_RUNTIME, err.msg);
		_exit(ERR_RUNTIME);
	}
	monitor_record_start(&m);
	status_send(&m, "started %d\n", m.pid);
	if (!rs->attach) {
		close(m.status_fd);
		m.status_fd = -1;
	}
	monitor_loop(&m);
	monitor_record_exit(&m, &cg);
	/* --rm: gone before the attached caller returns, as with docker run --rm. */
	if (rs->on_exit)
		trash = rs->on_exit(rs->dir, rs->on_exit_data);
	status_send(&m, "exit %d\n", m.exit_code);
	cgroup_destroy(&cg, &err);
	if (trash)
		rm_rf(trash, &err);
	_exit(0);
}

/* Detach from the caller: own session, stdio on /dev/null unless attached. */
static void monitor_detach(const struct rt_start *rs)
{
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);

	setsid();
	if (null >= 0) {
		if (!rs->attach) {
			dup2(null, STDIN_FILENO);
			dup2(null, STDOUT_FILENO);
			dup2(null, STDERR_FILENO);
		} else if (!rs->interactive) {
			dup2(null, STDIN_FILENO);
		}
		close(null);
	}
	if (chdir("/") < 0)
		_exit(ERR_RUNTIME);
}

int monitor_launch(const struct rt_start *rs, int *status_fd, pid_t *monitor_pid,
		   struct err *err)
{
	int p[2], q[2];
	pid_t mid;

	if (pipe2(p, O_CLOEXEC) < 0 || pipe2(q, O_CLOEXEC) < 0)
		return err_sys(err, errno, "pipe");
	mid = fork();
	if (mid < 0)
		return err_sys(err, errno, "fork");
	if (mid == 0) {
		pid_t mon;

		close(p[0]);
		close(q[0]);
		monitor_detach(rs);
		mon = fork();
		if (mon < 0)
			_exit(ERR_RUNTIME);
		if (mon > 0) {
			if (write(q[1], &mon, sizeof(mon)) < 0)
				_exit(ERR_RUNTIME);
			_exit(0);
		}
		close(q[1]);
		monitor_main(rs, p[1]);
	}
	close(p[1]);
	close(q[1]);
	waitpid(mid, NULL, 0);
	if (read(q[0], monitor_pid, sizeof(*monitor_pid)) != sizeof(*monitor_pid)) {
		close(q[0]);
		close(p[0]);
		return err_set(err, "the container monitor did not start");
	}
	close(q[0]);
	*status_fd = p[0];
	return 0;
}
