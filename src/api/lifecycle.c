/* A container's life through the API: start, stop, kill, restart, remove,
 * wait, attach and logs. Starting is the isobox command's own `start [-a
 * [-i]]` in a child process (this threaded server forks nothing that runs
 * engine code): an attach that came first (docker run attaches, then
 * starts) gives that child its stdio, relayed on the hijacked connection,
 * in docker's 8-byte frames when the container has no TTY. */
#include "api/api.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "api/stream.h"
#include "engine/container.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/strv.h"

#define ATTACH_MAX 256
#define POLL_MS 50
#define START_WAIT_MS (120 * 1000)    /* a VM under TCG boots in seconds */

static void sleep_ms(long ms)
{
	nanosleep(&(struct timespec){ ms / 1000, (ms % 1000) * 1000000L }, NULL);
}

static bool find(const struct api_req *req, struct api_resp *resp, struct container *c)
{
	struct err err = { 0 };

	if (container_find(req->ctx->root, req->params[0], c, &err) == 0)
		return true;
	api_error_from(resp, &err);
	return false;
}

static const char *status_of(json_t *st)
{
	return json_string_value(json_object_get(st, "Status")) ?: "";
}

/* ---- attach ---- */

/* An attach waiting for its container's start (docker run attaches first). */
struct attach {
	char id[65];
	bool failed;                /* given up on: on_upgrade closes it */
	struct api_conn conn;
};

static pthread_mutex_t attach_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t attach_ready = PTHREAD_COND_INITIALIZER;
static struct attach *pending[ATTACH_MAX];

/* What the containers started with an attach exited with: a --rm one is
 * gone before a waiter reads its state. */
#define EXITS_KEPT 64
static struct { char id[65]; int code; } exits[EXITS_KEPT];
static size_t exits_next;

static void exit_record(const char *id, int code)
{
	pthread_mutex_lock(&attach_lock);
	snprintf(exits[exits_next].id, sizeof(exits[0].id), "%s", id);
	exits[exits_next].code = code;
	exits_next = (exits_next + 1) % EXITS_KEPT;
	pthread_mutex_unlock(&attach_lock);
}

static bool exit_lookup(const char *id, int *code)
{
	bool found = false;
	size_t i;

	pthread_mutex_lock(&attach_lock);
	for (i = 0; i < EXITS_KEPT && !found; i++)
		if (!strcmp(exits[i].id, id)) {
			*code = exits[i].code;
			found = true;
		}
	pthread_mutex_unlock(&attach_lock);
	return found;
}

/* The attach of id, once its connection is ours (the 101 may still be on
 * its way when the client's start comes). */
static struct attach *attach_take(const char *id)
{
	struct timespec until;
	struct attach *a = NULL;
	size_t i;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 10;
	pthread_mutex_lock(&attach_lock);
	for (i = 0; i < ATTACH_MAX && !a; i++)
		if (pending[i] && !strcmp(pending[i]->id, id)) {
			a = pending[i];
			pending[i] = NULL;
		}
	while (a && a->conn.sock < 0 &&
	       pthread_cond_timedwait(&attach_ready, &attach_lock, &until) == 0)
		;
	if (a && a->conn.sock < 0) {
		a->failed = true;    /* on_upgrade, should it come, closes it */
		a = NULL;
	}
	pthread_mutex_unlock(&attach_lock);
	return a;
}

static void attach_free(struct attach *a)
{
	api_conn_close(&a->conn);
	free(a);
}

static void on_upgrade(void *cls, int sock, void *urh, const char *extra, size_t len)
{
	struct attach *a = cls;
	bool failed;

	pthread_mutex_lock(&attach_lock);
	api_conn_take(&a->conn, sock, urh, extra, len);
	failed = a->failed;
	pthread_cond_broadcast(&attach_ready);
	pthread_mutex_unlock(&attach_lock);
	if (failed)
		attach_free(a);
}

/* Waiting for its start from now on: false when too many wait. */
static bool attach_register(struct attach *a)
{
	size_t i;

	pthread_mutex_lock(&attach_lock);
	for (i = 0; i < ATTACH_MAX && pending[i]; i++)
		;
	if (i < ATTACH_MAX)
		pending[i] = a;
	pthread_mutex_unlock(&attach_lock);
	return i < ATTACH_MAX;
}

