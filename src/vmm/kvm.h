/* The KVM layer of the VMM: the VM, its memory slots and its vCPUs. Only
 * /dev/kvm ioctls; no device here (devices/ and the buses sit above). */
#ifndef ISOBOX_KVM_H
#define ISOBOX_KVM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/kvm.h>

#include "util/err.h"

#define KVM_MAX_SLOTS 8

struct kvm_slot {
	uint64_t gpa;
	uint64_t size;
	void *host;
};

struct kvm_vm {
	int kvm_fd;
	int vm_fd;
	int run_size;                 /* size of each vCPU's struct kvm_run mapping */
	bool pvm;                     /* /dev/kvm is the kvm_pvm software hypervisor */
	struct kvm_slot slots[KVM_MAX_SLOTS];
	size_t n_slots;
	struct kvm_cpuid2 *cpuid;     /* KVM_GET_SUPPORTED_CPUID, hypervisor leaves untouched */
};

struct kvm_vcpu {
	int fd;
	int id;
	struct kvm_run *run;
	size_t run_size;
};

/* True when the host's /dev/kvm is PVM (it boots only CONFIG_PVM_GUEST kernels). */
bool kvm_host_is_pvm(void);

/* Open /dev/kvm and create a VM (with the in-kernel irqchip and PIT when
 * irqchip is true). */
int kvm_vm_create(struct kvm_vm *vm, bool irqchip, struct err *err);
void kvm_vm_destroy(struct kvm_vm *vm);

/* MAP_NORESERVE memory at gpa: only touched pages cost the host. Anonymous
 * and private, or, when shared, a memfd mapped MAP_SHARED: a process forked
 * after this call (a virtio-fs server) reads and writes the same guest RAM. */
int kvm_vm_add_memory(struct kvm_vm *vm, uint64_t gpa, uint64_t size, bool shared,
		      void **host, struct err *err);

/* The host address of [gpa, gpa+len) when it lies wholly inside one slot, else
 * NULL. Every guest-supplied address goes through here. */
void *kvm_vm_gpa(const struct kvm_vm *vm, uint64_t gpa, uint64_t len);

int kvm_vcpu_create(struct kvm_vm *vm, int id, struct kvm_vcpu *vcpu, struct err *err);
void kvm_vcpu_destroy(struct kvm_vcpu *vcpu);
/* KVM_RUN once; EINTR is not an error (returns 0 with exit_reason KVM_EXIT_INTR). */
int kvm_vcpu_run(struct kvm_vcpu *vcpu, struct err *err);

#endif
