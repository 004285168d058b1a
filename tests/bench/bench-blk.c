/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bench-blk: what xvdm costs a virtio-blk guest under the simulated hypervisor
 * (tests/xensim), measured side by side in one run (DESIGN.md §5, docs/performance.md).
 *
 * One guest driver (tests/xensim/vdrv-blk.h) runs the same workloads against six set-ups,
 * each with its own back-end process and its own disk image (tmpfs, filled, never named):
 *   qsd direct        qemu-storage-daemon driven by the test's vhost-user front-end (vufe)
 *                     with guest RAM in a memfd the daemon maps: no xvdm, no ioreq, no copy
 *   qsd + null exits  the same, but the guest takes the exits a virtio-mmio guest takes
 *                     (QueueNotify; SPI, InterruptStatus, InterruptACK), answered by
 *                     bench-nulldm, a null ioreq server that writes the back-end's kick and
 *                     raises the SPI on its call: the same guest workload, minus xvdm
 *   xvdm shadow/qsd   the full path: MMIO ioreqs through the simulated hypervisor, xvdm,
 *                     shadow virtqueues (every buffer copied) to qemu-storage-daemon
 *   vhub direct, vhub + null exits
 *                     tests/backends/vhub-blk driven the same two ways, in F_XEN_MMAP mode
 *                     (it maps guest RAM through the emulated privcmd, as behind xvdm; qsd
 *                     does not speak F_XEN_MMAP, so zero copy gets baselines of its own)
 *   xvdm xen-mmap     xvdm in xen-mmap mode to vhub-blk, which maps guest RAM itself
 * Workloads: 4 KiB random reads, --size KiB (64) sequential reads and writes, each at queue
 * depth 1 and --qd (16). Rounds run, workload by workload, every set-up in turn (the first
 * one rotating) so that they share the host's noise; each ratio is taken within a round
 * and its median printed. memcpy bandwidth is measured in the same rounds (what bounds
 * shadow mode). Times are printed, never checked; a failed request fails the run.
 *
 * bench-blk [--quick] [--rounds N] ... ; --help lists the options. Exits 77 when xvdm has no
 * vhost-user-blk; without qemu-storage-daemon its three set-ups are left out.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stddef.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <glib.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_ring.h>

#include "tests/bench/bench-stats.h"
#include "tests/xensim/blk-check.h"
#include "tests/xensim/sim-blk.h"
#include "tests/xensim/vufe.h"

#ifndef BENCH_XVDM
#define BENCH_XVDM ""
#endif
#ifndef BENCH_LIBXENSIM
#define BENCH_LIBXENSIM ""
#endif
#ifndef BENCH_VHUB_BLK
#define BENCH_VHUB_BLK ""
#endif
#ifndef BENCH_NULLDM
#define BENCH_NULLDM ""
#endif

#define DOMID	   1
#define IRQ0	   33
#define QSIZE	   128
#define GUEST_MEM  (256u << 20)
#define MAX_ROUNDS 64
#define MAX_QD	   32
#define TIMEOUT_MS 5000
#define PF(bit)	   (1ULL << (bit))
#define RT_LEN	   4096u
#define WIN	   0x200u
/* Up to num_queues: qemu-storage-daemon 7.2 answers nothing for more than its struct. */
#define CFG_LEN (offsetof(struct virtio_blk_config, num_queues) + 2)

enum backend {
	BE_QSD,
	BE_VHUB_XEN, /* vhub-blk, F_XEN_MMAP required */
};

/* The workloads, in the order of the columns. */
enum {
	W_RR1,
	W_RRQ,
	W_SR1,
	W_SRQ,
	W_SW1,
	W_SWQ,
	NW
};
struct workload {
	const char *name;
	bool random, write, deep; /* deep: at --qd, else at depth 1 */
};
static const struct workload work[NW] = {
	{ "4K rand rd qd1", true, false, false }, { "4K rand rd qdN", true, false, true },
	{ "seq rd qd1", false, false, false },	  { "seq rd qdN", false, false, true },
	{ "seq wr qd1", false, true, false },	  { "seq wr qdN", false, true, true },
};

struct setup {
	const char *name;
	const char *mem; /* xvdm memory mode, NULL: driven directly by vufe */
	enum backend be;
	bool null_exits; /* direct, plus the guest's exits answered by bench-nulldm */
	int base[2];	 /* indices of its baselines (-1: none); none at all: it is one */
	/* at run time */
	bool on;
	pid_t pid, nulldm;
	int image_fd;
	struct vufe f;
	struct vblk b;
	uint64_t mmio;
	unsigned irq;
	uint64_t edges; /* SPI edges consumed (null exits) */
	uint64_t features;
	unsigned segs;		     /* data segments of a sequential request */
	double rt[MAX_ROUNDS];	     /* µs, median of 4 KiB random reads at depth 1 */
	double mibs[NW][MAX_ROUNDS]; /* MiB/s */
	uint64_t null_irqs;	     /* interrupts handled under null exits */
	double irqs[NW][MAX_ROUNDS]; /* interrupts handled per request */
};

