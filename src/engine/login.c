/* login_verify (see login.h) over the registry client. */
#include <string.h>

#include "engine/login.h"
#include "engine/registry.h"
#include "util/cleanup.h"
#include "util/fs.h"

int login_verify(const struct host_config *hc, const char *host, const char *user,
		 const char *password, struct err *err)
{
	const char *domain = strcmp(host, REGISTRY_DOCKER_HUB_AUTH_KEY) ? host :
			     REGISTRY_DOCKER_HUB;
	struct registry_request req = { .method = "GET", .path = "/v2/", .body_fd = -1 };
	struct registry_response resp = { .content_length = -1 };
	struct registry *reg = NULL;
	_cleanup_free_ char *url = NULL;
	int r = -1;

	if (registry_open(domain, NULL, false, hc, &reg, err) < 0)
		return -1;
	registry_set_credentials(reg, user, password);
	if (registry_do(reg, &req, &resp, err) < 0)
		goto out;
	if (resp.status == 200) {
		r = 0;
		goto out;
	}
	url = registry_url(reg, "/v2/");
	if (resp.status == 401)
		err_set(err, "login attempt to %s failed with status: 401 Unauthorized", url);
	else
		registry_error(reg, &resp, "login", err);
out:
	registry_response_free(&resp);
	registry_close(reg);
	return r;
}
