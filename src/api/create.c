/* POST /containers/create: docker's create body (Config, HostConfig,
 * NetworkingConfig) as the run options the isobox command parses from its
 * flags, then the same container_create. */
#include "api/api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/container.h"
#include "engine/host_config.h"
#include "util/cleanup.h"
#include "util/fs.h"

static const char *str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s && *s ? s : NULL;
}

/* A JSON array of strings onto s; anything else in it is an error. */
static int strings(json_t *a, struct strv *s, const char *what, struct err *err)
{
	json_t *v;
	size_t i;

	if (!a || json_is_null(a))
		return 0;
	if (!json_is_array(a))
		return err_set(err, "%s: want a list of strings", what);
	json_array_foreach(a, i, v) {
		if (!json_is_string(v))
			return err_set(err, "%s: want a list of strings", what);
		strv_push(s, json_string_value(v));
	}
	return 0;
}

/* {"80/tcp": [{"HostIp": "", "HostPort": "8080"}]} as -p values. */
static int port_bindings(json_t *pb, struct strv *publish, struct err *err)
{
	const char *port;
	json_t *binds, *b;
	size_t i;

	json_object_foreach(pb, port, binds) {
		if (!json_array_size(binds)) {
			strv_push(publish, port);
			continue;
		}
		json_array_foreach(binds, i, b) {
			const char *ip = str(b, "HostIp"), *hp = str(b, "HostPort");
			_cleanup_free_ char *p = xasprintf("%s%s%s:%s", ip ? ip : "", ip ? ":" : "",
							   hp ? hp : "", port);

			strv_push(publish, p);
		}
	}
	return 0;
}

/* HostConfig.Mounts as --mount values. */
static int mounts(json_t *a, struct strv *out, struct err *err)
{
	json_t *m;
	size_t i;

	json_array_foreach(a, i, m) {
		const char *type = str(m, "Type"), *src = str(m, "Source"), *dst = str(m, "Target");
		_cleanup_free_ char *s = xasprintf("type=%s%s%s,target=%s%s", type ? type : "volume",
						   src ? ",source=" : "", src ? src : "",
						   dst ? dst : "",
						   json_is_true(json_object_get(m, "ReadOnly")) ?
							   ",readonly" : "");

		strv_push(out, s);
	}
	return 0;
}

/* Whether a bind ("SRC:DEST[:OPTS]") or a mount ("...,target=DEST,...")
 * already has dest. */
static bool destination_taken(const struct run_opts *o, const char *dest)
{
	size_t n = strlen(dest);

	for (size_t i = 0; i < o->volumes.n; i++) {
		const char *colon = strchr(o->volumes.v[i], ':');

		if (colon && !strncmp(colon + 1, dest, n) && (!colon[1 + n] || colon[1 + n] == ':'))
			return true;
	}
	for (size_t i = 0; i < o->mounts.n; i++) {
		const char *t = strstr(o->mounts.v[i], "target=");

		if (t && !strncmp(t + 7, dest, n) && (!t[7 + n] || t[7 + n] == ','))
			return true;
	}
	return false;
}

