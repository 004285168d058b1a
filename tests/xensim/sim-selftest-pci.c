/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sim-selftest, PCI part: the x86 side of the simulator against xensim-minidm.
 * - Arm: set_pci_intx_level and inject_msi fail with EOPNOTSUPP (Xen's Arm dm_op hands
 *   them to ioreq_server_dm_op, whose default that is); map_pcidev is accepted (common
 *   code) but a guest has no way to send PCI_CONFIG (gd_pci_cfg_* -EOPNOTSUPP).
 * - x86: a PCI_CONFIG ioreq reaches the server that claimed the SBDF with addr =
 *   SBDF << 32 | reg and the access size; an unclaimed function reads all ones without
 *   any server seeing it; two servers claiming one function both succeed and the newer
 *   (higher id) gets the ioreqs; map/unmap errors (EEXIST in one server, ENOENT for a
 *   range not held or a server that does not exist, the library's masking of device);
 *   inject_msi recorded per (address, data) and waitable, ERANGE for vector 0, EINVAL for
 *   an unsupported delivery mode; set_pci_intx_level as a level with edges, EINVAL for
 *   bus != 0, intx > 3 or level > 1.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <glib.h>

#include "tests/xensim/sim-selftest.h"

#define X86_DOMID 2
#define BASE2	  0x3000000ULL /* the second minidm */
#define PCI_DEV	  5
#define SBDF	  HV_SBDF(0, 0, PCI_DEV, 0)

/* minidm registers (minidm.c) */
#define R_PCI_ADDR    0x40
#define R_PCI_SIZEDIR 0x48
#define R_PCI_COUNT   0x4c
#define R_MSI_ADDR    0x50
#define R_MSI_DATA    0x58
#define R_RESULT      0x60
#define R_INTX	      0x68
#define R_MAP_PCI     0x70
#define R_UNMAP_PCI   0x78
#define OTHER_SERVER  (1ULL << 48)

static int64_t call(struct xs_dom *d, uint64_t base, uint64_t reg, uint64_t val)
{
	st_wr_at(d, base, reg, val);
	return (int64_t)st_rd_at(d, base, R_RESULT, 8);
}

static uint64_t pcidev(unsigned bus, unsigned dev, unsigned fn)
{
	return (uint64_t)bus << 16 | dev << 8 | fn;
}

static uint64_t intx(unsigned bus, unsigned dev, unsigned pin, unsigned level)
{
	return (uint64_t)bus << 24 | dev << 16 | pin << 8 | level;
}

void st_check_arm_pci(struct xs_dom *d, uint64_t base)
{
	uint32_t v;
	int64_t r;
	int ret;

	st_wr_at(d, base, R_MSI_ADDR, 0xfee00000);
	r = call(d, base, R_MSI_DATA, 0x41);
	SIM_CHECK(&sim, r == -EOPNOTSUPP, "Arm inject_msi: %" PRId64 ", want -EOPNOTSUPP", r);
	r = call(d, base, R_INTX, intx(0, PCI_DEV, 0, 1));
	SIM_CHECK(&sim, r == -EOPNOTSUPP, "Arm set_pci_intx_level: %" PRId64, r);
	r = call(d, base, R_MAP_PCI, pcidev(0, PCI_DEV, 0));
	SIM_CHECK(&sim, r == 0, "Arm map_pcidev: %" PRId64 " (Xen's common code accepts it)", r);
	ret = gd_pci_cfg_read(d, 0, SBDF, 0, 4, &v);
	SIM_CHECK(&sim, ret == -EOPNOTSUPP, "Arm guest PCI_CONFIG access: %d", ret);
	r = call(d, base, R_UNMAP_PCI, pcidev(0, PCI_DEV, 0));
	SIM_CHECK(&sim, r == 0, "Arm unmap_pcidev: %" PRId64, r);
}

static uint32_t cfg_rd(struct xs_dom *d, uint32_t sbdf, unsigned reg, unsigned size)
{
	uint32_t v = 0;
	int ret = gd_pci_cfg_read(d, 1, sbdf, reg, size, &v);

	SIM_CHECK(&sim, !ret, "PCI config read %08x+0x%x/%u: %s", sbdf, reg, size, strerror(-ret));
	return v;
}

static void cfg_wr(struct xs_dom *d, uint32_t sbdf, unsigned reg, unsigned size, uint32_t v)
{
	int ret = gd_pci_cfg_write(d, 1, sbdf, reg, size, v);

	SIM_CHECK(&sim, !ret, "PCI config write %08x+0x%x/%u: %s", sbdf, reg, size, strerror(-ret));
}

/* The ioreq the minidm at base saw last: addr, size, direction. */
static void check_last(struct xs_dom *d, uint64_t base, unsigned reg, unsigned size, unsigned dir)
{
	uint64_t addr = st_rd_at(d, base, R_PCI_ADDR, 8), sd = st_rd_at(d, base, R_PCI_SIZEDIR, 4);
	uint64_t want = (uint64_t)SBDF << 32 | reg;

	SIM_CHECK(&sim, addr == want && sd == (size | dir << 8),
		  "PCI_CONFIG ioreq addr 0x%" PRIx64 " size|dir<<8 0x%" PRIx64 ", want 0x%" PRIx64
		  " 0x%x",
		  addr, sd, want, size | dir << 8);
}

static void check_config(struct xs_dom *d)
{
	static const struct {
		unsigned reg, size;
		uint32_t want;
	} reads[] = { { 0, 4, 0x00015853 }, { 2, 2, 0x0001 }, { 1, 1, 0x58 }, { 3, 1, 0x00 } };
	struct hv_dom_stats st;
	uint32_t v;

	for (unsigned i = 0; i < G_N_ELEMENTS(reads); i++) {
		v = cfg_rd(d, SBDF, reads[i].reg, reads[i].size);
		SIM_CHECK(&sim, v == reads[i].want, "config 0x%x/%u = 0x%x, want 0x%x",
			  reads[i].reg, reads[i].size, v, reads[i].want);
		check_last(d, BASE, reads[i].reg, reads[i].size, IOREQ_READ);
	}
	cfg_wr(d, SBDF, 0x10, 4, 0xfeb00004);
	check_last(d, BASE, 0x10, 4, IOREQ_WRITE);
	cfg_wr(d, SBDF, 0x3e, 2, 0xbeef);
	check_last(d, BASE, 0x3e, 2, IOREQ_WRITE);
	cfg_wr(d, SBDF, 0x3c, 1, 0x0b);
	SIM_CHECK(&sim,
		  cfg_rd(d, SBDF, 0x10, 4) == 0xfeb00004 && cfg_rd(d, SBDF, 0x3c, 4) == 0xbeef000b,
		  "config writes did not stick");
	cfg_wr(d, SBDF, 0, 4, 0); /* read-only ids stay */
	SIM_CHECK(&sim, cfg_rd(d, SBDF, 0, 4) == 0x00015853, "ids changed");

	/* Unclaimed function: Xen answers all ones itself, the device model never sees it. */
	v = (uint32_t)st_rd_at(d, BASE, R_PCI_COUNT, 4);
	SIM_CHECK(&sim,
		  cfg_rd(d, HV_SBDF(0, 0, 6, 0), 0, 4) == 0xffffffff &&
			  cfg_rd(d, HV_SBDF(0, 0, 6, 0), 2, 2) == 0xffff &&
			  cfg_rd(d, HV_SBDF(0, 0, 6, 0), 0xe, 1) == 0xff &&
			  cfg_rd(d, HV_SBDF(0, 1, PCI_DEV, 0), 0, 4) == 0xffffffff &&
			  cfg_rd(d, HV_SBDF(0, 0, PCI_DEV, 1), 0, 4) == 0xffffffff,
		  "an unclaimed function does not read all ones");
	cfg_wr(d, HV_SBDF(0, 0, 6, 0), 4, 2, 6);
	SIM_CHECK(&sim, st_rd_at(d, BASE, R_PCI_COUNT, 4) == v,
		  "the device model saw accesses to functions it did not claim");
	hv_dom_stats(d, &st);
	SIM_CHECK(&sim, st.pci_cfg_unclaimed == 6, "%u unclaimed accesses counted, want 6",
		  st.pci_cfg_unclaimed);

	/* What a 0xcf8/0xcfc access cannot be. */
	SIM_CHECK(&sim,
		  gd_pci_cfg_read(d, 0, SBDF, 2, 4, &v) == -EINVAL &&
			  gd_pci_cfg_read(d, 0, SBDF, 1, 2, &v) == -EINVAL &&
			  gd_pci_cfg_read(d, 0, SBDF, 0, 3, &v) == -EINVAL &&
			  gd_pci_cfg_read(d, 0, SBDF, 0x100, 4, &v) == -EINVAL,
		  "bad config accesses were not refused");
}

static void check_map_errors(struct xs_dom *d)
{
	struct hv_claim cl;
	int64_t r;

	r = call(d, BASE, R_MAP_PCI, pcidev(0, PCI_DEV, 0));
	SIM_CHECK(&sim, r == -EEXIST, "second map of 00:05.0 by one server: %" PRId64, r);
	r = call(d, BASE, R_MAP_PCI, pcidev(0, PCI_DEV | 0x20, 0));
	SIM_CHECK(&sim, r == -EEXIST, "map of device 0x25 (masked to 5): %" PRId64, r);
	r = call(d, BASE, R_UNMAP_PCI, pcidev(0, 7, 0));
	SIM_CHECK(&sim, r == -ENOENT, "unmap of 00:07.0, never mapped: %" PRId64, r);
	r = call(d, BASE, R_MAP_PCI, OTHER_SERVER | pcidev(0, 7, 0));
	SIM_CHECK(&sim, r == -ENOENT, "map for a server that does not exist: %" PRId64, r);
	r = call(d, BASE, R_MAP_PCI, 1ULL << 32 | pcidev(2, 7, 3));
	SIM_CHECK(&sim, r == 0, "map of 0001:02:07.3: %" PRId64, r);
	hv_dom_pci_claim(d, HV_SBDF(1, 2, 7, 3), &cl);
	SIM_CHECK(&sim, cl.mapped && cl.enabled, "0001:02:07.3 not claimed");
	r = call(d, BASE, R_UNMAP_PCI, 1ULL << 32 | pcidev(2, 7, 3));
	hv_dom_pci_claim(d, HV_SBDF(1, 2, 7, 3), &cl);
	SIM_CHECK(&sim, r == 0 && !cl.mapped, "unmap of 0001:02:07.3: %" PRId64, r);
}

static void check_msi(struct xs_dom *d)
{
	uint64_t n = gd_msi_count(d, 0xfee01000, 0x4041), other;
	int64_t r;
	int ret;

	st_wr_at(d, BASE, R_MSI_ADDR, 0xfee01000);
	for (unsigned i = 0; i < 3; i++) {
		r = call(d, BASE, R_MSI_DATA, 0x4041);
		ret = gd_msi_wait(d, 0xfee01000, 0x4041, &n, 1000);
		SIM_CHECK(&sim, !r && !ret && n == i + 1,
			  "MSI %u: %" PRId64 " / %s (count %" PRIu64 ")", i, r, strerror(-ret), n);
	}
	other = gd_msi_count(d, 0xfee01000, 0x4042);
	SIM_CHECK(&sim, other == 0, "an MSI with other data counted");
	ret = gd_msi_wait(d, 0xfee01000, 0x4042, &other, 100);
	SIM_CHECK(&sim, ret == -ETIMEDOUT, "waiting for an MSI never sent: %d", ret);
	r = call(d, BASE, R_MSI_DATA, 0x4000); /* vector 0 */
	SIM_CHECK(&sim, r == -ERANGE, "MSI vector 0: %" PRId64 ", want -ERANGE", r);
	r = call(d, BASE, R_MSI_DATA, 0x0241); /* delivery mode SMI */
	SIM_CHECK(&sim, r == -EINVAL, "MSI delivery mode 2: %" PRId64 ", want -EINVAL", r);
	SIM_CHECK(&sim, gd_msi_count(d, 0xfee01000, 0x4041) == 3, "refused MSIs were counted");
}

static void check_intx(struct xs_dom *d)
{
	unsigned key = HV_INTX_KEY(0, PCI_DEV, 1);
	uint64_t e = gd_irq_edges(d, key);
	int64_t r;
	int ret;

	r = call(d, BASE, R_INTX, intx(0, PCI_DEV, 1, 1));
	ret = gd_irq_wait(d, key, &e, 1000);
	SIM_CHECK(&sim, !r && !ret && gd_irq_level(d, key) == 1, "INTB of 00:05: %" PRId64 " %s", r,
		  strerror(-ret));
	r = call(d, BASE, R_INTX, intx(0, PCI_DEV, 1, 1));
	SIM_CHECK(&sim, !r && gd_irq_edges(d, key) == e, "a level already high made an edge");
	r = call(d, BASE, R_INTX, intx(0, PCI_DEV, 1, 0));
	SIM_CHECK(&sim, !r && gd_irq_level(d, key) == 0, "INTB still high");
	SIM_CHECK(&sim,
		  call(d, BASE, R_INTX, intx(1, PCI_DEV, 0, 1)) == -EINVAL &&
			  call(d, BASE, R_INTX, intx(0, 32, 0, 1)) == -EINVAL &&
			  call(d, BASE, R_INTX, intx(0, PCI_DEV, 4, 1)) == -EINVAL &&
			  call(d, BASE, R_INTX, intx(0, PCI_DEV, 0, 2)) == -EINVAL,
		  "bad set_pci_intx_level calls were not refused");
}

/* A second server claims the same function: Xen routes to the newest (highest id). */
static void check_two_servers(struct xs_dom *d)
{
	char dom[8];
	pid_t pid;
	uint64_t n1, n2;
	int st, ret;

	snprintf(dom, sizeof(dom), "%d", X86_DOMID);
	pid = sim_spawn_aux(&sim,
			    (const char *const[]){ sim.program, dom, "0x3000000", "0x200", "0",
						   "pci=0:5.0", NULL },
			    true);
	ret = hv_dom_wait_served(d, BASE2, 5000);
	SIM_CHECK(&sim, !ret, "second minidm not served: %s", strerror(-ret));
	n1 = st_rd_at(d, BASE, R_PCI_COUNT, 4);
	n2 = st_rd_at(d, BASE2, R_PCI_COUNT, 4);
	SIM_CHECK(&sim, cfg_rd(d, SBDF, 0, 4) == 0x00015853, "ids through the second server");
	SIM_CHECK(&sim,
		  st_rd_at(d, BASE, R_PCI_COUNT, 4) == n1 &&
			  st_rd_at(d, BASE2, R_PCI_COUNT, 4) == n2 + 1,
		  "the ioreq did not go to the newer server");
	check_last(d, BASE2, 0, 4, IOREQ_READ);
	st = sim_aux_stop(&sim, pid, SIGTERM, 5000);
	SIM_CHECK(&sim, WIFEXITED(st) && !WEXITSTATUS(st), "second minidm: %s", sim_status_str(st));
	cfg_rd(d, SBDF, 0, 4);
	SIM_CHECK(&sim, st_rd_at(d, BASE, R_PCI_COUNT, 4) == n1 + 1,
		  "the first server did not get the function back");
}

void st_run_x86_pci(void)
{
	struct hv_dom_cfg cfg = { .nr_vcpus = NVCPUS, .arch = HV_ARCH_X86 };
	struct hv_claim cl;
	struct xs_dom *d;
	uint64_t seq;
	int st, ret;

	sim_note("minidm life 5: an x86 domain, the minidm claims PCI 00:05.0");
	d = hv_dom_create(sim.hv, X86_DOMID, &cfg);
	SIM_CHECK(&sim, d, "hv_dom_create (x86)");
	sim_spawn(&sim, (const char *const[]){ "2", "0x2000000", "0x200", "0", "pci=0:5.0", NULL });
	sim_wait_xs(&sim, "/local/domain/0/minidm/2/state", "ready", 5000);
	ret = hv_dom_wait_pci_served(d, SBDF, 1000);
	SIM_CHECK(&sim, !ret, "00:05.0 not served: %s", strerror(-ret));
	seq = hv_log_xs_write_seq(sim.hv, "/local/domain/0/minidm/2/state", "ready");
	hv_dom_pci_claim_at(d, SBDF, seq, &cl);
	SIM_CHECK(&sim, cl.mapped && cl.enabled, "00:05.0 not claimed when minidm said ready");

	check_config(d);
	check_map_errors(d);
	check_msi(d);
	check_intx(d);
	check_two_servers(d);
	sim_note("x86: PCI_CONFIG routing, unclaimed functions, map errors, MSI, INTx ok");

	st = sim_terminate(&sim, 5000);
	SIM_CHECK(&sim, WIFEXITED(st) && !WEXITSTATUS(st), "minidm: %s", sim_status_str(st));
	hv_dom_pci_claim(d, SBDF, &cl);
	SIM_CHECK(&sim, !cl.mapped, "00:05.0 still claimed after the server went away");
}
