#include "engine/user.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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
	_cleanup_close_ int fd = -1;
	struct stat st;
	FILE *f;

	if (dfd < 0)
		return NULL;
	fd = syscall(SYS_openat2, dfd, path, &how, sizeof(how));
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > USER_FILE_MAX)
		return NULL;
	f = fdopen(fd, "re");
	if (f)
		fd = -1;
	return f;
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

static bool parse_id(const char *s, unsigned *out)
{
	char *end;
	unsigned long v;

	if (!*s)
		return false;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v > 0x7fffffff)
		return false;
	*out = v;
	return true;
}

/* Field k (0-based) of a colon-separated line, in place. */
static char *field(char *line, int k)
{
	char *p = line;

	while (k-- > 0) {
		p = strchr(p, ':');
		if (!p)
			return NULL;
		p++;
	}
	return p;
}

static char *field_dup(char *line, int k)
{
	char *p = field(line, k);
	size_t n;

	if (!p)
		return NULL;
	n = strcspn(p, ":\n");
	return strndup(p, n);
}

static int lookup_passwd(FILE *f, const char *user, struct user_ids *ids, char *name_out,
			 size_t name_len, bool *found)
{
	char line[1024];

	while (f && fgets(line, sizeof(line), f)) {
		_cleanup_free_ char *name = field_dup(line, 0);
		_cleanup_free_ char *uid = field_dup(line, 2);
		_cleanup_free_ char *gid = field_dup(line, 3);
		unsigned u, g;

		if (!name || !uid || !gid || !parse_id(uid, &u) || !parse_id(gid, &g))
			continue;
		if (strcmp(name, user) && strcmp(uid, user))
			continue;
		ids->uid = u;
		ids->gid = g;
		snprintf(name_out, name_len, "%s", name);
		*found = true;
		return 0;
	}
	return 0;
}

/* Group by name or id; also collects the supplementary groups of username. */
static void scan_groups(FILE *f, const char *group, const char *username, struct user_ids *ids,
			bool *found)
{
	char line[4096];

	while (f && fgets(line, sizeof(line), f)) {
		_cleanup_free_ char *name = field_dup(line, 0);
		_cleanup_free_ char *gid = field_dup(line, 2);
		char *members = field(line, 3), *m, *save;
		unsigned g;

		if (!name || !gid || !parse_id(gid, &g))
			continue;
		if (group && (!strcmp(name, group) || !strcmp(gid, group))) {
			ids->gid = g;
			*found = true;
		}
		if (!username || !members)
			continue;
		members[strcspn(members, "\n")] = '\0';
		for (m = strtok_r(members, ",", &save); m; m = strtok_r(NULL, ",", &save))
			if (!strcmp(m, username) && ids->n_gids < 64)
				ids->gids[ids->n_gids++] = g;
	}
}

int user_resolve(const char *const *roots, size_t n, const char *spec, struct user_ids *ids,
		 struct err *err)
{
	_cleanup_free_ char *copy = xstrdup(spec ? spec : "");
	char *user = copy, *group = strchr(copy, ':');
	_cleanup_fclose_ FILE *pw = NULL, *gr = NULL;
	bool found = false;
	char name[256];
	unsigned num;

	memset(ids, 0, sizeof(*ids));
	if (group)
		*group++ = '\0';
	/* No user given: root, even in an image without /etc/passwd, as docker. */
	if (!*user)
		user = "0";
	pw = open_first(roots, n, "/etc/passwd");
	lookup_passwd(pw, user, ids, name, sizeof(name), &found);
	if (!found) {
		if (!parse_id(user, &num))
			return err_set(err, "unable to find user %s: no matching entries in "
				       "passwd file", user);
		ids->uid = num;
		ids->gid = 0;
		snprintf(name, sizeof(name), "%s", user);
	}
	gr = open_first(roots, n, "/etc/group");
	found = false;
	/* Group membership lists names: "-u 1000" finds the groups of its name. */
	scan_groups(gr, group, name, ids, &found);
	if (group && !found) {
		if (!parse_id(group, &num))
			return err_set(err, "unable to find group %s: no matching entries in "
				       "group file", group);
		ids->gid = num;
	}
	return 0;
}
