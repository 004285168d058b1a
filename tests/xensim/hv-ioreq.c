/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The simulated hypervisor: ioreq servers, guest memory, event channels and interrupt
 * lines, i.e. what libxendevicemodel, libxenforeignmemory and libxenevtchn reach.
 * Trust boundary: request fields come from the process under test; each is checked as
 * Xen 4.17 checks it (xen/common/ioreq.c, xen/arch/arm/dm.c) and refused with Xen's
 * errno. The hv lock is held in every function here.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>
#include <xen/hvm/dm_op.h>
#include <xen/hvm/hvm_op.h>
#include <xen/memory.h>

#include "tests/xensim/hv-internal.h"

/* --- range sets (inclusive bounds, like Xen's rangesets) --- */

static bool overlaps(const struct hv_range *r, uint32_t type, uint64_t start, uint64_t end)
{
	return r->type == type && start <= r->end && r->start <= end;
}

int hv_ranges_add(GArray *a, uint32_t type, uint64_t start, uint64_t end)
{
	struct hv_range n = { type, start, end };

	for (unsigned i = 0; i < a->len; i++) {
		if (overlaps(&g_array_index(a, struct hv_range, i), type, start, end))
			return -EEXIST;
	}
	g_array_append_val(a, n);
	return 0;
}

/* Remove [start, end], which must lie inside one range (split if needed), as Xen does. */
int hv_ranges_remove(GArray *a, uint32_t type, uint64_t start, uint64_t end)
{
	for (unsigned i = 0; i < a->len; i++) {
		struct hv_range *r = &g_array_index(a, struct hv_range, i);
		struct hv_range tail;

		if (r->type != type || start < r->start || end > r->end)
			continue;
		tail = (struct hv_range){ type, end + 1, r->end };
		if (start > r->start) {
			r->end = start - 1;
			if (end < tail.end)
				g_array_append_val(a, tail);
		} else if (end < r->end) {
			r->start = end + 1;
		} else {
			g_array_remove_index(a, i);
		}
		return 0;
	}
	return -ENOENT;
}

bool hv_ranges_contain(GArray *a, uint32_t type, uint64_t start, uint64_t end)
{
	for (unsigned i = 0; i < a->len; i++) {
		const struct hv_range *r = &g_array_index(a, struct hv_range, i);

		if (r->type == type && start >= r->start && end <= r->end)
			return true;
	}
	return false;
}

/* --- servers --- */

static struct xs_dom *dom_or_err(struct hv_conn *c, uint32_t domid, struct hv_reply *r)
{
	struct xs_dom *d = hv_find_dom(c->hv, domid);

	if (!d)
		r->err = ESRCH;
	return d;
}

static struct hv_server *live_server(struct xs_dom *d, unsigned id)
{
	for (unsigned i = 0; i < d->servers->len; i++) {
		struct hv_server *s = g_ptr_array_index(d->servers, i);

		if (s->id == id && !s->destroyed)
			return s;
	}
	return NULL;
}

static struct hv_server *server_or_err(struct hv_conn *c, const struct xsim_req *req,
				       struct hv_reply *r)
{
	struct xs_dom *d = dom_or_err(c, req->domid, r);
	struct hv_server *s = d ? live_server(d, req->id) : NULL;

	if (d && !s)
		r->err = ENOENT;
	return s;
}

static void close_fd(int fd)
{
	if (fd >= 0)
		close(fd);
}

void hv_server_free(struct hv_server *s)
{
	for (unsigned v = 0; v < s->d->cfg.nr_vcpus; v++) {
		close_fd(s->ports[v].g2dm);
		close_fd(s->ports[v].dm2g);
	}
	g_free(s->ports);
	if (s->page)
		munmap(s->page, XSIM_PAGE_SIZE);
	close_fd(s->page_fd);
	g_array_free(s->ranges, TRUE);
	g_free(s);
}

static struct hv_server *server_new(struct xs_dom *d, uint16_t id, int bufioreq)
{
	struct hv_server *s = g_new0(struct hv_server, 1);

