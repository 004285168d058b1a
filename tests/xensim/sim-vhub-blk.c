/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sim-vhub-blk: the in-tree back-end tests/backends/vhub-blk on its own, driven by the
 * test's vhost-user front-end (vufe.h) with the virtio-blk driver and data checks the
 * xvdm tests use (vdrv-blk.h, blk-check.h); no xvdm involved.
 *  1. F_XEN_MMAP: guest RAM in two banks (host layout), 40-byte regions with emulated
 *     privcmd fds; vhub-blk maps them itself (MMAPBATCH_V2, logged with its pid); the
 *     read buffer lies in the second bank.
 *  2. A front-end that does not ack F_XEN_MMAP is dropped (as rust-vmm's `xen` build).
 *  3. --no-xen: 32-byte regions of the RAM memfd, ring addresses in another address
 *     space than descriptors (uva != gpa).
 *  4. The same front-end, driver and checks against qemu-storage-daemon (FACTS 32), if
 *     installed: the reference the xvdm tests are compared with.
 * Run as `sim-vhub-blk <vhub-blk> <libxensim.so>`.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>

#include "tests/xensim/blk-check.h"
#include "tests/xensim/sim-blk.h"
#include "tests/xensim/vufe.h"

#define DOMID	  2
#define DISK_SIZE (16u << 20)
#define QSIZE	  128
#define PF(bit)	  (1ULL << (bit))
/* Up to num_queues: qemu-storage-daemon 7.2 answers nothing for more than its struct. */
#define CFG_LEN (offsetof(struct virtio_blk_config, num_queues) + 2)

static struct sim sim;

static const char *make_disk(const char *name)
{
	const char *path = sim_path(&sim, name);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	SIM_CHECK(&sim, fd >= 0 && !ftruncate(fd, DISK_SIZE), "%s: %s", path, strerror(errno));
	close(fd);
	return path;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* vhub-blk (or qsd) on a fresh disk, a front-end connected to it; the back-end's pid. */
static pid_t start(struct vufe *f, const char *tag, bool xen, bool qsd, const char **ret_disk)
{
	char sock[32], disk[32];
	const char *s, *d;
	pid_t pid;
	int ret;

	snprintf(sock, sizeof(sock), "vhub-%s.sock", tag);
	snprintf(disk, sizeof(disk), "disk-%s.img", tag);
	s = sim_path(&sim, sock);
	d = make_disk(disk);
	if (qsd)
		pid = sim_blk_qsd(&sim, d, s);
	else
		pid = sim_spawn_aux(&sim,
				    (const char *const[]){ sim.program, "--socket", s, "--disk", d,
							   xen ? NULL : "--no-xen", NULL },
				    true);
	ret = vufe_connect(f, s, 5000);
	SIM_CHECK(&sim, !ret, "connect to vhub-blk (%s): %s", tag, strerror(-ret));
	*ret_disk = d;
	return pid;
}

static void run(struct xs_dom *d, bool xen, bool qsd, uint64_t rbuf)
{
	uint64_t want = PF(VIRTIO_F_VERSION_1) | PF(VIRTIO_BLK_F_SEG_MAX) |
			PF(VIRTIO_BLK_F_BLK_SIZE) | PF(VIRTIO_BLK_F_FLUSH);
	uint64_t want_pf = PF(3) | PF(9) | (xen ? PF(17) : 0); /* REPLY_ACK, CONFIG, XEN_MMAP */
	const char *tag = qsd ? "qsd" : xen ? "xen" : "plain", *disk;
	struct virtio_blk_config cfg = { 0 };
	struct blk_check c;
	struct vblk b;
	struct vufe f;
	double t0;
	pid_t pid = start(&f, tag, xen, qsd, &disk);
	int ret, st;

	if ((ret = vufe_negotiate(&f, want, want_pf, xen ? PF(17) : 0)) < 0 ||
	    (ret = vufe_get_config(&f, 0, &cfg, CFG_LEN)) < 0 || (ret = vufe_eventfds(&f)) < 0)
		sim_fail(&sim, "%s: set-up: %s", tag, strerror(-ret));
	SIM_CHECK(&sim, cfg.capacity == DISK_SIZE / 512, "%s: capacity %llu", tag,
		  (unsigned long long)cfg.capacity);
	ret = vblk_attach_direct(&b, d, f.features, QSIZE, &f.kick, &f.call, cfg.capacity,
				 cfg.seg_max);
	if (!ret)
		ret = vufe_set_mem(&f, d, sim.hv, xen);
	if (!ret)
		ret = vufe_start(&f, &b.v, xen);
	SIM_CHECK(&sim, !ret, "%s: memory and queue set-up: %s", tag, strerror(-ret));
	SIM_CHECK(&sim, !blk_check_init(&c, &b, disk, xen ? 1 : 2, rbuf), "%s", c.what);
	t0 = now_s();
	ret = blk_check_run(&c, 5000);
	SIM_CHECK(&sim, !ret, "%s: %s", tag, c.what);
	SIM_CHECK(&sim, qsd || !strcmp(c.id, "vhub-blk"), "%s: GET_ID \"%s\"", tag, c.id);
	sim_note("%s: %u writes, %u reads, %u flush, %" PRIu64 " bytes compared, %" PRIu64
		 " requests in %.3f s, %u calls, GET_ID \"%s\"",
		 tag, c.writes, c.reads, c.flushes, c.bytes_compared, b.completed, now_s() - t0,
		 b.v.interrupts, c.id);
	blk_check_fini(&c);
	vblk_remove(&b);
	vufe_close(&f);
	st = sim_aux_stop(&sim, pid, SIGTERM, 5000);
	SIM_CHECK(&sim, WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s: vhub-blk: %s", tag,
		  sim_status_str(st));
}

/* As rust-vmm built with `xen`: no F_XEN_MMAP ack, no connection. */
static void check_refused(void)
{
	struct vufe f;
	const char *disk;
	pid_t pid = start(&f, "noack", true, false, &disk);
	int ret = vufe_negotiate(&f, PF(VIRTIO_F_VERSION_1), PF(3), 0);
	char c;

	/* SET_PROTOCOL_FEATURES is not acked (REPLY_ACK is not on yet): look at the socket. */
	if (!ret) {
		struct timeval tv = { 5, 0 };

		setsockopt(f.sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		ret = recv(f.sock, &c, 1, 0) == 0 ? -ECONNRESET : -EPROTO;
	}
	SIM_CHECK(&sim, ret == -ECONNRESET || ret == -EPIPE,
		  "a front-end without F_XEN_MMAP was not dropped: %s", strerror(-ret));
	vufe_close(&f);
	SIM_CHECK(&sim, sim_aux_alive(&sim, pid, NULL),
		  "vhub-blk exited after dropping a front-end");
	sim_aux_stop(&sim, pid, SIGTERM, 5000);
	sim_note("a front-end that did not ack F_XEN_MMAP was dropped");
}

static void check_privcmd(struct xs_dom *d, uint64_t ram_pages)
{
	struct hv_dom_stats st;

	hv_dom_stats(d, &st);
	SIM_CHECK(&sim, st.privcmd_maps == 2 && st.privcmd_pages == ram_pages,
		  "%u privcmd batches of %" PRIu64 " pages (want 2 covering %" PRIu64 ")",
		  st.privcmd_maps, st.privcmd_pages, ram_pages);
}

int main(int argc, char **argv)
{
	struct hv_dom_cfg cfg = { .nr_vcpus = 1, .host_mem = 0xf0000000ULL + (8u << 20) };
	struct hv_ram_bank banks[2];
	struct xs_dom *d;

	sim_init(&sim, "sim-vhub-blk", argc, argv, 60);
	hv_host_ram_layout(cfg.host_mem, banks);
	d = hv_dom_create(sim.hv, DOMID, &cfg);
	SIM_CHECK(&sim, d, "hv_dom_create");
	run(d, true, false, banks[1].gpa); /* read buffers in the second bank */
	check_privcmd(d, cfg.host_mem / 4096);
	check_refused();
	run(d, false, false, 0);
	if (!access(SIM_QSD, X_OK))
		run(d, false, true, 0);
	else
		sim_note("%s not installed: not compared", SIM_QSD);
	sim_pass(&sim);
}
