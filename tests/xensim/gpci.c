/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The guest's PCI core (gpci.h): enumeration, BAR sizing and assignment, capability
 * lists, as drivers/pci/probe.c, setup-bus.c and setup-res.c do them (Linux 6.1).
 * Trust boundary: config space belongs to the device model under test; every value is
 * checked against the PCI rules before it is used, and every loop over it is bounded.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/pci_regs.h>

#include "tests/xensim/gpci.h"

#define MiB (1ULL << 20)
#define GiB (1ULL << 30)

__attribute__((format(printf, 3, 4))) static int fail(const char *who, int err, const char *fmt,
						      ...)
{
	va_list ap;

	fprintf(stderr, "gpci %s: ", who);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	return err;
}

void gpci_cfg_arm(struct gpci_host_cfg *c)
{
	*c = (struct gpci_host_cfg){
		.access = GPCI_ECAM,
		.ecam_base = 0x33000000,
		.mem_base = 0x34000000,
		.mem_size = 64 * MiB,
		.pref_base = 0x100000000ULL,
		.pref_size = 2 * GiB,
		.intx = GPCI_INTX_SPI,
		.spi_base = 44,
	};
}

void gpci_cfg_x86(struct gpci_host_cfg *c)
{
	*c = (struct gpci_host_cfg){
		.access = GPCI_CF8,
		.mem_base = 0xe0000000,
		.mem_size = 0xfc000000 - 0xe0000000,
		.pref_base = 4 * GiB,
		.pref_size = 64 * GiB,
		.io_base = 0xc000, /* hvmloader's I/O BAR allocation starts there */
		.io_size = 0x4000,
		.intx = GPCI_INTX_X86,
	};
}

void gpci_host_init(struct gpci_host *h, struct xs_dom *d, const struct gpci_host_cfg *cfg)
{
	memset(h, 0, sizeof(*h));
	h->d = d;
	h->cfg = *cfg;
	h->mem_next = cfg->mem_base;
	h->pref_next = cfg->pref_base;
	h->io_next = cfg->io_base;
}

/* --- config accesses --- */

static int cfg_access(struct gpci_host *h, unsigned vcpu, uint8_t dev, uint8_t fn, unsigned reg,
		      unsigned size, uint32_t *val, bool write)
{
	uint64_t addr, v = 0;
	int ret;

	if (dev > 31 || fn > 7 || (size != 1 && size != 2 && size != 4) || (reg & (size - 1)) ||
	    reg >= 4096)
		return -EINVAL;
	if (h->cfg.access == GPCI_CF8) {
		uint32_t sbdf = HV_SBDF(h->cfg.segment, h->cfg.bus, dev, fn);

		return write ? gd_pci_cfg_write(h->d, vcpu, sbdf, reg, size, *val)
			     : gd_pci_cfg_read(h->d, vcpu, sbdf, reg, size, val);
	}
	/* pci_ecam_map_bus(): bus << 20 | devfn << 12 | where (PCIe ECAM, 1 MiB per bus). */
	addr = h->cfg.ecam_base +
	       ((uint64_t)h->cfg.bus << 20 | (uint64_t)dev << 15 | (uint64_t)fn << 12 | reg);
	if (write)
		return gd_mmio_write(h->d, vcpu, addr, size, *val);
	ret = gd_mmio_read(h->d, vcpu, addr, size, &v);
	if (!ret)
		*val = (uint32_t)v;
	return ret;
}

int gpci_read(struct gpci_host *h, unsigned vcpu, uint8_t dev, uint8_t fn, unsigned reg,
	      unsigned size, uint32_t *val)
{
	return cfg_access(h, vcpu, dev, fn, reg, size, val, false);
}

int gpci_write(struct gpci_host *h, unsigned vcpu, uint8_t dev, uint8_t fn, unsigned reg,
	       unsigned size, uint32_t val)
{
	return cfg_access(h, vcpu, dev, fn, reg, size, &val, true);
}

int gpci_fn_read(struct gpci_host *h, unsigned vcpu, const struct gpci_fn *f, unsigned reg,
		 unsigned size, uint32_t *val)
{
	int ret = gpci_read(h, vcpu, f->dev, f->fn, reg, size, val);

	return ret < 0 ? fail(f->name, ret, "config read 0x%x/%u: %s", reg, size, strerror(-ret))
		       : 0;
}

