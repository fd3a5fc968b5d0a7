#include "vmm/virtio_mmio.h"

#include <linux/kvm.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>

#include <errno.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#define REG_MAGIC 0x000
#define REG_VERSION 0x004
#define REG_DEVICE_ID 0x008
#define REG_VENDOR_ID 0x00c
#define REG_DEVICE_FEATURES 0x010
#define REG_DEVICE_FEATURES_SEL 0x014
#define REG_DRIVER_FEATURES 0x020
#define REG_DRIVER_FEATURES_SEL 0x024
#define REG_QUEUE_SEL 0x030
#define REG_QUEUE_NUM_MAX 0x034
#define REG_QUEUE_NUM 0x038
#define REG_QUEUE_READY 0x044
#define REG_QUEUE_NOTIFY 0x050
#define REG_INTERRUPT_STATUS 0x060
#define REG_INTERRUPT_ACK 0x064
#define REG_STATUS 0x070
#define REG_QUEUE_DESC_LOW 0x080
#define REG_QUEUE_DESC_HIGH 0x084
#define REG_QUEUE_DRIVER_LOW 0x090
#define REG_QUEUE_DRIVER_HIGH 0x094
#define REG_QUEUE_DEVICE_LOW 0x0a0
#define REG_QUEUE_DEVICE_HIGH 0x0a4
#define REG_SHM_LEN_LOW 0x0b0
#define REG_SHM_LEN_HIGH 0x0b4
#define REG_SHM_BASE_LOW 0x0b8
#define REG_SHM_BASE_HIGH 0x0bc
#define REG_CONFIG_GENERATION 0x0fc
#define REG_CONFIG 0x100

#define MAGIC 0x74726976            /* "virt" */
#define VENDOR 0x584f4249           /* "IBOX" */
#define STATUS_DRIVER_OK 4
#define STATUS_FEATURES_OK 8
#define STATUS_NEEDS_RESET 0x40

void virtio_dev_init(struct virtio_dev *d, const struct virtio_dev_ops *ops, void *priv,
		     const struct kvm_vm *mem, uint64_t base, uint32_t gsi,
		     void (*set_irq)(void *ctx, uint32_t gsi, int level), void *irq_ctx)
{
	unsigned i;

	memset(d, 0, sizeof(*d));
	d->ops = ops;
	d->priv = priv;
	d->base = base;
	d->gsi = gsi;
	d->set_irq = set_irq;
	d->irq_ctx = irq_ctx;
	pthread_mutex_init(&d->lock, NULL);
	for (i = 0; i < VIRTIO_MAX_QUEUES; i++)
		d->queues[i].mem = mem;
}

/* Only changes reach set_irq: a line that several devices share is the OR of
 * them, counted by its owner, so a device must raise and lower it once each. */
static void update_irq(struct virtio_dev *d)
{
	bool on = d->interrupt_status != 0;

	if (d->irqfd)
		return;     /* KVM's edge, raised by whoever set the bits */
	if (!d->set_irq || on == d->irq_asserted)
		return;
	d->irq_asserted = on;
	d->set_irq(d->irq_ctx, d->gsi, on ? 1 : 0);
}

void virtio_notify_used(struct virtio_dev *d, unsigned q)
{
	if (q < d->ops->n_queues && !virtq_wants_interrupt(&d->queues[q]))
		return;
	if (d->irqfd) {
		virtio_irqfd_raise(d->irqfd, VIRTIO_INT_USED);
		return;
	}
	d->interrupt_status |= VIRTIO_INT_USED;
	update_irq(d);
}

void virtio_notify_config(struct virtio_dev *d)
{
	d->config_generation++;
	if (d->irqfd) {
		virtio_irqfd_raise(d->irqfd, VIRTIO_INT_CONFIG);
		return;
	}
	d->interrupt_status |= VIRTIO_INT_CONFIG;
	update_irq(d);
}

void virtio_fail(struct virtio_dev *d, const struct err *err)
{
	(void)err;      /* the guest's driver sees NEEDS_RESET; the VMM log has no room here */
	d->broken = true;
	d->status |= STATUS_NEEDS_RESET;
	virtio_notify_config(d);
}

bool virtio_running(const struct virtio_dev *d)
{
	return !d->broken && (d->status & STATUS_DRIVER_OK);
}

