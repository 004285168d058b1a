/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The virtio-pci transport (virtio 1.2 §4.1, modern only) and the PCI host bridge it sits
 * behind. Pure transport: no Xen, no vmm/. vmm/ owns the placement (struct
 * vpci_host_config), routes guest accesses here and supplies interrupts and BAR decoding
 * through struct vpci_ops.
 *
 *	struct vpci_host host;		one per guest: bus 0, 32 slots, function 0 each
 *	struct vpci_dev pdev;		one per device, embedded in vmm/'s device struct
 *
 *	vpci_host_init(&host, &cfg);
 *	vpci_dev_init(&pdev, &ops, vdev, msix_vectors);
 *	vpci_host_attach(&host, slot, &pdev);
 *	Arm:  ECAM MMIO        -> vpci_ecam_read/write(&host, addr - ecam.base, ...)
 *	x86:  PCI_CONFIG ioreq -> vpci_cfg_read/write(&host, bdf, reg, ...)
 *	MMIO inside a BAR      -> vpci_mmio_read/write(&host, addr, ...)
 *	                          (or vpci_host_lookup + vpci_bar_read/write)
 *	vpci_host_detach(&host, slot); vpci_dev_fini(&pdev); vpci_host_fini(&host);
 *
 * Every device is a type-0 function: vendor 0x1af4, device 0x1040 + virtio id, revision 1,
 * interrupt pin INTA. BAR 2 (+3) is the virtio BAR, 64-bit prefetchable: common cfg, ISR,
 * device cfg, notify area (notify_off_multiplier 4, queue q at q * 4), MSI-X table and PBA,
 * each at a page-aligned offset. BAR 4 (+5), 64-bit prefetchable, holds the device's VIRTIO
 * shared memory regions back to back (FACTS 19), present only when d->nshm > 0. With
 * vpci_dev_set_pio_notify (x86), BAR 0 is a 4-byte I/O BAR holding one 16-bit notify
 * register for every queue (the driver writes the queue index there, notify_off_multiplier
 * 0, like QEMU's modern-pio-notify): on Xen an `out` is a cheaper exit than an MMIO write,
 * which Xen must decode. Other BARs read 0. The capability list has (the port NOTIFY first,
 * so drivers that take the first usable one use it), COMMON, ISR, DEVICE (when the device has
 * config space), NOTIFY, PCI_CFG, one SHARED_MEMORY per region, and MSI-X when
 * msix_vectors > 0.
 *
 * Decoding: a BAR decodes (is claimed through ops->bar_map) only while the command
 * register's memory-space bit (I/O-space bit for the I/O BAR) is set, the BAR is consistently programmed (both halves of a
 * 64-bit BAR written, see vpci-dev.c) and the range lies completely inside a configured
 * window and outside the ECAM window: a prefetchable BAR in the prefetchable window or the
 * 32-bit window, a non-prefetchable one in the 32-bit window only, the I/O BAR in the port
 * window. Nothing the guest writes
 * makes the owner claim any other range. Moves call bar_unmap (old) before bar_map (new).
 *
 * Guest accesses: reads always produce a value, bad writes are dropped; a bad access
 * (size, alignment, offset) returns -EINVAL, logged at most rate-limited. Accesses to absent
 * buses, slots or functions are ordinary enumeration: all-ones, writes dropped, return 0.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "devices/vdev.h"

#define VPCI_MAX_SLOTS	   32	      /* bus 0, devices 0..31, function 0 only */
#define VPCI_ECAM_BUS_SIZE (1u << 20) /* ECAM: 1 MiB of config space per bus */
#define VPCI_CFG_SIZE	   256	      /* conventional config space (ECAM 256..4095 read 0) */
#define VPCI_NUM_BARS	   6
#define VPCI_VIRTIO_BAR	   2 /* + 3: common, ISR, device, notify, MSI-X table, PBA */
#define VPCI_SHM_BAR	   4 /* + 5: VIRTIO shared memory regions (FACTS 19) */
#define VPCI_PIO_BAR	   0 /* I/O BAR with the port notify register (x86, optional) */
#define VPCI_PIO_BAR_SIZE  4
#define VPCI_MAX_MSIX	   (VDEV_MAX_QUEUES + 1) /* one per queue plus config */
#define VPCI_NOTIFY_MULT   4 /* notify_off_multiplier; queue_notify_off = queue index */

/* A guest-physical window [base, base + size); size 0 = none. */
struct vpci_window {
	uint64_t base;
	uint64_t size;
};

struct vpci_host_config {
	/*
	 * ECAM: size a non-zero multiple of VPCI_ECAM_BUS_SIZE, at most 256 buses (bus-range
	 * 0 .. size / 1 MiB - 1; only bus 0 has devices, the others read all-ones). size 0 =
	 * no ECAM (x86: config space through vpci_cfg_read/write only).
	 */
	struct vpci_window ecam;
	struct vpci_window mem;	 /* 32-bit non-prefetchable MEM window (below 4 GiB) */
	struct vpci_window pref; /* 64-bit prefetchable MEM window */
	struct vpci_window io;	 /* I/O port window (x86; size 0 = no I/O BARs decode) */
};

