/* docker login's check of credentials against a registry, before they are
 * stored: GET /v2/ with them, by Basic auth or through the registry's token
 * service (a token for no repository), as the registry's challenge asks. */
#ifndef ISOBOX_LOGIN_H
#define ISOBOX_LOGIN_H

#include "util/err.h"

struct host_config;
/* host: "127.0.0.1:5000", or Docker Hub's "https://index.docker.io/v1/".
 * Fails with docker's words: "Get \"https://HOST/v2/\": unauthorized: ..."
 * or "login attempt to URL failed with status: 401 Unauthorized". */
int login_verify(const struct host_config *hc, const char *host, const char *user,
		 const char *password, struct err *err);

#endif
