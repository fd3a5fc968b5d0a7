#include "runtime/vm_cgroup.h"

#include "util/cleanup.h"
#include "vmm/vm_backend.h"

/* What the VMM needs beyond the guest's memory (its own, its disk cache),
 * and threads (vCPUs, I/O, exec sessions). */
#define VM_HOST_MEMORY_OVERHEAD (64LL << 20)
#define VM_HOST_PIDS_MIN 32

/* Memory: the whole VM's (the guest's memory, fixed when it boots, and the
 * VMM's own), with or without -m: nothing a guest does makes the VMM use
 * more. Swap, asked for with -m only, moves up by as much as the limit does. */
static void vm_host_memory(const struct oci_spec *spec, json_t *res, struct oci_spec *host)
{
	json_t *mem = json_object_get(res, "memory");
	json_t *swap = json_object_get(mem, "swap");

	host->memory_limit = (long long)vm_memory_size(spec) + VM_HOST_MEMORY_OVERHEAD;
	if (spec->memory_limit <= 0)
		json_object_del(mem, "swap");
	else if (json_is_integer(swap) && json_integer_value(swap) > 0)
		json_object_set_new(mem, "swap",
				    json_integer(json_integer_value(swap) - spec->memory_limit +
						 host->memory_limit));
	json_object_del(mem, "kernel");
	json_object_del(mem, "kernelTCP");
}

/* The VMM runs in the container's cgroup on the host, as Kata's does, where
 * engines look for runc's usage figures and limits: the spec's, except that
 * memory is the whole VM's, the pids limit leaves the VMM its threads, and
 * devices stay open to it (/dev/kvm; the guest has its own /dev and device
 * policy, and the VMM's seccomp filter bounds it). Inside the guest the
 * spec's limits hold for the container's processes. */
int vm_cgroup_create(const char *path, const struct oci_spec *spec, struct cgroup *cg,
		     struct err *err)
{
	_cleanup_json_ json_t *res = spec->resources ? json_deep_copy(spec->resources)
						      : json_object();
	struct oci_spec host = *spec;

	vm_host_memory(spec, res, &host);
	if (spec->pids_limit > 0 && spec->pids_limit < VM_HOST_PIDS_MIN)
		host.pids_limit = VM_HOST_PIDS_MIN;
	host.devices_allow_all = true;
	host.resources = res;
	return cgroup_create_at(path, &host, cg, err);
}

int vm_cgroup_enter(void *cg, struct err *err)
{
	return cgroup_enter_self(cg, err);
}