static struct setup setups[] = {
	{ "qsd direct", NULL, BE_QSD, false, { -1, -1 } },
	{ "qsd + null exits", NULL, BE_QSD, true, { -1, -1 } },
	{ "xvdm shadow -> qsd", "shadow", BE_QSD, false, { 0, 1 } },
	{ "vhub-blk direct", NULL, BE_VHUB_XEN, false, { -1, -1 } },
	{ "vhub-blk + null exits", NULL, BE_VHUB_XEN, true, { -1, -1 } },
	{ "xvdm xen-mmap -> vhub-blk", "xen-mmap", BE_VHUB_XEN, false, { 3, 4 } },
};
#define NSETUPS ((int)G_N_ELEMENTS(setups))

/* Parameters (options). */
/* -1: the default of the mode (normal, --quick). */
static int rounds = -1, rt_reqs = -1, tput_mib = -1, qd = 16, size_kib = 64, disk_mib = 64;
static gboolean quick;
static char *opt_xvdm, *opt_lib, *opt_vhub, *opt_nulldm;

static struct sim sim;
static struct xs_dom *dom;
static uint64_t rd_buf, wr_buf; /* guest buffers, shared by every set-up */
static int dummy_kick = -1;	/* what vdrv's direct kick writes under null exits */
static double copy_gibs[MAX_ROUNDS], dummy_us;

static double min_max(const double *v, int n, double *ret_max)
{
	double lo = v[0], hi = v[0];

	for (int i = 1; i < n; i++) {
		lo = v[i] < lo ? v[i] : lo;
		hi = v[i] > hi ? v[i] : hi;
	}
	*ret_max = hi;
	return lo;
}

/*
 * A disk image that never has a name: O_TMPFILE on tmpfs (so that writes never wait for a
 * disk), filled with bytes (so that reads come from the page cache, not a hole), left open
 * without O_CLOEXEC; the back-end opens /proc/self/fd/N. Nothing to remove on any path.
 */
static int make_image(char *path, size_t len)
{
	static const char *const dirs[] = { "/dev/shm", "/tmp" };
	uint64_t size = (uint64_t)disk_mib << 20;
	uint8_t *chunk = g_malloc(1u << 20);
	int fd = -1;

	for (unsigned i = 0; i < G_N_ELEMENTS(dirs) && fd < 0; i++)
		fd = open(dirs[i], O_TMPFILE | O_RDWR, 0600);
	SIM_CHECK(&sim, fd >= 0, "O_TMPFILE for a disk image: %s", strerror(errno));
	for (uint64_t off = 0; off < size; off += 1u << 20) {
		blk_pattern(chunk, 1u << 20, 0xb0, (uint32_t)(off >> 20));
		SIM_CHECK(&sim, pwrite(fd, chunk, 1u << 20, (off_t)off) == 1 << 20,
			  "filling a disk image: %s", strerror(errno));
	}
	g_free(chunk);
	snprintf(path, len, "/proc/self/fd/%d", fd);
	return fd;
}

static void start_backend(struct setup *s, unsigned i)
{
	char image[64], name[32];
	const char *sock;

	s->image_fd = make_image(image, sizeof(image));
	snprintf(name, sizeof(name), "be%u.sock", i);
	sock = sim_path(&sim, name);
	if (s->be == BE_QSD) {
		s->pid = sim_blk_qsd(&sim, image, sock);
	} else {
		s->pid = sim_spawn_aux(
			&sim,
			(const char *const[]){ opt_vhub, "--socket", sock, "--disk", image, NULL },
			true);
		sim_wait_listen(&sim, sock, s->pid, 10000);
	}
}

static const char *sock_of(unsigned i)
{
	char name[32];

	snprintf(name, sizeof(name), "be%u.sock", i);
	return sim_path(&sim, name);
}

/*
 * A baseline: the guest's rings driven through vufe. Guest RAM is a plain memfd region for
 * qsd, and for vhub-blk F_XEN_MMAP regions it maps itself through the emulated privcmd,
 * exactly as behind xvdm's xen-mmap mode (the same back-end code on the same mappings).
 */
