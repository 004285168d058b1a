/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests of the virtio device core (devices/vdev.c) with the fake device: the status
 * transition table checked exhaustively against an independent model (virtio 1.2 §2.1,
 * §3.1.1), feature negotiation, queue rules, config bounds, kicks and notifications.
 */
#include <errno.h>
#include <string.h>
#include <glib.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>

#include "tests/support/fake-vdev.h"

#define S_ACK  VIRTIO_CONFIG_S_ACKNOWLEDGE
#define S_DRV  VIRTIO_CONFIG_S_DRIVER
#define S_FOK  VIRTIO_CONFIG_S_FEATURES_OK
#define S_DOK  VIRTIO_CONFIG_S_DRIVER_OK
#define S_NR   VIRTIO_CONFIG_S_NEEDS_RESET
#define S_FAIL VIRTIO_CONFIG_S_FAILED
#define F_V1   (1ULL << VIRTIO_F_VERSION_1)
#define F_DEV  (1ULL << 7)

struct bus_rec {
	struct vdev_bus bus;
	unsigned used;
	unsigned config;
	unsigned last_q;
};

static void rec_used(struct vdev_bus *bus, unsigned q)
{
	struct bus_rec *r = container_of(bus, struct bus_rec, bus);

	r->used++;
	r->last_q = q;
}

static void rec_config(struct vdev_bus *bus)
{
	container_of(bus, struct bus_rec, bus)->config++;
}

static const struct vdev_bus_ops rec_ops = {
	.notify_used = rec_used,
	.notify_config = rec_config,
};

struct fx {
	struct fake_vdev *f;
	struct vdev *d;
	struct bus_rec rec;
};

static void fx_setup(struct fx *fx, gconstpointer data)
{
	memset(fx, 0, sizeof(*fx));
	fx->f = fake_vdev_new(VIRTIO_ID_RNG, 3, 128, 8);
	g_assert_nonnull(fx->f);
	fx->f->offer = F_DEV;
	fx->d = &fx->f->vdev;
	fx->rec.bus.ops = &rec_ops;
	vdev_attach(fx->d, &fx->rec.bus);
}

static void fx_teardown(struct fx *fx, gconstpointer data)
{
	fake_vdev_free(fx->f);
}

static void set_features(struct vdev *d, uint64_t f)
{
	g_assert_cmpint(vdev_set_driver_features_word(d, 0, (uint32_t)f), ==, 0);
	g_assert_cmpint(vdev_set_driver_features_word(d, 1, (uint32_t)(f >> 32)), ==, 0);
}

static void to_features_ok(struct vdev *d, uint64_t f)
{
	vdev_reset(d);
	g_assert_cmpint(vdev_set_status(d, S_ACK), ==, 0);
	g_assert_cmpint(vdev_set_status(d, S_ACK | S_DRV), ==, 0);
	set_features(d, f);
	g_assert_cmpint(vdev_set_status(d, S_ACK | S_DRV | S_FOK), ==, 0);
}

/* --- init --- */

static void test_init_bad_args(void)
{
	struct vdev d;

	g_assert_null(fake_vdev_new(1, 0, 128, 0));
	g_assert_null(fake_vdev_new(1, VDEV_MAX_QUEUES + 1, 128, 0));
	g_assert_null(fake_vdev_new(1, 1, 0, 0));
	g_assert_null(fake_vdev_new(1, 1, 100, 0));
	g_assert_null(fake_vdev_new(1, 1, 128, VDEV_MAX_CFG_SIZE + 1));
	g_assert_cmpint(vdev_init(&d, NULL, "x", 1, 1, 3, 0, NULL), ==, -EINVAL);
	fake_vdev_free(NULL); /* NULL-safe */
	vdev_free(NULL);
}

static void test_init_limits(void)
{
	struct fake_vdev *f = fake_vdev_new(1, VDEV_MAX_QUEUES, 32768, VDEV_MAX_CFG_SIZE);

	g_assert_nonnull(f);
	g_assert_cmpuint(f->vdev.queues[VDEV_MAX_QUEUES - 1].num_max, ==, 32768);
	g_assert_null(vdev_queue(&f->vdev, VDEV_MAX_QUEUES));
	fake_vdev_free(f);
}

/* --- the status table, exhaustively --- */

