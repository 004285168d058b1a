/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bench-blk: what xvdm costs a virtio-blk guest under the simulated hypervisor
 * (tests/xensim), measured side by side in one run (DESIGN.md §5, docs/performance.md).
 *
 * One guest driver (tests/xensim/vdrv-blk.h) runs the same workload against four set-ups,
 * each with its own back-end process and its own disk image (tmpfs, filled, never named):
 *   qsd direct        qemu-storage-daemon driven by the test's vhost-user front-end (vufe)
 *                     with guest RAM in a memfd the daemon maps: no xvdm, no ioreq, no copy
 *   xvdm shadow/qsd   the full path: MMIO ioreqs through the simulated hypervisor, xvdm,
 *                     shadow virtqueues (every buffer copied) to qemu-storage-daemon
 *   vhub direct       tests/backends/vhub-blk --no-xen driven by vufe (qsd does not speak
 *                     F_XEN_MMAP, so the zero-copy mode gets a baseline of its own)
 *   xvdm xen-mmap     xvdm in xen-mmap mode to vhub-blk, which maps guest RAM itself
 * (xvdm shadow -> vhub-blk --no-xen is not measured: shadow mode re-frames a request as one
 * readable and one writable run, which virtio 1.x allows, and vhub-blk only serves the
 * header | data | status framing; so the copy cost alone is estimated across back-ends.)
 * Workloads: round trip (queue depth 1, 4 KiB reads) and throughput (reads, then writes, of
 * --size KiB at --qd). Rounds run the set-ups in turn (A B C D A B C D ...) so that they
 * share the host's noise; each ratio is taken within a round and its median printed.
 * Times are printed, never checked; a failed request (status not OK) fails the run.
 *
 * bench-blk [--quick] [--rounds N] ... ; --help lists the options. Exits 77 when xvdm has no
 * vhost-user-blk; without qemu-storage-daemon its two set-ups are left out.
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
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <glib.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>

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

#define DOMID	   1
#define IRQ0	   33
#define QSIZE	   128
#define GUEST_MEM  (256u << 20)
#define MAX_ROUNDS 64
#define MAX_QD	   32
#define TIMEOUT_MS 5000
#define PF(bit)	   (1ULL << (bit))
#define RT_LEN	   4096u
/* Up to num_queues: qemu-storage-daemon 7.2 answers nothing for more than its struct. */
#define CFG_LEN (offsetof(struct virtio_blk_config, num_queues) + 2)

enum backend {
	BE_QSD,
	BE_VHUB_PLAIN, /* vhub-blk --no-xen */
	BE_VHUB_XEN,   /* vhub-blk, F_XEN_MMAP required */
};

struct setup {
	const char *name;
	const char *mem; /* xvdm memory mode, NULL: driven directly by vufe */
	enum backend be;
	int baseline; /* index of its baseline set-up, -1 if it is one */
	/* at run time */
	bool on;
	pid_t pid;
	int image_fd;
	struct vufe f;
	struct vblk b;
	uint64_t mmio;
	unsigned irq;
	uint64_t features;
	unsigned segs; /* data segments of a throughput request */
	double rt[MAX_ROUNDS], rd[MAX_ROUNDS], wr[MAX_ROUNDS]; /* µs, MiB/s, MiB/s */
	double added; /* median µs per round trip over its baseline */
};

static struct setup setups[] = {
	{ "qsd direct (vufe, memfd)", NULL, BE_QSD, -1 },
	{ "xvdm shadow -> qsd", "shadow", BE_QSD, 0 },
	{ "vhub-blk direct (vufe, memfd)", NULL, BE_VHUB_PLAIN, -1 },
	{ "xvdm xen-mmap -> vhub-blk", "xen-mmap", BE_VHUB_XEN, 2 },
};
#define NSETUPS ((int)G_N_ELEMENTS(setups))

/* Parameters (options). */
/* -1: the default of the mode (normal, --quick). */
static int rounds = -1, rt_reqs = -1, tput_mib = -1, qd = 16, size_kib = 256, disk_mib = 64;
static gboolean quick;
static char *opt_xvdm, *opt_lib, *opt_vhub;

