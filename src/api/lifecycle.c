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

#include "engine/container.h"
#include "util/cleanup.h"
#include "util/fs.h"

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

/* The container's State (inspect's), or NULL once it is gone. */
static json_t *state_of(const char *root, const char *id)
{
	struct container c = { 0 };
	struct err err = { 0 };
	json_t *doc = NULL, *st;

	if (container_find(root, id, &c, &err) < 0 || container_inspect(&c, &doc, &err) < 0) {
		container_free(&c);
		return NULL;
	}
	container_free(&c);
	st = json_incref(json_object_get(doc, "State"));
	json_decref(doc);
	return st;
}

static const char *status_of(json_t *st)
{
	return json_string_value(json_object_get(st, "Status")) ?: "";
}

/* ---- the isobox command as a child ---- */

#define SELF_ARGS 16

static size_t self_argv(const struct api_ctx *ctx, const char *argv[SELF_ARGS])
{
	size_t n = 0;

	argv[n++] = "isobox";
	argv[n++] = "--root";
	argv[n++] = ctx->root;
	if (ctx->config) {
		argv[n++] = "--config";
		argv[n++] = ctx->config;
	}
	if (ctx->default_isolation) {
		argv[n++] = "--default-isolation";
		argv[n++] = ctx->default_isolation;
	}
	return n;
}