/* The initialisation sequence of virtio 1.2 §3.1.1 as a chain of status values. */
static const uint8_t chain[] = { 0, S_ACK, S_ACK | S_DRV, S_ACK | S_DRV | S_FOK,
				 S_ACK | S_DRV | S_FOK | S_DOK };

static int chain_index(uint8_t seq)
{
	unsigned i;

	for (i = 0; i < G_N_ELEMENTS(chain); i++)
		if (chain[i] == seq)
			return (int)i;
	return -1;
}

/* Independent model: may the driver change the status from `from` to `to`? */
static bool model_legal(uint8_t from, uint8_t to)
{
	int fi, ti;

	if (to == 0)
		return true;
	if (to & (S_NR | 0x10 | 0x20))
		return false;
	if ((from & S_FAIL) && !(to & S_FAIL))
		return false;
	fi = chain_index(from & 0x0f);
	ti = chain_index(to & 0x0f);
	return ti >= 0 && fi >= 0 && ti >= fi; /* forward, one or several steps at once */
}

/* Bring a fresh device to chain[step], optionally FAILED and/or broken. */
static void reach(struct fx *fx, unsigned step, bool failed, bool broken)
{
	unsigned i;

	vdev_reset(fx->d);
	set_features(fx->d, F_V1); /* so that a FEATURES_OK step succeeds */
	for (i = 1; i <= step; i++)
		g_assert_cmpint(vdev_set_status(fx->d, chain[i]), ==, 0);
	if (failed)
		g_assert_cmpint(vdev_set_status(fx->d, chain[step] | S_FAIL), ==, 0);
	if (broken)
		vdev_set_broken(fx->d, "test");
	fake_vdev_clear_calls(fx->f);
}

static void test_status_table(struct fx *fx, gconstpointer data)
{
	unsigned step, to, variant;

	for (step = 0; step < G_N_ELEMENTS(chain); step++) {
		for (variant = 0; variant < 4; variant++) {
			bool failed = variant & 1, broken = variant & 2;

			for (to = 0; to < 256; to++) {
				uint8_t from, want;
				bool legal;
				int r;

				reach(fx, step, failed, broken);
				from = vdev_get_status(fx->d);
				legal = model_legal(from & ~S_NR, (uint8_t)to);
				r = vdev_set_status(fx->d, (uint8_t)to);
				if (!legal) {
					g_assert_cmpint(r, ==, -EINVAL);
					g_assert_cmphex(vdev_get_status(fx->d), ==, from);
					g_assert_cmpuint(fx->f->reset_calls, ==, 0);
					g_assert_cmpuint(fx->f->start_calls, ==, 0);
					continue;
				}
				g_assert_cmpint(r, ==, 0);
				want = to ? (uint8_t)(to | (from & S_NR)) : 0;
				g_assert_cmphex(vdev_get_status(fx->d), ==, want);
				g_assert_cmpuint(fx->f->reset_calls, ==, to == 0);
				/* start exactly when DRIVER_OK is new, not FAILED, not broken */
				g_assert_cmpuint(fx->f->start_calls, ==,
						 (to & S_DOK) && !(from & S_DOK) &&
							 !(to & S_FAIL) && !broken);
				g_assert_cmpuint(fx->f->set_features_calls, ==,
						 (to & S_FOK) && !(from & S_FOK));
			}
		}
	}
}

static void test_status_driver_ok_with_failed(struct fx *fx, gconstpointer data)
{
	to_features_ok(fx->d, F_V1);
	g_assert_cmpint(vdev_set_status(fx->d, S_ACK | S_DRV | S_FOK | S_DOK | S_FAIL), ==, 0);
	g_assert_cmpuint(fx->f->start_calls, ==, 0);
	g_assert_false(fx->d->started);
	vdev_kick(fx->d, 0);
	g_assert_cmpuint(fx->f->nkicks, ==, 0);
}

