/* ACPI tables: found the way Linux finds them (RSDP -> XSDT -> FADT -> DSDT,
 * MADT), every checksum, the fields the guest relies on, and the DSDT's AML
 * parsed back by an independent decoder; the limits acpi_build refuses. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/acpi.h"
#include "vmm/layout.h"

#define RAM_SIZE (2ULL << 20)
#define CANARY 0xa5
#define MMIO_BASE 0xd0000000ULL

static uint64_t le(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;

	while (n--)
		v = (v << 8) | p[n];
	return v;
}

static uint8_t sum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	while (n--)
		s += *p++;
	return s;
}

static uint8_t *ram_new(void)
{
	uint8_t *ram = malloc(RAM_SIZE);

	assert_non_null(ram);
	memset(ram, CANARY, RAM_SIZE);
	return ram;
}

/* n devices with distinct windows and distinct free I/O APIC pins. */
static void devices_make(struct acpi_mmio_device *devs, size_t n)
{
	static const uint32_t pins[] = { 5, 6, 7, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19,
					 20, 21, 22, 23, 1, 3, 8 };
	size_t i;

	for (i = 0; i < n; i++)
		devs[i] = (struct acpi_mmio_device){ MMIO_BASE + i * 0x1000, 0x1000,
						     pins[i % (sizeof(pins) / sizeof(pins[0]))], false };
}

struct tables {
	const uint8_t *rsdp, *xsdt, *fadt, *madt, *dsdt;
	uint64_t dsdt_gpa, lowest, end;   /* what the tables cover in guest RAM */
};

/* A table at gpa: its signature, a length inside the ACPI area, a zero sum. */
static const uint8_t *table_at(const uint8_t *ram, uint64_t gpa, const char *sig,
			       struct tables *t)
{
	const uint8_t *p = ram + gpa;
	uint32_t len;

	assert_true(gpa >= LAYOUT_ACPI_RSDP && gpa + 36 <= LAYOUT_HIMEM);
	assert_memory_equal(p, sig, 4);
	len = (uint32_t)le(p + 4, 4);
	assert_true(len >= 36 && gpa + len <= LAYOUT_HIMEM);
	assert_int_equal(sum(p, len), 0);
	assert_memory_equal(p + 10, "ISOBOX", 6);
	if (gpa < t->lowest)
		t->lowest = gpa;
	if (gpa + len > t->end)
		t->end = gpa + len;
	return p;
}

static void tables_find(const uint8_t *ram, struct tables *t)
{
	const uint8_t *r = ram + LAYOUT_ACPI_RSDP;
	uint32_t i, n;

	memset(t, 0, sizeof(*t));
	t->lowest = LAYOUT_ACPI_RSDP;
	t->end = LAYOUT_ACPI_RSDP + 36;
	/* Linux's legacy scan: "RSD PTR " on a 16-byte boundary in 0xe0000-0xfffff. */
	assert_int_equal(LAYOUT_ACPI_RSDP % 16, 0);
	assert_true(LAYOUT_ACPI_RSDP >= 0xe0000 && LAYOUT_ACPI_RSDP < 0x100000);
	assert_memory_equal(r, "RSD PTR ", 8);
	assert_int_equal(sum(r, 20), 0);
	assert_int_equal(r[15], 2);                      /* ACPI 2.0+: the XSDT */
	assert_int_equal(le(r + 20, 4), 36);
	assert_int_equal(sum(r, 36), 0);
	assert_memory_equal(r + 9, "ISOBOX", 6);
	t->rsdp = r;
	t->xsdt = table_at(ram, le(r + 24, 8), "XSDT", t);
	n = ((uint32_t)le(t->xsdt + 4, 4) - 36) / 8;
	assert_int_equal(n, 2);
	for (i = 0; i < n; i++) {
		uint64_t gpa = le(t->xsdt + 36 + 8 * i, 8);

		assert_true(gpa < LAYOUT_HIMEM);
		if (!memcmp(ram + gpa, "FACP", 4))
			t->fadt = table_at(ram, gpa, "FACP", t);
		else
			t->madt = table_at(ram, gpa, "APIC", t);
	}
	assert_non_null(t->fadt);
	assert_non_null(t->madt);
	t->dsdt_gpa = le(t->fadt + 140, 8);
	t->dsdt = table_at(ram, t->dsdt_gpa, "DSDT", t);
}

