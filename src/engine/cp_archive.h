/* docker cp's tar streams: a path beneath a root written as a tar, and a tar
 * unpacked into a directory beneath a root. Every path is resolved as a
 * process chrooted there would see it (openat2 RESOLVE_IN_ROOT): a symlink in
 * a container, or in a tar, never leads out of the root. */
#ifndef ISOBOX_CP_ARCHIVE_H
#define ISOBOX_CP_ARCHIVE_H

#include <limits.h>
#include <stdbool.h>

#include "util/err.h"

struct cp_stat {
	bool exists, is_dir, is_link;
};

/* path beneath root_fd (follow: its last symlink too). A missing path is no
 * error: exists is false. */
int cp_path_stat(int root_fd, const char *path, bool follow, struct cp_stat *st,
		 struct err *err);

/* The tar of path beneath root_fd on out_fd (not closed): its entries are
 * named after path's last component ("/": its contents), or after as when
 * not NULL ("": the contents, as for "/"). */
int cp_archive_write(int root_fd, const char *path, bool follow, const char *as, int out_fd,
		     struct err *err);

struct cp_extract {
	const char *dir;           /* beneath the root; must be a directory */
	const char *rebase_from;   /* an entry's first component this ... */
	const char *rebase_to;     /* ... becomes this ("": dropped; NULL: as is) */
	bool keep_owner;           /* the tar's uid/gid, else 0:0 */
};

/* Unpack the tar on in_fd into o->dir beneath root_fd. */
int cp_archive_extract(int root_fd, int in_fd, const struct cp_extract *o, struct err *err);

/* The tar on in_fd again on out_fd, its names as cp_archive_extract would
 * take them: "./" and "/" dropped, names with ".." left out, a first
 * component from renamed to (as rebase_from/rebase_to). */
int cp_archive_rename(int in_fd, int out_fd, const char *from, const char *to, struct err *err);

#endif
