/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The data checks every blk test runs through a vblk (a virtio-blk device behind xvdm,
 * or a back-end driven directly): patterns written at several offsets and sizes
 * (4 KiB … 1 MiB, odd sector counts, uneven segments, the disk's last sectors), each
 * compared with the image file's bytes (pread) as soon as the write completed, read
 * back and compared, a request past the end (IOERR expected), FLUSH, GET_ID.
 */
#pragma once

#include <stdint.h>

#include "tests/xensim/vdrv-blk.h"

#define BLK_CHECK_BUF (1u << 20)

struct blk_check {
	struct vblk *b;
	int image_fd;  /* the back-end's disk file, read with pread */
	uint64_t wbuf; /* BLK_CHECK_BUF bytes of guest RAM each */
	uint64_t rbuf;
	uint32_t seed; /* different per device so that devices cannot share bytes */
	/* results */
	unsigned writes, reads, flushes;
	uint64_t bytes_compared; /* image bytes + read-back bytes compared */
	char id[21];		 /* GET_ID, nul-terminated */
	char what[192];		 /* what failed */
};

/* Guest buffers from guest RAM (rbuf_gpa: 0 = allocate too); the image opened read-only. */
int blk_check_init(struct blk_check *c, struct vblk *b, const char *image, uint32_t seed,
		   uint64_t rbuf_gpa);
/* 0, or -errno with c->what saying what went wrong. */
int blk_check_run(struct blk_check *c, int timeout_ms);
void blk_check_fini(struct blk_check *c);

/* One write of len bytes of pattern (seed, tag) at sector, checked against the image. */
int blk_check_write(struct blk_check *c, uint64_t sector, uint32_t len, unsigned nseg, uint32_t tag,
		    int timeout_ms);
/* Fill buf with the pattern of (seed, tag). */
void blk_pattern(uint8_t *buf, uint32_t len, uint32_t seed, uint32_t tag);
