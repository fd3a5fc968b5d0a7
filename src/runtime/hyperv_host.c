/* What the engine needs of the hyperv backend, behind the runtime's header:
 * whether this host's KVM boots our kernels, and a container's writable disk. */
#include "runtime/runtime.h"

#include "vmm/kvm.h"
#include "vmm/vm_backend.h"

bool rt_hyperv_host_is_pvm(void)
{
	return kvm_host_is_pvm();
}

int rt_hyperv_upper_create(const char *path, struct err *err)
{
	return vm_upper_create(path, VM_UPPER_SIZE, err);
}
