/* The HTTP side of `isobox serve`: libmicrohttpd on a unix socket of ours,
 * a thread per connection (a slow client holds up only itself). */
#include "api/api.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <microhttpd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fs.h"
#include "util/program.h"
#include "util/version.h"

#define BODY_MAX (16u << 20)      /* a request body (create's JSON, ...) */

/* One request: routed when its headers came, its body as it arrives (in
 * memory, or spooled to a file for a route that takes an archive). */
struct upload {
	struct api_req req;
	struct api_resp resp;            /* the router's refusal, if any */
	api_handler handler;
	char *data;
	size_t len;
	bool too_big;
	int spool_errno;                 /* why the body could not be spooled, or 0 */
};

static const char *query_get(void *ctx, const char *key)
{
	return MHD_lookup_connection_value(ctx, MHD_GET_ARGUMENT_KIND, key);
}

static const char *header_get(void *ctx, const char *name)
{
	return MHD_lookup_connection_value(ctx, MHD_HEADER_KIND, name);
}

struct query_values {
	const char *key;
	const char **out;
	size_t max, n;
};

static enum MHD_Result query_value(void *cls, enum MHD_ValueKind kind, const char *key,
				   const char *value)
{
	struct query_values *q = cls;

	if (value && !strcmp(key, q->key) && q->n < q->max)
		q->out[q->n++] = value;
	return MHD_YES;
}

static size_t query_get_all(void *ctx, const char *key, const char **out, size_t max)
{
	struct query_values q = { key, out, max, 0 };

	MHD_get_connection_values(ctx, MHD_GET_ARGUMENT_KIND, query_value, &q);
	return q.n;
}

/* The peer closed (or reset) the connection: nothing more to send it. */
static bool client_gone(void *ctx)
{
	const union MHD_ConnectionInfo *info =
		MHD_get_connection_info(ctx, MHD_CONNECTION_INFO_CONNECTION_FD);
	struct pollfd p;

	if (!info)
		return false;
	p = (struct pollfd){ .fd = info->connect_fd, .events = POLLRDHUP };
	return poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR));
}

/* An unlinked file in the store for a spooled body. */
static int spool_open(const char *root)
{
	_cleanup_free_ char *dir = xasprintf("%s/tmp", root);
	struct err ignore = { 0 };

	if (mkdir_p(dir, 0700, &ignore) < 0)
		return -1;
	return open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
}

static void headers_add(struct MHD_Response *r, const struct api_resp *resp,
			const char *content_type)
{
	char api[16];

	snprintf(api, sizeof(api), "1.%u", API_VERSION_MAX);
	MHD_add_response_header(r, "Api-Version", api);
	MHD_add_response_header(r, "Docker-Experimental", "false");
	MHD_add_response_header(r, "Ostype", "linux");
	MHD_add_response_header(r, "Server", "isobox/" ISOBOX_VERSION " (linux)");
	if (content_type)
		MHD_add_response_header(r, "Content-Type", content_type);
	if (resp->header && resp->header_value)
		MHD_add_response_header(r, resp->header, resp->header_value);
}

/* A body made as it goes (api_resp.reader). */
struct streamed {
	ssize_t (*reader)(void *cls, char *buf, size_t max);
	void *cls;
	void (*free_cls)(void *cls);
};

static ssize_t streamed_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct streamed *s = cls;
	ssize_t n = s->reader(s->cls, buf, max);

	return n > 0 ? n : n == 0 ? MHD_CONTENT_READER_END_OF_STREAM
				  : MHD_CONTENT_READER_END_WITH_ERROR;
}

static void streamed_free(void *cls)
{
	struct streamed *s = cls;

	if (s->free_cls)
		s->free_cls(s->cls);
	free(s);
}

/* The connection handed to the handler (api_resp.on_upgrade). */
struct upgraded {
	void (*fn)(void *cls, int sock, void *urh, const char *extra, size_t len);
	void *cls;
};

static void upgraded_run(void *cls, struct MHD_Connection *conn, void *con_cls,
			 const char *extra, size_t extra_len, MHD_socket sock,
			 struct MHD_UpgradeResponseHandle *urh)
{
	struct upgraded u = *(struct upgraded *)cls;

