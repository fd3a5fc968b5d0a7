/* Credentials a request brings (docker's X-Registry-Auth, POST /auth's
 * body) as a docker config directory of the request's own, which the
 * isobox child it runs reads through DOCKER_CONFIG: the host's stored
 * logins are neither used for it nor written by it. */
#include "api/api.h"
#include "api/stream.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "engine/registry.h"
#include "util/base64.h"
#include "util/cleanup.h"
#include "util/fs.h"

/* The key config.json has for a registry: its domain, Docker Hub's URL. */
static const char *auth_key(const char *domain)
{
	return strcmp(domain, REGISTRY_DOCKER_HUB) ? domain : REGISTRY_DOCKER_HUB_AUTH_KEY;
}

int api_docker_config(const char *root, const char *server, const char *user,
		      const char *password, char **dir, struct err *err)
{
	_cleanup_free_ char *base = xasprintf("%s/tmp", root), *plain = NULL, *b64 = NULL;
	_cleanup_free_ char *path = NULL;
	_cleanup_json_ json_t *cfg = NULL;
	char *d;

	if (mkdir_p(base, 0700, err) < 0)
		return -1;
	d = xasprintf("%s/auth-XXXXXX", base);
	if (!mkdtemp(d)) {
		int e = errno;

		free(d);
		return err_sys(err, e, "make a directory in %s", base);
	}
	if (server) {
		plain = xasprintf("%s:%s", user, password);
		b64 = base64_encode(plain, strlen(plain));
		explicit_bzero(plain, strlen(plain));
		cfg = json_pack("{s:{s:{s:s}}}", "auths", server, "auth", b64);
	} else {
		cfg = json_pack("{s:{}}", "auths");
	}
	path = xasprintf("%s/config.json", d);
	if (!cfg || json_save_atomic(path, cfg, err) < 0) {
		rm_rf(d, &(struct err){ 0 });
		free(d);
		return -1;
	}
	chmod(path, 0600);
	*dir = d;
	return 0;
}

int api_registry_auth(const struct api_req *req, const char *ref, char **dir,
		      struct api_resp *resp)
{
	const char *h = req->header ? req->header(req->query_ctx, "X-Registry-Auth") : NULL;
	_cleanup_free_ char *text = NULL;
	_cleanup_json_ json_t *auth = NULL;
	struct registry_ref r;
	struct err err = { 0 };
	const char *user, *password;
	size_t len;
	int rc;

	*dir = NULL;
	if (!h || !*h)
		return 0;
	text = base64url_decode(h, &len);
	if (!text)
		text = base64_decode(h, &len);
	auth = text ? json_loadb(text, len, 0, NULL) : NULL;
	if (!json_is_object(auth)) {
		api_error(resp, 400, "invalid X-Registry-Auth header: want base64 of JSON");
		return -1;
	}
	user = json_string_value(json_object_get(auth, "username"));
	password = json_string_value(json_object_get(auth, "password"));
	if (!user || !*user || !password)
		return 0;                  /* "{}": the CLI's when it has none */
	if (registry_ref_parse(ref, &r, &err) < 0) {
		api_error(resp, 400, "%s", err.msg);
		return -1;
	}
	/* for the registry the reference names, whatever serveraddress says */
	rc = api_docker_config(req->ctx->root, auth_key(r.domain), user, password, dir, &err);
	registry_ref_free(&r);
	if (rc < 0) {
		api_error(resp, 500, "%s", err.msg);
		return -1;
	}
	return 0;
}

/* POST /auth: docker login's check, {"username", "password",
 * "serveraddress"}: `isobox login` against the registry with a config of
 * the request's own (dockerd stores nothing: the client keeps the login). */
void api_auth(const struct api_req *req, struct api_resp *resp)
{
	_cleanup_json_ json_t *body = req->body ? json_loadb(req->body, req->body_len, 0, NULL)
						: NULL;
	const char *user = json_string_value(json_object_get(body, "username"));
	const char *password = json_string_value(json_object_get(body, "password"));
	const char *server = json_string_value(json_object_get(body, "serveraddress"));
	_cleanup_free_ char *dir = NULL;
	struct err err = { 0 };
	int in[2], rc;

	if (!user || !*user || !password) {
		api_error(resp, 400, "username and password are required");
		return;
	}
	if (api_docker_config(req->ctx->root, NULL, NULL, NULL, &dir, &err) < 0) {
		api_error(resp, 500, "%s", err.msg);
		return;
	}
	if (pipe2(in, O_CLOEXEC) < 0) {
		rm_rf(dir, &(struct err){ 0 });
		api_error(resp, 500, "pipe: %s", strerror(errno));
		return;
	}
	rc = write_all(in[1], password, strlen(password));
	close(in[1]);
	if (rc == 0)
		rc = api_self_call(req->ctx, (const char *[]){ "login", "-u", user,
							      "--password-stdin", "--",
							      server && *server ? server :
							      REGISTRY_DOCKER_HUB, NULL },
				   in[0], dir, NULL, &err);
	else
		err_sys(&err, errno, "pass the password on");
	close(in[0]);
	rm_rf(dir, &(struct err){ 0 });
	if (rc < 0) {
		api_error(resp, strstr(err.msg, "nauthorized") || strstr(err.msg, "401") ||
				strstr(err.msg, "denied") ? 401 : 500, "%s", err.msg);
		return;
	}
	resp->status = 200;
	resp->json = json_pack("{s:s, s:s}", "Status", "Login Succeeded", "IdentityToken", "");
}
