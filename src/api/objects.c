/* Networks and volumes through the API: the same stores as `isobox network`
 * and `isobox volume`, docker's bodies and status codes. */
#include "api/api.h"

#include <string.h>

#include "engine/container.h"
#include "engine/network.h"
#include "engine/volume.h"
#include "util/cleanup.h"
#include "util/fs.h"

/* ?filters= for networks and volumes: name (a part of it, as docker), id
 * (a prefix), label (KEY or KEY=VALUE), driver; others 400. */
static const char *const object_keys[] = { "name", "id", "label", "driver" };

static int object_filters(const struct api_req *req, json_t **out, struct api_resp *resp)
{
	const char *f = req->query ? req->query(req->query_ctx, "filters") : NULL;
	const char *key;
	json_t *v;
	size_t i;

	*out = NULL;
	if (!f || !*f)
		return 0;
	*out = json_loads(f, 0, NULL);
	if (!json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		api_error(resp, 400, "invalid filter: %s", f);
		return -1;
	}
	json_object_foreach(*out, key, v) {
		bool known = false;

		for (i = 0; i < sizeof(object_keys) / sizeof(object_keys[0]); i++)
			known = known || !strcmp(key, object_keys[i]);
		if (!known) {
			api_error(resp, 400, "invalid filter '%s'", key);
			json_decref(*out);
			*out = NULL;
			return -1;
		}
	}
	return 0;
}

static bool object_one(json_t *o, const char *key, const char *want)
{
	if (!strcmp(key, "name"))
		return strstr(json_string_value(json_object_get(o, "Name")) ?: "", want) != NULL;
	if (!strcmp(key, "id"))
		return !strncmp(json_string_value(json_object_get(o, "Id")) ?: "", want,
				strlen(want));
	if (!strcmp(key, "driver"))
		return !strcmp(json_string_value(json_object_get(o, "Driver")) ?: "", want);
	{
		const char *eq = strchr(want, '=');
		_cleanup_free_ char *k = eq ? strndup(want, (size_t)(eq - want)) : xstrdup(want);
		json_t *v = json_object_get(json_object_get(o, "Labels"), k);

		return v && (!eq || !strcmp(json_string_value(v) ?: "", eq + 1));
	}
}

static bool object_matches(json_t *o, json_t *filters)
{
	size_t i, j;

	for (i = 0; filters && i < sizeof(object_keys) / sizeof(object_keys[0]); i++) {
		json_t *vals = json_object_get(filters, object_keys[i]), *v;
		const char *k;
		bool any = false, some = false;

		bool all = !strcmp(object_keys[i], "label");   /* labels: every one */

		if (json_is_array(vals)) {
			json_array_foreach(vals, j, v) {
				bool m = object_one(o, object_keys[i], json_string_value(v) ?: "");

				if (all && !m)
					return false;
				some = true;
				any = any || m;
			}
		} else {
			json_object_foreach(vals, k, v) {
				bool m = json_is_true(v) && object_one(o, object_keys[i], k);

				if (all && !m)
					return false;
				some = true;
				any = any || m;
			}
		}
		if (some && !any)
			return false;
	}
	return true;
}

static json_t *body_of(const struct api_req *req, struct api_resp *resp)
{
	json_t *b = req->body ? json_loadb(req->body, req->body_len, 0, NULL) : NULL;

	if (!json_is_object(b)) {
		json_decref(b);
		api_error(resp, 400, "the body must be a JSON object");
		return NULL;
	}
	return b;
}

static void strv_from_object(json_t *o, struct strv *s)
{
	const char *k;
	json_t *v;

	json_object_foreach(o, k, v) {
		_cleanup_free_ char *kv = xasprintf("%s=%s", k, json_string_value(v) ?: "");

		strv_push(s, kv);
	}
}

/* ---- networks ---- */

