/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * One guest's ioreq server (DESIGN.md §4, FACTS 22-24).
 *
 * Trust boundary: the shared ioreq page is writable by the guest's hypervisor side
 * while we read it, and its contents describe accesses the guest chose. Each slot is
 * copied out after the READY state is seen (read barrier), validated on the copy
 * (type, size, count, pointer data), and always completed, even when invalid, so the
 * vCPU never hangs.
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include <xenctrl.h>
#include <xendevicemodel.h>
#include <xenevtchn.h>
#include <xenforeignmemory.h>
#include <xen/hvm/ioreq.h>
#include <xen/hvm/hvm_op.h>
#include <xen/memory.h>

#include "common/log.h"
#include "xen/xh-internal.h"

#define IOREQ_PAGE_SIZE 4096
#define MAX_VCPUS	(IOREQ_PAGE_SIZE / sizeof(ioreq_t))
/*
 * How long to wait for a slot another party holds: the kernel's ioeventfd handler takes
 * well under a microsecond in hard-IRQ context; the bound only keeps a broken peer from
 * stopping the loop for good.
 */
#define INPROCESS_WAIT_US 100000

_Static_assert(sizeof(ioreq_t) == 32, "ioreq_t is 32 bytes (FACTS 22)");

struct xh_ioreq_server {
	struct xh_ctx *x;
	uint32_t domid;
	ioservid_t id;
	struct xh_ioreq_handler *handler;
	xenforeignmemory_resource_handle *page_res;
	shared_iopage_t *page;
	xenevtchn_handle *xce;
	unsigned nr_vcpus;
	evtchn_port_t *local_port; /* [vcpu] */
	bool enabled;
	GArray *ranges;	 /* struct range: what to unmap at teardown */
	GArray *pcidevs; /* struct pcidev: likewise */
	struct xh_ioreq_stats stats;
};

struct range {
	uint64_t start, size;
	int is_mmio; /* 1: guest-physical MMIO, 0: x86 I/O ports (the DMOP's is_mmio argument) */
};

/* A PCI function claimed with map_pcidev (x86): its PCI_CONFIG ioreqs come to us. */
struct pcidev {
	uint16_t seg;
	uint8_t bus, dev, fn;
};

int xh_ctx_new(struct xh_ctx **ret)
{
	struct xh_ctx *x = g_new0(struct xh_ctx, 1);
	int err;

	/* Library messages only when critical: guests can make calls fail at will. */
	x->log = (xentoollog_logger *)xtl_createlogger_stdiostream(stderr, XTL_CRITICAL, 0);
	x->dmod = xendevicemodel_open(x->log, 0);
	if (!x->dmod)
		goto err;
	x->fmem = xenforeignmemory_open(x->log, 0);
	if (!x->fmem)
		goto err;
	*ret = x;
	return 0;
err:
	err = errno ? -errno : -EIO;
	xh_ctx_free(x);
	return err;
}

void xh_ctx_free(struct xh_ctx *x)
{
	if (!x)
		return;
	if (x->fmem)
		xenforeignmemory_close(x->fmem);
	if (x->dmod)
		xendevicemodel_close(x->dmod);
	if (x->log)
		xtl_logger_destroy(x->log);
	g_free(x);
}

int xh_set_irq_level(struct xh_ctx *x, uint32_t domid, uint32_t irq, bool level)
{
	if (xendevicemodel_set_irq_level(x->dmod, domid, irq, level) < 0)
		return -errno;
	return 0;
}

int xh_set_pci_intx_level(struct xh_ctx *x, uint32_t domid, uint16_t seg, uint8_t bus, uint8_t dev,
			  uint8_t intx, bool level)
{
	if (intx > 3)
		return -EINVAL;
	if (xendevicemodel_set_pci_intx_level(x->dmod, domid, seg, bus, dev, intx, level) < 0)
		return -errno;
	return 0;
}

int xh_inject_msi(struct xh_ctx *x, uint32_t domid, uint64_t addr, uint32_t data)
{
	if (xendevicemodel_inject_msi(x->dmod, domid, addr, data) < 0)
		return -errno;
	return 0;
}

int xh_ioreq_server_new(struct xh_ctx *x, uint32_t domid, struct xh_ioreq_handler *h,
			struct xh_ioreq_server **ret)
{
	struct xh_ioreq_server *s;
	unsigned int vcpus = 0;
	void *addr = NULL;
	int r;

	if (xendevicemodel_nr_vcpus(x->dmod, domid, &vcpus) < 0)
		return -errno;
	if (vcpus == 0 || vcpus > MAX_VCPUS)
		return -E2BIG;

