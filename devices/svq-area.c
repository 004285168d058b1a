/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The shadow area (devices/svq.h): one memfd per device that the vhost-user back-end
 * maps as its only memory region, and a first-fit allocator of the runs the queues
 * carve out of it (a few per device, so a sorted list); and the bitmaps of the queues'
 * bounce pools.
 *
 * Trust boundary: the back-end receives the fd and may do with it what the kernel
 * lets it. Truncating the file would make our accesses to the mapping fault (SIGBUS),
 * and a FUTURE_WRITE seal would keep the next back-end from mapping it writable: the
 * file is sealed against shrinking, growing and further seals before it is shared.
 * Sizes come from our configuration and are bounded by SVQ_AREA_SIZE_MAX.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/log.h"
#include "devices/svq-internal.h"

int svq_area_new(size_t size, const char *name, struct svq_area **ret)
{
	long page = sysconf(_SC_PAGESIZE);
	struct svq_area *a;
	int fd, r;

	if (page <= 0)
		page = 4096;
	if (size == 0 || size > SVQ_AREA_SIZE_MAX)
		return -EINVAL;
	size = (size + (size_t)page - 1) / (size_t)page * (size_t)page;
	fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)size) < 0)
		goto err_errno;
	/*
	 * The back-end gets this fd: without SHRINK it could truncate the file and make
	 * every access of ours to the mapping fault; SEAL keeps it from adding
	 * FUTURE_WRITE (which would keep the next back-end from mapping it).
	 */
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0)
		goto err_errno;
	a = g_new0(struct svq_area, 1);
	a->va = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (a->va == MAP_FAILED) {
		r = -errno;
		g_free(a);
		close(fd);
		return r;
	}
	a->fd = fd;
	a->size = size;
	a->name = g_strdup(name);
	*ret = a;
	return 0;

err_errno:
	r = -errno;
	close(fd);
	return r;
}

void svq_area_free(struct svq_area *a)
{
	if (!a)
		return;
	if (a->runs) {
		/* A caller bug: leaking beats unmapping memory that queues still use. */
		log_warn("%s: shadow area freed with queues left; leaked", a->name);
		return;
	}
	munmap(a->va, a->size);
	close(a->fd);
	g_free(a->name);
	g_free(a);
}

int svq_area_fd(struct svq_area *a)
{
	return a->fd;
}

size_t svq_area_size(struct svq_area *a)
{
	return a->size;
}

void *svq_area_va(struct svq_area *a)
{
	return a->va;
}

int svq_area_take(struct svq_area *a, size_t len, struct svq_run *run)
{
	struct svq_run **link = &a->runs;
	size_t end = 0;

	for (; *link; link = &(*link)->next) {
		if ((*link)->off - end >= len)
			break;
		end = (*link)->off + (*link)->len;
	}
	if (!*link && a->size - end < len)
		return -ENOMEM;
	run->off = end;
	run->len = len;
	run->next = *link;
	*link = run;
	return 0;
}

void svq_area_release(struct svq_area *a, struct svq_run *run)
{
	struct svq_run **link = &a->runs;

	while (*link && *link != run)
		link = &(*link)->next;
	if (*link)
		*link = run->next;
}

/* --- blocks --- */

struct svq_block {
	struct svq_area *area;
	struct svq_run run;
};

#define SVQ_BLOCK_ALIGN 4096ULL

int svq_block_new(struct svq_area *a, size_t len, struct svq_block **ret)
{
	struct svq_block *b;
	int r;

	if (len == 0 || len > a->size)
		return len ? -ENOMEM : -EINVAL;
	len = (size_t)((len + SVQ_BLOCK_ALIGN - 1) & ~(SVQ_BLOCK_ALIGN - 1));
	b = g_new0(struct svq_block, 1);
	b->area = a;
	r = svq_area_take(a, len, &b->run);
	if (r < 0) {
		g_free(b);
		return r;
	}
	*ret = b;
	return 0;
}

void svq_block_free(struct svq_block *b)
{
	if (!b)
		return;
	/* Zero the pages and give them back (a hole in the sparse memfd): the next user
	 * of this run starts from zeros, and the device's memory use goes down. */
	if (fallocate(b->area->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)b->run.off,
		      (off_t)b->run.len) < 0)
		memset(b->area->va + b->run.off, 0, b->run.len);
	svq_area_release(b->area, &b->run);
	g_free(b);
}

uint8_t *svq_block_va(struct svq_block *b)
{
	return b->area->va + b->run.off;
}

uint64_t svq_block_gpa(struct svq_block *b)
{
	return SVQ_AREA_GPA + b->run.off;
}

size_t svq_block_size(struct svq_block *b)
{
	return b->run.len;
}

/* --- bounce pool bitmaps (one bit per chunk, set = in use) --- */

/* The first index >= pos whose bit is `set`, or n. */
uint32_t svq_bm_find(const uint64_t *bm, uint32_t n, uint32_t pos, bool set)
{
	while (pos < n) {
		uint64_t w = set ? bm[pos / 64] : ~bm[pos / 64];

		w &= ~0ULL << (pos % 64);
		if (w)
			return MIN((pos & ~63U) + (uint32_t)__builtin_ctzll(w), n);
		pos = (pos & ~63U) + 64;
	}
	return n;
}

void svq_bm_assign(uint64_t *bm, uint32_t pos, uint32_t cnt, bool set)
{
	while (cnt) {
		uint32_t bit = pos % 64, k = MIN(cnt, 64 - bit);
		uint64_t mask = (k == 64 ? ~0ULL : ((1ULL << k) - 1)) << bit;

		if (set)
			bm[pos / 64] |= mask;
		else
			bm[pos / 64] &= ~mask;
		pos += k;
		cnt -= k;
	}
}
