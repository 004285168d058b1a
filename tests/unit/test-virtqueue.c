/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests of the split-virtqueue engine (devices/virtqueue.c) over fake guest memory.
 * Trust boundary: none (test code); the tests play a misbehaving guest driver.
 */
#include <errno.h>
#include <string.h>
#include <glib.h>
#include <linux/virtio_ring.h>

#include "devices/vdev.h"
#include "devices/virtqueue.h"
#include "tests/support/fake-gmem.h"

#define BASE	 0x100000ULL
#define MEM_SIZE 0x100000ULL
#define DESC	 (BASE + 0x0000)
#define AVAIL	 (BASE + 0x4000)
#define USED	 (BASE + 0x6000)
#define TABLE	 (BASE + 0x10000) /* indirect tables */
#define DATA	 (BASE + 0x40000) /* buffers */
#define F_EVENT	 (1ULL << VIRTIO_RING_F_EVENT_IDX)
#define F_INDIR	 (1ULL << VIRTIO_RING_F_INDIRECT_DESC)
#define D_NEXT	 VRING_DESC_F_NEXT
#define D_WRITE	 VRING_DESC_F_WRITE
#define D_INDIR	 VRING_DESC_F_INDIRECT

/* One queue, driven from the test as the driver would. */
struct tq {
	struct fake_gmem *fg;
	struct vdev_queue q;
	struct vq *vq;
	struct vq_elem e;
	uint16_t avail_idx; /* the driver's next avail entry */
};

static void tq_setup(struct tq *t, uint16_t num, uint64_t features)
{
	memset(t, 0, sizeof(*t));
	t->fg = fake_gmem_new(BASE, MEM_SIZE);
	t->q = (struct vdev_queue){ .num_max = num,
				    .num = num,
				    .ready = true,
				    .desc = DESC,
				    .avail = AVAIL,
				    .used = USED };
	g_assert_cmpint(vq_new(&t->fg->gmem, &t->q, features, "test:q0", &t->vq), ==, 0);
	vq_elem_init(&t->e);
}

static void tq_teardown(struct tq *t)
{
	vq_elem_fini(&t->e);
	vq_free(t->vq);
	fake_gmem_free(t->fg);
}

static void put_desc(struct tq *t, uint64_t table, unsigned i, uint64_t addr, uint32_t len,
		     uint16_t flags, uint16_t next)
{
	uint64_t d = table + 16ULL * i;

	fake_gmem_put64(t->fg, d, addr);
	fake_gmem_put32(t->fg, d + 8, len);
	fake_gmem_put16(t->fg, d + 12, flags);
	fake_gmem_put16(t->fg, d + 14, next);
}

static void set_desc(struct tq *t, unsigned i, uint64_t addr, uint32_t len, uint16_t flags,
		     uint16_t next)
{
	put_desc(t, DESC, i, addr, len, flags, next);
}

/* Make the chain at head available (ring entry, then idx). */
static void offer(struct tq *t, uint16_t head)
{
	fake_gmem_put16(t->fg, AVAIL + 4 + 2 * (t->avail_idx % t->q.num), head);
	t->avail_idx++;
	fake_gmem_put16(t->fg, AVAIL + 2, t->avail_idx);
}

static uint16_t used_idx(struct tq *t)
{
	return fake_gmem_get16(t->fg, USED + 2);
}

static void assert_used(struct tq *t, uint16_t pos, uint32_t id, uint32_t len)
{
	uint64_t u = USED + 4 + 8ULL * (pos % t->q.num);

	g_assert_cmpuint(fake_gmem_get32(t->fg, u), ==, id);
	g_assert_cmpuint(fake_gmem_get32(t->fg, u + 4), ==, len);
}

/* A well-formed one-descriptor writable request at head i, used to show that the
 * queue still works after a bad request. */
static void assert_next_works(struct tq *t, uint16_t i)
{
	uint16_t before = used_idx(t);

	set_desc(t, i, DATA + 0x1000, 32, D_WRITE, 0);
	offer(t, i);
	g_assert_cmpint(vq_pop(t->vq, &t->e), ==, 1);
	g_assert_cmpuint(t->e.head, ==, i);
	g_assert_cmpuint(t->e.n_wr, ==, 1);
	g_assert_cmpint(vq_push(t->vq, &t->e, 32), ==, 0);
	g_assert_cmpuint(used_idx(t), ==, (uint16_t)(before + 1));
	assert_used(t, before, i, 32);
}

/* Offer head, expect vq_pop to complete it with len 0 itself and report an empty ring. */
static void assert_rejected(struct tq *t, uint16_t head)
{
	uint16_t before = used_idx(t);

	offer(t, head);
	g_assert_cmpint(vq_pop(t->vq, &t->e), ==, 0);
	g_assert_cmpuint(used_idx(t), ==, (uint16_t)(before + 1));
	assert_used(t, before, head, 0);
	g_assert_cmpuint(vq_inflight(t->vq), ==, 0);
	g_assert_false(vq_is_broken(t->vq));
}

/* --- setup --- */

