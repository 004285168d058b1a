/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A guest: its ioreq server, its guest memory, and the address map of its devices.
 *
 * Trust boundary: xen/ hands us validated accesses (size 1/2/4/8, count 1); the
 * address is guest-chosen and is looked up here; the transport checks the rest.
 * An access to an address no device owns (a device was removed while the guest
 * still used it) reads all ones and the write is dropped.
 *
 * PCI (README "virtio-pci"): on Arm (pci mode ecam) the guest's host bridge is ours: its
 * ECAM window is claimed with the first PCI device, BARs are claimed where the guest
 * programs them (virtio-pci/ only asks for ranges inside the configured windows) and
 * INTx lines are ORed per SPI. On x86 (mode cfg) each device's slot is claimed on the
 * guest's bus (PCI_CONFIG ioreqs), INTx goes through set_pci_intx_level, MSI-X through
 * inject_msi.
 */
#include <errno.h>
#include <string.h>
#include <glib-unix.h>

#include "common/gmem.h"
#include "common/log.h"
#include "common/util.h"
#include "devices/catalogue.h"
#include "devices/vdev.h"
#include "virtio-pci/vpci.h"
#include "vmm/notify.h"
#include "vmm/vmm.h"

struct vmm_dev {
	struct vmm_guest *g;
	char *id;
	enum vmm_transport transport;
	uint64_t base; /* mmio window */
	uint64_t size;
	uint32_t irq;
	uint8_t slot;	   /* pci */
	uint64_t *shm_gpa; /* mmio: the window of each shared memory region (vdev->nshm) */
	struct vdev *vdev;
	struct vmmio mmio;
	struct vpci_dev pci;
	struct vmm_notify *notify; /* mmio: kicks and interrupts through the kernel, or NULL */
};

struct vmm_guest {
	struct vmm *v;
	uint32_t domid;
	struct xh_ioreq_handler handler;
	struct xh_ioreq_server *srv;
	struct xh_pevt *pevt; /* the kernel's ioeventfd/irqfd registrations (notify.h) */
	struct gmem *mem;
	GPtrArray *devs; /* struct vmm_dev * */
	guint io_source;
	bool enabled;
	/* PCI: set up with the first PCI device */
	struct vmm_pci_config pci_cfg;
	bool pci_on;
	bool ecam_mapped;
	struct vpci_host pci;
	unsigned intx_count[4]; /* Arm: devices asserting each host-bridge line */
};

static struct vmm_dev *find_dev(struct vmm_guest *g, uint64_t addr)
{
	guint i;

	for (i = 0; i < g->devs->len; i++) {
		struct vmm_dev *d = g->devs->pdata[i];

		if (d->transport == VMM_TRANSPORT_MMIO && addr - d->base < d->size)
			return d;
	}
	return NULL;
}

/* A virtio-mmio device's shared memory window (trap and emulate, FACTS 21). */
static bool shm_access(struct vmm_guest *g, struct xh_io *io, int *ret)
{
	for (guint i = 0; i < g->devs->len; i++) {
		struct vmm_dev *d = g->devs->pdata[i];
		unsigned idx;
		uint64_t off;

		if (!d->shm_gpa || vmmio_shm_lookup(&d->mmio, io->addr, &idx, &off) < 0)
			continue;
		*ret = io->write ? vmmio_shm_write(&d->mmio, idx, off, io->size, io->data)
				 : vmmio_shm_read(&d->mmio, idx, off, io->size, &io->data);
		return true;
	}
	return false;
}

static int pci_config_access(struct vmm_guest *g, struct xh_io *io)
{
	uint32_t sbdf = io->addr >> 32, reg = io->addr & 0xfff;

	if (!g->pci_on || sbdf >> 16) {
		log_warn_rl("dom%u: PCI config %s of %04x:%02x:%02x.%u reg 0x%x: not ours",
			    g->domid, io->write ? "write" : "read", sbdf >> 16, (sbdf >> 8) & 0xff,
			    (sbdf >> 3) & 0x1f, sbdf & 7, reg);
		return -ENODEV;
	}
	if (io->write)
		return vpci_cfg_write(&g->pci, sbdf & 0xffff, reg, io->size, io->data);
	return vpci_cfg_read(&g->pci, sbdf & 0xffff, reg, io->size, &io->data);
}

