/* Private to runtime/: runc's update of a container in a VM, as the limits
 * of the app's cgroup in the guest (FRAME_UPDATE). */
#ifndef ISOBOX_VM_UPDATE_H
#define ISOBOX_VM_UPDATE_H

#include <jansson.h>

#include "oci/spec.h"
#include "util/err.h"
#include "util/strv.h"

/* delta: the update's linux.resources; merged: the container's with it
 * applied; vm: the spec the VM booted with (its RAM and vCPUs). Fills sets
 * with "FILE VALUE"s for the guest; refuses, naming the value and why, what
 * a VM cannot honour: memory above its RAM, CPUs or memory nodes it does not
 * have, realtime CPU limits and block I/O weights. */
int vm_update_sets(json_t *delta, json_t *merged, const struct oci_spec *vm, struct strv *sets,
		   struct err *err);

#endif
