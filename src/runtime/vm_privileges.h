/* Private to runtime/: a hyperv container's privileges (capabilities,
 * no_new_privs, the compiled seccomp filter) as the guest applies them to
 * the app and to each exec'd process. */
#ifndef ISOBOX_VM_PRIVILEGES_H
#define ISOBOX_VM_PRIVILEGES_H

#include "oci/spec.h"
#include "process/seccomp.h"
#include "vmm/guest_config.h"

/* sec points into prog: free prog with seccomp_prog_free when done. */
int vm_privileges(const struct oci_spec *spec, const char *cache_dir, struct guest_security *sec,
		  struct seccomp_prog *prog, struct err *err);

#endif