	s->d = d;
	s->id = id;
	s->bufioreq = bufioreq;
	s->ranges = g_array_new(FALSE, FALSE, sizeof(struct hv_range));
	s->ports = g_new0(struct hv_port, d->cfg.nr_vcpus);
	for (unsigned v = 0; v < d->cfg.nr_vcpus; v++)
		s->ports[v].g2dm = s->ports[v].dm2g = -1;
	s->page_fd = memfd_create("xensim-ioreq", MFD_CLOEXEC);
	if (s->page_fd < 0 || ftruncate(s->page_fd, XSIM_PAGE_SIZE) < 0)
		goto err;
	s->page = mmap(NULL, XSIM_PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, s->page_fd, 0);
	if (s->page == MAP_FAILED) {
		s->page = NULL;
		goto err;
	}
	/* Xen allocates one unbound port per vCPU for the emulator at creation time. */
	for (unsigned v = 0; v < d->cfg.nr_vcpus; v++) {
		s->ports[v].remote = d->next_port++;
		s->ports[v].g2dm = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		s->ports[v].dm2g = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (s->ports[v].g2dm < 0 || s->ports[v].dm2g < 0)
			goto err;
	}
	return s;
err:
	fprintf(stderr, "hv: cannot create an ioreq server: %s\n", strerror(errno));
	hv_server_free(s);
	return NULL;
}

void hv_op_dm_create(struct hv_conn *c, const struct xsim_req *req, const char *data, size_t len,
		     struct hv_reply *r)
{
	struct xs_dom *d = dom_or_err(c, req->domid, r);
	struct hv_server *s;
	unsigned id;

	if (!d)
		return;
	if (req->arg[0] > HVM_IOREQSRV_BUFIOREQ_ATOMIC) {
		r->err = EINVAL;
		return;
	}
	for (id = 0; id < HV_MAX_IOREQ_SERVERS && live_server(d, id); id++)
		;
	if (id == HV_MAX_IOREQ_SERVERS) {
		r->err = ENOSPC;
		return;
	}
	s = server_new(d, (uint16_t)id, (int)req->arg[0]);
	if (!s) {
		r->err = ENOMEM;
		return;
	}
	g_ptr_array_add(d->servers, s);
	d->stats.servers_created++;
	r->val[0] = id;
	hv_log_add(c->hv, HV_EV_SERVER_CREATE, d->domid, (int)id, req->arg[0], 0, 0)->conn = c->id;
}

static void server_kill(struct hv_server *s, struct hv_conn *c, bool with_domain)
{
	s->destroyed = true;
	s->enabled = false;
	g_array_set_size(s->ranges, 0);
	hv_log_add(s->d->hv, HV_EV_SERVER_DESTROY, s->d->domid, s->id, with_domain, 0, 0)->conn =
		c ? c->id : 0;
}

void hv_dom_kill_servers(struct xs_dom *d)
{
	for (unsigned i = 0; i < d->servers->len; i++) {
		struct hv_server *s = g_ptr_array_index(d->servers, i);

		if (!s->destroyed)
			server_kill(s, NULL, true);
	}
}

void hv_op_dm_destroy(struct hv_conn *c, const struct xsim_req *req, const char *data, size_t len,
		      struct hv_reply *r)
{
	struct hv_server *s = server_or_err(c, req, r);

	if (!s)
		return;
	server_kill(s, c, false);
	s->d->stats.servers_destroyed++;
}

void hv_op_dm_set_state(struct hv_conn *c, const struct xsim_req *req, const char *data, size_t len,
			struct hv_reply *r)
{
	struct hv_server *s = server_or_err(c, req, r);

	if (!s)
		return;
	s->enabled = req->arg[0] != 0;
	/* Xen (ioreq_server_enable) publishes each vCPU's port in its slot. */
	if (s->enabled) {
		for (unsigned v = 0; v < s->d->cfg.nr_vcpus; v++)
			s->page->vcpu_ioreq[v].vp_eport = s->ports[v].remote;
	}
	hv_log_add(c->hv, HV_EV_SERVER_STATE, s->d->domid, s->id, s->enabled, 0, 0)->conn = c->id;
}

