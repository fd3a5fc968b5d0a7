/* A path's lstat as one line of text, for docker's stat of a path in a
 * container (HEAD /containers/ID/archive): printed where the path is seen
 * as the container sees it (the guest's cp tool, the host's child chrooted
 * into a container's root) and read back on the host. */
#ifndef ISOBOX_UTIL_PATH_INFO_H
#define ISOBOX_UTIL_PATH_INFO_H

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

struct path_info {
	bool exists;
	mode_t mode;                     /* st_mode */
	long long size, mtime_sec;
	long mtime_nsec;
	char link[PATH_MAX];             /* a symlink's target resolved in the root, "" */
};

/* "TYPE MODE SIZE SEC NSEC\nLINK" (TYPE 'd', 'l' or 'f'; MODE octal), or "-"
 * when path is missing; -1 with errno when it cannot be looked at. */
int path_info_print(FILE *out, const char *path);
/* That text back; -1 when it is not one. */
int path_info_parse(const char *text, struct path_info *pi);

#endif
