#include "vmm/boot.h"

#include <asm/bootparam.h>
#include <elf.h>
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#include "vmm/layout.h"

#define HDRS_MAGIC 0x53726448        /* "HdrS" */
#define SETUP_HEADER_OFFSET 0x1f1
#define XEN_ELFNOTE_PHYS32_ENTRY 18
#define PVH_START_MAGIC 0x336ec578
#define E820_RAM 1
#define E820_RESERVED 2

/* The PVH ABI's structures (xen/include/public/arch-x86/hvm/start_info.h). */
struct hvm_start_info {
	uint32_t magic, version, flags, nr_modules;
	uint64_t modlist_paddr, cmdline_paddr, rsdp_paddr, memmap_paddr;
	uint32_t memmap_entries, reserved;
};

struct hvm_modlist_entry {
	uint64_t paddr, size, cmdline_paddr, reserved;
};

struct hvm_memmap_entry {
	uint64_t addr, size;
	uint32_t type, reserved;
};

/* Guest RAM [gpa, gpa+len), or NULL when any byte is outside it. */
static void *ram_at(void *ram, uint64_t ram_size, uint64_t gpa, uint64_t len)
{
	if (gpa > ram_size || len > ram_size - gpa)
		return NULL;
	return (char *)ram + gpa;
}

static int put_cmdline(const char *cmdline, void *ram, uint64_t ram_size, struct err *err)
{
	size_t n = strlen(cmdline) + 1;
	void *dst = ram_at(ram, ram_size, LAYOUT_CMDLINE, n);

	if (n > LAYOUT_CMDLINE_MAX || !dst)
		return err_set(err, "the kernel command line is longer than %llu bytes",
			       LAYOUT_CMDLINE_MAX - 1);
	memcpy(dst, cmdline, n);
	return 0;
}

/* The initramfs goes at the top of RAM (below max), page aligned. */
static int put_initrd(const struct boot_images *img, void *ram, uint64_t ram_size,
		      uint64_t lowest, uint64_t max, uint64_t *gpa, struct err *err)
{
	uint64_t top = ram_size < max ? ram_size : max;

	*gpa = 0;
	if (!img->initrd)
		return 0;
	if (img->initrd_len > top || ((top - img->initrd_len) & ~0xfffULL) < lowest)
		return err_set(err, "the initramfs (%zu bytes) does not fit in guest memory "
			       "above the kernel: give the VM more memory", img->initrd_len);
	*gpa = (top - img->initrd_len) & ~0xfffULL;
	memcpy((char *)ram + *gpa, img->initrd, img->initrd_len);
	return 0;
}

static void e820_add(struct boot_params *bp, uint64_t addr, uint64_t size, uint32_t type)
{
	struct boot_e820_entry *e = &bp->e820_table[bp->e820_entries++];

	e->addr = addr;
	e->size = size;
	e->type = type;
}

static int load_bzimage(const struct boot_images *img, void *ram, uint64_t ram_size,
			struct boot_entry *entry, struct err *err)
{
	const uint8_t *k = img->kernel;
	struct setup_header hdr;
	struct boot_params *bp;
	uint64_t setup_len, payload_len, initrd_gpa;

	size_t hdr_len;

