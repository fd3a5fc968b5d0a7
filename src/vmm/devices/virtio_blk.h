/* A virtio block device backed by a file: the container's EROFS root image
 * (read-only, shared by every VM of that image) or a writable disk. */
#ifndef ISOBOX_VIRTIO_BLK_H
#define ISOBOX_VIRTIO_BLK_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm/virtio_mmio.h"

struct virtio_blk {
	struct virtio_dev dev;
	int fd;
	uint64_t sectors;       /* 512-byte sectors */
	bool readonly;
	char id[20];            /* VIRTIO_BLK_T_GET_ID: the guest finds its disk by it */
};

int virtio_blk_init(struct virtio_blk *b, const struct kvm_vm *mem, uint64_t base, uint32_t gsi,
		    void (*set_irq)(void *, uint32_t, int), void *irq_ctx, int fd, bool readonly,
		    const char *id, struct err *err);

#endif
