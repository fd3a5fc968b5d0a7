/* Private to runtime/: `exec` in a hyperv container, a session with the
 * guest agent through the VMM's exec socket. */
#ifndef ISOBOX_EXEC_VM_H
#define ISOBOX_EXEC_VM_H

#include "oci/spec.h"
#include "runtime/runtime.h"

/* spec: the container's, with exec's overrides; re->user is looked up in
 * the guest. *exit_code is the process's status, 137 when the container
 * stopped under it. */
int exec_vm(const struct rt_exec *re, const struct oci_spec *spec, int *exit_code,
	    struct err *err);

/* runc's update in a VM: FRAME_UPDATE's records (vmm/guest_config.h's
 * guest_update_build) to the guest, which applies them to the app's cgroup;
 * its refusal becomes err. */
int exec_vm_update(const char *dir, const void *records, size_t len, struct err *err);

#endif
