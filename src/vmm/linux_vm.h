/* A Linux guest from kernel to exit: memory, the kernel and initramfs loaded,
 * its vCPUs (a thread each), the legacy devices a PC kernel probes (UART,
 * CMOS clock, i8042 reset line), and the exit paths: the guest's status on the debug-exit port,
 * a reset, a triple fault, or the boot timeout. */
#ifndef ISOBOX_LINUX_VM_H
#define ISOBOX_LINUX_VM_H

#include <stdbool.h>
#include <stdint.h>

#include "util/err.h"
#include "vmm/vm_devices.h"

#define LINUX_VM_EXIT_PORT 0xf4
#define LINUX_VM_MAX_VCPUS 16
/* What a container's guest boots with: the log on the UART, a reset (not a
 * hang) on panic, through the keyboard controller; no time lost on probes. */
#define LINUX_VM_CONTAINER_CMDLINE "console=ttyS0 quiet reboot=k panic=-1 pci=off i8042.noaux"

struct linux_vm_config {
	const char *kernel;          /* bzImage or PVH vmlinux */
	const char *initrd;          /* may be NULL */
	const char *init;            /* appended to the initramfs as /init, or NULL */
	const char *cmdline;
	uint64_t mem_bytes;
	unsigned n_vcpus;            /* 0: one */
	int serial_fd;               /* the guest kernel's log; -1 discards it */
	uint64_t serial_limit;       /* bytes of log kept; a flooding guest is cut off */
	unsigned timeout_ms;         /* 0: none */
	const struct vm_container_io *io;  /* the container's stdio and disks; NULL: none */
};

struct linux_vm_exit {
	int status;                  /* the byte the guest wrote to the exit port */
	bool oom_killed;             /* the agent said the app was killed for memory */
};

int linux_vm_run(const struct linux_vm_config *c, struct linux_vm_exit *exit, struct err *err);

#endif
