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

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

struct gmem;

/* A bank of guest RAM (guest-physical). */
struct gmem_region {
	uint64_t gpa;
	uint64_t size;
};

/* F_XEN_MMAP region flags (FACTS 10); the "cannot map in advance" bit is configurable. */
#define GMEM_XEN_FOREIGN	0x1
#define GMEM_XEN_GRANT		0x2
#define GMEM_XEN_NO_ADVANCE_MAP 0x8 /* rust-vmm's value; the spec says 0x100 */

/* How a vhost-user back-end can map one RAM bank itself (F_XEN_MMAP, DESIGN.md §3). */
struct gmem_share {
	int fd;		    /* owned by the caller: /dev/xen/privcmd (foreign) or gntdev */
	uint32_t xen_flags; /* GMEM_XEN_* */
	uint32_t domid;
};

struct gmem_ops {
	/* 0, -EFAULT (not guest RAM / not mappable), -EINVAL (gpa + len overflows) */
	int (*read)(struct gmem *g, uint64_t gpa, void *buf, size_t len);
	int (*write)(struct gmem *g, uint64_t gpa, const void *buf, size_t len);
	/* Drop every cached mapping (Xen's INVALIDATE ioreq, device reset). */
	void (*invalidate)(struct gmem *g);
	/*
	 * Optional (NULL: not available). The guest's RAM banks: the count (<= max
	 * written), or -errno.
	 */
	int (*regions)(struct gmem *g, struct gmem_region *ret, unsigned max);
	/* Optional. A new fd through which a back-end maps bank idx; flags as asked. */
	int (*share)(struct gmem *g, unsigned idx, uint32_t xen_flags, struct gmem_share *ret);
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

static inline int gmem_regions(struct gmem *g, struct gmem_region *ret, unsigned max)
{
	return g->ops->regions ? g->ops->regions(g, ret, max) : -EOPNOTSUPP;
}

static inline int gmem_share(struct gmem *g, unsigned idx, uint32_t xen_flags,
			     struct gmem_share *ret)
{
	return g->ops->share ? g->ops->share(g, idx, xen_flags, ret) : -EOPNOTSUPP;
}
