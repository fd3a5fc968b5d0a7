/* USER[:GROUP] to numeric ids through the image's /etc/passwd and /etc/group. */
#ifndef ISOBOX_USER_H
#define ISOBOX_USER_H

#include <sys/types.h>
#include <jansson.h>

#include "util/err.h"

struct user_ids {
	uid_t uid;
	gid_t gid;
	gid_t gids[64];     /* supplementary groups the user is a member of */
	size_t n_gids;
};

/* Resolve spec ("", "name", "uid", "name:group", "uid:gid") with the files
 * found beneath the directories roots[0..n) (the first that has the file wins:
 * pass image layers top first). Paths never leave those roots. */
int user_resolve(const char *const *roots, size_t n, const char *spec, struct user_ids *ids,
		 struct err *err);

#endif
