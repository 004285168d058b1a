/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Split-virtqueue engine (virtio 1.2 §2.7).
 *
 * Trust boundary: the descriptor table, the available ring and every indirect table
 * are guest memory, written by an untrusted driver that may change them while we read.
 * Each field is copied out once through gmem_read() and checked on the copy:
 * descriptor indices against the queue size, chain lengths against the queue size
 * (a loop shows up as a chain that is too long), indirect tables against 16-byte
 * granularity and VQ_INDIRECT_MAX, buffer addresses against wrap-around, byte totals
 * against 2^32, and the available index against running more than num ahead of us.
 * A bad chain fails only its own request (used length 0); a bad ring (available index
 * out of bounds, rings that are not guest RAM) latches the queue broken. The used ring
 * and avail_event are the only guest memory written.
 */
#include <endian.h>
#include <errno.h>
#include <string.h>
#include <linux/virtio_ring.h>

#include "common/gmem.h"
#include "common/log.h"
#include "common/util.h"
#include "devices/vdev.h"
#include "devices/virtqueue.h"

#define VQ_NUM_MAX 32768 /* virtio 1.2 §2.7: split rings hold at most 32768 entries */

struct vq {
	struct gmem *mem;
	char *name;
	uint16_t num;
	uint64_t desc;
	uint64_t avail;
	uint64_t used;
	bool event_idx;
	bool indirect;
	uint16_t last_avail;	/* next available ring entry to take */
	uint16_t used_idx;	/* our copy of used->idx: the next used ring entry */
	uint16_t signalled;	/* used_idx at the last vq_should_notify() */
	unsigned inflight;	/* popped, not yet pushed */
	int broken;		/* 0, or the -errno that broke the ring */
	struct vring_desc *ind; /* VQ_INDIRECT_MAX entries, only with INDIRECT_DESC */
};

/* Guest ring layout (virtio 1.2 §2.7.6, §2.7.8), all fields little-endian. */
static uint64_t avail_idx_gpa(const struct vq *vq)
{
	return vq->avail + offsetof(struct vring_avail, idx);
}

static uint64_t avail_ring_gpa(const struct vq *vq, uint16_t i)
{
	return vq->avail + offsetof(struct vring_avail, ring) + 2ULL * (i & (vq->num - 1));
}

static uint64_t used_event_gpa(const struct vq *vq)
{
	return vq->avail + offsetof(struct vring_avail, ring) + 2ULL * vq->num;
}

static uint64_t used_idx_gpa(const struct vq *vq)
{
	return vq->used + offsetof(struct vring_used, idx);
}

static uint64_t used_ring_gpa(const struct vq *vq, uint16_t i)
{
	return vq->used + offsetof(struct vring_used, ring) +
	       sizeof(struct vring_used_elem) * (i & (vq->num - 1));
}

static uint64_t avail_event_gpa(const struct vq *vq)
{
	return vq->used + offsetof(struct vring_used, ring) +
	       sizeof(struct vring_used_elem) * (uint64_t)vq->num;
}

static int read16(struct vq *vq, uint64_t gpa, uint16_t *ret)
{
	uint16_t v;
	int r = gmem_read(vq->mem, gpa, &v, sizeof(v));

	if (r < 0)
		return r;
	*ret = le16toh(v);
	return 0;
}

static int write16(struct vq *vq, uint64_t gpa, uint16_t val)
{
	uint16_t v = htole16(val);

	return gmem_write(vq->mem, gpa, &v, sizeof(v));
}

/* Latch the ring broken: every later pop/push fails with the same error. */
static int vq_break(struct vq *vq, int err, const char *why)
{
	if (!vq->broken)
		log_warn_rl("%s: virtqueue broken: %s (%s)", vq->name, why, g_strerror(-err));
	vq->broken = err;
	return err;
}

void vq_elem_init(struct vq_elem *e)
{
	memset(e, 0, sizeof(*e));
}

void vq_elem_fini(struct vq_elem *e)
{
	g_free(e->seg);
	memset(e, 0, sizeof(*e));
}

/* true when [gpa, gpa + size) does not wrap around the address space. */
static bool gpa_range_ok(uint64_t gpa, uint64_t size)
{
	return size == 0 || gpa <= UINT64_MAX - (size - 1);
}

int vq_new(struct gmem *mem, const struct vdev_queue *q, uint64_t features, const char *name,
	   struct vq **ret)
{
	struct vq *vq;
	uint64_t n = q->num;