static void attach_direct(struct setup *s, unsigned i)
{
	bool xen = s->be == BE_VHUB_XEN;
	/* What the guest driver asks of a device (vdrv-blk.c), as far as vufe can serve it. */
	uint64_t want = PF(VIRTIO_F_VERSION_1) | PF(VIRTIO_BLK_F_SEG_MAX) |
			PF(VIRTIO_BLK_F_BLK_SIZE) | PF(VIRTIO_BLK_F_FLUSH) |
			PF(VIRTIO_RING_F_EVENT_IDX);
	struct virtio_blk_config cfg = { 0 };
	int ret;

	if ((ret = vufe_connect(&s->f, sock_of(i), 5000)) < 0 ||
	    (ret = vufe_negotiate(&s->f, want, PF(3) | PF(9) | (xen ? PF(17) : 0),
				  xen ? PF(17) : 0)) < 0 ||
	    (ret = vufe_get_config(&s->f, 0, &cfg, CFG_LEN)) < 0 ||
	    (ret = vufe_eventfds(&s->f)) < 0 ||
	    (ret = vblk_attach_direct(&s->b, dom, s->f.features, QSIZE, &s->f.kick, &s->f.call,
				      cfg.capacity, cfg.seg_max)) < 0 ||
	    (ret = vufe_set_mem(&s->f, dom, sim.hv, xen)) < 0 ||
	    (ret = vufe_start(&s->f, &s->b.v, xen)) < 0)
		sim_fail(&sim, "%s: set-up: %s", s->name, strerror(-ret));
	s->features = s->f.features;
}

static void probe_xvdm(struct setup *s)
{
	int ret = vblk_probe(&s->b, dom, 0, s->mmio, s->irq, QSIZE);

	SIM_CHECK(&sim, !ret, "%s: probe: %s", s->name, strerror(-ret));
	s->features = s->b.v.features;
}

static void check_done(struct setup *s, const struct vblk_req *r)
{
	SIM_CHECK(&sim, r->status == VIRTIO_BLK_S_OK,
		  "%s: %s of %u bytes at sector %" PRIu64 ": status %u", s->name,
		  r->type == VIRTIO_BLK_T_IN ? "read" : "write", r->len, r->sector, r->status);
}

/* --- the guest's exits under null exits (bench-nulldm answers them) --- */

/* New used entries the driver has not taken yet. */
static bool used_pending(struct setup *s)
{
	struct vdrv_vq *vq = &s->b.v.vq[0];

	return le16toh(__atomic_load_n(&vq->used->idx, __ATOMIC_ACQUIRE)) != vq->last_used;
}

/* Submit, then the QueueNotify exit a virtio-mmio driver takes. */
static int submit(struct setup *s, struct vblk_req *r)
{
	int ret = vblk_submit(&s->b, r);

	if (ret || !s->null_exits)
		return ret;
	return gd_mmio_write(dom, 0, s->mmio + VIRTIO_MMIO_QUEUE_NOTIFY, 4, 0);
}

/*
 * The next completion. Under null exits, as vdrv's virtio-mmio path does it: take what
 * the used ring holds; otherwise re-arm used_event, look again, wait for the SPI, read
 * InterruptStatus and write InterruptACK (two exits), and look again.
 */
static int complete(struct setup *s, struct vblk_req **r)
{
	int ret;

	if (!s->null_exits)
		return vblk_complete(&s->b, r, TIMEOUT_MS);
	for (;;) {
		struct vdrv_vq *vq = &s->b.v.vq[0];
		uint64_t isr = 0;

		if (used_pending(s))
			return vblk_complete(&s->b, r, TIMEOUT_MS);
		if (s->b.v.features & PF(VIRTIO_RING_F_EVENT_IDX))
			vq->avail->ring[vq->num] = htole16(vq->last_used);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		if (used_pending(s))
			continue;
		s->null_irqs++;
		if ((ret = gd_irq_wait(dom, s->irq, &s->edges, TIMEOUT_MS)) < 0 ||
		    (ret = gd_mmio_read(dom, 0, s->mmio + VIRTIO_MMIO_INTERRUPT_STATUS, 4, &isr)) <
			    0 ||
		    (ret = gd_mmio_write(dom, 0, s->mmio + VIRTIO_MMIO_INTERRUPT_ACK, 4, 1)) < 0)
			return ret;
	}
}

/* vufe drives the rings; the kick and call eventfds go to a null ioreq server. */
static void attach_null_exits(struct setup *s)
{
	char a_dom[16], a_base[32], a_size[16], a_irq[16], a_kick[16], a_call[16];

	snprintf(a_dom, sizeof(a_dom), "%d", DOMID);
	snprintf(a_base, sizeof(a_base), "0x%" PRIx64, s->mmio);
	snprintf(a_size, sizeof(a_size), "0x%x", WIN);
	snprintf(a_irq, sizeof(a_irq), "%u", s->irq);
	snprintf(a_kick, sizeof(a_kick), "%d", s->f.kick);
	snprintf(a_call, sizeof(a_call), "%d", s->f.call);
	/* the null server inherits the two eventfds (vufe makes them close-on-exec) */
	SIM_CHECK(&sim, fcntl(s->f.kick, F_SETFD, 0) == 0 && fcntl(s->f.call, F_SETFD, 0) == 0,
		  "fcntl: %s", strerror(errno));
	s->nulldm = sim_spawn_aux(&sim,
				  (const char *const[]){ opt_nulldm, a_dom, a_base, a_size, a_irq,
							 a_kick, a_call, NULL },
				  true);
	fcntl(s->f.kick, F_SETFD, FD_CLOEXEC);
	fcntl(s->f.call, F_SETFD, FD_CLOEXEC);
	sim_wait_served(&sim, dom, s->mmio, 10000);
	s->b.v.kick_fd[0] = dummy_kick;
	s->b.v.call_fd[0] = -1; /* never waited on: complete() only takes what is there */
	s->edges = gd_irq_edges(dom, s->irq);
}