struct vpci_dev;

/* Supplied by the owner (vmm/) per device; every callback gets the device it concerns. */
struct vpci_ops {
	/*
	 * The level of this device's INTA pin (only real transitions are reported). Devices
	 * share lines after the swizzle: on Arm the owner ORs the levels of the devices on one
	 * SPI; x86's set_pci_intx_level takes the device and does it in Xen.
	 */
	void (*set_intx)(struct vpci_dev *p, bool level);
	/* Deliver one MSI-X message (never called when msix_vectors is 0). */
	void (*send_msi)(struct vpci_dev *p, uint64_t addr, uint32_t data);
	/*
	 * Claim [addr, addr + size) for BAR `bar` (2 or 4: guest-physical memory; VPCI_PIO_BAR:
	 * I/O ports, vpci_bar_is_io): guest accesses there now belong to this device. Only ever
	 * called with a range inside a configured window. A failure
	 * (-errno) leaves the BAR not decoding; it is tried again at the next write to the
	 * command register or the BAR.
	 */
	int (*bar_map)(struct vpci_dev *p, unsigned bar, uint64_t addr, uint64_t size);
	/* Release a range bar_map claimed (same bar, addr and size). */
	void (*bar_unmap)(struct vpci_dev *p, unsigned bar, uint64_t addr, uint64_t size);
};

/* --- private to virtio-pci/ from here to the functions --- */

struct vpci_host;

struct vpci_bar {
	uint64_t size; /* power of two; 0 = BAR not implemented */
	bool is64;
	bool prefetch;
	bool io;	 /* I/O space (VPCI_PIO_BAR) */
	bool hi_pending; /* 64-bit: low half written, high half not yet */
	bool mapped;	 /* claimed through ops->bar_map at map_addr */
	uint64_t map_addr;
};

struct vpci_msix_entry {
	uint32_t addr_lo;
	uint32_t addr_hi;
	uint32_t data;
	uint32_t ctrl; /* PCI_MSIX_ENTRY_CTRL_MASKBIT */
};

/* Offsets inside BAR 2 (computed once by vpci_dev_init). */
struct vpci_layout {
	uint32_t common;
	uint32_t isr;
	uint32_t device;
	uint32_t notify;
	uint32_t msix_table;
	uint32_t msix_pba;
};

struct vpci_dev {
	const struct vpci_ops *ops;
	struct vdev *dev;
	struct vdev_bus bus;	/* handed to the device: used-buffer/config notifications */
	struct vpci_host *host; /* NULL while not attached */
	unsigned slot;
	bool pio_notify; /* BAR 0: the port notify register (vpci_dev_set_pio_notify) */

	/* PCI config space: contents and per-byte write / write-1-to-clear masks */
	uint8_t cfg[VPCI_CFG_SIZE];
	uint8_t wmask[VPCI_CFG_SIZE];
	uint8_t w1cmask[VPCI_CFG_SIZE];
	uint8_t cap_msix;    /* config offset of the MSI-X capability, 0 = none */
	uint8_t cap_pci_cfg; /* config offset of the PCI_CFG access capability */
	struct vpci_bar bars[VPCI_NUM_BARS];
	struct vpci_layout layout;

	/* interrupts */
	unsigned msix_vectors;
	struct vpci_msix_entry msix[VPCI_MAX_MSIX];
	uint64_t msix_pba[(VPCI_MAX_MSIX + 63) / 64];
	uint8_t isr;	 /* VIRTIO_PCI_ISR_QUEUE | VIRTIO_PCI_ISR_CONFIG */
	bool intx_level; /* as last reported through ops->set_intx */

	/* common configuration (virtio 1.2 §4.1.4.3) */
	uint32_t device_feature_select;
	uint32_t driver_feature_select;
	uint16_t queue_select;
	uint16_t msix_config;
	uint16_t queue_vector[VDEV_MAX_QUEUES];
};

struct vpci_host {
	struct vpci_host_config cfg;
	struct vpci_dev *slots[VPCI_MAX_SLOTS];
};

/* --- host bridge (vpci-host.c) --- */

/* -EINVAL for an ECAM size that is not n MiB (n <= 256), or a window that wraps. */
int vpci_host_init(struct vpci_host *h, const struct vpci_host_config *cfg);
/* Detaches every device still attached. */
void vpci_host_fini(struct vpci_host *h);

/* Put p in slot (function 0 of bus 0): -EINVAL for slot >= 32, -EBUSY if taken. */
int vpci_host_attach(struct vpci_host *h, unsigned slot, struct vpci_dev *p);
/*
 * Unmaps its BARs, lowers its INTx line, empties the slot. No-op for an empty slot. A device
 * off the bus raises no interrupt (MSIs are dropped); attaching it again shows a pending INTx.
 */
void vpci_host_detach(struct vpci_host *h, unsigned slot);