/* acpi_build wrote nothing outside the tables. */
static void assert_untouched_outside(const uint8_t *ram, const struct tables *t)
{
	uint64_t i;

	for (i = 0; i < RAM_SIZE; i++)
		if ((i < t->lowest || i >= t->end) && ram[i] != CANARY)
			fail_msg("acpi_build wrote guest RAM at %#llx, outside its tables",
				 (unsigned long long)i);
}

static uint8_t *build(unsigned n_cpus, size_t n_devs, struct tables *t)
{
	struct acpi_mmio_device devs[ACPI_MAX_DEVICES];
	struct err err = { 0 };
	uint8_t *ram = ram_new();

	devices_make(devs, n_devs);
	if (acpi_build(ram, RAM_SIZE, n_cpus, devs, n_devs, &err) < 0)
		fail_msg("acpi_build: %s", err.msg);
	tables_find(ram, t);
	assert_untouched_outside(ram, t);
	return ram;
}

static void test_rsdp_xsdt_and_checksums(void **state)
{
	struct tables t;
	uint8_t *ram = build(1, 1, &t);

	assert_ptr_equal(t.rsdp, ram + 0xe0000);
	assert_int_equal(t.xsdt[8], 1);
	assert_true(t.end <= LAYOUT_HIMEM);
	free(ram);
}

static void test_fadt(void **state)
{
	struct tables t;
	uint8_t *ram = build(1, 0, &t);
	const uint8_t *f = t.fadt;

	assert_int_equal(le(f + 4, 4), 276);
	assert_int_equal(f[8], 6);                              /* revision */
	assert_true(le(f + 112, 4) & (1u << 20));               /* HW_REDUCED_ACPI */
	assert_int_equal(le(f + 40, 4), 0);                     /* no 32-bit DSDT */
	assert_int_equal(le(f + 140, 8), t.dsdt_gpa);           /* X_DSDT */
	assert_int_equal(le(f + 36, 4) | le(f + 132, 8), 0);    /* no FACS */
	assert_int_equal(le(f + 46, 2), 0);                     /* no SCI */
	assert_int_equal(le(f + 76, 4), 0);                     /* no PM timer */
	assert_true(le(f + 109, 2) & 0x4);                      /* VGA not present */
	assert_false(le(f + 109, 2) & 0x20);                    /* the CMOS RTC is there */
	assert_int_equal(f[108], 0x32);                         /* RTC century register */
	/* SLEEP_CONTROL_REG and SLEEP_STATUS_REG: 8-bit SystemIO, byte access. */
	assert_int_equal(f[244], 1);
	assert_int_equal(f[245], 8);
	assert_int_equal(f[246], 0);
	assert_int_equal(f[247], 1);
	assert_int_equal(le(f + 248, 8), ACPI_SLEEP_PORT);
	assert_int_equal(f[256], 1);
	assert_int_equal(f[257], 8);
	assert_int_equal(le(f + 260, 8), ACPI_SLEEP_STATUS_PORT);
	free(ram);
}

static void check_madt(unsigned n_cpus)
{
	struct tables t;
	uint8_t *ram = build(n_cpus, 2, &t);
	const uint8_t *m = t.madt;
	uint32_t len = (uint32_t)le(m + 4, 4), off = 44;
	unsigned lapics = 0, ioapics = 0;

	assert_int_equal(le(m + 36, 4), 0xfee00000);
	while (off < len) {
		const uint8_t *e = m + off;

		assert_true(e[1] >= 2 && off + e[1] <= len);
		if (e[0] == 0) {
			assert_int_equal(e[1], 8);
			assert_int_equal(e[3], lapics);         /* APIC id */
			assert_int_equal(le(e + 4, 4) & 1, 1);  /* enabled */
			lapics++;
		} else if (e[0] == 1) {
			assert_int_equal(e[1], 12);
			assert_int_equal(e[2], n_cpus);         /* I/O APIC id */
			assert_int_equal(le(e + 4, 4), 0xfec00000);
			assert_int_equal(le(e + 8, 4), 0);      /* GSI base */
			ioapics++;
		}
		off += e[1];
	}
	assert_int_equal(off, len);
	assert_int_equal(lapics, n_cpus);
	assert_int_equal(ioapics, 1);
	free(ram);
}

