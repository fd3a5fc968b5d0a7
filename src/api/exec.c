/* Exec instances: POST /containers/{id}/exec makes one, POST /exec/{id}/start
 * runs it (the isobox command's `exec` as a child, streaming on the
 * hijacked connection, or `exec -d`), GET /exec/{id}/json tells how it
 * ended. Kept in memory, as dockerd keeps them: a restarted service has
 * none. */
#include "api/api.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/stream.h"
#include "engine/container.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/strv.h"

#define EXEC_MAX 1024

struct exec_inst {
	char id[65], ctr[65];
	json_t *config;             /* the create body */
	bool started, running;
	int exit_code;
	struct api_conn conn;
};

static pthread_mutex_t exec_lock = PTHREAD_MUTEX_INITIALIZER;
static struct exec_inst *execs[EXEC_MAX];
static size_t exec_next;

/* 64 hex of the kernel's randomness. */
static int random_id(char out[65])
{
	unsigned char b[32];
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	size_t i;

	if (fd < 0 || read_full(fd, b, sizeof(b)) != (ssize_t)sizeof(b)) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	for (i = 0; i < sizeof(b); i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
	return 0;
}

/* By id (the registry's lock held by the caller). */
static struct exec_inst *exec_find(const char *id)
{
	size_t i;

	for (i = 0; i < EXEC_MAX; i++)
		if (execs[i] && !strcmp(execs[i]->id, id))
			return execs[i];
	return NULL;
}

void api_exec_create(const struct api_req *req, struct api_resp *resp)
{
	_cleanup_json_ json_t *body = req->body ? json_loadb(req->body, req->body_len, 0, NULL)
						: NULL;
	_cleanup_json_ json_t *st = NULL;
	json_t *cmd = json_object_get(body, "Cmd"), *v;
	struct exec_inst *x;
	size_t i;

	if (!json_is_object(body) || !json_array_size(cmd)) {
		api_error(resp, 400, "No exec command specified");
		return;
	}
	json_array_foreach(cmd, i, v)
		if (!json_is_string(v)) {
			api_error(resp, 400, "Cmd: want a list of strings");
			return;
		}
	st = api_container_state(req->ctx->root, req->params[0]);
	if (!st) {
		api_error(resp, 404, "No such container: %s", req->params[0]);
		return;
	}
	if (!json_is_true(json_object_get(st, "Running"))) {
		api_error(resp, 409, "Container %s is not running", req->params[0]);
		return;
	}
	x = calloc(1, sizeof(*x));
	if (!x || random_id(x->id) < 0) {
		free(x);
		api_error(resp, 500, "no randomness for an exec id");
		return;
	}
	{
		/* the container's own id, not the client's ref cut to fit */
		struct container c = { 0 };
		struct err err = { 0 };

		if (container_find(req->ctx->root, req->params[0], &c, &err) < 0) {
			free(x);
			api_error_from(resp, &err);
			return;
		}
		snprintf(x->ctr, sizeof(x->ctr), "%s", c.id);
		container_free(&c);
	}
	x->config = json_incref(body);
	x->conn.sock = -1;
	pthread_mutex_lock(&exec_lock);
	/* the oldest goes when all are taken: dockerd forgets finished ones too */
	if (execs[exec_next] && !execs[exec_next]->running && execs[exec_next]->conn.sock < 0) {
		json_decref(execs[exec_next]->config);
		free(execs[exec_next]);
		execs[exec_next] = NULL;
	}
	if (execs[exec_next]) {
		pthread_mutex_unlock(&exec_lock);
		json_decref(x->config);
		free(x);
		api_error(resp, 503, "too many exec instances are running");
		return;
	}
	execs[exec_next] = x;
	exec_next = (exec_next + 1) % EXEC_MAX;
	pthread_mutex_unlock(&exec_lock);
	resp->status = 201;
	resp->json = json_pack("{s:s}", "Id", x->id);
}

/* exec [-d] [-i] [-t] [-e E]... [-w DIR] [-u USER] CONTAINER CMD... */
static void exec_argv(const struct exec_inst *x, bool detach, struct strv *argv)
{
	json_t *c = x->config, *v;
	const char *s;
	size_t i;

	strv_push(argv, "exec");
	if (detach)
		strv_push(argv, "-d");
	if (!detach && json_is_true(json_object_get(c, "AttachStdin")))
		strv_push(argv, "-i");
	if (json_is_true(json_object_get(c, "Tty")))
		strv_push(argv, "-t");
	json_array_foreach(json_object_get(c, "Env"), i, v) {
		strv_push(argv, "-e");
		strv_push(argv, json_string_value(v) ?: "");
	}
	if ((s = json_string_value(json_object_get(c, "WorkingDir"))) && *s) {
		strv_push(argv, "-w");
		strv_push(argv, s);
	}
	if ((s = json_string_value(json_object_get(c, "User"))) && *s) {
		strv_push(argv, "-u");
		strv_push(argv, s);
	}
	strv_push(argv, x->ctr);
	json_array_foreach(json_object_get(c, "Cmd"), i, v)
		strv_push(argv, json_string_value(v));
}

static void exec_exited(void *cls, int code)
{
	struct exec_inst *x = cls;

	pthread_mutex_lock(&exec_lock);
	x->exit_code = code;
	x->running = false;
	pthread_mutex_unlock(&exec_lock);
}

static void exec_closed(void *cls)
{
	struct exec_inst *x = cls;

	pthread_mutex_lock(&exec_lock);
	api_conn_close(&x->conn);
	pthread_mutex_unlock(&exec_lock);
}

struct exec_start {
	const struct api_ctx *ctx;
	struct exec_inst *x;
};

static void exec_upgraded(void *cls, int sock, void *urh, const char *extra, size_t len)
{
	struct exec_start *es = cls;
	struct exec_inst *x = es->x;
	struct strv argv = { 0 };
	struct err err = { 0 };
	struct api_session *s;

	api_conn_take(&x->conn, sock, urh, extra, len);
	api_self_argv(es->ctx, &argv);
	exec_argv(x, false, &argv);
	free(es);
	s = api_session_spawn(strv_get(&argv), &x->conn, x->id, exec_exited, exec_closed, x,
			      &err);
	strv_free(&argv);
	if (s) {
		api_session_put(s);
	} else {
		exec_exited(x, 126);
		exec_closed(x);
	}
}

void api_exec_start(const struct api_req *req, struct api_resp *resp)
{
	_cleanup_json_ json_t *body = req->body ? json_loadb(req->body, req->body_len, 0, NULL)
						: NULL;
	struct exec_inst *x;
	struct exec_start *es;

	pthread_mutex_lock(&exec_lock);
	x = exec_find(req->params[0]);
	if (x && x->started)
		x = NULL, resp->status = 409;
	if (x) {
		x->started = x->running = true;
		x->conn.want_stdin = json_is_true(json_object_get(x->config, "AttachStdin"));
		x->conn.tty = json_is_true(json_object_get(x->config, "Tty"));
	}
	pthread_mutex_unlock(&exec_lock);
	if (!x) {
		if (resp->status == 409)
			api_error(resp, 409, "exec %s has already run", req->params[0]);
		else
			api_error(resp, 404, "No such exec instance: %s", req->params[0]);
		return;
	}
	if (json_is_true(json_object_get(body, "Detach"))) {
		struct strv argv = { 0 };
		struct err err = { 0 };

		exec_argv(x, true, &argv);
		if (api_self_run(req->ctx, strv_get(&argv), &err) < 0)
			api_error(resp, 500, "%s", err.msg);
		else
			resp->status = 200;
		strv_free(&argv);
		exec_exited(x, 0);
		return;
	}
	es = xmalloc(sizeof(*es));
	*es = (struct exec_start){ req->ctx, x };
	resp->status = 101;
	resp->content_type = x->conn.tty ? "application/vnd.docker.raw-stream"
					 : "application/vnd.docker.multiplexed-stream";
	resp->on_upgrade = exec_upgraded;
	resp->upgrade_cls = es;
}

void api_exec_inspect(const struct api_req *req, struct api_resp *resp)
{
	struct exec_inst *x;
	json_t *c;

	pthread_mutex_lock(&exec_lock);
	x = exec_find(req->params[0]);
	if (x) {
		c = x->config;
		resp->json = json_pack(
			"{s:s, s:b, s:o, s:{s:b, s:s, s:O, s:b, s:s}, s:b, s:b, s:b, s:b, s:s,"
			" s:s, s:i}",
			"ID", x->id, "Running", x->running, "ExitCode",
			x->started && !x->running ? json_integer(x->exit_code) : json_null(),
			"ProcessConfig", "tty", json_is_true(json_object_get(c, "Tty")),
			"entrypoint",
			json_string_value(json_array_get(json_object_get(c, "Cmd"), 0)) ?: "",
			"arguments", json_object_get(c, "Cmd"), "privileged",
			json_is_true(json_object_get(c, "Privileged")), "user",
			json_string_value(json_object_get(c, "User")) ?: "", "OpenStdin",
			json_is_true(json_object_get(c, "AttachStdin")), "OpenStderr",
			json_is_true(json_object_get(c, "AttachStderr")), "OpenStdout",
			json_is_true(json_object_get(c, "AttachStdout")), "CanRemove", 0,
			"ContainerID", x->ctr, "DetachKeys", "", "Pid", 0);
		resp->status = 200;
	}
	pthread_mutex_unlock(&exec_lock);
	if (!x)
		api_error(resp, 404, "No such exec instance: %s", req->params[0]);
}

void api_exec_resize(const struct api_req *req, struct api_resp *resp)
{
	const char *h = req->query(req->query_ctx, "h"), *w = req->query(req->query_ctx, "w");

	/* the terminal of the exec's session (docker exec -it) */
	if (h && w)
		api_session_resize(req->params[0], (unsigned short)atoi(h), (unsigned short)atoi(w));
	resp->status = 200;
}
