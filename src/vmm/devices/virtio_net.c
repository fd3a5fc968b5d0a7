#include "vmm/devices/virtio_net.h"

#include <errno.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#define VIRTIO_ID_NET 1
#define F_CSUM (1ULL << 0)
#define F_GUEST_CSUM (1ULL << 1)
#define F_MAC (1ULL << 5)
#define F_GUEST_TSO4 (1ULL << 7)
#define F_GUEST_TSO6 (1ULL << 8)
#define F_HOST_TSO4 (1ULL << 11)
#define F_HOST_TSO6 (1ULL << 12)
#define F_MRG_RXBUF (1ULL << 15)
#define Q_RX 0
#define Q_TX 1
#define LINK_UP 1
#define NUM_BUFFERS_OFF 10          /* virtio_net_hdr_v1.num_buffers */
/* Frames per queue per pass: RX and TX take turns, neither starves. */
#define BATCH 64

static void net_config_read(struct virtio_dev *d, uint32_t off, void *data, uint32_t len)
{
	struct virtio_net *n = d->priv;
	uint8_t cfg[8];
	uint16_t status = LINK_UP;

	memcpy(cfg, n->mac, 6);
	memcpy(cfg + 6, &status, 2);
	memcpy(data, cfg + off, len);
}

/* The driver kicked (the MMIO path, or going live): wake the I/O thread. */
static void net_notify(struct virtio_dev *d, unsigned q)
{
	struct virtio_net *n = d->priv;
	uint64_t one = 1;

	if (q < 2 && write(n->kick_fd[q], &one, sizeof(one)) < 0)
		return;     /* the counter is full: the thread is awake anyway */
}

/* The TAP may hand us what the driver accepts: checksum-less and TSO frames
 * only when it negotiated GUEST_CSUM/TSO. A TAP that refuses (an old kernel,
 * a test's socket) sends whole frames, which every driver takes. */
static void net_offloads(struct virtio_net *n)
{
	uint64_t f = n->dev.driver_features;
	unsigned tun = 0;

	if (f == n->offloads_for)
		return;
	if (f & F_GUEST_CSUM) {
		tun |= TUN_F_CSUM;
		tun |= f & F_GUEST_TSO4 ? TUN_F_TSO4 : 0;
		tun |= f & F_GUEST_TSO6 ? TUN_F_TSO6 : 0;
	}
	(void)ioctl(n->tap_fd, TUNSETOFFLOAD, (unsigned long)tun);
	n->offloads_for = f;
}

/* Guest -> TAP: each chain's readable buffers are one frame, header first. */
static bool net_tx(struct virtio_net *n)
{
	struct virtio_dev *d = &n->dev;
	struct virtq *q = &d->queues[Q_TX];
	struct iovec iov[VIRTQ_MAX_CHAIN];
	struct virtq_chain c;
	struct err err = { 0 };
	int moved = 0, r = 0;

	while (moved < BATCH && (r = virtq_pop(q, &c, &err)) == 1) {
		size_t len;
		unsigned k = virtq_chain_iov(&c, false, iov, &len);

		if (len < VIRTIO_NET_HDR_LEN || len > VIRTIO_NET_FRAME_MAX ||
		    writev(n->tap_fd, iov, (int)k) < 0)
			n->tx_dropped++;    /* a bad frame, or the TAP refused it: the wire lost it */
		else
			n->tx_frames++;
		if (virtq_push(q, c.head, 0, &err) < 0) {
			r = -1;
			break;
		}
		moved++;
	}
	if (r < 0) {
		virtio_fail(d, &err);
		return false;
	}
	if (moved)
		virtio_notify_used(d, Q_TX);
	return moved == BATCH;
}

/* What one receive step did. */
enum rx_step { RX_ERROR = -1, RX_TAP_EMPTY, RX_MOVED, RX_STARVED };