static int pci_mmio_access(struct vmm_guest *g, struct xh_io *io)
{
	uint64_t ecam = g->pci_cfg.ecam_base, ecam_size = (uint64_t)g->pci_cfg.nr_buses << 20;

	if (g->ecam_mapped && io->addr - ecam < ecam_size) {
		if (io->write)
			return vpci_ecam_write(&g->pci, io->addr - ecam, io->size, io->data);
		return vpci_ecam_read(&g->pci, io->addr - ecam, io->size, &io->data);
	}
	if (io->write)
		return vpci_mmio_write(&g->pci, io->addr, io->size, io->data);
	return vpci_mmio_read(&g->pci, io->addr, io->size, &io->data);
}

static int guest_access(struct xh_ioreq_handler *h, struct xh_io *io)
{
	struct vmm_guest *g = container_of(h, struct vmm_guest, handler);
	struct vmm_dev *d;
	int r;

	if (io->type == XH_IO_PCI_CONFIG)
		return pci_config_access(g, io);
	if (io->type == XH_IO_PIO && g->pci_on && io->addr <= 0xffff) {
		if (io->write)
			return vpci_pio_write(&g->pci, (uint16_t)io->addr, io->size, io->data);
		return vpci_pio_read(&g->pci, (uint16_t)io->addr, io->size, &io->data);
	}
	if (io->type != XH_IO_MMIO) {
		log_warn_rl("dom%u: %s access of type %d at 0x%" PRIx64 ": not served", g->domid,
			    io->write ? "write" : "read", io->type, io->addr);
		return -EOPNOTSUPP;
	}
	d = find_dev(g, io->addr);
	if (!d && shm_access(g, io, &r))
		return r;
	if (!d && g->pci_on)
		return pci_mmio_access(g, io);
	if (!d) {
		log_warn_rl("dom%u: %s at 0x%" PRIx64 ": no device there", g->domid,
			    io->write ? "write" : "read", io->addr);
		return -ENODEV;
	}
	if (io->write)
		return vmmio_write(&d->mmio, io->addr - d->base, io->size, io->data);
	return vmmio_read(&d->mmio, io->addr - d->base, io->size, &io->data);
}

static void guest_invalidate(struct xh_ioreq_handler *h)
{
	struct vmm_guest *g = container_of(h, struct vmm_guest, handler);

	gmem_invalidate(g->mem);
}

static const struct xh_ioreq_handler_ops guest_handler_ops = {
	.access = guest_access,
	.invalidate = guest_invalidate,
};

static void dev_set_irq(struct vmmio *m, bool level)
{
	struct vmm_dev *d = container_of(m, struct vmm_dev, mmio);
	int r = xh_set_irq_level(d->g->v->xen, d->g->domid, d->irq, level);

	if (r < 0)
		log_warn_rl("%s: raising SPI %u failed: %s", d->vdev->name, d->irq, g_strerror(-r));
}

static const struct vmmio_ops dev_mmio_ops = {
	.set_irq = dev_set_irq,
};

static void pci_set_intx(struct vpci_dev *p, bool level)
{
	struct vmm_dev *d = container_of(p, struct vmm_dev, pci);
	struct vmm_guest *g = d->g;
	unsigned line = vpci_intx_swizzle(d->slot, 1);
	uint32_t spi = vmm_pci_intx_spi(&g->pci_cfg, d->slot, 1);
	bool was, now;
	int r;

	if (g->pci_cfg.mode == VMM_PCI_CFG) {
		r = xh_set_pci_intx_level(g->v->xen, g->domid, 0, 0, d->slot, 0, level);
		if (r < 0)
			log_warn_rl("%s: INTx %s failed: %s", d->vdev->name,
				    level ? "raise" : "lower", g_strerror(-r));
		return;
	}
	/* Arm: devices share an SPI after the swizzle; the line is the OR of their pins */
	was = g->intx_count[line] > 0;
	if (level)
		g->intx_count[line]++;
	else if (g->intx_count[line])
		g->intx_count[line]--;
	now = g->intx_count[line] > 0;
	if (was == now)
		return;
	r = xh_set_irq_level(g->v->xen, g->domid, spi, now);
	if (r < 0)
		log_warn_rl("%s: INTx on SPI %u failed: %s", d->vdev->name, spi, g_strerror(-r));
}