static void test_status_features_ok_refused(struct fx *fx, gconstpointer data)
{
	/* not offered */
	to_features_ok(fx->d, F_V1 | F_DEV | (1ULL << 1));
	g_assert_cmphex(vdev_get_status(fx->d), ==, S_ACK | S_DRV);
	g_assert_cmpuint(fx->f->set_features_calls, ==, 0);
	/* no VERSION_1 */
	to_features_ok(fx->d, F_DEV);
	g_assert_cmphex(vdev_get_status(fx->d), ==, S_ACK | S_DRV);
	g_assert_cmpuint(fx->f->set_features_calls, ==, 0);
	/* device refuses */
	fx->f->set_features_ret = -EINVAL;
	to_features_ok(fx->d, F_V1 | F_DEV);
	g_assert_cmphex(vdev_get_status(fx->d), ==, S_ACK | S_DRV);
	g_assert_cmpuint(fx->f->set_features_calls, ==, 1);
	g_assert_cmphex(fx->f->acked, ==, F_V1 | F_DEV);
	/* and accepted */
	fx->f->set_features_ret = 0;
	to_features_ok(fx->d, F_V1 | F_DEV);
	g_assert_cmphex(vdev_get_status(fx->d), ==, S_ACK | S_DRV | S_FOK);
}

/* Several steps in one write: SeaBIOS's virtio-pci disk (found on the x86 lab, tests/e2e-x86). */
static void test_status_several_steps(struct fx *fx, gconstpointer data)
{
	g_assert_cmpint(vdev_set_status(fx->d, S_ACK | S_DRV), ==, 0);
	g_assert_cmphex(vdev_get_status(fx->d), ==, S_ACK | S_DRV);
	set_features(fx->d, F_V1);
	g_assert_cmpint(vdev_set_status(fx->d, S_ACK | S_DRV | S_FOK), ==, 0);
	g_assert_cmphex(vdev_get_status(fx->d), ==, S_ACK | S_DRV | S_FOK);
	g_assert_cmpuint(fx->f->set_features_calls, ==, 1);
	/* all four at once, features refused: neither FEATURES_OK nor DRIVER_OK, no start */
	vdev_reset(fx->d);
	fake_vdev_clear_calls(fx->f);
	set_features(fx->d, F_DEV); /* no VERSION_1 */
	g_assert_cmpint(vdev_set_status(fx->d, S_ACK | S_DRV | S_FOK | S_DOK), ==, 0);
	g_assert_cmphex(vdev_get_status(fx->d), ==, S_ACK | S_DRV);
	g_assert_cmpuint(fx->f->start_calls, ==, 0);
	g_assert_false(fx->d->started);
	/* and accepted: started */
	vdev_reset(fx->d);
	set_features(fx->d, F_V1);
	g_assert_cmpint(vdev_set_status(fx->d, S_ACK | S_DRV | S_FOK | S_DOK), ==, 0);
	g_assert_cmphex(vdev_get_status(fx->d), ==, S_ACK | S_DRV | S_FOK | S_DOK);
	g_assert_cmpuint(fx->f->start_calls, ==, 1);
	/* skipping a bit of the sequence is still refused */
	vdev_reset(fx->d);
	g_assert_cmpint(vdev_set_status(fx->d, S_ACK | S_FOK), ==, -EINVAL);
	g_assert_cmpint(vdev_set_status(fx->d, S_DRV), ==, -EINVAL);
	g_assert_cmphex(vdev_get_status(fx->d), ==, 0);
}

static void test_status_start_fails(struct fx *fx, gconstpointer data)
{
	fx->f->start_ret = -EIO;
	to_features_ok(fx->d, F_V1);
	g_assert_cmpint(vdev_set_status(fx->d, S_ACK | S_DRV | S_FOK | S_DOK), ==, 0);
	g_assert_cmphex(vdev_get_status(fx->d), ==, S_ACK | S_DRV | S_FOK | S_DOK | S_NR);
	g_assert_true(fx->d->broken);
	g_assert_false(fx->d->started);
	g_assert_cmpuint(fx->rec.config, ==, 1);
}

/* --- features --- */

static void test_features_words(struct fx *fx, gconstpointer data)
{
	/* ACCESS_PLATFORM (33) passes; IN_ORDER (35), RING_PACKED (34), NOTIFICATION_DATA
	 * (38) and RING_RESET (40) need transport support we lack: never offered. */
	fx->f->offer =
		F_DEV | (1ULL << 33) | (1ULL << 34) | (1ULL << 35) | (1ULL << 38) | (1ULL << 40);
	g_assert_cmphex(vdev_host_features_word(fx->d, 0), ==, (uint32_t)F_DEV);
	g_assert_cmphex(vdev_host_features_word(fx->d, 1), ==, (F_V1 | (1ULL << 33)) >> 32);
	g_assert_cmphex(vdev_host_features_word(fx->d, 2), ==, 0);
	g_assert_cmphex(vdev_host_features_word(fx->d, 0xffffffff), ==, 0);
}

