/* The devices of a container's VM: four consoles (hvc0: stdin and stdout,
 * hvc1: stderr, hvc2: control lines to the agent, "eof", "signal N" and
 * "resize ROWS COLS", "start", hvc3: the frames of exec sessions) and
 * the disks the agent finds by serial (root EROFS image, config blob,
 * optional writable layer), each a virtio-mmio window with its own IOAPIC
 * line. Also the I/O loop that feeds the guest its stdin and forwards the
 * signals this process receives to the container's process. */
#ifndef ISOBOX_VM_DEVICES_H
#define ISOBOX_VM_DEVICES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "guest/agent_proto.h"
#include "util/err.h"
#include "vmm/devices/virtio_blk.h"
#include "vmm/devices/virtio_console.h"
#include "vmm/devices/virtio_fs.h"
#include "vmm/devices/virtio_net.h"
#include "vmm/exec_mux.h"

#define VM_CONSOLES 4
#define VM_MMIO_BASE 0xd0000000ULL
#define VM_GSI_BASE 16           /* IOAPIC pins above the ISA interrupts */
/* Consoles, config, upper, up to AGENT_ROOT_DISKS_MAX image disks, up to
 * VM_FS_MAX shared directories and the NIC. The first VM_OWN_GSIS devices own
 * a pin each from VM_GSI_BASE on, the NIC owns the next (VM_NET_GSI); the
 * image's disks after the first ones share the last pin (the VMM ORs the
 * levels); the shares have pins of their own (VM_FS_GSIS). */
#define VM_BLK_MAX (AGENT_ROOT_DISKS_MAX + 2)
/* Block volumes are disks too, counted with the shares (VM_FS_MAX for both). */
#define VM_DISKS_MAX (VM_BLK_MAX + VM_FS_MAX)
#define VM_FS_MAX AGENT_SHARES_MAX
#define VM_MAX_DEVICES (VM_CONSOLES + VM_BLK_MAX + VM_FS_MAX + 1)
#define VM_OWN_GSIS 6
/* The shares' pins: ISA pins no device of the VM's uses (not the PIT's 0,
 * i8042's 1 and 12, the cascade's 2, the UARTs' 3 and 4, the RTC's 8), one
 * each, edge: their servers interrupt the guest through KVM_IRQFD. */
#define VM_FS_GSIS { 5, 6, 7, 9, 10, 11, 14, 15 }
#define VM_NET_GSI (VM_GSI_BASE + VM_OWN_GSIS)
#define VM_SHARED_GSI (VM_NET_GSI + 1)

struct vm_volume_disk {
	const char *path;
	const char *serial;
	bool read_only;
};

struct vm_container_io {
	int stdin_fd, stdout_fd, stderr_fd;   /* -1: none */
	/* The image's EROFS disks, bottom first, one path a line (the bundle's
	 * VM_ANNOTATION_ROOTFS); NULL: no devices at all. */
	const char *rootfs;
	const char *upper;                    /* writable ext4 image, or NULL */
	int config_fd;                        /* the guest config blob */
	int exec_fd;                          /* listening socket for exec, or -1 */
	/* runc's create: a byte read here means `start` (the guest holds the
	 * app until then), and one is written to ready_fd once the guest is up;
	 * -1: none. */
	int start_fd, ready_fd;
	/* The NIC: a TAP (IFF_VNET_HDR, 12-byte header, non-blocking) and the
	 * MAC the guest gets; only when net is set. */
	bool net;
	int tap_fd;
	uint8_t mac[6];
	/* Host directories shared over virtio-fs, each its own device and
	 * server; the guest config names their tags and mount points. */
	const struct virtio_fs_share *shares;
	size_t n_shares;
	/* Block volumes: ext4 images, each a read-write (or read-only) disk
	 * with its serial, locked for this VM alone; with the shares, at most
	 * VM_FS_MAX. */
	const struct vm_volume_disk *volume_disks;
	size_t n_volume_disks;
};


struct vm_devices {
	struct virtio_console con[VM_CONSOLES];
	struct exec_mux exec;
	int ctl[2];                           /* pipe: control lines into con[2] */
	struct virtio_blk blk[VM_DISKS_MAX];
	struct virtio_fs fs[VM_FS_MAX];
	size_t n_fs;
	struct virtio_net net;
	bool has_net;
	int vm_fd;                            /* for the NIC's ioeventfds */
	struct virtio_dev *all[VM_MAX_DEVICES];
	size_t n;
	int wake_fd;                          /* eventfd: receive buffers, or stop */
	int disk_fds[VM_DISKS_MAX];
	int start_fd, ready_fd;               /* vm_container_io's, until used */
	volatile bool stop;
	volatile bool stdin_ready;            /* the agent opened the consoles */
};

int vm_devices_create(struct vm_devices *d, const struct kvm_vm *mem,
		      const struct vm_container_io *io,
		      void (*set_irq)(void *, uint32_t, int), void *irq_ctx, struct err *err);
void vm_devices_destroy(struct vm_devices *d);

/* A guest access at addr: true when a device owns it. */
bool vm_devices_mmio(struct vm_devices *d, uint64_t addr, uint8_t *data, uint32_t len,
		     bool is_write);

/* Run until vm_devices_stop: give the guest what arrives on stdin, carry the
 * exec sessions, and pass each signal read from signal_fd (a signalfd, or
 * -1) to the container; SIGWINCH passes on the size of stdin's terminal. */
void vm_devices_io_loop(struct vm_devices *d, int signal_fd);
void vm_devices_stop(struct vm_devices *d);
/* The agent set up the container's stdio: start giving it stdin. */
void vm_devices_stdin_ready(struct vm_devices *d);

#endif
