/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The PCI host bridge: ECAM and x86 config-space decoding onto bus 0 (32 slots, function 0
 * each), the placement windows, and the lookup of MMIO addresses in decoding BARs.
 *
 * Trust boundary: offsets, sizes and values of vpci_ecam_*, vpci_cfg_* and vpci_mmio_*
 * come from the guest (ioreqs). Sizes and alignment are checked here before any config
 * space is touched; absent buses, slots and functions read all-ones (how enumeration
 * finds nothing). The host configuration comes from vmm/ and is validated once at init;
 * from then on every BAR range a guest programs is checked against it here before the
 * owner is asked to claim it (vpci_host_bar_ok).
 */
#include <errno.h>
#include <string.h>
#include <linux/pci.h>

#include "common/util.h"
#include "virtio-pci/vpci-internal.h"

#define ECAM_MAX_BUSES 256
#define ECAM_BUS(off)  ((unsigned)((off) >> 20) & 0xff)
#define ECAM_DEV(off)  ((unsigned)((off) >> 15) & 0x1f)
#define ECAM_FN(off)   ((unsigned)((off) >> 12) & 0x7)
#define ECAM_REG(off)  ((uint32_t)(off)&0xfff)
#define CFG_SPACE_MAX  0x1000u /* per function, ECAM and PCI_CONFIG ioreqs */

static bool window_sane(const struct vpci_window *w)
{
	return range_ok(w->base, w->size, UINT64_MAX);
}

int vpci_host_init(struct vpci_host *h, const struct vpci_host_config *cfg)
{
	if (cfg->ecam.size % VPCI_ECAM_BUS_SIZE ||
	    cfg->ecam.size > (uint64_t)ECAM_MAX_BUSES * VPCI_ECAM_BUS_SIZE)
		return -EINVAL;
	if (!window_sane(&cfg->ecam) || !window_sane(&cfg->mem) || !window_sane(&cfg->pref))
		return -EINVAL;
	if (cfg->mem.size && cfg->mem.base + cfg->mem.size > (1ULL << 32))
		return -EINVAL; /* the 32-bit window must be reachable by 32-bit BARs */
	if (cfg->io.size && (!window_sane(&cfg->io) || cfg->io.base + cfg->io.size > 0x10000))
		return -EINVAL; /* x86 port space is 64 KiB */
	memset(h, 0, sizeof(*h));
	h->cfg = *cfg;
	return 0;
}

void vpci_host_fini(struct vpci_host *h)
{
	unsigned i;

	for (i = 0; i < VPCI_MAX_SLOTS; i++)
		vpci_host_detach(h, i);
}

int vpci_host_attach(struct vpci_host *h, unsigned slot, struct vpci_dev *p)
{
	if (slot >= VPCI_MAX_SLOTS || p->host)
		return -EINVAL;
	if (h->slots[slot])
		return -EBUSY;
	h->slots[slot] = p;
	p->host = h;
	p->slot = slot;
	vpci_update_intx(p); /* a pending INTx of an earlier attachment shows again */
	/* Normally command 0 (power-on state); a re-attached device decodes as programmed. */
	vpci_host_update_decode(h);
	return 0;
}

void vpci_host_detach(struct vpci_host *h, unsigned slot)
{
	struct vpci_dev *p;

	if (slot >= VPCI_MAX_SLOTS || !h->slots[slot])
		return;
	p = h->slots[slot];
	vpci_dev_unmap_all(p);
	h->slots[slot] = NULL;
	p->host = NULL;
	vpci_update_intx(p); /* a device off the bus drives no line */
	/* A BAR that overlapped one of p's may decode now. */
	vpci_host_update_decode(h);
}

/* --- config space decoding --- */

static bool cfg_access_ok(uint32_t reg, unsigned size)
{
	return (size == 1 || size == 2 || size == 4) && !(reg & (size - 1)) && reg < CFG_SPACE_MAX;
}

static struct vpci_dev *find_fn(struct vpci_host *h, unsigned bus, unsigned dev, unsigned fn)
{
	if (bus != 0 || fn != 0 || dev >= VPCI_MAX_SLOTS)
		return NULL;
	return h->slots[dev];
}