/* --- workloads --- */

/*
 * One workload: nreq requests, depth 1 or qd, 4 KiB at random offsets or `size` KiB
 * sequentially; MiB/s. At depth 1, *ret_lat_us (if given) gets the median round trip.
 */
static double run_work(struct setup *s, const struct workload *w, int nreq, double *ret_lat_us)
{
	uint32_t len = w->random ? RT_LEN : (uint32_t)size_kib << 10;
	uint64_t nslots = ((uint64_t)disk_mib << 20) / len, buf = w->write ? wr_buf : rd_buf;
	int depth = w->deep ? qd : 1, submitted = 0, done = 0, ret;
	struct vblk_req req[MAX_QD], *r;
	double *lat = ret_lat_us ? g_new(double, nreq) : NULL, t0 = bench_now_s(), tq = 0;

	for (int k = 0; k < depth && submitted < nreq; k++, submitted++) {
		uint64_t slot =
			w->random ? (uint64_t)submitted * 7919 % nslots : submitted % nslots;

		req[k] = (struct vblk_req){ .type = w->write ? VIRTIO_BLK_T_OUT : VIRTIO_BLK_T_IN,
					    .sector = slot * (len / 512),
					    .gpa = buf + (uint64_t)k * len,
					    .len = len,
					    .nseg = w->random ? 1 : 0 };
		tq = bench_now_s();
		ret = submit(s, &req[k]);
		SIM_CHECK(&sim, !ret, "%s: submit: %s", s->name, strerror(-ret));
	}
	while (done < nreq) {
		ret = complete(s, &r);
		SIM_CHECK(&sim, !ret, "%s: %s: %s", s->name, w->name, strerror(-ret));
		check_done(s, r);
		if (lat && done < nreq)
			lat[done] = (bench_now_s() - tq) * 1e6;
		done++;
		if (submitted < nreq) {
			uint64_t slot = w->random ? (uint64_t)submitted * 7919 % nslots
						  : submitted % nslots;

			r->sector = slot * (len / 512);
			submitted++;
			tq = bench_now_s();
			ret = submit(s, r);
			SIM_CHECK(&sim, !ret, "%s: submit: %s", s->name, strerror(-ret));
		}
	}
	if (lat) {
		*ret_lat_us = bench_median_inplace(lat, nreq);
		g_free(lat);
	}
	return (double)nreq * len / (1 << 20) / (bench_now_s() - t0);
}

/* Data segments the driver builds for a sequential request (after size_max). */
static unsigned seq_segments(const struct setup *s)
{
	uint32_t len = (uint32_t)size_kib << 10;

	return s->b.size_max && len > s->b.size_max ? (len + s->b.size_max - 1) / s->b.size_max : 1;
}

/* memcpy of `size` KiB pieces between two 4 MiB buffers (the shadow area's default size) for
 * about 20 ms: GiB/s. What a shadow-mode request's copy can at best cost. */
static double run_copy(void)
{
	size_t len = (size_t)size_kib << 10, area = 4u << 20;
	uint8_t *src = g_malloc(area), *dst = g_malloc(area);
	uint64_t bytes = 0;
	double t0 = bench_now_s(), t;

	memset(src, 0x5a, area);
	memset(dst, 0xa5, area);
	do {
		for (size_t off = 0; off + len <= area; off += len) {
			memcpy(dst + off, src + (area - len - off), len);
			bytes += len;
		}
		__asm__ volatile("" : : "r"(dst) : "memory");
		t = bench_now_s();
	} while (t - t0 < 0.02);
	g_free(src);
	g_free(dst);
	return (double)bytes / (1 << 30) / (t - t0);
}

/* The cost of the unused eventfd write vdrv's direct kick makes under null exits: µs. */
static double measure_dummy_kick(void)
{
	uint64_t one = 1, n;
	double t0 = bench_now_s();

	for (int k = 0; k < 20000; k++)
		SIM_CHECK(&sim, write(dummy_kick, &one, sizeof(one)) == sizeof(one), "eventfd: %s",
			  strerror(errno));
	t0 = (bench_now_s() - t0) * 1e6 / 20000;
	(void)!read(dummy_kick, &n, sizeof(n));
	return t0;
}

