/* GET /containers/{id}/logs: the json-file log the monitor writes, as
 * docker streams it (framed without a TTY), following until the container
 * stops; the same reader streams an attach to a running container. */
#include "api/api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/container.h"
#include "util/cleanup.h"
#include "util/fs.h"

#define POLL_MS 50

struct api_log {
	char *root, id[65], *path;
	FILE *f;
	bool follow, out, err, tty, timestamps;
	struct api_pending pending; /* a record made into bytes, not all sent yet */
	struct api_client client;
};

/* One json-file record as the stream carries it; NULL when not wanted. */
static char *log_record(struct api_log *r, const char *line, size_t *len)
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

ssize_t api_log_read(void *cls, char *buf, size_t max)
{
	struct api_log *r = cls;
	char *line = NULL;
	size_t cap = 0;

	for (;;) {
		if (r->pending.len) {
			free(line);
			return (ssize_t)api_pending_take(&r->pending, buf, max);
		}
		if (!r->f)
			r->f = fopen(r->path, "re");
		if (r->f) {
			long pos = ftell(r->f);
			ssize_t got = getline(&line, &cap, r->f);

			if (got > 0 && line[got - 1] == '\n') {
				size_t len;
				_cleanup_free_ char *rec = log_record(r, line, &len);

				if (rec)
					api_pending_add(&r->pending, rec, len);
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
			_cleanup_json_ json_t *st = api_container_state(r->root, r->id);

			if (!st || strcmp(json_string_value(json_object_get(st, "Status")) ?: "", "running")) {
				r->follow = false;      /* one more pass for what is left */
				continue;
			}
		}
		if (api_client_gone(&r->client)) {
			free(line);
			return -1;
		}
		nanosleep(&(struct timespec){ 0, POLL_MS * 1000000L }, NULL);
	}
}

void api_log_free(void *cls)
{
	struct api_log *r = cls;

	if (r->f)
		fclose(r->f);
	api_pending_free(&r->pending);
	free(r->root);
	free(r->path);
	free(r);
}

struct api_log *api_log_open(const char *root, const struct container *c, bool out,
				bool err, bool timestamps, bool follow, long tail,
				struct api_client client)
{
	struct api_log *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->client = client;
	r->root = xstrdup(root);
	snprintf(r->id, sizeof(r->id), "%s", c->id);
	r->path = xasprintf("%s/container.log", c->dir);
	r->follow = follow;
	r->out = out;
	r->err = err;
	r->timestamps = timestamps;
	r->tty = json_is_true(json_object_get(json_object_get(c->record, "Config"), "Tty"));
	if (tail >= 0) {                 /* past the lines before the last tail */
		long total = 0;
		char *line = NULL;
		size_t cap = 0;

		r->f = fopen(r->path, "re");
		while (r->f && getline(&line, &cap, r->f) > 0)
			total++;
		if (r->f)
			rewind(r->f);
		for (total -= tail; r->f && total > 0; total--)
			if (getline(&line, &cap, r->f) <= 0)
				break;
		free(line);                  /* no log yet: all that comes is new */
	}
	return r;
}

void api_container_logs(const struct api_req *req, struct api_resp *resp)
{
	const char *tail = req->query ? req->query(req->query_ctx, "tail") : NULL;
	struct container c = { 0 };
	struct err err = { 0 };
	struct api_log *r;
	bool out = api_query_bool(req, "stdout"), errs = api_query_bool(req, "stderr");

	if (container_find(req->ctx->root, req->params[0], &c, &err) < 0) {
		api_error_from(resp, &err);
		return;
	}
	if (!out && !errs) {
		container_free(&c);
		api_error(resp, 400, "You must choose at least one stream");
		return;
	}
	r = api_log_open(req->ctx->root, &c, out, errs, api_query_bool(req, "timestamps"),
			 api_query_bool(req, "follow"),
			 tail && *tail && strcmp(tail, "all") ? atol(tail) : -1,
			 api_client_of(req));
	container_free(&c);
	if (!r) {
		api_error(resp, 500, "out of memory");
		return;
	}
	resp->status = 200;
	resp->content_type = r->tty ? "application/vnd.docker.raw-stream"
				    : "application/vnd.docker.multiplexed-stream";
	resp->reader = api_log_read;
	resp->reader_cls = r;
	resp->reader_free = api_log_free;
}
