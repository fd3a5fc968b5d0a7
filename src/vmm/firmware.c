#include "vmm/firmware.h"

#include <string.h>

#include "vmm/kvm.h"
#include "vmm/vmm_seccomp.h"

#define FIRMWARE_TOP 0x100000000ULL
#define FIRMWARE_MAX_EXITS 100000

static int firmware_io(struct kvm_vcpu *vcpu, int *exit_value, int *done, struct err *err)
{
	struct kvm_run *run = vcpu->run;
	const uint8_t *data;

	if (run->io.direction != KVM_EXIT_IO_OUT || run->io.port != FIRMWARE_EXIT_PORT)
		return 0;    /* other ports read as all ones and swallow writes */
	/* data_offset comes from the kernel, but check it against the mapping anyway. */
	if (run->io.data_offset >= vcpu->run_size || run->io.size == 0 ||
	    run->io.size > vcpu->run_size - run->io.data_offset)
		return err_set(err, "bad I/O exit from KVM");
	data = (const uint8_t *)run + run->io.data_offset;
	*exit_value = data[0];
	*done = 1;
	return 0;
}

static int firmware_loop(struct kvm_vcpu *vcpu, int *exit_value, struct err *err)
{
	int done = 0, n;

	for (n = 0; n < FIRMWARE_MAX_EXITS && !done; n++) {
		if (kvm_vcpu_run(vcpu, err) < 0)
			return -1;
		switch (vcpu->run->exit_reason) {
		case KVM_EXIT_IO:
			if (firmware_io(vcpu, exit_value, &done, err) < 0)
				return -1;
			break;
		case KVM_EXIT_INTR:
		case KVM_EXIT_MMIO:
			break;
		case KVM_EXIT_HLT:
			return err_set(err, "the firmware halted without writing to port %#x",
				       FIRMWARE_EXIT_PORT);
		case KVM_EXIT_SHUTDOWN:
			return err_set(err, "the firmware triple-faulted (KVM_EXIT_SHUTDOWN)");
		default:
			return err_set(err, "the firmware stopped with KVM exit reason %u",
				       vcpu->run->exit_reason);
		}
	}
	return done ? 0 : err_set(err, "the firmware did not finish in %d exits",
				   FIRMWARE_MAX_EXITS);
}

int firmware_run(const void *image, size_t len, uint64_t ram_bytes, int *exit_value,
		 struct err *err)
{
	uint64_t size = (len + 0xfff) & ~0xfffULL;
	struct kvm_vm vm;
	struct kvm_vcpu vcpu = { .fd = -1 };
	void *rom;
	int r = -1;

	if (len == 0 || len > FIRMWARE_MAX_SIZE)
		return err_set(err, "a firmware image has 1 byte to %u MiB, not %zu bytes",
			       FIRMWARE_MAX_SIZE >> 20, len);
	/* Real-mode firmware needs no interrupt controller or timer: the PIT alone
	 * costs a kernel thread (~3 ms). Linux guests get both. */
	if (kvm_vm_create(&vm, false, err) < 0)
		goto out;
	if (ram_bytes && kvm_vm_add_memory(&vm, 0, ram_bytes, false, NULL, err) < 0)
		goto out;
	if (kvm_vm_add_memory(&vm, FIRMWARE_TOP - size, size, false, &rom, err) < 0)
		goto out;
	/* The image ends at 4 GiB, so its last 16 bytes hold the reset vector. */
	memcpy((char *)rom + (size - len), image, len);
	if (kvm_vcpu_create(&vm, 0, &vcpu, err) < 0 || vmm_seccomp_install(err) < 0)
		goto out;
	r = firmware_loop(&vcpu, exit_value, err);
out:
	kvm_vcpu_destroy(&vcpu);
	kvm_vm_destroy(&vm);
	return r;
}
