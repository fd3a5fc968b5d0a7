/* A container's filesystem as the container sees it, for docker cp: a
 * running process container's root (/proc/PID/root, its volumes mounted), or
 * a stopped one's image layers and upper directory (a hyperv container's on
 * its ext4 disk) mounted as an overlay with its volumes and binds on top, in
 * a mount namespace of a child's own (the host never sees it; it goes away
 * with the child). A running hyperv container's is its guest's: engine/vm_cp.h. */
#ifndef ISOBOX_CONTAINER_FS_H
#define ISOBOX_CONTAINER_FS_H

#include <sys/types.h>

#include "engine/container.h"
#include "util/err.h"

/* Runs in the child with the container's root directory. */
typedef int (*container_fs_fn)(int root_fd, void *arg, struct err *err);

struct container_fs_job {
	pid_t pid;
	int msg_fd;
	int child_close;   /* the parent's end of a data pipe: closed in the child */
};

/* Start fn in a child; job->child_close is read before. */
int container_fs_start(const struct container *c, container_fs_fn fn, void *arg,
		       struct container_fs_job *job, struct err *err);
/* Wait for it: its error (errnum kept) or 0. */
int container_fs_wait(struct container_fs_job *job, struct err *err);

#endif
