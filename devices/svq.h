/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Shadow virtqueues (DESIGN.md §3, "shadow" memory mode): xvdm is the device towards
 * the guest (devices/virtqueue.h over guest memory) and a vhost-user *driver* towards
 * a stock back-end, on memory xvdm owns: one memfd per device (struct svq_area) that
 * the back-end maps as its only memory region. Each guest queue gets a shadow split
 * ring of the same size in the area, and bounce buffers from the area: a guest
 * request's readable bytes are copied in before the back-end sees the request, and
 * the bytes the back-end wrote are copied back to the guest's writable buffers before
 * the guest's used ring is completed.
 *
 * Addresses the back-end sees: the area is one vhost-user memory region at
 * SVQ_AREA_GPA ("guest physical" for the back-end) whose userspace_addr is xvdm's own
 * mapping; descriptor addresses are SVQ_AREA_GPA + offset, ring addresses
 * (SET_VRING_ADDR) are xvdm's virtual addresses.
 *
 * The shadow ring is a split ring with direct descriptors only, completed in any
 * order: towards the back-end, the caller must not negotiate VIRTIO_F_RING_PACKED,
 * VIRTIO_F_IN_ORDER or VIRTIO_F_NOTIFICATION_DATA (INDIRECT_DESC is harmless, unused;
 * EVENT_IDX see svq_set_event_idx).
 *
 * Trust boundary: the guest ring is walked by devices/virtqueue.c (bounded); the
 * shadow used ring is written by the back-end, which is untrusted too: used ids
 * must name a request in flight, used lengths are clamped to what the request could
 * hold, and an index that moves backwards or too far latches the queue broken.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vq;

/*
 * Where the back-end thinks the area is: above any guest-physical address (x86 and Arm
 * physical addresses have at most 52 bits), so that a guest address smuggled into a
 * request payload can never name a byte of the area.
 */
#define SVQ_AREA_GPA (1ULL << 52)

/* Bounds (svq.c): an area is at most SVQ_AREA_SIZE_MAX bytes, a queue's bounce budget
 * at most SVQ_BOUNCE_MAX bytes. */
#define SVQ_AREA_SIZE_MAX (4ULL << 30)
#define SVQ_BOUNCE_MAX	  (1ULL << 30)

/* The shadow memory of one device. */
struct svq_area;

/*
 * A memfd of `size` bytes (rounded up to the page size), sealed against shrinking,
 * growing and further seals (the back-end holds the fd: a truncation would make our
 * accesses fault), mapped shared. -EINVAL when size is 0 or above SVQ_AREA_SIZE_MAX,
 * else -errno from the kernel.
 */
int svq_area_new(size_t size, const char *name, struct svq_area **ret);
/* NULL-safe. Free every svq of the area first (an area with queues left is leaked,
 * with a warning, rather than unmapped under them). */
void svq_area_free(struct svq_area *a);
int svq_area_fd(struct svq_area *a); /* the memfd to send (SET_MEM_TABLE); still ours */
size_t svq_area_size(struct svq_area *a);
void *svq_area_va(struct svq_area *a); /* userspace_addr of the region */

struct svq;

/* Ring addresses for SET_VRING_ADDR, in xvdm's address space. */
struct svq_ring_addrs {
	uint64_t desc;
	uint64_t avail;
	uint64_t used;
};

/* Area bytes one svq_new(num, bounce_bytes) takes (rings and bounce pool, 4 KiB-rounded);
 * 0 for parameters svq_new refuses. */
size_t svq_area_need(uint16_t num, size_t bounce_bytes);

/*
 * A shadow queue for the guest queue `guest` (which the caller keeps and owns),
 * with `num` entries and up to `bounce_bytes` of bounce buffers from the area.
 * -EINVAL when num is not a power of two <= 32768 or bounce_bytes is 0 or above
 * SVQ_BOUNCE_MAX; -ENOMEM when the area has no free run of svq_area_need() bytes.
 * The back-end's ring starts at index 0 (SET_VRING_BASE 0).
 */
int svq_new(struct svq_area *a, struct vq *guest, uint16_t num, size_t bounce_bytes,
	    const char *name, struct svq **ret);
/*
 * NULL-safe. Requests in flight are dropped without a guest completion (the device is
 * being reset: the caller resets or frees the guest queue too).
 */
void svq_free(struct svq *s);
void svq_ring_addrs(struct svq *s, struct svq_ring_addrs *ret);

/*
 * Whether VIRTIO_RING_F_EVENT_IDX was negotiated with the back-end (default false: the
 * caller may then simply not offer it). With it, kicks follow avail_event and we ask
 * for calls through used_event; without it, kicks follow VRING_USED_F_NO_NOTIFY and
 * the back-end calls for every used buffer. Set before the first svq_forward (and
 * again after svq_restart when the new back-end negotiated differently).
 */
void svq_set_event_idx(struct svq *s, bool on);

