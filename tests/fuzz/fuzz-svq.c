/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target for the shadow virtqueues (devices/svq.c) on top of the
 * split-virtqueue engine (devices/virtqueue.c): the input is the guest's memory image
 * (descriptor table, rings, buffers) and a script for the back-end, which walks the
 * shadow ring in the area (tests/support/fake-svq-backend.c, "the shadow descriptor
 * walker") and either plays by the rules or lies: used entries with any id and
 * length, used index jumps, scribbles over the rings xvdm owns.
 *
 * Oracles, besides the sanitizers: svq_check() after every operation; while the
 * back-end has not lied since the last restart, every chain xvdm publishes is
 * well-formed and inside the region, and no buffer overlaps a ring, another queue's part
 * of the area or a buffer of another request in flight; while the guest
 * ring is not broken, the guest's requests in flight are those the back-end has plus
 * at most one held back (a request completed twice or lost breaks it); the parts of
 * the area that belong to the two neighbouring queues are never written.
 *
 * Trust boundary: the whole input is hostile guest and back-end state; this file only
 * lays it out.
 *
 * Input layout (little-endian):
 *   0      log2 of the guest queue size (mod 9: 1 .. 256)
 *   1      log2 of the shadow queue size (mod 9)
 *   2      bounce budget: (byte + 1) * 64 bytes
 *   3      bit 0 guest EVENT_IDX, bit 1 guest INDIRECT_DESC, bit 2 shadow EVENT_IDX
 *   4..5   guest avail->idx, written over the memory image
 *   6..7   the guest queue's starting index (vq_set_last_avail)
 *   8..    SCRIPT_OPS operations of 4 bytes: op (mod 12), a, b, c (see run_op)
 *   then   the guest memory image, from its first byte
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>

#include "tests/fuzz/fuzz-quiet.h"
#include <linux/virtio_ring.h>

#include "common/util.h"
#include "devices/svq.h"
#include "devices/vdev.h"
#include "devices/virtqueue.h"
#include "tests/support/fake-gmem.h"
#include "tests/support/fake-svq-backend.h"

#define BASE	   0x10000ULL
#define MEM_SIZE   0x4000 /* 16 KiB: desc @0, avail @0x1000, used @0x1400, the rest free */
#define SCRIPT_OPS 64
#define HDR_SIZE   (8 + 4 * SCRIPT_OPS)
#define GUARD	   0xa5

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

struct fz {
	struct fake_gmem *fg;
	struct vq *vq;
	struct svq_area *area;
	struct svq *nb[2]; /* neighbours, never used: their runs must stay GUARD */
	struct svq *s;
	struct svq_ring_addrs ra;
	uint16_t snum;
	size_t run;
	struct fake_be be;
	bool honest; /* the back-end has not lied since the last restart */
	bool trace;  /* FUZZ_SVQ_TRACE set: print each operation (debugging seeds) */
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet_logs();
	return 0;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static void check(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz-svq: oracle failed: %s\n", what);
		abort();
	}
}

/* The back-end takes up to n chains; while honest, each must be well-formed. */
static void be_take(struct fz *z, unsigned n)
{
	const char *why = "";
	uint16_t head;

	while (n--) {
		int r = fake_be_take(&z->be, &head, &why);

		if (r < 0 && z->honest) {
			fprintf(stderr, "fuzz-svq: back-end walker: %s\n", why);
			check(false, "published chain is well-formed, inside, not overlapping");
		}
		if (r <= 0)
			return;
	}
}

/* Honestly use the first chain taken at or after head a: write len bytes of value c. */
static void be_use(struct fz *z, unsigned a, uint32_t len, uint8_t c)
{
	unsigned i;

	for (i = 0; i < z->snum; i++) {
		uint16_t head = (uint16_t)((a + i) % z->snum);
		struct fake_be_req *r = fake_be_req(&z->be, head);
		uint8_t buf[512];
		uint64_t off = 0, n;

		if (!r)
			continue;
		/* Scribbled descriptors could point anywhere in the region: write only honest. */
		n = z->honest ? MIN(len, r->wr_len) : 0;
		memset(buf, c, sizeof(buf));
		while (off < n) {
			uint64_t k = MIN(n - off, sizeof(buf));

			fake_be_write(r, off, buf, k);
			off += k;
		}
		fake_be_use(&z->be, head, len);
		return;
	}
}

static void run_op(struct fz *z, const uint8_t *op)
{
	uint8_t a = op[1], b = op[2], c = op[3];
	bool kick, notify;
	uint8_t *p;

	switch (op[0] % 12) { /* 11: nothing */
	case 0:
		svq_forward(z->s, &kick, &notify);
		break;
	case 1:
		be_take(z, a % 8 + 1);
		break;
	case 2:
		be_use(z, a, b | (uint32_t)(c & 0x3f) << 8, c);
		break;
	case 3: /* a used entry with any id and length */
		z->honest = false;
		fake_be_put_used(&z->be, a | (uint32_t)(b & 0x81) << 8,
				 c == 0xff ? UINT32_MAX : c * 97u);
		break;
	case 4: /* a used index jump */
		z->honest = false;
		fake_be_set_used_idx(&z->be, (uint16_t)(z->be.used_idx + (int8_t)a));
		break;
	case 5:
		svq_complete(z->s, &notify);
		break;
	case 6:
		svq_restart(z->s);
		fake_be_reset(&z->be);
		z->honest = true;
		break;
	case 7: /* the guest offers more of what its image holds */
		p = fake_gmem_ptr(z->fg, BASE + 0x1002, 2);
		if (p)
			p[0] = (uint8_t)(p[0] + a % 4);
		break;
	case 8: /* scribble over the descriptor table or available ring xvdm owns */
		z->honest = false;
		p = (uint8_t *)(uintptr_t)(b & 1 ? z->ra.avail : z->ra.desc);
		p[a % (b & 1 ? 6 + 2 * (unsigned)z->snum : 16 * (unsigned)z->snum)] = c;
		break;
	case 9: /* suppression fields: harmless whatever they say */
		fake_be_set_used_flags(&z->be, a & 1);
		fake_be_set_avail_event(&z->be, get16(op + 2));
		break;
	case 10: /* the guest changes its memory between two runs */
		z->fg->mem[get16(op + 1) % MEM_SIZE] = c;
		break;
	}
	if (z->trace)
		fprintf(stderr, "op %2u %3u %3u %3u: guest in flight %u, shadow %u, used %u%s%s\n",
			op[0] % 12, a, b, c, vq_inflight(z->vq), svq_inflight(z->s),
			z->fg->mem[0x1402] | z->fg->mem[0x1403] << 8, z->honest ? "" : ", lied",
			vq_is_broken(z->vq) ? ", guest broken" : "");
	check(svq_check(z->s) == 0, "private accounting consistent");
	if (!vq_is_broken(z->vq)) {
		unsigned g = vq_inflight(z->vq), sh = svq_inflight(z->s);

		check(g == sh || g == sh + 1, "guest requests in flight = shadow + held");
	}
}

static bool guard_intact(struct fz *z, struct svq *s)
{
	static uint8_t guard[4096];
	struct svq_ring_addrs ra;
	const uint8_t *p;
	size_t i, n;

	if (!guard[0])
		memset(guard, GUARD, sizeof(guard));
	svq_ring_addrs(s, &ra);
	p = (const uint8_t *)(uintptr_t)ra.desc;
	/* memcmp: a byte loop here would be most of the target's time (coverage hooks) */
	for (i = 0; i < z->run; i += n) {
		n = MIN(z->run - i, sizeof(guard));
		if (memcmp(p + i, guard, n))
			return false;
	}
	return true;
}

static bool setup(struct fz *z, const uint8_t *data)
{
	struct vdev_queue q = { .desc = BASE, .avail = BASE + 0x1000, .used = BASE + 0x1400 };
	size_t bounce = (data[2] + 1u) * 64;
	uint64_t features = 0;
	struct svq_ring_addrs ra;
	unsigned i;

	q.num = (uint16_t)(1u << (data[0] % 9));
	q.num_max = q.num;
	q.ready = true;
	z->snum = (uint16_t)(1u << (data[1] % 9));
	if (data[3] & 1)
		features |= 1ULL << VIRTIO_RING_F_EVENT_IDX;
	if (data[3] & 2)
		features |= 1ULL << VIRTIO_RING_F_INDIRECT_DESC;
	if (vq_new(&z->fg->gmem, &q, features, "fuzz:q", &z->vq) < 0)
		return false;
	vq_set_last_avail(z->vq, get16(data + 6));
	z->run = svq_area_need(z->snum, bounce);
	if (svq_area_new(3 * z->run, "fuzz-svq", &z->area) < 0)
		return false;
	if (svq_new(z->area, z->vq, z->snum, bounce, "fuzz:nb0", &z->nb[0]) < 0 ||
	    svq_new(z->area, z->vq, z->snum, bounce, "fuzz:svq", &z->s) < 0 ||
	    svq_new(z->area, z->vq, z->snum, bounce, "fuzz:nb1", &z->nb[1]) < 0)
		return false;
	for (i = 0; i < 2; i++) {
		svq_ring_addrs(z->nb[i], &ra);
		memset((void *)(uintptr_t)ra.desc, GUARD, z->run);
	}
	svq_set_event_idx(z->s, data[3] & 4);
	svq_ring_addrs(z->s, &z->ra);
	fake_be_init(&z->be, svq_area_va(z->area), svq_area_size(z->area), &z->ra, z->snum);
	for (i = 0; i < 2; i++) {
		svq_ring_addrs(z->nb[i], &ra);
		fake_be_reserve(&z->be, (void *)(uintptr_t)ra.desc, z->run);
	}
	z->be.event_idx = data[3] & 4;
	z->honest = true;
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz z = { 0 };
	unsigned i;

	if (size < HDR_SIZE)
		return 0;
	z.trace = getenv("FUZZ_SVQ_TRACE") != NULL;
	z.fg = fake_gmem_new(BASE, MEM_SIZE);
	memcpy(z.fg->mem, data + HDR_SIZE, MIN(size - HDR_SIZE, (size_t)MEM_SIZE));
	z.fg->mem[0x1002] = data[4];
	z.fg->mem[0x1003] = data[5];
	if (setup(&z, data)) {
		for (i = 0; i < SCRIPT_OPS; i++)
			run_op(&z, data + 8 + 4 * i);
		check(guard_intact(&z, z.nb[0]) && guard_intact(&z, z.nb[1]),
		      "neighbouring queues untouched");
		fake_be_fini(&z.be);
	}
	svq_free(z.s); /* with requests in flight: dropped, no leaks */
	svq_free(z.nb[0]);
	svq_free(z.nb[1]);
	svq_area_free(z.area);
	vq_free(z.vq);
	fake_gmem_free(z.fg);
	return 0;
}
