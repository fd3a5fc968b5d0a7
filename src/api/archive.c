/* docker cp through the API: /containers/{id}/archive?path=P. HEAD answers
 * the path's stat in X-Docker-Container-Path-Stat (base64 of docker's
 * ContainerPathStat), GET the same header and the tar of the path, PUT
 * unpacks the body's tar into the directory P. Each is `isobox cp` spawned:
 * the command looks at the container's files in a child chrooted there, or
 * through the guest's cp tools in a running VM. */
#include "api/api.h"

#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "api/stream.h"
#include "util/base64.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/path_info.h"

#define STAT_HEADER "X-Docker-Container-Path-Stat"

/* Go's os.FileMode of st_mode: the permission bits and Go's type bits. */
static json_int_t go_file_mode(mode_t m)
{
	json_int_t g = m & 0777;

	if (S_ISDIR(m))
		g |= 1LL << 31;
	else if (S_ISLNK(m))
		g |= 1LL << 27;
	else if (S_ISFIFO(m))
		g |= 1LL << 25;
	else if (S_ISSOCK(m))
		g |= 1LL << 24;
	else if (S_ISBLK(m))
		g |= 1LL << 26;
	else if (S_ISCHR(m))
		g |= 1LL << 26 | 1LL << 21;
	if (m & S_ISUID)
		g |= 1LL << 23;
	if (m & S_ISGID)
		g |= 1LL << 22;
	if (m & S_ISVTX)
		g |= 1LL << 20;
	return g;
}

/* Go's RFC3339Nano: the fraction without its trailing zeros ("...:59Z"). */
static void go_time(long long sec, long nsec, char *buf, size_t len)
{
	char *dot, *end;

	time_rfc3339_ts(sec, nsec, buf, len);
	dot = strchr(buf, '.');
	end = dot ? strchr(dot, 'Z') : NULL;
	if (!end)
		return;
	while (end > dot + 1 && end[-1] == '0')
		end--;
	if (end == dot + 1)
		end = dot;
	memmove(end, "Z", 2);
}

/* docker's message for a path that is not there. */
static void not_found(struct api_resp *resp, const char *ctr, const char *path)
{
	api_error(resp, 404, "Could not find the file %s in container %s", path, ctr);
}

/* The path's stat into resp's header; -1 with resp's error when it cannot
 * (404 for a container or a path that is not there). */
static int stat_header(const struct api_req *req, const char *path, struct api_resp *resp)
{
	_cleanup_free_ char *target = xasprintf("%s:%s", req->params[0], path);
	_cleanup_free_ char *out = NULL, *name = xstrdup(path), *doc = NULL;
	const char *args[] = { "cp", "--path-info", target, NULL };
	_cleanup_json_ json_t *st = NULL;
	struct path_info pi;
	struct err err = { 0 };
	char mtime[48];

	if (api_self_call(req->ctx, args, -1, NULL, &out, &err) < 0) {
		const char *msg = api_child_said(&err);

		api_error(resp, strncmp(msg, "No such container", 17) ? 500 : 404, "%s", msg);
		return -1;
	}
	if (path_info_parse(out, &pi) < 0) {
		api_error(resp, 500, "the stat of %s in %s was not understood", path,
			  req->params[0]);
		return -1;
	}
	if (!pi.exists) {
		not_found(resp, req->params[0], path);
		return -1;
	}
	go_time(pi.mtime_sec, pi.mtime_nsec, mtime, sizeof(mtime));
	st = json_pack("{s:s, s:I, s:I, s:s, s:s}", "name", basename(name), "size",
		       (json_int_t)pi.size, "mode", go_file_mode(pi.mode), "mtime", mtime,
		       "linkTarget", pi.link);
	doc = st ? json_dumps(st, JSON_COMPACT) : NULL;
	if (!doc) {
		api_error(resp, 500, "cannot encode the stat of %s", path);
		return -1;
	}
	resp->header = STAT_HEADER;
	resp->header_value = base64_encode(doc, strlen(doc));
	return 0;
}

static const char *path_query(const struct api_req *req, struct api_resp *resp)
{
	const char *path = req->query ? req->query(req->query_ctx, "path") : NULL;

	if (!path || !*path)
		api_error(resp, 400, "path is required");
	return path && *path ? path : NULL;
}

/* HEAD /containers/{id}/archive?path=P */
void api_container_archive_stat(const struct api_req *req, struct api_resp *resp)
{
	const char *path = path_query(req, resp);

	if (path && stat_header(req, path, resp) == 0)
		resp->status = 200;
}

/* GET /containers/{id}/archive?path=P: the stat header and the tar. */
void api_container_archive_get(const struct api_req *req, struct api_resp *resp)
{
	const char *path = path_query(req, resp);
	_cleanup_free_ char *target = NULL;
	char *header_value;

	if (!path || stat_header(req, path, resp) < 0)
		return;
	header_value = resp->header_value;
	resp->header_value = NULL;
	target = xasprintf("%s:%s", req->params[0], path);
	api_child_body(req->ctx, (const char *[]){ "cp", "--", target, "-", NULL }, -1, NULL,
		       API_BODY_RAW, resp);
	if (resp->status == 200)
		resp->header_value = header_value;   /* resp->header is set still */
	else
		free(header_value);
}

/* PUT /containers/{id}/archive?path=DIR&copyUIDGID=: the body's tar
 * unpacked into DIR, which must be a directory. */
void api_container_archive_put(const struct api_req *req, struct api_resp *resp)
{
	const char *path = path_query(req, resp), *args[6];
	_cleanup_free_ char *target = NULL;
	struct err err = { 0 };
	const char *msg;
	size_t n = 0;

	if (!path)
		return;
	target = xasprintf("%s:%s", req->params[0], path);
	args[n++] = "cp";
	if (api_query_bool(req, "copyUIDGID"))
		args[n++] = "--archive";
	args[n++] = "--";
	args[n++] = "-";
	args[n++] = target;
	args[n] = NULL;
	if (api_self_call(req->ctx, args, req->body_fd, NULL, NULL, &err) == 0) {
		resp->status = 200;
		return;
	}
	msg = api_child_said(&err);
	if (!strncmp(msg, "Could not find the file", 23) || !strncmp(msg, "No such container", 17))
		api_error(resp, 404, "%s", msg);
	else if (strstr(msg, "not a directory"))
		api_error(resp, 400, "%s", msg);
	else
		api_error(resp, 500, "%s", msg);
}