	/* Alignment: virtio 1.2 §2.7 (descriptor table 16, available ring 2, used ring 4). */
	if (!is_pow2(n) || n > VQ_NUM_MAX || q->desc % VRING_DESC_ALIGN_SIZE ||
	    q->avail % VRING_AVAIL_ALIGN_SIZE || q->used % VRING_USED_ALIGN_SIZE)
		return -EINVAL;
	/* Sizes with the event-index fields, whether or not they are negotiated. */
	if (!gpa_range_ok(q->desc, 16 * n) || !gpa_range_ok(q->avail, 6 + 2 * n) ||
	    !gpa_range_ok(q->used, 6 + 8 * n))
		return -EINVAL;

	vq = g_new0(struct vq, 1);
	vq->mem = mem;
	vq->name = g_strdup(name);
	vq->num = (uint16_t)n; /* 32768 fits; index arithmetic masks with num - 1 */
	vq->desc = q->desc;
	vq->avail = q->avail;
	vq->used = q->used;
	vq->event_idx = features & (1ULL << VIRTIO_RING_F_EVENT_IDX);
	vq->indirect = features & (1ULL << VIRTIO_RING_F_INDIRECT_DESC);
	if (vq->indirect)
		vq->ind = g_new(struct vring_desc, VQ_INDIRECT_MAX);
	*ret = vq;
	return 0;
}

void vq_free(struct vq *vq)
{
	if (!vq)
		return;
	g_free(vq->ind);
	g_free(vq->name);
	g_free(vq);
}

/*
 * Append one buffer to the element. Empty buffers are dropped (nothing to copy).
 * Returns 0 or -EINVAL with *why set.
 */
static int add_seg(struct vq_elem *e, uint64_t gpa, uint32_t len, bool writable, const char **why)
{
	unsigned n = e->n_rd + e->n_wr;

	if (len == 0)
		return 0;
	if (!gpa_range_ok(gpa, len)) {
		*why = "buffer wraps around the address space";
		return -EINVAL;
	}
	if (!writable && e->n_wr) {
		*why = "device-readable buffer after a device-writable one";
		return -EINVAL;
	}
	/* virtio 1.2 §2.7.5.2: no chain longer than 2^32 bytes in total. */
	if (e->rd_len + e->wr_len + len > VQ_CHAIN_BYTES_MAX) {
		*why = "chain longer than 2^32 bytes";
		return -EINVAL;
	}
	/*
	 * n is bounded by the walk (at most num direct + VQ_INDIRECT_MAX indirect
	 * descriptors), so the array never grows past that.
	 */
	if (n == e->cap) {
		e->cap = e->cap ? 2 * e->cap : 16;
		e->seg = g_renew(struct vq_seg, e->seg, e->cap);
	}
	e->seg[n].gpa = gpa;
	e->seg[n].len = len;
	if (writable) {
		e->n_wr++;
		e->wr_len += len;
	} else {
		e->n_rd++;
		e->rd_len += len;
	}
	return 0;
}

/*
 * The indirect table referred to by descriptor d (virtio 1.2 §2.7.5.3). The table is
 * copied in whole first, so the walk sees one consistent snapshot of it; the walk
 * stays inside the table and takes at most as many steps as it has entries.
 */
static int walk_indirect(struct vq *vq, struct vq_elem *e, uint64_t addr, uint32_t len,
			 uint16_t flags, const char **why)
{
	unsigned n = len / sizeof(struct vring_desc);
	unsigned i = 0, steps;
	int r;

	if (!vq->indirect) {
		*why = "indirect descriptor without VIRTIO_F_INDIRECT_DESC";
		return -EINVAL;
	}
	if (flags & VRING_DESC_F_NEXT) {
		*why = "indirect descriptor with NEXT set";
		return -EINVAL;
	}
	if (len == 0 || len % sizeof(struct vring_desc)) {
		*why = "indirect table length not a non-zero multiple of 16";
		return -EINVAL;
	}
	if (n > VQ_INDIRECT_MAX) {
		*why = "indirect table too large";
		return -EINVAL;
	}
	r = gmem_read(vq->mem, addr, vq->ind, len);
	if (r < 0) {
		*why = "indirect table not in guest RAM";
		return r;
	}
	for (steps = 0;; steps++) {
		const struct vring_desc *d = &vq->ind[i];
		uint16_t f = le16toh(d->flags);

		if (steps == n) {
			*why = "loop in indirect table";
			return -EINVAL;
		}
		/* The WRITE flag of the descriptor pointing here is ignored (§2.7.5.3.2). */
		if (f & VRING_DESC_F_INDIRECT) {
			*why = "nested indirect table";
			return -EINVAL;
		}
		r = add_seg(e, le64toh(d->addr), le32toh(d->len), f & VRING_DESC_F_WRITE, why);
		if (r < 0)
			return r;
		if (!(f & VRING_DESC_F_NEXT))
			return 0;
		i = le16toh(d->next);
		if (i >= n) {
			*why = "NEXT leaves the indirect table";
			return -EINVAL;
		}
	}
}