	if (img->kernel_len < SETUP_HEADER_OFFSET + sizeof(hdr))
		return err_set(err, "the kernel image is too small to be a bzImage");
	/* The header ends where the jump at 0x200 lands; later fields are code. */
	hdr_len = 0x202 + k[0x201] - SETUP_HEADER_OFFSET;
	memset(&hdr, 0, sizeof(hdr));
	memcpy(&hdr, k + SETUP_HEADER_OFFSET, hdr_len < sizeof(hdr) ? hdr_len : sizeof(hdr));
	if (hdr.header != HDRS_MAGIC || hdr.boot_flag != 0xaa55)
		return err_set(err, "the kernel is neither a bzImage nor an ELF vmlinux");
	if (hdr.version < 0x020c || !(hdr.xloadflags & XLF_KERNEL_64))
		return err_set(err, "the bzImage (boot protocol %u.%02u) has no 64-bit entry: "
			       "isobox needs protocol 2.12 or later", hdr.version >> 8,
			       hdr.version & 0xff);
	setup_len = ((uint64_t)(hdr.setup_sects ? hdr.setup_sects : 4) + 1) * 512;
	if (setup_len >= img->kernel_len)
		return err_set(err, "the bzImage's setup (%llu bytes) is past its end",
			       (unsigned long long)setup_len);
	payload_len = img->kernel_len - setup_len;
	/* The decompressor works in place: it needs init_size bytes from the load address. */
	if (!ram_at(ram, ram_size, LAYOUT_HIMEM,
		    payload_len > hdr.init_size ? payload_len : hdr.init_size))
		return err_set(err, "the kernel needs %u MiB of guest memory; give the VM more",
			       (unsigned)((LAYOUT_HIMEM + hdr.init_size) >> 20) + 1);
	memcpy((char *)ram + LAYOUT_HIMEM, k + setup_len, payload_len);
	if (put_cmdline(img->cmdline, ram, ram_size, err) < 0)
		return -1;
	if (put_initrd(img, ram, ram_size, LAYOUT_HIMEM + hdr.init_size,
		       (uint64_t)hdr.initrd_addr_max + 1, &initrd_gpa, err) < 0)
		return -1;
	bp = ram_at(ram, ram_size, LAYOUT_ZERO_PAGE, sizeof(*bp));
	memset(bp, 0, sizeof(*bp));
	bp->hdr = hdr;
	bp->hdr.type_of_loader = 0xff;
	bp->hdr.vid_mode = 0xffff;
	bp->hdr.loadflags |= CAN_USE_HEAP | LOADED_HIGH;
	bp->hdr.heap_end_ptr = 0xfe00;
	bp->hdr.cmd_line_ptr = LAYOUT_CMDLINE;
	bp->hdr.cmdline_size = strlen(img->cmdline);
	bp->hdr.ramdisk_image = (uint32_t)initrd_gpa;
	bp->hdr.ramdisk_size = (uint32_t)img->initrd_len;
	bp->acpi_rsdp_addr = LAYOUT_ACPI_RSDP;    /* ACPI: acpi.c writes it there */
	e820_add(bp, 0, LAYOUT_EBDA, E820_RAM);
	e820_add(bp, LAYOUT_EBDA, LAYOUT_HIMEM - LAYOUT_EBDA, E820_RESERVED);
	e820_add(bp, LAYOUT_HIMEM, ram_size - LAYOUT_HIMEM, E820_RAM);
	*entry = (struct boot_entry){ .mode = BOOT_LINUX64, .entry = LAYOUT_HIMEM + 0x200,
				      .params = LAYOUT_ZERO_PAGE };
	return 0;
}

/* The PVH entry point from the ELF notes. */
static int pvh_entry(const uint8_t *k, size_t len, const Elf64_Phdr *ph, uint64_t *entry)
{
	uint64_t off = ph->p_offset, end;

	if (off > len || ph->p_filesz > len - off)
		return -1;
	end = off + ph->p_filesz;
	while (end - off >= sizeof(Elf64_Nhdr)) {
		Elf64_Nhdr n;
		uint64_t name = off + sizeof(n), desc, next;

		memcpy(&n, k + off, sizeof(n));
		desc = name + ((n.n_namesz + 3ULL) & ~3ULL);
		next = desc + ((n.n_descsz + 3ULL) & ~3ULL);
		if (next > end || desc > end)
			return -1;
		if (n.n_type == XEN_ELFNOTE_PHYS32_ENTRY && n.n_namesz == 4 &&
		    !memcmp(k + name, "Xen", 4) && n.n_descsz >= 4) {
			uint32_t e;

			memcpy(&e, k + desc, 4);
			*entry = e;
			return 0;
		}
		off = next;
	}
	return -1;
}