static void pci_send_msi(struct vpci_dev *p, uint64_t addr, uint32_t data)
{
	struct vmm_dev *d = container_of(p, struct vmm_dev, pci);
	int r = xh_inject_msi(d->g->v->xen, d->g->domid, addr, data);

	if (r < 0)
		log_warn_rl("%s: MSI 0x%" PRIx64 "/0x%x failed: %s", d->vdev->name, addr, data,
			    g_strerror(-r));
}

static int pci_bar_map(struct vpci_dev *p, unsigned bar, uint64_t addr, uint64_t size)
{
	struct vmm_dev *d = container_of(p, struct vmm_dev, pci);
	int r;

	if (!d->g->srv)
		return -ENODEV;
	if (vpci_bar_is_io(p, bar))
		r = xh_ioreq_server_map_pio(d->g->srv, (uint16_t)addr, (uint32_t)size);
	else
		r = xh_ioreq_server_map_mmio(d->g->srv, addr, size);
	if (r < 0)
		log_warn_rl("%s: BAR %u at 0x%" PRIx64 "+0x%" PRIx64 ": cannot claim it: %s",
			    d->vdev->name, bar, addr, size, g_strerror(-r));
	else
		log_debug("%s: BAR %u at 0x%" PRIx64 "+0x%" PRIx64, d->vdev->name, bar, addr, size);
	return r;
}

static void pci_bar_unmap(struct vpci_dev *p, unsigned bar, uint64_t addr, uint64_t size)
{
	struct vmm_dev *d = container_of(p, struct vmm_dev, pci);

	/* at teardown the server is gone and took its ranges with it */
	if (d->g->srv && vpci_bar_is_io(p, bar))
		xh_ioreq_server_unmap_pio(d->g->srv, (uint16_t)addr, (uint32_t)size);
	else if (d->g->srv)
		xh_ioreq_server_unmap_mmio(d->g->srv, addr, size);
}

static const struct vpci_ops dev_pci_ops = {
	.set_intx = pci_set_intx,
	.send_msi = pci_send_msi,
	.bar_map = pci_bar_map,
	.bar_unmap = pci_bar_unmap,
};

/*
 * The guest's RAM banks, for back-ends that map guest memory themselves (F_XEN_MMAP):
 * libxl writes the maximum in KiB to memory/static-max. Without it (no xenstore, a
 * guest not built by libxl) only the shadow memory mode is available.
 */
static void guest_ram_layout(struct vmm_guest *g)
{
	g_autofree char *p = g_strdup_printf("/local/domain/%u/memory/static-max", g->domid);
	struct gmem_region banks[2];
	uint64_t kib;
	int n;

	if (!g->v->xs || xh_xs_read_u64(g->v->xs, p, &kib) < 0 || kib == 0 ||
	    kib > (UINT64_MAX >> 10)) {
		log_info("dom%u: RAM size unknown (%s): back-ends cannot map guest memory",
			 g->domid, p);
		return;
	}
	n = xh_ram_layout(kib << 10, banks, G_N_ELEMENTS(banks));
	xh_gmem_set_ram(g->mem, banks, n);
	log_debug("dom%u: %" PRIu64 " MiB of RAM in %d bank(s) from 0x%" PRIx64, g->domid,
		  kib >> 10, n, banks[0].gpa);
}

struct vmm_guest *vmm_guest_new(struct vmm *v, uint32_t domid, GError **error)
{
	struct vmm_guest *g = g_new0(struct vmm_guest, 1);
	int r;

