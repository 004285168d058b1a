/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sim-vhu-shm: VIRTIO shared memory regions (FACTS 16-21) end to end. The real xvdm, from
 * a config file ([domain 1] with pci = and a shm-window = that is not the default and not
 * 2 MiB-aligned), serves two vhost-user-devices to a simulated 2-vCPU Arm domain, one on
 * virtio-mmio and one on virtio-pci (ECAM host bridge), each backed by its own
 * tests/backends/vhub-shm: GET_SHMEM_CONFIG with two regions, and SHMEM_MAP/UNMAP of memfd
 * ranges of known content when the test says so on its control socket (byte k of a mapping
 * with seed S and fd_offset F is 1 + (S + F + k) % 255). For each transport, on its vCPU:
 *  1. the guest finds the regions: virtio-mmio SHMSel/SHMLen/SHMBase for ids 0-255 (unused
 *     ones and selectors above 255 read all ones), each window inside shm-window, aligned
 *     to its size, claimed; virtio-pci one SHARED_MEMORY capability per region, back to
 *     back in BAR 4 (a power of two), claimed once decoding is on;
 *  2. everything reads 0 before anything is mapped, and writes there vanish;
 *  3. read-only mappings read byte for byte (1/2/4/8-byte and unaligned accesses, first and
 *     last byte, accesses across a mapping's edge read 0 outside it, a non-zero fd_offset, a
 *     whole region); writes there change nothing (read back, and `peek` in the memfd);
 *  4. writes into a read-write mapping reach the back-end's memfd, its `poke`s reach the
 *     guest; a write across a read-write and an adjacent read-only mapping changes only the
 *     read-write bytes;
 *  5. bad requests (overlaps, beyond or overflowing the region, unaligned, len 0, unknown
 *     shmid or flags, no fd, a short file, partial or unknown unmaps) get a non-zero ack and
 *     change nothing; unmaps take the bytes away;
 *  6. a device reset (status 0) drops every mapping (the back-end gets RESET_DEVICE), so
 *     does a back-end disconnect; xvdm reconnects, the driver keeps running, new mappings
 *     work; on virtio-pci a BAR 4 move takes the live mapping along.
 * A model of each window says what every byte must read; xvdm's /proc/PID/maps must hold
 * one mapping of a back-end memfd per live mapping (unmapped, not only hidden). The other
 * device's mappings survive every reset and disconnect. xvdm exits 0 on SIGTERM with
 * mappings live, its ioreq server gone; both back-ends see it leave and exit 0.
 * Run as `sim-vhu-shm <xvdm> <libxensim.so> <vhub-shm>`; exits 77 without
 * vhost-user-device in xvdm.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <linux/pci_regs.h>
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_pci.h>
#include <glib.h>

#include "tests/xensim/sim-pci.h"

#define DOMID	 1
#define NVCPUS	 2
#define DEV_ID	 42 /* vhost-user-device,device-id=42: a type no driver claims */
#define MMIO_IRQ 33
#define PCI_SLOT 2
#define QSIZE	 64
#define PG	 UINT64_C(0x1000)
/* Not the default, and 64 KiB- but not 2 MiB-aligned: the 2 MiB region must move up. */
#define SHM_WIN_BASE 0x1c0010000ULL
#define SHM_WIN_SIZE 0x1000000ULL
#define MAX_REGIONS  2
#define MAX_LIVE     16
#define CTL_WAIT_MS  10000
#define ALL_ONES32   0xffffffffu

struct region {
	uint8_t id;
	uint64_t size;
};

/* A region as the guest sees it, and what it must read there. */
struct win {
	uint8_t id;
	uint64_t gpa, len;
	uint8_t *model; /* what the guest must read at each offset */
};

/* A mapping xvdm acked, as the test knows it. */
struct live {
	uint8_t id;
	uint64_t off, len;
	bool rw;
};

/* One transport's device: its back-end, the guest's view, the counts. */
struct side {
	const char *name;
	bool pci;
	unsigned vcpu;
	const struct region *regions; /* ascending ids */
	const char *sock, *ctl_path;
	pid_t be;
	int ctl;
	struct vdrv v;
	struct gpci_fn fn;
	struct win win[MAX_REGIONS];
	struct live live[MAX_LIVE];
	unsigned nlive;
	unsigned resets_seen;	   /* the back-end's RESET_DEVICE count */
	char cmd[200], reply[128]; /* the last control command and its reply */
	/* counts */
	uint64_t bytes, reads, writes, peeks, pokes;
	unsigned maps, unmaps, refused, resets, drops;
};

static const struct region mmio_regions[MAX_REGIONS] = { { 0, 0x200000 }, { 3, 0x10000 } };
static const struct region pci_regions[MAX_REGIONS] = { { 2, 0x100000 }, { 5, 0x8000 } };

static struct sim sim;
static struct gpci_host host;
static struct xs_dom *dom;
static struct side sides[2];
static const char *stage = "start";

#define CHECK(s, cond, fmt, ...) \
	SIM_CHECK(&sim, cond, "%s [%s]: " fmt, (s)->name, stage, ##__VA_ARGS__)

static int64_t now_ms(void)
{
	return g_get_monotonic_time() / 1000;
}

/* --- the back-end's control socket (tests/backends/vhub-shm.c) --- */

static void ctl_connect(struct side *s)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", s->ctl_path);
	s->ctl = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(s, s->ctl >= 0 && !connect(s->ctl, (struct sockaddr *)&sa, sizeof(sa)),
	      "control socket %s: %s", s->ctl_path, strerror(errno));
}

