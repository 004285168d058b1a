/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The blk data checks (blk-check.h). Trust boundary: the device under test; every
 * status and every byte it returns or writes to the image is compared, never assumed.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/virtio_blk.h>

#include "tests/xensim/blk-check.h"

void blk_pattern(uint8_t *buf, uint32_t len, uint32_t seed, uint32_t tag)
{
	uint64_t x = ((uint64_t)seed << 32 | tag) * 0x9e3779b97f4a7c15ULL + 1;

	for (uint32_t i = 0; i < len; i++) {
		/* xorshift64: every 512-byte sector differs from every other */
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		buf[i] = (uint8_t)x;
	}
}

int blk_check_init(struct blk_check *c, struct vblk *b, const char *image, uint32_t seed,
		   uint64_t rbuf_gpa)
{
	memset(c, 0, sizeof(*c));
	c->b = b;
	c->seed = seed;
	c->image_fd = open(image, O_RDONLY | O_CLOEXEC);
	c->wbuf = gd_alloc(b->v.d, BLK_CHECK_BUF, 4096);
	c->rbuf = rbuf_gpa ? rbuf_gpa : gd_alloc(b->v.d, BLK_CHECK_BUF, 4096);
	if (c->image_fd < 0 || !c->wbuf || !c->rbuf) {
		snprintf(c->what, sizeof(c->what), "set-up: %s", image);
		return -ENOMEM;
	}
	return 0;
}

void blk_check_fini(struct blk_check *c)
{
	if (c->image_fd >= 0)
		close(c->image_fd);
	c->image_fd = -1;
}

__attribute__((format(printf, 3, 4))) static int fail(struct blk_check *c, int err, const char *fmt,
						      ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->what, sizeof(c->what), fmt, ap);
	va_end(ap);
	return err;
}

static int run(struct blk_check *c, uint32_t type, uint64_t sector, uint64_t gpa, uint32_t len,
	       unsigned nseg, int timeout_ms, struct vblk_req *r)
{
	int ret;

	if (c->b->seg_max && nseg > c->b->seg_max)
		nseg = c->b->seg_max;
	*r = (struct vblk_req){
		.type = type, .sector = sector, .gpa = gpa, .len = len, .nseg = nseg
	};
	ret = vblk_do(c->b, r, timeout_ms);
	if (ret < 0)
		return fail(c, ret, "request type %u sector %" PRIu64 " len %u: %s", type, sector,
			    len, strerror(-ret));
	return 0;
}

/* The first byte where a and b differ, for the message. */
static size_t first_diff(const uint8_t *a, const uint8_t *b, size_t len)
{
	size_t i = 0;

	while (i < len && a[i] == b[i])
		i++;
	return i;
}

int blk_check_write(struct blk_check *c, uint64_t sector, uint32_t len, unsigned nseg, uint32_t tag,
		    int timeout_ms)
{
	uint8_t *w = gd_ram(c->b->v.d, c->wbuf, len);
	uint8_t *img = malloc(len);
	struct vblk_req r;
	ssize_t n;
	int ret;

	if (!img || len > BLK_CHECK_BUF)
		return fail(c, -ENOMEM, "write of %u bytes", len);
	blk_pattern(w, len, c->seed, tag);
	ret = run(c, VIRTIO_BLK_T_OUT, sector, c->wbuf, len, nseg, timeout_ms, &r);
	if (!ret && r.status != VIRTIO_BLK_S_OK)
		ret = fail(c, -EIO, "write sector %" PRIu64 " len %u: status %u", sector, len,
			   r.status);
	if (!ret) {
		c->writes++;
		n = pread(c->image_fd, img, len, (off_t)(sector * VBLK_SECTOR));
		if (n != (ssize_t)len)
			ret = fail(c, -EIO, "image pread at sector %" PRIu64 ": %zd", sector, n);
		else if (memcmp(img, w, len))
			ret = fail(c, -EIO,
				   "image differs from the completed write at sector %" PRIu64
				   " + byte %zu (len %u)",
				   sector, first_diff(img, w, len), len);
		else
			c->bytes_compared += len;
	}
	free(img);
	return ret;
}

