/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sim-watch: xvdm as a xenstore-discovery daemon (--watch) against the nodes xl 4.17
 * writes for disk=[ "...,backendtype=standalone,specification=virtio" ] (FACTS 28,
 * xen-lab/README.md "What libxl writes"). For two domains in turn (new domid each time),
 * as libxl does: name, then the backend and frontend nodes in one transaction, wait 10 s
 * for backend state 2 — by which time the slot's range must be mapped by an enabled
 * server with every vCPU port bound —, the guest probes the device and reads entropy,
 * destroy writes online 0 and state 5, waits 10 s for 6 (server gone by then), removes the
 * nodes (with libxl's empty-parent cleanup) and the domain dies. Then a third domain with
 * the Xen >= 4.18 layout (backend/virtio, FACTS 29): one slot served, one asking for grants
 * refused on its own. xvdm stays up throughout and exits 0 on SIGTERM.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <linux/virtio_ids.h>

#include "tests/xensim/sim.h"
#include "tests/xensim/vdrv.h"

#define DEVID	 "51712" /* xvda */
#define BASE	 0x2000000ULL
#define IRQ	 33
#define NVCPUS	 2
#define LIBXL_MS 10000 /* libxl's wait for the backend */

static struct sim sim;

static void xs_w(uint32_t tx, const char *path, const char *value)
{
	int ret = hv_xs_write(sim.hv, tx, path, value);

	SIM_CHECK(&sim, !ret, "xenstore write %s: %s", path, strerror(-ret));
}

/* libxl__xs_path_cleanup(): remove path, then each parent whose value is empty and that
 * has no children left. */
static void path_cleanup(uint32_t tx, const char *path)
{
	char *p = strdup(path), *slash, *v;
	int n;

	hv_xs_rm(sim.hv, tx, p);
	while ((slash = strrchr(p, '/')) && slash != p) {
		*slash = '\0';
		v = hv_xs_read(sim.hv, tx, p);
		n = hv_xs_directory(sim.hv, tx, p, NULL);
		if (!v || v[0] || n != 0) {
			free(v);
			break;
		}
		free(v);
		hv_xs_rm(sim.hv, tx, p);
	}
	free(p);
}

static char *be_dir(uint32_t domid)
{
	char *p;

	SIM_CHECK(&sim, asprintf(&p, "/local/domain/0/backend/virtio_disk/%u/" DEVID, domid) > 0,
		  "asprintf");
	return p;
}

static char *fe_dir(uint32_t domid)
{
	char *p;

	SIM_CHECK(&sim, asprintf(&p, "/local/domain/%u/device/virtio_disk/" DEVID, domid) > 0,
		  "asprintf");
	return p;
}

static void node(uint32_t tx, const char *dir, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void node(uint32_t tx, const char *dir, const char *key, const char *fmt, ...)
{
	char path[256], *v;
	va_list ap;

	snprintf(path, sizeof(path), "%s/%s", dir, key);
	va_start(ap, fmt);
	SIM_CHECK(&sim, vasprintf(&v, fmt, ap) >= 0, "vasprintf");
	va_end(ap);
	xs_w(tx, path, v);
	free(v);
}

/* What libxl 4.17 writes for the disk, in one transaction. */
static void libxl_add_disk(uint32_t domid)
{
	char *be = be_dir(domid), *fe = fe_dir(domid);
	uint32_t tx;

	hv_xs_tx_start(sim.hv, &tx);
	node(tx, be, "frontend", "%s", fe);
	node(tx, be, "params", "/dev/loop0");
	node(tx, be, "frontend-id", "%u", domid);
	node(tx, be, "online", "1");
	node(tx, be, "removable", "0");
	node(tx, be, "bootable", "1");
	node(tx, be, "state", "1");
	node(tx, be, "dev", "xvda");
	node(tx, be, "type", "standalone");
	node(tx, be, "mode", "w");
	node(tx, be, "device-type", "disk");
	node(tx, be, "discard-enable", "1");
	node(tx, be, "specification", "virtio");
	node(tx, be, "transport", "mmio");
	node(tx, be, "base", "%llu", BASE); /* decimal in 4.17 */
	node(tx, be, "irq", "%u", IRQ);
	node(tx, fe, "backend", "%s", be);
	node(tx, fe, "backend-id", "0");
	node(tx, fe, "state", "1");
	node(tx, fe, "virtual-device", DEVID);
	node(tx, fe, "device-type", "disk");
	node(tx, fe, "trusted", "1");
	SIM_CHECK(&sim, !hv_xs_tx_end(sim.hv, tx, false), "transaction");
	free(be);
	free(fe);
}

static void check_claim_at_write(struct xs_dom *d, const char *path, const char *value)
{
	uint64_t seq = hv_log_xs_write_seq(sim.hv, path, value);
	struct hv_claim cl;

	SIM_CHECK(&sim, seq, "%s = %s was not written by xvdm", path, value);
	hv_dom_claim_at(d, BASE, seq, &cl);
	SIM_CHECK(&sim, cl.mapped && cl.enabled && cl.bound == NVCPUS,
		  "when xvdm wrote %s = %s, 0x%llx was: mapped %d, server enabled %d, %u of %u "
		  "ports bound (all must be ready before the toolstack unpauses the guest)",
		  path, value, BASE, cl.mapped, cl.enabled, cl.bound, NVCPUS);
}

static void check_gone_at_write(struct xs_dom *d, const char *path, const char *value)
{
	uint64_t seq = hv_log_xs_write_seq(sim.hv, path, value);
	struct hv_claim cl;
	unsigned n;

	SIM_CHECK(&sim, seq, "%s = %s was not written by xvdm", path, value);
	hv_dom_claim_at(d, BASE, seq, &cl);
	n = hv_dom_servers_at(d, seq);
	SIM_CHECK(&sim, !cl.mapped && n == 0,
		  "when xvdm wrote %s = %s: range mapped %d, %u ioreq server(s) alive", path, value,
		  cl.mapped, n);
}

static void guest_uses_device(struct xs_dom *d)
{
	uint64_t gpa = gd_alloc(d, 4096, 4096);
	struct vdrv_sg sg = { gpa, 4096, true };
	struct vdrv v;
	uint32_t len;
	int ret;

	vdrv_init(&v, d, 0, BASE, IRQ);
	ret = vdrv_probe(&v, VIRTIO_ID_RNG, 0, 1, 64);
	SIM_CHECK(&sim, !ret, "dom%u: probe: %s", hv_dom_id(d), strerror(-ret));
	for (unsigned i = 0; i < 4; i++) {
		ret = vdrv_xfer(&v, 0, &sg, 1, &len);
		SIM_CHECK(&sim, !ret && len > 0 && len <= 4096,
			  "dom%u: entropy read %u: %s, len %u", hv_dom_id(d), i, strerror(-ret),
			  len);
	}
	ret = vdrv_remove(&v);
	SIM_CHECK(&sim, !ret, "dom%u: remove: %s", hv_dom_id(d), strerror(-ret));
}

static void one_domain(uint32_t domid)
{
	struct hv_dom_cfg cfg = { .nr_vcpus = NVCPUS, .arch = HV_ARCH_ARM };
	char *be = be_dir(domid), *fe = fe_dir(domid), state[300], dom[64];
	struct xs_dom *d;
	uint32_t tx;

	sim_note("dom%u: create", domid);
	d = hv_dom_create(sim.hv, domid, &cfg);
	SIM_CHECK(&sim, d, "hv_dom_create %u", domid);
	snprintf(dom, sizeof(dom), "/local/domain/%u", domid);
	hv_xs_tx_start(sim.hv, &tx);
	node(tx, dom, "name", "domU");
	node(tx, dom, "domid", "%u", domid);
	SIM_CHECK(&sim, !hv_xs_tx_end(sim.hv, tx, false), "transaction");
	libxl_add_disk(domid);

	snprintf(state, sizeof(state), "%s/state", be);
	sim_wait_xs(&sim, state, "2", LIBXL_MS);
	check_claim_at_write(d, state, "2");
	guest_uses_device(d);

	sim_note("dom%u: destroy", domid);
	hv_xs_tx_start(sim.hv, &tx);
	node(tx, be, "online", "0");
	node(tx, be, "state", "5");
	SIM_CHECK(&sim, !hv_xs_tx_end(sim.hv, tx, false), "transaction");
	sim_wait_xs(&sim, state, "6", LIBXL_MS);
	check_gone_at_write(d, state, "6");
	hv_xs_tx_start(sim.hv, &tx);
	path_cleanup(tx, be);
	path_cleanup(tx, fe);
	SIM_CHECK(&sim, !hv_xs_tx_end(sim.hv, tx, false), "transaction");
	hv_dom_destroy(d);
	hv_xs_rm(sim.hv, 0, dom);
	SIM_CHECK(&sim, sim_alive(&sim), "xvdm exited after dom%u went away: %s", domid,
		  sim_status_str(sim.status));
	free(be);
	free(fe);
}

/* Xen >= 4.18: virtio=[ "type=virtio,device,transport=mmio,backend=0,grant_usage=G" ]
 * writes backend/virtio/<domid>/<devid> in one transaction (base in hex, devid from 0,
 * FACTS 29); libxl does not wait for state 2 (FACTS 38) but does wait for 6. */
static void libxl_add_virtio(uint32_t domid, unsigned devid, uint64_t base, unsigned irq, int grant)
{
	char be[128], fe[128];
	uint32_t tx;

	snprintf(be, sizeof(be), "/local/domain/0/backend/virtio/%u/%u", domid, devid);
	snprintf(fe, sizeof(fe), "/local/domain/%u/device/virtio/%u", domid, devid);
	hv_xs_tx_start(sim.hv, &tx);
	node(tx, be, "frontend", "%s", fe);
	node(tx, be, "frontend-id", "%u", domid);
	node(tx, be, "online", "1");
	node(tx, be, "state", "1");
	node(tx, be, "irq", "%u", irq);
	node(tx, be, "base", "0x%llx", (unsigned long long)base);
	node(tx, be, "type", "virtio,device");
	node(tx, be, "transport", "mmio");
	node(tx, be, "grant_usage", "%d", grant);
	node(tx, fe, "backend", "%s", be);
	node(tx, fe, "backend-id", "0");
	node(tx, fe, "state", "1");
	SIM_CHECK(&sim, !hv_xs_tx_end(sim.hv, tx, false), "transaction");
}

/* Two generic virtio slots: devid 0 is served; devid 1 asks for grants for a built-in
 * device (xvdm's own copies cannot follow grant addresses: only vhost-user back-ends in
 * xen-mmap mode serve grant slots), which xvdm refuses with a log line without
 * disturbing devid 0; destroy closes both. */
static void one_domain_virtio(uint32_t domid)
{
	struct hv_dom_cfg cfg = { .nr_vcpus = NVCPUS, .arch = HV_ARCH_ARM };
	char dom[64], be[2][128], state[2][160];
	struct hv_claim cl;
	struct xs_dom *d;
	uint32_t tx;
	unsigned i;

	sim_note("dom%u: create (Xen >= 4.18 virtio=[...])", domid);
	d = hv_dom_create(sim.hv, domid, &cfg);
	SIM_CHECK(&sim, d, "hv_dom_create %u", domid);
	snprintf(dom, sizeof(dom), "/local/domain/%u", domid);
	hv_xs_tx_start(sim.hv, &tx);
	node(tx, dom, "name", "domU");
	node(tx, dom, "domid", "%u", domid);
	SIM_CHECK(&sim, !hv_xs_tx_end(sim.hv, tx, false), "transaction");
	for (i = 0; i < 2; i++) {
		snprintf(be[i], sizeof(be[i]), "/local/domain/0/backend/virtio/%u/%u", domid, i);
		snprintf(state[i], sizeof(state[i]), "%s/state", be[i]);
	}
	libxl_add_virtio(domid, 1, BASE + 0x200, IRQ + 1, 1);
	libxl_add_virtio(domid, 0, BASE, IRQ, 0);

	sim_wait_xs(&sim, state[0], "2", LIBXL_MS);
	check_claim_at_write(d, state[0], "2");
	guest_uses_device(d);
	hv_dom_claim(d, BASE + 0x200, &cl);
	SIM_CHECK(&sim, !cl.mapped, "the grant_usage=1 slot must not be served");

	sim_note("dom%u: destroy", domid);
	for (i = 0; i < 2; i++) {
		hv_xs_tx_start(sim.hv, &tx);
		node(tx, be[i], "online", "0");
		node(tx, be[i], "state", "5");
		SIM_CHECK(&sim, !hv_xs_tx_end(sim.hv, tx, false), "transaction");
		sim_wait_xs(&sim, state[i], "6", LIBXL_MS);
	}
	check_gone_at_write(d, state[0], "6");
	hv_xs_tx_start(sim.hv, &tx);
	for (i = 0; i < 2; i++) {
		char fe[128];

		snprintf(fe, sizeof(fe), "/local/domain/%u/device/virtio/%u", domid, i);
		path_cleanup(tx, be[i]);
		path_cleanup(tx, fe);
	}
	SIM_CHECK(&sim, !hv_xs_tx_end(sim.hv, tx, false), "transaction");
	hv_dom_destroy(d);
	hv_xs_rm(sim.hv, 0, dom);
	SIM_CHECK(&sim, sim_alive(&sim), "xvdm exited after dom%u went away: %s", domid,
		  sim_status_str(sim.status));
}

int main(int argc, char **argv)
{
	const char *conf, *args[] = { "--watch", "--config", NULL, NULL };
	int ret;

	sim_init(&sim, "sim-watch", argc, argv, 110);
	conf = sim_path(&sim, "xvdm.conf");
	sim_write_file(&sim, conf,
		       "[guest domU]\nslot.xvda = rng\nslot.virtio0 = rng\n"
		       "slot.virtio1 = rng\n");
	args[2] = conf;
	sim_spawn(&sim, args);
	ret = hv_xs_wait_watch(sim.hv, "/local/domain/0/backend/virtio_disk/1/" DEVID, 10000);
	SIM_CHECK(&sim, !ret, "xvdm set no watch covering backend/virtio_disk within 10 s%s",
		  sim_alive(&sim) ? "" : " (it exited)");

	one_domain(1);
	one_domain(2);
	one_domain_virtio(3);

	sim_terminate_ok(&sim, 5000);
	sim_pass(&sim);
}