static void range_op(struct hv_conn *c, struct hv_server *s, bool map, uint32_t type,
		     uint64_t start, uint64_t end, struct hv_reply *r)
{
	int ret;

	if (start > end) {
		r->err = EINVAL;
		return;
	}
	ret = map ? hv_ranges_add(s->ranges, type, start, end)
		  : hv_ranges_remove(s->ranges, type, start, end);
	if (ret < 0) {
		r->err = -ret;
		return;
	}
	if (map)
		s->d->stats.ranges_mapped++;
	else
		s->d->stats.ranges_unmapped++;
	hv_log_add(c->hv, map ? HV_EV_RANGE_MAP : HV_EV_RANGE_UNMAP, s->d->domid, s->id, start, end,
		   type)
		->conn = c->id;
}

void hv_op_dm_map_range(struct hv_conn *c, const struct xsim_req *req, const char *data, size_t len,
			struct hv_reply *r)
{
	struct hv_server *s = server_or_err(c, req, r);

	if (s)
		range_op(c, s, true,
			 req->arg[0] ? XEN_DMOP_IO_RANGE_MEMORY : XEN_DMOP_IO_RANGE_PORT,
			 req->arg[1], req->arg[2], r);
}

void hv_op_dm_unmap_range(struct hv_conn *c, const struct xsim_req *req, const char *data,
			  size_t len, struct hv_reply *r)
{
	struct hv_server *s = server_or_err(c, req, r);

	if (s)
		range_op(c, s, false,
			 req->arg[0] ? XEN_DMOP_IO_RANGE_MEMORY : XEN_DMOP_IO_RANGE_PORT,
			 req->arg[1], req->arg[2], r);
}

/*
 * map/unmap_pcidev: libxendevicemodel sends XEN_DMOP_IO_RANGE_PCI with start = end =
 * XEN_DMOP_PCI_SBDF() (xensim-dm.c masks the fields as that macro does), and Xen's common
 * code (ioreq_server_map_io_range) keeps it in the server's own PCI rangeset: EEXIST only
 * for an overlap within that server, so two servers may claim one function (routing then
 * prefers the higher id). Arm accepts it too; it just never routes PCI_CONFIG there.
 */
static void pcidev_op(struct hv_conn *c, const struct xsim_req *req, bool map, struct hv_reply *r)
{
	struct hv_server *s = server_or_err(c, req, r);
	uint64_t sbdf;

	if (!s)
		return;
	if (req->arg[0] > 0xffff || req->arg[1] > 0xff || req->arg[2] > 0x1f || req->arg[3] > 7) {
		r->err = EINVAL; /* cannot come from the library: it masks */
		return;
	}
	sbdf = HV_SBDF(req->arg[0], req->arg[1], req->arg[2], req->arg[3]);
	range_op(c, s, map, XEN_DMOP_IO_RANGE_PCI, sbdf, sbdf, r);
}

void hv_op_dm_map_pcidev(struct hv_conn *c, const struct xsim_req *req, const char *data,
			 size_t len, struct hv_reply *r)
{
	pcidev_op(c, req, true, r);
}

void hv_op_dm_unmap_pcidev(struct hv_conn *c, const struct xsim_req *req, const char *data,
			   size_t len, struct hv_reply *r)
{
	pcidev_op(c, req, false, r);
}

static void set_line(struct hv_conn *c, struct xs_dom *d, unsigned key, unsigned level)
{
	struct hv_irq *l = g_hash_table_lookup(d->irqs, GUINT_TO_POINTER(key));

	if (!l) {
		l = g_new0(struct hv_irq, 1);
		g_hash_table_insert(d->irqs, GUINT_TO_POINTER(key), l);
	}
	if (level && !l->level)
		l->edges++;
	l->level = level;
	d->stats.irq_calls++;
	hv_log_add(c->hv, HV_EV_IRQ, d->domid, -1, key, level, 0)->conn = c->id;
}

