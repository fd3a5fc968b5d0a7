/* Images in and out of the store through the isobox command: pull (and
 * import) as POST /images/create, push, save (GET .../get), load. Each is
 * `isobox ...` spawned, its output the response (stream.h: api_child_body):
 * a pull unpacks layers with the cwd changed and forks, which this threaded
 * server does not do in itself. */
#include "api/api.h"

#include <string.h>

#include "api/stream.h"
#include "engine/image.h"
#include "engine/registry.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/strv.h"

#define SAVE_NAMES_MAX 256
#define IMPORT_CHANGES_MAX 64

static const char *query(const struct api_req *req, const char *key)
{
	const char *v = req->query ? req->query(req->query_ctx, key) : NULL;

	return v && *v ? v : NULL;
}

/* ref (and ?tag=) as the command takes it: "NAME:TAG", "NAME@DIGEST", or
 * the name alone for every tag (docker's empty tag). */
static char *ref_with_tag(const char *ref, const char *tag)
{
	if (!tag)
		return xstrdup(ref);
	return xasprintf("%s%s%s", ref, strchr(tag, ':') ? "@" : ":", tag);
}

/* `isobox pull|push --json-progress REF` with the request's credentials:
 * docker's JSON messages; a reference without a tag is every tag. */
static void transfer(const struct api_req *req, struct api_resp *resp, const char *verb,
		     const char *ref, const char *platform)
{
	char *docker_config = NULL;
	struct strv args = { 0 };

	if (api_registry_auth(req, ref, &docker_config, resp) < 0)
		return;
	strv_push(&args, verb);
	strv_push(&args, "--json-progress");
	if (platform) {
		strv_push(&args, "--platform");
		strv_push(&args, platform);
	}
	if (!registry_ref_has_tag(ref))
		strv_push(&args, "--all-tags");
	strv_push(&args, "--");
	strv_push(&args, ref);
	api_child_body(req->ctx, strv_get(&args), -1, docker_config, API_BODY_JSON, resp);
	strv_free(&args);
}

/* POST /images/create?fromSrc=-: the body is a rootfs tarball. */
static void import_body(const struct api_req *req, struct api_resp *resp)
{
	const char *src = query(req, "fromSrc"), *repo = query(req, "repo");
	const char *changes[IMPORT_CHANGES_MAX];
	size_t n_changes = req->query_all ? req->query_all(req->query_ctx, "changes", changes,
							     IMPORT_CHANGES_MAX) : 0;
	_cleanup_free_ char *name = repo ? ref_with_tag(repo, query(req, "tag")) : NULL;
	struct strv args = { 0 };

	if (strcmp(src, "-")) {
		api_error(resp, 400, "isobox imports the request's body only (fromSrc=-), "
			  "not %s", src);
		return;
	}
	strv_push(&args, "import");
	if (query(req, "message")) {
		strv_push(&args, "--message");
		strv_push(&args, query(req, "message"));
	}
	for (size_t i = 0; i < n_changes; i++) {
		strv_push(&args, "--change");
		strv_push(&args, changes[i]);
	}
	strv_push(&args, "--");
	strv_push(&args, "-");
	if (name)
		strv_push(&args, name);
	api_child_body(req->ctx, strv_get(&args), req->body_fd, NULL, API_BODY_STATUS_LINES,
		       resp);
	strv_free(&args);
}

/* POST /images/create: a pull (fromImage, tag, platform), else an import. */
void api_image_create(const struct api_req *req, struct api_resp *resp)
{
	const char *image = query(req, "fromImage"), *tag = query(req, "tag");
	const char *platform = query(req, "platform");
	_cleanup_free_ char *ref = NULL;

	if (!image && query(req, "fromSrc")) {
		import_body(req, resp);
		return;
	}
	if (!image) {
		api_error(resp, 400, "fromImage or fromSrc is required");
		return;
	}
	ref = ref_with_tag(image, registry_ref_has_tag(image) ? NULL : tag);
	transfer(req, resp, "pull", ref, platform);
}

/* POST /images/{name}/push?tag=: no tag, every tag of the repository. */
void api_image_push(const struct api_req *req, struct api_resp *resp)
{
	_cleanup_free_ char *ref = ref_with_tag(req->params[0], query(req, "tag"));

	transfer(req, resp, "push", ref, NULL);
}

/* GET /images/{name}/get, GET /images/get?names=A&names=B: one tar. */
void api_images_save(const struct api_req *req, struct api_resp *resp)
{
	const char *names[SAVE_NAMES_MAX];
	size_t n = 0;
	struct strv args = { 0 };

	if (req->n_params)
		names[n++] = req->params[0];
	else if (req->query_all)
		n = req->query_all(req->query_ctx, "names", names, SAVE_NAMES_MAX);
	if (!n) {
		api_error(resp, 400, "no image to save: names= is required");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		_cleanup_json_ json_t *img = NULL;
		struct err err = { 0 };

		if (image_inspect(req->ctx->root, names[i], &img, &err) < 0) {
			api_image_error(resp, names[i], &err);
			return;
		}
	}
	strv_push(&args, "save");
	strv_push(&args, "--");
	for (size_t i = 0; i < n; i++)
		strv_push(&args, names[i]);
	api_child_body(req->ctx, strv_get(&args), -1, NULL, API_BODY_RAW, resp);
	strv_free(&args);
}

/* POST /images/load: the body is an image archive (docker save's or OCI's). */
void api_images_load(const struct api_req *req, struct api_resp *resp)
{
	const char *args[] = { "load", NULL };

	api_child_body(req->ctx, args, req->body_fd, NULL, API_BODY_STREAM_LINES, resp);
}
