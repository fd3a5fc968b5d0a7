#include "vmm/acpi.h"

#include <stdbool.h>
#include <string.h>

#include "vmm/devices/rtc.h"
#include "vmm/devices/serial.h"
#include "vmm/layout.h"

/* The layouts are the ACPI 6.x specification's (chapter 5.2). x86 is little
 * endian, so the packed structures are the tables' bytes. */
struct __attribute__((packed)) acpi_rsdp {
	char signature[8];
	uint8_t checksum;              /* over the first 20 bytes (ACPI 1.0) */
	char oem_id[6];
	uint8_t revision;
	uint32_t rsdt;
	uint32_t length;
	uint64_t xsdt;
	uint8_t ext_checksum;          /* over all 36 */
	uint8_t reserved[3];
};

struct __attribute__((packed)) acpi_header {
	char signature[4];
	uint32_t length;
	uint8_t revision;
	uint8_t checksum;
	char oem_id[6];
	char oem_table_id[8];
	uint32_t oem_revision;
	char creator_id[4];
	uint32_t creator_revision;
};

struct __attribute__((packed)) acpi_gas {
	uint8_t space_id, bit_width, bit_offset, access_size;
	uint64_t address;
};

struct __attribute__((packed)) acpi_fadt {
	struct acpi_header h;
	uint32_t firmware_ctrl, dsdt;
	uint8_t reserved0, pm_profile;
	uint16_t sci_int;
	uint32_t smi_cmd;
	uint8_t acpi_enable, acpi_disable, s4bios_req, pstate_cnt;
	uint32_t pm1a_evt, pm1b_evt, pm1a_cnt, pm1b_cnt, pm2_cnt, pm_tmr, gpe0, gpe1;
	uint8_t pm1_evt_len, pm1_cnt_len, pm2_cnt_len, pm_tmr_len, gpe0_len, gpe1_len;
	uint8_t gpe1_base, cst_cnt;
	uint16_t p_lvl2_lat, p_lvl3_lat, flush_size, flush_stride;
	uint8_t duty_offset, duty_width, day_alrm, mon_alrm, century;
	uint16_t iapc_boot_arch;
	uint8_t reserved1;
	uint32_t flags;
	struct acpi_gas reset_reg;
	uint8_t reset_value;
	uint16_t arm_boot_arch;
	uint8_t minor_revision;
	uint64_t x_firmware_ctrl, x_dsdt;
	struct acpi_gas x_pm1a_evt, x_pm1b_evt, x_pm1a_cnt, x_pm1b_cnt, x_pm2_cnt, x_pm_tmr;
	struct acpi_gas x_gpe0, x_gpe1;
	struct acpi_gas sleep_control, sleep_status;
	uint64_t hypervisor_vendor;
};

struct __attribute__((packed)) acpi_madt_lapic {
	uint8_t type, length, processor_uid, apic_id;
	uint32_t flags;
};

struct __attribute__((packed)) acpi_madt_ioapic {
	uint8_t type, length, id, reserved;
	uint32_t address, gsi_base;
};

_Static_assert(sizeof(struct acpi_rsdp) == 36, "RSDP");
_Static_assert(sizeof(struct acpi_header) == 36, "table header");
_Static_assert(sizeof(struct acpi_fadt) == 276, "FADT (revision 6)");
_Static_assert(sizeof(struct acpi_madt_lapic) == 8 && sizeof(struct acpi_madt_ioapic) == 12,
	       "MADT entries");

#define MADT_FIXED 44                  /* header, local APIC address, flags */
#define MADT_PCAT_COMPAT 1u
#define FADT_WBINVD (1u << 0)
#define FADT_PWR_BUTTON (1u << 4)      /* no fixed-feature power button */
#define FADT_SLP_BUTTON (1u << 5)
#define FADT_HW_REDUCED_ACPI (1u << 20)
#define IAPC_LEGACY_DEVICES (1u << 0)
#define IAPC_VGA_NOT_PRESENT (1u << 2)
#define GAS_SYSTEM_IO 1
#define GAS_BYTE_ACCESS 1
#define RTC_CENTURY_REG 0x32           /* devices/rtc.c answers it */

/* Guest RAM from LAYOUT_ACPI_RSDP to LAYOUT_HIMEM, handed out in 16-byte
 * aligned pieces; a request that does not fit sets full. */
struct acpi_area {
	uint8_t *ram;
	uint64_t next, end;
	bool full;
};