static void test_features_driver_words(struct fx *fx, gconstpointer data)
{
	g_assert_cmpint(vdev_set_driver_features_word(fx->d, 1, 1), ==, 0);
	g_assert_cmpint(vdev_set_driver_features_word(fx->d, 0, 0x80), ==, 0);
	g_assert_cmphex(fx->d->driver_features, ==, F_V1 | F_DEV);
	g_assert_cmpint(vdev_set_driver_features_word(fx->d, 0, 0), ==, 0);
	g_assert_cmphex(fx->d->driver_features, ==, F_V1);
	g_assert_cmpint(vdev_set_driver_features_word(fx->d, 2, 0), ==, 0);
	g_assert_cmpint(vdev_set_driver_features_word(fx->d, 2, 1), ==, -EINVAL);
	g_assert_cmpint(vdev_set_driver_features_word(fx->d, 0xffffffff, 1), ==, -EINVAL);
	g_assert_cmphex(fx->d->driver_features, ==, F_V1);
	/* frozen after FEATURES_OK */
	to_features_ok(fx->d, F_V1);
	g_assert_cmpint(vdev_set_driver_features_word(fx->d, 0, 0x80), ==, -EINVAL);
	g_assert_cmphex(fx->d->driver_features, ==, F_V1);
}

/* --- queues --- */

static void test_queue_writable(struct fx *fx, gconstpointer data)
{
	g_assert_false(vdev_queue_writable(fx->d));
	g_assert_cmpint(vdev_set_status(fx->d, S_ACK), ==, 0);
	g_assert_false(vdev_queue_writable(fx->d));
	g_assert_cmpint(vdev_set_status(fx->d, S_ACK | S_DRV), ==, 0);
	g_assert_false(vdev_queue_writable(fx->d));
	set_features(fx->d, F_V1);
	g_assert_cmpint(vdev_set_status(fx->d, S_ACK | S_DRV | S_FOK), ==, 0);
	g_assert_true(vdev_queue_writable(fx->d));
	g_assert_cmpint(vdev_set_status(fx->d, S_ACK | S_DRV | S_FOK | S_DOK), ==, 0);
	g_assert_false(vdev_queue_writable(fx->d));
	to_features_ok(fx->d, F_V1);
	g_assert_cmpint(vdev_set_status(fx->d, S_ACK | S_DRV | S_FOK | S_FAIL), ==, 0);
	g_assert_false(vdev_queue_writable(fx->d));
}

static void test_queue_set_num(struct fx *fx, gconstpointer data)
{
	static const uint32_t bad[] = { 0, 3, 127, 129, 256, 0x10000, 0x10080, 0xffffffff };
	unsigned i;

	for (i = 0; i < G_N_ELEMENTS(bad); i++)
		g_assert_cmpint(vdev_queue_set_num(fx->d, 0, bad[i]), ==, -EINVAL);
	g_assert_cmpuint(fx->d->queues[0].num, ==, 0);
	g_assert_cmpint(vdev_queue_set_num(fx->d, 0, 1), ==, 0);
	g_assert_cmpint(vdev_queue_set_num(fx->d, 2, 128), ==, 0);
	g_assert_cmpuint(fx->d->queues[0].num, ==, 1);
	g_assert_cmpuint(fx->d->queues[2].num, ==, 128);
	g_assert_cmpint(vdev_queue_set_num(fx->d, 3, 64), ==, -EINVAL);
	g_assert_cmpint(vdev_queue_set_num(fx->d, 0xffffffff, 64), ==, -EINVAL);
}

static void test_queue_out_of_range(struct fx *fx, gconstpointer data)
{
	g_assert_nonnull(vdev_queue(fx->d, 2));
	g_assert_null(vdev_queue(fx->d, 3));
	g_assert_null(vdev_queue(fx->d, VDEV_MAX_QUEUES));
	g_assert_null(vdev_queue(fx->d, 0xffffffff));
}

