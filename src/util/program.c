#include "util/program.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/fs.h"

extern char **environ;

int program_run(const char *const argv[], struct err *err)
{
	posix_spawn_file_actions_t fa;
	char out[512];
	int p[2], status, e;
	ssize_t n = 0, r;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		return err_sys(err, errno, "pipe");
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, p[1], 2);
	e = posix_spawnp(&pid, argv[0], &fa, NULL, (char *const *)argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(p[1]);
	if (e) {
		close(p[0]);
		return err_sys(err, e, "run %s", argv[0]);
	}
	while ((r = read(p[0], out + n, sizeof(out) - 1 - (size_t)n)) > 0 ||
	       (r < 0 && errno == EINTR))
		if (r > 0 && (n += r) == (ssize_t)sizeof(out) - 1)
			break;
	close(p[0]);
	out[n] = '\0';
	while (n > 0 && out[n - 1] == '\n')
		out[--n] = '\0';
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return err_sys(err, errno, "wait for %s", argv[0]);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	return err_set(err, "%s failed%s%s", argv[0], *out ? ": " : "", out);
}

int program_output(const char *const argv[], char **out, struct err *err)
{
	posix_spawn_file_actions_t fa;
	char said[512];
	int o[2], e2[2], status, e;
	ssize_t n, m;
	pid_t pid;

	if (pipe2(o, O_CLOEXEC) < 0)
		return err_sys(err, errno, "pipe");
	if (pipe2(e2, O_CLOEXEC) < 0) {
		close(o[0]);
		close(o[1]);
		return err_sys(err, errno, "pipe");
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, o[1], 1);
	posix_spawn_file_actions_adddup2(&fa, e2[1], 2);
	e = posix_spawnp(&pid, argv[0], &fa, NULL, (char *const *)argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(o[1]);
	close(e2[1]);
	if (e) {
		close(o[0]);
		close(e2[0]);
		return err_sys(err, e, "run %s", argv[0]);
	}
	*out = xmalloc(PROGRAM_OUTPUT_MAX + 1);
	n = read_full(o[0], *out, PROGRAM_OUTPUT_MAX);
	(*out)[n > 0 ? n : 0] = 0;
	read_to_end(o[0]);
	close(o[0]);
	m = read_full(e2[0], said, sizeof(said) - 1);
	read_to_end(e2[0]);
	close(e2[0]);
	said[m > 0 ? m : 0] = 0;
	said[strcspn(said, "\n")] = 0;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return err_sys(err, errno, "wait for %s", argv[0]);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	free(*out);
	*out = NULL;
	return err_set(err, "%s: exit status %d%s%s", argv[0],
		       WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status),
		       *said ? ": " : "", said);
}
