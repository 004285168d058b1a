/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests of the built-in virtio-rng device (devices/rng.c) and the device-type
 * catalogue (devices/catalogue.c), driven through the device core as a transport would.
 * Trust boundary: none (test code); the tests play the guest driver.
 */
#include <errno.h>
#include <string.h>
#include <glib.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_ring.h>

#include "common/util.h"
#include "devices/catalogue.h"
#include "devices/vdev.h"
#include "tests/support/fake-gmem.h"

#define BASE	 0x40000000ULL
#define MEM_SIZE 0x200000ULL
#define DESC	 (BASE + 0x00000)
#define AVAIL	 (BASE + 0x10000)
#define USED	 (BASE + 0x20000)
#define DATA	 (BASE + 0x100000)
#define F_EVENT	 (1ULL << VIRTIO_RING_F_EVENT_IDX)
#define F_INDIR	 (1ULL << VIRTIO_RING_F_INDIRECT_DESC)
#define F_V1	 (1ULL << VIRTIO_F_VERSION_1)

struct tbus {
	struct vdev_bus bus;
	unsigned used[VDEV_MAX_QUEUES];
	unsigned config;
};

static void tbus_notify_used(struct vdev_bus *bus, unsigned q)
{
	container_of(bus, struct tbus, bus)->used[q]++;
}

static void tbus_notify_config(struct vdev_bus *bus)
{
	container_of(bus, struct tbus, bus)->config++;
}

static const struct vdev_bus_ops tbus_ops = {
	.notify_used = tbus_notify_used,
	.notify_config = tbus_notify_config,
};

struct trng {
	struct fake_gmem *fg;
	struct vdev *d;
	struct tbus bus;
	uint16_t num;
	uint16_t avail_idx;
};

static void trng_new(struct trng *t, uint16_t queue_size)
{
	struct vdev_params p = { .name = "dom1/rng0", .queue_size = queue_size };
	GError *err = NULL;

	memset(t, 0, sizeof(*t));
	t->fg = fake_gmem_new(BASE, MEM_SIZE);
	p.mem = &t->fg->gmem;
	g_assert_cmpint(vdev_create("rng", &p, &t->d, &err), ==, 0);
	g_assert_no_error(err);
	t->bus.bus.ops = &tbus_ops;
	vdev_attach(t->d, &t->bus.bus);
}

/* The driver's initialisation (virtio 1.2 §3.1.1) with queue 0 of num entries. */
static void trng_start(struct trng *t, uint16_t num, uint64_t features)
{
	struct vdev_queue *q;
	uint8_t s = VIRTIO_CONFIG_S_ACKNOWLEDGE;

	memset(t->fg->mem, 0, t->fg->size); /* the driver's fresh rings */
	t->num = num;
	t->avail_idx = 0;
	g_assert_cmpint(vdev_set_status(t->d, s), ==, 0);
	s |= VIRTIO_CONFIG_S_DRIVER;
	g_assert_cmpint(vdev_set_status(t->d, s), ==, 0);
	features |= F_V1;
	g_assert_cmpint(vdev_set_driver_features_word(t->d, 0, (uint32_t)features), ==, 0);
	g_assert_cmpint(vdev_set_driver_features_word(t->d, 1, (uint32_t)(features >> 32)), ==, 0);
	s |= VIRTIO_CONFIG_S_FEATURES_OK;
	g_assert_cmpint(vdev_set_status(t->d, s), ==, 0);
	g_assert_cmpuint(vdev_get_status(t->d) & VIRTIO_CONFIG_S_FEATURES_OK, !=, 0);
	g_assert_cmpint(vdev_queue_set_num(t->d, 0, num), ==, 0);
	q = vdev_queue(t->d, 0);
	q->desc = DESC;
	q->avail = AVAIL;
	q->used = USED;
	q->ready = true;
	s |= VIRTIO_CONFIG_S_DRIVER_OK;
	g_assert_cmpint(vdev_set_status(t->d, s), ==, 0);
	g_assert_true(t->d->started);
}

