/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A guest: its ioreq server, its guest memory, and the address map of its devices.
 *
 * Trust boundary: xen/ hands us validated accesses (size 1/2/4/8, count 1); the
 * address is guest-chosen and is looked up here; the transport checks the rest.
 * An access to an address no device owns (a device was removed while the guest
 * still used it) reads all ones and the write is dropped.
 */
#include <errno.h>
#include <string.h>
#include <glib-unix.h>

#include "common/gmem.h"
#include "common/log.h"
#include "common/util.h"
#include "devices/catalogue.h"
#include "devices/vdev.h"
#include "vmm/vmm.h"

struct vmm_dev {
	struct vmm_guest *g;
	char *id;
	uint64_t base;
	uint64_t size;
	uint32_t irq;
	struct vdev *vdev;
	struct vmmio mmio;
};

struct vmm_guest {
	struct vmm *v;
	uint32_t domid;
	struct xh_ioreq_handler handler;
	struct xh_ioreq_server *srv;
	struct gmem *mem;
	GPtrArray *devs; /* struct vmm_dev * */
	guint io_source;
	bool enabled;
};

static struct vmm_dev *find_dev(struct vmm_guest *g, uint64_t addr)
{
	guint i;

	for (i = 0; i < g->devs->len; i++) {
		struct vmm_dev *d = g->devs->pdata[i];

		if (addr - d->base < d->size)
			return d;
	}
	return NULL;
}

static int guest_access(struct xh_ioreq_handler *h, struct xh_io *io)
{
	struct vmm_guest *g = container_of(h, struct vmm_guest, handler);
	struct vmm_dev *d;

	if (io->type != XH_IO_MMIO) {
		log_warn_rl("dom%u: %s access of type %d at 0x%" PRIx64 ": not served", g->domid,
			    io->write ? "write" : "read", io->type, io->addr);
		return -EOPNOTSUPP;
	}
	d = find_dev(g, io->addr);
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
	g->mem = xh_gmem_new(v->xen, domid, XH_GMEM_CACHE_DEFAULT);
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

static bool check_placement(struct vmm_guest *g, const struct vmm_devspec *spec, GError **error)
{
	guint i;

	for (i = 0; i < g->devs->len; i++) {
		struct vmm_dev *o = g->devs->pdata[i];

		if (spec->base < o->base + o->size && o->base < spec->base + VMMIO_WINDOW_SIZE) {
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
	return true;
}

static void dev_free(struct vmm_dev *d)
{
	vmmio_fini(&d->mmio);
	vdev_free(d->vdev);
	g_free(d->id);
	g_free(d);
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

	if (!spec->has_base || !spec->has_irq) {
		g_set_error(error, VMM_ERROR, EINVAL, "%s: base and irq are required", name);
		return -EINVAL;
	}
	if (!check_placement(g, spec, error))
		return -EEXIST;
	d = g_new0(struct vmm_dev, 1);
	d->g = g;
	d->id = g_strdup(id);
	d->base = spec->base;
	d->size = VMMIO_WINDOW_SIZE;
	d->irq = spec->irq;
	r = vdev_create(spec->type, &p, &d->vdev, error);
	if (r < 0) {
		g_free(d->id);
		g_free(d);
		return r;
	}
	vmmio_init(&d->mmio, &dev_mmio_ops, d->vdev);
	r = xh_ioreq_server_map_mmio(g->srv, d->base, d->size);
	if (r < 0) {
		g_set_error(error, VMM_ERROR, -r,
			    "%s: cannot claim 0x%" PRIx64 "+0x%" PRIx64 ": %s", name, d->base,
			    d->size, g_strerror(-r));
		dev_free(d);
		return r;
	}
	g_ptr_array_add(g->devs, d);
	log_info("%s: %s on virtio-mmio at 0x%" PRIx64 ", SPI %u", name, spec->type, d->base,
		 d->irq);
	return 0;
}

int vmm_guest_remove_device(struct vmm_guest *g, uint64_t base)
{
	guint i;

	for (i = 0; i < g->devs->len; i++) {
		struct vmm_dev *d = g->devs->pdata[i];

		if (d->base != base)
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

static gboolean guest_io_ready(gint fd, GIOCondition cond, gpointer data)
{
	struct vmm_guest *g = data;
	int r = xh_ioreq_server_dispatch(g->srv);

	if (r < 0) {
		log_warn("dom%u: event channel failed (%s): no longer serving this guest", g->domid,
			 g_strerror(-r));
		g->io_source = 0;
		return G_SOURCE_REMOVE;
	}
	return G_SOURCE_CONTINUE;
}

int vmm_guest_enable(struct vmm_guest *g, GError **error)
{
	int r;

	if (g->enabled)
		return 0;
	r = xh_ioreq_server_enable(g->srv);
	if (r < 0) {
		g_set_error(error, VMM_ERROR, -r, "dom%u: cannot enable the ioreq server: %s",
			    g->domid, g_strerror(-r));
		return r;
	}
	g->io_source = g_unix_fd_add(xh_ioreq_server_fd(g->srv), G_IO_IN, guest_io_ready, g);
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
	/* The server goes first: no ioreq may reach a device being freed. */
	xh_ioreq_server_free(g->srv);
	g_ptr_array_set_free_func(g->devs, (GDestroyNotify)dev_free);
	g_ptr_array_free(g->devs, true);
	xh_gmem_free(g->mem);
	g_free(g);
}
