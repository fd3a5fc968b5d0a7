/* The virtqueue walker and the virtio-mmio transport against hostile guests:
 * guest memory is a plain buffer behind a struct kvm_vm with one slot. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vmm/devices/virtio_blk.h"
#include "vmm/devices/virtio_console.h"
#include "vmm/devices/virtio_net.h"
#include "vmm/virtio_mmio.h"
#include "vmm/virtq.h"

#include "virtio_regs.h"

#define MEM_SIZE 0x10000
#define DESC 0x1000
#define AVAIL 0x2000
#define USED 0x3000
#define DATA 0x4000
#define QSIZE 8

struct guest {
	struct kvm_vm vm;
	uint8_t *mem;
	struct virtq q;
};

struct desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};

static int setup(void **state)
{
	struct guest *g = calloc(1, sizeof(*g));

	g->mem = calloc(1, MEM_SIZE);
	g->vm.slots[0] = (struct kvm_slot){ .gpa = 0, .size = MEM_SIZE, .host = g->mem };
	g->vm.n_slots = 1;
	g->q = (struct virtq){ .size = QSIZE, .ready = true, .desc = DESC, .avail = AVAIL,
			       .used = USED, .mem = &g->vm };
	*state = g;
	return 0;
}

static int teardown(void **state)
{
	struct guest *g = *state;

	free(g->mem);
	free(g);
	return 0;
}

static void set_desc(struct guest *g, unsigned i, uint64_t addr, uint32_t len, uint16_t flags,
		     uint16_t next)
{
	struct desc d = { addr, len, flags, next };

	memcpy(g->mem + DESC + 16 * i, &d, sizeof(d));
}

static void publish(struct guest *g, uint16_t slot, uint16_t head, uint16_t idx)
{
	memcpy(g->mem + AVAIL + 4 + 2 * slot, &head, 2);
	memcpy(g->mem + AVAIL + 2, &idx, 2);
}

static void test_simple_chain(void **state)
{
	struct guest *g = *state;
	struct virtq_chain c;
	struct err err = { 0 };
	uint32_t used[2];
	uint16_t used_idx;
	char out[16];

	memcpy(g->mem + DATA, "hello", 5);
	set_desc(g, 0, DATA, 5, 1, 3);            /* NEXT -> 3 */
	set_desc(g, 3, DATA + 0x100, 64, 2, 0);   /* WRITE */
	publish(g, 0, 0, 1);
	assert_int_equal(virtq_pop(&g->q, &c, &err), 1);
	assert_int_equal(c.head, 0);
	assert_int_equal(c.n, 2);
	assert_int_equal(virtq_chain_len(&c, false), 5);
	assert_int_equal(virtq_chain_len(&c, true), 64);
	assert_int_equal(virtq_chain_read(&c, 1, out, 16), 4);
	assert_memory_equal(out, "ello", 4);
	assert_int_equal(virtq_chain_write(&c, 60, "abcdefgh", 8), 4);
	assert_memory_equal(g->mem + DATA + 0x100 + 60, "abcd", 4);
	assert_int_equal(virtq_pop(&g->q, &c, &err), 0);     /* empty now */
	assert_int_equal(virtq_push(&g->q, 0, 7, &err), 0);
	memcpy(used, g->mem + USED + 4, 8);
	memcpy(&used_idx, g->mem + USED + 2, 2);
	assert_int_equal(used[0], 0);
	assert_int_equal(used[1], 7);
	assert_int_equal(used_idx, 1);
}

static void test_loop_is_refused(void **state)
{
	struct guest *g = *state;
	struct virtq_chain c;
	struct err err = { 0 };

	set_desc(g, 0, DATA, 8, 1, 1);
	set_desc(g, 1, DATA, 8, 1, 0);            /* 0 -> 1 -> 0 -> ... */
	publish(g, 0, 0, 1);
	assert_int_equal(virtq_pop(&g->q, &c, &err), -1);
	assert_non_null(strstr(err.msg, "too long or loops"));
}

