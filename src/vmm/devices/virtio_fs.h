/* A virtio-fs device (virtio id 26): one host directory shared with the
 * guest, which mounts it with `mount -t virtiofs TAG DIR`. The FUSE requests
 * are answered by a file server (src/fsd) in a process of its own, cloned
 * here with a PID namespace of its own before the VMM's seccomp filter and
 * confined to the share (fsd_sandbox_enter); it reaches the queues through
 * guest RAM, which must be shared memory (kvm_vm_add_memory's shared). The
 * transport (registers, negotiation, interrupts) stays in the VMM: at
 * DRIVER_OK the queues' addresses go to the server over a socket pair, KVM
 * signals the server's eventfds on the guest's queue notify, the server
 * interrupts the guest itself (irq: KVM_IRQFD, the status in a page both
 * map) and signals fail_fd (the guest broke the ring rules) for the VMM's
 * I/O loop (virtio_fs_event). Nothing the guest sends is parsed in the VMM. */
#ifndef ISOBOX_VIRTIO_FS_H
#define ISOBOX_VIRTIO_FS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "fsd/fsd.h"
#include "vmm/virtio_mmio.h"

#define VIRTIO_FS_TAG_MAX 36            /* the config space's tag field */
#define VIRTIO_FS_QUEUES 2              /* hiprio, one request queue */

struct virtio_fs {
	struct virtio_dev dev;
	char tag[VIRTIO_FS_TAG_MAX];        /* not NUL-terminated when 36 long */
	int kick_fd[VIRTIO_FS_QUEUES];      /* eventfds: the driver kicked queue q */
	struct virtio_irqfd irq;            /* the server used buffers: KVM's irqfd */
	int fail_fd;                        /* eventfd: the guest broke the rules */
	int ctl_fd;                         /* SOCK_SEQPACKET to the server */
	bool live;                          /* the server has the queues since DRIVER_OK */
	pid_t server;
};

struct virtio_fs_share {
	const char *source;                 /* the host directory */
	const char *tag;                    /* what the guest mounts, 1..36 bytes */
	bool read_only;                     /* refused on the host, not only in the guest */
	bool file;                          /* source is one regular file: the guest sees a
					     * directory holding it alone (fsd_stage_file) */
};

/* Set up the device and start its server: registers the queue notifies with
 * KVM (vm_fd) and clones the server, which opens and confines itself to the
 * share; returns once the server says it is ready, or fails with its reason.
 * gsi must be an edge pin of the device's own (the server's KVM_IRQFD).
 * Call with no other thread running (the server is a raw clone). */
int virtio_fs_init(struct virtio_fs *fs, const struct kvm_vm *mem, uint64_t base, uint32_t gsi,
		   void (*set_irq)(void *, uint32_t, int), void *irq_ctx,
		   const struct virtio_fs_share *share, int vm_fd, struct err *err);
/* The server signalled fail_fd: fail the device. The VMM's I/O loop calls it
 * when fail_fd is readable. */
void virtio_fs_event(struct virtio_fs *fs);
/* Close the device's ends: the server sees the socket close and exits. */
void virtio_fs_destroy(struct virtio_fs *fs);

/* The server's side, for tests: serve the queues described by the messages on
 * ctl_fd until it closes. Returns when the peer is gone. */
void virtio_fs_serve(const struct kvm_vm *mem, struct fsd *s, int ctl_fd,
		     const int kick_fd[VIRTIO_FS_QUEUES], const struct virtio_irqfd *irq,
		     int fail_fd);

#endif
