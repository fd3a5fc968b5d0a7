/* /images/json and /images/{name}/json: the store the isobox command uses. */
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

void api_image_inspect(const struct api_req *req, struct api_resp *resp)
{
	struct err err = { 0 };
	json_t *img = NULL;

	if (image_inspect(req->ctx->root, req->params[0], &img, &err) < 0) {
		if (strstr(err.msg, "not found"))
			api_error(resp, 404, "No such image: %s", req->params[0]);
		else
			api_error_from(resp, &err);
		return;
	}
	resp->status = 200;
	resp->json = img;
}
