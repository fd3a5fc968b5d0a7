/* The images of the store the isobox command uses: list, inspect, tag,
 * history, remove; a build is refused with what to do instead. */
#include "api/api.h"

#include <string.h>

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

/* An engine error about the image ref names: 404 when it is missing, 409 a
 * conflict, 400 a malformed reference. */
static void image_error(struct api_resp *resp, const char *ref, const struct err *err)
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
		image_error(resp, req->params[0], &err);
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
		image_error(resp, req->params[0], &err);
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
		image_error(resp, req->params[0], &err);
		return;
	}
	resp->status = 200;
	resp->json = report;
}

/* POST /build: isobox has no builder. */
void api_build(const struct api_req *req, struct api_resp *resp)
{
	api_error(resp, 501, "isobox serve builds no images: build with docker or buildah "
		  "elsewhere, then `docker save IMAGE | isobox load` (or push it to a registry "
		  "and `isobox pull` it)");
}
