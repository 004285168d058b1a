/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Helpers of the virtio-pci tests (sim-pci.h). Trust boundary: as gpci.c and vdrv-pci.c. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <linux/pci_regs.h>
#include <linux/virtio_pci.h>
#include <glib.h>

#include "tests/xensim/sim-pci.h"

const char *sim_pci_arg(struct sim *s, const struct gpci_host_cfg *c)
{
	static char buf[256];

	if (c->access == GPCI_ECAM)
		snprintf(buf, sizeof(buf),
			 "mode=ecam,ecam=0x%" PRIx64 ",mem=0x%" PRIx64 ":0x%" PRIx64
			 ",pref=0x%" PRIx64 ":0x%" PRIx64 ",irq=%u",
			 c->ecam_base, c->mem_base, c->mem_size, c->pref_base, c->pref_size,
			 c->spi_base);
	else
		snprintf(buf, sizeof(buf),
			 "mode=cfg,mem=0x%" PRIx64 ":0x%" PRIx64 ",pref=0x%" PRIx64 ":0x%" PRIx64,
			 c->mem_base, c->mem_size, c->pref_base, c->pref_size);
	return buf;
}

/* The vendor capabilities of f by cfg_type, as a bit mask; *ret_nshm: SHARED_MEMORY ones. */
static unsigned vendor_caps(struct sim *s, struct gpci_host *h, unsigned vcpu,
			    const struct gpci_fn *f, unsigned *ret_nshm)
{
	unsigned mask = 0;
	uint32_t type;

	*ret_nshm = 0;
	for (uint8_t pos = gpci_find_cap(f, PCI_CAP_ID_VNDR, 0); pos;
	     pos = gpci_find_cap(f, PCI_CAP_ID_VNDR, pos)) {
		SIM_CHECK(s,
			  !gpci_fn_read(h, vcpu, f, pos + offsetof(struct virtio_pci_cap, cfg_type),
					1, &type),
			  "%s: cfg_type at 0x%x", f->name, pos);
		if (type < 32)
			mask |= 1u << type;
		*ret_nshm += type == VIRTIO_PCI_CAP_SHARED_MEMORY_CFG;
	}
	return mask;
}

static void check_fn(struct sim *s, struct gpci_host *h, unsigned vcpu, const struct gpci_fn *f,
		     const struct sim_pci_expect *w)
{
	const struct gpci_bar *b2 = &f->bar[2], *b4 = &f->bar[4];
	unsigned nshm, caps = vendor_caps(s, h, vcpu, f, &nshm), need;

	SIM_CHECK(s, f->dev == w->slot && f->fn == 0, "found %s, expected slot %u", f->name,
		  w->slot);
	SIM_CHECK(s, f->vendor == 0x1af4 && f->device == 0x1040 + w->virtio_id,
		  "%s: %04x:%04x, expected 1af4:%04x", f->name, f->vendor, f->device,
		  0x1040 + w->virtio_id);
	SIM_CHECK(s, f->revision >= 1, "%s: revision %u (a non-transitional device has >= 1)",
		  f->name, f->revision);
	SIM_CHECK(s, f->irq_pin == 1, "%s: interrupt pin %u, expected INTA", f->name, f->irq_pin);
	SIM_CHECK(s, b2->size && !b2->io && b2->is64 && b2->prefetch,
		  "%s: BAR 2 size %" PRIu64 " io %d 64-bit %d prefetchable %d", f->name, b2->size,
		  b2->io, b2->is64, b2->prefetch);
	SIM_CHECK(s, !w->nshm == !b4->size && (!b4->size || (b4->is64 && b4->prefetch)),
		  "%s: BAR 4 size %" PRIu64 " (64-bit %d prefetchable %d), %u shared memory "
		  "regions expected",
		  f->name, b4->size, b4->is64, b4->prefetch, w->nshm);
	SIM_CHECK(s, nshm == w->nshm, "%s: %u SHARED_MEMORY capabilities, expected %u", f->name,
		  nshm, w->nshm);
	for (unsigned i = 0; i < GPCI_NUM_BARS; i++)
		SIM_CHECK(s,
			  !f->bar[i].io || !f->bar[i].size ||
				  (w->pio_notify && i == 0 && f->bar[i].size == 4),
			  "%s: I/O BAR %u (%" PRIu64 " ports)", f->name, i, f->bar[i].size);
	SIM_CHECK(s, !w->pio_notify || f->bar[0].io, "%s: no I/O BAR 0", f->name);
	need = 1u << VIRTIO_PCI_CAP_COMMON_CFG | 1u << VIRTIO_PCI_CAP_NOTIFY_CFG |
	       1u << VIRTIO_PCI_CAP_ISR_CFG | 1u << VIRTIO_PCI_CAP_PCI_CFG;
	SIM_CHECK(s, (caps & need) == need, "%s: vendor capabilities 0x%x, need 0x%x", f->name,
		  caps, need);
	SIM_CHECK(s, !!gpci_find_cap(f, PCI_CAP_ID_MSIX, 0) == w->msix, "%s: MSI-X capability %s",
		  f->name, w->msix ? "missing" : "present, xvdm was told msix off");
}

static bool in_window(uint64_t a, uint64_t size, uint64_t base, uint64_t wsize)
{
	return a >= base && a - base <= wsize && size <= wsize - (a - base);
}