static void test_index_out_of_range(void **state)
{
	struct guest *g = *state;
	struct virtq_chain c;
	struct err err = { 0 };

	publish(g, 0, QSIZE, 1);                  /* head index == size */
	assert_int_equal(virtq_pop(&g->q, &c, &err), -1);
	assert_non_null(strstr(err.msg, "descriptor index"));
	set_desc(g, 0, DATA, 8, 1, 200);          /* next out of range */
	g->q.next_avail = 0;
	publish(g, 0, 0, 1);
	assert_int_equal(virtq_pop(&g->q, &c, &err), -1);
}

static void test_buffer_outside_memory(void **state)
{
	struct guest *g = *state;
	struct virtq_chain c;
	struct err err = { 0 };

	set_desc(g, 0, MEM_SIZE - 4, 8, 0, 0);    /* straddles the end */
	publish(g, 0, 0, 1);
	assert_int_equal(virtq_pop(&g->q, &c, &err), -1);
	assert_non_null(strstr(err.msg, "outside guest memory"));
	set_desc(g, 0, UINT64_MAX - 2, 8, 0, 0);  /* wraps around */
	g->q.next_avail = 0;
	assert_int_equal(virtq_pop(&g->q, &c, &err), -1);
	set_desc(g, 0, DATA, UINT32_MAX, 0, 0);   /* huge length */
	g->q.next_avail = 0;
	assert_int_equal(virtq_pop(&g->q, &c, &err), -1);
}

static void test_rings_outside_memory(void **state)
{
	struct guest *g = *state;
	struct virtq_chain c;
	struct err err = { 0 };

	g->q.avail = MEM_SIZE - 2;
	assert_int_equal(virtq_pop(&g->q, &c, &err), -1);
	g->q.avail = AVAIL;
	g->q.desc = MEM_SIZE - 16;
	publish(g, 0, 0, 1);
	assert_int_equal(virtq_pop(&g->q, &c, &err), -1);
	g->q.used = MEM_SIZE - 8;
	assert_int_equal(virtq_push(&g->q, 0, 0, &err), -1);
}

/* virtio requires aligned rings; without the check the 16-bit ring accesses
 * were misaligned (undefined behaviour that UBSan misses on volatile). */
static void test_misaligned_rings_refused(void **state)
{
	struct guest *g = *state;
	struct virtq_chain c;
	struct err err = { 0 };

	set_desc(g, 0, DATA, 8, 0, 0);
	publish(g, 0, 0, 1);
	/* The same ring (idx 1, head 0) one byte off. */
	memcpy(g->mem + AVAIL + 0x101, g->mem + AVAIL, 6);
	g->q.avail = AVAIL + 0x101;
	assert_int_equal(virtq_pop(&g->q, &c, &err), -1);
	assert_non_null(strstr(err.msg, "misaligned"));
	g->q.avail = AVAIL;
	assert_int_equal(virtq_pop(&g->q, &c, &err), 1);
	g->q.used = USED + 2;
	err_clear(&err);
	assert_int_equal(virtq_push(&g->q, c.head, 0, &err), -1);
	assert_non_null(strstr(err.msg, "misaligned"));
	g->q.used = USED;
	assert_int_equal(virtq_push(&g->q, c.head, 0, &err), 0);
}

static void test_too_many_published(void **state)
{
	struct guest *g = *state;
	struct virtq_chain c;
	struct err err = { 0 };

	publish(g, 0, 0, QSIZE + 1);
	assert_int_equal(virtq_pop(&g->q, &c, &err), -1);
	assert_non_null(strstr(err.msg, "published"));
}

static void test_indirect_refused(void **state)
{
	struct guest *g = *state;
	struct virtq_chain c;
	struct err err = { 0 };

	set_desc(g, 0, DATA, 16, 4, 0);           /* INDIRECT, never offered */
	publish(g, 0, 0, 1);
	assert_int_equal(virtq_pop(&g->q, &c, &err), -1);
	assert_non_null(strstr(err.msg, "indirect"));
}

static void test_not_ready_is_empty(void **state)
{
	struct guest *g = *state;
	struct virtq_chain c;
	struct err err = { 0 };

	g->q.ready = false;
	publish(g, 0, 0, 1);
	assert_int_equal(virtq_pop(&g->q, &c, &err), 0);
}