void api_networks_list(const struct api_req *req, struct api_resp *resp)
{
	_cleanup_json_ json_t *all = NULL, *filters = NULL;
	struct err err = { 0 };
	json_t *out, *n;
	size_t i;

	if (object_filters(req, &filters, resp) < 0)
		return;
	if (network_list(req->ctx->root, &all, &err) < 0) {
		api_error_from(resp, &err);
		return;
	}
	out = json_array();
	json_array_foreach(all, i, n)
		if (object_matches(n, filters))
			json_array_append(out, n);
	resp->status = 200;
	resp->json = out;
}

void api_network_inspect(const struct api_req *req, struct api_resp *resp)
{
	struct err err = { 0 };
	json_t *out = NULL;

	if (network_inspect(req->ctx->root, req->params[0], &out, &err) < 0) {
		api_error(resp, 404, "network %s not found", req->params[0]);
		return;
	}
	resp->status = 200;
	resp->json = out;
}

void api_network_create(const struct api_req *req, struct api_resp *resp)
{
	_cleanup_json_ json_t *b = body_of(req, resp);
	json_t *cfg;
	struct network_create_opts o = { 0 };
	_cleanup_free_ char *id = NULL;
	struct err err = { 0 };

	if (!b)
		return;
	o.name = json_string_value(json_object_get(b, "Name"));
	if (!o.name || !*o.name) {
		api_error(resp, 400, "network name is required");
		return;
	}
	o.driver = json_string_value(json_object_get(b, "Driver"));
	if (o.driver && !*o.driver)
		o.driver = NULL;
	o.internal = json_is_true(json_object_get(b, "Internal"));
	cfg = json_array_get(json_object_get(json_object_get(b, "IPAM"), "Config"), 0);
	o.subnet = json_string_value(json_object_get(cfg, "Subnet"));
	o.gateway = json_string_value(json_object_get(cfg, "Gateway"));
	strv_from_object(json_object_get(b, "Labels"), &o.labels);
	strv_from_object(json_object_get(b, "Options"), &o.options);
	if (network_create(req->ctx->root, &o, &id, &err) < 0)
		api_error(resp, strstr(err.msg, "already exists") ? 409 : 400, "%s", err.msg);
	else {
		resp->status = 201;
		resp->json = json_pack("{s:s, s:s}", "Id", id, "Warning", "");
	}
	strv_free(&o.labels);
	strv_free(&o.options);
}

void api_network_delete(const struct api_req *req, struct api_resp *resp)
{
	struct err err = { 0 };

	if (network_remove(req->ctx->root, req->params[0], &err) < 0)
		api_error(resp, strstr(err.msg, "active endpoints") ? 403 :
				strstr(err.msg, "not found") ? 404 : 500, "%s", err.msg);
	else
		resp->status = 204;
}

/* connect and disconnect: {"Container": ..., "EndpointConfig": {...}} */
static void network_attach(const struct api_req *req, struct api_resp *resp, bool connect)
{
	_cleanup_json_ json_t *b = body_of(req, resp);
	json_t *ep;
	struct container c = { 0 };
	struct err err = { 0 };
	struct net_endpoint_opts o = { 0 };
	size_t i;
	json_t *a;
	int r;

	if (!b)
		return;
	if (container_find(req->ctx->root, json_string_value(json_object_get(b, "Container")) ?: "",
			   &c, &err) < 0) {
		api_error_from(resp, &err);
		return;
	}
	ep = json_object_get(b, "EndpointConfig");
	json_array_foreach(json_object_get(ep, "Aliases"), i, a)
		strv_push(&o.aliases, json_string_value(a) ?: "");
	o.ip = json_string_value(json_object_get(json_object_get(ep, "IPAMConfig"),
						 "IPv4Address"));
	if (o.ip && !*o.ip)
		o.ip = NULL;
	r = connect ? network_connect(req->ctx->root, req->params[0], &c, &o, &err)
		    : network_disconnect(req->ctx->root, req->params[0], &c,
					 json_is_true(json_object_get(b, "Force")), &err);
	if (r < 0)
		api_error(resp, strstr(err.msg, "not found") ? 404 : 403, "%s", err.msg);
	else
		resp->status = 200;
	strv_free(&o.aliases);
	container_free(&c);
}

