/* libFuzzer: the bytes are a hostile guest. It lays out descriptor tables,
 * avail rings and buffers in its memory and drives a virtio console and a
 * virtio block device (on a small memfd disk) through their MMIO registers,
 * kicking them so they walk whatever chains it built: loops, addresses
 * outside RAM or across slots, huge lengths, bad indices, rings moved under
 * a live queue. Guest RAM is two malloc'ed slots, so ASan sees any access
 * past kvm_vm_gpa's checks; UBSan sees misaligned ring accesses.
 *
 * Input: one config byte, then operations until the bytes run out:
 *   config  bit 0: the disk is read-only; bit 1: skip the driver bring-up;
 *           bits 4-7: log2 of the queue size the bring-up sets (mod 9)
 *   0 WRITE  dev off:u16 width:u8 bytes[width]   an MMIO write
 *   1 READ   dev off:u16 width:u8                an MMIO read
 *   2 POKE   gpa n:u8 bytes[n]                   the guest writes its RAM
 *   3 DESC   dev q idx:u8 gpa len flags:u8 next:u16   a descriptor
 *   4 AVAIL  dev q head:u16                      publish one chain
 *   5 RING   dev q flags:u16 idx:u16             set the avail header raw
 *   6 KICK   dev v:u8                            QUEUE_NOTIFY v
 *   7 INPUT  n:u8 bytes[n]                       host input for the console
 *   8 RESIZE cols:u16 rows:u16
 *   9 CHAIN  dev q off:u32 len:u16 dir:u8        pop and copy in/out directly
 *  10 STATUS dev v:u8                            write the status register
 *  11 FRAME  n:u16 bytes[n]                      a frame arrives on the NIC's TAP
 *  12 NETIO                                      the NIC's I/O thread runs a pass
 * dev and q are bytes (dev bit 1: net, else bit 0: 0 console, 1 blk; q mod the device's
 * queues); gpa is kind:u8 then u16 (slot 0), u16 (near slot 1), u64 (raw)
 * or u8 (back from a slot's end); len is u16, or u32 when kind bit 7 is set.
 * Multi-byte values are little-endian. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vmm/devices/virtio_blk.h"
#include "vmm/devices/virtio_console.h"
#include "vmm/devices/virtio_net.h"
#include "vmm/virtio_mmio.h"
#include "vmm/virtq.h"

#define SLOT0_GPA 0x0ULL
#define SLOT0_SIZE 0x10000ULL
#define SLOT1_GPA 0x100000ULL
#define SLOT1_SIZE 0x1000ULL
/* Not a whole number of sectors: the tail is past the disk's end. */
#define DISK_SIZE (64 * 512 + 100)
#define MAX_OPS 512

#define REG_DRIVER_FEATURES 0x020
#define REG_DRIVER_FEATURES_SEL 0x024
#define REG_QUEUE_SEL 0x030
#define REG_QUEUE_NUM 0x038
#define REG_QUEUE_READY 0x044
#define REG_QUEUE_NOTIFY 0x050
#define REG_STATUS 0x070
#define REG_QUEUE_DESC_LOW 0x080
#define REG_QUEUE_DRIVER_LOW 0x090
#define REG_QUEUE_DEVICE_LOW 0x0a0

struct input {
	const uint8_t *p;
	size_t n;
};

static struct kvm_vm vm;
static uint8_t *slot0, *slot1;
static int disk_fd, in_rd, in_wr, out_fd, wake_fd;
static struct virtio_console con;
static struct virtio_blk blk;
static struct virtio_net net;
static int tap[2];              /* tap[0]: the NIC's, tap[1]: the wire */
static uint8_t scratch[65536];

static void irq_ignore(void *ctx, uint32_t gsi, int level)
{
}

static void die(const char *what)
{
	fprintf(stderr, "fuzz_virtq: %s: %s\n", what, strerror(errno));
	abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	int p[2];

	/* Separate heap blocks: ASan's redzones sit right at each slot's end. */
	slot0 = aligned_alloc(4096, SLOT0_SIZE);
	slot1 = aligned_alloc(4096, SLOT1_SIZE);
	if (!slot0 || !slot1)
		die("guest memory");
	vm.slots[0] = (struct kvm_slot){ .gpa = SLOT0_GPA, .size = SLOT0_SIZE, .host = slot0 };
	vm.slots[1] = (struct kvm_slot){ .gpa = SLOT1_GPA, .size = SLOT1_SIZE, .host = slot1 };
	vm.n_slots = 2;
	disk_fd = memfd_create("fuzz-virtq-disk", MFD_CLOEXEC);
	out_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (disk_fd < 0 || out_fd < 0 || wake_fd < 0 || pipe2(p, O_NONBLOCK | O_CLOEXEC) < 0)
		die("fds");
	in_rd = p[0];
	in_wr = p[1];
	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, tap) < 0)
		die("socketpair");
	return 0;
}

static uint64_t in_le(struct input *in, unsigned bytes)
{
	uint64_t v = 0;
	unsigned i;

	for (i = 0; i < bytes && in->n; i++, in->n--)
		v |= (uint64_t)*in->p++ << (8 * i);
	return v;
}