/* Receive chains gathered for one frame: with MRG_RXBUF a frame may span
 * several (the driver posts page-sized buffers), each returned with its part.
 * One more iovec than chains: the pending buffer, for what they cannot hold. */
struct rx_gather {
	struct iovec iov[VIRTQ_MAX_SIZE + 1];
	unsigned n_iov;
	uint16_t head[VIRTQ_MAX_SIZE];
	size_t room[VIRTQ_MAX_SIZE];
	unsigned n;
	size_t total;
};

/* Pop chains until their room holds want bytes, or the queue is empty (one
 * chain without MRG_RXBUF). The number popped, or -1: the guest broke the
 * rules. */
static int rx_gather(struct virtq *q, bool merge, size_t want, struct rx_gather *g,
		     struct err *err)
{
	struct virtq_chain c;
	int r = 0;

	g->n = g->n_iov = 0;
	g->total = 0;
	while (g->total < want && g->n < VIRTQ_MAX_SIZE && (merge || !g->n)) {
		r = virtq_pop(q, &c, err);
		if (r <= 0)
			break;
		if (g->n_iov + c.n > VIRTQ_MAX_SIZE) {
			virtq_unpop(q, 1);      /* no iovec left for it: the next frame's */
			break;
		}
		g->head[g->n] = c.head;
		g->n_iov += virtq_chain_iov(&c, true, g->iov + g->n_iov, &g->room[g->n]);
		if (g->room[g->n] < VIRTIO_NET_HDR_LEN)
			return err_set(err, "virtio-net: a receive buffer of %zu bytes has no room "
				       "for the %d-byte header", g->room[g->n], VIRTIO_NET_HDR_LEN);
		g->total += g->room[g->n++];
	}
	return r < 0 ? -1 : (int)g->n;
}

/* Copy len bytes into the iovec stream at off. */
static void iov_put(const struct iovec *iov, unsigned n, size_t off, const void *data,
		    size_t len)
{
	const uint8_t *p = data;
	unsigned i;

	for (i = 0; i < n && len; i++) {
		size_t take;

		if (off >= iov[i].iov_len) {
			off -= iov[i].iov_len;
			continue;
		}
		take = iov[i].iov_len - off < len ? iov[i].iov_len - off : len;
		memcpy((uint8_t *)iov[i].iov_base + off, p, take);
		p += take;
		len -= take;
		off = 0;
	}
}

/* A frame of len bytes, now in the gathered chains: each chain gets its
 * part, in order, num_buffers goes into the header, and the chains the frame
 * did not reach are given back (they were popped last). */
static int rx_publish(struct virtio_net *n, struct virtq *q, struct rx_gather *g, size_t len,
		      struct err *err)
{
	uint16_t used;
	unsigned i;

	for (i = 0; i < g->n && len; i++) {
		uint32_t part = (uint32_t)(len < g->room[i] ? len : g->room[i]);

		if (virtq_push(q, g->head[i], part, err) < 0)
			return RX_ERROR;
		len -= part;
	}
	used = (uint16_t)i;
	virtq_unpop(q, g->n - i);
	/* 1 without mergeable buffers (VERSION_1) */
	iov_put(g->iov, g->n_iov, NUM_BUFFERS_OFF, &used, sizeof(used));
	n->rx_frames++;
	return RX_MOVED;
}

/* The frame that arrived when the posted buffers could not hold it, once
 * they can. */
static int rx_pending(struct virtio_net *n, struct virtq *q, bool merge, struct rx_gather *g,
		      struct err *err)
{
	int got = rx_gather(q, merge, n->pend_len, g, err);

	if (got < 0)
		return RX_ERROR;
	if (g->total < n->pend_len) {
		virtq_unpop(q, g->n);
		if (got && !merge) {
			n->rx_dropped++;        /* larger than any buffer the driver posts */
			n->pend_len = 0;
			return RX_MOVED;
		}
		return RX_STARVED;
	}
	iov_put(g->iov, g->n_iov, 0, n->pend, n->pend_len);
	got = rx_publish(n, q, g, n->pend_len, err);
	n->pend_len = 0;
	return got;
}