static void trng_free(struct trng *t)
{
	vdev_free(t->d);
	fake_gmem_free(t->fg);
	/* nothing may be left on the main context after the device is gone */
	g_assert_false(g_main_context_pending(NULL));
}

static void set_desc(struct trng *t, unsigned i, uint64_t addr, uint32_t len, uint16_t flags,
		     uint16_t next)
{
	uint64_t d = DESC + 16ULL * i;

	fake_gmem_put64(t->fg, d, addr);
	fake_gmem_put32(t->fg, d + 8, len);
	fake_gmem_put16(t->fg, d + 12, flags);
	fake_gmem_put16(t->fg, d + 14, next);
}

static void offer(struct trng *t, uint16_t head)
{
	fake_gmem_put16(t->fg, AVAIL + 4 + 2 * (t->avail_idx % t->num), head);
	t->avail_idx++;
	fake_gmem_put16(t->fg, AVAIL + 2, t->avail_idx);
}

static uint16_t used_idx(struct trng *t)
{
	return fake_gmem_get16(t->fg, USED + 2);
}

static uint32_t used_id(struct trng *t, uint16_t pos)
{
	return fake_gmem_get32(t->fg, USED + 4 + 8ULL * (pos % t->num));
}

static uint32_t used_len(struct trng *t, uint16_t pos)
{
	return fake_gmem_get32(t->fg, USED + 4 + 8ULL * (pos % t->num) + 4);
}

static bool all_zero(struct trng *t, uint64_t gpa, size_t len)
{
	const uint8_t *p = fake_gmem_ptr(t->fg, gpa, len);
	size_t i;

	g_assert_nonnull(p);
	for (i = 0; i < len; i++)
		if (p[i])
			return false;
	return true;
}

static void drain_main_context(void)
{
	unsigned i;

	for (i = 0; i < 1000 && g_main_context_pending(NULL); i++)
		g_main_context_iteration(NULL, FALSE);
}

/* --- catalogue --- */

static void test_catalogue_find(void)
{
	const struct vdev_type *const *types = vdev_types();
	const struct vdev_type *t = vdev_type_find("rng");

	g_assert_nonnull(t);
	g_assert_cmpstr(t->name, ==, "rng");
	g_assert_cmpuint(t->device_id, ==, VIRTIO_ID_RNG);
	g_assert_nonnull(t->summary);
	g_assert_nonnull(t->option_keys);
	g_assert_true(types[0] == t);
	g_assert_null(vdev_type_find("no-such-device"));
	g_assert_null(vdev_type_find(""));
}

static void test_catalogue_unknown_type(void)
{
	struct vdev_params p = { .name = "dom1/x" };
	struct vdev *d = NULL;
	GError *err = NULL;

	g_assert_cmpint(vdev_create("floppy", &p, &d, &err), ==, -ENOENT);
	g_assert_error(err, VDEV_ERROR, ENOENT);
	g_assert_nonnull(strstr(err->message, "floppy"));
	g_assert_nonnull(strstr(err->message, "rng"));
	g_assert_null(d);
	g_error_free(err);
}

static void test_catalogue_unknown_option(void)
{
	struct fake_gmem *fg = fake_gmem_new(BASE, 0x1000);
	struct vdev_params p = { .name = "dom1/rng0", .mem = &fg->gmem };
	struct vdev *d = NULL;
	GError *err = NULL;

	p.opts = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	g_hash_table_insert(p.opts, g_strdup("rate"), g_strdup("10"));
	g_assert_cmpint(vdev_create("rng", &p, &d, &err), ==, -EINVAL);
	g_assert_error(err, VDEV_ERROR, EINVAL);
	g_assert_nonnull(strstr(err->message, "'rate'"));
	g_assert_nonnull(strstr(err->message, "valid keys: none"));
	g_assert_null(d);
	g_clear_error(&err);
	/* an empty table is fine */
	g_hash_table_remove_all(p.opts);
	g_assert_cmpint(vdev_create("rng", &p, &d, &err), ==, 0);
	g_assert_no_error(err);
	vdev_free(d);
	g_hash_table_unref(p.opts);
	fake_gmem_free(fg);
}

