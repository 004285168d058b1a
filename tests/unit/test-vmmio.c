/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests of the virtio-mmio transport (virtio-mmio/vmmio.c) against a fake device:
 * every register of virtio 1.2 §4.2.2, the status transitions, the queue set-up rules,
 * the interrupt line, config space, and every kind of bad guest access.
 */
#include <errno.h>
#include <string.h>
#include <glib.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_mmio.h>

#include "tests/support/fake-vdev.h"
#include "virtio-mmio/vmmio.h"

#define NQUEUES	  2
#define QUEUE_MAX 256
#define CFG_SIZE  16

#define S_ACK  VIRTIO_CONFIG_S_ACKNOWLEDGE
#define S_DRV  VIRTIO_CONFIG_S_DRIVER
#define S_FOK  VIRTIO_CONFIG_S_FEATURES_OK
#define S_DOK  VIRTIO_CONFIG_S_DRIVER_OK
#define S_NR   VIRTIO_CONFIG_S_NEEDS_RESET
#define S_FAIL VIRTIO_CONFIG_S_FAILED

#define F_DEV (1ULL << 3) /* a device feature the fake offers */
#define F_V1  (1ULL << VIRTIO_F_VERSION_1)

struct fx {
	struct fake_vdev *f;
	struct vmmio m;
	bool line;
	unsigned raises;
	unsigned lowers;
	bool repeated; /* set_irq called with the level it already had */
};

static void fx_set_irq(struct vmmio *m, bool level)
{
	struct fx *fx = container_of(m, struct fx, m);

	if (level == fx->line)
		fx->repeated = true;
	fx->line = level;
	if (level)
		fx->raises++;
	else
		fx->lowers++;
}

static const struct vmmio_ops fx_ops = {
	.set_irq = fx_set_irq,
};

static void fx_setup_cfg(struct fx *fx, uint32_t cfg_size)
{
	unsigned i;

	memset(fx, 0, sizeof(*fx));
	fx->f = fake_vdev_new(VIRTIO_ID_RNG, NQUEUES, QUEUE_MAX, cfg_size);
	g_assert_nonnull(fx->f);
	fx->f->offer = F_DEV;
	for (i = 0; i < cfg_size; i++)
		fx->f->cfg[i] = (uint8_t)(0xa0 + i);
	vmmio_init(&fx->m, &fx_ops, &fx->f->vdev);
}

static void fx_setup(struct fx *fx, gconstpointer data)
{
	fx_setup_cfg(fx, CFG_SIZE);
}

static void fx_teardown(struct fx *fx, gconstpointer data)
{
	g_assert_false(fx->repeated);
	g_assert_true(fx->line == fx->m.irq_level);
	g_assert_true(fx->m.irq_level == (fx->m.interrupt_status != 0));
	vmmio_fini(&fx->m);
	fake_vdev_free(fx->f);
}

/* --- access helpers --- */

static uint32_t rd(struct fx *fx, uint64_t off)
{
	uint64_t v = 0xdeadbeef;

	g_assert_cmpint(vmmio_read(&fx->m, off, 4, &v), ==, 0);
	g_assert_cmpuint(v, <=, 0xffffffffu);
	return (uint32_t)v;
}

static void wr(struct fx *fx, uint64_t off, uint32_t val)
{
	g_assert_cmpint(vmmio_write(&fx->m, off, 4, val), ==, 0);
}

/* A read that must fail: -EINVAL and the value 0. */
static void rd_bad(struct fx *fx, uint64_t off, unsigned size)
{
	uint64_t v = 0xdeadbeef;

	g_assert_cmpint(vmmio_read(&fx->m, off, size, &v), ==, -EINVAL);
	g_assert_cmpuint(v, ==, 0);
}

static void wr_bad(struct fx *fx, uint64_t off, unsigned size, uint64_t val)
{
	g_assert_cmpint(vmmio_write(&fx->m, off, size, val), ==, -EINVAL);
}

static uint8_t status(struct fx *fx)
{
	return (uint8_t)rd(fx, VIRTIO_MMIO_STATUS);
}

static void write_features(struct fx *fx, uint64_t features)
{
	wr(fx, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(fx, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)features);
	wr(fx, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(fx, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(features >> 32));
}

/* Reset, ACKNOWLEDGE, DRIVER, features, FEATURES_OK (virtio 1.2 §3.1.1 steps 1-6). */
static void to_features_ok(struct fx *fx, uint64_t features)
{
	wr(fx, VIRTIO_MMIO_STATUS, 0);
	wr(fx, VIRTIO_MMIO_STATUS, S_ACK);
	wr(fx, VIRTIO_MMIO_STATUS, S_ACK | S_DRV);
	write_features(fx, features);
	wr(fx, VIRTIO_MMIO_STATUS, S_ACK | S_DRV | S_FOK);
	g_assert_cmpuint(status(fx), ==, S_ACK | S_DRV | S_FOK);
}

static uint64_t gpa(unsigned q, unsigned part)
{
	return 0x40000000ULL + q * 0x10000 + part * 0x1000;
}

static void program_queue(struct fx *fx, unsigned q, uint32_t num, uint64_t desc, uint64_t avail,
			  uint64_t used)
{
	wr(fx, VIRTIO_MMIO_QUEUE_SEL, q);
	wr(fx, VIRTIO_MMIO_QUEUE_NUM, num);
	wr(fx, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)desc);
	wr(fx, VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(desc >> 32));
	wr(fx, VIRTIO_MMIO_QUEUE_AVAIL_LOW, (uint32_t)avail);
	wr(fx, VIRTIO_MMIO_QUEUE_AVAIL_HIGH, (uint32_t)(avail >> 32));
	wr(fx, VIRTIO_MMIO_QUEUE_USED_LOW, (uint32_t)used);
	wr(fx, VIRTIO_MMIO_QUEUE_USED_HIGH, (uint32_t)(used >> 32));
}

static void setup_queue(struct fx *fx, unsigned q)
{
	program_queue(fx, q, 64, gpa(q, 0), gpa(q, 1), gpa(q, 2));
	wr(fx, VIRTIO_MMIO_QUEUE_READY, 1);
	g_assert_cmpuint(rd(fx, VIRTIO_MMIO_QUEUE_READY), ==, 1);
}

/* The whole probe: FEATURES_OK, every queue ready, DRIVER_OK. */
static void to_driver_ok(struct fx *fx)
{
	unsigned starts = fx->f->start_calls;
	unsigned q;

	to_features_ok(fx, F_V1 | F_DEV);
	for (q = 0; q < NQUEUES; q++)
		setup_queue(fx, q);
	wr(fx, VIRTIO_MMIO_STATUS, S_ACK | S_DRV | S_FOK | S_DOK);
	g_assert_cmpuint(status(fx), ==, S_ACK | S_DRV | S_FOK | S_DOK);
	g_assert_cmpuint(fx->f->start_calls, ==, starts + 1);
	g_assert_true(fx->f->vdev.started);
}

/* --- identification --- */

static void test_ident(struct fx *fx, gconstpointer data)
{
	g_assert_cmpuint(rd(fx, VIRTIO_MMIO_MAGIC_VALUE), ==, 0x74726976);
	g_assert_cmpuint(rd(fx, VIRTIO_MMIO_VERSION), ==, 2);
	g_assert_cmpuint(rd(fx, VIRTIO_MMIO_DEVICE_ID), ==, VIRTIO_ID_RNG);
	g_assert_cmpuint(rd(fx, VIRTIO_MMIO_VENDOR_ID), ==, fx->f->vdev.vendor_id);
}

/* --- features --- */

