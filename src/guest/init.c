/* isobox-init: PID 1 of every container. It starts the app, forwards every
 * signal it receives to it, reaps zombies, and exits with the app's status
 * (128+N when the app was killed by signal N), as docker --init (tini) does.
 * Static and dependency-free so it runs in any image.
 * Usage: isobox-init [-t] -- CMD [ARG...]   (-t: the app gets the terminal) */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

static int exec_status(int errnum)
{
	return errnum == ENOENT || errnum == ENOTDIR ? 127 : 126;
}

static void exec_app(char **argv, int tty)
{
	sigset_t all;

	sigfillset(&all);
	sigprocmask(SIG_UNBLOCK, &all, NULL);
	if (tty) {
		setsid();
		ioctl(STDIN_FILENO, TIOCSCTTY, 0);
	} else {
		setpgid(0, 0);
	}
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

int main(int argc, char **argv)
{
	sigset_t all;
	int tty = 0, i = 1;
	pid_t app;

	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--")) {
			i++;
			break;
		}
		if (!strcmp(argv[i], "-t"))
			tty = 1;
	}
	if (i >= argc) {
		fputs("usage: isobox-init [-t] -- CMD [ARG...]\n", stderr);
		return 125;
	}
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, NULL);
	app = fork();
	if (app < 0) {
		perror("isobox: fork");
		return 125;
	}
	if (app == 0)
		exec_app(argv + i, tty);
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