	free(cls);
	u.fn(u.cls, sock, urh, extra, extra_len);
}

void api_upgrade_close(void *urh)
{
	MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
}

static enum MHD_Result respond_special(struct MHD_Connection *conn, struct api_resp *resp)
{
	struct MHD_Response *r = NULL;
	enum MHD_Result ret;

	if (resp->reader) {
		struct streamed *s = xmalloc(sizeof(*s));

		*s = (struct streamed){ resp->reader, resp->reader_cls, resp->reader_free };
		resp->reader_free = NULL;
		r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 32768, streamed_read, s,
						      streamed_free);
		if (!r)
			streamed_free(s);
	} else {
		struct upgraded *u = xmalloc(sizeof(*u));

		*u = (struct upgraded){ resp->on_upgrade, resp->upgrade_cls };
		r = MHD_create_response_for_upgrade(upgraded_run, u);
		if (!r)
			free(u);
		else {
			MHD_add_response_header(r, MHD_HTTP_HEADER_UPGRADE, "tcp");
			MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "Upgrade");
		}
	}
	if (!r)
		return MHD_NO;
	headers_add(r, resp, resp->content_type);
	ret = MHD_queue_response(conn, resp->status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result respond(struct MHD_Connection *conn, struct api_resp *resp)
{
	_cleanup_free_ char *body = resp->json ? json_dumps(resp->json, JSON_COMPACT) : NULL;
	struct MHD_Response *r;
	enum MHD_Result ret;

	if (resp->json && !body)
		body = xstrdup("{\"message\":\"cannot encode the answer\"}");
	if (body) {
		/* docker's JSON bodies end with a newline */
		char *nl = xasprintf("%s\n", body);

		free(body);
		body = nl;
	}
	if (!body && resp->text) {
		body = resp->text;
		resp->text = NULL;
	}
	if (resp->reader || resp->on_upgrade)
		return respond_special(conn, resp);
	r = MHD_create_response_from_buffer(body ? strlen(body) : 0, body ?: "",
					    MHD_RESPMEM_MUST_COPY);
	if (!r)
		return MHD_NO;
	headers_add(r, resp, resp->content_type ? resp->content_type :
		       resp->json ? "application/json" :
		       body ? "text/plain; charset=utf-8" : NULL);
	ret = MHD_queue_response(conn, resp->status ? resp->status : 500, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version,
				  const char *upload_data, size_t *upload_data_size,
				  void **con_cls)
{
	const struct api_ctx *ctx = cls;
	struct upload *up = *con_cls;
	enum MHD_Result ret;

	if (!up) {                       /* the headers: the body, if any, comes next */
		*con_cls = up = calloc(1, sizeof(*up));
		if (!up)
			return MHD_NO;
		up->req = (struct api_req){ .ctx = ctx, .query = query_get, .header = header_get,
					    .query_all = query_get_all, .query_ctx = conn,
					    .body_fd = -1, .client_gone = client_gone };
		up->handler = api_route(method, url, &up->req, &up->resp);
		if (up->handler && up->req.body_to_file) {
			up->req.body_fd = spool_open(ctx->root);
			up->spool_errno = up->req.body_fd < 0 ? errno : 0;
		}
		return MHD_YES;
	}
	if (*upload_data_size) {
		if (up->req.body_fd >= 0) {
			if (!up->spool_errno &&
			    write_all(up->req.body_fd, upload_data, *upload_data_size) < 0)
				up->spool_errno = errno;
		} else if (up->len + *upload_data_size > BODY_MAX) {
			up->too_big = true;
		} else if (!up->too_big) {
			up->data = realloc(up->data, up->len + *upload_data_size + 1);
			if (!up->data)
				return MHD_NO;
			memcpy(up->data + up->len, upload_data, *upload_data_size);
			up->len += *upload_data_size;
			up->data[up->len] = 0;
		}
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (up->spool_errno) {
		api_error(&up->resp, 500, "cannot keep the request body in %s/tmp: %s", ctx->root,
			  strerror(up->spool_errno));
	} else if (up->too_big) {
		api_error(&up->resp, 413, "the request body is larger than %u bytes", BODY_MAX);
	} else if (up->handler) {
		up->req.body = up->data;
		up->req.body_len = up->len;
		if (up->req.body_fd >= 0)
			lseek(up->req.body_fd, 0, SEEK_SET);
		up->handler(&up->req, &up->resp);
	}
	if (getenv("ISOBOX_API_DEBUG"))
		fprintf(stderr, "isobox serve: %s %s -> %u\n", method, url, up->resp.status);
	ret = respond(conn, &up->resp);
	json_decref(up->resp.json);
	free(up->resp.text);
	free(up->resp.header_value);
	if (up->resp.reader_free)        /* not handed to MHD */
		up->resp.reader_free(up->resp.reader_cls);
	up->resp = (struct api_resp){ 0 };
	return ret;
}

static void on_done(void *cls, struct MHD_Connection *conn, void **con_cls,
		    enum MHD_RequestTerminationCode toe)
{
	struct upload *up = *con_cls;

	if (up) {
		api_req_free(&up->req);
		if (up->req.body_fd >= 0)
			close(up->req.body_fd);
		json_decref(up->resp.json);
		free(up->resp.text);
		free(up->resp.header_value);
		free(up->data);
	}
	free(up);
	*con_cls = NULL;

}

/* The group that may use the socket: made when missing, as dockerd's docker. */
static int group_id(const char *name, gid_t *gid, struct err *err)
{
	struct group *g = getgrnam(name);

	if (!g) {
		const char *argv[] = { "groupadd", "--system", name, NULL };

		if (program_run(argv, err) < 0)
			return err_wrap(err, "create the group %s", name);
		g = getgrnam(name);
		if (!g)
			return err_set(err, "the group %s is missing after groupadd", name);
	}
	*gid = g->gr_gid;
	return 0;
}

/* The socket, root's and the group's (0660); a stale one (nobody listening)
 * is replaced, a live one is an error. */
static int listen_unix(const char *path, gid_t gid, struct err *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, probe;

	if (strlen(path) >= sizeof(sa.sun_path))
		return err_set(err, "the socket path %s is too long", path);
	strcpy(sa.sun_path, path);
	probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		close(probe);
		return err_set(err, "%s is in use: another engine serves it", path);
	}
	if (probe >= 0)
		close(probe);
	unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return err_sys(err, errno, "socket");
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || chmod(path, 0660) < 0 ||
	    chown(path, 0, gid) < 0 || listen(fd, 128) < 0) {
		int e = errno;

		close(fd);
		unlink(path);
		return err_sys(err, e, "listen on %s", path);
	}
	return fd;
}

int api_serve(const struct api_serve_opts *o, struct err *err)
{
	_cleanup_free_ char *dir = xstrdup(o->socket_path);
	struct MHD_Daemon *d;
	sigset_t stop;
	gid_t gid = 0;
	int fd, sig = 0;

	*strrchr(dir, '/') = 0;
	if (*dir && mkdir_p(dir, 0755, err) < 0)
		return -1;
	if (group_id(o->group, &gid, err) < 0)
		return -1;
	fd = listen_unix(o->socket_path, gid, err);
	if (fd < 0)
		return -1;
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);
	d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
			     MHD_ALLOW_UPGRADE, 0, NULL, NULL, on_request, (void *)&o->ctx,
			     MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_NOTIFY_COMPLETED, on_done,
			     NULL, MHD_OPTION_END);
	if (!d) {
		close(fd);
		unlink(o->socket_path);
		return err_set(err, "start the HTTP server on %s", o->socket_path);
	}
	fprintf(stderr, "isobox serve: API 1.%u on unix://%s\n", API_VERSION_MAX, o->socket_path);
	sigdelset(&stop, SIGPIPE);
	while (sig != SIGTERM && sig != SIGINT)
		if (sigwait(&stop, &sig) != 0)
			break;
	/* Attached sessions end with us; their containers go on (each has its
	 * monitor), as with dockerd's live restore. */
	MHD_quiesce_daemon(d);
	unlink(o->socket_path);
	return 0;
}
