/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sim-guests: many guests in one xvdm (--watch), as xl brings them and takes them away
 * (issue 6, scope 2). The xenstore writes are libxl's: the domain's nodes, then per
 * device one transaction with the backend and frontend nodes (Xen 4.17 disk=[...] with
 * specification=virtio -> backend/virtio_disk; Xen >= 4.18 virtio=[...] ->
 * backend/virtio); xvdm must answer state 1 with 2 (InitWait) once the range is claimed;
 * the connected guest's backend may be at 4 (Connected); destroy writes online 0 and
 * state 5 in one transaction and waits for 6, removes the device nodes (with libxl's
 * empty-parent cleanup) and the domain's, then the domain dies (@releaseDomain).
 *
 *  1. 20 cycles: create alpha (4.17 layout) and beta (4.18 layout, state 4 before the
 *     destroy), both probe their rng device and read entropy, destroy both. Beside
 *     them, two guests that fail alone: gamma (every 5th cycle), whose slot goes to
 *     [xvdm] default-socket and a back-end socket that does not exist (served: the
 *     device waits for its back-end), and delta (every cycle), whose slot is malformed
 *     (refused: its state stays 1). xvdm's open fds (/proc/PID/fd), mappings
 *     (/proc/PID/maps) and RSS (VmRSS) are measured after each cycle and must stay flat
 *     after a warm-up.
 *     In the first cycle alpha gets a save request (control/shutdown = suspend): xvdm
 *     says it is not supported, and alpha's device stays served.
 *  2. Grants: a Xen >= 4.18 grant_usage=1 slot through default-socket to vhub-blk
 *     (tests/backends, F_XEN_MMAP): served zero copy, ACCESS_PLATFORM offered.
 *  3. Reboot: alpha reads entropy in a thread, without a pause, while beta is destroyed
 *     and created again under the same name with a new domid (xl reboot); beta's new
 *     device works and alpha's reads go on throughout.
 * xvdm stays up throughout and exits 0 on SIGTERM.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <unistd.h>
#include <sys/wait.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_mmio.h>

#include <signal.h>
#include <linux/virtio_config.h>

#include "tests/xensim/sim-blk.h"
#include "tests/xensim/sim.h"
#include "tests/xensim/vdrv.h"

#define DISK_DEVID "51712" /* xvda */
#define BASE	   0x2000000ULL
#define IRQ	   33
#define NVCPUS	   2
#define LIBXL_MS   10000 /* libxl's wait for the backend */
#define CYCLES	   20
#define WARMUP	   5
#define RSS_SLACK  (512 * 1024) /* bytes the late cycles' mean may exceed the early ones' */
/*
 * gamma costs xvdm a bounded wait for its back-end at creation (devices/vhost-user.c,
 * 1 s): it comes every GAMMA_EVERY cycles to keep the test short.
 */
#define GAMMA_EVERY 5

static struct sim sim;

/* One guest as xl sees it. */
struct guest {
	const char *name;
	bool disk;	  /* Xen 4.17 backend/virtio_disk, else 4.18 backend/virtio */
	const char *type; /* 4.18: the "type" node */
	const char *base; /* the "base" node (4.17: decimal, 4.18: hex) */
	int grant;	  /* 4.18: grant_usage */
	uint32_t domid;
	struct xs_dom *d;
	char be[128], fe[128], state[160];
};