/* CPU ticks of a process (all its threads): utime + stime from /proc/pid/stat. */
static uint64_t proc_ticks(pid_t pid)
{
	g_autofree char *path = g_strdup_printf("/proc/%d/stat", (int)pid), *text = NULL;
	unsigned long long ut = 0, st = 0;
	const char *p;

	if (!g_file_get_contents(path, &text, NULL, NULL) || !(p = strrchr(text, ')')))
		return 0;
	/* after "pid (comm)": state is field 3, utime 14, stime 15 */
	if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		return 0;
	return ut + st;
}

/* Busy and total ticks of all CPUs, from /proc/stat. */
static void host_ticks(uint64_t *ret_busy, uint64_t *ret_total)
{
	g_autofree char *text = NULL;
	unsigned long long v[8] = { 0 };

	*ret_busy = *ret_total = 0;
	if (!g_file_get_contents("/proc/stat", &text, NULL, NULL) ||
	    sscanf(text, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
		   &v[4], &v[5], &v[6], &v[7]) != 8)
		return;
	for (int i = 0; i < 8; i++)
		*ret_total += v[i];
	*ret_busy = *ret_total - v[3] - v[4]; /* idle, iowait */
}

static uint64_t our_ticks(void)
{
	uint64_t t = proc_ticks(getpid()) + (sim.pid ? proc_ticks(sim.pid) : 0);

	for (int i = 0; i < NSETUPS; i++)
		t += setups[i].on ? proc_ticks(setups[i].pid) : 0;
	for (int i = 0; i < NSETUPS; i++)
		t += setups[i].nulldm ? proc_ticks(setups[i].nulldm) : 0;
	return t;
}

static void loadavg(char *buf, size_t len)
{
	g_autofree char *text = NULL;
	double a = 0, b = 0, c = 0;

	if (g_file_get_contents("/proc/loadavg", &text, NULL, NULL) &&
	    sscanf(text, "%lf %lf %lf", &a, &b, &c) == 3)
		snprintf(buf, len, "%.2f %.2f %.2f", a, b, c);
	else
		snprintf(buf, len, "?");
}

static const char *const meaning[] = {
	"",
	"What the ratios mean (each taken within a round, median over rounds):",
	"  throughput ratio < 1: that fraction of the baseline's MiB/s; rt ratio > 1: that many",
	"    times the baseline's 4 KiB round trip.",
	"  vs direct: the guest's rings driven through eventfds, no exit at all. vs + null exits:",
	"    the same guest workload on virtio-mmio, whose exits (QueueNotify; SPI,",
	"    InterruptStatus, InterruptACK) a null ioreq server answers on the same simulated",
	"    hypervisor: what xvdm",
	"    itself adds. Every guest on Xen takes those exits; a back-end driven directly takes",
	"    none, so against it the ratio also counts the hypervisor's part of the exits.",
	"  xen-mmap: the relay cost of xvdm, no copy. shadow: the relay cost plus the copy of",
	"    every request (header, data, status) between guest RAM and the shadow area.",
	"Under the simulator an ioreq is a shared-page write plus an eventfd hop and an interrupt",
	"is a unix-socket message, not a hypercall and a vGIC injection: absolute numbers differ",
	"from real Xen; the ratios say what xvdm adds on the same host.",
};

