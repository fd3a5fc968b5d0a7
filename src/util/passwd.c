#include "util/passwd.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int passwd_parse_id(const char *s, unsigned *out)
{
	char *end;
	unsigned long v;

	/* Digits only: strtoul would take a sign or leading blanks. */
	if (!s || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v > 0xfffffffeUL)
		return -1;
	*out = (unsigned)v;
	return 0;
}

FILE *passwd_fdopen(int fd, size_t max)
{
	struct stat st;
	FILE *f;

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size > max) {
		close(fd);
		return NULL;
	}
	f = fdopen(fd, "re");
	if (!f)
		close(fd);
	return f;
}

FILE *passwd_fopen(const char *path, size_t max)
{
	return passwd_fdopen(open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC), max);
}

/* Split line into at most n colon-separated fields, in place; their count.
 * Only that many of field[] are set. */
static int split(char *line, char **field, int n)
{
	int i;

	line[strcspn(line, "\n")] = '\0';
	for (i = 0; i < n && line; i++) {
		field[i] = line;
		line = strchr(line, ':');
		if (line)
			*line++ = '\0';
	}
	return i;
}

int passwd_find(FILE *f, const char *key, struct passwd_entry *e)
{
	char *line = NULL, *field[7];
	size_t cap = 0;
	unsigned want = 0;
	bool by_id = passwd_parse_id(key, &want) == 0;
	int found = -1;

	if (f)
		rewind(f);
	while (f && found < 0 && getline(&line, &cap, f) >= 0) {
		int n = split(line, field, 7);
		unsigned uid, gid;

		if (n < 4 || passwd_parse_id(field[2], &uid) < 0 ||
		    passwd_parse_id(field[3], &gid) < 0)
			continue;
		if (by_id ? uid != want : strcmp(field[0], key) != 0)
			continue;
		if (strlen(field[0]) >= sizeof(e->name))
			continue;
		strcpy(e->name, field[0]);
		e->uid = uid;
		e->gid = gid;
		/* A home too long for us is no home, as an empty one. */
		if (n < 6 || !*field[5] || strlen(field[5]) >= sizeof(e->home))
			strcpy(e->home, "/");
		else
			strcpy(e->home, field[5]);
		found = 0;
	}
	free(line);
	return found;
}

/* Walk the group file: the gid of the group key (if key), and the groups
 * that list member (if member) appended to u. */
static int group_scan(FILE *f, const char *key, unsigned *gid, const char *member,
		      struct passwd_user *u)
{
	char *line = NULL, *field[4];
	size_t cap = 0;
	unsigned want = 0;
	bool by_id = key && passwd_parse_id(key, &want) == 0;
	int found = -1;

	if (f)
		rewind(f);
	while (f && getline(&line, &cap, f) >= 0) {
		int n = split(line, field, 4);
		char *m, *save;
		unsigned g;

		if (n < 3 || passwd_parse_id(field[2], &g) < 0)
			continue;
		if (key && found < 0 && (by_id ? g == want : !strcmp(field[0], key))) {
			*gid = g;
			found = 0;
			if (!member)
				break;
		}
		/* A line of three fields has no member list (field[3] is the last line's). */
		if (!member || n < 4)
			continue;
		for (m = strtok_r(field[3], ",", &save); m; m = strtok_r(NULL, ",", &save))
			if (!strcmp(m, member)) {
				passwd_user_add_gid(u, g);
				break;
			}
	}
	free(line);
	return found;
}

int group_find(FILE *f, const char *key, unsigned *gid)
{
	return group_scan(f, key, gid, NULL, NULL);
}

void passwd_user_add_gid(struct passwd_user *u, unsigned gid)
{
	if (u->n_gids < PASSWD_MAX_GROUPS)
		u->gids[u->n_gids++] = gid;
}

int passwd_user_resolve(FILE *passwd, FILE *group, const char *spec, struct passwd_user *u)
{
	char user[PASSWD_NAME_MAX], *grp;
	struct passwd_entry e;
	bool named;

	memset(u, 0, sizeof(*u));
	if (strlen(spec) >= sizeof(user))
		return PASSWD_NO_USER;
	strcpy(user, spec);
	grp = strchr(user, ':');
	if (grp)
		*grp++ = '\0';
	/* No user given: root, even in an image without /etc/passwd, as docker. */
	if (!*user)
		strcpy(user, "0");
	named = passwd_find(passwd, user, &e) == 0;
	if (named) {
		u->uid = e.uid;
		u->gid = e.gid;
		strcpy(u->home, e.home);
	} else if (passwd_parse_id(user, &u->uid) == 0) {
		u->gid = 0;
		strcpy(u->home, "/");
	} else {
		return PASSWD_NO_USER;
	}
	if (grp && (!*grp ||
		    (passwd_parse_id(grp, &u->gid) < 0 && group_find(group, grp, &u->gid) < 0)))
		return PASSWD_NO_GROUP;
	/* docker (moby 20.10.24 on) lists the primary group too; runc adds the
	 * groups naming the user only when no group was given. */
	passwd_user_add_gid(u, u->gid);
	if (!grp && named)
		group_scan(group, NULL, NULL, e.name, u);
	return PASSWD_OK;
}
