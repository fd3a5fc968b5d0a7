#include "vmm/devices/virtio_fs.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#define VIRTIO_ID_FS 26
#define READY_TIMEOUT_MS 10000      /* the server's start, under TCG too */
#define RESET_TIMEOUT_MS 2000
#define ISR_PAGE 4096
/* A READ or WRITE's pages are descriptors of one chain, beside its headers
 * (in, op, out, reply: at most 4) and a buffer that straddles one more
 * page: they must fit in VIRTQ_MAX_CHAIN, or the chain is refused and the
 * guest's driver (which sizes requests by max_pages alone) hangs. */
#define VIRTIO_FS_MAX_PAGES (VIRTQ_MAX_CHAIN - 8)

/* VMM -> server: the queues at DRIVER_OK, or a reset (acknowledged with one
 * byte, so no late used-ring write can follow the driver's reset). */
enum { FS_LIVE = 1, FS_RESET = 2 };
struct fs_msg {
	uint32_t op;
	struct fs_msg_queue {
		uint64_t desc, avail, used;
		uint16_t size;
		uint8_t ready;
	} q[VIRTIO_FS_QUEUES];
};

/* tag[36], then num_request_queues (le32), as virtio 1.2 section 5.11.4. */
static void fs_config_read(struct virtio_dev *d, uint32_t off, void *data, uint32_t len)
{
	struct virtio_fs *fs = d->priv;
	uint8_t cfg[VIRTIO_FS_TAG_MAX + 4];
	uint32_t request_queues = VIRTIO_FS_QUEUES - 1;

	memcpy(cfg, fs->tag, VIRTIO_FS_TAG_MAX);
	memcpy(cfg + VIRTIO_FS_TAG_MAX, &request_queues, 4);
	memcpy(data, cfg + off, len);
}

static void send_msg(struct virtio_fs *fs, uint32_t op)
{
	struct fs_msg m = { .op = op };
	unsigned i;

	for (i = 0; i < VIRTIO_FS_QUEUES && op == FS_LIVE; i++) {
		const struct virtq *q = &fs->dev.queues[i];

		m.q[i] = (struct fs_msg_queue){ .desc = q->desc, .avail = q->avail,
						.used = q->used, .size = q->size,
						.ready = q->ready };
	}
	if (write(fs->ctl_fd, &m, sizeof(m)) != sizeof(m))
		return;     /* the server is gone: the guest's requests go unanswered */
}

/* DRIVER_OK (the transport kicks every queue) or a kick by MMIO: the server
 * gets the queues first, then the kick. */
static void fs_notify(struct virtio_dev *d, unsigned q)
{
	struct virtio_fs *fs = d->priv;
	uint64_t one = 1;

	if (!fs->live) {
		send_msg(fs, FS_LIVE);
		fs->live = true;
	}
	if (q < VIRTIO_FS_QUEUES && write(fs->kick_fd[q], &one, sizeof(one)) < 0)
		return;     /* the counter is full: the server is awake anyway */
}

static void fs_reset(struct virtio_dev *d)
{
	struct virtio_fs *fs = d->priv;
	struct pollfd p = { .fd = fs->ctl_fd, .events = POLLIN };
	char ack;

	if (!fs->live)
		return;
	fs->live = false;
	send_msg(fs, FS_RESET);
	if (poll(&p, 1, RESET_TIMEOUT_MS) == 1 && read(fs->ctl_fd, &ack, 1) == 1)
		return;
}

static const struct virtio_dev_ops fs_ops = {
	.device_id = VIRTIO_ID_FS,
	.n_queues = VIRTIO_FS_QUEUES,
	.config_read = fs_config_read,
	.config_len = VIRTIO_FS_TAG_MAX + 4,
	.notify = fs_notify,
	.reset = fs_reset,
};

/* --- the server's side ---------------------------------------------------- */

static void signal_fd(int fd)
{
	uint64_t one = 1;

	if (write(fd, &one, sizeof(one)) < 0)
		return;     /* full: the VMM has a wake-up to read already */
}

/* Every request available on q, answered in order. False: the guest broke
 * the ring rules (the VMM fails the device; the queue is left alone). */
static bool serve_queue(struct virtq *q, struct fsd *s, const struct virtio_irqfd *irq)
{
	struct virtq_chain c;
	struct iovec in[VIRTQ_MAX_CHAIN], out[VIRTQ_MAX_CHAIN];
	struct err err = { 0 };
	unsigned used = 0;
	int r;

	while ((r = virtq_pop(q, &c, &err)) == 1) {
		size_t in_len, out_len;
		unsigned in_n = virtq_chain_iov(&c, false, in, &in_len);
		unsigned out_n = virtq_chain_iov(&c, true, out, &out_len);
		size_t n = fsd_handle_iov(s, in, in_n, out, out_n);

		if (virtq_push(q, c.head, (uint32_t)n, &err) < 0) {
			r = -1;
			break;
		}
		used++;
	}
	if (used && virtq_wants_interrupt(q))
		virtio_irqfd_raise(irq, VIRTIO_INT_USED);
	return r >= 0;
}

