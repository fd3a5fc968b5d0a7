/* config.json's hooks, as runc runs them: each hook's path with its args and
 * env, the container's state as JSON on stdin, killed after its timeout. */
#include "runtime/oci_hooks.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "oci/spec.h"
#include "util/cleanup.h"
#include "util/fs.h"

/* One hook of config.json's "hooks": its path runs with its args and env,
 * the container's state on stdin, killed after its timeout (seconds). */
static int hook_run(json_t *hook, const char *kind, const char *state, struct err *err)
{
	const char *path = json_string_value(json_object_get(hook, "path"));
	json_t *timeout = json_object_get(hook, "timeout");
	const char **argv = NULL, **envp = NULL;
	int in[2], status = 0, waited_ms = 0, limit_ms;
	void (*old_pipe)(int);
	pid_t child;

	if (!path || path[0] != '/')
		return err_set(err, "%s hook: path must be absolute", kind);
	limit_ms = json_is_integer(timeout) && json_integer_value(timeout) > 0
			   ? (int)json_integer_value(timeout) * 1000 : -1;
	if (pipe2(in, O_CLOEXEC) < 0)
		return err_sys(err, errno, "pipe");
	child = fork();
	if (child == 0) {
		struct err e = { 0 };

		dup2(in[0], 0);
		if (spec_strv_from_json(json_object_get(hook, "args"), "args", &argv, &e) < 0 ||
		    spec_strv_from_json(json_object_get(hook, "env"), "env", &envp, &e) < 0) {
			fprintf(stderr, "isobox-runtime: %s hook: %s\n", kind, e.msg);
			_exit(127);
		}
		execve(path, (char *const *)(argv[0] ? argv : (const char *[]){ path, NULL }),
		       (char *const *)envp);
		err_sys(&e, errno, "exec %s", path);
		fprintf(stderr, "isobox-runtime: %s hook: %s\n", kind, e.msg);
		_exit(127);
	}
	close(in[0]);
	if (child < 0) {
		close(in[1]);
		return err_sys(err, errno, "fork");
	}
	/* A hook that does not read its stdin must not kill us with SIGPIPE. */
	old_pipe = signal(SIGPIPE, SIG_IGN);
	write_all(in[1], state, strlen(state));
	close(in[1]);
	signal(SIGPIPE, old_pipe);
	while (waitpid(child, &status, WNOHANG) == 0) {
		if (limit_ms >= 0 && waited_ms >= limit_ms) {
			kill(child, SIGKILL);
			waitpid(child, &status, 0);
			return err_set(err, "%s hook %s timed out after %d s", kind, path,
				       limit_ms / 1000);
		}
		usleep(10000);
		waited_ms += 10;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		return err_set(err, "%s hook %s failed (%s %d)", kind, path,
			       WIFEXITED(status) ? "exit status" : "signal",
			       WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
	return 0;
}

/* Every hook of one kind, in order; the first failure stops them. */
int oci_hooks_run(json_t *spec_json, const char *kind, json_t *state, struct err *err)
{
	json_t *hooks = json_object_get(json_object_get(spec_json, "hooks"), kind), *h;
	_cleanup_free_ char *text = NULL;
	size_t i;

	if (!json_array_size(hooks))
		return 0;
	text = json_dumps(state, JSON_COMPACT);
	json_array_foreach(hooks, i, h)
		if (hook_run(h, kind, text, err) < 0)
			return -1;
	return 0;
}

/* poststart and poststop: a failure is a warning, and the rest go on. */
void oci_hooks_warn(json_t *spec_json, const char *kind, json_t *state)
{
	json_t *hooks = json_object_get(json_object_get(spec_json, "hooks"), kind), *h;
	_cleanup_free_ char *text = json_dumps(state, JSON_COMPACT);
	size_t i;

	json_array_foreach(hooks, i, h) {
		struct err err = { 0 };

		if (hook_run(h, kind, text, &err) < 0)
			fprintf(stderr, "isobox-runtime: warning: %s\n", err.msg);
	}
}
