/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The virtio-mmio transport, version 2 (virtio 1.2 §4.2.2). One struct vmmio per
 * device window. vmm/ routes the guest's MMIO accesses inside the window here
 * (offsets relative to the window base) and supplies the interrupt line through
 * struct vmmio_ops. The registers drive the device core (devices/vdev.h).
 *
 * Shared memory regions (virtio 1.2 §2.10, §4.2.2; FACTS 20, 21): the device's regions
 * (dev->shm, fixed before vmmio_init) are shown through SHMSel / SHMLen / SHMBase. Each
 * region is a separate guest-physical window that vmm/ places (outside guest RAM, page
 * aligned) and tells the transport about with vmmio_set_shm_base(); vmm/ also claims the
 * window for its ioreq server and routes every access inside it to vmmio_shm_read/write,
 * which the device serves from the back-end's memory (trap and emulate). A region that
 * has not been placed reads as absent, like an id the device does not have: length and
 * base all ones.
 *
 * Interrupt: the line level follows InterruptStatus != 0 (virtio 1.2 §4.2.2.2). Xen's
 * vGIC treats the virtio-mmio SPI as edge-triggered (FACTS 26), so when an
 * InterruptACK leaves bits set the line is lowered and raised again to give the
 * driver a new edge.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "devices/vdev.h"

#define VMMIO_WINDOW_SIZE  0x200      /* libxl's virtio-mmio slot size (FACTS 25) */
#define VMMIO_SHM_UNPLACED UINT64_MAX /* a region without a guest-physical window */

struct vmmio;

struct vmmio_ops {
	void (*set_irq)(struct vmmio *m, bool level);
};

struct vmmio {
	const struct vmmio_ops *ops;
	struct vdev_bus bus; /* handed to the device: used-buffer/config notifications */
	struct vdev *dev;

	/* register state (virtio 1.2 §4.2.2) */
	uint32_t device_features_sel;
	uint32_t driver_features_sel;
	uint32_t queue_sel;
	uint32_t shm_sel;
	uint32_t interrupt_status;
	bool irq_level;
	bool used_external; /* used-buffer interrupts are raised outside xvdm (see below) */

	/* guest-physical base of each of dev->shm's regions, or VMMIO_SHM_UNPLACED */
	unsigned nshm;
	uint64_t *shm_base;
};

/* Attach dev to a new transport instance; the transport does not own dev. */
void vmmio_init(struct vmmio *m, const struct vmmio_ops *ops, struct vdev *dev);
void vmmio_fini(struct vmmio *m);

/*
 * A guest access at `off` inside the window. Control registers take 32-bit aligned
 * accesses only; config space (0x100+) takes 1, 2, 4 or 8 bytes at any offset inside
 * the device's config size. Reads always produce a value (0 for bad accesses, reserved,
 * legacy or write-only registers); bad writes are dropped. Returns 0, or -EINVAL when
 * the access was bad, or the device's error for a config access (both already logged,
 * rate-limited: callers need not log again). Either way the ioreq is complete.
 *
 * Status = 0 resets the device and the transport (selectors, InterruptStatus, line low).
 * Queue registers are writable only between FEATURES_OK and DRIVER_OK and while the
 * queue is not enabled; QueueReady = 1 needs QueueNum and programmed, aligned areas.
 * SHMSel takes a shmid; SHMLen/SHMBase describe that region if the device has it and it
 * is placed, else read all ones (FACTS 20).
 */
int vmmio_read(struct vmmio *m, uint64_t off, unsigned size, uint64_t *ret_val);
int vmmio_write(struct vmmio *m, uint64_t off, unsigned size, uint64_t val);

/*
 * Used-buffer interrupts of this device are raised without xvdm (the dom0 kernel's
 * privcmd irqfd raises the SPI when the back-end signals a call eventfd): xvdm cannot
 * know when one is pending, so while `on` and the driver is in DRIVER_OK, InterruptStatus
 * reads with the used-buffer bit set. The driver then checks its used rings on every
 * interrupt, which is harmless (a spurious notification, virtio 1.2 §2.7.7) and what
 * xen-vhost-frontend does. The bit is never part of the line's own state: an
 * InterruptACK of it lowers nothing and re-raises nothing. Config interrupts are
 * unchanged.
 */
void vmmio_set_used_external(struct vmmio *m, bool on);

/*
 * Shared memory windows (vmm/'s side). idx indexes dev->shm (0 .. dev->nshm - 1; the
 * shmid is dev->shm[idx].id), the window is [gpa, gpa + dev->shm[idx].size).
 *
 * vmmio_set_shm_base: place region idx at gpa (page-aligned, no wrap-around); -EINVAL
 * otherwise. VMMIO_SHM_UNPLACED takes it away again.
 */
int vmmio_set_shm_base(struct vmmio *m, unsigned idx, uint64_t gpa);
/* The placed region whose window holds gpa: 0 with *ret_idx and *ret_off, or -ENOENT. */
int vmmio_shm_lookup(struct vmmio *m, uint64_t gpa, unsigned *ret_idx, uint64_t *ret_off);
/*
 * A guest access at byte `off` of region idx's window, size 1/2/4/8 (any alignment):
 * forwarded to vdev_shm_read/write. Unmapped parts read 0 and ignore writes; a bad
 * access reads 0 / is dropped. Returns 0 or -errno, already logged (rate-limited): the
 * ioreq is complete either way.
 */
int vmmio_shm_read(struct vmmio *m, unsigned idx, uint64_t off, unsigned size, uint64_t *ret_val);
int vmmio_shm_write(struct vmmio *m, unsigned idx, uint64_t off, unsigned size, uint64_t val);
