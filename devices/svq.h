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

#define SVQ_AREA_GPA 0x100000000ULL /* where the back-end thinks the area is */

/* The shadow memory of one device. */
struct svq_area;

int svq_area_new(size_t size, const char *name, struct svq_area **ret);
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

/*
 * A shadow queue for the guest queue `guest` (which the caller keeps and owns),
 * with `num` entries and up to `bounce_bytes` of bounce buffers from the area.
 * -ENOMEM when the area is too small.
 */
int svq_new(struct svq_area *a, struct vq *guest, uint16_t num, size_t bounce_bytes,
	    const char *name, struct svq **ret);
void svq_free(struct svq *s);
void svq_ring_addrs(struct svq *s, struct svq_ring_addrs *ret);

/*
 * Move the guest's available requests to the shadow ring while there is room (ring
 * entries and bounce space). Returns the number moved, or -errno when the guest ring
 * is broken (-EPROTO, -EFAULT: the device should latch broken). *ret_kick tells the
 * caller to kick the back-end. Requests that cannot be moved now stay in the guest
 * ring and are moved by a later call (svq_complete frees room).
 */
int svq_forward(struct svq *s, bool *ret_kick);

/*
 * Complete what the back-end used: copy the written bytes to the guest, push the
 * guest's used ring. Returns the number completed, or -EPROTO when the back-end
 * broke the shadow ring. *ret_notify tells the caller to notify the guest.
 */
int svq_complete(struct svq *s, bool *ret_notify);

/* Requests the back-end has and has not completed yet. */
unsigned svq_inflight(struct svq *s);

/*
 * After the back-end reconnected: rebuild the shadow ring from index 0 with every
 * request still in flight, in order, so the new back-end sees each exactly once
 * (the guest sees each completion exactly once). Call before the new SET_VRING_*.
 */
int svq_restart(struct svq *s);
