/* Where things live in guest physical memory (the same spots Firecracker uses). */
#ifndef ISOBOX_LAYOUT_H
#define ISOBOX_LAYOUT_H

#define LAYOUT_GDT          0x500ULL
#define LAYOUT_IDT          0x520ULL
#define LAYOUT_PVH_INFO     0x6000ULL    /* hvm_start_info, memmap, modlist */
#define LAYOUT_ZERO_PAGE    0x7000ULL    /* struct boot_params */
#define LAYOUT_STACK        0x8ff0ULL
#define LAYOUT_PML4         0x9000ULL
#define LAYOUT_PDPTE        0xa000ULL
#define LAYOUT_PDE          0xb000ULL
#define LAYOUT_CMDLINE      0x20000ULL
#define LAYOUT_CMDLINE_MAX  0x10000ULL
#define LAYOUT_EBDA         0x9fc00ULL   /* end of low RAM */
/* acpi.c: the RSDP, where Linux's legacy scan finds it; the other ACPI
 * tables follow it, up to LAYOUT_HIMEM (reserved in the e820 map). */
#define LAYOUT_ACPI_RSDP    0xe0000ULL
#define LAYOUT_HIMEM        0x100000ULL  /* where the kernel is loaded */
#define LAYOUT_RAM_MAX      (3ULL << 30) /* below the 32-bit MMIO hole */

#endif
