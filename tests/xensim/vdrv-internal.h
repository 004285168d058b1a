/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Inside the guest's virtio driver: the transport interface and what the transports share. */
#pragma once

#include "tests/xensim/vdrv.h"

/* virtio_pci.h has no name for the ISR's queue bit; it matches VIRTIO_MMIO_INT_VRING. */
#define VDRV_ISR_QUEUE	1u
#define VDRV_ISR_CONFIG 2u

/* What the virtio core asks of a transport (Linux's struct virtio_config_ops). */
struct vdrv_ops {
	int (*get_status)(struct vdrv *v, uint32_t *ret);
	int (*set_status)(struct vdrv *v, uint32_t st);
	int (*get_features)(struct vdrv *v, uint64_t *ret);
	int (*set_features)(struct vdrv *v, uint64_t features);
	/* Set up and activate nvqs queues of at most qsize entries (find_vqs). */
	int (*find_vqs)(struct vdrv *v, unsigned nvqs, uint16_t qsize);
	int (*notify)(struct vdrv *v, unsigned q);
	/*
	 * Wait for an interrupt that may concern queue q and take it as the transport's
	 * interrupt handler does; *ret_isr: VDRV_ISR_QUEUE and/or VDRV_ISR_CONFIG (0: it was
	 * not this device's). -ETIMEDOUT after timeout_ms.
	 */
	int (*wait_irq)(struct vdrv *v, unsigned q, int timeout_ms, uint32_t *ret_isr);
	/* A description of the interrupt state for failure messages. */
	void (*irq_state)(struct vdrv *v, unsigned q, char *buf, size_t len);
	int (*generation)(struct vdrv *v, uint32_t *ret);
	int (*cfg_get)(struct vdrv *v, uint32_t off, unsigned size, uint64_t *val);
	/* After the reset at removal: release the queues (del_vqs). */
	int (*del_vqs)(struct vdrv *v);
};

extern const struct vdrv_ops vdrv_mmio_ops;
extern const struct vdrv_ops vdrv_pci_ops;

/* "vdrv <name>: ..." on stderr; returns err. */
__attribute__((format(printf, 3, 4))) int vdrv_fail(struct vdrv *v, int err, const char *fmt, ...);

/*
 * The virtio core's probe after the transport identified the device: reset, ACKNOWLEDGE,
 * DRIVER, features (offered ∩ (features | VERSION_1)), FEATURES_OK (read back),
 * find_vqs, DRIVER_OK (read back, no NEEDS_RESET/FAILED).
 */
int vdrv_bringup(struct vdrv *v, uint64_t features, unsigned nvqs, uint16_t qsize);
/* virtio_add_status(): read, or in the bit, write. */
int vdrv_add_status(struct vdrv *v, uint32_t bit);
/* Guest RAM for queue q's three areas, once (reused after a reset), and an empty ring. */
int vdrv_vq_prepare(struct vdrv *v, unsigned q, uint16_t num);
/* vring_create_virtqueue(): the largest power of two <= min(max, wanted). */
uint16_t vdrv_vq_size(uint32_t max, uint16_t wanted);