static struct sim sim;
static struct xs_dom *dom;
static uint64_t rt_buf, rd_buf, wr_buf; /* guest buffers, shared by every set-up */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(const double *v, int n)
{
	double s[MAX_ROUNDS > 4096 ? MAX_ROUNDS : 4096];

	if (n <= 0)
		return NAN;
	memcpy(s, v, n * sizeof(*v));
	qsort(s, n, sizeof(*s), cmp_double);
	return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

/* Median of a per-request latency array (may be long): sorts it in place. */
static double median_inplace(double *v, int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

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
			(const char *const[]){ opt_vhub, "--socket", sock, "--disk", image,
					       s->be == BE_VHUB_PLAIN ? "--no-xen" : NULL, NULL },
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

/* The baseline: the guest's rings driven through vufe, guest RAM as a plain memfd region. */
static void attach_direct(struct setup *s, unsigned i)
{
	/* What the guest driver asks of a device (vdrv-blk.c), as far as vufe can serve it. */
	uint64_t want = PF(VIRTIO_F_VERSION_1) | PF(VIRTIO_BLK_F_SEG_MAX) |
			PF(VIRTIO_BLK_F_BLK_SIZE) | PF(VIRTIO_BLK_F_FLUSH) |
			PF(VIRTIO_RING_F_EVENT_IDX);
	struct virtio_blk_config cfg = { 0 };
	int ret;

	if ((ret = vufe_connect(&s->f, sock_of(i), 5000)) < 0 ||
	    (ret = vufe_negotiate(&s->f, want, PF(3) | PF(9), 0)) < 0 ||
	    (ret = vufe_get_config(&s->f, 0, &cfg, CFG_LEN)) < 0 ||
	    (ret = vufe_eventfds(&s->f)) < 0 ||
	    (ret = vblk_attach_direct(&s->b, dom, s->f.features, QSIZE, &s->f.kick, &s->f.call,
				      cfg.capacity, cfg.seg_max)) < 0 ||
	    (ret = vufe_set_mem(&s->f, dom, sim.hv, false)) < 0 ||
	    (ret = vufe_start(&s->f, &s->b.v, false)) < 0)
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

/* Queue depth 1, 4 KiB reads spread over the disk: the median round trip in µs. */
static double run_rt(struct setup *s, int n)
{
	double *lat = g_new(double, n), med;
	uint64_t span = ((uint64_t)disk_mib << 20) / RT_LEN;
	struct vblk_req r;
	int ret;

	for (int k = 0; k < n; k++) {
		double t0;

		r = (struct vblk_req){ .type = VIRTIO_BLK_T_IN,
				       .sector = (uint64_t)k * 7919 % span * (RT_LEN / 512),
				       .gpa = rt_buf,
				       .len = RT_LEN,
				       .nseg = 1 };
		t0 = now_s();
		ret = vblk_do(&s->b, &r, TIMEOUT_MS);
		lat[k] = (now_s() - t0) * 1e6;
		SIM_CHECK(&sim, !ret, "%s: read: %s", s->name, strerror(-ret));
		check_done(s, &r);
	}
	med = median_inplace(lat, n);
	g_free(lat);
	return med;
}

/* nreq requests of `len` bytes, qd in flight, sequential over the disk: MiB/s. */
static double run_tput(struct setup *s, uint32_t type, int nreq)
{
	uint32_t len = (uint32_t)size_kib << 10;
	uint64_t nslots = ((uint64_t)disk_mib << 20) / len,
		 buf = type == VIRTIO_BLK_T_IN ? rd_buf : wr_buf;
	struct vblk_req req[MAX_QD], *r;
	int submitted = 0, done = 0, ret;
	double t0 = now_s();

	for (int k = 0; k < qd && submitted < nreq; k++, submitted++) {
		req[k] = (struct vblk_req){ .type = type,
					    .sector = submitted % nslots * (len / 512),
					    .gpa = buf + (uint64_t)k * len,
					    .len = len };
		ret = vblk_submit(&s->b, &req[k]);
		SIM_CHECK(&sim, !ret, "%s: submit: %s", s->name, strerror(-ret));
	}
	while (done < nreq) {
		ret = vblk_complete(&s->b, &r, TIMEOUT_MS);
		SIM_CHECK(&sim, !ret, "%s: %s: %s", s->name,
			  type == VIRTIO_BLK_T_IN ? "read" : "write", strerror(-ret));
		check_done(s, r);
		done++;
		if (submitted < nreq) {
			r->sector = submitted++ % nslots * (len / 512);
			ret = vblk_submit(&s->b, r);
			SIM_CHECK(&sim, !ret, "%s: submit: %s", s->name, strerror(-ret));
		}
	}
	return (double)nreq * len / (1 << 20) / (now_s() - t0);
}

/* Data segments the driver builds for a throughput request (after size_max). */
static unsigned tput_segments(const struct setup *s)
{
	uint32_t len = (uint32_t)size_kib << 10;

	return s->b.size_max && len > s->b.size_max ? (len + s->b.size_max - 1) / s->b.size_max : 1;
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

static void print_row(const char *name, double rt, double rd, double wr, const char *rtr,
		      const char *tpr)
{
	printf("%-29s | %14.1f | %10.0f | %11.0f | %-16s | %s\n", name, rt, rd, wr, rtr, tpr);
}

static const char *const meaning[] = {
	"",
	"What the ratios mean (each taken within a round, median over rounds):",
	"  rt ratio > 1: a request takes that many times the baseline's round trip.",
	"  throughput ratio < 1: that fraction of the baseline's MiB/s.",
	"  xvdm xen-mmap vs vhub-blk direct: the relay cost of xvdm (MMIO exits for",
	"    QueueNotify, InterruptStatus and InterruptACK, kick and call relayed, the",
	"    interrupt injected); no copy.",
	"  xvdm shadow vs qsd direct: the relay cost plus the copy cost of shadow mode",
	"    (every request and its data copied between guest RAM and the shadow area).",
	"Under the simulator an ioreq is a shared-page write plus an eventfd hop to xvdm and",
	"an interrupt is a unix-socket message, not a hypercall and a vGIC injection: absolute",
	"numbers differ from real Xen; the ratios say what xvdm adds on the same host, not what",
	"a guest on Xen sees.",
};

static void report(int done_rounds, double secs, double host_busy, double others_busy,
		   const char *load0, const char *load1)
{
	int n = done_rounds;

	printf("\nbench-blk: %d round(s) in %.1f s; host: %ld CPUs, load average %s at start, "
	       "%s at end;\n"
	       "  CPU busy during the rounds: %.0f%% of the machine, of which %.0f%% by other "
	       "processes than this benchmark's\n",
	       n, secs, sysconf(_SC_NPROCESSORS_ONLN), load0, load1, host_busy * 100,
	       others_busy * 100);
	printf("parameters: round trip = %d x %u KiB reads at queue depth 1; throughput = %d MiB "
	       "in %d KiB requests at queue depth %d, reads then writes; disk images %d MiB on "
	       "tmpfs (page cache), queue size %d\n\n",
	       rt_reqs, RT_LEN >> 10, tput_mib, size_kib, qd, disk_mib, QSIZE);
	printf("%-29s | rt µs (median) | read MiB/s | write MiB/s | rt ratio vs base | throughput "
	       "ratio vs base (read / write)\n",
	       "config");
	for (int i = 0; i < NSETUPS; i++) {
		struct setup *s = &setups[i], *b;
		double rr[MAX_ROUNDS], rdr[MAX_ROUNDS], wrr[MAX_ROUNDS];
		char rtr[32], tpr[48];

		if (!s->on)
			continue;
		if (s->baseline < 0) {
			snprintf(rtr, sizeof(rtr), "(baseline)");
			snprintf(tpr, sizeof(tpr), "(baseline)");
		} else {
			b = &setups[s->baseline];
			for (int r = 0; r < n; r++) {
				rr[r] = s->rt[r] / b->rt[r];
				rdr[r] = s->rd[r] / b->rd[r];
				wrr[r] = s->wr[r] / b->wr[r];
			}
			snprintf(rtr, sizeof(rtr), "%.2fx", median(rr, n));
			snprintf(tpr, sizeof(tpr), "%.2f / %.2f", median(rdr, n), median(wrr, n));
		}
		print_row(s->name, median(s->rt, n), median(s->rd, n), median(s->wr, n), rtr, tpr);
	}
	printf("\nspread across rounds (min .. max):\n");
	for (int i = 0; i < NSETUPS; i++) {
		struct setup *s = &setups[i];
		double a, b, c, d, e, f;

		if (!s->on)
			continue;
		a = min_max(s->rt, n, &b);
		c = min_max(s->rd, n, &d);
		e = min_max(s->wr, n, &f);
		printf("  %-29s rt %.1f .. %.1f µs, read %.0f .. %.0f, write %.0f .. %.0f MiB/s; "
		       "features 0x%" PRIx64 ", %u segment(s) per %d KiB request\n",
		       s->name, a, b, c, d, e, f, s->features, s->segs, size_kib);
	}
	printf("\nadded per 4 KiB round trip (each round's difference, median over rounds):\n");
	for (int i = 0; i < NSETUPS; i++) {
		struct setup *s = &setups[i];
		double d[MAX_ROUNDS];

		if (!s->on || s->baseline < 0)
			continue;
		for (int r = 0; r < n; r++)
			d[r] = s->rt[r] - setups[s->baseline].rt[r];
		s->added = median(d, n);
		printf("  %-29s +%.1f µs vs %s\n", s->name, s->added, setups[s->baseline].name);
	}
	if (setups[1].on && setups[3].on) {
		printf("  shadow mode beyond the relay (copies and whatever else), estimated as\n");
		printf("    (shadow - qsd direct) - (xen-mmap - vhub-blk direct): %+.1f µs\n",
		       setups[1].added - setups[3].added);
		printf("    (across two back-ends: vhub-blk cannot be measured behind shadow "
		       "mode,\n"
		       "    see docs/performance.md)\n");
	}
	for (unsigned i = 0; i < G_N_ELEMENTS(meaning); i++)
		printf("%s\n", meaning[i]);
}

static GOptionEntry entries[] = {
	{ "quick", 'q', 0, G_OPTION_ARG_NONE, &quick, "3 rounds of a smaller workload (under 10 s)",
	  NULL },
	{ "rounds", 'r', 0, G_OPTION_ARG_INT, &rounds,
	  "rounds of every set-up (default 9, quick 3)", "N" },
	{ "rt-reqs", 0, 0, G_OPTION_ARG_INT, &rt_reqs,
	  "4 KiB reads per round trip measurement (default 5000, quick 1000)", "N" },
	{ "qd", 0, 0, G_OPTION_ARG_INT, &qd, "throughput queue depth (default 16)", "N" },
	{ "size", 0, 0, G_OPTION_ARG_INT, &size_kib, "throughput request size in KiB (default 256)",
	  "KIB" },
	{ "tput-mib", 0, 0, G_OPTION_ARG_INT, &tput_mib,
	  "MiB read, and MiB written, per throughput measurement (default 512, quick 128)", "MIB" },
	{ "xvdm", 0, 0, G_OPTION_ARG_FILENAME, &opt_xvdm, "xvdm binary", "PATH" },
	{ "libxensim", 0, 0, G_OPTION_ARG_FILENAME, &opt_lib, "libxensim.so", "PATH" },
	{ "vhub-blk", 0, 0, G_OPTION_ARG_FILENAME, &opt_vhub, "tests/backends/vhub-blk", "PATH" },
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
	rounds = rounds >= 0 ? rounds : quick ? 3 : 9;
	rt_reqs = rt_reqs >= 0 ? rt_reqs : quick ? 1000 : 5000;
	tput_mib = tput_mib >= 0 ? tput_mib : quick ? 128 : 512;
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
}

/* One round: every set-up in turn, each with the three workloads. */
static void run_round(int r, int rt_n, int tput_n)
{
	for (int i = 0; i < NSETUPS; i++) {
		struct setup *s = &setups[i];

		if (!s->on)
			continue;
		s->rt[r] = run_rt(s, rt_n);
		s->rd[r] = run_tput(s, VIRTIO_BLK_T_IN, tput_n);
		s->wr[r] = run_tput(s, VIRTIO_BLK_T_OUT, tput_n);
	}
}

int main(int argc, char **argv)
{
	struct hv_dom_cfg cfg = { .nr_vcpus = 1, .arch = HV_ARCH_ARM, .host_mem = GUEST_MEM };
	const char *args[2 + 2 * NSETUPS + 1] = { "--domid", "1" };
	char *sim_argv[] = { argv[0], NULL, NULL, NULL };
	char specs[NSETUPS][512], load0[48], load1[48];
	uint64_t busy0, total0, busy1, total1, ours0, ours1;
	uint32_t len;
	unsigned nargs = 2, ndev = 0;
	bool have_qsd;
	int tput_n, done_rounds = 0;
	double t0, t1, budget;

	parse_args(&argc, &argv);
	len = (uint32_t)size_kib << 10;
	tput_n = (int)(((uint64_t)tput_mib << 20) / len);
	/* The watchdog ends a run that would take far longer than planned (host overload). */
	budget = quick ? 10 : 60;
	sim_argv[1] = opt_xvdm;
	sim_argv[2] = opt_lib;
	sim_init(&sim, "bench-blk", 3, sim_argv, quick ? 60 : 300);
	sim_blk_require(&sim, false);
	SIM_CHECK(&sim, opt_vhub[0] && !access(opt_vhub, X_OK), "vhub-blk not found (%s)",
		  opt_vhub[0] ? opt_vhub : "no path; --vhub-blk PATH");
	have_qsd = !access(SIM_QSD, X_OK);
	if (!have_qsd)
		sim_note("%s not installed: the qsd set-ups are left out", SIM_QSD);
	SIM_CHECK(&sim, (uint64_t)disk_mib << 20 >= 2 * (uint64_t)len, "--size too large");

	dom = hv_dom_create(sim.hv, DOMID, &cfg);
	SIM_CHECK(&sim, dom, "hv_dom_create");
	rt_buf = gd_alloc(dom, RT_LEN, 4096);
	rd_buf = gd_alloc(dom, (size_t)qd * len, 4096);
	wr_buf = gd_alloc(dom, (size_t)qd * len, 4096);
	SIM_CHECK(&sim, rt_buf && rd_buf && wr_buf, "guest RAM for the buffers");
	for (int k = 0; k < qd; k++)
		blk_pattern(gd_ram(dom, wr_buf + (uint64_t)k * len, len), len, 0x5a, (uint32_t)k);

	/* Back-ends first, then one xvdm serving every xvdm set-up (one vCPU drives them). */
	for (int i = 0; i < NSETUPS; i++) {
		struct setup *s = &setups[i];

		s->on = have_qsd || s->be != BE_QSD;
		if (!s->on)
			continue;
		start_backend(s, (unsigned)i);
		if (!s->mem)
			continue;
		s->mmio = hv_host_mmio_base() + ndev * 0x200;
		s->irq = IRQ0 + ndev++;
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
		}
		s->segs = tput_segments(s);
	}

	/* A short warm-up round, not counted: page cache, first-touch faults, mappings. */
	run_round(0, 100, qd);
	loadavg(load0, sizeof(load0));
	host_ticks(&busy0, &total0);
	ours0 = our_ticks();
	t0 = now_s();
	for (int r = 0; r < rounds; r++) {
		run_round(r, rt_reqs, tput_n);
		done_rounds = r + 1;
		if (now_s() - t0 > budget && r + 1 < rounds) {
			sim_note("time budget of %.0f s spent: %d of %d rounds", budget, r + 1,
				 rounds);
			break;
		}
	}
	t1 = now_s();
	host_ticks(&busy1, &total1);
	ours1 = our_ticks();
	loadavg(load1, sizeof(load1));

	for (int i = 0; i < NSETUPS; i++) {
		if (setups[i].on) {
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