/* One command line; its one reply line, in s->reply (s->cmd keeps the command). */
__attribute__((format(printf, 2, 0))) static const char *vctl(struct side *s, const char *fmt,
							      va_list ap)
{
	size_t len = 0;
	int64_t end = now_ms() + CTL_WAIT_MS;
	int k = vsnprintf(s->cmd, sizeof(s->cmd) - 1, fmt, ap);

	CHECK(s, k > 0 && (size_t)k < sizeof(s->cmd) - 1, "control command too long");
	s->cmd[k] = '\n';
	CHECK(s, send(s->ctl, s->cmd, (size_t)k + 1, MSG_NOSIGNAL) == k + 1, "control send: %s",
	      strerror(errno));
	s->cmd[k] = '\0';
	for (;;) {
		struct pollfd p = { s->ctl, POLLIN, 0 };
		char c;

		CHECK(s, now_ms() < end, "no reply to '%s' within %d ms", s->cmd, CTL_WAIT_MS);
		if (poll(&p, 1, 100) != 1)
			continue;
		CHECK(s, recv(s->ctl, &c, 1, 0) == 1, "control socket closed after '%s'", s->cmd);
		if (c == '\n')
			break;
		if (len + 1 < sizeof(s->reply))
			s->reply[len++] = c; /* a longer line is cut, but read to its end */
	}
	s->reply[len] = '\0';
	return s->reply;
}

__attribute__((format(printf, 2, 3))) static const char *ctl(struct side *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vctl(s, fmt, ap);
	va_end(ap);
	return s->reply;
}

/* The reply to a SHMEM request: xvdm's reply value ("ack N"). */
static long ack_of(struct side *s)
{
	long ack;

	CHECK(s, sscanf(s->reply, "ack %ld", &ack) == 1, "'%s': reply '%s'", s->cmd, s->reply);
	return ack;
}

static int peek(struct side *s, uint8_t id, uint64_t off)
{
	unsigned b;

	ctl(s, "peek %u 0x%" PRIx64, id, off);
	s->peeks++;
	if (!strcmp(s->reply, "err unmapped"))
		return -1;
	CHECK(s, sscanf(s->reply, "byte 0x%x", &b) == 1, "'%s': '%s'", s->cmd, s->reply);
	return (int)b;
}

/* Until the back-end has conn/chan/shmem as given, no mappings and min_resets resets. */
static void wait_be(struct side *s, int conn, unsigned min_resets, int timeout_ms)
{
	int64_t end = now_ms() + timeout_ms;
	int c = -1, h = -1, m = -1;
	unsigned maps = 0, resets = 0;

	for (;;) {
		CHECK(s,
		      sscanf(ctl(s, "status"), "conn %d chan %d shmem %d maps %u resets %u", &c, &h,
			     &m, &maps, &resets) == 5,
		      "status: '%s'", s->reply);
		if (c == conn && h == conn && m == conn && !maps && resets >= min_resets)
			break;
		CHECK(s, now_ms() < end,
		      "back-end: '%s' after %d ms (want conn/chan/shmem %d, no maps, resets >= %u)",
		      s->reply, timeout_ms, conn, min_resets);
		g_usleep(10000);
	}
	s->resets_seen = resets;
}

/* --- the model and xvdm's own mappings --- */

static struct win *win_of(struct side *s, uint8_t id)
{
	for (unsigned i = 0; i < MAX_REGIONS; i++)
		if (s->win[i].id == id)
			return &s->win[i];
	CHECK(s, false, "no region %u", id);
	return NULL;
}

static uint8_t pattern(uint8_t seed, uint64_t i)
{
	return (uint8_t)(1 + (seed + i) % 255);
}

static struct live *live_at(struct side *s, uint8_t id, uint64_t off)
{
	for (unsigned i = 0; i < s->nlive; i++)
		if (s->live[i].id == id && off - s->live[i].off < s->live[i].len)
			return &s->live[i];
	return NULL;
}

/* The back-end's memfd mappings in xvdm's address space. */
static unsigned xvdm_vmas(void)
{
	char path[64], line[512];
	unsigned n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)sim.pid);
	f = fopen(path, "r");
	SIM_CHECK(&sim, f, "%s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f))
		n += strstr(line, "/memfd:vhub-shm") != NULL;
	fclose(f);
	return n;
}

/*
 * xvdm replies to an UNMAP before it unmaps (FACTS 18), so the back-end's ack can come
 * a moment before the munmap: wait a little for the count to settle.
 */
static void check_vmas(void)
{
	unsigned want = sides[0].nlive + sides[1].nlive, got;
	int64_t end = now_ms() + 2000;

	while ((got = xvdm_vmas()) != want && now_ms() < end)
		g_usleep(1000);
	SIM_CHECK(&sim, got == want, "[%s] xvdm maps %u ranges of the back-ends' memfds, %u live",
		  stage, got, want);
}

/* --- guest accesses, checked against the model --- */

