#include "vmm/devices/virtio_console.h"

#include "util/fs.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#define VIRTIO_ID_CONSOLE 3
#define VIRTIO_CONSOLE_F_SIZE (1ULL << 0)
#define Q_RX 0
#define Q_TX 1

struct console_config {
	uint16_t cols, rows;
	uint32_t max_nr_ports, emerg_wr;
};

static void console_config_read(struct virtio_dev *d, uint32_t off, void *data, uint32_t len)
{
	struct virtio_console *c = d->priv;
	struct console_config cfg = { .cols = c->cols, .rows = c->rows, .max_nr_ports = 1 };

	memcpy(data, (char *)&cfg + off, len);
}

/* The guest wrote: every device-readable buffer of every chain goes out. */
static void console_transmit(struct virtio_console *c)
{
	struct virtio_dev *d = &c->dev;
	struct virtq_chain chain;
	struct err err = { 0 };
	int r;

	while ((r = virtq_pop(&d->queues[Q_TX], &chain, &err)) == 1) {
		unsigned i;

		for (i = 0; i < chain.n; i++)
			if (!chain.bufs[i].device_writes && c->out_fd >= 0 &&
			    write_all(c->out_fd, chain.bufs[i].host, chain.bufs[i].len) < 0)
				c->out_fd = -1;    /* the reader is gone: keep the guest going */
		if (virtq_push(&d->queues[Q_TX], chain.head, 0, &err) < 0)
			break;
	}
	if (r < 0 || err.kind) {
		virtio_fail(d, &err);
		return;
	}
	virtio_notify_used(d, Q_TX);
}

static void console_notify(struct virtio_dev *d, unsigned q)
{
	struct virtio_console *c = d->priv;
	uint64_t one = 1;

	if (q == Q_TX)
		console_transmit(c);
	else if (c->wake_fd >= 0 && write(c->wake_fd, &one, sizeof(one)) < 0)
		c->wake_fd = -1;   /* new receive buffers: the I/O thread retries input */
}

static const struct virtio_dev_ops console_ops = {
	.device_id = VIRTIO_ID_CONSOLE,
	.features = VIRTIO_CONSOLE_F_SIZE,
	.n_queues = 2,
	.config_read = console_config_read,
	.config_len = sizeof(struct console_config),
	.notify = console_notify,
};

void virtio_console_init(struct virtio_console *c, const struct kvm_vm *mem, uint64_t base,
			 uint32_t gsi, void (*set_irq)(void *, uint32_t, int), void *irq_ctx,
			 int in_fd, int out_fd)
{
	memset(c, 0, sizeof(*c));
	c->in_fd = in_fd;
	c->out_fd = out_fd;
	c->cols = 80;
	c->rows = 24;
	c->wake_fd = -1;
	virtio_dev_init(&c->dev, &console_ops, c, mem, base, gsi, set_irq, irq_ctx);
}

int virtio_console_input(struct virtio_console *c)
{
	struct virtio_dev *d = &c->dev;
	struct virtq_chain chain;
	struct err err = { 0 };
	uint8_t buf[4096];
	size_t room;
	ssize_t n;
	int r;

	pthread_mutex_lock(&d->lock);
	r = virtio_running(d) ? virtq_pop(&d->queues[Q_RX], &chain, &err) : 0;
	if (r <= 0) {
		if (r < 0)
			virtio_fail(d, &err);
		pthread_mutex_unlock(&d->lock);
		return 0;
	}
	room = virtq_chain_len(&chain, true);
	n = read(c->in_fd, buf, room < sizeof(buf) ? room : sizeof(buf));
	if (n > 0)
		virtq_chain_write(&chain, 0, buf, (size_t)n);
	/* An unused chain goes back as empty: the driver reposts it. */
	if (virtq_push(&d->queues[Q_RX], chain.head, n > 0 ? (uint32_t)n : 0, &err) < 0)
		virtio_fail(d, &err);
	else
		virtio_notify_used(d, Q_RX);
	pthread_mutex_unlock(&d->lock);
	if (n > 0)
		return 1;
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 0;
	c->in_eof = true;
	return -1;
}

void virtio_console_resize(struct virtio_console *c, uint16_t cols, uint16_t rows)
{
	pthread_mutex_lock(&c->dev.lock);
	c->cols = cols;
	c->rows = rows;
	if (virtio_running(&c->dev))
		virtio_notify_config(&c->dev);
	pthread_mutex_unlock(&c->dev.lock);
}