static void test_reset_clears(struct fx *fx, gconstpointer data)
{
	struct vdev_queue *vq = &fx->d->queues[1];

	to_features_ok(fx->d, F_V1);
	g_assert_cmpint(vdev_queue_set_num(fx->d, 1, 64), ==, 0);
	vq->desc = 0x1000;
	vq->avail = 0x2000;
	vq->used = 0x3000;
	vq->ready = true;
	g_assert_cmpint(vdev_set_status(fx->d, S_ACK | S_DRV | S_FOK | S_DOK), ==, 0);
	vdev_set_broken(fx->d, "test");
	fake_vdev_clear_calls(fx->f);
	g_assert_cmpint(vdev_set_status(fx->d, 0), ==, 0);
	g_assert_cmpuint(fx->f->reset_calls, ==, 1);
	g_assert_cmphex(vdev_get_status(fx->d), ==, 0);
	g_assert_false(fx->d->started);
	g_assert_false(fx->d->broken);
	g_assert_cmphex(fx->d->driver_features, ==, 0);
	g_assert_cmpuint(vq->num_max, ==, 128);
	g_assert_cmpuint(vq->num, ==, 0);
	g_assert_false(vq->ready);
	g_assert_cmphex(vq->desc | vq->avail | vq->used, ==, 0);
}

/* --- config space --- */

