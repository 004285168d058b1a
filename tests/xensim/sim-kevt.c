/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sim-kevt: kicks and interrupts through the dom0 kernel's privcmd ioeventfd/irqfd
 * (Linux >= 6.7; issue 8 item 6), with the kernel emulated by the simulator outside
 * xvdm's process (hv-kevt.c; XENSIM_PRIVCMD_EVENTFD=1 gives the ioctls). The real xvdm
 * serves vhost-user-blk in xen-mmap mode with notify=kernel against vhub-blk:
 *  1. the blk data checks pass, every request's QueueNotify signalled by the kernel
 *     (the kernel's kick count covers every request) and the interrupts raised by it;
 *     every other register write is held INPROCESS by the emulated handler for 200 us
 *     after xvdm is woken, as the real one holds it while matching: xvdm waits for it;
 *  2. with xvdm stopped (SIGSTOP) a request still reaches the back-end and completes:
 *     the QueueNotify ioreq is completed without xvdm, vhub-blk writes the status byte,
 *     and the SPI gets an edge; only reading InterruptStatus then needs xvdm (SIGCONT),
 *     which reads the used bit set, as xvdm cannot see the kernel's interrupts;
 *  3. xvdm ends cleanly (its registrations deassigned before its ioreq server goes);
 *  4. a kernel without the feature (EOPNOTSUPP, Debian's 6.12): notify=kernel makes
 *     xvdm refuse the device and exit non-zero.
 * Debian's kernels lack the feature, so the real-Xen lab cannot run this path.
 * Run as `sim-kevt <xvdm> <libxensim.so> <vhub-blk>`.
 */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_mmio.h>
#include <glib.h>

#include "tests/xensim/blk-check.h"
#include "tests/xensim/guest.h"
#include "tests/xensim/hv-internal.h"
#include "tests/xensim/sim-blk.h"

#define DOMID 1
#define IRQ   33
#define QSIZE 128

static struct sim sim;

/*
 * Wait until no interrupt has arrived for 200 ms (at most 3 s): part 1's driver may be done
 * with its last request before the back-end's call for it has become an edge.
 */
static void settle(struct xs_dom *d)
{
	uint64_t edges = gd_irq_edges(d, IRQ), k, irqs, last;

	hv_kevt_stats(sim.hv, DOMID, &k, &last);
	for (int quiet = 0, waited = 0; quiet < 200 && waited < 3000; waited += 10) {
		g_usleep(10 * 1000);
		hv_kevt_stats(sim.hv, DOMID, &k, &irqs);
		quiet = gd_irq_edges(d, IRQ) == edges && irqs == last ? quiet + 10 : 0;
		edges = gd_irq_edges(d, IRQ);
		last = irqs;
	}
}

/* Part 2: one read with xvdm stopped. */
static void while_stopped(struct xs_dom *d, struct vblk *b, uint64_t buf)
{
	struct vblk_req r = { .type = VIRTIO_BLK_T_IN, .sector = 8, .gpa = buf, .len = 4096 };
	uint64_t kicks0, irqs0, kicks, irqs, edges;
	struct vblk_req *done = NULL;
	volatile uint8_t *status;
	uint32_t isr = 0;
	int ret;

	settle(d);
	edges = gd_irq_edges(d, IRQ);
	hv_kevt_stats(sim.hv, DOMID, &kicks0, &irqs0);
	SIM_CHECK(&sim, !kill(sim.pid, SIGSTOP), "SIGSTOP xvdm");
	ret = vblk_submit(b, &r); /* the QueueNotify ioreq: no xvdm to answer it */
	SIM_CHECK(&sim, !ret, "QueueNotify with xvdm stopped: %s (not bypassing xvdm?)",
		  strerror(-ret));
	/* the back-end writes the status byte, then calls: the edge follows the byte */
	status = gd_ram(d, b->slots_gpa + r.slot * 32 + 16, 1);
	for (int waited = 0; *status != VIRTIO_BLK_S_OK && waited < 5000; waited++)
		g_usleep(1000);
	SIM_CHECK(&sim, *status == VIRTIO_BLK_S_OK, "status byte 0x%x with xvdm stopped", *status);
	ret = gd_irq_wait(d, IRQ, &edges, 5000);
	SIM_CHECK(&sim, !ret, "no interrupt with xvdm stopped: %s", strerror(-ret));
	hv_kevt_stats(sim.hv, DOMID, &kicks, &irqs);
	SIM_CHECK(&sim, kicks == kicks0 + 1 && irqs > irqs0,
		  "kernel kicks %" PRIu64 " -> %" PRIu64 ", interrupts %" PRIu64 " -> %" PRIu64,
		  kicks0, kicks, irqs0, irqs);
	SIM_CHECK(&sim, !kill(sim.pid, SIGCONT), "SIGCONT xvdm");
	ret = vblk_complete(b, &done, 5000);
	SIM_CHECK(&sim, !ret && done == &r && r.status == VIRTIO_BLK_S_OK,
		  "completion after SIGCONT: %s", strerror(-ret));
	/* xvdm cannot know when the kernel raised an interrupt: the used bit reads set */
	ret = vdrv_read32(&b->v, VIRTIO_MMIO_INTERRUPT_STATUS, &isr);
	SIM_CHECK(&sim, !ret && (isr & VIRTIO_MMIO_INT_VRING), "InterruptStatus 0x%x", isr);
	sim_note("xvdm stopped: QueueNotify completed by the kernel (kicks %" PRIu64 " -> %" PRIu64
		 "), the request done by vhub-blk, the SPI raised (%" PRIu64 " -> %" PRIu64 ")",
		 kicks0, kicks, irqs0, irqs);
}

static pid_t start(const char *vhub_path, const char *image, const char *sock)
{
	pid_t vhub = sim_spawn_aux(
		&sim, (const char *const[]){ vhub_path, "--socket", sock, "--disk", image, NULL },
		true);

	sim_wait_listen(&sim, sock, vhub, 10000);
	return vhub;
}

int main(int argc, char **argv)
{
	struct hv_dom_cfg cfg = { .nr_vcpus = 1, .arch = HV_ARCH_ARM, .host_mem = 64u << 20 };
	uint64_t base = hv_host_mmio_base(), kicks, irqs;
	const char *image, *sock;
	char spec[512];
	struct blk_check c;
	struct vblk b;
	struct xs_dom *d;
	pid_t vhub;
	int ret, st;

	sim_init(&sim, "sim-kevt", argc, argv, 110);
	sim_blk_require(&sim, false);
	SIM_CHECK(&sim, argc > 3 && !access(argv[3], X_OK),
		  "usage: %s <xvdm> <libxensim.so> <vhub-blk>", argv[0]);
	d = hv_dom_create(sim.hv, DOMID, &cfg);
	SIM_CHECK(&sim, d, "hv_dom_create");
	image = sim_blk_disk(&sim, "disk.img", SIM_BLK_DISK_SIZE);
	sock = sim_path(&sim, "vhub.sock");
	vhub = start(argv[3], image, sock);
	snprintf(spec, sizeof(spec),
		 "vhost-user-blk,transport=mmio,base=0x%" PRIx64
		 ",irq=%u,socket=%s,mem=xen-mmap,notify=kernel",
		 base, IRQ, sock);
	setenv("XENSIM_PRIVCMD_EVENTFD", "1", 1);
	sim_spawn(&sim, (const char *const[]){ "--domid", "1", "--device", spec, NULL });
	sim_wait_served(&sim, d, base, 10000);

	/*
	 * 1: the data path, notifications through the kernel. Every write the kernel's handler
	 * does not take stays INPROCESS for 200 us after xvdm was woken: xvdm must wait for it
	 * rather than drop the request (the vCPU would hang).
	 */
	hv_kevt_set_hold_us(sim.hv, 200);
	ret = vblk_probe(&b, d, 0, base, IRQ, QSIZE);
	SIM_CHECK(&sim, !ret, "probe: %s", strerror(-ret));
	SIM_CHECK(&sim, !blk_check_init(&c, &b, image, 7, 0), "%s", c.what);
	ret = blk_check_run(&c, 10000);
	SIM_CHECK(&sim, !ret, "%s", c.what);
	hv_kevt_stats(sim.hv, DOMID, &kicks, &irqs);
	SIM_CHECK(&sim, kicks >= b.completed && irqs > 0,
		  "%" PRIu64 " requests, %" PRIu64 " kicks and %" PRIu64
		  " interrupts through the kernel",
		  b.completed, kicks, irqs);
	sim_note("notify=kernel: %" PRIu64 " requests checked; %" PRIu64 " QueueNotify completed"
		 " by the kernel, %" PRIu64 " interrupts raised by it, %u taken by the driver",
		 b.completed, kicks, irqs, b.v.interrupts);

	/* 2: xvdm out of the way */
	while_stopped(d, &b, c.rbuf);
	blk_check_fini(&c);
	vblk_remove(&b);

	/* 3: a clean end */
	sim_terminate_ok(&sim, 5000);
	st = sim_aux_stop(&sim, vhub, SIGTERM, 5000);
	SIM_CHECK(&sim, WIFEXITED(st) && WEXITSTATUS(st) == 0, "vhub-blk: %s", sim_status_str(st));

	/* 4: the kernel has the ioctls configured out: notify=kernel refuses the device */
	vhub = start(argv[3], image, sock);
	setenv("XENSIM_PRIVCMD_EVENTFD", "eopnotsupp", 1);
	sim_spawn(&sim, (const char *const[]){ "--domid", "1", "--device", spec, NULL });
	st = sim_wait_exit(&sim, 10000);
	SIM_CHECK(&sim, WIFEXITED(st) && WEXITSTATUS(st) != 0,
		  "notify=kernel on a kernel without the feature: %s", sim_status_str(st));
	sim_aux_stop(&sim, vhub, SIGTERM, 5000);
	sim_note("a kernel without CONFIG_XEN_PRIVCMD_EVENTFD: notify=kernel refused (%s)",
		 sim_status_str(st));
	sim_pass(&sim);
}
