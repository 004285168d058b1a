/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A virtio-mmio driver that behaves like Linux's virtio_mmio + virtio core: the same
 * register accesses in the same order (probe, feature negotiation, queue setup, device
 * ready, interrupt handling, reset, removal), a split virtqueue in guest RAM, and
 * interrupts taken as edges on the device's SPI. Runs on one vCPU of a simulated domain.
 *
 * Every failure is reported on stderr as "vdrv <name>: what happened" and returned as
 * -errno: -ENODEV (not a virtio device / wrong type), -EPROTO (the device broke the
 * virtio or ioreq rules), -ETIMEDOUT, or what gd_*() returned (-EFAULT: data abort).
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "tests/xensim/guest.h"

#define VDRV_MAX_VQS 8

struct vdrv_vq {
	uint16_t num;
	uint64_t desc_gpa, avail_gpa, used_gpa;
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	uint16_t avail_idx; /* our shadow of avail->idx */
	uint16_t last_used;
	uint16_t free_head;
	unsigned num_free;
	uint64_t busy[32768 / 64]; /* heads of the chains the device holds */
};

struct vdrv {
	struct xs_dom *d;
	unsigned vcpu;
	uint64_t base;
	unsigned irq;
	char name[48];
	uint32_t version, device_id, vendor_id;
	uint64_t device_features; /* offered */
	uint64_t features;	  /* negotiated */
	unsigned nvqs;
	struct vdrv_vq vq[VDRV_MAX_VQS];
	uint64_t edges;	      /* interrupt edges consumed so far */
	unsigned interrupts;  /* handled (InterruptStatus read and acknowledged) */
	uint32_t config_irqs; /* interrupts with VIRTIO_MMIO_INT_CONFIG */
	/* Driven without virtio-mmio (vdrv_setup_direct): notifications are eventfds. */
	bool direct;
	int kick_fd[VDRV_MAX_VQS], call_fd[VDRV_MAX_VQS];
};

/* A buffer of a chain: device-readable, or device-writable if `write`. */
struct vdrv_sg {
	uint64_t gpa;
	uint32_t len;
	bool write;
};

void vdrv_init(struct vdrv *v, struct xs_dom *d, unsigned vcpu, uint64_t base, unsigned irq);

/*
 * Probe and bring up the device as Linux does: identify (MagicValue, Version 2, DeviceID
 * = device_id, VendorID), reset, ACKNOWLEDGE, DRIVER, negotiate (offered ∩ (features |
 * VERSION_1)), FEATURES_OK (read back), set up nvqs queues of at most qsize entries
 * (queue memory from guest RAM), DRIVER_OK.
 */
int vdrv_probe(struct vdrv *v, uint32_t device_id, uint64_t features, unsigned nvqs,
	       uint16_t qsize);

/*
 * Queues for a device driven without virtio-mmio, by a test that plays the vhost-user
 * front-end itself: nvqs split rings of qsize entries in guest RAM, `features`
 * negotiated elsewhere; vdrv_kick() writes kick[q], vdrv_wait_any() waits for call[q]
 * (the fds stay the caller's). Other register-level functions must not be used.
 */
int vdrv_setup_direct(struct vdrv *v, struct xs_dom *d, uint64_t features, unsigned nvqs,
		      uint16_t qsize, const int *kick, const int *call);

/* Expose a chain; *ret_head is its head descriptor. -ENOSPC if the ring is full. */
int vdrv_add(struct vdrv *v, unsigned q, const struct vdrv_sg *sg, unsigned n, uint16_t *ret_head);
/* QueueNotify. */
int vdrv_kick(struct vdrv *v, unsigned q);
/*
 * Wait for the used buffer of chain `head`: an interrupt edge, InterruptStatus with the
 * VRING bit, InterruptACK, then the next used element must name `head`; *ret_len is the
 * length the device wrote. The chain's descriptors are freed.
 */
int vdrv_wait_used(struct vdrv *v, unsigned q, uint16_t head, uint32_t *ret_len, int timeout_ms);
/*
 * The next used buffer of queue q, whichever outstanding chain it is (devices may
 * complete out of order): waits for an interrupt only when the used ring holds nothing
 * new, re-arming used_event first with VIRTIO_RING_F_EVENT_IDX (virtqueue_enable_cb).
 * The chain's descriptors are freed. -ESHUTDOWN when, instead, the device set
 * DEVICE_NEEDS_RESET (config interrupt, Status bit 0x40).
 */
int vdrv_wait_any(struct vdrv *v, unsigned q, uint16_t *ret_head, uint32_t *ret_len,
		  int timeout_ms);
/* add + kick + wait_used. */
int vdrv_xfer(struct vdrv *v, unsigned q, const struct vdrv_sg *sg, unsigned n, uint32_t *ret_len);

/* Device reset: Status = 0, then Status must read back 0 (Linux vm_reset). */
int vdrv_reset(struct vdrv *v);
/* Driver removal as Linux does it: reset, then per queue QueueSel, QueueReady = 0, read 0. */
int vdrv_remove(struct vdrv *v);

/* Raw register access (offsets from linux/virtio_mmio.h) and config space. */
int vdrv_read(struct vdrv *v, uint32_t off, unsigned size, uint64_t *val);
int vdrv_write(struct vdrv *v, uint32_t off, unsigned size, uint64_t val);
int vdrv_read32(struct vdrv *v, uint32_t off, uint32_t *val);
int vdrv_write32(struct vdrv *v, uint32_t off, uint32_t val);
/* Config space at off (size 1, 2, 4 or 8), with Linux's ConfigGeneration retry loop. */
int vdrv_cfg_read(struct vdrv *v, uint32_t off, unsigned size, uint64_t *val);