static void device_reset(struct virtio_dev *d)
{
	unsigned i;

	if (d->ops->reset)
		d->ops->reset(d);
	for (i = 0; i < VIRTIO_MAX_QUEUES; i++)
		virtq_reset(&d->queues[i]);
	d->status = d->device_features_sel = d->driver_features_sel = d->queue_sel = 0;
	d->interrupt_status = 0;
	if (d->irqfd)
		atomic_store(d->irqfd->isr, 0);
	d->driver_features = 0;
	d->broken = false;
	update_irq(d);
}

static struct virtq *selected_queue(struct virtio_dev *d)
{
	return d->queue_sel < d->ops->n_queues ? &d->queues[d->queue_sel] : NULL;
}

static uint32_t reg_read(struct virtio_dev *d, uint64_t off)
{
	uint64_t offered = d->ops->features | VIRTIO_F_VERSION_1;
	struct virtq *q = selected_queue(d);

	switch (off) {
	case REG_MAGIC: return MAGIC;
	case REG_VERSION: return 2;
	case REG_DEVICE_ID: return d->ops->device_id;
	case REG_VENDOR_ID: return VENDOR;
	case REG_DEVICE_FEATURES:
		return d->device_features_sel == 0 ? (uint32_t)offered :
		       d->device_features_sel == 1 ? (uint32_t)(offered >> 32) : 0;
	case REG_QUEUE_NUM_MAX: return q ? VIRTQ_MAX_SIZE : 0;
	case REG_QUEUE_READY: return q && q->ready;
	case REG_INTERRUPT_STATUS:
		return d->irqfd ? atomic_exchange(d->irqfd->isr, 0) : d->interrupt_status;
	case REG_STATUS: return d->status;
	case REG_CONFIG_GENERATION: return d->config_generation;
	/* No shared memory regions (virtio-fs's DAX window): a length of all
	 * ones says so; 0 would be a region of nothing at 0, which the driver
	 * then fails to reserve. */
	case REG_SHM_LEN_LOW: case REG_SHM_LEN_HIGH:
	case REG_SHM_BASE_LOW: case REG_SHM_BASE_HIGH: return 0xffffffff;
	default: return 0;
	}
}

static void set_addr(uint64_t *addr, bool high, uint32_t v)
{
	*addr = high ? (*addr & 0xffffffffULL) | ((uint64_t)v << 32)
		     : (*addr & ~0xffffffffULL) | v;
}

static void queue_write(struct virtio_dev *d, struct virtq *q, uint64_t off, uint32_t v)
{
	/* A queue is configured only while it is not live. */
	if (q->ready && off != REG_QUEUE_READY)
		return;
	switch (off) {
	case REG_QUEUE_NUM:
		/* A power of two no larger than we offered, or the queue stays off. */
		q->size = (v && v <= VIRTQ_MAX_SIZE && !(v & (v - 1))) ? (uint16_t)v : 0;
		break;
	case REG_QUEUE_READY: q->ready = v == 1 && q->size; break;
	case REG_QUEUE_DESC_LOW: set_addr(&q->desc, false, v); break;
	case REG_QUEUE_DESC_HIGH: set_addr(&q->desc, true, v); break;
	case REG_QUEUE_DRIVER_LOW: set_addr(&q->avail, false, v); break;
	case REG_QUEUE_DRIVER_HIGH: set_addr(&q->avail, true, v); break;
	case REG_QUEUE_DEVICE_LOW: set_addr(&q->used, false, v); break;
	case REG_QUEUE_DEVICE_HIGH: set_addr(&q->used, true, v); break;
	}
	(void)d;
}

static void status_write(struct virtio_dev *d, uint32_t v)
{
	uint64_t offered = d->ops->features | VIRTIO_F_VERSION_1;

	if (v == 0) {
		device_reset(d);
		return;
	}
	/* FEATURES_OK only for a subset of what we offer that includes VERSION_1. */
	if ((v & STATUS_FEATURES_OK) && !(d->status & STATUS_FEATURES_OK) &&
	    ((d->driver_features & ~offered) || !(d->driver_features & VIRTIO_F_VERSION_1)))
		v &= ~STATUS_FEATURES_OK;
	/* Going live: the driver may have posted buffers (and kicked) before. */
	if ((v & STATUS_DRIVER_OK) && !(d->status & STATUS_DRIVER_OK) && !d->broken) {
		unsigned q;

		d->status = v | (d->status & STATUS_NEEDS_RESET);
		for (q = 0; q < d->ops->n_queues && d->ops->notify; q++)
			d->ops->notify(d, q);
		return;
	}
	d->status = v | (d->status & STATUS_NEEDS_RESET);
}

