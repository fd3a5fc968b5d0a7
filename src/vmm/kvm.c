#include "vmm/kvm.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fs.h"

#define KVM_CPUID_MAX 256

bool kvm_host_is_pvm(void)
{
	return access("/sys/module/kvm_pvm", F_OK) == 0;
}

static int kvm_get_cpuid(struct kvm_vm *vm, struct err *err)
{
	vm->cpuid = xmalloc(sizeof(*vm->cpuid) + KVM_CPUID_MAX * sizeof(struct kvm_cpuid_entry2));
	vm->cpuid->nent = KVM_CPUID_MAX;
	if (ioctl(vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, vm->cpuid) < 0)
		return err_sys(err, errno, "KVM_GET_SUPPORTED_CPUID");
	return 0;
}

int kvm_vm_create(struct kvm_vm *vm, bool irqchip, struct err *err)
{
	int version;

	memset(vm, 0, sizeof(*vm));
	vm->vm_fd = -1;
	vm->pvm = kvm_host_is_pvm();
	vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0)
		return err_sys(err, errno, "open /dev/kvm%s", errno == ENOENT ?
			       " (no hardware virtualization or the kvm module is not loaded)" : "");
	version = ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0);
	if (version != KVM_API_VERSION)
		return err_set(err, "/dev/kvm speaks API version %d, isobox needs %d", version,
			       KVM_API_VERSION);
	vm->run_size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (vm->run_size <= 0)
		return err_sys(err, errno, "KVM_GET_VCPU_MMAP_SIZE");
	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0)
		return err_sys(err, errno, "KVM_CREATE_VM");
	if (fcntl(vm->vm_fd, F_SETFD, FD_CLOEXEC) < 0)
		return err_sys(err, errno, "set FD_CLOEXEC on the VM");
	if (kvm_get_cpuid(vm, err) < 0)
		return -1;
	if (!irqchip)
		return 0;
	/* The TSS and identity-map pages go just below the 4 GiB firmware hole. */
	if (ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, 0xfffbd000UL) < 0)
		return err_sys(err, errno, "KVM_SET_TSS_ADDR");
	if (ioctl(vm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &(uint64_t){ 0xfffbc000 }) < 0)
		return err_sys(err, errno, "KVM_SET_IDENTITY_MAP_ADDR");
	if (ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0)
		return err_sys(err, errno, "KVM_CREATE_IRQCHIP");
	if (ioctl(vm->vm_fd, KVM_CREATE_PIT2, &(struct kvm_pit_config){ .flags = 0 }) < 0)
		return err_sys(err, errno, "KVM_CREATE_PIT2");
	return 0;
}

void kvm_vm_destroy(struct kvm_vm *vm)
{
	size_t i;

	for (i = 0; i < vm->n_slots; i++)
		munmap(vm->slots[i].host, vm->slots[i].size);
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	free(vm->cpuid);
	memset(vm, 0, sizeof(*vm));
	vm->kvm_fd = vm->vm_fd = -1;
}

int kvm_vm_add_memory(struct kvm_vm *vm, uint64_t gpa, uint64_t size, bool shared,
		      void **host, struct err *err)
{
	struct kvm_userspace_memory_region region;
	void *mem;

	if (vm->n_slots == KVM_MAX_SLOTS)
		return err_set(err, "too many guest memory regions");
	if (size == 0 || (gpa | size) & 0xfff)
		return err_set(err, "guest memory region %#llx+%#llx is not page aligned",
			       (unsigned long long)gpa, (unsigned long long)size);
	if (shared) {
		_cleanup_close_ int fd = memfd_create("isobox-guest-ram", MFD_CLOEXEC);

		if (fd < 0 || ftruncate(fd, (off_t)size) < 0)
			return err_sys(err, errno, "make %llu MiB of shareable guest memory",
				       (unsigned long long)(size >> 20));
		mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd, 0);
	} else {
		mem = mmap(NULL, size, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	}
	if (mem == MAP_FAILED)
		return err_sys(err, errno, "map %llu MiB of guest memory",
			       (unsigned long long)(size >> 20));
	region = (struct kvm_userspace_memory_region){
		.slot = (uint32_t)vm->n_slots,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = (uint64_t)(uintptr_t)mem,
	};
	if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0) {
		int e = errno;

		munmap(mem, size);
		return err_sys(err, e, "KVM_SET_USER_MEMORY_REGION");
	}
	vm->slots[vm->n_slots++] = (struct kvm_slot){ .gpa = gpa, .size = size, .host = mem };
	if (host)
		*host = mem;
	return 0;
}