/*
 * Walk the chain starting at head into e. Zero or more direct descriptors, possibly
 * ending in one indirect descriptor (virtio 1.2 §2.7.5.3.2). Every descriptor is
 * copied out once; a chain of more than num descriptors is a loop.
 */
static int walk_chain(struct vq *vq, struct vq_elem *e, uint16_t head, const char **why)
{
	unsigned idx = head, steps;
	struct vring_desc d;
	int r;

	for (steps = 0;; steps++) {
		uint16_t flags;

		if (idx >= vq->num) {
			*why = "descriptor index out of range";
			return -EINVAL;
		}
		if (steps == vq->num) {
			*why = "chain longer than the queue (loop)";
			return -EINVAL;
		}
		r = gmem_read(vq->mem, vq->desc + sizeof(d) * idx, &d, sizeof(d));
		if (r < 0) {
			*why = "descriptor table not in guest RAM";
			return r;
		}
		flags = le16toh(d.flags);
		if (flags & VRING_DESC_F_INDIRECT)
			return walk_indirect(vq, e, le64toh(d.addr), le32toh(d.len), flags, why);
		r = add_seg(e, le64toh(d.addr), le32toh(d.len), flags & VRING_DESC_F_WRITE, why);
		if (r < 0)
			return r;
		if (!(flags & VRING_DESC_F_NEXT))
			return 0;
		idx = le16toh(d.next);
	}
}

/* Write used element (id, len) and publish it in used->idx. */
static int push_used(struct vq *vq, uint32_t id, uint32_t len)
{
	struct vring_used_elem u = { .id = htole32(id), .len = htole32(len) };
	int r;

	r = gmem_write(vq->mem, used_ring_gpa(vq, vq->used_idx), &u, sizeof(u));
	if (r < 0)
		return vq_break(vq, r, "cannot write the used ring");
	/*
	 * Barrier: the used element must be visible before the used index that
	 * publishes it (virtio 1.2 §2.7.8.2: len set prior to updating idx). Pairs with
	 * the driver's read barrier between reading used->idx and the element.
	 */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	r = write16(vq, used_idx_gpa(vq), (uint16_t)(vq->used_idx + 1));
	if (r < 0)
		return vq_break(vq, r, "cannot write the used ring");
	vq->used_idx++;
	vq->inflight--;
	return 0;
}

/*
 * Read avail->idx into *ret_pending (entries we have not taken yet). -EPROTO when
 * the driver claims more than num new entries (virtio 1.2 §2.7.6: idx only grows, and
 * the ring holds num entries): it is lying or corrupted, nothing in it can be trusted.
 */
static int avail_pending(struct vq *vq, uint16_t *ret_pending)
{
	uint16_t idx, pending;
	int r;

	r = read16(vq, avail_idx_gpa(vq), &idx);
	if (r < 0)
		return vq_break(vq, r, "cannot read the available ring");
	pending = (uint16_t)(idx - vq->last_avail);
	if (pending > vq->num)
		return vq_break(vq, -EPROTO, "available index more than the queue size ahead");
	if (pending && vq->inflight >= vq->num)
		return vq_break(vq, -EPROTO, "more buffers in flight than the queue size");
	*ret_pending = pending;
	return 0;
}

/*
 * Nothing left: with EVENT_IDX ask for a kick when the driver fills the entry at
 * last_avail (virtio 1.2 §2.7.10), then look again, since the driver may have added
 * a buffer before it could see avail_event (and so decided not to kick).
 */
static int avail_empty(struct vq *vq, uint16_t *ret_pending)
{
	int r;

	if (!vq->event_idx)
		return 0;
	r = write16(vq, avail_event_gpa(vq), vq->last_avail);
	if (r < 0)
		return vq_break(vq, r, "cannot write the used ring");
	/*
	 * Barrier: avail_event must be visible before we read avail->idx again
	 * (store -> load). Pairs with the driver's full barrier between writing
	 * avail->idx and reading avail_event.
	 */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return avail_pending(vq, ret_pending);
}

/* Malformed chains completed in one vq_pop() call before it gives up for now. */
#define VQ_POP_BAD_MAX(vq) ((unsigned)(vq)->num)

