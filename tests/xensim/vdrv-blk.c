/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A virtio-blk guest driver (drivers/block/virtio_blk.c as of Linux 6.1, reduced to what
 * the tests need). Trust boundary: config space, used lengths and status bytes come
 * from the device under test; each is checked and a bad one reported, never trusted.
 */
#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_ring.h>

#include "tests/xensim/vdrv-blk.h"

#define SLOT_SIZE 32u

#define F(bit) (1ULL << (bit))
#define WANTED                                                                           \
	(F(VIRTIO_BLK_F_SIZE_MAX) | F(VIRTIO_BLK_F_SEG_MAX) | F(VIRTIO_BLK_F_BLK_SIZE) | \
	 F(VIRTIO_BLK_F_FLUSH) | F(VIRTIO_BLK_F_RO) | F(VIRTIO_BLK_F_TOPOLOGY) |         \
	 F(VIRTIO_RING_F_EVENT_IDX))

/* virtio_cread() of a 32-bit config field; 64-bit fields are two such reads (vm_get). */
static int cfg32(struct vblk *b, uint32_t off, uint32_t *val)
{
	uint64_t x = 0;
	int ret = vdrv_cfg_read(&b->v, off, 4, &x);

	*val = (uint32_t)x;
	return ret;
}

static int read_config(struct vblk *b)
{
	uint32_t lo, hi;
	int ret;

	if ((ret = cfg32(b, offsetof(struct virtio_blk_config, capacity), &lo)) < 0 ||
	    (ret = cfg32(b, offsetof(struct virtio_blk_config, capacity) + 4, &hi)) < 0)
		return ret;
	b->capacity = (uint64_t)hi << 32 | lo;
	if (b->v.features & F(VIRTIO_BLK_F_SIZE_MAX) &&
	    (ret = cfg32(b, offsetof(struct virtio_blk_config, size_max), &b->size_max)) < 0)
		return ret;
	if (b->v.features & F(VIRTIO_BLK_F_SEG_MAX) &&
	    (ret = cfg32(b, offsetof(struct virtio_blk_config, seg_max), &b->seg_max)) < 0)
		return ret;
	b->blk_size = VBLK_SECTOR;
	if (b->v.features & F(VIRTIO_BLK_F_BLK_SIZE) &&
	    (ret = cfg32(b, offsetof(struct virtio_blk_config, blk_size), &b->blk_size)) < 0)
		return ret;
	/* Linux: blk_size must be a power of two in [512, PAGE_SIZE]. */
	if (b->blk_size < 512 || b->blk_size > 4096 || (b->blk_size & (b->blk_size - 1))) {
		fprintf(stderr, "vblk %s: blk_size %u\n", b->v.name, b->blk_size);
		return -EPROTO;
	}
	return 0;
}

static int alloc_slots(struct vblk *b, struct xs_dom *d)
{
	b->nslots = b->v.vq[0].num;
	b->slots_gpa = gd_alloc(d, (size_t)b->nslots * SLOT_SIZE, 4096);
	if (!b->slots_gpa)
		return -ENOMEM;
	b->inflight = calloc(b->nslots, sizeof(*b->inflight));
	return b->inflight ? 0 : -ENOMEM;
}

int vblk_probe(struct vblk *b, struct xs_dom *d, unsigned vcpu, uint64_t base, unsigned irq,
	       uint16_t qsize)
{
	int ret;

	memset(b, 0, sizeof(*b));
	vdrv_init(&b->v, d, vcpu, base, irq);
	ret = vdrv_probe(&b->v, VIRTIO_ID_BLOCK, WANTED, 1, qsize);
	if (ret < 0)
		return ret;
	if ((ret = read_config(b)) < 0)
		return ret;
	return alloc_slots(b, d);
}

int vblk_probe_pci(struct vblk *b, struct gpci_host *h, const struct gpci_fn *f, unsigned vcpu,
		   const struct vdrv_pci_opts *o, uint16_t qsize)
{
	int ret;

	memset(b, 0, sizeof(*b));
	ret = vdrv_pci_probe(&b->v, h, f, vcpu, o, VIRTIO_ID_BLOCK, WANTED, 1, qsize);
	if (ret < 0)
		return ret;
	if ((ret = read_config(b)) < 0)
		return ret;
	return alloc_slots(b, h->d);
}

int vblk_attach_direct(struct vblk *b, struct xs_dom *d, uint64_t features, uint16_t qsize,
		       const int *kick, const int *call, uint64_t capacity, uint32_t seg_max)
{
	int ret;

	memset(b, 0, sizeof(*b));
	if ((ret = vdrv_setup_direct(&b->v, d, features, 1, qsize, kick, call)) < 0)
		return ret;
	b->capacity = capacity;
	b->seg_max = features & F(VIRTIO_BLK_F_SEG_MAX) ? seg_max : 0;
	b->blk_size = VBLK_SECTOR;
	return alloc_slots(b, d);
}