static uint64_t g_read(struct side *s, struct win *w, uint64_t off, unsigned size)
{
	uint64_t v = 0;
	int r = gd_mmio_read(dom, s->vcpu, w->gpa + off, size, &v);

	CHECK(s, !r, "shm %u + 0x%" PRIx64 ": %u-byte read: %s", w->id, off, size, strerror(-r));
	s->reads++;
	return v;
}

static uint64_t model_val(struct win *w, uint64_t off, unsigned size)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < size; i++)
		v |= (uint64_t)w->model[off + i] << (8 * i);
	return v;
}

static void check_at(struct side *s, struct win *w, uint64_t off, unsigned size)
{
	uint64_t got = g_read(s, w, off, size), want = model_val(w, off, size);

	CHECK(s, got == want, "shm %u + 0x%" PRIx64 ": %u-byte read 0x%" PRIx64 ", want 0x%" PRIx64,
	      w->id, off, size, got, want);
	s->bytes += size;
}

/* Every byte of [off, off + len) (8-byte reads; the range is 8-aligned). */
static void check_range(struct side *s, struct win *w, uint64_t off, uint64_t len)
{
	for (uint64_t o = off; o < off + len; o += 8)
		check_at(s, w, o, 8);
}

/* Sizes 1/2/4/8, aligned and not, at both ends of [off, off + len), and across the edges. */
static void check_edges(struct side *s, struct win *w, uint64_t off, uint64_t len)
{
	static const unsigned sizes[] = { 1, 2, 4, 8 };

	for (unsigned i = 0; i < 4; i++) {
		unsigned z = sizes[i];

		check_at(s, w, off, z);
		check_at(s, w, off + len - z, z);
		if (len >= 16) {
			check_at(s, w, off + 3, z);
			check_at(s, w, off + len - z - 5, z);
		}
		if (off >= z)
			check_at(s, w, off - z, z);
		if (off + len + z <= w->len)
			check_at(s, w, off + len, z);
	}
	if (off >= 4)
		check_at(s, w, off - 4, 8); /* half outside: those bytes read 0 */
	if (off + len + 4 <= w->len)
		check_at(s, w, off + len - 4, 8);
}

/* A coarse look at a whole region: the first 8 and the last byte of every page. */
static void sweep(struct side *s, struct win *w)
{
	for (uint64_t p = 0; p < w->len; p += PG) {
		check_at(s, w, p, 8);
		check_at(s, w, p + PG - 1, 1);
	}
}

static void check_live(struct side *s)
{
	for (unsigned i = 0; i < s->nlive; i++)
		check_range(s, win_of(s, s->live[i].id), s->live[i].off, s->live[i].len);
}

/*
 * A guest write: the bytes that fall into read-write mappings change, all others stay
 * (read-only: dropped; unmapped: vanish). Then the read back and every mapped byte in the
 * back-end's memfd must agree with the model.
 */
static void g_write(struct side *s, struct win *w, uint64_t off, unsigned size, uint64_t val)
{
	int r = gd_mmio_write(dom, s->vcpu, w->gpa + off, size, val);

	CHECK(s, !r, "shm %u + 0x%" PRIx64 ": %u-byte write: %s", w->id, off, size, strerror(-r));
	s->writes++;
	for (unsigned i = 0; i < size; i++) {
		struct live *l = live_at(s, w->id, off + i);

		if (l && l->rw)
			w->model[off + i] = (uint8_t)(val >> (8 * i));
	}
	check_at(s, w, off, size);
	for (unsigned i = 0; i < size; i++) {
		int b = live_at(s, w->id, off + i) ? peek(s, w->id, off + i) : -1;
		int want = live_at(s, w->id, off + i) ? w->model[off + i] : -1;

		CHECK(s, b == want,
		      "after a %u-byte write at shm %u + 0x%" PRIx64 ": the back-end "
		      "has %d at +%u, want %d",
		      size, w->id, off, b, i, want);
	}
}

static void poke(struct side *s, struct win *w, uint64_t off, uint8_t b)
{
	CHECK(s, !strcmp(ctl(s, "poke %u 0x%" PRIx64 " %u", w->id, off, b), "ok"), "'%s': '%s'",
	      s->cmd, s->reply);
	s->pokes++;
	w->model[off] = b;
	check_at(s, w, off, 1);
	check_at(s, w, off & ~7ULL, 8);
}

/* --- SHMEM requests through the back-end --- */

static void map(struct side *s, uint8_t id, uint64_t off, uint64_t len, bool rw, uint8_t seed,
		uint64_t fd_off)
{
	struct win *w = win_of(s, id);

	ctl(s, "map %u 0x%" PRIx64 " 0x%" PRIx64 " %s %u 0x%" PRIx64, id, off, len,
	    rw ? "rw" : "ro", seed, fd_off);
	CHECK(s, ack_of(s) == 0, "'%s': '%s'", s->cmd, s->reply);
	CHECK(s, s->nlive < MAX_LIVE, "too many live mappings");
	s->live[s->nlive++] = (struct live){ id, off, len, rw };
	for (uint64_t k = 0; k < len; k++)
		w->model[off + k] = pattern(seed, fd_off + k);
	s->maps++;
	check_vmas();
}

static void forget(struct side *s, unsigned i)
{
	struct win *w = win_of(s, s->live[i].id);

	memset(w->model + s->live[i].off, 0, s->live[i].len);
	s->live[i] = s->live[--s->nlive];
}

