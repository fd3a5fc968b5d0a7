/* The kernel loader: boot_params and e820 from a bzImage, PVH start info from
 * an ELF vmlinux, and hostile images that must be refused, never overrun. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <asm/bootparam.h>
#include <elf.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/boot.h"
#include "vmm/layout.h"

#define RAM (64u << 20)

static uint8_t *ram;

static int setup(void **state)
{
	ram = calloc(1, RAM);
	return ram ? 0 : -1;
}

static int teardown(void **state)
{
	free(ram);
	return 0;
}

/* A bzImage: 4 setup sectors + boot sector, then a payload. */
static uint8_t *bzimage(size_t payload, uint32_t init_size, size_t *len)
{
	size_t setup_len = 5 * 512;
	uint8_t *k = calloc(1, setup_len + payload);
	struct setup_header h = { 0 };

	h.setup_sects = 4;
	h.boot_flag = 0xaa55;
	h.header = 0x53726448;
	h.version = 0x020f;
	h.xloadflags = XLF_KERNEL_64;
	h.initrd_addr_max = 0x7fffffff;
	h.init_size = init_size;
	h.loadflags = LOADED_HIGH;
	memcpy(k + 0x1f1, &h, sizeof(h));
	k[0x201] = 0x6a;            /* the jump at 0x200: the header ends at 0x26c */
	memset(k + setup_len, 0x90, payload);
	*len = setup_len + payload;
	return k;
}

static void test_bzimage(void **state)
{
	size_t len;
	uint8_t *k = bzimage(4096, 1 << 20, &len);
	char initrd[5000];
	struct boot_images img = { k, len, initrd, sizeof(initrd), "console=ttyS0 quiet" };
	struct boot_entry e;
	struct err err = { 0 };
	struct boot_params *bp = (struct boot_params *)(ram + LAYOUT_ZERO_PAGE);

	memset(initrd, 'i', sizeof(initrd));
	assert_int_equal(boot_load(&img, ram, RAM, &e, &err), 0);
	assert_int_equal(e.mode, BOOT_LINUX64);
	assert_int_equal(e.entry, LAYOUT_HIMEM + 0x200);
	assert_int_equal(e.params, LAYOUT_ZERO_PAGE);
	assert_int_equal(bp->hdr.type_of_loader, 0xff);
	assert_int_equal(bp->hdr.cmd_line_ptr, LAYOUT_CMDLINE);
	assert_string_equal((char *)ram + LAYOUT_CMDLINE, "console=ttyS0 quiet");
	assert_int_equal(bp->hdr.ramdisk_size, sizeof(initrd));
	assert_int_equal(bp->hdr.ramdisk_image % 4096, 0);
	assert_true(bp->hdr.ramdisk_image + sizeof(initrd) <= RAM);
	assert_memory_equal(ram + bp->hdr.ramdisk_image, initrd, sizeof(initrd));
	assert_int_equal(bp->e820_entries, 3);
	assert_int_equal(bp->e820_table[2].addr, LAYOUT_HIMEM);
	assert_int_equal(bp->e820_table[2].addr + bp->e820_table[2].size, RAM);
	assert_int_equal(ram[LAYOUT_HIMEM], 0x90);
	free(k);
}

static void expect_refused(const struct boot_images *img, uint64_t ram_size, const char *want)
{
	struct boot_entry e;
	struct err err = { 0 };

	assert_int_equal(boot_load(img, ram, ram_size, &e, &err), -1);
	if (!strstr(err.msg, want))
		fail_msg("'%s' does not mention '%s'", err.msg, want);
}

static void test_hostile_bzimages(void **state)
{
	size_t len;
	uint8_t *k = bzimage(4096, 1 << 20, &len);
	struct boot_images img = { k, len, NULL, 0, "" };
	char *longline = malloc(LAYOUT_CMDLINE_MAX + 10);

	img.kernel_len = 0x200;                                  /* truncated header */
	expect_refused(&img, RAM, "too small");
	img.kernel_len = len;
	k[0x1f1] = 200;                                          /* setup past the end */
	expect_refused(&img, RAM, "past its end");
	k[0x1f1] = 4;
	memset(k + 0x202, 0, 4);                                 /* no HdrS */
	expect_refused(&img, RAM, "neither a bzImage");
	free(k);
	k = bzimage(4096, 1 << 20, &len);
	img.kernel = k;
	k[0x206] = 0x0b;                                         /* protocol 2.11 */
	expect_refused(&img, RAM, "2.12");
	free(k);
	k = bzimage(4096, 0x7fffffff, &len);                     /* init_size beyond RAM */
	img.kernel = k;
	expect_refused(&img, RAM, "guest memory");
	free(k);
	k = bzimage(4096, 1 << 20, &len);
	img.kernel = k;
	img.initrd = "x";
	img.initrd_len = RAM;                                    /* initrd larger than RAM */
	expect_refused(&img, RAM, "does not fit");
	img.initrd = NULL;
	img.initrd_len = 0;
	memset(longline, 'a', LAYOUT_CMDLINE_MAX + 9);
	longline[LAYOUT_CMDLINE_MAX + 9] = '\0';
	img.cmdline = longline;                                  /* command line too long */
	expect_refused(&img, RAM, "command line");
	img.cmdline = "";
	expect_refused(&img, 1 << 20, "between 2 MiB");           /* too little RAM */
	expect_refused(&img, 4ULL << 30, "between 2 MiB");        /* too much */
	free(longline);
	free(k);
}