static void *area_take(struct acpi_area *a, uint64_t len, uint64_t *gpa)
{
	uint64_t at = (a->next + 15) & ~15ULL;

	if (a->full || at > a->end || len > a->end - at) {
		a->full = true;
		return NULL;
	}
	*gpa = at;
	a->next = at + len;
	memset(a->ram + at, 0, len);
	return a->ram + at;
}

static uint8_t checksum(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint8_t sum = 0;

	while (len--)
		sum += *b++;
	return (uint8_t)-sum;
}

static void table_seal(void *table, const char *signature, uint32_t len, uint8_t revision)
{
	struct acpi_header *h = table;

	memcpy(h->signature, signature, 4);
	h->length = len;
	h->revision = revision;
	memcpy(h->oem_id, "ISOBOX", 6);
	memcpy(h->oem_table_id, "ISOBOXVM", 8);
	h->oem_revision = 1;
	memcpy(h->creator_id, "ISBX", 4);
	h->creator_revision = 1;
	h->checksum = 0;
	h->checksum = checksum(table, len);
}

/* AML, written straight into guest RAM by a bounded writer. */
struct aml {
	uint8_t *p;
	size_t len, cap;
	bool full;
};

#define AML_ZERO 0x00
#define AML_ONE 0x01
#define AML_NAME 0x08
#define AML_BYTE 0x0a
#define AML_WORD 0x0b
#define AML_DWORD 0x0c
#define AML_STRING 0x0d
#define AML_QWORD 0x0e
#define AML_SCOPE 0x10
#define AML_BUFFER 0x11
#define AML_PACKAGE 0x12
#define AML_EXT 0x5b
#define AML_DEVICE 0x82                /* after AML_EXT */
#define AML_ROOT '\\'

static void aml_bytes(struct aml *a, const void *b, size_t n)
{
	if (a->full || n > a->cap - a->len) {
		a->full = true;
		return;
	}
	memcpy(a->p + a->len, b, n);
	a->len += n;
}

static void aml_byte(struct aml *a, uint8_t b)
{
	aml_bytes(a, &b, 1);
}

static void put_le(uint8_t *p, uint64_t v, unsigned n)
{
	while (n--) {
		*p++ = (uint8_t)v;
		v >>= 8;
	}
}

static void aml_le(struct aml *a, uint64_t v, unsigned n)
{
	uint8_t b[8];

	put_le(b, v, n);
	aml_bytes(a, b, n);
}

/* A NameString: an optional leading '\' and one 4-character NameSeg. */
static void aml_name(struct aml *a, const char *name)
{
	aml_bytes(a, name, strlen(name));
}

static void aml_integer(struct aml *a, uint64_t v)
{
	static const uint8_t prefix[] = { [1] = AML_BYTE, [2] = AML_WORD, [4] = AML_DWORD,
					  [8] = AML_QWORD };
	unsigned n = v <= 0xff ? 1 : v <= 0xffff ? 2 : v <= 0xffffffff ? 4 : 8;

	if (v <= 1) {
		aml_byte(a, v ? AML_ONE : AML_ZERO);
		return;
	}
	aml_byte(a, prefix[n]);
	aml_le(a, v, n);
}

static void aml_string(struct aml *a, const char *s)
{
	aml_byte(a, AML_STRING);
	aml_bytes(a, s, strlen(s) + 1);
}

/* EisaId ("PNP0501"): three letters of 5 bits and four hex digits, stored
 * big endian in a DWord. */
static void aml_eisa_id(struct aml *a, const char id[8])
{
	uint32_t v = ((uint32_t)(id[0] - 0x40) << 26) | ((uint32_t)(id[1] - 0x40) << 21) |
		     ((uint32_t)(id[2] - 0x40) << 16);
	unsigned i;

	for (i = 3; i < 7; i++)
		v |= (uint32_t)(id[i] <= '9' ? id[i] - '0' : id[i] - 'A' + 10) << (4 * (6 - i));
	aml_byte(a, AML_DWORD);
	aml_le(a, __builtin_bswap32(v), 4);
}

/* A package (Scope, Device, Buffer, Package) starts here; its PkgLength goes
 * in front of it once its end is known. */
static size_t aml_pkg_begin(const struct aml *a)
{
	return a->len;
}

/* PkgLength counts its own 1-4 bytes: one byte holds up to 63; n bytes hold
 * 4 + 8 * (n - 1) bits, the count of following bytes in bits 6-7. */
