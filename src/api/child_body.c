/* A response body made by an isobox child (stream.h: api_child_body). */
#include "api/stream.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fs.h"
#include "util/strv.h"

#define LINE_MAX_BYTES (64u << 10)

struct child_body {
	pid_t pid;                       /* 0 once reaped */
	int out_fd, err_fd;
	enum api_child_body kind;
	struct api_pending pending;      /* made, not all sent yet */
	char *partial;                   /* _LINES: a line not ended yet */
	char *docker_config;             /* the request's credentials' dir, or NULL */
	size_t partial_len;
	bool ended;
};

/* docker's JSON message of one kind ("stream", ...) with text, a line. */
static void pending_message(struct child_body *b, const char *key, const char *text)
{
	_cleanup_json_ json_t *m = json_pack("{s:s}", key, text);
	_cleanup_free_ char *line = NULL;

	if (!strcmp(key, "error"))
		json_object_set_new(m, "errorDetail", json_pack("{s:s}", "message", text));
	line = json_dumps(m, JSON_COMPACT);
	if (!line)
		return;
	api_pending_add(&b->pending, line, strlen(line));
	api_pending_add(&b->pending, "\n", 1);
}

static bool by_lines(const struct child_body *b)
{
	return b->kind == API_BODY_STREAM_LINES || b->kind == API_BODY_STATUS_LINES;
}

/* The ended lines of data as {"stream"} or {"status"} messages. */
static void lines_add(struct child_body *b, const char *data, size_t len)
{
	bool stream = b->kind == API_BODY_STREAM_LINES;

	for (size_t i = 0; i < len; i++) {
		if (data[i] != '\n' && b->partial_len < LINE_MAX_BYTES) {
			b->partial = xrealloc(b->partial, b->partial_len + 2);
			b->partial[b->partial_len++] = data[i];
			continue;
		}
		if (data[i] != '\n')
			continue;                /* an endless line is cut */
		b->partial = xrealloc(b->partial, b->partial_len + 2);
		if (stream)
			b->partial[b->partial_len++] = '\n';
		b->partial[b->partial_len] = 0;
		pending_message(b, stream ? "stream" : "status", b->partial);
		b->partial_len = 0;
	}
}

/* The child's end: its exit code, and on a failure what it said. */
static int child_end(struct child_body *b, struct err *err)
{
	int code = api_child_end(b->pid, b->err_fd, err);

	b->pid = 0;
	close(b->err_fd);
	b->err_fd = -1;
	return code;
}

static ssize_t child_read(void *cls, char *buf, size_t max)
{
	struct child_body *b = cls;
	char chunk[32768];

	for (;;) {
		if (b->pending.len)
			return (ssize_t)api_pending_take(&b->pending, buf, max);
		if (b->ended)
			return 0;
		ssize_t n = read(b->out_fd, b->kind == API_BODY_RAW ? buf : chunk,
				 b->kind == API_BODY_RAW ? max : sizeof(chunk));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n > 0 && b->kind == API_BODY_RAW)
			return n;
		if (n > 0 && by_lines(b))
			lines_add(b, chunk, (size_t)n);
		else if (n > 0)
			api_pending_add(&b->pending, chunk, (size_t)n);
		if (n > 0)
			continue;
		struct err err = { 0 };

		b->ended = true;
		if (by_lines(b) && b->partial_len)
			lines_add(b, "\n", 1);
		if (child_end(b, &err) == 0)
			continue;
		if (b->kind == API_BODY_RAW)
			return -1;               /* a tar cut short: the client sees it */
		pending_message(b, "error", err.msg);
	}
}

static void child_free(void *cls)
{
	struct child_body *b = cls;

	if (b->pid > 0) {                /* the client left before the end */
		struct err ignore = { 0 };

		kill(b->pid, SIGTERM);
		child_end(b, &ignore);
	}
	if (b->out_fd >= 0)
		close(b->out_fd);
	if (b->err_fd >= 0)
		close(b->err_fd);
	api_pending_free(&b->pending);
	free(b->partial);
	if (b->docker_config)            /* the child has ended: no one reads it now */
		rm_rf(b->docker_config, &(struct err){ 0 });
	free(b->docker_config);
	free(b);
}

/* What a failure before any output answers: docker's 404 for what is not
 * there, 400 for a malformed reference, else 500. */
static unsigned status_of(const char *msg)
{
	if (!strncmp(msg, "No such ", 8) || strstr(msg, "not found") ||
	    strstr(msg, "repository does not exist"))
		return 404;
	if (!strncmp(msg, "invalid reference format", 24))
		return 400;
	return 500;
}

void api_child_body(const struct api_ctx *ctx, const char *const *args, int in_fd,
		    char *docker_config, enum api_child_body kind, struct api_resp *resp)
{
	struct strv argv = { 0 };
	struct child_body *b;
	struct err err = { 0 };
	int out[2], errp[2];
	char first[32768];
	ssize_t got;

	api_self_argv(ctx, &argv);
	while (*args)
		strv_push(&argv, *args++);
	if (pipe2(out, O_CLOEXEC) < 0) {
		strv_free(&argv);
		api_error(resp, 500, "pipe: %s", strerror(errno));
		goto drop_config;
	}
	if (pipe2(errp, O_CLOEXEC) < 0) {
		close(out[0]);
		close(out[1]);
		strv_free(&argv);
		api_error(resp, 500, "pipe: %s", strerror(errno));
		goto drop_config;
	}
	b = xmalloc(sizeof(*b));
	*b = (struct child_body){ .out_fd = out[0], .err_fd = errp[0], .kind = kind,
				  .docker_config = docker_config };
	b->pid = api_self_spawn_env(strv_get(&argv), (int[3]){ in_fd, out[1], errp[1] },
				    docker_config, &err);
	strv_free(&argv);
	close(out[1]);
	close(errp[1]);
	if (b->pid < 0) {
		b->pid = 0;
		child_free(b);
		api_error(resp, 500, "%s", err.msg);
		return;
	}
	/* The first output, or the end: a failure before any is an HTTP error. */
	while ((got = read(b->out_fd, first, sizeof(first))) < 0 && errno == EINTR)
		;
	if (got <= 0 && child_end(b, &err) != 0) {
		child_free(b);
		api_error(resp, status_of(err.msg), "%s", err.msg);
		return;
	}
	if (got > 0 && by_lines(b))
		lines_add(b, first, (size_t)got);
	else if (got > 0)
		api_pending_add(&b->pending, first, (size_t)got);
	else
		b->ended = true;
	resp->status = 200;
	resp->content_type = kind == API_BODY_RAW ? "application/x-tar" : "application/json";
	resp->reader = child_read;
	resp->reader_cls = b;
	resp->reader_free = child_free;
	return;
drop_config:
	if (docker_config)
		rm_rf(docker_config, &(struct err){ 0 });
	free(docker_config);
}