	g->v = v;
	g->domid = domid;
	g->handler.ops = &guest_handler_ops;
	g->devs = g_ptr_array_new();
	vmm_pci_config_default(&g->pci_cfg, vmm_pci_host_mode());
	g->mem = xh_gmem_new(v->xen, domid, XH_GMEM_CACHE_DEFAULT);
	g->handler.mem = g->mem; /* x86 string ioreqs with pointer data */
	guest_ram_layout(g);
	r = xh_ioreq_server_new(v->xen, domid, &g->handler, &g->srv);
	if (r < 0) {
		g_set_error(error, VMM_ERROR, -r, "dom%u: cannot create an ioreq server: %s%s",
			    domid, g_strerror(-r),
			    r == -ENOSYS ? " (is the hypervisor built with CONFIG_IOREQ_SERVER=y? "
					   "See README, Troubleshooting)"
					 : "");
		vmm_guest_free(g);
		return NULL;
	}
	log_info("dom%u: ioreq server %u created (%u vCPUs)", domid, xh_ioreq_server_id(g->srv),
		 xh_ioreq_server_nr_vcpus(g->srv));
	return g;
}

void vmm_guest_set_pci(struct vmm_guest *g, const struct vmm_pci_config *c)
{
	if (!g->pci_on)
		g->pci_cfg = *c;
}

static bool overlaps(uint64_t a, uint64_t as, uint64_t b, uint64_t bs)
{
	return a < b + bs && b < a + as;
}

static bool check_placement(struct vmm_guest *g, const struct vmm_devspec *spec, GError **error)
{
	const struct vmm_pci_config *c = &g->pci_cfg;
	guint i;

	for (i = 0; i < g->devs->len; i++) {
		struct vmm_dev *o = g->devs->pdata[i];

		if (o->transport != VMM_TRANSPORT_MMIO)
			continue;
		if (overlaps(spec->base, VMMIO_WINDOW_SIZE, o->base, o->size)) {
			g_set_error(error, VMM_ERROR, EEXIST,
				    "dom%u: device at 0x%" PRIx64 " overlaps %s at 0x%" PRIx64,
				    g->domid, spec->base, o->id, o->base);
			return false;
		}
		if (o->irq == spec->irq) {
			g_set_error(error, VMM_ERROR, EEXIST, "dom%u: irq %u is already used by %s",
				    g->domid, spec->irq, o->id);
			return false;
		}
	}
	if (overlaps(spec->base, VMMIO_WINDOW_SIZE, c->shm_base, c->shm_size)) {
		g_set_error(error, VMM_ERROR, EEXIST,
			    "dom%u: device at 0x%" PRIx64 " is inside the shm-window 0x%" PRIx64
			    ":0x%" PRIx64,
			    g->domid, spec->base, c->shm_base, c->shm_size);
		return false;
	}
	if (g->pci_on && c->mode == VMM_PCI_ECAM &&
	    (overlaps(spec->base, VMMIO_WINDOW_SIZE, c->ecam_base, (uint64_t)c->nr_buses << 20) ||
	     overlaps(spec->base, VMMIO_WINDOW_SIZE, c->mem_base, c->mem_size) ||
	     overlaps(spec->base, VMMIO_WINDOW_SIZE, c->pref_base, c->pref_size) ||
	     (spec->irq >= c->irq_base && spec->irq < c->irq_base + 4))) {
		g_set_error(error, VMM_ERROR, EEXIST,
			    "dom%u: device at 0x%" PRIx64 " irq %u collides with the PCI windows "
			    "or INTx SPIs %u-%u",
			    g->domid, spec->base, spec->irq, c->irq_base, c->irq_base + 3);
		return false;
	}
	return true;
}