/* An ELF vmlinux with one PT_LOAD at paddr and a PT_NOTE with the PVH entry. */
static uint8_t *vmlinux(uint64_t paddr, uint64_t memsz, bool with_note, size_t *len)
{
	size_t off = sizeof(Elf64_Ehdr) + 2 * sizeof(Elf64_Phdr);
	uint8_t *k = calloc(1, off + 64 + 256);
	Elf64_Ehdr *eh = (Elf64_Ehdr *)k;
	Elf64_Phdr *ph = (Elf64_Phdr *)(k + sizeof(*eh));
	Elf64_Nhdr n = { .n_namesz = 4, .n_descsz = 4, .n_type = 18 };
	uint32_t entry = 0x1000040;

	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_machine = EM_X86_64;
	eh->e_phoff = sizeof(*eh);
	eh->e_phentsize = sizeof(Elf64_Phdr);
	eh->e_phnum = 2;
	ph[0] = (Elf64_Phdr){ .p_type = PT_LOAD, .p_offset = off + 64, .p_paddr = paddr,
			      .p_filesz = 256, .p_memsz = memsz };
	ph[1] = (Elf64_Phdr){ .p_type = PT_NOTE, .p_offset = off, .p_filesz = with_note ? 20 : 0 };
	memcpy(k + off, &n, sizeof(n));
	memcpy(k + off + sizeof(n), "Xen", 4);
	memcpy(k + off + sizeof(n) + 4, &entry, 4);
	memset(k + off + 64, 0xcc, 256);
	*len = off + 64 + 256;
	return k;
}

static void test_pvh(void **state)
{
	size_t len;
	uint8_t *k = vmlinux(0x1000000, 0x2000, true, &len);
	char initrd[100] = "initrd";
	struct boot_images img = { k, len, initrd, sizeof(initrd), "console=ttyS0" };
	struct boot_entry e;
	struct err err = { 0 };
	uint32_t *si = (uint32_t *)(ram + LAYOUT_PVH_INFO);

	ram[0x1000000 + 300] = 0x55;                /* the segment's bss must be zeroed */
	assert_int_equal(boot_load(&img, ram, RAM, &e, &err), 0);
	assert_int_equal(e.mode, BOOT_PVH);
	assert_int_equal(e.entry, 0x1000040);
	assert_int_equal(e.params, LAYOUT_PVH_INFO);
	assert_int_equal(si[0], 0x336ec578);        /* magic */
	assert_int_equal(si[3], 1);                 /* nr_modules */
	assert_int_equal(ram[0x1000000], 0xcc);
	assert_int_equal(ram[0x1000000 + 300], 0);
	free(k);
}

static void test_hostile_vmlinux(void **state)
{
	size_t len;
	uint8_t *k = vmlinux(0x1000000, 0x2000, false, &len);
	struct boot_images img = { k, len, NULL, 0, "" };

	expect_refused(&img, RAM, "no PVH entry");          /* no note */
	free(k);
	k = vmlinux(RAM - 0x100, 0x2000, true, &len);       /* segment past the end of RAM */
	img.kernel = k;
	expect_refused(&img, RAM, "does not fit");
	free(k);
	k = vmlinux(UINT64_MAX - 0x10, 0x2000, true, &len); /* wrapping address */
	img.kernel = k;
	expect_refused(&img, RAM, "does not fit");
	free(k);
	k = vmlinux(0x1000000, 0x10, true, &len);           /* filesz > memsz */
	img.kernel = k;
	expect_refused(&img, RAM, "does not fit");
	free(k);
	k = vmlinux(0x1000000, 0x2000, true, &len);
	img.kernel = k;
	((Elf64_Ehdr *)k)->e_phnum = 60000;                 /* headers past the file */
	expect_refused(&img, RAM, "outside the file");
	((Elf64_Ehdr *)k)->e_phnum = 2;
	((Elf64_Phdr *)(k + sizeof(Elf64_Ehdr)))[0].p_offset = len;  /* data past the file */
	expect_refused(&img, RAM, "does not fit");
	free(k);
	k = vmlinux(0x1000000, 0x2000, true, &len);
	img.kernel = k;
	((Elf64_Ehdr *)k)->e_machine = EM_AARCH64;
	expect_refused(&img, RAM, "not an x86-64");
	free(k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_bzimage, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_bzimages, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pvh, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_vmlinux, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