static void report(int n, double secs, double host_busy, double others_busy, const char *load0,
		   const char *load1)
{
	static const char *const tgt[2] = { ">= 0.6 at 64K", ">= 0.95" };

	printf("\nbench-blk: %d round(s) in %.1f s; host: %ld CPUs, load average %s at start, "
	       "%s at end;\n"
	       "  CPU busy during the rounds: %.0f%% of the machine, of which %.0f%% by other "
	       "processes than this benchmark's\n",
	       n, secs, sysconf(_SC_NPROCESSORS_ONLN), load0, load1, host_busy * 100,
	       others_busy * 100);
	printf("parameters: %d requests per 4 KiB workload (random offsets), %d MiB per sequential "
	       "workload of %d KiB requests; qdN = queue depth %d; disk images %d MiB on tmpfs "
	       "(page cache), queue size %d\n\n",
	       rt_reqs, tput_mib, size_kib, qd, disk_mib, QSIZE);
	printf("MiB/s (median over rounds); rt = median 4 KiB round trip at depth 1; seq = %d KiB, "
	       "qdN = depth %d\n",
	       size_kib, qd);
	printf("%-26s | %7s", "config", "rt µs");
	for (int w = 0; w < NW; w++)
		printf(" | %14s", work[w].name);
	printf("\n");
	for (int i = 0; i < NSETUPS; i++) {
		struct setup *s = &setups[i];

		if (!s->on)
			continue;
		printf("%-26s | %7.1f", s->name, bench_median(s->rt, n));
		for (int w = 0; w < NW; w++)
			printf(" | %14.0f", bench_median(s->mibs[w], n));
		printf("\n");
	}
	printf("\nratios (median of per-round ratios): throughput, and rt for the round trip\n");
	printf("%-44s | %7s", "xvdm vs baseline", "rt");
	for (int w = 0; w < NW; w++)
		printf(" | %14s", work[w].name);
	printf(" | target\n");
	for (int i = 0; i < NSETUPS; i++) {
		struct setup *s = &setups[i];

		for (int k = 0; k < 2; k++) {
			struct setup *b;
			double rr[MAX_ROUNDS];
			char label[64];

			if (!s->on || s->base[k] < 0 || !setups[s->base[k]].on)
				continue;
			b = &setups[s->base[k]];
			snprintf(label, sizeof(label), "%s / %s", s->mem, b->name);
			for (int r = 0; r < n; r++)
				rr[r] = s->rt[r] / b->rt[r];
			printf("%-44s | %6.2fx", label, bench_median(rr, n));
			for (int w = 0; w < NW; w++) {
				for (int r = 0; r < n; r++)
					rr[r] = s->mibs[w][r] / b->mibs[w][r];
				printf(" | %13.2fx", bench_median(rr, n));
			}
			printf(" | %s\n", tgt[s->be != BE_QSD]);
		}
	}
	printf("\nadded per 4 KiB round trip (each round's difference, median over rounds):\n");
	for (int i = 0; i < NSETUPS; i++) {
		struct setup *s = &setups[i];

		for (int k = 0; k < 2; k++) {
			double d[MAX_ROUNDS];

			if (!s->on || s->base[k] < 0 || !setups[s->base[k]].on)
				continue;
			for (int r = 0; r < n; r++)
				d[r] = s->rt[r] - setups[s->base[k]].rt[r];
			printf("  %-26s %+7.1f µs vs %s\n", s->name, bench_median(d, n),
			       setups[s->base[k]].name);
		}
	}
	{
		double gibs = bench_median(copy_gibs, n),
		       us = (double)size_kib / (1 << 20) / gibs * 1e6;

		printf("\nmemcpy, %d KiB pieces between two 4 MiB buffers: %.1f GiB/s (median), "
		       "%.1f µs "
		       "per %d KiB request;\n  shadow mode copies each request's data once (reads: "
		       "shadow area -> guest RAM, writes: guest RAM -> shadow area)\n",
		       size_kib, gibs, us, size_kib);
		printf("null exits: vdrv's direct kick also writes an unused eventfd per request "
		       "(%.2f µs, measured; left in the baselines, in xvdm's favour)\n",
		       dummy_us);
	}
	printf("\ninterrupts the guest handled per request (SPI, InterruptStatus, InterruptACK: "
	       "three exits each; median over rounds):\n");
	printf("%-26s", "config");
	for (int w = 0; w < NW; w++)
		printf(" | %14s", work[w].name);
	printf("\n");
	for (int i = 0; i < NSETUPS; i++) {
		struct setup *s = &setups[i];

		if (!s->on || (!s->mem && !s->null_exits))
			continue;
		printf("%-26s", s->name);
		for (int w = 0; w < NW; w++)
			printf(" | %14.2f", bench_median(s->irqs[w], n));
		printf("\n");
	}
	printf("\nspread across rounds (min .. max):\n");
	for (int i = 0; i < NSETUPS; i++) {
		struct setup *s = &setups[i];
		double a, b, c, d;

		if (!s->on)
			continue;
		a = min_max(s->rt, n, &b);
		c = min_max(s->mibs[W_SRQ], n, &d);
		printf("  %-26s rt %.1f .. %.1f µs, seq rd qdN %.0f .. %.0f MiB/s; features "
		       "0x%" PRIx64 ", %u segment(s) per %d KiB request\n",
		       s->name, a, b, c, d, s->features, s->segs, size_kib);
	}
	for (unsigned i = 0; i < G_N_ELEMENTS(meaning); i++)
		printf("%s\n", meaning[i]);
}

