#include "engine/user.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fs.h"

#define USER_FILE_MAX (4 << 20)

/* Open a file beneath root, resolving symlinks as if root were "/". Only a
 * regular file of sane size: an image's FIFO or device node must not hang us. */
static FILE *open_in_root(const char *root, const char *path)
{
	struct open_how how = { .flags = O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC,
				.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
	_cleanup_close_ int dfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);

	if (dfd < 0)
		return NULL;
	return passwd_fdopen((int)syscall(SYS_openat2, dfd, path, &how, sizeof(how)),
			     USER_FILE_MAX);
}

static FILE *open_first(const char *const *roots, size_t n, const char *path)
{
	size_t i;
	FILE *f;

	for (i = 0; i < n; i++)
		if ((f = open_in_root(roots[i], path)))
			return f;
	return NULL;
}

int user_resolve(const char *const *roots, size_t n, const char *spec, struct user_ids *ids,
		 struct err *err)
{
	_cleanup_fclose_ FILE *pw = open_first(roots, n, "/etc/passwd");
	_cleanup_fclose_ FILE *gr = open_first(roots, n, "/etc/group");
	const char *group;
	struct passwd_user u;
	size_t i;
	int r;

	memset(ids, 0, sizeof(*ids));
	spec = spec ? spec : "";
	r = passwd_user_resolve(pw, gr, spec, &u);
	if (r == PASSWD_NO_USER)
		return err_set(err, "unable to find user %.*s: no matching entries in passwd file",
			       (int)strcspn(spec, ":"), spec);
	group = strchr(spec, ':');
	if (r == PASSWD_NO_GROUP)
		return err_set(err, "unable to find group %s: no matching entries in group file",
			       group ? group + 1 : "");
	ids->uid = u.uid;
	ids->gid = u.gid;
	for (i = 0; i < u.n_gids; i++)
		ids->gids[i] = u.gids[i];
	ids->n_gids = u.n_gids;
	return 0;
}

int user_group_add(const char *const *roots, size_t n, const char *const *groups,
		   size_t n_groups, struct user_ids *ids, struct err *err)
{
	_cleanup_fclose_ FILE *gr = n_groups ? open_first(roots, n, "/etc/group") : NULL;
	size_t i;

	for (i = 0; i < n_groups; i++) {
		unsigned gid;

		if (passwd_parse_id(groups[i], &gid) < 0 && group_find(gr, groups[i], &gid) < 0)
			return err_set(err, "Unable to find group %s: no matching entries in "
				       "group file", groups[i]);
		if (ids->n_gids >= PASSWD_MAX_GROUPS)
			return err_set(err, "too many groups: at most %d", PASSWD_MAX_GROUPS);
		ids->gids[ids->n_gids++] = gid;
	}
	return 0;
}