void *kvm_vm_gpa(const struct kvm_vm *vm, uint64_t gpa, uint64_t len)
{
	size_t i;

	for (i = 0; i < vm->n_slots; i++) {
		const struct kvm_slot *s = &vm->slots[i];

		/* Written so that no sum can overflow: gpa - s->gpa only when gpa >= s->gpa. */
		if (gpa >= s->gpa && gpa - s->gpa <= s->size && len <= s->size - (gpa - s->gpa))
			return (char *)s->host + (gpa - s->gpa);
	}
	return NULL;
}

/* What KVM_GET_SUPPORTED_CPUID leaves for the VMM to say: that there is a
 * hypervisor (without that bit a guest never looks at the hypervisor leaves,
 * so no kvm-clock) and which APIC this vCPU has. */
static void cpuid_for_vcpu(struct kvm_cpuid2 *cpuid, int id)
{
	uint32_t i;

	for (i = 0; i < cpuid->nent; i++) {
		struct kvm_cpuid_entry2 *e = &cpuid->entries[i];

		if (e->function == 1) {
			e->ecx |= 1u << 31;
			e->ebx = (e->ebx & 0x00ffffff) | ((uint32_t)id << 24);
		} else if (e->function == 0xb) {
			e->edx = (uint32_t)id;
		}
	}
}

int kvm_vcpu_create(struct kvm_vm *vm, int id, struct kvm_vcpu *vcpu, struct err *err)
{
	void *run;

	memset(vcpu, 0, sizeof(*vcpu));
	vcpu->id = id;
	vcpu->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, id);
	if (vcpu->fd < 0)
		return err_sys(err, errno, "KVM_CREATE_VCPU %d", id);
	if (fcntl(vcpu->fd, F_SETFD, FD_CLOEXEC) < 0)
		return err_sys(err, errno, "set FD_CLOEXEC on vCPU %d", id);
	run = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu->fd, 0);
	if (run == MAP_FAILED)
		return err_sys(err, errno, "map vCPU %d", id);
	vcpu->run = run;
	vcpu->run_size = vm->run_size;
	/* The hypervisor leaves (0x40000000+) stay as KVM reports them: a PVM
	 * guest kernel finds its hypervisor there. */
	cpuid_for_vcpu(vm->cpuid, id);
	if (ioctl(vcpu->fd, KVM_SET_CPUID2, vm->cpuid) < 0)
		return err_sys(err, errno, "KVM_SET_CPUID2 on vCPU %d", id);
	return 0;
}

void kvm_vcpu_destroy(struct kvm_vcpu *vcpu)
{
	if (vcpu->run)
		munmap(vcpu->run, vcpu->run_size);
	if (vcpu->fd > 0)
		close(vcpu->fd);
	memset(vcpu, 0, sizeof(*vcpu));
}

int kvm_vcpu_run(struct kvm_vcpu *vcpu, struct err *err)
{
	if (ioctl(vcpu->fd, KVM_RUN, 0) == 0)
		return 0;
	if (errno == EINTR || errno == EAGAIN) {
		vcpu->run->exit_reason = KVM_EXIT_INTR;
		return 0;
	}
	return err_sys(err, errno, "KVM_RUN on vCPU %d", vcpu->id);
}
