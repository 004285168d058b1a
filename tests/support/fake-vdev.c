/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The fake virtio device of tests/support/fake-vdev.h. Trust boundary: none (test code;
 * the core checks config bounds before calling cfg_read/cfg_write, and the fake checks
 * them again so that a core bug shows up as a failed test, not as memory corruption).
 */
#include <errno.h>
#include <string.h>
#include <glib.h>

#include "common/util.h"
#include "tests/support/fake-vdev.h"

static uint64_t fake_features(struct vdev *d)
{
	struct fake_vdev *f = fake_vdev_of(d);

	f->features_calls++;
	return f->offer;
}

static int fake_set_features(struct vdev *d, uint64_t acked)
{
	struct fake_vdev *f = fake_vdev_of(d);

	f->set_features_calls++;
	f->acked = acked;
	return f->set_features_ret;
}

static int fake_cfg_read(struct vdev *d, uint32_t off, void *buf, uint32_t len)
{
	struct fake_vdev *f = fake_vdev_of(d);

	if (!range_ok(off, len, d->cfg_size))
		return -ERANGE;
	f->cfg_reads++;
	memcpy(buf, f->cfg + off, len);
	return 0;
}

static int fake_cfg_write(struct vdev *d, uint32_t off, const void *buf, uint32_t len)
{
	struct fake_vdev *f = fake_vdev_of(d);

	if (!range_ok(off, len, d->cfg_size))
		return -ERANGE;
	f->cfg_writes++;
	if (f->cfg_read_only)
		return -EPERM;
	memcpy(f->cfg + off, buf, len);
	return 0;
}

static int fake_start(struct vdev *d)
{
	struct fake_vdev *f = fake_vdev_of(d);

	f->start_calls++;
	return f->start_ret;
}

static void fake_kick(struct vdev *d, unsigned q)
{
	struct fake_vdev *f = fake_vdev_of(d);

	f->nkicks++;
	f->last_kick = (int)q;
	if (q < ARRAY_SIZE(f->kicks))
		f->kicks[q]++;
}

static void fake_reset(struct vdev *d)
{
	fake_vdev_of(d)->reset_calls++;
}

static void fake_free(struct vdev *d)
{
	g_free(fake_vdev_of(d));
}

static const struct vdev_ops fake_vdev_ops = {
	.type = "fake",
	.features = fake_features,
	.set_features = fake_set_features,
	.cfg_read = fake_cfg_read,
	.cfg_write = fake_cfg_write,
	.start = fake_start,
	.kick = fake_kick,
	.reset = fake_reset,
	.free = fake_free,
};

struct fake_vdev *fake_vdev_new(uint32_t device_id, unsigned nqueues, uint16_t queue_max,
				uint32_t cfg_size)
{
	struct fake_vdev *f = g_new0(struct fake_vdev, 1);

	if (vdev_init(&f->vdev, &fake_vdev_ops, "dom0/fake", device_id, nqueues, queue_max,
		      cfg_size, NULL) < 0) {
		g_free(f);
		return NULL;
	}
	f->last_kick = -1;
	return f;
}

void fake_vdev_free(struct fake_vdev *f)
{
	if (f)
		vdev_free(&f->vdev);
}

void fake_vdev_clear_calls(struct fake_vdev *f)
{
	f->features_calls = 0;
	f->set_features_calls = 0;
	f->acked = 0;
	f->cfg_reads = 0;
	f->cfg_writes = 0;
	f->start_calls = 0;
	f->reset_calls = 0;
	f->nkicks = 0;
	f->last_kick = -1;
	memset(f->kicks, 0, sizeof(f->kicks));
}
