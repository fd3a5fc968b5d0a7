/* /containers/json and /containers/{id}/json: the same containers, records
 * and inspect documents as the isobox command's. */
#include "api/api.h"

#include <stdlib.h>
#include <string.h>

#include "engine/container.h"
#include "engine/container_view.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/strv.h"
#include "api/stream.h"

/* "80/tcp": [{"HostIp", "HostPort"}] as the summary's [{IP, PrivatePort, PublicPort, Type}]. */
static json_t *summary_ports(json_t *ports)
{
	json_t *out = json_array(), *binds, *b;
	const char *key;
	size_t i;

	json_object_foreach(ports, key, binds) {
		int port = atoi(key);
		const char *slash = strchr(key, '/');
		const char *type = slash ? slash + 1 : "tcp";

		if (!json_array_size(binds)) {
			json_array_append_new(out, json_pack("{s:i, s:s}", "PrivatePort", port,
							     "Type", type));
			continue;
		}
		json_array_foreach(binds, i, b)
			json_array_append_new(out, json_pack(
				"{s:s, s:i, s:i, s:s}", "IP",
				json_string_value(json_object_get(b, "HostIp")) ?: "", "PrivatePort",
				port, "PublicPort",
				atoi(json_string_value(json_object_get(b, "HostPort")) ?: "0"), "Type",
				type));
	}
	return out;
}

/* docker's container summary, from the inspect object. */
static json_t *summary(json_t *c)
{
	json_t *state = json_object_get(c, "State"), *cfg = json_object_get(c, "Config");
	json_t *ns = json_object_get(c, "NetworkSettings");
	_cleanup_free_ char *cmd = container_command_text(c);
	char status[96];
	long long sec = 0;
	long nsec;

	container_status_text(state, status, sizeof(status));
	time_parse_rfc3339(json_string_value(json_object_get(c, "Created")), &sec, &nsec);
	return json_pack("{s:O, s:[O], s:s, s:O, s:s, s:I, s:o, s:O, s:O, s:s, s:{s:s},"
			 " s:{s:O}, s:O}",
			 "Id", json_object_get(c, "Id"), "Names", json_object_get(c, "Name"),
			 "Image", json_string_value(json_object_get(cfg, "Image")) ?: "",
			 "ImageID", json_object_get(c, "Image") ?: json_null(), "Command", cmd,
			 "Created", (json_int_t)sec, "Ports",
			 summary_ports(json_object_get(ns, "Ports")), "Labels",
			 json_object_get(cfg, "Labels") ?: json_object(), "State",
			 json_object_get(state, "Status"), "Status", status, "HostConfig",
			 "NetworkMode",
			 json_string_value(json_object_get(json_object_get(c, "HostConfig"),
							   "NetworkMode")) ?: "default",
			 "NetworkSettings", "Networks",
			 json_object_get(ns, "Networks") ?: json_object(), "Mounts",
			 json_object_get(c, "Mounts") ?: json_array());
}

/* The container's State (inspect's), or NULL once it is gone. */
json_t *api_container_state(const char *root, const char *id)
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

void api_containers_list(const struct api_req *req, struct api_resp *resp)
{
	const char *f = req->query ? req->query(req->query_ctx, "filters") : NULL;
	_cleanup_json_ json_t *list = NULL, *filters = NULL;
	struct err err = { 0 };
	json_t *out, *c;
	size_t i;

	if (f && *f && api_filters_parse(API_FILTERS_CONTAINERS, f, &filters, resp) < 0)
		return;
	if (container_list(req->ctx->root, api_query_bool(req, "all"), &list, &err) < 0) {
		api_error_from(resp, &err);
		return;
	}
	out = json_array();
	json_array_foreach(list, i, c)
		if (!filters || api_filters_match(API_FILTERS_CONTAINERS, c, filters))
			json_array_append_new(out, summary(c));
	resp->status = 200;
	resp->json = out;
}

void api_container_inspect(const struct api_req *req, struct api_resp *resp)
{
	struct container c = { 0 };
	struct err err = { 0 };
	json_t *out = NULL;

	if (container_find(req->ctx->root, req->params[0], &c, &err) < 0 ||
	    container_inspect(&c, &out, &err) < 0) {
		container_free(&c);
		api_error_from(resp, &err);
		return;
	}
	container_free(&c);
	resp->status = 200;
	resp->json = out;
}

/* POST /containers/{id}/rename?name=NEW: 204; 409 when another has it. */
void api_container_rename(const struct api_req *req, struct api_resp *resp)
{
	const char *name = req->query(req->query_ctx, "name");
	struct container c = { 0 };
	struct err err = { 0 };

	if (container_find(req->ctx->root, req->params[0], &c, &err) < 0) {
		api_error_from(resp, &err);
		return;
	}
	if (container_rename(req->ctx->root, &c, name ? name : "", &err) == 0)
		resp->status = 204;
	else if (strstr(err.msg, "is already in use"))
		api_error(resp, 409, "%s", err.msg);
	else if (strstr(err.msg, "Invalid container name") || strstr(err.msg, "names may") ||
		 strstr(err.msg, "same name"))
		api_error(resp, 400, "%s", err.msg);
	else
		api_error_from(resp, &err);
	container_free(&c);
}

/* GET /containers/{id}/top?ps_args=: `isobox top --json` (a VM's ps runs in
 * its guest, through an exec the command makes). */
void api_container_top(const struct api_req *req, struct api_resp *resp)
{
	const char *ps_args = req->query(req->query_ctx, "ps_args");
	_cleanup_free_ char *words = xstrdup(ps_args ? ps_args : "");
	_cleanup_free_ char *out = NULL;
	struct strv args = { 0 };
	struct err err = { 0 };
	char *save = NULL, *w;
	const char *msg;
	int r;

	strv_push(&args, "top");
	strv_push(&args, "--json");
	strv_push(&args, req->params[0]);
	for (w = strtok_r(words, " ", &save); w; w = strtok_r(NULL, " ", &save))
		strv_push(&args, w);
	r = api_self_call(req->ctx, strv_get(&args), -1, NULL, &out, &err);
	strv_free(&args);
	if (r == 0 && (resp->json = json_loads(out, 0, NULL))) {
		resp->status = 200;
		return;
	}
	if (r == 0) {
		api_error(resp, 500, "isobox top printed no table");
		return;
	}
	msg = api_child_said(&err);
	api_error(resp, strstr(msg, "is not running") ? 409 :
		  !strncmp(msg, "No such container", 17) ? 404 : 500, "%s", msg);
}
