/* isobox-init: PID 1 of a container run with --init. It starts the app,
 * forwards every signal it receives to it, reaps zombies, and exits with the
 * app's status (128+N when the app was killed by signal N), as docker --init
 * (tini) does. Static and dependency-free so it runs in any image.
 * Usage: isobox-init [-t] -- CMD [ARG...]   (-t: the app gets the terminal)
 * Started by a kernel as a VM's /init (PID 1, no arguments), it is the guest
 * agent first (agent.c): it brings the container up inside the VM, starts the
 * container's PID 1 (the app, or itself as above with --init) in a PID
 * namespace of its own, runs the same loop with the container's stdio,
 * control lines and `exec` sessions (exec_server.c), and reports the status
 * to the VMM instead of exiting. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent.h"
#include "app.h"
#include "exec_server.h"
#include "util/signal.h"

/* After the app, what its terminal still holds gets this long to drain. */
#define DRAIN_MS 100

static int status_code(int status)
{
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

/* In a VM: the container's stdio and control lines, and the exec sessions. */
struct vm_relay {
	struct agent_io io;
	struct exec_server exec;
	char line[64];
	size_t len;
	bool started;           /* the control line "start" came (TAG_HOLD) */
	int held_signal;        /* a signal for the app before it started */
	const struct agent_process *proc;  /* the container's process */
};

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* One read from src into dst; false at the end (or when dst is gone). */
static bool relay_once(int src, int dst)
{
	char buf[4096];
	ssize_t n = read(src, buf, sizeof(buf)), off = 0;

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return true;
	while (n > 0 && off < n) {
		ssize_t w = write(dst, buf + off, (size_t)(n - off));

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		off += w;
	}
	return n > 0;
}

static void relay_stdin(struct agent_io *io)
{
	if (relay_once(io->stdin_src, io->stdin_dst))
		return;
	/* The app is gone, or we are done; a terminal stays for the output. */
	if (io->stdin_dst != io->pty)
		close(io->stdin_dst);
	io->stdin_dst = io->stdin_src = -1;
}

static void end_of_stdin(struct agent_io *io)
{
	if (io->stdin_dst < 0 || io->stdin_dst == io->pty)
		return;
	/* Whatever stdin still holds goes first. */
	if (fcntl(io->stdin_src, F_SETFL, O_NONBLOCK) == 0)
		while (relay_once(io->stdin_src, io->stdin_dst)) {
			struct pollfd p = { .fd = io->stdin_src, .events = POLLIN };

			if (poll(&p, 1, 0) <= 0)
				break;
		}
	close_fd(&io->stdin_dst);
	io->stdin_src = -1;
}

static void control_line(struct vm_relay *r, const char *line, pid_t app)
{
	struct agent_io *io = &r->io;
	unsigned short rows, cols;

	if (!strcmp(line, "eof"))
		end_of_stdin(io);
	else if (!strcmp(line, "start"))
		r->started = true;
	else if (!strncmp(line, "signal ", 7) && app > 0)
		kill(app, atoi(line + 7));
	else if (!strncmp(line, "signal ", 7))
		r->held_signal = atoi(line + 7);
	else if (sscanf(line, "resize %hu %hu", &rows, &cols) == 2 && io->pty >= 0)
		ioctl(io->pty, TIOCSWINSZ, &(struct winsize){ .ws_row = rows, .ws_col = cols });
}

static void relay_control(struct vm_relay *r, pid_t app)
{
	ssize_t n = read(r->io.ctl, r->line + r->len, sizeof(r->line) - 1 - r->len);
	char *nl;

	if (n <= 0) {
		if (!(n < 0 && (errno == EINTR || errno == EAGAIN)))
			r->io.ctl = -1;
		return;
	}
	r->len += (size_t)n;
	r->line[r->len] = '\0';
	while ((nl = strchr(r->line, '\n'))) {
		*nl = '\0';
		control_line(r, r->line, app);
		r->len -= (size_t)(nl + 1 - r->line);
		memmove(r->line, nl + 1, r->len + 1);
	}
	if (r->len == sizeof(r->line) - 1)
		r->len = 0;        /* a line that long is not ours: drop it */
}

/* The app exited: its terminal's last output goes out before the status. */
static void drain_output(struct agent_io *io)
{
	struct pollfd p = { .fd = io->out_src, .events = POLLIN };

	while (io->out_src >= 0 && poll(&p, 1, DRAIN_MS) > 0 &&
	       relay_once(io->out_src, io->out_dst))
		;
}

enum { P_SIG, P_STDIN, P_OUT, P_CTL, P_EXEC };

static void vm_pollfds(struct vm_relay *r, struct pollfd *p)
{
	struct agent_io *io = r ? &r->io : NULL;

	p[P_STDIN] = (struct pollfd){ .fd = io ? io->stdin_src : -1, .events = POLLIN };
	p[P_OUT] = (struct pollfd){ .fd = io ? io->out_src : -1, .events = POLLIN };
	p[P_CTL] = (struct pollfd){ .fd = io ? io->ctl : -1, .events = POLLIN };
	if (r)
		exec_server_pollfds(&r->exec, p + P_EXEC);
	else
		for (size_t i = 0; i < EXEC_SERVER_POLLFDS; i++)
			p[P_EXEC + i] = (struct pollfd){ .fd = -1 };
}

static void vm_events(struct vm_relay *r, const struct pollfd *p, pid_t app)
{
	if (!r)
		return;
	if (p[P_STDIN].revents)
		relay_stdin(&r->io);
	if (p[P_OUT].revents && !relay_once(r->io.out_src, r->io.out_dst))
		r->io.out_src = -1;
	if (p[P_CTL].revents)
		relay_control(r, app);
	exec_server_events(&r->exec, p + P_EXEC);
	exec_server_tick(&r->exec);
}

/* runc's create (TAG_HOLD): the app waits for `start`, the control line
 * "start". A signal before it ends the container as it would have ended the
 * app. Returns 0 to start, else the container's status. */
static int wait_start(struct vm_relay *r)
{
	while (!r->started) {
		struct pollfd p = { .fd = r->io.ctl, .events = POLLIN };

		if (r->io.ctl < 0)
			return 125;        /* the VMM is gone */
		if (poll(&p, 1, -1) < 0)
			continue;
		relay_control(r, 0);
		if (signal_ends(r->held_signal))
			return 128 + r->held_signal;
		r->held_signal = 0;
	}
	return 0;
}

/* In a VM: the container's PID 1 in PID and mount namespaces of its own, as
 * docker (and Kata) start it: the app, or with --init isobox-init, which
 * forks the app. Its /proc shows the container's processes only; the
 * agent stays the guest's PID 1. The parent's side: the child's pid. */
static pid_t start_container(const struct app *a, const struct agent_process *p)
{
	pid_t pid = (pid_t)syscall(SYS_clone, CLONE_NEWPID | CLONE_NEWNS | SIGCHLD, 0, 0, 0, 0);
	size_t n = 0, i = 0;
	struct app init;
	char **argv;

	if (pid != 0)
		return pid;
	if (agent_container_proc(p) < 0) {
		perror("isobox: mount the container's /proc");
		_exit(125);
	}
	if (!p->init)
		app_exec(a);
	/* isobox-init [-t] -- ARGS, with the container's user and privileges. */
	while (a->argv[n])
		n++;
	argv = calloc(n + 4, sizeof(char *));
	if (!argv)
		_exit(125);
	argv[i++] = "isobox-init";
	if (a->tty)
		argv[i++] = "-t";
	argv[i++] = "--";
	memcpy(argv + i, a->argv, n * sizeof(char *));
	init = *a;
	init.argv = argv;
	init.tty = 0;           /* the app it forks takes the terminal */
	init.exec_self = 1;
	app_exec(&init);
}

/* Start the app and be its init until it exits; returns its status. */
static int run_init(const struct app *a, struct vm_relay *r)
{
	sigset_t all;
	pid_t app;
	int sfd;

	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, NULL);
	sfd = signalfd(-1, &all, SFD_CLOEXEC);
	app = r ? start_container(a, r->proc) : fork();
	if (app < 0 || sfd < 0) {
		perror("isobox: start");
		return 125;
	}
	if (app == 0)
		app_exec(a);
	if (r) {
		exec_server_container(&r->exec, app);
		/* The app holds its stdio; PID 1 keeps only the relay's ends. */
		close(STDIN_FILENO);
		if (r->io.pty >= 0) {
			close(STDOUT_FILENO);
			close(STDERR_FILENO);
		}
	}
	for (;;) {
		struct pollfd p[P_EXEC + EXEC_SERVER_POLLFDS];
		struct signalfd_siginfo si;

		p[P_SIG] = (struct pollfd){ .fd = sfd, .events = POLLIN };
		vm_pollfds(r, p);
		if (poll(p, P_EXEC + EXEC_SERVER_POLLFDS,
			 r ? exec_server_timeout(&r->exec) : -1) < 0)
			continue;
		vm_events(r, p, app);
		if (!(p[P_SIG].revents & POLLIN) || read(sfd, &si, sizeof(si)) != sizeof(si))
			continue;
		if (si.ssi_signo != SIGCHLD) {
			/* A write to a pipe whose reader left is not the app's business. */
			if (!(si.ssi_signo == SIGPIPE && si.ssi_pid == (uint32_t)getpid()))
				kill(app, (int)si.ssi_signo);
			continue;
		}
		for (;;) {
			int status;
			pid_t pid = waitpid(-1, &status, WNOHANG);

			if (pid <= 0)
				break;
			if (pid == app) {
				if (r)
					drain_output(&r->io);
				return status_code(status);
			}
			if (r)
				exec_server_reaped(&r->exec, pid, status);
		}
	}
}

