/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * notify=auto|kernel|xvdm (README "Kernel notifications"): whether a virtio-mmio device's
 * kicks and used-buffer interrupts go through the dom0 kernel (privcmd ioeventfd/irqfd,
 * Linux >= 6.7, xen/privcmd-evt.h) instead of through xvdm. A struct vmm_notify is the
 * device's struct vdev_notify (devices/vdev.h); the guest owns the privcmd registrations
 * (struct xh_pevt), which go before its ioreq server.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

#include "devices/vdev.h"
#include "virtio-mmio/vmmio.h"
#include "vmm/vmm.h"
#include "xen/privcmd-evt.h"

/* XH_PEVT_* the kernel offers (probes on the first call). */
unsigned vmm_notify_caps(struct vmm_notify_probe *p);

struct vmm_notify;

/*
 * The notification path of one virtio-mmio device at `base` with SPI `spi`: NULL in
 * *ret (and 0) when every notification stays with xvdm (notify=xvdm, or auto where the
 * kernel offers nothing). notify=kernel where the kernel lacks either ioctl: -EOPNOTSUPP
 * with *error saying why. `pevt` is the guest's registration holder, created on the
 * first attach; the guest frees it (xh_pevt_free) and sets it NULL before its server.
 */
int vmm_notify_new(struct vmm_notify_probe *p, enum vmm_notify_mode mode, const char *name,
		   struct xh_ioreq_server *srv, struct xh_pevt **pevt, struct vmmio *mmio,
		   uint64_t base, uint32_t spi, struct vmm_notify **ret, GError **error);
struct vdev_notify *vmm_notify_vdev(struct vmm_notify *n);
/* Queues whose kick / call the kernel carries now (tests, status). */
unsigned vmm_notify_kernel_kicks(const struct vmm_notify *n);
unsigned vmm_notify_kernel_calls(const struct vmm_notify *n);
/* After the device is freed (it detaches first). NULL-safe. */
void vmm_notify_free(struct vmm_notify *n);