/* An attach to a running container: its output from now on (from its start
 * with ?logs=1), read from its log as the monitor writes it; its stdin is
 * the monitor's, not the attach's (docker's would be forwarded). */
struct running_attach {
	struct api_conn *conn;
	struct api_log *log;
};

static void running_upgraded(void *cls, int sock, void *urh, const char *extra, size_t len)
{
	struct running_attach *ra = cls;
	struct err err = { 0 };

	api_conn_take(ra->conn, sock, urh, extra, len);
	if (api_conn_follow_log(ra->conn, ra->log, &err) < 0) {
		api_log_free(ra->log);
		api_conn_close(ra->conn);
		free(ra->conn);
	}
	free(ra);
}

static void attach_running(const struct api_req *req, const struct container *c,
			   struct api_resp *resp)
{
	struct running_attach *ra = xmalloc(sizeof(*ra));

	ra->conn = xmalloc(sizeof(*ra->conn));
	*ra->conn = (struct api_conn){ .sock = -1 };
	ra->log = api_log_open(req->ctx->root, c, api_query_bool(req, "stdout"),
			       api_query_bool(req, "stderr"), false, true,
			       api_query_bool(req, "logs") ? -1 : 0,
			       api_conn_log_client(ra->conn));
	if (!ra->log) {
		free(ra->conn);
		free(ra);
		api_error(resp, 500, "no memory");
		return;
	}
	resp->status = 101;
	resp->content_type = json_is_true(json_object_get(json_object_get(c->record, "Config"),
							  "Tty")) ?
			     "application/vnd.docker.raw-stream" :
			     "application/vnd.docker.multiplexed-stream";
	resp->on_upgrade = running_upgraded;
	resp->upgrade_cls = ra;
}

void api_container_attach(const struct api_req *req, struct api_resp *resp)
{
	struct container c = { 0 };
	struct attach *a;
	_cleanup_json_ json_t *st = NULL;

	if (!find(req, resp, &c))
		return;
	st = api_container_state(req->ctx->root, c.id);
	if (!strcmp(status_of(st), "running")) {
		container_event(&c, "attach", NULL, &(struct err){ 0 });
		attach_running(req, &c, resp);
		container_free(&c);
		return;
	}
	a = calloc(1, sizeof(*a));
	if (!a) {
		container_free(&c);
		api_error(resp, 500, "no memory");
		return;
	}
	snprintf(a->id, sizeof(a->id), "%s", c.id);
	a->conn.sock = -1;
	a->conn.want_stdin = api_query_bool(req, "stdin") &&
			json_is_true(json_object_get(json_object_get(c.record, "Config"), "OpenStdin"));
	a->conn.tty = json_is_true(json_object_get(json_object_get(c.record, "Config"), "Tty"));
	container_event(&c, "attach", NULL, &(struct err){ 0 });
	container_free(&c);
	if (!attach_register(a)) {
		free(a);
		api_error(resp, 503, "too many attaches wait for their containers' start");
		return;
	}
	resp->status = 101;
	resp->content_type = a->conn.tty ? "application/vnd.docker.raw-stream"
				    : "application/vnd.docker.multiplexed-stream";
	resp->on_upgrade = on_upgrade;
	resp->upgrade_cls = a;
}

static void start_exited(void *cls, int code)
{
	struct attach *a = cls;

	exit_record(a->id, code);
}

static void start_closed(void *cls)
{
	attach_free(cls);
}

/* start -a [-i] with the attach's streams; 0 once the container left "created". */
static int start_attached(const struct api_req *req, const char *id, struct attach *a,
			  struct err *err)
{
	struct strv argv = { 0 };
	struct api_session *s;
	char said[512];
	long waited;

