/* USER[:GROUP] to numeric ids through the image's /etc/passwd and /etc/group. */
#ifndef ISOBOX_USER_H
#define ISOBOX_USER_H

#include <sys/types.h>
#include <jansson.h>

#include "util/err.h"
#include "util/passwd.h"

struct user_ids {
	uid_t uid;
	gid_t gid;
	/* The supplementary groups as docker sets them: the primary gid, the
	 * groups that list the user (without an explicit group), then any
	 * --group-add ones. */
	gid_t gids[PASSWD_MAX_GROUPS];
	size_t n_gids;
};

/* Resolve spec ("", "name", "uid", "name:group", "uid:gid") with the files
 * found beneath the directories roots[0..n) (the first that has the file wins:
 * pass image layers top first). Paths never leave those roots. */
int user_resolve(const char *const *roots, size_t n, const char *spec, struct user_ids *ids,
		 struct err *err);

/* docker's --group-add: each a group name (looked up in the same files) or
 * number, appended to ids->gids. */
int user_group_add(const char *const *roots, size_t n, const char *const *groups,
		   size_t n_groups, struct user_ids *ids, struct err *err);

#endif