/*
 * ECAM access (Arm): off = bus << 20 | dev << 15 | fn << 12 | reg, relative to the ECAM
 * base; size 1, 2 or 4, naturally aligned. Bad access (other sizes, misaligned, off beyond
 * the ECAM window): reads all-ones, writes dropped, -EINVAL.
 */
int vpci_ecam_read(struct vpci_host *h, uint64_t off, unsigned size, uint64_t *ret_val);
int vpci_ecam_write(struct vpci_host *h, uint64_t off, unsigned size, uint64_t val);

/*
 * Config access with the address decoded by the caller (x86 PCI_CONFIG ioreqs):
 * bdf = bus << 8 | dev << 3 | fn (PCI_DEVFN), reg 0..4095; same rules as ECAM.
 */
int vpci_cfg_read(struct vpci_host *h, uint16_t bdf, uint32_t reg, unsigned size,
		  uint64_t *ret_val);
int vpci_cfg_write(struct vpci_host *h, uint16_t bdf, uint32_t reg, unsigned size, uint64_t val);

/*
 * The decoding BAR that contains guest-physical addr: 0 with the device, BAR index and the
 * offset into the BAR, or -ENOENT (nothing decodes there).
 */
int vpci_host_lookup(struct vpci_host *h, uint64_t addr, struct vpci_dev **ret_dev,
		     unsigned *ret_bar, uint64_t *ret_off);
/*
 * vpci_host_lookup + vpci_bar_read/write. Nothing decoding at addr: reads all-ones (a
 * master abort), writes dropped, -ENOENT.
 */
int vpci_mmio_read(struct vpci_host *h, uint64_t addr, unsigned size, uint64_t *ret_val);
int vpci_mmio_write(struct vpci_host *h, uint64_t addr, unsigned size, uint64_t val);
/*
 * The same for x86 port I/O (the I/O BARs that decode): nothing there reads all-ones,
 * drops writes, -ENOENT.
 */
int vpci_pio_read(struct vpci_host *h, uint16_t port, unsigned size, uint64_t *ret_val);
int vpci_pio_write(struct vpci_host *h, uint16_t port, unsigned size, uint64_t val);

/*
 * The standard INTx swizzle across the host bridge: the host-bridge line (0 = INTA ..
 * 3 = INTD) that pin `pin` (1 = INTA .. 4 = INTD, PCI_INTERRUPT_PIN) of device `slot`
 * arrives on: (slot + pin - 1) % 4. Every xvdm device uses pin 1, so device `slot` is on
 * line slot % 4. vmm/ (SPI per line) and the device-tree interrupt-map writer both use it.
 * A pin outside 1..4 counts as INTA.
 */
unsigned vpci_intx_swizzle(unsigned slot, unsigned pin);

/* --- one device (vpci-dev.c, vpci-virtio.c) --- */

/*
 * Set up the transport for dev (not owned) with msix_vectors MSI-X vectors (0 = no MSI-X
 * capability, e.g. on Arm where Xen cannot inject MSIs; at most VPCI_MAX_MSIX). -EINVAL
 * for too many vectors or shared memory regions that do not fit a BAR, -ENOSPC when the
 * capabilities do not fit the 256-byte config space (more than 3 regions with MSI-X).
 */
int vpci_dev_init(struct vpci_dev *p, const struct vpci_ops *ops, struct vdev *dev,
		  unsigned msix_vectors);
/*
 * Give p the port notify register in I/O BAR 0 (before vpci_host_attach; it stays across
 * resets). -EBUSY once attached, or an error of the capability layout (-ENOSPC).
 */
int vpci_dev_set_pio_notify(struct vpci_dev *p, bool on);
/* Whether BAR `bar` of p is an I/O BAR (bar_map/bar_unmap then mean ports). */
bool vpci_bar_is_io(const struct vpci_dev *p, unsigned bar);
/* Detaches from the host (if attached) and from the device. */
void vpci_dev_fini(struct vpci_dev *p);
/*
 * A PCI-level reset (e.g. the guest reboots): the virtio device resets, the config space
 * returns to its power-on values (BARs unmapped), MSI-X vectors masked, INTx low.
 */
void vpci_dev_reset(struct vpci_dev *p);

/*
 * A guest access at off inside BAR `bar` of p, size 1, 2, 4 or 8. Register rules per
 * region (virtio 1.2 §4.1.4): common cfg fields with their natural width, ISR a read of
 * 1..4 bytes (clears it), notify a 2- or 4-byte write, MSI-X table and PBA 4 or 8 bytes
 * aligned, device cfg and shared memory any size inside their length. Also used for
 * accesses through the PCI_CFG capability (whatever the command register says). A bad
 * access (unimplemented BAR, outside a region, wrong size) reads 0, drops a write and
 * returns -EINVAL.
 */
int vpci_bar_read(struct vpci_dev *p, unsigned bar, uint64_t off, unsigned size, uint64_t *ret_val);
int vpci_bar_write(struct vpci_dev *p, unsigned bar, uint64_t off, unsigned size, uint64_t val);