	api_self_argv(req->ctx, &argv);
	strv_push(&argv, "start");
	strv_push(&argv, "-a");
	if (a->conn.want_stdin)
		strv_push(&argv, "-i");
	strv_push(&argv, id);
	s = api_session_spawn(strv_get(&argv), &a->conn, id, start_exited, start_closed, a, err);
	strv_free(&argv);
	if (!s) {
		attach_free(a);
		return -1;
	}
	for (waited = 0; waited < START_WAIT_MS; waited += POLL_MS) {
		_cleanup_json_ json_t *st = api_container_state(req->ctx->root, id);

		if (!st || strcmp(status_of(st), "created")) {
			api_session_put(s);
			return 0;
		}
		if (api_session_done(s, said, sizeof(said))) {
			/* what the start said: docker's CLI makes 126 or 127 of it */
			said[strcspn(said, "\r\n")] = 0;
			api_session_put(s);
			return err_set(err, "%s", !strncmp(said, "isobox: ", 8) ? said + 8 :
						  *said ? said : "the container did not start");
		}
		sleep_ms(POLL_MS);
	}
	api_session_put(s);
	return err_set(err, "the container did not start in %d s", START_WAIT_MS / 1000);
}

void api_container_start(const struct api_req *req, struct api_resp *resp)
{
	struct container c = { 0 };
	struct err err = { 0 };
	_cleanup_json_ json_t *st = NULL;
	struct attach *a;

	if (!find(req, resp, &c))
		return;
	st = api_container_state(req->ctx->root, c.id);
	if (!strcmp(status_of(st), "running")) {
		resp->status = 304;
		container_free(&c);
		return;
	}
	a = attach_take(c.id);
	if (a ? start_attached(req, c.id, a, &err) < 0
	      : api_self_run(req->ctx, (const char *[]){ "start", c.id, NULL }, &err) < 0) {
		/* docker's: a command that cannot run is the client's error, its
		 * errno in Go's words (the CLI makes 126 or 127 of them) */
		char *e;

		if ((e = strstr(err.msg, "Permission denied")) || (e = strstr(err.msg, "No such file")))
			*e = (char)tolower((unsigned char)*e);
		api_error(resp, strstr(err.msg, "executable file not found") ||
				strstr(err.msg, "permission denied") ||
				strstr(err.msg, "no such file") ? 400 : 500, "%s", err.msg);
		/* a --rm container that never ran goes, as dockerd removes it */
		if (json_is_true(json_object_get(json_object_get(c.record, "HostConfig"),
						 "AutoRemove")))
			container_remove(req->ctx->root, &c, true, &(struct err){ 0 });
	} else {
		resp->status = 204;
	}
	container_free(&c);
}

void api_container_stop(const struct api_req *req, struct api_resp *resp)
{
	const char *t = req->query ? req->query(req->query_ctx, "t") : NULL;
	struct container c = { 0 };
	struct err err = { 0 };
	_cleanup_json_ json_t *st = NULL;

	if (!find(req, resp, &c))
		return;
	st = api_container_state(req->ctx->root, c.id);
	if (strcmp(status_of(st), "running"))
		resp->status = 304;
	else if (container_stop(&c, t && *t ? atoi(t) : 10, &err) < 0)
		api_error(resp, 500, "%s", err.msg);
	else
		resp->status = 204;
	container_free(&c);
}

void api_container_kill(const struct api_req *req, struct api_resp *resp)
{
	const char *sig = req->query ? req->query(req->query_ctx, "signal") : NULL;
	struct container c = { 0 };
	struct err err = { 0 };
	_cleanup_json_ json_t *st = NULL;

	if (!find(req, resp, &c))
		return;
	st = api_container_state(req->ctx->root, c.id);
	if (strcmp(status_of(st), "running"))
		api_error(resp, 409, "Container %s is not running", c.id);
	else if (container_kill(&c, sig && *sig ? sig : NULL, &err) < 0)
		api_error(resp, strstr(err.msg, "invalid signal") ? 400 : 500, "%s", err.msg);
	else
		resp->status = 204;
	container_free(&c);
}

void api_container_restart(const struct api_req *req, struct api_resp *resp)
{
	const char *t = req->query ? req->query(req->query_ctx, "t") : NULL;
	struct container c = { 0 };
	struct err err = { 0 };
	_cleanup_json_ json_t *st = NULL;

	if (!find(req, resp, &c))
		return;
	st = api_container_state(req->ctx->root, c.id);
	if ((!strcmp(status_of(st), "running") &&
	     container_stop(&c, t && *t ? atoi(t) : 10, &err) < 0) ||
	    api_self_run(req->ctx, (const char *[]){ "start", c.id, NULL }, &err) < 0)
		api_error(resp, 500, "%s", err.msg);
	else
		resp->status = 204;
	container_free(&c);
}