int api_run_opts_from_json(json_t *body, struct run_opts *o, struct err *err)
{
	json_t *hc = json_object_get(body, "HostConfig"), *v;
	json_t *ep = json_object_get(json_object_get(body, "NetworkingConfig"), "EndpointsConfig");
	const char *key;
	size_t i;

	o->image = str(body, "Image");
	if (!o->image)
		return err_set(err, "config: Image is required");
	v = json_object_get(body, "Entrypoint");
	if (json_is_string(v)) {
		o->entrypoint = json_string_value(v);
	} else if (json_is_array(v)) {
		/* ["sh", "-c"]: the first is the entrypoint, the rest go before Cmd */
		o->entrypoint = json_array_size(v) ? json_string_value(json_array_get(v, 0)) : "";
		if (!o->entrypoint)
			return err_set(err, "Entrypoint: want a list of strings");
		for (i = 1; i < json_array_size(v); i++) {
			if (!json_is_string(json_array_get(v, i)))
				return err_set(err, "Entrypoint: want a list of strings");
			strv_push(&o->cmd, json_string_value(json_array_get(v, i)));
		}
	}
	v = json_object_get(body, "Cmd");
	if (json_is_string(v))
		strv_push(&o->cmd, json_string_value(v));
	else if (strings(v, &o->cmd, "Cmd", err) < 0)
		return -1;
	if (strings(json_object_get(body, "Env"), &o->env, "Env", err) < 0)
		return -1;
	o->workdir = str(body, "WorkingDir");
	o->user = str(body, "User");
	o->hostname = str(body, "Hostname");
	o->stop_signal = str(body, "StopSignal");
	o->tty = json_is_true(json_object_get(body, "Tty"));
	o->interactive = json_is_true(json_object_get(body, "OpenStdin"));
	o->detach = true;                  /* attach is the API's own request */
	json_object_foreach(json_object_get(body, "Labels"), key, v) {
		_cleanup_free_ char *l = xasprintf("%s=%s", key, json_string_value(v) ?: "");

		strv_push(&o->labels, l);
	}
	if (!hc)
		return 0;
	o->isolation = str(hc, "Isolation");
	o->autoremove = json_is_true(json_object_get(hc, "AutoRemove"));
	o->privileged = json_is_true(json_object_get(hc, "Privileged"));
	o->read_only = json_is_true(json_object_get(hc, "ReadonlyRootfs"));
	o->publish_all = json_is_true(json_object_get(hc, "PublishAllPorts"));
	o->memory = json_integer_value(json_object_get(hc, "Memory"));
	o->nano_cpus = json_integer_value(json_object_get(hc, "NanoCpus"));
	o->pids_limit = json_integer_value(json_object_get(hc, "PidsLimit"));
	v = json_object_get(hc, "Init");
	if (json_is_boolean(v)) {
		o->init = json_is_true(v);
		o->init_set = true;
	}
	if (strings(json_object_get(hc, "CapAdd"), &o->cap_add, "CapAdd", err) < 0 ||
	    strings(json_object_get(hc, "CapDrop"), &o->cap_drop, "CapDrop", err) < 0 ||
	    strings(json_object_get(hc, "SecurityOpt"), &o->security_opt, "SecurityOpt", err) < 0 ||
	    strings(json_object_get(hc, "Binds"), &o->volumes, "Binds", err) < 0 ||
	    strings(json_object_get(hc, "VolumesFrom"), &o->volumes_from, "VolumesFrom", err) < 0 ||
	    strings(json_object_get(hc, "GroupAdd"), &o->group_add, "GroupAdd", err) < 0 ||
	    strings(json_object_get(hc, "Dns"), &o->dns, "Dns", err) < 0 ||
	    strings(json_object_get(hc, "DnsSearch"), &o->dns_search, "DnsSearch", err) < 0 ||
	    strings(json_object_get(hc, "DnsOptions"), &o->dns_opt, "DnsOptions", err) < 0 ||
	    strings(json_object_get(hc, "ExtraHosts"), &o->add_host, "ExtraHosts", err) < 0 ||
	    port_bindings(json_object_get(hc, "PortBindings"), &o->publish, err) < 0 ||
	    mounts(json_object_get(hc, "Mounts"), &o->mounts, err) < 0)
		return -1;
	/* docker run -v /data: Config.Volumes, an anonymous volume unless a
	 * bind or a mount takes that destination, as dockerd does */
	json_object_foreach(json_object_get(body, "Volumes"), key, v)
		if (!destination_taken(o, key))
			strv_push(&o->volumes, key);
	json_object_foreach(json_object_get(hc, "Tmpfs"), key, v) {
		const char *opts = json_string_value(v);
		_cleanup_free_ char *t = xasprintf("%s%s%s", key, opts && *opts ? ":" : "",
						   opts ? opts : "");

		strv_push(&o->tmpfs, t);
	}
	json_array_foreach(json_object_get(hc, "Ulimits"), i, v) {
		_cleanup_free_ char *u = xasprintf(
			"%s=%lld:%lld", str(v, "Name") ?: "",
			(long long)json_integer_value(json_object_get(v, "Soft")),
			(long long)json_integer_value(json_object_get(v, "Hard")));

		strv_push(&o->ulimits, u);
	}
	o->network = str(hc, "NetworkMode");
	if (o->network && !strcmp(o->network, "default"))
		o->network = NULL;
	o->pid_mode = str(hc, "PidMode");
	o->ipc_mode = str(hc, "IpcMode");
	o->uts_mode = str(hc, "UTSMode");
	json_object_foreach(ep, key, v) {
		json_t *ipam = json_object_get(v, "IPAMConfig");

		o->ip = str(ipam, "IPv4Address");
		if (strings(json_object_get(v, "Aliases"), &o->aliases, "Aliases", err) < 0)
			return -1;
		if (!o->network && strcmp(key, "default"))
			o->network = key;
	}
	return 0;
}

/* The engine's refusals as docker's status codes. */
static unsigned create_status(const struct err *err)
{
	if (strstr(err->msg, "not found: run 'isobox images'"))
		return 404;
	if (strstr(err->msg, "is already in use by container"))
		return 409;
	if (strstr(err->msg, "it requires hyperv isolation, so --isolation=process is refused"))
		return 403;
	return strstr(err->msg, "invalid") || strstr(err->msg, "want ") ? 400 : 500;
}

void api_container_create(const struct api_req *req, struct api_resp *resp)
{
	_cleanup_json_ json_t *body = req->body ? json_loadb(req->body, req->body_len, 0, NULL)
						: NULL;
	struct run_opts o = { .name = req->query ? req->query(req->query_ctx, "name") : NULL,
			      .default_isolation = req->ctx->default_isolation };
	struct host_config host;
	struct container c = { 0 };
	struct err err = { 0 };

	if (!json_is_object(body)) {
		api_error(resp, 400, "the body must be a JSON object (the container's config)");
		return;
	}
	if (o.name && !*o.name)
		o.name = NULL;
	if (host_config_load(req->ctx->config, &host, &err) < 0) {
		api_error_from(resp, &err);
		return;
	}
	o.host = &host;
	if (api_run_opts_from_json(body, &o, &err) == 0 && !o.network &&
	    getenv("ISOBOX_DEFAULT_NETWORK") && *getenv("ISOBOX_DEFAULT_NETWORK"))
		o.network = getenv("ISOBOX_DEFAULT_NETWORK");   /* as the isobox command does */
	if (err.kind) {
		api_error(resp, 400, "%s", err.msg);
	} else if (container_create(req->ctx->root, &o, &c, &err) < 0) {
		if (create_status(&err) == 404)
			api_error(resp, 404, "No such image: %s", o.image);
		else
			api_error(resp, create_status(&err), "%s", err.msg);
	} else {
		resp->status = 201;
		resp->json = json_pack("{s:s, s:[]}", "Id", c.id, "Warnings");
	}
	container_free(&c);
	run_opts_free(&o);
	host_config_free(&host);
}
