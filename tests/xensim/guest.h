/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The guest side of the simulated hypervisor: what a guest vCPU's MMIO access turns into
 * under Xen (an ioreq in the vCPU's slot of the serving ioreq server's page, an event on
 * the vCPU's port, and a wait for the device model's answer), guest RAM as the guest sees
 * it, and interrupt lines as the guest's GIC sees them.
 *
 * Every function may be called from several threads at once, typically one per vCPU;
 * accesses on one vCPU are serialised, as a real vCPU blocks until its ioreq completes.
 * Waits are bounded (GD_TIMEOUT_MS) and fail with -ETIMEDOUT, so a hung device model
 * fails the test instead of hanging it.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <xen/xen.h>
#include <xen/hvm/ioreq.h>

#include "tests/xensim/hv.h"

#define GD_TIMEOUT_MS 5000

/*
 * Send one ioreq exactly as Xen does (copy the slot with state NONE, write barrier,
 * state READY, notify the port) and wait for STATE_IORESP_READY, then take `data` back
 * into io->data and set the slot to NONE. server < 0: route by io->addr and io->size over
 * the MMIO ranges of the enabled servers, as Xen does for a data abort; server >= 0: that
 * server (to send ioreqs Xen would never route, e.g. type PIO on Arm).
 * 0, -EFAULT (no server claims the address: the guest would take a data abort),
 * -ETIMEDOUT, -EPROTO (the device model left the slot in a state other than
 * READY/INPROCESS/IORESP_READY), -EBUSY (the slot was not free), -ENOENT (no such server).
 * A PCI_CONFIG ioreq with server < 0 is routed by the SBDF in addr[63:32] over the servers'
 * PCI ranges instead (-ENODEV if none claims it).
 */
int gd_ioreq(struct xs_dom *d, unsigned vcpu, int server, ioreq_t *io, int timeout_ms);

/*
 * An MMIO read or write of `size` bytes (1, 2, 4, 8) as a guest load/store does it:
 * type COPY, count 1, data_is_ptr 0. A read also fails with -EPROTO if the device model
 * returned bits above `size` bytes (Xen's Arm code would hand them to the guest register).
 */
int gd_mmio_read(struct xs_dom *d, unsigned vcpu, uint64_t addr, unsigned size, uint64_t *val);
int gd_mmio_write(struct xs_dom *d, unsigned vcpu, uint64_t addr, unsigned size, uint64_t val);
/* Xen's map-cache INVALIDATE broadcast: to every enabled server, on vcpu's slot. */
int gd_send_invalidate(struct xs_dom *d, unsigned vcpu);

/*
 * x86 only: a PCI config space access of `size` bytes (1, 2, 4; naturally aligned, reg <
 * 256) as an HVM guest's `out 0xcf8` + `in/out 0xcfc + (reg & 3)` reaches a device model
 * (xen/arch/x86/hvm/ioreq.c arch_ioreq_server_get_type_addr + ioreq_server_select): an
 * IOREQ_TYPE_PCI_CONFIG ioreq, addr = (uint64_t)sbdf << 32 | reg, count 1, to the server
 * that claimed sbdf (HV_SBDF; map_pcidev_to_ioreq_server). When no server claims it, Xen
 * completes the access itself: reads return all ones, writes are dropped (0 is returned).
 * -EOPNOTSUPP on Arm (no port I/O: Xen never sends PCI_CONFIG there), -EINVAL for a bad
 * size, alignment or reg; otherwise as gd_ioreq, and -EPROTO for bits above `size`.
 */
int gd_pci_cfg_read(struct xs_dom *d, unsigned vcpu, uint32_t sbdf, unsigned reg, unsigned size,
		    uint32_t *val);
int gd_pci_cfg_write(struct xs_dom *d, unsigned vcpu, uint32_t sbdf, unsigned reg, unsigned size,
		     uint32_t val);

/*
 * x86 only: an `in`/`out` of size 1, 2 or 4 at `port`: an IOREQ_TYPE_PIO ioreq to the
 * server whose port ranges hold it (map_io_range_to_ioreq_server, is_mmio 0). Nobody:
 * Xen completes it itself, reads all ones, writes dropped (0 returned). -EOPNOTSUPP on Arm.
 */
int gd_pio_read(struct xs_dom *d, unsigned vcpu, uint16_t port, unsigned size, uint32_t *val);
int gd_pio_write(struct xs_dom *d, unsigned vcpu, uint16_t port, unsigned size, uint32_t val);

/*
 * x86 only: one string ioreq as Xen's instruction emulator sends a rep ins/outs/movs/stos
 * (hvmemul_do_io): `count` repetitions of `size` bytes at addr (MMIO: addr, addr + size,
 * ...; downwards with df; a port: always addr), each value taken from or stored to guest
 * RAM at gpa (stepping the same way) when ptr, else `value` repeated (rep stos: writes
 * only). The RAM side stays inside one page as in Xen (-EINVAL otherwise). Routing and
 * errors as gd_ioreq / gd_pio_*.
 */
struct gd_string {
	bool pio;   /* port I/O, else MMIO */
	bool write; /* to the device */
	bool df;
	bool ptr; /* data in guest RAM at gpa */
	unsigned size;
	uint32_t count;
	uint64_t addr;
	uint64_t gpa;
	uint64_t value;
};
int gd_string(struct xs_dom *d, unsigned vcpu, const struct gd_string *s);

/* Guest RAM: a pointer for [gpa, gpa + len) if it lies in one bank, else NULL. */
void *gd_ram(struct xs_dom *d, uint64_t gpa, size_t len);
/* The RAM memfd as a plain back-end would map it: a dup, the caller closes it; or -errno. */
int gd_ram_fd(struct xs_dom *d);
/* The RAM banks and their offsets in that memfd (up to max); returns the bank count. */
unsigned gd_ram_banks(struct xs_dom *d, struct hv_ram_bank *ret, uint64_t *ret_offsets,
		      unsigned max);
/* Allocate zeroed guest RAM from bank 0 (never freed); 0 when exhausted. */
uint64_t gd_alloc(struct xs_dom *d, size_t size, size_t align);

/* Interrupt lines as the guest sees them (Arm SPI numbers; x86 PCI INTx: HV_INTX_KEY). */
uint64_t gd_irq_edges(struct xs_dom *d, unsigned irq);
unsigned gd_irq_level(struct xs_dom *d, unsigned irq);
/* Wait for a rising edge after *edges; updates *edges. 0 or -ETIMEDOUT. */
int gd_irq_wait(struct xs_dom *d, unsigned irq, uint64_t *edges, int timeout_ms);

/* x86 MSIs received with exactly this address and data (hv_msi_count). */
uint64_t gd_msi_count(struct xs_dom *d, uint64_t addr, uint32_t data);
/* Wait for one more than *count of them; updates *count. 0 or -ETIMEDOUT. */
int gd_msi_wait(struct xs_dom *d, uint64_t addr, uint32_t data, uint64_t *count, int timeout_ms);
