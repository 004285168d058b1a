/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sim-vhu-net: the real xvdm serving a vhost-user-net device in shadow memory mode
 * (DESIGN.md §3) to a simulated domain, backed by DPDK's dpdk-testpmd with one vhost port
 * (FACTS 34). testpmd forwards in io mode; with a single port, the port is paired with
 * itself, so every frame the guest sends on tx comes back, unmodified, on rx.
 *
 * The guest side is vnet.h's virtio-net driver over virtio-mmio: the MAC (given to xvdm
 * with mac=) and link status from config space, frames of 60 to 1514 bytes in batches of
 * 1 to 64 sent on tx and compared byte for byte as they come back on rx. Then xvdm ends
 * on SIGTERM with status 0, testpmd on "quit".
 *
 * Exits 77 if xvdm does not list vhost-user-net or dpdk-testpmd (package dpdk-dev) is
 * not installed.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <linux/virtio_ids.h>

#include "tests/xensim/vnet.h"

#define DOMID 1
#define IRQ   40

static struct sim sim;

int main(int argc, char **argv)
{
	struct hv_dom_cfg cfg = { .nr_vcpus = 1, .arch = HV_ARCH_ARM, .host_mem = 64u << 20 };
	struct vnet n = { 0 };
	char spec[512];
	const char *sock;
	int in, r;
	uint64_t base;
	struct xs_dom *d;
	pid_t pmd;

	sim_init(&sim, "sim-vhu-net", argc, argv, 60);
	vnet_require(&sim);
	d = hv_dom_create(sim.hv, DOMID, &cfg);
	SIM_CHECK(&sim, d, "hv_dom_create");
	base = hv_host_mmio_base();
	sock = sim_path(&sim, "testpmd.sock");
	pmd = vnet_testpmd(&sim, sock, &in);

	snprintf(spec, sizeof(spec),
		 "vhost-user-net,transport=mmio,base=0x%" PRIx64
		 ",irq=%u,socket=%s,mem=shadow,mac=" VNET_MAC,
		 base, IRQ, sock);
	sim_spawn(&sim, (const char *const[]){ "--domid", "1", "--device", spec, NULL });
	sim_wait_served(&sim, d, base, 10000);

	vdrv_init(&n.v, d, 0, base, IRQ);
	r = vdrv_probe(&n.v, VIRTIO_ID_NET, VNET_FEATURES, 2, VNET_QSIZE);
	SIM_CHECK(&sim, !r, "probe: %s", strerror(-r));
	vnet_start(&sim, &n);
	vnet_run(&sim, &n);
	sim_note("%" PRIu64 " frames looped back through testpmd (%u with a separate header "
		 "buffer), %" PRIu64 " bytes compared, %u interrupts",
		 n.frames_back, n.split_hdr, n.bytes_compared, n.v.interrupts);
	r = vdrv_remove(&n.v);
	SIM_CHECK(&sim, !r, "remove: %s", strerror(-r));

	sim_terminate_ok(&sim, 5000);
	vnet_testpmd_quit(&sim, pmd, in);
	sim_pass(&sim);
}
