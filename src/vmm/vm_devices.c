#include "vmm/vm_devices.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "guest/agent_proto.h"
#include "vmm/vm_backend.h"

static int add(struct vm_devices *d, struct virtio_dev *dev, struct err *err)
{
	if (d->n >= VM_MAX_DEVICES)
		return err_set(err, "too many devices for the VM (at most %d)", VM_MAX_DEVICES);
	d->all[d->n++] = dev;
	return 0;
}

/* The next device's register window: slots follow the order of addition. */
static uint64_t next_base(const struct vm_devices *d)
{
	return VM_MMIO_BASE + d->n * VIRTIO_MMIO_SIZE;
}

static int add_disk(struct vm_devices *d, const struct kvm_vm *mem, int fd, bool readonly,
		    const char *serial, void (*set_irq)(void *, uint32_t, int), void *ctx,
		    struct err *err)
{
	size_t i = d->n;
	struct virtio_blk *b;
	uint32_t gsi = i < VM_OWN_GSIS ? VM_GSI_BASE + (uint32_t)i : VM_SHARED_GSI;

	if (i < VM_CONSOLES || i - VM_CONSOLES >= VM_DISKS_MAX)
		return err_set(err, "too many disks for the VM");
	b = &d->blk[i - VM_CONSOLES];
	if (virtio_blk_init(b, mem, next_base(d), gsi, set_irq, ctx, fd, readonly, serial,
			    err) < 0)
		return -1;
	return add(d, &b->dev, err);
}

