/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bench-relay: what xvdm adds to one ioreq and to one notification, and what it weighs,
 * under the simulated hypervisor (tests/xensim), measured side by side in one run
 * (DESIGN.md §5, docs/performance.md). Nothing is asserted about time.
 *
 * One domain, one vCPU (the test's thread). Beside xvdm, `bench-nulldm` (the baseline) is a
 * null ioreq server on the same simulated hypervisor: the least any device model must do.
 *   ioreq   a 4-byte MMIO read: xvdm's virtio-mmio rng (MagicValue) vs the null server
 *   kick    QueueNotify write -> the back-end's kick eventfd readable (a thread of ours
 *           blocked in poll() on it): xvdm's vhost-user-blk (mem=xen-mmap, a fake
 *           back-end, tests/support/fake-backend.c) vs the null server writing the eventfd
 *   call    the back-end's call eventfd written -> the SPI raised, as the simulator sees
 *           it (gd_irq_wait): xvdm vs the null server; then InterruptStatus/ACK lower it
 *   hop     a bare eventfd write -> the same kind of polling thread woken: the hop every
 *           relay is made of, printed for scale
 * Each pair is interleaved request by request (x n x n ..., which goes first swapped every
 * round); each ratio is taken within a round and the median over rounds printed.
 * Then, if valgrind is installed, a second xvdm runs under callgrind (collection toggled on
 * g_main_loop_run: start-up and teardown excluded) for N ioreqs: instructions per ioreq.
 * Then footprint and start-up: xvdm serving 1 and 8 virtio-mmio rng devices (no back-end
 * to wait for), from exec to READY=1 on $NOTIFY_SOCKET, VmRSS and Pss once ready.
 *
 * Placement (unless --no-pin, and with 2 CPUs or more): both device models (xvdm and the
 * null server, every thread) run on one CPU and the guest side (the vCPU thread, the
 * simulated hypervisor, the back-end's waiters) on another, as on Xen, where a guest's
 * vCPU never waits for a dom0 CPU. Left to the scheduler, a wake-up is often placed on the
 * waker's CPU (wake-affine) and waits until the device model has gone back to sleep: a
 * relay then measures the device model's whole loop after its eventfd write, not the
 * write, and xvdm's GLib loop is longer than the null server's few lines (on an idle
 * 2-CPU host, kick 1.34-1.42x unpinned against 1.06-1.16x pinned). Both device models
 * get the same placement either way.
 *
 * bench-relay [--quick] [--rounds N] [--reqs N] [--no-callgrind] [--no-pin] ... (--help)
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <glib.h>
#include <linux/virtio_mmio.h>

#include "tests/support/fake-backend.h"
#include "tests/bench/bench-stats.h"
#include "tests/xensim/guest.h"
#include "tests/xensim/sim.h"
#include "tests/xensim/vdrv.h"

#ifndef BENCH_XVDM
#define BENCH_XVDM ""
#endif
#ifndef BENCH_LIBXENSIM
#define BENCH_LIBXENSIM ""
#endif
#ifndef BENCH_NULLDM
#define BENCH_NULLDM ""
#endif

#define DOMID	   1
#define DOMID_FP   2 /* the footprint runs */
#define GUEST_MEM  (64u << 20)
#define WIN	   0x200u
#define IRQ_RNG	   33
#define IRQ_BLK	   34
#define IRQ_NULL   35
#define IRQ_CG	   36
#define MAX_ROUNDS 64
#define TIMEOUT_MS 5000
#define MAGIC	   0x74726976u
#define PF(bit)	   (1ULL << (bit))

enum {
	M_IOREQ_X,
	M_IOREQ_N,
	M_KICK_X,
	M_KICK_N,
	M_CALL_X,
	M_CALL_N,
	M_HOP,
	M_N
};
static const char *const mname[M_N] = {
	"ioreq: MMIO read, xvdm (rng)",
	"ioreq: MMIO read, null server",
	"kick: xvdm (vhost-user-blk)",
	"kick: null server",
	"call: xvdm (vhost-user-blk)",
	"call: null server",
	"bare eventfd hop",
};

static int rounds = -1, reqs = -1, cg_reqs = -1;
static gboolean quick, no_callgrind, no_pin;
static char placement[200] = "the scheduler's (--no-pin)";
static char *opt_xvdm, *opt_lib, *opt_nulldm, *opt_smaps, *opt_cg_keep;

static struct sim sim;
static struct xs_dom *dom, *dom_fp;
static double res[M_N][MAX_ROUNDS]; /* median µs per round */

/* --- a thread standing for a back-end: blocked in poll() on an eventfd --- */

struct waiter {
	int fd;
	int stop_fd;
	GThread *thread;
	GMutex lock;
	GCond cond;
	uint64_t seq;
	double t1; /* when poll() returned, for wake-up `seq` */
};

static gpointer waiter_main(gpointer data)
{
	struct waiter *w = data;

	for (;;) {
		struct pollfd p[2] = { { w->fd, POLLIN, 0 }, { w->stop_fd, POLLIN, 0 } };
		uint64_t n;
		double t;

		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		t = bench_now_s();
		if (p[1].revents)
			break;
		if (!(p[0].revents & POLLIN) || read(w->fd, &n, sizeof(n)) != sizeof(n))
			continue;
		g_mutex_lock(&w->lock);
		w->t1 = t;
		w->seq++;
		g_cond_broadcast(&w->cond);
		g_mutex_unlock(&w->lock);
	}
	return NULL;
}

static void waiter_start(struct waiter *w, int fd, int stop_fd)
{
	w->fd = fd;
	w->stop_fd = stop_fd;
	g_mutex_init(&w->lock);
	g_cond_init(&w->cond);
	w->thread = g_thread_new("waiter", waiter_main, w);
}

/* The time of the wake-up after `seq`, or fail. */
static double waiter_wait(struct waiter *w, uint64_t seq, const char *what)
{
	gint64 deadline = g_get_monotonic_time() + TIMEOUT_MS * 1000;
	double t;

	g_mutex_lock(&w->lock);
	while (w->seq == seq) {
		if (!g_cond_wait_until(&w->cond, &w->lock, deadline)) {
			g_mutex_unlock(&w->lock);
			sim_fail(&sim, "%s: no eventfd in %d ms", what, TIMEOUT_MS);
		}
	}
	t = w->t1;
	g_mutex_unlock(&w->lock);
	return t;
}

static uint64_t waiter_seq(struct waiter *w)
{
	uint64_t s;

	g_mutex_lock(&w->lock);
	s = w->seq;
	g_mutex_unlock(&w->lock);
	return s;
}

/* --- placement --- */

/* Every thread of process pid (0: this one) on CPU cpu; false if one could not be moved. */
static bool pin_process(pid_t pid, int cpu)
{
	char dir[64];
	cpu_set_t set;
	GDir *d;
	const char *t;
	bool ok = true;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	snprintf(dir, sizeof(dir), "/proc/%d/task", pid ? (int)pid : (int)getpid());
	d = g_dir_open(dir, 0, NULL);
	if (!d)
		return false;
	while ((t = g_dir_read_name(d)))
		ok &= sched_setaffinity((pid_t)atoi(t), sizeof(set), &set) == 0;
	g_dir_close(d);
	return ok;
}

/* The device models on the first CPU we may use, the guest side on the second. */
static void place(pid_t xvdm, pid_t nulldm)
{
	cpu_set_t mine;
	int cpus[2], n = 0;

	if (no_pin || sched_getaffinity(0, sizeof(mine), &mine) < 0)
		return;
	for (int c = 0; c < CPU_SETSIZE && n < 2; c++)
		if (CPU_ISSET(c, &mine))
			cpus[n++] = c;
	if (n < 2) {
		snprintf(placement, sizeof(placement), "the scheduler's (one CPU)");
		return;
	}
	if (pin_process(0, cpus[1]) && pin_process(xvdm, cpus[0]) && pin_process(nulldm, cpus[0]))
		snprintf(placement, sizeof(placement),
			 "device models on CPU %d, the guest side (vCPU, hypervisor, back-end "
			 "waiters) on CPU %d",
			 cpus[0], cpus[1]);
	else
		snprintf(placement, sizeof(placement), "the scheduler's (pinning failed: %s)",
			 strerror(errno));
}

/* --- the set-ups --- */

static uint64_t rng_base, blk_base, null_base;
static struct waiter w_kick_x, w_kick_n, w_hop;
static int fb_call = -1, null_call = -1, hop_fd = -1;

static double ioreq_once(uint64_t addr, const char *what)
{
	uint64_t v = 0;
	double t0 = bench_now_s(), t1;
	int r = gd_mmio_read(dom, 0, addr, 4, &v);

	t1 = bench_now_s();
	SIM_CHECK(&sim, !r && v == MAGIC, "%s: read: %s, 0x%" PRIx64, what, strerror(-r), v);
	return (t1 - t0) * 1e6;
}

static double kick_once(uint64_t base, struct waiter *w, const char *what)
{
	uint64_t seq = waiter_seq(w);
	double t0 = bench_now_s(), t1;
	int r = gd_mmio_write(dom, 0, base + VIRTIO_MMIO_QUEUE_NOTIFY, 4, 0);

	SIM_CHECK(&sim, !r, "%s: QueueNotify: %s", what, strerror(-r));
	t1 = waiter_wait(w, seq, what);
	return (t1 - t0) * 1e6;
}

static double hop_once(void)
{
	uint64_t seq = waiter_seq(&w_hop), one = 1;
	double t0 = bench_now_s();

	SIM_CHECK(&sim, write(hop_fd, &one, sizeof(one)) == sizeof(one), "hop: %s",
		  strerror(errno));
	return (waiter_wait(&w_hop, seq, "hop") - t0) * 1e6;
}

/* The back-end's call -> the SPI's rising edge; then the driver's ISR read and ACK. */
static double call_once(int call_fd, uint64_t base, unsigned irq, const char *what)
{
	uint64_t edges = gd_irq_edges(dom, irq), one = 1, isr = 0;
	double t0 = bench_now_s(), t1;
	int r;

	SIM_CHECK(&sim, write(call_fd, &one, sizeof(one)) == sizeof(one), "%s: %s", what,
		  strerror(errno));
	r = gd_irq_wait(dom, irq, &edges, TIMEOUT_MS);
	t1 = bench_now_s();
	SIM_CHECK(&sim, !r, "%s: no interrupt in %d ms", what, TIMEOUT_MS);
	r = gd_mmio_read(dom, 0, base + VIRTIO_MMIO_INTERRUPT_STATUS, 4, &isr);
	SIM_CHECK(&sim, !r, "%s: InterruptStatus: %s", what, strerror(-r));
	r = gd_mmio_write(dom, 0, base + VIRTIO_MMIO_INTERRUPT_ACK, 4, isr ? isr : 1);
	SIM_CHECK(&sim, !r, "%s: InterruptACK: %s", what, strerror(-r));
	SIM_CHECK(&sim, gd_irq_level(dom, irq) == 0, "%s: the line stays high after the ACK", what);
	return (t1 - t0) * 1e6;
}

static double measure_once(int m)
{
	switch (m) {
	case M_IOREQ_X:
		return ioreq_once(rng_base, mname[m]);
	case M_IOREQ_N:
		return ioreq_once(null_base, mname[m]);
	case M_KICK_X:
		return kick_once(blk_base, &w_kick_x, mname[m]);
	case M_KICK_N:
		return kick_once(null_base, &w_kick_n, mname[m]);
	case M_CALL_X:
		return call_once(fb_call, blk_base, IRQ_BLK, mname[m]);
	case M_CALL_N:
		return call_once(null_call, null_base, IRQ_NULL, mname[m]);
	default:
		return hop_once();
	}
}

/*
 * One round: each pair (xvdm, null server) interleaved request by request (x n x n ..., the
 * first of each pair swapped every round), so that both see the same moment of the host;
 * then the bare hop. res[][r] is the median of each.
 */
static void run_round(int r, int n)
{
	double *a = g_new(double, n), *b = g_new(double, n);

	for (int m = M_IOREQ_X; m < M_HOP; m += 2) {
		for (int k = 0; k < n; k++) {
			if ((k + r) % 2) {
				a[k] = measure_once(m);
				b[k] = measure_once(m + 1);
			} else {
				b[k] = measure_once(m + 1);
				a[k] = measure_once(m);
			}
		}
		res[m][r] = bench_median_inplace(a, n);
		res[m + 1][r] = bench_median_inplace(b, n);
	}
	for (int k = 0; k < n; k++)
		a[k] = measure_once(M_HOP);
	res[M_HOP][r] = bench_median_inplace(a, n);
	g_free(a);
	g_free(b);
}

/* --- callgrind: instructions per ioreq --- */

static uint64_t annotate_ir(const char *file, const char *fn, bool *found)
{
	g_autofree char *cmd = g_strdup_printf("callgrind_annotate --inclusive=yes %s", file);
	g_autofree char *out = NULL;
	gchar **lines;
	uint64_t v = 0;

	*found = false;
	if (!g_spawn_command_line_sync(cmd, &out, NULL, NULL, NULL) || !out)
		return 0;
	lines = g_strsplit(out, "\n", -1);
	for (gchar **l = lines; *l; l++) {
		char num[64];
		unsigned j = 0;
		const char *p = *l;

		if (fn ? !strstr(p, fn) : !strstr(p, "PROGRAM TOTALS"))
			continue;
		if (fn) {
			/* "1,234 (12.3%)  file:function [obj]": the function name must match */
			const char *colon = strrchr(p, ':');

			if (!colon || strncmp(colon + 1, fn, strlen(fn)) ||
			    (colon[1 + strlen(fn)] != ' ' && colon[1 + strlen(fn)] != '\0'))
				continue;
		}
		while (*p == ' ')
			p++;
		while (*p && (g_ascii_isdigit(*p) || *p == ',') && j + 1 < sizeof(num)) {
			if (*p != ',')
				num[j++] = *p;
			p++;
		}
		num[j] = 0;
		if (j) {
			v = g_ascii_strtoull(num, NULL, 10);
			*found = true;
			break;
		}
	}
	g_strfreev(lines);
	return v;
}

static void run_callgrind(void)
{
	const char *vg = "/usr/bin/valgrind";
	const char *out = sim_path(&sim, "callgrind.out");
	uint64_t base = null_base + WIN;
	char spec[160], outarg[128];
	pid_t pid;
	int st;
	uint64_t total, disp, pend, unm, notif;
	bool f1, f2, f3, f4, f5;

	if (no_callgrind)
		return;
	if (getenv("XENSIM_ASAN_RUNTIME")) {
		/* valgrind cannot run an ASan binary (its shadow memory mapping fails) */
		printf("\ninstructions per ioreq: not measured in a -Dsanitize build (valgrind and "
		       "ASan exclude each other)\n");
		return;
	}
	if (access(vg, X_OK) || access("/usr/bin/callgrind_annotate", X_OK)) {
		printf("\ninstructions per ioreq: valgrind not installed (apt-get install "
		       "valgrind), "
		       "not measured\n");
		return;
	}
	snprintf(spec, sizeof(spec), "rng,transport=mmio,base=0x%" PRIx64 ",irq=%u", base, IRQ_CG);
	snprintf(outarg, sizeof(outarg), "--callgrind-out-file=%s", out);
	pid = sim_spawn_aux(&sim,
			    (const char *const[]){ vg, "-q", "--tool=callgrind",
						   "--toggle-collect=g_main_loop_run", outarg,
						   opt_xvdm, "--domid", "1", "--device", spec,
						   NULL },
			    true);
	sim_wait_served(&sim, dom, base, 60000);
	for (int k = 0; k < cg_reqs; k++) {
		uint64_t v = 0;
		int r = gd_mmio_read(dom, 0, base, 4, &v);

		SIM_CHECK(&sim, !r && v == MAGIC, "callgrind xvdm: read: %s", strerror(-r));
	}
	st = sim_aux_stop(&sim, pid, SIGTERM, 30000);
	SIM_CHECK(&sim, WIFEXITED(st) && WEXITSTATUS(st) == 0, "xvdm under callgrind: %s",
		  sim_status_str(st));
	if (opt_cg_keep) {
		g_autofree char *text = NULL;
		gsize len = 0;

		if (g_file_get_contents(out, &text, &len, NULL))
			g_file_set_contents(opt_cg_keep, text, (gssize)len, NULL);
	}
	total = annotate_ir(out, NULL, &f1);
	disp = annotate_ir(out, "xh_ioreq_server_dispatch", &f2);
	pend = annotate_ir(out, "xenevtchn_pending", &f3);
	unm = annotate_ir(out, "xenevtchn_unmask", &f4);
	notif = annotate_ir(out, "xenevtchn_notify", &f5);
	if (!f1) {
		printf("\ninstructions per ioreq: callgrind_annotate gave no totals\n");
		return;
	}
	printf("\ninstructions per ioreq (callgrind, %d MMIO reads of a second xvdm's rng, "
	       "collected inside g_main_loop_run):\n",
	       cg_reqs);
	printf("  xvdm's event loop, all of it (GLib, libc, libxensim): %.0f\n",
	       (double)total / cg_reqs);
	if (f2)
		printf("  of which xh_ioreq_server_dispatch, inclusive:       %.0f\n",
		       (double)disp / cg_reqs);
	if (f3 || f4 || f5)
		printf("  of which the simulated event channel (libxensim's pending + unmask + "
		       "notify; on Xen a read, a write and an ioctl on /dev/xen/evtchn): %.0f\n",
		       (double)(pend + unm + notif) / cg_reqs);
}

/* --- footprint and start-up --- */

struct fp {
	double ready_ms[MAX_ROUNDS];
	double rss_kib[MAX_ROUNDS];
	double pss_kib[MAX_ROUNDS];
	double anon_kib[MAX_ROUNDS], file_kib[MAX_ROUNDS];
};

static double proc_kib(pid_t pid, const char *file, const char *key)
{
	g_autofree char *path = g_strdup_printf("/proc/%d/%s", (int)pid, file), *text = NULL;
	const char *p;

	if (!g_file_get_contents(path, &text, NULL, NULL) || !(p = strstr(text, key)))
		return NAN;
	return g_ascii_strtod(p + strlen(key), NULL);
}

#define FP_VHU 4 /* vhost-user-blk devices of the mixed set */
static struct fake_backend *fp_fb[FP_VHU];

/*
 * xvdm with ndev devices: rng, or with `mixed` the last FP_VHU of 8 are vhost-user-blk
 * (shadow mode, 4 MiB shadow area each) whose fake back-ends listen already, so their
 * connect time is a unix-socket connect and the handshake.
 */
static void fp_once(struct fp *f, int r, unsigned ndev, bool mixed, int nfd, const char *nsock)
{
	const char *argv[4 + 2 * 8 + 1] = { opt_xvdm, "--domid", G_STRINGIFY(DOMID_FP) };
	char specs[8][256], buf[64];
	unsigned n = 3, nrng = mixed ? ndev - FP_VHU : ndev;
	double t0, t1;
	pid_t pid;
	ssize_t len;

	for (unsigned i = 0; i < ndev; i++) {
		if (i < nrng)
			snprintf(specs[i], sizeof(specs[i]),
				 "rng,transport=mmio,base=0x%" PRIx64 ",irq=%u",
				 hv_host_mmio_base() + i * WIN, 40 + i);
		else
			snprintf(specs[i], sizeof(specs[i]),
				 "vhost-user-blk,transport=mmio,base=0x%" PRIx64
				 ",irq=%u,socket=%s,mem=shadow",
				 hv_host_mmio_base() + i * WIN, 40 + i, fp_fb[i - nrng]->path);
		argv[n++] = "--device";
		argv[n++] = specs[i];
	}
	argv[n] = NULL;
	while (recv(nfd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
	setenv("NOTIFY_SOCKET", nsock, 1);
	t0 = bench_now_s();
	pid = sim_spawn_aux(&sim, argv, true);
	unsetenv("NOTIFY_SOCKET");
	for (;;) {
		struct pollfd p = { nfd, POLLIN, 0 };

		SIM_CHECK(&sim, poll(&p, 1, 10000) == 1,
			  "xvdm with %u device(s): no READY=1 in 10 s", ndev);
		len = recv(nfd, buf, sizeof(buf) - 1, 0);
		t1 = bench_now_s();
		SIM_CHECK(&sim, len > 0, "notify socket: %s", strerror(errno));
		buf[len] = 0;
		if (strstr(buf, "READY=1"))
			break;
	}
	/* every device answers once before the footprint is read */
	for (unsigned i = 0; i < ndev; i++) {
		uint64_t v = 0;
		int ret = gd_mmio_read(dom_fp, 0, hv_host_mmio_base() + i * WIN, 4, &v);

		SIM_CHECK(&sim, !ret && v == MAGIC, "footprint xvdm: device %u: %s", i,
			  strerror(-ret));
	}
	f->ready_ms[r] = (t1 - t0) * 1e3;
	f->rss_kib[r] = proc_kib(pid, "status", "VmRSS:");
	f->pss_kib[r] = proc_kib(pid, "smaps_rollup", "Pss:");
	f->anon_kib[r] = proc_kib(pid, "status", "RssAnon:");
	f->file_kib[r] = proc_kib(pid, "status", "RssFile:");
	if (opt_smaps) {
		g_autofree char *path = g_strdup_printf("/proc/%d/smaps", (int)pid), *text = NULL;
		g_autofree char *out =
			g_strdup_printf("%s.%u%s", opt_smaps, ndev, mixed ? "-mixed" : "");

		if (g_file_get_contents(path, &text, NULL, NULL))
			g_file_set_contents(out, text, -1, NULL);
	}
	{
		int st = sim_aux_stop(&sim, pid, SIGTERM, 5000);

		SIM_CHECK(&sim, WIFEXITED(st) && WEXITSTATUS(st) == 0, "footprint xvdm: %s",
			  sim_status_str(st));
	}
}

static void run_footprint(int nrounds)
{
	struct hv_dom_cfg cfg = { .nr_vcpus = 1, .arch = HV_ARCH_ARM, .host_mem = GUEST_MEM };
	const char *nsock = sim_path(&sim, "notify.sock");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	static struct fp f[3];
	static const char *const label[3] = { "1 rng", "8 rng", "4 rng + 4 vhost-user-blk" };
	int nfd;

	dom_fp = hv_dom_create(sim.hv, DOMID_FP, &cfg);
	SIM_CHECK(&sim, dom_fp, "hv_dom_create");
	for (unsigned i = 0; i < FP_VHU; i++) {
		char name[32];

		snprintf(name, sizeof(name), "fp%u.sock", i);
		/* what qemu-storage-daemon offers (FACTS 32), 1 MiB of capacity */
		fp_fb[i] = fake_backend_new(sim_path(&sim, name), 0x175007e46ULL, 0x8f2bULL);
		fp_fb[i]->config[1] = 0x08;
	}
	nfd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	SIM_CHECK(&sim, nfd >= 0 && strlen(nsock) < sizeof(sa.sun_path), "notify socket");
	strcpy(sa.sun_path, nsock);
	SIM_CHECK(&sim, bind(nfd, (struct sockaddr *)&sa, sizeof(sa)) == 0, "bind %s: %s", nsock,
		  strerror(errno));
	for (int r = 0; r < nrounds; r++) {
		for (int k = 0; k < 3; k++) {
			int c = (k + r) % 3;

			fp_once(&f[c], r, c ? 8 : 1, c == 2, nfd, nsock);
		}
	}
	close(nfd);
	for (unsigned i = 0; i < FP_VHU; i++)
		fake_backend_free(fp_fb[i]);
	printf("\nfootprint and start-up (xvdm --domid %d, virtio-mmio devices; the vhost-user-blk "
	       "ones in shadow mode to fake back-ends already listening; %d runs each, "
	       "medians):\n",
	       DOMID_FP, nrounds);
	printf("  %-26s | exec -> READY=1 ms | VmRSS KiB | of which anon | file | Pss KiB\n",
	       "devices");
	for (int k = 0; k < 3; k++) {
		printf("  %-26s | %18.1f | %9.0f | %13.0f | %4.0f | %7.0f\n", label[k],
		       bench_median(f[k].ready_ms, nrounds), bench_median(f[k].rss_kib, nrounds),
		       bench_median(f[k].anon_kib, nrounds), bench_median(f[k].file_kib, nrounds),
		       bench_median(f[k].pss_kib, nrounds));
	}
	printf("  targets: VmRSS <= 4096 KiB with 8 devices, READY <= 20 ms (the time includes "
	       "fork and exec, and libxensim's connection to the simulator; for the mixed set "
	       "also the back-ends' handshakes)\n");
}

/* --- report --- */

static void report(int n, double secs)
{
	static const struct {
		int x, base;
		const char *what, *target;
	} ratios[] = {
		{ M_IOREQ_X, M_IOREQ_N, "ioreq relay: xvdm / null server", "<= 1.2" },
		{ M_KICK_X, M_KICK_N, "kick relay: xvdm / null server", "<= 1.2" },
		{ M_CALL_X, M_CALL_N, "call relay: xvdm / null server", "<= 1.2" },
		{ M_KICK_X, M_HOP, "kick relay: xvdm / bare eventfd hop", "(scale)" },
		{ M_CALL_X, M_HOP, "call relay: xvdm / bare eventfd hop", "(scale)" },
		{ M_IOREQ_N, M_HOP, "null ioreq / bare eventfd hop", "(scale)" },
	};

	printf("\nbench-relay: %d round(s) of %d of each in %.1f s; host: %ld CPUs; placement: "
	       "%s\n",
	       n, reqs, secs, sysconf(_SC_NPROCESSORS_ONLN), placement);
	printf("\n%-34s | median µs | min .. max over rounds\n", "measure");
	for (int m = 0; m < M_N; m++) {
		double lo = res[m][0], hi = res[m][0];

		for (int r = 1; r < n; r++) {
			lo = res[m][r] < lo ? res[m][r] : lo;
			hi = res[m][r] > hi ? res[m][r] : hi;
		}
		printf("%-34s | %9.1f | %.1f .. %.1f\n", mname[m], bench_median(res[m], n), lo, hi);
	}
	printf("\n%-38s | ratio (median of per-round ratios) | target\n", "ratio");
	for (unsigned i = 0; i < G_N_ELEMENTS(ratios); i++) {
		double rr[MAX_ROUNDS];

		for (int r = 0; r < n; r++)
			rr[r] = res[ratios[i].x][r] / res[ratios[i].base][r];
		printf("%-38s | %.2fx | %s\n", ratios[i].what, bench_median_inplace(rr, n),
		       ratios[i].target);
	}
	printf("The null server (bench-nulldm) answers the same ioreq, writes the same kick "
	       "eventfd and\nraises the same SPI on the same simulated hypervisor with nothing "
	       "else: the ratios are\nwhat xvdm adds to the least a relay costs. A relay is two "
	       "hops (guest -> device model ->\nback-end, or back-end -> device model -> "
	       "hypervisor), so against one bare hop it is >= 2x\nby construction.\n");
}

static GOptionEntry entries[] = {
	{ "quick", 'q', 0, G_OPTION_ARG_NONE, &quick, "3 short rounds (a few seconds)", NULL },
	{ "rounds", 'r', 0, G_OPTION_ARG_INT, &rounds, "rounds (default 9, quick 3)", "N" },
	{ "reqs", 0, 0, G_OPTION_ARG_INT, &reqs,
	  "measurements of each kind per round (default 2000, quick 300)", "N" },
	{ "callgrind-reqs", 0, 0, G_OPTION_ARG_INT, &cg_reqs,
	  "ioreqs under callgrind (default 2000, quick 500)", "N" },
	{ "no-callgrind", 0, 0, G_OPTION_ARG_NONE, &no_callgrind, "skip the instruction count",
	  NULL },
	{ "no-pin", 0, 0, G_OPTION_ARG_NONE, &no_pin,
	  "leave placement to the scheduler (default: device models on one CPU, the guest side "
	  "on another)",
	  NULL },
	{ "xvdm", 0, 0, G_OPTION_ARG_FILENAME, &opt_xvdm, "xvdm binary", "PATH" },
	{ "libxensim", 0, 0, G_OPTION_ARG_FILENAME, &opt_lib, "libxensim.so", "PATH" },
	{ "nulldm", 0, 0, G_OPTION_ARG_FILENAME, &opt_nulldm, "bench-nulldm", "PATH" },
	{ "callgrind-keep", 0, 0, G_OPTION_ARG_FILENAME, &opt_cg_keep,
	  "keep callgrind's output in FILE (callgrind_annotate FILE)", "FILE" },
	{ "smaps", 0, 0, G_OPTION_ARG_FILENAME, &opt_smaps,
	  "save /proc/PID/smaps of the footprint runs once ready in FILE.1, FILE.8, FILE.8-mixed",
	  "FILE" },
	{ NULL },
};

static void parse_args(int *argc, char ***argv)
{
	GOptionContext *ctx = g_option_context_new(
		"- xvdm's ioreq and notification relay against a null server, instructions per "
		"ioreq, footprint and start-up, under the simulated hypervisor");
	GError *err = NULL;

	g_option_context_add_main_entries(ctx, entries, NULL);
	if (!g_option_context_parse(ctx, argc, argv, &err)) {
		fprintf(stderr, "bench-relay: %s\n", err->message);
		exit(2);
	}
	g_option_context_free(ctx);
	rounds = rounds >= 0 ? rounds : quick ? 3 : 9;
	reqs = reqs >= 0 ? reqs : quick ? 300 : 2000;
	cg_reqs = cg_reqs >= 0 ? cg_reqs : quick ? 500 : 2000;
	if (rounds < 1 || rounds > MAX_ROUNDS || reqs < 1 || reqs > 1000000 || cg_reqs < 1 ||
	    cg_reqs > 1000000) {
		fprintf(stderr,
			"bench-relay: --rounds 1..%d, --reqs and --callgrind-reqs "
			"1..1000000\n",
			MAX_ROUNDS);
		exit(2);
	}
	opt_xvdm = opt_xvdm ? opt_xvdm : g_strdup(BENCH_XVDM);
	opt_lib = opt_lib ? opt_lib : g_strdup(BENCH_LIBXENSIM);
	opt_nulldm = opt_nulldm ? opt_nulldm : g_strdup(BENCH_NULLDM);
}

int main(int argc, char **argv)
{
	struct hv_dom_cfg cfg = { .nr_vcpus = 1, .arch = HV_ARCH_ARM, .host_mem = GUEST_MEM };
	char *sim_argv[] = { argv[0], NULL, NULL, NULL };
	char rng_spec[160], blk_spec[256], a_base[32], a_size[16], a_irq[16], a_kick[16],
		a_call[16], a_dom[16];
	struct fake_backend *fb;
	struct vdrv v;
	int null_kick, stop_fd, ret, kick_x = -1;
	pid_t nulldm;
	double t0;

	parse_args(&argc, &argv);
	sim_argv[1] = opt_xvdm;
	sim_argv[2] = opt_lib;
	sim_init(&sim, "bench-relay", 3, sim_argv, quick ? 120 : 600);
	SIM_CHECK(&sim, opt_nulldm[0] && !access(opt_nulldm, X_OK), "bench-nulldm not found (%s)",
		  opt_nulldm[0] ? opt_nulldm : "no path; --nulldm PATH");
	if (!sim_has_device(&sim, "vhost-user-blk"))
		sim_skip(&sim, "xvdm has no vhost-user-blk");
	dom = hv_dom_create(sim.hv, DOMID, &cfg);
	SIM_CHECK(&sim, dom, "hv_dom_create");
	rng_base = hv_host_mmio_base();
	blk_base = rng_base + WIN;
	null_base = blk_base + WIN;

	/* the fake back-end: virtio-blk, F_XEN_MMAP, 1 MiB of capacity in its config */
	fb = fake_backend_new(sim_path(&sim, "fb.sock"), PF(32) | PF(30),
			      0x8f2bULL | PF(17) /* XEN_MMAP */);
	fb->config[0] = 0x00;
	fb->config[1] = 0x08; /* capacity 2048 sectors */
	snprintf(rng_spec, sizeof(rng_spec), "rng,transport=mmio,base=0x%" PRIx64 ",irq=%u",
		 rng_base, IRQ_RNG);
	snprintf(blk_spec, sizeof(blk_spec),
		 "vhost-user-blk,transport=mmio,base=0x%" PRIx64 ",irq=%u,socket=%s,mem=xen-mmap",
		 blk_base, IRQ_BLK, sim_path(&sim, "fb.sock"));
	sim_spawn(&sim, (const char *const[]){ "--domid", G_STRINGIFY(DOMID), "--device", rng_spec,
					       "--device", blk_spec, NULL });

	/* the null server, with its own kick and call eventfds (inherited) */
	null_kick = eventfd(0, EFD_NONBLOCK);
	null_call = eventfd(0, EFD_NONBLOCK);
	hop_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	stop_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	SIM_CHECK(&sim, null_kick >= 0 && null_call >= 0 && hop_fd >= 0 && stop_fd >= 0,
		  "eventfd: %s", strerror(errno));
	snprintf(a_dom, sizeof(a_dom), "%d", DOMID);
	snprintf(a_base, sizeof(a_base), "0x%" PRIx64, null_base);
	snprintf(a_size, sizeof(a_size), "0x%x", WIN);
	snprintf(a_irq, sizeof(a_irq), "%d", IRQ_NULL);
	snprintf(a_kick, sizeof(a_kick), "%d", null_kick);
	snprintf(a_call, sizeof(a_call), "%d", null_call);
	nulldm = sim_spawn_aux(&sim,
			       (const char *const[]){ opt_nulldm, a_dom, a_base, a_size, a_irq,
						      a_kick, a_call, NULL },
			       true);
	sim_wait_served(&sim, dom, rng_base, 10000);
	sim_wait_served(&sim, dom, blk_base, 10000);
	sim_wait_served(&sim, dom, null_base, 10000);

	/* the guest's virtio-blk driver brings queue 0 up: xvdm hands the back-end its fds */
	vdrv_init(&v, dom, 0, blk_base, IRQ_BLK);
	ret = vdrv_probe(&v, 2, 0, 1, 64);
	SIM_CHECK(&sim, !ret, "virtio-blk probe: %s", strerror(-ret));
	SIM_CHECK(&sim,
		  fake_backend_wait(fb, 18 /* SET_VRING_ENABLE */, 1, 5000) ||
			  fake_backend_wait(fb, 12 /* SET_VRING_KICK */, 1, 5000),
		  "the back-end got no queue");
	g_mutex_lock(&fb->lock);
	if (fb->kick[0] >= 0)
		kick_x = dup(fb->kick[0]);
	if (fb->call[0] >= 0)
		fb_call = dup(fb->call[0]);
	g_mutex_unlock(&fb->lock);
	SIM_CHECK(&sim, kick_x >= 0 && fb_call >= 0, "the back-end has no kick/call eventfd");

	place(sim.pid, nulldm); /* before the waiters start: they inherit the guest side's CPU */
	waiter_start(&w_kick_x, kick_x, stop_fd);
	waiter_start(&w_kick_n, null_kick, stop_fd);
	waiter_start(&w_hop, hop_fd, stop_fd);

	run_round(0, 50); /* warm-up, not counted */
	t0 = bench_now_s();
	for (int r = 0; r < rounds; r++)
		run_round(r, reqs);
	report(rounds, bench_now_s() - t0);

	run_callgrind();
	run_footprint(quick ? 3 : 7);

	{
		uint64_t one = 1;

		(void)!write(stop_fd, &one, sizeof(one));
		g_thread_join(w_kick_x.thread);
		g_thread_join(w_kick_n.thread);
		g_thread_join(w_hop.thread);
	}
	{
		int st = sim_terminate(&sim, 5000);

		SIM_CHECK(&sim, WIFEXITED(st) && WEXITSTATUS(st) == 0, "xvdm after SIGTERM: %s",
			  sim_status_str(st));
	}
	fake_backend_free(fb);
	sim_pass(&sim);
}
