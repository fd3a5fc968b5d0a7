/* Private to runtime/: the host cgroup of a hyperv container's VMM, made
 * the same way by `isobox run` (monitor.c) and by isobox-runtime
 * (oci_runtime.c). */
#ifndef ISOBOX_VM_CGROUP_H
#define ISOBOX_VM_CGROUP_H

#include "oci/spec.h"
#include "process/cgroup.h"
#include "util/err.h"

/* The container's cgroup at path (as cgroup_create_at) with the limits that
 * bound the whole VM on the host. */
int vm_cgroup_create(const char *path, const struct oci_spec *spec, struct cgroup *cg,
		     struct err *err);
/* For vm_start.child_setup: the VMM joins cg (a struct cgroup *) itself,
 * before it touches the guest's memory, which is charged where first touched. */
int vm_cgroup_enter(void *cg, struct err *err);

#endif