void api_container_delete(const struct api_req *req, struct api_resp *resp)
{
	struct container c = { 0 };
	struct err err = { 0 };
	struct attach *a;
	bool force = api_query_bool(req, "force"), volumes = api_query_bool(req, "v");
	_cleanup_json_ json_t *st = NULL;

	if (!find(req, resp, &c))
		return;
	st = api_container_state(req->ctx->root, c.id);
	if (!force && !strcmp(status_of(st), "running")) {
		api_error(resp, 409, "You cannot remove a running container %s. Stop the container "
			  "before attempting removal or force remove", c.id);
		container_free(&c);
		return;
	}
	while ((a = attach_take(c.id)))
		attach_free(a);
	if ((volumes ? container_remove_volumes(req->ctx->root, &c, force, &err)
		     : container_remove(req->ctx->root, &c, force, &err)) < 0)
		api_error(resp, 500, "%s", err.msg);
	else
		resp->status = 204;
	container_free(&c);
}

void api_container_resize(const struct api_req *req, struct api_resp *resp)
{
	struct container c = { 0 };

	const char *h = req->query(req->query_ctx, "h"), *w = req->query(req->query_ctx, "w");

	if (!find(req, resp, &c))
		return;
	/* The terminal of the session attached to it (docker run -it); a
	 * container without one takes the resize as docker's does: 200. */
	if (h && w)
		api_session_resize(c.id, (unsigned short)atoi(h), (unsigned short)atoi(w));
	container_free(&c);
	resp->status = 200;
}

/* ---- wait ---- */

struct waiter {
	char *root, id[65], *condition;
	char since[64];             /* FinishedAt when asked: next-exit wants another */
	bool sent;
	struct api_client client;
};

static ssize_t wait_read(void *cls, char *buf, size_t max)
{
	struct waiter *w = cls;
	long long code = 0;

	if (w->sent)
		return 0;
	for (;;) {
		_cleanup_json_ json_t *st = api_container_state(w->root, w->id);
		const char *fin;

		if (!st) {
			int recorded, tries;

			/* removed: what it exited with, as its start -a said it */
			for (tries = 0; tries < 40 && !exit_lookup(w->id, &recorded); tries++)
				sleep_ms(POLL_MS);
			if (tries < 40)
				code = recorded;
			break;
		}
		code = json_integer_value(json_object_get(st, "ExitCode"));
		fin = json_string_value(json_object_get(st, "FinishedAt")) ?: "";
		if (strcmp(w->condition, "removed") && strcmp(status_of(st), "running") &&
		    (strcmp(w->condition, "next-exit") || strcmp(fin, w->since)))
			break;
		if (api_client_gone(&w->client))
			return -1;          /* docker run -d leaves its wait behind */
		sleep_ms(POLL_MS);
	}
	w->sent = true;
	return snprintf(buf, max, "{\"StatusCode\":%lld,\"Error\":null}\n", code);
}

static void waiter_free(void *cls)
{
	struct waiter *w = cls;

	free(w->root);
	free(w->condition);
	free(w);
}

void api_container_wait(const struct api_req *req, struct api_resp *resp)
{
	const char *cond = req->query ? req->query(req->query_ctx, "condition") : NULL;
	struct container c = { 0 };
	struct waiter *w;
	_cleanup_json_ json_t *st = NULL;

	if (!cond || !*cond)
		cond = "not-running";
	if (strcmp(cond, "not-running") && strcmp(cond, "next-exit") && strcmp(cond, "removed")) {
		api_error(resp, 400, "invalid condition: \"%s\"", cond);
		return;
	}
	if (!find(req, resp, &c))
		return;
	st = api_container_state(req->ctx->root, c.id);
	w = calloc(1, sizeof(*w));
	w->client = api_client_of(req);
	w->root = xstrdup(req->ctx->root);
	w->condition = xstrdup(cond);
	snprintf(w->id, sizeof(w->id), "%s", c.id);
	snprintf(w->since, sizeof(w->since), "%s",
		 json_string_value(json_object_get(st, "FinishedAt")) ?: "");
	container_free(&c);
	resp->status = 200;
	resp->content_type = "application/json";
	resp->reader = wait_read;
	resp->reader_cls = w;
	resp->reader_free = waiter_free;
}

