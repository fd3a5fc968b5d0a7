/* passwd(5) and group(5) entries, read the way runc's libcontainer/user
 * reads them: one parser for the engine (an image's files, on the host) and
 * the guest agent (the container's own files, in the VM). Lines are read
 * whole; malformed ones are skipped. Everything here is hostile input. */
#ifndef ISOBOX_UTIL_PASSWD_H
#define ISOBOX_UTIL_PASSWD_H

#include <stdio.h>

#define PASSWD_NAME_MAX 256
#define PASSWD_HOME_MAX 4096
#define PASSWD_MAX_GROUPS 64

struct passwd_entry {
	char name[PASSWD_NAME_MAX];
	unsigned uid, gid;
	char home[PASSWD_HOME_MAX];
};

/* The resolved "user[:group]" of a process, as docker and runc make it. */
struct passwd_user {
	unsigned uid, gid;
	char home[PASSWD_HOME_MAX];     /* "/" when the user has no entry */
	/* The supplementary groups: the primary gid, then (without an explicit
	 * group) every group that lists the user's name; extra ones after. */
	unsigned gids[PASSWD_MAX_GROUPS];
	size_t n_gids;
};

enum { PASSWD_OK = 0, PASSWD_NO_USER = -1, PASSWD_NO_GROUP = -2 };

/* A decimal id, digits only, at most 0xfffffffe ((uid_t)-1 is no id); 0, or -1. */
int passwd_parse_id(const char *s, unsigned *out);
/* A regular file of at most max bytes opened without following a FIFO or a
 * device into a hang (O_NONBLOCK); NULL otherwise. */
FILE *passwd_fopen(const char *path, size_t max);
FILE *passwd_fdopen(int fd, size_t max);       /* takes fd, closes it on failure */

/* The first entry named key or, when key is a number, with that uid. 0, or -1. */
int passwd_find(FILE *f, const char *key, struct passwd_entry *e);
/* The first group named key or, when key is a number, with that gid. 0, or -1. */
int group_find(FILE *f, const char *key, unsigned *gid);

/* spec "user[:group]" ("" is root) through the passwd and group files (either
 * may be NULL: absent): PASSWD_OK, PASSWD_NO_USER (a name not in passwd) or
 * PASSWD_NO_GROUP (a group name not in group). A number not in passwd is
 * that uid with gid 0 and home "/", as runc. */
int passwd_user_resolve(FILE *passwd, FILE *group, const char *spec, struct passwd_user *u);

/* Append gid to u's supplementary groups (dropped past PASSWD_MAX_GROUPS). */
void passwd_user_add_gid(struct passwd_user *u, unsigned gid);

#endif
