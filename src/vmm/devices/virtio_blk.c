#include "vmm/devices/virtio_blk.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define VIRTIO_ID_BLOCK 2
#define VIRTIO_BLK_F_RO (1ULL << 5)
#define VIRTIO_BLK_F_FLUSH (1ULL << 9)
#define T_IN 0
#define T_OUT 1
#define T_FLUSH 4
#define T_GET_ID 8
#define S_OK 0
#define S_IOERR 1
#define S_UNSUPP 2
#define SECTOR 512ULL

struct blk_req_header {
	uint32_t type;
	uint32_t reserved;
	uint64_t sector;
};

static void blk_config_read(struct virtio_dev *d, uint32_t off, void *data, uint32_t len)
{
	struct virtio_blk *b = d->priv;
	uint8_t cfg[8];

	/* Only the capacity: we offer none of the features that add fields. */
	memcpy(cfg, &b->sectors, sizeof(cfg));
	if (off < sizeof(cfg))
		memcpy(data, cfg + off, len <= sizeof(cfg) - off ? len : sizeof(cfg) - off);
}

/* Move len bytes at byte offset pos between the file and the chain's data
 * (which starts after the header for writes, at 0 for reads). */
static uint8_t blk_rw(struct virtio_blk *b, const struct virtq_chain *c, bool write,
		      uint64_t pos, size_t len)
{
	uint8_t buf[65536];
	size_t done = 0;

	while (done < len) {
		size_t n = len - done < sizeof(buf) ? len - done : sizeof(buf);
		ssize_t r;

		if (write) {
			virtq_chain_read(c, sizeof(struct blk_req_header) + done, buf, n);
			r = pwrite(b->fd, buf, n, (off_t)(pos + done));
		} else {
			r = pread(b->fd, buf, n, (off_t)(pos + done));
			if (r > 0)
				virtq_chain_write(c, done, buf, (size_t)r);
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return S_IOERR;
		done += (size_t)r;
	}
	return S_OK;
}

/* One request; returns the number of bytes written into the chain. */
static uint32_t blk_request(struct virtio_blk *b, const struct virtq_chain *c)
{
	struct blk_req_header h;
	size_t in_len = virtq_chain_len(c, true);
	size_t out_len = virtq_chain_len(c, false);
	size_t data_len;
	uint8_t status = S_IOERR;

	/* The last device-writable byte is the status; nothing fits without it. */
	if (in_len == 0)
		return 0;
	if (virtq_chain_read(c, 0, &h, sizeof(h)) != sizeof(h)) {
		status = S_IOERR;
	} else if (h.type == T_IN || h.type == T_OUT) {
		data_len = h.type == T_IN ? in_len - 1 : out_len - sizeof(h);
		if (data_len % SECTOR || h.sector > b->sectors ||
		    data_len / SECTOR > b->sectors - h.sector)
			status = S_IOERR;
		else if (h.type == T_OUT && b->readonly)
			status = S_IOERR;
		else
			status = blk_rw(b, c, h.type == T_OUT, h.sector * SECTOR, data_len);
	} else if (h.type == T_FLUSH) {
		status = b->readonly || fsync(b->fd) == 0 ? S_OK : S_IOERR;
	} else if (h.type == T_GET_ID) {
		virtq_chain_write(c, 0, b->id, in_len - 1 < sizeof(b->id) ? in_len - 1 : sizeof(b->id));
		status = S_OK;
	} else {
		status = S_UNSUPP;
	}
	virtq_chain_write(c, in_len - 1, &status, 1);
	return (uint32_t)in_len;
}

static void blk_notify(struct virtio_dev *d, unsigned q)
{
	struct virtio_blk *b = d->priv;
	struct virtq_chain chain;
	struct err err = { 0 };
	int r;

	while ((r = virtq_pop(&d->queues[q], &chain, &err)) == 1)
		if (virtq_push(&d->queues[q], chain.head, blk_request(b, &chain), &err) < 0)
			break;
	if (r < 0 || err.kind) {
		virtio_fail(d, &err);
		return;
	}
	virtio_notify_used(d, q);
}

static const struct virtio_dev_ops blk_ops_rw = {
	.device_id = VIRTIO_ID_BLOCK,
	.features = VIRTIO_BLK_F_FLUSH,
	.n_queues = 1,
	.config_read = blk_config_read,
	.config_len = 8,
	.notify = blk_notify,
};

static const struct virtio_dev_ops blk_ops_ro = {
	.device_id = VIRTIO_ID_BLOCK,
	.features = VIRTIO_BLK_F_RO,
	.n_queues = 1,
	.config_read = blk_config_read,
	.config_len = 8,
	.notify = blk_notify,
};

int virtio_blk_init(struct virtio_blk *b, const struct kvm_vm *mem, uint64_t base, uint32_t gsi,
		    void (*set_irq)(void *, uint32_t, int), void *irq_ctx, int fd, bool readonly,
		    const char *id, struct err *err)
{
	struct stat st;

	memset(b, 0, sizeof(*b));
	if (fstat(fd, &st) < 0)
		return err_sys(err, errno, "stat the disk image");
	b->fd = fd;
	b->readonly = readonly;
	b->sectors = (uint64_t)st.st_size / SECTOR;
	snprintf(b->id, sizeof(b->id), "%s", id ? id : "");
	virtio_dev_init(&b->dev, readonly ? &blk_ops_ro : &blk_ops_rw, b, mem, base, gsi, set_irq,
			irq_ctx);
	return 0;
}