static int load_elf_segments(const uint8_t *k, size_t len, const Elf64_Ehdr *eh, void *ram,
			     uint64_t ram_size, uint64_t *entry, uint64_t *end, struct err *err)
{
	int i, found = -1;

	*end = 0;
	if (eh->e_phentsize != sizeof(Elf64_Phdr) || eh->e_phoff > len ||
	    (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr) > len - eh->e_phoff)
		return err_set(err, "the vmlinux's program headers are outside the file");
	for (i = 0; i < eh->e_phnum; i++) {
		Elf64_Phdr ph;
		void *dst;

		memcpy(&ph, k + eh->e_phoff + (uint64_t)i * sizeof(ph), sizeof(ph));
		if (ph.p_type == PT_NOTE && found < 0)
			found = pvh_entry(k, len, &ph, entry);
		if (ph.p_type != PT_LOAD)
			continue;
		dst = ram_at(ram, ram_size, ph.p_paddr, ph.p_memsz);
		if (!dst || ph.p_filesz > ph.p_memsz || ph.p_offset > len ||
		    ph.p_filesz > len - ph.p_offset)
			return err_set(err, "a vmlinux segment (%#llx+%#llx) does not fit in guest "
				       "memory or the file", (unsigned long long)ph.p_paddr,
				       (unsigned long long)ph.p_memsz);
		memcpy(dst, k + ph.p_offset, ph.p_filesz);
		memset((char *)dst + ph.p_filesz, 0, ph.p_memsz - ph.p_filesz);
		if (ph.p_paddr + ph.p_memsz > *end)
			*end = ph.p_paddr + ph.p_memsz;
	}
	if (found < 0)
		return err_set(err, "the vmlinux has no PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY): "
			       "boot its bzImage instead");
	return 0;
}

static int load_pvh(const struct boot_images *img, void *ram, uint64_t ram_size,
		    struct boot_entry *entry, struct err *err)
{
	const uint8_t *k = img->kernel;
	struct hvm_start_info *si;
	struct hvm_memmap_entry *mm;
	struct hvm_modlist_entry *mod;
	Elf64_Ehdr eh;
	uint64_t pvh = 0, end, initrd_gpa;

	memcpy(&eh, k, sizeof(eh));
	if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_machine != EM_X86_64)
		return err_set(err, "the vmlinux is not an x86-64 ELF file");
	if (load_elf_segments(k, img->kernel_len, &eh, ram, ram_size, &pvh, &end, err) < 0)
		return -1;
	if (put_cmdline(img->cmdline, ram, ram_size, err) < 0 ||
	    put_initrd(img, ram, ram_size, end, LAYOUT_RAM_MAX, &initrd_gpa, err) < 0)
		return -1;
	si = ram_at(ram, ram_size, LAYOUT_PVH_INFO, 0x1000);
	memset(si, 0, 0x1000);
	mm = (struct hvm_memmap_entry *)(si + 1);
	mod = (struct hvm_modlist_entry *)(mm + 3);
	mm[0] = (struct hvm_memmap_entry){ 0, LAYOUT_EBDA, E820_RAM, 0 };
	mm[1] = (struct hvm_memmap_entry){ LAYOUT_EBDA, LAYOUT_HIMEM - LAYOUT_EBDA, E820_RESERVED, 0 };
	mm[2] = (struct hvm_memmap_entry){ LAYOUT_HIMEM, ram_size - LAYOUT_HIMEM, E820_RAM, 0 };
	*si = (struct hvm_start_info){
		.magic = PVH_START_MAGIC, .version = 1, .cmdline_paddr = LAYOUT_CMDLINE,
		.memmap_paddr = LAYOUT_PVH_INFO + ((char *)mm - (char *)si), .memmap_entries = 3,
		.rsdp_paddr = LAYOUT_ACPI_RSDP,   /* ACPI: acpi.c writes it there */
	};
	if (img->initrd) {
		*mod = (struct hvm_modlist_entry){ .paddr = initrd_gpa, .size = img->initrd_len };
		si->nr_modules = 1;
		si->modlist_paddr = LAYOUT_PVH_INFO + ((char *)mod - (char *)si);
	}
	*entry = (struct boot_entry){ .mode = BOOT_PVH, .entry = pvh, .params = LAYOUT_PVH_INFO };
	return 0;
}

int boot_load(const struct boot_images *img, void *ram, uint64_t ram_size,
	      struct boot_entry *entry, struct err *err)
{
	if (ram_size <= LAYOUT_HIMEM || ram_size > LAYOUT_RAM_MAX)
		return err_set(err, "guest memory must be between 2 MiB and 3 GiB");
	if (img->kernel_len >= sizeof(Elf64_Ehdr) && !memcmp(img->kernel, ELFMAG, SELFMAG))
		return load_pvh(img, ram, ram_size, entry, err);
	return load_bzimage(img, ram, ram_size, entry, err);
}

/* Flat segments: 64-bit code (selector 0x8), data (0x10), TSS (0x18). */
static const uint64_t gdt_long[] = {
	0, 0x00af9b000000ffffULL, 0x00cf93000000ffffULL, 0x008f8b000000ffffULL,
};
/* The same for 32-bit protected mode (PVH). */
static const uint64_t gdt_flat32[] = {
	0, 0x00cf9b000000ffffULL, 0x00cf93000000ffffULL, 0x008f8b000000ffffULL,
};