static void test_features_device_words(struct fx *fx, gconstpointer data)
{
	fx->f->offer = F_DEV | (1ULL << 33);
	wr(fx, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	g_assert_cmpuint(rd(fx, VIRTIO_MMIO_DEVICE_FEATURES), ==, (uint32_t)F_DEV);
	wr(fx, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	g_assert_cmpuint(rd(fx, VIRTIO_MMIO_DEVICE_FEATURES), ==, (F_V1 | (1ULL << 33)) >> 32);
	wr(fx, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 2);
	g_assert_cmpuint(rd(fx, VIRTIO_MMIO_DEVICE_FEATURES), ==, 0);
	wr(fx, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0xffffffff);
	g_assert_cmpuint(rd(fx, VIRTIO_MMIO_DEVICE_FEATURES), ==, 0);
}

static void test_features_ack(struct fx *fx, gconstpointer data)
{
	to_features_ok(fx, F_V1 | F_DEV);
	g_assert_cmpuint(fx->f->set_features_calls, ==, 1);
	g_assert_cmpuint(fx->f->acked, ==, F_V1 | F_DEV);
	g_assert_cmpuint(fx->f->vdev.driver_features, ==, F_V1 | F_DEV);
}

static void test_features_ack_subset(struct fx *fx, gconstpointer data)
{
	to_features_ok(fx, F_V1);
	g_assert_cmpuint(fx->f->acked, ==, F_V1);
}

static void try_features_ok(struct fx *fx, uint64_t features)
{
	wr(fx, VIRTIO_MMIO_STATUS, S_ACK);
	wr(fx, VIRTIO_MMIO_STATUS, S_ACK | S_DRV);
	write_features(fx, features);
	/* The write itself is legal; the device leaves FEATURES_OK clear (§3.1.1 step 6). */
	wr(fx, VIRTIO_MMIO_STATUS, S_ACK | S_DRV | S_FOK);
}

static void test_features_unoffered(struct fx *fx, gconstpointer data)
{
	try_features_ok(fx, F_V1 | F_DEV | (1ULL << 5));
	g_assert_cmpuint(status(fx), ==, S_ACK | S_DRV);
	g_assert_cmpuint(fx->f->set_features_calls, ==, 0);
	/* and the queues stay locked */
	wr(fx, VIRTIO_MMIO_QUEUE_SEL, 0);
	wr_bad(fx, VIRTIO_MMIO_QUEUE_NUM, 4, 64);
}

static void test_features_unoffered_high(struct fx *fx, gconstpointer data)
{
	try_features_ok(fx, F_V1 | (1ULL << 40));
	g_assert_cmpuint(status(fx), ==, S_ACK | S_DRV);
}

static void test_features_no_version_1(struct fx *fx, gconstpointer data)
{
	try_features_ok(fx, F_DEV);
	g_assert_cmpuint(status(fx), ==, S_ACK | S_DRV);
	g_assert_cmpuint(fx->f->set_features_calls, ==, 0);
}

static void test_features_device_refuses(struct fx *fx, gconstpointer data)
{
	fx->f->set_features_ret = -ENOTSUP;
	try_features_ok(fx, F_V1 | F_DEV);
	g_assert_cmpuint(status(fx), ==, S_ACK | S_DRV);
	g_assert_cmpuint(fx->f->set_features_calls, ==, 1);
	/* The driver may retry with other features (§3.1.1). */
	fx->f->set_features_ret = 0;
	write_features(fx, F_V1);
	wr(fx, VIRTIO_MMIO_STATUS, S_ACK | S_DRV | S_FOK);
	g_assert_cmpuint(status(fx), ==, S_ACK | S_DRV | S_FOK);
	g_assert_cmpuint(fx->f->acked, ==, F_V1);
}

static void test_features_after_features_ok(struct fx *fx, gconstpointer data)
{
	to_features_ok(fx, F_V1);
	wr(fx, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr_bad(fx, VIRTIO_MMIO_DRIVER_FEATURES, 4, (uint32_t)F_DEV);
	g_assert_cmpuint(fx->f->vdev.driver_features, ==, F_V1);
}

static void test_features_sel_beyond(struct fx *fx, gconstpointer data)
{
	wr(fx, VIRTIO_MMIO_STATUS, S_ACK);
	wr(fx, VIRTIO_MMIO_STATUS, S_ACK | S_DRV);
	wr(fx, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 2);
	wr(fx, VIRTIO_MMIO_DRIVER_FEATURES, 0); /* Linux writes zeros beyond 64 bits: fine */
	wr_bad(fx, VIRTIO_MMIO_DRIVER_FEATURES, 4, 1);
	g_assert_cmpuint(fx->f->vdev.driver_features, ==, 0);
}

/* --- queues --- */

static void test_queue_num_max(struct fx *fx, gconstpointer data)
{
	unsigned q;

	fx->f->vdev.queues[1].num_max = 64;
	for (q = 0; q < NQUEUES; q++) {
		wr(fx, VIRTIO_MMIO_QUEUE_SEL, q);
		g_assert_cmpuint(rd(fx, VIRTIO_MMIO_QUEUE_NUM_MAX), ==, q ? 64 : QUEUE_MAX);
		g_assert_cmpuint(rd(fx, VIRTIO_MMIO_QUEUE_READY), ==, 0);
	}
}

static void test_queue_sel_out_of_range(struct fx *fx, gconstpointer data)
{
	static const uint32_t sels[] = { NQUEUES, VDEV_MAX_QUEUES, 0x10000, 0xffffffff };
	unsigned i;

	to_features_ok(fx, F_V1);
	for (i = 0; i < G_N_ELEMENTS(sels); i++) {
		wr(fx, VIRTIO_MMIO_QUEUE_SEL, sels[i]);
		g_assert_cmpuint(rd(fx, VIRTIO_MMIO_QUEUE_NUM_MAX), ==, 0);
		g_assert_cmpuint(rd(fx, VIRTIO_MMIO_QUEUE_READY), ==, 0);
		wr_bad(fx, VIRTIO_MMIO_QUEUE_NUM, 4, 64);
		wr_bad(fx, VIRTIO_MMIO_QUEUE_DESC_LOW, 4, 0x1000);
		wr_bad(fx, VIRTIO_MMIO_QUEUE_DESC_HIGH, 4, 0);
		wr_bad(fx, VIRTIO_MMIO_QUEUE_AVAIL_LOW, 4, 0x2000);
		wr_bad(fx, VIRTIO_MMIO_QUEUE_AVAIL_HIGH, 4, 0);
		wr_bad(fx, VIRTIO_MMIO_QUEUE_USED_LOW, 4, 0x3000);
		wr_bad(fx, VIRTIO_MMIO_QUEUE_USED_HIGH, 4, 0);
		wr_bad(fx, VIRTIO_MMIO_QUEUE_READY, 4, 1);
		wr_bad(fx, VIRTIO_MMIO_QUEUE_READY, 4, 0);
	}
	/* the real queues are untouched */
	g_assert_cmpuint(fx->f->vdev.queues[0].num, ==, 0);
	g_assert_cmpuint(fx->f->vdev.queues[1].desc, ==, 0);
}

static void test_queue_num(struct fx *fx, gconstpointer data)
{
	struct vdev_queue *vq = &fx->f->vdev.queues[0];

	to_features_ok(fx, F_V1);
	wr(fx, VIRTIO_MMIO_QUEUE_SEL, 0);
	wr(fx, VIRTIO_MMIO_QUEUE_NUM, QUEUE_MAX);
	g_assert_cmpuint(vq->num, ==, QUEUE_MAX);
	wr(fx, VIRTIO_MMIO_QUEUE_NUM, 1);
	g_assert_cmpuint(vq->num, ==, 1);
	rd_bad(fx, VIRTIO_MMIO_QUEUE_NUM, 4); /* write-only */
}

static void test_queue_num_zero(struct fx *fx, gconstpointer data)
{
	to_features_ok(fx, F_V1);
	wr(fx, VIRTIO_MMIO_QUEUE_SEL, 0);
	wr(fx, VIRTIO_MMIO_QUEUE_NUM, 64);
	wr_bad(fx, VIRTIO_MMIO_QUEUE_NUM, 4, 0);
	g_assert_cmpuint(fx->f->vdev.queues[0].num, ==, 64);
}

static void test_queue_num_not_pow2(struct fx *fx, gconstpointer data)
{
	static const uint32_t bad[] = { 3, 5, 6, 100, 255, QUEUE_MAX - 1 };
	unsigned i;

	to_features_ok(fx, F_V1);
	wr(fx, VIRTIO_MMIO_QUEUE_SEL, 1);
	for (i = 0; i < G_N_ELEMENTS(bad); i++)
		wr_bad(fx, VIRTIO_MMIO_QUEUE_NUM, 4, bad[i]);
	g_assert_cmpuint(fx->f->vdev.queues[1].num, ==, 0);
}

static void test_queue_num_above_max(struct fx *fx, gconstpointer data)
{
	static const uint32_t bad[] = { QUEUE_MAX * 2, 0x8000, 0x10000, 0x10040, 0x80000000 };
	unsigned i;

	to_features_ok(fx, F_V1);
	wr(fx, VIRTIO_MMIO_QUEUE_SEL, 0);
	for (i = 0; i < G_N_ELEMENTS(bad); i++)
		wr_bad(fx, VIRTIO_MMIO_QUEUE_NUM, 4, bad[i]);
	g_assert_cmpuint(fx->f->vdev.queues[0].num, ==, 0);
}

static void test_queue_addresses(struct fx *fx, gconstpointer data)
{
	struct vdev_queue *vq = &fx->f->vdev.queues[1];

	to_features_ok(fx, F_V1);
	program_queue(fx, 1, 32, 0x123456789abcdef0ULL, 0x0000000200000002ULL,
		      0xfffffffffffffffcULL);
	g_assert_cmpuint(vq->num, ==, 32);
	g_assert_cmpuint(vq->desc, ==, 0x123456789abcdef0ULL);
	g_assert_cmpuint(vq->avail, ==, 0x0000000200000002ULL);
	g_assert_cmpuint(vq->used, ==, 0xfffffffffffffffcULL);
	/* halves are independent */
	wr(fx, VIRTIO_MMIO_QUEUE_DESC_LOW, 0x1000);
	g_assert_cmpuint(vq->desc, ==, 0x1234567800001000ULL);
	wr(fx, VIRTIO_MMIO_QUEUE_DESC_HIGH, 0);
	g_assert_cmpuint(vq->desc, ==, 0x1000);
	/* queue 0 untouched */
	g_assert_cmpuint(fx->f->vdev.queues[0].desc, ==, 0);
	/* all write-only */
	rd_bad(fx, VIRTIO_MMIO_QUEUE_DESC_LOW, 4);
	rd_bad(fx, VIRTIO_MMIO_QUEUE_DESC_HIGH, 4);
	rd_bad(fx, VIRTIO_MMIO_QUEUE_AVAIL_LOW, 4);
	rd_bad(fx, VIRTIO_MMIO_QUEUE_AVAIL_HIGH, 4);
	rd_bad(fx, VIRTIO_MMIO_QUEUE_USED_LOW, 4);
	rd_bad(fx, VIRTIO_MMIO_QUEUE_USED_HIGH, 4);
}

static void assert_queue_locked(struct fx *fx)
{
	struct vdev_queue before = fx->f->vdev.queues[0];

	wr(fx, VIRTIO_MMIO_QUEUE_SEL, 0);
	wr_bad(fx, VIRTIO_MMIO_QUEUE_NUM, 4, 32);
	wr_bad(fx, VIRTIO_MMIO_QUEUE_DESC_LOW, 4, 0x5000);
	wr_bad(fx, VIRTIO_MMIO_QUEUE_DESC_HIGH, 4, 1);
	wr_bad(fx, VIRTIO_MMIO_QUEUE_AVAIL_LOW, 4, 0x6000);
	wr_bad(fx, VIRTIO_MMIO_QUEUE_AVAIL_HIGH, 4, 1);
	wr_bad(fx, VIRTIO_MMIO_QUEUE_USED_LOW, 4, 0x7000);
	wr_bad(fx, VIRTIO_MMIO_QUEUE_USED_HIGH, 4, 1);
	wr_bad(fx, VIRTIO_MMIO_QUEUE_READY, 4, 1);
	/* disabling is refused on an enabled queue, a no-op on a disabled one */
	g_assert_cmpint(vmmio_write(&fx->m, VIRTIO_MMIO_QUEUE_READY, 4, 0), ==,
			before.ready ? -EINVAL : 0);
	g_assert_cmpmem(&before, sizeof(before), &fx->f->vdev.queues[0], sizeof(before));
}

static void test_queue_before_features_ok(struct fx *fx, gconstpointer data)
{
	assert_queue_locked(fx); /* status 0 */
	wr(fx, VIRTIO_MMIO_STATUS, S_ACK);
	assert_queue_locked(fx);
	wr(fx, VIRTIO_MMIO_STATUS, S_ACK | S_DRV);
	assert_queue_locked(fx);
	write_features(fx, F_V1);
	assert_queue_locked(fx);
}

static void test_queue_after_driver_ok(struct fx *fx, gconstpointer data)
{
	to_driver_ok(fx);
	assert_queue_locked(fx);
	g_assert_cmpuint(rd(fx, VIRTIO_MMIO_QUEUE_READY), ==, 1);
}

static void test_queue_after_failed(struct fx *fx, gconstpointer data)
{
	to_features_ok(fx, F_V1);
	wr(fx, VIRTIO_MMIO_STATUS, S_ACK | S_DRV | S_FOK | S_FAIL);
	assert_queue_locked(fx);
}

static void test_queue_locked_while_ready(struct fx *fx, gconstpointer data)
{
	to_features_ok(fx, F_V1);
	setup_queue(fx, 0);
	wr_bad(fx, VIRTIO_MMIO_QUEUE_NUM, 4, 32);
	wr_bad(fx, VIRTIO_MMIO_QUEUE_DESC_LOW, 4, 0x5000);
	wr_bad(fx, VIRTIO_MMIO_QUEUE_USED_HIGH, 4, 1);
	g_assert_cmpuint(fx->f->vdev.queues[0].num, ==, 64);
	g_assert_cmpuint(fx->f->vdev.queues[0].desc, ==, gpa(0, 0));
	/* disabling it unlocks it again */
	wr(fx, VIRTIO_MMIO_QUEUE_READY, 0);
	g_assert_cmpuint(rd(fx, VIRTIO_MMIO_QUEUE_READY), ==, 0);
	wr(fx, VIRTIO_MMIO_QUEUE_NUM, 32);
	g_assert_cmpuint(fx->f->vdev.queues[0].num, ==, 32);
}

static void test_queue_ready_needs_num(struct fx *fx, gconstpointer data)
{
	to_features_ok(fx, F_V1);
	program_queue(fx, 0, 64, gpa(0, 0), gpa(0, 1), gpa(0, 2));
	fx->f->vdev.queues[0].num = 0; /* as if QueueNum was never written */
	wr_bad(fx, VIRTIO_MMIO_QUEUE_READY, 4, 1);
	g_assert_cmpuint(rd(fx, VIRTIO_MMIO_QUEUE_READY), ==, 0);
}

static void test_queue_ready_needs_addresses(struct fx *fx, gconstpointer data)
{
	to_features_ok(fx, F_V1);
	program_queue(fx, 0, 64, 0, gpa(0, 1), gpa(0, 2));
	wr_bad(fx, VIRTIO_MMIO_QUEUE_READY, 4, 1);
	program_queue(fx, 0, 64, gpa(0, 0), 0, gpa(0, 2));
	wr_bad(fx, VIRTIO_MMIO_QUEUE_READY, 4, 1);
	program_queue(fx, 0, 64, gpa(0, 0), gpa(0, 1), 0);
	wr_bad(fx, VIRTIO_MMIO_QUEUE_READY, 4, 1);
	g_assert_cmpuint(rd(fx, VIRTIO_MMIO_QUEUE_READY), ==, 0);
}

static void test_queue_ready_misaligned(struct fx *fx, gconstpointer data)
{
	to_features_ok(fx, F_V1);
	program_queue(fx, 0, 64, gpa(0, 0) + 8, gpa(0, 1), gpa(0, 2));
	wr_bad(fx, VIRTIO_MMIO_QUEUE_READY, 4, 1);
	program_queue(fx, 0, 64, gpa(0, 0), gpa(0, 1) + 1, gpa(0, 2));
	wr_bad(fx, VIRTIO_MMIO_QUEUE_READY, 4, 1);
	program_queue(fx, 0, 64, gpa(0, 0), gpa(0, 1), gpa(0, 2) + 2);
	wr_bad(fx, VIRTIO_MMIO_QUEUE_READY, 4, 1);
	/* split ring: the driver area needs only 2-byte alignment (virtio 1.2 §2.7) */
	program_queue(fx, 0, 64, gpa(0, 0) + 16, gpa(0, 1) + 2, gpa(0, 2) + 4);
	wr(fx, VIRTIO_MMIO_QUEUE_READY, 1);
}

/* Packed rings need support the engine lacks: the core never offers them, whatever the
 * device says, so a driver that acks one fails FEATURES_OK. */
static void test_features_packed_not_offered(struct fx *fx, gconstpointer data)
{
	uint64_t packed = 1ULL << VIRTIO_F_RING_PACKED;

	fx->f->offer = packed;
	wr(fx, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	g_assert_cmphex(rd(fx, VIRTIO_MMIO_DEVICE_FEATURES), ==, F_V1 >> 32);
	wr(fx, VIRTIO_MMIO_STATUS, S_ACK);
	wr(fx, VIRTIO_MMIO_STATUS, S_ACK | S_DRV);
	wr(fx, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(fx, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)((F_V1 | packed) >> 32));
	wr(fx, VIRTIO_MMIO_STATUS, S_ACK | S_DRV | S_FOK);
	g_assert_cmphex(status(fx), ==, S_ACK | S_DRV);
}

static void test_queue_ready_values(struct fx *fx, gconstpointer data)
{
	to_features_ok(fx, F_V1);
	program_queue(fx, 0, 64, gpa(0, 0), gpa(0, 1), gpa(0, 2));
	wr_bad(fx, VIRTIO_MMIO_QUEUE_READY, 4, 2);
	wr_bad(fx, VIRTIO_MMIO_QUEUE_READY, 4, 0xffffffff);
	g_assert_cmpuint(rd(fx, VIRTIO_MMIO_QUEUE_READY), ==, 0);
	wr(fx, VIRTIO_MMIO_QUEUE_READY, 1);
	g_assert_true(fx->f->vdev.queues[0].ready);
	wr(fx, VIRTIO_MMIO_QUEUE_READY, 1); /* again: still fine */
	wr(fx, VIRTIO_MMIO_QUEUE_READY, 0);
	g_assert_false(fx->f->vdev.queues[0].ready);
	/* the other queue has its own bit */
	wr(fx, VIRTIO_MMIO_QUEUE_SEL, 1);
	g_assert_cmpuint(rd(fx, VIRTIO_MMIO_QUEUE_READY), ==, 0);
}

/* --- QueueNotify --- */

static void test_notify_kick(struct fx *fx, gconstpointer data)
{
	to_driver_ok(fx);
	wr(fx, VIRTIO_MMIO_QUEUE_NOTIFY, 1);
	wr(fx, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	wr(fx, VIRTIO_MMIO_QUEUE_NOTIFY, 1);
	g_assert_cmpuint(fx->f->nkicks, ==, 3);
	g_assert_cmpuint(fx->f->kicks[0], ==, 1);
	g_assert_cmpuint(fx->f->kicks[1], ==, 2);
	g_assert_cmpint(fx->f->last_kick, ==, 1);
	rd_bad(fx, VIRTIO_MMIO_QUEUE_NOTIFY, 4); /* write-only */
}

static void test_notify_out_of_range(struct fx *fx, gconstpointer data)
{
	to_driver_ok(fx);
	wr(fx, VIRTIO_MMIO_QUEUE_NOTIFY, NQUEUES);
	wr(fx, VIRTIO_MMIO_QUEUE_NOTIFY, 0x10000);
	wr(fx, VIRTIO_MMIO_QUEUE_NOTIFY, 0xffffffff);
	g_assert_cmpuint(fx->f->nkicks, ==, 0);
}

static void test_notify_before_driver_ok(struct fx *fx, gconstpointer data)
{
	wr(fx, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	to_features_ok(fx, F_V1);
	setup_queue(fx, 0);
	wr(fx, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	g_assert_cmpuint(fx->f->nkicks, ==, 0);
}

/* --- interrupts (virtio 1.2 §4.2.3.4) --- */

static void test_interrupt_used(struct fx *fx, gconstpointer data)
{
	to_driver_ok(fx);
	g_assert_false(fx->line);
	vdev_notify_used(&fx->f->vdev, 0);
	g_assert_cmpuint(rd(fx, VIRTIO_MMIO_INTERRUPT_STATUS), ==, VIRTIO_MMIO_INT_VRING);
	g_assert_true(fx->line);
	g_assert_cmpuint(fx->raises, ==, 1);
	/* a second event while pending: no new call (the ack re-edges if needed) */
	vdev_notify_used(&fx->f->vdev, 1);
	g_assert_cmpuint(fx->raises, ==, 1);
	wr(fx, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);
	g_assert_cmpuint(rd(fx, VIRTIO_MMIO_INTERRUPT_STATUS), ==, 0);
	g_assert_false(fx->line);
	g_assert_cmpuint(fx->lowers, ==, 1);
	rd_bad(fx, VIRTIO_MMIO_INTERRUPT_ACK, 4);	/* write-only */
	wr_bad(fx, VIRTIO_MMIO_INTERRUPT_STATUS, 4, 0); /* read-only */
}

static void test_interrupt_used_before_driver_ok(struct fx *fx, gconstpointer data)
{
	vdev_notify_used(&fx->f->vdev, 0);
	to_features_ok(fx, F_V1);
	vdev_notify_used(&fx->f->vdev, 0);
	g_assert_cmpuint(rd(fx, VIRTIO_MMIO_INTERRUPT_STATUS), ==, 0);
	g_assert_cmpuint(fx->raises, ==, 0);
}

static void test_interrupt_config(struct fx *fx, gconstpointer data)
{
	to_driver_ok(fx);
	vdev_config_changed(&fx->f->vdev);
	g_assert_cmpuint(rd(fx, VIRTIO_MMIO_INTERRUPT_STATUS), ==, VIRTIO_MMIO_INT_CONFIG);
	g_assert_true(fx->line);
	wr(fx, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_CONFIG);
	g_assert_false(fx->line);
}

static void test_interrupt_partial_ack(struct fx *fx, gconstpointer data)
{
	to_driver_ok(fx);
	vdev_notify_used(&fx->f->vdev, 0);
	vdev_config_changed(&fx->f->vdev);
	g_assert_cmpuint(rd(fx, VIRTIO_MMIO_INTERRUPT_STATUS), ==,
			 VIRTIO_MMIO_INT_VRING | VIRTIO_MMIO_INT_CONFIG);
	g_assert_cmpuint(fx->raises, ==, 1);
	/* ack one bit: the other is still pending, the line gives a new edge */
	wr(fx, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);
	g_assert_cmpuint(rd(fx, VIRTIO_MMIO_INTERRUPT_STATUS), ==, VIRTIO_MMIO_INT_CONFIG);
	g_assert_true(fx->line);
	g_assert_cmpuint(fx->lowers, ==, 1);
	g_assert_cmpuint(fx->raises, ==, 2);
	/* ack nothing: still pending, another edge */
	wr(fx, VIRTIO_MMIO_INTERRUPT_ACK, 0);
	g_assert_cmpuint(fx->raises, ==, 3);
	wr(fx, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_CONFIG);
	g_assert_false(fx->line);
	g_assert_cmpuint(fx->lowers, ==, 3);
}

/*
 * Used-buffer interrupts raised outside xvdm (the kernel's privcmd irqfd): InterruptStatus
 * shows the used bit from DRIVER_OK on, without ever touching the line; acks of it
 * neither lower nor re-raise it; config interrupts keep their own line behaviour.
 */
static void test_interrupt_used_external(struct fx *fx, gconstpointer data)
{
	vmmio_set_used_external(&fx->m, true);
	to_features_ok(fx, F_V1);
	g_assert_cmpuint(rd(fx, VIRTIO_MMIO_INTERRUPT_STATUS), ==, 0); /* not before DRIVER_OK */
	setup_queue(fx, 0);
	wr(fx, VIRTIO_MMIO_STATUS, S_ACK | S_DRV | S_FOK | S_DOK);
	g_assert_cmpuint(rd(fx, VIRTIO_MMIO_INTERRUPT_STATUS), ==, VIRTIO_MMIO_INT_VRING);
	g_assert_cmpuint(fx->raises + fx->lowers, ==, 0);
	/* Linux's vm_interrupt: read, ack what it read; no edge storm, no line change */
	for (unsigned i = 0; i < 3; i++)
		wr(fx, VIRTIO_MMIO_INTERRUPT_ACK, rd(fx, VIRTIO_MMIO_INTERRUPT_STATUS));
	g_assert_cmpuint(fx->raises + fx->lowers, ==, 0);
	g_assert_cmpuint(rd(fx, VIRTIO_MMIO_INTERRUPT_STATUS), ==, VIRTIO_MMIO_INT_VRING);
	/* a config change raises the line as always; acking both lowers it */
	vdev_config_changed(&fx->f->vdev);
	g_assert_cmpuint(rd(fx, VIRTIO_MMIO_INTERRUPT_STATUS), ==,
			 VIRTIO_MMIO_INT_VRING | VIRTIO_MMIO_INT_CONFIG);
	g_assert_true(fx->line);
	wr(fx, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING | VIRTIO_MMIO_INT_CONFIG);
	g_assert_false(fx->line);
	g_assert_cmpuint(fx->raises, ==, 1);
	g_assert_cmpuint(fx->lowers, ==, 1);
	/* a reset: nothing pending; turned off, the register is the line's state again */
	wr(fx, VIRTIO_MMIO_STATUS, 0);
	g_assert_cmpuint(rd(fx, VIRTIO_MMIO_INTERRUPT_STATUS), ==, 0);
	to_driver_ok(fx);
	g_assert_cmpuint(rd(fx, VIRTIO_MMIO_INTERRUPT_STATUS), ==, VIRTIO_MMIO_INT_VRING);
	vmmio_set_used_external(&fx->m, false);
	g_assert_cmpuint(rd(fx, VIRTIO_MMIO_INTERRUPT_STATUS), ==, 0);
}

static void test_interrupt_ack_undefined_bits(struct fx *fx, gconstpointer data)
{
	to_driver_ok(fx);
	vdev_notify_used(&fx->f->vdev, 0);
	/* undefined bits only: nothing acked, the pending event gets a new edge */
	wr(fx, VIRTIO_MMIO_INTERRUPT_ACK, 0xfffffffc);
	g_assert_cmpuint(rd(fx, VIRTIO_MMIO_INTERRUPT_STATUS), ==, VIRTIO_MMIO_INT_VRING);
	g_assert_true(fx->line);
	g_assert_cmpuint(fx->lowers, ==, 1);
	g_assert_cmpuint(fx->raises, ==, 2);
	wr(fx, VIRTIO_MMIO_INTERRUPT_ACK, 0xffffffff);
	g_assert_cmpuint(rd(fx, VIRTIO_MMIO_INTERRUPT_STATUS), ==, 0);
	g_assert_false(fx->line);
	/* an ack with nothing pending changes nothing */
	wr(fx, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);
	g_assert_cmpuint(fx->lowers, ==, 2);
	g_assert_cmpuint(fx->raises, ==, 2);
}

static void test_interrupt_needs_reset(struct fx *fx, gconstpointer data)
{
	to_driver_ok(fx);
	vdev_set_broken(&fx->f->vdev, "test");
	g_assert_cmpuint(status(fx), ==, S_ACK | S_DRV | S_FOK | S_DOK | S_NR);
	g_assert_cmpuint(rd(fx, VIRTIO_MMIO_INTERRUPT_STATUS), ==, VIRTIO_MMIO_INT_CONFIG);
	g_assert_true(fx->line);
	/* kicks are dropped while broken */
	wr(fx, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	g_assert_cmpuint(fx->f->nkicks, ==, 0);
	/* only a reset clears it */
	wr(fx, VIRTIO_MMIO_STATUS, S_ACK | S_DRV | S_FOK | S_DOK);
	g_assert_cmpuint(status(fx) & S_NR, ==, S_NR);
	wr(fx, VIRTIO_MMIO_STATUS, 0);
	g_assert_cmpuint(status(fx), ==, 0);
	g_assert_false(fx->line);
	to_driver_ok(fx);
}

static void test_interrupt_start_fails(struct fx *fx, gconstpointer data)
{
	fx->f->start_ret = -EIO;
	to_features_ok(fx, F_V1);
	setup_queue(fx, 0);
	wr(fx, VIRTIO_MMIO_STATUS, S_ACK | S_DRV | S_FOK | S_DOK);
	g_assert_cmpuint(status(fx), ==, S_ACK | S_DRV | S_FOK | S_DOK | S_NR);
	g_assert_false(fx->f->vdev.started);
	g_assert_cmpuint(rd(fx, VIRTIO_MMIO_INTERRUPT_STATUS), ==, VIRTIO_MMIO_INT_CONFIG);
	g_assert_true(fx->line);
}

/* --- status (virtio 1.2 §2.1, §3.1.1) --- */

static void test_status_sequence(struct fx *fx, gconstpointer data)
{
	g_assert_cmpuint(status(fx), ==, 0);
	wr(fx, VIRTIO_MMIO_STATUS, S_ACK);
	g_assert_cmpuint(status(fx), ==, S_ACK);
	wr(fx, VIRTIO_MMIO_STATUS, S_ACK); /* same value again: fine */
	wr(fx, VIRTIO_MMIO_STATUS, S_ACK | S_DRV);
	g_assert_cmpuint(status(fx), ==, S_ACK | S_DRV);
	write_features(fx, F_V1);
	wr(fx, VIRTIO_MMIO_STATUS, S_ACK | S_DRV | S_FOK);
	g_assert_cmpuint(status(fx), ==, S_ACK | S_DRV | S_FOK);
	wr(fx, VIRTIO_MMIO_STATUS, S_ACK | S_DRV | S_FOK | S_DOK);
	g_assert_cmpuint(status(fx), ==, S_ACK | S_DRV | S_FOK | S_DOK);
	g_assert_cmpuint(fx->f->start_calls, ==, 1);
	wr(fx, VIRTIO_MMIO_STATUS, S_ACK | S_DRV | S_FOK | S_DOK);
	g_assert_cmpuint(fx->f->start_calls, ==, 1);
}

/* Bits of the sequence may come several at once (test-vdev), but never with a gap. */
static void test_status_skip_step(struct fx *fx, gconstpointer data)
{
	wr_bad(fx, VIRTIO_MMIO_STATUS, 4, S_DRV);
	wr_bad(fx, VIRTIO_MMIO_STATUS, 4, S_ACK | S_FOK);
	wr_bad(fx, VIRTIO_MMIO_STATUS, 4, S_DOK);
	g_assert_cmpuint(status(fx), ==, 0);
	wr(fx, VIRTIO_MMIO_STATUS, S_ACK);
	wr_bad(fx, VIRTIO_MMIO_STATUS, 4, S_ACK | S_FOK);
	wr_bad(fx, VIRTIO_MMIO_STATUS, 4, S_ACK | S_DRV | S_DOK);
	g_assert_cmpuint(status(fx), ==, S_ACK);
	wr(fx, VIRTIO_MMIO_STATUS, S_ACK | S_DRV);
	write_features(fx, F_V1);
	wr_bad(fx, VIRTIO_MMIO_STATUS, 4, S_ACK | S_DRV | S_DOK);
	wr_bad(fx, VIRTIO_MMIO_STATUS, 4, S_ACK | S_FOK | S_DOK);
	g_assert_cmpuint(status(fx), ==, S_ACK | S_DRV);
	g_assert_cmpuint(fx->f->start_calls, ==, 0);
	/* reserved status bits */
	wr_bad(fx, VIRTIO_MMIO_STATUS, 4, S_ACK | S_DRV | 0x10);
	wr_bad(fx, VIRTIO_MMIO_STATUS, 4, S_ACK | S_DRV | 0x20);
	g_assert_cmpuint(status(fx), ==, S_ACK | S_DRV);
}

static void test_status_clear_bit(struct fx *fx, gconstpointer data)
{
	to_driver_ok(fx);
	fake_vdev_clear_calls(fx->f);
	wr_bad(fx, VIRTIO_MMIO_STATUS, 4, S_ACK | S_DRV | S_FOK);
	wr_bad(fx, VIRTIO_MMIO_STATUS, 4, S_ACK);
	wr_bad(fx, VIRTIO_MMIO_STATUS, 4, S_DRV | S_FOK | S_DOK);
	g_assert_cmpuint(status(fx), ==, S_ACK | S_DRV | S_FOK | S_DOK);
	g_assert_cmpuint(fx->f->reset_calls, ==, 0);
}

static void test_status_needs_reset_from_driver(struct fx *fx, gconstpointer data)
{
	wr_bad(fx, VIRTIO_MMIO_STATUS, 4, S_NR);
	wr(fx, VIRTIO_MMIO_STATUS, S_ACK);
	wr_bad(fx, VIRTIO_MMIO_STATUS, 4, S_ACK | S_NR);
	g_assert_cmpuint(status(fx), ==, S_ACK);
}

static void test_status_failed(struct fx *fx, gconstpointer data)
{
	wr(fx, VIRTIO_MMIO_STATUS, S_ACK);
	wr(fx, VIRTIO_MMIO_STATUS, S_ACK | S_FAIL);
	g_assert_cmpuint(status(fx), ==, S_ACK | S_FAIL);
	/* FAILED sticks until reset */
	wr_bad(fx, VIRTIO_MMIO_STATUS, 4, S_ACK);
	g_assert_cmpuint(status(fx), ==, S_ACK | S_FAIL);
	wr(fx, VIRTIO_MMIO_STATUS, 0);
	g_assert_cmpuint(status(fx), ==, 0);
	/* FAILED straight from reset, and after DRIVER_OK */
	wr(fx, VIRTIO_MMIO_STATUS, S_FAIL);
	g_assert_cmpuint(status(fx), ==, S_FAIL);
	to_driver_ok(fx);
	wr(fx, VIRTIO_MMIO_STATUS, S_ACK | S_DRV | S_FOK | S_DOK | S_FAIL);
	g_assert_cmpuint(status(fx), ==, S_ACK | S_DRV | S_FOK | S_DOK | S_FAIL);
}

static void test_status_driver_ok_with_failed(struct fx *fx, gconstpointer data)
{
	to_features_ok(fx, F_V1);
	setup_queue(fx, 0);
	/* DRIVER_OK and FAILED at once: the driver gave up, nothing is started */
	wr(fx, VIRTIO_MMIO_STATUS, S_ACK | S_DRV | S_FOK | S_DOK | S_FAIL);
	g_assert_cmpuint(fx->f->start_calls, ==, 0);
	g_assert_false(fx->f->vdev.started);
	wr(fx, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	g_assert_cmpuint(fx->f->nkicks, ==, 0);
}

static void test_status_reserved_bits(struct fx *fx, gconstpointer data)
{
	wr_bad(fx, VIRTIO_MMIO_STATUS, 4, 0x100 | S_ACK);
	wr_bad(fx, VIRTIO_MMIO_STATUS, 4, 0x100);
	g_assert_cmpuint(status(fx), ==, 0);
	g_assert_cmpuint(fx->f->reset_calls, ==, 0);
}

/* --- reset --- */

static void test_reset_clears_everything(struct fx *fx, gconstpointer data)
{
	unsigned q;

	to_driver_ok(fx);
	vdev_notify_used(&fx->f->vdev, 0);
	vdev_config_changed(&fx->f->vdev);
	wr(fx, VIRTIO_MMIO_QUEUE_SEL, 1);
	wr(fx, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	wr(fx, VIRTIO_MMIO_SHM_SEL, 3);
	g_assert_true(fx->line);
	fake_vdev_clear_calls(fx->f);

	wr(fx, VIRTIO_MMIO_STATUS, 0);
	g_assert_cmpuint(fx->f->reset_calls, ==, 1);
	g_assert_cmpuint(status(fx), ==, 0);
	g_assert_cmpuint(rd(fx, VIRTIO_MMIO_INTERRUPT_STATUS), ==, 0);
	g_assert_false(fx->line);
	g_assert_false(fx->f->vdev.started);
	g_assert_cmpuint(fx->f->vdev.driver_features, ==, 0);
	g_assert_cmpuint(fx->m.queue_sel, ==, 0);
	g_assert_cmpuint(fx->m.device_features_sel, ==, 0);
	g_assert_cmpuint(fx->m.driver_features_sel, ==, 0);
	g_assert_cmpuint(fx->m.shm_sel, ==, 0);
	for (q = 0; q < NQUEUES; q++) {
		struct vdev_queue *vq = &fx->f->vdev.queues[q];

		wr(fx, VIRTIO_MMIO_QUEUE_SEL, q);
		g_assert_cmpuint(rd(fx, VIRTIO_MMIO_QUEUE_READY), ==, 0);
		g_assert_cmpuint(rd(fx, VIRTIO_MMIO_QUEUE_NUM_MAX), ==, QUEUE_MAX);
		g_assert_cmpuint(vq->num, ==, 0);
		g_assert_cmpuint(vq->desc | vq->avail | vq->used, ==, 0);
	}
	/* a late used notification from the back-end does not reach the driver */
	vdev_notify_used(&fx->f->vdev, 0);
	g_assert_false(fx->line);
	/* and the device can be brought up again */
	to_driver_ok(fx);
}

static void test_reset_early(struct fx *fx, gconstpointer data)
{
	wr(fx, VIRTIO_MMIO_STATUS, 0);
	wr(fx, VIRTIO_MMIO_STATUS, 0);
	g_assert_cmpuint(fx->f->reset_calls, ==, 2);
	g_assert_cmpuint(fx->raises + fx->lowers, ==, 0);
}

/* --- config space (virtio 1.2 §4.2.2: 0x100+, byte-aligned) --- */

static void test_config_read(struct fx *fx, gconstpointer data)
{
	uint64_t v;

	g_assert_cmpint(vmmio_read(&fx->m, VIRTIO_MMIO_CONFIG, 1, &v), ==, 0);
	g_assert_cmphex(v, ==, 0xa0);
	g_assert_cmpint(vmmio_read(&fx->m, VIRTIO_MMIO_CONFIG + 1, 2, &v), ==, 0);
	g_assert_cmphex(v, ==, 0xa2a1); /* little-endian, any alignment */
	g_assert_cmpint(vmmio_read(&fx->m, VIRTIO_MMIO_CONFIG + 4, 4, &v), ==, 0);
	g_assert_cmphex(v, ==, 0xa7a6a5a4);
	g_assert_cmpint(vmmio_read(&fx->m, VIRTIO_MMIO_CONFIG + 8, 8, &v), ==, 0);
	g_assert_cmphex(v, ==, 0xafaeadacabaaa9a8ULL);
	g_assert_cmpint(vmmio_read(&fx->m, VIRTIO_MMIO_CONFIG + CFG_SIZE - 1, 1, &v), ==, 0);
	g_assert_cmphex(v, ==, 0xaf);
	g_assert_cmpuint(fx->f->cfg_reads, ==, 5);
}

static void test_config_write(struct fx *fx, gconstpointer data)
{
	g_assert_cmpint(vmmio_write(&fx->m, VIRTIO_MMIO_CONFIG + 2, 2, 0x1234), ==, 0);
	g_assert_cmphex(fx->f->cfg[2], ==, 0x34);
	g_assert_cmphex(fx->f->cfg[3], ==, 0x12);
	g_assert_cmphex(fx->f->cfg[4], ==, 0xa4);
	g_assert_cmpint(vmmio_write(&fx->m, VIRTIO_MMIO_CONFIG + 8, 8, 0x0102030405060708ULL), ==,
			0);
	g_assert_cmphex(fx->f->cfg[8], ==, 0x08);
	g_assert_cmphex(fx->f->cfg[15], ==, 0x01);
	/* a device that refuses the write */
	fx->f->cfg_read_only = true;
	g_assert_cmpint(vmmio_write(&fx->m, VIRTIO_MMIO_CONFIG, 1, 0x55), ==, -EPERM);
	g_assert_cmphex(fx->f->cfg[0], ==, 0xa0);
}

static void test_config_out_of_bounds(struct fx *fx, gconstpointer data)
{
	static const unsigned sizes[] = { 1, 2, 4, 8 };
	unsigned i;

	for (i = 0; i < G_N_ELEMENTS(sizes); i++) {
		unsigned s = sizes[i];

		/* straddling the end, just beyond, at the end of the window */
		rd_bad(fx, VIRTIO_MMIO_CONFIG + CFG_SIZE - s + 1, s);
		rd_bad(fx, VIRTIO_MMIO_CONFIG + CFG_SIZE, s);
		rd_bad(fx, VMMIO_WINDOW_SIZE - s, s);
		rd_bad(fx, VMMIO_WINDOW_SIZE - 1, s);
		wr_bad(fx, VIRTIO_MMIO_CONFIG + CFG_SIZE - s + 1, s, 0);
		wr_bad(fx, VIRTIO_MMIO_CONFIG + CFG_SIZE, s, 0);
		wr_bad(fx, VMMIO_WINDOW_SIZE - 1, s, 0);
	}
	g_assert_cmpuint(fx->f->cfg_reads + fx->f->cfg_writes, ==, 0);
}

static void test_config_offset_overflow(struct fx *fx, gconstpointer data)
{
	/* offsets whose 32-bit truncation would land inside the config space */
	rd_bad(fx, 0x100000100ULL, 4);
	rd_bad(fx, 0xffffffff00000100ULL, 4);
	rd_bad(fx, UINT64_MAX, 1);
	rd_bad(fx, UINT64_MAX - 3, 4);
	wr_bad(fx, 0x100000100ULL, 4, 0);
	wr_bad(fx, UINT64_MAX - 7, 8, 0);
	g_assert_cmpuint(fx->f->cfg_reads + fx->f->cfg_writes, ==, 0);
}

static void test_config_none(struct fx *fx, gconstpointer data)
{
	fx_teardown(fx, data);
	fx_setup_cfg(fx, 0);
	rd_bad(fx, VIRTIO_MMIO_CONFIG, 1);
	rd_bad(fx, VIRTIO_MMIO_CONFIG, 4);
	wr_bad(fx, VIRTIO_MMIO_CONFIG, 4, 1);
}

static void test_config_generation(struct fx *fx, gconstpointer data)
{
	uint32_t g0 = rd(fx, VIRTIO_MMIO_CONFIG_GENERATION);

	/* changes before DRIVER_OK bump the generation without an interrupt */
	vdev_config_changed(&fx->f->vdev);
	g_assert_cmpuint(rd(fx, VIRTIO_MMIO_CONFIG_GENERATION), ==, g0 + 1);
	g_assert_false(fx->line);
	to_driver_ok(fx);
	vdev_config_changed(&fx->f->vdev);
	vdev_config_changed(&fx->f->vdev);
	g_assert_cmpuint(rd(fx, VIRTIO_MMIO_CONFIG_GENERATION), ==, g0 + 3);
	g_assert_true(fx->line);
	wr_bad(fx, VIRTIO_MMIO_CONFIG_GENERATION, 4, 0);
	g_assert_cmpuint(rd(fx, VIRTIO_MMIO_CONFIG_GENERATION), ==, g0 + 3);
}

/* --- bad accesses --- */

static void test_access_odd_sizes(struct fx *fx, gconstpointer data)
{
	static const unsigned sizes[] = { 0, 3, 5, 6, 7, 16, 0xffffffff };
	unsigned i;

	for (i = 0; i < G_N_ELEMENTS(sizes); i++) {
		rd_bad(fx, VIRTIO_MMIO_MAGIC_VALUE, sizes[i]);
		rd_bad(fx, VIRTIO_MMIO_CONFIG, sizes[i]);
		wr_bad(fx, VIRTIO_MMIO_STATUS, sizes[i], S_ACK);
		wr_bad(fx, VIRTIO_MMIO_CONFIG, sizes[i], 0);
	}
	g_assert_cmpuint(status(fx), ==, 0);
	g_assert_cmpuint(fx->f->cfg_reads + fx->f->cfg_writes, ==, 0);
}

static void test_access_register_sizes(struct fx *fx, gconstpointer data)
{
	static const unsigned sizes[] = { 1, 2, 8 };
	unsigned i;

	for (i = 0; i < G_N_ELEMENTS(sizes); i++) {
		rd_bad(fx, VIRTIO_MMIO_MAGIC_VALUE, sizes[i]);
		rd_bad(fx, VIRTIO_MMIO_STATUS, sizes[i]);
		rd_bad(fx, VIRTIO_MMIO_QUEUE_NUM_MAX, sizes[i]);
		wr_bad(fx, VIRTIO_MMIO_STATUS, sizes[i], S_ACK);
		wr_bad(fx, VIRTIO_MMIO_QUEUE_SEL, sizes[i], 1);
	}
	/* an 8-byte access at the last register would also cross into config space */
	rd_bad(fx, VIRTIO_MMIO_CONFIG_GENERATION, 8);
	g_assert_cmpuint(status(fx), ==, 0);
	g_assert_cmpuint(fx->m.queue_sel, ==, 0);
}

static void test_access_unaligned(struct fx *fx, gconstpointer data)
{
	unsigned i;

	for (i = 1; i < 4; i++) {
		rd_bad(fx, VIRTIO_MMIO_MAGIC_VALUE + i, 4);
		rd_bad(fx, VIRTIO_MMIO_STATUS + i, 4);
		wr_bad(fx, VIRTIO_MMIO_STATUS + i, 4, S_ACK);
		wr_bad(fx, VIRTIO_MMIO_STATUS + i, 1, S_ACK);
		rd_bad(fx, VIRTIO_MMIO_CONFIG_GENERATION + i, 4);
	}
	g_assert_cmpuint(status(fx), ==, 0);
}

static void test_access_outside_window(struct fx *fx, gconstpointer data)
{
	rd_bad(fx, VMMIO_WINDOW_SIZE, 4);
	rd_bad(fx, VMMIO_WINDOW_SIZE + VIRTIO_MMIO_STATUS, 4);
	wr_bad(fx, VMMIO_WINDOW_SIZE + VIRTIO_MMIO_STATUS, 4, S_ACK);
	wr_bad(fx, 1ULL << 32 | VIRTIO_MMIO_STATUS, 4, S_ACK);
	g_assert_cmpuint(status(fx), ==, 0);
}

static void test_access_reserved(struct fx *fx, gconstpointer data)
{
	uint64_t off;

	/* every 32-bit slot below 0x100 that is not a register of §4.2.2 */
	for (off = 0; off < VIRTIO_MMIO_CONFIG; off += 4) {
		switch (off) {
		case 0x018:
		case 0x01c:
		case 0x02c:
		case 0x048:
		case 0x04c:
		case 0x054 ... 0x05c:
		case 0x068 ... 0x06c:
		case 0x074 ... 0x07c:
		case 0x088 ... 0x08c:
		case 0x098 ... 0x09c:
		case 0x0a8:
		case 0x0c0 ... 0x0f8:
			rd_bad(fx, off, 4);
			wr_bad(fx, off, 4, 1);
			break;
		default:
			break;
		}
	}
	g_assert_cmpuint(status(fx), ==, 0);
}

static void test_access_write_only_reads(struct fx *fx, gconstpointer data)
{
	static const uint64_t wo[] = {
		VIRTIO_MMIO_DEVICE_FEATURES_SEL, VIRTIO_MMIO_DRIVER_FEATURES,
		VIRTIO_MMIO_DRIVER_FEATURES_SEL, VIRTIO_MMIO_QUEUE_SEL,
		VIRTIO_MMIO_QUEUE_NUM,		 VIRTIO_MMIO_QUEUE_NOTIFY,
		VIRTIO_MMIO_INTERRUPT_ACK,	 VIRTIO_MMIO_QUEUE_DESC_LOW,
		VIRTIO_MMIO_QUEUE_DESC_HIGH,	 VIRTIO_MMIO_QUEUE_AVAIL_LOW,
		VIRTIO_MMIO_QUEUE_AVAIL_HIGH,	 VIRTIO_MMIO_QUEUE_USED_LOW,
		VIRTIO_MMIO_QUEUE_USED_HIGH,	 VIRTIO_MMIO_SHM_SEL,
	};
	unsigned i;

	to_features_ok(fx, F_V1);
	program_queue(fx, 0, 64, gpa(0, 0), gpa(0, 1), gpa(0, 2));
	wr(fx, VIRTIO_MMIO_SHM_SEL, 7);
	for (i = 0; i < G_N_ELEMENTS(wo); i++)
		rd_bad(fx, wo[i], 4);
}

static void test_access_read_only_writes(struct fx *fx, gconstpointer data)
{
	static const uint64_t ro[] = {
		VIRTIO_MMIO_MAGIC_VALUE,      VIRTIO_MMIO_VERSION,
		VIRTIO_MMIO_DEVICE_ID,	      VIRTIO_MMIO_VENDOR_ID,
		VIRTIO_MMIO_DEVICE_FEATURES,  VIRTIO_MMIO_QUEUE_NUM_MAX,
		VIRTIO_MMIO_INTERRUPT_STATUS, VIRTIO_MMIO_SHM_LEN_LOW,
		VIRTIO_MMIO_SHM_LEN_HIGH,     VIRTIO_MMIO_SHM_BASE_LOW,
		VIRTIO_MMIO_SHM_BASE_HIGH,    VIRTIO_MMIO_CONFIG_GENERATION,
	};
	uint32_t before[G_N_ELEMENTS(ro)];
	unsigned i;

	to_driver_ok(fx);
	vdev_notify_used(&fx->f->vdev, 0);
	for (i = 0; i < G_N_ELEMENTS(ro); i++)
		before[i] = rd(fx, ro[i]);
	for (i = 0; i < G_N_ELEMENTS(ro); i++) {
		wr_bad(fx, ro[i], 4, 0);
		wr_bad(fx, ro[i], 4, 0x12345678);
	}
	for (i = 0; i < G_N_ELEMENTS(ro); i++)
		g_assert_cmphex(rd(fx, ro[i]), ==, before[i]);
	g_assert_true(fx->line);
}

static void test_access_wide_value(struct fx *fx, gconstpointer data)
{
	/* a 32-bit write whose value has bits above 31 (a broken ioreq): dropped */
	wr_bad(fx, VIRTIO_MMIO_STATUS, 4, 0x100000000ULL | S_ACK);
	g_assert_cmpuint(status(fx), ==, 0);
	/* on config space, bytes beyond the access size are ignored */
	g_assert_cmpint(vmmio_write(&fx->m, VIRTIO_MMIO_CONFIG, 1, 0xffffff11), ==, 0);
	g_assert_cmphex(fx->f->cfg[0], ==, 0x11);
	g_assert_cmphex(fx->f->cfg[1], ==, 0xa1);
}

/* --- shared memory, legacy --- */

static void test_shm_no_region(struct fx *fx, gconstpointer data)
{
	static const uint32_t ids[] = { 0, 1, 255, 0xffffffff };
	unsigned i;

	for (i = 0; i < G_N_ELEMENTS(ids); i++) {
		wr(fx, VIRTIO_MMIO_SHM_SEL, ids[i]);
		g_assert_cmphex(rd(fx, VIRTIO_MMIO_SHM_LEN_LOW), ==, 0xffffffff);
		g_assert_cmphex(rd(fx, VIRTIO_MMIO_SHM_LEN_HIGH), ==, 0xffffffff);
		g_assert_cmphex(rd(fx, VIRTIO_MMIO_SHM_BASE_LOW), ==, 0xffffffff);
		g_assert_cmphex(rd(fx, VIRTIO_MMIO_SHM_BASE_HIGH), ==, 0xffffffff);
	}
}

static void test_legacy_registers(struct fx *fx, gconstpointer data)
{
	to_features_ok(fx, F_V1);
	wr(fx, VIRTIO_MMIO_QUEUE_SEL, 0);
	wr(fx, VIRTIO_MMIO_QUEUE_NUM, 64);
	wr_bad(fx, VIRTIO_MMIO_GUEST_PAGE_SIZE, 4, 4096);
	wr_bad(fx, VIRTIO_MMIO_QUEUE_ALIGN, 4, 4096);
	wr_bad(fx, VIRTIO_MMIO_QUEUE_PFN, 4, 0x40000);
	rd_bad(fx, VIRTIO_MMIO_GUEST_PAGE_SIZE, 4);
	rd_bad(fx, VIRTIO_MMIO_QUEUE_ALIGN, 4);
	rd_bad(fx, VIRTIO_MMIO_QUEUE_PFN, 4);
	g_assert_cmpuint(fx->f->vdev.queues[0].desc, ==, 0);
	g_assert_false(fx->f->vdev.queues[0].ready);
}

/* --- lifecycle --- */

static void test_fini_detaches(struct fx *fx, gconstpointer data)
{
	to_driver_ok(fx);
	vmmio_fini(&fx->m);
	g_assert_null(fx->f->vdev.bus);
	vdev_notify_used(&fx->f->vdev, 0); /* must not reach the transport */
	vdev_set_broken(&fx->f->vdev, "after fini");
	g_assert_false(fx->line);
	vmmio_init(&fx->m, &fx_ops, &fx->f->vdev); /* for the teardown */
}

/* The order Linux's virtio_mmio driver uses (probe, find_vqs, ready, I/O, remove). */
static void test_linux_probe(struct fx *fx, gconstpointer data)
{
	uint64_t features;
	uint32_t q, max;

	g_assert_cmphex(rd(fx, VIRTIO_MMIO_MAGIC_VALUE), ==, 0x74726976);
	g_assert_cmpuint(rd(fx, VIRTIO_MMIO_VERSION), ==, 2);
	g_assert_cmpuint(rd(fx, VIRTIO_MMIO_DEVICE_ID), !=, 0);
	wr(fx, VIRTIO_MMIO_STATUS, 0);
	wr(fx, VIRTIO_MMIO_STATUS, status(fx) | S_ACK);
	wr(fx, VIRTIO_MMIO_STATUS, status(fx) | S_DRV);
	wr(fx, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	features = (uint64_t)rd(fx, VIRTIO_MMIO_DEVICE_FEATURES) << 32;
	wr(fx, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	features |= rd(fx, VIRTIO_MMIO_DEVICE_FEATURES);
	g_assert_cmphex(features, ==, F_V1 | F_DEV);
	write_features(fx, features);
	wr(fx, VIRTIO_MMIO_STATUS, status(fx) | S_FOK);
	g_assert_cmpuint(status(fx) & S_FOK, ==, S_FOK);
	for (q = 0; q < NQUEUES; q++) {
		wr(fx, VIRTIO_MMIO_QUEUE_SEL, q);
		g_assert_cmpuint(rd(fx, VIRTIO_MMIO_QUEUE_READY), ==, 0);
		max = rd(fx, VIRTIO_MMIO_QUEUE_NUM_MAX);
		g_assert_cmpuint(max, ==, QUEUE_MAX);
		program_queue(fx, q, max, gpa(q, 0), gpa(q, 1), gpa(q, 2));
		wr(fx, VIRTIO_MMIO_QUEUE_READY, 1);
	}
	wr(fx, VIRTIO_MMIO_STATUS, status(fx) | S_DOK);
	g_assert_true(fx->f->vdev.started);
	wr(fx, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	vdev_notify_used(&fx->f->vdev, 0);
	g_assert_true(fx->line);
	wr(fx, VIRTIO_MMIO_INTERRUPT_ACK, rd(fx, VIRTIO_MMIO_INTERRUPT_STATUS));
	g_assert_false(fx->line);
	/* remove: reset, then each queue is disabled and read back */
	wr(fx, VIRTIO_MMIO_STATUS, 0);
	for (q = 0; q < NQUEUES; q++) {
		wr(fx, VIRTIO_MMIO_QUEUE_SEL, q);
		wr(fx, VIRTIO_MMIO_QUEUE_READY, 0); /* already 0 after the reset: a no-op */
		g_assert_cmpuint(rd(fx, VIRTIO_MMIO_QUEUE_READY), ==, 0);
	}
}

static GLogWriterOutput quiet_writer(GLogLevelFlags level, const GLogField *fields, gsize n_fields,
				     gpointer user_data)
{
	if (!g_test_verbose())
		return G_LOG_WRITER_HANDLED;
	return g_log_writer_default(level, fields, n_fields, user_data);
}

#define ADD(path, fn) g_test_add(path, struct fx, NULL, fx_setup, fn, fx_teardown)

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	/* Negative tests make the code under test warn: expected, not fatal, shown with -v. */
	g_log_set_always_fatal(G_LOG_FATAL_MASK);
	g_log_set_writer_func(quiet_writer, NULL, NULL);

	ADD("/vmmio/ident", test_ident);
	ADD("/vmmio/features/device-words", test_features_device_words);
	ADD("/vmmio/features/ack", test_features_ack);
	ADD("/vmmio/features/ack-subset", test_features_ack_subset);
	ADD("/vmmio/features/unoffered", test_features_unoffered);
	ADD("/vmmio/features/unoffered-high", test_features_unoffered_high);
	ADD("/vmmio/features/no-version-1", test_features_no_version_1);
	ADD("/vmmio/features/device-refuses", test_features_device_refuses);
	ADD("/vmmio/features/after-features-ok", test_features_after_features_ok);
	ADD("/vmmio/features/sel-beyond", test_features_sel_beyond);
	ADD("/vmmio/queue-num-max", test_queue_num_max);
	ADD("/vmmio/queue-sel/out-of-range", test_queue_sel_out_of_range);
	ADD("/vmmio/queue-num/valid", test_queue_num);
	ADD("/vmmio/queue-num/zero", test_queue_num_zero);
	ADD("/vmmio/queue-num/not-pow2", test_queue_num_not_pow2);
	ADD("/vmmio/queue-num/above-max", test_queue_num_above_max);
	ADD("/vmmio/queue/addresses", test_queue_addresses);
	ADD("/vmmio/queue/before-features-ok", test_queue_before_features_ok);
	ADD("/vmmio/queue/after-driver-ok", test_queue_after_driver_ok);
	ADD("/vmmio/queue/after-failed", test_queue_after_failed);
	ADD("/vmmio/queue/locked-while-ready", test_queue_locked_while_ready);
	ADD("/vmmio/queue-ready/needs-num", test_queue_ready_needs_num);
	ADD("/vmmio/queue-ready/needs-addresses", test_queue_ready_needs_addresses);
	ADD("/vmmio/queue-ready/misaligned", test_queue_ready_misaligned);
	ADD("/vmmio/features/packed-not-offered", test_features_packed_not_offered);
	ADD("/vmmio/queue-ready/values", test_queue_ready_values);
	ADD("/vmmio/notify/kick", test_notify_kick);
	ADD("/vmmio/notify/out-of-range", test_notify_out_of_range);
	ADD("/vmmio/notify/before-driver-ok", test_notify_before_driver_ok);
	ADD("/vmmio/interrupt/used", test_interrupt_used);
	ADD("/vmmio/interrupt/used-before-driver-ok", test_interrupt_used_before_driver_ok);
	ADD("/vmmio/interrupt/config", test_interrupt_config);
	ADD("/vmmio/interrupt/partial-ack", test_interrupt_partial_ack);
	ADD("/vmmio/interrupt/used-external", test_interrupt_used_external);
	ADD("/vmmio/interrupt/ack-undefined-bits", test_interrupt_ack_undefined_bits);
	ADD("/vmmio/interrupt/needs-reset", test_interrupt_needs_reset);
	ADD("/vmmio/interrupt/start-fails", test_interrupt_start_fails);
	ADD("/vmmio/status/sequence", test_status_sequence);
	ADD("/vmmio/status/skip-step", test_status_skip_step);
	ADD("/vmmio/status/clear-bit", test_status_clear_bit);
	ADD("/vmmio/status/needs-reset-from-driver", test_status_needs_reset_from_driver);
	ADD("/vmmio/status/failed", test_status_failed);
	ADD("/vmmio/status/driver-ok-with-failed", test_status_driver_ok_with_failed);
	ADD("/vmmio/status/reserved-bits", test_status_reserved_bits);
	ADD("/vmmio/reset/clears-everything", test_reset_clears_everything);
	ADD("/vmmio/reset/early", test_reset_early);
	ADD("/vmmio/config/read", test_config_read);
	ADD("/vmmio/config/write", test_config_write);
	ADD("/vmmio/config/out-of-bounds", test_config_out_of_bounds);
	ADD("/vmmio/config/offset-overflow", test_config_offset_overflow);
	ADD("/vmmio/config/none", test_config_none);
	ADD("/vmmio/config/generation", test_config_generation);
	ADD("/vmmio/access/odd-sizes", test_access_odd_sizes);
	ADD("/vmmio/access/register-sizes", test_access_register_sizes);
	ADD("/vmmio/access/unaligned", test_access_unaligned);
	ADD("/vmmio/access/outside-window", test_access_outside_window);
	ADD("/vmmio/access/reserved", test_access_reserved);
	ADD("/vmmio/access/write-only-reads", test_access_write_only_reads);
	ADD("/vmmio/access/read-only-writes", test_access_read_only_writes);
	ADD("/vmmio/access/wide-value", test_access_wide_value);
	ADD("/vmmio/shm/no-region", test_shm_no_region);
	ADD("/vmmio/legacy/registers", test_legacy_registers);
	ADD("/vmmio/fini/detaches", test_fini_detaches);
	ADD("/vmmio/linux-probe", test_linux_probe);
	return g_test_run();
}