static void unmap(struct side *s, uint8_t id, uint64_t off, uint64_t len)
{
	struct live *l = live_at(s, id, off);

	ctl(s, "unmap %u 0x%" PRIx64 " 0x%" PRIx64, id, off, len);
	CHECK(s, ack_of(s) == 0, "'%s': '%s'", s->cmd, s->reply);
	CHECK(s, l && l->off == off && l->len == len, "test bug: unmap of no mapping");
	forget(s, (unsigned)(l - s->live));
	s->unmaps++;
	check_vmas();
	check_range(s, win_of(s, id), off, len);
}

/* Everything the device had mapped is gone (reset, disconnect): the model follows. */
static void forget_all(struct side *s)
{
	while (s->nlive)
		forget(s, 0);
}

/* A request xvdm must refuse, after which the guest sees what it saw before. */
__attribute__((format(printf, 2, 3))) static void refuse(struct side *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vctl(s, fmt, ap);
	va_end(ap);
	CHECK(s, ack_of(s) != 0, "'%s' was accepted", s->cmd);
	s->refused++;
	check_vmas();
	for (unsigned i = 0; i < s->nlive; i++) {
		struct win *w = win_of(s, s->live[i].id);

		check_at(s, w, s->live[i].off, 8);
		check_at(s, w, s->live[i].off + s->live[i].len - 8, 8);
	}
}

/* --- discovery --- */

static void check_mmio_window(struct side *s, struct win *w)
{
	uint64_t align = w->len < (1ULL << 30) ? w->len : 1ULL << 30;
	struct hv_claim cl;

	CHECK(s,
	      w->gpa >= SHM_WIN_BASE && w->gpa - SHM_WIN_BASE <= SHM_WIN_SIZE &&
		      w->len <= SHM_WIN_SIZE - (w->gpa - SHM_WIN_BASE),
	      "shm %u at 0x%" PRIx64 "+0x%" PRIx64 ": outside shm-window 0x%llx+0x%llx", w->id,
	      w->gpa, w->len, SHM_WIN_BASE, SHM_WIN_SIZE);
	CHECK(s, w->gpa % align == 0, "shm %u at 0x%" PRIx64 ": not aligned to 0x%" PRIx64, w->id,
	      w->gpa, align);
	for (unsigned i = 0; i < MAX_REGIONS; i++) {
		struct win *o = &s->win[i];

		CHECK(s,
		      o == w || !o->len || o->gpa >= w->gpa + w->len || w->gpa >= o->gpa + o->len,
		      "shm %u and %u overlap", w->id, o->id);
	}
	hv_dom_claim(dom, w->gpa, &cl);
	CHECK(s, cl.mapped && cl.enabled, "shm %u at 0x%" PRIx64 ": not claimed", w->id, w->gpa);
	hv_dom_claim(dom, w->gpa + w->len - 1, &cl);
	CHECK(s, cl.mapped, "the end of shm %u is not claimed", w->id);
}

/* vm_get_shm_region() for every id, and selectors that must not alias one. */
static void discover_mmio(struct side *s)
{
	static const uint32_t high[] = { 0x100, 0x103, 0x10000, ALL_ONES32 };
	unsigned found = 0;

	vdrv_init(&s->v, dom, s->vcpu, hv_host_mmio_base(), MMIO_IRQ);
	for (unsigned i = 0; i < 256 + 4; i++) {
		uint32_t sel = i < 256 ? i : high[i - 256], ll, lh, bl, bh;
		const struct region *r = NULL;

		for (unsigned k = 0; k < MAX_REGIONS && i < 256; k++)
			if (s->regions[k].id == sel)
				r = &s->regions[k];
		CHECK(s,
		      !vdrv_write32(&s->v, VIRTIO_MMIO_SHM_SEL, sel) &&
			      !vdrv_read32(&s->v, VIRTIO_MMIO_SHM_LEN_LOW, &ll) &&
			      !vdrv_read32(&s->v, VIRTIO_MMIO_SHM_LEN_HIGH, &lh) &&
			      !vdrv_read32(&s->v, VIRTIO_MMIO_SHM_BASE_LOW, &bl) &&
			      !vdrv_read32(&s->v, VIRTIO_MMIO_SHM_BASE_HIGH, &bh),
		      "SHMSel %u: register access failed", sel);
		if (!r) {
			CHECK(s, (ll & lh & bl & bh) == ALL_ONES32,
			      "SHMSel 0x%x (no region): SHMLen 0x%08x%08x SHMBase 0x%08x%08x", sel,
			      lh, ll, bh, bl);
			continue;
		}
		CHECK(s, found < MAX_REGIONS, "a region %u the back-end does not have", sel);
		s->win[found] = (struct win){ r->id, (uint64_t)bh << 32 | bl,
					      (uint64_t)lh << 32 | ll, NULL };
		CHECK(s, s->win[found].len == r->size,
		      "SHMSel %u: SHMLen 0x%" PRIx64 ", the back-end said 0x%" PRIx64, sel,
		      s->win[found].len, r->size);
		found++;
	}
	CHECK(s, found == MAX_REGIONS, "%u regions found", found);
	for (unsigned i = 0; i < MAX_REGIONS; i++)
		check_mmio_window(s, &s->win[i]);
}