static void test_new_bad_layout(void)
{
	struct fake_gmem *fg = fake_gmem_new(BASE, MEM_SIZE);
	struct vdev_queue q = { .num = 8, .desc = DESC, .avail = AVAIL, .used = USED };
	struct vq *vq = NULL;
	struct vdev_queue b;

	b = q, b.num = 0;
	g_assert_cmpint(vq_new(&fg->gmem, &b, 0, "t", &vq), ==, -EINVAL);
	b = q, b.num = 6;
	g_assert_cmpint(vq_new(&fg->gmem, &b, 0, "t", &vq), ==, -EINVAL);
	b = q, b.desc = DESC + 8;
	g_assert_cmpint(vq_new(&fg->gmem, &b, 0, "t", &vq), ==, -EINVAL);
	b = q, b.avail = AVAIL + 1;
	g_assert_cmpint(vq_new(&fg->gmem, &b, 0, "t", &vq), ==, -EINVAL);
	b = q, b.used = USED + 2;
	g_assert_cmpint(vq_new(&fg->gmem, &b, 0, "t", &vq), ==, -EINVAL);
	b = q, b.desc = UINT64_MAX - 15; /* 8 descriptors wrap */
	g_assert_cmpint(vq_new(&fg->gmem, &b, 0, "t", &vq), ==, -EINVAL);
	b = q, b.used = UINT64_MAX - 31;
	g_assert_cmpint(vq_new(&fg->gmem, &b, 0, "t", &vq), ==, -EINVAL);
	g_assert_null(vq);
	b = q, b.num = 32768;
	g_assert_cmpint(vq_new(&fg->gmem, &b, 0, "t", &vq), ==, 0);
	vq_free(vq);
	vq_free(NULL);
	fake_gmem_free(fg);
}

/* --- well-formed chains --- */

static void test_pop_empty(void)
{
	struct tq t;

	tq_setup(&t, 8, 0);
	g_assert_cmpint(vq_pop(t.vq, &t.e), ==, 0);
	g_assert_false(vq_should_notify(t.vq));
	tq_teardown(&t);
}

static void test_pop_chain(void)
{
	struct tq t;

	tq_setup(&t, 8, 0);
	set_desc(&t, 5, DATA, 16, D_NEXT, 2);
	set_desc(&t, 2, DATA + 0x100, 0, D_NEXT, 7); /* empty: dropped */
	set_desc(&t, 7, DATA + 0x200, 100, D_NEXT | D_WRITE, 0);
	set_desc(&t, 0, DATA + 0x300, 28, D_WRITE, 3); /* next ignored without NEXT */
	offer(&t, 5);
	g_assert_cmpint(vq_pop(t.vq, &t.e), ==, 1);
	g_assert_cmpuint(t.e.head, ==, 5);
	g_assert_cmpuint(t.e.n_rd, ==, 1);
	g_assert_cmpuint(t.e.n_wr, ==, 2);
	g_assert_cmpuint(t.e.rd_len, ==, 16);
	g_assert_cmpuint(t.e.wr_len, ==, 128);
	g_assert_cmpuint(t.e.seg[0].gpa, ==, DATA);
	g_assert_cmpuint(t.e.seg[1].gpa, ==, DATA + 0x200);
	g_assert_cmpuint(t.e.seg[1].len, ==, 100);
	g_assert_cmpuint(t.e.seg[2].gpa, ==, DATA + 0x300);
	g_assert_cmpuint(vq_inflight(t.vq), ==, 1);
	g_assert_cmpint(vq_pop(t.vq, &t.e), ==, 0);
	tq_teardown(&t);
}

static void test_pop_full_length_chain(void)
{
	struct tq t;
	unsigned i;

	/* A chain of exactly num descriptors is legal (virtio 1.2 §2.7.5). */
	tq_setup(&t, 8, 0);
	for (i = 0; i < 8; i++)
		set_desc(&t, i, DATA + 0x100 * i, 8, D_WRITE | (i < 7 ? D_NEXT : 0), i + 1);
	offer(&t, 0);
	g_assert_cmpint(vq_pop(t.vq, &t.e), ==, 1);
	g_assert_cmpuint(t.e.n_wr, ==, 8);
	g_assert_cmpuint(t.e.wr_len, ==, 64);
	tq_teardown(&t);
}

static void test_push_used_ring(void)
{
	struct tq t;

	tq_setup(&t, 4, 0);
	set_desc(&t, 3, DATA, 64, D_WRITE, 0);
	set_desc(&t, 1, DATA + 0x100, 64, D_WRITE, 0);
	offer(&t, 3);
	offer(&t, 1);
	g_assert_cmpint(vq_pop(t.vq, &t.e), ==, 1);
	g_assert_cmpuint(t.e.head, ==, 3);
	g_assert_cmpint(vq_push(t.vq, &t.e, 10), ==, 0);
	g_assert_cmpuint(used_idx(&t), ==, 1);
	assert_used(&t, 0, 3, 10);
	g_assert_cmpint(vq_pop(t.vq, &t.e), ==, 1);
	g_assert_cmpuint(t.e.head, ==, 1);
	/* a device claiming more than the writable length is clamped */
	g_assert_cmpint(vq_push(t.vq, &t.e, 1000), ==, 0);
	g_assert_cmpuint(used_idx(&t), ==, 2);
	assert_used(&t, 1, 1, 64);
	/* nothing in flight: a device bug, refused */
	g_assert_cmpint(vq_push(t.vq, &t.e, 0), ==, -EINVAL);
	g_assert_cmpuint(used_idx(&t), ==, 2);
	tq_teardown(&t);
}

