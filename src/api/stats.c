/* GET /containers/{id}/stats: docker's stats, one sample (stream=false: two
 * a second apart, the first as precpu_stats, so the client can tell a CPU
 * percentage; one-shot=true: one at once) or a line a second until the
 * container is gone. */
#include "api/api.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/container.h"
#include "util/cleanup.h"
#include "util/fs.h"

#define INTERVAL_MS 1000

struct stats_reader {
	char *root, *id;
	json_t *prev;               /* the sample before, or NULL */
	struct api_pending pending;
	struct api_client client;
};

/* A sample of id's with prev's cpu_stats and read as precpu_stats and
 * preread; NULL once the container is gone. */
static json_t *sample(const char *root, const char *id, json_t *prev, struct err *err)
{
	struct container c = { 0 };
	json_t *s = NULL;

	if (container_find(root, id, &c, err) < 0)
		return NULL;
	if (container_stats(&c, &s, err) == 0 && prev) {
		json_object_set(s, "precpu_stats", json_object_get(prev, "cpu_stats"));
		json_object_set(s, "preread", json_object_get(prev, "read"));
	}
	container_free(&c);
	return s;
}

static void sleep_ms(long ms)
{
	nanosleep(&(struct timespec){ ms / 1000, (ms % 1000) * 1000000L }, NULL);
}

static ssize_t stats_read(void *cls, char *buf, size_t max)
{
	struct stats_reader *r = cls;
	struct err err = { 0 };
	_cleanup_free_ char *line = NULL;
	json_t *s;

	if (!r->pending.len) {
		if (r->prev)
			sleep_ms(INTERVAL_MS);
		if (api_client_gone(&r->client))
			return -1;
		s = sample(r->root, r->id, r->prev, &err);
		if (!s)
			return 0;
		json_decref(r->prev);
		r->prev = s;
		line = json_dumps(s, JSON_COMPACT);
		if (!line)
			return -1;
		api_pending_add(&r->pending, line, strlen(line));
		api_pending_add(&r->pending, "\n", 1);
	}
	return (ssize_t)api_pending_take(&r->pending, buf, max);
}

static void stats_free(void *cls)
{
	struct stats_reader *r = cls;

	json_decref(r->prev);
	api_pending_free(&r->pending);
	free(r->root);
	free(r->id);
	free(r);
}

void api_container_stats(const struct api_req *req, struct api_resp *resp)
{
	const char *stream = req->query(req->query_ctx, "stream");
	struct container c = { 0 };
	struct err err = { 0 };
	struct stats_reader *r;
	json_t *first;

	if (container_find(req->ctx->root, req->params[0], &c, &err) < 0) {
		api_error_from(resp, &err);
		return;
	}
	if (stream && (!strcmp(stream, "0") || !strcasecmp(stream, "false"))) {
		first = sample(req->ctx->root, c.id, NULL, &err);
		if (first && !api_query_bool(req, "one-shot")) {
			sleep_ms(INTERVAL_MS);
			resp->json = sample(req->ctx->root, c.id, first, &err);
			json_decref(first);
		} else {
			resp->json = first;
		}
		container_free(&c);
		if (!resp->json)
			api_error_from(resp, &err);
		else
			resp->status = 200;
		return;
	}
	r = calloc(1, sizeof(*r));
	if (!r) {
		container_free(&c);
		api_error(resp, 500, "out of memory");
		return;
	}
	r->client = api_client_of(req);
	r->root = xstrdup(req->ctx->root);
	r->id = xstrdup(c.id);
	container_free(&c);
	resp->status = 200;
	resp->content_type = "application/json";
	resp->reader = stats_read;
	resp->reader_cls = r;
	resp->reader_free = stats_free;
}