/* xen/arch/arm/dm.c: SPIs only, level 0 or 1. x86 has no such op. */
void hv_op_dm_set_irq(struct hv_conn *c, const struct xsim_req *req, const char *data, size_t len,
		      struct hv_reply *r)
{
	struct xs_dom *d = dom_or_err(c, req->domid, r);
	uint64_t irq = req->arg[0];

	if (!d)
		return;
	if (d->cfg.arch != HV_ARCH_ARM) {
		r->err = EOPNOTSUPP;
		return;
	}
	if (irq < 32 || irq >= 32 + (uint64_t)d->cfg.nr_spis || req->arg[1] > 1) {
		r->err = EINVAL;
		return;
	}
	set_line(c, d, (unsigned)irq, (unsigned)req->arg[1]);
}

/*
 * xen/arch/x86/hvm/dm.c set_pci_intx_level(): segment and bus 0, device <= 0x1f, INTA..INTD,
 * level (a uint8_t in the dm_op) 0 or 1, else EINVAL. Arm has no such op: its dm_op() hands
 * it to ioreq_server_dm_op(), whose default is EOPNOTSUPP (FACTS 26).
 */
void hv_op_dm_set_intx(struct hv_conn *c, const struct xsim_req *req, const char *data, size_t len,
		       struct hv_reply *r)
{
	struct xs_dom *d = dom_or_err(c, req->domid, r);
	unsigned intx = req->arg[3] & 0xff, level = (unsigned)(req->arg[3] >> 8) & 0xff;

	if (!d)
		return;
	if (d->cfg.arch != HV_ARCH_X86) {
		r->err = EOPNOTSUPP;
		return;
	}
	if (req->arg[0] || req->arg[1] || req->arg[2] > 0x1f || intx > 3 || level > 1) {
		r->err = EINVAL;
		return;
	}
	set_line(c, d, HV_INTX_KEY(0, (unsigned)req->arg[2], intx), level);
}

static void count_msi(struct xs_dom *d, uint64_t addr, uint32_t data)
{
	struct hv_msi m = { addr, data, 1 };

	for (unsigned i = 0; i < d->msis->len; i++) {
		struct hv_msi *e = &g_array_index(d->msis, struct hv_msi, i);

		if (e->addr == addr && e->data == data) {
			e->count++;
			return;
		}
	}
	g_array_append_val(d->msis, m);
}

/*
 * xen/arch/x86/hvm/irq.c hvm_inject_msi(): vector = data[7:0]; vector 0 is the PV-on-HVM
 * pirq convention, which ends in ERANGE without a pirq in addr[63:40] | dest (the pirq path
 * itself is not simulated: it is ERANGE here too); vmsi_deliver() takes delivery modes
 * Fixed (0) and LowestPrio (1) only, else EINVAL. Arm: EOPNOTSUPP as above.
 */
void hv_op_dm_inject_msi(struct hv_conn *c, const struct xsim_req *req, const char *data,
			 size_t len, struct hv_reply *r)
{
	struct xs_dom *d = dom_or_err(c, req->domid, r);
	uint32_t msi_data = (uint32_t)req->arg[1];
	unsigned mode = (msi_data >> 8) & 7;

	if (!d)
		return;
	if (d->cfg.arch != HV_ARCH_X86) {
		r->err = EOPNOTSUPP;
		return;
	}
	if (!(msi_data & 0xff)) {
		r->err = ERANGE;
		return;
	}
	if (mode > 1) {
		r->err = EINVAL;
		return;
	}
	d->stats.msis++;
	count_msi(d, req->arg[0], msi_data);
	hv_log_add(c->hv, HV_EV_MSI, d->domid, -1, req->arg[0], msi_data, 0)->conn = c->id;
}

void hv_op_dm_nr_vcpus(struct hv_conn *c, const struct xsim_req *req, const char *data, size_t len,
		       struct hv_reply *r)
{
	struct xs_dom *d = dom_or_err(c, req->domid, r);