static void dev_free(struct vmm_dev *d)
{
	if (d->transport == VMM_TRANSPORT_PCI) {
		vpci_host_detach(&d->g->pci, d->slot);
		vpci_dev_fini(&d->pci);
		if (d->g->srv && d->g->pci_cfg.mode == VMM_PCI_CFG)
			xh_ioreq_server_unmap_pcidev(d->g->srv, 0, 0, d->slot, 0);
	} else {
		for (unsigned i = 0; d->shm_gpa && i < d->vdev->nshm; i++)
			if (d->g->srv && d->shm_gpa[i] != VMMIO_SHM_UNPLACED)
				xh_ioreq_server_unmap_mmio(d->g->srv, d->shm_gpa[i],
							   d->vdev->shm[i].size);
		g_free(d->shm_gpa);
		vmmio_fini(&d->mmio);
	}
	vdev_free(d->vdev); /* its rings detach from the kernel path first */
	vmm_notify_free(d->notify);
	g_free(d->id);
	g_free(d);
}

/* The host bridge (and on Arm its ECAM window) comes with the first PCI device. */
static int pci_start(struct vmm_guest *g, GError **error)
{
	const struct vmm_pci_config *c = &g->pci_cfg;
	struct vpci_host_config hc = {
		.mem = { c->mem_base, c->mem_size },
		.pref = { c->pref_base, c->pref_size },
	};
	int r;

	if (g->pci_on)
		return 0;
	if (c->mode == VMM_PCI_ECAM)
		hc.ecam = (struct vpci_window){ c->ecam_base, (uint64_t)c->nr_buses << 20 };
	if (c->pio_notify)
		hc.io = (struct vpci_window){ VMM_PCI_IO_BASE, 0x10000 - VMM_PCI_IO_BASE };
	r = vpci_host_init(&g->pci, &hc);
	if (r < 0) {
		g_set_error(error, VMM_ERROR, -r, "dom%u: bad PCI windows", g->domid);
		return r;
	}
	if (c->mode == VMM_PCI_ECAM) {
		r = xh_ioreq_server_map_mmio(g->srv, hc.ecam.base, hc.ecam.size);
		if (r < 0) {
			g_set_error(error, VMM_ERROR, -r,
				    "dom%u: cannot claim the ECAM window 0x%" PRIx64 "+0x%" PRIx64
				    ": %s",
				    g->domid, hc.ecam.base, hc.ecam.size, g_strerror(-r));
			vpci_host_fini(&g->pci);
			return r;
		}
		g->ecam_mapped = true;
		log_info("dom%u: PCI host bridge, ECAM at 0x%" PRIx64 ", BARs in 0x%" PRIx64
			 "+0x%" PRIx64 " and 0x%" PRIx64 "+0x%" PRIx64 ", INTx on SPIs %u-%u",
			 g->domid, hc.ecam.base, c->mem_base, c->mem_size, c->pref_base,
			 c->pref_size, c->irq_base, c->irq_base + 3);
	}
	g->pci_on = true;
	return 0;
}

static int pick_slot(struct vmm_guest *g, const struct vmm_devspec *spec, GError **error)
{
	if (spec->has_slot) {
		if (g->pci_on && g->pci.slots[spec->slot]) {
			g_set_error(error, VMM_ERROR, EEXIST, "dom%u: PCI slot %u is taken",
				    g->domid, spec->slot);
			return -EEXIST;
		}
		return spec->slot;
	}
	if (g->pci_cfg.mode == VMM_PCI_CFG) {
		g_set_error(error, VMM_ERROR, EINVAL,
			    "dom%u: x86 guests need slot= (a free slot on the guest's PCI bus)",
			    g->domid);
		return -EINVAL;
	}
	for (unsigned s = 1; s < VMM_PCI_MAX_SLOTS; s++)
		if (!g->pci_on || !g->pci.slots[s])
			return s;
	g_set_error(error, VMM_ERROR, ENOSPC, "dom%u: all 31 PCI slots are used", g->domid);
	return -ENOSPC;
}

