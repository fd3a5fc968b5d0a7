/* isobox-init: PID 1 of every container. It starts the app, forwards every
 * signal it receives to it, reaps zombies, and exits with the app's status
 * (128+N when the app was killed by signal N), as docker --init (tini) does.
 * Static and dependency-free so it runs in any image.
 * Usage: isobox-init [-t] -- CMD [ARG...]   (-t: the app gets the terminal)
 * Started by a kernel as a VM's /init (PID 1, no arguments), it is the guest
 * agent first (agent.c): it brings the container up inside the VM, runs the
 * same loop, and reports the status to the VMM instead of exiting. */
#include <errno.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
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

/* Start the app and be its init until it exits; returns its status. */
static int run_init(const struct app *a)
{
	sigset_t all;
	pid_t app;

	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, NULL);
	app = fork();
	if (app < 0) {
		perror("isobox: fork");
		return 125;
	}
	if (app == 0)
		exec_app(a);
	for (;;) {
		siginfo_t si;
		int sig = sigwaitinfo(&all, &si);

		if (sig < 0)
			continue;
		if (sig != SIGCHLD) {
			kill(app, sig);
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

		agent_boot(&p);
		a = (struct app){ .argv = p.argv, .envp = p.envp, .tty = p.tty, .set_ids = 1,
				  .uid = p.uid, .gid = p.gid };
		agent_report(run_init(&a));
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
	return run_init(&a);
}
