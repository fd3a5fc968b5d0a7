/* The virtio-fs device end to end without KVM: the transport in this process,
 * the file server cloned by virtio_fs_init (confined to a temporary share),
 * guest RAM a shared mapping both see. The guest side is written by hand:
 * FUSE requests on the request queue, a hostile ring, a reset, a server
 * that cannot start. Needs root (the server's namespaces). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vmm/devices/virtio_fs.h"

#include "virtio_regs.h"

#define MEM_SIZE 0x40000
#define HIPRIO_DESC 0x1000
#define DESC 0x2000
#define AVAIL 0x3000
#define USED 0x4000
#define REQ 0x8000
#define REPLY 0x10000
#define QSIZE 8

struct fx {
	struct kvm_vm vm;
	uint8_t *mem;
	char share[64];
	struct virtio_fs fs;
	pid_t server;
	uint16_t avail_idx;
};

static int start(struct fx *f, const char *source, struct err *err)
{
	struct virtio_fs_share share = { .source = source, .tag = "isobox-fs0" };

	if (virtio_fs_init(&f->fs, &f->vm, 0xd0000000, 5, record_irq, NULL, &share, -1, err) < 0)
		return -1;
	f->server = f->fs.server;
	return 0;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct err err = { 0 };
	char path[128];
	int fd;

	/* Shared: the cloned server reads and writes the same "guest RAM". */
	f->mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (f->mem == MAP_FAILED)
		return -1;
	f->vm.slots[0] = (struct kvm_slot){ .gpa = 0, .size = MEM_SIZE, .host = f->mem };
	f->vm.n_slots = 1;
	snprintf(f->share, sizeof(f->share), "/tmp/test_virtio_fs.XXXXXX");
	if (!mkdtemp(f->share))
		return -1;
	snprintf(path, sizeof(path), "%s/hello", f->share);
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, "hello from the host", 19) != 19)
		return -1;
	close(fd);
	if (start(f, f->share, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char cmd[128];
	int status;

	virtio_fs_destroy(&f->fs);
	/* The server sees its socket close and exits. */
	if (waitpid(f->server, &status, 0) != f->server || !WIFEXITED(status))
		return -1;
	munmap(f->mem, MEM_SIZE);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->share);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

static void queue(struct virtio_dev *d, unsigned q, uint64_t desc, uint64_t avail, uint64_t used)
{
	wr(d, 0x030, q);
	wr(d, 0x038, QSIZE);
	wr(d, 0x080, (uint32_t)desc);
	wr(d, 0x090, (uint32_t)avail);
	wr(d, 0x0a0, (uint32_t)used);
	wr(d, 0x044, 1);
}

/* The driver's side up to DRIVER_OK, both queues set (hiprio apart). */
static void driver_up(struct fx *f)
{
	struct virtio_dev *d = &f->fs.dev;

	wr(d, 0x070, 1 | 2);
	wr(d, 0x024, 1);
	wr(d, 0x020, 1);                                     /* VERSION_1 */
	wr(d, 0x070, 1 | 2 | 8);
	assert_int_equal(rd(d, 0x070) & 8, 8);
	queue(d, 0, HIPRIO_DESC, HIPRIO_DESC + 0x200, HIPRIO_DESC + 0x400);
	queue(d, 1, DESC, AVAIL, USED);
	wr(d, 0x070, 1 | 2 | 8 | 4);
	f->avail_idx = 0;
}

static uint16_t used_idx(struct fx *f)
{
	uint16_t v;

	memcpy(&v, f->mem + USED + 2, 2);
	return v;
}

/* Wait for the server's interrupt (its irqfd, which KVM would take), then
 * read and acknowledge the status as the guest's driver does. */
static void await_used(struct fx *f, uint16_t want)
{
	struct pollfd p = { .fd = f->fs.irq.fd, .events = POLLIN };
	uint64_t v;
	int tries;

	for (tries = 0; tries < 50 && used_idx(f) != want; tries++)
		poll(&p, 1, 100);
	assert_int_equal(used_idx(f), want);
	assert_int_equal(poll(&p, 1, 5000), 1);
	assert_int_equal(read(f->fs.irq.fd, &v, sizeof(v)), sizeof(v));
	assert_int_equal(rd(&f->fs.dev, 0x060), 1);         /* INTERRUPT_STATUS: used */
	assert_int_equal(rd(&f->fs.dev, 0x060), 0);         /* taken by the read */
	wr(&f->fs.dev, 0x064, 1);                            /* INTERRUPT_ACK: nothing left */
	assert_int_equal(rd(&f->fs.dev, 0x060), 0);
}

/* One request on the request queue: a readable descriptor with the request,
 * a writable one for the reply. Returns the reply's error. */
static int request(struct fx *f, uint32_t op, uint64_t nodeid, const void *body, size_t blen,
		   const char *name)
{
	struct fuse_in_header h = { .opcode = op, .unique = 9, .nodeid = nodeid };
	uint64_t d[2][2] = { { REQ, 0 }, { REPLY, 0 } };
	uint16_t slot = f->avail_idx % QSIZE, head = (uint16_t)(2 * (slot % (QSIZE / 2))), idx;
	struct fuse_out_header oh;
	size_t len = sizeof(h);
	uint32_t dlen[2];
	uint16_t flags[2] = { 1, 2 }, next[2] = { (uint16_t)(head + 1), 0 };
	unsigned i;

	memcpy(f->mem + REQ + len, body, blen);
	len += blen;
	if (name) {
		memcpy(f->mem + REQ + len, name, strlen(name) + 1);
		len += strlen(name) + 1;
	}
	h.len = (uint32_t)len;
	memcpy(f->mem + REQ, &h, sizeof(h));
	dlen[0] = (uint32_t)len;
	dlen[1] = 4096;
	for (i = 0; i < 2; i++) {
		uint8_t *e = f->mem + DESC + 16 * (head + i);

		memcpy(e, &d[i][0], 8);
		memcpy(e + 8, &dlen[i], 4);
		memcpy(e + 12, &flags[i], 2);
		memcpy(e + 14, &next[i], 2);
	}
	memcpy(f->mem + AVAIL + 4 + 2 * slot, &head, 2);
	idx = ++f->avail_idx;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	memcpy(f->mem + AVAIL + 2, &idx, 2);
	wr(&f->fs.dev, 0x050, 1);                            /* kick (no ioeventfd here) */
	await_used(f, idx);
	memcpy(&oh, f->mem + REPLY, sizeof(oh));
	assert_int_equal(oh.unique, 9);
	return oh.error;
}

static void test_config_space(void **state)
{
	struct fx *f = *state;
	struct virtio_dev *d = &f->fs.dev;
	uint8_t tag[36];
	uint32_t queues;

	assert_int_equal(rd(d, 0x008), 26);                  /* virtio-fs */
	virtio_mmio_read(d, 0x100, tag, sizeof(tag));
	assert_memory_equal(tag, "isobox-fs0\0", 11);
	virtio_mmio_read(d, 0x100 + 36, (uint8_t *)&queues, 4);
	assert_int_equal(queues, 1);
	/* No shared memory region (DAX): all ones, not a region of 0 at 0. */
	wr(d, 0x0ac, 0);
	assert_int_equal(rd(d, 0x0b0), 0xffffffff);
	assert_int_equal(rd(d, 0x0b4), 0xffffffff);
}

static void test_requests_are_served(void **state)
{
	struct fx *f = *state;
	struct fuse_init_in init = { .major = 7, .minor = 38 };
	struct fuse_open_in oin = { .flags = O_RDONLY };
	struct fuse_read_in rin = { .size = 64 };
	struct fuse_init_out iout;
	struct fuse_entry_out entry;
	struct fuse_open_out oout;
	uint32_t written;

	driver_up(f);
	irq_level = -1;
	/* the server interrupts through its irqfd (await_used), not the VMM's line */
	assert_int_equal(request(f, FUSE_INIT, 0, &init, sizeof(init), NULL), 0);
	assert_int_equal(irq_level, -1);
	memcpy(&iout, f->mem + REPLY + sizeof(struct fuse_out_header), sizeof(iout));
	assert_int_equal(iout.major, 7);
	/* a READ or WRITE's pages and headers fit in one chain: a longer one
	 * would be refused, and the guest's driver would wait for it forever */
	assert_true(iout.max_pages >= 32 && iout.max_pages + 8 <= VIRTQ_MAX_CHAIN);
	assert_int_equal(iout.max_write, iout.max_pages * 4096u);
	memcpy(&written, f->mem + USED + 4 + 4, 4);
	assert_int_equal(written, sizeof(struct fuse_out_header) + sizeof(iout));
	assert_int_equal(request(f, FUSE_LOOKUP, FUSE_ROOT_ID, NULL, 0, "hello"), 0);
	memcpy(&entry, f->mem + REPLY + sizeof(struct fuse_out_header), sizeof(entry));
	assert_int_equal(entry.attr.size, 19);
	assert_int_equal(request(f, FUSE_OPEN, entry.nodeid, &oin, sizeof(oin), NULL), 0);
	memcpy(&oout, f->mem + REPLY + sizeof(struct fuse_out_header), sizeof(oout));
	rin.fh = oout.fh;
	assert_int_equal(request(f, FUSE_READ, entry.nodeid, &rin, sizeof(rin), NULL), 0);
	assert_memory_equal(f->mem + REPLY + sizeof(struct fuse_out_header),
			    "hello from the host", 19);
	/* Names are the server's to check: no way out of the share. */
	assert_int_equal(request(f, FUSE_LOOKUP, FUSE_ROOT_ID, NULL, 0, ".."), -EINVAL);
}

/* A ring the guest broke fails the device (NEEDS_RESET); a reset brings it
 * back, and the server serves the new queues. */
static void test_hostile_ring_then_reset(void **state)
{
	struct fx *f = *state;
	struct fuse_init_in init = { .major = 7, .minor = 38 };
	struct pollfd p = { .fd = f->fs.fail_fd, .events = POLLIN };
	uint64_t v;
	uint16_t idx = 200;                                  /* far more than the queue holds */

	driver_up(f);
	memcpy(f->mem + AVAIL + 2, &idx, 2);
	wr(&f->fs.dev, 0x050, 1);
	assert_int_equal(poll(&p, 1, 5000), 1);
	virtio_fs_event(&f->fs);
	assert_int_equal(rd(&f->fs.dev, 0x070) & 0x40, 0x40);
	/* DEVICE_NEEDS_RESET came with a config interrupt, through the irqfd */
	assert_int_equal(rd(&f->fs.dev, 0x060), 2);
	assert_int_equal(read(f->fs.irq.fd, &v, sizeof(v)), sizeof(v));
	wr(&f->fs.dev, 0x070, 0);                            /* reset: the server acknowledges */
	assert_false(f->fs.live);
	memset(f->mem, 0, MEM_SIZE);
	driver_up(f);
	assert_int_equal(request(f, FUSE_INIT, 0, &init, sizeof(init), NULL), 0);
}

static void test_server_that_cannot_start(void **state)
{
	struct fx *f = *state;
	struct virtio_fs broken;
	struct virtio_fs_share share = { .source = "/nonexistent/share", .tag = "t" };
	struct virtio_fs_share long_tag = { .source = f->share,
					    .tag = "a-tag-longer-than-thirty-six-bytes-long" };
	struct err err = { 0 };
	pid_t pid;

	assert_int_equal(virtio_fs_init(&broken, &f->vm, 0xd0001000, 5, record_irq, NULL, &share,
					-1, &err), -1);
	assert_non_null(strstr(err.msg, "the file server of /nonexistent/share"));
	assert_non_null(strstr(err.msg, "No such file or directory"));
	pid = broken.server;
	virtio_fs_destroy(&broken);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
	assert_int_equal(virtio_fs_init(&broken, &f->vm, 0xd0001000, 5, record_irq, NULL,
					&long_tag, -1, &err), -1);
	assert_non_null(strstr(err.msg, "1 to 36 bytes"));
	virtio_fs_destroy(&broken);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_config_space, setup, teardown),
		cmocka_unit_test_setup_teardown(test_requests_are_served, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_ring_then_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_server_that_cannot_start, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