void sim_pci_enumerate(struct sim *s, struct gpci_host *h, unsigned vcpu,
		       const struct sim_pci_expect *want, unsigned n, struct gpci_fn *fns)
{
	struct gpci_fn found[SIM_PCI_MAX_FNS];
	struct hv_claim cl;
	unsigned nf = 0;
	int r;

	SIM_CHECK(s, n <= SIM_PCI_MAX_FNS, "too many functions expected");
	r = gpci_scan(h, vcpu, found, SIM_PCI_MAX_FNS, &nf);
	SIM_CHECK(s, !r, "scanning bus 0: %s", strerror(-r));
	SIM_CHECK(s, nf == n, "bus 0 has %u functions, expected %u", nf, n);
	for (unsigned i = 0; i < n; i++) {
		check_fn(s, h, vcpu, &found[i], &want[i]);
		sim_note("%s: %04x:%04x rev %u, BAR 2 %" PRIu64 " KiB 64-bit prefetchable, "
			 "%u capabilities%s",
			 found[i].name, found[i].vendor, found[i].device, found[i].revision,
			 found[i].bar[2].size >> 10, found[i].ncaps,
			 gpci_find_cap(&found[i], PCI_CAP_ID_MSIX, 0) ? ", MSI-X" : "");
	}
	r = gpci_assign(h, vcpu, found, nf);
	SIM_CHECK(s, !r, "assigning BARs: %s", strerror(-r));
	for (unsigned i = 0; i < n; i++) {
		for (unsigned k = 0; k < GPCI_NUM_BARS; k++) {
			const struct gpci_bar *b = &found[i].bar[k];
			bool pref = b->prefetch && b->is64 && h->cfg.pref_size;

			if (!b->size)
				continue;
			SIM_CHECK(
				s,
				b->io  ? in_window(b->addr, b->size, h->cfg.io_base, h->cfg.io_size)
				: pref ? in_window(b->addr, b->size, h->cfg.pref_base,
						   h->cfg.pref_size)
				       : in_window(b->addr, b->size, h->cfg.mem_base,
						   h->cfg.mem_size),
				"%s: BAR %u at 0x%" PRIx64 " outside its window", found[i].name, k,
				b->addr);
			if (b->io)
				hv_dom_pio_claim(h->d, (uint16_t)b->addr, &cl);
			else
				hv_dom_claim(h->d, b->addr, &cl);
			SIM_CHECK(s, !cl.mapped,
				  "%s: BAR %u at 0x%" PRIx64
				  " claimed before memory decoding is on",
				  found[i].name, k, b->addr);
		}
		fns[i] = found[i];
	}
}

void sim_pci_check_claimed(struct sim *s, struct gpci_host *h, const struct gpci_fn *f)
{
	struct hv_claim cl;

	for (unsigned k = 0; k < GPCI_NUM_BARS; k++) {
		const struct gpci_bar *b = &f->bar[k];

		if (!b->size)
			continue;
		if (b->io) {
			hv_dom_pio_claim(h->d, (uint16_t)b->addr, &cl);
			SIM_CHECK(s, cl.mapped && cl.enabled,
				  "%s: I/O BAR %u at port 0x%" PRIx64 " is not claimed", f->name, k,
				  b->addr);
			hv_dom_pio_claim(h->d, (uint16_t)(b->addr + b->size - 1), &cl);
			SIM_CHECK(s, cl.mapped, "%s: the end of I/O BAR %u is not claimed", f->name,
				  k);
			continue;
		}
		hv_dom_claim(h->d, b->addr, &cl);
		SIM_CHECK(s, cl.mapped && cl.enabled, "%s: BAR %u at 0x%" PRIx64 " is not claimed",
			  f->name, k, b->addr);
		hv_dom_claim(h->d, b->addr + b->size - 1, &cl);
		SIM_CHECK(s, cl.mapped, "%s: the end of BAR %u is not claimed", f->name, k);
	}
}

void sim_pci_check_intx_idle(struct sim *s, struct vdrv *v)
{
	struct timespec ms = { 0, 1000000 };
	uint32_t isr = 0;
	int r;

	if (gd_irq_level(v->d, v->pci.line)) {
		r = vdrv_pci_isr(v, &isr);
		SIM_CHECK(s, !r, "ISR read: %s", strerror(-r));
	}
	for (unsigned i = 0; i < 1000 && gd_irq_level(v->d, v->pci.line); i++)
		nanosleep(&ms, NULL);
	SIM_CHECK(s, !gd_irq_level(v->d, v->pci.line),
		  "%s: INTx line 0x%x still high after the ISR was read (0x%x)", v->pci.fn.name,
		  v->pci.line, isr);
}

int sim_rng_read(struct vdrv *v, uint64_t gpa, uint32_t len, uint8_t prev[16], char *what,
		 size_t what_len)
{
	struct vdrv_sg sg = { gpa, len, true };
	uint8_t *buf = gd_ram(v->d, gpa, len);
	uint32_t got = 0;
	size_t nz = 0;
	int ret;

	memset(buf, 0, len);
	ret = vdrv_xfer(v, 0, &sg, 1, &got);
	if (ret < 0) {
		snprintf(what, what_len, "rng request: %s", strerror(-ret));
		return ret;
	}
	if (!got || got > len) {
		snprintf(what, what_len, "used len %u for a %u-byte buffer", got, len);
		return -EPROTO;
	}
	for (uint32_t k = 0; k < got; k++)
		nz += buf[k] != 0;
	if (nz < got / 2) {
		snprintf(what, what_len, "only %zu of %u bytes non-zero", nz, got);
		return -EPROTO;
	}
	if (got >= 16 && !memcmp(prev, buf, 16)) {
		snprintf(what, what_len, "two reads returned the same bytes");
		return -EPROTO;
	}
	memcpy(prev, buf, 16);
	return 0;
}