int gpci_fn_write(struct gpci_host *h, unsigned vcpu, const struct gpci_fn *f, unsigned reg,
		  unsigned size, uint32_t val)
{
	int ret = gpci_write(h, vcpu, f->dev, f->fn, reg, size, val);

	return ret < 0 ? fail(f->name, ret, "config write 0x%x/%u = 0x%x: %s", reg, size, val,
			      strerror(-ret))
		       : 0;
}

/* --- setting up one function (pci_setup_device) --- */

/* One BAR's size: __pci_read_base(). *ret_skip is set when it is the low half of a pair. */
static int size_bar(struct gpci_host *h, unsigned vcpu, struct gpci_fn *f, unsigned i,
		    bool *ret_skip)
{
	struct gpci_bar *b = &f->bar[i];
	unsigned pos = PCI_BASE_ADDRESS_0 + 4 * i;
	uint32_t l, sz, lh = 0, szh = 0;
	uint64_t sz64, mask64, size;
	int ret;

	*ret_skip = false;
	if ((ret = gpci_fn_read(h, vcpu, f, pos, 4, &l)) < 0 ||
	    (ret = gpci_fn_write(h, vcpu, f, pos, 4, ~0u)) < 0 ||
	    (ret = gpci_fn_read(h, vcpu, f, pos, 4, &sz)) < 0 ||
	    (ret = gpci_fn_write(h, vcpu, f, pos, 4, l)) < 0)
		return ret;
	if (!sz || sz == ~0u) /* nothing implemented (Linux: sz == ~0 counts as 0) */
		return 0;
	b->io = l & PCI_BASE_ADDRESS_SPACE_IO;
	b->flags = l & (b->io ? ~PCI_BASE_ADDRESS_IO_MASK : ~PCI_BASE_ADDRESS_MEM_MASK);
	if ((sz ^ l) & b->flags)
		return fail(f->name, -EPROTO,
			    "BAR %u: type bits changed by the sizing write "
			    "(0x%x, then 0x%x)",
			    i, l, sz);
	if (b->io) {
		b->size = (sz & PCI_BASE_ADDRESS_IO_MASK) & -(sz & PCI_BASE_ADDRESS_IO_MASK);
		return 0;
	}
	b->prefetch = l & PCI_BASE_ADDRESS_MEM_PREFETCH;
	switch (l & PCI_BASE_ADDRESS_MEM_TYPE_MASK) {
	case PCI_BASE_ADDRESS_MEM_TYPE_32:
	case PCI_BASE_ADDRESS_MEM_TYPE_1M:
		break;
	case PCI_BASE_ADDRESS_MEM_TYPE_64:
		if (i == GPCI_NUM_BARS - 1)
			return fail(f->name, -EPROTO, "BAR 5 is a 64-bit BAR");
		b->is64 = true;
		*ret_skip = true;
		break;
	default:
		return fail(f->name, -EPROTO, "BAR %u: reserved memory type (0x%x)", i, l);
	}
	sz64 = sz & PCI_BASE_ADDRESS_MEM_MASK;
	mask64 = (uint32_t)PCI_BASE_ADDRESS_MEM_MASK;
	if (b->is64) {
		pos += 4;
		if ((ret = gpci_fn_read(h, vcpu, f, pos, 4, &lh)) < 0 ||
		    (ret = gpci_fn_write(h, vcpu, f, pos, 4, ~0u)) < 0 ||
		    (ret = gpci_fn_read(h, vcpu, f, pos, 4, &szh)) < 0 ||
		    (ret = gpci_fn_write(h, vcpu, f, pos, 4, lh)) < 0)
			return ret;
		sz64 |= (uint64_t)szh << 32;
		mask64 |= 0xffffffff00000000ULL;
	}
	size = sz64 & -sz64;
	/* pci_size(): every address bit above the size must be writable. */
	if (!size || sz64 != (mask64 & ~(size - 1)))
		return fail(f->name, -EPROTO,
			    "BAR %u: sizing read 0x%" PRIx64 " is not a power-of-two size mask", i,
			    sz64);
	b->size = size;
	return 0;
}

