/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sim-vhu-stuck: a back-end that takes connections but never answers must not stall
 * xvdm. A stopped or stuck back-end process still "accepts": the kernel completes a unix
 * connect from the listener's backlog, and the connections it never accepts stay there
 * (even closed ones) until the backlog is full. The test plays such a back-end by
 * listening on a socket and never accepting. xvdm serves a built-in rng device and two
 * vhost-user-blk devices (shadow, reconnect=1):
 *  - A (timeout=30000) starts with qemu-storage-daemon, which is then SIGKILLed and
 *    replaced by a stuck listener: a reconnection that waited for GET_FEATURES in line
 *    would block the whole process for 30 s;
 *  - B (timeout=500) is stuck from the start: its retries fill the backlog, where a
 *    blocking connect would wait for ever.
 * Rules: vCPU 1 reads entropy all along and every read completes within the driver's
 * bound (the longest is printed); B never offers features. Then A's listener goes and a
 * new qemu-storage-daemon takes its socket: the pending connection breaks, xvdm connects
 * again and negotiates, and the guest probes A and runs the blk data checks on it (bytes
 * compared with the image). xvdm ends on SIGTERM with status 0.
 * Exits 77 until xvdm lists vhost-user-blk.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_mmio.h>

#include "tests/xensim/blk-check.h"
#include "tests/xensim/sim-blk.h"
#include "tests/xensim/sim-pci.h"

#define DOMID	1
#define IRQ_A	33
#define IRQ_B	34
#define IRQ_RNG 35
#define QSIZE	128
#define STUCK_S 6     /* how long both back-ends stay stuck with the guest running */
#define BACK_MS 15000 /* per request, while xvdm reconnects to the new back-end */

static struct sim sim;