	s = g_new0(struct xh_ioreq_server, 1);
	s->x = x;
	s->domid = domid;
	s->handler = h;
	s->nr_vcpus = vcpus;
	s->ranges = g_array_new(false, false, sizeof(struct range));
	s->pcidevs = g_array_new(false, false, sizeof(struct pcidev));
	/* Arm has no buffered ioreqs (FACTS 23); we never need them on x86 either. */
	if (xendevicemodel_create_ioreq_server(x->dmod, domid, HVM_IOREQSRV_BUFIOREQ_OFF, &s->id) <
	    0) {
		r = -errno;
		g_array_free(s->ranges, true);
		g_array_free(s->pcidevs, true);
		g_free(s);
		return r;
	}
	s->page_res = xenforeignmemory_map_resource(
		x->fmem, domid, XENMEM_resource_ioreq_server, s->id,
		XENMEM_resource_ioreq_server_frame_ioreq(0), 1, &addr, PROT_READ | PROT_WRITE, 0);
	if (!s->page_res) {
		r = errno ? -errno : -EIO;
		xh_ioreq_server_free(s);
		return r;
	}
	s->page = addr;
	log_debug("dom%u: ioreq server %u created, %u vCPU(s)", domid, s->id, vcpus);
	*ret = s;
	return 0;
}

static int map_range(struct xh_ioreq_server *s, int is_mmio, uint64_t start, uint64_t size)
{
	struct range rg = { start, size, is_mmio };

	if (size == 0 || start + size - 1 < start || (!is_mmio && start + size > 0x10000))
		return -EINVAL;
	if (xendevicemodel_map_io_range_to_ioreq_server(s->x->dmod, s->domid, s->id, is_mmio, start,
							start + size - 1) < 0)
		return -errno;
	g_array_append_val(s->ranges, rg);
	return 0;
}

static int unmap_range(struct xh_ioreq_server *s, int is_mmio, uint64_t start, uint64_t size)
{
	guint i;

	for (i = 0; i < s->ranges->len; i++) {
		struct range *rg = &g_array_index(s->ranges, struct range, i);

		if (rg->start != start || rg->size != size || rg->is_mmio != is_mmio)
			continue;
		g_array_remove_index_fast(s->ranges, i);
		if (xendevicemodel_unmap_io_range_from_ioreq_server(
			    s->x->dmod, s->domid, s->id, is_mmio, start, start + size - 1) < 0)
			return -errno;
		return 0;
	}
	return -ENOENT;
}

int xh_ioreq_server_map_mmio(struct xh_ioreq_server *s, uint64_t start, uint64_t size)
{
	return map_range(s, 1, start, size);
}

int xh_ioreq_server_unmap_mmio(struct xh_ioreq_server *s, uint64_t start, uint64_t size)
{
	return unmap_range(s, 1, start, size);
}

int xh_ioreq_server_map_pio(struct xh_ioreq_server *s, uint16_t start, uint32_t size)
{
	return map_range(s, 0, start, size);
}

int xh_ioreq_server_unmap_pio(struct xh_ioreq_server *s, uint16_t start, uint32_t size)
{
	return unmap_range(s, 0, start, size);
}

int xh_ioreq_server_map_pcidev(struct xh_ioreq_server *s, uint16_t seg, uint8_t bus, uint8_t dev,
			       uint8_t fn)
{
	struct pcidev p = { seg, bus, dev, fn };

	if (dev > 31 || fn > 7)
		return -EINVAL;
	if (xendevicemodel_map_pcidev_to_ioreq_server(s->x->dmod, s->domid, s->id, seg, bus, dev,
						      fn) < 0)
		return -errno;
	g_array_append_val(s->pcidevs, p);
	return 0;
}

int xh_ioreq_server_unmap_pcidev(struct xh_ioreq_server *s, uint16_t seg, uint8_t bus, uint8_t dev,
				 uint8_t fn)
{
	guint i;

	for (i = 0; i < s->pcidevs->len; i++) {
		struct pcidev *p = &g_array_index(s->pcidevs, struct pcidev, i);

		if (p->seg != seg || p->bus != bus || p->dev != dev || p->fn != fn)
			continue;
		g_array_remove_index_fast(s->pcidevs, i);
		if (xendevicemodel_unmap_pcidev_from_ioreq_server(s->x->dmod, s->domid, s->id, seg,
								  bus, dev, fn) < 0)
			return -errno;
		return 0;
	}
	return -ENOENT;
}

int xh_ioreq_server_enable(struct xh_ioreq_server *s)
{
	unsigned v;

	if (xendevicemodel_set_ioreq_server_state(s->x->dmod, s->domid, s->id, 1) < 0)
		return -errno;
	s->enabled = true;
	/* vp_eport is valid only once the server is enabled (FACTS 24). */
	s->xce = xenevtchn_open(s->x->log, 0);
	if (!s->xce)
		return errno ? -errno : -EIO;
	s->local_port = g_new0(evtchn_port_t, s->nr_vcpus);
	for (v = 0; v < s->nr_vcpus; v++) {
		uint32_t remote = s->page->vcpu_ioreq[v].vp_eport;
		xenevtchn_port_or_error_t p = xenevtchn_bind_interdomain(s->xce, s->domid, remote);

		if (p < 0)
			return -errno;
		s->local_port[v] = p;
		log_debug("dom%u: vCPU %u: remote port %u -> local %d", s->domid, v, remote, p);
	}
	return 0;
}

