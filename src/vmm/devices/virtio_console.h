/* A virtio console with one port (no multiport): what the guest writes to its
 * /dev/hvcN goes to out_fd, what arrives on in_fd is given to the guest. The
 * container's stdio and the agent's control channel are each one of these. */
#ifndef ISOBOX_VIRTIO_CONSOLE_H
#define ISOBOX_VIRTIO_CONSOLE_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm/virtio_mmio.h"

struct virtio_console {
	struct virtio_dev dev;
	int in_fd;              /* host -> guest, -1 for none */
	int out_fd;             /* guest -> host, -1 discards */
	uint16_t cols, rows;    /* the terminal size the guest sees (F_SIZE) */
	bool in_eof;
	int wake_fd;            /* eventfd poked when the guest posts receive buffers */
};

void virtio_console_init(struct virtio_console *c, const struct kvm_vm *mem, uint64_t base,
			 uint32_t gsi, void (*set_irq)(void *, uint32_t, int), void *irq_ctx,
			 int in_fd, int out_fd);
/* The I/O thread saw in_fd readable: move what fits into the guest's receive
 * buffers. Returns 1 when it moved data, 0 when the guest has no buffer posted
 * (try again after its next notify), -1 at EOF or error on in_fd. */
int virtio_console_input(struct virtio_console *c);
/* The user's terminal changed size: tell the guest (a config interrupt). */
void virtio_console_resize(struct virtio_console *c, uint16_t cols, uint16_t rows);

#endif