/* pci_read_bases(): decoding off while sizing, as __pci_read_base does. */
static int read_bases(struct gpci_host *h, unsigned vcpu, struct gpci_fn *f)
{
	uint32_t cmd, l, sz;
	bool skip;
	int ret;

	if ((ret = gpci_fn_read(h, vcpu, f, PCI_COMMAND, 2, &cmd)) < 0)
		return ret;
	if ((cmd & (PCI_COMMAND_IO | PCI_COMMAND_MEMORY)) &&
	    (ret = gpci_fn_write(h, vcpu, f, PCI_COMMAND, 2,
				 cmd & ~(PCI_COMMAND_IO | PCI_COMMAND_MEMORY))) < 0)
		return ret;
	for (unsigned i = 0; i < GPCI_NUM_BARS; i++) {
		if ((ret = size_bar(h, vcpu, f, i, &skip)) < 0)
			return ret;
		i += skip;
	}
	/* The expansion ROM: sized with PCI_ROM_ADDRESS_MASK, never enabled here. */
	if ((ret = gpci_fn_read(h, vcpu, f, PCI_ROM_ADDRESS, 4, &l)) < 0 ||
	    (ret = gpci_fn_write(h, vcpu, f, PCI_ROM_ADDRESS, 4, l | PCI_ROM_ADDRESS_MASK)) < 0 ||
	    (ret = gpci_fn_read(h, vcpu, f, PCI_ROM_ADDRESS, 4, &sz)) < 0 ||
	    (ret = gpci_fn_write(h, vcpu, f, PCI_ROM_ADDRESS, 4, l)) < 0)
		return ret;
	sz &= PCI_ROM_ADDRESS_MASK;
	f->rom_size = sz & -sz;
	if (cmd & (PCI_COMMAND_IO | PCI_COMMAND_MEMORY))
		return gpci_fn_write(h, vcpu, f, PCI_COMMAND, 2, cmd);
	return 0;
}

/* __pci_find_next_cap_ttl(), walked to the end: at most 48 entries, each at >= 0x40. */
static int read_caps(struct gpci_host *h, unsigned vcpu, struct gpci_fn *f)
{
	uint32_t pos, ent;
	int ret;

	f->ncaps = 0;
	if (!(f->status & PCI_STATUS_CAP_LIST))
		return 0;
	if ((ret = gpci_fn_read(h, vcpu, f, PCI_CAPABILITY_LIST, 1, &pos)) < 0)
		return ret;
	for (unsigned ttl = GPCI_MAX_CAPS; pos; ttl--) {
		if (pos < 0x40 || pos > 0xfc || (pos & 3))
			return fail(f->name, -EPROTO, "capability pointer 0x%x", pos);
		if (!ttl)
			return fail(f->name, -EPROTO, "capability list longer than %u entries",
				    GPCI_MAX_CAPS);
		if ((ret = gpci_fn_read(h, vcpu, f, pos, 2, &ent)) < 0)
			return ret;
		if ((ent & 0xff) == 0xff)
			break;
		f->caps[f->ncaps++] = (struct gpci_cap){ (uint8_t)pos, (uint8_t)ent };
		pos = ent >> 8;
	}
	return 0;
}

static int setup_fn(struct gpci_host *h, unsigned vcpu, uint8_t dev, uint8_t fn, uint32_t id,
		    struct gpci_fn *f)
{
	uint32_t v;
	int ret;

	memset(f, 0, sizeof(*f));
	f->dev = dev;
	f->fn = fn;
	snprintf(f->name, sizeof(f->name), "%04x:%02x:%02x.%x", h->cfg.segment, h->cfg.bus, dev,
		 fn);
	f->vendor = (uint16_t)id;
	f->device = (uint16_t)(id >> 16);
	if ((ret = gpci_fn_read(h, vcpu, f, PCI_CLASS_REVISION, 4, &v)) < 0)
		return ret;
	f->revision = (uint8_t)v;
	f->class = v >> 8;
	if ((ret = gpci_fn_read(h, vcpu, f, PCI_HEADER_TYPE, 1, &v)) < 0)
		return ret;
	f->header_type = (uint8_t)v;
	if ((f->header_type & 0x7f) != PCI_HEADER_TYPE_NORMAL)
		return fail(f->name, -EPROTO, "header type 0x%x (only type 0 is expected here)",
			    f->header_type);
	if ((ret = gpci_fn_read(h, vcpu, f, PCI_INTERRUPT_PIN, 1, &v)) < 0)
		return ret;
	f->irq_pin = (uint8_t)v;
	if (f->irq_pin > 4)
		return fail(f->name, -EPROTO, "interrupt pin %u", f->irq_pin);
	if ((ret = gpci_fn_read(h, vcpu, f, PCI_SUBSYSTEM_VENDOR_ID, 2, &v)) < 0)
		return ret;
	f->subsys_vendor = (uint16_t)v;
	if ((ret = gpci_fn_read(h, vcpu, f, PCI_SUBSYSTEM_ID, 2, &v)) < 0)
		return ret;
	f->subsys_device = (uint16_t)v;
	if ((ret = gpci_fn_read(h, vcpu, f, PCI_STATUS, 2, &v)) < 0)
		return ret;
	f->status = (uint16_t)v;
	if ((ret = read_bases(h, vcpu, f)) < 0 || (ret = read_caps(h, vcpu, f)) < 0)
		return ret;
	/* The ids must not have changed under the sizing writes. */
	if ((ret = gpci_fn_read(h, vcpu, f, PCI_VENDOR_ID, 4, &v)) < 0)
		return ret;
	if (v != id)
		return fail(f->name, -EPROTO, "vendor:device 0x%08x, then 0x%08x", id, v);
	return 0;
}