static void test_catalogue_queue_size(void)
{
	static const uint16_t bad[] = { 3, 100, 255, 32767, 65535 };
	struct fake_gmem *fg = fake_gmem_new(BASE, 0x1000);
	struct vdev_params p = { .name = "dom1/rng0", .mem = &fg->gmem };
	struct vdev *d = NULL;
	GError *err = NULL;
	size_t i;

	g_assert_cmpint(vdev_create("rng", &p, &d, &err), ==, 0);
	g_assert_cmpuint(vdev_queue(d, 0)->num_max, ==, VDEV_QUEUE_SIZE_DEFAULT);
	vdev_free(d);
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		d = NULL;
		p.queue_size = bad[i];
		g_assert_cmpint(vdev_create("rng", &p, &d, &err), ==, -EINVAL);
		g_assert_error(err, VDEV_ERROR, EINVAL);
		g_assert_nonnull(strstr(err->message, "queue size"));
		g_assert_null(d);
		g_clear_error(&err);
	}
	p.queue_size = 32768;
	g_assert_cmpint(vdev_create("rng", &p, &d, &err), ==, 0);
	g_assert_cmpuint(vdev_queue(d, 0)->num_max, ==, 32768);
	vdev_free(d);
	p.queue_size = 1;
	g_assert_cmpint(vdev_create("rng", &p, &d, &err), ==, 0);
	vdev_free(d);
	fake_gmem_free(fg);
}

/* --- the device --- */

static void test_identity(void)
{
	struct trng t;
	uint64_t f;

	trng_new(&t, 0);
	g_assert_cmpuint(t.d->device_id, ==, VIRTIO_ID_RNG);
	g_assert_cmpuint(t.d->nqueues, ==, 1);
	g_assert_cmpuint(t.d->cfg_size, ==, 0);
	g_assert_cmpstr(t.d->ops->type, ==, "rng");
	f = vdev_host_features_word(t.d, 0) | (uint64_t)vdev_host_features_word(t.d, 1) << 32;
	g_assert_cmphex(f, ==, F_V1 | F_EVENT | F_INDIR);
	trng_free(&t);
}

static void test_single(void)
{
	struct trng t;

	trng_new(&t, 0);
	trng_start(&t, 8, 0);
	set_desc(&t, 2, DATA, 64, VRING_DESC_F_WRITE, 0);
	offer(&t, 2);
	vdev_kick(t.d, 0);
	g_assert_cmpuint(used_idx(&t), ==, 1);
	g_assert_cmpuint(used_id(&t, 0), ==, 2);
	g_assert_cmpuint(used_len(&t, 0), ==, 64);
	g_assert_false(all_zero(&t, DATA, 64));
	g_assert_true(all_zero(&t, DATA + 64, 64)); /* not a byte more */
	g_assert_cmpuint(t.bus.used[0], ==, 1);
	/* a spurious kick changes nothing */
	vdev_kick(t.d, 0);
	g_assert_cmpuint(used_idx(&t), ==, 1);
	g_assert_cmpuint(t.bus.used[0], ==, 1);
	trng_free(&t);
}