int vq_pop(struct vq *vq, struct vq_elem *e)
{
	unsigned bad = 0;
	uint16_t pending, head;
	const char *why;
	int r;

	if (vq->broken)
		return vq->broken;
	for (;;) {
		r = avail_pending(vq, &pending);
		if (r == 0 && pending == 0)
			r = avail_empty(vq, &pending);
		if (r < 0 || pending == 0)
			return r;
		if (bad == VQ_POP_BAD_MAX(vq))
			return -EAGAIN;
		/*
		 * Barrier: avail->idx was read before the ring entry it covers (the
		 * driver writes the entry, then a write barrier, then idx: §2.7.13.3).
		 */
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		r = read16(vq, avail_ring_gpa(vq, vq->last_avail), &head);
		if (r < 0)
			return vq_break(vq, r, "cannot read the available ring");
		vq->last_avail++;
		vq->inflight++;
		e->head = head;
		e->n_rd = e->n_wr = 0;
		e->rd_len = e->wr_len = 0;
		why = "?";
		r = walk_chain(vq, e, head, &why);
		if (r == 0)
			return 1;
		/* This request fails alone: hand it back empty and go on. */
		log_warn_rl("%s: bad descriptor chain at head %u: %s: completed with length 0",
			    vq->name, head, why);
		bad++;
		r = push_used(vq, head, 0);
		if (r < 0)
			return r;
	}
}

int vq_push(struct vq *vq, const struct vq_elem *e, uint32_t len)
{
	if (vq->broken)
		return vq->broken;
	if (vq->inflight == 0)
		return -EINVAL; /* a device bug, not the guest's */
	if (len > e->wr_len)
		len = (uint32_t)e->wr_len;
	return push_used(vq, e->head, len);
}

bool vq_should_notify(struct vq *vq)
{
	uint16_t old = vq->signalled, now = vq->used_idx;
	uint16_t v;

	vq->signalled = now;
	if (old == now)
		return false;
	/*
	 * Barrier: used->idx must be visible before we read the driver's suppression
	 * fields (store -> load), or we could miss a used_event the driver wrote after
	 * looking at an older used->idx. Pairs with the driver's full barrier.
	 */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (vq->event_idx) {
		/* virtio 1.2 §2.7.7.2: notify when an entry at index used_event was written. */
		if (read16(vq, used_event_gpa(vq), &v) < 0)
			return true;
		return vring_need_event(v, now, old);
	}
	if (read16(vq, vq->avail + offsetof(struct vring_avail, flags), &v) < 0)
		return true;
	return !(v & VRING_AVAIL_F_NO_INTERRUPT);
}

/* Copy between buf and the readable (to_guest false) or writable buffers of e. */
static ssize_t copy_segs(struct vq *vq, const struct vq_elem *e, bool to_guest, uint64_t off,
			 uint8_t *buf, size_t len)
{
	unsigned first = to_guest ? e->n_rd : 0;
	unsigned n = to_guest ? e->n_wr : e->n_rd;
	size_t done = 0;
	unsigned i;

	for (i = 0; i < n && done < len; i++) {
		const struct vq_seg *s = &e->seg[first + i];
		size_t chunk;
		int r;

		if (off >= s->len) {
			off -= s->len;
			continue;
		}
		chunk = MIN(s->len - off, len - done);
		if (to_guest)
			r = gmem_write(vq->mem, s->gpa + off, buf + done, chunk);
		else
			r = gmem_read(vq->mem, s->gpa + off, buf + done, chunk);
		if (r < 0)
			return r;
		done += chunk;
		off = 0;
	}
	return (ssize_t)done; /* <= the chain's total, < 2^32 */
}

ssize_t vq_elem_to_guest(struct vq *vq, const struct vq_elem *e, uint64_t off, const void *buf,
			 size_t len)
{
	return copy_segs(vq, e, true, off, (uint8_t *)buf, len);
}

ssize_t vq_elem_from_guest(struct vq *vq, const struct vq_elem *e, uint64_t off, void *buf,
			   size_t len)
{
	return copy_segs(vq, e, false, off, buf, len);
}

unsigned vq_inflight(const struct vq *vq)
{
	return vq->inflight;
}

bool vq_is_broken(const struct vq *vq)
{
	return vq->broken != 0;
}

uint16_t vq_last_avail(const struct vq *vq)
{
	return vq->last_avail;
}

int vq_set_last_avail(struct vq *vq, uint16_t idx)
{
	if (vq->inflight)
		return -EBUSY;
	vq->last_avail = idx;
	vq->used_idx = idx;
	vq->signalled = idx;
	return 0;
}