int main(int argc, char **argv)
{
	struct app a = { 0 };
	int i = 1;

	if (agent_is_vm_init(argc)) {
		static struct vm_relay r;
		struct agent_process p;
		int status;

		agent_boot(&p, &r.io);
		exec_server_init(&r.exec, r.io.exec_chan);
		r.proc = &p;
		a = (struct app){ .argv = p.argv, .envp = p.envp, .tty = p.tty, .set_ids = 1,
				  .uid = p.uid, .gid = p.gid, .cgroup = AGENT_CGROUP,
				  .rlimits = p.rlimits, .n_rlimits = p.n_rlimits, .privileges = &p };
		status = p.hold ? wait_start(&r) : 0;
		if (status == 0)
			status = run_init(&a, &r);
		agent_report_oom(status);
		agent_report(status);
	}
	/* Its name in ps, whether it runs from a memfd or the guest's /init. */
	prctl(PR_SET_NAME, "isobox-init", 0, 0, 0);
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--")) {
			i++;
			break;
		}
		if (!strcmp(argv[i], "-t"))
			a.tty = 1;
	}
	if (i >= argc) {
		fputs("usage: isobox-init [-t] -- CMD [ARG...]\n", stderr);
		return 125;
	}
	a.argv = argv + i;
	return run_init(&a, NULL);
}