/* vp_get_shm_region() on what the guest's PCI core enumerated. */
static void discover_pci(struct side *s)
{
	const struct gpci_bar *b4 = &s->fn.bar[4];
	uint64_t off = 0, gpa, len;

	CHECK(s, s->v.pci.nshm == MAX_REGIONS, "%u SHARED_MEMORY capabilities", s->v.pci.nshm);
	for (unsigned i = 0; i < MAX_REGIONS; i++) {
		const struct region *r = &s->regions[i];
		const struct vdrv_pci_shm *c = NULL;

		for (unsigned k = 0; k < s->v.pci.nshm; k++)
			if (s->v.pci.shm[k].id == r->id)
				c = &s->v.pci.shm[k];
		CHECK(s, c && c->bar == 4 && c->len == r->size && c->off == off,
		      "shm %u: %s BAR %u +0x%" PRIx64 " len 0x%" PRIx64 ", want BAR 4 +0x%" PRIx64
		      " len 0x%" PRIx64 " (back to back)",
		      r->id, c ? "found in" : "not found", c ? c->bar : 0, c ? c->off : 0,
		      c ? c->len : 0, off, r->size);
		s->win[i] = (struct win){ r->id, c->gpa, c->len, NULL };
		off += r->size;
	}
	CHECK(s, b4->size >= off && !(b4->size & (b4->size - 1)) && b4->size / 2 < off,
	      "BAR 4 is 0x%" PRIx64 " bytes for 0x%" PRIx64, b4->size, off);
	for (unsigned id = 0; id < 256; id++)
		if (id != s->regions[0].id && id != s->regions[1].id)
			CHECK(s, vdrv_pci_shm(&s->v, (uint8_t)id, &gpa, &len) == -ENOENT,
			      "a region %u", id);
	sim_pci_check_claimed(&sim, &host, &s->fn);
}

static void probe(struct side *s)
{
	static const struct vdrv_pci_opts o = { .irq = VDRV_PCI_INTX };
	int r;

	if (s->pci) {
		r = vdrv_pci_probe(&s->v, &host, &s->fn, s->vcpu, &o, DEV_ID, 0, 1, QSIZE);
	} else {
		vdrv_init(&s->v, dom, s->vcpu, hv_host_mmio_base(), MMIO_IRQ);
		r = vdrv_probe(&s->v, DEV_ID, 0, 1, QSIZE);
	}
	CHECK(s, !r, "probe: %s", strerror(-r));
}

static uint32_t dev_status(struct side *s)
{
	uint64_t st = 0;
	int r = s->pci ? gd_mmio_read(dom, s->vcpu, s->v.pci.common.gpa + VIRTIO_PCI_COMMON_STATUS,
				      1, &st)
		       : vdrv_read(&s->v, VIRTIO_MMIO_STATUS, 4, &st);

	CHECK(s, !r, "status read: %s", strerror(-r));
	return (uint32_t)st;
}

/* --- the steps --- */

static void step_empty(struct side *s)
{
	stage = "nothing mapped";
	for (unsigned i = 0; i < MAX_REGIONS; i++) {
		struct win *w = &s->win[i];

		w->model = calloc(1, w->len);
		SIM_CHECK(&sim, w->model, "out of memory");
		sweep(s, w);
		check_edges(s, w, 0, w->len);
		g_write(s, w, 0, 8, 0x0123456789abcdefULL);
		g_write(s, w, w->len - 1, 1, 0x5a);
	}
}

static void step_ro(struct side *s)
{
	struct win *a = &s->win[0], *b = &s->win[1];

	stage = "read-only mappings";
	map(s, a->id, 0x10000, 0x4000, false, 7, 0);
	map(s, b->id, 0, b->len, false, 200, 0x3000); /* the whole region, fd_offset != 0 */
	check_range(s, a, 0x10000, 0x4000);
	check_range(s, b, 0, b->len);
	check_edges(s, a, 0x10000, 0x4000);
	check_edges(s, b, 0, b->len);
	for (unsigned z = 1; z <= 8; z *= 2) {
		g_write(s, a, 0x10000, z, 0xa5a5a5a5a5a5a5a5ULL >> (64 - 8 * z));
		g_write(s, a, 0x14000 - z, z, 0);
		g_write(s, b, b->len - z, z, 0x1122334455667788ULL >> (64 - 8 * z));
	}
	g_write(s, a, 0x12345, 2, 0xbeef);
	g_write(s, a, 0xfffc, 8, 0x0f0e0d0c0b0a0908ULL); /* unmapped half, read-only half */
	sweep(s, a);
}

static void step_rw(struct side *s)
{
	struct win *a = &s->win[0];

	stage = "read-write mappings";
	map(s, a->id, 0x40000, 0x2000, true, 50, 0);
	map(s, a->id, 0x42000, 0x1000, false, 9, 0); /* adjacent, read-only */
	check_range(s, a, 0x40000, 0x3000);
	check_edges(s, a, 0x40000, 0x3000);
	g_write(s, a, 0x40000, 1, 0x11);
	g_write(s, a, 0x40011, 2, 0x2233);
	g_write(s, a, 0x40123, 4, 0x44556677);
	g_write(s, a, 0x40ff8, 8, 0x8899aabbccddeeffULL);
	g_write(s, a, 0x40777, 8, 0x0102030405060708ULL); /* unaligned */
	g_write(s, a, 0x41fff, 1, 0xfe);
	g_write(s, a, 0x41ff8, 8, 0);
	g_write(s, a, 0x41ffc, 8, 0xdeadbeefcafef00dULL); /* rw half lands, ro half dropped */
	g_write(s, a, 0x3fffc, 8, 0x1234567890abcdefULL); /* unmapped half vanishes */
	poke(s, a, 0x40000, 0xab);
	poke(s, a, 0x41fff, 0x5a);
	poke(s, a, 0x40800, 0);	   /* a 0 in a mapping reads 0 as well */
	poke(s, a, 0x42000, 0x77); /* the back-end may write its read-only mapping */
	check_range(s, a, 0x40000, 0x3000);
	check_edges(s, a, 0x40000, 0x3000);
}