int xh_ioreq_server_fd(struct xh_ioreq_server *s)
{
	return s->xce ? xenevtchn_fd(s->xce) : -1;
}

uint32_t xh_ioreq_server_id(struct xh_ioreq_server *s)
{
	return s->id;
}

unsigned xh_ioreq_server_nr_vcpus(struct xh_ioreq_server *s)
{
	return s->nr_vcpus;
}

uint32_t xh_ioreq_server_domid(struct xh_ioreq_server *s)
{
	return s->domid;
}

/* privcmd-evt.c: the page and ports the kernel's ioeventfd binds (valid after enable). */
void xh_ioreq_server_kernel_view(struct xh_ioreq_server *s, struct xh_ioreq_kernel_view *ret)
{
	_Static_assert(sizeof(evtchn_port_t) == sizeof(uint32_t), "ports are u32 for privcmd");
	ret->page = (void *)s->page;
	ret->ports = s->local_port;
	ret->nr_vcpus = s->local_port ? s->nr_vcpus : 0;
}

const struct xh_ioreq_stats *xh_ioreq_server_stats(struct xh_ioreq_server *s)
{
	return &s->stats;
}

static void wait_inprocess(volatile ioreq_t *slot)
{
	gint64 end = g_get_monotonic_time() + INPROCESS_WAIT_US;

	while (slot->state == STATE_IOREQ_INPROCESS && g_get_monotonic_time() < end)
		;
}

int xh_ioreq_server_dispatch(struct xh_ioreq_server *s)
{
	xenevtchn_port_or_error_t port = xenevtchn_pending(s->xce);
	volatile ioreq_t *slot;
	ioreq_t req;
	unsigned v;

	if (port < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -errno;
	xenevtchn_unmask(s->xce, port);
	for (v = 0; v < s->nr_vcpus; v++)
		if (s->local_port[v] == (evtchn_port_t)port)
			break;
	if (v == s->nr_vcpus) {
		s->stats.spurious++;
		return 0;
	}
	slot = &s->page->vcpu_ioreq[v];
	/*
	 * We complete every request before returning, so INPROCESS here is someone else's:
	 * the dom0 kernel's privcmd ioeventfd handler (privcmd-evt.c) holds the slot while it
	 * matches it against its QueueNotify registrations, and puts a request it does not
	 * take back to READY. Giving up now would leave that request unserved (the event is
	 * consumed): wait for the handler, which runs under a spinlock, with a bound.
	 */
	if (slot->state == STATE_IOREQ_INPROCESS)
		wait_inprocess(slot);
	if (slot->state != STATE_IOREQ_READY) {
		s->stats.spurious++;
		return 0;
	}
	/* Read the request only after seeing READY (pairs with Xen's write barrier). */
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	memcpy(&req, (const void *)slot, sizeof(req));
	slot->state = STATE_IOREQ_INPROCESS;

	xh_ioreq_serve(s->handler, s->domid, v, &req, &s->stats);

	if (req.dir == IOREQ_READ)
		slot->data = req.data;
	/* The response data must be visible before the state that publishes it. */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	slot->state = STATE_IORESP_READY;
	xenevtchn_notify(s->xce, port);
	return 0;
}

void xh_ioreq_server_free(struct xh_ioreq_server *s)
{
	unsigned v;
	guint i;

	if (!s)
		return;
	/* Reverse order of set-up: event channels, state, ranges, page, server. */
	if (s->xce) {
		for (v = 0; v < s->nr_vcpus && s->local_port; v++)
			if (s->local_port[v])
				xenevtchn_unbind(s->xce, s->local_port[v]);
		xenevtchn_close(s->xce);
	}
	g_free(s->local_port);
	if (s->enabled)
		xendevicemodel_set_ioreq_server_state(s->x->dmod, s->domid, s->id, 0);
	for (i = 0; i < s->ranges->len; i++) {
		struct range *rg = &g_array_index(s->ranges, struct range, i);

		xendevicemodel_unmap_io_range_from_ioreq_server(s->x->dmod, s->domid, s->id,
								rg->is_mmio, rg->start,
								rg->start + rg->size - 1);
	}
	g_array_free(s->ranges, true);
	for (i = 0; i < s->pcidevs->len; i++) {
		struct pcidev *p = &g_array_index(s->pcidevs, struct pcidev, i);

		xendevicemodel_unmap_pcidev_from_ioreq_server(s->x->dmod, s->domid, s->id, p->seg,
							      p->bus, p->dev, p->fn);
	}
	g_array_free(s->pcidevs, true);
	if (s->page_res)
		xenforeignmemory_unmap_resource(s->x->fmem, s->page_res);
	xendevicemodel_destroy_ioreq_server(s->x->dmod, s->domid, s->id);
	log_debug("dom%u: ioreq server %u destroyed", s->domid, s->id);
	g_free(s);
}
