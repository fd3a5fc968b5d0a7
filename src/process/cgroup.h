/* Container cgroups on v1, v2 and hybrid hosts. On v1 and hybrid hosts each
 * controller isobox uses gets ROOT/<ctrl>/isobox/<id>; on a pure v2 host,
 * /sys/fs/cgroup/isobox/<id>. */
#ifndef ISOBOX_CGROUP_H
#define ISOBOX_CGROUP_H

#include <stdbool.h>
#include <sys/types.h>

#include "oci/spec.h"
#include "util/err.h"

#define CGROUP_MAX_DIRS 10

struct cgroup {
	bool unified;                    /* pure cgroup v2 */
	char *dirs[CGROUP_MAX_DIRS];     /* every directory the container is placed in */
	size_t n_dirs;
	char *memory_dir;                /* where memory limits and OOM events live */
};

/* Detect the layout and create the directories with the spec's limits. */
int cgroup_create(const char *id, const struct oci_spec *spec, struct cgroup *cg,
		  struct err *err);
/* The same at path, relative to each hierarchy's root (linux.cgroupsPath). */
int cgroup_create_at(const char *path, const struct oci_spec *spec, struct cgroup *cg,
		     struct err *err);
void cgroup_open_at(const char *path, struct cgroup *cg);
/* Apply the spec's memory, pids and cpu limits again (runc's update). */
int cgroup_update(const struct cgroup *cg, const struct oci_spec *spec, struct err *err);
/* On v1, a running container created without a cpuset cgroup gets one at
 * path (below each hierarchy's root), its processes moved in: runc's update
 * of cpuset limits. */
int cgroup_cpuset_join(struct cgroup *cg, const char *path, struct err *err);
/* Freeze or thaw every process of the cgroup (runc's pause, resume). */
int cgroup_freeze(const struct cgroup *cg, bool frozen, struct err *err);
bool cgroup_frozen(const struct cgroup *cg);
/* Recompute the directories of an existing container without creating anything. */
void cgroup_open(const char *id, struct cgroup *cg);
/* Move process pid (a child in a user namespace, which cannot move itself). */
int cgroup_enter_pid(const struct cgroup *cg, pid_t pid, struct err *err);
/* Move the calling process, which must be single-threaded, into the cgroup. */
int cgroup_enter_self(const struct cgroup *cg, struct err *err);
/* True when the kernel OOM-killed a process of this cgroup. */
bool cgroup_oom_killed(const struct cgroup *cg);
/* Kill what is left inside and remove the directories. */
int cgroup_destroy(struct cgroup *cg, struct err *err);
void cgroup_free(struct cgroup *cg);

#endif
