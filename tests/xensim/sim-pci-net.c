/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sim-pci-net: the real xvdm serving a vhost-user-net device over virtio-pci in shadow
 * memory mode, backed by dpdk-testpmd looping every frame back (vnet.h, FACTS 34), twice:
 * - an Arm domain: xvdm is the ECAM host bridge, the guest enumerates through ECAM and
 *   takes INTx on the SPI of slot 2's line after the swizzle;
 * - an x86 domain: xvdm claims slot 2 (map_pcidev), the guest enumerates with PCI_CONFIG
 *   ioreqs and drives the device with MSI-X, one vector per queue plus config, each with
 *   its own address and data; rx and tx completions must arrive on their own vectors and
 *   INTx must stay silent.
 * Each time: MAC and link from config space, frames of 60 to 1514 bytes in batches of 1
 * to 64 compared byte for byte as they come back, every tx buffer returned; then xvdm
 * ends on SIGTERM with status 0 and testpmd on "quit".
 * Exits 77 without vhost-user-net in xvdm or without dpdk-testpmd (package dpdk-dev).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <linux/virtio_ids.h>
#include <glib.h>

#include "tests/xensim/sim-pci.h"
#include "tests/xensim/vnet.h"

#define SLOT	 2
#define MSI_ADDR 0xfee00000ULL
#define MSI_DATA 0x60

static struct sim sim;

static void run(enum hv_arch arch, uint32_t domid)
{
	bool x86 = arch == HV_ARCH_X86;
	const struct sim_pci_expect want = { SLOT, VIRTIO_ID_NET, x86, 0 };
	const struct vdrv_pci_opts o = { x86 ? VDRV_PCI_MSIX : VDRV_PCI_INTX, MSI_ADDR, MSI_DATA };
	struct hv_dom_cfg cfg = { .nr_vcpus = 1, .arch = arch, .host_mem = 64u << 20 };
	struct vnet *n = g_new0(struct vnet, 1);
	char spec[512], dom[16], file[32];
	struct gpci_host_cfg hc;
	struct gpci_host host;
	struct gpci_fn fn;
	const char *sock;
	struct xs_dom *d;
	int in, r;
	pid_t pmd;

	d = hv_dom_create(sim.hv, domid, &cfg);
	SIM_CHECK(&sim, d, "hv_dom_create");
	if (x86)
		gpci_cfg_x86(&hc);
	else
		gpci_cfg_arm(&hc);
	gpci_host_init(&host, d, &hc);
	snprintf(file, sizeof(file), "testpmd%u.sock", domid);
	sock = sim_path(&sim, file);
	pmd = vnet_testpmd(&sim, sock, &in);
	snprintf(spec, sizeof(spec),
		 "vhost-user-net,transport=pci,slot=%u,socket=%s,mem=shadow,mac=" VNET_MAC, SLOT,
		 sock);
	snprintf(dom, sizeof(dom), "%u", domid);
	sim_spawn(&sim, (const char *const[]){ "--domid", dom, "--pci", sim_pci_arg(&sim, &hc),
					       "--device", spec, NULL });
	if (x86) {
		r = hv_dom_wait_pci_served(d, HV_SBDF(0, 0, SLOT, 0), 10000);
		SIM_CHECK(&sim, !r, "slot %u not claimed: %s", SLOT, strerror(-r));
	} else {
		sim_wait_served(&sim, d, hc.ecam_base, 10000);
	}

	sim_pci_enumerate(&sim, &host, 0, &want, 1, &fn);
	r = vdrv_pci_probe(&n->v, &host, &fn, 0, &o, VIRTIO_ID_NET, VNET_FEATURES, 2, VNET_QSIZE);
	SIM_CHECK(&sim, !r, "probe: %s", strerror(-r));
	sim_pci_check_claimed(&sim, &host, &fn);
	SIM_CHECK(&sim, !x86 || n->v.pci.nvec == 3, "%u MSI-X vectors, want config + rx + tx",
		  n->v.pci.nvec);
	vnet_start(&sim, n);
	vnet_run(&sim, n);
	if (x86) {
		const struct vdrv_msi *rx = &n->v.pci.vec[1], *tx = &n->v.pci.vec[2];
		uint64_t nrx = gd_msi_count(d, rx->addr, rx->data);
		uint64_t ntx = gd_msi_count(d, tx->addr, tx->data);
		uint64_t intx = gd_irq_edges(d, n->v.pci.line);

		/* Without EVENT_IDX or NO_INTERRUPT every used buffer is signalled. */
		SIM_CHECK(&sim, nrx > 0 && ntx > 0 && !intx,
			  "MSIs delivered: rx vector %" PRIu64 ", tx vector %" PRIu64
			  ", INTx edges %" PRIu64,
			  nrx, ntx, intx);
		sim_note("x86, MSI-X: %" PRIu64 " frames looped back (%u with a separate header), "
			 "%" PRIu64 " bytes compared; MSIs delivered on rx 0x%" PRIx64
			 "/0x%x: %" PRIu64 ", tx 0x%" PRIx64 "/0x%x: %" PRIu64 " (%u waited for)",
			 n->frames_back, n->split_hdr, n->bytes_compared, rx->addr, rx->data, nrx,
			 tx->addr, tx->data, ntx, n->v.pci.msis);
	} else {
		SIM_CHECK(&sim, n->v.pci.line == hc.spi_base + SLOT % 4, "INTx on SPI %u, want %u",
			  n->v.pci.line, hc.spi_base + SLOT % 4);
		sim_pci_check_intx_idle(&sim, &n->v);
		sim_note("Arm, INTx on SPI %u: %" PRIu64 " frames looped back (%u with a separate "
			 "header), %" PRIu64 " bytes compared, %u interrupts",
			 n->v.pci.line, n->frames_back, n->split_hdr, n->bytes_compared,
			 n->v.interrupts);
	}
	r = vdrv_remove(&n->v);
	SIM_CHECK(&sim, !r, "remove: %s", strerror(-r));
	SIM_CHECK(&sim, !gd_irq_level(d, n->v.pci.line), "INTx high after the device reset");
	sim_terminate_ok(&sim, 5000);
	vnet_testpmd_quit(&sim, pmd, in);
	hv_dom_destroy(d);
	g_free(n);
}

int main(int argc, char **argv)
{
	sim_init(&sim, "sim-pci-net", argc, argv, 120);
	vnet_require(&sim);
	run(HV_ARCH_ARM, 1);
	run(HV_ARCH_X86, 2);
	sim_pass(&sim);
}
