/* The Docker Engine API: `isobox serve`, a second front end to the same
 * engine and store as the isobox command (docs/api.md). A request is routed
 * (router.c) to a handler of one family (system.c, containers.c, images.c),
 * which answers with docker's JSON, status codes and messages; server.c is
 * the HTTP side (libmicrohttpd) and owns the socket. */
#ifndef ISOBOX_API_H
#define ISOBOX_API_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "util/err.h"

#define API_VERSION_MAX 50     /* 1.50: docker CLI 28's */
#define API_VERSION_MIN 24     /* 1.24: what a client without negotiation speaks */
#define API_MAX_PARAMS 2

/* What every handler shares: the store and the host's configuration. */
struct api_ctx {
	const char *root;
	const char *config;               /* --config FILE, or NULL */
	const char *default_isolation;    /* --default-isolation, or NULL */
};

struct api_req {
	const struct api_ctx *ctx;
	const char *method;
	unsigned version;                 /* the minor of 1.x the client asked for */
	char *params[API_MAX_PARAMS];     /* the route's {captures}, decoded */
	size_t n_params;
	/* A query argument's value, or NULL; query_all: every value of a key
	 * given more than once (?names=a&names=b), at most max, the count. */
	const char *(*query)(void *query_ctx, const char *key);
	const char *(*header)(void *query_ctx, const char *name);   /* a request header */
	size_t (*query_all)(void *query_ctx, const char *key, const char **out, size_t max);
	void *query_ctx;
	const char *body;
	size_t body_len;
	/* A route whose body is a file (an image archive, a tar for cp): the
	 * body spooled to an unlinked file, at its start (body NULL); else -1. */
	bool body_to_file;
	int body_fd;
	/* Whether the client closed its connection: a body made as it goes
	 * asks while it waits (api_client_gone), so a client that left frees
	 * its thread. Valid as long as the response is. */
	bool (*client_gone)(void *query_ctx);
};

/* Bytes a body's reader made and has not handed out yet: added to, then
 * taken max at a time (the count; 0 when none are left, empty again). */
struct api_pending {
	char *data;
	size_t len, off;
};
void api_pending_add(struct api_pending *p, const void *data, size_t len);
size_t api_pending_take(struct api_pending *p, char *buf, size_t max);
void api_pending_free(struct api_pending *p);

/* What a body's reader keeps of its request to ask whether the client left. */
struct api_client {
	bool (*gone)(void *ctx);
	void *ctx;
};

static inline struct api_client api_client_of(const struct api_req *req)
{
	return (struct api_client){ req->client_gone, req->query_ctx };
}

static inline bool api_client_gone(const struct api_client *c)
{
	return c->gone && c->gone(c->ctx);
}

struct api_resp {
	unsigned status;
	json_t *json;                     /* the body as JSON, or NULL */
	char *text;                       /* else this (malloc'ed), as text/plain */
	const char *content_type;         /* NULL: by the body */
	const char *header;               /* one more header (cp's path stat), or NULL */
	char *header_value;               /* its value (malloc'ed) */
	/* A body made as it goes (wait, logs): reader fills buf (at most max
	 * bytes; it may block) and returns its length, 0 at the end, -1 on an
	 * error; reader_free frees reader_cls. The headers go out first. */
	ssize_t (*reader)(void *cls, char *buf, size_t max);
	void *reader_cls;
	void (*reader_free)(void *cls);
	/* status 101: the connection is the handler's from here (attach):
	 * on_upgrade gets its socket, MHD's handle for it (api_upgrade_close
	 * when done) and what the client sent after its request. */
	void (*on_upgrade)(void *cls, int sock, void *urh, const char *extra, size_t len);
	void *upgrade_cls;
};

/* Close a connection on_upgrade got. */
void api_upgrade_close(void *urh);

typedef void (*api_handler)(const struct api_req *req, struct api_resp *resp);

