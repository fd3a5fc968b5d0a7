/* A virtio network device on a TAP fd (the container's netns holds the TAP;
 * net/tap.c makes it). The TAP carries virtio's own 12-byte header
 * (IFF_VNET_HDR), so checksum and TSO offloads pass through untouched. Both
 * queues are served by an I/O thread of the device's own, woken by eventfds
 * that KVM signals on the guest's queue notify (KVM_IOEVENTFD): a vCPU never
 * reads or writes the TAP. A guest that breaks the ring rules fails only this
 * device (DEVICE_NEEDS_RESET); bad frames are dropped and counted. */
#ifndef ISOBOX_VIRTIO_NET_H
#define ISOBOX_VIRTIO_NET_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "vmm/virtio_mmio.h"

#define VIRTIO_NET_HDR_LEN 12           /* struct virtio_net_hdr_v1 (VERSION_1) */
/* The largest frame the device passes either way: a 64 KiB TSO segment, its
 * Ethernet and VLAN headers and the virtio header. */
#define VIRTIO_NET_FRAME_MAX (VIRTIO_NET_HDR_LEN + 65535 + 18)

struct virtio_net {
	struct virtio_dev dev;
	int tap_fd;                 /* non-blocking; owned by the caller */
	uint8_t mac[6];
	int kick_fd[2];             /* eventfds: the driver kicked RX (0) / TX (1) */
	int stop_fd;                /* eventfd: the I/O thread ends */
	bool ioeventfd[2];          /* KVM signals kick_fd[q] itself */
	bool rx_wants_tap;          /* running with receive buffers: poll the TAP */
	uint8_t *pend;              /* VIRTIO_NET_FRAME_MAX bytes: a frame that waits for */
	size_t pend_len;            /* receive buffers to hold it (0: none) */
	uint64_t offloads_for;      /* the driver features the TAP's offloads match */
	pthread_t thread;
	bool started;
	/* Counters, for the curious and the tests. */
	uint64_t rx_frames, tx_frames, rx_dropped, tx_dropped;
};

/* Set up the device (no thread yet). */
int virtio_net_init(struct virtio_net *n, const struct kvm_vm *mem, uint64_t base, uint32_t gsi,
		    void (*set_irq)(void *, uint32_t, int), void *irq_ctx, int tap_fd,
		    const uint8_t mac[6], struct err *err);
/* Register the queue notify with KVM (vm_fd < 0: none, the MMIO path kicks)
 * and start the I/O thread, with every signal blocked in it. */
int virtio_net_start(struct virtio_net *n, int vm_fd, struct err *err);
/* One pass over both queues, as the I/O thread does after a wake-up: true
 * when a batch limit stopped it with work left. For the tests and fuzzing. */
bool virtio_net_process(struct virtio_net *n);
/* Stop the thread, drop the ioeventfds, close the eventfds (not the TAP). */
void virtio_net_destroy(struct virtio_net *n, int vm_fd);

#endif
