/* The ACPI tables a Linux guest needs to find isobox's devices: RSDP -> XSDT ->
 * FADT (hardware-reduced, with a sleep register so `poweroff` reaches the
 * VMM) -> DSDT, and the MADT (local APICs, the I/O APIC). The DSDT declares
 * the UART and the CMOS clock, and each virtio-mmio device as LNRO0005, the
 * only way Debian's kernels (no CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES) find them.
 * The tables live in guest RAM from LAYOUT_ACPI_RSDP up to 1 MiB. */
#ifndef ISOBOX_ACPI_H
#define ISOBOX_ACPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

/* The HW-reduced sleep control register (SLEEP_CONTROL_REG) is this port and
 * the sleep status register (SLEEP_STATUS_REG) the next one. A write with
 * ACPI_SLP_EN set is the guest powering off (the DSDT offers only \_S5). */
#define ACPI_SLEEP_PORT 0x600
#define ACPI_SLEEP_STATUS_PORT (ACPI_SLEEP_PORT + 1)
#define ACPI_SLP_EN 0x20               /* bit 5; SLP_TYP is bits 2-4 */
#define ACPI_S5_SLP_TYP 5              /* the value \_S5 declares */

#define ACPI_LAPIC_ADDR 0xfee00000u
#define ACPI_IOAPIC_ADDR 0xfec00000u
#define ACPI_IOAPIC_PINS 24            /* KVM's in-kernel I/O APIC */
/* 8-bit xAPIC ids: the vCPUs take 0..n-1 and the I/O APIC takes n. */
#define ACPI_MAX_CPUS 254
/* The interrupts are declared shared (level, active high), so devices may
 * share a pin (the VMM ORs their levels), but none the PIT's (0), the 8259
 * cascade's (2) or the UART's (4); or, for a device KVM interrupts itself
 * (KVM_IRQFD), edge and exclusive. The bound keeps the DSDT's names VRnn. */
#define ACPI_MAX_DEVICES 32

struct acpi_mmio_device {
	uint64_t base;                 /* guest-physical, below 4 GiB */
	uint32_t size;
	uint32_t gsi;                  /* I/O APIC pin, < ACPI_IOAPIC_PINS, active high */
	bool edge;                     /* edge and exclusive, not level and shared */
};

/* Write the tables into guest RAM (ram: gpa 0, ram_size bytes, at least 1 MiB). */
int acpi_build(void *ram, uint64_t ram_size, unsigned n_cpus, const struct acpi_mmio_device *devs,
	       size_t n_devs, struct err *err);

#endif
