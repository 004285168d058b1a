/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A virtio-blk guest driver over vdrv (virtio 1.2 §5.2, as Linux's virtio_blk uses it):
 * probe with the features the device offers of VERSION_1, SIZE_MAX, SEG_MAX, BLK_SIZE,
 * FLUSH, RO, TOPOLOGY and EVENT_IDX; capacity and limits from config space; requests
 * as a header (device-readable), data segments, and a status byte (device-writable);
 * several requests in flight, completed in whatever order the device chooses.
 *
 * Each request's header and status live in a slot of guest RAM allocated at probe;
 * data buffers are the caller's (guest-physical). Errors as vdrv.h.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "tests/xensim/vdrv-pci.h"

#define VBLK_SECTOR   512u
#define VBLK_MAX_SEGS 128u /* data segments per request this driver builds */

struct vblk_req {
	/* set by the caller */
	uint32_t type;	 /* VIRTIO_BLK_T_IN, _OUT, _FLUSH, _GET_ID */
	uint64_t sector; /* in 512-byte units */
	uint64_t gpa;	 /* data buffer (none for FLUSH) */
	uint32_t len;
	unsigned nseg; /* data segments wanted; 0 = as few as the device allows */
	/* set by the driver */
	unsigned slot;
	uint16_t head;
	bool done;
	uint8_t status;	   /* VIRTIO_BLK_S_* once done */
	uint32_t used_len; /* what the device reported writing */
};

struct vblk {
	struct vdrv v;
	uint64_t capacity; /* sectors */
	uint32_t size_max; /* bytes per segment, 0 = no limit */
	uint32_t seg_max;  /* segments per request, 0 = no limit */
	uint32_t blk_size;
	uint64_t slots_gpa;	    /* header (16 bytes) + status per slot, 32 bytes each */
	unsigned nslots;	    /* = queue size */
	struct vblk_req **inflight; /* by slot */
	/* statistics */
	uint64_t completed, bytes_read, bytes_written;
};

/* Probe the virtio-blk device at base with one queue of at most qsize entries. */
int vblk_probe(struct vblk *b, struct xs_dom *d, unsigned vcpu, uint64_t base, unsigned irq,
	       uint16_t qsize);
/* The same over virtio-pci: function f of host h, scanned and assigned (vdrv-pci.h). */
int vblk_probe_pci(struct vblk *b, struct gpci_host *h, const struct gpci_fn *f, unsigned vcpu,
		   const struct vdrv_pci_opts *o, uint16_t qsize);
/*
 * The same driver over queues driven directly by the test (vdrv_setup_direct, vufe.h):
 * features and config values as the test negotiated and read them.
 */
int vblk_attach_direct(struct vblk *b, struct xs_dom *d, uint64_t features, uint16_t qsize,
		       const int *kick, const int *call, uint64_t capacity, uint32_t seg_max);
/* Put the request on the queue and notify the device. -ENOSPC if no room now. */
int vblk_submit(struct vblk *b, struct vblk_req *r);
/*
 * Wait for the next completion of any submitted request; *ret is that request
 * (done, status, used_len set). -ESHUTDOWN if the device needs a reset.
 */
int vblk_complete(struct vblk *b, struct vblk_req **ret, int timeout_ms);
/* submit + wait for this request (other requests completing meanwhile are marked done). */
int vblk_do(struct vblk *b, struct vblk_req *r, int timeout_ms);
/* Reset the device and free the driver's memory. */
void vblk_remove(struct vblk *b);
