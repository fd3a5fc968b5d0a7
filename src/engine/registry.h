/* A client of one repository on an OCI distribution registry (docker's
 * registry API v2), over libcurl (curl_dl.h): references as docker parses
 * them, TLS as docker verifies it (the system CA store plus
 * /etc/docker/certs.d/HOST/), plain HTTP only for loopback and
 * insecure_registries, and auth (anonymous or credentialed Bearer tokens,
 * cached per scope and renewed on 401; Basic) handled inside every request. */
#ifndef ISOBOX_REGISTRY_H
#define ISOBOX_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>

#include "util/err.h"

#define REGISTRY_DOCKER_HUB "docker.io"
/* Where Docker Hub's API is, and the key its credentials have in config.json. */
#define REGISTRY_DOCKER_HUB_API "registry-1.docker.io"
#define REGISTRY_DOCKER_HUB_AUTH_KEY "https://index.docker.io/v1/"

/* "busybox" -> {docker.io, library/busybox, latest}; "127.0.0.1:5000/x@sha256:..."
 * -> {127.0.0.1:5000, x, NULL, sha256:...}. A first component with '.' or ':',
 * or "localhost", is a registry host. */
struct registry_ref {
	char *domain;       /* "docker.io", "127.0.0.1:5000" */
	char *path;         /* "library/busybox" */
	char *tag;          /* "latest"; NULL when only a digest was given */
	char *digest;       /* "sha256:<hex>", or NULL */
};

/* Fails with docker's "invalid reference format" words. A reference with
 * neither tag nor digest gets "latest". */
int registry_ref_parse(const char *s, struct registry_ref *r, struct err *err);
void registry_ref_free(struct registry_ref *r);
/* Whether ref as typed names a tag or a digest (its last part has ':', or
 * it has '@'), without parsing it: "localhost:5000/x" names none. */
bool registry_ref_has_tag(const char *ref);
/* The familiar name, as the store and docker print it: "busybox",
 * "127.0.0.1:5000/busybox", "user/app". Caller frees. */
char *registry_ref_name(const struct registry_ref *r);
/* "NAME:TAG", or "NAME@DIGEST" without a tag. Caller frees. */
char *registry_ref_string(const struct registry_ref *r);

struct registry;

/* One parameter of a WWW-Authenticate challenge's list (`realm="..."`,
 * quoted or not; "Bearer " already skipped): *out malloc'ed, or NULL when
 * absent; -1 for an unterminated quote. Outside data. */
int registry_challenge_param(const char *challenge, const char *name, char **out);

struct host_config;
/* A client for domain/path; push asks for pull and push access. hc (or NULL)
 * gives insecure_registries. Loads libcurl; credentials from auth_config_get. */
int registry_open(const char *domain, const char *path, bool push,
		  const struct host_config *hc, struct registry **out, struct err *err);
void registry_close(struct registry *reg);
/* Ask for another repository's pull access too (a cross-repository mount). */
void registry_scope_add(struct registry *reg, const char *other_path);
/* Use these credentials instead of the stored ones (login checks them before
 * it stores them). A path of NULL to registry_open asks for no repository. */
void registry_set_credentials(struct registry *reg, const char *user, const char *password);
/* The URL a request path maps to (for messages). Caller frees. */
char *registry_url(struct registry *reg, const char *path);

/* The body sink: return len to go on, anything else aborts the transfer. */
typedef size_t (*registry_data_fn)(void *ctx, const void *data, size_t len);

struct registry_request {
	const char *method;          /* "GET", "HEAD", "PUT", "POST", "PATCH", "DELETE" */
	/* Relative to /v2/PATH/ ("manifests/latest", "blobs/sha256:...",
	 * "blobs/uploads/?mount=..."), or absolute ("/v2/..." on this registry, or
	 * "http(s)://..." such as an upload's Location, which gets auth only on
	 * this registry's host). */
	const char *path;
	const char *const *headers;  /* "Name: value", NULL-terminated, or NULL */
	const void *body;            /* request body from memory, or NULL */
	size_t body_len;
	int body_fd;                 /* or from an fd (body NULL, body_fd >= 0); -1: none */
	long long body_fd_len;       /* bytes to send from body_fd (its offset on) */
	long long range_from;        /* > 0: "Range: bytes=N-" */
	registry_data_fn on_data;    /* response body sink; NULL buffers it (bounded) */
	void *ctx;
};

struct registry_response {
	long status;                 /* HTTP status of the last response */
	char *content_type;          /* headers of the last response, or NULL */
	char *docker_digest;         /* Docker-Content-Digest */
	char *location;              /* Location */
	char *range;                 /* Range (upload progress) */
	char *www_authenticate;      /* the challenge of a 401 */
	long long content_length;    /* -1 when unknown */
	char *body;                  /* buffered body when on_data was NULL, or an error
				      * body (NUL-terminated) */
	size_t body_len;
	void *priv;                  /* the transfer's state (registry_setup) */
};

/* Up to this much of a response body is buffered when on_data is NULL. */
#define REGISTRY_BODY_MAX (4u << 20)

/* A response starts zeroed with content_length -1 (or freed by
 * registry_response_free); registry_do and registry_setup free what it held.
 * One request: auth inside (a 401 gets a token for the challenge and the
 * request is tried once more), redirects followed (Authorization is not sent
 * to another host), 5xx and dropped connections are NOT retried here (the
 * caller knows whether its body can be sent again). Returns 0 when a response
 * arrived, whatever its status; -1 on a transport error (refused, TLS, ...). */
int registry_do(struct registry *reg, const struct registry_request *req,
		struct registry_response *resp, struct err *err);
void registry_response_free(struct registry_response *resp);

/* An error for a response that is not what was asked: the registry's error
 * body ({"errors":[{"code","message"}]}) in docker's words, such as
 * "manifest unknown: manifest unknown" or "pull access denied for NAME,
 * repository does not exist or may require 'docker login': denied: ...".
 * what: the object asked for ("manifest for NAME:TAG"). */
int registry_error(struct registry *reg, const struct registry_response *resp,
		   const char *what, struct err *err);

/* For callers that drive transfers themselves (pull's concurrent downloads):
 * set up a curl easy handle for req as registry_do would (URL, TLS, auth,
 * headers, callbacks), without performing it. *headers is owned by the
 * caller (curl_slist_free_all) after the transfer. */
struct curl_slist;
int registry_setup(struct registry *reg, void *curl_easy, const struct registry_request *req,
		   struct registry_response *resp, struct curl_slist **headers,
		   struct err *err);
/* After a 401 on such a transfer: read its challenge and get a new token, so
 * that the transfer can be set up and tried again. */
int registry_reauth(struct registry *reg, const struct registry_response *resp,
		    struct err *err);

#endif
