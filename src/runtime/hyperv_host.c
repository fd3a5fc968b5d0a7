/* What the engine needs of the hyperv backend, behind the runtime's header:
 * whether this host can run VMs and boots our kernels, and a container's
 * writable disk. */
#include "runtime/runtime.h"

#include <unistd.h>

#include "vmm/kvm.h"
#include "vmm/vm_backend.h"

int rt_hyperv_host_check(struct err *err)
{
	if (access("/dev/kvm", R_OK | W_OK) < 0)
		return err_set(err, "Hyper-V isolation needs /dev/kvm, and this host has none (no "
			       "hardware virtualization, or the kvm module is not loaded): run the "
			       "container with --isolation=process");
	return 0;
}

bool rt_hyperv_host_is_pvm(void)
{
	return kvm_host_is_pvm();
}

int rt_hyperv_upper_create(const char *path, struct err *err)
{
	return vm_upper_create(path, VM_UPPER_SIZE, err);
}

int rt_hyperv_disk_create(const char *path, long long size, struct err *err)
{
	return vm_upper_create(path, (uint64_t)size, err);
}