struct rng_job {
	struct xs_dom *d;
	uint64_t base;
	bool stop; /* atomic */
	unsigned reads;
	double longest; /* seconds, the slowest read */
	int err;
	char what[160];
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *rng_thread(void *arg)
{
	struct rng_job *j = arg;
	uint64_t gpa = gd_alloc(j->d, 4096, 4096);
	uint8_t prev[16] = { 0 };
	struct vdrv v;

	vdrv_init(&v, j->d, 1, j->base, IRQ_RNG);
	j->err = vdrv_probe(&v, VIRTIO_ID_RNG, 0, 1, 64);
	if (j->err)
		snprintf(j->what, sizeof(j->what), "probe: %s", strerror(-j->err));
	while (!j->err && !__atomic_load_n(&j->stop, __ATOMIC_ACQUIRE)) {
		double t = now_s();

		j->err = sim_rng_read(&v, gpa, 256, prev, j->what, sizeof(j->what));
		t = now_s() - t;
		if (t > j->longest)
			j->longest = t;
		j->reads += !j->err;
	}
	return NULL;
}

/* A back-end that is stuck: it listens (backlog 1) and never accepts. */
static int stuck_listener(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	SIM_CHECK(&sim, fd >= 0 && strlen(path) < sizeof(sa.sun_path), "socket: %s",
		  strerror(errno));
	strcpy(sa.sun_path, path);
	SIM_CHECK(&sim, !bind(fd, (struct sockaddr *)&sa, sizeof(sa)) && !listen(fd, 1),
		  "listen on %s: %s", path, strerror(errno));
	return fd;
}

/*
 * The low word of the device's offer, through the guest's registers: 0 until the
 * back-end was negotiated with (VERSION_1, in the high word, is the transport's own).
 */
static uint32_t features_lo(struct xs_dom *d, uint64_t base, unsigned irq)
{
	struct vdrv v;
	uint32_t f = 0;
	int r;

	vdrv_init(&v, d, 0, base, irq);
	r = vdrv_write32(&v, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	if (!r)
		r = vdrv_read32(&v, VIRTIO_MMIO_DEVICE_FEATURES, &f);
	SIM_CHECK(&sim, !r, "DeviceFeatures of the device at 0x%" PRIx64 ": %s", base,
		  strerror(-r));
	return f;
}

int main(int argc, char **argv)
{
	struct hv_dom_cfg cfg = { .nr_vcpus = 2, .arch = HV_ARCH_ARM, .host_mem = 64u << 20 };
	uint64_t base = hv_host_mmio_base(), a = base, b = base + 0x200, rng = base + 0x400;
	char spec_a[512], spec_b[512], spec_rng[128];
	const char *sock_a, *sock_b, *image;
	struct blk_check c;
	struct rng_job rj;
	struct vblk blk;
	int fd_a, fd_b, r;
	double t0;
	pthread_t tr;
	struct xs_dom *d;
	pid_t qsd;

	sim_init(&sim, "sim-vhu-stuck", argc, argv, 170);
	sim_blk_require(&sim, true);
	d = hv_dom_create(sim.hv, DOMID, &cfg);
	SIM_CHECK(&sim, d, "hv_dom_create");
	image = sim_blk_disk(&sim, "disk.img", SIM_BLK_DISK_SIZE);
	sock_a = sim_path(&sim, "a.sock");
	sock_b = sim_path(&sim, "b.sock");
	qsd = sim_blk_qsd(&sim, image, sock_a);
	fd_b = stuck_listener(sock_b);
	snprintf(spec_a, sizeof(spec_a),
		 "vhost-user-blk,transport=mmio,base=0x%" PRIx64
		 ",irq=%u,socket=%s,mem=shadow,reconnect=1,timeout=30000",
		 a, IRQ_A, sock_a);
	snprintf(spec_b, sizeof(spec_b),
		 "vhost-user-blk,transport=mmio,base=0x%" PRIx64
		 ",irq=%u,socket=%s,mem=shadow,reconnect=1,timeout=500",
		 b, IRQ_B, sock_b);
	snprintf(spec_rng, sizeof(spec_rng), "rng,transport=mmio,base=0x%" PRIx64 ",irq=%u", rng,
		 IRQ_RNG);

	t0 = now_s();
	sim_spawn(&sim, (const char *const[]){ "--domid", "1", "--device", spec_a, "--device",
					       spec_b, "--device", spec_rng, NULL });
	sim_wait_served(&sim, d, a, 10000);
	sim_wait_served(&sim, d, b, 10000);
	sim_wait_served(&sim, d, rng, 10000);
	sim_note("xvdm served all three devices %.2f s after start, B's back-end stuck",
		 now_s() - t0);
	SIM_CHECK(&sim, features_lo(d, a, IRQ_A), "blk A offers no features");

	rj = (struct rng_job){ .d = d, .base = rng };
	pthread_create(&tr, NULL, rng_thread, &rj);
	/* A's back-end dies, and something stuck takes its socket. */
	sim_aux_stop(&sim, qsd, SIGKILL, 5000);
	unlink(sock_a);
	fd_a = stuck_listener(sock_a);
	sleep(STUCK_S);
	SIM_CHECK(&sim, !features_lo(d, b, IRQ_B),
		  "blk B offers features although its back-end never answered");
	SIM_CHECK(&sim, sim_alive(&sim), "xvdm died with its back-ends stuck");

	/* A's back-end comes back: qemu-storage-daemon on the same socket. */
	close(fd_a);
	unlink(sock_a);
	qsd = sim_blk_qsd(&sim, image, sock_a);
	t0 = now_s();
	r = vblk_probe(&blk, d, 0, a, IRQ_A, QSIZE);
	SIM_CHECK(&sim, !r, "blk A probe: %s", strerror(-r));
	r = blk_check_init(&c, &blk, image, 7, 0);
	if (!r)
		r = blk_check_run(&c, BACK_MS);
	SIM_CHECK(&sim, !r, "blk A checks: %s", c.what);
	sim_note("blk A, %.2f s after its new back-end listened: %u writes, %u reads, %u flush, "
		 "%" PRIu64 " bytes compared",
		 now_s() - t0, c.writes, c.reads, c.flushes, c.bytes_compared);
	blk_check_fini(&c);
	vblk_remove(&blk);

	__atomic_store_n(&rj.stop, true, __ATOMIC_RELEASE);
	pthread_join(tr, NULL);
	SIM_CHECK(&sim, !rj.err, "rng on vCPU 1 with stuck back-ends: %s", rj.what);
	sim_note("rng: %u reads meanwhile, the slowest %.3f s", rj.reads, rj.longest);
	SIM_CHECK(&sim, !features_lo(d, b, IRQ_B), "blk B offers features");

	sim_terminate_ok(&sim, 5000);
	sim_aux_stop_ok(&sim, qsd, "qemu-storage-daemon", 5000);
	close(fd_b);
	sim_pass(&sim);
}