	if (d)
		r->val[0] = d->cfg.nr_vcpus;
}

/* --- foreign memory --- */

static void reply_ram(struct xs_dom *d, struct hv_reply *r)
{
	int ret;

	for (unsigned i = 0; i < d->cfg.nr_banks; i++) {
		struct xsim_bank b = { d->cfg.banks[i].gpa, d->cfg.banks[i].size, d->bank_off[i] };

		g_byte_array_append(r->data, (const guint8 *)&b, sizeof(b));
	}
	r->val[0] = d->cfg.nr_banks;
	ret = hv_reply_fd(r, d->ram_fd);
	if (ret < 0)
		r->err = -ret;
}

void hv_op_fmem_ram(struct hv_conn *c, const struct xsim_req *req, const char *data, size_t len,
		    struct hv_reply *r)
{
	struct xs_dom *d = dom_or_err(c, req->domid, r);

	if (d)
		reply_ram(d, r);
}

/*
 * IOCTL_PRIVCMD_MMAPBATCH_V2 on an emulated privcmd fd, possibly in another process than
 * the one that opened it (a vhost-user back-end): the caller maps the pages itself from
 * the RAM memfd; the hypervisor logs who mapped what.
 */
void hv_op_privcmd_map(struct hv_conn *c, const struct xsim_req *req, const char *data, size_t len,
		       struct hv_reply *r)
{
	struct xs_dom *d = dom_or_err(c, req->domid, r);
	struct hv_event *e;

	if (!d)
		return;
	if (!req->arg[1]) {
		r->err = EINVAL;
		return;
	}
	reply_ram(d, r);
	if (r->err)
		return;
	e = hv_log_add(c->hv, HV_EV_PRIVCMD_MAP, d->domid, -1, req->arg[0], req->arg[1],
		       req->arg[2]);
	e->conn = c->id;
	d->stats.privcmd_maps++;
	d->stats.privcmd_pages += req->arg[1];
}

/* Only the ioreq page (frame 1, XENMEM_resource_ioreq_server_frame_ioreq(0)) exists. */
void hv_op_fmem_resource(struct hv_conn *c, const struct xsim_req *req, const char *data,
			 size_t len, struct hv_reply *r)
{
	struct xs_dom *d = dom_or_err(c, req->domid, r);
	struct hv_server *s;
	int ret;

	if (!d)
		return;
	if (req->arg[0] != XENMEM_resource_ioreq_server) {
		r->err = EOPNOTSUPP;
		return;
	}
	s = live_server(d, (unsigned)req->arg[1]);
	if (!s) {
		r->err = ENOENT;
		return;
	}
	if (req->arg[2] != XENMEM_resource_ioreq_server_frame_ioreq(0) || req->arg[3] != 1) {
		if (req->arg[2] == XENMEM_resource_ioreq_server_frame_bufioreq && s->bufioreq)
			fprintf(stderr, "hv: the buffered ioreq page is not simulated\n");
		r->err = EINVAL;
		return;
	}
	ret = hv_reply_fd(r, s->page_fd);
	if (ret < 0)
		r->err = -ret;
}

/* --- event channels --- */

static struct hv_port *find_remote(struct xs_dom *d, uint32_t remote, struct hv_server **ret_s,
				   unsigned *ret_vcpu)
{
	for (unsigned i = 0; i < d->servers->len; i++) {
		struct hv_server *s = g_ptr_array_index(d->servers, i);

		for (unsigned v = 0; !s->destroyed && v < d->cfg.nr_vcpus; v++) {
			if (s->ports[v].remote == remote) {
				*ret_s = s;
				*ret_vcpu = v;
				return &s->ports[v];
			}
		}
	}
	return NULL;
}

void hv_op_evtchn_bind(struct hv_conn *c, const struct xsim_req *req, const char *data, size_t len,
		       struct hv_reply *r)
{
	struct xs_dom *d = dom_or_err(c, req->domid, r);
	struct hv_server *s;
	struct hv_port *p;
	unsigned v;
	int ret;