static void xs_w(uint32_t tx, const char *dir, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void xs_w(uint32_t tx, const char *dir, const char *key, const char *fmt, ...)
{
	char path[256], *v;
	va_list ap;
	int ret;

	snprintf(path, sizeof(path), "%s/%s", dir, key);
	va_start(ap, fmt);
	SIM_CHECK(&sim, vasprintf(&v, fmt, ap) >= 0, "vasprintf");
	va_end(ap);
	ret = hv_xs_write(sim.hv, tx, path, v);
	SIM_CHECK(&sim, !ret, "xenstore write %s: %s", path, strerror(-ret));
	free(v);
}

static void tx_end(uint32_t tx)
{
	SIM_CHECK(&sim, !hv_xs_tx_end(sim.hv, tx, false), "transaction");
}

/* libxl__xs_path_cleanup(): remove path, then each parent left empty. */
static void path_cleanup(uint32_t tx, const char *path)
{
	char *p = strdup(path), *slash, *v;
	int n;

	hv_xs_rm(sim.hv, tx, p);
	while ((slash = strrchr(p, '/')) && slash != p) {
		*slash = '\0';
		v = hv_xs_read(sim.hv, tx, p);
		n = hv_xs_directory(sim.hv, tx, p, NULL);
		if (!v || v[0] || n != 0) {
			free(v);
			break;
		}
		free(v);
		hv_xs_rm(sim.hv, tx, p);
	}
	free(p);
}

/* The device's nodes, one transaction (libxl__device_generic_add). */
static void libxl_add_device(struct guest *g)
{
	uint32_t tx;

	hv_xs_tx_start(sim.hv, &tx);
	xs_w(tx, g->be, "frontend", "%s", g->fe);
	xs_w(tx, g->be, "frontend-id", "%u", g->domid);
	xs_w(tx, g->be, "online", "1");
	xs_w(tx, g->be, "state", "1");
	xs_w(tx, g->be, "transport", "mmio");
	xs_w(tx, g->be, "irq", "%u", IRQ);
	xs_w(tx, g->be, "base", "%s", g->base);
	if (g->disk) {
		xs_w(tx, g->be, "params", "/dev/loop0");
		xs_w(tx, g->be, "removable", "0");
		xs_w(tx, g->be, "bootable", "1");
		xs_w(tx, g->be, "dev", "xvda");
		xs_w(tx, g->be, "type", "standalone");
		xs_w(tx, g->be, "mode", "w");
		xs_w(tx, g->be, "device-type", "disk");
		xs_w(tx, g->be, "discard-enable", "1");
		xs_w(tx, g->be, "specification", "virtio");
		xs_w(tx, g->fe, "virtual-device", DISK_DEVID);
		xs_w(tx, g->fe, "device-type", "disk");
		xs_w(tx, g->fe, "trusted", "1");
	} else {
		xs_w(tx, g->be, "type", "%s", g->type);
		xs_w(tx, g->be, "grant_usage", "%d", g->grant);
	}
	xs_w(tx, g->fe, "backend", "%s", g->be);
	xs_w(tx, g->fe, "backend-id", "0");
	xs_w(tx, g->fe, "state", "1");
	tx_end(tx);
}

static void guest_create(struct guest *g, uint32_t domid)
{
	struct hv_dom_cfg cfg = { .nr_vcpus = NVCPUS, .arch = HV_ARCH_ARM };
	char dom[64];
	uint32_t tx;

	g->domid = domid;
	g->d = hv_dom_create(sim.hv, domid, &cfg);
	SIM_CHECK(&sim, g->d, "hv_dom_create %u", domid);
	snprintf(dom, sizeof(dom), "/local/domain/%u", domid);
	hv_xs_tx_start(sim.hv, &tx);
	xs_w(tx, dom, "name", "%s", g->name);
	xs_w(tx, dom, "domid", "%u", domid);
	tx_end(tx);
	if (g->disk) {
		snprintf(g->be, sizeof(g->be), "/local/domain/0/backend/virtio_disk/%u/" DISK_DEVID,
			 domid);
		snprintf(g->fe, sizeof(g->fe), "/local/domain/%u/device/virtio_disk/" DISK_DEVID,
			 domid);
	} else {
		snprintf(g->be, sizeof(g->be), "/local/domain/0/backend/virtio/%u/0", domid);
		snprintf(g->fe, sizeof(g->fe), "/local/domain/%u/device/virtio/0", domid);
	}
	snprintf(g->state, sizeof(g->state), "%s/state", g->be);
	libxl_add_device(g);
}

/* xl destroy: close the device (5, wait for 6), remove its nodes, the domain's, the domain. */
static void guest_destroy(struct guest *g, bool wait_closed)
{
	char dom[64];
	uint32_t tx;

	hv_xs_tx_start(sim.hv, &tx);
	xs_w(tx, g->be, "online", "0");
	xs_w(tx, g->be, "state", "5");
	tx_end(tx);
	if (wait_closed)
		sim_wait_xs(&sim, g->state, "6", LIBXL_MS);
	hv_xs_tx_start(sim.hv, &tx);
	path_cleanup(tx, g->be);
	path_cleanup(tx, g->fe);
	tx_end(tx);
	snprintf(dom, sizeof(dom), "/local/domain/%u", g->domid);
	hv_xs_rm(sim.hv, 0, dom);
	hv_dom_destroy(g->d);
	SIM_CHECK(&sim, sim_alive(&sim), "xvdm exited after %s (dom%u) went away: %s", g->name,
		  g->domid, sim_status_str(sim.status));
}

static void guest_probe(struct guest *g, struct vdrv *v)
{
	int ret;

	vdrv_init(v, g->d, 0, BASE, IRQ);
	ret = vdrv_probe(v, VIRTIO_ID_RNG, 0, 1, 64);
	SIM_CHECK(&sim, !ret, "%s (dom%u): probe: %s", g->name, g->domid, strerror(-ret));
}

static void guest_read(struct guest *g, struct vdrv *v)
{
	struct vdrv_sg sg = { gd_alloc(g->d, 4096, 4096), 4096, true };
	uint32_t len = 0;
	int ret = vdrv_xfer(v, 0, &sg, 1, &len);

	SIM_CHECK(&sim, !ret && len > 0 && len <= 4096, "%s (dom%u): entropy read: %s, len %u",
		  g->name, g->domid, strerror(-ret), len);
}

/* The guest whose back-end is missing: its device is there, waiting for the back-end. */
static void guest_no_backend(struct guest *g)
{
	struct vdrv v;
	uint32_t magic = 0;
	int ret;

	sim_wait_xs(&sim, g->state, "2", LIBXL_MS);
	vdrv_init(&v, g->d, 0, BASE, IRQ);
	ret = vdrv_read32(&v, VIRTIO_MMIO_MAGIC_VALUE, &magic);
	SIM_CHECK(&sim, !ret && magic == 0x74726976, "%s: MagicValue 0x%x: %s", g->name, magic,
		  strerror(-ret));
}

/* The malformed slot is refused: never state 2, the range never claimed. */
static void guest_refused(struct guest *g)
{
	struct hv_claim cl;
	char *st = hv_xs_read(sim.hv, 0, g->state);

	hv_dom_claim(g->d, BASE, &cl);
	SIM_CHECK(&sim, st && !strcmp(st, "1") && !cl.mapped,
		  "%s: malformed slot: state %s, range mapped %d (must be refused)", g->name,
		  st ? st : "(none)", cl.mapped);
	free(st);
}

/*
 * xl save asks the guest to suspend through control/shutdown (the guest acknowledges by
 * clearing it): xvdm watches it and logs that save/restore is not supported; the
 * device stays served meanwhile.
 */
static void save_request(struct guest *g, struct vdrv *v)
{
	char path[96];
	int ret;

	snprintf(path, sizeof(path), "/local/domain/%u/control/shutdown", g->domid);
	ret = hv_xs_wait_watch(sim.hv, path, 5000);
	SIM_CHECK(&sim, !ret, "%s: xvdm does not watch %s", g->name, path);
	ret = hv_xs_write(sim.hv, 0, path, "suspend"); /* libxl */
	SIM_CHECK(&sim, !ret, "write %s: %s", path, strerror(-ret));
	usleep(50 * 1000);
	ret = hv_xs_write(sim.hv, 0, path, ""); /* the guest's acknowledgement */
	SIM_CHECK(&sim, !ret, "write %s: %s", path, strerror(-ret));
	guest_read(g, v);
}

static unsigned count_fds(pid_t pid)
{
	char path[64];
	struct dirent *e;
	unsigned n = 0;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	dir = opendir(path);
	SIM_CHECK(&sim, dir, "%s: %s", path, strerror(errno));
	while ((e = readdir(dir)))
		n += e->d_name[0] != '.';
	closedir(dir);
	return n;
}

/* Lines of /proc/PID/maps: guest-memory and ioreq-page mappings left behind show here. */
static unsigned count_maps(pid_t pid)
{
	char path[64], line[512];
	unsigned n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	f = fopen(path, "r");
	SIM_CHECK(&sim, f, "%s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f))
		n += strchr(line, '\n') != NULL;
	fclose(f);
	return n;
}

static unsigned long rss_kb(pid_t pid)
{
	char path[64], line[256];
	unsigned long kb = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	SIM_CHECK(&sim, f, "%s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %lu kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

static struct guest alpha = { .name = "alpha", .disk = true, .base = "33554432" };
static struct guest beta = { .name = "beta", .type = "virtio,device4", .base = "0x2000000" };
static struct guest gamma_ = { .name = "gamma", .type = "virtio,device4", .base = "0x2000000" };
static struct guest delta = { .name = "delta", .type = "virtio,device4", .base = "junk" };

static uint32_t next_domid = 1;

static void one_cycle(unsigned c)
{
	bool with_gamma = c % GAMMA_EVERY == 0;
	struct vdrv va, vb;

	guest_create(&alpha, next_domid++);
	guest_create(&beta, next_domid++);
	if (with_gamma)
		guest_create(&gamma_, next_domid++);
	guest_create(&delta, next_domid++);
	sim_wait_xs(&sim, alpha.state, "2", LIBXL_MS);
	sim_wait_xs(&sim, beta.state, "2", LIBXL_MS);
	guest_probe(&alpha, &va);
	guest_probe(&beta, &vb);
	for (unsigned i = 0; i < 2; i++) {
		guest_read(&alpha, &va);
		guest_read(&beta, &vb);
	}
	if (c == 0)
		save_request(&alpha, &va);
	if (with_gamma)
		guest_no_backend(&gamma_);
	guest_refused(&delta);
	/* beta's driver is up: a back-end would say Connected */
	xs_w(0, beta.be, "state", "4");
	guest_destroy(&delta, false);
	if (with_gamma)
		guest_destroy(&gamma_, true);
	guest_destroy(&beta, true);
	guest_destroy(&alpha, true);
}

struct reader {
	struct vdrv *v;
	uint64_t gpa;
	bool stop;
	unsigned reads;
	int err;
};

static void *reader_thread(void *arg)
{
	struct reader *r = arg;
	struct vdrv_sg sg = { r->gpa, 4096, true };
	uint32_t len;

	while (!__atomic_load_n(&r->stop, __ATOMIC_RELAXED)) {
		int ret = vdrv_xfer(r->v, 0, &sg, 1, &len);

		if (ret || !len) {
			r->err = ret ? ret : -EIO;
			break;
		}
		__atomic_add_fetch(&r->reads, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

static unsigned reads(struct reader *r)
{
	return __atomic_load_n(&r->reads, __ATOMIC_RELAXED);
}

/* xl reboot of beta (destroy, create with a new domid) while alpha keeps reading. */
static void reboot_phase(void)
{
	struct reader r = { 0 };
	unsigned before, gone, back;
	struct vdrv va, vb;
	pthread_t t;

	guest_create(&alpha, next_domid++);
	guest_create(&beta, next_domid++);
	sim_wait_xs(&sim, alpha.state, "2", LIBXL_MS);
	sim_wait_xs(&sim, beta.state, "2", LIBXL_MS);
	guest_probe(&alpha, &va);
	guest_probe(&beta, &vb);
	guest_read(&beta, &vb);
	r.v = &va;
	r.gpa = gd_alloc(alpha.d, 4096, 4096);
	SIM_CHECK(&sim, !pthread_create(&t, NULL, reader_thread, &r), "pthread_create");
	while (reads(&r) < 10 && !r.err)
		usleep(1000);
	before = reads(&r);
	sim_note("beta (dom%u): reboot while alpha reads", beta.domid);
	guest_destroy(&beta, true);
	usleep(100 * 1000); /* xl reboot: the new domain is built meanwhile */
	gone = reads(&r);
	guest_create(&beta, next_domid++);
	sim_wait_xs(&sim, beta.state, "2", LIBXL_MS);
	guest_probe(&beta, &vb);
	for (unsigned i = 0; i < 4; i++)
		guest_read(&beta, &vb);
	back = reads(&r);
	usleep(50 * 1000);
	__atomic_store_n(&r.stop, true, __ATOMIC_RELAXED);
	pthread_join(t, NULL);
	SIM_CHECK(&sim, !r.err, "alpha: entropy read failed during beta's reboot: %s",
		  strerror(-r.err));
	sim_note("beta is back as dom%u; alpha's reads: %u before the reboot, %u while beta was "
		 "gone, %u when it was back, %u at the end",
		 beta.domid, before, gone, back, r.reads);
	SIM_CHECK(&sim, gone > before && r.reads > back,
		  "alpha stalled during beta's reboot (reads %u, %u, %u, %u)", before, gone, back,
		  r.reads);
	guest_destroy(&beta, true);
	guest_destroy(&alpha, true);
}

/*
 * A grant_usage=1 slot no [guest] names: default-socket makes it a vhost-user-blk on
 * epsilon-0.sock, where vhub-blk (F_XEN_MMAP) listens; served zero copy with
 * VIRTIO_F_ACCESS_PLATFORM offered, which Linux's grant DMA requires. (The simulator has
 * no grant tables: the driver stops at the features.)
 */
static void grant_phase(const char *vhub_blk)
{
	struct guest eps = {
		.name = "epsilon", .type = "virtio,device2", .base = "0x2000000", .grant = 1
	};
	const char *sock = sim_path(&sim, "epsilon-0.sock");
	uint32_t id = 0, hi = 0;
	struct vdrv v;
	pid_t vhub;
	int st;

	vhub = sim_spawn_aux(&sim,
			     (const char *const[]){ vhub_blk, "--socket", sock, "--disk",
						    sim_blk_disk(&sim, "eps.img", 1 << 20), NULL },
			     true);
	sim_wait_listen(&sim, sock, vhub, 10000);
	guest_create(&eps, next_domid++);
	sim_wait_xs(&sim, eps.state, "2", LIBXL_MS);
	vdrv_init(&v, eps.d, 0, BASE, IRQ);
	SIM_CHECK(&sim,
		  !vdrv_read32(&v, VIRTIO_MMIO_DEVICE_ID, &id) &&
			  !vdrv_write32(&v, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1) &&
			  !vdrv_read32(&v, VIRTIO_MMIO_DEVICE_FEATURES, &hi),
		  "epsilon: register access failed");
	SIM_CHECK(&sim, id == VIRTIO_ID_BLOCK && (hi & (1u << (VIRTIO_F_ACCESS_PLATFORM - 32))),
		  "epsilon (grant_usage=1): DeviceID %u, features[63:32] 0x%x: a virtio-blk with "
		  "ACCESS_PLATFORM expected",
		  id, hi);
	sim_note("epsilon (grant_usage=1, default-socket): virtio-blk offered with "
		 "ACCESS_PLATFORM (features[63:32] 0x%x)",
		 hi);
	guest_destroy(&eps, true);
	st = sim_aux_stop(&sim, vhub, SIGTERM, 5000);
	SIM_CHECK(&sim, WIFEXITED(st), "vhub-blk after SIGTERM: %s", sim_status_str(st));
}

/* The cycles: fds exactly flat after the warm-up, RSS without a trend. */
static void cycles(void)
{
	unsigned fds[CYCLES], maps[CYCLES];
	unsigned long rss[CYCLES], early = 0, late = 0;
	const unsigned mid = (WARMUP + CYCLES) / 2;

	for (unsigned c = 0; c < CYCLES; c++) {
		one_cycle(c);
		fds[c] = count_fds(sim.pid);
		maps[c] = count_maps(sim.pid);
		rss[c] = rss_kb(sim.pid);
		sim_note("cycle %2u: xvdm has %u fds open, %u mappings, VmRSS %lu kB", c + 1,
			 fds[c], maps[c], rss[c]);
	}
	for (unsigned c = WARMUP; c < CYCLES; c++) {
		SIM_CHECK(&sim, fds[c] == fds[WARMUP],
			  "xvdm's open fds grew: %u after cycle %u, %u after cycle %u", fds[WARMUP],
			  WARMUP + 1, fds[c], c + 1);
		SIM_CHECK(&sim, maps[c] == maps[WARMUP],
			  "xvdm's mappings grew: %u after cycle %u, %u after cycle %u",
			  maps[WARMUP], WARMUP + 1, maps[c], c + 1);
		if (c < mid)
			early += rss[c];
		else
			late += rss[c];
	}
	early /= mid - WARMUP;
	late /= CYCLES - mid;
	sim_note("VmRSS mean: cycles %u-%u %lu kB, cycles %u-%u %lu kB", WARMUP + 1, mid, early,
		 mid + 1, CYCLES, late);
	SIM_CHECK(&sim, late <= early + RSS_SLACK / 1024,
		  "xvdm's RSS grows across the cycles: %lu kB, then %lu kB", early, late);
}

/*
 * Under ASan, freed memory waits in a quarantine (up to 256 MiB) before it is reused:
 * xvdm's RSS would grow with every cycle whatever it frees. Leak detection stays on.
 */
static void asan_no_quarantine(void)
{
	const char *old = getenv("ASAN_OPTIONS");
	char *opts;

	if (!getenv("XENSIM_ASAN_RUNTIME"))
		return;
	SIM_CHECK(&sim,
		  asprintf(&opts, "%s%squarantine_size_mb=0:thread_local_quarantine_size_kb=0",
			   old ? old : "", old && *old ? ":" : "") > 0,
		  "asprintf");
	setenv("ASAN_OPTIONS", opts, 1);
	free(opts);
}

int main(int argc, char **argv)
{
	const char *args[] = { "--watch", "--config", NULL, NULL };
	char *conf_text;

	sim_init(&sim, "sim-guests", argc, argv, 120);
	SIM_CHECK(&sim,
		  asprintf(&conf_text,
			   "[xvdm]\n"
			   "default-socket = %s/%%n-%%i.sock\n"
			   "[guest alpha]\nslot.xvda = rng\n"
			   "[guest beta]\nslot.virtio0 = rng\n"
			   "[guest delta]\nslot.virtio0 = rng\n",
			   sim.dir) > 0,
		  "asprintf");
	args[2] = sim_path(&sim, "xvdm.conf");
	sim_write_file(&sim, args[2], conf_text);
	free(conf_text);
	asan_no_quarantine();
	sim_spawn(&sim, args);
	SIM_CHECK(
		&sim,
		!hv_xs_wait_watch(sim.hv, "/local/domain/0/backend/virtio/1/0", 10000) &&
			!hv_xs_wait_watch(sim.hv, "/local/domain/0/backend/virtio_disk/1/0", 10000),
		"xvdm set no watch on backend/virtio and backend/virtio_disk within 10 s%s",
		sim_alive(&sim) ? "" : " (it exited)");

	cycles();
	if (argc > 3 && argv[3][0])
		grant_phase(argv[3]);
	reboot_phase();

	sim_terminate_ok(&sim, 5000);
	sim_pass(&sim);
}
