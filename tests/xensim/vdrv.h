/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A virtio driver that behaves like Linux's virtio core over one of its transports: the
 * same register accesses in the same order (probe, feature negotiation, queue setup,
 * device ready, interrupt handling, reset, removal) and a split virtqueue in guest RAM.
 * Transports: virtio-mmio (vdrv_init + vdrv_probe: Linux's virtio_mmio, interrupts as
 * edges on the device's SPI), virtio-pci (vdrv-pci.h: Linux's virtio_pci_modern over the
 * guest PCI core of gpci.h, MSI-X or INTx), or none (vdrv_setup_direct: eventfds). The
 * queue functions below are the same for all. Runs on one vCPU of a simulated domain.
 *
 * Every failure is reported on stderr as "vdrv <name>: what happened" and returned as
 * -errno: -ENODEV (not a virtio device / wrong type), -EPROTO (the device broke the
 * virtio or ioreq rules), -ETIMEDOUT, or what gd_*() returned (-EFAULT: data abort).
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "tests/xensim/gpci.h"
#include "tests/xensim/guest.h"

#define VDRV_MAX_VQS	 8
#define VDRV_PCI_MAX_SHM 8

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

/* A virtio structure a capability points at: where the driver found it (vdrv-pci.c). */
struct vdrv_pci_region {
	uint8_t bar;
	uint32_t off, len; /* inside the BAR */
	uint64_t gpa;	   /* BAR address + off; 0 = absent */
	bool io;	   /* in an I/O BAR: gpa is a port */
};

/* A VIRTIO shared memory region (virtio 1.2 §4.1.4.7, cfg_type 8, virtio_pci_cap64). */
struct vdrv_pci_shm {
	uint8_t id; /* shmid */
	uint8_t bar;
	uint64_t off, len;
	uint64_t gpa;
};

/* One MSI-X vector as the driver programmed it, and the MSIs of it taken so far. */
struct vdrv_msi {
	uint64_t addr;
	uint32_t data;
	uint64_t seen;
};

/* The virtio-pci transport's state (vdrv-pci.h). */
struct vdrv_pci {
	struct gpci_host *host;
	struct gpci_fn fn;
	struct vdrv_pci_region common, isr, device, notify;
	uint32_t notify_mult;
	uint8_t pci_cfg_cap; /* VIRTIO_PCI_CAP_PCI_CFG's config offset, 0 = none */
	uint16_t num_queues;
	uint64_t notify_gpa[VDRV_MAX_VQS];
	/* interrupts */
	bool want_msix;	   /* MSI-X at find_vqs (vdrv_pci_opts) */
	uint64_t msi_addr; /* vdrv_pci_opts */
	uint32_t msi_data;
	bool msix;		       /* MSI-X enabled by the driver; else INTx */
	uint8_t msix_cap;	       /* 0 = none */
	uint16_t msix_size;	       /* table entries */
	uint64_t msix_table, msix_pba; /* guest-physical */
	unsigned nvec;		       /* vectors in use: config, then queues */
	struct vdrv_msi vec[VDRV_MAX_VQS + 1];
	uint16_t queue_vec[VDRV_MAX_VQS];
	unsigned line;	   /* INTx: the SPI or HV_INTX_KEY the guest waits on */
	unsigned spurious; /* INTx: ISR read 0 while the (shared) line was high */
	unsigned msis;	   /* MSIs taken */
	/* shared memory regions */
	unsigned nshm;
	struct vdrv_pci_shm shm[VDRV_PCI_MAX_SHM];
};

struct vdrv_ops;

struct vdrv {
	const struct vdrv_ops *ops; /* the transport */
	struct xs_dom *d;
	unsigned vcpu;
	uint64_t base; /* virtio-mmio: the register window */
	unsigned irq;  /* virtio-mmio: the SPI */
	char name[48];
	uint32_t version, device_id, vendor_id;
	uint64_t device_features; /* offered */
	uint64_t features;	  /* negotiated */
	unsigned nvqs;
	struct vdrv_vq vq[VDRV_MAX_VQS];
	uint64_t edges;	      /* interrupt edges consumed so far */
	unsigned interrupts;  /* handled (InterruptStatus read and acknowledged) */
	uint32_t config_irqs; /* interrupts with VIRTIO_MMIO_INT_CONFIG / ISR_CONFIG */
	/* Driven without virtio-mmio (vdrv_setup_direct): notifications are eventfds. */
	bool direct;
	int kick_fd[VDRV_MAX_VQS], call_fd[VDRV_MAX_VQS];
	struct vdrv_pci pci; /* virtio-pci only */
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
/* QueueNotify (virtio-pci: a 16-bit write of q to the queue's notify address). */
int vdrv_kick(struct vdrv *v, unsigned q);
/*
 * Wait for the used buffer of chain `head`: an interrupt edge, InterruptStatus with the
 * VRING bit, InterruptACK (virtio-pci: the queue's MSI-X vector, or INTx and an ISR read
 * with the QUEUE bit), then the next used element must name `head`; *ret_len is the
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

/* Device reset: Status = 0, then Status must read back 0 (Linux vm_reset / vp_reset). */
int vdrv_reset(struct vdrv *v);
/*
 * Driver removal as Linux does it: reset, then per queue QueueSel, QueueReady = 0, read 0
 * (virtio-pci: queue_enable reads 0 after the reset, vectors released, MSI-X off, bus
 * mastering off).
 */
int vdrv_remove(struct vdrv *v);

/* virtio-mmio: raw register access (offsets from linux/virtio_mmio.h). */
int vdrv_read(struct vdrv *v, uint32_t off, unsigned size, uint64_t *val);
int vdrv_write(struct vdrv *v, uint32_t off, unsigned size, uint64_t val);
int vdrv_read32(struct vdrv *v, uint32_t off, uint32_t *val);
int vdrv_write32(struct vdrv *v, uint32_t off, uint32_t val);
/*
 * Device config space at off (size 1, 2, 4 or 8; virtio-pci: 8 as two 4-byte reads), with Linux's
 * retry loop while ConfigGeneration (virtio-pci: config_generation) changes. Any transport.
 */
int vdrv_cfg_read(struct vdrv *v, uint32_t off, unsigned size, uint64_t *val);