static void test_madt_1_cpu(void **state)
{
	check_madt(1);
}

static void test_madt_4_cpus(void **state)
{
	check_madt(4);
}

/* An AML decoder for what the DSDT may hold; anything else fails the test. */
struct aml_dev {
	char name[5];
	char hid[16];
	uint32_t eisa_hid;
	uint64_t uid, cca;
	int n_mem, n_ext_irq, n_io;
	uint64_t mem_base, mem_size;
	uint8_t mem_info, irq_flags;
	uint32_t gsi;
	uint16_t io_port, irq_mask;
};

struct aml_seen {
	struct aml_dev devs[64];
	int n_devs, n_scopes, s5_count;
	uint64_t s5_typ;
};

/* PkgLength: returns the bytes it took; *len counts them too. */
static size_t pkg_length(const uint8_t *p, const uint8_t *end, size_t *len)
{
	size_t n = (size_t)(p[0] >> 6) + 1, i;

	assert_true(p + n <= end);
	if (n == 1) {
		*len = p[0] & 0x3f;
		return 1;
	}
	assert_int_equal(p[0] & 0x30, 0);
	*len = p[0] & 0xf;
	for (i = 1; i < n; i++)
		*len |= (size_t)p[i] << (4 + 8 * (i - 1));
	/* The shortest encoding: Linux accepts longer ones, iasl never writes them. */
	assert_true(n == 2 ? *len >= 0x40 : *len >= (1u << (4 + 8 * (n - 2))));
	return n;
}

/* The package at *p (its PkgLength first): returns its end, *p past the PkgLength. */
static const uint8_t *pkg(const uint8_t **p, const uint8_t *end)
{
	const uint8_t *start = *p;
	size_t len;

	*p += pkg_length(*p, end, &len);
	assert_true(len >= (size_t)(*p - start) && start + len <= end);
	return start + len;
}

static void name_string(const uint8_t **p, const uint8_t *end, char *out)
{
	size_t n = 0, i;

	if (**p == '\\')
		out[n++] = (char)*(*p)++;
	assert_true(*p + 4 <= end);
	for (i = 0; i < 4; i++) {
		char c = (char)(*p)[i];

		assert_true((c >= 'A' && c <= 'Z') || c == '_' || (i && c >= '0' && c <= '9'));
		out[n++] = c;
	}
	out[n] = 0;
	*p += 4;
}

static uint64_t integer(const uint8_t **p, const uint8_t *end)
{
	static const unsigned size[] = { [0x0a] = 1, [0x0b] = 2, [0x0c] = 4, [0x0e] = 8 };
	uint8_t op = *(*p)++;
	uint64_t v;

	if (op == 0x00 || op == 0x01)
		return op;
	assert_true(op < sizeof(size) / sizeof(size[0]) && size[op]);
	assert_true(*p + size[op] <= end);
	v = le(*p, size[op]);
	*p += size[op];
	return v;
}