static void test_interrupt_suppression(void **state)
{
	struct guest *g = *state;
	uint16_t flags = 1;

	assert_true(virtq_wants_interrupt(&g->q));
	memcpy(g->mem + AVAIL, &flags, 2);
	assert_false(virtq_wants_interrupt(&g->q));
}

/* The transport: negotiation rules, queue setup, notify, interrupts. */
static void test_mmio_negotiation(void **state)
{
	struct guest *g = *state;
	struct virtio_console con;
	int fds[2];

	assert_int_equal(pipe(fds), 0);
	virtio_console_init(&con, &g->vm, 0xd0000000, 5, record_irq, NULL, -1, fds[1]);
	assert_int_equal(rd(&con.dev, 0x000), 0x74726976);
	assert_int_equal(rd(&con.dev, 0x004), 2);
	assert_int_equal(rd(&con.dev, 0x008), 3);
	wr(&con.dev, 0x014, 1);
	assert_int_equal(rd(&con.dev, 0x010), 1);            /* VERSION_1 is bit 32 */
	/* A driver that wants a feature we do not offer gets no FEATURES_OK. */
	wr(&con.dev, 0x024, 0);
	wr(&con.dev, 0x020, 1u << 7);
	wr(&con.dev, 0x024, 1);
	wr(&con.dev, 0x020, 1);
	wr(&con.dev, 0x070, 1 | 2 | 8);
	assert_int_equal(rd(&con.dev, 0x070) & 8, 0);
	wr(&con.dev, 0x070, 0);                              /* reset */
	wr(&con.dev, 0x024, 0);
	wr(&con.dev, 0x020, 0);
	wr(&con.dev, 0x024, 1);
	wr(&con.dev, 0x020, 1);
	wr(&con.dev, 0x070, 1 | 2 | 8);
	assert_int_equal(rd(&con.dev, 0x070) & 8, 8);
	/* Queue 1 (transmit): a size that is not a power of two keeps it off. */
	wr(&con.dev, 0x030, 1);
	wr(&con.dev, 0x038, 3);
	wr(&con.dev, 0x044, 1);
	assert_int_equal(rd(&con.dev, 0x044), 0);
	wr(&con.dev, 0x038, QSIZE);
	wr(&con.dev, 0x080, DESC);
	wr(&con.dev, 0x090, AVAIL);
	wr(&con.dev, 0x0a0, USED);
	wr(&con.dev, 0x044, 1);
	assert_int_equal(rd(&con.dev, 0x044), 1);
	wr(&con.dev, 0x070, 1 | 2 | 8 | 4);                  /* DRIVER_OK */
	/* The guest writes "hi": it reaches the host, and an interrupt follows. */
	memcpy(g->mem + DATA, "hi", 2);
	set_desc(g, 0, DATA, 2, 0, 0);
	publish(g, 0, 0, 1);
	wr(&con.dev, 0x050, 1);
	{
		char got[2];

		assert_int_equal(read(fds[0], got, 2), 2);
		assert_memory_equal(got, "hi", 2);
	}
	assert_int_equal(irq_level, 1);
	assert_int_equal(rd(&con.dev, 0x060), 1);
	wr(&con.dev, 0x064, 1);
	assert_int_equal(irq_level, 0);
	/* A hostile chain marks the device broken (NEEDS_RESET), nothing else. */
	set_desc(g, 1, MEM_SIZE + 100, 2, 0, 0);
	publish(g, 1, 1, 2);
	wr(&con.dev, 0x050, 1);
	assert_int_equal(rd(&con.dev, 0x070) & 0x40, 0x40);
	/* Unaligned and narrow register accesses are ignored; config reads are bounded. */
	wr(&con.dev, 0x071, 0);
	assert_int_equal(rd(&con.dev, 0x070) & 0x40, 0x40);
	{
		uint8_t big[64];

		virtio_mmio_read(&con.dev, 0x100 + 8, big, 64);     /* past the config: zeros */
		assert_int_equal(big[0], 0);
	}
	close(fds[0]);
	close(fds[1]);
}

