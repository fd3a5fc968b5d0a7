/* Requests to handlers: docker's paths, with or without "/v1.NN". */
#include "api/api.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/cleanup.h"
#include "util/fs.h"

/* "{}" takes one segment, "{*}" one or more (an image name has '/'s). */
static const struct route {
	const char *method, *pattern;
	api_handler handler;
	bool body_to_file;               /* api_req.body_to_file */
} routes[] = {
	{ "GET", "/_ping", api_ping, false },
	{ "HEAD", "/_ping", api_ping, false },
	{ "GET", "/version", api_version, false },
	{ "GET", "/info", api_info, false },
	{ "GET", "/events", api_events, false },
	{ "POST", "/auth", api_auth, false },
	{ "GET", "/containers/json", api_containers_list, false },
	{ "GET", "/containers/{}/json", api_container_inspect, false },
	{ "POST", "/containers/create", api_container_create, false },
	{ "POST", "/containers/{}/start", api_container_start, false },
	{ "POST", "/containers/{}/stop", api_container_stop, false },
	{ "POST", "/containers/{}/kill", api_container_kill, false },
	{ "POST", "/containers/{}/restart", api_container_restart, false },
	{ "POST", "/containers/{}/wait", api_container_wait, false },
	{ "POST", "/containers/{}/attach", api_container_attach, false },
	{ "POST", "/containers/{}/resize", api_container_resize, false },
	{ "GET", "/containers/{}/logs", api_container_logs, false },
	{ "DELETE", "/containers/{}", api_container_delete, false },
	{ "POST", "/containers/{}/rename", api_container_rename, false },
	{ "GET", "/containers/{}/stats", api_container_stats, false },
	{ "GET", "/containers/{}/top", api_container_top, false },
	{ "HEAD", "/containers/{}/archive", api_container_archive_stat, false },
	{ "GET", "/containers/{}/archive", api_container_archive_get, false },
	{ "PUT", "/containers/{}/archive", api_container_archive_put, true },
	{ "POST", "/containers/{}/exec", api_exec_create, false },
	{ "POST", "/exec/{}/start", api_exec_start, false },
	{ "GET", "/exec/{}/json", api_exec_inspect, false },
	{ "POST", "/exec/{}/resize", api_exec_resize, false },
	{ "GET", "/networks", api_networks_list, false },
	{ "POST", "/networks/create", api_network_create, false },
	{ "POST", "/networks/prune", api_networks_prune, false },
	{ "GET", "/networks/{}", api_network_inspect, false },
	{ "DELETE", "/networks/{}", api_network_delete, false },
	{ "POST", "/networks/{}/connect", api_network_connect, false },
	{ "POST", "/networks/{}/disconnect", api_network_disconnect, false },
	{ "GET", "/volumes", api_volumes_list, false },
	{ "POST", "/volumes/create", api_volume_create, false },
	{ "POST", "/volumes/prune", api_volumes_prune, false },
	{ "GET", "/volumes/{}", api_volume_inspect, false },
	{ "DELETE", "/volumes/{}", api_volume_delete, false },
	{ "GET", "/images/json", api_images_list, false },
	{ "GET", "/images/{*}/json", api_image_inspect, false },
	{ "GET", "/images/{*}/history", api_image_history, false },
	{ "POST", "/images/{*}/tag", api_image_tag, false },
	{ "DELETE", "/images/{*}", api_image_delete, false },
	{ "POST", "/build", api_build, false },
	{ "POST", "/images/create", api_image_create, true },
	{ "POST", "/images/load", api_images_load, true },
	{ "POST", "/images/prune", api_images_prune, false },
	{ "GET", "/images/get", api_images_save, false },
	{ "GET", "/images/{*}/get", api_images_save, false },
	{ "POST", "/images/{*}/push", api_image_push, false },
};

#define MAX_SEGMENTS 64

/* path's segments, in place: "/a/b" -> {"a", "b"} (a trailing '/' ignored);
 * -1 when there are none, too many or empty ones. */
static int split(char *path, char *seg[MAX_SEGMENTS])
{
	int n = 0;
	char *p = path;

	if (*p != '/')
		return -1;
	while (*p == '/') {
		*p++ = 0;
		if (*p == '/')                  /* an empty segment: no route has one */
			return -1;
		if (n == MAX_SEGMENTS || !*p)
			return *p || n == 0 ? -1 : n;
		seg[n++] = p;
		p += strcspn(p, "/");
	}
	return n;
}

