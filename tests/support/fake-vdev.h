/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A configurable fake virtio device for unit tests and fuzz targets: it implements
 * struct vdev_ops, answers with what the test configured (features offered, the result
 * of set_features and start, config space bytes) and records every call it receives.
 *
 *	struct fake_vdev *f = fake_vdev_new(VIRTIO_ID_RNG, 2, 256, 8);
 *	f->offer = 1ULL << 3;
 *	vmmio_init(&m, &ops, &f->vdev);
 *	... g_assert_cmpuint(f->kicks[1], ==, 1);
 *	vmmio_fini(&m);
 *	fake_vdev_free(f);
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "common/util.h"
#include "devices/vdev.h"

struct fake_vdev {
	struct vdev vdev;

	/* configuration: what the device answers (set by the test at any time) */
	uint64_t offer;			/* device feature bits (the core adds VIRTIO_F_VERSION_1) */
	int set_features_ret;		/* returned by set_features (0 or -errno) */
	int start_ret;			/* returned by start */
	bool cfg_read_only;		/* cfg_write returns -EPERM and changes nothing */
	uint8_t cfg[VDEV_MAX_CFG_SIZE]; /* config space; its size is vdev.cfg_size */

	/* recorded calls */
	unsigned features_calls;
	unsigned set_features_calls;
	uint64_t acked; /* the last set_features argument */
	unsigned cfg_reads;
	unsigned cfg_writes;
	unsigned start_calls;
	unsigned reset_calls;
	unsigned nkicks; /* all kicks */
	int last_kick;	 /* queue index of the last kick, -1 before any */
	unsigned kicks[VDEV_MAX_QUEUES];
};

/* A fake with nqueues queues of queue_max entries and cfg_size bytes of config space. */
struct fake_vdev *fake_vdev_new(uint32_t device_id, unsigned nqueues, uint16_t queue_max,
				uint32_t cfg_size);
/* vdev_free() on the fake; NULL-safe. */
void fake_vdev_free(struct fake_vdev *f);
/* Forget the recorded calls (keeps the configuration and the core state). */
void fake_vdev_clear_calls(struct fake_vdev *f);

static inline struct fake_vdev *fake_vdev_of(struct vdev *d)
{
	return container_of(d, struct fake_vdev, vdev);
}