static void step_bad(struct side *s)
{
	struct win *a = &s->win[0], *b = &s->win[1];
	unsigned unused = a->id + 1; /* no region has it (ids 0,3 and 2,5) */

	stage = "refused requests";
	/* overlaps with the read-only mapping at 0x10000+0x4000 */
	refuse(s, "map %u 0x10000 0x4000 ro 5 0", a->id);
	refuse(s, "map %u 0xe000 0x4000 ro 5 0", a->id);
	refuse(s, "map %u 0x13000 0x2000 rw 5 0", a->id);
	refuse(s, "map %u 0xf000 0x8000 ro 5 0", a->id);
	refuse(s, "map %u 0x11000 0x1000 ro 5 0", a->id);
	refuse(s, "map %u 0 0x1000 ro 5 0", b->id); /* b is mapped whole */
	/* beyond or around the region */
	refuse(s, "map %u 0x%" PRIx64 " 0x2000 ro 5 0", a->id, a->len - PG);
	refuse(s, "map %u 0x%" PRIx64 " 0x1000 ro 5 0", a->id, a->len);
	refuse(s, "raw map %u 0 0xfffffffffffff000 0x2000 0", a->id);
	refuse(s, "raw map %u 0xfffffffffffff000 0x60000 0x2000 0", a->id);
	/* unaligned, len 0, unknown shmid, unknown flags, no fd, a file too short */
	refuse(s, "map %u 0x60800 0x1000 ro 5 0", a->id);
	refuse(s, "map %u 0x60000 0x800 ro 5 0", a->id);
	refuse(s, "raw map %u 0x200 0x60000 0x1000 0", a->id);
	refuse(s, "raw map %u 0 0x60000 0 0", a->id);
	refuse(s, "map %u 0 0x1000 ro 5 0", unused);
	refuse(s, "map 255 0 0x1000 rw 5 0");
	refuse(s, "raw map %u 0 0x60000 0x1000 0x2", a->id);
	refuse(s, "raw map %u 0 0x60000 0x1000 0x3", a->id);
	refuse(s, "raw map %u 0 0x60000 0x1000 1 nofd", a->id);
	refuse(s, "raw map %u 0 0x60000 0x2000 0 0x1000", a->id);
	/* unmaps of part of a mapping, more than one, none, another region's */
	refuse(s, "unmap %u 0x10000 0x1000", a->id);
	refuse(s, "unmap %u 0x11000 0x1000", a->id);
	refuse(s, "unmap %u 0x10000 0x8000", a->id);
	refuse(s, "unmap %u 0x40000 0x3000", a->id);
	refuse(s, "unmap %u 0 0x100000", a->id);
	refuse(s, "unmap %u 0x60000 0x1000", a->id);
	refuse(s, "unmap %u 0x10000 0x4000", b->id);
	refuse(s, "unmap %u 0x10000 0x4000", unused);
	check_live(s);
	sweep(s, a);
	sweep(s, b);
}

static void step_unmap(struct side *s)
{
	stage = "unmaps";
	while (s->nlive) {
		struct live l = s->live[s->nlive - 1];

		unmap(s, l.id, l.off, l.len);
		check_edges(s, win_of(s, l.id), l.off, l.len);
	}
	for (unsigned i = 0; i < MAX_REGIONS; i++)
		sweep(s, &s->win[i]);
}

static void step_reset(struct side *s)
{
	struct win *a = &s->win[0], *b = &s->win[1];

	stage = "device reset";
	map(s, a->id, 0x80000, 0x3000, true, 77, 0);
	map(s, b->id, b->len - PG, PG, false, 13, 0);
	g_write(s, a, 0x81000, 8, 0x6162636465666768ULL);
	check_range(s, a, 0x80000, 0x3000);
	check_range(s, b, b->len - PG, PG);
	CHECK(s, !vdrv_reset(&s->v), "reset");
	s->resets++;
	forget_all(s);
	check_range(s, a, 0x80000, 0x3000);
	check_range(s, b, b->len - PG, PG);
	check_vmas();
	wait_be(s, 1, s->resets_seen + 1, 5000); /* it got RESET_DEVICE, forgot its mappings */
	probe(s);
	sweep(s, a);
	sweep(s, b);
}

/* Until the first 8 bytes of every listed mapping read 0 (xvdm noticed the hang-up). */
static void wait_gone(struct side *s, const struct live *l, unsigned n)
{
	int64_t end = now_ms() + 5000;
	bool zero = false;

	while (!zero) {
		CHECK(s, now_ms() < end, "mappings still visible 5 s after the disconnect");
		zero = true;
		for (unsigned i = 0; i < n; i++)
			zero &= g_read(s, win_of(s, l[i].id), l[i].off, 8) == 0;
		if (!zero)
			g_usleep(5000);
	}
}