/* A message from the VMM; false when the VMM is gone. */
static bool serve_msg(const struct kvm_vm *mem, int ctl_fd, struct virtq *q, bool *broken)
{
	struct fs_msg m;
	ssize_t n = read(ctl_fd, &m, sizeof(m));
	unsigned i;

	if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN))
		return false;
	if (n != sizeof(m))
		return true;
	for (i = 0; i < VIRTIO_FS_QUEUES; i++) {
		q[i].mem = mem;
		virtq_reset(&q[i]);
		if (m.op != FS_LIVE)
			continue;
		q[i].desc = m.q[i].desc;
		q[i].avail = m.q[i].avail;
		q[i].used = m.q[i].used;
		q[i].size = m.q[i].size;
		q[i].ready = m.q[i].ready;
	}
	*broken = false;
	if (m.op == FS_RESET && write(ctl_fd, "A", 1) != 1)
		return false;
	return true;
}

void virtio_fs_serve(const struct kvm_vm *mem, struct fsd *s, int ctl_fd,
		     const int kick_fd[VIRTIO_FS_QUEUES], const struct virtio_irqfd *irq,
		     int fail_fd)
{
	struct virtq q[VIRTIO_FS_QUEUES];
	bool broken = false;
	unsigned i;

	for (i = 0; i < VIRTIO_FS_QUEUES; i++) {
		q[i].mem = mem;
		virtq_reset(&q[i]);
	}
	for (;;) {
		struct pollfd p[1 + VIRTIO_FS_QUEUES] = { { .fd = ctl_fd, .events = POLLIN } };
		uint64_t v;

		for (i = 0; i < VIRTIO_FS_QUEUES; i++)
			p[1 + i] = (struct pollfd){ .fd = kick_fd[i], .events = POLLIN };
		if (poll(p, 1 + VIRTIO_FS_QUEUES, -1) < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		if (p[0].revents & (POLLIN | POLLHUP | POLLERR) &&
		    !serve_msg(mem, ctl_fd, q, &broken))
			return;
		for (i = 0; i < VIRTIO_FS_QUEUES; i++) {
			if (p[1 + i].revents & POLLIN && read(kick_fd[i], &v, sizeof(v)) < 0 &&
			    errno != EAGAIN)
				return;
			/* A kick may come before the queues (or be lost to a reset):
			 * every wake-up looks at both. */
			if (!broken && !serve_queue(&q[i], s, irq)) {
				broken = true;
				signal_fd(fail_fd);
			}
		}
	}
}

/* The cloned server: keeps only its five fds (3: the socket, 4-5: the kicks,
 * 6: the irqfd, 7: fail) and the interrupt status page, opens and confines
 * itself to the share, says "R" (or "E" and why) and serves until the VMM's
 * end of the socket closes. */
static void __attribute__((noreturn)) server_main(struct virtio_fs *fs, int ctl,
						  const struct virtio_fs_share *share,
						  const struct kvm_vm *mem)
{
	int keep[5] = { ctl, fs->kick_fd[0], fs->kick_fd[1], fs->irq.fd, fs->fail_fd };
	struct fsd_config cfg = { .share = share->source, .read_only = share->read_only,
				  .file = share->file, .max_pages = VIRTIO_FS_MAX_PAGES };
	const int kicks[VIRTIO_FS_QUEUES] = { 4, 5 };
	const struct virtio_irqfd irq = { .isr = fs->irq.isr, .fd = 6 };
	struct err err = { 0 };
	struct fsd *s = NULL;
	char msg[1 + sizeof(err.msg)];
	int i, null;

	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	for (i = 0; i < 5; i++)
		keep[i] = fcntl(keep[i], F_DUPFD_CLOEXEC, 64);
	for (i = 0; i < 5; i++)
		dup2(keep[i], 3 + i);
	close_range(8, ~0U, 0);
	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	for (i = 0; i < 3 && null >= 0; i++)
		dup2(null, i);
	if (fsd_new(&cfg, &s, &err) < 0 || fsd_sandbox_enter(s, &cfg, &err) < 0) {
		int n = snprintf(msg, sizeof(msg), "E%s", err.msg);

		if (write(3, msg, (size_t)n) < 0)
			_exit(1);
		_exit(1);
	}
	if (write(3, "R", 1) != 1)
		_exit(1);
	virtio_fs_serve(mem, s, 3, kicks, &irq, 7);
	_exit(0);
}

/* The server's first word: ready, or why not. */
static int await_server(struct virtio_fs *fs, const struct virtio_fs_share *share,
			struct err *err)
{
	struct pollfd p = { .fd = fs->ctl_fd, .events = POLLIN };
	char msg[1 + sizeof(err->msg)];
	ssize_t n = 0;

	if (poll(&p, 1, READY_TIMEOUT_MS) == 1)
		n = read(fs->ctl_fd, msg, sizeof(msg) - 1);
	if (n == 1 && msg[0] == 'R')
		return 0;
	if (n > 1 && msg[0] == 'E') {
		msg[n] = '\0';
		return err_set(err, "the file server of %s: %s", share->source, msg + 1);
	}
	return err_set(err, "the file server of %s did not start", share->source);
}

int virtio_fs_init(struct virtio_fs *fs, const struct kvm_vm *mem, uint64_t base, uint32_t gsi,
		   void (*set_irq)(void *, uint32_t, int), void *irq_ctx,
		   const struct virtio_fs_share *share, int vm_fd, struct err *err)
{
	size_t tag_len = strlen(share->tag);
	void *isr;
	int sv[2];
	unsigned q;

	memset(fs, 0, sizeof(*fs));
	fs->kick_fd[0] = fs->kick_fd[1] = fs->irq.fd = fs->irq.ack_fd = fs->fail_fd = -1;
	fs->ctl_fd = -1;
	fs->server = -1;
	if (tag_len == 0 || tag_len > VIRTIO_FS_TAG_MAX)
		return err_set(err, "virtio-fs tag %s: 1 to %d bytes", share->tag,
			       VIRTIO_FS_TAG_MAX);
	memcpy(fs->tag, share->tag, tag_len);
	virtio_dev_init(&fs->dev, &fs_ops, fs, mem, base, gsi, set_irq, irq_ctx);
	for (q = 0; q < VIRTIO_FS_QUEUES; q++)
		if ((fs->kick_fd[q] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
			return err_sys(err, errno, "eventfd");
	fs->irq.fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	fs->fail_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (fs->irq.fd < 0 || fs->fail_fd < 0)
		return err_sys(err, errno, "eventfd");
	/* The interrupt status, shared with the server (it stays across clone). */
	isr = mmap(NULL, ISR_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (isr == MAP_FAILED)
		return err_sys(err, errno, "mmap the interrupt status");
	fs->irq.isr = isr;
	if (virtio_mmio_irqfd(&fs->dev, vm_fd, &fs->irq, err) < 0)
		return -1;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return err_sys(err, errno, "socketpair");
	fs->ctl_fd = sv[0];
	/* Without it (an old KVM) the kick takes the MMIO exit and fs_notify. */
	for (q = 0; q < VIRTIO_FS_QUEUES && vm_fd >= 0; q++)
		(void)virtio_mmio_ioeventfd(&fs->dev, vm_fd, q, fs->kick_fd[q]);
	/* A PID namespace of its own: the server's /proc shows only itself. */
	fs->server = (pid_t)syscall(SYS_clone, CLONE_NEWPID | SIGCHLD, NULL, NULL, NULL, NULL);
	if (fs->server == 0)
		server_main(fs, sv[1], share, mem);
	close(sv[1]);
	if (fs->server < 0)
		return err_sys(err, errno, "start the file server of %s", share->source);
	return await_server(fs, share, err);
}

void virtio_fs_event(struct virtio_fs *fs)
{
	struct err err = { 0 };
	uint64_t v;

	pthread_mutex_lock(&fs->dev.lock);
	if (read(fs->fail_fd, &v, sizeof(v)) == sizeof(v)) {
		err_set(&err, "virtio-fs: the guest broke the ring rules");
		virtio_fail(&fs->dev, &err);
	}
	pthread_mutex_unlock(&fs->dev.lock);
}

void virtio_fs_destroy(struct virtio_fs *fs)
{
	int *fds[] = { &fs->kick_fd[0], &fs->kick_fd[1], &fs->irq.fd, &fs->irq.ack_fd,
		       &fs->fail_fd, &fs->ctl_fd };
	size_t i;

	/* The ioeventfds go with the VM (see virtio_net_destroy); the server
	 * sees its socket close and exits. */
	for (i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
	if (fs->irq.isr)
		munmap((void *)fs->irq.isr, ISR_PAGE);
	fs->irq.isr = NULL;
	fs->server = -1;
}