/* pci_bus_read_dev_vendor_id(): absent functions read all ones (or 0 on broken hosts). */
static bool present(uint32_t id)
{
	return id != 0xffffffff && id != 0 && id != 0x0000ffff && id != 0xffff0000;
}

int gpci_scan(struct gpci_host *h, unsigned vcpu, struct gpci_fn *out, unsigned max,
	      unsigned *ret_n)
{
	struct gpci_fn tmp;
	unsigned n = 0;
	uint32_t id;
	int ret;

	for (uint8_t dev = 0; dev < 32; dev++) {
		bool multi = false;

		for (uint8_t fn = 0; fn < 8 && (fn == 0 || multi); fn++) {
			struct gpci_fn *f = n < max ? &out[n] : &tmp;

			ret = gpci_read(h, vcpu, dev, fn, PCI_VENDOR_ID, 4, &id);
			if (ret < 0)
				return fail("scan", ret, "%02x.%x vendor id: %s", dev, fn,
					    strerror(-ret));
			if (!present(id)) {
				if (fn == 0)
					break; /* function 0 is required (pci_scan_slot) */
				continue;
			}
			if ((ret = setup_fn(h, vcpu, dev, fn, id, f)) < 0)
				return ret;
			if (fn == 0)
				multi = f->header_type & 0x80;
			n++;
		}
	}
	*ret_n = n;
	return 0;
}

/* --- resources (setup-bus.c, setup-res.c) --- */

struct res {
	struct gpci_fn *f;
	unsigned bar;
};

static int res_cmp(const void *a, const void *b)
{
	const struct res *x = a, *y = b;
	uint64_t sx = x->f->bar[x->bar].size, sy = y->f->bar[y->bar].size;

	if (sx != sy)
		return sx > sy ? -1 : 1;
	if (x->f != y->f)
		return x->f < y->f ? -1 : 1;
	return x->bar < y->bar ? -1 : (x->bar > y->bar);
}

/* Natural alignment in [base, base + size) from *next; 0 if it does not fit. */
static uint64_t take(uint64_t *next, uint64_t base, uint64_t wsize, uint64_t size)
{
	uint64_t a = (*next + size - 1) & ~(size - 1);

	if (!wsize || a < *next || a < base || a - base > wsize || size > wsize - (a - base))
		return 0;
	*next = a + size;
	return a;
}

/* pci_std_update_resource(): low half then high half, decoding off for a 64-bit BAR. */
static int program_bar(struct gpci_host *h, unsigned vcpu, struct gpci_fn *f, unsigned i)
{
	struct gpci_bar *b = &f->bar[i];
	unsigned pos = PCI_BASE_ADDRESS_0 + 4 * i;
	uint32_t cmd = 0, lo, hi = 0;
	int ret;

	if (b->is64 &&
	    ((ret = gpci_fn_read(h, vcpu, f, PCI_COMMAND, 2, &cmd)) < 0 ||
	     (ret = gpci_fn_write(h, vcpu, f, PCI_COMMAND, 2, cmd & ~PCI_COMMAND_MEMORY)) < 0))
		return ret;
	if ((ret = gpci_fn_write(h, vcpu, f, pos, 4, (uint32_t)b->addr | b->flags)) < 0 ||
	    (b->is64 && (ret = gpci_fn_write(h, vcpu, f, pos + 4, 4, b->addr >> 32)) < 0) ||
	    (ret = gpci_fn_read(h, vcpu, f, pos, 4, &lo)) < 0 ||
	    (b->is64 && (ret = gpci_fn_read(h, vcpu, f, pos + 4, 4, &hi)) < 0))
		return ret;
	if ((lo & (b->io ? PCI_BASE_ADDRESS_IO_MASK : PCI_BASE_ADDRESS_MEM_MASK)) !=
		    (uint32_t)b->addr ||
	    hi != (uint32_t)(b->addr >> 32))
		return fail(f->name, -EPROTO,
			    "BAR %u: programmed 0x%" PRIx64 ", reads back 0x%08x%08x", i, b->addr,
			    hi, lo);
	if (b->is64 && (cmd & PCI_COMMAND_MEMORY))
		return gpci_fn_write(h, vcpu, f, PCI_COMMAND, 2, cmd);
	return 0;
}

