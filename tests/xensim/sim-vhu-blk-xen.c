/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sim-vhu-blk-xen: the real xvdm with vhost-user-blk in xen-mmap mode (zero copy,
 * DESIGN.md §3) against the in-tree back-end vhub-blk, which requires F_XEN_MMAP and maps
 * guest RAM itself through the privcmd fds xvdm sends (libxensim.so's emulated
 * /dev/xen/privcmd in both processes). Guest RAM is laid out for the host's architecture
 * in two banks, as xvdm derives them from memory/static-max; the driver's read buffers
 * lie in the second bank. Same data checks as the shadow test; then:
 *  - every page of both banks was mapped by vhub-blk's own MMAPBATCH_V2 calls;
 *  - once vhub-blk is gone, no privcmd fd is left open (xvdm closed its copies, FACTS 11).
 * Run as `sim-vhu-blk-xen <xvdm> <libxensim.so> <vhub-blk>`; exits 77 until xvdm lists
 * vhost-user-blk.
 */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <glib.h>

#include "tests/xensim/blk-check.h"
#include "tests/xensim/proto.h"
#include "tests/xensim/sim-blk.h"

#define DOMID 1
#define IRQ   33
#define QSIZE 128

static struct sim sim;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Pages mapped by pid's MMAPBATCH_V2 calls, and privcmd connections still open. */
static void privcmd_use(pid_t pid, uint64_t *ret_pages, unsigned *ret_open)
{
	GHashTable *open = g_hash_table_new(g_direct_hash, g_direct_equal);
	struct hv_event e;

	*ret_pages = 0;
	for (unsigned i = 0; hv_log_get(sim.hv, i, &e); i++) {
		if (e.type == HV_EV_PRIVCMD_MAP && e.c == (uint64_t)pid && e.domid == DOMID)
			*ret_pages += e.b;
		if (e.type == HV_EV_CONN_OPEN && e.a == XSIM_KIND_PRIVCMD)
			g_hash_table_add(open, GUINT_TO_POINTER(e.conn));
		if (e.type == HV_EV_CONN_CLOSE)
			g_hash_table_remove(open, GUINT_TO_POINTER(e.conn));
	}
	*ret_open = g_hash_table_size(open);
	g_hash_table_destroy(open);
}

int main(int argc, char **argv)
{
	struct hv_dom_cfg cfg = { .nr_vcpus = 1,
				  .arch = HV_ARCH_ARM,
				  .host_mem = 0xf0000000ULL + (16u << 20) };
	uint64_t base = hv_host_mmio_base(), pages = 0;
	struct hv_ram_bank banks[2];
	const char *image, *sock;
	char spec[512];
	struct blk_check c;
	struct vblk b;
	struct xs_dom *d;
	unsigned left = 0;
	pid_t vhub;
	double t0;
	int ret;

	sim_init(&sim, "sim-vhu-blk-xen", argc, argv, 110);
	sim_blk_require(&sim, false);
	SIM_CHECK(&sim, argc > 3 && !access(argv[3], X_OK),
		  "usage: %s <xvdm> <libxensim.so> <vhub-blk>", argv[0]);
	SIM_CHECK(&sim, hv_host_ram_layout(cfg.host_mem, banks) == 2, "two banks expected");
	d = hv_dom_create(sim.hv, DOMID, &cfg);
	SIM_CHECK(&sim, d, "hv_dom_create");
	image = sim_blk_disk(&sim, "disk.img", SIM_BLK_DISK_SIZE);
	sock = sim_path(&sim, "vhub.sock");
	vhub = sim_spawn_aux(
		&sim, (const char *const[]){ argv[3], "--socket", sock, "--disk", image, NULL },
		true);
	sim_wait_listen(&sim, sock, vhub, 10000);
	snprintf(spec, sizeof(spec),
		 "vhost-user-blk,transport=mmio,base=0x%" PRIx64 ",irq=%u,socket=%s,mem=xen-mmap",
		 base, IRQ, sock);
	sim_spawn(&sim, (const char *const[]){ "--domid", "1", "--device", spec, NULL });
	sim_wait_served(&sim, d, base, 10000);

	ret = vblk_probe(&b, d, 0, base, IRQ, QSIZE);
	SIM_CHECK(&sim, !ret, "probe: %s", strerror(-ret));
	SIM_CHECK(&sim, !blk_check_init(&c, &b, image, 7, banks[1].gpa), "%s", c.what);
	t0 = now_s();
	ret = blk_check_run(&c, 10000);
	SIM_CHECK(&sim, !ret, "%s", c.what);
	SIM_CHECK(&sim, !strcmp(c.id, "vhub-blk"), "GET_ID \"%s\": not served by vhub-blk?", c.id);
	SIM_CHECK(&sim, b.v.interrupts > 0, "no interrupts taken");
	sim_note("xen-mmap: %u writes, %u reads, %u flush, %" PRIu64 " bytes compared, %" PRIu64
		 " requests in %.3f s, %u interrupts",
		 c.writes, c.reads, c.flushes, c.bytes_compared, b.completed, now_s() - t0,
		 b.v.interrupts);
	privcmd_use(vhub, &pages, &left);
	SIM_CHECK(&sim, pages >= cfg.host_mem / 4096,
		  "vhub-blk mapped %" PRIu64 " guest pages through privcmd, the guest has %" PRIu64,
		  pages, cfg.host_mem / 4096);
	blk_check_fini(&c);
	vblk_remove(&b);

	sim_aux_stop_ok(&sim, vhub, "vhub-blk", 5000);
	for (int i = 0; i < 100; i++) {
		privcmd_use(vhub, &pages, &left);
		if (!left)
			break;
		usleep(10000);
	}
	SIM_CHECK(&sim, !left,
		  "%u privcmd fd(s) still open with vhub-blk gone: xvdm kept its copies (FACTS 11)",
		  left);
	sim_terminate_ok(&sim, 5000);
	sim_note("vhub-blk mapped all %" PRIu64 " guest pages (2 banks) itself; no privcmd fd left",
		 cfg.host_mem / 4096);
	sim_pass(&sim);
}
