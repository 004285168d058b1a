/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The simulated hypervisor: the event log and the queries a test makes about ioreq
 * servers ("who claims this address, now or at the time of that xenstore write").
 * Trust boundary: none; the log only holds what hv*.c recorded.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <xen/hvm/dm_op.h>

#include "tests/xensim/hv-internal.h"

static const char *const ev_names[] = {
	[HV_EV_DOM_CREATE] = "dom-create",
	[HV_EV_DOM_DESTROY] = "dom-destroy",
	[HV_EV_CONN_OPEN] = "conn-open",
	[HV_EV_CONN_CLOSE] = "conn-close",
	[HV_EV_SERVER_CREATE] = "server-create",
	[HV_EV_SERVER_DESTROY] = "server-destroy",
	[HV_EV_SERVER_STATE] = "server-state",
	[HV_EV_RANGE_MAP] = "range-map",
	[HV_EV_RANGE_UNMAP] = "range-unmap",
	[HV_EV_PORT_BIND] = "port-bind",
	[HV_EV_PORT_UNBIND] = "port-unbind",
	[HV_EV_IRQ] = "irq",
	[HV_EV_MSI] = "msi",
	[HV_EV_XS_WRITE] = "xs-write",
	[HV_EV_XS_RM] = "xs-rm",
	[HV_EV_ERROR] = "error",
	[HV_EV_PRIVCMD_MAP] = "privcmd-map",
};

const char *hv_ev_name(enum hv_ev_type t)
{
	return (unsigned)t < G_N_ELEMENTS(ev_names) && ev_names[t] ? ev_names[t] : "?";
}

struct hv_event *hv_log_add(struct hv *hv, enum hv_ev_type type, uint32_t domid, int server,
			    uint64_t a, uint64_t b, uint64_t c)
{
	struct hv_event e = { .type = type,
			      .domid = domid,
			      .server = server,
			      .a = a,
			      .b = b,
			      .c = c,
			      .by_client = true };

	e.seq = hv->log->len + 1;
	g_array_append_val(hv->log, e);
	return &g_array_index(hv->log, struct hv_event, hv->log->len - 1);
}

void hv_log_add_xs(struct hv *hv, enum hv_ev_type type, const char *path, const char *value,
		   size_t len, bool by_client)
{
	struct hv_event *e = hv_log_add(hv, type, 0, -1, 0, 0, 0);

	e->by_client = by_client;
	e->path = g_strdup(path);
	e->value = value ? g_strndup(value, len) : NULL;
}

unsigned hv_log_count(struct hv *hv)
{
	unsigned n;

	pthread_mutex_lock(&hv->lock);
	n = hv->log->len;
	pthread_mutex_unlock(&hv->lock);
	return n;
}

bool hv_log_get(struct hv *hv, unsigned i, struct hv_event *ret)
{
	bool ok;

	pthread_mutex_lock(&hv->lock);
	ok = i < hv->log->len;
	if (ok)
		*ret = g_array_index(hv->log, struct hv_event, i);
	pthread_mutex_unlock(&hv->lock);
	return ok;
}

uint64_t hv_log_xs_write_seq(struct hv *hv, const char *path, const char *value)
{
	uint64_t seq = 0;

	pthread_mutex_lock(&hv->lock);
	for (unsigned i = 0; i < hv->log->len && !seq; i++) {
		const struct hv_event *e = &g_array_index(hv->log, struct hv_event, i);

		if (e->type == HV_EV_XS_WRITE && e->by_client && !strcmp(e->path, path) &&
		    e->value && !strcmp(e->value, value))
			seq = e->seq;
	}
	pthread_mutex_unlock(&hv->lock);
	return seq;
}

static void print_event(FILE *f, const struct hv_event *e)
{
	fprintf(f, "  #%-5" PRIu64 " %-14s", e->seq, hv_ev_name(e->type));
	if (e->type == HV_EV_XS_WRITE || e->type == HV_EV_XS_RM) {
		fprintf(f, " %s %s%s%s\n", e->by_client ? "client" : "test  ", e->path,
			e->value ? " = " : "", e->value ? e->value : "");
		return;
	}
	fprintf(f, " dom%u", e->domid);
	if (e->server >= 0)
		fprintf(f, " srv%d", e->server);
	if (e->conn)
		fprintf(f, " conn%u", e->conn);
	fprintf(f, " 0x%" PRIx64 " 0x%" PRIx64 " 0x%" PRIx64 "\n", e->a, e->b, e->c);
}