static void resources(const uint8_t *p, const uint8_t *end, struct aml_dev *d)
{
	while (p < end) {
		size_t len;

		if (p[0] & 0x80) {      /* large: type, 16-bit length */
			assert_true(p + 3 <= end);
			len = le(p + 1, 2);
			assert_true(p + 3 + len <= end);
			if (p[0] == 0x86) {
				assert_int_equal(len, 9);
				d->mem_info = p[3];
				d->mem_base = le(p + 4, 4);
				d->mem_size = le(p + 8, 4);
				d->n_mem++;
			} else if (p[0] == 0x89) {
				assert_int_equal(len, 2 + 4 * p[4]);
				assert_int_equal(p[4], 1);
				d->irq_flags = p[3];
				d->gsi = (uint32_t)le(p + 5, 4);
				d->n_ext_irq++;
			} else {
				fail_msg("unexpected large resource %#x", p[0]);
			}
			p += 3 + len;
			continue;
		}
		len = p[0] & 7;         /* small: type in bits 3-6 */
		assert_true(p + 1 + len <= end);
		if (p[0] == 0x79) {
			assert_int_equal(len, 1);
			assert_ptr_equal(p + 2, end);   /* the end tag is last */
			return;
		} else if (p[0] == 0x47) {
			d->io_port = (uint16_t)le(p + 2, 2);
			assert_int_equal(le(p + 4, 2), d->io_port);
			d->n_io++;
		} else if (p[0] == 0x22) {
			d->irq_mask = (uint16_t)le(p + 1, 2);
		} else {
			fail_msg("unexpected small resource %#x", p[0]);
		}
		p += 1 + len;
	}
	fail_msg("resource template without an end tag");
}

static void named_object(const uint8_t **p, const uint8_t *end, struct aml_seen *s,
			 struct aml_dev *d)
{
	char name[6];

	name_string(p, end, name);
	assert_true(*p < end);
	if (!strcmp(name, "\\_S5_")) {
		const uint8_t *pend;

		assert_int_equal(*(*p)++, 0x12);        /* PackageOp */
		pend = pkg(p, end);
		assert_true(**p >= 1);                 /* NumElements */
		(*p)++;
		s->s5_typ = integer(p, pend);
		while (*p < pend)
			integer(p, pend);
		assert_ptr_equal(*p, pend);
		s->s5_count++;
		return;
	}
	assert_non_null(d);
	if (!strcmp(name, "_HID") && **p == 0x0d) {
		size_t n = strnlen((const char *)*p + 1, (size_t)(end - *p - 1));

		assert_true(*p + 1 + n < end && n < sizeof(d->hid));
		memcpy(d->hid, *p + 1, n + 1);
		*p += n + 2;
	} else if (!strcmp(name, "_HID")) {
		d->eisa_hid = (uint32_t)integer(p, end);
	} else if (!strcmp(name, "_UID")) {
		d->uid = integer(p, end);
	} else if (!strcmp(name, "_CCA")) {
		d->cca = integer(p, end);
	} else if (!strcmp(name, "_CRS")) {
		const uint8_t *bend;
		uint64_t size;

		assert_int_equal(*(*p)++, 0x11);        /* BufferOp */
		bend = pkg(p, end);
		size = integer(p, bend);
		assert_ptr_equal(*p + size, bend);
		resources(*p, bend, d);
		*p = bend;
	} else {
		fail_msg("unexpected name %s", name);
	}
}

static void term_list(const uint8_t *p, const uint8_t *end, struct aml_seen *s,
		      struct aml_dev *d)
{
	while (p < end) {
		const uint8_t *pend;
		char name[6];

		switch (*p++) {
		case 0x08:              /* NameOp */
			named_object(&p, end, s, d);
			break;
		case 0x10:              /* ScopeOp */
			pend = pkg(&p, end);
			name_string(&p, pend, name);
			assert_string_equal(name, "\\_SB_");
			s->n_scopes++;
			term_list(p, pend, s, NULL);
			p = pend;
			break;
		case 0x5b:              /* ExtOpPrefix, DeviceOp */
			assert_true(p < end && *p == 0x82);
			p++;
			pend = pkg(&p, end);
			assert_true(s->n_devs < 64);
			d = &s->devs[s->n_devs++];
			memset(d, 0, sizeof(*d));
			name_string(&p, pend, d->name);
			term_list(p, pend, s, d);
			d = NULL;
			p = pend;
			break;
		default:
			fail_msg("unexpected AML opcode %#x", p[-1]);
		}
	}
	assert_ptr_equal(p, end);
}

static const struct aml_dev *dev_named(const struct aml_seen *s, const char *name)
{
	int i;

	for (i = 0; i < s->n_devs; i++)
		if (!strcmp(s->devs[i].name, name))
			return &s->devs[i];
	return NULL;
}

