/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The device-type catalogue: one table row per device type (name, virtio device id,
 * the option keys it accepts, its constructor). vmm/ parses a device spec
 * ("rng,transport=mmio,base=...,irq=...,queue-size=256"), keeps the transport keys
 * for itself and hands the rest here.
 */
#pragma once

#include <stdint.h>
#include <glib.h>

struct gmem;
struct vdev;

/* What every device gets, whatever its type. */
struct vdev_params {
	const char *name;    /* "dom<N>/<id>" for log lines */
	struct gmem *mem;    /* guest memory */
	uint16_t queue_size; /* QueueNumMax; 0 = the type's default */
	/* Device-specific options (key -> value strings), e.g. from the config file. */
	GHashTable *opts;
};

#define VDEV_QUEUE_SIZE_DEFAULT 256   /* FACTS 15 */
#define VDEV_QUEUE_SIZE_MAX	32768 /* virtio 1.2 §2.7: split rings hold at most 32768 */

/*
 * One row per device type. Many rows may share one constructor (every vhost-user
 * type goes through the same front-end): create() gets its own row, so it can tell
 * them apart by name and device_id.
 */
struct vdev_type {
	const char *name;
	const char *summary;		/* one line for --help / errors */
	uint32_t device_id;		/* VIRTIO_ID_* */
	const char *const *option_keys; /* NULL-terminated; the keys the type accepts */
	/*
	 * 0 and *ret, or -errno with *error set (bad option value, resource failure).
	 * p->queue_size is already checked and defaulted by vdev_create().
	 */
	int (*create)(const struct vdev_type *t, const struct vdev_params *p, struct vdev **ret,
		      GError **error);
};

/* GError domain of vdev_create(); the codes are errno values (EINVAL, ENOENT, ...). */
#define VDEV_ERROR vdev_error_quark()
GQuark vdev_error_quark(void);

/* NULL if no such type. */
const struct vdev_type *vdev_type_find(const char *name);
/* NULL-terminated array of every type, for help output. */
const struct vdev_type *const *vdev_types(void);

/*
 * Check p->opts against the type's keys (an unknown key is an error naming the valid
 * ones) and p->queue_size (0 = VDEV_QUEUE_SIZE_DEFAULT, else a power of two <=
 * VDEV_QUEUE_SIZE_MAX), then create the device. 0 or -errno with *error set
 * (-ENOENT: no such type, -EINVAL: bad option or queue size).
 */
int vdev_create(const char *type, const struct vdev_params *p, struct vdev **ret, GError **error);
