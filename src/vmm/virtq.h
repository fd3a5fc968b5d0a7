/* The split virtqueue of virtio 1.x, walked in one place for every device.
 * Everything read from the rings is the guest's and hostile: indices are
 * checked against the queue size, chains have a length limit and cannot
 * loop, and every buffer is translated through kvm_vm_gpa (NULL when any byte
 * is outside guest RAM). */
#ifndef ISOBOX_VIRTQ_H
#define ISOBOX_VIRTQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "vmm/kvm.h"

#define VIRTQ_MAX_SIZE 256
#define VIRTQ_MAX_CHAIN 64

struct virtq {
	uint16_t size;          /* negotiated (QueueNum), a power of two <= VIRTQ_MAX_SIZE */
	bool ready;
	uint64_t desc, avail, used;   /* guest physical addresses of the three areas */
	uint16_t next_avail;    /* the next avail ring entry the device takes */
	uint16_t next_used;     /* the used index the device publishes next */
	const struct kvm_vm *mem;
};

struct virtq_buf {
	uint8_t *host;          /* host address of the whole buffer */
	uint32_t len;
	bool device_writes;     /* VIRTQ_DESC_F_WRITE: the device fills it */
};

struct virtq_chain {
	uint16_t head;
	unsigned n;
	struct virtq_buf bufs[VIRTQ_MAX_CHAIN];
};

void virtq_reset(struct virtq *q);
/* Take the next available chain: 1 when one was taken, 0 when the queue is
 * empty or not ready, -1 (err filled) when the guest broke the rules; the
 * device then stops using the queue. */
int virtq_pop(struct virtq *q, struct virtq_chain *c, struct err *err);
/* Return a chain with the number of bytes the device wrote into it. */
int virtq_push(struct virtq *q, uint16_t head, uint32_t written, struct err *err);
/* Whether the driver wants an interrupt now (it may suppress them). */
bool virtq_wants_interrupt(const struct virtq *q);
/* Give back the n chains the last virtq_pops took, unused (the device had
 * nothing to put in them yet): the next pops take them again. */
void virtq_unpop(struct virtq *q, unsigned n);
/* The chain's buffers of one direction as an iovec (at most VIRTQ_MAX_CHAIN
 * entries), so data moves with readv/writev straight to or from guest RAM.
 * Returns the number of entries; *total gets their byte count. */
unsigned virtq_chain_iov(const struct virtq_chain *c, bool device_writes, struct iovec *iov,
			 size_t *total);

/* A chain as two byte streams: what the driver wrote (device-readable
 * buffers, in order) and room for the device to write. Offsets count within
 * one stream; the functions return how many bytes they copied. */
size_t virtq_chain_len(const struct virtq_chain *c, bool device_writes);
size_t virtq_chain_read(const struct virtq_chain *c, size_t off, void *dst, size_t len);
size_t virtq_chain_write(const struct virtq_chain *c, size_t off, const void *src, size_t len);
#endif
