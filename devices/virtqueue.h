/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A split-virtqueue engine for devices that walk guest rings themselves (built-in
 * devices, the shadow-virtqueue mode): virtio 1.2 §2.7. The rings live in the memory of
 * an untrusted guest and are only ever touched through common/gmem.h, one copy at a
 * time, so every value is read once and checked before use.
 *
 * Usage by a device on a kick:
 *
 *	while ((r = vq_pop(vq, &elem)) > 0) {
 *		... vq_elem_from_guest() / vq_elem_to_guest() ...
 *		vq_push(vq, &elem, written);
 *	}
 *	if (r < 0)
 *		vdev_set_broken(d, "...");	// the ring itself is unusable
 *	if (vq_should_notify(vq))
 *		vdev_notify_used(d, q);
 *
 * A malformed descriptor chain never reaches the device: vq_pop() completes it itself
 * with used length 0 (rate-limited warning) and goes on with the next one.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct gmem;
struct vdev_queue;

/* Indirect tables hold at most this many descriptors (16 bytes each). */
#define VQ_INDIRECT_MAX 1024
/* A chain (readable + writable) carries at most this many bytes (virtio 1.2 §2.7.5.2). */
#define VQ_CHAIN_BYTES_MAX UINT32_MAX

/* One guest buffer of a chain. */
struct vq_seg {
	uint64_t gpa;
	uint32_t len; /* never 0: empty descriptors are dropped */
};

/*
 * One descriptor chain. seg[0 .. n_rd) are device-readable, seg[n_rd .. n_rd + n_wr)
 * device-writable (a chain with a readable buffer after a writable one is malformed);
 * seg may be NULL while both counts are 0.
 * Owned by the caller and reused across vq_pop() calls: vq_elem_init() / vq_elem_fini().
 */
struct vq_elem {
	uint16_t head; /* descriptor index to hand back in the used ring */
	unsigned n_rd;
	unsigned n_wr;
	uint64_t rd_len; /* sum of the readable lengths */
	uint64_t wr_len; /* sum of the writable lengths */
	struct vq_seg *seg;
	unsigned cap; /* allocated entries of seg */
};

void vq_elem_init(struct vq_elem *e);
void vq_elem_fini(struct vq_elem *e);

struct vq;

/*
 * A queue as the driver configured it (num, desc/avail/used addresses) with the
 * negotiated features (VIRTIO_RING_F_EVENT_IDX and VIRTIO_RING_F_INDIRECT_DESC matter
 * here). -EINVAL when num is not a power of two <= 32768 or a ring is misaligned or
 * wraps around the address space. `name` ("dom1/rng:q0") is copied, for log lines.
 */
int vq_new(struct gmem *mem, const struct vdev_queue *q, uint64_t features, const char *name,
	   struct vq **ret);
void vq_free(struct vq *vq); /* NULL-safe */

/*
 * The next available chain: 1 and *e filled, 0 when the ring is empty (with
 * EVENT_IDX, avail_event is then written so that the driver's next buffer kicks us),
 * -EAGAIN when it completed num malformed chains in a row without finding a good one
 * (a guest refilling bad chains must not keep us here: stop and call again later), or
 * -EPROTO (avail idx more than num ahead, more than num chains in flight) / -EFAULT
 * (avail or used ring not guest RAM): the ring is broken, the device should latch
 * DEVICE_NEEDS_RESET; every later call fails the same way.
 */
int vq_pop(struct vq *vq, struct vq_elem *e);

/*
 * Return a popped chain to the driver with `len` bytes written (clamped to e->wr_len).
 * 0, -EINVAL when nothing is in flight, -EFAULT/-EPROTO when the used ring is broken.
 */
int vq_push(struct vq *vq, const struct vq_elem *e, uint32_t len);

/*
 * Whether the driver wants a used-buffer notification for what was pushed since the
 * last call (virtio 1.2 §2.7.7: avail->flags NO_INTERRUPT, or used_event with
 * EVENT_IDX). true when in doubt: drivers must accept spurious notifications.
 */
bool vq_should_notify(struct vq *vq);

/*
 * Copy into the writable / out of the readable buffers of e, starting `off` bytes into
 * them. The number of bytes copied (less than len when the buffers end first), or
 * -EFAULT when a buffer is not guest RAM (some bytes may have been copied).
 */
ssize_t vq_elem_to_guest(struct vq *vq, const struct vq_elem *e, uint64_t off, const void *buf,
			 size_t len);
ssize_t vq_elem_from_guest(struct vq *vq, const struct vq_elem *e, uint64_t off, void *buf,
			   size_t len);

/* Chains popped and not yet pushed. */
unsigned vq_inflight(const struct vq *vq);
bool vq_is_broken(const struct vq *vq);

/*
 * The ring position, for handing a queue over (vhost-user GET/SET_VRING_BASE).
 * vq_set_last_avail() takes effect only with nothing in flight (else -EBUSY) and sets
 * the used index to the same value: everything before it counts as completed.
 */
uint16_t vq_last_avail(const struct vq *vq);
int vq_set_last_avail(struct vq *vq, uint16_t idx);