/*
 * Move the guest's available requests to the shadow ring while there is room (ring
 * entries and bounce space). Returns the number moved, or -errno:
 *  -EPROTO, -EFAULT: the guest ring is broken, or (-EPROTO) the back-end broke the
 *                    shadow ring earlier: the device should latch broken;
 *  -EAGAIN:          stopped after a per-call budget of guest requests that failed
 *                    (malformed, too large, not guest RAM); nothing is latched: call
 *                    again later (e.g. from an idle source), as for vq_pop().
 * The first request that does not fit now (ring entries, bounce space) is held by the
 * svq and moved first by a later call: call svq_forward after each svq_complete that
 * completed something. A request that could never fit (more bytes than the bounce
 * budget) and one without any buffer fail alone, completed with used length 0.
 * *ret_kick tells the caller to kick the back-end; *ret_notify to notify the guest
 * (requests that failed were completed in its used ring). Both are set on every return.
 */
int svq_forward(struct svq *s, bool *ret_kick, bool *ret_notify);

/*
 * Complete what the back-end used: copy the written bytes to the guest, push the
 * guest's used ring. Returns the number completed, or -EPROTO when the back-end
 * broke the shadow ring (latched: every later call fails the same way until
 * svq_restart), or the guest ring's error from vq_push (-EFAULT, -EPROTO). Either
 * way the device should latch broken. *ret_notify tells the caller to notify the guest;
 * it is set on every return.
 */
int svq_complete(struct svq *s, bool *ret_notify);

/* Requests the back-end has and has not completed yet. */
unsigned svq_inflight(struct svq *s);

/*
 * After the back-end reconnected: rebuild the shadow ring from index 0 with every
 * request still in flight, in order, so the new back-end sees each exactly once
 * (the guest sees each completion exactly once). Call before the new SET_VRING_*;
 * the new back-end's ring base is 0 (SET_VRING_BASE 0). The descriptors are rewritten
 * from xvdm's own copy and the readable bounce data is reused as it is. Clears a
 * latch set by the old back-end (not a broken guest ring). Returns the number of
 * requests re-posted: kick the back-end once it is set up when that is > 0.
 */
int svq_restart(struct svq *s);

/* --- blocks: area memory for a device's own use (e.g. virtio-gpu shadow backing) --- */

struct svq_block;

/*
 * A run of len bytes (rounded up to 4 KiB) of the area, zero-filled, that the back-end
 * addresses at svq_block_gpa(). -EINVAL for len 0, -ENOMEM when the area has no free run
 * that large. Free every block before the area.
 */
int svq_block_new(struct svq_area *a, size_t len, struct svq_block **ret);
/* NULL-safe. The pages are handed back to the kernel (the memfd is sparse). */
void svq_block_free(struct svq_block *b);
uint8_t *svq_block_va(struct svq_block *b);
uint64_t svq_block_gpa(struct svq_block *b);
size_t svq_block_size(struct svq_block *b); /* the rounded size */

/* --- request filters: a device whose request payloads the back-end must see rewritten --- */

#define SVQ_FILTER_REPLY_MAX 64

struct svq_filter;
/* The filter's state for one request in flight: defined by the filter, only kept here. */
struct svq_cookie;

/* One request as its filter sees it, valid for the duration of the call. */
struct svq_freq {
	struct svq *s;
	uint16_t head;
	uint64_t rd_len;	   /* the request's readable bytes (in the bounce buffers) */
	uint64_t wr_len;	   /* its writable bytes */
	struct svq_cookie *cookie; /* ->request may set it; ->response and ->drop get it back */
	uint32_t reply_len;	   /* SVQ_FILTER_REPLY: bytes of reply to hand the guest */
	uint8_t reply[SVQ_FILTER_REPLY_MAX];
};

enum svq_verdict {
	SVQ_FILTER_FORWARD, /* post it to the back-end (rewritten or not) */
	SVQ_FILTER_REPLY,   /* complete it now with reply[]: the back-end never sees it */
};

struct svq_filter_ops {
	/*
	 * After the request's readable bytes were copied to the bounce buffers, before the
	 * back-end can see them: read and rewrite them with svq_freq_read/svq_freq_write.
	 */
	enum svq_verdict (*request)(struct svq_filter *f, struct svq_freq *r);
	/*
	 * The back-end used the request with len bytes written (already clamped to wr_len),
	 * before they are copied to the guest: svq_freq_read_written reads them (bytes the
	 * back-end wrote: untrusted). Called for every forwarded request.
	 */
	void (*response)(struct svq_filter *f, struct svq_freq *r, uint32_t len);
	/* A forwarded request with a cookie is dropped without a response (svq_free). */
	void (*drop)(struct svq_filter *f, struct svq_cookie *c);
};

struct svq_filter {
	const struct svq_filter_ops *ops;
};

/* Set (or clear, NULL) the queue's filter, before the first svq_forward. */
void svq_set_filter(struct svq *s, struct svq_filter *f);
/* Copy readable bytes [off, off + len) out of / into the bounce buffers: 0 or -EINVAL. */
int svq_freq_read(const struct svq_freq *r, uint64_t off, void *buf, size_t len);
int svq_freq_write(const struct svq_freq *r, uint64_t off, const void *buf, size_t len);
/* In ->response: copy written bytes [off, off + len) out: 0 or -EINVAL. */
int svq_freq_read_written(const struct svq_freq *r, uint64_t off, void *buf, size_t len);

/*
 * For tests and fuzzing: 0 when the queue's private accounting is consistent
 * (descriptors free or in exactly one chain, bounce chunks owned by exactly one
 * descriptor, counters and submission order agree), else -EUCLEAN. O(num + chunks).
 */
int svq_check(struct svq *s);