static int add_pci(struct vmm_guest *g, struct vmm_dev *d, const struct vmm_devspec *spec,
		   GError **error)
{
	unsigned vectors = g->pci_cfg.msix ? d->vdev->nqueues + 1 : 0;
	int r = pick_slot(g, spec, error);

	if (r < 0)
		return r;
	d->slot = r;
	if ((r = pci_start(g, error)) < 0)
		return r;
	r = vpci_dev_init(&d->pci, &dev_pci_ops, d->vdev, vectors);
	if (r == 0 && g->pci_cfg.pio_notify && (r = vpci_dev_set_pio_notify(&d->pci, true)) < 0)
		vpci_dev_fini(&d->pci);
	if (r < 0) {
		g_set_error(error, VMM_ERROR, -r, "%s: cannot set up its PCI function: %s",
			    d->vdev->name, g_strerror(-r));
		return r;
	}
	if (g->pci_cfg.mode == VMM_PCI_CFG) {
		r = xh_ioreq_server_map_pcidev(g->srv, 0, 0, d->slot, 0);
		if (r < 0) {
			g_set_error(error, VMM_ERROR, -r, "%s: cannot claim PCI 0000:00:%02x.0: %s",
				    d->vdev->name, d->slot, g_strerror(-r));
			vpci_dev_fini(&d->pci);
			return r;
		}
	}
	r = vpci_host_attach(&g->pci, d->slot, &d->pci);
	if (r < 0) {
		g_set_error(error, VMM_ERROR, -r, "%s: PCI slot %u: %s", d->vdev->name, d->slot,
			    g_strerror(-r));
		if (g->pci_cfg.mode == VMM_PCI_CFG)
			xh_ioreq_server_unmap_pcidev(g->srv, 0, 0, d->slot, 0);
		vpci_dev_fini(&d->pci);
		return r;
	}
	if (g->pci_cfg.mode == VMM_PCI_ECAM)
		log_info("%s: %s on virtio-pci 0000:00:%02x.0, INTA on SPI %u%s", d->vdev->name,
			 spec->type, d->slot, g->pci_cfg.irq_base + vpci_intx_swizzle(d->slot, 1),
			 vectors ? ", MSI-X" : "");
	else
		log_info("%s: %s on virtio-pci 0000:00:%02x.0 (claimed)%s", d->vdev->name,
			 spec->type, d->slot, vectors ? ", MSI-X" : "");
	return 0;
}

static bool shm_free_at(struct vmm_guest *g, struct vmm_dev *self, uint64_t gpa, uint64_t size)
{
	for (guint i = 0; i <= g->devs->len; i++) {
		struct vmm_dev *o = i < g->devs->len ? g->devs->pdata[i] : self;

		for (unsigned k = 0; o->shm_gpa && k < o->vdev->nshm; k++)
			if (o->shm_gpa[k] != VMMIO_SHM_UNPLACED &&
			    overlaps(gpa, size, o->shm_gpa[k], o->vdev->shm[k].size))
				return false;
	}
	return true;
}

/*
 * Each shared memory region gets its own window in the guest's shm-window, first fit,
 * aligned to its size (up to 1 GiB) so a guest can map it with large pages.
 */
static int place_shm(struct vmm_guest *g, struct vmm_dev *d, GError **error)
{
	const struct vmm_pci_config *c = &g->pci_cfg;
	unsigned n = d->vdev->nshm;

	if (!n)
		return 0;
	d->shm_gpa = g_new(uint64_t, n);
	for (unsigned i = 0; i < n; i++)
		d->shm_gpa[i] = VMMIO_SHM_UNPLACED;
	for (unsigned i = 0; i < n; i++) {
		uint64_t size = d->vdev->shm[i].size, align = 4096, gpa;
		int r;

		while (align < size && align < (1ULL << 30))
			align <<= 1;
		for (gpa = (c->shm_base + align - 1) & ~(align - 1);
		     gpa + size <= c->shm_base + c->shm_size && gpa >= c->shm_base; gpa += align)
			if (shm_free_at(g, d, gpa, size))
				break;
		if (gpa + size > c->shm_base + c->shm_size || gpa < c->shm_base) {
			g_set_error(error, VMM_ERROR, ENOSPC,
				    "%s: no room for shared memory region %u (0x%" PRIx64
				    " bytes) in the shm-window 0x%" PRIx64 ":0x%" PRIx64,
				    d->vdev->name, d->vdev->shm[i].id, size, c->shm_base,
				    c->shm_size);
			return -ENOSPC;
		}
		r = xh_ioreq_server_map_mmio(g->srv, gpa, size);
		if (r < 0) {
			g_set_error(error, VMM_ERROR, -r,
				    "%s: cannot claim shared memory window 0x%" PRIx64 "+0x%" PRIx64
				    ": %s",
				    d->vdev->name, gpa, size, g_strerror(-r));
			return r;
		}
		d->shm_gpa[i] = gpa;
		vmmio_set_shm_base(&d->mmio, i, gpa);
		log_info("%s: shared memory region %u at 0x%" PRIx64 "+0x%" PRIx64, d->vdev->name,
			 d->vdev->shm[i].id, gpa, size);
	}
	return 0;
}