static bool match(const char *pattern, char *const seg[], int n, struct api_req *req)
{
	char buf[256], *pat[MAX_SEGMENTS];
	int m, i, star = -1;

	snprintf(buf, sizeof(buf), "%s", pattern);
	m = split(buf, pat);
	for (i = 0; i < m; i++)
		if (!strcmp(pat[i], "{*}"))
			star = i;
	if (star < 0 ? n != m : n < m)
		return false;
	for (i = 0; i < m; i++) {
		/* after a "{*}", pattern segment i matches path segment i + (n - m) */
		int j = star >= 0 && i > star ? i + (n - m) : i;

		if (i == star) {
			size_t len = 0;
			int k;

			for (k = i; k <= i + (n - m); k++)
				len += strlen(seg[k]) + 1;
			char *joined = xmalloc(len);

			joined[0] = 0;
			for (k = i; k <= i + (n - m); k++) {
				strcat(joined, seg[k]);
				if (k < i + (n - m))
					strcat(joined, "/");
			}
			req->params[req->n_params++] = joined;
		} else if (!strcmp(pat[i], "{}")) {
			req->params[req->n_params++] = xstrdup(seg[j]);
		} else if (strcmp(pat[i], seg[j])) {
			return false;
		}
	}
	return true;
}

/* "/v1.50/rest": *minor 50, the rest; no prefix: the newest. -1 malformed. */
static int version_strip(const char *url, unsigned *minor, const char **rest)
{
	unsigned major, v;
	int used = 0;

	*minor = API_VERSION_MAX;
	*rest = url;
	if (strncmp(url, "/v", 2) || !(url[2] >= '0' && url[2] <= '9'))
		return 0;
	if (sscanf(url, "/v%u.%u%n", &major, &v, &used) != 2 || (url[used] && url[used] != '/'))
		return -1;
	if (major != 1)
		v = major > 1 ? 1000 : 0;
	*minor = v;
	*rest = url[used] ? url + used : "/";
	return 0;
}

api_handler api_route(const char *method, const char *url, struct api_req *req,
		      struct api_resp *resp)
{
	_cleanup_free_ char *path = NULL;
	char *seg[MAX_SEGMENTS];
	const char *rest;
	size_t i;
	int n;

	req->method = method;
	req->n_params = 0;
	if (version_strip(url, &req->version, &rest) < 0) {
		api_error(resp, 404, "page not found");
		return NULL;
	}
	if (req->version > API_VERSION_MAX) {
		api_error(resp, 400, "client version 1.%u is too new. Maximum supported API "
			  "version is 1.%u", req->version, API_VERSION_MAX);
		return NULL;
	}
	if (req->version < API_VERSION_MIN) {
		api_error(resp, 400, "client version 1.%u is too old. Minimum supported API "
			  "version is 1.%u, please upgrade your client to a newer version",
			  req->version, API_VERSION_MIN);
		return NULL;
	}
	path = xstrdup(rest);
	n = split(path, seg);
	for (i = 0; n > 0 && i < sizeof(routes) / sizeof(routes[0]); i++) {
		if (strcmp(routes[i].method, method))
			continue;
		if (match(routes[i].pattern, seg, n, req)) {
			req->body_to_file = routes[i].body_to_file;
			return routes[i].handler;
		}
		api_req_free(req);
	}
	api_error(resp, 404, "page not found");
	return NULL;
}

void api_req_free(struct api_req *req)
{
	while (req->n_params)
		free(req->params[--req->n_params]);
}

void api_error(struct api_resp *resp, unsigned status, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_decref(resp->json);
	resp->status = status;
	resp->json = json_pack("{s:s}", "message", msg);
}

void api_error_from(struct api_resp *resp, const struct err *err)
{
	api_error(resp, strncmp(err->msg, "No such ", 8) ? 500 : 404, "%s", err->msg);
}

bool api_query_bool(const struct api_req *req, const char *key)
{
	const char *v = req->query ? req->query(req->query_ctx, key) : NULL;

	return v && (!strcmp(v, "1") || !strcasecmp(v, "true"));
}
