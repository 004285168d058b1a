/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests of the shadow virtqueues (devices/svq.c): a guest driver over fake guest
 * memory on one side, the fake back-end of tests/support/fake-svq-backend.h walking the
 * shadow ring in the area on the other, with blk-like and net-like traffic.
 * Trust boundary: none (test code); the tests play a misbehaving guest and back-end.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <glib.h>
#include <linux/virtio_ring.h>

#include "common/util.h"
#include "devices/svq.h"
#include "devices/vdev.h"
#include "devices/virtqueue.h"
#include "tests/support/fake-svq-backend.h"
#include "tests/support/fake-gmem.h"

#define BASE	  0x100000ULL
#define MEM_SIZE  0x100000ULL
#define DESC	  (BASE + 0x0000)
#define AVAIL	  (BASE + 0x4000)
#define USED	  (BASE + 0x6000)
#define DATA	  (BASE + 0x10000) /* buffers, up to the end of memory */
#define AREA_SIZE (1024 * 1024)
#define F_EVENT	  (1ULL << VIRTIO_RING_F_EVENT_IDX)

static unsigned warnings;

/* One guest queue with its shadow queue and a fake back-end on the other side. */
struct ts {
	struct fake_gmem *fg;
	struct vdev_queue q;
	struct vq *vq;
	uint16_t avail_idx; /* the guest driver's next avail entry */
	uint16_t next_desc; /* the guest driver's next free descriptor (handed out in turn) */
	struct svq_area *area;
	struct svq *s;
	uint16_t snum;
	struct fake_be be;
	bool kick, notify;
};

/* One guest buffer. */
struct gseg {
	uint64_t gpa;
	uint32_t len;
	bool wr;
};

static void ts_setup(struct ts *t, uint16_t gnum, uint16_t snum, size_t bounce, uint64_t gfeat)
{
	struct svq_ring_addrs ra;

	memset(t, 0, sizeof(*t));
	t->fg = fake_gmem_new(BASE, MEM_SIZE);
	t->q = (struct vdev_queue){ .num_max = gnum,
				    .num = gnum,
				    .ready = true,
				    .desc = DESC,
				    .avail = AVAIL,
				    .used = USED };
	g_assert_cmpint(vq_new(&t->fg->gmem, &t->q, gfeat, "test:q0", &t->vq), ==, 0);
	g_assert_cmpint(svq_area_new(AREA_SIZE, "test-svq", &t->area), ==, 0);
	g_assert_cmpint(svq_new(t->area, t->vq, snum, bounce, "test:svq0", &t->s), ==, 0);
	t->snum = snum;
	svq_ring_addrs(t->s, &ra);
	fake_be_init(&t->be, svq_area_va(t->area), svq_area_size(t->area), &ra, snum);
}

static void ts_teardown(struct ts *t)
{
	g_assert_cmpint(svq_check(t->s), ==, 0);
	fake_be_fini(&t->be);
	svq_free(t->s);
	svq_area_free(t->area);
	vq_free(t->vq);
	fake_gmem_free(t->fg);
}

static uint8_t pat(unsigned seed, uint64_t i)
{
	return (uint8_t)(seed * 31 + i * 7 + (i >> 8));
}

/* Fill [gpa, gpa + len) of the guest with pattern seed. */
static void gfill(struct ts *t, uint64_t gpa, uint32_t len, unsigned seed)
{
	uint8_t *p = fake_gmem_ptr(t->fg, gpa, len);
	uint32_t i;

	g_assert_nonnull(p);
	for (i = 0; i < len; i++)
		p[i] = pat(seed, i);
}

/* Queue a chain of n buffers in consecutive descriptors; returns its head. */
static uint16_t greq(struct ts *t, const struct gseg *sg, unsigned n)
{
	uint16_t head = t->next_desc;
	unsigned i;

	for (i = 0; i < n; i++) {
		uint16_t id = t->next_desc;
		uint64_t d = DESC + 16ULL * id;

		t->next_desc = (uint16_t)((t->next_desc + 1) % t->q.num);
		fake_gmem_put64(t->fg, d, sg[i].gpa);
		fake_gmem_put32(t->fg, d + 8, sg[i].len);
		fake_gmem_put16(t->fg, d + 12,
				(sg[i].wr ? VRING_DESC_F_WRITE : 0) |
					(i + 1 < n ? VRING_DESC_F_NEXT : 0));
		fake_gmem_put16(t->fg, d + 14, t->next_desc);
	}
	fake_gmem_put16(t->fg, AVAIL + 4 + 2 * (t->avail_idx % t->q.num), head);
	t->avail_idx++;
	fake_gmem_put16(t->fg, AVAIL + 2, t->avail_idx);
	return head;
}

/* One buffer of len bytes at gpa. */
static uint16_t greq1(struct ts *t, uint64_t gpa, uint32_t len, bool wr)
{
	struct gseg sg = { gpa, len, wr };

	return greq(t, &sg, 1);
}

/* Each call also checks the queue's private accounting (svq_check). */
static int fwd(struct ts *t)
{
	int r = svq_forward(t->s, &t->kick, &t->notify);

	g_assert_cmpint(svq_check(t->s), ==, 0);
	return r;
}

static int cpl(struct ts *t)
{
	int r = svq_complete(t->s, &t->notify);

	g_assert_cmpint(svq_check(t->s), ==, 0);
	return r;
}

static uint16_t be_take(struct ts *t)
{
	const char *why = NULL;
	uint16_t head = 0;
	int r = fake_be_take(&t->be, &head, &why);

	if (r != 1)
		g_printerr("fake back-end: %d %s\n", r, why ? why : "");
	g_assert_cmpint(r, ==, 1);
	return head;
}

static void be_none(struct ts *t)
{
	const char *why = NULL;
	uint16_t head;

	g_assert_cmpint(fake_be_take(&t->be, &head, &why), ==, 0);
}

static uint16_t gused_idx(struct ts *t)
{
	return fake_gmem_get16(t->fg, USED + 2);
}

static void assert_gused(struct ts *t, uint16_t pos, uint32_t id, uint32_t len)
{
	uint64_t u = USED + 4 + 8ULL * (pos % t->q.num);

	g_assert_cmpuint(fake_gmem_get32(t->fg, u), ==, id);
	g_assert_cmpuint(fake_gmem_get32(t->fg, u + 4), ==, len);
}

/* The readable bytes the back-end sees equal the guest's sg[0..n) readable buffers. */
static void assert_be_reads(struct ts *t, uint16_t head, const struct gseg *sg, unsigned n)
{
	struct fake_be_req *r = fake_be_req(&t->be, head);
	uint64_t off = 0;
	unsigned i;

	g_assert_nonnull(r);
	for (i = 0; i < n; i++) {
		g_autofree uint8_t *buf = NULL;

		if (sg[i].wr)
			continue;
		buf = g_malloc(sg[i].len);
		g_assert_cmpuint(fake_be_read(r, off, buf, sg[i].len), ==, sg[i].len);
		g_assert_cmpmem(buf, sg[i].len, fake_gmem_ptr(t->fg, sg[i].gpa, sg[i].len),
				sg[i].len);
		off += sg[i].len;
	}
	g_assert_cmpuint(r->rd_len, ==, off);
}