/* stdio from io[] (-1: /dev/null); the child's pid, or -1. */
static pid_t self_spawn(const char *const *argv, const int io[3], struct err *err)
{
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int i, r;

	posix_spawn_file_actions_init(&fa);
	for (i = 0; i < 3; i++) {
		if (io[i] >= 0)
			posix_spawn_file_actions_adddup2(&fa, io[i], i);
		else
			posix_spawn_file_actions_addopen(&fa, i, "/dev/null", O_RDWR, 0);
	}
	r = posix_spawn(&pid, "/proc/self/exe", &fa, NULL, (char *const *)argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	return r ? err_sys(err, r, "run isobox") : pid;
}

static int child_wait(pid_t pid)
{
	int status = 0;

	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* `isobox ARGS...` to the end; what it said on stderr, first line, in err. */
static int self_run(const struct api_ctx *ctx, const char *const *args, struct err *err)
{
	const char *argv[SELF_ARGS + 8];
	size_t n = self_argv(ctx, argv);
	char text[sizeof(err->msg)];
	int errp[2], code;
	ssize_t len;
	pid_t pid;

	while (*args && n < SELF_ARGS + 7)
		argv[n++] = *args++;
	argv[n] = NULL;
	if (pipe2(errp, O_CLOEXEC) < 0)
		return err_sys(err, errno, "pipe");
	pid = self_spawn(argv, (int[3]){ -1, -1, errp[1] }, err);
	close(errp[1]);
	if (pid < 0) {
		close(errp[0]);
		return -1;
	}
	len = read_full(errp[0], text, sizeof(text) - 1);
	close(errp[0]);
	code = child_wait(pid);
	if (code == 0)
		return 0;
	text[len > 0 ? len : 0] = 0;
	text[strcspn(text, "\n")] = 0;
	return err_set(err, "%s", !strncmp(text, "isobox: ", 8) ? text + 8 :
				  *text ? text : "isobox failed");
}

/* ---- attach ---- */

struct attach {
	char id[65];
	int sock;                   /* the hijacked connection */
	void *urh;
	bool want_stdin, tty;
	bool failed;                /* given up on: on_upgrade closes it */
	char *early;                /* stdin that came with the request */
	size_t early_len;
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
	while (a && a->sock < 0 &&
	       pthread_cond_timedwait(&attach_ready, &attach_lock, &until) == 0)
		;
	if (a && a->sock < 0) {
		a->failed = true;    /* on_upgrade, should it come, closes it */
		a = NULL;
	}
	pthread_mutex_unlock(&attach_lock);
	return a;
}

static void attach_free(struct attach *a)
{
	if (a->urh)
		api_upgrade_close(a->urh);
	free(a->early);
	free(a);
}

static void on_upgrade(void *cls, int sock, void *urh, const char *extra, size_t len)
{
	struct attach *a = cls;
	bool failed;

	/* MHD's sockets are non-blocking; the pumps want to wait on theirs */
	fcntl(sock, F_SETFL, fcntl(sock, F_GETFL) & ~O_NONBLOCK);
	pthread_mutex_lock(&attach_lock);
	if (len) {
		a->early = xmalloc(len);
		memcpy(a->early, extra, len);
		a->early_len = len;
	}
	a->urh = urh;
	a->sock = sock;
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

void api_container_attach(const struct api_req *req, struct api_resp *resp)
{
	struct container c = { 0 };
	struct attach *a;
	_cleanup_json_ json_t *st = NULL;

	if (!find(req, resp, &c))
		return;
	st = state_of(req->ctx->root, c.id);
	if (!strcmp(status_of(st), "running")) {
		api_error(resp, 409, "attaching to a running container is not supported yet: "
			  "attach before start (docker run, docker start -a)");
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
	a->sock = -1;
	a->want_stdin = api_query_bool(req, "stdin") &&
			json_is_true(json_object_get(json_object_get(c.record, "Config"), "OpenStdin"));
	a->tty = json_is_true(json_object_get(json_object_get(c.record, "Config"), "Tty"));
	container_free(&c);
	if (!attach_register(a)) {
		free(a);
		api_error(resp, 503, "too many attaches wait for their containers' start");
		return;
	}
	resp->status = 101;
	resp->content_type = a->tty ? "application/vnd.docker.raw-stream"
				    : "application/vnd.docker.multiplexed-stream";
	resp->on_upgrade = on_upgrade;
	resp->upgrade_cls = a;
}

/* One stream onto the connection: raw with a TTY, else docker's frames
 * {type, 0, 0, 0, size big-endian} (1 stdout, 2 stderr). */
struct pump {
	int from, to;
	unsigned char type;
	pthread_mutex_t *lock;
	char *said;                 /* the first bytes, kept (a failed start's why) */
	size_t said_max, *said_len;
};

static int send_all(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n) {
		ssize_t w = send(fd, c, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

static void *pump_out(void *arg)
{
	struct pump *p = arg;
	unsigned char buf[8 + 32768];
	bool gone = false;
	ssize_t n;

	for (;;) {
		n = read(p->from, buf + 8, sizeof(buf) - 8);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		pthread_mutex_lock(p->lock);
		if (p->said && *p->said_len < p->said_max) {
			size_t k = p->said_max - *p->said_len < (size_t)n ? p->said_max - *p->said_len
									  : (size_t)n;

			memcpy(p->said + *p->said_len, buf + 8, k);
			*p->said_len += k;
		}
		pthread_mutex_unlock(p->lock);
		if (gone)
			continue;      /* the client left: drain, the container goes on */
		buf[0] = p->type;
		buf[1] = buf[2] = buf[3] = 0;
		buf[4] = (unsigned char)((size_t)n >> 24);
		buf[5] = (unsigned char)((size_t)n >> 16);
		buf[6] = (unsigned char)((size_t)n >> 8);
		buf[7] = (unsigned char)n;
		pthread_mutex_lock(p->lock);
		gone = (p->type ? send_all(p->to, buf, (size_t)n + 8)
				: send_all(p->to, buf + 8, (size_t)n)) < 0;
		pthread_mutex_unlock(p->lock);
	}
	close(p->from);
	return NULL;
}

/* The client's stdin into the container until it half-closes. */
static void *pump_in(void *arg)
{
	struct pump *p = arg;
	char buf[32768];
	ssize_t n;

	for (;;) {
		n = recv(p->from, buf, sizeof(buf), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || write_all(p->to, buf, (size_t)n) < 0)
			break;
	}
	close(p->to);
	return NULL;
}

/* Shared by the session's thread and the start that waits on it: the last
 * to let go frees it. */
struct session {
	struct attach *a;
	pid_t pid;
	int in_w, out_r, err_r;
	atomic_bool done;
	atomic_int refs;
	pthread_mutex_t lock;       /* one frame at a time on the connection; said */
	char said[512];
	size_t said_len;
};

static void session_put(struct session *s)
{
	if (atomic_fetch_sub(&s->refs, 1) == 1)
		free(s);
}

static void *session_run(void *arg)
{
	struct session *s = arg;
	struct pump out = { .from = s->out_r, .to = s->a->sock, .type = s->a->tty ? 0 : 1,
			    .lock = &s->lock, .said = s->said, .said_max = sizeof(s->said) - 1,
			    .said_len = &s->said_len };
	struct pump err = { .from = s->err_r, .to = s->a->sock, .type = 2, .lock = &s->lock,
			    .said = s->said, .said_max = sizeof(s->said) - 1,
			    .said_len = &s->said_len };
	struct pump in = { .from = s->a->sock, .to = s->in_w };
	pthread_t t_out, t_err, t_in;
	bool has_err = s->err_r >= 0, has_in = s->in_w >= 0;

	signal(SIGPIPE, SIG_IGN);
	if (has_in && s->a->early_len)
		write_all(s->in_w, s->a->early, s->a->early_len);
	pthread_create(&t_out, NULL, pump_out, &out);
	if (has_err)
		pthread_create(&t_err, NULL, pump_out, &err);
	if (has_in)
		pthread_create(&t_in, NULL, pump_in, &in);
	pthread_join(t_out, NULL);
	if (has_err)
		pthread_join(t_err, NULL);
	exit_record(s->a->id, child_wait(s->pid));
	atomic_store(&s->done, true);
	/* the container is done: a stdin still open ends with the connection */
	shutdown(s->a->sock, SHUT_RDWR);
	if (has_in)
		pthread_join(t_in, NULL);
	attach_free(s->a);
	session_put(s);
	return NULL;
}

/* start -a [-i] with the attach's streams; 0 once the container left "created". */
static int start_attached(const struct api_req *req, const char *id, struct attach *a,
			  struct err *err)
{
	const char *argv[SELF_ARGS + 4];
	size_t n = self_argv(req->ctx, argv);
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, errp[2] = { -1, -1 };
	struct session *s;
	pthread_t t;
	long waited;

	argv[n++] = "start";
	argv[n++] = "-a";
	if (a->want_stdin)
		argv[n++] = "-i";
	argv[n++] = id;
	argv[n] = NULL;
	if ((a->want_stdin && pipe2(in, O_CLOEXEC) < 0) || pipe2(out, O_CLOEXEC) < 0 ||
	    (!a->tty && pipe2(errp, O_CLOEXEC) < 0))
		return err_sys(err, errno, "pipe");
	s = calloc(1, sizeof(*s));
	pthread_mutex_init(&s->lock, NULL);
	atomic_init(&s->refs, 2);
	s->a = a;
	s->in_w = in[1];
	s->out_r = out[0];
	s->err_r = errp[0];
	s->pid = self_spawn(argv, (int[3]){ in[0], out[1], a->tty ? out[1] : errp[1] }, err);
	if (in[0] >= 0)
		close(in[0]);
	close(out[1]);
	if (errp[1] >= 0)
		close(errp[1]);
	if (s->pid < 0) {
		if (in[1] >= 0)
			close(in[1]);
		close(out[0]);
		if (errp[0] >= 0)
			close(errp[0]);
		free(s);
		return -1;
	}
	if (pthread_create(&t, NULL, session_run, s) != 0) {
		kill(s->pid, SIGTERM);
		return err_set(err, "start the attach's thread");
	}
	pthread_detach(t);
	for (waited = 0; waited < START_WAIT_MS; waited += POLL_MS) {
		_cleanup_json_ json_t *st = state_of(req->ctx->root, id);

		if (!st || strcmp(status_of(st), "created")) {
			session_put(s);
			return 0;
		}
		if (atomic_load(&s->done)) {
			/* what the start said: docker's CLI makes 126 or 127 of it */
			pthread_mutex_lock(&s->lock);
			s->said[s->said_len] = 0;
			s->said[strcspn(s->said, "\r\n")] = 0;
			err_set(err, "%s", !strncmp(s->said, "isobox: ", 8) ? s->said + 8 :
					   *s->said ? s->said : "the container did not start");
			pthread_mutex_unlock(&s->lock);
			session_put(s);
			return -1;
		}
		sleep_ms(POLL_MS);
	}
	session_put(s);
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
	st = state_of(req->ctx->root, c.id);
	if (!strcmp(status_of(st), "running")) {
		resp->status = 304;
		container_free(&c);
		return;
	}
	a = attach_take(c.id);
	if (a ? start_attached(req, c.id, a, &err) < 0
	      : self_run(req->ctx, (const char *[]){ "start", c.id, NULL }, &err) < 0) {
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
	st = state_of(req->ctx->root, c.id);
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
	st = state_of(req->ctx->root, c.id);
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
	st = state_of(req->ctx->root, c.id);
	if ((!strcmp(status_of(st), "running") &&
	     container_stop(&c, t && *t ? atoi(t) : 10, &err) < 0) ||
	    self_run(req->ctx, (const char *[]){ "start", c.id, NULL }, &err) < 0)
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
	st = state_of(req->ctx->root, c.id);
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

	if (!find(req, resp, &c))
		return;
	container_free(&c);
	/* The size reaches the container's terminal only from a terminal of
	 * the isobox command's (docs/api.md, not yet): accepted, as docker
	 * accepts a resize of a container without one. */
	resp->status = 200;
}

/* ---- wait ---- */

struct waiter {
	char *root, id[65], *condition;
	char since[64];             /* FinishedAt when asked: next-exit wants another */
	bool sent;
};

static ssize_t wait_read(void *cls, char *buf, size_t max)
{
	struct waiter *w = cls;
	long long code = 0;

	if (w->sent)
		return 0;
	for (;;) {
		_cleanup_json_ json_t *st = state_of(w->root, w->id);
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
	st = state_of(req->ctx->root, c.id);
	w = calloc(1, sizeof(*w));
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

/* ---- logs ---- */

struct log_reader {
	char *root, id[65], *path;
	FILE *f;
	bool follow, out, err, tty, timestamps;
	char *pending;              /* a record made into bytes, not all sent yet */
	size_t pending_len, pending_off;
};

/* One json-file record as the stream carries it; NULL when not wanted. */
static char *log_record(struct log_reader *r, const char *line, size_t *len)
{
	_cleanup_json_ json_t *rec = json_loads(line, 0, NULL);
	const char *log = json_string_value(json_object_get(rec, "log"));
	const char *stream = json_string_value(json_object_get(rec, "stream")) ?: "stdout";
	const char *time = json_string_value(json_object_get(rec, "time")) ?: "";
	bool is_err = !strcmp(stream, "stderr");
	_cleanup_free_ char *text = NULL;
	size_t n;
	char *out;

	if (!log || (is_err ? !r->err : !r->out))
		return NULL;
	text = r->timestamps ? xasprintf("%s %s", time, log) : xstrdup(log);
	n = strlen(text);
	if (r->tty) {
		*len = n;
		return xstrdup(text);
	}
	out = xmalloc(n + 8);
	out[0] = is_err ? 2 : 1;
	out[1] = out[2] = out[3] = 0;
	out[4] = (char)(n >> 24);
	out[5] = (char)(n >> 16);
	out[6] = (char)(n >> 8);
	out[7] = (char)n;
	memcpy(out + 8, text, n);
	*len = n + 8;
	return out;
}

static ssize_t logs_read(void *cls, char *buf, size_t max)
{
	struct log_reader *r = cls;
	char *line = NULL;
	size_t cap = 0;

	for (;;) {
		if (r->pending) {
			size_t n = r->pending_len - r->pending_off;

			if (n > max)
				n = max;
			memcpy(buf, r->pending + r->pending_off, n);
			r->pending_off += n;
			if (r->pending_off == r->pending_len) {
				free(r->pending);
				r->pending = NULL;
			}
			free(line);
			return (ssize_t)n;
		}
		if (!r->f)
			r->f = fopen(r->path, "re");
		if (r->f) {
			long pos = ftell(r->f);
			ssize_t got = getline(&line, &cap, r->f);

			if (got > 0 && line[got - 1] == '\n') {
				r->pending = log_record(r, line, &r->pending_len);
				r->pending_off = 0;
				continue;
			}
			clearerr(r->f);
			fseek(r->f, pos, SEEK_SET);     /* half a record: written still */
		}
		if (!r->follow) {
			free(line);
			return 0;
		}
		{
			_cleanup_json_ json_t *st = state_of(r->root, r->id);

			if (!st || strcmp(status_of(st), "running")) {
				r->follow = false;      /* one more pass for what is left */
				continue;
			}
		}
		sleep_ms(POLL_MS);
	}
}

static void logs_free(void *cls)
{
	struct log_reader *r = cls;

	if (r->f)
		fclose(r->f);
	free(r->pending);
	free(r->root);
	free(r->path);
	free(r);
}

void api_container_logs(const struct api_req *req, struct api_resp *resp)
{
	struct container c = { 0 };
	struct log_reader *r;
	const char *tail = req->query ? req->query(req->query_ctx, "tail") : NULL;

	if (!find(req, resp, &c))
		return;
	r = calloc(1, sizeof(*r));
	r->root = xstrdup(req->ctx->root);
	snprintf(r->id, sizeof(r->id), "%s", c.id);
	r->path = xasprintf("%s/container.log", c.dir);
	r->follow = api_query_bool(req, "follow");
	r->out = api_query_bool(req, "stdout");
	r->err = api_query_bool(req, "stderr");
	r->timestamps = api_query_bool(req, "timestamps");
	r->tty = json_is_true(json_object_get(json_object_get(c.record, "Config"), "Tty"));
	container_free(&c);
	if (!r->out && !r->err) {
		logs_free(r);
		api_error(resp, 400, "You must choose at least one stream");
		return;
	}
	if (tail && *tail && strcmp(tail, "all")) {
		long want = atol(tail), total = 0;
		char *line = NULL;
		size_t cap = 0;

		r->f = fopen(r->path, "re");
		while (r->f && getline(&line, &cap, r->f) > 0)
			total++;
		if (r->f)
			rewind(r->f);
		for (total -= want; r->f && total > 0; total--)
			if (getline(&line, &cap, r->f) <= 0)
				break;
		free(line);
	}
	resp->status = 200;
	resp->content_type = r->tty ? "application/vnd.docker.raw-stream"
				    : "application/vnd.docker.multiplexed-stream";
	resp->reader = logs_read;
	resp->reader_cls = r;
	resp->reader_free = logs_free;
}