/* One frame from the TAP, read straight into the guest's buffers when they
 * can hold the largest one; else its overflow lands in the pending buffer,
 * and the frame waits there whole for the driver to post more. */
static int rx_step(struct virtio_net *n, struct virtq *q, bool merge, struct rx_gather *g,
		   struct err *err)
{
	unsigned k;
	ssize_t got;
	size_t i, off;

	if (n->pend_len)
		return rx_pending(n, q, merge, g, err);
	k = (unsigned)rx_gather(q, merge, VIRTIO_NET_FRAME_MAX, g, err);
	if ((int)k < 0)
		return RX_ERROR;
	if (!k)
		return RX_STARVED;
	k = g->n_iov;
	if (g->total < VIRTIO_NET_FRAME_MAX)
		g->iov[k++] = (struct iovec){ n->pend, VIRTIO_NET_FRAME_MAX - g->total };
	got = readv(n->tap_fd, g->iov, (int)k);
	if (got < VIRTIO_NET_HDR_LEN) {
		virtq_unpop(q, g->n);
		if (got >= 0 || (errno != EAGAIN && errno != EINTR)) {
			n->rx_dropped++;
			return RX_MOVED;
		}
		return RX_TAP_EMPTY;
	}
	if ((size_t)got <= g->total)
		return rx_publish(n, q, g, (size_t)got, err);
	/* The overflow is at the pending buffer's start: the frame is made whole
	 * there (its head copied back from the guest's buffers) and waits. */
	memmove(n->pend + g->total, n->pend, (size_t)got - g->total);
	for (i = 0, off = 0; i < g->n_iov; off += g->iov[i++].iov_len)
		memcpy(n->pend + off, g->iov[i].iov_base, g->iov[i].iov_len);
	n->pend_len = (size_t)got;
	virtq_unpop(q, g->n);
	return rx_pending(n, q, merge, g, err);
}

/* TAP -> guest, while both have something. */
static bool net_rx(struct virtio_net *n)
{
	struct virtio_dev *d = &n->dev;
	struct virtq *q = &d->queues[Q_RX];
	bool merge = d->driver_features & F_MRG_RXBUF;
	struct rx_gather g;
	struct err err = { 0 };
	int moved = 0, r = RX_MOVED;
	uint64_t frames = n->rx_frames;

	while (moved < BATCH && (r = rx_step(n, q, merge, &g, &err)) == RX_MOVED)
		moved++;
	/* starved: wait for the driver's kick, not for the TAP */
	n->rx_wants_tap = r == RX_TAP_EMPTY || r == RX_MOVED;
	if (r == RX_ERROR) {
		n->rx_wants_tap = false;
		virtio_fail(d, &err);
		return false;
	}
	if (n->rx_frames != frames)
		virtio_notify_used(d, Q_RX);
	return moved == BATCH;
}

bool virtio_net_process(struct virtio_net *n)
{
	bool more = false;

	pthread_mutex_lock(&n->dev.lock);
	if (virtio_running(&n->dev)) {
		net_offloads(n);
		more = net_tx(n);
		if (virtio_running(&n->dev))
			more |= net_rx(n);
	} else {
		n->rx_wants_tap = false;
	}
	pthread_mutex_unlock(&n->dev.lock);
	return more;
}

static void drain(int fd)
{
	uint64_t v;

	if (read(fd, &v, sizeof(v)) < 0)
		return;
}