static void test_several(void)
{
	struct trng t;

	trng_new(&t, 0);
	trng_start(&t, 8, F_INDIR);
	/* one plain, one of two writable segments, one indirect */
	set_desc(&t, 0, DATA, 16, VRING_DESC_F_WRITE, 0);
	set_desc(&t, 1, DATA + 0x1000, 8, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 3);
	set_desc(&t, 3, DATA + 0x2000, 24, VRING_DESC_F_WRITE, 0);
	set_desc(&t, 4, DATA + 0x8000, 16, VRING_DESC_F_INDIRECT, 0);
	fake_gmem_put64(t.fg, DATA + 0x8000, DATA + 0x3000);
	fake_gmem_put32(t.fg, DATA + 0x8008, 40);
	fake_gmem_put16(t.fg, DATA + 0x800c, VRING_DESC_F_WRITE);
	offer(&t, 0);
	offer(&t, 1);
	offer(&t, 4);
	vdev_kick(t.d, 0);
	g_assert_cmpuint(used_idx(&t), ==, 3);
	g_assert_cmpuint(used_id(&t, 0), ==, 0);
	g_assert_cmpuint(used_len(&t, 0), ==, 16);
	g_assert_cmpuint(used_id(&t, 1), ==, 1);
	g_assert_cmpuint(used_len(&t, 1), ==, 32);
	g_assert_cmpuint(used_id(&t, 2), ==, 4);
	g_assert_cmpuint(used_len(&t, 2), ==, 40);
	g_assert_false(all_zero(&t, DATA + 0x2000, 24));
	g_assert_false(all_zero(&t, DATA + 0x3000, 40));
	g_assert_cmpuint(t.bus.used[0], ==, 1); /* one notification for the batch */
	trng_free(&t);
}

static void test_large(void)
{
	struct trng t;

	/* the device may fill less than the buffer (virtio 1.2 §5.4.6.2): 64 KiB at most */
	trng_new(&t, 0);
	trng_start(&t, 8, 0);
	set_desc(&t, 0, DATA, 0x80000, VRING_DESC_F_WRITE, 0);
	offer(&t, 0);
	vdev_kick(t.d, 0);
	g_assert_cmpuint(used_len(&t, 0), ==, 64 * 1024);
	g_assert_false(all_zero(&t, DATA + 64 * 1024 - 32, 32));
	g_assert_true(all_zero(&t, DATA + 64 * 1024, 64));
	trng_free(&t);
}

static void test_bad_requests(void)
{
	struct trng t;

	trng_new(&t, 0);
	trng_start(&t, 8, 0);
	/* readable only; buffer outside guest RAM; a loop; then a good one */
	set_desc(&t, 0, DATA, 64, 0, 0);
	set_desc(&t, 1, BASE + MEM_SIZE, 64, VRING_DESC_F_WRITE, 0);
	set_desc(&t, 2, DATA, 64, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 2);
	set_desc(&t, 3, DATA + 0x1000, 64, VRING_DESC_F_WRITE, 0);
	offer(&t, 0);
	offer(&t, 1);
	offer(&t, 2);
	offer(&t, 3);
	vdev_kick(t.d, 0);
	g_assert_cmpuint(used_idx(&t), ==, 4);
	g_assert_cmpuint(used_len(&t, 0), ==, 0);
	g_assert_cmpuint(used_len(&t, 1), ==, 0);
	g_assert_cmpuint(used_id(&t, 2), ==, 2);
	g_assert_cmpuint(used_len(&t, 2), ==, 0);
	g_assert_cmpuint(used_id(&t, 3), ==, 3);
	g_assert_cmpuint(used_len(&t, 3), ==, 64);
	g_assert_true(all_zero(&t, DATA, 64)); /* the readable buffer was not written */
	g_assert_false(t.d->broken);
	trng_free(&t);
}

static void test_ring_broken(void)
{
	struct trng t;

	trng_new(&t, 0);
	trng_start(&t, 8, 0);
	fake_gmem_put16(t.fg, AVAIL + 2, 100); /* more than num ahead */
	vdev_kick(t.d, 0);
	g_assert_true(t.d->broken);
	g_assert_cmpuint(vdev_get_status(t.d) & VIRTIO_CONFIG_S_NEEDS_RESET, !=, 0);
	g_assert_cmpuint(t.bus.config, ==, 1);
	g_assert_cmpuint(used_idx(&t), ==, 0);
	/* kicks are dropped by the core now; a reset brings the device back */
	vdev_kick(t.d, 0);
	g_assert_cmpint(vdev_set_status(t.d, 0), ==, 0);
	g_assert_false(t.d->broken);
	trng_start(&t, 8, 0);
	set_desc(&t, 0, DATA, 8, VRING_DESC_F_WRITE, 0);
	offer(&t, 0);
	vdev_kick(t.d, 0);
	g_assert_cmpuint(used_len(&t, 0), ==, 8);
	trng_free(&t);
}