void hv_log_dump(struct hv *hv, FILE *f)
{
	pthread_mutex_lock(&hv->lock);
	fprintf(f, "hv event log (%u entries; irq entries elided):\n", hv->log->len);
	for (unsigned i = 0; i < hv->log->len; i++) {
		const struct hv_event *e = &g_array_index(hv->log, struct hv_event, i);

		if (e->type != HV_EV_IRQ)
			print_event(f, e);
	}
	pthread_mutex_unlock(&hv->lock);
}

/* --- claims --- */

/* What the log says about one server id of a domain, replayed. */
struct replay_server {
	bool live;
	bool enabled;
	GArray *ranges;
	bool bound[HV_MAX_VCPUS];
};

static void replay_reset(struct replay_server *rs)
{
	rs->live = false;
	rs->enabled = false;
	g_array_set_size(rs->ranges, 0);
	memset(rs->bound, 0, sizeof(rs->bound));
}

static void replay_one(struct replay_server *srv, const struct hv_event *e)
{
	struct replay_server *rs;

	if (e->type == HV_EV_DOM_CREATE) {
		for (unsigned i = 0; i < HV_MAX_IOREQ_SERVERS; i++)
			replay_reset(&srv[i]);
		return;
	}
	if (e->server < 0 || e->server >= HV_MAX_IOREQ_SERVERS)
		return;
	rs = &srv[e->server];
	switch (e->type) {
	case HV_EV_SERVER_CREATE:
		replay_reset(rs);
		rs->live = true;
		break;
	case HV_EV_SERVER_DESTROY:
		replay_reset(rs);
		break;
	case HV_EV_SERVER_STATE:
		rs->enabled = e->a != 0;
		break;
	case HV_EV_RANGE_MAP:
		hv_ranges_add(rs->ranges, (uint32_t)e->c, e->a, e->b);
		break;
	case HV_EV_RANGE_UNMAP:
		hv_ranges_remove(rs->ranges, (uint32_t)e->c, e->a, e->b);
		break;
	case HV_EV_PORT_BIND:
	case HV_EV_PORT_UNBIND:
		if (e->a < HV_MAX_VCPUS)
			rs->bound[e->a] = e->type == HV_EV_PORT_BIND;
		break;
	default:
		break;
	}
}

static void claim_from(struct replay_server *srv, unsigned nr_vcpus, uint32_t type, uint64_t addr,
		       struct hv_claim *ret)
{
	memset(ret, 0, sizeof(*ret));
	ret->server = -1;
	for (unsigned i = 0; i < HV_MAX_IOREQ_SERVERS; i++) {
		struct replay_server *rs = &srv[i];

		if (!rs->live || !hv_ranges_contain(rs->ranges, type, addr, addr))
			continue;
		if (ret->mapped && (ret->enabled || !rs->enabled))
			continue; /* prefer the enabled server, as Xen's routing does */
		ret->mapped = true;
		ret->server = (int)i;
		ret->enabled = rs->enabled;
		ret->bound = 0;
		for (unsigned v = 0; v < nr_vcpus; v++)
			ret->bound += rs->bound[v];
	}
}

/* Replays d's log entries before seq; fills *ret for addr, returns the live servers. */
static unsigned claim_locked(struct xs_dom *d, uint32_t type, uint64_t addr, uint64_t seq,
			     struct hv_claim *ret)
{
	struct replay_server srv[HV_MAX_IOREQ_SERVERS];
	unsigned live = 0;

	memset(srv, 0, sizeof(srv));
	for (unsigned i = 0; i < HV_MAX_IOREQ_SERVERS; i++)
		srv[i].ranges = g_array_new(FALSE, FALSE, sizeof(struct hv_range));
	for (unsigned i = 0; i < d->hv->log->len; i++) {
		const struct hv_event *e = &g_array_index(d->hv->log, struct hv_event, i);

		if (seq && e->seq >= seq)
			break;
		if (e->domid == d->domid)
			replay_one(srv, e);
	}
	claim_from(srv, d->cfg.nr_vcpus, type, addr, ret);
	for (unsigned i = 0; i < HV_MAX_IOREQ_SERVERS; i++) {
		live += srv[i].live;
		g_array_free(srv[i].ranges, TRUE);
	}
	return live;
}

void hv_dom_claim_at(struct xs_dom *d, uint64_t addr, uint64_t seq, struct hv_claim *ret)
{
	pthread_mutex_lock(&d->hv->lock);
	claim_locked(d, XEN_DMOP_IO_RANGE_MEMORY, addr, seq ? seq : 1, ret);
	pthread_mutex_unlock(&d->hv->lock);
}