static uint64_t all_ones(unsigned size)
{
	return size >= 8 ? UINT64_MAX : (1ULL << (8 * size)) - 1;
}

static int cfg_read(struct vpci_host *h, unsigned bus, unsigned dev, unsigned fn, uint32_t reg,
		    unsigned size, uint64_t *ret_val)
{
	struct vpci_dev *p;

	*ret_val = all_ones(size);
	if (!cfg_access_ok(reg, size)) {
		log_debug_rl("config read of %u bytes at %02x:%02x.%u+0x%x: bad access", size, bus,
			     dev, fn, reg);
		return -EINVAL;
	}
	p = find_fn(h, bus, dev, fn);
	if (!p)
		return 0; /* nothing there: all-ones, as a master abort */
	/* Conventional function: the extended space (PCIe) reads 0 (Linux then sizes 256). */
	*ret_val = reg < VPCI_CFG_SIZE ? vpci_dev_cfg_read(p, reg, size) : 0;
	return 0;
}

static int cfg_write(struct vpci_host *h, unsigned bus, unsigned dev, unsigned fn, uint32_t reg,
		     unsigned size, uint64_t val)
{
	struct vpci_dev *p;

	if (!cfg_access_ok(reg, size) || val > all_ones(size)) {
		log_debug_rl("config write of %u bytes at %02x:%02x.%u+0x%x: bad access", size, bus,
			     dev, fn, reg);
		return -EINVAL;
	}
	p = find_fn(h, bus, dev, fn);
	if (!p || reg >= VPCI_CFG_SIZE)
		return 0; /* absent function or extended space: dropped */
	vpci_dev_cfg_write(p, reg, size, (uint32_t)val);
	return 0;
}

int vpci_ecam_read(struct vpci_host *h, uint64_t off, unsigned size, uint64_t *ret_val)
{
	if (off >= h->cfg.ecam.size) {
		*ret_val = all_ones(size);
		log_debug_rl("ECAM read at 0x%" PRIx64 ": beyond the window", off);
		return -EINVAL;
	}
	return cfg_read(h, ECAM_BUS(off), ECAM_DEV(off), ECAM_FN(off), ECAM_REG(off), size,
			ret_val);
}

int vpci_ecam_write(struct vpci_host *h, uint64_t off, unsigned size, uint64_t val)
{
	if (off >= h->cfg.ecam.size) {
		log_debug_rl("ECAM write at 0x%" PRIx64 ": beyond the window", off);
		return -EINVAL;
	}
	return cfg_write(h, ECAM_BUS(off), ECAM_DEV(off), ECAM_FN(off), ECAM_REG(off), size, val);
}

int vpci_cfg_read(struct vpci_host *h, uint16_t bdf, uint32_t reg, unsigned size, uint64_t *ret_val)
{
	return cfg_read(h, bdf >> 8, PCI_SLOT(bdf & 0xff), PCI_FUNC(bdf & 0xff), reg, size,
			ret_val);
}

int vpci_cfg_write(struct vpci_host *h, uint16_t bdf, uint32_t reg, unsigned size, uint64_t val)
{
	return cfg_write(h, bdf >> 8, PCI_SLOT(bdf & 0xff), PCI_FUNC(bdf & 0xff), reg, size, val);
}

/* --- BAR placement --- */

static bool in_window(const struct vpci_window *w, uint64_t addr, uint64_t size)
{
	return w->size && addr >= w->base && range_ok(addr - w->base, size, w->size);
}

/*
 * A prefetchable BAR may sit in either window: Linux (and x86 firmware) put a 64-bit
 * prefetchable BAR into the non-prefetchable window when the prefetchable one is absent
 * or full, which the PCI spec allows; the reverse is never legal.
 */
