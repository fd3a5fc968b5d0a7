/* docker cp in a running hyperv container: a guest tool over exec. */
#include "engine/vm_cp.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/runtime.h"
#include "util/cleanup.h"
#include "util/fs.h"

bool vm_cp_applies(const struct container *c)
{
	json_t *hc = json_object_get(c->record, "HostConfig");
	struct rt_state st;
	struct err ignore = { 0 };

	return !strcmp(json_string_value(json_object_get(hc, "Isolation")) ?: "", "hyperv") &&
	       rt_state_read(c->dir, &st, &ignore) == 0 && st.status == RT_RUNNING;
}

static void __attribute__((noreturn)) child_run(const struct container *c,
						const char *const *argv, int in_fd,
						int out_fd, int err_fd)
{
	_cleanup_free_ char *cache = xasprintf("%s/../../cache/seccomp", c->dir);
	struct rt_exec re = { .dir = c->dir, .cache_dir = cache, .args = argv,
			      .interactive = in_fd >= 0, .tool = true };
	struct err err = { 0 };
	int code = 0;

	if (in_fd < 0)
		in_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (out_fd < 0)
		out_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (in_fd < 0 || out_fd < 0 || dup2(in_fd, STDIN_FILENO) < 0 ||
	    dup2(out_fd, STDOUT_FILENO) < 0 || dup2(err_fd, STDERR_FILENO) < 0)
		_exit(125);
	signal(SIGPIPE, SIG_DFL);
	if (rt_exec(&re, &code, &err) < 0) {
		fprintf(stderr, "container %s: %s\n", c->id, err.msg);
		_exit(125);
	}
	_exit(code);
}

int vm_cp_start(const struct container *c, const char *const *argv, int in_fd, int out_fd,
		struct vm_cp_job *job, struct err *err)
{
	int errp[2];

	if (pipe2(errp, O_CLOEXEC) < 0)
		return err_sys(err, errno, "pipe");
	job->pid = fork();
	if (job->pid < 0) {
		close(errp[0]);
		close(errp[1]);
		return err_sys(err, errno, "fork");
	}
	if (job->pid == 0) {
		close(errp[0]);
		if (job->child_close >= 0)
			close(job->child_close);
		child_run(c, argv, in_fd, out_fd, errp[1]);
	}
	close(errp[1]);
	job->err_fd = errp[0];
	return 0;
}

int vm_cp_wait(struct vm_cp_job *job, int *code, struct err *err)
{
	char text[sizeof(err->msg)];
	ssize_t n = read_full(job->err_fd, text, sizeof(text) - 1);
	int status = 0;

	close(job->err_fd);
	while (waitpid(job->pid, &status, 0) < 0 && errno == EINTR)
		;
	text[n > 0 ? n : 0] = 0;
	text[strcspn(text, "\n")] = 0;
	*code = WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
	if (*code == 0)
		return 0;
	return err_set(err, "%s", *text ? text : "the copy failed in the guest");
}
