/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sim-vhu-blk-shadow: the real xvdm serving two vhost-user-blk devices in shadow memory
 * mode (DESIGN.md §3) to a simulated 3-vCPU domain: two backed by their own
 * qemu-storage-daemon export of a fresh image (FACTS 32), the third by the in-tree
 * vhub-blk in its plain (--no-xen) mode, which must accept shadow mode's one-readable,
 * one-writable framing of requests (virtio 1.2 §2.6.4). Three vCPU threads probe one
 * device each and run the blk data checks concurrently (blk-check.h: writes of 4 KiB …
 * 1 MiB at odd offsets and sector counts, each compared with the image file's bytes as
 * soon as it completed, read-backs, a read past the end, FLUSH, GET_ID); interrupts must
 * have been taken. Then xvdm and both daemons end on SIGTERM with status 0.
 * Run as `sim-vhu-blk-shadow <xvdm> <libxensim.so> <vhub-blk>`.
 * Exits 77 until xvdm lists vhost-user-blk.
 */
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "tests/xensim/blk-check.h"
#include "tests/xensim/sim-blk.h"

#define DOMID 1
#define NDEV  3 /* two qemu-storage-daemon exports, one vhub-blk --no-xen */
#define IRQ0  33
#define QSIZE 128

static struct sim sim;

struct job {
	struct xs_dom *d;
	unsigned i; /* device and vCPU */
	uint64_t base;
	const char *image;
	int err;
	char what[256];
	struct blk_check c;
	struct vblk b;
	uint64_t edges;
};

static void *vcpu_thread(void *arg)
{
	struct job *j = arg;

	j->err = vblk_probe(&j->b, j->d, j->i, j->base, IRQ0 + j->i, QSIZE);
	if (j->err) {
		snprintf(j->what, sizeof(j->what), "probe: %s", strerror(-j->err));
		return NULL;
	}
	j->err = blk_check_init(&j->c, &j->b, j->image, 100 + j->i, 0);
	if (!j->err)
		j->err = blk_check_run(&j->c, 10000);
	if (j->err)
		snprintf(j->what, sizeof(j->what), "%s", j->c.what);
	j->edges = gd_irq_edges(j->d, IRQ0 + j->i);
	blk_check_fini(&j->c);
	vblk_remove(&j->b);
	return NULL;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	struct hv_dom_cfg cfg = { .nr_vcpus = NDEV, .arch = HV_ARCH_ARM, .host_mem = 64u << 20 };
	char specs[NDEV][512], name[32];
	const char *args[2 + 2 * NDEV + 1] = { "--domid", "1" };
	struct job jobs[NDEV];
	pthread_t t[NDEV];
	pid_t qsd[NDEV];
	struct xs_dom *d;
	double t0;
	int st;

	sim_init(&sim, "sim-vhu-blk-shadow", argc, argv, 110);
	sim_blk_require(&sim, true);
	SIM_CHECK(&sim, argc > 3, "usage: %s <xvdm> <libxensim.so> <vhub-blk>", argv[0]);
	d = hv_dom_create(sim.hv, DOMID, &cfg);
	SIM_CHECK(&sim, d, "hv_dom_create");
	for (unsigned i = 0; i < NDEV; i++) {
		const char *sock;

		snprintf(name, sizeof(name), "disk%u.img", i);
		jobs[i] = (struct job){ .d = d, .i = i, .base = hv_host_mmio_base() + i * 0x200 };
		jobs[i].image = sim_blk_disk(&sim, name, SIM_BLK_DISK_SIZE);
		snprintf(name, sizeof(name), "be%u.sock", i);
		sock = sim_path(&sim, name);
		if (i < NDEV - 1) {
			qsd[i] = sim_blk_qsd(&sim, jobs[i].image, sock);
		} else {
			qsd[i] = sim_spawn_aux(&sim,
					       (const char *const[]){ argv[3], "--socket", sock,
								      "--disk", jobs[i].image,
								      "--no-xen", NULL },
					       true);
			sim_wait_listen(&sim, sock, qsd[i], 10000);
		}
		snprintf(specs[i], sizeof(specs[i]),
			 "vhost-user-blk,transport=mmio,base=0x%" PRIx64
			 ",irq=%u,socket=%s,mem=shadow",
			 jobs[i].base, IRQ0 + i, sock);
		args[2 + 2 * i] = "--device";
		args[3 + 2 * i] = specs[i];
	}
	args[2 + 2 * NDEV] = NULL;
	sim_spawn(&sim, args);
	for (unsigned i = 0; i < NDEV; i++)
		sim_wait_served(&sim, d, jobs[i].base, 10000);

	t0 = now_s();
	for (unsigned i = 0; i < NDEV; i++)
		pthread_create(&t[i], NULL, vcpu_thread, &jobs[i]);
	for (unsigned i = 0; i < NDEV; i++)
		pthread_join(t[i], NULL);
	for (unsigned i = 0; i < NDEV; i++) {
		struct job *j = &jobs[i];

		SIM_CHECK(&sim, !j->err, "vcpu%u / device at 0x%" PRIx64 ": %s", i, j->base,
			  j->what);
		SIM_CHECK(&sim, j->b.v.interrupts > 0 && j->edges > 0,
			  "device %u: no interrupts taken", i);
		sim_note("device %u (%s, shadow): %u writes, %u reads, %u flush, %" PRIu64
			 " bytes compared, %" PRIu64 " requests, %u interrupts (%" PRIu64
			 " edges), GET_ID \"%s\"",
			 i, i < NDEV - 1 ? "qsd" : "vhub-blk", j->c.writes, j->c.reads,
			 j->c.flushes, j->c.bytes_compared, j->b.completed, j->b.v.interrupts,
			 j->edges, j->c.id);
	}
	sim_note("all devices, concurrently: %.3f s", now_s() - t0);

	sim_terminate_ok(&sim, 5000);
	for (unsigned i = 0; i < NDEV; i++) {
		st = sim_aux_stop(&sim, qsd[i], SIGTERM, 5000);
		SIM_CHECK(&sim, WIFEXITED(st) && WEXITSTATUS(st) == 0,
			  "back-end %u after SIGTERM: %s", i, sim_status_str(st));
	}
	sim_pass(&sim);
}