static GOptionEntry entries[] = {
	{ "quick", 'q', 0, G_OPTION_ARG_NONE, &quick, "3 rounds of a smaller workload (under 10 s)",
	  NULL },
	{ "rounds", 'r', 0, G_OPTION_ARG_INT, &rounds,
	  "rounds of every set-up (default 7, quick 3)", "N" },
	{ "rt-reqs", 0, 0, G_OPTION_ARG_INT, &rt_reqs,
	  "requests per 4 KiB random-read workload (default 3000, quick 500)", "N" },
	{ "qd", 0, 0, G_OPTION_ARG_INT, &qd, "the deep queue depth (default 16)", "N" },
	{ "size", 0, 0, G_OPTION_ARG_INT, &size_kib, "sequential request size in KiB (default 64)",
	  "KIB" },
	{ "tput-mib", 0, 0, G_OPTION_ARG_INT, &tput_mib,
	  "MiB per sequential workload (default 128, quick 32)", "MIB" },
	{ "xvdm", 0, 0, G_OPTION_ARG_FILENAME, &opt_xvdm, "xvdm binary", "PATH" },
	{ "libxensim", 0, 0, G_OPTION_ARG_FILENAME, &opt_lib, "libxensim.so", "PATH" },
	{ "vhub-blk", 0, 0, G_OPTION_ARG_FILENAME, &opt_vhub, "tests/backends/vhub-blk", "PATH" },
	{ "nulldm", 0, 0, G_OPTION_ARG_FILENAME, &opt_nulldm, "tests/bench/bench-nulldm", "PATH" },
	{ NULL },
};

static void parse_args(int *argc, char ***argv)
{
	GOptionContext *ctx = g_option_context_new(
		"- xvdm's blk relay and copy costs under the simulated hypervisor, as ratios");
	GError *err = NULL;

	g_option_context_add_main_entries(ctx, entries, NULL);
	if (!g_option_context_parse(ctx, argc, argv, &err)) {
		fprintf(stderr, "bench-blk: %s\n", err->message);
		exit(2);
	}
	g_option_context_free(ctx);
	rounds = rounds >= 0 ? rounds : quick ? 3 : 7;
	rt_reqs = rt_reqs >= 0 ? rt_reqs : quick ? 500 : 3000;
	tput_mib = tput_mib >= 0 ? tput_mib : quick ? 32 : 128;
	if (rounds < 1 || rounds > MAX_ROUNDS || rt_reqs < 1 || qd < 1 || qd > MAX_QD ||
	    size_kib < 4 || size_kib > 1024 || size_kib % 4 || tput_mib < 1 ||
	    (int64_t)tput_mib * 1024 < size_kib) {
		fprintf(stderr,
			"bench-blk: --rounds 1..%d, --qd 1..%d, --size 4..1024 (KiB, a "
			"multiple of 4), --rt-reqs and --tput-mib at least 1\n",
			MAX_ROUNDS, MAX_QD);
		exit(2);
	}
	opt_xvdm = opt_xvdm ? opt_xvdm : g_strdup(BENCH_XVDM);
	opt_lib = opt_lib ? opt_lib : g_strdup(BENCH_LIBXENSIM);
	opt_vhub = opt_vhub ? opt_vhub : g_strdup(BENCH_VHUB_BLK);
	opt_nulldm = opt_nulldm ? opt_nulldm : g_strdup(BENCH_NULLDM);
}

/*
 * One round: workload by workload, every set-up in turn, the first one rotating from round
 * to round; then the copy bandwidth.
 */
static void run_round(int r, int rt_n, int seq_n)
{
	for (int w = 0; w < NW; w++) {
		for (int j = 0; j < NSETUPS; j++) {
			struct setup *s = &setups[(j + r) % NSETUPS];

			if (!s->on)
				continue;
			int nreq = work[w].random ? rt_n : seq_n;
			uint64_t irq0 = s->b.v.interrupts + s->null_irqs;

			s->mibs[w][r] = run_work(s, &work[w], nreq, w == W_RR1 ? &s->rt[r] : NULL);
			s->irqs[w][r] = (double)(s->b.v.interrupts + s->null_irqs - irq0) / nreq;
		}
	}
	copy_gibs[r] = run_copy();
}

