/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The catalogue's rows, one per device type, defined next to each type's code. */
#pragma once

#include "devices/catalogue.h"

extern const struct vdev_type vdev_type_rng; /* devices/rng.c */

/* devices/vhu-types.c: the vhost-user types, all built by the same front-end */
extern const struct vdev_type vdev_type_vhu_blk, vdev_type_vhu_net, vdev_type_vhu_fs,
	vdev_type_vhu_gpu, vdev_type_vhu_vsock, vdev_type_vhu_i2c, vdev_type_vhu_gpio,
	vdev_type_vhu_snd, vdev_type_vhu_scmi, vdev_type_vhu_rng, vdev_type_vhu_input,
	vdev_type_vhu_can, vdev_type_vhu_console, vdev_type_vhu_device;
