/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The virtio-mmio transport, version 2 (virtio 1.2 §4.2.2). One struct vmmio per
 * device window. vmm/ routes the guest's MMIO accesses inside the window here
 * (offsets relative to the window base) and supplies the interrupt line through
 * struct vmmio_ops. The registers drive the device core (devices/vdev.h).
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

#define VMMIO_WINDOW_SIZE 0x200 /* libxl's virtio-mmio slot size (FACTS 25) */

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
 * SHM registers answer "no region" for every id (FACTS 20).
 */
int vmmio_read(struct vmmio *m, uint64_t off, unsigned size, uint64_t *ret_val);
int vmmio_write(struct vmmio *m, uint64_t off, unsigned size, uint64_t val);