/* docker's error body {"message": ...} with status. */
void api_error(struct api_resp *resp, unsigned status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* An engine error as docker answers it: "No such ..." 404, else 500. */
void api_error_from(struct api_resp *resp, const struct err *err);
/* An engine error about the image ref names, as docker answers it: 404 "No
 * such image: REF" when it is missing, 409 a conflict, 400 a malformed
 * reference, else as api_error_from. */
void api_image_error(struct api_resp *resp, const char *ref, const struct err *err);
/* A docker config directory of a request's own (ROOT/tmp/auth-XXXXXX,
 * config.json with server's credentials, mode 0700/0600) in *dir; the
 * caller removes it once the child that reads it ended. */
int api_docker_config(const char *root, const char *server, const char *user,
		      const char *password, char **dir, struct err *err);
/* The X-Registry-Auth header's credentials for ref's registry as such a
 * directory (*dir NULL when the header brings none: the host's logins
 * serve); -1 with docker's 400 in resp when it cannot be read. */
int api_registry_auth(const struct api_req *req, const char *ref, char **dir,
		      struct api_resp *resp);
/* A query argument as docker's boolean ("1", "true", "True"). */
bool api_query_bool(const struct api_req *req, const char *key);

/* The route for method and url ("/v1.50/containers/ID/json", "/_ping"):
 * the handler, req->version and req->params filled; else NULL with the
 * status (404 "page not found", 400 for a version out of range) in resp. */
api_handler api_route(const char *method, const char *url, struct api_req *req,
		      struct api_resp *resp);
void api_req_free(struct api_req *req);

struct run_opts;
/* A create body (Config, HostConfig, NetworkingConfig) as run options; its
 * strings stay body's (run_opts_free frees the lists). */
int api_run_opts_from_json(json_t *body, struct run_opts *o, struct err *err);

/* ?filters= of a container list (id, name, status, label, isolation) or of
 * events (container, event, type, image, label): parsed (docker's
 * {"KEY":["V"]} or {"KEY":{"V":true}}), unknown keys refused 400 in resp;
 * and whether an inspect object or an event matches (a key's values OR'ed
 * but a label's AND'ed, the keys AND'ed, as docker's). */
enum api_filters { API_FILTERS_CONTAINERS, API_FILTERS_EVENTS };
int api_filters_parse(enum api_filters kind, const char *text, json_t **out,
		      struct api_resp *resp);
bool api_filters_match(enum api_filters kind, json_t *obj, json_t *filters);

struct container;
struct api_log;
/* A container's json-file log as docker streams it (docker's 8-byte frames
 * without a TTY, raw bytes with one) for stdout and/or stderr: its last
 * tail lines (-1: all), then with follow what comes while it runs, until
 * it stopped or client left. api_log_read and api_log_free are an
 * api_resp's reader; an attach's thread calls them too. NULL: no memory. */
struct api_log *api_log_open(const char *root, const struct container *c, bool out,
			     bool err, bool timestamps, bool follow, long tail,
			     struct api_client client);
ssize_t api_log_read(void *log, char *buf, size_t max);
void api_log_free(void *log);

/* A container's State (inspect's), or NULL once it is gone. */
json_t *api_container_state(const char *root, const char *id);

/* The handlers, by family. */
void api_ping(const struct api_req *req, struct api_resp *resp);
void api_version(const struct api_req *req, struct api_resp *resp);
void api_info(const struct api_req *req, struct api_resp *resp);
void api_events(const struct api_req *req, struct api_resp *resp);
void api_auth(const struct api_req *req, struct api_resp *resp);
void api_containers_list(const struct api_req *req, struct api_resp *resp);
void api_container_inspect(const struct api_req *req, struct api_resp *resp);
void api_container_create(const struct api_req *req, struct api_resp *resp);
void api_container_start(const struct api_req *req, struct api_resp *resp);
void api_container_stop(const struct api_req *req, struct api_resp *resp);
void api_container_kill(const struct api_req *req, struct api_resp *resp);
void api_container_restart(const struct api_req *req, struct api_resp *resp);
void api_container_delete(const struct api_req *req, struct api_resp *resp);
void api_container_wait(const struct api_req *req, struct api_resp *resp);
void api_container_attach(const struct api_req *req, struct api_resp *resp);
void api_container_resize(const struct api_req *req, struct api_resp *resp);
void api_container_logs(const struct api_req *req, struct api_resp *resp);
void api_container_rename(const struct api_req *req, struct api_resp *resp);
void api_container_stats(const struct api_req *req, struct api_resp *resp);
void api_container_top(const struct api_req *req, struct api_resp *resp);
void api_container_archive_stat(const struct api_req *req, struct api_resp *resp);
void api_container_archive_get(const struct api_req *req, struct api_resp *resp);
void api_container_archive_put(const struct api_req *req, struct api_resp *resp);
void api_networks_list(const struct api_req *req, struct api_resp *resp);
void api_network_inspect(const struct api_req *req, struct api_resp *resp);
void api_network_create(const struct api_req *req, struct api_resp *resp);
void api_network_delete(const struct api_req *req, struct api_resp *resp);
void api_network_connect(const struct api_req *req, struct api_resp *resp);
void api_network_disconnect(const struct api_req *req, struct api_resp *resp);
void api_networks_prune(const struct api_req *req, struct api_resp *resp);
void api_volumes_list(const struct api_req *req, struct api_resp *resp);
void api_volume_inspect(const struct api_req *req, struct api_resp *resp);
void api_volume_create(const struct api_req *req, struct api_resp *resp);
void api_volume_delete(const struct api_req *req, struct api_resp *resp);
void api_volumes_prune(const struct api_req *req, struct api_resp *resp);
void api_exec_create(const struct api_req *req, struct api_resp *resp);
void api_exec_start(const struct api_req *req, struct api_resp *resp);
void api_exec_inspect(const struct api_req *req, struct api_resp *resp);
void api_exec_resize(const struct api_req *req, struct api_resp *resp);
void api_images_list(const struct api_req *req, struct api_resp *resp);
void api_image_inspect(const struct api_req *req, struct api_resp *resp);
void api_image_tag(const struct api_req *req, struct api_resp *resp);
void api_image_history(const struct api_req *req, struct api_resp *resp);
void api_image_delete(const struct api_req *req, struct api_resp *resp);
void api_images_prune(const struct api_req *req, struct api_resp *resp);
void api_build(const struct api_req *req, struct api_resp *resp);
void api_image_create(const struct api_req *req, struct api_resp *resp);
void api_image_push(const struct api_req *req, struct api_resp *resp);
void api_images_save(const struct api_req *req, struct api_resp *resp);
void api_images_load(const struct api_req *req, struct api_resp *resp);

struct api_serve_opts {
	struct api_ctx ctx;
	const char *socket_path;          /* unix socket */
	const char *group;                /* its group, made when missing */
};

/* Serve until SIGTERM or SIGINT. */
int api_serve(const struct api_serve_opts *o, struct err *err);

#endif