static void aml_pkg_end(struct aml *a, size_t start)
{
	size_t body = a->len - start, total = 0;
	unsigned n, i;

	for (n = 1; n <= 4; n++) {
		total = body + n;
		if (n == 1 ? total < 0x40 : total < (1ULL << (4 + 8 * (n - 1))))
			break;
	}
	if (a->full || n > 4 || n > a->cap - a->len) {
		a->full = true;
		return;
	}
	memmove(a->p + start + n, a->p + start, body);
	if (n == 1) {
		a->p[start] = (uint8_t)total;
	} else {
		a->p[start] = (uint8_t)(((n - 1) << 6) | (total & 0xf));
		for (i = 1; i < n; i++)
			a->p[start + i] = (uint8_t)(total >> (4 + 8 * (i - 1)));
	}
	a->len += n;
}

static size_t aml_device_begin(struct aml *a, const char *name)
{
	size_t start;

	aml_byte(a, AML_EXT);
	aml_byte(a, AML_DEVICE);
	start = aml_pkg_begin(a);
	aml_name(a, name);
	return start;
}

/* Name (name, Buffer () { bytes }): a resource template. */
static void aml_name_buffer(struct aml *a, const char *name, const uint8_t *b, size_t n)
{
	size_t start;

	aml_byte(a, AML_NAME);
	aml_name(a, name);
	aml_byte(a, AML_BUFFER);
	start = aml_pkg_begin(a);
	aml_integer(a, n);
	aml_bytes(a, b, n);
	aml_pkg_end(a, start);
}

static void aml_name_integer(struct aml *a, const char *name, uint64_t v)
{
	aml_byte(a, AML_NAME);
	aml_name(a, name);
	aml_integer(a, v);
}

/* Resource descriptors (ACPI 6.x, 6.4). */
#define RES_IRQ_NOFLAGS 0x22           /* small, IRQ, length 2: edge, active high */
#define RES_IO 0x47                    /* small, I/O port, length 7 */
#define RES_END 0x79                   /* small, end tag; checksum 0 = none */
#define RES_MEMORY32_FIXED 0x86
#define RES_EXT_IRQ 0x89
#define RES_IO_DECODE16 0x01
#define RES_MEM_RW 0x01
#define RES_EXT_IRQ_CONSUMER 0x09      /* consumer, level, active high, shared */
#define RES_EXT_IRQ_CONSUMER_EDGE 0x03 /* consumer, edge, active high, exclusive */

static size_t res_io(uint8_t *p, uint16_t port, uint8_t len)
{
	p[0] = RES_IO;
	p[1] = RES_IO_DECODE16;
	put_le(p + 2, port, 2);
	put_le(p + 4, port, 2);
	p[6] = 1;
	p[7] = len;
	return 8;
}

static size_t res_end(uint8_t *p)
{
	p[0] = RES_END;
	p[1] = 0;
	return 2;
}

/* The UART: with HW-reduced ACPI Linux sets up no legacy ISA interrupts, so
 * the 8250 gets IRQ 4 only from this declaration. */
static void dsdt_uart(struct aml *a)
{
	uint8_t crs[16];
	size_t n = res_io(crs, SERIAL_PORT, SERIAL_PORT_LEN), dev;

	crs[n++] = RES_IRQ_NOFLAGS;
	put_le(crs + n, 1u << SERIAL_IRQ, 2);
	n += 2;
	n += res_end(crs + n);
	dev = aml_device_begin(a, "COM1");
	aml_byte(a, AML_NAME);
	aml_name(a, "_HID");
	aml_eisa_id(a, "PNP0501");
	aml_name_integer(a, "_UID", 1);
	aml_name_buffer(a, "_CRS", crs, n);
	aml_pkg_end(a, dev);
}

/* The CMOS clock, without an IRQ: devices/rtc.c raises none. */
static void dsdt_rtc(struct aml *a)
{
	uint8_t crs[16];
	size_t n = res_io(crs, RTC_PORT, RTC_PORT_LEN), dev;

	n += res_end(crs + n);
	dev = aml_device_begin(a, "RTC_");
	aml_byte(a, AML_NAME);
	aml_name(a, "_HID");
	aml_eisa_id(a, "PNP0B00");
	aml_name_buffer(a, "_CRS", crs, n);
	aml_pkg_end(a, dev);
}

