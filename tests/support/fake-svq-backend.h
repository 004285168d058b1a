/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A fake vhost-user back-end for shadow-virtqueue tests and fuzz targets: it walks one
 * shadow split ring in an svq area directly, the way a stock back-end does
 * (libvhost-user: translate each descriptor address through the one memory region at
 * SVQ_AREA_GPA), and checks everything xvdm published, so that tests notice a bad chain:
 * descriptor indices and chain lengths, no indirect tables, readable before writable,
 * non-empty buffers inside the region, no buffer overlapping a ring or a buffer of
 * another request it holds. It can also lie (fake_be_put_used with any id and length).
 *
 *	fake_be_init(&be, svq_area_va(a), svq_area_size(a), &addrs, num);
 *	while (fake_be_take(&be, &head, &why) == 1) {
 *		struct fake_be_req *r = fake_be_req(&be, head);
 *		... fake_be_read(r, ...) / fake_be_write(r, ...) ...
 *		fake_be_use(&be, head, written);
 *	}
 *	fake_be_fini(&be);
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/svq.h"

#define FAKE_BE_BUFS_MAX 256 /* buffers per chain it accepts */

struct fake_be_buf {
	uint8_t *p;
	uint32_t len;
	bool wr;
};

/* A chain the back-end took and has not used yet. */
struct fake_be_req {
	bool taken;
	unsigned n; /* buffers */
	uint64_t rd_len;
	uint64_t wr_len;
	struct fake_be_buf buf[FAKE_BE_BUFS_MAX];
};

struct fake_be {
	uint8_t *region; /* the memory region: SVQ_AREA_GPA .. + size */
	size_t size;
	uint8_t *desc;
	uint8_t *avail;
	uint8_t *used;
	uint16_t num;
	bool event_idx; /* write avail_event as it takes chains */
	uint16_t last_avail;
	uint16_t used_idx;
	struct fake_be_req *req; /* num, by head */
	uint8_t *owner;		 /* size: 0 free, 1 ring, 2 a taken buffer */
};

void fake_be_init(struct fake_be *b, void *region, size_t size, const struct svq_ring_addrs *ra,
		  uint16_t num);
void fake_be_fini(struct fake_be *b);

/*
 * Take the next available chain: 1 and *ret_head, 0 when there is none, -EPROTO when
 * the ring or the chain is not what a correct driver publishes (*why says what).
 * A head still taken is taken again (a lie of ours completed it).
 */
int fake_be_take(struct fake_be *b, uint16_t *ret_head, const char **why);
/* The taken chain at head, or NULL. */
struct fake_be_req *fake_be_req(struct fake_be *b, uint16_t head);

/* Copy out of the readable / into the writable buffers from off on: bytes copied. */
uint64_t fake_be_read(const struct fake_be_req *r, uint64_t off, void *buf, uint64_t len);
uint64_t fake_be_write(const struct fake_be_req *r, uint64_t off, const void *buf, uint64_t len);

/* Return the taken chain at head with len bytes written (used entry, then the index). */
void fake_be_use(struct fake_be *b, uint16_t head, uint32_t len);
/* Write any used entry and advance the used index by one (a lie unless id was taken). */
void fake_be_put_used(struct fake_be *b, uint32_t id, uint32_t len);
/* Set the used index to anything. */
void fake_be_set_used_idx(struct fake_be *b, uint16_t idx);
/* Used ring flags (VRING_USED_F_NO_NOTIFY), and avail_event. */
void fake_be_set_used_flags(struct fake_be *b, uint16_t flags);
void fake_be_set_avail_event(struct fake_be *b, uint16_t idx);
/* used_event as the driver wrote it. */
uint16_t fake_be_used_event(struct fake_be *b);

/* Bytes of the region no buffer may overlap (e.g. other queues' parts of the area). */
void fake_be_reserve(struct fake_be *b, const void *p, size_t len);

/* A new back-end after a reconnection: ring indices 0, nothing taken. */
void fake_be_reset(struct fake_be *b);
