/* The images of the store the isobox command uses: list, inspect, tag,
 * history, remove, prune; a build is refused with what to do instead
 * (pull, push, save, load: image_transfer.c). */
#include "api/api.h"

#include <string.h>

#include "engine/container.h"
#include "engine/image.h"
#include "util/cleanup.h"
#include "util/fs.h"

/* docker's image summary, from the inspect object. */
static json_t *summary(json_t *img, unsigned version)
{
	long long sec = 0;
	long nsec;
	json_t *labels = json_object_get(json_object_get(img, "Config"), "Labels");
	json_t *s;

	time_parse_rfc3339(json_string_value(json_object_get(img, "Created")), &sec, &nsec);
	s = json_pack("{s:O, s:s, s:O, s:O, s:I, s:O, s:i, s:O, s:i}", "Id",
		      json_object_get(img, "Id"), "ParentId", "", "RepoTags",
		      json_object_get(img, "RepoTags"), "RepoDigests",
		      json_object_get(img, "RepoDigests"), "Created", (json_int_t)sec, "Size",
		      json_object_get(img, "Size"), "SharedSize", -1, "Labels",
		      json_is_object(labels) ? labels : json_object(), "Containers", -1);
	if (s && version < 44)      /* VirtualSize went in 1.44 */
		json_object_set(s, "VirtualSize", json_object_get(img, "Size"));
	return s;
}

void api_images_list(const struct api_req *req, struct api_resp *resp)
{
	_cleanup_json_ json_t *rows = NULL, *seen = json_object();
	struct err err = { 0 };
	json_t *out, *row;
	size_t i;

	if (image_list(req->ctx->root, &rows, &err) < 0) {
		api_error_from(resp, &err);
		return;
	}
	out = json_array();
	json_array_foreach(rows, i, row) {
		const char *id = json_string_value(json_object_get(row, "Id"));
		json_t *img = NULL;

		if (!id || json_object_get(seen, id))
			continue;
		json_object_set_new(seen, id, json_true());
		if (image_inspect(req->ctx->root, id, &img, &err) < 0) {
			json_decref(out);
			api_error_from(resp, &err);
			return;
		}
		json_array_append_new(out, summary(img, req->version));
		json_decref(img);
	}
	resp->status = 200;
	resp->json = out;
}

void api_image_error(struct api_resp *resp, const char *ref, const struct err *err)
{
	if (strstr(err->msg, "not found") || strstr(err->msg, "No such image"))
		api_error(resp, 404, "No such image: %s", ref);
	else if (strstr(err->msg, "conflict"))
		api_error(resp, 409, "%s", err->msg);
	else if (strstr(err->msg, "invalid reference format"))
		api_error(resp, 400, "%s", err->msg);
	else
		api_error_from(resp, err);
}

/* A JSON document about the image the path names (inspect, history). */
static void image_json(const struct api_req *req, struct api_resp *resp,
		       int (*get)(const char *root, const char *ref, json_t **out,
				  struct err *err))
{
	struct err err = { 0 };
	json_t *out = NULL;

	if (get(req->ctx->root, req->params[0], &out, &err) < 0) {
		api_image_error(resp, req->params[0], &err);
		return;
	}
	resp->status = 200;
	resp->json = out;
}

void api_image_inspect(const struct api_req *req, struct api_resp *resp)
{
	image_json(req, resp, image_inspect);
}

/* POST /images/{name}/tag?repo=R&tag=T (T "latest" when missing): 201. */
void api_image_tag(const struct api_req *req, struct api_resp *resp)
{
	const char *repo = req->query(req->query_ctx, "repo");
	const char *tag = req->query(req->query_ctx, "tag");
	_cleanup_free_ char *target = NULL;
	struct err err = { 0 };

	if (!repo || !*repo) {
		api_error(resp, 400, "repository name must have at least one component");
		return;
	}
	target = xasprintf("%s:%s", repo, tag && *tag ? tag : "latest");
	if (image_tag(req->ctx->root, req->params[0], target, &err) < 0) {
		api_image_error(resp, req->params[0], &err);
		return;
	}
	resp->status = 201;
}

/* GET /images/{name}/history: docker's rows, newest first. */
void api_image_history(const struct api_req *req, struct api_resp *resp)
{
	image_json(req, resp, image_history);
}

/* DELETE /images/{name}?force=: docker's [{"Untagged"}, {"Deleted"}] report;
 * 409 while a container uses it (without force). */
void api_image_delete(const struct api_req *req, struct api_resp *resp)
{
	struct err err = { 0 };
	json_t *report = json_array();

	if (image_rmi(req->ctx->root, req->params[0], api_query_bool(req, "force"), report,
		      &err) < 0) {
		json_decref(report);
		api_image_error(resp, req->params[0], &err);
		return;
	}
	resp->status = 200;
	resp->json = report;
}

/* ?filters= of an image prune: {"dangling": ["false"]} (docker image prune
 * -a) prunes every unused image; without it, untagged ones. Other keys: 400,
 * as the command refuses --filter. */
static int prune_filters(const char *text, bool *all, struct api_resp *resp)
{
	_cleanup_json_ json_t *f = text && *text ? json_loads(text, 0, NULL) : json_object();
	const char *key, *value;
	json_t *v, *one;
	size_t i;

	if (!json_is_object(f)) {
		api_error(resp, 400, "invalid filter: %s", text);
		return -1;
	}
	json_object_foreach(f, key, v) {
		if (strcmp(key, "dangling")) {
			api_error(resp, 400, "isobox prunes images by the dangling filter only, "
				  "not '%s'", key);
			return -1;
		}
		if (json_is_array(v)) {
			json_array_foreach(v, i, one)
				if ((value = json_string_value(one)))
					*all = *all || !strcmp(value, "false") || !strcmp(value, "0");
		} else if (json_is_object(v)) {
			json_object_foreach(v, value, one)
				*all = *all || !strcmp(value, "false") || !strcmp(value, "0");
		}
	}
	return 0;
}

/* POST /images/prune: {"ImagesDeleted": [...] or null, "SpaceReclaimed"}. */
void api_images_prune(const struct api_req *req, struct api_resp *resp)
{
	json_t *report = json_array();
	unsigned long long reclaimed = 0;
	struct err err = { 0 };
	bool all = false;

	if (prune_filters(req->query(req->query_ctx, "filters"), &all, resp) < 0 ||
	    image_prune(req->ctx->root, all, container_image_in_use_cb, (void *)req->ctx->root,
			report, &reclaimed, &err) < 0) {
		if (err.kind)
			api_error_from(resp, &err);
		json_decref(report);
		return;
	}
	resp->status = 200;
	resp->json = json_pack("{s:o, s:I}", "ImagesDeleted",
			       json_array_size(report) ? report : (json_decref(report), json_null()),
			       "SpaceReclaimed", (json_int_t)reclaimed);
}

/* POST /build: isobox has no builder. */
void api_build(const struct api_req *req, struct api_resp *resp)
{
	api_error(resp, 501, "isobox serve builds no images: build with docker or buildah "
		  "elsewhere, then `docker save IMAGE | isobox load` (or push it to a registry "
		  "and `isobox pull` it)");
}