static void dsdt_virtio_mmio(struct aml *a, unsigned i, const struct acpi_mmio_device *d)
{
	char name[5] = { 'V', 'R', (char)('0' + i / 10 % 10), (char)('0' + i % 10), 0 };
	uint8_t crs[32];
	size_t n = 0, dev;

	crs[n++] = RES_MEMORY32_FIXED;
	put_le(crs + n, 9, 2);
	crs[n + 2] = RES_MEM_RW;
	put_le(crs + n + 3, d->base, 4);
	put_le(crs + n + 7, d->size, 4);
	n += 11;
	crs[n++] = RES_EXT_IRQ;
	put_le(crs + n, 6, 2);
	crs[n + 2] = d->edge ? RES_EXT_IRQ_CONSUMER_EDGE : RES_EXT_IRQ_CONSUMER;
	crs[n + 3] = 1;                /* one interrupt */
	put_le(crs + n + 4, d->gsi, 4);
	n += 8;
	n += res_end(crs + n);
	dev = aml_device_begin(a, name);
	aml_byte(a, AML_NAME);
	aml_name(a, "_HID");
	aml_string(a, "LNRO0005");
	aml_name_integer(a, "_UID", i);
	aml_name_integer(a, "_CCA", 1);    /* cache-coherent DMA */
	aml_name_buffer(a, "_CRS", crs, n);
	aml_pkg_end(a, dev);
}

static void dsdt_write(struct aml *a, const struct acpi_mmio_device *devs, size_t n_devs)
{
	size_t sb, pkg, i;

	aml_bytes(a, &(struct acpi_header){ 0 }, sizeof(struct acpi_header));
	aml_byte(a, AML_SCOPE);
	sb = aml_pkg_begin(a);
	aml_name(a, "\\_SB_");
	dsdt_uart(a);
	dsdt_rtc(a);
	for (i = 0; i < n_devs; i++)
		dsdt_virtio_mmio(a, (unsigned)i, &devs[i]);
	aml_pkg_end(a, sb);
	/* Name (\_S5, Package () { 5, 0 }): SLP_TYP for poweroff. */
	aml_byte(a, AML_NAME);
	aml_name(a, "\\_S5_");
	aml_byte(a, AML_PACKAGE);
	pkg = aml_pkg_begin(a);
	aml_byte(a, 2);
	aml_integer(a, ACPI_S5_SLP_TYP);
	aml_integer(a, 0);
	aml_pkg_end(a, pkg);
}

static void fadt_write(struct acpi_fadt *f, uint64_t dsdt)
{
	const struct acpi_gas sleep = { .space_id = GAS_SYSTEM_IO, .bit_width = 8,
					.access_size = GAS_BYTE_ACCESS };

	/* Hardware-reduced: no PM timer, SCI, GPE or PM1 blocks, no FACS. */
	f->flags = FADT_WBINVD | FADT_PWR_BUTTON | FADT_SLP_BUTTON | FADT_HW_REDUCED_ACPI;
	/* The UART and clock sit on legacy ports; the 8042 flag stays clear (the
	 * VMM's i8042 only resets), so Linux does not probe for a keyboard. */
	f->iapc_boot_arch = IAPC_LEGACY_DEVICES | IAPC_VGA_NOT_PRESENT;
	f->century = RTC_CENTURY_REG;
	f->x_dsdt = dsdt;
	f->sleep_control = sleep;
	f->sleep_control.address = ACPI_SLEEP_PORT;
	f->sleep_status = sleep;
	f->sleep_status.address = ACPI_SLEEP_STATUS_PORT;
	memcpy(&f->hypervisor_vendor, "ISOBOX\0", 8);
	table_seal(f, "FACP", sizeof(*f), 6);
}

static void madt_write(uint8_t *t, uint32_t len, unsigned n_cpus)
{
	struct acpi_madt_ioapic io = { .type = 1, .length = sizeof(io), .id = (uint8_t)n_cpus,
				       .address = ACPI_IOAPIC_ADDR, .gsi_base = 0 };
	uint8_t *p = t + MADT_FIXED;
	unsigned i;

	put_le(t + 36, ACPI_LAPIC_ADDR, 4);
	/* KVM's in-kernel irqchip does have the two 8259s. Linux on x86 ignores
	 * the flag (hardware-reduced, it uses no 8259); other OSes mask them. */
	put_le(t + 40, MADT_PCAT_COMPAT, 4);
	for (i = 0; i < n_cpus; i++, p += sizeof(struct acpi_madt_lapic)) {
		struct acpi_madt_lapic l = { .type = 0, .length = sizeof(l), .processor_uid = (uint8_t)i,
					     .apic_id = (uint8_t)i, .flags = 1 /* enabled */ };

		memcpy(p, &l, sizeof(l));
	}
	memcpy(p, &io, sizeof(io));
	table_seal(t, "APIC", len, 4);
}

