#include "runtime/runtime.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "oci/spec.h"
#include "process/cgroup.h"
#include "process/process.h"
#include "runtime/monitor.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "vmm/vm_backend.h"

/* How long a VM's guest has to end its app and write its disks on SIGKILL. */
#define VM_KILL_GRACE_MS 5000

static const int proxied_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2,
				       SIGWINCH };

/* The caller's terminal in raw mode while a tty container is attached. */
struct raw_tty {
	bool active;
	struct termios saved;
};

static void raw_tty_enter(struct raw_tty *t)
{
	struct termios raw;

	if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &t->saved) < 0)
		return;
	raw = t->saved;
	cfmakeraw(&raw);
	/* OPOST off, as docker: the container's own terminal makes its CRs */
	if (tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0)
		t->active = true;
}

static void raw_tty_leave(struct raw_tty *t)
{
	if (t->active)
		tcsetattr(STDIN_FILENO, TCSANOW, &t->saved);
	t->active = false;
}

static int proxy_signals_block(sigset_t *old)
{
	sigset_t set;
	size_t i;

	sigemptyset(&set);
	for (i = 0; i < sizeof(proxied_signals) / sizeof(proxied_signals[0]); i++)
		sigaddset(&set, proxied_signals[i]);
	sigprocmask(SIG_BLOCK, &set, old);
	return signalfd(-1, &set, SFD_CLOEXEC);
}

/* Read "started PID" or "error KIND MSG" / "exit CODE" lines from the monitor. */
struct status_reader {
	char buf[2048];
	size_t len;
};

