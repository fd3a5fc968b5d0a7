/* docker's credential helpers: `docker-credential-NAME get|store|erase` on
 * PATH, as config.json's "credsStore" (every registry) or "credHelpers"
 * (one registry) names them. The protocol of docker-credential-helpers:
 * get and erase read the server on stdin; get prints {"ServerURL",
 * "Username","Secret"}; store reads that object. */
#ifndef ISOBOX_CRED_HELPER_H
#define ISOBOX_CRED_HELPER_H

#include <stdbool.h>

#include "util/err.h"

/* A helper name config.json may give: letters, digits, '.', '_', '-'. */
bool cred_helper_name_valid(const char *name);
/* 0 with both NULL when the helper has none for server. */
int cred_helper_get(const char *name, const char *server, char **user, char **secret,
		    struct err *err);
int cred_helper_store(const char *name, const char *server, const char *user,
		      const char *secret, struct err *err);
/* 0 also when the helper had nothing for server. */
int cred_helper_erase(const char *name, const char *server, struct err *err);

#endif
