/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sim-vhu-blk-kill: back-end loss under load. xvdm serves vhost-user-blk (shadow mode,
 * reconnect=1) from qemu-storage-daemon and a built-in rng device. vCPU 0 streams
 * writes (several in flight, each to its own sectors with its own pattern) while the
 * test SIGKILLs qemu-storage-daemon and restarts it on the same socket and image, three
 * times; vCPU 1 reads entropy from the rng device all along. Rules (issue 3):
 *  - every request completes exactly once with status OK (the driver rejects a used id
 *    that is not outstanding), or the device reports DEVICE_NEEDS_RESET (Status 0x40 and
 *    a config interrupt): the driver then resets and probes again, as a guest would, and
 *    the requests it had in flight count as not written;
 *  - the image holds, for every write the guest was told completed, exactly its bytes
 *    (checked when it completed, and again at the end);
 *  - the rng device never fails, and xvdm exits 0 on SIGTERM.
 * Exits 77 until xvdm lists vhost-user-blk.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_ids.h>

#include "tests/xensim/blk-check.h"
#include "tests/xensim/sim-blk.h"

#define DOMID	 1
#define IRQ_BLK	 33
#define IRQ_RNG	 34
#define QSIZE	 64
#define NWRITES	 240
#define WLEN	 (32u * 1024)
#define INFLIGHT 4
#define KILLS	 3
#define WAIT_MS	 20000 /* per completion: covers a restart and xvdm's reconnect */

static struct sim sim;

struct stream {
	struct xs_dom *d;
	uint64_t blk_base;
	const char *image;
	int image_fd;
	struct vblk b;
	uint64_t buf[INFLIGHT];
	struct vblk_req req[INFLIGHT];
	bool busy[INFLIGHT];
	bool told[NWRITES]; /* completed with status OK */
	unsigned next;
	unsigned progress; /* completions so far (atomic) */
	unsigned needs_reset, abandoned;
	bool finished; /* atomic */
	int err;
	char what[256];
};

struct rng_job {
	struct xs_dom *d;
	uint64_t base;
	struct stream *s;
	unsigned reads;
	int err;
};

static int fail(struct stream *s, int err, const char *what)
{
	snprintf(s->what, sizeof(s->what), "%s", what);
	return err;
}

static int submit(struct stream *s, unsigned k)
{
	unsigned tag = s->next++;
	int ret;

	blk_pattern(gd_ram(s->d, s->buf[k], WLEN), WLEN, 42, tag);
	s->req[k] = (struct vblk_req){ .type = VIRTIO_BLK_T_OUT,
				       .sector = (uint64_t)tag * (WLEN / VBLK_SECTOR),
				       .gpa = s->buf[k],
				       .len = WLEN,
				       .nseg = 1 + tag % 5 };
	ret = vblk_submit(&s->b, &s->req[k]);
	s->busy[k] = !ret;
	return ret;
}

/* The image holds write `tag` exactly. */
static bool in_image(int fd, unsigned tag)
{
	static uint8_t want[WLEN], got[WLEN];

	blk_pattern(want, WLEN, 42, tag);
	return pread(fd, got, WLEN, (off_t)tag * WLEN) == WLEN && !memcmp(got, want, WLEN);
}

static int completed(struct stream *s, struct vblk_req *r)
{
	unsigned k = (unsigned)(r - s->req), tag = (unsigned)(r->sector / (WLEN / VBLK_SECTOR));

	if (k >= INFLIGHT || !s->busy[k])
		return fail(s, -EPROTO, "a completion for no request of ours");
	s->busy[k] = false;
	if (r->status != VIRTIO_BLK_S_OK) {
		snprintf(s->what, sizeof(s->what), "write %u: status %u", tag, r->status);
		return -EIO;
	}
	if (s->told[tag])
		return fail(s, -EPROTO, "a write completed twice");
	s->told[tag] = true;
	if (!in_image(s->image_fd, tag)) {
		snprintf(s->what, sizeof(s->what), "write %u completed but is not in the image",
			 tag);
		return -EIO;
	}
	__atomic_add_fetch(&s->progress, 1, __ATOMIC_RELEASE);
	return 0;
}

/* DEVICE_NEEDS_RESET: drop what was in flight, reset and probe again (bounded). */
static int reprobe(struct stream *s)
{
	int ret = -EIO;

	s->needs_reset++;
	for (unsigned k = 0; k < INFLIGHT; k++) {
		s->abandoned += s->busy[k];
		s->busy[k] = false;
	}
	vblk_remove(&s->b);
	for (int i = 0; i < 100 && ret; i++) {
		ret = vblk_probe(&s->b, s->d, 0, s->blk_base, IRQ_BLK, QSIZE);
		if (ret)
			usleep(100000);
	}
	return ret ? fail(s, ret, "probe after DEVICE_NEEDS_RESET") : 0;
}

static int stream_run(struct stream *s)
{
	struct vblk_req *r;
	int ret = vblk_probe(&s->b, s->d, 0, s->blk_base, IRQ_BLK, QSIZE);

	if (ret)
		return fail(s, ret, "probe");
	for (;;) {
		unsigned out = 0;

		for (unsigned k = 0; k < INFLIGHT && s->next < NWRITES; k++) {
			if (!s->busy[k] && (ret = submit(s, k)) < 0)
				return fail(s, ret, "submit");
		}
		for (unsigned k = 0; k < INFLIGHT; k++)
			out += s->busy[k];
		if (!out)
			return 0;
		ret = vblk_complete(&s->b, &r, WAIT_MS);
		if (ret == -ESHUTDOWN)
			ret = reprobe(s);
		else if (!ret)
			ret = completed(s, r);
		else
			return fail(s, ret, "waiting for a write");
		if (ret < 0)
			return ret;
	}
}

