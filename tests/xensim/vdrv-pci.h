/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The guest's virtio-pci driver (drivers/virtio/virtio_pci_common.c, virtio_pci_modern.c,
 * virtio_pci_modern_dev.c as of Linux 6.1) on a function the guest PCI core (gpci.h)
 * scanned and assigned. After vdrv_pci_probe the queue functions of vdrv.h work as for
 * virtio-mmio. Errors as vdrv.h.
 *
 *	gpci_scan(&h, vcpu, fns, ...); gpci_assign(&h, vcpu, fns, n);
 *	vdrv_pci_probe(&v, &h, &fns[i], vcpu, &opts, VIRTIO_ID_BLOCK, features, 1, 128);
 *	vdrv_add / vdrv_kick / vdrv_wait_any ... vdrv_remove(&v);
 */
#pragma once

#include "tests/xensim/vdrv.h"

enum vdrv_pci_irq {
	VDRV_PCI_INTX, /* the function's interrupt pin; MSI-X left disabled */
	VDRV_PCI_MSIX, /* per-queue vectors (or config + one shared, if the table is small) */
};

struct vdrv_pci_opts {
	enum vdrv_pci_irq irq;
	/*
	 * MSI-X: vector i (0 = config, then one per queue) is programmed with address
	 * msi_addr | i << 12 (x86: destination APIC id i) and data msi_data + i (the vector,
	 * fixed delivery, edge): distinct per vector, so each MSI names its vector.
	 */
	uint64_t msi_addr;
	uint32_t msi_data;
};

/*
 * Bind to function f of host h (the caller's copy of it is not kept) on vcpu, as
 * virtio_pci_probe does: pci_enable_device + pci_set_master; vp_modern_probe: vendor
 * 0x1af4, device 0x1040 + device_id (0x1000..0x103f: the subsystem id), the vendor
 * capabilities COMMON (>= 56 bytes), NOTIFY (with notify_off_multiplier), ISR, DEVICE
 * (optional), PCI_CFG and SHARED_MEMORY found and checked against their BARs, the MSI-X
 * capability; then the virtio core (vdrv_bringup) with find_vqs as vp_modern_find_vqs:
 * MSI-X enabled (function-masked while the table is written, entries unmasked after),
 * config vector, per queue queue_select / queue_size / desc / driver / device /
 * queue_msix_vector, notify address = notify BAR + cap offset + queue_notify_off *
 * notify_off_multiplier, then every queue enabled, then DRIVER_OK.
 */
int vdrv_pci_probe(struct vdrv *v, struct gpci_host *h, const struct gpci_fn *f, unsigned vcpu,
		   const struct vdrv_pci_opts *o, uint32_t device_id, uint64_t features,
		   unsigned nvqs, uint16_t qsize);

/*
 * A VIRTIO shared memory region as vp_get_shm_region() finds it: 0 with its
 * guest-physical address and length, or -ENOENT. v->pci.shm[] lists every region.
 */
int vdrv_pci_shm(struct vdrv *v, uint8_t shmid, uint64_t *ret_gpa, uint64_t *ret_len);

/*
 * Read `size` (1, 2, 4) bytes at off of BAR bar through the VIRTIO_PCI_CAP_PCI_CFG window
 * in config space (virtio 1.2 §4.1.4.9): write cap.bar, cap.offset, cap.length, then read
 * pci_cfg_data. -ENOENT without that capability.
 */
int vdrv_pci_cfg_window_read(struct vdrv *v, uint8_t bar, uint32_t off, unsigned size,
			     uint32_t *val);

/* vp_interrupt()'s read of the ISR (which clears it and lowers INTx). */
int vdrv_pci_isr(struct vdrv *v, uint32_t *ret_isr);

/* MSI-X vector `vec`: set or clear its mask bit; read its pending bit in the PBA. */
int vdrv_pci_msix_mask(struct vdrv *v, unsigned vec, bool mask);
int vdrv_pci_msix_pending(struct vdrv *v, unsigned vec, bool *ret_pending);