int main(int argc, char **argv)
{
	struct hv_dom_cfg cfg = { .nr_vcpus = 1, .arch = HV_ARCH_ARM, .host_mem = GUEST_MEM };
	const char *args[2 + 2 * NSETUPS + 1] = { "--domid", "1" };
	char *sim_argv[] = { argv[0], NULL, NULL, NULL };
	char specs[NSETUPS][512], load0[48], load1[48];
	uint64_t busy0, total0, busy1, total1, ours0, ours1;
	uint32_t len;
	unsigned nargs = 2, nwin = 0;
	bool have_qsd;
	int seq_n, done_rounds = 0;
	double t0, t1, budget;

	parse_args(&argc, &argv);
	len = (uint32_t)size_kib << 10;
	seq_n = (int)(((uint64_t)tput_mib << 20) / len);
	/* The watchdog ends a run that would take far longer than planned (host overload). */
	budget = quick ? 15 : 90;
	sim_argv[1] = opt_xvdm;
	sim_argv[2] = opt_lib;
	sim_init(&sim, "bench-blk", 3, sim_argv, quick ? 90 : 400);
	sim_blk_require(&sim, false);
	SIM_CHECK(&sim, opt_vhub[0] && !access(opt_vhub, X_OK), "vhub-blk not found (%s)",
		  opt_vhub[0] ? opt_vhub : "no path; --vhub-blk PATH");
	SIM_CHECK(&sim, opt_nulldm[0] && !access(opt_nulldm, X_OK), "bench-nulldm not found (%s)",
		  opt_nulldm[0] ? opt_nulldm : "no path; --nulldm PATH");
	have_qsd = !access(SIM_QSD, X_OK);
	if (!have_qsd)
		sim_note("%s not installed: the qsd set-ups are left out", SIM_QSD);
	SIM_CHECK(&sim, (uint64_t)disk_mib << 20 >= 2 * (uint64_t)len, "--size too large");
	dummy_kick = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	SIM_CHECK(&sim, dummy_kick >= 0, "eventfd: %s", strerror(errno));

	dom = hv_dom_create(sim.hv, DOMID, &cfg);
	SIM_CHECK(&sim, dom, "hv_dom_create");
	rd_buf = gd_alloc(dom, (size_t)qd * len, 4096);
	wr_buf = gd_alloc(dom, (size_t)qd * len, 4096);
	SIM_CHECK(&sim, rd_buf && wr_buf, "guest RAM for the buffers");
	for (int k = 0; k < qd; k++)
		blk_pattern(gd_ram(dom, wr_buf + (uint64_t)k * len, len), len, 0x5a, (uint32_t)k);

	/* Back-ends first, then one xvdm serving every xvdm set-up (one vCPU drives them). */
	for (int i = 0; i < NSETUPS; i++) {
		struct setup *s = &setups[i];

		s->on = have_qsd || s->be != BE_QSD;
		if (!s->on)
			continue;
		start_backend(s, (unsigned)i);
		if (!s->mem && !s->null_exits)
			continue;
		s->mmio = hv_host_mmio_base() + nwin * WIN;
		s->irq = IRQ0 + nwin++;
		if (!s->mem)
			continue;
		snprintf(specs[i], sizeof(specs[i]),
			 "vhost-user-blk,transport=mmio,base=0x%" PRIx64 ",irq=%u,socket=%s,mem=%s",
			 s->mmio, s->irq, sock_of((unsigned)i), s->mem);
		args[nargs++] = "--device";
		args[nargs++] = specs[i];
	}
	args[nargs] = NULL;
	sim_spawn(&sim, args);
	for (int i = 0; i < NSETUPS; i++) {
		struct setup *s = &setups[i];

		if (!s->on)
			continue;
		if (s->mem) {
			sim_wait_served(&sim, dom, s->mmio, 10000);
			probe_xvdm(s);
		} else {
			attach_direct(s, (unsigned)i);
			if (s->null_exits)
				attach_null_exits(s);
		}
		s->segs = seq_segments(s);
	}
	dummy_us = measure_dummy_kick();

	/* A short warm-up round, not counted: page cache, first-touch faults, mappings. */
	run_round(0, 100, qd * 4);
	loadavg(load0, sizeof(load0));
	host_ticks(&busy0, &total0);
	ours0 = our_ticks();
	t0 = bench_now_s();
	for (int r = 0; r < rounds; r++) {
		run_round(r, rt_reqs, seq_n);
		done_rounds = r + 1;
		if (bench_now_s() - t0 > budget && r + 1 < rounds) {
			sim_note("time budget of %.0f s spent: %d of %d rounds", budget, r + 1,
				 rounds);
			break;
		}
	}
	t1 = bench_now_s();
	host_ticks(&busy1, &total1);
	ours1 = our_ticks();
	loadavg(load1, sizeof(load1));

	for (int i = 0; i < NSETUPS; i++) {
		if (setups[i].on) {
			if (setups[i].null_exits)
				sim_aux_stop(&sim, setups[i].nulldm, SIGTERM, 5000);
			vblk_remove(&setups[i].b);
			if (!setups[i].mem)
				vufe_close(&setups[i].f);
		}
	}
	{
		int st = sim_terminate(&sim, 5000);

		SIM_CHECK(&sim, WIFEXITED(st) && WEXITSTATUS(st) == 0, "xvdm after SIGTERM: %s",
			  sim_status_str(st));
	}
	for (int i = 0; i < NSETUPS; i++) {
		if (setups[i].on)
			sim_aux_stop(&sim, setups[i].pid, SIGTERM, 5000);
	}
	{
		double tot = total1 > total0 ? (double)(total1 - total0) : 1;
		double busy = (double)(busy1 - busy0) / tot;
		double others = ((double)(busy1 - busy0) - (double)(ours1 - ours0)) / tot;

		report(done_rounds, t1 - t0, busy, others < 0 ? 0 : others, load0, load1);
	}
	sim_pass(&sim);
}