static int add_mmio(struct vmm_guest *g, struct vmm_dev *d, const struct vmm_devspec *spec,
		    GError **error)
{
	int r;

	/* placement checked by the caller, before the device was created */
	d->base = spec->base;
	d->size = VMMIO_WINDOW_SIZE;
	d->irq = spec->irq;
	vmmio_init(&d->mmio, &dev_mmio_ops, d->vdev);
	r = xh_ioreq_server_map_mmio(g->srv, d->base, d->size);
	if (r < 0) {
		g_set_error(error, VMM_ERROR, -r,
			    "%s: cannot claim 0x%" PRIx64 "+0x%" PRIx64 ": %s", d->vdev->name,
			    d->base, d->size, g_strerror(-r));
		vmmio_fini(&d->mmio);
		return r;
	}
	r = place_shm(g, d, error);
	if (r == 0)
		r = vmm_notify_new(&g->v->notify_probe, spec->notify, d->vdev->name, g->srv,
				   &g->pevt, &d->mmio, d->base, d->irq, &d->notify, error);
	if (r < 0) {
		for (unsigned i = 0; d->shm_gpa && i < d->vdev->nshm; i++)
			if (d->shm_gpa[i] != VMMIO_SHM_UNPLACED)
				xh_ioreq_server_unmap_mmio(g->srv, d->shm_gpa[i],
							   d->vdev->shm[i].size);
		g_clear_pointer(&d->shm_gpa, g_free);
		xh_ioreq_server_unmap_mmio(g->srv, d->base, d->size);
		vmmio_fini(&d->mmio);
		return r;
	}
	vdev_set_notify(d->vdev, vmm_notify_vdev(d->notify));
	log_info("%s: %s on virtio-mmio at 0x%" PRIx64 ", SPI %u", d->vdev->name, spec->type,
		 d->base, d->irq);
	return 0;
}

int vmm_guest_add_device(struct vmm_guest *g, const struct vmm_devspec *spec, const char *id,
			 GError **error)
{
	g_autofree char *name = g_strdup_printf("dom%u/%s", g->domid, id);
	struct vdev_params p = {
		.name = name,
		.mem = g->mem,
		.queue_size = spec->queue_size,
		.opts = spec->opts,
	};
	struct vmm_dev *d;
	int r;

	if (spec->transport == VMM_TRANSPORT_MMIO && (!spec->has_base || !spec->has_irq)) {
		g_set_error(error, VMM_ERROR, EINVAL, "%s: base and irq are required", name);
		return -EINVAL;
	}
	if (spec->transport == VMM_TRANSPORT_MMIO && !check_placement(g, spec, error))
		return -EEXIST;
	d = g_new0(struct vmm_dev, 1);
	d->g = g;
	d->id = g_strdup(id);
	d->transport = spec->transport;
	r = vdev_create(spec->type, &p, &d->vdev, error);
	if (r < 0) {
		g_free(d->id);
		g_free(d);
		return r;
	}
	r = spec->transport == VMM_TRANSPORT_PCI ? add_pci(g, d, spec, error)
						 : add_mmio(g, d, spec, error);
	if (r < 0) {
		vdev_free(d->vdev);
		g_free(d->id);
		g_free(d);
		return r;
	}
	g_ptr_array_add(g->devs, d);
	return 0;
}