static int status_next(int fd, struct status_reader *r, char *line, size_t len)
{
	for (;;) {
		char *nl = memchr(r->buf, '\n', r->len);
		ssize_t n;

		if (nl) {
			size_t l = nl - r->buf;

			snprintf(line, len, "%.*s", (int)l, r->buf);
			memmove(r->buf, nl + 1, r->len - l - 1);
			r->len -= l + 1;
			return 1;
		}
		if (r->len == sizeof(r->buf) - 1)
			return 0;
		n = read(fd, r->buf + r->len, sizeof(r->buf) - 1 - r->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return 0;
		r->len += n;
	}
}

static int status_parse_start(const char *line, pid_t *pid, struct err *err)
{
	int kind;
	char *msg;

	if (!strncmp(line, "started ", 8)) {
		*pid = atoi(line + 8);
		return 0;
	}
	if (!strncmp(line, "error ", 6)) {
		kind = (int)strtol(line + 6, &msg, 10);
		return err_kind(err, kind ? kind : ERR_RUNTIME, "%s", *msg ? msg + 1 : msg);
	}
	return err_set(err, "the container monitor exited before the container started");
}

/* Attached: forward signals until the monitor reports the exit. */
static int attach_wait(const struct rt_start *rs, int status_fd, struct status_reader *r,
		       pid_t pid, pid_t monitor_pid, int sfd, int *exit_code, struct err *err)
{
	char line[2048];
	int got = 0;

	for (;;) {
		struct pollfd p[2] = { { .fd = status_fd, .events = POLLIN },
				       { .fd = sfd, .events = POLLIN } };
		struct signalfd_siginfo si;

		if (r->len == 0 && poll(p, 2, -1) < 0)
			continue;
		if (sfd >= 0 && (p[1].revents & POLLIN) &&
		    read(sfd, &si, sizeof(si)) == sizeof(si)) {
			kill(si.ssi_signo == SIGWINCH ? monitor_pid : pid, si.ssi_signo);
			continue;
		}
		if (r->len == 0 && !(p[0].revents & (POLLIN | POLLHUP)))
			continue;
		got = status_next(status_fd, r, line, sizeof(line));
		if (!got || !strncmp(line, "exit ", 5))
			break;
	}
	if (got) {
		*exit_code = atoi(line + 5);
		return 0;
	}
	/* The monitor died without a word: its recorded state is the truth. */
	return rt_wait(rs->dir, exit_code, err);
}

int rt_start(const struct rt_start *rs, int *exit_code, struct err *err)
{
	struct status_reader r = { .len = 0 };
	struct raw_tty tty = { 0 };
	_cleanup_close_ int status_fd = -1;
	char line[2048];
	pid_t pid = 0, monitor_pid;
	sigset_t old;
	int ret, sfd = -1;

	if (rs->attach && rs->tty && rs->interactive)
		raw_tty_enter(&tty);
	/* Blocked before the container runs: a signal that comes as soon as the
	 * app's first output does waits for the proxy instead of killing us. */
	if (rs->attach)
		sfd = proxy_signals_block(&old);
	ret = monitor_launch(rs, &status_fd, &monitor_pid, err);
	if (ret == 0) {
		if (!status_next(status_fd, &r, line, sizeof(line)))
			line[0] = '\0';
		ret = status_parse_start(line, &pid, err);
	}
	if (ret == 0 && rs->attach)
		ret = attach_wait(rs, status_fd, &r, pid, monitor_pid, sfd, exit_code, err);
	if (rs->attach) {
		if (sfd >= 0)
			close(sfd);
		sigprocmask(SIG_SETMASK, &old, NULL);
	}
	raw_tty_leave(&tty);
	return ret;
}

/* A VM's container: its VMM has bound the exec socket. */
static bool vm_running(const char *dir)
{
	_cleanup_free_ char *sock = xasprintf("%s/" VM_EXEC_SOCKET, dir);

	return access(sock, F_OK) == 0;
}

int rt_kill(const char *dir, int sig, struct err *err)
{
	struct rt_state st;

	if (rt_state_read(dir, &st, err) < 0)
		return -1;
	if (st.status != RT_RUNNING || st.pid <= 0)
		return err_set(err, "is not running");
	if (sig == SIGKILL && vm_running(dir)) {
		/* The guest kills the app and writes its disks; one that has not
		 * ended in VM_KILL_GRACE_MS loses its VMM all the same. */
		if (kill(st.pid, VM_SIGNAL_KILL) == 0 &&
		    rt_wait_timeout(dir, VM_KILL_GRACE_MS, &(struct err){ 0 }) == 1)
			return 0;
	}
	if (kill(st.pid, sig) < 0 && errno != ESRCH)
		return err_sys(err, errno, "kill %d", st.pid);
	return 0;
}

/* 0 once the monitor is gone (or with LOCK_NB, -1 while it lives). */
static int lock_monitor(const char *dir, int op)
{
	_cleanup_close_ int fd = rt_lock_dir(dir, op);

	return fd < 0 && errno == EWOULDBLOCK ? -1 : 0;
}

int rt_wait(const char *dir, int *exit_code, struct err *err)
{
	struct rt_state st;

	if (rt_state_read(dir, &st, err) < 0)
		return -1;
	if (st.status == RT_RUNNING) {
		lock_monitor(dir, LOCK_SH);
		if (rt_state_read(dir, &st, err) < 0)
			return -1;
	}
	*exit_code = st.exit_code;
	return 0;
}

int rt_wait_timeout(const char *dir, int timeout_ms, struct err *err)
{
	struct rt_state st;
	int waited;

	for (waited = 0;; waited += 10) {
		if (rt_state_read(dir, &st, err) < 0)
			return -1;
		if (st.status != RT_RUNNING)
			return 1;
		if (lock_monitor(dir, LOCK_SH | LOCK_NB) == 0) {
			if (rt_state_read(dir, &st, err) < 0)
				return -1;
			return st.status != RT_RUNNING;
		}
		if (waited >= timeout_ms)
			return 0;
		nanosleep(&(struct timespec){ 0, 10 * 1000 * 1000 }, NULL);
	}
}

int rt_cleanup(const char *id, struct err *err)
{
	struct cgroup cg;
	int r;

	cgroup_open(id, &cg);
	r = cgroup_destroy(&cg, err);
	cgroup_free(&cg);
	return r;
}