int gpci_assign(struct gpci_host *h, unsigned vcpu, struct gpci_fn *fns, unsigned n)
{
	struct res *r = calloc((size_t)n * GPCI_NUM_BARS + 1, sizeof(*r));
	unsigned nr = 0;
	int ret = 0;

	if (!r)
		return -ENOMEM;
	for (unsigned k = 0; k < n; k++) {
		for (unsigned i = 0; i < GPCI_NUM_BARS; i++) {
			if (fns[k].bar[i].size && (!fns[k].bar[i].io || h->cfg.io_size))
				r[nr++] = (struct res){ &fns[k], i };
		}
	}
	qsort(r, nr, sizeof(*r), res_cmp);
	for (unsigned k = 0; k < nr && !ret; k++) {
		struct gpci_bar *b = &r[k].f->bar[r[k].bar];
		uint64_t a = 0;

		/* A prefetchable 64-bit BAR prefers the prefetchable window, as Linux does. */
		if (b->io)
			a = take(&h->io_next, h->cfg.io_base, h->cfg.io_size, b->size);
		else if (b->prefetch && b->is64)
			a = take(&h->pref_next, h->cfg.pref_base, h->cfg.pref_size, b->size);
		if (!a && !b->io)
			a = take(&h->mem_next, h->cfg.mem_base, h->cfg.mem_size, b->size);
		if (!a) {
			ret = fail(r[k].f->name, -ENOSPC, "BAR %u (%" PRIu64 " bytes): no room",
				   r[k].bar, b->size);
			break;
		}
		b->addr = a;
		ret = program_bar(h, vcpu, r[k].f, r[k].bar);
	}
	free(r);
	return ret;
}

int gpci_enable(struct gpci_host *h, unsigned vcpu, struct gpci_fn *f)
{
	uint32_t cmd, want;
	int ret;

	if ((ret = gpci_fn_read(h, vcpu, f, PCI_COMMAND, 2, &cmd)) < 0)
		return ret;
	/* pci_enable_resources(), do_pci_enable_device() (INTx on), pci_set_master(). */
	want = cmd | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER;
	for (unsigned i = 0; i < GPCI_NUM_BARS; i++)
		if (f->bar[i].io && f->bar[i].addr)
			want |= PCI_COMMAND_IO;
	if (f->irq_pin)
		want &= ~PCI_COMMAND_INTX_DISABLE;
	if (want != cmd && (ret = gpci_fn_write(h, vcpu, f, PCI_COMMAND, 2, want)) < 0)
		return ret;
	if ((ret = gpci_fn_read(h, vcpu, f, PCI_COMMAND, 2, &cmd)) < 0)
		return ret;
	if ((cmd & want) != want)
		return fail(f->name, -EPROTO, "command register 0x%04x, wrote 0x%04x", cmd, want);
	return 0;
}

int gpci_disable(struct gpci_host *h, unsigned vcpu, struct gpci_fn *f)
{
	uint32_t cmd;
	int ret = gpci_fn_read(h, vcpu, f, PCI_COMMAND, 2, &cmd);

	if (ret < 0 || !(cmd & PCI_COMMAND_MASTER))
		return ret;
	return gpci_fn_write(h, vcpu, f, PCI_COMMAND, 2, cmd & ~PCI_COMMAND_MASTER);
}

uint8_t gpci_find_cap(const struct gpci_fn *f, uint8_t id, uint8_t from)
{
	bool past = !from;

	for (unsigned i = 0; i < f->ncaps; i++) {
		if (past && f->caps[i].id == id)
			return f->caps[i].off;
		if (f->caps[i].off == from)
			past = true;
	}
	return 0;
}

unsigned gpci_intx_line(const struct gpci_host *h, const struct gpci_fn *f)
{
	unsigned pin = f->irq_pin ? f->irq_pin : 1;

	if (h->cfg.intx == GPCI_INTX_X86)
		return HV_INTX_KEY(h->cfg.bus, f->dev, pin - 1);
	/* The standard swizzle of a device on the host bridge's own bus. */
	return h->cfg.spi_base + (f->dev + pin - 1) % 4;
}
