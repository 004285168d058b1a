/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The guest's PCI core: bus 0 of one host bridge probed the way Linux's drivers/pci does
 * it (probe.c, setup-bus.c, setup-res.c as of Linux 6.1), through the simulated
 * hypervisor. Config space is reached either through an ECAM window (Arm: MMIO accesses
 * to ecam_base + (bus << 20 | dev << 15 | fn << 12 | reg), pci-host-ecam-generic) or
 * through PCI_CONFIG ioreqs (x86 HVM: 0xcf8/0xcfc, gd_pci_cfg_read/write).
 *
 *	gpci_host_init(&h, d, &cfg);		placement: access, windows, INTx routing
 *	gpci_scan(&h, vcpu, fns, max, &n);	ids, header, BAR sizes, capability list
 *	gpci_assign(&h, vcpu, fns, n);		BAR addresses from the windows, programmed
 *	gpci_enable(&h, vcpu, &fns[i]);		memory decode + bus master (a driver's probe)
 *
 * Every value read comes from the device model under test and is checked; what breaks
 * the PCI rules (a BAR whose size bits are not a power of two, a BAR that does not keep
 * its address, a capability list that does not end, ids that change) is reported as
 * "gpci <dev>: ..." on stderr and returned as -EPROTO. Other errors as guest.h (-EFAULT:
 * the ECAM window is not claimed, the guest would take a data abort).
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "tests/xensim/guest.h"

#define GPCI_NUM_BARS 6
#define GPCI_MAX_CAPS 48 /* Linux's PCI_FIND_CAP_TTL */
#define GPCI_MAX_FNS  (32 * 8)

enum gpci_access {
	GPCI_ECAM, /* Arm: MMIO to the ECAM window */
	GPCI_CF8,  /* x86: PCI_CONFIG ioreqs */
};

enum gpci_intx {
	GPCI_INTX_SPI, /* Arm: pin swizzled onto spi_base + (slot + pin - 1) % 4, level-high */
	GPCI_INTX_X86, /* x86: set_pci_intx_level lines, HV_INTX_KEY(bus, dev, pin - 1) */
};

/* Where the host bridge sits and what it decodes; every field is the test's to choose. */
struct gpci_host_cfg {
	enum gpci_access access;
	uint64_t ecam_base; /* GPCI_ECAM: config space of bus 0 at ecam_base */
	uint16_t segment;   /* GPCI_CF8 */
	uint8_t bus;
	uint64_t mem_base, mem_size;   /* 32-bit non-prefetchable BAR window */
	uint64_t pref_base, pref_size; /* 64-bit prefetchable window; size 0 = none */
	uint32_t io_base, io_size;     /* x86 port window for I/O BARs; size 0 = none */
	enum gpci_intx intx;
	unsigned spi_base; /* GPCI_INTX_SPI: the SPI of host-bridge line INTA */
};

struct gpci_host {
	struct xs_dom *d;
	struct gpci_host_cfg cfg;
	uint64_t mem_next, pref_next, io_next; /* allocation cursors of gpci_assign */
};

struct gpci_bar {
	uint64_t size;	/* 0 = not implemented */
	uint64_t addr;	/* assigned by gpci_assign (0 = not assigned) */
	uint32_t flags; /* the low bits as read: PCI_BASE_ADDRESS_SPACE_IO, _MEM_TYPE_64, ... */
	bool is64, prefetch, io;
};

struct gpci_cap {
	uint8_t off;
	uint8_t id;
};

/* One function as the PCI core knows it after scanning. */
struct gpci_fn {
	uint8_t dev, fn;
	char name[24]; /* "0000:00:05.0" */
	uint16_t vendor, device, subsys_vendor, subsys_device;
	uint8_t revision, header_type, irq_pin;
	uint32_t class; /* class << 16 | subclass << 8 | prog-if */
	uint16_t status;
	struct gpci_bar bar[GPCI_NUM_BARS];
	uint32_t rom_size; /* expansion ROM, sized but never assigned */
	unsigned ncaps;
	struct gpci_cap caps[GPCI_MAX_CAPS];
};

/* Arm defaults of xvdm's ECAM host bridge (vmm/pcicfg.c): ECAM 0x33000000, MEM
 * 0x34000000 + 64 MiB, prefetchable 0x100000000 + 2 GiB, INTA..INTD on SPIs 44..47. */
void gpci_cfg_arm(struct gpci_host_cfg *c);
/* x86: PCI_CONFIG ioreqs on segment 0 bus 0, MEM 0xe0000000..0xfc000000 (xvdm's
 * default), 64 GiB prefetchable from 4 GiB (inside xvdm's), set_pci_intx_level INTx. */
void gpci_cfg_x86(struct gpci_host_cfg *c);
void gpci_host_init(struct gpci_host *h, struct xs_dom *d, const struct gpci_host_cfg *cfg);

/* One config access of size 1, 2 or 4 bytes (naturally aligned, reg < 4096; < 256 x86). */
int gpci_read(struct gpci_host *h, unsigned vcpu, uint8_t dev, uint8_t fn, unsigned reg,
	      unsigned size, uint32_t *val);
int gpci_write(struct gpci_host *h, unsigned vcpu, uint8_t dev, uint8_t fn, unsigned reg,
	       unsigned size, uint32_t val);
/* The same on a scanned function. */
int gpci_fn_read(struct gpci_host *h, unsigned vcpu, const struct gpci_fn *f, unsigned reg,
		 unsigned size, uint32_t *val);
int gpci_fn_write(struct gpci_host *h, unsigned vcpu, const struct gpci_fn *f, unsigned reg,
		  unsigned size, uint32_t val);

/*
 * pci_scan_child_bus(): every device 0..31, function 0 and, if the header type says
 * multi-function, 1..7; absent functions read vendor:device all ones. Each function found
 * is set up (pci_setup_device): ids, class, header type 0 only, pin, BAR sizes by all-ones
 * writes with decoding off (save, write ~0, read, restore; 64-bit pairs), the ROM, the
 * capability list. Fills up to max entries; *ret_n is the number of functions found.
 */
int gpci_scan(struct gpci_host *h, unsigned vcpu, struct gpci_fn *out, unsigned max,
	      unsigned *ret_n);
/*
 * pci_assign_unassigned_resources(): every memory BAR of the functions, largest first,
 * naturally aligned; 64-bit prefetchable BARs in the prefetchable window when there is
 * one, everything else in the 32-bit window; written (low then high half, decoding off
 * for 64-bit BARs, as pci_std_update_resource) and read back. I/O BARs are not assigned.
 * -ENOSPC when a window is full.
 */
int gpci_assign(struct gpci_host *h, unsigned vcpu, struct gpci_fn *fns, unsigned n);
/* pci_enable_device() + pci_set_master(): memory decode on, INTx enabled, bus master. */
int gpci_enable(struct gpci_host *h, unsigned vcpu, struct gpci_fn *f);
/* pci_clear_master() at driver removal. */
int gpci_disable(struct gpci_host *h, unsigned vcpu, struct gpci_fn *f);

/* The config offset of the first capability `id` after `from` (0: the first), 0 if none. */
uint8_t gpci_find_cap(const struct gpci_fn *f, uint8_t id, uint8_t from);
/* The line the guest waits on for f's INTx: the SPI after the swizzle, or HV_INTX_KEY. */
unsigned gpci_intx_line(const struct gpci_host *h, const struct gpci_fn *f);
