/* Running docker's credential helpers (see cred_helper.h). A helper is the
 * user's program, named by the user's config; its answer is still bounded
 * and parsed as outside data. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <jansson.h>

#include "engine/cred_helper.h"
#include "util/cleanup.h"
#include "util/fs.h"

#define HELPER_OUT_MAX (64u << 10)
#define NOT_FOUND "credentials not found in native keychain"

extern char **environ;

bool cred_helper_name_valid(const char *name)
{
	if (!name || !*name || strlen(name) > 64)
		return false;
	for (const char *p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' || *p == '-'))
			return false;
	return true;
}

/* Run docker-credential-NAME ACTION with input on stdin; *out gets stdout
 * (NUL-terminated), *status the exit status. */
static int helper_run(const char *name, const char *action, const char *input, char **out,
		      int *status, struct err *err)
{
	_cleanup_free_ char *prog = xasprintf("docker-credential-%s", name);
	char *argv[] = { prog, (char *)action, NULL };
	int in[2] = { -1, -1 }, outp[2] = { -1, -1 };
	posix_spawn_file_actions_t fa;
	size_t len = 0, cap = 4096;
	char *buf = NULL;
	pid_t pid;
	int r, ws;

	if (!cred_helper_name_valid(name))
		return err_set(err, "invalid credential helper name '%s'", name);
	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(outp, O_CLOEXEC) < 0) {
		r = errno;
		if (in[0] >= 0)
			close(in[0]), close(in[1]);
		return err_sys(err, r, "pipe");
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[0], 0);
	posix_spawn_file_actions_adddup2(&fa, outp[1], 1);
	r = posix_spawnp(&pid, prog, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(in[0]);
	close(outp[1]);
	if (r) {
		close(in[1]);
		close(outp[0]);
		return err_sys(err, r, "error getting credentials - err: exec: \"%s\"", prog);
	}
	/* A helper that exits without reading must not kill us with SIGPIPE. */
	{
		struct sigaction old, ign = { .sa_handler = SIG_IGN };

		sigaction(SIGPIPE, &ign, &old);
		write_all(in[1], input, strlen(input));
		sigaction(SIGPIPE, &old, NULL);
	}
	close(in[1]);
	buf = xmalloc(cap + 1);
	for (;;) {
		ssize_t n;

		if (len == cap) {
			if (cap >= HELPER_OUT_MAX)
				break;
			cap *= 2;
			buf = xrealloc(buf, cap + 1);
		}
		n = read(outp[0], buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(outp[0]);
	buf[len] = '\0';
	while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
		;
	*status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128;
	*out = buf;
	return 0;
}

static void trim(char *s)
{
	size_t n = strlen(s);

	while (n && strchr(" \t\r\n", s[n - 1]))
		s[--n] = '\0';
}

int cred_helper_get(const char *name, const char *server, char **user, char **secret,
		    struct err *err)
{
	_cleanup_free_ char *out = NULL;
	_cleanup_json_ json_t *j = NULL;
	const char *u, *s;
	int status;

	*user = *secret = NULL;
	if (helper_run(name, "get", server, &out, &status, err) < 0)
		return -1;
	trim(out);
	if (status != 0) {
		if (!strcmp(out, NOT_FOUND) || strstr(out, "not found"))
			return 0;
		return err_set(err, "error getting credentials - err: docker-credential-%s get: "
			       "exit status %d, out: `%.200s`", name, status, out);
	}
	j = json_loads(out, 0, NULL);
	u = json_string_value(json_object_get(j, "Username"));
	s = json_string_value(json_object_get(j, "Secret"));
	if (!u || !s)
		return err_set(err, "docker-credential-%s get: not a credentials object: `%.200s`",
			       name, out);
	/* An identity token (OAuth refresh token) is not a password. */
	if (!*u || !strcmp(u, "<token>"))
		return 0;
	*user = xstrdup(u);
	*secret = xstrdup(s);
	return 0;
}

int cred_helper_store(const char *name, const char *server, const char *user,
		      const char *secret, struct err *err)
{
	_cleanup_json_ json_t *j = json_pack("{s:s, s:s, s:s}", "ServerURL", server,
					     "Username", user, "Secret", secret);
	_cleanup_free_ char *in = j ? json_dumps(j, JSON_COMPACT) : NULL;
	_cleanup_free_ char *out = NULL;
	int status;

	if (!in)
		return err_set(err, "encode credentials for %s", server);
	if (helper_run(name, "store", in, &out, &status, err) < 0)
		return -1;
	explicit_bzero(in, strlen(in));
	trim(out);
	if (status != 0)
		return err_set(err, "error storing credentials - err: docker-credential-%s store: "
			       "exit status %d, out: `%.200s`", name, status, out);
	return 0;
}

int cred_helper_erase(const char *name, const char *server, struct err *err)
{
	_cleanup_free_ char *out = NULL;
	int status;

	if (helper_run(name, "erase", server, &out, &status, err) < 0)
		return -1;
	trim(out);
	if (status != 0 && !strstr(out, "not found"))
		return err_set(err, "error erasing credentials - err: docker-credential-%s erase: "
			       "exit status %d, out: `%.200s`", name, status, out);
	return 0;
}
