/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Helpers of the virtio-pci tests (sim-pci-*): the --pci option that matches a guest
 * placement, enumeration with the checks of what xvdm's virtio-pci functions promise
 * (virtio-pci/vpci.h), BAR claims, and entropy reads. Every failure ends the test
 * through sim_fail().
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "tests/xensim/sim.h"
#include "tests/xensim/vdrv-pci.h"

#define SIM_PCI_MAX_FNS 8

/* A function the test expects on bus 0. */
struct sim_pci_expect {
	uint8_t slot;
	uint32_t virtio_id; /* VIRTIO_ID_* */
	bool msix;	    /* an MSI-X capability */
	uint8_t nshm;	    /* VIRTIO shared memory regions (0: no BAR 4) */
	bool pio_notify;    /* I/O BAR 0 with the notify register (pio-notify=on) */
};

/* "--pci" value for xvdm that matches the guest's placement cfg (mode ecam or cfg). */
const char *sim_pci_arg(struct sim *s, const struct gpci_host_cfg *cfg);

/*
 * Scan bus 0 and assign the BARs, as the guest's PCI core does at boot. The functions
 * found must be exactly `want`, in slot order: vendor 0x1af4, device 0x1040 + id,
 * revision >= 1, pin INTA, BAR 2 a 64-bit prefetchable memory BAR (the modern virtio BAR),
 * BAR 4 likewise when the device has shared memory regions (else none), no I/O BARs, the
 * capabilities COMMON, NOTIFY, ISR, PCI_CFG, one SHARED_MEMORY per region, and MSI-X
 * exactly when expected. After assignment every BAR
 * lies in its window and none is claimed yet (memory decoding is still off).
 * Returns the functions in fns[] (same order as want).
 */
void sim_pci_enumerate(struct sim *s, struct gpci_host *h, unsigned vcpu,
		       const struct sim_pci_expect *want, unsigned n, struct gpci_fn *fns);

/* Every assigned BAR of f is claimed by an enabled server now (after the driver's probe). */
void sim_pci_check_claimed(struct sim *s, struct gpci_host *h, const struct gpci_fn *f);

/*
 * INTx is a level: once the driver's handler has read the ISR (done here if the line is
 * high, as the guest's interrupt would run it), the line must go low (bounded wait). For
 * a device whose line no other device shares.
 */
void sim_pci_check_intx_idle(struct sim *s, struct vdrv *v);

/*
 * One virtio-rng request of len bytes at gpa through v: the device must fill between 1
 * and len bytes, mostly non-zero, not the same 16 bytes as last time (prev). 0, or
 * -errno with `what` set.
 */
int sim_rng_read(struct vdrv *v, uint64_t gpa, uint32_t len, uint8_t prev[16], char *what,
		 size_t what_len);