static uint8_t in_u8(struct input *in) { return (uint8_t)in_le(in, 1); }
static uint16_t in_u16(struct input *in) { return (uint16_t)in_le(in, 2); }
static uint32_t in_u32(struct input *in) { return (uint32_t)in_le(in, 4); }

static uint64_t in_gpa(struct input *in)
{
	uint8_t kind = in_u8(in);

	switch (kind & 3) {
	case 0: return SLOT0_GPA + in_u16(in);
	case 1: return SLOT1_GPA + in_u16(in) % (SLOT1_SIZE + 0x100);
	case 2: return in_le(in, 8);
	default:
		return (kind & 4 ? SLOT1_GPA + SLOT1_SIZE : SLOT0_GPA + SLOT0_SIZE) - in_u8(in);
	}
}

static uint32_t in_len(struct input *in)
{
	return in_u8(in) & 0x80 ? in_u32(in) : in_u16(in);
}

static struct virtio_dev *in_dev(struct input *in)
{
	uint8_t b = in_u8(in);

	return b & 2 ? &net.dev : b & 1 ? &blk.dev : &con.dev;
}

static struct virtq *in_queue(struct input *in, struct virtio_dev *d)
{
	return &d->queues[in_u8(in) % d->ops->n_queues];
}

/* The guest's stores go through the same checked accessor as the device's. */
static void guest_store(uint64_t gpa, const void *src, size_t len)
{
	void *host = kvm_vm_gpa(&vm, gpa, len);

	if (host)
		memcpy(host, src, len);
}

static void mmio_write32(struct virtio_dev *d, uint64_t off, uint32_t v)
{
	virtio_mmio_write(d, off, (const uint8_t *)&v, 4);
}

/* What a well-behaved driver does: rings at fixed spots, one region per queue. */
static void bring_up(struct virtio_dev *d, unsigned first_region, uint32_t qsize)
{
	unsigned q;

	mmio_write32(d, REG_STATUS, 0);
	mmio_write32(d, REG_STATUS, 1 | 2);
	mmio_write32(d, REG_DRIVER_FEATURES_SEL, 1);
	mmio_write32(d, REG_DRIVER_FEATURES, 1);        /* VERSION_1 */
	mmio_write32(d, REG_STATUS, 1 | 2 | 8);
	for (q = 0; q < d->ops->n_queues; q++) {
		uint32_t region = 0x1000 + 0x2000 * (first_region + q);

		mmio_write32(d, REG_QUEUE_SEL, q);
		mmio_write32(d, REG_QUEUE_NUM, qsize);
		mmio_write32(d, REG_QUEUE_DESC_LOW, region);
		mmio_write32(d, REG_QUEUE_DRIVER_LOW, region + 0x1000);
		mmio_write32(d, REG_QUEUE_DEVICE_LOW, region + 0x1400);
		mmio_write32(d, REG_QUEUE_READY, 1);
	}
	mmio_write32(d, REG_STATUS, 1 | 2 | 8 | 4);
}

static void op_desc(struct input *in)
{
	struct virtio_dev *d = in_dev(in);
	struct virtq *q = in_queue(in, d);
	uint8_t idx = in_u8(in);
	struct {
		uint64_t addr;
		uint32_t len;
		uint16_t flags, next;
	} desc;

	desc.addr = in_gpa(in);
	desc.len = in_len(in);
	desc.flags = in_u8(in);
	desc.next = in_u16(in);
	guest_store(q->desc + 16ULL * idx, &desc, sizeof(desc));
}

static void op_avail(struct input *in)
{
	struct virtio_dev *d = in_dev(in);
	struct virtq *q = in_queue(in, d);
	uint16_t head = in_u16(in), idx;
	uint8_t *ring = kvm_vm_gpa(&vm, q->avail, 4);

	if (!ring || !q->size)
		return;
	memcpy(&idx, ring + 2, 2);
	guest_store(q->avail + 4 + 2ULL * (idx % q->size), &head, 2);
	idx++;
	memcpy(ring + 2, &idx, 2);
}

static void op_ring(struct input *in)
{
	struct virtio_dev *d = in_dev(in);
	struct virtq *q = in_queue(in, d);
	uint16_t hdr[2];

	hdr[0] = in_u16(in);
	hdr[1] = in_u16(in);
	guest_store(q->avail, hdr, sizeof(hdr));
}

/* The stream functions copy exactly the overlap of [off, off+len) with the
 * stream, whatever the chain looks like. */
static void op_chain(struct input *in)
{
	struct virtio_dev *d = in_dev(in);
	struct virtq q = *in_queue(in, d);
	uint32_t off = in_u32(in);
	uint16_t len = in_u16(in);
	bool device_writes = in_u8(in) & 1;
	struct virtq_chain c;
	struct err err = { 0 };
	size_t total, want, got;

	/* A copy: the device's own queue state stays its own. */
	q.ready = true;
	if (!q.size || virtq_pop(&q, &c, &err) != 1)
		return;
	total = virtq_chain_len(&c, device_writes);
	want = off >= total ? 0 : total - off < len ? total - off : len;
	got = device_writes ? virtq_chain_write(&c, off, scratch, len) :
			      virtq_chain_read(&c, off, scratch, len);
	if (got != want) {
		fprintf(stderr, "chain copy of %u at %u in %zu bytes copied %zu\n", len, off,
			total, got);
		abort();
	}
	virtq_push(&q, c.head, (uint32_t)got, &err);
}

