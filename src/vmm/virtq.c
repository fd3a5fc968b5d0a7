#include "vmm/virtq.h"

#include <string.h>

#define DESC_F_NEXT 1
#define DESC_F_WRITE 2
#define DESC_F_INDIRECT 4
#define AVAIL_F_NO_INTERRUPT 1

struct virtq_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

void virtq_reset(struct virtq *q)
{
	const struct kvm_vm *mem = q->mem;

	memset(q, 0, sizeof(*q));
	q->mem = mem;
}

/* The ring areas, checked whole against guest RAM every time: the driver
 * may move them only across a reset, but a check is cheaper than a doubt.
 * A misaligned ring is refused too: virtio requires the alignment, and the
 * 16-bit accesses below would be undefined behaviour without it (UBSan does
 * not check volatile accesses, so nothing else would notice). */
static volatile uint16_t *avail_ring(const struct virtq *q)
{
	if (q->avail % 2)
		return NULL;
	return kvm_vm_gpa(q->mem, q->avail, 4 + 2ULL * q->size + 2);
}

static volatile uint8_t *used_ring(const struct virtq *q)
{
	if (q->used % 4)
		return NULL;
	return kvm_vm_gpa(q->mem, q->used, 4 + 8ULL * q->size + 2);
}

static int read_desc(const struct virtq *q, uint16_t i, struct virtq_desc *d, struct err *err)
{
	const struct virtq_desc *t = kvm_vm_gpa(q->mem, q->desc, 16ULL * q->size);

	if (!t)
		return err_set(err, "virtqueue: the descriptor table is outside guest memory");
	if (i >= q->size)
		return err_set(err, "virtqueue: descriptor index %u >= queue size %u", i, q->size);
	memcpy(d, (const void *)&t[i], sizeof(*d));
	return 0;
}

static int take_buf(const struct virtq *q, const struct virtq_desc *d, struct virtq_buf *b,
		    struct err *err)
{
	if (d->flags & DESC_F_INDIRECT)
		return err_set(err, "virtqueue: indirect descriptor without the feature");
	b->host = kvm_vm_gpa(q->mem, d->addr, d->len);
	if (!b->host)
		return err_set(err, "virtqueue: buffer %#llx+%u is outside guest memory",
			       (unsigned long long)d->addr, d->len);
	b->len = d->len;
	b->device_writes = d->flags & DESC_F_WRITE;
	return 0;
}

int virtq_pop(struct virtq *q, struct virtq_chain *c, struct err *err)
{
	volatile uint16_t *avail;
	struct virtq_desc d;
	uint16_t idx, i;

	if (!q->ready || !q->size)
		return 0;
	avail = avail_ring(q);
	if (!avail)
		return err_set(err,
			       "virtqueue: the available ring is misaligned or outside guest RAM");
	idx = avail[1];
	if (idx == q->next_avail)
		return 0;
	if ((uint16_t)(idx - q->next_avail) > q->size)
		return err_set(err, "virtqueue: the driver published %u buffers in a queue of %u",
			       (uint16_t)(idx - q->next_avail), q->size);
	/* Read the ring entry only after seeing the index that covers it. */
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	i = avail[2 + q->next_avail % q->size];
	c->head = i;
	c->n = 0;
	for (;;) {
		if (c->n == VIRTQ_MAX_CHAIN || c->n == q->size)
			return err_set(err, "virtqueue: a descriptor chain is too long or loops");
		if (read_desc(q, i, &d, err) < 0 || take_buf(q, &d, &c->bufs[c->n], err) < 0)
			return -1;
		c->n++;
		if (!(d.flags & DESC_F_NEXT))
			break;
		i = d.next;
	}
	q->next_avail++;
	return 1;
}

int virtq_push(struct virtq *q, uint16_t head, uint32_t written, struct err *err)
{
	volatile uint8_t *used = used_ring(q);
	uint32_t elem[2] = { head, written };

	if (!used)
		return err_set(err, "virtqueue: the used ring is misaligned or outside guest RAM");
	memcpy((void *)(used + 4 + 8ULL * (q->next_used % q->size)), elem, sizeof(elem));
	q->next_used++;
	/* The element must be visible before the index that publishes it. */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	*(volatile uint16_t *)(used + 2) = q->next_used;
	return 0;
}

bool virtq_wants_interrupt(const struct virtq *q)
{
	volatile uint16_t *avail = avail_ring(q);

	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return !avail || !(avail[0] & AVAIL_F_NO_INTERRUPT);
}

void virtq_unpop(struct virtq *q, unsigned n)
{
	q->next_avail -= (uint16_t)n;
}

unsigned virtq_chain_iov(const struct virtq_chain *c, bool device_writes, struct iovec *iov,
			 size_t *total)
{
	unsigned i, n = 0;

	*total = 0;
	for (i = 0; i < c->n; i++) {
		if (c->bufs[i].device_writes != device_writes || !c->bufs[i].len)
			continue;
		iov[n++] = (struct iovec){ .iov_base = c->bufs[i].host, .iov_len = c->bufs[i].len };
		*total += c->bufs[i].len;
	}
	return n;
}

size_t virtq_chain_len(const struct virtq_chain *c, bool device_writes)
{
	size_t n = 0;
	unsigned i;

	for (i = 0; i < c->n; i++)
		if (c->bufs[i].device_writes == device_writes)
			n += c->bufs[i].len;
	return n;
}

/* Walk the buffers of one direction, copying [off, off+len) of that stream. */
static size_t chain_copy(const struct virtq_chain *c, bool device_writes, size_t off,
			 uint8_t *mem, size_t len, bool into_chain)
{
	size_t done = 0;
	unsigned i;

	for (i = 0; i < c->n && done < len; i++) {
		const struct virtq_buf *b = &c->bufs[i];
		size_t n;

		if (b->device_writes != device_writes)
			continue;
		if (off >= b->len) {
			off -= b->len;
			continue;
		}
		n = b->len - off < len - done ? b->len - off : len - done;
		if (into_chain)
			memcpy(b->host + off, mem + done, n);
		else
			memcpy(mem + done, b->host + off, n);
		done += n;
		off = 0;
	}
	return done;
}

size_t virtq_chain_read(const struct virtq_chain *c, size_t off, void *dst, size_t len)
{
	return chain_copy(c, false, off, dst, len, false);
}

size_t virtq_chain_write(const struct virtq_chain *c, size_t off, const void *src, size_t len)
{
	return chain_copy(c, true, off, (uint8_t *)src, len, true);
}