static void test_bad_layout(void)
{
	struct trng t;
	struct vdev_queue *q;

	trng_new(&t, 0);
	g_assert_cmpint(vdev_set_status(t.d, 1), ==, 0);
	g_assert_cmpint(vdev_set_status(t.d, 3), ==, 0);
	g_assert_cmpint(vdev_set_driver_features_word(t.d, 1, 1), ==, 0);
	g_assert_cmpint(vdev_set_status(t.d, 0xb), ==, 0);
	g_assert_cmpint(vdev_queue_set_num(t.d, 0, 8), ==, 0);
	q = vdev_queue(t.d, 0);
	q->desc = DESC + 4; /* misaligned */
	q->avail = AVAIL;
	q->used = USED;
	q->ready = true;
	g_assert_cmpint(vdev_set_status(t.d, 0xf), ==, 0);
	g_assert_true(t.d->broken);
	g_assert_false(t.d->started);
	trng_free(&t);
}

static void test_queue_not_ready(void)
{
	struct trng t;

	trng_new(&t, 0);
	g_assert_cmpint(vdev_set_status(t.d, 1), ==, 0);
	g_assert_cmpint(vdev_set_status(t.d, 3), ==, 0);
	g_assert_cmpint(vdev_set_driver_features_word(t.d, 1, 1), ==, 0);
	g_assert_cmpint(vdev_set_status(t.d, 0xb), ==, 0);
	g_assert_cmpint(vdev_set_status(t.d, 0xf), ==, 0);
	g_assert_true(t.d->started);
	vdev_kick(t.d, 0); /* warns, nothing else */
	g_assert_cmpuint(t.fg->reads + t.fg->writes, ==, 0);
	trng_free(&t);
}

static void test_reset_restart(void)
{
	struct trng t;

	trng_new(&t, 0);
	trng_start(&t, 8, 0);
	set_desc(&t, 0, DATA, 8, VRING_DESC_F_WRITE, 0);
	offer(&t, 0);
	offer(&t, 0);
	vdev_kick(t.d, 0);
	g_assert_cmpuint(used_idx(&t), ==, 2);
	vdev_reset(t.d);
	g_assert_false(t.d->started);
	/* again, with a different queue size and features: the ring starts from 0 */
	trng_start(&t, 4, F_EVENT);
	set_desc(&t, 1, DATA, 16, VRING_DESC_F_WRITE, 0);
	offer(&t, 1);
	vdev_kick(t.d, 0);
	g_assert_cmpuint(used_idx(&t), ==, 1);
	g_assert_cmpuint(used_id(&t, 0), ==, 1);
	g_assert_cmpuint(used_len(&t, 0), ==, 16);
	/* EVENT_IDX: the device asked to be kicked for the next entry */
	g_assert_cmpuint(fake_gmem_get16(t.fg, USED + 4 + 8 * 4), ==, 1);
	trng_free(&t);
}

static void test_event_idx_suppression(void)
{
	struct trng t;

	trng_new(&t, 0);
	trng_start(&t, 8, F_EVENT);
	set_desc(&t, 0, DATA, 8, VRING_DESC_F_WRITE, 0);
	fake_gmem_put16(t.fg, AVAIL + 4 + 2 * 8, 1); /* used_event: after the 2nd buffer */
	offer(&t, 0);
	vdev_kick(t.d, 0);
	g_assert_cmpuint(t.bus.used[0], ==, 0);
	offer(&t, 0);
	vdev_kick(t.d, 0);
	g_assert_cmpuint(t.bus.used[0], ==, 1);
	trng_free(&t);
}

static void test_no_interrupt(void)
{
	struct trng t;

	trng_new(&t, 0);
	trng_start(&t, 8, 0);
	set_desc(&t, 0, DATA, 8, VRING_DESC_F_WRITE, 0);
	fake_gmem_put16(t.fg, AVAIL, VRING_AVAIL_F_NO_INTERRUPT);
	offer(&t, 0);
	vdev_kick(t.d, 0);
	g_assert_cmpuint(used_idx(&t), ==, 1);
	g_assert_cmpuint(t.bus.used[0], ==, 0);
	trng_free(&t);
}