static void op_input(struct input *in)
{
	uint8_t n = in_u8(in);

	if (n > in->n)
		n = (uint8_t)in->n;
	if (n && write(in_wr, in->p, n) < 0 && errno != EAGAIN)
		die("console input pipe");
	in->p += n;
	in->n -= n;
	virtio_console_input(&con);
}

/* A frame from the wire: up to 64 KiB of it (the header the TAP would
 * prepend included), then the I/O thread's pass. */
static void op_frame(struct input *in)
{
	uint16_t n = in_u16(in);

	if (n > in->n)
		n = (uint16_t)in->n;
	if (send(tap[1], in->p, n, 0) < 0 && errno != EAGAIN && errno != ENOBUFS)
		die("the NIC's wire");
	in->p += n;
	in->n -= n;
	virtio_net_process(&net);
}

static void run_op(struct input *in)
{
	struct virtio_dev *d;
	uint16_t off;
	uint8_t w, buf[8] = { 0 };

	switch (in_u8(in) % 13) {
	case 0:
		d = in_dev(in);
		off = in_u16(in) % 0x200;
		w = (uint8_t)(1 + in_u8(in) % 8);
		memcpy(buf, in->p, w < in->n ? w : in->n);
		in_le(in, w);
		virtio_mmio_write(d, off, buf, w);
		break;
	case 1:
		d = in_dev(in);
		off = in_u16(in) % 0x200;
		virtio_mmio_read(d, off, buf, (uint32_t)(1 + in_u8(in) % 8));
		break;
	case 2: {
		uint64_t gpa = in_gpa(in);
		uint8_t n = in_u8(in);

		if (n > in->n)
			n = (uint8_t)in->n;
		guest_store(gpa, in->p, n);
		in->p += n;
		in->n -= n;
		break;
	}
	case 3: op_desc(in); break;
	case 4: op_avail(in); break;
	case 5: op_ring(in); break;
	case 6:
		d = in_dev(in);
		mmio_write32(d, REG_QUEUE_NOTIFY, in_u8(in));
		if (d == &net.dev)
			virtio_net_process(&net);   /* the I/O thread's part of the kick */
		break;
	case 7: op_input(in); break;
	case 8: {
		uint16_t cols = in_u16(in);

		virtio_console_resize(&con, cols, in_u16(in));
		break;
	}
	case 9: op_chain(in); break;
	case 10:
		d = in_dev(in);
		mmio_write32(d, REG_STATUS, in_u8(in));
		break;
	case 11: op_frame(in); break;
	case 12: virtio_net_process(&net); break;
	}
}

static void reset_host_side(void)
{
	uint8_t drain[4096];
	uint64_t count;

	memset(slot0, 0, SLOT0_SIZE);
	memset(slot1, 0, SLOT1_SIZE);
	/* A fresh, zeroed disk for every input. */
	if (ftruncate(disk_fd, 0) < 0 || ftruncate(disk_fd, DISK_SIZE) < 0)
		die("disk");
	while (read(in_rd, drain, sizeof(drain)) > 0)
		;
	while (recv(tap[0], drain, sizeof(drain), 0) >= 0 ||
	       recv(tap[1], drain, sizeof(drain), 0) >= 0)
		;
	if (read(wake_fd, &count, sizeof(count)) < 0 && errno != EAGAIN)
		die("eventfd");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { data, size };
	struct err err = { 0 };
	uint8_t cfg = in_u8(&in);
	unsigned ops;

	reset_host_side();
	virtio_console_init(&con, &vm, 0xd0000000, 5, irq_ignore, NULL, in_rd, out_fd);
	con.wake_fd = wake_fd;
	if (virtio_blk_init(&blk, &vm, 0xd0001000, 6, irq_ignore, NULL, disk_fd, cfg & 1, "fuzz",
			    &err) < 0)
		die(err.msg);
	if (virtio_net_init(&net, &vm, 0xd0002000, 7, irq_ignore, NULL, tap[0],
			    (const uint8_t *)"\x02\0\0\0\0\1", &err) < 0)
		die(err.msg);
	if (!(cfg & 2)) {
		bring_up(&con.dev, 0, 1u << ((cfg >> 4) % 9));
		bring_up(&blk.dev, 2, 1u << ((cfg >> 4) % 9));
		bring_up(&net.dev, 3, 1u << ((cfg >> 4) % 9));
	}
	for (ops = 0; in.n && ops < MAX_OPS; ops++)
		run_op(&in);
	virtio_net_destroy(&net, -1);
	pthread_mutex_destroy(&con.dev.lock);
	pthread_mutex_destroy(&blk.dev.lock);
	pthread_mutex_destroy(&net.dev.lock);
	return 0;
}