/* The back-end writes len bytes of pattern seed and uses the chain, claiming claim bytes. */
static void be_write_use(struct ts *t, uint16_t head, uint32_t len, unsigned seed, uint32_t claim)
{
	struct fake_be_req *r = fake_be_req(&t->be, head);
	g_autofree uint8_t *buf = g_malloc(len ? len : 1);
	uint32_t i;

	g_assert_nonnull(r);
	for (i = 0; i < len; i++)
		buf[i] = pat(seed, i);
	g_assert_cmpuint(fake_be_write(r, 0, buf, len), ==, len);
	fake_be_use(&t->be, head, claim);
}

/* The guest's writable buffers hold pattern seed for their first len bytes, then fill. */
static void assert_guest_got(struct ts *t, const struct gseg *sg, unsigned n, unsigned seed,
			     uint32_t len, uint8_t fill)
{
	uint64_t k = 0;
	unsigned i;
	uint32_t j;

	for (i = 0; i < n; i++) {
		const uint8_t *p = fake_gmem_ptr(t->fg, sg[i].gpa, sg[i].len);

		if (!sg[i].wr)
			continue;
		for (j = 0; j < sg[i].len; j++, k++)
			g_assert_cmpuint(p[j], ==, k < len ? pat(seed, k) : fill);
	}
}

static void gset(struct ts *t, const struct gseg *sg, unsigned n, uint8_t fill)
{
	unsigned i;

	for (i = 0; i < n; i++)
		if (sg[i].wr)
			memset(fake_gmem_ptr(t->fg, sg[i].gpa, sg[i].len), fill, sg[i].len);
}

/* --- the area and queue creation --- */