/* KVM takes the limit in bytes: with G set, the descriptor's 20 bits count
 * 4 KiB pages (64-bit code ignores it; PVH's 32-bit entry does not). */
static struct kvm_segment segment_from_gdt(uint64_t d, uint16_t selector)
{
	uint32_t limit = (uint32_t)((d & 0xffff) | (((d >> 48) & 0xf) << 16));

	return (struct kvm_segment){
		.base = ((d >> 16) & 0xffffff) | (((d >> 56) & 0xff) << 24),
		.limit = (d >> 55) & 1 ? (limit << 12) | 0xfff : limit,
		.selector = selector,
		.type = (d >> 40) & 0xf,
		.present = (d >> 47) & 1,
		.dpl = (d >> 45) & 3,
		.db = (d >> 54) & 1,
		.s = (d >> 44) & 1,
		.l = (d >> 53) & 1,
		.g = (d >> 55) & 1,
	};
}

/* Identity map of the first 1 GiB with 2 MiB pages: enough for the kernel's
 * own early code, which builds its real page tables. */
static void write_page_tables(void *ram)
{
	uint64_t *pml4 = (uint64_t *)((char *)ram + LAYOUT_PML4);
	uint64_t *pdpte = (uint64_t *)((char *)ram + LAYOUT_PDPTE);
	uint64_t *pde = (uint64_t *)((char *)ram + LAYOUT_PDE);
	int i;

	memset(pml4, 0, 0x1000);
	memset(pdpte, 0, 0x1000);
	pml4[0] = LAYOUT_PDPTE | 0x3;
	pdpte[0] = LAYOUT_PDE | 0x3;
	for (i = 0; i < 512; i++)
		pde[i] = ((uint64_t)i << 21) | 0x83;
}

static void set_segments(struct kvm_sregs *sregs, const uint64_t *gdt, void *ram)
{
	memcpy((char *)ram + LAYOUT_GDT, gdt, 4 * sizeof(uint64_t));
	memset((char *)ram + LAYOUT_IDT, 0, 8);
	sregs->gdt.base = LAYOUT_GDT;
	sregs->gdt.limit = 4 * sizeof(uint64_t) - 1;
	sregs->idt.base = LAYOUT_IDT;
	sregs->idt.limit = 7;
	sregs->cs = segment_from_gdt(gdt[1], 0x8);
	sregs->ds = sregs->es = sregs->fs = sregs->gs = sregs->ss = segment_from_gdt(gdt[2], 0x10);
	sregs->tr = segment_from_gdt(gdt[3], 0x18);
}

int boot_setup_vcpu(const struct boot_entry *entry, struct kvm_vcpu *vcpu, void *ram,
		    uint64_t ram_size, struct err *err)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs = { .rflags = 2, .rsp = LAYOUT_STACK, .rip = entry->entry };

	if (ram_size < LAYOUT_HIMEM)
		return err_set(err, "guest memory is too small");
	if (ioctl(vcpu->fd, KVM_GET_SREGS, &sregs) < 0)
		return err_sys(err, errno, "KVM_GET_SREGS");
	if (entry->mode == BOOT_LINUX64) {
		write_page_tables(ram);
		set_segments(&sregs, gdt_long, ram);
		sregs.cr3 = LAYOUT_PML4;
		sregs.cr4 |= 0x20;                       /* PAE */
		sregs.cr0 |= 0x80000001;                 /* PG | PE */
		sregs.efer |= 0x500;                     /* LME | LMA */
		regs.rsi = entry->params;
	} else {
		set_segments(&sregs, gdt_flat32, ram);
		sregs.cr0 = (sregs.cr0 | 0x1) & ~0x80000000ULL;  /* PE, no paging */
		sregs.cr4 = 0;
		sregs.efer = 0;
		regs.rbx = entry->params;
	}
	if (ioctl(vcpu->fd, KVM_SET_SREGS, &sregs) < 0)
		return err_sys(err, errno, "KVM_SET_SREGS");
	if (ioctl(vcpu->fd, KVM_SET_REGS, &regs) < 0)
		return err_sys(err, errno, "KVM_SET_REGS");
	return 0;
}