void hv_dom_pci_claim_at(struct xs_dom *d, uint32_t sbdf, uint64_t seq, struct hv_claim *ret)
{
	pthread_mutex_lock(&d->hv->lock);
	claim_locked(d, XEN_DMOP_IO_RANGE_PCI, sbdf, seq ? seq : 1, ret);
	pthread_mutex_unlock(&d->hv->lock);
}

unsigned hv_dom_servers_at(struct xs_dom *d, uint64_t seq)
{
	struct hv_claim cl;
	unsigned n;

	pthread_mutex_lock(&d->hv->lock);
	n = claim_locked(d, XEN_DMOP_IO_RANGE_MEMORY, 0, seq ? seq : 1, &cl);
	pthread_mutex_unlock(&d->hv->lock);
	return n;
}

static void claim_now(struct xs_dom *d, uint32_t type, uint64_t addr, struct hv_claim *ret)
{
	memset(ret, 0, sizeof(*ret));
	ret->server = -1;
	if (d->destroyed)
		return;
	for (unsigned i = 0; i < d->servers->len; i++) {
		struct hv_server *s = g_ptr_array_index(d->servers, i);

		if (s->destroyed || !hv_ranges_contain(s->ranges, type, addr, addr))
			continue;
		if (ret->mapped && (ret->enabled || !s->enabled))
			continue;
		ret->mapped = true;
		ret->server = s->id;
		ret->enabled = s->enabled;
		ret->bound = 0;
		for (unsigned v = 0; v < d->cfg.nr_vcpus; v++)
			ret->bound += s->ports[v].bound;
	}
}

void hv_dom_claim(struct xs_dom *d, uint64_t addr, struct hv_claim *ret)
{
	pthread_mutex_lock(&d->hv->lock);
	claim_now(d, XEN_DMOP_IO_RANGE_MEMORY, addr, ret);
	pthread_mutex_unlock(&d->hv->lock);
}

void hv_dom_pio_claim(struct xs_dom *d, uint16_t port, struct hv_claim *ret)
{
	pthread_mutex_lock(&d->hv->lock);
	claim_now(d, XEN_DMOP_IO_RANGE_PORT, port, ret);
	pthread_mutex_unlock(&d->hv->lock);
}

void hv_dom_pci_claim(struct xs_dom *d, uint32_t sbdf, struct hv_claim *ret)
{
	pthread_mutex_lock(&d->hv->lock);
	claim_now(d, XEN_DMOP_IO_RANGE_PCI, sbdf, ret);
	pthread_mutex_unlock(&d->hv->lock);
}

static int wait_served(struct xs_dom *d, uint32_t type, uint64_t addr, int timeout_ms)
{
	struct timespec dl;
	struct hv_claim cl;
	int ret = 0;

	hv_deadline(&dl, timeout_ms);
	pthread_mutex_lock(&d->hv->lock);
	for (;;) {
		claim_now(d, type, addr, &cl);
		if (cl.mapped && cl.enabled && cl.bound == d->cfg.nr_vcpus)
			break;
		if (hv_cond_wait(d->hv, &dl) == ETIMEDOUT) {
			ret = -ETIMEDOUT;
			break;
		}
	}
	pthread_mutex_unlock(&d->hv->lock);
	return ret;
}

int hv_dom_wait_served(struct xs_dom *d, uint64_t addr, int timeout_ms)
{
	return wait_served(d, XEN_DMOP_IO_RANGE_MEMORY, addr, timeout_ms);
}

int hv_dom_wait_pci_served(struct xs_dom *d, uint32_t sbdf, int timeout_ms)
{
	return wait_served(d, XEN_DMOP_IO_RANGE_PCI, sbdf, timeout_ms);
}

unsigned hv_dom_servers(struct xs_dom *d, struct hv_server_info *out, unsigned max)
{
	unsigned n = 0;

	pthread_mutex_lock(&d->hv->lock);
	for (unsigned i = 0; i < d->servers->len; i++) {
		struct hv_server *s = g_ptr_array_index(d->servers, i);
		struct hv_server_info info = { s->id, s->enabled, s->bufioreq, s->ranges->len, 0 };

		if (s->destroyed)
			continue;
		for (unsigned v = 0; v < d->cfg.nr_vcpus; v++)
			info.nr_bound += s->ports[v].bound;
		if (n < max)
			out[n] = info;
		n++;
	}
	pthread_mutex_unlock(&d->hv->lock);
	return n;
}