static int devices_check(const struct acpi_mmio_device *devs, size_t n_devs, struct err *err)
{
	uint32_t used = 1u << 0 | 1u << 2 | 1u << SERIAL_IRQ;   /* PIT, cascade, UART */
	uint32_t level = 0;     /* the pins level devices share */
	size_t i;

	if (n_devs > ACPI_MAX_DEVICES)
		return err_set(err, "%zu virtio-mmio devices: ACPI describes at most %d",
			       n_devs, ACPI_MAX_DEVICES);
	for (i = 0; i < n_devs; i++) {
		const struct acpi_mmio_device *d = &devs[i];

		if (!d->size || d->base > 0xffffffffULL || d->size > 0x100000000ULL - d->base)
			return err_set(err, "virtio-mmio device %zu (%#llx, %#x bytes) is not a "
				       "range below 4 GiB", i, (unsigned long long)d->base, d->size);
		if (d->gsi >= ACPI_IOAPIC_PINS || (used & (1u << d->gsi)) ||
		    (d->edge && (level & (1u << d->gsi))))
			return err_set(err, "virtio-mmio device %zu: GSI %u is %s", i, d->gsi,
				       d->gsi >= ACPI_IOAPIC_PINS ? "past the I/O APIC's 24 pins" :
				       "already taken");
		if (d->edge)
			used |= 1u << d->gsi;   /* exclusive */
		else
			level |= 1u << d->gsi;
	}
	return 0;
}

int acpi_build(void *ram, uint64_t ram_size, unsigned n_cpus, const struct acpi_mmio_device *devs,
	       size_t n_devs, struct err *err)
{
	struct acpi_area area = { .ram = ram, .next = LAYOUT_ACPI_RSDP, .end = LAYOUT_HIMEM };
	uint32_t madt_len = MADT_FIXED + n_cpus * sizeof(struct acpi_madt_lapic) +
			    sizeof(struct acpi_madt_ioapic);
	uint64_t rsdp_gpa, xsdt_gpa, fadt_gpa, madt_gpa, dsdt_gpa = 0;
	struct acpi_rsdp *rsdp;
	struct acpi_fadt *fadt;
	uint8_t *xsdt, *madt;
	struct aml dsdt = { 0 };

	if (ram_size < LAYOUT_HIMEM)
		return err_set(err, "guest memory ends below 1 MiB: no room for the ACPI tables");
	if (n_cpus == 0 || n_cpus > ACPI_MAX_CPUS)
		return err_set(err, "%u vCPUs: the ACPI tables describe 1 to %d", n_cpus,
			       ACPI_MAX_CPUS);
	if (devices_check(devs, n_devs, err) < 0)
		return -1;
	rsdp = area_take(&area, sizeof(*rsdp), &rsdp_gpa);
	xsdt = area_take(&area, sizeof(struct acpi_header) + 2 * 8, &xsdt_gpa);
	fadt = area_take(&area, sizeof(*fadt), &fadt_gpa);
	madt = area_take(&area, madt_len, &madt_gpa);
	if (area_take(&area, 0, &dsdt_gpa)) {
		dsdt = (struct aml){ .p = (uint8_t *)ram + dsdt_gpa, .cap = area.end - dsdt_gpa };
		dsdt_write(&dsdt, devs, n_devs);
	}
	if (area.full || dsdt.full || !dsdt.p)
		return err_set(err, "the ACPI tables for %u vCPUs and %zu devices do not fit "
			       "between %#llx and 1 MiB", n_cpus, n_devs, LAYOUT_ACPI_RSDP);
	table_seal(dsdt.p, "DSDT", (uint32_t)dsdt.len, 2);   /* 2: 64-bit integers */
	madt_write(madt, madt_len, n_cpus);
	fadt_write(fadt, dsdt_gpa);
	put_le(xsdt + sizeof(struct acpi_header), fadt_gpa, 8);
	put_le(xsdt + sizeof(struct acpi_header) + 8, madt_gpa, 8);
	table_seal(xsdt, "XSDT", sizeof(struct acpi_header) + 2 * 8, 1);
	memcpy(rsdp->signature, "RSD PTR ", 8);
	memcpy(rsdp->oem_id, "ISOBOX", 6);
	rsdp->revision = 2;
	rsdp->length = sizeof(*rsdp);
	rsdp->xsdt = xsdt_gpa;
	rsdp->checksum = checksum(rsdp, 20);
	rsdp->ext_checksum = checksum(rsdp, sizeof(*rsdp));
	return 0;
}