static void fill_ring(struct trng *t, unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++) {
		set_desc(t, i, DATA + 16ULL * i, 16, VRING_DESC_F_WRITE, 0);
		offer(t, (uint16_t)i);
	}
}

static void test_budget(void)
{
	struct trng t;

	/* More requests than one run serves: the rest follows from the main loop. */
	trng_new(&t, 1024);
	trng_start(&t, 1024, 0);
	fill_ring(&t, 1000);
	vdev_kick(t.d, 0);
	g_assert_cmpuint(used_idx(&t), <, 1000);
	g_assert_cmpuint(used_idx(&t), >, 0);
	g_assert_cmpuint(t.bus.used[0], ==, 1);
	g_assert_true(g_main_context_pending(NULL));
	drain_main_context();
	g_assert_cmpuint(used_idx(&t), ==, 1000);
	g_assert_cmpuint(used_id(&t, 999), ==, 999);
	g_assert_cmpuint(used_len(&t, 999), ==, 16);
	g_assert_cmpuint(t.bus.used[0], >=, 2);
	trng_free(&t);

	/* a reset drops the pending continuation */
	trng_new(&t, 1024);
	trng_start(&t, 1024, 0);
	fill_ring(&t, 1000);
	vdev_kick(t.d, 0);
	g_assert_true(g_main_context_pending(NULL));
	vdev_reset(t.d);
	g_assert_false(g_main_context_pending(NULL));
	trng_free(&t);

	/* freeing the device drops it too (trng_free checks) */
	trng_new(&t, 1024);
	trng_start(&t, 1024, 0);
	fill_ring(&t, 1000);
	vdev_kick(t.d, 0);
	trng_free(&t);
}

static void test_getrandom_budget_bytes(void)
{
	struct trng t;
	unsigned i;

	/* 64 KiB requests: the byte budget ends the run before the chain budget */
	trng_new(&t, 64);
	trng_start(&t, 64, 0);
	for (i = 0; i < 20; i++) {
		set_desc(&t, i, DATA, 64 * 1024, VRING_DESC_F_WRITE, 0);
		offer(&t, (uint16_t)i);
	}
	vdev_kick(t.d, 0);
	g_assert_cmpuint(used_idx(&t), ==, 16);
	drain_main_context();
	g_assert_cmpuint(used_idx(&t), ==, 20);
	trng_free(&t);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	/* Negative tests make the code under test warn; that is expected, not fatal. */
	g_log_set_always_fatal(G_LOG_FATAL_MASK);

	g_test_add_func("/rng/catalogue/find", test_catalogue_find);
	g_test_add_func("/rng/catalogue/unknown-type", test_catalogue_unknown_type);
	g_test_add_func("/rng/catalogue/unknown-option", test_catalogue_unknown_option);
	g_test_add_func("/rng/catalogue/queue-size", test_catalogue_queue_size);
	g_test_add_func("/rng/identity", test_identity);
	g_test_add_func("/rng/request/single", test_single);
	g_test_add_func("/rng/request/several", test_several);
	g_test_add_func("/rng/request/large", test_large);
	g_test_add_func("/rng/request/bad", test_bad_requests);
	g_test_add_func("/rng/ring/broken", test_ring_broken);
	g_test_add_func("/rng/ring/bad-layout", test_bad_layout);
	g_test_add_func("/rng/ring/not-ready", test_queue_not_ready);
	g_test_add_func("/rng/reset-restart", test_reset_restart);
	g_test_add_func("/rng/notify/event-idx", test_event_idx_suppression);
	g_test_add_func("/rng/notify/no-interrupt", test_no_interrupt);
	g_test_add_func("/rng/budget/chains", test_budget);
	g_test_add_func("/rng/budget/bytes", test_getrandom_budget_bytes);
	return g_test_run();
}
