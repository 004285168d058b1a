/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Guest memory, as seen from inside xvdm (DESIGN.md §3). Implemented by xen/ with
 * xenforeignmemory and a bounded mapping cache, and by fakes in tests. Callers copy
 * in and out: no pointer into guest memory outlives a call, so a cache eviction or an
 * INVALIDATE can never leave a dangling mapping behind.
 *
 * Every address here is guest-controlled: implementations check gpa + len for
 * overflow and return -EFAULT for anything that is not guest RAM.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

struct gmem;

struct gmem_ops {
	/* 0, -EFAULT (not guest RAM / not mappable), -EINVAL (gpa + len overflows) */
	int (*read)(struct gmem *g, uint64_t gpa, void *buf, size_t len);
	int (*write)(struct gmem *g, uint64_t gpa, const void *buf, size_t len);
	/* Drop every cached mapping (Xen's INVALIDATE ioreq, device reset). */
	void (*invalidate)(struct gmem *g);
};

struct gmem {
	const struct gmem_ops *ops;
};

static inline int gmem_read(struct gmem *g, uint64_t gpa, void *buf, size_t len)
{
	return g->ops->read(g, gpa, buf, len);
}

static inline int gmem_write(struct gmem *g, uint64_t gpa, const void *buf, size_t len)
{
	return g->ops->write(g, gpa, buf, len);
}

static inline void gmem_invalidate(struct gmem *g)
{
	g->ops->invalidate(g);
}
