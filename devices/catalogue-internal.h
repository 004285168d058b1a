/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The catalogue's rows, one per device type, defined next to each type's code. */
#pragma once

#include "devices/catalogue.h"

extern const struct vdev_type vdev_type_rng; /* devices/rng.c */