static void test_blk_requests(void **state)
{
	struct guest *g = *state;
	struct virtio_blk blk;
	struct err err = { 0 };
	char path[] = "/tmp/isobox-blk-XXXXXX";
	int fd = mkstemp(path);
	uint8_t sector[512], status;
	struct { uint32_t type, reserved; uint64_t sector; } h = { 0, 0, 1 };

	memset(sector, 'x', sizeof(sector));
	assert_true(fd >= 0);
	unlink(path);
	assert_int_equal(pwrite(fd, sector, 512, 512), 512);
	assert_int_equal(ftruncate(fd, 4096), 0);
	assert_int_equal(virtio_blk_init(&blk, &g->vm, 0xd0001000, 6, record_irq, NULL, fd, true,
					 "root", &err), 0);
	wr(&blk.dev, 0x024, 1);
	wr(&blk.dev, 0x020, 1);
	wr(&blk.dev, 0x070, 1 | 2 | 8);
	wr(&blk.dev, 0x030, 0);
	wr(&blk.dev, 0x038, QSIZE);
	wr(&blk.dev, 0x080, DESC);
	wr(&blk.dev, 0x090, AVAIL);
	wr(&blk.dev, 0x0a0, USED);
	wr(&blk.dev, 0x044, 1);
	wr(&blk.dev, 0x070, 1 | 2 | 8 | 4);
	/* Read sector 1. */
	memcpy(g->mem + DATA, &h, sizeof(h));
	set_desc(g, 0, DATA, sizeof(h), 1, 1);
	set_desc(g, 1, DATA + 0x100, 512, 2 | 1, 2);
	set_desc(g, 2, DATA + 0x400, 1, 2, 0);
	g->mem[DATA + 0x400] = 0xee;
	publish(g, 0, 0, 1);
	wr(&blk.dev, 0x050, 0);
	status = g->mem[DATA + 0x400];
	assert_int_equal(status, 0);
	assert_memory_equal(g->mem + DATA + 0x100, sector, 512);
	/* Past the end of the disk: an I/O error, and nothing read. */
	h.sector = 8;
	memcpy(g->mem + DATA, &h, sizeof(h));
	publish(g, 1, 0, 2);
	wr(&blk.dev, 0x050, 0);
	assert_int_equal(g->mem[DATA + 0x400], 1);
	/* A write to a read-only disk fails. */
	h.type = 1;
	h.sector = 0;
	memcpy(g->mem + DATA, &h, sizeof(h));
	set_desc(g, 1, DATA + 0x100, 512, 1, 2);
	publish(g, 2, 0, 3);
	wr(&blk.dev, 0x050, 0);
	assert_int_equal(g->mem[DATA + 0x400], 1);
	close(fd);
}

/* virtio-net: a datagram socket pair stands in for the TAP (one frame per
 * datagram, as a TAP reads and writes). Queue 0 (RX) uses the test's rings,
 * queue 1 (TX) a second set; guest RAM is larger, for oversized frames. */
#define NET_MEM (256 << 10)
#define TXDESC 0x5000
#define TXAVAIL 0x6000
#define TXUSED 0x7000
#define NDATA 0x8000

static void net_queue(struct virtio_dev *d, unsigned q, uint64_t desc, uint64_t avail,
		      uint64_t used)
{
	wr(d, 0x030, q);
	wr(d, 0x038, QSIZE);
	wr(d, 0x080, (uint32_t)desc);
	wr(d, 0x090, (uint32_t)avail);
	wr(d, 0x0a0, (uint32_t)used);
	wr(d, 0x044, 1);
}

static void net_up(struct virtio_net *n, uint32_t features_lo)
{
	wr(&n->dev, 0x024, 0);
	wr(&n->dev, 0x020, features_lo);
	wr(&n->dev, 0x024, 1);
	wr(&n->dev, 0x020, 1);
	wr(&n->dev, 0x070, 1 | 2 | 8);
	assert_int_equal(rd(&n->dev, 0x070) & 8, 8);
	net_queue(&n->dev, 0, DESC, AVAIL, USED);
	net_queue(&n->dev, 1, TXDESC, TXAVAIL, TXUSED);
	wr(&n->dev, 0x070, 1 | 2 | 8 | 4);
}

static void desc_at(uint8_t *mem, uint64_t table, unsigned i, uint64_t addr, uint32_t len,
		    uint16_t flags, uint16_t next)
{
	struct desc d = { addr, len, flags, next };

	memcpy(mem + table + 16 * i, &d, sizeof(d));
}