static void check_dsdt(size_t n_devs)
{
	struct acpi_mmio_device devs[ACPI_MAX_DEVICES];
	struct aml_seen *s = calloc(1, sizeof(*s));
	const struct aml_dev *com1, *rtc;
	struct tables t;
	uint8_t *ram = build(1, n_devs, &t);
	uint32_t len = (uint32_t)le(t.dsdt + 4, 4);
	size_t i;
	int lnro = 0;

	devices_make(devs, n_devs);
	assert_int_equal(t.dsdt[8], 2);             /* 64-bit integers */
	term_list(t.dsdt + 36, t.dsdt + len, s, NULL);   /* consumes exactly the length */
	assert_int_equal(s->n_scopes, 1);
	assert_int_equal(s->s5_count, 1);
	assert_int_equal(s->s5_typ, ACPI_S5_SLP_TYP);
	com1 = dev_named(s, "COM1");
	assert_non_null(com1);
	assert_int_equal(com1->eisa_hid, 0x0105d041);   /* EisaId ("PNP0501") */
	assert_int_equal(com1->io_port, 0x3f8);
	assert_int_equal(com1->irq_mask, 1u << 4);
	rtc = dev_named(s, "RTC_");
	assert_non_null(rtc);
	assert_int_equal(rtc->eisa_hid, 0x000bd041);    /* EisaId ("PNP0B00") */
	assert_int_equal(rtc->io_port, 0x70);
	for (i = 0; i < (size_t)s->n_devs; i++)
		lnro += !strcmp(s->devs[i].hid, "LNRO0005");
	assert_int_equal(lnro, n_devs);
	for (i = 0; i < n_devs; i++) {
		char name[5];
		const struct aml_dev *d;

		snprintf(name, sizeof(name), "VR%02zu", i);
		d = dev_named(s, name);
		assert_non_null(d);
		assert_string_equal(d->hid, "LNRO0005");
		assert_int_equal(d->uid, i);
		assert_int_equal(d->cca, 1);
		assert_int_equal(d->n_mem, 1);
		assert_int_equal(d->mem_info, 1);               /* ReadWrite */
		assert_int_equal(d->mem_base, devs[i].base);
		assert_int_equal(d->mem_size, devs[i].size);
		assert_int_equal(d->n_ext_irq, 1);
		assert_int_equal(d->irq_flags, 0x09);   /* consumer, level, active high, shared */
		assert_int_equal(d->gsi, devs[i].gsi);
	}
	free(s);
	free(ram);
}

static void test_dsdt_no_device(void **state)
{
	check_dsdt(0);
}

static void test_dsdt_one_device(void **state)
{
	check_dsdt(1);
}

static void test_dsdt_eight_devices(void **state)
{
	check_dsdt(8);
}

static void test_dsdt_most_devices(void **state)
{
	check_dsdt(ACPI_MAX_DEVICES);
}

static void test_fits_below_1mib(void **state)
{
	struct tables t;
	uint8_t *ram = build(32, 8, &t);

	assert_true(t.end <= LAYOUT_HIMEM);
	free(ram);
	ram = build(ACPI_MAX_CPUS, ACPI_MAX_DEVICES, &t);
	assert_true(t.end <= LAYOUT_HIMEM);
	free(ram);
}

static void assert_refused(uint64_t ram_size, unsigned n_cpus, const struct acpi_mmio_device *devs,
			   size_t n_devs)
{
	struct err err = { 0 };
	uint8_t *ram = ram_new();
	size_t i;

	assert_int_equal(acpi_build(ram, ram_size, n_cpus, devs, n_devs, &err), -1);
	assert_true(err.msg[0] != 0);
	for (i = 0; i < RAM_SIZE; i++)
		if (ram[i] != CANARY)
			fail_msg("a refused acpi_build wrote guest RAM at %#zx", i);
	free(ram);
}