static void reg_write(struct virtio_dev *d, uint64_t off, uint32_t v)
{
	struct virtq *q = selected_queue(d);

	switch (off) {
	case REG_DEVICE_FEATURES_SEL: d->device_features_sel = v; break;
	case REG_DRIVER_FEATURES_SEL: d->driver_features_sel = v; break;
	case REG_DRIVER_FEATURES:
		if (d->status & STATUS_FEATURES_OK)
			break;
		if (d->driver_features_sel == 0)
			d->driver_features = (d->driver_features & ~0xffffffffULL) | v;
		else if (d->driver_features_sel == 1)
			d->driver_features = (d->driver_features & 0xffffffffULL) | ((uint64_t)v << 32);
		break;
	case REG_QUEUE_SEL: d->queue_sel = v; break;
	case REG_QUEUE_NOTIFY:
		if (v < d->ops->n_queues && virtio_running(d) && d->ops->notify)
			d->ops->notify(d, v);
		break;
	case REG_INTERRUPT_ACK:
		if (d->irqfd)
			atomic_fetch_and(d->irqfd->isr, ~v);
		d->interrupt_status &= ~v;
		update_irq(d);
		break;
	case REG_STATUS: status_write(d, v); break;
	default:
		if (q)
			queue_write(d, q, off, v);
		break;
	}
}

void virtio_mmio_read(struct virtio_dev *d, uint64_t off, uint8_t *data, uint32_t len)
{
	uint32_t v;

	memset(data, 0, len);
	pthread_mutex_lock(&d->lock);
	if (off >= REG_CONFIG) {
		off -= REG_CONFIG;
		if (d->ops->config_read && off < d->ops->config_len &&
		    len <= d->ops->config_len - off)
			d->ops->config_read(d, (uint32_t)off, data, len);
	} else if (len == 4 && !(off & 3)) {
		v = reg_read(d, off);
		memcpy(data, &v, 4);
	}
	pthread_mutex_unlock(&d->lock);
}

void virtio_mmio_write(struct virtio_dev *d, uint64_t off, const uint8_t *data, uint32_t len)
{
	uint32_t v;

	/* Registers are 32-bit; the config space of our devices is read-only. */
	if (off >= REG_CONFIG || len != 4 || (off & 3))
		return;
	memcpy(&v, data, 4);
	pthread_mutex_lock(&d->lock);
	reg_write(d, off, v);
	pthread_mutex_unlock(&d->lock);
}

int virtio_mmio_ioeventfd(const struct virtio_dev *d, int vm_fd, unsigned q, int fd)
{
	struct kvm_ioeventfd io = {
		.datamatch = q, .addr = d->base + REG_QUEUE_NOTIFY, .len = 4, .fd = fd,
		.flags = KVM_IOEVENTFD_FLAG_DATAMATCH,
	};

	return ioctl(vm_fd, KVM_IOEVENTFD, &io);
}

int virtio_mmio_irqfd(struct virtio_dev *d, int vm_fd, struct virtio_irqfd *irq,
		      struct err *err)
{
	struct kvm_irqfd kirq = { .fd = (uint32_t)irq->fd, .gsi = d->gsi };
	struct kvm_ioeventfd ack = { .addr = d->base + REG_INTERRUPT_ACK, .len = 4 };

	irq->ack_fd = -1;
	if (vm_fd >= 0 && ioctl(vm_fd, KVM_IRQFD, &kirq) < 0)
		return err_sys(err, errno, "KVM_IRQFD (GSI %u)", d->gsi);
	d->irqfd = irq;
	if (vm_fd < 0 || (irq->ack_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
		return 0;
	ack.fd = irq->ack_fd;
	if (ioctl(vm_fd, KVM_IOEVENTFD, &ack) < 0) {
		close(irq->ack_fd);
		irq->ack_fd = -1;
	}
	return 0;
}

void virtio_irqfd_raise(const struct virtio_irqfd *irq, uint32_t bits)
{
	uint64_t one = 1;

	atomic_fetch_or(irq->isr, bits);
	if (write(irq->fd, &one, sizeof(one)) < 0)
		return;     /* full: an interrupt is on its way already */
}