static void step_drop(struct side *s)
{
	struct win *a = &s->win[0], *b = &s->win[1];
	struct live gone[2];
	uint32_t st;

	stage = "back-end disconnect";
	map(s, a->id, 0, PG, false, 1, 0); /* the region's first byte */
	map(s, b->id, b->len - 2 * PG, 2 * PG, true, 3, PG);
	check_range(s, a, 0, PG);
	check_range(s, b, b->len - 2 * PG, 2 * PG);
	memcpy(gone, s->live, sizeof(gone));
	CHECK(s, !strcmp(ctl(s, "drop"), "ok"), "drop: '%s'", s->reply);
	s->drops++;
	wait_gone(s, gone, 2);
	forget_all(s);
	check_range(s, a, 0, PG);
	check_range(s, b, b->len - 2 * PG, 2 * PG);
	check_vmas();
	stage = "reconnected";
	wait_be(s, 1, 0, 10000);
	st = dev_status(s);
	CHECK(s, (st & VIRTIO_CONFIG_S_DRIVER_OK) && !(st & VIRTIO_CONFIG_S_NEEDS_RESET),
	      "status 0x%x after the reconnect", st);
	sweep(s, a);
	sweep(s, b);
	/* This one stays until xvdm ends. */
	map(s, a->id, a->len - 0x10000, 0x8000, true, 99, 0x2000);
	check_range(s, a, a->len - 0x10000, 0x8000);
	check_edges(s, a, a->len - 0x10000, 0x8000);
	g_write(s, a, a->len - 0x10000 + 0x100, 8, 0x7071727374757677ULL);
	poke(s, a, a->len - 0x8000 - 1, 0x42);
}

/* The guest moves BAR 4 (decoding off, new address, on): claims and mappings follow. */
static void move_bar4(struct side *s)
{
	struct gpci_bar *b4 = &s->fn.bar[4];
	uint64_t from = b4->addr, to = from + 4 * b4->size;
	struct hv_claim cl;
	uint32_t cmd;

	stage = "BAR 4 moved";
	CHECK(s,
	      !gpci_fn_read(&host, s->vcpu, &s->fn, PCI_COMMAND, 2, &cmd) &&
		      !gpci_fn_write(&host, s->vcpu, &s->fn, PCI_COMMAND, 2,
				     cmd & ~PCI_COMMAND_MEMORY) &&
		      !gpci_fn_write(&host, s->vcpu, &s->fn, PCI_BASE_ADDRESS_4, 4,
				     (uint32_t)to | b4->flags) &&
		      !gpci_fn_write(&host, s->vcpu, &s->fn, PCI_BASE_ADDRESS_5, 4, to >> 32),
	      "moving BAR 4");
	hv_dom_claim(dom, from, &cl);
	CHECK(s, !cl.mapped, "BAR 4 still claimed at 0x%" PRIx64 " with decoding off", from);
	CHECK(s, !gpci_fn_write(&host, s->vcpu, &s->fn, PCI_COMMAND, 2, cmd), "decoding on");
	b4->addr = to;
	for (unsigned i = 0; i < MAX_REGIONS; i++)
		s->win[i].gpa = s->win[i].gpa - from + to;
	sim_pci_check_claimed(&sim, &host, &s->fn);
	hv_dom_claim(dom, from, &cl);
	CHECK(s, !cl.mapped, "the old BAR 4 address 0x%" PRIx64 " is still claimed", from);
	check_live(s);
	sweep(s, &s->win[1]);
	sim_note("%s: BAR 4 moved from 0x%" PRIx64 " to 0x%" PRIx64 ", claims and the mapping "
		 "followed",
		 s->name, from, to);
}

static void run_side(struct side *s, struct side *other)
{
	step_empty(s);
	step_ro(s);
	step_rw(s);
	step_bad(s);
	step_unmap(s);
	step_reset(s);
	stage = "the other device after the reset";
	check_live(other);
	step_drop(s);
	if (s->pci)
		move_bar4(s);
	stage = "the other device after the disconnect";
	check_live(other);
	SIM_CHECK(&sim, sim_alive(&sim), "xvdm died: %s", sim_status_str(sim.status));
}

/* --- set-up and teardown --- */

static void start_backend(struct side *s, const char *vhub_shm, const char *tag)
{
	char sock[32], ctlp[32], regions[64];

	snprintf(sock, sizeof(sock), "%s.sock", tag);
	snprintf(ctlp, sizeof(ctlp), "%s.ctl", tag);
	s->sock = sim_path(&sim, sock);
	s->ctl_path = sim_path(&sim, ctlp);
	snprintf(regions, sizeof(regions), "%u:0x%" PRIx64 ",%u:0x%" PRIx64, s->regions[0].id,
		 s->regions[0].size, s->regions[1].id, s->regions[1].size);
	s->be = sim_spawn_aux(&sim,
			      (const char *const[]){ vhub_shm, "--socket", s->sock, "--control",
						     s->ctl_path, "--regions", regions, NULL },
			      false);
	sim_wait_listen(&sim, s->sock, s->be, 10000);
	sim_wait_listen(&sim, s->ctl_path, s->be, 10000);
	ctl_connect(s);
}

