/* What the virtio device tests share: 32-bit register accesses to a
 * virtio-mmio window, and an interrupt line that records its last level. */
#ifndef ISOBOX_TEST_VIRTIO_REGS_H
#define ISOBOX_TEST_VIRTIO_REGS_H

#include <stdint.h>

#include "vmm/virtio_mmio.h"

static int irq_level = -1;

static void record_irq(void *ctx, uint32_t gsi, int level)
{
	(void)ctx;
	(void)gsi;
	irq_level = level;
}

static uint32_t rd(struct virtio_dev *d, uint64_t off)
{
	uint32_t v;

	virtio_mmio_read(d, off, (uint8_t *)&v, 4);
	return v;
}

static void wr(struct virtio_dev *d, uint64_t off, uint32_t v)
{
	virtio_mmio_write(d, off, (uint8_t *)&v, 4);
}

#endif