/* How many data segments: as asked, within seg_max, size_max and the ring. */
static unsigned segments(struct vblk *b, const struct vblk_req *r)
{
	unsigned n = r->nseg ? r->nseg : 1;

	if (!r->len)
		return 0;
	if (b->size_max && (r->len + b->size_max - 1) / b->size_max > n)
		n = (r->len + b->size_max - 1) / b->size_max;
	if (n > r->len)
		n = r->len;
	return n;
}

int vblk_submit(struct vblk *b, struct vblk_req *r)
{
	struct vdrv_sg sg[VBLK_MAX_SEGS + 2];
	struct virtio_blk_outhdr *hdr;
	unsigned n = segments(b, r), slot;
	bool in = r->type == VIRTIO_BLK_T_IN || r->type == VIRTIO_BLK_T_GET_ID;
	uint64_t at = r->gpa;
	int ret;

	if (n > VBLK_MAX_SEGS || (b->seg_max && n > b->seg_max)) {
		fprintf(stderr, "vblk %s: %u segments (seg_max %u)\n", b->v.name, n, b->seg_max);
		return -EINVAL;
	}
	for (slot = 0; slot < b->nslots && b->inflight[slot]; slot++)
		;
	if (slot == b->nslots)
		return -ENOSPC;
	hdr = gd_ram(b->v.d, b->slots_gpa + slot * SLOT_SIZE, SLOT_SIZE);
	hdr->type = htole32(r->type);
	hdr->ioprio = 0;
	hdr->sector = htole64(r->sector);
	((uint8_t *)hdr)[16] = 0xff; /* status: not written yet */
	sg[0] = (struct vdrv_sg){ b->slots_gpa + slot * SLOT_SIZE, 16, false };
	for (unsigned k = 0; k < n; k++) {
		/* Uneven pieces, on purpose: no segment boundary is sector-aligned by luck. */
		uint32_t end = (uint32_t)((uint64_t)r->len * (k + 1) / n);
		uint32_t start = (uint32_t)((uint64_t)r->len * k / n);

		sg[1 + k] = (struct vdrv_sg){ at, end - start, in };
		at += end - start;
	}
	sg[1 + n] = (struct vdrv_sg){ b->slots_gpa + slot * SLOT_SIZE + 16, 1, true };
	ret = vdrv_add(&b->v, 0, sg, n + 2, &r->head);
	if (ret < 0)
		return ret;
	r->slot = slot;
	r->done = false;
	r->status = 0xff;
	r->used_len = 0;
	b->inflight[slot] = r;
	return vdrv_kick(&b->v, 0);
}

static int finish(struct vblk *b, struct vblk_req *r, uint32_t len)
{
	uint8_t *status = gd_ram(b->v.d, b->slots_gpa + r->slot * SLOT_SIZE + 16, 1);
	bool in = r->type == VIRTIO_BLK_T_IN || r->type == VIRTIO_BLK_T_GET_ID;

	b->inflight[r->slot] = NULL;
	r->done = true;
	r->status = *status;
	r->used_len = len;
	b->completed++;
	if (len > (in ? r->len : 0) + 1u) {
		fprintf(stderr, "vblk %s: used len %u for a request with %u writable bytes\n",
			b->v.name, len, (in ? r->len : 0) + 1u);
		return -EPROTO;
	}
	if (r->status > VIRTIO_BLK_S_UNSUPP) {
		fprintf(stderr, "vblk %s: status byte 0x%x\n", b->v.name, r->status);
		return -EPROTO;
	}
	if (r->status == VIRTIO_BLK_S_OK && r->type == VIRTIO_BLK_T_IN)
		b->bytes_read += r->len;
	if (r->status == VIRTIO_BLK_S_OK && r->type == VIRTIO_BLK_T_OUT)
		b->bytes_written += r->len;
	return 0;
}

int vblk_complete(struct vblk *b, struct vblk_req **ret, int timeout_ms)
{
	uint16_t head;
	uint32_t len;
	int r = vdrv_wait_any(&b->v, 0, &head, &len, timeout_ms);

	if (r < 0)
		return r;
	for (unsigned s = 0; s < b->nslots; s++) {
		if (b->inflight[s] && b->inflight[s]->head == head) {
			*ret = b->inflight[s];
			return finish(b, *ret, len);
		}
	}
	fprintf(stderr, "vblk %s: used head %u belongs to no request\n", b->v.name, head);
	return -EPROTO;
}

int vblk_do(struct vblk *b, struct vblk_req *r, int timeout_ms)
{
	struct vblk_req *done;
	int ret = vblk_submit(b, r);

	while (!ret && !r->done)
		ret = vblk_complete(b, &done, timeout_ms);
	return ret;
}

void vblk_remove(struct vblk *b)
{
	if (!b->v.direct)
		vdrv_remove(&b->v);
	free(b->inflight);
	b->inflight = NULL;
}
