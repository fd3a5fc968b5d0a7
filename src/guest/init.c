/* isobox-init: PID 1 of every container. It starts the app, forwards every
 * signal it receives to it, reaps zombies, and exits with the app's status
 * (128+N when the app was killed by signal N), as docker --init (tini) does.
 * Static and dependency-free so it runs in any image.
 * Usage: isobox-init [-t] -- CMD [ARG...]   (-t: the app gets the terminal)
 * Started by a kernel as a VM's /init (PID 1, no arguments), it is the guest
 * agent first (agent.c): it brings the container up inside the VM, runs the
 * same loop, and reports the status to the VMM instead of exiting. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent.h"

extern char **environ;

struct app {
	char **argv;
	char **envp;            /* NULL: our own environment */
	int tty;
	int set_ids;            /* become uid:gid first (in a VM, where PID 1 stays root) */
	unsigned uid, gid;
};

static int exec_status(int errnum)
{
	return errnum == ENOENT || errnum == ENOTDIR ? 127 : 126;
}

static void exec_app(const struct app *a)
{
	char **argv = a->argv;
	sigset_t all;

	sigfillset(&all);
	sigprocmask(SIG_UNBLOCK, &all, NULL);
	if (a->tty) {
		setsid();
		ioctl(STDIN_FILENO, TIOCSCTTY, 0);
	} else {
		setpgid(0, 0);
	}
	if (a->set_ids && (setgroups(0, NULL) < 0 || setgid(a->gid) < 0 || setuid(a->uid) < 0)) {
		perror("isobox: set the container's user");
		_exit(125);
	}
	if (a->envp)
		environ = a->envp;
	execvp(argv[0], argv);
	if (errno == ENOENT && !strchr(argv[0], '/'))
		fprintf(stderr, "isobox: exec: \"%s\": executable file not found in $PATH\n",
			argv[0]);
	else
		fprintf(stderr, "isobox: exec: \"%s\": %s\n", argv[0], strerror(errno));
	_exit(exec_status(errno));
}

static int status_code(int status)
{
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

/* In a VM the agent relays the app's stdin (so it can deliver EOF) and reads
 * the VMM's control messages; in a container both are -1. */
struct relay {
	int stdin_src, stdin_dst;   /* hvc0 -> the app's stdin pipe */
	int ctl;                    /* hvc2: "eof" and "signal N" lines from the VMM */
	char line[64];
	size_t len;
};

static void relay_stdin(struct relay *r)
{
	char buf[4096];
	ssize_t n = read(r->stdin_src, buf, sizeof(buf));

	if (n > 0 && write(r->stdin_dst, buf, (size_t)n) == n)
		return;
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	close(r->stdin_dst);     /* the app is gone, or we are done */
	r->stdin_dst = r->stdin_src = -1;
}

static void relay_control(struct relay *r, pid_t app)
{
	ssize_t n = read(r->ctl, r->line + r->len, sizeof(r->line) - 1 - r->len);
	char *nl;

	if (n <= 0) {
		if (!(n < 0 && (errno == EINTR || errno == EAGAIN)))
			r->ctl = -1;
		return;
	}
	r->len += (size_t)n;
	r->line[r->len] = '\0';
	while ((nl = strchr(r->line, '\n'))) {
		*nl = '\0';
		if (!strcmp(r->line, "eof") && r->stdin_dst >= 0) {
			/* Whatever stdin still holds goes first. */
			while (r->stdin_src >= 0 && fcntl(r->stdin_src, F_SETFL, O_NONBLOCK) == 0 &&
			       r->stdin_dst >= 0) {
				char buf[4096];
				ssize_t m = read(r->stdin_src, buf, sizeof(buf));

				if (m <= 0 || write(r->stdin_dst, buf, (size_t)m) != m)
					break;
			}
			if (r->stdin_dst >= 0)
				close(r->stdin_dst);
			r->stdin_dst = r->stdin_src = -1;
		} else if (!strncmp(r->line, "signal ", 7)) {
			kill(app, atoi(r->line + 7));
		}
		r->len -= (size_t)(nl + 1 - r->line);
		memmove(r->line, nl + 1, r->len + 1);
	}
	if (r->len == sizeof(r->line) - 1)
		r->len = 0;        /* a line that long is not ours: drop it */
}

/* Start the app and be its init until it exits; returns its status. */
static int run_init(const struct app *a, struct relay *r)
{
	sigset_t all;
	pid_t app;
	int sfd;

	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, NULL);
	sfd = signalfd(-1, &all, SFD_CLOEXEC);
	app = fork();
	if (app < 0 || sfd < 0) {
		perror("isobox: start");
		return 125;
	}
	if (app == 0)
		exec_app(a);
	if (r && r->stdin_dst >= 0)
		close(STDIN_FILENO);     /* the app holds the pipe's read end */
	for (;;) {
		struct pollfd p[3] = {
			{ .fd = sfd, .events = POLLIN },
			{ .fd = r ? r->stdin_src : -1, .events = POLLIN },
			{ .fd = r ? r->ctl : -1, .events = POLLIN },
		};
		struct signalfd_siginfo si;

		if (poll(p, 3, -1) < 0)
			continue;
		if (p[1].revents)
			relay_stdin(r);
		if (p[2].revents)
			relay_control(r, app);
		if (!(p[0].revents & POLLIN) || read(sfd, &si, sizeof(si)) != sizeof(si))
			continue;
		if (si.ssi_signo != SIGCHLD) {
			kill(app, (int)si.ssi_signo);
			continue;
		}
		for (;;) {
			int status;
			pid_t pid = waitpid(-1, &status, WNOHANG);

			if (pid <= 0)
				break;
			if (pid == app)
				return status_code(status);
		}
	}
}

int main(int argc, char **argv)
{
	struct app a = { 0 };
	int i = 1;

	if (agent_is_vm_init(argc)) {
		struct agent_process p;

		struct relay r = { .stdin_src = -1, .stdin_dst = -1, .ctl = -1 };

		agent_boot(&p, &r.stdin_src, &r.stdin_dst, &r.ctl);
		a = (struct app){ .argv = p.argv, .envp = p.envp, .tty = p.tty, .set_ids = 1,
				  .uid = p.uid, .gid = p.gid };
		agent_report(run_init(&a, &r));
	}
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