int vmm_guest_remove_device(struct vmm_guest *g, uint64_t base)
{
	guint i;

	for (i = 0; i < g->devs->len; i++) {
		struct vmm_dev *d = g->devs->pdata[i];

		if (d->transport != VMM_TRANSPORT_MMIO || d->base != base)
			continue;
		xh_ioreq_server_unmap_mmio(g->srv, d->base, d->size);
		g_ptr_array_remove_index(g->devs, i);
		log_info("%s: removed", d->vdev->name);
		dev_free(d);
		return 0;
	}
	return -ENOENT;
}

unsigned vmm_guest_nr_devices(struct vmm_guest *g)
{
	return g->devs->len;
}

struct guest_failed {
	struct vmm *v;
	uint32_t domid;
};

/*
 * After a guest's event channel failed: without --watch its devices are released now
 * (back-end sessions closed, ranges unclaimed), and a process left with no guest (--domid,
 * libxl's device model) exits with status 1 instead of idling. With --watch the slots stay
 * as they are: libxl's destroy handshake still finds its answer, the other guests go on.
 */
static gboolean guest_failed_idle(gpointer data)
{
	struct guest_failed *f = data;
	struct vmm *v = f->v;

	if (!v->watch && vmm_find_guest(v, f->domid)) {
		vmm_remove_guest(v, f->domid);
		if (g_hash_table_size(v->guests) == 0) {
			log_msg("no guest left to serve: exiting with status 1");
			v->exit_code = 1;
			g_main_loop_quit(v->loop);
		}
	}
	g_free(f);
	return G_SOURCE_REMOVE;
}

static gboolean guest_io_ready(gint fd, GIOCondition cond, gpointer data)
{
	struct vmm_guest *g = data;
	int r = xh_ioreq_server_dispatch(g->srv);
	struct guest_failed *f;

	if (r < 0) {
		log_warn("dom%u: event channel failed (%s): no longer serving this guest", g->domid,
			 g_strerror(-r));
		g->io_source = 0;
		f = g_new(struct guest_failed, 1);
		*f = (struct guest_failed){ g->v, g->domid };
		g_idle_add(guest_failed_idle, f);
		return G_SOURCE_REMOVE;
	}
	return G_SOURCE_CONTINUE;
}

int vmm_guest_enable(struct vmm_guest *g, GError **error)
{
	GSource *src;
	int r;

	if (g->enabled)
		return 0;
	r = xh_ioreq_server_enable(g->srv);
	if (r < 0) {
		g_set_error(error, VMM_ERROR, -r, "dom%u: cannot enable the ioreq server: %s",
			    g->domid, g_strerror(-r));
		return r;
	}
	src = fd_source_new(xh_ioreq_server_fd(g->srv), G_IO_IN);
	g_source_set_callback(src, (GSourceFunc)(void (*)(void))guest_io_ready, g, NULL);
	g->io_source = g_source_attach(src, NULL);
	g_source_unref(src);
	g->enabled = true;
	log_msg("dom%u: serving %u device(s)", g->domid, g->devs->len);
	return 0;
}

void vmm_guest_free(struct vmm_guest *g)
{
	if (!g)
		return;
	if (g->io_source)
		g_source_remove(g->io_source);
	/*
	 * The kernel's registrations go before the server: its ioeventfd handler reads the
	 * ioreq page we are about to unmap. The devices' later detaches find nothing left.
	 */
	xh_pevt_free(g->pevt);
	g->pevt = NULL;
	/* The server goes first: no ioreq may reach a device being freed. */
	xh_ioreq_server_free(g->srv);
	g->srv = NULL;
	g_ptr_array_set_free_func(g->devs, (GDestroyNotify)dev_free);
	g_ptr_array_free(g->devs, true);
	if (g->pci_on)
		vpci_host_fini(&g->pci);
	xh_gmem_free(g->mem);
	g_free(g);
}