static void *stream_thread(void *arg)
{
	struct stream *s = arg;

	s->err = stream_run(s);
	__atomic_store_n(&s->finished, true, __ATOMIC_RELEASE);
	return NULL;
}

static void *rng_thread(void *arg)
{
	struct rng_job *j = arg;
	uint64_t gpa = gd_alloc(j->d, 4096, 4096);
	struct vdrv_sg sg = { gpa, 4096, true };
	struct vdrv v;
	uint32_t len;

	vdrv_init(&v, j->d, 1, j->base, IRQ_RNG);
	j->err = vdrv_probe(&v, VIRTIO_ID_RNG, 0, 1, 64);
	while (!j->err && !__atomic_load_n(&j->s->finished, __ATOMIC_ACQUIRE)) {
		j->err = vdrv_xfer(&v, 0, &sg, 1, &len);
		if (!j->err && (!len || len > 4096))
			j->err = -EPROTO;
		j->reads += !j->err;
	}
	return NULL;
}

/* Kill qsd three times while the stream runs; returns the last qsd's pid. */
static pid_t kill_and_restart(struct stream *s, pid_t qsd, const char *sock)
{
	struct timespec pause = { 0, 200 * 1000 * 1000 };

	for (unsigned k = 0; k < KILLS; k++) {
		unsigned at = (k + 1) * NWRITES / (KILLS + 2);

		for (int i = 0; i < 3000 && __atomic_load_n(&s->progress, __ATOMIC_ACQUIRE) < at &&
				!__atomic_load_n(&s->finished, __ATOMIC_ACQUIRE);
		     i++)
			usleep(10000);
		if (__atomic_load_n(&s->finished, __ATOMIC_ACQUIRE))
			break;
		sim_aux_stop(&sim, qsd, SIGKILL, 5000);
		sim_note("qemu-storage-daemon killed after %u completed writes",
			 __atomic_load_n(&s->progress, __ATOMIC_ACQUIRE));
		nanosleep(&pause, NULL);
		qsd = sim_blk_qsd(&sim, s->image, sock);
	}
	return qsd;
}

int main(int argc, char **argv)
{
	struct hv_dom_cfg cfg = { .nr_vcpus = 2, .arch = HV_ARCH_ARM, .host_mem = 64u << 20 };
	static struct stream s;
	struct rng_job rj;
	uint64_t base = hv_host_mmio_base();
	char blk[512], rng[128];
	const char *sock;
	unsigned told = 0;
	pthread_t ts, tr;
	struct xs_dom *d;
	pid_t qsd;

	sim_init(&sim, "sim-vhu-blk-kill", argc, argv, 170);
	sim_blk_require(&sim, true);
	d = hv_dom_create(sim.hv, DOMID, &cfg);
	SIM_CHECK(&sim, d, "hv_dom_create");
	s.d = d;
	s.blk_base = base;
	s.image = sim_blk_disk(&sim, "disk.img", SIM_BLK_DISK_SIZE);
	s.image_fd = open(s.image, O_RDONLY | O_CLOEXEC);
	for (unsigned k = 0; k < INFLIGHT; k++)
		s.buf[k] = gd_alloc(d, WLEN, 4096);
	sock = sim_path(&sim, "qsd.sock");
	qsd = sim_blk_qsd(&sim, s.image, sock);
	snprintf(blk, sizeof(blk),
		 "vhost-user-blk,transport=mmio,base=0x%" PRIx64
		 ",irq=%u,socket=%s,mem=shadow,reconnect=1",
		 base, IRQ_BLK, sock);
	snprintf(rng, sizeof(rng), "rng,transport=mmio,base=0x%" PRIx64 ",irq=%u", base + 0x200,
		 IRQ_RNG);
	sim_spawn(&sim,
		  (const char *const[]){ "--domid", "1", "--device", blk, "--device", rng, NULL });
	sim_wait_served(&sim, d, base, 10000);
	sim_wait_served(&sim, d, base + 0x200, 10000);

	rj = (struct rng_job){ .d = d, .base = base + 0x200, .s = &s };
	pthread_create(&ts, NULL, stream_thread, &s);
	pthread_create(&tr, NULL, rng_thread, &rj);
	qsd = kill_and_restart(&s, qsd, sock);
	pthread_join(ts, NULL);
	pthread_join(tr, NULL);
	SIM_CHECK(&sim, !s.err, "blk stream: %s: %s", s.what, strerror(-s.err));
	SIM_CHECK(&sim, !rj.err, "rng on vCPU 1 during the kills: %s", strerror(-rj.err));
	for (unsigned t = 0; t < NWRITES; t++) {
		if (!s.told[t])
			continue;
		told++;
		SIM_CHECK(&sim, in_image(s.image_fd, t), "write %u: told written, not in the image",
			  t);
	}
	sim_note("%u writes of %u KiB: %u told written and found in the image (%" PRIu64
		 " bytes), %u device resets (%u writes in flight dropped), %u rng reads meanwhile",
		 NWRITES, WLEN / 1024, told, (uint64_t)told * WLEN, s.needs_reset, s.abandoned,
		 rj.reads);
	SIM_CHECK(&sim, told + s.abandoned == NWRITES,
		  "%u writes told written + %u dropped at a reset != %u submitted", told,
		  s.abandoned, NWRITES);

	sim_terminate_ok(&sim, 5000);
	sim_aux_stop_ok(&sim, qsd, "qemu-storage-daemon", 5000);
	close(s.image_fd);
	sim_pass(&sim);
}
