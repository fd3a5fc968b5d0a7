/* Registry credentials in docker's client config: $DOCKER_CONFIG/config.json,
 * else ~/.docker/config.json (HOME of the caller). {"auths": {"HOST": {"auth":
 * base64("user:password")}}}, as `docker login` writes it, so that credentials
 * written by either tool serve both. Other keys of the file are kept as they
 * are when isobox writes it. Docker Hub's key is "https://index.docker.io/v1/".
 * As docker, a registry named in "credHelpers", or every registry when
 * "credsStore" is set, keeps its secret in that credential helper
 * (engine/cred_helper.h) and only an empty entry under "auths". */
#ifndef ISOBOX_AUTH_CONFIG_H
#define ISOBOX_AUTH_CONFIG_H

#include "util/err.h"

/* The file in use (malloc'ed). */
char *auth_config_path(void);
/* Credentials for registry host ("127.0.0.1:5000", "docker.io"); 0 with both
 * NULL when there are none; -1 when the file is unreadable or malformed. */
int auth_config_get(const char *host, char **user, char **password, struct err *err);
/* Store (login) or remove (logout; 0 even when absent, *had says whether
 * there was an entry) the credentials of host, atomically, mode 0600. */
int auth_config_set(const char *host, const char *user, const char *password,
		    struct err *err);
int auth_config_remove(const char *host, int *had, struct err *err);
/* The credential helper that keeps host's secret (malloc'ed), or NULL when
 * the file does (or cannot be read). */
char *auth_config_helper(const char *host);

#endif