static void test_area(void)
{
	struct svq_area *a = NULL;
	int seals;

	g_assert_cmpint(svq_area_new(0, "t", &a), ==, -EINVAL);
	g_assert_cmpint(svq_area_new(SVQ_AREA_SIZE_MAX + 1, "t", &a), ==, -EINVAL);
	g_assert_null(a);
	g_assert_cmpint(svq_area_new(5000, "t", &a), ==, 0);
	g_assert_cmpuint(svq_area_size(a), ==, 8192);
	g_assert_cmpint(svq_area_fd(a), >=, 0);
	g_assert_nonnull(svq_area_va(a));
	g_assert_cmpint(fcntl(svq_area_fd(a), F_GETFD) & FD_CLOEXEC, ==, FD_CLOEXEC);
	seals = fcntl(svq_area_fd(a), F_GET_SEALS);
	g_assert_cmpint(seals & (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL), ==,
			F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
	/* What a back-end holding the fd might try. */
	g_assert_cmpint(ftruncate(svq_area_fd(a), 4096), <, 0);
	g_assert_cmpint(fcntl(svq_area_fd(a), F_ADD_SEALS, F_SEAL_FUTURE_WRITE), <, 0);
	memset(svq_area_va(a), 0xab, 8192);
	svq_area_free(a);
	svq_area_free(NULL);
}

static void test_new_params(void)
{
	struct fake_gmem *fg = fake_gmem_new(BASE, MEM_SIZE);
	struct vdev_queue q = { .num = 8, .desc = DESC, .avail = AVAIL, .used = USED };
	struct svq *s1 = NULL, *s2 = NULL, *s3 = NULL;
	struct svq_ring_addrs r1, r2, r3;
	struct svq_area *a;
	size_t need;
	struct vq *vq;

	g_assert_cmpint(vq_new(&fg->gmem, &q, 0, "t", &vq), ==, 0);
	need = svq_area_need(256, 64 * 1024);
	g_assert_cmpuint(need, >, 64 * 1024);
	g_assert_cmpuint(need % 4096, ==, 0);
	g_assert_cmpuint(svq_area_need(3, 4096), ==, 0);
	g_assert_cmpuint(svq_area_need(8, 0), ==, 0);
	g_assert_cmpint(svq_area_new(2 * need, "t", &a), ==, 0);
	g_assert_cmpint(svq_new(a, vq, 0, 4096, "t", &s1), ==, -EINVAL);
	g_assert_cmpint(svq_new(a, vq, 6, 4096, "t", &s1), ==, -EINVAL);
	g_assert_cmpint(svq_new(a, vq, 65535, 4096, "t", &s1), ==, -EINVAL);
	g_assert_cmpint(svq_new(a, vq, 8, 0, "t", &s1), ==, -EINVAL);
	g_assert_cmpint(svq_new(a, vq, 8, SVQ_BOUNCE_MAX + 1, "t", &s1), ==, -EINVAL);
	g_assert_cmpint(svq_new(a, vq, 256, 3 * need, "t", &s1), ==, -ENOMEM);
	g_assert_null(s1);
	/* Two fit, a third does not; freeing the first makes room for it again. */
	g_assert_cmpint(svq_new(a, vq, 256, 64 * 1024, "t1", &s1), ==, 0);
	g_assert_cmpint(svq_new(a, vq, 256, 64 * 1024, "t2", &s2), ==, 0);
	g_assert_cmpint(svq_new(a, vq, 256, 64 * 1024, "t3", &s3), ==, -ENOMEM);
	svq_ring_addrs(s1, &r1);
	svq_ring_addrs(s2, &r2);
	g_assert_cmpuint(r1.desc % 16, ==, 0);
	g_assert_cmpuint(r1.avail % 2, ==, 0);
	g_assert_cmpuint(r1.used % 4, ==, 0);
	g_assert_cmpuint(r1.desc, >=, (uintptr_t)svq_area_va(a));
	g_assert_cmpuint(r2.desc, >=, r1.desc + need);
	g_assert_cmpuint(r2.desc + need, <=, (uintptr_t)svq_area_va(a) + svq_area_size(a));
	svq_free(s1);
	g_assert_cmpint(svq_new(a, vq, 256, 64 * 1024, "t3", &s3), ==, 0);
	svq_ring_addrs(s3, &r3);
	g_assert_cmpuint(r3.desc, ==, r1.desc);
	svq_free(s2);
	svq_free(s3);
	svq_free(NULL);
	svq_area_free(a);
	vq_free(vq);
	fake_gmem_free(fg);
}

/* --- blk-like traffic --- */

static void test_blk_write(void)
{
	const struct gseg sg[] = {
		{ DATA, 16, false },		/* request header */
		{ DATA + 0x1000, 3000, false }, /* data */
		{ DATA + 0x3000, 1096, false },
		{ DATA + 0x5000, 1, true }, /* status */
	};
	struct ts t;
	uint16_t gh, h;

	ts_setup(&t, 8, 8, 64 * 1024, 0);
	gfill(&t, DATA, 16, 1);
	gfill(&t, DATA + 0x1000, 3000, 2);
	gfill(&t, DATA + 0x3000, 1096, 3);
	gh = greq(&t, sg, 4);
	g_assert_cmpint(fwd(&t), ==, 1);
	g_assert_true(t.kick);
	g_assert_false(t.notify);
	g_assert_cmpuint(svq_inflight(t.s), ==, 1);
	g_assert_cmpint(fwd(&t), ==, 0);
	g_assert_false(t.kick);
	h = be_take(&t);
	be_none(&t);
	assert_be_reads(&t, h, sg, 4);
	g_assert_cmpuint(fake_be_req(&t.be, h)->wr_len, ==, 1);
	g_assert_cmpuint(fake_be_req(&t.be, h)->n, ==, 2);
	be_write_use(&t, h, 1, 9, 1);
	g_assert_cmpint(cpl(&t), ==, 1);
	g_assert_true(t.notify);
	g_assert_cmpuint(gused_idx(&t), ==, 1);
	assert_gused(&t, 0, gh, 1);
	assert_guest_got(&t, sg, 4, 9, 1, 0);
	g_assert_cmpuint(svq_inflight(t.s), ==, 0);
	g_assert_cmpuint(vq_inflight(t.vq), ==, 0);
	g_assert_cmpint(cpl(&t), ==, 0);
	g_assert_false(t.notify);
	ts_teardown(&t);
}

static void test_blk_read(void)
{
	const struct gseg sg[] = {
		{ DATA, 16, false },
		{ DATA + 0x1000, 4096, true },
		{ DATA + 0x3000, 1000, true },
		{ DATA + 0x5000, 1, true },
	};
	struct ts t;
	uint16_t gh, h;

	ts_setup(&t, 8, 8, 64 * 1024, 0);
	gset(&t, sg, 4, 0xee);
	gh = greq(&t, sg, 4);
	g_assert_cmpint(fwd(&t), ==, 1);
	h = be_take(&t);
	g_assert_cmpuint(fake_be_req(&t.be, h)->wr_len, ==, 5097);
	be_write_use(&t, h, 5097, 4, 5097);
	g_assert_cmpint(cpl(&t), ==, 1);
	assert_gused(&t, 0, gh, 5097);
	assert_guest_got(&t, sg, 4, 4, 5097, 0);

	/* The back-end says it wrote less than it did: the guest gets only that much. */
	gset(&t, sg, 4, 0xee);
	gh = greq(&t, sg, 4);
	g_assert_cmpint(fwd(&t), ==, 1);
	h = be_take(&t);
	be_write_use(&t, h, 5097, 5, 100);
	g_assert_cmpint(cpl(&t), ==, 1);
	assert_gused(&t, 1, gh, 100);
	assert_guest_got(&t, sg, 4, 5, 100, 0xee);

	/* It claims more than it wrote: the rest is zeros, never old bounce data. */
	gset(&t, sg, 4, 0xee);
	gh = greq(&t, sg, 4);
	g_assert_cmpint(fwd(&t), ==, 1);
	h = be_take(&t);
	be_write_use(&t, h, 10, 6, 5097);
	g_assert_cmpint(cpl(&t), ==, 1);
	assert_gused(&t, 2, gh, 5097);
	assert_guest_got(&t, sg, 4, 6, 10, 0);
	ts_teardown(&t);
}

/* --- net-like traffic --- */

static void test_net(void)
{
	const struct gseg tx[] = { { DATA, 12, false }, { DATA + 0x100, 1500, false } };
	struct gseg rx[8];
	uint16_t gh[8], h[8];
	struct ts t;
	unsigned i;

	ts_setup(&t, 16, 16, 64 * 1024, F_EVENT);
	/* tx: readable only, used with length 0 */
	gfill(&t, DATA, 12, 7);
	gfill(&t, DATA + 0x100, 1500, 8);
	gh[0] = greq(&t, tx, 2);
	g_assert_cmpint(fwd(&t), ==, 1);
	h[0] = be_take(&t);
	assert_be_reads(&t, h[0], tx, 2);
	fake_be_use(&t.be, h[0], 0);
	g_assert_cmpint(cpl(&t), ==, 1);
	assert_gused(&t, 0, gh[0], 0);

	/* rx: eight writable buffers, completed in reverse order with different lengths */
	for (i = 0; i < 8; i++) {
		rx[i] = (struct gseg){ DATA + 0x1000 + 0x800 * i, 1526, true };
		gset(&t, &rx[i], 1, 0xee);
		gh[i] = greq(&t, &rx[i], 1);
	}
	g_assert_cmpint(fwd(&t), ==, 8);
	for (i = 0; i < 8; i++)
		h[i] = be_take(&t);
	for (i = 0; i < 8; i++)
		be_write_use(&t, h[7 - i], 60 + 100 * (7 - i), 20 + 7 - i, 60 + 100 * (7 - i));
	g_assert_cmpint(cpl(&t), ==, 8);
	for (i = 0; i < 8; i++) {
		assert_gused(&t, 1 + i, gh[7 - i], 60 + 100 * (7 - i));
		assert_guest_got(&t, &rx[i], 1, 20 + i, 60 + 100 * i, 0xee);
	}
	g_assert_cmpuint(vq_inflight(t.vq), ==, 0);
	ts_teardown(&t);
}

/* Requests complete in any order; each goes back to its own guest buffers. */
static void test_out_of_order(void)
{
	static const unsigned order[] = { 3, 0, 5, 1, 4, 2 };
	struct gseg sg[6][2];
	uint16_t gh[6], h[6];
	struct ts t;
	unsigned i, k;

	ts_setup(&t, 16, 16, 64 * 1024, 0);
	for (i = 0; i < 6; i++) {
		sg[i][0] = (struct gseg){ DATA + 0x2000 * i, 100 + i, false };
		sg[i][1] = (struct gseg){ DATA + 0x2000 * i + 0x1000, 500 + 50 * i, true };
		gfill(&t, sg[i][0].gpa, sg[i][0].len, 40 + i);
		gset(&t, sg[i], 2, 0xee);
		gh[i] = greq(&t, sg[i], 2);
	}
	g_assert_cmpint(fwd(&t), ==, 6);
	for (i = 0; i < 6; i++) {
		h[i] = be_take(&t);
		assert_be_reads(&t, h[i], sg[i], 2);
	}
	for (k = 0; k < 6; k++) {
		i = order[k];
		be_write_use(&t, h[i], sg[i][1].len, 60 + i, sg[i][1].len);
		if (k % 2)
			g_assert_cmpint(cpl(&t), ==, 2);
	}
	for (k = 0; k < 6; k++) {
		i = order[k];
		assert_gused(&t, k, gh[i], sg[i][1].len);
		assert_guest_got(&t, sg[i], 2, 60 + i, sg[i][1].len, 0xee);
	}
	ts_teardown(&t);
}

/* --- bounce space --- */

static void test_bounce_exhaustion(void)
{
	struct gseg sg[4];
	uint16_t gh[4], h[4];
	struct ts t;
	unsigned i;

	/* 8 KiB of bounce space: two 3000-byte requests fit, the third waits. */
	ts_setup(&t, 8, 8, 8192, 0);
	for (i = 0; i < 4; i++) {
		sg[i] = (struct gseg){ DATA + 0x1000 * i, 3000, true };
		gh[i] = greq(&t, &sg[i], 1);
	}
	g_assert_cmpint(fwd(&t), ==, 2);
	g_assert_true(t.kick);
	g_assert_cmpint(fwd(&t), ==, 0); /* still no room: nothing popped, nothing failed */
	g_assert_false(t.notify);
	g_assert_cmpuint(gused_idx(&t), ==, 0);
	g_assert_cmpuint(vq_inflight(t.vq), ==, 3); /* two posted, one held */
	h[0] = be_take(&t);
	h[1] = be_take(&t);
	be_none(&t);
	be_write_use(&t, h[1], 3000, 71, 3000);
	g_assert_cmpint(cpl(&t), ==, 1);
	/* Room for one more: the held request goes first, in guest order. */
	g_assert_cmpint(fwd(&t), ==, 1);
	h[2] = be_take(&t);
	be_none(&t);
	be_write_use(&t, h[0], 3000, 70, 3000);
	be_write_use(&t, h[2], 3000, 72, 3000);
	g_assert_cmpint(cpl(&t), ==, 2);
	g_assert_cmpint(fwd(&t), ==, 1);
	h[3] = be_take(&t);
	be_write_use(&t, h[3], 3000, 73, 3000);
	g_assert_cmpint(cpl(&t), ==, 1);
	assert_gused(&t, 0, gh[1], 3000);
	assert_gused(&t, 1, gh[0], 3000);
	assert_gused(&t, 2, gh[2], 3000);
	assert_gused(&t, 3, gh[3], 3000);
	for (i = 0; i < 4; i++)
		assert_guest_got(&t, &sg[i], 1, 70 + i, 3000, 0);
	g_assert_cmpuint(vq_inflight(t.vq), ==, 0);
	ts_teardown(&t);
}

/* Holes left by out-of-order completions: one request spread over several runs. */
static void test_bounce_fragments(void)
{
	const struct gseg big[] = { { DATA + 0x10000, 1500, false },
				    { DATA + 0x11000, 500, true } };
	struct fake_be_req *r;
	uint16_t gh[4], h[4], gb, hb;
	struct ts t;
	unsigned i;

	/* 4 KiB: 64 chunks of 64 bytes; four 1024-byte requests fill it. */
	ts_setup(&t, 8, 8, 4096, 0);
	for (i = 0; i < 4; i++)
		gh[i] = greq1(&t, DATA + 0x1000 * i, 1024, true);
	g_assert_cmpint(fwd(&t), ==, 4);
	for (i = 0; i < 4; i++)
		h[i] = be_take(&t);
	be_write_use(&t, h[0], 1024, 80, 1024);
	be_write_use(&t, h[2], 1024, 82, 1024);
	g_assert_cmpint(cpl(&t), ==, 2);
	/* 1500 readable bytes over both holes, 500 writable after them: three descriptors. */
	gfill(&t, big[0].gpa, big[0].len, 90);
	gset(&t, big, 2, 0xee);
	gb = greq(&t, big, 2);
	g_assert_cmpint(fwd(&t), ==, 1);
	hb = be_take(&t);
	r = fake_be_req(&t.be, hb);
	g_assert_cmpuint(r->n, ==, 3);
	g_assert_false(r->buf[0].wr);
	g_assert_cmpuint(r->buf[0].len, ==, 1024);
	g_assert_false(r->buf[1].wr);
	g_assert_cmpuint(r->buf[1].len, ==, 476);
	g_assert_true(r->buf[2].wr);
	g_assert_true(r->buf[2].p == r->buf[1].p + 512); /* the boundary is a chunk boundary */
	assert_be_reads(&t, hb, big, 2);
	be_write_use(&t, hb, 500, 91, 500);
	be_write_use(&t, h[1], 1024, 81, 1024);
	be_write_use(&t, h[3], 1024, 83, 1024);
	g_assert_cmpint(cpl(&t), ==, 3);
	assert_gused(&t, 2, gb, 500);
	assert_guest_got(&t, big, 2, 91, 500, 0xee);
	assert_gused(&t, 0, gh[0], 1024);
	assert_gused(&t, 1, gh[2], 1024);
	assert_gused(&t, 3, gh[1], 1024);
	assert_gused(&t, 4, gh[3], 1024);
	ts_teardown(&t);
}

/*
 * A request needing more runs than one chain may have waits, though the bytes are
 * free, and goes once the completions have merged the holes.
 */
static void test_bounce_too_many_pieces(void)
{
	uint16_t h[200], hb;
	struct ts t;
	unsigned i;

	/* 16 KiB: 256 chunks; 200 one-chunk requests, then every other one completes. */
	ts_setup(&t, 256, 256, 16384, 0);
	for (i = 0; i < 200; i++)
		greq1(&t, DATA + 64 * i, 64, true);
	g_assert_cmpint(fwd(&t), ==, 200);
	for (i = 0; i < 200; i++)
		h[i] = be_take(&t);
	for (i = 0; i < 200; i += 2)
		fake_be_use(&t.be, h[i], 64);
	g_assert_cmpint(cpl(&t), ==, 100);
	/* 120 chunks: first fit would take more than 64 single-chunk holes. */
	greq1(&t, DATA + 0x20000, 120 * 64, true);
	g_assert_cmpint(fwd(&t), ==, 0);
	g_assert_false(t.kick);
	/* A 33-chunk request would fit in 33 runs, but the held one goes first. */
	for (i = 1; i < 200; i += 2)
		fake_be_use(&t.be, h[i], 64);
	g_assert_cmpint(cpl(&t), ==, 100);
	g_assert_cmpint(fwd(&t), ==, 1);
	hb = be_take(&t);
	g_assert_cmpuint(fake_be_req(&t.be, hb)->n, ==, 1);
	g_assert_cmpuint(fake_be_req(&t.be, hb)->wr_len, ==, 120 * 64);
	ts_teardown(&t);
}

/* Many single-chunk holes: one chain of many descriptors, byte-exact. */
static void test_bounce_many_pieces(void)
{
	const struct gseg big = { DATA + 0x20000, 33 * 64 - 10, false };
	uint16_t h[128], hb;
	struct ts t;
	unsigned i;

	ts_setup(&t, 256, 256, 8192, 0);
	for (i = 0; i < 128; i++)
		greq1(&t, DATA + 64 * i, 64, true);
	g_assert_cmpint(fwd(&t), ==, 128);
	for (i = 0; i < 128; i++)
		h[i] = be_take(&t);
	for (i = 0; i < 128; i += 2)
		fake_be_use(&t.be, h[i], 64);
	g_assert_cmpint(cpl(&t), ==, 64);
	gfill(&t, big.gpa, big.len, 5);
	greq(&t, &big, 1);
	g_assert_cmpint(fwd(&t), ==, 1);
	hb = be_take(&t);
	g_assert_cmpuint(fake_be_req(&t.be, hb)->n, ==, 33);
	assert_be_reads(&t, hb, &big, 1);
	ts_teardown(&t);
}

/* A request larger than the whole budget fails alone; the queue goes on. */
static void test_bounce_too_large(void)
{
	const struct gseg big[] = { { DATA, 16, false }, { DATA + 0x1000, 4096, true } };
	unsigned w = warnings;
	uint16_t gbig, g1, h;
	struct ts t;

	ts_setup(&t, 8, 8, 4096, 0);
	gbig = greq(&t, big, 2);
	g1 = greq1(&t, DATA + 0x8000, 4096, true); /* exactly the budget */
	g_assert_cmpint(fwd(&t), ==, 1);
	g_assert_true(t.notify);
	g_assert_true(t.kick);
	g_assert_cmpuint(warnings, >, w);
	assert_gused(&t, 0, gbig, 0);
	h = be_take(&t);
	be_write_use(&t, h, 4096, 3, 4096);
	g_assert_cmpint(cpl(&t), ==, 1);
	assert_gused(&t, 1, g1, 4096);
	ts_teardown(&t);
}

/* With a shadow ring smaller than the guest's, the descriptors run out first. */
static void test_desc_exhaustion(void)
{
	uint16_t h[6];
	struct ts t;
	unsigned i;

	ts_setup(&t, 8, 4, 64 * 1024, 0);
	for (i = 0; i < 6; i++)
		greq1(&t, DATA + 0x100 * i, 16, false);
	g_assert_cmpint(fwd(&t), ==, 4);
	for (i = 0; i < 4; i++)
		h[i] = be_take(&t);
	fake_be_use(&t.be, h[2], 0);
	fake_be_use(&t.be, h[0], 0);
	g_assert_cmpint(cpl(&t), ==, 2);
	g_assert_cmpint(fwd(&t), ==, 2);
	h[4] = be_take(&t);
	h[5] = be_take(&t);
	g_assert_cmpuint(h[4], !=, h[5]);
	be_none(&t);
	ts_teardown(&t);
}

/* A chain with readable and writable bytes needs two descriptors: num 1 fails it alone. */
static void test_num_one(void)
{
	const struct gseg both[] = { { DATA, 16, false }, { DATA + 0x100, 16, true } };
	uint16_t g1, h;
	struct ts t;

	ts_setup(&t, 8, 1, 4096, 0);
	greq(&t, both, 2);
	g1 = greq1(&t, DATA + 0x200, 16, true);
	g_assert_cmpint(fwd(&t), ==, 1);
	assert_gused(&t, 0, 0, 0);
	h = be_take(&t);
	be_write_use(&t, h, 16, 1, 16);
	g_assert_cmpint(cpl(&t), ==, 1);
	assert_gused(&t, 1, g1, 16);
	ts_teardown(&t);
}

/* --- a malicious back-end --- */

static void assert_latched(struct ts *t)
{
	g_assert_cmpint(cpl(t), ==, -EPROTO);
	g_assert_cmpint(fwd(t), ==, -EPROTO);
	g_assert_false(t->kick);
}

static void test_be_bad_id(void)
{
	uint16_t h, used;
	struct ts t;

	ts_setup(&t, 8, 8, 4096, 0);
	greq1(&t, DATA, 64, true);
	g_assert_cmpint(fwd(&t), ==, 1);
	h = be_take(&t);
	fake_be_put_used(&t.be, 8, 64); /* out of range */
	g_assert_cmpint(cpl(&t), ==, -EPROTO);
	assert_latched(&t);
	g_assert_cmpuint(gused_idx(&t), ==, 0);
	ts_teardown(&t);

	ts_setup(&t, 8, 8, 4096, 0);
	greq1(&t, DATA, 64, true);
	g_assert_cmpint(fwd(&t), ==, 1);
	h = be_take(&t);
	fake_be_put_used(&t.be, (h + 1) % 8, 64); /* a free descriptor */
	g_assert_cmpint(cpl(&t), ==, -EPROTO);
	g_assert_cmpuint(gused_idx(&t), ==, 0);
	ts_teardown(&t);

	ts_setup(&t, 8, 8, 4096, 0);
	{
		const struct gseg sg[] = { { DATA, 16, false }, { DATA + 0x100, 16, true } };

		greq(&t, sg, 2);
	}
	g_assert_cmpint(fwd(&t), ==, 1);
	h = be_take(&t);
	/* the second descriptor of the chain, in flight but not a head */
	used = le16toh(((struct vring_desc *)(uintptr_t)t.be.desc)[h].next);
	g_assert_cmpuint(used, !=, h);
	fake_be_put_used(&t.be, used, 16);
	g_assert_cmpint(cpl(&t), ==, -EPROTO);
	g_assert_cmpuint(gused_idx(&t), ==, 0);
	ts_teardown(&t);
}

static void test_be_duplicate_id(void)
{
	uint16_t h0, h1;
	struct ts t;

	ts_setup(&t, 8, 8, 4096, 0);
	greq1(&t, DATA, 64, true);
	greq1(&t, DATA + 0x100, 64, true);
	g_assert_cmpint(fwd(&t), ==, 2);
	h0 = be_take(&t);
	h1 = be_take(&t);
	fake_be_put_used(&t.be, h0, 64);
	fake_be_put_used(&t.be, h0, 64);
	g_assert_cmpint(cpl(&t), ==, -EPROTO);
	g_assert_true(t.notify); /* the first one was completed */
	g_assert_cmpuint(gused_idx(&t), ==, 1);
	g_assert_cmpuint(svq_inflight(t.s), ==, 1);
	assert_latched(&t);
	(void)h1;
	ts_teardown(&t);
}

static void test_be_len_too_large(void)
{
	const struct gseg sg[] = { { DATA, 16, false }, { DATA + 0x100, 100, true } };
	uint16_t gh, h;
	struct ts t;

	ts_setup(&t, 8, 8, 4096, 0);
	gset(&t, sg, 2, 0xee);
	gh = greq(&t, sg, 2);
	g_assert_cmpint(fwd(&t), ==, 1);
	h = be_take(&t);
	be_write_use(&t, h, 100, 3, UINT32_MAX);
	g_assert_cmpint(cpl(&t), ==, 1);
	assert_gused(&t, 0, gh, 100);
	assert_guest_got(&t, sg, 2, 3, 100, 0xee);
	g_assert_cmpuint(*(uint8_t *)fake_gmem_ptr(t.fg, DATA + 0x100 + 100, 1), ==, 0);
	ts_teardown(&t);
}

static void test_be_idx_jump(void)
{
	struct ts t;

	/* more than num ahead */
	ts_setup(&t, 8, 8, 4096, 0);
	greq1(&t, DATA, 64, true);
	g_assert_cmpint(fwd(&t), ==, 1);
	be_take(&t);
	fake_be_set_used_idx(&t.be, 9);
	g_assert_cmpint(cpl(&t), ==, -EPROTO);
	g_assert_cmpuint(gused_idx(&t), ==, 0);
	ts_teardown(&t);

	/* within num, but more than in flight */
	ts_setup(&t, 8, 8, 4096, 0);
	greq1(&t, DATA, 64, true);
	g_assert_cmpint(fwd(&t), ==, 1);
	be_take(&t);
	fake_be_set_used_idx(&t.be, 2);
	g_assert_cmpint(cpl(&t), ==, -EPROTO);
	g_assert_cmpuint(gused_idx(&t), ==, 0);
	ts_teardown(&t);

	/* backwards */
	ts_setup(&t, 8, 8, 4096, 0);
	greq1(&t, DATA, 64, true);
	greq1(&t, DATA + 0x100, 64, true);
	g_assert_cmpint(fwd(&t), ==, 2);
	fake_be_use(&t.be, be_take(&t), 1);
	g_assert_cmpint(cpl(&t), ==, 1);
	fake_be_set_used_idx(&t.be, 0);
	g_assert_cmpint(cpl(&t), ==, -EPROTO);
	g_assert_cmpuint(gused_idx(&t), ==, 1);
	ts_teardown(&t);
}

/* The back-end scribbles over the rings we own: our own copies still steer completion. */
static void test_be_scribble(void)
{
	const struct gseg sg[] = { { DATA, 16, false }, { DATA + 0x100, 200, true } };
	struct svq_ring_addrs ra;
	uint16_t gh, h;
	struct ts t;

	ts_setup(&t, 8, 8, 4096, 0);
	gset(&t, sg, 2, 0xee);
	gh = greq(&t, sg, 2);
	g_assert_cmpint(fwd(&t), ==, 1);
	h = be_take(&t);
	be_write_use(&t, h, 200, 12, 200);
	svq_ring_addrs(t.s, &ra);
	memset((void *)(uintptr_t)ra.desc, 0xff, 16 * 8);
	memset((void *)(uintptr_t)ra.avail, 0xff, 4 + 2 * 8);
	g_assert_cmpint(cpl(&t), ==, 1);
	assert_gused(&t, 0, gh, 200);
	assert_guest_got(&t, sg, 2, 12, 200, 0xee);
	/* and the next request is published correctly again */
	memset((void *)(uintptr_t)ra.avail, 0, 4 + 2 * 8);
	gh = greq1(&t, DATA + 0x400, 32, false);
	g_assert_cmpint(fwd(&t), ==, 1);
	h = be_take(&t);
	g_assert_cmpuint(fake_be_req(&t.be, h)->rd_len, ==, 32);
	ts_teardown(&t);
}

/* Kick suppression: VRING_USED_F_NO_NOTIFY, or avail_event with EVENT_IDX. */
static void test_kick_suppression(void)
{
	struct ts t;

	ts_setup(&t, 8, 8, 4096, 0);
	fake_be_set_used_flags(&t.be, VRING_USED_F_NO_NOTIFY);
	greq1(&t, DATA, 64, true);
	g_assert_cmpint(fwd(&t), ==, 1);
	g_assert_false(t.kick);
	fake_be_set_used_flags(&t.be, 0);
	greq1(&t, DATA + 0x100, 64, true);
	g_assert_cmpint(fwd(&t), ==, 1);
	g_assert_true(t.kick);
	ts_teardown(&t);

	ts_setup(&t, 8, 8, 4096, 0);
	svq_set_event_idx(t.s, true);
	t.be.event_idx = true;
	fake_be_set_avail_event(&t.be, 0);
	greq1(&t, DATA, 64, true);
	g_assert_cmpint(fwd(&t), ==, 1); /* avail idx 0 -> 1 passes avail_event 0 */
	g_assert_true(t.kick);
	greq1(&t, DATA + 0x100, 64, true);
	g_assert_cmpint(fwd(&t), ==, 1); /* the back-end has not looked since: no kick */
	g_assert_false(t.kick);
	be_take(&t);
	be_take(&t); /* it wrote avail_event 2 */
	greq1(&t, DATA + 0x200, 64, true);
	g_assert_cmpint(fwd(&t), ==, 1);
	g_assert_true(t.kick);
	/* completing everything asks for a call at the next used entry */
	fake_be_use(&t.be, 0, 0);
	g_assert_cmpint(cpl(&t), ==, 1);
	g_assert_cmpuint(fake_be_used_event(&t.be), ==, 1);
	ts_teardown(&t);
}

/* --- a misbehaving guest --- */

static void test_guest_malformed(void)
{
	uint16_t g1, h;
	struct ts t;

	ts_setup(&t, 8, 8, 4096, 0);
	/* a loop: descriptor 0 points at itself */
	fake_gmem_put64(t.fg, DESC, DATA);
	fake_gmem_put32(t.fg, DESC + 8, 16);
	fake_gmem_put16(t.fg, DESC + 12, VRING_DESC_F_NEXT);
	fake_gmem_put16(t.fg, DESC + 14, 0);
	fake_gmem_put16(t.fg, AVAIL + 4, 0);
	fake_gmem_put16(t.fg, AVAIL + 2, ++t.avail_idx);
	t.next_desc = 1;
	g1 = greq1(&t, DATA + 0x100, 16, true);
	g_assert_cmpint(fwd(&t), ==, 1);
	g_assert_true(t.notify);
	assert_gused(&t, 0, 0, 0);
	h = be_take(&t);
	be_write_use(&t, h, 16, 1, 16);
	g_assert_cmpint(cpl(&t), ==, 1);
	assert_gused(&t, 1, g1, 16);
	ts_teardown(&t);
}

static void test_guest_not_ram(void)
{
	const struct gseg rd_bad[] = { { BASE + MEM_SIZE - 8, 16, false }, { DATA, 16, true } };
	const struct gseg wr_bad[] = { { DATA, 16, false },
				       { BASE + MEM_SIZE + 0x1000, 16, true } };
	uint16_t g0, g1, h;
	struct ts t;

	ts_setup(&t, 8, 8, 4096, 0);
	g0 = greq(&t, rd_bad, 2);
	g_assert_cmpint(fwd(&t), ==, 0);
	g_assert_true(t.notify);
	assert_gused(&t, 0, g0, 0);
	g_assert_cmpuint(svq_inflight(t.s), ==, 0);
	/* the bounce space it had is back: the whole budget fits */
	g1 = greq1(&t, DATA, 4096, true);
	g_assert_cmpint(fwd(&t), ==, 1);
	fake_be_use(&t.be, be_take(&t), 4096);
	g_assert_cmpint(cpl(&t), ==, 1);
	assert_gused(&t, 1, g1, 4096);
	/* a writable buffer that is not RAM fails at completion */
	g0 = greq(&t, wr_bad, 2);
	g_assert_cmpint(fwd(&t), ==, 1);
	h = be_take(&t);
	be_write_use(&t, h, 16, 1, 16);
	g_assert_cmpint(cpl(&t), ==, 1);
	g_assert_true(t.notify);
	assert_gused(&t, 2, g0, 0);
	ts_teardown(&t);
}

static void test_guest_empty_chain(void)
{
	uint16_t g0;
	struct ts t;

	ts_setup(&t, 8, 8, 4096, 0);
	g0 = greq1(&t, DATA, 0, true);
	g_assert_cmpint(fwd(&t), ==, 0);
	g_assert_true(t.notify);
	g_assert_false(t.kick);
	assert_gused(&t, 0, g0, 0);
	be_none(&t);
	ts_teardown(&t);
}

static void test_guest_broken_ring(void)
{
	struct ts t;

	ts_setup(&t, 8, 8, 4096, 0);
	fake_gmem_put16(t.fg, AVAIL + 2, 9);
	g_assert_cmpint(fwd(&t), ==, -EPROTO);
	g_assert_cmpint(fwd(&t), ==, -EPROTO);
	be_none(&t);
	ts_teardown(&t);
}

/* Guest requests that fail alone are bounded per call: -EAGAIN, then the rest. */
static void test_guest_fail_budget(void)
{
	uint16_t g, h;
	struct ts t;
	unsigned i;

	/* at least 64 per call, more with larger queues */
	ts_setup(&t, 128, 4, 4096, 0);
	for (i = 0; i < 65; i++)
		greq1(&t, DATA, 8192, true);
	g = greq1(&t, DATA, 64, true);
	g_assert_cmpint(fwd(&t), ==, -EAGAIN);
	g_assert_true(t.notify);
	g_assert_false(t.kick);
	g_assert_cmpuint(gused_idx(&t), ==, 64);
	g_assert_cmpint(fwd(&t), ==, 1);
	g_assert_cmpuint(gused_idx(&t), ==, 65);
	h = be_take(&t);
	fake_be_use(&t.be, h, 64);
	g_assert_cmpint(cpl(&t), ==, 1);
	assert_gused(&t, 65, g, 64);
	ts_teardown(&t);
}

/* --- reconnection and reset --- */

static void test_restart(void)
{
	struct gseg sg[5][2];
	uint16_t gh[5], h[5];
	bool seen[16] = { false };
	struct ts t;
	unsigned i;

	/* Bounce space for four: the fifth request is held across the restart. */
	ts_setup(&t, 16, 8, 4 * 17 * 64, 0); /* 4 + 13 chunks each */
	for (i = 0; i < 5; i++) {
		sg[i][0] = (struct gseg){ DATA + 0x2000 * i, 200 + i, false };
		sg[i][1] = (struct gseg){ DATA + 0x2000 * i + 0x1000, 800, true };
		gfill(&t, sg[i][0].gpa, sg[i][0].len, 100 + i);
		gset(&t, sg[i], 2, 0xee);
		gh[i] = greq(&t, sg[i], 2);
	}
	g_assert_cmpint(fwd(&t), ==, 4);
	/* The old back-end takes three, completes the second, scribbles, and dies. */
	for (i = 0; i < 3; i++)
		h[i] = be_take(&t);
	be_write_use(&t, h[1], 800, 201, 800);
	g_assert_cmpint(cpl(&t), ==, 1);
	memset(fake_be_req(&t.be, h[0])->buf[1].p, 77, 800); /* written, never used */
	memset(t.be.desc, 0, 16 * 8);
	g_assert_cmpint(svq_restart(t.s), ==, 3);
	g_assert_cmpuint(svq_inflight(t.s), ==, 3);
	fake_be_reset(&t.be);
	/* The new back-end sees 0, 2, 3 in order, each once, readable data intact. */
	h[0] = be_take(&t);
	h[2] = be_take(&t);
	h[3] = be_take(&t);
	be_none(&t);
	assert_be_reads(&t, h[0], sg[0], 2);
	assert_be_reads(&t, h[2], sg[2], 2);
	assert_be_reads(&t, h[3], sg[3], 2);
	be_write_use(&t, h[3], 800, 203, 800);
	be_write_use(&t, h[0], 800, 200, 800);
	be_write_use(&t, h[2], 800, 202, 800);
	g_assert_cmpint(cpl(&t), ==, 3);
	g_assert_cmpint(fwd(&t), ==, 1); /* the held one */
	h[4] = be_take(&t);
	assert_be_reads(&t, h[4], sg[4], 2);
	be_write_use(&t, h[4], 800, 204, 800);
	g_assert_cmpint(cpl(&t), ==, 1);
	/* Each guest request completed exactly once, with its own data. */
	g_assert_cmpuint(gused_idx(&t), ==, 5);
	for (i = 0; i < 5; i++) {
		uint32_t id = fake_gmem_get32(t.fg, USED + 4 + 8 * i);

		g_assert_cmpuint(id, <, 16);
		g_assert_false(seen[id]);
		seen[id] = true;
	}
	for (i = 0; i < 5; i++)
		assert_guest_got(&t, sg[i], 2, 200 + i, 800, 0xee);
	g_assert_cmpuint(vq_inflight(t.vq), ==, 0);
	(void)gh;
	ts_teardown(&t);
}

/* A back-end that broke the ring is replaced: the new one starts clean. */
static void test_restart_after_broken(void)
{
	uint16_t g0, h;
	struct ts t;

	ts_setup(&t, 8, 8, 4096, 0);
	g0 = greq1(&t, DATA, 64, true);
	g_assert_cmpint(fwd(&t), ==, 1);
	be_take(&t);
	fake_be_set_used_idx(&t.be, 5);
	g_assert_cmpint(cpl(&t), ==, -EPROTO);
	g_assert_cmpint(svq_restart(t.s), ==, 1);
	fake_be_reset(&t.be);
	h = be_take(&t);
	be_write_use(&t, h, 64, 1, 64);
	g_assert_cmpint(cpl(&t), ==, 1);
	assert_gused(&t, 0, g0, 64);
	g_assert_cmpint(svq_restart(t.s), ==, 0);
	ts_teardown(&t);
}

/* Freeing a queue with requests in flight (and one held) drops them; no leaks. */
static void test_free_inflight(void)
{
	struct ts t;
	unsigned i;

	ts_setup(&t, 8, 8, 4096, 0);
	for (i = 0; i < 5; i++)
		greq1(&t, DATA + 0x1000 * i, 1024, true);
	g_assert_cmpint(fwd(&t), ==, 4);
	be_take(&t);
	g_assert_cmpuint(gused_idx(&t), ==, 0);
	ts_teardown(&t); /* leaks show up under ASan */
}

static GLogWriterOutput count_warnings(GLogLevelFlags level, const GLogField *fields, gsize n,
				       gpointer user_data)
{
	if (level & G_LOG_LEVEL_WARNING)
		warnings++;
	if (g_test_verbose())
		return g_log_writer_default(level, fields, n, user_data);
	return G_LOG_WRITER_HANDLED;
}

/* --- blocks and filters --- */

static void test_block(void)
{
	struct svq_area *a = NULL;
	struct svq_block *b1 = NULL, *b2 = NULL, *b3 = NULL;

	g_assert_cmpint(svq_area_new(4 * 4096, "t", &a), ==, 0);
	g_assert_cmpint(svq_block_new(a, 0, &b1), ==, -EINVAL);
	g_assert_cmpint(svq_block_new(a, 5 * 4096, &b1), ==, -ENOMEM);
	g_assert_cmpint(svq_block_new(a, 100, &b1), ==, 0);
	g_assert_cmpuint(svq_block_size(b1), ==, 4096);
	g_assert_cmpint(svq_block_new(a, 3 * 4096, &b2), ==, 0);
	g_assert_cmpint(svq_block_new(a, 1, &b3), ==, -ENOMEM); /* full */
	g_assert_true(svq_block_va(b1) == (uint8_t *)svq_area_va(a));
	g_assert_cmpuint(svq_block_gpa(b2), ==, SVQ_AREA_GPA + 4096);
	memset(svq_block_va(b1), 0x5a, 4096);
	svq_block_free(b1);
	/* the freed run is reused, and reads as zeros again */
	g_assert_cmpint(svq_block_new(a, 4096, &b3), ==, 0);
	g_assert_cmpuint(svq_block_gpa(b3), ==, SVQ_AREA_GPA);
	g_assert_cmpuint(svq_block_va(b3)[0], ==, 0);
	g_assert_cmpuint(svq_block_va(b3)[4095], ==, 0);
	svq_block_free(b3);
	svq_block_free(b2);
	svq_block_free(NULL);
	svq_area_free(a);
}

struct svq_cookie {
	uint32_t tag;
};

/* A filter that rewrites byte 0 of each request, answers requests starting with 'R'. */
struct tfilter {
	struct svq_filter f;
	struct svq_cookie cookies[4];
	unsigned requests, responses, drops;
	uint32_t last_len;
	uint8_t last_written[4];
	bool bad_ranges_refused;
};

static enum svq_verdict tf_request(struct svq_filter *f, struct svq_freq *r)
{
	struct tfilter *t = container_of(f, struct tfilter, f);
	uint8_t b = 0, x = 'X';

	g_assert_cmpint(svq_freq_read(r, 0, &b, 1), ==, 0);
	t->bad_ranges_refused = svq_freq_read(r, r->rd_len, &b, 1) == -EINVAL &&
				svq_freq_read(r, UINT64_MAX, &b, 2) == -EINVAL &&
				svq_freq_write(r, r->rd_len - 1, &x, 2) == -EINVAL;
	t->requests++;
	if (b == 'R') {
		memcpy(r->reply, "local", 5);
		r->reply_len = 5;
		return SVQ_FILTER_REPLY;
	}
	g_assert_cmpint(svq_freq_write(r, 0, &x, 1), ==, 0);
	r->cookie = &t->cookies[t->requests % 4];
	r->cookie->tag = t->requests;
	return SVQ_FILTER_FORWARD;
}

static void tf_response(struct svq_filter *f, struct svq_freq *r, uint32_t len)
{
	struct tfilter *t = container_of(f, struct tfilter, f);

	g_assert_nonnull(r->cookie);
	t->responses++;
	t->last_len = len;
	memset(t->last_written, 0, sizeof(t->last_written));
	g_assert_cmpint(svq_freq_read_written(r, 0, t->last_written, MIN(len, 4)), ==, 0);
	g_assert_cmpint(svq_freq_read_written(r, r->wr_len, t->last_written, 1), ==, -EINVAL);
}

static void tf_drop(struct svq_filter *f, struct svq_cookie *c)
{
	struct tfilter *t = container_of(f, struct tfilter, f);

	g_assert_nonnull(c);
	t->drops++;
}

static const struct svq_filter_ops tf_ops = { .request = tf_request,
					      .response = tf_response,
					      .drop = tf_drop };

static void test_filter(void)
{
	struct tfilter tf = { .f.ops = &tf_ops };
	struct gseg sg[3] = { { DATA, 100, false },
			      { DATA + 0x1000, 200, false },
			      { DATA + 0x2000, 64, true } };
	struct ts t;
	uint8_t b[300];
	uint16_t head;

	ts_setup(&t, 8, 8, 64 * 1024, 0);
	svq_set_filter(t.s, &tf.f);
	/* forwarded, rewritten: the back-end sees 'X' first, the rest as the guest wrote */
	gfill(&t, DATA, 100, 1);
	gfill(&t, DATA + 0x1000, 200, 2);
	((uint8_t *)fake_gmem_ptr(t.fg, DATA, 1))[0] = 'a';
	greq(&t, sg, 3);
	g_assert_cmpint(fwd(&t), ==, 1);
	g_assert_true(tf.bad_ranges_refused);
	head = be_take(&t);
	g_assert_cmpuint(fake_be_read(fake_be_req(&t.be, head), 0, b, 300), ==, 300);
	g_assert_cmpuint(b[0], ==, 'X');
	g_assert_cmpmem(b + 1, 99, fake_gmem_ptr(t.fg, DATA + 1, 99), 99);
	g_assert_cmpmem(b + 100, 200, fake_gmem_ptr(t.fg, DATA + 0x1000, 200), 200);
	be_write_use(&t, head, 10, 3, 10);
	g_assert_cmpint(cpl(&t), ==, 1);
	g_assert_cmpuint(tf.responses, ==, 1);
	g_assert_cmpuint(tf.last_len, ==, 10);
	g_assert_cmpuint(tf.last_written[0], ==, pat(3, 0));
	assert_gused(&t, 0, 0, 10);
	/* answered locally: never reaches the back-end, the guest gets the reply */
	((uint8_t *)fake_gmem_ptr(t.fg, DATA, 1))[0] = 'R';
	greq(&t, sg, 3);
	g_assert_cmpint(fwd(&t), ==, 0);
	be_none(&t);
	g_assert_true(t.notify);
	g_assert_cmpuint(gused_idx(&t), ==, 2);
	assert_gused(&t, 1, 3, 5);
	g_assert_cmpmem(fake_gmem_ptr(t.fg, DATA + 0x2000, 5), 5, "local", 5);
	/* dropped in flight: the filter gets its cookie back */
	((uint8_t *)fake_gmem_ptr(t.fg, DATA, 1))[0] = 'a';
	greq(&t, sg, 3);
	g_assert_cmpint(fwd(&t), ==, 1);
	ts_teardown(&t);
	g_assert_cmpuint(tf.drops, ==, 1);
	g_assert_cmpuint(tf.requests, ==, 3);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	/* Negative tests make the code under test warn; that is expected, not fatal. */
	g_log_set_always_fatal(G_LOG_FATAL_MASK);
	g_log_set_writer_func(count_warnings, NULL, NULL);

	g_test_add_func("/svq/area/new", test_area);
	g_test_add_func("/svq/new/params", test_new_params);
	g_test_add_func("/svq/blk/write", test_blk_write);
	g_test_add_func("/svq/blk/read", test_blk_read);
	g_test_add_func("/svq/net/tx-rx", test_net);
	g_test_add_func("/svq/complete/out-of-order", test_out_of_order);
	g_test_add_func("/svq/bounce/exhaustion", test_bounce_exhaustion);
	g_test_add_func("/svq/bounce/fragments", test_bounce_fragments);
	g_test_add_func("/svq/bounce/many-pieces", test_bounce_many_pieces);
	g_test_add_func("/svq/bounce/too-many-pieces", test_bounce_too_many_pieces);
	g_test_add_func("/svq/bounce/too-large", test_bounce_too_large);
	g_test_add_func("/svq/desc/exhaustion", test_desc_exhaustion);
	g_test_add_func("/svq/desc/num-one", test_num_one);
	g_test_add_func("/svq/backend/bad-id", test_be_bad_id);
	g_test_add_func("/svq/backend/duplicate-id", test_be_duplicate_id);
	g_test_add_func("/svq/backend/len-too-large", test_be_len_too_large);
	g_test_add_func("/svq/backend/idx-jump", test_be_idx_jump);
	g_test_add_func("/svq/backend/scribble", test_be_scribble);
	g_test_add_func("/svq/kick/suppression", test_kick_suppression);
	g_test_add_func("/svq/guest/malformed-chain", test_guest_malformed);
	g_test_add_func("/svq/guest/not-ram", test_guest_not_ram);
	g_test_add_func("/svq/guest/empty-chain", test_guest_empty_chain);
	g_test_add_func("/svq/guest/broken-ring", test_guest_broken_ring);
	g_test_add_func("/svq/guest/fail-budget", test_guest_fail_budget);
	g_test_add_func("/svq/restart/in-flight", test_restart);
	g_test_add_func("/svq/restart/after-broken", test_restart_after_broken);
	g_test_add_func("/svq/free/in-flight", test_free_inflight);
	g_test_add_func("/svq/block/alloc", test_block);
	g_test_add_func("/svq/filter/rewrite-reply-drop", test_filter);
	return g_test_run();
}
