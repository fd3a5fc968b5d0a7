/* A "cgroup" mount of the OCI spec (docker's /sys/fs/cgroup): the
 * container's own cgroups, as runc mounts them. On a cgroup2 host the unified
 * hierarchy; on v1 and hybrid hosts a tmpfs with each v1 hierarchy the host
 * has under /sys/fs/cgroup, by the host's names, and links for combined ones
 * (cpu -> cpu,cpuacct). In a cgroup namespace each mount's root is the
 * container's cgroup; without one the container's directory is bound. */
#ifndef ISOBOX_CGROUP_VIEW_H
#define ISOBOX_CGROUP_VIEW_H

#include <stdbool.h>

#include "util/err.h"

/* Before pivot_root, in the container's mount namespace, once the process is
 * in its cgroups: dest beneath rootfd, flags the mount's MS_ flags. */
int cgroup_view_mount(int rootfd, const char *dest, unsigned long flags, bool cgroupns,
		      struct err *err);

#endif