bool vpci_host_bar_ok(struct vpci_host *h, const struct vpci_dev *p, unsigned bar, uint64_t addr,
		      uint64_t size)
{
	const struct vpci_window *ecam = &h->cfg.ecam;
	bool pref = p->bars[bar].prefetch, io = p->bars[bar].io;
	unsigned i, b;

	if (io && !in_window(&h->cfg.io, addr, size))
		return false;
	if (!io && !in_window(&h->cfg.mem, addr, size) &&
	    !(pref && in_window(&h->cfg.pref, addr, size)))
		return false;
	/* From here [addr, addr + size) does not wrap: it lies inside a sane window. */
	if (!io && ecam->size && vpci_overlaps(addr, size, ecam->base, ecam->size))
		return false;
	for (i = 0; i < VPCI_MAX_SLOTS; i++) {
		const struct vpci_dev *o = h->slots[i];

		for (b = 0; o && b < VPCI_NUM_BARS; b++) {
			const struct vpci_bar *ob = &o->bars[b];

			/* memory and port BARs live in different address spaces */
			if ((o != p || b != bar) && ob->mapped && ob->io == io &&
			    vpci_overlaps(addr, size, ob->map_addr, ob->size))
				return false;
		}
	}
	return true;
}

void vpci_host_update_decode(struct vpci_host *h)
{
	unsigned i;

	for (i = 0; i < VPCI_MAX_SLOTS; i++)
		if (h->slots[i])
			vpci_dev_unmap_stale(h->slots[i]);
	for (i = 0; i < VPCI_MAX_SLOTS; i++)
		if (h->slots[i])
			vpci_dev_map_pending(h->slots[i]);
}

/* The decoding BAR of space `io` that contains addr. */
static int lookup(struct vpci_host *h, bool io, uint64_t addr, struct vpci_dev **ret_dev,
		  unsigned *ret_bar, uint64_t *ret_off)
{
	unsigned i, b;

	for (i = 0; i < VPCI_MAX_SLOTS; i++) {
		struct vpci_dev *p = h->slots[i];

		for (b = 0; p && b < VPCI_NUM_BARS; b++) {
			const struct vpci_bar *pb = &p->bars[b];

			if (pb->mapped && pb->io == io && addr >= pb->map_addr &&
			    addr - pb->map_addr < pb->size) {
				*ret_dev = p;
				*ret_bar = b;
				*ret_off = addr - pb->map_addr;
				return 0;
			}
		}
	}
	return -ENOENT;
}

int vpci_host_lookup(struct vpci_host *h, uint64_t addr, struct vpci_dev **ret_dev,
		     unsigned *ret_bar, uint64_t *ret_off)
{
	return lookup(h, false, addr, ret_dev, ret_bar, ret_off);
}

/* A guest access in memory or port space: the BAR that decodes there, or a master abort. */
static int space_read(struct vpci_host *h, bool io, uint64_t addr, unsigned size, uint64_t *ret_val)
{
	struct vpci_dev *p;
	unsigned bar;
	uint64_t off;

	if (lookup(h, io, addr, &p, &bar, &off) < 0) {
		*ret_val = all_ones(size);
		log_debug_rl("%s read at 0x%" PRIx64 ": no BAR decodes there", io ? "port" : "MMIO",
			     addr);
		return -ENOENT;
	}
	return vpci_bar_read(p, bar, off, size, ret_val);
}

static int space_write(struct vpci_host *h, bool io, uint64_t addr, unsigned size, uint64_t val)
{
	struct vpci_dev *p;
	unsigned bar;
	uint64_t off;

	if (lookup(h, io, addr, &p, &bar, &off) < 0) {
		log_debug_rl("%s write at 0x%" PRIx64 ": no BAR decodes there",
			     io ? "port" : "MMIO", addr);
		return -ENOENT;
	}
	return vpci_bar_write(p, bar, off, size, val);
}

int vpci_pio_read(struct vpci_host *h, uint16_t port, unsigned size, uint64_t *ret_val)
{
	return space_read(h, true, port, size, ret_val);
}

int vpci_pio_write(struct vpci_host *h, uint16_t port, unsigned size, uint64_t val)
{
	return space_write(h, true, port, size, val);
}

int vpci_mmio_read(struct vpci_host *h, uint64_t addr, unsigned size, uint64_t *ret_val)
{
	return space_read(h, false, addr, size, ret_val);
}

int vpci_mmio_write(struct vpci_host *h, uint64_t addr, unsigned size, uint64_t val)
{
	return space_write(h, false, addr, size, val);
}

/* --- INTx --- */

unsigned vpci_intx_swizzle(unsigned slot, unsigned pin)
{
	if (pin < 1 || pin > 4)
		pin = 1;
	return (slot + pin - 1) % 4;
}