static void start_xvdm(const struct gpci_host_cfg *hc)
{
	const char *conf = sim_path(&sim, "xvdm.conf");
	char *text = g_strdup_printf(
		"[domain %u]\n"
		"pci = %s\n"
		"shm-window = 0x%llx:0x%llx\n"
		"devices = vhost-user-device,transport=mmio,base=0x%" PRIx64 ",irq=%u,"
		"device-id=%u,num-queues=1,socket=%s;"
		"vhost-user-device,transport=pci,slot=%u,device-id=%u,num-queues=1,socket=%s\n",
		DOMID, sim_pci_arg(&sim, hc), SHM_WIN_BASE, SHM_WIN_SIZE, hv_host_mmio_base(),
		MMIO_IRQ, DEV_ID, sides[0].sock, PCI_SLOT, DEV_ID, sides[1].sock);

	sim_write_file(&sim, conf, text);
	g_free(text);
	sim_spawn(&sim, (const char *const[]){ "--config", conf, NULL });
	sim_wait_served(&sim, dom, hv_host_mmio_base(), 10000);
	sim_wait_served(&sim, dom, hc->ecam_base, 10000);
}

static void finish(void)
{
	struct hv_server_info info;
	struct hv_claim cl;
	int st;

	stage = "SIGTERM";
	check_vmas();
	SIM_CHECK(&sim, sides[0].nlive && sides[1].nlive, "test bug: nothing left mapped");
	sim_terminate_ok(&sim, 5000);
	SIM_CHECK(&sim, hv_dom_servers(dom, &info, 1) == 0, "an ioreq server outlived xvdm");
	for (unsigned i = 0; i < 2; i++) {
		struct side *s = &sides[i];

		hv_dom_claim(dom, s->win[0].gpa, &cl);
		CHECK(s, !cl.mapped, "shm %u still claimed", s->win[0].id);
		wait_be(s, 0, 0, 5000); /* the back-end saw the front-end go */
		close(s->ctl);
		st = sim_aux_stop(&sim, s->be, SIGTERM, 5000);
		CHECK(s, WIFEXITED(st) && WEXITSTATUS(st) == 0, "vhub-shm: %s", sim_status_str(st));
		for (unsigned k = 0; k < MAX_REGIONS; k++)
			free(s->win[k].model);
	}
}

static void note(const struct side *s)
{
	sim_note("%s: regions %u (0x%" PRIx64 " bytes at 0x%" PRIx64 ") and %u (0x%" PRIx64
		 " bytes at 0x%" PRIx64 ")",
		 s->name, s->win[0].id, s->win[0].len, s->win[0].gpa, s->win[1].id, s->win[1].len,
		 s->win[1].gpa);
	sim_note("%s: %" PRIu64 " bytes compared in %" PRIu64 " reads, %" PRIu64
		 " writes; %u maps and %u unmaps acked, %u refused requests, %" PRIu64
		 " peeks, %" PRIu64
		 " pokes; %u reset and %u disconnect, each dropping every mapping",
		 s->name, s->bytes, s->reads, s->writes, s->maps, s->unmaps, s->refused, s->peeks,
		 s->pokes, s->resets, s->drops);
}

int main(int argc, char **argv)
{
	static const struct sim_pci_expect want[] = { { PCI_SLOT, DEV_ID, false, MAX_REGIONS } };
	struct hv_dom_cfg cfg = { .nr_vcpus = NVCPUS, .arch = HV_ARCH_ARM, .host_mem = 64u << 20 };
	struct gpci_host_cfg hc;
	int64_t t0;

	sim_init(&sim, "sim-vhu-shm", argc, argv, 150);
	SIM_CHECK(&sim, argc > 3 && !access(argv[3], X_OK),
		  "usage: %s <xvdm> <libxensim.so> <vhub-shm>", argv[0]);
	if (!sim_has_device(&sim, "vhost-user-device"))
		sim_skip(&sim, "xvdm has no vhost-user-device");
	dom = hv_dom_create(sim.hv, DOMID, &cfg);
	SIM_CHECK(&sim, dom, "hv_dom_create");
	gpci_cfg_arm(&hc);
	gpci_host_init(&host, dom, &hc);
	sides[0] = (struct side){ .name = "virtio-mmio", .vcpu = 0, .regions = mmio_regions };
	sides[1] = (struct side){
		.name = "virtio-pci", .pci = true, .vcpu = 1, .regions = pci_regions
	};
	start_backend(&sides[0], argv[3], "mmio");
	start_backend(&sides[1], argv[3], "pci");
	start_xvdm(&hc);

	t0 = now_ms();
	stage = "discovery";
	discover_mmio(&sides[0]);
	probe(&sides[0]);
	sim_pci_enumerate(&sim, &host, sides[1].vcpu, want, 1, &sides[1].fn);
	probe(&sides[1]);
	discover_pci(&sides[1]);
	for (unsigned i = 0; i < 2; i++)
		wait_be(&sides[i], 1, 0, 5000);
	run_side(&sides[0], &sides[1]);
	run_side(&sides[1], &sides[0]);
	note(&sides[0]);
	note(&sides[1]);
	sim_note("both transports: %.3f s", (double)(now_ms() - t0) / 1000);
	finish();
	sim_pass(&sim);
}