static void test_cfg_bounds(struct fx *fx, gconstpointer data)
{
	uint8_t buf[16] = { 0 };

	memcpy(fx->f->cfg, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
	g_assert_cmpint(vdev_cfg_read(fx->d, 0, buf, 8), ==, 0);
	g_assert_cmpmem(buf, 8, fx->f->cfg, 8);
	g_assert_cmpint(vdev_cfg_read(fx->d, 7, buf, 1), ==, 0);
	g_assert_cmpint(vdev_cfg_read(fx->d, 8, buf, 0), ==, 0);
	g_assert_cmpint(vdev_cfg_read(fx->d, 7, buf, 2), ==, -EINVAL);
	g_assert_cmpint(vdev_cfg_read(fx->d, 8, buf, 1), ==, -EINVAL);
	g_assert_cmpint(vdev_cfg_read(fx->d, 0, buf, 9), ==, -EINVAL);
	/* off + len wraps around 32 bits */
	g_assert_cmpint(vdev_cfg_read(fx->d, 0xffffffff, buf, 2), ==, -EINVAL);
	g_assert_cmpint(vdev_cfg_read(fx->d, 4, buf, 0xfffffffe), ==, -EINVAL);
	g_assert_cmpint(vdev_cfg_write(fx->d, 0xfffffffc, buf, 8), ==, -EINVAL);
	g_assert_cmpint(vdev_cfg_write(fx->d, 2, buf, 0xffffffff), ==, -EINVAL);
	g_assert_cmpint(vdev_cfg_write(fx->d, 6, "\xaa\xbb", 2), ==, 0);
	g_assert_cmphex(fx->f->cfg[7], ==, 0xbb);
	/* the fake would say -ERANGE if the core let a bad one through */
	g_assert_cmpuint(fx->f->cfg_reads, ==, 3);
	g_assert_cmpuint(fx->f->cfg_writes, ==, 1);
}

static void test_cfg_none(void)
{
	struct fake_vdev *f = fake_vdev_new(1, 1, 8, 0);
	uint8_t b = 0;

	g_assert_cmpint(vdev_cfg_read(&f->vdev, 0, &b, 1), ==, -EINVAL);
	g_assert_cmpint(vdev_cfg_write(&f->vdev, 0, &b, 1), ==, -EINVAL);
	g_assert_cmpuint(f->cfg_reads + f->cfg_writes, ==, 0);
	fake_vdev_free(f);
}

/* --- kicks and notifications --- */

static void test_kick_rules(struct fx *fx, gconstpointer data)
{
	vdev_kick(fx->d, 0); /* before DRIVER_OK */
	to_features_ok(fx->d, F_V1);
	vdev_kick(fx->d, 0);
	g_assert_cmpint(vdev_set_status(fx->d, S_ACK | S_DRV | S_FOK | S_DOK), ==, 0);
	vdev_kick(fx->d, 3); /* no such queue */
	vdev_kick(fx->d, 0xffffffff);
	g_assert_cmpuint(fx->f->nkicks, ==, 0);
	vdev_kick(fx->d, 2);
	g_assert_cmpuint(fx->f->kicks[2], ==, 1);
	vdev_set_broken(fx->d, "test");
	vdev_kick(fx->d, 2);
	g_assert_cmpuint(fx->f->nkicks, ==, 1);
}

static void test_notify_config_changed(struct fx *fx, gconstpointer data)
{
	uint32_t g0 = fx->d->cfg_generation;

	vdev_config_changed(fx->d); /* before DRIVER_OK: generation only */
	g_assert_cmpuint(fx->d->cfg_generation, ==, g0 + 1);
	g_assert_cmpuint(fx->rec.config, ==, 0);
	to_features_ok(fx->d, F_V1);
	g_assert_cmpint(vdev_set_status(fx->d, S_ACK | S_DRV | S_FOK | S_DOK), ==, 0);
	vdev_config_changed(fx->d);
	g_assert_cmpuint(fx->d->cfg_generation, ==, g0 + 2);
	g_assert_cmpuint(fx->rec.config, ==, 1);
	vdev_notify_used(fx->d, 2);
	g_assert_cmpuint(fx->rec.used, ==, 1);
	g_assert_cmpuint(fx->rec.last_q, ==, 2);
}

static void test_broken_notifies(struct fx *fx, gconstpointer data)
{
	/* before DRIVER: nobody to tell */
	vdev_set_broken(fx->d, "early");
	g_assert_cmphex(vdev_get_status(fx->d), ==, S_NR);
	g_assert_cmpuint(fx->rec.config, ==, 0);
	/* the driver cannot clear it, only reset */
	g_assert_cmpint(vdev_set_status(fx->d, S_ACK), ==, 0);
	g_assert_cmphex(vdev_get_status(fx->d), ==, S_ACK | S_NR);
	vdev_reset(fx->d);
	g_assert_cmpint(vdev_set_status(fx->d, S_ACK), ==, 0);
	g_assert_cmpint(vdev_set_status(fx->d, S_ACK | S_DRV), ==, 0);
	vdev_set_broken(fx->d, "once");
	vdev_set_broken(fx->d, "twice"); /* latched: one notification */
	g_assert_cmpuint(fx->rec.config, ==, 1);
	/* DRIVER_OK while broken starts nothing */
	set_features(fx->d, F_V1);
	g_assert_cmpint(vdev_set_status(fx->d, S_ACK | S_DRV | S_FOK), ==, 0);
	g_assert_cmpint(vdev_set_status(fx->d, S_ACK | S_DRV | S_FOK | S_DOK), ==, 0);
	g_assert_cmpuint(fx->f->start_calls, ==, 0);
}

static void test_detached(struct fx *fx, gconstpointer data)
{
	vdev_attach(fx->d, NULL);
	to_features_ok(fx->d, F_V1);
	g_assert_cmpint(vdev_set_status(fx->d, S_ACK | S_DRV | S_FOK | S_DOK), ==, 0);
	vdev_notify_used(fx->d, 0);
	vdev_config_changed(fx->d);
	vdev_set_broken(fx->d, "detached");
	g_assert_cmpuint(fx->rec.used + fx->rec.config, ==, 0);
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

	g_test_add_func("/vdev/init/bad-args", test_init_bad_args);
	g_test_add_func("/vdev/init/limits", test_init_limits);
	ADD("/vdev/status/table", test_status_table);
	ADD("/vdev/status/driver-ok-with-failed", test_status_driver_ok_with_failed);
	ADD("/vdev/status/features-ok-refused", test_status_features_ok_refused);
	ADD("/vdev/status/several-steps", test_status_several_steps);
	ADD("/vdev/status/start-fails", test_status_start_fails);
	ADD("/vdev/features/words", test_features_words);
	ADD("/vdev/features/driver-words", test_features_driver_words);
	ADD("/vdev/queue/writable", test_queue_writable);
	ADD("/vdev/queue/set-num", test_queue_set_num);
	ADD("/vdev/queue/out-of-range", test_queue_out_of_range);
	ADD("/vdev/reset/clears", test_reset_clears);
	ADD("/vdev/cfg/bounds", test_cfg_bounds);
	g_test_add_func("/vdev/cfg/none", test_cfg_none);
	ADD("/vdev/kick/rules", test_kick_rules);
	ADD("/vdev/notify/config-changed", test_notify_config_changed);
	ADD("/vdev/broken/notifies", test_broken_notifies);
	ADD("/vdev/attach/detached", test_detached);
	return g_test_run();
}