static int open_disk(const char *path, bool readonly, struct err *err)
{
	int fd = open(path, (readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);

	if (fd < 0)
		return err_sys(err, errno, "open disk image %s", path);
	return fd;
}

/* The image's disks, one path a line, bottom first: "isobox-root", then
 * "isobox-root-1" and up. The fds are d->disk_fds[2..]. */
static int add_root_disks(struct vm_devices *d, const struct kvm_vm *mem, const char *list,
			  void (*set_irq)(void *, uint32_t, int), void *ctx, struct err *err)
{
	const char *p = list;
	unsigned i;

	for (i = 0; *p; i++) {
		size_t len = strcspn(p, "\n");
		char path[4096], serial[32];
		int *fd = &d->disk_fds[2 + i];

		if (i >= AGENT_ROOT_DISKS_MAX)
			return err_set(err, "the image has more than %d disks", AGENT_ROOT_DISKS_MAX);
		if (!len || len >= sizeof(path))
			return err_set(err, "the bundle's root image list is malformed");
		memcpy(path, p, len);
		path[len] = '\0';
		p += len + (p[len] == '\n');
		if (i == 0)
			snprintf(serial, sizeof(serial), "%s", AGENT_DISK_ROOT);
		else
			snprintf(serial, sizeof(serial), "%s-%u", AGENT_DISK_ROOT, i);
		if ((*fd = open_disk(path, true, err)) < 0 ||
		    add_disk(d, mem, *fd, true, serial, set_irq, ctx, err) < 0)
			return -1;
	}
	return i ? 0 : err_set(err, "the bundle names no root image");
}

/* Block volumes: each a disk of its own, locked (flock) for this VM: a
 * second VM with the same volume would corrupt its ext4. */
static int add_volume_disks(struct vm_devices *d, const struct kvm_vm *mem,
			    const struct vm_container_io *io,
			    void (*set_irq)(void *, uint32_t, int), void *ctx, struct err *err)
{
	size_t i;

	if (io->n_shares + io->n_volume_disks > VM_FS_MAX)
		return err_set(err, "at most %d shared directories and block volumes per VM",
			       VM_FS_MAX);
	for (i = 0; i < io->n_volume_disks; i++) {
		const struct vm_volume_disk *v = &io->volume_disks[i];
		int *fd = &d->disk_fds[VM_BLK_MAX + i];    /* after config, upper, image */

		if ((*fd = open_disk(v->path, v->read_only, err)) < 0)
			return -1;
		if (flock(*fd, LOCK_EX | LOCK_NB) < 0)
			return errno == EWOULDBLOCK
				       ? err_set(err, "block volume %s is in use by another hyperv "
						 "container (one VM at a time)", v->path)
				       : err_sys(err, errno, "lock %s", v->path);
		if (add_disk(d, mem, *fd, v->read_only, v->serial, set_irq, ctx, err) < 0)
			return -1;
	}
	return 0;
}

/* The shared directories, each a virtio-fs device with its file server,
 * cloned now: before the NIC's thread (no other thread may run at a raw
 * clone) and before the VMM's seccomp filter. */
static int add_shares(struct vm_devices *d, const struct kvm_vm *mem,
		      const struct vm_container_io *io, void (*set_irq)(void *, uint32_t, int),
		      void *ctx, struct err *err)
{
	static const uint32_t vm_fs_gsis[] = VM_FS_GSIS;
	size_t i;

	_Static_assert(sizeof(vm_fs_gsis) / sizeof(vm_fs_gsis[0]) == VM_FS_MAX,
		       "a pin for each share");
	if (io->n_shares > VM_FS_MAX)
		return err_set(err, "at most %d shared directories per VM", VM_FS_MAX);
	for (i = 0; i < io->n_shares; i++) {
		struct virtio_fs *fs = &d->fs[i];

		if (virtio_fs_init(fs, mem, next_base(d), vm_fs_gsis[i], set_irq, ctx,
				   &io->shares[i], mem->vm_fd, err) < 0) {
			virtio_fs_destroy(fs);
			return -1;
		}
		d->n_fs++;
		if (add(d, &fs->dev, err) < 0)
			return -1;
	}
	return 0;
}

/* The NIC last: the agent finds it by name (eth0), not by probe order. Its
 * I/O thread starts now, before the VMM's seccomp filter, which it inherits. */
static int add_net(struct vm_devices *d, const struct kvm_vm *mem,
		   const struct vm_container_io *io, void (*set_irq)(void *, uint32_t, int),
		   void *ctx, struct err *err)
{
	if (virtio_net_init(&d->net, mem, next_base(d), VM_NET_GSI, set_irq, ctx, io->tap_fd,
			    io->mac, err) < 0 ||
	    add(d, &d->net.dev, err) < 0)
		return err_wrap(err, "the VM's network device");
	d->has_net = true;
	d->vm_fd = mem->vm_fd;
	if (virtio_net_start(&d->net, mem->vm_fd, err) < 0)
		return err_wrap(err, "the VM's network device");
	return 0;
}

int vm_devices_create(struct vm_devices *d, const struct kvm_vm *mem,
		      const struct vm_container_io *io,
		      void (*set_irq)(void *, uint32_t, int), void *ctx, struct err *err)
{
	size_t i;

	memset(d, 0, sizeof(*d));
	d->vm_fd = -1;
	for (i = 0; i < VM_DISKS_MAX; i++)
		d->disk_fds[i] = -1;
	d->ctl[0] = d->ctl[1] = -1;
	d->start_fd = io ? io->start_fd : -1;
	d->ready_fd = io ? io->ready_fd : -1;
	d->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (exec_mux_init(&d->exec, io ? io->exec_fd : -1, err) < 0)
		return -1;
	if (d->wake_fd < 0)
		return err_sys(err, errno, "eventfd");
	if (!io || !io->rootfs)
		return 0;
	/* The order is the agent's: hvc0 then hvc1, probed in ACPI order. */
	virtio_console_init(&d->con[0], mem, VM_MMIO_BASE, VM_GSI_BASE, set_irq, ctx,
			    io->stdin_fd, io->stdout_fd);
	d->con[0].wake_fd = d->wake_fd;
	add(d, &d->con[0].dev, err);
	virtio_console_init(&d->con[1], mem, VM_MMIO_BASE + VIRTIO_MMIO_SIZE, VM_GSI_BASE + 1,
			    set_irq, ctx, -1, io->stderr_fd);
	add(d, &d->con[1].dev, err);
	if (pipe2(d->ctl, O_CLOEXEC) < 0)
		return err_sys(err, errno, "pipe");
	virtio_console_init(&d->con[2], mem, VM_MMIO_BASE + 2 * VIRTIO_MMIO_SIZE, VM_GSI_BASE + 2,
			    set_irq, ctx, d->ctl[0], -1);
	d->con[2].wake_fd = d->wake_fd;
	add(d, &d->con[2].dev, err);
	virtio_console_init(&d->con[3], mem, VM_MMIO_BASE + 3 * VIRTIO_MMIO_SIZE, VM_GSI_BASE + 3,
			    set_irq, ctx, d->exec.to_guest[0], d->exec.from_guest[1]);
	d->con[3].wake_fd = d->wake_fd;
	add(d, &d->con[3].dev, err);
	/* Config and upper first: they keep a pin each, the image's disks share. */
	if (add_disk(d, mem, io->config_fd, true, AGENT_DISK_CONFIG, set_irq, ctx, err) < 0)
		return -1;
	if (io->upper && ((d->disk_fds[1] = open_disk(io->upper, false, err)) < 0 ||
			  add_disk(d, mem, d->disk_fds[1], false, AGENT_DISK_UPPER, set_irq, ctx,
				   err) < 0))
		return -1;
	if (add_root_disks(d, mem, io->rootfs, set_irq, ctx, err) < 0 ||
	    add_volume_disks(d, mem, io, set_irq, ctx, err) < 0 ||
	    add_shares(d, mem, io, set_irq, ctx, err) < 0)
		return -1;
	return io->net ? add_net(d, mem, io, set_irq, ctx, err) : 0;
}

void vm_devices_destroy(struct vm_devices *d)
{
	size_t i;

	if (d->has_net)
		virtio_net_destroy(&d->net, d->vm_fd);
	d->has_net = false;
	for (i = 0; i < d->n_fs; i++)
		virtio_fs_destroy(&d->fs[i]);
	d->n_fs = 0;
	for (i = 0; i < VM_DISKS_MAX; i++)
		if (d->disk_fds[i] >= 0)
			close(d->disk_fds[i]);
	for (i = 0; i < 2; i++)
		if (d->ctl[i] >= 0)
			close(d->ctl[i]);
	if (d->wake_fd >= 0)
		close(d->wake_fd);
	d->wake_fd = -1;
	exec_mux_destroy(&d->exec);
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

/* A control line for the agent; the pipe holds it until the guest reads. */
static void control(struct vm_devices *d, const char *line)
{
	if (d->ctl[1] >= 0 && write(d->ctl[1], line, strlen(line)) < 0)
		return;
}

/* The size of the terminal on stdin, for the app's terminal in the guest. */
static void forward_size(struct vm_devices *d)
{
	struct winsize ws;
	char line[40];

	if (d->con[0].in_fd < 0 || ioctl(d->con[0].in_fd, TIOCGWINSZ, &ws) < 0)
		return;
	snprintf(line, sizeof(line), "resize %u %u\n", ws.ws_row, ws.ws_col);
	control(d, line);
}

static void forward_signal(struct vm_devices *d, int sfd)
{
	struct signalfd_siginfo si;
	char line[32];

	if (read(sfd, &si, sizeof(si)) != sizeof(si))
		return;
	if (si.ssi_signo == SIGWINCH) {
		forward_size(d);
		return;
	}
	snprintf(line, sizeof(line), "signal %u\n",
		 (int)si.ssi_signo == VM_SIGNAL_KILL ? SIGKILL : si.ssi_signo);
	control(d, line);
}

/* `start` wrote its byte: the agent may start the app. */
static void forward_start(struct vm_devices *d)
{
	char byte;

	if (read(d->start_fd, &byte, 1) != 1)
		return;
	control(d, "start\n");
	d->start_fd = -1;          /* the VMM's caller closes it */
}

/* The guest is up and holds the app: create may return. */
static void report_ready(struct vm_devices *d)
{
	if (d->ready_fd >= 0 && write(d->ready_fd, "1", 1) < 0)
		return;
	d->ready_fd = -1;
}

/* con[0] carries stdin, con[2] the control lines, con[3] the exec frames;
 * each waits for the guest to post receive buffers when it has none. */
static const int inputs[] = { 0, 2, 3 };
#define N_INPUTS 3

void vm_devices_io_loop(struct vm_devices *d, int signal_fd)
{
	bool waiting[N_INPUTS] = { false }, eof_sent = false, sized = false;
	enum { P_WAKE, P_SIG, P_START, P_IN, P_EXEC = P_IN + N_INPUTS,
	       P_FS = P_EXEC + EXEC_MUX_POLLFDS, P_ALL = P_FS + VM_FS_MAX };

	while (!d->stop) {
		struct pollfd p[P_ALL] = { [P_WAKE] = { .fd = d->wake_fd, .events = POLLIN },
					   [P_SIG] = { .fd = d->n ? signal_fd : -1,
						       .events = POLLIN },
					   [P_START] = { .fd = d->start_fd, .events = POLLIN } };
		uint64_t v;
		int i;

		for (i = 0; i < N_INPUTS; i++) {
			struct virtio_console *c = &d->con[inputs[i]];
			bool on = d->n && d->stdin_ready && c->in_fd >= 0 && !c->in_eof && !waiting[i];

			p[P_IN + i] = (struct pollfd){ .fd = on ? c->in_fd : -1, .events = POLLIN };
		}
		exec_mux_pollfds(&d->exec, p + P_EXEC);
		for (i = 0; i < VM_FS_MAX; i++) {
			bool on = (size_t)i < d->n_fs;

			p[P_FS + i] = (struct pollfd){ .fd = on ? d->fs[i].fail_fd : -1,
						       .events = POLLIN };
		}
		if (!d->n)
			for (i = P_EXEC; i < P_ALL; i++)
				p[i].fd = -1;
		if (poll(p, P_ALL, -1) < 0 && errno != EINTR)
			return;
		if (p[P_WAKE].revents & POLLIN) {
			if (read(d->wake_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
				return;
			memset(waiting, 0, sizeof(waiting));
		}
		if (d->stdin_ready)
			report_ready(d);
		if (p[P_START].revents & POLLIN)
			forward_start(d);
		if (d->stdin_ready && !sized) {
			forward_size(d);    /* the app's terminal starts at the user's size */
			sized = true;
		}
		if (p[P_SIG].revents & POLLIN)
			forward_signal(d, signal_fd);
		for (i = 0; i < N_INPUTS; i++) {
			struct virtio_console *c = &d->con[inputs[i]];

			if (p[P_IN + i].revents & (POLLIN | POLLHUP))
				waiting[i] = virtio_console_input(c) == 0 && !c->in_eof;
		}
		exec_mux_events(&d->exec, p + P_EXEC);
		for (i = 0; (size_t)i < d->n_fs; i++)
			if (p[P_FS + i].revents & POLLIN)
				virtio_fs_event(&d->fs[i]);
		/* The end of stdin, after all of it, is a control line. */
		if (d->con[0].in_eof && !eof_sent) {
			control(d, "eof\n");
			eof_sent = true;
		}
	}
}
