#include "vmm/vm_devices.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "guest/agent_proto.h"

static void add(struct vm_devices *d, struct virtio_dev *dev)
{
	d->all[d->n++] = dev;
}

static int add_disk(struct vm_devices *d, const struct kvm_vm *mem, int fd, bool readonly,
		    const char *serial, void (*set_irq)(void *, uint32_t, int), void *ctx,
		    struct err *err)
{
	size_t i = d->n;
	struct virtio_blk *b = &d->blk[i - 2];

	if (virtio_blk_init(b, mem, VM_MMIO_BASE + i * VIRTIO_MMIO_SIZE, VM_GSI_BASE + (uint32_t)i,
			    set_irq, ctx, fd, readonly, serial, err) < 0)
		return -1;
	add(d, &b->dev);
	return 0;
}

static int open_disk(const char *path, bool readonly, struct err *err)
{
	int fd = open(path, (readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);

	if (fd < 0)
		return err_sys(err, errno, "open disk image %s", path);
	return fd;
}

int vm_devices_create(struct vm_devices *d, const struct kvm_vm *mem,
		      const struct vm_container_io *io,
		      void (*set_irq)(void *, uint32_t, int), void *ctx, struct err *err)
{
	size_t i;

	memset(d, 0, sizeof(*d));
	for (i = 0; i < 3; i++)
		d->disk_fds[i] = -1;
	d->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (d->wake_fd < 0)
		return err_sys(err, errno, "eventfd");
	if (!io || !io->rootfs)
		return 0;
	/* The order is the agent's: hvc0 then hvc1, probed in ACPI order. */
	virtio_console_init(&d->con[0], mem, VM_MMIO_BASE, VM_GSI_BASE, set_irq, ctx,
			    io->stdin_fd, io->stdout_fd);
	d->con[0].wake_fd = d->wake_fd;
	add(d, &d->con[0].dev);
	virtio_console_init(&d->con[1], mem, VM_MMIO_BASE + VIRTIO_MMIO_SIZE, VM_GSI_BASE + 1,
			    set_irq, ctx, -1, io->stderr_fd);
	add(d, &d->con[1].dev);
	if ((d->disk_fds[0] = open_disk(io->rootfs, true, err)) < 0 ||
	    add_disk(d, mem, d->disk_fds[0], true, AGENT_DISK_ROOT, set_irq, ctx, err) < 0 ||
	    add_disk(d, mem, io->config_fd, true, AGENT_DISK_CONFIG, set_irq, ctx, err) < 0)
		return -1;
	if (io->upper && ((d->disk_fds[2] = open_disk(io->upper, false, err)) < 0 ||
			  add_disk(d, mem, d->disk_fds[2], false, AGENT_DISK_UPPER, set_irq, ctx,
				   err) < 0))
		return -1;
	return 0;
}

void vm_devices_destroy(struct vm_devices *d)
{
	size_t i;

	for (i = 0; i < 3; i++)
		if (d->disk_fds[i] >= 0)
			close(d->disk_fds[i]);
	if (d->wake_fd >= 0)
		close(d->wake_fd);
	d->wake_fd = -1;
}

bool vm_devices_mmio(struct vm_devices *d, uint64_t addr, uint8_t *data, uint32_t len,
		     bool is_write)
{
	size_t i;

	for (i = 0; i < d->n; i++) {
		struct virtio_dev *dev = d->all[i];

		if (addr < dev->base || addr - dev->base >= VIRTIO_MMIO_SIZE ||
		    len > VIRTIO_MMIO_SIZE - (addr - dev->base))
			continue;
		if (is_write)
			virtio_mmio_write(dev, addr - dev->base, data, len);
		else
			virtio_mmio_read(dev, addr - dev->base, data, len);
		return true;
	}
	return false;
}

void vm_devices_stop(struct vm_devices *d)
{
	uint64_t one = 1;

	d->stop = true;
	if (d->wake_fd >= 0 && write(d->wake_fd, &one, sizeof(one)) < 0)
		return;
}

void vm_devices_stdin_ready(struct vm_devices *d)
{
	uint64_t one = 1;

	d->stdin_ready = true;
	if (d->wake_fd >= 0 && write(d->wake_fd, &one, sizeof(one)) < 0)
		return;
}

void vm_devices_io_loop(struct vm_devices *d)
{
	struct virtio_console *in = &d->con[0];
	bool waiting = false;     /* no receive buffer: wait for the guest's notify */

	while (!d->stop) {
		struct pollfd p[2] = {
			{ .fd = d->wake_fd, .events = POLLIN },
			{ .fd = d->n && d->stdin_ready && in->in_fd >= 0 && !in->in_eof && !waiting
					? in->in_fd : -1,
			  .events = POLLIN },
		};
		uint64_t v;

		if (poll(p, 2, -1) < 0 && errno != EINTR)
			return;
		if (p[0].revents & POLLIN) {
			if (read(d->wake_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
				return;
			waiting = false;
		}
		if (p[1].revents & (POLLIN | POLLHUP))
			waiting = virtio_console_input(in) == 0 && !in->in_eof;
	}
}