static int check_read(struct blk_check *c, uint64_t sector, uint32_t len, unsigned nseg,
		      uint32_t tag, int timeout_ms)
{
	uint8_t *rd = gd_ram(c->b->v.d, c->rbuf, len);
	uint8_t *want = malloc(len);
	struct vblk_req r;
	int ret;

	if (!want)
		return -ENOMEM;
	memset(rd, 0x5a, len);
	blk_pattern(want, len, c->seed, tag);
	ret = run(c, VIRTIO_BLK_T_IN, sector, c->rbuf, len, nseg, timeout_ms, &r);
	if (!ret && r.status != VIRTIO_BLK_S_OK)
		ret = fail(c, -EIO, "read sector %" PRIu64 " len %u: status %u", sector, len,
			   r.status);
	if (!ret && memcmp(rd, want, len))
		ret = fail(c, -EIO, "read-back differs at sector %" PRIu64 " + byte %zu (len %u)",
			   sector, first_diff(rd, want, len), len);
	if (!ret) {
		c->reads++;
		c->bytes_compared += len;
	}
	free(want);
	return ret;
}

int blk_check_run(struct blk_check *c, int timeout_ms)
{
	const uint64_t cap = c->b->capacity;
	const struct {
		uint64_t sector;
		uint32_t len;
		unsigned wseg, rseg;
	} cases[] = {
		{ 0, 4096, 1, 1 },
		{ 8, 4096, 3, 2 },
		{ 1001, 7 * 512, 2, 7 }, /* an odd sector count at an odd sector */
		{ 2048, 64 * 1024, 16, 1 },
		{ 4095, 255 * 512, 5, 9 },	    /* 127.5 KiB */
		{ 8192, 1u << 20, 64, 17 },	    /* 1 MiB in uneven segments */
		{ 3 * 4096 + 1, 1u << 20, 1, 100 }, /* 1 MiB, one segment out, many in */
		{ cap - 33, 33 * 512, 4, 3 },	    /* the last sectors */
	};
	struct vblk_req r;
	int ret;

	if (cap < 16384)
		return fail(c, -EINVAL, "capacity %" PRIu64 " sectors: too small", cap);
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if ((ret = blk_check_write(c, cases[i].sector, cases[i].len, cases[i].wseg, i,
					   timeout_ms)) < 0 ||
		    (ret = check_read(c, cases[i].sector, cases[i].len, cases[i].rseg, i,
				      timeout_ms)) < 0)
			return ret;
	}
	/* Cases 0 and 1 must not have been overwritten by the later ones. */
	if ((ret = check_read(c, 0, 4096, 1, 0, timeout_ms)) < 0)
		return ret;
	if ((ret = run(c, VIRTIO_BLK_T_IN, cap - 4, c->rbuf, 4096, 1, timeout_ms, &r)) < 0)
		return ret;
	if (r.status != VIRTIO_BLK_S_IOERR)
		return fail(c, -EIO, "a read past the end: status %u (want IOERR)", r.status);
	if ((ret = run(c, VIRTIO_BLK_T_FLUSH, 0, 0, 0, 0, timeout_ms, &r)) < 0)
		return ret;
	if (r.status != VIRTIO_BLK_S_OK)
		return fail(c, -EIO, "FLUSH: status %u", r.status);
	c->flushes++;
	memset(gd_ram(c->b->v.d, c->rbuf, VIRTIO_BLK_ID_BYTES), 0, VIRTIO_BLK_ID_BYTES);
	if ((ret = run(c, VIRTIO_BLK_T_GET_ID, 0, c->rbuf, VIRTIO_BLK_ID_BYTES, 1, timeout_ms,
		       &r)) < 0)
		return ret;
	if (r.status != VIRTIO_BLK_S_OK)
		return fail(c, -EIO, "GET_ID: status %u", r.status);
	memcpy(c->id, gd_ram(c->b->v.d, c->rbuf, VIRTIO_BLK_ID_BYTES), VIRTIO_BLK_ID_BYTES);
	c->id[VIRTIO_BLK_ID_BYTES] = '\0';
	return 0;
}
