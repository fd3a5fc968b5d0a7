/* Run a raw firmware image the way a PC does at reset: mapped just below
 * 4 GiB, executed from the reset vector (CS base 0xffff0000, IP 0xfff0) in
 * real mode, until it writes to the debug-exit port. It is the VMM's floor:
 * what it costs to create a VM, run a vCPU and tear it all down. */
#ifndef ISOBOX_FIRMWARE_H
#define ISOBOX_FIRMWARE_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

#define FIRMWARE_EXIT_PORT 0xf4      /* QEMU's isa-debug-exit default */
#define FIRMWARE_MAX_SIZE (16u << 20)

/* *exit_value is the byte the guest wrote to the exit port. A guest that
 * halts, shuts down or does anything else first is an error. */
int firmware_run(const void *image, size_t len, uint64_t ram_bytes, int *exit_value,
		 struct err *err);

#endif
