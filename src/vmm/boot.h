/* Loading a Linux kernel into guest memory: a bzImage through the 64-bit boot
 * protocol (boot_params, e820, command line, initramfs), or an uncompressed
 * ELF vmlinux through its PVH entry (hvm_start_info). Every offset and size
 * taken from the image is checked against the image and guest memory. */
#ifndef ISOBOX_BOOT_H
#define ISOBOX_BOOT_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"
#include "vmm/kvm.h"

enum boot_mode {
	BOOT_LINUX64,     /* long mode, paging on, rsi = boot_params */
	BOOT_PVH,         /* 32-bit protected mode, paging off, ebx = hvm_start_info */
};

struct boot_entry {
	enum boot_mode mode;
	uint64_t entry;       /* rip */
	uint64_t params;      /* rsi or ebx */
};

struct boot_images {
	const void *kernel;
	size_t kernel_len;
	const void *initrd;   /* may be NULL */
	size_t initrd_len;
	const char *cmdline;
};

/* ram: guest RAM at gpa 0, ram_size bytes (host address ram_host). */
int boot_load(const struct boot_images *img, void *ram_host, uint64_t ram_size,
	      struct boot_entry *entry, struct err *err);

/* Registers for the entry: page tables and GDT are written into guest RAM. */
int boot_setup_vcpu(const struct boot_entry *entry, struct kvm_vcpu *vcpu, void *ram_host,
		    uint64_t ram_size, struct err *err);

#endif
