/* The virtio-mmio transport (virtio 1.x, register layout version 2): one
 * 4 KiB register window per device, described to the guest in ACPI. A device
 * supplies its id, features, queues and config space through struct
 * virtio_dev_ops; the transport keeps the negotiation and the queues. */
#ifndef ISOBOX_VIRTIO_MMIO_H
#define ISOBOX_VIRTIO_MMIO_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "util/err.h"
#include "vmm/virtq.h"

#define VIRTIO_MMIO_SIZE 0x1000
#define VIRTIO_MAX_QUEUES 4
#define VIRTIO_F_VERSION_1 (1ULL << 32)
/* INTERRUPT_STATUS bits */
#define VIRTIO_INT_USED 1u
#define VIRTIO_INT_CONFIG 2u

struct virtio_dev;

/* An edge interrupt KVM raises itself (KVM_IRQFD), for a device whose
 * buffers another process uses (virtio-fs's server): the user sets its bits
 * in *isr, memory both processes map, and writes fd; no hop through the
 * VMM. The guest's read of INTERRUPT_STATUS takes the bits (read-to-clear,
 * as virtio-pci's ISR), so its ACK, which would clear the same bits, is
 * completed by KVM (ack_fd, an ioeventfd nobody reads): one exit to the VMM
 * per interrupt, not two. */
struct virtio_irqfd {
	_Atomic uint32_t *isr;
	int fd;
	int ack_fd;
};

struct virtio_dev_ops {
	uint32_t device_id;
	uint64_t features;          /* offered; VERSION_1 is added by the transport */
	unsigned n_queues;
	/* Read len bytes at offset of the device's config space (bounds checked). */
	void (*config_read)(struct virtio_dev *d, uint32_t offset, void *data, uint32_t len);
	uint32_t config_len;
	/* The driver kicked queue q; called with d->lock held. */
	void (*notify)(struct virtio_dev *d, unsigned q);
	/* The driver reset the device; called with d->lock held. */
	void (*reset)(struct virtio_dev *d);
};

struct virtio_dev {
	const struct virtio_dev_ops *ops;
	void *priv;                 /* the device's own state */
	uint64_t base;              /* guest physical address of the register window */
	uint32_t gsi;               /* its interrupt line */
	void (*set_irq)(void *ctx, uint32_t gsi, int level);
	void *irq_ctx;
	pthread_mutex_t lock;       /* vCPU thread (registers) vs. I/O thread (input) */
	uint32_t status, device_features_sel, driver_features_sel, queue_sel;
	uint32_t interrupt_status, config_generation;
	uint64_t driver_features;
	bool broken;                /* the guest broke the rules: stop, ask for a reset */
	bool irq_asserted;          /* what set_irq last said: devices may share a line */
	struct virtio_irqfd *irqfd; /* set: the status and interrupt are there instead */
	struct virtq queues[VIRTIO_MAX_QUEUES];
};

void virtio_dev_init(struct virtio_dev *d, const struct virtio_dev_ops *ops, void *priv,
		     const struct kvm_vm *mem, uint64_t base, uint32_t gsi,
		     void (*set_irq)(void *ctx, uint32_t gsi, int level), void *irq_ctx);

/* A guest access at offset in the window; called with d->lock NOT held. */
void virtio_mmio_read(struct virtio_dev *d, uint64_t offset, uint8_t *data, uint32_t len);
void virtio_mmio_write(struct virtio_dev *d, uint64_t offset, const uint8_t *data,
		       uint32_t len);

/* With d->lock held: tell the driver about used buffers / a config change. */
void virtio_notify_used(struct virtio_dev *d, unsigned q);
void virtio_notify_config(struct virtio_dev *d);
/* With d->lock held: the guest broke the rules (err says how): the device
 * stops and asks the driver for a reset (DEVICE_NEEDS_RESET). */
void virtio_fail(struct virtio_dev *d, const struct err *err);
/* KVM signals fd itself when the driver notifies queue q (KVM_IOEVENTFD with
 * q as datamatch): no vCPU exit to the VMM for a kick. Before the VMM's
 * seccomp filter, which allows no KVM_IOEVENTFD; KVM drops it with the VM.
 * 0, or -1 with errno (an old KVM: the kick then takes the MMIO path). */
int virtio_mmio_ioeventfd(const struct virtio_dev *d, int vm_fd, unsigned q, int fd);
/* The device's interrupt becomes irq (virtio_irqfd): KVM_IRQFD on its gsi,
 * which must be an edge pin of its own (acpi_mmio_device's edge), and the
 * ACK's ioeventfd (irq->ack_fd, made here; -1 when KVM has none: the ACK
 * then exits to the VMM, which clears the bits again). vm_fd -1 (tests): no
 * KVM, the status alone. Before the VMM's seccomp filter. */
int virtio_mmio_irqfd(struct virtio_dev *d, int vm_fd, struct virtio_irqfd *irq,
		      struct err *err);
/* Set bits in irq's status and interrupt the guest; from any process. */
void virtio_irqfd_raise(const struct virtio_irqfd *irq, uint32_t bits);
/* Whether the driver has set DRIVER_OK and the device is usable. */
bool virtio_running(const struct virtio_dev *d);

#endif