static void test_refuses_what_does_not_fit(void **state)
{
	struct acpi_mmio_device devs[ACPI_MAX_DEVICES + 1], one;

	devices_make(devs, ACPI_MAX_DEVICES);
	devs[ACPI_MAX_DEVICES] = (struct acpi_mmio_device){ MMIO_BASE + 0x100000, 0x1000, 5, false };
	assert_refused(RAM_SIZE, 1, devs, ACPI_MAX_DEVICES + 1);
	assert_refused(RAM_SIZE, 0, NULL, 0);
	assert_refused(RAM_SIZE, ACPI_MAX_CPUS + 1, NULL, 0);
	assert_refused(LAYOUT_HIMEM - 1, 1, NULL, 0);
	one = (struct acpi_mmio_device){ MMIO_BASE, 0x1000, ACPI_IOAPIC_PINS, false };
	assert_refused(RAM_SIZE, 1, &one, 1);
	one.gsi = 4;                                    /* the UART's */
	assert_refused(RAM_SIZE, 1, &one, 1);
	one = (struct acpi_mmio_device){ 0x100000000ULL, 0x1000, 5, false };
	assert_refused(RAM_SIZE, 1, &one, 1);
	one = (struct acpi_mmio_device){ 0xfffff000ULL, 0x2000, 5, false };
	assert_refused(RAM_SIZE, 1, &one, 1);
	one = (struct acpi_mmio_device){ MMIO_BASE, 0, 5, false };
	assert_refused(RAM_SIZE, 1, &one, 1);
	devs[1].gsi = devs[0].gsi;                      /* two devices, one pin: shared */
	devs[2].gsi = 2;                                /* but not the 8259 cascade's */
	assert_refused(RAM_SIZE, 1, devs, 3);
}

/* The image's layer disks share a pin: accepted, each declared shared. */
static void test_shared_pin(void **state)
{
	struct acpi_mmio_device devs[3];
	struct err err = { 0 };
	uint8_t *ram = ram_new();

	devices_make(devs, 3);
	devs[1].gsi = devs[2].gsi = devs[0].gsi;
	assert_int_equal(acpi_build(ram, RAM_SIZE, 1, devs, 3, &err), 0);
	free(ram);
}

/* A device KVM interrupts itself (irqfd: the shares) is edge and exclusive:
 * declared so, and no other device may take its pin. */
static void test_edge_pin(void **state)
{
	struct acpi_mmio_device devs[3];
	struct aml_seen *s = calloc(1, sizeof(*s));
	struct err err = { 0 };
	struct tables t;
	uint8_t *ram = ram_new();

	devices_make(devs, 3);
	devs[0].gsi = 5;
	devs[0].edge = true;
	devs[1].gsi = devs[2].gsi = 16;
	assert_int_equal(acpi_build(ram, RAM_SIZE, 1, devs, 3, &err), 0);
	tables_find(ram, &t);
	term_list(t.dsdt + 36, t.dsdt + le(t.dsdt + 4, 4), s, NULL);
	assert_int_equal(dev_named(s, "VR00")->irq_flags, 0x03);  /* consumer, edge, exclusive */
	assert_int_equal(dev_named(s, "VR00")->gsi, 5);
	assert_int_equal(dev_named(s, "VR01")->irq_flags, 0x09);
	free(ram);
	free(s);
	devs[1].gsi = 5;                        /* a level device on the edge one's pin */
	assert_refused(RAM_SIZE, 1, devs, 3);
	devs[1] = devs[0];                      /* the other way round */
	devs[1].base += 0x1000;
	devs[0].edge = false;
	assert_refused(RAM_SIZE, 1, devs, 2);
	devs[0].edge = true;                    /* two edge devices, one pin */
	assert_refused(RAM_SIZE, 1, devs, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rsdp_xsdt_and_checksums),
		cmocka_unit_test(test_fadt),
		cmocka_unit_test(test_madt_1_cpu),
		cmocka_unit_test(test_madt_4_cpus),
		cmocka_unit_test(test_dsdt_no_device),
		cmocka_unit_test(test_edge_pin),
		cmocka_unit_test(test_dsdt_one_device),
		cmocka_unit_test(test_dsdt_eight_devices),
		cmocka_unit_test(test_dsdt_most_devices),
		cmocka_unit_test(test_fits_below_1mib),
		cmocka_unit_test(test_refuses_what_does_not_fit),
		cmocka_unit_test(test_shared_pin),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