static void *net_thread(void *arg)
{
	struct virtio_net *n = arg;
	bool more = true;

	for (;;) {
		struct pollfd p[4] = {
			{ .fd = n->stop_fd, .events = POLLIN },
			{ .fd = n->kick_fd[Q_RX], .events = POLLIN },
			{ .fd = n->kick_fd[Q_TX], .events = POLLIN },
			{ .fd = n->rx_wants_tap ? n->tap_fd : -1, .events = POLLIN },
		};

		if (poll(p, 4, more ? 0 : -1) < 0 && errno != EINTR)
			break;
		if (p[0].revents)
			break;
		if (p[1].revents)
			drain(n->kick_fd[Q_RX]);
		if (p[2].revents)
			drain(n->kick_fd[Q_TX]);
		more = virtio_net_process(n);
	}
	return NULL;
}

/* The driver reset the device (under its lock): a frame that waited for
 * receive buffers is lost with them. */
static void net_reset(struct virtio_dev *d)
{
	struct virtio_net *n = d->priv;

	n->pend_len = 0;
}

static const struct virtio_dev_ops net_ops = {
	.device_id = VIRTIO_ID_NET,
	.features = F_CSUM | F_GUEST_CSUM | F_MAC | F_GUEST_TSO4 | F_GUEST_TSO6 | F_HOST_TSO4 |
		    F_HOST_TSO6 | F_MRG_RXBUF,
	.n_queues = 2,
	.config_read = net_config_read,
	.config_len = 8,
	.notify = net_notify,
	.reset = net_reset,
};

int virtio_net_init(struct virtio_net *n, const struct kvm_vm *mem, uint64_t base, uint32_t gsi,
		    void (*set_irq)(void *, uint32_t, int), void *irq_ctx, int tap_fd,
		    const uint8_t mac[6], struct err *err)
{
	unsigned i;

	memset(n, 0, sizeof(*n));
	n->tap_fd = tap_fd;
	n->stop_fd = n->kick_fd[0] = n->kick_fd[1] = -1;
	n->offloads_for = ~0ULL;
	memcpy(n->mac, mac, 6);
	virtio_dev_init(&n->dev, &net_ops, n, mem, base, gsi, set_irq, irq_ctx);
	if (!(n->pend = malloc(VIRTIO_NET_FRAME_MAX)))
		return err_sys(err, ENOMEM, "virtio-net: its receive buffer");
	for (i = 0; i < 2; i++)
		if ((n->kick_fd[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
			return err_sys(err, errno, "virtio-net: eventfd");
	if ((n->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
		return err_sys(err, errno, "virtio-net: eventfd");
	return 0;
}

int virtio_net_start(struct virtio_net *n, int vm_fd, struct err *err)
{
	sigset_t all, old;
	unsigned q;
	int e;

	/* Without it (an old KVM) the kick takes the MMIO exit and net_notify. */
	for (q = 0; q < 2 && vm_fd >= 0; q++)
		n->ioeventfd[q] = virtio_mmio_ioeventfd(&n->dev, vm_fd, q, n->kick_fd[q]) == 0;
	/* SIGALRM (the vCPUs' kick) and the forwarded signals are not ours. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	e = pthread_create(&n->thread, NULL, net_thread, n);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (e)
		return err_sys(err, e, "virtio-net: start its I/O thread");
	n->started = true;
	return 0;
}

void virtio_net_destroy(struct virtio_net *n, int vm_fd)
{
	uint64_t one = 1;
	unsigned q;

	if (n->started && write(n->stop_fd, &one, sizeof(one)) == sizeof(one))
		pthread_join(n->thread, NULL);
	n->started = false;
	/* The ioeventfds are not deassigned: this runs under the VMM's seccomp
	 * filter, which allows no KVM_IOEVENTFD, and KVM drops them with the VM
	 * (it holds its own reference to each eventfd closed below). */
	for (q = 0; q < 2; q++) {
		n->ioeventfd[q] = false;
		if (n->kick_fd[q] >= 0)
			close(n->kick_fd[q]);
		n->kick_fd[q] = -1;
	}
	if (n->stop_fd >= 0)
		close(n->stop_fd);
	n->stop_fd = -1;
	free(n->pend);
	n->pend = NULL;
	n->pend_len = 0;
}