	if (!d)
		return;
	p = req->arg[0] <= UINT32_MAX ? find_remote(d, (uint32_t)req->arg[0], &s, &v) : NULL;
	if (!p || p->bound) { /* Xen: the remote port must be ECS_UNBOUND */
		r->err = EINVAL;
		return;
	}
	ret = hv_reply_fd(r, p->g2dm);
	if (!ret)
		ret = hv_reply_fd(r, p->dm2g);
	if (ret < 0) {
		r->err = -ret;
		return;
	}
	p->bound = true;
	p->conn = c;
	p->local = c->hv->next_local_port++;
	r->val[0] = p->local;
	d->stats.ports_bound++;
	hv_log_add(c->hv, HV_EV_PORT_BIND, d->domid, s->id, v, p->local, p->remote)->conn = c->id;
}

static void unbind(struct hv_conn *c, struct xs_dom *d, struct hv_server *s, unsigned v)
{
	struct hv_port *p = &s->ports[v];

	p->bound = false;
	p->conn = NULL;
	d->stats.ports_unbound++;
	hv_log_add(c->hv, HV_EV_PORT_UNBIND, d->domid, s->id, v, p->local, p->remote)->conn = c->id;
}

/* Calls fn for every port bound through c (optionally only local port `local`). */
static bool unbind_matching(struct hv_conn *c, bool all, uint32_t local)
{
	bool found = false;

	for (unsigned i = 0; i < c->hv->doms->len; i++) {
		struct xs_dom *d = g_ptr_array_index(c->hv->doms, i);

		for (unsigned j = 0; j < d->servers->len; j++) {
			struct hv_server *s = g_ptr_array_index(d->servers, j);

			for (unsigned v = 0; v < d->cfg.nr_vcpus; v++) {
				struct hv_port *p = &s->ports[v];

				if (p->bound && p->conn == c && (all || p->local == local)) {
					unbind(c, d, s, v);
					found = true;
				}
			}
		}
	}
	return found;
}

void hv_op_evtchn_unbind(struct hv_conn *c, const struct xsim_req *req, const char *data,
			 size_t len, struct hv_reply *r)
{
	if (req->arg[0] > UINT32_MAX || !unbind_matching(c, false, (uint32_t)req->arg[0]))
		r->err = EINVAL;
}

void hv_conn_unbind_all(struct hv_conn *c)
{
	unbind_matching(c, true, 0);
}

/* --- routing (also used by the guest driver) --- */

/* The highest live, enabled server id whose ranges of `type` hold [start, end]. */
static struct hv_server *route(struct xs_dom *d, uint32_t type, uint64_t start, uint64_t end)
{
	struct hv_server *best = NULL;

	/* Xen's FOR_EACH_IOREQ_SERVER walks the ids downwards: the newest server is favoured. */
	for (unsigned i = 0; i < d->servers->len; i++) {
		struct hv_server *s = g_ptr_array_index(d->servers, i);

		if (!s->destroyed && s->enabled && (!best || s->id > best->id) &&
		    hv_ranges_contain(s->ranges, type, start, end))
			best = s;
	}
	return best;
}

struct hv_server *hv_route_mmio(struct xs_dom *d, uint64_t addr, uint64_t len)
{
	uint64_t end = addr + (len ? len : 1) - 1;

	if (end < addr)
		return NULL;
	return route(d, XEN_DMOP_IO_RANGE_MEMORY, addr, end);
}

struct hv_server *hv_route_pci(struct xs_dom *d, uint32_t sbdf)
{
	return route(d, XEN_DMOP_IO_RANGE_PCI, sbdf, sbdf);
}

struct hv_server *hv_route_pio(struct xs_dom *d, uint64_t port, uint64_t len)
{
	uint64_t end = port + (len ? len : 1) - 1;

	if (end < port || end > 0xffff)
		return NULL;
	return route(d, XEN_DMOP_IO_RANGE_PORT, port, end);
}
