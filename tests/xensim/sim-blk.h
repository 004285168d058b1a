/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Helpers of the xvdm blk tests (sim-vhu-blk-*): disk images, qemu-storage-daemon
 * (FACTS 32) and the skip rules. Every failure ends the test through sim_fail().
 */
#pragma once

#include <stdint.h>
#include <sys/types.h>

#include "tests/xensim/sim.h"

#define SIM_QSD		  "/usr/bin/qemu-storage-daemon"
#define SIM_BLK_DISK_SIZE (16u << 20)

/* Exit 77 unless xvdm lists vhost-user-blk (and, if qsd, qemu-storage-daemon exists). */
void sim_blk_require(struct sim *s, bool qsd);
/* A zeroed disk image in the test's directory; its path. */
const char *sim_blk_disk(struct sim *s, const char *name, uint32_t size);
/* qemu-storage-daemon exporting image as vhost-user-blk on sock; waits until it listens. */
pid_t sim_blk_qsd(struct sim *s, const char *image, const char *sock);