static void publish_at(uint8_t *mem, uint64_t avail, uint16_t slot, uint16_t head, uint16_t idx)
{
	memcpy(mem + avail + 4 + 2 * slot, &head, 2);
	memcpy(mem + avail + 2, &idx, 2);
}

static uint16_t used_idx(const uint8_t *mem, uint64_t used)
{
	uint16_t v;

	memcpy(&v, mem + used + 2, 2);
	return v;
}

struct net_fixture {
	struct kvm_vm vm;
	uint8_t *mem;
	struct virtio_net n;
	int sp[2];              /* sp[0]: the device's "TAP", sp[1]: the wire */
};

static void net_fixture_init(struct net_fixture *f)
{
	static const uint8_t mac[6] = { 0x02, 0x42, 0x0a, 0x63, 0x00, 0x02 };
	struct err err = { 0 };

	memset(f, 0, sizeof(*f));
	f->mem = calloc(1, NET_MEM);
	f->vm.slots[0] = (struct kvm_slot){ .gpa = 0, .size = NET_MEM, .host = f->mem };
	f->vm.n_slots = 1;
	assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0, f->sp), 0);
	{
		int big = 1 << 20;

		setsockopt(f->sp[0], SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
		setsockopt(f->sp[1], SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
	}
	assert_int_equal(virtio_net_init(&f->n, &f->vm, 0xd0002000, 22, record_irq, NULL, f->sp[0],
					 mac, &err), 0);
}

static void net_fixture_free(struct net_fixture *f)
{
	virtio_net_destroy(&f->n, -1);
	close(f->sp[0]);
	close(f->sp[1]);
	free(f->mem);
}

static void test_net_config_and_features(void **state)
{
	struct net_fixture f;
	uint8_t mac[6];

	(void)state;
	net_fixture_init(&f);
	assert_int_equal(rd(&f.n.dev, 0x008), 1);                      /* a network card */
	wr(&f.n.dev, 0x014, 0);
	/* CSUM, GUEST_CSUM, MAC, GUEST_TSO4/6, HOST_TSO4/6, MRG_RXBUF */
	assert_int_equal(rd(&f.n.dev, 0x010),
			 0x1 | 0x2 | 0x20 | 0x80 | 0x100 | 0x800 | 0x1000 | 0x8000);
	virtio_mmio_read(&f.n.dev, 0x100, mac, 6);
	assert_memory_equal(mac, f.n.mac, 6);
	net_fixture_free(&f);
}

static void test_net_tx(void **state)
{
	struct net_fixture f;
	uint8_t hdr[VIRTIO_NET_HDR_LEN] = { 0 }, got[128];

	(void)state;
	net_fixture_init(&f);
	net_up(&f.n, 0x20);
	/* Header and frame in two buffers: one datagram on the wire. */
	memcpy(f.mem + NDATA, hdr, sizeof(hdr));
	memcpy(f.mem + NDATA + 0x100, "hello-frame", 11);
	desc_at(f.mem, TXDESC, 0, NDATA, sizeof(hdr), 1, 1);
	desc_at(f.mem, TXDESC, 1, NDATA + 0x100, 11, 0, 0);
	publish_at(f.mem, TXAVAIL, 0, 0, 1);
	irq_level = -1;
	virtio_net_process(&f.n);
	assert_int_equal(recv(f.sp[1], got, sizeof(got), 0), 12 + 11);
	assert_memory_equal(got + 12, "hello-frame", 11);
	assert_int_equal(used_idx(f.mem, TXUSED), 1);
	assert_int_equal(irq_level, 1);
	/* Shorter than the header: dropped, the device goes on. */
	desc_at(f.mem, TXDESC, 2, NDATA, 5, 0, 0);
	publish_at(f.mem, TXAVAIL, 1, 2, 2);
	virtio_net_process(&f.n);
	assert_int_equal(used_idx(f.mem, TXUSED), 2);
	assert_int_equal(f.n.tx_dropped, 1);
	assert_int_equal(recv(f.sp[1], got, sizeof(got), 0), -1);
	/* Larger than any frame (two 40000-byte buffers): dropped too. */
	desc_at(f.mem, TXDESC, 3, NDATA, 40000, 1, 4);
	desc_at(f.mem, TXDESC, 4, NDATA + 40000, 40000, 0, 0);
	publish_at(f.mem, TXAVAIL, 2, 3, 3);
	virtio_net_process(&f.n);
	assert_int_equal(used_idx(f.mem, TXUSED), 3);
	assert_int_equal(f.n.tx_dropped, 2);
	assert_int_equal(rd(&f.n.dev, 0x070) & 0x40, 0);
	/* A chain that loops fails the device, nothing else. */
	desc_at(f.mem, TXDESC, 5, NDATA, 16, 1, 5);
	publish_at(f.mem, TXAVAIL, 3, 5, 4);
	virtio_net_process(&f.n);
	assert_int_equal(rd(&f.n.dev, 0x070) & 0x40, 0x40);
	net_fixture_free(&f);
}

static void test_net_rx(void **state)
{
	struct net_fixture f;
	uint8_t frame[12 + 4] = { 0 };
	uint16_t nbuf;
	uint32_t len;

	(void)state;
	net_fixture_init(&f);
	net_up(&f.n, 0x20);
	memcpy(frame + 12, "pong", 4);
	assert_int_equal(send(f.sp[1], frame, sizeof(frame), 0), (ssize_t)sizeof(frame));
	/* No receive buffer yet: nothing moves, the device waits for a kick. */
	virtio_net_process(&f.n);
	assert_false(f.n.rx_wants_tap);
	assert_int_equal(used_idx(f.mem, USED), 0);
	/* A buffer of header and room: the frame lands, num_buffers is 1. */
	desc_at(f.mem, DESC, 0, NDATA, 12, 2 | 1, 1);
	desc_at(f.mem, DESC, 1, NDATA + 0x100, 1500, 2, 0);
	publish_at(f.mem, AVAIL, 0, 0, 1);
	irq_level = -1;
	virtio_net_process(&f.n);
	assert_int_equal(used_idx(f.mem, USED), 1);
	memcpy(&len, f.mem + USED + 4 + 4, 4);
	assert_int_equal(len, 16);
	memcpy(&nbuf, f.mem + NDATA + 10, 2);
	assert_int_equal(nbuf, 1);
	assert_memory_equal(f.mem + NDATA + 0x100, "pong", 4);
	assert_int_equal(irq_level, 1);
	/* A posted buffer with nothing on the wire is kept for later. */
	publish_at(f.mem, AVAIL, 1, 0, 2);
	virtio_net_process(&f.n);
	assert_int_equal(used_idx(f.mem, USED), 1);
	assert_true(f.n.rx_wants_tap);
	assert_int_equal(send(f.sp[1], frame, sizeof(frame), 0), (ssize_t)sizeof(frame));
	virtio_net_process(&f.n);
	assert_int_equal(used_idx(f.mem, USED), 2);
	/* A receive buffer without room for the header fails the device. */
	desc_at(f.mem, DESC, 2, NDATA, 4, 2, 0);
	publish_at(f.mem, AVAIL, 2, 2, 3);
	assert_int_equal(send(f.sp[1], frame, sizeof(frame), 0), (ssize_t)sizeof(frame));
	virtio_net_process(&f.n);
	assert_int_equal(rd(&f.n.dev, 0x070) & 0x40, 0x40);
	assert_int_equal(used_idx(f.mem, USED), 2);
	/* A read-only "receive" buffer pointing outside RAM: refused the same way. */
	net_fixture_free(&f);
}

/* MRG_RXBUF: a frame spans as many one-page buffers as it needs, each
 * returned with its part, num_buffers in the first; the rest stay posted. */
static void test_net_rx_mergeable(void **state)
{
	struct net_fixture f;
	uint8_t frame[2500];
	uint32_t len[4];
	uint16_t nbuf;
	unsigned i;

	(void)state;
	net_fixture_init(&f);
	net_up(&f.n, 0x20 | 0x8000);
	memset(frame, 0, 12);
	for (i = 12; i < sizeof(frame); i++)
		frame[i] = (uint8_t)i;
	assert_int_equal(send(f.sp[1], frame, sizeof(frame), 0), (ssize_t)sizeof(frame));
	/* Two buffers posted: the frame does not fit, it waits whole, nothing
	 * is used, and the device waits for the driver's kick. */
	for (i = 0; i < QSIZE; i++)
		desc_at(f.mem, DESC, i, NDATA + 0x1000 * i, 1000, 2, 0);
	for (i = 0; i < 2; i++)
		publish_at(f.mem, AVAIL, (uint16_t)i, (uint16_t)i, (uint16_t)(i + 1));
	virtio_net_process(&f.n);
	assert_int_equal(used_idx(f.mem, USED), 0);
	assert_false(f.n.rx_wants_tap);
	assert_int_equal(f.n.pend_len, sizeof(frame));
	/* The rest posted: the frame takes three buffers. */
	for (i = 2; i < QSIZE; i++)
		publish_at(f.mem, AVAIL, (uint16_t)i, (uint16_t)i, (uint16_t)(i + 1));
	virtio_net_process(&f.n);
	assert_int_equal(used_idx(f.mem, USED), 3);
	assert_int_equal(f.n.pend_len, 0);
	for (i = 0; i < 3; i++)
		memcpy(&len[i], f.mem + USED + 4 + 8 * i + 4, 4);
	assert_int_equal(len[0], 1000);
	assert_int_equal(len[1], 1000);
	assert_int_equal(len[2], 500);
	memcpy(&nbuf, f.mem + NDATA + 10, 2);
	assert_int_equal(nbuf, 3);
	assert_memory_equal(f.mem + NDATA + 12, frame + 12, 1000 - 12);
	assert_memory_equal(f.mem + NDATA + 0x1000, frame + 1000, 1000);
	assert_memory_equal(f.mem + NDATA + 0x2000, frame + 2000, 500);
	/* The next frame, straight into the fourth buffer. */
	assert_int_equal(send(f.sp[1], frame, 100, 0), 100);
	virtio_net_process(&f.n);
	assert_int_equal(used_idx(f.mem, USED), 4);
	memcpy(&len[3], f.mem + USED + 4 + 8 * 3, 4);
	assert_int_equal(len[3], 3);
	memcpy(&len[3], f.mem + USED + 4 + 8 * 3 + 4, 4);
	assert_int_equal(len[3], 100);
	net_fixture_free(&f);
}

/* The I/O thread: a kick through the MMIO notify register reaches it (no KVM
 * here, so no ioeventfd), and it moves the frame without the caller. */
static void test_net_io_thread(void **state)
{
	struct net_fixture f;
	struct err err = { 0 };
	uint8_t got[64];
	struct pollfd p;

	(void)state;
	net_fixture_init(&f);
	net_up(&f.n, 0x20);
	assert_int_equal(virtio_net_start(&f.n, -1, &err), 0);
	memset(f.mem + NDATA, 0, 12);
	memcpy(f.mem + NDATA + 12, "threaded", 8);
	desc_at(f.mem, TXDESC, 0, NDATA, 20, 0, 0);
	publish_at(f.mem, TXAVAIL, 0, 0, 1);
	wr(&f.n.dev, 0x050, 1);
	p = (struct pollfd){ .fd = f.sp[1], .events = POLLIN };
	assert_int_equal(poll(&p, 1, 5000), 1);
	assert_int_equal(recv(f.sp[1], got, sizeof(got), 0), 20);
	assert_memory_equal(got + 12, "threaded", 8);
	net_fixture_free(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_simple_chain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_loop_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_index_out_of_range, setup, teardown),
		cmocka_unit_test_setup_teardown(test_buffer_outside_memory, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rings_outside_memory, setup, teardown),
		cmocka_unit_test_setup_teardown(test_misaligned_rings_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_too_many_published, setup, teardown),
		cmocka_unit_test_setup_teardown(test_indirect_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_ready_is_empty, setup, teardown),
		cmocka_unit_test_setup_teardown(test_interrupt_suppression, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mmio_negotiation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_blk_requests, setup, teardown),
		cmocka_unit_test(test_net_config_and_features),
		cmocka_unit_test(test_net_tx),
		cmocka_unit_test(test_net_rx),
		cmocka_unit_test(test_net_rx_mergeable),
		cmocka_unit_test(test_net_io_thread),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