static void test_copy(void)
{
	uint8_t in[64], out[64];
	struct tq t;
	unsigned i;

	for (i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(i + 1);
	tq_setup(&t, 8, 0);
	set_desc(&t, 0, DATA, 10, D_NEXT, 1);
	set_desc(&t, 1, DATA + 0x100, 6, D_NEXT, 2);
	set_desc(&t, 2, DATA + 0x200, 5, D_NEXT | D_WRITE, 3);
	set_desc(&t, 3, DATA + 0x300, 20, D_WRITE, 0);
	memcpy(fake_gmem_ptr(t.fg, DATA, 10), in, 10);
	memcpy(fake_gmem_ptr(t.fg, DATA + 0x100, 6), in + 10, 6);
	offer(&t, 0);
	g_assert_cmpint(vq_pop(t.vq, &t.e), ==, 1);

	/* readable: all, from an offset across the boundary, past the end */
	memset(out, 0, sizeof(out));
	g_assert_cmpint(vq_elem_from_guest(t.vq, &t.e, 0, out, sizeof(out)), ==, 16);
	g_assert_cmpmem(out, 16, in, 16);
	g_assert_cmpint(vq_elem_from_guest(t.vq, &t.e, 8, out, 4), ==, 4);
	g_assert_cmpmem(out, 4, in + 8, 4);
	g_assert_cmpint(vq_elem_from_guest(t.vq, &t.e, 16, out, 4), ==, 0);

	/* writable: 5 + 20 bytes, starting 3 bytes in */
	g_assert_cmpint(vq_elem_to_guest(t.vq, &t.e, 3, in, sizeof(in)), ==, 22);
	g_assert_cmpmem(fake_gmem_ptr(t.fg, DATA + 0x203, 2), 2, in, 2);
	g_assert_cmpmem(fake_gmem_ptr(t.fg, DATA + 0x300, 20), 20, in + 2, 20);
	g_assert_cmpuint(*(uint8_t *)fake_gmem_ptr(t.fg, DATA + 0x200, 1), ==, 0);
	/* readable buffers are never written */
	g_assert_cmpmem(fake_gmem_ptr(t.fg, DATA, 10), 10, in, 10);
	tq_teardown(&t);
}

static void test_copy_fault(void)
{
	uint8_t buf[16] = { 0 };
	struct tq t;

	/* Buffers outside guest RAM are found when copying: the device fails the request. */
	tq_setup(&t, 8, 0);
	set_desc(&t, 0, 0x1000, 16, D_NEXT, 1);
	set_desc(&t, 1, BASE + MEM_SIZE - 8, 16, D_WRITE, 0);
	offer(&t, 0);
	g_assert_cmpint(vq_pop(t.vq, &t.e), ==, 1);
	g_assert_cmpint(vq_elem_from_guest(t.vq, &t.e, 0, buf, 16), ==, -EFAULT);
	g_assert_cmpint(vq_elem_to_guest(t.vq, &t.e, 0, buf, 16), ==, -EFAULT);
	g_assert_cmpint(vq_push(t.vq, &t.e, 0), ==, 0);
	assert_used(&t, 0, 0, 0);
	assert_next_works(&t, 2);
	tq_teardown(&t);
}

/* --- malformed chains: that request fails with len 0, the next one works --- */

static void test_chain_head_out_of_range(void)
{
	struct tq t;

	tq_setup(&t, 8, 0);
	assert_rejected(&t, 8);
	assert_rejected(&t, 0xffff);
	assert_next_works(&t, 0);
	tq_teardown(&t);
}

static void test_chain_next_out_of_range(void)
{
	struct tq t;

	tq_setup(&t, 8, 0);
	set_desc(&t, 1, DATA, 16, D_NEXT, 8);
	assert_rejected(&t, 1);
	assert_next_works(&t, 1);
	tq_teardown(&t);
}

static void test_chain_loop(void)
{
	struct tq t;

	tq_setup(&t, 8, 0);
	set_desc(&t, 0, DATA, 16, D_WRITE | D_NEXT, 1);
	set_desc(&t, 1, DATA, 16, D_WRITE | D_NEXT, 0);
	assert_rejected(&t, 0);
	set_desc(&t, 3, DATA, 16, D_WRITE | D_NEXT, 3); /* self loop */
	assert_rejected(&t, 3);
	assert_next_works(&t, 4);
	tq_teardown(&t);
}

static void test_chain_too_long(void)
{
	struct tq t;
	unsigned i;

	/* num + 1 descriptors reachable only by visiting one twice: rejected. */
	tq_setup(&t, 8, 0);
	for (i = 0; i < 8; i++)
		set_desc(&t, i, DATA, 8, D_WRITE | D_NEXT, (i + 1) % 8);
	assert_rejected(&t, 0);
	assert_next_works(&t, 7);
	tq_teardown(&t);
}

static void test_chain_readable_after_writable(void)
{
	struct tq t;

	tq_setup(&t, 8, 0);
	set_desc(&t, 0, DATA, 16, D_WRITE | D_NEXT, 1);
	set_desc(&t, 1, DATA + 0x100, 16, 0, 0);
	assert_rejected(&t, 0);
	assert_next_works(&t, 2);
	tq_teardown(&t);
}

static void test_chain_addr_overflow(void)
{
	struct tq t;

	tq_setup(&t, 8, 0);
	set_desc(&t, 0, UINT64_MAX - 7, 16, D_WRITE, 0);
	assert_rejected(&t, 0);
	/* exactly up to the top of the address space does not wrap (and faults later) */
	set_desc(&t, 1, UINT64_MAX - 15, 16, D_WRITE, 0);
	offer(&t, 1);
	g_assert_cmpint(vq_pop(t.vq, &t.e), ==, 1);
	g_assert_cmpint(vq_push(t.vq, &t.e, 0), ==, 0);
	assert_next_works(&t, 2);
	tq_teardown(&t);
}

static void test_chain_total_overflow(void)
{
	struct tq t;

	tq_setup(&t, 8, 0);
	set_desc(&t, 0, DATA, 0xffffffff, D_WRITE | D_NEXT, 1);
	set_desc(&t, 1, DATA, 1, D_WRITE, 0);
	assert_rejected(&t, 0);
	set_desc(&t, 2, DATA, 0x80000000, D_NEXT, 3);
	set_desc(&t, 3, DATA, 0x80000000, D_WRITE, 0);
	assert_rejected(&t, 2);
	assert_next_works(&t, 4);
	tq_teardown(&t);
}

static void test_chain_desc_table_fault(void)
{
	struct tq t;

	/* A descriptor table outside guest RAM fails every request, not the ring. */
	tq_setup(&t, 8, 0);
	vq_free(t.vq);
	t.q.desc = 0x1000;
	g_assert_cmpint(vq_new(&t.fg->gmem, &t.q, 0, "test:q0", &t.vq), ==, 0);
	assert_rejected(&t, 0);
	assert_rejected(&t, 1);
	tq_teardown(&t);
}

static void test_chain_many_bad(void)
{
	struct tq t;
	unsigned i;

	/* A whole ring of bad chains: each completed with len 0, then empty. */
	tq_setup(&t, 8, 0);
	for (i = 0; i < 8; i++)
		offer(&t, 100 + i);
	g_assert_cmpint(vq_pop(t.vq, &t.e), ==, 0);
	g_assert_cmpuint(used_idx(&t), ==, 8);
	for (i = 0; i < 8; i++)
		assert_used(&t, i, 100 + i, 0);
	assert_next_works(&t, 0);
	tq_teardown(&t);
}

/* The "guest" keeps refilling bad chains while we walk them. */
static void refill_bad(struct fake_gmem *fg, bool write, uint64_t gpa, size_t len)
{
	uint16_t idx;

	if (write || gpa != AVAIL + 2)
		return;
	idx = fake_gmem_get16(fg, AVAIL + 2);
	fake_gmem_put16(fg, AVAIL + 4 + 2 * (idx % 4), 0xbad);
	fake_gmem_put16(fg, AVAIL + 2, idx + 1);
}

static void test_chain_endless_bad(void)
{
	struct tq t;

	tq_setup(&t, 4, 0);
	t.fg->on_access = refill_bad;
	g_assert_cmpint(vq_pop(t.vq, &t.e), ==, -EAGAIN);
	g_assert_cmpuint(used_idx(&t), ==, 4);
	g_assert_false(vq_is_broken(t.vq));
	/* the guest stops: the one it added last is completed, then the ring is empty */
	t.fg->on_access = NULL;
	g_assert_cmpint(vq_pop(t.vq, &t.e), ==, 0);
	g_assert_cmpuint(used_idx(&t), ==, 5);
	t.avail_idx = fake_gmem_get16(t.fg, AVAIL + 2);
	assert_next_works(&t, 1);
	tq_teardown(&t);
}

/* --- indirect descriptors (virtio 1.2 §2.7.5.3) --- */

static void test_indirect(void)
{
	struct tq t;

	tq_setup(&t, 8, F_INDIR);
	put_desc(&t, TABLE, 0, DATA, 16, D_NEXT, 2);
	put_desc(&t, TABLE, 2, DATA + 0x100, 32, D_NEXT | D_WRITE, 1);
	put_desc(&t, TABLE, 1, DATA + 0x200, 64, D_WRITE, 0);
	/* the WRITE flag of the descriptor that points to the table is ignored */
	set_desc(&t, 4, TABLE, 3 * 16, D_INDIR | D_WRITE, 0);
	offer(&t, 4);
	g_assert_cmpint(vq_pop(t.vq, &t.e), ==, 1);
	g_assert_cmpuint(t.e.head, ==, 4);
	g_assert_cmpuint(t.e.n_rd, ==, 1);
	g_assert_cmpuint(t.e.n_wr, ==, 2);
	g_assert_cmpuint(t.e.wr_len, ==, 96);
	g_assert_cmpuint(t.e.seg[2].gpa, ==, DATA + 0x200);
	g_assert_cmpint(vq_push(t.vq, &t.e, 96), ==, 0);
	assert_used(&t, 0, 4, 96);
	tq_teardown(&t);
}

static void test_indirect_after_direct(void)
{
	struct tq t;

	/* zero or more direct descriptors, then one indirect (§2.7.5.3.2) */
	tq_setup(&t, 8, F_INDIR);
	set_desc(&t, 0, DATA, 8, D_NEXT, 1);
	set_desc(&t, 1, TABLE, 16, D_INDIR, 0);
	put_desc(&t, TABLE, 0, DATA + 0x100, 8, D_WRITE, 0);
	offer(&t, 0);
	g_assert_cmpint(vq_pop(t.vq, &t.e), ==, 1);
	g_assert_cmpuint(t.e.n_rd, ==, 1);
	g_assert_cmpuint(t.e.n_wr, ==, 1);
	g_assert_cmpuint(t.e.seg[1].gpa, ==, DATA + 0x100);
	tq_teardown(&t);
}

static void test_indirect_max(void)
{
	struct tq t;
	unsigned i;

	tq_setup(&t, 8, F_INDIR);
	for (i = 0; i < VQ_INDIRECT_MAX; i++)
		put_desc(&t, TABLE, i, DATA + i, 1,
			 D_WRITE | (i + 1 < VQ_INDIRECT_MAX ? D_NEXT : 0), i + 1);
	set_desc(&t, 0, TABLE, 16 * VQ_INDIRECT_MAX, D_INDIR, 0);
	offer(&t, 0);
	g_assert_cmpint(vq_pop(t.vq, &t.e), ==, 1);
	g_assert_cmpuint(t.e.n_wr, ==, VQ_INDIRECT_MAX);
	g_assert_cmpuint(t.e.wr_len, ==, VQ_INDIRECT_MAX);
	g_assert_cmpint(vq_push(t.vq, &t.e, 0), ==, 0);
	/* one more entry is too large */
	set_desc(&t, 0, TABLE, 16 * (VQ_INDIRECT_MAX + 1), D_INDIR, 0);
	assert_rejected(&t, 0);
	tq_teardown(&t);
}

static void test_indirect_bad(void)
{
	struct tq t;

	tq_setup(&t, 8, F_INDIR);
	put_desc(&t, TABLE, 0, DATA, 16, D_WRITE, 0);
	put_desc(&t, TABLE + 0x100, 0, TABLE, 16, D_INDIR, 0);	       /* points to a table */
	put_desc(&t, TABLE + 0x200, 0, DATA, 16, D_WRITE | D_NEXT, 2); /* next outside */
	put_desc(&t, TABLE + 0x200, 1, DATA, 16, D_WRITE, 0);
	put_desc(&t, TABLE + 0x300, 0, DATA, 16, D_WRITE | D_NEXT, 1); /* loop */
	put_desc(&t, TABLE + 0x300, 1, DATA, 16, D_WRITE | D_NEXT, 0);
	put_desc(&t, TABLE + 0x400, 0, DATA, 16, D_WRITE | D_NEXT, 1); /* rd after wr */
	put_desc(&t, TABLE + 0x400, 1, DATA, 16, 0, 0);

	set_desc(&t, 0, TABLE, 24, D_INDIR, 0); /* not a multiple of 16 */
	assert_rejected(&t, 0);
	set_desc(&t, 0, TABLE, 0, D_INDIR, 0); /* empty */
	assert_rejected(&t, 0);
	set_desc(&t, 0, TABLE + 0x100, 16, D_INDIR, 0); /* nested */
	assert_rejected(&t, 0);
	set_desc(&t, 0, TABLE + 0x200, 32, D_INDIR, 0);
	assert_rejected(&t, 0);
	set_desc(&t, 0, TABLE + 0x300, 32, D_INDIR, 0);
	assert_rejected(&t, 0);
	set_desc(&t, 0, TABLE + 0x400, 32, D_INDIR, 0);
	assert_rejected(&t, 0);
	set_desc(&t, 0, TABLE, 16, D_INDIR | D_NEXT, 1); /* INDIRECT with NEXT */
	assert_rejected(&t, 0);
	set_desc(&t, 0, 0x1000, 16, D_INDIR, 0); /* table not guest RAM */
	assert_rejected(&t, 0);
	set_desc(&t, 0, UINT64_MAX - 15, 32, D_INDIR, 0); /* table wraps */
	assert_rejected(&t, 0);
	/* a readable buffer in the table after a writable direct descriptor */
	put_desc(&t, TABLE + 0x500, 0, DATA, 16, 0, 0);
	set_desc(&t, 1, DATA, 16, D_WRITE | D_NEXT, 0);
	set_desc(&t, 0, TABLE + 0x500, 16, D_INDIR, 0);
	assert_rejected(&t, 1);
	assert_next_works(&t, 0);
	tq_teardown(&t);
}

static void test_indirect_not_negotiated(void)
{
	struct tq t;

	tq_setup(&t, 8, 0);
	put_desc(&t, TABLE, 0, DATA, 16, D_WRITE, 0);
	set_desc(&t, 0, TABLE, 16, D_INDIR, 0);
	assert_rejected(&t, 0);
	assert_next_works(&t, 0);
	tq_teardown(&t);
}

/* --- the ring itself --- */

static void test_avail_too_far_ahead(void)
{
	struct tq t;

	tq_setup(&t, 8, 0);
	fake_gmem_put16(t.fg, AVAIL + 2, 9);
	g_assert_cmpint(vq_pop(t.vq, &t.e), ==, -EPROTO);
	g_assert_true(vq_is_broken(t.vq));
	/* latched, even if the guest puts it back */
	fake_gmem_put16(t.fg, AVAIL + 2, 0);
	g_assert_cmpint(vq_pop(t.vq, &t.e), ==, -EPROTO);
	g_assert_cmpint(vq_push(t.vq, &t.e, 0), ==, -EPROTO);
	g_assert_cmpuint(used_idx(&t), ==, 0);
	tq_teardown(&t);

	/* "behind" us is the same as far ahead (the index may not go back) */
	tq_setup(&t, 8, 0);
	assert_next_works(&t, 0);
	fake_gmem_put16(t.fg, AVAIL + 2, 0);
	g_assert_cmpint(vq_pop(t.vq, &t.e), ==, -EPROTO);
	tq_teardown(&t);

	/* exactly num ahead is a full ring, fine */
	tq_setup(&t, 8, 0);
	fake_gmem_put16(t.fg, AVAIL + 2, 8);
	g_assert_cmpint(vq_pop(t.vq, &t.e), ==, 1);
	tq_teardown(&t);
}

static void test_avail_wrap(void)
{
	struct tq t;
	unsigned i;

	tq_setup(&t, 4, 0);
	g_assert_cmpint(vq_set_last_avail(t.vq, 65534), ==, 0);
	g_assert_cmpuint(vq_last_avail(t.vq), ==, 65534);
	fake_gmem_put16(t.fg, USED + 2, 65534);
	t.avail_idx = 65534;
	for (i = 0; i < 4; i++) {
		set_desc(&t, i, DATA + 0x100 * i, 4, D_WRITE, 0);
		offer(&t, i);
	}
	g_assert_cmpuint(t.avail_idx, ==, 2);
	for (i = 0; i < 4; i++) {
		g_assert_cmpint(vq_pop(t.vq, &t.e), ==, 1);
		g_assert_cmpuint(t.e.head, ==, i);
		g_assert_cmpint(vq_push(t.vq, &t.e, i), ==, 0);
	}
	g_assert_cmpint(vq_pop(t.vq, &t.e), ==, 0);
	g_assert_cmpuint(used_idx(&t), ==, 2);
	assert_used(&t, 65535, 1, 1);
	assert_used(&t, 0, 2, 2);
	g_assert_cmpuint(vq_last_avail(t.vq), ==, 2);
	tq_teardown(&t);
}

static void test_avail_fault(void)
{
	struct tq t;

	tq_setup(&t, 8, 0);
	vq_free(t.vq);
	t.q.avail = 0x2000;
	g_assert_cmpint(vq_new(&t.fg->gmem, &t.q, 0, "test:q0", &t.vq), ==, 0);
	g_assert_cmpint(vq_pop(t.vq, &t.e), ==, -EFAULT);
	g_assert_true(vq_is_broken(t.vq));
	tq_teardown(&t);

	/* idx readable, ring entry not: avail ring straddles the end of RAM */
	tq_setup(&t, 8, 0);
	vq_free(t.vq);
	t.q.avail = BASE + MEM_SIZE - 4;
	g_assert_cmpint(vq_new(&t.fg->gmem, &t.q, 0, "test:q0", &t.vq), ==, 0);
	fake_gmem_put16(t.fg, BASE + MEM_SIZE - 2, 1);
	g_assert_cmpint(vq_pop(t.vq, &t.e), ==, -EFAULT);
	tq_teardown(&t);
}

static void test_used_fault(void)
{
	struct tq t;

	tq_setup(&t, 8, 0);
	vq_free(t.vq);
	t.q.used = 0x3000;
	g_assert_cmpint(vq_new(&t.fg->gmem, &t.q, 0, "test:q0", &t.vq), ==, 0);
	set_desc(&t, 0, DATA, 8, D_WRITE, 0);
	offer(&t, 0);
	g_assert_cmpint(vq_pop(t.vq, &t.e), ==, 1);
	g_assert_cmpint(vq_push(t.vq, &t.e, 8), ==, -EFAULT);
	g_assert_true(vq_is_broken(t.vq));
	g_assert_cmpint(vq_pop(t.vq, &t.e), ==, -EFAULT);
	tq_teardown(&t);

	/* a bad chain cannot be completed either: the ring is broken */
	tq_setup(&t, 8, 0);
	vq_free(t.vq);
	t.q.used = 0x3000;
	g_assert_cmpint(vq_new(&t.fg->gmem, &t.q, 0, "test:q0", &t.vq), ==, 0);
	offer(&t, 99);
	g_assert_cmpint(vq_pop(t.vq, &t.e), ==, -EFAULT);
	tq_teardown(&t);
}

static void test_gmem_failure(void)
{
	struct tq t;

	tq_setup(&t, 8, 0);
	t.fg->fail_err = -EIO;
	t.fg->fail_after = 0;
	g_assert_cmpint(vq_pop(t.vq, &t.e), ==, -EIO);
	g_assert_true(vq_is_broken(t.vq));
	tq_teardown(&t);
}

static void test_too_many_inflight(void)
{
	struct tq t;
	unsigned i;

	/* The driver re-offers heads we still hold: more than num in flight. */
	tq_setup(&t, 2, 0);
	set_desc(&t, 0, DATA, 8, D_WRITE, 0);
	offer(&t, 0);
	offer(&t, 0);
	for (i = 0; i < 2; i++)
		g_assert_cmpint(vq_pop(t.vq, &t.e), ==, 1);
	g_assert_cmpint(vq_set_last_avail(t.vq, 0), ==, -EBUSY);
	offer(&t, 0);
	g_assert_cmpint(vq_pop(t.vq, &t.e), ==, -EPROTO);
	tq_teardown(&t);
}

/* --- notifications (virtio 1.2 §2.7.7, §2.7.10) --- */

static void push_one(struct tq *t, uint16_t head)
{
	set_desc(t, head, DATA, 8, D_WRITE, 0);
	offer(t, head);
	g_assert_cmpint(vq_pop(t->vq, &t->e), ==, 1);
	g_assert_cmpint(vq_push(t->vq, &t->e, 8), ==, 0);
}

static void test_notify_flags(void)
{
	struct tq t;

	tq_setup(&t, 8, 0);
	push_one(&t, 0);
	g_assert_true(vq_should_notify(t.vq));
	g_assert_false(vq_should_notify(t.vq)); /* nothing new */
	fake_gmem_put16(t.fg, AVAIL, VRING_AVAIL_F_NO_INTERRUPT);
	push_one(&t, 1);
	g_assert_false(vq_should_notify(t.vq));
	/* used_event is ignored without EVENT_IDX */
	fake_gmem_put16(t.fg, AVAIL, 0);
	fake_gmem_put16(t.fg, AVAIL + 4 + 2 * 8, 100);
	push_one(&t, 2);
	g_assert_true(vq_should_notify(t.vq));
	/* avail_event is never written without EVENT_IDX */
	g_assert_cmpuint(fake_gmem_get16(t.fg, USED + 4 + 8 * 8), ==, 0);
	tq_teardown(&t);
}

static void set_used_event(struct tq *t, uint16_t v)
{
	fake_gmem_put16(t->fg, AVAIL + 4 + 2 * t->q.num, v);
}

static void test_notify_event_idx(void)
{
	struct tq t;

	tq_setup(&t, 8, F_EVENT);
	/* used_event 0: notify after the first buffer */
	set_used_event(&t, 0);
	push_one(&t, 0);
	g_assert_true(vq_should_notify(t.vq));
	/* used_event 2: not after the entry at index 1, yes after the one at 2 */
	set_used_event(&t, 2);
	push_one(&t, 1);
	g_assert_false(vq_should_notify(t.vq));
	push_one(&t, 2);
	g_assert_true(vq_should_notify(t.vq));
	/* a batch that steps over used_event notifies once */
	set_used_event(&t, 4);
	push_one(&t, 3);
	push_one(&t, 4);
	push_one(&t, 5);
	g_assert_true(vq_should_notify(t.vq));
	/* the flags bit is ignored with EVENT_IDX (§2.7.7.2) */
	fake_gmem_put16(t.fg, AVAIL, VRING_AVAIL_F_NO_INTERRUPT);
	set_used_event(&t, 6);
	push_one(&t, 6);
	g_assert_true(vq_should_notify(t.vq));
	/* an old used_event (behind us) does not notify */
	set_used_event(&t, 3);
	push_one(&t, 7);
	g_assert_false(vq_should_notify(t.vq));
	tq_teardown(&t);
}

static void test_notify_event_idx_wrap(void)
{
	struct tq t;

	tq_setup(&t, 8, F_EVENT);
	g_assert_cmpint(vq_set_last_avail(t.vq, 65534), ==, 0);
	t.avail_idx = 65534;
	fake_gmem_put16(t.fg, AVAIL + 2, 65534);
	/* entries at 65534, 65535, 0 with used_event 65535: notify */
	set_used_event(&t, 65535);
	push_one(&t, 0);
	push_one(&t, 1);
	push_one(&t, 2);
	g_assert_cmpuint(used_idx(&t), ==, 1);
	g_assert_true(vq_should_notify(t.vq));
	/* entries at 1, then 2, with used_event 2: only the second notifies */
	set_used_event(&t, 2);
	push_one(&t, 3);
	g_assert_false(vq_should_notify(t.vq));
	push_one(&t, 4);
	g_assert_true(vq_should_notify(t.vq));
	/* used_event 65535 is now far behind: no */
	set_used_event(&t, 65535);
	push_one(&t, 5);
	g_assert_false(vq_should_notify(t.vq));
	tq_teardown(&t);
}

static void test_notify_read_fault(void)
{
	struct tq t;

	/* cannot read the suppression fields: notify (drivers accept spurious ones) */
	tq_setup(&t, 8, 0);
	push_one(&t, 0);
	t.fg->fail_err = -EFAULT;
	g_assert_true(vq_should_notify(t.vq));
	tq_teardown(&t);
}

static void test_avail_event(void)
{
	struct tq t;

	tq_setup(&t, 8, F_EVENT);
	g_assert_cmpint(vq_pop(t.vq, &t.e), ==, 0);
	g_assert_cmpuint(fake_gmem_get16(t.fg, USED + 4 + 8 * 8), ==, 0);
	push_one(&t, 0);
	push_one(&t, 1);
	g_assert_cmpint(vq_pop(t.vq, &t.e), ==, 0);
	g_assert_cmpuint(fake_gmem_get16(t.fg, USED + 4 + 8 * 8), ==, 2);
	tq_teardown(&t);
}

/* The driver adds a buffer just as we publish avail_event (it saw the old one). */
static void add_on_avail_event(struct fake_gmem *fg, bool write, uint64_t gpa, size_t len)
{
	if (!write || gpa != USED + 4 + 8 * 8)
		return;
	fake_gmem_put16(fg, AVAIL + 4, 3);
	fake_gmem_put16(fg, AVAIL + 2, 1);
	fg->on_access = NULL;
}

static void test_avail_event_recheck(void)
{
	struct tq t;

	tq_setup(&t, 8, F_EVENT);
	set_desc(&t, 3, DATA, 8, D_WRITE, 0);
	t.fg->on_access = add_on_avail_event;
	g_assert_cmpint(vq_pop(t.vq, &t.e), ==, 1);
	g_assert_cmpuint(t.e.head, ==, 3);
	tq_teardown(&t);
}

static void test_save_restore(void)
{
	struct tq t;

	tq_setup(&t, 8, 0);
	push_one(&t, 0);
	push_one(&t, 1);
	g_assert_cmpuint(vq_last_avail(t.vq), ==, 2);
	tq_teardown(&t);

	tq_setup(&t, 8, 0);
	g_assert_cmpint(vq_set_last_avail(t.vq, 2), ==, 0);
	t.avail_idx = 2;
	fake_gmem_put16(t.fg, USED + 2, 2);
	push_one(&t, 5);
	assert_used(&t, 2, 5, 8);
	g_assert_cmpuint(used_idx(&t), ==, 3);
	tq_teardown(&t);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	/* Negative tests make the code under test warn; that is expected, not fatal. */
	g_log_set_always_fatal(G_LOG_FATAL_MASK);

	g_test_add_func("/virtqueue/new/bad-layout", test_new_bad_layout);
	g_test_add_func("/virtqueue/pop/empty", test_pop_empty);
	g_test_add_func("/virtqueue/pop/chain", test_pop_chain);
	g_test_add_func("/virtqueue/pop/full-length-chain", test_pop_full_length_chain);
	g_test_add_func("/virtqueue/push/used-ring", test_push_used_ring);
	g_test_add_func("/virtqueue/copy/in-out", test_copy);
	g_test_add_func("/virtqueue/copy/fault", test_copy_fault);
	g_test_add_func("/virtqueue/chain/head-out-of-range", test_chain_head_out_of_range);
	g_test_add_func("/virtqueue/chain/next-out-of-range", test_chain_next_out_of_range);
	g_test_add_func("/virtqueue/chain/loop", test_chain_loop);
	g_test_add_func("/virtqueue/chain/too-long", test_chain_too_long);
	g_test_add_func("/virtqueue/chain/readable-after-writable",
			test_chain_readable_after_writable);
	g_test_add_func("/virtqueue/chain/addr-overflow", test_chain_addr_overflow);
	g_test_add_func("/virtqueue/chain/total-overflow", test_chain_total_overflow);
	g_test_add_func("/virtqueue/chain/desc-table-fault", test_chain_desc_table_fault);
	g_test_add_func("/virtqueue/chain/many-bad", test_chain_many_bad);
	g_test_add_func("/virtqueue/chain/endless-bad", test_chain_endless_bad);
	g_test_add_func("/virtqueue/indirect/basic", test_indirect);
	g_test_add_func("/virtqueue/indirect/after-direct", test_indirect_after_direct);
	g_test_add_func("/virtqueue/indirect/max", test_indirect_max);
	g_test_add_func("/virtqueue/indirect/bad", test_indirect_bad);
	g_test_add_func("/virtqueue/indirect/not-negotiated", test_indirect_not_negotiated);
	g_test_add_func("/virtqueue/avail/too-far-ahead", test_avail_too_far_ahead);
	g_test_add_func("/virtqueue/avail/wrap", test_avail_wrap);
	g_test_add_func("/virtqueue/avail/fault", test_avail_fault);
	g_test_add_func("/virtqueue/used/fault", test_used_fault);
	g_test_add_func("/virtqueue/gmem/failure", test_gmem_failure);
	g_test_add_func("/virtqueue/inflight/too-many", test_too_many_inflight);
	g_test_add_func("/virtqueue/notify/flags", test_notify_flags);
	g_test_add_func("/virtqueue/notify/event-idx", test_notify_event_idx);
	g_test_add_func("/virtqueue/notify/event-idx-wrap", test_notify_event_idx_wrap);
	g_test_add_func("/virtqueue/notify/read-fault", test_notify_read_fault);
	g_test_add_func("/virtqueue/event-idx/avail-event", test_avail_event);
	g_test_add_func("/virtqueue/event-idx/recheck", test_avail_event_recheck);
	g_test_add_func("/virtqueue/save-restore", test_save_restore);
	return g_test_run();
}