void api_network_connect(const struct api_req *req, struct api_resp *resp)
{
	network_attach(req, resp, true);
}

void api_network_disconnect(const struct api_req *req, struct api_resp *resp)
{
	network_attach(req, resp, false);
}

/* ---- volumes ---- */

void api_volumes_list(const struct api_req *req, struct api_resp *resp)
{
	_cleanup_json_ json_t *all = NULL, *filters = NULL;
	struct err err = { 0 };
	json_t *out, *v;
	size_t i;

	if (object_filters(req, &filters, resp) < 0)
		return;
	if (volume_list(req->ctx->root, &all, &err) < 0) {
		api_error_from(resp, &err);
		return;
	}
	out = json_array();
	json_array_foreach(all, i, v)
		if (object_matches(v, filters))
			json_array_append(out, v);
	resp->status = 200;
	resp->json = json_pack("{s:o, s:n}", "Volumes", out, "Warnings");
}

void api_volume_inspect(const struct api_req *req, struct api_resp *resp)
{
	struct err err = { 0 };
	json_t *out = NULL;

	if (volume_inspect(req->ctx->root, req->params[0], &out, &err) < 0) {
		api_error(resp, strstr(err.msg, "no such volume") ? 404 : 500, "%s", err.msg);
		return;
	}
	resp->status = 200;
	resp->json = out;
}

void api_volume_create(const struct api_req *req, struct api_resp *resp)
{
	_cleanup_json_ json_t *b = body_of(req, resp);
	struct volume_create_opts o = { 0 };
	_cleanup_free_ char *name = NULL;
	struct err err = { 0 };
	json_t *out = NULL;

	if (!b)
		return;
	o.name = json_string_value(json_object_get(b, "Name"));
	if (o.name && !*o.name)
		o.name = NULL;
	o.driver = json_string_value(json_object_get(b, "Driver"));
	if (o.driver && !*o.driver)
		o.driver = NULL;
	strv_from_object(json_object_get(b, "Labels"), &o.labels);
	strv_from_object(json_object_get(b, "DriverOpts"), &o.options);
	if (volume_create(req->ctx->root, &o, &name, NULL, &err) < 0 ||
	    volume_inspect(req->ctx->root, name, &out, &err) < 0)
		api_error(resp, 400, "%s", err.msg);
	else {
		resp->status = 201;
		resp->json = out;
	}
	strv_free(&o.labels);
	strv_free(&o.options);
}

void api_volume_delete(const struct api_req *req, struct api_resp *resp)
{
	struct err err = { 0 };

	if (volume_remove(req->ctx->root, req->params[0], api_query_bool(req, "force"), &err) < 0)
		api_error(resp, strstr(err.msg, "in use") ? 409 :
				strstr(err.msg, "no such volume") ? 404 : 500, "%s", err.msg);
	else
		resp->status = 204;
}

void api_volumes_prune(const struct api_req *req, struct api_resp *resp)
{
	struct strv removed = { 0 };
	struct err err = { 0 };
	json_t *names;
	size_t i;

	if (volume_prune(req->ctx->root, &removed, &err) < 0) {
		api_error_from(resp, &err);
		return;
	}
	names = json_array();
	for (i = 0; i < removed.n; i++)
		json_array_append_new(names, json_string(removed.v[i]));
	strv_free(&removed);
	resp->status = 200;
	resp->json = json_pack("{s:o, s:i}", "VolumesDeleted", names, "SpaceReclaimed", 0);
}

void api_networks_prune(const struct api_req *req, struct api_resp *resp)
{
	struct strv removed = { 0 };
	struct err err = { 0 };
	json_t *names;
	size_t i;

	if (network_prune(req->ctx->root, &removed, &err) < 0) {
		api_error_from(resp, &err);
		return;
	}
	names = json_array();
	for (i = 0; i < removed.n; i++)
		json_array_append_new(names, json_string(removed.v[i]));
	strv_free(&removed);
	resp->status = 200;
	resp->json = json_pack("{s:o}", "NetworksDeleted", names);
}
